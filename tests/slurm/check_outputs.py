#!/usr/bin/python3
"""check_outputs.py OUT_DIR ID CORPUS [FOLDER ...] - a volume-mode crawl of
make_ct_corpus.py's series is complete and right.

OUT_DIR holds metadata_<ID>.csv and pixel_data_<ID>.h5 of a crawl run from
the folder that contains CORPUS, with input.folders = the FOLDERs given
(default: every archive_* in CORPUS) as paths relative to that folder. Checks,
independently of dcmcrawl, with pydicom:
  - pixel_data_<ID>.h5 opens and has exactly one dataset per series, named
    by its Scan ID (folder with / replaced by _, '_', SeriesInstanceUID);
  - each dataset equals the series' slices stacked by position (int16,
    shape (slices, rows, cols)) and its n_files attribute is the slice count;
  - metadata_<ID>.csv has one row per series with the right Scan ID and
    No. DICOMs in scan; there is no unreadable_files_<ID>.csv.
Prints what it checked; exits 1 on any mismatch.
"""
import collections
import csv
import os
import sys

import h5py
import numpy as np
import pydicom


def expected(corpus, folders):
    base = os.path.dirname(os.path.abspath(corpus))
    series = collections.defaultdict(list)
    for folder in folders:
        path = os.path.join(base, folder)
        for name in sorted(os.listdir(path)):
            ds = pydicom.dcmread(os.path.join(path, name))
            sid = folder.replace("/", "_").replace("\\", "_") + "_" + ds.SeriesInstanceUID
            series[sid].append((float(ds.ImagePositionPatient[2]), ds.pixel_array))
    return {sid: np.stack([p for _, p in sorted(sl, key=lambda t: t[0])])
            for sid, sl in series.items()}


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    out, oid, corpus = sys.argv[1:4]
    folders = sys.argv[4:] or sorted(
        os.path.join(os.path.basename(os.path.normpath(corpus)), d)
        for d in os.listdir(corpus) if d.startswith("archive_"))
    want = expected(corpus, folders)
    errors = []
    h5path = os.path.join(out, "pixel_data_%s.h5" % oid)
    with h5py.File(h5path, "r") as f:
        names = set(f.keys())
        for sid in sorted(set(want) - names):
            errors.append("no dataset for series %s" % sid)
        for sid in sorted(names - set(want)):
            errors.append("unexpected dataset %s" % sid)
        for sid in sorted(names & set(want)):
            d = f[sid]
            v = d[()]
            if v.dtype != np.int16 or v.shape != want[sid].shape:
                errors.append("%s: %s %s, expected int16 %s" % (sid, v.dtype, v.shape,
                                                               want[sid].shape))
            elif not np.array_equal(v, want[sid]):
                errors.append("%s: pixel values differ from pydicom's stack" % sid)
            if int(d.attrs.get("n_files", -1)) != want[sid].shape[0]:
                errors.append("%s: n_files %r" % (sid, d.attrs.get("n_files")))
    with open(os.path.join(out, "metadata_%s.csv" % oid), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    got = collections.Counter(r["Scan ID"] for r in rows)
    if sorted(got) != sorted(want) or any(n != 1 for n in got.values()):
        errors.append("metadata rows %d for %d series (duplicates: %s, missing: %s)" % (
            len(rows), len(want), sorted(k for k, n in got.items() if n > 1)[:3],
            sorted(set(want) - set(got))[:3]))
    for r in rows:
        sid = r["Scan ID"]
        if sid in want and r["No. DICOMs in scan"] != str(want[sid].shape[0]):
            errors.append("%s: No. DICOMs in scan %r" % (sid, r["No. DICOMs in scan"]))
    bad = os.path.join(out, "unreadable_files_%s.csv" % oid)
    if os.path.exists(bad):
        errors.append("unexpected %s" % bad)
    if errors:
        print("check_outputs: %s: %d problem(s):" % (out, len(errors)))
        for e in errors[:30]:
            print("  " + e)
        return 1
    print("check_outputs: %s: %d series, every one stored once with pydicom's pixels; "
          "%d metadata rows" % (out, len(want), len(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
