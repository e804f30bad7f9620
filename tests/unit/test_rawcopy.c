/*
 * test_rawcopy.c - the raw copy fast path (dc_rawcopy.h) against the
 * decoder it short-cuts: for native files of every kind (8/16/32-bit,
 * signed or unsigned with BitsStored < BitsAllocated, big endian, RGB interleaved and
 * planar, YBR_FULL, float, 1-bit, multi-frame, truncated), either
 * dc_raw_frame_extent refuses the frame, or the bytes of its extent are
 * exactly what dc_decode_frames returns.  The cases that must take the fast
 * path take it.  dc_raw_copy is checked on files: copy_file_range and the
 * short-source failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dc_decode.h"
#include "dc_rawcopy.h"
#include "dc_record.h"
#include "dc_scan.h"

#define TS_IMPLICIT "1.2.840.10008.1.2"
#define TS_EXPLICIT "1.2.840.10008.1.2.1"
#define TS_BE "1.2.840.10008.1.2.2"

typedef struct {
    const char *ts;
    uint16_t rows, cols, samples, frames, ba, bs, pr, planar;
    const char *pi;
    int is_float;
    int truncate; /* bytes cut from the end of the file */
    int fast;     /* the fast path must be taken */
} spec;

static void put16(uint8_t **p, uint16_t v, int be)
{
    (*p)[0] = (uint8_t)(be ? v >> 8 : v);
    (*p)[1] = (uint8_t)(be ? v : v >> 8);
    *p += 2;
}

static void put32(uint8_t **p, uint32_t v, int be)
{
    for (int i = 0; i < 4; i++) (*p)[i] = (uint8_t)(v >> (be ? 24 - 8 * i : 8 * i));
    *p += 4;
}

/* explicit VR element (be: big endian) with a short or long length */
static void el(uint8_t **p, uint16_t g, uint16_t e, const char *vr, const void *v, uint32_t n, int be)
{
    put16(p, g, be);
    put16(p, e, be);
    (*p)[0] = (uint8_t)vr[0];
    (*p)[1] = (uint8_t)vr[1];
    *p += 2;
    int longlen = !strcmp(vr, "OB") || !strcmp(vr, "OW") || !strcmp(vr, "OF") || !strcmp(vr, "UN");
    if (longlen) {
        put16(p, 0, be);
        put32(p, n, be);
    } else {
        put16(p, (uint16_t)n, be);
    }
    memcpy(*p, v, n);
    *p += n;
}

static void el_us(uint8_t **p, uint16_t e, uint16_t v, int be)
{
    uint8_t b[2] = {(uint8_t)(be ? v >> 8 : v), (uint8_t)(be ? v : v >> 8)};
    el(p, 0x0028, e, "US", b, 2, be);
}

static void el_str(uint8_t **p, uint16_t g, uint16_t e, const char *vr, const char *s, int be)
{
    char b[80];
    size_t n = strlen(s);
    memcpy(b, s, n);
    if (n & 1) b[n++] = strcmp(vr, "UI") ? ' ' : '\0';
    el(p, g, e, vr, b, (uint32_t)n, be);
}

/* implicit VR little endian element */
static void iel(uint8_t **p, uint16_t g, uint16_t e, const void *v, uint32_t n)
{
    put16(p, g, 0);
    put16(p, e, 0);
    put32(p, n, 0);
    memcpy(*p, v, n);
    *p += n;
}

static size_t pixel_bytes(const spec *s)
{
    if (s->ba == 1) return ((size_t)s->rows * s->cols * s->frames + 7) / 8;
    return (size_t)s->rows * s->cols * s->samples * s->frames * (s->ba / 8);
}

/* writes the file, returns its path (static buffer) */
static const char *write_file(const spec *s)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_rawcopy_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t npix = pixel_bytes(s);
    uint8_t *buf = calloc(1, 1024 + npix), *p = buf + 128;
    memcpy(p, "DICM", 4);
    p += 4;
    el_str(&p, 0x0002, 0x0010, "UI", s->ts, 0);
    int be = !strcmp(s->ts, TS_BE), implicit = !strcmp(s->ts, TS_IMPLICIT);
    uint8_t *px = malloc(npix ? npix : 1);
    for (size_t i = 0; i < npix; i++) px[i] = (uint8_t)(i * 7 + (i >> 8) * 13 + 0x80); /* every bit set somewhere */
    uint16_t vals[] = {s->samples, s->planar, s->rows, s->cols, s->ba, s->bs, (uint16_t)(s->bs - 1), s->pr};
    uint16_t tags[] = {0x0002, 0x0006, 0x0010, 0x0011, 0x0100, 0x0101, 0x0102, 0x0103};
    char frames[16];
    snprintf(frames, sizeof frames, "%u", (unsigned)s->frames);
    if (implicit) {
        char pi[20];
        size_t n = strlen(s->pi);
        memcpy(pi, s->pi, n);
        if (n & 1) pi[n++] = ' ';
        uint8_t v[2];
        v[0] = (uint8_t)s->samples;
        v[1] = 0;
        iel(&p, 0x0028, 0x0002, v, 2);
        iel(&p, 0x0028, 0x0004, pi, (uint32_t)n);
        if (s->samples > 1) {
            v[0] = (uint8_t)s->planar;
            iel(&p, 0x0028, 0x0006, v, 2);
        }
        size_t fn = strlen(frames);
        if (fn & 1) frames[fn++] = ' ';
        if (s->frames > 1) iel(&p, 0x0028, 0x0008, frames, (uint32_t)fn);
        for (int i = 2; i < 8; i++) {
            uint8_t b[2] = {(uint8_t)vals[i], (uint8_t)(vals[i] >> 8)};
            iel(&p, 0x0028, tags[i], b, 2);
        }
        iel(&p, 0x7FE0, s->is_float ? 0x0008 : 0x0010, px, (uint32_t)npix);
    } else {
        el_us(&p, 0x0002, s->samples, be);
        el_str(&p, 0x0028, 0x0004, "CS", s->pi, be);
        if (s->samples > 1) el_us(&p, 0x0006, s->planar, be);
        if (s->frames > 1) el_str(&p, 0x0028, 0x0008, "IS", frames, be);
        for (int i = 2; i < 8; i++) el_us(&p, tags[i], vals[i], be);
        el(&p, 0x7FE0, s->is_float ? 0x0008 : 0x0010, s->is_float ? "OF" : (s->ba > 8 ? "OW" : "OB"), px,
           (uint32_t)npix, be);
    }
    size_t len = (size_t)(p - buf) - (size_t)s->truncate;
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    close(fd);
    free(px);
    free(buf);
    return path;
}

static void check(const spec *s)
{
    const char *path = write_file(s);
    dc_parse_opts po;
    dc_parse_opts_default(&po);
    po.keep_open = 1;
    dc_dataset ds;
    dc_dataset_init(&ds);
    char err[DC_ERRLEN] = "";
    assert_int_equal(dc_parse_file(path, &po, &ds, err, sizeof err), DC_PARSE_OK);
    dc_record rec;
    dc_record_init(&rec);
    dc_record_from_dataset(&ds, &rec);
    dc_pixel_desc pd;
    dc_pixel_desc_from_record(&rec, &pd);
    int dtype = dc_output_dtype(&pd, 0);
    size_t frame = (size_t)dc_pixel_frame_values(&pd) * (size_t)dc_dtype_size(dtype);
    uint8_t *want = malloc(frame + 1), *got = malloc(frame + 1);
    int taken = 0;
    for (uint32_t f = 0; f < pd.frames; f++) {
        uint64_t off = 0, len = 0;
        int fast = dc_raw_frame_extent(&ds, &pd, f, dtype, &off, &len) == 0;
        int dec = dc_decode_frames(&ds, &pd, f, 1, dtype, 1.0, 0.0, want, err, sizeof err);
        if (!fast) continue;
        taken++;
        /* the fast path only where decoding succeeds, with the same bytes */
        assert_int_equal(dec, 0);
        assert_int_equal(len, frame);
        assert_int_equal(pread(ds.fd, got, len, (off_t)off), (ssize_t)len);
        assert_memory_equal(got, want, frame);
        /* a rescaled or widened output is never a raw copy */
        assert_int_not_equal(dc_raw_frame_extent(&ds, &pd, f, DC_DT_F32, &off, &len) == 0 &&
                                 dtype != DC_DT_F32,
                             1);
    }
    if (s->fast)
        assert_int_equal(taken, (int)pd.frames);
    else
        assert_int_equal(taken, 0);
    free(want);
    free(got);
    dc_record_free(&rec);
    dc_dataset_free(&ds);
    unlink(path);
}

static void test_native_kinds(void **state)
{
    (void)state;
    static const spec cases[] = {
        /* ts, rows, cols, samples, frames, ba, bs, pr, planar, pi, float, trunc, fast */
        {TS_EXPLICIT, 16, 12, 1, 1, 16, 16, 0, 0, "MONOCHROME2", 0, 0, 1},
        {TS_EXPLICIT, 16, 12, 1, 1, 16, 12, 0, 0, "MONOCHROME2", 0, 0, 0}, /* unsigned: masked */
        {TS_EXPLICIT, 16, 12, 1, 1, 16, 16, 1, 0, "MONOCHROME2", 0, 0, 1},
        {TS_EXPLICIT, 16, 12, 1, 1, 16, 12, 1, 0, "MONOCHROME2", 0, 0, 0}, /* sign extension */
        {TS_IMPLICIT, 16, 12, 1, 1, 16, 16, 1, 0, "MONOCHROME2", 0, 0, 1},
        {TS_IMPLICIT, 16, 12, 1, 3, 8, 8, 0, 0, "MONOCHROME1", 0, 0, 1}, /* multi-frame */
        {TS_EXPLICIT, 16, 12, 1, 4, 16, 16, 0, 0, "MONOCHROME2", 0, 0, 1},
        {TS_EXPLICIT, 16, 12, 1, 1, 32, 32, 1, 0, "MONOCHROME2", 0, 0, 1},
        {TS_EXPLICIT, 16, 12, 1, 1, 32, 20, 1, 0, "MONOCHROME2", 0, 0, 0},
        {TS_EXPLICIT, 16, 12, 1, 1, 8, 7, 1, 0, "MONOCHROME2", 0, 0, 0},
        {TS_EXPLICIT, 16, 12, 3, 2, 8, 8, 0, 0, "RGB", 0, 0, 1},
        {TS_EXPLICIT, 16, 12, 3, 1, 8, 8, 0, 1, "RGB", 0, 0, 0},           /* planar */
        {TS_EXPLICIT, 16, 12, 3, 1, 8, 8, 0, 0, "YBR_FULL", 0, 0, 0},      /* to RGB */
        {TS_EXPLICIT, 16, 12, 3, 1, 8, 8, 0, 0, "YBR_FULL_422", 0, 0, 0},
        {TS_BE, 16, 12, 1, 1, 16, 16, 0, 0, "MONOCHROME2", 0, 0, 0},       /* byte swap */
        {TS_EXPLICIT, 16, 16, 1, 1, 1, 1, 0, 0, "MONOCHROME2", 0, 0, 0},   /* 1 bit */
        {TS_EXPLICIT, 16, 12, 1, 1, 32, 32, 0, 0, "MONOCHROME2", 1, 0, 1}, /* float */
        {TS_EXPLICIT, 16, 12, 1, 2, 16, 16, 0, 0, "MONOCHROME2", 0, 100, 0}, /* truncated */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case %zu: %s %u-bit stored %u pr %u samples %u planar %u %s\n", i, cases[i].ts,
                      cases[i].ba, cases[i].bs, cases[i].pr, cases[i].samples, cases[i].planar,
                      cases[i].pi);
        check(&cases[i]);
    }
}

static void test_copy(void **state)
{
    (void)state;
    char a[] = "/tmp/test_rawcopy_src_XXXXXX", b[] = "/tmp/test_rawcopy_dst_XXXXXX";
    int fa = mkstemp(a), fb = mkstemp(b);
    assert_true(fa >= 0 && fb >= 0);
    uint8_t data[70000], back[70000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 31 + 7);
    assert_int_equal(write(fa, data, sizeof data), (ssize_t)sizeof data);
    /* 60000 bytes from offset 1000 to offset 5000; the file offsets do not move */
    assert_int_equal(dc_raw_copy(fa, 1000, fb, 5000, 60000), 0);
    dc_raw_writeback(fb, 5000, 60000);
    assert_int_equal(pread(fb, back, 60000, 5000), 60000);
    assert_memory_equal(back, data + 1000, 60000);
    assert_int_equal(lseek(fb, 0, SEEK_CUR), 0);
    /* the source ends early: failure */
    assert_int_equal(dc_raw_copy(fa, 69000, fb, 0, 2000), -1);
    /* dc_pwrite_all (decoded frames, buffered fallback): at its offset, offset unmoved */
    assert_int_equal(dc_pwrite_all(fb, data + 3, 1234, 40000), 0);
    assert_int_equal(pread(fb, back, 1234, 40000), 1234);
    assert_memory_equal(back, data + 3, 1234);
    assert_int_equal(lseek(fb, 0, SEEK_CUR), 0);
    assert_int_equal(dc_pwrite_all(-1, data, 10, 0), -1);
    close(fa);
    close(fb);
    unlink(a);
    unlink(b);
}

static void test_file_helpers(void **state)
{
    (void)state;
    const char *cases[][2] = {{"out/pixel_data_x.h5", "out"}, {"a/b/c", "a/b"}, {"name", "."},
                              {"/top", "/"},                   {"/x/y", "/x"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *d = dc_dir_of(cases[i][0]);
        assert_string_equal(d, cases[i][1]);
        free(d);
    }
    assert_int_equal(dc_fsync_path("/tmp", 1), 0);
    assert_int_equal(dc_fsync_dir_of("/tmp/anything"), 0);
    assert_int_equal(dc_fsync_path("/nonexistent/dir", 1), -1);
    char note[80];
    dc_free_space_note("/tmp/x", note, sizeof note);
    assert_non_null(strstr(note, " KiB free on its file system)"));
    dc_free_space_note("/nonexistent/dir/x", note, sizeof note);
    assert_string_equal(note, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_kinds),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_file_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
