#!/usr/bin/python3
"""test_resume_append.py BINARY [--keep] [--work DIR] [--only CASE ...]

Appending to existing outputs (SPEC 7): a later run with the same output id
skips what is stored, appends the rest, widens the metadata header when new
columns come, and ends with the same content as one run over everything.

  folders      run 1 over some folders at 3 ranks, run 2 over more folders (that
               bring new columns: private tags, nested sequences) at 2 ranks;
               compared with one run over all of them at 1 rank: same header,
               same rows (as sets), same datasets and attributes.  Run 2 says how
               many scans were already done, its header contains run 1's
               columns, and run 1's rows keep every value.  Then `dcmcrawl pack`
               makes one file without external links and with the same content.
  metaonly     the same without pixel data (metadata CSV only)
  retry        unreadable scans are skipped by a second run; with
               retry_unreadable a scan whose file was repaired is stored and
               leaves unreadable_files, one still broken stays listed once
  retry_later  retry_unreadable where a later window retries a scan after an earlier
               window appended unreadable rows (metadata only and with pixels): both
               rows once, equal to a fresh run
  oldcrawler   outputs of the old Python crawler: pixel_data.h5 holding its
               datasets itself (no output id) and metadata.csv /
               unreadable_files.csv written by pandas; a run over more folders
               keeps the old datasets (moved beside the new index and linked),
               skips their scans and appends the new ones: equal to one run over
               everything; pack gives one self-contained file again
  oldreal      outputs written the way the original crawler writes them
               (tests/old_crawler.py: pydicom names and str() values through
               pandas, its float rewrites included; h5py datasets (1, rows,
               cols, slices) without attributes), appended to by dcmcrawl run
               with the old crawler's own flags and no config: the old scans
               are skipped, no column is duplicated (every column is a pydicom
               name: the old ones and those of the new rows, nothing else),
               the old rows keep every value byte for byte, the new rows equal
               the oracle's (pydicom), the old datasets are reachable and
               unchanged, the new ones are (1, rows, cols, slices) and equal to
               the oracle's; then the same run asking for csv_style dicom exits
               2 naming both styles and the file, touching nothing
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


class Checks:
    def __init__(self):
        self.problems = []

    def ok(self, cond, case, what):
        if not cond:
            self.problems.append("%s: %s" % (case, what))
        return cond


def run(binary, work, cfg, np, name, extra=()):
    rc, out = K.run(binary, work, [cfg] + list(extra), np=np,
                    log=os.path.join(work, "log_%s.txt" % name))
    return rc, out


def pack_check(binary, work, index, ch, case):
    packed = os.path.join(work, "packed_%s.h5" % case)
    r = subprocess.run(K.MPIRUN + ["-np", "1", binary, "pack", index, packed], cwd=work,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not ch.ok(r.returncode == 0, case, "pack exited %d: %s" % (r.returncode, r.stdout[-500:])):
        return
    import h5py
    with h5py.File(packed, "r") as f:
        ext = [k for k in f.keys() if not isinstance(f.get(k, getlink=True), h5py.HardLink)]
        ch.ok(not ext, case, "packed file still has %d links to other files" % len(ext))
        ch.ok(len(f.keys()) > 0, case, "packed file is empty")
    same, text = K.compare(index, packed)
    ch.ok(same, case, "packed file differs from the index it was packed from:\n" + text)


def case_folders(binary, work, folders, ch, pixels=True, case="folders"):
    f1 = [f for f in folders if f in ("ct/archive_0", "corpus/series", "corpus/ts/rle")]
    f2 = f1 + [f for f in folders if f in ("ct/archive_1", "corpus/meta", "corpus/multiframe",
                                            "corpus/bad")]
    out, fresh = "out_" + case, "fresh_" + case
    for d in (out, fresh):
        shutil.rmtree(os.path.join(work, d), ignore_errors=True)
    # same config text for the appended and the fresh run except the folder: ignore "config"
    c1, c2, cf = [os.path.join(work, "cfg_%s_%s.yaml" % (case, n)) for n in ("1", "2", "f")]
    K.write_config(c1, f1, out, "app", pixels=pixels, commit_every=3)
    K.write_config(c2, f2, out, "app", pixels=pixels, commit_every=3)
    K.write_config(cf, f2, fresh, "app", pixels=pixels, commit_every=3)
    rc1, log1 = run(binary, work, c1, 3, case + "_1")
    ch.ok(rc1 == 0, case, "run 1 exited %s" % rc1)
    meta = os.path.join(work, out, "metadata_app.csv")
    rows1 = K.csv_rows(meta)
    unr = os.path.join(work, out, "unreadable_files_app.csv")
    n_unr1 = len(K.csv_rows(unr)) - 1 if os.path.exists(unr) else 0
    rc2, log2 = run(binary, work, c2, 2, case + "_2")
    ch.ok(rc2 == 0, case, "run 2 exited %s" % rc2)
    rcf, logf = run(binary, work, cf, 1, case + "_f")
    ch.ok(rcf == 0, case, "fresh run exited %s" % rcf)
    if rc1 or rc2 or rcf:
        return
    n1 = len(rows1) - 1
    ch.ok("%d already done" % (n1 + n_unr1) in log2, case,
          "run 2 should skip the %d scans of run 1 (log: %s)" % (
              n1 + n_unr1, [ln for ln in log2.splitlines() if "already done" in ln]))
    rows2 = K.csv_rows(meta)
    h1, h2 = rows1[0], rows2[0]
    ch.ok(len(h2) > len(h1), case, "run 2 brings new columns, the header should be wider")
    ch.ok(set(h1) <= set(h2), case, "columns of run 1 missing after run 2")
    # every value of run 1 kept
    by_id = {r[0]: dict(zip(h2, r)) for r in rows2[1:]}
    lost = 0
    for r in rows1[1:]:
        new = by_id.get(r[0])
        if new is None or any(new.get(k, "") != v for k, v in zip(h1, r)):
            lost += 1
    ch.ok(lost == 0, case, "%d rows of run 1 lost values in the rewrite" % lost)
    same, text = K.compare(os.path.join(work, fresh), os.path.join(work, out), quiet=True)
    if not same:
        # the only allowed difference: the config attribute (other folder lists)
        r = subprocess.run([K.PY, os.path.join(HERE, "compare_outputs.py"), "--rows-as-sets",
                            "--ignore-attr", "config", "-q", os.path.join(work, fresh),
                            os.path.join(work, out)], stdout=subprocess.PIPE, text=True)
        ch.ok(r.returncode == 0, case, "appended outputs differ from one run over everything:\n"
              + r.stdout)
    ch.ok(not K.check_clean(os.path.join(work, out), "app", pixels), case,
          "outputs not clean: %s" % K.check_clean(os.path.join(work, out), "app", pixels))
    if pixels:
        pack_check(binary, work, os.path.join(work, out, "pixel_data_app.h5"), ch, case)
    return n1, len(rows2) - 1, len(h1), len(h2)


def truncate_pixels(path):
    """Cut the last 100 bytes of a DICOM file's pixel data (truncated pixel data)."""
    data = open(path, "rb").read()
    with open(path, "wb") as fh:
        fh.write(data[:-100])


def case_retry(binary, work, ch):
    case = "retry"
    src = os.path.join(work, "ct", "archive_0")
    base = os.path.join(work, "retry_in")
    shutil.rmtree(base, ignore_errors=True)
    shutil.copytree(src, os.path.join(base, "a"))
    shutil.copytree(os.path.join(work, "ct", "archive_1"), os.path.join(base, "b"))
    # one file of a series in each folder loses the end of its pixel data
    victims = []
    for d in ("a", "b"):
        files = sorted(os.listdir(os.path.join(base, d)))
        v = os.path.join(base, d, files[3])
        shutil.copy2(v, v + ".good")
        truncate_pixels(v)
        victims.append(v)
    folders = ["retry_in/a", "retry_in/b"]
    out = "out_retry"
    shutil.rmtree(os.path.join(work, out), ignore_errors=True)
    c1 = os.path.join(work, "cfg_retry_1.yaml")
    c2 = os.path.join(work, "cfg_retry_2.yaml")
    K.write_config(c1, folders, out, "r", commit_every=2)
    K.write_config(c2, folders, out, "r", commit_every=2, retry=True)
    unr = os.path.join(work, out, "unreadable_files_r.csv")
    meta = os.path.join(work, out, "metadata_r.csv")
    # .good copies are not DICOM-named but are DICOM: keep them out of the folders
    goods = []
    for v in victims:
        g = os.path.join(work, os.path.basename(v) + "_" + os.path.basename(os.path.dirname(v)))
        shutil.move(v + ".good", g)
        goods.append(g)
    rc, log = run(binary, work, c1, 2, "retry_1")
    ch.ok(rc == 0, case, "run 1 exited %s" % rc)
    u1 = K.csv_rows(unr) if os.path.exists(unr) else []
    ch.ok(len(u1) == 3, case, "run 1: 2 unreadable series expected, got %d rows" % (len(u1) - 1))
    ids = [r[1] for r in u1[1:]]
    ch.ok(all("truncated" in r[0] or "pixel" in r[0] for r in u1[1:]), case,
          "reasons should name the truncated pixel data: %s" % [r[0] for r in u1[1:]])
    # repair the file of folder a only
    shutil.copy2(goods[0], victims[0])
    rc, log = run(binary, work, c1, 2, "retry_2")
    ch.ok(rc == 0, case, "run 2 (no retry) exited %s" % rc)
    ch.ok(K.csv_rows(unr) == u1, case, "without retry_unreadable the unreadable list must not change")
    # the summary line (the crawl streams: no count of the work before it starts)
    ch.ok(re.search(r"\b0 scans written, 0 unreadable, [1-9]\d* already done", log) is not None,
          case, "without retry_unreadable nothing is to do")
    rc, log = run(binary, work, c2, 2, "retry_3")
    ch.ok(rc == 0, case, "run 3 (retry) exited %s" % rc)
    u3 = K.csv_rows(unr)
    m3 = [r[0] for r in K.csv_rows(meta)[1:]]
    fixed = [i for i in ids if i.startswith("retry_in_a_")]
    broken = [i for i in ids if i.startswith("retry_in_b_")]
    ch.ok(len(fixed) == 1 and len(broken) == 1, case, "one unreadable scan per folder expected")
    if len(fixed) == 1 and len(broken) == 1:
        ch.ok(fixed[0] in m3, case, "the repaired scan should now be stored")
        ch.ok([r[1] for r in u3[1:]] == broken, case,
              "unreadable_files should list only the still broken scan, once: %s" %
              [r[1] for r in u3[1:]])
        ch.ok(m3.count(fixed[0]) == 1, case, "repaired scan stored once")
    ch.ok("retrying 2 scans" in log, case, "run 3 should say it retries 2 scans")
    ch.ok(not K.check_clean(os.path.join(work, out), "r"), case,
          "outputs not clean: %s" % K.check_clean(os.path.join(work, out), "r"))
    # equal to a fresh run over the same (partly repaired) files
    shutil.rmtree(os.path.join(work, "fresh_retry"), ignore_errors=True)
    cf = os.path.join(work, "cfg_retry_f.yaml")
    K.write_config(cf, folders, "fresh_retry", "r", commit_every=2)
    rc, log = run(binary, work, cf, 2, "retry_f")
    r = subprocess.run([K.PY, os.path.join(HERE, "compare_outputs.py"), "--rows-as-sets",
                        "--ignore-attr", "config", "-q", os.path.join(work, "fresh_retry"),
                        os.path.join(work, out)], stdout=subprocess.PIPE, text=True)
    ch.ok(r.returncode == 0, case, "after the retry the outputs differ from a fresh run:\n" + r.stdout)


def case_retry_later(binary, work, ch, pixels):
    """retry_unreadable where a later window retries a scan while an earlier window of
    the same run has appended unreadable rows already (the file open for appends): the
    rewrite that forgets the retried rows must keep every row and the appends after it
    must land in the new file (a run of 0a1a5c4 aborted here)"""
    case = "retry_later_" + ("pixels" if pixels else "meta")
    base = os.path.join(work, case + "_in")
    shutil.rmtree(base, ignore_errors=True)
    src = os.path.join(work, "ct", "archive_0")
    files = sorted(os.listdir(src))
    for d in ("a", "b", "c"):
        os.makedirs(os.path.join(base, d))
    # the file meta cut short: unreadable whether pixel data is written or not
    for d in ("a", "c"):
        with open(os.path.join(base, d, "bad_" + d + ".dcm"), "wb") as fh:
            fh.write(b"\0" * 128 + b"DICM" + struct.pack("<HH2sH", 2, 0x10, b"UI", 64) +
                     b"1.2.840.10008.1.2.1")
    shutil.copy2(os.path.join(src, files[2]), os.path.join(base, "b", "good.dcm"))
    shutil.copy2(os.path.join(src, files[3]), os.path.join(base, "c", "good.dcm"))
    out = "out_" + case
    shutil.rmtree(os.path.join(work, out), ignore_errors=True)
    rel = [os.path.relpath(os.path.join(base, d), work) for d in ("a", "b", "c")]
    c1 = os.path.join(work, "cfg_%s_1.yaml" % case)
    c2 = os.path.join(work, "cfg_%s_2.yaml" % case)
    K.write_config(c1, rel[2:], out, "r", volumes=False, pixels=pixels, commit_every=1, window_files=1)
    K.write_config(c2, rel, out, "r", volumes=False, pixels=pixels, commit_every=1, window_files=1,
                   retry=True)
    unr = os.path.join(work, out, "unreadable_files_r.csv")
    rc, log = run(binary, work, c1, 2, case + "_1")
    ch.ok(rc == 0 and len(K.csv_rows(unr)) == 2, case, "run 1: exit %s, want 1 unreadable row" % rc)
    rc, log = run(binary, work, c2, 2, case + "_2")
    ch.ok(rc == 0, case, "run 2 (retry) exited %s: %s" % (rc, log[-800:]))
    ch.ok("retrying 1 scans" in log, case, "run 2 should say it retries 1 scan")
    ids = sorted(r[1] for r in K.csv_rows(unr)[1:]) if os.path.exists(unr) else []
    ch.ok(len(ids) == 2 and len(set(ids)) == 2 and all("bad_" in i for i in ids), case,
          "unreadable_files should list both cut files once each: %s" % ids)
    ch.ok(not K.check_clean(os.path.join(work, out), "r"), case,
          "outputs not clean: %s" % K.check_clean(os.path.join(work, out), "r"))
    fresh = "fresh_" + case
    shutil.rmtree(os.path.join(work, fresh), ignore_errors=True)
    cf = os.path.join(work, "cfg_%s_f.yaml" % case)
    K.write_config(cf, rel, fresh, "r", volumes=False, pixels=pixels, commit_every=1, window_files=1)
    rc, log = run(binary, work, cf, 2, case + "_f")
    r = subprocess.run([K.PY, os.path.join(HERE, "compare_outputs.py"), "--rows-as-sets",
                        "--ignore-attr", "config", "-q", os.path.join(work, fresh),
                        os.path.join(work, out)], stdout=subprocess.PIPE, text=True)
    ch.ok(r.returncode == 0, case, "after the retry the outputs differ from a fresh run:\n" + r.stdout)


def case_oldcrawler(binary, work, folders, ch):
    case = "oldcrawler"
    import h5py
    import pandas as pd
    f1 = [f for f in folders if f in ("ct/archive_0", "corpus/series", "corpus/bad")]
    f2 = f1 + [f for f in folders if f in ("ct/archive_1", "corpus/meta", "corpus/fourd")]
    for d in ("made_by_old", "old", "fresh_old"):
        shutil.rmtree(os.path.join(work, d), ignore_errors=True)
    # what the old crawler would have written for f1 (no output id): made here by
    # dcmcrawl, then rewritten the old way: one HDF5 file with the datasets in it
    # (h5py), CSVs by pandas
    c0 = os.path.join(work, "cfg_old_0.yaml")
    K.write_config(c0, f1, "made_by_old", None, commit_every=4)
    rc, log = run(binary, work, c0, 2, "old_0")
    if not ch.ok(rc == 0, case, "making the old outputs: exit %s" % rc):
        return
    os.makedirs(os.path.join(work, "old"))
    src = os.path.join(work, "made_by_old")
    with h5py.File(os.path.join(src, "pixel_data.h5"), "r") as fi, \
            h5py.File(os.path.join(work, "old", "pixel_data.h5"), "w") as fo:
        for k in fi.keys():
            d = fo.create_dataset(k, data=fi[k][()])
            for a, v in fi[k].attrs.items():
                d.attrs[a] = v
        for a, v in fi.attrs.items():
            fo.attrs[a] = v
    n_old = 0
    for n in ("metadata.csv", "unreadable_files.csv"):
        p = os.path.join(src, n)
        if os.path.exists(p):
            df = pd.read_csv(p, dtype=str, keep_default_na=False)
            df.to_csv(os.path.join(work, "old", n), index=False)
            if n == "metadata.csv":
                n_old = len(df)
    # dcmcrawl appends to them
    c2 = os.path.join(work, "cfg_old_2.yaml")
    K.write_config(c2, f2, "old", None, commit_every=4)
    rc, log = run(binary, work, c2, 2, "old_2")
    if not ch.ok(rc == 0, case, "appending to the old outputs: exit %s\n%s" % (rc, log[-1500:])):
        return
    n_unr = 0
    up = os.path.join(work, "old", "unreadable_files.csv")
    if os.path.exists(os.path.join(src, "unreadable_files.csv")):
        n_unr = len(K.csv_rows(os.path.join(src, "unreadable_files.csv"))) - 1
    ch.ok("%d already done" % (n_old + n_unr) in log, case,
          "the %d scans of the old outputs should be skipped: %s" % (
              n_old + n_unr, [ln for ln in log.splitlines() if "already done" in ln]))
    ch.ok("kept in place" in log, case, "the old datasets should be kept and linked (log)")
    ch.ok(os.path.exists(up), case, "unreadable_files.csv kept")
    cf = os.path.join(work, "cfg_old_f.yaml")
    K.write_config(cf, f2, "fresh_old", None, commit_every=4)
    rc, log = run(binary, work, cf, 2, "old_f")
    r = subprocess.run([K.PY, os.path.join(HERE, "compare_outputs.py"), "--rows-as-sets",
                        "--ignore-attr", "config", "-q", os.path.join(work, "fresh_old"),
                        os.path.join(work, "old")], stdout=subprocess.PIPE, text=True)
    ch.ok(r.returncode == 0, case, "appended old outputs differ from one run over everything:\n"
          + r.stdout)
    ch.ok(not K.check_clean(os.path.join(work, "old"), None), case,
          "outputs not clean: %s" % K.check_clean(os.path.join(work, "old"), None))
    pack_check(binary, work, os.path.join(work, "old", "pixel_data.h5"), ch, case)


def case_oldreal(binary, work, ch):
    case = "oldreal"
    sys.path.insert(0, os.path.dirname(HERE))
    import h5py
    import numpy as np
    import old_crawler
    import oracle as O
    f1 = ["ct/archive_0", "corpus/geometry"]
    f2 = f1 + ["ct/archive_1", "corpus/meta"]
    out = "real_old"
    shutil.rmtree(os.path.join(work, out), ignore_errors=True)
    os.makedirs(os.path.join(work, out))
    arrays = old_crawler.crawl(f1, out, cwd=work)
    meta = os.path.join(work, out, "metadata.csv")
    old_rows = K.csv_rows(meta)
    old_h = old_rows[0]
    if not ch.ok(len(arrays) >= 4 and len(old_rows) == len(arrays) + 1, case,
                 "the old crawler should have stored its scans: %d" % len(arrays)):
        return
    flags = ["--dicom_folders", "[%s]" % ",".join("'%s'" % f for f in f2), "--storage_folder",
             out, "--write_pixeldata", "True", "--eval_3d_scans", "True"]
    rc, log = K.run(binary, work, flags, np=2, log=os.path.join(work, "log_oldreal.txt"))
    if not ch.ok(rc == 0, case, "appending with the old flags: exit %s\n%s" % (rc, log[-1500:])):
        return
    orc = O.Oracle(f2, O.Options(volumes=True, write_pixeldata=True, layout="seed"), cwd=work)
    # (a series the old crawler stacked whole and dcmcrawl splits, _1 _2, is not one of them)
    n_done = len([sid for sid in arrays if sid in orc.scans])
    ch.ok(n_done >= 4 and "%d already done" % n_done in log, case,
          "the %d old scans should be skipped: %s" % (
              n_done, [ln for ln in log.splitlines() if "already done" in ln]))
    rows = K.csv_rows(meta)
    h = rows[0]
    ch.ok(len(h) == len(set(h)), case, "a column name twice in the header")
    it = iter(h)
    ch.ok(all(c in it for c in old_h), case, "the old columns lost their order")
    got = {r[0]: dict(zip(h, r)) for r in rows[1:]}
    want_cols = set(old_h)
    new_ids = []
    for sid, e in orc.scans.items():
        if sid in arrays or e.status != "stored":
            continue
        new_ids.append(sid)
        exp = orc.expected_row(e) or {}
        want_cols |= set(exp)
        row = got.get(sid)
        if not ch.ok(row is not None, case, "%s: no metadata row" % sid):
            continue
        bad = [(n, O.value_text(v), row.get(n)) for n, (c, v) in exp.items()
               if not O.value_matches(v, row.get(n, ""))]
        ch.ok(not bad, case, "%s: values differ from pydicom's: %s" % (sid, bad[:3]))
    ch.ok(len(new_ids) >= 4, case, "new scans expected, got %d" % len(new_ids))
    extra, missing = set(h) - want_cols, want_cols - set(h)
    ch.ok(not extra and not missing, case, "columns not named as pydicom names them: extra %s, "
          "missing %s" % (sorted(extra)[:5], sorted(missing)[:5]))
    for r in old_rows[1:]:
        row = got.get(r[0])
        if ch.ok(row is not None, case, "old row %s lost" % r[0]):
            changed = [k for k, v in zip(old_h, r) if row.get(k) != v]
            ch.ok(not changed, case, "old row %s changed in %s" % (r[0], changed[:5]))
            ch.ok(all(row[k] == "" for k in h if k not in old_h), case,
                  "old row %s got values in new columns" % r[0])
    with h5py.File(os.path.join(work, out, "pixel_data.h5"), "r") as f:
        for sid, a in arrays.items():
            ch.ok(sid in f and f[sid].shape == a.shape and np.array_equal(f[sid][()], a), case,
                  "old dataset %s not reachable or changed" % sid)
        for sid in new_ids:
            e = orc.scans[sid]
            if not ch.ok(sid in f, case, "new dataset %s missing" % sid):
                continue
            ds = f[sid]
            ch.ok(list(ds.shape) == orc.layout_shape(e), case, "%s: shape %s, want %s (layout "
                  "seed)" % (sid, ds.shape, orc.layout_shape(e)))
            cands = [orc.to_layout(e, a) for _, a in orc.expected_arrays(e)]
            ch.ok(any(c is not None and np.array_equal(ds[()], c) for c in cands), case,
                  "%s: pixel data differ from pydicom's" % sid)
    before = open(meta, "rb").read()
    rc, log = K.run(binary, work, flags + ["--set", "output.csv_style=dicom"], np=2,
                    log=os.path.join(work, "log_oldreal_dicom.txt"))
    ch.ok(rc == 2 and "csv_style seed" in log and "csv_style: dicom" in log and
          "metadata.csv" in log, case, "the other csv_style on the old CSV: exit %s, %s" % (
              rc, log.strip()[-400:]))
    ch.ok(open(meta, "rb").read() == before, case, "metadata.csv changed by a run that exited 2")
    return len(arrays), len(new_ids), len(old_h), len(h)


def main():
    args, binary, work = K.test_args(__doc__, "dcmcrawl_append_")
    t0 = time.time()
    folders = K.make_corpus(work)
    ch = Checks()

    def want(n):
        return not args.only or n in args.only

    if want("folders"):
        r = case_folders(binary, work, folders, ch)
        if r:
            print("  folders: run 1 %d scans (%d columns), run 2 %d scans (%d columns)" % (
                r[0], r[2], r[1], r[3]))
    if want("metaonly"):
        r = case_folders(binary, work, folders, ch, pixels=False, case="metaonly")
        if r:
            print("  metaonly: run 1 %d scans (%d columns), run 2 %d scans (%d columns)" % (
                r[0], r[2], r[1], r[3]))
    if want("retry"):
        case_retry(binary, work, ch)
        print("  retry: done")
    if want("retry_later"):
        for pixels in (False, True):
            case_retry_later(binary, work, ch, pixels)
        print("  retry_later: done")
    if want("oldcrawler"):
        case_oldcrawler(binary, work, folders, ch)
        print("  oldcrawler: done")
    if want("oldreal"):
        r = case_oldreal(binary, work, ch)
        if r:
            print("  oldreal: %d scans (%d columns) by the old crawler, %d appended (%d columns)"
                  % (r[0], r[2], r[1], r[3]))
    print()
    for p in ch.problems:
        print("  problem: " + p)
    print("test_resume_append: %s in %.0fs" % ("FAIL" if ch.problems else "PASS", time.time() - t0))
    if not ch.problems and not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if ch.problems else 0


if __name__ == "__main__":
    sys.exit(main())
