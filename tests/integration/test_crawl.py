#!/usr/bin/python3
"""test_crawl.py BINARY - end-to-end checks of dcmcrawl against the oracle.

    /usr/bin/python3 tests/integration/test_crawl.py build/dcmcrawl [--np 2] [--keep]
                                                     [--only NAME ...] [--work DIR]

Generates the synthetic corpus (tests/gen/make_series.py), copies pydicom's
test_files and charset_files, checks the oracle (tests/oracle.py) against the
generator's manifest, then runs dcmcrawl under mpirun in several modes and
compares every output with the oracle:

  meta      metadata only, one scan per file            (corpus + pydicom files)
  perfile   2D images, one scan per file                (corpus + pydicom files)
  volumes   series stacked into volumes                 (corpus + pydicom files)
  seed      layout seed + gzip + rescale                (geometry, ts, natural)
  rescale   rescale true, zyx, csv_style dicom          (geometry, float, multi-frame)
  instance  slice_order instance, split_inconsistent false (series, geometry)
  recursive input.recursive via --set, positional folders (ts)
  oldflags  the old crawler's flags                     (meta)
  append    a second run with new columns appends rows, rewrites header; the other
            csv_style asked on that file: exit 2; a csv_style dicom file appended to
            by a config without the key stays dicom
  badconfig unknown key / bad value / wrong type / no folder -> exit 2, nothing written

For every scan: stored (metadata row, HDF5 dataset equal voxel for voxel -
lossy syntaxes within a printed tolerance - with the right shape, dtype and
attributes) or unreadable (a row with a specific reason), never both; CSVs
parse with the csv module and pandas; every value of every row equals the
oracle's (csv_style seed: names and values exactly pydicom's, as the old
crawler wrote them; dicom in the rescale run); rows folder by folder in walk
order, sorted by Scan ID within a folder; columns ordered by the tag path their
names give (oracle.column_sort_key).  Mismatches are
printed as  [run] scan: what: expected ... got ...  and the exit status is 1.
"""
import argparse
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, TESTS)
import oracle as O  # noqa: E402

PYDICOM_DATA = "/usr/lib/python3/dist-packages/pydicom/data"
MAX_REPORT_PER_KIND = 400


# ------------------------------------------------------------------ report

class Report:
    def __init__(self):
        self.problems = []
        self.notes = []
        self.lossy = []
        self.passed = []
        self.counts = {}

    def fail(self, run, scan, what, expected=None, got=None):
        self.problems.append((run, scan, what, expected, got))

    def note(self, run, msg):
        self.notes.append((run, msg))

    def print(self):
        for run, msg in self.notes:
            print("  note [%s] %s" % (run, msg))
        if self.lossy:
            print("  lossy comparisons (max |difference| vs oracle, tolerance):")
            for run, scan, d, tol, lab in self.lossy:
                print("    [%s] %s: %s (tolerance %s, decoder %s)" % (run, scan, d, tol, lab))
        by_run = {}
        for p in self.problems:
            by_run.setdefault(p[0], []).append(p)
        for run in by_run:
            ps = by_run[run]
            print("FAIL [%s] %d problem(s):" % (run, len(ps)))
            for (_, scan, what, exp, got) in ps[:MAX_REPORT_PER_KIND]:
                line = "  [%s] %s: %s" % (run, scan, what)
                if exp is not None or got is not None:
                    line += "\n      expected: %s\n      got:      %s" % (_short(exp), _short(got))
                print(line)
            if len(ps) > MAX_REPORT_PER_KIND:
                print("  ... %d more" % (len(ps) - MAX_REPORT_PER_KIND))


def _short(v, n=300):
    s = repr(v) if not isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


# ------------------------------------------------------------- running

def yaml_str(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path, folders, out, run_id, o, compression="none", extra=""):
    lines = [
        "input:",
        "  folders: [%s]" % ", ".join(yaml_str(f) for f in folders),
        "  recursive: %s" % ("true" if o.recursive else "false"),
        "output:",
        "  folder: %s" % yaml_str(out),
        "  id: %s" % yaml_str(run_id),
        "  write_pixeldata: %s" % ("true" if o.write_pixeldata else "false"),
        "  volumes: %s" % ("true" if o.volumes else "false"),
        "  layout: %s" % o.layout,
        "  compression: %s" % yaml_str(compression),
        "  rescale: %s" % ("true" if o.rescale else "false"),
    ] + (["  csv_style: %s" % o.csv_style] if o.csv_style != "seed" else []) + [
        "volumes:",
        "  slice_order: %s" % o.slice_order,
        "  split_inconsistent: %s" % ("true" if o.split_inconsistent else "false"),
        "run:",
        "  commit_every: 7",
        "  progress: never",
        "  log_level: warn",
    ]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n" + extra)


class Runner:
    def __init__(self, binary, nprocs, work, timeout=600):
        self.binary = os.path.abspath(binary)
        self.np = nprocs
        self.work = work
        self.timeout = timeout

    def cmd(self, args):
        mpirun = shutil.which("mpirun")
        if self.np == 0 or not mpirun:
            return [self.binary] + args
        return [mpirun, "--allow-run-as-root", "--oversubscribe", "-np", str(self.np),
                self.binary] + args

    def run(self, args, log_name):
        t0 = time.time()
        env = dict(os.environ)
        env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
        try:
            p = subprocess.run(self.cmd(args), cwd=self.work, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=self.timeout, env=env)
            out = p.stdout.decode("utf-8", "replace")
            rc = p.returncode
        except subprocess.TimeoutExpired as ex:
            out = (ex.stdout or b"").decode("utf-8", "replace") + "\n<timeout>"
            rc = "timeout"
        with open(os.path.join(self.work, log_name + ".log"), "w") as fh:
            fh.write(out)
        return rc, out, time.time() - t0


# ------------------------------------------------------- reading outputs

def read_csv_checked(path, run, rep, label):
    """Parse with csv and pandas; check RFC 4180 form.  Returns (header, rows)."""
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as ex:
        rep.fail(run, label, "CSV is not UTF-8: %s" % ex)
        text = raw.decode("utf-8", "replace")
    if "\x00" in text:
        rep.fail(run, label, "CSV contains NUL bytes")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as ex:
        rep.fail(run, label, "csv module cannot parse: %s" % ex)
        return None, []
    if not rows:
        rep.fail(run, label, "CSV is empty (no header)")
        return None, []
    header, body = rows[0], rows[1:]
    for i, r in enumerate(body):
        if len(r) != len(header):
            rep.fail(run, label, "row %d has %d fields, header has %d" % (i + 1, len(r), len(header)))
    # exact form: minimal quoting, \n line ends
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    if buf.getvalue() != text:
        crlf = io.StringIO()
        csv.writer(crlf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
        if crlf.getvalue() == text or text.endswith("\r\n"):
            rep.fail(run, label, "CSV records end with CRLF (SPEC 4: \\n line ends)")
        elif not text.endswith("\n"):
            rep.fail(run, label, "CSV does not end with a newline")
        else:
            rep.note(run, "%s: quoting differs from minimal RFC 4180 quoting (fields quoted "
                          "that need not be)" % label)
    try:
        import pandas as pd
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        if list(df.columns) != header and not any(h == "" or header.count(h) > 1 for h in header):
            rep.fail(run, label, "pandas reads other column names", header[:5], list(df.columns)[:5])
        if len(df) != len(body):
            rep.fail(run, label, "pandas reads %d rows, csv module %d" % (len(df), len(body)))
        else:
            vals = df.values.tolist()
            for i, (a, b) in enumerate(zip(vals, body)):
                if [str(x) for x in a] != b:
                    rep.fail(run, label, "pandas and csv disagree on row %d" % (i + 1), b[:4], a[:4])
                    break
    except Exception as ex:  # noqa: BLE001
        rep.fail(run, label, "pandas cannot read the CSV: %s" % ex)
    return header, body


def attr_str(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.shape == () and v.dtype.kind in "SOU":
        return attr_str(v[()])
    if isinstance(v, np.ndarray) and v.dtype.kind in "SO" and v.size == 1:
        return attr_str(v.reshape(-1)[0])
    return str(v)


# ------------------------------------------------------------ comparing

class ColumnMap:
    """Maps the got header names to oracle columns."""

    def __init__(self):
        self.by_tag = {}
        self.by_name = {}

    def add_row(self, row):
        for name, (col, _) in row.items():
            if name not in self.by_name:
                self.by_name[name] = col
                self.by_tag.setdefault(col.path[-1], []).append(col)

    def find(self, got_name):
        if got_name in self.by_name:
            return self.by_name[got_name]
        tag = O.parse_column_path(got_name)
        for c in self.by_tag.get(tag, []):
            if c.accepts(got_name):
                return c
        return None


def row_key(orc, sid):
    """Row order (SPEC 4, 10): the scan's folder in walk order, then its Scan ID."""
    scope_pos = {sc: i for i, (sc, _) in enumerate(orc.scopes)}
    return (scope_pos.get(getattr(orc.scans.get(sid), "scope", None), -1), sid.encode("utf-8"))


def label_rows_unresolved(rep, run, rows, unrows, used_unr):
    """Rows of the label phase (issue 14; its own test: test_labels_crawl.py): a SEG or
    RTSTRUCT whose referenced series is not in the crawl gets "<Scan ID>_labels",
    "referenced series <uid> not crawled".  Here: that scan is in the outputs (a metadata
    row, or "no pixel data" for an RTSTRUCT) and no stored scan has that SeriesInstanceUID."""
    series_cols = [k for r in rows.values() for k in r if k.endswith("(0020, 000E)") and "_" not in k[:-14]][:1]
    crawled = {r.get(series_cols[0], "") for r in rows.values()} if series_cols else set()
    for i, u in enumerate(unrows):
        sid = u.get("Scan ID", "")
        m = re.match(r"referenced series (\S+) not crawled$", u.get("Reason for failure", ""))
        if i in used_unr or not sid.endswith("_labels") or not m:
            continue
        used_unr.add(i)
        scan = sid[:-len("_labels")]
        if (scan not in rows and not any(v.get("Scan ID") == scan for v in unrows)) or m.group(1) in crawled:
            rep.fail(run, sid, "label row: its scan is in no output, or the series was crawled",
                     None, u.get("Reason for failure"))

def compare_run(run, outdir, run_id, orc, rep, h5_expected=True):
    """Compare one run's outputs with the oracle's expectations."""
    meta = os.path.join(outdir, "metadata_%s.csv" % run_id)
    unr = os.path.join(outdir, "unreadable_files_%s.csv" % run_id)
    h5p = os.path.join(outdir, "pixel_data_%s.h5" % run_id)
    o = orc.opts
    if not os.path.exists(meta):
        rep.fail(run, "-", "metadata CSV missing: %s" % meta)
        return
    header, body = read_csv_checked(meta, run, rep, "metadata CSV")
    if header is None:
        return
    if header[:2] != ["Scan ID", "No. DICOMs in scan"]:
        rep.fail(run, "-", "first metadata columns", ["Scan ID", "No. DICOMs in scan"], header[:2])
    rows = {}
    order = []
    for r in body:
        if not r:
            continue
        sid = r[0]
        if sid in rows:
            rep.fail(run, sid, "Scan ID appears in more than one metadata row")
        rows[sid] = dict(zip(header, r))
        order.append(sid)
    # SPEC 4/10: folders in walk order (the oracle's scopes), Scan IDs sorted within a folder
    keys = [row_key(orc, sid) for sid in order]
    bad = next((i for i in range(1, len(keys)) if keys[i - 1] > keys[i]), None)
    if bad is not None:
        rep.fail(run, "-", "metadata rows not in row order (folders in walk order, Scan IDs within)",
                 "%s < %s" % (order[bad], order[bad - 1]), "%s before %s" % (order[bad - 1], order[bad]))
    unrows = []
    if os.path.exists(unr):
        uh, ub = read_csv_checked(unr, run, rep, "unreadable CSV")
        want = ["Reason for failure", "Scan ID", "No. DICOMs in scan", "Example file"]
        if uh != want:
            rep.fail(run, "-", "unreadable CSV columns", want, uh)
        unrows = [dict(zip(uh or want, r)) for r in ub if r]
    h5 = None
    datasets = {}
    if o.write_pixeldata:
        if not os.path.exists(h5p):
            rep.fail(run, "-", "HDF5 file missing: %s" % h5p)
        else:
            import h5py
            try:
                h5 = h5py.File(h5p, "r")
                for k in h5.keys():
                    datasets[k] = None
                check_file_attrs(run, h5, o, rep)
            except Exception as ex:  # noqa: BLE001
                rep.fail(run, "-", "HDF5 file does not open: %s" % ex)
                h5 = None
    elif os.path.exists(h5p) and h5_expected:
        rep.fail(run, "-", "HDF5 file written although write_pixeldata is false")

    used_rows, used_unr, used_ds = set(), set(), set()
    colmap = ColumnMap()
    expected_rows = {}

    def find_unr(e):
        hits = []
        for i, u in enumerate(unrows):
            if i in used_unr:
                continue
            sid = u.get("Scan ID", "")
            if getattr(e, "folder_row", False):
                if sid.startswith(O.scope_id(e.scope)) and O.reason_matches(
                        u.get("Reason for failure"), e.reasons):
                    hits.append(i)
                continue
            if sid in e.alt_ids:
                hits.append(i)
            elif e.match_by_file and os.path.basename(u.get("Example file", "")) in \
                    [os.path.basename(f.path) for f in e.files]:
                if any(sid.startswith(O.scope_id(e.scope)) for _ in [0]):
                    hits.append(i)
        return hits

    def check_unr(e, i, sid):
        u = unrows[i]
        reason = u.get("Reason for failure", "")
        if not O.reason_is_specific(reason):
            rep.fail(run, sid, "unreadable reason is not specific", "a specific reason", reason)
        if e.reasons and not O.reason_matches(reason, e.reasons):
            rep.fail(run, sid, "unreadable reason", " and ".join(e.reasons), reason)
        ex = u.get("Example file", "")
        if e.files and os.path.basename(ex) not in [os.path.basename(f.path) for f in e.files]:
            rep.fail(run, sid, "Example file is not a file of the scan",
                     [os.path.basename(f.path) for f in e.files][:4], ex)
        if getattr(e, "folder_row", False):
            return
        n = u.get("No. DICOMs in scan", "")
        ok_n = {str(e.n_files)} | {str(x) for x in e.n_files_alt} | {str(len(e.files))}
        if e.status == "either" and any(not f.has_pixels for f in e.files):
            ok_n |= {str(k) for k in range(1, len(e.files) + 1)}   # files without pixels: open
        if n not in ok_n:
            rep.fail(run, sid, "No. DICOMs in scan (unreadable)", sorted(ok_n), n)

    # ----- expected scans
    all_exp = list(orc.scans.values()) + [e for e in orc.unreadable if e.scan_id not in orc.scans
                                          or orc.scans.get(e.scan_id) is not e]
    counts = {}
    for e in all_exp:
        counts[e.status] = counts.get(e.status, 0) + 1
    rep.counts[run] = "%d scans expected: %s; %d metadata rows, %d datasets, %d unreadable rows" % (
        len(all_exp), ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items())),
        len(rows), len(datasets), len(unrows))
    for e in all_exp:
        if e.status == "uncertain":
            prefix = getattr(e, "prefix", e.scan_id)
            got = [s for s in rows if s == prefix or s.startswith(prefix + "_")]
            got_u = [i for i, u in enumerate(unrows) if u.get("Scan ID", "") == prefix or
                     u.get("Scan ID", "").startswith(prefix + "_")]
            used_rows.update(got)
            used_unr.update(got_u)
            used_ds.update(s for s in datasets if s == prefix or s.startswith(prefix + "_"))
            for i in got_u:
                if not O.reason_is_specific(unrows[i].get("Reason for failure")):
                    rep.fail(run, unrows[i].get("Scan ID"), "unreadable reason is not specific",
                             "a specific reason", unrows[i].get("Reason for failure"))
            rep.note(run, "%s: not checked in detail (%s)" % (prefix, "; ".join(e.notes)))
            continue
        sid = e.scan_id
        if e.status == "stored" and o.write_pixeldata and not orc.can_decode(e):
            e.status = "either"      # the oracle cannot tell the pixels: any specific outcome
            rep.note(run, "%s: %s" % (sid, e.notes[-1]))
        in_rows = sid in rows if sid else False
        in_ds = sid in datasets if sid else False
        u_hits = find_unr(e)
        if e.status == "unreadable":
            if not u_hits:
                rep.fail(run, sid or e.scope, "expected in unreadable_files (reason: %s)" %
                         " and ".join(e.reasons), "a row", "none")
            else:
                used_unr.add(u_hits[0])
                check_unr(e, u_hits[0], unrows[u_hits[0]].get("Scan ID"))
            for alt in ([] if e.match_by_file else [sid]):
                if alt in rows:
                    rep.fail(run, alt, "unreadable scan also has a metadata row")
                    used_rows.add(alt)
                if alt in datasets:
                    rep.fail(run, alt, "unreadable scan also has an HDF5 dataset")
                    used_ds.add(alt)
            continue
        stored = in_rows
        if u_hits and stored:
            rep.fail(run, sid, "scan both stored and in unreadable_files",
                     "one of them", unrows[u_hits[0]].get("Reason for failure"))
        if u_hits:
            used_unr.add(u_hits[0])
        if in_rows:
            used_rows.add(sid)
        if in_ds:
            used_ds.add(sid)
        if e.status == "stored" and not stored:
            why = unrows[u_hits[0]].get("Reason for failure") if u_hits else "missing everywhere"
            rep.fail(run, sid, "expected stored (%s)" % ", ".join(
                sorted(set(f.ts or "?" for f in e.files))), "metadata row", why)
            continue
        if not stored:
            if u_hits:
                check_unr(e, u_hits[0], sid)
            else:
                rep.fail(run, sid, "scan neither stored nor unreadable", "one of them", "none")
            continue
        # stored: row
        r = rows[sid]
        n = r.get("No. DICOMs in scan")
        ok_n = {str(e.n_files)} | {str(x) for x in e.n_files_alt}
        if n not in ok_n:
            rep.fail(run, sid, "No. DICOMs in scan", sorted(ok_n), n)
        exp_row = orc.expected_row(e)
        if exp_row is not None:
            expected_rows[sid] = exp_row
            colmap.add_row(exp_row)
        # stored: dataset
        if o.write_pixeldata:
            if not in_ds:
                rep.fail(run, sid, "metadata row but no HDF5 dataset")
            elif h5 is not None:
                check_dataset(run, h5, sid, e, orc, rep)

    # ----- columns
    got_cols = header[2:]
    mapped = []
    aliases = []
    seen = {}
    unmatched = []
    for name in got_cols:
        c = colmap.find(name)
        if c is None:
            unmatched.append(name)
        else:
            if c.name in seen:
                rep.fail(run, "-", "two columns for one tag path", seen[c.name], name)
            seen[c.name] = name
            if name != c.name:
                aliases.append("%s (oracle: %s)" % (name, c.name.split(" (")[0]))
        mapped.append(c)
    if aliases:
        rep.note(run, "%d column name(s) accepted as alternatives to the oracle's first choice, "
                      "e.g. %s" % (len(aliases), "; ".join(aliases[:4])))
    missing = [n for n in colmap.by_name if n not in seen]
    for name in unmatched:
        tag = O.parse_column_path(name)
        same = [n for n in missing if colmap.by_name[n].path[-1] == tag and
                n.count("_") <= name.count("_") + 3 and name.count("_") <= n.count("_") + 3]
        if same:
            c = colmap.by_name[same[0]]
            alts = " | ".join("_".join(str(x) for x in lvl) for lvl in
                              [["/".join(str(a) for a in n) for n in c.names]])
            rep.fail(run, "-", "column name (accepted: %s)" % alts, same[0], name)
            missing.remove(same[0])
        else:
            rep.fail(run, "-", "column not expected in any stored row", None, name)
    for n in missing[:50]:
        rep.fail(run, "-", "column missing from the header", n, None)
    if len(missing) > 50:
        rep.fail(run, "-", "%d more columns missing from the header" % (len(missing) - 50))
    prev = None
    for name, c in zip(got_cols, mapped):
        if c is None:
            continue
        key = (O.column_sort_key(name), name)
        if prev is not None and key < prev[0]:
            rep.fail(run, "-", "columns not ordered by tag path", "%s before %s" % (name, prev[1]),
                     "%s after %s" % (name, prev[1]))
        prev = (key, name)
    # ----- values
    name_of = {c.name: g for g, c in zip(got_cols, mapped) if c is not None}
    for sid, exp_row in expected_rows.items():
        got = rows[sid]
        for cname, (col, val) in exp_row.items():
            gname = name_of.get(cname)
            if gname is None:
                continue
            gv = got.get(gname, "")
            if not O.value_matches(val, gv):
                rep.fail(run, sid, "value of %s" % gname, O.value_text(val), gv)
        for gname, c in zip(got_cols, mapped):
            if c is not None and c.name not in exp_row and got.get(gname, "") != "":
                rep.fail(run, sid, "value for a column the file does not have: %s" % gname, "",
                         got.get(gname))
    # ----- leftovers
    for sid in rows:
        if sid not in used_rows:
            rep.fail(run, sid, "unexpected metadata row (no such scan in the oracle)")
    for sid in datasets:
        if sid not in used_ds:
            rep.fail(run, sid, "unexpected HDF5 dataset (no such scan in the oracle)")
    label_rows_unresolved(rep, run, rows, unrows, used_unr)
    for i, u in enumerate(unrows):
        if i not in used_unr:
            rep.fail(run, u.get("Scan ID"), "unexpected unreadable row", None,
                     u.get("Reason for failure"))
    certain_unr = [e for e in all_exp if e.status == "unreadable"]
    if not unrows and os.path.exists(unr):
        rep.note(run, "unreadable CSV exists with no rows")
    if not certain_unr and not any(e.status in ("either", "uncertain") for e in all_exp) \
            and os.path.exists(unr) and unrows:
        rep.fail(run, "-", "unreadable CSV written although nothing failed")
    if h5 is not None:
        h5.close()


def check_file_attrs(run, h5, o, rep):
    for a in ("dcmcrawl_version", "layout", "config"):
        if a not in h5.attrs:
            rep.fail(run, "-", "HDF5 file attribute missing: %s" % a)
    if "layout" in h5.attrs and attr_str(h5.attrs["layout"]) != o.layout:
        rep.fail(run, "-", "HDF5 file attribute layout", o.layout, attr_str(h5.attrs["layout"]))


DS_ATTRS = ["scan_id", "source_folder", "series_instance_uid", "study_instance_uid", "modality",
            "n_files", "slice_order", "spacing", "affine", "slice_positions", "instance_numbers",
            "rescale_slope", "rescale_intercept", "photometric_interpretation", "bits_stored",
            "uniform_spacing", "warnings"]


def check_dataset(run, h5, sid, e, orc, rep):
    try:
        ds = h5[sid]
    except Exception as ex:  # noqa: BLE001
        rep.fail(run, sid, "dataset does not open (external link?): %s" % ex)
        return
    o = orc.opts
    # dtype and shape
    want_dt = O.expected_scan_dtype(e, o.rescale)
    if ds.dtype != want_dt:
        rep.fail(run, sid, "dtype", str(want_dt), str(ds.dtype))
    want_shape = orc.layout_shape(e)
    if want_shape is not None and list(ds.shape) != list(want_shape):
        rep.fail(run, sid, "shape (%s)" % o.layout, want_shape, list(ds.shape))
    # values
    try:
        cands = orc.expected_arrays(e)
    except Exception as ex:  # noqa: BLE001
        if e.status == "stored":
            rep.note(run, "%s: oracle cannot decode (%s); pixels not verified" % (sid, str(ex)[:120]))
        return
    try:
        got = ds[()]
    except Exception as ex:  # noqa: BLE001
        rep.fail(run, sid, "dataset cannot be read: %s" % ex)
        return
    tol = max([O.LOSSY_TS.get(f.ts, 0) for f in e.files] + [e.tolerance])
    if any((f.photometric or "").upper() in ("YBR_FULL", "YBR_FULL_422") for f in e.files):
        tol = max(tol, 2)
    best = None
    for label, arr in cands:
        arr = orc.to_layout(e, arr)
        if arr is None or list(arr.shape) != list(got.shape):
            continue
        if o.rescale:
            d = float(np.max(np.abs(arr.astype(np.float64) - got.astype(np.float64)))) if arr.size else 0.0
            ok = np.allclose(got, arr, rtol=1e-6, atol=1e-3)
        else:
            d = int(np.max(np.abs(arr.astype(np.int64) - got.astype(np.int64)))) if arr.size else 0
            ok = d <= tol
        if best is None or d < best[0]:
            best = (d, ok, label)
    if best is None and all(orc.to_layout(e, arr) is None for _, arr in cands):
        rep.note(run, "%s: layout %s of this kind of scan is not specified; values not checked"
                 % (sid, o.layout))
        check_attrs(run, ds, sid, e, orc, rep)
        return
    if best is None:
        if want_shape is None or list(ds.shape) == list(want_shape):
            rep.fail(run, sid, "array shape cannot be compared",
                     [list(a.shape) for _, a in cands], list(got.shape))
        return
    d, ok, label = best
    if tol and not o.rescale:
        rep.lossy.append((run, sid, d, tol, label))
    if not ok:
        where = ""
        for label2, arr in cands:
            arr = orc.to_layout(e, arr)
            if arr is not None and arr.shape == got.shape:
                diff = np.argwhere(arr.astype(np.float64) != got.astype(np.float64))
                if len(diff):
                    idx = tuple(diff[0])
                    where = " first difference at %s: expected %s got %s (%d voxels differ)" % (
                        idx, arr[idx], got[idx], len(diff))
                break
        rep.fail(run, sid, "pixel values differ (max |diff| %s > tolerance %s)%s" % (d, tol, where))
    check_attrs(run, ds, sid, e, orc, rep)


def _arr(v):
    return np.asarray(v, dtype=np.float64)


def check_attrs(run, ds, sid, e, orc, rep):
    a = ds.attrs
    missing = [k for k in DS_ATTRS if k not in a]
    if missing:
        rep.fail(run, sid, "attributes missing: %s" % ", ".join(missing))
    r0 = e.first

    def eq_str(name, want, alts=()):
        if name in a:
            g = attr_str(a[name])
            if g != want and g not in alts:
                rep.fail(run, sid, "attribute %s" % name, want, g)
    eq_str("scan_id", sid)
    if "source_folder" in a:
        g = attr_str(a["source_folder"])
        if g != e.scope and os.path.normpath(os.path.join(orc.cwd, g)) != \
                os.path.normpath(os.path.join(orc.cwd, e.scope)):
            rep.fail(run, sid, "attribute source_folder", e.scope, g)
    eq_str("series_instance_uid", r0.series or "", ("nouid",) if not r0.series else ())
    eq_str("study_instance_uid", r0.study or "")
    eq_str("modality", r0.modality or "")
    eq_str("photometric_interpretation", O.decoded_photometric(r0.photometric) or "")
    if "bits_stored" in a and r0.bits_stored is not None:
        if int(np.asarray(a["bits_stored"]).reshape(-1)[0]) != r0.bits_stored:
            rep.fail(run, sid, "attribute bits_stored", r0.bits_stored, a["bits_stored"])
    if "n_files" in a:
        g = int(np.asarray(a["n_files"]).reshape(-1)[0])
        if g != e.n_files and g not in e.n_files_alt:
            rep.fail(run, sid, "attribute n_files", e.n_files, g)
    if e.rule and "slice_order" in a:
        eq_str("slice_order", e.rule, tuple(e.rule_alts or ()))
    # spacing (z, y, x)
    if "spacing" in a:
        sp = _arr(a["spacing"]).reshape(-1)
        if sp.shape != (3,):
            rep.fail(run, sid, "attribute spacing shape", (3,), sp.shape)
        else:
            yx = getattr(e, "spacing_yx", None) or r0.spacing
            if yx is not None and not np.allclose(sp[1:], yx, atol=1e-4):
                rep.fail(run, sid, "attribute spacing (y, x)", list(yx), list(sp[1:]))
            sz = getattr(e, "spacing_z", None)
            if sz is not None and not np.isclose(sp[0], sz, atol=1e-3):
                rep.fail(run, sid, "attribute spacing z", sz, sp[0])
    # affine
    if "affine" in a and getattr(e, "origin", None) is not None:
        A = _arr(a["affine"])
        if A.shape != (4, 4):
            rep.fail(run, sid, "attribute affine shape", (4, 4), A.shape)
        else:
            yx = getattr(e, "spacing_yx", None) or r0.spacing
            checks = [("translation", A[:3, 3], e.origin)]
            if yx is not None:
                checks.append(("column 1 (rows: column cosines x row spacing)", A[:3, 1],
                               e.colcos * yx[0]))
                checks.append(("column 2 (columns: row cosines x column spacing)", A[:3, 2],
                               e.rowcos * yx[1]))
            if getattr(e, "step", None) is not None:
                checks.append(("column 0 (slice step)", A[:3, 0], e.step))
            checks.append(("last row", A[3], np.array([0, 0, 0, 1.0])))
            for what, g, w in checks:
                if not np.allclose(g, w, atol=2e-3):
                    rep.fail(run, sid, "affine %s" % what, np.round(w, 4).tolist(),
                             np.round(g, 4).tolist())
    if "slice_positions" in a and e.positions and all(p is not None for p in e.positions) \
            and e.rule in ("position", None) and e.mode == "volume":
        g = _arr(a["slice_positions"])
        w = _arr(e.positions)
        if g.shape != w.shape or not np.allclose(g, w, atol=1e-3):
            rep.fail(run, sid, "attribute slice_positions", w.round(3).tolist()[:6],
                     g.round(3).tolist()[:6] if g.size else g)
    if "instance_numbers" in a and e.instances is not None and not e.alt_slices and \
            any(x is not None for x in e.instances):
        g = np.asarray(a["instance_numbers"]).reshape(-1)
        w = e.instances
        if e.mode == "perfile" and len(w) == 1 and len(g) == r0.frames > 1:
            w = w * r0.frames       # per frame of a multi-frame file: as good as one
        if len(g) != len(w):
            rep.fail(run, sid, "attribute instance_numbers length", len(w), len(g))
        else:
            for k, (x, y) in enumerate(zip(w, g)):
                if x is not None and int(y) != x:
                    rep.fail(run, sid, "attribute instance_numbers", w, g.tolist())
                    break
    if "rescale_slope" in a and "rescale_intercept" in a and e.slices:
        sl, ic = orc.expected_rescale(e)
        either_varies = len(set(sl)) > 1 or len(set(ic)) > 1
        for name, vals in (("rescale_slope", sl), ("rescale_intercept", ic)):
            g = _arr(a[name])
            if len(set(vals)) == 1 and either_varies and g.size == len(vals) > 1:
                # the other one varies: both per slice is fine too
                if not np.allclose(g.reshape(-1), vals):
                    rep.fail(run, sid, "attribute %s (per slice)" % name, vals, g.tolist())
            elif len(set(vals)) == 1:
                if g.size != 1 or not np.isclose(g.reshape(-1)[0], vals[0]):
                    rep.fail(run, sid, "attribute %s (scalar when constant)" % name, vals[0],
                             g.tolist())
            else:
                if g.size != len(vals) or not np.allclose(g.reshape(-1), vals):
                    rep.fail(run, sid, "attribute %s (per slice)" % name, vals, g.tolist())
    if "uniform_spacing" in a and e.uniform is not None:
        g = bool(np.asarray(a["uniform_spacing"]).reshape(-1)[0])
        if g != e.uniform:
            rep.fail(run, sid, "attribute uniform_spacing", e.uniform, g)
    check_palette(run, a, sid, r0, rep)
    if "warnings" in a:
        w = attr_str(a["warnings"])
        for word in e.warn_words:
            if word == "*":
                if not w.strip():
                    rep.fail(run, sid, "warnings should report the fallback ordering", "some text", w)
            elif not O.reason_matches(w, [word]):
                rep.fail(run, sid, "warnings should mention %s" % word.replace("|", " or "), word, w)
        if e.warn_must_be_empty and w.strip():
            rep.fail(run, sid, "warnings for a clean series", "", w)


PALETTE_ATTRS = ["palette_%s_lut_%s" % (c, k) for c in ("red", "green", "blue")
                 for k in ("descriptor", "data")]


def check_palette(run, a, sid, r0, rep):
    """palette_<colour>_lut_descriptor / _data: the first stored slice's palette
    color LUTs as pydicom reads them (segmented tables expanded), absent
    without a palette."""
    pal = getattr(r0, "palette", None)
    if pal is None:
        extra = [k for k in PALETTE_ATTRS if k in a]
        if extra:
            rep.fail(run, sid, "palette attributes for a file without palette", [], extra)
        return
    if pal[0] == "error":
        rep.note(run, "%s: pydicom cannot apply the palette (%s): not compared" % (sid, pal[1]))
        return
    descs, tables = pal
    for c, name in enumerate(("red", "green", "blue")):
        kd, kt = "palette_%s_lut_descriptor" % name, "palette_%s_lut_data" % name
        if kd not in a or kt not in a:
            rep.fail(run, sid, "palette attributes missing", [kd, kt], sorted(k for k in a
                                                                            if "palette" in k))
            return
        g = np.asarray(a[kd]).reshape(-1).tolist()
        if g != descs[c]:
            rep.fail(run, sid, "attribute %s" % kd, descs[c], g)
        t = np.asarray(a[kt])
        if t.dtype != tables[c].dtype or t.shape != tables[c].shape or \
                not np.array_equal(t, tables[c]):
            rep.fail(run, sid, "attribute %s (pydicom's table)" % kt,
                     "%s %s %s" % (tables[c].dtype, tables[c].shape, tables[c][:8].tolist()),
                     "%s %s %s" % (t.dtype, t.shape, t.reshape(-1)[:8].tolist()))


# ----------------------------------------------------- oracle self-check

def check_oracle_vs_manifest(man, corpus_rel, work, rep):
    """The oracle must reproduce what the generator built by construction."""
    folders = [corpus_rel + "/" + f for f in man["folders"]]
    orc = O.Oracle(folders, O.Options(volumes=True, write_pixeldata=True), cwd=work)
    for v in man["volumes"]:
        scope = corpus_rel + "/" + v["folder"]
        sid = O.scope_id(scope) + "_" + v["series_uid"] + v["suffix"]
        e = orc.scans.get(sid)
        if e is None:
            rep.fail("oracle", sid, "oracle has no scan for manifest volume %s" % v["label"])
            continue
        if e.status != v["outcome"]:
            rep.fail("oracle", sid, "status (%s)" % v["label"], v["outcome"], e.status)
            continue
        if v["outcome"] != "stored":
            if not e.reasons:
                rep.fail("oracle", sid, "reasons", v["reasons"], e.reasons)
            continue
        if list(e.shape) != v["shape"]:
            rep.fail("oracle", sid, "shape (%s)" % v["label"], v["shape"], e.shape)
        sops = [f.sop for f, _ in e.slices]
        files = [os.path.relpath(f.path, os.path.join(work, corpus_rel)) for f, _ in e.slices]
        if files != v["order_files"]:
            rep.fail("oracle", sid, "slice order (%s)" % v["label"], v["order_files"], files)
        frames = [fr for _, fr in e.slices]
        if v.get("order_frames") is not None and frames != v["order_frames"]:
            rep.fail("oracle", sid, "frame order (%s)" % v["label"], v["order_frames"], frames)
        if v["order_rule"] and e.rule != v["order_rule"]:
            rep.fail("oracle", sid, "order rule (%s)" % v["label"], v["order_rule"], e.rule)
        for w in v["warnings"]:
            if w not in e.warn_words:
                rep.fail("oracle", sid, "warning words (%s)" % v["label"], v["warnings"], e.warn_words)
        if v["uniform_spacing"] is not None and e.uniform != v["uniform_spacing"]:
            rep.fail("oracle", sid, "uniform (%s)" % v["label"], v["uniform_spacing"], e.uniform)
        if e.n_files != v["n_files"]:
            rep.fail("oracle", sid, "n_files (%s)" % v["label"], v["n_files"], e.n_files)
        del sops
    want = {O.scope_id(corpus_rel + "/" + v["folder"]) + "_" + v["series_uid"] + v["suffix"]
            for v in man["volumes"]}
    for sid in orc.scans:
        if sid not in want:
            rep.fail("oracle", sid, "oracle scan not in the manifest")
    # per-file outcomes
    orc2 = O.Oracle(folders, O.Options(volumes=False, write_pixeldata=True), cwd=work)
    by_file = {}
    for e in list(orc2.scans.values()) + orc2.unreadable:
        for f in e.files:
            by_file[os.path.relpath(f.path, os.path.join(work, corpus_rel))] = e
    for rel, info in man["files"].items():
        if not any(rel.startswith(f + "/") and "/" not in rel[len(f) + 1:] for f in man["folders"]):
            continue
        e = by_file.get(rel)
        if info["perfile"] == "skip":
            if e is not None:
                rep.fail("oracle", rel, "skipped file has a scan", "skip", e.scan_id)
            continue
        if e is None:
            rep.fail("oracle", rel, "no per-file scan for file")
            continue
        if e.status != info["perfile"]:
            rep.fail("oracle", rel, "per-file status", info["perfile"], e.status)
        if info.get("shape") and e.shape != info["shape"]:
            rep.fail("oracle", rel, "per-file shape", info["shape"], e.shape)
        if info.get("dup_rank"):
            k = info["dup_rank"]
            base = O.scope_id(corpus_rel + "/" + os.path.dirname(rel)) + "_" + info["sop"]
            want_id = base if k == 1 else "%s_%d" % (base, k)
            if e.scan_id != want_id:
                rep.fail("oracle", rel, "duplicate SOPInstanceUID Scan ID", want_id, e.scan_id)


# ------------------------------------------------------------------ main

def copy_pydicom_files(dst):
    out = []
    for sub in ("test_files", "charset_files"):
        src = os.path.join(PYDICOM_DATA, sub)
        if not os.path.isdir(src):
            continue
        d = os.path.join(dst, sub)
        os.makedirs(d, exist_ok=True)
        for n in sorted(os.listdir(src)):
            p = os.path.join(src, n)
            if os.path.isfile(p) and not os.path.islink(p):
                shutil.copy2(p, os.path.join(d, n))
        out.append("pydicom/" + sub)
    return out


def outputs_exist(outdir):
    return os.path.isdir(outdir) and any(
        n.startswith(("metadata", "pixel_data", "unreadable_files")) for n in os.listdir(outdir))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--np", type=int, default=2, help="MPI ranks (0: run without mpirun)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--work", help="work directory (default: a new temporary one)")
    ap.add_argument("--only", nargs="*", help="run only these checks")
    ap.add_argument("--no-pydicom", action="store_true", help="skip pydicom's test files")
    args = ap.parse_args()

    if not (os.path.isfile(args.binary) and os.access(args.binary, os.X_OK)):
        print("test_crawl: FAIL: binary %s not found or not executable (build it first: "
              "make BUILD=<dir>)" % args.binary)
        return 2
    work = args.work or tempfile.mkdtemp(prefix="dcmcrawl_crawl_")
    os.makedirs(work, exist_ok=True)
    rep = Report()
    t_start = time.time()
    only = set(args.only or [])

    def want(name):
        return not only or name in only

    # corpus
    corpus_rel = "corpus"
    corpus = os.path.join(work, corpus_rel)
    if not os.path.exists(os.path.join(corpus, "manifest.json")):
        r = subprocess.run([sys.executable, os.path.join(TESTS, "gen", "make_series.py"), corpus,
                            "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            print(r.stdout.decode())
            print("test_crawl: FAIL: corpus generation failed")
            return 1
    man = json.load(open(os.path.join(corpus, "manifest.json")))
    for n in man.get("notes", []):
        rep.note("corpus", n)
    corpus_folders = [corpus_rel + "/" + f for f in man["folders"]]
    py_folders = [] if args.no_pydicom else copy_pydicom_files(os.path.join(work, "pydicom"))
    print("test_crawl: work dir %s; %d corpus folders, %d pydicom folders; %d ranks" % (
        work, len(corpus_folders), len(py_folders), args.np))

    check_oracle_vs_manifest(man, corpus_rel, work, rep)
    if rep.problems:
        rep.print()
        print("test_crawl: FAIL: the oracle disagrees with the corpus manifest (harness bug)")
        return 1

    runner = Runner(args.binary, args.np, work)
    all_folders = corpus_folders + py_folders
    results = []

    def crawl(name, folders, opts, compression="none", cli_extra=(), config=True, cmd=None):
        out = "out_" + name
        shutil.rmtree(os.path.join(work, out), ignore_errors=True)
        cfg = os.path.join(work, "config_%s.yaml" % name)
        write_config(cfg, folders, out, name, opts, compression)
        argv = cmd if cmd is not None else [cfg] + list(cli_extra)
        rc, log, dt = runner.run(argv, name)
        print("  [%s] exit %s in %.1fs" % (name, rc, dt))
        if rc != 0:
            rep.fail(name, "-", "exit status", 0, rc)
            tail = "\n".join(log.splitlines()[-15:])
            rep.note(name, "last lines of output:\n" + tail)
        return out, rc

    def check(name, folders, opts, out, run_id=None, cwd_folders=None):
        orc = O.Oracle(cwd_folders or folders, opts, cwd=work)
        n0 = len(rep.problems)
        compare_run(name, os.path.join(work, out), run_id or name, orc, rep)
        results.append((name, len(rep.problems) - n0))

    if want("meta"):
        # a listed folder that does not exist is dropped with a warning (SPEC 2)
        o = O.Options(volumes=False, write_pixeldata=False)
        fl = all_folders + [corpus_rel + "/does_not_exist"]
        out, rc = crawl("meta", fl, o)
        check("meta", fl, o, out)
    if want("perfile"):
        o = O.Options(volumes=False, write_pixeldata=True)
        out, rc = crawl("perfile", all_folders, o)
        check("perfile", all_folders, o, out)
    if want("volumes"):
        o = O.Options(volumes=True, write_pixeldata=True)
        out, rc = crawl("volumes", all_folders, o)
        check("volumes", all_folders, o, out)
    if want("seed"):
        fl = [corpus_rel + "/geometry", corpus_rel + "/ts", corpus_rel + "/natural"]
        o = O.Options(volumes=True, write_pixeldata=True, layout="seed", rescale=True)
        out, rc = crawl("seed", fl, o, compression="gzip:4")
        check("seed", fl, o, out)
        # compression: chunks of one slice with gzip+shuffle
        h5p = os.path.join(work, out, "pixel_data_seed.h5")
        if os.path.exists(h5p):
            import h5py
            with h5py.File(h5p, "r") as f:
                for k in list(f.keys())[:5]:
                    d = f[k]
                    if d.compression != "gzip" or not d.shuffle:
                        rep.fail("seed", k, "compression gzip:4 with shuffle", "gzip+shuffle",
                                 "%s shuffle=%s" % (d.compression, d.shuffle))
    if want("rescale"):
        # rescale: true in zyx layout: float32 = stored * slope + intercept per slice/frame
        # (per-slice and per-frame values, integer and float pixel data)
        fl = [corpus_rel + "/" + f for f in ("geometry", "float", "multiframe", "enhanced")
              if os.path.isdir(os.path.join(corpus, f))]
        o = O.Options(volumes=True, write_pixeldata=True, rescale=True, csv_style="dicom")
        out, rc = crawl("rescale", fl, o)
        check("rescale", fl, o, out)
    if want("instance"):
        fl = [corpus_rel + "/series", corpus_rel + "/geometry"]
        o = O.Options(volumes=True, write_pixeldata=True, slice_order="instance",
                      split_inconsistent=False)
        out, rc = crawl("instance", fl, o)
        check("instance", fl, o, out)
    if want("recursive"):
        # positional folder replaces input.folders; --set overrides id and recursive
        o = O.Options(volumes=True, write_pixeldata=True, recursive=True)
        cfg_folders = [corpus_rel + "/meta"]
        out = "out_recursive"
        shutil.rmtree(os.path.join(work, out), ignore_errors=True)
        cfg = os.path.join(work, "config_recursive.yaml")
        write_config(cfg, cfg_folders, out, "wrong_id", O.Options(volumes=True, write_pixeldata=True))
        rc, log, dt = runner.run(["-c", cfg, "--set", "output.id=recursive", "--set",
                                  "input.recursive=true", corpus_rel + "/ts"], "recursive")
        print("  [recursive] exit %s in %.1fs" % (rc, dt))
        if rc != 0:
            rep.fail("recursive", "-", "exit status", 0, rc)
            rep.note("recursive", "output:\n" + "\n".join(log.splitlines()[-15:]))
        if os.path.exists(os.path.join(work, out, "metadata_wrong_id.csv")):
            rep.fail("recursive", "-", "--set output.id ignored (metadata_wrong_id.csv written)")
        check("recursive", [corpus_rel + "/ts"], o, out, run_id="recursive")
    if want("oldflags"):
        # the old flags without a config imply layout seed (1, rows, cols, slices)
        o = O.Options(volumes=True, write_pixeldata=True, layout="seed")
        out = "out_oldflags"
        shutil.rmtree(os.path.join(work, out), ignore_errors=True)
        os.makedirs(os.path.join(work, out))
        fl = [corpus_rel + "/meta", corpus_rel + "/fourd"]
        rc, log, dt = runner.run(["--dicom_folders", "[%s]" % ",".join("'%s'" % f for f in fl),
                                  "--storage_folder", out, "--output_id", "oldflags",
                                  "--write_pixeldata", "True", "--eval_3d_scans", "True",
                                  "--n_procs", "4", "--par_over_folder", "False"], "oldflags")
        print("  [oldflags] exit %s in %.1fs" % (rc, dt))
        if rc != 0:
            rep.fail("oldflags", "-", "exit status", 0, rc)
            rep.note("oldflags", "output:\n" + "\n".join(log.splitlines()[-15:]))
        check("oldflags", fl, o, out, run_id="oldflags")
    if want("append"):
        # first ts (few columns), then ts + meta with the same id: rows appended, header widened
        o = O.Options(volumes=True, write_pixeldata=True)
        out = "out_append"
        shutil.rmtree(os.path.join(work, out), ignore_errors=True)
        f1 = [corpus_rel + "/ts"]
        f2 = [corpus_rel + "/ts", corpus_rel + "/meta"]
        ok = True
        for k, fl in enumerate((f1, f2)):
            cfg = os.path.join(work, "config_append%d.yaml" % k)
            write_config(cfg, fl, out, "append", o)
            rc, log, dt = runner.run([cfg], "append%d" % k)
            print("  [append] run %d exit %s in %.1fs" % (k + 1, rc, dt))
            if rc != 0:
                rep.fail("append", "-", "exit status of run %d" % (k + 1), 0, rc)
                ok = False
        if ok:
            n0 = len(rep.problems)
            orc = O.Oracle(f2, o, cwd=work)
            # rows of run 2 follow those of run 1: sorted within each run only
            compare_run_appended("append", os.path.join(work, out), "append", orc, rep,
                                 first_ids=set(O.Oracle(f1, o, cwd=work).scans))
            # a third run asking for the other csv_style on this seed-named file:
            # exit 2 naming both styles and the file, nothing touched
            meta = os.path.join(work, out, "metadata_append.csv")
            before = open(meta, "rb").read()
            cfg = os.path.join(work, "config_append_dicom.yaml")
            write_config(cfg, f2 + [corpus_rel + "/geometry"], out, "append",
                         O.Options(volumes=True, write_pixeldata=True, csv_style="dicom"))
            rc, log, dt = runner.run([cfg], "append_dicom")
            if rc != 2 or not all(w in log for w in ("csv_style seed", "csv_style: dicom",
                                                      "metadata_append.csv")):
                rep.fail("append", "-", "other csv_style on an existing file: exit 2 naming "
                         "both styles and the file", 2, "exit %s: %s" % (rc, log.strip()[-300:]))
            if open(meta, "rb").read() != before:
                rep.fail("append", "-", "metadata CSV changed by a run that exited 2")
            # a file in csv_style dicom, appended to by a config that does not name a
            # style: the file's style wins (the default seed would name tags twice)
            od = O.Options(volumes=True, write_pixeldata=True, csv_style="dicom")
            outd = "out_append_dicom"
            shutil.rmtree(os.path.join(work, outd), ignore_errors=True)
            for k, (fl, opts) in enumerate(((f1, od), (f2, o))):
                cfg = os.path.join(work, "config_append_dicom%d.yaml" % k)
                write_config(cfg, fl, outd, "append", opts)
                rc, log, dt = runner.run([cfg], "append_dicom%d" % k)
                if rc != 0:
                    rep.fail("append", "-", "dicom-style file, run %d: exit status" % (k + 1), 0, rc)
            if "appending with its own column names (output.csv_style dicom, not the default seed)" \
                    not in log:
                rep.fail("append", "-", "the log should say the file's style is kept",
                         "appending with its own column names", log.strip()[-300:])
            compare_run_appended("append", os.path.join(work, outd), "append",
                                 O.Oracle(f2, od, cwd=work), rep,
                                 first_ids=set(O.Oracle(f1, od, cwd=work).scans))
            results.append(("append", len(rep.problems) - n0))
    if want("badconfig"):
        n0 = len(rep.problems)
        bad_cases = {
            "unknown_key": "input:\n  folders: [%s]\n  colour: blue\noutput:\n  folder: out_bad\n",
            "bad_layout": "input:\n  folders: [%s]\noutput:\n  folder: out_bad\n  layout: xyz\n",
            "wrong_type": "input:\n  folders: [%s]\n  recursive: maybe\noutput:\n  folder: out_bad\n",
            "bad_commit": "input:\n  folders: [%s]\noutput:\n  folder: out_bad\nrun:\n  commit_every: -3\n",
            "no_folders": "input:\n  folders: [does/not/exist]\noutput:\n  folder: out_bad\n",
            "yaml_syntax": "input:\n  folders: [%s\noutput: {\n",
        }
        key_line = {"unknown_key": 3, "bad_layout": 5, "wrong_type": 3, "bad_commit": 6}
        for name, text in bad_cases.items():
            shutil.rmtree(os.path.join(work, "out_bad"), ignore_errors=True)
            cfg = os.path.join(work, "bad_%s.yaml" % name)
            with open(cfg, "w") as fh:
                fh.write(text.replace("%s", corpus_rel + "/meta"))
            rc, log, dt = runner.run([cfg], "bad_" + name)
            if rc != 2:
                rep.fail("badconfig", name, "exit status for a bad config", 2, rc)
            if outputs_exist(os.path.join(work, "out_bad")):
                rep.fail("badconfig", name, "outputs written for a bad config")
            if name in ("unknown_key", "bad_layout", "wrong_type", "bad_commit"):
                key = {"unknown_key": "colour", "bad_layout": "layout", "wrong_type": "recursive",
                       "bad_commit": "commit_every"}[name]
                if key not in log:
                    rep.fail("badconfig", name, "error message should name the key", key,
                             log.strip()[-200:])
                elif not re.search(r"(line\s*|:)%d\b" % key_line[name], log):
                    rep.fail("badconfig", name, "error message should name the line",
                             "line %d" % key_line[name], log.strip()[-200:])
        rc, log, dt = runner.run(["--set", "output.layout=zyx"], "bad_noconfig")
        if rc != 2:
            rep.fail("badconfig", "no folders at all", "exit status", 2, rc)
        rc, log, dt = runner.run(["--help"], "help")
        if rc != 0 or "dcmcrawl" not in log.lower():
            rep.fail("badconfig", "--help", "exit 0 and usage text", 0, rc)
        # --dry-run: walk and group, print the plan, write nothing
        shutil.rmtree(os.path.join(work, "out_dry"), ignore_errors=True)
        cfg = os.path.join(work, "config_dry.yaml")
        write_config(cfg, [corpus_rel + "/series"], "out_dry", "dry",
                     O.Options(volumes=True, write_pixeldata=True))
        rc, log, dt = runner.run([cfg, "--dry-run"], "dryrun")
        if rc != 0:
            rep.fail("badconfig", "--dry-run", "exit status", 0, rc)
        if outputs_exist(os.path.join(work, "out_dry")):
            rep.fail("badconfig", "--dry-run", "outputs written by a dry run")
        results.append(("badconfig", len(rep.problems) - n0))

    print()
    rep.print()
    print()
    for name, n in results:
        print("  %-10s %-14s %s" % (name, "ok" if n == 0 else "%d problem(s)" % n,
                                    rep.counts.get(name, "")))
    print("test_crawl: %s in %.0fs (work dir %s%s)" % (
        "FAIL" if rep.problems else "PASS", time.time() - t_start, work,
        ", kept" if (args.keep or rep.problems or args.work) else ", removed"))
    if not (args.keep or rep.problems or args.work):
        shutil.rmtree(work, ignore_errors=True)
    return 1 if rep.problems else 0


def compare_run_appended(run, outdir, run_id, orc, rep, first_ids):
    """Like compare_run, but rows are sorted within each run: first-run rows,
    then the rows the second run added."""
    meta = os.path.join(outdir, "metadata_%s.csv" % run_id)
    if os.path.exists(meta):
        header, body = read_csv_checked(meta, run, rep, "metadata CSV")
        ids = [r[0] for r in body if r]
        a = [s for s in ids if s in first_ids]
        b = [s for s in ids if s not in first_ids]
        if ids != a + b:
            rep.fail(run, "-", "rows of the first run should come first (appended, not re-sorted)",
                     "first-run rows then new rows", ids[:6])
        if a != sorted(a, key=lambda x: row_key(orc, x)) or b != sorted(b, key=lambda x: row_key(orc, x)):
            rep.fail(run, "-", "rows of each run in row order (folders in walk order, Scan IDs within)")
        # compare the content as if sorted
        tmp = tempfile.mkdtemp(prefix="dcmcrawl_append_")
        try:
            with open(os.path.join(tmp, "metadata_%s.csv" % run_id), "w", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(header)
                w.writerows(sorted((r for r in body if r), key=lambda r: row_key(orc, r[0])))
            for n in os.listdir(outdir):
                if not n.startswith("metadata_"):
                    src = os.path.join(outdir, n)
                    dst = os.path.join(tmp, n)
                    if os.path.isdir(src):
                        shutil.copytree(src, dst)
                    else:
                        shutil.copy2(src, dst)
            compare_run(run, tmp, run_id, orc, rep)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    else:
        rep.fail(run, "-", "metadata CSV missing")


if __name__ == "__main__":
    sys.exit(main())
