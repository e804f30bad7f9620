/*
 * decode.c - pixel data to stored values: codec table and normalisation.
 * See dc_decode.h.
 */
#include "dc_decode.h"

#include <stdio.h>
#include <string.h>

#include "dc_scan.h"

void dc_pixel_desc_from_record(const dc_record *r, dc_pixel_desc *pd)
{
    memset(pd, 0, sizeof *pd);
    pd->rows = r->rows;
    pd->cols = r->cols;
    pd->samples = r->samples ? r->samples : 1;
    pd->frames = r->frames ? r->frames : 1;
    pd->bits_alloc = r->bits_alloc;
    pd->bits_stored = r->bits_stored ? r->bits_stored : r->bits_alloc;
    pd->high_bit = r->high_bit;
    pd->pixel_rep = r->pixel_rep;
    pd->planar = r->planar;
    pd->pixel_kind = r->pixel_kind;
    snprintf(pd->photometric, sizeof pd->photometric, "%s", r->photometric);
    snprintf(pd->ts_uid, sizeof pd->ts_uid, "%s", r->ts_uid);
    pd->big_endian = strcmp(r->ts_uid, "1.2.840.10008.1.2.2") == 0;
}

int dc_output_dtype(const dc_pixel_desc *pd, int rescale)
{
    if (pd->pixel_kind == DC_PIX_DOUBLE) return DC_DT_F64;
    if (pd->pixel_kind == DC_PIX_FLOAT || rescale) return DC_DT_F32;
    int s = pd->pixel_rep == 1;
    if (pd->bits_alloc <= 8) return s ? DC_DT_I8 : DC_DT_U8;
    if (pd->bits_alloc <= 16) return s ? DC_DT_I16 : DC_DT_U16;
    return s ? DC_DT_I32 : DC_DT_U32;
}
