/*
 * dc_scan.h - scans: what becomes one CSV row and one HDF5 dataset.
 *
 * dc_group_records() turns file records into scans (SPEC 3): one per file in
 * per-file mode, one per series (split when inconsistent) in volume mode,
 * with Scan IDs built exactly as SPEC 3 says.  dc_stack_scan() orders a
 * volume's slices and computes its shape and geometry attributes (SPEC 4, 5).
 * Both are pure: plain structs in, plain structs out.
 *
 * Conventions (the contract for h5out, plan and the tests):
 *
 * Stored order.  slice_rec[k]/slice_frame[k] name the k-th stored 2D frame.
 * For a 4D volume k = r * (n_slices / n_repeats) + z (repeat-major).
 * A tiled record (vendor.tiling set: a Siemens mosaic, dc_vendor.h) is one
 * frame holding n_tiles slices: its slices are items of their own, and
 * slice_frame[k] is then the tile, (rows, cols) the size of one tile.  A
 * series of mosaics thus stacks as any series (one repeat per file); with
 * slice_order instance/filename the files are the repeats.
 *
 * Shapes (samples > 1 adds a trailing axis of `samples`, interleaved):
 *   zyx   per-file 2D     (rows, cols)
 *         per-file frames (frames, rows, cols)       frames in file order
 *         volume 3D       (slices, rows, cols)       also for 1 slice
 *         volume 4D       (repeats, slices, rows, cols)
 *   seed  per-file 2D     (1, rows, cols)
 *         per-file frames (1, rows, cols, frames)
 *         volume 3D       (1, rows, cols, slices)
 *         volume 4D       (1, rows, cols, repeats, slices)
 *         4D colour would need 6 axes: (1, rows, cols, repeats*slices, 3), with
 *         a warning saying so.
 * In every layout the frame axes are the non-image axes, the last one running
 * fastest over k, so a writer can place frame k from the dims alone.
 *
 * slice_order: "position", "instance", "filename" (the rule that was used,
 * after fallbacks); "frame" for a multi-frame file kept in file order (no
 * usable per-frame positions, or slice_order instance/filename); "single"
 * for every per-file scan (one file, frames in file order).
 *
 * Geometry.  spacing = (z, y, x) mm, 0 when unknown.  y, x from PixelSpacing
 * (row spacing, column spacing).  z: median |distance| along the normal
 * between consecutive stored positions (first repeat); else
 * SpacingBetweenSlices, else SliceThickness.  affine (row major) maps the index
 * (z, y, x, 1) to LPS mm in every layout: column x = row cosine * spacing x,
 * column y = column cosine * spacing y, column z = (last - first position) /
 * (slices - 1) when positions are known (tilt included), else normal *
 * spacing z; translation = first stored position.  Where something is
 * unknown the affine uses identity cosines, spacing 1 or origin 0, and in
 * volume mode a warning says so.
 *
 * warnings: "; " separated, "" when none.  Texts (numbers %.3f mm, %.2f deg):
 *   "duplicate SOPInstanceUID, not stacked: <file names>"
 *   "no pixel data, not stacked: <file names>"
 *   "<why>: ordered by InstanceNumber|file name|frame order" (fallbacks; why:
 *     "ImagePositionPatient missing", "ImageOrientationPatient missing",
 *     "orientation differs between frames", "InstanceNumber missing",
 *     "uneven repeated positions (P positions, A to B slices each)")
 *   "non-uniform slice spacing: A to B mm (median M)"
 *   "gap of G mm between slices i and i+1 (median spacing M)" (0-based)
 *   "gantry tilt D degrees"
 *   "N duplicate slice positions"
 *   "slice positions not monotonic in stored order"
 *   "affine assumes <identity orientation|unit pixel spacing|unit slice spacing|origin 0>"
 *   "palette color LUTs differ between slices: attributes hold the first slice's"
 *   "palette color LUTs missing in some slices: attributes hold the first slice's"
 *   vendor notes of the records (dc_vendor_vals.note, the first one, with
 *   " (N files)" when several files have one), e.g. "mosaic of 48 images does
 *   not tile 256x256: stored whole", "CSA header: ...: slices along row x
 *   column cosines, no slice times"
 *
 * Palette.  palette is the first stored slice's dc_palette (PALETTE COLOR
 * images keep their indices; the tables go to attributes).
 */
#ifndef DC_SCAN_H
#define DC_SCAN_H

#include <stdint.h>
#include "dc_record.h"
#include "dc_xattr.h"

enum dc_dtype {
    DC_DT_U8 = 0,
    DC_DT_I8,
    DC_DT_U16,
    DC_DT_I16,
    DC_DT_U32,
    DC_DT_I32,
    DC_DT_F32,
    DC_DT_F64
};
int dc_dtype_size(int dtype);
const char *dc_dtype_name(int dtype);

/* first_rec/example_rec of a scan without any file ("no DICOM files in folder") */
#define DC_NO_REC UINT32_MAX

typedef struct {
    char *scan_id;
    uint32_t scope;
    int unreadable; /* 1: goes to unreadable_files with reason */
    char *reason;   /* NULL unless unreadable */

    /* the slices in stored order: slice k is frame slice_frame[k] of record
     * slice_rec[k] (index into the record array).  Unreadable scans from
     * grouping have none (n_slices 0). */
    uint32_t n_slices;
    uint32_t *slice_rec;
    uint32_t *slice_frame;
    uint32_t n_files;     /* "No. DICOMs in scan": distinct files */
    uint32_t first_rec;   /* record whose header is the CSV row (first slice) */
    uint32_t example_rec; /* record for "Example file" */

    /* output dataset */
    int ndim;         /* 2..5 */
    uint64_t dims[5]; /* in layout order (see above) */
    int dtype;        /* enum dc_dtype of the stored values */
    uint32_t rows, cols, samples;
    uint32_t n_repeats; /* 4D: repeats per position; 1 otherwise */

    /* attributes (SPEC 4) */
    char series_uid[DC_UID_LEN], study_uid[DC_UID_LEN];
    char modality[17], photometric[17]; /* photometric of the stored (decoded) pixels */
    int bits_stored;
    char slice_order[16];      /* "position", "instance", "filename", "frame", "single" */
    double spacing[3];         /* z, y, x mm */
    double affine[16];         /* row major, index (z,y,x) -> LPS mm */
    uint32_t n_positions;      /* rows of slice_positions (slices along z); 0 when NULL */
    double *slice_positions;   /* n_positions x 3, NULL when unknown */
    int32_t *instance_numbers; /* n_slices, INT32_MIN when absent */
    uint32_t n_rescale;        /* 1 (scalar) or n_slices (varies) */
    double *rescale_slope, *rescale_intercept;
    int uniform_spacing;
    dc_palette *palette;   /* palette color LUTs of the first stored slice, NULL when none */
    char *warnings;        /* "" when none; "; " separated */
    uint32_t n_duplicates; /* files dropped as duplicate SOPInstanceUID */
    dc_xattrs xattrs;      /* vendor conventions' attributes (dc_vendor_scan_attrs) */
    /* stacking's one allocation (dc_stack_scan): slice_rec, slice_frame,
     * instance_numbers and, while rescale_in_block, the rescale arrays point
     * into it; NULL when each array is its own (unpacked scans, tests).  Replace
     * the rescale arrays only after dc_scan_free_rescale; the others are never
     * replaced once stacked. */
    void *slices_block;
    int rescale_in_block;

    uint64_t cost; /* bytes to read, for load balancing: sum of the
                      stacked files' sizes when writing pixel data,
                      else the first file's size; 0 when unreadable */
} dc_scan;

typedef struct {
    int volumes; /* volume mode */
    int split_inconsistent;
    int slice_order;     /* enum dc_slice_order */
    int layout;          /* enum dc_layout */
    int rescale;         /* store float32 rescaled values */
    int write_pixeldata; /* no pixel data is unreadable only when writing pixels */
    uint64_t max_image_bytes; /* run.max_image_bytes: ceiling of one scan's decoded bytes
                                 (0: DC_DEFAULT_MAX_IMAGE_BYTES); larger is unreadable */
    int philips_scaling; /* enum dc_philips_scaling (output.philips_scaling) */
} dc_group_opts;

/* Vendor conventions on a stacked scan (vendor.c, vendor_philips.c): the
 * records' notes into the warnings w, and s->xattrs: slice_times (mosaic
 * tiles' MosaicRefAcqTimes), repeat_axis and repeat_* (4D), philips_*
 * (with philips_scaling floating also dtype float32 and the rescale arrays
 * = Philips' floating-point slope and intercept).  Called by stack.c. */
void dc_vendor_scan_attrs(const dc_record *recs, dc_scan *s, const dc_group_opts *o, dc_buf *w);
void dc_philips_scan_attrs(const dc_record *recs, dc_scan *s, const dc_group_opts *o);

void dc_scan_free(dc_scan *s);
/* Free the rescale arrays (set NULL), wherever they live (slices_block). */
void dc_scan_free_rescale(dc_scan *s);

/* IN recs[n] (any order), file_paths[] indexed by dc_record.file_idx (for
 * file-name order and stems), scope_ids[] (dc_scope_id of each scope),
 * scope_is_input[] (for "no DICOM files in folder"), opts.
 * OUT *scans (malloc'd array, *n_scans), sorted by Scan ID (strcmp); records
 * of kind NOT_DICOM/DICOMDIR are not in any scan.  Every scan is stacked
 * already (dc_stack_scan called).  The output does not depend on the order
 * of recs (only the record indices in slice_rec etc. do).
 *
 * Rules beyond SPEC 3:
 * - "file name order" is plain byte order (strcmp) of the file path; within
 *   a scope that is the order of the names.
 * - BAD records: one unreadable scan each, scope id + "_" + file stem.
 * - Volume mode: files without pixel data are left out of a series that has
 *   some with pixel data (warning); a series without any is unreadable
 *   "no pixel data" when writing pixels (else stacked for its CSV row).
 * - Consistency parts are formed in file-name order, each file joining the
 *   first part whose first file has the same Rows, Columns, SamplesPerPixel,
 *   BitsAllocated and orientation (every IOP value within 1e-4; files without
 *   IOP only match each other), SeriesNumber (files without one only match
 *   each other) and mosaic tiling (NumberOfImagesInMosaic, 0 for ordinary
 *   images).  Each multi-frame file is a part of its own;
 *   one whose frames have several orientations (per-frame functional groups,
 *   2 to 16 of them) gives one part per orientation (its frames in file
 *   order; parts of one file ordered by first frame; warning "multi-frame
 *   file split by orientation: frames 1-3, 7 of 9"); with split_inconsistent
 *   false it is one unreadable part, "inconsistent orientation".
 *   Several parts: suffixes _1, _2, ... by lowest InstanceNumber, parts
 *   without any InstanceNumber after those with, ties by first file name.
 *   split_inconsistent false: the single-frame files form one unreadable
 *   part, reason "inconsistent Rows/Columns" (or SamplesPerPixel,
 *   BitsAllocated, orientation, SeriesNumber, NumberOfImagesInMosaic: the
 *   first that differs).
 * - Scan IDs are made unique at the end: a repeated ID (per-file copies of
 *   one SOPInstanceUID, or two stems alike) gets "_k" on its k-th holder by
 *   file name (the next free k should "_k" be taken).
 * - "no DICOM files in folder": a scope with scope_is_input set whose tree
 *   has no DICOM or BAD record.  Its tree is the scope and the scopes after
 *   it up to the next input scope (the walk lists each input folder and then
 *   its subfolders).
 * Returns 0, or -1 on bad arguments. */
int dc_group_records(const dc_record *recs, size_t n, const char *const *file_paths,
                     const char *const *scope_ids, const uint8_t *scope_is_input, size_t n_scopes,
                     const dc_group_opts *opts, dc_scan **scans, size_t *n_scans);

/* Order the slices of one scan and fill shape and attributes.
 * IN scan->slice_rec[scan->n_slices]: the scan's records, one per file, any
 * order (slice_frame NULL: every frame of each); or, with slice_frame set,
 * the 2D frames to stack: frame slice_frame[k] of record slice_rec[k] (a part
 * of a multi-frame file split by orientation; a frame beyond the record's
 * makes it return -1).  scan->warnings may hold warnings to keep; the other
 * pointers NULL.  A scan already marked unreadable (with its reason)
 * only gets n_files, first_rec, example_rec and uids/modality filled.
 * OUT slice_rec/slice_frame (one per stored 2D frame), n_files, first_rec,
 * example_rec, shape, dtype, geometry, warnings, uids/modality/photometric.
 * opts->volumes 0 means a per-file scan (exactly one record).  May set
 * unreadable with a reason ("no pixel data", "missing Rows/Columns"; when
 * writing pixel data, bounds checked before anything is allocated: a file
 * whose native frames do not fit in it, "truncated pixel data: ...", or a
 * file or stack beyond opts->max_image_bytes, "image of N bytes exceeds
 * run.max_image_bytes (M)").
 * file_paths[] indexed by dc_record.file_idx is used for the file-name order.
 * Returns 0, or -1 on bad arguments. */
int dc_stack_scan(const dc_record *recs, const char *const *file_paths, const dc_group_opts *opts,
                  dc_scan *scan);

/* serialisation for MPI: every field round-trips exactly.  unpack fills s
 * (fresh: no need to init) and returns 0, or -1 on garbage (s then empty). */
void dc_scan_pack(const dc_scan *s, dc_buf *out);
int dc_scan_unpack(const char **p, const char *end, dc_scan *s);

#endif
