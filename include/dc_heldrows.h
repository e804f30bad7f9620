/*
 * dc_heldrows.h - CSV rows held by a rank from their batch until the
 * checkpoint appends them (checkpoint.c), and the checkpoint policy that
 * bounds how many are held (pure, no MPI, no I/O).
 *
 * Rows are kept one after another in one text buffer (about 1.4 KB per 8x8
 * CT row), not one allocation each: a row of its own buffer cost 2 KiB (the
 * buffer's doubling) plus the copy the append made of all of them at once.
 * Positions ascend (rows are added in checkpoint order), so the rows of a
 * range of positions are one run of the buffer: the checkpoint appends them
 * a chunk of positions at a time (dc_held_range, dc_held_views) and the
 * append copies one chunk, not the checkpoint.
 */
#ifndef DC_HELDROWS_H
#define DC_HELDROWS_H

#include <stddef.h>
#include <stdint.h>

#include "dc_util.h"

typedef struct {
    dc_buf text;   /* every row's text ("\n" included), one after another */
    uint64_t *end; /* row i is text.data[end[i-1] (0 for i = 0) .. end[i]) */
    uint32_t *pos; /* row i's position in the checkpoint, ascending */
    size_t n, cap;
} dc_held_rows;

void dc_held_init(dc_held_rows *h);
void dc_held_free(dc_held_rows *h);
/* forget the rows; a large buffer is released (memory follows the checkpoint) */
void dc_held_clear(dc_held_rows *h);
/* a row at position pos (> every position held) */
void dc_held_add(dc_held_rows *h, uint32_t pos, const char *text, size_t len);
/* a row at position pos made of two pieces: text[0..len) then rest[0..rest_len) */
void dc_held_add2(dc_held_rows *h, uint32_t pos, const char *text, size_t len, const char *rest,
                  size_t rest_len);
/* bytes of memory the rows take */
size_t dc_held_bytes(const dc_held_rows *h);
/* the rows whose positions are in [lo, hi): rows [*first, *last) */
void dc_held_range(const dc_held_rows *h, uint32_t lo, uint32_t hi, size_t *first, size_t *last);
/* rows [first, last) as buffers that point into the held text (out[0..):
 * valid until the next add or clear; never freed) */
void dc_held_views(const dc_held_rows *h, size_t first, size_t last, dc_buf *out);
/* every row as a buffer of its own (to be rewritten, e.g. remapped to new
 * columns), then dc_held_repack takes them back (and frees them) */
dc_buf *dc_held_unpack(const dc_held_rows *h);
void dc_held_repack(dc_held_rows *h, dc_buf *rows);

/* The checkpoint policy: a checkpoint is due after a batch when
 * commit_every scans are held, commit_seconds passed since the last one, or
 * a rank's held rows reached max_held_bytes (0: no memory bound). */
typedef struct {
    size_t commit_every;
    double commit_seconds;
    size_t max_held_bytes;
} dc_ckpt_policy;

int dc_ckpt_policy_due(const dc_ckpt_policy *p, size_t n_held, double seconds_since,
                       size_t held_bytes);

#endif
