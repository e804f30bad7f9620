/*
 * dict.c - data dictionary lookups over the tables generated into
 * dc_dict_table.c by tools/gen_dict.sh.  See dc_dict.h.
 *
 * Public tags: binary search over the exact table, then a linear scan of the
 * (few) range rows - repeating groups like (60xx,3000), element ranges like
 * (0020,31xx), and catch-alls (group length, private creator) last.
 * Private tags: binary search by (creator, group, element low byte), then the
 * repeating private groups.
 */
#include "dc_dict.h"

#include <string.h>

static int parity_ok(uint16_t v, uint8_t parity)
{
    if (parity == 2) return 1;
    return (v & 1) == parity;
}

static const dc_dict_entry *find_exact(uint32_t tag)
{
    size_t lo = 0, hi = dc_dict_public_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t t = dc_dict_public[mid].tag;
        if (t == tag) return &dc_dict_public[mid].e;
        if (t < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const dc_dict_entry *find_range(uint32_t tag)
{
    uint16_t g = (uint16_t)(tag >> 16), el = (uint16_t)(tag & 0xFFFF);
    for (size_t i = 0; i < dc_dict_public_ranges_n; i++) {
        const dc_dict_range_row *r = &dc_dict_public_ranges[i];
        if (g < r->g_lo || g > r->g_hi || el < r->e_lo || el > r->e_hi) continue;
        if (parity_ok(g, r->g_parity) && parity_ok(el, r->e_parity)) return &r->e;
    }
    return NULL;
}

const dc_dict_entry *dc_dict_find(uint32_t tag)
{
    const dc_dict_entry *e = find_exact(tag);
    return e ? e : find_range(tag);
}

const char *dc_dict_keyword(uint32_t tag)
{
    const dc_dict_entry *e = dc_dict_find(tag);
    return e ? e->keyword : NULL;
}

static int private_cmp(const dc_dict_private_row *r, const char *creator, uint16_t g, uint8_t el)
{
    int c = strcmp(r->creator, creator);
    if (c) return c;
    if (r->group != g) return r->group < g ? -1 : 1;
    if (r->elem != el) return r->elem < el ? -1 : 1;
    return 0;
}

const dc_dict_entry *dc_dict_find_private(uint32_t tag, const char *creator)
{
    if (!creator) return NULL;
    uint16_t g = (uint16_t)(tag >> 16);
    uint8_t el = (uint8_t)(tag & 0xFF);
    size_t lo = 0, hi = dc_dict_private_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = private_cmp(&dc_dict_private[mid], creator, g, el);
        if (c == 0) return &dc_dict_private[mid].e;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < dc_dict_private_ranges_n; i++) {
        const dc_dict_private_range_row *r = &dc_dict_private_ranges[i];
        if (r->elem == el && g >= r->g_lo && g <= r->g_hi && parity_ok(g, r->g_parity) &&
            strcmp(r->creator, creator) == 0)
            return &r->e;
    }
    return NULL;
}
