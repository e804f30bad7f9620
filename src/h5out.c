/*
 * h5out.c - pixel data output: per-checkpoint segment files written with
 * parallel HDF5, and the index file of external links replaced atomically.
 * See dc_h5out.h for the design and guarantees.
 *
 * Pieces: the in-memory index (a hash map scan id -> segment), reading and
 * writing the index file (rank 0, serial HDF5), segment files (collective
 * create/close, collective dataset+attribute creation, independent slice
 * writes), and pack (copy every linked dataset into one file).
 */
#include "dc_h5out.h"
#include "dc_hints.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc_config.h"
#include "dc_hook.h"
#include "dc_rawcopy.h"

/* ------------------------------------------------------------------ */
/* in-memory index                                                      */

void dc_h5index_init(dc_h5index *x)
{
    memset(x, 0, sizeof *x);
}

void dc_h5index_free(dc_h5index *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->scan_ids[i]);
        free(x->segs[i]);
    }
    free(x->scan_ids);
    free(x->segs);
    free(x->hidx);
    dc_strvec_free(&x->pending);
    dc_h5index_init(x);
}

static size_t str_hash(const char *s)
{
    return (size_t)dc_hash64(s, strlen(s), DC_HASH_SEED);
}

static void index_rehash(dc_h5index *x, size_t cap)
{
    free(x->hidx);
    x->hcap = cap;
    x->hidx = dc_calloc(cap, sizeof(size_t));
    for (size_t i = 0; i < x->n; i++) {
        size_t h = str_hash(x->scan_ids[i]) & (cap - 1);
        while (x->hidx[h]) h = (h + 1) & (cap - 1);
        x->hidx[h] = i + 1;
    }
}

long dc_h5index_find(const dc_h5index *x, const char *scan_id)
{
    if (!x->hcap) return -1;
    size_t h = str_hash(scan_id) & (x->hcap - 1);
    while (x->hidx[h]) {
        size_t i = x->hidx[h] - 1;
        if (strcmp(x->scan_ids[i], scan_id) == 0) return (long)i;
        h = (h + 1) & (x->hcap - 1);
    }
    return -1;
}

void dc_h5index_put(dc_h5index *x, const char *scan_id, const char *seg)
{
    dc_strvec_push(&x->pending, scan_id);
    long i = dc_h5index_find(x, scan_id);
    if (i >= 0) {
        free(x->segs[i]);
        x->segs[i] = dc_strdup(seg);
        return;
    }
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->scan_ids = dc_realloc(x->scan_ids, x->cap * sizeof(char *));
        x->segs = dc_realloc(x->segs, x->cap * sizeof(char *));
    }
    x->scan_ids[x->n] = dc_strdup(scan_id);
    x->segs[x->n] = dc_strdup(seg);
    x->n++;
    if (x->n * 2 > x->hcap)
        index_rehash(x, x->hcap ? x->hcap * 2 : 128);
    else {
        size_t h = str_hash(scan_id) & (x->hcap - 1);
        while (x->hidx[h]) h = (h + 1) & (x->hcap - 1);
        x->hidx[h] = x->n;
    }
}

void dc_h5index_remove(dc_h5index *x, const char *scan_id)
{
    long i = dc_h5index_find(x, scan_id);
    if (i < 0) return;
    dc_strvec_push(&x->pending, scan_id);
    free(x->scan_ids[i]);
    free(x->segs[i]);
    x->n--;
    if ((size_t)i != x->n) {
        x->scan_ids[i] = x->scan_ids[x->n];
        x->segs[i] = x->segs[x->n];
    }
    index_rehash(x, x->hcap);
}

/* ------------------------------------------------------------------ */
/* small HDF5 helpers                                                   */

static void h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static hid_t file_type_of(int dtype)
{
    switch (dtype) {
    case DC_DT_U8: return H5T_STD_U8LE;
    case DC_DT_I8: return H5T_STD_I8LE;
    case DC_DT_U16: return H5T_STD_U16LE;
    case DC_DT_I16: return H5T_STD_I16LE;
    case DC_DT_U32: return H5T_STD_U32LE;
    case DC_DT_I32: return H5T_STD_I32LE;
    case DC_DT_F32: return H5T_IEEE_F32LE;
    default: return H5T_IEEE_F64LE;
    }
}

static hid_t mem_type_of(int dtype)
{
    switch (dtype) {
    case DC_DT_U8: return H5T_NATIVE_UINT8;
    case DC_DT_I8: return H5T_NATIVE_INT8;
    case DC_DT_U16: return H5T_NATIVE_UINT16;
    case DC_DT_I16: return H5T_NATIVE_INT16;
    case DC_DT_U32: return H5T_NATIVE_UINT32;
    case DC_DT_I32: return H5T_NATIVE_INT32;
    case DC_DT_F32: return H5T_NATIVE_FLOAT;
    default: return H5T_NATIVE_DOUBLE;
    }
}

static int attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                      const hsize_t *dims, const void *data)
{
    hid_t sp = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
    if (sp < 0) return -1;
    hid_t a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = -1;
    if (a >= 0) {
        rc = H5Awrite(a, mtype, data) < 0 ? -1 : 0;
        H5Aclose(a);
    }
    H5Sclose(sp);
    return rc;
}

/* variable-length UTF-8 string: h5py reads it as str */
static int attr_str(hid_t loc, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    const char *v = value ? value : "";
    int rc = attr_write(loc, name, t, t, 0, NULL, &v);
    H5Tclose(t);
    return rc;
}

/* 1 when loc has a string attribute name with exactly this value */
static int attr_str_equals(hid_t loc, const char *name, const char *value)
{
    if (H5Aexists(loc, name) <= 0) return 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return 0;
    hid_t t = H5Aget_type(a);
    int same = 0;
    if (t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0) {
        char *v = NULL;
        if (H5Aread(a, t, &v) >= 0 && v) {
            same = strcmp(v, value) == 0;
            H5free_memory(v);
        }
    }
    if (t >= 0) H5Tclose(t);
    H5Aclose(a);
    return same;
}

static int attr_i64(hid_t loc, const char *name, int64_t v)
{
    return attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, &v);
}

static int attr_f64(hid_t loc, const char *name, int rank, const hsize_t *dims, const double *v)
{
    return attr_write(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rank, dims, v);
}

/* byte copy of a file (dc_raw_copy: copy_file_range, in-kernel) */
static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY);
    if (in < 0) return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        close(in);
        return -1;
    }
    struct stat st;
    int rc = fstat(in, &st) == 0 ? dc_raw_copy(in, 0, out, 0, (uint64_t)st.st_size) : -1;
    if (close(out) != 0) rc = -1;
    close(in);
    return rc;
}

/* ------------------------------------------------------------------ */
/* index file                                                           */

typedef struct {
    dc_h5index *x;
    hid_t fid;
} load_ctx;

static herr_t load_link(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    load_ctx *c = op;
    if (info->type == H5L_TYPE_EXTERNAL) {
        char buf[4096];
        if (info->u.val_size > sizeof buf) return 0;
        if (H5Lget_val(g, name, buf, sizeof buf, H5P_DEFAULT) < 0) return 0;
        const char *file = NULL, *obj = NULL;
        unsigned flags = 0;
        if (H5Lunpack_elink_val(buf, info->u.val_size, &flags, &file, &obj) < 0) return 0;
        dc_h5index_put(c->x, name, file);
    } else if (info->type == H5L_TYPE_HARD) {
        H5O_info_t oi;
        if (H5Oget_info_by_name2(g, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 &&
            oi.type == H5O_TYPE_DATASET)
            dc_h5index_put(c->x, name, "");
    }
    return 0;
}

int dc_h5index_load(const char *index_path, dc_h5index *x, char *err, size_t errlen)
{
    h5_quiet();
    if (access(index_path, F_OK) != 0) return 0;
    hid_t fid = H5Fopen(index_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fid < 0) {
        snprintf(err, errlen, "%s: not a readable HDF5 file", index_path);
        return -1;
    }
    load_ctx c = {x, fid};
    herr_t rc = H5Literate(fid, H5_INDEX_NAME, H5_ITER_INC, NULL, load_link, &c);
    H5Fclose(fid);
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot list its datasets", index_path);
        return -1;
    }
    dc_strvec_free(&x->pending); /* the map is what the file holds */
    x->synced = x->n > 0;
    return 0;
}

static int write_file_attrs(hid_t fid, const char *layout, const char *config_text)
{
    int rc = attr_str(fid, "dcmcrawl_version", DC_VERSION);
    rc |= attr_str(fid, "layout", layout);
    rc |= attr_str(fid, "config", config_text ? config_text : "");
    return rc;
}

/* one link of the map into an open index file (replacing a link of that name) */
static int put_link(hid_t fid, const dc_h5index *x, size_t i, hid_t *old, const char *index_path,
                    char *err, size_t errlen)
{
    if (H5Lexists(fid, x->scan_ids[i], H5P_DEFAULT) > 0 &&
        H5Ldelete(fid, x->scan_ids[i], H5P_DEFAULT) < 0) {
        snprintf(err, errlen, "%s: cannot replace link %s", index_path, x->scan_ids[i]);
        return -1;
    }
    if (x->segs[i][0]) {
        char obj[1024];
        snprintf(obj, sizeof obj, "/%s", x->scan_ids[i]);
        if (H5Lcreate_external(x->segs[i], obj, fid, x->scan_ids[i], H5P_DEFAULT, H5P_DEFAULT) < 0) {
            snprintf(err, errlen, "%s: cannot link %s", index_path, x->scan_ids[i]);
            return -1;
        }
        return 0;
    }
    /* a dataset stored in the previous index itself (packed file) */
    if (*old < 0) *old = H5Fopen(index_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*old < 0 ||
        H5Ocopy(*old, x->scan_ids[i], fid, x->scan_ids[i], H5P_DEFAULT, H5P_DEFAULT) < 0) {
        snprintf(err, errlen, "%s: cannot copy dataset %s", index_path, x->scan_ids[i]);
        return -1;
    }
    return 0;
}

/* every link into a new file */
static hid_t write_full(const char *tmp, const char *index_path, const dc_h5index *x,
                        const char *layout, const char *config_text, char *err, size_t errlen)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST); /* dense link storage */
    hid_t fid = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (fid < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        return -1;
    }
    int rc = write_file_attrs(fid, layout, config_text);
    hid_t old = -1;
    for (size_t i = 0; i < x->n && rc == 0; i++) rc = put_link(fid, x, i, &old, index_path, err, errlen);
    if (old >= 0) H5Fclose(old);
    if (rc != 0) {
        H5Fclose(fid);
        return -1;
    }
    return fid;
}

/* copy of the file on disk with only the pending changes applied */
static hid_t write_incremental(const char *tmp, const char *index_path, const dc_h5index *x,
                               const char *layout, const char *config_text, char *err,
                               size_t errlen)
{
    if (copy_file(index_path, tmp) != 0) {
        snprintf(err, errlen, "%s: cannot copy to %s: %s", index_path, tmp, strerror(errno));
        return -1;
    }
    hid_t fid = H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT);
    if (fid < 0) {
        snprintf(err, errlen, "%s: cannot open the copy for update", tmp);
        return -1;
    }
    int rc = 0;
    hid_t old = -1;
    /* rewrite a file attribute only when it changes: a variable-length string
     * lives in the global heap, and a heap collection replaced is not reused,
     * so rewriting it at every checkpoint would grow the index by ~4 KB each */
    const char *names[] = {"layout", "config"};
    const char *values[] = {layout, config_text ? config_text : ""};
    for (int k = 0; k < 2 && rc == 0; k++) {
        if (attr_str_equals(fid, names[k], values[k])) continue;
        if (H5Aexists(fid, names[k]) > 0) H5Adelete(fid, names[k]);
        rc |= attr_str(fid, names[k], values[k]);
    }
    for (size_t k = 0; k < x->pending.n && rc == 0; k++) {
        long i = dc_h5index_find(x, x->pending.v[k]);
        if (i >= 0) {
            rc = put_link(fid, x, (size_t)i, &old, index_path, err, errlen);
        } else if (H5Lexists(fid, x->pending.v[k], H5P_DEFAULT) > 0 &&
                   H5Ldelete(fid, x->pending.v[k], H5P_DEFAULT) < 0) {
            snprintf(err, errlen, "%s: cannot remove link %s", tmp, x->pending.v[k]);
            rc = -1;
        }
    }
    if (old >= 0) H5Fclose(old);
    if (rc != 0) {
        H5Fclose(fid);
        return -1;
    }
    return fid;
}

/* HDF5 1.10 frees a file whose H5Fclose fails halfway (a full disk) but
 * keeps its ID; its shutdown, which MPI_Finalize runs, then crashes on it
 * (H5F__close_cb).  After such a failure the run ends with status 1 anyway:
 * a delete callback on MPI_COMM_SELF, set after HDF5's own and so run
 * before it (MPI deletes them in reverse order), ends the process there
 * (issue 6: ENOSPC exits 1, no crash). */
static int exit_before_hdf5_shutdown(MPI_Comm comm, int key, void *val, void *extra)
{
    (void)comm, (void)key, (void)val, (void)extra;
    fflush(stdout);
    fflush(stderr);
    _exit(1);
}

static void after_failed_close(void)
{
    static int armed;
    int key;
    if (armed) return;
    armed = 1;
    MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, exit_before_hdf5_shutdown, &key, NULL);
    MPI_Comm_set_attr(MPI_COMM_SELF, key, NULL);
}

int dc_h5index_write(const char *index_path, const dc_h5index *x, const char *layout,
                     const char *config_text, char *err, size_t errlen)
{
    h5_quiet();
    char *tmp = dc_asprintf("%s.tmp", index_path);
    int incremental = x->synced && access(index_path, F_OK) == 0;
    hid_t fid = incremental ? write_incremental(tmp, index_path, x, layout, config_text, err, errlen)
                            : write_full(tmp, index_path, x, layout, config_text, err, errlen);
    int rc = fid < 0 ? -1 : 0;
    if (fid >= 0 && H5Fclose(fid) < 0) {
        snprintf(err, errlen, "%s: cannot close", tmp);
        after_failed_close();
        rc = -1;
    }
    if (rc == 0 && dc_fsync_path(tmp, 0) != 0) {
        snprintf(err, errlen, "%s: fsync failed: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (rc == 0) dc_hook("index");
    if (rc == 0 && rename(tmp, index_path) != 0) {
        snprintf(err, errlen, "%s: rename to %s failed: %s", tmp, index_path, strerror(errno));
        rc = -1;
    }
    if (rc == 0) {
        char *d = dc_dir_of(index_path);
        dc_fsync_path(d, 1);
        free(d);
        /* the file now matches the map (const: bookkeeping only) */
        dc_h5index *mx = (dc_h5index *)x;
        dc_strvec_free(&mx->pending);
        mx->synced = 1;
    } else {
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* segment files                                                        */

typedef struct {
    hid_t did;
    int dtype;
    int ndim;
    hsize_t dims[5];
    int frame_axis0; /* first axis counting frames */
    int n_frame_axes;
    int row_axis;
    int compressed;
} seg_ds;

struct dc_h5seg {
    MPI_Comm comm;
    int rank;
    hid_t fid;
    char *path;
    seg_ds *ds;
    size_t n, cap;
};

dc_h5seg *dc_h5seg_create(MPI_Comm comm, const char *path, char *err, size_t errlen)
{
    h5_quiet();
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
    dc_h5seg *s = dc_calloc(1, sizeof *s);
    s->comm = comm;
    MPI_Comm_rank(comm, &s->rank);
    s->fid = fid;
    s->path = dc_strdup(path);
    attr_str(fid, "dcmcrawl_version", DC_VERSION);
    return s;
}

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
static int extra_attrs(hid_t did, const dc_xattrs *x)
{
    int rc = 0;
    for (uint32_t i = 0; i < x->n; i++) {
        const dc_xattr *a = &x->a[i];
        hsize_t n = a->n;
        int rank = a->scalar ? 0 : 1;
        if (a->type == DC_XATTR_F64) {
            rc |= attr_f64(did, a->name, rank, &n, a->f);
            continue;
        }
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
        rc |= attr_write(did, a->name, t, t, rank, &n, a->s);
        H5Tclose(t);
    }
    return rc;
}

static int scan_attrs(hid_t did, const dc_scan *scan, const dc_h5ds_opts *o)
{
    int rc = 0;
    rc |= attr_str(did, "scan_id", scan->scan_id);
    rc |= attr_str(did, "source_folder", o->source_folder);
    rc |= attr_str(did, "series_instance_uid", scan->series_uid);
    rc |= attr_str(did, "study_instance_uid", scan->study_uid);
    rc |= attr_str(did, "modality", scan->modality);
    rc |= attr_i64(did, "n_files", scan->n_files);
    rc |= attr_str(did, "slice_order", scan->slice_order);
    hsize_t d3 = 3, d44[2] = {4, 4};
    rc |= attr_f64(did, "spacing", 1, &d3, scan->spacing);
    rc |= attr_f64(did, "affine", 2, d44, scan->affine);
    hsize_t dp[2] = {scan->slice_positions ? scan->n_positions : 0, 3};
    static const double none = 0;
    rc |= attr_f64(did, "slice_positions", 2, dp, scan->slice_positions ? scan->slice_positions : &none);
    hsize_t dn = scan->n_slices;
    rc |= attr_write(did, "instance_numbers", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &dn,
                     scan->instance_numbers);
    hsize_t dr = scan->n_rescale;
    int rr = scan->n_rescale > 1 ? 1 : 0;
    double one = 1.0, zero = 0.0;
    rc |= attr_f64(did, "rescale_slope", rr, &dr, scan->rescale_slope ? scan->rescale_slope : &one);
    rc |= attr_f64(did, "rescale_intercept", rr, &dr,
                   scan->rescale_intercept ? scan->rescale_intercept : &zero);
    rc |= attr_str(did, "photometric_interpretation", scan->photometric);
    rc |= attr_i64(did, "bits_stored", scan->bits_stored);
    uint8_t u = scan->uniform_spacing ? 1 : 0;
    rc |= attr_write(did, "uniform_spacing", H5T_NATIVE_HBOOL, H5T_NATIVE_HBOOL, 0, NULL, &u);
    rc |= attr_str(did, "warnings", scan->warnings ? scan->warnings : "");
    /* palette color LUTs (PALETTE COLOR, supplemental palettes): descriptors
     * as in the file, tables expanded, uint8 or uint16 as their entries */
    static const char *const chan[3] = {"red", "green", "blue"};
    for (int c = 0; scan->palette && c < 3; c++) {
        const dc_palette *p = scan->palette;
        char name[64];
        hsize_t d = 3, n = p->len[c];
        snprintf(name, sizeof name, "palette_%s_lut_descriptor", chan[c]);
        rc |= attr_write(did, name, H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &d, p->desc[c]);
        snprintf(name, sizeof name, "palette_%s_lut_data", chan[c]);
        static const uint16_t empty = 0;
        rc |= attr_write(did, name, p->bits == 8 ? H5T_STD_U8LE : H5T_STD_U16LE, H5T_NATIVE_UINT16, 1,
                         &n, n ? dc_palette_channel(p, c) : &empty);
    }
    rc |= extra_attrs(did, &scan->xattrs);
    return rc;
}

int dc_h5seg_add_dataset(dc_h5seg *seg, const dc_scan *scan, const dc_h5ds_opts *o, char *err,
                         size_t errlen)
{
    dc_hook("create");
    seg_ds d;
    memset(&d, 0, sizeof d);
    d.dtype = scan->dtype;
    d.ndim = scan->ndim;
    for (int i = 0; i < scan->ndim; i++) d.dims[i] = scan->dims[i];
    frame_axes(scan, o->layout, &d);
    hid_t sp = H5Screate_simple(d.ndim, d.dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    if (o->gzip_level > 0) {
        hsize_t chunk[5];
        for (int i = 0; i < d.ndim; i++) chunk[i] = d.dims[i];
        for (int i = 0; i < d.n_frame_axes; i++) chunk[d.frame_axis0 + i] = 1;
        H5Pset_chunk(dcpl, d.ndim, chunk);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)o->gzip_level);
        d.compressed = 1;
    }
    d.did = H5Dcreate2(seg->fid, scan->scan_id, file_type_of(scan->dtype), sp, H5P_DEFAULT, dcpl,
                       H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    if (d.did < 0) {
        snprintf(err, errlen, "%s: cannot create dataset %s", seg->path, scan->scan_id);
        return -1;
    }
    if (scan_attrs(d.did, scan, o) != 0) {
        snprintf(err, errlen, "%s: cannot write attributes of %s", seg->path, scan->scan_id);
        H5Dclose(d.did);
        return -1;
    }
    if (seg->n == seg->cap) {
        seg->cap = seg->cap ? seg->cap * 2 : 16;
        seg->ds = dc_realloc(seg->ds, seg->cap * sizeof *seg->ds);
    }
    seg->ds[seg->n] = d;
    return (int)seg->n++;
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
    hid_t fsp = H5Dget_space(d->did);
    H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t msp = H5Screate_simple(mrank, mdims, NULL);
    herr_t rc = H5Dwrite(d->did, mem_type_of(d->dtype), msp, fsp, H5P_DEFAULT, buf);
    H5Sclose(msp);
    H5Sclose(fsp);
    if (rc < 0) {
        snprintf(err, errlen, "%s: write of slice %u of %s failed", seg->path, k, scan->scan_id);
        return -1;
    }
    return 0;
}

int dc_h5seg_is_collective(const dc_h5seg *seg, int h)
{
    return seg->ds[h].compressed;
}

/* raw placement of frames, for the copy fast path (dc_rawcopy.h) */

const char *dc_h5seg_path(const dc_h5seg *seg)
{
    return seg->path;
}

int dc_h5seg_frame_extent(dc_h5seg *seg, int h, uint32_t k, uint64_t *off, uint64_t *len)
{
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return -1; /* the file types are little endian, the caller's bytes in host order */
#endif
    if (h < 0 || (size_t)h >= seg->n) return -1;
    const seg_ds *d = &seg->ds[h];
    if (d->compressed || d->did < 0) return -1;
    uint64_t frames = 1, values = 1;
    for (int i = 0; i < d->n_frame_axes; i++) frames *= d->dims[d->frame_axis0 + i];
    for (int i = 0; i < d->ndim; i++) values *= d->dims[i];
    /* frames are contiguous when their axes lead (zyx), or when there is one */
    if (k >= frames || (d->frame_axis0 != 0 && frames > 1)) return -1;
    haddr_t base = H5Dget_offset(d->did); /* contiguous, allocated storage only */
    if (base == HADDR_UNDEF) return -1;
    *len = values / frames * (uint64_t)dc_dtype_size(d->dtype);
    *off = (uint64_t)base + (uint64_t)k * *len;
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

int dc_h5seg_write_all(dc_h5seg *seg, int h, const dc_scan *scan, const void *frames, char *err,
                       size_t errlen)
{
    seg_ds *d = &seg->ds[h];
    dc_hook("collective");
    hid_t fsp = H5Dget_space(d->did);
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
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    static const char none = 0;
    herr_t rc = H5Dwrite(d->did, mem_type_of(d->dtype), msp, fsp, dxpl, frames ? frames : &none);
    H5Pclose(dxpl);
    H5Sclose(msp);
    H5Sclose(fsp);
    free(tmp);
    int ok = rc < 0 ? -1 : 0, all;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, seg->comm);
    if (all != 0) snprintf(err, errlen, "%s: collective write of %s failed", seg->path, scan->scan_id);
    return all;
}

int dc_h5seg_drop_dataset(dc_h5seg *seg, int h, const dc_scan *scan, char *err, size_t errlen)
{
    seg_ds *d = &seg->ds[h];
    if (d->did >= 0) H5Dclose(d->did);
    d->did = -1;
    int rc = H5Ldelete(seg->fid, scan->scan_id, H5P_DEFAULT) < 0 ? -1 : 0, all;
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MIN, seg->comm);
    if (all != 0) snprintf(err, errlen, "%s: cannot unlink dataset %s", seg->path, scan->scan_id);
    return all;
}

int dc_h5seg_close(dc_h5seg *seg, char *err, size_t errlen)
{
    int rc = 0;
    dc_hook("close");
    for (size_t i = 0; i < seg->n; i++)
        if (seg->ds[i].did >= 0) H5Dclose(seg->ds[i].did);
    /* flush first: when that fails (a full disk) the file is never closed
     * (a close that fails leaves HDF5 unable to shut down, see
     * after_failed_close); it stays open, pinned, until the process ends */
    if (H5Fflush(seg->fid, H5F_SCOPE_LOCAL) < 0) rc = -1;
    int all = 0;
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MIN, seg->comm);
    if (all != 0)
        H5Iinc_ref(seg->fid);
    else if (H5Fclose(seg->fid) < 0)
        rc = -1;
    if (rc != 0) after_failed_close();
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MIN, seg->comm);
    /* every rank flushes what it wrote (on a parallel file system each client
     * holds its own dirty pages); rank 0 makes the file's name durable */
    if (all == 0 && dc_fsync_path(seg->path, 0) != 0) rc = -1;
    if (all == 0 && seg->rank == 0) {
        char *d = dc_dir_of(seg->path);
        if (dc_fsync_path(d, 1) != 0) rc = -1;
        free(d);
    }
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MIN, seg->comm);
    if (all != 0) {
        char note[80];
        dc_free_space_note(seg->path, note, sizeof note);
        snprintf(err, errlen, "%s: writing the segment file failed%s", seg->path, note);
    }
    free(seg->ds);
    free(seg->path);
    free(seg);
    return all;
}

/* ------------------------------------------------------------------ */
/* pack                                                                 */

int dc_h5_pack(const char *index_path, const char *out_path, char *err, size_t errlen)
{
    h5_quiet();
    dc_h5index x;
    dc_h5index_init(&x);
    if (dc_h5index_load(index_path, &x, err, errlen) != 0) return -1;
    hid_t src = H5Fopen(index_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *tmp = dc_asprintf("%s.tmp", out_path);
    hid_t dst = src >= 0 ? H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT) : -1;
    int rc = (src < 0 || dst < 0) ? -1 : 0;
    if (rc) snprintf(err, errlen, "cannot open %s or create %s", index_path, tmp);
    /* copy file attributes */
    if (rc == 0) {
        hid_t ocpy = H5Pcreate(H5P_OBJECT_COPY);
        for (size_t i = 0; i < x.n && rc == 0; i++) {
            /* H5Ocopy follows the external link and copies the dataset with attributes */
            hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
            if (H5Ocopy(src, x.scan_ids[i], dst, x.scan_ids[i], ocpy, lcpl) < 0) {
                snprintf(err, errlen, "cannot copy %s from %s", x.scan_ids[i], index_path);
                rc = -1;
            }
            H5Pclose(lcpl);
        }
        H5Pclose(ocpy);
        char *names[] = {"dcmcrawl_version", "layout", "config"};
        for (int i = 0; i < 3 && rc == 0; i++) {
            hid_t a = H5Aopen(src, names[i], H5P_DEFAULT);
            if (a < 0) continue;
            hid_t t = H5Aget_type(a);
            char *v = NULL;
            if (H5Aread(a, t, &v) >= 0) {
                attr_str(dst, names[i], v);
                H5free_memory(v);
            }
            H5Tclose(t);
            H5Aclose(a);
        }
    }
    if (dst >= 0 && H5Fclose(dst) < 0) {
        after_failed_close();
        rc = -1;
    }
    if (src >= 0) H5Fclose(src);
    if (rc == 0 && (dc_fsync_path(tmp, 0) != 0 || rename(tmp, out_path) != 0)) {
        snprintf(err, errlen, "cannot write %s: %s", out_path, strerror(errno));
        rc = -1;
    }
    if (rc != 0) unlink(tmp);
    free(tmp);
    dc_h5index_free(&x);
    return rc;
}
