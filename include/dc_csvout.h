/*
 * dc_csvout.h - the two CSV files, written by all ranks (SPEC 4, 7, 8).
 *
 * Rows are produced by the rank that handled the scan.  An append (at each
 * checkpoint; in metadata-only runs at the end of each window) has the
 * ranks agree on the row lengths (one small allreduce), compute every row's
 * offset, and write their own rows with one collective MPI-IO write; no
 * rank funnels the others' bytes.  The batch order (Scan ID order) fixes
 * the row order, so the file does not depend on the rank count.  An append
 * starts the rows' write-back; dc_csvout_sync (at the checkpoint) makes
 * them durable, and finds little left to write.
 *
 * When a batch brings columns the metadata header lacks, rank 0 rewrites the
 * file with the wider header first (temp file, fsync, rename: a kill leaves
 * the old file or the new one).
 */
#ifndef DC_CSVOUT_H
#define DC_CSVOUT_H

#include <mpi.h>
#include <stdint.h>

#include "dc_colkey.h"
#include "dc_csv.h"
#include "dc_util.h"

typedef struct {
    char *path;
    uint64_t size;  /* bytes appended (same on every rank) */
    int unsynced;   /* appended since the last dc_csvout_sync (same on every rank) */
    int writeback_fd; /* this rank's read-only descriptor of the open file: starts the
                         write-back of what an append wrote (-1 none) */
    dc_colset cols; /* metadata CSV only: the header columns after the two fixed ones */
    int is_meta;    /* 1: metadata CSV (header from cols), 0: unreadable CSV (fixed header) */
    MPI_File fh;    /* open from the first append until dc_csvout_close (or a rewrite) */
    int open;       /* fh is open (same on every rank) */
} dc_csvout;

#define DC_UNREADABLE_HEADER "Reason for failure,Scan ID,No. DICOMs in scan,Example file\n"
#define DC_META_FIXED_COLS 2 /* "Scan ID", "No. DICOMs in scan" */

void dc_csvout_init(dc_csvout *c, const char *path, int is_meta);
void dc_csvout_free(dc_csvout *c);

/* Share rank 0's view of the file (size, header columns) with every rank. */
void dc_csvout_bcast(MPI_Comm comm, dc_csvout *c);

/* Collective: add the columns of the given rows (each rank passes its own)
 * to the header.  When the header grows and the file has rows, rank 0
 * rewrites it with the wider header.  Returns 0, or -1 with err (same on all
 * ranks). */
int dc_csvout_widen(MPI_Comm comm, dc_csvout *c, const dc_row *const *rows, size_t n_rows,
                    char *err, size_t errlen);

/* Collective append.  n_total rows in the batch; this rank supplies the
 * rows at positions pos[0..n_mine) (text including "\n").  Positions nobody
 * supplies are empty.  Writes the header first when the file is new (size
 * 0).  Not durable yet: starts the write-back (sync_file_range), so that the
 * dc_csvout_sync of the next checkpoint waits for little.  The file stays
 * open for the next append (an MPI-IO open and close per checkpoint cost
 * ~10 ms with Open MPI 4.1's OMPIO).  Returns 0 or -1 (same on all ranks). */
int dc_csvout_append(MPI_Comm comm, dc_csvout *c, size_t n_total, const uint32_t *pos,
                     const dc_buf *texts, size_t n_mine, char *err, size_t errlen);

/* Collective: make every row appended since the last sync durable (every
 * rank syncs what it wrote), and check that the file holds them all (a full
 * disk: Open MPI 4.1 does not report a short collective write).  Returns 0,
 * or -1 with err (same on all ranks). */
int dc_csvout_sync(MPI_Comm comm, dc_csvout *c, char *err, size_t errlen);

/* Collective: close the file if an append left it open (synced first). */
void dc_csvout_close(MPI_Comm comm, dc_csvout *c);

/* Rank 0 only, file not open (dc_csvout_close first): rewrite the file
 * keeping only records accepted by keep()
 * and mapping them to the current header (c->cols).  Atomic.  Used for
 * repair, for retry_unreadable, and for widening. */
typedef int (*dc_csv_keep_fn)(const dc_strvec *fields, void *ctx);
int dc_csvout_rewrite(dc_csvout *c, dc_csv_keep_fn keep, void *ctx, char *err, size_t errlen);

/* Before anything is written: the csv_style of this run.  Rank 0 reads the
 * header of the metadata CSV at path, if there is one; its style wins over
 * the config's (appends never name a tag twice), unless the config asked for
 * the other style explicitly (given): then -1 with err naming both styles and
 * the file (exit 2).  Collective; sets dc_flatten_set_style on every rank.
 * Returns 0 or -1 (same on all ranks). */
int dc_csvout_settle_style(MPI_Comm comm, const char *path, int style, int given, char *err,
                           size_t errlen);

/* The header line for the current columns */
void dc_csvout_header(const dc_csvout *c, dc_buf *out);

/* The header's fields (fixed columns first) for the current columns, to
 * remap rows formatted for it after the columns change. */
void dc_csvout_header_fields(const dc_csvout *c, dc_strvec *out);

/* Rows *texts[0..n) formatted for the header old_header (its fields, from
 * dc_csvout_header_fields) rewritten in place for the current columns, as
 * the widening rewrite does for rows already in the file.  Returns 0, or -1
 * when a text is not one complete CSV record (left as it was). */
int dc_csvout_remap_rows(const dc_csvout *c, const dc_strvec *old_header, dc_buf *const *texts,
                         size_t n);

#endif
