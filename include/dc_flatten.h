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
 * Values: text trimmed of DICOM padding as pydicom trims it (trailing spaces
 * and NULs; AE DS IS per value on both sides; SH LO UC per value), SH LO ST
 * LT PN UC UT decoded with the Specific Character Set in force for the
 * element (dc_charset.h), other text as ISO-8859-1, all to UTF-8; multiple
 * values joined by '\\'; NUL characters dropped (they would make the CSV look
 * torn); binary numbers in decimal, complete values only, byte order from
 * DC_EL_BIGENDIAN; FL/FD as dc_format_float/dc_format_double; AT as
 * "(gggg, eeee)"; OB/OW/OD/OF/OL/OV/UN (and unknown VRs, values not loaded)
 * as "<binary N bytes>"; an empty value as "".
 *
 * Cost: no allocation per file once a row has been reused (dc_row_clear);
 * CT_small.dcm (270 elements): about 40 us, names only about 20 us (parsing
 * it: 20 us); column names, dictionary answers and value texts are cached
 * per thread, and a reused row flattens a file shaped like the previous one
 * (a series) from the previous row: ~100 instructions per element.
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
struct dc_row_cols;  /* column list shared by compact copies, private to flatten.c */

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
    struct dc_row_cols *shared; /* cols belong to this shared list (compact copies) */
} dc_row;

void dc_row_init(dc_row *r);
void dc_row_free(dc_row *r);
/* forget the content, keep the memory (parsing many files) */
void dc_row_clear(dc_row *r);
/* OUT dst (initialised here): a copy of src's columns and values, so that a
 * reused scratch row (with its name index, arena and spare capacity) does
 * the flattening and only the content is kept.  The values take two
 * allocations of their size; the columns (names and tag paths, ~90% of a
 * row) are shared, reference-counted, with the previous copy made from the
 * same src when they are the same (the files of a series), else copied once
 * into a new shared list.  dst has no name index: it is for reading (CSV
 * formatting, column merging) and dc_row_free, not for dc_flatten; its cols
 * must not be written to. */
void dc_row_compact_copy(const dc_row *src, dc_row *dst);
/* For a row that dc_flatten made from the last file's memo (a file of the
 * same shape): one token per value, parallel to vals, such that two equal
 * non-zero tokens (of any rows, as long as both were current) mean the same
 * text: a value the file did not change keeps its token, so a formatter can
 * reuse what it made of it (dc_csv_format_values).  0: no token for that
 * value.  NULL for other rows (a fresh walk, compact copies) and after the
 * row changes. */
const uint64_t *dc_row_val_tokens(const dc_row *r);
/* The id of a row's column list: a compact copy's shared list, or the
 * columns a flatten made (each walk a new id; a row from the memo has the id
 * of the walk that made the memo's columns).  Unique in the process, never
 * reused, so a cache keyed by it cannot go stale; 0 for other rows (no
 * columns, or made otherwise). */
uint64_t dc_row_cols_id(const dc_row *r);

/* IN ds; OUT row (appended).  Returns 0.  Never fails on odd content: values
 * that cannot be decoded are rendered as best possible. */
int dc_flatten(const dc_dataset *ds, dc_row *row);

/* Only the column set, without formatting values: the names in row->cols,
 * vals NULL.  Cheaper, for the header pass. */
int dc_flatten_columns(const dc_dataset *ds, dc_row *row);

/* output.csv_style (SPEC 4).  seed (the default): column names as the old
 * crawler wrote them, pydicom's DataElement.name + " " + str(tag)
 * ("Patient's Name (0010, 0010)"; private: "Private Creator", "[Scale
 * Slope]" from pydicom's private dictionary, "Private tag data"; unknown
 * public: "" or "Group Length"; sequences prefixed by their names and "_"),
 * values as pydicom's str(value) (several values as a Python list:
 * "['ORIGINAL', 'PRIMARY']", "[0.5, 0.5]"; FL as the widened Python float;
 * an empty number, DS, IS or AT "None"); binary as above, NULs dropped.
 * dicom: the keywords and '\\'-joined values described above. */
enum dc_csv_style { DC_CSV_STYLE_SEED = 0, DC_CSV_STYLE_DICOM = 1 };
/* Process-wide, before flattening (clears the name caches on a change). */
void dc_flatten_set_style(int style);
int dc_flatten_style(void);

/* Free this thread's lookup caches (column names, dictionary answers);
 * they are rebuilt on the next call. */
void dc_flatten_release(void);

/* Column ordering: by numeric tag path (group, element, then nested; a
 * prefix sorts first), then by name.  Returns <0, 0, >0. */
int dc_column_cmp(const dc_column *a, const dc_column *b);

/* Shortest decimal text that parses back to the same value (as a double,
 * resp. as a float32), in Python repr's layout: "0.1", "1.0", "-0.0",
 * "1e-05", "1.5e+16", "nan", "inf"; fixed notation when the decimal exponent
 * is in [-4, 16).  dc_format_double(v) == repr(v) in Python; FL values are
 * not widened first (0.1f is "0.1", not "0.10000000149011612").  outlen 32
 * is always enough. */
void dc_format_double(double v, char *out, size_t outlen);
void dc_format_float(float v, char *out, size_t outlen);

#endif
