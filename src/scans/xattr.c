/*
 * xattr.c - the extra attributes of a scan's dataset (dc_xattr.h): a list
 * built by the vendor conventions, packed with the scan, written by h5out.
 */
#include "dc_xattr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_wire.h"

#define XATTR_MAGIC 0xDCA7u
#define XATTR_MAX 64         /* attributes per scan */
#define XATTR_MAX_VALUES (1u << 24)

void dc_xattrs_free(dc_xattrs *x)
{
    for (uint32_t i = 0; i < x->n; i++) {
        dc_xattr *a = &x->a[i];
        free(a->f);
        if (a->s)
            for (uint32_t k = 0; k < a->n; k++) free(a->s[k]);
        free(a->s);
    }
    free(x->a);
    x->a = NULL;
    x->n = 0;
}

static dc_xattr *push(dc_xattrs *x, const char *name, int type, uint32_t n, int scalar)
{
    x->a = dc_realloc(x->a, (x->n + 1) * sizeof *x->a);
    dc_xattr *a = &x->a[x->n++];
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    a->type = (uint8_t)type;
    a->n = n;
    a->scalar = (uint8_t)(scalar && n == 1);
    return a;
}

void dc_xattrs_add_f64(dc_xattrs *x, const char *name, const double *v, uint32_t n, int scalar)
{
    dc_xattr *a = push(x, name, DC_XATTR_F64, n, scalar);
    a->f = dc_malloc((n ? n : 1) * sizeof *a->f);
    if (n) memcpy(a->f, v, n * sizeof *v);
}

void dc_xattrs_add_str(dc_xattrs *x, const char *name, const char *const *v, uint32_t n, int scalar)
{
    dc_xattr *a = push(x, name, DC_XATTR_STR, n, scalar);
    a->s = dc_malloc((n ? n : 1) * sizeof *a->s);
    for (uint32_t k = 0; k < n; k++) a->s[k] = dc_strdup(v[k] ? v[k] : "");
}

const dc_xattr *dc_xattrs_find(const dc_xattrs *x, const char *name)
{
    for (uint32_t i = 0; i < x->n; i++)
        if (strcmp(x->a[i].name, name) == 0) return &x->a[i];
    return NULL;
}

void dc_xattrs_pack(const dc_xattrs *x, dc_buf *out)
{
    dc_wire_put_u(out, XATTR_MAGIC, 2);
    dc_wire_put_u(out, x->n, 4);
    for (uint32_t i = 0; i < x->n; i++) {
        const dc_xattr *a = &x->a[i];
        dc_wire_put_s16(out, a->name, sizeof a->name);
        dc_wire_put_u(out, a->type, 1);
        dc_wire_put_u(out, a->scalar, 1);
        dc_wire_put_u(out, a->n, 4);
        for (uint32_t k = 0; k < a->n; k++) {
            if (a->type == DC_XATTR_F64) {
                dc_wire_put_f64(out, a->f[k]);
            } else {
                size_t len = strlen(a->s[k]);
                dc_wire_put_u(out, len, 4);
                dc_buf_append(out, a->s[k], len);
            }
        }
    }
}

/* one attribute's values; -1 on garbage */
static int unpack_values(dc_wire_rd *rd, dc_xattr *a)
{
    if (a->type == DC_XATTR_F64) {
        if ((uint64_t)a->n * 8 > (uint64_t)(rd->end - rd->p)) return -1;
        a->f = dc_malloc((a->n ? a->n : 1) * sizeof *a->f);
        for (uint32_t k = 0; k < a->n; k++) a->f[k] = dc_wire_get_f64(rd);
        return rd->bad ? -1 : 0;
    }
    if ((uint64_t)a->n * 4 > (uint64_t)(rd->end - rd->p)) return -1;
    a->s = dc_calloc(a->n ? a->n : 1, sizeof *a->s);
    for (uint32_t k = 0; k < a->n; k++) {
        uint64_t len = dc_wire_get_u(rd, 4);
        if (rd->bad || len > (uint64_t)(rd->end - rd->p)) return -1;
        a->s[k] = dc_strndup((const char *)rd->p, (size_t)len);
        rd->p += len;
    }
    return 0;
}

int dc_xattrs_unpack(const char **p, const char *end, dc_xattrs *x)
{
    memset(x, 0, sizeof *x);
    if (!p || !*p || end < *p) return -1;
    dc_wire_rd rd = dc_wire_reader(*p, end);
    uint32_t n = (uint32_t)dc_wire_get_u(&rd, 2); /* magic */
    if (rd.bad || n != XATTR_MAGIC) return -1;
    n = (uint32_t)dc_wire_get_u(&rd, 4);
    if (rd.bad || n > XATTR_MAX) return -1;
    x->a = dc_calloc(n ? n : 1, sizeof *x->a);
    for (uint32_t i = 0; i < n; i++) {
        dc_xattr *a = &x->a[i];
        x->n = i + 1; /* what is allocated is freed on failure */
        dc_wire_get_s16(&rd, a->name, sizeof a->name);
        a->type = (uint8_t)dc_wire_get_u(&rd, 1);
        a->scalar = (uint8_t)dc_wire_get_u(&rd, 1);
        a->n = (uint32_t)dc_wire_get_u(&rd, 4);
        if (rd.bad || a->type > DC_XATTR_STR || a->n > XATTR_MAX_VALUES || unpack_values(&rd, a) != 0) {
            if (a->type > DC_XATTR_STR) a->type = DC_XATTR_F64;
            a->n = a->s || a->f ? a->n : 0;
            dc_xattrs_free(x);
            return -1;
        }
    }
    *p = (const char *)rd.p;
    return 0;
}
