/*
 * h5out_labels.c - HDF5 files of the label datasets (dc_h5labels.h): one
 * serial HDF5 file per label scan, and the index labels_<id>.h5 of links.
 * Written by rank 0 alone during the label phase (labels_run.c).
 */
#include "dc_h5labels.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5out_internal.h"

static int attr_strings(hid_t loc, const char *name, const char *const *v, int rank,
                        const hsize_t *dims)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    int rc = h5out_attr_write(NULL, loc, name, t, t, rank, dims, v);
    H5Tclose(t);
    return rc;
}

static int attr_i32(hid_t loc, const char *name, const int32_t *v, int rank, const hsize_t *dims)
{
    return h5out_attr_write(NULL, loc, name, H5T_STD_I32LE, H5T_NATIVE_INT32, rank, dims, v);
}

/* geometry of the grid: affine, spacing (z, y, x), slice_positions */
static int geometry_attrs(hid_t d, const dc_grid *g)
{
    hsize_t d44[2] = {4, 4}, d3 = 3, dp[2] = {g->nz, 3};
    const double *a = g->affine;
    double sp[3];
    for (int c = 0; c < 3; c++)
        sp[c] = sqrt(a[c] * a[c] + a[4 + c] * a[4 + c] + a[8 + c] * a[8 + c]);
    double *pos = dc_malloc(((size_t)g->nz * 3 + 1) * sizeof *pos);
    for (uint32_t k = 0; k < g->nz; k++) dc_grid_slice_pos(g, k, pos + 3 * k);
    int rc = h5out_attr_f64(NULL, d, "affine", 2, d44, a) | h5out_attr_f64(NULL, d, "spacing", 1, &d3, sp) |
             h5out_attr_f64(NULL, d, "slice_positions", 2, dp, pos);
    free(pos);
    return rc;
}

static int seg_attrs(hid_t d, const dc_seg_info *s)
{
    uint32_t n = s->n_segments;
    hsize_t dn = n, dn3[2] = {n, 3};
    int32_t *num = calloc(n + 1, sizeof *num);
    const char **lab = calloc(n + 1, sizeof *lab), **desc = calloc(n + 1, sizeof *desc);
    const char **alg = calloc(n + 1, sizeof *alg), **algn = calloc(n + 1, sizeof *algn);
    const char **cat = calloc(3 * n + 1, sizeof *cat), **typ = calloc(3 * n + 1, sizeof *typ);
    for (uint32_t i = 0; i < n; i++) {
        const dc_segment *g = &s->segments[i];
        num[i] = g->number;
        lab[i] = g->label;
        desc[i] = g->description;
        alg[i] = g->algorithm_type;
        algn[i] = g->algorithm_name;
        cat[3 * i] = g->category.value, cat[3 * i + 1] = g->category.scheme;
        cat[3 * i + 2] = g->category.meaning;
        typ[3 * i] = g->type.value, typ[3 * i + 1] = g->type.scheme;
        typ[3 * i + 2] = g->type.meaning;
    }
    static const char *types[] = {"BINARY", "FRACTIONAL", "LABELMAP"};
    int rc = h5out_attr_str(NULL, d, "label_kind", "seg") | attr_i32(d, "segment_numbers", num, 1, &dn) |
             attr_strings(d, "segment_labels", lab, 1, &dn) |
             attr_strings(d, "segment_descriptions", desc, 1, &dn) |
             attr_strings(d, "segment_algorithm_types", alg, 1, &dn) |
             attr_strings(d, "segment_algorithm_names", algn, 1, &dn) |
             attr_strings(d, "segment_category_codes", cat, 2, dn3) |
             attr_strings(d, "segment_type_codes", typ, 2, dn3) |
             h5out_attr_str(NULL, d, "segmentation_type", types[s->type]) |
             h5out_attr_i64(NULL, d, "maximum_fractional_value", s->max_fractional) |
             h5out_attr_str(NULL, d, "fractional_type", s->fractional_type);
    free(num), free(lab), free(desc), free(alg), free(algn), free(cat), free(typ);
    return rc;
}

static int rtss_attrs(hid_t d, const dc_label_volume *v)
{
    uint32_t n = v->n_labels;
    hsize_t dn = n, dn3[2] = {n, 3};
    int32_t *num = calloc(n + 1, sizeof *num), *col = calloc(3 * n + 1, sizeof *col);
    int32_t *drawn = calloc(n + 1, sizeof *drawn);
    const char **name = calloc(n + 1, sizeof *name), **type = calloc(n + 1, sizeof *type);
    for (uint32_t i = 0; i < n; i++) {
        const dc_roi *r = &v->rtss.rois[i];
        num[i] = r->number;
        name[i] = r->name;
        type[i] = r->interpreted_type;
        for (int c = 0; c < 3; c++) col[3 * i + c] = r->has_color ? r->color[c] : -1;
        drawn[i] = (int32_t)v->stats[i].drawn;
    }
    int rc = h5out_attr_str(NULL, d, "label_kind", "rtstruct") | attr_i32(d, "roi_numbers", num, 1, &dn) |
             attr_strings(d, "roi_names", name, 1, &dn) | attr_i32(d, "roi_colors", col, 2, dn3) |
             attr_strings(d, "roi_interpreted_types", type, 1, &dn) |
             attr_i32(d, "roi_contours_drawn", drawn, 1, &dn);
    free(num), free(col), free(drawn), free(name), free(type);
    return rc;
}

static int write_dataset(hid_t fid, const dc_label_volume *v, const dc_label_attrs *a)
{
    const dc_grid *g = &v->grid;
    hsize_t dims[4] = {v->n_labels, g->nz, g->ny, g->nx};
    hsize_t chunk[4] = {1, 1, g->ny ? g->ny : 1, g->nx ? g->nx : 1};
    hid_t sp = H5Screate_simple(4, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dims[0] && dims[1] && dims[2] && dims[3]) {
        H5Pset_chunk(dcpl, 4, chunk);
        H5Pset_deflate(dcpl, 1);
    }
    hid_t d = H5Dcreate2(fid, a->scan_id, H5T_STD_U8LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int rc = d < 0 ? -1 : 0;
    if (rc == 0 && dims[0] && dims[1] && dims[2] && dims[3])
        rc = H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, v->data) < 0 ? -1 : 0;
    if (rc == 0)
        rc = h5out_attr_str(NULL, d, "scan_id", a->scan_id) |
             h5out_attr_str(NULL, d, "referenced_scan_id", a->referenced_scan_id) |
             h5out_attr_str(NULL, d, "referenced_series_instance_uid", a->referenced_series_uid) |
             h5out_attr_str(NULL, d, "grid", v->own_grid ? "own" : "image") |
             h5out_attr_str(NULL, d, "warnings", a->warnings) | geometry_attrs(d, g) |
             (v->kind == DC_LABEL_SEG ? seg_attrs(d, &v->seg) : rtss_attrs(d, v));
    if (d >= 0) H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return rc;
}

/* close fid, fsync tmp and rename it to path */
static int finish_file(hid_t fid, int rc, const char *tmp, const char *path, char *err,
                       size_t errlen)
{
    if (H5Fclose(fid) < 0) rc = -1;
    if (rc == 0 && (dc_fsync_path(tmp, 0) != 0 || rename(tmp, path) != 0)) rc = -1;
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, errno ? strerror(errno) : "HDF5 error");
        unlink(tmp);
        return -1;
    }
    dc_fsync_dir_of(path);
    return 0;
}

int dc_h5labels_write(const char *path, const dc_label_volume *v, const dc_label_attrs *a,
                      char *err, size_t errlen)
{
    h5out_quiet();
    char *tmp = dc_asprintf("%s.tmp", path);
    hid_t fapl = h5out_fapl(0, 0, 0);
    hid_t fid = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    int rc = -1;
    if (fid < 0)
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
    else
        rc = finish_file(fid, write_dataset(fid, v, a), tmp, path, err, errlen);
    free(tmp);
    return rc;
}

int dc_h5labels_index(const char *index_path, char *const *scan_ids, char *const *files, size_t n,
                      char *err, size_t errlen)
{
    h5out_quiet();
    char *tmp = dc_asprintf("%s.tmp", index_path);
    hid_t fapl = h5out_fapl(0, 0, 0);
    hid_t fid = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    int rc = -1;
    if (fid < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
    } else {
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            char *obj = dc_asprintf("/%s", scan_ids[i]);
            if (H5Lcreate_external(files[i], obj, fid, scan_ids[i], H5P_DEFAULT, H5P_DEFAULT) < 0)
                rc = -1;
            free(obj);
        }
        rc = finish_file(fid, rc, tmp, index_path, err, errlen);
    }
    free(tmp);
    return rc;
}
