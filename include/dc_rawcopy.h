/*
 * dc_rawcopy.h - uncompressed pixel data copied file to file, the fast path of
 * volumes and images whose stored bytes already are the output values.
 *
 * Decoding native pixel data that needs no conversion is a copy: the frame's
 * bytes in the DICOM file are the bytes of the dataset's frame in the HDF5
 * segment file.  Instead of pread into a buffer and H5Dwrite from it (two
 * copies through user space), process.c asks dc_raw_frame_extent() where the
 * frame is, dc_h5seg_frame_extent() where it goes, and dc_raw_copy() moves it
 * with copy_file_range(2): one copy inside the kernel, what `cat` does.  It
 * then starts the writeback of that range (dc_raw_writeback), so the fsync at
 * the checkpoint finds little left to write.  Whatever does not fit the fast
 * path takes the ordinary decoding path, which remains the reference: both
 * give the same bytes (tests/unit/test_rawcopy.c checks it).
 */
#ifndef DC_RAWCOPY_H
#define DC_RAWCOPY_H

#include <stdint.h>

#include "dc_decode.h"
#include "dc_dicom.h"

/* IN ds (parsed with keep_open: ds->fd open), pd, frame, out_dtype (enum
 * dc_dtype, what dc_decode_frames would be asked for).  Returns 0 and the
 * file extent [*off, *off + *len) of frame `frame` when dc_decode_frames
 * would return exactly those bytes: native little endian transfer syntax,
 * out_dtype equal to the stored type, BitsAllocated 8/16/32/64, nothing to
 * sign-extend (unsigned, or BitsStored = BitsAllocated), one sample per pixel
 * or interleaved RGB, pixel data complete in the file.  Returns -1 otherwise
 * (the caller decodes; errors are reported by the decoding path). */
int dc_raw_frame_extent(const dc_dataset *ds, const dc_pixel_desc *pd, uint32_t frame,
                        int out_dtype, uint64_t *off, uint64_t *len);

/* Copy len bytes at src_off of src_fd to dst_off of dst_fd (neither file
 * offset moves): copy_file_range, else pread/pwrite through a buffer.
 * Returns 0 when every byte was copied, -1 otherwise (short source, I/O
 * error; part of the range may have been written). */
int dc_raw_copy(int src_fd, uint64_t src_off, int dst_fd, uint64_t dst_off, uint64_t len);

/* Start writing back [off, off + len) of fd (sync_file_range WRITE: does not
 * wait, durability still comes from the fsync at the checkpoint).  Ranges
 * shorter than DC_RAW_WRITEBACK_MIN are left to that fsync: a per-file
 * crawl of small images would otherwise make a syscall and a tiny write per
 * scan (a 512x512 CT frame, 512 KiB, still starts its own writeback). */
#define DC_RAW_WRITEBACK_MIN ((uint64_t)64 << 10)
void dc_raw_writeback(int fd, uint64_t off, uint64_t len);

#endif
