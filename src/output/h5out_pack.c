/*
 * h5out_pack.c - `dcmcrawl pack`: one self-contained HDF5 file with every
 * dataset of an index (external links followed, attributes copied) and the
 * index's file attributes.  See dc_h5out.h.
 */
#include "dc_h5out.h"
#include "h5out_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dc_h5_pack(const char *index_path, const char *out_path, char *err, size_t errlen)
{
    h5out_quiet();
    dc_h5index x;
    dc_h5index_init(&x);
    if (dc_h5index_load(index_path, &x, err, errlen) != 0) return -1;
    hid_t src = H5Fopen(index_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *tmp = dc_asprintf("%s.tmp", out_path);
    hid_t fapl = h5out_fapl(0, 0, 0);
    hid_t dst = src >= 0 ? H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : -1;
    H5Pclose(fapl);
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
                h5out_attr_str(NULL, dst, names[i], v);
                H5free_memory(v);
            }
            H5Tclose(t);
            H5Aclose(a);
        }
    }
    if (dst >= 0 && H5Fclose(dst) < 0) {
        h5out_after_failed_close();
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
