/*
 * grid.c - an image volume's voxel grid and where label planes and points
 * fall on it (SEG frames, RTSTRUCT contour points).  See dc_grid.h.
 */
#include "dc_grid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_decode.h" /* DC_DEFAULT_MAX_IMAGE_BYTES */
#include "dc_util.h"

void dc_grid_init(dc_grid *g)
{
    memset(g, 0, sizeof *g);
}

void dc_grid_free(dc_grid *g)
{
    free(g->pos);
    dc_grid_init(g);
}

void dc_grid_copy(dc_grid *dst, const dc_grid *src)
{
    if (dst == src) return;
    dc_grid_free(dst);
    *dst = *src;
    dst->pos = NULL;
    if (src->pos) {
        dst->pos = dc_malloc((size_t)src->nz * 3 * sizeof(double));
        memcpy(dst->pos, src->pos, (size_t)src->nz * 3 * sizeof(double));
    }
}

int dc_grid_from_scan(const dc_scan *s, dc_grid *g, char *why, size_t whylen)
{
    dc_grid_init(g);
    if (s->unreadable || s->ndim != 3 || s->samples > 1 || s->n_repeats > 1) {
        snprintf(why, whylen, "referenced scan is no 3D volume");
        return -1;
    }
    g->nz = (uint32_t)s->dims[0];
    g->ny = (uint32_t)s->dims[1];
    g->nx = (uint32_t)s->dims[2];
    memcpy(g->affine, s->affine, sizeof g->affine);
    if (s->slice_positions && s->n_positions == g->nz) {
        g->pos = dc_malloc((size_t)g->nz * 3 * sizeof(double));
        memcpy(g->pos, s->slice_positions, (size_t)g->nz * 3 * sizeof(double));
    }
    return 0;
}

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static double norm3(const double a[3])
{
    return sqrt(dot3(a, a));
}

/* column c (0 z, 1 y, 2 x, 3 origin) of the affine */
static void affine_col(const dc_grid *g, int c, double out[3])
{
    for (int r = 0; r < 3; r++) out[r] = g->affine[r * 4 + c];
}

static void unit_or(double v[3], const double fallback[3])
{
    double n = norm3(v);
    for (int i = 0; i < 3; i++) v[i] = n > 0 ? v[i] / n : fallback[i];
}

void dc_grid_axes(const dc_grid *g, double row[3], double col[3], double normal[3], double *sx,
                  double *sy)
{
    static const double ex[3] = {1, 0, 0}, ey[3] = {0, 1, 0};
    affine_col(g, 2, row);
    affine_col(g, 1, col);
    *sx = norm3(row);
    *sy = norm3(col);
    unit_or(row, ex);
    unit_or(col, ey);
    normal[0] = row[1] * col[2] - row[2] * col[1];
    normal[1] = row[2] * col[0] - row[0] * col[2];
    normal[2] = row[0] * col[1] - row[1] * col[0];
}

void dc_grid_slice_pos(const dc_grid *g, uint32_t k, double out[3])
{
    if (g->pos) {
        memcpy(out, g->pos + (size_t)k * 3, 3 * sizeof(double));
        return;
    }
    for (int r = 0; r < 3; r++) out[r] = g->affine[r * 4 + 3] + g->affine[r * 4] * k;
}

/* position of slice k along the normal (mm) */
static double slice_height(const dc_grid *g, uint32_t k, const double normal[3])
{
    double p[3];
    dc_grid_slice_pos(g, k, p);
    return dot3(p, normal);
}

static void grid_normal(const dc_grid *g, double normal[3])
{
    double row[3], col[3], sx, sy;
    dc_grid_axes(g, row, col, normal, &sx, &sy);
}

double dc_grid_local_spacing(const dc_grid *g, uint32_t k)
{
    double n[3], zc[3];
    grid_normal(g, n);
    if (g->nz < 2) {
        affine_col(g, 0, zc);
        return norm3(zc);
    }
    double sum = 0;
    int cnt = 0;
    if (k > 0) sum += fabs(slice_height(g, k, n) - slice_height(g, k - 1, n)), cnt++;
    if (k + 1 < g->nz) sum += fabs(slice_height(g, k + 1, n) - slice_height(g, k, n)), cnt++;
    return sum / cnt;
}

uint32_t dc_grid_nearest_slice(const dc_grid *g, const double p[3], double *dist)
{
    double n[3];
    grid_normal(g, n);
    double h = dot3(p, n), best = INFINITY;
    uint32_t kbest = 0;
    for (uint32_t k = 0; k < g->nz; k++) {
        double d = h - slice_height(g, k, n);
        if (fabs(d) < fabs(best)) best = d, kbest = k;
    }
    *dist = g->nz ? best : INFINITY;
    return kbest;
}

void dc_grid_inplane_index(const dc_grid *g, uint32_t k, const double p[3], double *y, double *x)
{
    double row[3], col[3], n[3], sx, sy, o[3], d[3];
    dc_grid_axes(g, row, col, n, &sx, &sy);
    dc_grid_slice_pos(g, k, o);
    for (int i = 0; i < 3; i++) d[i] = p[i] - o[i];
    *x = dot3(d, row) / (sx > 0 ? sx : 1);
    *y = dot3(d, col) / (sy > 0 ? sy : 1);
}

static int cosines_match(const double a[3], const double b[3])
{
    for (int i = 0; i < 3; i++)
        if (fabs(a[i] - b[i]) > DC_GRID_COS_TOL) return 0;
    return 1;
}

static int spacing_matches(double a, double b)
{
    return fabs(a - b) <= DC_GRID_REL_TOL * fmax(fabs(a), fabs(b));
}

/* a whole number within tol of v, in [0, limit - extent]: 0, else -1 */
static int whole_index(double v, double tol, uint32_t extent, uint32_t limit, uint32_t *out)
{
    double r = floor(v + 0.5);
    if (fabs(v - r) > tol) return -1;
    if (r < 0 || r + extent > limit) return -2;
    *out = (uint32_t)r;
    return 0;
}

int dc_grid_place_plane(const dc_grid *g, const double ipp[3], const double iop[6],
                        const double ps[2], uint32_t rows, uint32_t cols, double tol, uint32_t *z,
                        uint32_t *y0, uint32_t *x0, char *why, size_t whylen)
{
    double row[3], col[3], n[3], sx, sy, dist, y, x;
    dc_grid_axes(g, row, col, n, &sx, &sy);
    if (!cosines_match(iop, row) || !cosines_match(iop + 3, col)) {
        snprintf(why, whylen, "orientation differs");
        return -1;
    }
    /* PixelSpacing is (row spacing = y, column spacing = x) */
    if (!spacing_matches(ps[0], sy) || !spacing_matches(ps[1], sx)) {
        snprintf(why, whylen, "pixel spacing differs");
        return -1;
    }
    uint32_t k = dc_grid_nearest_slice(g, ipp, &dist);
    if (g->nz == 0 || fabs(dist) > tol * dc_grid_local_spacing(g, k)) {
        snprintf(why, whylen, "position between slices");
        return -1;
    }
    dc_grid_inplane_index(g, k, ipp, &y, &x);
    int ry = whole_index(y, tol, rows, g->ny, y0), rx = whole_index(x, tol, cols, g->nx, x0);
    if (ry == -1 || rx == -1) {
        snprintf(why, whylen, "position off the pixel grid");
        return -1;
    }
    if (ry || rx) {
        snprintf(why, whylen, "plane outside the grid");
        return -1;
    }
    *z = k;
    return 0;
}

int dc_grid_check_labels(const dc_grid *g, uint32_t n_labels, uint64_t max_bytes, char *why,
                         size_t whylen)
{
    if (!max_bytes) max_bytes = DC_DEFAULT_MAX_IMAGE_BYTES;
    const uint64_t dims[4] = {n_labels, g->nz, g->ny, g->nx};
    uint64_t bytes = 1;
    int over = 0;
    for (int i = 0; i < 4; i++) {
        if (dims[i] == 0) {
            snprintf(why, whylen, "empty label grid");
            return -1;
        }
        if (bytes > max_bytes / dims[i])
            over = 1;
        else
            bytes *= dims[i];
    }
    if (!over) return 0;
    snprintf(why, whylen,
             "labels of more than %llu bytes (%u x %u x %u x %u) exceed run.max_image_bytes (%llu)",
             (unsigned long long)max_bytes, n_labels, g->nz, g->ny, g->nx,
             (unsigned long long)max_bytes);
    return -1;
}
