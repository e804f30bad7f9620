/*
 * h5out_seg.c - segment files (SPEC 7): the datasets of one checkpoint.
 * See dc_h5out.h for the contract.
 *
 * Two shapes:
 *  - shared (dc_h5seg_create): one file, parallel HDF5 over MPI-IO; every
 *    rank creates every dataset and attribute (collective), owners write
 *    their frames (independent raw writes, collective compressed writes).
 *  - parts (dc_h5seg_create_parts): every rank that owns scans of the batch
 *    writes its own part file with serial HDF5, creating only its own
 *    datasets; nothing is collective but the agreement on errors and the
 *    close.  Creating a dataset with its ~18 attributes costs ~100 us of
 *    HDF5 library work (tests/bench/h5variants.c); collectively every rank
 *    pays it for every scan, here each rank for its own scans only.
 */
#include "dc_h5out.h"
#include "dc_hints.h"
#include "dc_mpi.h"
#include "h5out_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dc_config.h"
#include "dc_hook.h"

typedef struct {
    hid_t did; /* -1: not open on this rank (another rank's, dropped) */
    int dtype;
    int ndim;
    hsize_t dims[5];
    int frame_axis0; /* first axis counting frames */
    int n_frame_axes;
    int row_axis;
    int compressed;
    int mine;        /* created in this rank's file (shared: every rank) */
    uint64_t offset; /* contiguous storage in the file, 0 unknown */
} seg_ds;

struct dc_h5seg {
    MPI_Comm comm;
    int rank;
    int parts;   /* one file per rank (serial HDF5) instead of one shared file */
    hid_t fid;   /* -1: this rank has no file (parts: owns no scan) */
    char *path;  /* shared: the file; parts: this rank's part file */
    int raw_fd;  /* the file opened for raw frame writes (dc_h5seg_raw_fd), -1 */
    seg_ds *ds;
    size_t n, cap;
    size_t n_released; /* datasets before this one are closed (dc_h5seg_end_batch) */
    h5out_shared sh;   /* dataspaces and types every dataset's attributes share */
    hid_t dcpl_plain;  /* creation properties of every uncompressed dataset, -1 */
};

/* Which axes of the dataset count frames.  The 2D image is (rows, cols[, 3]);
 * zyx: (frames..., rows, cols[, 3]); seed: (1, rows, cols, frames...[, 3]). */
static void frame_axes(const dc_scan *scan, int layout, seg_ds *d)
{
    int colour = scan->samples > 1 ? 1 : 0;
    if (layout == DC_LAYOUT_SEED) {
        d->frame_axis0 = 3;
        d->n_frame_axes = scan->ndim - 3 - colour;
        d->row_axis = 1;
    } else {
        d->frame_axis0 = 0;
        d->n_frame_axes = scan->ndim - 2 - colour;
        d->row_axis = d->n_frame_axes;
    }
    if (d->n_frame_axes < 0) d->n_frame_axes = 0;
}

/* the vendor conventions' attributes (dc_xattr.h), in list order */
static int extra_attrs(h5out_shared *sh, hid_t did, const dc_xattrs *x)
{
    int rc = 0;
    for (uint32_t i = 0; i < x->n; i++) {
        const dc_xattr *a = &x->a[i];
        hsize_t n = a->n;
        int rank = a->scalar ? 0 : 1;
        if (a->type == DC_XATTR_F64) {
            rc |= h5out_attr_f64(sh, did, a->name, rank, &n, a->f);
            continue;
        }
        hid_t t = h5out_str_type(sh);
        rc |= h5out_attr_write(sh, did, a->name, t, t, rank, &n, a->s);
    }
    return rc;
}

static int scan_attrs(h5out_shared *sh, hid_t did, const dc_scan *scan, const char *source_folder)
{
    int rc = 0;
    rc |= h5out_attr_str(sh, did, "scan_id", scan->scan_id);
    rc |= h5out_attr_str(sh, did, "source_folder", source_folder);
    rc |= h5out_attr_str(sh, did, "series_instance_uid", scan->series_uid);
    rc |= h5out_attr_str(sh, did, "study_instance_uid", scan->study_uid);
    rc |= h5out_attr_str(sh, did, "modality", scan->modality);
    rc |= h5out_attr_i64(sh, did, "n_files", scan->n_files);
    rc |= h5out_attr_str(sh, did, "slice_order", scan->slice_order);
    hsize_t d3 = 3, d44[2] = {4, 4};
    rc |= h5out_attr_f64(sh, did, "spacing", 1, &d3, scan->spacing);
    rc |= h5out_attr_f64(sh, did, "affine", 2, d44, scan->affine);
    hsize_t dp[2] = {scan->slice_positions ? scan->n_positions : 0, 3};
    static const double none = 0;
    rc |= h5out_attr_f64(sh, did, "slice_positions", 2, dp, scan->slice_positions ? scan->slice_positions : &none);
    hsize_t dn = scan->n_slices;
    rc |= h5out_attr_write(sh, did, "instance_numbers", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &dn,
                     scan->instance_numbers);
    hsize_t dr = scan->n_rescale;
    int rr = scan->n_rescale > 1 ? 1 : 0;
    double one = 1.0, zero = 0.0;
    rc |= h5out_attr_f64(sh, did, "rescale_slope", rr, &dr, scan->rescale_slope ? scan->rescale_slope : &one);
    rc |= h5out_attr_f64(sh, did, "rescale_intercept", rr, &dr,
                   scan->rescale_intercept ? scan->rescale_intercept : &zero);
    rc |= h5out_attr_str(sh, did, "photometric_interpretation", scan->photometric);
    rc |= h5out_attr_i64(sh, did, "bits_stored", scan->bits_stored);
    uint8_t u = scan->uniform_spacing ? 1 : 0;
    rc |= h5out_attr_write(sh, did, "uniform_spacing", H5T_NATIVE_HBOOL, H5T_NATIVE_HBOOL, 0, NULL, &u);
    rc |= h5out_attr_str(sh, did, "warnings", scan->warnings ? scan->warnings : "");
    /* palette color LUTs (PALETTE COLOR, supplemental palettes): descriptors
     * as in the file, tables expanded, uint8 or uint16 as their entries */
    static const char *const chan[3] = {"red", "green", "blue"};
    for (int c = 0; scan->palette && c < 3; c++) {
        const dc_palette *p = scan->palette;
        char name[64];
        hsize_t d = 3, n = p->len[c];
        snprintf(name, sizeof name, "palette_%s_lut_descriptor", chan[c]);
        rc |= h5out_attr_write(sh, did, name, H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &d, p->desc[c]);
        snprintf(name, sizeof name, "palette_%s_lut_data", chan[c]);
        static const uint16_t empty = 0;
        rc |= h5out_attr_write(sh, did, name, p->bits == 8 ? H5T_STD_U8LE : H5T_STD_U16LE, H5T_NATIVE_UINT16, 1,
                         &n, n ? dc_palette_channel(p, c) : &empty);
    }
    rc |= extra_attrs(sh, did, &scan->xattrs);
    return rc;
}


char *dc_h5seg_part_path(const char *seg_path, int rank)
{
    if (rank == 0) return dc_strdup(seg_path);
    size_t n = strlen(seg_path);
    if (dc_endswith(seg_path, ".h5")) n -= 3;
    return dc_asprintf("%.*s.r%d.h5", (int)n, seg_path, rank);
}

static dc_h5seg *seg_new(MPI_Comm comm, const char *path, int parts, hid_t fid)
{
    dc_h5seg *s = dc_calloc(1, sizeof *s);
    s->comm = comm;
    MPI_Comm_rank(comm, &s->rank);
    s->parts = parts;
    s->fid = fid;
    s->raw_fd = -1;
    h5out_shared_init(&s->sh);
    s->dcpl_plain = -1;
    s->path = parts ? dc_h5seg_part_path(path, s->rank) : dc_strdup(path);
    return s;
}

dc_h5seg *dc_h5seg_create(MPI_Comm comm, const char *path, char *err, size_t errlen)
{
    h5out_quiet();
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, dc_hints());
    H5Pset_all_coll_metadata_ops(fapl, 1);
    H5Pset_coll_metadata_write(fapl, 1);
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (fid < 0) {
        snprintf(err, errlen, "%s: cannot create HDF5 segment file", path);
        return NULL;
    }
    h5out_attr_str(NULL, fid, "dcmcrawl_version", DC_VERSION);
    return seg_new(comm, path, 0, fid);
}

dc_h5seg *dc_h5seg_create_parts(MPI_Comm comm, const char *path)
{
    h5out_quiet();
    return seg_new(comm, path, 1, -1);
}

/* A part file holds a whole checkpoint's datasets (10^5 per rank), in HDF5
 * 1.8's format (h5out_fapl): its root group's dense links cost the same per
 * link however large the part grows.  The 1.6 format's symbol table (a v1
 * B-tree and one local heap of every name, evicted and rewritten whole as
 * it grows) made a dataset's creation cost grow with the part: 84 / 132 /
 * 186 us of CPU per dataset at 50,000 / 100,000 / 150,000 in one part,
 * against 91 / 111 / 101 us (tests/bench/h5create.c, 1 rank, README
 * "Performance").  The metadata cache starts at 8 MiB: with HDF5's default
 * (2 MiB, adapting slowly) entries are evicted and written again and again
 * (60,000 datasets: ~290 us each, a third of it in the kernel, against ~140
 * with 8-16 MiB; 32-64 MiB cost +210 MB of RSS: an entry's native form is
 * several times its size in the file). */
static hid_t part_fapl(void)
{
    return h5out_fapl((size_t)8 << 20, (size_t)8 << 20, (size_t)32 << 20);
}

/* parts: this rank's file, created with its first dataset */
static int open_part(dc_h5seg *seg, char *err, size_t errlen)
{
    if (seg->fid >= 0) return 0;
    hid_t fapl = part_fapl();
    seg->fid = H5Fcreate(seg->path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (seg->fid < 0) {
        snprintf(err, errlen, "%s: cannot create HDF5 segment file: %s", seg->path, strerror(errno));
        return -1;
    }
    if (h5out_attr_str(&seg->sh, seg->fid, "dcmcrawl_version", DC_VERSION) != 0) {
        snprintf(err, errlen, "%s: cannot write its attributes", seg->path);
        return -1;
    }
    return 0;
}

/* shape and storage of a scan's dataset, the same on every rank */
static void describe(const dc_scan *scan, const dc_h5ds_opts *o, seg_ds *d)
{
    memset(d, 0, sizeof *d);
    d->did = -1;
    d->dtype = scan->dtype;
    d->ndim = scan->ndim;
    for (int i = 0; i < scan->ndim; i++) d->dims[i] = scan->dims[i];
    frame_axes(scan, o->layout, d);
    d->compressed = o->gzip_level > 0;
}

/* creation properties of a dataset; compressed: its own (the chunk follows
 * the shape) */
static hid_t new_dcpl(const dc_h5seg *seg, const dc_h5ds_opts *o, const seg_ds *d)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    /* no creation/modification times in the object header: HDF5 rewrote
     * them at every attribute created and written (36 times per dataset,
     * ~5% of a dataset's creation, callgrind); h5py writes none by default
     * either (track_times=False), nor did the crawler dcmcrawl replaces */
    H5Pset_obj_track_times(dcpl, 0);
    /* a scan's ~18 attributes stay in its object header: with the 1.8
     * format's default (dense attribute storage past 8) each dataset would
     * get a fractal heap and a B-tree of its own (1.3-1.5x the CPU) */
    if (seg->parts) H5Pset_attr_phase_change(dcpl, 64, 0);
    /* parallel HDF5 needs storage allocated at creation; serial compressed
     * chunks are allocated as they are written (their size is known then) */
    if (!seg->parts || !d->compressed) H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    if (d->compressed) {
        hsize_t chunk[5];
        for (int i = 0; i < d->ndim; i++) chunk[i] = d->dims[i];
        for (int i = 0; i < d->n_frame_axes; i++) chunk[d->frame_axis0 + i] = 1;
        H5Pset_chunk(dcpl, d->ndim, chunk);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)o->gzip_level);
    }
    return dcpl;
}

/* uncompressed datasets all have the same properties: made once per
 * segment (a property list created, set and closed per dataset cost ~20,000
 * instructions, a tenth of the dataset's creation) */
static hid_t plain_dcpl(dc_h5seg *seg)
{
    static const seg_ds plain = {.compressed = 0};
    if (seg->dcpl_plain < 0) seg->dcpl_plain = new_dcpl(seg, NULL, &plain);
    return seg->dcpl_plain;
}

/* the dataset with every attribute, in this rank's file */
static int create_ds(dc_h5seg *seg, const dc_scan *scan, const dc_h5ds_opts *o,
                     const char *source_folder, seg_ds *d, char *err, size_t errlen)
{
    dc_hook("create");
    int sp_owned;
    hid_t sp = h5out_space(&seg->sh, d->ndim, d->dims, &sp_owned);
    hid_t dcpl = d->compressed ? new_dcpl(seg, o, d) : plain_dcpl(seg);
    /* parts: created unnamed, its attributes written, then linked by its
     * name (~1% fewer instructions for the whole crawl than H5Dcreate2) */
    hid_t ftype = h5out_file_type(scan->dtype);
    d->did = seg->parts ? H5Dcreate_anon(seg->fid, ftype, sp, dcpl, H5P_DEFAULT)
                        : H5Dcreate2(seg->fid, scan->scan_id, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d->compressed) H5Pclose(dcpl);
    if (sp_owned) H5Sclose(sp);
    if (d->did < 0) {
        snprintf(err, errlen, "%s: cannot create dataset %s", seg->path, scan->scan_id);
        return -1;
    }
    if (scan_attrs(&seg->sh, d->did, scan, source_folder) != 0) {
        snprintf(err, errlen, "%s: cannot write attributes of %s", seg->path, scan->scan_id);
        return -1;
    }
    if (seg->parts && H5Olink(d->did, seg->fid, scan->scan_id, H5P_DEFAULT, H5P_DEFAULT) < 0) {
        snprintf(err, errlen, "%s: cannot create dataset %s", seg->path, scan->scan_id);
        return -1;
    }
    d->mine = 1;
    if (!d->compressed) {
        haddr_t a = H5Dget_offset(d->did);
        d->offset = a == HADDR_UNDEF ? 0 : (uint64_t)a;
    }
    /* parts: frames go to the offset with plain file I/O (dc_rawcopy.h);
     * an open dataset pins its object header in HDF5's metadata cache, so
     * thousands per checkpoint would hold memory for nothing */
    if (seg->parts && d->offset) {
        H5Dclose(d->did);
        d->did = -1;
    }
    return 0;
}

static int push_ds(dc_h5seg *seg, const seg_ds *d)
{
    if (seg->n == seg->cap) {
        seg->cap = seg->cap ? seg->cap * 2 : 16;
        seg->ds = dc_realloc(seg->ds, seg->cap * sizeof *seg->ds);
    }
    seg->ds[seg->n] = *d;
    return (int)seg->n++;
}

/* one dataset: created by every rank (shared) or by its owner (parts) */
static int add_one(dc_h5seg *seg, const dc_scan *scan, const dc_h5ds_opts *o,
                   const char *source_folder, int owner, char *err, size_t errlen)
{
    seg_ds d;
    describe(scan, o, &d);
    int rc = 0;
    if (!seg->parts || owner == seg->rank) {
        rc = seg->parts ? open_part(seg, err, errlen) : 0;
        if (rc == 0) rc = create_ds(seg, scan, o, source_folder, &d, err, errlen);
    }
    int h = push_ds(seg, &d);
    return rc == 0 ? h : -1;
}

int dc_h5seg_add_dataset(dc_h5seg *seg, const dc_scan *scan, const dc_h5ds_opts *o, char *err,
                         size_t errlen)
{
    int h = add_one(seg, scan, o, o->source_folder, 0, err, errlen);
    if (!seg->parts) return h;
    int ok = h >= 0 ? 0 : -1, all;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, seg->comm);
    if (all != 0 && h >= 0) snprintf(err, errlen, "%s: creating a dataset failed on rank 0", seg->path);
    return all != 0 ? -1 : h;
}

int dc_h5seg_add_datasets(dc_h5seg *seg, const dc_scan *scans, size_t n, const int32_t *owners,
                          char *const *source_folders, const dc_h5ds_opts *o, int *handles,
                          char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        handles[i] = -1;
        if (scans[i].unreadable || rc != 0) continue;
        handles[i] = add_one(seg, &scans[i], o, source_folders[i], owners[i], err, errlen);
        if (handles[i] < 0) rc = -1;
    }
    if (!seg->parts) return rc;
    int all;
    all = dc_agree_all(seg->comm, rc);
    if (all != 0 && rc == 0) snprintf(err, errlen, "%s: creating datasets failed on another rank", seg->path);
    return all;
}

/* the dataset opened again when it was closed after its creation */
static hid_t ds_handle(dc_h5seg *seg, seg_ds *d, const char *name)
{
    if (d->did < 0 && d->mine) d->did = H5Dopen2(seg->fid, name, H5P_DEFAULT);
    return d->did;
}

int dc_h5seg_write_slice(dc_h5seg *seg, int h, const dc_scan *scan, uint32_t k, const void *buf,
                         char *err, size_t errlen)
{
    seg_ds *d = &seg->ds[h];
    dc_hook("pixels");
    hsize_t start[5] = {0}, count[5];
    for (int i = 0; i < d->ndim; i++) count[i] = d->dims[i];
    /* decompose k over the frame axes, last axis fastest */
    uint64_t rem = k;
    for (int i = d->n_frame_axes - 1; i >= 0; i--) {
        int ax = d->frame_axis0 + i;
        start[ax] = rem % d->dims[ax];
        rem /= d->dims[ax];
        count[ax] = 1;
    }
    hsize_t mdims[3] = {scan->rows, scan->cols, scan->samples};
    int mrank = scan->samples > 1 ? 3 : 2;
    hid_t did = ds_handle(seg, d, scan->scan_id);
    herr_t rc = -1;
    if (did >= 0) {
        hid_t fsp = H5Dget_space(did);
        H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL);
        hid_t msp = H5Screate_simple(mrank, mdims, NULL);
        rc = H5Dwrite(did, h5out_mem_type(d->dtype), msp, fsp, H5P_DEFAULT, buf);
        H5Sclose(msp);
        H5Sclose(fsp);
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s: write of slice %u of %s failed", seg->path, k, scan->scan_id);
        return -1;
    }
    return 0;
}

int dc_h5seg_is_collective(const dc_h5seg *seg, int h)
{
    return !seg->parts && seg->ds[h].compressed;
}

/* raw placement of frames, for the copy fast path (dc_rawcopy.h) */

const char *dc_h5seg_path(const dc_h5seg *seg)
{
    return seg->path;
}

int dc_h5seg_raw_fd(dc_h5seg *seg)
{
    if (seg->raw_fd < 0 && seg->fid >= 0) seg->raw_fd = open(seg->path, O_WRONLY | O_CLOEXEC);
    return seg->raw_fd;
}

int dc_h5seg_frame_extent(dc_h5seg *seg, int h, uint32_t k, uint64_t *off, uint64_t *len)
{
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return -1; /* the file types are little endian, the caller's bytes in host order */
#endif
    if (h < 0 || (size_t)h >= seg->n) return -1;
    const seg_ds *d = &seg->ds[h];
    if (d->compressed || !d->mine || d->offset == 0) return -1;
    uint64_t frames = 1, values = 1;
    for (int i = 0; i < d->n_frame_axes; i++) frames *= d->dims[d->frame_axis0 + i];
    for (int i = 0; i < d->ndim; i++) values *= d->dims[i];
    /* frames are contiguous when their axes lead (zyx), or when there is one */
    if (k >= frames || (d->frame_axis0 != 0 && frames > 1)) return -1;
    *len = values / frames * (uint64_t)dc_dtype_size(d->dtype);
    *off = d->offset + (uint64_t)k * *len;
    return 0;
}

/* frame-major (k, r, c, s) -> dataset order of the seed layout (r, c, k, s) */
static void *to_seed_order(const dc_scan *scan, const void *frames)
{
    size_t es = (size_t)dc_dtype_size(scan->dtype) * (scan->samples ? scan->samples : 1);
    size_t nk = scan->n_slices, rc = (size_t)scan->rows * scan->cols;
    char *out = dc_malloc(nk * rc * es);
    const char *in = frames;
    for (size_t k = 0; k < nk; k++)
        for (size_t p = 0; p < rc; p++) memcpy(out + (p * nk + k) * es, in + (k * rc + p) * es, es);
    return out;
}

/* the owner's write of a whole dataset (parts: serial, the others skip) */
static herr_t write_whole(dc_h5seg *seg, seg_ds *d, const dc_scan *scan, const void *frames)
{
    hid_t did = ds_handle(seg, d, scan->scan_id);
    if (did < 0) return seg->parts && !frames ? 0 : -1;
    if (seg->parts && !frames) return 0;
    hid_t fsp = H5Dget_space(did);
    hid_t msp;
    void *tmp = NULL;
    if (frames) {
        msp = H5Screate_simple(d->ndim, d->dims, NULL);
        if (d->frame_axis0 != 0 && scan->n_slices > 1) frames = tmp = to_seed_order(scan, frames);
    } else {
        hsize_t one = 1;
        msp = H5Screate_simple(1, &one, NULL);
        H5Sselect_none(msp);
        H5Sselect_none(fsp);
    }
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (!seg->parts) H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    static const char none = 0;
    herr_t rc = H5Dwrite(did, h5out_mem_type(d->dtype), msp, fsp, dxpl, frames ? frames : &none);
    H5Pclose(dxpl);
    H5Sclose(msp);
    H5Sclose(fsp);
    free(tmp);
    return rc;
}

int dc_h5seg_write_all(dc_h5seg *seg, int h, const dc_scan *scan, const void *frames, char *err,
                       size_t errlen)
{
    dc_hook("collective");
    int ok = write_whole(seg, &seg->ds[h], scan, frames) < 0 ? -1 : 0, all;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, seg->comm);
    if (all != 0) snprintf(err, errlen, "%s: collective write of %s failed", seg->path, scan->scan_id);
    return all;
}

int dc_h5seg_drop_dataset(dc_h5seg *seg, int h, const dc_scan *scan, char *err, size_t errlen)
{
    seg_ds *d = &seg->ds[h];
    if (d->did >= 0) H5Dclose(d->did);
    d->did = -1;
    int rc = 0, all;
    if (d->mine) rc = H5Ldelete(seg->fid, scan->scan_id, H5P_DEFAULT) < 0 ? -1 : 0;
    d->mine = 0;
    all = dc_agree_all(seg->comm, rc);
    if (all != 0) snprintf(err, errlen, "%s: cannot unlink dataset %s", seg->path, scan->scan_id);
    return all;
}

void dc_h5seg_end_batch(dc_h5seg *seg)
{
    if (!seg->parts) return; /* shared: closed collectively at the end */
    for (size_t i = seg->n_released; i < seg->n; i++)
        if (seg->ds[i].did >= 0) {
            H5Dclose(seg->ds[i].did);
            seg->ds[i].did = -1;
        }
    seg->n_released = seg->n;
}

/* close the datasets; the number of datasets this rank's file keeps */
static size_t close_datasets(dc_h5seg *seg)
{
    size_t kept = 0;
    for (size_t i = 0; i < seg->n; i++) {
        if (seg->ds[i].did >= 0) H5Dclose(seg->ds[i].did);
        kept += seg->ds[i].mine != 0;
    }
    return kept;
}

/* Flush, then close: when the flush fails (a full disk) the file is never
 * closed (a close that fails leaves HDF5 unable to shut down, see
 * h5out_after_failed_close); it stays open, pinned, until the process
 * ends.  shared: the ranks agree between the two (H5Fclose is collective). */
static int flush_close(dc_h5seg *seg)
{
    int rc = H5Fflush(seg->fid, H5F_SCOPE_LOCAL) < 0 ? -1 : 0, all = rc;
    if (!seg->parts) all = dc_agree_all(seg->comm, rc);
    if (all != 0)
        H5Iinc_ref(seg->fid);
    else if (H5Fclose(seg->fid) < 0)
        rc = -1;
    if (rc != 0) h5out_after_failed_close();
    return rc;
}

/* parts: this rank's file closed and durable, or deleted when every
 * dataset in it was dropped (no link will name it) */
static int close_part(dc_h5seg *seg, size_t kept)
{
    if (seg->fid < 0) return 0;
    int rc = flush_close(seg);
    if (rc == 0 && kept == 0) return unlink(seg->path) == 0 ? 0 : -1;
    if (rc == 0 && dc_fsync_path(seg->path, 0) != 0) rc = -1;
    return rc;
}

/* shared: closed by all, then every rank flushes what it wrote (on a
 * parallel file system each client holds its own dirty pages) */
static int close_shared(dc_h5seg *seg)
{
    int rc = flush_close(seg), all;
    all = dc_agree_all(seg->comm, rc);
    if (all == 0 && dc_fsync_path(seg->path, 0) != 0) rc = -1;
    return all != 0 ? all : rc;
}

int dc_h5seg_close(dc_h5seg *seg, char *err, size_t errlen)
{
    dc_hook("close");
    if (seg->raw_fd >= 0) close(seg->raw_fd); /* its writes are in the page cache: fsync'ed below */
    seg->raw_fd = -1;
    size_t kept = close_datasets(seg);
    int rc = seg->parts ? close_part(seg, kept) : close_shared(seg), all;
    all = dc_agree_all(seg->comm, rc);
    /* rank 0 makes the files' names durable (one folder for all parts) */
    if (all == 0 && seg->rank == 0) {
        char *d = dc_dir_of(seg->path);
        if (dc_fsync_path(d, 1) != 0) rc = -1;
        free(d);
    }
    all = dc_agree_all(seg->comm, rc);
    if (all != 0) {
        char note[80];
        dc_free_space_note(seg->path, note, sizeof note);
        if (rc != 0)
            snprintf(err, errlen, "%s: writing the segment file failed%s", seg->path, note);
        else
            snprintf(err, errlen, "%s: writing a segment file failed on another rank%s", seg->path, note);
    }
    h5out_shared_free(&seg->sh);
    if (seg->dcpl_plain >= 0) H5Pclose(seg->dcpl_plain);
    free(seg->ds);
    free(seg->path);
    free(seg);
    return all;
}
