/*
 * privacy_dataset.c - a parsed dataset -> its de-identified copy (SPEC 12).
 *
 * One pass over ds->el (pre-order).  Each element gets its action from
 * dc_privacy_action(); removed elements (a removed sequence with its whole
 * subtree) are left out of the copy, replaced values are appended to the
 * copy's buffer and the element points at them.  Indices between elements
 * (parent, private creator, character set in force, a sequence's end) are
 * renumbered for the copy, so everything that reads a dc_dataset (flatten.c)
 * reads the copy as it would the original.  Pure: no I/O, no MPI.
 */
#include "dc_privacy.h"

#include "dc_columns.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* per-file facts the actions need */
typedef struct {
    const dc_privacy *p;
    char patient[DC_PRIVACY_NAME_LEN]; /* "" when the file names no patient */
    int shift;                         /* days */
    dc_strvec ids;                     /* identifying values, for clean descriptors */
} filter_ctx;

static const uint8_t *value_of(const dc_dataset *ds, const dc_elem *e)
{
    const uint8_t *v = dc_value(ds, e);
    if (!v || (uint64_t)e->val + e->len > ds->buf_len) return NULL;
    return v;
}

static int top_value(const dc_dataset *ds, uint32_t tag, const char **s, size_t *n)
{
    int i = dc_find(ds, tag);
    const uint8_t *v = i >= 0 ? value_of(ds, &ds->el[i]) : NULL;
    *s = (const char *)v;
    *n = v ? ds->el[i].len : 0;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\0')) (*n)--;
    return *n > 0;
}

/* the values a descriptor must not repeat: name parts, IDs, accession, birth date */
static void collect_ids(const dc_dataset *ds, dc_strvec *ids)
{
    static const uint32_t tags[] = {DC_TAG(0x0010, 0x0010), DC_TAG(0x0010, 0x0020),
                                    DC_TAG(0x0010, 0x1000), DC_TAG(0x0010, 0x1001),
                                    DC_TAG(0x0008, 0x0050), DC_TAG(0x0010, 0x0030),
                                    DC_TAG(0x0008, 0x0090), DC_TAG(0x0008, 0x0080)};
    for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
        const char *s;
        size_t n;
        if (!top_value(ds, tags[t], &s, &n)) continue;
        size_t a = 0;
        for (size_t i = 0; i <= n; i++) {
            int sep = i == n || s[i] == '^' || s[i] == '=' || s[i] == '\\' || s[i] == ' ';
            if (!sep) continue;
            if (i - a >= 2) {
                char *w = dc_strndup(s + a, i - a);
                dc_strvec_push(ids, w);
                free(w);
            }
            a = i + 1;
        }
    }
}

static void ctx_init(filter_ctx *c, const dc_privacy *p, const dc_dataset *ds, int clean)
{
    c->p = p;
    c->patient[0] = '\0';
    c->shift = 0;
    dc_strvec_init(&c->ids);
    if (!p) return;
    const char *s;
    size_t n;
    if (top_value(ds, DC_TAG(0x0010, 0x0020), &s, &n) ||
        top_value(ds, DC_TAG(0x0010, 0x0010), &s, &n)) {
        dc_privacy_name(p, 'P', s, n, c->patient);
        c->shift = dc_privacy_date_shift(p, s, n);
    } else {
        c->shift = dc_privacy_date_shift(p, "", 0);
    }
    if (clean) collect_ids(ds, &c->ids);
}

/* ---- replacement values, appended to the copy's buffer ---- */

static void append_value(dc_dataset *out, dc_elem *e, const char *s, size_t n)
{
    if (out->buf_len + n + 1 > out->buf_cap) {
        size_t cap = out->buf_cap ? out->buf_cap : 4096;
        while (cap < out->buf_len + n + 1) cap *= 2;
        out->buf = dc_realloc(out->buf, cap);
        out->buf_cap = cap;
    }
    memcpy(out->buf + out->buf_len, s, n);
    e->val = (uint32_t)out->buf_len;
    e->len = (uint32_t)n;
    e->flags &= (uint8_t) ~(DC_EL_SKIPPED | DC_EL_BIGENDIAN);
    out->buf_len += n;
}

static const char *dummy_for(uint16_t vr)
{
    switch (vr) {
    case DC_VR('P', 'N'):
        return "ANONYMOUS";
    case DC_VR('D', 'A'):
        return "19000101";
    case DC_VR('T', 'M'):
        return "000000";
    case DC_VR('D', 'T'):
        return "19000101000000";
    case DC_VR('A', 'E'):
    case DC_VR('C', 'S'):
    case DC_VR('L', 'O'):
    case DC_VR('S', 'H'):
    case DC_VR('L', 'T'):
    case DC_VR('S', 'T'):
    case DC_VR('U', 'T'):
    case DC_VR('U', 'C'):
        return "ANONYMIZED";
    case DC_VR('I', 'S'):
    case DC_VR('D', 'S'):
        return "0";
    default:
        return ""; /* binary values: empty */
    }
}

/* each backslash-separated value of v[n] through fn into b */
static void per_value(const char *v, size_t n, dc_buf *b,
                      void (*fn)(const filter_ctx *, const char *, size_t, dc_buf *),
                      const filter_ctx *c)
{
    size_t a = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && v[i] != '\\') continue;
        if (a) dc_buf_putc(b, '\\');
        fn(c, v + a, i - a, b);
        a = i + 1;
    }
}

static void one_uid(const filter_ctx *c, const char *v, size_t n, dc_buf *b)
{
    char u[DC_PRIVACY_UID_LEN];
    dc_privacy_uid(c->p, v, n, u);
    dc_buf_puts(b, u);
}

/* a DA, or the date part of a DT; an invalid date is left out */
static void one_date(const filter_ctx *c, const char *v, size_t n, dc_buf *b)
{
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\0')) n--;
    char d[9];
    if (n < 8 || dc_privacy_shift_da(v, 8, c->shift, d) != 0) return;
    dc_buf_append(b, d, 8);
    dc_buf_append(b, v + 8, n - 8);
}

/* text with every identifying value of the file replaced by "X" */
static void clean_text(const filter_ctx *c, const char *v, size_t n, dc_buf *b)
{
    size_t i = 0;
    while (i < n) {
        size_t hit = 0;
        for (size_t k = 0; k < c->ids.n && !hit; k++) {
            size_t m = strlen(c->ids.v[k]);
            if (m <= n - i && strncasecmp(v + i, c->ids.v[k], m) == 0) hit = m;
        }
        if (hit) {
            dc_buf_putc(b, 'X');
            i += hit;
        } else {
            dc_buf_putc(b, v[i++]);
        }
    }
}

void dc_privacy_descriptor(const dc_privacy *p, const dc_dataset *ds, const char *text, dc_buf *out)
{
    if (!p) {
        dc_buf_puts(out, text);
        return;
    }
    if (!dc_privacy_cleans_descriptors(p)) return;
    filter_ctx c;
    ctx_init(&c, p, ds, 1);
    clean_text(&c, text, strlen(text), out);
    dc_strvec_free(&c.ids);
}

/* Apply a value action to e (already copied into out).  Returns 0, or -1
 * when the element is to be left out after all (a date that cannot shift). */
static int replace_value(const filter_ctx *c, const dc_dataset *ds, const dc_elem *src, int action,
                         dc_dataset *out, dc_elem *e, dc_buf *tmp)
{
    const char *v = (const char *)value_of(ds, src);
    size_t n = v ? src->len : 0;
    dc_buf_reset(tmp);
    switch (action) {
    case DC_PA_EMPTY:
        break;
    case DC_PA_DUMMY:
        if (e->vr == DC_VR('U', 'I'))
            per_value(v, n, tmp, one_uid, c);
        else
            dc_buf_puts(tmp, dummy_for(e->vr));
        break;
    case DC_PA_UID:
        if (n) per_value(v, n, tmp, one_uid, c);
        break;
    case DC_PA_PATIENT:
        dc_buf_puts(tmp, c->patient);
        break;
    case DC_PA_SHIFT:
        if (n) per_value(v, n, tmp, one_date, c);
        if (n && !tmp->len) return -1;
        break;
    case DC_PA_CLEAN:
        if (n) clean_text(c, v, n, tmp);
        break;
    }
    append_value(out, e, tmp->data ? tmp->data : "", tmp->len);
    return 0;
}

/* ---- the copy ---- */

static void reserve_el(dc_dataset *out, size_t n)
{
    if (n <= out->cap_el) return;
    out->el = dc_realloc(out->el, n * sizeof *out->el);
    out->cap_el = n;
}

static void reserve_top(dc_dataset *out, size_t n)
{
    if (n <= out->cap_top) return;
    out->top = dc_realloc(out->top, n * sizeof *out->top);
    out->cap_top = n;
}

static int32_t renumber(const int32_t *newidx, int32_t old)
{
    return old >= 0 ? newidx[old] : -1;
}

static void start_copy(const dc_dataset *ds, dc_dataset *out)
{
    out->buf_len = 0;
    if (ds->buf_len + 4096 > out->buf_cap) {
        free(out->buf);
        out->buf_cap = ds->buf_len + 4096;
        out->buf = dc_malloc(out->buf_cap);
    }
    if (ds->buf_len) memcpy(out->buf, ds->buf, ds->buf_len);
    out->buf_len = ds->buf_len;
    reserve_el(out, ds->n_el ? ds->n_el : 1);
    reserve_top(out, ds->n_el ? ds->n_el : 1);
    out->n_el = out->n_top = 0;
    out->top_sorted = ds->top_sorted;
    out->ts = ds->ts;
    memcpy(out->ts_uid, ds->ts_uid, sizeof out->ts_uid);
    out->has_preamble = ds->has_preamble;
    out->fd = -1;
    out->pixel.present = 0;
}

/* ---- the burned-in flag ---- */

int dc_privacy_burned_in_risk(const dc_dataset *ds)
{
    const char *s;
    size_t n;
    if (top_value(ds, DC_TAG(0x0028, 0x0301), &s, &n)) {
        while (n && *s == ' ') s++, n--;
        if (n == 3 && !strncmp(s, "YES", 3)) return 1;
    }
    return top_value(ds, DC_TAG(0x0008, 0x0016), &s, &n) && dc_privacy_secondary_capture(s, n);
}

int dc_privacy_secondary_capture(const char *uid, size_t n)
{
    static const char sc[] = DC_PRIVACY_SC_FAMILY;
    size_t l = sizeof sc - 1;
    while (n && (uid[n - 1] == ' ' || uid[n - 1] == '\0')) n--;
    /* "...1.1.7" or "...1.1.7.<n>", not "...1.1.77.1" (VL images) */
    return n >= l && !strncmp(uid, sc, l) && (n == l || uid[l] == '.');
}

/* one more top-level element at the end of out->el, its index kept in
 * out->top at its place in tag order */
static void push_top(dc_dataset *out, uint32_t tag, uint16_t vr, const char *v, int32_t creator,
                     dc_buf *tmp)
{
    reserve_el(out, out->n_el + 1);
    reserve_top(out, out->n_top + 1);
    dc_elem *e = &out->el[out->n_el];
    memset(e, 0, sizeof *e);
    e->tag = tag;
    e->vr = vr;
    e->parent = e->item = e->charset = -1;
    e->creator = creator;
    dc_buf_reset(tmp);
    dc_buf_puts(tmp, v);
    append_value(out, e, tmp->data, tmp->len);
    size_t at = out->n_top;
    while (at > 0 && out->el[out->top[at - 1]].tag > tag) at--;
    if (at > 0 && out->el[out->top[at - 1]].tag == tag) out->top_sorted = 0;
    memmove(out->top + at + 1, out->top + at, (out->n_top - at) * sizeof *out->top);
    out->top[at] = (int32_t)out->n_el++;
    out->n_top++;
}

/* With the profile, every row says whether the scan's pixels may show
 * burned-in text: a private block of dcmcrawl's own (every private tag of
 * the file is gone by now, so the group is free). */
static void add_burned_in_flag(const dc_dataset *ds, dc_dataset *out, dc_buf *tmp)
{
    int32_t creator = (int32_t)out->n_el;
    push_top(out, DC_PRIVACY_FLAG_CREATOR_TAG, DC_VR('L', 'O'), DC_PRIVACY_FLAG_CREATOR, -1, tmp);
    push_top(out, DC_PRIVACY_FLAG_TAG, DC_VR('C', 'S'),
             dc_privacy_burned_in_risk(ds) ? "YES" : "NO", creator, tmp);
}

/* output.columns: does element i go?  *inc_until: end of an included sequence's subtree */
static int column_removed(const dc_columns *cols, const dc_dataset *ds, size_t i, size_t *inc_until)
{
    const dc_elem *e = &ds->el[i];
    int sq = e->vr == DC_VR('S', 'Q');
    if (dc_columns_excluded(cols, e->tag, e->vr)) return 1;
    if (i < *inc_until || !cols->n_inc) return 0;
    if (dc_columns_included(cols, e->tag, e->vr)) {
        if (sq && e->val > *inc_until) *inc_until = e->val;
        return 0;
    }
    return !sq; /* a sequence stays as a container; its items are judged one by one */
}

const dc_dataset *dc_privacy_filter(const dc_privacy *p, const dc_columns *cols,
                                    const dc_dataset *ds, dc_dataset *out)
{
    filter_ctx c;
    ctx_init(&c, p, ds, p && dc_privacy_cleans_descriptors(p));
    if (cols && !dc_columns_active(cols)) cols = NULL;
    size_t inc_until = 0;
    start_copy(ds, out);
    /* old index -> new (-1: left out), and kept elements before each old index;
     * per-thread scratch, grown as needed */
    static _Thread_local int32_t *newidx, *kept_before;
    static _Thread_local size_t cap;
    static _Thread_local dc_buf tmp;
    if (ds->n_el + 1 > cap) {
        cap = (ds->n_el + 1) * 2;
        newidx = dc_realloc(newidx, cap * sizeof *newidx);
        kept_before = dc_realloc(kept_before, cap * sizeof *kept_before);
    }
    size_t i = 0;
    while (i < ds->n_el) {
        const dc_elem *e = &ds->el[i];
        kept_before[i] = (int32_t)out->n_el;
        newidx[i] = (int32_t)out->n_el; /* where it goes if kept (it may refer to itself) */
        const char *v = (const char *)value_of(ds, e);
        int meta = e->depth == 0 && DC_TAG_GROUP(e->tag) == 0x0002; /* never a column */
        int a = meta || !p ? DC_PA_KEEP : dc_privacy_action(p, e->tag, e->vr, v, v ? e->len : 0);
        if (a != DC_PA_REMOVE && !meta && cols && column_removed(cols, ds, i, &inc_until))
            a = DC_PA_REMOVE;
        if (a == DC_PA_REMOVE) {
            size_t end = e->vr == DC_VR('S', 'Q') && e->val > i ? e->val : i + 1;
            for (; i < end && i < ds->n_el; i++) {
                newidx[i] = -1;
                kept_before[i] = (int32_t)out->n_el;
            }
            continue;
        }
        dc_elem *o = &out->el[out->n_el];
        *o = *e;
        o->parent = renumber(newidx, e->parent);
        o->creator = renumber(newidx, e->creator);
        o->charset = renumber(newidx, e->charset);
        if (a != DC_PA_KEEP && e->vr != DC_VR('S', 'Q') &&
            replace_value(&c, ds, e, a, out, o, &tmp) != 0) {
            newidx[i++] = -1;
            continue;
        }
        if (e->depth == 0) out->top[out->n_top++] = (int32_t)out->n_el;
        out->n_el++;
        i++;
    }
    kept_before[ds->n_el] = (int32_t)out->n_el;
    /* a sequence's val is the index just past its subtree */
    for (size_t k = 0; k < out->n_el; k++) {
        dc_elem *o = &out->el[k];
        if (o->vr == DC_VR('S', 'Q') && o->val <= ds->n_el) o->val = (uint32_t)kept_before[o->val];
    }
    if (p) add_burned_in_flag(ds, out, &tmp);
    dc_strvec_free(&c.ids);
    return out;
}
