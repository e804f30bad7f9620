/*
 * dc_plan.h - the MPI shape of a run (SPEC 8): header pass over all ranks,
 * records gathered on rank 0, scans cut into batches, batches broadcast.
 *
 * Rank 0 walks the folders; each rank parses the headers of one contiguous
 * block of the file list (rank 0 too); records come back to rank 0, which
 * groups them into scans (dc_group_records), drops scans already done, and
 * cuts the rest, in row order, into batches (dc_batch_cut).  All of this
 * happens window by window (SPEC 10): the file list is one window's.  Each
 * batch is self-contained (scans, the records and paths they refer to, and
 * the rank that handles each scan) and broadcast to every rank.
 */
#ifndef DC_PLAN_H
#define DC_PLAN_H

#include <mpi.h>
#include <stdint.h>

#include "dc_config.h"
#include "dc_record.h"
#include "dc_scan.h"
#include "dc_walk.h"

typedef struct {
    uint64_t files_seen;    /* regular files in scope */
    uint64_t not_dicom;     /* skipped by content */
    uint64_t dicomdir;      /* skipped DICOMDIR files */
    uint64_t bad;           /* DICOM-looking but unparsable */
    uint64_t header_bytes;  /* bytes read by the header pass */
    double seconds;         /* wall time of the header pass */
} dc_header_stats;

struct dc_worker_s;

/* Collective.  IN fl (rank 0 only; ignored elsewhere).  OUT on rank 0:
 * *recs (one per file, in file-list order), *n; stats reduced onto rank 0.
 * keep (NULL: none): the rows of the DICOM files this rank parses are kept
 * there (dc_worker_keep_row: metadata-only runs read each file once).
 * Polls for stop requests (dc_stop_poll) between files; returns 1 when any
 * rank saw one (then nothing was gathered), 0 when done. */
int dc_header_pass(MPI_Comm comm, const dc_config *cfg, const dc_filelist *fl, dc_record **recs,
                   size_t *n, dc_header_stats *stats, struct dc_worker_s *keep);

/* Pure: the rank whose header-pass block holds file f of a window of n */
int dc_header_rank(uint64_t f, uint64_t n, int nranks);

/* one batch of scans, the same on every rank, except in metadata-only
 * runs: there a scan another rank owns carries only its Scan ID, file
 * count and unreadable flag (first_rec/example_rec UINT32_MAX, no slices,
 * no source folder), and the records only such scans use stay empty
 * (dc_record_init, path NULL): a rank unpacks only what it processes.
 * There a readable scan of its own carries the same fields plus one
 * record slot, first_rec = example_rec, with only rec_file (the window
 * file whose kept row is its row) and its path: what the metadata path
 * reads. */
typedef struct {
    uint64_t index;          /* batch number in this run, from 0 */
    dc_scan *scans;          /* in Scan ID order; record indices refer to recs[] below */
    size_t n_scans;
    int32_t *owner;          /* rank that handles each scan */
    char **source_folder;    /* scope path as given, per scan */
    dc_record *recs;         /* the first n_full records (below) */
    char **paths;            /* per record */
    size_t n_recs;
    uint32_t *rec_file;      /* per record: its window file (dc_record.file_idx) */
    size_t n_full;           /* records with a dc_record; the ones after (a metadata-only
                                batch's row files) have only their file and path: a
                                1 KB record each was 10 MB of fresh pages per rank */
    dc_buf wire;             /* rank 0, from dc_batch_build to dc_batch_bcast: the packed batch */
} dc_batch;

void dc_batch_free(dc_batch *b);

/* Pure: how many of scans[0..n) form the next batch: up to max_scans, ending
 * with the scan whose cost (bytes to read) brings the batch to max_cost.
 * Depends on the scans alone (never on time or rank count): outputs are the
 * same whatever the rank count.  At least 1 when n > 0. */
size_t dc_batch_cut(const dc_scan *scans, size_t n, size_t max_scans, uint64_t max_cost);

/* Rank 0: build batch from scans[first..first+count) of all scans, with the
 * records and file list they refer to, assigning owners by cost (largest
 * first to the least loaded rank, ties to the lowest rank), or, for a
 * metadata_only run, to the rank that parsed the scan's row file in the
 * header pass (dc_header_rank; it kept the row) and marked so that each
 * rank unpacks only its own scans (dc_batch above).  Owners never change
 * outputs. */
void dc_batch_build(const dc_scan *scans, size_t first, size_t count, const dc_record *recs,
                    const dc_filelist *fl, int nranks, int metadata_only, uint64_t index,
                    dc_batch *b);

/* Collective: broadcast rank 0's batch to everyone (b is filled on others). */
int dc_batch_bcast(MPI_Comm comm, dc_batch *b);

/* Pure: the window files whose kept rows become CSV rows (first_rec of each
 * readable scan of scans[0..n)), grouped by the rank that kept them
 * (dc_header_rank over n_files), each rank's in scan order, into out (room
 * for n); per_rank[r] = how many are rank r's.  Returns the total. */
uint64_t dc_row_files_by_owner(const dc_scan *scans, size_t n, const dc_record *recs,
                               uint64_t n_files, int nranks, uint64_t *out, uint64_t *per_rank);

/* Collective, metadata-only runs: rank 0 (IN scans, n, recs, fl) sends
 * each rank its part of dc_row_files_by_owner; OUT *files (malloc'ed),
 * *n_mine on every rank.  0, or -1 on a garbled transfer. */
int dc_row_files_scatter(MPI_Comm comm, const dc_scan *scans, size_t n, const dc_record *recs,
                         const dc_filelist *fl, uint64_t **files, size_t *n_mine);

#endif
