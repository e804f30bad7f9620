/*
 * codec_j2k.c - JPEG 2000 (.90 lossless, .91) and HTJ2K (.201, .202, .203)
 * with OpenJPEG 2.5 from a memory stream.
 *
 * The frame may be a raw codestream (FF4F FF51) or a JP2 file (signature
 * box), which some writers put into DICOM.  After the header is read, the
 * image must match Rows/Columns/SamplesPerPixel exactly (no subsampled
 * components) before anything is decoded.  Strict mode makes OpenJPEG fail
 * on truncated codestreams instead of returning a partial image.
 *
 * Values: each component's int32 samples are stored interleaved in values of
 * BitsAllocated.  When the codestream says unsigned but PixelRepresentation
 * is 1, values are sign-extended from the codestream precision (as pydicom's
 * J2K correction does); decode.c then sign-extends from BitsStored.  When the
 * codestream uses the multiple component transform (YBR_ICT/YBR_RCT),
 * OpenJPEG has already produced RGB: DC_CODEC_RGB.
 *
 * Hostile input (issue 6): the SIZ marker is checked against Rows/Columns/
 * SamplesPerPixel and its tile count bounded before OpenJPEG sees the
 * stream (opj_read_header allocates per tile and component from SIZ alone).
 * OpenJPEG 2.5.0 as shipped in Debian 12 keeps assert()s that corrupt HTJ2K
 * code-blocks reach (ht_dec.c mel_init, uclouvain/openjpeg#1500, found by
 * tests/fuzz): an abort() would take the whole rank, and the crawl, down.
 * While OpenJPEG runs, SIGABRT jumps back to run_opj (glibc's abort()
 * allows a handler that does not return; OpenJPEG runs single-threaded
 * here), the frame fails with a reason, and the previous handler is put
 * back.  What OpenJPEG had allocated for the frame is freed as usual; a
 * code-block job of ~100 bytes is lost per such frame.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <openjpeg.h>

#include "dc_decode.h"

typedef struct {
    const uint8_t *p;
    size_t n, pos;
} j2k_mem;

typedef struct {
    char msg[200];
} j2k_log;

static int j2k_accepts(const char *ts)
{
    static const char *uids[] = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
                                 "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202",
                                 "1.2.840.10008.1.2.4.203"};
    for (size_t i = 0; i < sizeof uids / sizeof uids[0]; i++)
        if (strcmp(ts, uids[i]) == 0) return 1;
    return 0;
}

/* ---- memory stream ---- */
static OPJ_SIZE_T mem_read(void *buf, OPJ_SIZE_T nb, void *user)
{
    j2k_mem *m = user;
    if (m->pos >= m->n) return (OPJ_SIZE_T)-1;
    size_t k = m->n - m->pos < nb ? m->n - m->pos : nb;
    memcpy(buf, m->p + m->pos, k);
    m->pos += k;
    return k;
}

static OPJ_OFF_T mem_skip(OPJ_OFF_T nb, void *user)
{
    j2k_mem *m = user;
    if (nb < 0) {
        if ((size_t)-nb > m->pos) nb = -(OPJ_OFF_T)m->pos;
    } else if ((size_t)nb > m->n - m->pos) {
        nb = (OPJ_OFF_T)(m->n - m->pos);
    }
    m->pos += nb;
    return nb;
}

static OPJ_BOOL mem_seek(OPJ_OFF_T off, void *user)
{
    j2k_mem *m = user;
    if (off < 0 || (uint64_t)off > m->n) return OPJ_FALSE;
    m->pos = (size_t)off;
    return OPJ_TRUE;
}

static opj_stream_t *mem_stream(j2k_mem *m)
{
    opj_stream_t *s = opj_stream_create(1 << 16, OPJ_TRUE);
    if (!s) return NULL;
    opj_stream_set_user_data(s, m, NULL);
    opj_stream_set_user_data_length(s, m->n);
    opj_stream_set_read_function(s, mem_read);
    opj_stream_set_skip_function(s, mem_skip);
    opj_stream_set_seek_function(s, mem_seek);
    return s;
}

static void log_error(const char *msg, void *user)
{
    j2k_log *l = user;
    if (l->msg[0]) return; /* keep the first */
    snprintf(l->msg, sizeof l->msg, "%s", msg);
    size_t k = strlen(l->msg);
    while (k && (l->msg[k - 1] == '\n' || l->msg[k - 1] == ' ')) l->msg[--k] = 0;
}

static void log_quiet(const char *msg, void *user)
{
    (void)msg;
    (void)user;
}

/* ---- codestream header ---- */

/* Offset of the codestream (SOC SIZ) in a codestream or JP2 file, or -1 */
static long find_codestream(const uint8_t *p, size_t n)
{
    static const uint8_t soc[4] = {0xFF, 0x4F, 0xFF, 0x51};
    static const uint8_t jp2[12] = {0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
    if (n >= 4 && memcmp(p, soc, 4) == 0) return 0;
    if (n < 12 || memcmp(p, jp2, 12) != 0) return -1;
    for (size_t i = 12; i + 4 <= n; i++)
        if (memcmp(p + i, soc, 4) == 0) return (long)i;
    return -1;
}

/* 1 if the main header's COD marker enables the multiple component transform */
static int codestream_mct(const uint8_t *p, size_t n)
{
    size_t i = 2; /* after SOC */
    while (i + 4 <= n) {
        if (p[i] != 0xFF) return 0;
        int m = p[i + 1];
        size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
        if (m == 0x90 || len < 2) return 0; /* SOT: end of main header */
        if (m == 0x52)
            return i + 8 < n && len >= 7 ? p[i + 8] & 1 : 0; /* Lcod Scod prog layers MCT */
        i += 2 + len;
    }
    return 0;
}

static int check_image(const dc_pixel_desc *pd, const opj_image_t *im, char *err, size_t errlen)
{
    if (im->numcomps != pd->samples || im->x1 - im->x0 != pd->cols || im->y1 - im->y0 != pd->rows) {
        snprintf(err, errlen, "image is %ux%ux%u, header says %ux%ux%u",
                 (unsigned)(im->x1 - im->x0), (unsigned)(im->y1 - im->y0), (unsigned)im->numcomps,
                 (unsigned)pd->cols, (unsigned)pd->rows, (unsigned)pd->samples);
        return -1;
    }
    for (OPJ_UINT32 c = 0; c < im->numcomps; c++) {
        const opj_image_comp_t *k = &im->comps[c];
        if (k->w != pd->cols || k->h != pd->rows || k->dx != 1 || k->dy != 1) {
            snprintf(err, errlen, "component %u is subsampled", (unsigned)c);
            return -1;
        }
        if (k->prec < 1 || k->prec > 32 || k->prec > pd->bits_alloc) {
            snprintf(err, errlen, "precision %u with BitsAllocated %u", (unsigned)k->prec,
                     (unsigned)pd->bits_alloc);
            return -1;
        }
    }
    return 0;
}

static int32_t sext(int32_t v, unsigned bits)
{
    if (bits >= 32) return v;
    uint32_t m = 1u << (bits - 1);
    uint32_t u = (uint32_t)v & ((m << 1) - 1);
    return (int32_t)(u ^ m) - (int32_t)m;
}

static void store_values(const dc_pixel_desc *pd, const opj_image_t *im, uint8_t *dst)
{
    size_t npix = (size_t)pd->rows * pd->cols, vs = dc_pixel_value_size(pd);
    for (OPJ_UINT32 c = 0; c < im->numcomps; c++) {
        const opj_image_comp_t *k = &im->comps[c];
        int extend = !k->sgnd && pd->pixel_rep == 1;
        for (size_t i = 0; i < npix; i++) {
            int32_t v = extend ? sext(k->data[i], k->prec) : k->data[i];
            size_t o = i * im->numcomps + c;
            if (vs == 1)
                dst[o] = (uint8_t)v;
            else if (vs == 2)
                ((uint16_t *)dst)[o] = (uint16_t)v;
            else
                ((uint32_t *)dst)[o] = (uint32_t)v;
        }
    }
}

/* ---- SIZ checks before OpenJPEG allocates ---- */

#define MAX_TILES 4096

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* p[0..n): the codestream from SOC.  0, or -1 with err. */
static int check_siz(const dc_pixel_desc *pd, const uint8_t *p, size_t n, char *err, size_t errlen)
{
    /* SOC FF4F, SIZ FF51 Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz */
    if (n < 4 + 40) {
        snprintf(err, errlen, "truncated SIZ marker");
        return -1;
    }
    const uint8_t *z = p + 4;
    uint32_t x = be32(z + 4), y = be32(z + 8), x0 = be32(z + 12), y0 = be32(z + 16);
    uint32_t tw = be32(z + 20), th = be32(z + 24), tx0 = be32(z + 28), ty0 = be32(z + 32);
    uint32_t comps = (uint32_t)z[36] << 8 | z[37];
    if (x <= x0 || y <= y0 || x - x0 != pd->cols || y - y0 != pd->rows || comps != pd->samples) {
        snprintf(err, errlen, "image is %ux%ux%u, header says %ux%ux%u",
                 x > x0 ? (unsigned)(x - x0) : 0u, y > y0 ? (unsigned)(y - y0) : 0u,
                 (unsigned)comps, (unsigned)pd->cols, (unsigned)pd->rows, (unsigned)pd->samples);
        return -1;
    }
    if (tw == 0 || th == 0 || tx0 > x0 || ty0 > y0) {
        snprintf(err, errlen, "bad tile grid");
        return -1;
    }
    uint64_t tiles = ((uint64_t)(x - tx0) + tw - 1) / tw * (((uint64_t)(y - ty0) + th - 1) / th);
    if (tiles > MAX_TILES) {
        snprintf(err, errlen, "%llu tiles (at most %d)", (unsigned long long)tiles, MAX_TILES);
        return -1;
    }
    return 0;
}

/* ---- OpenJPEG's assert()s ---- */

static sigjmp_buf opj_abort_jmp;
static volatile sig_atomic_t opj_running;

static void opj_abort_handler(int sig)
{
    if (opj_running) {
        opj_running = 0;
        siglongjmp(opj_abort_jmp, 1);
    }
    signal(sig, SIG_DFL); /* not ours: die as abort() would */
    raise(sig);
}

static int all_data(const opj_image_t *im)
{
    for (OPJ_UINT32 c = 0; c < im->numcomps; c++)
        if (!im->comps[c].data) return 0;
    return 1;
}

/* header, checks, decode; in the window where SIGABRT returns to run_opj */
static int opj_steps(const dc_pixel_desc *pd, opj_codec_t *codec, opj_stream_t *st,
                     opj_image_t **im, const j2k_log *log, uint8_t *dst, char *err, size_t errlen)
{
    opj_dparameters_t par;
    opj_set_default_decoder_parameters(&par);
    if (!opj_setup_decoder(codec, &par) || !opj_decoder_set_strict_mode(codec, OPJ_TRUE) ||
        !opj_codec_set_threads(codec, 0) || !opj_read_header(st, codec, im)) {
        snprintf(err, errlen, "bad header: %s", log->msg[0] ? log->msg : "unreadable");
        return -1;
    }
    if (check_image(pd, *im, err, errlen) != 0) return -1;
    if (!opj_decode(codec, st, *im) || !opj_end_decompress(codec, st) || !all_data(*im)) {
        snprintf(err, errlen, "%s", log->msg[0] ? log->msg : "decode error");
        return -1;
    }
    store_values(pd, *im, dst);
    return 0;
}

static int run_opj(const dc_pixel_desc *pd, const uint8_t *src, size_t n, int jp2, uint8_t *dst,
                   char *err, size_t errlen)
{
    j2k_mem mem = {src, n, 0};
    j2k_log log = {""};
    static opj_image_t *im; /* static: kept across the jump */
    int rc = -1;
    struct sigaction sa, old;
    opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    opj_stream_t *st = mem_stream(&mem);
    im = NULL;
    if (!codec || !st) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    opj_set_error_handler(codec, log_error, &log);
    opj_set_warning_handler(codec, log_quiet, NULL);
    opj_set_info_handler(codec, log_quiet, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = opj_abort_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGABRT, &sa, &old);
    if (sigsetjmp(opj_abort_jmp, 1) == 0) {
        opj_running = 1;
        rc = opj_steps(pd, codec, st, &im, &log, dst, err, errlen);
        opj_running = 0;
    } else {
        snprintf(err, errlen, "OpenJPEG aborted (assertion failed on corrupt data)");
        rc = -1;
    }
    sigaction(SIGABRT, &old, NULL);
done:
    if (im) opj_image_destroy(im);
    im = NULL;
    if (codec) opj_destroy_codec(codec);
    if (st) opj_stream_destroy(st);
    return rc;
}

static int j2k_decode(const dc_pixel_desc *pd, const uint8_t *src, size_t n, uint8_t *dst,
                      size_t dstlen, int *flags, char *err, size_t errlen)
{
    char why[DC_ERRLEN] = "";
    uint64_t nval = dc_pixel_frame_values(pd);
    size_t vs = dc_pixel_value_size(pd);
    *flags = 0;
    long cs = find_codestream(src, n);
    if (cs < 0 || vs == 0 || vs > 4 || dstlen < nval * vs) {
        snprintf(err, errlen, "JPEG 2000 decode failed: %s",
                 cs < 0 ? "no codestream" : "bad BitsAllocated");
        return -1;
    }
    if (check_siz(pd, src + cs, n - (size_t)cs, why, sizeof why) != 0 ||
        run_opj(pd, src, n, cs > 0, dst, why, sizeof why) != 0) {
        snprintf(err, errlen, "JPEG 2000 decode failed: %s", why);
        return -1;
    }
    if (pd->samples == 3 && codestream_mct(src + cs, n - (size_t)cs)) *flags |= DC_CODEC_RGB;
    return 0;
}

const dc_codec dc_codec_j2k = {
    .name = "JPEG 2000",
    .accepts = j2k_accepts,
    .decode = j2k_decode,
    .ends_with_ffd9 = 1,
    .native = 0,
};
