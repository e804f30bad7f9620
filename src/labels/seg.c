/*
 * seg.c - DICOM Segmentation objects to label volumes.  See dc_seg.h.
 *
 * Own parser rather than dcmtk's dcmseg: the crawler already parses every
 * file with dicom.c (bounded sizes, hostile input tested) and record.c reads
 * the functional groups (plane positions, orientation, pixel spacing) for
 * enhanced multi-frame images; the SEG-specific part is a handful of
 * attributes (SegmentSequence, SegmentationType, ReferencedSegmentNumber per
 * frame).  dcmseg would mean a second parse of each SEG through dcmdata, three
 * more libraries (dcmseg, dcmfg, dcmiod) and C++ in the pure core, and it
 * loads the whole pixel data into memory; decode.c already unpacks 1-bit
 * frames (also across byte boundaries) and decodes RLE/deflated SEGs.
 *
 * Frame placement uses dc_grid (grid.c); here is what is SEG-specific.
 */
#include "dc_seg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_record.h"
#include "dc_util.h"

#define TAG_SEGMENT_SEQ DC_TAG(0x0062, 0x0002)
#define TAG_SEGMENTATION_TYPE DC_TAG(0x0062, 0x0001)
#define TAG_FRACTIONAL_TYPE DC_TAG(0x0062, 0x0010)
#define TAG_MAX_FRACTIONAL DC_TAG(0x0062, 0x000E)
#define TAG_SEGMENT_NUMBER DC_TAG(0x0062, 0x0004)
#define TAG_SEGMENT_LABEL DC_TAG(0x0062, 0x0005)
#define TAG_SEGMENT_DESCRIPTION DC_TAG(0x0062, 0x0006)
#define TAG_ALGORITHM_TYPE DC_TAG(0x0062, 0x0008)
#define TAG_ALGORITHM_NAME DC_TAG(0x0062, 0x0009)
#define TAG_CATEGORY_SEQ DC_TAG(0x0062, 0x0003)
#define TAG_TYPE_SEQ DC_TAG(0x0062, 0x000F)
#define TAG_SEGMENT_ID_SEQ DC_TAG(0x0062, 0x000A)
#define TAG_REF_SEGMENT_NUMBER DC_TAG(0x0062, 0x000B)
#define TAG_SHARED_FG DC_TAG(0x5200, 0x9229)
#define TAG_PER_FRAME_FG DC_TAG(0x5200, 0x9230)
#define TAG_FRAME_OF_REFERENCE DC_TAG(0x0020, 0x0052)
#define TAG_CODE_VALUE DC_TAG(0x0008, 0x0100)
#define TAG_CODING_SCHEME DC_TAG(0x0008, 0x0102)
#define TAG_CODE_MEANING DC_TAG(0x0008, 0x0104)
#define TAG_LONG_CODE_VALUE DC_TAG(0x0008, 0x0119)
#define TAG_URN_CODE_VALUE DC_TAG(0x0008, 0x0120)

void dc_seg_info_free(dc_seg_info *s)
{
    free(s->segments);
    free(s->frame_segment);
    free(s->label_index);
    free(s->frame_ipp);
    free(s->frame_iop);
    free(s->has_plane);
    memset(s, 0, sizeof *s);
}

/* text of tag in item `item` of sequence sq ("" when absent) */
static void item_str(const dc_dataset *ds, int sq, int item, uint32_t tag, char *out, size_t n)
{
    if (dc_get_utf8(ds, dc_find_in_item(ds, sq, item, tag), out, n) != 0) out[0] = '\0';
}

/* item 0 of the code sequence `tag` inside item `item` of sq */
static void read_code(const dc_dataset *ds, int sq, int item, uint32_t tag, dc_code *c)
{
    memset(c, 0, sizeof *c);
    int cs = dc_find_in_item(ds, sq, item, tag);
    if (cs < 0 || ds->el[cs].vr != DC_VR('S', 'Q') || ds->el[cs].len == 0) return;
    item_str(ds, cs, 0, TAG_CODE_VALUE, c->value, sizeof c->value);
    if (!c->value[0]) item_str(ds, cs, 0, TAG_LONG_CODE_VALUE, c->value, sizeof c->value);
    if (!c->value[0]) item_str(ds, cs, 0, TAG_URN_CODE_VALUE, c->value, sizeof c->value);
    item_str(ds, cs, 0, TAG_CODING_SCHEME, c->scheme, sizeof c->scheme);
    item_str(ds, cs, 0, TAG_CODE_MEANING, c->meaning, sizeof c->meaning);
}

static int read_segments(const dc_dataset *ds, dc_seg_info *s, char *err, size_t errlen)
{
    int sq = dc_find(ds, TAG_SEGMENT_SEQ);
    if (sq < 0 || ds->el[sq].vr != DC_VR('S', 'Q') || ds->el[sq].len == 0) {
        snprintf(err, errlen, "not a segmentation: SegmentSequence missing");
        return -1;
    }
    s->n_segments = ds->el[sq].len;
    if (s->n_segments > 65535) { /* SegmentNumber is US: no more distinct segments */
        snprintf(err, errlen, "%u segments, at most 65535", s->n_segments);
        return -1;
    }
    s->segments = dc_calloc(s->n_segments, sizeof *s->segments);
    for (uint32_t i = 0; i < s->n_segments; i++) {
        dc_segment *g = &s->segments[i];
        long num;
        if (dc_get_long_at(ds, dc_find_in_item(ds, sq, (int)i, TAG_SEGMENT_NUMBER), 0, &num) != 0 ||
            num < 1 || num > 65535) {
            snprintf(err, errlen, "segment item %u has no valid SegmentNumber", i + 1);
            return -1;
        }
        g->number = (uint16_t)num;
        item_str(ds, sq, (int)i, TAG_SEGMENT_LABEL, g->label, sizeof g->label);
        item_str(ds, sq, (int)i, TAG_SEGMENT_DESCRIPTION, g->description, sizeof g->description);
        item_str(ds, sq, (int)i, TAG_ALGORITHM_TYPE, g->algorithm_type, sizeof g->algorithm_type);
        item_str(ds, sq, (int)i, TAG_ALGORITHM_NAME, g->algorithm_name, sizeof g->algorithm_name);
        read_code(ds, sq, (int)i, TAG_CATEGORY_SEQ, &g->category);
        read_code(ds, sq, (int)i, TAG_TYPE_SEQ, &g->type);
    }
    return 0;
}

static int read_type(const dc_dataset *ds, const dc_record *r, dc_seg_info *s, char *err,
                     size_t errlen)
{
    char t[32];
    if (dc_tag_str(ds, TAG_SEGMENTATION_TYPE, t, sizeof t) != 0) t[0] = '\0';
    if (strcmp(t, "BINARY") == 0) {
        s->type = DC_SEG_BINARY;
        s->max_fractional = 1;
        if (r->bits_alloc == 1) return 0;
        snprintf(err, errlen, "BINARY segmentation with BitsAllocated %u, expected 1",
                 (unsigned)r->bits_alloc);
        return -1;
    }
    if (strcmp(t, "LABELMAP") == 0) {
        s->type = DC_SEG_LABELMAP;
        s->max_fractional = 1;
        if (r->bits_alloc == 8 || r->bits_alloc == 16) return 0;
        snprintf(err, errlen, "LABELMAP segmentation with BitsAllocated %u, expected 8 or 16",
                 (unsigned)r->bits_alloc);
        return -1;
    }
    if (strcmp(t, "FRACTIONAL") != 0) {
        snprintf(err, errlen, "unsupported SegmentationType %s", t[0] ? t : "(missing)");
        return -1;
    }
    s->type = DC_SEG_FRACTIONAL;
    long maxv;
    if (dc_tag_str(ds, TAG_FRACTIONAL_TYPE, s->fractional_type, sizeof s->fractional_type) != 0)
        s->fractional_type[0] = '\0';
    if (dc_tag_long(ds, TAG_MAX_FRACTIONAL, &maxv) != 0 || maxv < 1 || maxv > 255 ||
        r->bits_alloc != 8) {
        snprintf(err, errlen,
                 "FRACTIONAL segmentation needs BitsAllocated 8 and "
                 "MaximumFractionalValue 1..255");
        return -1;
    }
    s->max_fractional = (uint16_t)maxv;
    return 0;
}

/* index of segment number num in s->segments, -1 when absent */
static int32_t segment_index(const dc_seg_info *s, long num)
{
    for (uint32_t i = 0; i < s->n_segments; i++)
        if (s->segments[i].number == num) return (int32_t)i;
    return -1;
}

/* ReferencedSegmentNumber of every frame: the shared group's as default, then
 * one pass over the per-frame sequence's subtree (linear in its size) */
static void read_frame_segments(const dc_dataset *ds, dc_seg_info *s)
{
    int32_t dflt = -1;
    int sh = dc_find(ds, TAG_SHARED_FG);
    if (sh >= 0 && ds->el[sh].vr == DC_VR('S', 'Q')) {
        int id = dc_find_in_item(ds, sh, 0, TAG_SEGMENT_ID_SEQ);
        long num;
        if (id >= 0 &&
            dc_get_long_at(ds, dc_find_in_item(ds, id, 0, TAG_REF_SEGMENT_NUMBER), 0, &num) == 0)
            dflt = segment_index(s, num);
    }
    for (uint32_t f = 0; f < s->n_frames; f++) s->frame_segment[f] = dflt;
    int per = dc_find(ds, TAG_PER_FRAME_FG);
    if (per < 0 || ds->el[per].vr != DC_VR('S', 'Q')) return;
    size_t end = ds->el[per].val < ds->n_el ? ds->el[per].val : ds->n_el;
    for (size_t i = (size_t)per + 1; i < end; i++) {
        const dc_elem *e = &ds->el[i];
        if (e->tag != TAG_REF_SEGMENT_NUMBER || e->parent < 0) continue;
        const dc_elem *id = &ds->el[e->parent];
        long num;
        if (id->tag != TAG_SEGMENT_ID_SEQ || id->parent != per || e->item != 0) continue;
        if ((uint32_t)id->item < s->n_frames && dc_get_long_at(ds, (int)i, 0, &num) == 0)
            s->frame_segment[id->item] = segment_index(s, num);
    }
}

/* LABELMAP: every frame holds all segments; value -> segment index + 1 */
static void label_index(dc_seg_info *s)
{
    for (uint32_t f = 0; f < s->n_frames; f++) s->frame_segment[f] = -1;
    s->label_index = dc_calloc(65536, sizeof *s->label_index);
    for (uint32_t i = s->n_segments; i-- > 0;) /* the first item wins a repeated number */
        s->label_index[s->segments[i].number] = (uint16_t)(i + 1);
}

/* plane of every frame from the record's functional groups (a single-frame
 * SEG without them: the top-level position and orientation) */
static void read_frame_planes(const dc_record *r, dc_seg_info *s)
{
    for (uint32_t f = 0; f < s->n_frames; f++) {
        const double *ipp = r->ipp, *iop = r->iop;
        int ok = r->has_ipp && r->has_iop && r->frames == 1;
        if (f < r->n_frame_geom) {
            const dc_frame_geom *g = &r->frame_geom[f];
            ipp = g->ipp, iop = g->iop;
            ok = g->has_ipp && g->has_iop;
        }
        memcpy(s->frame_ipp + 3 * f, ipp, 3 * sizeof(double));
        memcpy(s->frame_iop + 6 * f, iop, 6 * sizeof(double));
        s->has_plane[f] = (uint8_t)ok;
    }
}

static int check_frames(const dc_seg_info *s, char *err, size_t errlen)
{
    if (!(s->spacing[0] > 0 && s->spacing[1] > 0)) {
        snprintf(err, errlen, "PixelSpacing missing");
        return -1;
    }
    for (uint32_t f = 0; f < s->n_frames; f++) {
        if (s->frame_segment[f] < 0 && s->type != DC_SEG_LABELMAP) {
            snprintf(err, errlen, "frame %u references no segment of SegmentSequence", f + 1);
            return -1;
        }
        if (!s->has_plane[f]) {
            snprintf(err, errlen, "frame %u has no plane position or orientation", f + 1);
            return -1;
        }
    }
    return 0;
}

static int read_frames(const dc_dataset *ds, const dc_record *r, dc_seg_info *s, char *err,
                       size_t errlen)
{
    if (r->samples != 1) { /* frames decode to rows x cols bytes: one sample only */
        snprintf(err, errlen, "segmentation with SamplesPerPixel %u, expected 1",
                 (unsigned)r->samples);
        return -1;
    }
    s->rows = r->rows;
    s->cols = r->cols;
    s->n_frames = r->frames;
    if (!s->rows || !s->cols || !s->n_frames) {
        snprintf(err, errlen, "missing Rows/Columns");
        return -1;
    }
    if (r->has_spacing) memcpy(s->spacing, r->spacing, sizeof s->spacing);
    s->frame_segment = dc_malloc(s->n_frames * sizeof *s->frame_segment);
    s->frame_ipp = dc_malloc(s->n_frames * 3 * sizeof(double));
    s->frame_iop = dc_malloc(s->n_frames * 6 * sizeof(double));
    s->has_plane = dc_malloc(s->n_frames);
    if (s->type == DC_SEG_LABELMAP)
        label_index(s);
    else
        read_frame_segments(ds, s);
    read_frame_planes(r, s);
    return check_frames(s, err, errlen);
}

int dc_seg_read(const dc_dataset *ds, dc_seg_info *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    dc_record r;
    dc_record_init(&r);
    dc_record_from_dataset(ds, &r);
    int rc = read_segments(ds, s, err, errlen);
    if (rc == 0) rc = read_type(ds, &r, s, err, errlen);
    if (rc == 0) rc = read_frames(ds, &r, s, err, errlen);
    if (dc_tag_str(ds, TAG_FRAME_OF_REFERENCE, s->frame_of_reference,
                   sizeof s->frame_of_reference) != 0)
        s->frame_of_reference[0] = '\0';
    dc_record_free(&r);
    if (rc != 0) dc_seg_info_free(s);
    return rc;
}

int dc_seg_place(const dc_seg_info *s, const dc_grid *g, double tol, dc_seg_place_t *place,
                 char *why, size_t whylen)
{
    char reason[128];
    for (uint32_t f = 0; f < s->n_frames; f++) {
        dc_seg_place_t *p = &place[f];
        p->segment = s->frame_segment[f];
        if (dc_grid_place_plane(g, s->frame_ipp + 3 * f, s->frame_iop + 6 * f, s->spacing, s->rows,
                                s->cols, tol, &p->z, &p->y0, &p->x0, reason, sizeof reason) != 0) {
            snprintf(why, whylen, "frame %u: %s", f + 1, reason);
            return 1;
        }
    }
    return 0;
}

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void dc_seg_put_labelmap_frame(const dc_seg_info *s, const dc_grid *g, const dc_seg_place_t *p,
                               const uint16_t *frame, uint8_t *slices)
{
    size_t plane = (size_t)g->ny * g->nx;
    for (uint32_t y = 0; y < s->rows; y++) {
        size_t at = (size_t)(p->y0 + y) * g->nx + p->x0;
        const uint16_t *src = frame + (size_t)y * s->cols;
        for (uint32_t x = 0; x < s->cols; x++) {
            uint16_t k = s->label_index[src[x]];
            if (k) slices[(size_t)(k - 1) * plane + at + x] = 1;
        }
    }
}

/* distinct heights along the normal (sorted, merged within eps); returns count */
static uint32_t distinct_heights(const dc_seg_info *s, const double n[3], double eps, double *h)
{
    for (uint32_t f = 0; f < s->n_frames; f++) h[f] = dot3(s->frame_ipp + 3 * f, n);
    qsort(h, s->n_frames, sizeof *h, cmp_double);
    uint32_t m = 0;
    for (uint32_t f = 0; f < s->n_frames; f++)
        if (m == 0 || h[f] - h[m - 1] > eps) h[m++] = h[f];
    return m;
}

/* grid axes from frame 0's orientation and the pixel spacing; *normal out */
static void own_axes(const dc_seg_info *s, dc_grid *g, double normal[3])
{
    const double *row = s->frame_iop, *col = s->frame_iop + 3;
    normal[0] = row[1] * col[2] - row[2] * col[1];
    normal[1] = row[2] * col[0] - row[0] * col[2];
    normal[2] = row[0] * col[1] - row[1] * col[0];
    memset(g->affine, 0, sizeof g->affine);
    for (int r = 0; r < 3; r++) {
        g->affine[r * 4 + 2] = row[r] * s->spacing[1];
        g->affine[r * 4 + 1] = col[r] * s->spacing[0];
        g->affine[r * 4 + 0] = normal[r] * s->spacing[0]; /* until positions are known */
    }
    g->affine[15] = 1;
}

/* slice positions: frame 0's in-plane origin moved to each height */
static void own_positions(const dc_seg_info *s, dc_grid *g, const double n[3], const double *h)
{
    const double *p0 = s->frame_ipp;
    double h0 = dot3(p0, n);
    g->pos = dc_malloc((size_t)g->nz * 3 * sizeof(double));
    for (uint32_t k = 0; k < g->nz; k++)
        for (int r = 0; r < 3; r++) g->pos[k * 3 + r] = p0[r] + (h[k] - h0) * n[r];
    for (int r = 0; r < 3; r++) {
        g->affine[r * 4 + 3] = g->pos[r];
        if (g->nz > 1) g->affine[r * 4] = (g->pos[(g->nz - 1) * 3 + r] - g->pos[r]) / (g->nz - 1);
    }
}

int dc_seg_own_grid(const dc_seg_info *s, double tol, dc_grid *g, char *why, size_t whylen)
{
    double n[3];
    dc_grid_init(g);
    g->ny = s->rows;
    g->nx = s->cols;
    own_axes(s, g, n);
    double *h = dc_malloc(s->n_frames * sizeof *h);
    /* planes closer than DC_SEG_SAME_PLANE_MM are one plane */
    g->nz = distinct_heights(s, n, DC_SEG_SAME_PLANE_MM, h);
    own_positions(s, g, n, h);
    free(h);
    dc_seg_place_t p;
    char reason[128];
    for (uint32_t f = 0; f < s->n_frames; f++) {
        if (dc_grid_place_plane(g, s->frame_ipp + 3 * f, s->frame_iop + 6 * f, s->spacing, s->rows,
                                s->cols, tol, &p.z, &p.y0, &p.x0, reason, sizeof reason) == 0)
            continue;
        snprintf(why, whylen, "frame %u: %s on the segmentation's own grid", f + 1, reason);
        dc_grid_free(g);
        return -1;
    }
    return 0;
}

void dc_seg_put_frame(const dc_seg_info *s, const dc_grid *g, const dc_seg_place_t *p,
                      const uint8_t *frame, uint8_t *slice)
{
    for (uint32_t y = 0; y < s->rows; y++) {
        uint8_t *dst = slice + (size_t)(p->y0 + y) * g->nx + p->x0;
        const uint8_t *src = frame + (size_t)y * s->cols;
        for (uint32_t x = 0; x < s->cols; x++)
            if (src[x] > dst[x]) dst[x] = src[x];
    }
}

typedef struct {
    int32_t segment;
    uint32_t z, frame;
} plane_key;

static int cmp_plane(const void *a, const void *b)
{
    const plane_key *p = a, *q = b;
    if (p->segment != q->segment) return p->segment < q->segment ? -1 : 1;
    if (p->z != q->z) return p->z < q->z ? -1 : 1;
    return (p->frame > q->frame) - (p->frame < q->frame);
}

void dc_seg_write_order(const dc_seg_place_t *place, uint32_t n, uint32_t *order)
{
    plane_key *k = dc_malloc((n ? n : 1) * sizeof *k);
    for (uint32_t i = 0; i < n; i++) k[i] = (plane_key){place[i].segment, place[i].z, i};
    qsort(k, n, sizeof *k, cmp_plane);
    for (uint32_t i = 0; i < n; i++) order[i] = k[i].frame;
    free(k);
}
