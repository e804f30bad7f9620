#!/usr/bin/python3
"""make_sample.py [OUTDIR] - the small committed sample (tests/data/sample).

Deterministic: the same bytes on every run with the same pydicom/dcmtk.
Writes three folders, about 0.5 MB in all, for the README's first command:

  ct_series/   one CT series, 20 axial slices 64x64, signed 16-bit (BitsStored 12,
               HU values down to -1000), shuffled file names (some without .dcm),
               InstanceNumbers against position
  mr_series/   two MR series in one folder: T1 (explicit VR little endian) and
               T2 (JPEG lossless SV1, via dcmcjpeg), 12 slices 64x64 each
  mixed/       single files: an RGB secondary capture, a multi-frame 8-bit
               secondary capture (8 frames), and a text file that is not DICOM

Run from the repository root:  /usr/bin/python3 tests/gen/make_sample.py
"""
import argparse
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dcmgen as G  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def phantom(n, k, nslices):
    """A simple CT head/body phantom in HU: air, soft tissue, bone ring, two 'lungs'."""
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    cx, cy = (n - 1) / 2.0, (n - 1) / 2.0
    t = k / max(1, nslices - 1)
    rx, ry = n * (0.40 - 0.05 * abs(t - 0.5)), n * (0.33 - 0.04 * abs(t - 0.5))
    r = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2
    img = np.full((n, n), -1000.0)
    img[r <= 1.0] = 40.0
    img[(r > 0.85) & (r <= 1.0)] = 700.0 + 300.0 * t
    for sx in (-1, 1):
        rl = ((x - cx - sx * n * 0.17) / (n * 0.12)) ** 2 + ((y - cy) / (n * 0.18)) ** 2
        img[rl <= 1.0] = -800.0 + 50.0 * t
    rs = ((x - cx) / (n * 0.06)) ** 2 + ((y - cy + n * 0.12) / (n * 0.06)) ** 2
    img[rs <= 1.0] = 1200.0
    img += 10.0 * np.sin(x / 3.0 + k) * (r <= 1.0)
    return np.clip(np.rint(img), -1000, 1500)


def mr_image(n, k, contrast):
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    cx = cy = (n - 1) / 2.0
    r = np.hypot(x - cx, y - cy) / (n * 0.45)
    img = np.where(r <= 1.0, 800.0 + 400.0 * np.cos(3.0 * r + 0.2 * k), 0.0)
    ventricles = np.hypot((x - cx) / 4.0, (y - cy) / 8.0) <= 1.0
    img[ventricles] = 300.0 if contrast == "T1" else 1800.0
    return np.clip(np.rint(img + 20.0 * (k % 3)), 0, 4095)


def build(out):
    uids = G.UidMaker(root=G.UID_ROOT + ".9")
    rng = np.random.default_rng(4242)
    study = uids("study")
    for d in ("ct_series", "mr_series", "mixed"):
        shutil.rmtree(os.path.join(out, d), ignore_errors=True)
        os.makedirs(os.path.join(out, d))

    # ct_series
    n = 20
    series = uids("series")
    names = []
    while len(names) < n:
        nm = "".join(rng.choice(list("0123456789abcdef"), 8))
        if nm not in names:
            names.append(nm)
    positions = rng.permutation(n)
    for i, nm in enumerate(names):
        z = int(positions[i])
        ds = G.image_dataset(uids, G.CT_STORAGE, study, series, "CT", phantom(64, z, n),
                             bits_alloc=16, bits_stored=12, signed=True,
                             ipp=[-120.0, -120.0, -40.0 + 4.0 * z], iop=G.iop_axial(),
                             pixel_spacing=(3.75, 3.75), instance=n - z, slope=1.0,
                             intercept=0.0, thickness=4.0, series_description="CT sample",
                             patient_name="Sample^CT")
        G.save(ds, os.path.join(out, "ct_series", nm + (".dcm" if i % 2 else "")))

    # mr_series: T1 native, T2 JPEG lossless
    n = 12
    tmp = os.path.join(out, "mr_series", ".tmp")
    os.makedirs(tmp, exist_ok=True)
    for contrast, compress in (("T1", False), ("T2", True)):
        series = uids("series")
        for k in range(n):
            ds = G.image_dataset(uids, G.MR_STORAGE, study, series, "MR", mr_image(64, k, contrast),
                                 bits_alloc=16, bits_stored=12, signed=False,
                                 ipp=[-100.0, -100.0, -30.0 + 5.0 * k], iop=G.iop_axial(),
                                 pixel_spacing=(3.125, 3.125), instance=k + 1, thickness=5.0,
                                 series_number=2 if contrast == "T1" else 3,
                                 series_description="MR %s sample" % contrast,
                                 patient_name="Sample^MR")
            name = "%s_%02d.dcm" % (contrast.lower(), k + 1)
            if compress:
                src = G.save(ds, os.path.join(tmp, name))
                G.convert_ts(src, os.path.join(out, "mr_series", name), "jpegsv1")
            else:
                G.save(ds, os.path.join(out, "mr_series", name))
    shutil.rmtree(tmp)

    # mixed: RGB, multi-frame, not DICOM
    y, x = np.mgrid[0:48, 0:64]
    rgb = np.stack([(x * 4) % 256, (y * 5) % 256, ((x + y) * 2) % 256], axis=-1)
    ds = G.image_dataset(uids, G.SC_STORAGE, study, uids("series"), "OT", rgb, bits_alloc=8,
                         bits_stored=8, signed=False, photometric="RGB", instance=1,
                         pixel_spacing=None, series_description="RGB sample")
    G.save(ds, os.path.join(out, "mixed", "rgb_image.dcm"))
    frames = np.stack([((x + 8 * f) % 64) * 4 for f in range(8)]).astype(np.int64)
    frames = np.stack([np.pad(fr, ((0, 16), (0, 0)), mode="edge")[:64, :64] for fr in frames])
    ds = G.image_dataset(uids, G.MF_GRAY8_SC, study, uids("series"), "OT", frames, bits_alloc=8,
                         bits_stored=8, signed=False, instance=1, pixel_spacing=None,
                         series_description="multi-frame sample")
    G.save(ds, os.path.join(out, "mixed", "multiframe.dcm"))
    with open(os.path.join(out, "mixed", "notes.txt"), "w") as fh:
        fh.write("This file is not DICOM: dcmcrawl skips it and counts it in its summary.\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", nargs="?", default=os.path.join(ROOT, "tests", "data", "sample"))
    a = ap.parse_args()
    build(a.outdir)
    total = 0
    for dp, _, fs in os.walk(a.outdir):
        total += sum(os.path.getsize(os.path.join(dp, f)) for f in fs)
    print("make_sample: wrote %s (%.1f kB)" % (a.outdir, total / 1024.0))


if __name__ == "__main__":
    main()
