/*
 * test_labels.c - the pure parts of the label core: 1-bit unpacking at any
 * bit offset (BINARY SEG frames packed across byte boundaries), the even-odd
 * polygon fill and its XOR combination (rtstruct.c), plane matching and point
 * location on a grid (grid.c), SEG frame placement, own grid and frame
 * combination (seg.c) on hand-built structs.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dc_decode.h"
#include "dc_grid.h"
#include "dc_labels_run.h"
#include "dc_wire.h"
#include "dc_references.h"
#include "dc_rtstruct.h"
#include "dc_seg.h"

/* ---- 1-bit unpacking ---- */

static void test_unpack_bits_any_offset(void **state)
{
    (void)state;
    uint8_t src[8], out[40];
    srand(14);
    for (int i = 0; i < 8; i++) src[i] = (uint8_t)rand();
    for (uint64_t off = 0; off < 24; off++) {
        dc_unpack_bits(src, off, 40, out);
        for (int i = 0; i < 40; i++) {
            uint64_t b = off + (uint64_t)i; /* bit 0 = LSB of byte 0 (PS3.5 8.1.1) */
            assert_int_equal(out[i], (src[b / 8] >> (b % 8)) & 1);
        }
    }
}

/* frames of 3 x 5 = 15 bits: frame f starts at bit 15 f, inside a byte for f > 0 */
static void test_unpack_frames_across_bytes(void **state)
{
    (void)state;
    uint8_t frames[4][15], packed[8] = {0}, out[15];
    for (int f = 0; f < 4; f++)
        for (int i = 0; i < 15; i++) {
            frames[f][i] = (uint8_t)(((f + 1) * (i + 3)) % 3 == 0);
            int b = f * 15 + i;
            packed[b / 8] |= (uint8_t)(frames[f][i] << (b % 8));
        }
    for (int f = 0; f < 4; f++) {
        dc_unpack_bits(packed + (f * 15) / 8, (uint64_t)(f * 15) % 8, 15, out);
        assert_memory_equal(out, frames[f], 15);
    }
}

/* ---- polygon fill ---- */

#define NY 12
#define NX 14

static int filled(const uint8_t *s)
{
    int n = 0;
    for (int i = 0; i < NY * NX; i++) n += s[i];
    return n;
}

static void fill(const double (*yx)[2], uint32_t n, uint8_t *slice)
{
    double ys[16], xs[16], work[16];
    for (uint32_t i = 0; i < n; i++) ys[i] = yx[i][0], xs[i] = yx[i][1];
    dc_polygon_xor_fill(ys, xs, n, NY, NX, work, slice);
}

static void test_fill_square_half_open(void **state)
{
    (void)state;
    uint8_t s[NY * NX] = {0};
    /* corners between voxel centres: exactly voxels y 2..5, x 3..8 */
    const double sq[4][2] = {{1.5, 2.5}, {1.5, 8.5}, {5.5, 8.5}, {5.5, 2.5}};
    fill(sq, 4, s);
    assert_int_equal(filled(s), 4 * 6);
    for (int y = 0; y < NY; y++)
        for (int x = 0; x < NX; x++)
            assert_int_equal(s[y * NX + x], y >= 2 && y <= 5 && x >= 3 && x <= 8);
}

static void test_fill_concave_and_clipped(void **state)
{
    (void)state;
    uint8_t s[NY * NX] = {0};
    /* an L: rows 1..8 at x 1..3, plus rows 6..8 at x 4..9; runs off the right edge too */
    const double l[6][2] = {{0.5, 0.5}, {0.5, 3.5}, {5.5, 3.5}, {5.5, 20}, {8.5, 20}, {8.5, 0.5}};
    fill(l, 6, s);
    for (int y = 0; y < NY; y++)
        for (int x = 0; x < NX; x++) {
            int want = (y >= 1 && y <= 8 && x >= 1 && x <= 3) || (y >= 6 && y <= 8 && x >= 1);
            assert_int_equal(s[y * NX + x], want);
        }
}

static void test_fill_hole_and_islands_xor(void **state)
{
    (void)state;
    uint8_t s[NY * NX] = {0};
    const double outer[4][2] = {{0.5, 0.5}, {0.5, 9.5}, {9.5, 9.5}, {9.5, 0.5}};
    const double hole[4][2] = {{3.5, 3.5}, {3.5, 6.5}, {6.5, 6.5}, {6.5, 3.5}};
    const double island[3][2] = {{10.5, 11.2}, {11.9, 13.6}, {11.9, 10.1}};
    fill(outer, 4, s);
    fill(hole, 4, s);
    fill(island, 3, s);
    assert_int_equal(s[5 * NX + 5], 0);   /* in the hole */
    assert_int_equal(s[2 * NX + 2], 1);   /* in the ring */
    assert_int_equal(s[11 * NX + 12], 1); /* in the island */
    assert_int_equal(filled(s), 81 - 9 + 2);
}

static void test_fill_pentagram_even_odd(void **state)
{
    (void)state;
    uint8_t s[NY * NX] = {0};
    /* a self-intersecting star: its centre pentagon is outside by the even-odd rule */
    double star[5][2];
    for (int i = 0; i < 5; i++) {
        double a = -1.5707963 + i * 2.5132741; /* 4 pi / 5: every second vertex */
        star[i][0] = 6 + 5.8 * sin(a);
        star[i][1] = 7 + 5.8 * cos(a);
    }
    fill((const double(*)[2])star, 5, s);
    assert_int_equal(s[6 * NX + 7], 0);
    assert_int_equal(s[1 * NX + 7], 1); /* in the top spike */
}

static void test_fill_degenerate(void **state)
{
    (void)state;
    uint8_t s[NY * NX] = {0};
    const double two[2][2] = {{1, 1}, {8, 8}};
    const double flat[3][2] = {{4, 1}, {4, 9}, {4, 5}};
    fill(two, 2, s);
    fill(flat, 3, s);
    assert_int_equal(filled(s), 0);
}

/* ---- grid ---- */

/* axial grid: 3 slices at z 10, 12.5, 17.5 (a gap), rows 4 x cols 5, spacing y 0.8 x 0.5 */
static void axial_grid(dc_grid *g, int with_pos)
{
    static const double pos[9] = {-3, 7, 10, -3, 7, 12.5, -3, 7, 17.5};
    dc_grid_init(g);
    g->nz = 3, g->ny = 4, g->nx = 5;
    const double a[16] = {0, 0, 0.5, -3, 0, 0.8, 0, 7, 3.75, 0, 0, 10, 0, 0, 0, 1};
    memcpy(g->affine, a, sizeof a);
    if (with_pos) {
        g->pos = malloc(sizeof pos);
        memcpy(g->pos, pos, sizeof pos);
    }
}

static const double AXIAL[6] = {1, 0, 0, 0, 1, 0};
static const double PS[2] = {0.8, 0.5};

static void test_place_plane(void **state)
{
    (void)state;
    dc_grid g;
    axial_grid(&g, 1);
    uint32_t z, y0, x0;
    char why[64];
    const double at[3] = {-3 + 2 * 0.5, 7 + 1 * 0.8, 17.5 + 0.05};
    assert_int_equal(dc_grid_place_plane(&g, at, AXIAL, PS, 2, 3, DC_GRID_POS_TOL, &z, &y0, &x0,
                                         why, sizeof why),
                     0);
    assert_int_equal(z, 2); /* from the slice positions, not the affine's z step */
    assert_int_equal(y0, 1);
    assert_int_equal(x0, 2);
    const double between[3] = {-3, 7, 15};
    assert_int_equal(
        dc_grid_place_plane(&g, between, AXIAL, PS, 4, 5, 0.1, &z, &y0, &x0, why, sizeof why), -1);
    assert_string_equal(why, "position between slices");
    const double half_px[3] = {-3 + 0.25, 7, 10};
    assert_int_equal(
        dc_grid_place_plane(&g, half_px, AXIAL, PS, 4, 4, 0.1, &z, &y0, &x0, why, sizeof why), -1);
    assert_string_equal(why, "position off the pixel grid");
    const double origin[3] = {-3, 7, 12.5};
    assert_int_equal(
        dc_grid_place_plane(&g, origin, AXIAL, PS, 4, 6, 0.1, &z, &y0, &x0, why, sizeof why), -1);
    assert_string_equal(why, "plane outside the grid");
    const double ps2[2] = {0.4, 0.5};
    assert_int_equal(
        dc_grid_place_plane(&g, origin, AXIAL, ps2, 4, 5, 0.1, &z, &y0, &x0, why, sizeof why), -1);
    assert_string_equal(why, "pixel spacing differs");
    const double sag[6] = {0, 1, 0, 0, 0, -1};
    assert_int_equal(
        dc_grid_place_plane(&g, origin, sag, PS, 4, 5, 0.1, &z, &y0, &x0, why, sizeof why), -1);
    assert_string_equal(why, "orientation differs");
    dc_grid_free(&g);
}

static void test_nearest_slice_and_spacing(void **state)
{
    (void)state;
    dc_grid g;
    axial_grid(&g, 1);
    double d;
    const double p[3] = {100, -50, 16.0};
    assert_int_equal(dc_grid_nearest_slice(&g, p, &d), 2);
    assert_true(fabs(d + 1.5) < 1e-12);
    assert_true(fabs(dc_grid_local_spacing(&g, 0) - 2.5) < 1e-12);
    assert_true(fabs(dc_grid_local_spacing(&g, 1) - 3.75) < 1e-12);
    assert_true(fabs(dc_grid_local_spacing(&g, 2) - 5.0) < 1e-12);
    double y, x;
    const double q[3] = {-3 + 1.25, 7 + 2.4, 12.5};
    dc_grid_inplane_index(&g, 1, q, &y, &x);
    assert_true(fabs(y - 3.0) < 1e-12 && fabs(x - 2.5) < 1e-12);
    dc_grid_free(&g);
    axial_grid(&g, 0); /* no positions: the affine's z column (3.75 mm) */
    assert_int_equal(dc_grid_nearest_slice(&g, p, &d), 2);
    assert_true(fabs(d - (16.0 - 17.5)) < 1e-12);
    dc_grid_free(&g);
}

static void test_check_labels_bounds(void **state)
{
    (void)state;
    dc_grid g;
    axial_grid(&g, 0);
    char why[160];
    assert_int_equal(dc_grid_check_labels(&g, 4, 240, why, sizeof why), 0); /* 4 x 3 x 4 x 5 */
    assert_int_equal(dc_grid_check_labels(&g, 5, 240, why, sizeof why), -1);
    assert_string_equal(
        why, "labels of more than 240 bytes (5 x 3 x 4 x 5) exceed run.max_image_bytes (240)");
    g.nx = g.ny = g.nz = UINT32_MAX; /* no overflow in the product */
    assert_int_equal(dc_grid_check_labels(&g, UINT32_MAX, 0, why, sizeof why), -1);
    assert_int_equal(dc_grid_check_labels(&g, 0, 0, why, sizeof why), -1);
    assert_string_equal(why, "empty label grid");
    dc_grid_free(&g);
}

/* ---- SEG placement on hand-built info ---- */

static void seg_info(dc_seg_info *s, uint32_t n, const double *z_of_frame)
{
    memset(s, 0, sizeof *s);
    s->rows = 2, s->cols = 3, s->n_frames = n, s->n_segments = 2;
    s->spacing[0] = 0.8, s->spacing[1] = 0.5;
    s->frame_segment = calloc(n, sizeof *s->frame_segment);
    s->frame_ipp = calloc(n * 3, sizeof(double));
    s->frame_iop = calloc(n * 6, sizeof(double));
    s->has_plane = calloc(n, 1);
    for (uint32_t f = 0; f < n; f++) {
        s->frame_segment[f] = (int32_t)(f % 2);
        s->frame_ipp[3 * f] = -3 + 0.5;
        s->frame_ipp[3 * f + 1] = 7 + 0.8;
        s->frame_ipp[3 * f + 2] = z_of_frame[f];
        memcpy(s->frame_iop + 6 * f, AXIAL, sizeof AXIAL);
        s->has_plane[f] = 1;
    }
}

static void test_seg_place_and_put(void **state)
{
    (void)state;
    const double zs[4] = {17.5, 10, 12.5, 10}; /* shuffled: placement by position */
    dc_seg_info s;
    seg_info(&s, 4, zs);
    dc_grid g;
    axial_grid(&g, 1);
    dc_seg_place_t p[4];
    char why[128];
    assert_int_equal(dc_seg_place(&s, &g, DC_GRID_POS_TOL, p, why, sizeof why), 0);
    assert_int_equal(p[0].z, 2);
    assert_int_equal(p[1].z, 0);
    assert_int_equal(p[2].z, 1);
    assert_int_equal(p[3].segment, 1);
    assert_int_equal(p[0].y0 * 10 + p[0].x0, 11);
    uint8_t vol[3 * 4 * 5] = {0};
    const uint8_t a[6] = {1, 0, 3, 0, 2, 0}, b[6] = {2, 2, 0, 0, 0, 1};
    dc_seg_put_frame(&s, &g, &p[1], a, vol);
    dc_seg_put_frame(&s, &g, &p[1], b, vol); /* same plane: maximum */
    const uint8_t row1[5] = {0, 2, 2, 3, 0}, row2[5] = {0, 0, 2, 1, 0};
    assert_memory_equal(vol + 1 * 5, row1, 5);
    assert_memory_equal(vol + 2 * 5, row2, 5);
    assert_int_equal(vol[0], 0);
    uint32_t order[4];
    dc_seg_write_order(p, 4, order);             /* by (segment, z, frame) */
    const uint32_t want_order[4] = {2, 0, 1, 3}; /* seg 0: z 1, z 2; seg 1: z 0 (frames 1, 3) */
    assert_memory_equal(order, want_order, sizeof want_order);
    s.frame_ipp[2] = 15; /* between slices 1 and 2 */
    assert_int_equal(dc_seg_place(&s, &g, DC_GRID_POS_TOL, p, why, sizeof why), 1);
    assert_string_equal(why, "frame 1: position between slices");
    dc_grid_free(&g);
    dc_seg_info_free(&s);
}

static void test_seg_labelmap_put(void **state)
{
    (void)state;
    const double zs[1] = {12.5};
    dc_seg_info s;
    seg_info(&s, 1, zs);
    s.type = DC_SEG_LABELMAP;
    dc_segment segs[2] = {{.number = 3}, {.number = 300}};
    s.segments = segs;
    s.label_index = calloc(65536, sizeof *s.label_index);
    s.label_index[3] = 1, s.label_index[300] = 2;
    dc_grid g;
    axial_grid(&g, 1);
    dc_seg_place_t p;
    char why[64];
    assert_int_equal(dc_seg_place(&s, &g, DC_GRID_POS_TOL, &p, why, sizeof why), 0);
    const uint16_t frame[6] = {3, 0, 300, 7, 3, 300}; /* 7: no segment */
    uint8_t slices[2 * 20] = {0};
    dc_seg_put_labelmap_frame(&s, &g, &p, frame, slices);
    const uint8_t seg3_row1[5] = {0, 1, 0, 0, 0}, seg3_row2[5] = {0, 0, 1, 0, 0};
    const uint8_t seg300_row1[5] = {0, 0, 0, 1, 0}, seg300_row2[5] = {0, 0, 0, 1, 0};
    assert_memory_equal(slices + 5, seg3_row1, 5);
    assert_memory_equal(slices + 10, seg3_row2, 5);
    assert_memory_equal(slices + 20 + 5, seg300_row1, 5);
    assert_memory_equal(slices + 20 + 10, seg300_row2, 5);
    s.segments = NULL; /* on the stack */
    dc_grid_free(&g);
    dc_seg_info_free(&s);
}

static void test_seg_own_grid(void **state)
{
    (void)state;
    const double zs[5] = {20, 11, 14, 11, 17}; /* 4 distinct planes 3 mm apart */
    dc_seg_info s;
    seg_info(&s, 5, zs);
    dc_grid g;
    char why[128];
    assert_int_equal(dc_seg_own_grid(&s, DC_GRID_POS_TOL, &g, why, sizeof why), 0);
    assert_int_equal(g.nz, 4);
    assert_int_equal(g.ny, 2);
    assert_int_equal(g.nx, 3);
    const double want[16] = {0, 0, 0.5, -2.5, 0, 0.8, 0, 7.8, 3, 0, 0, 11, 0, 0, 0, 1};
    for (int i = 0; i < 16; i++) assert_true(fabs(g.affine[i] - want[i]) < 1e-12);
    dc_seg_place_t p[5];
    assert_int_equal(dc_seg_place(&s, &g, DC_GRID_POS_TOL, p, why, sizeof why), 0);
    assert_int_equal(p[0].z, 3);
    assert_int_equal(p[4].z, 2);
    assert_int_equal(p[0].y0 + p[0].x0, 0);
    dc_grid_free(&g);
    for (int f = 0; f < 5; f++) s.frame_ipp[3 * f + 2] = 11 + 0.02 * f; /* thin slices: 5 planes */
    assert_int_equal(dc_seg_own_grid(&s, DC_GRID_POS_TOL, &g, why, sizeof why), 0);
    assert_int_equal(g.nz, 5);
    dc_grid_free(&g);
    s.frame_ipp[0] += 0.25; /* half a pixel off the first frame's pixel grid */
    assert_int_equal(dc_seg_own_grid(&s, DC_GRID_POS_TOL, &g, why, sizeof why), -1);
    dc_seg_info_free(&s);
}

/* ---- references: series fill, target, CSV rows ---- */

static void add_ref(dc_reference_list *l, const char *kind, const char *series, const char *sop)
{
    l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
    dc_reference *r = &l->v[l->n++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    strcpy(r->series_uid, series);
    strcpy(r->sop_uid, sop);
}

static const char *series_of_sop(void *ctx, const char *sop)
{
    (void)ctx;
    return (!strcmp(sop, "1.1") || !strcmp(sop, "1.2")) ? "9.1" : NULL;
}

static const char *scan_of_series(void *ctx, const char *series)
{
    (void)ctx;
    return !strcmp(series, "9.1") ? "CT_1" : NULL;
}

static void test_references_target_and_csv(void **state)
{
    (void)state;
    dc_reference_list l;
    dc_reference_list_init(&l);
    assert_null(dc_references_target(&l));
    add_ref(&l, "source_image", "", "1.1");
    add_ref(&l, "source_image", "", "1.2");
    add_ref(&l, "referenced_series", "9.2", "");
    add_ref(&l, "referenced_series", "9.1", "1.1");
    add_ref(&l, "referenced_series", "9.1", "1.2");
    add_ref(&l, "content", "", "7.7");
    dc_references_fill_series(&l, series_of_sop, NULL);
    assert_string_equal(l.v[0].series_uid, "9.1");
    assert_string_equal(l.v[5].series_uid, "");           /* not in the crawl */
    assert_string_equal(dc_references_target(&l), "9.1"); /* 2 instances beat a series row */
    dc_buf out;
    dc_buf_init(&out);
    dc_references_csv("SEG,1", &l, scan_of_series, NULL, &out);
    assert_string_equal(dc_buf_cstr(&out), "\"SEG,1\",source_image,CT_1,9.1,,,,2\n"
                                           "\"SEG,1\",referenced_series,,9.2,,,,0\n"
                                           "\"SEG,1\",referenced_series,CT_1,9.1,,,,2\n"
                                           "\"SEG,1\",content,,,7.7,,,1\n");
    dc_buf_free(&out);
    dc_reference_list_free(&l);
    add_ref(&l, "contour_image", "9.5", "3.3");
    add_ref(&l, "rt_referenced_series", "9.4", "");
    assert_string_equal(dc_references_target(&l), "9.4"); /* the RTSTRUCT's series kind first */
    dc_reference_list_free(&l);
}

/* the summary a record carries through the header pass, parsed back, gives
 * the same CSV rows as the list itself; garbage is refused */
static void test_references_summary_parse(void **state)
{
    (void)state;
    const char *text = "9.1\nsource_image\t\t9.1\t\t\t2\nreferenced_series\t5.5\t9.2\t\t4.4\t0\n"
                       "content\t\t\t7.7\t\t1\n";
    dc_reference_list l;
    uint32_t *counts;
    char target[DC_REF_UID_LEN];
    assert_int_equal(dc_references_parse_summary(text, &l, &counts, target, sizeof target), 0);
    assert_string_equal(target, "9.1");
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[1].kind, "referenced_series");
    assert_string_equal(l.v[1].study_uid, "5.5");
    assert_string_equal(l.v[1].for_uid, "4.4");
    assert_string_equal(l.v[2].sop_uid, "7.7");
    dc_buf out;
    dc_buf_init(&out);
    dc_references_csv_rows("S", &l, counts, scan_of_series, NULL, &out);
    assert_string_equal(dc_buf_cstr(&out), "S,source_image,CT_1,9.1,,,,2\n"
                                           "S,referenced_series,,9.2,,5.5,4.4,0\n"
                                           "S,content,,,7.7,,,1\n");
    dc_buf_free(&out);
    free(counts);
    dc_reference_list_free(&l);
    const char *bad[] = {"", "9.1\nnot_a_kind\t\t9.1\t\t\t2\n", "9.1\nsource_image\t\t9.1\n"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(dc_references_parse_summary(bad[i], &l, &counts, target, sizeof target), -1);
        free(counts);
        dc_reference_list_free(&l);
    }
    assert_int_equal(dc_references_is_referencing("SEG", ""), 1);
    assert_int_equal(dc_references_is_referencing("", DC_SOP_CLASS_RTSTRUCT), 1);
    assert_int_equal(dc_references_is_referencing("CT", "1.2.840.10008.5.1.4.1.1.2"), 0);
}

/* the ledger's part rank 0 broadcasts: the SEG/RTSTRUCT scans (the last
 * L line of a Scan ID) and the grids of their targets only, never the
 * other image scans; unpacking and packing again gives the same bytes */
static void test_ledger_part_roundtrip(void **state)
{
    (void)state;
    char dir[] = "/tmp/dc_ledger_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[64], path[96];
    snprintf(sub, sizeof sub, "%s/labels_T.d", dir);
    snprintf(path, sizeof path, "%s/ledger.tsv", sub);
    assert_int_equal(mkdir(sub, 0755), 0);
    const char *affine = "0.7 0 0 -15 0 0.8 0 -20 0 0 2.5 30 0 0 0 1";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "L\tSEG_1\tSEG\t1\t/old/seg.dcm\t9.1\\nsource_image\\t\\t9.1\\t\\t\\t2\\n\n");
    for (int i = 0; i < 5; i++) fprintf(f, "S\t8.%d\tCT_u%d\t2\t4\t4\t%s\t-\n", i, i, affine);
    fprintf(f, "S\t9.1\tCT_1\t3\t43\t37\t%s\t1 2 3 4 5 6 7 8 9\n", affine);
    fprintf(f, "L\tKO_1\tKO\t1\t/x/ko.dcm\t\\nreferenced_series\\t\\t8.1\\t\\t\\t1\\n\n");
    fprintf(f, "L\tSEG_1\tSEG\t1\t/new/seg.dcm\t9.1\\nsource_image\\t\\t9.1\\t\\t\\t2\\n\n");
    fprintf(f, "L\tRT_1\tRTSTRUCT\t1\t/x/rt.dcm\t9.9\\nreferenced_series\\t\\t9.9\\t\\t\\t0\\n\n");
    fprintf(f, "S\t9.2\tCT_"); /* a torn tail */
    fclose(f);
    dc_config cfg;
    dc_config_init(&cfg);
    free(cfg.out_folder);
    cfg.out_folder = dc_strdup(dir);
    cfg.out_id = dc_strdup("T");
    dc_buf part, again;
    dc_buf_init(&part);
    dc_buf_init(&again);
    assert_int_equal(dc_labels_ledger_part(&cfg, &part), 3);
    dc_wire_rd r = dc_wire_reader(part.data, part.data + part.len);
    assert_int_equal(dc_wire_get_u(&r, 4), 2); /* RT_1, SEG_1 (Scan ID order); not KO_1 */
    const char *want[][3] = {{"RT_1", "RTSTRUCT", "/x/rt.dcm"}, {"SEG_1", "SEG", "/new/seg.dcm"}};
    for (int i = 0; i < 2; i++) {
        char *id = dc_wire_get_cstr(&r), *mod = dc_wire_get_cstr(&r), *p = dc_wire_get_lstr(&r);
        assert_string_equal(id, want[i][0]);
        assert_string_equal(mod, want[i][1]);
        assert_string_equal(p, want[i][2]);
        assert_int_equal(dc_wire_get_u(&r, 4), 1);
        char *t = dc_wire_get_lstr(&r);
        assert_string_equal(t, i ? "9.1" : "9.9");
        free(id), free(mod), free(p), free(t);
    }
    assert_int_equal(dc_wire_get_u(&r, 4), 2); /* 9.1 and 9.9 (no S line); not 8.x */
    char *uid = dc_wire_get_cstr(&r), *scan = dc_wire_get_lstr(&r);
    assert_string_equal(uid, "9.1");
    assert_string_equal(scan, "CT_1");
    free(uid), free(scan);
    uint32_t dims[3];
    double aff[16], pos[9];
    dc_wire_get_u32s(&r, dims, 3);
    assert_true(dims[0] == 3 && dims[1] == 43 && dims[2] == 37);
    dc_wire_get_f64s(&r, aff, 16);
    assert_true(aff[0] == 0.7 && aff[3] == -15 && aff[11] == 30);
    assert_int_equal(dc_wire_get_u(&r, 1), 1);
    dc_wire_get_f64s(&r, pos, 9);
    assert_true(pos[0] == 1 && pos[8] == 9);
    uid = dc_wire_get_cstr(&r);
    assert_string_equal(uid, "9.9");
    assert_null(dc_wire_get_lstr(&r)); /* not crawled */
    free(uid);
    assert_int_equal(r.bad, 0);
    assert_int_equal(dc_labels_ledger_repack(&cfg, part.data, part.len, &again), 0);
    assert_int_equal(again.len, part.len);
    assert_memory_equal(again.data, part.data, part.len);
    dc_buf_free(&again);
    dc_buf_init(&again);
    assert_int_equal(dc_labels_ledger_repack(&cfg, part.data, part.len - 1, &again), -1);
    dc_buf_free(&again);
    dc_buf_free(&part);
    dc_config_free(&cfg);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unpack_bits_any_offset),
        cmocka_unit_test(test_unpack_frames_across_bytes),
        cmocka_unit_test(test_fill_square_half_open),
        cmocka_unit_test(test_fill_concave_and_clipped),
        cmocka_unit_test(test_fill_hole_and_islands_xor),
        cmocka_unit_test(test_fill_pentagram_even_odd),
        cmocka_unit_test(test_fill_degenerate),
        cmocka_unit_test(test_place_plane),
        cmocka_unit_test(test_nearest_slice_and_spacing),
        cmocka_unit_test(test_check_labels_bounds),
        cmocka_unit_test(test_seg_place_and_put),
        cmocka_unit_test(test_seg_own_grid),
        cmocka_unit_test(test_seg_labelmap_put),
        cmocka_unit_test(test_references_target_and_csv),
        cmocka_unit_test(test_references_summary_parse),
        cmocka_unit_test(test_ledger_part_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
