#!/usr/bin/python3
"""make_codec_files.py OUTDIR - generate DICOM files for the pixel decoder tests.

Deterministic images (numpy RandomState(1234)) of several kinds are written
uncompressed with pydicom, then compressed copies are made with the tools
installed here: dcmcjpeg (baseline, extended 12-bit, lossless process 14 and
SV1), dcmcjpls (lossless, near-lossless, all interleave modes), dcmcrle,
gdcmconv --j2k (lossless, lossy, signed), dcmconv (implicit VR, deflated, big
endian), and HTJ2K via ojph_compress + pydicom.encaps.encapsulate.

OUTDIR/manifest.json lists every file:
  {"file", "source" (the uncompressed original or null), "lossy" (bool),
   "expect" ("ok" | "fail: <reason substring>"),
   "reference" (npy file with the expected array when pydicom cannot decode
   the file, else null), "tol" (allowed max abs diff vs the reference)}
Needs Debian's /usr/bin/python3 (pydicom 2.3, numpy).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, ExplicitVRBigEndian

SC = "1.2.840.10008.5.1.4.1.1.7"
# multi-frame SC classes by samples and bits (gdcmconv refuses multi-frame SC)
MF_SC = {(1, 8): "1.2.840.10008.5.1.4.1.1.7.2", (1, 16): "1.2.840.10008.5.1.4.1.1.7.3",
         (3, 8): "1.2.840.10008.5.1.4.1.1.7.4"}
RNG = np.random.RandomState(1234)
# pydicom 2.3 does not know the HTJ2K transfer syntaxes: teach it their names so it writes them
for _uid, _name in (("1.2.840.10008.1.2.4.201", "HTJ2KLossless"),
                    ("1.2.840.10008.1.2.4.202", "HTJ2KLosslessRPCL"),
                    ("1.2.840.10008.1.2.4.203", "HTJ2K")):
    pydicom._uid_dict.UID_dictionary.setdefault(_uid, (_name, "Transfer Syntax", "", "", _name))
MANIFEST = []


def smooth_image(rows, cols, lo, hi, frames=1, samples=1):
    """A smooth pattern plus noise, so codecs see realistic data."""
    y, x = np.mgrid[0:rows, 0:cols]
    out = []
    for f in range(frames):
        planes = []
        for s in range(samples):
            base = np.sin((x + 3 * f + 7 * s) / 9.0) * np.cos((y - 5 * s) / 13.0)
            noise = RNG.uniform(-0.15, 0.15, size=(rows, cols))
            v = (base + noise + 1.2) / 2.4
            planes.append(lo + np.clip(v, 0, 1) * (hi - lo))
        out.append(np.stack(planes, axis=-1) if samples > 1 else planes[0])
    arr = np.rint(np.array(out)).astype(np.int64)
    return arr if frames > 1 else arr[0]


def new_ds(arr, bits_alloc, bits_stored, signed, photometric, frames=1, planar=0,
           samples=1):
    meta = FileMetaDataset()
    sop = MF_SC.get((samples, bits_alloc), SC) if frames > 1 else SC
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=[photometric, str(arr.shape), str(bits_stored), str(signed), str(planar)])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.3.4.5"
    ds.SeriesInstanceUID = "1.2.3.4.5.6"
    ds.Modality = "OT"
    ds.PatientName = "Codec^Test"
    ds.PatientID = "codec"
    ds.ConversionType = "WSD"
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples > 1:
        ds.PlanarConfiguration = planar
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows = arr.shape[-3 if samples > 1 else -2]
    ds.Columns = arr.shape[-2 if samples > 1 else -1]
    ds.BitsAllocated = bits_alloc
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    return ds


def stored_words(arr, bits_alloc, bits_stored, signed, sign_extend_high_bits):
    """Values -> the unsigned words written to the file."""
    a = arr.astype(np.int64)
    if signed and bits_stored < bits_alloc and not sign_extend_high_bits:
        a = a & ((1 << bits_stored) - 1)
    return a & ((1 << bits_alloc) - 1)


def write_native(name, arr, bits_alloc, bits_stored, signed, photometric, out,
                 frames=1, planar=0, samples=1, big_endian=False, extend=True):
    ds = new_ds(arr, bits_alloc, bits_stored, signed, photometric, frames, planar, samples)
    words = stored_words(arr, bits_alloc, bits_stored, signed, extend)
    if samples > 1 and planar == 1:
        axes = (0, 3, 1, 2) if frames > 1 else (2, 0, 1)
        words = words.transpose(axes)
    dt = {8: "u1", 16: "u2", 32: "u4"}[bits_alloc]
    order = ">" if big_endian else "<"
    data = np.ascontiguousarray(words).astype(order + dt).tobytes()
    ds.PixelData = data
    ds["PixelData"].VR = "OB" if bits_alloc == 8 else "OW"
    if big_endian:
        ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
        ds.is_little_endian = False
    path = os.path.join(out, name + ".dcm")
    ds.save_as(path, write_like_original=False)
    add(name + ".dcm")
    return path


def add(file, source=None, lossy=False, expect="ok", reference=None, tol=0):
    MANIFEST.append({"file": file, "source": source, "lossy": lossy, "expect": expect,
                     "reference": reference, "tol": tol})


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr.decode(errors="replace")))


def convert(tool_args, src, name, out, lossy=False, tol=0):
    """Run a dcmtk/gdcm converter on OUTDIR/src into OUTDIR/name.dcm."""
    dst = os.path.join(out, name + ".dcm")
    run(tool_args + [os.path.join(out, src), dst])
    add(name + ".dcm", source=src, lossy=lossy, tol=tol)


def gdcm_j2k(src, name, out, extra=(), lossy=False, tol=0):
    dst = os.path.join(out, name + ".dcm")
    run(["gdcmconv", "--j2k"] + list(extra) + [os.path.join(out, src), dst])
    add(name + ".dcm", source=src, lossy=lossy, tol=tol)


# ---------------------------------------------------------------- natives
def make_natives(out):
    u8 = smooth_image(64, 80, 0, 255)
    write_native("u8", u8, 8, 8, False, "MONOCHROME2", out)
    s8 = smooth_image(64, 80, -128, 127)
    write_native("s8", s8, 8, 8, True, "MONOCHROME2", out)
    u16 = smooth_image(64, 80, 0, 65535)
    write_native("u16", u16, 16, 16, False, "MONOCHROME2", out)
    u12 = smooth_image(64, 80, 0, 4095)
    write_native("u16_bs12", u12, 16, 12, False, "MONOCHROME2", out)
    s16 = smooth_image(64, 80, -32768, 32767)
    write_native("s16", s16, 16, 16, True, "MONOCHROME2", out)
    s12 = smooth_image(64, 80, -2048, 2047)
    write_native("s16_bs12_ext", s12, 16, 12, True, "MONOCHROME2", out, extend=True)
    write_native("s16_bs12_masked", s12, 16, 12, True, "MONOCHROME2", out, extend=False)
    s12ct = smooth_image(64, 80, -1024, 2047)
    write_native("s16_bs12_ct", s12ct, 16, 12, True, "MONOCHROME2", out)
    u32 = smooth_image(16, 24, 0, 4000000000)
    write_native("u32", u32, 32, 32, False, "MONOCHROME2", out)
    s32 = smooth_image(16, 24, -2000000000, 2000000000)
    write_native("s32", s32, 32, 32, True, "MONOCHROME2", out)
    rgb = smooth_image(48, 64, 0, 255, samples=3)
    write_native("rgb8_p0", rgb, 8, 8, False, "RGB", out, samples=3, planar=0)
    write_native("rgb8_p1", rgb, 8, 8, False, "RGB", out, samples=3, planar=1)
    rgb16 = smooth_image(32, 40, 0, 65535, samples=3)
    write_native("rgb16_p0", rgb16, 16, 16, False, "RGB", out, samples=3)
    ybr = smooth_image(48, 64, 16, 240, samples=3)
    write_native("ybr_full", ybr, 8, 8, False, "YBR_FULL", out, samples=3)
    write_native("ybr_full_p1", ybr, 8, 8, False, "YBR_FULL", out, samples=3, planar=1)
    make_ybr422(out)
    mf = smooth_image(40, 56, 0, 4095, frames=5)
    write_native("u16_mf5", mf, 16, 12, False, "MONOCHROME2", out, frames=5)
    mfs = smooth_image(40, 56, -2048, 2047, frames=3)
    write_native("s16_bs12_mf3", mfs, 16, 12, True, "MONOCHROME2", out, frames=3)
    mfrgb = smooth_image(32, 48, 0, 255, frames=3, samples=3)
    write_native("rgb8_mf3", mfrgb, 8, 8, False, "RGB", out, frames=3, samples=3)
    write_native("rgb8_mf3_p1", mfrgb, 8, 8, False, "RGB", out, frames=3, samples=3, planar=1)
    write_native("u16_be", u16, 16, 16, False, "MONOCHROME2", out, big_endian=True)
    write_native("s16_bs12_be", s12, 16, 12, True, "MONOCHROME2", out, big_endian=True)
    write_native("rgb8_be", rgb, 8, 8, False, "RGB", out, samples=3, big_endian=True)
    write_native("u32_be", u32, 32, 32, False, "MONOCHROME2", out, big_endian=True)
    make_1bit(out)
    make_float(out)
    make_transcoded(out)
    make_truncated(out)
    make_no_pixels(out)


def make_ybr422(out):
    """Uncompressed YBR_FULL_422: Y1 Y2 Cb Cr per pair of pixels."""
    rows, cols = 32, 40
    full = smooth_image(rows, cols, 16, 240, samples=3)
    ds = new_ds(full, 8, 8, False, "YBR_FULL_422", samples=3)
    flat = full.reshape(-1, 3)
    packed = np.empty(rows * cols * 2, dtype=np.uint8)
    packed[0::4] = flat[0::2, 0]
    packed[1::4] = flat[1::2, 0]
    packed[2::4] = flat[0::2, 1]
    packed[3::4] = flat[0::2, 2]
    ds.PixelData = packed.tobytes()
    ds["PixelData"].VR = "OB"
    ds.save_as(os.path.join(out, "ybr_full_422.dcm"), write_like_original=False)
    add("ybr_full_422.dcm")


def make_1bit(out):
    """1-bit, 3 frames of 7x9 (63 bits: frames are not byte aligned)."""
    for name, frames, rows, cols in (("bits1_mf3", 3, 7, 9), ("bits1", 1, 16, 24)):
        bits = (RNG.uniform(size=(frames, rows, cols)) > 0.5).astype(np.uint8)
        ds = new_ds(bits if frames > 1 else bits[0], 1, 1, False, "MONOCHROME2", frames=frames)
        ds.PixelData = np.packbits(bits.ravel(), bitorder="little").tobytes()
        if len(ds.PixelData) % 2:
            ds.PixelData += b"\0"
        ds["PixelData"].VR = "OB"
        ds.save_as(os.path.join(out, name + ".dcm"), write_like_original=False)
        add(name + ".dcm")


def make_float(out):
    for name, kw, vr, dt in (("float32", "FloatPixelData", "OF", "<f4"),
                             ("float64", "DoubleFloatPixelData", "OD", "<f8")):
        arr = (smooth_image(20, 30, 0, 1000) / 7.0 - 50.0).astype(dt)
        bits = 32 if dt == "<f4" else 64
        ds = new_ds(arr, bits, bits, False, "MONOCHROME2")
        del ds.BitsStored, ds.HighBit, ds.PixelRepresentation
        setattr(ds, kw, arr.tobytes())
        ds[kw].VR = vr
        ds.save_as(os.path.join(out, name + ".dcm"), write_like_original=False)
        add(name + ".dcm")


def make_transcoded(out):
    for src in ("u16", "s16_bs12_ext", "rgb8_p1", "u16_mf5"):
        base = src.replace(".dcm", "")
        convert(["dcmconv", "+ti"], src + ".dcm", base + "_implicit", out)
        convert(["dcmconv", "+td"], src + ".dcm", base + "_deflated", out)
    convert(["dcmconv", "+tb"], "u16_mf5.dcm", "u16_mf5_be", out)


def make_truncated(out):
    ds = pydicom.dcmread(os.path.join(out, "u16.dcm"))
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]
    ds.save_as(os.path.join(out, "truncated_u16.dcm"), write_like_original=False)
    add("truncated_u16.dcm", expect="fail: truncated pixel data")


def make_no_pixels(out):
    ds = pydicom.dcmread(os.path.join(out, "u16.dcm"))
    del ds.PixelData
    ds.save_as(os.path.join(out, "no_pixels.dcm"), write_like_original=False)
    add("no_pixels.dcm", expect="fail: no pixel data")


# ---------------------------------------------------------------- compressed
def make_jpeg(out):
    q = ["+un"]
    convert(["dcmcjpeg", "+eb", "+q", "90"] + q, "u8.dcm", "jpeg_base_u8", out, lossy=True, tol=0)
    convert(["dcmcjpeg", "+eb"] + q, "rgb8_p0.dcm", "jpeg_base_ybr422", out, lossy=True, tol=0)
    convert(["dcmcjpeg", "+eb", "+s4"] + q, "rgb8_p1.dcm", "jpeg_base_ybr444", out, lossy=True, tol=0)
    convert(["dcmcjpeg", "+eb", "+cr"] + q, "rgb8_p0.dcm", "jpeg_base_rgb", out, lossy=True, tol=0)
    convert(["dcmcjpeg", "+eb"] + q, "rgb8_mf3.dcm", "jpeg_base_rgb_mf3", out, lossy=True, tol=0)
    convert(["dcmcjpeg", "+ee"] + q, "u16_bs12.dcm", "jpeg_ext_u12", out, lossy=True, tol=0)
    convert(["dcmcjpeg", "+ee"] + q, "u16_mf5.dcm", "jpeg_ext_u12_mf5", out, lossy=True, tol=0)
    convert(["dcmcjpeg", "+ep"] + q, "u8.dcm", "jpeg_progressive_u8", out, lossy=True, tol=0)
    for src in ("u8", "u16", "u16_bs12", "s16", "s16_bs12_ext", "s16_bs12_masked", "rgb8_p0",
                "rgb8_p1", "u16_mf5", "s16_bs12_mf3"):
        convert(["dcmcjpeg", "+el", "+sv", "1"] + q, src + ".dcm", "jpeg_ll14_" + src, out)
        convert(["dcmcjpeg", "+e1"] + q, src + ".dcm", "jpeg_sv1_" + src, out)
    convert(["dcmcjpeg", "+el", "+sv", "6"] + q, "u16.dcm", "jpeg_ll14sv6_u16", out)
    # fragmentation: 1 KiB fragments, with and without a basic offset table
    convert(["dcmcjpeg", "+e1", "+fs", "1"] + q, "u16_mf5.dcm", "jpeg_sv1_mf5_frag_bot", out)
    convert(["dcmcjpeg", "+e1", "+fs", "1", "-ot"] + q, "u16_mf5.dcm", "jpeg_sv1_mf5_frag_nobot", out)
    convert(["dcmcjpeg", "+e1", "+fs", "1"] + q, "u16.dcm", "jpeg_sv1_u16_frag", out)


def make_jpegls(out):
    q = ["+un"]
    for src in ("u8", "u16", "u16_bs12", "s16_bs12_ext", "rgb8_p0", "u16_mf5", "s16_bs12_mf3"):
        convert(["dcmcjpls", "+el"] + q, src + ".dcm", "jls_ll_" + src, out)
        if not src.startswith("s"):  # dcmcjpls: no near-lossless for signed data
            convert(["dcmcjpls", "+en", "+md", "2"] + q, src + ".dcm", "jls_nl_" + src, out,
                    lossy=True, tol=0)
    for ilv in ("+il", "+is", "+in"):
        convert(["dcmcjpls", "+el", ilv] + q, "rgb8_p1.dcm", "jls_ll_rgb" + ilv.replace("+", "_"), out)
    convert(["dcmcjpls", "+el", "+fs", "1", "-ot"] + q, "u16_mf5.dcm", "jls_ll_mf5_frag_nobot", out)


def make_rle(out):
    for src in ("u8", "s8", "u16", "s16", "s16_bs12_masked", "u32", "s32", "rgb8_p0", "rgb8_p1",
                "rgb16_p0", "ybr_full", "u16_mf5", "rgb8_mf3"):
        convert(["dcmcrle"], src + ".dcm", "rle_" + src, out)


def make_j2k(out):
    for src in ("u8", "u16", "u16_bs12", "s16", "s16_bs12_ext", "rgb8_p0", "u16_mf5",
                "s16_bs12_mf3"):
        gdcm_j2k(src + ".dcm", "j2k_ll_" + src, out)
    for src in ("u8", "u16_bs12", "s16_bs12_ext", "rgb8_p0"):
        gdcm_j2k(src + ".dcm", "j2k_lossy_" + src, out, extra=["--lossy", "-q", "40"], lossy=True,
                 tol=0)


def ojph_input(fr, path_base, bits, samples):
    """Write one frame for ojph_compress: .ppm for colour, raw .yuv otherwise."""
    if samples == 3:
        path = path_base + ".ppm"
        with open(path, "wb") as f:
            f.write(b"P6\n%d %d\n255\n" % (fr.shape[1], fr.shape[0]))
            f.write(fr.astype("u1").tobytes())
        return path, []
    path = path_base + ".yuv"
    with open(path, "wb") as f:
        f.write(fr.astype("<u1" if bits <= 8 else "<u2").tobytes())
    rows, cols = fr.shape
    return path, ["-dims", "{%d,%d}" % (cols, rows), "-num_comps", "1", "-signed", "false",
                  "-bit_depth", str(bits), "-downsamp", "{1,1}"]


def mark_signed(stream, comps):
    """Set the sign bit of every component's Ssiz in the SIZ marker.

    ojph_compress 0.9 reads signed raw input wrongly, so signed data are
    encoded unsigned with an offset of 2^(bits-1); for the reversible path the
    only difference between the two is that DC level shift, which a decoder
    skips for signed components: it then returns the original signed values."""
    b = bytearray(stream)
    assert b[0:4] == b"\xff\x4f\xff\x51"
    for c in range(comps):
        b[42 + 3 * c] |= 0x80
    return bytes(b)


def ojph(name, out, bits, signed, reversible, frames, colour_trans):
    """Encode each frame with ojph_compress; returns the codestreams."""
    samples = 1 if frames[0].ndim == 2 else frames[0].shape[2]
    streams = []
    for i, fr in enumerate(frames):
        if signed:
            assert reversible and samples == 1
            fr = fr + (1 << (bits - 1))
        src, args = ojph_input(fr, os.path.join(out, "%s_%d" % (name, i)), bits, samples)
        j2c = os.path.join(out, "%s_%d.j2c" % (name, i))
        cmd = ["ojph_compress", "-i", src, "-o", j2c, "-reversible",
               "true" if reversible else "false"] + args
        if samples == 3:
            cmd += ["-colour_trans", "true" if colour_trans else "false"]
        if not reversible:
            cmd += ["-qstep", "0.002"]
        run(cmd)
        with open(j2c, "rb") as f:
            data = f.read()
        streams.append(mark_signed(data, samples) if signed else data)
        os.remove(src)
        os.remove(j2c)
    return streams


def write_htj2k(name, arr, bits_alloc, bits_stored, signed, photometric, out, tsuid, reversible,
                frames=1, samples=1):
    frames_arr = list(arr) if frames > 1 else [arr]
    streams = ojph(name, out, bits_stored, signed, reversible, frames_arr,
                   photometric == "YBR_RCT")
    ds = new_ds(arr, bits_alloc, bits_stored, signed, photometric, frames, 0, samples)
    ds.file_meta.TransferSyntaxUID = tsuid
    ds.PixelData = encapsulate(streams, has_bot=True)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(os.path.join(out, name + ".dcm"), write_like_original=False)
    ref = name + "_ref.npy"
    dtype = ("i" if signed else "u") + str(bits_alloc // 8)
    # lossless: the array itself; lossy: what OpenJPH's own decoder makes of the codestreams
    expected = arr if reversible else ojph_expand(streams, arr.shape[-2:], dtype, out)
    np.save(os.path.join(out, ref), expected.reshape(arr.shape).astype(dtype))
    add(name + ".dcm", lossy=not reversible, reference=ref, tol=0 if reversible else 1)


def ojph_expand(streams, shape, dtype, out):
    """decode unsigned monochrome codestreams with ojph_expand (raw output)"""
    frames = []
    for s in streams:
        j2c, raw = os.path.join(out, "expand.j2c"), os.path.join(out, "expand.yuv")
        with open(j2c, "wb") as f:
            f.write(s)
        run(["ojph_expand", "-i", j2c, "-o", raw])
        frames.append(np.fromfile(raw, dtype=dtype).reshape(shape))
        os.remove(j2c)
        os.remove(raw)
    return np.stack(frames)


def make_htj2k(out):
    u16 = smooth_image(64, 80, 0, 4095)
    write_htj2k("htj2k_ll_u12", u16, 16, 12, False, "MONOCHROME2", out, "1.2.840.10008.1.2.4.201", True)
    s12 = smooth_image(64, 80, -2048, 2047)
    write_htj2k("htj2k_ll_s12", s12, 16, 12, True, "MONOCHROME2", out, "1.2.840.10008.1.2.4.202", True)
    u8 = smooth_image(64, 80, 0, 255)
    write_htj2k("htj2k_lossy_u8", u8, 8, 8, False, "MONOCHROME2", out, "1.2.840.10008.1.2.4.203", False)
    rgb = smooth_image(48, 64, 0, 255, samples=3)
    write_htj2k("htj2k_ll_rgb", rgb, 8, 8, False, "RGB", out, "1.2.840.10008.1.2.4.201", True, samples=3)
    write_htj2k("htj2k_ll_rct", rgb, 8, 8, False, "YBR_RCT", out, "1.2.840.10008.1.2.4.201", True,
                samples=3)
    mf = smooth_image(40, 56, 0, 65535, frames=3)
    write_htj2k("htj2k_ll_u16_mf3", mf, 16, 16, False, "MONOCHROME2", out, "1.2.840.10008.1.2.4.201",
                True, frames=3)


def make_unsupported(out):
    """A transfer syntax we do not decode (JPEG XL) must fail with its UID."""
    ds = pydicom.dcmread(os.path.join(out, "jpeg_sv1_u8.dcm"))
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"
    ds.save_as(os.path.join(out, "unsupported_ts.dcm"), write_like_original=False)
    add("unsupported_ts.dcm", expect="fail: unsupported transfer syntax 1.2.840.10008.1.2.4.100")


def make_corrupt(out):
    """Damaged compressed frames: must fail, never crash."""
    for src, name in (("jpeg_sv1_u16.dcm", "corrupt_jpeg"), ("j2k_ll_u16.dcm", "corrupt_j2k"),
                      ("jls_ll_u16.dcm", "corrupt_jls"), ("rle_u16.dcm", "corrupt_rle")):
        ds = pydicom.dcmread(os.path.join(out, src))
        frag = next(pydicom.encaps.generate_pixel_data_frame(ds.PixelData, 1))
        cut = frag[: len(frag) // 3]
        cut += b"\0" * (len(cut) % 2)
        ds.PixelData = encapsulate([cut], has_bot=False)
        ds.save_as(os.path.join(out, name + ".dcm"), write_like_original=False)
        add(name + ".dcm", expect="fail: ")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_codec_files.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    make_natives(out)
    make_jpeg(out)
    make_jpegls(out)
    make_rle(out)
    make_j2k(out)
    make_htj2k(out)
    make_unsupported(out)
    make_corrupt(out)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(MANIFEST, f, indent=1)
    print("%d files in %s" % (len(MANIFEST), out))


if __name__ == "__main__":
    main()
