/*
 * test_idset.c - the Scan ID fingerprint set that resume keeps instead of
 * the strings (dc_resume.h): every added ID is found after sealing, IDs
 * that differ in one byte, by a prefix or only in case are not, repeats
 * are dropped, and 200,000 IDs cost 16 bytes each.
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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_members)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
