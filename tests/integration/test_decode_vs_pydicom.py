#!/usr/bin/python3
"""test_decode_vs_pydicom.py DCDECODE [--keep DIR] [--no-bench]

Compares dcmcrawl's pixel decoding (the dcdecode tool) with pydicom 2.3
(numpy handler for native data, GDCM handler for compressed data) on
  - the files made by tests/gen/make_codec_files.py (in a temp dir), and
  - every pydicom test file with pixel data.

Expected array = pydicom's pixel_array, then the documented differences of
dcmcrawl applied to it: signed data with BitsStored < BitsAllocated are
sign-extended from BitsStored, unsigned data keep their low BitsStored bits
(PS3.5 8.1.1); YBR_FULL / YBR_FULL_422 are converted with
pydicom's convert_color_space (neither handler converts them).  Lossless
transfer syntaxes must match exactly, lossy ones within the tolerance shown.
Generated lossless copies are also compared with their uncompressed source.
Files pydicom cannot decode are checked against a reference array written by
the generator (HTJ2K: the array given to ojph_compress) or must fail with the
expected reason.  Multi-frame files are also decoded one frame per call
(as the crawler does) and must give the same bytes; integer files are also
decoded with --rescale (float32 = value * slope + intercept).

Prints a table; exits 1 on any mismatch.  Ends with the decode speed of
lossless JPEG (SV1) 512x512 16-bit frames.
"""
import contextlib
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pydicom
from pydicom.pixel_data_handlers import gdcm_handler, numpy_handler, rle_handler
from pydicom.pixel_data_handlers.util import convert_color_space

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "gen", "make_codec_files.py")
PYDICOM_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
NATIVE_TS = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}
LOSSY_TS = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.53",
            "1.2.840.10008.1.2.4.55", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91",
            "1.2.840.10008.1.2.4.203"}
LOSSY_TOL = 2

# pydicom test files pydicom/GDCM cannot decode correctly, and what we expect of ours
PYDICOM_EXPECT = {
    # 4 bytes of the codestream replaced by a sequence delimiter: corrupt J2K
    "JPEG2000-embedded-sequence-delimiter.dcm": "fail: ",
    # pixel data shorter than Rows x Columns x bytes
    "MR_truncated.dcm": "fail: truncated pixel data",
}

# header repairs before pydicom can decode (ours copes with the original)
FIXUPS = {
    # NumberOfFrames "1A": pydicom cannot format it; the crawler reads 1
    "badVR.dcm": [lambda ds: setattr(ds, "NumberOfFrames", 1)],
}

# dcmtk's decompressors, the fallback reference when pydicom cannot decode
DCMTK_DECOMPRESS = {"1.2.840.10008.1.2.4.5": ["dcmdjpeg", "+cn"], "1.2.840.10008.1.2.4.7": ["dcmdjpeg", "+cn"],
                    "1.2.840.10008.1.2.4.8": ["dcmdjpls"], "1.2.840.10008.1.2.5": ["dcmdrle"]}

warnings.simplefilter("ignore")


def run_dcdecode(tool, path, out, *flags):
    r = subprocess.run([tool] + list(flags) + [path, out], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    try:
        info = json.loads(r.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None, {"error": "no JSON (exit %d): %s" % (r.returncode, r.stderr.decode()[-300:])}
    if "error" in info:
        return None, info
    arr = np.fromfile(out, dtype=info["dtype"]).reshape(info["shape"])
    return arr, info


def sign_extend(arr, bits):
    a = arr.astype(np.int64) & ((1 << bits) - 1)
    a = np.where(a >= (1 << (bits - 1)), a - (1 << bits), a)
    return a.astype(arr.dtype)


@contextlib.contextmanager
def quiet_stderr():
    """GDCM and its JPEG libraries print warnings straight to fd 2"""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def pydicom_expected(path):
    """pydicom's array with dcmcrawl's documented normalisation, or raise."""
    ds = pydicom.dcmread(path, force=True)
    ts = ds.file_meta.TransferSyntaxUID
    if ts in NATIVE_TS:
        pydicom.config.pixel_data_handlers = [numpy_handler]
    elif ts == "1.2.840.10008.1.2.5":  # GDCM's handler does not take RLE: pydicom's own
        pydicom.config.pixel_data_handlers = [rle_handler]
    else:
        pydicom.config.pixel_data_handlers = [gdcm_handler]
    for fix in FIXUPS.get(os.path.basename(path), []):
        fix(ds)
    pi = str(ds.get("PhotometricInterpretation", ""))
    pixel_rep = ds.get("PixelRepresentation", 0)  # as in the file (a handler may change it)
    with quiet_stderr():
        arr = ds.pixel_array
    is_int = "PixelData" in ds
    narrow = is_int and ds.BitsStored < ds.BitsAllocated
    if narrow and pixel_rep == 0:
        arr = arr & np.asarray((1 << ds.BitsStored) - 1).astype(arr.dtype)
    if narrow and pixel_rep == 1:
        arr = sign_extend(arr, ds.BitsStored)
    if ds.get("SamplesPerPixel", 1) == 3 and pi in ("YBR_FULL", "YBR_FULL_422"):
        arr = convert_color_space(arr, "YBR_FULL", "RGB", per_frame=True)
    return arr, ds


def rescaled(arr, ds):
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    icpt = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    return (arr.astype(np.float64) * slope + icpt).astype(np.float32)


def compare(ours, exp, tol):
    """'' if equal within tol, else what differs; and the max abs diff"""
    if ours.shape != exp.shape:
        return "shape %s vs %s" % (list(ours.shape), list(exp.shape)), None
    exp = exp.astype(exp.dtype.newbyteorder("="))  # big endian files: pydicom keeps '>u2'
    if ours.dtype != exp.dtype:
        return "dtype %s vs %s" % (ours.dtype, exp.dtype), None
    if ours.size == 0:
        return "", 0
    d = np.abs(ours.astype(np.float64) - exp.astype(np.float64))
    d = np.nan_to_num(d, nan=0.0)
    mx = float(d.max())
    return ("" if mx <= tol else "max diff %g > %g" % (mx, tol)), mx


class Checker:
    def __init__(self, tool, tmp):
        self.tool, self.tmp = tool, tmp
        self.rows, self.failures, self.pydicom_wrong = [], 0, 0

    def row(self, name, ts, status, diff, note):
        self.rows.append((name, ts, status, diff, note))
        if status == "FAIL":
            self.failures += 1

    def extra_modes(self, path, ours, ds, exp, tol):
        """per-frame decoding and rescale; returns a problem or ''"""
        out = os.path.join(self.tmp, "x.raw")
        if ds is not None and int(ds.get("NumberOfFrames", 1) or 1) > 1:
            pf, info = run_dcdecode(self.tool, path, out, "--per-frame")
            if pf is None or pf.tobytes() != ours.tobytes():
                return "per-frame decode differs: %s" % info.get("error", "")
        if ds is not None and "PixelData" in ds and exp is not None:
            rs, info = run_dcdecode(self.tool, path, out, "--rescale")
            if rs is None:
                return "rescale failed: %s" % info.get("error")
            slope = abs(float(ds.get("RescaleSlope", 1.0) or 1.0))
            why, _ = compare(rs, rescaled(exp, ds), tol * slope)
            if why:
                return "rescale: " + why
        return ""

    def check(self, path, name, expect="ok", tol=None, reference=None, source=None):
        out = os.path.join(self.tmp, "o.raw")
        ours, info = run_dcdecode(self.tool, path, out)
        try:
            ds0 = pydicom.dcmread(path, force=True, stop_before_pixels=True)
            ts = str(ds0.file_meta.TransferSyntaxUID)
        except Exception:
            ts = "?"
        if expect.startswith("fail"):
            want = expect[5:].strip()
            if ours is None and want in info["error"]:
                self.row(name, ts, "ok", "-", "fails as expected: " + info["error"])
            else:
                self.row(name, ts, "FAIL", "-", "expected failure '%s', got %s" %
                         (want, info.get("error", "a decoded image")))
            return
        if tol is None:
            tol = LOSSY_TOL if ts in LOSSY_TS else 0
        if reference is not None:
            exp, ds, how = np.load(reference), None, "vs generator reference (pydicom cannot decode)"
            try:
                ds = pydicom.dcmread(path, force=True)
            except Exception:
                pass
        else:
            try:
                exp, ds = pydicom_expected(path)
                how = "vs pydicom"
            except Exception as e:
                exp, ds = self.dcmtk_expected(path, ts)
                how = "vs dcmtk decompressor + pydicom (pydicom: %s)" % str(e)[:40]
                if exp is None:
                    if ours is None:
                        self.row(name, ts, "ok", "-", "both fail; ours: %s; pydicom: %s" %
                                 (info["error"], str(e)[:60]))
                    else:
                        self.row(name, ts, "FAIL", "-", "pydicom fails (%s), ours decodes: unverified"
                                 % str(e)[:60])
                    return
        if ours is None:
            self.row(name, ts, "FAIL", "-", "ours fails: %s" % info["error"])
            return
        why, mx = compare(ours, exp, tol)
        if source is not None and tol == 0:
            src, _ = pydicom_expected(source)
            why_src, _ = compare(ours, src, 0)
            if why and not why_src:
                # pydicom is wrong here: say so, and require dcmtk to agree with the source too
                alt, _ = self.dcmtk_expected(path, ts)
                agree = alt is not None and not compare(alt, src, 0)[0]
                how = "pydicom+GDCM WRONG (%s); ours = uncompressed source%s" % (
                    why, " = dcmtk decompressor" if agree else "")
                why = "" if agree else why
                exp = src
                self.pydicom_wrong += 1
            else:
                how += " and source"
                why = why or (("vs source: " + why_src) if why_src else "")
        if not why:
            why = self.extra_modes(path, ours, ds, exp, tol)
        diff = "-" if mx is None else ("%g" % mx)
        self.row(name, ts, "FAIL" if why else "ok", diff, why or "%s (tol %g)" % (how, tol))

    def dcmtk_expected(self, path, ts):
        """decompress with dcmtk's tool, then pydicom's numpy handler; (None, None) if impossible"""
        tool = next((v for k, v in DCMTK_DECOMPRESS.items() if ts.startswith(k)), None)
        if tool is None:
            return None, None
        out = os.path.join(self.tmp, "dcmtk.dcm")
        if subprocess.run(tool + [path, out], stderr=subprocess.DEVNULL).returncode != 0:
            return None, None
        try:
            exp, _ = pydicom_expected(out)
            return exp, pydicom.dcmread(path, force=True)
        except Exception:
            return None, None

    def table(self):
        w = max(len(r[0]) for r in self.rows)
        print("%-*s  %-24s %-5s %-6s %s" % (w, "file", "transfer syntax", "", "maxdif", "note"))
        for r in self.rows:
            print("%-*s  %-24s %-5s %-6s %s" % (w, r[0], r[1], r[2], r[3], r[4]))
        print("\n%d files, %d mismatches; %d files where pydicom+GDCM is wrong and ours equals the source"
              % (len(self.rows), self.failures, self.pydicom_wrong))


def pydicom_pixel_files():
    files = []
    for f in sorted(glob.glob(os.path.join(PYDICOM_FILES, "*.dcm"))):
        try:
            ds = pydicom.dcmread(f, force=True, stop_before_pixels=False)
        except Exception:
            continue
        if any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
            files.append(f)
    return files


def bench(tool, tmp):
    """lossless JPEG SV1, 512x512 16-bit (12 bits used), 10 frames"""
    y, x = np.mgrid[0:512, 0:512]
    rng = np.random.RandomState(7)
    frames = []
    for f in range(10):
        v = 2000 + 1500 * np.sin((x + 5 * f) / 40.0) * np.cos(y / 55.0) + rng.normal(0, 30, (512, 512))
        frames.append(np.clip(v, 0, 4095).astype(np.uint16))
    arr = np.stack(frames)
    src = os.path.join(tmp, "bench_native.dcm")
    ds = pydicom.dcmread(os.path.join(tmp, "gen", "u16_mf5.dcm"))
    ds.Rows, ds.Columns, ds.NumberOfFrames = 512, 512, 10
    ds.PixelData = arr.tobytes()
    ds.save_as(src)
    dst = os.path.join(tmp, "bench_sv1.dcm")
    subprocess.run(["dcmcjpeg", "+e1", "+un", src, dst], check=True)
    _, info = run_dcdecode(tool, dst, os.path.join(tmp, "b.raw"), "--repeat", "5")
    t0 = time.time()
    ds2 = pydicom.dcmread(dst)
    pydicom.config.pixel_data_handlers = [gdcm_handler]
    with quiet_stderr():
        ds2.pixel_array
    gd = (time.time() - t0) * 1000 / 10
    print("\nspeed: lossless JPEG SV1 512x512 16-bit: dcmcrawl %.2f ms/frame, pydicom+GDCM %.2f ms/frame"
          % (info.get("ms_per_frame", float("nan")), gd))


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    tool = os.path.abspath(args[0])
    keep = args[args.index("--keep") + 1] if "--keep" in args else None
    tmp = keep or tempfile.mkdtemp(prefix="dcdecode_")
    gen = os.path.join(tmp, "gen")
    subprocess.run(["/usr/bin/python3", GEN, gen], check=True, stdout=subprocess.DEVNULL)
    c = Checker(tool, tmp)
    for m in json.load(open(os.path.join(gen, "manifest.json"))):
        ref = os.path.join(gen, m["reference"]) if m["reference"] else None
        src = os.path.join(gen, m["source"]) if m["source"] and not m["lossy"] else None
        tol = m["tol"] if m["lossy"] else 0
        c.check(os.path.join(gen, m["file"]), m["file"], m["expect"], tol, ref, src)
    for f in pydicom_pixel_files():
        name = os.path.basename(f)
        c.check(f, "pydicom/" + name, PYDICOM_EXPECT.get(name, "ok"))
    c.table()
    if "--no-bench" not in args:
        bench(tool, tmp)
    if not keep:
        subprocess.run(["rm", "-rf", tmp])
    sys.exit(1 if c.failures else 0)


if __name__ == "__main__":
    main()
