/*
 * columns.c - output.columns rules (see dc_columns.h): parsing a rule and
 * matching one element (tag, VR) against the include and exclude lists.
 */
#include "dc_columns.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_dicom.h"
#include "dc_dict.h"

static int is_keyword(const char *s)
{
    if (!isalpha((unsigned char)s[0])) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s)) return 0;
    return 1;
}

static int keyword_tag(const char *kw, uint32_t *tag)
{
    for (size_t i = 0; i < dc_dict_public_n; i++)
        if (!strcmp(dc_dict_public[i].e.keyword, kw)) {
            *tag = dc_dict_public[i].tag;
            return 0;
        }
    return -1;
}

/* "(gggg,eeee)", spaces allowed, hex digits only */
static int parse_tag(const char *s, uint32_t *tag)
{
    unsigned g, e;
    char close;
    if (sscanf(s, " ( %4x , %4x %c", &g, &e, &close) != 3 || close != ')') return -1;
    for (const char *p = s; *p; p++)
        if (*p == '*' || *p == '?' || *p == '[') return -1;
    *tag = DC_TAG(g, e);
    return 0;
}

/* a glob with the tag text normalised: no spaces, lowercase */
static char *normal_glob(const char *s)
{
    char *g = dc_malloc(strlen(s) + 1), *o = g;
    int in_tag = s[0] == '(';
    for (; *s; s++) {
        if (in_tag && *s == ' ') continue;
        *o++ = in_tag ? (char)tolower((unsigned char)*s) : *s;
    }
    *o = '\0';
    return g;
}

int dc_column_rule_parse(const char *text, dc_column_rule *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!strcmp(text, "private"))
        out->kind = DC_CR_PRIVATE;
    else if (!strcmp(text, "sequences"))
        out->kind = DC_CR_SEQUENCES;
    else if (!strcmp(text, "binary"))
        out->kind = DC_CR_BINARY;
    else if (parse_tag(text, &out->tag) == 0)
        out->kind = DC_CR_TAG;
    else if (strpbrk(text, "*?[")) {
        out->kind = DC_CR_GLOB;
        out->glob = normal_glob(text);
    } else if (is_keyword(text)) {
        out->kind = DC_CR_TAG;
        if (keyword_tag(text, &out->tag) != 0) {
            snprintf(err, errlen,
                     "unknown keyword \"%s\" (a data dictionary keyword, e.g. "
                     "PatientName)",
                     text);
            return -1;
        }
    } else {
        snprintf(err, errlen,
                 "\"%s\" is not private, sequences, binary, a tag (gggg,eeee), a "
                 "keyword or a pattern",
                 text);
        return -1;
    }
    return 0;
}

static void parse_list(const dc_strvec *v, dc_column_rule **rules, size_t *n)
{
    *rules = dc_calloc(v && v->n ? v->n : 1, sizeof **rules);
    *n = 0;
    char err[256];
    for (size_t i = 0; v && i < v->n; i++)
        if (dc_column_rule_parse(v->v[i], &(*rules)[*n], err, sizeof err) == 0) (*n)++;
}

void dc_columns_init(dc_columns *c, const dc_strvec *include, const dc_strvec *exclude)
{
    parse_list(include, &c->inc, &c->n_inc);
    parse_list(exclude, &c->exc, &c->n_exc);
}

void dc_columns_free(dc_columns *c)
{
    for (size_t i = 0; i < c->n_inc; i++) free(c->inc[i].glob);
    for (size_t i = 0; i < c->n_exc; i++) free(c->exc[i].glob);
    free(c->inc);
    free(c->exc);
    memset(c, 0, sizeof *c);
}

int dc_columns_active(const dc_columns *c)
{
    return c && (c->n_inc || c->n_exc);
}

static int is_binary(uint16_t vr)
{
    static const char *const b[] = {"OB", "OW", "OD", "OF", "OL", "OV", "UN"};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
        if (vr == DC_VR(b[i][0], b[i][1])) return 1;
    return 0;
}

static int rule_matches(const dc_column_rule *r, uint32_t tag, uint16_t vr)
{
    switch (r->kind) {
    case DC_CR_PRIVATE:
        return (DC_TAG_GROUP(tag) & 1) != 0;
    case DC_CR_SEQUENCES:
        return vr == DC_VR('S', 'Q');
    case DC_CR_BINARY:
        return is_binary(vr);
    case DC_CR_TAG:
        return r->tag == tag;
    case DC_CR_GLOB: {
        char t[16];
        snprintf(t, sizeof t, "(%04x,%04x)", DC_TAG_GROUP(tag), DC_TAG_ELEM(tag));
        if (fnmatch(r->glob, t, 0) == 0) return 1;
        const char *kw = (DC_TAG_GROUP(tag) & 1) ? NULL : dc_dict_keyword(tag);
        return kw && fnmatch(r->glob, kw, 0) == 0;
    }
    }
    return 0;
}

static int any(const dc_column_rule *r, size_t n, uint32_t tag, uint16_t vr)
{
    for (size_t i = 0; i < n; i++)
        if (rule_matches(&r[i], tag, vr)) return 1;
    return 0;
}

int dc_columns_included(const dc_columns *c, uint32_t tag, uint16_t vr)
{
    return !c->n_inc || any(c->inc, c->n_inc, tag, vr);
}

int dc_columns_excluded(const dc_columns *c, uint32_t tag, uint16_t vr)
{
    return any(c->exc, c->n_exc, tag, vr);
}
