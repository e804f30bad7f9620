/*
 * wire.c - the one serialiser (dc_wire.h): little endian, bounded reads.
 */
#include "dc_wire.h"

#include <string.h>

/* little-endian bytes p[0..n) as a number */
static uint64_t le_value(const uint8_t *p, int n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 8) { /* the common widths: the host's own bytes */
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    if (n == 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        return w;
    }
#endif
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void dc_wire_w_u(uint8_t **q, uint64_t v, int n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 8 || n == 4) { /* the common widths: the host's own bytes */
        uint32_t w = (uint32_t)v;
        memcpy(*q, n == 8 ? (const void *)&v : (const void *)&w, (size_t)n);
        *q += n;
        return;
    }
#endif
    for (int i = 0; i < n; i++) (*q)[i] = (uint8_t)(v >> (8 * i));
    *q += n;
}

void dc_wire_w_f64(uint8_t **q, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    dc_wire_w_u(q, u, 8);
}

/* room for n more bytes at the end of b: where to write them (the caller
 * then calls put_done with the bytes written) */
static uint8_t *put_at(dc_buf *b, size_t n)
{
    if (b->len + n >= b->cap) dc_buf_reserve(b, n);
    return (uint8_t *)b->data + b->len;
}

static void put_done(dc_buf *b, const uint8_t *q)
{
    b->len = (size_t)((const char *)q - b->data);
    b->data[b->len] = '\0';
}

void dc_wire_put_u(dc_buf *b, uint64_t v, int n)
{
    uint8_t *q = put_at(b, (size_t)n);
    dc_wire_w_u(&q, v, n);
    put_done(b, q);
}

void dc_wire_put_f64(dc_buf *b, double d)
{
    uint8_t *q = put_at(b, 8);
    dc_wire_w_f64(&q, d);
    put_done(b, q);
}

void dc_wire_put_cstr(dc_buf *b, const char *s)
{
    dc_buf_append(b, s, strlen(s) + 1);
}

void dc_wire_put_lstr(dc_buf *b, const char *s)
{
    if (!s) {
        dc_wire_put_u(b, UINT32_MAX, 4);
        return;
    }
    size_t n = strlen(s);
    dc_wire_put_u(b, (uint32_t)n, 4);
    dc_buf_append(b, s, n);
}

void dc_wire_put_bytes(dc_buf *b, const void *p, size_t n)
{
    dc_buf_append(b, p, n);
}

void dc_wire_put_u32s(dc_buf *b, const uint32_t *v, size_t n)
{
    uint8_t *q = put_at(b, 4 * n);
    for (size_t i = 0; i < n; i++) dc_wire_w_u(&q, v[i], 4);
    put_done(b, q);
}

void dc_wire_put_u64s(dc_buf *b, const uint64_t *v, size_t n)
{
    uint8_t *q = put_at(b, 8 * n);
    for (size_t i = 0; i < n; i++) dc_wire_w_u(&q, v[i], 8);
    put_done(b, q);
}

void dc_wire_put_f64s(dc_buf *b, const double *v, size_t n)
{
    uint8_t *q = put_at(b, 8 * n);
    for (size_t i = 0; i < n; i++) dc_wire_w_f64(&q, v[i]);
    put_done(b, q);
}

dc_wire_rd dc_wire_reader(const char *p, const char *end)
{
    dc_wire_rd r = {(const uint8_t *)p, (const uint8_t *)end, 0};
    return r;
}

uint64_t dc_wire_get_u(dc_wire_rd *r, int n)
{
    if (r->bad || r->end - r->p < n) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = le_value(r->p, n);
    r->p += n;
    return v;
}

double dc_wire_get_f64(dc_wire_rd *r)
{
    uint64_t u = dc_wire_get_u(r, 8);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

char *dc_wire_get_cstr(dc_wire_rd *r)
{
    const uint8_t *nul = r->bad ? NULL : memchr(r->p, '\0', (size_t)(r->end - r->p));
    if (!nul) {
        r->bad = 1;
        return NULL;
    }
    char *s = dc_strndup((const char *)r->p, (size_t)(nul - r->p));
    r->p = nul + 1;
    return s;
}

char *dc_wire_get_lstr(dc_wire_rd *r)
{
    uint32_t n = (uint32_t)dc_wire_get_u(r, 4);
    if (r->bad || n == UINT32_MAX) return NULL;
    if ((size_t)(r->end - r->p) < n || memchr(r->p, '\0', n)) {
        r->bad = 1;
        return NULL;
    }
    char *s = dc_strndup((const char *)r->p, n);
    r->p += n;
    return s;
}

void dc_wire_get_bytes(dc_wire_rd *r, void *dst, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p, n);
    r->p += n;
}

/* n elements of `size` bytes left to read?  Else the reader turns bad
 * (and reads nothing more, as element-wise reads would) */
static int have_elems(dc_wire_rd *r, size_t n, size_t size)
{
    if (!r->bad && (size_t)(r->end - r->p) / size >= n) return 1;
    r->bad = 1;
    return 0;
}

void dc_wire_get_u32s(dc_wire_rd *r, uint32_t *v, size_t n)
{
    if (!have_elems(r, n, 4)) {
        memset(v, 0, n * sizeof *v);
        return;
    }
    for (size_t i = 0; i < n; i++, r->p += 4) v[i] = (uint32_t)le_value(r->p, 4);
}

void dc_wire_get_u64s(dc_wire_rd *r, uint64_t *v, size_t n)
{
    if (!have_elems(r, n, 8)) {
        memset(v, 0, n * sizeof *v);
        return;
    }
    for (size_t i = 0; i < n; i++, r->p += 8) v[i] = le_value(r->p, 8);
}

void dc_wire_get_f64s(dc_wire_rd *r, double *v, size_t n)
{
    if (!have_elems(r, n, 8)) {
        memset(v, 0, n * sizeof *v);
        return;
    }
    for (size_t i = 0; i < n; i++, r->p += 8) {
        uint64_t u = le_value(r->p, 8);
        memcpy(&v[i], &u, 8);
    }
}

/* ---- u16-length strings (records, vendor values, extra attributes) ---- */

void dc_wire_put_s16(dc_buf *b, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap < 65535 ? cap : 65535);
    dc_wire_put_u(b, n, 2);
    dc_buf_append(b, s, n);
}

void dc_wire_w_s16(uint8_t **q, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap < 65535 ? cap : 65535);
    dc_wire_w_u(q, n, 2);
    memcpy(*q, s, n);
    *q += n;
}

void dc_wire_get_s16(dc_wire_rd *r, char *out, size_t outlen)
{
    size_t n = (size_t)dc_wire_get_u(r, 2);
    out[0] = '\0';
    if (r->bad || n >= outlen || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return;
    }
    memcpy(out, r->p, n);
    out[n] = '\0';
    r->p += n;
}

/* ---- sections ---- */

size_t dc_wire_begin_section(dc_buf *b)
{
    size_t at = b->len;
    dc_wire_put_u(b, 0, 8);
    return at;
}

void dc_wire_end_section(dc_buf *b, size_t at)
{
    uint8_t *q = (uint8_t *)b->data + at;
    dc_wire_w_u(&q, b->len - at - 8, 8);
}

dc_wire_rd dc_wire_get_section(dc_wire_rd *r)
{
    uint64_t n = dc_wire_get_u(r, 8);
    dc_wire_rd s = {r->p, r->p, 1};
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
        r->bad = 1;
        return s;
    }
    s.end = r->p + n;
    s.bad = 0;
    r->p += n;
    return s;
}
