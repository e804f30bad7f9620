/*
 * test_util.c - dc_copy_str (snprintf "%.*s" without the format) and dc_sort
 * (qsort, skipped for input already in order) against their references.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_util.h"

/* every (cap, max) over a few sources: the same bytes as snprintf writes */
static void test_copy_str(void **state)
{
    (void)state;
    const char *src[] = {"", "a", "CT", "1.2.840.10008.1.2.1", "MONOCHROME2"};
    for (size_t s = 0; s < sizeof src / sizeof src[0]; s++)
        for (size_t cap = 1; cap <= 24; cap++)
            for (size_t max = 0; max <= 24; max++) {
                char want[32], got[32];
                memset(want, 'x', sizeof want);
                memset(got, 'x', sizeof got);
                snprintf(want, cap, "%.*s", (int)max, src[s]);
                dc_copy_str(got, cap, src[s], max);
                assert_memory_equal(got, want, sizeof want);
            }
    char big[8];
    dc_copy_str(big, sizeof big, "MONOCHROME2", SIZE_MAX);
    assert_string_equal(big, "MONOCHR");
}

typedef struct {
    int key, pos;
} item;

static int cmp_key(const void *a, const void *b)
{
    const item *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* sorted input (with ties) stays as it is; unsorted input is sorted */
static void test_sort(void **state)
{
    (void)state;
    item v[64];
    for (int i = 0; i < 64; i++) v[i] = (item){i / 3, i};
    dc_sort(v, 64, sizeof *v, cmp_key);
    for (int i = 0; i < 64; i++) assert_int_equal(v[i].pos, i);
    unsigned seed = 7;
    for (int i = 0; i < 64; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (item){(int)(seed >> 16) % 20, i};
    }
    item want[64];
    memcpy(want, v, sizeof v);
    qsort(want, 64, sizeof *want, cmp_key);
    dc_sort(v, 64, sizeof *v, cmp_key);
    for (int i = 0; i < 64; i++) assert_int_equal(v[i].key, want[i].key);
    for (int i = 1; i < 64; i++) assert_true(v[i - 1].key <= v[i].key);
    dc_sort(v, 0, sizeof *v, cmp_key); /* empty and single: nothing to do */
    dc_sort(v, 1, sizeof *v, cmp_key);
    assert_int_equal(v[0].key, want[0].key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_str),
        cmocka_unit_test(test_sort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
