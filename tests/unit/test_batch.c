/*
 * test_batch.c - the batch wire form of metadata-only runs (plan.c): which
 * kept rows each rank writes (dc_row_files_by_owner, with window sizes past
 * 2^32 files), and a batch packed by dc_batch_build and unpacked by
 * dc_batch_bcast (one rank): own readable scans in row form (their row's
 * window file and path), others' scans light, unreadable scans in full,
 * a truncated wire form refused; metadata-only runs' default commit_every.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mpi.h>

#include "dc_checkpoint.h"
#include "dc_plan.h"
#include "dc_util.h"

enum { NF = 8, NS = 6 };

typedef struct {
    dc_filelist fl;
    dc_record recs[NF];
    dc_scan scans[NS];
    uint32_t slice[NS];
} window;

static void scan_at(window *w, size_t i, const char *id, uint32_t rec, const char *reason)
{
    dc_scan *s = &w->scans[i];
    memset(s, 0, sizeof *s);
    s->scan_id = dc_strdup(id);
    s->scope = 0;
    s->n_files = rec == DC_NO_REC ? 0 : 1;
    s->first_rec = s->example_rec = rec;
    if (rec != DC_NO_REC) {
        w->slice[i] = rec;
        s->slice_rec = dc_malloc(sizeof(uint32_t));
        s->slice_rec[0] = rec;
        s->n_slices = 1;
    }
    s->unreadable = reason != NULL;
    s->reason = reason ? dc_strdup(reason) : NULL;
    s->cost = 100;
}

/* files d/f0..d/f7 in one folder; scans of files 0, 3, 4 (unreadable), 5,
 * 7 and one without files (unreadable) */
static void make_window(window *w)
{
    dc_filelist_init(&w->fl);
    dc_strvec_push(&w->fl.scopes, "d");
    w->fl.files = dc_calloc(NF, sizeof *w->fl.files);
    for (size_t i = 0; i < NF; i++) {
        w->fl.files[i].path = dc_asprintf("d/f%zu", i);
        w->fl.files[i].scope = 0;
        dc_record_init(&w->recs[i]);
        w->recs[i].file_idx = (uint32_t)i;
    }
    w->fl.n = w->fl.cap = NF;
    scan_at(w, 0, "d_a", 0, NULL);
    scan_at(w, 1, "d_b", 3, NULL);
    scan_at(w, 2, "d_c", 4, "bad header");
    scan_at(w, 3, "d_d", 5, NULL);
    scan_at(w, 4, "d_e", 7, NULL);
    scan_at(w, 5, "d", DC_NO_REC, "no DICOM files in folder");
}

static void free_window(window *w)
{
    for (size_t i = 0; i < NS; i++) dc_scan_free(&w->scans[i]);
    for (size_t i = 0; i < NF; i++) dc_record_free(&w->recs[i]);
    dc_filelist_free(&w->fl);
}

static void test_row_files_by_owner(void **state)
{
    (void)state;
    window w;
    make_window(&w);
    uint64_t out[NS], per[1000];
    /* 2 ranks: files 0-3 rank 0, 4-7 rank 1; unreadable scans have no row */
    assert_true(dc_row_files_by_owner(w.scans, NS, w.recs, NF, 2, out, per) == 4);
    assert_true(per[0] == 2 && per[1] == 2);
    assert_true(out[0] == 0 && out[1] == 3 && out[2] == 5 && out[3] == 7);
    /* 3 ranks: blocks [0,2) [2,5) [5,8) */
    assert_true(dc_row_files_by_owner(w.scans, NS, w.recs, NF, 3, out, per) == 4);
    assert_true(per[0] == 1 && per[1] == 1 && per[2] == 2);
    /* a window past 2^32 files: file UINT32_MAX is in the second half's block */
    w.recs[7].file_idx = UINT32_MAX;
    uint64_t big = ((uint64_t)1 << 32) + 2;
    assert_true(dc_row_files_by_owner(w.scans, NS, w.recs, big, 2, out, per) == 4);
    assert_true(per[0] == 3 && per[1] == 1 && out[3] == UINT32_MAX);
    /* 1000 ranks over 2^33 files: files 0..7 in rank 0's block, UINT32_MAX in rank 499's */
    assert_true(dc_row_files_by_owner(w.scans, NS, w.recs, (uint64_t)1 << 33, 1000, out, per) == 4);
    assert_true(per[0] == 3 && per[499] == 1);
    assert_true(dc_row_files_by_owner(w.scans, 0, w.recs, NF, 2, out, per) == 0);
    assert_true(per[0] == 0 && per[1] == 0);
    free_window(&w);
}

/* the window packed by dc_batch_build and unpacked by dc_batch_bcast (rank 0) */
static void round_trip(window *w, int nranks, int metadata_only, uint64_t index, dc_batch *b)
{
    make_window(w);
    dc_batch_build(w->scans, 0, NS, w->recs, &w->fl, nranks, metadata_only, index, b);
    assert_int_equal(dc_batch_bcast(MPI_COMM_WORLD, b), 0);
    assert_true(b->index == index);
    assert_int_equal(b->n_scans, NS);
}

/* packed for 2 ranks as a metadata-only batch, unpacked as rank 0 */
static void test_metadata_batch_round_trip(void **state)
{
    (void)state;
    window w;
    dc_batch b;
    round_trip(&w, 2, 1, 7, &b);
    int32_t owners[NS] = {0, 0, 1, 1, 1, 0}; /* header rank of the row file; none: rank 0 */
    for (size_t i = 0; i < NS; i++) {
        assert_int_equal(b.owner[i], owners[i]);
        assert_string_equal(b.scans[i].scan_id, w.scans[i].scan_id);
        assert_int_equal(b.scans[i].n_files, w.scans[i].n_files);
        assert_int_equal(b.scans[i].unreadable, w.scans[i].unreadable);
    }
    /* own readable scans: one record each with their row's file and path */
    uint32_t files[2] = {0, 3};
    for (size_t i = 0; i < 2; i++) {
        const dc_scan *s = &b.scans[i];
        assert_true(s->first_rec < b.n_recs);
        assert_int_equal(s->example_rec, s->first_rec);
        assert_int_equal(b.rec_file[s->first_rec], files[i]);
        assert_string_equal(b.paths[s->first_rec], w.fl.files[files[i]].path);
    }
    /* the other rank's scans: light */
    for (size_t i = 2; i < 5; i++) {
        assert_int_equal(b.scans[i].first_rec, UINT32_MAX);
        assert_null(b.source_folder[i]);
    }
    /* an own unreadable scan: in full */
    assert_string_equal(b.scans[5].reason, "no DICOM files in folder");
    assert_string_equal(b.source_folder[5], "d");
    assert_int_equal(b.scans[5].first_rec, UINT32_MAX);
    dc_batch_free(&b);
    free_window(&w);
}

/* a pixel run's batch: every scan and record in full */
static void test_full_batch_round_trip(void **state)
{
    (void)state;
    window w;
    dc_batch b;
    round_trip(&w, 1, 0, 3, &b);
    assert_int_equal(b.n_recs, 5); /* files 0, 3, 4, 5, 7 */
    assert_int_equal(b.n_full, 5); /* every record whole, its file noted too */
    for (size_t i = 0; i < b.n_recs; i++) assert_int_equal(b.rec_file[i], b.recs[i].file_idx);
    assert_string_equal(b.paths[b.scans[1].first_rec], "d/f3");
    assert_string_equal(b.paths[b.scans[2].example_rec], "d/f4");
    assert_string_equal(b.scans[2].reason, "bad header");
    assert_int_equal(b.scans[4].n_slices, 1);
    assert_string_equal(b.paths[b.scans[4].slice_rec[0]], "d/f7");
    assert_string_equal(b.source_folder[3], "d");
    dc_batch_free(&b);
    free_window(&w);
}

/* a wire form cut short anywhere is refused, never read past its end */
static void test_truncated(void **state)
{
    (void)state;
    window w;
    make_window(&w);
    dc_batch full;
    dc_batch_build(w.scans, 0, NS, w.recs, &w.fl, 2, 1, 0, &full);
    size_t len = full.wire.len;
    for (size_t cut = 1; cut < len; cut += 7) {
        dc_batch b;
        memset(&b, 0, sizeof b);
        dc_buf_init(&b.wire);
        dc_buf_append(&b.wire, full.wire.data, len - cut);
        assert_int_equal(dc_batch_bcast(MPI_COMM_WORLD, &b), -1);
        dc_batch_free(&b);
    }
    dc_batch_free(&full);
    free_window(&w);
}

/* metadata-only runs commit a window once: commit_every defaults to the
 * window (at least DC_META_COMMIT_EVERY_MIN), a set value wins; the window
 * is DC_WINDOW_FILES_PER_RANK per rank unless run.window_files is set; with
 * no byte bound (nothing is read) a window of that many scans is one batch
 * whatever its files' sizes */
static void test_meta_commit_every(void **state)
{
    (void)state;
    dc_config cfg;
    dc_config_init(&cfg);
    assert_int_equal(dc_config_window_files(&cfg, 1), DC_WINDOW_FILES_PER_RANK);
    assert_int_equal(dc_config_window_files(&cfg, 2), 2 * DC_WINDOW_FILES_PER_RANK);
    assert_int_equal(dc_config_window_files(&cfg, 64), 64 * DC_WINDOW_FILES_PER_RANK);
    assert_int_equal(dc_ckpt_meta_commit_every(&cfg, 2), DC_META_COMMIT_EVERY_MIN);
    /* 400 ranks: a window of 200,000 files commits once */
    assert_int_equal(dc_ckpt_meta_commit_every(&cfg, 400), 400 * DC_WINDOW_FILES_PER_RANK);
    cfg.window_files = 7; /* set: the same at any rank count */
    assert_int_equal(dc_config_window_files(&cfg, 4), 7);
    assert_int_equal(dc_ckpt_meta_commit_every(&cfg, 4), DC_META_COMMIT_EVERY_MIN);
    cfg.window_files = 3000000000L; /* past 2^31 */
    assert_true(dc_ckpt_meta_commit_every(&cfg, 2) == (size_t)3000000000L);
    cfg.commit_every = 32;
    cfg.commit_given = 1; /* run.commit_every set */
    assert_int_equal(dc_ckpt_meta_commit_every(&cfg, 2), 32);
    cfg.commit_given = 2; /* only commit_seconds set */
    assert_true(dc_ckpt_meta_commit_every(&cfg, 2) == (size_t)3000000000L);
    dc_config_free(&cfg);

    enum { N = 20000 };
    dc_scan *scans = calloc(N, sizeof *scans);
    for (size_t i = 0; i < N; i++) scans[i].cost = (uint64_t)1 << 20; /* 20 GB in all */
    assert_int_equal(dc_batch_cut(scans, N, 20000, UINT64_MAX), N);
    assert_int_equal(dc_batch_cut(scans, N, 20000, (uint64_t)1 << 30), 1024); /* pixel runs' bound */
    free(scans);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_files_by_owner),
        cmocka_unit_test(test_metadata_batch_round_trip),
        cmocka_unit_test(test_full_batch_round_trip),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_meta_commit_every),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    MPI_Finalize();
    return rc;
}
