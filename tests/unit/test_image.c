/*
 * test_image.c - what issue 3 added to records, scans and grouping:
 *   - palette color lookup tables: segmented tables expanded exactly as
 *     pydicom 2.3 does (expected values printed by pydicom's
 *     _expand_segmented_lut), plain 8- and 16-bit tables, explicit big endian,
 *     read from synthetic files built here; pack/unpack round trips with
 *     every truncation rejected; the scan keeps the first stored slice's
 *     palette and warns when the slices' palettes differ;
 *   - multi-frame files whose frames have several orientations (a tri-planar
 *     localizer in one enhanced file) split into one scan per orientation,
 *     each stacked by position, the frames named in warnings; not split with
 *     split_inconsistent false (unreadable) or beyond 16 orientations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_config.h"
#include "dc_record.h"
#include "dc_scan.h"

static dc_dataset DS;
static char ERR[DC_ERRLEN];

static int setup(void **state)
{
    (void)state;
    dc_dataset_init(&DS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dc_dataset_free(&DS);
    return 0;
}

/* ---- segmented tables ---- */

static void expand_ok(const uint16_t *v, size_t n, int eb, const uint16_t *want, uint32_t n_want)
{
    uint16_t out[64];
    uint32_t got = 0;
    const char *why = NULL;
    assert_int_equal(dc_palette_expand_segmented(v, n, eb, out, 64, &got, &why), 0);
    assert_null(why);
    assert_int_equal(got, n_want);
    for (uint32_t k = 0; k < n_want; k++)
        if (out[k] != want[k]) fail_msg("entry %u: %u, pydicom %u", k, out[k], want[k]);
}

static void expand_fails(const uint16_t *v, size_t n, int eb, uint32_t cap, const char *why_want)
{
    uint16_t out[64];
    uint32_t got = 0;
    const char *why = NULL;
    assert_int_equal(dc_palette_expand_segmented(v, n, eb, out, cap, &got, &why), -1);
    assert_non_null(why);
    if (!strstr(why, why_want)) fail_msg("reason '%s' lacks '%s'", why, why_want);
}

static void test_segmented(void **state)
{
    (void)state;
    /* discrete 10 20 30, linear to 50 in 4, linear to 40 in 3 (rounding), indirect: the first
     * two segments again (the linear one continues from the copied 30), linear to 7 in 5 */
    static const uint16_t v16[] = {0, 3, 10, 20, 30, 1, 4, 50, 1, 3, 40, 2, 2, 0, 0, 1, 5, 7};
    static const uint16_t w16[] = {10, 20, 30, 35, 40, 45, 50, 47, 43, 40, 10,
                                   20, 30, 35, 40, 45, 50, 41, 33, 24, 16, 7};
    expand_ok(v16, sizeof v16 / 2, 2, w16, sizeof w16 / 2);
    /* 8-bit: the indirect offset is 4 bytes; a trailing pad value is ignored */
    static const uint16_t v8[] = {0, 2, 10, 20, 1, 3, 31, 2, 1, 0, 0, 0, 0, 1, 2, 0, 0};
    static const uint16_t w8[] = {10, 20, 24, 27, 31, 10, 20, 10, 0};
    expand_ok(v8, sizeof v8 / 2, 1, w8, sizeof w8 / 2);
    /* equal ends: a constant run */
    static const uint16_t vc[] = {0, 1, 9, 1, 3, 9};
    static const uint16_t wc[] = {9, 9, 9, 9};
    expand_ok(vc, 6, 2, wc, 4);

    static const uint16_t lin_first[] = {1, 3, 10};
    expand_fails(lin_first, 3, 2, 64, "first segment cannot be a linear");
    static const uint16_t ind_first[] = {2, 1, 0, 0};
    expand_fails(ind_first, 4, 2, 64, "first segment cannot be an indirect");
    static const uint16_t unknown[] = {0, 1, 5, 3, 1, 1};
    expand_fails(unknown, 6, 2, 64, "unknown segment type");
    static const uint16_t past[] = {0, 9, 1, 2};
    expand_fails(past, 4, 2, 64, "runs past");
    static const uint16_t far[] = {0, 1, 5, 2, 1, 100, 0};
    expand_fails(far, 7, 2, 64, "offset out of range");
    static const uint16_t longer[] = {0, 2, 1, 2, 1, 10, 3};
    expand_fails(longer, 7, 2, 8, "longer than");
    /* an indirect segment copying itself: nesting is bounded */
    static const uint16_t self[] = {0, 1, 5, 2, 2, 0, 0};
    expand_fails(self, 7, 2, 64, "nested too deep");
}

/* ---- files with palettes ---- */

typedef struct {
    uint8_t b[8192];
    size_t n;
    int be; /* dataset in explicit big endian */
} fb;

static void put(fb *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void put16(fb *f, uint16_t v)
{
    uint8_t t[2] = {(uint8_t)(f->be ? v >> 8 : v), (uint8_t)(f->be ? v : v >> 8)};
    put(f, t, 2);
}

static void put32(fb *f, uint32_t v)
{
    if (f->be) {
        put16(f, (uint16_t)(v >> 16));
        put16(f, (uint16_t)v);
    } else {
        put16(f, (uint16_t)v);
        put16(f, (uint16_t)(v >> 16));
    }
}

static void el(fb *f, uint16_t g, uint16_t e, const char *vr, const char *s)
{
    size_t n = strlen(s);
    put16(f, g);
    put16(f, e);
    put(f, vr, 2);
    put16(f, (uint16_t)n);
    put(f, s, n);
}

static void us(fb *f, uint16_t g, uint16_t e, const uint16_t *v, int n)
{
    put16(f, g);
    put16(f, e);
    put(f, "US", 2);
    put16(f, (uint16_t)(2 * n));
    for (int k = 0; k < n; k++) put16(f, v[k]);
}

/* OW: 16-bit words in the dataset's byte order, or raw bytes (8-bit tables) */
static void ow(fb *f, uint16_t g, uint16_t e, const uint16_t *w, const uint8_t *bytes, uint32_t n)
{
    put16(f, g);
    put16(f, e);
    put(f, "OW", 2);
    put16(f, 0);
    uint32_t len = w ? 2 * n : n + (n & 1);
    put32(f, len);
    if (w)
        for (uint32_t k = 0; k < n; k++) put16(f, w[k]);
    else {
        put(f, bytes, n);
        if (n & 1) put(f, "", 1);
    }
}

static void header(fb *f, const char *ts, int be)
{
    memset(f, 0, sizeof *f);
    f->n = 128;
    put(f, "DICM", 4);
    el(f, 0x0002, 0x0010, "UI", ts);
    f->be = be;
    el(f, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.7 ");
    el(f, 0x0028, 0x0004, "CS", "PALETTE COLOR ");
    static const uint16_t one = 1, four = 4, bits = 8;
    us(f, 0x0028, 0x0002, &one, 1);
    us(f, 0x0028, 0x0010, &four, 1);
    us(f, 0x0028, 0x0011, &four, 1);
    us(f, 0x0028, 0x0100, &bits, 1);
}

static void pixels(fb *f)
{
    put16(f, 0x7FE0);
    put16(f, 0x0010);
    put(f, "OB", 2);
    put16(f, 0);
    put32(f, 16);
    uint8_t px[16] = {0};
    put(f, px, 16);
}

static void record_of(fb *f, dc_record *r)
{
    assert_int_equal(dc_parse_memory(f->b, f->n, NULL, &DS, ERR, sizeof ERR), DC_PARSE_OK);
    dc_record_init(r);
    dc_record_from_dataset(&DS, r);
}

static void expect_channel(const dc_palette *p, int c, const uint16_t *want, uint32_t n)
{
    assert_int_equal(p->len[c], n);
    const uint16_t *t = dc_palette_channel(p, c);
    for (uint32_t k = 0; k < n; k++)
        if (t[k] != want[k]) fail_msg("channel %d entry %u: %u != %u", c, k, t[k], want[k]);
}

static void test_palette_files(void **state)
{
    (void)state;
    fb f;
    dc_record r;
    /* 16-bit tables of 4 entries, first mapped value 10; little and big endian */
    static const uint16_t t16[3][4] = {{0, 1000, 40000, 65535}, {5, 6, 7, 8}, {65535, 1, 2, 3}};
    for (int be = 0; be < 2; be++) {
        header(&f, be ? "1.2.840.10008.1.2.2 " : "1.2.840.10008.1.2.1 ", be);
        static const uint16_t d[3] = {4, 10, 16};
        for (int c = 0; c < 3; c++) us(&f, 0x0028, (uint16_t)(0x1101 + c), d, 3);
        for (int c = 0; c < 3; c++) ow(&f, 0x0028, (uint16_t)(0x1201 + c), t16[c], NULL, 4);
        pixels(&f);
        record_of(&f, &r);
        assert_non_null(r.palette);
        for (int c = 0; c < 3; c++) {
            assert_int_equal(r.palette->desc[c][0], 4);
            assert_int_equal(r.palette->desc[c][1], 10);
            assert_int_equal(r.palette->desc[c][2], 16);
            expect_channel(r.palette, c, t16[c], 4);
        }
        assert_int_equal(r.palette->bits, 16);
        assert_int_equal(r.palette->segmented, 0);
        dc_record_free(&r);
    }
    /* 8-bit tables: one byte per entry (odd count padded), descriptor 0 entries = 65536 only
     * when the data says so: here 5 entries */
    header(&f, "1.2.840.10008.1.2.1 ", 0);
    static const uint16_t d8[3] = {5, 0, 8};
    static const uint8_t b8[5] = {0, 64, 128, 192, 255};
    static const uint16_t w8[5] = {0, 64, 128, 192, 255};
    for (int c = 0; c < 3; c++) us(&f, 0x0028, (uint16_t)(0x1101 + c), d8, 3);
    for (int c = 0; c < 3; c++) ow(&f, 0x0028, (uint16_t)(0x1201 + c), NULL, b8, 5);
    pixels(&f);
    record_of(&f, &r);
    assert_non_null(r.palette);
    assert_int_equal(r.palette->bits, 8);
    for (int c = 0; c < 3; c++) expect_channel(r.palette, c, w8, 5);
    dc_record_free(&r);
    /* segmented 16-bit tables */
    header(&f, "1.2.840.10008.1.2.1 ", 0);
    static const uint16_t seg[] = {0, 3, 10, 20, 30, 1, 4, 50, 1, 3, 40, 2, 2, 0, 0, 1, 5, 7};
    static const uint16_t wseg[] = {10, 20, 30, 35, 40, 45, 50, 47, 43, 40, 10,
                                    20, 30, 35, 40, 45, 50, 41, 33, 24, 16, 7};
    static const uint16_t ds[3] = {22, 0, 16};
    for (int c = 0; c < 3; c++) us(&f, 0x0028, (uint16_t)(0x1101 + c), ds, 3);
    for (int c = 0; c < 3; c++) ow(&f, 0x0028, (uint16_t)(0x1221 + c), seg, NULL, sizeof seg / 2);
    pixels(&f);
    record_of(&f, &r);
    assert_non_null(r.palette);
    assert_int_equal(r.palette->segmented, 1);
    for (int c = 0; c < 3; c++) expect_channel(r.palette, c, wseg, sizeof wseg / 2);
    dc_record_free(&r);
    /* a channel without data: no palette; a table whose length fits no entry size: none */
    header(&f, "1.2.840.10008.1.2.1 ", 0);
    for (int c = 0; c < 3; c++) us(&f, 0x0028, (uint16_t)(0x1101 + c), d8, 3);
    for (int c = 0; c < 2; c++) ow(&f, 0x0028, (uint16_t)(0x1201 + c), NULL, b8, 5);
    pixels(&f);
    record_of(&f, &r);
    assert_null(r.palette);
    dc_record_free(&r);
    header(&f, "1.2.840.10008.1.2.1 ", 0);
    for (int c = 0; c < 3; c++) us(&f, 0x0028, (uint16_t)(0x1101 + c), d8, 3);
    for (int c = 0; c < 3; c++) ow(&f, 0x0028, (uint16_t)(0x1201 + c), t16[0], NULL, 4);
    pixels(&f);
    record_of(&f, &r);
    assert_null(r.palette); /* 8 bytes for 5 entries */
    dc_record_free(&r);
}

/* ---- pack / unpack ---- */

static dc_palette *make_palette(uint16_t base)
{
    dc_palette p;
    memset(&p, 0, sizeof p);
    static uint16_t lut[9];
    for (int k = 0; k < 9; k++) lut[k] = (uint16_t)(base + 7 * k);
    for (int c = 0; c < 3; c++) {
        p.desc[c][0] = 3;
        p.desc[c][1] = -2;
        p.desc[c][2] = 16;
        p.len[c] = 3;
    }
    p.bits = 16;
    p.segmented = 1;
    p.lut = lut;
    return dc_palette_dup(&p);
}

static void test_palette_pack(void **state)
{
    (void)state;
    dc_record r;
    dc_record_init(&r);
    r.kind = DC_FILE_DICOM;
    r.palette = make_palette(100);
    dc_buf b;
    dc_buf_init(&b);
    dc_record_pack(&r, &b);
    dc_record u;
    dc_record_init(&u);
    const char *p = b.data;
    assert_int_equal(dc_record_unpack(&p, b.data + b.len, &u), 0);
    assert_ptr_equal(p, b.data + b.len);
    assert_true(dc_palette_equal(u.palette, r.palette));
    assert_int_equal(u.palette->desc[0][1], -2);
    dc_record_free(&u);
    for (size_t cut = 0; cut < b.len; cut++) { /* every truncation rejected */
        p = b.data;
        dc_record_init(&u);
        assert_int_equal(dc_record_unpack(&p, b.data + cut, &u), -1);
        dc_record_free(&u);
    }
    /* a palette longer than 65536 entries per channel is garbage */
    dc_buf_reset(&b);
    dc_palette_pack(r.palette, &b);
    uint32_t big = DC_PALETTE_MAX + 1; /* len[1]: after the flag, 9 descriptors and len[0] */
    for (int k = 0; k < 4; k++) b.data[1 + 36 + 4 + k] = (char)(big >> (8 * k));
    dc_palette *q = NULL;
    p = b.data;
    assert_int_equal(dc_palette_unpack(&p, b.data + b.len, &q), -1);
    assert_null(q);
    /* none */
    dc_buf_reset(&b);
    dc_palette_pack(NULL, &b);
    p = b.data;
    assert_int_equal(dc_palette_unpack(&p, b.data + b.len, &q), 0);
    assert_null(q);
    assert_true(dc_palette_equal(NULL, NULL));
    assert_false(dc_palette_equal(NULL, r.palette));
    dc_palette *other = make_palette(101);
    assert_false(dc_palette_equal(other, r.palette));
    dc_palette_free(other);
    dc_record_free(&r);
    dc_buf_free(&b);
}

/* ---- records for stacking ---- */

#define NR 4
static dc_record R[NR];
static const char *P[NR];

static const double AX[6] = {1, 0, 0, 0, 1, 0}, SAG[6] = {0, 1, 0, 0, 0, -1};

static dc_record *rec(uint32_t i, const char *path)
{
    dc_record *r = &R[i];
    dc_record_free(r);
    dc_record_init(r);
    r->file_idx = i;
    r->kind = DC_FILE_DICOM;
    P[i] = path;
    snprintf(r->series_uid, sizeof r->series_uid, "1.2.3");
    snprintf(r->sop_uid, sizeof r->sop_uid, "1.2.3.%u", i);
    snprintf(r->photometric, sizeof r->photometric, "PALETTE COLOR");
    r->rows = 2;
    r->cols = 3;
    r->samples = 1;
    r->bits_alloc = 8;
    r->bits_stored = 8;
    r->pixel_kind = DC_PIX_INT;
    r->has_iop = 1;
    memcpy(r->iop, AX, sizeof AX);
    r->has_ipp = 1;
    r->ipp[2] = i;
    r->has_spacing = 1;
    r->spacing[0] = r->spacing[1] = 0.5;
    r->has_instance = 1;
    r->instance = (int32_t)i + 1;
    r->file_size = 4096;
    return r;
}

static dc_group_opts vol_opts(void)
{
    dc_group_opts o = {1, 1, DC_ORDER_POSITION, DC_LAYOUT_ZYX, 0, 1, 0, DC_PHILIPS_DISPLAY};
    return o;
}

static void test_palette_scan(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 3; i++) rec(i, i == 0 ? "d/b.dcm" : i == 1 ? "d/a.dcm" : "d/c.dcm");
    R[2].ipp[2] = -1; /* the first stored slice */
    R[0].palette = make_palette(10);
    R[1].palette = make_palette(10);
    R[2].palette = make_palette(10);
    dc_group_opts o = vol_opts();
    dc_scan s;
    memset(&s, 0, sizeof s);
    s.slice_rec = malloc(3 * sizeof *s.slice_rec);
    for (uint32_t i = 0; i < 3; i++) s.slice_rec[i] = i;
    s.n_slices = 3;
    assert_int_equal(dc_stack_scan(R, P, &o, &s), 0);
    assert_true(dc_palette_equal(s.palette, R[2].palette));
    assert_string_equal(s.warnings, "");
    dc_buf b;
    dc_buf_init(&b);
    dc_scan_pack(&s, &b);
    dc_scan u;
    const char *p = b.data;
    assert_int_equal(dc_scan_unpack(&p, b.data + b.len, &u), 0);
    assert_true(dc_palette_equal(u.palette, s.palette));
    dc_scan_free(&u);
    dc_buf_free(&b);
    dc_scan_free(&s);

    dc_palette_free(R[1].palette);
    R[1].palette = make_palette(11);
    dc_palette_free(R[0].palette);
    R[0].palette = NULL;
    s.slice_rec = malloc(3 * sizeof *s.slice_rec);
    for (uint32_t i = 0; i < 3; i++) s.slice_rec[i] = i;
    s.n_slices = 3;
    assert_int_equal(dc_stack_scan(R, P, &o, &s), 0);
    assert_true(dc_palette_equal(s.palette, R[2].palette)); /* the first stored slice's */
    assert_string_equal(s.warnings,
                        "palette color LUTs differ between slices: attributes hold the first "
                        "slice's; palette color LUTs missing in some slices: attributes hold the "
                        "first slice's");
    dc_scan_free(&s);
    for (uint32_t i = 0; i < NR; i++) dc_record_free(&R[i]);
}

/* ---- multi-frame files with several orientations ---- */

/* frame f: orientation iops[f], position z[f] along its normal */
static void mf(dc_record *r, uint32_t n, const double *const *iops, const double *z)
{
    r->frames = n;
    r->n_frame_geom = n;
    r->frame_geom = calloc(n, sizeof *r->frame_geom);
    r->has_ipp = 0;
    for (uint32_t f = 0; f < n; f++) {
        dc_frame_geom *g = &r->frame_geom[f];
        g->has_iop = 1;
        memcpy(g->iop, iops[f], sizeof g->iop);
        g->has_ipp = 1;
        if (iops[f] == SAG)
            g->ipp[0] = -z[f]; /* sagittal normal (-1, 0, 0) */
        else
            g->ipp[2] = z[f];
        g->temporal = g->stack_pos = -1;
    }
}

static void group(dc_group_opts *o, dc_scan **scans, size_t *n)
{
    static const char *scope_ids[1] = {"d"};
    static const uint8_t is_input[1] = {1};
    assert_int_equal(dc_group_records(R, 1, P, scope_ids, is_input, 1, o, scans, n), 0);
}

static void test_multiframe_split(void **state)
{
    (void)state;
    const double *iops[6] = {AX, SAG, AX, SAG, AX, SAG};
    static const double z[6] = {4, 1, 0, 3, 2, 2};
    mf(rec(0, "d/loc.dcm"), 6, iops, z);
    snprintf(R[0].photometric, sizeof R[0].photometric, "MONOCHROME2");
    dc_group_opts o = vol_opts();
    dc_scan *s;
    size_t n;
    group(&o, &s, &n);
    assert_int_equal(n, 2);
    assert_string_equal(s[0].scan_id, "d_1.2.3_1"); /* axial: frames 1, 3, 5 (first frame 0) */
    assert_string_equal(s[1].scan_id, "d_1.2.3_2");
    static const uint32_t ax_order[3] = {2, 4, 0}, sag_order[3] = {1, 5, 3};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(s[0].slice_rec[k], 0);
        assert_int_equal(s[0].slice_frame[k], ax_order[k]);
        assert_int_equal(s[1].slice_frame[k], sag_order[k]);
    }
    assert_string_equal(s[0].slice_order, "position");
    assert_int_equal(s[0].n_files, 1);
    assert_float_equal(s[0].spacing[0], 2, 1e-12);
    assert_float_equal(s[1].spacing[0], 1, 1e-12);
    assert_string_equal(s[0].warnings, "multi-frame file split by orientation: frames 1, 3, 5 of 6");
    assert_string_equal(s[1].warnings, "multi-frame file split by orientation: frames 2, 4, 6 of 6");
    assert_int_equal(s[0].dims[0], 3);
    for (size_t i = 0; i < n; i++) dc_scan_free(&s[i]);
    free(s);

    /* split_inconsistent false: one unreadable scan */
    o.split_inconsistent = 0;
    group(&o, &s, &n);
    assert_int_equal(n, 1);
    assert_string_equal(s[0].scan_id, "d_1.2.3");
    assert_true(s[0].unreadable);
    assert_string_equal(s[0].reason, "inconsistent orientation");
    dc_scan_free(&s[0]);
    free(s);

    /* contiguous frames are named as ranges */
    const double *iops2[6] = {AX, AX, AX, SAG, SAG, AX};
    static const double z2[6] = {0, 1, 2, 0, 1, 3};
    mf(rec(0, "d/loc.dcm"), 6, iops2, z2);
    o.split_inconsistent = 1;
    group(&o, &s, &n);
    assert_int_equal(n, 2);
    assert_string_equal(s[0].warnings, "multi-frame file split by orientation: frames 1-3, 6 of 6");
    for (size_t i = 0; i < n; i++) dc_scan_free(&s[i]);
    free(s);

    /* 17 orientations (a radial acquisition): not split, frame order with a warning */
    static double io[17][6];
    const double *iops17[17];
    double z17[17];
    for (int f = 0; f < 17; f++) {
        io[f][0] = 1;
        io[f][4] = 1 - 0.001 * f; /* differs beyond 1e-4 */
        io[f][5] = 0.001 * f;
        iops17[f] = io[f];
        z17[f] = f;
    }
    mf(rec(0, "d/radial.dcm"), 17, iops17, z17);
    group(&o, &s, &n);
    assert_int_equal(n, 1);
    if (s[0].unreadable) fail_msg("unreadable: %s", s[0].reason);
    assert_string_equal(s[0].slice_order, "frame");
    assert_non_null(strstr(s[0].warnings, "orientation differs between frames: ordered by frame order"));
    for (uint32_t k = 0; k < 17; k++) assert_int_equal(s[0].slice_frame[k], k);
    dc_scan_free(&s[0]);
    free(s);
    for (uint32_t i = 0; i < NR; i++) dc_record_free(&R[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segmented),
        cmocka_unit_test_setup_teardown(test_palette_files, setup, teardown),
        cmocka_unit_test(test_palette_pack),
        cmocka_unit_test(test_palette_scan),
        cmocka_unit_test(test_multiframe_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
