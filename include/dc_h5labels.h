/*
 * dc_h5labels.h - the HDF5 files of the crawl's label datasets (issue 14,
 * SPEC 13): one small file per label scan, written to a temporary name,
 * fsynced and renamed (a kill leaves it whole or absent), and the index
 * labels_<id>.h5 whose links (external, relative) name every label scan.
 *
 * Dataset "/<Scan ID of the SEG or RTSTRUCT>": uint8 (labels, z, y, x),
 * chunks of one (y, x) plane, gzip level 1 (labels are mostly 0).
 * Attributes: see dc_h5labels_write and README "Labels".
 */
#ifndef DC_H5LABELS_H
#define DC_H5LABELS_H

#include <stddef.h>

#include "dc_labels.h"

typedef struct {
    const char *scan_id;
    const char *referenced_scan_id;     /* "" when none (SEG on its own grid, no reference) */
    const char *referenced_series_uid;  /* "" when none */
    const char *warnings;               /* "; " separated, "" when none */
} dc_label_attrs;

/* Write v as dataset "/<scan_id>" into a new file at path (via path.tmp,
 * fsync, rename).  Returns 0, or -1 with err naming the file. */
int dc_h5labels_write(const char *path, const dc_label_volume *v, const dc_label_attrs *a,
                      char *err, size_t errlen);

/* Replace the index at index_path (via .tmp, fsync, rename) by one holding
 * an external link "<scan_ids[i]>" -> files[i] (relative to the index's
 * folder), "/<scan_ids[i]>".  Returns 0, or -1 with err. */
int dc_h5labels_index(const char *index_path, char *const *scan_ids, char *const *files, size_t n,
                      char *err, size_t errlen);

#endif
