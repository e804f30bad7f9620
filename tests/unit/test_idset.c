/*
 * test_idset.c - the Scan ID fingerprint set that resume keeps instead of
 * the strings (dc_resume.h): every added ID is found after sealing, IDs
 * that differ in one byte, by a prefix or only in case are not, repeats
 * are dropped, and 200,000 IDs cost 16 bytes each.  Sealing is the
 * fingerprint sort: its result equals an independent insertion sort with
 * repeats dropped (ties on the high word ordered by the low one; 0, 1, 2
 * and 50,000 elements).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_resume.h"

static void test_members(void **state)
{
    (void)state;
    dc_idset s;
    dc_idset_init(&s);
    char id[128];
    for (int i = 0; i < 200000; i++) {
        snprintf(id, sizeof id, "storage_f%d_1.2.826.0.1.3680043.10.%d", i % 97, i);
        dc_idset_add(&s, id);
        if (i % 10 == 0) dc_idset_add(&s, id); /* repeats */
    }
    dc_idset_seal(&s);
    assert_int_equal(s.n, 200000);
    assert_true(s.cap * sizeof *s.v <= 2 * 200000 * 16 + 16384);
    for (int i = 0; i < 200000; i += 7) {
        snprintf(id, sizeof id, "storage_f%d_1.2.826.0.1.3680043.10.%d", i % 97, i);
        if (!dc_idset_has(&s, id)) fail_msg("%s added but not found", id);
        size_t n = strlen(id);
        id[n - 1] ^= 1; /* one byte differs: the folder part f<i % 97> no longer fits */
        if (dc_idset_has(&s, id)) fail_msg("%s found but never added", id);
        id[n - 1] ^= 1;
        id[n - 1] = '\0'; /* a prefix */
        snprintf(id + strlen(id), 8, "x");
        if (dc_idset_has(&s, id)) fail_msg("%s found but never added", id);
    }
    assert_false(dc_idset_has(&s, "STORAGE_F1_1.2.826.0.1.3680043.10.1"));
    assert_true(dc_idset_has(&s, "storage_f1_1.2.826.0.1.3680043.10.1"));
    assert_false(dc_idset_has(&s, ""));
    dc_idset_free(&s);
    dc_idset empty;
    dc_idset_init(&empty);
    dc_idset_seal(&empty);
    assert_false(dc_idset_has(&empty, "x"));
}

/* the oracle: insertion sort by (a, b), then repeats dropped */
static size_t oracle_sorted(dc_idfp *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        dc_idfp x = v[i];
        size_t j = i;
        while (j > 0 && (v[j - 1].a > x.a || (v[j - 1].a == x.a && v[j - 1].b > x.b))) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || v[k - 1].a != v[i].a || v[k - 1].b != v[i].b) v[k++] = v[i];
    return k;
}

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* seal n fingerprints from gen, compare with the oracle element by element */
static void check_seal(size_t n, uint64_t seed, unsigned a_range, unsigned b_range)
{
    dc_idset s;
    dc_idset_init(&s);
    dc_idfp *copy = malloc((n ? n : 1) * sizeof *copy);
    assert_non_null(copy);
    s.v = malloc((n ? n : 1) * sizeof *s.v);
    assert_non_null(s.v);
    s.cap = n ? n : 1;
    uint64_t x = seed;
    for (size_t i = 0; i < n; i++) {
        /* small ranges make ties on a and repeats of (a, b); the top bit
         * set half the time checks the comparison is unsigned */
        uint64_t hi = (next_rand(&x) & 1) ? UINT64_C(1) << 63 : 0;
        dc_idfp f = {hi | (next_rand(&x) % a_range), next_rand(&x) % b_range};
        s.v[i] = copy[i] = f;
    }
    s.n = n;
    dc_idset_seal(&s);
    size_t want = oracle_sorted(copy, n);
    if (s.n != want) fail_msg("n=%zu: seal kept %zu, oracle %zu", n, s.n, want);
    for (size_t i = 0; i < want; i++)
        if (s.v[i].a != copy[i].a || s.v[i].b != copy[i].b)
            fail_msg("n=%zu: element %zu is (%llx,%llx), oracle (%llx,%llx)", n, i,
                     (unsigned long long)s.v[i].a, (unsigned long long)s.v[i].b,
                     (unsigned long long)copy[i].a, (unsigned long long)copy[i].b);
    for (size_t i = 0; i < want; i++) assert_true(dc_idset_has_fp(&s, copy[i]));
    free(copy);
    dc_idset_free(&s);
}

static void test_seal_order(void **state)
{
    (void)state;
    check_seal(0, 1, 10, 10);
    check_seal(1, 2, 10, 10);
    check_seal(2, 3, 1, 1);          /* two equal: one kept */
    check_seal(2, 4, 1, 1000);       /* tie on a: ordered by b */
    check_seal(300, 5, 4, 4);        /* mostly repeats */
    check_seal(3000, 6, 50, 100000); /* many ties on a */
    check_seal(50000, 7, 1000000000u, 1000000000u);
    /* fingerprints of real IDs, added twice in reverse order */
    dc_idset s;
    dc_idset_init(&s);
    char id[64];
    for (int r = 0; r < 2; r++)
        for (int i = 999; i >= 0; i--) {
            snprintf(id, sizeof id, "1.2.840.113619.2.%d", i);
            dc_idset_add(&s, id);
        }
    dc_idset_seal(&s);
    assert_int_equal(s.n, 1000);
    for (size_t i = 1; i < s.n; i++)
        assert_true(s.v[i - 1].a < s.v[i].a || (s.v[i - 1].a == s.v[i].a && s.v[i - 1].b < s.v[i].b));
    dc_idset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_members), cmocka_unit_test(test_seal_order)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
