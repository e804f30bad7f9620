#!/usr/bin/python3
"""test_folder_signature.py BINARY - where the folder ledger's folder signatures come
from (src/run/folderledger.c, dc_fledger_sign_records; src/run/walk.c, sign_folder):
a fresh crawl makes no stat of an input file in the walk (the signature is computed
from the header pass's own fstat of each file), and a resume stats exactly the files
of the folders the ledger recorded before.

Corpus: a copy of the synthetic corpus (tests/kill/kcommon.make_corpus), metadata
only, the corpus folders listed, 2 ranks.  Stat calls of every process come from
strace (newfstatat/fstatat64/statx/stat/lstat with a name): a call counts when its
name is an input file's (relative to a directory descriptor or a full path).
  fresh     a crawl into empty outputs: 0 stats of input files
  finished  the same crawl again: every folder with DICOM skipped (the signatures
            the fresh crawl recorded from its records are those the walk computes),
            and the stats are exactly one per regular file of those folders
  added     a folder with DICOM copied under a new name, the crawl run again: the
            new folder is read, its files not stat'ed (never recorded), every
            other folder with DICOM skipped; run once more: the new folder skipped
            too, its files stat'ed once each
"""
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_resume_folders as RF  # noqa: E402
K = RF.K

STAT_CALL = re.compile(r'\b(?:newfstatat|fstatat64|statx|stat|lstat|stat64|lstat64)\('
                       r'(?:(?:AT_FDCWD|-?\d+), )?"([^"]+)"')
SKIPPED = re.compile(r"folder ledger: (\d+) folders \((\d+) files\) done in an earlier run")


def run_stats(binary, work, cfg, tag):
    """dcmcrawl under strace (2 ranks): (rc, log text, {name: stat calls})"""
    tr = os.path.join(work, "strace_%s.txt" % tag)
    e = dict(os.environ)
    e.update({"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"})
    e["ASAN_OPTIONS"] = (e["ASAN_OPTIONS"] + ":" if e.get("ASAN_OPTIONS") else "") + \
        "detect_leaks=0"
    for k in ("DCMCRAWL_TRACE", "DCMCRAWL_SLOW"):
        e.pop(k, None)
    cmd = ["strace", "-f", "-qq", "-e",
           "trace=newfstatat,fstatat64,statx,stat,lstat,stat64,lstat64", "-o", tr] + \
        K.MPIRUN + ["-np", "2", binary, cfg]
    p = subprocess.run(cmd, cwd=work, env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    calls = {}
    for line in open(tr, errors="replace"):
        m = STAT_CALL.search(line)
        if m:
            calls[m.group(1)] = calls.get(m.group(1), 0) + 1
    os.unlink(tr)
    return p.returncode, p.stdout.decode(errors="replace"), calls


def input_stats(calls, work, regular):
    """stat calls of input files: by base name (relative to a directory) or path"""
    names = {}
    for f in regular:
        names[os.path.basename(f)] = names.get(os.path.basename(f), 0) + 1
    n = 0
    for name, c in calls.items():
        q = os.path.relpath(name, work) if name.startswith("/") else name
        if q in regular or ("/" not in name and name in names):
            n += c
    return n


def main():
    args, binary, work = K.test_args(__doc__, "dcmcrawl_fsig_")
    t0 = time.time()
    src = RF.generated_corpus(work, "test_folder_signature")
    if src is None:
        return 1
    corpus = os.path.join(work, "corpus")
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(src, corpus, symlinks=True)
    problems = []

    def report(name, probs, note):
        print("  %-9s %-4s %s" % (name, "FAIL" if probs else "ok", note), flush=True)
        problems.extend("%s: %s" % (name, p) for p in probs)

    def layout():
        files = RF.corpus_files(work)
        regular = {f: [n for n in names if os.path.isfile(os.path.join(work, n))
                       and not os.path.islink(os.path.join(work, n))]
                   for f, names in files.items()}
        return files, regular, RF.dicom_folders(work, files)

    def write_cfg(files):
        listed = sorted(f for f, names in files.items() if names and f != "corpus")
        cfg = os.path.join(work, "cfg.yaml")
        RF.write_config(cfg, listed, "out", volumes=False, commit_every=5, window_files=40)
        return cfg

    files, regular, with_dicom = layout()
    all_regular = set(n for names in regular.values() for n in names)
    cfg = write_cfg(files)

    # fresh: no stat of an input file
    rc, text, calls = run_stats(binary, work, cfg, "fresh")
    n = input_stats(calls, work, all_regular)
    probs = ["exit %d: %s" % (rc, text[-1500:])] if rc else []
    if n:
        probs.append("%d stat calls of input files (0 expected)" % n)
    report("fresh", probs, "%d input files, %d stat calls of them" % (len(all_regular), n))

    # finished: every DICOM folder skipped; one stat per file of those folders
    def rerun(tag, skipped_want, stats_want):
        rc, text, calls = run_stats(binary, work, cfg, tag)
        n = input_stats(calls, work, all_regular)
        probs = ["exit %d: %s" % (rc, text[-1500:])] if rc else []
        m = SKIPPED.search(text)
        skipped = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        if skipped != skipped_want:
            probs.append("skipped (folders, files) %s, want %s" % (skipped, skipped_want))
        if n != stats_want:
            probs.append("%d stat calls of input files, want %d" % (n, stats_want))
        if RF.twice(os.path.join(work, "out")):
            probs.append("Scan IDs twice")
        return probs, "%d folders (%d files) skipped, %d stat calls" % (skipped + (n,))

    done_files = sum(len(regular[f]) for f in with_dicom)
    probs, note = rerun("finished", (len(with_dicom), done_files), done_files)
    report("finished", probs, note)

    # added: a copy of a DICOM folder under a new name
    src = sorted(with_dicom)[0]
    shutil.copytree(os.path.join(work, src), os.path.join(work, src + "_copy"), symlinks=True)
    files, regular, with_dicom2 = layout()
    all_regular = set(n for names in regular.values() for n in names)
    cfg = write_cfg(files)
    probs, note = rerun("added", (len(with_dicom), done_files), done_files)
    done2 = sum(len(regular[f]) for f in with_dicom2)
    p2, note2 = rerun("added2", (len(with_dicom2), done2), done2)
    report("added", probs + p2, "%s; again: %s" % (note, note2))
    return K.finish("test_folder_signature", problems, t0, args, work)


if __name__ == "__main__":
    sys.exit(main())
