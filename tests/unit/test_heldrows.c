/*
 * test_heldrows.c - rows held until a checkpoint (heldrows.c): texts kept
 * one after another come back byte for byte, by chunk of positions (the
 * chunks the checkpoint appends), after an unpack/rewrite/repack (what a
 * column remap does), after a clear; memory grows with the text, not by
 * doubling; and the checkpoint policy (count, time, memory bound).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_heldrows.h"
#include "dc_util.h"

/* the text of the row at position p: length varies, empty for p % 7 == 3 */
static void row_text(uint32_t p, char *buf, size_t cap, size_t *len)
{
    if (p % 7 == 3) {
        buf[0] = '\0';
        *len = 0;
        return;
    }
    int n = snprintf(buf, cap, "scan%u,%.*s\n", p, (int)(p % 97), "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
    *len = (size_t)n;
}

/* rows at every position in [0, n) of which pos % stride == rank (a rank's share) */
static void fill(dc_held_rows *h, uint32_t n, uint32_t stride, uint32_t rank)
{
    char buf[256];
    size_t len;
    for (uint32_t p = rank; p < n; p += stride) {
        row_text(p, buf, sizeof buf, &len);
        dc_held_add(h, p, buf, len);
    }
}

static void check_range(const dc_held_rows *h, uint32_t lo, uint32_t hi, uint32_t stride,
                        uint32_t rank)
{
    size_t first, last;
    dc_held_range(h, lo, hi, &first, &last);
    dc_buf *v = dc_malloc(sizeof(dc_buf) * (last - first + 1));
    dc_held_views(h, first, last, v);
    size_t k = 0;
    char want[256];
    size_t len;
    for (uint32_t p = rank; p < hi; p += stride) {
        if (p < lo) continue;
        assert_true(first + k < last);
        assert_int_equal(h->pos[first + k], p);
        row_text(p, want, sizeof want, &len);
        assert_int_equal(v[k].len, len);
        if (len) assert_memory_equal(v[k].data, want, len);
        k++;
    }
    assert_int_equal(first + k, last);
    free(v);
}

/* chunks of positions cover every row once, in order, whatever the chunk size */
static void test_chunks(void **state)
{
    (void)state;
    dc_held_rows h;
    dc_held_init(&h);
    fill(&h, 100000, 3, 1);
    assert_int_equal(h.n, 33333);
    uint32_t chunks[] = {1, 7, 1000, 32768, 100000, 200000};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        size_t seen = 0;
        for (uint32_t lo = 0; lo < 100000; lo += chunks[c]) {
            uint32_t hi = 100000 - lo < chunks[c] ? 100000 : lo + chunks[c];
            size_t first, last;
            dc_held_range(&h, lo, hi, &first, &last);
            assert_int_equal(first, seen);
            seen = last;
            if (chunks[c] >= 1000) check_range(&h, lo, hi, 3, 1);
        }
        assert_int_equal(seen, h.n);
    }
    /* a range with no row of this rank, an empty range */
    size_t first, last;
    dc_held_range(&h, 2, 4, &first, &last);
    assert_int_equal(last - first, 0);
    dc_held_range(&h, 5, 5, &first, &last);
    assert_int_equal(last - first, 0);
    dc_held_free(&h);
}

/* memory: the text's bytes plus a bounded slack (not a doubling) */
static void test_memory(void **state)
{
    (void)state;
    dc_held_rows h;
    dc_held_init(&h);
    char row[1400];
    memset(row, 'v', sizeof row);
    row[sizeof row - 1] = '\n';
    for (uint32_t p = 0; p < 50000; p++) dc_held_add(&h, p, row, sizeof row);
    size_t text = (size_t)50000 * sizeof row;
    assert_true(h.text.len == text);
    assert_true(h.text.cap >= text);
    assert_true(h.text.cap <= text + text / 8 + (1u << 20));
    assert_true(dc_held_bytes(&h) >= text);
    /* cleared: a large buffer is released, rows can be added again */
    dc_held_clear(&h);
    assert_int_equal(h.n, 0);
    assert_true(dc_held_bytes(&h) < (8u << 20));
    fill(&h, 1000, 1, 0);
    check_range(&h, 0, 1000, 1, 0);
    dc_held_free(&h);
}

/* unpack, rewrite each row (as a column remap does), repack */
static void test_unpack_repack(void **state)
{
    (void)state;
    dc_held_rows h;
    dc_held_init(&h);
    fill(&h, 5000, 2, 0);
    dc_buf *rows = dc_held_unpack(&h);
    for (size_t i = 0; i < h.n; i++) {
        if (!rows[i].len) continue;
        dc_buf out;
        dc_buf_init(&out);
        dc_buf_printf(&out, "X,%.*s", (int)rows[i].len, rows[i].data);
        dc_buf_free(&rows[i]);
        rows[i] = out;
    }
    dc_held_repack(&h, rows);
    dc_buf *v = dc_malloc(sizeof(dc_buf) * h.n);
    dc_held_views(&h, 0, h.n, v);
    char want[256];
    size_t len;
    for (size_t i = 0; i < h.n; i++) {
        row_text(h.pos[i], want, sizeof want, &len);
        if (!len) {
            assert_int_equal(v[i].len, 0);
            continue;
        }
        assert_int_equal(v[i].len, len + 2);
        assert_memory_equal(v[i].data, "X,", 2);
        assert_memory_equal(v[i].data + 2, want, len);
    }
    free(v);
    dc_held_free(&h);
}

static void test_policy(void **state)
{
    (void)state;
    dc_ckpt_policy p = {1000, 20.0, 256u << 20};
    assert_false(dc_ckpt_policy_due(&p, 0, 0, 0));
    assert_false(dc_ckpt_policy_due(&p, 999, 19.9, (256u << 20) - 1));
    assert_true(dc_ckpt_policy_due(&p, 1000, 0, 0));
    assert_true(dc_ckpt_policy_due(&p, 1, 20.0, 0));
    assert_true(dc_ckpt_policy_due(&p, 1, 0, 256u << 20));
    p.max_held_bytes = 0; /* no memory bound */
    assert_false(dc_ckpt_policy_due(&p, 1, 0, SIZE_MAX));
}

/* a row added in two pieces (fixed fields, then a kept text) reads back as
 * the same bytes as one added whole, at every split point */
static void test_two_pieces(void **state)
{
    (void)state;
    dc_held_rows whole, split;
    dc_held_init(&whole);
    dc_held_init(&split);
    char buf[256];
    size_t len;
    for (uint32_t p = 0; p < 300; p++) {
        row_text(p, buf, sizeof buf, &len);
        dc_held_add(&whole, p, buf, len);
        size_t cut = len ? p % (len + 1) : 0;
        dc_held_add2(&split, p, buf, cut, buf + cut, len - cut);
    }
    assert_int_equal(split.n, whole.n);
    assert_int_equal(split.text.len, whole.text.len);
    dc_buf a[300], b[300];
    dc_held_views(&whole, 0, whole.n, a);
    dc_held_views(&split, 0, split.n, b);
    for (size_t i = 0; i < whole.n; i++) {
        row_text((uint32_t)i, buf, sizeof buf, &len);
        assert_int_equal(b[i].len, len);
        assert_memory_equal(b[i].data, buf, len);
        assert_int_equal(a[i].len, b[i].len);
    }
    dc_held_free(&whole);
    dc_held_free(&split);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_unpack_repack),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_two_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
