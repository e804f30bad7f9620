/*
 * codec_jpeg.c - JPEG baseline (.50), extended (.51), spectral selection
 * (.53) and progressive (.55, retired but met), lossless process 14 (.57) and
 * process 14 SV1 (.70).
 *
 * The frame header (SOFn) is read here first: its size and component count
 * must match Rows/Columns/SamplesPerPixel (so the decoder can never write
 * outside the frame or leave part of it unwritten), and its precision picks
 * dcmtk's 8-, 12- or 16-bit IJG decoder (dcmtk_wrap.cpp).  Colour stays as
 * stored; decode.c converts YBR_FULL/YBR_FULL_422 to RGB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_dcmtk.h"
#include "dc_decode.h"

typedef struct {
    int marker; /* 0xC0.. */
    int precision;
    uint32_t rows, cols, comps;
} jpeg_sof;

static int jpeg_accepts(const char *ts)
{
    static const char *uids[] = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
                                 "1.2.840.10008.1.2.4.53", "1.2.840.10008.1.2.4.55",
                                 "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"};
    for (size_t i = 0; i < sizeof uids / sizeof uids[0]; i++)
        if (strcmp(ts, uids[i]) == 0) return 1;
    return 0;
}

static int is_sof(int m)
{
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

static int has_no_length(int m)
{
    return m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7);
}

/* Find the frame header.  Returns 0, or -1 with err. */
static int jpeg_read_sof(const uint8_t *p, size_t n, jpeg_sof *sof, char *err, size_t errlen)
{
    if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) {
        snprintf(err, errlen, "no JPEG start of image marker");
        return -1;
    }
    size_t i = 2;
    while (i + 1 < n) {
        if (p[i] != 0xFF) {
            snprintf(err, errlen, "bad JPEG marker at byte %zu", i);
            return -1;
        }
        while (i + 1 < n && p[i + 1] == 0xFF) i++; /* fill bytes */
        if (i + 1 >= n) break;
        int m = p[i + 1];
        i += 2;
        if (has_no_length(m)) continue;
        if (m == 0xDA || m == 0xD9) break; /* scan or end before any frame header */
        if (i + 2 > n) break;
        size_t len = (size_t)p[i] << 8 | p[i + 1];
        if (len < 2 || i + len > n) break;
        if (is_sof(m)) {
            if (len < 8) break;
            sof->marker = m;
            sof->precision = p[i + 2];
            sof->rows = (uint32_t)p[i + 3] << 8 | p[i + 4];
            sof->cols = (uint32_t)p[i + 5] << 8 | p[i + 6];
            sof->comps = p[i + 7];
            return 0;
        }
        i += len;
    }
    snprintf(err, errlen, "no JPEG frame header");
    return -1;
}

static int jpeg_check_sof(const dc_pixel_desc *pd, const jpeg_sof *sof, char *err, size_t errlen)
{
    if (sof->cols != pd->cols || sof->rows != pd->rows || sof->comps != pd->samples) {
        snprintf(err, errlen, "JPEG is %ux%ux%u, header says %ux%ux%u", (unsigned)sof->cols,
                 (unsigned)sof->rows, (unsigned)sof->comps, (unsigned)pd->cols, (unsigned)pd->rows,
                 (unsigned)pd->samples);
        return -1;
    }
    if (sof->precision < 2 || sof->precision > 16 || sof->precision > pd->bits_alloc) {
        snprintf(err, errlen, "JPEG precision %d with BitsAllocated %u", sof->precision,
                 (unsigned)pd->bits_alloc);
        return -1;
    }
    if ((sof->marker >= 0xC5 && sof->marker <= 0xC7) || sof->marker >= 0xC9) {
        snprintf(err, errlen, "JPEG process SOF%d not supported", sof->marker - 0xC0);
        return -1;
    }
    return 0;
}

static int jpeg_decode(const dc_pixel_desc *pd, const uint8_t *src, size_t n, uint8_t *dst,
                       size_t dstlen, int *flags, char *err, size_t errlen)
{
    jpeg_sof sof;
    char why[DC_ERRLEN] = "";
    *flags = 0;
    if (jpeg_read_sof(src, n, &sof, why, sizeof why) != 0 ||
        jpeg_check_sof(pd, &sof, why, sizeof why) != 0) {
        snprintf(err, errlen, "JPEG decode failed: %s", why);
        return -1;
    }
    uint64_t nval = dc_pixel_frame_values(pd);
    size_t vs = dc_pixel_value_size(pd);
    size_t got = sof.precision > 8 ? 2 : 1;
    if (dstlen < nval * vs) {
        snprintf(err, errlen, "JPEG decode failed: output buffer too small");
        return -1;
    }
    uint8_t *out = got == vs ? dst : malloc((size_t)(nval * got));
    if (!out) {
        snprintf(err, errlen, "JPEG decode failed: out of memory");
        return -1;
    }
    int rc = dc_dcmtk_decode_jpeg(src, n, pd->rows, pd->cols, pd->samples, sof.precision,
                                  pd->pixel_rep == 1, out, (size_t)(nval * got), why, sizeof why);
    if (rc != 0)
        snprintf(err, errlen, "JPEG decode failed: %s", why);
    else if (out != dst)
        dc_widen_values(out, got, dst, vs, nval);
    if (out != dst) free(out);
    return rc;
}

const dc_codec dc_codec_jpeg = {
    .name = "JPEG",
    .accepts = jpeg_accepts,
    .decode = jpeg_decode,
    .ends_with_ffd9 = 1,
    .native = 0,
};
