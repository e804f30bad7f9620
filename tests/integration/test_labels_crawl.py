#!/usr/bin/python3
"""test_labels_crawl.py BINARY - SEG and RTSTRUCT in the crawl (issue 14, SPEC 13):
references_<id>.csv and label datasets in labels_<id>.h5, resolved across folders,
windows, runs and kills.

Corpus (pydicom, tests/gen/make_labels.py), crawled recursively from data/:
  data/a_seg/     a binary SEG, 3 segments, shuffled frames, over the CT in data/ct
                  (walked BEFORE its CT; run.window_files 3: the SEG and the CT are in
                  different windows)
  data/ct/        the CT (10 slices, with a gap)
  data/rt/        an RTSTRUCT over the CT (convex, concave, hole, islands, POINT)
  data/u_ct/, data/u_seg/  an evenly spaced CT and a SEG over two of its slices
  data/y_badseg/  a SEG whose frame names a segment it does not define (labels: reason)
  data/z_orphan/  a SEG over a series that is not in the crawl
Oracles: the truth volumes the SEG was made from and a numpy reconstruction from
pydicom's reading of it (test_labels.pydicom_reconstruction); the numpy even-odd
rasteriser of test_labels.py for the RTSTRUCT (shown there to equal plastimatch);
pydicom's reading of the reference sequences for references_<id>.csv.
Runs:
  1 rank and 3 ranks: identical outputs, content as above
  append: run 1 crawls data/a_seg (its CT not crawled: references without a Scan
          ID, an unreadable row), run 2 data/ct too: resolved, the row gone, the
          outputs equal to the single run's
  kill: SIGKILL while label datasets are written (DCMCRAWL_SLOW on phase labels),
        rerun: identical to the uninterrupted run
  metadata only: the same references CSV (from the header pass), no labels
  pydicom's own test files (SEG/RTSTRUCT among them) crawl without failure.
"""
import csv
import glob
import hashlib
import hmac
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import h5py
import numpy as np
import pydicom

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gen"))
sys.path.insert(0, os.path.join(HERE, "..", "kill"))
sys.path.insert(0, HERE)
import dcmgen  # noqa: E402
import make_labels as ml  # noqa: E402
import test_labels as TL  # noqa: E402
import test_privacy as TP  # noqa: E402
import kcommon as K  # noqa: E402

FAILS = []
UIDS = dcmgen.UidMaker()
STUDY = UIDS("study")
TL.UIDS, TL.STUDY = UIDS, STUDY


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def make_corpus(base):
    rng = np.random.default_rng(141)
    geom = ml.Geometry.stack(37, 43, (0.8, 0.7), dcmgen.iop_axial(), (-20, -15, 30),
                             [0, 2.5, 5, 7.5, 12.5, 15, 17.5, 20, 22.5, 25])
    for d in ("a_seg", "ct", "rt", "z_orphan"):
        os.makedirs(os.path.join(base, d))
    series, sops, paths = ml.write_ct(base + "/ct", UIDS, STUDY, geom)
    nz = len(geom.positions)
    truth = np.stack([TL.blobs(rng, (nz, 37, 43)) for _ in range(3)])
    frames = TL.frames_of(truth, geom, sops, [range(nz)] * 3, rng)
    seg = ml.write_seg(base + "/a_seg/seg.dcm", UIDS, STUDY, series, sops, TL.geom_of_frames(geom, frames),
                       TL.seg_segments(3), frames)
    rgeom = ml.Geometry(37, 43, geom.spacing, geom.iop, geom.positions)
    rois = [r for r in TL.rt_rois(rgeom, sops) if r["number"] != 11]
    rt = ml.write_rtstruct(base + "/rt/rtss.dcm", UIDS, STUDY, series, sops, STUDY + ".77", rois)
    ghost = UIDS("series")
    frames2 = [(1, geom.positions[k], truth[0, k], None) for k in range(3)]
    orphan = ml.write_seg(base + "/z_orphan/seg.dcm", UIDS, STUDY, ghost, [], geom, TL.seg_segments(1), frames2)
    # a CT with even spacing (the ledger keeps its affine only) and a SEG over 2 of its 3 slices
    ugeom = ml.Geometry.stack(20, 24, (1.1, 0.9), dcmgen.iop_axial(), (5, -7, -30), [0, 3, 6])
    os.makedirs(os.path.join(base, "u_ct"))
    os.makedirs(os.path.join(base, "u_seg"))
    useries, usops, upaths = ml.write_ct(base + "/u_ct", UIDS, STUDY, ugeom, seed=7)
    utruth = TL.blobs(rng, (1, 3, 20, 24))
    utruth[0, 1] = 0
    uframes = [(1, ugeom.positions[k], utruth[0, k], usops[k]) for k in (2, 0)]
    useg = ml.write_seg(base + "/u_seg/seg.dcm", UIDS, STUDY, useries, usops, ugeom, TL.seg_segments(1), uframes)
    # a SEG whose frame 2 names a segment SegmentSequence lacks: no labels, a reason
    os.makedirs(os.path.join(base, "y_badseg"))
    bframes = [(1, geom.positions[k], truth[0, k], sops[k]) for k in range(3)]
    bframes[1] = (7,) + bframes[1][1:]
    badseg = ml.write_seg(base + "/y_badseg/seg.dcm", UIDS, STUDY, series, sops, geom, TL.seg_segments(1), bframes)
    return dict(geom=geom, series=series, paths=paths, truth=truth, seg=seg, rt=rt, rois=rois,
                ghost=ghost, orphan=orphan, useries=useries, utruth=utruth, useg=useg, badseg=badseg)


def write_config(path, folders, out, window_files=3):
    with open(path, "w") as fh:
        fh.write("input:\n  folders: [%s]\n  recursive: true\n" % ", ".join('"%s"' % f for f in folders))
        fh.write("output:\n  folder: %s\n  id: L\n  write_pixeldata: true\n  volumes: true\n" % out)
        fh.write("run:\n  progress: never\n  commit_every: 2\n  window_files: %d\n" % window_files)


def crawl(binary, work, cfg, np_=1, slow=None, log="log.txt"):
    return K.run(binary, work, [cfg], np=np_, log=os.path.join(work, log), slow=slow)


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def labels_of(out):
    """{scan_id: (array, attrs)} of labels_L.h5"""
    res = {}
    path = os.path.join(out, "labels_L.h5")
    if not os.path.exists(path):
        return res
    with h5py.File(path, "r") as f:
        for n in f:
            attrs = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in f[n].attrs.items()}
            res[n] = (f[n][()], attrs)
    return res


def outputs(out):
    """everything a user sees, for comparing runs"""
    labels = labels_of(out)
    refs = read_csv(os.path.join(out, "references_L.csv"))
    unread = read_csv(os.path.join(out, "unreadable_files_L.csv"))
    meta = [r[:2] for r in read_csv(os.path.join(out, "metadata_L.csv"))]
    return refs, sorted(map(tuple, unread)), sorted(map(tuple, meta)), labels


def same_outputs(a, b):
    if a[:3] != b[:3] or sorted(a[3]) != sorted(b[3]):
        return False
    for n in a[3]:
        (x, ax), (y, ay) = a[3][n], b[3][n]
        if x.shape != y.shape or not np.array_equal(x, y) or repr(sorted(ax.items())) != repr(sorted(ay.items())):
            return False
    return True


def check_content(c, out, tag):
    ct_id = "data_ct_" + c["series"]
    seg_id = "data_a_seg_" + pydicom.dcmread(c["seg"]).SeriesInstanceUID
    rt_id = "data_rt_" + pydicom.dcmread(c["rt"]).SeriesInstanceUID
    orphan_id = "data_z_orphan_" + pydicom.dcmread(c["orphan"]).SeriesInstanceUID
    refs = read_csv(os.path.join(out, "references_L.csv"))
    check(refs and refs[0] == ["Scan ID", "Reference", "Referenced Scan ID", "Referenced Series Instance UID",
                               "Referenced SOP Instance UID", "Referenced Study Instance UID",
                               "Referenced Frame of Reference UID", "No. referenced instances"],
          "%s: references header" % tag)
    body = refs[1:]
    # oracle: pydicom's reading of the reference sequences
    seg = pydicom.dcmread(c["seg"])
    n_ref = len(seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence)
    seg_rows = [r for r in body if r[0] == seg_id]
    check(seg_rows == [[seg_id, "referenced_series", ct_id, c["series"], "", "", "", str(n_ref)],
                       [seg_id, "source_image", ct_id, c["series"], "", "", "", str(len(c["paths"]))]],
          "%s: SEG -> its CT's Scan ID (%d instances; source images' series from the SEG's "
          "ReferencedSeriesSequence): %s" % (tag, n_ref, seg_rows))
    rt = pydicom.dcmread(c["rt"])
    rser = rt.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
    rt_rows = [r for r in body if r[0] == rt_id]
    check(any(r[1] == "rt_referenced_series" and r[2] == ct_id and r[3] == rser.SeriesInstanceUID
              and r[7] == str(len(rser.ContourImageSequence)) for r in rt_rows),
          "%s: RTSTRUCT -> its CT's Scan ID: %s" % (tag, rt_rows[:1]))
    orow = [r for r in body if r[0] == orphan_id]
    check(len(orow) == 1 and orow[0][1:4] == ["referenced_series", "", c["ghost"]],
          "%s: SEG over a series not crawled: no Scan ID, its UID: %s" % (tag, orow))
    check([r[0] for r in body] == sorted(r[0] for r in body), "%s: rows in Scan ID order" % tag)
    unread = read_csv(os.path.join(out, "unreadable_files_L.csv"))
    want = ["referenced series %s not crawled" % c["ghost"], orphan_id + "_labels", "1"]
    check(sum(1 for r in unread if r[:3] == want) == 1, "%s: unreadable row for the orphan SEG, once" % tag)
    bad_id = "data_y_badseg_" + pydicom.dcmread(c["badseg"]).SeriesInstanceUID
    want = ["labels: frame 2 references no segment of SegmentSequence", bad_id + "_labels", "1"]
    check(sum(1 for r in unread if r[:3] == want) == 1, "%s: unreadable row for the broken SEG, once" % tag)
    labels = labels_of(out)
    useg_id = "data_u_seg_" + pydicom.dcmread(c["useg"]).SeriesInstanceUID
    uct_id = "data_u_ct_" + c["useries"]
    check(sorted(labels) == sorted([seg_id, rt_id, useg_id]), "%s: label datasets %s" % (tag, sorted(labels)))
    if useg_id in labels:
        arr, at = labels[useg_id]
        with h5py.File(os.path.join(out, "pixel_data_L.h5"), "r") as f:
            upos = f[uct_id].attrs["slice_positions"]
        check(np.array_equal(arr, c["utruth"]) and at.get("referenced_scan_id") == uct_id
              and np.allclose(at["slice_positions"], upos, atol=1e-6),
              "%s: SEG over an evenly spaced CT (2 of 3 slices): labels, slice positions" % tag)
    if seg_id in labels:
        arr, at = labels[seg_id]
        rec = TL.pydicom_reconstruction(c["seg"], c["paths"])
        check(arr.dtype == np.uint8 and arr.shape == c["truth"].shape and np.array_equal(arr, c["truth"])
              and np.array_equal(arr, rec), "%s: SEG labels equal the truth and pydicom's reconstruction (%d set)"
              % (tag, int(c["truth"].sum())))
        check(at.get("label_kind") == "seg" and at.get("referenced_scan_id") == ct_id
              and at.get("grid") == "image" and at.get("segment_numbers") == [1, 2, 3]
              and at.get("segment_labels") == ["structure %d" % i for i in (1, 2, 3)]
              and at.get("segmentation_type") == "BINARY"
              and at.get("segment_type_codes")[0] == list(TL.TYPES[0]), "%s: SEG attributes %s" % (tag, at))
        with h5py.File(os.path.join(out, "pixel_data_L.h5"), "r") as f:
            ct = f[ct_id]
            check(np.allclose(ct.attrs["affine"], at["affine"]) and ct.shape == arr.shape[1:],
                  "%s: SEG on its CT's grid (affine, shape)" % tag)
    if rt_id in labels:
        arr, at = labels[rt_id]
        exp = np.stack([TL.even_odd_reference(c["geom"], [ct for ct in rtc["contours"]]) for rtc in c["rois"]])
        check(arr.shape == exp.shape and np.array_equal(arr, exp),
              "%s: RTSTRUCT masks equal the numpy even-odd rasteriser (%d set)" % (tag, int(exp.sum())))
        check(at.get("label_kind") == "rtstruct" and at.get("referenced_scan_id") == ct_id
              and at.get("roi_numbers") == [r["number"] for r in c["rois"]]
              and at.get("roi_names") == [r["name"] for r in c["rois"]]
              and at.get("roi_colors") == [list(r["color"]) for r in c["rois"]]
              and at.get("roi_interpreted_types") == [r["type"] for r in c["rois"]], "%s: RTSTRUCT attributes" % tag)
    # the README's three lines (run as written there): an image's labels by its Scan ID
    readme = open(os.path.join(HERE, "..", "..", "README.md")).read()
    code = re.search(r"```py\n(import h5py\nwith h5py.File\(\"out/labels_example3.h5.*?)```", readme, re.S)
    env = {}
    if code:
        exec(code.group(1).replace("out/labels_example3.h5", os.path.join(out, "labels_L.h5"))
             .replace('"X"', repr(ct_id)), env)
    check(code and sorted(env.get("labels", {})) == sorted([seg_id, rt_id])
          and np.array_equal(env["labels"][seg_id], c["truth"]),
          "%s: the README's three lines find the CT's labels by referenced_scan_id" % tag)


# ------------------------------------------------------------ privacy.profile

PATIENT = dict(PatientName="Smithfield^Johnathan", PatientID="PID778899", PatientBirthDate="19610203")


def stamp(path, **extra):
    """the patient's identifying values (and extra attributes) into a written file"""
    ds = pydicom.dcmread(path)
    for k, v in list(PATIENT.items()) + list(extra.items()):
        setattr(ds, k, v)
    ds.save_as(path)


def make_private_corpus(base):
    """a CT and a SEG and an RTSTRUCT over it in sibling folders whose names
    identify the patient; segment labels and ROI names that name him too"""
    rng = np.random.default_rng(1414)
    uids = dcmgen.UidMaker()
    study = uids("study")
    geom = ml.Geometry.stack(37, 43, (0.8, 0.7), dcmgen.iop_axial(), (-20, -15, 30),
                             [0, 2.5, 5, 7.5, 12.5, 15, 17.5, 20, 22.5, 25])
    dirs = {k: os.path.join(base, "Smithfield_Johnathan_" + k) for k in ("CT", "SEG", "RT")}
    for d in dirs.values():
        os.makedirs(d)
    series, sops, paths = ml.write_ct(dirs["CT"], uids, study, geom)
    truth = np.stack([TL.blobs(rng, (len(sops), 37, 43)) for _ in range(2)])
    frames = TL.frames_of(truth, geom, sops, [range(len(sops))] * 2, rng)
    seg = ml.write_seg(dirs["SEG"] + "/seg_PID778899.dcm", uids, study, series, sops,
                       TL.geom_of_frames(geom, frames), TL.seg_segments(2), frames)
    rois = [r for r in TL.rt_rois(geom, sops) if r["number"] in (1, 2, 3)]
    rt = ml.write_rtstruct(dirs["RT"] + "/rtss_Johnathan.dcm", uids, study, series, sops, study + ".77", rois)
    for p in paths:
        stamp(p)
    ds = pydicom.dcmread(seg)
    ds.SegmentSequence[0].SegmentLabel = "Johnathan liver"
    ds.SegmentSequence[1].SegmentDescription = "drawn for PID778899"
    ds.save_as(seg)
    stamp(seg)
    ds = pydicom.dcmread(rt)
    ds.StructureSetROISequence[0].ROIName = "Smithfield tumour"
    ds.save_as(rt)
    stamp(rt)
    return dict(ct=paths, seg=seg, rt=rt, truth=truth, files=paths + [seg, rt])


def write_private_config(path, folder, out, key, extra=""):
    write_config(path, [folder], out)
    with open(path, "a") as fh:
        fh.write("privacy:\n  profile: basic\n  key_file: %s\n%s" % (key, extra))


def by_kind(labels):
    return {a["label_kind"]: (n, x, a) for n, (x, a) in labels.items()}


def check_private_outputs(out, tag, plain, pc):
    """references and labels present, pointing at the pseudonymous CT, arrays as without the profile"""
    meta = read_csv(os.path.join(out, "metadata_L.csv"))
    head = meta[0] if meta else []
    col = lambda t: head.index(TP.col_by_tag(head, t)) if TP.col_by_tag(head, t) else None  # noqa: E731
    im, iser = col(0x00080060), col(0x0020000E)
    ct = [r for r in meta[1:] if im is not None and r[im] == "CT"]
    check(len(ct) == 1 and iser is not None and ct[0][iser].startswith("2.25."),
          "%s: one CT scan with a pseudonymous series UID in the metadata" % tag)
    if len(ct) != 1 or iser is None:
        return
    ct_id, ct_series = ct[0][0], ct[0][iser]
    refs = read_csv(os.path.join(out, "references_L.csv")) if os.path.exists(
        os.path.join(out, "references_L.csv")) else []
    to_ct = [r for r in refs[1:] if r[2] == ct_id]
    # the RTSTRUCT (no pixel data) has its row in unreadable_files, the SEG in metadata
    others = {r[0] for r in meta[1:] if r[im] == "SEG"} | {
        r[1] for r in read_csv(os.path.join(out, "unreadable_files_L.csv"))[1:] if r[0] == "no pixel data"}
    check(len(refs) > 1 and {r[0] for r in to_ct} == others and len(others) == 2
          and all(r[3] == ct_series for r in to_ct),
          "%s: references of the SEG and the RTSTRUCT name the pseudonymous CT Scan ID and series UID" % tag)
    uid_cols = [r[i] for r in refs[1:] for i in (3, 4, 5, 6) if r[i]]
    check(uid_cols and all(u.startswith("2.25.") for u in uid_cols), "%s: every UID in references is a pseudonym" % tag)
    labels = by_kind(labels_of(out))
    check(sorted(labels) == ["rtstruct", "seg"], "%s: a SEG and an RTSTRUCT label dataset (%s)" % (tag, sorted(labels)))
    for kind, (name, x, a) in labels.items():
        pn, px, pa = plain.get(kind, (None, None, {}))
        check(a["scan_id"] == name and a["referenced_scan_id"] == ct_id
              and a["referenced_series_instance_uid"] == ct_series,
              "%s %s: attributes name the pseudonymous Scan IDs and series UID" % (tag, kind))
        check(px is not None and np.array_equal(x, px), "%s %s: label array equal to the crawl without profile" % (tag, kind))
        check(np.array_equal(a["affine"], pa.get("affine")), "%s %s: same grid as without profile" % (tag, kind))
    return labels


def pseudonymous_uid(key, uid):
    """the profile's UID pseudonym (README "Privacy"): 2.25.<first 128 bits of HMAC-SHA256(key, "U" 0 uid)>"""
    k = open(key, "rb").read().rstrip(b"\n")
    return "2.25.%d" % int.from_bytes(hmac.new(k, b"U\0" + uid.encode(), hashlib.sha256).digest()[:16], "big")


def case_private_reason(binary, work, pc, key, needles):
    """a label that cannot be made: its reason names no original UID (a UID-like
    SegmentationType is the message's only variable part)"""
    base = os.path.join(work, "pdata_bad")
    shutil.copytree(os.path.join(work, "pdata"), base)
    os.makedirs(os.path.join(base, "Smithfield_Johnathan_BADSEG"))
    ds = pydicom.dcmread(pc["seg"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not a valid CS, on purpose
        ds.SegmentationType = "1.2.3.4.5"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1011.99.1"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.10.1011.99.2"
    bad = os.path.join(base, "Smithfield_Johnathan_BADSEG", "seg.dcm")
    ds.save_as(bad)
    cfg = os.path.join(work, "out_bad.yaml")
    write_private_config(cfg, "pdata_bad", "out_bad", key)
    rc, log = crawl(binary, work, cfg, 1, log="log_bad.txt")
    unread = read_csv(os.path.join(work, "out_bad", "unreadable_files_L.csv"))
    want = "labels: unsupported SegmentationType " + pseudonymous_uid(key, "1.2.3.4.5")
    rows = [r for r in unread if r[0].startswith("labels: ")]
    check(rc == 0 and [r[0] for r in rows] == [want] and rows[0][3].count("/") == 1 and rows[0][3][0] == "F",
          "privacy: a label's reason shows the UID-like value as its pseudonym, the file as F.../N... (%s)" % rows)
    # (the metadata row keeps the CS value itself: the profile keeps SegmentationType)
    blobs = TP.all_output_bytes(os.path.join(work, "out_bad")) + [("log", log.encode())]
    found = TP.leaks(needles | {b"BADSEG"}, blobs) + TP.leaks(
        {b"1.2.3.4.5"}, [b for b in blobs if b[0] in ("unreadable_files_L.csv", "log")])
    check(not found, "privacy, bad SEG: no identifying value in any output byte: %s" % found[:5])


def case_privacy(binary, work):
    pc = make_private_corpus(os.path.join(work, "pdata"))
    key = os.path.join(work, "pkey")
    with open(key, "w") as fh:
        fh.write("0123456789abcdef0123456789abcdef-labels\n")
    os.chmod(key, 0o600)
    cfg = os.path.join(work, "cfg_plain.yaml")
    write_config(cfg, ["pdata"], "out_plain")
    rc, _ = crawl(binary, work, cfg, 1, log="log_plain.txt")
    plain = by_kind(labels_of(os.path.join(work, "out_plain")))
    check(rc == 0 and sorted(plain) == ["rtstruct", "seg"], "privacy: the crawl without profile makes both labels")
    # oracle of the SEG's arrays: the truth it was made from
    check("seg" in plain and np.array_equal(plain["seg"][1], pc["truth"]), "privacy: plain SEG labels == truth")
    needles = TP.identifying_values(pc["files"], [os.path.join(work, "pdata")])
    needles |= {b"Smithfield", b"Johnathan", b"PID778899", os.path.join(work, "pdata").encode()}
    runs = {}
    for np_, extra in ((1, ""), (3, ""), (1, "  clean_descriptors: true\n")):
        tag = "privacy np%d%s" % (np_, " clean" if extra else "")
        out = "out_priv%d%s" % (np_, "c" if extra else "")
        cfgp = os.path.join(work, out + ".yaml")
        write_private_config(cfgp, "pdata", out, key, extra)
        rc, log = crawl(binary, work, cfgp, np_, log="log_%s.txt" % out)
        check(rc == 0, "%s: exit 0 (%s)" % (tag, rc))
        labels = check_private_outputs(os.path.join(work, out), tag, plain, pc)
        blobs = TP.all_output_bytes(os.path.join(work, out)) + [("log", log.encode() if isinstance(log, str) else log)]
        check(any(n.startswith("labels_L.d") for n, _ in blobs), "%s: labels_L.d searched" % tag)
        found = TP.leaks(needles, blobs)
        check(not found, "%s: no identifying value in any output byte (%d searched): %s"
              % (tag, len(needles), found[:5]))
        runs[(np_, extra)] = (outputs(os.path.join(work, out)), labels)
    (o1, l1), (o3, _) = runs[(1, "")], runs[(3, "")]
    check(same_outputs(o1, o3), "privacy: 1 and 3 ranks identical")
    if l1:
        seg_a, rt_a = l1["seg"][2], l1["rtstruct"][2]
        check(list(seg_a["segment_labels"]) == ["", ""] and list(rt_a["roi_names"]) == [""] * len(rt_a["roi_names"]),
              "privacy: segment labels and ROI names removed (descriptors, clean_descriptors false)")
    # another key over the same output: the ledger's sealed paths do not open;
    # label scans whose file is gone get a reason (and no path), the new ones labels
    key2 = os.path.join(work, "pkey2")
    with open(key2, "w") as fh:
        fh.write("fedcba9876543210fedcba9876543210-other\n")
    os.chmod(key2, 0o600)
    shutil.copytree(os.path.join(work, "out_priv1"), os.path.join(work, "out_k2"))
    for f in glob.glob(os.path.join(work, "out_k2", "labels_L.d", "*.h5")):
        os.remove(f)
    cfgk = os.path.join(work, "out_k2.yaml")
    write_private_config(cfgk, "pdata", "out_k2", key2)
    rc, log = crawl(binary, work, cfgk, 1, log="log_k2.txt")
    unread = read_csv(os.path.join(work, "out_k2", "unreadable_files_L.csv"))
    sealed = sorted(r[1] for r in unread if r[0] == "labels: input path sealed under another privacy key")
    old = sorted(n + "_labels" for n in (l1 or {}) and [v[0] for v in l1.values()])
    new = sorted(labels_of(os.path.join(work, "out_k2")))
    check(rc == 0 and sealed == old and len(old) == 2 and len(new) == 2 and not set(new) & set(old),
          "privacy, another key: old label scans say their path is sealed, new ones have labels (%s %s %s)"
          % (rc, sealed, new))
    found = TP.leaks(needles, TP.all_output_bytes(os.path.join(work, "out_k2")) + [("log", log.encode())])
    check(not found, "privacy, another key: no identifying value in any output byte: %s" % found[:5])
    case_private_reason(binary, work, pc, key, needles)
    lc = runs[(1, "  clean_descriptors: true\n")][1]
    if lc:
        names = [str(x) for x in lc["rtstruct"][2]["roi_names"]]
        labs = [str(x) for x in lc["seg"][2]["segment_labels"]]
        descs = [str(x) for x in lc["seg"][2]["segment_descriptions"]]
        check(names[0] == "X tumour" and labs[0] == "X liver" and descs[1] == "drawn for X",
              "privacy clean_descriptors: label text kept with the patient's values as X (%s %s %s)"
              % (names, labs, descs))


def main():
    binary = os.path.abspath(sys.argv[1])
    t0 = time.time()
    work = tempfile.mkdtemp(prefix="dcmcrawl_labels_")
    c = make_corpus(os.path.join(work, "data"))
    cfg = os.path.join(work, "cfg1.yaml")
    write_config(cfg, ["data"], "out1")
    rc, log = crawl(binary, work, cfg, 1)
    check(rc == 0, "1 rank: exit 0" + ("" if rc == 0 else " (%s)" % log[-500:]))
    check_content(c, os.path.join(work, "out1"), "1 rank")
    ref = outputs(os.path.join(work, "out1"))
    check(not K.check_clean(os.path.join(work, "out1"), "L"), "1 rank: outputs clean")

    cfg3 = os.path.join(work, "cfg3.yaml")
    write_config(cfg3, ["data"], "out3")
    rc, log = crawl(binary, work, cfg3, 3)
    check(rc == 0 and same_outputs(ref, outputs(os.path.join(work, "out3"))),
          "3 ranks: outputs identical to 1 rank (%s)" % rc)

    # metadata only: each file read once, references from the header pass, no labels
    cfgm = os.path.join(work, "cfgm.yaml")
    write_config(cfgm, ["data"], "outm")
    with open(cfgm) as fh:
        text = fh.read().replace("write_pixeldata: true", "write_pixeldata: false")
    with open(cfgm, "w") as fh:
        fh.write(text)
    rc, _ = crawl(binary, work, cfgm, 2, log="log_m.txt")
    check(rc == 0 and read_csv(os.path.join(work, "outm", "references_L.csv")) == ref[0]
          and not os.path.exists(os.path.join(work, "outm", "labels_L.h5")),
          "metadata only: the same references_L.csv, no label datasets")

    # append: the SEG first, its CT in a second run
    os.makedirs(os.path.join(work, "only"))
    shutil.copytree(os.path.join(work, "data"), os.path.join(work, "only", "data"))
    shutil.move(os.path.join(work, "only", "data", "ct"), os.path.join(work, "ct_later"))
    cfga = os.path.join(work, "cfga.yaml")
    write_config(cfga, ["only/data"], "outa")
    rc, _ = crawl(binary, work, cfga, 2, log="log_a1.txt")
    refs1 = read_csv(os.path.join(work, "outa", "references_L.csv"))
    seg_row = [r for r in refs1 if r[0].startswith("only_data_a_seg_")]
    unread1 = read_csv(os.path.join(work, "outa", "unreadable_files_L.csv"))
    check(rc == 0 and seg_row and seg_row[0][2] == "" and seg_row[0][3] == c["series"]
          and any(r[0] == "referenced series %s not crawled" % c["series"] for r in unread1),
          "append, run 1 (CT not crawled yet): no Scan ID, unreadable row: %s" % seg_row)
    shutil.move(os.path.join(work, "ct_later"), os.path.join(work, "only", "data", "ct"))
    rc, _ = crawl(binary, work, cfga, 2, log="log_a2.txt")
    refs2 = read_csv(os.path.join(work, "outa", "references_L.csv"))
    seg_row = [r for r in refs2 if r[0].startswith("only_data_a_seg_")]
    unread2 = read_csv(os.path.join(work, "outa", "unreadable_files_L.csv"))
    check(rc == 0 and seg_row and seg_row[0][2] == "only_data_ct_" + c["series"]
          and not any(r[0] == "referenced series %s not crawled" % c["series"] for r in unread2),
          "append, run 2: the SEG resolves to the CT of run 2, its unreadable row gone")
    cfgo = os.path.join(work, "cfgo.yaml")
    write_config(cfgo, ["only/data"], "outo")
    crawl(binary, work, cfgo, 2, log="log_o.txt")
    a, o = outputs(os.path.join(work, "outa")), outputs(os.path.join(work, "outo"))
    check(a[0] == o[0] and same_outputs(a, o), "append: outputs equal to one run over everything")

    # kill while label datasets are written, then rerun
    cfgk = os.path.join(work, "cfgk.yaml")
    write_config(cfgk, ["data"], "outk")
    job = K.Job(binary, work, [cfgk], np=2, trace=os.path.join(work, "trace_k"), slow="labels:1500",
                log=os.path.join(work, "log_k.txt"))
    hit = job.wait_for(lambda ln: ln[2] == "labels" and ln[3] == 2, timeout=120)
    job.kill_all()
    job.wait(30)
    check(hit and not os.path.exists(os.path.join(work, "outk", "labels_L.h5")),
          "kill: killed during the label phase (one label file written), before the label index")
    rc, _ = crawl(binary, work, cfgk, 2, log="log_k2.txt")
    check(rc == 0 and same_outputs(ref, outputs(os.path.join(work, "outk"))), "kill: rerun identical (%s)" % rc)
    check(not K.check_clean(os.path.join(work, "outk"), "L"), "kill: outputs clean after the rerun")

    # pydicom's own test files (SEG and RTSTRUCT among them) do not break the crawl
    pyd = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
    os.makedirs(os.path.join(work, "pyd"))
    n = 0
    for p in sorted(glob.glob(os.path.join(pyd, "*.dcm"))):
        try:
            m = pydicom.dcmread(p, stop_before_pixels=True).get("Modality", "")
        except Exception:
            continue
        if m in ("SEG", "RTSTRUCT", "RTPLAN", "RTDOSE", "SR", "KO", "PR", "REG"):
            shutil.copy(p, os.path.join(work, "pyd"))
            n += 1
    cfgp = os.path.join(work, "cfgp.yaml")
    write_config(cfgp, ["pyd"], "outp", window_files=1000)
    rc, log = crawl(binary, work, cfgp, 2, log="log_p.txt")
    prow = read_csv(os.path.join(work, "outp", "references_L.csv")) if rc == 0 else []
    check(rc == 0 and n > 0 and len(prow) > 1, "pydicom's %d referencing files: exit %s, %d reference rows"
          % (n, rc, len(prow) - 1))

    case_privacy(binary, work)

    print("test_labels_crawl: %s (%.1f s)" % ("FAIL" if FAILS else "PASS", time.time() - t0))
    if not FAILS:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("work dir kept: " + work)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
