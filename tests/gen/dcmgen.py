"""dcmgen.py - building blocks for the synthetic DICOM corpus (tests/gen).

Everything here is deterministic: UIDs come from counters under a fixed root,
pixel data from numpy generators seeded by the caller, dates are constants.
make_series.py (the test corpus) and make_sample.py (the committed sample)
both build on these helpers.

Only pydicom is used to write files; other transfer syntaxes are produced by
converting an explicit-VR-little-endian file with dcmtk / gdcm command line
tools (convert_ts).
"""
import math
import os
import shutil
import subprocess

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

# pydicom 2.3 does not know the HTJ2K transfer syntaxes: teach it their names so it writes them
for _uid, _name in (("1.2.840.10008.1.2.4.201", "HTJ2KLossless"),
                    ("1.2.840.10008.1.2.4.202", "HTJ2KLosslessRPCL"),
                    ("1.2.840.10008.1.2.4.203", "HTJ2K")):
    pydicom._uid_dict.UID_dictionary.setdefault(_uid, (_name, "Transfer Syntax", "", "", _name))

UID_ROOT = "1.2.826.0.1.3680043.10.1011"   # fixed test root (not registered; never leaves the tests)

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ENH_MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"
SC_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
MF_GRAY8_SC = "1.2.840.10008.5.1.4.1.1.7.2"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
MEDIA_DIRECTORY = "1.2.840.10008.1.3.10"

TS_NAMES = {
    "1.2.840.10008.1.2": "implicit VR little endian",
    "1.2.840.10008.1.2.1": "explicit VR little endian",
    "1.2.840.10008.1.2.2": "explicit VR big endian",
    "1.2.840.10008.1.2.1.99": "deflated explicit VR little endian",
    "1.2.840.10008.1.2.5": "RLE lossless",
    "1.2.840.10008.1.2.4.50": "JPEG baseline (lossy)",
    "1.2.840.10008.1.2.4.51": "JPEG extended (lossy)",
    "1.2.840.10008.1.2.4.57": "JPEG lossless process 14",
    "1.2.840.10008.1.2.4.70": "JPEG lossless SV1",
    "1.2.840.10008.1.2.4.80": "JPEG-LS lossless",
    "1.2.840.10008.1.2.4.81": "JPEG-LS near-lossless",
    "1.2.840.10008.1.2.4.90": "JPEG 2000 lossless",
    "1.2.840.10008.1.2.4.91": "JPEG 2000",
}


class UidMaker:
    """Deterministic UIDs: <root>.<kind>.<counter>."""

    def __init__(self, root=UID_ROOT):
        self.root = root
        self.n = {}

    def __call__(self, kind):
        codes = {"study": 1, "series": 2, "sop": 3, "for": 4, "other": 9}
        c = self.n.get(kind, 0) + 1
        self.n[kind] = c
        return "%s.%d.%d" % (self.root, codes[kind], c)


# --------------------------------------------------------------------- pixels

def smooth_image(rng, rows, cols, lo, hi, k=0, samples=1):
    """A smooth, slice-dependent pattern (compresses well with lossy codecs,
    differs from slice to slice so an ordering error shows) in [lo, hi]."""
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float64)
    phase = rng.uniform(0, 2 * math.pi)
    planes = []
    for s in range(samples):
        f = (0.5 + 0.5 * np.sin(x / (3.0 + s) + phase + 0.7 * k)
             * np.cos(y / (4.0 + 0.5 * s) - 0.3 * k))
        f = 0.8 * f + 0.2 * ((x + 2 * y + 5 * k + 11 * s) % 17) / 16.0
        planes.append(lo + f * (hi - lo))
    img = np.stack(planes, axis=-1) if samples > 1 else planes[0]
    return np.clip(np.rint(img), lo, hi)


def noise_image(rng, rows, cols, lo, hi, samples=1):
    shape = (rows, cols, samples) if samples > 1 else (rows, cols)
    return rng.integers(lo, hi + 1, size=shape)


def to_stored(values, bits_alloc, bits_stored, signed, mask_high_bits=False):
    """Integer values -> numpy array of the stored dtype.  mask_high_bits:
    for signed data with BitsStored < BitsAllocated, write the two's
    complement in BitsStored bits with the bits above HighBit zero (real
    scanners do this; a reader must sign-extend from HighBit)."""
    dt = {8: np.uint8, 16: np.uint16, 32: np.uint32}[bits_alloc]
    sdt = {8: np.int8, 16: np.int16, 32: np.int32}[bits_alloc]
    v = np.asarray(values, dtype=np.int64)
    if signed:
        if mask_high_bits and bits_stored < bits_alloc:
            raw = (v & ((1 << bits_stored) - 1)).astype(dt)
            return raw.view(sdt)
        return v.astype(sdt)
    return v.astype(dt)


# ------------------------------------------------------------------ datasets

def new_file_dataset(sop_class, sop_uid, ts=ExplicitVRLittleEndian):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = UID_ROOT + ".0"
    meta.ImplementationVersionName = "DCMCRAWL_TEST"
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = ts == "1.2.840.10008.1.2"
    return ds


def base_patient(ds, study_uid, name="Test^Patient", pid="TEST001", charset=None):
    if charset:
        ds.SpecificCharacterSet = charset
    ds.PatientName = name
    ds.PatientID = pid
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = "20240102"
    ds.StudyTime = "101500"
    ds.StudyID = "1"
    ds.AccessionNumber = "ACC1"
    ds.ReferringPhysicianName = ""


def image_dataset(uids, sop_class, study_uid, series_uid, modality, arr, *,
                  bits_alloc, bits_stored, signed, photometric="MONOCHROME2",
                  planar=0, ipp=None, iop=None, pixel_spacing=(0.8, 0.7),
                  instance=None, acq=None, temporal=None, series_number=1,
                  slope=None, intercept=None, thickness=None, extra=None,
                  sop_uid=None, mask_high_bits=False, charset=None,
                  patient_name="Test^Patient", series_description=None):
    """One single-frame (or multi-frame when arr is 3D grayscale / 4D colour)
    image dataset.  arr: integer values (rows, cols[, 3]) or (frames, ...)."""
    sop_uid = sop_uid or uids("sop")
    ds = new_file_dataset(sop_class, sop_uid)
    base_patient(ds, study_uid, name=patient_name, charset=charset)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.Modality = modality
    ds.Manufacturer = "dcmcrawl tests"
    if series_uid is not None:
        ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    if series_description:
        ds.SeriesDescription = series_description
    if instance is not None:
        ds.InstanceNumber = instance
    if acq is not None:
        ds.AcquisitionNumber = acq
    if temporal is not None:
        ds.TemporalPositionIdentifier = temporal
    if ipp is not None:
        ds.ImagePositionPatient = [fmt_ds(v) for v in ipp]
    if iop is not None:
        ds.ImageOrientationPatient = [fmt_ds(v) for v in iop]
    if ipp is not None or iop is not None:
        ds.FrameOfReferenceUID = study_uid + ".77"
    if thickness is not None:
        ds.SliceThickness = fmt_ds(thickness)
    samples = 3 if photometric in ("RGB", "YBR_FULL", "YBR_FULL_422") else 1
    a = np.asarray(arr)
    multi = (a.ndim == 3 and samples == 1) or a.ndim == 4
    frames = a.shape[0] if multi else 1
    rows, cols = (a.shape[1], a.shape[2]) if multi else (a.shape[0], a.shape[1])
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples > 1:
        ds.PlanarConfiguration = planar
    if multi:
        ds.NumberOfFrames = frames
    ds.Rows = rows
    ds.Columns = cols
    if pixel_spacing is not None:
        ds.PixelSpacing = [fmt_ds(pixel_spacing[0]), fmt_ds(pixel_spacing[1])]
    ds.BitsAllocated = bits_alloc
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if slope is not None:
        ds.RescaleIntercept = fmt_ds(intercept if intercept is not None else 0)
        ds.RescaleSlope = fmt_ds(slope)
        ds.RescaleType = "HU" if modality == "CT" else "US"
    if extra:
        extra(ds)
    stored = to_stored(a, bits_alloc, bits_stored, signed, mask_high_bits)
    if samples > 1 and planar == 1:
        if multi:
            stored = np.ascontiguousarray(stored.transpose(0, 3, 1, 2))
        else:
            stored = np.ascontiguousarray(stored.transpose(2, 0, 1))
    ds.PixelData = stored.tobytes()
    ds["PixelData"].VR = "OB" if bits_alloc == 8 else "OW"
    return ds


def fmt_ds(v):
    """DS text for a float: up to 16 characters, no trailing zeros."""
    if isinstance(v, str):
        return v
    s = ("%.6f" % v).rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    return s


def save(ds, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, write_like_original=False)
    return path


# ----------------------------------------------------------------- geometry

def rot_x(deg):
    t = math.radians(deg)
    return np.array([[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, math.sin(t), math.cos(t)]])


def iop_axial():
    return [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]


def iop_sagittal():
    return [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]


def iop_coronal():
    return [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]


def normal_of(iop):
    r = np.array(iop[:3], dtype=float)
    c = np.array(iop[3:], dtype=float)
    return np.cross(r, c)


# ------------------------------------------------------------ conversions

def tool_available(name):
    return shutil.which(name) is not None


def convert_ts(src, dst, kind):
    """Convert one explicit-LE file to another transfer syntax with dcmtk/gdcm.
    kind: implicit, bigendian, deflated, rle, jpeg14, jpegsv1, jpegbase,
    jpegext, jpegls, jpegls_near, j2k, j2k_lossy (gdcmconv), htj2k, htj2k_rpcl,
    htj2k_lossy (OpenJPH + pydicom.encaps).  Returns the command run."""
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    cmds = {
        "implicit": ["dcmconv", "+ti", src, dst],
        "bigendian": ["dcmconv", "+tb", src, dst],
        "deflated": ["dcmconv", "+td", src, dst],
        "rle": ["dcmcrle", src, dst],
        "jpeg14": ["dcmcjpeg", "+el", "+un", src, dst],
        "jpegsv1": ["dcmcjpeg", "+e1", "+un", src, dst],
        "jpegbase": ["dcmcjpeg", "+eb", "+un", "+q", "90", src, dst],
        "jpegext": ["dcmcjpeg", "+ee", "+un", "+q", "90", src, dst],
        "jpegls": ["dcmcjpls", "+el", "+un", src, dst],
        "jpegls_near": ["dcmcjpls", "+en", "+md", "2", "+un", src, dst],
        "j2k": ["gdcmconv", "--j2k", src, dst],
        "j2k_lossy": ["gdcmconv", "--j2k", "--lossy", "-q", "40", src, dst],
    }
    if kind.startswith("htj2k"):
        ts = {"htj2k": "1.2.840.10008.1.2.4.201", "htj2k_rpcl": "1.2.840.10008.1.2.4.202",
              "htj2k_lossy": "1.2.840.10008.1.2.4.203"}[kind]
        htj2k_copy(src, dst, ts, reversible=kind != "htj2k_lossy")
        return ["ojph_compress", kind]
    cmd = cmds[kind]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0 or not os.path.exists(dst):
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr.decode(errors="replace")))
    return cmd


def htj2k_copy(src, dst, ts, reversible=True):
    """An HTJ2K copy of a native file, one OpenJPH codestream per frame (signed data
    sign-extended from BitsStored first; colour with the component transform:
    YBR_RCT, or YBR_ICT when irreversible)."""
    ds = pydicom.dcmread(src)
    arr = np.asarray(ds.pixel_array).astype(np.int64)
    bits = int(ds.BitsStored)
    signed = int(ds.PixelRepresentation) == 1
    if signed:
        arr = arr & ((1 << bits) - 1)
        arr = np.where(arr >= (1 << (bits - 1)), arr - (1 << bits), arr)
    samples = int(ds.SamplesPerPixel)
    multi = int(ds.get("NumberOfFrames", 1) or 1) > 1
    frames = list(arr) if multi else [arr]
    streams = [ojph_j2c(fr, bits, signed, reversible, colour_trans=samples == 3) for fr in frames]
    if samples == 3:
        ds.PhotometricInterpretation = "YBR_RCT" if reversible else "YBR_ICT"
        if "PlanarConfiguration" in ds:
            ds.PlanarConfiguration = 0
    encapsulated(ds, streams, ts)
    ds.save_as(dst, write_like_original=False)


def ts_of(path):
    return str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)


def seq(*items):
    out = Sequence()
    for it in items:
        d = Dataset()
        for k, v in it.items():
            setattr(d, k, v)
        out.append(d)
    return out


# ------------------------------------------------------------ palettes

def palette_tables(n, kind=0):
    """Three smooth 16-bit tables of n entries (red, green, blue)."""
    t = np.linspace(0.0, 1.0, n)
    r = 0.5 + 0.5 * np.sin(2 * math.pi * (t + 0.1 * kind))
    g = t ** (1.5 + kind)
    b = 1.0 - t
    return [np.rint(c * 65535).astype(np.uint16) for c in (r, g, b)]


def set_palette(ds, tables, first_map=0, bits=16, segmented=None):
    """Palette Color LUT module: descriptors and data (8-bit tables packed one
    byte per entry), or segmented data: segmented = (values per channel, n)."""
    from pydicom.datadict import tag_for_keyword
    n = len(tables[0]) if tables is not None else segmented[1]
    vr = "SS" if int(ds.get("PixelRepresentation", 0)) == 1 else "US"
    for c, name in enumerate(("Red", "Green", "Blue")):
        desc = [n if n < 65536 else 0, first_map, bits]
        ds.add_new(tag_for_keyword(name + "PaletteColorLookupTableDescriptor"), vr, desc)
        if segmented is not None:
            vals = np.asarray(segmented[0][c])
            kw = "Segmented" + name + "PaletteColorLookupTableData"
        else:
            vals = np.asarray(tables[c])
            kw = name + "PaletteColorLookupTableData"
        data = vals.astype("<u1" if bits == 8 else "<u2").tobytes()
        if len(data) % 2:
            data += b"\0"
        ds.add_new(tag_for_keyword(kw), "OW", data)


def segmented_lut(kind=0, bits=16):
    """Segmented tables (values per channel) using discrete, linear and
    indirect segments (offset 0: both readings of the offset agree), and the
    entry count they expand to."""
    k = 257 if bits == 16 else 1
    off = [0, 0] if bits == 16 else [0, 0, 0, 0]     # 32-bit offset in 2 words / 4 bytes
    last = 160 if bits == 16 else 98                 # 8-bit tables: 256 entries at most
    chans = []
    for c in range(3):
        a = 100 + 40 * c + 7 * kind
        vals = ([0, 4, a * k, (a + 3) * k, (a + 9) * k, (a + 20) * k] +   # discrete: 4 entries
                [1, 60, (200 + 10 * c) * k] +                             # linear: 60 entries
                [1, 30, 50 * k] +                                         # linear down
                [2, 2] + off +                                            # indirect: 2 segments
                [1, last, (255 - 20 * c) * k])                            # linear up
        chans.append(vals)
    n = 4 + 60 + 30 + (4 + 60) + last
    return chans, n


# ------------------------------------------------------------ JPEG 2000 / HTJ2K

def encapsulated(ds, frames_bytes, ts):
    from pydicom.encaps import encapsulate
    ds.file_meta.TransferSyntaxUID = ts
    ds.PixelData = encapsulate(list(frames_bytes), has_bot=True)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.is_little_endian, ds.is_implicit_VR = True, False
    return ds


def pillow_j2k(frame, irreversible=False, mct=False):
    """One frame (rows, cols) uint8/uint16 or (rows, cols, 3) uint8 as a bare
    JPEG 2000 codestream written by Pillow (OpenJPEG).  mct: the multiple
    component transform (YBR_RCT reversible, YBR_ICT irreversible)."""
    import io
    from PIL import Image
    a = np.asarray(frame)
    if a.ndim == 2 and a.dtype == np.uint16:
        im = Image.fromarray(a.astype(np.uint16), mode="I;16")
    else:
        im = Image.fromarray(a.astype(np.uint8))
    b = io.BytesIO()
    im.save(b, format="JPEG2000", no_jp2=True, irreversible=irreversible, mct=1 if mct else 0)
    return b.getvalue()


def ojph_j2c(frame, bits, signed=False, reversible=True, colour_trans=False, tmpdir="/tmp"):
    """One frame as an HTJ2K codestream by OpenJPH's ojph_compress.  Signed
    data are encoded unsigned with an offset of 2^(bits-1) and the SIZ sign
    bits set (ojph_compress 0.9 reads signed raw input wrongly; for the
    reversible path the only difference is the DC level shift)."""
    import tempfile
    a = np.asarray(frame).astype(np.int64)
    samples = 3 if a.ndim == 3 else 1
    d = tempfile.mkdtemp(prefix="ojph_", dir=tmpdir)
    try:
        if signed:
            assert reversible and samples == 1
            a = a + (1 << (bits - 1))
        if samples == 3:
            src = os.path.join(d, "in.ppm")
            with open(src, "wb") as f:
                f.write(b"P6\n%d %d\n255\n" % (a.shape[1], a.shape[0]))
                f.write(a.astype("u1").tobytes())
            args = ["-colour_trans", "true" if colour_trans else "false"]
        else:
            src = os.path.join(d, "in.yuv")
            with open(src, "wb") as f:
                f.write(a.astype("<u1" if bits <= 8 else "<u2").tobytes())
            args = ["-dims", "{%d,%d}" % (a.shape[1], a.shape[0]), "-num_comps", "1",
                    "-signed", "false", "-bit_depth", str(bits), "-downsamp", "{1,1}"]
        j2c = os.path.join(d, "out.j2c")
        cmd = ["ojph_compress", "-i", src, "-o", j2c, "-reversible",
               "true" if reversible else "false"] + args
        if not reversible:
            cmd += ["-qstep", "0.002"]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError("ojph_compress failed: %s" % r.stderr.decode(errors="replace"))
        data = open(j2c, "rb").read()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if signed:
        b = bytearray(data)
        assert b[0:4] == b"\xff\x4f\xff\x51"
        for c in range(samples):
            b[42 + 3 * c] |= 0x80
        data = bytes(b)
    return data


# ------------------------------------------------------------ float pixel data

PARAMETRIC_MAP = "1.2.840.10008.5.1.4.1.1.30"


def float_dataset(uids, study_uid, series_uid, arr, ipp=None, iop=None, instance=None):
    """Float Pixel Data (float32 arrays) or Double Float Pixel Data (float64):
    (rows, cols) or (frames, rows, cols); no BitsStored/HighBit/PixelRepresentation."""
    a = np.asarray(arr)
    ds = image_dataset(uids, PARAMETRIC_MAP, study_uid, series_uid, "MR",
                       np.zeros(a.shape, dtype=np.int64), bits_alloc=16, bits_stored=16,
                       signed=False, ipp=ipp, iop=iop, instance=instance)
    del ds.PixelData, ds.BitsStored, ds.HighBit, ds.PixelRepresentation
    if a.dtype == np.float64:
        ds.BitsAllocated = 64
        ds.DoubleFloatPixelData = a.astype("<f8").tobytes()
        ds["DoubleFloatPixelData"].VR = "OD"
    else:
        ds.BitsAllocated = 32
        ds.FloatPixelData = a.astype("<f4").tobytes()
        ds["FloatPixelData"].VR = "OF"
    return ds


# ------------------------------------------------------------ enhanced multi-frame

ENH_CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
ENH_PET_STORAGE = "1.2.840.10008.5.1.4.1.1.130"
US_MF_STORAGE = "1.2.840.10008.5.1.4.1.1.3.1"
XA_STORAGE = "1.2.840.10008.5.1.4.1.1.12.1"


def functional_groups(ds, shared, per_frame):
    """Shared and Per-frame Functional Groups from dicts of the form
    {"PlanePositionSequence": {"ImagePositionPatient": [...]}, ...}: each key a
    functional group macro (a sequence of one item), each value that item."""
    def item(groups):
        d = Dataset()
        for seq_kw, attrs in groups.items():
            it = Dataset()
            for k, v in attrs.items():
                setattr(it, k, v)
            setattr(d, seq_kw, Sequence([it]))
        return d
    ds.SharedFunctionalGroupsSequence = Sequence([item(shared)])
    ds.PerFrameFunctionalGroupsSequence = Sequence([item(g) for g in per_frame])


def enhanced_dataset(uids, sop_class, study_uid, series_uid, modality, frames, *, bits_alloc,
                     bits_stored, signed, shared, per_frame, instance=1, photometric="MONOCHROME2",
                     dimension_index=("FrameContentSequence", "InStackPositionNumber")):
    """An enhanced multi-frame image: no top-level position, orientation, spacing
    or rescale; all of them in the functional groups (realistic layout,
    including Dimension Organization/Index)."""
    ds = image_dataset(uids, sop_class, study_uid, series_uid, modality, frames,
                       bits_alloc=bits_alloc, bits_stored=bits_stored, signed=signed,
                       photometric=photometric, pixel_spacing=None, instance=instance)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.FrameOfReferenceUID = study_uid + ".77"
    ds.ContentQualification = "PRODUCT"
    dim_uid = study_uid + ".88"
    ds.DimensionOrganizationSequence = Sequence([Dataset()])
    ds.DimensionOrganizationSequence[0].DimensionOrganizationUID = dim_uid
    idx = Dataset()
    idx.DimensionOrganizationUID = dim_uid
    idx.DimensionIndexPointer = pydicom.datadict.tag_for_keyword(dimension_index[1])
    idx.FunctionalGroupPointer = pydicom.datadict.tag_for_keyword(dimension_index[0])
    ds.DimensionIndexSequence = Sequence([idx])
    functional_groups(ds, shared, per_frame)
    return ds
