/*
 * h5out_util.c - the small HDF5 helpers every h5out_*.c file uses: type
 * maps, attribute writers, a file copy and the exit path after a failed
 * close.  See h5out_internal.h.
 */
#include "h5out_internal.h"

#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc_rawcopy.h"
#include "dc_scan.h"

void h5out_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

hid_t h5out_fapl(size_t cache_initial, size_t cache_min, size_t cache_max)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    H5AC_cache_config_t mdc;
    memset(&mdc, 0, sizeof mdc);
    mdc.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    if (cache_initial > 0 && H5Pget_mdc_config(fapl, &mdc) >= 0) {
        mdc.set_initial_size = 1;
        mdc.initial_size = cache_initial;
        if (cache_min > 0) mdc.min_size = cache_min;
        if (mdc.min_size > cache_initial) mdc.min_size = cache_initial;
        mdc.max_size = cache_max;
        H5Pset_mdc_config(fapl, &mdc);
    }
    return fapl;
}

hid_t h5out_file_type(int dtype)
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

hid_t h5out_mem_type(int dtype)
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

/* A part file takes 10^4-10^5 datasets of ~18 attributes each: creating
 * and closing a dataspace (and checking the string type) per attribute was
 * ~2,000 of the ~20,000 instructions an attribute costs (callgrind, 5,000
 * 8x8 files).  The writes of one file share them instead. */
void h5out_shared_init(h5out_shared *s)
{
    memset(s, 0, sizeof *s);
    s->scalar = H5Screate(H5S_SCALAR);
    s->vstr = H5Tcopy(H5T_C_S1);
    H5Tset_size(s->vstr, H5T_VARIABLE);
    H5Tset_cset(s->vstr, H5T_CSET_UTF8);
    for (size_t i = 0; i < H5OUT_SHARED_SPACES; i++) s->space[i].id = -1;
}

void h5out_shared_free(h5out_shared *s)
{
    if (s->scalar >= 0) H5Sclose(s->scalar);
    if (s->vstr >= 0) H5Tclose(s->vstr);
    for (size_t i = 0; i < H5OUT_SHARED_SPACES; i++)
        if (s->space[i].id >= 0) H5Sclose(s->space[i].id);
    memset(s, 0, sizeof *s);
    s->scalar = s->vstr = -1;
}

/* a simple dataspace of these dims: one of the shared ones (the oldest
 * replaced when none matches) */
static hid_t shared_space(h5out_shared *s, int rank, const hsize_t *dims)
{
    if (rank == 0) return s->scalar;
    if (rank > H5OUT_SHARED_MAX_RANK) return -1;
    for (size_t i = 0; i < H5OUT_SHARED_SPACES; i++) {
        const h5out_space_entry *e = &s->space[i];
        if (e->id >= 0 && e->rank == rank && !memcmp(e->dims, dims, (size_t)rank * sizeof *dims)) return e->id;
    }
    h5out_space_entry *e = &s->space[s->next++ % H5OUT_SHARED_SPACES];
    if (e->id >= 0) H5Sclose(e->id);
    e->id = H5Screate_simple(rank, dims, NULL);
    e->rank = rank;
    memcpy(e->dims, dims, (size_t)rank * sizeof *dims);
    return e->id;
}

hid_t h5out_space(h5out_shared *s, int rank, const hsize_t *dims, int *owned)
{
    hid_t sp = s ? shared_space(s, rank, dims) : -1;
    *owned = sp < 0;
    if (sp < 0) sp = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
    return sp;
}

int h5out_attr_write(h5out_shared *s, hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                     const hsize_t *dims, const void *data)
{
    int owned;
    hid_t sp = h5out_space(s, rank, dims, &owned);
    if (sp < 0) return -1;
    hid_t a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = -1;
    if (a >= 0) {
        rc = H5Awrite(a, mtype, data) < 0 ? -1 : 0;
        H5Aclose(a);
    }
    if (owned) H5Sclose(sp);
    return rc;
}

/* the variable-length UTF-8 string type, made once (a scan has 8 string
 * attributes; HDF5 closes it at its shutdown) */
static hid_t vlen_utf8(void)
{
    static hid_t t = -1;
    if (t < 0 || H5Iis_valid(t) <= 0) {
        t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
    }
    return t;
}

hid_t h5out_str_type(h5out_shared *s)
{
    return s ? s->vstr : vlen_utf8();
}

int h5out_attr_str(h5out_shared *s, hid_t loc, const char *name, const char *value)
{
    hid_t t = h5out_str_type(s);
    const char *v = value ? value : "";
    return h5out_attr_write(s, loc, name, t, t, 0, NULL, &v);
}

int h5out_attr_str_equals(hid_t loc, const char *name, const char *value)
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

int h5out_attr_i64(h5out_shared *s, hid_t loc, const char *name, int64_t v)
{
    return h5out_attr_write(s, loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, &v);
}

int h5out_attr_f64(h5out_shared *s, hid_t loc, const char *name, int rank, const hsize_t *dims,
                   const double *v)
{
    return h5out_attr_write(s, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rank, dims, v);
}

int h5out_copy_file(const char *src, const char *dst)
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

void h5out_after_failed_close(void)
{
    static int armed;
    int key;
    if (armed) return;
    armed = 1;
    MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, exit_before_hdf5_shutdown, &key, NULL);
    MPI_Comm_set_attr(MPI_COMM_SELF, key, NULL);
}
