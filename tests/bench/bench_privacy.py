#!/usr/bin/python3
"""bench_privacy.py BINARY [WORK] [RUNS] - the cost of privacy.profile basic.

A metadata-only per-file crawl of 3,000 CT files with a realistic header
(tests/bench/gen_corpus.py ct --series 12 --slices 250 --size 64: ~150
elements, sequences, private groups), without and with the profile, runs
alternating, one process (MPI singleton).  Prints the median, min and max of
the wall time and of the CPU time (user + sys of the crawl) of each.
WORK (default /tmp/dcmcrawl-bench-privacy) keeps the corpus between runs.
"""
import os
import resource
import shutil
import statistics as st
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    binary = os.path.abspath(sys.argv[1])
    work = sys.argv[2] if len(sys.argv) > 2 else "/tmp/dcmcrawl-bench-privacy"
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 11
    os.makedirs(work, exist_ok=True)
    os.chdir(work)
    if not os.path.exists("ct.complete"):
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_corpus.py"), "ct", "ct",
                        "--series", "12", "--slices", "250", "--size", "64"], check=True)
    with open("key", "wb") as fh:
        fh.write(os.urandom(48))
    for m in ("plain", "basic"):
        with open(m + ".yaml", "w") as fh:
            fh.write("input: {folders: [ct], recursive: true}\n"
                     "output: {folder: out_%s, id: b, write_pixeldata: false, volumes: false}\n"
                     "run: {progress: never, commit_every: 256}\n" % m)
            if m == "basic":
                fh.write("privacy: {profile: basic, key_file: key}\n")
    res = {"plain": [], "basic": []}
    for _ in range(runs):
        for m in ("plain", "basic"):
            shutil.rmtree("out_" + m, ignore_errors=True)
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([binary, m + ".yaml"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            t = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            res[m].append((t, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime))
    for m, v in res.items():
        w = sorted(x[0] for x in v)
        c = sorted(x[1] for x in v)
        print("%s: wall median %.3f s (min %.3f, max %.3f); cpu median %.3f s (min %.3f, max %.3f)"
              % (m, st.median(w), w[0], w[-1], st.median(c), c[0], c[-1]))
    pw = st.median(x[0] for x in res["basic"]) / st.median(x[0] for x in res["plain"]) - 1
    pc = st.median(x[1] for x in res["basic"]) / st.median(x[1] for x in res["plain"]) - 1
    print("basic vs plain: wall %+.1f%%, cpu %+.1f%% (medians of %d runs each)" % (
        100 * pw, 100 * pc, runs))


if __name__ == "__main__":
    main()
