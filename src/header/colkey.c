/*
 * colkey.c - the sort key of a metadata CSV column, derived from its name,
 * and the csv_style a header was written in.
 *
 * A column name is "Seq1_Seq2_Leaf (gggg, eeee)" in either style (SPEC 4):
 * seed "Referenced Image Sequence_Referenced SOP Instance UID (0008, 1155)",
 * dicom "ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)".
 * Its sort key is the tag path: a tag for each sequence name (reverse
 * lookup: pydicom's names, then the keywords; the lowest tag of a name) and
 * the leaf tag from the parentheses.  Only the innermost tag is written in a
 * name, so a prefix component that is not a public name or keyword (private
 * sequences "[...]", "Private tag data", "Private", "Unknown", "") gets the
 * key 0xFFFFFFFF: after every public sibling, ties broken by name.  A
 * bracketed private name may hold '_': a component starting with '[' runs to
 * its "]_".
 *
 * Every column gets its key this way, whether met in a run or read back from
 * an existing CSV (dc_csvout_widen keys fresh columns by name too), so the
 * order is a function of the names alone: an append or resume inserts new
 * columns exactly where a fresh run over all the inputs would put them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_colkey.h"
#include "dc_util.h"
#include "dc_dict.h"
#include "dc_names.h"

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

/* tag of a sequence's name in a prefix: pydicom's names, then keywords */
static uint32_t component_tag(const char *s, size_t n)
{
    if (n == 0) return 0xFFFFFFFFu;
    uint32_t t = dc_names_tag_of(s, n);
    return t != 0xFFFFFFFFu ? t : keyword_tag(s, n);
}

/* end of the prefix component starting at p (before end), or NULL when the
 * rest is the leaf */
static const char *component_end(const char *p, const char *end)
{
    if (*p == '[') {
        for (const char *q = p; q + 1 < end; q++)
            if (q[0] == ']' && q[1] == '_') return q + 1;
        return NULL;
    }
    return memchr(p, '_', (size_t)(end - p));
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
    /* sequence prefixes: the '_'-separated names before the leaf's name */
    const char *end = paren;
    while (end > name && end[-1] == ' ') end--;
    const char *p = name;
    for (const char *u; p < end && (u = component_end(p, end)) != NULL; p = u + 1)
        if (col->depth < DC_MAX_PATH_DEPTH - 1) col->path[col->depth++] = component_tag(p, (size_t)(u - p));
    col->path[col->depth++] = ((uint32_t)g << 16) | e;
}

/* The name before " (gggg, eeee)": which style wrote it.  seed: pydicom
 * names have spaces, brackets or an apostrophe, or are empty; dicom:
 * keywords are identifiers with a lower-case letter followed by a capital
 * ("PatientName").  One word ("Modality", "Rows") says nothing. */
static int name_style(const char *name)
{
    const char *paren = strrchr(name, '(');
    if (!paren || paren == name || paren[-1] != ' ') return -1;
    size_t n = (size_t)(paren - 1 - name);
    if (n == 0 || memchr(name, ' ', n) || memchr(name, '[', n) || memchr(name, '\'', n))
        return DC_CSV_STYLE_SEED;
    for (size_t i = 0; i + 1 < n; i++)
        if (name[i] >= 'a' && name[i] <= 'z' && name[i + 1] >= 'A' && name[i + 1] <= 'Z')
            return DC_CSV_STYLE_DICOM;
    return -1;
}

int dc_header_style(const char *const *names, size_t n)
{
    size_t votes[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        int s = name_style(names[i]);
        if (s >= 0) votes[s]++;
    }
    if (votes[0] == votes[1]) return -1;
    return votes[DC_CSV_STYLE_SEED] > votes[DC_CSV_STYLE_DICOM] ? DC_CSV_STYLE_SEED
                                                                  : DC_CSV_STYLE_DICOM;
}
