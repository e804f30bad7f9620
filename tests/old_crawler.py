#!/usr/bin/python3
"""old_crawler.py - outputs written the way the original Python crawler writes
them (SPEC "as before"), for tests that append to them.  Written here from
that crawler's documented behaviour, with the same libraries (pydicom 2.3,
pandas, h5py), never from dcmcrawl's code:

  - volume mode with pixel data (its --eval_3d_scans True --write_pixeldata
    True): the DICOM files directly in each folder (DICOMDIR left out), grouped by
    SeriesInstanceUID (all files "nouid" when one has none); Scan ID = folder
    with "/" and "\\" replaced by "_", "_", the UID;
  - pixel_data.h5: one dataset per scan at the root, named by its Scan ID,
    slices ordered by InstanceNumber, stacked on the last axis, with a leading
    axis of 1: shape (1, rows, cols, slices), the stored dtype, no attributes;
  - metadata.csv: columns "Scan ID", "No. DICOMs in scan", then for the
    first file of the scan (in listing order) every element pydicom iterates
    (recursively into sequence items, pixel data left out), named
    prefix + elem.name + " " + str(elem.tag) with each enclosing sequence's
    name and "_" as prefix, valued str(elem.value); a name met again gets
    "DUPLICATE TAGS IN DICOM:v1/v2";
    written by pandas: the first scan with to_csv(index=False); later scans
    appended with the existing header when they bring no new column, else the
    whole file is read back with read_csv and rewritten with the new columns
    at the end (which is where pandas rewrites numbers: 20061201 ->
    20061201.0).

    crawl(folders, storage, cwd) -> {scan_id: numpy array written}
Scans whose pixel data pydicom cannot stack are left out (the original listed
them in unreadable_files.csv; not needed here).
"""
import os
import warnings

import numpy as np
import pandas as pd
import pydicom

warnings.simplefilter("ignore")
DUP = "DUPLICATE TAGS IN DICOM:"


def tags_and_values(ds):
    tags, values = [], []

    def visit(d, prefix):
        for elem in d:
            if elem.VR == "SQ":
                for item in elem.value:
                    visit(item, prefix + elem.name + "_")
                continue
            if elem.name == "Pixel Data":
                continue
            name = prefix + elem.name + " " + str(elem.tag)
            if name not in tags:
                tags.append(name)
                values.append(str(elem.value))
            else:
                i = tags.index(name)
                if values[i].startswith(DUP):
                    values[i] += "/" + str(elem.value)
                else:
                    values[i] = DUP + values[i] + "/" + str(elem.value)

    visit(ds, "")
    return tags, values


def _dicoms(folder):
    out = []
    for f in os.listdir(folder):
        p = os.path.join(folder, f)
        if not os.path.isfile(p):
            continue
        try:
            ds = pydicom.dcmread(p, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - not DICOM
            continue
        if isinstance(ds, pydicom.dicomdir.DicomDir):
            continue   # (the original took it for a DICOM file; dcmcrawl skips DICOMDIR)
        out.append(p)
    return out


def _write_row(fn, tags, values):
    if not os.path.exists(fn):
        df = pd.DataFrame(columns=tags)
        df.loc[0] = values
        df.to_csv(fn, index=False)
        return
    new = pd.DataFrame([dict(zip(tags, values))])
    existing = pd.read_csv(fn, nrows=1).columns
    if set(tags).issubset(set(existing)):
        new.reindex(columns=existing).to_csv(fn, index=False, header=False, mode="a")
    else:
        pd.concat([pd.read_csv(fn), new], ignore_index=True).to_csv(fn, index=False, mode="w")


def crawl(folders, storage, cwd="."):
    import h5py
    arrays = {}
    meta = os.path.join(cwd, storage, "metadata.csv")
    h5 = os.path.join(cwd, storage, "pixel_data.h5")
    for folder in folders:
        files = _dicoms(os.path.join(cwd, folder))
        groups = {}
        try:
            for p in files:
                groups.setdefault(pydicom.dcmread(p, stop_before_pixels=True).SeriesInstanceUID,
                                  []).append(p)
        except AttributeError:
            groups = {"nouid": files}
        for uid, paths in groups.items():
            sid = folder.replace("/", "_").replace("\\", "_") + "_" + uid
            try:
                order = sorted(range(len(paths)),
                               key=lambda i: pydicom.dcmread(paths[i]).InstanceNumber)
                first = pydicom.dcmread(paths[0]).pixel_array
                vol = np.empty(first.shape + (len(paths),), dtype=first.dtype)
                for k, i in enumerate(order):
                    vol[:, :, k] = pydicom.dcmread(paths[i]).pixel_array
            except Exception:  # noqa: BLE001 - the original lists it as unreadable
                continue
            vol = vol[None]
            with h5py.File(h5, "a", libver="latest") as f:
                f.create_dataset(sid, shape=vol.shape, data=vol)
            arrays[sid] = vol
            tags, values = tags_and_values(pydicom.dcmread(paths[0]))
            _write_row(meta, ["Scan ID", "No. DICOMs in scan"] + tags,
                       [sid, len(paths)] + values)
    return arrays
