#!/usr/bin/python3
"""test_labels.py DCMCRAWL - the label core (SEG, RTSTRUCT, references)
through BUILD/tools/dclabel, against independent answers.

SEG: objects written with pydicom (tests/gen/make_labels.py) from known label
volumes: binary 1-bit (Rows x Columns not a multiple of 8, so frames start
inside bytes), fractional, several segments, frames stored in shuffled
order, a SEG over part of the volume and cropped in-plane, a CT with a gap
and an oblique CT, and SEGs that do not lie on the CT grid (other pixel
spacing, positions between slices), which keep their own grid.  Each result
is compared with (a) the truth the SEG was made from and (b) a numpy
reconstruction from pydicom's reading of the file (pixel_array, per-frame
ReferencedSegmentNumber and ImagePositionPatient matched to the CT slice
positions pydicom reads).  Must be equal, voxel for voxel.

RTSTRUCT: structure sets written with pydicom (convex and concave polygons, a
hole, several contours per slice, a POINT contour) are rasterised by dclabel
and by plastimatch (`plastimatch convert --xor-contours`, one mask per
structure on the CT's grid), compared by Dice and by the voxels that differ.
Tolerance: both draw voxels whose centres are inside the polygon, so the
masks agree exactly unless a voxel centre lies on an edge: there plastimatch
counts it inside and ours falls by the float rounding of the edge crossing
(measured: 0 differing voxels for the generic polygons, 66 for the polygon whose
vertices are voxel centres, all on its edges).  So: every differing voxel must
have its centre within 0.02 voxel of a contour edge, and Dice >= 0.99 for the
polygons with no centre on an edge.  Our rule is also checked exactly against
a numpy implementation of the same even-odd rule (crossing counts per voxel
centre, float64), including an oblique CT with a gap (plastimatch fills the gap
with an empty slice: its other slices must be ours).

References: dclabel refs on the generated SEG and RTSTRUCT and on pydicom's
rtstruct.dcm, compared with what pydicom reads from the same sequences.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pydicom

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gen"))
import dcmgen  # noqa: E402
import make_labels as ml  # noqa: E402

PYDICOM_RTSTRUCT = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files", "rtstruct.dcm")
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def dclabel(tool, *args):
    r = subprocess.run([tool] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        info = json.loads(r.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": "no JSON (exit %d): %s" % (r.returncode, r.stderr.decode()[-300:])}
    return info


# ------------------------------------------------------------------ SEG

def blobs(rng, shape, frac=0.35, k=3):
    """smooth random 0/1 volume (box-filtered noise thresholded)"""
    v = rng.random(shape)
    for ax in (-1, -2):
        for _ in range(k):
            v = (v + np.roll(v, 1, axis=ax) + np.roll(v, -1, axis=ax)) / 3
    return (v > np.quantile(v, 1 - frac)).astype(np.uint8)


def pydicom_reconstruction(seg_path, ct_paths):
    """label volumes (segments in SegmentSequence order, z, y, x) from pydicom's
    reading of the SEG, frames placed by matching their position to the CT
    slice positions (CT sorted by position along the normal)"""
    seg = pydicom.dcmread(seg_path)
    cts = [pydicom.dcmread(p, stop_before_pixels=True) for p in ct_paths]
    iop = np.array(cts[0].ImageOrientationPatient, dtype=float)
    n = np.cross(iop[:3], iop[3:])
    cts.sort(key=lambda d: float(np.dot(n, np.array(d.ImagePositionPatient, dtype=float))))
    pos = np.array([d.ImagePositionPatient for d in cts], dtype=float)
    numbers = [int(s.SegmentNumber) for s in seg.SegmentSequence]
    px = seg.pixel_array.reshape(int(seg.NumberOfFrames), seg.Rows, seg.Columns)
    ps = np.array(cts[0].PixelSpacing, dtype=float)
    out = np.zeros((len(numbers), len(cts), cts[0].Rows, cts[0].Columns), np.uint8)
    for f, fr in enumerate(seg.PerFrameFunctionalGroupsSequence):
        s = numbers.index(int(fr.SegmentIdentificationSequence[0].ReferencedSegmentNumber))
        p = np.array(fr.PlanePositionSequence[0].ImagePositionPatient, dtype=float)
        k = int(np.argmin(np.abs((pos - p) @ n)))
        d = p - pos[k]
        y0 = int(round(np.dot(d, iop[3:]) / ps[0]))
        x0 = int(round(np.dot(d, iop[:3]) / ps[1]))
        sl = out[s, k, y0:y0 + seg.Rows, x0:x0 + seg.Columns]
        np.maximum(sl, px[f], out=sl)
    return out


CATEGORY = ("91723000", "SCT", "Anatomical Structure")
TYPES = [("10200004", "SCT", "Liver"), ("64033007", "SCT", "Kidney"), ("78961009", "SCT", "Spleen")]


def seg_segments(n, algorithm="MANUAL"):
    return [ml.segment_item(i + 1, "structure %d" % (i + 1), CATEGORY, TYPES[i % 3], algorithm)
            for i in range(n)]


def frames_of(truth, geom, sops, slices_of, rng, crop=None):
    """(segment number, ipp, frame, source sop) for every segment s and slice k
    in slices_of[s], shuffled; crop = (y0, x0, rows, cols) of a cropped SEG"""
    frames = []
    for s in range(truth.shape[0]):
        for k in slices_of[s]:
            a = truth[s, k]
            ipp = geom.positions[k]
            if crop:
                y0, x0, r, c = crop
                a = a[y0:y0 + r, x0:x0 + c]
                ipp = geom.voxel_to_lps(k, y0, x0)
            frames.append((s + 1, ipp, a, sops[k]))
    order = rng.permutation(len(frames))
    return [frames[i] for i in order]


def check_seg_attrs(info, name, n, fractional):
    segs = info.get("segments", [])
    check(len(segs) == n and [s["number"] for s in segs] == list(range(1, n + 1)),
          "%s: segment numbers" % name)
    check(all(s["label"] == "structure %d" % (i + 1) for i, s in enumerate(segs)), "%s: labels" % name)
    check(all(tuple(s["category"]) == CATEGORY and tuple(s["type"]) == TYPES[i % 3]
              for i, s in enumerate(segs)), "%s: category and type codes" % name)
    check(info.get("type") == ("FRACTIONAL" if fractional else "BINARY")
          and info.get("max_fractional") == (fractional or 1), "%s: segmentation type" % name)


def run_seg_case(tool, tmp, name, geom, ct, truth, frames, expect, *, fractional=0, ct_for=None):
    series, sops, paths = ct
    seg_path = ml.write_seg("%s/%s.dcm" % (tmp, name), UIDS, STUDY, series, sops, geom_of_frames(geom, frames),
                            seg_segments(truth.shape[0]), frames, fractional=fractional, for_uid=ct_for)
    out = "%s/%s.npy" % (tmp, name)
    info = dclabel(tool, "seg", seg_path, out, *paths)
    if "error" in info:
        check(False, "%s: dclabel seg failed: %s" % (name, info["error"]))
        return None, None
    got = np.load(out)
    check_seg_attrs(info, name, truth.shape[0], fractional)
    check(got.shape == expect.shape and np.array_equal(got, expect),
          "%s: labels equal the truth (%d voxels set, %d differ)"
          % (name, int(np.count_nonzero(expect)), int(np.count_nonzero(got != expect)) if got.shape == expect.shape else -1))
    return info, got


def geom_of_frames(geom, frames):
    """the SEG's rows/cols/spacing: those of its frames"""
    a = frames[0][2]
    return ml.Geometry(a.shape[0], a.shape[1], geom.spacing, geom.iop, geom.positions)


def seg_tests(tool, tmp):
    rng = np.random.default_rng(14)
    # CT with a gap (5 mm between slices 3 and 4, 2.5 elsewhere); 37 x 43 = 1591 bits per frame
    geom = ml.Geometry.stack(37, 43, (0.8, 0.7), dcmgen.iop_axial(), (-20, -15, 30),
                             [0, 2.5, 5, 7.5, 12.5, 15, 17.5, 20, 22.5, 25])
    check(geom.rows * geom.cols % 8 != 0, "binary frames do not start on byte boundaries")
    ct = ml.write_ct(tmp + "/ct", UIDS, STUDY, geom)
    nz = len(geom.positions)

    # 1. binary, 3 segments, shuffled frames; segment 2 only on slices 2..6
    truth = np.stack([blobs(rng, (nz, 37, 43)) for _ in range(3)])
    slices_of = [range(nz), range(2, 7), range(nz)]
    expect = truth.copy()
    expect[1, [0, 1, 7, 8, 9]] = 0
    frames = frames_of(truth, geom, ct[1], slices_of, rng)
    info, got = run_seg_case(tool, tmp, "seg_binary", geom, ct, truth, frames, expect)
    if got is not None:
        check(info["grid"] == "image" and info["warning"] == "", "seg_binary: on the image grid")
        ref = pydicom_reconstruction("%s/seg_binary.dcm" % tmp, ct[2])
        check(np.array_equal(got, ref), "seg_binary: equals pydicom's reconstruction")

    # 2. fractional (MaximumFractionalValue 200), 2 segments, shuffled
    frac = np.stack([(blobs(rng, (nz, 37, 43), 0.5) * rng.integers(1, 201, (nz, 37, 43))).astype(np.uint8)
                     for _ in range(2)])
    frames = frames_of(frac, geom, ct[1], [range(nz)] * 2, rng)
    info, got = run_seg_case(tool, tmp, "seg_fractional", geom, ct, frac, frames, frac, fractional=200)
    if got is not None:
        check(int(got.max()) == int(frac.max()) and int(got.max()) > 1, "seg_fractional: values kept 0..200")
        ref = pydicom_reconstruction("%s/seg_fractional.dcm" % tmp, ct[2])
        check(np.array_equal(got, ref), "seg_fractional: equals pydicom's reconstruction")

    # 3. over part of the volume: slices 3..7, cropped to 20 x 25 at (y 5, x 7)
    crop = (5, 7, 20, 25)
    expect = np.zeros_like(truth[:1])
    expect[0, 3:8, 5:25, 7:32] = truth[0, 3:8, 5:25, 7:32]
    frames = frames_of(truth[:1], geom, ct[1], [range(3, 8)], rng, crop=crop)
    info, got = run_seg_case(tool, tmp, "seg_partial", geom, ct, truth[:1], frames, expect)
    if got is not None:
        check(info["grid"] == "image", "seg_partial: on the image grid")
        ref = pydicom_reconstruction("%s/seg_partial.dcm" % tmp, ct[2])
        check(np.array_equal(got, ref), "seg_partial: equals pydicom's reconstruction")

    own_grid_tests(tool, tmp, rng, geom, ct)
    oblique_test(tool, tmp, rng)
    labelmap_tests(tool, tmp, ct, geom, rng)
    charset_test(tool, tmp, ct, truth, geom, rng)
    bad_seg_tests(tool, tmp, ct, truth, geom, rng)
    return ct


def labelmap_tests(tool, tmp, ct, geom, rng):
    """LABELMAP SEGs (8- and 16-bit frames of segment numbers, shuffled): one
    plane per segment number of SegmentSequence (1, 2, 5, 300); values of no
    segment (7) and 0 are background"""
    nz = len(geom.positions)
    for bits, numbers in ((8, [1, 2, 5]), (16, [1, 2, 5, 300])):
        lm = rng.choice(np.array([0, 7] + numbers, dtype=np.uint16), size=(nz, 37, 43))
        segs = [ml.segment_item(n, "structure %d" % n, CATEGORY, TYPES[0]) for n in numbers]
        frames = [(None, geom.positions[k], lm[k], ct[1][k]) for k in rng.permutation(nz)]
        name = "seg_labelmap%d" % bits
        path = ml.write_seg("%s/%s.dcm" % (tmp, name), UIDS, STUDY, ct[0], ct[1], geom, segs, frames,
                            labelmap_bits=bits)
        info = dclabel(tool, "seg", path, "%s/%s.npy" % (tmp, name), *ct[2])
        if "error" in info:
            check(False, "%s: dclabel seg failed: %s" % (name, info["error"]))
            continue
        got = np.load("%s/%s.npy" % (tmp, name))
        expect = np.stack([(lm == n).astype(np.uint8) for n in numbers])
        check(info["type"] == "LABELMAP" and [g["number"] for g in info["segments"]] == numbers
              and np.array_equal(got, expect),
              "%s: one plane per segment number equals the label map (%d voxels)" % (name, int(expect.sum())))


def charset_test(tool, tmp, ct, truth, geom, rng):
    """segment labels written in ISO 8859-1 come out as UTF-8"""
    label = "Läsion größer"
    segs = [ml.segment_item(1, label, CATEGORY, TYPES[0])]
    frames = frames_of(truth[:1], geom, ct[1], [range(2)], rng)
    path = ml.write_seg(tmp + "/seg_latin1.dcm", UIDS, STUDY, ct[0], ct[1], geom, segs, frames, charset="ISO_IR 100")
    check(label.encode("latin-1") in open(path, "rb").read(), "seg_latin1: label stored in ISO 8859-1")
    info = dclabel(tool, "seg", path, tmp + "/seg_latin1.npy", *ct[2])
    check([s["label"] for s in info.get("segments", [])] == [label], "seg_latin1: label decoded to UTF-8")


def bad_seg_tests(tool, tmp, ct, truth, geom, rng):
    """broken SEGs fail with a specific reason, never a crash"""
    out = tmp + "/bad.npy"
    info = dclabel(tool, "seg", ct[2][0], out)
    check(info.get("error") == "not a segmentation: SegmentSequence missing", "bad SEG: a CT is no SEG")
    frames = frames_of(truth[:1], geom, ct[1], [range(3)], rng)
    frames[1] = (7,) + frames[1][1:]
    path = ml.write_seg(tmp + "/bad_segnum.dcm", UIDS, STUDY, ct[0], ct[1], geom, seg_segments(1), frames)
    info = dclabel(tool, "seg", path, out, *ct[2])
    check(info.get("error") == "frame 2 references no segment of SegmentSequence", "bad SEG: unknown segment number")
    ds = pydicom.dcmread(path)
    ds.SamplesPerPixel = 3
    ds.save_as(tmp + "/bad_samples.dcm")
    info = dclabel(tool, "seg", tmp + "/bad_samples.dcm", out, *ct[2])
    check(info.get("error") == "segmentation with SamplesPerPixel 3, expected 1", "bad SEG: 3 samples per pixel")
    ds = pydicom.dcmread(ml.write_seg(tmp + "/bad_trunc.dcm", UIDS, STUDY, ct[0], ct[1], geom,
                                      seg_segments(1), frames_of(truth[:1], geom, ct[1], [range(3)], rng)))
    ds.PixelData = ds.PixelData[:len(ds.PixelData) // 2]
    ds.save_as(tmp + "/bad_trunc.dcm")
    info = dclabel(tool, "seg", tmp + "/bad_trunc.dcm", out, *ct[2])
    check(info.get("error") == "truncated pixel data", "bad SEG: truncated pixel data (%s)" % info.get("error"))


def own_grid_tests(tool, tmp, rng, geom, ct):
    """SEGs not on the CT grid keep their own grid (affine from their frames)"""
    # 4. half the pixel spacing (an upsampled segmentation) on slices 0..4
    fine = ml.Geometry(74, 86, (0.4, 0.35), geom.iop, geom.positions[:5])
    truth = blobs(rng, (1, 5, 74, 86))
    frames = frames_of(truth, fine, ct[1], [range(5)], rng)
    case_own(tool, tmp, "seg_finer", fine, ct, truth, frames, "pixel spacing differs")
    # 5. positions half-way between slices 0..3 (1.25 mm along the normal)
    between = ml.Geometry(37, 43, geom.spacing, geom.iop, geom.positions[:4] + np.array([0, 0, 1.25]))
    truth = blobs(rng, (1, 4, 37, 43))
    frames = frames_of(truth, between, ct[1], [range(4)], rng)
    case_own(tool, tmp, "seg_between", between, ct, truth, frames, "position between slices")


def case_own(tool, tmp, name, g, ct, truth, frames, reason):
    info, got = run_seg_case(tool, tmp, name, g, ct, truth, frames, truth)
    if got is None:
        return
    check(info["grid"] == "own" and reason in info["warning"], "%s: own grid, warning %r" % (name, info["warning"]))
    aff = np.array(info["affine"]).reshape(4, 4)
    row, col = np.array(g.iop[:3]), np.array(g.iop[3:])
    exp = np.eye(4)
    exp[:3, 2] = row * g.spacing[1]
    exp[:3, 1] = col * g.spacing[0]
    exp[:3, 0] = (g.positions[-1] - g.positions[0]) / (len(g.positions) - 1)
    exp[:3, 3] = g.positions[0]
    check(np.allclose(aff, exp, atol=1e-4), "%s: own affine from the frames' geometry" % name)


def oblique_test(tool, tmp, rng):
    """6. a CT tilted 20 degrees about x, SEG frames shuffled"""
    r = dcmgen.rot_x(20)
    iop = list(r @ np.array([1.0, 0, 0])) + list(r @ np.array([0, 1.0, 0]))
    geom = ml.Geometry.stack(29, 31, (0.9, 0.6), iop, (10, -5, 3), [1.5 * k for k in range(6)])
    ct = ml.write_ct(tmp + "/ct_oblique", UIDS, STUDY, geom, seed=2)
    truth = np.stack([blobs(rng, (6, 29, 31)) for _ in range(2)])
    frames = frames_of(truth, geom, ct[1], [range(6)] * 2, rng)
    info, got = run_seg_case(tool, tmp, "seg_oblique", geom, ct, truth, frames, truth)
    if got is not None:
        check(info["grid"] == "image", "seg_oblique: on the image grid")
        check(np.array_equal(got, pydicom_reconstruction("%s/seg_oblique.dcm" % tmp, ct[2])),
              "seg_oblique: equals pydicom's reconstruction")


# -------------------------------------------------------------- RTSTRUCT

def circle(cx, cy, r, z, n=40, phase=0.0):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False) + phase
    return [(cx + r * np.cos(a), cy + r * np.sin(a), z) for a in t]


def star(cx, cy, r_out, r_in, z, spikes=5):
    pts = []
    for i in range(2 * spikes):
        r = r_out if i % 2 == 0 else r_in
        a = np.pi * i / spikes + 0.1
        pts.append((cx + r * np.cos(a), cy + r * np.sin(a), z))
    return pts


def square(cx, cy, h, z):
    return [(cx - h, cy - h, z), (cx + h, cy - h, z), (cx + h, cy + h, z), (cx - h, cy + h, z)]


def rt_rois(geom, sops):
    """convex, concave, a hole, several contours per slice, overlapping
    contours (XOR), a POINT, a contour off every slice, one 0.6 mm off its
    plane, a polygon whose vertices are voxel centres (edges through centres:
    the case where a rasteriser's boundary rule shows)"""
    ci = ml.contour_item
    z = geom.positions[:, 2]
    return [
        dict(number=1, name="convex", color=(255, 0, 0), type="ORGAN",
             contours=[ci(circle(0.3, -3.1, 6 + k, z[k] + (0.6 if k == 3 else 0)), image_sop=sops[k])
                       for k in range(1, 6)]),
        dict(number=4, name="concave star", color=(0, 255, 0), type="PTV",
             contours=[ci(star(-2.2, 1.7, 14.3, 5.1, z[k])) for k in range(0, 8, 2)]),
        dict(number=7, name="ring with hole", color=(0, 0, 255), type="AVOIDANCE",
             contours=[ci(square(1.1, 0.7, 12.45, z[k])) for k in (2, 3, 4)]
             + [ci(circle(1.1, 0.7, 5.3, z[k], 17)) for k in (2, 3, 4)]),
        dict(number=9, name="two islands", color=(200, 100, 50), type="ORGAN",
             contours=[ci(circle(-11.0, -9.0, 4.2, z[5])), ci(circle(9.5, 8.1, 5.7, z[5], 23)),
                       ci(circle(-11.0, 9.0, 3.3, z[6])), ci(circle(-9.0, 9.0, 3.3, z[6], phase=0.3)),
                       ci([(0.0, 0.0, z[4])], "POINT"),
                       ci(circle(0, 0, 5, z[-1] + 1.5))]),
        dict(number=11, name="edges through centres", color=(9, 9, 9), type="CONTROL",
             contours=[ci([geom.voxel_to_lps(k, y, x) for y, x in ((10, 12), (10, 30), (25, 30), (25, 21), (18, 12))])
                       for k in (1, 2)]),
    ]


def read_mha(path):
    b = open(path, "rb").read()
    key = b"ElementDataFile = LOCAL\n"
    i = b.index(key) + len(key)
    h = dict(line.split(" = ", 1) for line in b[:i].decode().splitlines())
    dims = [int(v) for v in h["DimSize"].split()]
    return np.frombuffer(b[i:], np.uint8).reshape(dims[::-1]), h


def even_odd_reference(geom, roi_contours):
    """numpy even-odd/XOR mask (z, y, x) in float64: each closed contour on
    the slice nearest its first point if all points lie within half a spacing"""
    nz = len(geom.positions)
    mask = np.zeros((nz, geom.rows, geom.cols), np.uint8)
    n = dcmgen.normal_of(geom.iop)
    row, col = np.array(geom.iop[:3]), np.array(geom.iop[3:])
    h = geom.positions @ n
    yy, xx = np.mgrid[0:geom.rows, 0:geom.cols].astype(float)
    for c in roi_contours:
        if c.ContourGeometricType != "CLOSED_PLANAR":
            continue
        pts = np.array(c.ContourData, dtype=float).reshape(-1, 3)
        k = int(np.argmin(np.abs(h - pts[0] @ n)))
        spacing = np.mean([abs(h[j] - h[k]) for j in (k - 1, k + 1) if 0 <= j < nz])
        if np.any(np.abs(pts @ n - h[k]) > spacing / 2):
            continue
        d = pts - geom.positions[k]
        px, py = d @ row / geom.spacing[1], d @ col / geom.spacing[0]
        inside = np.zeros(xx.shape, bool)
        for i in range(len(px)):
            j = i - 1
            y0, x0, y1, x1 = py[j], px[j], py[i], px[i]
            if (y0 > 0) == (y1 > 0) and y0 == y1:
                continue
            crosses = (y0 > yy) != (y1 > yy)
            with np.errstate(divide="ignore", invalid="ignore"):
                xc = x0 + (yy - y0) * (x1 - x0) / (y1 - y0)
            inside ^= crosses & (xc > xx)
        mask[k] ^= inside.astype(np.uint8)
    return mask


def edge_distance(geom, roi_contours, k, y, x):
    """distance (voxels) from voxel centre (y, x) of slice k to the nearest
    contour edge on that slice"""
    n = dcmgen.normal_of(geom.iop)
    row, col = np.array(geom.iop[:3]), np.array(geom.iop[3:])
    best = np.inf
    for c in roi_contours:
        pts = np.array(c.ContourData, dtype=float).reshape(-1, 3)
        if abs((pts[0] - geom.positions[k]) @ n) > 1.0 or len(pts) < 2:
            continue
        d = pts - geom.positions[k]
        p = np.stack([d @ col / geom.spacing[0], d @ row / geom.spacing[1]], axis=1)
        for a, b in zip(p, np.roll(p, -1, axis=0)):
            ab = b - a
            t = np.clip(np.dot(np.array([y, x]) - a, ab) / max(np.dot(ab, ab), 1e-12), 0, 1)
            best = min(best, float(np.linalg.norm(a + t * ab - np.array([y, x]))))
    return best


def rasterise_and_compare(tool, tmp, tag, geom, ct_dir, paths, rtss, rois):
    """dclabel rtss on the CT, each ROI against the numpy even-odd reference
    and plastimatch; returns dclabel's JSON (None on failure)"""
    info = dclabel(tool, "rtss", rtss, "%s/%s.npy" % (tmp, tag), *paths)
    if "error" in info:
        check(False, "dclabel rtss (%s) failed: %s" % (tag, info["error"]))
        return None
    got = np.load("%s/%s.npy" % (tmp, tag))
    ds = pydicom.dcmread(rtss)
    pm = "%s/pm_%s" % (tmp, tag)
    r = subprocess.run(["plastimatch", "convert", "--input", rtss, "--referenced-ct", ct_dir,
                        "--output-prefix", pm, "--prefix-format", "mha", "--xor-contours"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check(r.returncode == 0, "plastimatch convert ran (%s)" % tag)
    for i, roi in enumerate(rois):
        contours = ds.ROIContourSequence[i].ContourSequence
        ref = even_odd_reference(geom, contours)
        check(np.array_equal(got[i], ref) and ref.sum() > 100,
              "rtss %s: equals the numpy even-odd reference (%d voxels)" % (roi["name"], int(ref.sum())))
        compare_plastimatch(geom, roi, contours, got[i], "%s/%s.mha" % (pm, roi["name"]))
    return info


def rtstruct_tests(tool, tmp):
    geom = ml.Geometry.stack(48, 56, (0.9, 0.8), dcmgen.iop_axial(), (-20.3, -25.1, 10),
                             [2.0 * k for k in range(8)])
    series, sops, paths = ml.write_ct(tmp + "/rtct", UIDS, STUDY, geom, seed=3)
    rois = rt_rois(geom, sops)
    rtss = ml.write_rtstruct(tmp + "/rtss.dcm", UIDS, STUDY, series, sops, STUDY + ".77", rois)
    info = rasterise_and_compare(tool, tmp, "axial", geom, tmp + "/rtct", paths, rtss, rois)
    if info is None:
        return None
    check([(r["number"], r["name"], tuple(r["color"]), r["type"]) for r in info["rois"]]
          == [(r["number"], r["name"], r["color"], r["type"]) for r in rois], "rtss: ROI numbers, names, colours, types")
    last = info["rois"][3]
    check((last["drawn"], last["not_closed"], last["off_slice"]) == (4, 1, 1),
          "rtss: 4 contours drawn, the POINT not drawn, the one beyond the volume off every slice")
    bad = pydicom.dcmread(rtss)
    bad.ROIContourSequence[0].ContourSequence[0].ContourData = ["1", "2", "3", "4", "5", "6", "7"]
    bad.save_as(tmp + "/bad_rtss.dcm")
    err = dclabel(tool, "rtss", tmp + "/bad_rtss.dcm", tmp + "/bad.npy", *paths).get("error")
    check(err == "contour 1 of ROI 1: ContourData has 7 values, not a multiple of 3", "bad RTSTRUCT: %s" % err)
    oblique_rtstruct(tool, tmp)
    return series, sops, rtss


def oblique_rtstruct(tool, tmp):
    """a CT tilted 25 degrees about x with a gap: polygons drawn in each
    slice's plane (a ring with a hole, a concave star), against the numpy
    reference and plastimatch (which fills the gap with an empty slice)"""
    r = dcmgen.rot_x(25)
    iop = list(r @ np.array([1.0, 0, 0])) + list(r @ np.array([0, 1.0, 0]))
    geom = ml.Geometry.stack(33, 39, (0.7, 0.9), iop, (4, -9, 20), [0, 1.8, 3.6, 7.2, 9.0])
    series, sops, paths = ml.write_ct(tmp + "/rtct_oblique", UIDS, STUDY, geom, seed=4)

    def in_plane(k, pts_yx):
        return [geom.voxel_to_lps(k, y, x) for y, x in pts_yx]
    ring = [ml.contour_item(in_plane(k, [(3.2, 4.1), (3.2, 30.6), (27.3, 30.6), (27.3, 4.1)])) for k in (1, 3)] + \
           [ml.contour_item(in_plane(k, [(9.4 + 5 * np.sin(t), 17.2 + 6 * np.cos(t))
                                         for t in np.linspace(0, 2 * np.pi, 19, endpoint=False)])) for k in (1, 3)]
    st = [ml.contour_item(in_plane(k, [(16.1 + (12 if i % 2 == 0 else 4.5) * np.sin(np.pi * i / 6),
                                        19.3 + (12 if i % 2 == 0 else 4.5) * np.cos(np.pi * i / 6)) for i in range(12)]))
          for k in (0, 2, 4)]
    rois = [dict(number=1, name="oblique ring", color=(1, 2, 3), type="ORGAN", contours=ring),
            dict(number=2, name="oblique star", color=(4, 5, 6), type="PTV", contours=st)]
    rtss = ml.write_rtstruct(tmp + "/rtss_oblique.dcm", UIDS, STUDY, series, sops, STUDY + ".77", rois)
    rasterise_and_compare(tool, tmp, "oblique", geom, tmp + "/rtct_oblique", paths, rtss, rois)


def plastimatch_slices(geom, hdr, shape):
    """plastimatch's slice index of each of our slices, or None when its grid
    is not ours: same origin and in-plane axes, each of our slice planes on
    one of its slices (it resamples a series with a gap onto uniform slices,
    so some of its slices may be none of ours)"""
    offset = np.array(hdr["Offset"].split(), dtype=float)
    axes = np.array(hdr["TransformMatrix"].split(), dtype=float).reshape(3, 3)  # x, y, z directions
    sz = float(hdr["ElementSpacing"].split()[2])
    if not (np.allclose(offset, geom.positions[0], atol=1e-3) and np.allclose(axes[0], geom.iop[:3], atol=1e-5)
            and np.allclose(axes[1], geom.iop[3:], atol=1e-5) and shape[1:] == (geom.rows, geom.cols)):
        return None
    z = (geom.positions - offset) @ axes[2] / sz
    if not np.allclose(z, np.round(z), atol=0.01):
        return None
    return [int(v) for v in np.round(z)]


def compare_plastimatch(geom, roi, contours, ours, path):
    if not os.path.exists(path):
        check(False, "rtss %s: plastimatch wrote %s" % (roi["name"], path))
        return None
    theirs, hdr = read_mha(path)
    idx = plastimatch_slices(geom, hdr, theirs.shape)
    extra = sorted(set(range(theirs.shape[0])) - set(idx or []))
    check(idx is not None and not np.any(theirs[extra]),
          "rtss %s: plastimatch's grid holds ours (its slices %s; %s in a gap, empty)" % (roi["name"], idx, extra))
    if idx is None:
        return None
    theirs = (theirs[idx] > 0).astype(np.uint8)
    dice = 2 * np.sum(ours & theirs) / max(1, int(ours.sum() + theirs.sum()))
    diff = np.argwhere(ours != theirs)
    far = [tuple(v) for v in diff if edge_distance(geom, contours, *v) > 0.02]
    # Dice only where no voxel centre lies on an edge: there the two rules agree exactly
    min_dice = 0.0 if "centres" in roi["name"] else 0.99
    check(dice >= min_dice and not far,
          "rtss %s: vs plastimatch Dice %.4f, %d voxels differ, %d of them off the boundary"
          % (roi["name"], dice, len(diff), len(far)))
    return diff, ours, theirs


# ------------------------------------------------------------ references

def rows_of(info, kind):
    return {(r["study"], r["series"], r["sop"], r["for"]) for r in info["refs"] if r["kind"] == kind}


def reference_tests(tool, tmp, ct, rt):
    ct_series, ct_sops, _ = ct
    if rt is None:
        check(False, "references: no RTSTRUCT to read")
        return
    info = dclabel(tool, "refs", tmp + "/seg_binary.dcm")
    check(rows_of(info, "referenced_series") == {("", ct_series, s, "") for s in ct_sops},
          "refs SEG: ReferencedSeriesSequence -> the CT's %d instances with its series" % len(ct_sops))
    check(rows_of(info, "source_image") == {("", "", s, "") for s in ct_sops},
          "refs SEG: per-frame SourceImageSequence -> each CT instance once")
    check({r["kind"] for r in info["refs"]} == {"referenced_series", "source_image"}, "refs SEG: no other kinds")
    grouped = [(r["kind"], r["series"], r["instances"]) for r in info["by_series"] if r["series"]]
    check(grouped == [("referenced_series", ct_series, len(ct_sops))], "refs SEG: by series, instance count")
    check(info.get("target") == ct_series, "refs SEG: drawn on the CT series")

    rt_series, rt_sops, rtss = rt
    info = dclabel(tool, "refs", rtss)
    check(rows_of(info, "rt_referenced_series") == {(STUDY, rt_series, s, STUDY + ".77") for s in rt_sops},
          "refs RTSTRUCT: frame of reference > study > series > contour images")
    check(rows_of(info, "contour_image") == {("", "", s, "") for s in rt_sops[1:6]},
          "refs RTSTRUCT: ContourImageSequence of the contours")
    check(info.get("target") == rt_series, "refs RTSTRUCT: drawn on the CT series")

    info = dclabel(tool, "refs", PYDICOM_RTSTRUCT)
    ds = pydicom.dcmread(PYDICOM_RTSTRUCT, force=True)
    f = ds.ReferencedFrameOfReferenceSequence[0]
    st = f.RTReferencedStudySequence[0]
    want = {(st.ReferencedSOPInstanceUID, st.RTReferencedSeriesSequence[0].SeriesInstanceUID, "",
             f.FrameOfReferenceUID)}
    check(rows_of(info, "rt_referenced_series") == want and len(info["refs"]) == 1,
          "refs pydicom rtstruct.dcm: one series reference, study from the RT Referenced Study item")
    sr_references(tool)
    other_object_references(tool, tmp, ct_series, ct_sops)


def ds_of(d):
    """pydicom Dataset from a dict; lists of dicts become sequences"""
    out = pydicom.Dataset()
    for k, v in d.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            v = pydicom.sequence.Sequence([ds_of(x) for x in v])
        setattr(out, k, v)
    return out


def write_object(path, sop_class, modality, content):
    ds = ml.new_object(UIDS, STUDY, sop_class, modality)
    for k, v in ds_of(content).items():
        ds[k] = v
    return dcmgen.save(ds, path)


def img(sop):
    return {"ReferencedSOPClassUID": dcmgen.CT_STORAGE, "ReferencedSOPInstanceUID": sop}


def other_object_references(tool, tmp, series, sops):
    """key object selection, spatial registration (rigid and deformable),
    presentation state: rows as built"""
    other_study, other_series, for_a, for_b = UIDS("study"), UIDS("series"), UIDS("for"), UIDS("for")
    kos = write_object(tmp + "/kos.dcm", "1.2.840.10008.5.1.4.1.1.88.59", "KO", {
        "CurrentRequestedProcedureEvidenceSequence": [{
            "StudyInstanceUID": STUDY,
            "ReferencedSeriesSequence": [{"SeriesInstanceUID": series,
                                          "ReferencedSOPSequence": [img(sops[0]), img(sops[1])]}]}],
        "ContentSequence": [{"RelationshipType": "CONTAINS", "ValueType": "IMAGE",
                             "ReferencedSOPSequence": [img(sops[0])]}]})
    info = dclabel(tool, "refs", kos)
    check(rows_of(info, "evidence") == {(STUDY, series, sops[0], ""), (STUDY, series, sops[1], "")}
          and rows_of(info, "content") == {("", "", sops[0], "")} and len(info["refs"]) == 3,
          "refs KOS: evidence (study > series > instances) and content rows")
    reg = write_object(tmp + "/reg.dcm", "1.2.840.10008.5.1.4.1.1.66.1", "REG", {
        "RegistrationSequence": [{"FrameOfReferenceUID": for_a, "ReferencedImageSequence": [img(sops[0])]},
                                 {"FrameOfReferenceUID": for_b, "ReferencedImageSequence": [img(sops[5])]}],
        "StudiesContainingOtherReferencedInstancesSequence": [{
            "StudyInstanceUID": other_study,
            "ReferencedSeriesSequence": [{"SeriesInstanceUID": other_series,
                                          "ReferencedInstanceSequence": [img(sops[5])]}]}]})
    info = dclabel(tool, "refs", reg)
    check(rows_of(info, "registration") == {("", "", sops[0], for_a), ("", "", sops[5], for_b)},
          "refs REG: each registration's images with its frame of reference")
    check(rows_of(info, "referenced_series") == {(other_study, other_series, sops[5], "")},
          "refs REG: instances in another study")
    dreg = write_object(tmp + "/dreg.dcm", "1.2.840.10008.5.1.4.1.1.66.3", "REG", {
        "DeformableRegistrationSequence": [{"SourceFrameOfReferenceUID": for_a,
                                            "ReferencedImageSequence": [img(sops[1])]}]})
    info = dclabel(tool, "refs", dreg)
    check(rows_of(info, "registration") == {("", "", sops[1], "")} and len(info["refs"]) == 1,
          "refs deformable REG: DeformableRegistrationSequence")
    pr = write_object(tmp + "/pr.dcm", "1.2.840.10008.5.1.4.1.1.11.1", "PR", {
        "ReferencedSeriesSequence": [{"SeriesInstanceUID": series, "ReferencedImageSequence": [img(sops[2])]}],
        "GraphicAnnotationSequence": [{"GraphicLayer": "L", "ReferencedImageSequence": [img(sops[2])]}]})
    info = dclabel(tool, "refs", pr)
    check(rows_of(info, "referenced_series") == {("", series, sops[2], "")}
          and rows_of(info, "annotation") == {("", "", sops[2], "")} and len(info["refs"]) == 2,
          "refs PR: referenced series and annotated image")


# outermost sequence -> kind, for the SR check (keywords of the C table's tags)
SR_KINDS = {"ContentSequence": "content", "PredecessorDocumentsSequence": "predecessor",
            "CurrentRequestedProcedureEvidenceSequence": "evidence",
            "PertinentOtherEvidenceSequence": "evidence", "ReferencedSeriesSequence": "referenced_series"}


def sr_references(tool):
    """pydicom's test-SR.dcm: every ReferencedSOPInstanceUID pydicom finds in
    the content tree and the predecessor documents, with its kind"""
    path = os.path.join(os.path.dirname(PYDICOM_RTSTRUCT), "test-SR.dcm")
    want = set()

    def walk(ds, kind):
        for e in ds:
            if e.VR == "SQ":
                for it in e.value:
                    walk(it, kind or SR_KINDS.get(e.keyword))
            elif e.tag == 0x00081155 and kind:
                want.add((kind, e.value))
    walk(pydicom.dcmread(path), None)
    info = dclabel(tool, "refs", path)
    got = {(r["kind"], r["sop"]) for r in info.get("refs", [])}
    check(got == want and len(want) == 6, "refs test-SR.dcm: %d content/predecessor references as pydicom finds them" % len(want))


UIDS = dcmgen.UidMaker()
STUDY = UIDS("study")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 64
    tool = os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "tools", "dclabel")
    with tempfile.TemporaryDirectory(prefix="dcmcrawl_labels_") as tmp:
        ct = seg_tests(tool, tmp)
        rt = rtstruct_tests(tool, tmp)
        reference_tests(tool, tmp, ct, rt)
    print("%d failures" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
