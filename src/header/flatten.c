/*
 * flatten.c - one parsed file to one CSV row (SPEC 4, metadata CSV).
 * See dc_flatten.h for the naming and value rules.
 *
 * How it works: one pass over ds->el (pre-order).  A stack indexed by depth
 * holds the name prefix ("Seq1_Seq2_") and tag path of the enclosing
 * sequences, so each element's column name is prefix + keyword + " (gggg,
 * eeee)".  A small open-addressing index (name -> column) finds repeated
 * columns, whose values become "DUPLICATE TAGS IN DICOM:v1/v2/...".  Names
 * and values are bump-allocated in an arena owned by the row, so a file costs
 * no malloc once the row has been used for a file or two (dc_row_clear).
 * Per-thread caches remember column names by (prefix, tag, keyword),
 * dictionary answers and value texts across files (dc_flatten_release frees
 * them).  A row flattened into again (the header pass's scratch row)
 * remembers the last file: the next file of the same shape reuses its
 * columns and unchanged values without the walk (see "the last file").
 *
 * Values follow pydicom's readers: text trimmed per VR (values.py), text of
 * SH LO ST LT PN UC UT decoded with the Specific Character Set in force
 * (charset.c), other text as ISO-8859-1; numbers in decimal, floats as the
 * shortest text that round-trips, in Python's repr style ("1.0", "1e-05").
 */
#include "dc_flatten.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_charset.h"
#include "dc_dict.h"
#include "dc_names.h"
#include "dc_pytext.h"

#define DUP_PREFIX "DUPLICATE TAGS IN DICOM:"
#define ARENA_BLOCK (32 * 1024)
#define CHARSET_CACHE 8

/* ---- row memory: arena blocks and the name index ---- */

struct dc_row_block {
    struct dc_row_block *next;
    size_t used, cap;
    char data[];
};

/* the columns of compact copies, shared while they are the same */
struct dc_row_cols {
    size_t refs, n;
    uint64_t id;     /* unique in the process (dc_row_cols_id) */
    dc_column *cols; /* n columns, then their names */
};

/* ids of column lists, unique in the process and never reused: shared
 * lists' and each flatten walk's (dc_row_cols_id) */
static uint64_t next_cols_id(void)
{
    static uint64_t last;
    return __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED);
}

static void release_cols(struct dc_row_cols *sh)
{
    if (--sh->refs == 0) free(sh);
}

/* one value of a repeated column; the parts are joined once at the end so
 * a column repeated n times costs O(n), not O(n^2) */
struct dup_part {
    struct dup_part *prev;
    size_t len;
    const char *s;
};

struct dc_row_index {
    uint32_t *slot;         /* column + 1, 0 = empty */
    size_t cap;             /* power of two */
    uint32_t *count;        /* times each column was met (parallel to cols) */
    struct dup_part **tail; /* repeated columns: last value part (parallel to cols) */
    uint32_t *dups;         /* columns met more than once, joined after the walk */
    uint8_t *pending;       /* column is in dups */
    size_t n_dups;
    struct dc_row_block *cur;   /* arena block being filled */
    dc_buf name, val, pyval;    /* scratch */
    struct dc_row_cols *last;   /* columns of the last compact copy made from this row */
    /* generations: each walk makes new columns (next_cols_id), the row's columns
     * are of cols_gen (the memo's: of the walk that made it), last's of last_gen */
    uint64_t cols_gen, last_gen;
    int stale;                  /* slot/count not filled (the row came from the memo) */
    dc_column *own_cols;        /* while the row's cols are the memo's (borrowed): its own */
    int32_t *el_col;            /* the walk: column of each element, -1 none */
    size_t el_col_cap;
    struct file_memo *memo;     /* the last file, for the next one of the same shape */
    /* while val_len_ok (a row from the memo, not changed since): each
     * value's strlen, for dc_row_compact_copy */
    uint32_t *val_len;
    uint64_t *val_tok; /* ... and each value's token (dc_row_val_tokens), 0: none */
    size_t val_len_cap;
    int val_len_ok;
    int cs_elem[CHARSET_CACHE]; /* (0008,0005) element index -> parsed charset */
    dc_charset cs[CHARSET_CACHE];
    int n_cs;
};

struct file_memo;
static void memo_free(struct file_memo *m);

static struct dc_row_index *row_index(dc_row *r)
{
    if (!r->index) {
        r->index = dc_calloc(1, sizeof *r->index);
        dc_buf_init(&r->index->name);
        dc_buf_init(&r->index->val);
        dc_buf_init(&r->index->pyval);
    }
    return r->index;
}

static struct dc_row_block *new_block(size_t cap)
{
    struct dc_row_block *b = dc_malloc(sizeof *b + cap);
    b->next = NULL;
    b->used = 0;
    b->cap = cap;
    return b;
}

/* n bytes in the arena, stable until dc_row_clear */
static char *arena_alloc(dc_row *r, size_t n)
{
    struct dc_row_index *x = row_index(r);
    n = (n + 7) & ~(size_t)7; /* keeps every allocation 8-byte aligned (dup_part) */
    if (!r->arena) r->arena = x->cur = new_block(ARENA_BLOCK);
    while (x->cur->used + n > x->cur->cap) {
        if (!x->cur->next) {
            struct dc_row_block *b = new_block(n > ARENA_BLOCK ? n : ARENA_BLOCK);
            x->cur->next = b;
        }
        x->cur = x->cur->next;
        x->cur->used = 0;
    }
    char *p = x->cur->data + x->cur->used;
    x->cur->used += n;
    return p;
}

static char *arena_strdup(dc_row *r, const char *s, size_t n)
{
    char *p = arena_alloc(r, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void dc_row_init(dc_row *r)
{
    memset(r, 0, sizeof *r);
}

/* a row whose cols are the memo's gets its own array back (content: keep) */
static void own_cols(dc_row *r, int keep)
{
    struct dc_row_index *x = r->index;
    if (!x || !x->own_cols) return;
    if (keep) memcpy(x->own_cols, r->cols, r->n * sizeof *r->cols);
    r->cols = x->own_cols;
    x->own_cols = NULL;
}

void dc_row_clear(dc_row *r)
{
    r->n = 0;
    if (!r->index) return;
    own_cols(r, 0);
    struct dc_row_index *x = r->index;
    if (x->slot) memset(x->slot, 0, x->cap * sizeof *x->slot);
    x->cur = r->arena;
    if (x->cur) x->cur->used = 0;
    x->val_len_ok = 0;
    x->cols_gen = 0; /* no columns: no list id */
    x->n_cs = 0;
    x->n_dups = 0;
}

void dc_row_free(dc_row *r)
{
    for (struct dc_row_block *b = r->arena, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    own_cols(r, 0);
    if (r->shared)
        release_cols(r->shared);
    else
        free(r->cols);
    if (r->index) {
        if (r->index->last) release_cols(r->index->last);
        memo_free(r->index->memo);
        free(r->index->el_col);
        free(r->index->val_len);
        free(r->index->val_tok);
        free(r->index->slot);
        free(r->index->count);
        free(r->index->tail);
        free(r->index->dups);
        free(r->index->pending);
        dc_buf_free(&r->index->name);
        dc_buf_free(&r->index->val);
        dc_buf_free(&r->index->pyval);
        free(r->index);
    }
    free(r->vals);
    memset(r, 0, sizeof *r);
}

/* a new shared list holding a copy of src's columns (one reference) */
static struct dc_row_cols *copy_cols(const dc_row *src)
{
    size_t bytes = 0;
    for (size_t i = 0; i < src->n; i++) bytes += strlen(src->cols[i].name) + 1;
    struct dc_row_cols *sh = dc_malloc(sizeof *sh + src->n * sizeof(dc_column) + bytes);
    sh->refs = 1;
    sh->n = src->n;
    sh->id = next_cols_id();
    sh->cols = (dc_column *)(sh + 1);
    char *at = (char *)(sh->cols + src->n);
    for (size_t i = 0; i < src->n; i++) {
        sh->cols[i] = src->cols[i];
        size_t k = strlen(src->cols[i].name) + 1;
        sh->cols[i].name = memcpy(at, src->cols[i].name, k);
        at += k;
    }
    return sh;
}

/* same names and tag paths, in the same order */
static int same_cols(const struct dc_row_cols *sh, const dc_row *src)
{
    if (sh->n != src->n) return 0;
    for (size_t i = 0; i < src->n; i++) {
        const dc_column *a = &sh->cols[i], *b = &src->cols[i];
        if (a->depth != b->depth || memcmp(a->path, b->path, sizeof a->path) != 0 ||
            strcmp(a->name, b->name) != 0)
            return 0;
    }
    return 1;
}

/* src's columns as a shared list, with one reference for the caller: the
 * list of the previous copy from src when the columns did not change */
static struct dc_row_cols *shared_cols(const dc_row *src)
{
    struct dc_row_index *x = src->index;
    if (!x) return copy_cols(src);
    int same = x->last && (x->last_gen == x->cols_gen || same_cols(x->last, src));
    if (!same) {
        if (x->last) release_cols(x->last);
        x->last = copy_cols(src);
    }
    x->last_gen = x->cols_gen; /* the memo's rows keep the generation */
    x->last->refs++;
    return x->last;
}

const uint64_t *dc_row_val_tokens(const dc_row *r)
{
    return r->index && r->index->val_len_ok && r->n ? r->index->val_tok : NULL;
}

uint64_t dc_row_cols_id(const dc_row *r)
{
    if (r->shared) return r->shared->id;
    return r->index && r->n ? r->index->cols_gen : 0; /* the walk's or the memo's */
}

void dc_row_compact_copy(const dc_row *src, dc_row *dst)
{
    dc_row_init(dst);
    if (!src->n) return;
    dst->shared = shared_cols(src);
    dst->cols = dst->shared->cols;
    dst->n = dst->cap = src->n;
    dst->vals = dc_malloc(src->n * sizeof *dst->vals);
    /* each value's length once (known for a row from the memo): parked in
     * dst->vals until the copy */
    const struct dc_row_index *x = src->index;
    const uint32_t *known = x && x->val_len_ok ? x->val_len : NULL;
    size_t bytes = 0;
    for (size_t i = 0; i < src->n; i++) {
        size_t k = !src->vals || !src->vals[i] ? 0 : known ? (size_t)known[i] + 1 : strlen(src->vals[i]) + 1;
        dst->vals[i] = (char *)(uintptr_t)k;
        bytes += k;
    }
    struct dc_row_block *b = new_block(bytes);
    dst->arena = b;
    char *at = b->data;
    for (size_t i = 0; i < src->n; i++) {
        size_t k = (size_t)(uintptr_t)dst->vals[i];
        dst->vals[i] = k ? memcpy(at, src->vals[i], k) : NULL;
        at += k;
    }
    b->used = bytes;
}

/* word-at-a-time hash of a column name (the index is private to a row) */
static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

static size_t find_slot(const dc_row *r, const char *name, size_t len, uint64_t h)
{
    const struct dc_row_index *x = r->index;
    size_t mask = x->cap - 1, s = (size_t)h & mask;
    while (x->slot[s]) {
        const char *have = r->cols[x->slot[s] - 1].name;
        if (strncmp(have, name, len) == 0 && have[len] == '\0') break;
        s = (s + 1) & mask;
    }
    return s;
}

static void grow_index(dc_row *r)
{
    struct dc_row_index *x = r->index;
    size_t cap = x->cap ? x->cap * 2 : 512;
    free(x->slot);
    x->slot = dc_calloc(cap, sizeof *x->slot);
    x->cap = cap;
    for (size_t i = 0; i < r->n; i++) {
        const char *nm = r->cols[i].name;
        size_t len = strlen(nm);
        x->slot[find_slot(r, nm, len, name_hash(nm, len))] = (uint32_t)i + 1;
    }
}

static void grow_cols(dc_row *r)
{
    r->cap = r->cap ? r->cap * 2 : 256;
    r->cols = dc_realloc(r->cols, r->cap * sizeof *r->cols);
    r->vals = dc_realloc(r->vals, r->cap * sizeof *r->vals);
    r->index->count = dc_realloc(r->index->count, r->cap * sizeof *r->index->count);
    r->index->tail = dc_realloc(r->index->tail, r->cap * sizeof *r->index->tail);
    r->index->dups = dc_realloc(r->index->dups, r->cap * sizeof *r->index->dups);
    r->index->pending = dc_realloc(r->index->pending, r->cap * sizeof *r->index->pending);
}

static struct dup_part *new_part(dc_row *r, struct dup_part *prev, const char *s, size_t len)
{
    struct dup_part *p = (struct dup_part *)arena_alloc(r, sizeof *p);
    p->prev = prev;
    p->len = len;
    p->s = s;
    return p;
}

/* a column met again: remember the value as one more part */
static void add_duplicate(dc_row *r, size_t i, const char *val, size_t vlen)
{
    struct dc_row_index *x = r->index;
    if (++x->count[i] == 2) {
        const char *first = r->vals[i] ? r->vals[i] : "";
        x->tail[i] = new_part(r, NULL, first, strlen(first));
    }
    if (!x->pending[i]) { /* (a row flattened into again keeps its parts) */
        x->pending[i] = 1;
        x->dups[x->n_dups++] = (uint32_t)i;
    }
    if (!val) return;
    const char *s = arena_strdup(r, val, vlen);
    x->tail[i] = new_part(r, x->tail[i], s, vlen);
}

/* "DUPLICATE TAGS IN DICOM:v1/v2/..." for every repeated column */
static void join_duplicates(dc_row *r, int with_values)
{
    struct dc_row_index *x = r->index;
    x->val_len_ok = 0;
    for (size_t k = 0; k < x->n_dups; k++) {
        size_t i = x->dups[k], total = strlen(DUP_PREFIX);
        x->pending[i] = 0;
        if (!with_values) continue;
        for (struct dup_part *p = x->tail[i]; p; p = p->prev) total += p->len + 1;
        char *v = arena_alloc(r, total), *end = v + total - 1;
        *end = '\0';
        for (struct dup_part *p = x->tail[i]; p; p = p->prev) { /* fill from the back */
            end -= p->len;
            memcpy(end, p->s, p->len);
            if (p->prev) *--end = '/';
        }
        memcpy(v, DUP_PREFIX, strlen(DUP_PREFIX));
        r->vals[i] = v;
    }
    x->n_dups = 0;
}

/* Add value val (vlen bytes; NULL: names only) to the column name/path.  A
 * column met again collects its values for join_duplicates. */
static size_t row_put(dc_row *r, const char *name, size_t len, uint64_t h, const uint32_t *path,
                      int depth, const char *val, size_t vlen)
{
    struct dc_row_index *x = row_index(r);
    x->val_len_ok = 0;
    if ((r->n + 1) * 2 > x->cap) grow_index(r);
    size_t s = find_slot(r, name, len, h);
    if (x->slot[s]) {
        add_duplicate(r, x->slot[s] - 1, val, vlen);
        return x->slot[s] - 1;
    }
    if (r->n == r->cap) grow_cols(r);
    dc_column *c = &r->cols[r->n];
    c->name = arena_strdup(r, name, len);
    c->depth = (uint8_t)depth;
    memset(c->path, 0, sizeof c->path);
    memcpy(c->path, path, (size_t)depth * sizeof *path);
    r->vals[r->n] = val ? arena_strdup(r, val, vlen) : NULL;
    x->count[r->n] = 1;
    x->pending[r->n] = 0;
    x->slot[s] = (uint32_t)++r->n;
    return r->n - 1;
}

/* the name index of a row filled from the memo (no slots, counts) */
static void restore_index(dc_row *r)
{
    struct dc_row_index *x = r->index;
    own_cols(r, 1);
    x->stale = 0;
    if (x->cap < (r->n + 1) * 2) {
        free(x->slot);
        x->cap = 512;
        while (x->cap < (r->n + 1) * 2) x->cap *= 2;
        x->slot = dc_malloc(x->cap * sizeof *x->slot);
    }
    memset(x->slot, 0, x->cap * sizeof *x->slot);
    for (size_t i = 0; i < r->n; i++) {
        const char *nm = r->cols[i].name;
        size_t len = strlen(nm);
        x->slot[find_slot(r, nm, len, name_hash(nm, len))] = (uint32_t)i + 1;
        x->count[i] = 1;
        x->pending[i] = 0;
    }
}

/* ---- column names ---- */

static const char HEX[] = "0123456789abcdef";

static void hex4(char *s, uint16_t v)
{
    s[0] = HEX[(v >> 12) & 15];
    s[1] = HEX[(v >> 8) & 15];
    s[2] = HEX[(v >> 4) & 15];
    s[3] = HEX[v & 15];
}

/* "(gggg, eeee)" */
static void put_tag(dc_buf *b, uint32_t tag)
{
    char s[12] = {'(', 0, 0, 0, 0, ',', ' ', 0, 0, 0, 0, ')'};
    hex4(s + 1, DC_TAG_GROUP(tag));
    hex4(s + 7, DC_TAG_ELEM(tag));
    dc_buf_append(b, s, sizeof s);
}

/* the Private Creator value of element idx into out (NUL-terminated),
 * trailing spaces and NULs trimmed (as pydicom's private_creator: lead 0),
 * leading spaces too (lead 1) */
static void creator_string(const dc_dataset *ds, int idx, char *out, size_t outlen, int lead)
{
    out[0] = '\0';
    if (idx < 0 || (size_t)idx >= ds->n_el) return;
    const dc_elem *c = &ds->el[idx];
    const uint8_t *v = dc_value(ds, c);
    if (!v) return;
    const char *p = (const char *)v;
    size_t n = c->len;
    dc_trim(&p, &n, lead);
    if (n >= outlen) n = outlen - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Private dictionary lookups cost a binary search with string compares;
 * files repeat the same (tag, creator) pairs, so remember recent answers,
 * keyed by the tag and a 64-bit hash of the creator. */
#define PRIV_CACHE 4096
typedef struct {
    uint64_t key;
    const char *keyword;
} priv_entry;
static _Thread_local priv_entry *g_priv_cache;

static const char *private_keyword(uint32_t tag, const char *creator)
{
    if (!g_priv_cache) g_priv_cache = dc_calloc(PRIV_CACHE, sizeof *g_priv_cache);
    uint64_t key = name_hash(creator, strlen(creator)) ^ ((uint64_t)tag * 0x9E3779B97F4A7C15ULL);
    priv_entry *c = &g_priv_cache[(key >> 32) & (PRIV_CACHE - 1)];
    if (c->keyword && c->key == key) return c->keyword;
    const dc_dict_entry *d = dc_dict_find_private(tag, creator);
    c->key = key;
    c->keyword = d ? d->keyword : "Private";
    return c->keyword;
}

/* public dictionary lookups, remembered by tag */
#define PUB_CACHE 4096
typedef struct {
    uint32_t tag;
    uint8_t valid;
    const dc_dict_entry *d;
} pub_entry;
static _Thread_local pub_entry *g_pub_cache;

static const dc_dict_entry *public_entry(uint32_t tag)
{
    if (!g_pub_cache) g_pub_cache = dc_calloc(PUB_CACHE, sizeof *g_pub_cache);
    pub_entry *c = &g_pub_cache[((tag * 0x9E3779B1u) >> 20) & (PUB_CACHE - 1)];
    if (!c->valid || c->tag != tag) {
        c->tag = tag;
        c->d = dc_dict_find(tag);
        c->valid = 1;
    }
    return c->d;
}

static const char *keyword(const dc_dataset *ds, const dc_elem *e)
{
    uint16_t g = DC_TAG_GROUP(e->tag), el = DC_TAG_ELEM(e->tag);
    const dc_dict_entry *d;
    if (!(g & 1)) {
        d = public_entry(e->tag);
        return d ? d->keyword : "Unknown";
    }
    if (el == 0) {
        d = public_entry(e->tag);
        return d ? d->keyword : "Private";
    }
    if (el >= 0x10 && el <= 0xFF) return "PrivateCreator";
    if (e->creator < 0 || el < 0x1000) return "Private";
    char creator[80];
    creator_string(ds, e->creator, creator, sizeof creator, 1);
    return private_keyword(e->tag, creator);
}

/* ---- seed style names: pydicom's DataElement.name (dataelem.py) ---- */

static int g_style = DC_CSV_STYLE_SEED;

void dc_flatten_set_style(int style)
{
    if (style != g_style) dc_flatten_release(); /* cached names are of the old style */
    g_style = style;
}

int dc_flatten_style(void)
{
    return g_style;
}

/* "[description]" strings, one per description (the name cache tells names
 * apart by their pointer) */
#define BRACKET_CACHE 8192
typedef struct {
    const char *desc;
    char *name;
} bracket_entry;
static _Thread_local bracket_entry *g_bracket_cache;

static const char *bracketed(const char *desc)
{
    if (!g_bracket_cache) g_bracket_cache = dc_calloc(BRACKET_CACHE, sizeof *g_bracket_cache);
    size_t h = ((uintptr_t)desc * 0x9E3779B97F4A7C15ULL) >> 51;
    for (size_t i = 0; i < BRACKET_CACHE; i++) {
        bracket_entry *c = &g_bracket_cache[(h + i) & (BRACKET_CACHE - 1)];
        if (c->desc == desc) return c->name;
        if (!c->desc) {
            c->desc = desc;
            c->name = dc_asprintf("[%s]", desc);
            return c->name;
        }
    }
    return "Private tag data"; /* more descriptions than pydicom has: cannot happen */
}

static const char *seed_private(uint32_t tag, const char *creator)
{
    if (!g_priv_cache) g_priv_cache = dc_calloc(PRIV_CACHE, sizeof *g_priv_cache);
    uint64_t key = name_hash(creator, strlen(creator)) ^ ((uint64_t)tag * 0x9E3779B97F4A7C15ULL);
    priv_entry *c = &g_priv_cache[(key >> 32) & (PRIV_CACHE - 1)];
    if (c->keyword && c->key == key) return c->keyword;
    const char *d = dc_names_private(tag, creator);
    c->key = key;
    c->keyword = d ? bracketed(d) : "Private tag data";
    return c->keyword;
}

/* A private group length (gggg,0000) met at this level, whose value pydicom
 * would take as the private creator of (gggg,0001-00FF) (Dataset.__setitem__
 * looks for (gggg, element >> 8)): a non-empty value. */
typedef struct {
    int32_t parent, item;
    uint16_t group;
} group_length_seen;

/* pydicom's public names, remembered by tag */
typedef struct {
    uint32_t tag;
    uint8_t valid;
    const char *name;
} seed_pub_entry;
static _Thread_local seed_pub_entry *g_seed_pub_cache;

static const char *seed_public(uint32_t tag)
{
    if (!g_seed_pub_cache) g_seed_pub_cache = dc_calloc(PUB_CACHE, sizeof *g_seed_pub_cache);
    seed_pub_entry *c = &g_seed_pub_cache[((tag * 0x9E3779B1u) >> 20) & (PUB_CACHE - 1)];
    if (!c->valid || c->tag != tag) {
        const char *n = dc_names_public(tag);
        c->tag = tag;
        c->name = n ? n : DC_TAG_ELEM(tag) == 0 ? "Group Length" : "";
        c->valid = 1;
    }
    return c->name;
}

static const char *seed_name(const dc_dataset *ds, const dc_elem *e, const group_length_seen *gl)
{
    uint16_t g = DC_TAG_GROUP(e->tag), el = DC_TAG_ELEM(e->tag);
    if (!(g & 1)) return seed_public(e->tag);
    /* pydicom reads a sequence of undefined length into a DataElement at
     * once, so it never gets its private_creator (set when a raw element is
     * converted, as every element of defined length is) */
    int read_whole = e->vr == DC_VR('S', 'Q') && (e->flags & DC_EL_UNDEF_LEN);
    if (el >= 0x1000 && e->creator >= 0 && !read_whole) {
        char creator[80];
        creator_string(ds, e->creator, creator, sizeof creator, 0);
        if (creator[0]) return seed_private(e->tag, creator);
    }
    if (el >> 8 == 0) {
        int gl_creator = el != 0 && gl && gl->group == g && gl->parent == e->parent &&
                         gl->item == e->item;
        return gl_creator ? "Private tag data" : "Private Creator";
    }
    return "Private tag data";
}

/* The word naming element e in a column name (and in the prefix of the
 * columns of a sequence), in the style in force. */
static const char *column_word(const dc_dataset *ds, const dc_elem *e, const group_length_seen *gl)
{
    return g_style == DC_CSV_STYLE_SEED ? seed_name(ds, e, gl) : keyword(ds, e);
}

/* ---- numbers ----
 * Floats print as the shortest decimal that reads back to the same value
 * (float32 for FL), laid out like Python's repr: fixed notation when the
 * decimal exponent is in [-4, 16), else d.ddde+XX.  The digits come from an
 * exact integer (128-bit) computation of the correctly rounded p-digit value
 * and of the rounding interval; values outside its range (huge exponents)
 * fall back to printf("%.*e") + strtod, bisecting on p. */

typedef unsigned __int128 u128;

/* digits[0..nd) x 10^exp (first digit's exponent) -> Python repr layout */
static void repr_layout(const char *digits, int nd, int exp, int neg, char *out, size_t outlen)
{
    char body[80];
    int k = 0;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    if (neg) body[k++] = '-';
    if (exp >= 16 || exp < -4) {
        body[k++] = digits[0];
        if (nd > 1) body[k++] = '.';
        for (int i = 1; i < nd; i++) body[k++] = digits[i];
        body[k++] = 'e';
        body[k++] = exp < 0 ? '-' : '+';
        int a = exp < 0 ? -exp : exp;
        if (a >= 100) body[k++] = (char)('0' + a / 100);
        body[k++] = (char)('0' + a / 10 % 10);
        body[k++] = (char)('0' + a % 10);
    } else if (exp >= 0) {
        for (int i = 0; i <= exp; i++) body[k++] = i < nd ? digits[i] : '0';
        body[k++] = '.';
        if (exp + 1 >= nd) body[k++] = '0';
        for (int i = exp + 1; i < nd; i++) body[k++] = digits[i];
    } else {
        body[k++] = '0';
        body[k++] = '.';
        for (int i = 0; i < -exp - 1; i++) body[k++] = '0';
        for (int i = 0; i < nd; i++) body[k++] = digits[i];
    }
    size_t n = (size_t)k < outlen ? (size_t)k : outlen - 1;
    memcpy(out, body, n);
    out[n] = '\0';
}

/* a finite positive binary float: v = m * 2^e; the interval of reals that
 * round to it is [v - lo_gap, v + 2^(e-1)] (closed when m is even), lo_gap
 * 2^(e-2) just above a power of two, else 2^(e-1) */
typedef struct {
    uint64_t m;
    int e;
    int closer_below, even;
} bfloat;

static bfloat decompose(double v, int f32)
{
    bfloat b;
    if (f32) {
        float f = (float)v;
        uint32_t u;
        memcpy(&u, &f, 4);
        int be = (int)((u >> 23) & 0xFF);
        b.m = u & 0x7FFFFF;
        b.e = be ? be - 150 : -149;
        if (be) b.m |= 1u << 23;
        b.closer_below = be > 1 && b.m == (1u << 23);
    } else {
        uint64_t u;
        memcpy(&u, &v, 8);
        int be = (int)((u >> 52) & 0x7FF);
        b.m = u & 0xFFFFFFFFFFFFFULL;
        b.e = be ? be - 1075 : -1074;
        if (be) b.m |= 1ULL << 52;
        b.closer_below = be > 1 && b.m == (1ULL << 52);
    }
    b.even = (b.m & 1) == 0;
    return b;
}

static int bits128(u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
    if (hi) return 128 - __builtin_clzll(hi);
    return lo ? 64 - __builtin_clzll(lo) : 0;
}

/* 5^n (n <= 54) and 10^n (n <= 38) */
static _Thread_local u128 g_pow5[55], g_pow10[39];

static u128 pow_u128(unsigned base, int n)
{
    u128 *t = base == 5 ? g_pow5 : g_pow10;
    if (!t[0]) {
        int top = base == 5 ? 55 : 39;
        t[0] = 1;
        for (int i = 1; i < top; i++) t[i] = t[i - 1] * base;
    }
    return t[n];
}

/* dist and gap, both scaled by the same power: inside the rounding interval? */
static int in_interval(const bfloat *b, u128 dist, int below, u128 gap2)
{
    /* dist < half gap  <=>  2 dist < gap2 (4 dist below a power of two) */
    u128 d = below && b->closer_below ? dist << 2 : dist << 1;
    return b->even ? d <= gap2 : d < gap2;
}

/* The correctly rounded p-digit decimal D x 10^(e10-p+1) of v (given as b)
 * into *D; returns 1 when it rounds back to v, 0 when not, -1 when 128 bits
 * do not suffice. */
static int round_digits(const bfloat *b, int p, int e10, uint64_t *D)
{
    int j = p - 1 - e10; /* X = v * 10^j has p digits before the point */
    u128 q, rem, den, gap2;
    if (j >= 0) {
        if (j > 54) return -1;
        u128 n = (u128)b->m * pow_u128(5, j); /* X = n * 2^(e+j) */
        if (bits128((u128)b->m) + 2.33 * j > 125) return -1;
        int sh = b->e + j;
        if (sh >= 0) {
            if (bits128(n) + sh > 120) return -1;
            *D = (uint64_t)(n << sh);
            return 1; /* exact */
        }
        if (-sh > 120) return -1;
        den = (u128)1 << -sh;
        q = n >> -sh;
        rem = n & (den - 1);
        gap2 = pow_u128(5, j); /* the half-gap 2^(e-1) * 10^j * 2^-sh = 5^j / 2 */
    } else {
        int t = -j, sh = b->e < 0 ? -b->e : 0;
        if (t > 38 || 3.33 * t + sh > 124 || bits128((u128)b->m) + (b->e > 0 ? b->e : 0) > 124)
            return -1;
        u128 n = (u128)b->m << (b->e > 0 ? b->e : 0); /* v * 2^sh */
        den = pow_u128(10, t) << sh;                  /* 10^t * 2^sh */
        q = n / den;
        rem = n % den;
        gap2 = (u128)1 << (b->e > 0 ? b->e : 0); /* 2 * half-gap * 2^sh */
    }
    u128 twice = rem << 1;
    int up = twice > den || (twice == den && (q & 1));
    u128 dist = up ? den - rem : rem;
    if (q + up > (u128)UINT64_MAX) return -1;
    *D = (uint64_t)(q + up);
    return in_interval(b, dist, !up, gap2);
}

/* Shortest round-trip digits of |v| > 0: returns nd (0: fall back). */
static int shortest_digits(double v, int f32, char *digits, int *exp10)
{
    bfloat b = decompose(fabs(v), f32);
    int e10 = (int)floor(log10(fabs(v)));
    int maxp = f32 ? 9 : 17;
    uint64_t D;
    /* make e10 exact: the p=maxp digits must not reach 10^maxp or fall below 10^(maxp-1) */
    for (int tries = 0;; tries++) {
        if (tries > 2 || round_digits(&b, maxp, e10, &D) < 0) return 0;
        uint64_t lo = 1, hi;
        for (int i = 1; i < maxp; i++) lo *= 10;
        hi = lo * 10;
        if (D >= hi && D != hi)
            e10++;
        else if (D < lo)
            e10--;
        else
            break;
    }
    int lo = 1, hi = maxp;
    while (lo < hi) { /* round-trip is monotonic in p */
        int mid = (lo + hi) / 2, r = round_digits(&b, mid, e10, &D);
        if (r < 0) return 0;
        if (r)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (round_digits(&b, lo, e10, &D) != 1) return 0;
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + D % 10);
        D /= 10;
    } while (D);
    if (n > lo) e10++; /* rounded up to 10^p */
    for (int i = 0; i < n; i++) digits[i] = tmp[n - 1 - i];
    *exp10 = e10;
    return n;
}

/* printf-based fallback: bisect p with %.*e and strtod/strtof */
static int slow_digits(double v, int f32, char *digits, int *exp10)
{
    char buf[48];
    int lo = 1, hi = f32 ? 9 : 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(buf, sizeof buf, "%.*e", mid - 1, v);
        int ok = f32 ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v;
        if (ok)
            hi = mid;
        else
            lo = mid + 1;
    }
    snprintf(buf, sizeof buf, "%.*e", lo - 1, fabs(v));
    int n = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[n++] = *p;
    *exp10 = atoi(p + 1);
    return n;
}

static void format_real(double v, int f32, char *out, size_t outlen)
{
    if (isnan(v)) {
        snprintf(out, outlen, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, outlen, v < 0 ? "-inf" : "inf");
        return;
    }
    char digits[40];
    int nd, exp10 = 0;
    if (v == 0) {
        digits[0] = '0';
        nd = 1;
    } else if (fabs(v) < (f32 ? 16777216.0 : 9007199254740992.0) && v == floor(v)) {
        /* an integer below 2^24 (2^53): every integer there is exact, so
         * its own digits are the shortest text (fewer digits name another) */
        uint64_t u = (uint64_t)fabs(v);
        char tmp[24];
        nd = 0;
        do {
            tmp[nd++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        for (int i = 0; i < nd; i++) digits[i] = tmp[nd - 1 - i];
        exp10 = nd - 1;
    } else {
        nd = shortest_digits(v, f32, digits, &exp10);
        if (nd == 0) nd = slow_digits(v, f32, digits, &exp10);
    }
    repr_layout(digits, nd, exp10, signbit(v) != 0, out, outlen);
}

void dc_format_double(double v, char *out, size_t outlen)
{
    format_real(v, 0, out, outlen);
}

void dc_format_float(float v, char *out, size_t outlen)
{
    format_real(v, 1, out, outlen);
}

static uint64_t load(const uint8_t *p, int size, int big)
{
    uint64_t v = 0;
    for (int i = 0; i < size; i++) v |= (uint64_t)p[big ? size - 1 - i : i] << (8 * i);
    return v;
}

static void put_u64(dc_buf *b, uint64_t v)
{
    char s[24];
    int k = 24;
    do {
        s[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    dc_buf_append(b, s + k, (size_t)(24 - k));
}

static void put_i64(dc_buf *b, int64_t v)
{
    if (v < 0) {
        dc_buf_putc(b, '-');
        put_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(b, (uint64_t)v);
    }
}

/* byte size of a binary number VR, 0 if not one */
static int num_size(uint16_t vr)
{
    switch (vr) {
    case DC_VR('U', 'S'):
    case DC_VR('S', 'S'):
        return 2;
    case DC_VR('U', 'L'):
    case DC_VR('S', 'L'):
    case DC_VR('F', 'L'):
        return 4;
    case DC_VR('U', 'V'):
    case DC_VR('S', 'V'):
    case DC_VR('F', 'D'):
        return 8;
    default:
        return 0;
    }
}

static void put_number(dc_buf *b, uint16_t vr, uint64_t raw)
{
    char s[48];
    switch (vr) {
    case DC_VR('S', 'S'):
        put_i64(b, (int16_t)raw);
        return;
    case DC_VR('S', 'L'):
        put_i64(b, (int32_t)raw);
        return;
    case DC_VR('S', 'V'):
        put_i64(b, (int64_t)raw);
        return;
    case DC_VR('F', 'L'): {
        uint32_t u = (uint32_t)raw;
        float f;
        memcpy(&f, &u, 4);
        dc_format_float(f, s, sizeof s);
        dc_buf_puts(b, s);
        return;
    }
    case DC_VR('F', 'D'): {
        double d;
        memcpy(&d, &raw, 8);
        dc_format_double(d, s, sizeof s);
        dc_buf_puts(b, s);
        return;
    }
    default:
        put_u64(b, raw);
    }
}

/* US SS UL SL UV SV FL FD: complete values only, joined by '\' */
static void format_numbers(const dc_elem *e, const uint8_t *v, dc_buf *out)
{
    int size = num_size(e->vr), big = (e->flags & DC_EL_BIGENDIAN) != 0;
    for (uint32_t off = 0; off + (uint32_t)size <= e->len; off += (uint32_t)size) {
        if (off) dc_buf_putc(out, '\\');
        put_number(out, e->vr, load(v + off, size, big));
    }
}

/* AT: "(gggg, eeee)" per value */
static void format_at(const dc_elem *e, const uint8_t *v, dc_buf *out)
{
    int big = (e->flags & DC_EL_BIGENDIAN) != 0;
    for (uint32_t off = 0; off + 4 <= e->len; off += 4) {
        if (off) dc_buf_putc(out, '\\');
        put_tag(out, DC_TAG(load(v + off, 2, big), load(v + off + 2, 2, big)));
    }
}

/* ---- text ---- */

static int is_charset_vr(uint16_t vr)
{
    switch (vr) {
    case DC_VR('S', 'H'):
    case DC_VR('L', 'O'):
    case DC_VR('S', 'T'):
    case DC_VR('L', 'T'):
    case DC_VR('P', 'N'):
    case DC_VR('U', 'C'):
    case DC_VR('U', 'T'):
        return 1;
    default:
        return 0;
    }
}

static int is_plain_text_vr(uint16_t vr)
{
    switch (vr) {
    case DC_VR('A', 'E'):
    case DC_VR('A', 'S'):
    case DC_VR('C', 'S'):
    case DC_VR('D', 'A'):
    case DC_VR('D', 'S'):
    case DC_VR('D', 'T'):
    case DC_VR('I', 'S'):
    case DC_VR('T', 'M'):
    case DC_VR('U', 'I'):
    case DC_VR('U', 'R'):
        return 1;
    default:
        return 0;
    }
}

/* AE DS IS: each value stripped of spaces on both sides (pydicom strips
 * them); the others: trailing spaces and NULs of the whole value. */
static void format_plain_text(uint16_t vr, const uint8_t *v, size_t n, dc_buf *out)
{
    const char *p = (const char *)v;
    dc_trim(&p, &n, 0);
    if (vr != DC_VR('A', 'E') && vr != DC_VR('D', 'S') && vr != DC_VR('I', 'S')) {
        dc_latin1_to_utf8((const uint8_t *)p, n, out);
        return;
    }
    for (size_t i = 0;;) {
        size_t j = i;
        while (j < n && p[j] != '\\') j++;
        const char *q = p + i;
        size_t qn = j - i;
        dc_trim(&q, &qn, 1);
        if (i > 0) dc_buf_putc(out, '\\');
        dc_latin1_to_utf8((const uint8_t *)q, qn, out);
        if (j >= n) break;
        i = j + 1;
    }
}

static const dc_charset *charset_for(const dc_dataset *ds, struct dc_row_index *x, int idx,
                                     dc_charset *tmp)
{
    for (int i = 0; i < x->n_cs; i++)
        if (x->cs_elem[i] == idx) return &x->cs[i];
    const char *spec = NULL;
    size_t len = 0;
    if (idx >= 0 && (size_t)idx < ds->n_el) {
        const dc_elem *c = &ds->el[idx];
        spec = (const char *)dc_value(ds, c);
        len = spec ? c->len : 0;
    }
    dc_charset *cs = x->n_cs < CHARSET_CACHE ? &x->cs[x->n_cs] : tmp;
    dc_charset_parse(spec, len, cs);
    if (x->n_cs < CHARSET_CACHE) x->cs_elem[x->n_cs++] = idx;
    return cs;
}

/* NUL bytes would make the CSV unreadable for its torn-tail check: drop them */
static void drop_nuls(dc_buf *b, size_t from)
{
    if (!memchr(b->data + from, '\0', b->len - from)) return;
    size_t k = from;
    for (size_t i = from; i < b->len; i++)
        if (b->data[i] != '\0') b->data[k++] = b->data[i];
    b->len = k;
    b->data[k] = '\0';
}

/* ---- seed style values: pydicom's str(value) (dc_pytext.h) ---- */

/* US SS UL SL UV SV FL FD: one number bare, several as a Python list; FL
 * as the Python float pydicom makes of it (widened to double) */
static void format_numbers_seed(const dc_elem *e, const uint8_t *v, dc_buf *out)
{
    int size = num_size(e->vr), big = (e->flags & DC_EL_BIGENDIAN) != 0;
    uint32_t count = e->len / (uint32_t)size;
    if (count > 1) dc_buf_putc(out, '[');
    for (uint32_t k = 0; k < count; k++) {
        if (k) dc_buf_puts(out, ", ");
        uint64_t raw = load(v + (size_t)k * (size_t)size, size, big);
        if (e->vr == DC_VR('F', 'L')) {
            uint32_t u = (uint32_t)raw;
            float f;
            memcpy(&f, &u, 4);
            char s[48];
            dc_format_double((double)f, s, sizeof s);
            dc_buf_puts(out, s);
        } else {
            put_number(out, e->vr, raw);
        }
    }
    if (count > 1) dc_buf_putc(out, ']');
}

/* AT: one tag bare, several as a list */
static void format_at_seed(const dc_elem *e, const uint8_t *v, dc_buf *out)
{
    int big = (e->flags & DC_EL_BIGENDIAN) != 0;
    uint32_t count = e->len / 4;
    if (count > 1) dc_buf_putc(out, '[');
    for (uint32_t k = 0; k < count; k++) {
        if (k) dc_buf_puts(out, ", ");
        const uint8_t *p = v + 4 * (size_t)k;
        put_tag(out, DC_TAG(load(p, 2, big), load(p + 2, 2, big)));
    }
    if (count > 1) dc_buf_putc(out, ']');
}

/* how pydicom holds the items of a multi-valued text VR; -1: never split
 * (LT ST UT UR are single strings, backslashes included) */
static int seed_items(uint16_t vr)
{
    switch (vr) {
    case DC_VR('P', 'N'):
        return DC_PY_BARE;
    case DC_VR('D', 'S'):
        return DC_PY_NUMBER;
    case DC_VR('I', 'S'):
        return DC_PY_INTEGER;
    case DC_VR('L', 'T'):
    case DC_VR('S', 'T'):
    case DC_VR('U', 'T'):
    case DC_VR('U', 'R'):
        return -1;
    default:
        return DC_PY_QUOTED;
    }
}

/* text of a multi-valued element (items joined by '\' in out) as a
 * Python list, in place */
static void seed_text(struct dc_row_index *x, uint16_t vr, dc_buf *out)
{
    int kind = seed_items(vr);
    if (kind < 0 || !out->data || !memchr(out->data, '\\', out->len)) return;
    dc_buf_reset(&x->pyval);
    dc_py_multivalue(&x->pyval, out->data, out->len, (enum dc_py_items)kind);
    dc_buf_reset(out);
    dc_buf_append(out, x->pyval.data, x->pyval.len);
}

/* an empty DS IS AT or binary number is None to pydicom (str: "None") */
static int seed_none(const dc_elem *e)
{
    return e->len == 0 && (num_size(e->vr) || e->vr == DC_VR('A', 'T') ||
                           e->vr == DC_VR('D', 'S') || e->vr == DC_VR('I', 'S'));
}

static void format_value(const dc_dataset *ds, struct dc_row_index *x, const dc_elem *e,
                         dc_buf *out)
{
    dc_buf_reset(out);
    const uint8_t *v = dc_value(ds, e);
    int in_buf = v && (uint64_t)e->val + e->len <= ds->buf_len;
    int seed = g_style == DC_CSV_STYLE_SEED;
    if (seed && seed_none(e)) {
        dc_buf_puts(out, "None");
    } else if (is_charset_vr(e->vr) && in_buf) {
        dc_charset tmp;
        dc_charset_value(charset_for(ds, x, e->charset, &tmp), e->vr, v, e->len, out);
        if (seed) seed_text(x, e->vr, out);
    } else if (is_plain_text_vr(e->vr) && in_buf) {
        format_plain_text(e->vr, v, e->len, out);
        if (seed) seed_text(x, e->vr, out);
    } else if (num_size(e->vr) && in_buf) {
        (seed ? format_numbers_seed : format_numbers)(e, v, out);
    } else if (e->vr == DC_VR('A', 'T') && in_buf) {
        (seed ? format_at_seed : format_at)(e, v, out);
    } else if (e->len > 0) {
        dc_buf_puts(out, "<binary ");
        put_u64(out, e->len);
        dc_buf_puts(out, " bytes>");
    }
    if (!out->data) dc_buf_append(out, "", 0);
    drop_nuls(out, 0);
}

/* ---- formatted values remembered across files ----
 * Files of one series repeat most of their elements byte for byte (patient,
 * study, equipment, protocol).  A value's text depends only on the style, the
 * VR, the byte order, the value bytes and, for the VRs decoded with the
 * Specific Character Set (SH LO ST LT PN UC UT), that element's bytes in
 * force; so the text is remembered under exactly those (the key bytes are
 * compared, not only hashed) and the next file's equal element is copied
 * instead of decoded again.  Direct-mapped, per thread, short values only. */
#define VAL_CACHE 4096
#define VAL_CACHE_MAX 256 /* longest charset + value bytes remembered */
typedef struct {
    uint64_t hash;
    uint32_t cs_len, len, text_len, cap;
    uint16_t vr;
    uint8_t style, big, used;
    char *mem; /* charset bytes, value bytes, text, NUL */
} val_entry;
static _Thread_local val_entry *g_val_cache;

/* the value text of e does not depend on anything outside the key */
static int value_cacheable(const dc_dataset *ds, const dc_elem *e, const uint8_t *v)
{
    if (!v || e->len == 0 || (uint64_t)e->val + e->len > ds->buf_len) return 0;
    return is_charset_vr(e->vr) || is_plain_text_vr(e->vr) || num_size(e->vr) ||
           e->vr == DC_VR('A', 'T');
}

/* the Specific Character Set bytes in force for e (as charset_for reads them) */
static const char *charset_bytes(const dc_dataset *ds, const dc_elem *e, uint32_t *len)
{
    *len = 0;
    if (!is_charset_vr(e->vr) || e->charset < 0 || (size_t)e->charset >= ds->n_el) return NULL;
    const dc_elem *c = &ds->el[e->charset];
    const char *spec = (const char *)dc_value(ds, c);
    *len = spec ? c->len : 0;
    return spec;
}

/* The text of e's value (NUL-terminated, *n bytes): remembered, or formatted
 * into x->val and remembered. */
static const char *value_text(const dc_dataset *ds, struct dc_row_index *x, const dc_elem *e,
                              size_t *n)
{
    const uint8_t *v = dc_value(ds, e);
    if (!value_cacheable(ds, e, v)) {
        format_value(ds, x, e, &x->val);
        *n = x->val.len;
        return x->val.data;
    }
    uint32_t cs_len;
    const char *cs = charset_bytes(ds, e, &cs_len);
    uint8_t big = (e->flags & DC_EL_BIGENDIAN) != 0, style = (uint8_t)g_style;
    uint64_t h = name_hash((const char *)v, e->len) ^
                 (((uint64_t)e->vr << 16 | (uint64_t)big << 8 | style) * 0x9E3779B97F4A7C15ULL);
    if (cs_len) h = (h ^ name_hash(cs, cs_len)) * 0xBF58476D1CE4E5B9ULL;
    if (!g_val_cache) g_val_cache = dc_calloc(VAL_CACHE, sizeof *g_val_cache);
    val_entry *c = &g_val_cache[(h >> 40) & (VAL_CACHE - 1)];
    if (c->used && c->hash == h && c->vr == e->vr && c->big == big && c->style == style &&
        c->len == e->len && c->cs_len == cs_len && (!cs_len || memcmp(c->mem, cs, cs_len) == 0) &&
        memcmp(c->mem + cs_len, v, e->len) == 0) {
        *n = c->text_len;
        return c->mem + cs_len + e->len;
    }
    format_value(ds, x, e, &x->val);
    *n = x->val.len;
    if ((size_t)cs_len + e->len > VAL_CACHE_MAX || x->val.len > UINT32_MAX / 2) return x->val.data;
    size_t need = (size_t)cs_len + e->len + x->val.len + 1;
    if (c->cap < need) {
        free(c->mem);
        c->cap = (uint32_t)(need < 64 ? 64 : need);
        c->mem = dc_malloc(c->cap);
    }
    if (cs_len) memcpy(c->mem, cs, cs_len);
    memcpy(c->mem + cs_len, v, e->len);
    memcpy(c->mem + cs_len + e->len, x->val.data, x->val.len + 1);
    c->hash = h;
    c->vr = e->vr;
    c->big = big;
    c->style = style;
    c->len = e->len;
    c->cs_len = cs_len;
    c->text_len = (uint32_t)x->val.len;
    c->used = 1;
    return x->val.data;
}

/* ---- the walk ---- */

typedef struct {
    size_t name_len;      /* length of the name prefix for this depth */
    int32_t sq;           /* the sequence element this prefix belongs to (-1 at top) */
    uint64_t prefix_hash; /* name_hash of the prefix */
} level;

/* Column names by (prefix, tag, keyword), across files: most elements skip
 * building and hashing their name.  The keyword pointer stands for the
 * keyword (dictionary strings and literals are unique per text). */
#define NAME_CACHE 8192
typedef struct {
    uint64_t key;
    uint64_t hash;
    char *name;
    size_t len;
} name_entry;
static _Thread_local name_entry *g_name_cache;

static uint64_t name_key(uint64_t prefix_hash, uint32_t tag, const char *kw)
{
    uint64_t k = (prefix_hash ^ tag) * 0xBF58476D1CE4E5B9ULL;
    k = (k ^ (k >> 31) ^ (uint64_t)(uintptr_t)kw) * 0x94D049BB133111EBULL;
    return (k ^ (k >> 29)) | 1;
}

/* The column name of element e (keyword kw) under the prefix of level lv:
 * from the cache, or built in name and remembered. */
static const name_entry *column_name(const level *lv, dc_buf *name, const dc_elem *e,
                                     const char *kw)
{
    if (!g_name_cache) g_name_cache = dc_calloc(NAME_CACHE, sizeof *g_name_cache);
    uint64_t key = name_key(lv->prefix_hash, e->tag, kw);
    name_entry *c = &g_name_cache[(key >> 40) & (NAME_CACHE - 1)];
    if (c->key == key) return c;
    name->len = lv->name_len;
    dc_buf_puts(name, kw);
    dc_buf_putc(name, ' ');
    put_tag(name, e->tag);
    free(c->name);
    c->key = key;
    c->name = dc_strndup(name->data, name->len);
    c->len = name->len;
    c->hash = name_hash(name->data, name->len);
    return c;
}

void dc_flatten_release(void)
{
    if (g_name_cache)
        for (size_t i = 0; i < NAME_CACHE; i++) free(g_name_cache[i].name);
    free(g_name_cache);
    free(g_pub_cache);
    free(g_priv_cache);
    if (g_bracket_cache)
        for (size_t i = 0; i < BRACKET_CACHE; i++) free(g_bracket_cache[i].name);
    free(g_bracket_cache);
    g_bracket_cache = NULL;
    free(g_seed_pub_cache);
    g_seed_pub_cache = NULL;
    if (g_val_cache)
        for (size_t i = 0; i < VAL_CACHE; i++) free(g_val_cache[i].mem);
    free(g_val_cache);
    g_val_cache = NULL;
    dc_names_release(); /* the names the caches above pointed to */
    g_name_cache = NULL;
    g_pub_cache = NULL;
    g_priv_cache = NULL;
}

/* no column: pixel data at any depth, and the file meta group (0002,xxxx)
 * at top level (the old crawler iterated pydicom's dataset, without it) */
static int skipped(const dc_elem *e)
{
    uint32_t t = e->tag;
    if (t == DC_TAG_PIXEL_DATA || t == DC_TAG_FLOAT_PIXEL_DATA || t == DC_TAG_DOUBLE_PIXEL_DATA)
        return 1;
    return e->depth == 0 && DC_TAG_GROUP(t) == 0x0002;
}

/* Rebuild the prefix of element e from its parent chain (used when the
 * element order does not match the stack, which a sane parser never does). */
static void prefix_from_chain(const dc_dataset *ds, const dc_elem *e, dc_buf *name, uint32_t *path)
{
    int32_t chain[256];
    int n = 0;
    for (int32_t p = e->parent; p >= 0 && (size_t)p < ds->n_el && n < 256; p = ds->el[p].parent)
        chain[n++] = p;
    dc_buf_reset(name);
    for (int i = n - 1; i >= 0; i--) {
        dc_buf_puts(name, column_word(ds, &ds->el[chain[i]], NULL));
        dc_buf_putc(name, '_');
        if (n - 1 - i < DC_MAX_PATH_DEPTH) path[n - 1 - i] = ds->el[chain[i]].tag;
    }
}

/* remember a private group length with a value pydicom takes as true */
static void note_group_length(const dc_dataset *ds, const dc_elem *e, group_length_seen *gl)
{
    if (!(DC_TAG_GROUP(e->tag) & 1) || DC_TAG_ELEM(e->tag) != 0) return;
    const uint8_t *v = dc_value(ds, e);
    int nonzero = 0;
    for (uint32_t i = 0; v && i < e->len && (uint64_t)e->val + i < ds->buf_len; i++) nonzero |= v[i];
    gl->group = nonzero ? DC_TAG_GROUP(e->tag) : 0;
    gl->parent = e->parent;
    gl->item = e->item;
}

static void flatten(const dc_dataset *ds, dc_row *row, int with_values)
{
    group_length_seen g_gl = {-2, -2, 0};
    struct dc_row_index *x = row_index(row);
    if (x->stale) restore_index(row);
    x->cols_gen = next_cols_id();
    if (x->el_col_cap < ds->n_el) {
        x->el_col_cap = ds->n_el * 2;
        x->el_col = dc_realloc(x->el_col, x->el_col_cap * sizeof *x->el_col);
    }
    level stack[256];
    uint32_t path[256];
    dc_buf *name = &x->name;
    dc_buf_reset(name);
    for (int d = 0; d < 256; d++) stack[d].sq = -2;
    stack[0].name_len = 0;
    stack[0].sq = -1;
    stack[0].prefix_hash = name_hash("", 0);
    for (size_t i = 0; i < ds->n_el; i++) {
        const dc_elem *e = &ds->el[i];
        int d = e->depth;
        x->el_col[i] = -1;
        if (skipped(e)) continue;
        if (stack[d].sq != e->parent) {
            prefix_from_chain(ds, e, name, path);
            stack[d].name_len = name->len;
            stack[d].sq = e->parent;
            stack[d].prefix_hash = name_hash(name->data ? name->data : "", name->len);
        }
        if (DC_TAG_ELEM(e->tag) == 0) note_group_length(ds, e, &g_gl);
        const char *kw = column_word(ds, e, &g_gl);
        path[d] = e->tag;
        if (e->vr == DC_VR('S', 'Q')) {
            if (d + 1 < 256) {
                name->len = stack[d].name_len;
                dc_buf_puts(name, kw);
                dc_buf_putc(name, '_');
                stack[d + 1].name_len = name->len;
                stack[d + 1].sq = (int32_t)i;
                stack[d + 1].prefix_hash = name_hash(name->data, name->len);
            }
            continue;
        }
        const name_entry *nm = column_name(&stack[d], name, e, kw);
        int depth = d + 1 > DC_MAX_PATH_DEPTH ? DC_MAX_PATH_DEPTH : d + 1;
        size_t vlen = 0;
        const char *v = with_values ? value_text(ds, x, e, &vlen) : NULL;
        x->el_col[i] = (int32_t)row_put(row, nm->name, nm->len, nm->hash, path, depth,
                                        v ? v : with_values ? "" : NULL, vlen);
    }
    join_duplicates(row, with_values);
}


/* ---- the last file, for the next one of the same shape ----
 * Files of a series usually have the same elements in the same order; only
 * some values differ.  After a walk of a whole file into an empty row, the
 * row's columns and every element's value bytes and text are remembered.
 * The next file whose elements have the same shape (tag, VR, depth, flags,
 * parent, item, creator and charset elements) and the same bytes in every
 * element that names or decoding read (private creators and group lengths:
 * odd groups' elements below 0x0100; Specific Character Set; any element
 * another one names as its creator or charset) gets the same columns, so the
 * walk is skipped: a value whose bytes are equal keeps its text, another is
 * formatted and remembered in its place; a column met more than once joins
 * its elements' texts as join_duplicates does. */
#define MEMO_RAW_MAX 1024   /* longest value bytes remembered */
#define MEMO_SLACK 65536    /* store bytes beyond twice the live ones before compacting */

typedef struct {
    uint32_t tag;
    uint16_t vr;
    uint8_t depth, flags;
    int32_t parent, item, creator, charset;
    int32_t col;        /* its column, -1 none */
    int32_t next_same;  /* a repeated column's next element, -1 none */
    uint32_t len;       /* value length */
    uint8_t has_raw;    /* value bytes kept at raw_off */
    uint8_t read_by_names; /* a changed value means other columns or texts */
    size_t raw_off, text_off, text_len;
} memo_el;

struct file_memo {
    int valid, style;
    uint64_t gen;    /* generation of the columns */
    uint64_t epoch;  /* store[cur]'s version (next_cols_id): a text's token is
                        (epoch, offset), as the store is only appended to
                        until it is rebuilt or compacted (a new epoch) */
    memo_el *el;
    size_t n_el, cap_el;
    dc_column *cols; /* the row's columns, names in names */
    size_t n_cols, cap_cols;
    dc_buf names;
    dc_buf store[2]; /* value bytes and texts: store[cur]; the other for compacting */
    int cur;
    size_t live;     /* store bytes in use after the last rebuild */
    int32_t *col_el; /* per column: its (first) element */
    int32_t *col_last; /* per column: its last element so far (memo_remember) */
    uint32_t *dup_cols; /* columns met more than once */
    size_t n_dup_cols;
    size_t *dup_text;   /* per dup column: offset of the joined text */
};

static void memo_free(struct file_memo *m)
{
    if (!m) return;
    free(m->el);
    free(m->cols);
    free(m->col_el);
    free(m->col_last);
    free(m->dup_cols);
    free(m->dup_text);
    dc_buf_free(&m->names);
    dc_buf_free(&m->store[0]);
    dc_buf_free(&m->store[1]);
    free(m);
}

static int same_shape(const dc_elem *e, const memo_el *m)
{
    return e->tag == m->tag && e->vr == m->vr && e->depth == m->depth && e->flags == m->flags &&
           e->parent == m->parent && e->item == m->item && e->creator == m->creator &&
           e->charset == m->charset;
}

/* value bytes of e worth keeping and comparing (dc_value's, in the buffer) */
static const uint8_t *raw_bytes(const dc_dataset *ds, const dc_elem *e)
{
    if (e->vr == DC_VR('S', 'Q') || (e->flags & DC_EL_SKIPPED) || e->len > MEMO_RAW_MAX ||
        (uint64_t)e->val + e->len > ds->buf_len)
        return NULL;
    return ds->buf + e->val;
}

/* append e's value bytes and its text to b, noting where in me */
static void memo_keep(dc_buf *b, const dc_elem *e, const uint8_t *v, memo_el *me,
                      const char *text, size_t text_len)
{
    me->len = e->len;
    me->has_raw = v != NULL;
    me->raw_off = b->len;
    if (v) dc_buf_append(b, v, e->len);
    me->text_off = b->len;
    me->text_len = text_len;
    dc_buf_append(b, text, text_len + 1); /* with its NUL */
}

static void memo_reserve(struct file_memo *m, size_t n_el, size_t n_cols)
{
    if (m->cap_el < n_el) {
        m->cap_el = n_el * 2;
        m->el = dc_realloc(m->el, m->cap_el * sizeof *m->el);
    }
    if (m->cap_cols < n_cols) {
        m->cap_cols = n_cols * 2;
        m->cols = dc_realloc(m->cols, m->cap_cols * sizeof *m->cols);
        m->col_el = dc_realloc(m->col_el, m->cap_cols * sizeof *m->col_el);
        m->col_last = dc_realloc(m->col_last, m->cap_cols * sizeof *m->col_last);
        m->dup_cols = dc_realloc(m->dup_cols, m->cap_cols * sizeof *m->dup_cols);
        m->dup_text = dc_realloc(m->dup_text, m->cap_cols * sizeof *m->dup_text);
    }
}

/* the row's columns, their names copied */
static void memo_columns(struct file_memo *m, const dc_row *row)
{
    dc_buf_reset(&m->names);
    for (size_t c = 0; c < row->n; c++) {
        m->cols[c] = row->cols[c];
        m->dup_text[c] = m->names.len; /* (name offsets until the names stop moving) */
        dc_buf_append(&m->names, row->cols[c].name, strlen(row->cols[c].name) + 1);
    }
    for (size_t c = 0; c < row->n; c++) m->cols[c].name = m->names.data + m->dup_text[c];
    m->n_cols = row->n;
}

/* after a walk of ds into the empty row: remember it for the next file */
static void memo_remember(const dc_dataset *ds, dc_row *row)
{
    struct dc_row_index *x = row->index;
    if (!x->memo) x->memo = dc_calloc(1, sizeof *x->memo);
    struct file_memo *m = x->memo;
    m->valid = 0;
    if (!row->vals) return;
    memo_reserve(m, ds->n_el, row->n);
    memo_columns(m, row);
    m->n_dup_cols = 0;
    for (size_t c = 0; c < row->n; c++) {
        m->col_el[c] = -1;
        if (x->count[c] > 1) m->dup_cols[m->n_dup_cols++] = (uint32_t)c;
    }
    dc_buf *b = &m->store[m->cur];
    dc_buf_reset(b);
    for (size_t i = 0; i < ds->n_el; i++) {
        const dc_elem *e = &ds->el[i];
        memo_el *me = &m->el[i];
        me->tag = e->tag;
        me->vr = e->vr;
        me->depth = e->depth;
        me->flags = e->flags;
        me->parent = e->parent;
        me->item = e->item;
        me->creator = e->creator;
        me->charset = e->charset;
        me->col = x->el_col[i];
        me->read_by_names = ((DC_TAG_GROUP(e->tag) & 1) && DC_TAG_ELEM(e->tag) < 0x0100) ||
                            e->tag == DC_TAG(0x0008, 0x0005);
        me->has_raw = 0;
        me->next_same = -1;
        if (me->col < 0) continue;
        if (m->col_el[me->col] < 0)
            m->col_el[me->col] = (int32_t)i;
        else
            m->el[m->col_last[me->col]].next_same = (int32_t)i; /* in element order */
        m->col_last[me->col] = (int32_t)i;
        const char *text;
        size_t n = 0;
        if (x->count[me->col] > 1) /* the element's own part */
            text = value_text(ds, x, e, &n);
        else
            n = strlen(text = row->vals[me->col]);
        memo_keep(b, e, raw_bytes(ds, e), me, text, n);
    }
    for (size_t i = 0; i < ds->n_el; i++) { /* the elements others read */
        int32_t j[2] = {ds->el[i].creator, ds->el[i].charset};
        for (int k = 0; k < 2; k++)
            if (j[k] >= 0 && (size_t)j[k] < ds->n_el) m->el[j[k]].read_by_names = 1;
    }
    m->n_el = ds->n_el;
    m->live = b->len;
    m->style = g_style;
    m->gen = x->cols_gen;
    m->epoch = next_cols_id(); /* the store was rewritten from its start */
    m->valid = 1;
}

/* store[cur] holds texts no element points to any more: copy the live ones */
static void memo_compact(struct file_memo *m)
{
    dc_buf *from = &m->store[m->cur], *to = &m->store[m->cur ^ 1];
    dc_buf_reset(to);
    for (size_t i = 0; i < m->n_el; i++) {
        memo_el *me = &m->el[i];
        if (me->col < 0) continue;
        size_t raw = to->len;
        if (me->has_raw) dc_buf_append(to, from->data + me->raw_off, me->len);
        me->raw_off = raw;
        size_t text = to->len;
        dc_buf_append(to, from->data + me->text_off, me->text_len + 1);
        me->text_off = text;
    }
    m->cur ^= 1;
    m->live = to->len;
    m->epoch = next_cols_id();
}

/* column c's text: "DUPLICATE TAGS IN DICOM:" and its elements' texts
 * (kept in b) joined by '/', as join_duplicates makes it */
static size_t join_from_memo(const struct file_memo *m, dc_buf *b, uint32_t c)
{
    size_t total = strlen(DUP_PREFIX);
    for (int32_t i = m->col_el[c]; i >= 0; i = m->el[i].next_same) total += m->el[i].text_len + 1;
    dc_buf_reserve(b, total + 1); /* no move while b copies from itself */
    size_t at = b->len;
    dc_buf_puts(b, DUP_PREFIX);
    for (int32_t i = m->col_el[c]; i >= 0; i = m->el[i].next_same) {
        if (i != m->col_el[c]) dc_buf_putc(b, '/');
        dc_buf_append(b, b->data + m->el[i].text_off, m->el[i].text_len);
    }
    dc_buf_putc(b, '\0');
    return at;
}

/* the first and the last w bytes of a and b are equal (w <= 8, w <= n <= 2w) */
static inline int ends_equal(const char *a, const char *b, size_t n, size_t w)
{
    uint64_t a0 = 0, b0 = 0, a1 = 0, b1 = 0;
    memcpy(&a0, a, w);
    memcpy(&b0, b, w);
    memcpy(&a1, a + n - w, w);
    memcpy(&b1, b + n - w, w);
    return a0 == b0 && a1 == b1;
}

/* memcmp(a, b, n) == 0, inline for the short values most elements hold:
 * two overlapping loads from each end cover n bytes */
static inline int same_bytes(const char *a, const void *bv, size_t n)
{
    const char *b = bv;
    if (n > 16) return memcmp(a, b, n) == 0;
    if (n >= 8) return ends_equal(a, b, n, 8);
    if (n >= 4) return ends_equal(a, b, n, 4);
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

/* ds has the last file's shape: its row from the memo (returns 1), else 0.
 * On 0 the memo still holds a valid text for every element it kept. */
static int memo_flatten(const dc_dataset *ds, dc_row *row)
{
    struct dc_row_index *x = row->index;
    struct file_memo *m = x->memo;
    if (!m || !m->valid || m->style != g_style || ds->n_el != m->n_el) return 0;
    if (m->store[m->cur].len > 2 * m->live + MEMO_SLACK) memo_compact(m);
    dc_buf *b = &m->store[m->cur];
    for (size_t i = 0; i < ds->n_el; i++) {
        const dc_elem *e = &ds->el[i];
        memo_el *me = &m->el[i];
        if (!same_shape(e, me)) return 0;
        if (me->col < 0) continue;
        const uint8_t *v = raw_bytes(ds, e);
        if (v && me->has_raw && me->len == e->len && same_bytes(b->data + me->raw_off, v, e->len))
            continue;
        if (me->read_by_names) return 0;
        size_t n;
        const char *text = value_text(ds, x, e, &n);
        memo_keep(b, e, v, me, text, n);
    }
    for (size_t k = 0; k < m->n_dup_cols; k++) m->dup_text[k] = join_from_memo(m, b, m->dup_cols[k]);
    own_cols(row, 0);
    while (row->cap < m->n_cols) grow_cols(row);
    x->own_cols = row->cols; /* the columns are the memo's, borrowed until the next clear */
    row->cols = m->cols;
    if (x->val_len_cap < m->n_cols) {
        x->val_len_cap = row->cap;
        x->val_len = dc_realloc(x->val_len, x->val_len_cap * sizeof *x->val_len);
        x->val_tok = dc_realloc(x->val_tok, x->val_len_cap * sizeof *x->val_tok);
    }
    uint64_t epoch = m->epoch << 32; /* (a store past 4 GiB gives no tokens) */
    for (size_t c = 0; c < m->n_cols; c++) {
        const memo_el *me = &m->el[m->col_el[c]];
        row->vals[c] = b->data + me->text_off;
        x->val_len[c] = (uint32_t)me->text_len;
        x->val_tok[c] = m->epoch <= UINT32_MAX && me->text_off <= UINT32_MAX ? epoch | me->text_off : 0;
    }
    for (size_t k = 0; k < m->n_dup_cols; k++) {
        row->vals[m->dup_cols[k]] = b->data + m->dup_text[k];
        x->val_len[m->dup_cols[k]] = (uint32_t)strlen(b->data + m->dup_text[k]);
        x->val_tok[m->dup_cols[k]] = 0; /* joined anew each time */
    }
    /* texts have no NUL inside (format_value drops them): text_len is strlen */
    x->val_len_ok = 1;
    row->n = m->n_cols;
    x->cols_gen = m->gen;
    x->stale = 1;
    return 1;
}

int dc_flatten(const dc_dataset *ds, dc_row *row)
{
    int fresh = row->n == 0;
    if (fresh && row->index && memo_flatten(ds, row)) return 0;
    flatten(ds, row, 1);
    if (fresh) memo_remember(ds, row);
    return 0;
}

int dc_flatten_columns(const dc_dataset *ds, dc_row *row)
{
    flatten(ds, row, 0);
    return 0;
}

int dc_column_cmp(const dc_column *a, const dc_column *b)
{
    for (int i = 0; i < a->depth && i < b->depth; i++)
        if (a->path[i] != b->path[i]) return a->path[i] < b->path[i] ? -1 : 1;
    if (a->depth != b->depth) return a->depth < b->depth ? -1 : 1;
    int c = strcmp(a->name, b->name);
    return c < 0 ? -1 : (c > 0);
}
