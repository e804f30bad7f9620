/*
 * fuzz_labels.c - the label core (issue 14) on a fuzzed file, with its
 * invariants: included by fuzz_one.c (so the libFuzzer target and the
 * regression replay in test_hostile both run it) and called after the worker's
 * parse.
 *
 *   - dc_references_read: every row has a kind and names an instance or a
 *     series; the series view counts no more instances than there are rows;
 *   - dc_seg_read: a reason on failure; on success every frame has a segment
 *     in range (LABELMAP: all, -1) and a plane; its own grid (when it builds) holds every frame
 *     (dc_seg_place succeeds on it), and up to FUZZ_MAX_FRAMES frames within
 *     the size gate are decoded and put into one slice, in write order;
 *   - dc_rtss_read: a reason on failure; on success each ROI is rasterised
 *     on a small fixed grid: the mask is 0/1 and the contour counts add up.
 */
#include "dc_grid.h"
#include "dc_references.h"
#include "dc_rtstruct.h"
#include "dc_seg.h"

static void fuzz_references(const dc_dataset *ds)
{
    dc_reference_list refs, series;
    uint32_t *counts;
    dc_reference_list_init(&refs);
    size_t n = dc_references_read(ds, &refs);
    FUZZ_CHECK(n == refs.n, "references: %zu added, %zu in the list", n, refs.n);
    for (size_t i = 0; i < refs.n; i++)
        FUZZ_CHECK(refs.v[i].kind && (refs.v[i].sop_uid[0] || refs.v[i].series_uid[0]),
                   "reference row %zu names nothing", i);
    dc_references_by_series(&refs, &series, &counts);
    uint64_t total = 0;
    for (size_t i = 0; i < series.n; i++) total += counts[i];
    FUZZ_CHECK(series.n <= refs.n && total <= refs.n, "series view of %zu rows: %zu, %llu",
               refs.n, series.n, (unsigned long long)total);
    (void)dc_references_target(&refs);
    free(counts);
    dc_reference_list_free(&series);
    dc_reference_list_free(&refs);
}

/* decode up to FUZZ_MAX_FRAMES frames in write order into one plane of g
 * (every segment's plane for LABELMAP) */
static void fuzz_seg_frames(dc_dataset *ds, const dc_seg_info *s, const dc_grid *g,
                            const dc_seg_place_t *place, size_t size)
{
    dc_record rec;
    dc_pixel_desc pd;
    char why[DC_ERRLEN] = "", err[DC_ERRLEN];
    dc_record_init(&rec);
    dc_record_from_dataset(ds, &rec);
    dc_pixel_desc_from_record(&rec, &pd);
    dc_record_free(&rec);
    int labelmap = s->type == DC_SEG_LABELMAP;
    uint64_t planes = labelmap ? s->n_segments : 1;
    if (pd.samples != 1 || dc_pixel_check_size(&pd, size, FUZZ_MAX_IMAGE, why, sizeof why) != 0 ||
        (uint64_t)g->ny * g->nx * planes > FUZZ_MAX_IMAGE || dc_pixel_value_size(&pd) > 2)
        return;
    uint32_t *order = malloc(s->n_frames * sizeof *order);
    uint16_t *frame = malloc((size_t)s->rows * s->cols * sizeof *frame);
    uint8_t *slices = calloc((size_t)(g->ny * g->nx * planes), 1);
    if (order && frame && slices) {
        dc_seg_write_order(place, s->n_frames, order);
        for (uint32_t i = 0; i < s->n_frames && i < FUZZ_MAX_FRAMES; i++) {
            err[0] = '\0';
            if (dc_decode_frames(ds, &pd, order[i], 1, labelmap ? DC_DT_U16 : DC_DT_U8, 1.0, 0.0,
                                 frame, err, sizeof err) != 0) {
                FUZZ_CHECK(err[0], "SEG frame decode failed without a reason");
                break;
            }
            if (labelmap) dc_seg_put_labelmap_frame(s, g, &place[order[i]], frame, slices);
            else dc_seg_put_frame(s, g, &place[order[i]], (const uint8_t *)frame, slices);
        }
    }
    free(slices);
    free(frame);
    free(order);
}

static void fuzz_seg(dc_dataset *ds, size_t size)
{
    dc_seg_info s;
    char err[DC_ERRLEN] = "";
    if (dc_seg_read(ds, &s, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0], "SEG read failed without a reason");
        return;
    }
    for (uint32_t f = 0; f < s.n_frames; f++)
        FUZZ_CHECK(((s.type == DC_SEG_LABELMAP && s.frame_segment[f] == -1) ||
                    (s.frame_segment[f] >= 0 && (uint32_t)s.frame_segment[f] < s.n_segments)) &&
                       s.has_plane[f],
                   "SEG frame %u: segment %d of %u", f, (int)s.frame_segment[f], s.n_segments);
    dc_grid g;
    if (dc_seg_own_grid(&s, DC_GRID_POS_TOL, &g, err, sizeof err) == 0) {
        dc_seg_place_t *place = malloc(s.n_frames * sizeof *place);
        if (place) {
            FUZZ_CHECK(dc_seg_place(&s, &g, DC_GRID_POS_TOL, place, err, sizeof err) == 0,
                       "a frame off its own grid: %s", err);
            fuzz_seg_frames(ds, &s, &g, place, size);
        }
        free(place);
        dc_grid_free(&g);
    } else {
        FUZZ_CHECK(err[0], "own grid failed without a reason");
    }
    dc_seg_info_free(&s);
}

static void fuzz_rtss(const dc_dataset *ds)
{
    dc_rtss s;
    char err[DC_ERRLEN] = "";
    if (dc_rtss_read(ds, &s, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0], "RTSTRUCT read failed without a reason");
        return;
    }
    /* 4 slices of 16 x 16 voxels of 2 mm, axial, centred on the origin */
    dc_grid g;
    dc_grid_init(&g);
    g.nz = 4, g.ny = 16, g.nx = 16;
    const double a[16] = {0, 0, 2, -16, 0, 2, 0, -16, 2, 0, 0, -4, 0, 0, 0, 1};
    memcpy(g.affine, a, sizeof a);
    uint8_t mask[4 * 16 * 16];
    for (uint32_t i = 0; i < s.n_rois; i++) {
        dc_raster_stats st;
        dc_rtss_rasterise(&s.rois[i], &g, mask, &st);
        FUZZ_CHECK(st.drawn + st.not_closed + st.off_slice + st.degenerate == s.rois[i].n_contours,
                   "ROI %u: contour counts do not add up", i);
        for (size_t v = 0; v < sizeof mask; v++) FUZZ_CHECK(mask[v] <= 1, "mask value %u", mask[v]);
    }
    dc_rtss_free(&s);
}

static void fuzz_labels(dc_dataset *ds, size_t size)
{
    fuzz_references(ds);
    fuzz_seg(ds, size);
    fuzz_rtss(ds);
}
