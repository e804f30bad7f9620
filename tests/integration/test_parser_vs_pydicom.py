#!/usr/bin/python3
"""test_parser_vs_pydicom.py - dcmcrawl's DICOM parser against pydicom.

    /usr/bin/python3 tests/integration/test_parser_vs_pydicom.py BUILD/tools/dcdump [files or dirs...]

For every file in pydicom's test_files and charset_files (recursively; or the
files/dirs given), run `dcdump --walk FILE` and pydicom's dcmread(force=True),
walk pydicom's file meta and dataset the same way dcdump prints (tag path with
item numbers, VR, length, value) and compare element by element.  Prints one
row per file and exits non-zero on any mismatch that is a bug.

Deliberate differences (not counted as failures; listed in the table):
  - not DICOM: a file without "DICM" and without a plausible group 0002/0008
    first element is skipped by dcmcrawl, while pydicom's force=True reads
    garbage (README, JSON, gzip, dcmdump text, no_meta.dcm whose first byte is
    stray).  Accepted when pydicom fails or its first tag is not group 2 or 8.
  - truncated: when pydicom warns that the file ended inside an element or
    item and returns what it read, dcmcrawl reports a parse error (the file is
    unreadable, with a reason); both must agree the file is truncated.
  - pixel data values are never loaded by dcmcrawl: only tag, VR and length
    (native) are compared for top-level pixel data.
  - elements whose value pydicom cannot convert (e.g. unknown VR, wrong
    length for the VR) are compared by tag and length only.
  - a tag repeated within one dataset: pydicom keeps the last, dcmcrawl keeps
    every occurrence (flatten reports them as duplicates); compared with the
    last.
"""
import os
import re
import subprocess
import sys
import warnings

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

DATA = os.path.join(os.path.dirname(pydicom.__file__), "data")
DEFAULT_DIRS = [os.path.join(DATA, "test_files"), os.path.join(DATA, "charset_files")]
PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}
TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
NO_LEAD_TRIM = {"LT", "ST", "UT"}
NUM_VRS = {"US": 2, "SS": 2, "UL": 4, "SL": 4, "FL": 4, "FD": 8, "AT": 4, "SV": 8, "UV": 8}


def escape(b):
    return "".join(chr(c) if 0x20 <= c < 0x7F else "\\x%02X" % c for c in b)


def render_text(raw, vr):
    b = raw.rstrip(b" \x00")
    if vr not in NO_LEAD_TRIM:
        b = b.lstrip(b" ")
    return escape(b)


def render_number(v, vr):
    if vr == "AT":
        t = Tag(v)
        return "(%04X,%04X)" % (t.group, t.element)
    if vr == "FL":
        return "%.9g" % v
    if vr == "FD":
        return "%.17g" % v
    return "%d" % v


def render_numbers(value, vr):
    if value is None or value == b"" or value == "":
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(render_number(v, vr) for v in value)
    return render_number(value, vr)


def tagstr(tag):
    return "%04X,%04X" % (tag.group, tag.element)


# raw elements seen by pydicom's conversion, keyed by (tag, value offset)
RAW = {}


def record_raw(raw, **kwargs):
    RAW[(int(raw.tag), raw.value_tell)] = raw
    return raw


def raw_bytes(ds, tag):
    """the element's raw value bytes and declared length, before conversion"""
    item = ds.get_item(tag)
    if isinstance(item, RawDataElement):
        return item.value, item.length
    raw = RAW.get((int(tag), getattr(item, "file_tell", None)))
    if raw is not None:
        return raw.value, raw.length
    return None, None


def vr_name(vr):
    return str(getattr(vr, "value", vr))


def walk(ds, prefix, depth, out, notes):
    for tag in sorted(ds._dict.keys()):
        raw, rawlen = raw_bytes(ds, tag)
        path = prefix + tagstr(tag)
        try:
            elem = ds[tag]
        except Exception as ex:  # pydicom cannot convert the value
            length = rawlen if rawlen != 0xFFFFFFFF else len(raw or b"")
            out[path] = (depth, None, length, None)
            notes.add("unconvertible (%s): %s" % (path, str(ex)[:60]))
            continue
        if raw is None:
            raw, rawlen = raw_bytes(ds, tag)  # converted just now: the callback saw it
        vr = vr_name(elem.VR)
        if vr == "SQ":
            out[path] = (depth, "SQ", len(elem.value), "<%d items>" % len(elem.value))
            for i, item in enumerate(elem.value):
                walk(item, "%s[%d]/" % (path, i), depth + 1, out, notes)
            continue
        if raw is None:
            raw = elem.value if isinstance(elem.value, bytes) else None
        length = rawlen if rawlen not in (None, 0xFFFFFFFF) else len(raw or b"")
        if depth == 0 and tag in PIXEL_TAGS:
            out[path] = (depth, vr, None, None)  # never loaded by dcmcrawl
            continue
        if vr in TEXT_VRS:
            if raw is None and length == 0:
                raw = b""
            value = render_text(raw if raw is not None else str(elem.value).encode(), vr)
        elif vr in NUM_VRS:
            try:
                value = render_numbers(elem.value, vr)
            except Exception:
                value = None
        else:
            value = "<%d bytes>" % length
        out[path] = (depth, vr, length, value)


def pydicom_elements(path):
    """returns (status, elements, notes); status ok / error / truncated"""
    notes = set()
    out = {}
    RAW.clear()
    pydicom.config.data_element_callback = record_raw
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = pydicom.dcmread(path, force=True)
            walk(ds.file_meta, "", 0, out, notes)
            walk(ds, "", 0, out, notes)
        except Exception as ex:
            return "error", out, {str(ex)[:80]}
    truncated = any("end of file" in str(w.message).lower() or "truncat" in str(w.message).lower()
                    or "no tag to read" in str(w.message).lower() for w in caught)
    return ("truncated" if truncated else "ok"), out, notes


def dcdump_elements(dcdump, path):
    """returns (status, elements, message); status ok / notdicom / error / crash"""
    p = subprocess.run([dcdump, "--walk", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    text = p.stdout.decode("latin-1")
    if p.returncode not in (0, 1, 2):
        return "crash", {}, "exit %d: %s" % (p.returncode, p.stderr.decode("latin-1")[-200:])
    if text.startswith("NOT DICOM"):
        return "notdicom", {}, ""
    if text.startswith("ERROR:"):
        return "error", {}, text[6:].strip()
    out = {}
    dups = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        depth, tpath, vr, length, value = (line.split("\t", 4) + [""])[:5]
        if tpath in out:
            dups.append(tpath)
        out[tpath] = (int(depth), vr, int(length), value)
    return "ok", out, ",".join(dups)


def compare(ours, theirs):
    """list of mismatch descriptions"""
    bad = []
    for path in sorted(set(ours) | set(theirs)):
        if path not in ours:
            bad.append("missing %s" % path)
            continue
        if path not in theirs:
            bad.append("extra %s" % path)
            continue
        od, ovr, olen, oval = ours[path]
        pd, pvr, plen, pval = theirs[path]
        if od != pd:
            bad.append("%s depth %d vs %d" % (path, od, pd))
        if pvr is None:  # unconvertible in pydicom: tag and length only
            if plen is not None and olen != plen:
                bad.append("%s length %d vs %d" % (path, olen, plen))
            continue
        if ovr != pvr:
            bad.append("%s VR %s vs %s" % (path, ovr, pvr))
            continue
        if plen is not None and pvr != "SQ" and olen != plen:
            bad.append("%s length %d vs %d" % (path, olen, plen))
        if pval is not None and oval != pval:
            bad.append("%s value %r vs %r" % (path, oval[:60], pval[:60]))
    return bad


def truncation_confirmed(path, msg):
    """dcdump says the file ends too early: check that claim independently"""
    size = os.path.getsize(path)
    m = re.search(r"length (\d+) at offset (\d+) exceeds file size", msg)
    if m:
        return int(m.group(2)) + 8 + int(m.group(1)) > size
    m = re.search(r"truncated header at offset (\d+)", msg)
    if m:
        return int(m.group(1)) + 12 > size
    m = re.search(r"element \(([0-9A-F]{4}),([0-9A-F]{4})\) length (\d+) exceeds file size", msg)
    if m:
        tag = int(m.group(1) + m.group(2), 16)
        length = int(m.group(3))
        return any(t == tag and raw.length == length and tell + length > size for (t, tell), raw in RAW.items())
    return False


def first_group_plausible(theirs):
    groups = [int(p[:4], 16) for p in theirs if "/" not in p]
    return bool(groups) and min(groups) in (2, 8)


def check_file(dcdump, path):
    """returns (verdict, detail); verdict PASS / DELIBERATE / FAIL"""
    ostat, ours, omsg = dcdump_elements(dcdump, path)
    pstat, theirs, notes = pydicom_elements(path)
    if ostat == "crash":
        return "FAIL", "dcdump crashed: " + omsg
    if ostat == "notdicom":
        if pstat == "error" or not first_group_plausible(theirs):
            return "DELIBERATE", "not DICOM (pydicom force=True: %s)" % ("error" if pstat == "error" else "garbage")
        return "FAIL", "dcdump says not DICOM, pydicom reads %d elements" % len(theirs)
    if ostat == "error":
        if pstat == "error":
            return "PASS", "both fail: " + omsg
        if pstat == "truncated" or truncation_confirmed(path, omsg):
            return "DELIBERATE", "truncated: " + omsg
        return "FAIL", "dcdump error '%s', pydicom reads %d elements" % (omsg, len(theirs))
    if pstat == "error":
        return "FAIL", "pydicom fails (%s) but dcdump parses" % "; ".join(notes)
    bad = compare(ours, theirs)
    if bad:
        return "FAIL", "%d mismatches: %s" % (len(bad), "; ".join(bad[:6]))
    detail = "%d elements" % len(ours)
    if omsg:
        detail += ", duplicate tags (pydicom keeps last): " + omsg
        return "DELIBERATE", detail
    if notes:
        return "DELIBERATE", detail + ", " + "; ".join(sorted(notes)[:3])
    return "PASS", detail


def all_files(args):
    roots = args or DEFAULT_DIRS
    files = []
    for r in roots:
        if os.path.isdir(r):
            for d, _, names in os.walk(r):
                files += [os.path.join(d, n) for n in names]
        else:
            files.append(r)
    return sorted(files)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 64
    dcdump = sys.argv[1]
    counts = {"PASS": 0, "DELIBERATE": 0, "FAIL": 0}
    for path in all_files(sys.argv[2:]):
        verdict, detail = check_file(dcdump, path)
        counts[verdict] += 1
        print("%-10s %-60s %s" % (verdict, os.path.relpath(path, DATA), detail))
    print("\n%d files: %d pass, %d deliberate differences, %d FAIL" %
          (sum(counts.values()), counts["PASS"], counts["DELIBERATE"], counts["FAIL"]))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
