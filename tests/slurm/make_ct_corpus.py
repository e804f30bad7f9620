#!/usr/bin/python3
"""make_ct_corpus.py OUT [--folders F] [--series S] [--slices Z] [--size N]

A plain, deterministic corpus for the SLURM test: F folders OUT/archive_<f>,
each with S axial CT series of Z slices of N x N int16 pixels (explicit VR
little endian, shuffled file names), every series stackable by position.
Prints one line of JSON: {"folders": [...], "series": F*S, "files": F*S*Z}.
"""
import argparse
import json
import os

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ROOT = "1.2.826.0.1.3680043.10.1436"  # a private test root, never a real device


def slice_dataset(uid, f, s, z, n, pixels):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CT_IMAGE
    ds.file_meta.MediaStorageSOPInstanceUID = "%s.%d.%d.%d" % (uid, f, s, z + 1)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CT_IMAGE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "%s.1.%d" % (ROOT, f)
    ds.SeriesInstanceUID = "%s.2.%d.%d" % (ROOT, f, s)
    ds.FrameOfReferenceUID = "%s.3.%d" % (ROOT, f)
    ds.PatientName = "SLURM^TEST%d" % f
    ds.PatientID = "P%03d" % f
    ds.Modality = "CT"
    ds.SeriesNumber = s + 1
    ds.InstanceNumber = z + 1
    ds.SeriesDescription = "slurm test series %d" % s
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [-100.0, -100.0, -50.0 + 2.5 * z]
    ds.SliceThickness = 2.5
    ds.PixelSpacing = [0.8, 0.8]
    ds.RescaleSlope = 1
    ds.RescaleIntercept = -1024
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = n
    ds.Columns = n
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.PixelData = pixels.astype("<i2").tobytes()
    return ds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--folders", type=int, default=2)
    ap.add_argument("--series", type=int, default=3)
    ap.add_argument("--slices", type=int, default=30)
    ap.add_argument("--size", type=int, default=64)
    a = ap.parse_args()
    rng = np.random.default_rng(1436)
    folders = []
    files = 0
    for f in range(a.folders):
        name = "archive_%d" % f
        os.makedirs(os.path.join(a.out, name), exist_ok=True)
        folders.append(name)
        for s in range(a.series):
            vol = rng.integers(-1000, 2000, size=(a.slices, a.size, a.size), dtype=np.int16)
            order = rng.permutation(a.slices)
            for z in range(a.slices):
                ds = slice_dataset(ROOT + ".9", f, s, z, a.size, vol[z])
                path = os.path.join(a.out, name, "s%02d_%04d.dcm" % (s, order[z]))
                pydicom.dcmwrite(path, ds, write_like_original=False)
                files += 1
    print(json.dumps({"folders": folders, "series": a.folders * a.series, "files": files}))


if __name__ == "__main__":
    main()
