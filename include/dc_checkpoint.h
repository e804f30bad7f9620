/*
 * dc_checkpoint.h - batches and checkpoints (SPEC 7, 10): the run's
 * safety-critical protocol in one module.
 *
 * A batch is the unit of work handed out: consecutive scans in row order
 * (dc_batch, plan.c), cut without regard to time or rank count.  Running a
 * batch: each rank creates its scans' datasets in its part file of the
 * checkpoint's segment (created by the checkpoint's first batch, kept open
 * until the checkpoint), decodes its scans and writes them, the ranks learn
 * what became of every scan, datasets of scans not stored are unlinked.
 * Its rows are formatted (columns widened when a row brings new ones) and
 * held in memory; the index links are noted.
 *
 * A checkpoint makes every batch run since the previous one durable, in
 * this order: segment closed and fsync'ed -> index file replaced -> CSV
 * rows appended and synced -> done-set.  Metadata-only runs append a
 * window's rows when the window ends (dc_ckpt_write_rows: written, their
 * write-back started, not yet durable), so that the checkpoint's sync
 * finds them on disk already; a kill before the checkpoint leaves rows the
 * done-set does not list, which the next start reads back (dc_resume.h).  The index only ever names closed segment
 * files, never one still being written: a kill at any moment leaves every
 * linked file readable and loses at most the work since the checkpoint.  It is taken after a batch when run.commit_every
 * scans are held or run.commit_seconds passed since the last one (rank 0's
 * clock decides and tells the others), at a stop, and at the end.  Which
 * scans form a batch, and so every output byte, never depends on the clock:
 * the clock only decides how many batches one checkpoint covers.
 */
#ifndef DC_CHECKPOINT_H
#define DC_CHECKPOINT_H

#include <mpi.h>

#include "dc_config.h"
#include "dc_heldrows.h"
#include "dc_plan.h"
#include "dc_process.h"
#include "dc_progress.h"
#include "dc_resume.h"

/* Pixel runs' checkpoint policy when run.commit_every / commit_seconds are
 * not set.  Every checkpoint closes one segment file per rank that stored
 * scans, and a file the index names is never written again (kill safety),
 * so files per second = ranks / checkpoint interval.  15 s per rank gives
 * one file per 15 s of work; with a run's last, partial checkpoint a run
 * of T seconds at 2 ranks makes at most 2 * ceil(T / 30) files, <= 1 per
 * 10 s for every T >= 40 s (12 s per rank needed T >= 120 s).  At most 30 s
 * of work per 2 ranks is redone after a kill, 60 s at most (beyond 6
 * ranks: more than one file per 15 s).  Memory is bounded by
 * DC_HELD_BYTES_MAX (README "Checkpoints"). */
#define DC_PIXEL_COMMIT_SECONDS_PER_RANK 15
#define DC_PIXEL_COMMIT_SECONDS_MAX 60
/* ... and at most this many scans per rank: a bound on a part file's size
 * for machines faster than this one (the clock decides below ~13,000
 * scans/s in all).  Part files are in HDF5 1.8's format, whose cost per
 * dataset stays within ~90-110 us up to ~150,000 datasets per part (150 us
 * at 300,000; tests/bench/h5create.c, README "Performance"). */
#define DC_PIXEL_COMMIT_EVERY_PER_RANK 200000

/* Metadata-only runs' count bound when run.commit_every is not set (the
 * window when that is larger, dc_config_window_files).  Their rows reach
 * the CSV when each window ends and a kill loses none of them: the count
 * only bounds how many rows the next start reads back into the done-set
 * (~1 s for 100,000), while each checkpoint costs a CSV sync and ~8 fsyncs
 * of the done-set and the ledger (~5 ms here: at 10,000 a warm crawl of
 * ~130,000 files/s took 13 checkpoints a second).  run.commit_seconds still
 * makes rows durable every 5 s. */
#define DC_META_COMMIT_EVERY_MIN 100000

/* Every run: a checkpoint is also due when a rank's held rows take this
 * many bytes (~1.4 KB per 8x8 CT row: ~190,000 rows).  Memory held until a
 * checkpoint is bounded by it whatever commit_every says. */
#define DC_HELD_BYTES_MAX ((size_t)256 << 20)

/* held rows are appended this many positions at a time (dc_ckpt_commit):
 * the append's copy is one chunk's rows (~46 MB over all ranks), not the
 * checkpoint's */
#define DC_APPEND_CHUNK_ROWS 32768

typedef struct {
    MPI_Comm comm;
    int rank, nranks;
    const dc_config *cfg;
    dc_outputs *out;
    dc_progress *progress; /* rank 0 */
    dc_worker *worker;
    /* held since the last checkpoint */
    size_t n_since;        /* scans of the batches run since (all ranks alike) */
    size_t n_held;         /* of which rows not appended yet (all ranks alike) */
    size_t n_held_unread;  /* of those, unreadable (all ranks alike) */
    dc_held_rows meta, unread; /* this rank's rows */
    int index_dirty;       /* rank 0: links added since the index was written */
    /* the segment of this checkpoint: one part file per rank, open across
     * its batches, closed (durable) at the checkpoint before the index */
    dc_h5seg *seg;
    char *seg_rel;         /* its path relative to the index */
    size_t seg_stored;     /* scans stored in it (all ranks alike) */
    dc_ckpt_policy policy; /* run.commit_every / commit_seconds or the pixel runs'
                            * defaults, and the bound on held rows */
    double last_commit;    /* rank 0 */
    /* rank 0, metadata of the window's scans to do (main.c): their Scan IDs'
     * fingerprints (NULL: computed here), and the first one of this batch */
    const dc_idfp *scan_fp;
    uint64_t batch_first;
    uint64_t n_commits;
} dc_ckpt;

/* Metadata-only runs' run.commit_every (pure): as set, or when not set the
 * window (dc_config_window_files at nranks), at least DC_META_COMMIT_EVERY_MIN. */
size_t dc_ckpt_meta_commit_every(const dc_config *cfg, int nranks);

void dc_ckpt_init(dc_ckpt *c, MPI_Comm comm, const dc_config *cfg, dc_outputs *out,
                  dc_progress *progress, dc_worker *worker);
void dc_ckpt_free(dc_ckpt *c);

/* Collective: run one batch (see above).  Returns 0 or -1 (same on all ranks). */
int dc_ckpt_run_batch(dc_ckpt *c, dc_batch *b);

/* Collective, metadata-only windows, before their batches (IN scans to do,
 * n, recs, fl on rank 0): the kept rows that become this window's CSV rows
 * join the header in one column exchange, and each rank formats its own
 * at once, all ranks together (the batches then only take the texts,
 * instead of the row's owner formatting them batch by batch while the
 * other ranks wait).  Returns 0 or -1 (same on all ranks). */
int dc_ckpt_settle_rows(dc_ckpt *c, const dc_scan *scans, size_t n, const dc_record *recs,
                        const dc_filelist *fl);

/* Collective: is a checkpoint due now (commit_every / commit_seconds)? */
int dc_ckpt_due(dc_ckpt *c);

/* Collective, metadata-only runs at the end of a window: append the rows
 * held to the CSVs (durable at the next checkpoint).  Returns 0 or -1. */
int dc_ckpt_write_rows(dc_ckpt *c);

/* Collective: make everything done since the last checkpoint durable.
 * Returns 0 or -1. */
int dc_ckpt_commit(dc_ckpt *c);

#endif
