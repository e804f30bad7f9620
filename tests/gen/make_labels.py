"""make_labels.py - synthetic label objects for the label tests: CT series,
DICOM SEG (binary 1-bit and fractional) and RTSTRUCT written with pydicom.

Building blocks only (test_labels.py decides what to build): every function
takes the geometry and the truth (label volumes, contour polygons) from the
caller, so the test knows the expected answer without asking the code under
test.  Deterministic (UIDs from dcmgen.UidMaker).
"""
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

import dcmgen
from dcmgen import fmt_ds

SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
LABELMAP_SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.7"
RTSTRUCT_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"


class Geometry:
    """An image grid: rows x cols pixels, pixel spacing (row, col) mm,
    orientation iop, slice positions (n x 3, LPS mm)."""

    def __init__(self, rows, cols, spacing, iop, positions):
        self.rows, self.cols = rows, cols
        self.spacing = tuple(spacing)
        self.iop = list(iop)
        self.positions = np.asarray(positions, dtype=float)

    @classmethod
    def stack(cls, rows, cols, spacing, iop, origin, offsets):
        """slices at origin + normal * offset for each offset (mm)"""
        n = dcmgen.normal_of(iop)
        pos = [np.asarray(origin, dtype=float) + n * o for o in offsets]
        return cls(rows, cols, spacing, iop, pos)

    def voxel_to_lps(self, k, y, x):
        r = np.asarray(self.iop[:3]); c = np.asarray(self.iop[3:])
        return self.positions[k] + r * x * self.spacing[1] + c * y * self.spacing[0]


def write_ct(dirpath, uids, study, geom, seed=1):
    """One CT slice per position; returns (series_uid, [sop uids], [paths])."""
    rng = np.random.default_rng(seed)
    series = uids("series")
    sops, paths = [], []
    for k, p in enumerate(geom.positions):
        arr = rng.integers(0, 2000, size=(geom.rows, geom.cols))
        ds = dcmgen.image_dataset(uids, dcmgen.CT_STORAGE, study, series, "CT", arr, bits_alloc=16,
                                  bits_stored=12, signed=False, ipp=p, iop=geom.iop,
                                  pixel_spacing=geom.spacing, instance=k + 1, thickness=1.0,
                                  slope=1, intercept=-1024)
        sops.append(ds.SOPInstanceUID)
        paths.append(dcmgen.save(ds, "%s/ct_%03d.dcm" % (dirpath, k)))
    return series, sops, paths


def code(value, scheme, meaning):
    d = Dataset()
    d.CodeValue, d.CodingSchemeDesignator, d.CodeMeaning = value, scheme, meaning
    return d


def segment_item(number, label, category, prop, algorithm="MANUAL"):
    it = Dataset()
    it.SegmentNumber = number
    it.SegmentLabel = label
    it.SegmentAlgorithmType = algorithm
    if algorithm != "MANUAL":
        it.SegmentAlgorithmName = "dcmcrawl test"
    it.SegmentedPropertyCategoryCodeSequence = Sequence([code(*category)])
    it.SegmentedPropertyTypeCodeSequence = Sequence([code(*prop)])
    return it


def frame_item(ipp, segment, source_sop):
    fr = Dataset()
    pp = Dataset(); pp.ImagePositionPatient = [fmt_ds(v) for v in ipp]
    fc = Dataset(); fc.DimensionIndexValues = [segment or 1, 1]
    fr.FrameContentSequence = Sequence([fc])
    fr.PlanePositionSequence = Sequence([pp])
    if segment is not None:  # a LABELMAP frame holds every segment
        si = Dataset(); si.ReferencedSegmentNumber = segment
        fr.SegmentIdentificationSequence = Sequence([si])
    if source_sop:
        src = Dataset()
        src.ReferencedSOPClassUID = dcmgen.CT_STORAGE
        src.ReferencedSOPInstanceUID = source_sop
        der = Dataset()
        der.SourceImageSequence = Sequence([src])
        fr.DerivationImageSequence = Sequence([der])
    return fr


def new_object(uids, study, sop_class, modality, series_number=1, charset=None):
    """a new instance of sop_class in a new series of study, patient module filled"""
    sop = uids("sop")
    ds = dcmgen.new_file_dataset(sop_class, sop)
    dcmgen.base_patient(ds, study, charset=charset)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop
    ds.Modality = modality
    ds.SeriesInstanceUID = uids("series")
    ds.SeriesNumber = series_number
    ds.InstanceNumber = 1
    return ds


def write_seg(path, uids, study, ref_series, ref_sops, geom, segments, frames, *, fractional=0,
              for_uid=None, charset=None, labelmap_bits=0):
    """A SEG.  segments: segment_item()s.  frames: list of (segment number,
    ipp, 2D array of 0/1 (binary) or 0..fractional, source sop or None), in
    the order they are to be stored.  fractional: MaximumFractionalValue
    (0: BINARY, 1-bit packed across frame boundaries as PS3.5 8.1.1).
    charset: SpecificCharacterSet the text is written in.  labelmap_bits 8 or
    16: a LABELMAP SEG (Supplement 243), frames of segment numbers, frame
    tuples with segment None."""
    ds = new_object(uids, study, LABELMAP_SEG_STORAGE if labelmap_bits else SEG_STORAGE, "SEG", 100, charset)
    ds.FrameOfReferenceUID = for_uid or (study + ".77")
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.ContentLabel = "LABELS"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = geom.rows, geom.cols
    ds.NumberOfFrames = len(frames)
    ds.BitsAllocated = labelmap_bits or (8 if fractional else 1)
    ds.BitsStored = ds.BitsAllocated
    ds.HighBit = ds.BitsAllocated - 1
    ds.PixelRepresentation = 0
    ds.LossyImageCompression = "00"
    if labelmap_bits:
        ds.SegmentationType = "LABELMAP"
    elif fractional:
        ds.SegmentationType = "FRACTIONAL"
        ds.SegmentationFractionalType = "PROBABILITY"
        ds.MaximumFractionalValue = fractional
    else:
        ds.SegmentationType = "BINARY"
    ds.SegmentSequence = Sequence(segments)
    ref = Dataset()
    ref.SeriesInstanceUID = ref_series
    ref.ReferencedInstanceSequence = Sequence()
    for s in ref_sops:
        it = Dataset(); it.ReferencedSOPClassUID = dcmgen.CT_STORAGE; it.ReferencedSOPInstanceUID = s
        ref.ReferencedInstanceSequence.append(it)
    ds.ReferencedSeriesSequence = Sequence([ref])
    shared = Dataset()
    po = Dataset(); po.ImageOrientationPatient = [fmt_ds(v) for v in geom.iop]
    pm = Dataset(); pm.PixelSpacing = [fmt_ds(v) for v in geom.spacing]; pm.SliceThickness = "1"
    shared.PlaneOrientationSequence = Sequence([po])
    shared.PixelMeasuresSequence = Sequence([pm])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PerFrameFunctionalGroupsSequence = Sequence([frame_item(p, s, src) for s, p, _, src in frames])
    dtype = np.uint16 if labelmap_bits == 16 else np.uint8
    data = np.stack([np.asarray(a, dtype=dtype) for _, _, a, _ in frames])
    if fractional or labelmap_bits:
        ds.PixelData = data.tobytes()
    else:
        ds.PixelData = np.packbits(data.ravel(), bitorder="little").tobytes()
    ds["PixelData"].VR = "OB"
    return dcmgen.save(ds, path)


def contour_item(points, kind="CLOSED_PLANAR", image_sop=None):
    it = Dataset()
    it.ContourGeometricType = kind
    it.NumberOfContourPoints = len(points)
    it.ContourData = [fmt_ds(v) for p in points for v in p]
    if image_sop:
        ci = Dataset(); ci.ReferencedSOPClassUID = dcmgen.CT_STORAGE; ci.ReferencedSOPInstanceUID = image_sop
        it.ContourImageSequence = Sequence([ci])
    return it


def write_rtstruct(path, uids, study, ref_series, ref_sops, for_uid, rois):
    """An RTSTRUCT.  rois: list of dicts {number, name, color, type,
    contours: [contour_item()...]}."""
    ds = new_object(uids, study, RTSTRUCT_STORAGE, "RTSTRUCT", 200)
    ds.StructureSetLabel = "TEST"
    ds.StructureSetDate, ds.StructureSetTime = "20240102", "120000"
    rser = Dataset(); rser.SeriesInstanceUID = ref_series
    rser.ContourImageSequence = Sequence()
    for s in ref_sops:
        ci = Dataset(); ci.ReferencedSOPClassUID = dcmgen.CT_STORAGE; ci.ReferencedSOPInstanceUID = s
        rser.ContourImageSequence.append(ci)
    rstudy = Dataset(); rstudy.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    rstudy.ReferencedSOPInstanceUID = study
    rstudy.RTReferencedSeriesSequence = Sequence([rser])
    rfor = Dataset(); rfor.FrameOfReferenceUID = for_uid
    rfor.RTReferencedStudySequence = Sequence([rstudy])
    ds.ReferencedFrameOfReferenceSequence = Sequence([rfor])
    ds.StructureSetROISequence = Sequence()
    ds.ROIContourSequence = Sequence()
    ds.RTROIObservationsSequence = Sequence()
    for i, r in enumerate(rois):
        ss = Dataset(); ss.ROINumber = r["number"]; ss.ReferencedFrameOfReferenceUID = for_uid
        ss.ROIName = r["name"]; ss.ROIGenerationAlgorithm = "MANUAL"
        ds.StructureSetROISequence.append(ss)
        rc = Dataset(); rc.ReferencedROINumber = r["number"]; rc.ROIDisplayColor = list(r["color"])
        rc.ContourSequence = Sequence(r["contours"])
        ds.ROIContourSequence.append(rc)
        ob = Dataset(); ob.ObservationNumber = i + 1; ob.ReferencedROINumber = r["number"]
        ob.RTROIInterpretedType = r["type"]; ob.ROIInterpreter = ""
        ds.RTROIObservationsSequence.append(ob)
    return dcmgen.save(ds, path)
