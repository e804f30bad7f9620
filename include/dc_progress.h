/*
 * dc_progress.h - what a run tells the person who started it (SPEC 9).
 *
 * Rank 0 only.  Progress after each checkpoint: on a terminal a single
 * updating line (scans and files done, MB/s, ETA); in a batch log (not a
 * terminal) a plain line at most every 10 seconds.  progress: always/never
 * override the terminal test.  The summary at the end: scans written,
 * unreadable, non-DICOM files skipped, bytes read and written, time,
 * throughput.
 */
#ifndef DC_PROGRESS_H
#define DC_PROGRESS_H

#include <stdint.h>

#include "dc_config.h"
#include "dc_plan.h"

typedef struct {
    int enabled;   /* print progress at all */
    int tty;       /* updating line */
    double t0;     /* start of the run */
    double t_work; /* start of the batches */
    double last;   /* last print */
    uint64_t total_scans, total_bytes;
    uint64_t scans, files, stored, unreadable, bytes_in, bytes_out;
    uint64_t skipped_done; /* scans already in the outputs */
    char left_out[256];    /* "N scans left out by input.select (...)", "" without a selection */
} dc_progress;

void dc_progress_start(dc_progress *p, const dc_config *cfg);
/* after planning a window: how much more work there is (totals add up) */
void dc_progress_plan(dc_progress *p, uint64_t total_scans, uint64_t total_bytes,
                      uint64_t skipped_done);
/* after a checkpoint */
void dc_progress_add(dc_progress *p, uint64_t scans, uint64_t files, uint64_t stored,
                     uint64_t unreadable, uint64_t bytes_in, uint64_t bytes_out);
/* outcome: the exit status (0 done, 1 failed, 3 stopped at a checkpoint) */
void dc_progress_summary(dc_progress *p, const dc_header_stats *hs, const char *const *outputs,
                         int outcome);

#endif
