/*
 * dc_labels.h - one label object (DICOM SEG or RTSTRUCT) made into label
 * volumes on a grid: the step between the label core (seg.c, rtstruct.c,
 * grid.c) and whoever writes the result (the crawl's label phase,
 * labels_run.c, and tools/dclabel.c).  No MPI, no output files: a parsed
 * dataset and a grid in, a uint8 (labels, z, y, x) buffer and the objects'
 * attributes out.
 *
 * SEG: every frame placed by its plane position on the image grid; when
 * one frame does not lie on it (or no image grid is given) the SEG's own
 * grid (dc_seg_own_grid) with a warning "not on the image grid (<why>): own
 * grid".  RTSTRUCT: one mask per ROI on the image grid (an image grid is
 * required), rule in dc_rtstruct.h.
 *
 * Memory: the whole (labels, z, y, x) volume, bounded before allocation by
 * dc_grid_check_labels against max_bytes (run.max_image_bytes; 0: default).
 */
#ifndef DC_LABELS_H
#define DC_LABELS_H

#include <stdint.h>

#include "dc_dicom.h"
#include "dc_grid.h"
#include "dc_rtstruct.h"
#include "dc_seg.h"
#include "dc_util.h"

enum dc_label_kind { DC_LABEL_SEG = 0, DC_LABEL_RTSTRUCT = 1 };

typedef struct {
    int kind;              /* enum dc_label_kind */
    dc_grid grid;          /* the grid of the volumes (the image's, or the SEG's own) */
    int own_grid;          /* 1: SEG on its own grid */
    uint32_t n_labels;     /* segments or ROIs */
    uint8_t *data;         /* n_labels x nz x ny x nx */
    char warning[DC_ERRLEN];
    dc_seg_info seg;           /* kind SEG */
    dc_rtss rtss;              /* kind RTSTRUCT */
    dc_raster_stats *stats;    /* kind RTSTRUCT: per ROI */
} dc_label_volume;

void dc_label_volume_free(dc_label_volume *v);

/* A SEG (ds parsed with keep_open and walk_fragments, for decoding) on the
 * image grid (NULL or nz 0: its own grid).  Returns 0, or -1 with err. */
int dc_label_seg(dc_dataset *ds, const dc_grid *image, uint64_t max_bytes, dc_label_volume *v,
                 char *err, size_t errlen);

/* An RTSTRUCT on the image grid.  Returns 0, or -1 with err. */
int dc_label_rtss(const dc_dataset *ds, const dc_grid *image, uint64_t max_bytes,
                  dc_label_volume *v, char *err, size_t errlen);

/* The warnings of an RTSTRUCT's ROIs (contours not drawn), "" when none */
void dc_label_rtss_warnings(const dc_label_volume *v, dc_buf *out);

#endif
