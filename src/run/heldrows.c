/*
 * heldrows.c - a rank's CSV rows from their batch to the checkpoint, in one
 * text buffer, and the checkpoint policy (see dc_heldrows.h).  Pure.
 */
#include "dc_heldrows.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* a buffer above this is released at a clear, not kept for the next checkpoint */
#define KEEP_TEXT_BYTES (4u << 20)
#define GROW_MIN_BYTES (1u << 20)

void dc_held_init(dc_held_rows *h)
{
    memset(h, 0, sizeof *h);
    dc_buf_init(&h->text);
}

void dc_held_free(dc_held_rows *h)
{
    dc_buf_free(&h->text);
    free(h->end);
    free(h->pos);
    dc_held_init(h);
}

void dc_held_clear(dc_held_rows *h)
{
    if (h->text.cap > KEEP_TEXT_BYTES) {
        dc_held_free(h);
        return;
    }
    dc_buf_reset(&h->text);
    h->n = 0;
}

/* room for len more bytes, growing by an eighth (at least 1 MiB), not by
 * doubling: the buffer is the checkpoint's largest, and a large realloc
 * moves pages (mremap) rather than copying them */
static void grow_text(dc_buf *t, size_t len)
{
    size_t need = t->len + len + 1;
    if (need <= t->cap) return;
    size_t step = t->cap / 8 > GROW_MIN_BYTES ? t->cap / 8 : GROW_MIN_BYTES;
    size_t cap = t->cap + step > need ? t->cap + step : need;
    t->data = dc_realloc(t->data, cap);
    t->cap = cap;
}

void dc_held_add2(dc_held_rows *h, uint32_t pos, const char *text, size_t len, const char *rest,
                  size_t rest_len)
{
    assert(h->n == 0 || pos > h->pos[h->n - 1]);
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->end = dc_realloc(h->end, h->cap * sizeof *h->end);
        h->pos = dc_realloc(h->pos, h->cap * sizeof *h->pos);
    }
    grow_text(&h->text, len + rest_len);
    dc_buf_append(&h->text, text, len);
    dc_buf_append(&h->text, rest, rest_len);
    h->end[h->n] = h->text.len;
    h->pos[h->n++] = pos;
}

void dc_held_add(dc_held_rows *h, uint32_t pos, const char *text, size_t len)
{
    dc_held_add2(h, pos, text, len, NULL, 0);
}

size_t dc_held_bytes(const dc_held_rows *h)
{
    return h->text.cap + h->cap * (sizeof *h->end + sizeof *h->pos);
}

/* first row at a position >= p (binary search: positions ascend) */
static size_t first_at(const dc_held_rows *h, uint32_t p)
{
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->pos[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void dc_held_range(const dc_held_rows *h, uint32_t lo, uint32_t hi, size_t *first, size_t *last)
{
    *first = first_at(h, lo);
    *last = hi > lo ? first_at(h, hi) : *first;
}

void dc_held_views(const dc_held_rows *h, size_t first, size_t last, dc_buf *out)
{
    for (size_t i = first; i < last; i++) {
        uint64_t start = i ? h->end[i - 1] : 0;
        out[i - first].data = h->text.data ? h->text.data + start : NULL;
        out[i - first].len = (size_t)(h->end[i] - start);
        out[i - first].cap = 0; /* not owned */
    }
}

dc_buf *dc_held_unpack(const dc_held_rows *h)
{
    dc_buf *rows = dc_malloc(sizeof *rows * (h->n ? h->n : 1));
    for (size_t i = 0; i < h->n; i++) {
        uint64_t start = i ? h->end[i - 1] : 0;
        dc_buf_init(&rows[i]);
        dc_buf_append(&rows[i], h->text.data + start, (size_t)(h->end[i] - start));
    }
    return rows;
}

void dc_held_repack(dc_held_rows *h, dc_buf *rows)
{
    dc_buf_reset(&h->text);
    size_t n = h->n;
    for (size_t i = 0; i < n; i++) {
        dc_buf_append(&h->text, rows[i].data, rows[i].len);
        h->end[i] = h->text.len;
        dc_buf_free(&rows[i]);
    }
    free(rows);
}

int dc_ckpt_policy_due(const dc_ckpt_policy *p, size_t n_held, double seconds_since,
                       size_t held_bytes)
{
    if (n_held >= p->commit_every) return 1;
    if (seconds_since >= p->commit_seconds) return 1;
    return p->max_held_bytes && held_bytes >= p->max_held_bytes;
}
