#!/usr/bin/python3
"""test_faults.py BIN - hostile input and faults, end to end (issue 6).

    /usr/bin/python3 tests/integration/test_faults.py build/dcmcrawl [--keep] [CASE ...]

Every case crawls good files next to a fault and asserts three things: the
exit status; the message (on stderr, or the reason in unreadable_files); and
that the outputs of the other scans are complete and unchanged, i.e. equal to
a crawl of the good files alone: every metadata value of their rows, and
their HDF5 datasets (values, dtype, shape, attributes).

  hostile     files with declared sizes far beyond the file or the ceiling,
              sequences nested 14 deep, 200,001 elements, a '/' in a UID, an
              HTJ2K frame that makes OpenJPEG 2.5.0 assert (found by fuzzing);
              run.max_image_bytes set low; -np 1 and -np 2; metadata only
  perms       a file and folders without permission (listed and found in
              recursive mode, one without search permission)
  vanish      a file deleted between the walk and the header pass, one
              deleted between the header pass and decoding, one replaced by a
              FIFO before it is read (an LD_PRELOAD shim, tests/faults/)
  special     FIFO, character device, socket, a symlink to a FIFO: never opened
  loops       symlink loops with follow_symlinks: true (., .., a->b->a, self)
  nonutf8     folder and file names that are not UTF-8 (Latin-1, 0xff)
  formula     output.csv_formula_guard off and on
  config      every key with a wrong type, unknown keys and sections, empty,
              missing and unreadable configs, output folder not writable:
              exit 2, the message names file/line/key, nothing written
  enospc      a full disk while writing pixel data (filled to six levels, so
              that segment data, segment close or index copy fails; -np 1
              and 2), while appending CSV rows and while rewriting the CSV for
              new columns: exit 1, a clear message, earlier outputs intact;
              once there is room the same command completes every scan
              exactly once

Permission denied as root: root bypasses permission bits, so those crawls run
as user nobody (setpriv --reuid=65534 --regid=65534 --clear-groups; run as
another user they run directly).  A full disk: a tmpfs of a few hundred KiB
mounted on the output folder (needs root or CAP_SYS_ADMIN; without it the
case is reported as SKIP with the reason, never as PASS).
"""
import csv
import io
import os
import resource
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from compare_outputs import attrs_equal  # noqa: E402

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
# an LD_PRELOAD shim next to ASan: the runtime must not insist on being first
ENV["ASAN_OPTIONS"] = (ENV.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
BIN = None
SC = "1.2.840.10008.5.1.4.1.1.7"


class Fail(Exception):
    pass


def check(cond, what, *detail):
    if not cond:
        raise Fail(what + ("" if not detail else ": " + " | ".join(str(d) for d in detail)))


# ------------------------------------------------------------------ files

def good_image(path, sop, series="1.2.99", rows=16, cols=16, bits=16, seed=0, z=0.0, **extra):
    """A small MONOCHROME2 image with known pixels and a few header values."""
    rng = np.random.RandomState(seed)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SC
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SC
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = "1.2.99.1"
    ds.SeriesInstanceUID = series
    ds.Modality = "OT"
    ds.PatientName = "Good^Patient"
    ds.PatientID = "P%d" % seed
    ds.InstanceNumber = seed + 1
    ds.ImagePositionPatient = [0.0, 0.0, z]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    dt = np.uint8 if bits == 8 else np.uint16
    ds.PixelData = rng.randint(0, 2 ** bits - 1, size=(rows, cols)).astype(dt).tobytes()
    for k, v in extra.items():
        setattr(ds, k, v)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    ds.save_as(path, write_like_original=False)


def good_set(folder, tag="g", n=3, series_slices=3):
    """n single images and one series of series_slices slices; returns nothing."""
    for i in range(n):
        good_image(os.path.join(folder, "%s_img%d.dcm" % (tag, i)), "1.2.99.%s.%d" % (len(tag), i),
                   series="1.2.99.5%d" % i, seed=i)
    for k in range(series_slices):
        good_image(os.path.join(folder, "%s_vol%d.dcm" % (tag, k)), "1.2.99.7.%d" % k,
                   series="1.2.99.77", seed=10 + k, z=2.0 * k)


LONG_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "SQ", "UT", "UN", "UC", "UR"}


def el(tag, vr, value):
    """One explicit VR little endian element."""
    if isinstance(value, str):
        value = value.encode()
    if len(value) % 2:
        value += b"\0" if vr in ("UI", "OB", "UN") else b" "
    g, e = tag >> 16, tag & 0xFFFF
    if vr in LONG_VRS:
        return struct.pack("<HH2s2xI", g, e, vr.encode(), len(value)) + value
    return struct.pack("<HH2sH", g, e, vr.encode(), len(value)) + value


def us(tag, v):
    return el(tag, "US", struct.pack("<H", v))


UNDEF = 0xFFFFFFFF
ITEM, ITEM_END, SEQ_END = b"\xfe\xff\x00\xe0", b"\xfe\xff\x0d\xe0\0\0\0\0", b"\xfe\xff\xdd\xe0\0\0\0\0"


def raw_file(path, elements, ts="1.2.840.10008.1.2.1"):
    """A DICOM file written byte by byte (for what pydicom would refuse to write)."""
    meta = el(0x00020002, "UI", SC) + el(0x00020010, "UI", ts)
    data = (b"\0" * 128 + b"DICM" + el(0x00020000, "UL", struct.pack("<I", len(meta))) + meta +
            b"".join(elements))
    with open(path, "wb") as f:
        f.write(data)


def ident(sop):
    return [el(0x00080016, "UI", SC), el(0x00080018, "UI", sop)]


def image_module(rows, cols, bits, frames=None):
    e = [us(0x00280002, 1), el(0x00280004, "CS", "MONOCHROME2")]
    if frames is not None:
        e.append(el(0x00280008, "IS", str(frames)))
    return e + [us(0x00280010, rows), us(0x00280011, cols), us(0x00280100, bits),
                us(0x00280101, bits), us(0x00280102, bits - 1), us(0x00280103, 0)]


def nested(depth):
    """A sequence nested depth levels deep (undefined lengths)."""
    inner = el(0x00100010, "PN", "Deep")
    for _ in range(depth):
        inner = (struct.pack("<HH2s2xI", 0x0008, 0x1115, b"SQ", UNDEF) + ITEM +
                 struct.pack("<I", UNDEF) + inner + ITEM_END + SEQ_END)
    return inner


def deflate_bomb(path, n):
    """A deflated file whose dataset is n zero bytes of pixel data (about n/1000 on disk)."""
    import zlib
    meta = el(0x00020002, "UI", SC) + el(0x00020010, "UI", "1.2.840.10008.1.2.1.99")
    head = (b"\0" * 128 + b"DICM" + el(0x00020000, "UL", struct.pack("<I", len(meta))) + meta)
    ds = b"".join(ident("1.2.66.9") + image_module(16384, 16384, 8, n // (16384 * 16384)))
    z = zlib.compressobj(1, zlib.DEFLATED, -15)
    body = [z.compress(ds + struct.pack("<HH2s2xI", 0x7FE0, 0x0010, b"OB", n))]
    chunk = b"\0" * (1 << 20)
    for _ in range(n >> 20):
        body.append(z.compress(chunk))
    body.append(z.flush())
    with open(path, "wb") as f:
        f.write(head + b"".join(body))


def hostile_files(folder):
    """Files whose declared sizes or structure a crawl must refuse; returns
    {file stem: (kind, reason substring)} (kind: 'header' unreadable by its
    stem, 'pixels' unreadable by its SOPInstanceUID when writing pixels)."""
    os.makedirs(folder, exist_ok=True)
    exp = {}
    # 65535 x 65535 x 1000 frames x 2 bytes of JPEG 2000 in a 200-byte file
    frag = b"\xff\x4f\xff\x51" + b"\0" * 12
    pix = (struct.pack("<HH2s2xI", 0x7FE0, 0x0010, b"OB", UNDEF) + ITEM + struct.pack("<I", 0) +
           ITEM + struct.pack("<I", len(frag)) + frag + SEQ_END)
    raw_file(os.path.join(folder, "huge.dcm"), ident("1.2.66.1") + image_module(65535, 65535, 16, 1000) +
             [pix], ts="1.2.840.10008.1.2.4.90")
    exp["huge"] = ("pixels", "1.2.66.1", "exceeds run.max_image_bytes (4294967296)")
    # 512 x 512 x 2 bytes declared, 100 bytes of pixel data
    raw_file(os.path.join(folder, "truncated.dcm"), ident("1.2.66.2") + image_module(512, 512, 16) +
             [el(0x7FE00010, "OW", b"\1" * 100)])
    exp["truncated"] = ("pixels", "1.2.66.2", "truncated pixel data: 512 x 512 x 1 frames need 524288 bytes")
    # sequences nested 14 deep (the parser stops at 12)
    raw_file(os.path.join(folder, "deep.dcm"), ident("1.2.66.3")[:2] + [nested(14)])
    exp["deep"] = ("header", "deep", "sequence nesting deeper than 12")
    # 200,001 elements (the parser stops at 200,000)
    many = []
    n = 0
    for g in range(0x0009, 0x0021, 2):
        for e in range(0x1000, 0x10000):
            many.append(struct.pack("<HH2sHH", g, e, b"US", 2, 7))
            n += 1
            if n == 200001:
                break
        if n == 200001:
            break
    raw_file(os.path.join(folder, "many.dcm"), ident("1.2.66.4") + many)
    exp["many"] = ("header", "many", "more than 200000 elements")
    # the HTJ2K frame that made OpenJPEG 2.5.0 call abort() (tests/fuzz/regressions)
    shutil.copy(os.path.join(ROOT, "tests/fuzz/regressions/htj2k_mel_init_assert.dcm"),
                os.path.join(folder, "htj2k.dcm"))
    exp["htj2k"] = ("pixels", "1.2.826.0.1.3680043.8.498.56269364539792556593215400643614822499",
                    "OpenJPEG aborted (assertion failed on corrupt data)")
    return exp


# ------------------------------------------------------------------ running

def crawl(folders, out, *sets, oid="t", np_=0, user=None, env=None, timeout=180, pixels=True,
          volumes=False, cfg=None):
    """Runs dcmcrawl; returns (exit status, stderr text)."""
    cmd = []
    if user:
        cmd += user
    if np_:
        cmd += ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(np_)]
    cmd += [BIN]
    if cfg:
        cmd += [cfg]
    else:
        # the old crawler's flags (they imply layout seed: these checks index zyx arrays)
        cmd += ["--dicom_folders", repr(list(folders)), "--storage_folder", out, "--output_id", oid,
                "--write_pixeldata", str(pixels), "--eval_3d_scans", str(volumes),
                "--set", "output.layout=zyx"]
    cmd += ["--set", "run.progress=never"]
    for s in sets:
        cmd += ["--set", s]
    try:
        r = subprocess.run(cmd, env=env or ENV, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail("dcmcrawl did not finish in %d s (blocked?): %s" % (timeout, " ".join(cmd)))
    return r.returncode, r.stderr.decode("utf-8", "backslashreplace")


def read_csv(path):
    """(header, rows as dicts); strict UTF-8, strict RFC 4180 shape."""
    if not os.path.exists(path):
        return [], []
    with open(path, newline="", encoding="utf-8", errors="strict") as f:
        rows = list(csv.reader(f, strict=True))
    if not rows:
        return [], []
    for r in rows[1:]:
        check(len(r) == len(rows[0]), "%s: a row of %d fields under a header of %d" %
              (path, len(r), len(rows[0])))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


class Out:
    """The three outputs of one crawl, keyed by Scan ID."""

    def __init__(self, out, oid="t"):
        self.dir = out
        self.meta_path = os.path.join(out, "metadata_%s.csv" % oid)
        self.unread_path = os.path.join(out, "unreadable_files_%s.csv" % oid)
        self.h5_path = os.path.join(out, "pixel_data_%s.h5" % oid)
        self.header, rows = read_csv(self.meta_path)
        self.meta = {}
        for r in rows:
            check(r["Scan ID"] not in self.meta, "Scan ID twice in the metadata CSV", r["Scan ID"])
            self.meta[r["Scan ID"]] = r
        _, urows = read_csv(self.unread_path)
        self.unread = {}
        for r in urows:
            check(r["Scan ID"] not in self.unread, "Scan ID twice in unreadable_files", r["Scan ID"])
            self.unread[r["Scan ID"]] = r
        self.h5 = {}
        if os.path.exists(self.h5_path):
            with h5py.File(self.h5_path, "r") as f:
                for name in f:
                    ds = f[name]
                    self.h5[name] = (ds[()], {k: ds.attrs[k] for k in ds.attrs})
        both = set(self.meta) & set(self.unread)
        check(not both, "scans both stored and unreadable", sorted(both)[:5])


def same_good(base, got, label=""):
    """Every scan of the baseline is in got, unchanged."""
    check(base.meta, label + "baseline has no rows")
    for sid, row in base.meta.items():
        check(sid in got.meta, label + "good scan missing from metadata", sid,
              got.unread.get(sid, {}).get("Reason for failure", "not unreadable either"))
        g = got.meta[sid]
        for col, v in row.items():
            check(g.get(col, "") == v, label + "value changed", sid, col, repr(v), repr(g.get(col)))
        for col in set(g) - set(row):
            check(g[col] == "", label + "good row gained a value", sid, col, g[col])
    for name, (arr, attrs) in base.h5.items():
        check(name in got.h5, label + "good dataset missing", name)
        a2, at2 = got.h5[name]
        check(arr.dtype == a2.dtype and arr.shape == a2.shape and np.array_equal(arr, a2),
              label + "pixel data changed", name, arr.dtype, a2.dtype, arr.shape, a2.shape)
        check(set(attrs) == set(at2), label + "attribute names changed", name)
        for k in attrs:
            check(attrs_equal(attrs[k], at2[k]), label + "attribute changed", name, k)
    check(not (set(base.meta) & set(got.unread)), label + "a good scan is unreadable")


def expect_unread(got, sid, reason, label=""):
    check(sid in got.unread, label + "expected in unreadable_files", sid,
          "have: %s" % sorted(got.unread)[:8])
    r = got.unread[sid]["Reason for failure"]
    check(reason in r, label + "reason", sid, "want %r" % reason, "got %r" % r)
    check(sid not in got.meta and sid not in got.h5, label + "unreadable scan also stored", sid)


def fresh(work, name):
    p = os.path.join(work, name)
    shutil.rmtree(p, ignore_errors=True)
    os.makedirs(p)
    return p


def baseline(work, folders, name, *sets, **kw):
    out = fresh(work, name)
    rc, err = crawl(folders, out, *sets, **kw)
    check(rc == 0, "baseline crawl failed", rc, err[-800:])
    b = Out(out)
    check(not b.unread, "baseline has unreadable scans", b.unread)
    return b


def scope(path):
    return path.replace("/", "_").replace("\\", "_")


# ------------------------------------------------------------------ cases

def case_hostile(work):
    good = os.path.join(work, "hostile_in")
    good_set(good)
    os.chdir(work)
    base = baseline(work, ["hostile_in"], "hostile_base")
    base_meta = baseline(work, ["hostile_in"], "hostile_base_meta", pixels=False)
    exp = hostile_files(good)
    good_image(os.path.join(good, "slash.dcm"), "9.9/9", series="1.2.99.9", seed=40)
    for np_ in (0, 2):
        out = fresh(work, "hostile_out%d" % np_)
        rc, err = crawl(["hostile_in"], out, np_=np_)
        label = "[-np %d] " % (np_ or 1)
        check(rc == 0, label + "exit status", rc, err[-1500:])
        got = Out(out)
        same_good(base, got, label)
        for stem, (kind, key, reason) in exp.items():
            sid = "hostile_in_" + (stem if kind == "header" else key)
            expect_unread(got, sid, reason, label)
            check(got.unread[sid]["Example file"] == "hostile_in/%s.dcm" % stem, label + "example file",
                  got.unread[sid])
        # a '/' in a UID: stored under '_' (the dataset name), the value kept in its column
        check("hostile_in_9.9_9" in got.meta and "hostile_in_9.9_9" in got.h5,
              label + "UID with '/' not stored as hostile_in_9.9_9", sorted(got.unread))
        check(got.meta["hostile_in_9.9_9"]["SOP Instance UID (0008, 0018)"] == "9.9/9", label + "UID value")
    # metadata only: sizes are not checked (nothing is decoded), headers still are
    out = fresh(work, "hostile_meta")
    rc, err = crawl(["hostile_in"], out, pixels=False)
    check(rc == 0, "metadata only: exit status", rc, err[-800:])
    got = Out(out)
    same_good(base_meta, got, "[metadata] ")
    for stem, (kind, key, reason) in exp.items():
        if kind == "header":
            expect_unread(got, "hostile_in_" + stem, reason, "[metadata] ")
        else:
            check("hostile_in_" + key in got.meta, "[metadata] row of %s missing" % stem)
    # run.max_image_bytes: a volume of 3 x 16 x 16 x 2 = 1536 bytes > 1 KiB; single images fit;
    # a 1 MiB deflated file that inflates to 1 GiB stops at 1 KiB + 256 MiB
    shutil.rmtree(good)
    good_set(good)
    out = fresh(work, "hostile_ceiling")
    vbase = baseline(work, ["hostile_in"], "hostile_vbase", volumes=True)
    deflate_bomb(os.path.join(good, "bomb.dcm"), 1 << 30)
    rc, err = crawl(["hostile_in"], out, "run.max_image_bytes=1KiB", volumes=True)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    check(rc == 0, "ceiling: exit status", rc, err[-800:])
    got = Out(out)
    expect_unread(got, "hostile_in_1.2.99.77", "image of 1536 bytes (3 slices) exceeds run.max_image_bytes (1024)",
                  "[ceiling] ")
    expect_unread(got, "hostile_in_bomb", "deflated dataset inflates to more than 268436480 bytes", "[ceiling] ")
    check(rss < 700 * 1024, "[ceiling] a crawl used %d MiB (the deflated file must stop at 256 MiB)" % (rss >> 10))
    for sid in vbase.meta:
        if sid != "hostile_in_1.2.99.77":
            check(sid in got.meta and np.array_equal(vbase.h5[sid][0], got.h5[sid][0]),
                  "[ceiling] image under the ceiling changed", sid)
    return "%d hostile files unreadable with their reasons at -np 1 and 2, good scans unchanged" % len(exp)


def case_perms(work):
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        raise Fail("setpriv not found (util-linux): cannot drop root to test permissions")
    user = NOBODY if os.geteuid() == 0 else None
    root = fresh(work, "perms")
    os.chmod(root, 0o755)
    os.chdir(root)
    good_set("in")
    good_set("in/sub", tag="s")
    os.makedirs("locked_input")
    out_b = fresh(root, "out_base")
    if user:
        os.chown(out_b, 65534, 65534)
    rc, err = crawl(["in"], out_b, "input.recursive=true", user=user)
    check(rc == 0, "baseline as nobody", rc, err[-800:])
    base = Out(out_b)
    good_image("in/secret.dcm", "1.2.77.1", seed=50)
    os.chmod("in/secret.dcm", 0)
    good_set("in/locked", tag="l")
    os.chmod("in/locked", 0)
    good_set("in/nosearch", tag="n")
    os.chmod("in/nosearch", 0o644)  # names readable, files not reachable
    good_set("locked_input", tag="k")
    os.chmod("locked_input", 0)
    out = fresh(root, "out")
    if user:
        os.chown(out, 65534, 65534)
    rc, err = crawl(["in", "locked_input"], out, "input.recursive=true", user=user)
    for p in ("in/locked", "in/nosearch", "locked_input"):
        os.chmod(p, 0o755)
    check(rc == 0, "exit status", rc, err[-1500:])
    for p in ("in/locked", "locked_input"):
        check("warning: %s: cannot read directory: Permission denied" % p in err, "no warning for " + p, err[-800:])
    got = Out(out)
    same_good(base, got)
    expect_unread(got, "in_secret", "cannot open: Permission denied")
    check(got.unread["in_secret"]["Example file"] == "in/secret.dcm", "example file")
    expect_unread(got, "in_locked", "cannot read folder: Permission denied")
    expect_unread(got, "locked_input", "cannot read folder: Permission denied")
    for i in range(3):
        expect_unread(got, "in_nosearch_n_img%d" % i, "cannot open: Permission denied")
    return "file, subfolder, listed folder and a folder without search permission: reasons recorded"


def case_vanish(work):
    shim = os.path.join(work, "vanish_shim.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", shim,
                    os.path.join(ROOT, "tests/faults/vanish_shim.c"), "-ldl"], check=True)
    root = fresh(work, "vanish")
    os.chdir(root)
    good_set("in")
    base = baseline(root, ["in"], "out_base")
    good_image("in/vanish1_a.dcm", "1.2.88.1", seed=61)
    good_image("in/vanish2_b.dcm", "1.2.88.2", seed=62)
    good_image("in/tofifo_c.dcm", "1.2.88.3", seed=63)
    out = fresh(root, "out")
    env = dict(ENV, LD_PRELOAD=shim)
    t0 = time.time()
    rc, err = crawl(["in"], out, env=env, timeout=60)
    check(rc == 0, "exit status", rc, err[-1500:])
    check(not os.path.exists("in/vanish1_a.dcm") and not os.path.exists("in/vanish2_b.dcm") and
          stat.S_ISFIFO(os.stat("in/tofifo_c.dcm").st_mode), "the shim did not act")
    got = Out(out)
    same_good(base, got)
    expect_unread(got, "in_vanish1_a", "cannot open: No such file or directory")
    expect_unread(got, "in_1.2.88.2", "cannot open: No such file or directory")
    expect_unread(got, "in_tofifo_c", "not a regular file")
    return "vanished before the header pass / before decoding, FIFO in place of a file: %.1f s" % (
        time.time() - t0)


def case_special(work):
    root = fresh(work, "special")
    os.chdir(root)
    good_set("in")
    good_set("in/sub", tag="s")
    base = baseline(root, ["in"], "out_base", "input.recursive=true")
    os.mkfifo("in/fifo.dcm")
    os.mkfifo("in/sub/fifo2")
    made = ["FIFO"]
    try:
        os.mknod("in/null.dcm", 0o644 | stat.S_IFCHR, os.makedev(1, 3))
        made.append("character device")
    except OSError as ex:
        print("  note: no device node (%s)" % ex)
    s = socket.socket(socket.AF_UNIX)
    s.bind("in/sock.dcm")
    made.append("socket")
    os.symlink("fifo.dcm", "in/link_to_fifo.dcm")
    for follow in ("false", "true"):
        out = fresh(root, "out_" + follow)
        rc, err = crawl(["in"], out, "input.recursive=true", "input.follow_symlinks=" + follow, timeout=60)
        check(rc == 0, "exit status (follow %s)" % follow, rc, err[-800:])
        got = Out(out)
        same_good(base, got, "[follow %s] " % follow)
        check(set(got.meta) == set(base.meta) and not got.unread, "[follow %s] extra scans" % follow,
              sorted(set(got.meta) ^ set(base.meta)), sorted(got.unread))
    s.close()
    return "%s and a symlink to a FIFO never opened, outputs as without them" % ", ".join(made)


def case_loops(work):
    root = fresh(work, "loops")
    os.chdir(root)
    good_set("in")
    good_set("in/sub", tag="s")
    good_set("in/sub/deeper", tag="d")
    base = baseline(root, ["in"], "out_base", "input.recursive=true")
    os.symlink(".", "in/loop")
    os.symlink("..", "in/sub/up")
    os.symlink("../..", "in/sub/deeper/top")
    os.symlink("self", "in/self")
    os.symlink("b", "in/a")
    os.symlink("a", "in/b")
    out = fresh(root, "out")
    rc, err = crawl(["in", "in/sub/up"], out, "input.recursive=true", "input.follow_symlinks=true",
                    timeout=60)
    check(rc == 0, "exit status", rc, err[-800:])
    check("already walked by another path" in err, "no message about the loop", err[-800:])
    got = Out(out)
    same_good(base, got)
    check(set(got.meta) == set(base.meta) and not got.unread, "files crawled twice or lost",
          sorted(set(got.meta) ^ set(base.meta)), sorted(got.unread))
    return "loops through ., .., ../.., self and a->b->a: every file once"


def case_nonutf8(work):
    root = fresh(work, "nonutf8")
    os.chdir(root)
    lat = b"in/caf\xe9"
    os.makedirs(lat)
    good_image((lat + b"/\xff1.dcm").decode("utf-8", "surrogateescape"), "1.2.55.1", seed=71)
    good_image((lat + b"/ok.dcm").decode("utf-8", "surrogateescape"), "1.2.55.2", seed=72)
    path = (lat + b"/\xe9t\xe9.dcm").decode("utf-8", "surrogateescape")
    good_image(path, "1.2.55.3", seed=73)
    ds = pydicom.dcmread(path)
    del ds.SOPInstanceUID  # Scan ID from the file name
    ds.save_as(path)
    with open(lat + b"/bad\xff.dcm", "wb") as f:
        f.write(b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\x40\x00" + b"1.2" * 5)  # truncated
    os.makedirs("in/caf\u00e9")  # the same name in UTF-8: a different folder
    good_image("in/caf\u00e9/u.dcm", "1.2.55.4", seed=74)
    out = fresh(root, "out")
    rc, err = crawl(["in"], out, "input.recursive=true")
    check(rc == 0, "exit status", rc, err[-800:])
    got = Out(out)  # strict UTF-8 reads
    want = {"in_caf\\xe9_1.2.55.1", "in_caf\\xe9_1.2.55.2", "in_caf\\xe9_\\xe9t\\xe9", "in_caf\u00e9_1.2.55.4"}
    check(set(got.meta) == want, "Scan IDs", sorted(got.meta))
    check(set(got.h5) == want, "HDF5 dataset names are not the Scan IDs of the CSV", sorted(got.h5))
    for sid in want:
        check(got.h5[sid][1]["scan_id"] == sid, "scan_id attribute", sid)
    expect_unread(got, "in_caf\\xe9_bad\\xff", "exceeds file size")
    check(got.unread["in_caf\\xe9_bad\\xff"]["Example file"] == "in/caf\\xe9/bad\\xff.dcm",
          "Example file", got.unread["in_caf\\xe9_bad\\xff"])
    # the pixels are those of the files
    ref = pydicom.dcmread((lat + b"/\xff1.dcm").decode("utf-8", "surrogateescape")).pixel_array
    check(np.array_equal(got.h5["in_caf\\xe9_1.2.55.1"][0], ref), "pixel data of a non-UTF-8 file")
    # source_folder keeps the bytes: os.fsencode gives the folder back
    sf = got.h5["in_caf\\xe9_1.2.55.1"][1]["source_folder"]
    check(os.fsencode(sf) == lat, "source_folder", repr(sf))
    return "Scan IDs with \\xNN, identical in CSV and HDF5; Example file escaped; pixels intact"


def case_formula(work):
    root = fresh(work, "formula")
    os.chdir(root)
    good_set("in")
    hostile = {"PatientName": "=1+1", "InstitutionName": "+cmd|' /C calc'!A0",
               "StudyDescription": "-2+3+cmd|' /C calc'!A0", "SeriesDescription": "@SUM(A1)",
               "PatientComments": "\tTAB", "ImageComments": "\r=CR"}
    numbers = {"SliceThickness": "-5.5", "ImagePositionPatient": [-1.5, -2.0, 3.0]}
    good_image("in/x.dcm", "1.2.44.1", seed=80, **hostile, **numbers)
    cols = {"PatientName": "Patient's Name (0010, 0010)", "InstitutionName": "Institution Name (0008, 0080)",
            "StudyDescription": "Study Description (0008, 1030)",
            "SeriesDescription": "Series Description (0008, 103e)",
            "PatientComments": "Patient Comments (0010, 4000)", "ImageComments": "Image Comments (0020, 4000)"}
    off = fresh(root, "out_off")
    rc, err = crawl(["in"], off)
    check(rc == 0, "exit status (guard off)", rc, err[-800:])
    o = Out(off)
    for k, v in hostile.items():
        check(o.meta["in_1.2.44.1"][cols[k]] == v, "guard off changed a value", k, o.meta["in_1.2.44.1"][cols[k]])
    for label, how in (("--set", ["output.csv_formula_guard=true"]), ("config", None)):
        out = fresh(root, "out_on_" + label)
        if how:
            rc, err = crawl(["in"], out, *how)
        else:
            cfg = os.path.join(root, "guard.yaml")
            with open(cfg, "w") as f:
                f.write("input:\n  folders: [in]\noutput:\n  folder: %s\n  id: t\n  write_pixeldata: true\n"
                        "  csv_formula_guard: true\n" % out)
            rc, err = crawl([], out, cfg=cfg)
        check(rc == 0, "exit status (guard on, %s)" % label, rc, err[-800:])
        g = Out(out)
        row = g.meta["in_1.2.44.1"]
        for k, v in hostile.items():
            check(row[cols[k]] == "'" + v, "guard on (%s): %s" % (label, k), repr(row[cols[k]]))
        check(row["Slice Thickness (0018, 0050)"] == "-5.5", "a negative number was changed",
              row["Slice Thickness (0018, 0050)"])
        # csv_style seed: several values as pydicom prints them, a list never taken for a formula
        check(row["Image Position (Patient) (0020, 0032)"] == "[-1.5, -2.0, 3.0]",
              "negative multi-value changed", row["Image Position (Patient) (0020, 0032)"])
        o2 = Out(off)
        del o2.meta["in_1.2.44.1"]
        same_good(o2, g, "[guard on] ")
    return "=, +, -, @, TAB, CR neutralised with a quote when asked; numbers and other scans unchanged"


# every key of the schema with a value of the wrong type, and the message
WRONG = [
    ("input:\n  folders: {a: b}\n", 2, "input.folders: expected a folder or a list of folders, got a mapping"),
    ("input:\n  folders: [x]\n  recursive: maybe\n", 3, "input.recursive: expected true or false, got \"maybe\""),
    ("input:\n  folders: [x]\n  follow_symlinks: [1]\n", 3, "input.follow_symlinks: expected a single value, got a list"),
    ("output:\n  folder: [a]\n", 2, "output.folder: expected a single value, got a list"),
    ("output:\n  id: {x: 1}\n", 2, "output.id: expected a single value, got a mapping"),
    ("output:\n  write_pixeldata: 2\n", 2, "output.write_pixeldata: expected true or false, got \"2\""),
    ("output:\n  volumes: yes please\n", 2, "output.volumes: expected true or false, got \"yes please\""),
    ("output:\n  layout: xyz\n", 2, "output.layout: expected zyx or seed, got \"xyz\""),
    ("output:\n  compression: gzip:0\n", 2, "output.compression: expected none or gzip:1..9, got \"gzip:0\""),
    ("output:\n  rescale: 1.5\n", 2, "output.rescale: expected true or false, got \"1.5\""),
    ("output:\n  csv_style: keywords\n", 2, "output.csv_style: expected seed or dicom, got \"keywords\""),
    ("output:\n  csv_formula_guard: sometimes\n", 2,
     "output.csv_formula_guard: expected true or false, got \"sometimes\""),
    ("volumes:\n  slice_order: z\n", 2, "volumes.slice_order: expected position, instance or filename, got \"z\""),
    ("volumes:\n  split_inconsistent: 3\n", 2, "volumes.split_inconsistent: expected true or false, got \"3\""),
    ("run:\n  commit_every: 0\n", 2, "run.commit_every: expected a whole number >= 1, got \"0\""),
    ("run:\n  retry_unreadable: nope\n", 2, "run.retry_unreadable: expected true or false, got \"nope\""),
    ("run:\n  log_level: loud\n", 2, "run.log_level: expected error, warn, info or debug, got \"loud\""),
    ("run:\n  progress: sometimes\n", 2, "run.progress: expected auto, always or never, got \"sometimes\""),
    ("run:\n  max_image_bytes: 4 PiB\n", 2, "run.max_image_bytes: expected a size from 1KiB to 1024TiB, "
     "e.g. 4GiB, 512MiB or a number of bytes, got \"4 PiB\""),
    ("output:\n  idd: x\n", 2, "output.idd: unknown key"),
    ("outputs:\n  id: x\n", 1, "outputs: unknown section (expected input, output, volumes or run)"),
    ("input:\n  folders: [in]\noutput:\n  id: a\n  id: b\n", 5, "output.id: duplicate key (first at line 4)"),
]


def tree_state(d):
    """Every path under d with its size and mtime (what 'nothing written' compares)."""
    st = {}
    for dp, dns, fns in os.walk(d):
        for n in dns + fns:
            p = os.path.join(dp, n)
            s = os.lstat(p)
            st[p] = (s.st_size, s.st_mtime_ns, stat.S_IFMT(s.st_mode))
    return st


def case_config(work):
    root = fresh(work, "config")
    os.chmod(root, 0o755)
    os.chdir(root)
    good_set("in")
    prev = fresh(root, "prev")  # outputs of an earlier run must survive a bad config untouched
    rc, err = crawl(["in"], prev)
    check(rc == 0, "earlier run", rc, err[-500:])
    n = 0

    def bad(args, want, user=None, label=""):
        nonlocal n
        before = tree_state(root)
        r = subprocess.run((user or []) + [BIN] + args, env=ENV, capture_output=True, timeout=60)
        e = r.stderr.decode("utf-8", "backslashreplace")
        check(r.returncode == 2, label + "exit status", r.returncode, e[-500:])
        check("dcmcrawl: error: " + want + "\n" in e, label + "message", "want %r" % want, "got %r" % e[-600:])
        after = tree_state(root)
        check(before == after, label + "something was written", sorted(set(after) ^ set(before))[:5],
              [p for p in before if p in after and before[p] != after[p]][:5])
        n += 1

    for i, (text, line, msg) in enumerate(WRONG):
        for target in ("new", "prev") if i % 4 == 0 else ("new",):
            cfg = os.path.join(root, "bad%02d.yaml" % i)
            folder = "out_never" if target == "new" else "prev"
            full = text if text.startswith("input") else "input:\n  folders: [in]\n" + text
            shift = 0 if text.startswith("input") else 2
            with open(cfg, "w") as f:
                f.write(full + ("" if "folder:" in text else "# output folder given with --set\n"))
            bad([cfg, "--set", "output.folder=" + folder] if "folder:" not in text else [cfg],
                "%s:%d: %s" % (cfg, line + shift, msg), label="[%s -> %s] " % (msg.split(":")[0], target))
    # --set with a wrong type, and an unknown key
    bad(["--dicom_folders", "in", "--set", "run.max_image_bytes=lots", "--storage_folder", "prev"],
        "--set run.max_image_bytes: expected a size from 1KiB to 1024TiB, e.g. 4GiB, 512MiB or a number of "
        "bytes, got \"lots\"")
    bad(["--dicom_folders", "in", "--set", "run.nope=1"], "--set run.nope: unknown key")
    # empty, comment-only, missing, a folder, not readable (as nobody), not YAML
    empty = os.path.join(root, "empty.yaml")
    open(empty, "w").close()
    bad([empty], "%s:1: the config is empty (expected sections input, output, volumes, run)" % empty)
    comments = os.path.join(root, "comments.yaml")
    with open(comments, "w") as f:
        f.write("# nothing\n\n")
    bad([comments], "%s:1: the config is empty (expected sections input, output, volumes, run)" % comments)
    missing = os.path.join(root, "missing.yaml")
    bad([missing], "%s: cannot read the config file: No such file or directory" % missing)
    bad(["-c", "in"], "in: cannot read the config file: Is a directory")
    syntax = os.path.join(root, "syntax.yaml")
    with open(syntax, "w") as f:
        f.write("input:\n  folders: [in\noutput:\n  id: x\n")
    bad([syntax], "%s:3: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence "
        "at line 2)" % syntax)
    good_cfg = os.path.join(root, "good.yaml")
    with open(good_cfg, "w") as f:
        f.write("input:\n  folders: [in]\noutput:\n  id: t\n")
    user = NOBODY if os.geteuid() == 0 else None
    secret = os.path.join(root, "secret.yaml")
    shutil.copy(good_cfg, secret)
    os.chmod(secret, 0)
    if user:
        bad([secret], "%s: cannot read the config file: Permission denied" % secret, user=user)
    # output folder: not writable (as nobody: root may write anywhere), not creatable, a file
    ro = fresh(root, "readonly_out")
    os.chmod(ro, 0o755)
    if user:
        bad([good_cfg, "--set", "output.folder=" + ro],
            "output.folder: \"%s\" is not writable (Permission denied)" % ro, user=user)
        bad([good_cfg, "--set", "output.folder=%s/sub/deeper" % ro],
            "output.folder: cannot create \"%s/sub/deeper\": \"%s\" is not writable (Permission denied)" % (ro, ro),
            user=user)
    bad([good_cfg, "--set", "output.folder=" + good_cfg],
        "output.folder: \"%s\" exists and is not a directory" % good_cfg)
    bad([good_cfg, "--set", "input.folders=[nowhere]"],
        "input.folders: none of the listed folders is a directory (\"nowhere\": No such file or directory)")
    return "%d bad configs: exit 2, file:line: key: message, nothing written (earlier outputs intact)" % n


def mount_tmpfs(path, size):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path], capture_output=True)
    return r.returncode == 0, r.stderr.decode(errors="replace").strip()


def fill(path, leave):
    """Fills the file system of path up to `leave` bytes free."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    with open(os.path.join(path, "filler"), "wb") as f:
        f.write(b"\0" * max(0, free - leave))


class Skip(Exception):
    pass


def case_enospc(work):
    if os.geteuid() != 0:
        raise Skip("needs root to mount a small tmpfs")
    root = fresh(work, "enospc")
    os.chdir(root)
    # --- pixel data: 4 images first, then 10 more of 128 x 128 x 2 do not fit
    for i in range(4):
        good_image("small/s%d.dcm" % i, "1.2.33.%d" % i, rows=64, cols=64, seed=i)
    for i in range(10):
        good_image("big/b%d.dcm" % i, "1.2.34.%d" % i, rows=128, cols=128, seed=20 + i)
    ref = baseline(root, ["small", "big"], "out_ref", "run.commit_every=2")
    out = os.path.join(root, "out")
    os.makedirs(out)
    said = []
    # the disk fills at different moments of a checkpoint (segment data, segment
    # close, index copy) depending on how much room is left; -np 2 once
    for leave, np_ in ((8, 0), (40, 0), (80, 0), (112, 0), (112, 2), (200, 0)):
        label = "[%d KiB left, -np %d] " % (leave, np_ or 1)
        ok, why = mount_tmpfs(out, "1m")
        if not ok:
            raise Skip("cannot mount a tmpfs: " + why)
        try:
            rc, err = crawl(["small"], out, "run.commit_every=2", np_=np_)
            check(rc == 0, label + "first run", rc, err[-800:])
            first = Out(out)
            keep = open(first.meta_path, "rb").read()
            fill(out, leave * 1024)
            rc, err = crawl(["small", "big"], out, "run.commit_every=2", np_=np_)
            check(rc == 1, label + "full disk: exit status", rc, err[-1500:])
            lines = [ln for ln in err.splitlines() if "error: " in ln]
            check(lines and ("KiB free on its file system" in lines[0] or "No space left on device" in lines[0]),
                  label + "full disk: message", err[-1500:])
            check("Segmentation fault" not in err and "Aborted" not in err and "signal" not in err,
                  label + "full disk: crash", err[-800:])
            said.append(lines[0].split("error: ")[1].replace(out + "/", ""))
            # earlier outputs intact: the CSV starts with the same bytes, the index opens with every dataset
            check(open(first.meta_path, "rb").read().startswith(keep), label + "earlier metadata rows changed")
            with h5py.File(first.h5_path, "r") as f:
                for sid, (arr, _) in first.h5.items():
                    check(sid in f and np.array_equal(f[sid][()], arr), label + "earlier dataset lost", sid)
            os.remove(os.path.join(out, "filler"))
            rc, err = crawl(["small", "big"], out, "run.commit_every=2", np_=np_)
            check(rc == 0, label + "after freeing space: exit status", rc, err[-1500:])
            got = Out(out)
            check(set(got.meta) == set(ref.meta) and not got.unread, label + "after freeing space: scans",
                  sorted(set(got.meta) ^ set(ref.meta)), sorted(got.unread))
            same_good(ref, got, label + "after freeing space: ")
        finally:
            subprocess.run(["umount", out])
    # --- CSV rows: metadata only, 60 rows do not fit behind the first 12
    for i in range(12):
        good_image("m1/a%02d.dcm" % i, "1.2.35.%d" % i, seed=i)
    for i in range(60):
        good_image("m2/b%02d.dcm" % i, "1.2.36.%d" % i, seed=i)
    good_image("m3/c.dcm", "1.2.37.1", seed=3, ImageComments="a new column")
    ref = baseline(root, ["m1", "m2"], "out_ref2", "run.commit_every=20", pixels=False)
    out = os.path.join(root, "out2")
    os.makedirs(out)
    ok, why = mount_tmpfs(out, "100k")
    if not ok:
        raise Skip("cannot mount a tmpfs: " + why)
    try:
        rc, err = crawl(["m1"], out, "run.commit_every=20", pixels=False)
        check(rc == 0, "rows: first run", rc, err[-800:])
        before = open(os.path.join(out, "metadata_t.csv"), "rb").read()
        fill(out, 0)
        # new columns: the CSV is rewritten to a temporary file first
        rc, err = crawl(["m1", "m3"], out, "run.commit_every=20", pixels=False)
        check(rc == 1, "rewrite, full disk: exit status", rc, err[-1500:])
        check("error: %s/metadata_t.csv: rewrite failed: No space left on device" % out in err,
              "rewrite, full disk: message", err[-1500:])
        check(open(os.path.join(out, "metadata_t.csv"), "rb").read() == before and
              sorted(n for n in os.listdir(out) if n != "done_t.d") == ["filler", "metadata_t.csv"],
              "rewrite, full disk: file changed",
              sorted(os.listdir(out)))
        rc, err = crawl(["m1", "m2"], out, "run.commit_every=20", pixels=False)
        check(rc == 1, "rows, full disk: exit status", rc, err[-1500:])
        check("error: %s/metadata_t.csv: writing rows failed (0 KiB free on its file system)" % out in err,
              "rows, full disk: message", err[-1500:])
        check(open(os.path.join(out, "metadata_t.csv"), "rb").read().startswith(before),
              "rows, full disk: earlier rows changed")
        os.remove(os.path.join(out, "filler"))
        rc, err = crawl(["m1", "m2"], out, "run.commit_every=20", pixels=False)
        check(rc == 0, "rows after freeing space: exit status", rc, err[-1500:])
        check("repaired" in err, "rows after freeing space: no repair message", err[-800:])
        got = Out(out)
        check(set(got.meta) == set(ref.meta), "rows after freeing space: scans",
              sorted(set(got.meta) ^ set(ref.meta))[:5])
        same_good(ref, got, "[rows after ENOSPC] ")
    finally:
        subprocess.run(["umount", out])
    return "exit 1 (%s), earlier outputs intact, rerun complete; CSV rows likewise" % "; ".join(sorted(set(said)))


CASES = [("hostile", case_hostile), ("perms", case_perms), ("vanish", case_vanish),
         ("special", case_special), ("loops", case_loops), ("nonutf8", case_nonutf8),
         ("formula", case_formula), ("config", case_config), ("enospc", case_enospc)]


def main():
    global BIN
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    keep = "--keep" in sys.argv
    if not args or not os.access(args[0], os.X_OK):
        print("test_faults: FAIL: usage: test_faults.py BIN [--keep] [CASE ...]")
        return 1
    BIN = os.path.abspath(args[0])
    only = set(args[1:])
    work = tempfile.mkdtemp(prefix="dcmcrawl_faults_")
    os.chmod(work, 0o755)  # nobody must reach the crawls that run as nobody
    failed = 0
    t0 = time.time()
    for name, fn in CASES:
        if only and name not in only:
            continue
        t = time.time()
        try:
            note = fn(work)
            print("  PASS  %-8s %5.1fs  %s" % (name, time.time() - t, note))
        except Skip as ex:
            print("  SKIP  %-8s %5.1fs  %s" % (name, time.time() - t, ex))
        except Fail as ex:
            failed += 1
            print("  FAIL  %-8s %5.1fs  %s" % (name, time.time() - t, ex))
        except Exception as ex:  # noqa: BLE001 (an output that cannot be read is a failure too)
            failed += 1
            print("  FAIL  %-8s %5.1fs  %s: %s" % (name, time.time() - t, type(ex).__name__, ex))
        finally:
            os.chdir(ROOT)
    if failed or keep:
        print("work dir kept: %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print("test_faults: %s in %.0fs" % ("FAIL" if failed else "PASS", time.time() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
