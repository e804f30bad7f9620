"""kcommon.py - shared pieces of the append/resume/stop/kill tests (tests/kill/,
tests/integration/test_resume_*.py).

  make_corpus(work)          the synthetic corpus (tests/gen/make_series.py) plus a
                             plain CT corpus (tests/slurm/make_ct_corpus.py); returns
                             the input folders, relative to work
  write_config(...)          a dcmcrawl YAML config
  Job                        dcmcrawl under mpirun in its own session, with the test
                             hooks (DCMCRAWL_TRACE / DCMCRAWL_SLOW, see dc_hook.h),
                             rank pids from the trace, SIGKILL of the whole job or of
                             one rank, signals
  check_clean(outdir, id)    the outputs are clean: index opens, every CSV parses to
                             the end with no torn tail, no temp files, every segment
                             file is referenced
  compare(a, b)              tests/integration/compare_outputs.py --rows-as-sets
  finish(name, problems, ...) the end of a test: problems, PASS/FAIL, cleanup
"""
import csv
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
PY = "/usr/bin/python3"
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]


def _cached(name, key_files, args, gen):
    """A generated corpus, made once per version of its generator in a shared cache
    folder (generated to a temp folder, then renamed: concurrent tests are safe)."""
    h = hashlib.sha1(repr(args).encode())
    for f in key_files:
        h.update(open(f, "rb").read())
    cache = os.path.join(tempfile.gettempdir(), "dcmcrawl-testcorpus")
    os.makedirs(cache, exist_ok=True)
    dest = os.path.join(cache, "%s-%s" % (name, h.hexdigest()[:12]))
    if not os.path.isdir(dest):
        tmp = tempfile.mkdtemp(prefix=name + "-", dir=cache)
        gen(os.path.join(tmp, "c"))
        try:
            os.rename(os.path.join(tmp, "c"), dest)
        except OSError:
            pass  # made by a concurrent test meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def make_corpus(work, ct=(2, 4, 16, 64), synthetic=True):
    """The corpora, linked into work as corpus/ and ct/; returns the input folders
    (relative to work)."""
    folders = []
    if synthetic:
        gen = os.path.join(TESTS, "gen")
        src = _cached("series", [os.path.join(gen, "make_series.py"), os.path.join(gen, "dcmgen.py")],
                      (), lambda d: subprocess.run([PY, os.path.join(gen, "make_series.py"), d,
                                                    "--quiet"], check=True,
                                                   stdout=subprocess.DEVNULL))
        c = os.path.join(work, "corpus")
        if not os.path.exists(c):
            os.symlink(src, c)
        man = json.load(open(os.path.join(c, "manifest.json")))
        folders += ["corpus/" + f for f in man["folders"]]
    if ct:
        nf, ns, nz, size = ct
        script = os.path.join(TESTS, "slurm", "make_ct_corpus.py")
        src = _cached("ct", [script], ct, lambda d: subprocess.run(
            [PY, script, d, "--folders", str(nf), "--series", str(ns), "--slices", str(nz),
             "--size", str(size)], check=True, stdout=subprocess.DEVNULL))
        c = os.path.join(work, "ct")
        if not os.path.exists(c):
            os.symlink(src, c)
        folders += ["ct/" + f for f in sorted(os.listdir(c)) if f.startswith("archive_")]
    return folders


def write_config(path, folders, out, run_id, volumes=True, pixels=True, compression="none",
                 commit_every=3, retry=False, layout="zyx", log_level="info", window_files=None,
                 commit_seconds=None):
    with open(path, "w") as fh:
        fh.write("input:\n  folders: [%s]\n" % ", ".join('"%s"' % f for f in folders))
        fh.write("output:\n  folder: %s\n" % out)
        if run_id:
            fh.write("  id: %s\n" % run_id)
        fh.write("  write_pixeldata: %s\n  volumes: %s\n  layout: %s\n  compression: %s\n" % (
            "true" if pixels else "false", "true" if volumes else "false", layout, compression))
        fh.write("run:\n  commit_every: %d\n  retry_unreadable: %s\n  progress: never\n"
                 "  log_level: %s\n" % (commit_every, "true" if retry else "false", log_level))
        if window_files:
            fh.write("  window_files: %d\n" % window_files)
        if commit_seconds:
            fh.write("  commit_seconds: %d\n" % commit_seconds)


class Job:
    """One dcmcrawl run under mpirun, started in its own session."""

    def __init__(self, binary, cwd, args, np=2, trace=None, slow=None, log=None, env=None,
                 mpirun_args=()):
        self.trace = trace
        e = dict(os.environ)
        e.update(env or {})
        e.pop("DCMCRAWL_TRACE", None)
        e.pop("DCMCRAWL_SLOW", None)
        if trace:
            e["DCMCRAWL_TRACE"] = trace
            if os.path.exists(trace):
                os.unlink(trace)
        if slow:
            e["DCMCRAWL_SLOW"] = slow
        self.log = log
        self.logfh = open(log, "w") if log else subprocess.DEVNULL
        cmd = MPIRUN + list(mpirun_args) + ["-np", str(np), binary] + list(args)
        self.t0 = time.time()
        self.p = subprocess.Popen(cmd, cwd=cwd, env=e, stdout=self.logfh, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        self.rc = None

    # ---- trace
    def lines(self):
        """trace lines as tuples (rank, pid, phase, n, t)"""
        if not self.trace or not os.path.exists(self.trace):
            return []
        out = []
        with open(self.trace) as fh:
            for ln in fh:
                f = ln.split()
                if len(f) == 5 and ln.endswith("\n"):
                    out.append((int(f[0]), int(f[1]), f[2], int(f[3]), float(f[4])))
        return out

    def pids(self):
        """rank -> pid, from the trace"""
        return {r: pid for r, pid, _, _, _ in self.lines()}

    def wait_for(self, pred, timeout=120):
        """Wait until pred(line) holds for a trace line; returns it, or None when the job
        ended or the time ran out first."""
        end = time.time() + timeout
        seen = 0
        while time.time() < end:
            ls = self.lines()
            for ln in ls[seen:]:
                if pred(ln):
                    return ln
            seen = len(ls)
            if self.p.poll() is not None:
                for ln in self.lines()[seen:]:
                    if pred(ln):
                        return ln
                return None
            time.sleep(0.002)
        return None

    # ---- signals
    def kill_all(self):
        """SIGKILL every rank, then mpirun (the whole job at once)."""
        for pid in self.pids().values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def signal_rank(self, rank, sig):
        pid = self.pids().get(rank)
        if pid is None:
            return False
        try:
            os.kill(pid, sig)
            return True
        except ProcessLookupError:
            return False

    def signal_mpirun(self, sig):
        try:
            os.kill(self.p.pid, sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout=300):
        try:
            self.rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_all()
            self.rc = self.p.wait()
            self.rc = "timeout"
        if self.logfh is not subprocess.DEVNULL:
            self.logfh.close()
        # ranks left behind would be a hang: they must be gone with mpirun
        deadline = time.time() + 10
        while time.time() < deadline and any(pid_alive(p) for p in self.pids().values()):
            time.sleep(0.05)
        self.leftover = [p for p in self.pids().values() if pid_alive(p)]
        for p in self.leftover:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return self.rc

    def output(self):
        return open(self.log, errors="replace").read() if self.log else ""


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def run(binary, cwd, args, np=2, log=None, timeout=600, env=None, slow=None, trace=None):
    j = Job(binary, cwd, args, np=np, log=log, env=env, slow=slow, trace=trace)
    rc = j.wait(timeout)
    return rc, j.output()


# ------------------------------------------------------------------ checks

def _csv_clean(path, problems):
    data = open(path, "rb").read()
    if not data:
        problems.append("%s: empty" % path)
        return None
    if not data.endswith(b"\n"):
        problems.append("%s: does not end with a newline (torn tail)" % path)
    if b"\0" in data:
        problems.append("%s: NUL bytes" % path)
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as ex:
        problems.append("%s: does not parse: %s" % (path, ex))
        return None
    n = len(rows[0])
    for i, r in enumerate(rows[1:]):
        if len(r) != n:
            problems.append("%s: row %d has %d fields, header %d" % (path, i + 1, len(r), n))
            break
    ids = [r[0 if "metadata" in os.path.basename(path) else 1] for r in rows[1:]]
    if len(set(ids)) != len(ids):
        problems.append("%s: a Scan ID appears twice" % path)
    return rows


def check_clean(outdir, run_id, pixels=True):
    """Problems (list of strings) with the outputs as left by a run that ended."""
    problems = []
    sfx = "_" + run_id if run_id else ""
    meta = os.path.join(outdir, "metadata%s.csv" % sfx)
    unr = os.path.join(outdir, "unreadable_files%s.csv" % sfx)
    idx = os.path.join(outdir, "pixel_data%s.h5" % sfx)
    for n in os.listdir(outdir) if os.path.isdir(outdir) else []:
        if n.endswith(".tmp") or ".locktest." in n:
            problems.append("temp file left: %s" % n)
    m_ids = set()
    if os.path.exists(meta):
        rows = _csv_clean(meta, problems)
        if rows:
            m_ids = set(r[0] for r in rows[1:])
    if os.path.exists(unr):
        rows = _csv_clean(unr, problems)
        if rows and m_ids & set(r[1] for r in rows[1:]):
            problems.append("a Scan ID is in both metadata and unreadable_files")
    if pixels and os.path.exists(idx):
        import h5py
        try:
            with h5py.File(idx, "r") as f:
                names = set(f.keys())
                used = set()
                for k in names:
                    lk = f.get(k, getlink=True)
                    if isinstance(lk, h5py.ExternalLink):
                        used.add(os.path.basename(lk.filename))
                    f[k].shape  # the link resolves
            if names != m_ids:
                problems.append("index datasets and metadata rows differ: %d only in the index, "
                                "%d only in the CSV" % (len(names - m_ids), len(m_ids - names)))
            segdir = idx + ".d"
            if os.path.isdir(segdir):
                for s in os.listdir(segdir):
                    if s not in used:
                        problems.append("segment file %s is not referenced" % s)
        except Exception as ex:  # noqa: BLE001
            problems.append("%s: cannot open or read: %s" % (idx, ex))
    return problems


def compare(a, b, quiet=True):
    """(same, text) for two output folders, CSV rows as sets."""
    r = subprocess.run([PY, os.path.join(TESTS, "integration", "compare_outputs.py"),
                        "--rows-as-sets"] + (["-q"] if quiet else []) + [a, b],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return r.returncode == 0, r.stdout


def csv_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def log(msg):
    print(msg, flush=True)
    sys.stdout.flush()


def test_args(doc, prefix):
    """The command line shared by the resume tests: BINARY [--keep] [--work DIR]
    [--only CASE...].  Returns (args, absolute binary path, work folder)."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--work")
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix=prefix)
    os.makedirs(work, exist_ok=True)
    return args, os.path.abspath(args.binary), work


def finish(name, problems, t_start, args, work):
    """The end of a test: every problem, PASS/FAIL with the time, the work folder removed
    when all passed (unless --keep or --work); returns the exit status."""
    print()
    for p in problems:
        print("  problem: " + p)
    print("%s: %s in %.0fs" % (name, "FAIL" if problems else "PASS", time.time() - t_start))
    if not problems and not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0
