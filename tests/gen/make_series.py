#!/usr/bin/python3
"""make_series.py OUTDIR [--seed N] - the synthetic test corpus.

Writes a deterministic (seeded) set of DICOM folders into OUTDIR and prints a
manifest (JSON, also saved as OUTDIR/manifest.json) that says, by
construction, what dcmcrawl must make of every file and series:

  folders    input folders (relative to OUTDIR) for the main crawls
  files      every file: kind (dicom, not_dicom, empty, dicomdir,
             bad_header, trunc_pixels, short_pixels, unsupported_ts, no_pixels),
             SOPInstanceUID, SeriesInstanceUID, per-file outcome and shape
  volumes    every expected volume-mode scan: folder, series UID, Scan ID
             suffix, outcome (stored / unreadable), reason substrings, shape,
             dtype, stored slice order as SOPInstanceUIDs (4D: repeat-major),
             order rule, warning keywords, uniform_spacing, lossy tolerance
  unreadable_folders  input folders without DICOM files

The oracle (tests/oracle.py) derives the same facts from the files alone;
test_crawl.py checks oracle against this manifest before trusting it.

Contents (see the functions below): several series in one folder with
shuffled names, InstanceNumbers against position, duplicate SOPInstanceUIDs,
files without SeriesInstanceUID / SOPInstanceUID / pixel data, junk files;
geometry cases (tri-planar localizer, oblique, gap, non-uniform spacing,
gantry tilt, inconsistent sizes, per-slice rescale, fallbacks to
InstanceNumber and natural file-name order); 4D and uneven repeats; metadata
cases (nested sequences with repeated items, private tags, CSV-hostile text,
ISO_IR 100 / ISO_IR 192); multi-frame files; one set of series copied into
every transfer syntax dcmtk/gdcm can write; broken files.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dcmgen as G  # noqa: E402


class Corpus:
    def __init__(self, out, seed):
        self.out = os.path.abspath(out)
        self.rng = np.random.default_rng(seed)
        self.uid = G.UidMaker()
        self.study = self.uid("study")
        self.files = {}      # relpath -> info
        self.volumes = []    # expected volume-mode scans
        self.folders = []
        self.unreadable_folders = []
        self.notes = []

    # ------------------------------------------------------------ helpers
    def path(self, folder, name):
        return os.path.join(self.out, folder, name)

    def add_folder(self, folder):
        if folder not in self.folders:
            self.folders.append(folder)
        os.makedirs(os.path.join(self.out, folder), exist_ok=True)

    def rand_names(self, n, prefix, exts=(".dcm", "")):
        names = set()
        out = []
        while len(out) < n:
            nm = prefix + "".join(self.rng.choice(list("0123456789abcdef"), 6))
            if nm in names:
                continue
            names.add(nm)
            out.append(nm + exts[len(out) % len(exts)])
        return out

    def write_image(self, folder, name, ds, kind="dicom", perfile="stored", reason=None):
        p = G.save(ds, self.path(folder, name))
        rel = os.path.relpath(p, self.out)
        a_shape = None
        if "PixelData" in ds and perfile == "stored":
            frames = int(ds.get("NumberOfFrames", 1) or 1)
            a_shape = [int(ds.Rows), int(ds.Columns)]
            if int(ds.SamplesPerPixel) > 1:
                a_shape.append(int(ds.SamplesPerPixel))
            if "NumberOfFrames" in ds:
                a_shape.insert(0, frames)
        self.files[rel] = {
            "kind": kind,
            "sop": str(ds.get("SOPInstanceUID", "")) or None,
            "series": str(ds.get("SeriesInstanceUID", "")) or None,
            "perfile": perfile,
            "perfile_reason": reason,
            "shape": a_shape,
        }
        return rel

    def volume(self, folder, series_uid, label, files_in_order, shape, dtype, rule="position",
               suffix="", warnings=(), uniform=None, tolerance=0, n_files=None,
               duplicates=(), outcome="stored", reasons=(), sops=None, frames=None):
        self.volumes.append({
            "order_frames": list(frames) if frames is not None else None,
            "folder": folder, "series_uid": series_uid, "suffix": suffix, "label": label,
            "outcome": outcome, "reasons": list(reasons),
            "shape": list(shape) if shape else None, "dtype": dtype,
            "order_files": [os.path.join(folder, f) for f in files_in_order],
            "order_sops": sops if sops is not None else
            [self.files[os.path.join(folder, f)]["sop"] for f in files_in_order],
            "order_rule": rule, "warnings": list(warnings), "uniform_spacing": uniform,
            "tolerance": tolerance,
            "n_files": n_files if n_files is not None else len(set(files_in_order)),
            "duplicates": [os.path.join(folder, f) for f in duplicates],
        })

    def series_of(self, folder, slices, modality, sop_class, label, *, shape_rc, bits_alloc,
                  bits_stored, signed, lo, hi, names, photometric="MONOCHROME2", planar=0,
                  series_uid=None, mask=lambda k: False, extra=None, slope=None, intercept=None,
                  pixel_spacing=(0.8, 0.7), thickness=None):
        """slices: list of dicts (ipp, iop, instance, acq, temporal, slope, intercept).
        Writes one file per slice; returns (series_uid, names, arrays)."""
        series_uid = series_uid or self.uid("series")
        samples = 3 if photometric in ("RGB", "YBR_FULL") else 1
        arrays = []
        for k, (sl, nm) in enumerate(zip(slices, names)):
            rows, cols = sl.get("shape", shape_rc)
            vals = G.smooth_image(self.rng, rows, cols, lo, hi, k=k, samples=samples)
            arrays.append(vals)
            ds = G.image_dataset(
                self.uid, sop_class, self.study, series_uid, modality, vals,
                bits_alloc=bits_alloc, bits_stored=bits_stored, signed=signed,
                photometric=photometric, planar=planar, ipp=sl.get("ipp"), iop=sl.get("iop"),
                instance=sl.get("instance"), acq=sl.get("acq"), temporal=sl.get("temporal"),
                slope=sl.get("slope", slope), intercept=sl.get("intercept", intercept),
                pixel_spacing=pixel_spacing, thickness=thickness, extra=extra,
                mask_high_bits=mask(k), series_description=label)
            self.write_image(folder, nm, ds)
        return series_uid, list(names), arrays

    # ------------------------------------------------------------ folders
    def build_series_folder(self):
        """Several series in one folder, shuffled names, junk files."""
        f = "series"
        self.add_folder(f)
        # CT: signed 16-bit, BitsStored 12, negative values, InstanceNumber against position
        n = 12
        names = self.rand_names(n, "ct")
        order = self.rng.permutation(n)      # file k (in names order) holds position order[k]
        slices = [None] * n
        for k in range(n):
            z = int(order[k])
            slices[k] = {"ipp": [-20.0, -15.0, -50.0 + 2.5 * z], "iop": G.iop_axial(),
                         "instance": n - z}

        def ct_extra(ds):
            ds.add_new(0x00280106, "SS", -1000)   # SmallestImagePixelValue (US or SS)
            ds.add_new(0x00280107, "SS", 1500)
            ds.WindowCenter = "40"
            ds.WindowWidth = "400"
            ds.KVP = "120"
        uid_ct, _, _ = self.series_of(f, slices, "CT", G.CT_STORAGE, "ct signed 12 bit",
                                      shape_rc=(32, 40), bits_alloc=16, bits_stored=12,
                                      signed=True, lo=-1000, hi=1500, names=names,
                                      mask=lambda k: k % 2 == 0, extra=ct_extra, slope=1.0,
                                      intercept=-1024.0, thickness=2.5)
        by_pos = [names[list(order).index(z)] for z in range(n)]
        # duplicate SOPInstanceUIDs: a changed copy that sorts first by name, an exact copy last
        orig = by_pos[5]
        src = pydicom.dcmread(self.path(f, orig))
        arr = src.pixel_array.copy()
        arr[3, 4] = arr[3, 4] + 1
        src.PixelData = arr.tobytes()
        self.write_image(f, "0000dup.dcm", src)
        exact = pydicom.dcmread(self.path(f, orig))
        self.write_image(f, "zzdup", exact)
        stacked = list(by_pos)
        stacked[5] = "0000dup.dcm"
        self.volume(f, uid_ct, "ct", stacked, (n, 32, 40), "int16", warnings=["duplicate"],
                    uniform=True, n_files=n, duplicates=[orig, "zzdup"])
        self.files[os.path.join(f, "0000dup.dcm")]["dup_rank"] = 1
        self.files[os.path.join(f, orig)]["dup_rank"] = 2
        self.files[os.path.join(f, "zzdup")]["dup_rank"] = 3

        # MR: unsigned 16-bit, sagittal, InstanceNumbers shuffled
        n = 10
        names = self.rand_names(n, "mr")
        inst = self.rng.permutation(n) + 1
        slices = [{"ipp": [10.0 + 3.0 * k, -30.0, 40.0], "iop": G.iop_sagittal(),
                   "instance": int(inst[k])} for k in range(n)]
        uid, _, _ = self.series_of(f, slices, "MR", G.MR_STORAGE, "mr sagittal", shape_rc=(40, 32),
                                   bits_alloc=16, bits_stored=16, signed=False, lo=0, hi=60000,
                                   names=names)
        # normal of sagittal = (-1, 0, 0): ascending projection = descending x
        self.volume(f, uid, "mr", list(reversed(names)), (n, 40, 32), "uint16", uniform=True)

        # 8-bit coronal, names in upper case with .DCM
        n = 6
        names = ["IM%04d.DCM" % (7 * k + 3) for k in range(n)]
        slices = [{"ipp": [-10.0, 5.0 - 4.0 * k, 20.0], "iop": G.iop_coronal(), "instance": k + 1}
                  for k in range(n)]
        uid, _, _ = self.series_of(f, slices, "OT", G.SC_STORAGE, "mono8 coronal", shape_rc=(36, 28),
                                   bits_alloc=8, bits_stored=8, signed=False, lo=0, hi=255,
                                   names=names)
        # coronal normal (0, 1, 0): ascending y = reversed file order
        self.volume(f, uid, "mono8", list(reversed(names)), (n, 36, 28), "uint8", uniform=True)

        # RGB interleaved and RGB planar
        n = 3
        names = ["rgb_%d.dcm" % k for k in range(n)]
        slices = [{"ipp": [0.0, 0.0, 5.0 * k], "iop": G.iop_axial(), "instance": k + 1}
                  for k in range(n)]
        uid, _, _ = self.series_of(f, slices, "OT", G.SC_STORAGE, "rgb", shape_rc=(24, 32),
                                   bits_alloc=8, bits_stored=8, signed=False, lo=0, hi=255,
                                   names=names, photometric="RGB", planar=0)
        self.volume(f, uid, "rgb", names, (n, 24, 32, 3), "uint8", uniform=True)
        n = 2
        names = ["rgbp_%d.dcm" % k for k in range(n)]
        slices = [{"ipp": [0.0, 0.0, 5.0 * k], "iop": G.iop_axial(), "instance": k + 1}
                  for k in range(n)]
        uid, _, _ = self.series_of(f, slices, "OT", G.SC_STORAGE, "rgb planar", shape_rc=(20, 16),
                                   bits_alloc=8, bits_stored=8, signed=False, lo=0, hi=255,
                                   names=names, photometric="RGB", planar=1)
        self.volume(f, uid, "rgb planar", names, (n, 20, 16, 3), "uint8", uniform=True)

        # no SeriesInstanceUID (one also without SOPInstanceUID): volume group "nouid"
        a0 = G.smooth_image(self.rng, 32, 32, 0, 4000, k=0)
        ds0 = G.image_dataset(self.uid, G.MR_STORAGE, self.study, None, "MR", a0, bits_alloc=16,
                              bits_stored=16, signed=False, ipp=[0, 0, 0], iop=G.iop_axial(),
                              instance=1)
        self.write_image(f, "nouid_a.dcm", ds0)
        a1 = G.smooth_image(self.rng, 32, 32, 0, 4000, k=1)
        ds1 = G.image_dataset(self.uid, G.MR_STORAGE, self.study, None, "MR", a1, bits_alloc=16,
                              bits_stored=16, signed=False, ipp=[0, 0, 5], iop=G.iop_axial(),
                              instance=2)
        del ds1.SOPInstanceUID
        del ds1.file_meta.MediaStorageSOPInstanceUID
        p = self.path(f, "nouid_nosop.dcm")
        ds1.save_as(p, write_like_original=True)
        self.files[os.path.relpath(p, self.out)] = {
            "kind": "dicom", "sop": None, "series": None, "perfile": "stored",
            "perfile_reason": None, "shape": [32, 32]}
        self.volume(f, "nouid", "nouid", ["nouid_a.dcm", "nouid_nosop.dcm"], (2, 32, 32), "uint16",
                    uniform=True)

        # no pixel data: a text SR with nested, repeated content items
        sr_series = self.uid("series")
        sop = self.uid("sop")
        ds = G.new_file_dataset(G.BASIC_TEXT_SR, sop)
        G.base_patient(ds, self.study)
        ds.SOPClassUID = G.BASIC_TEXT_SR
        ds.SOPInstanceUID = sop
        ds.Modality = "SR"
        ds.SeriesInstanceUID = sr_series
        ds.SeriesNumber = 99
        ds.InstanceNumber = 1
        ds.ValueType = "CONTAINER"
        ds.ContentSequence = G.seq(
            {"RelationshipType": "CONTAINS", "ValueType": "TEXT", "TextValue": "first finding"},
            {"RelationshipType": "CONTAINS", "ValueType": "TEXT", "TextValue": "second, with comma"},
        )
        self.write_image(f, "report.dcm", ds, kind="no_pixels", perfile="unreadable",
                         reason="no pixel data")
        self.volume(f, sr_series, "sr", ["report.dcm"], None, None, outcome="unreadable",
                    reasons=["no pixel data"])

        # junk: text, empty, DICOMDIR
        with open(self.path(f, "notes.txt"), "w") as fh:
            fh.write("not a DICOM file\nSeriesInstanceUID=1.2.3\n")
        self.files[os.path.join(f, "notes.txt")] = {"kind": "not_dicom", "perfile": "skip"}
        open(self.path(f, "empty.dcm"), "wb").close()
        self.files[os.path.join(f, "empty.dcm")] = {"kind": "empty", "perfile": "skip"}
        dd = G.new_file_dataset(G.MEDIA_DIRECTORY, self.uid("other"))
        dd.FileSetID = "TESTSET"
        dd.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = 0
        dd.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = 0
        dd.FileSetConsistencyFlag = 0
        rec = Dataset()
        rec.OffsetOfTheNextDirectoryRecord = 0
        rec.RecordInUseFlag = 0xFFFF
        rec.OffsetOfReferencedLowerLevelDirectoryEntity = 0
        rec.DirectoryRecordType = "PATIENT"
        rec.PatientID = "TEST001"
        rec.PatientName = "Test^Patient"
        dd.DirectoryRecordSequence = Sequence([rec])
        G.save(dd, self.path(f, "DICOMDIR"))
        self.files[os.path.join(f, "DICOMDIR")] = {"kind": "dicomdir", "perfile": "skip"}

    def build_geometry_folder(self):
        f = "geometry"
        self.add_folder(f)
        sh = (32, 32)
        common = dict(modality="MR", sop_class=G.MR_STORAGE, bits_alloc=16, bits_stored=16,
                      signed=False, lo=0, hi=30000)

        # tri-planar localizer in one series: sagittal (inst 1,2), axial (3,4), coronal (5,6)
        names = ["loc_%s" % c for c in "fbdace"]
        planes = [("sag", G.iop_sagittal(), [[-5.0, 0, 0], [5.0, 0, 0]]),
                  ("ax", G.iop_axial(), [[0, 0, -10.0], [0, 0, 10.0]]),
                  ("cor", G.iop_coronal(), [[0, -8.0, 0], [0, 8.0, 0]])]
        slices = []
        for p, (_, iop, ipps) in enumerate(planes):
            for j, ipp in enumerate(ipps):
                slices.append({"ipp": ipp, "iop": iop, "instance": 2 * p + j + 1})
        uid, _, _ = self.series_of(f, slices, label="localizer", shape_rc=sh, names=names, **common)
        # sag normal (-1,0,0): x=5 first; axial: z ascending; coronal normal (0,1,0): y ascending
        self.volume(f, uid, "localizer sag", [names[1], names[0]], (2, 32, 32), "uint16",
                    suffix="_1", uniform=True)
        self.volume(f, uid, "localizer ax", [names[2], names[3]], (2, 32, 32), "uint16",
                    suffix="_2", uniform=True)
        self.volume(f, uid, "localizer cor", [names[4], names[5]], (2, 32, 32), "uint16",
                    suffix="_3", uniform=True)

        # oblique: rotated 25 degrees about x, InstanceNumbers shuffled
        n = 8
        rot = G.rot_x(25)
        row = rot @ np.array([1.0, 0, 0])
        col = rot @ np.array([0, 1.0, 0])
        iop = [round(v, 6) for v in list(row) + list(col)]
        nrm = G.normal_of(iop)
        perm = self.rng.permutation(n)
        names = self.rand_names(n, "obl")
        slices = []
        for k in range(n):
            pos = int(perm[k])
            ipp = np.array([-12.0, -10.0, 30.0]) + 3.0 * pos * nrm
            slices.append({"ipp": [round(v, 5) for v in ipp], "iop": iop,
                           "instance": (n - pos) * 3})
        uid, _, _ = self.series_of(f, slices, label="oblique", shape_rc=(32, 36), names=names,
                                   **common)
        order = [names[list(perm).index(p)] for p in range(n)]
        self.volume(f, uid, "oblique", order, (n, 32, 36), "uint16", uniform=True)

        # gap: 10 planned slices every 2 mm, the 5th missing
        zs = [2.0 * k for k in range(10) if k != 4]
        names = self.rand_names(len(zs), "gap")
        perm = self.rng.permutation(len(zs))
        slices = [{"ipp": [0, 0, zs[int(perm[k])]], "iop": G.iop_axial(), "instance": int(perm[k]) + 1}
                  for k in range(len(zs))]
        uid, _, _ = self.series_of(f, slices, label="gap", shape_rc=sh, names=names, **common)
        order = [names[list(perm).index(p)] for p in range(len(zs))]
        self.volume(f, uid, "gap", order, (len(zs), 32, 32), "uint16", warnings=["gap"],
                    uniform=False)

        # non-uniform spacing
        zs = [0.0, 1.0, 2.0, 3.5, 4.0, 6.5]
        names = self.rand_names(len(zs), "nun")
        slices = [{"ipp": [0, 0, z], "iop": G.iop_axial(), "instance": k + 1} for k, z in enumerate(zs)]
        uid, _, _ = self.series_of(f, slices, label="nonuniform", shape_rc=sh, names=names, **common)
        self.volume(f, uid, "nonuniform", names, (len(zs), 32, 32), "uint16", uniform=False,
                    warnings=[])

        # gantry tilt: axial orientation, positions drift in y
        n = 6
        tilt = 20.0
        names = self.rand_names(n, "tlt")

        def tilt_extra(ds):
            ds.GantryDetectorTilt = "20"
        slices = [{"ipp": [-16.0, round(-16.0 + 2.0 * k * math.tan(math.radians(tilt)), 5), 2.0 * k],
                   "iop": G.iop_axial(), "instance": k + 1} for k in range(n)]
        uid, _, _ = self.series_of(f, slices, label="tilt", shape_rc=sh, names=names, extra=tilt_extra,
                                   **dict(common, modality="CT", sop_class=G.CT_STORAGE))
        self.volume(f, uid, "tilt", names, (n, 32, 32), "uint16", warnings=["tilt"], uniform=True)

        # inconsistent sizes in one series -> split, suffixes by lowest InstanceNumber
        names = ["mix_a.dcm", "mix_b.dcm", "mix_c.dcm", "mix_d.dcm", "mix_e.dcm"]
        slices = [{"ipp": [0, 0, 0.0], "iop": G.iop_axial(), "instance": 4},
                  {"ipp": [0, 0, 2.0], "iop": G.iop_axial(), "instance": 5},
                  {"ipp": [0, 0, 4.0], "iop": G.iop_axial(), "instance": 6},
                  {"ipp": [0, 0, 2.0], "iop": G.iop_axial(), "instance": 2, "shape": (24, 40)},
                  {"ipp": [0, 0, 0.0], "iop": G.iop_axial(), "instance": 1, "shape": (24, 40)}]
        uid, _, _ = self.series_of(f, slices, label="mixed sizes", shape_rc=sh, names=names, **common)
        self.volume(f, uid, "mixed 24x40", ["mix_e.dcm", "mix_d.dcm"], (2, 24, 40), "uint16",
                    suffix="_1", uniform=True)
        self.volume(f, uid, "mixed 32x32", ["mix_a.dcm", "mix_b.dcm", "mix_c.dcm"], (3, 32, 32),
                    "uint16", suffix="_2", uniform=True)
        self.mixed_series_uid = uid

        # per-slice rescale (slope and intercept vary)
        n = 5
        names = self.rand_names(n, "rsc")
        slopes = [1.0, 1.5, 2.0, 0.5, 1.0]
        icpts = [-1024.0, -1000.0, -1024.0, 0.0, 10.0]
        slices = [{"ipp": [0, 0, 3.0 * k], "iop": G.iop_axial(), "instance": k + 1,
                   "slope": slopes[k], "intercept": icpts[k]} for k in range(n)]
        uid, _, _ = self.series_of(f, slices, label="rescale", shape_rc=sh, names=names,
                                   **dict(common, modality="CT", sop_class=G.CT_STORAGE,
                                          signed=True, lo=-500, hi=1200))
        self.volume(f, uid, "rescale", names, (n, 32, 32), "int16", uniform=True)

    def build_natural_folder(self):
        f = "natural"
        self.add_folder(f)
        common = dict(modality="MR", sop_class=G.MR_STORAGE, bits_alloc=16, bits_stored=16,
                      signed=False, lo=0, hi=30000)
        # no position, no InstanceNumber: natural order of file names
        n = 12
        names = ["img%d%s" % (k + 1, ".dcm" if k % 3 else "") for k in range(n)]
        perm = self.rng.permutation(n)
        write_order = [names[i] for i in perm]           # write in shuffled order
        slices = [{} for _ in range(n)]
        uid, _, _ = self.series_of(f, slices, label="filename order", shape_rc=(20, 24),
                                   names=write_order, **common)
        self.volume(f, uid, "filename order", names, (n, 20, 24), "uint16", rule="filename")
        # positions without orientation: InstanceNumber order
        n = 5
        names = self.rand_names(n, "ino")
        inst = [int(v) + 1 for v in self.rng.permutation(n)]
        slices = [{"ipp": [0, 0, float(k)], "instance": inst[k]} for k in range(n)]
        uid, _, _ = self.series_of(f, slices, label="instance order", shape_rc=(20, 24),
                                   names=names, **common)
        order = [names[inst.index(i)] for i in range(1, n + 1)]
        self.volume(f, uid, "instance order", order, (n, 20, 24), "uint16", rule="instance")
        # PixelRepresentation changing within a series (one unsigned slice among
        # signed ones): stored as int32, which holds every value, with a warning
        n = 4
        names = self.rand_names(n, "prep")
        slices = [{"ipp": [0, 0, 2.0 * k], "iop": G.iop_axial(), "instance": k + 1}
                  for k in range(n)]
        s16 = dict(common, signed=True, lo=-1000, hi=1000, bits_stored=16)
        uid, _, _ = self.series_of(f, slices[:3], label="mixed representation",
                                   shape_rc=(20, 24), names=names[:3], **s16)
        u16 = dict(common, lo=40000, hi=60000)
        self.series_of(f, slices[3:], label="mixed representation", shape_rc=(20, 24),
                       names=names[3:], series_uid=uid, **u16)
        self.volume(f, uid, "mixed representation", names, (n, 20, 24), "int32",
                    warnings=["PixelRepresentation"])

    def build_fourd_folder(self):
        f = "fourd"
        self.add_folder(f)
        common = dict(modality="MR", sop_class=G.MR_STORAGE, bits_alloc=16, bits_stored=16,
                      signed=False, lo=0, hi=30000)
        nz, nt = 4, 3
        names = self.rand_names(nz * nt, "t4d")
        slices = []
        grid = {}
        for k in range(nz * nt):
            z, t = divmod(k, nt)
            slices.append({"ipp": [0, 0, 3.0 * z], "iop": G.iop_axial(), "instance": z * nt + t + 1,
                           "acq": t + 1, "temporal": t + 1})
            grid[(t, z)] = names[k]
        uid, _, _ = self.series_of(f, slices, label="4d", shape_rc=(32, 24), names=names, **common)
        order = [grid[(t, z)] for t in range(nt) for z in range(nz)]
        self.volume(f, uid, "4d", order, (nt, nz, 32, 24), "uint16", uniform=True)
        # uneven repeats: counts 2, 1, 2 -> stacked by InstanceNumber with a warning
        zs = [0.0, 0.0, 3.0, 6.0, 6.0]
        inst = [3, 5, 1, 4, 2]
        names = self.rand_names(len(zs), "unv")
        slices = [{"ipp": [0, 0, z], "iop": G.iop_axial(), "instance": i} for z, i in zip(zs, inst)]
        uid, _, _ = self.series_of(f, slices, label="uneven", shape_rc=(32, 24), names=names, **common)
        order = [names[inst.index(i)] for i in range(1, 6)]
        self.volume(f, uid, "uneven", order, (5, 32, 24), "uint16", rule="instance",
                    warnings=["repeat|uneven"])

    def build_colour_folder(self):
        """Colour and photometric interpretations: YBR_FULL (planar 0 and 1), YBR_FULL_422
        (native, subsampled), 16-bit RGB planar, MONOCHROME1, PALETTE COLOR (16- and
        8-bit tables, segmented tables, first mapped value, tables differing between
        slices); RLE copies; JPEG 2000 with the multiple component transform (YBR_RCT,
        YBR_ICT) and with a codestream precision other than BitsStored."""
        f = "colour"
        self.add_folder(f)
        ax = G.iop_axial()

        def pos(n, dz=2.0):
            return [{"ipp": [0, 0, dz * k], "iop": ax, "instance": k + 1} for k in range(n)]
        common8 = dict(modality="US", sop_class=G.SC_STORAGE, bits_alloc=8, bits_stored=8,
                       signed=False)
        for label, planar in (("ybr full", 0), ("ybr full planar", 1)):
            names = ["%s_%d.dcm" % (label.replace(" ", "_"), k) for k in range(2)]
            uid, _, _ = self.series_of(f, pos(2), label=label, shape_rc=(20, 28), names=names,
                                       lo=16, hi=240, photometric="YBR_FULL", planar=planar,
                                       **common8)
            self.volume(f, uid, label, names, (2, 20, 28, 3), "uint8", uniform=True, tolerance=2)
        # YBR_FULL_422 uncompressed: Y1 Y2 Cb Cr for each pair of pixels
        rows, cols = 16, 24
        full = G.smooth_image(self.rng, rows, cols, 16, 240, samples=3)
        uid = self.uid("series")
        ds = G.image_dataset(self.uid, G.SC_STORAGE, self.study, uid, "US", full, bits_alloc=8,
                             bits_stored=8, signed=False, photometric="YBR_FULL_422", instance=1,
                             ipp=[0, 0, 0], iop=ax)
        flat = full.reshape(-1, 3).astype(np.uint8)
        packed = np.empty(rows * cols * 2, dtype=np.uint8)
        packed[0::4], packed[1::4] = flat[0::2, 0], flat[1::2, 0]
        packed[2::4], packed[3::4] = flat[0::2, 1], flat[0::2, 2]
        ds.PixelData = packed.tobytes()
        self.write_image(f, "ybr422.dcm", ds)
        self.files[os.path.join(f, "ybr422.dcm")]["shape"] = [rows, cols, 3]
        self.volume(f, uid, "ybr 422", ["ybr422.dcm"], (1, rows, cols, 3), "uint8", rule=None,
                    tolerance=2)
        # 16-bit RGB, planar
        names = ["rgb16p_%d.dcm" % k for k in range(2)]
        uid, _, _ = self.series_of(f, pos(2), "OT", G.SC_STORAGE, "rgb16 planar", shape_rc=(12, 20),
                                   bits_alloc=16, bits_stored=16, signed=False, lo=0, hi=65535,
                                   names=names, photometric="RGB", planar=1)
        self.volume(f, uid, "rgb16 planar", names, (2, 12, 20, 3), "uint16", uniform=True)
        # MONOCHROME1: stored as is (no inversion), photometric recorded
        names = ["mono1_%d.dcm" % k for k in range(3)]
        uid, _, _ = self.series_of(f, pos(3, 5.0), "CR", G.SC_STORAGE, "monochrome1",
                                   shape_rc=(24, 20), bits_alloc=16, bits_stored=12, signed=False,
                                   lo=0, hi=4095, names=names, photometric="MONOCHROME1")
        self.volume(f, uid, "monochrome1", names, (3, 24, 20), "uint16", uniform=True)
        # PALETTE COLOR: indices stored, the tables in attributes
        self.palette_uids = {}

        def palette_series(label, names, tables_of, bits_alloc=8, hi=255, first_map=0, bits=16,
                           segmented=None, warnings=()):
            def extra_for(k):
                def extra(ds):
                    G.set_palette(ds, tables_of(k), first_map=first_map, bits=bits,
                                  segmented=segmented)
                return extra
            uid = self.uid("series")
            for k, nm in enumerate(names):
                self.series_of(f, [pos(len(names))[k]], "US", G.SC_STORAGE, label,
                               shape_rc=(18, 22), bits_alloc=bits_alloc, bits_stored=bits_alloc,
                               signed=False, lo=0, hi=hi, names=[nm], photometric="PALETTE COLOR",
                               series_uid=uid, extra=extra_for(k))
            self.palette_uids[label] = uid
            self.volume(f, uid, label, names, (len(names), 18, 22),
                        "uint8" if bits_alloc == 8 else "uint16",
                        rule="position" if len(names) > 1 else None,
                        uniform=True if len(names) > 1 else None, warnings=warnings)
        tabs = G.palette_tables(256)
        palette_series("palette", ["pal_%d.dcm" % k for k in range(3)], lambda k: tabs)
        palette_series("palette differs", ["pald_%d.dcm" % k for k in range(2)],
                       lambda k: G.palette_tables(256, kind=k), warnings=["palette"])
        tabs8 = [(t >> 8).astype(np.uint8) for t in G.palette_tables(256, kind=1)]
        palette_series("palette 8-bit table", ["pal_lut8.dcm"], lambda k: tabs8, bits=8)
        seg16 = G.segmented_lut(0, 16)
        palette_series("palette segmented", ["pal_seg16.dcm"], lambda k: None, bits_alloc=16,
                       hi=400, first_map=40, bits=16, segmented=seg16)
        seg8 = G.segmented_lut(2, 8)
        palette_series("palette segmented 8-bit", ["pal_seg8.dcm"], lambda k: None, bits=8,
                       first_map=3, segmented=seg8)

        # RLE copies (their own folder: same UIDs)
        if G.tool_available("dcmcrle"):
            sub = f + "/rle"
            self.add_folder(sub)
            for label, names, shape, dt in (("ybr full", ["ybr_full_0.dcm", "ybr_full_1.dcm"],
                                             (2, 20, 28, 3), "uint8"),
                                            ("palette", ["pal_%d.dcm" % k for k in range(3)],
                                             (3, 18, 22), "uint8"),
                                            ("monochrome1", ["mono1_%d.dcm" % k for k in range(3)],
                                             (3, 24, 20), "uint16")):
                for nm in names:
                    G.convert_ts(self.path(f, nm), self.path(sub, nm), "rle")
                    ds = pydicom.dcmread(self.path(sub, nm), stop_before_pixels=True)
                    self.files[os.path.join(sub, nm)] = dict(self.files[os.path.join(f, nm)],
                                                             ts=str(ds.file_meta.TransferSyntaxUID))
                self.volume(sub, str(ds.SeriesInstanceUID), "rle " + label, names, shape, dt,
                            uniform=True, tolerance=2 if "ybr" in label else 0)

        # JPEG 2000 with the multiple component transform, and precision != BitsStored
        sub = f + "/j2k"
        self.add_folder(sub)
        for label, pi, ts, irr in (("rct", "YBR_RCT", "1.2.840.10008.1.2.4.90", False),
                                   ("ict", "YBR_ICT", "1.2.840.10008.1.2.4.91", True)):
            uid = self.uid("series")
            names = ["%s_%d.dcm" % (label, k) for k in range(2)]
            for k, nm in enumerate(names):
                rgb = G.smooth_image(self.rng, 20, 24, 0, 255, k=k, samples=3)
                ds = G.image_dataset(self.uid, G.SC_STORAGE, self.study, uid, "OT", rgb,
                                     bits_alloc=8, bits_stored=8, signed=False, photometric="RGB",
                                     instance=k + 1, ipp=[0, 0, 2.0 * k], iop=ax)
                ds.PhotometricInterpretation = pi
                G.encapsulated(ds, [G.pillow_j2k(rgb.astype(np.uint8), irreversible=irr,
                                                 mct=True)], ts)
                self.write_image(sub, nm, ds)
                self.files[os.path.join(sub, nm)]["shape"] = [20, 24, 3]
            self.volume(sub, uid, "j2k " + label, names, (2, 20, 24, 3), "uint8", uniform=True,
                        tolerance=3 if irr else 0)
        # 12-bit values in a 16-bit codestream, BitsStored 12
        uid = self.uid("series")
        names = ["prec16_bs12_%d.dcm" % k for k in range(2)]
        for k, nm in enumerate(names):
            a = G.smooth_image(self.rng, 20, 24, 0, 4095, k=k)
            ds = G.image_dataset(self.uid, G.MR_STORAGE, self.study, uid, "MR", a, bits_alloc=16,
                                 bits_stored=12, signed=False, instance=k + 1,
                                 ipp=[0, 0, 2.0 * k], iop=ax)
            G.encapsulated(ds, [G.pillow_j2k(a.astype(np.uint16))], "1.2.840.10008.1.2.4.90")
            self.write_image(sub, nm, ds)
            self.files[os.path.join(sub, nm)]["shape"] = [20, 24]
        self.volume(sub, uid, "j2k precision 16, BitsStored 12", names, (2, 20, 24), "uint16",
                    uniform=True)
        # and the reverse: 12-bit codestreams (gdcmconv, OpenJPH) in files saying BitsStored 16
        for label, kind, ts in (("j2k", "j2k", "1.2.840.10008.1.2.4.90"),
                                ("htj2k", "htj2k", "1.2.840.10008.1.2.4.201")):
            if not G.tool_available("gdcmconv" if kind == "j2k" else "ojph_compress"):
                continue
            uid = self.uid("series")
            names = ["%s_prec12_bs16_%d.dcm" % (label, k) for k in range(2)]
            for k, nm in enumerate(names):
                a = G.smooth_image(self.rng, 20, 24, 0, 4095, k=k)
                ds = G.image_dataset(self.uid, G.MR_STORAGE, self.study, uid, "MR", a,
                                     bits_alloc=16, bits_stored=12, signed=False, instance=k + 1,
                                     ipp=[0, 0, 2.0 * k], iop=ax)
                tmp = self.path(sub, "tmp_" + nm)
                G.save(ds, tmp)
                G.convert_ts(tmp, self.path(sub, nm), kind)
                os.unlink(tmp)
                out = pydicom.dcmread(self.path(sub, nm))
                out.BitsStored, out.HighBit = 16, 15
                self.write_image(sub, nm, out)
                self.files[os.path.join(sub, nm)]["shape"] = [20, 24]
            self.volume(sub, uid, "%s precision 12, BitsStored 16" % label, names, (2, 20, 24),
                        "uint16", uniform=True)

    def build_float_folder(self):
        """Float and double pixel data (parametric maps): a float32 volume, a
        double single file, a float32 multi-frame file."""
        f = "float"
        self.add_folder(f)
        ax = G.iop_axial()
        uid = self.uid("series")
        names = ["flt_%d.dcm" % k for k in range(3)]
        for k, nm in enumerate(names):
            a = (G.smooth_image(self.rng, 14, 18, 0, 10000, k=k) / 7.0 - 300.0).astype(np.float32)
            ds = G.float_dataset(self.uid, self.study, uid, a, ipp=[0, 0, 2.5 * k], iop=ax,
                                 instance=k + 1)
            self.write_image(f, nm, ds)
        self.volume(f, uid, "float32", names, (3, 14, 18), "float32", uniform=True)
        uid = self.uid("series")
        a = (G.smooth_image(self.rng, 10, 12, 0, 100000) / 3.0 - 1000.0) * 1.000000123
        ds = G.float_dataset(self.uid, self.study, uid, a.astype(np.float64), ipp=[0, 0, 0],
                             iop=ax, instance=1)
        self.write_image(f, "dbl.dcm", ds)
        self.volume(f, uid, "float64", ["dbl.dcm"], (1, 10, 12), "float64", rule=None)
        uid = self.uid("series")
        a = np.stack([G.smooth_image(self.rng, 8, 10, 0, 1000, k=k) / 9.0 for k in range(4)])
        ds = G.float_dataset(self.uid, self.study, uid, a.astype(np.float32))
        rel = self.write_image(f, "flt_mf.dcm", ds)
        self.volume(f, uid, "float32 multi-frame", ["flt_mf.dcm"] * 4, (4, 8, 10), "float32",
                    rule=None, sops=[self.files[rel]["sop"]] * 4)

    def build_meta_folder(self):
        f = "meta"
        self.add_folder(f)

        def one(name, label, extra, charset=None, patient="Test^Patient", dtype_bits=16):
            uid = self.uid("series")
            a = G.smooth_image(self.rng, 16, 20, 0, 1000)
            ds = G.image_dataset(self.uid, G.MR_STORAGE, self.study, uid, "MR", a,
                                 bits_alloc=dtype_bits, bits_stored=dtype_bits, signed=False,
                                 ipp=[0, 0, 0], iop=G.iop_axial(), instance=1, extra=extra,
                                 charset=charset, patient_name=patient, series_description=label)
            self.write_image(f, name, ds)
            self.volume(f, uid, label, [name], (1, 16, 20), "uint%d" % dtype_bits, rule=None)

        def nested(ds):
            ds.ReferencedImageSequence = G.seq(
                {"ReferencedSOPClassUID": G.MR_STORAGE, "ReferencedSOPInstanceUID": "1.2.3.4.1"},
                {"ReferencedSOPClassUID": G.MR_STORAGE, "ReferencedSOPInstanceUID": "1.2.3.4.2"},
                {"ReferencedSOPClassUID": G.CT_STORAGE, "ReferencedSOPInstanceUID": "1.2.3.4.3"})
            inner = G.seq({"CodeValue": "P1", "CodingSchemeDesignator": "99TEST",
                           "CodeMeaning": "Protocol one"},
                          {"CodeValue": "P2", "CodingSchemeDesignator": "99TEST",
                           "CodeMeaning": "Protocol, two"})
            item = Dataset()
            item.RequestedProcedureID = "RP1"
            item.ScheduledProtocolCodeSequence = inner
            ds.RequestAttributesSequence = Sequence([item])
            ds.ReferencedStudySequence = Sequence([])          # empty sequence: no column
            ds.ReferencedPerformedProcedureStepSequence = Sequence([Dataset()])  # empty item
        one("nested.dcm", "nested sequences", nested)

        def private(ds):
            ds.add_new(0x00090010, "LO", "ACME TEST 1.0")
            ds.add_new(0x00091001, "LO", "acme value")
            ds.add_new(0x00091002, "US", 7)
            ds.add_new(0x00090011, "LO", "GEMS_IDEN_01")
            ds.add_new(0x00091101, "LO", "full fidelity")
            ds.add_new(0x00290010, "LO", "SIEMENS CSA HEADER")
            ds.add_new(0x00291008, "CS", "IMAGE NUM 4")
            ds.add_new(0x00291010, "OB", bytes(range(40)))
            ds.add_new(0x00100003, "LO", "unknown public")
        one("private.dcm", "private tags", private)
        # the same private elements in implicit VR: their VR comes from a dictionary
        uid = self.uid("series")
        a = G.smooth_image(self.rng, 16, 20, 0, 1000)
        ds = G.image_dataset(self.uid, G.MR_STORAGE, self.study, uid, "MR", a, bits_alloc=16,
                             bits_stored=16, signed=False, ipp=[0, 0, 0], iop=G.iop_axial(),
                             instance=1, extra=private, series_description="private implicit")
        ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2"
        ds.is_implicit_VR = True
        self.write_image(f, "private_implicit.dcm", ds)
        self.volume(f, uid, "private implicit", ["private_implicit.dcm"], (1, 16, 20), "uint16",
                    rule=None)

        def text(ds):
            ds.StudyDescription = 'Head, neck "CTA"'
            ds.ImageComments = 'first line\r\nsecond, "quoted" line \\ with backslash'
            ds.AdditionalPatientHistory = "comma, only"
            ds.ImagerPixelSpacing = ["0.5", "0.25"]
            ds.AcquisitionMatrix = [0, 16, 20, 0]
            ds.add_new(0x00180013, "FL", 0.1)             # ContrastBolusT1Relaxivity (float32)
            ds.add_new(0x00181271, "FD", 123.456789012345)  # WaterEquivalentDiameter
            ds.add_new(0x00280009, "AT", [0x00181063, 0x00181065])  # FrameIncrementPointer
            ds.add_new(0x00280106, "US", 3)
            ds.add_new(0x00181320, "FL", [1.5, -2.25e-7])    # B1rms
            ds.OtherPatientIDs = ["A1", "B2", "C3"]
            ds.ProtocolName = "trailing space "
            ds.PerformedProcedureStepDescription = "x" * 60
        one("text.dcm", "text, numbers", text)

        def latin1(ds):
            ds.InstitutionName = "Hôpital Général"
            ds.StudyDescription = "Ärztliche Überweisung"
        one("latin1.dcm", "latin1", latin1, charset="ISO_IR 100", patient="Müller^Jürgen")

        def utf8(ds):
            ds.InstitutionName = "Ünïcødé ✓ テスト"
            ds.StudyDescription = "Ωμέγα, 数据"
        one("utf8.dcm", "utf8", utf8, charset="ISO_IR 192", patient="山田^太郎")

        def eight(ds):
            ds.ImageComments = "8 bit"
        one("eight.dcm", "eight bit", eight, dtype_bits=8)

    # Specific Character Set: every defined term pydicom can write and read back
    # (ISO 2022 IR 58 is left out: pydicom 2.3 keeps its escape sequence in the text)
    CHARSETS = [
        ("ISO_IR 100", "Müller^Jürgen", "Hôpital Général"),
        ("ISO_IR 101", "Dvořák^Łukasz", "Nemocnice Ústí"),
        ("ISO_IR 109", "Ħal^Għargħur", "Sptar Ċentrali"),
        ("ISO_IR 110", "Ķēniņš^Jānis", "Slimnīca"),
        ("ISO_IR 144", "Иванов^Иван", "Больница"),
        ("ISO_IR 127", "قباني^لنزار", "مستشفى"),
        ("ISO_IR 126", "Διονυσιος^Γιαννης", "Νοσοκομείο"),
        ("ISO_IR 138", "שרון^דבורה", "בית חולים"),
        ("ISO_IR 148", "Çağlar^Şükrü", "Hastane İzmir"),
        ("ISO_IR 166", "สมชาย^ใจดี", "โรงพยาบาล"),
        ("ISO_IR 13", "ﾔﾏﾀﾞ^ﾀﾛｳ", "ﾋﾞｮｳｲﾝ"),
        ("ISO_IR 192", "Ünïcødé^山田", "Больница ✓ 病院"),
        ("GB18030", "王^小东", "医院 €"),
        ("GBK", "王^小东", "医院"),
        ("\\ISO 2022 IR 87", "Yamada^Tarou=山田^太郎=やまだ^たろう", "病院"),
        ("ISO 2022 IR 13\\ISO 2022 IR 87", "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう", "ﾋﾞｮｳｲﾝ 病院"),
        ("\\ISO 2022 IR 149", "Hong^Gildong=洪^吉洞=홍^길동", "병원"),
        ("\\ISO 2022 IR 159", "Tarou=丂^丄", "丂"),
        ("ISO 2022 IR 100", "Müller^Jürgen", "Hôpital"),
        ("ISO 2022 IR 6\\ISO 2022 IR 100\\ISO 2022 IR 126", "Müller^Διονυσιος",
         "Hôpital Νοσοκομείο"),
        ("\\ISO 2022 IR 166", "Somchai=สมชาย", "โรงพยาบาล"),
        ("\\ISO 2022 IR 144", "Ivanov=Иванов", "Больница"),
    ]

    def build_charset_folder(self):
        """One file per Specific Character Set (single-byte ISO_IR, ISO 2022 with escape
        sequences, GB18030, GBK, UTF-8): PN, LO, LT values written by pydicom; the
        CSV must hold pydicom's decoded text."""
        f = "charsets"
        self.add_folder(f)
        for k, (cs, pn, lo) in enumerate(self.CHARSETS):
            uid = self.uid("series")
            terms = cs.split("\\")
            a = G.smooth_image(self.rng, 4, 6, 0, 255)
            ds = G.image_dataset(self.uid, G.SC_STORAGE, self.study, uid, "OT", a, bits_alloc=8,
                                 bits_stored=8, signed=False, charset=terms if len(terms) > 1 else cs,
                                 patient_name=pn, instance=1, series_description=lo)
            ds.InstitutionName = lo
            # (pydicom 2.3 cannot write ASCII beside katakana in ISO_IR 13 text VRs)
            ds.ImageComments = lo if cs == "ISO_IR 13" else lo + " - " + pn.split("=")[-1]
            ds.ReferringPhysicianName = pn
            name = "cs%02d.dcm" % k
            self.write_image(f, name, ds)
            self.volume(f, uid, "charset " + cs, [name], (1, 4, 6), "uint8", rule=None)

    def build_multiframe_folder(self):
        f = "multiframe"
        self.add_folder(f)
        # multi-frame 8-bit secondary capture without positions
        nf = 4
        frames = np.stack([G.smooth_image(self.rng, 24, 32, 0, 255, k=k) for k in range(nf)])
        uid = self.uid("series")
        ds = G.image_dataset(self.uid, G.MF_GRAY8_SC, self.study, uid, "OT", frames, bits_alloc=8,
                             bits_stored=8, signed=False, instance=1, pixel_spacing=None)
        rel = self.write_image(f, "mf_gray8.dcm", ds)
        self.volume(f, uid, "multiframe gray8", ["mf_gray8.dcm"] * nf, (nf, 24, 32), "uint8",
                    rule=None, sops=[self.files[rel]["sop"]] * nf)
        # enhanced-MR-like with functional groups, frames ascending in position
        nf = 3
        frames = np.stack([G.smooth_image(self.rng, 20, 24, 0, 4000, k=k) for k in range(nf)])
        uid = self.uid("series")

        def enh(ds):
            shared = Dataset()
            po = Dataset()
            po.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
            shared.PlaneOrientationSequence = Sequence([po])
            pm = Dataset()
            pm.PixelSpacing = ["0.9", "0.8"]
            pm.SliceThickness = "4"
            shared.PixelMeasuresSequence = Sequence([pm])
            ds.SharedFunctionalGroupsSequence = Sequence([shared])
            per = []
            for k in range(nf):
                it = Dataset()
                pp = Dataset()
                pp.ImagePositionPatient = ["-10", "-12", G.fmt_ds(4.0 * k)]
                it.PlanePositionSequence = Sequence([pp])
                fc = Dataset()
                fc.InStackPositionNumber = k + 1
                fc.StackID = "1"
                it.FrameContentSequence = Sequence([fc])
                per.append(it)
            ds.PerFrameFunctionalGroupsSequence = Sequence(per)
            del ds.PixelSpacing
        ds = G.image_dataset(self.uid, G.ENH_MR_STORAGE, self.study, uid, "MR", frames,
                             bits_alloc=16, bits_stored=16, signed=False, instance=1, extra=enh)
        rel = self.write_image(f, "mf_enhanced.dcm", ds)
        self.volume(f, uid, "multiframe enhanced", ["mf_enhanced.dcm"] * nf, (nf, 20, 24),
                    "uint16", rule=None, sops=[self.files[rel]["sop"]] * nf, uniform=True)

    def build_enhanced_folder(self):
        """Enhanced multi-frame files as scanners write them: nothing at the top level,
        positions/orientation/spacing/rescale in the Shared and Per-frame Functional
        Groups.  Enhanced CT (oblique, frames shuffled in position), enhanced PET
        (per-frame rescale slope, positions descending), enhanced MR 4D (temporal
        positions x slices, frames shuffled), an enhanced MR localizer with three
        orientations in one file (split like a tri-planar series), a series of two
        enhanced files (one volume each), ultrasound RGB cine and XA without
        positions (frame order); JPEG 2000, HTJ2K and RLE copies."""
        f = "enhanced"
        self.add_folder(f)
        rows, cols = 24, 28

        def frames_of(n, lo, hi):
            return np.stack([G.smooth_image(self.rng, rows, cols, lo, hi, k=k) for k in range(n)])

        def ds_(v):
            return [G.fmt_ds(x) for x in v]
        # enhanced CT: oblique, signed 12-bit with the bits above HighBit zero, frames shuffled
        n = 10
        rot = G.rot_x(20)
        iop = [round(v, 6) for v in list(rot @ np.array([1.0, 0, 0])) + list(rot @ np.array([0, 1.0, 0]))]
        nrm = G.normal_of(iop)
        perm = [int(v) for v in self.rng.permutation(n)]
        origin = np.array([-40.0, -30.0, 12.0])
        per = []
        for k in range(n):
            ipp = origin + 2.0 * perm[k] * nrm
            per.append({"PlanePositionSequence": {"ImagePositionPatient": ds_(np.round(ipp, 5))},
                        "FrameContentSequence": {"InStackPositionNumber": perm[k] + 1,
                                                 "StackID": "1",
                                                 "DimensionIndexValues": [perm[k] + 1]}})
        shared = {"PixelMeasuresSequence": {"PixelSpacing": ["0.7", "0.6"], "SliceThickness": "2"},
                  "PlaneOrientationSequence": {"ImageOrientationPatient": ds_(iop)},
                  "PixelValueTransformationSequence": {"RescaleIntercept": "0", "RescaleSlope": "1",
                                                       "RescaleType": "HU"}}
        uid = self.uid("series")
        ds = G.enhanced_dataset(self.uid, G.ENH_CT_STORAGE, self.study, uid, "CT",
                                frames_of(n, -1000, 1500), bits_alloc=16, bits_stored=12,
                                signed=True, shared=shared, per_frame=per)
        ds.PixelData = G.to_stored(frames_of(n, -1000, 1500), 16, 12, True, True).tobytes()
        rel = self.write_image(f, "enh_ct.dcm", ds)
        order = [perm.index(p) for p in range(n)]
        self.volume(f, uid, "enhanced CT", ["enh_ct.dcm"] * n, (n, rows, cols), "int16",
                    sops=[self.files[rel]["sop"]] * n, frames=order, uniform=True)
        self.enh_ct = ("enh_ct.dcm", uid, order)
        # enhanced PET: per-frame RescaleSlope, positions descending with the frame number
        n = 6
        per = [{"PlanePositionSequence": {"ImagePositionPatient": ["-50", "-50", G.fmt_ds(20.0 - 4 * k)]},
                "FrameContentSequence": {"InStackPositionNumber": n - k, "DimensionIndexValues": [n - k]},
                "PixelValueTransformationSequence": {"RescaleIntercept": "0",
                                                     "RescaleSlope": G.fmt_ds(0.5 + 0.25 * k),
                                                     "RescaleType": "BQML"}}
               for k in range(n)]
        shared = {"PixelMeasuresSequence": {"PixelSpacing": ["2", "2"], "SliceThickness": "4"},
                  "PlaneOrientationSequence": {"ImageOrientationPatient": ds_(G.iop_axial())}}
        uid = self.uid("series")
        ds = G.enhanced_dataset(self.uid, G.ENH_PET_STORAGE, self.study, uid, "PT",
                                frames_of(n, 0, 30000), bits_alloc=16, bits_stored=16,
                                signed=False, shared=shared, per_frame=per)
        rel = self.write_image(f, "enh_pet.dcm", ds)
        self.volume(f, uid, "enhanced PET", ["enh_pet.dcm"] * n, (n, rows, cols), "uint16",
                    sops=[self.files[rel]["sop"]] * n, frames=list(range(n - 1, -1, -1)),
                    uniform=True)
        # enhanced MR 4D: 3 temporal positions x 4 slices, frames shuffled
        nt, nz = 3, 4
        pairs = [(t, z) for t in range(nt) for z in range(nz)]
        shuffled = [pairs[int(i)] for i in self.rng.permutation(len(pairs))]
        per = [{"PlanePositionSequence": {"ImagePositionPatient": ["-20", "-25", G.fmt_ds(3.0 * z)]},
                "FrameContentSequence": {"TemporalPositionIndex": t + 1, "InStackPositionNumber": z + 1,
                                         "StackID": "1", "DimensionIndexValues": [t + 1, z + 1]}}
               for t, z in shuffled]
        shared = {"PixelMeasuresSequence": {"PixelSpacing": ["1.5", "1.25"], "SliceThickness": "3"},
                  "PlaneOrientationSequence": {"ImageOrientationPatient": ds_(G.iop_axial())}}
        uid = self.uid("series")
        ds = G.enhanced_dataset(self.uid, G.ENH_MR_STORAGE, self.study, uid, "MR",
                                frames_of(nt * nz, 0, 4000), bits_alloc=16, bits_stored=12,
                                signed=False, shared=shared, per_frame=per,
                                dimension_index=("FrameContentSequence", "TemporalPositionIndex"))
        rel = self.write_image(f, "enh_mr_4d.dcm", ds)
        order = [shuffled.index((t, z)) for t in range(nt) for z in range(nz)]
        self.volume(f, uid, "enhanced MR 4D", ["enh_mr_4d.dcm"] * (nt * nz), (nt, nz, rows, cols),
                    "uint16", sops=[self.files[rel]["sop"]] * (nt * nz), frames=order, uniform=True)
        self.enh_mr_4d = ("enh_mr_4d.dcm", uid, order, (nt, nz))
        # enhanced MR localizer: sagittal, axial, coronal frames interleaved in one file
        planes = [G.iop_sagittal(), G.iop_axial(), G.iop_coronal()]
        per = []
        for k in range(9):
            p, j = k % 3, k // 3
            ipp = [[-10.0 + 10 * j, -20, 20], [-20, -20, -10.0 + 10 * j], [-20, -10.0 + 10 * j, 20]][p]
            per.append({"PlanePositionSequence": {"ImagePositionPatient": ds_(ipp)},
                        "PlaneOrientationSequence": {"ImageOrientationPatient": ds_(planes[p])},
                        "FrameContentSequence": {"StackID": str(p + 1), "InStackPositionNumber": j + 1,
                                                 "DimensionIndexValues": [p + 1, j + 1]}})
        shared = {"PixelMeasuresSequence": {"PixelSpacing": ["1.6", "1.6"], "SliceThickness": "8"}}
        uid = self.uid("series")
        ds = G.enhanced_dataset(self.uid, G.ENH_MR_STORAGE, self.study, uid, "MR",
                                frames_of(9, 0, 1000), bits_alloc=16, bits_stored=16,
                                signed=False, shared=shared, per_frame=per)
        rel = self.write_image(f, "enh_loc.dcm", ds)
        sop = self.files[rel]["sop"]
        # sagittal normal (-1,0,0): x descending; axial: z ascending; coronal (0,1,0): y ascending
        for suffix, label, frs in (("_1", "localizer sagittal", [6, 3, 0]),
                                   ("_2", "localizer axial", [1, 4, 7]),
                                   ("_3", "localizer coronal", [2, 5, 8])):
            self.volume(f, uid, "enhanced " + label, ["enh_loc.dcm"] * 3, (3, rows, cols), "uint16",
                        suffix=suffix, sops=[sop] * 3, frames=frs, uniform=True, n_files=1)
        # a series of two enhanced MR files: one volume each, _1 by the lower InstanceNumber
        uid = self.uid("series")
        for name, inst, nf, z0 in (("enh_mr_a.dcm", 2, 3, 30.0), ("enh_mr_b.dcm", 1, 2, 0.0)):
            per = [{"PlanePositionSequence": {"ImagePositionPatient": ["0", "0", G.fmt_ds(z0 + 5 * k)]},
                    "FrameContentSequence": {"InStackPositionNumber": k + 1, "DimensionIndexValues": [k + 1]}}
                   for k in range(nf)]
            shared = {"PixelMeasuresSequence": {"PixelSpacing": ["1", "1"], "SliceThickness": "5"},
                      "PlaneOrientationSequence": {"ImageOrientationPatient": ds_(G.iop_axial())}}
            ds = G.enhanced_dataset(self.uid, G.ENH_MR_STORAGE, self.study, uid, "MR",
                                    frames_of(nf, 0, 2000), bits_alloc=16, bits_stored=16,
                                    signed=False, shared=shared, per_frame=per, instance=inst)
            rel = self.write_image(f, name, ds)
            self.volume(f, uid, "enhanced MR file %d" % inst, [name] * nf, (nf, rows, cols),
                        "uint16", suffix="_%d" % inst, sops=[self.files[rel]["sop"]] * nf,
                        frames=list(range(nf)), uniform=True, n_files=1)
        # a series of single-frame enhanced CT files (NumberOfFrames 1): positions and rescale
        # only in the functional groups, names against position
        n = 4
        uid = self.uid("series")
        names = self.rand_names(n, "e1f", exts=(".dcm",))
        perm = [int(v) for v in self.rng.permutation(n)]
        for k, nm in enumerate(names):
            per = [{"PlanePositionSequence": {"ImagePositionPatient": ["0", "0", G.fmt_ds(2.5 * perm[k])]},
                    "FrameContentSequence": {"InStackPositionNumber": perm[k] + 1,
                                             "DimensionIndexValues": [perm[k] + 1]},
                    "PixelValueTransformationSequence": {"RescaleIntercept": G.fmt_ds(-1024 + perm[k]),
                                                         "RescaleSlope": "1", "RescaleType": "HU"}}]
            shared = {"PixelMeasuresSequence": {"PixelSpacing": ["0.5", "0.5"], "SliceThickness": "2.5"},
                      "PlaneOrientationSequence": {"ImageOrientationPatient": ds_(G.iop_axial())}}
            ds = G.enhanced_dataset(self.uid, G.ENH_CT_STORAGE, self.study, uid, "CT",
                                    frames_of(1, 0, 3000), bits_alloc=16, bits_stored=12,
                                    signed=False, shared=shared, per_frame=per, instance=k + 1)
            ds.NumberOfFrames = 1
            self.write_image(f, nm, ds)
            self.files[os.path.join(f, nm)]["shape"] = [rows, cols]   # one frame: 2D
        order = [names[perm.index(p)] for p in range(n)]
        self.volume(f, uid, "single-frame enhanced CT series", order, (n, rows, cols), "uint16",
                    uniform=True)
        # ultrasound RGB cine and XA: no positions, frame order
        uid = self.uid("series")
        cine = np.stack([G.smooth_image(self.rng, rows, cols, 0, 255, k=k, samples=3) for k in range(5)])

        def us_extra(ds):
            ds.FrameTime = "33.3"
            ds.CineRate = 30
            ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
        ds = G.image_dataset(self.uid, G.US_MF_STORAGE, self.study, uid, "US", cine, bits_alloc=8,
                             bits_stored=8, signed=False, photometric="RGB", instance=1,
                             pixel_spacing=None, extra=us_extra)
        rel = self.write_image(f, "us_cine.dcm", ds)
        self.volume(f, uid, "ultrasound cine", ["us_cine.dcm"] * 5, (5, rows, cols, 3), "uint8",
                    rule=None, sops=[self.files[rel]["sop"]] * 5, frames=list(range(5)))
        uid = self.uid("series")
        ds = G.image_dataset(self.uid, G.XA_STORAGE, self.study, uid, "XA", frames_of(6, 0, 1023),
                             bits_alloc=16, bits_stored=10, signed=False, instance=1,
                             pixel_spacing=None, extra=us_extra)
        rel = self.write_image(f, "xa.dcm", ds)
        self.volume(f, uid, "XA", ["xa.dcm"] * 6, (6, rows, cols), "uint16", rule=None,
                    sops=[self.files[rel]["sop"]] * 6, frames=list(range(6)))

        # compressed copies (own folder: same UIDs): JPEG 2000 (gdcmconv), HTJ2K (OpenJPH), RLE
        sub = f + "/compressed"
        self.add_folder(sub)
        if G.tool_available("gdcmconv"):
            name, uid, order = self.enh_ct
            G.convert_ts(self.path(f, name), self.path(sub, name), "j2k")
            ds = pydicom.dcmread(self.path(sub, name), stop_before_pixels=True)
            self.files[os.path.join(sub, name)] = dict(self.files[os.path.join(f, name)],
                                                       ts=str(ds.file_meta.TransferSyntaxUID))
            self.volume(sub, uid, "enhanced CT j2k", [name] * len(order), (len(order), rows, cols),
                        "int16", sops=[str(ds.SOPInstanceUID)] * len(order), frames=order,
                        uniform=True)
        if G.tool_available("ojph_compress"):
            name, uid, order, (nt, nz) = self.enh_mr_4d
            src = pydicom.dcmread(self.path(f, name))
            arr = src.pixel_array
            ds = pydicom.dcmread(self.path(f, name))
            G.encapsulated(ds, [G.ojph_j2c(fr, 12) for fr in arr], "1.2.840.10008.1.2.4.201")
            self.write_image(sub, name, ds)
            self.volume(sub, uid, "enhanced MR 4D htj2k", [name] * len(order), (nt, nz, rows, cols),
                        "uint16", sops=[str(ds.SOPInstanceUID)] * len(order), frames=order,
                        uniform=True)
        if G.tool_available("dcmcrle"):
            G.convert_ts(self.path(f, "us_cine.dcm"), self.path(sub, "us_cine.dcm"), "rle")
            ds = pydicom.dcmread(self.path(sub, "us_cine.dcm"), stop_before_pixels=True)
            self.files[os.path.join(sub, "us_cine.dcm")] = dict(
                self.files[os.path.join(f, "us_cine.dcm")], ts=str(ds.file_meta.TransferSyntaxUID))
            self.volume(sub, str(ds.SeriesInstanceUID), "ultrasound cine rle", ["us_cine.dcm"] * 5,
                        (5, rows, cols, 3), "uint8", rule=None, sops=[str(ds.SOPInstanceUID)] * 5,
                        frames=list(range(5)))

    def build_ts_folders(self):
        base = "ts"
        self.add_folder(base)
        series = []   # (label, names, dtype, shape, lossy_ok kinds)
        # CT signed 12-bit with high bits masked (valid for every codec)
        n = 4
        names = ["ct%d.dcm" % k for k in range(n)]
        slices = [{"ipp": [0, 0, 2.0 * k], "iop": G.iop_axial(), "instance": n - k} for k in range(n)]
        def ct_extra(ds):
            ds.add_new(0x00280106, "SS", -1000)   # SmallestImagePixelValue: US or SS
            ds.add_new(0x00280107, "SS", 1500)    # (implicit VR copies: resolved from PixelRepresentation)
        uid_ct, _, _ = self.series_of(base, slices, "CT", G.CT_STORAGE, "ts ct", shape_rc=(32, 40),
                                      bits_alloc=16, bits_stored=12, signed=True, lo=-1000,
                                      hi=1500, names=names, mask=lambda k: True, slope=1.0,
                                      intercept=-1024.0, extra=ct_extra)
        series.append(("ct", uid_ct, names, "int16", (n, 32, 40)))
        n = 3
        names = ["mr%d.dcm" % k for k in range(n)]
        slices = [{"ipp": [0, 0, 3.0 * k], "iop": G.iop_axial(), "instance": k + 1} for k in range(n)]
        uid_mr, _, _ = self.series_of(base, slices, "MR", G.MR_STORAGE, "ts mr", shape_rc=(24, 32),
                                      bits_alloc=16, bits_stored=12, signed=False, lo=0, hi=4095,
                                      names=names)
        series.append(("mr", uid_mr, names, "uint16", (n, 24, 32)))
        n = 3
        names = ["m8_%d.dcm" % k for k in range(n)]
        slices = [{"ipp": [0, 0, 3.0 * k], "iop": G.iop_axial(), "instance": k + 1} for k in range(n)]
        uid_m8, _, _ = self.series_of(base, slices, "OT", G.SC_STORAGE, "ts mono8", shape_rc=(32, 32),
                                      bits_alloc=8, bits_stored=8, signed=False, lo=0, hi=255,
                                      names=names)
        series.append(("mono8", uid_m8, names, "uint8", (n, 32, 32)))
        n = 2
        names = ["rgb%d.dcm" % k for k in range(n)]
        slices = [{"ipp": [0, 0, 3.0 * k], "iop": G.iop_axial(), "instance": k + 1} for k in range(n)]
        uid_rgb, _, _ = self.series_of(base, slices, "OT", G.SC_STORAGE, "ts rgb", shape_rc=(32, 24),
                                       bits_alloc=8, bits_stored=8, signed=False, lo=0, hi=255,
                                       names=names, photometric="RGB")
        series.append(("rgb", uid_rgb, names, "uint8", (n, 32, 24, 3)))
        for label, uid, names, dt, shape in series:
            self.volume(base, uid, label, names, shape, dt, uniform=True)

        # copies in other transfer syntaxes: kind -> (which series, tolerance)
        kinds = [
            ("implicit", ["ct", "mr", "mono8", "rgb"], 0),
            ("bigendian", ["ct", "mr", "mono8", "rgb"], 0),
            ("deflated", ["ct", "mr", "mono8", "rgb"], 0),
            ("rle", ["ct", "mr", "mono8", "rgb"], 0),
            ("jpeg14", ["ct", "mr", "mono8", "rgb"], 0),
            ("jpegsv1", ["ct", "mr", "mono8", "rgb"], 0),
            ("jpegls", ["ct", "mr", "mono8", "rgb"], 0),
            ("jpegls_near", ["mr", "mono8"], 0),
            ("jpegbase", ["mono8", "rgb"], 3),
            ("jpegext", ["mr"], 4),
            ("j2k", ["ct", "mr", "mono8", "rgb"], 0),
            ("j2k_lossy", ["mr", "mono8", "rgb"], 3),
            ("htj2k", ["ct", "mr", "mono8", "rgb"], 0),
            ("htj2k_rpcl", ["mr"], 0),
            ("htj2k_lossy", ["mono8"], 3),
        ]
        tools = {"implicit": "dcmconv", "bigendian": "dcmconv", "deflated": "dcmconv",
                 "rle": "dcmcrle", "jpeg14": "dcmcjpeg", "jpegsv1": "dcmcjpeg",
                 "jpegbase": "dcmcjpeg", "jpegext": "dcmcjpeg", "jpegls": "dcmcjpls",
                 "jpegls_near": "dcmcjpls", "j2k": "gdcmconv", "j2k_lossy": "gdcmconv",
                 "htj2k": "ojph_compress", "htj2k_rpcl": "ojph_compress",
                 "htj2k_lossy": "ojph_compress"}
        for kind, which, tol in kinds:
            if not G.tool_available(tools[kind]):
                self.notes.append("skipped ts/%s: %s not installed" % (kind, tools[kind]))
                continue
            sub = base + "/" + kind
            self.add_folder(sub)
            for label, uid, names, dt, shape in series:
                if label not in which:
                    continue
                ok = True
                for nm in names:
                    try:
                        G.convert_ts(self.path(base, nm), self.path(sub, nm), kind)
                    except RuntimeError as e:
                        self.notes.append("ts/%s %s: %s" % (kind, nm, str(e).strip()[:200]))
                        ok = False
                        break
                if not ok:
                    for nm in names:
                        if os.path.exists(self.path(sub, nm)):
                            os.unlink(self.path(sub, nm))
                    continue
                for nm in names:
                    ds = pydicom.dcmread(self.path(sub, nm), stop_before_pixels=True)
                    rel = os.path.join(sub, nm)
                    srcinfo = self.files[os.path.join(base, nm)]
                    self.files[rel] = dict(srcinfo, sop=str(ds.SOPInstanceUID),
                                           ts=str(ds.file_meta.TransferSyntaxUID),
                                           source=os.path.join(base, nm))
                self.volume(sub, str(ds.SeriesInstanceUID), "%s %s" % (kind, label), names, shape,
                            dt, uniform=True, tolerance=tol)
            if not os.listdir(self.path(sub, "")):
                os.rmdir(self.path(sub, ""))
                self.folders.remove(sub)

    def build_bad_folders(self):
        f = "bad"
        self.add_folder(f)
        common = dict(bits_alloc=16, bits_stored=16, signed=False, ipp=[0, 0, 0],
                      iop=G.iop_axial(), instance=1)
        # truncated inside the pixel data value
        uid = self.uid("series")
        a = G.smooth_image(self.rng, 32, 32, 0, 4000)
        ds = G.image_dataset(self.uid, G.MR_STORAGE, self.study, uid, "MR", a, **common)
        p = G.save(ds, self.path(f, "trunc_pixels.dcm"))
        b = open(p, "rb").read()
        open(p, "wb").write(b[:-300])
        self.files[os.path.join(f, "trunc_pixels.dcm")] = {
            "kind": "trunc_pixels", "sop": str(ds.SOPInstanceUID), "series": uid,
            "perfile": "unreadable", "perfile_reason": "truncat", "shape": None}
        self.volume(f, uid, "truncated pixels", ["trunc_pixels.dcm"], None, None,
                    outcome="unreadable", reasons=["truncat"])
        # pixel data element complete but shorter than Rows x Columns says
        uid = self.uid("series")
        a = G.smooth_image(self.rng, 32, 32, 0, 4000)
        ds = G.image_dataset(self.uid, G.MR_STORAGE, self.study, uid, "MR", a, **common)
        ds.PixelData = ds.PixelData[:32 * 30 * 2]
        G.save(ds, self.path(f, "short_pixels.dcm"))
        self.files[os.path.join(f, "short_pixels.dcm")] = {
            "kind": "short_pixels", "sop": str(ds.SOPInstanceUID), "series": uid,
            "perfile": "unreadable", "perfile_reason": "truncat|short|length|size", "shape": None}
        self.volume(f, uid, "short pixels", ["short_pixels.dcm"], None, None,
                    outcome="unreadable", reasons=["truncat|short|length|size"])
        # unsupported transfer syntax (MPEG2)
        uid = self.uid("series")
        a = G.smooth_image(self.rng, 32, 32, 0, 4000)
        ds = G.image_dataset(self.uid, G.MR_STORAGE, self.study, uid, "MR", a, **common)
        from pydicom.encaps import encapsulate
        ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(60)])
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"
        ds.save_as(self.path(f, "mpeg2.dcm"), write_like_original=False)
        self.files[os.path.join(f, "mpeg2.dcm")] = {
            "kind": "unsupported_ts", "sop": str(ds.SOPInstanceUID), "series": uid,
            "perfile": "unreadable", "perfile_reason": "1.2.840.10008.1.2.4.100", "shape": None}
        self.volume(f, uid, "unsupported ts", ["mpeg2.dcm"], None, None, outcome="unreadable",
                    reasons=["1.2.840.10008.1.2.4.100"])

        # header cut in the middle of an element value (before SOPInstanceUID)
        f2 = "bad_header"
        self.add_folder(f2)
        uid = self.uid("series")
        ds = G.image_dataset(self.uid, G.MR_STORAGE, self.study, uid, "MR", a, **common)
        p = G.save(ds, self.path(f2, "cut.dcm"))
        b = open(p, "rb").read()
        at = b.index(b"ORIGINAL\\PRIMARY")
        open(p, "wb").write(b[:at + 5])
        self.files[os.path.join(f2, "cut.dcm")] = {
            "kind": "bad_header", "sop": None, "series": None, "perfile": "unreadable",
            "perfile_reason": "truncat", "shape": None}

        f3 = "nodicom"
        self.add_folder(f3)
        with open(self.path(f3, "readme.txt"), "w") as fh:
            fh.write("Only notes here, no images.\n")
        open(self.path(f3, "empty"), "wb").close()
        self.files[os.path.join(f3, "readme.txt")] = {"kind": "not_dicom", "perfile": "skip"}
        self.files[os.path.join(f3, "empty")] = {"kind": "empty", "perfile": "skip"}
        self.unreadable_folders.append(f3)

    def manifest(self):
        return {
            "root": self.out,
            "folders": self.folders,
            "recursive_folders": ["ts"],
            "unreadable_folders": self.unreadable_folders,
            "files": self.files,
            "volumes": self.volumes,
            "split_series": {"geometry": self.mixed_series_uid},
            "notes": self.notes,
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--quiet", action="store_true", help="do not print the manifest")
    args = ap.parse_args()
    c = Corpus(args.outdir, args.seed)
    os.makedirs(c.out, exist_ok=True)
    c.build_series_folder()
    c.build_geometry_folder()
    c.build_natural_folder()
    c.build_fourd_folder()
    c.build_meta_folder()
    c.build_charset_folder()
    c.build_multiframe_folder()
    c.build_enhanced_folder()
    c.build_colour_folder()
    c.build_float_folder()
    c.build_ts_folders()
    c.build_bad_folders()
    m = c.manifest()
    with open(os.path.join(c.out, "manifest.json"), "w") as fh:
        json.dump(m, fh, indent=1, sort_keys=True)
    if not args.quiet:
        json.dump(m, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    for n in c.notes:
        print("make_series: note:", n, file=sys.stderr)


if __name__ == "__main__":
    main()
