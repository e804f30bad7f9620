/*
 * dc_csv.h - RFC 4180 CSV text, and the column set of the metadata CSV.
 *
 * Pure formatting and parsing: no files, no MPI (dc_csvout.h writes them).
 * Fields containing a comma, quote, CR or LF are quoted with quotes doubled;
 * records end with "\n".
 */
#ifndef DC_CSV_H
#define DC_CSV_H

#include <stddef.h>
#include "dc_flatten.h"
#include "dc_util.h"

/* append one field, quoted when needed (no separator).  The CSV is UTF-8:
 * bytes that are not part of well-formed UTF-8 (a non-UTF-8 file name in
 * "Example file") are written as \xNN, lowercase hex, as Python's
 * backslashreplace does; valid text is never changed. */
void dc_csv_field(dc_buf *out, const char *s);
void dc_csv_fieldn(dc_buf *out, const char *s, size_t n);

/* Append s[0..n) with every byte that is not well-formed UTF-8 as \xNN. */
void dc_utf8_escape(dc_buf *out, const char *s, size_t n);

/* Spreadsheet formula guard (output.csv_formula_guard, OWASP "CSV
 * injection"): when on, dc_csv_format_row writes a header value that
 * dc_csv_is_formula() with a single quote in front ("=1+1" -> "'=1+1").
 * Off by default (values exactly as in the file).  Scan IDs and the fixed
 * columns are never changed (they are keys for appending). */
void dc_csv_set_formula_guard(int on);
int dc_csv_formula_guard(void);
/* 1 when v starts with =, +, -, @, TAB or CR and is not a number or a
 * backslash-separated list of numbers ("-5", "+1e3", "-1.5\2", "-inf"). */
int dc_csv_is_formula(const char *v);

/* Parse one record from p[0..n).  OUT fields (values unquoted).  Returns the
 * bytes consumed including the newline; 0 when the record is incomplete (no
 * newline at the end of input or an open quote); -1 when it is invalid (a NUL
 * byte, a quote in the middle of an unquoted field). */
long dc_csv_parse_record(const char *p, size_t n, dc_strvec *fields);

/* The ordered set of columns of the metadata CSV (after "Scan ID" and
 * "No. DICOMs in scan"). */
typedef struct {
    dc_column *cols;
    size_t n, cap;
    /* open-addressing hash index name -> position, rebuilt by dc_colset_sort */
    size_t *idx;
    size_t idx_cap;
    /* changes (to a value unique in the process) whenever the columns change:
     * init, add, sort, free; caches of column positions key on it */
    uint64_t stamp;
} dc_colset;

void dc_colset_init(dc_colset *c);
void dc_colset_free(dc_colset *c);
/* add if no column with this name; returns 1 if added */
int dc_colset_add(dc_colset *c, const dc_column *col);
/* position of the column with this name or -1 */
long dc_colset_find(const dc_colset *c, const char *name);
/* sort by dc_column_cmp (keeps the index valid) */
void dc_colset_sort(dc_colset *c);

/* "Scan ID,No. DICOMs in scan,<names...>\n" */
void dc_csv_format_header(const dc_colset *c, dc_buf *out);
/* One row in header order; values for columns missing from row are empty.
 * Returns the number of row columns not present in c (should be 0). */
size_t dc_csv_format_row(const dc_colset *c, const char *scan_id, long n_dicoms, const dc_row *row,
                         dc_buf *out);
/* The same row in two parts: the fixed columns "scan_id,n_dicoms", and the
 * values ",v1,v2,...\n" (returns the missing count as dc_csv_format_row),
 * so that values can be formatted before the Scan ID is known. */
void dc_csv_format_fixed(const char *scan_id, long n_dicoms, dc_buf *out);
size_t dc_csv_format_values(const dc_colset *c, const dc_row *row, dc_buf *out);
/* A row formatted when the columns were old_names (without the two fixed
 * ones) rewritten in place for c, which holds them all (columns are only
 * ever added).  Returns 0, or -1 when row is not one CSV record. */
int dc_csv_remap_row(const dc_colset *c, const dc_strvec *old_names, dc_buf *row);

#endif
