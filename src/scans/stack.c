/*
 * stack.c - one scan's slices: order, 4D repeats, shape, dtype and geometry
 * (SPEC 5).  See dc_scan.h for the conventions it implements.
 *
 * How it fits: dc_group_records() hands each scan's records (one per file)
 * to dc_stack_scan().  The records are expanded into items, one per 2D frame
 * (a multi-frame file gives one item per frame, with its per-frame position
 * from the functional groups).  order_items() sorts the items by the
 * configured rule with the fallbacks position -> InstanceNumber -> file name
 * and detects 4D repeats; fill_slices() writes the stored order and the
 * per-slice attributes; geometry() computes spacing, affine, positions and
 * the warnings about them; set_shape() the dataset dims.  Nothing is ever
 * reordered or "fixed" silently: every fallback and oddity is a warning.
 *
 * Pure: no MPI, no I/O.
 */
#include "dc_scan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_config.h"
#include "dc_decode.h"

#define POS_EPS 1e-3     /* mm: positions closer than this along the normal coincide */
#define IOP_EPS 1e-4     /* orientation cosines equal within this */
#define TILT_MIN_MM 0.02 /* in-plane drift below this is rounding, not tilt */
#define TILT_MIN_DEG 0.05

/* one stored 2D frame before ordering */
typedef struct {
    uint32_t rec, frame;
    const char *path, *name;
    int has_ipp, has_iop;
    double ipp[3];
    const double *iop;
    double d; /* position along the normal (position rule only) */
    int has_instance, has_acq, has_temporal;
    int32_t instance, acq, temporal;
    double slope, intercept;
} st_item;

/* ---- small helpers ---- */

static void warn(dc_buf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(dc_buf *w, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w->len) dc_buf_puts(w, "; ");
    dc_buf_puts(w, msg);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static double dot3(const double *a, const double *b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* unit normal row x col; 0 when the orientation is degenerate */
static int normal_of(const double *iop, double n[3])
{
    n[0] = iop[1] * iop[5] - iop[2] * iop[4];
    n[1] = iop[2] * iop[3] - iop[0] * iop[5];
    n[2] = iop[0] * iop[4] - iop[1] * iop[3];
    double len = sqrt(dot3(n, n));
    if (len < 1e-6) return 0;
    for (int i = 0; i < 3; i++) n[i] /= len;
    return 1;
}

static int iop_equal(const double *a, const double *b)
{
    for (int i = 0; i < 6; i++)
        if (fabs(a[i] - b[i]) > IOP_EPS) return 0;
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- items ---- */

static void item_from_frame(const dc_record *r, uint32_t ri, uint32_t f, const char *path,
                            st_item *it)
{
    memset(it, 0, sizeof *it);
    it->rec = ri;
    it->frame = f;
    it->path = path;
    it->name = base_name(path);
    const dc_frame_geom *g = (r->frame_geom && f < r->n_frame_geom) ? &r->frame_geom[f] : NULL;
    const dc_tiling *tl = r->vendor.tiling;
    if (tl) { /* tile f of a mosaic: its own position */
        it->has_ipp = tl->has_pos;
        for (int c = 0; c < 3; c++) it->ipp[c] = tl->origin[c] + f * tl->step[c];
    } else if (g && g->has_ipp) {
        it->has_ipp = 1;
        memcpy(it->ipp, g->ipp, sizeof it->ipp);
    } else if (r->frames <= 1 && r->has_ipp) {
        it->has_ipp = 1;
        memcpy(it->ipp, r->ipp, sizeof it->ipp);
    }
    if (g && g->has_iop) {
        it->has_iop = 1;
        it->iop = g->iop;
    } else if (r->has_iop) {
        it->has_iop = 1;
        it->iop = r->iop;
    }
    it->has_instance = r->has_instance;
    it->instance = r->instance;
    it->has_acq = r->has_acq;
    it->acq = r->acq;
    if (r->frames > 1) {
        it->has_temporal = g && g->temporal >= 0;
        it->temporal = g ? g->temporal : 0;
    } else {
        it->has_temporal = r->has_temporal;
        it->temporal = r->temporal;
    }
    if (g && g->has_rescale) {
        it->slope = g->slope;
        it->intercept = g->intercept;
    } else {
        it->slope = r->has_rescale ? r->slope : 1.0;
        it->intercept = r->has_rescale ? r->intercept : 0.0;
    }
}

/* 2D slices in a record: its frames, or the tiles of a mosaic (dc_vendor.h) */
static uint32_t items_of(const dc_record *r)
{
    if (r->vendor.tiling) return r->vendor.tiling->n_tiles;
    return r->frames ? r->frames : 1;
}

/* every frame of the records mem[n_mem]; or, with sub, exactly the frames
 * sub->frame[k] of records sub->rec[k] (a part of a multi-frame file) */
typedef struct {
    const uint32_t *rec, *frame;
    uint32_t n;
} st_subset;

/* n zeroed items: in small (n_small of them, the caller's) when they fit,
 * which spares the heap for the single-file scans of a crawl, else on it */
static st_item *new_items(uint32_t n, st_item *small, uint32_t n_small)
{
    if (n > n_small) return dc_calloc(n, sizeof(st_item));
    memset(small, 0, n * sizeof *small);
    return small;
}

static st_item *make_items(const dc_record *recs, const char *const *paths, const uint32_t *mem,
                           uint32_t n_mem, const st_subset *sub, st_item *small, uint32_t n_small,
                           uint32_t *n_items)
{
    if (sub) {
        st_item *it = new_items(sub->n, small, n_small);
        for (uint32_t k = 0; k < sub->n; k++) {
            const dc_record *r = &recs[sub->rec[k]];
            item_from_frame(r, sub->rec[k], sub->frame[k], paths[r->file_idx], &it[k]);
        }
        *n_items = sub->n;
        return it;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < n_mem; i++) n += items_of(&recs[mem[i]]);
    st_item *it = new_items(n, small, n_small);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n_mem; i++) {
        const dc_record *r = &recs[mem[i]];
        uint32_t frames = items_of(r);
        for (uint32_t f = 0; f < frames; f++)
            item_from_frame(r, mem[i], f, paths[r->file_idx], &it[k++]);
    }
    *n_items = n;
    return it;
}

/* ---- comparators: all total (path, frame last) so the order is unique ---- */

static int cmp_tail(const st_item *a, const st_item *b)
{
    int c = strcmp(a->path, b->path);
    if (c) return c;
    return a->frame < b->frame ? -1 : a->frame > b->frame;
}

static int cmp_opt(int ha, int32_t a, int hb, int32_t b)
{
    if (ha && hb) return a < b ? -1 : a > b;
    return hb - ha; /* present before absent */
}

/* repeats: AcquisitionNumber, TemporalPosition*, InstanceNumber */
static int cmp_repeat(const void *pa, const void *pb)
{
    const st_item *a = pa, *b = pb;
    int c = cmp_opt(a->has_acq, a->acq, b->has_acq, b->acq);
    if (!c) c = cmp_opt(a->has_temporal, a->temporal, b->has_temporal, b->temporal);
    if (!c) c = cmp_opt(a->has_instance, a->instance, b->has_instance, b->instance);
    return c ? c : cmp_tail(a, b);
}

static int cmp_position(const void *pa, const void *pb)
{
    const st_item *a = pa, *b = pb;
    if (a->d != b->d) return a->d < b->d ? -1 : 1;
    return cmp_repeat(pa, pb);
}

static int cmp_instance(const void *pa, const void *pb)
{
    const st_item *a = pa, *b = pb;
    int c = cmp_opt(a->has_instance, a->instance, b->has_instance, b->instance);
    return c ? c : cmp_tail(a, b);
}

static int cmp_name(const void *pa, const void *pb)
{
    const st_item *a = pa, *b = pb;
    int c = dc_natcmp(a->name, b->name);
    return c ? c : cmp_tail(a, b);
}

static int cmp_frame(const void *pa, const void *pb)
{
    return cmp_tail(pa, pb);
}

/* ---- ordering ---- */

/* 1 when every item has a position and one common orientation; fills d.
 * Else 0 and *why names what is missing. */
static int position_usable(st_item *it, uint32_t n, const char **why)
{
    for (uint32_t i = 0; i < n; i++)
        if (!it[i].has_ipp) {
            *why = "ImagePositionPatient missing";
            return 0;
        }
    for (uint32_t i = 0; i < n; i++)
        if (!it[i].has_iop) {
            *why = "ImageOrientationPatient missing";
            return 0;
        }
    for (uint32_t i = 1; i < n; i++)
        if (!iop_equal(it[i].iop, it[0].iop)) {
            *why = "orientation differs between frames";
            return 0;
        }
    double nrm[3];
    if (!normal_of(it[0].iop, nrm)) {
        *why = "ImageOrientationPatient invalid";
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) it[i].d = dot3(it[i].ipp, nrm);
    return 1;
}

/* Sorted by position: group equal positions, order each group's repeats.
 * Returns the number of repeats (1: 3D) and writes the stored order into
 * out, or 0 when the counts per position differ (*why set). */
static uint32_t stack_repeats(st_item *it, uint32_t n, st_item *out, char *why, size_t whylen)
{
    uint32_t n_pos = 0, cmin = UINT32_MAX, cmax = 0;
    uint32_t *start = dc_malloc((n + 1) * sizeof *start);
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i + 1;
        while (j < n && it[j].d - it[i].d < POS_EPS) j++;
        qsort(it + i, j - i, sizeof *it, cmp_repeat);
        start[n_pos++] = i;
        if (j - i < cmin) cmin = j - i;
        if (j - i > cmax) cmax = j - i;
        i = j;
    }
    start[n_pos] = n;
    uint32_t reps = 0;
    if (cmin == cmax) {
        reps = cmin;
        for (uint32_t z = 0; z < n_pos; z++)
            for (uint32_t r = 0; r < reps; r++) out[r * n_pos + z] = it[start[z] + r];
    } else {
        snprintf(why, whylen, "uneven repeated positions (%u positions, %u to %u slices each)",
                 n_pos, cmin, cmax);
    }
    free(start);
    return reps;
}

static int all_have_instance(const st_item *it, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!it[i].has_instance) return 0;
    return 1;
}

typedef struct {
    const char *label; /* slice_order */
    uint32_t n_repeats;
} st_order;

/* Order items into out (same size) with the configured rule and fallbacks.
 * single_mf: the scan is one multi-frame file (fallback is file order). */
static st_order order_items(st_item *it, uint32_t n, int rule, int single_mf, dc_buf *w,
                            st_item *out)
{
    st_order res = {NULL, 1};
    char whys[512] = "";
    char uneven[160];
    const char *why = NULL;
    if (rule == DC_ORDER_POSITION) {
        if (position_usable(it, n, &why)) {
            qsort(it, n, sizeof *it, cmp_position);
            uint32_t reps = stack_repeats(it, n, out, uneven, sizeof uneven);
            if (reps) {
                res.label = "position";
                res.n_repeats = reps;
                return res;
            }
            why = uneven;
        }
        snprintf(whys, sizeof whys, "%s", why);
        rule = DC_ORDER_INSTANCE;
    }
    const char *target = NULL;
    if (single_mf) {
        qsort(it, n, sizeof *it, cmp_frame);
        res.label = "frame";
        target = "frame order";
    } else if (rule == DC_ORDER_INSTANCE && all_have_instance(it, n)) {
        qsort(it, n, sizeof *it, cmp_instance);
        res.label = "instance";
        target = "InstanceNumber";
    } else {
        if (rule == DC_ORDER_INSTANCE) {
            size_t l = strlen(whys);
            snprintf(whys + l, sizeof whys - l, "%sInstanceNumber missing", l ? ", " : "");
        }
        qsort(it, n, sizeof *it, cmp_name);
        res.label = "filename";
        target = "file name";
    }
    if (whys[0] && n > 1) warn(w, "%s: ordered by %s", whys, target);
    memcpy(out, it, n * sizeof *it);
    return res;
}

/* ---- stored order and per-slice attributes ---- */

/* the per-slice arrays in one allocation (dc_scan.slices_block): a scan of
 * one file made five before */
static void fill_slices(dc_scan *s, const st_item *out, uint32_t n)
{
    int vary = 0;
    for (uint32_t k = 1; k < n && !vary; k++)
        vary = out[k].slope != out[0].slope || out[k].intercept != out[0].intercept;
    uint32_t n_rescale = vary ? n : 1;
    size_t ints = ((size_t)3 * n * sizeof(uint32_t) + 7) & ~(size_t)7; /* doubles 8-aligned */
    char *block = dc_malloc(ints + (size_t)2 * n_rescale * sizeof(double));
    s->slices_block = block;
    s->n_slices = n;
    s->slice_rec = (uint32_t *)block;
    s->slice_frame = s->slice_rec + n;
    s->instance_numbers = (int32_t *)(s->slice_frame + n);
    for (uint32_t k = 0; k < n; k++) {
        s->slice_rec[k] = out[k].rec;
        s->slice_frame[k] = out[k].frame;
        s->instance_numbers[k] = out[k].has_instance ? out[k].instance : INT32_MIN;
    }
    s->n_rescale = n_rescale;
    s->rescale_in_block = 1;
    s->rescale_slope = (double *)(block + ints);
    s->rescale_intercept = s->rescale_slope + n_rescale;
    for (uint32_t k = 0; k < n_rescale; k++) {
        s->rescale_slope[k] = out[k].slope;
        s->rescale_intercept[k] = out[k].intercept;
    }
}

/* ---- geometry ---- */

#define MAX_GAP_WARNINGS 10

/* spacings between consecutive positions: uniformity and gaps; *both_ways
 * set when the positions go up and down along the normal */
static double z_spacing(dc_scan *s, const st_item *z, uint32_t nz, const double *nrm, dc_buf *w,
                        int *both_ways)
{
    uint32_t m = nz - 1;
    double *dz = dc_malloc(m * sizeof *dz), *tmp = dc_malloc(m * sizeof *tmp);
    int up = 0, down = 0;
    for (uint32_t i = 0; i < m; i++) {
        double diff[3];
        for (int c = 0; c < 3; c++) diff[c] = z[i + 1].ipp[c] - z[i].ipp[c];
        double v = nrm ? dot3(diff, nrm) : sqrt(dot3(diff, diff));
        if (v > POS_EPS) up = 1;
        if (v < -POS_EPS) down = 1;
        dz[i] = tmp[i] = fabs(v);
    }
    double med = median_of(tmp, m), lo = tmp[0], hi = tmp[m - 1];
    double tol = fmax(0.01 * med, 0.01);
    if (hi - med > tol || med - lo > tol) {
        s->uniform_spacing = 0;
        warn(w, "non-uniform slice spacing: %.3f to %.3f mm (median %.3f)", lo, hi, med);
    }
    uint32_t n_gaps = 0;
    for (uint32_t i = 0; i < m; i++) {
        if (!(med > 0 && dz[i] > 1.5 * med)) continue;
        if (n_gaps++ < MAX_GAP_WARNINGS)
            warn(w, "gap of %.3f mm between slices %u and %u (median spacing %.3f)", dz[i], i,
                 i + 1, med);
    }
    if (n_gaps > MAX_GAP_WARNINGS) warn(w, "%u more gaps", n_gaps - MAX_GAP_WARNINGS);
    *both_ways = up && down;
    free(dz);
    free(tmp);
    return med;
}

/* slices sharing a position with another one in a 3D stack */
static void report_duplicates(const st_item *z, uint32_t nz, const double *nrm, dc_buf *w)
{
    double *v = dc_malloc(nz * sizeof *v);
    uint32_t dup = 0;
    if (nrm) {
        for (uint32_t i = 0; i < nz; i++) v[i] = dot3(z[i].ipp, nrm);
        qsort(v, nz, sizeof *v, cmp_double);
        for (uint32_t i = 1; i < nz; i++) dup += v[i] - v[i - 1] < POS_EPS;
    } else {
        for (uint32_t i = 1; i < nz; i++) {
            double diff[3];
            for (int c = 0; c < 3; c++) diff[c] = z[i].ipp[c] - z[i - 1].ipp[c];
            dup += sqrt(dot3(diff, diff)) < POS_EPS;
        }
    }
    if (dup) warn(w, "%u duplicate slice positions", dup);
    free(v);
}

static void report_tilt(const st_item *z, uint32_t nz, const double *nrm, dc_buf *w)
{
    double v[3], inpl[3];
    for (int c = 0; c < 3; c++) v[c] = z[nz - 1].ipp[c] - z[0].ipp[c];
    double along = dot3(v, nrm);
    for (int c = 0; c < 3; c++) inpl[c] = v[c] - along * nrm[c];
    double ip = sqrt(dot3(inpl, inpl));
    double deg = atan2(ip, fabs(along)) * (180.0 / 3.14159265358979323846);
    if (ip > TILT_MIN_MM && deg > TILT_MIN_DEG) warn(w, "gantry tilt %.2f degrees", deg);
}

typedef struct {
    double row[3], col[3], nrm[3];
    int has_or, all_pos;
} st_frame;

static void set_affine(dc_scan *s, const st_item *z, uint32_t nz, const st_frame *g, int volumes,
                       dc_buf *w)
{
    double sx = s->spacing[2] > 0 ? s->spacing[2] : 1.0;
    double sy = s->spacing[1] > 0 ? s->spacing[1] : 1.0;
    double sz = s->spacing[0] > 0 ? s->spacing[0] : 1.0;
    int z_from_pos = g->all_pos && nz >= 2;
    double *a = s->affine;
    memset(a, 0, 16 * sizeof *a);
    for (int r = 0; r < 3; r++) {
        a[r * 4 + 0] = z_from_pos ? (z[nz - 1].ipp[r] - z[0].ipp[r]) / (nz - 1) : g->nrm[r] * sz;
        a[r * 4 + 1] = g->col[r] * sy;
        a[r * 4 + 2] = g->row[r] * sx;
        a[r * 4 + 3] = z[0].has_ipp ? z[0].ipp[r] : 0.0;
    }
    a[15] = 1.0;
    if (!volumes) return;
    dc_buf why;
    dc_buf_init(&why);
    if (!g->has_or) dc_buf_puts(&why, ", identity orientation");
    if (!(s->spacing[1] > 0 && s->spacing[2] > 0)) dc_buf_puts(&why, ", unit pixel spacing");
    if (nz >= 2 && !z_from_pos && !(s->spacing[0] > 0)) dc_buf_puts(&why, ", unit slice spacing");
    if (!z[0].has_ipp) dc_buf_puts(&why, ", origin 0");
    if (why.len) warn(w, "affine assumes %s", why.data + 2);
    dc_buf_free(&why);
}

/* spacing, positions, affine and their warnings, from the first repeat's
 * nz slices z[] in stored order */
static void geometry(dc_scan *s, const st_item *z, uint32_t nz, const dc_record *b, int volumes,
                     dc_buf *w)
{
    st_frame g = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, 0, 1};
    if (z[0].has_iop && normal_of(z[0].iop, g.nrm)) {
        g.has_or = 1;
        memcpy(g.row, z[0].iop, sizeof g.row);
        memcpy(g.col, z[0].iop + 3, sizeof g.col);
    } else {
        g.nrm[0] = g.nrm[1] = 0.0;
        g.nrm[2] = 1.0;
    }
    for (uint32_t i = 0; i < nz; i++) g.all_pos &= z[i].has_ipp;
    s->spacing[1] = b->has_spacing ? b->spacing[0] : 0.0;
    s->spacing[2] = b->has_spacing ? b->spacing[1] : 0.0;
    s->uniform_spacing = 1;
    if (g.all_pos) {
        s->n_positions = nz;
        s->slice_positions = dc_malloc((size_t)nz * 3 * sizeof(double));
        for (uint32_t i = 0; i < nz; i++)
            memcpy(s->slice_positions + 3 * i, z[i].ipp, 3 * sizeof(double));
    }
    if (g.all_pos && nz >= 2) {
        int both_ways;
        s->spacing[0] = z_spacing(s, z, nz, g.has_or ? g.nrm : NULL, w, &both_ways);
        if (g.has_or) report_tilt(z, nz, g.nrm, w);
        report_duplicates(z, nz, g.has_or ? g.nrm : NULL, w);
        if (both_ways) warn(w, "slice positions not monotonic in stored order");
    } else {
        s->spacing[0] = b->has_sbs ? b->sbs : b->has_thickness ? b->thickness : 0.0;
    }
    set_affine(s, z, nz, &g, volumes, w);
}

/* ---- shape, dtype, descriptive attributes ---- */

static void set_shape(dc_scan *s, const dc_record *b, const dc_group_opts *o, uint32_t nz,
                      dc_buf *w)
{
    uint32_t grid = b->vendor.tiling ? b->vendor.tiling->grid : 1;
    s->rows = b->rows / grid;
    s->cols = b->cols / grid;
    s->samples = b->samples ? b->samples : 1;
    dc_pixel_desc pd;
    dc_pixel_desc_from_record(b, &pd);
    s->dtype = dc_output_dtype(&pd, o->rescale);
    uint64_t d[6];
    int k = 0, colour = s->samples > 1;
    uint32_t reps = s->n_repeats;
    if (o->layout == DC_LAYOUT_SEED) {
        d[k++] = 1;
        d[k++] = s->rows;
        d[k++] = s->cols;
        if (o->volumes && reps > 1 && colour) {
            d[k++] = (uint64_t)reps * nz;
            warn(w, "seed layout: colour 4D stored as (1, rows, cols, repeats*slices, 3)");
        } else if (o->volumes) {
            if (reps > 1) d[k++] = reps;
            d[k++] = nz;
        } else if (nz > 1 || b->vendor.tiling) {
            d[k++] = nz;
        }
    } else {
        if (o->volumes && reps > 1) d[k++] = reps;
        if (o->volumes || nz > 1 || b->vendor.tiling) d[k++] = nz; /* a mosaic is a volume */
        d[k++] = s->rows;
        d[k++] = s->cols;
    }
    if (colour) d[k++] = s->samples;
    s->ndim = k;
    memcpy(s->dims, d, (size_t)k * sizeof *d);
}

/* Slices whose natural types differ (PixelRepresentation changing within a
 * series) are stored in a type that holds every value exactly: the widest
 * when all are unsigned or all signed, else the next wider signed type
 * (uint16+int16 -> int32; 32-bit mixes -> float64).  Said in warnings. */
static int wider_signed(int bytes)
{
    return bytes == 1 ? DC_DT_I16 : bytes == 2 ? DC_DT_I32 : DC_DT_F64;
}

static void promote_dtype(dc_scan *s, const dc_record *recs, const uint32_t *mem, uint32_t n,
                          const dc_group_opts *o, dc_buf *w)
{
    if (o->rescale || s->dtype == DC_DT_F32 || s->dtype == DC_DT_F64) return;
    int any_signed = 0, any_unsigned = 0, bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        const dc_record *r = &recs[mem[i]];
        if (r->pixel_kind != DC_PIX_INT) continue;
        dc_pixel_desc pd;
        dc_pixel_desc_from_record(r, &pd);
        int t = dc_output_dtype(&pd, 0);
        if (t == DC_DT_F32 || t == DC_DT_F64) return; /* mixed int/float: decode decides */
        int sz = dc_dtype_size(t);
        if (sz > bytes) bytes = sz;
        if (t == DC_DT_I8 || t == DC_DT_I16 || t == DC_DT_I32)
            any_signed = 1;
        else
            any_unsigned = 1;
    }
    if (!bytes) return;
    int t = !any_signed ? (bytes == 1 ? DC_DT_U8 : bytes == 2 ? DC_DT_U16 : DC_DT_U32)
            : !any_unsigned ? (bytes == 1 ? DC_DT_I8 : bytes == 2 ? DC_DT_I16 : DC_DT_I32)
                            : wider_signed(bytes);
    if (t == s->dtype) return;
    warn(w, "PixelRepresentation differs between slices: stored as %s", dc_dtype_name(t));
    s->dtype = t;
}

/* the first stored slice's palette; a warning when the others differ */
static void set_palette(dc_scan *s, const dc_record *recs, const uint32_t *mem, uint32_t n,
                        const dc_record *b, dc_buf *w)
{
    s->palette = dc_palette_dup(b->palette);
    int differ = 0, missing = 0;
    for (uint32_t i = 0; i < n; i++) {
        const dc_palette *p = recs[mem[i]].palette;
        if (!p != !b->palette)
            missing = 1;
        else if (p && !dc_palette_equal(p, b->palette))
            differ = 1;
    }
    if (differ) warn(w, "palette color LUTs differ between slices: attributes hold the first slice's");
    if (missing)
        warn(w, "palette color LUTs missing in some slices: attributes hold the first slice's");
}

static void describe(dc_scan *s, const dc_record *b)
{
    dc_copy_str(s->series_uid, sizeof s->series_uid, b->series_uid, DC_UID_LEN - 1);
    dc_copy_str(s->study_uid, sizeof s->study_uid, b->study_uid, DC_UID_LEN - 1);
    dc_copy_str(s->modality, sizeof s->modality, b->modality, 16);
    dc_pixel_desc pd; /* photometric of the stored pixels: YBR is decoded to RGB */
    dc_pixel_desc_from_record(b, &pd);
    dc_copy_str(s->photometric, sizeof s->photometric, dc_decoded_photometric(&pd), SIZE_MAX);
    s->bits_stored = b->bits_stored ? b->bits_stored : b->bits_alloc;
}

/* ---- unreadable before decoding ---- */

static const char *unreadable_reason(const dc_record *recs, const uint32_t *mem, uint32_t n,
                                     const dc_group_opts *o, char *why, size_t whylen)
{
    if (!o->write_pixeldata) return NULL;
    int any = 0;
    for (uint32_t i = 0; i < n; i++) any |= recs[mem[i]].pixel_kind != DC_PIX_NONE;
    if (!any) return "no pixel data";
    for (uint32_t i = 0; i < n; i++) {
        const dc_record *r = &recs[mem[i]];
        if (r->pixel_kind != DC_PIX_NONE && (r->rows == 0 || r->cols == 0))
            return "missing Rows/Columns";
    }
    for (uint32_t i = 0; i < n; i++) { /* declared sizes, before anything is allocated */
        const dc_record *r = &recs[mem[i]];
        dc_pixel_desc pd;
        dc_pixel_desc_from_record(r, &pd);
        if (r->pixel_kind != DC_PIX_NONE &&
            dc_pixel_check_size(&pd, r->file_size, o->max_image_bytes, why, whylen) != 0)
            return why;
    }
    return NULL;
}

/* the whole stored dataset (every slice, output type) beyond the ceiling */
static const char *too_large(const dc_scan *s, const dc_group_opts *o, char *why, size_t whylen)
{
    uint64_t max = o->max_image_bytes ? o->max_image_bytes : DC_DEFAULT_MAX_IMAGE_BYTES;
    uint64_t total = (uint64_t)dc_dtype_size(s->dtype);
    int overflow = 0;
    for (int d = 0; d < s->ndim; d++) overflow |= __builtin_mul_overflow(total, s->dims[d], &total);
    if (!o->write_pixeldata || (!overflow && total <= max)) return NULL;
    if (overflow)
        snprintf(why, whylen, "image of more than %llu bytes (%u slices) exceeds run.max_image_bytes (%llu)",
                 (unsigned long long)UINT64_MAX, (unsigned)s->n_slices, (unsigned long long)max);
    else
        snprintf(why, whylen, "image of %llu bytes (%u slices) exceeds run.max_image_bytes (%llu)",
                 (unsigned long long)total, (unsigned)s->n_slices, (unsigned long long)max);
    return why;
}

static uint32_t first_by_path(const dc_record *recs, const char *const *paths, const uint32_t *mem,
                              uint32_t n)
{
    uint32_t best = mem[0];
    for (uint32_t i = 1; i < n; i++)
        if (strcmp(paths[recs[mem[i]].file_idx], paths[recs[best].file_idx]) < 0) best = mem[i];
    return best;
}

static void mark_unreadable(dc_scan *s, const dc_record *recs, const char *const *paths,
                            const uint32_t *mem, uint32_t n, const char *reason)
{
    char *copy = dc_strdup(reason); /* reason may be s->reason itself */
    free(s->reason);
    s->reason = copy;
    s->unreadable = 1;
    s->first_rec = s->example_rec = first_by_path(recs, paths, mem, n);
    describe(s, &recs[s->first_rec]);
    snprintf(s->slice_order, sizeof s->slice_order, "%s", "");
    s->cost = 0;
}

/* ---- the whole stack ---- */

static void stack_items(dc_scan *s, const dc_record *recs, const char *const *paths,
                        const uint32_t *mem, uint32_t n_mem, const st_subset *sub,
                        const dc_group_opts *o, dc_buf *w)
{
    enum { N_SMALL = 4 }; /* items of small scans stay off the heap */
    st_item small_it[N_SMALL], small_out[N_SMALL];
    uint32_t n;
    st_item *it = make_items(recs, paths, mem, n_mem, sub, small_it, N_SMALL, &n);
    st_item *out = n <= N_SMALL ? small_out : dc_malloc(n * sizeof *out);
    st_order ord = {"single", 1};
    if (o->volumes) {
        int single_mf = n_mem == 1 && recs[mem[0]].frames > 1;
        ord = order_items(it, n, o->slice_order, single_mf, w, out);
    } else {
        qsort(it, n, sizeof *it, cmp_frame);
        memcpy(out, it, n * sizeof *it);
    }
    /* mosaics ordered by instance or file name: each file's tiles stay in
     * tile order, so the files are the repeats */
    uint32_t tiles = dc_tiles_of(&recs[mem[0]].vendor);
    if (o->volumes && ord.n_repeats == 1 && n_mem > 1 && tiles && !sub && n == n_mem * tiles &&
        strcmp(ord.label, "position") != 0)
        ord.n_repeats = n_mem;
    dc_copy_str(s->slice_order, sizeof s->slice_order, ord.label, SIZE_MAX);
    fill_slices(s, out, n);
    const dc_record *b = &recs[out[0].rec];
    s->first_rec = s->example_rec = out[0].rec;
    describe(s, b);
    s->n_repeats = ord.n_repeats;
    uint32_t nz = n / ord.n_repeats;
    geometry(s, out, nz, b, o->volumes, w);
    set_shape(s, b, o, nz, w);
    promote_dtype(s, recs, mem, n_mem, o, w);
    set_palette(s, recs, mem, n_mem, b, w);
    dc_vendor_scan_attrs(recs, s, o, w);
    s->cost = 0;
    if (o->write_pixeldata)
        for (uint32_t i = 0; i < n_mem; i++) s->cost += recs[mem[i]].file_size;
    else
        s->cost = b->file_size;
    if (sub && o->write_pixeldata && b->frames > n) s->cost = s->cost / b->frames * n; /* a part */
    if (it != small_it) free(it);
    if (out != small_out) free(out);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* the distinct records of a frame subset */
static uint32_t *distinct_recs(const uint32_t *rec, uint32_t n, uint32_t *n_out)
{
    uint32_t *u = dc_malloc(n * sizeof *u), k = 0;
    memcpy(u, rec, n * sizeof *u);
    qsort(u, n, sizeof *u, cmp_u32);
    for (uint32_t i = 0; i < n; i++)
        if (i == 0 || u[i] != u[k - 1]) u[k++] = u[i];
    *n_out = k;
    return u;
}

int dc_stack_scan(const dc_record *recs, const char *const *file_paths, const dc_group_opts *opts,
                  dc_scan *scan)
{
    if (!recs || !file_paths || !opts || !scan || !scan->slice_rec || scan->n_slices == 0)
        return -1;
    if (!opts->volumes && scan->n_slices != 1) return -1;
    uint32_t *mem = scan->slice_rec, n_mem = scan->n_slices;
    uint32_t *in_rec = NULL, *in_frame = scan->slice_frame, n_in = scan->n_slices;
    if (in_frame) { /* a frame subset: stack those frames; mem = the distinct records */
        for (uint32_t k = 0; k < n_in; k++)
            if (recs[mem[k]].frames && in_frame[k] >= recs[mem[k]].frames) return -1;
        in_rec = mem;
        mem = distinct_recs(in_rec, n_in, &n_mem);
    }
    st_subset sub = {in_rec, in_frame, n_in};
    scan->slice_rec = NULL;
    scan->slice_frame = NULL;
    scan->n_slices = 0;
    dc_buf w;
    dc_buf_init(&w);
    if (scan->warnings) dc_buf_puts(&w, scan->warnings);
    scan->n_files = n_mem;
    scan->n_repeats = 1;
    char why[DC_REASON_LEN];
    const char *reason = scan->unreadable
                             ? (scan->reason ? scan->reason : "unreadable")
                             : unreadable_reason(recs, mem, n_mem, opts, why, sizeof why);
    if (reason) {
        mark_unreadable(scan, recs, file_paths, mem, n_mem, reason);
    } else {
        stack_items(scan, recs, file_paths, mem, n_mem, in_frame ? &sub : NULL, opts, &w);
        if ((reason = too_large(scan, opts, why, sizeof why)) != NULL)
            mark_unreadable(scan, recs, file_paths, mem, n_mem, reason);
    }
    free(mem);
    free(in_rec);
    free(in_frame);
    free(scan->warnings);
    scan->warnings = dc_buf_steal(&w);
    return 0;
}
