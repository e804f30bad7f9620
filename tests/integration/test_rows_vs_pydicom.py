#!/usr/bin/python3
"""test_rows_vs_pydicom.py - dcrow (dc_flatten) against an independent
flattening of the same files with pydicom 2.3.1.

    /usr/bin/python3 tests/integration/test_rows_vs_pydicom.py BUILD/tools/dcrow [-v] [--fuzz N] [FILE...]

Without FILE: every file of pydicom's test_files (recursively), every
charset file (pydicom/data/charset_files), and N (default 40) synthetic files
written with pydicom: random Specific Character Sets (every defined term,
code extensions, misspelled and unknown terms) and 60 private text elements
(PN LO SH LT ST UT UC) of random bytes built from escape sequences,
delimiters, multi-byte characters and invalid sequences (fixed seed), and
8 files with a public element of every text and binary VR holding one
value, several, none, or odd text (VR_CASES), and one with private sequences
of defined and undefined length (write_private_sq_file).  For each file, `dcrow -p` prints
"path<TAB>name<TAB>value" lines; this script flattens the pydicom dataset by
the SPEC 4 rules (written here from the contract, not from flatten.c) and
compares, per tag path: the column set, the name, and the value text,
exactly.  That is done twice: for output.csv_style: seed (the default,
`dcrow`), where the oracle is what the old crawler wrote, pydicom's
`elem.name + ' ' + str(elem.tag)` with the enclosing sequences' names and
"_" in front, and `str(elem.value)`, compared by column name; and for
output.csv_style: dicom (`dcrow -s dicom`) by the rules below.
Exit status 0 when everything matches, 1 otherwise.

The seed rules (the old crawler's dataset_tags_and_values, SPEC 4):
  - the same elements as below; name = prefix + elem.name + " " +
    str(elem.tag), prefix = each enclosing sequence's elem.name + "_";
  - value = str(elem.value) exactly (Python lists of several values,
    "None" for empty numbers, FL as Python floats), except: OB OW OD OF OL OV
    UN as "<binary N bytes>" ("" when empty), and NUL characters removed
    (difference 2 below; inside a list they are the four characters \x00);
  - a name met twice: "DUPLICATE TAGS IN DICOM:" + the values joined by "/".
  The old crawler cut the prefix short after a nested sequence inside a
  sequence whose name holds "_" (it split its prefix on "_"); dcmcrawl
  writes the whole prefix (README).  Differences 3 and 4 below hold for
  both styles.

The dicom style rules (SPEC 4, csv_style: dicom):
  - every element of the dataset as pydicom iterates it (so no file meta),
    recursively into sequence items; sequences themselves have no column;
    pixel data (7FE0,0008/0009/0010) never;
  - name: "Keyword (gggg, eeee)", lowercase hex, enclosing sequence names
    and "_" as prefix; keyword from dcmtk's dicom.dic (RETIRED_ dropped, as
    pydicom names them) or pydicom's; "Unknown" for unknown public tags; group
    length (gggg,0000) as in dcmtk ("GenericGroupLength"...); "PrivateCreator"
    for (odd,0010-00FF); private data elements: a dictionary name when the
    creator is known (dcmtk's private.dic or pydicom's private dictionary),
    else "Private";
  - a name met twice: "DUPLICATE TAGS IN DICOM:" + values joined by "/";
  - values: pydicom's decoded value (Specific Character Set, padding), values
    joined by "\\"; US SS UL SL UV SV as integers; FD as repr(float); AT as
    "(gggg, eeee)"; OB OW OD OF OL OV UN as "<binary N bytes>".

Deliberate differences between dcmcrawl and pydicom, applied to pydicom's
side before comparing (each is documented in the headers named):
  1. (dicom style only) FL values are the shortest text that round-trips as float32 ("0.1"),
     laid out like Python's repr; pydicom holds them as Python floats
     ("0.10000000149011612").  SPEC 4: "floats round-trip".  (dc_flatten.h)
  2. NUL characters are removed from values: a NUL in the metadata CSV would
     make it look torn to the resume logic.  (flatten.c)
  3. AE values: pydicom strips all Python whitespace around each value,
     dcmcrawl strips spaces (DICOM padding) only.  Not met in these files.
  4. ISO 2022 IR 58 (GB 2312 with "ESC $ ) A"): pydicom copies the escape
     bytes into the text; dcmcrawl strips them.  (dc_charset.h; no test file
     uses IR 58, the unit test covers it.)
Where the parser reads a file differently from pydicom (VR resolution,
truncated files), the difference is reported and counted as a failure: the
parser claims to match pydicom on all these files.
"""
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pydicom
from pydicom.datadict import keyword_for_tag, private_dictionary_description
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag
from pydicom.valuerep import PersonName

warnings.simplefilter("ignore")

DATA = os.path.dirname(pydicom.__file__) + "/data"
PIXEL_TAGS = {0x7FE00008, 0x7FE00009, 0x7FE00010}
BULK_VRS = {"OB", "OW", "OD", "OF", "OL", "OV", "UN", "OB or OW", "US or OW", "US or SS or OW"}
INT_VRS = {"US", "SS", "UL", "SL", "UV", "SV", "US or SS"}
DUP = "DUPLICATE TAGS IN DICOM:"

# ------------------------------------------------------------ dictionaries


def _read_dic(name):
    for d in ("/usr/share/libdcmtk17", "/usr/share/libdcmtk16", "/usr/share/dcmtk"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return [ln.rstrip("\n").split("\t") for ln in open(p, encoding="latin-1")
                    if ln.strip() and not ln.startswith("#")]
    return []


def _public_names():
    names = {}
    for f in _read_dic("dicom.dic"):
        m = re.match(r"\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)$", f[0])
        if m and len(f) > 2:
            names[int(m.group(1), 16) << 16 | int(m.group(2), 16)] = re.sub(r"^RETIRED_", "", f[2])
    return names


def _private_names():
    names = {}
    for f in _read_dic("private.dic"):
        m = re.match(r'\(([0-9A-Fa-f]{4}),"([^"]*)",([0-9A-Fa-f]{2,4})\)$', f[0])
        if m and len(f) > 2:
            names.setdefault((int(m.group(1), 16), m.group(2), int(m.group(3), 16) & 0xFF), []).append(f[2])
    return names


PUBLIC = _public_names()
PRIVATE = _private_names()
IDENT = re.compile(r"^[A-Za-z0-9_]+$")


def acceptable_names(tag, creator):
    """(names, strict): the names a column level may have.  strict False: any
    identifier-like private dictionary name is acceptable too."""
    g, e = tag >> 16, tag & 0xFFFF
    if g % 2 == 1:
        if e == 0:
            return {"GenericGroupLength", "PrivateGroupLength", "Private"}, True
        if 0x10 <= e <= 0xFF:
            return {"PrivateCreator"}, True
        if creator is None or e < 0x1000:
            return {"Private"}, True
        known = PRIVATE.get((g, creator, e & 0xFF))
        try:
            desc = private_dictionary_description(tag, creator)
        except KeyError:
            desc = None
        if not known and not desc:
            return {"Private"}, True
        return set(known or []), False
    names = set()
    kw = keyword_for_tag(tag)
    if kw:
        names.add(kw)
    if tag in PUBLIC:
        names.add(PUBLIC[tag])
    if e == 0:
        names.add("GenericGroupLength")
    if not names:
        names.add("Unknown")
    return names, True


# ------------------------------------------------------------ values


def repr_layout(digits, exp, neg):
    """Python repr's layout of a shortest digit string d1d2... x 10^exp."""
    digits = digits.rstrip("0") or "0"
    if exp >= 16 or exp < -4:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "") + "e%s%02d" % (
            "-" if exp < 0 else "+", abs(exp))
    elif exp >= 0:
        whole = (digits + "0" * (exp + 1))[:exp + 1]
        frac = digits[exp + 1:] or "0"
        body = whole + "." + frac
    else:
        body = "0." + "0" * (-exp - 1) + digits
    return ("-" if neg else "") + body


def float32_text(x):
    f = np.float32(x)
    if np.isnan(f):
        return "nan"
    if np.isinf(f):
        return "-inf" if f < 0 else "inf"
    s = np.format_float_scientific(f, unique=True, trim="-")   # shortest float32 digits
    m = re.match(r"(-?)(\d)(?:\.(\d*))?e([+-]\d+)$", s)
    return repr_layout(m.group(2) + (m.group(3) or ""), int(m.group(4)), m.group(1) == "-")


def scalar_text(v, vr):
    if v is None:
        return ""
    if vr == "FL":
        return float32_text(v)
    if vr == "FD":
        return repr(float(v))
    if vr == "AT":
        t = BaseTag(v)
        return "(%04x, %04x)" % (t.group, t.elem)
    if vr in INT_VRS:
        return str(int(v))
    if isinstance(v, bytes):
        return v.decode("latin-1")
    return str(v)


def value_text(elem):
    vr = elem.VR
    v = elem.value
    if vr in BULK_VRS:
        return "<binary %d bytes>" % len(v) if v else ""
    if isinstance(v, (MultiValue, list, tuple)):
        text = "\\".join(scalar_text(x, vr) for x in v)
    else:
        text = scalar_text(v, vr)
    return text.replace("\x00", "")          # difference 2


# ------------------------------------------------------------ flattening


class Col:
    def __init__(self, path, levels, value):
        self.path = path                 # tuple of tags
        self.levels = levels             # [(names, strict)] per level
        self.values = [value]


def creator_of(ds, tag):
    g, e = tag >> 16, tag & 0xFFFF
    if g % 2 == 0 or e < 0x1000:
        return None
    c = ds.get((g << 16) | (e >> 8))
    if c is None or c.value is None:
        return None
    return str(c.value).strip()


def flatten(ds):
    """path -> Col, in file order; repeated paths collect their values."""
    out = {}

    def visit(d, pfx, levels):
        for elem in d:
            tag = int(elem.tag)
            if tag in PIXEL_TAGS:
                continue
            lv = levels + [acceptable_names(tag, creator_of(d, tag))]
            path = pfx + (tag,)
            if elem.VR == "SQ":
                for item in elem.value or []:
                    visit(item, path, lv)
                continue
            val = value_text(elem)
            if path in out:
                out[path].values.append(val)
            else:
                out[path] = Col(path, lv, val)

    visit(ds, (), [])
    return out


def expected_value(col):
    if len(col.values) == 1:
        return col.values[0]
    return DUP + "/".join(col.values)


# ------------------------------------------------------------ dcrow


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = s[i + 1]
        if n == "x":
            out.append(chr(int(s[i + 2:i + 4], 16)))
            i += 4
            continue
        out.append({"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}[n])
        i += 2
    return "".join(out)


def dcrow(binary, path, style="dicom"):
    r = subprocess.run([binary, "-p", "-s", style, path], capture_output=True)
    if r.returncode != 0:
        return None, r.stderr.decode("utf-8", "replace").strip()
    rows = {}
    for line in r.stdout.decode("utf-8").split("\n"):
        if not line:
            continue
        p, name, value = line.split("\t", 2)
        tags = tuple(int(t.replace(",", ""), 16) for t in p.split("/"))
        rows[tags] = (name, unescape(value))
    return rows, None


# ------------------------------------------------------------ seed style


def seed_value(elem):
    """What the old crawler wrote for a non-sequence element: str(value)."""
    if elem.VR in BULK_VRS:
        v = elem.value
        return "<binary %d bytes>" % len(v) if v else ""
    return str(elem.value).replace("\x00", "")          # difference 2


def seed_flatten(ds):
    """name -> value as the old crawler's dataset_tags_and_values makes them."""
    out = {}

    def visit(d, prefix):
        for elem in d:
            if int(elem.tag) in PIXEL_TAGS:
                continue
            if elem.VR == "SQ":
                for item in elem.value or []:
                    visit(item, prefix + elem.name + "_")
                continue
            name = prefix + elem.name + " " + str(elem.tag)
            val = seed_value(elem)
            if name not in out:
                out[name] = val
            elif out[name].startswith(DUP):
                out[name] += "/" + val
            else:
                out[name] = DUP + out[name] + "/" + val

    visit(ds, "")
    return out


def compare_seed(binary, path, ds):
    """Names and values of `dcrow` (csv_style: seed) against seed_flatten."""
    got, err = dcrow(binary, path, "seed")
    if got is None:
        return ["dcrow -s seed does not parse it: %s" % err]
    want = seed_flatten(ds)
    have = {}
    for p, (name, value) in got.items():
        have[name] = value
    errors = []
    for name, value in want.items():
        if name not in have:
            errors.append("seed: missing column %r (expected value %r)" % (name, value))
        elif have[name] != value:
            errors.append("seed: %s: got %r want %r" % (name, have[name], value))
    for name in have:
        if name not in want:
            errors.append("seed: extra column %r = %r" % (name, have[name]))
    return errors


# ------------------------------------------------------------ comparing


def name_ok(col, name):
    """The dcrow name has one acceptable name per level and the tag."""
    last = col.path[-1]
    suffix = " (%04x, %04x)" % (last >> 16, last & 0xFFFF)
    if not name.endswith(suffix):
        return False
    body = name[:-len(suffix)]

    def match(levels, s):
        if not levels:
            return s == ""
        names, strict = levels[0]
        rest = levels[1:]
        cands = sorted(names, key=len, reverse=True)
        if not strict:   # a private dictionary name pydicom spells otherwise
            m = re.match(r"[A-Za-z0-9]+", s)
            cands = cands + ([m.group(0)] if m else [])
        for n in cands:
            if rest and s.startswith(n + "_") and match(rest, s[len(n) + 1:]):
                return True
            if not rest and s == n:
                return True
        return False

    return match(col.levels, body)


def merge_by_name(got, cols):
    """dcrow keys columns by name: different paths with one name (two private
    sequences both called "Private") are one column, at the first path.
    Fold the pydicom side the same way, using dcrow's names."""
    by_name = {}
    for path in list(cols):
        if path in got:
            by_name.setdefault(got[path][0], path)
    for path in list(cols):
        if path in got:
            continue
        for name, first in by_name.items():
            if first != path and first[-1] == path[-1] and name_ok(cols[path], name) and \
                    len(first) == len(path):
                cols[first].values += cols.pop(path).values
                break


def read_pydicom(path, parsed_by_dcrow):
    """The dataset, or None when pydicom does not take it for DICOM.  force=True
    only for files dcrow parses (no preamble, no meta): pydicom's force reads
    any text file as an empty dataset."""
    try:
        return pydicom.dcmread(path)
    except pydicom.errors.InvalidDicomError:
        return pydicom.dcmread(path, force=True) if parsed_by_dcrow else None


def compare_file(binary, path, verbose):
    errors = []
    got, err = dcrow(binary, path)
    try:
        ds = read_pydicom(path, got is not None)
        cols = flatten(ds) if ds is not None else None
    except Exception as ex:  # noqa: BLE001 - pydicom cannot read it
        ds, cols = None, None
        err = "%s; pydicom: %s" % (err or "dcrow parsed it", type(ex).__name__)
    if ds is None and got is None:
        return "skip", ["not DICOM for either"]
    if got is None:
        # the parser's decision (truncated, inconsistent lengths): the file is
        # unreadable for dcmcrawl; nothing to flatten
        return "skip", ["dcrow does not parse it: %s" % err]
    if cols is None:
        return "fail", ["dcrow parses it, pydicom does not: %s" % err]
    merge_by_name(got, cols)
    for p, col in cols.items():
        fmt = "/".join("%04x,%04x" % (t >> 16, t & 0xFFFF) for t in p)
        if p not in got:
            errors.append("missing column %s (expected value %r)" % (fmt, expected_value(col)))
            continue
        name, value = got[p]
        if not name_ok(col, name):
            errors.append("%s: name %r not acceptable (%s)" % (
                fmt, name, " / ".join("|".join(sorted(n)) for n, _ in col.levels)))
        want = expected_value(col)
        if value != want:
            errors.append("%s %s: got %r want %r" % (fmt, name, value, want))
    for p, (name, value) in got.items():
        if p not in cols:
            errors.append("extra column %s %s = %r" % ("/".join("%08x" % t for t in p), name, value))
    errors += compare_seed(binary, path, ds)
    if verbose:
        print("  %s: %d columns compared" % (os.path.basename(path), len(cols)))
    return ("fail" if errors else "ok"), errors


# ------------------------------------------------------------ synthetic charset files

SPECS = ["", "ISO_IR 100", "ISO_IR 101", "ISO_IR 109", "ISO_IR 110", "ISO_IR 126", "ISO_IR 127",
         "ISO_IR 138", "ISO_IR 144", "ISO_IR 148", "ISO_IR 166", "ISO_IR 13", "ISO_IR 192", "GB18030",
         "GBK", "\\ISO 2022 IR 87", "ISO 2022 IR 13\\ISO 2022 IR 87", "\\ISO 2022 IR 149",
         "\\ISO 2022 IR 159", "ISO 2022 IR 6\\ISO 2022 IR 100", "ISO 2022 IR 100\\ISO 2022 IR 126",
         "\\ISO 2022 IR 87\\ISO 2022 IR 159", "ISO 2022 IR 6\\ISO 2022 IR 144\\ISO 2022 IR 126",
         "ISO 2022 IR 6\\ISO 2022 IR 101\\ISO 2022 IR 109\\ISO 2022 IR 110\\ISO 2022 IR 127\\"
         "ISO 2022 IR 138\\ISO 2022 IR 148\\ISO 2022 IR 166", "ISO 2022 IR 13", "ISO IR 100", "ISO-IR 144",
         "ISO_2022_IR_100", "latin1", "utf-8", "ISO_IR 192\\GB18030", "bogus", "ISO 2022 GBK",
         "ISO 2022 58"]
ESCS = [b"\x1b(B", b"\x1b-A", b"\x1b)I", b"\x1b(J", b"\x1b$B", b"\x1b-B", b"\x1b-C", b"\x1b-D", b"\x1b-F",
        b"\x1b-G", b"\x1b-H", b"\x1b-L", b"\x1b-M", b"\x1b-T", b"\x1b$)C", b"\x1b$(D", b"\x1b$@", b"\x1bX",
        b"\x1b$A", b"\x1b$(C", b"\x1b.A\x1bNA"]
ATOMS = [b"^", b"=", b"\\", b" ", b"\r\n", b"\t", b"A", b"Yamada", b";3ED", b"$d$^$@", b"\xd4\xcf\xc0\xde",
         b"\xe7\x8e\x8b", b"\xcd\xf5", b"\xfb\xf3", b"\xa4\xd4\xa4\xa1\xa4\xbf\xa4\xd4", b"\xa4\xd4",
         b"\x81\x30\x81\x30", b"\x84\x31\xa5\x30", b"\xa6\xd9", b"\x80", b"\xff", b"\xed\xa0\x80",
         b"\xf0\x9f\x98\x80", b"\xc0\xaf", b"\x22\x37", b"~", b"\x82\xa0", b"\x81\x5f", b"\xa2\xe8",
         b"\xe9\xa3", b"\xb0\xa1"]
FUZZ_VRS = ["PN", "LO", "SH", "LT", "ST", "UT", "UC"]


def random_value(r):
    out = b""
    for _ in range(r.randint(0, 8)):
        x = r.random()
        if x < 0.3:
            out += r.choice(ESCS)
        elif x < 0.8:
            out += r.choice(ATOMS)
        else:
            out += bytes(r.choice([r.randint(1, 255), r.randint(0x80, 0xFF), r.randint(0x20, 0x7E), 0x1B])
                         for _ in range(r.randint(1, 6)))
    return out


def write_fuzz_files(folder, n, seed=1):
    """n files, each one charset and 60 private text elements of random bytes."""
    import random
    from pydicom.dataset import Dataset, FileMetaDataset
    r = random.Random(seed)
    paths = []
    for i in range(n):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
        ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.%d" % i
        ds.is_little_endian, ds.is_implicit_VR = True, False
        spec = SPECS[i % len(SPECS)] if i < len(SPECS) else r.choice(SPECS)
        ds.add_new(0x00080005, "CS", spec.encode("latin-1"))
        ds.add_new(0x00090010, "LO", b"DCMCRAWL FUZZ")
        for k in range(60):
            ds.add_new(0x00091000 + k, FUZZ_VRS[k % len(FUZZ_VRS)], random_value(r))
        p = os.path.join(folder, "fuzz_%03d.dcm" % i)
        ds.save_as(p, write_like_original=False)
        paths.append(p)
    return paths


# one public element of every VR: one value, several, empty, odd text
VR_CASES = [
    (0x00080008, "CS", [b"ORIGINAL\\PRIMARY\\AXIAL ", b"A\\\\B", b"A\\", b""]),
    (0x00080018, "UI", [b"1.2.3\\4.5\x00", b"1.2\x00", b""]),
    (0x00080020, "DA", [b"20200101\\20200102", b"20200101", b""]),
    (0x00080030, "TM", [b"101010.5\\0910 ", b""]),
    (0x0008002A, "DT", [b"20200101101010\\2021 ", b""]),
    (0x00081030, "LO", [b"it's\\a \"q\" ", b"tab\there\\x", b"caf\xe9\\\xa0x", b"\\", b" lead \\ x ",
                        b"a'b\"c\\d", b"a\x00b\\c", b"line\nx\\y\x7f\x01"]),
    (0x00100010, "PN", [b"Doe^John\\O'Neil^X ", b"A\\\\B", b"Doe^John", b""]),
    (0x00101010, "AS", [b"045Y", b""]),
    (0x00080054, "AE", [b" AE1 \\AE2", b""]),
    (0x00180050, "DS", [b"2.50", b" 1e3", b"", b"  ", b"0.50000 \\0.5 ", b"1\\", b"1.0\\abc",
                        b"-1.5e-05\\2\\3.0"]),
    (0x00200013, "IS", [b"007 ", b"", b"007\\08", b"\\2"]),
    (0x00204000, "LT", [b"a\\b  ", b""]),
    (0x00081080, "LO", [b"x\xe2\x80\xa8y\\z"]),
    (0x00280010, "US", [b"\x00\x02", b"", b"\x01\x00\x02\x00\x03\x00"]),
    (0x00280106, "SS", [b"\xfb\xff", b"\xfb\xff\x03\x00"]),
    (0x0040A132, "UL", [b"\x01\x00\x00\x00\x00\x28\x6b\xee", b""]),
    (0x00189219, "FL", [b"\xcd\xcc\xcc\x3d", b"\xcd\xcc\xcc\x3d\x00\x00\x00\x40", b""]),
    (0x00189082, "FD", [b"\x9a\x99\x99\x99\x99\x99\xb9\x3f", b"\x00\x00\x00\x00\x00\x00\xf8\x7f"
                        b"\x00\x80\xe0\x37\x79\xc3\x41\x43", b""]),
    (0x00209165, "AT", [b"\x28\x00\x10\x00\x20\x00\x13\x00", b"\x28\x00\x10\x00", b""]),
    (0x00420011, "OB", [b"\x01\x02", b""]),
]


def write_vr_files(folder):
    """One file per case index: each VR_CASES element with its k-th value
    (explicit VR little endian, written byte for byte)."""
    import struct
    long_vrs = {"OB", "OW", "OF", "SQ", "UT", "UN", "UC", "UR", "OD", "OL", "OV", "SV", "UV"}
    paths = []
    for k in range(max(len(v) for _, _, v in VR_CASES)):
        body = b""
        for tag, vr, vals in VR_CASES:
            raw = vals[k] if k < len(vals) else vals[0]
            if len(raw) % 2:
                raw += b"\x00" if vr in ("UI", "OB") else b" "
            g, e = tag >> 16, tag & 0xFFFF
            if vr in long_vrs:
                body += struct.pack("<HH2sHI", g, e, vr.encode(), 0, len(raw)) + raw
            else:
                body += struct.pack("<HH2sH", g, e, vr.encode(), len(raw)) + raw
        meta = b""
        for tag, vr, raw in ((0x00020010, "UI", b"1.2.840.10008.1.2.1\x00"),
                             (0x00020002, "UI", b"1.2.840.10008.5.1.4.1.1.7\x00")):
            meta += struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(raw)) + raw
        meta = struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(meta)) + meta
        p = os.path.join(folder, "vr_%02d.dcm" % k)
        with open(p, "wb") as fh:
            fh.write(b"\x00" * 128 + b"DICM" + meta + body)
        paths.append(p)
    return paths


def write_private_sq_file(folder):
    """Private sequences of pydicom's dictionary (Philips Stack Sequence), one of
    defined length, one of undefined length: pydicom names the first by its
    creator ("[Stack Sequence]") and not the second ("Private tag data"): it
    reads undefined-length sequences whole, before any creator is known."""
    import struct

    def el(tag, vr, raw):
        if len(raw) % 2:
            raw += b" "
        g, e = tag >> 16, tag & 0xFFFF
        if vr in ("SQ", "OB", "UN", "UT"):
            return struct.pack("<HH2sHI", g, e, vr.encode(), 0, len(raw)) + raw
        return struct.pack("<HH2sH", g, e, vr.encode(), len(raw)) + raw

    def item(body, undefined=False):
        if undefined:
            return struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + body + \
                struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
        return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body

    creator = el(0x20010010, "LO", b"Philips Imaging DD 001")
    inner = creator + el(0x20011002, "IS", b"7") + el(0x00200032, "DS", b"1\\2\\3")
    defined = el(0x2001105F, "SQ", item(inner) + item(el(0x00100020, "LO", b"ID2")))
    undef = struct.pack("<HH2sHI", 0x2001, 0x1065, b"SQ", 0, 0xFFFFFFFF) + \
        item(creator + el(0x00100020, "LO", b"X"), undefined=True) + \
        struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    body = el(0x00080060, "CS", b"MR") + creator + el(0x20011002, "IS", b"3") + defined + undef
    meta = b""
    for tag, raw in ((0x00020002, b"1.2.840.10008.5.1.4.1.1.4\x00"),
                     (0x00020010, b"1.2.840.10008.1.2.1\x00")):
        meta += struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, b"UI", len(raw)) + raw
    meta = struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(meta)) + meta
    p = os.path.join(folder, "private_sq.dcm")
    with open(p, "wb") as fh:
        fh.write(b"\x00" * 128 + b"DICM" + meta + body)
    return [p]


def default_files():
    files = []
    for sub in ("test_files", "charset_files"):
        for root, _, names in os.walk(os.path.join(DATA, sub)):
            files += [os.path.join(root, n) for n in sorted(names)]
    return sorted(files)


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    import tempfile
    binary = argv[1]
    args = argv[2:]
    verbose = "-v" in args
    n_fuzz = 40
    if "--fuzz" in args:
        i = args.index("--fuzz")
        n_fuzz = int(args[i + 1])
        del args[i:i + 2]
    files = [a for a in args if a != "-v"]
    tmp = tempfile.TemporaryDirectory(prefix="dcrow_fuzz_")
    if not files:
        files = default_files() + write_fuzz_files(tmp.name, n_fuzz) + write_vr_files(tmp.name) + \
            write_private_sq_file(tmp.name)
    counts = {"ok": 0, "fail": 0, "skip": 0}
    for f in files:
        status, msgs = compare_file(binary, f, verbose)
        counts[status] += 1
        if status == "fail" or (verbose and msgs):
            print("%s %s" % (status.upper(), os.path.relpath(f, DATA) if f.startswith(DATA) else f))
            for m in msgs[:40]:
                print("    " + m)
            if len(msgs) > 40:
                print("    ... %d more" % (len(msgs) - 40))
    print("test_rows_vs_pydicom: %d files match, %d differ, %d skipped (not DICOM, or rejected by the parser)" % (
        counts["ok"], counts["fail"], counts["skip"]))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
