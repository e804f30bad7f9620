#!/usr/bin/python3
"""test_claim.py BINARY [--keep] [--work DIR] [--only CASE ...]

Two runs on one output (issue 16, README "When the same output is used
twice"): the first run holds an exclusive claim; a second run on the same
output exits 2 before touching anything, naming the output and the holder
(host, pid, SLURM job); the holder finishes and its outputs equal an
uninterrupted crawl (compare_outputs.py --rows-as-sets) with no claim file
left.  The first run is slowed in a phase with the test hooks (DCMCRAWL_SLOW,
DCMCRAWL_TRACE, include/dc_hook.h) and frozen there (SIGSTOP of every rank: a
stopped process on this host is alive, so its claim holds) while the second
runs, then continued (SIGCONT).  Cases:

  together_np1 / together_np2   both started at the same moment (both slow
                                 in the walk): exactly one runs, one exits 2
  walk_np2      the second starts while the first (2 ranks) walks; the
                first has SLURM array variables set: the message names its job;
                a --dry-run meanwhile exits 0 with a note that a run holds it
  header_np1    ... during the header pass (second run at 2 ranks)
  ckpt_np1      ... during the second checkpoint (its index written, before the
                rename); `dcmcrawl pack` of the first checkpoint's index meanwhile
                packs with a note (second run: one rank, an MPI singleton)
  ckpt_np2      ... during the second checkpoint (2 ranks closing its segment)
  killed        the holder (2 ranks) SIGKILLed during slice writes: the claim
                file stays; the same command takes it over (the log says so,
                naming the dead pid) and finishes identical to the reference
  other_host    a live holder on "another host" (DCMCRAWL_CLAIM_HOST, lease 3 s):
                only its lease counts (its pid is not looked at); the second run
                watches the claim, sees it renewed and exits 2 (also after more
                than a lease); then the holder is frozen (SIGSTOP, as a lost
                node): a run watching it stops at once on SIGTERM (exit 3);
                the next run waits until the lease has run out (its
                start-up repair, traced, begins only then), takes the claim
                over with a warning and its outputs equal the reference
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "kill"))
import kcommon as K  # noqa: E402

RUN_ID = "cl"
HOST = socket.gethostname()
SCALE = 3.0 if os.environ.get("DCMCRAWL_ASAN") == "1" else 1.0


def hold(phase, ms):
    """DCMCRAWL_SLOW text holding `phase` for ms (times 3 under AddressSanitizer)"""
    return "%s:%d" % (phase, ms * SCALE)


class Case:
    def __init__(self, name, problems):
        self.name = name
        self.problems = problems
        self.ok = True
        self.notes = []

    def check(self, cond, what, detail=""):
        if not cond:
            self.ok = False
            tail = ("\n" + detail[-1500:]) if detail else ""
            self.problems.append("%s: %s%s" % (self.name, what, tail))
        return cond


def claim_path(work):
    return os.path.join(work, "out", "dcmcrawl_claim_%s.txt" % RUN_ID)


def refused_message_ok(c, log, pid, host=HOST, job=None):
    want = "output id '%s' in out is in use by another dcmcrawl run (host %s, pid %d, started " % (
        RUN_ID, host, pid)
    c.check(want in log, "the refusal does not name the output and holder: %r" % want, log)
    c.check("Claim file: out/dcmcrawl_claim_%s.txt" % RUN_ID in log, "the refusal does not name "
            "the claim file", log)
    if job:
        c.check(job in log, "the refusal does not name the SLURM job %r" % job, log)


def finish_and_compare(c, j, ref, work, want_rc=0):
    rc = j.wait(timeout=180 * SCALE)
    c.check(rc == want_rc, "the holder exited %s, expected %d" % (rc, want_rc), j.output())
    c.check(not j.leftover, "ranks left running: %s" % j.leftover)
    same, text = K.compare(ref, os.path.join(work, "out"))
    c.check(same, "outputs differ from the uninterrupted crawl", text)
    probs = K.check_clean(os.path.join(work, "out"), RUN_ID)
    c.check(not probs, "outputs not clean: %s" % probs)
    c.check(not os.path.exists(claim_path(work)), "the claim file is left after the run")
    leftovers = [n for n in os.listdir(os.path.join(work, "out")) if n.startswith("dcmcrawl_claim")]
    c.check(not leftovers, "claim temp files left: %s" % leftovers)


def second_run(binary, work, cfg, np_, name, env=None, extra=()):
    """The second run: one rank runs as an MPI singleton (no mpirun, which takes 2 s more
    to exit when a rank exits non-zero), two under mpirun."""
    t0 = time.time()
    if np_ == 1:
        e = dict(os.environ)
        e.update(env or {})
        for k in ("DCMCRAWL_TRACE", "DCMCRAWL_SLOW"):
            e.pop(k, None)
        r = subprocess.run([binary, cfg] + list(extra), cwd=work, env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=300)
        rc, log = r.returncode, r.stdout
        with open(os.path.join(work, "log_%s_second.txt" % name), "w") as fh:
            fh.write(log)
    else:
        rc, log = K.run(binary, work, [cfg] + list(extra), np=np_, env=env,
                        log=os.path.join(work, "log_%s_second.txt" % name))
    return rc, log, time.time() - t0


def held_in_phase(c, binary, work, cfg, ref, np_a, np_b, phase, k, env=None, job=None,
                  also=None):
    """A holds the claim in `phase` (#k): slowed there (hook), then frozen with SIGSTOP on
    every rank for as long as the checks take (a frozen process on this host is alive:
    its claim holds whatever the time; no timing assumption).  B on the same output
    must exit 2 and change nothing; A, continued, finishes as an uninterrupted crawl."""
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
    j = K.Job(binary, work, [cfg], np=np_a, trace=os.path.join(work, "trace_" + c.name),
              slow="%s:300" % phase, env=env, log=os.path.join(work, "log_%s_first.txt" % c.name))
    ln = j.wait_for(lambda x: x[2] == phase and x[3] >= k and x[0] == 0)
    if not c.check(ln is not None, "the first run never reached %s #%d" % (phase, k), j.output()):
        j.kill_all()
        j.wait()
        return
    pids = j.pids()
    holder = pids[0]
    for pid in pids.values():
        os.kill(pid, signal.SIGSTOP)
    try:
        if also:  # read-only users meanwhile
            also(c, j)
        before = snapshot(work)
        rc, log, secs = second_run(binary, work, cfg, np_b, c.name)
        c.check(rc == 2, "the second run exited %s, expected 2" % rc, log)
        refused_message_ok(c, log, holder, job=job)
        c.check(snapshot(work) == before, "the second run changed the outputs")
        c.notes.append("second run (np %d) refused in %.2f s" % (np_b, secs))
    finally:
        for pid in pids.values():
            os.kill(pid, signal.SIGCONT)
    finish_and_compare(c, j, ref, work)


def snapshot(work):
    """names, sizes and mtimes of everything under out/ except the claim file (which the
    holder renews)"""
    out = {}
    base = os.path.join(work, "out")
    for d, _, files in os.walk(base):
        for n in files:
            if n.startswith("dcmcrawl_claim"):
                continue
            p = os.path.join(d, n)
            try:
                st = os.stat(p)
                out[os.path.relpath(p, base)] = (st.st_size, st.st_mtime_ns)
            except FileNotFoundError:
                pass
    return out


def case_together(c, binary, work, cfg, ref, np_):
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
    jobs = [K.Job(binary, work, [cfg], np=np_, slow=hold("walk", 2500), trace=os.path.join(
        work, "trace_%s_%d" % (c.name, i)), log=os.path.join(work, "log_%s_%d.txt" % (c.name, i)))
        for i in range(2)]
    rcs = [j.wait(timeout=180 * SCALE) for j in jobs]
    c.check(sorted(rcs) == [0, 2], "exit statuses %s, expected one 0 and one 2" % rcs,
            jobs[0].output() + jobs[1].output())
    if sorted(rcs) == [0, 2]:
        winner = jobs[rcs.index(0)]
        refused_message_ok(c, jobs[rcs.index(2)].output(), winner.pids()[0])
        loser_phases = set(x[2] for x in jobs[rcs.index(2)].lines())
        c.check("repair" not in loser_phases and "walk" not in loser_phases,
                "the refused run went on to %s" % sorted(loser_phases))
    same, text = K.compare(ref, os.path.join(work, "out"))
    c.check(same, "outputs differ from the uninterrupted crawl", text)
    c.check(not os.path.exists(claim_path(work)), "the claim file is left after the runs")


def dry_run_note(binary, work, cfg):
    def check(c, j):
        r = subprocess.run([binary, cfg, "--dry-run"], cwd=work,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        c.check(r.returncode == 0, "--dry-run exited %s" % r.returncode, r.stderr)
        c.check("note: a run holds the claim on these outputs (host %s, pid %d" % (
            HOST, j.pids()[0]) in r.stderr and "this dry run does not claim them" in r.stderr,
            "--dry-run did not note the holder", r.stderr)
        c.check("# dry run:" in r.stdout, "--dry-run printed no plan", r.stdout)
    return check


def pack_note(binary, work):
    def check(c, j):
        packed = os.path.join(work, "packed_%s.h5" % c.name)
        r = subprocess.run([binary, "pack", "out/pixel_data_%s.h5" % RUN_ID, packed], cwd=work,
                           stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        c.check(r.returncode == 0, "pack exited %s" % r.returncode, r.stderr)
        c.check("note: a run holds the claim on these outputs (host %s, pid %d" % (
            HOST, j.pids()[0]) in r.stderr and "pack reads them without claiming them" in r.stderr,
            "pack did not note the holder", r.stderr)
        if os.path.exists(packed):
            import h5py
            with h5py.File(packed, "r") as f:
                c.check(len(f.keys()) > 0, "the packed file holds no dataset")
    return check


def case_killed(c, binary, work, cfg, ref):
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
    j = K.Job(binary, work, [cfg], np=2, trace=os.path.join(work, "trace_" + c.name),
              slow=hold("pixels", 30), log=os.path.join(work, "log_%s_first.txt" % c.name))
    ln = j.wait_for(lambda x: x[2] == "pixels" and x[3] >= 20)
    if not c.check(ln is not None, "the first run never reached pixels #20", j.output()):
        j.kill_all()
        j.wait()
        return
    holder = j.pids()[0]
    j.kill_all()
    j.wait()
    c.check(os.path.exists(claim_path(work)), "no claim file after the SIGKILL")
    rc, log, secs = second_run(binary, work, cfg, 2, c.name)
    c.check(rc == 0, "the rerun exited %s" % rc, log)
    c.check("took over a stale claim (host %s, pid %d, started " % (HOST, holder) in log and
            "its process is gone" in log, "the rerun did not say it took over the dead pid's "
            "claim", log)
    same, text = K.compare(ref, os.path.join(work, "out"))
    c.check(same, "outputs differ from the uninterrupted crawl", text)
    c.check(not K.check_clean(os.path.join(work, "out"), RUN_ID), "outputs not clean")
    c.check(not os.path.exists(claim_path(work)), "the claim file is left after the rerun")


def claim_age(work):
    return time.time() - os.stat(claim_path(work)).st_mtime


def case_other_host(c, binary, work, cfg, ref):
    lease = 3
    other = "elsewhere.invalid"
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
    j = K.Job(binary, work, [cfg, "--set", "run.claim_lease_seconds=%d" % lease], np=1,
              trace=os.path.join(work, "trace_" + c.name), slow="walk:120000",
              env={"DCMCRAWL_CLAIM_HOST": other},
              log=os.path.join(work, "log_%s_first.txt" % c.name))
    ln = j.wait_for(lambda x: x[2] == "walk")
    if not c.check(ln is not None, "the holder never reached the walk", j.output()):
        j.kill_all()
        j.wait()
        return
    holder = j.pids()[0]
    try:
        # the holder's pid is alive on this machine, but it is "another host": only its
        # lease counts; the second run watches the claim, sees it renewed, exits 2
        rc, log, secs = second_run(binary, work, cfg, 1, c.name + "_a")
        c.check(rc == 2, "refused at once: exit %s, expected 2" % rc, log)
        refused_message_ok(c, log, holder, host=other)
        c.check("watching up to" in log, "the second run did not say it watches the claim", log)
        c.notes.append("live holder seen renewing after %.1f s" % secs)
        # more than a lease later, still held: the holder renews it
        time.sleep(lease + 1)
        age = claim_age(work)
        c.check(age < lease, "the holder did not renew its claim (mtime %.1f s old)" % age)
        rc, log, _ = second_run(binary, work, cfg, 1, c.name + "_b")
        c.check(rc == 2, "refused while renewed: exit %s, expected 2" % rc, log)
        # the holder freezes (a lost node): the next run waits until the lease has run
        # out (its header pass, traced, starts only then), then takes the claim over
        os.kill(holder, signal.SIGSTOP)
        time.sleep(0.2)
        last_renewal = os.stat(claim_path(work)).st_mtime
        # a run watching the claim stops at once on SIGTERM (exit 3), touching nothing
        p = subprocess.Popen([binary, cfg], cwd=work, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        head = ""
        while "watching up to" not in head:
            line = p.stdout.readline()
            if not line:
                break
            head += line
        t_term = time.time()
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=30)
        out = head + out
        c.check(p.returncode == 3 and "stopped by a signal while waiting for the claim" in out,
                "SIGTERM while watching: exit %s, expected 3 with a message" % p.returncode, out)
        c.check(time.time() - t_term < 10 * SCALE, "SIGTERM while watching took %.1f s" % (
            time.time() - t_term))
        trace = os.path.join(work, "trace_%s_c" % c.name)
        rc, log = K.run(binary, work, [cfg], np=2, trace=trace,
                        log=os.path.join(work, "log_%s_c.txt" % c.name))
        c.check(rc == 0, "after the lease expired: exit %s, expected 0" % rc, log)
        c.check("took over a stale claim (host %s, pid %d, started " % (other, holder) in log and
                "its lease expired" in log, "no takeover warning naming the other host", log)
        t_repair = [float(ln.split()[4]) for ln in open(trace) if ln.split()[2:3] == ["repair"]]
        c.check(t_repair and min(t_repair) > last_renewal + lease, "the claim was taken over "
                "before its lease ran out (%s s after the last renewal)" % (
                    "%.1f" % (min(t_repair) - last_renewal) if t_repair else "never"))
        if t_repair:
            c.notes.append("frozen holder's claim taken over %.1f s after its last renewal "
                           "(lease %d s)" % (min(t_repair) - last_renewal, lease))
        same, text = K.compare(ref, os.path.join(work, "out"))
        c.check(same, "outputs differ from the uninterrupted crawl", text)
        c.check(not os.path.exists(claim_path(work)), "the claim file is left after the run")
    finally:
        j.kill_all()
        j.wait()


def main():
    args, binary, work = K.test_args(__doc__, "dcmcrawl_claim_")
    t_start = time.time()
    folders = K.make_corpus(work, ct=(2, 3, 12, 64), synthetic=False)
    cfg = os.path.join(work, "claim.yaml")
    K.write_config(cfg, folders, "out", RUN_ID, volumes=True, commit_every=3)  # 2 checkpoints
    problems = []
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
    rc, log = K.run(binary, work, [cfg], np=1, log=os.path.join(work, "log_ref.txt"))
    if rc != 0:
        print("test_claim: FAIL: the reference run exited %s\n%s" % (rc, log[-2000:]))
        return 1
    ref = os.path.join(work, "ref")
    shutil.rmtree(ref, ignore_errors=True)
    os.rename(os.path.join(work, "out"), ref)
    slurm = {"SLURM_JOB_ID": "4711", "SLURM_ARRAY_JOB_ID": "4700", "SLURM_ARRAY_TASK_ID": "3"}

    cases = [
        ("together_np1", lambda c: case_together(c, binary, work, cfg, ref, 1)),
        ("together_np2", lambda c: case_together(c, binary, work, cfg, ref, 2)),
        ("walk_np2", lambda c: held_in_phase(c, binary, work, cfg, ref, 2, 1, "walk", 1,
                                             env=slurm, job="SLURM job 4711 (array 4700_3)",
                                             also=dry_run_note(binary, work, cfg))),
        ("header_np1", lambda c: held_in_phase(c, binary, work, cfg, ref, 1, 2, "header", 1)),
        ("ckpt_np1", lambda c: held_in_phase(c, binary, work, cfg, ref, 1, 1, "index", 2,
                                             also=pack_note(binary, work))),
        ("ckpt_np2", lambda c: held_in_phase(c, binary, work, cfg, ref, 2, 2, "close", 2)),
        ("killed", lambda c: case_killed(c, binary, work, cfg, ref)),
        ("other_host", lambda c: case_other_host(c, binary, work, cfg, ref)),
    ]
    for name, fn in cases:
        if args.only and name not in args.only:
            continue
        t0 = time.time()
        c = Case(name, problems)
        fn(c)
        print("  %-13s %-4s %.1f s  %s" % (name, "ok" if c.ok else "FAIL", time.time() - t0,
                                          "; ".join(c.notes)), flush=True)
    return K.finish("test_claim", problems, t_start, args, work)


if __name__ == "__main__":
    sys.exit(main())
