/*
 * dc_colkey.h - what a metadata CSV column name says (colkey.c): its sort
 * key, and which csv_style (dc_flatten.h) a header was written in.  Pure.
 */
#ifndef DC_COLKEY_H
#define DC_COLKEY_H

#include <stddef.h>
#include "dc_flatten.h"

/* Sort key (tag path) of a column from its name alone; col->name untouched. */
void dc_column_key_from_name(const char *name, dc_column *col);

/* The csv_style of a header's tag column names (names[0..n), the fixed
 * columns may be included): DC_CSV_STYLE_SEED, DC_CSV_STYLE_DICOM, or -1
 * when the names do not tell (no column, only one-word names). */
int dc_header_style(const char *const *names, size_t n);

#endif
