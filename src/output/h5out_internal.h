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

/* File access properties of every file dcmcrawl creates: HDF5 1.8's format
 * (libver bounds V18..latest), whose groups keep links in dense storage
 * (cost per link flat as a group grows to 10^5-10^6 links) and which stores
 * an attribute larger than an object header message (64 KiB: the
 * slice_positions of a volume of more than 2,730 slices) densely instead
 * of failing; h5py and any HDF5 >= 1.8 read it.  cache_initial > 0: the
 * metadata cache starts at that many bytes and stays between cache_min (0:
 * HDF5's default, lowered to the initial size if above it) and cache_max. */
hid_t h5out_fapl(size_t cache_initial, size_t cache_min, size_t cache_max);

/* file (little endian) and memory types of an enum dc_dtype */
hid_t h5out_file_type(int dtype);
hid_t h5out_mem_type(int dtype);

/* Handles a run of attribute writes shares instead of creating and
 * closing them per attribute: the scalar dataspace, the string type, the
 * last few simple dataspaces.  A segment holds one for its file. */
#define H5OUT_SHARED_SPACES 8
#define H5OUT_SHARED_MAX_RANK 5
typedef struct {
    int rank;
    hsize_t dims[H5OUT_SHARED_MAX_RANK];
    hid_t id; /* -1: unused */
} h5out_space_entry;
typedef struct {
    hid_t scalar, vstr;
    h5out_space_entry space[H5OUT_SHARED_SPACES];
    unsigned next; /* the entry replaced next */
} h5out_shared;
void h5out_shared_init(h5out_shared *s);
void h5out_shared_free(h5out_shared *s);
/* a dataspace (rank 0 = scalar): the shared one when s is not NULL, else a
 * new one; *owned says whether the caller closes it */
hid_t h5out_space(h5out_shared *s, int rank, const hsize_t *dims, int *owned);
/* the variable-length UTF-8 string type (not to be closed) */
hid_t h5out_str_type(h5out_shared *s);

/* attributes: rank 0 = scalar; 0 or -1.  s: shared handles, or NULL */
int h5out_attr_write(h5out_shared *s, hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                     const hsize_t *dims, const void *data);
/* variable-length UTF-8 string (h5py reads it as str); NULL writes "" */
int h5out_attr_str(h5out_shared *s, hid_t loc, const char *name, const char *value);
/* 1 when loc has a string attribute name with exactly this value */
int h5out_attr_str_equals(hid_t loc, const char *name, const char *value);
int h5out_attr_i64(h5out_shared *s, hid_t loc, const char *name, int64_t v);
int h5out_attr_f64(h5out_shared *s, hid_t loc, const char *name, int rank, const hsize_t *dims,
                   const double *v);

/* byte copy of a file (copy_file_range); 0 or -1 with errno */
int h5out_copy_file(const char *src, const char *dst);

/* After an H5Fclose that failed (a full disk): end the process before
 * HDF5's own shutdown would crash on the half-closed file (see the .c). */
void h5out_after_failed_close(void);

#endif
