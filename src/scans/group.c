/*
 * group.c - file records to scans (SPEC 3): Scan IDs, per-file and volume
 * grouping, duplicate SOPInstanceUIDs, splitting of inconsistent series,
 * unreadable files and input folders without DICOM files.  See dc_scan.h.
 *
 * How it fits: dc_group_records() keeps the DICOM and BAD records and sorts
 * them by (scope, [series,] file path), so that nothing after depends on the
 * order the records came in.  It then emits scans: one per BAD file, one per
 * file (per-file mode) or the parts of each series (group_series(): drop
 * duplicate SOPInstanceUIDs, leave out files without pixel data, split into
 * consistent parts, name the parts).  Every scan goes through
 * dc_stack_scan() (stack.c), which orders it and fills its attributes.
 * Finally Scan IDs are made unique and the scans sorted by Scan ID.
 *
 * Pure: no MPI, no I/O.
 */
#include "dc_scan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_privacy.h"
#include "dc_walk.h"

#define IOP_EPS 1e-4

/* a kept record with its path (the sort key) */
typedef struct {
    uint32_t idx;
    const dc_record *r;
    const char *path;
} gr_ref;

typedef struct {
    dc_scan *v;
    size_t n, cap;
} gr_scans;

/* what every scan needs from the caller */
typedef struct {
    const dc_record *recs;
    const char *const *paths;
    const char *const *scope_ids;
    const dc_group_opts *opts;
} gr_ctx;

/* ---- helpers ---- */

static dc_scan *push_scan(gr_scans *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = dc_realloc(s->v, s->cap * sizeof *s->v);
    }
    dc_scan *x = &s->v[s->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return dc_privacy_base_name(s ? s + 1 : path); /* profile: a pseudonym */
}

/* a record's fixed-size string, bounded even if not terminated */
static char *rec_str(const char *s, size_t cap)
{
    return dc_strndup(s, strnlen(s, cap));
}

static int cmp_ref_file(const void *pa, const void *pb)
{
    const gr_ref *a = pa, *b = pb;
    if (a->r->scope != b->r->scope) return a->r->scope < b->r->scope ? -1 : 1;
    int c = strcmp(a->path, b->path);
    if (c) return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int cmp_ref_series(const void *pa, const void *pb)
{
    const gr_ref *a = pa, *b = pb;
    if (a->r->scope != b->r->scope) return a->r->scope < b->r->scope ? -1 : 1;
    int c = strncmp(a->r->series_uid, b->r->series_uid, DC_UID_LEN);
    return c ? c : cmp_ref_file(pa, pb);
}

static int cmp_ref_sop(const void *pa, const void *pb)
{
    const gr_ref *a = pa, *b = pb;
    int c = strncmp(a->r->sop_uid, b->r->sop_uid, DC_UID_LEN);
    return c ? c : cmp_ref_file(pa, pb);
}

/* ---- scans of single files ---- */

/* an unreadable scan (its reason set) of the records mem[n] */
static void emit_unreadable(gr_scans *out, const gr_ctx *c, char *scan_id, uint32_t scope,
                            uint32_t *mem, uint32_t n, const char *reason, char *warnings)
{
    dc_scan *s = push_scan(out);
    s->scan_id = scan_id;
    s->scope = scope;
    s->unreadable = 1;
    s->reason = dc_strdup(reason);
    s->slice_rec = mem;
    s->n_slices = n;
    s->warnings = warnings;
    dc_stack_scan(c->recs, c->paths, c->opts, s);
}

/* a stack of given frames (frames NULL: every frame of the records) */
static void emit_frames(gr_scans *out, const gr_ctx *c, char *scan_id, uint32_t scope,
                        uint32_t *rec, uint32_t *frames, uint32_t n, char *warnings, uint32_t n_dup)
{
    dc_scan *s = push_scan(out);
    s->scan_id = scan_id;
    s->scope = scope;
    s->slice_rec = rec;
    s->slice_frame = frames;
    s->n_slices = n;
    s->warnings = warnings;
    s->n_duplicates = n_dup;
    dc_stack_scan(c->recs, c->paths, c->opts, s);
}

/* a stack of every frame of the records mem[n] */
static void emit_stack(gr_scans *out, const gr_ctx *c, char *scan_id, uint32_t scope, uint32_t *mem,
                       uint32_t n, char *warnings, uint32_t n_dup)
{
    emit_frames(out, c, scan_id, scope, mem, NULL, n, warnings, n_dup);
}

static uint32_t *one_rec(uint32_t idx)
{
    uint32_t *m = dc_malloc(sizeof *m);
    *m = idx;
    return m;
}

/* "<scope id>_<name>" (dc_asprintf("%s_%s") without the format, once per file) */
static char *scope_id_join(const char *scope_id, const char *name)
{
    size_t a = strlen(scope_id), b = strlen(name);
    char *id = dc_malloc(a + b + 2);
    memcpy(id, scope_id, a);
    id[a] = '_';
    memcpy(id + a + 1, name, b + 1);
    return id;
}

static void bad_scan(gr_scans *out, const gr_ctx *c, const gr_ref *f)
{
    char *stem = dc_privacy_file_stem(f->path);
    char *id = scope_id_join(c->scope_ids[f->r->scope], stem);
    char *reason = rec_str(f->r->reason, DC_REASON_LEN);
    emit_unreadable(out, c, id, f->r->scope, one_rec(f->idx), 1,
                    reason[0] ? reason : "unreadable DICOM header", NULL);
    free(reason);
    free(stem);
}

static void per_file_scan(gr_scans *out, const gr_ctx *c, const gr_ref *f)
{
    char *name = f->r->sop_uid[0] ? rec_str(f->r->sop_uid, DC_UID_LEN) : dc_privacy_file_stem(f->path);
    char *id = scope_id_join(c->scope_ids[f->r->scope], name);
    emit_stack(out, c, id, f->r->scope, one_rec(f->idx), 1, NULL, 0);
    free(name);
}

/* ---- volume mode: the parts of one series ---- */

enum { F_KEEP = 0, F_DUP = 1, F_NOPIX = 2 };

typedef struct {
    uint32_t *mem; /* positions in the series' refs, file-name order */
    uint32_t n, cap;
    int multi;          /* one multi-frame file */
    uint32_t *frames;   /* multi: the frames of one orientation when the file is split, else NULL */
    uint32_t n_frames, n_file_frames;
    const char *reason; /* unreadable part (split_inconsistent false) */
    int has_inst;
    int32_t min_inst;
    const char *first_path;
    uint32_t n_dup;
    dc_buf dups; /* file names of dropped duplicates */
} gr_part;

typedef struct {
    const gr_ref *f; /* the series' refs, file-name order */
    uint32_t m;
    uint8_t *state;    /* F_* per ref */
    uint32_t *keeper;  /* F_DUP: position of the copy that is stacked */
    uint32_t *part_of; /* F_KEEP: part index */
    gr_part *parts;
    uint32_t n_parts;
} gr_series;

static void part_add(gr_part *p, uint32_t pos)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 8;
        p->mem = dc_realloc(p->mem, p->cap * sizeof *p->mem);
    }
    p->mem[p->n++] = pos;
}

static gr_part *new_part(gr_series *g)
{
    g->parts = dc_realloc(g->parts, (g->n_parts + 1) * sizeof *g->parts);
    gr_part *p = &g->parts[g->n_parts++];
    memset(p, 0, sizeof *p);
    dc_buf_init(&p->dups);
    return p;
}

typedef struct {
    gr_ref ref; /* first: cmp_ref_sop applies to the wrapper */
    uint32_t pos;
} gr_pos_ref;

/* SOPInstanceUIDs held by several files: the first by file name is kept */
static void mark_duplicates(gr_series *g)
{
    gr_pos_ref *t = dc_malloc(g->m * sizeof *t);
    for (uint32_t i = 0; i < g->m; i++) {
        t[i].ref = g->f[i];
        t[i].pos = i;
    }
    dc_sort(t, g->m, sizeof *t, cmp_ref_sop);
    for (uint32_t i = 1; i < g->m; i++) {
        const dc_record *a = t[i - 1].ref.r, *b = t[i].ref.r;
        if (!b->sop_uid[0] || strncmp(a->sop_uid, b->sop_uid, DC_UID_LEN) != 0) continue;
        uint32_t k = g->state[t[i - 1].pos] == F_DUP ? g->keeper[t[i - 1].pos] : t[i - 1].pos;
        g->state[t[i].pos] = F_DUP;
        g->keeper[t[i].pos] = k;
    }
    free(t);
}

/* files without pixel data stay out of a series that has some with */
static void mark_no_pixels(gr_series *g)
{
    int any = 0;
    for (uint32_t i = 0; i < g->m; i++)
        any |= g->state[i] == F_KEEP && g->f[i].r->pixel_kind != DC_PIX_NONE;
    if (!any) return;
    for (uint32_t i = 0; i < g->m; i++)
        if (g->state[i] == F_KEEP && g->f[i].r->pixel_kind == DC_PIX_NONE) g->state[i] = F_NOPIX;
}

static int same_dims(const dc_record *a, const dc_record *b)
{
    return a->rows == b->rows && a->cols == b->cols;
}

static int same_samples(const dc_record *a, const dc_record *b)
{
    return (a->samples ? a->samples : 1) == (b->samples ? b->samples : 1);
}

static int same_orientation(const dc_record *a, const dc_record *b)
{
    if (a->has_iop != b->has_iop) return 0;
    if (!a->has_iop) return 1;
    for (int i = 0; i < 6; i++)
        if (fabs(a->iop[i] - b->iop[i]) > IOP_EPS) return 0;
    return 1;
}

/* SPEC 11: one SeriesInstanceUID, several SeriesNumbers (absent = its own value) */
static int same_series_number(const dc_record *a, const dc_record *b)
{
    const dc_vendor_vals *x = &a->vendor, *y = &b->vendor;
    return x->has_series_number == y->has_series_number &&
           (!x->has_series_number || x->series_number == y->series_number);
}

/* mosaics with another number of slices (or a mosaic and an ordinary image) */
static int same_tiling(const dc_record *a, const dc_record *b)
{
    return dc_tiles_of(&a->vendor) == dc_tiles_of(&b->vendor);
}

static int consistent(const dc_record *a, const dc_record *b)
{
    return same_dims(a, b) && same_samples(a, b) && a->bits_alloc == b->bits_alloc &&
           same_orientation(a, b) && same_series_number(a, b) && same_tiling(a, b);
}

static const dc_record *part_rec(const gr_series *g, const gr_part *p, uint32_t k)
{
    return g->f[p->mem[k]].r;
}

/* frame f's orientation: its per-frame group's, else the file's; NULL when none */
static const double *frame_iop(const dc_record *r, uint32_t f)
{
    if (r->frame_geom && f < r->n_frame_geom && r->frame_geom[f].has_iop) return r->frame_geom[f].iop;
    return r->has_iop ? r->iop : NULL;
}

static int iop_same(const double *a, const double *b)
{
    if (!a || !b) return a == b;
    for (int i = 0; i < 6; i++)
        if (fabs(a[i] - b[i]) > IOP_EPS) return 0;
    return 1;
}

/* A multi-frame file whose frames have several orientations (a tri-planar
 * localizer in one enhanced file) is split like a series: one part per
 * orientation, frames in file order, the orientations in the order of their
 * first frame.  More than MAX_MF_ORIENTATIONS (radial acquisitions): not
 * split (stacked in frame order, with a warning).  split_inconsistent false:
 * one part, unreadable "inconsistent orientation". */
#define MAX_MF_ORIENTATIONS 16

static void add_multiframe(gr_series *g, uint32_t i, int split)
{
    const dc_record *r = g->f[i].r;
    uint32_t nf = r->frames, rep[MAX_MF_ORIENTATIONS], ncls = 0;
    uint32_t *cls = dc_malloc(nf * sizeof *cls);
    for (uint32_t f = 0; f < nf && ncls <= MAX_MF_ORIENTATIONS; f++) {
        uint32_t c = 0;
        while (c < ncls && !iop_same(frame_iop(r, rep[c]), frame_iop(r, f))) c++;
        if (c == ncls && ncls < MAX_MF_ORIENTATIONS) rep[ncls] = f;
        if (c == ncls) ncls++;
        cls[f] = c;
    }
    if (ncls <= 1 || ncls > MAX_MF_ORIENTATIONS || !split) {
        gr_part *p = new_part(g);
        p->multi = 1;
        if (ncls > 1 && ncls <= MAX_MF_ORIENTATIONS) p->reason = "inconsistent orientation";
        part_add(p, i);
        free(cls);
        return;
    }
    for (uint32_t c = 0; c < ncls; c++) {
        gr_part *p = new_part(g);
        p->multi = 1;
        p->n_file_frames = nf;
        p->frames = dc_malloc(nf * sizeof *p->frames);
        for (uint32_t f = 0; f < nf; f++)
            if (cls[f] == c) p->frames[p->n_frames++] = f;
        part_add(p, i);
    }
    free(cls);
}

/* multi-frame files alone, single-frame files into consistent parts */
static void partition(gr_series *g, int split)
{
    for (uint32_t i = 0; i < g->m; i++) {
        if (g->state[i] != F_KEEP) continue;
        const dc_record *r = g->f[i].r;
        if (r->frames > 1) {
            add_multiframe(g, i, split);
            continue;
        }
        gr_part *p = NULL;
        for (uint32_t q = 0; q < g->n_parts && !p; q++)
            if (!g->parts[q].multi && consistent(part_rec(g, &g->parts[q], 0), r)) p = &g->parts[q];
        if (!p) p = new_part(g);
        part_add(p, i);
    }
}

/* the first attribute in which some part differs from the first single-frame part */
static const char *split_reason(const gr_series *g, const gr_part *p0)
{
    static const char *reasons[] = {"inconsistent Rows/Columns", "inconsistent SamplesPerPixel",
                                    "inconsistent BitsAllocated", "inconsistent orientation",
                                    "inconsistent SeriesNumber", "inconsistent NumberOfImagesInMosaic"};
    const dc_record *a = part_rec(g, p0, 0);
    for (int k = 0; k < 6; k++)
        for (uint32_t q = 0; q < g->n_parts; q++) {
            if (g->parts[q].multi) continue;
            const dc_record *b = part_rec(g, &g->parts[q], 0);
            int same = k == 0   ? same_dims(a, b)
                       : k == 1 ? same_samples(a, b)
                       : k == 2 ? a->bits_alloc == b->bits_alloc
                       : k == 3 ? same_orientation(a, b)
                       : k == 4 ? same_series_number(a, b)
                                : same_tiling(a, b);
            if (!same) return reasons[k];
        }
    return "inconsistent series";
}

/* split_inconsistent false: all single-frame parts become one unreadable part */
static void merge_inconsistent(gr_series *g)
{
    gr_part *p0 = NULL;
    uint32_t n_single = 0;
    for (uint32_t q = 0; q < g->n_parts; q++)
        if (!g->parts[q].multi) {
            n_single++;
            if (!p0) p0 = &g->parts[q];
        }
    if (n_single < 2) return;
    p0->reason = split_reason(g, p0);
    uint32_t w = 0;
    for (uint32_t q = 0; q < g->n_parts; q++) {
        gr_part *p = &g->parts[q];
        if (p != p0 && !p->multi) {
            for (uint32_t k = 0; k < p->n; k++) part_add(p0, p->mem[k]);
            free(p->mem);
            dc_buf_free(&p->dups);
            continue;
        }
        g->parts[w++] = *p;
    }
    g->n_parts = w;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* lowest InstanceNumber first, parts without any after, ties by first file
 * name, then (the parts of one multi-frame file) by first frame */
static int cmp_part(const void *pa, const void *pb)
{
    const gr_part *a = pa, *b = pb;
    if (a->has_inst != b->has_inst) return a->has_inst ? -1 : 1;
    if (a->has_inst && a->min_inst != b->min_inst) return a->min_inst < b->min_inst ? -1 : 1;
    int c = strcmp(a->first_path, b->first_path);
    if (c) return c;
    uint32_t fa = a->frames ? a->frames[0] : 0, fb = b->frames ? b->frames[0] : 0;
    return fa < fb ? -1 : fa > fb;
}

static void order_parts(gr_series *g)
{
    for (uint32_t q = 0; q < g->n_parts; q++) {
        gr_part *p = &g->parts[q];
        qsort(p->mem, p->n, sizeof *p->mem, cmp_u32); /* file-name order (merged parts) */
        p->first_path = g->f[p->mem[0]].path;
        for (uint32_t k = 0; k < p->n; k++) {
            const dc_record *r = part_rec(g, p, k);
            if (r->has_instance && (!p->has_inst || r->instance < p->min_inst))
                p->min_inst = r->instance;
            p->has_inst |= r->has_instance;
        }
    }
    qsort(g->parts, g->n_parts, sizeof *g->parts, cmp_part);
    for (uint32_t q = 0; q < g->n_parts; q++)
        for (uint32_t k = 0; k < g->parts[q].n; k++) g->part_of[g->parts[q].mem[k]] = q;
}

/* "frames 1-3, 7 of 9": the (1-based) frame numbers of a split multi-frame part */
static void frame_ranges(dc_buf *w, const gr_part *p)
{
    dc_buf_puts(w, "multi-frame file split by orientation: frames ");
    for (uint32_t k = 0, shown = 0; k < p->n_frames; shown++) {
        uint32_t j = k;
        while (j + 1 < p->n_frames && p->frames[j + 1] == p->frames[j] + 1) j++;
        if (shown == 20) {
            dc_buf_puts(w, ", ...");
            break;
        }
        dc_buf_printf(w, "%s%u", shown ? ", " : "", p->frames[k] + 1);
        if (j > k) dc_buf_printf(w, "-%u", p->frames[j] + 1);
        k = j + 1;
    }
    dc_buf_printf(w, " of %u", p->n_file_frames);
}

/* warnings of part q: its dropped duplicates; part 0 also the files without pixels */
static char *part_warnings(const gr_series *g, uint32_t q)
{
    dc_buf w;
    dc_buf_init(&w);
    const gr_part *p = &g->parts[q];
    if (p->frames) frame_ranges(&w, p);
    if (p->n_dup)
        dc_buf_printf(&w, "%sduplicate SOPInstanceUID, not stacked: %s", w.len ? "; " : "",
                      p->dups.data);
    if (q == 0) {
        int first = 1;
        for (uint32_t i = 0; i < g->m; i++) {
            if (g->state[i] != F_NOPIX) continue;
            if (first)
                dc_buf_puts(&w, w.len ? "; no pixel data, in scan *_nopixel: "
                                      : "no pixel data, in scan *_nopixel: ");
            else
                dc_buf_puts(&w, ", ");
            dc_buf_puts(&w, base_name(g->f[i].path));
            first = 0;
        }
    }
    return dc_buf_steal(&w);
}

static void assign_duplicates(gr_series *g)
{
    for (uint32_t i = 0; i < g->m; i++) {
        if (g->state[i] != F_DUP) continue;
        uint32_t k = g->keeper[i];
        gr_part *p = &g->parts[g->state[k] == F_KEEP ? g->part_of[k] : 0];
        if (p->n_dup++) dc_buf_puts(&p->dups, ", ");
        dc_buf_puts(&p->dups, base_name(g->f[i].path));
    }
}

/* Files without pixel data beside image files of the same series (reports,
 * dose summaries) are not stacked, but never dropped either: they form the
 * scan <folder>_<uid>_nopixel (a metadata row, or "no pixel data" in
 * unreadable_files when writing pixel data).  The image stack keeps its ID. */
static void emit_no_pixels(gr_scans *out, const gr_ctx *c, const gr_series *g, const char *uid)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < g->m; i++) n += g->state[i] == F_NOPIX;
    if (!n) return;
    uint32_t *mem = dc_malloc(n * sizeof *mem), k = 0;
    for (uint32_t i = 0; i < g->m; i++)
        if (g->state[i] == F_NOPIX) mem[k++] = g->f[i].idx;
    const dc_record *r0 = g->f[0].r;
    char *id = dc_asprintf("%s_%s_nopixel", c->scope_ids[r0->scope], uid);
    emit_stack(out, c, id, r0->scope, mem, n, NULL, 0);
}

static void emit_parts(gr_scans *out, const gr_ctx *c, const gr_series *g)
{
    const dc_record *r0 = g->f[0].r;
    char *uid = r0->series_uid[0] ? rec_str(r0->series_uid, DC_UID_LEN) : dc_strdup("nouid");
    for (uint32_t q = 0; q < g->n_parts; q++) {
        const gr_part *p = &g->parts[q];
        char *id = g->n_parts > 1 ? dc_asprintf("%s_%s_%u", c->scope_ids[r0->scope], uid, q + 1)
                                  : dc_asprintf("%s_%s", c->scope_ids[r0->scope], uid);
        uint32_t n = p->frames ? p->n_frames : p->n;
        uint32_t *mem = dc_malloc(n * sizeof *mem), *frames = NULL;
        for (uint32_t k = 0; k < n; k++) mem[k] = g->f[p->mem[p->frames ? 0 : k]].idx;
        if (p->frames) { /* one orientation of a multi-frame file: those frames */
            frames = dc_malloc(n * sizeof *frames);
            memcpy(frames, p->frames, n * sizeof *frames);
        }
        char *w = part_warnings(g, q);
        if (p->reason) {
            emit_unreadable(out, c, id, r0->scope, mem, p->n, p->reason, w);
            out->v[out->n - 1].n_duplicates = p->n_dup;
            free(frames);
        } else {
            emit_frames(out, c, id, r0->scope, mem, frames, n, w, p->n_dup);
        }
    }
    emit_no_pixels(out, c, g, uid);
    free(uid);
}

static void group_series(gr_scans *out, const gr_ctx *c, const gr_ref *f, uint32_t m)
{
    gr_series g = {
        f,    m, dc_calloc(m, 1), dc_calloc(m, sizeof(uint32_t)), dc_calloc(m, sizeof(uint32_t)),
        NULL, 0};
    mark_duplicates(&g);
    mark_no_pixels(&g);
    partition(&g, c->opts->split_inconsistent);
    if (!c->opts->split_inconsistent) merge_inconsistent(&g);
    order_parts(&g);
    assign_duplicates(&g);
    emit_parts(out, c, &g);
    for (uint32_t q = 0; q < g.n_parts; q++) {
        free(g.parts[q].mem);
        free(g.parts[q].frames);
        dc_buf_free(&g.parts[q].dups);
    }
    free(g.parts);
    free(g.state);
    free(g.keeper);
    free(g.part_of);
}

static void volume_scans(gr_scans *out, const gr_ctx *c, gr_ref *f, size_t nf)
{
    dc_sort(f, nf, sizeof *f, cmp_ref_series);
    for (size_t i = 0; i < nf;) {
        size_t j = i + 1;
        while (j < nf && f[j].r->scope == f[i].r->scope &&
               strncmp(f[j].r->series_uid, f[i].r->series_uid, DC_UID_LEN) == 0)
            j++;
        group_series(out, c, f + i, (uint32_t)(j - i));
        i = j;
    }
}

/* ---- input folders without any DICOM file ---- */

static void empty_folders(gr_scans *out, const dc_record *recs, size_t n,
                          const char *const *scope_ids, const uint8_t *is_input, size_t n_scopes)
{
    if (!is_input) return;
    uint8_t *has = dc_calloc(n_scopes, 1);
    for (size_t i = 0; i < n; i++)
        if (recs[i].kind == DC_FILE_DICOM || recs[i].kind == DC_FILE_BAD) has[recs[i].scope] = 1;
    for (size_t s = 0; s < n_scopes; s++) {
        if (!is_input[s]) continue;
        int any = has[s];
        for (size_t t = s + 1; t < n_scopes && !is_input[t]; t++) any |= has[t];
        if (any) continue;
        dc_scan *x = push_scan(out);
        x->scan_id = dc_strdup(scope_ids[s]);
        x->scope = (uint32_t)s;
        x->unreadable = 1;
        x->reason = dc_strdup(is_input[s] == DC_SCOPE_DENIED   ? "cannot read folder: Permission denied"
                              : is_input[s] == DC_SCOPE_FAILED ? "cannot read folder"
                                                               : "no DICOM files in folder");
        x->first_rec = x->example_rec = DC_NO_REC;
        x->n_repeats = 1;
        x->warnings = dc_strdup("");
    }
    free(has);
}

/* ---- unique Scan IDs, final order ---- */

typedef struct {
    dc_scan *s;
    const char *key; /* example file path: order among equal IDs */
} gr_ent;

static int cmp_ent(const void *pa, const void *pb)
{
    const gr_ent *a = pa, *b = pb;
    int c = strcmp(a->s->scan_id, b->s->scan_id);
    return c ? c : strcmp(a->key, b->key);
}

static int cmp_ent_id(const void *key, const void *pe)
{
    return strcmp((const char *)key, ((const gr_ent *)pe)->s->scan_id);
}

static int id_taken(const char *id, const gr_ent *e, size_t n, const dc_strvec *fresh)
{
    if (bsearch(id, e, n, sizeof *e, cmp_ent_id)) return 1;
    for (size_t i = 0; i < fresh->n; i++)
        if (strcmp(fresh->v[i], id) == 0) return 1;
    return 0;
}

/* the k-th holder (by file name) of a repeated ID gets "_k" (next free k) */
static void unique_ids(dc_scan *v, size_t n, const gr_ctx *c)
{
    gr_ent *e = dc_malloc((n ? n : 1) * sizeof *e);
    for (size_t i = 0; i < n; i++) {
        e[i].s = &v[i];
        e[i].key =
            v[i].example_rec == DC_NO_REC ? "" : c->paths[c->recs[v[i].example_rec].file_idx];
    }
    dc_sort(e, n, sizeof *e, cmp_ent);
    char **renamed = dc_calloc(n ? n : 1, sizeof *renamed);
    dc_strvec fresh;
    dc_strvec_init(&fresh);
    for (size_t i = 1; i < n; i++) {
        size_t first = i;
        while (first > 0 && strcmp(e[first - 1].s->scan_id, e[i].s->scan_id) == 0) first--;
        if (first == i) continue;
        for (unsigned k = (unsigned)(i - first) + 1;; k++) {
            char *id = dc_asprintf("%s_%u", e[i].s->scan_id, k);
            if (!id_taken(id, e, n, &fresh)) {
                renamed[i] = id;
                dc_strvec_push(&fresh, id);
                break;
            }
            free(id);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (renamed[i]) {
            free(e[i].s->scan_id);
            e[i].s->scan_id = renamed[i];
        }
    dc_strvec_free(&fresh);
    free(renamed);
    free(e);
}

static int cmp_scan_id(const void *pa, const void *pb)
{
    return strcmp(((const dc_scan *)pa)->scan_id, ((const dc_scan *)pb)->scan_id);
}

/* ---- entry point ---- */

static int args_ok(const dc_record *recs, size_t n, const char *const *paths,
                   const char *const *scope_ids, size_t n_scopes, const dc_group_opts *o,
                   dc_scan **scans, size_t *n_scans)
{
    if ((n && (!recs || !paths)) || (n_scopes && !scope_ids) || !o || !scans || !n_scans) return 0;
    if (n > UINT32_MAX - 1) return 0;
    for (size_t i = 0; i < n; i++)
        if (recs[i].scope >= n_scopes &&
            (recs[i].kind == DC_FILE_DICOM || recs[i].kind == DC_FILE_BAD))
            return 0;
    return 1;
}

int dc_group_records(const dc_record *recs, size_t n, const char *const *file_paths,
                     const char *const *scope_ids, const uint8_t *scope_is_input, size_t n_scopes,
                     const dc_group_opts *opts, dc_scan **scans, size_t *n_scans)
{
    if (!args_ok(recs, n, file_paths, scope_ids, n_scopes, opts, scans, n_scans)) return -1;
    gr_ctx c = {recs, file_paths, scope_ids, opts};
    gr_ref *f = dc_malloc((n ? n : 1) * sizeof *f);
    size_t nf = 0;
    gr_scans out = {NULL, 0, 0};
    for (size_t i = 0; i < n; i++) {
        if (recs[i].kind != DC_FILE_DICOM && recs[i].kind != DC_FILE_BAD) continue;
        gr_ref r = {(uint32_t)i, &recs[i], file_paths[recs[i].file_idx]};
        if (recs[i].kind == DC_FILE_BAD)
            bad_scan(&out, &c, &r);
        else
            f[nf++] = r;
    }
    if (opts->volumes) {
        volume_scans(&out, &c, f, nf);
    } else {
        dc_sort(f, nf, sizeof *f, cmp_ref_file);
        for (size_t i = 0; i < nf; i++) per_file_scan(&out, &c, &f[i]);
    }
    empty_folders(&out, recs, n, scope_ids, scope_is_input, n_scopes);
    unique_ids(out.v, out.n, &c);
    if (out.n) dc_sort(out.v, out.n, sizeof *out.v, cmp_scan_id);
    free(f);
    *scans = out.v;
    *n_scans = out.n;
    return 0;
}
