#!/usr/bin/python3
"""bench_resume.py - what a resume costs rank 0 (issue 11): a per-file metadata crawl
of the archive-scale corpus (tests/bench/bench_archive.py's, whole folders of 500) is
killed after HALF of its windows; then, from copies of that state, each binary given
resumes it: seconds from start until the first new row is durable (the metadata CSV
grows), and rank 0's peak RSS (VmHWM) at that moment; the job is killed there.

usage: bench_resume.py CORPUS WORK ROUNDS BINARY [BINARY...]
       (env FILES: files to crawl, whole folders, default all; WINDOWS: windows
       before the kill, default half)
The halfway state is made with the first binary.  Results: one line per run, then
median (min-max) per binary.
"""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

from benchlib import write_metadata_cfg

CORPUS, WORK, ROUNDS = sys.argv[1], sys.argv[2], int(sys.argv[3])
BINS = sys.argv[4:]
FILES = int(os.environ.get("FILES", "1000000"))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def write_cfg(path, out):
    write_metadata_cfg(path, out, CORPUS, FILES)


def trace_lines(trace):
    out = []
    if os.path.exists(trace):
        for ln in open(trace):
            f = ln.split()
            if len(f) == 5 and ln.endswith("\n"):
                out.append((int(f[0]), int(f[1]), f[2], int(f[3])))
    return out


def start(binary, cfg, trace, log):
    if os.path.exists(trace):
        os.unlink(trace)
    env = dict(ENV, DCMCRAWL_TRACE=trace)
    return subprocess.Popen(["mpirun", "-np", "2", "-x", "DCMCRAWL_TRACE", binary, cfg], env=env,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill(p, trace):
    for _, pid, _, _ in trace_lines(trace):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def hwm_mib(pid):
    for ln in open("/proc/%d/status" % pid):
        if ln.startswith("VmHWM:"):
            return int(ln.split()[1]) / 1024.0
    return float("nan")


def make_half(cfg, windows):
    out = os.path.join(WORK, "half")
    shutil.rmtree(out, ignore_errors=True)
    trace = os.path.join(WORK, "trace_half")
    p = start(BINS[0], cfg, trace, os.path.join(WORK, "log_half"))
    while p.poll() is None:
        if sum(1 for r, _, ph, _ in trace_lines(trace) if r == 0 and ph == "header") > windows:
            break
        time.sleep(0.2)
    kill(p, trace)
    meta = os.path.join(out, "metadata_a.csv")
    rows = sum(1 for _ in open(meta, "rb")) - 1
    print("halfway state: %d rows, CSV %.1f MB" % (rows, os.path.getsize(meta) / 1e6), flush=True)


def resume_once(binary, cfg, tag):
    out = os.path.join(WORK, "out")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(os.path.join(WORK, "half"), out)
    meta = os.path.join(out, "metadata_a.csv")
    size0 = os.path.getsize(meta)
    trace = os.path.join(WORK, "trace_" + tag)
    t0 = time.time()
    p = start(binary, cfg, trace, os.path.join(WORK, "log_" + tag))
    first, hwm = None, None
    while p.poll() is None:
        if os.path.getsize(meta) > size0:
            first = time.time() - t0
            pid0 = [pid for r, pid, _, _ in trace_lines(trace) if r == 0]
            hwm = hwm_mib(pid0[0]) if pid0 else float("nan")
            break
        time.sleep(0.05)
    kill(p, trace)
    return first, hwm


def main():
    os.makedirs(WORK, exist_ok=True)
    cfg_half = os.path.join(WORK, "half.yaml")
    cfg = os.path.join(WORK, "out.yaml")
    write_cfg(cfg_half, os.path.join(WORK, "half"))
    write_cfg(cfg, os.path.join(WORK, "out"))
    windows = int(os.environ.get("WINDOWS", str(max(1, FILES // 20000 // 2))))
    if not os.path.exists(os.path.join(WORK, "half", "metadata_a.csv")):
        make_half(cfg_half, windows)
    res = {b: [] for b in BINS}
    for r in range(ROUNDS):
        for i, b in enumerate(BINS):
            first, hwm = resume_once(b, cfg, "b%d_r%d" % (i, r))
            res[b].append((first, hwm))
            print("round %d %s: first new row %.1f s, rank 0 peak RSS %.0f MiB" % (
                r, b, first or -1, hwm or -1), flush=True)
    for b in BINS:
        f = [x[0] for x in res[b] if x[0]]
        m = [x[1] for x in res[b] if x[1]]
        if f and m:
            print("%s: first new row %.1f s (%.1f-%.1f), rank 0 peak RSS %.0f MiB (%.0f-%.0f)" % (
                b, statistics.median(f), min(f), max(f), statistics.median(m), min(m), max(m)))


if __name__ == "__main__":
    main()
