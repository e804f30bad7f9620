/*
 * scan.c - dc_scan helpers shared by grouping, planning and output:
 * data types, freeing.  See dc_scan.h.
 */
#include "dc_scan.h"

#include <stdlib.h>

int dc_dtype_size(int dtype)
{
    static const int sz[] = {1, 1, 2, 2, 4, 4, 4, 8};
    return (dtype >= 0 && dtype <= DC_DT_F64) ? sz[dtype] : 0;
}

const char *dc_dtype_name(int dtype)
{
    static const char *nm[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"};
    return (dtype >= 0 && dtype <= DC_DT_F64) ? nm[dtype] : "?";
}

void dc_scan_free(dc_scan *s)
{
    free(s->scan_id);
    free(s->reason);
    free(s->slice_rec);
    free(s->slice_frame);
    free(s->slice_positions);
    free(s->instance_numbers);
    free(s->rescale_slope);
    free(s->rescale_intercept);
    free(s->warnings);
}
