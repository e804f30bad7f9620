/*
 * names.c - lookups over the pydicom name tables generated into
 * dc_names_table.c by tools/gen_names.py.  See dc_names.h.
 *
 * Public names: binary search by tag, then the repeating-group masks in
 * pydicom's order (first match wins, as pydicom's mask_match).  Private
 * names: binary search of the creator, then of (creator, kind, key) for the
 * three keys pydicom tries in turn.  Names back to tags: binary search over
 * the name-sorted index.  Pure, no state.
 */
#include "dc_names.h"

#include <string.h>

static const char *text(uint32_t off)
{
    return dc_names_text + off;
}

const char *dc_names_public(uint32_t tag)
{
    size_t lo = 0, hi = dc_names_pub_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dc_names_pub[mid].tag == tag) return text(dc_names_pub[mid].name);
        if (dc_names_pub[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < dc_names_rep_n; i++)
        if (((tag ^ dc_names_rep[i].mask1) & dc_names_rep[i].mask2) == 0)
            return text(dc_names_rep[i].name);
    return NULL;
}

static long creator_index(const char *creator)
{
    size_t lo = 0, hi = dc_names_creators_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(text(dc_names_creators[mid]), creator);
        if (c == 0) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const char *private_entry(uint16_t creator, uint8_t kind, uint32_t key)
{
    size_t lo = 0, hi = dc_names_priv_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const dc_name_priv *p = &dc_names_priv[mid];
        int c = p->creator != creator ? (p->creator < creator ? -1 : 1)
                : p->kind != kind     ? (p->kind < kind ? -1 : 1)
                : p->key != key       ? (p->key < key ? -1 : 1)
                                      : 0;
        if (c == 0) return text(p->name);
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
    for (uint8_t kind = 0; kind < 3; kind++) {
        const char *n = private_entry((uint16_t)ci, kind, keys[kind]);
        if (n) return n;
    }
    return NULL;
}

/* strcmp of the NUL-terminated a with s[0..n) */
static int cmp_n(const char *a, const char *s, size_t n)
{
    int c = strncmp(a, s, n);
    if (c) return c;
    return a[n] != '\0'; /* a longer: after */
}

uint32_t dc_names_tag_of(const char *s, size_t n)
{
    size_t lo = 0, hi = dc_names_pub_n;
    while (lo < hi) { /* first index whose name is >= s */
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_n(text(dc_names_pub[dc_names_rev[mid]].name), s, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < dc_names_pub_n && cmp_n(text(dc_names_pub[dc_names_rev[lo]].name), s, n) == 0)
        return dc_names_pub[dc_names_rev[lo]].tag; /* equal names sort by tag */
    for (size_t i = 0; i < dc_names_rep_n; i++)
        if (cmp_n(text(dc_names_rep[i].name), s, n) == 0) return dc_names_rep[i].mask1;
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
