/*
 * le_pack.h - little-endian put/get helpers for the vendor values and extra
 * attributes that travel with records and scans (vendor.c, xattr.c).  The
 * reader turns bad on any overrun and then returns zeros, so unpacking
 * checks rd.bad once at the end.
 */
#ifndef DC_LE_PACK_H
#define DC_LE_PACK_H

#include <stdint.h>
#include <string.h>

#include "dc_util.h"

static inline void le_put(dc_buf *b, uint64_t v, int n)
{
    uint8_t t[8];
    for (int i = 0; i < n; i++) t[i] = (uint8_t)(v >> (8 * i));
    dc_buf_append(b, t, (size_t)n);
}

static inline void le_put_f(dc_buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    le_put(b, u, 8);
}

/* a string of at most 65535 bytes: u16 length + bytes */
static inline void le_put_s(dc_buf *b, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap < 65535 ? cap : 65535);
    le_put(b, n, 2);
    dc_buf_append(b, s, n);
}

/* the same through a cursor into space the caller reserved: the fixed part
 * of a record's values in one dc_buf_append (per-field appends cost more
 * than the rest of a batch build, see record.c) */
static inline void le_w(uint8_t **q, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) (*q)[i] = (uint8_t)(v >> (8 * i));
    *q += n;
}

static inline void le_w_f(uint8_t **q, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    le_w(q, u, 8);
}

static inline void le_w_s(uint8_t **q, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap < 65535 ? cap : 65535);
    le_w(q, n, 2);
    memcpy(*q, s, n);
    *q += n;
}

typedef struct {
    const uint8_t *p, *end;
    int bad;
} le_reader;

static inline uint64_t le_get(le_reader *rd, int n)
{
    if (rd->bad || rd->end - rd->p < n) {
        rd->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)rd->p[i] << (8 * i);
    rd->p += n;
    return v;
}

static inline double le_get_f(le_reader *rd)
{
    uint64_t u = le_get(rd, 8);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* into out[outlen] (NUL-terminated); too long for out is garbage */
static inline void le_get_s(le_reader *rd, char *out, size_t outlen)
{
    size_t n = (size_t)le_get(rd, 2);
    out[0] = '\0';
    if (rd->bad || n >= outlen || (size_t)(rd->end - rd->p) < n) {
        rd->bad = 1;
        return;
    }
    memcpy(out, rd->p, n);
    out[n] = '\0';
    rd->p += n;
}

#endif
