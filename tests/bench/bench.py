#!/usr/bin/python3
"""bench.py BUILD - what `make bench` runs (tests/bench/run_bench.sh BUILD).

Generates (once, cached under BENCH_DIR) the corpora of tests/bench/gen_corpus.py,
then measures dcmcrawl against references on the same files in the same run:

  volumes   24 CT series x 120 slices of 512x512 16-bit, uncompressed, volume mode
            with pixel data.  References: raw copy of the same bytes (cat of every
            file into one file; and the same + fsync), cfrcopy (copy_file_range of
            every file into one file by 1 and NP processes, writeback started,
            fsync: dcmcrawl's fast path without parsing or MPI) and dcm2niix (one
            process, -z n).
  jpeg      the same series as lossless JPEG (process 14 SV1), volume mode with
            pixel data.  Reference: dcm2niix.
  metadata  many small CT files, per-file mode without pixel data.  Reference:
            openread, a C loop that opens each file, reads its first 8 KiB and
            closes it (files per second of the loop alone, walk not counted).
  dcmcrawl runs at 1 rank and at BENCH_NP ranks (default 2).

Every command runs once untimed (page cache warm, outputs deleted), then
BENCH_REPEAT rounds (default 5) in which every command of the case runs once,
interleaved, so that noise from other work on the machine hits them all alike;
outputs are deleted and `sync` runs before each timed run, untimed.  The table
gives medians, the spread (min-max) and the ratios the targets are stated in.

Then the memory figures: peak RSS of every rank (/usr/bin/time per rank) for
the long series (BENCH_LONG_SLICES slices, default 2000) in volume mode;
rank 0's peak RSS and the time of walk + header pass + grouping (--dry-run) at
BENCH_WALK_FILES small files (default 200,000); the cost of collective dataset
creation per scan at 10,000 scans (tests/bench/h5create.c, and a per-file
crawl of 10,000 files with and without pixel data).

Settings (environment): BENCH_DIR (/tmp/dcmcrawl-bench), BENCH_REPEAT (5),
BENCH_NP (2), BENCH_SERIES (24), BENCH_SLICES (120), BENCH_SIZE (512),
BENCH_META_FILES (200000: files of the metadata case, a prefix of the walk
corpus, in folders of 1,000), BENCH_WALK_FILES (200000), BENCH_LONG_SLICES
(2000), BENCH_DS_SCANS (10000), BENCH_ONLY (e.g. "volumes jpeg": a subset of
volumes jpeg metadata memory).  The results are printed and written to
BENCH_DIR/results.md and results.json.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PY = "/usr/bin/python3"


def env_int(name, default):
    return int(os.environ.get(name, default))


BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
BENCH = os.path.abspath(os.environ.get("BENCH_DIR", "/tmp/dcmcrawl-bench"))
REPEAT = env_int("BENCH_REPEAT", 5)
NP = env_int("BENCH_NP", 2)
SERIES = env_int("BENCH_SERIES", 24)
SLICES = env_int("BENCH_SLICES", 120)
SIZE = env_int("BENCH_SIZE", 512)
WALK_FILES = env_int("BENCH_WALK_FILES", 200000)
META_FILES = min(env_int("BENCH_META_FILES", 200000), WALK_FILES)
LONG_SLICES = env_int("BENCH_LONG_SLICES", 2000)
DS_SCANS = env_int("BENCH_DS_SCANS", 10000)
ONLY = os.environ.get("BENCH_ONLY", "volumes jpeg metadata memory").split()
DCMCRAWL = os.path.join(BUILD, "dcmcrawl")
OPENREAD = os.path.join(BUILD, "bench", "openread")
CFRCOPY = os.path.join(BUILD, "bench", "cfrcopy")
H5CREATE = os.path.join(BUILD, "bench", "h5create")
OUT = os.path.join(BENCH, "out")
LOGS = os.path.join(BENCH, "logs")
MPIRUN = ["mpirun", "--allow-run-as-root"]
# One node: Open MPI's shared-memory transport only, so that MPI_Init does not
# spend ~0.25 s probing network hardware (what a site config does for a
# workstation).  Settings already in the environment win.
MPI_ENV = {"OMPI_MCA_pml": "ob1", "OMPI_MCA_btl": "self,vader", "OMPI_MCA_mtl": "^ofi",
           "OMPI_MCA_osc": "^ucx"}
for k, v in MPI_ENV.items():
    os.environ.setdefault(k, v)
# scans per checkpoint of the metadata crawls (README: a checkpoint should
# hold a few seconds of work): a checkpoint (collective CSV append + fsync,
# ~40 ms with Open MPI's OMPIO) every 32 scans of ~50 us costs more than the
# scans; 10,000 rows are ~100 MB per rank until their append
META_COMMIT = env_int("BENCH_META_COMMIT", 10000)


def log(msg):
    print("bench: " + msg, flush=True)


def generate():
    gen = os.path.join(HERE, "gen_corpus.py")
    ct = os.path.join(BENCH, "ct")
    steps = []
    if {"volumes", "jpeg"} & set(ONLY):
        steps.append(["ct", ct, "--series", str(SERIES), "--slices", str(SLICES), "--size", str(SIZE)])
    if "jpeg" in ONLY:
        steps.append(["jpeg", os.path.join(BENCH, "jpeg"), "--from", ct])
    if {"metadata", "memory"} & set(ONLY):
        steps.append(["small", os.path.join(BENCH, "small"), "--files", str(WALK_FILES), "--size", "16"])
    if "memory" in ONLY:
        steps.append(["ct", os.path.join(BENCH, "long"), "--series", "1", "--slices", str(LONG_SLICES),
                      "--size", str(SIZE)])
    for s in steps:
        t0 = time.time()
        subprocess.run([PY, gen] + s, check=True)
        if time.time() - t0 > 1:
            log("generated %s in %.0f s" % (s[1], time.time() - t0))


def files_under(d):
    out = []
    for root, dirs, files in os.walk(d):
        dirs.sort()
        out += [os.path.join(root, f) for f in sorted(files)]
    return out


def du(paths):
    return sum(os.path.getsize(p) for p in paths)


def clean_out():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)


def write_config(name, folders, recursive, pixels, volumes, commit_every=32):
    path = os.path.join(BENCH, "cfg_%s.yaml" % name)
    with open(path, "w") as f:
        f.write("input:\n  folders: [%s]\n  recursive: %s\n" %
                (", ".join(folders), "true" if recursive else "false"))
        f.write("output:\n  folder: %s\n  id: %s\n  write_pixeldata: %s\n  volumes: %s\n" %
                (OUT, name, "true" if pixels else "false", "true" if volumes else "false"))
        f.write("run:\n  progress: never\n  log_level: warn\n  commit_every: %d\n" % commit_every)
    return path


def crawl_cmd(cfg, np, extra=()):
    return MPIRUN + ["-np", str(np), DCMCRAWL, cfg] + list(extra)


class Cmd:
    """One command of a case: argv, optional stdout file, what it produced."""

    def __init__(self, label, argv, stdout=None, parse=None):
        self.label = label
        self.argv = argv
        self.stdout = stdout
        self.parse = parse  # stdout text -> seconds to use instead of the wall time
        self.times = []
        self.walls = []

    def run(self, logname):
        clean_out()
        os.sync()
        with open(os.path.join(LOGS, logname), "w") as err:
            out = open(self.stdout, "wb") if self.stdout else subprocess.PIPE
            t0 = time.perf_counter()
            p = subprocess.run(self.argv, stdout=out, stderr=err, cwd=BENCH)
            wall = time.perf_counter() - t0
            if self.stdout:
                out.close()
        if p.returncode != 0:
            sys.exit("bench: %s failed (exit %d), see %s" % (self.label, p.returncode,
                                                              os.path.join(LOGS, logname)))
        t = wall
        if self.parse:
            t = self.parse(p.stdout.decode())
        return t, wall


def slug(label):
    return "".join(ch if ch.isalnum() else "_" for ch in label)


def measure(case, cmds):
    log("%s: warm-up run of each command" % case)
    for c in cmds:
        c.run("%s_%s_warm.log" % (case, slug(c.label)))
    for r in range(REPEAT):
        for c in cmds:
            t, wall = c.run("%s_%s_%d.log" % (case, slug(c.label), r))
            c.times.append(t)
            c.walls.append(wall)
        log("%s: round %d/%d: %s" % (case, r + 1, REPEAT,
                                       ", ".join("%s %.2f s" % (c.label, c.times[-1]) for c in cmds)))
    clean_out()
    return {c.label: c for c in cmds}


def med(c):
    return statistics.median(c.times)


def spread(c):
    return "%.2f-%.2f" % (min(c.times), max(c.times))


# ------------------------------------------------------------------ cases

def case_volumes(rows, ratios):
    ct = os.path.join(BENCH, "ct")
    files = files_under(ct)
    size = du(files)
    cfg = write_config("volumes", [ct], True, True, True)
    raw = os.path.join(OUT, "raw.bin")
    cmds = [
        Cmd("raw copy (cat)", ["cat"] + files, stdout=raw),
        Cmd("raw copy + fsync", ["sh", "-c", 'cat "$@" > "$0" && sync "$0"', raw] + files),
        # the uncompressed fast path's own method at its best: no parsing, no MPI
        Cmd("durable copy into one file, 1 process", [CFRCOPY, "1", raw] + files, parse=openread_seconds),
        Cmd("durable copy into one file, %d processes" % NP, [CFRCOPY, str(NP), raw] + files,
            parse=openread_seconds),
        Cmd("dcm2niix", ["dcm2niix", "-z", "n", "-o", OUT, ct]),
        Cmd("dcmcrawl 1 rank", crawl_cmd(cfg, 1)),
        Cmd("dcmcrawl %d ranks" % NP, crawl_cmd(cfg, NP)),
    ]
    m = measure("volumes", cmds)
    for c in cmds:
        rows.append(("volumes (%d files, %.2f GB)" % (len(files), size / 1e9), c.label, med(c), spread(c),
                     "%.0f MB/s" % (size / 1e6 / med(c))))
    cp, d1, dn = m["raw copy (cat)"], m["dcmcrawl 1 rank"], m["dcmcrawl %d ranks" % NP]
    ratios.append(("uncompressed volumes: dcmcrawl %d ranks time / raw copy time" % NP,
                   med(dn) / med(cp), "<= 1.3", med(dn) / med(cp) <= 1.3))
    cs = m["raw copy + fsync"]
    ratios.append(("uncompressed volumes: dcmcrawl %d ranks / raw copy + fsync (durable like a checkpoint; info)" % NP,
                   med(dn) / med(cs), "-", None))
    ratios.append(("uncompressed volumes: dcmcrawl 1 rank / %d ranks" % NP, med(d1) / med(dn), ">= 1.8",
                   med(d1) / med(dn) >= 1.8))
    c1, cn = m["durable copy into one file, 1 process"], m["durable copy into one file, %d processes" % NP]
    ratios.append(("uncompressed volumes: durable copy into one file, 1 / %d processes (what the file system "
                   "allows; info)" % NP, med(c1) / med(cn), "-", None))
    ratios.append(("uncompressed volumes: dcmcrawl %d ranks / durable copy into one file, %d processes (info)"
                   % (NP, NP), med(dn) / med(cn), "-", None))
    ratios.append(("uncompressed volumes: dcm2niix time / dcmcrawl %d ranks time (info)" % NP,
                   med(m["dcm2niix"]) / med(dn), "-", None))


def case_jpeg(rows, ratios):
    jp = os.path.join(BENCH, "jpeg")
    files = files_under(jp)
    size = du(files)
    cfg = write_config("jpeg", [jp], True, True, True)
    cmds = [
        Cmd("raw copy (cat)", ["cat"] + files, stdout=os.path.join(OUT, "raw.bin")),
        Cmd("dcm2niix", ["dcm2niix", "-z", "n", "-o", OUT, jp]),
        Cmd("dcmcrawl 1 rank", crawl_cmd(cfg, 1)),
        Cmd("dcmcrawl %d ranks" % NP, crawl_cmd(cfg, NP)),
    ]
    m = measure("jpeg", cmds)
    n_pix = len(files) * SIZE * SIZE
    for c in cmds:
        rows.append(("lossless JPEG volumes (%d files, %.2f GB)" % (len(files), size / 1e9), c.label, med(c),
                     spread(c), "%.0f Mpixel/s" % (n_pix / 1e6 / med(c))))
    d1, dn, nx = m["dcmcrawl 1 rank"], m["dcmcrawl %d ranks" % NP], m["dcm2niix"]
    ratios.append(("lossless JPEG volumes: dcm2niix time / dcmcrawl %d ranks time" % NP, med(nx) / med(dn),
                   ">= 4", med(nx) / med(dn) >= 4))
    ratios.append(("lossless JPEG volumes: dcmcrawl 1 rank / %d ranks" % NP, med(d1) / med(dn), ">= 1.8",
                   med(d1) / med(dn) >= 1.8))


def small_folders(n_files):
    n = (n_files + 999) // 1000
    return [os.path.join(BENCH, "small", "d%03d" % i) for i in range(n)]


def openread_seconds(text):
    kv = dict(x.split("=") for x in text.split())
    return float(kv["loop_s"])


def case_metadata(rows, ratios):
    folders = small_folders(META_FILES)
    n = sum(len(os.listdir(d)) for d in folders)
    cfg = write_config("metadata", folders, False, False, False, META_COMMIT)
    cmds = [
        Cmd("open/read 8 KiB/close loop", [OPENREAD] + folders, parse=openread_seconds),
        Cmd("dcmcrawl 1 rank", crawl_cmd(cfg, 1)),
        Cmd("dcmcrawl %d ranks" % NP, crawl_cmd(cfg, NP)),
    ]
    m = measure("metadata", cmds)
    for c in cmds:
        rows.append(("metadata only (%d small files)" % n, c.label, med(c), spread(c),
                     "%.0f files/s" % (n / med(c))))
    lp, d1, dn = m["open/read 8 KiB/close loop"], m["dcmcrawl 1 rank"], m["dcmcrawl %d ranks" % NP]
    r = med(lp) / med(dn)
    ratios.append(("metadata only: dcmcrawl %d ranks files/s / loop files/s" % NP, r, ">= 0.3", r >= 0.3))
    ratios.append(("metadata only: dcmcrawl 1 rank / %d ranks" % NP, med(d1) / med(dn), ">= 1.8",
                   med(d1) / med(dn) >= 1.8))


# ------------------------------------------------------------------ memory

def rss_run(name, cfg, np, extra=(), stdout=None):
    """Run dcmcrawl with /usr/bin/time around every rank: (wall, [peak RSS KiB per rank])."""
    clean_out()
    os.sync()
    stem = os.path.join(OUT, "rss")
    wrap = ["sh", "-c", 'exec /usr/bin/time -f %M -o "$0.$OMPI_COMM_WORLD_RANK" "$@"', stem]
    argv = MPIRUN + ["-np", str(np)] + wrap + [DCMCRAWL, cfg] + list(extra)
    with open(os.path.join(LOGS, "memory_%s.log" % name), "w") as err:
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdout=stdout or subprocess.DEVNULL, stderr=err, cwd=BENCH)
        wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("bench: memory run %s failed, see logs/memory_%s.log" % (name, name))
    rss = [int(open("%s.%d" % (stem, r)).read().split()[-1]) for r in range(np)]
    return wall, rss


def memory(mem):
    # 1. the long series, volume mode with pixel data
    longd = os.path.join(BENCH, "long", "series_000")
    cfg = write_config("long", [longd], False, True, True)
    slice_mib = SIZE * SIZE * 2 / 2**20
    rss_run("long_warm", cfg, 1)  # page cache warm, like the timed cases
    for np in (1, NP):
        wall, rss = rss_run("long_np%d" % np, cfg, np)
        if not os.path.exists(os.path.join(OUT, "pixel_data_long.h5")):
            sys.exit("bench: the long series was not stored, see logs/memory_long_np%d.log" % np)
        limit = 64 + 4 * slice_mib
        mem.append(("%d-slice series (%dx%d), %d rank%s: peak RSS per rank" %
                    (LONG_SLICES, SIZE, SIZE, np, "s" if np > 1 else ""),
                    ", ".join("%.1f MiB" % (k / 1024) for k in rss),
                    "< %.0f MiB (64 MiB + 4 slices)" % limit, max(rss) / 1024 < limit,
                    "%.2f s" % wall))
    # 2. walk + header pass + grouping at WALK_FILES files (dry run), rank 0 RSS
    folders = small_folders(WALK_FILES)
    cfg = write_config("walk", folders, False, False, False, META_COMMIT)
    for np in (1, NP):
        wall, rss = rss_run("walk_np%d" % np, cfg, np, ["--dry-run"])
        mem.append(("%d files, walk + header pass + grouping (--dry-run), %d rank%s" %
                    (WALK_FILES, np, "s" if np > 1 else ""),
                    "rank 0: %.1f MiB%s" % (rss[0] / 1024, "".join(", rank %d: %.1f MiB" % (r, rss[r] / 1024)
                                                                 for r in range(1, np))),
                    "-", None, "%.2f s" % wall))
    wall, rss = rss_run("walk_full_np%d" % NP, cfg, NP)
    mem.append(("%d files, whole metadata crawl, %d ranks" % (WALK_FILES, NP),
                "rank 0: %.1f MiB%s" % (rss[0] / 1024, "".join(", rank %d: %.1f MiB" % (r, rss[r] / 1024)
                                                             for r in range(1, NP))),
                "-", None, "%.2f s" % wall))
    # 3. collective dataset creation per scan
    clean_out()
    for np in (1, NP):
        p = subprocess.run(MPIRUN + ["-np", str(np), H5CREATE, os.path.join(OUT, "h5create.h5"), str(DS_SCANS)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True)
        kv = dict(x.split("=") for x in p.stdout.decode().split() if "=" in x)
        mem.append(("%d datasets with attributes, one segment, %d rank%s (h5create)" %
                    (DS_SCANS, np, "s" if np > 1 else ""),
                    "create %.0f us/scan, write %.0f us/scan, close %.2f s" %
                    (float(kv["create_us_per_scan"]), float(kv["write_us_per_scan"]), float(kv["close_s"])),
                    "-", None, "%.2f s" % float(kv["total_s"])))
    ds_folders = small_folders(DS_SCANS)
    n_ds = sum(len(os.listdir(d)) for d in ds_folders)
    cfg_px = write_config("ds_pixels", ds_folders, False, True, False, META_COMMIT)
    cfg_md = write_config("ds_meta", ds_folders, False, False, False, META_COMMIT)
    t_px = statistics.median(rss_run("ds_pixels", cfg_px, NP)[0] for _ in range(3))
    t_md = statistics.median(rss_run("ds_meta", cfg_md, NP)[0] for _ in range(3))
    mem.append(("%d files per-file mode, %d ranks: with pixel data vs metadata only" % (n_ds, NP),
                "%.2f s vs %.2f s: %.0f us per scan for its dataset" % (t_px, t_md, (t_px - t_md) / n_ds * 1e6),
                "-", None, ""))
    clean_out()


# ------------------------------------------------------------------ report

def report(rows, ratios, mem, info):
    lines = []
    lines.append("dcmcrawl make bench, %s; %s" % (time.strftime("%Y-%m-%d %H:%M"), info))
    lines.append("")
    if rows:
        lines.append("| corpus | command | median s | min-max s | throughput |")
        lines.append("|---|---|---:|---:|---:|")
        for r in rows:
            lines.append("| %s | %s | %.2f | %s | %s |" % (r[0], r[1], r[2], r[3], r[4]))
        lines.append("")
    if ratios:
        lines.append("| target | ratio (medians) | required | met |")
        lines.append("|---|---:|---:|---|")
        for r in ratios:
            lines.append("| %s | %.2f | %s | %s |" % (r[0], r[1], r[2], "-" if r[3] is None else
                                                      ("yes" if r[3] else "**NO**")))
        lines.append("")
    if mem:
        lines.append("| memory / scale | measured | limit | met | wall |")
        lines.append("|---|---|---|---|---:|")
        for r in mem:
            lines.append("| %s | %s | %s | %s | %s |" % (r[0], r[1], r[2], "-" if r[3] is None else
                                                         ("yes" if r[3] else "**NO**"), r[4]))
        lines.append("")
    text = "\n".join(lines)
    print()
    print(text)
    with open(os.path.join(BENCH, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(BENCH, "results.json"), "w") as f:
        json.dump({"rows": rows, "ratios": ratios, "memory": mem, "info": info}, f, indent=1)


def main():
    for exe in (DCMCRAWL, OPENREAD, CFRCOPY, H5CREATE):
        if not os.access(exe, os.X_OK):
            sys.exit("bench: %s missing (run through make bench)" % exe)
    os.makedirs(LOGS, exist_ok=True)
    generate()
    load = os.getloadavg()[0]
    info = "%d cores, load %.2f at start, %d timed rounds, page cache warm" % (os.cpu_count(), load, REPEAT)
    if load > 0.5:
        log("warning: load average %.2f: other work is running, expect spread" % load)
    rows, ratios, mem = [], [], []
    if "volumes" in ONLY:
        case_volumes(rows, ratios)
    if "jpeg" in ONLY:
        case_jpeg(rows, ratios)
    if "metadata" in ONLY:
        case_metadata(rows, ratios)
    if "memory" in ONLY:
        memory(mem)
    info += "; load %.2f at end" % os.getloadavg()[0]
    report(rows, ratios, mem, info)


if __name__ == "__main__":
    main()
