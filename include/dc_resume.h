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
#include "dc_h5out.h"
#include "dc_util.h"

/* A set of Scan IDs kept as 128-bit fingerprints (two 64-bit hashes;
 * 16 bytes per ID instead of the string and a hash slot: a false "done" at
 * 10^8 IDs has a probability of about 10^-23).  Add, then seal (sort), then
 * look up by binary search. */
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
int dc_idset_has(const dc_idset *s, const char *id); /* sealed s */
dc_idfp dc_idfp_of(const char *id);
int dc_idset_has_fp(const dc_idset *s, dc_idfp f);

typedef struct {
    dc_csvout meta;       /* metadata_<id>.csv */
    dc_csvout unread;     /* unreadable_files_<id>.csv */
    char *index_path;     /* pixel_data_<id>.h5 */
    char *seg_dir;        /* pixel_data_<id>.h5.d */
    char *seg_dir_name;   /* "pixel_data_<id>.h5.d" (link targets are relative) */
    dc_h5index index;     /* rank 0 */
    dc_idset meta_ids;    /* rank 0: Scan IDs with a metadata row (fingerprints) */
    dc_idset unread_ids;  /* rank 0: Scan IDs in unreadable_files (fingerprints) */
    uint64_t next_seg;    /* number of the next segment file */
    int index_dirty;      /* rank 0: index must be rewritten */
} dc_outputs;

/* Rank 0: load and repair.  Returns 0, or -1 with err naming the file. */
int dc_outputs_open(const dc_config *cfg, dc_outputs *o, char *err, size_t errlen);
/* All ranks: paths only (the others learn sizes/columns by dc_csvout_bcast) */
void dc_outputs_paths(const dc_config *cfg, dc_outputs *o);
void dc_outputs_free(dc_outputs *o);

/* Rank 0: is this scan already done (stored, or unreadable unless retry)? */
int dc_outputs_done(const dc_outputs *o, const char *scan_id, int retry_unreadable);

/* Rank 0: remove these Scan IDs from unreadable_files (before retrying them). */
int dc_outputs_forget_unreadable(dc_outputs *o, const dc_strset *ids, char *err, size_t errlen);

/* "seg_000012.h5" for segment number n (caller frees) */
char *dc_outputs_seg_name(uint64_t n);

#endif
