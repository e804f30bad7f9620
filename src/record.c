/*
 * record.c - dc_record: the compact per-file summary of the header pass.
 * See dc_record.h.
 */
#include "dc_record.h"

#include <stdlib.h>
#include <string.h>

void dc_record_init(dc_record *r)
{
    memset(r, 0, sizeof *r);
    r->frames = 1;
    r->slope = 1.0;
}

void dc_record_free(dc_record *r)
{
    free(r->frame_geom);
    r->frame_geom = NULL;
    r->n_frame_geom = 0;
}
