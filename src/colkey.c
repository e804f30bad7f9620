/*
 * colkey.c - the sort key of a metadata CSV column, derived from its name.
 *
 * A column name is "Seq1_Seq2_Leaf (gggg, eeee)".  Its sort key is the tag
 * path: the tags of the sequence keywords (reverse dictionary lookup) and the
 * leaf tag from the parentheses.  Deriving the key from the name alone means
 * a header read back from an existing CSV (ours, or the old crawler's) sorts
 * exactly like columns met during a run, so appends and resumes never
 * reorder columns differently.  Sequence keywords that are not in the public
 * dictionary (private sequences, "Private", "Unknown") get the key
 * 0xFFFFFFFF: after every public sibling, ties broken by name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_csvout.h"
#include "dc_dict.h"

/* keyword -> tag for public sequence keywords, built once */
static struct {
    const char **kw;
    uint32_t *tag;
    size_t cap;
} rev;

static size_t kw_hash(const char *s, size_t n)
{
    return (size_t)dc_hash64(s, n, DC_HASH_SEED);
}

static void rev_build(void)
{
    size_t cap = 1;
    while (cap < dc_dict_public_n * 2) cap *= 2;
    rev.kw = dc_calloc(cap, sizeof(char *));
    rev.tag = dc_calloc(cap, sizeof(uint32_t));
    rev.cap = cap;
    for (size_t i = 0; i < dc_dict_public_n; i++) {
        const char *k = dc_dict_public[i].e.keyword;
        size_t h = kw_hash(k, strlen(k)) & (cap - 1);
        while (rev.kw[h] && strcmp(rev.kw[h], k) != 0) h = (h + 1) & (cap - 1);
        if (!rev.kw[h]) { /* first (lowest) tag with this keyword wins */
            rev.kw[h] = k;
            rev.tag[h] = dc_dict_public[i].tag;
        }
    }
}

static uint32_t keyword_tag(const char *k, size_t n)
{
    if (!rev.cap) rev_build();
    size_t h = kw_hash(k, n) & (rev.cap - 1);
    while (rev.kw[h]) {
        if (strlen(rev.kw[h]) == n && memcmp(rev.kw[h], k, n) == 0) return rev.tag[h];
        h = (h + 1) & (rev.cap - 1);
    }
    return 0xFFFFFFFFu;
}

void dc_column_key_from_name(const char *name, dc_column *col)
{
    memset(col->path, 0, sizeof col->path);
    col->depth = 0;
    const char *paren = strrchr(name, '(');
    unsigned g = 0xFFFF, e = 0xFFFF;
    if (!paren || sscanf(paren, "(%4x, %4x)", &g, &e) != 2) {
        g = e = 0xFFFF; /* not a tag column: sorts last */
        paren = name + strlen(name);
    }
    /* sequence prefixes: the '_'-separated words before the leaf keyword */
    const char *end = paren;
    while (end > name && end[-1] == ' ') end--;
    const char *p = name;
    for (const char *u; (u = memchr(p, '_', (size_t)(end - p))) != NULL; p = u + 1)
        if (col->depth < DC_MAX_PATH_DEPTH - 1) col->path[col->depth++] = keyword_tag(p, (size_t)(u - p));
    col->path[col->depth++] = ((uint32_t)g << 16) | e;
}
