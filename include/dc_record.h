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
#include "dc_vendor.h"

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
/* Media Storage SOP Class (and SOP Class) of a DICOMDIR: such files are skipped */
#define DC_MEDIA_DIRECTORY_CLASS "1.2.840.10008.1.3.10"
#define DC_REASON_LEN 200

/* Palette Color Lookup Tables (PALETTE COLOR images, supplemental palettes):
 * the red, green and blue descriptors as in the file (entries, 0 meaning
 * 65536; first mapped value; bits per entry) and each channel's table, one
 * value per entry (Segmented ... Palette Color Lookup Table Data expanded
 * as PS3.3 C.7.9.2 and pydicom do).  bits is the size of an entry in the
 * data (pydicom's rule: the data length per entry; segmented: descriptor).
 * At most DC_PALETTE_MAX entries per channel: a palette costs at most
 * 3 x 65536 x 2 bytes (usually 3 x 256 x 2) where it travels (records,
 * scans); files without one cost a byte. */
#define DC_PALETTE_MAX 65536
typedef struct {
    int32_t desc[3][3]; /* red, green, blue descriptors */
    uint32_t len[3];    /* entries in each channel's table */
    uint8_t bits;       /* 8 or 16 */
    uint8_t segmented;  /* the tables came from segmented data */
    uint16_t *lut;      /* len[0] + len[1] + len[2] entries: red, green, blue */
} dc_palette;

dc_palette *dc_palette_dup(const dc_palette *p); /* NULL for NULL */
void dc_palette_free(dc_palette *p);
int dc_palette_equal(const dc_palette *a, const dc_palette *b); /* NULL == NULL */
/* channel c (0 red, 1 green, 2 blue) of p */
const uint16_t *dc_palette_channel(const dc_palette *p, int c);
/* serialisation (little endian, bounded): "none" for NULL */
void dc_palette_pack(const dc_palette *p, dc_buf *out);
/* *out = NULL or a new palette; returns 0, or -1 on garbage */
int dc_palette_unpack(const char **p, const char *end, dc_palette **out);
/* Expand segmented palette data (PS3.3 C.7.9.2) as pydicom does: v[n] are
 * the data's values (bytes of 8-bit data, words of 16-bit data: entry_bytes
 * 1 or 2, which decides how an indirect segment's 32-bit offset is read; the
 * offset counts values).  Writes at most cap entries to out and their count
 * to *n_out.  Returns 0, or -1 with *why set (unknown segment type, linear or
 * indirect segment first, offset out of range, more than cap entries,
 * indirect segments nested too deep). */
int dc_palette_expand_segmented(const uint16_t *v, size_t n, int entry_bytes, uint16_t *out,
                                uint32_t cap, uint32_t *n_out, const char **why);

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
    char sop_class[DC_UID_LEN];  /* SOPClassUID (input.select) */
    char image_type[65];         /* ImageType as written, values joined by '\\' (input.select) */
    uint8_t burned_in;           /* BurnedInAnnotation is YES (input.select) */

    uint8_t has_instance, has_acq, has_temporal, has_ipp, has_iop, has_spacing;
    uint8_t has_rescale, has_thickness, has_sbs;
    uint8_t pixel_kind; /* enum dc_pixel_kind */
    int32_t instance, acq, temporal;
    double ipp[3], iop[6], spacing[2], thickness, sbs;
    double slope, intercept;
    uint16_t rows, cols, samples, bits_alloc, bits_stored, high_bit, pixel_rep, planar;
    uint32_t frames; /* NumberOfFrames, 1 when absent */
    uint64_t file_size;
    uint64_t col_sig; /* reserved: carried through pack/unpack, never set (0) */
    dc_file_stat stat; /* the header pass's fstat of the file, every kind (folder ledger) */

    uint32_t n_frame_geom; /* multi-frame files with per-frame functional groups */
    dc_frame_geom *frame_geom;
    dc_palette *palette; /* top-level palette color LUTs, NULL when none */
    dc_vendor_vals vendor; /* vendor conventions: mosaic tiling, 4D axis values, Philips scaling */
    char *refs; /* referencing objects (SEG, RTSTRUCT, SR...): dc_references_summary, else NULL */
} dc_record;

void dc_record_init(dc_record *r);
void dc_record_free(dc_record *r); /* frees frame_geom and palette */

/* Fill r from a parsed dataset (kind = DICOM or DICOMDIR). */
void dc_record_from_dataset(const dc_dataset *ds, dc_record *r);
/* only the image fields that say how the pixel data is read (rows, cols,
 * samples, bits, frames, pixel kind, transfer syntax), as dc_record_from_dataset
 * sets them: a decoder's cheap check that a file is still what was planned */
void dc_record_image_fields(const dc_dataset *ds, dc_record *r);

/* bytes of decoded pixel data per frame (rows*cols*samples*bytes per sample) */
uint64_t dc_record_frame_bytes(const dc_record *r);

/* serialisation for MPI: append to out / read from p (advances *p, returns -1 on garbage) */
void dc_record_pack(const dc_record *r, dc_buf *out);
int dc_record_unpack(const char **p, const char *end, dc_record *r);

#endif
