/*
 * tiles.c - one tile of a tiled frame (a Siemens mosaic, dc_vendor.h):
 * the whole frame is decoded (dc_decode_frames, every codec and the finish
 * step), kept, and the tile copied out.  The decoded frame of the last call
 * is cached (file, frame, type, scaling), so the n tiles of a mosaic cost
 * one decode; the worker invalidates it whenever it opens a file (so a file
 * replaced under the same name is decoded again); like decode.c's fragment
 * map cache, this is not thread-safe.
 */
#include "dc_tiles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_scan.h"

static struct {
    char *path;
    uint64_t pixel_off, file_size;
    uint32_t frame;
    int dtype;
    double slope, intercept;
    uint8_t *buf;
    size_t cap;
    int valid;
} cache;

void dc_tiles_invalidate(void)
{
    cache.valid = 0;
}

void dc_tiles_forget(void)
{
    free(cache.path);
    free(cache.buf);
    memset(&cache, 0, sizeof cache);
}

static int cached(const dc_dataset *ds, uint32_t frame, int dtype, double slope, double icpt)
{
    return cache.valid && ds->path && cache.path && strcmp(cache.path, ds->path) == 0 &&
           cache.pixel_off == ds->pixel.off && cache.file_size == ds->file_size &&
           cache.frame == frame && cache.dtype == dtype && cache.slope == slope &&
           cache.intercept == icpt;
}

static void remember(const dc_dataset *ds, uint32_t frame, int dtype, double slope, double icpt)
{
    free(cache.path);
    cache.path = ds->path ? dc_strdup(ds->path) : NULL;
    cache.pixel_off = ds->pixel.off;
    cache.file_size = ds->file_size;
    cache.frame = frame;
    cache.dtype = dtype;
    cache.slope = slope;
    cache.intercept = icpt;
    cache.valid = cache.path != NULL;
}

int dc_decode_tile(dc_dataset *ds, const dc_pixel_desc *pd, uint32_t grid, uint32_t frame,
                   uint32_t tile, int out_dtype, double slope, double intercept, void *dst,
                   char *err, size_t errlen)
{
    if (grid == 0 || pd->rows % grid || pd->cols % grid || tile >= grid * grid) {
        snprintf(err, errlen, "tile %u of a %ux%u mosaic grid does not fit %ux%u", (unsigned)tile,
                 (unsigned)grid, (unsigned)grid, (unsigned)pd->rows, (unsigned)pd->cols);
        return -1;
    }
    size_t samples = pd->samples ? pd->samples : 1, vs = (size_t)dc_dtype_size(out_dtype);
    size_t px = samples * vs, whole = (size_t)pd->rows * pd->cols * px;
    if (!cached(ds, frame, out_dtype, slope, intercept)) {
        cache.valid = 0;
        if (whole > cache.cap) {
            free(cache.buf);
            cache.buf = dc_malloc(whole);
            cache.cap = whole;
        }
        if (dc_decode_frames(ds, pd, frame, 1, out_dtype, slope, intercept, cache.buf, err, errlen) != 0)
            return -1;
        remember(ds, frame, out_dtype, slope, intercept);
    }
    uint32_t tr = pd->rows / grid, tc = pd->cols / grid;
    uint32_t r0 = tile / grid * tr, c0 = tile % grid * tc;
    for (uint32_t y = 0; y < tr; y++)
        memcpy((uint8_t *)dst + (size_t)y * tc * px,
               cache.buf + ((size_t)(r0 + y) * pd->cols + c0) * px, (size_t)tc * px);
    return 0;
}
