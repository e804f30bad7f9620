/*
 * dc_record.h - what the header pass keeps of each file.
 *
 * A dc_record is the compact summary of one file's header: enough to group
 * files into series, order slices, check consistency, size the output dataset
 * and compute geometry, without keeping the header.  Records travel between
 * ranks as packed bytes (dc_record_pack/unpack).
 */
#ifndef DC_RECORD_H
#define DC_RECORD_H

#include <stdint.h>
#include "dc_dicom.h"
#include "dc_util.h"

enum dc_file_kind {
    DC_FILE_DICOM = 0,     /* parsed; may or may not have pixel data */
    DC_FILE_NOT_DICOM = 1, /* skipped, counted */
    DC_FILE_DICOMDIR = 2,  /* skipped, counted */
    DC_FILE_BAD = 3        /* looks like DICOM but could not be parsed: reason */
};

enum dc_pixel_kind { DC_PIX_NONE = 0, DC_PIX_INT = 1, DC_PIX_FLOAT = 2, DC_PIX_DOUBLE = 3 };

/* position/orientation of one frame of a multi-frame file (functional groups) */
typedef struct {
    double ipp[3];
    double iop[6];
    uint8_t has_ipp, has_iop;
    int32_t temporal;     /* TemporalPositionIndex or -1 */
    int32_t stack_pos;    /* InStackPositionNumber or -1 */
    double slope, intercept; /* per-frame Pixel Value Transformation, if any */
    uint8_t has_rescale;
} dc_frame_geom;

#define DC_UID_LEN 65
#define DC_REASON_LEN 200

typedef struct {
    uint32_t file_idx; /* index into the walk's file list */
    uint32_t scope;    /* scope index */
    uint8_t kind;      /* enum dc_file_kind */
    char reason[DC_REASON_LEN]; /* DC_FILE_BAD: why */

    char sop_uid[DC_UID_LEN];
    char series_uid[DC_UID_LEN];
    char study_uid[DC_UID_LEN];
    char ts_uid[DC_UID_LEN];
    char modality[17];
    char photometric[17];

    uint8_t has_instance, has_acq, has_temporal, has_ipp, has_iop, has_spacing;
    uint8_t has_rescale, has_thickness, has_sbs;
    uint8_t pixel_kind; /* enum dc_pixel_kind */
    int32_t instance, acq, temporal;
    double ipp[3], iop[6], spacing[2], thickness, sbs;
    double slope, intercept;
    uint16_t rows, cols, samples, bits_alloc, bits_stored, high_bit, pixel_rep, planar;
    uint32_t frames; /* NumberOfFrames, 1 when absent */
    uint64_t file_size;
    uint64_t col_sig; /* hash of the file's CSV column names (dc_flatten_columns); filled by the caller, not dc_record_from_dataset */

    uint32_t n_frame_geom; /* multi-frame files with per-frame functional groups */
    dc_frame_geom *frame_geom;
} dc_record;

void dc_record_init(dc_record *r);
void dc_record_free(dc_record *r); /* frees frame_geom */

/* Fill r from a parsed dataset (kind = DICOM or DICOMDIR). */
void dc_record_from_dataset(const dc_dataset *ds, dc_record *r);

/* bytes of decoded pixel data per frame (rows*cols*samples*bytes per sample) */
uint64_t dc_record_frame_bytes(const dc_record *r);

/* serialisation for MPI: append to out / read from p (advances *p, returns -1 on garbage) */
void dc_record_pack(const dc_record *r, dc_buf *out);
int dc_record_unpack(const char **p, const char *end, dc_record *r);

#endif
