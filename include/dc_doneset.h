/*
 * dc_doneset.h - the durable done-set: which Scan IDs the CSVs already hold
 * (SPEC 7, 10), kept on disk so a resume neither parses the whole metadata
 * CSV nor holds every done Scan ID in memory.
 *
 * A Scan ID is kept as a 128-bit fingerprint (dc_idfp: two 64-bit hashes).
 * Two sets (kinds): Scan IDs with a metadata row, and Scan IDs listed in
 * unreadable_files.  Each set is a list of sorted runs of fingerprints in
 * files of the folder done_<id>.d beside the CSVs (an LSM tree): every
 * checkpoint writes the scans it committed as one new run, and the newest
 * two runs are merged while the newer is at least half the older's size, so
 * a set of N fingerprints has O(log N) runs.  A run file keeps every 256th
 * fingerprint (its fence) at its end; only the fences are held in memory
 * (1 byte per 16 fingerprints), a lookup reads one 4 KiB block per run.
 *
 * The CSVs stay the source of truth.  The manifest (done_<id>.d/manifest,
 * replaced atomically after the runs are durable) says, per CSV, how many
 * of its bytes the runs cover, with hashes of its header line (a rewrite
 * with new columns changes it) and of the last 4 KiB of those bytes.  At open, a CSV that still matches
 * is parsed only from there (the rows of the last checkpoint, when a kill
 * came between the CSV commit and the done-set write); one that does not
 * (no manifest, outputs of an older version, a CSV rewritten or edited, a
 * damaged run file) is parsed whole once, in chunks of 2^20 fingerprints
 * written as runs and merged: memory stays bounded either way.
 *
 * Scans noted during the run (dc_doneset_note, at each batch) are pending
 * in memory until the checkpoint that makes their rows durable writes them
 * (dc_doneset_commit).  Lookups see what was done when the run started
 * (the runs marked by dc_doneset_mark_start; merges during the run leave
 * them alone): a run never looks up its own scans again, so a fresh crawl
 * reads no run file, and what is "done" never depends on when checkpoints
 * were taken.
 */
#ifndef DC_DONESET_H
#define DC_DONESET_H

#include <stddef.h>
#include <stdint.h>

#include "dc_util.h"

/* A set of Scan IDs kept as 128-bit fingerprints (16 bytes per ID instead
 * of the string and a hash slot: a false "done" at 10^8 IDs has a
 * probability of about 10^-23).  Add, then seal (sort), then look up by
 * binary search. */
typedef struct {
    uint64_t a, b;
} dc_idfp;
typedef struct {
    dc_idfp *v;
    size_t n, cap;
} dc_idset;

void dc_idset_init(dc_idset *s);
void dc_idset_free(dc_idset *s);
void dc_idset_add(dc_idset *s, const char *id);
void dc_idset_seal(dc_idset *s); /* sort, drop repeats */
/* Sort n elements of `size` bytes, each starting with a dc_idfp, by it
 * (the order of the run files), stably: a merge sort with the comparison
 * inline (qsort's through a pointer cost ~700 instructions per element
 * for a window's 20,000 fingerprints) */
void dc_idfp_sort(void *base, size_t n, size_t size);
int dc_idset_has(const dc_idset *s, const char *id); /* sealed s */
dc_idfp dc_idfp_of(const char *id);
int dc_idset_has_fp(const dc_idset *s, dc_idfp f);

enum { DC_DONE_META = 0, DC_DONE_UNREAD = 1, DC_DONE_KINDS = 2 };

/* one sorted run file */
typedef struct {
    char *name;      /* file name in the done-set folder */
    int fd;
    uint64_t n;      /* fingerprints */
    dc_idfp *fence;  /* every 256th fingerprint */
    size_t n_fence;
    uint64_t block;  /* the block in buf (UINT64_MAX: none) */
    dc_idfp *buf;    /* one block */
    int unsynced;    /* written by this process, not fsync'ed yet (only runs a
                        manifest names need be durable: a merged-away run never is) */
} dc_fprun;

/* what the runs of one kind cover of its CSV */
typedef struct {
    uint64_t covered; /* bytes of the CSV whose rows are in the runs */
    uint64_t head_len; /* bytes of its header line (through the newline) */
    uint64_t head;    /* hash of the header line */
    uint64_t tail;    /* hash of the last min(4 KiB, covered) bytes before covered */
} dc_donecover;

typedef struct {
    dc_fprun *runs;      /* oldest (largest) first */
    size_t n_runs;
    size_t n_lookup;     /* runs[0..n_lookup): what lookups see (dc_doneset_mark_start) */
    dc_donecover cover;
    dc_idset pending;    /* noted, not durable yet */
} dc_doneset_kind;

typedef struct {
    char *dir;                   /* done_<id>.d */
    dc_doneset_kind k[DC_DONE_KINDS];
    uint64_t next_run;           /* number of the next run file */
    dc_strvec doomed;            /* run files to delete after the next manifest */
} dc_doneset;

void dc_doneset_init(dc_doneset *d, const char *dir);
void dc_doneset_free(dc_doneset *d);

/* Rank 0 at start: read the manifest and open the runs it names; delete
 * run files it does not name (a write a kill interrupted).  A missing or
 * unreadable manifest or run leaves the kinds empty with nothing covered
 * (dc_doneset_matches then says so).  Returns 0, or -1 with err. */
int dc_doneset_open(dc_doneset *d, char *err, size_t errlen);

/* Do the runs of kind k still describe the first cover.covered bytes of
 * the CSV at path (header and tail hashes)?  An absent CSV matches an
 * empty kind. */
int dc_doneset_matches(const dc_doneset *d, int k, const char *csv_path);

/* Forget every run of kind k (their files go with the next manifest). */
void dc_doneset_reset(dc_doneset *d, int k);

/* Fingerprints of rows already in the CSV (a rebuild or a tail): kept in
 * buf, which is written as a run when it holds 2^20; dc_doneset_flush
 * writes the rest.  Not in the manifest until dc_doneset_write_manifest. */
void dc_doneset_add_durable(dc_doneset *d, int k, dc_idset *buf, const char *id);
int dc_doneset_flush(dc_doneset *d, int k, dc_idset *buf, char *err, size_t errlen);

/* A scan of this run whose row is held for the next checkpoint. */
void dc_doneset_note(dc_doneset *d, int k, const char *id);

/* The same for a fingerprint made by the caller (the folder ledger,
 * dc_folderledger.h, keeps fingerprints of folders, not Scan IDs). */
void dc_doneset_note_fp(dc_doneset *d, int k, dc_idfp f);
int dc_doneset_has_fp(dc_doneset *d, int k, dc_idfp f);
/* Is a fingerprint in [lo, hi] (a range: the folder ledger keeps a count in
 * the low bits) in what lookups see?  1 with *found, else 0. */
int dc_doneset_find_fp(dc_doneset *d, int k, dc_idfp lo, dc_idfp hi, dc_idfp *found);

/* Lookups see the runs kind k has now (at the end of start-up or of a
 * rebuild), not the ones this run adds later. */
void dc_doneset_mark_start(dc_doneset *d, int k);

/* Was id in kind k when dc_doneset_mark_start was called? */
int dc_doneset_has(dc_doneset *d, int k, const char *id);

/* Rank 0 after a checkpoint made the CSV rows durable: the pending
 * fingerprints become a run per kind, runs are merged, and the manifest
 * records the CSVs' committed sizes.  Returns 0, or -1 with err (the
 * pending fingerprints stay in memory, the next start rebuilds). */
int dc_doneset_commit(dc_doneset *d, const char *const csv_path[DC_DONE_KINDS],
                      const uint64_t csv_size[DC_DONE_KINDS], char *err, size_t errlen);

/* Merge runs, set each kind's cover to csv_size of csv_path (UINT64_MAX:
 * keep the kind's cover as it is), replace the manifest, delete doomed
 * files.  Returns 0, or -1 with err. */
int dc_doneset_write_manifest(dc_doneset *d, const char *const csv_path[DC_DONE_KINDS],
                              const uint64_t csv_size[DC_DONE_KINDS], char *err, size_t errlen);

/* Call fn for every fingerprint of kind k's runs (repeats across runs
 * possible).  Returns 0, or -1 with err on a read failure. */
int dc_doneset_each(dc_doneset *d, int k, void (*fn)(dc_idfp f, void *ctx), void *ctx, char *err,
                    size_t errlen);

/* entries in kind k's runs (with repeats across runs) */
uint64_t dc_doneset_count(const dc_doneset *d, int k);

#endif
