/*
 * codec_jpegls.c - JPEG-LS lossless (.80) and near-lossless (.81).
 *
 * Decoding is CharLS as bundled with dcmtk (dcmtk_wrap.cpp), which checks the
 * stream's size, components and bit depth against the header before it
 * writes anything.  Streams with 2..8 bits come out as bytes, 9..16 bits as
 * 16-bit words; they are widened here when BitsAllocated is larger.  A
 * multi-component stream without interleave comes out plane by plane
 * (DC_CODEC_PLANAR).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_dcmtk.h"
#include "dc_decode.h"

static int jpegls_accepts(const char *ts)
{
    return strcmp(ts, "1.2.840.10008.1.2.4.80") == 0 || strcmp(ts, "1.2.840.10008.1.2.4.81") == 0;
}

/* the stream's bits per sample: from the SOF55 marker segment (FFF7) */
static int jpegls_bits(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 4 < n; i++)
        if (p[i] == 0xFF && p[i + 1] == 0xF7) return p[i + 4];
    return -1;
}

static int jpegls_decode(const dc_pixel_desc *pd, const uint8_t *src, size_t n, uint8_t *dst,
                         size_t dstlen, int *flags, char *err, size_t errlen)
{
    uint64_t nval = dc_pixel_frame_values(pd);
    size_t vs = dc_pixel_value_size(pd);
    char why[DC_ERRLEN] = "";
    *flags = 0;
    int bits = jpegls_bits(src, n);
    if (bits < 2 || bits > 16 || (size_t)((bits + 7) / 8) > vs || dstlen < nval * vs) {
        snprintf(err, errlen, "JPEG-LS decode failed: %d bits per sample with BitsAllocated %u",
                 bits, (unsigned)pd->bits_alloc);
        return -1;
    }
    size_t got = bits > 8 ? 2 : 1;
    uint8_t *out = got == vs ? dst : malloc((size_t)(nval * got));
    if (!out) {
        snprintf(err, errlen, "JPEG-LS decode failed: out of memory");
        return -1;
    }
    int planar = 0, sbits = 0;
    int rc = dc_dcmtk_decode_jpegls(src, n, pd->rows, pd->cols, pd->samples, out,
                                    (size_t)(nval * got), &planar, &sbits, why, sizeof why);
    if (rc == 0 && sbits != bits) {
        snprintf(why, sizeof why, "inconsistent bits per sample");
        rc = -1;
    }
    if (rc != 0)
        snprintf(err, errlen, "JPEG-LS decode failed: %s", why);
    else if (out != dst)
        dc_widen_values(out, got, dst, vs, nval);
    if (out != dst) free(out);
    if (planar) *flags |= DC_CODEC_PLANAR;
    return rc;
}

const dc_codec dc_codec_jpegls = {
    .name = "JPEG-LS",
    .accepts = jpegls_accepts,
    .decode = jpegls_decode,
    .ends_with_ffd9 = 1,
    .native = 0,
};
