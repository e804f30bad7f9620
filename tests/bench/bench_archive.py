#!/usr/bin/python3
"""bench_archive.py BUILD - the archive-scale case of make bench (SPEC 10, issue 11).

Corpus: BENCH_ARCHIVE_FILES (default 1,000,000) small CT files (--size 16: 3.7 KB),
500 per folder, 5 series per folder, stamped from one template by tests/bench/stamp.c
(gen_corpus.py archive; cached in BENCH_DIR/archive_<N>).

Per round (BENCH_REPEAT, default 3), interleaved, each cold when the page cache can be
dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`, needs root; else warm, and said so):
  loop      the open / read 8 KiB / close loop (tests/bench/openread.c), 2 processes
            at once, each on half of the folders (wall time of the pair)
  dcmcrawl  mpirun -np 2, metadata only, default config (per-file mode), each rank
            under /usr/bin/time -v (peak RSS per rank), DCMCRAWL_TRACE for the time
            of the first CSV append (first rows durable: the append is synced)
Then one warm run with the LD_PRELOAD open counter (tests/bench/opencount.c): opens per
input file.  And the warm small case: the first BENCH_ARCHIVE_WARM files (20,000) with
the 1-process loop vs dcmcrawl -np 2 default config, files/s.

BENCH_ARCHIVE_NOPREFETCH=1 adds a crawl without the header pass's read-ahead
(DCMCRAWL_PREFETCH=0) to each round.  Warm files/s are given for the whole mpirun
command and in-process (first rank's start to last rank's end in the trace).
BENCH_ARCHIVE_USE crawls only the first files of the corpus (whole folders);
BENCH_ARCHIVE_OPENS=0 skips the open-counting run.  Prints medians and spreads
(min-max) and writes BENCH_DIR/archive_results.md.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

from benchlib import drop_caches

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
BENCH = os.path.abspath(os.environ.get("BENCH_DIR", "/tmp/dcmcrawl-bench"))
N = int(os.environ.get("BENCH_ARCHIVE_FILES", "1000000"))
WARM = int(os.environ.get("BENCH_ARCHIVE_WARM", "20000"))
# crawl only the first USE files of the corpus (whole folders of 500; default all)
USE = int(os.environ.get("BENCH_ARCHIVE_USE", str(N)))
OPENS = os.environ.get("BENCH_ARCHIVE_OPENS", "1") == "1"
# also crawl without the header pass's read-ahead each round (DCMCRAWL_PREFETCH=0)
NOPREFETCH = os.environ.get("BENCH_ARCHIVE_NOPREFETCH", "0") == "1"
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
DCMCRAWL = os.path.join(BUILD, "dcmcrawl")
OPENREAD = os.path.join(BUILD, "bench", "openread")
OPENCOUNT = os.path.join(BUILD, "bench", "opencount.so")
STAMP = os.path.join(BUILD, "bench", "stamp")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_pml="ob1", OMPI_MCA_btl="self,vader", OMPI_MCA_mtl="^ofi")
CORPUS = os.path.join(BENCH, "archive_%d" % N)
WORK = os.path.join(BENCH, "archive_work")


def log(m):
    print("bench_archive: " + m, flush=True)


def folders():
    d = sorted(os.path.join(CORPUS, d) for d in os.listdir(CORPUS) if d.startswith("d"))
    return d[:max(1, USE // 500)]


def loop2(dirs):
    """two openread processes on halves of the folders: wall seconds"""
    half = len(dirs) // 2
    t0 = time.time()
    ps = [subprocess.Popen([OPENREAD] + part, stdout=subprocess.PIPE, text=True)
          for part in (dirs[:half], dirs[half:])]
    outs = [p.communicate()[0] for p in ps]
    return time.time() - t0, outs


def write_cfg(path, dirs, out):
    with open(path, "w") as f:
        f.write("input:\n  folders: [%s]\n" % ", ".join('"%s"' % d for d in dirs))
        f.write("output:\n  folder: %s\n  id: a\nrun:\n  progress: never\n" % out)


def crawl(cfg, tag, extra_env=None):
    """(wall s, [peak RSS MiB per rank], first append s after start)"""
    out = os.path.join(WORK, "out")
    shutil.rmtree(out, ignore_errors=True)
    trace = os.path.join(WORK, "trace_" + tag)
    if os.path.exists(trace):
        os.unlink(trace)
    env = dict(ENV, DCMCRAWL_TRACE=trace, **(extra_env or {}))
    cmd = ["mpirun", "-np", "2"]
    for k in (extra_env or {}):
        cmd += ["-x", k]
    cmd += ["-x", "DCMCRAWL_TRACE", "/usr/bin/time", "-v", DCMCRAWL, cfg]
    t0 = time.time()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        raise SystemExit("bench_archive: dcmcrawl failed:\n" + p.stderr[-2000:])
    rss = [int(x) / 1024.0 for x in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)]
    cpu.append(sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([0-9.]+)", p.stderr)))
    start, first, done = None, None, None
    for ln in open(trace):
        r, pid, phase, n, t = ln.split()
        if phase == "start" and (start is None or float(t) < start):
            start = float(t)
        if r == "0" and phase == "rows" and first is None:
            first = float(t)
        if phase == "done" and (done is None or float(t) > done):
            done = float(t)
    inproc.append(done - start if done and start else float("nan"))
    rows = sum(1 for _ in open(os.path.join(out, "metadata_a.csv"))) - 1
    if rows != expected_rows(cfg):
        raise SystemExit("bench_archive: %d rows, expected %d" % (rows, expected_rows(cfg)))
    return wall, sorted(rss, reverse=True), (first - start) if first and start else float("nan")


_expected = {}
cpu = []  # CPU seconds of all ranks, per crawl
inproc = []  # seconds from the first rank's start to the last rank's end (no mpirun)


def expected_rows(cfg):
    return _expected[cfg]


def stats(v):
    return "%.2f (%.2f-%.2f)" % (statistics.median(v), min(v), max(v))


def main():
    os.makedirs(BENCH, exist_ok=True)
    os.makedirs(WORK, exist_ok=True)
    for t in (OPENREAD, OPENCOUNT, STAMP, DCMCRAWL):
        if not os.path.exists(t):
            raise SystemExit("bench_archive: %s missing (tests/bench/run_bench.sh builds it)" % t)
    t0 = time.time()
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_corpus.py"), "archive", CORPUS,
                    "--files", str(N), "--size", "16", "--stamp", STAMP], check=True)
    log("corpus of %d files ready (%.0f s; cached)" % (N, time.time() - t0))
    dirs = folders()
    n_files = len(dirs) * 500
    cfg = os.path.join(WORK, "all.yaml")
    write_cfg(cfg, dirs, os.path.join(WORK, "out"))
    _expected[cfg] = n_files
    loop_s, crawl_s, rss0, rss1, first, walk_rate = [], [], [], [], [], []
    crawl_np, crawl_in, crawl_cpu = [], [], []
    cold = True
    for r in range(REPEAT):
        cold &= drop_caches()
        s, outs = loop2(dirs)
        loop_s.append(s)
        # the loop's walk (readdir of its half, 2 at once): files/s of listing
        ws = [float(re.search(r"walk_s=([0-9.]+)", o).group(1)) for o in outs]
        walk_rate.append(n_files / max(ws))
        cold &= drop_caches()
        if NOPREFETCH:  # the same crawl without the header pass's read-ahead
            w, _, _ = crawl(cfg, "np%d" % r, {"DCMCRAWL_PREFETCH": "0"})
            crawl_np.append(w)
            log("round %d: dcmcrawl without prefetch %.1f s" % (r + 1, w))
            cold &= drop_caches()
        w, rss, f = crawl(cfg, "r%d" % r)
        crawl_s.append(w)
        crawl_in.append(inproc[-1])
        crawl_cpu.append(cpu[-1])
        rss0.append(rss[0])
        rss1.append(rss[1] if len(rss) > 1 else float("nan"))
        first.append(f)
        log("round %d: loop %.1f s, dcmcrawl %.1f s, RSS %s MiB, first rows %.1f s, load %s" % (
            r + 1, s, w, ["%.0f" % x for x in rss], f, open("/proc/loadavg").read().split()[0]))
    # opens per file (warm; an extra run)
    oc = os.path.join(WORK, "opens")
    if os.path.exists(oc):
        os.unlink(oc)
    opens = float("nan")
    if OPENS:
        crawl(cfg, "opens", {"LD_PRELOAD": OPENCOUNT, "OPENCOUNT_MATCH": CORPUS + "/",
                             "OPENCOUNT_OUT": oc})
        opens = sum(int(ln.split()[1]) for ln in open(oc))
    # warm small case
    wdirs = dirs[:max(1, WARM // 500)]
    wcfg = os.path.join(WORK, "warm.yaml")
    write_cfg(wcfg, wdirs, os.path.join(WORK, "out"))
    _expected[wcfg] = len(wdirs) * 500
    subprocess.run([OPENREAD] + wdirs, capture_output=True)
    crawl(wcfg, "warmup")
    wl, wc, wi = [], [], []
    for r in range(REPEAT + 2):
        p = subprocess.run([OPENREAD] + wdirs, capture_output=True, text=True)
        wl.append(float(re.search(r"files_per_s=(\d+)", p.stdout).group(1)))
        w, _, _ = crawl(wcfg, "warm%d" % r)
        wc.append(len(wdirs) * 500 / w)
        wi.append(len(wdirs) * 500 / inproc[-1])
    ratio = [c / l for c, l in zip(wc, wl)]
    ratio_in = [c / l for c, l in zip(wi, wl)]
    lines = [
        "| %d files, metadata only, default config, 2 ranks, %s | median (min-max) |" % (
            n_files, "cold cache" if cold else "WARM cache (drop_caches not permitted)"),
        "|---|---|",
        "| open/read 8 KiB/close loop, 2 processes, s | %s |" % stats(loop_s),
        "| dcmcrawl, s | %s |" % stats(crawl_s),
    ] + ([
        "| dcmcrawl without prefetch (DCMCRAWL_PREFETCH=0), s | %s |" % stats(crawl_np),
        "| dcmcrawl without prefetch / loop | %s |" % stats([c / l for c, l in zip(crawl_np, loop_s)]),
    ] if crawl_np else []) + [
        "| dcmcrawl in-process (first rank start to last rank end), s | %s |" % stats(crawl_in),
        "| readdir walk of the loop, files/s | %s |" % stats(walk_rate),
        "| dcmcrawl / loop | %s |" % stats([c / l for c, l in zip(crawl_s, loop_s)]),
        "| first rows durable after start, s | %s |" % stats(first),
        "| CPU of all ranks per file (cold rounds), us | %s |" % stats(
            [c / n_files * 1e6 for c in crawl_cpu]),
        "| rank 0 peak RSS, MiB | %s |" % stats(rss0),
        "| rank 1 peak RSS, MiB | %s |" % stats(rss1),
        "| opens per input file (warm run) | %.4f |" % (opens / n_files),
        "| warm %d files: loop files/s (1 process) | %s |" % (len(wdirs) * 500, stats(wl)),
        "| warm %d files: dcmcrawl 2 ranks files/s, whole mpirun command | %s |" % (
            len(wdirs) * 500, stats(wc)),
        "| warm %d files: dcmcrawl 2 ranks files/s, in-process | %s |" % (len(wdirs) * 500, stats(wi)),
        "| warm: dcmcrawl / loop files/s, whole command | %s |" % stats(ratio),
        "| warm: dcmcrawl / loop files/s, in-process | %s |" % stats(ratio_in),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(BENCH, "archive_results.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
