#!/usr/bin/python3
"""test_resume_windows.py BINARY - kills aimed at the streaming crawl's windows (SPEC 10):
a kill at any moment, including while the first window is planned, loses at most the
work since the last checkpoint, and the same command then finishes with outputs equal
to an uninterrupted run.

Corpus: the synthetic corpus (tests/kill/kcommon.make_corpus), per
file with pixel data, run.window_files 40 (a dozen windows), commit_every 5, 2 ranks.
Trials (SIGKILL of the whole job, the phase slowed with DCMCRAWL_SLOW so it is hit):
  first_walk     during the walk of the first window
  first_header   during the header pass of the first window
  first_group    during the grouping of the first window
  later_header   during the header pass of window 4 (rows of windows 1-3 are committed
                 before: the test checks they survive the kill)
  later_batch    during a batch of window 4
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
TRIALS = [  # name, phase, k-th occurrence on rank 0, slow ms
    ("first_walk", "walk", 1, 300),
    ("first_header", "header", 1, 300),
    ("first_group", "group", 1, 300),
    ("later_header", "header", 4, 300),
    ("later_batch", "batch", None, 150),
]


def main():
    binary = os.path.abspath(sys.argv[1])
    work = K.tempfile.mkdtemp(prefix="dcmcrawl_rwin_")
    folders = K.make_corpus(work, ct=None)
    cfg = os.path.join(work, "cfg.yaml")
    K.write_config(cfg, folders, "out", "w", volumes=False, pixels=True, commit_every=5,
                   window_files=WINDOW)
    ref = K.Job(binary, work, [cfg], np=2, trace=os.path.join(work, "trace_ref"),
                log=os.path.join(work, "log_ref.txt"))
    rc = ref.wait(timeout=300)
    windows = sum(1 for ln in ref.lines() if ln[0] == 0 and ln[2] == "header")
    batches_before_w4 = None
    seen_h = 0
    for ln in ref.lines():
        if ln[0] == 0 and ln[2] == "header":
            seen_h += 1
        if ln[0] == 0 and ln[2] == "batch" and seen_h == 4 and batches_before_w4 is None:
            batches_before_w4 = ln[3]
    problems = []
    if rc != 0 or windows < 5 or batches_before_w4 is None:
        print("test_resume_windows: FAIL: reference exited %s with %d windows" % (rc, windows))
        print(ref.output()[-2000:])
        return 1
    if K.check_clean(os.path.join(work, "out"), "w"):
        print("test_resume_windows: FAIL: reference not clean")
        return 1
    os.rename(os.path.join(work, "out"), os.path.join(work, "ref"))
    print("  reference: %d windows" % windows)
    for name, phase, k, slow in TRIALS:
        if k is None:
            k = batches_before_w4
        shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
        j = K.Job(binary, work, [cfg], np=2, trace=os.path.join(work, "trace_" + name),
                  slow="%s:%d" % (phase, slow), log=os.path.join(work, "log_%s.txt" % name))
        hit = j.wait_for(lambda x: x[0] == 0 and x[2] == phase and x[3] >= k)
        if hit is None:
            problems.append("%s: %s #%d never reached" % (name, phase, k))
            j.kill_all()
            j.wait(timeout=60)
            continue
        time.sleep(slow / 2000.0)
        j.kill_all()
        j.wait(timeout=60)
        meta = os.path.join(work, "out", "metadata_w.csv")
        kept = len(K.csv_rows(meta)) - 1 if os.path.exists(meta) else 0
        if name.startswith("later") and kept <= 0:
            problems.append("%s: no rows kept from the windows before the kill" % name)
        fin = K.Job(binary, work, [cfg], np=2, log=os.path.join(work, "log_%s_final.txt" % name))
        rc = fin.wait(timeout=300)
        probs = K.check_clean(os.path.join(work, "out"), "w")
        same, text = K.compare(os.path.join(work, "ref"), os.path.join(work, "out"))
        ok = rc == 0 and not probs and same
        if not ok:
            problems.append("%s: rerun exit %s, clean problems %s, same %s\n%s" % (name, rc, probs, same, text))
        print("  %-13s %-4s killed at %s #%d; %d rows kept; rerun %s" % (
            name, "ok" if ok else "FAIL", phase, k, max(kept, 0), "identical" if same else "DIFFERENT"),
            flush=True)
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
