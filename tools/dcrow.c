/*
 * dcrow - print the metadata CSV row of DICOM files (dc_flatten), one
 * "name<TAB>value" line per column, for tests and for looking at files.
 *
 *   dcrow [-p] [-c] [-b N] [-s seed|dicom] file...
 *     -p    prefix each line with the column's tag path and a TAB:
 *           "gggg,eeee/gggg,eeee<TAB>name<TAB>value" (enclosing sequences first)
 *     -c    names only (dc_flatten_columns), no values
 *     -b N  benchmark: parse + flatten each file N times, print the time per
 *           file on stderr (parse and flatten separately)
 *     -s STYLE  output.csv_style: seed (default: pydicom's names and value
 *           text, as the old crawler) or dicom (keywords, '\'-joined values)
 *
 * Files are parsed with walk_fragments, so elements after encapsulated pixel
 * data (trailing padding) are shown too.
 *
 * Escaping of values (reversible): '\' -> "\\", TAB -> "\t", LF -> "\n",
 * CR -> "\r", other bytes below 0x20 and 0x7F -> "\xHH".  Names are printed
 * as they are.  With several files, each starts with "# <path>".
 * Exit status: 0, or 1 if a file could not be parsed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_dicom.h"
#include "dc_flatten.h"
#include "dc_util.h"

static void put_escaped(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\\':
            fputs("\\\\", stdout);
            break;
        case '\t':
            fputs("\\t", stdout);
            break;
        case '\n':
            fputs("\\n", stdout);
            break;
        case '\r':
            fputs("\\r", stdout);
            break;
        default:
            if (*p < 0x20 || *p == 0x7F)
                printf("\\x%02x", *p);
            else
                putchar(*p);
        }
    }
}

static void print_row(const dc_row *row, int with_path)
{
    for (size_t i = 0; i < row->n; i++) {
        const dc_column *c = &row->cols[i];
        if (with_path) {
            for (int k = 0; k < c->depth; k++)
                printf("%s%04x,%04x", k ? "/" : "", (unsigned)(c->path[k] >> 16),
                       (unsigned)(c->path[k] & 0xFFFF));
            putchar('\t');
        }
        fputs(c->name, stdout);
        if (row->vals && row->vals[i]) {
            putchar('\t');
            put_escaped(row->vals[i]);
        }
        putchar('\n');
    }
}

static int bench(const char *path, int n)
{
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    dc_dataset ds;
    dc_dataset_init(&ds);
    dc_row row;
    dc_row_init(&row);
    char err[DC_ERRLEN];
    double t_parse = 0, t_flat = 0, t_cols = 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        double t0 = dc_now();
        dc_dataset_clear(&ds);
        if (dc_parse_file(path, &o, &ds, err, sizeof err) != DC_PARSE_OK) rc = 1;
        double t1 = dc_now();
        dc_row_clear(&row);
        dc_flatten(&ds, &row);
        double t2 = dc_now();
        dc_row_clear(&row);
        dc_flatten_columns(&ds, &row);
        double t3 = dc_now();
        t_parse += t1 - t0;
        t_flat += t2 - t1;
        t_cols += t3 - t2;
    }
    if (rc == 0)
        fprintf(stderr,
                "%s: %zu elements, %zu columns: parse %.2f us, flatten %.2f us, columns %.2f us "
                "per file\n",
                path, ds.n_el, row.n, 1e6 * t_parse / n, 1e6 * t_flat / n, 1e6 * t_cols / n);
    else
        fprintf(stderr, "%s: %s\n", path, err);
    dc_row_free(&row);
    dc_dataset_free(&ds);
    return rc;
}

static int one_file(const char *path, int with_path, int names_only)
{
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    o.walk_fragments = 1;
    dc_dataset ds;
    dc_dataset_init(&ds);
    char err[DC_ERRLEN];
    int r = dc_parse_file(path, &o, &ds, err, sizeof err);
    if (r != DC_PARSE_OK) {
        fprintf(stderr, "dcrow: %s: %s\n", path, r == DC_PARSE_NOT_DICOM ? "not DICOM" : err);
        dc_dataset_free(&ds);
        return 1;
    }
    dc_row row;
    dc_row_init(&row);
    if (names_only)
        dc_flatten_columns(&ds, &row);
    else
        dc_flatten(&ds, &row);
    print_row(&row, with_path);
    dc_row_free(&row);
    dc_dataset_free(&ds);
    return 0;
}

int main(int argc, char **argv)
{
    int with_path = 0, names_only = 0, bench_n = 0, first = 1, rc = 0;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "-p") == 0)
            with_path = 1;
        else if (strcmp(argv[first], "-c") == 0)
            names_only = 1;
        else if (strcmp(argv[first], "-b") == 0 && first + 1 < argc)
            bench_n = atoi(argv[++first]);
        else if (strcmp(argv[first], "-s") == 0 && first + 1 < argc && !strcmp(argv[first + 1], "seed"))
            dc_flatten_set_style(DC_CSV_STYLE_SEED), first++;
        else if (strcmp(argv[first], "-s") == 0 && first + 1 < argc && !strcmp(argv[first + 1], "dicom"))
            dc_flatten_set_style(DC_CSV_STYLE_DICOM), first++;
        else
            break;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: dcrow [-p] [-c] [-b N] [-s seed|dicom] file...\n");
        return 2;
    }
    for (int i = first; i < argc; i++) {
        if (bench_n > 0) {
            rc |= bench(argv[i], bench_n);
            continue;
        }
        if (argc - first > 1) printf("# %s\n", argv[i]);
        rc |= one_file(argv[i], with_path, names_only);
    }
    return rc;
}
