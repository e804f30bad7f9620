/*
 * references.c - references from one DICOM object to other series and
 * instances.  See dc_references.h for the rules and the CSV they feed.
 *
 * One pass over the elements: each ReferencedSOPInstanceUID or nested
 * SeriesInstanceUID is classified by the outermost reference-carrying
 * sequence around it (a short walk up the parent chain); its companions
 * (series, study, frame of reference) are looked up in the enclosing items,
 * never beyond that outermost sequence, so a lookup stays inside one
 * reference's subtree (a SEG with thousands of frames costs linear time).
 * Duplicates are dropped with a string set.
 */
#include "dc_references.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_csv.h"
#include "dc_util.h"

#define TAG_REF_SOP_INSTANCE DC_TAG(0x0008, 0x1155)
#define TAG_FRAME_OF_REFERENCE DC_TAG(0x0020, 0x0052)
#define TAG_REF_SOP_CLASS DC_TAG(0x0008, 0x1150)
/* RTReferencedStudySequence: its items name the study by ReferencedSOPInstanceUID
 * (SOP class Detached Study Management) */
#define TAG_RT_REF_STUDY_SEQ DC_TAG(0x3006, 0x0012)

static const struct {
    uint32_t tag;
    const char *kind;
} ref_seqs[] = {
    {DC_TAG(0x0008, 0x1115), "referenced_series"}, {DC_TAG(0x0008, 0x1200), "referenced_series"},
    {DC_TAG(0x0008, 0x2112), "source_image"},      {DC_TAG(0x3006, 0x0010), "rt_referenced_series"},
    {DC_TAG(0x3006, 0x0039), "contour_image"},     {DC_TAG(0x0070, 0x0308), "registration"},
    {DC_TAG(0x0064, 0x0002), "registration"},      {DC_TAG(0x0040, 0xA375), "evidence"},
    {DC_TAG(0x0040, 0xA385), "evidence"},          {DC_TAG(0x0040, 0xA730), "content"},
    {DC_TAG(0x0040, 0xA360), "predecessor"},       {DC_TAG(0x0040, 0xA525), "identical_document"},
    {DC_TAG(0x0070, 0x0001), "annotation"},        {DC_TAG(0x0070, 0x005A), "annotation"},
    {DC_TAG(0x0008, 0x1140), "referenced_image"},  {DC_TAG(0x0008, 0x114A), "referenced_instance"},
};

void dc_reference_list_init(dc_reference_list *l)
{
    memset(l, 0, sizeof *l);
}

void dc_reference_list_free(dc_reference_list *l)
{
    free(l->v);
    dc_reference_list_init(l);
}

static dc_reference *list_push(dc_reference_list *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = dc_realloc(l->v, l->cap * sizeof *l->v);
    }
    dc_reference *r = &l->v[l->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static const char *kind_of_seq(uint32_t tag)
{
    for (size_t i = 0; i < sizeof ref_seqs / sizeof ref_seqs[0]; i++)
        if (ref_seqs[i].tag == tag) return ref_seqs[i].kind;
    return NULL;
}

/* kind of element i: the outermost reference sequence around it; *outer its
 * index (-1 and NULL when none) */
static const char *classify(const dc_dataset *ds, size_t i, int *outer)
{
    const char *kind = NULL;
    *outer = -1;
    for (int p = ds->el[i].parent; p >= 0; p = ds->el[p].parent) {
        const char *k = kind_of_seq(ds->el[p].tag);
        if (k) kind = k, *outer = p;
    }
    return kind;
}

/* 1 when ReferencedSOPInstanceUID element i names a study, not an instance:
 * in an RTReferencedStudySequence item, or with a study/procedure management
 * SOP class (1.2.840.10008.3.1.2.x) beside it */
static int names_a_study(const dc_dataset *ds, size_t i)
{
    int sq = ds->el[i].parent;
    if (ds->el[sq].tag == TAG_RT_REF_STUDY_SEQ) return 1;
    char cls[DC_REF_UID_LEN];
    int c = dc_find_in_item(ds, sq, ds->el[i].item, TAG_REF_SOP_CLASS);
    return c >= 0 && dc_get_str(ds, c, cls, sizeof cls) == 0 &&
           strncmp(cls, "1.2.840.10008.3.1.2.", 20) == 0;
}

/* the nearest value of tag in the items enclosing element i, up to and
 * including the items of sequence `outer`; a study UID is also found as an
 * RTReferencedStudySequence item's ReferencedSOPInstanceUID */
static void enclosing_value(const dc_dataset *ds, size_t i, int outer, uint32_t tag, char *out,
                            size_t outlen)
{
    out[0] = '\0';
    int sq = ds->el[i].parent, item = ds->el[i].item;
    while (sq >= 0) {
        int idx = dc_find_in_item(ds, sq, item, tag);
        if (idx < 0 && tag == DC_TAG_STUDY_UID && ds->el[sq].tag == TAG_RT_REF_STUDY_SEQ)
            idx = dc_find_in_item(ds, sq, item, TAG_REF_SOP_INSTANCE);
        if (idx >= 0 && dc_get_str(ds, idx, out, outlen) == 0 && out[0]) return;
        if (sq == outer) return;
        item = ds->el[sq].item;
        sq = ds->el[sq].parent;
    }
}

/* add the row unless its key is in seen */
static size_t add_unique(dc_reference_list *out, dc_strset *seen, const dc_reference *r)
{
    char key[4 * DC_REF_UID_LEN + 32];
    snprintf(key, sizeof key, "%s|%s|%s|%s", r->kind, r->study_uid, r->series_uid, r->sop_uid);
    if (!dc_strset_add(seen, key)) return 0;
    *list_push(out) = *r;
    return 1;
}

/* reference row for element i (a ReferencedSOPInstanceUID or a nested
 * SeriesInstanceUID), 0 when it is none */
static int make_row(const dc_dataset *ds, size_t i, dc_reference *r)
{
    int outer;
    memset(r, 0, sizeof *r);
    r->kind = classify(ds, i, &outer);
    if (!r->kind) return 0;
    if (ds->el[i].tag == TAG_REF_SOP_INSTANCE) {
        if (names_a_study(ds, i)) return 0;
        if (dc_get_str(ds, (int)i, r->sop_uid, sizeof r->sop_uid) != 0 || !r->sop_uid[0]) return 0;
        enclosing_value(ds, i, outer, DC_TAG_SERIES_UID, r->series_uid, sizeof r->series_uid);
    } else if (dc_get_str(ds, (int)i, r->series_uid, sizeof r->series_uid) != 0 ||
               !r->series_uid[0]) {
        return 0;
    }
    enclosing_value(ds, i, outer, DC_TAG_STUDY_UID, r->study_uid, sizeof r->study_uid);
    enclosing_value(ds, i, outer, TAG_FRAME_OF_REFERENCE, r->for_uid, sizeof r->for_uid);
    return 1;
}

/* drop series-only rows whose (kind, series) has instance rows */
static void drop_covered_series(dc_reference_list *out, size_t first)
{
    dc_strset covered;
    dc_strset_init(&covered);
    char key[2 * DC_REF_UID_LEN + 32];
    for (size_t i = first; i < out->n; i++) {
        if (!out->v[i].sop_uid[0]) continue;
        snprintf(key, sizeof key, "%s|%s", out->v[i].kind, out->v[i].series_uid);
        dc_strset_add(&covered, key);
    }
    size_t w = first;
    for (size_t i = first; i < out->n; i++) {
        snprintf(key, sizeof key, "%s|%s", out->v[i].kind, out->v[i].series_uid);
        if (!out->v[i].sop_uid[0] && dc_strset_has(&covered, key)) continue;
        out->v[w++] = out->v[i];
    }
    out->n = w;
    dc_strset_free(&covered);
}

size_t dc_references_read(const dc_dataset *ds, dc_reference_list *out)
{
    char own_sop[DC_REF_UID_LEN];
    if (dc_tag_str(ds, DC_TAG_SOP_INSTANCE_UID, own_sop, sizeof own_sop) != 0) own_sop[0] = '\0';
    size_t first = out->n;
    dc_strset seen;
    dc_strset_init(&seen);
    for (size_t i = 0; i < ds->n_el; i++) {
        uint32_t t = ds->el[i].tag;
        dc_reference r;
        if (ds->el[i].depth == 0 || (t != TAG_REF_SOP_INSTANCE && t != DC_TAG_SERIES_UID)) continue;
        if (!make_row(ds, i, &r)) continue;
        if (r.sop_uid[0] && strcmp(r.sop_uid, own_sop) == 0) continue;
        add_unique(out, &seen, &r);
    }
    dc_strset_free(&seen);
    drop_covered_series(out, first);
    return out->n - first;
}

void dc_references_by_series(const dc_reference_list *in, dc_reference_list *series,
                             uint32_t **n_instances)
{
    dc_reference_list_init(series);
    uint32_t *count = dc_calloc(in->n ? in->n : 1, sizeof *count);
    dc_strset seen;
    dc_strset_init(&seen);
    char key[2 * DC_REF_UID_LEN + 32];
    for (size_t i = 0; i < in->n; i++) {
        const dc_reference *r = &in->v[i];
        /* a row without series UID stays an instance row of its own */
        snprintf(key, sizeof key, "%s|%s", r->kind, r->series_uid[0] ? r->series_uid : r->sop_uid);
        if (dc_strset_add(&seen, key)) {
            dc_reference *s = list_push(series);
            *s = *r;
            if (r->series_uid[0]) s->sop_uid[0] = '\0';
        }
        if (!r->sop_uid[0]) continue;
        for (size_t k = series->n; k-- > 0;) /* the group is usually the last one */
            if (strcmp(series->v[k].kind, r->kind) == 0 &&
                strcmp(series->v[k].series_uid[0] ? series->v[k].series_uid : series->v[k].sop_uid,
                       r->series_uid[0] ? r->series_uid : r->sop_uid) == 0) {
                count[k]++;
                break;
            }
    }
    dc_strset_free(&seen);
    *n_instances = count;
}

void dc_references_fill_series(dc_reference_list *l, dc_ref_lookup series_of_sop, void *ctx)
{
    for (size_t i = 0; i < l->n; i++) {
        dc_reference *r = &l->v[i];
        if (r->series_uid[0] || !r->sop_uid[0]) continue;
        const char *s = series_of_sop(ctx, r->sop_uid);
        if (s) snprintf(r->series_uid, sizeof r->series_uid, "%s", s);
    }
}

/* the row of l naming series uid with kind `kind` */
static const char *series_in(const dc_reference_list *l, const char *kind, const char *uid)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].kind, kind) == 0 && strcmp(l->v[i].series_uid, uid) == 0)
            return l->v[i].series_uid;
    return NULL;
}

const char *dc_references_target(const dc_reference_list *l)
{
    static const char *order[] = {"rt_referenced_series", "referenced_series", "source_image",
                                  "contour_image"};
    dc_reference_list series;
    uint32_t *counts;
    dc_references_by_series(l, &series, &counts);
    const char *found = NULL;
    for (size_t k = 0; k < sizeof order / sizeof order[0] && !found; k++) {
        long best = -1;
        for (size_t i = 0; i < series.n; i++) {
            const dc_reference *r = &series.v[i];
            if (strcmp(r->kind, order[k]) != 0 || !r->series_uid[0] || (long)counts[i] <= best)
                continue;
            best = counts[i];
            found = series_in(l, r->kind, r->series_uid);
        }
    }
    free(counts);
    dc_reference_list_free(&series);
    return found;
}

void dc_references_csv(const char *scan_id, const dc_reference_list *refs,
                       dc_ref_lookup scan_of_series, void *ctx, dc_buf *out)
{
    dc_reference_list series;
    uint32_t *counts;
    dc_references_by_series(refs, &series, &counts);
    dc_references_csv_rows(scan_id, &series, counts, scan_of_series, ctx, out);
    free(counts);
    dc_reference_list_free(&series);
}

void dc_references_csv_rows(const char *scan_id, const dc_reference_list *series,
                            const uint32_t *counts, dc_ref_lookup scan_of_series, void *ctx,
                            dc_buf *out)
{
    for (size_t i = 0; i < series->n; i++) {
        const dc_reference *r = &series->v[i];
        const char *target = r->series_uid[0] ? scan_of_series(ctx, r->series_uid) : NULL;
        const char *fields[7] = {scan_id,       r->kind,    target ? target : "",
                                 r->series_uid, r->sop_uid, r->study_uid,
                                 r->for_uid};
        for (int f = 0; f < 7; f++) {
            dc_csv_field(out, fields[f]);
            dc_buf_putc(out, ',');
        }
        dc_buf_printf(out, "%u\n", (unsigned)counts[i]);
    }
}

/* ---- the summary a record carries (dc_references_summary) ---- */

int dc_references_is_referencing(const char *modality, const char *sop_class)
{
    static const char *mods[] = {"SEG", "RTSTRUCT", "RTPLAN", "RTDOSE", "REG", "KO", "SR", "PR"};
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
        if (strcmp(modality, mods[i]) == 0) return 1;
    return strcmp(sop_class, DC_SOP_CLASS_SEG) == 0 || strcmp(sop_class, DC_SOP_CLASS_RTSTRUCT) == 0;
}

/* instance rows without a series (SEG SourceImageSequence) take the series
 * the same object names those instances under (its ReferencedSeriesSequence):
 * a lookup sop -> series over the object's own rows, sorted */
typedef struct {
    const dc_reference **v;
    size_t n;
} sop_index;

static int cmp_sop(const void *a, const void *b)
{
    return strcmp((*(const dc_reference *const *)a)->sop_uid, (*(const dc_reference *const *)b)->sop_uid);
}

static const char *series_of_sop(void *ctx, const char *sop)
{
    const sop_index *x = ctx;
    dc_reference key, *kp = &key;
    snprintf(key.sop_uid, sizeof key.sop_uid, "%s", sop);
    const dc_reference **hit = x->n ? bsearch(&kp, x->v, x->n, sizeof *x->v, cmp_sop) : NULL;
    return hit ? (*hit)->series_uid : NULL;
}

static void fill_series_from_self(dc_reference_list *refs)
{
    sop_index x = {dc_malloc((refs->n + 1) * sizeof *x.v), 0};
    for (size_t i = 0; i < refs->n; i++)
        if (refs->v[i].sop_uid[0] && refs->v[i].series_uid[0]) x.v[x.n++] = &refs->v[i];
    qsort(x.v, x.n, sizeof *x.v, cmp_sop);
    /* in place: only rows without a series change, the index holds rows with one */
    dc_references_fill_series(refs, series_of_sop, &x);
    free(x.v);
}

static void put_text(dc_buf *b, const char *s, char end)
{
    for (; *s; s++) /* UIDs and kinds hold no tab or newline; a hostile file's would */
        dc_buf_putc(b, *s == '\t' || *s == '\n' ? ' ' : *s);
    dc_buf_putc(b, end);
}

char *dc_references_summary(const dc_dataset *ds)
{
    dc_reference_list refs, series;
    uint32_t *counts;
    dc_reference_list_init(&refs);
    dc_references_read(ds, &refs);
    fill_series_from_self(&refs);
    const char *target = dc_references_target(&refs);
    dc_references_by_series(&refs, &series, &counts);
    dc_buf b;
    dc_buf_init(&b);
    put_text(&b, target ? target : "", '\n');
    for (size_t i = 0; i < series.n; i++) {
        const dc_reference *r = &series.v[i];
        put_text(&b, r->kind, '\t');
        put_text(&b, r->study_uid, '\t');
        put_text(&b, r->series_uid, '\t');
        put_text(&b, r->sop_uid, '\t');
        put_text(&b, r->for_uid, '\t');
        dc_buf_printf(&b, "%u\n", (unsigned)counts[i]);
    }
    free(counts);
    dc_reference_list_free(&series);
    dc_reference_list_free(&refs);
    return dc_buf_steal(&b);
}

static const char *kind_named(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof ref_seqs / sizeof ref_seqs[0]; i++)
        if (strlen(ref_seqs[i].kind) == n && strncmp(ref_seqs[i].kind, name, n) == 0)
            return ref_seqs[i].kind;
    return NULL;
}

/* the next field of line [*p, end) up to sep, into out[cap]; 0 or -1 */
static int take_field(const char **p, const char *end, char sep, char *out, size_t cap)
{
    const char *q = memchr(*p, sep, (size_t)(end - *p));
    if (!q || (size_t)(q - *p) >= cap) return -1;
    memcpy(out, *p, (size_t)(q - *p));
    out[q - *p] = '\0';
    *p = q + 1;
    return 0;
}

int dc_references_parse_summary(const char *text, dc_reference_list *series, uint32_t **counts,
                                char *target, size_t target_len)
{
    dc_reference_list_init(series);
    *counts = NULL;
    const char *p = text, *end = text + strlen(text);
    if (take_field(&p, end, '\n', target, target_len) != 0) return -1;
    size_t cap = 0;
    while (p < end) {
        dc_reference r;
        char kind[32], count[16];
        memset(&r, 0, sizeof r);
        if (take_field(&p, end, '\t', kind, sizeof kind) || !(r.kind = kind_named(kind, strlen(kind))) ||
            take_field(&p, end, '\t', r.study_uid, sizeof r.study_uid) ||
            take_field(&p, end, '\t', r.series_uid, sizeof r.series_uid) ||
            take_field(&p, end, '\t', r.sop_uid, sizeof r.sop_uid) ||
            take_field(&p, end, '\t', r.for_uid, sizeof r.for_uid) ||
            take_field(&p, end, '\n', count, sizeof count))
            return -1;
        *list_push(series) = r;
        if (series->n > cap) {
            cap = series->cap;
            *counts = dc_realloc(*counts, cap * sizeof **counts);
        }
        (*counts)[series->n - 1] = (uint32_t)strtoul(count, NULL, 10);
    }
    return 0;
}
