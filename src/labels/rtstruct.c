/*
 * rtstruct.c - RT Structure Sets to one mask per ROI.  See dc_rtstruct.h.
 *
 * Reading: the three ROI sequences are joined by ROI number (the ROI list
 * comes from StructureSetROISequence, its contours and colour from the
 * ROIContourSequence item that references it, its type from the
 * RTROIObservationsSequence item that references it).  ContourData is parsed
 * in one pass over its text (values split at backslashes).
 *
 * Rasterising: each closed contour goes to one slice (dc_grid), its points
 * become in-plane indices, and dc_polygon_xor_fill toggles the voxels whose
 * centres it encloses; the slice buffer is the mask's slice itself, so the
 * contours of one slice combine by XOR.
 */
#include "dc_rtstruct.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_util.h"

#define TAG_SS_ROI_SEQ DC_TAG(0x3006, 0x0020)
#define TAG_ROI_NUMBER DC_TAG(0x3006, 0x0022)
#define TAG_REF_FOR_UID DC_TAG(0x3006, 0x0024)
#define TAG_ROI_NAME DC_TAG(0x3006, 0x0026)
#define TAG_ROI_CONTOUR_SEQ DC_TAG(0x3006, 0x0039)
#define TAG_ROI_COLOR DC_TAG(0x3006, 0x002A)
#define TAG_CONTOUR_SEQ DC_TAG(0x3006, 0x0040)
#define TAG_CONTOUR_TYPE DC_TAG(0x3006, 0x0042)
#define TAG_CONTOUR_DATA DC_TAG(0x3006, 0x0050)
#define TAG_REF_ROI_NUMBER DC_TAG(0x3006, 0x0084)
#define TAG_OBSERVATIONS_SEQ DC_TAG(0x3006, 0x0080)
#define TAG_INTERPRETED_TYPE DC_TAG(0x3006, 0x00A4)

static void free_roi(dc_roi *r)
{
    for (uint32_t c = 0; c < r->n_contours; c++) free(r->contours[c].pts);
    free(r->contours);
}

void dc_rtss_free(dc_rtss *s)
{
    for (uint32_t i = 0; i < s->n_rois; i++) free_roi(&s->rois[i]);
    free(s->rois);
    memset(s, 0, sizeof *s);
}

static int is_seq(const dc_dataset *ds, int idx)
{
    return idx >= 0 && ds->el[idx].vr == DC_VR('S', 'Q');
}

static void item_str(const dc_dataset *ds, int sq, int item, uint32_t tag, char *out, size_t n)
{
    if (dc_get_utf8(ds, dc_find_in_item(ds, sq, item, tag), out, n) != 0) out[0] = '\0';
}

/* the ROI with this number, or NULL */
static dc_roi *roi_by_number(dc_rtss *s, long num)
{
    for (uint32_t i = 0; i < s->n_rois; i++)
        if (s->rois[i].number == num) return &s->rois[i];
    return NULL;
}

static int read_roi_list(const dc_dataset *ds, dc_rtss *s, char *err, size_t errlen)
{
    int sq = dc_find(ds, TAG_SS_ROI_SEQ);
    if (!is_seq(ds, sq)) {
        snprintf(err, errlen, "not a structure set: StructureSetROISequence missing");
        return -1;
    }
    s->n_rois = ds->el[sq].len;
    s->rois = dc_calloc(s->n_rois ? s->n_rois : 1, sizeof *s->rois);
    for (uint32_t i = 0; i < s->n_rois; i++) {
        dc_roi *r = &s->rois[i];
        long num;
        if (dc_get_long_at(ds, dc_find_in_item(ds, sq, (int)i, TAG_ROI_NUMBER), 0, &num) != 0) {
            snprintf(err, errlen, "structure set ROI item %u has no ROINumber", i + 1);
            return -1;
        }
        r->number = (int32_t)num;
        item_str(ds, sq, (int)i, TAG_ROI_NAME, r->name, sizeof r->name);
        item_str(ds, sq, (int)i, TAG_REF_FOR_UID, r->frame_of_reference,
                 sizeof r->frame_of_reference);
    }
    return 0;
}

static int contour_type(const char *t)
{
    static const char *names[] = {"CLOSED_PLANAR", "POINT", "OPEN_PLANAR", "OPEN_NONPLANAR"};
    for (int i = 0; i < 4; i++)
        if (strcmp(t, names[i]) == 0) return i;
    return DC_CONTOUR_OTHER;
}

/* ContourData (DS, backslash separated) into n x 3 doubles */
static int parse_points(const dc_dataset *ds, int idx, dc_contour *c, char *why, size_t whylen)
{
    const dc_elem *e = idx >= 0 ? &ds->el[idx] : NULL;
    const char *p = e ? (const char *)dc_value(ds, e) : NULL;
    if (!p || !dc_vr_is_text(e->vr)) {
        snprintf(why, whylen, "ContourData missing");
        return -1;
    }
    const char *end = p + e->len;
    size_t nvals = 1, k = 0;
    for (const char *q = p; q < end; q++) nvals += *q == '\\';
    if (nvals % 3) {
        snprintf(why, whylen, "ContourData has %zu values, not a multiple of 3", nvals);
        return -1;
    }
    c->pts = dc_malloc(nvals * sizeof(double));
    while (k < nvals) {
        const char *sep = memchr(p, '\\', (size_t)(end - p));
        size_t n = (size_t)((sep ? sep : end) - p);
        char tmp[72], *endp;
        while (n && (*p == ' ')) p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\0')) n--;
        if (n == 0 || n >= sizeof tmp) break;
        memcpy(tmp, p, n);
        tmp[n] = '\0';
        errno = 0;
        c->pts[k] = strtod(tmp, &endp);
        if (*endp || errno == ERANGE || !isfinite(c->pts[k])) break;
        k++;
        p = sep ? sep + 1 : end;
    }
    if (k < nvals) {
        snprintf(why, whylen, "ContourData value %zu is no number", k + 1);
        return -1;
    }
    c->n = (uint32_t)(nvals / 3);
    return 0;
}

static int read_contours(const dc_dataset *ds, int rc_sq, int item, dc_roi *r, char *err,
                         size_t errlen)
{
    int cs = dc_find_in_item(ds, rc_sq, item, TAG_CONTOUR_SEQ);
    if (!is_seq(ds, cs)) return 0; /* an ROI without contours: an empty mask */
    uint32_t n = ds->el[cs].len;
    dc_contour *all = dc_realloc(r->contours, (r->n_contours + n + 1) * sizeof *all);
    r->contours = all;
    for (uint32_t i = 0; i < n; i++) {
        dc_contour *c = &all[r->n_contours];
        char t[32], why[128];
        memset(c, 0, sizeof *c);
        item_str(ds, cs, (int)i, TAG_CONTOUR_TYPE, t, sizeof t);
        c->type = contour_type(t);
        if (parse_points(ds, dc_find_in_item(ds, cs, (int)i, TAG_CONTOUR_DATA), c, why,
                         sizeof why) != 0) {
            free(c->pts);
            snprintf(err, errlen, "contour %u of ROI %d: %s", i + 1, (int)r->number, why);
            return -1;
        }
        r->n_contours++;
    }
    return 0;
}

static int read_roi_contours(const dc_dataset *ds, dc_rtss *s, char *err, size_t errlen)
{
    int sq = dc_find(ds, TAG_ROI_CONTOUR_SEQ);
    if (!is_seq(ds, sq)) return 0;
    for (uint32_t i = 0; i < ds->el[sq].len; i++) {
        long num, col;
        dc_roi *r = NULL;
        if (dc_get_long_at(ds, dc_find_in_item(ds, sq, (int)i, TAG_REF_ROI_NUMBER), 0, &num) == 0)
            r = roi_by_number(s, num);
        if (!r) {
            snprintf(err, errlen,
                     "ROI contour item %u references no ROI of StructureSetROISequence", i + 1);
            return -1;
        }
        int ci = dc_find_in_item(ds, sq, (int)i, TAG_ROI_COLOR);
        r->has_color = 1;
        for (int k = 0; k < 3 && r->has_color; k++) {
            if (dc_get_long_at(ds, ci, k, &col) != 0 || col < 0 || col > 255)
                r->has_color = 0;
            else
                r->color[k] = (uint8_t)col;
        }
        if (read_contours(ds, sq, (int)i, r, err, errlen) != 0) return -1;
    }
    return 0;
}

static void read_observations(const dc_dataset *ds, dc_rtss *s)
{
    int sq = dc_find(ds, TAG_OBSERVATIONS_SEQ);
    if (!is_seq(ds, sq)) return;
    for (uint32_t i = 0; i < ds->el[sq].len; i++) {
        long num;
        if (dc_get_long_at(ds, dc_find_in_item(ds, sq, (int)i, TAG_REF_ROI_NUMBER), 0, &num) != 0)
            continue;
        dc_roi *r = roi_by_number(s, num);
        if (r && !r->interpreted_type[0])
            item_str(ds, sq, (int)i, TAG_INTERPRETED_TYPE, r->interpreted_type,
                     sizeof r->interpreted_type);
    }
}

int dc_rtss_read(const dc_dataset *ds, dc_rtss *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    int rc = read_roi_list(ds, s, err, errlen);
    if (rc == 0) rc = read_roi_contours(ds, s, err, errlen);
    if (rc == 0) read_observations(ds, s);
    if (rc != 0) dc_rtss_free(s);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* x where edge (y0, x0)-(y1, x1) crosses the scanline y, if it does: an
 * edge counts when one end is strictly above y and the other at or below
 * (half-open, so a vertex on the line is counted once and horizontal edges
 * never) */
static int edge_crossing(double y0, double x0, double y1, double x1, double y, double *x)
{
    if ((y0 > y) == (y1 > y)) return 0;
    *x = x0 + (y - y0) * (x1 - x0) / (y1 - y0);
    return 1;
}

/* toggle voxels [ceil(a), b) of one row (clipped to the row) */
static void toggle_span(uint8_t *row, uint32_t nx, double a, double b)
{
    double lo = ceil(a), hi = b;
    if (lo < 0) lo = 0;
    for (double x = lo; x < hi && x < nx; x += 1) row[(uint32_t)x] ^= 1;
}

void dc_polygon_xor_fill(const double *ys, const double *xs, uint32_t n, uint32_t ny, uint32_t nx,
                         double *work, uint8_t *slice)
{
    if (n < 3) return;
    double ymin = ys[0], ymax = ys[0];
    for (uint32_t i = 1; i < n; i++) ymin = fmin(ymin, ys[i]), ymax = fmax(ymax, ys[i]);
    double y_first = fmax(0, ceil(ymin)), y_last = fmin((double)ny - 1, floor(ymax));
    for (double y = y_first; y <= y_last; y += 1) {
        uint32_t m = 0;
        for (uint32_t i = 0, j = n - 1; i < n; j = i++)
            if (edge_crossing(ys[j], xs[j], ys[i], xs[i], y, &work[m])) m++;
        qsort(work, m, sizeof *work, cmp_double);
        uint8_t *row = slice + (size_t)y * nx;
        for (uint32_t k = 0; k + 1 < m; k += 2) toggle_span(row, nx, work[k], work[k + 1]);
    }
}

/* the slice a closed contour lies on, or -1 when a point is farther than
 * half the local slice spacing from the plane nearest its first point */
static int64_t contour_slice(const dc_contour *c, const dc_grid *g)
{
    double dist, row[3], col[3], n[3], sx, sy, o[3];
    uint32_t k = dc_grid_nearest_slice(g, c->pts, &dist);
    double half = 0.5 * dc_grid_local_spacing(g, k);
    dc_grid_axes(g, row, col, n, &sx, &sy);
    dc_grid_slice_pos(g, k, o);
    for (uint32_t i = 0; i < c->n; i++) {
        const double *p = c->pts + 3 * i;
        double d = (p[0] - o[0]) * n[0] + (p[1] - o[1]) * n[1] + (p[2] - o[2]) * n[2];
        if (!(fabs(d) <= half)) return -1;
    }
    return k;
}

/* rasterise one closed contour onto its slice of the mask */
static void draw_contour(const dc_contour *c, const dc_grid *g, uint32_t k, uint8_t *mask,
                         double *buf)
{
    double *ys = buf, *xs = buf + c->n, *work = buf + 2 * (size_t)c->n;
    for (uint32_t i = 0; i < c->n; i++) dc_grid_inplane_index(g, k, c->pts + 3 * i, &ys[i], &xs[i]);
    dc_polygon_xor_fill(ys, xs, c->n, g->ny, g->nx, work, mask + (size_t)k * g->ny * g->nx);
}

int dc_rtss_rasterise(const dc_roi *r, const dc_grid *g, uint8_t *mask, dc_raster_stats *st)
{
    memset(st, 0, sizeof *st);
    memset(mask, 0, (size_t)g->nz * g->ny * g->nx);
    uint32_t most = 0;
    for (uint32_t c = 0; c < r->n_contours; c++)
        if (r->contours[c].n > most) most = r->contours[c].n;
    double *buf = dc_malloc(3 * (size_t)(most ? most : 1) * sizeof(double));
    for (uint32_t c = 0; c < r->n_contours; c++) {
        const dc_contour *ct = &r->contours[c];
        if (ct->type != DC_CONTOUR_CLOSED_PLANAR) {
            st->not_closed++;
            continue;
        }
        if (ct->n < 3) {
            st->degenerate++;
            continue;
        }
        int64_t k = g->nz ? contour_slice(ct, g) : -1;
        if (k < 0) {
            st->off_slice++;
            continue;
        }
        draw_contour(ct, g, (uint32_t)k, mask, buf);
        st->drawn++;
    }
    free(buf);
    return 0;
}
