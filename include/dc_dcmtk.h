/*
 * dc_dcmtk.h - the one C++ file (src/dcmtk_wrap.cpp) behind a C interface.
 *
 * dcmtk's frame-level decoders: IJG JPEG (8/12/16 bit: baseline, extended,
 * lossless process 14 and SV1) and CharLS JPEG-LS.  Nothing of C++ leaks out;
 * exceptions never cross this boundary.
 */
#ifndef DC_DCMTK_H
#define DC_DCMTK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Decode one JPEG frame.  bits: BitsStored-ish precision hint (8, 12, 16);
 * dst receives rows*cols*samples values of 1 byte (precision <= 8) or 2 bytes
 * (host order), interleaved.  *is_rgb set when a YCbCr image was converted.
 * Returns 0 or -1 with err. */
int dc_dcmtk_decode_jpeg(const uint8_t *src, size_t n, uint32_t rows, uint32_t cols,
                         uint32_t samples, int bits_alloc, int is_signed, uint8_t *dst,
                         size_t dstlen, int *is_rgb, char *err, size_t errlen);

/* Decode one JPEG-LS frame (interleaved output, host order). */
int dc_dcmtk_decode_jpegls(const uint8_t *src, size_t n, uint32_t rows, uint32_t cols,
                           uint32_t samples, int bits_alloc, uint8_t *dst, size_t dstlen,
                           char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
