/*
 * dc_process.h - one scan on the rank that owns it: decode its slices in
 * stacking order, write each into its dataset as soon as it is decoded (so
 * memory is one slice whatever the series length), and flatten the header
 * of its first slice into the metadata row.
 */
#ifndef DC_PROCESS_H
#define DC_PROCESS_H

#include "dc_config.h"
#include "dc_csv.h"
#include "dc_dicom.h"
#include "dc_flatten.h"
#include "dc_h5out.h"
#include "dc_plan.h"

typedef struct {
    int stored;       /* 1: metadata row (+ dataset); 0: unreadable */
    int abandoned;    /* 1: a stop was requested before the scan was complete; neither
                         stored nor unreadable: the next run does it (dc_stop.h) */
    char *reason;     /* unreadable: short specific reason */
    char *example;    /* "Example file" for unreadable_files */
    dc_row row;       /* stored: the flattened header of the first slice, unless text */
    dc_buf text;      /* stored: the metadata CSV row already formatted for the worker's
                         cols at processing time (then row is empty); len 0 otherwise */
    const char *tail; /* with text: the rest of the row, tail_len bytes of the worker's
                         kept_text (a row formatted in the header pass or the settle;
                         not owned, valid until the worker's rows are dropped): text
                         then holds only the fixed fields.  NULL otherwise */
    size_t tail_len;
    uint64_t bytes_in;  /* bytes of the files read */
    uint64_t bytes_out; /* pixel bytes written */
    void *frames;       /* compressed datasets only: every decoded frame, stored order,
                           written later by all ranks together (dc_h5seg_write_all) */
} dc_scan_result;

/* reusable per-rank state (parse buffers, slice buffer) */
typedef struct dc_worker_s {
    dc_dataset ds;
    void *slice;
    size_t slice_cap;
    int raw_fd; /* the segment file for the raw copy fast path: -1 not open, -2 unusable */
    dc_row scratch; /* reused by every flatten; results are compact copies */
    /* the metadata CSV's columns while a batch is processed (NULL: none yet).
     * A row whose columns are all among them is formatted at once into
     * dc_scan_result.text (its values need not be kept until the checkpoint);
     * the others keep their row for the checkpoint's column exchange. */
    const dc_colset *cols;
    /* metadata-only runs read each file once (SPEC 10): the header pass
     * flattens the rows of the files it parses (dc_worker_keep_row) and the
     * scan's owner (the same rank: dc_batch_build's header_owner) takes its
     * row from here instead of opening the file again.  Rows of files
     * kept_first + i, in the window's file numbering; kept[i].cols NULL when
     * not kept (not DICOM, encapsulated pixel data: those are read again). */
    dc_row *kept;
    uint32_t kept_first;
    size_t n_kept, kept_cap;
    /* a kept row whose columns are all in cols (or, before there is a header,
     * in prov) is kept as its CSV values already formatted
     * (dc_csv_format_values), at kept_off[i] in kept_text (kept_len[i] bytes,
     * 0: none), for the columns kept_names (remapped when the header's are
     * others by the time the row is taken) */
    dc_buf kept_text;
    uint64_t *kept_off;
    uint32_t *kept_len;
    dc_strvec kept_names;
    /* the first window (no CSV header yet: cols NULL or empty): the columns
     * of this rank's first kept row, sorted as a header of them would be.
     * Kept rows with no other column are formatted for them at once, like a
     * later window's rows (a compact copy costs memory and a second pass);
     * they join the window's column exchange (dc_worker_provisional_row),
     * and texts are remapped only if the header differs (take_kept_text). */
    dc_colset prov;
    /* kept_names compared with a colset once per change of either (stamps) */
    uint64_t names_stamp;
    const dc_colset *names_of;
    int names_match;
} dc_worker;

void dc_worker_init(dc_worker *w);
/* the header pass parsed window file idx into ds: keep its row (files come
 * in increasing contiguous order on one rank) */
void dc_worker_keep_row(dc_worker *w, uint32_t idx, const dc_dataset *ds);
/* Of the window files idx[0..n): the kept rows not formatted yet (compact
 * rows, for the column exchange) into out (room for n); returns how many */
size_t dc_worker_compact_rows(const dc_worker *w, const uint64_t *idx, size_t n, const dc_row **out);
/* The kept compact rows of window files idx[0..n) formatted as CSV values
 * for cols (which holds all their columns: after the exchange), so that the
 * batches only take them; w->cols = cols.  Returns how many were formatted
 * (0 when texts formatted for an older header wait in the window). */
size_t dc_worker_format_kept(dc_worker *w, const dc_colset *cols, const uint64_t *idx, size_t n);
/* OUT view: the provisional columns (dc_worker.prov) as a row of names for
 * dc_csvout_widen (no values; valid until the worker's rows are dropped);
 * returns 0 when there are none */
int dc_worker_provisional_row(const dc_worker *w, dc_row *view);
/* forget the kept rows (end of a window) */
void dc_worker_drop_rows(dc_worker *w);
void dc_worker_free(dc_worker *w);
void dc_scan_result_free(dc_scan_result *r);

/* IN cfg, batch b, scan index i; seg/h: the open segment and the scan's
 * dataset handle (seg NULL when not writing pixel data).  OUT res.  Never
 * fails as a whole: a scan that cannot be read is an unreadable result. */
void dc_process_scan(dc_worker *w, const dc_config *cfg, const dc_batch *b, size_t i, dc_h5seg *seg,
                     int h, dc_scan_result *res);

#endif
