#!/usr/bin/python3
"""kill_test.py BINARY [--mode quick|full] [--trials N] [--np N] [--seed S] [--keep]
                       [--work DIR] [--only whole|rank]

SIGKILL at random moments, then the same command again: the final outputs
must equal those of an uninterrupted run (SPEC 7, issue 7).

Corpus: the synthetic corpus (tests/gen/make_series.py: every kind of series,
unreadable files, many private tags so the metadata header widens during the
run) plus plain CT series.  Two configs, alternating between trials:
  A  volumes, uncompressed (independent slice writes), commit_every 2
  B  one scan per file, gzip:1 (compressed writes), commit_every 5

A trial: fresh output folder; run with the test hooks on (DCMCRAWL_TRACE;
DCMCRAWL_SLOW slows the phase aimed at, see include/dc_hook.h); when the trace
shows the k-th start of the phase aimed at (k random, up to the count in the
reference run), wait a random part of that phase's slowed time and SIGKILL:

  whole  every rank and mpirun at once
  rank   one rank (rank 1): mpirun must end the job by itself (Open MPI
         aborts a job when a rank dies: SIGCONT, SIGTERM 1 s later, SIGKILL
         1 s after that); the test fails if it is not over in 30 s

Phases aimed at, in turn: walk, header, create (dataset creation), pixels
(slice writes, compressed ones in B), close (segment close and
fsync), index (new index written, before its rename), rows (CSV appends),
rewrite (the metadata CSV rewritten with a wider header), repair (a second
kill, during the start-up repair of the first kill's leftovers), any (a random
time).  Then the same command runs to the end (exit 0), and:
  - the outputs are clean (index opens and lists exactly the metadata rows,
    CSVs parse with no torn tail, no temp files, no unreferenced segments);
  - compare_outputs.py --rows-as-sets finds them equal to the reference run's
    (same datasets, dtypes, shapes, voxels, attributes; same CSV header and the
    same rows, each exactly once).

quick (make test): 6 whole-job and 3 single-rank trials; full: 20 + 20.
Prints one line per trial and a summary "N of N identical"; exit 1 on any
difference, hang or unclean output.
"""
import argparse
import collections
import os
import random
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kcommon as K  # noqa: E402

PHASES = ["walk", "header", "create", "pixels", "close", "index", "rows", "rewrite", "repair",
          "any"]
SLOW_MS = {"walk": 150, "header": 150, "create": 8, "pixels": 4, "collective": 4, "close": 25,
           "index": 25, "rows": 25, "rewrite": 40, "repair": 120, "group": 100}
CONFIGS = {"A": dict(volumes=True, compression="none", commit_every=2),
           "B": dict(volumes=False, compression="gzip:1", commit_every=5)}


def reference(binary, work, folders, np):
    """Uninterrupted run per config: outputs and per-phase counts of rank 0 and 1."""
    refs = {}
    for name, c in CONFIGS.items():
        # the same config file as the trials (the config text is a file attribute)
        out = "ref_" + name
        shutil.rmtree(os.path.join(work, out), ignore_errors=True)
        shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
        cfg = os.path.join(work, "cfg_%s.yaml" % name)
        K.write_config(cfg, folders, "out", "kill", **c)
        j = K.Job(binary, work, [cfg], np=np, trace=os.path.join(work, "trace_ref_" + name),
                  log=os.path.join(work, "log_ref_%s.txt" % name))
        rc = j.wait()
        counts = collections.Counter((ln[0], ln[2]) for ln in j.lines())
        if rc != 0:
            print(j.output()[-3000:])
            raise SystemExit("kill_test: FAIL: reference run %s exited %s" % (name, rc))
        probs = K.check_clean(os.path.join(work, "out"), "kill")
        if probs:
            raise SystemExit("kill_test: FAIL: reference %s not clean: %s" % (name, probs))
        os.rename(os.path.join(work, "out"), os.path.join(work, out))
        refs[name] = (cfg, out, counts)
    return refs


def pick_target(rng, phase, cfgname, counts, np):
    """(phase, rank whose trace line triggers, k, delay seconds)"""
    if phase == "pixels" and cfgname == "B" and counts.get((0, "collective")):
        phase = "collective"  # compressed datasets written collectively (shared segments)
    if phase in ("walk", "group", "index", "rewrite", "repair"):
        rank = 0
    else:
        rank = rng.randrange(np)
    n = counts.get((rank, phase), 0)
    if n == 0:
        rank = 0
        n = counts.get((0, phase), 1)
    k = rng.randint(1, max(1, n))
    delay = rng.uniform(0, SLOW_MS.get(phase, 20) / 1000.0 * 1.3)
    return phase, rank, k, delay


def one_kill(binary, work, cfg, np, trial, what, phase, rank, k, delay, rng, rep, label):
    """Run with the phase slowed, kill at the target; returns a description or None when
    the run ended before the target was reached."""
    slow = "%s:%d" % (phase, SLOW_MS.get(phase, 20)) if phase != "any" else None
    j = K.Job(binary, work, [cfg], np=np, trace=os.path.join(work, "trace_%d_%s" % (trial, label)),
              slow=slow, log=os.path.join(work, "log_%d_%s.txt" % (trial, label)))
    if phase == "any":
        ln = j.wait_for(lambda x: x[2] == "start")
        time.sleep(rng.uniform(0, 1.5))
        hit = j.p.poll() is None
    else:
        ln = j.wait_for(lambda x: x[0] == rank and x[2] == phase and x[3] >= k)
        hit = ln is not None
        if hit:
            time.sleep(delay)
    t_kill = time.time()
    if what == "whole":
        j.kill_all()
    else:
        j.signal_rank(1, signal.SIGKILL)
    rc = j.wait(timeout=60)
    t_end = time.time() - t_kill
    # where the ranks were: last trace line of each
    last = {}
    for ln in j.lines():
        last[ln[0]] = "%s#%d" % (ln[2], ln[3])
    desc = "%s killed at %s (rank %d, #%d, +%.0f ms); last phases %s; mpirun exit %s after %.1fs" % (
        "job" if what == "whole" else "rank 1", phase, rank, k, delay * 1000,
        ",".join("%d:%s" % kv for kv in sorted(last.items())), rc, t_end)
    if what == "rank":
        if rc == "timeout" or t_end > 30:
            rep.append("trial %d: mpirun did not end the job within 30 s after rank 1 died" % trial)
        if j.leftover:
            rep.append("trial %d: ranks still running after mpirun ended: %s" % (trial, j.leftover))
    if rc == 0:
        return None  # finished before the kill landed
    return desc


def trial(binary, work, refs, np, i, what, rng, problems):
    cfgname = "A" if i % 2 == 0 else "B"
    cfg, refout, counts = refs[cfgname]
    phase = PHASES[i % len(PHASES)]
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    tcfg = cfg  # the reference's config: same folders, output folder and id
    descs = []
    first_phase = "pixels" if phase == "repair" else phase
    ph, rank, k, delay = pick_target(rng, first_phase, cfgname, counts, np)
    d = one_kill(binary, work, tcfg, np, i, what, ph, rank, k, delay, rng, problems, "a")
    if d is None:
        return "missed (the run ended before the kill)", None
    descs.append(d)
    if phase == "repair":
        # kill again, this time during the start-up repair of the first kill's leftovers
        d = one_kill(binary, work, tcfg, np, i, what, "repair", 0, 1,
                     rng.uniform(0, SLOW_MS["repair"] / 1000.0 * 1.5), rng, problems, "b")
        descs.append(d or "second run ended before the kill")
    # the same command again, to the end
    j = K.Job(binary, work, [tcfg], np=np, log=os.path.join(work, "log_%d_final.txt" % i))
    rc = j.wait(timeout=300)
    log = j.output()
    repaired = [ln.split("repaired: ", 1)[1][:90] for ln in log.splitlines() if "repaired:" in ln]
    cut = [ln for ln in log.splitlines() if "incomplete row" in ln]
    if rc != 0:
        problems.append("trial %d: rerun exited %s:\n%s" % (i, rc, log[-2000:]))
        return "; ".join(descs), "RERUN FAILED"
    probs = K.check_clean(out, "kill")
    same, text = K.compare(os.path.join(work, refout), out)
    if probs:
        problems.append("trial %d: outputs not clean after the rerun: %s" % (i, probs))
    if not same:
        problems.append("trial %d: outputs differ from the uninterrupted run:\n%s" % (i, text))
        keep = os.path.join(work, "failed_%d" % i)
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(out, keep)
    notes = []
    if repaired or cut:
        notes.append("repairs: %d" % (len(repaired) + len(cut)))
    status = "identical" if same and not probs else "DIFFERENT" if not same else "NOT CLEAN"
    return "; ".join(descs) + ("; " + ", ".join(notes) if notes else ""), status


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--mode", choices=("quick", "full"), default="quick")
    ap.add_argument("--trials", type=int, help="trials per kind (default: quick 6+3, full 20+20)")
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("KILL_SEED", "7")))
    ap.add_argument("--only", choices=("whole", "rank"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--work")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        print("kill_test: FAIL: binary %s not found" % binary)
        return 2
    work = args.work or tempfile.mkdtemp(prefix="dcmcrawl_kill_")
    os.makedirs(work, exist_ok=True)
    rng = random.Random(args.seed)
    t0 = time.time()
    folders = K.make_corpus(work)
    refs = reference(binary, work, folders, args.np)
    n_whole = args.trials or (6 if args.mode == "quick" else 20)
    n_rank = args.trials or (3 if args.mode == "quick" else 20)
    if args.only == "whole":
        n_rank = 0
    if args.only == "rank":
        n_whole = 0
    problems = []
    results = {"whole": [0, 0, 0], "rank": [0, 0, 0]}  # identical, landed, missed
    print("kill_test: work dir %s, %d ranks, seed %d, %s mode" % (work, args.np, args.seed, args.mode))
    plan = [("whole", i) for i in range(n_whole)] + [("rank", i) for i in range(n_rank)]
    for what, i in plan:
        tries = 0
        while True:
            desc, ok = trial(binary, work, refs, args.np, i, what, rng, problems)
            if ok is not None or tries >= 3:
                break
            tries += 1  # the kill came too late: try again with other random choices
        if ok is None:
            results[what][2] += 1
            print("  %-5s %2d: MISSED: %s" % (what, i + 1, desc))
            continue
        results[what][1] += 1
        results[what][0] += 1 if ok == "identical" else 0
        print("  %-5s %2d: %s: %s" % (what, i + 1, ok, desc), flush=True)
    print()
    for p in problems:
        print("  problem: " + p)
    failed = bool(problems)
    for what in ("whole", "rank"):
        ident, landed, missed = results[what]
        if landed or missed:
            print("kill_test: %s: %d of %d identical to the uninterrupted run%s" % (
                "SIGKILL of the whole job" if what == "whole" else "SIGKILL of rank 1",
                ident, landed, " (%d kills came after the end)" % missed if missed else ""))
            if ident != landed or missed:
                failed = True
    print("kill_test: %s in %.0fs" % ("FAIL" if failed else "PASS", time.time() - t0))
    if not failed and not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
