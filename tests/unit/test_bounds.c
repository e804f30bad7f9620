/*
 * test_bounds.c - issue 6 bounds, checked before anything is allocated:
 * dc_pixel_check_size (declared Rows x Columns x samples x bytes x frames
 * against run.max_image_bytes and, for native transfer syntaxes, against the
 * file size; no overflow at the extremes of every field) and dc_stack_scan's
 * use of it (a file or a whole stack beyond the ceiling becomes an unreadable
 * scan with that reason, only when writing pixel data; rescale to float32
 * counts the stored bytes); deflated datasets inflate at most to the limit
 * a crawl sets from run.max_image_bytes (a 2 KiB file must not become
 * gigabytes).  Exact reasons.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "dc_config.h"
#include "dc_decode.h"
#include "dc_scan.h"

static dc_pixel_desc desc(uint32_t rows, uint32_t cols, uint32_t samples, uint16_t bits,
                          uint32_t frames, const char *ts)
{
    dc_pixel_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.rows = rows;
    pd.cols = cols;
    pd.samples = samples;
    pd.bits_alloc = pd.bits_stored = bits;
    pd.frames = frames;
    pd.pixel_kind = DC_PIX_INT;
    snprintf(pd.photometric, sizeof pd.photometric, "%s", samples == 3 ? "RGB" : "MONOCHROME2");
    snprintf(pd.ts_uid, sizeof pd.ts_uid, "%s", ts);
    return pd;
}

static void expect_ok(const dc_pixel_desc *pd, uint64_t file_size, uint64_t max)
{
    char why[DC_ERRLEN] = "";
    if (dc_pixel_check_size(pd, file_size, max, why, sizeof why) != 0)
        fail_msg("refused: %s", why);
}

static void expect_refused(const dc_pixel_desc *pd, uint64_t file_size, uint64_t max,
                           const char *want)
{
    char why[DC_ERRLEN] = "";
    assert_int_equal(dc_pixel_check_size(pd, file_size, max, why, sizeof why), -1);
    assert_string_equal(why, want);
}

#define LE "1.2.840.10008.1.2.1"
#define J2K "1.2.840.10008.1.2.4.90"
#define RLE "1.2.840.10008.1.2.5"

static void test_ceiling(void **state)
{
    (void)state;
    dc_pixel_desc pd = desc(512, 512, 1, 16, 1, LE);
    expect_ok(&pd, 600000, 0);              /* 512 KiB, default ceiling */
    expect_ok(&pd, 600000, 512 * 512 * 2);  /* exactly at the ceiling */
    expect_refused(&pd, 600000, 512 * 512 * 2 - 1,
                   "image of 524288 bytes (512 x 512 x 1 frames) exceeds run.max_image_bytes "
                   "(524287)");
    /* the largest declarable image: 65535 x 65535 x 65535 samples x 4 bytes x 2^32-1 frames */
    pd = desc(65535, 65535, 65535, 32, UINT32_MAX, J2K);
    expect_refused(&pd, 1000, 0,
                   "image of more than 18446744073709551615 bytes (65535 x 65535 x 4294967295 frames) "
                   "exceeds run.max_image_bytes (4294967296)");
    /* many small frames: the product, not one frame, is bounded */
    pd = desc(64, 64, 1, 8, 300000, J2K);
    expect_refused(&pd, 1u << 30, 1u << 30,
                   "image of 1228800000 bytes (64 x 64 x 300000 frames) exceeds "
                   "run.max_image_bytes (1073741824)");
    pd = desc(64, 64, 1, 8, 262144, J2K);
    expect_ok(&pd, 100, 1u << 30); /* compressed: only the ceiling; 2^30 exactly */
    /* sizes decoding refuses on its own are left to it */
    pd = desc(0, 512, 1, 16, 1, LE);
    expect_ok(&pd, 10, 1024);
    pd = desc(512, 512, 1, 12, 1, LE);
    expect_ok(&pd, 10, 1024);
}

static void test_native_fits_file(void **state)
{
    (void)state;
    dc_pixel_desc pd = desc(512, 512, 1, 16, 3, LE);
    expect_ok(&pd, 3 * 524288, 0);
    expect_refused(&pd, 3 * 524288 - 1, 0,
                   "truncated pixel data: 512 x 512 x 3 frames need 1572864 bytes, the file has "
                   "1572863");
    /* implicit VR (no transfer syntax in the record), big endian, deflated: native too */
    const char *native[] = {"", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", LE};
    for (size_t i = 0; i < 4; i++) {
        pd = desc(100, 100, 3, 8, 1, native[i]);
        expect_refused(&pd, 29999, 0,
                       "truncated pixel data: 100 x 100 x 1 frames need 30000 bytes, the file has "
                       "29999");
    }
    /* 1-bit frames are packed: 10 x 10 x 5 frames = 500 bits = 63 bytes */
    pd = desc(10, 10, 1, 1, 5, LE);
    expect_ok(&pd, 63, 0);
    expect_refused(&pd, 62, 0,
                   "truncated pixel data: 10 x 10 x 5 frames need 63 bytes, the file has 62");
    /* YBR_FULL_422 stores 2 bytes per pixel */
    pd = desc(4, 4, 3, 8, 1, LE);
    snprintf(pd.photometric, sizeof pd.photometric, "YBR_FULL_422");
    expect_ok(&pd, 32, 0);
    expect_refused(&pd, 31, 0, "truncated pixel data: 4 x 4 x 1 frames need 32 bytes, the file has 31");
    /* compressed data can be much smaller than the image, deflated datasets too */
    pd = desc(4096, 4096, 1, 16, 1, RLE);
    expect_ok(&pd, 2000, 0);
    pd = desc(512, 512, 1, 16, 1, "1.2.840.10008.1.2.1.99");
    expect_ok(&pd, 4637, 0);
}

/* ---- through dc_stack_scan ---- */

static dc_record R[4];
static const char *P[4] = {"f/a.dcm", "f/b.dcm", "f/c.dcm", "f/d.dcm"};

static void make_recs(uint16_t rows, uint16_t cols, uint64_t file_size)
{
    for (uint32_t i = 0; i < 4; i++) {
        dc_record *r = &R[i];
        dc_record_free(r);
        dc_record_init(r);
        r->file_idx = i;
        r->kind = DC_FILE_DICOM;
        snprintf(r->series_uid, sizeof r->series_uid, "1.2.3");
        snprintf(r->sop_uid, sizeof r->sop_uid, "1.2.3.%u", i);
        snprintf(r->photometric, sizeof r->photometric, "MONOCHROME2");
        snprintf(r->ts_uid, sizeof r->ts_uid, LE);
        r->rows = rows;
        r->cols = cols;
        r->samples = 1;
        r->bits_alloc = r->bits_stored = 16;
        r->high_bit = 15;
        r->pixel_kind = DC_PIX_INT;
        r->has_ipp = 1;
        r->ipp[2] = i;
        r->has_iop = 1;
        r->iop[0] = r->iop[4] = 1;
        r->file_size = file_size;
    }
}

static void stack_of(dc_scan *s, uint32_t n, const dc_group_opts *o)
{
    memset(s, 0, sizeof *s);
    s->slice_rec = malloc(n * sizeof *s->slice_rec);
    for (uint32_t i = 0; i < n; i++) s->slice_rec[i] = i;
    s->n_slices = n;
    assert_int_equal(dc_stack_scan(R, P, o, s), 0);
}

static void test_stack_scans(void **state)
{
    (void)state;
    dc_group_opts o = {1, 1, DC_ORDER_POSITION, DC_LAYOUT_ZYX, 0, 1, 3000, DC_PHILIPS_DISPLAY};
    dc_scan s;
    /* 4 slices of 20 x 20 x 2 = 800 bytes: 3200 > 3000 for the stack, each file fits */
    make_recs(20, 20, 1000);
    stack_of(&s, 4, &o);
    assert_int_equal(s.unreadable, 1);
    assert_string_equal(s.reason, "image of 3200 bytes (4 slices) exceeds run.max_image_bytes (3000)");
    assert_int_equal(s.n_files, 4);
    assert_int_equal(s.cost, 0);
    dc_scan_free(&s);
    stack_of(&s, 3, &o); /* 2400: stored */
    assert_int_equal(s.unreadable, 0);
    assert_int_equal(s.dims[0], 3);
    dc_scan_free(&s);
    /* rescale stores float32: 3 x 400 x 4 = 4800 */
    o.rescale = 1;
    stack_of(&s, 3, &o);
    assert_int_equal(s.unreadable, 1);
    assert_string_equal(s.reason, "image of 4800 bytes (3 slices) exceeds run.max_image_bytes (3000)");
    dc_scan_free(&s);
    o.rescale = 0;
    /* one slice whose native frame cannot be in its file makes the stack unreadable */
    R[2].file_size = 700;
    stack_of(&s, 3, &o);
    assert_int_equal(s.unreadable, 1);
    assert_string_equal(s.reason,
                        "truncated pixel data: 20 x 20 x 1 frames need 800 bytes, the file has 700");
    dc_scan_free(&s);
    /* metadata only: nothing is decoded, nothing refused */
    o.write_pixeldata = 0;
    stack_of(&s, 4, &o);
    assert_int_equal(s.unreadable, 0);
    dc_scan_free(&s);
    /* per-file scan of a huge declared image, default ceiling */
    dc_group_opts pf = {0, 1, DC_ORDER_POSITION, DC_LAYOUT_ZYX, 0, 1, 0, DC_PHILIPS_DISPLAY};
    make_recs(65535, 65535, 1u << 20);
    R[0].frames = 2;
    snprintf(R[0].ts_uid, sizeof R[0].ts_uid, J2K);
    stack_of(&s, 1, &pf);
    assert_int_equal(s.unreadable, 1);
    assert_string_equal(s.reason, "image of 17179344900 bytes (65535 x 65535 x 2 frames) exceeds "
                                  "run.max_image_bytes (4294967296)");
    dc_scan_free(&s);
    for (int i = 0; i < 4; i++) dc_record_free(&R[i]);
}

/* a deflated explicit VR little endian file whose dataset is an OB of n zeros */
static size_t deflated_file(uint8_t *out, size_t cap, uint32_t n)
{
    static const uint8_t meta[] = {0x02, 0x00, 0x10, 0x00, 'U', 'I', 22, 0,  '1', '.', '2', '.',
                                   '8',  '4',  '0',  '.',  '1', '0', '0', '0', '8', '.', '1', '.',
                                   '2',  '.',  '1',  '.',  '9', '9'};
    size_t k = 128;
    memset(out, 0, 128);
    memcpy(out + k, "DICM", 4);
    k += 4;
    memcpy(out + k, meta, sizeof meta);
    k += sizeof meta;
    uint8_t head[12] = {0x09, 0x00, 0x10, 0x10, 'O', 'B', 0, 0};
    memcpy(head + 8, &n, 4);
    uint8_t *plain = calloc(1, sizeof head + n);
    memcpy(plain, head, sizeof head);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = plain;
    z.avail_in = (uInt)(sizeof head + n);
    z.next_out = out + k;
    z.avail_out = (uInt)(cap - k);
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    k += z.total_out;
    deflateEnd(&z);
    free(plain);
    return k;
}

static void test_inflate_limit(void **state)
{
    (void)state;
    static uint8_t file[64 << 10];
    size_t n = deflated_file(file, sizeof file, 2u << 20); /* 2 MiB of zeros in a few KiB */
    assert_true(n < 8192);
    dc_dataset ds;
    dc_dataset_init(&ds);
    char err[DC_ERRLEN] = "";
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    assert_true(o.max_inflated_bytes == (4ull << 30) + (256u << 20));
    assert_int_equal(dc_parse_memory(file, n, &o, &ds, err, sizeof err), DC_PARSE_OK);
    dc_dataset_free(&ds);
    dc_parse_set_inflate_limit(1u << 20);
    dc_parse_opts_default(&o);
    assert_int_equal(dc_parse_memory(file, n, &o, &ds, err, sizeof err), DC_PARSE_ERROR);
    assert_string_equal(err, "deflated dataset inflates to more than 1048576 bytes");
    assert_true(ds.buf_len <= (1u << 20) + 4096); /* it stopped at the limit */
    dc_parse_set_inflate_limit(0);
    dc_parse_opts_default(&o);
    assert_int_equal(dc_parse_memory(file, n, &o, &ds, err, sizeof err), DC_PARSE_OK);
    dc_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ceiling),
        cmocka_unit_test(test_native_fits_file),
        cmocka_unit_test(test_stack_scans),
        cmocka_unit_test(test_inflate_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
