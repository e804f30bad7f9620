/*
 * test_wire.c - the one serialiser (dc_wire.h): fixed little-endian bytes
 * whatever the host, round trips of every kind, and a reader that turns bad
 * (never reads past the end) on truncated or malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_wire.h"

static void test_bytes(void **state)
{
    (void)state;
    dc_buf b;
    dc_buf_init(&b);
    dc_wire_put_u(&b, 0x01020304u, 4);
    dc_wire_put_u(&b, 0x0102030405060708ull, 8);
    dc_wire_put_f64(&b, 1.0); /* 0x3FF0000000000000 */
    const uint32_t u32[2] = {0x0A0B0C0Du, 1};
    const uint64_t u64[1] = {0x1112131415161718ull};
    const double f[1] = {-2.0}; /* 0xC000000000000000 */
    dc_wire_put_u32s(&b, u32, 2);
    dc_wire_put_u64s(&b, u64, 1);
    dc_wire_put_f64s(&b, f, 1);
    dc_wire_put_u(&b, 0x0102, 2);
    const uint8_t want[] = {4, 3, 2, 1, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F,
                            0x0D, 0x0C, 0x0B, 0x0A, 1, 0, 0, 0, 0x18, 0x17, 0x16, 0x15, 0x14,
                            0x13, 0x12, 0x11, 0, 0, 0, 0, 0, 0, 0, 0xC0, 2, 1};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    assert_int_equal(b.data[b.len], '\0'); /* a dc_buf stays terminated */
    dc_wire_rd r = dc_wire_reader(b.data, b.data + b.len);
    assert_int_equal(dc_wire_get_u(&r, 4), 0x01020304u);
    assert_true(dc_wire_get_u(&r, 8) == 0x0102030405060708ull);
    assert_true(dc_wire_get_f64(&r) == 1.0);
    assert_int_equal(dc_wire_get_u(&r, 4), 0x0A0B0C0Du);
    assert_int_equal(dc_wire_get_u(&r, 4), 1);
    assert_true(dc_wire_get_u(&r, 8) == 0x1112131415161718ull);
    assert_true(dc_wire_get_f64(&r) == -2.0);
    assert_int_equal(dc_wire_get_u(&r, 2), 0x0102);
    assert_false(r.bad);
    assert_true(r.p == r.end);
    dc_buf_free(&b);
}

static void test_round_trip(void **state)
{
    (void)state;
    dc_buf b;
    dc_buf_init(&b);
    uint32_t u32[3] = {0, 7, UINT32_MAX};
    uint64_t u64[2] = {1ull << 40, UINT64_MAX};
    double f[3] = {-0.0, 1e-300, 3.25};
    dc_wire_put_cstr(&b, "caf\xc3\xa9");
    dc_wire_put_lstr(&b, NULL);
    dc_wire_put_lstr(&b, "");
    dc_wire_put_lstr(&b, "abc");
    dc_wire_put_u32s(&b, u32, 3);
    dc_wire_put_u64s(&b, u64, 2);
    dc_wire_put_f64s(&b, f, 3);
    dc_wire_put_bytes(&b, "xy\0", 3);
    dc_wire_rd r = dc_wire_reader(b.data, b.data + b.len);
    char *s1 = dc_wire_get_cstr(&r), *s2 = dc_wire_get_lstr(&r), *s3 = dc_wire_get_lstr(&r),
         *s4 = dc_wire_get_lstr(&r);
    uint32_t g32[3];
    uint64_t g64[2];
    double gf[3];
    char raw[3];
    dc_wire_get_u32s(&r, g32, 3);
    dc_wire_get_u64s(&r, g64, 2);
    dc_wire_get_f64s(&r, gf, 3);
    dc_wire_get_bytes(&r, raw, 3);
    assert_false(r.bad);
    assert_true(r.p == r.end);
    assert_string_equal(s1, "caf\xc3\xa9");
    assert_null(s2);
    assert_string_equal(s3, "");
    assert_string_equal(s4, "abc");
    assert_memory_equal(g32, u32, sizeof u32);
    assert_memory_equal(g64, u64, sizeof u64);
    assert_memory_equal(gf, f, sizeof f);
    assert_memory_equal(raw, "xy\0", 3);
    free(s1);
    free(s3);
    free(s4);
    /* every truncation turns the reader bad instead of reading on */
    for (size_t cut = 0; cut < b.len; cut++) {
        dc_wire_rd t = dc_wire_reader(b.data, b.data + cut);
        free(dc_wire_get_cstr(&t));
        free(dc_wire_get_lstr(&t));
        free(dc_wire_get_lstr(&t));
        free(dc_wire_get_lstr(&t));
        dc_wire_get_u32s(&t, g32, 3);
        dc_wire_get_u64s(&t, g64, 2);
        dc_wire_get_f64s(&t, gf, 3);
        dc_wire_get_bytes(&t, raw, 3);
        if (!t.bad) fail_msg("cut at %zu of %zu not noticed", cut, b.len);
        assert_true(t.p <= t.end);
    }
    dc_buf_free(&b);
}

static void test_malformed(void **state)
{
    (void)state;
    /* an lstr whose length runs past the end, one with a NUL inside, a cstr without NUL */
    const char a[] = {5, 0, 0, 0, 'a', 'b'};
    dc_wire_rd r = dc_wire_reader(a, a + sizeof a);
    assert_null(dc_wire_get_lstr(&r));
    assert_true(r.bad);
    const char n[] = {2, 0, 0, 0, 'a', '\0'};
    r = dc_wire_reader(n, n + sizeof n);
    assert_null(dc_wire_get_lstr(&r));
    assert_true(r.bad);
    const char c[] = {'a', 'b'};
    r = dc_wire_reader(c, c + sizeof c);
    assert_null(dc_wire_get_cstr(&r));
    assert_true(r.bad);
}

/* sections: the length in front is the bytes written inside; a reader
 * can read a section or skip it and goes on after it either way; a length
 * beyond the end turns the reader bad */
static void test_sections(void **state)
{
    (void)state;
    dc_buf b;
    dc_buf_init(&b);
    dc_wire_put_u(&b, 7, 4);
    size_t at = dc_wire_begin_section(&b);
    dc_wire_put_cstr(&b, "inside");
    dc_wire_put_u(&b, 0x0102030405060708ull, 8);
    dc_wire_end_section(&b, at);
    size_t empty = dc_wire_begin_section(&b);
    dc_wire_end_section(&b, empty);
    dc_wire_put_u(&b, 9, 4);
    assert_int_equal(b.len, 4 + 8 + 7 + 8 + 8 + 4);
    assert_int_equal((uint8_t)b.data[4], 15); /* "inside\0" + 8 bytes, u64 LE */
    for (int k = 1; k < 8; k++) assert_int_equal((uint8_t)b.data[4 + k], 0);

    for (int skip = 0; skip < 2; skip++) {
        dc_wire_rd r = dc_wire_reader(b.data, b.data + b.len);
        assert_int_equal(dc_wire_get_u(&r, 4), 7);
        dc_wire_rd s = dc_wire_get_section(&r);
        if (!skip) {
            char *str = dc_wire_get_cstr(&s);
            assert_string_equal(str, "inside");
            free(str);
            assert_true(dc_wire_get_u(&s, 8) == 0x0102030405060708ull);
            assert_ptr_equal(s.p, s.end);
            assert_false(s.bad);
            dc_wire_get_u(&s, 1); /* nothing more inside */
            assert_true(s.bad);
        }
        dc_wire_rd e = dc_wire_get_section(&r);
        assert_ptr_equal(e.p, e.end);
        assert_int_equal(dc_wire_get_u(&r, 4), 9);
        assert_false(r.bad);
    }

    /* truncated: the section claims more than is left */
    dc_wire_rd t = dc_wire_reader(b.data, b.data + 4 + 8 + 10);
    dc_wire_get_u(&t, 4);
    dc_wire_rd bad = dc_wire_get_section(&t);
    assert_true(t.bad);
    assert_true(bad.bad);
    assert_int_equal(dc_wire_get_u(&bad, 1), 0);
    dc_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
