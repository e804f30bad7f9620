/*
 * dc_seg.h - DICOM Segmentation objects (SEG) to label volumes (SPEC 13).
 *
 * Three pure steps, so that a run can do them wherever the data is:
 *   1. dc_seg_read: the SEG's attributes from a parsed dataset (segments,
 *      segmentation type, each frame's segment number and plane).
 *   2. dc_seg_place: each frame's place on a grid (dc_grid.h), found from its
 *      plane position, never from frame order.  The grid is the referenced
 *      image volume's; when a frame does not lie on it (other orientation or
 *      spacing, position between slices or off the pixel grid, outside the
 *      grid) the SEG keeps a grid of its own, dc_seg_own_grid, and a warning
 *      says why.
 *   3. dc_seg_put_frame: one decoded frame (dc_decode_frames gives uint8
 *      values: 1-bit BINARY frames unpacked to 0/1, bit order and frames not
 *      starting on a byte boundary as PS3.5 8.1.1 says; FRACTIONAL frames
 *      0..MaximumFractionalValue) into its segment's volume.
 *
 * Output design: a leading segment axis.  The label volumes of a SEG are
 * one uint8 (z, y, x) volume per segment on the grid, consecutive in memory
 * in SegmentSequence order: together a (segments, z, y, x) array, so
 * label[i] (z, y, x) is voxel (z, y, x) of the image (SPEC 13) and segment
 * number segment_numbers[i].  Why an axis rather than one dataset per
 * segment: a SEG stays one scan with one dataset (the checkpoint, index and
 * resume protocols pair one dataset with one metadata row), h5py reads one
 * segment as ds[i] without the others, and overlapping segments (a voxel may
 * be in several) need one channel each anyway, so no single label map.
 * BINARY: 0/1.  FRACTIONAL: 0..MaximumFractionalValue as stored (probability
 * or occupancy = value / MaximumFractionalValue).  Voxels no frame covers are
 * 0.  Two frames of one segment on one plane combine by maximum.
 * LABELMAP (Supplement 243): each frame is a plane of segment numbers
 * (BitsAllocated 8 or 16, 0 or a number not in SegmentSequence: no segment);
 * frames have no segment of their own (frame_segment -1) and the output is
 * the same leading axis, label[i] = 1 where the value is segment_numbers[i]
 * (dc_seg_put_labelmap_frame fills all segments' planes of one z).
 */
#ifndef DC_SEG_H
#define DC_SEG_H

#include <stdint.h>

#include "dc_dicom.h"
#include "dc_grid.h"

#define DC_SEG_TEXT 256 /* text attributes (LO is 64 characters; UTF-8 may take 4 bytes each) */

/* a coded concept: CodeValue (or LongCodeValue / URNCodeValue),
 * CodingSchemeDesignator, CodeMeaning; "" when absent */
typedef struct {
    char value[DC_SEG_TEXT];
    char scheme[65];
    char meaning[DC_SEG_TEXT];
} dc_code;

typedef struct {
    uint16_t number;                  /* SegmentNumber */
    char label[DC_SEG_TEXT];          /* SegmentLabel */
    char description[DC_SEG_TEXT];    /* SegmentDescription */
    char algorithm_type[17];          /* SegmentAlgorithmType: AUTOMATIC, SEMIAUTOMATIC, MANUAL */
    char algorithm_name[DC_SEG_TEXT]; /* SegmentAlgorithmName */
    dc_code category;                 /* SegmentedPropertyCategoryCodeSequence item 0 */
    dc_code type;                     /* SegmentedPropertyTypeCodeSequence item 0 */
} dc_segment;

enum dc_seg_type { DC_SEG_BINARY = 0, DC_SEG_FRACTIONAL = 1, DC_SEG_LABELMAP = 2 };

typedef struct {
    int type;                 /* enum dc_seg_type */
    char fractional_type[17]; /* SegmentationFractionalType: PROBABILITY, OCCUPANCY, "" */
    uint16_t max_fractional;  /* MaximumFractionalValue (1 for BINARY) */
    uint32_t rows, cols, n_frames;
    double spacing[2]; /* PixelSpacing (row, column) from the functional groups */
    uint32_t n_segments;
    dc_segment *segments; /* in SegmentSequence order */
    /* per frame (n_frames): index into segments (-1: number not in SegmentSequence
     * or missing), plane position and orientation (has_plane 0: missing) */
    int32_t *frame_segment;
    uint16_t *label_index; /* LABELMAP: pixel value -> segment index + 1 (0: none), 65536
                              entries; NULL otherwise */
    double *frame_ipp;     /* n_frames x 3 */
    double *frame_iop;     /* n_frames x 6 */
    uint8_t *has_plane;
    char frame_of_reference[65]; /* FrameOfReferenceUID */
} dc_seg_info;

void dc_seg_info_free(dc_seg_info *s);

/* Read a SEG's attributes.  IN ds (a parsed file; pixel data need not be
 * loaded).  Returns 0, or -1 with a reason in err ("not a segmentation:
 * SegmentSequence missing", "segment item 2 has no valid SegmentNumber",
 * "unsupported SegmentationType X", "BINARY segmentation with BitsAllocated
 * 8, expected 1", "LABELMAP segmentation with BitsAllocated 1, expected 8 or 16", "FRACTIONAL
 * segmentation needs BitsAllocated 8 and MaximumFractionalValue 1..255", "segmentation with
 * SamplesPerPixel 3, expected 1", "missing Rows/Columns", "PixelSpacing missing", "frame 3
 * references no segment of SegmentSequence", "frame 3 has no plane position
 * or orientation"). */
int dc_seg_read(const dc_dataset *ds, dc_seg_info *s, char *err, size_t errlen);

/* where one frame goes: segment index and (z, y0, x0) of its first pixel */
typedef struct {
    int32_t segment;
    uint32_t z, y0, x0;
} dc_seg_place_t;

/* Place every frame on grid g (tol: DC_GRID_POS_TOL).  OUT place[n_frames].
 * Returns 0 when every frame lies on the grid; 1 when one does not, with
 * "frame N: <reason>" in why (place then unusable: build dc_seg_own_grid and
 * place again). */
int dc_seg_place(const dc_seg_info *s, const dc_grid *g, double tol, dc_seg_place_t *place,
                 char *why, size_t whylen);

/* Frame planes closer than this along the normal are one plane of the own
 * grid: far above the rounding of DS positions (~1e-6 mm), far below any
 * slice spacing. */
#define DC_SEG_SAME_PLANE_MM 1e-3

/* The SEG's own grid: the frames' orientation and pixel spacing, rows x cols,
 * one slice per distinct plane position along the normal (ascending, planes
 * closer than DC_SEG_SAME_PLANE_MM merged), slice_positions those planes
 * (frame 1's in-plane origin moved along the normal); tol is the placement
 * tolerance every frame is then checked with.  Returns 0, or -1 with why
 * ("frame N: <reason> on the segmentation's own grid": frames of several
 * orientations, or at in-plane offsets off frame 1's pixel grid). */
int dc_seg_own_grid(const dc_seg_info *s, double tol, dc_grid *g, char *why, size_t whylen);

/* Combine one decoded frame (rows x cols uint8) into the slice p->z of its
 * segment: slice is that plane (g->ny x g->nx uint8, zeroed by the caller
 * before its first frame), combined by maximum. */
void dc_seg_put_frame(const dc_seg_info *s, const dc_grid *g, const dc_seg_place_t *p,
                      const uint8_t *frame, uint8_t *slice);

/* LABELMAP: combine one decoded frame (rows x cols uint16 segment numbers,
 * dc_decode_frames with DC_DT_U16) into the planes p->z of every segment:
 * slices holds n_segments planes of g->ny x g->nx uint8 (segment i's plane
 * at i x ny x nx), zeroed by the caller; a voxel becomes 1 in the plane of
 * the segment its value numbers. */
void dc_seg_put_labelmap_frame(const dc_seg_info *s, const dc_grid *g, const dc_seg_place_t *p,
                               const uint16_t *frame, uint8_t *slices);

/* The order to write frames in, one output plane at a time: OUT order[n]
 * = frame indices sorted by (segment, z, frame index).  Runs of equal
 * (segment, z) fill one slice; planes no frame covers stay 0.  Memory: one
 * slice, whatever the SEG's size. */
void dc_seg_write_order(const dc_seg_place_t *place, uint32_t n, uint32_t *order);

#endif
