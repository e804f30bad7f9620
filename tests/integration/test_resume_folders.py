#!/usr/bin/python3
"""test_resume_folders.py BINARY - the folder ledger (done_<id>.d/folders,
src/run/folderledger.c): a resume skips the folders whose scans are all committed
without opening any of their files, and its outputs stay those of an uninterrupted crawl.

Corpus: a copy of the synthetic corpus (tests/kill/kcommon.make_corpus; copied into the
work folder because trials change it), metadata only.  Configs:
  P  per file, the corpus folders listed (not recursive), commit_every 5, window_files 40
  V  volumes, the corpus folder recursive (an input folder without files of its own whose
     subfolders hold the DICOM files: "no DICOM files in folder" is decided over its
     tree), commit_every 3, window_files 7 (folders larger than a window, trees carried
     across windows)
Which input files a run opens comes from strace (open/openat of every process).  A
folder "with DICOM" is one holding a file with the DICM marker (the oracle here).
Trials (each rerun: exit 0, outputs clean and equal to the reference, no Scan ID twice):
  finished      a finished crawl run again: no file of a folder with DICOM opened, every
                such folder skipped (info line), 0 scans written
  kill_ledger   SIGKILL between a checkpoint's done-set write and its ledger write;
  kill_doneset  ... between the CSV rows and the done-set write (V, 3 ranks);
  kill_batch    ... in a later batch (rerun at 1 rank, another window size): for each,
                every folder the rerun skips had all its reference rows in the CSVs
                the killed run left (the ledger never claims a folder whose rows are
                not durable), and the rerun equals the reference
  changed       a finished crawl, then one folder gets a copy of a file (a new row
                <id>_2), one file rewritten in place with another SOP UID and its mtime
                put back (size and mtime equal: the ctime/inode tell), one file removed:
                those folders are read again (their files opened), the others not; the
                rows are the reference's plus the new Scan IDs' rows of a fresh crawl of
                the changed corpus (done Scan IDs keep their rows, as always)
  retry         retry_unreadable: the folders with unreadable scans are read again and
                their scans retried (listed once again), the others skipped
  damaged       the ledger's run file cut short: ignored with a warning, every folder
                read again, outputs unchanged
  privacy       privacy.profile basic: a rerun skips the done folders too, and no file
                of done_<id>.d holds a folder's path or name
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "kill"))
import kcommon as K  # noqa: E402

ID = "f"


def write_config(path, folders, out, volumes, commit_every, window_files, recursive=False,
                 retry=False, key=None):
    with open(path, "w") as fh:
        fh.write("input:\n  folders: [%s]\n  recursive: %s\n" % (
            ", ".join('"%s"' % f for f in folders), "true" if recursive else "false"))
        fh.write("output:\n  folder: %s\n  id: %s\n  write_pixeldata: false\n  volumes: %s\n" % (
            out, ID, "true" if volumes else "false"))
        fh.write("run:\n  commit_every: %d\n  window_files: %d\n  retry_unreadable: %s\n"
                 "  progress: never\n  log_level: info\n" % (
                     commit_every, window_files, "true" if retry else "false"))
        if key:
            fh.write("privacy:\n  profile: basic\n  key_file: %s\n" % key)


def corpus_files(work):
    """{folder relative to work: [file paths relative to work]} of the copied corpus"""
    out = {}
    for d, _, names in os.walk(os.path.join(work, "corpus")):
        rel = os.path.relpath(d, work)
        out[rel] = sorted(os.path.join(rel, n) for n in names)
    return out


def is_dicom(path):
    with open(path, "rb") as fh:
        return fh.read(132)[128:132] == b"DICM"


def dicom_folders(work, files):
    return set(f for f, names in files.items()
               if any(is_dicom(os.path.join(work, n)) for n in names))


STRACE_OPEN = re.compile(r'open(?:at)?\((?:[^,]+, )?"([^"]+)"')


def run_traced(binary, work, cfg, np, tag, env=None):
    """dcmcrawl under strace; returns (rc, log text, set of input files opened)"""
    tr = os.path.join(work, "strace_%s.txt" % tag)
    e = dict(os.environ)
    e.update({"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"})
    e.update(env or {})
    # LeakSanitizer cannot run under ptrace (sanitizer builds; as test_single_read.sh)
    e["ASAN_OPTIONS"] = (e["ASAN_OPTIONS"] + ":" if e.get("ASAN_OPTIONS") else "") + \
        "detect_leaks=0"
    for k in ("DCMCRAWL_TRACE", "DCMCRAWL_SLOW"):
        e.pop(k, None)
    cmd = ["strace", "-f", "-qq", "-e", "trace=open,openat", "-o", tr] + K.MPIRUN + [
        "-np", str(np), binary, cfg]
    p = subprocess.run(cmd, cwd=work, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300)
    opened = set()
    for line in open(tr, errors="replace"):
        m = STRACE_OPEN.search(line)
        if m and "O_DIRECTORY" not in line:
            q = m.group(1)
            q = os.path.relpath(q, work) if q.startswith("/") else q
            if q.startswith("corpus/"):
                opened.add(q)
    os.unlink(tr)
    return p.returncode, p.stdout.decode(errors="replace"), opened


def rows_by_id(out):
    """{Scan ID: row} of the metadata CSV and {Scan ID: row} of unreadable_files"""
    res = []
    for name, col in (("metadata_%s.csv", 0), ("unreadable_files_%s.csv", 1)):
        p = os.path.join(out, name % ID)
        rows = K.csv_rows(p) if os.path.exists(p) else [[]]
        head, d = rows[0], {}
        for r in rows[1:]:
            d.setdefault(r[col], []).append(dict(zip(head, r)))
        res.append(d)
    return res


def twice(out):
    return [i for d in rows_by_id(out) for i, v in d.items() if len(v) > 1]


def folder_of_id(scan_id, scope_ids):
    """the folder a Scan ID belongs to: the longest scope id it begins with"""
    best = None
    for sid, folder in scope_ids.items():
        if scan_id.startswith(sid + "_") and (best is None or len(sid) > len(best[0])):
            best = (sid, folder)
    return best[1] if best else None


def generated_corpus(work, test_name):
    """the generated corpus (its real path, under work/gen) for a test that counts
    system calls with strace; None, after the test's FAIL line, without strace"""
    if shutil.which("strace") is None:
        print("%s: FAIL: strace not installed (tools/deps.sh TEST_PKGS)" % test_name)
        return None
    gen = os.path.join(work, "gen")
    os.makedirs(gen, exist_ok=True)
    K.make_corpus(gen, ct=None)
    return os.path.realpath(os.path.join(gen, "corpus"))


def main():
    args, binary, work = K.test_args(__doc__, "dcmcrawl_folders_")
    t0 = time.time()
    src = generated_corpus(work, "test_resume_folders")
    if src is None:
        return 1
    pristine = os.path.join(work, "pristine")
    if not os.path.isdir(pristine):
        shutil.copytree(src, pristine, symlinks=True)
    corpus = os.path.join(work, "corpus")

    def fresh_corpus():
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.copytree(pristine, corpus, symlinks=True)

    fresh_corpus()
    files = corpus_files(work)
    with_dicom = dicom_folders(work, files)
    listed = sorted(f for f, names in files.items() if names and f != "corpus")
    cfg = {}
    key = os.path.join(work, "privacy.key")
    with open(key, "wb") as fh:
        fh.write(bytes(range(7, 71)))
    for name, kw in (("P", dict(folders=listed, volumes=False, commit_every=5, window_files=40)),
                     ("P13", dict(folders=listed, volumes=False, commit_every=5, window_files=13)),
                     ("Pretry", dict(folders=listed, volumes=False, commit_every=5,
                                     window_files=40, retry=True)),
                     ("Ppriv", dict(folders=listed, volumes=False, commit_every=5,
                                    window_files=40, key=key)),
                     ("V", dict(folders=["corpus"], volumes=True, commit_every=3, window_files=7,
                                recursive=True))):
        cfg[name] = os.path.join(work, "cfg_%s.yaml" % name)
        write_config(cfg[name], out="out", **kw)
    problems = []

    def report(name, probs, note):
        print("  %-13s %-4s %s" % (name, "FAIL" if probs else "ok", note), flush=True)
        problems.extend("%s: %s" % (name, p) for p in probs)

    refs = {}
    for c in ("P", "V"):
        shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
        rc, text = K.run(binary, work, [cfg[c]], np=2, log=os.path.join(work, "log_ref" + c))
        if rc != 0 or K.check_clean(os.path.join(work, "out"), ID, pixels=False):
            print("test_resume_folders: FAIL: reference %s exit %s\n%s" % (c, rc, text[-2000:]))
            return 1
        refs[c] = os.path.join(work, "ref" + c)
        shutil.rmtree(refs[c], ignore_errors=True)
        os.rename(os.path.join(work, "out"), refs[c])

    def from_ref(c):
        shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
        shutil.copytree(refs[c], os.path.join(work, "out"))

    def rerun_checks(c, rc, text, ref=None):
        out = os.path.join(work, "out")
        probs = ["exit %s: %s" % (rc, text[-1500:])] if rc != 0 else []
        probs += K.check_clean(out, ID, pixels=False)
        same, diff = K.compare(ref or refs[c], out)
        if not same:
            probs.append("outputs differ from the reference:\n" + diff)
        if twice(out):
            probs.append("Scan IDs twice: %s" % twice(out)[:5])
        return probs

    def opened_folders(opened):
        return set(os.path.dirname(p) for p in opened)

    # ---- a finished crawl again
    from_ref("P")
    rc, text, opened = run_traced(binary, work, cfg["P"], 2, "finished")
    probs = rerun_checks("P", rc, text)
    read_dicom = opened_folders(opened) & with_dicom
    if read_dicom:
        probs.append("files opened in folders done before: %s" % sorted(read_dicom))
    m = re.search(r"folder ledger: (\d+) folders \((\d+) files\)", text)
    n_dicom_files = sum(len(files[f]) for f in with_dicom if f in listed)
    if not m or int(m.group(1)) != len(with_dicom) or int(m.group(2)) != n_dicom_files:
        probs.append("want %d folders (%d files) skipped, log says %s" % (
            len(with_dicom), n_dicom_files, m.group(0) if m else "nothing"))
    n_ref = sum(len(d) for d in rows_by_id(refs["P"]))
    if "0 scans written, 0 unreadable, %d already done" % n_ref not in text:
        probs.append("want '0 scans written, 0 unreadable, %d already done' (the skipped "
                     "folders' scans counted)" % n_ref)
    report("finished", probs, "%d files opened (in %s), %d DICOM folders skipped" % (
        len(opened), sorted(opened_folders(opened)), len(with_dicom)))

    # ---- kills: the ledger claims only folders whose rows are durable
    def kill_at(c, phase, k, slow, np):
        shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
        j = K.Job(binary, work, [cfg[c]], np=np, trace=os.path.join(work, "trace"),
                  slow="%s:%d" % (phase, slow), log=os.path.join(work, "log_kill"))
        hit = j.wait_for(lambda x: x[0] == 0 and x[2] == phase and x[3] >= k)
        if hit is not None:
            time.sleep(slow / 2000.0)
        j.kill_all()
        j.wait(timeout=60)
        return hit

    for name, c, phase, k, slow, np_kill, rerun_cfg, np_rerun in (
            ("kill_ledger", "P", "ledger", 4, 1500, 2, "P", 3),
            ("kill_doneset", "V", "doneset", 5, 1500, 3, "V", 1),
            ("kill_batch", "P", "batch", 30, 150, 2, "P13", 1)):
        hit = kill_at(c, phase, k, slow, np_kill)
        if hit is None:
            report(name, ["the %s hook #%d was never reached" % (phase, k)], "")
            continue
        killed = rows_by_id(os.path.join(work, "out"))
        rc, text, opened = run_traced(binary, work, cfg[rerun_cfg], np_rerun, name)
        probs = rerun_checks(c, rc, text)
        skipped = with_dicom - opened_folders(opened)
        if c == "V":
            skipped = set(f for f in skipped if f.startswith("corpus/"))
        scope_ids = {f.replace("/", "_"): f for f in files}
        ref_rows = rows_by_id(refs[c])
        lost = {}
        for kind in (0, 1):
            for sid in ref_rows[kind]:
                f = folder_of_id(sid, scope_ids)
                if f in skipped and sid not in killed[kind]:
                    lost.setdefault(f, []).append(sid)
        probs += ["%s skipped by the rerun, but %d of its rows (%s, ...) were not durable" % (
            f, len(v), v[0]) for f, v in sorted(lost.items())]
        report(name, probs, "killed at %s #%d with %d rows; rerun at %d ranks skipped %d of %d "
               "folders" % (phase, k, len(killed[0]) + len(killed[1]), np_rerun, len(skipped),
                            len(with_dicom)))

    # ---- retry_unreadable: folders with unreadable scans read again, retried once
    from_ref("P")
    rc, text, opened = run_traced(binary, work, cfg["Pretry"], 2, "retry")
    probs = rerun_checks("P", rc, text)
    unread_folders = set(os.path.dirname(r[0]["Example file"])
                         for r in rows_by_id(refs["P"])[1].values() if r[0]["Example file"])
    unread_folders = set(os.path.relpath(f, work) if f.startswith("/") else f
                         for f in unread_folders) & with_dicom
    if not unread_folders or not unread_folders <= opened_folders(opened):
        probs.append("folders with unreadable scans %s, read again %s" % (
            sorted(unread_folders), sorted(opened_folders(opened))))
    if (opened_folders(opened) & with_dicom) - unread_folders:
        probs.append("folders without unreadable scans read again: %s" % sorted(
            (opened_folders(opened) & with_dicom) - unread_folders))
    n_retried = sum(int(n) for n in re.findall(r"retrying (\d+) scans listed in", text))
    if n_retried != len(rows_by_id(refs["P"])[1]):
        probs.append("%d scans retried, %d unreadable in the reference" % (
            n_retried, len(rows_by_id(refs["P"])[1])))
    report("retry", probs, "read again: %s; %d scans retried" % (sorted(unread_folders), n_retried))

    # ---- a damaged ledger: ignored, everything read again
    from_ref("P")
    ld = os.path.join(work, "out", "done_%s.d" % ID, "folders")
    runs = [os.path.join(ld, n) for n in os.listdir(ld) if n.endswith(".fp")]
    biggest = max(runs, key=os.path.getsize)
    os.truncate(biggest, os.path.getsize(biggest) - 16)
    rc, text, opened = run_traced(binary, work, cfg["P"], 2, "damaged")
    probs = rerun_checks("P", rc, text)
    if not with_dicom <= opened_folders(opened):
        probs.append("folders not read again: %s" % sorted(with_dicom - opened_folders(opened)))
    if "damaged" not in text:
        probs.append("no warning about the damaged ledger")
    report("damaged", probs, "%d files read again" % len(opened))
    # ---- privacy.profile: the ledger works and holds no input path
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
    rc, text = K.run(binary, work, [cfg["Ppriv"]], np=2, log=os.path.join(work, "log_priv"))
    probs = ["first run exit %s" % rc] if rc != 0 else []
    shutil.rmtree(os.path.join(work, "refpriv"), ignore_errors=True)
    shutil.copytree(os.path.join(work, "out"), os.path.join(work, "refpriv"))
    rc, text, opened = run_traced(binary, work, cfg["Ppriv"], 2, "privacy")
    probs += rerun_checks("P", rc, text, ref=os.path.join(work, "refpriv"))
    if opened_folders(opened) & with_dicom:
        probs.append("files opened in folders done before: %s" % sorted(
            opened_folders(opened) & with_dicom))
    needles = set()
    for f in files:
        needles |= {f.encode(), os.path.basename(f).encode(), f.replace("/", "_").encode()}
    # names of 5 bytes or more (shorter ones turn up in binary fingerprints by chance)
    needles = set(x for x in needles if len(x) >= 5 and x != b"corpus")
    ldir = os.path.join(work, "out", "done_%s.d" % ID)
    n_ledger = 0
    for d, _, names in os.walk(ldir):
        for n in names:
            data = open(os.path.join(d, n), "rb").read()
            n_ledger += "folders" in d and n.endswith(".fp")
            probs += ["%s contains %r" % (os.path.join(d, n), x) for x in needles if x in data]
    if n_ledger == 0:
        probs.append("no folder ledger written")
    report("privacy", probs, "rerun opened %d files; %d ledger run files, no folder name in "
           "done_%s.d" % (len(opened), n_ledger, ID))

    # ---- a changed corpus (last: it changes the corpus): changed folders read again,
    # rows = reference + fresh crawl
    from_ref("P")
    chg = {}
    d_add = "corpus/series"
    names = [n for n in files[d_add] if is_dicom(os.path.join(work, n))]
    shutil.copy2(os.path.join(work, names[0]), os.path.join(work, d_add, "zzz_copy.dcm"))
    chg[d_add] = "file added"
    d_rep = "corpus/natural"
    names = [n for n in files[d_rep] if is_dicom(os.path.join(work, n))]
    victim = os.path.join(work, names[-1])
    st = os.stat(victim)
    data = bytearray(open(victim, "rb").read())
    # its SOP Instance UID (0008,0018), explicit or implicit VR: the last digit changed
    i = data.find(b"\x08\x00\x18\x00UI", 132)
    if i >= 0:
        n, i = struct.unpack_from("<H", data, i + 6)[0], i + 8
    else:
        i = data.find(b"\x08\x00\x18\x00", 132)
        n, i = struct.unpack_from("<I", data, i + 4)[0], i + 8
    k = max(x for x in range(i, i + n) if chr(data[x]).isdigit())
    data[k] = ord("7") if data[k] != ord("7") else ord("3")
    open(victim, "r+b").write(bytes(data))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    chg[d_rep] = "rewritten in place, mtime kept"
    d_del = "corpus/geometry"
    os.unlink(os.path.join(work, sorted(files[d_del])[0]))
    chg[d_del] = "file removed"
    rc, text, opened = run_traced(binary, work, cfg["P"], 2, "changed")
    out = os.path.join(work, "out")
    probs = ["exit %s" % rc] if rc != 0 else []
    probs += K.check_clean(out, ID, pixels=False)
    for d, what in chg.items():
        left = [n for n in sorted(os.listdir(os.path.join(work, d)))]
        if not set(os.path.join(d, n) for n in left) <= opened:
            probs.append("%s (%s) not read again" % (d, what))
    other = (opened_folders(opened) & with_dicom) - set(chg)
    if other:
        probs.append("unchanged folders read again: %s" % sorted(other))
    shutil.rmtree(os.path.join(work, "resumed"), ignore_errors=True)
    os.rename(out, os.path.join(work, "resumed"))
    rc2, _ = K.run(binary, work, [cfg["P"]], np=2, log=os.path.join(work, "log_fresh"))
    fresh = rows_by_id(out)
    resumed = rows_by_id(os.path.join(work, "resumed"))
    ref_rows = rows_by_id(refs["P"])
    for kind in (0, 1):
        # done Scan IDs keep their rows (de-duplicated, as always); new ones are the fresh's
        want = dict((i, v[0]) for i, v in fresh[kind].items())
        want.update((i, v[0]) for i, v in ref_rows[kind].items())
        got = dict((i, v[0]) for i, v in resumed[kind].items())
        if set(got) != set(want):
            probs.append("kind %d: Scan IDs %s missing, %s extra" % (
                kind, sorted(set(want) - set(got))[:4], sorted(set(got) - set(want))[:4]))
        for i in set(got) & set(want):
            g = dict((key, val) for key, val in got[i].items() if val)
            w = dict((key, val) for key, val in want[i].items() if val)
            if g != w:
                probs.append("kind %d: row %s differs from the reference's or the fresh "
                             "crawl's" % (kind, i))
                break
    new_ids = (set(fresh[0]) | set(fresh[1])) - (set(ref_rows[0]) | set(ref_rows[1]))
    if len(new_ids) < 2 or twice(os.path.join(work, "resumed")):
        probs.append("want the copy's and the rewritten file's new rows once each, got %s" %
                     sorted(new_ids))
    report("changed", probs, "%d new rows (%s); fresh crawl exit %d" % (
        len(new_ids), ", ".join(sorted(new_ids))[:120], rc2))

    return K.finish("test_resume_folders", problems, t0, args, work)


if __name__ == "__main__":
    sys.exit(main())
