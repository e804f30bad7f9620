/*
 * rawcopy.c - uncompressed pixel data copied file to file (dc_rawcopy.h).
 *
 * dc_raw_frame_extent() mirrors the fast path of decode.c's decode_native
 * (read straight into the output) and refuses every case in which
 * finish_frame() would change a byte: big endian (swap), BitsAllocated 1
 * (unpack), YBR (conversion), planar colour (interleave), integer values with
 * BitsStored < BitsAllocated (sign extension when signed, masking of the
 * high bits when unsigned: whether a file has any set is only known by
 * reading every value, so such frames always take the decoding path), a different output type
 * (rescale, widening).  Measured on 24 x 120 slices of 512x512 CT
 * (tests/bench): the pread + H5Dwrite path spends ~4x more CPU than
 * copy_file_range, almost all of it copying user memory into new page cache
 * pages.
 */
#include "dc_rawcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dc_scan.h"

static int is_native_le(const char *ts)
{
    return strcmp(ts, "1.2.840.10008.1.2") == 0 || strcmp(ts, "1.2.840.10008.1.2.1") == 0;
}

int dc_raw_frame_extent(const dc_dataset *ds, const dc_pixel_desc *pd, uint32_t frame,
                        int out_dtype, uint64_t *off, uint64_t *len)
{
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return -1; /* the output values are in host order */
#endif
    const dc_pixel_loc *px = &ds->pixel;
    if (ds->fd < 0 || ds->mem || px->in_buf || !px->present || px->encapsulated || px->truncated)
        return -1;
    /* the transfer syntax the decoder would use: the record's, as parsed now */
    const char *ts = pd->ts_uid[0] ? pd->ts_uid : ds->ts_uid;
    if (!is_native_le(ts) || !(ds->ts == DC_TS_IMPLICIT_LE || ds->ts == DC_TS_EXPLICIT_LE))
        return -1;
    if (pd->pixel_kind == DC_PIX_NONE || pd->rows == 0 || pd->cols == 0 || pd->frames == 0 ||
        frame >= pd->frames || pd->bits_alloc == 1)
        return -1;
    size_t vs = dc_pixel_value_size(pd);
    if (vs == 0 || out_dtype != dc_output_dtype(pd, 0) || (size_t)dc_dtype_size(out_dtype) != vs)
        return -1;
    if (pd->samples == 3) {
        if (pd->planar != 0 || strcmp(pd->photometric, "RGB") != 0) return -1;
    } else if (pd->samples != 1) {
        return -1;
    }
    int is_int = pd->pixel_kind == DC_PIX_INT;
    if (is_int && pd->bits_stored > 0 && pd->bits_stored < 8 * vs)
        return -1; /* sign extension or masking */
    uint64_t nval = dc_pixel_frame_values(pd);
    if (nval == 0) return -1;
    uint64_t raw = nval * vs;
    if (px->len < (uint64_t)pd->frames * raw) return -1; /* the decoder says "truncated" */
    *off = px->off + (uint64_t)frame * raw;
    *len = raw;
    return 0;
}

static int copy_by_buffer(int src_fd, uint64_t src_off, int dst_fd, uint64_t dst_off,
                          uint64_t len)
{
    size_t cap = len < (1u << 20) ? (size_t)len : (1u << 20);
    char *buf = malloc(cap ? cap : 1);
    if (!buf) return -1;
    uint64_t done = 0;
    int rc = 0;
    while (done < len && rc == 0) {
        size_t want = len - done < cap ? (size_t)(len - done) : cap;
        ssize_t k = pread(src_fd, buf, want, (off_t)(src_off + done));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            rc = -1;
            break;
        }
        if (dc_pwrite_all(dst_fd, buf, (size_t)k, dst_off + done) != 0) rc = -1;
        done += (uint64_t)k;
    }
    free(buf);
    return rc;
}

int dc_raw_copy(int src_fd, uint64_t src_off, int dst_fd, uint64_t dst_off, uint64_t len)
{
    loff_t in = (loff_t)src_off, out = (loff_t)dst_off;
    uint64_t done = 0;
    while (done < len) {
        ssize_t k = copy_file_range(src_fd, &in, dst_fd, &out, (size_t)(len - done), 0);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && done == 0 &&
            (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
             errno == EBADF || errno == EPERM))
            return copy_by_buffer(src_fd, src_off, dst_fd, dst_off, len);
        if (k <= 0) return -1; /* error, or the source ended early */
        done += (uint64_t)k;
    }
    return 0;
}

void dc_raw_writeback(int fd, uint64_t off, uint64_t len)
{
    if (len < DC_RAW_WRITEBACK_MIN) return; /* left to the checkpoint's fsync */
    (void)sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
}
