/*
 * window.c - one window's scans (SPEC 10): grouping of the window's records
 * (dc_group_records), the "no DICOM files in folder" rows of input folders
 * whose tree spans windows, and the row order.  Pure: no MPI, no file I/O.
 * See dc_window.h.
 */
#include "dc_window.h"

#include "dc_privacy.h" /* dc_privacy_scope_id: the identity unless privacy.profile */

#include <stdlib.h>
#include <string.h>

void dc_window_trees_free(dc_window_trees *t)
{
    free(t->open_tree);
    memset(t, 0, sizeof *t);
}

/* "no DICOM files in folder" for an input folder whose tree (the folder and
 * its subfolders, up to the next input folder) began in an earlier window */
static dc_scan folder_without_dicom(const char *path, uint32_t scope)
{
    dc_scan x;
    memset(&x, 0, sizeof x);
    x.scan_id = dc_privacy_scope_id(path); /* privacy.profile: a pseudonym */
    x.scope = scope;
    x.unreadable = 1;
    x.reason = dc_strdup("no DICOM files in folder");
    x.first_rec = x.example_rec = DC_NO_REC;
    x.n_repeats = 1;
    x.warnings = dc_strdup("");
    return x;
}

/* The trees of input folders across windows: grouping decides "no DICOM
 * files in folder" for the trees complete in the window; the tree still
 * open at its end is carried to the next window (*open_scope: the row
 * grouping makes for it is dropped), with whether it had a DICOM file so
 * far.  *carried gets the scan for a carried tree that ends in this window
 * without any.  Returns the flags to group with (caller frees). */
static uint8_t *input_trees(dc_window_trees *t, dc_filelist *fl, const dc_record *recs,
                            size_t n_recs, int last, dc_scan *carried, int *has_carried,
                            size_t *open_scope)
{
    *open_scope = SIZE_MAX;
    size_t ns = fl->scopes.n;
    uint8_t *flags = dc_calloc(ns ? ns : 1, 1), *has = dc_calloc(ns ? ns : 1, 1);
    if (ns) memcpy(flags, fl->scope_is_input, ns);
    for (size_t i = 0; i < n_recs; i++)
        if (recs[i].kind == DC_FILE_DICOM || recs[i].kind == DC_FILE_BAD) has[recs[i].scope] = 1;
    for (size_t s = 0; s < fl->n_sig && s < ns; s++) has[s] |= fl->scope_done[s];
    size_t first_input = 0;
    while (first_input < ns && !flags[first_input]) first_input++;
    *has_carried = 0;
    if (t->open_tree) {
        for (size_t s = 0; s < first_input; s++) t->open_tree_any |= has[s];
        if (first_input < ns || last) {
            if (!t->open_tree_any) {
                dc_strvec_push(&fl->scopes, t->open_tree);
                *carried = folder_without_dicom(t->open_tree, (uint32_t)(fl->scopes.n - 1));
                *has_carried = 1;
            }
            free(t->open_tree);
            t->open_tree = NULL;
        }
    }
    size_t lastin = ns;
    for (size_t s = first_input; s < ns; s++)
        if (flags[s]) lastin = s;
    if (!last && lastin < ns && flags[lastin] == DC_SCOPE_INPUT) {
        t->open_tree = dc_strdup(fl->scopes.v[lastin]);
        t->open_tree_any = 0;
        for (size_t s = lastin; s < ns; s++) t->open_tree_any |= has[s];
        *open_scope = lastin;
    }
    free(has);
    return flags;
}

/* drops the folder row grouping made for the tree that goes on (its flag
 * stays set: it bounds the tree before it) */
static void drop_open_tree_row(dc_scan *all, size_t *n, size_t open_scope)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        if (all[i].scope == open_scope && all[i].first_rec == DC_NO_REC) {
            dc_scan_free(&all[i]);
            continue;
        }
        all[k++] = all[i];
    }
    *n = k;
}

/* 1 when the input folder tree beginning at scope s (up to the next input
 * folder) holds a folder the ledger skipped: it had DICOM files */
static int tree_has_done(const dc_filelist *fl, size_t s, size_t ns)
{
    if (!fl->scope_done) return 0;
    for (size_t t = s; t < ns && t < fl->n_sig && (t == s || !fl->scope_is_input[t]); t++)
        if (fl->scope_done[t]) return 1;
    return 0;
}

/* grouping sees no file of a folder the ledger skipped (dc_folderledger.h):
 * drops the "no DICOM files in folder" row it made for a tree holding one */
static void drop_done_tree_rows(const dc_filelist *fl, size_t ns, dc_scan *all, size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        if (all[i].first_rec == DC_NO_REC && all[i].scope < ns &&
            fl->scope_is_input[all[i].scope] == DC_SCOPE_INPUT &&
            tree_has_done(fl, all[i].scope, ns)) {
            dc_scan_free(&all[i]);
            continue;
        }
        all[k++] = all[i];
    }
    *n = k;
}

/* row order (SPEC 4, 10): folders in walk order, Scan IDs within a folder */
static int cmp_row_order(const void *pa, const void *pb)
{
    const dc_scan *a = pa, *b = pb;
    if (a->scope != b->scope) return a->scope < b->scope ? -1 : 1;
    return strcmp(a->scan_id, b->scan_id);
}

int dc_window_group(dc_window_trees *t, dc_filelist *fl, const dc_record *recs, size_t n_recs,
                    int last, const dc_group_opts *go, dc_scan **all, size_t *n_all)
{
    dc_scan carried;
    int has_carried = 0;
    size_t open_scope;
    uint8_t *flags = input_trees(t, fl, recs, n_recs, last, &carried, &has_carried, &open_scope);
    size_t ns = fl->scopes.n - (size_t)has_carried; /* the carried scope is not grouped */
    const char **paths = dc_malloc(sizeof(char *) * (fl->n ? fl->n : 1));
    for (size_t i = 0; i < fl->n; i++) paths[i] = fl->files[i].path;
    char **ids = dc_malloc(sizeof(char *) * (ns ? ns : 1));
    for (size_t i = 0; i < ns; i++) ids[i] = dc_privacy_scope_id(fl->scopes.v[i]);
    int rc = dc_group_records(recs, n_recs, paths, (const char *const *)ids, flags, ns, go, all,
                              n_all);
    for (size_t i = 0; i < ns; i++) free(ids[i]);
    free(ids);
    free(paths);
    free(flags);
    if (rc != 0) {
        if (has_carried) dc_scan_free(&carried);
        return -1;
    }
    drop_open_tree_row(*all, n_all, open_scope);
    drop_done_tree_rows(fl, ns, *all, n_all);
    if (*n_all > 1) dc_sort(*all, *n_all, sizeof **all, cmp_row_order);
    if (has_carried) { /* its tree came before every folder of this window */
        *all = dc_realloc(*all, (*n_all + 1) * sizeof **all);
        memmove(*all + 1, *all, *n_all * sizeof **all);
        (*all)[0] = carried;
        (*n_all)++;
    }
    return 0;
}

