/*
 * dc_h5out.h - pixel data output: segment files and the index file (SPEC 4, 7).
 *
 * No segment file is ever modified after it is closed, and the live index
 * file never, so a kill cannot damage committed data.  Each checkpoint writes
 * new *segment* files in `<out>/pixel_data_<id>.h5.d/`, in one of two shapes:
 *  - shared (dc_h5seg_create): one file `seg_<n>.h5` written with parallel
 *    HDF5 (every rank creates every dataset and attribute with the same
 *    arguments; each rank then writes the slices it decoded);
 *  - parts (dc_h5seg_create_parts, what a crawl uses): every rank that owns
 *    scans of the checkpoint writes its own *part* file, `seg_<n>.h5` on rank
 *    0, `seg_<n>.r<rank>.h5` on the others, with serial HDF5, creating only
 *    the datasets of its own scans.  Creation is then divided by the ranks
 *    instead of repeated on each (~100 us per dataset with its attributes),
 *    and compressed datasets are written slice by slice by their owner.
 * After the segment is closed, rank 0 replaces the *index* file
 * `pixel_data_<id>.h5` (one external link per stored scan, plus the file
 * attributes) by rename (dc_h5index_write).
 *
 * Segment functions are collective over the communicator given at creation
 * unless marked "independent".  Index functions are rank-0 only (serial HDF5).
 */
#ifndef DC_H5OUT_H
#define DC_H5OUT_H

#include <mpi.h>
#include <stdint.h>

#include "dc_scan.h"
#include "dc_util.h"

/* ---- index: scan id -> segment file (relative to the index file's folder) ---- */
typedef struct {
    char **scan_ids;
    char **segs;
    size_t n, cap;
    size_t *hidx; /* open addressing: position+1, 0 = empty */
    size_t hcap;
    /* Scan IDs put or removed since the index file last matched this map:
     * dc_h5index_write applies only these (to a copy of the live file, or
     * with prev_pending to the spare), not every link.  synced: the live
     * file equals the map minus pending (plus what dc_h5index_trim dropped). */
    dc_strvec pending;
    int synced;
    /* The spare file (<index>.spare, the index file the last write
     * replaced) equals the map minus pending minus prev_pending (what the
     * last write applied): dc_h5index_write then updates the spare with
     * these two lists and renames it over the live file, which becomes the
     * spare.  0 when its state is not known (start of a run, an error). */
    dc_strvec prev_pending;
    int spare_ok;
    /* the spare is used when the live file holds at least this many bytes
     * per link to apply (below, copying it is cheaper); 0: always */
    size_t spare_bytes_per_link;
    int trimmed; /* dc_h5index_trim dropped links the file holds */
    size_t mem;  /* heap bytes of the links and pending names (dc_h5index_mem) */
    uint64_t live_bytes; /* size of the live index file after the last write */
} dc_h5index;

/* Measured (tests/bench/h5index.c, README "Performance"): copying an index
 * costs ~1 ms of CPU per MB plus its fsync, adding a link to an existing
 * one ~10-20 us; so the spare pays once the file holds ~10 KB per link to
 * add (e.g. 5,000 links per checkpoint: from ~100 MB, ~650,000 links). */
#define DC_H5INDEX_SPARE_BYTES 10000

void dc_h5index_init(dc_h5index *x);
void dc_h5index_free(dc_h5index *x);
long dc_h5index_find(const dc_h5index *x, const char *scan_id);
/* heap bytes the map takes (approximate: strings, pointers, allocator
 * overhead); what a checkpoint's links cost rank 0 until they are trimmed */
size_t dc_h5index_mem(const dc_h5index *x);
/* insert or replace */
void dc_h5index_put(dc_h5index *x, const char *scan_id, const char *seg);
/* remove (swap with last) */
void dc_h5index_remove(dc_h5index *x, const char *scan_id);

/* Forget the links the index files on disk already hold (keeping those of
 * the last two writes, which the spare may lack), so that the map stays as
 * small as a checkpoint during a run instead of growing with the archive.
 * Afterwards dc_h5index_find and scan_ids no longer see the forgotten links
 * (removing one is a no-op), and a write needs the live file (an error if
 * it is gone).  No-op before the first write (x->synced 0). */
void dc_h5index_trim(dc_h5index *x);
/* Its memory: when the next write will not pay to go through the spare
 * (the live file holds less than spare_bytes_per_link per link of the last
 * write and the next, taken as alike), the last write's links are dropped
 * too and the next write copies the live file: the map then holds only the
 * links of the checkpoint in progress. */

/* Read the links of an existing index file (external links, or datasets
 * stored in the file itself for packed/older files: seg = "" then).
 * Returns 0 (missing file: empty index), -1 with err when the file exists
 * but cannot be read.  Removes <index>.spare.tmp, left by a write that was
 * killed (a second name of the spare). */
int dc_h5index_load(const char *index_path, dc_h5index *x, char *err, size_t errlen);

/* Write the index atomically: the next file is written and fsynced, then
 * renamed over <path>, folder fsynced.  The next file is the spare brought
 * up to date when x->spare_ok and the index is large (see
 * spare_bytes_per_link; a checkpoint then writes only the links of the
 * last two writes, whatever the number of links already stored), else
 * <path>.tmp: a copy of the live file with the pending links applied when
 * it is in step with the map (x->synced), else every link.  The live file is
 * never modified in place; the file it replaced becomes <path>.spare (an
 * h5py reader that keeps the old file open across two more checkpoints may
 * see it change).  Datasets stored in
 * the index itself (seg "") are copied over.  File attributes:
 * dcmcrawl_version, layout, config. */
int dc_h5index_write(const char *index_path, const dc_h5index *x, const char *layout,
                     const char *config_text, char *err, size_t errlen);

/* ---- segment files ---- */
typedef struct dc_h5seg dc_h5seg;

/* per-dataset attributes that are not in dc_scan */
typedef struct {
    const char *source_folder;
    int gzip_level; /* 0 none */
    int layout;     /* enum dc_layout: where the frame axes are */
} dc_h5ds_opts;

/* Create a segment (collective).  Returns NULL with err on failure (the same
 * on every rank). */
dc_h5seg *dc_h5seg_create(MPI_Comm comm, const char *path, char *err, size_t errlen);

/* Begin a segment of per-rank part files (collective, creates nothing yet:
 * a rank's file is created with its first dataset).  path names the
 * segment (rank 0's part); dc_h5seg_part_path gives the others'.  Cannot
 * fail. */
dc_h5seg *dc_h5seg_create_parts(MPI_Comm comm, const char *path);

/* Pure.  The file of rank `rank`'s part of segment seg_path (newly
 * allocated): seg_path itself for rank 0, "<seg_path minus .h5>.r<rank>.h5"
 * for the others.  An index links each scan to its owner's part. */
char *dc_h5seg_part_path(const char *seg_path, int rank);

/* The datasets of a batch (collective, same arguments on every rank): for
 * every scan i not unreadable, handles[i] = its handle (the same on every
 * rank), else -1.  Shared: every rank creates every dataset; parts: each
 * rank creates the datasets of the scans it owns (owners[i]) in its part.
 * source_folders[i]: the source_folder attribute; o->source_folder unused.
 * Returns 0, or -1 with err (the same on every rank; handles then unusable). */
int dc_h5seg_add_datasets(dc_h5seg *seg, const dc_scan *scans, size_t n, const int32_t *owners,
                          char *const *source_folders, const dc_h5ds_opts *o, int *handles,
                          char *err, size_t errlen);

/* Create the dataset of a scan with all its attributes (collective, same
 * arguments on every rank; parts: in rank 0's part).  Returns a handle >= 0
 * or -1. */
int dc_h5seg_add_dataset(dc_h5seg *seg, const dc_scan *scan, const dc_h5ds_opts *o, char *err,
                         size_t errlen);

/* Write stored 2D frame k (in dc_scan slice order) of dataset h from buf
 * (rows*cols*samples values of the dataset's dtype).  Independent, by the
 * rank that owns the scan (parts: compressed datasets too). */
int dc_h5seg_write_slice(dc_h5seg *seg, int h, const dc_scan *scan, uint32_t k, const void *buf,
                         char *err, size_t errlen);

/* Collective write of a whole dataset (compressed datasets of a shared
 * segment: parallel HDF5 1.10 requires collective filtered writes; parts:
 * the owner writes alone, the others only agree on the result).  Every rank calls it for every
 * dataset of the segment in the same order; the owner passes the scan's
 * frames in stored order (frame-major: n_slices x rows x cols[ x samples]),
 * the others NULL. */
int dc_h5seg_write_all(dc_h5seg *seg, int h, const dc_scan *scan, const void *frames, char *err,
                       size_t errlen);

/* Remove dataset h (a scan that ended unreadable or was abandoned at a stop)
 * from the segment (collective): a segment then holds complete datasets
 * only.  h must not be used afterwards. */
int dc_h5seg_drop_dataset(dc_h5seg *seg, int h, const dc_scan *scan, char *err, size_t errlen);

/* 1 when writes to dataset h must go through dc_h5seg_write_all (a
 * compressed dataset of a shared segment) */
int dc_h5seg_is_collective(const dc_h5seg *seg, int h);

/* This rank's file of the segment: the name given to dc_h5seg_create, or
 * this rank's part (dc_h5seg_part_path). */
const char *dc_h5seg_path(const dc_h5seg *seg);
/* this rank's file opened for raw frame writes at dc_h5seg_frame_extent's
 * offsets, once per segment (closed by dc_h5seg_close, not the caller's);
 * -1 when it cannot be opened */
int dc_h5seg_raw_fd(dc_h5seg *seg);

/* Independent.  Where stored frame k (dc_scan slice order) of dataset h
 * lives in the segment file: 0 and [*off, *off + *len) when the frame is one
 * contiguous run of bytes in the file type's little endian layout (an
 * uncompressed dataset whose frame axes lead, i.e. layout zyx, or a single
 * frame); -1 otherwise.  Bytes written there with plain file I/O before
 * dc_h5seg_close are the frame's values, as dc_h5seg_write_slice would have
 * written them (the raw copy fast path, dc_rawcopy.h). */
int dc_h5seg_frame_extent(dc_h5seg *seg, int h, uint32_t k, uint64_t *off, uint64_t *len);

/* parts: the datasets this rank opened for the batch just run are closed
 * (gzip chunks written through HDF5): a segment spans a whole checkpoint's
 * batches, and an open dataset pins its object header in memory.  A later
 * write opens it again.  Shared segments: nothing. */
void dc_h5seg_end_batch(dc_h5seg *seg);

/* Close (collective): all data is on disk when this returns on every rank
 * (every rank fsyncs its file, rank 0 also the folder).  A part none of
 * whose datasets is left (all dropped) is deleted.  Returns 0 or -1 (same
 * on all ranks). */
int dc_h5seg_close(dc_h5seg *seg, char *err, size_t errlen);

/* ---- pack: one self-contained file with every dataset of the index ---- */
int dc_h5_pack(const char *index_path, const char *out_path, char *err, size_t errlen);

#endif
