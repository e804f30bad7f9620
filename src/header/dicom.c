/*
 * dicom.c - dcmcrawl's own DICOM parser (see dc_dicom.h for the data model).
 *
 * How the pieces fit:
 *   source    one open + fstat, one read of the first 64 KiB into ds->buf;
 *             further bytes are appended only when an element needs them
 *             (ensure()).  Parsing positions are "virtual file" offsets; the
 *             buffer maps them through one segment shift, which changes when a
 *             large value (pixel data, big bulk binary) is skipped without
 *             being read (skip_value()).  dc_parse_memory uses the same code
 *             with memcpy instead of pread.  Deflated files are inflated into
 *             the buffer once and then parsed from memory only.
 *   detect    "DICM" at 128, or a plausible first element without preamble.
 *   meta      group 0002, explicit VR little endian, gives the transfer syntax.
 *   dataset   parse_level() reads the elements of one dataset level (top
 *             level or one sequence item) and parse_sequence() the items of a
 *             sequence; both recurse with a depth bound.  Elements go into one
 *             flat array in file order (no per-element malloc).
 *   fixups    after parsing, VRs that depend on context (US or SS by
 *             PixelRepresentation, LUTData US or OW) are resolved as pydicom
 *             does.
 *   getters   dc_find*, dc_get_*, dc_tag_* read values from the buffer,
 *             swapping big endian numbers.
 *
 * Every declared length is checked against the bytes left and the limits in
 * dc_parse_opts before it is used; errors are short messages without the path.
 */
#include "dc_dicom.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dc_charset.h"
#include "dc_dict.h"

/* First read: 16 KiB holds a typical CT/MR header; reading 64 KiB from the
 * page cache cost ~1.5x more per file (measured with dcdump --bench). */
#define FIRST_READ DC_PARSE_FIRST_READ
#define READ_AHEAD (64 * 1024)
/* bulk binary values this large that are not yet in the buffer are skipped */
#define SKIP_BULK_MIN (256 * 1024)
#define MAX_CREATORS 512 /* Private Creator elements remembered per dataset level */
#define MAX_FRAGMENTS (4u << 20)
#define UNDEF 0xFFFFFFFFu
#define MAX_BUF 0xFFFFFF00u /* element offsets into the buffer are 32-bit */

typedef struct {
    uint16_t group;
    uint8_t block;
    int32_t idx;
} creator_ref;

typedef struct {
    dc_dataset *ds;
    const dc_parse_opts *o;
    char *err;
    size_t errlen;
    /* source: fd >= 0, or mem; all_in_buf once everything is in ds->buf */
    int fd;
    const uint8_t *mem;
    uint64_t v_size;    /* size of the virtual file being parsed */
    uint64_t seg_shift; /* buffer offset = virtual offset - seg_shift (current segment) */
    uint64_t seg_start; /* first virtual offset of the current segment */
    int all_in_buf;
    int big;            /* dataset is big endian */
    uint64_t pos;       /* parsing position (virtual offset) */
    creator_ref *cre;
    size_t n_cre, cap_cre;
    size_t n_ambig; /* elements with DC_EL_VR_AMBIG (fix_ambiguous has work) */
} parser;

/* ------------------------------------------------------------------ */
/* small helpers                                                       */
/* ------------------------------------------------------------------ */

static int fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser *p, const char *fmt, ...)
{
    if (p->err && p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
    }
    return DC_PARSE_ERROR;
}

static inline uint16_t rd16(const uint8_t *b, int big)
{
    return big ? (uint16_t)(b[0] << 8 | b[1]) : (uint16_t)(b[1] << 8 | b[0]);
}

static inline uint32_t rd32(const uint8_t *b, int big)
{
    if (big) return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static uint64_t rd64(const uint8_t *b, int big)
{
    uint64_t hi = rd32(b + (big ? 0 : 4), big), lo = rd32(b + (big ? 4 : 0), big);
    return hi << 32 | lo;
}

static inline uint32_t rd_tag(const uint8_t *b, int big)
{
    return DC_TAG(rd16(b, big), rd16(b + 2, big));
}

static int is_upper(uint8_t c)
{
    return c >= 'A' && c <= 'Z';
}

static int vr_chars_ok(const uint8_t *b)
{
    return is_upper(b[0]) && is_upper(b[1]);
}

/* VRs with the 2 reserved bytes + 4-byte length in explicit VR (a switch:
 * fewer instructions than a bit table, measured) */
static inline int long_length(uint16_t vr)
{
    switch (vr) {
    case DC_VR('O', 'B'): case DC_VR('O', 'W'): case DC_VR('O', 'F'): case DC_VR('O', 'D'):
    case DC_VR('O', 'L'): case DC_VR('O', 'V'): case DC_VR('S', 'Q'): case DC_VR('U', 'T'):
    case DC_VR('U', 'N'): case DC_VR('U', 'C'): case DC_VR('U', 'R'): case DC_VR('S', 'V'):
    case DC_VR('U', 'V'):
        return 1;
    default:
        return 0;
    }
}

int dc_vr_has_long_length(uint16_t vr)
{
    return long_length(vr);
}

int dc_vr_is_text(uint16_t vr)
{
    switch (vr) {
    case DC_VR('A', 'E'): case DC_VR('A', 'S'): case DC_VR('C', 'S'): case DC_VR('D', 'A'):
    case DC_VR('D', 'S'): case DC_VR('D', 'T'): case DC_VR('I', 'S'): case DC_VR('L', 'O'):
    case DC_VR('L', 'T'): case DC_VR('P', 'N'): case DC_VR('S', 'H'): case DC_VR('S', 'T'):
    case DC_VR('T', 'M'): case DC_VR('U', 'C'): case DC_VR('U', 'I'): case DC_VR('U', 'R'):
    case DC_VR('U', 'T'):
        return 1;
    default:
        return 0;
    }
}

int dc_vr_is_charset_text(uint16_t vr)
{
    switch (vr) {
    case DC_VR('S', 'H'): case DC_VR('L', 'O'): case DC_VR('S', 'T'): case DC_VR('L', 'T'):
    case DC_VR('P', 'N'): case DC_VR('U', 'C'): case DC_VR('U', 'T'):
        return 1;
    default:
        return 0;
    }
}

int dc_vr_is_binary_bulk(uint16_t vr)
{
    switch (vr) {
    case DC_VR('O', 'B'): case DC_VR('O', 'W'): case DC_VR('O', 'D'): case DC_VR('O', 'F'):
    case DC_VR('O', 'L'): case DC_VR('O', 'V'): case DC_VR('U', 'N'):
        return 1;
    default:
        return 0;
    }
}

/* size of one binary number, 0 for other VRs */
static int vr_num_size(uint16_t vr)
{
    switch (vr) {
    case DC_VR('U', 'S'): case DC_VR('S', 'S'):
        return 2;
    case DC_VR('U', 'L'): case DC_VR('S', 'L'): case DC_VR('F', 'L'): case DC_VR('A', 'T'):
        return 4;
    case DC_VR('F', 'D'): case DC_VR('S', 'V'): case DC_VR('U', 'V'):
        return 8;
    default:
        return 0;
    }
}

static int is_pixel_tag(uint32_t tag)
{
    return tag == DC_TAG_PIXEL_DATA || tag == DC_TAG_FLOAT_PIXEL_DATA || tag == DC_TAG_DOUBLE_PIXEL_DATA;
}

const char *dc_ts_name(int ts)
{
    switch (ts) {
    case DC_TS_IMPLICIT_LE: return "implicit VR little endian";
    case DC_TS_EXPLICIT_LE: return "explicit VR little endian";
    case DC_TS_DEFLATED_LE: return "deflated explicit VR little endian";
    case DC_TS_EXPLICIT_BE: return "explicit VR big endian";
    case DC_TS_ENCAPSULATED: return "encapsulated";
    default: return "unknown";
    }
}

/* ------------------------------------------------------------------ */
/* dataset lifetime                                                    */
/* ------------------------------------------------------------------ */

static uint64_t inflate_limit; /* dc_parse_set_inflate_limit; 0: the default */

void dc_parse_set_inflate_limit(uint64_t bytes)
{
    inflate_limit = bytes;
}

void dc_parse_opts_default(dc_parse_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_value_len = 256u << 20;
    o->max_pixel_bytes = 4ull << 30;
    o->max_depth = 12;
    o->max_elements = 200000;
    o->max_inflated_bytes = inflate_limit ? inflate_limit : o->max_pixel_bytes + o->max_value_len;
}

void dc_dataset_init(dc_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    ds->fd = -1;
    ds->top_sorted = 1;
}

void dc_dataset_close_file(dc_dataset *ds)
{
    if (ds->fd >= 0) close(ds->fd);
    ds->fd = -1;
}

void dc_dataset_clear(dc_dataset *ds)
{
    dc_dataset_close_file(ds);
    ds->buf_len = 0;
    ds->n_el = 0;
    ds->n_top = 0;
    ds->top_sorted = 1;
    ds->has_preamble = 0;
    ds->ts_uid[0] = '\0';
    ds->ts = DC_TS_UNKNOWN;
    ds->media_sop_class[0] = '\0';
    uint32_t *bot = ds->pixel.bot;
    dc_fragment *frags = ds->pixel.frags;
    size_t bot_cap = ds->pixel.bot_cap, frags_cap = ds->pixel.frags_cap;
    memset(&ds->pixel, 0, sizeof ds->pixel);
    ds->pixel.bot = bot;
    ds->pixel.frags = frags;
    ds->pixel.bot_cap = bot_cap;
    ds->pixel.frags_cap = frags_cap;
    ds->file_size = 0;
    memset(&ds->stat, 0, sizeof ds->stat);
    ds->bytes_read = 0;
    if (ds->path) ds->path[0] = '\0';
    ds->mem = NULL;
    ds->mem_len = 0;
}

void dc_dataset_free(dc_dataset *ds)
{
    dc_dataset_close_file(ds);
    free(ds->buf);
    free(ds->el);
    free(ds->top);
    free(ds->pixel.bot);
    free(ds->pixel.frags);
    free(ds->path);
    dc_dataset_init(ds);
}

static void set_path(dc_dataset *ds, const char *path)
{
    size_t n = strlen(path) + 1;
    if (n > ds->path_cap) {
        free(ds->path);
        ds->path = dc_malloc(n);
        ds->path_cap = n;
    }
    memcpy(ds->path, path, n);
}

/* ------------------------------------------------------------------ */
/* source and buffer                                                   */
/* ------------------------------------------------------------------ */

static void buf_reserve(dc_dataset *ds, size_t need)
{
    if (need <= ds->buf_cap) return;
    size_t cap = ds->buf_cap ? ds->buf_cap : FIRST_READ;
    while (cap < need) cap *= 2;
    ds->buf = dc_realloc(ds->buf, cap);
    ds->buf_cap = cap;
}

/* read exactly n bytes at virtual offset off of the source into dst */
static int src_read(parser *p, uint64_t off, uint8_t *dst, size_t n)
{
    if (off > p->v_size || n > p->v_size - off) return -1;
    if (p->mem) {
        memcpy(dst, p->mem + off, n);
        return 0;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(p->fd, dst + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    p->ds->bytes_read += n;
    return 0;
}

/* make [off, off+n) of the virtual file available in ds->buf; -1 if beyond the end */
static int ensure(parser *p, uint64_t off, uint64_t n)
{
    dc_dataset *ds = p->ds;
    if (off < p->seg_start) return -1;
    uint64_t b = off - p->seg_shift;
    if (n <= ds->buf_len && b <= ds->buf_len - n) return 0;
    if (p->all_in_buf) return -1;
    uint64_t end_b = p->v_size - p->seg_shift; /* buffer offset of the end of the file */
    if (b > end_b || n > end_b - b) return -1;
    uint64_t want = b + n;
    if (want > MAX_BUF) return -1;
    /* after the first read, read ahead: at least READ_AHEAD, or double */
    uint64_t ahead = ds->buf_len < READ_AHEAD ? READ_AHEAD : ds->buf_len;
    if (ds->buf_len && want < ds->buf_len + ahead) want = ds->buf_len + ahead;
    if (want > end_b) want = end_b;
    if (want > MAX_BUF) want = MAX_BUF;
    buf_reserve(ds, (size_t)want);
    if (src_read(p, ds->buf_len + p->seg_shift, ds->buf + ds->buf_len, (size_t)(want - ds->buf_len)) < 0)
        return -1;
    ds->buf_len = (size_t)want;
    return 0;
}

static const uint8_t *at(parser *p, uint64_t off)
{
    return p->ds->buf + (off - p->seg_shift);
}

/* the value [off, off+len) will not be read: start a new segment after it when
 * its bytes are not all in the buffer already */
static void skip_value(parser *p, uint64_t off, uint64_t len)
{
    dc_dataset *ds = p->ds;
    uint64_t b = off - p->seg_shift;
    p->pos = off + len;
    if (p->all_in_buf || b + len <= ds->buf_len) return;
    if (b < ds->buf_len) ds->buf_len = (size_t)b;
    p->seg_shift = off + len - ds->buf_len;
    p->seg_start = off + len;
}

static int truncated(parser *p, uint64_t off)
{
    return fail(p, "truncated header at offset %llu", (unsigned long long)off);
}

/* ------------------------------------------------------------------ */
/* elements                                                            */
/* ------------------------------------------------------------------ */

static inline __attribute__((always_inline)) int push_el(parser *p, dc_elem **out)
{
    dc_dataset *ds = p->ds;
    *out = NULL;
    if (ds->n_el >= p->o->max_elements) return fail(p, "more than %u elements", (unsigned)p->o->max_elements);
    if (ds->n_el == ds->cap_el) {
        size_t cap = ds->cap_el ? ds->cap_el * 2 : 256;
        ds->el = dc_realloc(ds->el, cap * sizeof *ds->el);
        ds->cap_el = cap;
    }
    *out = &ds->el[ds->n_el++];
    memset(*out, 0, sizeof **out);
    return 0;
}

/* per dataset level state */
typedef struct {
    int implicit;
    int depth;
    int32_t parent, item;
    int32_t charset;
    size_t cre_start; /* first creator_ref of this level */
} level;

static void add_creator(parser *p, const level *lv, uint32_t tag, int32_t idx)
{
    if (p->n_cre - lv->cre_start >= MAX_CREATORS) return;
    if (p->n_cre == p->cap_cre) {
        p->cap_cre = p->cap_cre ? p->cap_cre * 2 : 32;
        p->cre = dc_realloc(p->cre, p->cap_cre * sizeof *p->cre);
    }
    creator_ref *c = &p->cre[p->n_cre++];
    c->group = DC_TAG_GROUP(tag);
    c->block = (uint8_t)DC_TAG_ELEM(tag);
    c->idx = idx;
}

/* private data element (gggg odd, element xxyy with xx >= 0x10): its creator */
static int32_t find_creator(const parser *p, const level *lv, uint32_t tag)
{
    uint16_t g = DC_TAG_GROUP(tag);
    uint8_t block = (uint8_t)(DC_TAG_ELEM(tag) >> 8);
    for (size_t i = p->n_cre; i > lv->cre_start; i--) {
        const creator_ref *c = &p->cre[i - 1];
        if (c->group == g && c->block == block) return c->idx;
    }
    return -1;
}

static int is_private_group(uint32_t tag)
{
    return (DC_TAG_GROUP(tag) & 1) != 0; /* as pydicom's Tag.is_private */
}

static int is_private_creator_tag(uint32_t tag)
{
    uint16_t e = DC_TAG_ELEM(tag);
    return is_private_group(tag) && e >= 0x0010 && e <= 0x00FF;
}

/* trimmed creator string of element idx into out */
static void creator_string(const dc_dataset *ds, int32_t idx, char *out, size_t outlen)
{
    out[0] = '\0';
    if (idx < 0) return;
    const dc_elem *e = &ds->el[idx];
    const char *s = (const char *)ds->buf + e->val;
    size_t n = e->len;
    dc_trim(&s, &n, 1);
    if (n >= outlen) n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Dictionary entry for a tag at this level (private tags via their creator). */
static const dc_dict_entry *lookup(parser *p, const level *lv, uint32_t tag, int32_t *creator)
{
    *creator = -1;
    if (!is_private_group(tag)) return dc_dict_find(tag);
    if (DC_TAG_ELEM(tag) < 0x1000) return NULL;
    *creator = find_creator(p, lv, tag);
    if (*creator < 0) return NULL;
    char cs[72];
    creator_string(p->ds, *creator, cs, sizeof cs);
    const dc_dict_entry *d = dc_dict_find_private(tag, cs);
    return d && !(d->flags & DC_DICT_NOT_PYDICOM) ? d : NULL; /* VRs as pydicom knows them */
}

/* VR of an element without an explicit VR (as pydicom: dictionary, private
 * creator LO, group length UL, else UN) */
static uint16_t implicit_vr(parser *p, const level *lv, uint32_t tag, int32_t *creator, uint16_t *dflags)
{
    *dflags = 0;
    if (is_private_creator_tag(tag)) {
        *creator = -1;
        return DC_VR('L', 'O');
    }
    const dc_dict_entry *d = lookup(p, lv, tag, creator);
    if (d && d->vr != DC_VR('?', '?')) {
        *dflags = d->flags;
        return d->vr;
    }
    if (DC_TAG_ELEM(tag) == 0 && !is_private_group(tag)) return DC_VR('U', 'L');
    return DC_VR('U', 'N');
}

/* ------------------------------------------------------------------ */
/* dataset parsing                                                     */
/* ------------------------------------------------------------------ */

typedef struct {
    uint32_t tag;
    uint16_t vr;
    uint32_t len;
    int implicit; /* this element had no explicit VR */
    uint64_t hdr; /* offset of the element */
    uint64_t val; /* offset of the value */
} el_header;

static int parse_level(parser *p, level *lv, uint64_t end, int undefined);

/* read an element header at p->pos (any case: the header may need reading) */
__attribute__((noinline)) static int read_header_slow(parser *p, const level *lv, el_header *h)
{
    uint64_t off = p->pos;
    const uint8_t *b;
    /* the common case: the longest header (12 bytes) is in the buffer */
    int fast = off >= p->seg_start && off - p->seg_shift + 12 <= p->ds->buf_len;
    if (fast)
        b = p->ds->buf + (off - p->seg_shift);
    else if (ensure(p, off, 8) < 0)
        return truncated(p, off);
    else
        b = at(p, off);
    h->hdr = off;
    h->tag = rd_tag(b, p->big);
    h->implicit = lv->implicit || !vr_chars_ok(b + 4);
    if (DC_TAG_GROUP(h->tag) == 0xFFFE) h->implicit = 1; /* items and delimiters have no VR */
    if (h->implicit) {
        h->vr = 0;
        h->len = rd32(b + 4, p->big);
        h->val = off + 8;
        return 0;
    }
    h->vr = DC_VR(b[4], b[5]);
    if (!long_length(h->vr)) {
        h->len = rd16(b + 6, p->big);
        h->val = off + 8;
        return 0;
    }
    if (!fast) {
        if (ensure(p, off, 12) < 0) return truncated(p, off);
        b = at(p, off);
    }
    h->len = rd32(b + 8, p->big);
    h->val = off + 12;
    return 0;
}

/* read_header_slow's common case inline: a little endian explicit VR
 * header with a 2-byte length, all 12 bytes in the buffer (same result) */
static inline int read_header(parser *p, const level *lv, el_header *h)
{
    uint64_t off = p->pos;
    if (p->big || lv->implicit || off < p->seg_start || off - p->seg_shift + 12 > p->ds->buf_len)
        return read_header_slow(p, lv, h);
    const uint8_t *b = p->ds->buf + (off - p->seg_shift);
    uint32_t tag = rd_tag(b, 0);
    uint16_t vr = DC_VR(b[4], b[5]);
    if (!vr_chars_ok(b + 4) || DC_TAG_GROUP(tag) == 0xFFFE || long_length(vr))
        return read_header_slow(p, lv, h);
    h->hdr = off;
    h->tag = tag;
    h->implicit = 0;
    h->vr = vr;
    h->len = rd16(b + 6, 0);
    h->val = off + 8;
    return 0;
}

/* remember a top-level element for dc_find */
static inline __attribute__((always_inline)) void push_top(dc_dataset *ds, int32_t idx)
{
    if (ds->n_top == ds->cap_top) {
        ds->cap_top = ds->cap_top ? ds->cap_top * 2 : 256;
        ds->top = dc_realloc(ds->top, ds->cap_top * sizeof *ds->top);
    }
    if (ds->n_top && ds->el[ds->top[ds->n_top - 1]].tag >= ds->el[idx].tag) ds->top_sorted = 0;
    ds->top[ds->n_top++] = idx;
}

static inline __attribute__((always_inline)) int new_element(parser *p, const level *lv, const el_header *h, dc_elem **out)
{
    if (push_el(p, out) < 0) return DC_PARSE_ERROR;
    dc_elem *e = *out;
    e->tag = h->tag;
    e->vr = h->vr;
    e->depth = (uint8_t)lv->depth;
    e->flags = p->big ? DC_EL_BIGENDIAN : 0;
    e->len = h->len;
    e->parent = lv->parent;
    e->item = lv->item;
    e->creator = -1;
    e->charset = lv->charset;
    if (lv->depth == 0) push_top(p->ds, (int32_t)(p->ds->n_el - 1));
    return 0;
}

static inline __attribute__((always_inline)) int check_len(parser *p, const el_header *h)
{
    if (h->len > p->v_size || h->val + h->len > p->v_size)
        return fail(p, "element (%04X,%04X) length %u exceeds file size", DC_TAG_GROUP(h->tag),
                    DC_TAG_ELEM(h->tag), h->len);
    if (h->len > p->o->max_value_len)
        return fail(p, "element (%04X,%04X) length %u exceeds limit", DC_TAG_GROUP(h->tag),
                    DC_TAG_ELEM(h->tag), h->len);
    return 0;
}

/* items of a sequence whose value starts at p->pos */
static int parse_sequence(parser *p, const level *lv, int32_t sq_idx, int implicit, uint32_t len)
{
    int undefined = len == UNDEF;
    uint64_t end = undefined ? p->v_size : p->pos + len;
    uint32_t items = 0;
    if ((uint32_t)lv->depth + 1 > p->o->max_depth || lv->depth + 1 > 255)
        return fail(p, "sequence nesting deeper than %u", (unsigned)p->o->max_depth);
    for (;;) {
        if (!undefined && p->pos >= end) break;
        uint64_t off = p->pos;
        if (ensure(p, off, 8) < 0) return truncated(p, off);
        const uint8_t *b = at(p, off);
        uint32_t tag = rd_tag(b, p->big), ilen = rd32(b + 4, p->big);
        p->pos = off + 8;
        if (tag == DC_TAG_SEQ_END) break;
        if (tag != DC_TAG_ITEM)
            return fail(p, "expected item tag at offset %llu, found (%04X,%04X)", (unsigned long long)off,
                        DC_TAG_GROUP(tag), DC_TAG_ELEM(tag));
        if (ilen != UNDEF && p->pos + ilen > p->v_size)
            return fail(p, "item length %u at offset %llu exceeds file size", ilen, (unsigned long long)off);
        if (ilen != UNDEF && p->pos + ilen > end)
            return fail(p, "item length %u at offset %llu exceeds its sequence", ilen, (unsigned long long)off);
        level in = {implicit, lv->depth + 1, sq_idx, (int32_t)items, lv->charset, p->n_cre};
        int rc = parse_level(p, &in, ilen == UNDEF ? p->v_size : p->pos + ilen, ilen == UNDEF);
        p->n_cre = in.cre_start;
        if (rc != DC_PARSE_OK) return rc;
        items++;
    }
    if (!undefined && p->pos != end)
        return fail(p, "sequence (%04X,%04X) items overrun its length", DC_TAG_GROUP(p->ds->el[sq_idx].tag),
                    DC_TAG_ELEM(p->ds->el[sq_idx].tag));
    p->ds->el[sq_idx].len = items;
    p->ds->el[sq_idx].val = (uint32_t)p->ds->n_el; /* SQ: index just past its subtree */
    return DC_PARSE_OK;
}

/* an undefined length value that is not a sequence (encapsulated data nested
 * in an item): walk its items up to the sequence delimiter, loading them */
static int load_undefined_value(parser *p, dc_elem *e, uint64_t val)
{
    uint64_t off = val;
    for (;;) {
        if (ensure(p, off, 8) < 0) return truncated(p, off);
        const uint8_t *b = at(p, off);
        uint32_t tag = rd_tag(b, p->big), ilen = rd32(b + 4, p->big);
        if (tag == DC_TAG_SEQ_END) break;
        if (tag != DC_TAG_ITEM || ilen == UNDEF)
            return fail(p, "bad item in undefined length value of (%04X,%04X) at offset %llu",
                        DC_TAG_GROUP(e->tag), DC_TAG_ELEM(e->tag), (unsigned long long)off);
        if (ensure(p, off + 8, ilen) < 0)
            return fail(p, "element (%04X,%04X) length %u exceeds file size", DC_TAG_GROUP(e->tag),
                        DC_TAG_ELEM(e->tag), ilen);
        off += 8 + (uint64_t)ilen;
        if (off - val > p->o->max_value_len)
            return fail(p, "element (%04X,%04X) length exceeds limit", DC_TAG_GROUP(e->tag), DC_TAG_ELEM(e->tag));
    }
    e->len = (uint32_t)(off - val);
    e->val = (uint32_t)(val - p->seg_shift);
    e->flags |= DC_EL_UNDEF_LEN;
    p->pos = off + 8;
    return DC_PARSE_OK;
}

static void grow_frags(dc_pixel_loc *px)
{
    if (px->n_frags < px->frags_cap) return;
    px->frags_cap = px->frags_cap ? px->frags_cap * 2 : 16;
    px->frags = dc_realloc(px->frags, px->frags_cap * sizeof *px->frags);
}

/* read the 8-byte item header at virtual offset off without loading values */
static int item_header(parser *p, uint64_t off, uint32_t *tag, uint32_t *len)
{
    uint8_t tmp[8];
    const uint8_t *b;
    uint64_t bo = off - p->seg_shift;
    if (off >= p->seg_start && bo + 8 <= p->ds->buf_len)
        b = p->ds->buf + bo;
    else if (!p->all_in_buf && src_read(p, off, tmp, 8) == 0)
        b = tmp;
    else
        return -1;
    *tag = rd_tag(b, 0);
    *len = rd32(b + 4, 0);
    return 0;
}

static int read_bot(parser *p, uint64_t off, uint32_t len)
{
    dc_pixel_loc *px = &p->ds->pixel;
    if (len % 4) return fail(p, "basic offset table length %u is not a multiple of 4", len);
    size_t n = len / 4;
    if (n > px->bot_cap) {
        free(px->bot);
        px->bot = dc_malloc(n * sizeof *px->bot);
        px->bot_cap = n;
    }
    px->n_bot = 0;
    if (n == 0) return 0;
    uint8_t *raw = (uint8_t *)px->bot; /* read the bytes in place, then convert */
    uint64_t bo = off - p->seg_shift;
    if (off >= p->seg_start && bo + len <= p->ds->buf_len)
        memcpy(raw, p->ds->buf + bo, len);
    else if (p->all_in_buf || src_read(p, off, raw, len) < 0)
        return fail(p, "truncated basic offset table at offset %llu", (unsigned long long)off);
    for (size_t i = 0; i < n; i++) px->bot[i] = rd32(raw + 4 * i, 0);
    px->n_bot = n;
    return 0;
}

/* walk the items of encapsulated pixel data starting at virtual offset off;
 * on success *end is the offset after the sequence delimiter */
static int walk_fragments(parser *p, uint64_t off, uint64_t *end)
{
    dc_pixel_loc *px = &p->ds->pixel;
    uint64_t total = 0;
    int first = 1;
    px->n_bot = 0;
    px->n_frags = 0;
    for (;;) {
        uint32_t tag, len;
        if (item_header(p, off, &tag, &len) < 0) return fail(p, "truncated pixel data at offset %llu", (unsigned long long)off);
        if (tag == DC_TAG_SEQ_END) break;
        if (tag != DC_TAG_ITEM || len == UNDEF)
            return fail(p, "bad pixel data item at offset %llu", (unsigned long long)off);
        if (off + 8 + len > p->v_size) return fail(p, "truncated pixel data at offset %llu", (unsigned long long)off);
        if (first) {
            if (read_bot(p, off + 8, len) < 0) return DC_PARSE_ERROR;
            first = 0;
        } else {
            if (px->n_frags >= MAX_FRAGMENTS) return fail(p, "more than %u pixel data fragments", MAX_FRAGMENTS);
            grow_frags(px);
            px->frags[px->n_frags].off = off + 8;
            px->frags[px->n_frags].len = len;
            px->n_frags++;
            total += len;
            if (total > p->o->max_pixel_bytes) return fail(p, "pixel data exceeds limit");
        }
        off += 8 + (uint64_t)len;
    }
    px->len = total;
    px->walked = 1;
    *end = off + 8;
    return DC_PARSE_OK;
}

static void note_pixel(parser *p, dc_elem *e, const el_header *h, int encapsulated)
{
    dc_pixel_loc *px = &p->ds->pixel;
    if (px->present && !(h->tag == DC_TAG_PIXEL_DATA && px->tag != DC_TAG_PIXEL_DATA)) return;
    px->present = 1;
    px->tag = h->tag;
    px->vr = e->vr;
    px->encapsulated = encapsulated;
    px->in_buf = p->all_in_buf;
    px->off = p->all_in_buf ? h->val - p->seg_shift : h->val;
    px->len = encapsulated ? 0 : h->len;
    px->truncated = !encapsulated && h->val + h->len > p->v_size;
    px->walked = 0;
    px->n_bot = px->n_frags = 0;
}

/* top-level pixel data: record where it is, never load it */
static int handle_pixel(parser *p, const level *lv, const el_header *h, dc_elem *e, int *stop)
{
    e->flags |= DC_EL_SKIPPED;
    if (h->len != UNDEF) {
        if (h->len > p->o->max_pixel_bytes) return fail(p, "pixel data length %u exceeds limit", h->len);
        note_pixel(p, e, h, 0);
        if (p->all_in_buf && h->val + h->len <= p->v_size) {
            e->val = (uint32_t)(h->val - p->seg_shift);
            e->flags &= (uint8_t)~DC_EL_SKIPPED;
        }
        if (h->val + h->len >= p->v_size) {
            *stop = 1;
            return DC_PARSE_OK;
        }
        skip_value(p, h->val, h->len);
        return DC_PARSE_OK;
    }
    e->flags |= DC_EL_UNDEF_LEN;
    note_pixel(p, e, h, 1);
    if (!p->o->walk_fragments || p->ds->pixel.tag != h->tag) {
        *stop = 1;
        return DC_PARSE_OK;
    }
    uint64_t end;
    if (walk_fragments(p, h->val, &end) != DC_PARSE_OK) return DC_PARSE_ERROR;
    if (p->all_in_buf) {
        e->val = (uint32_t)(h->val - p->seg_shift);
        e->flags &= (uint8_t)~DC_EL_SKIPPED;
    }
    skip_value(p, h->val, end - h->val);
    (void)lv;
    return DC_PARSE_OK;
}

/* explicit UN: the dictionary VR when known (pydicom's replace_un_with_known_vr) */
static void resolve_un(parser *p, const level *lv, el_header *h, dc_elem *e)
{
    int32_t creator;
    if (is_private_creator_tag(h->tag)) {
        e->vr = DC_VR('L', 'O');
        e->flags |= DC_EL_VR_FROM_DICT;
        return;
    }
    const dc_dict_entry *d = lookup(p, lv, h->tag, &creator);
    e->creator = creator;
    if (!d || d->vr == DC_VR('?', '?') || d->vr == DC_VR('U', 'N')) return;
    if (!is_private_group(h->tag) && h->len != UNDEF && h->len >= 0xFFFF) return;
    e->vr = d->vr;
    e->flags |= DC_EL_VR_FROM_DICT;
    if (d->flags & (DC_DICT_XS | DC_DICT_OBOW)) {
        e->flags |= DC_EL_VR_AMBIG;
        p->n_ambig++;
    }
}

/* peek: does an undefined length value of unknown VR start with an item? */
static int starts_with_item(parser *p, uint64_t off)
{
    if (ensure(p, off, 4) < 0) return 0;
    return rd_tag(at(p, off), p->big) == DC_TAG_ITEM;
}

/* undefined length, not SQ: explicit UN is a sequence (PS3.5 6.2.2); without
 * an explicit VR, private and unknown tags are when they start with an item */
static int undefined_is_sequence(parser *p, const el_header *h, const dc_elem *e)
{
    if (!h->implicit) return e->vr == DC_VR('U', 'N');
    if (!is_private_group(h->tag) && e->vr != DC_VR('U', 'N')) return 0;
    return starts_with_item(p, h->val);
}

/* value of a non-sequence element with a defined length */
static inline __attribute__((always_inline)) int handle_value(parser *p, const el_header *h, dc_elem *e)
{
    if (check_len(p, h) < 0) return DC_PARSE_ERROR;
    uint64_t bo = h->val - p->seg_shift;
    int in_buf = bo + h->len <= p->ds->buf_len;
    if (!in_buf && !p->all_in_buf && h->len >= SKIP_BULK_MIN && dc_vr_is_binary_bulk(e->vr)) {
        e->flags |= DC_EL_SKIPPED;
        skip_value(p, h->val, h->len);
        return DC_PARSE_OK;
    }
    if (!(in_buf && h->val >= p->seg_start) && ensure(p, h->val, h->len) < 0)
        return truncated(p, h->hdr);
    e->val = (uint32_t)(h->val - p->seg_shift);
    p->pos = h->val + h->len;
    return DC_PARSE_OK;
}

static int parse_element(parser *p, level *lv, const el_header *h0, int *stop)
{
    el_header h = *h0;
    dc_elem *e = NULL;
    int32_t idx = (int32_t)p->ds->n_el;
    if (new_element(p, lv, &h, &e) < 0) return DC_PARSE_ERROR;
    if (h.implicit) {
        uint16_t dflags;
        e->vr = implicit_vr(p, lv, h.tag, &e->creator, &dflags);
        e->flags |= DC_EL_VR_FROM_DICT;
        if (dflags & (DC_DICT_XS | DC_DICT_OBOW)) {
            e->flags |= DC_EL_VR_AMBIG;
            p->n_ambig++;
        }
    } else if (e->vr == DC_VR('U', 'N') && h.len != UNDEF) {
        resolve_un(p, lv, &h, e);
    }
    if (is_private_group(h.tag) && DC_TAG_ELEM(h.tag) >= 0x1000 && e->creator < 0)
        e->creator = find_creator(p, lv, h.tag);
    if (lv->depth == 0 && is_pixel_tag(h.tag)) return handle_pixel(p, lv, &h, e, stop);
    if (h.len == UNDEF && e->vr != DC_VR('S', 'Q') && undefined_is_sequence(p, &h, e)) e->vr = DC_VR('S', 'Q');
    if (e->vr == DC_VR('S', 'Q')) {
        if (h.len == UNDEF)
            e->flags |= DC_EL_UNDEF_LEN;
        else if (h.val + h.len > p->v_size)
            return fail(p, "element (%04X,%04X) length %u exceeds file size", DC_TAG_GROUP(h.tag),
                        DC_TAG_ELEM(h.tag), h.len);
        p->pos = h.val;
        /* items inherit the encoding; explicit items may still turn out implicit */
        return parse_sequence(p, lv, idx, lv->implicit, h.len);
    }
    if (h.len == UNDEF) return load_undefined_value(p, e, h.val);
    int rc = handle_value(p, &h, e);
    if (rc != DC_PARSE_OK) return rc;
    e = &p->ds->el[idx];
    if (is_private_creator_tag(h.tag)) add_creator(p, lv, h.tag, idx);
    if (h.tag == DC_TAG_SPECIFIC_CHARSET) {
        lv->charset = idx;
        e->charset = idx;
    }
    return DC_PARSE_OK;
}

/* parse_element's common case, inline: an explicit VR with a 2-byte length
 * (never a sequence, UN or undefined length), in an even group, not pixel
 * data at the top level -- exactly what parse_element does for it */
static inline int is_plain_element(const level *lv, const el_header *h)
{
    return !h->implicit && !long_length(h->vr) && !is_private_group(h->tag) &&
           !(lv->depth == 0 && is_pixel_tag(h->tag));
}

static inline int parse_plain_element(parser *p, level *lv, const el_header *h)
{
    dc_elem *e = NULL;
    int32_t idx = (int32_t)p->ds->n_el;
    if (new_element(p, lv, h, &e) < 0) return DC_PARSE_ERROR;
    int rc = handle_value(p, h, e);
    if (rc != DC_PARSE_OK) return rc;
    if (h->tag == DC_TAG_SPECIFIC_CHARSET) {
        lv->charset = idx;
        p->ds->el[idx].charset = idx;
    }
    return DC_PARSE_OK;
}

/* first element of a dataset level: explicit datasets may hold implicit items
 * (and pydicom switches a top level the other way too) */
static void detect_level_vr(parser *p, level *lv, int top)
{
    if (!top && lv->implicit) return;
    if (ensure(p, p->pos, 6) < 0) return;
    const uint8_t *b = at(p, p->pos);
    if (rd16(b, p->big) == 0xFFFE) return;
    int explicit_looking = vr_chars_ok(b + 4);
    if (!lv->implicit && !explicit_looking) lv->implicit = 1;
    else if (top && lv->implicit && explicit_looking) lv->implicit = 0;
}

/* fewer than 8 bytes left, all zero */
static int zero_tail(parser *p)
{
    uint64_t n = p->v_size - p->pos;
    if (ensure(p, p->pos, n) < 0) return 0;
    const uint8_t *b = at(p, p->pos);
    for (uint64_t i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

static int parse_level(parser *p, level *lv, uint64_t end, int undefined)
{
    int top = lv->depth == 0;
    detect_level_vr(p, lv, top);
    for (;;) {
        if (!undefined && p->pos >= end) break;
        if (top && p->pos + 8 > p->v_size && zero_tail(p)) break; /* NUL padding at the end */
        el_header h;
        if (read_header(p, lv, &h) < 0) return DC_PARSE_ERROR;
        if (h.tag == DC_TAG_ITEM_END) {
            p->pos = h.hdr + 8;
            break;
        }
        if (h.tag == DC_TAG_ITEM || h.tag == DC_TAG_SEQ_END)
            return fail(p, "unexpected (%04X,%04X) at offset %llu", DC_TAG_GROUP(h.tag), DC_TAG_ELEM(h.tag),
                        (unsigned long long)h.hdr);
        int stop = 0;
        int rc = is_plain_element(lv, &h) ? parse_plain_element(p, lv, &h) : parse_element(p, lv, &h, &stop);
        if (rc != DC_PARSE_OK) return rc;
        if (stop) {
            p->pos = p->v_size;
            break;
        }
        if (!undefined && p->pos > end)
            return fail(p, "element (%04X,%04X) overruns its item", DC_TAG_GROUP(h.tag), DC_TAG_ELEM(h.tag));
    }
    return DC_PARSE_OK;
}

/* ------------------------------------------------------------------ */
/* file meta, detection, transfer syntax                               */
/* ------------------------------------------------------------------ */

static void copy_uid(const dc_dataset *ds, const dc_elem *e, char *out, size_t outlen)
{
    const char *s = (const char *)ds->buf + e->val;
    size_t n = e->len;
    dc_trim(&s, &n, 1);
    if (n >= outlen) n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static int parse_meta(parser *p)
{
    dc_dataset *ds = p->ds;
    level lv = {0, 0, -1, -1, -1, 0};
    for (;;) {
        if (ensure(p, p->pos, 8) < 0) break;
        if (DC_TAG_GROUP(rd_tag(at(p, p->pos), 0)) != 0x0002) break;
        el_header h;
        if (read_header(p, &lv, &h) < 0) return DC_PARSE_ERROR;
        int stop = 0;
        int rc = parse_element(p, &lv, &h, &stop);
        if (rc != DC_PARSE_OK) return rc;
    }
    for (size_t i = 0; i < ds->n_el; i++) {
        const dc_elem *e = &ds->el[i];
        if (e->vr == DC_VR('S', 'Q') || (e->flags & DC_EL_SKIPPED)) continue;
        if (e->tag == DC_TAG_TRANSFER_SYNTAX) copy_uid(ds, e, ds->ts_uid, sizeof ds->ts_uid);
        if (e->tag == DC_TAG_MEDIA_SOP_CLASS) copy_uid(ds, e, ds->media_sop_class, sizeof ds->media_sop_class);
    }
    return DC_PARSE_OK;
}

static int ts_from_uid(const char *uid)
{
    if (!strcmp(uid, "1.2.840.10008.1.2")) return DC_TS_IMPLICIT_LE;
    if (!strcmp(uid, "1.2.840.10008.1.2.1")) return DC_TS_EXPLICIT_LE;
    if (!strcmp(uid, "1.2.840.10008.1.2.1.99")) return DC_TS_DEFLATED_LE;
    if (!strcmp(uid, "1.2.840.10008.1.2.2")) return DC_TS_EXPLICIT_BE;
    if (!strncmp(uid, "1.2.840.10008.1.2.4.", 20) || !strcmp(uid, "1.2.840.10008.1.2.5") ||
        !strcmp(uid, "1.2.840.10008.1.2.1.98"))
        return DC_TS_ENCAPSULATED;
    return DC_TS_UNKNOWN;
}

static int known_vr(uint16_t vr)
{
    return dc_vr_is_text(vr) || dc_vr_is_binary_bulk(vr) || vr_num_size(vr) || vr == DC_VR('S', 'Q');
}

/* no transfer syntax: guess from the first dataset element (as pydicom) */
static int guess_ts(parser *p)
{
    if (ensure(p, p->pos, 6) < 0) return DC_TS_IMPLICIT_LE;
    const uint8_t *b = at(p, p->pos);
    if (!known_vr(DC_VR(b[4], b[5]))) return DC_TS_IMPLICIT_LE;
    return rd16(b, 0) >= 0x0400 ? DC_TS_EXPLICIT_BE : DC_TS_EXPLICIT_LE;
}

/* is there a plausible first element at offset 0 (no preamble)? */
static int plausible_start(parser *p)
{
    dc_dataset *ds = p->ds;
    if (ds->buf_len < 16) return 0;
    const uint8_t *b = ds->buf;
    uint16_t g_le = rd16(b, 0), g_be = rd16(b, 1);
    uint16_t vr = DC_VR(b[4], b[5]);
    uint64_t len, hdr;
    int be = 0;
    if ((g_le == 0x0002 || g_le == 0x0008) && known_vr(vr)) { /* explicit LE */
        hdr = dc_vr_has_long_length(vr) ? 12 : 8;
        len = dc_vr_has_long_length(vr) ? rd32(b + 8, 0) : rd16(b + 6, 0);
    } else if (g_be == 0x0008 && known_vr(vr)) { /* explicit BE */
        be = 1;
        hdr = dc_vr_has_long_length(vr) ? 12 : 8;
        len = dc_vr_has_long_length(vr) ? rd32(b + 8, 1) : rd16(b + 6, 1);
    } else if (g_le == 0x0002 || g_le == 0x0008) { /* implicit LE */
        hdr = 8;
        len = rd32(b + 4, 0);
    } else {
        return 0;
    }
    if (len == UNDEF || len > 1024 * 1024 || hdr + len + 8 > p->v_size) return 0;
    /* the next element must be in the same or a later group, not far away */
    if (ensure(p, hdr + len, 8) < 0) return 0;
    const uint8_t *n = at(p, hdr + len);
    uint16_t g0 = be ? g_be : g_le, g1 = rd16(n, be);
    return g1 >= g0 && g1 <= 0x7FE0 && rd_tag(n, be) > rd_tag(b, be);
}

/* deflated: inflate everything after the meta group into the buffer */
static int inflate_into_buf(parser *p, uint8_t *comp, uint64_t comp_len, uint64_t cap)
{
    dc_dataset *ds = p->ds;
    size_t out_start = ds->buf_len;
    uint64_t fed = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return fail(p, "deflate: cannot initialise zlib");
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (z.avail_in == 0 && fed < comp_len) {
            uint64_t chunk = comp_len - fed > UINT_MAX ? UINT_MAX : comp_len - fed;
            z.next_in = comp + fed;
            z.avail_in = (uInt)chunk;
            fed += chunk;
        }
        if (ds->buf_len - out_start >= cap) {
            rc = Z_MEM_ERROR;
            break;
        }
        size_t room = ds->buf_len < 65536 ? 65536 : ds->buf_len;
        if (room > cap - (ds->buf_len - out_start)) room = (size_t)(cap - (ds->buf_len - out_start));
        if (room > UINT_MAX) room = UINT_MAX;
        buf_reserve(ds, ds->buf_len + room);
        z.next_out = ds->buf + ds->buf_len;
        z.avail_out = (uInt)room;
        rc = inflate(&z, Z_NO_FLUSH);
        ds->buf_len += room - z.avail_out;
        if (rc == Z_BUF_ERROR && z.avail_in == 0 && fed == comp_len) break;
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
    }
    inflateEnd(&z);
    if (rc == Z_MEM_ERROR)
        return fail(p, "deflated dataset inflates to more than %llu bytes", (unsigned long long)cap);
    if (rc == Z_BUF_ERROR) return fail(p, "deflated data is truncated");
    if (rc != Z_STREAM_END) return fail(p, "deflated data is corrupt");
    return DC_PARSE_OK;
}

static int inflate_rest(parser *p)
{
    dc_dataset *ds = p->ds;
    uint64_t start = p->pos, comp_len = p->v_size - start;
    uint64_t cap = p->o->max_inflated_bytes ? p->o->max_inflated_bytes
                                            : p->o->max_pixel_bytes + p->o->max_value_len;
    if (cap > MAX_BUF - (start - p->seg_shift)) cap = MAX_BUF - (start - p->seg_shift);
    uint8_t *comp = dc_malloc(comp_len ? (size_t)comp_len : 1);
    /* what the first read already brought, then the rest from the source */
    uint64_t have = ds->buf_len + p->seg_shift > start ? ds->buf_len + p->seg_shift - start : 0;
    if (have > comp_len) have = comp_len;
    memcpy(comp, ds->buf + (start - p->seg_shift), (size_t)have);
    if (have < comp_len && src_read(p, start + have, comp + have, (size_t)(comp_len - have)) < 0) {
        free(comp);
        return truncated(p, start);
    }
    ds->buf_len = (size_t)(start - p->seg_shift);
    int rc = inflate_into_buf(p, comp, comp_len, cap);
    free(comp);
    if (rc != DC_PARSE_OK) return rc;
    p->all_in_buf = 1;
    p->v_size = p->seg_shift + ds->buf_len;
    return DC_PARSE_OK;
}

/* VRs that depend on other elements, resolved as pydicom does */
static int32_t find_up(const dc_dataset *ds, int32_t parent, int32_t item, uint32_t tag)
{
    for (;;) {
        int32_t i = parent < 0 ? dc_find(ds, tag) : dc_find_in_item(ds, parent, item, tag);
        if (i >= 0 || parent < 0) return i;
        item = ds->el[parent].item;
        parent = ds->el[parent].parent;
    }
}

static void fix_ambiguous(dc_dataset *ds)
{
    for (size_t i = 0; i < ds->n_el; i++) {
        dc_elem *e = &ds->el[i];
        if (!(e->flags & DC_EL_VR_AMBIG)) continue;
        long v;
        if (is_pixel_tag(e->tag) && (e->flags & DC_EL_UNDEF_LEN)) { /* encapsulated: OB */
            e->vr = DC_VR('O', 'B');
            if (e->depth == 0) ds->pixel.vr = e->vr;
        } else if (e->vr == DC_VR('U', 'S')) { /* US or SS */
            int32_t pr = find_up(ds, e->parent, e->item, DC_TAG_PIXEL_REP);
            if (pr >= 0 && dc_get_long_at(ds, pr, 0, &v) == 0 && v != 0) e->vr = DC_VR('S', 'S');
        } else if (e->tag == DC_TAG(0x0028, 0x3006)) { /* LUTData: US or OW */
            int32_t d = e->parent < 0 ? dc_find(ds, DC_TAG(0x0028, 0x3002))
                                      : dc_find_in_item(ds, e->parent, e->item, DC_TAG(0x0028, 0x3002));
            if (d >= 0 && dc_get_long_at(ds, d, 0, &v) == 0 && v == 1) e->vr = DC_VR('U', 'S');
        }
    }
}

/* ------------------------------------------------------------------ */
/* entry points                                                        */
/* ------------------------------------------------------------------ */

static int parse_dataset_part(parser *p)
{
    dc_dataset *ds = p->ds;
    int ts = ds->ts_uid[0] ? ts_from_uid(ds->ts_uid) : guess_ts(p);
    if (ts == DC_TS_DEFLATED_LE && p->pos < p->v_size) {
        int rc = inflate_rest(p);
        if (rc != DC_PARSE_OK) return rc;
    }
    p->big = ts == DC_TS_EXPLICIT_BE;
    level lv = {ts == DC_TS_IMPLICIT_LE, 0, -1, -1, -1, 0};
    if (p->pos < p->v_size) detect_level_vr(p, &lv, 1);
    if (ts == DC_TS_IMPLICIT_LE || ts == DC_TS_EXPLICIT_LE || ts == DC_TS_UNKNOWN)
        ts = lv.implicit ? DC_TS_IMPLICIT_LE : DC_TS_EXPLICIT_LE;
    ds->ts = ts;
    int rc = parse_level(p, &lv, p->v_size, 0);
    p->n_cre = 0;
    return rc;
}

static int parse_all(parser *p)
{
    dc_dataset *ds = p->ds;
    uint64_t first = p->v_size < FIRST_READ ? p->v_size : FIRST_READ;
    if (ensure(p, 0, first) < 0) return fail(p, "cannot read: %s", errno ? strerror(errno) : "short read");
    if (p->v_size >= 132 && !memcmp(ds->buf + 128, "DICM", 4)) {
        ds->has_preamble = 1;
        p->pos = 132;
    } else if (plausible_start(p)) {
        p->pos = 0;
    } else {
        return DC_PARSE_NOT_DICOM;
    }
    int rc = parse_meta(p);
    if (rc != DC_PARSE_OK) return rc;
    rc = parse_dataset_part(p);
    if (rc != DC_PARSE_OK) return rc;
    if (p->n_ambig) fix_ambiguous(ds);
    return DC_PARSE_OK;
}

static void parser_init(parser *p, dc_dataset *ds, const dc_parse_opts *o, dc_parse_opts *def, char *err,
                        size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (!o) {
        dc_parse_opts_default(def);
        o = def;
    }
    p->ds = ds;
    p->o = o;
    p->err = err;
    p->errlen = errlen;
    p->fd = -1;
    if (err && errlen) err[0] = '\0';
}

dc_file_stat dc_file_stat_of(const struct stat *st)
{
    return (dc_file_stat){(uint64_t)st->st_size, (uint64_t)st->st_ino,
                          (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
                          (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec, 1};
}

/* O_NONBLOCK: a path that became a FIFO after the walk must not block the
 * rank in open() (fstat then refuses it); reads of regular files ignore it.
 * Called from the prefetch thread too (the flag is atomic). */
int dc_open_input(const char *path)
{
    static _Atomic int noatime_ok = 1;
    if (noatime_ok) {
        int fd = open(path, O_RDONLY | O_NOATIME | O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0 || errno != EPERM) return fd;
        noatime_ok = 0;
    }
    return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
}

int dc_parse_file(const char *path, const dc_parse_opts *o, dc_dataset *ds, char *err, size_t errlen)
{
    return dc_parse_fd(-1, path, o, ds, err, errlen);
}

int dc_parse_fd(int fd, const char *path, const dc_parse_opts *o, dc_dataset *ds, char *err,
                size_t errlen)
{
    dc_input in = {fd, {0, 0, 0, 0, 0}, NULL, 0};
    return dc_parse_input(&in, path, o, ds, err, errlen);
}

/* the file's first bytes read ahead, as the first ensure() would read them */
static void take_head(parser *p, const dc_input *in)
{
    uint64_t first = p->v_size < FIRST_READ ? p->v_size : FIRST_READ;
    if (!in->head || in->head_len != first || first == 0) return;
    buf_reserve(p->ds, (size_t)first);
    memcpy(p->ds->buf, in->head, (size_t)first);
    p->ds->buf_len = (size_t)first;
    p->ds->bytes_read += first;
}

int dc_parse_input(const dc_input *in, const char *path, const dc_parse_opts *o, dc_dataset *ds, char *err,
                   size_t errlen)
{
    parser p;
    dc_parse_opts def;
    dc_dataset_clear(ds);
    parser_init(&p, ds, o, &def, err, errlen);
    set_path(ds, path);
    int fd = in->fd;
    if (fd < 0) fd = dc_open_input(path);
    if (fd < 0) return fail(&p, "cannot open: %s", strerror(errno));
    if (in->fd >= 0 && in->stat.ok) {
        ds->stat = in->stat; /* the opener's fstat: an open regular file */
    } else {
        struct stat st;
        if (fstat(fd, &st) < 0) {
            close(fd);
            return fail(&p, "cannot stat: %s", strerror(errno));
        }
        if (!S_ISREG(st.st_mode)) {
            close(fd);
            return fail(&p, "not a regular file");
        }
        ds->stat = dc_file_stat_of(&st);
    }
    p.fd = fd;
    p.v_size = ds->file_size = ds->stat.size;
    if (in->fd >= 0) take_head(&p, in);
    errno = 0;
    int rc = parse_all(&p);
    free(p.cre);
    if (rc == DC_PARSE_OK && p.o->keep_open)
        ds->fd = fd;
    else
        close(fd);
    return rc;
}

int dc_parse_memory(const uint8_t *data, size_t len, const dc_parse_opts *o, dc_dataset *ds, char *err,
                    size_t errlen)
{
    parser p;
    dc_parse_opts def;
    dc_dataset_clear(ds);
    parser_init(&p, ds, o, &def, err, errlen);
    set_path(ds, "<memory>");
    p.mem = data;
    p.v_size = ds->file_size = len;
    ds->mem = data;
    ds->mem_len = len;
    int rc = parse_all(&p);
    free(p.cre);
    return rc;
}

int dc_pixel_walk_fragments(dc_dataset *ds, char *err, size_t errlen)
{
    parser p;
    dc_parse_opts def;
    dc_pixel_loc *px = &ds->pixel;
    parser_init(&p, ds, NULL, &def, err, errlen);
    if (!px->present) return fail(&p, "no pixel data");
    if (!px->encapsulated || px->walked) return DC_PARSE_OK;
    p.seg_start = UINT64_MAX; /* read everything through the source, not the buffer */
    if (px->in_buf) {
        p.mem = ds->buf;
        p.v_size = ds->buf_len;
    } else if (ds->mem) {
        p.mem = ds->mem;
        p.v_size = ds->mem_len;
    } else if (ds->fd >= 0) {
        p.fd = ds->fd;
        p.v_size = ds->file_size;
    } else {
        return fail(&p, "file not open for pixel data");
    }
    uint64_t end;
    return walk_fragments(&p, px->off, &end);
}

/* ------------------------------------------------------------------ */
/* element access                                                      */
/* ------------------------------------------------------------------ */

static size_t next_sibling(const dc_dataset *ds, size_t i)
{
    const dc_elem *e = &ds->el[i];
    if (e->vr == DC_VR('S', 'Q') && e->val > i && e->val <= ds->n_el) return e->val;
    return i + 1;
}

/* where a tag was last looked up among the sorted top-level elements: its
 * position, or where it would be when absent.  The files of a series have
 * the same layout, so the next file's lookup of the same tag is usually
 * settled there (checked against the neighbours, so never wrong) instead of
 * by a binary search. */
#define FIND_HINTS 256
static __thread uint32_t find_hint[FIND_HINTS];

/* top-level tag at sorted position k of n: 0 before the first, all ones after the last */
static inline uint64_t top_tag_at(const dc_dataset *ds, size_t k)
{
    return k < ds->n_top ? ds->el[ds->top[k]].tag : UINT64_MAX;
}

int dc_find(const dc_dataset *ds, uint32_t tag)
{
    if (ds->top_sorted && ds->n_top) {
        uint32_t *hint = &find_hint[(tag ^ tag >> 16) * 0x9E3779B1u >> 24];
        size_t h = *hint;
        if (h <= ds->n_top && (h == 0 || top_tag_at(ds, h - 1) < tag)) {
            uint64_t t = top_tag_at(ds, h);
            if (t == tag) return ds->top[h];
            if (t > tag) return -1;
        }
        size_t lo = 0, hi = ds->n_top;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            uint32_t t = ds->el[ds->top[mid]].tag;
            if (t == tag) {
                *hint = (uint32_t)mid;
                return ds->top[mid];
            }
            if (t < tag)
                lo = mid + 1;
            else
                hi = mid;
        }
        *hint = (uint32_t)lo;
        return -1;
    }
    for (size_t k = 0; k < ds->n_top; k++)
        if (ds->el[ds->top[k]].tag == tag) return ds->top[k];
    if (ds->n_top == 0) /* a dataset built by hand, without the index */
        for (size_t i = 0; i < ds->n_el; i++)
            if (ds->el[i].depth == 0 && ds->el[i].tag == tag) return (int)i;
    return -1;
}

int dc_find_in_item(const dc_dataset *ds, int sq, int item, uint32_t tag)
{
    if (sq < 0 || (size_t)sq >= ds->n_el || ds->el[sq].vr != DC_VR('S', 'Q')) return -1;
    size_t end = ds->el[sq].val;
    if (end > ds->n_el || end <= (size_t)sq) end = ds->n_el; /* no subtree end (built by hand) */
    for (size_t i = (size_t)sq + 1; i < end; i = next_sibling(ds, i)) {
        const dc_elem *e = &ds->el[i];
        if (e->parent != sq) continue;
        if (e->item > item) break;
        if (e->item == item && e->tag == tag) return (int)i;
    }
    return -1;
}

const uint8_t *dc_value(const dc_dataset *ds, const dc_elem *e)
{
    if (e->vr == DC_VR('S', 'Q') || (e->flags & DC_EL_SKIPPED)) return NULL;
    return ds->buf + e->val;
}

static int valid_idx(const dc_dataset *ds, int idx)
{
    return idx >= 0 && (size_t)idx < ds->n_el && dc_value(ds, &ds->el[idx]) != NULL;
}

/* one binary number k of element e as double / integer */
static int binary_at(const dc_dataset *ds, const dc_elem *e, int k, double *d, int64_t *l, int *is_int)
{
    int sz = vr_num_size(e->vr);
    if (!sz || k < 0 || (uint64_t)(k + 1) * (uint64_t)sz > e->len) return -1;
    const uint8_t *b = ds->buf + e->val + (size_t)k * (size_t)sz;
    int big = (e->flags & DC_EL_BIGENDIAN) != 0;
    *is_int = 1;
    switch (e->vr) {
    case DC_VR('U', 'S'): *l = rd16(b, big); break;
    case DC_VR('S', 'S'): *l = (int16_t)rd16(b, big); break;
    case DC_VR('U', 'L'): *l = rd32(b, big); break;
    case DC_VR('A', 'T'): *l = (int64_t)((uint32_t)rd16(b, big) << 16 | rd16(b + 2, big)); break;
    case DC_VR('S', 'L'): *l = (int32_t)rd32(b, big); break;
    case DC_VR('S', 'V'): *l = (int64_t)rd64(b, big); break;
    case DC_VR('U', 'V'): {
        uint64_t u = rd64(b, big);
        *d = (double)u;
        *l = u > INT64_MAX ? INT64_MAX : (int64_t)u;
        return 0;
    }
    case DC_VR('F', 'L'): {
        uint32_t u = rd32(b, big);
        float f;
        memcpy(&f, &u, 4);
        *d = f;
        *is_int = 0;
        return 0;
    }
    default: { /* FD */
        uint64_t u = rd64(b, big);
        memcpy(d, &u, 8);
        *is_int = 0;
        return 0;
    }
    }
    *d = (double)*l;
    return 0;
}

/* text component k (backslash separated), trimmed, into out */
static int text_at(const dc_dataset *ds, const dc_elem *e, int k, char *out, size_t outlen)
{
    const char *s = (const char *)ds->buf + e->val, *end = s + e->len;
    for (int i = 0; i < k; i++) {
        const char *bs = memchr(s, '\\', (size_t)(end - s));
        if (!bs) return -1;
        s = bs + 1;
    }
    const char *bs = memchr(s, '\\', (size_t)(end - s));
    size_t n = (size_t)((bs ? bs : end) - s);
    dc_trim(&s, &n, 1);
    if (n == 0 || n >= outlen) return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* Plain decimals ("-190", "0.7421875", "1.") with at most 15 significant
 * digits and 22 after the point: m / 10^f is then one correctly rounded
 * division of two exact doubles, i.e. exactly what strtod returns (Clinger's
 * fast path).  Returns 0, or -1 for anything else (strtod decides). */
static int fast_decimal(const char *s, double *out)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    int neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    uint64_t m = 0;
    int digits = 0, sig = 0, frac = 0, point = 0;
    for (;; s++) {
        if (*s >= '0' && *s <= '9') {
            digits++;
            if (m || *s != '0') sig++;
            if (sig > 15) return -1;
            m = m * 10 + (uint64_t)(*s - '0');
            if (point && ++frac > 22) return -1;
        } else if (*s == '.' && !point) {
            point = 1;
        } else {
            break;
        }
    }
    if (*s || !digits) return -1;
    double v = (double)m / p10[frac];
    *out = neg ? -v : v;
    return 0;
}

/* one value's text (trimmed, NUL-terminated) as a number */
static int text_double(const char *tmp, double *out)
{
    char *endp;
    if (fast_decimal(tmp, out) == 0) return 0;
    errno = 0;
    double v = strtod(tmp, &endp);
    if (endp == tmp || *endp || errno == ERANGE) return -1;
    *out = v;
    return 0;
}

/* the first values of a text element as numbers, in one pass (text_at +
 * text_double for k = 0, 1, ... until one fails) */
static int text_doubles(const dc_dataset *ds, const dc_elem *e, double *out, int n)
{
    const char *s = (const char *)ds->buf + e->val, *end = s + e->len;
    int k = 0;
    while (k < n) {
        const char *bs = memchr(s, '\\', (size_t)(end - s));
        const char *v = s;
        size_t len = (size_t)((bs ? bs : end) - s);
        dc_trim(&v, &len, 1);
        char tmp[72];
        if (len == 0 || len >= sizeof tmp) break;
        memcpy(tmp, v, len);
        tmp[len] = '\0';
        if (text_double(tmp, &out[k]) != 0) break;
        k++;
        if (!bs) break;
        s = bs + 1;
    }
    return k;
}

int dc_get_double_at(const dc_dataset *ds, int idx, int k, double *out)
{
    if (!valid_idx(ds, idx)) return -1;
    const dc_elem *e = &ds->el[idx];
    if (vr_num_size(e->vr)) {
        int64_t l;
        int is_int;
        return binary_at(ds, e, k, out, &l, &is_int);
    }
    if (!dc_vr_is_text(e->vr)) return -1;
    char tmp[72];
    if (text_at(ds, e, k, tmp, sizeof tmp) < 0) return -1;
    return text_double(tmp, out);
}

int dc_get_long_at(const dc_dataset *ds, int idx, int k, long *out)
{
    if (!valid_idx(ds, idx)) return -1;
    const dc_elem *e = &ds->el[idx];
    double d;
    if (vr_num_size(e->vr)) {
        int64_t l;
        int is_int;
        if (binary_at(ds, e, k, &d, &l, &is_int) < 0) return -1;
        if (is_int) {
            if (l > LONG_MAX || l < LONG_MIN) return -1;
            *out = (long)l;
            return 0;
        }
    } else if (dc_get_double_at(ds, idx, k, &d) < 0) {
        return -1;
    }
    /* "12.0" in an IS, integral floats */
    if (!isfinite(d) || d != floor(d) || d > (double)LONG_MAX || d < (double)LONG_MIN) return -1;
    *out = (long)d;
    return 0;
}

static void format_numbers(const dc_dataset *ds, const dc_elem *e, char *out, size_t outlen)
{
    size_t used = 0;
    int sz = vr_num_size(e->vr);
    for (uint32_t k = 0; k < e->len / (uint32_t)sz && used + 1 < outlen; k++) {
        double d;
        int64_t l;
        int is_int, n;
        binary_at(ds, e, (int)k, &d, &l, &is_int);
        const char *sep = k ? "\\" : "";
        if (e->vr == DC_VR('A', 'T'))
            n = snprintf(out + used, outlen - used, "%s(%04X,%04X)", sep, (unsigned)(l >> 16), (unsigned)(l & 0xFFFF));
        else if (e->vr == DC_VR('U', 'V'))
            n = snprintf(out + used, outlen - used, "%s%llu", sep, (unsigned long long)rd64(ds->buf + e->val + 8 * k, (e->flags & DC_EL_BIGENDIAN) != 0));
        else if (is_int)
            n = snprintf(out + used, outlen - used, "%s%lld", sep, (long long)l);
        else
            n = snprintf(out + used, outlen - used, e->vr == DC_VR('F', 'L') ? "%s%.9g" : "%s%.17g", sep, d);
        if (n < 0) break;
        used += (size_t)n;
        if (used >= outlen) used = outlen - 1;
    }
    out[used] = '\0';
}

int dc_get_str(const dc_dataset *ds, int idx, char *out, size_t outlen)
{
    if (!outlen) return -1;
    out[0] = '\0';
    if (!valid_idx(ds, idx)) return -1;
    const dc_elem *e = &ds->el[idx];
    if (vr_num_size(e->vr)) {
        format_numbers(ds, e, out, outlen);
        return 0;
    }
    if (!dc_vr_is_text(e->vr)) return -1;
    const char *s = (const char *)ds->buf + e->val;
    size_t n = e->len;
    int lead = !(e->vr == DC_VR('L', 'T') || e->vr == DC_VR('S', 'T') || e->vr == DC_VR('U', 'T'));
    dc_trim(&s, &n, lead);
    if (n >= outlen) n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int dc_tag_str(const dc_dataset *ds, uint32_t tag, char *out, size_t outlen)
{
    int i = dc_find(ds, tag);
    if (i < 0) {
        if (outlen) out[0] = '\0';
        return -1;
    }
    return dc_get_str(ds, i, out, outlen);
}

int dc_tag_long(const dc_dataset *ds, uint32_t tag, long *out)
{
    return dc_get_long_at(ds, dc_find(ds, tag), 0, out);
}

/* The last text_doubles of each of a few tags, by its value bytes: the
 * files of a series repeat most of them (orientation, spacing, thickness,
 * rescale), so the next file's are copied instead of parsed again */
#define TD_SLOTS 16
#define TD_MAX_BYTES 64
#define TD_MAX_VALUES 8
typedef struct {
    uint32_t tag, len; /* len 0: empty */
    int n, k;          /* asked for n, found k */
    char bytes[TD_MAX_BYTES];
    double v[TD_MAX_VALUES];
} td_entry;
static __thread td_entry td_memo[TD_SLOTS];

static int text_doubles_memo(const dc_dataset *ds, uint32_t tag, const dc_elem *e, double *out,
                             int n)
{
    if (e->len == 0 || e->len > TD_MAX_BYTES || n < 1 || n > TD_MAX_VALUES)
        return text_doubles(ds, e, out, n);
    const char *bytes = (const char *)ds->buf + e->val;
    td_entry *m = &td_memo[(tag ^ tag >> 16) * 0x9E3779B1u >> 28];
    if (m->len == e->len && m->tag == tag && m->n == n && memcmp(m->bytes, bytes, e->len) == 0) {
        memcpy(out, m->v, (size_t)m->k * sizeof *out);
        return m->k;
    }
    int k = text_doubles(ds, e, out, n);
    m->tag = tag;
    m->len = e->len;
    m->n = n;
    m->k = k;
    memcpy(m->bytes, bytes, e->len);
    memcpy(m->v, out, (size_t)k * sizeof *out);
    return k;
}

int dc_tag_doubles(const dc_dataset *ds, uint32_t tag, double *out, int n)
{
    int idx = dc_find(ds, tag), k = 0;
    if (valid_idx(ds, idx) && !vr_num_size(ds->el[idx].vr) && dc_vr_is_text(ds->el[idx].vr))
        return text_doubles_memo(ds, tag, &ds->el[idx], out, n);
    while (k < n && dc_get_double_at(ds, idx, k, &out[k]) == 0) k++;
    return k;
}

int dc_get_utf8(const dc_dataset *ds, int idx, char *out, size_t outlen)
{
    if (!outlen) return -1;
    if (!valid_idx(ds, idx) || !dc_vr_is_charset_text(ds->el[idx].vr))
        return dc_get_str(ds, idx, out, outlen);
    const dc_elem *e = &ds->el[idx];
    char spec[256] = "";
    if (e->charset >= 0 && (size_t)e->charset < ds->n_el && valid_idx(ds, e->charset)) {
        const dc_elem *c = &ds->el[e->charset];
        size_t n = c->len < sizeof spec - 1 ? c->len : sizeof spec - 1;
        memcpy(spec, ds->buf + c->val, n);
        spec[n] = '\0';
    }
    dc_buf b;
    dc_buf_init(&b);
    dc_charset_to_utf8(spec[0] ? spec : NULL, e->vr, ds->buf + e->val, e->len, &b);
    const char *p = dc_buf_cstr(&b);
    size_t n = strlen(p);
    while (n && *p == ' ') p++, n--;
    while (n >= outlen || (n && ((unsigned char)p[n] & 0xC0) == 0x80)) n--; /* whole characters */
    memcpy(out, p, n);
    out[n] = '\0';
    dc_buf_free(&b);
    return 0;
}
