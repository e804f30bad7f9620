/*
 * codec_native.c - uncompressed pixel data: implicit/explicit VR little
 * endian, explicit VR big endian, deflated explicit VR little endian.
 *
 * decode.c reads native frames straight into the output buffer when no
 * conversion is needed (the fast path) and uses this codec's decode only for
 * the cases that change the bytes: big endian (byte swap), BitsAllocated 1
 * (unpacked to one byte per value, as pydicom's unpack_bits), uncompressed
 * YBR_FULL_422 (two luminance values share one Cb/Cr pair; expanded to three
 * samples per pixel as pydicom's numpy handler does).  Also the bit and byte
 * helpers declared at the end of dc_decode.h.
 */
#include <stdio.h>
#include <string.h>

#include "dc_decode.h"

void dc_unpack_bits(const uint8_t *src, uint64_t bit_off, size_t n, uint8_t *dst)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t b = bit_off + i;
        dst[i] = (uint8_t)((src[b >> 3] >> (b & 7)) & 1);
    }
}

void dc_swap_bytes(uint8_t *p, size_t n, size_t size)
{
    if (size < 2) return;
    for (size_t i = 0; i < n; i++, p += size) {
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
    }
}

static int native_accepts(const char *ts)
{
    return strcmp(ts, "1.2.840.10008.1.2") == 0 || strcmp(ts, "1.2.840.10008.1.2.1") == 0 ||
           strcmp(ts, "1.2.840.10008.1.2.2") == 0 || strcmp(ts, "1.2.840.10008.1.2.1.99") == 0;
}

/* Y1 Y2 Cb Cr -> Y1 Cb Cr Y2 Cb Cr, values of vs bytes; n_pixels even */
static void expand_ybr422(const uint8_t *src, uint64_t n_pixels, size_t vs, uint8_t *dst)
{
    for (uint64_t p = 0; p + 1 < n_pixels; p += 2) {
        const uint8_t *s = src + (p / 2) * 4 * vs;
        uint8_t *d = dst + p * 3 * vs;
        memmove(d, s, vs);                   /* Y1 */
        memmove(d + 1 * vs, s + 2 * vs, vs); /* Cb */
        memmove(d + 2 * vs, s + 3 * vs, vs); /* Cr */
        memmove(d + 3 * vs, s + 1 * vs, vs); /* Y2 */
        memmove(d + 4 * vs, s + 2 * vs, vs);
        memmove(d + 5 * vs, s + 3 * vs, vs);
    }
}

static int native_decode(const dc_pixel_desc *pd, const uint8_t *src, size_t n, uint8_t *dst,
                         size_t dstlen, int *flags, char *err, size_t errlen)
{
    uint64_t nval = dc_pixel_frame_values(pd);
    size_t vs = dc_pixel_value_size(pd);
    *flags = 0;
    if (nval == 0 || vs == 0 || dstlen < nval * vs) {
        snprintf(err, errlen, "bad image size");
        return -1;
    }
    if (pd->bits_alloc == 1) {
        if ((uint64_t)n * 8 < nval) goto truncated;
        dc_unpack_bits(src, 0, (size_t)nval, dst);
        return 0;
    }
    int ybr422 = pd->samples == 3 && strcmp(pd->photometric, "YBR_FULL_422") == 0;
    uint64_t raw = ybr422 ? nval / 3 * 2 * vs : nval * vs;
    if (n < raw) goto truncated;
    if (ybr422) {
        if (src == dst || (nval / 3) % 2) {
            snprintf(err, errlen, "YBR_FULL_422 with an odd number of pixels");
            return -1;
        }
        expand_ybr422(src, nval / 3, vs, dst);
        if (pd->big_endian) dc_swap_bytes(dst, (size_t)nval, vs);
        return 0;
    }
    if (src != dst) memcpy(dst, src, (size_t)raw);
    if (pd->big_endian) dc_swap_bytes(dst, (size_t)nval, vs);
    if (pd->samples > 1 && pd->planar == 1) *flags |= DC_CODEC_PLANAR;
    return 0;
truncated:
    snprintf(err, errlen, "truncated pixel data");
    return -1;
}

const dc_codec dc_codec_native = {
    .name = "native",
    .accepts = native_accepts,
    .decode = native_decode,
    .ends_with_ffd9 = 0,
    .native = 1,
};
