#!/usr/bin/python3
"""test_perfile_parts.py BINARY - per-file pixel crawls of many small images
with segment part files (issue 11: every rank writes its own scans' datasets
into its own part file with serial HDF5; the index is updated through its
spare file).

    /usr/bin/python3 tests/integration/test_perfile_parts.py build/dcmcrawl [--keep]

Corpus: 260 small images in 4 folders, written with pydicom: 8x8 uint16 and
int16 CT, 8x8 uint8 MR, 16x8 uint16 with 3 frames.  Crawled one scan per
file with pixel data, commit_every 40 (several checkpoints), at 1 rank (the
index copied and extended at each checkpoint, as small indexes are), at 2
and 3 ranks and at 2 ranks with gzip:1 (the index updated through its spare
at every checkpoint: DCMCRAWL_INDEX_SPARE_BYTES=0).
Checks:
  - every dataset equals pydicom's pixel_array of its file (dtype, shape,
    values), with the SPEC 4 attributes (scan_id = the name, n_files 1,
    source_folder, modality);
  - 2, 3 ranks and gzip give the same datasets and attributes, CSVs
    byte-identical (compare_outputs.py);
  - outputs clean: the index lists exactly the metadata rows, every link
    resolves, every segment file is referenced; at 3 ranks, part files of
    ranks 1 and 2 exist (seg_<n>.r<rank>.h5) and no file holds a dataset
    twice;
  - the spare file is an index one checkpoint behind: a subset of the live
    index's links;
  - a run killed (SIGKILL, every rank) while its index is written through
    the spare, then run again, ends identical to the 1-rank run;
  - an appended run (a fifth folder) ends with the union, clean;
  - pixel-run checkpoint defaults: one checkpoint for this small crawl; with
    the held-memory bound made small (DCMCRAWL_HELD_BYTES) several, cut by
    memory, and the same outputs as the 1-rank run;
  - a series of 3,000 slices stacked into one volume: its slice_positions
    attribute (72 KB, past the 64 KiB an object header message can hold, so
    stored densely) and instance_numbers read back equal to the files', its
    values equal to pydicom's slices in position order.
"""
import os
import re
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np
import pydicom

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gen"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "kill"))
import dcmgen as G  # noqa: E402
import kcommon as K  # noqa: E402

ATTRS = ("scan_id", "source_folder", "series_instance_uid", "study_instance_uid", "modality",
         "n_files", "slice_order", "spacing", "affine", "slice_positions", "instance_numbers",
         "rescale_slope", "rescale_intercept", "photometric_interpretation", "bits_stored",
         "uniform_spacing", "warnings")


def make_corpus(root, folders, tag=9):
    """folders: {name: kind}; returns every file written (UIDs under tag)"""
    files = []
    n = [0]

    def uids(kind):
        n[0] += 1
        return "%s.%d.%d" % (G.UID_ROOT, tag, n[0])

    rng = np.random.default_rng(11)
    study = uids("study")
    for f, kind in folders.items():
        os.makedirs(os.path.join(root, f), exist_ok=True)
        series = uids("series")
        for i in range(65):
            if kind == "ct16":
                arr = rng.integers(0, 4096, (8, 8))
                ds = G.image_dataset(uids, G.CT_STORAGE, study, series, "CT", arr, bits_alloc=16,
                                     bits_stored=12, signed=False, instance=i + 1,
                                     ipp=(0, 0, i), iop=G.iop_axial(), slope=1, intercept=-1024)
            elif kind == "cts":
                arr = rng.integers(-2000, 2000, (8, 8))
                ds = G.image_dataset(uids, G.CT_STORAGE, study, series, "CT", arr, bits_alloc=16,
                                     bits_stored=16, signed=True, instance=i + 1)
            elif kind == "mr8":
                arr = rng.integers(0, 256, (8, 8))
                ds = G.image_dataset(uids, G.MR_STORAGE, study, series, "MR", arr, bits_alloc=8,
                                     bits_stored=8, signed=False, instance=i + 1)
            else:  # multi-frame
                arr = rng.integers(0, 65535, (3, 16, 8))
                ds = G.image_dataset(uids, G.SC_STORAGE, study, series, "OT", arr, bits_alloc=16,
                                     bits_stored=16, signed=False, instance=i + 1)
            p = os.path.join(root, f, "im%03d.dcm" % i)
            G.save(ds, p)
            files.append(p)
    return files


def check_datasets(out, work, problems):
    """every dataset vs pydicom, through the metadata rows (SOP Instance UID -> file)"""
    rows = K.csv_rows(os.path.join(out, "metadata_parts.csv"))
    col = [i for i, c in enumerate(rows[0]) if c.endswith("(0008, 0018)")][0]  # SOPInstanceUID
    by_uid = {}
    for root, _, names in os.walk(os.path.join(work, "in")):
        for n in names:
            p = os.path.join(root, n)
            by_uid[str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)] = p
    with h5py.File(os.path.join(out, "pixel_data_parts.h5"), "r") as f:
        if len(f.keys()) != len(rows) - 1:
            problems.append("%s: %d datasets for %d rows" % (out, len(f.keys()), len(rows) - 1))
        for r in rows[1:]:
            sid, path = r[0], by_uid.get(r[col])
            if path is None or sid not in f:
                problems.append("%s: no file or no dataset for row %s" % (out, sid))
                continue
            want = pydicom.dcmread(path).pixel_array
            d = f[sid]
            got = d[()]
            if got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want):
                problems.append("%s: %s differs from pydicom (%s %s vs %s %s)" % (
                    out, sid, got.dtype, got.shape, want.dtype, want.shape))
            missing = [a for a in ATTRS if a not in d.attrs]
            if missing:
                problems.append("%s: %s lacks attributes %s" % (out, sid, missing))
                continue
            folder = os.path.relpath(os.path.dirname(path), work)
            if d.attrs["scan_id"] != sid or int(d.attrs["n_files"]) != 1 or \
                    d.attrs["source_folder"] != folder:
                problems.append("%s: %s attributes scan_id/n_files/source_folder: %r %r %r" % (
                    out, sid, d.attrs["scan_id"], d.attrs["n_files"], d.attrs["source_folder"]))


def check_parts(out, np_, problems):
    segdir = os.path.join(out, "pixel_data_parts.h5.d")
    names = sorted(os.listdir(segdir))
    bad = [n for n in names if not re.fullmatch(r"seg_\d+(\.r\d+)?\.h5", n)]
    if bad:
        problems.append("%s: unexpected files in the segment folder: %s" % (out, bad))
    ranks = set(int(m.group(1)) for m in (re.search(r"\.r(\d+)\.h5$", n) for n in names) if m)
    if np_ > 1 and ranks != set(range(1, np_)):
        problems.append("%s: part files of ranks %s, expected 1..%d" % (out, sorted(ranks), np_ - 1))
    seen = {}
    for n in names:
        with h5py.File(os.path.join(segdir, n), "r") as f:
            for k in f.keys():
                if k in seen:
                    problems.append("%s: %s in both %s and %s" % (out, k, seen[k], n))
                seen[k] = n
    idx = os.path.join(out, "pixel_data_parts.h5")
    with h5py.File(idx, "r") as f:
        live = set(f.keys())
        for k in live:
            lk = f.get(k, getlink=True)
            if os.path.basename(lk.filename) != seen.get(k):
                problems.append("%s: %s links to %s, stored in %s" % (out, k, lk.filename, seen.get(k)))
    spare = idx + ".spare"
    if not os.path.exists(spare):
        problems.append("%s: no spare index after several checkpoints" % out)
    else:
        with h5py.File(spare, "r") as f:
            behind = set(f.keys())
        if not behind < live:
            problems.append("%s: spare index is not a proper subset of the live one (%d vs %d)" % (
                out, len(behind), len(live)))


def same_as_np1(work, out, what, problems):
    """byte-identical CSVs, same datasets and attributes as the 1-rank run (the
    config file attribute names the output folder: not compared)"""
    r = subprocess.run([K.PY, os.path.join(HERE, "compare_outputs.py"), "--ignore-attr",
                        "config", os.path.join(work, "out_np1"), out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        problems.append("%s differs from np1: %s" % (what, r.stdout[-2000:]))


def memory_bound(binary, work, folders, problems):
    """pixel-run defaults (30 s per checkpoint at 2 ranks, no count that a
    260-file crawl reaches): one checkpoint; with the held-memory bound made
    small (DCMCRAWL_HELD_BYTES, ~20 rows) a checkpoint after every batch (a
    window of one 65-file folder each): cut by memory, the same outputs"""
    for name, held in (("mem_off", None), ("mem_on", "30000")):  # a few rows' worth
        cfg = os.path.join(work, "cfg_%s.yaml" % name)
        K.write_config(cfg, folders, "out_" + name, "parts", volumes=False, commit_every=1000000,
                       window_files=20)
        env = {"DCMCRAWL_HELD_BYTES": held} if held else {}
        rc, text = K.run(binary, work, [cfg], np=2, log=os.path.join(work, "log_%s.txt" % name),
                         env=env)
        out = os.path.join(work, "out_" + name)
        if rc != 0:
            problems.append("%s: exit %s: %s" % (name, rc, text[-2000:]))
            continue
        problems.extend("%s: %s" % (name, p) for p in K.check_clean(out, "parts"))
        same_as_np1(work, out, name, problems)
        segs = set(re.match(r"seg_(\d+)", n).group(1)
                   for n in os.listdir(os.path.join(out, "pixel_data_parts.h5.d")))
        if held and len(segs) != len(folders):
            problems.append("%s: %d checkpoints with a %s-byte bound on 260 rows" % (
                name, len(segs), held))
        if not held and len(segs) != 1:
            problems.append("%s: %d checkpoints, expected one (time and count not reached)" % (
                name, len(segs)))
        K.log("  %s: 2 ranks, pixel-run defaults, %d checkpoints: checked" % (name, len(segs)))


def kill_during_spare_update(binary, work, folders, env, problems):
    """SIGKILL of the whole job while the third checkpoint's spare is written
    (index phase made slow), then the same command again"""
    cfg = os.path.join(work, "cfg_kill.yaml")
    K.write_config(cfg, folders, "out_kill", "parts", volumes=False, commit_every=40)
    j = K.Job(binary, work, [cfg], np=2, trace=os.path.join(work, "trace_kill"),
              slow="index:400", log=os.path.join(work, "log_kill_a.txt"), env=env)
    hit = j.wait_for(lambda x: x[0] == 0 and x[2] == "index" and x[3] >= 3)
    time.sleep(0.2)
    j.kill_all()
    j.wait(timeout=60)
    if hit is None:
        problems.append("kill: the run ended before its third index write")
        return
    rc, text = K.run(binary, work, [cfg], np=2, log=os.path.join(work, "log_kill_b.txt"), env=env)
    out = os.path.join(work, "out_kill")
    if rc != 0:
        problems.append("kill: rerun exit %s: %s" % (rc, text[-2000:]))
        return
    problems.extend("kill: %s" % p for p in K.check_clean(out, "parts"))
    same_as_np1(work, out, "kill + rerun", problems)
    K.log("  kill: 2 ranks, SIGKILL while the spare index was written, rerun: checked")


def long_series(binary, work, problems, n=3000):
    """one volume of n 8x8 slices (z = -i: the volume runs in reverse file
    order): attributes larger than an object header message holds"""
    root = os.path.join(work, "long")
    os.makedirs(os.path.join(root, "s"), exist_ok=True)
    rng = np.random.default_rng(5)
    ids = iter(range(1, 10 ** 6))

    def uids(kind):
        return "%s.12.%d" % (G.UID_ROOT, next(ids))

    study, series = uids("study"), uids("series")
    slices = []
    for i in range(n):
        arr = rng.integers(0, 4096, (8, 8))
        ds = G.image_dataset(uids, G.CT_STORAGE, study, series, "CT", arr, bits_alloc=16,
                             bits_stored=12, signed=False, instance=i + 1, ipp=(0, 0, -i),
                             iop=G.iop_axial(), slope=1, intercept=-1024)
        G.save(ds, os.path.join(root, "s", "im%04d.dcm" % i))
        slices.append((-i, i + 1, arr.astype(np.uint16)))
    slices.sort()
    cfg = os.path.join(work, "cfg_long.yaml")
    K.write_config(cfg, [os.path.join(root, "s")], "out_long", "parts", volumes=True)
    rc, text = K.run(binary, work, [cfg], np=2, log=os.path.join(work, "log_long.txt"))
    out = os.path.join(work, "out_long")
    if rc != 0:
        problems.append("long series: exit %s: %s" % (rc, text[-2000:]))
        return
    problems.extend("long series: %s" % p for p in K.check_clean(out, "parts"))
    with h5py.File(os.path.join(out, "pixel_data_parts.h5"), "r") as f:
        names = list(f.keys())
        if len(names) != 1:
            problems.append("long series: %d datasets, expected one volume" % len(names))
            return
        d = f[names[0]]
        want = np.stack([a for _, _, a in slices])
        got = d[()]
        if got.shape != want.shape or not np.array_equal(got, want):
            problems.append("long series: volume %s %s differs from the slices %s" % (
                got.dtype, got.shape, want.shape))
        pos = np.asarray(d.attrs["slice_positions"])
        if pos.shape != (n, 3) or not np.array_equal(pos[:, 2], [z for z, _, _ in slices]):
            problems.append("long series: slice_positions %s differ from the files'" % (pos.shape,))
        inst = np.asarray(d.attrs["instance_numbers"])
        if not np.array_equal(inst, [k for _, k, _ in slices]):
            problems.append("long series: instance_numbers differ from the files'")
    K.log("  long series: one volume of %d slices, %d-byte slice_positions: checked" % (n, n * 24))


def main():
    args, binary, work = K.test_args(__doc__, "dcmcrawl_parts_")
    problems = []
    folders = {"in/a": "ct16", "in/b": "cts", "in/c": "mr8", "in/d": "mf"}
    files = make_corpus(work, folders)
    K.log("test_perfile_parts: %d files in %d folders" % (len(files), len(folders)))
    runs = [("np1", 1, "none"), ("np2", 2, "none"), ("np3", 3, "none"), ("gz2", 2, "gzip:1")]
    spare = {"DCMCRAWL_INDEX_SPARE_BYTES": "0", "OMPI_MCA_rmaps_base_oversubscribe": "1"}
    for name, np_, comp in runs:
        cfg = os.path.join(work, "cfg_%s.yaml" % name)
        K.write_config(cfg, list(folders), "out_" + name, "parts", volumes=False,
                       compression=comp, commit_every=40)
        rc, text = K.run(binary, work, [cfg], np=np_, log=os.path.join(work, "log_%s.txt" % name),
                         env=spare if np_ > 1 else {})
        out = os.path.join(work, "out_" + name)
        if rc != 0:
            problems.append("%s: exit %s: %s" % (name, rc, text[-2000:]))
            continue
        problems += ["%s: %s" % (name, p) for p in K.check_clean(out, "parts")]
        check_parts(out, np_, problems)
        if name == "np1":
            check_datasets(out, work, problems)
        else:
            same_as_np1(work, out, name, problems)
        K.log("  %s: %d ranks, compression %s: checked" % (name, np_, comp))
    memory_bound(binary, work, list(folders), problems)
    long_series(binary, work, problems)
    kill_during_spare_update(binary, work, list(folders), spare, problems)
    # an appended run brings a fifth folder: the index ends with the union
    more = {"in/e": "ct16"}
    files += make_corpus(os.path.join(work, "more"), {"e": "ct16"}, tag=10)
    shutil.move(os.path.join(work, "more", "e"), os.path.join(work, "in", "e"))
    cfg = os.path.join(work, "cfg_append.yaml")
    K.write_config(cfg, list(folders) + list(more), "out_np3", "parts", volumes=False,
                   commit_every=40)
    rc, text = K.run(binary, work, [cfg], np=3, log=os.path.join(work, "log_append.txt"), env=spare)
    out = os.path.join(work, "out_np3")
    if rc != 0:
        problems.append("append: exit %s: %s" % (rc, text[-2000:]))
    else:
        problems += ["append: %s" % p for p in K.check_clean(out, "parts")]
        check_parts(out, 3, problems)
        check_datasets(out, work, problems)
        with h5py.File(os.path.join(out, "pixel_data_parts.h5"), "r") as f:
            if len(f.keys()) != len(files):
                problems.append("append: %d datasets for %d files" % (len(f.keys()), len(files)))
        K.log("  append: 3 ranks, a fifth folder: checked")
    for p in problems:
        print("  FAIL: " + p)
    if problems:
        print("test_perfile_parts: FAIL (work dir kept: %s)" % work)
        return 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print("test_perfile_parts: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
