#!/usr/bin/python3
"""bench_resume_folders.py - what the folder ledger saves (issue 11): a resume of a
FINISHED crawl, before (a binary without the ledger) and after.  A per-file metadata
crawl (default config otherwise, 2 ranks) of the first FILES files of the archive-scale
corpus (tests/bench/bench_archive.py's: folders of 500) is made once with the AFTER
binary; then ROUNDS times, alternating the binaries, the same command again on that
state, warm (page cache as left) and cold (sync; echo 3 > /proc/sys/vm/drop_caches
before the run, when permitted): wall seconds of the whole mpirun, and input files
opened (tests/bench/opencount.c, LD_PRELOAD, summed over ranks).  Also a fresh crawl of
the same files by each binary (warm): what signing the folders costs a run that has
nothing to skip.

usage: bench_resume_folders.py CORPUS WORK ROUNDS BEFORE AFTER    (env FILES, default 100000)
Prints one line per run, then median (min-max) per case.
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

from benchlib import drop_caches, write_metadata_cfg

CORPUS, WORK, ROUNDS, BEFORE, AFTER = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], \
    sys.argv[5]
FILES = int(os.environ.get("FILES", "100000"))
HERE = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def write_cfg(path, out):
    write_metadata_cfg(path, out, CORPUS, FILES)


def opencount_lib():
    so = os.path.join(WORK, "opencount.so")
    if not os.path.exists(so):
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", so,
                        os.path.join(HERE, "opencount.c"), "-ldl"], check=True)
    return so




def run(binary, cfg, tag):
    counts = os.path.join(WORK, "opens_" + tag)
    if os.path.exists(counts):
        os.unlink(counts)
    env = dict(ENV, LD_PRELOAD=opencount_lib(), OPENCOUNT_MATCH=os.path.basename(CORPUS) + "/",
               OPENCOUNT_OUT=counts)
    t = time.time()
    p = subprocess.run(["mpirun", "-np", "2", "-x", "LD_PRELOAD", "-x", "OPENCOUNT_MATCH", "-x",
                        "OPENCOUNT_OUT", binary, cfg], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    wall = time.time() - t
    # opencount.c writes nothing for a process that opened no matching file
    opens = sum(int(ln.split()[1]) for ln in open(counts)) if os.path.exists(counts) else 0
    summary = [ln for ln in p.stdout.decode(errors="replace").splitlines() if "done in" in ln]
    if p.returncode != 0:
        print(p.stdout.decode(errors="replace")[-2000:])
    return wall, opens, p.returncode, summary[-1] if summary else ""


def main():
    os.makedirs(WORK, exist_ok=True)
    state = os.path.join(WORK, "finished")
    cfg = os.path.join(WORK, "cfg.yaml")
    write_cfg(cfg, state)
    results = {}

    def note(case, wall, opens, rc, summary):
        results.setdefault(case, []).append((wall, opens))
        print("%-22s %7.2f s %9d opens exit %d | %s" % (case, wall, opens, rc, summary[:110]),
              flush=True)

    # fresh crawls (warm): the cost of signing when nothing is skipped
    for r in range(ROUNDS):
        for name, b in (("before", BEFORE), ("after", AFTER)):
            shutil.rmtree(state, ignore_errors=True)
            note("fresh warm " + name, *run(b, cfg, "fresh"))
    # the finished state (made by the last fresh crawl: AFTER's, with its ledger)
    size = os.path.getsize(os.path.join(state, "metadata_a.csv"))
    cold_ok = True
    for r in range(ROUNDS):
        for name, b in (("before", BEFORE), ("after", AFTER)):
            note("resume warm " + name, *run(b, cfg, "warm"))
            cold_ok = drop_caches() and cold_ok
            note("resume cold " + name, *run(b, cfg, "cold"))
            if os.path.getsize(os.path.join(state, "metadata_a.csv")) != size:
                print("the metadata CSV changed: a resume of a finished crawl wrote rows")
                return 1
    if not cold_ok:
        print("(drop_caches not permitted: the 'cold' runs were not cold)")
    print("\n%d files, %d rounds; median (min-max)" % (FILES, ROUNDS))
    for case, v in results.items():
        w = [x[0] for x in v]
        o = sorted(set(x[1] for x in v))
        print("%-22s %7.2f s (%.2f-%.2f)  opens %s" % (case, statistics.median(w), min(w),
                                                       max(w), "/".join(map(str, o))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
