#!/bin/bash
# bench_checkpoint.sh BUILD|BINARY - what checkpoints cost: throughput with run.commit_every
# 1, 32 and "never" (1000000: one checkpoint at the end).
#
#   bash tests/bench/bench_checkpoint.sh build            # BUILD/dcmcrawl
#   CKPT_REPEAT=3 CKPT_NP=2 bash tests/bench/bench_checkpoint.sh build-kill/dcmcrawl
#
# Two cases, generated once with tests/slurm/make_ct_corpus.py under
# $BENCH_DIR/checkpoint (default /tmp/dcmcrawl-bench/checkpoint):
#   volumes  48 CT series x 24 slices of 256x256 int16 (75 MB), volume mode with
#            pixel data: 48 scans, so commit_every 1 means 48 checkpoints
#   perfile  600 CT files of 128x128 int16 (20 MB), one scan per file with pixel
#            data: commit_every 1 means 600 checkpoints, each with its segment
#            file, index update and CSV append
# Every setting runs once untimed (page cache warm), then CKPT_REPEAT rounds
# (default 3) in which each setting runs once, interleaved; outputs are deleted
# and `sync` runs before each timed run.  The time is dcmcrawl's own, from the
# start of rank 0 (after MPI_Init) to its end of the last commit, taken from
# the test hook's trace (DCMCRAWL_TRACE, include/dc_hook.h), without mpirun's start
# and end.
# Prints a table: median seconds, spread (min-max), scans/s, MB/s read, and the
# cost relative to "never"; also written to $BENCH_DIR/checkpoint/results.md.
set -u
ARG=${1:-build}
if [ -d "$ARG" ]; then BIN="$ARG/dcmcrawl"; else BIN="$ARG"; fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
[ -x "$BIN" ] || { echo "bench_checkpoint: no binary $BIN"; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
DIR=${BENCH_DIR:-/tmp/dcmcrawl-bench}/checkpoint
REPEAT=${CKPT_REPEAT:-3}
NP=${CKPT_NP:-2}
mkdir -p "$DIR"
export BIN DIR REPEAT NP ROOT
exec /usr/bin/python3 - <<'EOF'
import os, re, shutil, statistics, subprocess, sys, time

BIN, DIR, ROOT = os.environ["BIN"], os.environ["DIR"], os.environ["ROOT"]
REPEAT, NP = int(os.environ["REPEAT"]), int(os.environ["NP"])
GEN = os.path.join(ROOT, "tests", "slurm", "make_ct_corpus.py")
CASES = {
    "volumes": dict(gen=(2, 24, 24, 256), volumes=True),
    "perfile": dict(gen=(4, 5, 30, 128), volumes=False),
}
SETTINGS = [("1", 1), ("32", 32), ("never", 1000000)]
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(NP)]


def corpus(name, gen):
    d = os.path.join(DIR, "corpus_%s_%d_%d_%d_%d" % ((name,) + gen))
    if not os.path.isdir(d):
        tmp = d + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["/usr/bin/python3", GEN, tmp, "--folders", str(gen[0]), "--series",
                        str(gen[1]), "--slices", str(gen[2]), "--size", str(gen[3])], check=True,
                       stdout=subprocess.DEVNULL)
        os.rename(tmp, d)
    return d


def config(name, c, every):
    src = corpus(name, c["gen"])
    folders = sorted(os.path.join(src, f) for f in os.listdir(src) if f.startswith("archive_"))
    p = os.path.join(DIR, "cfg_%s_%s.yaml" % (name, every))
    with open(p, "w") as fh:
        fh.write("input:\n  folders: [%s]\n" % ", ".join('"%s"' % f for f in folders))
        fh.write("output:\n  folder: %s\n  id: ck\n  write_pixeldata: true\n  volumes: %s\n" % (
            os.path.join(DIR, "out"), "true" if c["volumes"] else "false"))
        fh.write("run:\n  commit_every: %d\n  progress: never\n  log_level: warn\n" % every)
    return p


SUMMARY = re.compile(r"done in ([0-9.]+) s: (\d+) scans written.*read ([0-9.]+) MB")


def once(cfg):
    shutil.rmtree(os.path.join(DIR, "out"), ignore_errors=True)
    trace = os.path.join(DIR, "trace")
    if os.path.exists(trace):
        os.unlink(trace)
    subprocess.run(["sync"])
    env = dict(os.environ, DCMCRAWL_TRACE=trace)
    env.pop("DCMCRAWL_SLOW", None)
    r = subprocess.run(MPIRUN + [BIN, cfg], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, env=env)
    m = SUMMARY.search(r.stdout)
    if r.returncode != 0 or not m:
        sys.exit("bench_checkpoint: run failed (%d):\n%s" % (r.returncode, r.stdout[-2000:]))
    t = {}
    for ln in open(trace):
        f = ln.split()
        if f[0] == "0" and f[2] in ("start", "done"):
            t[f[2]] = float(f[4])
    segs = len(os.listdir(os.path.join(DIR, "out", "pixel_data_ck.h5.d")))
    return t["done"] - t["start"], int(m.group(2)), float(m.group(3)), segs


res = {}
for name, c in CASES.items():
    cfgs = {lab: config(name, c, every) for lab, every in SETTINGS}
    for lab in cfgs:
        once(cfgs[lab])  # warm
    for _ in range(REPEAT):
        for lab, cfg in cfgs.items():
            res.setdefault((name, lab), []).append(once(cfg))

lines = ["| case | commit_every | checkpoints | median s | spread s | scans/s | MB/s read | vs never "
         "| ms per extra checkpoint |", "|---|---|---|---|---|---|---|---|---|"]
for name in CASES:
    never = statistics.median(x[0] for x in res[(name, "never")])
    for lab, _ in SETTINGS:
        xs = res[(name, lab)]
        t = [x[0] for x in xs]
        med = statistics.median(t)
        scans, mb, segs = xs[0][1], xs[0][2], xs[0][3]
        per = (med - never) / max(segs - 1, 1) * 1000 if lab != "never" else 0
        lines.append("| %s | %s | %d | %.2f | %.2f-%.2f | %.0f | %.1f | %+.0f%% | %s |" % (
            name, lab, segs, med, min(t), max(t), scans / med, mb / med, (med / never - 1) * 100,
            "%.0f" % per if lab != "never" else "-"))
text = "\n".join(lines)
hdr = ("checkpoint cost: %d ranks, %d repeats, %s, load average %.1f at the end; dcmcrawl's "
       "own time (rank 0, start to end of the last commit)" % (
           NP, REPEAT, time.strftime("%Y-%m-%d %H:%M"), os.getloadavg()[0]))
print(hdr)
print(text)
with open(os.path.join(DIR, "results.md"), "w") as fh:
    fh.write(hdr + "\n\n" + text + "\n")
shutil.rmtree(os.path.join(DIR, "out"), ignore_errors=True)
EOF
