/*
 * scan.c - dc_scan helpers shared by grouping, planning and output:
 * data types, freeing, and serialisation for MPI broadcast.  See dc_scan.h.
 *
 * Packed form (native byte order: every rank runs the same binary on the
 * same architecture): a magic number, then every field in declaration
 * order.  Strings are a u32 length (UINT32_MAX for NULL) and their bytes;
 * fixed char arrays are copied whole; arrays are a u8 "present" flag and
 * count * size bytes, the count being a field read before.  Unpacking checks
 * every length against the bytes left, so garbage gives -1, never a crash.
 */
#include "dc_scan.h"
#include "dc_wire.h"

#include <stdlib.h>
#include <string.h>

#define SCAN_MAGIC 0x4353434Eu /* "NCSC" */

int dc_dtype_size(int dtype)
{
    static const int sz[] = {1, 1, 2, 2, 4, 4, 4, 8};
    return (dtype >= 0 && dtype <= DC_DT_F64) ? sz[dtype] : 0;
}

const char *dc_dtype_name(int dtype)
{
    static const char *nm[] = {"uint8",  "int8",  "uint16",  "int16",
                               "uint32", "int32", "float32", "float64"};
    return (dtype >= 0 && dtype <= DC_DT_F64) ? nm[dtype] : "?";
}

void dc_scan_free_rescale(dc_scan *s)
{
    if (!s->slices_block || !s->rescale_in_block) {
        free(s->rescale_slope);
        free(s->rescale_intercept);
    }
    s->rescale_in_block = 0;
    s->rescale_slope = s->rescale_intercept = NULL;
}

void dc_scan_free(dc_scan *s)
{
    free(s->scan_id);
    free(s->reason);
    if (!s->slices_block) {
        free(s->slice_rec);
        free(s->slice_frame);
        free(s->instance_numbers);
    }
    dc_scan_free_rescale(s);
    free(s->slices_block); /* the arrays above, when they live in it */
    free(s->slice_positions);
    free(s->warnings);
    dc_palette_free(s->palette);
    dc_xattrs_free(&s->xattrs);
    memset(s, 0, sizeof *s);
}

/* ---- packing (dc_wire.h: little endian) ---- */

/* an optional array: a presence byte, then the elements */
static void put_u32_arr(dc_buf *b, const uint32_t *v, size_t n)
{
    dc_wire_put_u(b, v != NULL, 1);
    if (v) dc_wire_put_u32s(b, v, n);
}

static void put_f64_arr(dc_buf *b, const double *v, size_t n)
{
    dc_wire_put_u(b, v != NULL, 1);
    if (v) dc_wire_put_f64s(b, v, n);
}

void dc_scan_pack(const dc_scan *s, dc_buf *out)
{
    dc_wire_put_u(out, SCAN_MAGIC, 4);
    dc_wire_put_lstr(out, s->scan_id);
    dc_wire_put_u(out, s->scope, 4);
    dc_wire_put_u(out, (uint32_t)s->unreadable, 4);
    dc_wire_put_lstr(out, s->reason);
    dc_wire_put_u(out, s->n_slices, 4);
    put_u32_arr(out, s->slice_rec, s->n_slices);
    put_u32_arr(out, s->slice_frame, s->n_slices);
    dc_wire_put_u(out, s->n_files, 4);
    dc_wire_put_u(out, s->first_rec, 4);
    dc_wire_put_u(out, s->example_rec, 4);
    dc_wire_put_u(out, (uint32_t)s->ndim, 4);
    dc_wire_put_u64s(out, s->dims, 5);
    dc_wire_put_u(out, (uint32_t)s->dtype, 4);
    dc_wire_put_u(out, s->rows, 4);
    dc_wire_put_u(out, s->cols, 4);
    dc_wire_put_u(out, s->samples, 4);
    dc_wire_put_u(out, s->n_repeats, 4);
    dc_wire_put_bytes(out, s->series_uid, sizeof s->series_uid);
    dc_wire_put_bytes(out, s->study_uid, sizeof s->study_uid);
    dc_wire_put_bytes(out, s->modality, sizeof s->modality);
    dc_wire_put_bytes(out, s->photometric, sizeof s->photometric);
    dc_wire_put_u(out, (uint32_t)s->bits_stored, 4);
    dc_wire_put_bytes(out, s->slice_order, sizeof s->slice_order);
    dc_wire_put_f64s(out, s->spacing, 3);
    dc_wire_put_f64s(out, s->affine, 16);
    dc_wire_put_u(out, s->n_positions, 4);
    put_f64_arr(out, s->slice_positions, (size_t)s->n_positions * 3);
    put_u32_arr(out, (const uint32_t *)s->instance_numbers, s->n_slices);
    dc_wire_put_u(out, s->n_rescale, 4);
    put_f64_arr(out, s->rescale_slope, s->n_rescale);
    put_f64_arr(out, s->rescale_intercept, s->n_rescale);
    dc_wire_put_u(out, (uint32_t)s->uniform_spacing, 4);
    dc_palette_pack(s->palette, out);
    dc_wire_put_lstr(out, s->warnings);
    dc_wire_put_u(out, s->n_duplicates, 4);
    dc_wire_put_u(out, s->cost, 8);
    dc_xattrs_pack(&s->xattrs, out);
}

/* ---- unpacking: the reader turns bad on any overrun ---- */

/* an optional array of n elements of `size` bytes on the wire */
static int arr_present(dc_wire_rd *r, size_t n, size_t size)
{
    uint64_t present = dc_wire_get_u(r, 1);
    if (r->bad || !present) return 0;
    if (present != 1 || (size && n > (size_t)(r->end - r->p) / size)) {
        r->bad = 1;
        return 0;
    }
    return 1;
}

static uint32_t *get_u32_arr(dc_wire_rd *r, size_t n)
{
    if (!arr_present(r, n, 4)) return NULL;
    uint32_t *v = dc_malloc(sizeof *v * (n ? n : 1));
    dc_wire_get_u32s(r, v, n);
    return v;
}

static double *get_f64_arr(dc_wire_rd *r, size_t n)
{
    if (!arr_present(r, n, 8)) return NULL;
    double *v = dc_malloc(sizeof *v * (n ? n : 1));
    dc_wire_get_f64s(r, v, n);
    return v;
}

/* fixed char array: copied whole, must hold a NUL */
static void get_chars(dc_wire_rd *r, char *dst, size_t n)
{
    dc_wire_get_bytes(r, dst, n);
    if (!r->bad && !memchr(dst, '\0', n)) r->bad = 1;
}

static uint32_t get_u32(dc_wire_rd *r)
{
    return (uint32_t)dc_wire_get_u(r, 4);
}

static void unpack_palette(dc_wire_rd *r, dc_scan *s)
{
    const char *p = (const char *)r->p;
    if (!r->bad && dc_palette_unpack(&p, (const char *)r->end, &s->palette) != 0) r->bad = 1;
    r->p = (const uint8_t *)p;
}

static void unpack_xattrs(dc_wire_rd *r, dc_scan *s)
{
    const char *p = (const char *)r->p;
    if (!r->bad && dc_xattrs_unpack(&p, (const char *)r->end, &s->xattrs) != 0) r->bad = 1;
    r->p = (const uint8_t *)p;
}

static void unpack_fields(dc_wire_rd *r, dc_scan *s)
{
    s->scan_id = dc_wire_get_lstr(r);
    s->scope = get_u32(r);
    s->unreadable = (int32_t)get_u32(r);
    s->reason = dc_wire_get_lstr(r);
    s->n_slices = get_u32(r);
    s->slice_rec = get_u32_arr(r, s->n_slices);
    s->slice_frame = get_u32_arr(r, s->n_slices);
    s->n_files = get_u32(r);
    s->first_rec = get_u32(r);
    s->example_rec = get_u32(r);
    s->ndim = (int32_t)get_u32(r);
    dc_wire_get_u64s(r, s->dims, 5);
    s->dtype = (int32_t)get_u32(r);
    s->rows = get_u32(r);
    s->cols = get_u32(r);
    s->samples = get_u32(r);
    s->n_repeats = get_u32(r);
    get_chars(r, s->series_uid, sizeof s->series_uid);
    get_chars(r, s->study_uid, sizeof s->study_uid);
    get_chars(r, s->modality, sizeof s->modality);
    get_chars(r, s->photometric, sizeof s->photometric);
    s->bits_stored = (int32_t)get_u32(r);
    get_chars(r, s->slice_order, sizeof s->slice_order);
    dc_wire_get_f64s(r, s->spacing, 3);
    dc_wire_get_f64s(r, s->affine, 16);
    s->n_positions = get_u32(r);
    s->slice_positions = get_f64_arr(r, (size_t)s->n_positions * 3);
    s->instance_numbers = (int32_t *)get_u32_arr(r, s->n_slices);
    s->n_rescale = get_u32(r);
    s->rescale_slope = get_f64_arr(r, s->n_rescale);
    s->rescale_intercept = get_f64_arr(r, s->n_rescale);
    s->uniform_spacing = (int32_t)get_u32(r);
    unpack_palette(r, s);
    s->warnings = dc_wire_get_lstr(r);
    s->n_duplicates = get_u32(r);
    s->cost = dc_wire_get_u(r, 8);
    unpack_xattrs(r, s);
}

int dc_scan_unpack(const char **p, const char *end, dc_scan *s)
{
    memset(s, 0, sizeof *s);
    if (!p || !*p || !end || end < *p) return -1;
    dc_wire_rd r = dc_wire_reader(*p, end);
    if (get_u32(&r) != SCAN_MAGIC) return -1;
    unpack_fields(&r, s);
    if (r.bad || s->ndim < 0 || s->ndim > 5) {
        dc_scan_free(s);
        return -1;
    }
    *p = (const char *)r.p;
    return 0;
}
