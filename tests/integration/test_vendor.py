#!/usr/bin/python3
"""test_vendor.py BINARY [--keep DIR] - vendor conventions (SPEC 11) end to end.

  nibabel    Siemens diffusion mosaics shipped with Debian's python3-nibabel
             (nibabel/nicom/tests/data/siemens_dwi_*.dcm.gz): our volumes and
             affines equal nibabel's MosaicWrapper (get_data(), affine; both in
             LPS; nibabel's index (row, col, slice) is our (z, y, x) permuted),
             voxel for voxel; as one series they are 4D with repeat_axis
             b_value.  0.dcm/1.dcm (pixel data cut short: 48 tiles do not fit
             256x256) are stored whole with a warning.
  mosaics    mosaics written here with pydicom and a CSA header written here
             (CSA2 "SV10" and CSA1, several matrix sizes and tile counts, the
             last grid row partly empty, oblique, both slice normal signs,
             count in (0019,xx0A) or only in the CSA, RLE compressed): each
             volume equals a numpy demosaic of the file, positions equal the
             first-tile formula, slice_times the MosaicRefAcqTimes in stored
             order; nibabel's wrapper (which reads our CSA) agrees on data and
             affine; a series of 3 is 4D (3, n, r, c) with repeat_axis
             acquisition; per-file mode gives (n, r, c); 3 ranks give the same
             datasets as 1; gzip (collective writes of kept frames) and layout
             seed ((1, r, c, volumes, n)) hold the same voxels.
  malformed  garbage, truncated or absurd CSA headers: with (0019,xx0A) the
             mosaic is still cut (warning names the CSA problem); without it
             the image is stored whole with a warning; never a crash.
  axes       4D series whose repeats differ by EchoTime, ImageType (magnitude/
             phase), DiffusionBValue, TemporalPositionIdentifier: repeat_axis
             and the repeat_* values.
  seriesnum  one SeriesInstanceUID, SeriesNumbers 1..3: three scans _1.._3
             (split_inconsistent false: unreadable "inconsistent SeriesNumber").
  philips    Philips private Scale Slope / Rescale Slope / Intercept per slice
             as attributes; philips_scaling: floating stores
             (SV * RS + RI) / (RS * SS) as float32.
  enhanced   an enhanced multi-frame MR file, 2 positions x 2 b-values given per
             frame (MRDiffusionSequence) and a per-frame Philips private
             sequence with each frame's Scale Slope: 4D with repeat_axis
             b_value, philips_scale_slope per slice, floating values per frame.
  highbits   12-bit unsigned data with garbage in bits 12-15 (uncompressed,
             the raw-copy path, and RLE): stored values are the low 12 bits.
"""
import argparse
import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings

import h5py
import numpy as np
import pydicom

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gen"))
import dcmgen as G  # noqa: E402

warnings.simplefilter("ignore")
NIB_DATA = "/usr/lib/python3/dist-packages/nibabel/nicom/tests/data"
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
PROBLEMS = []


def check(cond, case, what):
    if not cond:
        PROBLEMS.append("%s: %s" % (case, what))
        print("FAIL %s: %s" % (case, what))
    return cond


# ------------------------------------------------------------------ running

def crawl(binary, work, name, folders, volumes=True, extra="", np_=1):
    out = os.path.join(work, "out_" + name)
    shutil.rmtree(out, ignore_errors=True)
    cfg = os.path.join(work, name + ".yaml")
    with open(cfg, "w") as f:
        f.write("input:\n  folders: [%s]\noutput:\n  folder: %s\n  write_pixeldata: true\n"
                "  volumes: %s\n%s" % (", ".join(folders), out, "true" if volumes else "false", extra))
    cmd = [binary, cfg] if np_ == 1 else ["mpirun", "--allow-run-as-root", "--oversubscribe",
                                           "-np", str(np_), binary, cfg]
    r = subprocess.run(cmd, cwd=work, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=300)
    if not check(r.returncode == 0, name, "exit %d: %s" % (r.returncode, r.stdout[-800:])):
        return None, None
    hp = os.path.join(out, "pixel_data.h5")
    h5 = h5py.File(hp, "r") if os.path.exists(hp) else {}
    unread = {}
    up = os.path.join(out, "unreadable_files.csv")
    if os.path.exists(up):
        import csv
        with open(up, newline="") as f:
            for row in csv.DictReader(f):
                unread[row["Scan ID"]] = row["Reason for failure"]
    return h5, unread


def setup(work, n, name):
    """(uid maker under its own root, a study UID, a new folder work/name)"""
    uids = G.UidMaker(G.UID_ROOT + ".%d" % n)
    folder = os.path.join(work, name)
    os.makedirs(folder, exist_ok=True)
    return uids, uids("study"), folder


def attr(ds, name):
    v = ds.attrs[name]
    return v.decode() if isinstance(v, bytes) else v


def find(h5, suffix):
    keys = [k for k in h5 if k.endswith(suffix)]
    return h5[keys[0]] if len(keys) == 1 else None


# --------------------------------------------------------------------- CSA

def csa_header(tags, kind=2):
    """A CSA header (kind 2: "SV10" CSA2, kind 1: CSA1) holding tags, each
    (name, vr, values as text, vm).  Items past the values are empty."""
    out = (b"SV10\x04\x03\x02\x01" if kind == 2 else b"") + struct.pack("<II", len(tags), 77)
    first_n = None
    for name, vr, vals, vm in tags:
        n_items = max(len(vals), 6)
        if first_n is None:
            first_n = n_items
        out += name.encode().ljust(64, b"\0") + struct.pack("<i", vm) + vr.encode().ljust(4, b"\0")
        out += struct.pack("<iii", 3, n_items, 77)
        for k in range(n_items):
            v = (vals[k].encode() + b"\0") if k < len(vals) else b""
            x0 = len(v) if kind == 2 else len(v) + first_n
            out += struct.pack("<4i", x0, len(v), 77, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)
    return out


def mosaic_tags(n, normal=None, times=None, with_n=True):
    tags = [("EchoLinePosition", "IS", ["64"], 1)]
    if with_n:
        tags.append(("NumberOfImagesInMosaic", "US", [str(n)], 1))
    tags.append(("AcquisitionMatrixText", "SH", ["64p*64"], 1))
    if normal is not None:
        tags.append(("SliceNormalVector", "FD", ["%.8f" % x for x in normal], 3))
    if times is not None:
        tags.append(("MosaicRefAcqTimes", "FD", ["%.5f" % t for t in times], 0))
    return tags


def unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def mosaic_file(path, uids, study, series, n, tr, tc, *, seed, acq=1, instance=1, iop=None,
                sign=1, csa="csa2", n_private=True, n_in_csa=True, ts=None, times=True,
                spacing=(1.5, 1.25), sbs=3.5):
    """One mosaic of n tiles of tr x tc; returns (pixels, ipp, iop, times)."""
    m = int(np.ceil(np.sqrt(n)))
    rng = np.random.default_rng(seed)
    pix = rng.integers(0, 4096, size=(m * tr, m * tc)).astype(np.uint16)
    iop = iop if iop is not None else [1, 0, 0, 0, 1, 0]
    ipp = [-100.0 + seed, -80.5, 20.25]
    nrm = unit(np.cross(iop[:3], iop[3:]))
    tt = [round(37.5 * ((k * 7) % n), 3) for k in range(n)] if times else None

    def extra(ds):
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND", "MOSAIC"]
        ds.Manufacturer = "SIEMENS"
        ds.SpacingBetweenSlices = G.fmt_ds(sbs)
        ds.SliceThickness = "3"
        ds.EchoTime = "30"
        if n_private:
            ds.private_block(0x0019, "SIEMENS MR HEADER", create=True).add_new(0x0A, "US", n)
        if csa == "garbage":
            blob = bytes(rng.integers(0, 256, size=300).astype(np.uint8))
        elif csa == "truncated":
            blob = csa_header(mosaic_tags(n, sign * nrm, tt, n_in_csa))[:150]
        elif csa == "many_tags":
            blob = b"SV10\x04\x03\x02\x01" + struct.pack("<II", 0x7FFFFFFF, 77) + b"\0" * 100
        elif csa == "long_item":
            blob = bytearray(csa_header(mosaic_tags(n, sign * nrm, tt, n_in_csa)))
            struct.pack_into("<i", blob, 8 + 8 + 84 + 4, 0x7FFFFFF0)  # first item's length
            blob = bytes(blob)
        elif csa:
            blob = csa_header(mosaic_tags(n, sign * nrm, tt, n_in_csa), 1 if csa == "csa1" else 2)
        else:
            blob = None
        if blob is not None:
            ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True).add_new(0x10, "OB", blob)

    ds = G.image_dataset(uids, G.MR_STORAGE, study, series, "MR", pix, bits_alloc=16, bits_stored=12,
                         signed=False, ipp=ipp, iop=iop, pixel_spacing=spacing, instance=instance,
                         acq=acq, extra=extra)
    if ts:
        tmp = path + ".le.dcm"
        G.save(ds, tmp)
        G.convert_ts(tmp, path, ts)
        os.remove(tmp)
    else:
        G.save(ds, path)
    return pix, ipp, iop, tt


def demosaic(pix, n, tr, tc):
    m = int(np.ceil(np.sqrt(n)))
    return np.stack([pix[(s // m) * tr:(s // m + 1) * tr, (s % m) * tc:(s % m + 1) * tc]
                     for s in range(n)])


def expected_geometry(pix, n, ipp, iop, sign, spacing, sbs):
    """positions of tiles 0..n-1 (nibabel's first-tile formula + normal with the CSA sign)"""
    rows, cols = pix.shape
    m = int(np.ceil(np.sqrt(n)))
    row_c, col_c = np.array(iop[:3], float), np.array(iop[3:], float)
    p0 = (np.array(ipp) + row_c * spacing[1] * (cols - cols / m) / 2
          + col_c * spacing[0] * (rows - rows / m) / 2)
    step = sign * unit(np.cross(row_c, col_c)) * sbs
    return np.array([p0 + s * step for s in range(n)])


def same_attrs(a, b):
    """every attribute but source_folder equal (NaN equal to NaN)"""
    if set(a.attrs) != set(b.attrs):
        return False
    for k in a.attrs:
        x, y = np.asarray(a.attrs[k]), np.asarray(b.attrs[k])
        if k == "source_folder":
            continue
        if x.dtype.kind == "f" and y.dtype.kind == "f":
            if x.shape != y.shape or not np.array_equal(x, y, equal_nan=True):
                return False
        elif x.shape != y.shape or not np.all(x == y):
            return False
    return True


def check_mosaic_volume(case, d, vol, pos, times, sign):
    """d: our 3D dataset; vol: tiles in tile order; pos: tile positions; in
    volume mode the stored order runs along +row x col (SPEC 5), so a
    negative CSA normal reverses the tiles (sign -1); per-file mode keeps
    the file's (tile) order (sign +1)"""
    order = list(range(len(vol))) if sign > 0 else list(range(len(vol)))[::-1]
    check(d.shape == vol.shape, case, "shape %s, expected %s" % (d.shape, vol.shape))
    if d.shape == vol.shape:
        check(np.array_equal(d[()], vol[order]), case, "voxels differ from the numpy demosaic")
    sp = d.attrs["slice_positions"]
    check(np.allclose(sp, pos[order], atol=1e-4), case, "slice_positions %s, expected %s" % (
        sp[:2].tolist(), pos[order][:2].tolist()))
    a = d.attrs["affine"]
    if len(vol) > 1:
        check(np.allclose(a[:3, 0], pos[order][1] - pos[order][0], atol=1e-5), case, "affine z column")
    check(np.allclose(a[:3, 3], pos[order][0], atol=1e-5), case, "affine origin")
    if times is not None:
        st = d.attrs.get("slice_times")
        check(st is not None and np.allclose(st, np.array(times)[order]), case,
              "slice_times %s, expected %s" % (None if st is None else st.tolist(), np.array(times)[order]))


# ------------------------------------------------------------------ nibabel

def nib_case(binary, work):
    import nibabel.nicom.dicomwrappers as W
    src = os.path.join(work, "nib")
    os.makedirs(src, exist_ok=True)
    for f in ("siemens_dwi_0.dcm.gz", "siemens_dwi_1000.dcm.gz"):
        with gzip.open(os.path.join(NIB_DATA, f)) as g, open(os.path.join(src, f[:-3]), "wb") as o:
            o.write(g.read())
    for f in ("0.dcm", "1.dcm"):
        shutil.copy(os.path.join(NIB_DATA, f), src)
    h5, _ = crawl(binary, work, "nib", [src], volumes=False)
    if h5 is None:
        return
    P = np.zeros((4, 4))  # our index (z, y, x, 1) -> nibabel's (row, col, slice, 1)
    P[0, 1] = P[1, 2] = P[2, 0] = P[3, 3] = 1
    for f in ("siemens_dwi_0.dcm", "siemens_dwi_1000.dcm"):
        w = W.wrapper_from_file(os.path.join(src, f))
        check(w.is_mosaic, "nibabel", "%s is not a mosaic for nibabel" % f)
        sop = pydicom.dcmread(os.path.join(src, f), stop_before_pixels=True).SOPInstanceUID
        d = find(h5, sop)
        if not check(d is not None, "nibabel", "no dataset for %s" % f):
            continue
        ref = np.transpose(w.get_data(), (2, 0, 1))
        check(d.shape == ref.shape, "nibabel", "%s shape %s, nibabel %s" % (f, d.shape, ref.shape))
        check(np.array_equal(d[()], ref), "nibabel", "%s voxels differ from nibabel's" % f)
        check(np.allclose(d.attrs["affine"], w.affine @ P, atol=1e-4), "nibabel",
              "%s affine %s, nibabel %s" % (f, d.attrs["affine"].tolist(), (w.affine @ P).tolist()))
    for f in ("0.dcm", "1.dcm"):
        sop = pydicom.dcmread(os.path.join(src, f), stop_before_pixels=True).SOPInstanceUID
        d = find(h5, sop)
        if check(d is not None, "nibabel", "no dataset for %s" % f):
            check(d.shape == (256, 256) and "does not tile 256x256" in attr(d, "warnings"), "nibabel",
                  "%s: %s %r" % (f, d.shape, attr(d, "warnings")))
    # the two diffusion volumes as one series: 4D, first axis the b-value
    one = os.path.join(work, "nib4d")
    os.makedirs(one, exist_ok=True)
    refs = []
    for f in ("siemens_dwi_0.dcm", "siemens_dwi_1000.dcm"):
        ds = pydicom.dcmread(os.path.join(src, f))
        ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1011.2.999"
        ds.SeriesNumber = 5
        ds.save_as(os.path.join(one, f))
        refs.append(np.transpose(W.wrapper_from_file(os.path.join(src, f)).get_data(), (2, 0, 1)))
    h5, _ = crawl(binary, work, "nib4d", [one])
    if h5 is None:
        return
    d = find(h5, "1.2.826.0.1.3680043.10.1011.2.999")
    if check(d is not None and d.ndim == 4, "nibabel 4D", "no 4D dataset"):
        check(d.shape == (2,) + refs[0].shape, "nibabel 4D", "shape %s" % (d.shape,))
        check(np.array_equal(d[0], refs[0]) and np.array_equal(d[1], refs[1]), "nibabel 4D",
              "volumes differ from nibabel's")
        check(attr(d, "repeat_axis") == "b_value", "nibabel 4D", "repeat_axis %r" % attr(d, "repeat_axis"))
        check(list(d.attrs["repeat_b_value"]) == [0, 1000], "nibabel 4D",
              "repeat_b_value %s" % d.attrs["repeat_b_value"])


# ------------------------------------------------------------------ mosaics

MOSAICS = [  # name, n, tile rows, tile cols, options
    ("n10_4x4", 10, 12, 10, {}),
    ("n9_3x3_neg", 9, 8, 8, {"sign": -1}),
    ("n5_oblique", 5, 10, 6, {"iop": [0.866025, 0.5, 0, -0.5, 0.866025, 0]}),
    ("n1", 1, 7, 9, {}),
    ("n36_csa_only", 36, 6, 6, {"n_private": False}),
    ("n7_csa1", 7, 9, 5, {"csa": "csa1", "sign": -1}),
    ("n12_private_only", 12, 8, 6, {"n_in_csa": False}),
    ("n6_no_normal", 6, 6, 8, {"csa": None}),
    ("n10_rle", 10, 8, 8, {"ts": "rle"}),
]


def mosaic_case(binary, work):
    import nibabel.nicom.dicomwrappers as W
    uids, study, src = setup(work, 12, "mosaics")
    made = {}
    for i, (name, n, tr, tc, o) in enumerate(MOSAICS):
        if o.get("ts") and not G.tool_available("dcmcrle"):
            continue
        folder = os.path.join(src, name)
        os.makedirs(folder, exist_ok=True)
        series = uids("series")
        vols = []
        for v in range(3):  # a series of 3 mosaics (volumes): 4D
            p = os.path.join(folder, "vol%d.dcm" % v)
            pix, ipp, iop, tt = mosaic_file(p, uids, study, series, n, tr, tc, seed=10 * i + 1, acq=v + 1,
                                            instance=v + 1, **o)
            # the same position in every volume; pixels differ
            if v:
                ds = pydicom.dcmread(p)
                rng = np.random.default_rng(100 * i + v)
                if not o.get("ts"):
                    pix = rng.integers(0, 4096, size=pix.shape).astype(np.uint16)
                    ds.PixelData = pix.tobytes()
                    ds.save_as(p)
            vols.append(pix)
        made[name] = (folder, series, n, tr, tc, o, vols, ipp, iop, tt)
    folders = [made[k][0] for k in made]
    h5, _ = crawl(binary, work, "mosaics", folders)
    h5_3, _ = crawl(binary, work, "mosaics_np3", folders, np_=3)
    h5_pf, _ = crawl(binary, work, "mosaics_perfile", folders, volumes=False)
    h5_gz, _ = crawl(binary, work, "mosaics_gzip", folders, extra="  compression: gzip:1\n")
    h5_seed, _ = crawl(binary, work, "mosaics_seed", folders, extra="  layout: seed\n")
    if h5 is None or h5_pf is None:
        return
    for name, (folder, series, n, tr, tc, o, vols, ipp, iop, tt) in made.items():
        sign = o.get("sign", 1) if o.get("csa", "csa2") else 1
        pos = expected_geometry(vols[0], n, ipp, iop, sign, (1.5, 1.25), 3.5)
        d = find(h5, series)
        if not check(d is not None, name, "no dataset"):
            continue
        check(d.shape == (3, n, tr, tc), name, "4D shape %s, expected %s" % (d.shape, (3, n, tr, tc)))
        check(attr(d, "repeat_axis") == "acquisition", name, "repeat_axis %r" % attr(d, "repeat_axis"))
        check(list(d.attrs["repeat_acquisition_number"]) == [1, 2, 3], name, "repeat_acquisition_number")
        if d.shape == (3, n, tr, tc):
            times = tt if o.get("csa", "csa2") else None
            for v in range(3):
                check_mosaic_volume("%s vol %d" % (name, v), _View(d, v), demosaic(vols[v], n, tr, tc), pos,
                                    times, sign)
        if o.get("csa", "csa2") is None:
            check("without CSA SliceNormalVector" in attr(d, "warnings"), name, "warning %r" % attr(d, "warnings"))
        for other, label in ((h5_gz, "gzip"), (h5_seed, "seed layout")):
            do = find(other, series) if other is not None else None
            want = d[()] if label == "gzip" else np.transpose(d[()], (2, 3, 0, 1))[None]
            check(do is not None and do.shape == want.shape and np.array_equal(do[()], want), name,
                  "%s dataset differs (%s)" % (label, None if do is None else do.shape))
        if h5_3 is not None:
            d3 = find(h5_3, series)
            check(d3 is not None and np.array_equal(d3[()], d[()]) and same_attrs(d, d3), name,
                  "3 ranks differ from 1")
        # per-file: one volume per mosaic, and nibabel reading our CSA agrees
        sop = pydicom.dcmread(os.path.join(folder, "vol0.dcm"), stop_before_pixels=True).SOPInstanceUID
        dp = find(h5_pf, sop)
        if check(dp is not None, name, "per-file dataset missing"):
            check_mosaic_volume(name + " per-file", dp, demosaic(vols[0], n, tr, tc), pos,
                                tt if o.get("csa", "csa2") else None, 1)
            if o.get("csa", "csa2") == "csa2" and o.get("n_in_csa", True) and not o.get("ts"):
                w = W.wrapper_from_file(os.path.join(folder, "vol0.dcm"))
                ref = np.transpose(w.get_data(), (2, 0, 1))
                P = np.zeros((4, 4))
                P[0, 1] = P[1, 2] = P[2, 0] = P[3, 3] = 1
                aff = w.affine @ P  # per-file: tile order, as nibabel
                check(np.array_equal(dp[()], ref), name, "voxels differ from nibabel's wrapper")
                check(np.allclose(dp.attrs["affine"], aff, atol=1e-4), name,
                      "affine %s, nibabel %s" % (dp.attrs["affine"].tolist(), aff.tolist()))


class _View:
    """volume v of a 4D dataset, looking like a 3D one (its attributes are per volume)"""

    def __init__(self, d, v):
        self.d, self.v = d, v
        self.shape = d.shape[1:]
        self.attrs = d.attrs

    def __getitem__(self, k):
        return self.d[self.v]


# ---------------------------------------------------------------- malformed

def malformed_case(binary, work):
    uids, study, src = setup(work, 13, "malformed")
    cases = [("garbage", True), ("truncated", True), ("many_tags", True), ("long_item", True),
             ("garbage", False), ("truncated", False), ("many_tags", False)]
    made = []
    for i, (kind, private) in enumerate(cases):
        series = uids("series")
        p = os.path.join(src, "m%d.dcm" % i)
        pix, ipp, iop, tt = mosaic_file(p, uids, study, series, 6, 8, 8, seed=50 + i, csa=kind,
                                        n_private=private)
        made.append((kind, private, series, pix, ipp, iop))
    h5, unread = crawl(binary, work, "malformed", [src])
    if h5 is None:
        return
    check(not unread, "malformed", "unreadable: %s" % unread)
    for kind, private, series, pix, ipp, iop in made:
        case = "malformed %s %s" % (kind, "with (0019,xx0A)" if private else "CSA only")
        d = find(h5, series)
        if not check(d is not None, case, "no dataset"):
            continue
        w = attr(d, "warnings")
        if private:
            pos = expected_geometry(pix, 6, ipp, iop, 1, (1.5, 1.25), 3.5)
            check_mosaic_volume(case, d, demosaic(pix, 6, 8, 8), pos, None, 1)
            check("CSA header" in w, case, "warning %r" % w)
            check("slice_times" not in d.attrs, case, "slice_times from a broken CSA header")
        else:
            check(d.shape == (1,) + pix.shape and np.array_equal(d[0], pix), case,
                  "not stored whole: %s" % (d.shape,))
            check("stored whole" in w, case, "warning %r" % w)


# ---------------------------------------------------------------- 4D axes

def axes_case(binary, work):
    uids, study, src = setup(work, 14, "axes")
    variants = {  # axis: per repeat: a function setting the repeat's value
        "echo": (lambda ds, r: setattr(ds, "EchoTime", ["5", "12.5"][r]), "repeat_echo_time", [5, 12.5]),
        "image_type": (lambda ds, r: setattr(ds, "ImageType", ["ORIGINAL", "PRIMARY", ["M", "P"][r], "ND"]),
                       "repeat_image_type", ["ORIGINAL\\PRIMARY\\M\\ND", "ORIGINAL\\PRIMARY\\P\\ND"]),
        "b_value": (lambda ds, r: setattr(ds, "DiffusionBValue", [0.0, 1000.0][r]), "repeat_b_value", [0, 1000]),
        "time": (lambda ds, r: setattr(ds, "TemporalPositionIdentifier", r + 1), "repeat_temporal_position",
                 [1, 2]),
    }
    series_of = {}
    rng = np.random.default_rng(7)
    for axis, (setter, name, values) in variants.items():
        series = uids("series")
        series_of[axis] = series
        folder = os.path.join(src, axis)
        os.makedirs(folder, exist_ok=True)
        for r in range(2):
            for z in range(3):
                arr = rng.integers(0, 1000, size=(6, 5))
                ds = G.image_dataset(uids, G.MR_STORAGE, study, series, "MR", arr, bits_alloc=16,
                                     bits_stored=16, signed=False, ipp=[0, 0, 2.0 * z],
                                     iop=[1, 0, 0, 0, 1, 0], instance=r * 3 + z + 1,
                                     extra=lambda d, r=r, s=setter: (setattr(d, "EchoTime", "5"), s(d, r)))
                G.save(ds, os.path.join(folder, "r%d_z%d.dcm" % (r, z)))
    h5, _ = crawl(binary, work, "axes", [os.path.join(src, a) for a in variants])
    if h5 is None:
        return
    for axis, (setter, name, values) in variants.items():
        d = find(h5, series_of[axis])
        if not check(d is not None and d.shape == (2, 3, 6, 5), axis, "4D dataset missing"):
            continue
        check(attr(d, "repeat_axis") == axis, axis, "repeat_axis %r" % attr(d, "repeat_axis"))
        got = [x.decode() if isinstance(x, bytes) else x for x in d.attrs[name]]
        check(list(got) == values, axis, "%s %s, expected %s" % (name, got, values))


# ---------------------------------------------------------- SeriesNumber split

def seriesnum_case(binary, work):
    uids, study, folder = setup(work, 15, "seriesnum")
    series = uids("series")
    rng = np.random.default_rng(3)
    arrays = {}
    for sn in (1, 2, 3):
        for z in range(2):
            arr = rng.integers(0, 1000, size=(4, 4))
            arrays[(sn, z)] = arr
            ds = G.image_dataset(uids, G.CT_STORAGE, study, series, "CT", arr, bits_alloc=16, bits_stored=16,
                                 signed=False, ipp=[0, 0, float(z)], iop=[1, 0, 0, 0, 1, 0],
                                 instance=10 * sn + z, series_number=sn)
            G.save(ds, os.path.join(folder, "s%d_%d.dcm" % (sn, z)))
    h5, unread = crawl(binary, work, "seriesnum", [folder])
    if h5 is not None:
        for sn in (1, 2, 3):
            d = find(h5, "%s_%d" % (series, sn))
            if check(d is not None, "seriesnum", "no scan %s_%d (have %s)" % (series, sn, list(h5))):
                check(np.array_equal(d[()], np.stack([arrays[(sn, 0)], arrays[(sn, 1)]])), "seriesnum",
                      "part %d holds other files" % sn)
        check(len([k for k in h5 if series in k]) == 3, "seriesnum", "scans %s" % list(h5))
    h5, unread = crawl(binary, work, "seriesnum_nosplit", [folder],
                       extra="volumes:\n  split_inconsistent: false\n")
    if h5 is not None:
        check(list(unread.values()) == ["inconsistent SeriesNumber"], "seriesnum", "unreadable %s" % unread)


# ---------------------------------------------------------------- Philips

def philips_case(binary, work):
    uids, study, folder = setup(work, 16, "philips")
    series = uids("series")
    rng = np.random.default_rng(4)
    ss, rs, ri = [0.25, 0.5, 0.125], [2.0, 2.0, 4.0], [-10.0, 0.0, 5.0]
    arrays = []
    for z in range(3):
        arr = rng.integers(0, 4000, size=(5, 6))
        arrays.append(arr)

        def extra(ds, z=z):
            ds.Manufacturer = "Philips Medical Systems"
            b = ds.private_block(0x2005, "Philips MR Imaging DD 001", create=True)
            b.add_new(0x0E, "FL", ss[z])
            b.add_new(0x09, "DS", G.fmt_ds(ri[z]))
            b.add_new(0x0A, "DS", G.fmt_ds(rs[z]))

        ds = G.image_dataset(uids, G.MR_STORAGE, study, series, "MR", arr, bits_alloc=16, bits_stored=12,
                             signed=False, ipp=[0, 0, 2.0 * z], iop=[1, 0, 0, 0, 1, 0], instance=z + 1,
                             slope=rs[z], intercept=ri[z], extra=extra)
        G.save(ds, os.path.join(folder, "p%d.dcm" % z))
    h5, _ = crawl(binary, work, "philips", [folder])
    if h5 is not None:
        d = find(h5, series)
        if check(d is not None, "philips", "no dataset"):
            check(d.dtype == np.uint16 and np.array_equal(d[()], np.stack(arrays)), "philips display",
                  "stored values changed")
            for a, want in (("philips_scale_slope", ss), ("philips_rescale_slope", rs),
                            ("philips_rescale_intercept", ri)):
                check(np.allclose(d.attrs[a], want), "philips", "%s %s, expected %s" % (a, d.attrs[a], want))
    h5, _ = crawl(binary, work, "philips_fp", [folder], extra="  philips_scaling: floating\n")
    if h5 is not None:
        d = find(h5, series)
        if check(d is not None, "philips", "no dataset (floating)"):
            want = np.stack([(arrays[z] * rs[z] + ri[z]) / (rs[z] * ss[z]) for z in range(3)]).astype(np.float32)
            check(d.dtype == np.float32 and np.allclose(d[()], want, rtol=1e-6), "philips floating",
                  "values differ from (SV*RS+RI)/(RS*SS): max diff %s" % (np.abs(d[()] - want).max()
                                                                         if d.shape == want.shape else d.shape))


# ----------------------------------------------------- enhanced multi-frame

def enhanced_case(binary, work):
    """one enhanced MR file: 2 positions x 2 b-values (per-frame MRDiffusionSequence),
    a per-frame Philips private sequence with each frame's Scale Slope"""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence
    uids, study, folder = setup(work, 19, "enhanced")
    series = uids("series")
    rng = np.random.default_rng(9)
    frames = rng.integers(0, 4000, size=(4, 5, 6))
    pos = [[0, 0, 0.0], [0, 0, 3.0], [0, 0, 0.0], [0, 0, 3.0]]
    bval, ss = [0.0, 0.0, 1000.0, 1000.0], [0.5, 0.25, 0.125, 2.0]
    per = [{"PlanePositionSequence": {"ImagePositionPatient": pos[k]},
            "MRDiffusionSequence": {"DiffusionBValue": bval[k], "DiffusionDirectionality": "NONE"}}
           for k in range(4)]
    shared = {"PlaneOrientationSequence": {"ImageOrientationPatient": [1, 0, 0, 0, 1, 0]},
              "PixelMeasuresSequence": {"PixelSpacing": [1, 1], "SliceThickness": 3},
              "PixelValueTransformationSequence": {"RescaleSlope": 2, "RescaleIntercept": -4,
                                                   "RescaleType": "US"}}
    ds = G.enhanced_dataset(uids, G.ENH_MR_STORAGE, study, series, "MR", frames, bits_alloc=16,
                            bits_stored=16, signed=False, shared=shared, per_frame=per)
    for k in range(4):
        it = Dataset()
        it.private_block(0x2005, "Philips MR Imaging DD 005", create=True).add_new(0x0E, "FL", ss[k])
        item = ds.PerFrameFunctionalGroupsSequence[k]
        item.private_block(0x2005, "Philips MR Imaging DD 005", create=True).add_new(0x0F, "SQ", Sequence([it]))
    G.save(ds, os.path.join(folder, "enh.dcm"))
    h5, _ = crawl(binary, work, "enhanced", [folder])
    h5f, _ = crawl(binary, work, "enhanced_fp", [folder], extra="  philips_scaling: floating\n")
    if h5 is None or h5f is None:
        return
    d = find(h5, series)
    if not check(d is not None and d.shape == (2, 2, 5, 6), "enhanced", "4D dataset missing"):
        return
    order = [0, 1, 2, 3]  # (b0: z0 z1), (b1000: z0 z1)
    check(np.array_equal(d[()].reshape(4, 5, 6), frames[order]), "enhanced", "voxels")
    check(attr(d, "repeat_axis") == "b_value", "enhanced", "repeat_axis %r" % attr(d, "repeat_axis"))
    check(list(d.attrs["repeat_b_value"]) == [0, 1000], "enhanced", "repeat_b_value %s" % d.attrs["repeat_b_value"])
    check(np.allclose(d.attrs["philips_scale_slope"], [ss[k] for k in order]), "enhanced",
          "philips_scale_slope %s" % d.attrs["philips_scale_slope"])
    df = find(h5f, series)
    want = np.stack([(frames[k] * 2.0 - 4) / (2.0 * ss[k]) for k in order]).astype(np.float32)
    check(df is not None and df.dtype == np.float32 and np.allclose(df[()].reshape(4, 5, 6), want, rtol=1e-6),
          "enhanced floating", "values differ from (SV*RS+RI)/(RS*SS) per frame")


# ---------------------------------------------------------------- high bits

def highbits_case(binary, work):
    uids, study, folder = setup(work, 17, "highbits")
    rng = np.random.default_rng(5)
    made = []
    for kind in (None, "rle", "implicit"):
        if kind and not G.tool_available({"rle": "dcmcrle", "implicit": "dcmconv"}[kind]):
            continue
        series = uids("series")
        raws = []
        for z in range(2):
            raw = rng.integers(0, 65536, size=(8, 7)).astype(np.uint16)  # bits 12-15 vendor garbage
            raws.append(raw)
            ds = G.image_dataset(uids, G.CT_STORAGE, study, series, "CT", raw, bits_alloc=16, bits_stored=12,
                                 signed=False, ipp=[0, 0, float(z)], iop=[1, 0, 0, 0, 1, 0], instance=z + 1)
            p = os.path.join(folder, "%s_%d.dcm" % (kind or "native", z))
            if kind:
                G.save(ds, p + ".le")
                G.convert_ts(p + ".le", p, kind)
                os.remove(p + ".le")
            else:
                G.save(ds, p)
        made.append((kind or "native", series, raws))
    h5, _ = crawl(binary, work, "highbits", [folder])
    if h5 is None:
        return
    for kind, series, raws in made:
        d = find(h5, series)
        if check(d is not None, "highbits " + kind, "no dataset"):
            want = np.stack(raws) & 0x0FFF
            check(np.any(np.stack(raws) > 0x0FFF), "highbits " + kind, "test data has no high bits")
            check(np.array_equal(d[()], want), "highbits " + kind, "values not masked to 12 bits")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--keep", help="work in this folder and keep it")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    work = a.keep or tempfile.mkdtemp(prefix="dcmcrawl_vendor_")
    os.makedirs(work, exist_ok=True)
    try:
        for case in (nib_case, mosaic_case, malformed_case, axes_case, seriesnum_case, philips_case,
                     enhanced_case, highbits_case):
            case(binary, work)
            print("%-16s %s" % (case.__name__, "done"))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    if PROBLEMS:
        print("%d problems" % len(PROBLEMS))
        return 1
    print("test_vendor: all vendor cases pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
