/*
 * h5out_internal.h - what the h5out_*.c files share (not a public header).
 *
 *   h5out_util.c   HDF5 type maps, attribute writers, file copy, the exit
 *                  path after a failed H5Fclose
 *   h5out_index.c  the in-memory index and the index file (rank 0)
 *   h5out_seg.c    segment files: one shared file written collectively, or
 *                  one part file per rank written with serial HDF5
 *   h5out_pack.c   pack: every dataset of an index into one file
 */
#ifndef DC_H5OUT_INTERNAL_H
#define DC_H5OUT_INTERNAL_H

#include <hdf5.h>
#include <stdint.h>

/* no HDF5 error stack printed: every failure becomes a message of ours */
void h5out_quiet(void);

/* file (little endian) and memory types of an enum dc_dtype */
hid_t h5out_file_type(int dtype);
hid_t h5out_mem_type(int dtype);

/* attributes: rank 0 = scalar; 0 or -1 */
int h5out_attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                     const hsize_t *dims, const void *data);
/* variable-length UTF-8 string (h5py reads it as str); NULL writes "" */
int h5out_attr_str(hid_t loc, const char *name, const char *value);
/* 1 when loc has a string attribute name with exactly this value */
int h5out_attr_str_equals(hid_t loc, const char *name, const char *value);
int h5out_attr_i64(hid_t loc, const char *name, int64_t v);
int h5out_attr_f64(hid_t loc, const char *name, int rank, const hsize_t *dims, const double *v);

/* byte copy of a file (copy_file_range); 0 or -1 with errno */
int h5out_copy_file(const char *src, const char *dst);

/* After an H5Fclose that failed (a full disk): end the process before
 * HDF5's own shutdown would crash on the half-closed file (see the .c). */
void h5out_after_failed_close(void);

#endif
