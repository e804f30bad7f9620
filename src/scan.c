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

void dc_scan_free(dc_scan *s)
{
    free(s->scan_id);
    free(s->reason);
    free(s->slice_rec);
    free(s->slice_frame);
    free(s->slice_positions);
    free(s->instance_numbers);
    free(s->rescale_slope);
    free(s->rescale_intercept);
    free(s->warnings);
    dc_palette_free(s->palette);
    dc_xattrs_free(&s->xattrs);
    memset(s, 0, sizeof *s);
}

/* ---- packing ---- */

static void put(dc_buf *b, const void *p, size_t n)
{
    dc_buf_append(b, p, n);
}

static void put_u32(dc_buf *b, uint32_t v)
{
    put(b, &v, sizeof v);
}

static void put_i32(dc_buf *b, int32_t v)
{
    put(b, &v, sizeof v);
}

static void put_str(dc_buf *b, const char *s)
{
    if (!s) {
        put_u32(b, UINT32_MAX);
        return;
    }
    size_t n = strlen(s);
    put_u32(b, (uint32_t)n);
    put(b, s, n);
}

static void put_arr(dc_buf *b, const void *p, size_t count, size_t size)
{
    uint8_t present = p != NULL;
    put(b, &present, 1);
    if (p) put(b, p, count * size);
}

void dc_scan_pack(const dc_scan *s, dc_buf *out)
{
    put_u32(out, SCAN_MAGIC);
    put_str(out, s->scan_id);
    put_u32(out, s->scope);
    put_i32(out, s->unreadable);
    put_str(out, s->reason);
    put_u32(out, s->n_slices);
    put_arr(out, s->slice_rec, s->n_slices, sizeof *s->slice_rec);
    put_arr(out, s->slice_frame, s->n_slices, sizeof *s->slice_frame);
    put_u32(out, s->n_files);
    put_u32(out, s->first_rec);
    put_u32(out, s->example_rec);
    put_i32(out, s->ndim);
    put(out, s->dims, sizeof s->dims);
    put_i32(out, s->dtype);
    put_u32(out, s->rows);
    put_u32(out, s->cols);
    put_u32(out, s->samples);
    put_u32(out, s->n_repeats);
    put(out, s->series_uid, sizeof s->series_uid);
    put(out, s->study_uid, sizeof s->study_uid);
    put(out, s->modality, sizeof s->modality);
    put(out, s->photometric, sizeof s->photometric);
    put_i32(out, s->bits_stored);
    put(out, s->slice_order, sizeof s->slice_order);
    put(out, s->spacing, sizeof s->spacing);
    put(out, s->affine, sizeof s->affine);
    put_u32(out, s->n_positions);
    put_arr(out, s->slice_positions, (size_t)s->n_positions * 3, sizeof(double));
    put_arr(out, s->instance_numbers, s->n_slices, sizeof *s->instance_numbers);
    put_u32(out, s->n_rescale);
    put_arr(out, s->rescale_slope, s->n_rescale, sizeof(double));
    put_arr(out, s->rescale_intercept, s->n_rescale, sizeof(double));
    put_i32(out, s->uniform_spacing);
    dc_palette_pack(s->palette, out);
    put_str(out, s->warnings);
    put_u32(out, s->n_duplicates);
    put(out, &s->cost, sizeof s->cost);
    dc_xattrs_pack(&s->xattrs, out);
}

/* ---- unpacking: a reader that turns bad on any overrun ---- */

typedef struct {
    const char *p, *end;
    int bad;
} rd;

static void get(rd *r, void *dst, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p, n);
    r->p += n;
}

static uint32_t get_u32(rd *r)
{
    uint32_t v;
    get(r, &v, sizeof v);
    return v;
}

static int32_t get_i32(rd *r)
{
    int32_t v;
    get(r, &v, sizeof v);
    return v;
}

static char *get_str(rd *r)
{
    uint32_t n = get_u32(r);
    if (r->bad || n == UINT32_MAX) return NULL;
    if ((size_t)(r->end - r->p) < n || memchr(r->p, '\0', n)) {
        r->bad = 1;
        return NULL;
    }
    char *s = dc_strndup(r->p, n);
    r->p += n;
    return s;
}

static void *get_arr(rd *r, size_t count, size_t size)
{
    uint8_t present = 0;
    get(r, &present, 1);
    if (r->bad || !present) return NULL;
    if (present != 1 || (size && count > (size_t)(r->end - r->p) / size)) {
        r->bad = 1;
        return NULL;
    }
    void *a = dc_malloc(count * size);
    get(r, a, count * size);
    return a;
}

/* fixed char array: copied whole, must hold a NUL */
static void get_chars(rd *r, char *dst, size_t n)
{
    get(r, dst, n);
    if (!r->bad && !memchr(dst, '\0', n)) r->bad = 1;
}

static void unpack_fields(rd *r, dc_scan *s)
{
    s->scan_id = get_str(r);
    s->scope = get_u32(r);
    s->unreadable = get_i32(r);
    s->reason = get_str(r);
    s->n_slices = get_u32(r);
    s->slice_rec = get_arr(r, s->n_slices, sizeof *s->slice_rec);
    s->slice_frame = get_arr(r, s->n_slices, sizeof *s->slice_frame);
    s->n_files = get_u32(r);
    s->first_rec = get_u32(r);
    s->example_rec = get_u32(r);
    s->ndim = get_i32(r);
    get(r, s->dims, sizeof s->dims);
    s->dtype = get_i32(r);
    s->rows = get_u32(r);
    s->cols = get_u32(r);
    s->samples = get_u32(r);
    s->n_repeats = get_u32(r);
    get_chars(r, s->series_uid, sizeof s->series_uid);
    get_chars(r, s->study_uid, sizeof s->study_uid);
    get_chars(r, s->modality, sizeof s->modality);
    get_chars(r, s->photometric, sizeof s->photometric);
    s->bits_stored = get_i32(r);
    get_chars(r, s->slice_order, sizeof s->slice_order);
    get(r, s->spacing, sizeof s->spacing);
    get(r, s->affine, sizeof s->affine);
    s->n_positions = get_u32(r);
    s->slice_positions = get_arr(r, (size_t)s->n_positions * 3, sizeof(double));
    s->instance_numbers = get_arr(r, s->n_slices, sizeof *s->instance_numbers);
    s->n_rescale = get_u32(r);
    s->rescale_slope = get_arr(r, s->n_rescale, sizeof(double));
    s->rescale_intercept = get_arr(r, s->n_rescale, sizeof(double));
    s->uniform_spacing = get_i32(r);
    if (!r->bad && dc_palette_unpack(&r->p, r->end, &s->palette) != 0) r->bad = 1;
    s->warnings = get_str(r);
    s->n_duplicates = get_u32(r);
    get(r, &s->cost, sizeof s->cost);
    if (!r->bad && dc_xattrs_unpack(&r->p, r->end, &s->xattrs) != 0) r->bad = 1;
}

int dc_scan_unpack(const char **p, const char *end, dc_scan *s)
{
    memset(s, 0, sizeof *s);
    if (!p || !*p || !end || end < *p) return -1;
    rd r = {*p, end, 0};
    if (get_u32(&r) != SCAN_MAGIC) return -1;
    unpack_fields(&r, s);
    if (r.bad || s->ndim < 0 || s->ndim > 5) {
        dc_scan_free(s);
        return -1;
    }
    *p = r.p;
    return 0;
}
