/*
 * dc_resume.h - existing outputs: what is done, and start-up repair (SPEC 7).
 *
 * Rank 0 opens the outputs of a previous run with the same id before any
 * work: it cuts torn CSV tails (an incomplete last record or NUL holes left
 * by a kill), drops index links that have no metadata row, drops metadata
 * rows whose dataset is missing (so the scan is redone), rebuilds a missing
 * index from its segment files, moves datasets stored inside an old
 * pixel_data file into the segment folder, and deletes segment files no link
 * refers to.  Every repair is reported with a message saying what was done.
 */
#ifndef DC_RESUME_H
#define DC_RESUME_H

#include "dc_config.h"
#include "dc_csvout.h"
#include "dc_doneset.h"
#include "dc_folderledger.h"
#include "dc_h5out.h"
#include "dc_util.h"

typedef struct {
    dc_csvout meta;       /* metadata_<id>.csv */
    dc_csvout unread;     /* unreadable_files_<id>.csv */
    char *index_path;     /* pixel_data_<id>.h5 */
    char *seg_dir;        /* pixel_data_<id>.h5.d */
    char *seg_dir_name;   /* "pixel_data_<id>.h5.d" (link targets are relative) */
    dc_h5index index;     /* rank 0 */
    dc_doneset done;      /* rank 0: Scan IDs in the CSVs, on disk (dc_doneset.h) */
    dc_fledger folders;   /* rank 0: folders whose scans are all done (dc_folderledger.h) */
    int done_rebuilt;     /* rank 0: the done-set no longer matched a CSV at start */
    uint64_t next_seg;    /* number of the next segment file */
    int index_dirty;      /* rank 0: index must be rewritten */
} dc_outputs;

/* Rank 0: load and repair.  Returns 0, or -1 with err naming the file. */
int dc_outputs_open(const dc_config *cfg, dc_outputs *o, char *err, size_t errlen);
/* All ranks: paths only (the others learn sizes/columns by dc_csvout_bcast) */
void dc_outputs_paths(const dc_config *cfg, dc_outputs *o);
void dc_outputs_free(dc_outputs *o);

/* Rank 0: is this scan already done (stored, or unreadable unless retry)? */
int dc_outputs_done(dc_outputs *o, const char *scan_id, int retry_unreadable);
/* The same, saying how: 0 not done, 1 a metadata row, 2 listed in unreadable_files. */
int dc_outputs_done_kind(dc_outputs *o, const char *scan_id, int retry_unreadable);
/* Rank 0: is this scan listed in unreadable_files? */
int dc_outputs_listed_unreadable(dc_outputs *o, const char *scan_id);

/* Rank 0, per batch: a scan whose row (metadata, or unreadable) is held
 * for the next checkpoint; done from now on. */
void dc_outputs_note_done(dc_outputs *o, dc_idfp fp, int unreadable); /* fp: dc_idfp_of(Scan ID) */
/* Rank 0 after a checkpoint's rows are durable: the done-set records them,
 * then the folder ledger the folders they completed (a failure is a
 * warning: the next start rebuilds the done-set from the CSVs). */
void dc_outputs_commit_done(dc_outputs *o);
/* Rank 0 at the end of a run, every row durable: the folders completed
 * without a row this run (all their scans done before) go to the ledger. */
void dc_outputs_commit_folders(dc_outputs *o);

/* Rank 0: remove these Scan IDs from unreadable_files (before retrying them). */
int dc_outputs_forget_unreadable(dc_outputs *o, const dc_strset *ids, char *err, size_t errlen);

/* "seg_000012.h5" for segment number n (caller frees) */
char *dc_outputs_seg_name(uint64_t n);

#endif
