/*
 * codec_rle.c - RLE Lossless (1.2.840.10008.1.2.5), PS3.5 Annex G.
 *
 * A frame is a 64-byte header (number of segments, then up to 15 segment
 * offsets, little endian) followed by the segments.  Each segment is one byte
 * plane of one sample (most significant byte first), PackBits-compressed, and
 * decodes to rows*cols bytes.  Output is planar (all values of sample 0, then
 * sample 1, ...) in host (little endian) byte order; decode.c interleaves.
 *
 * Every read is checked against the frame length and every write against
 * rows*cols: a segment that decodes to fewer bytes is an error, extra bytes
 * are ignored (as pydicom does).
 */
#include <stdio.h>
#include <string.h>

#include "dc_decode.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "codec_rle.c assumes a little-endian host"
#endif

static int rle_accepts(const char *ts)
{
    return strcmp(ts, "1.2.840.10008.1.2.5") == 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* PackBits-decode src[n] into every stride-th byte of out, npix bytes.
 * Returns the number of bytes produced (<= npix). */
static uint64_t unpack_segment(const uint8_t *src, size_t n, uint8_t *out, size_t stride,
                               uint64_t npix)
{
    size_t i = 0;
    uint64_t o = 0;
    while (i < n && o < npix) {
        int h = (int8_t)src[i++];
        if (h >= 0) { /* literal run of h+1 bytes */
            size_t run = (size_t)h + 1;
            if (run > n - i) run = n - i;
            for (size_t k = 0; k < run && o < npix; k++) out[(o++) * stride] = src[i + k];
            i += run;
        } else if (h != -128) { /* repeat the next byte 1-h times */
            if (i >= n) break;
            uint8_t v = src[i++];
            for (int k = 0; k < 1 - h && o < npix; k++) out[(o++) * stride] = v;
        }
    }
    return o;
}

static int read_offsets(const uint8_t *src, size_t n, uint32_t nseg, uint64_t *off, char *err,
                        size_t errlen)
{
    if (n < 64) {
        snprintf(err, errlen, "RLE header truncated");
        return -1;
    }
    uint32_t got = le32(src);
    if (got != nseg) {
        snprintf(err, errlen, "RLE frame has %u segments, expected %u", (unsigned)got,
                 (unsigned)nseg);
        return -1;
    }
    for (uint32_t s = 0; s < nseg; s++) {
        off[s] = le32(src + 4 + 4 * s);
        if (off[s] < 64 || off[s] > n || (s > 0 && off[s] < off[s - 1])) {
            snprintf(err, errlen, "RLE segment %u offset %llu out of range", (unsigned)s,
                     (unsigned long long)off[s]);
            return -1;
        }
    }
    off[nseg] = n;
    return 0;
}

static int rle_decode(const dc_pixel_desc *pd, const uint8_t *src, size_t n, uint8_t *dst,
                      size_t dstlen, int *flags, char *err, size_t errlen)
{
    uint64_t npix = (uint64_t)pd->rows * pd->cols;
    size_t vs = dc_pixel_value_size(pd);
    *flags = 0;
    if (pd->bits_alloc % 8 || vs == 0) {
        snprintf(err, errlen, "RLE with BitsAllocated %u not supported", (unsigned)pd->bits_alloc);
        return -1;
    }
    uint32_t nseg = pd->samples * (uint32_t)vs;
    if (nseg > 15 || npix == 0 || dstlen < npix * pd->samples * vs) {
        snprintf(err, errlen, "RLE needs %u segments (at most 15)", (unsigned)nseg);
        return -1;
    }
    uint64_t off[16];
    if (read_offsets(src, n, nseg, off, err, errlen) != 0) return -1;
    for (uint32_t s = 0; s < pd->samples; s++) {
        for (uint32_t b = 0; b < vs; b++) {
            uint32_t seg = s * (uint32_t)vs + b;
            uint8_t *out = dst + (s * npix) * vs + (vs - 1 - b); /* MSB segment first */
            uint64_t got =
                unpack_segment(src + off[seg], (size_t)(off[seg + 1] - off[seg]), out, vs, npix);
            if (got < npix) {
                snprintf(err, errlen, "RLE segment %u decodes to %llu of %llu bytes", (unsigned)seg,
                         (unsigned long long)got, (unsigned long long)npix);
                return -1;
            }
        }
    }
    if (pd->samples > 1) *flags |= DC_CODEC_PLANAR;
    return 0;
}

const dc_codec dc_codec_rle = {
    .name = "RLE",
    .accepts = rle_accepts,
    .decode = rle_decode,
    .ends_with_ffd9 = 0,
    .native = 0,
};
