/*
 * test_record.c - dc_record from parsed files (record.c): every field from
 * pydicom's test files (values checked with pydicom 2.3.1), enhanced
 * multi-frame functional groups on a synthetic file built here, the frame
 * count bound, dc_record_image_fields (= the record's image fields),
 * dc_record_frame_bytes, and pack/unpack (exact round trip,
 * every truncation rejected).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_record.h"

#define TF "/usr/lib/python3/dist-packages/pydicom/data/test_files/"

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

static void record_of(const char *path, dc_record *r)
{
    int rc = dc_parse_file(path, NULL, &DS, ERR, sizeof ERR);
    if (rc != DC_PARSE_OK) fail_msg("%s: %d %s", path, rc, ERR);
    dc_record_init(r);
    dc_record_from_dataset(&DS, r);
}

static void assert_near(double a, double b)
{
    if (!(a == b || (a - b < 1e-9 && b - a < 1e-9))) fail_msg("%.17g != %.17g", a, b);
}

static void test_ct_small(void **state)
{
    (void)state;
    dc_record r;
    record_of(TF "CT_small.dcm", &r);
    assert_int_equal(r.kind, DC_FILE_DICOM);
    assert_string_equal(r.sop_uid, "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322");
    assert_string_equal(r.series_uid, "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322");
    assert_string_equal(r.study_uid, "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322");
    assert_string_equal(r.ts_uid, "1.2.840.10008.1.2.1");
    assert_string_equal(r.modality, "CT");
    assert_string_equal(r.photometric, "MONOCHROME2");
    assert_true(r.has_instance && r.instance == 1);
    assert_true(r.has_acq && r.acq == 2);
    assert_false(r.has_temporal);
    assert_true(r.has_ipp);
    assert_near(r.ipp[0], -158.135803);
    assert_near(r.ipp[1], -179.035797);
    assert_near(r.ipp[2], -75.699997);
    assert_true(r.has_iop);
    const double iop[6] = {1, 0, 0, 0, 1, 0};
    for (int k = 0; k < 6; k++) assert_near(r.iop[k], iop[k]);
    assert_true(r.has_spacing);
    assert_near(r.spacing[0], 0.661468);
    assert_near(r.spacing[1], 0.661468);
    assert_true(r.has_thickness);
    assert_near(r.thickness, 5.0);
    assert_true(r.has_sbs);
    assert_near(r.sbs, 5.0);
    assert_true(r.has_rescale);
    assert_near(r.slope, 1.0);
    assert_near(r.intercept, -1024.0);
    assert_int_equal(r.rows, 128);
    assert_int_equal(r.cols, 128);
    assert_int_equal(r.samples, 1);
    assert_int_equal(r.bits_alloc, 16);
    assert_int_equal(r.bits_stored, 16);
    assert_int_equal(r.high_bit, 15);
    assert_int_equal(r.pixel_rep, 1);
    assert_int_equal(r.planar, 0);
    assert_int_equal(r.frames, 1);
    assert_int_equal(r.pixel_kind, DC_PIX_INT);
    assert_int_equal(r.file_size, 39206);
    assert_int_equal(r.n_frame_geom, 0);
    assert_null(r.frame_geom);
    assert_int_equal(dc_record_frame_bytes(&r), 128 * 128 * 2);
    dc_record_free(&r);
}

static void test_other_files(void **state)
{
    (void)state;
    dc_record r;
    record_of(TF "rtdose.dcm", &r); /* implicit VR, 15 frames, 32 bit */
    assert_string_equal(r.ts_uid, "1.2.840.10008.1.2");
    assert_string_equal(r.modality, "RTDOSE");
    assert_false(r.has_instance);
    assert_int_equal(r.frames, 15);
    assert_int_equal(r.bits_alloc, 32);
    assert_int_equal(r.pixel_rep, 0);
    assert_near(r.ipp[0], 189.43125);
    assert_near(r.ipp[2], -761.87);
    assert_near(r.spacing[0], 10.0);
    assert_false(r.has_rescale);
    assert_near(r.slope, 1.0);
    assert_int_equal(dc_record_frame_bytes(&r), 10 * 10 * 4);
    dc_record_free(&r);

    record_of(TF "SC_rgb_rle_2frame.dcm", &r); /* RLE colour, 2 frames */
    assert_string_equal(r.ts_uid, "1.2.840.10008.1.2.5");
    assert_string_equal(r.photometric, "RGB");
    assert_int_equal(r.samples, 3);
    assert_int_equal(r.frames, 2);
    assert_int_equal(r.planar, 0);
    assert_false(r.has_ipp);
    assert_false(r.has_iop);
    assert_int_equal(dc_record_frame_bytes(&r), 100 * 100 * 3);
    dc_record_free(&r);

    record_of(TF "MR_small_bigendian.dcm", &r); /* explicit big endian */
    assert_string_equal(r.ts_uid, "1.2.840.10008.1.2.2");
    assert_string_equal(r.sop_uid, "1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457");
    assert_int_equal(r.rows, 64);
    assert_int_equal(r.bits_stored, 16);
    assert_near(r.ipp[0], -83.9063);
    assert_near(r.ipp[2], 6.6406);
    assert_near(r.thickness, 0.8);
    assert_false(r.has_sbs);
    assert_true(r.has_acq && r.acq == 0);
    dc_record_free(&r);

    record_of(TF "ExplVR_LitEndNoMeta.dcm", &r); /* no meta: syntax from the parser */
    assert_string_equal(r.ts_uid, "1.2.840.10008.1.2.1");
    dc_record_free(&r);

    record_of(TF "dicomdirtests/DICOMDIR", &r);
    assert_int_equal(r.kind, DC_FILE_DICOMDIR);
    assert_int_equal(r.pixel_kind, DC_PIX_NONE);
    dc_record_free(&r);
}

/* ---- synthetic enhanced multi-frame file ---- */

typedef struct {
    uint8_t b[4096];
    size_t n;
} fb;

static void put(fb *f, const void *p, size_t n)
{
    assert_true(f->n + n <= sizeof f->b);
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void put16(fb *f, uint16_t v)
{
    uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(f, t, 2);
}

static void put32(fb *f, uint32_t v)
{
    put16(f, (uint16_t)v);
    put16(f, (uint16_t)(v >> 16));
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

static void us(fb *f, uint16_t g, uint16_t e, uint16_t v)
{
    put16(f, g);
    put16(f, e);
    put(f, "US", 2);
    put16(f, 2);
    put16(f, v);
}

static void ul(fb *f, uint16_t g, uint16_t e, uint32_t v)
{
    put16(f, g);
    put16(f, e);
    put(f, "UL", 2);
    put16(f, 4);
    put32(f, v);
}

static void sq(fb *f, uint16_t g, uint16_t e)
{
    put16(f, g);
    put16(f, e);
    put(f, "SQ", 2);
    put16(f, 0);
    put32(f, 0xFFFFFFFF);
}

static void item(fb *f)
{
    put16(f, 0xFFFE);
    put16(f, 0xE000);
    put32(f, 0xFFFFFFFF);
}

static void end_item(fb *f)
{
    put16(f, 0xFFFE);
    put16(f, 0xE00D);
    put32(f, 0);
}

static void end_seq(fb *f)
{
    put16(f, 0xFFFE);
    put16(f, 0xE0DD);
    put32(f, 0);
}

/* a functional group sequence with one item holding the given elements */
static void group1(fb *f, uint16_t g, uint16_t e, uint16_t tg, uint16_t te, const char *vr, const char *v)
{
    sq(f, g, e);
    item(f);
    el(f, tg, te, vr, v);
    end_item(f);
    end_seq(f);
}

static void build_enhanced(fb *f, const char *frames)
{
    memset(f, 0, sizeof *f);
    f->n = 128;
    put(f, "DICM", 4);
    el(f, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1 "); /* padded to even length */
    el(f, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.4.1 ");
    el(f, 0x0008, 0x0060, "CS", "MR");
    el(f, 0x0028, 0x0008, "IS", frames);
    us(f, 0x0028, 0x0010, 4);
    us(f, 0x0028, 0x0011, 2);
    us(f, 0x0028, 0x0100, 16);
    sq(f, 0x5200, 0x9229); /* shared */
    item(f);
    sq(f, 0x0028, 0x9110);
    item(f);
    el(f, 0x0018, 0x0050, "DS", "2 ");
    el(f, 0x0028, 0x0030, "DS", "0.5\\0.25");
    end_item(f);
    end_seq(f);
    group1(f, 0x0020, 0x9116, 0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0 ");
    sq(f, 0x0028, 0x9145);
    item(f);
    el(f, 0x0028, 0x1052, "DS", "-100");
    el(f, 0x0028, 0x1053, "DS", "2 ");
    end_item(f);
    end_seq(f);
    end_item(f);
    end_seq(f);
    sq(f, 0x5200, 0x9230); /* per-frame */
    item(f); /* frame 0 */
    group1(f, 0x0020, 0x9113, 0x0020, 0x0032, "DS", "0\\0\\0 ");
    sq(f, 0x0020, 0x9111);
    item(f);
    ul(f, 0x0020, 0x9057, 1);
    ul(f, 0x0020, 0x9128, 1);
    end_item(f);
    end_seq(f);
    end_item(f);
    item(f); /* frame 1: own position, content and rescale */
    group1(f, 0x0020, 0x9113, 0x0020, 0x0032, "DS", "0\\0\\2.5 ");
    sq(f, 0x0020, 0x9111);
    item(f);
    ul(f, 0x0020, 0x9057, 2);
    end_item(f);
    end_seq(f);
    group1(f, 0x0028, 0x9145, 0x0028, 0x1053, "DS", "4 ");
    group1(f, 0x0020, 0x9116, 0x0020, 0x0037, "DS", "0\\1\\0\\0\\0\\1 ");
    end_item(f);
    item(f); /* frame 2: nothing of its own */
    end_item(f);
    end_seq(f);
    put16(f, 0x7FE0);
    put16(f, 0x0010);
    put(f, "OW", 2);
    put16(f, 0);
    put32(f, 48);
    uint8_t px[48] = {0};
    put(f, px, 48);
}

static void test_enhanced_multiframe(void **state)
{
    (void)state;
    fb f;
    build_enhanced(&f, "3 ");
    assert_int_equal(dc_parse_memory(f.b, f.n, NULL, &DS, ERR, sizeof ERR), DC_PARSE_OK);
    dc_record r;
    dc_record_init(&r);
    r.file_idx = 7;
    r.col_sig = 99;
    dc_record_from_dataset(&DS, &r);
    assert_int_equal(r.file_idx, 7); /* caller's fields kept */
    assert_int_equal(r.col_sig, 99);
    assert_int_equal(r.frames, 3);
    assert_int_equal(r.n_frame_geom, 3);
    /* record fields from the functional groups (absent at top level) */
    assert_true(r.has_spacing);
    assert_near(r.spacing[0], 0.5);
    assert_near(r.spacing[1], 0.25);
    assert_true(r.has_thickness);
    assert_near(r.thickness, 2.0);
    assert_false(r.has_sbs);
    assert_true(r.has_iop);
    assert_near(r.iop[0], 1.0);
    assert_near(r.iop[4], 1.0);
    assert_true(r.has_ipp); /* frame 0's position */
    assert_near(r.ipp[2], 0.0);
    assert_true(r.has_rescale);
    assert_near(r.slope, 2.0);
    assert_near(r.intercept, -100.0);
    const dc_frame_geom *g = r.frame_geom;
    assert_true(g[0].has_ipp && g[0].has_iop);
    assert_int_equal(g[0].temporal, 1);
    assert_int_equal(g[0].stack_pos, 1);
    assert_true(g[0].has_rescale);
    assert_near(g[0].slope, 2.0);
    assert_near(g[0].intercept, -100.0);
    assert_true(g[1].has_ipp);
    assert_near(g[1].ipp[2], 2.5);
    assert_int_equal(g[1].temporal, -1);
    assert_int_equal(g[1].stack_pos, 2);
    assert_near(g[1].slope, 4.0); /* per-frame slope, no per-frame intercept: default 0 */
    assert_near(g[1].intercept, 0.0);
    assert_near(g[1].iop[1], 1.0); /* per-frame orientation overrides the shared one */
    assert_near(g[1].iop[5], 1.0);
    assert_false(g[2].has_ipp); /* shared values only */
    assert_true(g[2].has_iop);
    assert_near(g[2].iop[0], 1.0);
    assert_int_equal(g[2].temporal, -1);
    assert_int_equal(g[2].stack_pos, -1);
    assert_near(g[2].slope, 2.0);
    assert_int_equal(dc_record_frame_bytes(&r), 4 * 2 * 2);
    dc_record_free(&r);

    /* fewer frames than per-frame items: only as many geometries as frames */
    build_enhanced(&f, "2 ");
    assert_int_equal(dc_parse_memory(f.b, f.n, NULL, &DS, ERR, sizeof ERR), DC_PARSE_OK);
    dc_record_init(&r);
    dc_record_from_dataset(&DS, &r);
    assert_int_equal(r.n_frame_geom, 2);
    dc_record_free(&r);

    /* an absurd frame count is bounded by the file size */
    build_enhanced(&f, "2000000000");
    assert_int_equal(dc_parse_memory(f.b, f.n, NULL, &DS, ERR, sizeof ERR), DC_PARSE_OK);
    dc_record_init(&r);
    dc_record_from_dataset(&DS, &r);
    assert_int_equal(r.frames, f.n + 1);
    assert_int_equal(r.n_frame_geom, 3);
    dc_record_free(&r);
}

/* dc_record_image_fields: the same image fields as the whole record (the
 * owner's "file unchanged" check compares them with the planned record) */
static void test_image_fields(void **state)
{
    (void)state;
    static const char *const files[] = {
        "CT_small.dcm",  "rtdose.dcm",  "SC_rgb_rle_2frame.dcm", "MR_small_bigendian.dcm",
        "JPEG2000.dcm",  "ExplVR_LitEndNoMeta.dcm", "SC_rgb_small_odd.dcm", "image_dfl.dcm",
        "rtplan.dcm", "MR_small_implicit.dcm",
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s%s", TF, files[i]);
        dc_record full, img;
        record_of(path, &full);
        dc_record_init(&img);
        dc_record_image_fields(&DS, &img);
        assert_string_equal(img.ts_uid, full.ts_uid);
        assert_int_equal(img.rows, full.rows);
        assert_int_equal(img.cols, full.cols);
        assert_int_equal(img.samples, full.samples);
        assert_int_equal(img.bits_alloc, full.bits_alloc);
        assert_int_equal(img.bits_stored, full.bits_stored);
        assert_int_equal(img.pixel_rep, full.pixel_rep);
        assert_int_equal(img.planar, full.planar);
        assert_int_equal(img.frames, full.frames);
        assert_int_equal(img.pixel_kind, full.pixel_kind);
        dc_record_free(&img);
        dc_record_free(&full);
    }
    /* not trivially equal: the files differ in what is compared */
    dc_record a, b;
    record_of(TF "rtdose.dcm", &a);
    dc_record_init(&b);
    dc_record_image_fields(&DS, &b);
    assert_int_equal(b.frames, 15);
    assert_string_equal(b.ts_uid, "1.2.840.10008.1.2");
    dc_record_free(&a);
    dc_record_free(&b);
}

/* Scan ID parts (UIDs, modality): '/' and bytes that are not UTF-8 become
 * '_' wherever they are (first 8-byte word, later words, the tail); valid
 * UTF-8 and plain ASCII stay as they are */
static void test_id_characters(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[][4] = {
        {{"1.2/3.4.5.6.7.8.9/10", "1.2_3.4.5.6.7.8.9_10"},
         {"12345678901234567/", "12345678901234567_"},
         {"ABCDEFGH\xc3\xa9XY", "ABCDEFGH\xc3\xa9XY"},
         {"ABCDEFGHIJK\xff", "ABCDEFGHIJK_"}},
        {{"1.2.3.4.5.6.7.8.9.10.11 ", "1.2.3.4.5.6.7.8.9.10.11"},
         {"1.2/3.4.5.6.7.8.9.10", "1.2_3.4.5.6.7.8.9.10"}, /* only in the first word */
         {"\xff" "1234567", "_1234567"}, /* a whole word, no tail */
         {"CT", "CT"}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        fb f;
        memset(&f, 0, sizeof f);
        f.n = 128;
        put(&f, "DICM", 4);
        el(&f, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1 ");
        el(&f, 0x0008, 0x0018, "UI", cases[k][0].in);
        el(&f, 0x0008, 0x0060, "CS", cases[k][3].in);
        el(&f, 0x0020, 0x000D, "UI", cases[k][2].in);
        el(&f, 0x0020, 0x000E, "UI", cases[k][1].in);
        assert_int_equal(dc_parse_memory(f.b, f.n, NULL, &DS, ERR, sizeof ERR), DC_PARSE_OK);
        dc_record r;
        dc_record_init(&r);
        dc_record_from_dataset(&DS, &r);
        assert_string_equal(r.sop_uid, cases[k][0].want);
        assert_string_equal(r.series_uid, cases[k][1].want);
        assert_string_equal(r.study_uid, cases[k][2].want);
        assert_string_equal(r.modality, cases[k][3].want);
        dc_record_free(&r);
    }
}

static void test_frame_bytes(void **state)
{
    (void)state;
    dc_record r;
    dc_record_init(&r);
    r.rows = 3;
    r.cols = 5;
    r.samples = 0; /* absent counts as 1 */
    r.bits_alloc = 1;
    assert_int_equal(dc_record_frame_bytes(&r), 15); /* 1 bit unpacked to bytes */
    r.bits_alloc = 12;
    assert_int_equal(dc_record_frame_bytes(&r), 30);
    r.bits_alloc = 32;
    r.samples = 3;
    assert_int_equal(dc_record_frame_bytes(&r), 180);
    r.pixel_kind = DC_PIX_DOUBLE;
    assert_int_equal(dc_record_frame_bytes(&r), 360);
}

/* ---- pack / unpack ---- */

static void assert_same_record(const dc_record *a, const dc_record *b)
{
    dc_record x = *b;
    x.frame_geom = a->frame_geom;
    x.refs = a->refs;
    assert_memory_equal(a, &x, sizeof x);
    if (a->refs || b->refs) assert_string_equal(a->refs, b->refs);
    if (a->n_frame_geom)
        assert_memory_equal(a->frame_geom, b->frame_geom, a->n_frame_geom * sizeof *a->frame_geom);
}

static void test_pack_roundtrip(void **state)
{
    (void)state;
    fb f;
    build_enhanced(&f, "3 ");
    assert_int_equal(dc_parse_memory(f.b, f.n, NULL, &DS, ERR, sizeof ERR), DC_PARSE_OK);
    dc_record a[2];
    dc_record_init(&a[0]);
    dc_record_from_dataset(&DS, &a[0]);
    a[0].file_idx = 123456;
    a[0].scope = 3;
    a[0].col_sig = 0x0123456789ABCDEFull;
    a[0].has_temporal = 1;
    a[0].temporal = -7;
    a[0].ipp[1] = -0.1; /* exact doubles */
    a[0].refs = dc_strdup("1.2.3\nreferenced_series\t\t1.2.3\t\t\t4\n"); /* a SEG's references */
    record_of(TF "CT_small.dcm", &a[1]);
    a[1].kind = DC_FILE_BAD;
    strcpy(a[1].reason, "truncated header at offset 12");
    dc_buf buf;
    dc_buf_init(&buf);
    dc_record_pack(&a[0], &buf);
    dc_record_pack(&a[1], &buf);
    const char *p = buf.data, *end = buf.data + buf.len;
    dc_record b[2];
    dc_record_init(&b[0]);
    dc_record_init(&b[1]);
    assert_int_equal(dc_record_unpack(&p, end, &b[0]), 0);
    assert_int_equal(dc_record_unpack(&p, end, &b[1]), 0);
    assert_ptr_equal(p, end);
    assert_same_record(&a[0], &b[0]);
    assert_same_record(&a[1], &b[1]);
    assert_string_equal(b[1].reason, "truncated header at offset 12");
    /* every truncation of the first record is rejected */
    dc_buf one;
    dc_buf_init(&one);
    dc_record_pack(&a[0], &one);
    for (size_t cut = 0; cut < one.len; cut++) {
        const char *q = one.data;
        dc_record c;
        dc_record_init(&c);
        assert_int_equal(dc_record_unpack(&q, one.data + cut, &c), -1);
        assert_ptr_equal(q, one.data);
        assert_null(c.frame_geom);
        dc_record_free(&c);
    }
    /* a frame count larger than the bytes left, and a bad magic */
    dc_buf vend; /* the vendor values come last, then the references (NULL: 4 bytes) */
    dc_buf_init(&vend);
    dc_vendor_pack(&a[0].vendor, &vend);
    size_t nfg_at = one.len - 4 - strlen(a[0].refs) - vend.len - 3 * (size_t)(3 * 8 + 6 * 8 + 2 + 4 + 4 + 8 + 8 + 1) - 4;
    dc_buf_free(&vend);
    memcpy(one.data + nfg_at, "\xFF\xFF\xFF\x7F", 4);
    const char *q = one.data;
    assert_int_equal(dc_record_unpack(&q, one.data + one.len, &b[0]), -1);
    one.data[0] ^= 1;
    q = one.data;
    assert_int_equal(dc_record_unpack(&q, one.data + one.len, &b[0]), -1);
    dc_buf_free(&one);
    dc_buf_free(&buf);
    for (int i = 0; i < 2; i++) {
        dc_record_free(&a[i]);
        dc_record_free(&b[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ct_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enhanced_multiframe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_fields, setup, teardown),
        cmocka_unit_test(test_frame_bytes),
        cmocka_unit_test_setup_teardown(test_id_characters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pack_roundtrip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
