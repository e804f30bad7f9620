/*
 * dc_folderledger.h - the folder ledger: folders whose every scan is
 * committed, so a resume skips them without opening any of their files
 * (issue 11, SPEC 10: reads that do not grow with the archive).
 *
 * A resume looks up each Scan ID in the done-set (dc_doneset.h), but to
 * know a file's Scan ID it must read its header: without the ledger a
 * resume re-reads every done file.  The ledger records, per folder whose
 * scans all have durable rows, one 128-bit fingerprint (dc_idfp) of
 *   - the settings that decide which scans a folder gives (volumes,
 *     split_inconsistent, input.select, privacy, ...: dc_fledger_config),
 *   - the folder's path as dc_privacy_folder_view shows it (with a
 *     privacy.profile a keyed pseudonym: no plain path is ever written),
 *   - its signature: name, size, mtime, ctime and inode of every regular
 *     file in it, in walk order (dc_folder_sig), always taken before the
 *     file's bytes are read: by the walk with one fstatat per file when the
 *     ledger has recorded this folder before (dc_fledger_known: a resume
 *     must decide before reading), else from the header pass's own fstat
 *     of each file, which every record carries (dc_fledger_sign_records: a
 *     fresh crawl, or a folder new to the ledger, makes no stat of its own),
 *   - whether any of its scans is listed in unreadable_files.
 * The walk asks dc_fledger_has for each folder it reads: a folder whose
 * fingerprint is in the ledger is handed on without files, marked done
 * (dc_filelist.scope_done).  A changed folder (a file added, removed,
 * replaced or touched) has another signature, so it is walked and read as
 * before, and the done-set still skips its done scans.  With
 * run.retry_unreadable only folders without unreadable scans are skipped.
 *
 * Storage: the fingerprints are a dc_doneset of their own (kind 0; kind 1
 * holds a key of each recorded folder's path and settings only, so that a
 * resume stats only the files of folders that may be done) in
 * done_<id>.d/folders/ (sorted runs, fences in memory, manifest replaced
 * atomically), so rank 0's memory does not grow with the archive.
 *
 * Kill safety: a folder's fingerprint is noted when the last of its scans
 * to do is handed a row (dc_fledger_scan_noted; or at planning when none
 * is left to do) and written only by dc_fledger_commit, which the
 * checkpoint calls after the CSV rows are durable and the done-set's
 * manifest is written.  A kill before leaves the folder out (it is read
 * again; the done-set skips its scans).  At open, a ledger whose done-set
 * was rebuilt (a CSV edited, rewritten or lost, rows dropped by repair) is
 * dropped with a warning (dc_fledger_open with trusted 0), never trusted.
 */
#ifndef DC_FOLDERLEDGER_H
#define DC_FOLDERLEDGER_H

#include <stdint.h>

#include "dc_config.h"
#include "dc_doneset.h"
#include "dc_record.h"
#include "dc_walk.h"

/* OUT out: a digest of the settings that decide which scans (and Scan IDs) a
 * folder's files give.  A change makes every folder look new (no skip). */
void dc_fledger_config(const dc_config *cfg, uint64_t out[2]);

/* The ledger fingerprint of a folder (pure), its low 32 bits zero: the
 * recorded one holds there the folder's number of scans, so that a resume
 * that skips it still counts them "already done". */
dc_idfp dc_fledger_key(const uint64_t cfg[2], const char *folder_view, const dc_folder_sig *sig,
                       int has_unreadable);

/* per folder (scope) of the window being run */
typedef struct {
    dc_idfp key;       /* its fingerprint (has_unreadable filled in at the end) */
    dc_idfp key_unread;
    dc_idfp path_key;  /* its path and the settings only (which folders a resume stats) */
    uint32_t todo;     /* scans still without a held row */
    uint32_t n_scans;  /* scans grouping made of it (recorded: "already done" when skipped) */
    uint8_t tracked;   /* DICOM files and a usable signature: can be ledgered */
    uint8_t unread;    /* a scan of it is or will be in unreadable_files */
    uint8_t noted;     /* its fingerprint is pending */
} dc_fledger_folder;

typedef struct {
    dc_idfp scan;      /* Scan ID fingerprint */
    uint32_t scope;
} dc_fledger_scanref;

typedef struct {
    dc_doneset set;    /* kind 0: folder fingerprints */
    int active;        /* opened on rank 0 (not a dry run) */
    int retry_unreadable;
    uint64_t cfg[2];
    dc_fledger_folder *f; /* [n_f]: the window's folders */
    size_t n_f;
    dc_fledger_scanref *refs; /* the window's scans to do, sorted by fingerprint */
    size_t n_refs, cap_refs;
    uint64_t skipped_folders, skipped_files; /* by the walk, this run */
    uint64_t skipped_scans;                   /* their scans, not yet taken */
    uint64_t ledgered;                        /* folders committed, this run */
} dc_fledger;

/* dir: done_<id>.d/folders.  Nothing is read or written. */
void dc_fledger_init(dc_fledger *l, const char *dir, const dc_config *cfg);
void dc_fledger_free(dc_fledger *l);

/* Rank 0 at start, after the done-set is loaded: open the ledger; with
 * trusted 0 (the done-set had to be rebuilt) drop it with a warning.
 * Returns 0, or -1 with err. */
int dc_fledger_open(dc_fledger *l, int trusted, char *err, size_t errlen);

/* The walk's first question (dc_walk_set_ledger), before any stat: was
 * this folder (any signature) ever recorded?  0 for an empty ledger or a
 * folder never recorded (the walk then makes no stat: its signature comes
 * from the records); 1 when it may be done (a path key collision only
 * costs the stats).  A ledger written before path keys: always 1. */
int dc_fledger_known(void *ledger, const char *dir);

/* The walk's question (dc_walk_set_ledger): is this folder, with this
 * signature, done since an earlier run? */
int dc_fledger_has(void *ledger, const char *dir, const dc_folder_sig *sig);

/* OUT sigs[fl->n_sig]: each scope's signature, fl->scope_sig's, except
 * those the walk left from_records: computed here from the header pass's
 * fstat of each file (dc_record.stat, taken before the file's bytes were
 * read), in walk order, with the walk's rules (a file not opened, not
 * regular, or without a record: ok 0).  For an unchanged folder it equals
 * the walk's fstatat signature (test_folderledger). */
void dc_fledger_sign_records(const dc_filelist *fl, const dc_record *recs, size_t n_recs,
                             dc_folder_sig *sigs);

/* the ledger holds no folder (no lookups: the walk need not sign folders) */
int dc_fledger_empty(const dc_fledger *l);

/* Planning a window (rank 0): begin with the window's folders (fl: their
 * signatures and done flags from the walk) and records (which folders had
 * a DICOM file); then each scan grouping made (done: 0 to do, 1 a metadata
 * row already, 2 listed in unreadable_files already); then end. */
void dc_fledger_window(dc_fledger *l, const dc_filelist *fl, const dc_record *recs, size_t n_recs);
/* scan: the Scan ID's fingerprint (dc_idfp_of; unused when done) */
void dc_fledger_scan(dc_fledger *l, uint32_t scope, dc_idfp scan, int done);
void dc_fledger_planned(dc_fledger *l);

/* A scan of the window got its row (held for the next checkpoint). */
void dc_fledger_scan_noted(dc_fledger *l, dc_idfp scan, int unreadable); /* scan: dc_idfp_of(Scan ID) */

/* After a checkpoint's rows and done-set are durable: write the folders
 * noted since.  A failure is a warning (they are read again next time). */
void dc_fledger_commit(dc_fledger *l);

/* the scans of the folders skipped since the last call ("already done") */
uint64_t dc_fledger_take_skipped(dc_fledger *l);

/* an info line: folders skipped and recorded this run */
void dc_fledger_report(const dc_fledger *l);

#endif
