/*
 * vendor.c - what every file's header says about vendor conventions and 4D
 * axes (dc_vendor.h): the generic values (EchoTime, ImageType, b-value,
 * SeriesNumber), the dispatch to the vendor files, private element lookup,
 * serialisation, and the extra attributes of a scan (dc_vendor_scan_attrs).
 *
 * Named 4D axes.  The first axis of a 4D dataset (repeats) is named by the
 * first of these values that differs between repeats (each repeat's first
 * stored slice): EchoTime -> "echo", ImageType -> "image_type" (magnitude,
 * phase, real, imaginary ...), b-value -> "b_value", TemporalPosition-
 * Identifier / TemporalPositionIndex -> "time", AcquisitionNumber ->
 * "acquisition"; none -> "unknown".  Every one of them is also given per
 * repeat (repeat_echo_time, repeat_image_type, repeat_b_value,
 * repeat_temporal_position, repeat_acquisition_number; NaN or "" where a
 * file has none).
 */
#include "dc_vendor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_scan.h"
#include "dc_wire.h"

void dc_vendor_vals_free(dc_vendor_vals *v)
{
    free(v->tiling);
    free(v->note);
    free(v->frames);
    v->tiling = NULL;
    v->note = NULL;
    v->frames = NULL;
    v->n_frames = 0;
}

void dc_vendor_frame_values(const dc_vendor_vals *v, uint32_t f, dc_vendor_vals *out)
{
    *out = *v; /* a view: the pointers are v's */
    if (!v->frames || f >= v->n_frames) return;
    const dc_frame_vendor *x = &v->frames[f];
    if (x->has & DC_FV_ECHO) out->echo_time = x->echo_time, out->has_echo = 1;
    if (x->has & DC_FV_BVALUE) out->b_value = x->b_value, out->has_bvalue = 1;
    if (x->has & DC_FV_SS) out->philips_ss = x->ss, out->has_philips_ss = 1;
    if (x->has & DC_FV_RS) out->philips_rs = x->rs, out->has_philips_rs = 1;
    if (x->has & DC_FV_RI) out->philips_ri = x->ri, out->has_philips_ri = 1;
}

dc_tiling *dc_tiling_new(uint16_t n_tiles, uint16_t grid)
{
    dc_tiling *t = dc_calloc(1, sizeof *t + (size_t)n_tiles * sizeof t->times[0]);
    t->n_tiles = n_tiles;
    t->grid = grid;
    return t;
}

int dc_private_find(const dc_dataset *ds, uint16_t group, const char *creator, uint8_t elem)
{
    /* creators are reserved from (gggg,0010) upwards; stop at the first gap */
    for (uint32_t block = 0x10; block <= 0xFF; block++) {
        int c = dc_find(ds, DC_TAG(group, block));
        if (c < 0) return -1;
        char name[65];
        if (dc_get_str(ds, c, name, sizeof name) == 0 && strcmp(name, creator) == 0)
            return dc_find(ds, DC_TAG(group, block << 8 | elem));
    }
    return -1;
}

static void read_generic(const dc_dataset *ds, dc_vendor_vals *v)
{
    long n;
    if (dc_tag_doubles(ds, DC_TAG(0x0018, 0x0081), &v->echo_time, 1) == 1 && isfinite(v->echo_time))
        v->has_echo = 1;
    if (dc_tag_doubles(ds, DC_TAG(0x0018, 0x9087), &v->b_value, 1) == 1 && isfinite(v->b_value))
        v->has_bvalue = 1;
    if (dc_tag_long(ds, DC_TAG(0x0020, 0x0011), &n) == 0 && n >= INT32_MIN && n <= INT32_MAX) {
        v->series_number = (int32_t)n;
        v->has_series_number = 1;
    }
    if (dc_tag_str(ds, DC_TAG(0x0008, 0x0008), v->image_type, sizeof v->image_type) != 0)
        v->image_type[0] = '\0';
}

/* value number 0 of tag in item 0 of sequence sq, into *out; the flag bit or 0 */
static uint8_t item0_double(const dc_dataset *ds, int sq, uint32_t tag, double *out, uint8_t bit)
{
    int i = dc_find_in_item(ds, sq, 0, tag);
    return (i >= 0 && dc_get_double_at(ds, i, 0, out) == 0 && isfinite(*out)) ? bit : 0;
}

/* one functional group of a frame (or the shared item) into x */
static void frame_group(const dc_dataset *ds, int sq, dc_frame_vendor *x)
{
    switch (ds->el[sq].tag) {
    case DC_TAG(0x0018, 0x9114): /* MREchoSequence */
        x->has |= item0_double(ds, sq, DC_TAG(0x0018, 0x9082), &x->echo_time, DC_FV_ECHO);
        break;
    case DC_TAG(0x0018, 0x9117): /* MRDiffusionSequence */
        x->has |= item0_double(ds, sq, DC_TAG(0x0018, 0x9087), &x->b_value, DC_FV_BVALUE);
        break;
    default:
        if (DC_TAG_GROUP(ds->el[sq].tag) == 0x2005) dc_philips_frame_group(ds, sq, x);
        break;
    }
}

/* the sequences in item `item` of functional group sequence fg into x */
static void frame_item(const dc_dataset *ds, int fg, int32_t item, size_t from, dc_frame_vendor *x)
{
    size_t end = ds->el[fg].val < ds->n_el ? ds->el[fg].val : ds->n_el;
    for (size_t i = from; i < end; i++) {
        const dc_elem *e = &ds->el[i];
        if (e->parent != fg) continue;
        if (e->item > item) break;
        if (e->item == item && e->vr == DC_VR('S', 'Q')) frame_group(ds, (int)i, x);
    }
}

/* per-frame values of an enhanced file (shared group as the default) */
static void read_frames(const dc_dataset *ds, dc_vendor_vals *v)
{
    int per = dc_find(ds, DC_TAG(0x5200, 0x9230)), sh = dc_find(ds, DC_TAG(0x5200, 0x9229));
    long nf = 1;
    if (per < 0 || ds->el[per].vr != DC_VR('S', 'Q') || dc_tag_long(ds, DC_TAG_NUM_FRAMES, &nf) != 0 ||
        nf < 1)
        return;
    dc_frame_vendor shared;
    memset(&shared, 0, sizeof shared);
    if (sh >= 0 && ds->el[sh].vr == DC_VR('S', 'Q')) frame_item(ds, sh, 0, (size_t)sh + 1, &shared);
    uint32_t n = ds->el[per].len < (uint64_t)nf ? ds->el[per].len : (uint32_t)nf;
    dc_frame_vendor *f = dc_malloc((n ? n : 1) * sizeof *f);
    uint8_t any = shared.has;
    size_t from = (size_t)per + 1;
    for (uint32_t k = 0; k < n; k++) {
        f[k] = shared;
        frame_item(ds, per, (int32_t)k, from, &f[k]);
        any |= f[k].has;
        while (from < ds->n_el && from < ds->el[per].val && !(ds->el[from].parent == per &&
                                                              ds->el[from].item > (int32_t)k))
            from++; /* the next item's first element */
    }
    if (!any) {
        free(f);
        return;
    }
    v->frames = f;
    v->n_frames = n;
}

void dc_vendor_read(const dc_dataset *ds, dc_vendor_vals *v)
{
    dc_vendor_vals_free(v);
    memset(v, 0, sizeof *v);
    read_generic(ds, v);
    dc_siemens_read(ds, v);
    dc_philips_read(ds, v);
    read_frames(ds, v);
}

/* ---- serialisation ---- */

#define VENDOR_MAGIC 0xDC7Eu

static void pack_tiling(const dc_tiling *t, dc_buf *out)
{
    dc_wire_put_u(out, t->n_tiles, 2);
    dc_wire_put_u(out, t->grid, 2);
    dc_wire_put_u(out, t->has_pos, 1);
    dc_wire_put_u(out, t->has_times, 1);
    for (int k = 0; k < 3; k++) dc_wire_put_f64(out, t->origin[k]);
    for (int k = 0; k < 3; k++) dc_wire_put_f64(out, t->step[k]);
    if (t->has_times)
        for (uint32_t k = 0; k < t->n_tiles; k++) dc_wire_put_f64(out, t->times[k]);
}

/* magic, flags, numbers, ImageType, then which optional parts follow */
#define VENDOR_FIXED_MAX (2 + 6 + 2 * 8 + 4 + 2 + DC_IMAGE_TYPE_LEN + 3 * 8 + 1 + 1 + 4)

void dc_vendor_pack(const dc_vendor_vals *v, dc_buf *out)
{
    uint8_t fixed[VENDOR_FIXED_MAX], *q = fixed;
    dc_wire_w_u(&q, VENDOR_MAGIC, 2);
    const uint8_t flags[] = {v->has_echo, v->has_bvalue, v->has_series_number, v->has_philips_ss,
                             v->has_philips_rs, v->has_philips_ri};
    for (size_t k = 0; k < sizeof flags; k++) dc_wire_w_u(&q, flags[k], 1);
    dc_wire_w_f64(&q, v->echo_time);
    dc_wire_w_f64(&q, v->b_value);
    dc_wire_w_u(&q, (uint32_t)v->series_number, 4);
    dc_wire_w_s16(&q, v->image_type, sizeof v->image_type);
    dc_wire_w_f64(&q, v->philips_ss);
    dc_wire_w_f64(&q, v->philips_rs);
    dc_wire_w_f64(&q, v->philips_ri);
    dc_wire_w_u(&q, v->tiling != NULL, 1);
    dc_wire_w_u(&q, v->note != NULL, 1);
    dc_wire_w_u(&q, v->frames ? v->n_frames : 0, 4);
    dc_buf_append(out, fixed, (size_t)(q - fixed));
    if (v->tiling) pack_tiling(v->tiling, out);
    if (v->note) dc_wire_put_s16(out, v->note, DC_VENDOR_NOTE_LEN);
    for (uint32_t k = 0; v->frames && k < v->n_frames; k++) {
        const dc_frame_vendor *x = &v->frames[k];
        dc_wire_put_u(out, x->has, 1);
        const double d[5] = {x->echo_time, x->b_value, x->ss, x->rs, x->ri};
        for (int j = 0; j < 5; j++) dc_wire_put_f64(out, d[j]);
    }
}

#define FRAME_VENDOR_PACKED (1 + 5 * 8)

static void unpack_frames(dc_wire_rd *rd, dc_vendor_vals *v, uint32_t n)
{
    if (rd->bad || n == 0) return;
    if ((uint64_t)n * FRAME_VENDOR_PACKED > (uint64_t)(rd->end - rd->p)) {
        rd->bad = 1;
        return;
    }
    v->frames = dc_malloc(n * sizeof *v->frames);
    v->n_frames = n;
    for (uint32_t k = 0; k < n; k++) {
        dc_frame_vendor *x = &v->frames[k];
        x->has = (uint8_t)dc_wire_get_u(rd, 1);
        double *d[5] = {&x->echo_time, &x->b_value, &x->ss, &x->rs, &x->ri};
        for (int j = 0; j < 5; j++) *d[j] = dc_wire_get_f64(rd);
    }
}

/* a tiling's body (its flag was read); NULL on garbage (rd->bad set) */
static dc_tiling *unpack_tiling(dc_wire_rd *rd)
{
    uint16_t n = (uint16_t)dc_wire_get_u(rd, 2), grid = (uint16_t)dc_wire_get_u(rd, 2);
    uint8_t has_pos = (uint8_t)dc_wire_get_u(rd, 1), has_times = (uint8_t)dc_wire_get_u(rd, 1);
    if (rd->bad || n == 0 || n > DC_MAX_TILES || grid == 0 || has_pos > 1 || has_times > 1) {
        rd->bad = 1;
        return NULL;
    }
    dc_tiling *t = dc_tiling_new(n, grid);
    t->has_pos = has_pos;
    t->has_times = has_times;
    for (int k = 0; k < 3; k++) t->origin[k] = dc_wire_get_f64(rd);
    for (int k = 0; k < 3; k++) t->step[k] = dc_wire_get_f64(rd);
    if (has_times && (uint64_t)n * 8 > (uint64_t)(rd->end - rd->p)) rd->bad = 1;
    for (uint32_t k = 0; has_times && !rd->bad && k < n; k++) t->times[k] = dc_wire_get_f64(rd);
    return t;
}

int dc_vendor_unpack(const char **p, const char *end, dc_vendor_vals *v)
{
    memset(v, 0, sizeof *v);
    if (!p || !*p || end < *p) return -1;
    dc_wire_rd rd = dc_wire_reader(*p, end);
    if (dc_wire_get_u(&rd, 2) != VENDOR_MAGIC) return -1;
    uint8_t *flags[] = {&v->has_echo, &v->has_bvalue, &v->has_series_number, &v->has_philips_ss,
                        &v->has_philips_rs, &v->has_philips_ri};
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) *flags[k] = (uint8_t)dc_wire_get_u(&rd, 1);
    v->echo_time = dc_wire_get_f64(&rd);
    v->b_value = dc_wire_get_f64(&rd);
    v->series_number = (int32_t)(uint32_t)dc_wire_get_u(&rd, 4);
    dc_wire_get_s16(&rd, v->image_type, sizeof v->image_type);
    v->philips_ss = dc_wire_get_f64(&rd);
    v->philips_rs = dc_wire_get_f64(&rd);
    v->philips_ri = dc_wire_get_f64(&rd);
    uint64_t has_tiling = dc_wire_get_u(&rd, 1), has_note = dc_wire_get_u(&rd, 1);
    uint32_t n_frames = (uint32_t)dc_wire_get_u(&rd, 4);
    if (has_tiling > 1 || has_note > 1) rd.bad = 1;
    if (!rd.bad && has_tiling) v->tiling = unpack_tiling(&rd);
    if (!rd.bad && has_note) {
        char note[DC_VENDOR_NOTE_LEN];
        dc_wire_get_s16(&rd, note, sizeof note);
        if (!rd.bad) v->note = dc_strdup(note);
    }
    unpack_frames(&rd, v, n_frames);
    if (rd.bad) {
        dc_vendor_vals_free(v);
        return -1;
    }
    *p = (const char *)rd.p;
    return 0;
}

/* ---- the extra attributes of a stacked scan ---- */

/* " (and N more files)" style summary of the records' notes, first note once */
static void add_notes(const dc_record *recs, const dc_scan *s, dc_buf *w)
{
    const char *first = NULL;
    uint32_t n = 0, last = UINT32_MAX;
    for (uint32_t k = 0; k < s->n_slices; k++) {
        const dc_vendor_vals *v = &recs[s->slice_rec[k]].vendor;
        if (s->slice_rec[k] == last || !v->note) continue;
        last = s->slice_rec[k];
        if (!first) first = v->note;
        n++;
    }
    if (!first) return;
    if (w->len) dc_buf_puts(w, "; ");
    dc_buf_puts(w, first);
    if (n > 1) dc_buf_printf(w, " (%u files)", n);
}

/* slice_times: acquisition time of each stored slice of the first repeat */
static void add_slice_times(const dc_record *recs, dc_scan *s)
{
    uint32_t nz = s->n_slices / (s->n_repeats ? s->n_repeats : 1);
    double *t = dc_malloc((nz ? nz : 1) * sizeof *t);
    int any = 0;
    for (uint32_t z = 0; z < nz; z++) {
        const dc_tiling *g = recs[s->slice_rec[z]].vendor.tiling;
        uint32_t tile = s->slice_frame[z];
        t[z] = (g && g->has_times && tile < g->n_tiles) ? g->times[tile] : NAN;
        any |= !isnan(t[z]);
    }
    if (any) dc_xattrs_add_f64(&s->xattrs, "slice_times", t, nz, 0);
    free(t);
}

/* TemporalPositionIndex of a frame, else TemporalPositionIdentifier; NaN */
static double temporal_of(const dc_record *r, uint32_t f)
{
    if (r->frame_geom && f < r->n_frame_geom && r->frame_geom[f].temporal >= 0)
        return r->frame_geom[f].temporal;
    return r->has_temporal ? r->temporal : NAN;
}

static int differ(const double *v, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)
        if (!(v[i] == v[0]) && !(isnan(v[i]) && isnan(v[0]))) return 1;
    return 0;
}

/* repeat_axis and the per-repeat values of a 4D scan */
static void add_repeat_axes(const dc_record *recs, dc_scan *s)
{
    uint32_t nr = s->n_repeats, nz = s->n_slices / nr;
    double *v[4];
    const char **types = dc_malloc(nr * sizeof *types);
    for (int a = 0; a < 4; a++) v[a] = dc_malloc(nr * sizeof(double));
    int types_differ = 0;
    for (uint32_t r = 0; r < nr; r++) {
        uint32_t k = r * nz;
        const dc_record *rec = &recs[s->slice_rec[k]];
        dc_vendor_vals fv;
        dc_vendor_frame_values(&rec->vendor, rec->vendor.tiling ? 0 : s->slice_frame[k], &fv);
        const dc_vendor_vals *x = &fv;
        v[0][r] = x->has_echo ? x->echo_time : NAN;
        v[1][r] = x->has_bvalue ? x->b_value : NAN;
        v[2][r] = temporal_of(rec, s->slice_frame[k]);
        v[3][r] = rec->has_acq ? rec->acq : NAN;
        types[r] = rec->vendor.image_type; /* per file */
        types_differ |= strcmp(types[r], types[0]) != 0;
    }
    const char *axis = differ(v[0], nr) ? "echo"
                       : types_differ   ? "image_type"
                       : differ(v[1], nr) ? "b_value"
                       : differ(v[2], nr) ? "time"
                       : differ(v[3], nr) ? "acquisition"
                                          : "unknown";
    dc_xattrs_add_str(&s->xattrs, "repeat_axis", &axis, 1, 1);
    dc_xattrs_add_f64(&s->xattrs, "repeat_echo_time", v[0], nr, 0);
    dc_xattrs_add_str(&s->xattrs, "repeat_image_type", types, nr, 0);
    dc_xattrs_add_f64(&s->xattrs, "repeat_b_value", v[1], nr, 0);
    dc_xattrs_add_f64(&s->xattrs, "repeat_temporal_position", v[2], nr, 0);
    dc_xattrs_add_f64(&s->xattrs, "repeat_acquisition_number", v[3], nr, 0);
    for (int a = 0; a < 4; a++) free(v[a]);
    free(types);
}

void dc_vendor_scan_attrs(const dc_record *recs, dc_scan *s, const dc_group_opts *o, dc_buf *w)
{
    if (!s->n_slices) return;
    add_notes(recs, s, w);
    add_slice_times(recs, s);
    if (o->volumes && s->n_repeats > 1) add_repeat_axes(recs, s);
    dc_philips_scan_attrs(recs, s, o);
}
