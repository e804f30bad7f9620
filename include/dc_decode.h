/*
 * dc_decode.h - pixel data to the stored values of the output dataset.
 *
 * Decoding has two steps.  A codec (one per family of transfer syntaxes,
 * IOR-style table of function pointers, see dc_codecs[] in decode.c) turns
 * one frame's bytes into raw samples.  dc_decode_frames() then normalises:
 * host byte order, masking of the bits above BitsStored (unsigned) or sign
 * extension (signed) when BitsStored < BitsAllocated, 1-bit
 * unpacking, planar to interleaved, YBR_* to RGB, optional rescale to float32.
 *
 * Codecs: native (implicit/explicit LE, explicit BE, deflated), RLE (own),
 * JPEG baseline/extended/lossless and JPEG-LS (dcmtk, dc_dcmtk.h), JPEG 2000
 * and HTJ2K (OpenJPEG).  Anything else fails with
 * "unsupported transfer syntax <uid>".
 */
#ifndef DC_DECODE_H
#define DC_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include "dc_dicom.h"
#include "dc_record.h"

typedef struct {
    uint32_t rows, cols, samples, frames;
    uint16_t bits_alloc, bits_stored, high_bit, pixel_rep, planar;
    int pixel_kind;       /* enum dc_pixel_kind */
    char photometric[17]; /* as in the file */
    char ts_uid[DC_UID_LEN];
    int big_endian; /* native explicit big endian */
} dc_pixel_desc;

/* codec output flags */
#define DC_CODEC_PLANAR 0x01 /* samples came out planar (RRR..GGG..BBB..) */
#define DC_CODEC_RGB 0x02    /* colour already converted to RGB by the codec */

typedef struct {
    const char *name;
    /* 1 if this codec decodes the transfer syntax */
    int (*accepts)(const char *ts_uid);
    /* Decode one frame.  IN pd, src[n] (the frame's bytes: all its fragments
     * concatenated).  OUT dst[dstlen] = rows*cols*samples values of
     * bits_alloc/8 bytes (bits_alloc 1 is unpacked to one byte per value),
     * host byte order; *flags DC_CODEC_*.
     * Returns 0, or -1 with a short reason in err. */
    int (*decode)(const dc_pixel_desc *pd, const uint8_t *src, size_t n, uint8_t *dst,
                  size_t dstlen, int *flags, char *err, size_t errlen);
    /* 1 if a frame's stream ends with the FFD9 marker (JPEG EOI, JPEG-LS EOI,
     * J2K EOC): frames may then be found among fragments by that marker */
    int ends_with_ffd9;
    /* 1 for the native codec: no fragments, frames are read by offset */
    int native;
} dc_codec;

/* The codecs, one per codec_*.c file (the table is in decode.c). */
extern const dc_codec dc_codec_native, dc_codec_rle, dc_codec_jpeg, dc_codec_jpegls, dc_codec_j2k;

/* Fill pd from a record (the header pass) */
void dc_pixel_desc_from_record(const dc_record *r, dc_pixel_desc *pd);

/* The codec for a transfer syntax, or NULL (unsupported). */
const dc_codec *dc_codec_find(const char *ts_uid);

/* Photometric interpretation of the decoded output ("RGB" for YBR_* input). */
const char *dc_decoded_photometric(const dc_pixel_desc *pd);

/* Output dtype (enum dc_dtype) for a file: from BitsAllocated, PixelRepresentation,
 * float/double pixel data; DC_DT_F32 when rescale. */
int dc_output_dtype(const dc_pixel_desc *pd, int rescale);

/* Decode frames [first, first+count) of the parsed file ds (opened with
 * keep_open, or from memory; reopened by path if closed; fragments walked if
 * not yet) into dst, which holds count frames of rows*cols*samples values of
 * out_dtype.  The output is pydicom's pixel_array with these differences:
 * signed data with BitsStored < BitsAllocated are sign-extended from
 * BitsStored; YBR_FULL and YBR_FULL_422 become RGB (pydicom's
 * convert_color_space arithmetic; YBR_ICT/YBR_RCT are converted by the J2K
 * decoder); samples are always interleaved; out_dtype DC_DT_F32 for integer
 * data gives value*slope+intercept.  Unsigned values with BitsStored <
 * BitsAllocated keep only their low BitsStored bits (PS3.5 8.1.1; pydicom
 * keeps the bits above); BitsAllocated 1 is
 * unpacked to 0/1 bytes.  Frames of encapsulated data: basic offset table,
 * else one fragment per frame, all fragments for a single frame, else the
 * FFD9 end marker (pydicom's rule; the last such map is cached, so this is
 * not thread-safe).  Errors: "no pixel data", "truncated pixel data",
 * "unsupported transfer syntax <uid>", "unsupported BitsAllocated N",
 * "JPEG decode failed: ...", "JPEG-LS decode failed: ...", "JPEG 2000 decode
 * failed: ...", "RLE segment 2 decodes to 100 of 4096 bytes", ... */
int dc_decode_frames(dc_dataset *ds, const dc_pixel_desc *pd, uint32_t first, uint32_t count,
                     int out_dtype, double slope, double intercept, void *dst, char *err,
                     size_t errlen);

/* Bounds before any allocation (issue 6).  IN pd (from the header pass),
 * file_size, max_bytes (the ceiling for the decoded frames of one file,
 * run.max_image_bytes; 0: DC_DEFAULT_MAX_IMAGE_BYTES).  Returns 0 when
 * frames x Rows x Columns x samples x bytes per value is within max_bytes
 * and, for native (uncompressed, not deflated) transfer syntaxes, the stored
 * frames fit in the file; else -1 with the reason in why ("image of N bytes exceeds
 * run.max_image_bytes (M)", "truncated pixel data: ...").  Never reads the
 * file; computes without overflow. */
#define DC_DEFAULT_MAX_IMAGE_BYTES (4ull << 30)
int dc_pixel_check_size(const dc_pixel_desc *pd, uint64_t file_size, uint64_t max_bytes, char *why,
                        size_t whylen);

/* ---- helpers shared by decode.c and the codecs ---- */

/* Bytes per decoded value: 1 for BitsAllocated 1 and 8, 2, 4 or 8. */
size_t dc_pixel_value_size(const dc_pixel_desc *pd);
/* Values per frame: rows*cols*samples (0 on overflow of 2^40). */
uint64_t dc_pixel_frame_values(const dc_pixel_desc *pd);
/* Unpack n bits starting at bit bit_off of src (bit 0 = LSB of byte 0,
 * as pydicom's unpack_bits) into n bytes of 0/1. */
void dc_unpack_bits(const uint8_t *src, uint64_t bit_off, size_t n, uint8_t *dst);
/* Reverse the byte order of n values of size bytes each, in place. */
void dc_swap_bytes(uint8_t *p, size_t n, size_t size);
/* Copy n unsigned values of from bytes into values of to bytes (from <= to,
 * 1/2/4), host order, zero-extended. */
void dc_widen_values(const uint8_t *src, size_t from, uint8_t *dst, size_t to, uint64_t n);

#endif
