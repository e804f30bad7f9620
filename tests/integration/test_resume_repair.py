#!/usr/bin/python3
"""test_resume_repair.py BINARY [--keep] [--work DIR] [--only CASE ...]

Start-up repair (SPEC 7, src/run/resume.c): the damage a kill (or a person) can
leave in the outputs is detected, repaired with a message saying what was
done, and the same command then ends with outputs equal to an uninterrupted
run.  Each case damages a copy of a complete output the way the case says,
runs the same command (2 ranks) and checks: exit 0, the repair message, clean
outputs (tests/kill/kcommon.check_clean), equal to the reference
(compare_outputs.py --rows-as-sets).

  torn_meta       metadata CSV cut in the middle of its last row
  nul_hole        NUL bytes over the last rows of the metadata CSV (pages of a
                  collective write that never reached the disk)
  torn_unread     unreadable_files CSV cut in the middle of its last row
  no_row          the last rows of the metadata CSV missing (a kill after the
                  index was replaced, before the rows were written): datasets
                  without a row
  no_dataset      a link removed from the index: a row without a dataset
  temp_files      temp files of interrupted rewrites (metadata CSV with a wider
                  header, unreadable CSV, index)
  locktests       "<file>.locktest.<rank>" files that Open MPI's MPI_File_open
                  (OMPIO sharedfp/lockedfile) creates and deletes at once: a kill
                  in between leaves them beside a CSV or a segment
  stray_segment   a segment file no link refers to (a checkpoint killed before
                  its index rename)
  partial_segment a segment file cut in half, not referenced
  no_index        the index file missing: rebuilt from the segments
  bad_index       the index file overwritten with junk: moved aside, rebuilt
  lost_segment    a referenced segment file deleted: its scans are redone
  header_only     the metadata CSV is only a header cut short (killed while the
                  first rows were written)
"""
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "kill"))
import kcommon as K  # noqa: E402

ID = "rep"


def p(out, kind):
    return os.path.join(out, {"meta": "metadata_%s.csv", "unr": "unreadable_files_%s.csv",
                              "idx": "pixel_data_%s.h5"}[kind] % ID)


def row_starts(path):
    """(byte offset of each record, header first; file size) of a CSV we wrote:
    records end at a newline outside quotes (a doubled quote toggles twice)"""
    data = open(path, "rb").read()
    offs, start, inq = [], 0, False
    for i, ch in enumerate(data):
        if ch == 0x22:
            inq = not inq
        elif ch == 0x0A and not inq:
            offs.append(start)
            start = i + 1
    return offs, len(data)


def torn_meta(out):
    offs, n = row_starts(p(out, "meta"))
    cut = offs[-1] + (n - offs[-1]) // 2
    os.truncate(p(out, "meta"), cut)


def nul_hole(out):
    offs, n = row_starts(p(out, "meta"))
    with open(p(out, "meta"), "r+b") as fh:
        fh.seek(offs[-3] + 5)
        fh.write(b"\0" * (offs[-1] - offs[-3]))


def torn_unread(out):
    offs, n = row_starts(p(out, "unr"))
    os.truncate(p(out, "unr"), offs[-1] + 7)


def no_row(out):
    offs, n = row_starts(p(out, "meta"))
    os.truncate(p(out, "meta"), offs[-2])


def no_dataset(out):
    import h5py
    with h5py.File(p(out, "idx"), "r+") as f:
        del f[sorted(f.keys())[len(f.keys()) // 2]]


def temp_files(out):
    for k in ("meta", "unr", "idx"):
        with open(p(out, k) + ".tmp", "wb") as fh:
            fh.write(b"half a rewrite\n")


def locktest_files(out):
    d, s = segs(out)
    for f in (p(out, "meta") + ".locktest.0", p(out, "unr") + ".locktest.1",
              os.path.join(d, s[0] + ".locktest.0")):
        open(f, "wb").close()


def segs(out):
    d = p(out, "idx") + ".d"
    return d, sorted(os.listdir(d))


def stray_segment(out):
    d, s = segs(out)
    shutil.copy2(os.path.join(d, s[0]), os.path.join(d, "seg_009999.h5"))


def partial_segment(out):
    d, s = segs(out)
    data = open(os.path.join(d, s[-1]), "rb").read()
    with open(os.path.join(d, "seg_009998.h5"), "wb") as fh:
        fh.write(data[:len(data) // 2])


def no_index(out):
    os.unlink(p(out, "idx"))


def bad_index(out):
    with open(p(out, "idx"), "wb") as fh:
        fh.write(b"not an HDF5 file at all" * 100)


def lost_segment(out):
    d, s = segs(out)
    os.unlink(os.path.join(d, s[len(s) // 2]))


def header_only(out):
    offs, n = row_starts(p(out, "meta"))
    os.truncate(p(out, "meta"), offs[1] // 2)


CASES = [
    ("torn_meta", torn_meta, "incomplete row"),
    ("nul_hole", nul_hole, "incomplete row"),
    ("torn_unread", torn_unread, "incomplete row"),
    ("no_row", no_row, "had no metadata row"),
    ("no_dataset", no_dataset, "rows had no pixel data"),
    ("temp_files", temp_files, "removed the temp file"),
    ("locktests", locktest_files, "lock-test files"),
    ("stray_segment", stray_segment, "segment files no scan refers to"),
    ("partial_segment", partial_segment, "segment files no scan refers to"),
    ("no_index", no_index, "rebuilt from"),
    ("bad_index", bad_index, "moved to"),
    ("lost_segment", lost_segment, "segment files that are missing"),
    ("header_only", header_only, "incomplete row"),
]


def main():
    args, binary, work = K.test_args(__doc__, "dcmcrawl_repair_")
    t0 = time.time()
    folders = [f for f in K.make_corpus(work) if f.split("/")[-1] in
               ("series", "meta", "bad", "fourd", "archive_0", "rle")]
    cfg = os.path.join(work, "cfg.yaml")
    K.write_config(cfg, folders, "out", ID, commit_every=3)
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
    rc, log = K.run(binary, work, [cfg], log=os.path.join(work, "log_ref.txt"))
    if rc != 0:
        print(log[-2000:])
        print("test_resume_repair: FAIL: reference run exited %s" % rc)
        return 1
    ref = os.path.join(work, "ref")
    shutil.rmtree(ref, ignore_errors=True)
    os.rename(os.path.join(work, "out"), ref)
    n_rows = len(K.csv_rows(p(ref, "meta"))) - 1
    problems = []
    for name, damage, msg in CASES:
        if args.only and name not in args.only:
            continue
        out = os.path.join(work, "out")
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(ref, out)
        damage(out)
        rc, log = K.run(binary, work, [cfg], log=os.path.join(work, "log_%s.txt" % name))
        said = [ln for ln in log.splitlines() if msg in ln]
        redone = [ln for ln in log.splitlines() if "scans written" in ln]
        ok = True
        if rc != 0:
            problems.append("%s: exit %s\n%s" % (name, rc, log[-1500:]))
            ok = False
        if not said:
            problems.append("%s: no message saying '%s'; log:\n%s" % (name, msg, log[-1500:]))
            ok = False
        probs = K.check_clean(out, ID)
        if probs:
            problems.append("%s: outputs not clean: %s" % (name, probs))
            ok = False
        same, text = K.compare(ref, out)
        if not same:
            problems.append("%s: outputs differ from the uninterrupted run:\n%s" % (name, text))
            ok = False
        print("  %-16s %-5s %s | %s" % (name, "ok" if ok else "FAIL",
                                        said[0].split(": ", 2)[-1][:110] if said else "-",
                                        redone[0].split("dcmcrawl: ")[-1][:60] if redone else "-"),
              flush=True)
    print()
    for pr in problems:
        print("  problem: " + pr)
    print("test_resume_repair: %s in %.0fs (%d scans in the reference)" % (
        "FAIL" if problems else "PASS", time.time() - t0, n_rows))
    if not problems and not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
