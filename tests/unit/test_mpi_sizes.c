/*
 * test_mpi_sizes.c - the arithmetic that keeps MPI counts within int at any
 * archive size (SPEC 10): transfers cut into pieces (dc_mpi_pieces,
 * dc_mpi_piece_len) for lengths past 2^31 and 2^32, the header pass's block
 * of each file (dc_header_rank) for windows past 2^32 files, and the
 * deterministic cut of batches (dc_batch_cut).  Pure functions: nothing of
 * that size is allocated.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dc_mpi.h"
#include "dc_plan.h"

static void check_pieces(uint64_t len, uint64_t piece)
{
    uint64_t n = dc_mpi_pieces(len, piece), sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        int l = dc_mpi_piece_len(len, piece, i);
        if (l <= 0 || (uint64_t)l > piece) fail_msg("len %llu piece %llu: piece %llu has %d bytes",
                                                    (unsigned long long)len, (unsigned long long)piece,
                                                    (unsigned long long)i, l);
        sum += (uint64_t)l;
    }
    assert_true(sum == len);
    assert_int_equal(dc_mpi_piece_len(len, piece, n), 0);
}

static void test_pieces(void **state)
{
    (void)state;
    uint64_t lens[] = {0, 1, DC_MPI_PIECE - 1, DC_MPI_PIECE, DC_MPI_PIECE + 1,
                       (uint64_t)INT_MAX, (uint64_t)INT_MAX + 1, (uint64_t)1 << 31,
                       ((uint64_t)1 << 32) + 7, (uint64_t)3 << 40};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) check_pieces(lens[i], DC_MPI_PIECE);
    assert_true(dc_mpi_pieces((uint64_t)1 << 31, DC_MPI_PIECE) == 2);
    assert_true(dc_mpi_pieces(((uint64_t)1 << 31) + 1, DC_MPI_PIECE) == 3);
    assert_true(dc_mpi_pieces(0, DC_MPI_PIECE) == 0);
    assert_true(DC_MPI_PIECE <= (uint64_t)INT_MAX);
}

/* rank r parses files n*r/R .. n*(r+1)/R (plan.c pack_blocks) */
static void check_ranks(uint64_t n, int nranks)
{
    for (int r = 0; r < nranks; r++) {
        uint64_t lo = n * (uint64_t)r / (uint64_t)nranks, hi = n * (uint64_t)(r + 1) / (uint64_t)nranks;
        uint64_t probe[] = {lo, lo + 1, hi - 1};
        for (size_t k = 0; k < 3; k++)
            if (lo < hi && probe[k] >= lo && probe[k] < hi && dc_header_rank(probe[k], n, nranks) != r)
                fail_msg("file %llu of %llu, %d ranks: rank %d, want %d", (unsigned long long)probe[k],
                         (unsigned long long)n, nranks, dc_header_rank(probe[k], n, nranks), r);
    }
}

static void test_header_rank(void **state)
{
    (void)state;
    uint64_t ns[] = {1, 2, 3, 7, 100, 20000, (uint64_t)INT_MAX + 3, ((uint64_t)1 << 33) + 5};
    int rs[] = {1, 2, 3, 4, 7, 64, 1000};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (size_t j = 0; j < sizeof rs / sizeof rs[0]; j++) check_ranks(ns[i], rs[j]);
    assert_int_equal(dc_header_rank(0, 0, 4), 0);
}

static void test_batch_cut(void **state)
{
    (void)state;
    dc_scan s[10];
    memset(s, 0, sizeof s);
    for (int i = 0; i < 10; i++) s[i].cost = 100;
    assert_int_equal(dc_batch_cut(s, 10, 4, UINT64_MAX), 4);
    assert_int_equal(dc_batch_cut(s, 3, 4, UINT64_MAX), 3);
    assert_int_equal(dc_batch_cut(s, 10, 1000, 250), 3); /* ends with the scan reaching 250 */
    assert_int_equal(dc_batch_cut(s, 10, 1000, 1), 1);   /* always at least one */
    assert_int_equal(dc_batch_cut(s, 0, 1000, 1), 0);
    s[0].cost = (uint64_t)1 << 40;                        /* one huge scan is a batch alone */
    assert_int_equal(dc_batch_cut(s, 10, 1000, (uint64_t)1 << 30), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_header_rank),
        cmocka_unit_test(test_batch_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
