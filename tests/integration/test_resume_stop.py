#!/usr/bin/python3
"""test_resume_stop.py BINARY [--keep] [--work DIR] [--only CASE ...]

SIGTERM/SIGINT: every rank stops within seconds at a clean checkpoint, exits 3,
and the same command finishes the crawl with outputs equal to an
uninterrupted run (SPEC 1 and 7).

The runs use the test hooks (include/dc_hook.h): DCMCRAWL_SLOW makes a phase slow
so that the signal lands in it, DCMCRAWL_TRACE tells when it started and
when the ranks agreed to stop.  Cases:

  rank1_pixels   TERM to rank 1 only, during slice writes made slow (0.4 s per
                 slice: a CT series of 16 slices takes 6 s), with one batch holding every
                 scan (commit_every 1000: the batch would take minutes); rank 0
                 learns of it from rank 1's notice; both must stop between
                 slices, not at the end of a scan or of the batch
  all_gzip       TERM to every rank (what the jobs/ scripts and SLURM do) during
                 the compressed writes (one scan per file, gzip; each owner
                 writes its slices into its segment part)
  int_rank0      SIGINT to rank 0 during dataset creation
  walk           TERM to rank 1 while rank 0 walks the folders (made slow per
                 directory): rank 1 waits polling, notifies rank 0, whose
                 walk stops at the next directory: exit 3, nothing written
  header         TERM to rank 1 during the header pass: exit 3, nothing written
  mpirun         TERM to mpirun itself (a user's kill, Ctrl-C, SLURM's time
                 limit): Open MPI 4.1's mpirun sends its ranks SIGCONT at once,
                 SIGTERM 1 s later and SIGKILL 1 s after that, and exits 1
                 whatever they return (its signal handler sets the status
                 first).  The ranks must still stop cleanly within that 1 s.
  slurm_limit    TERM to mpirun and every rank at once (SLURM at the time limit
                 signals every process of the job): the ranks stop at once,
                 mpirun exits 1 as above.

For each: exit status (3; mpirun case: the ranks' own status 3 is reported in
their last log line, mpirun's is 1), time from the signal to the end of
mpirun and to the ranks' agreement, the outputs are clean (the index opens and
lists exactly the metadata rows, CSVs parse to the end with no torn tail, no
temp file, no unreferenced segment), then the same command exits 0 and the
outputs equal the uninterrupted run (compare_outputs.py --rows-as-sets).
"""
import os
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "kill"))
import kcommon as K  # noqa: E402

# under AddressSanitizer (make asan: DCMCRAWL_ASAN=1) everything is 3x slower and the
# leak check at exit takes seconds
SCALE = 3.0 if os.environ.get("DCMCRAWL_ASAN") == "1" else 1.0
STOP_LIMIT = 5.0 * SCALE  # seconds from the signal to mpirun's end
AGREE_LIMIT = 2.0 * SCALE  # seconds from the signal to the ranks' agreement (+1 s via mpirun)


def main():
    args, binary, work = K.test_args(__doc__, "dcmcrawl_stop_")
    t_start = time.time()
    folders = K.make_corpus(work)
    problems = []
    lines = []

    cases = [
        # name, config, signal target, signal, phase, k, slow
        ("rank1_pixels", dict(volumes=True, commit_every=1000, only_ct=True), "rank1",
         signal.SIGTERM, "pixels", 4, "pixels:400"),
        ("all_gzip", dict(volumes=False, compression="gzip:1", commit_every=1000), "all",
         signal.SIGTERM, "pixels", 30, "pixels:20"),
        ("int_rank0", dict(volumes=True, commit_every=4), "rank0", signal.SIGINT, "create", 30,
         "create:40"),
        ("walk", dict(volumes=True, commit_every=4), "rank1", signal.SIGTERM, "walkdir", 2,
         "walkdir:700"),
        ("header", dict(volumes=True, commit_every=4), "rank1", signal.SIGTERM, "header", 1,
         "header:1500"),
        ("mpirun", dict(volumes=True, commit_every=3), "mpirun", signal.SIGTERM, "pixels", 60,
         "pixels:20"),
        ("slurm_limit", dict(volumes=True, commit_every=3), "everyone", signal.SIGTERM, "pixels",
         60, "pixels:20"),
    ]
    refs = {}
    for name, cfgd, target, sig, phase, k, slow in cases:
        if args.only and name not in args.only:
            continue
        cfg = os.path.join(work, "cfg_%s.yaml" % name)
        cfgd = dict(cfgd)
        fl = [f for f in folders if f.startswith("ct/")] if cfgd.pop("only_ct", False) else folders
        K.write_config(cfg, fl, "out", "stop", **cfgd)
        key = (tuple(fl), tuple(sorted(cfgd.items())))
        # uninterrupted reference (same config file: its text is a file attribute)
        if key not in refs:
            shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
            rc, out = K.run(binary, work, [cfg], log=os.path.join(work, "log_ref_%s.txt" % name))
            if rc != 0:
                problems.append("%s: reference run exited %s" % (name, rc))
                continue
            ref = os.path.join(work, "ref_%d" % len(refs))
            shutil.rmtree(ref, ignore_errors=True)
            os.rename(os.path.join(work, "out"), ref)
            refs[key] = ref
        ref = refs[key]
        shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
        j = K.Job(binary, work, [cfg], trace=os.path.join(work, "trace_" + name), slow=slow,
                  log=os.path.join(work, "log_%s.txt" % name))
        # the walk runs on rank 0 alone: its trace lines come from rank 0
        ln = j.wait_for(lambda x: x[2] == phase and x[3] >= k and
                        (target != "rank1" or x[0] == 1 or phase == "walkdir") and
                        (target != "rank0" or x[0] == 0))
        if ln is None:
            problems.append("%s: the run never reached %s #%d" % (name, phase, k))
            j.wait()
            continue
        time.sleep(0.05)
        t_sig = time.time()
        if target == "mpirun":
            j.signal_mpirun(sig)
        elif target == "everyone":  # SLURM's time limit: every process of the job
            for r in sorted(j.pids()):
                j.signal_rank(r, sig)
            j.signal_mpirun(sig)
        elif target == "all":
            for r in sorted(j.pids()):
                j.signal_rank(r, sig)
        else:
            j.signal_rank(1 if target == "rank1" else 0, sig)
        rc = j.wait(timeout=120)
        t_end = time.time() - t_sig
        stops = [x for x in j.lines() if x[2] == "stop"]
        t_agree = (min(x[4] for x in stops) - t_sig) if stops else None
        log = j.output()
        want_rc = 1 if target in ("mpirun", "everyone") else 3
        ok = True
        if rc != want_rc:
            problems.append("%s: mpirun exited %s, expected %d\n%s" % (name, rc, want_rc, log[-1500:]))
            ok = False
        if "stopped at a checkpoint" not in log and "stopped" not in log:
            problems.append("%s: no 'stopped' summary in the log" % name)
            ok = False
        if t_end > STOP_LIMIT:
            problems.append("%s: %.1f s from the signal to the end (limit %.0f s)" % (
                name, t_end, STOP_LIMIT))
            ok = False
        limit = AGREE_LIMIT + (1 if target == "mpirun" else 0)
        if name != "header" and (t_agree is None or t_agree > limit):
            problems.append("%s: the ranks agreed to stop %s s after the signal (limit %.0f s)" % (
                name, "never" if t_agree is None else "%.2f" % t_agree, limit))
            ok = False
        if j.leftover:
            problems.append("%s: ranks still running: %s" % (name, j.leftover))
        if target in ("mpirun", "everyone") and "SIGTERM received" not in log:
            problems.append("%s: the ranks did not get SIGTERM from mpirun" % name)
        probs = K.check_clean(os.path.join(work, "out"), "stop")
        if probs:
            problems.append("%s: outputs not clean after the stop: %s" % (name, probs))
            ok = False
        n_rows = 0
        mp = os.path.join(work, "out", "metadata_stop.csv")
        if os.path.exists(mp):
            n_rows = len(K.csv_rows(mp)) - 1
        if name == "header" and os.path.exists(os.path.join(work, "out", "pixel_data_stop.h5")):
            problems.append("%s: a stop in the header pass wrote pixel data" % name)
        # the same command finishes the crawl
        rc2, out2 = K.run(binary, work, [cfg], log=os.path.join(work, "log_%s_rerun.txt" % name))
        same, text = K.compare(ref, os.path.join(work, "out"))
        if rc2 != 0:
            problems.append("%s: the rerun exited %s" % (name, rc2))
            ok = False
        elif not same:
            problems.append("%s: after the rerun the outputs differ from the uninterrupted run:\n%s"
                            % (name, text))
            ok = False
        probs = K.check_clean(os.path.join(work, "out"), "stop")
        if probs:
            problems.append("%s: outputs not clean after the rerun: %s" % (name, probs))
            ok = False
        lines.append("  %-13s %-7s %s to %s at %s #%d: mpirun exit %s after %.2f s, ranks agreed "
                     "after %s; %d rows committed; rerun %s" % (
                         name, "ok" if ok else "FAIL", signal.Signals(sig).name, target, phase, k,
                         rc, t_end, "%.2f s" % t_agree if t_agree is not None else "-", n_rows,
                         "identical" if same and rc2 == 0 else "DIFFERENT"))
        print(lines[-1], flush=True)

    print()
    for p in problems:
        print("  problem: " + p)
    print("test_resume_stop: %s in %.0fs" % ("FAIL" if problems else "PASS", time.time() - t_start))
    if not problems and not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
