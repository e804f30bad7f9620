/*
 * dc_grid.h - the voxel grid of an image volume, and where planes and points
 * of a label object (SEG frames, RTSTRUCT contours) fall on it.
 *
 * A dc_grid is what a label needs to know of the volume it is drawn on:
 * dims (z, y, x) and the geometry of dc_scan (SPEC 4/5): the affine mapping
 * index (z, y, x, 1) to LPS mm (row major, column x = row cosine * spacing x,
 * column y = column cosine * spacing y, column z = step between slices,
 * column 3 = position of slice 0) and, when known, each slice's
 * ImagePositionPatient (slice_positions), which wins over the affine's z
 * column (non-uniform spacing, gaps).  Pure: no I/O, no MPI.
 *
 * Plane matching (SEG frames).  A plane (position p, orientation iop, pixel
 * spacing ps) lies on the grid when
 *   - its row and column cosines are the grid's (each component within
 *     DC_GRID_COS_TOL),
 *   - its pixel spacing is the grid's (relative DC_GRID_REL_TOL),
 *   - p is within tol * slice spacing of some slice plane k along the normal,
 *   - p's in-plane offset from slice k's position is a whole number of pixels
 *     (within tol pixel of one) in each direction, and the frame fits inside
 *     the grid's rows and columns from there.
 * tol = DC_GRID_POS_TOL (0.1: a tenth of a voxel; positions are written as
 * DS text with ~6 significant digits, far below it, while a half-voxel shift
 * of a resampled segmentation is far above it).
 *
 * Point location (RTSTRUCT contours).  A point's slice is the slice k whose
 * plane is nearest along the normal; it is on that slice when the distance is
 * at most half the local slice spacing (the spacing to the neighbouring
 * slices; for a single slice, |affine z column|).  Its in-plane continuous
 * index (y, x) is the offset from slice k's position along the column and
 * row cosines divided by the pixel spacing (voxel centres at integers).
 */
#ifndef DC_GRID_H
#define DC_GRID_H

#include <stdint.h>

#include "dc_scan.h"

#define DC_GRID_COS_TOL 1e-3
#define DC_GRID_REL_TOL 1e-3
#define DC_GRID_POS_TOL 0.1

typedef struct {
    uint32_t nz, ny, nx;
    double affine[16]; /* row major, index (z, y, x, 1) -> LPS mm */
    double *pos;       /* nz x 3 slice positions, NULL: from the affine */
} dc_grid;

void dc_grid_init(dc_grid *g);
void dc_grid_free(dc_grid *g);
/* copy src into dst (dst's previous content freed) */
void dc_grid_copy(dc_grid *dst, const dc_grid *src);

/* The grid of a 3D volume scan (dims (slices, rows, cols), affine,
 * slice_positions).  Returns 0, or -1 with why when the scan is no 3D volume
 * (unreadable, 4D, colour, per-file). */
int dc_grid_from_scan(const dc_scan *s, dc_grid *g, char *why, size_t whylen);

/* OUT unit row cosine (x direction), column cosine (y), normal = row x col,
 * pixel spacing sx, sy (mm) */
void dc_grid_axes(const dc_grid *g, double row[3], double col[3], double normal[3], double *sx,
                  double *sy);
/* position of slice k (LPS mm) */
void dc_grid_slice_pos(const dc_grid *g, uint32_t k, double out[3]);
/* spacing around slice k along the normal: mean distance to its neighbours
 * (one neighbour at the ends); |affine z column| for a single slice */
double dc_grid_local_spacing(const dc_grid *g, uint32_t k);

/* The slice whose plane is nearest to point p along the normal: returns k
 * and the signed distance (mm) in *dist. */
uint32_t dc_grid_nearest_slice(const dc_grid *g, const double p[3], double *dist);

/* Where a plane of rows x cols pixels lies on the grid (rules above, tol in
 * voxels).  Returns 0 with *z, *y0, *x0 (the index of the plane's first
 * pixel), or -1 with the reason in why ("orientation differs", "pixel
 * spacing differs", "position between slices", "position off the pixel
 * grid", "plane outside the grid"). */
int dc_grid_place_plane(const dc_grid *g, const double ipp[3], const double iop[6],
                        const double ps[2], uint32_t rows, uint32_t cols, double tol, uint32_t *z,
                        uint32_t *y0, uint32_t *x0, char *why, size_t whylen);

/* Bounds before allocation (issue 6): n_labels volumes of uint8 on g
 * (segments or ROIs x z x y x x bytes) against max_bytes (run.max_image_bytes;
 * 0: DC_DEFAULT_MAX_IMAGE_BYTES), computed without overflow.  Returns 0, or
 * -1 with why ("labels of more than M bytes (S x Z x Y x X) exceed run.max_image_bytes (M)",
 * "empty label grid"). */
int dc_grid_check_labels(const dc_grid *g, uint32_t n_labels, uint64_t max_bytes, char *why,
                         size_t whylen);

/* In-plane continuous index of point p relative to slice k: *y along the
 * column cosine, *x along the row cosine, in pixels (voxel centres at
 * integers). */
void dc_grid_inplane_index(const dc_grid *g, uint32_t k, const double p[3], double *y, double *x);

#endif
