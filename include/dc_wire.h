/*
 * dc_wire.h - the one serialiser of everything that travels between ranks
 * (records, scans, batches, the header pass's file blocks, CSV columns):
 * fixed little-endian byte order whatever the host, bounded reads.
 *
 * Writing appends to a dc_buf (dc_wire_put_*), or goes through a cursor
 * into space reserved once (dc_wire_w_*: the hot path of dc_record_pack).
 * Reading goes through a dc_wire_rd that turns `bad` on any overrun or
 * malformed string and then returns zeros: check `bad` once at the end.
 */
#ifndef DC_WIRE_H
#define DC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "dc_util.h"

/* the low n bytes of v (n 1..8), least significant first */
void dc_wire_put_u(dc_buf *b, uint64_t v, int n);
void dc_wire_put_f64(dc_buf *b, double d);
/* a string and its NUL */
void dc_wire_put_cstr(dc_buf *b, const char *s);
/* a u32 length (UINT32_MAX for NULL) and the bytes */
void dc_wire_put_lstr(dc_buf *b, const char *s);
void dc_wire_put_bytes(dc_buf *b, const void *p, size_t n);
/* arrays: each element in wire order */
void dc_wire_put_u32s(dc_buf *b, const uint32_t *v, size_t n);
void dc_wire_put_u64s(dc_buf *b, const uint64_t *v, size_t n);
void dc_wire_put_f64s(dc_buf *b, const double *v, size_t n);

/* a string of at most min(cap, 65535) bytes: u16 length and the bytes */
void dc_wire_put_s16(dc_buf *b, const char *s, size_t cap);

/* a section: a u64 byte length, then whatever is written until its end,
 * so that a reader can skip it whole (dc_wire_get_section).  begin returns
 * where the length goes; end fills it in. */
size_t dc_wire_begin_section(dc_buf *b);
void dc_wire_end_section(dc_buf *b, size_t at);

/* cursor writers (the caller reserved the space) */
void dc_wire_w_u(uint8_t **q, uint64_t v, int n);
void dc_wire_w_f64(uint8_t **q, double d);
void dc_wire_w_s16(uint8_t **q, const char *s, size_t cap);

typedef struct {
    const uint8_t *p, *end;
    int bad;
} dc_wire_rd;

dc_wire_rd dc_wire_reader(const char *p, const char *end);
uint64_t dc_wire_get_u(dc_wire_rd *r, int n);
double dc_wire_get_f64(dc_wire_rd *r);
/* malloc'd copies (NULL when bad; lstr also NULL for a NULL string) */
char *dc_wire_get_cstr(dc_wire_rd *r);
char *dc_wire_get_lstr(dc_wire_rd *r);
void dc_wire_get_bytes(dc_wire_rd *r, void *dst, size_t n);
void dc_wire_get_u32s(dc_wire_rd *r, uint32_t *v, size_t n);
void dc_wire_get_u64s(dc_wire_rd *r, uint64_t *v, size_t n);
void dc_wire_get_f64s(dc_wire_rd *r, double *v, size_t n);
/* a u16-length string into out[outlen], NUL-terminated; one that does not
 * fit turns the reader bad */
void dc_wire_get_s16(dc_wire_rd *r, char *out, size_t outlen);
/* the next section as a reader of its own; r moves past it (read it or
 * not: skipping costs nothing).  A section longer than what is left turns
 * r bad and returns a bad reader. */
dc_wire_rd dc_wire_get_section(dc_wire_rd *r);

#endif
