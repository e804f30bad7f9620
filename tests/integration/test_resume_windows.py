#!/usr/bin/python3
"""test_resume_windows.py BINARY - kills aimed at the streaming crawl's windows (SPEC 10):
a kill at any moment, including while the first window is planned, loses at most the
work since the last checkpoint, and the same command then finishes with outputs equal
to an uninterrupted run.

Corpus: the synthetic corpus (tests/kill/kcommon.make_corpus), run.window_files 40 (a
dozen windows), 2 ranks, in two runs:
  pixels     per file with pixel data, commit_every 5
  metadata   metadata only, one checkpoint at the end (commit_every 10000,
             commit_seconds 1000): each window appends its rows when it ends and only
             the checkpoint syncs them and writes the done-set, so a later kill finds
             rows in the CSV that no done-set lists (the next start reads them back)
Trials (SIGKILL of the whole job, the phase slowed with DCMCRAWL_SLOW so it is hit):
  first_walk     during the walk of the first window
  first_header   during the header pass of the first window
  first_group    during the grouping of the first window
  later_header   during the header pass of window 4 (rows of windows 1-3 are in the CSV
                 before: the test checks they survive the kill)
  later_batch    during a batch of window 4 (pixels)
  later_rows     just before window 4's rows are appended (metadata)
Each: the rerun exits 0, the outputs are clean (kcommon.check_clean) and equal to the
uninterrupted run's (compare_outputs.py --rows-as-sets); for the later trials the
metadata CSV held rows when the job was killed (the earlier windows' work was kept).
"""
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "kill"))
import kcommon as K  # noqa: E402

WINDOW = 40
TRIALS = {  # name, phase, k-th occurrence on rank 0 (None: window 4's first batch), slow ms
    "pixels": [("first_walk", "walk", 1, 300), ("first_header", "header", 1, 300),
               ("first_group", "group", 1, 300), ("later_header", "header", 4, 300),
               ("later_batch", "batch", None, 150)],
    "metadata": [("first_header", "header", 1, 300), ("first_group", "group", 1, 300),
                 ("later_header", "header", 4, 300), ("later_rows", "rows", 4, 300)],
}


def run_kind(binary, work, folders, kind, problems):
    cfg = os.path.join(work, "cfg_%s.yaml" % kind)
    if kind == "pixels":
        K.write_config(cfg, folders, "out", "w", volumes=False, pixels=True, commit_every=5,
                       window_files=WINDOW)
    else:
        K.write_config(cfg, folders, "out", "w", volumes=False, pixels=False, commit_every=10000,
                       window_files=WINDOW, commit_seconds=1000)
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
    ref = K.Job(binary, work, [cfg], np=2, trace=os.path.join(work, "trace_ref_" + kind),
                log=os.path.join(work, "log_ref_%s.txt" % kind))
    rc = ref.wait(timeout=300)
    windows = sum(1 for ln in ref.lines() if ln[0] == 0 and ln[2] == "header")
    checkpoints = sum(1 for ln in ref.lines() if ln[0] == 0 and ln[2] == "doneset")
    batches_before_w4 = None
    seen_h = 0
    for ln in ref.lines():
        if ln[0] == 0 and ln[2] == "header":
            seen_h += 1
        if ln[0] == 0 and ln[2] == "batch" and seen_h == 4 and batches_before_w4 is None:
            batches_before_w4 = ln[3]
    if rc != 0 or windows < 5 or batches_before_w4 is None or (kind == "metadata" and checkpoints != 1):
        problems.append("%s: reference exited %s with %d windows, %d checkpoints\n%s" % (
            kind, rc, windows, checkpoints, ref.output()[-2000:]))
        return
    if K.check_clean(os.path.join(work, "out"), "w"):
        problems.append("%s: reference not clean" % kind)
        return
    refdir = os.path.join(work, "ref_" + kind)
    os.rename(os.path.join(work, "out"), refdir)
    print("  %s reference: %d windows, %d checkpoints" % (kind, windows, checkpoints))
    for name, phase, k, slow in TRIALS[kind]:
        if k is None:
            k = batches_before_w4
        shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
        tag = "%s_%s" % (kind, name)
        j = K.Job(binary, work, [cfg], np=2, trace=os.path.join(work, "trace_" + tag),
                  slow="%s:%d" % (phase, slow), log=os.path.join(work, "log_%s.txt" % tag))
        hit = j.wait_for(lambda x: x[0] == 0 and x[2] == phase and x[3] >= k)
        if hit is None:
            problems.append("%s: %s #%d never reached" % (tag, phase, k))
            j.kill_all()
            j.wait(timeout=60)
            continue
        time.sleep(slow / 2000.0)
        j.kill_all()
        j.wait(timeout=60)
        meta = os.path.join(work, "out", "metadata_w.csv")
        kept = len(K.csv_rows(meta)) - 1 if os.path.exists(meta) else 0
        if name.startswith("later") and kept <= 0:
            problems.append("%s: no rows kept from the windows before the kill" % tag)
        fin = K.Job(binary, work, [cfg], np=2, log=os.path.join(work, "log_%s_final.txt" % tag))
        rc = fin.wait(timeout=300)
        probs = K.check_clean(os.path.join(work, "out"), "w")
        same, text = K.compare(refdir, os.path.join(work, "out"))
        ok = rc == 0 and not probs and same
        if not ok:
            problems.append("%s: rerun exit %s, clean problems %s, same %s\n%s" % (tag, rc, probs, same, text))
        print("  %-22s %-4s killed at %s #%d; %d rows kept; rerun %s" % (
            tag, "ok" if ok else "FAIL", phase, k, max(kept, 0), "identical" if same else "DIFFERENT"),
            flush=True)


def main():
    binary = os.path.abspath(sys.argv[1])
    work = K.tempfile.mkdtemp(prefix="dcmcrawl_rwin_")
    folders = K.make_corpus(work, ct=None)
    problems = []
    for kind in ("pixels", "metadata"):
        run_kind(binary, work, folders, kind, problems)
    for p in problems:
        print("test_resume_windows: FAIL: " + p)
    if problems:
        print("test_resume_windows: FAIL (work dir kept: %s)" % work)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("test_resume_windows: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
