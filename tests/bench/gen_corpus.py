#!/usr/bin/python3
"""gen_corpus.py KIND OUT [options] - deterministic benchmark corpora for make bench.

KIND
  ct      OUT/series_<s>/: --series S axial CT series of --slices Z slices of
          --size N x N pixels, 16 bits allocated, 12 stored (unsigned, rescale
          intercept -1024, as most scanners write), explicit VR little endian,
          with a realistic scanner header (~150 elements, sequences, private
          groups).  Pixels: a body phantom with structures plus Gaussian noise,
          so lossless JPEG compresses them about as much as real CT (~2:1).
  jpeg    OUT/: the ct corpus given by --from, each file re-encoded with
          dcmcjpeg (lossless process 14 selection value 1, TS 1.2.840.10008.1.2.4.70),
          two processes in parallel.
  small   OUT/d<NNN>/: --files F small files (the same CT header, --size N pixels,
          one SOPInstanceUID each) in folders of 1,000, written from one template
          by patching fixed-width fields (fast enough for 200,000 files).
  archive OUT/d<NNNNN>/: --files F small files for the archive-scale case: the
          same template (--size 16: 2.8 KB files), 500 per folder, 5 series per
          folder, written by the C tool stamp (--stamp PATH, built by
          run_bench.sh): seconds per million files.

Everything is seeded: the same arguments give byte-identical files.  Writes
OUT.complete (with the arguments) last, beside OUT so that it is not part of
the corpus; an interrupted or differently sized corpus is made again.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ROOT = "1.2.826.0.1.3680043.10.1436.77"  # a private test root, never a real device


def item(**kw):
    d = Dataset()
    for k, v in kw.items():
        setattr(d, k, v)
    return d


def ct_header(study, series, series_number, n):
    """A CT header as a scanner writes it, without per-slice fields."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE
    meta.MediaStorageSOPInstanceUID = ROOT + ".0"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = ROOT + ".1"
    meta.ImplementationVersionName = "DCMCRAWL_BENCH"
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "CT_SOM5 SPI"]
    ds.InstanceCreationDate = "20230411"
    ds.InstanceCreationTime = "101523.123000"
    ds.SOPClassUID = CT_IMAGE
    ds.StudyDate = "20230411"
    ds.SeriesDate = "20230411"
    ds.AcquisitionDate = "20230411"
    ds.ContentDate = "20230411"
    ds.StudyTime = "100112.000000"
    ds.SeriesTime = "101201.000000"
    ds.AcquisitionTime = "101455.250000"
    ds.ContentTime = "101455.250000"
    ds.AccessionNumber = "BENCH%07d" % study
    ds.Modality = "CT"
    ds.Manufacturer = "DCMCRAWL BENCH"
    ds.InstitutionName = "Benchmark Hospital"
    ds.InstitutionAddress = "1 Main Street, Springfield"
    ds.ReferringPhysicianName = "Doe^Jane"
    ds.StationName = "CTAWP00001"
    ds.StudyDescription = "CT THORAX ABDOMEN"
    ds.ProcedureCodeSequence = Sequence([item(CodeValue="CTTA", CodingSchemeDesignator="L",
                                              CodeMeaning="CT thorax abdomen")])
    ds.SeriesDescription = "Thorax 1.0 B31f series %d" % series_number
    ds.InstitutionalDepartmentName = "Radiology"
    ds.OperatorsName = "Tech^A"
    ds.ManufacturerModelName = "Bench Scanner 64"
    ds.ReferencedImageSequence = Sequence([
        item(ReferencedSOPClassUID=CT_IMAGE, ReferencedSOPInstanceUID="%s.9.%d.1" % (ROOT, series)),
        item(ReferencedSOPClassUID=CT_IMAGE, ReferencedSOPInstanceUID="%s.9.%d.2" % (ROOT, series))])
    ds.PatientName = "Bench^Patient%03d" % study
    ds.PatientID = "BP%06d" % study
    ds.PatientBirthDate = "19600101"
    ds.PatientSex = "O"
    ds.PatientAge = "063Y"
    ds.PatientSize = "1.75"
    ds.PatientWeight = "80"
    ds.BodyPartExamined = "CHEST"
    ds.ScanOptions = "HELICAL_CT"
    ds.SliceThickness = "1.0"
    ds.KVP = "120"
    ds.DataCollectionDiameter = "500"
    ds.DeviceSerialNumber = "12345"
    ds.SoftwareVersions = "VB20A"
    ds.ProtocolName = "ThoraxAbdomen"
    ds.ReconstructionDiameter = "380"
    ds.DistanceSourceToDetector = "1085.6"
    ds.DistanceSourceToPatient = "595"
    ds.GantryDetectorTilt = "0"
    ds.TableHeight = "150"
    ds.RotationDirection = "CW"
    ds.ExposureTime = "500"
    ds.XRayTubeCurrent = "210"
    ds.Exposure = "105"
    ds.FilterType = "FLAT"
    ds.GeneratorPower = "25"
    ds.FocalSpots = "1.2"
    ds.ConvolutionKernel = "B31f"
    ds.PatientPosition = "HFS"
    ds.RevolutionTime = 0.5
    ds.SingleCollimationWidth = 0.6
    ds.TotalCollimationWidth = 38.4
    ds.TableSpeed = 46
    ds.TableFeedPerRotation = 23
    ds.SpiralPitchFactor = 0.6
    ds.CTDIvol = 8.5
    ds.CTDIPhantomTypeCodeSequence = Sequence([item(CodeValue="113691", CodingSchemeDesignator="DCM",
                                                    CodeMeaning="IEC Body Dosimetry Phantom")])
    ds.StudyInstanceUID = "%s.2.%d" % (ROOT, study)
    ds.SeriesInstanceUID = "%s.3.%d" % (ROOT, series)
    ds.StudyID = str(study)
    ds.SeriesNumber = series_number
    ds.AcquisitionNumber = 2
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = "%s.4.%d" % (ROOT, study)
    ds.PositionReferenceIndicator = ""
    ds.ImageComments = "bench"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = n
    ds.Columns = n
    ds.PixelSpacing = ["0.7421875", "0.7421875"]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = ["40", "-600"]
    ds.WindowWidth = ["400", "1200"]
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.WindowCenterWidthExplanation = ["WINDOW1", "WINDOW2"]
    ds.RequestAttributesSequence = Sequence([item(RequestedProcedureID="RP%d" % study,
                                                  ScheduledProcedureStepID="SPS%d" % study)])
    ds.PerformedProcedureStepStartDate = "20230411"
    ds.PerformedProcedureStepStartTime = "100112"
    ds.PerformedProcedureStepID = "PPS%d" % study
    ds.PerformedProcedureStepDescription = "CT THORAX ABDOMEN"
    # private groups as vendors write them
    blk = ds.private_block(0x0019, "BENCH CT VA0  COAD", create=True)
    blk.add_new(0x10, "DS", "1.5")
    blk.add_new(0x11, "SH", "AXIAL")
    blk.add_new(0x12, "LO", "detector 64x0.6")
    blk.add_new(0x13, "DS", ["0.25", "0.5", "1.0"])
    blk.add_new(0x14, "US", 3)
    blk.add_new(0x15, "SL", -12)
    blk.add_new(0x16, "OB", bytes(range(64)))
    blk2 = ds.private_block(0x0029, "BENCH CSA HEADER", create=True)
    blk2.add_new(0x08, "CS", "IMAGE NUM 4")
    blk2.add_new(0x09, "LO", "20230411")
    blk2.add_new(0x10, "OB", bytes(600))
    return ds


def phantom(rng, n, z, nz):
    """HU + 1024 values of one slice: air, body ellipse, lungs, spine, noise."""
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n - 0.5
    t = z / max(nz - 1, 1)
    img = np.full((n, n), -1000.0, np.float32)
    body = (x / 0.42) ** 2 + (y / (0.30 + 0.03 * np.sin(6 * t))) ** 2 < 1
    img[body] = 40
    for cx in (-0.18, 0.18):
        lung = ((x - cx) / 0.13) ** 2 + ((y + 0.02) / (0.19 - 0.05 * t)) ** 2 < 1
        img[lung] = -850
    spine = (x / 0.05) ** 2 + ((y - 0.18) / 0.05) ** 2 < 1
    img[spine] = 700
    img[body] += rng.normal(0, 15, size=int(body.sum())).astype(np.float32)
    img += rng.normal(0, 3, size=img.shape).astype(np.float32)
    return np.clip(np.rint(img + 1024), 0, 4095).astype("<u2")


def write_ct(a):
    rng = np.random.default_rng(a.seed)
    for s in range(a.series):
        d = os.path.join(a.out, "series_%03d" % s)
        os.makedirs(d, exist_ok=True)
        ds = ct_header(s // 4 + 1, s + 1, s + 1, a.size)
        for z in range(a.slices):
            sop = "%s.5.%d.%d" % (ROOT, s + 1, z + 1)
            ds.file_meta.MediaStorageSOPInstanceUID = sop
            ds.SOPInstanceUID = sop
            ds.InstanceNumber = z + 1
            zpos = -300.0 + 1.0 * z
            ds.ImagePositionPatient = ["-190", "-190", "%g" % zpos]
            ds.SliceLocation = "%g" % zpos
            ds.PixelData = phantom(rng, a.size, z, a.slices).tobytes()
            ds["PixelData"].VR = "OW"
            ds.save_as(os.path.join(d, "IM%05d.dcm" % (z + 1)), write_like_original=False)


def write_jpeg(a):
    src = os.path.abspath(a.src)
    jobs = []
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if f.endswith(".dcm"):
                rel = os.path.relpath(os.path.join(root, f), src)
                os.makedirs(os.path.dirname(os.path.join(a.out, rel)), exist_ok=True)
                jobs.append(rel)
    jobs.sort()
    procs = []
    for rel in jobs:
        p = subprocess.Popen(["dcmcjpeg", "+e1", os.path.join(src, rel), os.path.join(a.out, rel)])
        procs.append(p)
        if len(procs) >= 2:
            if procs.pop(0).wait() != 0:
                sys.exit("dcmcjpeg failed")
    for p in procs:
        if p.wait() != 0:
            sys.exit("dcmcjpeg failed")


def write_small(a):
    """One template file; per file only fixed-width fields change."""
    rng = np.random.default_rng(a.seed)
    ds = ct_header(1, 1, 1, a.size)
    marker = "%s.5.%s" % (ROOT, "9" * 9)  # SOPInstanceUID, patched per file
    ds.file_meta.MediaStorageSOPInstanceUID = marker
    ds.SOPInstanceUID = marker
    ds.SeriesInstanceUID = "%s.3.%s" % (ROOT, "8" * 9)  # one series per folder
    ds.InstanceNumber = "77777777"
    ds.ImagePositionPatient = ["-190", "-190", "-300"]
    ds.PixelData = phantom(rng, a.size, 0, 1).tobytes()
    ds["PixelData"].VR = "OW"
    tmp = os.path.join(a.out, ".template.dcm")
    os.makedirs(a.out, exist_ok=True)
    ds.save_as(tmp, write_like_original=False)
    tpl = bytearray(open(tmp, "rb").read())
    os.unlink(tmp)
    sop_at = [i for i in range(len(tpl)) if tpl.startswith(marker.encode(), i)]
    ser_at = tpl.find(("%s.3.%s" % (ROOT, "8" * 9)).encode())
    inst_at = tpl.find(b"77777777")
    assert len(sop_at) == 2 and ser_at > 0 and inst_at > 0
    n0 = len(ROOT) + 3
    for i in range(a.files):
        folder = i // 1000
        d = os.path.join(a.out, "d%03d" % folder)
        if i % 1000 == 0:
            os.makedirs(d, exist_ok=True)
        uid = b"%09d" % (100000000 + i)
        for at in sop_at:
            tpl[at + n0:at + n0 + 9] = uid
        tpl[ser_at + n0:ser_at + n0 + 9] = b"%09d" % (100000000 + folder)
        tpl[inst_at:inst_at + 8] = b"%-8d" % (i % 1000 + 1)
        with open(os.path.join(d, "f%06d.dcm" % i), "wb") as f:
            f.write(tpl)


def write_archive(a):
    """The small files' template, stamped by the C tool (folders of 500, 5 series each)."""
    rng = np.random.default_rng(a.seed)
    ds = ct_header(1, 1, 1, a.size)
    marker = "%s.5.%s" % (ROOT, "9" * 9)
    ds.file_meta.MediaStorageSOPInstanceUID = marker
    ds.SOPInstanceUID = marker
    ds.SeriesInstanceUID = "%s.3.%s" % (ROOT, "8" * 9)
    ds.InstanceNumber = "77777777"
    ds.ImagePositionPatient = ["-190", "-190", "-300"]
    ds.PixelData = phantom(rng, a.size, 0, 1).tobytes()
    ds["PixelData"].VR = "OW"
    tmp = a.out + ".template.dcm"
    ds.save_as(tmp, write_like_original=False)
    tpl = open(tmp, "rb").read()
    sop_at = [i for i in range(len(tpl)) if tpl.startswith(marker.encode(), i)]
    ser_at = tpl.find(("%s.3.%s" % (ROOT, "8" * 9)).encode())
    inst_at = tpl.find(b"77777777")
    assert len(sop_at) == 2 and ser_at > 0 and inst_at > 0
    n0 = len(ROOT) + 3
    subprocess.run([a.stamp, tmp, a.out, str(a.files), "500", "5", str(sop_at[0] + n0),
                    str(sop_at[1] + n0), str(ser_at + n0), str(inst_at)], check=True)
    os.unlink(tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["ct", "jpeg", "small", "archive"])
    ap.add_argument("out")
    ap.add_argument("--series", type=int, default=24)
    ap.add_argument("--slices", type=int, default=120)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--from", dest="src")
    ap.add_argument("--seed", type=int, default=1436)
    ap.add_argument("--stamp", help="the stamp tool (archive)")
    a = ap.parse_args()
    a.out = os.path.abspath(a.out)
    stamp = a.out + ".complete"
    args = " ".join(sys.argv[2:])
    if os.path.exists(stamp) and open(stamp).read() == args:
        return
    if os.path.exists(stamp):
        os.unlink(stamp)
    if os.path.exists(a.out):
        subprocess.run(["rm", "-rf", a.out], check=True)
    os.makedirs(a.out)
    {"ct": write_ct, "jpeg": write_jpeg, "small": write_small, "archive": write_archive}[a.kind](a)
    with open(stamp, "w") as f:
        f.write(args)


if __name__ == "__main__":
    main()
