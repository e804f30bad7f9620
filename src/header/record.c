/*
 * record.c - dc_record: the compact per-file summary of the header pass.
 * See dc_record.h.
 *
 * dc_record_from_dataset reads the top-level attributes (UIDs, geometry,
 * image pixel module, rescale) and, for enhanced multi-frame files, the
 * functional groups: the Shared group (5200,9229) gives defaults, each item
 * of the Per-frame group (5200,9230) gives one dc_frame_geom.  The per-frame
 * sequence is walked once in element order (no per-frame searches), so the
 * cost is linear in the header size.
 *
 * Palette Color Lookup Tables (top level: PALETTE COLOR images and
 * supplemental palettes) are read into a dc_palette: descriptors as in the
 * file, tables one value per entry, segmented tables expanded (C.7.9.2, the
 * way pydicom does it).  A palette is kept only when all three channels are
 * readable; it is at most 3 x 65536 entries.
 *
 * dc_record_pack/unpack serialise a record field by field in little endian
 * (strings length-prefixed), so records travel between ranks whatever the
 * struct layout; unpack checks every length against the bytes left.
 */
#include "dc_record.h"
#include "dc_wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_charset.h" /* dc_utf8_seq_len */
#include "dc_references.h"

void dc_record_init(dc_record *r)
{
    memset(r, 0, sizeof *r);
    r->frames = 1;
    r->slope = 1.0;
}

void dc_record_free(dc_record *r)
{
    free(r->frame_geom);
    r->frame_geom = NULL;
    r->n_frame_geom = 0;
    dc_palette_free(r->palette);
    r->palette = NULL;
    dc_vendor_vals_free(&r->vendor);
    free(r->refs);
    r->refs = NULL;
}

/* ------------------------------------------------------------------ */
/* reading attributes                                                  */
/* ------------------------------------------------------------------ */

static void get_str(const dc_dataset *ds, uint32_t tag, char *out, size_t outlen)
{
    if (dc_tag_str(ds, tag, out, outlen) != 0) out[0] = '\0';
}

/* A UID (or Modality) that becomes part of a Scan ID, an HDF5 dataset name
 * and UTF-8 attributes: '/' (an HDF5 path separator: a UID "1.2/3" made the
 * dataset impossible to create and stopped the crawl) and bytes that are not
 * well-formed UTF-8 become '_'.  Valid UIDs (digits and dots) are unchanged. */
/* no '/' and no byte >= 0x80 in s[0..n) (8 bytes at a time): nothing to replace */
static int plain_id(const char *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w, x;
        memcpy(&w, s + i, 8);
        x = w ^ 0x2F2F2F2F2F2F2F2FULL; /* a '/' byte becomes 0 */
        if ((w | ((x - 0x0101010101010101ULL) & ~x)) & 0x8080808080808080ULL) return 0;
    }
    for (; i < n; i++)
        if ((unsigned char)s[i] >= 0x80 || s[i] == '/') return 0;
    return 1;
}

static void get_id(const dc_dataset *ds, uint32_t tag, char *out, size_t outlen)
{
    get_str(ds, tag, out, outlen);
    size_t n = strlen(out);
    if (plain_id(out, n)) return;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)out[i];
        size_t k = c < 0x80 ? 1 : dc_utf8_seq_len((const unsigned char *)out + i, n - i);
        if (k == 0 || out[i] == '/') {
            out[i++] = '_';
        } else {
            i += k;
        }
    }
}

static int get_u16(const dc_dataset *ds, uint32_t tag, uint16_t *out)
{
    long v;
    if (dc_tag_long(ds, tag, &v) != 0 || v < 0 || v > 0xFFFF) return -1;
    *out = (uint16_t)v;
    return 0;
}

static int get_i32(const dc_dataset *ds, int idx, int32_t *out)
{
    long v;
    if (dc_get_long_at(ds, idx, 0, &v) != 0 || v < INT32_MIN || v > INT32_MAX) return -1;
    *out = (int32_t)v;
    return 0;
}

/* all n values of element idx, or -1 */
static int get_n(const dc_dataset *ds, int idx, double *out, int n)
{
    if (idx < 0) return -1;
    for (int k = 0; k < n; k++)
        if (dc_get_double_at(ds, idx, k, &out[k]) != 0 || !isfinite(out[k])) return -1;
    return 0;
}

/* values found in a functional group item (or at top level) */
typedef struct {
    double ipp[3], iop[6], spacing[2], thickness, sbs, slope, intercept;
    int32_t temporal, stack_pos;
    uint8_t has_ipp, has_iop, has_spacing, has_thickness, has_sbs, has_slope, has_intercept;
    uint8_t has_temporal, has_stack_pos;
} fg_vals;

/* element `tag` in item 0 of sequence `sq` */
static int in_item0(const dc_dataset *ds, int sq, uint32_t tag)
{
    return dc_find_in_item(ds, sq, 0, tag);
}

/* one functional group sequence element (e.g. PlanePositionSequence): a
 * group present per frame replaces the whole shared group, so its fields are
 * reset before reading */
static void apply_group(const dc_dataset *ds, int sq, fg_vals *v)
{
    double d;
    switch (ds->el[sq].tag) {
    case DC_TAG(0x0020, 0x9113): /* PlanePositionSequence */
        v->has_ipp = 0;
        if (get_n(ds, in_item0(ds, sq, DC_TAG_IPP), v->ipp, 3) == 0) v->has_ipp = 1;
        break;
    case DC_TAG(0x0020, 0x9116): /* PlaneOrientationSequence */
        v->has_iop = 0;
        if (get_n(ds, in_item0(ds, sq, DC_TAG_IOP), v->iop, 6) == 0) v->has_iop = 1;
        break;
    case DC_TAG(0x0020, 0x9111): /* FrameContentSequence */
        v->has_temporal = v->has_stack_pos = 0;
        if (get_i32(ds, in_item0(ds, sq, DC_TAG(0x0020, 0x9128)), &v->temporal) == 0) v->has_temporal = 1;
        if (get_i32(ds, in_item0(ds, sq, DC_TAG(0x0020, 0x9057)), &v->stack_pos) == 0) v->has_stack_pos = 1;
        break;
    case DC_TAG(0x0028, 0x9145): /* PixelValueTransformationSequence */
        v->has_slope = v->has_intercept = 0;
        if (get_n(ds, in_item0(ds, sq, DC_TAG_RESCALE_SLOPE), &d, 1) == 0) v->slope = d, v->has_slope = 1;
        if (get_n(ds, in_item0(ds, sq, DC_TAG_RESCALE_INTERCEPT), &d, 1) == 0) v->intercept = d, v->has_intercept = 1;
        break;
    case DC_TAG(0x0028, 0x9110): /* PixelMeasuresSequence */
        v->has_spacing = v->has_thickness = v->has_sbs = 0;
        if (get_n(ds, in_item0(ds, sq, DC_TAG_PIXEL_SPACING), v->spacing, 2) == 0) v->has_spacing = 1;
        if (get_n(ds, in_item0(ds, sq, DC_TAG_SLICE_THICKNESS), &d, 1) == 0) v->thickness = d, v->has_thickness = 1;
        if (get_n(ds, in_item0(ds, sq, DC_TAG_SPACING_BETWEEN), &d, 1) == 0) v->sbs = d, v->has_sbs = 1;
        break;
    default:
        break;
    }
}

/* next element at the same level as i (skips a sequence's subtree) */
static size_t next_sibling(const dc_dataset *ds, size_t i)
{
    const dc_elem *e = &ds->el[i];
    if (e->vr == DC_VR('S', 'Q') && e->val > i && e->val <= ds->n_el) return e->val;
    return i + 1;
}

/* every functional group in item 0 of the shared sequence */
static void read_shared(const dc_dataset *ds, int shared, fg_vals *v)
{
    size_t end = ds->el[shared].val;
    for (size_t i = (size_t)shared + 1; i < end && i < ds->n_el; i = next_sibling(ds, i))
        if (ds->el[i].parent == shared && ds->el[i].item == 0 && ds->el[i].vr == DC_VR('S', 'Q'))
            apply_group(ds, (int)i, v);
}

static void fill_frame(dc_frame_geom *g, const fg_vals *v)
{
    memcpy(g->ipp, v->ipp, sizeof g->ipp);
    memcpy(g->iop, v->iop, sizeof g->iop);
    g->has_ipp = v->has_ipp;
    g->has_iop = v->has_iop;
    g->temporal = v->has_temporal ? v->temporal : -1;
    g->stack_pos = v->has_stack_pos ? v->stack_pos : -1;
    g->has_rescale = v->has_slope || v->has_intercept;
    g->slope = v->has_slope ? v->slope : 1.0;
    g->intercept = v->has_intercept ? v->intercept : 0.0;
}

/* frame `item` is complete: store it, start the next from the shared values */
static void finish_frame(dc_record *r, int32_t item, fg_vals *cur, const fg_vals *shared, fg_vals *first)
{
    fill_frame(&r->frame_geom[item], cur);
    if (item == 0) *first = *cur;
    *cur = *shared;
}

/* Per-frame groups: one dc_frame_geom per item (at most r->frames), shared
 * values as defaults; *first gets frame 0's values for the record fields. */
static void read_per_frame(const dc_dataset *ds, int per, const fg_vals *shared, dc_record *r, fg_vals *first)
{
    uint32_t n = ds->el[per].len;
    if (n > r->frames) n = r->frames;
    *first = *shared;
    if (n == 0) return;
    r->frame_geom = dc_calloc(n, sizeof *r->frame_geom);
    r->n_frame_geom = n;
    fg_vals cur = *shared;
    int32_t item = 0;
    size_t end = ds->el[per].val < ds->n_el ? ds->el[per].val : ds->n_el;
    for (size_t i = (size_t)per + 1; i < end; i = next_sibling(ds, i)) {
        const dc_elem *e = &ds->el[i];
        if (e->parent != per) continue;
        if (e->item >= (int32_t)n) break;
        while (item < e->item) finish_frame(r, item++, &cur, shared, first);
        if (e->vr == DC_VR('S', 'Q')) apply_group(ds, (int)i, &cur);
    }
    while (item < (int32_t)n) finish_frame(r, item++, &cur, shared, first);
}

static void read_top(const dc_dataset *ds, fg_vals *v)
{
    memset(v, 0, sizeof *v);
    if (dc_tag_doubles(ds, DC_TAG_IPP, v->ipp, 3) == 3) v->has_ipp = 1;
    if (dc_tag_doubles(ds, DC_TAG_IOP, v->iop, 6) == 6) v->has_iop = 1;
    if (dc_tag_doubles(ds, DC_TAG_PIXEL_SPACING, v->spacing, 2) == 2) v->has_spacing = 1;
    if (dc_tag_doubles(ds, DC_TAG_SLICE_THICKNESS, &v->thickness, 1) == 1) v->has_thickness = 1;
    if (dc_tag_doubles(ds, DC_TAG_SPACING_BETWEEN, &v->sbs, 1) == 1) v->has_sbs = 1;
    if (dc_tag_doubles(ds, DC_TAG_RESCALE_SLOPE, &v->slope, 1) == 1) v->has_slope = 1;
    if (dc_tag_doubles(ds, DC_TAG_RESCALE_INTERCEPT, &v->intercept, 1) == 1) v->has_intercept = 1;
}

/* top-level values win; functional groups fill what is missing */
static void merge_into_record(dc_record *r, const fg_vals *top, const fg_vals *fg)
{
    const fg_vals *ipp = top->has_ipp ? top : fg, *iop = top->has_iop ? top : fg;
    const fg_vals *ps = top->has_spacing ? top : fg, *th = top->has_thickness ? top : fg;
    const fg_vals *sb = top->has_sbs ? top : fg;
    const fg_vals *rs = (top->has_slope || top->has_intercept) ? top : fg;
    if ((r->has_ipp = ipp->has_ipp)) memcpy(r->ipp, ipp->ipp, sizeof r->ipp);
    if ((r->has_iop = iop->has_iop)) memcpy(r->iop, iop->iop, sizeof r->iop);
    if ((r->has_spacing = ps->has_spacing)) memcpy(r->spacing, ps->spacing, sizeof r->spacing);
    if ((r->has_thickness = th->has_thickness)) r->thickness = th->thickness;
    if ((r->has_sbs = sb->has_sbs)) r->sbs = sb->sbs;
    r->has_rescale = rs->has_slope || rs->has_intercept;
    r->slope = rs->has_slope ? rs->slope : 1.0;
    r->intercept = rs->has_intercept ? rs->intercept : 0.0;
}

static void read_image_module(const dc_dataset *ds, dc_record *r)
{
    get_u16(ds, DC_TAG_ROWS, &r->rows);
    get_u16(ds, DC_TAG_COLUMNS, &r->cols);
    if (get_u16(ds, DC_TAG_SAMPLES, &r->samples) != 0) r->samples = 1;
    get_u16(ds, DC_TAG_BITS_ALLOCATED, &r->bits_alloc);
    get_u16(ds, DC_TAG_BITS_STORED, &r->bits_stored);
    get_u16(ds, DC_TAG_HIGH_BIT, &r->high_bit);
    get_u16(ds, DC_TAG_PIXEL_REP, &r->pixel_rep);
    get_u16(ds, DC_TAG_PLANAR, &r->planar);
    long nf;
    r->frames = 1;
    if (dc_tag_long(ds, DC_TAG_NUM_FRAMES, &nf) == 0 && nf > 1) {
        /* a frame takes at least one byte (8 when encapsulated): more frames
         * than that cannot be in the file, so never size anything beyond it */
        uint64_t cap = ds->file_size / (ds->pixel.encapsulated ? 8 : 1) + 1;
        r->frames = (uint64_t)nf > cap ? (uint32_t)(cap > UINT32_MAX ? UINT32_MAX : cap) : (uint32_t)nf;
    }
    r->pixel_kind = DC_PIX_NONE;
    if (ds->pixel.present) {
        if (ds->pixel.tag == DC_TAG_FLOAT_PIXEL_DATA) r->pixel_kind = DC_PIX_FLOAT;
        else if (ds->pixel.tag == DC_TAG_DOUBLE_PIXEL_DATA) r->pixel_kind = DC_PIX_DOUBLE;
        else r->pixel_kind = DC_PIX_INT;
    }
}

static void read_numbers(const dc_dataset *ds, dc_record *r)
{
    r->has_instance = get_i32(ds, dc_find(ds, DC_TAG_INSTANCE_NUMBER), &r->instance) == 0;
    r->has_acq = get_i32(ds, dc_find(ds, DC_TAG_ACQ_NUMBER), &r->acq) == 0;
    r->has_temporal = get_i32(ds, dc_find(ds, DC_TAG_TEMPORAL_POS), &r->temporal) == 0;
    if (!r->has_instance) r->instance = 0;
    if (!r->has_acq) r->acq = 0;
    if (!r->has_temporal) r->temporal = 0;
}

/* the transfer syntax: as in the meta header, else what the parser found */
static void read_ts(const dc_dataset *ds, dc_record *r)
{
    const char *ts = ds->ts_uid;
    if (!ts[0]) {
        switch (ds->ts) {
        case DC_TS_IMPLICIT_LE: ts = "1.2.840.10008.1.2"; break;
        case DC_TS_EXPLICIT_BE: ts = "1.2.840.10008.1.2.2"; break;
        default: ts = "1.2.840.10008.1.2.1"; break;
        }
    }
    dc_copy_str(r->ts_uid, sizeof r->ts_uid, ts, SIZE_MAX);
}

/* ------------------------------------------------------------------ */
/* palette color lookup tables                                          */
/* ------------------------------------------------------------------ */

dc_palette *dc_palette_dup(const dc_palette *p)
{
    if (!p) return NULL;
    dc_palette *q = dc_malloc(sizeof *q);
    *q = *p;
    size_t n = (size_t)p->len[0] + p->len[1] + p->len[2];
    q->lut = dc_malloc((n ? n : 1) * sizeof *q->lut);
    if (n) memcpy(q->lut, p->lut, n * sizeof *q->lut);
    return q;
}

void dc_palette_free(dc_palette *p)
{
    if (!p) return;
    free(p->lut);
    free(p);
}

const uint16_t *dc_palette_channel(const dc_palette *p, int c)
{
    size_t off = 0;
    for (int k = 0; k < c; k++) off += p->len[k];
    return p->lut + off;
}

int dc_palette_equal(const dc_palette *a, const dc_palette *b)
{
    if (!a || !b) return a == b;
    if (memcmp(a->desc, b->desc, sizeof a->desc) != 0 || memcmp(a->len, b->len, sizeof a->len) != 0 ||
        a->bits != b->bits || a->segmented != b->segmented)
        return 0;
    size_t n = (size_t)a->len[0] + a->len[1] + a->len[2];
    return n == 0 || memcmp(a->lut, b->lut, n * sizeof *a->lut) == 0;
}

typedef struct {
    const uint16_t *v;
    size_t n;
    int eb; /* bytes per value: 1 or 2 */
    uint16_t *out;
    uint32_t cap, len;
    const char *why;
} seg_ctx;

static int seg_fail(seg_ctx *c, const char *why)
{
    c->why = why;
    return -1;
}

static int seg_put(seg_ctx *c, uint16_t v)
{
    if (c->len >= c->cap) return seg_fail(c, "segmented palette longer than 65536 entries");
    c->out[c->len++] = v;
    return 0;
}

/* linear segment: numpy.around(numpy.linspace(y0 + step, y1, length)), as pydicom */
static int seg_linear(seg_ctx *c, double y0, double y1, uint32_t length)
{
    if (y0 == y1) {
        for (uint32_t i = 0; i < length; i++)
            if (seg_put(c, (uint16_t)y1) != 0) return -1;
        return 0;
    }
    double start = y0 + (y1 - y0) / length, delta = y1 - start;
    double step = length > 1 ? delta / (length - 1) : 0.0;
    for (uint32_t i = 0; i < length; i++) {
        double y = i + 1 == length ? y1 : (step != 0.0 ? i * step : (double)i / (length - 1) * delta) + start;
        if (seg_put(c, (uint16_t)rint(y)) != 0) return -1;
    }
    return 0;
}

/* segments from value offset off; nr < 0: all (top level), else at most nr
 * (an indirect segment's copy, continuing from the entries before it) */
static int seg_expand(seg_ctx *c, size_t off, long nr, int depth)
{
    uint32_t start = c->len;
    long done = 0;
    while (off + 1 < c->n) {
        uint16_t op = c->v[off], length = c->v[off + 1];
        off += 2;
        if (op == 0) { /* discrete */
            if (length > c->n - off) return seg_fail(c, "discrete segment runs past the data");
            for (uint32_t i = 0; i < length; i++)
                if (seg_put(c, c->v[off + i]) != 0) return -1;
            off += length;
        } else if (op == 1) { /* linear, from the previous entry */
            if (c->len == 0) return seg_fail(c, "the first segment cannot be a linear segment");
            if (off >= c->n) return seg_fail(c, "linear segment runs past the data");
            if (seg_linear(c, c->out[c->len - 1], c->v[off], length) != 0) return -1;
            off += 1;
        } else if (op == 2) { /* indirect: copy `length` segments from an offset */
            if (c->len == start) return seg_fail(c, "the first segment cannot be an indirect segment");
            uint64_t to;
            if (c->eb == 1) {
                if (off + 4 > c->n) return seg_fail(c, "indirect segment runs past the data");
                to = (uint64_t)c->v[off] | (uint64_t)c->v[off + 1] << 8 | (uint64_t)c->v[off + 2] << 16 |
                     (uint64_t)c->v[off + 3] << 24;
                off += 4;
            } else {
                if (off + 2 > c->n) return seg_fail(c, "indirect segment runs past the data");
                to = (uint64_t)c->v[off] | (uint64_t)c->v[off + 1] << 16;
                off += 2;
            }
            if (to >= c->n) return seg_fail(c, "indirect segment offset out of range");
            if (depth >= 4) return seg_fail(c, "indirect segments nested too deep");
            if (seg_expand(c, (size_t)to, length, depth + 1) != 0) return -1;
        } else {
            return seg_fail(c, "unknown segment type");
        }
        if (++done == nr) return 0;
    }
    return 0;
}

int dc_palette_expand_segmented(const uint16_t *v, size_t n, int entry_bytes, uint16_t *out,
                                uint32_t cap, uint32_t *n_out, const char **why)
{
    seg_ctx c = {v, n, entry_bytes == 1 ? 1 : 2, out, cap, 0, NULL};
    int rc = seg_expand(&c, 0, -1, 0);
    *n_out = c.len;
    if (why) *why = c.why;
    return rc;
}

/* the value bytes of a top-level element, little endian 16-bit words when
 * the file is big endian; NULL when absent or not loaded */
static const uint8_t *lut_bytes(const dc_dataset *ds, uint32_t tag, uint32_t *len, uint8_t **swapped)
{
    *swapped = NULL;
    int i = dc_find(ds, tag);
    if (i < 0) return NULL;
    const dc_elem *e = &ds->el[i];
    const uint8_t *v = dc_value(ds, e);
    if (!v || e->len == 0) return NULL;
    *len = e->len;
    if (!(e->flags & DC_EL_BIGENDIAN)) return v;
    *swapped = dc_malloc(e->len);
    for (uint32_t k = 0; k + 1 < e->len; k += 2) {
        (*swapped)[k] = v[k + 1];
        (*swapped)[k + 1] = v[k];
    }
    if (e->len & 1) (*swapped)[e->len - 1] = v[e->len - 1];
    return *swapped;
}

/* one channel's table into out (cap DC_PALETTE_MAX); 0 or -1 */
static int read_channel(const dc_dataset *ds, int c, dc_palette *p, uint16_t *out, uint32_t *n)
{
    static const uint32_t data_tag[3] = {DC_TAG(0x0028, 0x1201), DC_TAG(0x0028, 0x1202),
                                         DC_TAG(0x0028, 0x1203)};
    static const uint32_t seg_tag[3] = {DC_TAG(0x0028, 0x1221), DC_TAG(0x0028, 0x1222),
                                        DC_TAG(0x0028, 0x1223)};
    uint32_t entries = p->desc[c][0] == 0 ? 65536u : (uint32_t)p->desc[c][0] & 0xFFFFu;
    if (entries == 0) entries = 65536;
    uint32_t len = 0;
    uint8_t *tmp = NULL;
    const uint8_t *b = lut_bytes(ds, data_tag[c], &len, &tmp);
    int rc = -1;
    if (b) { /* plain table: 1 or 2 bytes per entry, from its length (pydicom) */
        int eb = len == entries || (len == entries + 1 && (entries & 1)) ? 1 : len == 2 * entries ? 2 : 0;
        if (eb && entries <= DC_PALETTE_MAX) {
            for (uint32_t k = 0; k < entries; k++)
                out[k] = eb == 1 ? b[k] : (uint16_t)(b[2 * k] | b[2 * k + 1] << 8);
            *n = entries;
            p->bits = (uint8_t)(8 * eb);
            rc = 0;
        }
    } else if ((b = lut_bytes(ds, seg_tag[c], &len, &tmp)) != NULL) {
        int eb = p->desc[c][2] == 8 ? 1 : p->desc[c][2] == 16 ? 2 : 0;
        if (eb) {
            size_t nv = len / (size_t)eb;
            uint16_t *v = dc_malloc((nv ? nv : 1) * sizeof *v);
            for (size_t k = 0; k < nv; k++) v[k] = eb == 1 ? b[k] : (uint16_t)(b[2 * k] | b[2 * k + 1] << 8);
            rc = dc_palette_expand_segmented(v, nv, eb, out, DC_PALETTE_MAX, n, NULL);
            free(v);
            p->bits = (uint8_t)(8 * eb);
            p->segmented = 1;
        }
    }
    free(tmp);
    return rc;
}

/* the palette of a file, or NULL (no descriptors, or a channel unreadable) */
static dc_palette *read_palette(const dc_dataset *ds)
{
    static const uint32_t desc_tag[3] = {DC_TAG(0x0028, 0x1101), DC_TAG(0x0028, 0x1102),
                                         DC_TAG(0x0028, 0x1103)};
    dc_palette p;
    memset(&p, 0, sizeof p);
    for (int c = 0; c < 3; c++) {
        int i = dc_find(ds, desc_tag[c]);
        for (int k = 0; k < 3; k++) {
            long v;
            if (i < 0 || dc_get_long_at(ds, i, k, &v) != 0 || v < INT32_MIN || v > INT32_MAX) return NULL;
            p.desc[c][k] = (int32_t)v;
        }
    }
    uint16_t *tab = dc_malloc(3 * (size_t)DC_PALETTE_MAX * sizeof *tab);
    uint8_t bits = 0, seg = 0;
    for (int c = 0; c < 3; c++) {
        if (read_channel(ds, c, &p, tab + (size_t)c * DC_PALETTE_MAX, &p.len[c]) != 0) {
            free(tab);
            return NULL;
        }
        if (c == 0) bits = p.bits, seg = p.segmented;
    }
    p.bits = bits;
    p.segmented = seg;
    size_t n = (size_t)p.len[0] + p.len[1] + p.len[2];
    p.lut = dc_malloc((n ? n : 1) * sizeof *p.lut);
    for (int c = 0, o = 0; c < 3; o += (int)p.len[c], c++)
        memcpy(p.lut + o, tab + (size_t)c * DC_PALETTE_MAX, p.len[c] * sizeof *p.lut);
    free(tab);
    dc_palette *q = dc_malloc(sizeof *q);
    *q = p;
    return q;
}

void dc_record_image_fields(const dc_dataset *ds, dc_record *r)
{
    read_ts(ds, r);
    read_image_module(ds, r);
}

void dc_record_from_dataset(const dc_dataset *ds, dc_record *r)
{
    uint32_t file_idx = r->file_idx, scope = r->scope;
    uint64_t col_sig = r->col_sig;
    dc_record_free(r);
    dc_record_init(r);
    r->file_idx = file_idx;
    r->scope = scope;
    r->col_sig = col_sig;
    char sop_class[DC_UID_LEN];
    get_str(ds, DC_TAG_SOP_CLASS_UID, sop_class, sizeof sop_class);
    r->kind = (!strcmp(ds->media_sop_class, DC_MEDIA_DIRECTORY_CLASS) ||
               !strcmp(sop_class, DC_MEDIA_DIRECTORY_CLASS))
                  ? DC_FILE_DICOMDIR
                  : DC_FILE_DICOM;
    get_id(ds, DC_TAG_SOP_INSTANCE_UID, r->sop_uid, sizeof r->sop_uid);
    get_id(ds, DC_TAG_SERIES_UID, r->series_uid, sizeof r->series_uid);
    get_id(ds, DC_TAG_STUDY_UID, r->study_uid, sizeof r->study_uid);
    get_id(ds, DC_TAG_MODALITY, r->modality, sizeof r->modality);
    get_str(ds, DC_TAG_PHOTOMETRIC, r->photometric, sizeof r->photometric);
    dc_copy_str(r->sop_class, sizeof r->sop_class, sop_class, SIZE_MAX);
    get_str(ds, DC_TAG(0x0008, 0x0008), r->image_type, sizeof r->image_type);
    char burned[8];
    get_str(ds, DC_TAG(0x0028, 0x0301), burned, sizeof burned);
    r->burned_in = !strcmp(burned, "YES");
    read_ts(ds, r);
    r->file_size = ds->file_size;
    read_numbers(ds, r);
    read_image_module(ds, r);

    fg_vals top, shared, first;
    read_top(ds, &top);
    memset(&shared, 0, sizeof shared);
    int sh = dc_find(ds, DC_TAG(0x5200, 0x9229));
    if (sh >= 0 && ds->el[sh].vr == DC_VR('S', 'Q')) read_shared(ds, sh, &shared);
    first = shared;
    int per = dc_find(ds, DC_TAG(0x5200, 0x9230));
    if (per >= 0 && ds->el[per].vr == DC_VR('S', 'Q')) read_per_frame(ds, per, &shared, r, &first);
    merge_into_record(r, &top, &first);
    if (dc_find(ds, DC_TAG(0x0028, 0x1101)) >= 0) r->palette = read_palette(ds);
    dc_vendor_read(ds, &r->vendor);
    if (dc_references_is_referencing(r->modality, r->sop_class)) r->refs = dc_references_summary(ds);
}

uint64_t dc_record_frame_bytes(const dc_record *r)
{
    uint64_t bps;
    if (r->pixel_kind == DC_PIX_FLOAT) bps = 4;
    else if (r->pixel_kind == DC_PIX_DOUBLE) bps = 8;
    else bps = r->bits_alloc <= 8 ? 1 : (uint64_t)(r->bits_alloc + 7) / 8; /* 1-bit: one byte per value */
    return (uint64_t)r->rows * r->cols * (r->samples ? r->samples : 1) * bps;
}

/* ------------------------------------------------------------------ */
/* serialisation                                                       */
/* ------------------------------------------------------------------ */

#define RECORD_MAGIC 0xDC5Eu
#define FRAME_BYTES (3 * 8 + 6 * 8 + 2 + 4 + 4 + 8 + 8 + 1) /* packed dc_frame_geom */

/* dc_record_pack writes through a cursor into space reserved once (the
 * per-field dc_buf_append calls cost more than the rest of a batch build);
 * the bytes are dc_wire.h's (little endian). */

#define FRAME_PACKED (9 * 8 + 2 + 8 + 2 * 8 + 1)

static void w_frame(uint8_t **q, const dc_frame_geom *g)
{
    for (int k = 0; k < 3; k++) dc_wire_w_f64(q, g->ipp[k]);
    for (int k = 0; k < 6; k++) dc_wire_w_f64(q, g->iop[k]);
    dc_wire_w_u(q, g->has_ipp, 1);
    dc_wire_w_u(q, g->has_iop, 1);
    dc_wire_w_u(q, (uint32_t)g->temporal, 4);
    dc_wire_w_u(q, (uint32_t)g->stack_pos, 4);
    dc_wire_w_f64(q, g->slope);
    dc_wire_w_f64(q, g->intercept);
    dc_wire_w_u(q, g->has_rescale, 1);
}

void dc_record_pack(const dc_record *r, dc_buf *out)
{
    /* every string is bounded by its array; 256 covers the fixed fields */
    size_t most = 256 + 33 + 9 * 2 + sizeof r->reason + 4 * sizeof r->sop_uid + sizeof r->modality +
                  sizeof r->photometric + sizeof r->sop_class + sizeof r->image_type + 1 +
                  (size_t)r->n_frame_geom * FRAME_PACKED;
    dc_buf_reserve(out, most);
    uint8_t *q0 = (uint8_t *)out->data + out->len, *q = q0;
    dc_wire_w_u(&q, RECORD_MAGIC, 2);
    dc_wire_w_u(&q, r->file_idx, 4);
    dc_wire_w_u(&q, r->scope, 4);
    dc_wire_w_u(&q, r->kind, 1);
    dc_wire_w_s16(&q, r->reason, sizeof r->reason);
    dc_wire_w_s16(&q, r->sop_uid, sizeof r->sop_uid);
    dc_wire_w_s16(&q, r->series_uid, sizeof r->series_uid);
    dc_wire_w_s16(&q, r->study_uid, sizeof r->study_uid);
    dc_wire_w_s16(&q, r->ts_uid, sizeof r->ts_uid);
    dc_wire_w_s16(&q, r->modality, sizeof r->modality);
    dc_wire_w_s16(&q, r->photometric, sizeof r->photometric);
    dc_wire_w_s16(&q, r->sop_class, sizeof r->sop_class);
    dc_wire_w_s16(&q, r->image_type, sizeof r->image_type);
    dc_wire_w_u(&q, r->burned_in, 1);
    const uint8_t flags[] = {r->has_instance, r->has_acq, r->has_temporal, r->has_ipp, r->has_iop,
                             r->has_spacing, r->has_rescale, r->has_thickness, r->has_sbs, r->pixel_kind};
    memcpy(q, flags, sizeof flags);
    q += sizeof flags;
    dc_wire_w_u(&q, (uint32_t)r->instance, 4);
    dc_wire_w_u(&q, (uint32_t)r->acq, 4);
    dc_wire_w_u(&q, (uint32_t)r->temporal, 4);
    for (int k = 0; k < 3; k++) dc_wire_w_f64(&q, r->ipp[k]);
    for (int k = 0; k < 6; k++) dc_wire_w_f64(&q, r->iop[k]);
    for (int k = 0; k < 2; k++) dc_wire_w_f64(&q, r->spacing[k]);
    dc_wire_w_f64(&q, r->thickness);
    dc_wire_w_f64(&q, r->sbs);
    dc_wire_w_f64(&q, r->slope);
    dc_wire_w_f64(&q, r->intercept);
    const uint16_t u16[] = {r->rows, r->cols, r->samples, r->bits_alloc, r->bits_stored, r->high_bit,
                            r->pixel_rep, r->planar};
    for (size_t k = 0; k < sizeof u16 / sizeof u16[0]; k++) dc_wire_w_u(&q, u16[k], 2);
    dc_wire_w_u(&q, r->frames, 4);
    dc_wire_w_u(&q, r->file_size, 8);
    dc_wire_w_u(&q, r->col_sig, 8);
    dc_wire_w_u(&q, r->stat.size, 8);
    dc_wire_w_u(&q, r->stat.ino, 8);
    dc_wire_w_u(&q, (uint64_t)r->stat.mtime_ns, 8);
    dc_wire_w_u(&q, (uint64_t)r->stat.ctime_ns, 8);
    dc_wire_w_u(&q, r->stat.ok, 1);
    dc_wire_w_u(&q, r->n_frame_geom, 4);
    for (uint32_t f = 0; f < r->n_frame_geom; f++) w_frame(&q, &r->frame_geom[f]);
    out->len += (size_t)(q - q0);
    out->data[out->len] = '\0';
    dc_palette_pack(r->palette, out);
    dc_vendor_pack(&r->vendor, out);
    dc_wire_put_lstr(out, r->refs);
}

void dc_palette_pack(const dc_palette *p, dc_buf *out)
{
    dc_wire_put_u(out, p != NULL, 1);
    if (!p) return;
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 3; k++) dc_wire_put_u(out, (uint32_t)p->desc[c][k], 4);
    for (int c = 0; c < 3; c++) dc_wire_put_u(out, p->len[c], 4);
    dc_wire_put_u(out, p->bits, 1);
    dc_wire_put_u(out, p->segmented, 1);
    size_t n = (size_t)p->len[0] + p->len[1] + p->len[2];
    for (size_t k = 0; k < n; k++) dc_wire_put_u(out, p->lut[k], 2);
}

static void unpack_frame(dc_wire_rd *rd, dc_frame_geom *g)
{
    for (int k = 0; k < 3; k++) g->ipp[k] = dc_wire_get_f64(rd);
    for (int k = 0; k < 6; k++) g->iop[k] = dc_wire_get_f64(rd);
    g->has_ipp = (uint8_t)dc_wire_get_u(rd, 1);
    g->has_iop = (uint8_t)dc_wire_get_u(rd, 1);
    g->temporal = (int32_t)(uint32_t)dc_wire_get_u(rd, 4);
    g->stack_pos = (int32_t)(uint32_t)dc_wire_get_u(rd, 4);
    g->slope = dc_wire_get_f64(rd);
    g->intercept = dc_wire_get_f64(rd);
    g->has_rescale = (uint8_t)dc_wire_get_u(rd, 1);
}

static void unpack_fields(dc_wire_rd *rd, dc_record *r)
{
    r->file_idx = (uint32_t)dc_wire_get_u(rd, 4);
    r->scope = (uint32_t)dc_wire_get_u(rd, 4);
    r->kind = (uint8_t)dc_wire_get_u(rd, 1);
    dc_wire_get_s16(rd, r->reason, sizeof r->reason);
    dc_wire_get_s16(rd, r->sop_uid, sizeof r->sop_uid);
    dc_wire_get_s16(rd, r->series_uid, sizeof r->series_uid);
    dc_wire_get_s16(rd, r->study_uid, sizeof r->study_uid);
    dc_wire_get_s16(rd, r->ts_uid, sizeof r->ts_uid);
    dc_wire_get_s16(rd, r->modality, sizeof r->modality);
    dc_wire_get_s16(rd, r->photometric, sizeof r->photometric);
    dc_wire_get_s16(rd, r->sop_class, sizeof r->sop_class);
    dc_wire_get_s16(rd, r->image_type, sizeof r->image_type);
    /* the fixed-size runs in few reads (rank 0 unpacks every record of a
     * window while the other ranks wait) */
    uint8_t b[11];
    dc_wire_get_bytes(rd, b, sizeof b);
    r->burned_in = b[0];
    uint8_t *flags[] = {&r->has_instance, &r->has_acq, &r->has_temporal, &r->has_ipp, &r->has_iop,
                        &r->has_spacing, &r->has_rescale, &r->has_thickness, &r->has_sbs, &r->pixel_kind};
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) *flags[k] = b[1 + k];
    uint32_t i32[3];
    dc_wire_get_u32s(rd, i32, 3);
    r->instance = (int32_t)i32[0];
    r->acq = (int32_t)i32[1];
    r->temporal = (int32_t)i32[2];
    double d[15];
    dc_wire_get_f64s(rd, d, 15);
    memcpy(r->ipp, d, 3 * sizeof *d);
    memcpy(r->iop, d + 3, 6 * sizeof *d);
    memcpy(r->spacing, d + 9, 2 * sizeof *d);
    r->thickness = d[11];
    r->sbs = d[12];
    r->slope = d[13];
    r->intercept = d[14];
    uint8_t w16[16];
    dc_wire_get_bytes(rd, w16, sizeof w16);
    uint16_t *u16[] = {&r->rows, &r->cols, &r->samples, &r->bits_alloc, &r->bits_stored, &r->high_bit,
                       &r->pixel_rep, &r->planar};
    for (size_t k = 0; k < sizeof u16 / sizeof u16[0]; k++)
        *u16[k] = (uint16_t)(w16[2 * k] | w16[2 * k + 1] << 8);
    r->frames = (uint32_t)dc_wire_get_u(rd, 4);
    uint64_t u64[6];
    dc_wire_get_u64s(rd, u64, 6);
    r->file_size = u64[0];
    r->col_sig = u64[1];
    r->stat.size = u64[2];
    r->stat.ino = u64[3];
    r->stat.mtime_ns = (int64_t)u64[4];
    r->stat.ctime_ns = (int64_t)u64[5];
    r->stat.ok = (uint8_t)dc_wire_get_u(rd, 1);
}

static dc_palette *unpack_palette(dc_wire_rd *rd)
{
    if (dc_wire_get_u(rd, 1) != 1) return NULL;
    dc_palette q;
    memset(&q, 0, sizeof q);
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 3; k++) q.desc[c][k] = (int32_t)(uint32_t)dc_wire_get_u(rd, 4);
    for (int c = 0; c < 3; c++) q.len[c] = (uint32_t)dc_wire_get_u(rd, 4);
    q.bits = (uint8_t)dc_wire_get_u(rd, 1);
    q.segmented = (uint8_t)dc_wire_get_u(rd, 1);
    size_t n = (size_t)q.len[0] + q.len[1] + q.len[2];
    if (rd->bad || q.len[0] > DC_PALETTE_MAX || q.len[1] > DC_PALETTE_MAX || q.len[2] > DC_PALETTE_MAX ||
        (uint64_t)n * 2 > (uint64_t)(rd->end - rd->p)) {
        rd->bad = 1;
        return NULL;
    }
    q.lut = dc_malloc((n ? n : 1) * sizeof *q.lut);
    for (size_t k = 0; k < n; k++) q.lut[k] = (uint16_t)dc_wire_get_u(rd, 2);
    dc_palette *out = dc_malloc(sizeof *out);
    *out = q;
    return out;
}

int dc_palette_unpack(const char **p, const char *end, dc_palette **out)
{
    *out = NULL;
    if (!p || !*p || end < *p) return -1;
    dc_wire_rd rd = {(const uint8_t *)*p, (const uint8_t *)end, 0};
    uint8_t flag = rd.p < rd.end ? *rd.p : 2;
    if (flag > 1) return -1;
    dc_palette *q = unpack_palette(&rd);
    if (rd.bad) {
        dc_palette_free(q);
        return -1;
    }
    *out = q;
    *p = (const char *)rd.p;
    return 0;
}

int dc_record_unpack(const char **p, const char *end, dc_record *r)
{
    dc_wire_rd rd = {(const uint8_t *)*p, (const uint8_t *)end, 0};
    if (!*p || end < *p || dc_wire_get_u(&rd, 2) != RECORD_MAGIC) return -1;
    dc_record_free(r);
    dc_record_init(r);
    unpack_fields(&rd, r);
    uint32_t n = (uint32_t)dc_wire_get_u(&rd, 4);
    if (rd.bad || r->kind > DC_FILE_BAD || r->pixel_kind > DC_PIX_DOUBLE ||
        (uint64_t)n * FRAME_BYTES > (uint64_t)(rd.end - rd.p))
        return -1;
    if (n) {
        r->frame_geom = dc_calloc(n, sizeof *r->frame_geom);
        r->n_frame_geom = n;
        for (uint32_t f = 0; f < n; f++) unpack_frame(&rd, &r->frame_geom[f]);
    }
    if (!rd.bad && rd.p < rd.end && *rd.p > 1) rd.bad = 1;
    r->palette = unpack_palette(&rd);
    const char *q = (const char *)rd.p;
    if (rd.bad || dc_vendor_unpack(&q, end, &r->vendor) != 0) {
        dc_record_free(r);
        return -1;
    }
    dc_wire_rd rest = dc_wire_reader(q, end);
    r->refs = dc_wire_get_lstr(&rest);
    if (rest.bad) {
        dc_record_free(r);
        return -1;
    }
    *p = (const char *)rest.p;
    return 0;
}
