/*
 * test_window.c - one window's scans (window.c, pure): an input folder whose
 * tree spans three windows gets its "no DICOM files in folder" row exactly
 * when no window of the tree had a DICOM file, first in the window where the
 * tree ends; a tree with a DICOM file in a later window gets none; rows come
 * folder by folder in walk order, Scan IDs sorted within a folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_window.h"

/* a window: scopes (name, input flag) and files (path, scope, kind, SOP UID) */
static void add_scope(dc_filelist *fl, const char *path, uint8_t input)
{
    dc_strvec_push(&fl->scopes, path);
    fl->scope_is_input = dc_realloc(fl->scope_is_input, fl->scopes.cap);
    fl->scope_is_input[fl->scopes.n - 1] = input;
}

static void add_file(dc_filelist *fl, dc_record *recs, size_t *n, const char *path, uint32_t scope,
                     int kind, const char *sop)
{
    fl->files = dc_realloc(fl->files, (fl->n + 1) * sizeof *fl->files);
    fl->files[fl->n].path = dc_strdup(path);
    fl->files[fl->n].scope = scope;
    dc_record *r = &recs[(*n)++];
    dc_record_init(r);
    r->file_idx = (uint32_t)fl->n++;
    r->scope = scope;
    r->kind = (uint8_t)kind;
    snprintf(r->sop_uid, sizeof r->sop_uid, "%s", sop);
    r->rows = r->cols = 4;
    r->samples = 1;
    r->bits_alloc = r->bits_stored = 16;
    r->frames = 1;
}

static char *window(dc_window_trees *t, dc_filelist *fl, dc_record *recs, size_t n, int last)
{
    dc_group_opts go;
    memset(&go, 0, sizeof go);
    dc_scan *all = NULL;
    size_t n_all = 0;
    assert_int_equal(dc_window_group(t, fl, recs, n, last, &go, &all, &n_all), 0);
    dc_buf out;
    dc_buf_init(&out);
    for (size_t i = 0; i < n_all; i++) {
        dc_buf_printf(&out, "%s%s%s;", all[i].scan_id, all[i].unreadable ? ":" : "",
                      all[i].unreadable ? all[i].reason : "");
        dc_scan_free(&all[i]);
    }
    free(all);
    for (size_t i = 0; i < n; i++) dc_record_free(&recs[i]);
    dc_filelist_free(fl);
    dc_buf_putc(&out, '\0');
    return dc_buf_steal(&out);
}

static void test_trees_across_windows(void **state)
{
    (void)state;
    dc_window_trees t;
    memset(&t, 0, sizeof t);
    dc_filelist fl;
    dc_record recs[8];
    size_t n = 0;
    char *got;

    /* window 1: input a (no files), its subfolder a/x with a text file; input b starts
     * with a DICOM file in b/1 (b's tree goes on) */
    dc_filelist_init(&fl);
    add_scope(&fl, "a", DC_SCOPE_INPUT);
    add_scope(&fl, "a/x", DC_SCOPE_SUB);
    add_file(&fl, recs, &n, "a/x/readme.txt", 1, DC_FILE_NOT_DICOM, "");
    add_scope(&fl, "b", DC_SCOPE_INPUT);
    add_scope(&fl, "b/1", DC_SCOPE_SUB);
    add_file(&fl, recs, &n, "b/1/f2.dcm", 3, DC_FILE_DICOM, "1.2.9");
    add_file(&fl, recs, &n, "b/1/f1.dcm", 3, DC_FILE_DICOM, "1.2.10");
    got = window(&t, &fl, recs, n, 0);
    /* a's tree is complete (b follows): its row, then b/1's rows sorted by Scan ID */
    assert_string_equal(got, "a:no DICOM files in folder;b_1_1.2.10;b_1_1.2.9;");
    free(got);
    assert_non_null(t.open_tree);

    /* window 2: input c, only a text file in c/1: c's tree goes on, no row yet */
    n = 0;
    dc_filelist_init(&fl);
    add_scope(&fl, "c", DC_SCOPE_INPUT);
    add_scope(&fl, "c/1", DC_SCOPE_SUB);
    add_file(&fl, recs, &n, "c/1/notes.txt", 1, DC_FILE_NOT_DICOM, "");
    got = window(&t, &fl, recs, n, 0);
    assert_string_equal(got, "");
    free(got);
    assert_string_equal(t.open_tree, "c");

    /* window 3: c/2 still without DICOM, then input d with a DICOM file; last window */
    n = 0;
    dc_filelist_init(&fl);
    add_scope(&fl, "c/2", DC_SCOPE_SUB);
    add_file(&fl, recs, &n, "c/2/junk.bin", 0, DC_FILE_NOT_DICOM, "");
    add_scope(&fl, "d", DC_SCOPE_INPUT);
    add_file(&fl, recs, &n, "d/z.dcm", 1, DC_FILE_DICOM, "1.5");
    got = window(&t, &fl, recs, n, 1);
    assert_string_equal(got, "c:no DICOM files in folder;d_1.5;");
    free(got);
    assert_null(t.open_tree);

    /* a tree whose DICOM file comes in a later window: no folder row */
    n = 0;
    dc_filelist_init(&fl);
    add_scope(&fl, "e", DC_SCOPE_INPUT);
    add_scope(&fl, "e/1", DC_SCOPE_SUB);
    add_file(&fl, recs, &n, "e/1/readme.txt", 1, DC_FILE_NOT_DICOM, "");
    got = window(&t, &fl, recs, n, 0);
    assert_string_equal(got, "");
    free(got);
    n = 0;
    dc_filelist_init(&fl);
    add_scope(&fl, "e/2", DC_SCOPE_SUB);
    add_file(&fl, recs, &n, "e/2/y.dcm", 0, DC_FILE_DICOM, "7.7");
    got = window(&t, &fl, recs, n, 1);
    assert_string_equal(got, "e_2_7.7;");
    free(got);
    dc_window_trees_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_trees_across_windows)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
