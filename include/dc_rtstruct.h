/*
 * dc_rtstruct.h - RT Structure Sets (RTSTRUCT) to one mask per ROI on an
 * image grid (SPEC 13).  Pure: a parsed dataset or plain structs in, masks
 * out.
 *
 * dc_rtss_read takes the ROIs from StructureSetROISequence (ROINumber,
 * ROIName, ReferencedFrameOfReferenceUID), ROIContourSequence
 * (ReferencedROINumber, ROIDisplayColor, ContourSequence: ContourGeometricType,
 * ContourData) and RTROIObservationsSequence (RTROIInterpretedType).
 *
 * Rasterisation rule (dc_rtss_rasterise), one ROI at a time:
 *   - only CLOSED_PLANAR contours make area; POINT and OPEN_PLANAR /
 *     OPEN_NONPLANAR contours are counted in the warnings, not drawn;
 *   - a contour belongs to the slice whose plane is nearest to its first point
 *     along the normal, and every point must lie within half the local slice
 *     spacing of that plane (else it is skipped: "N contours off every slice");
 *   - its points become continuous in-plane indices (y, x) relative to that
 *     slice's position (voxel centres at integers: the inverse of the affine
 *     in the plane);
 *   - a voxel is inside a contour when its centre is inside the polygon by
 *     the even-odd rule (scanline at the centre's y, crossings of edges with
 *     one end strictly above and one at or below; centres with x in
 *     [ceil(x_2i), x_2i+1) between crossing pairs are inside);
 *   - the contours of one ROI on one slice combine by XOR (even-odd across
 *     contours), so a contour inside another is a hole and two disjoint
 *     contours are both drawn.
 */
#ifndef DC_RTSTRUCT_H
#define DC_RTSTRUCT_H

#include <stdint.h>

#include "dc_dicom.h"
#include "dc_grid.h"

enum dc_contour_type {
    DC_CONTOUR_CLOSED_PLANAR = 0,
    DC_CONTOUR_POINT = 1,
    DC_CONTOUR_OPEN_PLANAR = 2,
    DC_CONTOUR_OPEN_NONPLANAR = 3,
    DC_CONTOUR_OTHER = 4
};

typedef struct {
    int type;    /* enum dc_contour_type */
    uint32_t n;  /* points */
    double *pts; /* n x 3, LPS mm */
} dc_contour;

typedef struct {
    int32_t number;            /* ROINumber */
    char name[256];            /* ROIName */
    char interpreted_type[17]; /* RTROIInterpretedType: ORGAN, PTV, ... ("" when absent) */
    int has_color;
    uint8_t color[3];            /* ROIDisplayColor */
    char frame_of_reference[65]; /* ReferencedFrameOfReferenceUID */
    uint32_t n_contours;
    dc_contour *contours;
} dc_roi;

typedef struct {
    uint32_t n_rois;
    dc_roi *rois; /* in StructureSetROISequence order */
} dc_rtss;

void dc_rtss_free(dc_rtss *s);

/* Read the ROIs of a structure set.  Returns 0, or -1 with a reason in err
 * ("not a structure set: StructureSetROISequence missing", "ROI contour item
 * 2 references no ROI of StructureSetROISequence", "contour 3 of ROI 1:
 * ContourData has 7 values, not a multiple of 3"...). */
int dc_rtss_read(const dc_dataset *ds, dc_rtss *s, char *err, size_t errlen);

/* counts for the warnings of one rasterised ROI */
typedef struct {
    uint32_t drawn;      /* closed contours rasterised */
    uint32_t not_closed; /* POINT / OPEN contours skipped */
    uint32_t off_slice;  /* closed contours off every slice (or not planar to one) */
    uint32_t degenerate; /* closed contours of fewer than 3 points */
} dc_raster_stats;

/* Rasterise ROI r on grid g into mask (g->nz x g->ny x g->nx uint8,
 * overwritten: 1 inside, 0 outside).  Returns 0. */
int dc_rtss_rasterise(const dc_roi *r, const dc_grid *g, uint8_t *mask, dc_raster_stats *st);

/* Even-odd fill of one polygon (n points, continuous (y, x) indices, voxel
 * centres at integers) on an ny x nx slice: every voxel whose centre is
 * inside is toggled (XOR), so several calls on one slice combine by XOR.
 * ys/xs: n values each.  work: scratch of n doubles. */
void dc_polygon_xor_fill(const double *ys, const double *xs, uint32_t n, uint32_t ny, uint32_t nx,
                         double *work, uint8_t *slice);

#endif
