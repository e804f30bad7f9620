/*
 * dc_window.h - one window's scans (SPEC 10), pure (no MPI, no file I/O).
 *
 * A window is whole folders of the walk (dc_walk_next).  Grouping is
 * dc_group_records on the window's records; this adds what spans windows:
 * "no DICOM files in folder" belongs to an input folder's whole tree (the
 * folder and its subfolders up to the next input folder), and the tree
 * still open at a window's end is carried to the next one (dc_window_trees).
 * Row order (SPEC 4, 10): folders in walk order, Scan IDs sorted within a
 * folder; a carried tree's folder row comes first in the window where the
 * tree ends (its tree has no other rows).
 */
#ifndef DC_WINDOW_H
#define DC_WINDOW_H

#include "dc_record.h"
#include "dc_scan.h"
#include "dc_walk.h"

typedef struct {
    char *open_tree;   /* input folder whose tree goes on in the next window, or NULL */
    int open_tree_any; /* ... and its tree had a DICOM (or unparsable DICOM) file so far */
} dc_window_trees;

void dc_window_trees_free(dc_window_trees *t);

/* IN/OUT t (zeroed before the first window); IN/OUT fl: the window's files
 * and scopes (a scope may be appended: the carried tree's folder, named by
 * the scan that needs it); IN recs[n_recs] (scopes index fl), last (no
 * window follows), go.  OUT *all[*n_all] in row order (malloc'd).
 * Returns 0, or -1 when grouping failed. */
int dc_window_group(dc_window_trees *t, dc_filelist *fl, const dc_record *recs, size_t n_recs,
                    int last, const dc_group_opts *go, dc_scan **all, size_t *n_all);

#endif
