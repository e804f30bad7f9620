/*
 * labels.c - a SEG or RTSTRUCT made into uint8 (labels, z, y, x) volumes on
 * a grid (dc_labels.h): frames decoded one output plane at a time and
 * placed by position (SEG), contours rasterised per ROI (RTSTRUCT).  Used by
 * the crawl's label phase (labels_run.c) and by tools/dclabel.c.
 */
#include "dc_labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_decode.h"
#include "dc_record.h"
#include "dc_scan.h"

void dc_label_volume_free(dc_label_volume *v)
{
    dc_grid_free(&v->grid);
    free(v->data);
    free(v->stats);
    if (v->kind == DC_LABEL_SEG) dc_seg_info_free(&v->seg);
    if (v->kind == DC_LABEL_RTSTRUCT) dc_rtss_free(&v->rtss);
    memset(v, 0, sizeof *v);
}

/* a run of frames on one output plane is complete: copy its planes (one, or
 * every segment's for LABELMAP) into the volumes and clear them */
static void plane_done(const dc_seg_info *s, const dc_grid *g, const dc_seg_place_t *p,
                       uint8_t *slices, uint8_t *vols)
{
    size_t plane = (size_t)g->ny * g->nx;
    int labelmap = s->type == DC_SEG_LABELMAP;
    for (uint32_t i = 0; i < (labelmap ? s->n_segments : 1); i++) {
        uint32_t seg = labelmap ? i : (uint32_t)p->segment;
        memcpy(vols + ((size_t)seg * g->nz + p->z) * plane, slices + i * plane, plane);
    }
    memset(slices, 0, (labelmap ? s->n_segments : 1) * plane);
}

/* decode every frame and put it in its segment's volume, one output plane
 * at a time (dc_seg_write_order) */
static int fill_segments(dc_dataset *ds, const dc_seg_info *s, const dc_grid *g,
                         const dc_seg_place_t *place, uint8_t *vols, char *err, size_t errlen)
{
    dc_record rec;
    dc_pixel_desc pd;
    dc_record_init(&rec);
    dc_record_from_dataset(ds, &rec);
    dc_pixel_desc_from_record(&rec, &pd);
    dc_record_free(&rec);
    int labelmap = s->type == DC_SEG_LABELMAP;
    size_t plane = (size_t)g->ny * g->nx;
    uint16_t *frame = dc_malloc((size_t)s->rows * s->cols * sizeof *frame + 1);
    uint8_t *slices = dc_calloc(labelmap ? s->n_segments : 1, plane);
    uint32_t *order = dc_malloc((s->n_frames + 1) * sizeof *order);
    dc_seg_write_order(place, s->n_frames, order);
    int rc = 0;
    for (uint32_t i = 0; i < s->n_frames && rc == 0; i++) {
        const dc_seg_place_t *p = &place[order[i]];
        rc = dc_decode_frames(ds, &pd, order[i], 1, labelmap ? DC_DT_U16 : DC_DT_U8, 1.0, 0.0,
                              frame, err, errlen);
        if (rc != 0) break;
        if (labelmap)
            dc_seg_put_labelmap_frame(s, g, p, frame, slices);
        else
            dc_seg_put_frame(s, g, p, (const uint8_t *)frame, slices);
        const dc_seg_place_t *next = i + 1 < s->n_frames ? &place[order[i + 1]] : NULL;
        if (!next || next->segment != p->segment || next->z != p->z)
            plane_done(s, g, p, slices, vols);
    }
    free(order);
    free(slices);
    free(frame);
    return rc;
}

/* place the frames on the image grid, else on the SEG's own grid */
static int choose_grid(dc_label_volume *v, dc_seg_place_t *place, char *err, size_t errlen)
{
    char why[DC_ERRLEN / 2];
    const dc_seg_info *s = &v->seg;
    dc_grid *g = &v->grid;
    if (g->nz && dc_seg_place(s, g, DC_GRID_POS_TOL, place, why, sizeof why) == 0) return 0;
    v->own_grid = 1;
    if (g->nz) snprintf(v->warning, sizeof v->warning, "not on the image grid (%s): own grid", why);
    dc_grid_free(g);
    if (dc_seg_own_grid(s, DC_GRID_POS_TOL, g, err, errlen) != 0) return -1;
    return dc_seg_place(s, g, DC_GRID_POS_TOL, place, err, errlen) == 0 ? 0 : -1;
}

int dc_label_seg(dc_dataset *ds, const dc_grid *image, uint64_t max_bytes, dc_label_volume *v,
                 char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    v->kind = DC_LABEL_SEG;
    dc_grid_init(&v->grid);
    if (image && image->nz) dc_grid_copy(&v->grid, image);
    if (dc_seg_read(ds, &v->seg, err, errlen) != 0) return -1;
    const dc_seg_info *s = &v->seg;
    v->n_labels = s->n_segments;
    dc_seg_place_t *place = dc_calloc(s->n_frames ? s->n_frames : 1, sizeof *place);
    int rc = choose_grid(v, place, err, errlen);
    if (rc == 0) rc = dc_grid_check_labels(&v->grid, s->n_segments, max_bytes, err, errlen);
    if (rc == 0) {
        const dc_grid *g = &v->grid;
        v->data = dc_calloc((size_t)s->n_segments * g->nz * g->ny * g->nx + 1, 1);
        rc = fill_segments(ds, s, g, place, v->data, err, errlen);
    }
    free(place);
    return rc;
}

int dc_label_rtss(const dc_dataset *ds, const dc_grid *image, uint64_t max_bytes,
                  dc_label_volume *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    v->kind = DC_LABEL_RTSTRUCT;
    dc_grid_init(&v->grid);
    if (!image || !image->nz) {
        snprintf(err, errlen, "structure set without an image volume to draw on");
        return -1;
    }
    dc_grid_copy(&v->grid, image);
    if (dc_rtss_read(ds, &v->rtss, err, errlen) != 0) return -1;
    const dc_grid *g = &v->grid;
    v->n_labels = v->rtss.n_rois;
    if (v->n_labels && dc_grid_check_labels(g, v->n_labels, max_bytes, err, errlen) != 0) return -1;
    size_t vol = (size_t)g->nz * g->ny * g->nx;
    v->data = dc_calloc(v->n_labels * vol + 1, 1);
    v->stats = dc_calloc(v->n_labels + 1, sizeof *v->stats);
    for (uint32_t i = 0; i < v->n_labels; i++)
        dc_rtss_rasterise(&v->rtss.rois[i], g, v->data + i * vol, &v->stats[i]);
    return 0;
}

void dc_label_rtss_warnings(const dc_label_volume *v, dc_buf *out)
{
    for (uint32_t i = 0; i < v->n_labels; i++) {
        const dc_raster_stats *st = &v->stats[i];
        if (!st->not_closed && !st->off_slice && !st->degenerate) continue;
        if (out->len) dc_buf_puts(out, "; ");
        dc_buf_printf(out, "ROI %d: contours not drawn: %u not closed, %u off every slice, %u "
                           "with fewer than 3 points",
                      (int)v->rtss.rois[i].number, st->not_closed, st->off_slice, st->degenerate);
    }
}
