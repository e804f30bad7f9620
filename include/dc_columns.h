/*
 * dc_columns.h - output.columns (SPEC 12): which header elements become
 * metadata columns.  Pure.
 *
 *   output:
 *     columns: {include: [...], exclude: [...]}
 *
 * A rule is one of
 *   private | sequences | binary     a class: odd groups (and their creators);
 *                                     every sequence with all its items; values of
 *                                     VR OB OW OD OF OL OV UN
 *   (gggg,eeee)                      a tag (hex), at any depth
 *   Keyword                          a data dictionary keyword, e.g. PatientName
 *   a glob (* ? [...])               matched against the keyword and against the
 *                                     tag text "(gggg,eeee)" (lowercase hex), e.g.
 *                                     *Date*, (0019,*)
 * Without include rules every element is a candidate; with them an element is
 * kept when it matches one, or lies inside a sequence that matches one
 * (sequences that do not match stay as containers, their items judged one
 * by one).  An element matching an exclude rule is left out with, for a
 * sequence, all its items; exclude wins.  Rules act below column naming, on
 * the parsed header (the same place as privacy.profile, privacy_dataset.c).
 */
#ifndef DC_COLUMNS_H
#define DC_COLUMNS_H

#include <stddef.h>
#include <stdint.h>

#include "dc_util.h"

enum dc_column_rule_kind { DC_CR_PRIVATE, DC_CR_SEQUENCES, DC_CR_BINARY, DC_CR_TAG, DC_CR_GLOB };

typedef struct {
    int kind;     /* enum dc_column_rule_kind */
    uint32_t tag; /* DC_CR_TAG (a keyword is resolved to its tag) */
    char *glob;   /* DC_CR_GLOB */
} dc_column_rule;

typedef struct {
    dc_column_rule *inc, *exc;
    size_t n_inc, n_exc;
} dc_columns;

/* Parse one rule; 0, or -1 with err ("unknown keyword \"PatientNam\"", ...). */
int dc_column_rule_parse(const char *text, dc_column_rule *out, char *err, size_t errlen);
/* IN include, exclude (rule texts, already checked); OUT c. */
void dc_columns_init(dc_columns *c, const dc_strvec *include, const dc_strvec *exclude);
void dc_columns_free(dc_columns *c);
int dc_columns_active(const dc_columns *c); /* any rule */

/* matches of one element against the include and the exclude lists */
int dc_columns_included(const dc_columns *c, uint32_t tag, uint16_t vr);
int dc_columns_excluded(const dc_columns *c, uint32_t tag, uint16_t vr);

#endif
