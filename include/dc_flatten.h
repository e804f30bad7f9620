/*
 * dc_flatten.h - one parsed file to one CSV row (SPEC 4, metadata CSV).
 *
 * Every element except pixel data (7FE0,0008/0009/0010, at any depth) and the
 * file meta group (0002,xxxx: not in the old crawler's pydicom dataset)
 * becomes a (column, value) pair.  Column
 * names are "Keyword (gggg, eeee)" with lowercase hex; elements inside
 * sequences get the sequence keywords joined by '_' as prefix
 * ("ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)").
 * Sequence elements themselves have no column.  Unknown public tags are named
 * "Unknown", private ones by the private dictionary or "Private"; private
 * creator elements are "PrivateCreator".  A column met more than once in one
 * file gets "DUPLICATE TAGS IN DICOM:v1/v2/...".
 *
 * Values: text trimmed of DICOM padding, converted to UTF-8; multiple values
 * joined by '\\'; binary numbers in decimal (shortest text that round-trips);
 * AT as "(gggg, eeee)"; OB/OW/OD/OF/OL/OV/UN as "<binary N bytes>".
 */
#ifndef DC_FLATTEN_H
#define DC_FLATTEN_H

#include <stddef.h>
#include <stdint.h>
#include "dc_dicom.h"

#define DC_MAX_PATH_DEPTH 16

/* A column: its name and its sort key, the numeric tag path. */
typedef struct {
    char *name;
    uint32_t path[DC_MAX_PATH_DEPTH];
    uint8_t depth; /* number of tags in path (1 at top level) */
} dc_column;

struct dc_row_block; /* arena block, private to flatten.c */
struct dc_row_index; /* name index, private to flatten.c */

/* One file's columns and values.  Names and values live in an arena owned by
 * the row: they stay valid until dc_row_clear/dc_row_free; copy what you keep
 * (dc_colset_add copies the name). */
typedef struct {
    dc_column *cols; /* distinct names, in the order first met */
    char **vals;     /* UTF-8 values, parallel to cols (NULL after dc_flatten_columns) */
    size_t n, cap;
    /* private */
    struct dc_row_block *arena;
    struct dc_row_index *index;
} dc_row;

void dc_row_init(dc_row *r);
void dc_row_free(dc_row *r);
/* forget the content, keep the memory (parsing many files) */
void dc_row_clear(dc_row *r);

/* IN ds; OUT row (appended).  Returns 0.  Never fails on odd content: values
 * that cannot be decoded are rendered as best possible. */
int dc_flatten(const dc_dataset *ds, dc_row *row);

/* Only the column set, without formatting values: the names in row->cols,
 * vals NULL.  Cheaper, for the header pass. */
int dc_flatten_columns(const dc_dataset *ds, dc_row *row);

/* Column ordering: by numeric tag path (group, element, then nested; a
 * prefix sorts first), then by name.  Returns <0, 0, >0. */
int dc_column_cmp(const dc_column *a, const dc_column *b);

/* shortest decimal text that parses back to the same value */
void dc_format_double(double v, char *out, size_t outlen);
void dc_format_float(float v, char *out, size_t outlen);

#endif
