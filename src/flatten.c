/*
 * flatten.c - one parsed file to one CSV row (stub while being written).
 */
#include "dc_flatten.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

void dc_row_init(dc_row *r) { memset(r, 0, sizeof *r); }
void dc_row_clear(dc_row *r) { r->n = 0; }
void dc_row_free(dc_row *r)
{
    free(r->cols);
    free(r->vals);
    memset(r, 0, sizeof *r);
}
int dc_flatten(const dc_dataset *ds, dc_row *row) { (void)ds; (void)row; return 0; }
int dc_flatten_columns(const dc_dataset *ds, dc_row *row) { (void)ds; (void)row; return 0; }
int dc_column_cmp(const dc_column *a, const dc_column *b)
{
    for (int i = 0; i < a->depth && i < b->depth; i++)
        if (a->path[i] != b->path[i]) return a->path[i] < b->path[i] ? -1 : 1;
    if (a->depth != b->depth) return a->depth < b->depth ? -1 : 1;
    return strcmp(a->name, b->name);
}
void dc_format_double(double v, char *out, size_t outlen) { snprintf(out, outlen, "%.17g", v); }
void dc_format_float(float v, char *out, size_t outlen) { snprintf(out, outlen, "%.9g", (double)v); }
