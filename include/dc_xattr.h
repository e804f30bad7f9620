/*
 * dc_xattr.h - extra attributes of a scan's dataset: a small list of named
 * float64 arrays and UTF-8 strings that vendor conventions add (slice_times,
 * repeat_axis, repeat_*, philips_*; see dc_vendor.h and README).  The pure
 * core fills them, scan.c packs them with the scan, h5out.c writes each as
 * an attribute of the dataset, in list order.
 */
#ifndef DC_XATTR_H
#define DC_XATTR_H

#include <stdint.h>

#include "dc_util.h"

enum dc_xattr_type { DC_XATTR_F64 = 0, DC_XATTR_STR = 1 };

#define DC_XATTR_NAME_LEN 40
typedef struct {
    char name[DC_XATTR_NAME_LEN];
    uint8_t type;   /* enum dc_xattr_type */
    uint8_t scalar; /* one value written as a scalar (else a 1-D array of n) */
    uint32_t n;     /* values */
    double *f;      /* DC_XATTR_F64: n values */
    char **s;       /* DC_XATTR_STR: n strings */
} dc_xattr;

typedef struct {
    uint32_t n;
    dc_xattr *a;
} dc_xattrs;

void dc_xattrs_free(dc_xattrs *x);
/* append an attribute (values copied); scalar only when n == 1 */
void dc_xattrs_add_f64(dc_xattrs *x, const char *name, const double *v, uint32_t n, int scalar);
void dc_xattrs_add_str(dc_xattrs *x, const char *name, const char *const *v, uint32_t n, int scalar);
/* the attribute called name, or NULL */
const dc_xattr *dc_xattrs_find(const dc_xattrs *x, const char *name);
/* serialisation (little endian, bounded) */
void dc_xattrs_pack(const dc_xattrs *x, dc_buf *out);
/* reads from *p (advanced); 0, or -1 on garbage (x then empty) */
int dc_xattrs_unpack(const char **p, const char *end, dc_xattrs *x);

#endif
