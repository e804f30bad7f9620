#!/usr/bin/python3
"""test_resume_doneset.py BINARY - the durable done-set (done_<id>.d, src/run/doneset.c): a
resume reads only the CSV rows the done-set does not cover yet, and the CSVs stay the
source of truth (a done-set that is missing, damaged or stale is rebuilt from them).

Corpus: the synthetic corpus (tests/kill/kcommon.make_corpus), per file, metadata only
(the main case: no index to reconcile) and one trial with pixel data; commit_every 5,
window_files 40, 2 ranks.  Trials:
  csv_then_kill    SIGKILL of the job after a checkpoint's CSV rows are durable and before
                   its done-set write (the "doneset" hook slowed); the rerun reads exactly
                   the rows of that checkpoint (debug line) and no rebuild happens
  deleted          killed in a later batch, done_<id>.d deleted: rebuilt from every row
  damaged_run      killed in a later batch, the largest run file cut short: rebuilt
  bad_manifest     killed in a later batch, the manifest overwritten with junk: rebuilt
  finished         a finished crawl run again: 0 rows read, 0 scans written
  retry            then with retry_unreadable: every unreadable scan retried and listed
                   again (unreadable_files rewritten, its done-set kind rebuilt)
  row_deleted      a finished crawl whose last metadata row was removed by hand: the
                   done-set no longer matches, it is rebuilt, that scan is done again
  pixels_kill      with pixel data, killed between the CSV and the done-set write
Each rerun: exit 0, outputs clean (kcommon.check_clean) and equal to the uninterrupted
run's (compare_outputs.py --rows-as-sets), and the done-set's fingerprints (read from the
run files the manifest names, the FNV-1a hashes recomputed here) are exactly the Scan
IDs of the metadata CSV and of unreadable_files.
"""
import os
import re
import shutil
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "kill"))
import kcommon as K  # noqa: E402

ID = "d"
MASK = (1 << 64) - 1


def fnv(data, seed):
    h = seed
    for b in data:
        h = ((h ^ b) * 1099511628211) & MASK
    return h


def fingerprint(scan_id):
    b = scan_id.encode()
    return (fnv(b, 1469598103934665603), fnv(b, 0x9e3779b97f4a7c15))


def read_run(path):
    data = open(path, "rb").read()
    assert data[:8] == b"DCDONE01", path
    marker, n, nf = struct.unpack_from("<QQQ", data, 8)
    assert marker == 0x0102030405060708 and len(data) == 32 + 16 * (n + nf), path
    fps = [struct.unpack_from("<QQ", data, 32 + 16 * i) for i in range(n)]
    assert fps == sorted(set(fps)), "%s: not sorted or with repeats" % path
    assert [struct.unpack_from("<QQ", data, 32 + 16 * (n + i)) for i in range(nf)] == fps[::256]
    return fps


def doneset_problems(out):
    """the done-set (runs named by the manifest) vs the CSVs' Scan IDs"""
    d = os.path.join(out, "done_%s.d" % ID)
    man = open(os.path.join(d, "manifest")).read().split("\n")
    kinds, k = {}, None
    for ln in man[2:]:
        f = ln.split()
        if f and f[0] == "kind":
            k = int(f[1])
            kinds[k] = set()
        elif f and f[0] == "run":
            kinds[k] |= set(read_run(os.path.join(d, f[1])))
    probs = []
    for k, name, col in ((0, "metadata_%s.csv", 0), (1, "unreadable_files_%s.csv", 1)):
        p = os.path.join(out, name % ID)
        ids = set(r[col] for r in K.csv_rows(p)[1:]) if os.path.exists(p) else set()
        want = set(fingerprint(i) for i in ids)
        if kinds.get(k, set()) != want:
            probs.append("done-set kind %d: %d fingerprints, CSV %d Scan IDs, %d in common" % (
                k, len(kinds.get(k, ())), len(want), len(kinds.get(k, set()) & want)))
    left = [n for n in os.listdir(d) if n.endswith(".fp") and not any(
        ("run " + n) == ln for ln in man)]
    if left:
        probs.append("run files the manifest does not name: %s" % left)
    return probs


ROWS_READ = re.compile(r"metadata_%s\.csv: (\d+) rows read from byte (\d+) on" % ID)


def rows_read(log_text):
    m = ROWS_READ.findall(log_text)
    return int(m[0][0]) if m else None


def largest_run(out):
    d = os.path.join(out, "done_%s.d" % ID)
    runs = [os.path.join(d, n) for n in os.listdir(d) if n.endswith(".fp")]
    return max(runs, key=os.path.getsize)


def main():
    args, binary, work = K.test_args(__doc__, "dcmcrawl_doneset_")
    t0 = time.time()
    folders = K.make_corpus(work, ct=None)
    cfgs = {}
    for pix in (False, True):
        cfgs[pix] = os.path.join(work, "cfg_%s.yaml" % ("pix" if pix else "meta"))
        K.write_config(cfgs[pix], folders, "out", ID, volumes=False, pixels=pix, commit_every=5,
                       window_files=40, log_level="debug")
    cfgs["retry"] = os.path.join(work, "cfg_retry.yaml")
    K.write_config(cfgs["retry"], folders, "out", ID, volumes=False, pixels=False, commit_every=5,
                   window_files=40, log_level="debug", retry=True)
    problems = []
    for pix in (False, True):
        rc, text = K.run(binary, work, [cfgs[pix]], np=2, log=os.path.join(work, "log_ref%d" % pix))
        ref = os.path.join(work, "ref%d" % pix)
        if rc != 0 or K.check_clean(os.path.join(work, "out"), ID, pixels=pix):
            print("test_resume_doneset: FAIL: reference run exit %s\n%s" % (rc, text[-2000:]))
            return 1
        problems += ["reference: " + p for p in doneset_problems(os.path.join(work, "out"))]
        shutil.rmtree(ref, ignore_errors=True)
        os.rename(os.path.join(work, "out"), ref)
    n_ref = len(K.csv_rows(os.path.join(work, "ref0", "metadata_%s.csv" % ID))) - 1

    def kill_at(name, phase, k, slow, pix=False):
        shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
        j = K.Job(binary, work, [cfgs[pix]], np=2, trace=os.path.join(work, "trace_" + name),
                  slow="%s:%d" % (phase, slow), log=os.path.join(work, "log_%s" % name))
        hit = j.wait_for(lambda x: x[0] == 0 and x[2] == phase and x[3] >= k)
        if hit is not None:
            time.sleep(slow / 2000.0)
        j.kill_all()
        j.wait(timeout=60)
        meta = os.path.join(work, "out", "metadata_%s.csv" % ID)
        return hit, (len(K.csv_rows(meta)) - 1 if os.path.exists(meta) else 0)

    def rerun(name, pix=False, cfg=None):
        log = os.path.join(work, "log_%s_rerun" % name)
        rc, text = K.run(binary, work, [cfg or cfgs[pix]], np=2, log=log)
        out = os.path.join(work, "out")
        probs = ["exit %s" % rc] if rc != 0 else []
        probs += K.check_clean(out, ID, pixels=pix)
        same, diff = K.compare(os.path.join(work, "ref%d" % pix), out)
        if not same:
            probs.append("outputs differ from the uninterrupted run:\n" + diff)
        probs += doneset_problems(out)
        return probs, text

    def report(name, probs, note):
        print("  %-14s %-4s %s" % (name, "FAIL" if probs else "ok", note), flush=True)
        problems.extend("%s: %s" % (name, p) for p in probs)

    # a kill between a checkpoint's CSV write and its done-set write
    for name, pix in (("csv_then_kill", False), ("pixels_kill", True)):
        hit, kept = kill_at(name, "doneset", 3, 1500, pix)
        if hit is None:
            report(name, ["the doneset hook #3 was never reached"], "")
            continue
        probs, text = rerun(name, pix)
        read = rows_read(text)
        if read is None or not 0 < read <= 5 or read >= kept:
            probs.append("rerun read %s rows of the %d in the CSV (want the last checkpoint's, "
                         "1..5)" % (read, kept))
        if "no longer matches" in text:
            probs.append("the done-set was rebuilt though it matched")
        report(name, probs, "killed with %d rows in the CSV; rerun read %s of them" % (kept, read))

    # the done-set missing, damaged or stale: rebuilt from the CSV
    def deleted(out):
        shutil.rmtree(os.path.join(out, "done_%s.d" % ID))

    def damaged_run(out):
        p = largest_run(out)
        os.truncate(p, os.path.getsize(p) - 16)

    def bad_manifest(out):
        with open(os.path.join(out, "done_%s.d" % ID, "manifest"), "w") as fh:
            fh.write("dcmcrawl done-set 1\nnext x\n")

    for name, damage in (("deleted", deleted), ("damaged_run", damaged_run),
                         ("bad_manifest", bad_manifest)):
        hit, kept = kill_at(name, "batch", 12, 200)
        if hit is None or kept == 0:
            report(name, ["batch #12 never reached or nothing committed (%d rows)" % kept], "")
            continue
        damage(os.path.join(work, "out"))
        probs, text = rerun(name)
        read = rows_read(text)
        if read != kept:
            probs.append("rerun read %s rows, want all %d (a rebuild)" % (read, kept))
        report(name, probs, "%d rows kept; rebuilt from %s rows" % (kept, read))

    # a finished crawl again; then with its last row removed by hand
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
    shutil.copytree(os.path.join(work, "ref0"), os.path.join(work, "out"))
    probs, text = rerun("finished")
    if rows_read(text) != 0 or "0 scans written" not in text:
        probs.append("a finished crawl's rerun read %s rows (want 0) or wrote scans" % rows_read(text))
    report("finished", probs, "rerun read %s rows" % rows_read(text))

    # retry_unreadable: the listed scans leave unreadable_files (rewritten), are tried
    # again and listed again; the unreadable kind of the done-set is rebuilt to match
    unr = os.path.join(work, "out", "unreadable_files_%s.csv" % ID)
    n_unr = len(K.csv_rows(unr)) - 1 if os.path.exists(unr) else 0
    probs, text = rerun("retry", cfg=cfgs["retry"])
    retried = sum(int(n) for n in re.findall(r"retrying (\d+) scans listed in", text))
    if n_unr == 0 or retried != n_unr:
        probs.append("%d unreadable scans in the reference, %d retried" % (n_unr, retried))
    report("retry", probs, "%d unreadable scans retried, listed again" % n_unr)

    meta = os.path.join(work, "out", "metadata_%s.csv" % ID)
    data = open(meta, "rb").read()
    cut = data.rstrip(b"\n").rfind(b"\n") + 1  # rows are one line each in this corpus
    with open(meta, "r+b") as fh:
        fh.truncate(cut)
    probs, text = rerun("row_deleted")
    if "no longer matches" not in text or "1 scans written" not in text:
        probs.append("the hand-edited CSV was not noticed (rebuild and 1 scan redone)")
    report("row_deleted", probs, "rebuilt from %s rows of %d" % (rows_read(text), n_ref))
    return K.finish("test_resume_doneset", problems, t0, args, work)


if __name__ == "__main__":
    sys.exit(main())
