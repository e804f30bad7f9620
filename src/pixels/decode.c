/*
 * decode.c - pixel data to stored values: codec table and normalisation.
 * See dc_decode.h.
 *
 * dc_decode_frames() has three parts:
 *   1. where the bytes are: native frames at fixed offsets (read with pread,
 *      straight into the output when nothing changes: the fast path), or
 *      encapsulated frames made of fragments (map_frames: basic offset
 *      table, one fragment per frame, all fragments for one frame, or the
 *      FFD9 end marker);
 *   2. the codec (table below, one codec_*.c file each) turns a frame's bytes
 *      into values of BitsAllocated bits in host order;
 *   3. normalisation, the same for every codec: planar -> interleaved,
 *      YBR_FULL/YBR_FULL_422 -> RGB (pydicom's convert_color_space
 *      arithmetic), the bits above BitsStored masked off for unsigned data
 *      (PS3.5 8.1.1: they are not part of the value; pydicom keeps them),
 *      sign extension from BitsStored for signed data, and the conversion
 *      to float32 with RescaleSlope/Intercept when asked.  Both take
 *      HighBit = BitsStored - 1, as pydicom and PS3.5 require of images.
 */
#include "dc_decode.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc_scan.h"
#include "dc_util.h"

/* ---- the codec table (IOR-style: one entry per codec file) ---- */
static const dc_codec *const codecs[] = {&dc_codec_native, &dc_codec_rle, &dc_codec_jpeg,
                                         &dc_codec_jpegls, &dc_codec_j2k};

/* largest compressed frame we agree to assemble */
#define MAX_FRAME_BYTES ((uint64_t)1 << 31)
/* largest decoded frame */
#define MAX_FRAME_VALUES ((uint64_t)1 << 32)

void dc_pixel_desc_from_record(const dc_record *r, dc_pixel_desc *pd)
{
    memset(pd, 0, sizeof *pd);
    pd->rows = r->rows;
    pd->cols = r->cols;
    pd->samples = r->samples ? r->samples : 1;
    pd->frames = r->frames ? r->frames : 1;
    pd->bits_alloc = r->bits_alloc;
    pd->bits_stored = r->bits_stored ? r->bits_stored : r->bits_alloc;
    pd->high_bit = r->high_bit;
    pd->pixel_rep = r->pixel_rep;
    pd->planar = r->planar;
    pd->pixel_kind = r->pixel_kind;
    dc_copy_str(pd->photometric, sizeof pd->photometric, r->photometric, SIZE_MAX);
    dc_copy_str(pd->ts_uid, sizeof pd->ts_uid, r->ts_uid, SIZE_MAX);
    pd->big_endian = strcmp(r->ts_uid, "1.2.840.10008.1.2.2") == 0;
}

int dc_output_dtype(const dc_pixel_desc *pd, int rescale)
{
    if (pd->pixel_kind == DC_PIX_DOUBLE) return DC_DT_F64;
    if (pd->pixel_kind == DC_PIX_FLOAT || rescale) return DC_DT_F32;
    int s = pd->pixel_rep == 1;
    if (pd->bits_alloc <= 8) return s ? DC_DT_I8 : DC_DT_U8;
    if (pd->bits_alloc <= 16) return s ? DC_DT_I16 : DC_DT_U16;
    return s ? DC_DT_I32 : DC_DT_U32;
}

const dc_codec *dc_codec_find(const char *ts_uid)
{
    if (!ts_uid) return NULL;
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++)
        if (codecs[i]->accepts(ts_uid)) return codecs[i];
    return NULL;
}

static int is_ybr_full(const char *pi)
{
    return strcmp(pi, "YBR_FULL") == 0 || strcmp(pi, "YBR_FULL_422") == 0;
}

const char *dc_decoded_photometric(const dc_pixel_desc *pd)
{
    if (pd->samples == 3 &&
        (is_ybr_full(pd->photometric) || strcmp(pd->photometric, "YBR_ICT") == 0 ||
         strcmp(pd->photometric, "YBR_RCT") == 0))
        return "RGB";
    return pd->photometric;
}

size_t dc_pixel_value_size(const dc_pixel_desc *pd)
{
    if (pd->pixel_kind == DC_PIX_DOUBLE) return pd->bits_alloc == 64 ? 8 : 0;
    if (pd->pixel_kind == DC_PIX_FLOAT) return pd->bits_alloc == 32 ? 4 : 0;
    switch (pd->bits_alloc) {
    case 1:
    case 8:
        return 1;
    case 16:
        return 2;
    case 32:
        return 4;
    default:
        return 0;
    }
}

uint64_t dc_pixel_frame_values(const dc_pixel_desc *pd)
{
    uint64_t n = (uint64_t)pd->rows * pd->cols * pd->samples;
    return n > MAX_FRAME_VALUES ? 0 : n;
}

void dc_widen_values(const uint8_t *src, size_t from, uint8_t *dst, size_t to, uint64_t n)
{
    for (uint64_t i = n; i-- > 0;) { /* backwards: src and dst may start at the same byte */
        uint32_t v = from == 1   ? src[i]
                     : from == 2 ? ((const uint16_t *)src)[i]
                                 : ((const uint32_t *)src)[i];
        if (to == 1)
            dst[i] = (uint8_t)v;
        else if (to == 2)
            ((uint16_t *)dst)[i] = (uint16_t)v;
        else
            ((uint32_t *)dst)[i] = v;
    }
}

static size_t dtype_size(int dt)
{
    static const size_t sz[] = {1, 1, 2, 2, 4, 4, 4, 8};
    return dt >= 0 && dt <= DC_DT_F64 ? sz[dt] : 0;
}

/* ------------------------------------------------------------------ */
/* one call's state */
typedef struct {
    dc_dataset *ds;
    dc_pixel_desc pdc;       /* the caller's, with the effective transfer syntax */
    const dc_pixel_desc *pd; /* = &pdc */
    const dc_codec *codec;
    int fd, own_fd;
    int out_dtype, natural;
    double slope, intercept;
    uint64_t nval;   /* values per frame */
    size_t vs;       /* bytes per codec output value */
    size_t out_size; /* bytes per output value */
    uint8_t *vals;   /* one frame of codec output when the output type differs */
    uint8_t *tmp;    /* one frame, for planar -> interleaved */
    uint8_t *src;    /* a frame's stored bytes */
    size_t src_cap;
    char *err;
    size_t errlen;
} dec_ctx;

static int fail(dec_ctx *c, const char *msg)
{
    snprintf(c->err, c->errlen, "%s", msg);
    return -1;
}

static uint8_t *grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need > *cap) {
        free(*buf);
        *buf = malloc(need ? need : 1);
        *cap = *buf ? need : 0;
    }
    return *buf;
}

static int copy_from(dec_ctx *c, const uint8_t *base, uint64_t size, uint64_t off, size_t len,
                     uint8_t *dst)
{
    if (off > size || len > size - off) return fail(c, "truncated pixel data");
    memcpy(dst, base + off, len);
    return 0;
}

/* read len bytes at off: into ds->buf (deflated files), the memory image
 * (dc_parse_memory) or the file */
static int read_at(dec_ctx *c, uint64_t off, size_t len, uint8_t *dst)
{
    const dc_dataset *ds = c->ds;
    if (ds->pixel.in_buf) return copy_from(c, ds->buf, ds->buf_len, off, len, dst);
    if (ds->mem) return copy_from(c, ds->mem, ds->mem_len, off, len, dst);
    if (c->fd < 0) return fail(c, "pixel data not readable: file not open");
    size_t done = 0;
    while (done < len) {
        ssize_t k = pread(c->fd, dst + done, len - done, (off_t)(off + done));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            snprintf(c->err, c->errlen, "read error: %s", strerror(errno));
            return -1;
        }
        if (k == 0) return fail(c, "truncated pixel data");
        done += (size_t)k;
    }
    return 0;
}

/* ---- normalisation ---- */

static void interleave(const uint8_t *planar, uint8_t *dst, uint64_t npix, uint32_t samples,
                       size_t vs)
{
    for (uint32_t s = 0; s < samples; s++) {
        const uint8_t *p = planar + s * npix * vs;
        for (uint64_t i = 0; i < npix; i++) memcpy(dst + (i * samples + s) * vs, p + i * vs, vs);
    }
}

/* pydicom's _convert_YBR_FULL_to_RGB (float32 matrix, +0.5, floor, clip),
 * with the offset and ceiling taken from BitsStored (128 and 255 for 8 bits) */
static void ybr_to_rgb(uint8_t *v, uint64_t npix, size_t vs, unsigned bits)
{
    const float k_cr_r = 1.402f, k_cb_g = (float)(-0.114 * 1.772 / 0.587);
    const float k_cr_g = (float)(-0.299 * 1.402 / 0.587), k_cb_b = 1.772f;
    if (bits < 1 || bits > 8 * vs) bits = (unsigned)(8 * vs);
    const float off = (float)(1u << (bits - 1)), maxv = (float)((1u << bits) - 1);
    for (uint64_t i = 0; i < npix; i++) {
        float in[3], out[3];
        for (int k = 0; k < 3; k++) in[k] = vs == 1 ? v[i * 3 + k] : ((uint16_t *)v)[i * 3 + k];
        float y = in[0], cb = in[1] - off, cr = in[2] - off;
        out[0] = y + cr * k_cr_r;
        out[1] = y + cb * k_cb_g + cr * k_cr_g;
        out[2] = y + cb * k_cb_b;
        for (int k = 0; k < 3; k++) {
            float r = floorf(out[k] + 0.5f);
            r = r < 0 ? 0 : r > maxv ? maxv : r;
            if (vs == 1)
                v[i * 3 + k] = (uint8_t)r;
            else
                ((uint16_t *)v)[i * 3 + k] = (uint16_t)r;
        }
    }
}

/* unsigned values: only the low `bits` bits are the value (PS3.5 8.1.1) */
static void mask_high_bits(uint8_t *v, uint64_t n, size_t vs, unsigned bits)
{
    const uint32_t mask = (1u << bits) - 1; /* bits < 8 * vs <= 32 */
    for (uint64_t i = 0; i < n; i++) {
        if (vs == 1)
            v[i] = (uint8_t)(v[i] & mask);
        else if (vs == 2)
            ((uint16_t *)v)[i] = (uint16_t)(((uint16_t *)v)[i] & mask);
        else
            ((uint32_t *)v)[i] &= mask;
    }
}

static void sign_extend(uint8_t *v, uint64_t n, size_t vs, unsigned bits)
{
    const uint32_t m = 1u << (bits - 1), mask = (m << 1) - 1;
    for (uint64_t i = 0; i < n; i++) {
        if (vs == 1)
            v[i] = (uint8_t)(((v[i] & mask) ^ m) - m);
        else if (vs == 2)
            ((uint16_t *)v)[i] = (uint16_t)(((((uint16_t *)v)[i] & mask) ^ m) - m);
        else
            ((uint32_t *)v)[i] = ((((uint32_t *)v)[i] & mask) ^ m) - m;
    }
}

static double get_value(const uint8_t *p, uint64_t i, int dt)
{
    switch (dt) {
    case DC_DT_U8:
        return p[i];
    case DC_DT_I8:
        return ((const int8_t *)p)[i];
    case DC_DT_U16:
        return ((const uint16_t *)p)[i];
    case DC_DT_I16:
        return ((const int16_t *)p)[i];
    case DC_DT_U32:
        return ((const uint32_t *)p)[i];
    case DC_DT_I32:
        return ((const int32_t *)p)[i];
    case DC_DT_F32:
        return ((const float *)p)[i];
    default:
        return ((const double *)p)[i];
    }
}

static int is_float_dtype(int t)
{
    return t == DC_DT_F32 || t == DC_DT_F64;
}

/* An integer output type that holds every value of the natural type exactly
 * (a volume whose slices differ in PixelRepresentation, see stack.c). */
static int int_widening(int natural, int out)
{
    if (is_float_dtype(natural) || is_float_dtype(out)) return 0;
    int ns = natural == DC_DT_I8 || natural == DC_DT_I16 || natural == DC_DT_I32;
    int os = out == DC_DT_I8 || out == DC_DT_I16 || out == DC_DT_I32;
    int nb = dc_dtype_size(natural), ob = dc_dtype_size(out);
    return ns == os ? ob >= nb : (os && ob > nb);
}

/* natural-type values -> the output type: float32/float64 (integers
 * rescaled) or a wider integer type */
static void convert_out(const dec_ctx *c, const uint8_t *v, void *dst)
{
    int is_int = !is_float_dtype(c->natural);
    for (uint64_t i = 0; i < c->nval; i++) {
        double x = get_value(v, i, c->natural);
        switch (c->out_dtype) {
        case DC_DT_F32: ((float *)dst)[i] = (float)(is_int ? x * c->slope + c->intercept : x); break;
        case DC_DT_F64: ((double *)dst)[i] = is_int ? x * c->slope + c->intercept : x; break;
        case DC_DT_U8: ((uint8_t *)dst)[i] = (uint8_t)x; break;
        case DC_DT_I8: ((int8_t *)dst)[i] = (int8_t)x; break;
        case DC_DT_U16: ((uint16_t *)dst)[i] = (uint16_t)x; break;
        case DC_DT_I16: ((int16_t *)dst)[i] = (int16_t)x; break;
        case DC_DT_U32: ((uint32_t *)dst)[i] = (uint32_t)x; break;
        default: ((int32_t *)dst)[i] = (int32_t)x; break;
        }
    }
}

/* codec output in vals (flags DC_CODEC_*) -> one output frame at out */
static void finish_frame(dec_ctx *c, uint8_t *vals, int flags, uint8_t *out)
{
    const dc_pixel_desc *pd = c->pd;
    uint64_t npix = (uint64_t)pd->rows * pd->cols;
    int is_int = pd->pixel_kind != DC_PIX_FLOAT && pd->pixel_kind != DC_PIX_DOUBLE;
    if ((flags & DC_CODEC_PLANAR) && pd->samples > 1) {
        memcpy(c->tmp, vals, c->nval * c->vs);
        interleave(c->tmp, vals, npix, pd->samples, c->vs);
    }
    int narrow = is_int && pd->bits_stored > 0 && pd->bits_stored < 8 * c->vs;
    if (narrow && pd->pixel_rep == 0) mask_high_bits(vals, c->nval, c->vs, pd->bits_stored);
    if (is_int && pd->samples == 3 && c->vs <= 2 && !(flags & DC_CODEC_RGB) &&
        is_ybr_full(pd->photometric))
        ybr_to_rgb(vals, npix, c->vs, pd->bits_stored);
    if (narrow && pd->pixel_rep == 1)
        sign_extend(vals, c->nval, c->vs, pd->bits_stored);
    if (vals != out) convert_out(c, vals, out);
}

/* where the codec writes: straight into the output when the types agree */
static uint8_t *frame_vals(dec_ctx *c, uint8_t *out)
{
    return c->out_dtype == c->natural ? out : c->vals;
}

/* ---- native ---- */

static int decode_native_1bit(dec_ctx *c, uint32_t first, uint32_t count, uint8_t *dst)
{
    const dc_pixel_desc *pd = c->pd;
    uint64_t bits = c->nval;
    if (c->ds->pixel.len * 8 < (uint64_t)pd->frames * bits) return fail(c, "truncated pixel data");
    for (uint32_t f = 0; f < count; f++) {
        uint64_t start = (uint64_t)(first + f) * bits;
        size_t nbytes = (size_t)((start % 8 + bits + 7) / 8);
        if (!grow(&c->src, &c->src_cap, nbytes)) return fail(c, "out of memory");
        if (read_at(c, c->ds->pixel.off + start / 8, nbytes, c->src) != 0) return -1;
        uint8_t *out = dst + f * c->nval * c->out_size, *v = frame_vals(c, out);
        dc_unpack_bits(c->src, start % 8, (size_t)bits, v);
        finish_frame(c, v, 0, out);
    }
    return 0;
}

static int decode_native(dec_ctx *c, uint32_t first, uint32_t count, uint8_t *dst)
{
    const dc_pixel_desc *pd = c->pd;
    if (c->ds->pixel.encapsulated)
        return fail(c, "encapsulated pixel data in a native transfer syntax");
    if (pd->bits_alloc == 1) return decode_native_1bit(c, first, count, dst);
    int ybr422 = pd->samples == 3 && strcmp(pd->photometric, "YBR_FULL_422") == 0;
    uint64_t raw = ybr422 ? c->nval / 3 * 2 * c->vs : c->nval * c->vs;
    if (c->ds->pixel.len < (uint64_t)pd->frames * raw) return fail(c, "truncated pixel data");
    uint64_t off = c->ds->pixel.off + (uint64_t)first * raw;
    int direct = !ybr422 && c->out_dtype == c->natural;
    if (direct && read_at(c, off, (size_t)(raw * count), dst) != 0) return -1; /* the fast path */
    for (uint32_t f = 0; f < count; f++) {
        uint8_t *out = dst + f * c->nval * c->out_size, *v = frame_vals(c, out), *in = v;
        int flags = 0;
        if (!direct) {
            if (!grow(&c->src, &c->src_cap, (size_t)raw)) return fail(c, "out of memory");
            if (read_at(c, off + f * raw, (size_t)raw, c->src) != 0) return -1;
            in = c->src;
        }
        if (dc_codec_native.decode(pd, in, (size_t)raw, v, (size_t)(c->nval * c->vs), &flags,
                                   c->err, c->errlen) != 0)
            return -1;
        finish_frame(c, v, flags, out);
    }
    return 0;
}

/* ---- encapsulated: frames to fragments ---- */

static int map_by_bot(const dc_pixel_loc *px, uint32_t nframes, size_t *start)
{
    if (px->n_bot != nframes || px->n_frags < nframes || px->bot[0] != 0) return -1;
    uint64_t base = px->frags[0].off;
    size_t k = 0;
    for (uint32_t f = 0; f < nframes; f++) {
        while (k < px->n_frags && px->frags[k].off - base < (uint64_t)px->bot[f]) k++;
        if (k == px->n_frags || px->frags[k].off - base != (uint64_t)px->bot[f]) return -1;
        if (f > 0 && k <= start[f - 1]) return -1;
        start[f] = k;
    }
    start[nframes] = px->n_frags;
    return 0;
}

/* pydicom's rule: a frame ends with a fragment holding FFD9 in its last 10 bytes */
static int map_by_marker(dec_ctx *c, uint32_t nframes, size_t *start)
{
    const dc_pixel_loc *px = &c->ds->pixel;
    uint32_t f = 0;
    size_t k;
    start[0] = 0;
    for (k = 0; k < px->n_frags && f < nframes; k++) {
        uint8_t tail[10];
        size_t n = px->frags[k].len < 10 ? px->frags[k].len : 10;
        if (read_at(c, px->frags[k].off + px->frags[k].len - n, n, tail) != 0) return -1;
        for (size_t i = 0; i + 1 < n; i++) {
            if (tail[i] == 0xFF && tail[i + 1] == 0xD9) {
                start[++f] = k + 1;
                break;
            }
        }
    }
    if (f != nframes || k != px->n_frags) {
        snprintf(c->err, c->errlen, "cannot find frame boundaries in %zu fragments for %u frames",
                 px->n_frags, (unsigned)nframes);
        return -1;
    }
    return 0;
}

/* The marker rule reads the end of every fragment; the crawler decodes one
 * frame per call, so the last map found that way is kept (one entry, keyed
 * by the file and its fragment layout; dcmcrawl ranks are single-threaded). */
static struct {
    char *path;
    uint64_t file_size, layout;
    size_t n_frags;
    uint32_t nframes;
    size_t *start;
} marker_cache;

static uint64_t frag_layout(const dc_pixel_loc *px)
{
    uint64_t h = DC_HASH_SEED;
    for (size_t k = 0; k < px->n_frags; k++) {
        uint64_t v[2] = {px->frags[k].off, px->frags[k].len};
        h = dc_hash64(v, sizeof v, h);
    }
    return h;
}

static int cached_marker_map(dec_ctx *c, uint32_t nframes, size_t *start)
{
    const dc_dataset *ds = c->ds;
    if (!marker_cache.start || !ds->path || ds->mem || ds->pixel.in_buf || !marker_cache.path ||
        strcmp(ds->path, marker_cache.path) != 0 || marker_cache.file_size != ds->file_size ||
        marker_cache.n_frags != ds->pixel.n_frags || marker_cache.nframes != nframes ||
        marker_cache.layout != frag_layout(&ds->pixel))
        return -1;
    memcpy(start, marker_cache.start, ((size_t)nframes + 1) * sizeof *start);
    return 0;
}

static void remember_marker_map(const dc_dataset *ds, uint32_t nframes, const size_t *start)
{
    if (!ds->path || ds->mem || ds->pixel.in_buf) return; /* files only */
    free(marker_cache.path);
    free(marker_cache.start);
    marker_cache.path = strdup(ds->path);
    marker_cache.start = malloc(((size_t)nframes + 1) * sizeof *start);
    if (!marker_cache.path || !marker_cache.start) {
        free(marker_cache.path);
        free(marker_cache.start);
        marker_cache.path = NULL;
        marker_cache.start = NULL;
        return;
    }
    memcpy(marker_cache.start, start, ((size_t)nframes + 1) * sizeof *start);
    marker_cache.file_size = ds->file_size;
    marker_cache.n_frags = ds->pixel.n_frags;
    marker_cache.nframes = nframes;
    marker_cache.layout = frag_layout(&ds->pixel);
}

static int map_frames(dec_ctx *c, uint32_t nframes, size_t *start)
{
    const dc_pixel_loc *px = &c->ds->pixel;
    if (px->n_frags == 0) return fail(c, "no pixel data");
    if (map_by_bot(px, nframes, start) == 0) return 0;
    if (nframes == 1 || px->n_frags == nframes) {
        for (uint32_t f = 0; f < nframes; f++) start[f] = nframes == 1 ? 0 : f;
        start[nframes] = px->n_frags;
        return 0;
    }
    if (px->n_frags < nframes) {
        snprintf(c->err, c->errlen, "%zu fragments for %u frames", px->n_frags, (unsigned)nframes);
        return -1;
    }
    if (!c->codec->ends_with_ffd9) {
        snprintf(c->err, c->errlen, "cannot split %zu fragments into %u frames", px->n_frags,
                 (unsigned)nframes);
        return -1;
    }
    if (cached_marker_map(c, nframes, start) == 0) return 0;
    if (map_by_marker(c, nframes, start) != 0) return -1;
    remember_marker_map(c->ds, nframes, start);
    return 0;
}

/* SPEC 6: a file that cannot decode names its transfer syntax */
static void append_ts(dec_ctx *c)
{
    size_t k = strlen(c->err);
    if (k + 4 < c->errlen) snprintf(c->err + k, c->errlen - k, " (%s)", c->pd->ts_uid);
}

/* concatenate fragments [a, b) into c->src; returns the length or -1 */
static int64_t gather_frame(dec_ctx *c, size_t a, size_t b)
{
    const dc_pixel_loc *px = &c->ds->pixel;
    uint64_t total = 0;
    for (size_t k = a; k < b; k++) total += px->frags[k].len;
    if (total == 0) return fail(c, "empty frame");
    if (total > MAX_FRAME_BYTES) return fail(c, "compressed frame too large");
    if (!grow(&c->src, &c->src_cap, (size_t)total)) return fail(c, "out of memory");
    uint64_t at = 0;
    for (size_t k = a; k < b; k++) {
        if (read_at(c, px->frags[k].off, px->frags[k].len, c->src + at) != 0) return -1;
        at += px->frags[k].len;
    }
    return (int64_t)total;
}

static int decode_encapsulated(dec_ctx *c, uint32_t first, uint32_t count, uint8_t *dst)
{
    const dc_pixel_desc *pd = c->pd;
    if (!c->ds->pixel.encapsulated) return fail(c, "pixel data not encapsulated");
    if (!c->ds->pixel.walked && dc_pixel_walk_fragments(c->ds, c->err, c->errlen) != DC_PARSE_OK)
        return -1;
    size_t *start = malloc(((size_t)pd->frames + 1) * sizeof *start);
    if (!start) return fail(c, "out of memory");
    int rc = map_frames(c, pd->frames, start);
    for (uint32_t f = 0; rc == 0 && f < count; f++) {
        int64_t n = gather_frame(c, start[first + f], start[first + f + 1]);
        if (n < 0) {
            rc = -1;
            break;
        }
        uint8_t *out = dst + f * c->nval * c->out_size, *v = frame_vals(c, out);
        int flags = 0;
        rc = c->codec->decode(pd, c->src, (size_t)n, v, (size_t)(c->nval * c->vs), &flags, c->err,
                              c->errlen);
        if (rc == 0)
            finish_frame(c, v, flags, out);
        else
            append_ts(c);
    }
    free(start);
    return rc;
}

/* ---- entry point ---- */

/* transfer syntax of the file: pd's, else what the parser found */
static const char *effective_ts(const dc_dataset *ds, const dc_pixel_desc *pd)
{
    if (pd->ts_uid[0]) return pd->ts_uid;
    if (ds->ts_uid[0]) return ds->ts_uid;
    switch (ds->ts) {
    case DC_TS_EXPLICIT_LE:
        return "1.2.840.10008.1.2.1";
    case DC_TS_EXPLICIT_BE:
        return "1.2.840.10008.1.2.2";
    case DC_TS_DEFLATED_LE:
        return "1.2.840.10008.1.2.1.99";
    default:
        return "1.2.840.10008.1.2";
    }
}

static int check_desc(dec_ctx *c, uint32_t first, uint32_t count)
{
    const dc_pixel_desc *pd = c->pd;
    char msg[120];
    if (!c->ds->pixel.present || pd->pixel_kind == DC_PIX_NONE) return fail(c, "no pixel data");
    if (pd->rows == 0 || pd->cols == 0) return fail(c, "missing Rows/Columns");
    if (pd->samples == 0 || pd->samples > 4) return fail(c, "bad SamplesPerPixel");
    if (c->nval == 0) return fail(c, "image too large");
    if (c->vs == 0) {
        snprintf(msg, sizeof msg, "unsupported BitsAllocated %u", (unsigned)pd->bits_alloc);
        return fail(c, msg);
    }
    if (pd->frames == 0 || first >= pd->frames || count > pd->frames - first)
        return fail(c, "bad frame range");
    if (c->out_size == 0 ||
        (c->out_dtype != c->natural && !is_float_dtype(c->out_dtype) &&
         !int_widening(c->natural, c->out_dtype))) {
        snprintf(msg, sizeof msg, "pixel type %s does not match the output type %s",
                 dc_dtype_name(c->natural), dc_dtype_name(c->out_dtype));
        return fail(c, msg);
    }
    return 0;
}

static int setup(dec_ctx *c)
{
    c->fd = c->ds->fd;
    if (c->fd < 0 && !c->ds->pixel.in_buf && !c->ds->mem && c->ds->path) {
        struct stat st;
        c->fd = open(c->ds->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
        if (c->fd < 0) {
            snprintf(c->err, c->errlen, "cannot open: %s", strerror(errno));
            return -1;
        }
        c->own_fd = 1;
        if (fstat(c->fd, &st) != 0 || !S_ISREG(st.st_mode)) return fail(c, "not a regular file");
    }
    size_t frame = (size_t)(c->nval * c->vs);
    if (c->pd->samples > 1 && !(c->tmp = malloc(frame))) return fail(c, "out of memory");
    if (c->out_dtype != c->natural && !(c->vals = malloc(frame))) return fail(c, "out of memory");
    return 0;
}

static void teardown(dec_ctx *c)
{
    if (c->own_fd) close(c->fd);
    free(c->vals);
    free(c->tmp);
    free(c->src);
}

int dc_decode_frames(dc_dataset *ds, const dc_pixel_desc *pd, uint32_t first, uint32_t count,
                     int out_dtype, double slope, double intercept, void *dst, char *err,
                     size_t errlen)
{
    dec_ctx c;
    memset(&c, 0, sizeof c);
    c.ds = ds;
    c.pdc = *pd;
    c.pd = &c.pdc;
    c.fd = -1;
    c.err = err;
    c.errlen = errlen;
    c.out_dtype = out_dtype;
    c.natural = dc_output_dtype(pd, 0);
    c.slope = slope;
    c.intercept = intercept;
    c.nval = dc_pixel_frame_values(pd);
    c.vs = dc_pixel_value_size(pd);
    c.out_size = dtype_size(out_dtype);
    if (check_desc(&c, first, count) != 0) return -1;
    const char *ts = effective_ts(ds, pd);
    snprintf(c.pdc.ts_uid, sizeof c.pdc.ts_uid, "%s", ts);
    c.pdc.big_endian = strcmp(ts, "1.2.840.10008.1.2.2") == 0;
    c.codec = dc_codec_find(ts);
    if (!c.codec) {
        snprintf(err, errlen, "unsupported transfer syntax %s", ts);
        return -1;
    }
    if (count == 0) return 0;
    int rc = setup(&c);
    if (rc == 0)
        rc = c.codec->native ? decode_native(&c, first, count, dst)
                             : decode_encapsulated(&c, first, count, dst);
    teardown(&c);
    return rc;
}

/* ---- bounds before allocation ---- */

int dc_pixel_check_size(const dc_pixel_desc *pd, uint64_t file_size, uint64_t max_bytes, char *why,
                        size_t whylen)
{
    uint64_t frames = pd->frames ? pd->frames : 1;
    uint64_t nval = (uint64_t)pd->rows * pd->cols * (pd->samples ? pd->samples : 1); /* < 2^64 */
    uint64_t vs = dc_pixel_value_size(pd), total;
    if (max_bytes == 0) max_bytes = DC_DEFAULT_MAX_IMAGE_BYTES;
    if (vs == 0 || nval == 0) return 0; /* decoding refuses these with its own reason */
    uint64_t frame_bytes = nval * vs;   /* rows, cols < 2^16 and samples < 2^32: no overflow */
    int overflow = __builtin_mul_overflow(frame_bytes, frames, &total);
    if (overflow || total > max_bytes) {
        char n[40];
        if (overflow)
            snprintf(n, sizeof n, "more than %llu", (unsigned long long)UINT64_MAX);
        else
            snprintf(n, sizeof n, "%llu", (unsigned long long)total);
        snprintf(why, whylen, "image of %s bytes (%u x %u x %u frames) exceeds run.max_image_bytes (%llu)",
                 n, (unsigned)pd->rows, (unsigned)pd->cols, (unsigned)frames,
                 (unsigned long long)max_bytes);
        return -1;
    }
    const dc_codec *codec = dc_codec_find(pd->ts_uid[0] ? pd->ts_uid : "1.2.840.10008.1.2");
    if (!codec || !codec->native) return 0; /* compressed: only the ceiling applies */
    if (strcmp(pd->ts_uid, "1.2.840.10008.1.2.1.99") == 0) return 0; /* deflated: smaller file */
    uint64_t stored;
    if (pd->bits_alloc == 1)
        stored = (frames * nval + 7) / 8;
    else if (pd->samples == 3 && strcmp(pd->photometric, "YBR_FULL_422") == 0)
        stored = frames * (nval / 3 * 2 * vs);
    else
        stored = total;
    if (stored > file_size) {
        snprintf(why, whylen, "truncated pixel data: %u x %u x %u frames need %llu bytes, the file has %llu",
                 (unsigned)pd->rows, (unsigned)pd->cols, (unsigned)frames,
                 (unsigned long long)stored, (unsigned long long)file_size);
        return -1;
    }
    return 0;
}
