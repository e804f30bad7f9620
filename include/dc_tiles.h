/*
 * dc_tiles.h - decoding one tile of a tiled frame (Siemens mosaics; see
 * dc_vendor.h for what a tiled record is).
 */
#ifndef DC_TILES_H
#define DC_TILES_H

#include "dc_decode.h"

/* Tile `tile` (grid row tile / grid, column tile % grid) of frame `frame`
 * of ds, as dc_decode_frames would give the whole frame (same out_dtype,
 * slope, intercept), into dst: (rows / grid) x (cols / grid) values x
 * samples.  pd describes the whole frame.  Returns 0, or -1 with the
 * reason in err (the decoder's, or a tile that does not fit the frame). */
int dc_decode_tile(dc_dataset *ds, const dc_pixel_desc *pd, uint32_t grid, uint32_t frame,
                   uint32_t tile, int out_dtype, double slope, double intercept, void *dst,
                   char *err, size_t errlen);

/* the cached decoded frame no longer counts (a file was opened again; the
 * buffer is kept for the next mosaic) */
void dc_tiles_invalidate(void);
/* drop the cached frame and its buffer (tests, fuzzing) */
void dc_tiles_forget(void);

#endif
