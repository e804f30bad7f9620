#!/usr/bin/python3
"""oracle.py - an independent reference for what dcmcrawl must write.

Built only from the contract (shared SPEC.md) and pydicom (+gdcm), never from
dcmcrawl's code, so that a test comparing the two says which one is wrong.

    from oracle import Oracle, Options
    o = Oracle(["corpus/series", ...], Options(volumes=True, write_pixeldata=True))
    o.scans            # Scan ID -> Expect (stored / unreadable / either)
    o.unreadable       # expectations for unreadable rows
    o.expected_array(e), o.expected_row(e), o.expected_attrs(e)

Run directly it prints the plan:  oracle.py [--volumes] [--pixels] FOLDER...

How each SPEC section is modelled (and where the SPEC is silent, the choice
made, always as lenient as the contract allows, flagged "uncertain"):

SPEC 3  DICOM files are recognised by content: "DICM" at 128, or no preamble
        and a first tag in group 0002/0008 that parses cleanly (own structural
        walker, below: pydicom silently accepts truncated files).  DICOMDIR
        (MediaStorageSOPClassUID 1.2.840.10008.1.3.10) skipped, also when its
        records are corrupt.  Names ordered naturally (digit runs by value,
        ties by code point).
SPEC 4  CSV columns: group 0002 (file meta) is not in the CSV (the old
        crawler iterated pydicom's dataset, which excludes it).
        csv_style seed (default): names exactly pydicom's elem.name + " " +
        str(elem.tag), each enclosing sequence's elem.name + "_" in front
        (the old crawler's rule); values exactly str(elem.value) (bulk binary
        as <binary N bytes>, NULs removed).  Column order: by the tag path a
        name gives (column_sort_key: each sequence name's lowest tag in
        pydicom's dictionary, or the keyword's in dcmtk's for the dicom style;
        0xFFFFFFFF for names that give none, e.g. "Private tag data").
        csv_style dicom: names:
        pydicom keyword; dcmtk's dictionary keyword (its RETIRED_ prefix) is
        accepted too; unknown public -> Unknown, group length (gggg,0000) ->
        Unknown or GenericGroupLength, private creator -> PrivateCreator,
        private -> dcmtk private.dic name or Private.  Values from pydicom's
        decoded values (charset, padding), FL/FD compared as numbers, AT
        as (gggg, eeee), bulk binary as <binary N bytes>.
SPEC 5  Stacking as described; 4D repeats ordered by (AcquisitionNumber,
        TemporalPositionIdentifier, InstanceNumber).
SPEC 6  Arrays: pydicom pixel_array (numpy, gdcm, pillow, rle handlers),
        sign-extended from HighBit (signed) or masked to BitsStored bits
        (unsigned, PS3.5 8.1.1), YBR_FULL/YBR_FULL_422 -> RGB with
        convert_color_space; lossy syntaxes compared with a tolerance against
        every decoder that succeeds.
"""
import argparse
import functools
import json
import math
import os
import re
import struct
import sys
import warnings
import zlib

import numpy as np

import pydicom
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

warnings.simplefilter("ignore")
try:
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
except AttributeError:   # older pydicom
    pass

# ------------------------------------------------------------------ constants

TS_IMPLICIT = "1.2.840.10008.1.2"
TS_EXPLICIT = "1.2.840.10008.1.2.1"
TS_DEFLATED = "1.2.840.10008.1.2.1.99"
TS_BIG = "1.2.840.10008.1.2.2"
NATIVE_TS = {TS_IMPLICIT, TS_EXPLICIT, TS_DEFLATED, TS_BIG}
# SPEC 6: what must decode
SUPPORTED_TS = NATIVE_TS | {
    "1.2.840.10008.1.2.5",                                   # RLE
    "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",      # JPEG baseline/extended
    "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",      # JPEG lossless
    "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",      # JPEG-LS
    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",      # JPEG 2000
    "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",  # HTJ2K
}
LOSSY_TS = {"1.2.840.10008.1.2.4.50": 3, "1.2.840.10008.1.2.4.51": 4,
            "1.2.840.10008.1.2.4.91": 3, "1.2.840.10008.1.2.4.203": 3}
# syntaxes a reader may or may not know (retired JPEG processes etc.): either outcome
MAYBE_TS_PREFIX = ("1.2.840.10008.1.2.4.",)
# JPEG 2000: gdcm alone has been seen returning garbage (fragments with embedded
# delimiters); a reference needs two decoders (gdcm, Pillow/OpenJPEG) to succeed
J2K_TS = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201",
          "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}
MEDIA_DIRECTORY = "1.2.840.10008.1.3.10"
PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}
BULK_VRS = {"OB", "OW", "OD", "OF", "OL", "OV", "UN", "OB or OW", "OW or OB", "ox"}
TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC",
            "UI", "UR", "UT"}
INT_VRS = {"US", "SS", "UL", "SL", "SV", "UV", "US or SS", "US or SS or OW"}
FLOAT_VRS = {"FL": 32, "FD": 64}
GENERIC_REASONS = {"", "error", "failed", "failure", "unreadable", "unknown", "unknown error",
                   "unidentified failure", "failure in get_pixel_data",
                   "failure in dataset_tags_and_values", "decode failed", "exception"}


class Uncertain:
    """Expected value that the SPEC leaves open: not compared."""

    def __init__(self, why):
        self.why = why

    def __repr__(self):
        return "Uncertain(%s)" % self.why


class FloatVal:
    """Expected FL/FD value(s): compared as numbers after parsing the CSV text."""

    def __init__(self, bits, values):
        self.bits = bits
        self.values = list(values)

    def matches(self, text):
        parts = text.split("\\") if text != "" else []
        if len(parts) != len(self.values):
            return False
        for p, v in zip(parts, self.values):
            try:
                g = float(p)
            except ValueError:
                return False
            if self.bits == 32:
                a, b = np.float32(g), np.float32(v)
            else:
                a, b = np.float64(g), np.float64(v)
            if not (a == b or (np.isnan(a) and np.isnan(b))):
                return False
        return True

    def __repr__(self):
        return "\\".join(repr(np.float32(v)) if self.bits == 32 else repr(float(v))
                         for v in self.values)


# --------------------------------------------------------------- utilities

def natcmp(a, b):
    """Natural order: where both names have a run of digits, the runs compare
    by numeric value ("img2" < "img10"); other characters by code point; ties
    broken by plain comparison so the order is total."""
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i].isdigit() and b[j].isdigit():
            i2, j2 = i, j
            while i2 < len(a) and a[i2].isdigit():
                i2 += 1
            while j2 < len(b) and b[j2].isdigit():
                j2 += 1
            na, nb = int(a[i:i2]), int(b[j:j2])
            if na != nb:
                return -1 if na < nb else 1
            i, j = i2, j2
            continue
        if a[i] != b[j]:
            return -1 if a[i] < b[j] else 1
        i += 1
        j += 1
    if (len(a) - i) != (len(b) - j):
        return -1 if (len(a) - i) < (len(b) - j) else 1
    return (a > b) - (a < b)


natural_key = functools.cmp_to_key(natcmp)


def natcmp_sorted(names):
    return sorted(names, key=natural_key)


def scope_id(path):
    return path.replace("/", "_").replace("\\", "_")


def file_stem(path):
    b = os.path.basename(path)
    i = b.rfind(".")
    return b[:i] if i > 0 else b


def reason_is_specific(reason):
    r = (reason or "").strip().lower()
    return len(r) >= 6 and r not in GENERIC_REASONS


def reason_matches(reason, patterns):
    """patterns: list of 'a|b' alternatives (case-insensitive substrings); all must match."""
    r = (reason or "").lower()
    for p in patterns:
        if not any(alt.lower() in r for alt in p.split("|")):
            return False
    return True


# ------------------------------------------------- dictionaries (names only)

_DCMTK_PUBLIC = None
_DCMTK_PRIVATE = None
DCMTK_DIC_DIRS = ["/usr/share/libdcmtk17", "/usr/share/libdcmtk16", "/usr/share/libdcmtk15",
                  "/usr/share/dcmtk"]


def _dic_path(name):
    for d in DCMTK_DIC_DIRS:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    return None


def dcmtk_public():
    global _DCMTK_PUBLIC
    if _DCMTK_PUBLIC is None:
        _DCMTK_PUBLIC = {}
        p = _dic_path("dicom.dic")
        if p:
            for line in open(p, encoding="latin-1"):
                if line.startswith("#") or not line.strip():
                    continue
                f = line.rstrip("\n").split("\t")
                m = re.match(r"\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)$", f[0])
                if m and len(f) > 2:
                    _DCMTK_PUBLIC[int(m.group(1), 16) << 16 | int(m.group(2), 16)] = f[2]
    return _DCMTK_PUBLIC


def dcmtk_private():
    global _DCMTK_PRIVATE
    if _DCMTK_PRIVATE is None:
        _DCMTK_PRIVATE = {}
        p = _dic_path("private.dic")
        if p:
            for line in open(p, encoding="latin-1"):
                if line.startswith("#") or not line.strip():
                    continue
                f = line.rstrip("\n").split("\t")
                m = re.match(r'\(([0-9A-Fa-f]{4}),"([^"]*)",([0-9A-Fa-f]{2})\)$', f[0])
                if m and len(f) > 2:
                    _DCMTK_PRIVATE[(int(m.group(1), 16), m.group(2), int(m.group(3), 16))] = f[2]
    return _DCMTK_PRIVATE


class CaseFree(str):
    """A name accepted in any letter case (pydicom's private descriptions turned
    into keywords: "Image ID Information" -> ImageIDInformation, ImageIdInformation...)."""


def tag_names(tag, creator):
    """Acceptable names for a tag (first is the preferred one)."""
    g, e = tag >> 16, tag & 0xFFFF
    if g % 2 == 1:
        if e == 0:
            return ["Private", "GenericGroupLength", "PrivateGroupLength", "Unknown"]
        if 0x10 <= e <= 0xFF:
            return ["PrivateCreator"]
        names = []
        desc = None
        if creator is not None and e >= 0x1000:
            n = dcmtk_private().get((g, creator.strip(), e & 0xFF))
            if n:
                names.append(n)
            try:
                from pydicom.datadict import private_dictionary_description
                desc = private_dictionary_description(tag, creator.strip())
            except (KeyError, ValueError, AttributeError):
                desc = None
        names.append("Private")
        if creator is not None and e >= 0x1000 and desc:
            alnum = re.sub(r"[^A-Za-z0-9]", "", desc)
            if alnum and alnum.lower() not in ("unknown", "private"):
                names.append(CaseFree(alnum))
        return names
    names = []
    kw = keyword_for_tag(tag)
    if kw:
        names.append(kw)
    dk = dcmtk_public().get(tag)
    if dk and dk not in names:
        names.append(dk)
    if kw and ("RETIRED_" + kw) not in names:
        names.append("RETIRED_" + kw)
    if e == 0:
        names += ["Unknown", "GenericGroupLength"]
    elif not kw or not dk:
        names.append("Unknown")
    seen = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen


# ------------------------------------------------------- structural walker

class Walk:
    """Result of walking a file's structure without trusting pydicom."""

    def __init__(self):
        self.has_dicm = False
        self.first_group_ok = False
        self.ok = True
        self.reason = ""
        self.ts = None
        self.meta_sop = None
        self.media_class = None
        self.meta_ok = False       # the file meta group (0002) walked to its end
        self.pixel_present = False
        self.pixel_encapsulated = False
        self.pixel_len = None
        self.pixel_truncated = False
        self.n_elements = 0
        self.vr_mismatch = False


_VR_LONG = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV",
            b"UV"}
_VALID_VRS = {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT",
              b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST",
              b"SV", b"TM", b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV"}


class _Trunc(Exception):
    pass


def _walk_dataset(buf, pos, end, implicit, little, depth, w, top, stop_at_delim):
    """Walk elements in buf[pos:end].  Returns the position after the last
    element (or after an item/sequence delimiter when stop_at_delim)."""
    en = "<" if little else ">"
    while pos < end:
        if pos + 8 > end:
            raise _Trunc("truncated element header at offset %d" % pos)
        g, e = struct.unpack(en + "HH", buf[pos:pos + 4])
        tag = g << 16 | e
        if tag in (0xFFFEE00D, 0xFFFEE0DD):
            ln = struct.unpack(en + "I", buf[pos + 4:pos + 8])[0]
            pos += 8
            if stop_at_delim:
                return pos
            continue
        if implicit:
            ln = struct.unpack(en + "I", buf[pos + 4:pos + 8])[0]
            vr = None
            try:
                vr = dictionary_VR(tag) if not (g % 2) else None
            except KeyError:
                vr = None
            is_sq = vr == "SQ" or (ln == 0xFFFFFFFF and tag not in PIXEL_TAGS)
            hdr = 8
        else:
            vrb = buf[pos + 4:pos + 6]
            if vrb in _VR_LONG:
                if pos + 12 > end:
                    raise _Trunc("truncated element header at offset %d" % pos)
                ln = struct.unpack(en + "I", buf[pos + 8:pos + 12])[0]
                hdr = 12
            else:
                ln = struct.unpack(en + "H", buf[pos + 6:pos + 8])[0]
                hdr = 8
            is_sq = vrb == b"SQ" or (vrb == b"UN" and ln == 0xFFFFFFFF)
        w.n_elements += 1
        pos += hdr
        if top and tag == 0x7FE00010 or (top and tag in PIXEL_TAGS):
            w.pixel_present = True
            if ln == 0xFFFFFFFF:
                w.pixel_encapsulated = True
                total = 0
                while True:
                    if pos + 8 > end:
                        w.pixel_truncated = True
                        raise _Trunc("truncated pixel data")
                    ig, ie, il = struct.unpack("<HHI", buf[pos:pos + 8])
                    pos += 8
                    if (ig, ie) == (0xFFFE, 0xE0DD):
                        break
                    if (ig, ie) != (0xFFFE, 0xE000) or pos + il > end:
                        w.pixel_truncated = True
                        raise _Trunc("truncated pixel data")
                    total += il
                    pos += il
                w.pixel_len = total
                continue
            w.pixel_len = ln
            if pos + ln > end:
                w.pixel_truncated = True
                raise _Trunc("truncated pixel data")
            pos += ln
            continue
        if is_sq:
            sub_implicit = implicit or (not implicit and buf[pos - hdr + 4:pos - hdr + 6] == b"UN")
            sub_little = little if not sub_implicit or implicit else True
            if ln == 0xFFFFFFFF:
                pos = _walk_items(buf, pos, end, sub_implicit, sub_little, depth + 1, w, None)
            else:
                if pos + ln > end:
                    raise _Trunc("truncated sequence at offset %d" % pos)
                _walk_items(buf, pos, pos + ln, sub_implicit, sub_little, depth + 1, w, pos + ln)
                pos += ln
            continue
        if ln == 0xFFFFFFFF:
            raise _Trunc("undefined length on a non-sequence element at offset %d" % pos)
        if pos + ln > end:
            raise _Trunc("truncated value of (%04x,%04x) at offset %d" % (g, e, pos))
        pos += ln
    return pos


def _walk_items(buf, pos, end, implicit, little, depth, w, defined_end):
    en = "<" if little else ">"
    if depth > 32:
        raise _Trunc("nesting too deep")
    while True:
        if defined_end is not None and pos >= defined_end:
            return pos
        if pos + 8 > end:
            raise _Trunc("truncated sequence at offset %d" % pos)
        g, e, ln = struct.unpack(en + "HHI", buf[pos:pos + 8])
        pos += 8
        if (g, e) == (0xFFFE, 0xE0DD):
            return pos
        if (g, e) != (0xFFFE, 0xE000):
            raise _Trunc("bad item tag (%04x,%04x) at offset %d" % (g, e, pos - 8))
        if ln == 0xFFFFFFFF:
            pos = _walk_dataset(buf, pos, end, implicit, little, depth, w, False, True)
        else:
            if pos + ln > end:
                raise _Trunc("truncated item at offset %d" % pos)
            _walk_dataset(buf, pos, pos + ln, implicit, little, depth, w, False, False)
            pos += ln


def walk_file(path):
    w = Walk()
    try:
        with open(path, "rb") as fh:
            buf = fh.read()
    except OSError as ex:
        w.ok = False
        w.reason = "cannot read: %s" % ex
        return w
    pos = 0
    if len(buf) >= 132 and buf[128:132] == b"DICM":
        w.has_dicm = True
        pos = 132
    elif len(buf) >= 8:
        g_le = struct.unpack("<H", buf[0:2])[0]
        g_be = struct.unpack(">H", buf[0:2])[0]
        w.first_group_ok = g_le in (0x0002, 0x0008) or g_be == 0x0008
    if not w.has_dicm and not w.first_group_ok:
        w.ok = False
        w.reason = "not DICOM"
        return w
    # meta group (explicit LE)
    ts = None
    try:
        while pos + 8 <= len(buf):
            g, e = struct.unpack("<HH", buf[pos:pos + 4])
            if g != 0x0002:
                break
            vrb = buf[pos + 4:pos + 6]
            if vrb in _VR_LONG:
                ln = struct.unpack("<I", buf[pos + 8:pos + 12])[0]
                hdr = 12
            else:
                ln = struct.unpack("<H", buf[pos + 6:pos + 8])[0]
                hdr = 8
            if pos + hdr + ln > len(buf):
                raise _Trunc("truncated file meta")
            val = buf[pos + hdr:pos + hdr + ln]
            if e == 0x0010:
                ts = val.rstrip(b"\0 ").decode("ascii", "replace")
            elif e == 0x0003:
                w.meta_sop = val.rstrip(b"\0 ").decode("ascii", "replace")
            elif e == 0x0002:
                w.media_class = val.rstrip(b"\0 ").decode("ascii", "replace")
            pos += hdr + ln
        w.meta_ok = True
        if pos + 4 > len(buf) and w.has_dicm and pos < len(buf):
            raise _Trunc("truncated dataset")
        implicit, little = False, True
        body, bpos, bend = buf, pos, len(buf)
        if ts is None:
            # detect: explicit VR has two upper-case letters after the tag
            if bpos + 6 <= len(buf) and buf[bpos + 4:bpos + 6] in _VALID_VRS:
                implicit = False
                little = struct.unpack("<H", buf[bpos:bpos + 2])[0] in (0x0008, 0x0002)
            else:
                implicit = True
        elif ts == TS_IMPLICIT:
            implicit = True
        elif ts == TS_BIG:
            little = False
        elif ts == TS_DEFLATED:
            try:
                body = zlib.decompressobj(-15).decompress(buf[pos:])
            except zlib.error as ex:
                raise _Trunc("bad deflate stream: %s" % ex)
            bpos, bend = 0, len(body)
        w.ts = ts
        if not implicit and bpos + 6 <= bend and body[bpos + 4:bpos + 6] not in _VALID_VRS:
            implicit = True          # explicit VR announced, implicit written (pydicom copes)
            w.vr_mismatch = True
        _walk_dataset(body, bpos, bend, implicit, little, 0, w, True, False)
    except _Trunc as ex:
        w.ok = False
        w.reason = str(ex)
    except struct.error as ex:
        w.ok = False
        w.reason = "truncated: %s" % ex
    return w


# ------------------------------------------------------------- file records

class FileRec:
    """What the oracle knows about one file."""

    def __init__(self, path, scope_path, name):
        self.path = path
        self.scope = scope_path
        self.name = name
        self.kind = None           # dicom | not_dicom | dicomdir | bad | maybe
        self.reason = ""
        self.ds = None
        self.walk = None
        self.sop = None
        self.series = None
        self.study = None
        self.modality = None
        self.ts = None
        self.rows = self.cols = None
        self.samples = 1
        self.bits_alloc = self.bits_stored = None
        self.pixel_rep = 0
        self.photometric = None
        self.frames = 1
        self.multiframe = False
        self.ipp = None
        self.iop = None
        self.instance = None
        self.acq = None
        self.temporal = None
        self.slope = None
        self.intercept = None
        self.spacing = None
        self.has_pixels = False
        self.pixel_kind = "int"
        self.frame_ipps = None      # per-frame positions (functional groups), all present
        self.frame_ipp_list = None  # per-frame positions, None where missing
        self.frame_iops = None      # per-frame orientation (per-frame, shared or top level)
        self.frame_temporal = None  # per-frame TemporalPositionIndex (None where missing)
        self.frame_slopes = None    # per-frame rescale (per-frame, shared or top level)
        self.frame_intercepts = None
        self.palette = None         # (descriptors, tables) by pydicom, or ("error", why)
        self.truncated_pixels = False
        self.short_pixels = False
        self.odd = []               # header oddities: the outcome is open ("either")

    def __repr__(self):
        return "FileRec(%s)" % self.path


def _num(v, cast=float):
    try:
        if v is None or v == "":
            return None
        return cast(v)
    except (TypeError, ValueError):
        return None


def _nums(v, n, cast=float):
    try:
        if v is None:
            return None
        vals = list(v) if isinstance(v, (list, MultiValue, tuple)) else [v]
        if len(vals) != n:
            return None
        return [cast(x) for x in vals]
    except (TypeError, ValueError):
        return None


def analyse_file(path, scope_path, name):
    r = FileRec(path, scope_path, name)
    w = walk_file(path)
    r.walk = w
    if not w.has_dicm and not w.first_group_ok:
        r.kind = "not_dicom"
        return r
    if w.meta_ok and w.media_class == MEDIA_DIRECTORY:
        # the file meta says Media Storage Directory: a DICOMDIR, skipped (SPEC 3)
        # whatever its records look like (corrupt ones too, e.g. an item longer
        # than the file)
        r.kind = "dicomdir"
        r.reason = w.reason
        return r
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception as ex:  # noqa: BLE001 - any pydicom failure
        if w.has_dicm:
            r.kind = "bad"
            r.reason = "pydicom: %s" % ex
        else:
            r.kind = "not_dicom"
        return r
    media = w.media_class or str(getattr(getattr(ds, "file_meta", None),
                                         "MediaStorageSOPClassUID", "") or "")
    if media == MEDIA_DIRECTORY or "DirectoryRecordSequence" in ds:
        # a DICOMDIR is skipped (SPEC 3); one recognised only by its records (no
        # Media Storage SOP Class in a sound file meta) whose records are corrupt
        # (an item longer than the file) may also be reported unreadable: either is fine
        r.kind = "dicomdir" if w.ok else "dicomdir_bad"
        r.reason = w.reason
        return r
    if not w.ok and not w.pixel_truncated:
        r.kind = "bad" if w.has_dicm else "maybe"
        r.reason = w.reason
        r.sop = w.meta_sop
        return r
    if not w.has_dicm and len(ds) == 0:
        r.kind = "not_dicom"
        return r
    r.kind = "dicom" if w.has_dicm else "maybe_ok"
    r.ds = ds
    r.truncated_pixels = w.pixel_truncated
    g = ds.get
    r.sop = str(g("SOPInstanceUID", "") or "") or None
    r.series = str(g("SeriesInstanceUID", "") or "") or None
    r.study = str(g("StudyInstanceUID", "") or "") or None
    r.modality = str(g("Modality", "") or "") or None
    fm = getattr(ds, "file_meta", None)
    r.ts = str(getattr(fm, "TransferSyntaxUID", "") or "") or w.ts
    if r.ts is None:
        r.ts = TS_IMPLICIT if ds.is_implicit_VR else (TS_EXPLICIT if ds.is_little_endian else TS_BIG)
    r.rows = _num(g("Rows"), int)
    r.cols = _num(g("Columns"), int)
    r.samples = _num(g("SamplesPerPixel"), int) or 1
    r.bits_alloc = _num(g("BitsAllocated"), int)
    r.bits_stored = _num(g("BitsStored"), int)
    r.pixel_rep = _num(g("PixelRepresentation"), int) or 0
    r.photometric = str(g("PhotometricInterpretation", "") or "").strip() or None
    for kw in ("NumberOfFrames", "Rows", "Columns", "BitsAllocated", "BitsStored",
               "SamplesPerPixel", "PixelRepresentation"):
        if kw in ds:
            try:
                v = ds[kw].value
                if v not in (None, "") and _num(v, int) is None:
                    r.odd.append("%s %r" % (kw, v))
            except Exception as ex:  # noqa: BLE001
                r.odd.append("%s: %s" % (kw, ex))
    if w.vr_mismatch:
        r.odd.append("implicit VR dataset under an explicit VR transfer syntax")
    nf = _num(g("NumberOfFrames"), int)
    r.multiframe = nf is not None and nf > 1
    r.frames = nf if nf and nf > 0 else 1
    r.ipp = _nums(g("ImagePositionPatient"), 3)
    r.iop = _nums(g("ImageOrientationPatient"), 6)
    r.instance = _num(g("InstanceNumber"), int)
    r.acq = _num(g("AcquisitionNumber"), int)
    r.temporal = _num(g("TemporalPositionIdentifier"), int)
    r.slope = _num(g("RescaleSlope"))
    r.intercept = _num(g("RescaleIntercept"))
    r.spacing = _nums(g("PixelSpacing"), 2)
    r.has_pixels = any(t in ds for t in PIXEL_TAGS)
    if 0x7FE00008 in ds:
        r.pixel_kind = "float"
    elif 0x7FE00009 in ds:
        r.pixel_kind = "double"
    # enhanced multi-frame: functional groups (per-frame values over shared ones;
    # top-level values for the file as a whole)
    try:
        _functional_groups(ds, r)
    except Exception:  # noqa: BLE001 - odd functional groups: no per-frame geometry
        r.frame_ipps = r.frame_iops = r.frame_temporal = r.frame_slopes = None
    if "RedPaletteColorLookupTableDescriptor" in ds:
        r.palette = palette_of(ds)
    # expected native length check (element complete but too short)
    if r.has_pixels and r.ts in NATIVE_TS and w.pixel_len is not None and r.rows and r.cols \
            and r.bits_alloc:
        spp = r.samples
        if (r.photometric or "").upper() in ("YBR_FULL_422", "YBR_PARTIAL_422") and spp == 3:
            spp = 2          # 4:2:2 subsampled: Y Y Cb Cr per two pixels
        need_bits = r.rows * r.cols * spp * r.frames * r.bits_alloc
        if w.pixel_len * 8 < need_bits:
            r.short_pixels = True
    return r


PALETTE_DESC = ("RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
                "BluePaletteColorLookupTableDescriptor")


def palette_of(ds):
    """The palette as pydicom reads it: the three descriptors and the three
    tables (apply_color_lut over every entry from the first mapped value:
    segmented tables expanded by pydicom), in pydicom's dtype; ("error", why)
    when pydicom cannot apply it."""
    from pydicom.pixel_data_handlers.util import apply_color_lut
    try:
        descs = [[int(x) for x in ds[kw].value] for kw in PALETTE_DESC]
        n = descs[0][0] or 65536
        first = descs[0][1]
        out = apply_color_lut(np.arange(first, first + n, dtype=np.int64), ds)
        return descs, [np.asarray(out[:, c]) for c in range(3)]
    except Exception as ex:  # noqa: BLE001
        return ("error", str(ex))


def palettes_equal(a, b):
    if a is None or b is None:
        return a is b
    if a[0] == "error" or b[0] == "error":
        return a == b
    return a[0] == b[0] and all(x.dtype == y.dtype and np.array_equal(x, y)
                                for x, y in zip(a[1], b[1]))


def _fg_value(item, seq, kw, n=None, cast=float):
    if item is None or seq not in item or not len(item[seq].value):
        return None
    v = item[seq].value[0].get(kw)
    return _nums(v, n, cast) if n else _num(v, cast)


def _functional_groups(ds, r):
    """Shared and Per-frame Functional Groups -> FileRec fields (PS3.3 C.7.6.16)."""
    sh = ds.get("SharedFunctionalGroupsSequence")
    pf = ds.get("PerFrameFunctionalGroupsSequence")
    s0 = sh[0] if sh is not None and len(sh) else None
    if s0 is not None:
        if r.iop is None:
            r.iop = _fg_value(s0, "PlaneOrientationSequence", "ImageOrientationPatient", 6)
        if r.spacing is None:
            r.spacing = _fg_value(s0, "PixelMeasuresSequence", "PixelSpacing", 2)
        if r.slope is None and r.intercept is None:
            r.slope = _fg_value(s0, "PixelValueTransformationSequence", "RescaleSlope")
            r.intercept = _fg_value(s0, "PixelValueTransformationSequence", "RescaleIntercept")
    if pf is None or len(pf) != r.frames:
        return
    top_iop = _nums(ds.get("ImageOrientationPatient"), 6)
    top_slope, top_icpt = _num(ds.get("RescaleSlope")), _num(ds.get("RescaleIntercept"))
    sh_iop = _fg_value(s0, "PlaneOrientationSequence", "ImageOrientationPatient", 6)
    sh_ipp = _fg_value(s0, "PlanePositionSequence", "ImagePositionPatient", 3)
    sh_slope = _fg_value(s0, "PixelValueTransformationSequence", "RescaleSlope")
    sh_icpt = _fg_value(s0, "PixelValueTransformationSequence", "RescaleIntercept")
    ipps, iops, temps, slopes, icpts = [], [], [], [], []
    for it in pf:
        ipps.append(_fg_value(it, "PlanePositionSequence", "ImagePositionPatient", 3) or sh_ipp)
        iops.append(_fg_value(it, "PlaneOrientationSequence", "ImageOrientationPatient", 6)
                    or sh_iop or top_iop)
        temps.append(_fg_value(it, "FrameContentSequence", "TemporalPositionIndex", cast=int))
        if it is not None and "PixelValueTransformationSequence" in it:
            slopes.append(_fg_value(it, "PixelValueTransformationSequence", "RescaleSlope"))
            icpts.append(_fg_value(it, "PixelValueTransformationSequence", "RescaleIntercept"))
        elif sh_slope is not None or sh_icpt is not None:
            slopes.append(sh_slope)
            icpts.append(sh_icpt)
        else:
            slopes.append(top_slope)
            icpts.append(top_icpt)
    r.frame_ipp_list = ipps
    if all(p is not None for p in ipps):
        r.frame_ipps = ipps
    if r.frames == 1:
        # a single-frame enhanced file: its one frame's values are the file's
        r.ipp = r.ipp or ipps[0]
        if r.slope is None and r.intercept is None:
            r.slope, r.intercept = slopes[0], icpts[0]
    r.frame_iops = iops
    r.frame_temporal = temps
    r.frame_slopes, r.frame_intercepts = slopes, icpts
    if r.iop is None:
        r.iop = next((x for x in iops if x is not None), None)


def frame_rescale(r, fr):
    """(slope, intercept) of frame fr: per-frame functional groups, else the file's"""
    if r.frame_slopes is not None and fr < len(r.frame_slopes):
        sl, ic = r.frame_slopes[fr], r.frame_intercepts[fr]
    else:
        sl, ic = r.slope, r.intercept
    return (sl if sl is not None else 1.0), (ic if ic is not None else 0.0)


def mf_orientation_classes(r):
    """The frames of a multi-frame file grouped by orientation (1e-4), groups in
    the order of their first frame; one group when they agree or when there are
    more than 16 (radial acquisitions: not split)."""
    iops = r.frame_iops or [r.iop] * r.frames
    reps, groups = [], []
    for k, io in enumerate(iops):
        for g, rep in enumerate(reps):
            if (io is None) == (rep is None) and (io is None or max(
                    abs(a - b) for a, b in zip(io, rep)) <= 1e-4):
                groups[g].append(k)
                break
        else:
            reps.append(io)
            groups.append([k])
    if len(groups) > 16:
        return [list(range(r.frames))]
    return groups


# ----------------------------------------------------------- CSV flattening

def _fmt_scalar(v):
    if isinstance(v, BaseTag):
        return "(%04x, %04x)" % (v.group, v.elem)
    if isinstance(v, bytes):
        return v.decode("latin-1")
    if v is None:
        return ""
    return str(v)


def element_value(elem):
    """Expected CSV text (or FloatVal / Uncertain) of one non-SQ element."""
    vr = elem.VR
    try:
        if vr in BULK_VRS:
            v = elem.value
            n = len(v) if v is not None else 0
            if hasattr(elem, "length") and isinstance(v, (bytes, bytearray)):
                n = len(v)
            if n == 0:
                return AnyOf(["<binary 0 bytes>", ""])
            return "<binary %d bytes>" % n
        v = elem.value
        if vr in FLOAT_VRS:
            vals = list(v) if isinstance(v, (MultiValue, list, tuple)) else ([] if v is None else [v])
            return FloatVal(FLOAT_VRS[vr], vals)
        if vr == "AT":
            vals = list(v) if isinstance(v, (MultiValue, list, tuple)) else ([] if v is None else [v])
            return "\\".join("(%04x, %04x)" % (BaseTag(x).group, BaseTag(x).elem) for x in vals)
        if isinstance(v, (MultiValue, list, tuple)):
            return "\\".join(_fmt_scalar(x) for x in v)
        if isinstance(v, bytes):
            return Uncertain("undecoded bytes for VR %s" % vr)
        return _fmt_scalar(v)
    except Exception as ex:  # noqa: BLE001
        return Uncertain("pydicom could not convert: %s" % ex)


_NAME_TAGS = None


def _name_tags():
    """name or keyword -> lowest tag: pydicom's names (and repeating-group
    masks with x = 0), then dcmtk's keywords (without RETIRED_) and pydicom's."""
    global _NAME_TAGS
    if _NAME_TAGS is None:
        from pydicom._dicom_dict import DicomDictionary, RepeatersDictionary
        names, kws = {}, {}
        for tag in sorted(DicomDictionary):
            names.setdefault(DicomDictionary[tag][2], tag)
        for mask, e in RepeatersDictionary.items():
            names.setdefault(e[2], int(mask.replace("x", "0"), 16))
        for tag in sorted(dcmtk_public()):
            kws.setdefault(dcmtk_public()[tag], tag)
            kws.setdefault(re.sub(r"^RETIRED_", "", dcmtk_public()[tag]), tag)
        names.pop("", None)
        _NAME_TAGS = (names, kws)
    return _NAME_TAGS


def column_sort_key(name):
    """The tag path a column name gives (SPEC 4 order, README): each sequence
    name of the prefix by its lowest tag (names first, then keywords), a
    bracketed private name running to its "]_", 0xFFFFFFFF for names that
    give no tag; the leaf tag from the parentheses."""
    names, kws = _name_tags()
    m = re.search(r" ?\(([0-9a-f]{4}), ([0-9a-f]{4})\)$", name)
    if not m:
        return (0xFFFFFFFF,)
    body = name[:m.start()]
    path = []
    while True:
        if body.startswith("["):
            i = body.find("]_")
            i = i + 1 if i >= 0 else -1
        else:
            i = body.find("_")
        if i < 0:
            break
        comp, body = body[:i], body[i + 1:]
        path.append(names.get(comp, kws.get(comp, 0xFFFFFFFF)) if comp else 0xFFFFFFFF)
    return tuple(path) + (int(m.group(1), 16) << 16 | int(m.group(2), 16),)


class Column:
    def __init__(self, path, names):
        self.path = tuple(path)          # numeric tags, outermost first
        self.names = [list(n) for n in names]   # acceptable names per level
        self.name = "_".join(n[0] for n in self.names) + " (%04x, %04x)" % (
            self.path[-1] >> 16, self.path[-1] & 0xFFFF)
        pat = "_".join("(?:%s)" % "|".join(
            "(?i:%s)" % re.escape(x) if isinstance(x, CaseFree) else re.escape(x) for x in n)
            for n in self.names)
        self._re = re.compile("^%s \\(%04x, %04x\\)$" % (pat, self.path[-1] >> 16,
                                                          self.path[-1] & 0xFFFF))

    def accepts(self, name):
        return bool(self._re.match(name))


def parse_column_path(name):
    """Tag of the last element in a column name, or None."""
    m = re.search(r"\(([0-9a-f]{4}), ([0-9a-f]{4})\)$", name)
    return (int(m.group(1), 16) << 16 | int(m.group(2), 16)) if m else None


def seed_element_value(elem):
    """csv_style seed: what the old crawler wrote, str(elem.value), except
    bulk binary (SPEC 4) and NUL characters (dropped: a NUL would make the
    CSV look torn)."""
    if elem.VR in BULK_VRS:
        return element_value(elem)
    try:
        return str(elem.value).replace("\x00", "")
    except Exception as ex:  # noqa: BLE001
        return Uncertain("pydicom could not convert: %s" % ex)


def flatten(ds, style="seed"):
    """One file -> ordered dict name -> (Column, value).  DUPLICATE TAGS when a
    column is met more than once (SPEC 4)."""
    out = {}
    seed = style == "seed"

    def visit(d, pfx_tags, pfx_names):
        for elem in d:
            tag = int(elem.tag)
            if tag in PIXEL_TAGS:
                continue
            if (tag >> 16) == 0x0002 and not pfx_tags:
                continue
            creator = None
            g, e = tag >> 16, tag & 0xFFFF
            if g % 2 == 1 and e >= 0x1000:
                c = d.get((g << 16) | (e >> 8))
                if c is not None:
                    try:
                        creator = str(c.value)
                    except Exception:  # noqa: BLE001
                        creator = None
            names = [elem.name] if seed else tag_names(tag, creator)
            if elem.VR == "SQ":
                try:
                    items = list(elem.value or [])
                except Exception:  # noqa: BLE001
                    items = []
                for it in items:
                    visit(it, pfx_tags + (tag,), pfx_names + (names,))
                continue
            col = Column(pfx_tags + (tag,), pfx_names + (names,))
            val = seed_element_value(elem) if seed else element_value(elem)
            if col.name in out:
                c0, old = out[col.name]
                if isinstance(old, Uncertain) or isinstance(val, Uncertain):
                    out[col.name] = (c0, Uncertain("duplicate with undecidable part"))
                    continue
                old_s = old if isinstance(old, (str, DupVal)) else DupPart(old)
                out[col.name] = (c0, DupVal.join(old_s, val))
            else:
                out[col.name] = (col, val)

    visit(ds, (), ())
    # finalize DupVal objects
    return out


class DupPart:
    def __init__(self, v):
        self.v = v


class DupVal:
    """DUPLICATE TAGS IN DICOM:v1/v2/...  (parts may be FloatVal)."""
    PREFIX = "DUPLICATE TAGS IN DICOM:"

    def __init__(self, parts):
        self.parts = parts

    @staticmethod
    def join(old, new):
        if isinstance(old, DupVal):
            return DupVal(old.parts + [new])
        if isinstance(old, DupPart):
            return DupVal([old.v, new])
        return DupVal([old, new])

    def matches(self, text):
        if all(isinstance(p, str) for p in self.parts):
            return text == str(self)
        if not text.startswith(self.PREFIX):
            return False
        rest = text[len(self.PREFIX):].split("/")
        if len(rest) != len(self.parts):
            return False
        for p, t in zip(self.parts, rest):
            if isinstance(p, (FloatVal, AnyOf)):
                if not p.matches(t):
                    return False
            elif p != t:
                return False
        return True

    def __str__(self):
        return self.PREFIX + "/".join(str(p) if not isinstance(p, FloatVal) else repr(p)
                                      for p in self.parts)

    __repr__ = __str__


class AnyOf:
    """Several texts the SPEC allows (e.g. an empty binary element)."""

    def __init__(self, options):
        self.options = list(options)

    def matches(self, text):
        return text in self.options

    def __str__(self):
        return " or ".join(repr(o) for o in self.options)

    __repr__ = __str__


def value_matches(expected, got):
    if isinstance(expected, Uncertain):
        return True
    if isinstance(expected, AnyOf):
        return expected.matches(got)
    if isinstance(expected, (FloatVal, DupVal)):
        return expected.matches(got)
    return expected == got


def value_text(expected):
    if isinstance(expected, Uncertain):
        return repr(expected)
    return str(expected) if not isinstance(expected, FloatVal) else repr(expected)


# ------------------------------------------------------------ pixel decoding

_HANDLER_SETS = None


def _handler_sets():
    """Decoder sets to try: gdcm first, then pillow (lossy cross-check)."""
    global _HANDLER_SETS
    if _HANDLER_SETS is None:
        from pydicom.pixel_data_handlers import numpy_handler, rle_handler
        sets = []
        try:
            from pydicom.pixel_data_handlers import gdcm_handler
            if gdcm_handler.is_available():
                sets.append(("gdcm", [numpy_handler, rle_handler, gdcm_handler]))
        except ImportError:
            pass
        try:
            from pydicom.pixel_data_handlers import pillow_handler
            if pillow_handler.is_available():
                sets.append(("pillow", [numpy_handler, rle_handler, pillow_handler]))
        except ImportError:
            pass
        if not sets:
            sets.append(("numpy", [numpy_handler, rle_handler]))
        _HANDLER_SETS = sets
    return _HANDLER_SETS


def _sign_extend(arr, bits_stored):
    a = arr.astype(np.int64) & ((1 << bits_stored) - 1)
    return np.where(a >= (1 << (bits_stored - 1)), a - (1 << bits_stored), a)


class _Quiet:
    """Silence C++ decoders (gdcm, openjpeg) that print to the process's fds."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = [os.dup(1), os.dup(2)]
        self.null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self.null, 1)
        os.dup2(self.null, 2)
        return self

    def __exit__(self, *exc):
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        for fd in self.saved + [self.null]:
            os.close(fd)
        return False


def decode_file(rec, all_decoders=False):
    with _Quiet():
        return _decode_file(rec, all_decoders)


HTJ2K_TS = {"1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}


def _leading_int(v):
    m = re.match(r"\s*([+-]?\d+)", str(v))
    return int(m.group(1)) if m else None


def _read_for_pixels(path):
    """pydicom dataset ready for pixel_array: a NumberOfFrames pydicom cannot
    format (e.g. "1A") is read as its leading integer, as a lenient reader does."""
    ds = pydicom.dcmread(path, force=True)
    if "NumberOfFrames" in ds:
        try:
            int(ds.NumberOfFrames)
        except (TypeError, ValueError):
            n = _leading_int(ds["NumberOfFrames"].value)
            if n is not None:
                ds.NumberOfFrames = n
    return ds


def _frames_of(ds):
    from pydicom.encaps import generate_pixel_data_frame
    nf = int(ds.get("NumberOfFrames", 1) or 1)
    return list(generate_pixel_data_frame(ds.PixelData, nf))


def _j2k_codestreams(ds):
    """Frames of a JPEG 2000 file with any JP2 wrapper stripped (Pillow reads
    the bare codestream only); None when no frame is wrapped."""
    frames = _frames_of(ds)
    out, changed = [], False
    for f in frames:
        k = f.find(b"\xff\x4f\xff\x51")
        if k < 0:
            return None
        if k > 0:
            changed = True
        out.append(f[k:])
    return out if changed else None


def _decode_htj2k(rec):
    """HTJ2K frames decoded by OpenJPH's ojph_expand (independent of the
    OpenJPEG that dcmcrawl uses).  ojph_expand clips signed output at 0, so a
    signed codestream is decoded as unsigned (sign bits of SIZ cleared: the
    decoder then adds the DC level shift 2^(bits-1)) and the shift subtracted."""
    import shutil as _sh
    import subprocess
    import tempfile
    if not _sh.which("ojph_expand"):
        raise RuntimeError("ojph_expand not installed")
    ds = pydicom.dcmread(rec.path, force=True)
    rows, cols, spp = int(ds.Rows), int(ds.Columns), int(ds.get("SamplesPerPixel", 1) or 1)
    out = []
    tmp = tempfile.mkdtemp(prefix="oracle_ojph_")
    try:
        for i, f in enumerate(_frames_of(ds)):
            k = f.find(b"\xff\x4f\xff\x51")
            if k < 0:
                raise RuntimeError("frame %d: no JPEG 2000 codestream" % i)
            b = bytearray(f[k:])
            ncomp = struct.unpack(">H", bytes(b[40:42]))[0]
            ssiz = [b[42 + 3 * c] for c in range(ncomp)]
            signed = [bool(x & 0x80) for x in ssiz]
            prec = [(x & 0x7F) + 1 for x in ssiz]
            for c in range(ncomp):
                b[42 + 3 * c] &= 0x7F
            j2c = os.path.join(tmp, "f.j2c")
            with open(j2c, "wb") as fh:
                fh.write(bytes(b))
            dst = os.path.join(tmp, "f." + ("ppm" if ncomp == 3 else "yuv"))
            r = subprocess.run(["ojph_expand", "-i", j2c, "-o", dst], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            if r.returncode != 0 or not os.path.exists(dst):
                raise RuntimeError("ojph_expand failed: %s" % r.stdout.decode(errors="replace")[-200:])
            if ncomp == 3:
                raw = open(dst, "rb").read()
                parts = raw.split(b"\n", 3)     # P6, dims, maxval, data
                maxval = int(parts[2])
                a = np.frombuffer(parts[3], dtype=">u2" if maxval > 255 else "u1")
                a = a.reshape(rows, cols, 3).astype(np.int64)
            else:
                a = np.fromfile(dst, dtype="<u2" if prec[0] > 8 else "u1")
                a = a.reshape(rows, cols).astype(np.int64)
            if signed[0]:
                a = a - (1 << (prec[0] - 1))
            out.append(a)
            os.remove(dst)
    finally:
        _sh.rmtree(tmp, ignore_errors=True)
    a = np.stack(out)
    dt = expected_dtype(rec, False)
    if spp == 1 and a.ndim == 4:
        a = a[..., 0]
    return a.astype(dt)


def _decode_file(rec, all_decoders=False):
    """Decoded frames of a file as a list of candidate arrays (one per decoder
    that succeeded), each shaped (frames, rows, cols[, 3]) in the SPEC's stored
    values.  Raises on failure of every decoder."""
    from pydicom.pixel_data_handlers.util import convert_color_space
    errors = []
    cands = []
    if rec.ts in HTJ2K_TS:
        # pydicom 2.3 and GDCM 3.0 do not know HTJ2K: OpenJPH is the reference
        try:
            a = _decode_htj2k(rec)
        except Exception as ex:  # noqa: BLE001
            raise RuntimeError("openjph: %s" % ex)
        if rec.samples > 1 and a.ndim == 3:
            a = a[None]
        return [("openjph", a)]
    for label, handlers in _handler_sets():
        old = pydicom.config.pixel_data_handlers
        try:
            pydicom.config.pixel_data_handlers = handlers
            ds = _read_for_pixels(rec.path)
            try:
                a = ds.pixel_array
            except Exception:  # noqa: BLE001
                # Pillow reads bare codestreams only: strip a JP2 wrapper and retry
                streams = _j2k_codestreams(ds) if label == "pillow" and rec.ts in J2K_TS else None
                if streams is None:
                    raise
                from pydicom.encaps import encapsulate
                ds = _read_for_pixels(rec.path)
                ds.PixelData = encapsulate(streams)
                label = "pillow (JP2 wrapper stripped)"
                a = ds.pixel_array
        except Exception as ex:  # noqa: BLE001
            errors.append("%s: %s" % (label, ex))
            continue
        finally:
            pydicom.config.pixel_data_handlers = old
        a = np.asarray(a)
        if rec.ts not in NATIVE_TS and rec.ts != "1.2.840.10008.1.2.5":
            # a decoder that returns garbage (uninitialised memory) is not a reference
            try:
                pydicom.config.pixel_data_handlers = handlers
                ds2 = _read_for_pixels(rec.path)
                if label.startswith("pillow (JP2"):
                    from pydicom.encaps import encapsulate
                    ds2.PixelData = encapsulate(_j2k_codestreams(ds2))
                again = np.asarray(ds2.pixel_array)
            except Exception as ex:  # noqa: BLE001
                again = None
            finally:
                pydicom.config.pixel_data_handlers = old
            if again is None or again.shape != a.shape or not np.array_equal(again, a):
                errors.append("%s: unstable output" % label)
                continue
        if rec.samples > 1:
            if a.ndim == 3:
                a = a[None]
        else:
            if a.ndim == 2:
                a = a[None]
        narrow = rec.pixel_kind == "int" and rec.bits_stored and rec.bits_alloc and \
            rec.bits_stored < rec.bits_alloc
        if narrow and not rec.pixel_rep:
            a = a & np.asarray((1 << rec.bits_stored) - 1).astype(a.dtype)
        pi = (rec.photometric or "").upper()
        if pi in ("YBR_FULL", "YBR_FULL_422"):
            a = convert_color_space(a, "YBR_FULL", "RGB", per_frame=True)
        if narrow and rec.pixel_rep == 1:
            a = _sign_extend(a, rec.bits_stored)
        cands.append((label, a))
        if not all_decoders and rec.ts not in LOSSY_TS:
            break
    if not cands:
        raise RuntimeError("; ".join(errors))
    if rec.ts in J2K_TS and len(_handler_sets()) > 1 and len(cands) < 2:
        raise RuntimeError("JPEG 2000 decoded by %s only (%s): no trusted reference" % (
            cands[0][0], "; ".join(errors)))
    return cands


def expected_dtype(rec, rescale):
    if rec.pixel_kind == "double":
        # rescale applies to integer stored values; float64 pixel data stay float64
        # (SPEC 4 read so that no precision is lost)
        return np.dtype(np.float64)
    if rescale:
        return np.dtype(np.float32)
    if rec.pixel_kind == "float":
        return np.dtype(np.float32)
    if rec.pixel_kind == "double":
        return np.dtype(np.float64)
    ba = rec.bits_alloc or 8
    signed = rec.pixel_rep == 1
    if ba <= 8:
        return np.dtype(np.int8 if signed else np.uint8)
    if ba <= 16:
        return np.dtype(np.int16 if signed else np.uint16)
    return np.dtype(np.int32 if signed else np.uint32)


def expected_scan_dtype(e, rescale):
    """A stack whose slices have different stored types (PixelRepresentation
    changing within a series) is stored in a type holding every value exactly:
    numpy's promotion, with int64 (mixed 32-bit) replaced by float64."""
    if rescale and all(r.pixel_kind != "double" for r in e.files):
        return np.dtype(np.float32)
    dts = {expected_dtype(r, rescale) for r in e.files if getattr(r, "has_pixels", True)}
    if len(dts) <= 1:
        return expected_dtype(e.first, False)
    dt = np.result_type(*dts)
    return np.dtype(np.float64) if dt == np.int64 else dt


def decoded_photometric(pi):
    p = (pi or "").upper()
    if p.startswith("YBR"):
        return "RGB"
    return pi


# -------------------------------------------------------------- expectations

class Expect:
    """One expected scan."""

    def __init__(self, scan_id, scope, files, mode):
        self.scan_id = scan_id
        self.alt_ids = [scan_id]
        self.scope = scope
        self.files = files            # FileRec list in stored order (distinct files)
        self.slices = []              # (FileRec, frame) in stored order
        self.mode = mode              # perfile | volume
        self.status = "stored"        # stored | unreadable | either | uncertain
        self.reasons = []             # substrings required when unreadable
        self.notes = []
        self.n_files = len(files)
        self.n_files_alt = set()
        self.shape = None             # zyx shape (before layout)
        self.nz = None
        self.nt = None
        self.rule = None              # position | instance | filename | None (any)
        self.positions = None         # n_positions x 3
        self.instances = None
        self.uniform = None
        self.warn_words = []
        self.warn_must_be_empty = False
        self.tolerance = 0
        self.duplicates = []
        self.match_by_file = False
        self.row_uncertain = False
        self.rule_alts = None         # several acceptable slice_order values
        self.alt_slices = []          # other acceptable slice orders
        self.frames_subset = None     # the frames of a multi-frame file split by orientation

    @property
    def first(self):
        return self.slices[0][0] if self.slices else (self.files[0] if self.files else None)

    def describe(self):
        return {
            "scan_id": self.scan_id, "status": self.status, "reasons": self.reasons,
            "n_files": self.n_files, "shape": self.shape, "rule": self.rule,
            "files": [os.path.basename(f.path) for f in self.files],
            "slices": [(os.path.basename(f.path), fr) for f, fr in self.slices],
            "warn": self.warn_words, "uniform": self.uniform, "notes": self.notes,
            "alt_ids": self.alt_ids, "tolerance": self.tolerance,
        }


class Options:
    def __init__(self, volumes=False, write_pixeldata=False, layout="zyx", slice_order="position",
                 split_inconsistent=True, rescale=False, recursive=False, csv_style="seed"):
        self.csv_style = csv_style
        self.volumes = volumes
        self.write_pixeldata = write_pixeldata
        self.layout = layout
        self.slice_order = slice_order
        self.split_inconsistent = split_inconsistent
        self.rescale = rescale
        self.recursive = recursive


class Oracle:
    def __init__(self, folders, opts, cwd=None):
        self.folders = list(folders)
        self.opts = opts
        self.cwd = cwd or os.getcwd()
        self.scans = {}           # scan_id -> Expect (stored / either / uncertain / unreadable)
        self.unreadable = []      # Expect objects with status unreadable (also in scans when ids known)
        self.skipped = []         # files that must not appear anywhere
        self.maybe_files = []     # files whose DICOM-ness is debatable
        self.scopes = []          # (scope path, is_input)
        self._files = {}
        self._build()

    # ---------------------------------------------------------- walking
    def _abs(self, p):
        return p if os.path.isabs(p) else os.path.join(self.cwd, p)

    def _scopes(self):
        out = []
        for f in self.folders:
            if not os.path.isdir(self._abs(f)):
                continue
            out.append((f, True))
            if self.opts.recursive:
                for dirpath, dirnames, _ in os.walk(self._abs(f)):
                    dirnames.sort()
                    for d in dirnames:
                        full = os.path.join(dirpath, d)
                        rel = os.path.relpath(full, self._abs(f))
                        out.append((f.rstrip("/") + "/" + rel, False))
        return out

    def _build(self):
        for scope, is_input in self._scopes():
            self.scopes.append((scope, is_input))
            d = self._abs(scope)
            # plain code-point order: "the first by file name" for duplicate SOPInstanceUIDs
            names = sorted(n for n in os.listdir(d) if os.path.isfile(os.path.join(d, n))
                           and not os.path.islink(os.path.join(d, n)))
            recs = []
            for n in names:
                r = analyse_file(os.path.join(d, n), scope, n)
                self._files[r.path] = r
                recs.append(r)
            dicoms = [r for r in recs if r.kind in ("dicom", "maybe_ok", "bad")]
            for r in recs:
                if r.kind in ("not_dicom", "dicomdir"):
                    self.skipped.append(r)
                elif r.kind == "dicomdir_bad":
                    e = Expect(scope_id(scope) + "_" + file_stem(r.name), scope, [r],
                               "volume" if self.opts.volumes else "perfile")
                    e.status = "uncertain"
                    e.prefix = e.scan_id
                    e.notes.append("DICOMDIR with corrupt records (%s): skipped or unreadable"
                                   % r.reason)
                    self.scans[e.scan_id] = e
                elif r.kind in ("maybe",):
                    self.maybe_files.append(r)
            if not dicoms and not [r for r in recs if r.kind == "maybe_ok"]:
                if is_input:
                    e = Expect(None, scope, [], "folder")
                    e.status = "unreadable"
                    e.reasons = ["no DICOM"]
                    e.match_by_file = False
                    e.folder_row = True
                    self.unreadable.append(e)
                continue
            if self.opts.volumes:
                self._volume_scope(scope, dicoms)
            else:
                self._perfile_scope(scope, dicoms)
        for e in list(self.scans.values()):
            if e.status == "unreadable" and e not in self.unreadable:
                self.unreadable.append(e)

    # ------------------------------------------------------- per-file mode
    def _perfile_scope(self, scope, recs):
        sid = scope_id(scope)
        base_count = {}
        for r in recs:       # recs are in natural name order
            if r.kind == "bad":
                e = Expect(sid + "_" + (r.sop or file_stem(r.name)), scope, [r], "perfile")
                e.alt_ids = [sid + "_" + file_stem(r.name)] + \
                    ([sid + "_" + r.walk.meta_sop] if r.walk and r.walk.meta_sop else [])
                e.status = "unreadable"
                e.reasons = ["truncat|invalid|bad|length|offset|pars|corrupt"]
                e.match_by_file = True
                self.unreadable.append(e)
                continue
            base = sid + "_" + (r.sop if r.sop else file_stem(r.name))
            k = base_count.get(base, 0) + 1
            base_count[base] = k
            scan_id = base if k == 1 else "%s_%d" % (base, k)
            e = Expect(scan_id, scope, [r], "perfile")
            e.slices = [(r, f) for f in range(r.frames)]
            if r.kind == "maybe_ok":
                e.notes.append("file without preamble: DICOM-ness debatable")
            self._pixel_status(e)
            if e.status in ("stored", "either"):
                shp = [r.rows, r.cols] + ([r.samples] if r.samples > 1 else [])
                if r.multiframe:
                    shp = [r.frames] + shp
                e.shape = shp
                e.rule = None
                e.positions = [r.ipp] if r.ipp else None
                e.instances = [r.instance]
            self.scans[scan_id] = e

    def _pixel_status(self, e):
        """Decide stored / unreadable / either for a scan from its files."""
        odd = [x for r in e.files for x in r.odd]
        if odd:
            e.status = "either"
            e.notes.append("odd header: " + "; ".join(odd))
            return
        if not self.opts.write_pixeldata:
            if any(r.truncated_pixels for r in e.files):
                e.status = "either"
                e.reasons = ["truncat"]
                e.notes.append("metadata mode, pixel data truncated: row or unreadable")
            elif any(r.kind == "maybe_ok" for r in e.files):
                e.status = "either"
            return
        if any(not r.has_pixels for r in e.files):
            if all(not r.has_pixels for r in e.files):
                e.status = "unreadable"
                e.reasons = ["no pixel data"]
            else:
                e.status = "either"
                e.notes.append("some files without pixel data")
            return
        for r in e.files:
            if r.truncated_pixels:
                e.status = "unreadable"
                e.reasons = ["truncat"]
                return
            if r.short_pixels:
                e.status = "unreadable"
                e.reasons = ["truncat|short|length|size|expected"]
                return
            if r.ts not in SUPPORTED_TS:
                if r.ts and r.ts.startswith(MAYBE_TS_PREFIX) and r.ts not in (
                        "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.101",
                        "1.2.840.10008.1.2.4.102", "1.2.840.10008.1.2.4.103"):
                    e.status = "either"
                    e.reasons = [r.ts]
                    e.notes.append("transfer syntax %s not required by SPEC 6" % r.ts)
                else:
                    e.status = "unreadable"
                    e.reasons = [r.ts or "transfer syntax"]
                return
            if r.kind == "maybe_ok":
                e.status = "either"
        # rows/cols sanity
        for r in e.files:
            if not r.rows or not r.cols or not r.bits_alloc:
                e.status = "either"
                e.notes.append("image pixel module incomplete")
                return

    # --------------------------------------------------------- volume mode
    def _volume_scope(self, scope, recs):
        sid = scope_id(scope)
        first_by_sop = {}
        dups = {}
        good = []
        for r in recs:
            if r.kind == "bad":
                e = Expect(sid + "_nouid", scope, [r], "volume")
                e.alt_ids = [sid + "_nouid", sid + "_" + file_stem(r.name)] + \
                    ([sid + "_" + r.walk.meta_sop] if r.walk and r.walk.meta_sop else [])
                e.status = "unreadable"
                e.reasons = ["truncat|invalid|bad|length|offset|pars|corrupt"]
                e.match_by_file = True
                self.unreadable.append(e)
                continue
            if r.sop and r.sop in first_by_sop:
                dups.setdefault(first_by_sop[r.sop].path, []).append(r)
                continue
            if r.sop:
                first_by_sop[r.sop] = r
            good.append(r)
        groups = {}
        for r in good:
            groups.setdefault(r.series or "nouid", []).append(r)
        for uid, files in groups.items():
            dup_files = [d for f in files for d in dups.get(f.path, [])]
            self._volume_group(scope, sid + "_" + uid, files, dup_files)

    def _split_keys(self, files):
        """Consistent stacks: Rows, Columns, samples, bits allocated, orientation (1e-4)."""
        stacks = []
        for r in files:
            placed = False
            for st in stacks:
                a = st[0]
                if (a.rows, a.cols, a.samples, a.bits_alloc) != (r.rows, r.cols, r.samples,
                                                                  r.bits_alloc):
                    continue
                if (a.iop is None) != (r.iop is None):
                    continue
                if a.iop is not None and max(abs(x - y) for x, y in zip(a.iop, r.iop)) > 1e-4:
                    continue
                st.append(r)
                placed = True
                break
            if not placed:
                stacks.append([r])
        return stacks

    def _volume_group(self, scope, base_id, files, dup_files):
        o = self.opts
        # Files without pixel data beside image files of the same series are
        # not stacked and not dropped: they form the scan <base>_nopixel
        # (a row in metadata mode, "no pixel data" when writing pixels).
        nopix = [r for r in files if not r.has_pixels]
        if nopix and len(nopix) < len(files):
            files = [r for r in files if r.has_pixels]
            e = Expect(base_id + "_nopixel", scope, nopix, "volume")
            e.n_files = len(nopix)
            e.slices = []
            self._pixel_status(e)
            self.scans[base_id + "_nopixel"] = e
        # SPEC 5: each multi-frame file is a volume of its own; one whose frames
        # have several orientations is split by orientation like a series (a
        # tri-planar localizer in one file), unreadable with split_inconsistent false
        single = [r for r in files if not r.multiframe]
        parts = []                        # (files, frames of a split multi-frame file or None)
        unreadable = []                   # (files, reason)
        for r in files:
            if not r.multiframe:
                continue
            groups = mf_orientation_classes(r)
            if len(groups) == 1:
                parts.append(([r], None))
            elif not o.split_inconsistent:
                unreadable.append(([r], "inconsistent orientation"))
            else:
                parts += [([r], g) for g in groups]
        stacks = self._split_keys(single) if len(single) > 1 else ([single] if single else [])
        if len(stacks) > 1 and not o.split_inconsistent:
            unreadable.append((single, "inconsistent"))
        else:
            parts += [(st, None) for st in stacks]
        big = 1 << 62

        def part_key(pt):
            fl, frs = pt
            inst = [r.instance for r in fl if r.instance is not None]
            return (0 if inst else 1, min(inst) if inst else 0, min(r.name for r in fl),
                    frs[0] if frs else 0)
        allp = [(pt, None) for pt in parts] + [((fl, None), why) for fl, why in unreadable]
        allp.sort(key=lambda x: part_key(x[0]))
        ids = ["%s_%d" % (base_id, k + 1) for k in range(len(allp))] if len(allp) > 1 else [base_id]
        for sid, ((fl, frs), why) in zip(ids, allp):
            if why is not None:
                e = Expect(sid, scope, list(fl), "volume")
                e.status = "unreadable" if o.write_pixeldata else "either"
                e.reasons = ["inconsistent"]
                e.notes.append("split_inconsistent false")
                self.scans[sid] = e
                continue
            st = fl
            st_dups = [d for d in dup_files if any(d.sop == r.sop for r in st)]
            e = Expect(sid, scope, list(st), "volume")
            e.frames_subset = frs
            e.duplicates = []
            if frs is not None:
                e.warn_words.append("split by orientation")
                if st_dups:               # named in the warnings of one of its parts: open
                    e.n_files_alt = {1 + len(st_dups)}
                    e.notes.append("duplicates of a split multi-frame file")
                    st_dups = []
            e.duplicates = st_dups
            e.n_files = len(st)
            if st_dups:
                e.n_files_alt = {len(st) + len(st_dups)}
                e.warn_words.append("duplicate")
                e.warn_must_be_empty = False
            if len({expected_dtype(r, False) for r in st if r.has_pixels}) > 1 \
                    and not o.rescale:
                e.warn_words.append("PixelRepresentation")
            self._pixel_status(e)
            self._stack(e)
            if any(not palettes_equal(r.palette, st[0].palette) for r in st):
                e.warn_words.append("palette")
                e.warn_must_be_empty = False
            self.scans[sid] = e

    def _stack(self, e):
        """SPEC 5: order slices, 4D, geometry."""
        o = self.opts
        files = e.files
        r0 = files[0]
        samples_axis = [r0.samples] if r0.samples > 1 else []
        if len(files) == 1 and r0.multiframe:
            self._stack_multiframe(e, r0, samples_axis)
            return
        if len(files) == 1:
            e.slices = [(r0, 0)]
            e.shape = [1, r0.rows, r0.cols] + samples_axis
            e.rule = None
            e.positions = [r0.ipp] if r0.ipp else None
            e.instances = [r0.instance]
            e.uniform = None
            self._geometry(e, [r0.ipp] if r0.ipp else None, r0.iop)
            return
        have_pos = all(r.ipp is not None and r.iop is not None for r in files)
        have_inst = all(r.instance is not None for r in files) and \
            len(set(r.instance for r in files)) == len(files)
        rule = o.slice_order
        order = None
        if rule == "position" and have_pos:
            order = self._order_position(e)
            if order is not None:
                return
            rule_used = "instance" if have_inst else "filename"
            e.notes.append("uneven repeats")
            e.warn_words.append("repeat|uneven")
            e.warn_words.append("duplicate slice position")   # never "fixed" silently
        elif rule == "position":
            rule_used = "instance" if have_inst else "filename"
            e.warn_words.append("*")       # a fallback: some warning, any words
        elif rule == "instance":
            rule_used = "instance" if have_inst else "filename"
            if not have_inst and e.status == "stored":
                e.status = "uncertain"
                e.notes.append("slice_order instance without InstanceNumbers: fallback open")
        else:
            rule_used = "filename"
        if rule_used == "position":
            if self._order_position(e) is None:
                e.status = "uncertain"
            return
        all_inst = all(r.instance is not None for r in files)
        if rule_used == "instance":
            order = sorted(files, key=lambda r: (r.instance, r.name))
        else:
            order = sorted(files, key=lambda r: natural_key(r.name))
        e.rule = rule_used
        if rule_used == "filename" and all_inst and not have_inst:
            # InstanceNumbers present but repeated: ordering by them (ties by name) or by
            # file name are both readings of SPEC 5
            e.rule_alts = ["instance", "filename"]
            alts = [sorted(files, key=lambda r: (r.instance, r.name)),
                    sorted(files, key=lambda r: (r.instance, natural_key(r.name))),
                    sorted(files, key=lambda r: r.name)]
            e.alt_slices = [[(r, 0) for r in a] for a in alts if a != order]
            e.notes.append("repeated InstanceNumbers: instance or filename order")
        e.slices = [(r, 0) for r in order]
        e.shape = [len(order), r0.rows, r0.cols] + samples_axis
        e.instances = [r.instance for r in order]
        e.positions = None   # not checked when slices are not ordered by position
        # no geometry checks beyond in-plane spacing when slices are not ordered by position
        self._geometry(e, None, None)

    def _stack_multiframe(self, e, r, samples_axis):
        """One multi-frame file (or the frames of one orientation of it): by the
        positions of the per-frame functional groups along the normal; repeated
        positions with equal counts -> 4D, repeats ordered by TemporalPositionIndex
        then frame number; else frame order (rule "frame") with a warning."""
        o = self.opts
        frames = list(e.frames_subset) if getattr(e, "frames_subset", None) else \
            list(range(r.frames))
        e.instances = [r.instance] * len(frames)
        e.shape = [len(frames), r.rows, r.cols] + samples_axis
        ipps = r.frame_ipp_list
        iops = r.frame_iops
        usable = ipps is not None and iops is not None and \
            all(ipps[k] is not None and iops[k] is not None for k in frames)
        if usable:
            io = iops[frames[0]]
            usable = all(max(abs(a - b) for a, b in zip(iops[k], io)) <= 1e-4 for k in frames)
        e.slices = [(r, k) for k in frames]
        e.rule = "frame"
        if o.slice_order != "position":
            self._geometry(e, None, None)
            return
        if not usable:
            if len(frames) > 1:
                e.warn_words.append("*")
            self._geometry(e, None, None)
            return
        nrm = np.array(normal(io))
        proj = {k: float(np.dot(ipps[k], nrm)) for k in frames}
        keys = sorted(set(round(proj[k], 2) for k in frames))
        clusters = {c: [k for k in frames if round(proj[k], 2) == c] for c in keys}
        counts = set(len(v) for v in clusters.values())
        if len(counts) > 1:
            e.warn_words.append("repeat|uneven")
            e.notes.append("uneven repeated positions in a multi-frame file")
            self._geometry(e, None, None)
            return
        R = counts.pop()
        big = 1 << 62
        temp = r.frame_temporal or [None] * r.frames
        for c in keys:
            clusters[c].sort(key=lambda k: (temp[k] if temp[k] is not None else big, k))
        e.rule = "position"
        order = [clusters[c][t] for t in range(R) for c in keys]
        e.slices = [(r, k) for k in order]
        if R > 1:
            e.nt, e.nz = R, len(keys)
            e.shape = [R, len(keys), r.rows, r.cols] + samples_axis
        e.positions = [ipps[clusters[c][0]] for c in keys]
        self._geometry(e, e.positions, io)

    def _order_position(self, e):
        files = e.files
        r0 = files[0]
        samples_axis = [r0.samples] if r0.samples > 1 else []
        n = np.array(normal(r0.iop))
        proj = {r.path: float(np.dot(r.ipp, n)) for r in files}
        # cluster positions (0.01 mm)
        pos_keys = sorted(set(round(proj[r.path], 2) for r in files))
        clusters = {k: [] for k in pos_keys}
        for r in files:
            clusters[round(proj[r.path], 2)].append(r)
        counts = set(len(v) for v in clusters.values())
        if len(counts) > 1:
            return None
        R = counts.pop()
        big = 1 << 62

        def rep_key(r):
            return (r.acq if r.acq is not None else big,
                    r.temporal if r.temporal is not None else big,
                    r.instance if r.instance is not None else big, r.name)
        for k in pos_keys:
            clusters[k].sort(key=rep_key)
        e.rule = "position"
        if R == 1:
            order = [clusters[k][0] for k in pos_keys]
            e.slices = [(r, 0) for r in order]
            e.shape = [len(order), r0.rows, r0.cols] + samples_axis
            e.instances = [r.instance for r in order]
            e.positions = [r.ipp for r in order]
            self._geometry(e, e.positions, r0.iop)
            return order
        # 4D
        order = [clusters[k][t] for t in range(R) for k in pos_keys]
        e.nt, e.nz = R, len(pos_keys)
        e.slices = [(r, 0) for r in order]
        e.shape = [R, len(pos_keys), r0.rows, r0.cols] + samples_axis
        e.instances = [r.instance for r in order]
        e.positions = [clusters[k][0].ipp for k in pos_keys]
        self._geometry(e, e.positions, r0.iop)
        return order

    def _geometry(self, e, positions, iop, check_uniform=True):
        """spacing, affine, uniform_spacing, gap/tilt warnings."""
        r0 = e.files[0]
        e.spacing_yx = r0.spacing
        e.affine_cols = None
        e.spacing_z = None
        if positions is None or any(p is None for p in positions) or iop is None:
            return
        P = np.array(positions, dtype=float)
        row = np.array(iop[:3])
        col = np.array(iop[3:])
        nrm = np.cross(row, col)
        e.origin = P[0]
        e.rowcos, e.colcos, e.normal = row, col, nrm
        if len(P) < 2:
            return
        d = np.diff(P @ nrm)
        steps = np.diff(P, axis=0)
        uniform = bool(np.all(np.abs(d - d[0]) <= 1e-3 * max(1.0, abs(d[0]))))
        if check_uniform:
            e.uniform = uniform
        if uniform:
            e.spacing_z = abs(float(d[0]))
            e.step = (P[-1] - P[0]) / (len(P) - 1)
        else:
            e.warn_words.append("non-uniform")
            dmin = float(np.min(np.abs(d)))
            if dmin > 0 and any(abs(x / dmin - round(x / dmin)) < 1e-3 and round(x / dmin) >= 2
                                for x in np.abs(d)):
                e.warn_words.append("gap")
        # tilt: steps not parallel to the normal
        for s in steps:
            ln = np.linalg.norm(s)
            if ln > 0 and abs(abs(float(np.dot(s, nrm))) / ln - 1.0) > 1e-4:
                e.warn_words.append("tilt")
                e.spacing_z = None    # along the normal or along the step: not specified
                break
        if uniform and "tilt" not in e.warn_words and not e.warn_words and check_uniform \
                and e.status == "stored" and not e.duplicates:
            e.warn_must_be_empty = True

    # --------------------------------------------------------- outputs
    def expected_arrays(self, e):
        """Candidate arrays (zyx layout) for a stored scan: list of (label, array)."""
        o = self.opts
        dt = expected_scan_dtype(e, o.rescale)
        per_file = {}
        for r, _ in e.slices:
            if r.path not in per_file:
                per_file[r.path] = decode_file(r, all_decoders=r.ts in LOSSY_TS or
                                               r.ts in J2K_TS)
        for alt in e.alt_slices:
            for r, _ in alt:
                if r.path not in per_file:
                    per_file[r.path] = decode_file(r, all_decoders=r.ts in LOSSY_TS or
                                                   r.ts in J2K_TS)
        n_c = max(len(v) for v in per_file.values())
        out = []
        for ci, slices in [(ci, sl) for sl in [e.slices] + list(e.alt_slices)
                           for ci in range(n_c)]:
            frames = []
            label = None
            for r, fr in slices:
                cands = per_file[r.path]
                lab, a = cands[min(ci, len(cands) - 1)]
                label = lab if label is None else label
                x = a[fr]
                if o.rescale and r.pixel_kind == "int":
                    # float pixel data are real values already: no rescale
                    slope, icpt = frame_rescale(r, fr)
                    x = x.astype(np.float64) * slope + icpt
                frames.append(x)
            arr = np.stack(frames)
            if e.mode == "perfile" and not e.files[0].multiframe:
                arr = arr[0]
            if e.nt:
                arr = arr.reshape([e.nt, e.nz] + list(arr.shape[1:]))
            out.append((label, arr.astype(dt)))
        return out

    def can_decode(self, e):
        """True when every slice decodes with some oracle decoder (cached)."""
        if not hasattr(e, "_decodable"):
            try:
                self.expected_arrays(e)
                e._decodable = True
            except Exception as ex:  # noqa: BLE001
                e._decodable = False
                e.notes.append("oracle cannot decode: %s" % str(ex)[:150])
        return e._decodable

    def layout_shape(self, e):
        if e.shape is None:
            return None
        if self.opts.layout == "seed":
            s = e.shape
            if e.mode == "perfile" and len(s) == 2:
                return [1] + s
            if e.mode == "volume" and len(s) == 3:
                return [1, s[1], s[2], s[0]]
            return None
        return e.shape

    def to_layout(self, e, arr):
        if self.opts.layout != "seed":
            return arr
        if e.mode == "perfile" and arr.ndim == 2:
            return arr[None]
        if e.mode == "volume" and arr.ndim == 3:
            return np.transpose(arr, (1, 2, 0))[None]
        return None

    def expected_row(self, e):
        r = e.first
        if r is None or r.ds is None:
            return None
        return flatten(r.ds, self.opts.csv_style)

    def expected_rescale(self, e):
        vals = [frame_rescale(r, fr) for r, fr in e.slices]
        return [v[0] for v in vals], [v[1] for v in vals]


def normal(iop):
    return list(np.cross(np.array(iop[:3]), np.array(iop[3:])))


# ------------------------------------------------------------------- CLI

def main():
    ap = argparse.ArgumentParser(description="print what dcmcrawl should produce")
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--volumes", action="store_true")
    ap.add_argument("--pixels", action="store_true")
    ap.add_argument("--recursive", action="store_true")
    ap.add_argument("--rows", action="store_true", help="also print expected CSV rows")
    a = ap.parse_args()
    o = Oracle(a.folders, Options(volumes=a.volumes, write_pixeldata=a.pixels,
                                  recursive=a.recursive))
    out = {"scans": [o.scans[k].describe() for k in sorted(o.scans)],
           "unreadable": [e.describe() for e in o.unreadable if e.scan_id not in o.scans],
           "skipped": [r.path for r in o.skipped], "maybe": [r.path for r in o.maybe_files]}
    if a.rows:
        for s in out["scans"]:
            row = o.expected_row(o.scans[s["scan_id"]])
            s["row"] = {k: value_text(v) for k, (c, v) in row.items()} if row else None
    json.dump(out, sys.stdout, indent=1, default=str)
    print()


if __name__ == "__main__":
    main()
