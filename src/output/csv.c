/*
 * csv.c - RFC 4180 CSV text and the ordered column set of the metadata CSV.
 * See dc_csv.h.
 *
 * Pieces: field quoting (dc_csv_field), record parsing used to read back
 * existing outputs and to detect torn tails (dc_csv_parse_record), the column
 * set with an open-addressing hash index by name (dc_colset_*), and header /
 * row formatting.  Pure: no files, no MPI.
 */
#include "dc_csv.h"
#include "dc_charset.h" /* dc_utf8_seq_len */

#include <stdlib.h>
#include <string.h>

/* ---- fields ---- */

void dc_utf8_escape(dc_buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = u[i] < 0x80 ? 1 : dc_utf8_seq_len(u + i, n - i);
        if (k) {
            dc_buf_append(out, s + i, k);
            i += k;
        } else {
            dc_buf_printf(out, "\\x%02x", u[i]);
            i++;
        }
    }
}

/* bit 7 set in the bytes of w that are 0 (SWAR; exact as to whether any is) */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
static uint64_t zero_bytes(uint64_t w)
{
    return (w - ONES) & ~w & HIGHS;
}

/* a byte of w is , " \n or \r (exact for words without bytes >= 0x80) */
static inline int special_word(uint64_t w)
{
    return (zero_bytes(w ^ (ONES * ',')) | zero_bytes(w ^ (ONES * '"')) |
            zero_bytes(w ^ (ONES * '\n')) | zero_bytes(w ^ (ONES * '\r'))) != 0;
}

/* field_flags of s[i..n), one byte at a time, given the flags f of s[0..i)
 * (which holds no byte >= 0x80 that starts a sequence past i) */
static int byte_flags(const unsigned char *u, size_t i, size_t n, int f)
{
    for (; i < n; i++) {
        unsigned char c = u[i];
        if (c == ',' || c == '"' || c == '\n' || c == '\r') f |= 1;
        if (c >= 0x80 && !(f & 2)) {
            size_t k = dc_utf8_seq_len(u + i, n - i);
            if (k == 0)
                f |= 2;
            else
                i += k - 1;
        }
    }
    return f;
}

/* field_flags of one word of ASCII bytes (bit 7 clear in all): the four
 * specials are below '-', so a word without such bytes (digits, '.', letters:
 * most values) takes one compare */
static inline int word_flags(uint64_t w)
{
    if (!((w - ONES * '-') & ~w & HIGHS)) return 0;
    return special_word(w);
}

/* bit 1: needs quotes; bit 2: holds bytes that are not well-formed UTF-8.
 * ASCII 8 bytes at a time; the last word of a value of 8 bytes or more is
 * its last 8 bytes, and a shorter value is one word of its (overlapping)
 * first and last bytes, repeated: re-reading checked bytes changes no
 * flag.  The first word with a byte >= 0x80 and what follows go byte by
 * byte.  Inlined in its callers (-10% of a row's formatting, callgrind). */
static inline __attribute__((always_inline)) int field_flags(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n < 8) {
        uint64_t w;
        if (n >= 4) {
            uint32_t lo, hi;
            memcpy(&lo, s, 4);
            memcpy(&hi, s + n - 4, 4);
            w = (uint64_t)hi << 32 | lo;
        } else if (n) {
            uint64_t v = (uint64_t)u[0] | (uint64_t)u[n / 2] << 8 | (uint64_t)u[n - 1] << 16;
            w = v | v << 24 | v << 48; /* no zero padding: a zero byte is below '-' */
        } else {
            return 0;
        }
        return w & HIGHS ? byte_flags(u, 0, n, 0) : word_flags(w);
    }
    int f = 0;
    for (size_t i = 0;; i += 8) {
        uint64_t w;
        memcpy(&w, s + (i + 8 <= n ? i : n - 8), 8);
        if (w & HIGHS) return byte_flags(u, i, n, f);
        f |= word_flags(w);
        if (i + 8 >= n) return f;
    }
}

/* s[0..n) as a field whose field_flags are f */
static void put_field(dc_buf *out, const char *s, size_t n, int f)
{
    if (f & 2) { /* the CSV is UTF-8: stray bytes (non-UTF-8 file names) become \xNN */
        dc_buf esc;
        dc_buf_init(&esc);
        dc_utf8_escape(&esc, s, n);
        dc_csv_fieldn(out, esc.data ? esc.data : "", esc.len);
        dc_buf_free(&esc);
        return;
    }
    if (!(f & 1)) {
        dc_buf_append(out, s, n);
        return;
    }
    dc_buf_reserve(out, n + 2);
    dc_buf_putc(out, '"');
    const char *end = s + n;
    for (const char *q; (q = memchr(s, '"', (size_t)(end - s))) != NULL; s = q + 1) {
        dc_buf_append(out, s, (size_t)(q + 1 - s)); /* up to and including the quote */
        dc_buf_putc(out, '"');
    }
    dc_buf_append(out, s, (size_t)(end - s));
    dc_buf_putc(out, '"');
}

void dc_csv_fieldn(dc_buf *out, const char *s, size_t n)
{
    put_field(out, s, n, field_flags(s, n));
}

void dc_csv_field(dc_buf *out, const char *s)
{
    dc_csv_fieldn(out, s ? s : "", s ? strlen(s) : 0);
}

/* ---- parsing ---- */

/* Parse a quoted field starting after its opening quote at p[*i].  Appends
 * the unquoted text to f.  Returns 1 when the field ended (at the byte after
 * the closing quote), 0 when input ended inside it, -1 on invalid bytes. */
static int parse_quoted(const char *p, size_t n, size_t *i, dc_buf *f)
{
    size_t k = *i;
    while (k < n) {
        char c = p[k];
        if (c == '\0') return -1;
        if (c != '"') {
            dc_buf_putc(f, c);
            k++;
            continue;
        }
        if (k + 1 >= n) return 0; /* a doubled quote or the end: cannot tell yet */
        if (p[k + 1] == '"') {
            dc_buf_putc(f, '"');
            k += 2;
            continue;
        }
        *i = k + 1;
        return 1;
    }
    return 0;
}

/* After a field: returns 1 at ',', 2 at the record end (advancing past the
 * newline), 0 when input ends first, -1 for anything else. */
static int field_end(const char *p, size_t n, size_t *i)
{
    if (*i >= n) return 0;
    char c = p[*i];
    if (c == ',') {
        (*i)++;
        return 1;
    }
    if (c == '\n') {
        (*i)++;
        return 2;
    }
    if (c == '\r') {
        if (*i + 1 >= n) return 0;
        if (p[*i + 1] != '\n') return -1;
        *i += 2;
        return 2;
    }
    return -1;
}

/* Unquoted field: up to ',', CR or LF.  Returns 1, or -1 for a quote or NUL. */
static int parse_plain(const char *p, size_t n, size_t *i, dc_buf *f)
{
    size_t k = *i;
    while (k < n && p[k] != ',' && p[k] != '\n' && p[k] != '\r') {
        if (p[k] == '"' || p[k] == '\0') return -1;
        k++;
    }
    dc_buf_append(f, p + *i, k - *i);
    *i = k;
    return 1;
}

long dc_csv_parse_record(const char *p, size_t n, dc_strvec *fields)
{
    size_t i = 0, first = fields->n;
    dc_buf f;
    dc_buf_init(&f);
    long rc = 0;
    for (;;) {
        dc_buf_reset(&f);
        int r;
        if (i < n && p[i] == '"') {
            i++;
            r = parse_quoted(p, n, &i, &f);
        } else {
            r = parse_plain(p, n, &i, &f);
        }
        if (r <= 0) {
            rc = r;
            break;
        }
        dc_strvec_push(fields, dc_buf_cstr(&f));
        int e = field_end(p, n, &i);
        if (e <= 0) {
            rc = e;
            break;
        }
        if (e == 2) {
            rc = (long)i;
            break;
        }
    }
    dc_buf_free(&f);
    if (rc <= 0) { /* leave fields as they were */
        while (fields->n > first) free(fields->v[--fields->n]);
    }
    return rc;
}

/* ---- column set ---- */

/* a dc_colset.stamp no other column set state had */
static uint64_t new_stamp(void)
{
    static uint64_t last; /* column sets change on the main thread */
    return ++last;
}

void dc_colset_init(dc_colset *c)
{
    memset(c, 0, sizeof *c);
    c->stamp = new_stamp();
}

void dc_colset_free(dc_colset *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->cols[i].name);
    free(c->cols);
    free(c->idx);
    dc_colset_init(c);
}

static size_t name_slot(const dc_colset *c, const char *name)
{
    uint64_t h = dc_hash64(name, strlen(name), DC_HASH_SEED);
    size_t mask = c->idx_cap - 1, s = (size_t)h & mask;
    while (c->idx[s] && strcmp(c->cols[c->idx[s] - 1].name, name) != 0) s = (s + 1) & mask;
    return s;
}

static void rebuild_index(dc_colset *c)
{
    size_t cap = 64;
    while (cap < c->n * 2 + 2) cap *= 2;
    free(c->idx);
    c->idx = dc_calloc(cap, sizeof(size_t));
    c->idx_cap = cap;
    for (size_t i = 0; i < c->n; i++) c->idx[name_slot(c, c->cols[i].name)] = i + 1;
}

long dc_colset_find(const dc_colset *c, const char *name)
{
    if (!c->idx_cap) return -1;
    size_t s = name_slot(c, name);
    return c->idx[s] ? (long)c->idx[s] - 1 : -1;
}

int dc_colset_add(dc_colset *c, const dc_column *col)
{
    if (dc_colset_find(c, col->name) >= 0) return 0;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->cols = dc_realloc(c->cols, c->cap * sizeof *c->cols);
    }
    c->stamp = new_stamp();
    dc_column *d = &c->cols[c->n++];
    *d = *col;
    d->name = dc_strdup(col->name);
    if (c->n * 2 + 2 > c->idx_cap)
        rebuild_index(c);
    else
        c->idx[name_slot(c, d->name)] = c->n;
    return 1;
}

static int column_qsort_cmp(const void *a, const void *b)
{
    return dc_column_cmp(a, b);
}

void dc_colset_sort(dc_colset *c)
{
    if (c->n > 1) qsort(c->cols, c->n, sizeof *c->cols, column_qsort_cmp);
    rebuild_index(c);
    c->stamp = new_stamp();
}

/* ---- header and rows ---- */

/* output.csv_formula_guard: set once per run, before rows are formatted */
static int formula_guard;

void dc_csv_set_formula_guard(int on)
{
    formula_guard = on != 0;
}

int dc_csv_formula_guard(void)
{
    return formula_guard;
}

/* [+-]digits[.digits][(e|E)[+-]digits], or inf/nan as Python prints them */
static int is_number(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (n - i == 3 && (!strncmp(s + i, "inf", 3) || !strncmp(s + i, "nan", 3))) return 1;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (!digits) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, e++;
        if (!e) return 0;
    }
    return i == n;
}

int dc_csv_is_formula(const char *v)
{
    if (!v) return 0;
    char c = v[0];
    if (c != '=' && c != '+' && c != '-' && c != '@' && c != '\t' && c != '\r') return 0;
    /* numbers stay as they are: -5, +1.5e3, and DICOM multi-values -1.5\2\-3 */
    for (const char *p = v;;) {
        const char *bs = strchr(p, '\\');
        size_t n = bs ? (size_t)(bs - p) : strlen(p);
        if (!is_number(p, n)) return 1;
        if (!bs) return 0;
        p = bs + 1;
    }
}

void dc_csv_format_header(const dc_colset *c, dc_buf *out)
{
    dc_buf_puts(out, "Scan ID,No. DICOMs in scan");
    for (size_t i = 0; i < c->n; i++) {
        dc_buf_putc(out, ',');
        dc_csv_field(out, c->cols[i].name);
    }
    dc_buf_putc(out, '\n');
}

/* Column of the i-th name of the previous row formatted: files of one kind
 * give their columns in the same order, so a strcmp confirms the column
 * without hashing the name (checked, so never stale). */
static long *pos_hint;
static size_t pos_hint_cap;

static long find_hinted(const dc_colset *c, const char *name, size_t i)
{
    if (i >= pos_hint_cap) {
        size_t cap = pos_hint_cap ? pos_hint_cap : 256;
        while (cap <= i) cap *= 2;
        pos_hint = dc_realloc(pos_hint, cap * sizeof *pos_hint);
        for (size_t k = pos_hint_cap; k < cap; k++) pos_hint[k] = -1;
        pos_hint_cap = cap;
    }
    long h = pos_hint[i];
    if (h >= 0 && (size_t)h < c->n && strcmp(c->cols[h].name, name) == 0) return h;
    return pos_hint[i] = dc_colset_find(c, name);
}

void dc_csv_format_fixed(const char *scan_id, long n_dicoms, dc_buf *out)
{
    dc_csv_field(out, scan_id);
    char d[24], *p = d + sizeof d; /* ",%ld" without the format parser (once per row) */
    unsigned long v = n_dicoms < 0 ? 0UL - (unsigned long)n_dicoms : (unsigned long)n_dicoms;
    do *--p = (char)('0' + v % 10); while (v /= 10);
    if (n_dicoms < 0) *--p = '-';
    *--p = ',';
    dc_buf_append(out, p, (size_t)(d + sizeof d - p));
}

/* Where each of c's columns is in a row: map[j] = the row's column index for
 * c's column j, or -1.  The rows of a series share one column list
 * (dc_row_compact_copy), so the map is kept for the last (list, set) pair,
 * keyed by ids that are never reused (dc_row_cols_id, dc_colset.stamp), and
 * a row of the same list as the previous one looks no name up.  Reused
 * across calls like pos_hint. */
static struct {
    long *map;
    size_t cap;
    uint64_t list_id, set_stamp; /* what map holds; list_id 0: nothing kept */
    size_t missing;              /* the row's columns not in the set */
} col_map;

static const long *map_columns(const dc_colset *c, const dc_row *row, size_t *missing)
{
    uint64_t id = dc_row_cols_id(row);
    if (id && id == col_map.list_id && c->stamp == col_map.set_stamp) {
        *missing = col_map.missing;
        return col_map.map;
    }
    if (col_map.cap < c->n + 1) {
        free(col_map.map);
        col_map.cap = (c->n + 1) * 2;
        col_map.map = dc_malloc(col_map.cap * sizeof *col_map.map);
    }
    for (size_t j = 0; j < c->n; j++) col_map.map[j] = -1;
    size_t miss = 0;
    for (size_t i = 0; i < row->n; i++) {
        long j = find_hinted(c, row->cols[i].name, i);
        if (j < 0)
            miss++;
        else
            col_map.map[j] = (long)i;
    }
    col_map.list_id = id;
    col_map.set_stamp = c->stamp;
    col_map.missing = miss;
    *missing = miss;
    return col_map.map;
}

/* ",value" with the value as a field (NULL: empty) */
static void put_value(dc_buf *out, const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (out->len + n + 2 > out->cap) dc_buf_reserve(out, n + 1); /* (the call only to grow) */
    out->data[out->len++] = ','; /* (terminated by the next append) */
    if (!v) return;
    if (!formula_guard) {
        int f = field_flags(v, n);
        if (f == 0) { /* as is: the common case */
            memcpy(out->data + out->len, v, n);
            out->len += n;
        } else {
            put_field(out, v, n, f);
        }
    } else if (dc_csv_is_formula(v)) {
        dc_buf g;
        dc_buf_init(&g);
        dc_buf_putc(&g, '\'');
        dc_buf_puts(&g, v);
        dc_csv_fieldn(out, g.data, g.len);
        dc_buf_free(&g);
    } else {
        dc_csv_field(out, v);
    }
}

/* The last row formatted from values with tokens (dc_row_val_tokens): its
 * fields as formatted, where each starts, and its tokens.  The next row of
 * the same column list and set takes every field whose value kept its token
 * (or that both rows lack) from here, runs of them in one copy: the files
 * of a series change a few values (UIDs, positions, times) of ~100.  Its
 * own copy, so whatever the caller does with its output does not matter.
 * Reused across calls like col_map. */
static struct {
    int valid;
    uint64_t list_id, set_stamp;
    int guard;                /* formula_guard when formatted */
    dc_buf text;              /* the fields, ",v1,v2,..." */
    size_t *start, cap_start; /* field j at text[start[j] .. start[j + 1]) */
    uint64_t *tok;            /* the row's tokens */
    size_t n_tok, cap_tok;
} last_row;

/* last_row's fields [from, to) appended to out, their starts (offsets
 * from base) into start[] */
static void put_last_fields(dc_buf *out, size_t base, size_t from, size_t to, size_t *start)
{
    if (from >= to) return;
    size_t at = out->len - base, first = last_row.start[from];
    for (size_t k = from; k < to; k++) start[k] = at + last_row.start[k] - first;
    dc_buf_append(out, last_row.text.data + first, last_row.start[to] - first);
}

/* the fields of a row with tokens: unchanged ones from last_row, the others
 * formatted; then last_row becomes this row */
static void put_values_reusing(const dc_colset *c, const dc_row *row, const long *map,
                               const uint64_t *tok, dc_buf *out)
{
    static size_t *start, cap; /* this row's field starts, from base */
    uint64_t id = dc_row_cols_id(row);
    int same = last_row.valid && id && id == last_row.list_id && c->stamp == last_row.set_stamp &&
               last_row.guard == formula_guard && last_row.n_tok == row->n;
    if (cap < c->n + 1) {
        cap = (c->n + 1) * 2;
        start = dc_realloc(start, cap * sizeof *start);
    }
    if (last_row.cap_start < c->n + 1) {
        last_row.cap_start = cap;
        last_row.start = dc_realloc(last_row.start, cap * sizeof *last_row.start);
    }
    size_t base = out->len, run = 0; /* fields [run, j) are last_row's, not appended yet */
    for (size_t j = 0; j < c->n; j++) {
        long m = map[j];
        if (same && (m < 0 || (tok[m] && tok[m] == last_row.tok[m]))) continue;
        put_last_fields(out, base, run, j, start);
        start[j] = out->len - base;
        put_value(out, m >= 0 ? row->vals[m] : NULL);
        run = j + 1;
    }
    put_last_fields(out, base, run, c->n, start);
    start[c->n] = out->len - base;
    /* this row is the next one's last row */
    dc_buf_reset(&last_row.text);
    if (out->len > base) dc_buf_append(&last_row.text, out->data + base, out->len - base);
    memcpy(last_row.start, start, (c->n + 1) * sizeof *start);
    if (last_row.cap_tok < row->n) {
        last_row.cap_tok = row->n * 2;
        last_row.tok = dc_realloc(last_row.tok, last_row.cap_tok * sizeof *last_row.tok);
    }
    memcpy(last_row.tok, tok, row->n * sizeof *tok);
    last_row.n_tok = row->n;
    last_row.list_id = id;
    last_row.set_stamp = c->stamp;
    last_row.guard = formula_guard;
    last_row.valid = id != 0;
}

size_t dc_csv_format_values(const dc_colset *c, const dc_row *row, dc_buf *out)
{
    size_t missing;
    const long *map = map_columns(c, row, &missing);
    const uint64_t *tok = row->vals ? dc_row_val_tokens(row) : NULL;
    if (tok) {
        put_values_reusing(c, row, map, tok, out);
    } else {
        for (size_t j = 0; j < c->n; j++)
            put_value(out, map[j] >= 0 && row->vals ? row->vals[map[j]] : NULL);
    }
    dc_buf_putc(out, '\n');
    return missing;
}

size_t dc_csv_format_row(const dc_colset *c, const char *scan_id, long n_dicoms, const dc_row *row,
                         dc_buf *out)
{
    dc_csv_format_fixed(scan_id, n_dicoms, out);
    return dc_csv_format_values(c, row, out);
}

int dc_csv_remap_row(const dc_colset *c, const dc_strvec *old_names, dc_buf *row)
{
    dc_strvec f;
    dc_strvec_init(&f);
    long used = dc_csv_parse_record(row->data ? row->data : "", row->len, &f);
    if (used <= 0 || (size_t)used != row->len || f.n < 2) {
        dc_strvec_free(&f);
        return -1;
    }
    const char **vals = dc_calloc(c->n + 2, sizeof *vals);
    vals[0] = f.v[0];
    vals[1] = f.v[1];
    for (size_t i = 2; i < f.n && i - 2 < old_names->n; i++) {
        long j = dc_colset_find(c, old_names->v[i - 2]);
        if (j >= 0) vals[j + 2] = f.v[i];
    }
    dc_buf out;
    dc_buf_init(&out);
    for (size_t i = 0; i < c->n + 2; i++) {
        if (i) dc_buf_putc(&out, ',');
        if (vals[i]) dc_csv_field(&out, vals[i]);
    }
    dc_buf_putc(&out, '\n');
    free(vals);
    dc_strvec_free(&f);
    dc_buf_free(row);
    *row = out;
    return 0;
}
