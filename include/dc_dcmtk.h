/*
 * dc_dcmtk.h - the one C++ file (src/pixels/dcmtk_wrap.cpp) behind a C interface.
 *
 * dcmtk's frame-level decoders: IJG JPEG (8/12/16 bit: baseline, extended,
 * lossless process 14 and SV1) and the CharLS JPEG-LS library bundled with
 * dcmtk (libdcmtkcharls).  Nothing of C++ leaks out; exceptions never cross
 * this boundary.  Both functions decode exactly one frame from a complete
 * buffer (no suspension): data that end early are an error.  No colour
 * conversion is done here: YCbCr data come out as stored (the caller
 * converts, see decode.c).
 */
#ifndef DC_DCMTK_H
#define DC_DCMTK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Decode one JPEG frame.  IN src[n]; precision: the sample precision P from
 * the frame header (2..16), selects dcmtk's 8-, 12- or 16-bit IJG library;
 * rows, cols, samples: the expected image (the caller has checked the frame
 * header against them); is_signed: PixelRepresentation.
 * OUT dst[dstlen] = rows*cols*samples values, interleaved, of 1 byte
 * (precision <= 8) or 2 bytes in host order (precision > 8).
 * Returns 0, or -1 with a short reason in err. */
int dc_dcmtk_decode_jpeg(const uint8_t *src, size_t n, uint32_t rows, uint32_t cols,
                         uint32_t samples, int precision, int is_signed, uint8_t *dst,
                         size_t dstlen, char *err, size_t errlen);

/* Decode one JPEG-LS frame (lossless or near-lossless).  OUT dst[dstlen] =
 * rows*cols*samples values of 1 byte (bits per sample <= 8) or 2 bytes (host
 * order); *planar = 1 when the stream was not interleaved (ILV_NONE with
 * several components: the samples come out plane by plane), else 0.
 * *bits = the stream's bits per sample.  Returns 0, or -1 with err. */
int dc_dcmtk_decode_jpegls(const uint8_t *src, size_t n, uint32_t rows, uint32_t cols,
                           uint32_t samples, uint8_t *dst, size_t dstlen, int *planar, int *bits,
                           char *err, size_t errlen);

/* "3.6.7 (character sets: <library>)": the dcmtk version dcmcrawl was built
 * with (OFFIS_DCMTK_VERSION_STRING; dcmtk has no run-time version call) and
 * the character set conversion library dcmtk reports.  Static text, never
 * NULL (for dcmcrawl --version). */
const char *dc_dcmtk_version(void);

#ifdef __cplusplus
}
#endif

#endif
