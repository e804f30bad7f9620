#!/usr/bin/python3
"""test_privacy.py BINARY [--keep] [--work DIR] - privacy.profile basic (SPEC 12).

A generated corpus full of identifying values (names in Latin-1, Cyrillic,
Japanese ISO 2022 and UTF-8, IDs, addresses, phone numbers, dates, UIDs in
sequences nested two deep, private tags holding the name and ID, identifying
folder and file names, an unreadable file) is crawled with the profile:

  leak        in all three modes (metadata, 2D images, volumes) and at 1 and
              3 ranks, with log_level debug: every identifying value of the
              input, collected from the files with pydicom (plus the folder
              and file names), is searched in every byte of every output file
              (CSVs, HDF5 index and segments) and of the log, as UTF-8 and as
              the bytes of the file's character set: none may be found.
  profile     the table's actions on the CSV row: removed (X) columns absent,
              emptied (Z) columns empty, UIDs replaced by 2.25.<decimal> UIDs
              that appear consistently (SOP UID in the row == in the Scan ID),
              patient pseudonym in ID and Name, SOP Class and geometry kept.
  gdcm        the attributes kept and removed compared with GDCM's own Basic
              profile (gdcmanon) on the same files; every difference must be
              one of the explained kinds (see explain()).
  stable      1 rank and 3 ranks give byte-identical CSVs; an append gives the
              rows and datasets of one run over everything; another key gives
              no pseudonym in common.
  pixels      every dataset equals the one of a crawl without the profile
              (matched through privacy.map_file), and the map file is outside
              the output folder and maps every Scan ID part back; the secondary
              capture, and only it, is flagged in its `warnings` attribute.
  dates       retain_dates: shift moves Study Date by the same number of days
              (1..3652 back) for every scan of a patient, and differently for
              another patient; times are kept; no identifying value leaks.
  config      profile without key_file, a missing key, a short key, a map file
              inside output.folder: exit 2 and nothing written; --dry-run
              writes no map file.
  table       src/privacy/privacy_table.c is the generator's output of the committed
              copy of Table E.1-1 (nobody edited the generated file).
  columns     output.columns without a profile: exclude [private, sequences,
              *Date, (0010,*), binary] and include [Modality, (0020,0032),
              ReferencedImageSequence] give exactly the plain crawl's columns
              minus / restricted to those (names checked with pydicom's
              dictionary), with the same values.
  select      input.select leaves out the scans its rules name (modality,
              burned-in secondary capture, fewer slices), says how many and
              why; an append with a wider selection adds exactly the new scans.
"""
import csv
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import datetime

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]
ROOT = "1.2.826.0.1.3680043.10.1011.77"
CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
SC = "1.2.840.10008.5.1.4.1.1.7"

PROBLEMS = []
LOGS = {}  # config path -> the crawl's output (log)


def check(cond, what):
    if not cond:
        PROBLEMS.append(what)
    return cond


# ------------------------------------------------------------------ corpus

PATIENTS = [
    # folder, charset, python codec, name, id, birth date
    ("DOE_JOHN_MRN4471823/CT_HEAD", "ISO_IR 100", "latin_1", "Müller^Jürgen", "MRN4471823",
     "19610412"),
    ("Иванов_Иван/MR", "ISO_IR 144", "iso8859_5", "Иванов^Иван", "RU5550177", "19720830"),
    ("山田太郎", "\\ISO 2022 IR 87", None, "Yamada^Tarou=山田^太郎=やまだ^たろう", "JP8812345",
     "19580101"),
    ("Åsa_Ærø", "ISO_IR 192", "utf_8", "Ærøskøbing^Åsa", "DK2039911", "19900215"),
]


class Uids:
    def __init__(self):
        self.n = 0

    def __call__(self, kind):
        self.n += 1
        return "%s.%d.%d" % (ROOT, kind, self.n)


def person(ds, pid, name, birth, charset, study, k):
    ds.SpecificCharacterSet = charset
    ds.PatientName = name
    ds.PatientID = pid
    ds.PatientBirthDate = birth
    ds.PatientSex = "M"
    ds.PatientAddress = "12 Quixote Lane %d, Zebulonville" % k
    ds.PatientTelephoneNumbers = "555-0199-77%02d" % k
    ds.OtherPatientIDs = "ALT-9981%d" % k
    ds.PatientComments = "lives with Zebulon Quixote %d" % k
    ds.AccessionNumber = "ACC773421%d" % k
    ds.InstitutionName = "Saint Zebulon Hospital %d" % k
    ds.InstitutionAddress = "1 Hawthorne Road %d" % k
    ds.ReferringPhysicianName = "Hawthorne^Ezekiel%d" % k
    ds.PerformingPhysicianName = "Okonkwo^Chidi%d" % k
    ds.OperatorsName = "Lindqvist^Maja%d" % k
    ds.StudyID = "STU8821%d" % k
    ds.StudyDescription = "Head CT of Zebulon %d" % k
    ds.StudyInstanceUID = study
    ds.StudyDate = "2019031%d" % k
    ds.StudyTime = "101500"
    ds.SeriesDate = "2019031%d" % k
    ds.AcquisitionDate = "2019031%d" % k
    ds.ContentDate = "2019031%d" % k
    ds.AcquisitionDateTime = "2019031%d101500.000" % k
    ds.add_new(0x00181200, "DA", "2018010%d" % k)  # Date of Last Calibration: not in the table
    if k in (0, 1):  # the MR says its pixels show text; one CT says they do not
        ds.BurnedInAnnotation = "YES" if k == 1 else "NO"


def nested(ds, uid, other_sop, k):
    ref = Dataset()
    ref.ReferencedSOPClassUID = CT
    ref.ReferencedSOPInstanceUID = other_sop
    ds.ReferencedImageSequence = Sequence([ref])
    inner = Dataset()
    inner.ReferencedSOPClassUID = CT
    inner.ReferencedSOPInstanceUID = uid(9)
    item = Dataset()
    item.SeriesInstanceUID = uid(8)
    item.ReferringPhysicianName = "Nested^Physician%d" % k
    item.ReferencedInstanceSequence = Sequence([inner])
    ds.ReferencedSeriesSequence = Sequence([item])       # not in the table: kept, contents judged
    dim = Dataset()
    dim.DimensionOrganizationUID = uid(7)
    ds.DimensionOrganizationSequence = Sequence([dim])


def private(ds, name_bytes, pid):
    ds.add_new(0x00090010, "LO", "ACME_CORP 1.0")
    ds.add_new(0x00091001, "LO", "private copy of %s" % pid)
    ds.add_new(0x00091002, "OB", name_bytes)
    ds.add_new(0x00190010, "LO", "OTHER_VENDOR")
    ds.add_new(0x00191010, "UN", b"ID=" + pid.encode())


def image_file(path, sop_class, modality, study, series, sop, frame_of_ref, inst, pat, k, uid,
               other_sop, rng, with_uid=True):
    folder, charset, codec, name, pid, birth = pat
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    person(ds, pid, name, birth, charset, study, k)
    ds.SOPClassUID = sop_class
    if with_uid:
        ds.SOPInstanceUID = sop
    ds.Modality = modality
    ds.SeriesInstanceUID = series
    ds.SeriesNumber = 1
    ds.InstanceNumber = inst
    ds.FrameOfReferenceUID = frame_of_ref
    ds.ImagePositionPatient = [0.0, 0.0, float(inst) * 2.0]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.SliceThickness = 2.0
    ds.Rows = ds.Columns = 16
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    nested(ds, uid, other_sop, k)
    private(ds, name.encode("utf-8"), pid)
    arr = (rng.integers(0, 8, (16, 16)) * 64 + inst).astype(np.uint16)
    ds.PixelData = arr.tobytes()
    ds.save_as(path, write_like_original=False)


def make_corpus(root):
    rng = np.random.default_rng(13)
    uid = Uids()
    folders = []
    for k, pat in enumerate(PATIENTS):
        d = os.path.join(root, pat[0])
        os.makedirs(d, exist_ok=True)
        folders.append(d)
        study, series, fref = uid(1), uid(2), uid(3)
        sops = [uid(4) for _ in range(3)]
        modality, cls = [("CT", CT), ("MR", MR), ("OT", SC), ("CT", CT)][k]
        for i, sop in enumerate(sops):
            fname = "%s_%d.dcm" % (pat[4], i) if k != 1 else "slice%d.dcm" % i
            image_file(os.path.join(d, fname), cls, modality, study, series, sop, fref, i + 1,
                       pat, k, uid, sops[(i + 1) % 3], rng)
    # a file without SOPInstanceUID (its name becomes the Scan ID's tail) and a
    # truncated one (unreadable, its name in Example file)
    d = folders[0]
    image_file(os.path.join(d, "ZEBULON_QUIXOTE.dcm"), CT, "CT", uid(1), uid(2), uid(4), uid(3),
               1, PATIENTS[0], 0, uid, uid(4), rng, with_uid=False)
    good = open(os.path.join(d, "%s_0.dcm" % PATIENTS[0][4]), "rb").read()
    with open(os.path.join(d, "DOE_JOHN_scan7.dcm"), "wb") as fh:
        fh.write(good[:900])
    return folders


# ------------------------------------------------------------------ identifying values

ID_KEYWORDS = {"PatientID", "OtherPatientIDs", "AccessionNumber", "InstitutionName",
               "InstitutionAddress", "PatientAddress", "PatientTelephoneNumbers", "StudyID",
               "StudyDescription", "PatientComments"}


def encodings_of(ds):
    cs = ds.get("SpecificCharacterSet", "ISO_IR 6")
    return pydicom.charset.convert_encodings(cs if isinstance(cs, (list, pydicom.multival.MultiValue)) else [cs])


def needles_of_text(text, encs, split=False):
    """the text (and with split, each part of a person name) as UTF-8 and in the file's charset"""
    out = set()
    parts = [text] + ([p for p in re.split(r"[\^=]", text) if len(p) >= 4] if split else [])
    for p in parts:
        if len(p) < 4 and not any(ord(c) > 127 for c in p):
            continue
        out.add(p.encode("utf-8"))
        try:
            out.add(pydicom.charset.encode_string(p, encs))
        except Exception:
            pass
    return out


def identifying_values(files, roots):
    """bytes that must never appear in an output, from the input files themselves"""
    needles = set()
    for path in files:
        try:
            ds = pydicom.dcmread(path)
        except Exception:
            continue
        encs = encodings_of(ds)

        def walk(d):
            for el in d:
                if el.VR == "SQ":
                    for item in el.value:
                        walk(item)
                    continue
                v = el.value
                if v is None or v == "" or v == b"":
                    continue
                if el.tag.group & 1 and el.tag.element >= 0x1000:
                    if isinstance(v, bytes):
                        needles.add(v)
                    else:
                        needles.update(needles_of_text(str(v), encs))
                elif el.VR == "PN":
                    needles.update(needles_of_text(str(v), encs, split=True))
                elif el.VR in ("DA", "DT") or el.keyword in ID_KEYWORDS:
                    for x in (v if isinstance(v, pydicom.multival.MultiValue) else [v]):
                        needles.update(needles_of_text(str(x), encs))
                elif el.VR == "UI" and not str(v).startswith("1.2.840.10008."):
                    needles.add(str(v).encode())
        walk(ds)
        needles.add(str(ds.file_meta.MediaStorageSOPInstanceUID).encode())
    for path in files:
        for root in roots:
            rel = os.path.relpath(path, root)
            for part in rel.split(os.sep):
                stem = os.path.splitext(part)[0]
                for p in (part, stem):
                    if len(p) >= 4 and p not in ("slice0", "slice1", "slice2", "MR"):
                        needles.add(p.encode("utf-8"))
    return {n for n in needles if len(n) >= 4}


def all_output_bytes(out):
    blobs = []
    for dirpath, _, names in os.walk(out):
        for n in names:
            p = os.path.join(dirpath, n)
            blobs.append((os.path.relpath(p, out), open(p, "rb").read()))
    return blobs


def leaks(needles, blobs):
    found = []
    for name, data in blobs:
        for nd in needles:
            if nd in data:
                found.append("%s contains %r" % (name, nd))
    return found


# ------------------------------------------------------------------ running

def write_config(path, folders, out, volumes, pixels, key, extra=""):
    with open(path, "w") as fh:
        fh.write("input:\n  folders: [%s]\n" % ", ".join('"%s"' % f for f in folders))
        fh.write("output:\n  folder: %s\n  id: p\n  write_pixeldata: %s\n  volumes: %s\n" % (
            out, "true" if pixels else "false", "true" if volumes else "false"))
        fh.write("run:\n  log_level: debug\n  progress: never\n  commit_every: 2\n")
        if key:
            fh.write("privacy:\n  profile: basic\n  key_file: %s\n" % key)
        fh.write(extra)


def crawl(binary, cfg, np_=1, extra=()):
    r = subprocess.run(MPIRUN + ["-np", str(np_), binary, cfg] + list(extra), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    return r.returncode, r.stdout


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def col_by_tag(header, tag, top=True):
    want = "(%04x, %04x)" % (tag >> 16, tag & 0xFFFF)
    for c in header:
        if c.endswith(want) and (not top or "_" not in c[: -len(want)].strip()):
            return c
    return None


def read_map(path):
    m = {}
    for line in open(path, encoding="utf-8"):
        ps, kind, orig = line.rstrip("\n").split("\t", 2)
        m[ps] = (kind, orig)
    return m


# ------------------------------------------------------------------ cases

def case_leak(binary, work, folders, files, key, corpus):
    needles = identifying_values(files, [corpus])
    check(len(needles) > 60, "leak: only %d identifying values collected" % len(needles))
    outs = {}
    for mode, vol, pix, nps in (("meta", False, False, (1, 3)), ("images", False, True, (2,)),
                                ("volumes", True, True, (2,))):
        for np_ in nps:
            out = os.path.join(work, "leak_%s_%d" % (mode, np_))
            cfg = out + ".yaml"
            write_config(cfg, folders, out, vol, pix, key)
            # 3 ranks plan in windows of 2 files (names formed window by window)
            extra = ("--set", "run.window_files=2") if np_ == 3 else ()
            rc, log = crawl(binary, cfg, np_, extra)
            if not check(rc == 0, "leak %s np%d: exit %d\n%s" % (mode, np_, rc, log[-2000:])):
                continue
            outs[(mode, np_)] = out
            blobs = all_output_bytes(out) + [("log", log)]
            found = leaks(needles, blobs)
            check(not found, "leak %s np%d: %d identifying values found:\n  %s" % (
                mode, np_, len(found), "\n  ".join(found[:20])))
            check(os.path.exists(os.path.join(out, "unreadable_files_p.csv")),
                  "leak %s: the truncated file is not in unreadable_files" % mode)
            check(open(key, "rb").read().strip() not in b"".join(b for _, b in blobs),
                  "leak %s: the key is in an output" % mode)
            check(b"can be read by other users" in log,
                  "leak %s: no warning about a key file others can read" % mode)
    return needles, outs


def case_profile(outs, files):
    out = outs.get(("meta", 1))
    if not out:
        return
    header, rows = read_csv(os.path.join(out, "metadata_p.csv"))
    check(len(rows) == len([f for f in files if "scan7" not in f]),
          "profile: %d rows for %d readable files" % (len(rows), len(files) - 1))
    removed = [0x00101040, 0x00102154, 0x00101000, 0x00104000, 0x00080080, 0x00080081,
               0x00081050, 0x00081070, 0x00081030, 0x00080021, 0x00181200]
    for t in removed:
        check(col_by_tag(header, t) is None, "profile: column of (%08x) present (X)" % t)
    check(not any(re.search(r"\((00(09|19)), ", c) for c in header), "profile: private columns")
    emptied = [0x00080050, 0x00100030, 0x00200010, 0x00080090, 0x00080020]
    for t in emptied:
        c = col_by_tag(header, t)
        if check(c is not None, "profile: column (%08x) missing (Z keeps it empty)" % t):
            check(all(r[c] == "" for r in rows), "profile: (%08x) not empty" % t)
    cid, cname = col_by_tag(header, 0x00100020), col_by_tag(header, 0x00100010)
    csop, ccls = col_by_tag(header, 0x00080018), col_by_tag(header, 0x00080016)
    cpos = col_by_tag(header, 0x00200032)
    for r in rows:
        check(re.fullmatch(r"P[0-9a-f]{16}", r[cid]) is not None, "profile: PatientID %r" % r[cid])
        check(r[cname] == r[cid], "profile: name %r is not the patient pseudonym" % r[cname])
        check(r[ccls] in (CT, MR, SC), "profile: SOP Class UID changed: %r" % r[ccls])
        check(r[cpos] != "", "profile: geometry lost")
        if r[csop]:
            check(re.fullmatch(r"2\.25\.(0|[1-9][0-9]{0,38})", r[csop]) is not None,
                  "profile: SOP Instance UID %r is not a 2.25 UID" % r[csop])
            check(int(r[csop][5:]) < 2 ** 128, "profile: UID beyond 128 bits")
            check(r["Scan ID"].endswith("_" + r[csop]), "profile: Scan ID %r lacks its UID %r" % (
                r["Scan ID"], r[csop]))
        check(re.fullmatch(r"F[0-9a-f]{16}_.*", r["Scan ID"]) is not None,
              "profile: Scan ID folder %r" % r["Scan ID"])
    nested = [c for c in header if c.endswith("(0008, 1155)") and "_" in c]
    check(len(nested) >= 2, "profile: nested Referenced SOP Instance UID columns missing")
    for c in nested:
        vals = [r[c] for r in rows if r[c]]
        check(vals and all(v.startswith("2.25.") for v in vals), "profile: nested UIDs %s" % c)


# what GDCM's gdcmanon does differently, each a checked explanation
def table_rows():
    t = {}
    for line in open(os.path.join(REPO, "tools", "data", "ps3.15_table_e1-1.tsv"), encoding="utf-8"):
        if line.startswith("#") or line.startswith("tag\t"):
            continue
        f = line.rstrip("\n").split("\t")
        if f[0] != "private" and "x" not in f[0]:
            t[int(f[0].replace(",", ""), 16)] = f[1]
    return t


def explain(tag, vr, ours, gdcm, table):
    code = table.get(tag)
    if tag in (0x00120062, 0x00120063, 0x04000500):
        return "GDCM records its de-identification in the file (dcmcrawl writes no DICOM)"
    if tag in (0x00100010, 0x00100020) and ours == "replaced" and gdcm == "cleared":
        return "patient pseudonym (keyed) where GDCM empties: scans of one patient stay linked"
    if code and "/" in code and ours == "removed" and gdcm in ("cleared", "replaced"):
        return "choice %s: dcmcrawl takes X (no IOD to conform to), GDCM Z or D" % code
    if code == "U" and ours == "replaced" and gdcm == "cleared":
        return "code U: dcmcrawl replaces the UID (links between scans kept), GDCM empties it"
    if code in ("Z", "D") and ours == "cleared" and gdcm == "replaced":
        return "code %s: dcmcrawl empties, GDCM writes a dummy" % code
    if code and gdcm == "kept" and ours != "kept":
        return ("gdcmanon keeps it: GDCM's compiled-in attribute list lacks this row of the "
                "current table (code %s)" % code)
    if code is None and vr in ("PN", "DA", "DT") and ours == "removed":
        return "dcmcrawl's safety net: every %s not in the table goes" % vr
    if code is None and tag & 0x10000 and ours == "removed":
        return "private tag"
    if code and code[0] == "X" and ours == "removed" and gdcm == "cleared":
        return "code %s: GDCM empties where the table removes" % code
    return None


def state_of(value, original):
    if value is None:
        return "removed"
    if value == "":
        return "cleared"
    return "kept" if value == original else "replaced"


def case_gdcm(work, outs, files, mapping):
    out = outs.get(("meta", 1))
    if not out or not shutil.which("gdcmanon") or not shutil.which("openssl"):
        check(False, "gdcm: gdcmanon/openssl missing or no metadata output")
        return
    key, cert = os.path.join(work, "gk.pem"), os.path.join(work, "gc.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-subj", "/CN=dcmcrawl test", "-days", "2"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    header, rows = read_csv(os.path.join(out, "metadata_p.csv"))
    by_sop = {}
    csop = col_by_tag(header, 0x00080018)
    for r in rows:
        if r[csop] in mapping:
            by_sop[mapping[r[csop]][1]] = r
    table = table_rows()
    explained = {}
    compared = 0
    for path in files:
        try:
            src = pydicom.dcmread(path)
        except Exception:
            continue
        sop = str(src.get("SOPInstanceUID", ""))
        if sop not in by_sop or "scan7" in path:  # the truncated copy is unreadable on purpose
            continue
        dst = os.path.join(work, "gdcm_" + os.path.basename(path))
        r = subprocess.run(["gdcmanon", "-e", "-c", cert, "-i", path, "-o", dst],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if not check(r.returncode == 0, "gdcm: gdcmanon failed on %s" % path):
            continue
        g = pydicom.dcmread(dst)
        row = by_sop[sop]
        tags = {e.tag for e in src} | {e.tag for e in g}
        for t in sorted(tags):
            t = int(t)
            if t >> 16 == 0x7FE0:
                continue
            se = src.get(t)
            if se is not None and se.VR == "SQ":
                continue  # sequences are columns of their elements, compared by the profile case
            orig = "" if se is None else str(se.value)
            ge = g.get(t)
            gstate = "removed" if ge is None else state_of(str(ge.value), orig)
            c = col_by_tag(header, t)
            ours = state_of(row[c] if c else None, orig)
            if ours == "replaced" and se is not None and se.VR in ("DS", "IS", "FD", "FL", "US",
                                                                  "SS", "UL", "SL", "CS"):
                ours = "kept"  # number and code formatting, not a replacement
            if gstate == "replaced" and se is not None and se.VR in ("DS", "IS", "CS"):
                gstate = "kept"
            if ours == gstate:
                continue
            if ours == "replaced" and gstate == "replaced":
                continue  # both pseudonymise (UIDs)
            vr = se.VR if se is not None else (ge.VR if ge is not None else "")
            why = explain(t, vr, ours, gstate, table)
            if check(why is not None, "gdcm: unexplained difference at (%04x,%04x) %s: dcmcrawl %s, "
                     "gdcmanon %s" % (t >> 16, t & 0xFFFF, vr, ours, gstate)):
                explained.setdefault(why, set()).add("(%04x,%04x)" % (t >> 16, t & 0xFFFF))
        compared += 1
    check(compared >= 3, "gdcm: only %d files compared" % compared)
    for why, tags in sorted(explained.items()):
        print("  differs from gdcmanon: %s: %s" % (why, " ".join(sorted(tags))))
    return explained


def case_stable(binary, work, folders, outs, key, key2):
    a, b = outs.get(("meta", 1)), outs.get(("meta", 3))
    if a and b:
        same = open(os.path.join(a, "metadata_p.csv"), "rb").read() == \
            open(os.path.join(b, "metadata_p.csv"), "rb").read()
        check(same, "stable: metadata CSV differs between 1 and 3 ranks")
    # append: two folders, then all; against one run over all
    app, fresh = os.path.join(work, "app"), os.path.join(work, "fresh")
    c1, c2, cf = [os.path.join(work, "app%d.yaml" % i) for i in (1, 2, 3)]
    write_config(c1, folders[:2], app, True, True, key)
    write_config(c2, folders, app, True, True, key)
    write_config(cf, folders, fresh, True, True, key)
    for c, n in ((c1, 3), (c2, 2), (cf, 1)):
        rc, log = crawl(binary, c, n)
        check(rc == 0, "stable: append run %s exit %d\n%s" % (c, rc, log[-1500:]))
    r = subprocess.run([sys.executable, os.path.join(HERE, "compare_outputs.py"), "--rows-as-sets",
                        "--ignore-attr", "config", app, fresh], stdout=subprocess.PIPE, text=True)
    check(r.returncode == 0, "stable: append differs from one run:\n" + r.stdout[-3000:])
    # another key: no pseudonym in common
    other = os.path.join(work, "key2")
    cfg = other + ".yaml"
    write_config(cfg, folders, other, False, False, key2)
    rc, log = crawl(binary, cfg, 1)
    if check(rc == 0 and a, "stable: key2 run exit %d" % rc):
        t1 = open(os.path.join(a, "metadata_p.csv"), encoding="utf-8").read()
        t2 = open(os.path.join(other, "metadata_p.csv"), encoding="utf-8").read()
        p1 = set(re.findall(r"2\.25\.\d+|[FNP][0-9a-f]{16}", t1))
        p2 = set(re.findall(r"2\.25\.\d+|[FNP][0-9a-f]{16}", t2))
        check(len(p1) > 20 and not (p1 & p2), "stable: another key shares %d pseudonyms" % len(p1 & p2))


def case_pixels(binary, work, folders, key, needles):
    import h5py
    plain, priv = os.path.join(work, "plain"), os.path.join(work, "priv")
    mapf = os.path.join(work, "map.tsv")
    c1, c2 = os.path.join(work, "plain.yaml"), os.path.join(work, "priv.yaml")
    write_config(c1, folders, plain, True, True, None)
    write_config(c2, folders, priv, True, True, key, "  map_file: %s\n" % mapf)
    for c in (c1, c2):
        rc, log = crawl(binary, c, 2)
        check(rc == 0, "pixels: %s exit %d\n%s" % (c, rc, log[-1500:]))
        LOGS[c] = log
    # control: the same search finds the values in a crawl without the profile
    plain_hits = leaks(needles, all_output_bytes(plain))
    check(len(plain_hits) > 30, "control: only %d identifying values found without the profile "
          "(the leak search would miss leaks)" % len(plain_hits))
    if not os.path.exists(mapf):
        check(False, "pixels: no map file written")
        return {}
    mapping = read_map(mapf)
    check(not os.path.exists(os.path.join(priv, "map.tsv")), "pixels: map inside output")
    with h5py.File(os.path.join(plain, "pixel_data_p.h5"), "r") as fp, \
            h5py.File(os.path.join(priv, "pixel_data_p.h5"), "r") as fq:
        check(len(fp.keys()) == len(fq.keys()) and len(fp.keys()) >= 4,
              "pixels: %d datasets vs %d" % (len(fp.keys()), len(fq.keys())))
        for name in fq.keys():
            folder, uid = name.split("_", 1)
            orig = mapping.get(folder, (None, None))[1]
            ouid = mapping.get(uid, (None, uid))[1]
            if not check(orig is not None, "pixels: folder pseudonym %s not in the map" % folder):
                continue
            plain_name = orig.replace("/", "_") + "_" + ouid
            if not check(plain_name in fp, "pixels: %s -> %s not in the plain crawl" % (name, plain_name)):
                continue
            a, b = fp[plain_name], fq[name]
            check(a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a[()], b[()]),
                  "pixels: %s differs from %s" % (name, plain_name))
            check(b.attrs["source_folder"] == folder, "pixels: source_folder %r" % b.attrs["source_folder"])
            check(b.attrs["series_instance_uid"] == uid, "pixels: series attribute")
            # the secondary capture patient; the MR says BurnedInAnnotation YES
            why = "secondary capture" if "山田太郎" in orig else \
                "BurnedInAnnotation YES" if "Иванов" in orig else None
            flagged = re.findall(r"pixels may show burned-in text \(([^)]*)\)", b.attrs["warnings"])
            check(flagged == ([why] if why else []), "pixels: burned-in flag %s for %s (warnings %r)" % (
                flagged, orig, b.attrs["warnings"]))
            check(b.attrs.get("may_show_burned_in_text") == ("YES" if why else "NO"),
                  "pixels: may_show_burned_in_text %r for %s" % (b.attrs.get("may_show_burned_in_text"), orig))
    return mapping


PSEUDONYM = re.compile(rb"(?<![0-9A-Za-z.])(2\.25\.[0-9]{1,39}|[FNP][0-9a-f]{16})(?![0-9a-zA-Z])")


def case_map(work, files, corpus, mapping):
    """privacy.map_file is complete: every pseudonym in every byte of the
    outputs (CSV, HDF5 names and attributes) and the log of the crawl that
    wrote the map is in it, and maps back to a value pydicom reads (UIDs at
    any depth, Patient IDs), a folder or a file name of the input; each
    row's patient pseudonym maps to its own Patient ID"""
    priv = os.path.join(work, "priv")
    uids, pids, series_pid = set(), set(), {}
    for path in files:
        if "scan7" in path:
            continue
        ds = pydicom.dcmread(path)
        pids.add(str(ds.PatientID))
        series_pid[str(ds.SeriesInstanceUID)] = str(ds.PatientID)
        uids.add(str(ds.file_meta.MediaStorageSOPInstanceUID))

        def walk(d):
            for el in d:
                if el.VR == "SQ":
                    for item in el.value:
                        walk(item)
                elif el.VR == "UI" and el.value:
                    vals = el.value if isinstance(el.value, pydicom.multival.MultiValue) else [el.value]
                    uids.update(str(v) for v in vals)
        walk(ds)
    dirs = {os.path.dirname(f) for f in files}
    names = {os.path.basename(f) for f in files}
    found = set()
    for name, data in all_output_bytes(priv) + [("log", LOGS.get(os.path.join(work, "priv.yaml"), b""))]:
        for m in PSEUDONYM.findall(data):
            found.add((m.decode(), name))
    kinds = {}
    for ps, where in sorted(found):
        if not check(ps in mapping, "map: pseudonym %s (in %s) is not in the map" % (ps, where)):
            continue
        kind, orig = mapping[ps]
        kinds.setdefault(kind, set()).add(ps)
        ok = {"uid": orig in uids, "patient": orig in pids,
              "folder": orig in dirs or os.path.isdir(orig) and orig.startswith(corpus),
              "file": orig in names}.get(kind, False)
        check(ok, "map: %s (in %s) maps to %s %r, which the input does not hold" % (ps, where, kind, orig))
    kinds = {k: len(v) for k, v in kinds.items()}
    check(set(kinds) == {"uid", "patient", "folder", "file"} and kinds["uid"] >= 15,
          "map: pseudonyms found by kind %s" % kinds)
    header, rows = read_csv(os.path.join(priv, "metadata_p.csv"))
    cid, cser = col_by_tag(header, 0x00100020), col_by_tag(header, 0x0020000E)
    for r in rows:
        ser = mapping.get(r[cser], (None, None))[1]
        check(mapping.get(r[cid], (None, None))[1] == series_pid.get(ser, "?"),
              "map: patient %s of series %s maps to %r" % (r[cid], ser, mapping.get(r[cid])))
    print("  map file: %d pseudonyms found in the outputs and the log, all mapped (%s)" % (
        len({p for p, _ in found}), ", ".join("%s %d" % kv for kv in sorted(kinds.items()))))


def case_burned_in(outs, files, mapping):
    """the burned-in column: with the profile every row has dcmcrawl's block
    (0dc1,0010) DCMCRAWL and (0dc1,1001) YES/NO, YES exactly when pydicom reads
    BurnedInAnnotation YES or a secondary capture SOP class in the scan's files"""
    series_of = {}
    for path in files:
        if "scan7" in path:
            continue  # the truncated copy: unreadable, no row
        ds = pydicom.dcmread(path)
        risk = str(ds.get("BurnedInAnnotation", "")).strip() == "YES" or \
            str(ds.SOPClassUID).startswith(SC)
        series_of.setdefault(str(ds.SeriesInstanceUID), set()).add(risk)
    check(sorted(len(v) for v in series_of.values()) == [1] * len(series_of),
          "burned-in: a series mixes files with and without the risk (corpus)")
    seen = set()
    for np_ in (1, 3):
        out = outs.get(("meta", np_))
        if not out:
            continue
        header, rows = read_csv(os.path.join(out, "metadata_p.csv"))
        cflag, ccreator = col_by_tag(header, 0x0DC11001), col_by_tag(header, 0x0DC10010)
        cser = col_by_tag(header, 0x0020000E)
        if not check(cflag and ccreator and cser, "burned-in np%d: columns missing in %s" % (
                np_, header)):
            continue
        for r in rows:
            check(r[ccreator] == "DCMCRAWL", "burned-in: creator %r" % r[ccreator])
            orig = mapping.get(r[cser], (None, None))[1]
            if not check(orig in series_of, "burned-in: series %r not in the map" % r[cser]):
                continue
            want = "YES" if True in series_of[orig] else "NO"
            check(r[cflag] == want, "burned-in np%d: %s for series %s, pydicom says %s" % (
                np_, r[cflag], orig, want))
            seen.add(want)
    check(seen == {"YES", "NO"}, "burned-in: values seen %s (both expected)" % seen)


def case_dates(binary, work, folders, key, needles):
    out = os.path.join(work, "dates")
    cfg = out + ".yaml"
    write_config(cfg, folders, out, False, False, key, "  retain_dates: shift\n")
    os.chmod(key, 0o600)
    rc, log = crawl(binary, cfg, 1)
    if not check(rc == 0, "dates: exit %d\n%s" % (rc, log[-1500:])):
        return
    check(b"can be read by other users" not in log, "dates: key warning with a private key file")
    found = leaks(needles, all_output_bytes(out) + [("log", log)])
    check(not found, "dates: shifted crawl leaks %s" % found[:10])
    header, rows = read_csv(os.path.join(out, "metadata_p.csv"))
    cd, ct, cid = col_by_tag(header, 0x00080020), col_by_tag(header, 0x00080030), col_by_tag(header, 0x00100020)
    shifts = {}
    for r in rows:
        pid = r[cid]
        check(r[ct] == "101500", "dates: Study Time changed to %r" % r[ct])
        d = datetime.date(int(r[cd][:4]), int(r[cd][4:6]), int(r[cd][6:8]))
        shifts.setdefault(pid, set()).add(d)
    # each patient had one study date; the shifted ones: one per patient, back 1..3652 days
    check(len(shifts) == len(PATIENTS), "dates: %d patients" % len(shifts))
    originals = [datetime.date(2019, 3, 10 + k) for k in range(len(PATIENTS))]
    deltas = set()
    for pid, ds in shifts.items():
        check(len(ds) == 1, "dates: patient %s has %d shifted study dates" % (pid, len(ds)))
        d = next(iter(ds))
        ok = [(o - d).days for o in originals if 1 <= (o - d).days <= 3652]
        check(ok, "dates: %s is not 1..3652 days before any study date" % d)
        deltas.add(d)
    check(len(deltas) > 1, "dates: every patient shifted alike")


def tag_of(column):
    m = re.search(r"\(([0-9a-fA-F]{4}), ([0-9a-fA-F]{4})\)$", column)
    return int(m.group(1) + m.group(2), 16) if m else None


def is_nested(column):
    t = column[: column.rfind("(")]
    return "_" in t


def case_columns(binary, work, folders):
    """output.columns without a profile: the kept columns are exactly the plain
    crawl's minus (resp. restricted to) the rules, with the same values"""
    from pydicom.datadict import keyword_for_tag
    runs = {}
    for name, extra in (("plain", ""),
                        ("exclude", "  columns: {exclude: [private, sequences, \"*Date\", "
                                    "\"(0010,*)\", binary]}\n"),
                        ("include", "  columns: {include: [Modality, \"(0020,0032)\", "
                                    "ReferencedImageSequence]}\n")):
        out = os.path.join(work, "cols_" + name)
        cfg = out + ".yaml"
        write_config(cfg, folders, out, False, False, None)
        text = open(cfg).read().replace("  volumes: false\n", "  volumes: false\n" + extra)
        open(cfg, "w").write(text)
        rc, log = crawl(binary, cfg, 1)
        if not check(rc == 0, "columns %s: exit %d\n%s" % (name, rc, log[-1500:])):
            return
        runs[name] = read_csv(os.path.join(out, "metadata_p.csv"))
    ph, prows = runs["plain"]
    plain = {r["Scan ID"]: r for r in prows}

    def dropped(c):
        t = tag_of(c)
        kw = keyword_for_tag(t) if t is not None else ""
        return (t is not None and (t >> 16) & 1) or is_nested(c) or (t is not None and t >> 16 == 0x10) \
            or kw.endswith("Date")
    want = [c for c in ph if not dropped(c)]
    eh, erows = runs["exclude"]
    check(eh == want, "columns exclude: header %s\n  expected %s" % (
        sorted(set(eh) ^ set(want)), len(want)))
    ih, irows = runs["include"]
    want_inc = ["Scan ID", "No. DICOMs in scan"] + [
        c for c in ph if tag_of(c) in (0x00080060, 0x00200032) and not is_nested(c)
        or is_nested(c) and (c.startswith("ReferencedImageSequence_") or
                          c.startswith("Referenced Image Sequence_"))]
    check(ih == want_inc, "columns include: header %s, expected %s" % (ih, want_inc))
    check(len([c for c in ih if is_nested(c)]) == 2, "columns include: nested columns %s" % ih)
    for h, rows in ((eh, erows), (ih, irows)):
        for r in rows:
            p = plain.get(r["Scan ID"])
            if check(p is not None, "columns: row %s not in the plain crawl" % r["Scan ID"]):
                bad = [c for c in h if r[c] != p.get(c)]
                check(not bad, "columns: values differ from the plain crawl in %s" % bad[:5])
    check(len(erows) == len(prows) and len(irows) == len(prows), "columns: row counts")


def case_select(binary, work, folders):
    """input.select: the scans left out are the ones the rules name, counted by
    reason in the log; an append with a wider selection adds exactly the newly
    selected scans"""
    out = os.path.join(work, "sel")
    base = os.path.join(work, "sel_base.yaml")
    write_config(base, folders, out, True, True, None)
    text = open(base).read()
    sel1 = text.replace("output:\n", "  select: {modality: [CT, OT], exclude_burned_in: true, "
                        "min_slices: 2}\noutput:\n")
    sel2 = text.replace("output:\n", "  select: {modality: [CT, MR], min_slices: 2}\noutput:\n")
    c1, c2 = os.path.join(work, "sel1.yaml"), os.path.join(work, "sel2.yaml")
    open(c1, "w").write(sel1)
    open(c2, "w").write(sel2)
    rc, log = crawl(binary, c1, 2)
    if not check(rc == 0, "select: exit %d\n%s" % (rc, log[-1500:])):
        return
    # patients: 0 CT (3 slices) kept, 1 MR left out (modality), 2 OT secondary
    # capture left out (burned in), 3 CT kept; the CT file without a UID is a
    # series of 1 slice (min_slices); the truncated file stays unreadable
    check(b"dcmcrawl: 3 scans left out by input.select (1 modality, 1 exclude_burned_in, "
          b"1 min_slices)\n" in log,  # the end-of-run summary line (also an info line)
          "select: summary line missing:\n%s" % log.decode(errors="replace")[-800:])
    header, rows = read_csv(os.path.join(out, "metadata_p.csv"))
    cmod = col_by_tag(header, 0x00080060)
    check(sorted(r[cmod] for r in rows) == ["CT", "CT"], "select: rows %s" % [r[cmod] for r in rows])
    check(os.path.exists(os.path.join(out, "unreadable_files_p.csv")), "select: unreadable lost")
    rc, log = crawl(binary, c2, 1)
    check(rc == 0 and b"2 scans left out by input.select (1 modality, 1 min_slices)" in log,
          "select: append run: exit %d\n%s" % (rc, log.decode(errors="replace")[-800:]))
    header, rows = read_csv(os.path.join(out, "metadata_p.csv"))
    cmod = col_by_tag(header, 0x00080060)
    check(sorted(r[cmod] for r in rows) == ["CT", "CT", "MR"],
          "select: after the append %s" % [r[cmod] for r in rows])


def case_config(binary, work, folders, key):
    short = os.path.join(work, "short.key")
    open(short, "w").write("tooshort\n")
    cases = [("no key", "privacy:\n  profile: basic\n"),
             ("missing key", "privacy:\n  profile: basic\n  key_file: %s/nokey\n" % work),
             ("short key", "privacy:\n  profile: basic\n  key_file: %s\n" % short),
             ("map inside", "privacy:\n  profile: basic\n  key_file: %s\n  map_file: %s/cfgout/m.tsv\n"
              % (key, work))]
    for what, extra in cases:
        out = os.path.join(work, "cfgout")
        shutil.rmtree(out, ignore_errors=True)
        cfg = os.path.join(work, "cfg_err.yaml")
        write_config(cfg, folders, out, False, False, None, extra)
        rc, log = crawl(binary, cfg, 1)
        check(rc == 2, "config %s: exit %d, expected 2" % (what, rc))
        check(b"privacy." in log, "config %s: message does not name the key: %r" % (what, log[-300:]))
        check(not os.path.exists(out), "config %s: output folder created" % what)
    # --dry-run writes nothing, not even the map file
    out, mapf = os.path.join(work, "dry"), os.path.join(work, "dry_map.tsv")
    cfg = os.path.join(work, "cfg_dry.yaml")
    write_config(cfg, folders, out, False, False, key, "  map_file: %s\n" % mapf)
    rc, log = crawl(binary, cfg, 1, ["--dry-run"])
    check(rc == 0 and not os.path.exists(out) and not os.path.exists(mapf),
          "config dry-run: exit %d, output %s, map %s" % (rc, os.path.exists(out), os.path.exists(mapf)))


def case_table():
    """src/privacy/privacy_table.c is what the committed generator makes of the committed table"""
    r = subprocess.run(["/usr/bin/python3", os.path.join(REPO, "tools", "gen_privacy_table.py")],
                       stdout=subprocess.PIPE, check=True)
    committed = open(os.path.join(REPO, "src", "privacy", "privacy_table.c"), "rb").read()
    check(r.stdout == committed, "table: src/privacy/privacy_table.c differs from tools/gen_privacy_table.py's "
          "output (run it again)")
    check(committed.count(b"0xFFFFFFFFU, \"") > 400, "table: fewer than 400 exact rows")


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    binary = os.path.abspath(args[0])
    keep = "--keep" in args
    work = args[args.index("--work") + 1] if "--work" in args else tempfile.mkdtemp(prefix="dc_priv_")
    os.makedirs(work, exist_ok=True)
    corpus = os.path.join(work, "corpus")
    shutil.rmtree(corpus, ignore_errors=True)
    folders = make_corpus(corpus)
    files = sorted(glob.glob(os.path.join(corpus, "**", "*.dcm"), recursive=True))
    key, key2 = os.path.join(work, "key1"), os.path.join(work, "key2.bin")
    open(key, "w").write("a" * 10 + "9f3c1d7e5b2a48c6d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f\n")
    open(key2, "wb").write(bytes(range(40, 90)))
    case_table()
    needles, outs = case_leak(binary, work, folders, files, key, corpus)
    case_profile(outs, files)
    mapping = case_pixels(binary, work, folders, key, needles)
    if mapping:
        explained = case_gdcm(work, outs, files, mapping)
        check(bool(explained), "gdcm: no difference found at all (comparison did not run?)")
        case_burned_in(outs, files, mapping)
        case_map(work, files, corpus, mapping)
    case_stable(binary, work, folders, outs, key, key2)
    case_dates(binary, work, folders, key, needles)
    case_config(binary, work, folders, key)
    case_columns(binary, work, folders)
    case_select(binary, work, folders)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    if PROBLEMS:
        print("test_privacy: %d problems" % len(PROBLEMS))
        for p in PROBLEMS:
            print("  " + p)
        return 1
    print("test_privacy: ok (%d identifying values searched in %d outputs; profile, gdcmanon, "
          "ranks, append, keys, pixels, dates, config, columns, select)" % (len(needles), len(outs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
