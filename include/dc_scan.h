/*
 * dc_scan.h - scans: what becomes one CSV row and one HDF5 dataset.
 *
 * dc_group_records() turns file records into scans (SPEC 3): one per file in
 * per-file mode, one per series (split when inconsistent) in volume mode,
 * with Scan IDs built exactly as SPEC 3 says.  dc_stack_scan() orders a
 * volume's slices and computes its shape and geometry attributes (SPEC 4, 5).
 * Both are pure: plain structs in, plain structs out.
 */
#ifndef DC_SCAN_H
#define DC_SCAN_H

#include <stdint.h>
#include "dc_record.h"

enum dc_dtype { DC_DT_U8 = 0, DC_DT_I8, DC_DT_U16, DC_DT_I16, DC_DT_U32, DC_DT_I32, DC_DT_F32, DC_DT_F64 };
int dc_dtype_size(int dtype);
const char *dc_dtype_name(int dtype);

typedef struct {
    char *scan_id;
    uint32_t scope;
    int unreadable;     /* 1: goes to unreadable_files with reason */
    char *reason;

    /* the slices in stored order: slice k is frame slice_frame[k] of record
     * slice_rec[k] (index into the record array) */
    uint32_t n_slices;
    uint32_t *slice_rec;
    uint32_t *slice_frame;
    uint32_t n_files;      /* "No. DICOMs in scan": distinct files */
    uint32_t first_rec;    /* record whose header is the CSV row (first slice) */
    uint32_t example_rec;  /* record for "Example file" */

    /* output dataset */
    int ndim;              /* 2..5 */
    uint64_t dims[5];      /* in layout order */
    int dtype;             /* enum dc_dtype of the stored values */
    uint32_t rows, cols, samples;

    /* attributes (SPEC 4) */
    char series_uid[DC_UID_LEN], study_uid[DC_UID_LEN];
    char modality[17], photometric[17];
    int bits_stored;
    char slice_order[16];   /* "position", "instance", "filename", "single" */
    double spacing[3];      /* z, y, x mm */
    double affine[16];      /* row major, index (z,y,x) -> LPS mm */
    uint32_t n_positions;   /* rows of slice_positions (slices along z) */
    double *slice_positions;/* n_positions x 3, NULL when unknown */
    int32_t *instance_numbers; /* n_slices, INT32_MIN when absent */
    uint32_t n_rescale;     /* 1 (scalar) or n_slices */
    double *rescale_slope, *rescale_intercept;
    int uniform_spacing;
    char *warnings;         /* "" when none; "; " separated */
    uint32_t n_duplicates;  /* files dropped as duplicate SOPInstanceUID */

    uint64_t cost;          /* bytes to read, for load balancing */
} dc_scan;

typedef struct {
    int volumes;            /* volume mode */
    int split_inconsistent;
    int slice_order;        /* enum dc_slice_order */
    int layout;             /* enum dc_layout */
    int rescale;            /* store float32 rescaled values */
    int write_pixeldata;    /* no pixel data is unreadable only when writing pixels */
} dc_group_opts;

void dc_scan_free(dc_scan *s);

/* IN recs[n] (any order), file_paths[] indexed by dc_record.file_idx (for
 * file-name order and stems), scope_ids[] (dc_scope_id of each scope),
 * scope_is_input[] (for "no DICOM files in folder"), opts.
 * OUT *scans (malloc'd array, *n_scans), sorted by Scan ID; records of kind
 * NOT_DICOM/DICOMDIR are not in any scan.  Every scan is stacked already
 * (dc_stack_scan called). */
int dc_group_records(const dc_record *recs, size_t n, const char *const *file_paths,
                     const char *const *scope_ids,
                     const uint8_t *scope_is_input, size_t n_scopes, const dc_group_opts *opts,
                     dc_scan **scans, size_t *n_scans);

/* Order the slices of one volume scan and fill shape and attributes.  May set
 * unreadable with a reason.  file_paths[] indexed by dc_record.file_idx is used
 * for the file-name order. */
int dc_stack_scan(const dc_record *recs, const char *const *file_paths, const dc_group_opts *opts,
                  dc_scan *scan);

/* serialisation for MPI */
void dc_scan_pack(const dc_scan *s, dc_buf *out);
int dc_scan_unpack(const char **p, const char *end, dc_scan *s);

#endif
