/*
 * dc_select.h - input.select (SPEC 12): which scans are crawled, by header
 * values of the scan's first file.  Pure.
 *
 *   input:
 *     select:
 *       modality: [CT, MR]              Modality one of these
 *       sop_class: [1.2.840.10008.5.1.4.1.1.2]   SOPClassUID one of these
 *       exclude_image_type: [LOCALIZER, DERIVED] no ImageType value is one of these words
 *       exclude_burned_in: true         not BurnedInAnnotation YES, not a secondary
 *                                       capture (SOP class 1.2.840.10008.5.1.4.1.1.7*)
 *       min_slices: 5                   at least this many stored 2D frames
 *
 * Scans unreadable from grouping are never left out (they are results).
 * Scans left out are counted by the first criterion they fail, in the order
 * above.
 */
#ifndef DC_SELECT_H
#define DC_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "dc_config.h"
#include "dc_record.h"
#include "dc_scan.h"

enum {
    DC_SEL_MODALITY,
    DC_SEL_SOP_CLASS,
    DC_SEL_IMAGE_TYPE,
    DC_SEL_BURNED_IN,
    DC_SEL_SLICES,
    DC_SEL_N
};

typedef struct {
    uint64_t left_out[DC_SEL_N]; /* scans left out, by reason */
} dc_select_counts;

int dc_select_active(const dc_config *cfg);
/* the reason (DC_SEL_*) scan s is left out, or -1 when it is selected */
int dc_select_reason(const dc_config *cfg, const dc_record *first, const dc_scan *s);
/* IN/OUT scans[*n]: the selected ones kept in order (others freed); OUT counts */
void dc_select_scans(const dc_config *cfg, const dc_record *recs, dc_scan *scans, size_t *n,
                     dc_select_counts *counts);
/* With a privacy profile: scans whose pixels may show burned-in text
 * (BurnedInAnnotation YES, secondary captures) get "pixels may show burned-in
 * text (why)" in their warnings (the HDF5 `warnings` attribute). */
void dc_select_flag_burned_in(const dc_record *recs, dc_scan *scans, size_t n);
/* "3 scans left out by input.select (2 modality, 1 min_slices)" into out */
void dc_select_summary(const dc_select_counts *c, char *out, size_t outlen);

#endif
