#!/usr/bin/python3
"""test_pydicom_outcomes.py BINARY [--write] [--np N] [--keep]

Every file under Debian's python3-pydicom data/test_files (subfolders too) and
data/charset_files goes through dcmcrawl's three crawls (metadata only,
per-file pixels, volumes; input.recursive true so every subfolder is its own
scope).  Each run is compared with the oracle (tests/oracle.py: pydicom +
GDCM, and OpenJPH for HTJ2K) exactly as test_crawl.py does: every CSV value
against pydicom's decoded header, every stored array voxel for voxel against
pydicom's pixel_array (lossy syntaxes within a tolerance), every unreadable
scan with a specific reason.

The outcome of every file in every mode is written as a markdown table to
tests/pydicom_outcomes.md (with --write), or compared with that file (the
default, what `make test` runs): the test fails when the table is not
current, or when any file is neither stored-and-equal-to-pydicom nor
unreadable with a specific reason (a mismatch with the oracle).

Cells:
  row = pydicom          metadata row; every value equals pydicom's (N values;
                         values pydicom itself cannot decode are not counted)
  stored = pydicom       dataset (shape dtype) equal to pydicom's pixel_array
  stored, not compared   stored, but no trusted reference decoder (why given)
  in volume <k>: ...     volume mode: the scan this file is stacked in
  duplicate, not stacked volume mode: same SOPInstanceUID as a stacked file
  unreadable: <reason>   a row in unreadable_files with that reason
  skipped: <why>         not a DICOM file, or a DICOMDIR (counted, no output)
  MISMATCH: <what>       disagrees with the oracle (the test fails)
"""
import argparse
import difflib
import os
import shutil
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, TESTS)
sys.path.insert(0, HERE)
import oracle as O  # noqa: E402
import test_crawl as T  # noqa: E402

PYDICOM_DATA = "/usr/lib/python3/dist-packages/pydicom/data"
SUBDIRS = ("test_files", "charset_files")
TABLE = os.path.join(TESTS, "pydicom_outcomes.md")
MODES = [("meta", "metadata only", O.Options(volumes=False, write_pixeldata=False, recursive=True)),
         ("perfile", "per-file pixels", O.Options(volumes=False, write_pixeldata=True,
                                                  recursive=True)),
         ("volumes", "volumes", O.Options(volumes=True, write_pixeldata=True, recursive=True))]


def copy_tree(dst):
    """pydicom's data folders (regular files only) -> dst/pydicom/<sub>; relative folder names"""
    folders = []
    for sub in SUBDIRS:
        src = os.path.join(PYDICOM_DATA, sub)
        if not os.path.isdir(src):
            continue
        for dirpath, dirnames, files in os.walk(src):
            dirnames.sort()
            rel = os.path.relpath(dirpath, PYDICOM_DATA)
            os.makedirs(os.path.join(dst, "pydicom", rel), exist_ok=True)
            for n in files:
                p = os.path.join(dirpath, n)
                if os.path.isfile(p) and not os.path.islink(p):
                    shutil.copy2(p, os.path.join(dst, "pydicom", rel, n))
        folders.append("pydicom/" + sub)
    return folders


def read_outputs(outdir, run_id):
    """metadata rows by Scan ID, unreadable rows, HDF5 shapes/dtypes by Scan ID"""
    import csv
    import h5py
    rows, unr, ds = {}, [], {}
    p = os.path.join(outdir, "metadata_%s.csv" % run_id)
    if os.path.exists(p):
        with open(p, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                rows[r["Scan ID"]] = r
    p = os.path.join(outdir, "unreadable_files_%s.csv" % run_id)
    if os.path.exists(p):
        with open(p, newline="", encoding="utf-8") as fh:
            unr = list(csv.DictReader(fh))
    p = os.path.join(outdir, "pixel_data_%s.h5" % run_id)
    if os.path.exists(p):
        with h5py.File(p, "r") as f:
            for k in f.keys():
                d = f[k]
                ds[k] = ("x".join(str(x) for x in d.shape), str(d.dtype),
                         T.attr_str(d.attrs.get("photometric_interpretation", "")))
    return rows, unr, ds


def n_values(orc, e):
    row = orc.expected_row(e)
    if row is None:
        return 0, 0
    unc = sum(1 for _, (c, v) in row.items() if isinstance(v, O.Uncertain))
    return len(row) - unc, unc


class ModeResult:
    def __init__(self):
        self.cells = {}       # relpath -> text
        self.kind = {}        # relpath -> category for the counts
        self.problems = []


def classify(name, orc, rep, outdir, run_id, work):
    """One run: the outcome text of every file."""
    res = ModeResult()
    rows, unr, h5 = read_outputs(outdir, run_id)
    o = orc.opts
    by_scan = {}
    for p in rep.problems:
        by_scan.setdefault(p[1], []).append(p)
    res.problems = list(rep.problems)
    base = os.path.join(work, "pydicom")

    def rel(f):
        return os.path.relpath(f.path, base)

    def unr_for(e):
        names = [os.path.basename(f.path) for f in e.files]
        by_file = [u for u in unr if os.path.basename(u.get("Example file", "")) in names and
                   u.get("Scan ID", "").startswith(O.scope_id(e.scope))]
        by_id = [u for u in unr if u.get("Scan ID") in (e.alt_ids or [e.scan_id])]
        hits = (by_file + by_id) if e.match_by_file else (by_id + by_file)
        return hits[0] if hits else None

    def problem_text(sid):
        ps = by_scan.get(sid, [])
        return "; ".join(p[2] for p in ps[:2]) if ps else None

    for r in orc.skipped:
        res.cells[rel(r)] = "skipped: %s" % ("DICOMDIR" if r.kind == "dicomdir" else "not DICOM")
        res.kind[rel(r)] = res.cells[rel(r)]
    for r in orc.maybe_files:
        res.cells[rel(r)] = "skipped or read: not clearly DICOM"
        res.kind[rel(r)] = res.cells[rel(r)]
    seen = set()
    exps = list(orc.scans.values()) + [e for e in orc.unreadable if e not in orc.scans.values()]
    for e in exps:
        if id(e) in seen:
            continue
        seen.add(id(e))
        if getattr(e, "folder_row", False):
            continue
        sid = e.scan_id
        bad = problem_text(sid)
        if sid in rows:
            if not o.write_pixeldata:
                ok, unc = n_values(orc, e)
                text = "row = pydicom (%d values%s)" % (ok, ", %d not decodable by pydicom" % unc
                                                      if unc else "")
                kind = "row = pydicom"
            else:
                shape, dt, pi = h5.get(sid, ("?", "?", ""))
                what = "%s %s%s" % (shape, dt, "" if pi in ("MONOCHROME2", "") else " " + pi)
                if e.mode == "volume":
                    what = "in volume of %d file%s: %s" % (e.n_files, "s" * (e.n_files != 1), what)
                if e.status in ("stored", "either") and orc.can_decode(e):
                    text, kind = "stored = pydicom (%s)" % what, "stored = pydicom"
                else:
                    why = next((n for n in reversed(e.notes) if "cannot decode" in n or
                                "not checked" in n), "; ".join(e.notes[-1:]) or "no reference")
                    why = why.replace("oracle cannot decode: ", "")
                    text = "stored, not compared (%s): %s" % (what, why[:110])
                    kind = "stored, not compared"
        else:
            u = unr_for(e)
            if u is not None:
                text = "unreadable: %s" % u.get("Reason for failure", "")
                kind = text
                if e.status == "uncertain":
                    text += " (%s)" % "; ".join(e.notes)
            else:
                text = kind = "MISSING from every output"
        if bad:
            text = "MISMATCH: %s (%s)" % (bad, text)
            kind = "MISMATCH"
        for f in e.files:
            res.cells[rel(f)] = text
            res.kind[rel(f)] = kind
        for d in getattr(e, "duplicates", []) or []:
            res.cells[rel(d)] = "duplicate SOPInstanceUID, not stacked (named in warnings of %s)" % (
                "its volume" if sid in rows else "an unreadable scan")
            res.kind[rel(d)] = "duplicate, not stacked"
    for p in rep.problems:
        if p[1] == "-" or p[1] not in {e.scan_id for e in exps}:
            res.cells.setdefault("(run %s)" % name, "")
            res.cells["(run %s)" % name] += "MISMATCH: %s %s; " % (p[1], p[2])
            res.kind["(run %s)" % name] = "MISMATCH"
    return res


def all_files(work):
    out = []
    base = os.path.join(work, "pydicom")
    for sub in SUBDIRS:
        for dirpath, dirnames, files in os.walk(os.path.join(base, sub)):
            dirnames.sort()
            for n in files:
                out.append(os.path.relpath(os.path.join(dirpath, n), base))
    return sorted(out)


def md_escape(s):
    return s.replace("|", "\\|").replace("\n", " ")


def render(files, results):
    lines = ["# What dcmcrawl makes of pydicom's test files", "",
             "Generated by `tests/integration/test_pydicom_outcomes.py BINARY --write`; "
             "`make test` regenerates it and fails when it is not current or when any file "
             "disagrees with the oracle (pydicom + GDCM, OpenJPH for HTJ2K: every CSV value, "
             "every voxel, a specific reason for every unreadable scan).", "",
             "Files: every file under Debian's python3-pydicom `data/test_files` (with "
             "`dicomdirtests/`) and `data/charset_files`, crawled with `input.recursive: true` in "
             "the three modes of the README. Lossy transfer syntaxes are compared within the "
             "tolerance of tests/oracle.py (`LOSSY_TS`). In volume mode a file's cell is the "
             "outcome of the scan it belongs to.", "",
             "## Counts", "", "| outcome | " + " | ".join(t for _, t, _ in MODES) + " |",
             "|---|" + "---|" * len(MODES)]
    kinds = sorted({k for r in results.values() for k in r.kind.values()})
    for k in kinds:
        lines.append("| %s | %s |" % (md_escape(k), " | ".join(
            str(sum(1 for v in results[m].kind.values() if v == k)) for m, _, _ in MODES)))
    lines.append("| **files** | %s |" % " | ".join(str(len(files)) for _ in MODES))
    lines += ["", "## Every file", "", "| file | " + " | ".join(t for _, t, _ in MODES) + " |",
              "|---|" + "---|" * len(MODES)]
    for f in files:
        lines.append("| `%s` | %s |" % (f, " | ".join(
            md_escape(results[m].cells.get(f, "MISSING: no outcome")) for m, _, _ in MODES)))
    extra = sorted({k for r in results.values() for k in r.cells if k.startswith("(run")})
    for k in extra:
        lines.append("| %s | %s |" % (k, " | ".join(md_escape(results[m].cells.get(k, ""))
                                                   for m, _, _ in MODES)))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--write", action="store_true", help="rewrite tests/pydicom_outcomes.md")
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="dcmcrawl_pydicom_")
    folders = copy_tree(work)
    runner = T.Runner(args.binary, args.np, work)
    results = {}
    failed = False
    for name, _, opts in MODES:
        out = "out_" + name
        cfg = os.path.join(work, "config_%s.yaml" % name)
        T.write_config(cfg, folders, out, name, opts)
        rc, log, dt = runner.run([cfg], name)
        print("  [%s] exit %s in %.1fs" % (name, rc, dt))
        rep = T.Report()
        if rc != 0:
            rep.fail(name, "-", "exit status", 0, rc)
            print("\n".join(log.splitlines()[-15:]))
        orc = O.Oracle(folders, opts, cwd=work)
        T.compare_run(name, os.path.join(work, out), name, orc, rep)
        if rep.problems:
            rep.print()
            failed = True
        results[name] = classify(name, orc, rep, os.path.join(work, out), name, work)
    files = all_files(work)
    text = render(files, results)
    missing = [f for f in files if any(f not in results[m].cells for m, _, _ in MODES)]
    if missing:
        print("test_pydicom_outcomes: FAIL: no outcome for %s" % ", ".join(missing[:10]))
        failed = True
    if args.write:
        with open(TABLE, "w", encoding="utf-8") as fh:
            fh.write(text)
        print("test_pydicom_outcomes: wrote %s (%d files)" % (TABLE, len(files)))
    else:
        old = open(TABLE, encoding="utf-8").read() if os.path.exists(TABLE) else ""
        if old != text:
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), text.splitlines(True), "tests/pydicom_outcomes.md (committed)",
                "tests/pydicom_outcomes.md (this build)"))
            print("test_pydicom_outcomes: FAIL: tests/pydicom_outcomes.md is not current "
                  "(run: /usr/bin/python3 tests/integration/test_pydicom_outcomes.py BINARY --write)")
            failed = True
    for name, title, _ in MODES:
        counts = {}
        for k in results[name].kind.values():
            counts[k] = counts.get(k, 0) + 1
        print("  %-8s %s" % (name, ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items()))))
    if args.keep or failed:
        print("work dir kept: %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print("test_pydicom_outcomes: %s" % ("FAIL" if failed else "PASS"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
