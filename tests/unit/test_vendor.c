/*
 * test_vendor.c - vendor conventions (dc_vendor.h, SPEC 11) on data built
 * here:
 *   - the CSA header reader: CSA2 and CSA1 headers written here give their
 *     NumberOfImagesInMosaic, SliceNormalVector, MosaicRefAcqTimes (the
 *     first empty item ends the list) and B_value; malformed headers (too
 *     short, 0 or 1001 tags, negative or 1001 items, a tag or item header cut
 *     short, an item length beyond the header) are refused with a reason;
 *     every truncation and every single-byte corruption of a valid header is
 *     either read or refused, never read past its end (ASan build);
 *   - mosaic tiles in the stacker: two mosaic records stack as (2, n, r/m,
 *     c/m), tiles ordered along +row x col (reversed for a negative step),
 *     positions from the tile origin and step, slice_times in stored order,
 *     repeat_axis acquisition; per-file a mosaic is (n, r/m, c/m);
 *   - dc_decode_tile cuts the right tile out of a native frame;
 *   - grouping: one SeriesInstanceUID with two SeriesNumbers gives two parts
 *     (_1, _2), or one unreadable "inconsistent SeriesNumber";
 *   - named 4D axes: EchoTime differing between repeats gives "echo";
 *   - Philips: FP = (SV * RS + RI) / (RS * SS) as slope and intercept;
 *   - dc_vendor_vals and dc_xattrs survive pack/unpack; every truncation is
 *     refused.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_config.h"
#include "dc_scan.h"
#include "dc_tiles.h"
#include "dc_vendor.h"

/* ---- writing CSA headers ---- */

typedef struct {
    const char *name;
    int vm;
    const char *vals[8]; /* NULL-terminated */
} csa_tag;

static void put32(dc_buf *b, int32_t v)
{
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    dc_buf_append(b, t, 4);
}

/* kind 2: "SV10" CSA2; kind 1: CSA1 (item length = x0 - first tag's item count) */
static void csa_write(dc_buf *b, const csa_tag *tags, int n, int kind)
{
    dc_buf_reset(b);
    if (kind == 2) dc_buf_append(b, "SV10\4\3\2\1", 8);
    put32(b, n);
    put32(b, 77);
    int first_items = 0;
    for (int t = 0; t < n; t++) {
        char name[64] = {0};
        snprintf(name, sizeof name, "%s", tags[t].name);
        dc_buf_append(b, name, 64);
        put32(b, tags[t].vm);
        dc_buf_append(b, "FD\0\0", 4);
        put32(b, 3);
        int items = 6;
        if (t == 0) first_items = items;
        put32(b, items);
        put32(b, 77);
        for (int k = 0; k < items; k++) {
            const char *v = k < 8 && tags[t].vals[k] ? tags[t].vals[k] : NULL;
            for (int j = 0; j < k && v; j++)
                if (!tags[t].vals[j]) v = NULL;
            int32_t len = v ? (int32_t)strlen(v) + 1 : 0;
            put32(b, kind == 2 ? len : len + first_items);
            put32(b, len);
            put32(b, 77);
            put32(b, len);
            if (len) dc_buf_append(b, v, (size_t)len);
            static const char pad[4] = {0};
            dc_buf_append(b, pad, (size_t)((4 - len % 4) % 4));
        }
    }
}

static const csa_tag MOSAIC_TAGS[] = {
    {"EchoLinePosition", 1, {"64"}},
    {"NumberOfImagesInMosaic", 1, {"5"}},
    {"SliceNormalVector", 3, {"0.0", "0.0174524", "-0.9998477"}},
    {"MosaicRefAcqTimes", 0, {"0", "150.5", "75.25", "225", "37.5"}},
    {"B_value", 1, {"1000"}},
};

static void check_mosaic_info(const dc_csa_info *c)
{
    assert_true(c->has_n_images);
    assert_int_equal(c->n_images, 5);
    assert_true(c->has_normal);
    assert_true(c->normal[1] == 0.0174524 && c->normal[2] == -0.9998477);
    assert_int_equal(c->n_times, 5);
    assert_true(c->times[1] == 150.5 && c->times[4] == 37.5);
    assert_true(c->has_b_value && c->b_value == 1000);
}

static dc_csa_info INFO;

static void test_csa_valid(void **state)
{
    (void)state;
    dc_buf b;
    dc_buf_init(&b);
    char why[128] = "";
    for (int kind = 1; kind <= 2; kind++) {
        csa_write(&b, MOSAIC_TAGS, 5, kind);
        assert_int_equal(dc_csa_parse((const uint8_t *)b.data, b.len, &INFO, why, sizeof why), 0);
        check_mosaic_info(&INFO);
    }
    dc_buf_free(&b);
}

static void expect_refused(const dc_buf *b, const char *want)
{
    char why[128] = "";
    assert_int_equal(dc_csa_parse((const uint8_t *)b->data, b->len, &INFO, why, sizeof why), -1);
    if (!strstr(why, want)) fail_msg("reason \"%s\", want \"%s\"", why, want);
}

static void set32(dc_buf *b, size_t at, int32_t v)
{
    for (int i = 0; i < 4; i++) b->data[at + i] = (char)(uint8_t)(v >> (8 * i));
}

static void test_csa_malformed(void **state)
{
    (void)state;
    dc_buf b;
    dc_buf_init(&b);
    char why[128];
    assert_int_equal(dc_csa_parse(NULL, 0, &INFO, why, sizeof why), -1);
    dc_buf_append(&b, "SV10\4\3\2\1\1\0", 10);
    expect_refused(&b, "10 bytes, too short");
    b.len = 4; /* "SV10" alone: the CSA2 prefix must not be skipped past the end */
    expect_refused(&b, "4 bytes, too short");
    const size_t tags_at = 8, tag0 = 16, items0 = tag0 + 64 + 12, item0 = tag0 + 84; /* CSA2 */
    csa_write(&b, MOSAIC_TAGS, 5, 2);
    set32(&b, tags_at, 0);
    expect_refused(&b, "0 tags");
    set32(&b, tags_at, 1001);
    expect_refused(&b, "1001 tags");
    set32(&b, tags_at, -5);
    expect_refused(&b, "-5 tags");
    csa_write(&b, MOSAIC_TAGS, 5, 2);
    set32(&b, tags_at, 6); /* one tag more than written */
    expect_refused(&b, "tag 5 cut short");
    csa_write(&b, MOSAIC_TAGS, 5, 2);
    set32(&b, items0, 1001);
    expect_refused(&b, "1001 items");
    set32(&b, items0, -1);
    expect_refused(&b, "-1 items");
    csa_write(&b, MOSAIC_TAGS, 5, 2);
    set32(&b, item0 + 4, 0x7FFFFFF0);
    expect_refused(&b, "item length 2147483632 beyond the header");
    set32(&b, item0 + 4, -8);
    expect_refused(&b, "item length -8");
    csa_write(&b, MOSAIC_TAGS, 1, 2);
    b.len -= 10; /* the last item header cut short */
    expect_refused(&b, "cut short");
    /* CSA1: a bad length ends the tag (SPM, nibabel); what came before is read */
    csa_write(&b, MOSAIC_TAGS, 5, 1);
    size_t last = (size_t)((char *)memmem(b.data, b.len, "B_value", 7) - b.data);
    set32(&b, last + 84, 0x7FFFFFF0); /* x0 of B_value's first item */
    assert_int_equal(dc_csa_parse((const uint8_t *)b.data, b.len, &INFO, why, sizeof why), 0);
    assert_true(INFO.has_n_images && INFO.n_images == 5 && INFO.n_times == 5);
    assert_false(INFO.has_b_value);
    /* not numbers: not kept */
    static const csa_tag odd[] = {{"NumberOfImagesInMosaic", 1, {"five"}},
                                  {"SliceNormalVector", 3, {"1", "x", "0"}}};
    csa_write(&b, odd, 2, 2);
    assert_int_equal(dc_csa_parse((const uint8_t *)b.data, b.len, &INFO, why, sizeof why), 0);
    assert_false(INFO.has_n_images);
    assert_false(INFO.has_normal);
    dc_buf_free(&b);
}

/* Every prefix and every byte changed: read or refused with a reason, never
 * beyond the bytes given (each case in a buffer of exactly that size). */
static void test_csa_truncations_and_flips(void **state)
{
    (void)state;
    dc_buf b;
    dc_buf_init(&b);
    for (int kind = 1; kind <= 2; kind++) {
        csa_write(&b, MOSAIC_TAGS, 5, kind);
        for (size_t cut = 0; cut <= b.len; cut++) {
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, b.data, cut);
            char why[128] = "";
            if (dc_csa_parse(p, cut, &INFO, why, sizeof why) != 0) assert_true(why[0] != '\0');
            free(p);
        }
        for (size_t at = 0; at < b.len; at++) {
            static const uint8_t flips[] = {0xFF, 0x80, 0x01, 0x7F};
            for (size_t f = 0; f < sizeof flips; f++) {
                uint8_t *p = malloc(b.len);
                memcpy(p, b.data, b.len);
                p[at] ^= flips[f];
                char why[128] = "";
                if (dc_csa_parse(p, b.len, &INFO, why, sizeof why) != 0) assert_true(why[0] != '\0');
                assert_true(INFO.n_times <= DC_CSA_MAX_ITEMS);
                free(p);
            }
        }
    }
    dc_buf_free(&b);
}

/* ---- mosaics in the stacker ---- */

#define NR 8
static dc_record R[NR];
static const char *P[NR];

/* a 12 x 9 mosaic of 5 tiles (grid 3: tiles 4 x 3), tile 0 at (10, 20, z0) */
static dc_record *mosaic_rec(uint32_t i, const char *path, double z0, double step, int32_t acq)
{
    dc_record *r = &R[i];
    dc_record_free(r);
    dc_record_init(r);
    r->file_idx = i;
    r->kind = DC_FILE_DICOM;
    P[i] = path;
    snprintf(r->series_uid, sizeof r->series_uid, "1.2.3");
    snprintf(r->sop_uid, sizeof r->sop_uid, "1.2.3.%u", i);
    snprintf(r->modality, sizeof r->modality, "MR");
    snprintf(r->photometric, sizeof r->photometric, "MONOCHROME2");
    r->rows = 12;
    r->cols = 9;
    r->samples = 1;
    r->bits_alloc = 16;
    r->bits_stored = 12;
    r->pixel_kind = DC_PIX_INT;
    r->has_iop = r->has_ipp = r->has_spacing = 1;
    static const double axial[6] = {1, 0, 0, 0, 1, 0};
    memcpy(r->iop, axial, sizeof axial);
    r->ipp[2] = z0 - 100; /* the mosaic's own position: not the slices' */
    r->spacing[0] = r->spacing[1] = 1;
    r->has_acq = 1;
    r->acq = acq;
    r->file_size = 500;
    dc_vendor_vals *v = &r->vendor;
    dc_tiling *t = v->tiling = dc_tiling_new(5, 3);
    t->has_pos = t->has_times = 1;
    t->origin[0] = 10;
    t->origin[1] = 20;
    t->origin[2] = z0;
    t->step[2] = step;
    for (int k = 0; k < 5; k++) t->times[k] = 100.0 * k + acq;
    snprintf(v->image_type, sizeof v->image_type, "ORIGINAL\\PRIMARY\\M\\ND\\MOSAIC");
    return r;
}

static dc_group_opts opts(int volumes)
{
    dc_group_opts o = {volumes, 1, DC_ORDER_POSITION, DC_LAYOUT_ZYX, 0, 1, 0, DC_PHILIPS_DISPLAY};
    return o;
}

static void stack(dc_scan *s, uint32_t n, const dc_group_opts *o)
{
    memset(s, 0, sizeof *s);
    s->slice_rec = malloc(n * sizeof *s->slice_rec);
    for (uint32_t i = 0; i < n; i++) s->slice_rec[i] = i;
    s->n_slices = n;
    assert_int_equal(dc_stack_scan(R, P, o, s), 0);
    assert_false(s->unreadable);
}

static void test_mosaic_stack(void **state)
{
    (void)state;
    for (int neg = 0; neg <= 1; neg++) {
        double step = neg ? -2.5 : 2.5;
        mosaic_rec(1, "d/b.dcm", 50, step, 2);
        mosaic_rec(0, "d/a.dcm", 50, step, 1);
        dc_group_opts o = opts(1);
        dc_scan s;
        stack(&s, 2, &o);
        static const uint64_t dims[4] = {2, 5, 4, 3};
        assert_int_equal(s.ndim, 4);
        for (int d = 0; d < 4; d++) assert_int_equal(s.dims[d], dims[d]);
        assert_int_equal(s.n_repeats, 2);
        assert_string_equal(s.slice_order, "position");
        for (uint32_t k = 0; k < 10; k++) {
            assert_int_equal(s.slice_rec[k], k / 5);                       /* file = repeat */
            assert_int_equal(s.slice_frame[k], neg ? 4 - k % 5 : k % 5); /* tile */
        }
        assert_int_equal(s.n_positions, 5);
        for (uint32_t z = 0; z < 5; z++) {
            double want = 50 + (neg ? 4 - z : z) * step;
            assert_true(s.slice_positions[3 * z] == 10 && s.slice_positions[3 * z + 1] == 20);
            assert_float_equal(s.slice_positions[3 * z + 2], want, 1e-12);
        }
        assert_float_equal(s.affine[2 * 4 + 0], 2.5, 1e-12); /* z column along +normal */
        assert_float_equal(s.spacing[0], 2.5, 1e-12);
        const dc_xattr *t = dc_xattrs_find(&s.xattrs, "slice_times");
        assert_non_null(t);
        assert_int_equal(t->n, 5);
        for (uint32_t z = 0; z < 5; z++) assert_true(t->f[z] == 100.0 * (neg ? 4 - z : z) + 1);
        const dc_xattr *ax = dc_xattrs_find(&s.xattrs, "repeat_axis");
        assert_non_null(ax);
        assert_string_equal(ax->s[0], "acquisition");
        const dc_xattr *an = dc_xattrs_find(&s.xattrs, "repeat_acquisition_number");
        assert_true(an && an->n == 2 && an->f[0] == 1 && an->f[1] == 2);
        dc_scan_free(&s);
    }
    /* per-file: one mosaic is a volume in tile order */
    dc_group_opts o = opts(0);
    dc_scan s;
    mosaic_rec(0, "d/a.dcm", 50, -2.5, 1);
    stack(&s, 1, &o);
    static const uint64_t dims[3] = {5, 4, 3};
    assert_int_equal(s.ndim, 3);
    for (int d = 0; d < 3; d++) assert_int_equal(s.dims[d], dims[d]);
    for (uint32_t k = 0; k < 5; k++) assert_int_equal(s.slice_frame[k], k);
    assert_float_equal(s.affine[2 * 4 + 0], -2.5, 1e-12);
    dc_scan_free(&s);
}

static void test_mosaic_instance_order(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        dc_record *r = mosaic_rec((uint32_t)i, i == 0 ? "d/c.dcm" : i == 1 ? "d/a.dcm" : "d/b.dcm", 0, 1, i);
        r->has_instance = 1;
        r->instance = 3 - i;
    }
    dc_group_opts o = opts(1);
    o.slice_order = DC_ORDER_INSTANCE;
    dc_scan s;
    stack(&s, 3, &o);
    assert_int_equal(s.ndim, 4);
    assert_int_equal(s.dims[0], 3);
    assert_int_equal(s.dims[1], 5);
    for (uint32_t k = 0; k < 15; k++) {
        assert_int_equal(s.slice_rec[k], 2 - k / 5); /* instance 1, 2, 3 */
        assert_int_equal(s.slice_frame[k], k % 5);
    }
    dc_scan_free(&s);
}

static void test_decode_tile(void **state)
{
    (void)state;
    /* 6 x 4 frame, grid 2: tiles of 3 x 2; value = row * 10 + col */
    uint16_t frame[24];
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 4; x++) frame[y * 4 + x] = (uint16_t)(y * 10 + x);
    dc_dataset ds;
    dc_dataset_init(&ds);
    ds.mem = (const uint8_t *)frame;
    ds.mem_len = sizeof frame;
    ds.pixel.present = 1;
    ds.pixel.tag = DC_TAG_PIXEL_DATA;
    ds.pixel.len = sizeof frame;
    dc_pixel_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.rows = 6;
    pd.cols = 4;
    pd.samples = 1;
    pd.frames = 1;
    pd.bits_alloc = pd.bits_stored = 16;
    pd.pixel_kind = DC_PIX_INT;
    snprintf(pd.photometric, sizeof pd.photometric, "MONOCHROME2");
    snprintf(pd.ts_uid, sizeof pd.ts_uid, "1.2.840.10008.1.2.1");
    char err[DC_ERRLEN];
    for (uint32_t t = 0; t < 4; t++) {
        uint16_t tile[6];
        assert_int_equal(dc_decode_tile(&ds, &pd, 2, 0, t, DC_DT_U16, 1, 0, tile, err, sizeof err), 0);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 2; x++)
                assert_int_equal(tile[y * 2 + x], (t / 2 * 3 + y) * 10 + t % 2 * 2 + x);
    }
    uint16_t tile[6];
    assert_int_equal(dc_decode_tile(&ds, &pd, 4, 0, 0, DC_DT_U16, 1, 0, tile, err, sizeof err), -1);
    assert_string_equal(err, "tile 0 of a 4x4 mosaic grid does not fit 6x4");
    dc_tiles_forget();
    dc_dataset_free(&ds);
}

/* ---- grouping by SeriesNumber, named axes ---- */

static dc_record *plain_rec(uint32_t i, const char *path, double z, int32_t series_number)
{
    dc_record *r = mosaic_rec(i, path, 0, 1, 1);
    dc_vendor_vals_free(&r->vendor);
    memset(&r->vendor, 0, sizeof r->vendor);
    r->ipp[2] = z;
    r->has_instance = 1;
    r->instance = (int32_t)i + 1;
    r->vendor.has_series_number = 1;
    r->vendor.series_number = series_number;
    return r;
}

static void test_series_number_split(void **state)
{
    (void)state;
    static const char *scope[] = {"d"};
    static const uint8_t is_input[] = {1};
    static const char *paths[4] = {"d/1.dcm", "d/2.dcm", "d/3.dcm", "d/4.dcm"};
    for (uint32_t i = 0; i < 4; i++) plain_rec(i, paths[i], i % 2, i < 2 ? 7 : 8);
    for (int split = 1; split >= 0; split--) {
        dc_group_opts o = opts(1);
        o.split_inconsistent = split;
        dc_scan *s = NULL;
        size_t n = 0;
        assert_int_equal(dc_group_records(R, 4, paths, scope, is_input, 1, &o, &s, &n), 0);
        if (split) {
            assert_int_equal(n, 2);
            assert_string_equal(s[0].scan_id, "d_1.2.3_1");
            assert_string_equal(s[1].scan_id, "d_1.2.3_2");
            assert_int_equal(s[0].n_files, 2);
            assert_true(s[0].slice_rec[0] < 2 && s[1].slice_rec[0] >= 2);
        } else {
            assert_int_equal(n, 1);
            assert_true(s[0].unreadable);
            assert_string_equal(s[0].reason, "inconsistent SeriesNumber");
        }
        for (size_t k = 0; k < n; k++) dc_scan_free(&s[k]);
        free(s);
    }
}

static void test_echo_axis(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 4; i++) {
        dc_record *r = plain_rec(i, i == 0 ? "d/1" : i == 1 ? "d/2" : i == 2 ? "d/3" : "d/4", i % 2, 1);
        r->vendor.has_echo = 1;
        r->vendor.echo_time = i < 2 ? 4.5 : 9;
    }
    dc_group_opts o = opts(1);
    dc_scan s;
    stack(&s, 4, &o);
    assert_int_equal(s.n_repeats, 2);
    const dc_xattr *ax = dc_xattrs_find(&s.xattrs, "repeat_axis");
    assert_non_null(ax);
    assert_string_equal(ax->s[0], "echo");
    const dc_xattr *e = dc_xattrs_find(&s.xattrs, "repeat_echo_time");
    assert_true(e && e->n == 2 && e->f[0] == 4.5 && e->f[1] == 9);
    const dc_xattr *b = dc_xattrs_find(&s.xattrs, "repeat_b_value");
    assert_true(b && isnan(b->f[0]) && isnan(b->f[1]));
    assert_null(dc_xattrs_find(&s.xattrs, "slice_times"));
    dc_scan_free(&s);
}

/* ---- Philips, serialisation ---- */

static void test_philips_formula(void **state)
{
    (void)state;
    dc_vendor_vals v;
    memset(&v, 0, sizeof v);
    double sl, ic;
    assert_int_equal(dc_philips_fp_scale(&v, 2, 1, &sl, &ic), -1); /* no Scale Slope */
    v.has_philips_ss = 1;
    v.philips_ss = 0.25;
    assert_int_equal(dc_philips_fp_scale(&v, 2, -10, &sl, &ic), 0); /* standard RS/RI */
    for (int sv = 0; sv < 4000; sv += 333)
        assert_float_equal(sv * sl + ic, (sv * 2.0 - 10) / (2.0 * 0.25), 1e-9);
    v.has_philips_rs = v.has_philips_ri = 1;
    v.philips_rs = 4;
    v.philips_ri = 6; /* private ones win */
    assert_int_equal(dc_philips_fp_scale(&v, 2, -10, &sl, &ic), 0);
    for (int sv = 0; sv < 4000; sv += 333)
        assert_float_equal(sv * sl + ic, (sv * 4.0 + 6) / (4.0 * 0.25), 1e-9);
}

static void test_pack_roundtrips(void **state)
{
    (void)state;
    dc_record *r = mosaic_rec(0, "d/a.dcm", 50, 2.5, 1);
    r->vendor.has_philips_ss = 1;
    r->vendor.philips_ss = 0.125;
    r->vendor.note = dc_strdup("CSA header: 9 tags");
    dc_buf b;
    dc_buf_init(&b);
    dc_vendor_pack(&r->vendor, &b);
    const char *p = b.data;
    dc_vendor_vals back;
    assert_int_equal(dc_vendor_unpack(&p, b.data + b.len, &back), 0);
    assert_ptr_equal(p, b.data + b.len);
    assert_non_null(back.tiling);
    assert_memory_equal(back.tiling, r->vendor.tiling, sizeof(dc_tiling) + 5 * sizeof(double));
    assert_string_equal(back.note, r->vendor.note);
    dc_vendor_vals cmp = back;
    cmp.tiling = r->vendor.tiling;
    cmp.note = r->vendor.note;
    assert_memory_equal(&cmp, &r->vendor, sizeof cmp);
    dc_vendor_vals_free(&back);
    for (size_t cut = 0; cut < b.len; cut++) {
        p = b.data;
        assert_int_equal(dc_vendor_unpack(&p, b.data + cut, &back), -1);
        assert_null(back.tiling);
        assert_null(back.note);
    }
    dc_xattrs x;
    memset(&x, 0, sizeof x);
    const double f[3] = {1.5, NAN, -2};
    const char *s[2] = {"ORIGINAL\\PRIMARY\\M", ""};
    dc_xattrs_add_f64(&x, "repeat_b_value", f, 3, 0);
    dc_xattrs_add_str(&x, "repeat_image_type", s, 2, 0);
    dc_xattrs_add_str(&x, "repeat_axis", s, 1, 1);
    dc_buf_reset(&b);
    dc_xattrs_pack(&x, &b);
    p = b.data;
    dc_xattrs y;
    assert_int_equal(dc_xattrs_unpack(&p, b.data + b.len, &y), 0);
    assert_int_equal(y.n, 3);
    assert_true(y.a[0].f[0] == 1.5 && isnan(y.a[0].f[1]) && y.a[0].f[2] == -2 && !y.a[0].scalar);
    assert_string_equal(y.a[1].s[0], "ORIGINAL\\PRIMARY\\M");
    assert_string_equal(y.a[1].s[1], "");
    assert_true(y.a[2].scalar && y.a[2].n == 1);
    dc_xattrs_free(&y);
    for (size_t cut = 0; cut < b.len; cut++) {
        p = b.data;
        assert_int_equal(dc_xattrs_unpack(&p, b.data + cut, &y), -1);
        assert_int_equal(y.n, 0);
    }
    dc_xattrs_free(&x);
    dc_buf_free(&b);
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NR; i++) dc_record_free(&R[i]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csa_valid),
        cmocka_unit_test(test_csa_malformed),
        cmocka_unit_test(test_csa_truncations_and_flips),
        cmocka_unit_test(test_mosaic_stack),
        cmocka_unit_test(test_mosaic_instance_order),
        cmocka_unit_test(test_decode_tile),
        cmocka_unit_test(test_series_number_split),
        cmocka_unit_test(test_echo_axis),
        cmocka_unit_test(test_philips_formula),
        cmocka_unit_test(test_pack_roundtrips),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
