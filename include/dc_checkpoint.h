/*
 * dc_checkpoint.h - batches and checkpoints (SPEC 7, 10): the run's
 * safety-critical protocol in one module.
 *
 * A batch is the unit of work handed out: consecutive scans in row order
 * (dc_batch, plan.c), cut without regard to time or rank count.  Running a
 * batch: all ranks create its segment file and datasets collectively, each
 * rank decodes its scans and writes them, the ranks learn what became of
 * every scan, datasets of scans not stored are unlinked and the segment is
 * closed (fsync'ed).  Its rows are formatted (columns widened when a row
 * brings new ones) and held in memory; the index links are noted.
 *
 * A checkpoint makes every batch run since the previous one durable, in
 * this order: segments (already durable) -> index file replaced -> CSV rows
 * appended and synced.  It is taken after a batch when run.commit_every
 * scans are held or run.commit_seconds passed since the last one (rank 0's
 * clock decides and tells the others), at a stop, and at the end.  Which
 * scans form a batch, and so every output byte, never depends on the clock:
 * the clock only decides how many batches one checkpoint covers.
 */
#ifndef DC_CHECKPOINT_H
#define DC_CHECKPOINT_H

#include <mpi.h>

#include "dc_config.h"
#include "dc_plan.h"
#include "dc_process.h"
#include "dc_progress.h"
#include "dc_resume.h"

typedef struct {
    dc_buf *txt;   /* rows, text with "\n" */
    uint32_t *pos; /* their positions in the checkpoint */
    size_t n, cap;
} dc_held_rows;

typedef struct {
    MPI_Comm comm;
    int rank, nranks;
    const dc_config *cfg;
    dc_outputs *out;
    dc_progress *progress; /* rank 0 */
    dc_worker *worker;
    /* held since the last checkpoint */
    size_t n_held;         /* scans of the batches run since (all ranks alike) */
    size_t n_held_unread;  /* of which unreadable (all ranks alike) */
    dc_held_rows meta, unread; /* this rank's rows */
    int index_dirty;       /* rank 0: links added since the index was written */
    double last_commit;    /* rank 0 */
    uint64_t n_commits;
} dc_ckpt;

void dc_ckpt_init(dc_ckpt *c, MPI_Comm comm, const dc_config *cfg, dc_outputs *out,
                  dc_progress *progress, dc_worker *worker);
void dc_ckpt_free(dc_ckpt *c);

/* Collective: run one batch (see above).  Returns 0 or -1 (same on all ranks). */
int dc_ckpt_run_batch(dc_ckpt *c, dc_batch *b);

/* Collective: is a checkpoint due now (commit_every / commit_seconds)? */
int dc_ckpt_due(dc_ckpt *c);

/* Collective: make everything held durable.  Returns 0 or -1. */
int dc_ckpt_commit(dc_ckpt *c);

#endif
