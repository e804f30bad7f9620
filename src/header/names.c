/*
 * names.c - lookups over the pydicom name tables generated into
 * dc_names_table.c by tools/gen_names.py.  See dc_names.h.
 *
 * Public names: binary search by tag, then the repeating-group masks in
 * pydicom's order (first match wins, as pydicom's mask_match).  Private
 * names: binary search of the creator, then of (creator, kind, key) for the
 * three keys pydicom tries in turn.  Names back to tags: binary search over
 * the name-sorted index.  Names are stored as word codes; the ones asked
 * for are decoded once per thread into a table keyed by their offset, so
 * the same name always comes back as the same pointer.
 */
#include "dc_names.h"

#include <stdlib.h>
#include <string.h>

#include "dc_util.h"

#define MAX_NAME 1024 /* pydicom's longest name is under 200 bytes */

/* name at code offset off into out (NUL-terminated); returns its length */
static size_t decode(uint32_t off, char *out, size_t cap)
{
    const uint8_t *c = dc_names_codes + off;
    unsigned n = *c++;
    size_t len = 0;
    for (unsigned k = 0; k < n; k++) {
        unsigned w = *c++;
        if (w & 0x80) w = (w & 0x7F) << 8 | *c++;
        const char *s = dc_names_word_text + dc_names_words[w];
        size_t l = strlen(s);
        if (len + l >= cap) l = cap - 1 - len;
        memcpy(out + len, s, l);
        len += l;
    }
    out[len] = '\0';
    return len;
}

/* decoded names of this thread, by code offset + 1 (open addressing) */
#define INTERN_CAP 16384 /* a power of two above the 9,884 distinct names */
typedef struct {
    uint32_t key;
    char *name;
} intern_entry;
static _Thread_local intern_entry *g_intern;

static const char *intern(uint32_t off)
{
    if (!g_intern) g_intern = dc_calloc(INTERN_CAP, sizeof *g_intern);
    for (uint32_t h = (off * 0x9E3779B1u) >> 18;; h = (h + 1) & (INTERN_CAP - 1)) {
        intern_entry *e = &g_intern[h & (INTERN_CAP - 1)];
        if (e->key == off + 1) return e->name;
        if (e->key == 0) {
            char buf[MAX_NAME];
            size_t n = decode(off, buf, sizeof buf);
            e->key = off + 1;
            e->name = dc_strndup(buf, n);
            return e->name;
        }
    }
}

void dc_names_release(void)
{
    if (g_intern)
        for (size_t i = 0; i < INTERN_CAP; i++) free(g_intern[i].name);
    free(g_intern);
    g_intern = NULL;
}

const char *dc_names_public(uint32_t tag)
{
    size_t lo = 0, hi = dc_names_pub_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dc_names_pub[mid].tag == tag) return intern(dc_names_pub[mid].name);
        if (dc_names_pub[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < dc_names_rep_n; i++)
        if (((tag ^ dc_names_rep[i].mask1) & dc_names_rep[i].mask2) == 0)
            return intern(dc_names_rep[i].name);
    return NULL;
}

static long creator_index(const char *creator)
{
    size_t lo = 0, hi = dc_names_creators_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(dc_names_creator_text + dc_names_creators[mid], creator);
        if (c == 0) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const char *private_entry(uint32_t group, uint32_t key)
{
    size_t lo = 0, hi = dc_names_priv_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const dc_name_priv *p = &dc_names_priv[mid];
        uint32_t g = p->meta >> 21;
        int c = g != group ? (g < group ? -1 : 1) : p->key != key ? (p->key < key ? -1 : 1) : 0;
        if (c == 0) return intern(p->meta & ((1u << 21) - 1));
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *dc_names_private(uint32_t tag, const char *creator)
{
    if (!creator) return NULL;
    long ci = creator_index(creator);
    if (ci < 0) return NULL;
    const uint32_t keys[3] = {tag, tag & 0xFFFF00FFu, tag & 0xFF0000FFu};
    for (uint32_t kind = 0; kind < 3; kind++) {
        const char *n = private_entry((uint32_t)ci << 2 | kind, keys[kind]);
        if (n) return n;
    }
    return NULL;
}

/* strcmp of the name at code offset off with s[0..n) */
static int cmp_name(uint32_t off, const char *s, size_t n)
{
    char buf[MAX_NAME];
    size_t len = decode(off, buf, sizeof buf);
    int c = memcmp(buf, s, len < n ? len : n);
    if (c) return c;
    return len < n ? -1 : len > n;
}

uint32_t dc_names_tag_of(const char *s, size_t n)
{
    size_t lo = 0, hi = dc_names_pub_n;
    while (lo < hi) { /* first index whose name is >= s */
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_name(dc_names_pub[dc_names_rev[mid]].name, s, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < dc_names_pub_n && cmp_name(dc_names_pub[dc_names_rev[lo]].name, s, n) == 0)
        return dc_names_pub[dc_names_rev[lo]].tag; /* equal names sort by tag */
    for (size_t i = 0; i < dc_names_rep_n; i++)
        if (cmp_name(dc_names_rep[i].name, s, n) == 0) return dc_names_rep[i].mask1;
    return 0xFFFFFFFFu;
}

int dc_names_printable(uint32_t cp)
{
    if (cp < 0x100) /* Latin-1: controls, NBSP and the soft hyphen are not */
        return (cp >= 0x20 && cp < 0x7F) || (cp > 0xA0 && cp != 0xAD);
    size_t lo = 0, hi = dc_names_nonprint_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < dc_names_nonprint[mid][0])
            hi = mid;
        else if (cp > dc_names_nonprint[mid][1])
            lo = mid + 1;
        else
            return 0;
    }
    return 1;
}
