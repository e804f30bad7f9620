/*
 * h5out_index.c - the index: scan id -> segment file, in memory (a hash
 * map) and on disk (pixel_data_<id>.h5: one external link per stored scan,
 * rank 0, serial HDF5).  See dc_h5out.h.
 *
 * A checkpoint must not cost a rewrite of every link (10^8 scans: 10^8
 * links, 15 GB).  The live index file is never modified; it is replaced
 * by rename.  The file it replaced is kept as the *spare*
 * (<index>.spare): at the next checkpoint the spare, which lacks only the
 * links of the last two checkpoints, gets those links and is renamed over
 * the live file, and the live file becomes the spare.  A checkpoint thus
 * writes its own links (twice), not the archive's.  While the index is
 * small compared with the links to add, copying the live file
 * (copy_file_range) and adding the pending links once costs less, and is
 * done instead (spare_pays); so it is when the spare is not known to be in
 * step (start of a run, an error).  Without a usable live file every link
 * is written.
 */
#include "dc_h5out.h"
#include "h5out_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc_config.h"
#include "dc_hook.h"

/* ------------------------------------------------------------------ */
/* in-memory index                                                      */

void dc_h5index_init(dc_h5index *x)
{
    memset(x, 0, sizeof *x);
    x->spare_bytes_per_link = DC_H5INDEX_SPARE_BYTES;
    /* test hook (dc_hook.h): 0 makes the spare path run on small indexes */
    const char *e = getenv("DCMCRAWL_INDEX_SPARE_BYTES");
    if (e && *e) x->spare_bytes_per_link = (size_t)strtoull(e, NULL, 10);
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
    dc_strvec_free(&x->prev_pending);
    dc_h5index_init(x);
}

/* heap bytes of a link in the map (two strings, two pointers, malloc's
 * 16 bytes per block) and of a name in a pending list */
static size_t link_mem(const char *scan_id, const char *seg)
{
    return strlen(scan_id) + strlen(seg) + 2 + 2 * 16 + 2 * sizeof(char *);
}

static size_t name_mem(const char *scan_id)
{
    return strlen(scan_id) + 1 + 16 + sizeof(char *);
}

/* x->mem counted again (after the map or the pending lists shrank) */
static void recount_mem(dc_h5index *x)
{
    size_t m = 0;
    for (size_t i = 0; i < x->n; i++) m += link_mem(x->scan_ids[i], x->segs[i]);
    for (size_t k = 0; k < x->pending.n; k++) m += name_mem(x->pending.v[k]);
    for (size_t k = 0; k < x->prev_pending.n; k++) m += name_mem(x->prev_pending.v[k]);
    x->mem = m;
}

size_t dc_h5index_mem(const dc_h5index *x)
{
    return x->mem + x->hcap * sizeof(size_t);
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
    x->mem += name_mem(scan_id);
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
    x->mem += link_mem(scan_id, seg);
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
    x->mem += name_mem(scan_id);
    x->mem -= link_mem(x->scan_ids[i], x->segs[i]);
    free(x->scan_ids[i]);
    free(x->segs[i]);
    x->n--;
    if ((size_t)i != x->n) {
        x->scan_ids[i] = x->scan_ids[x->n];
        x->segs[i] = x->segs[x->n];
    }
    index_rehash(x, x->hcap);
}

/* will the next write go through the spare?  (spare_pays, with the next
 * checkpoint's links taken as many as the last one's) */
static int spare_may_pay(const dc_h5index *x)
{
    uint64_t links = 2 * (uint64_t)x->prev_pending.n;
    return x->spare_ok && x->live_bytes >= links * x->spare_bytes_per_link;
}

void dc_h5index_trim(dc_h5index *x)
{
    if (!x->synced) return; /* the next write must write every link */
    if (!spare_may_pay(x)) { /* the next write copies the live file: pending is all it needs */
        dc_strvec_free(&x->prev_pending);
        x->spare_ok = 0;
    }
    dc_strset keep;
    dc_strset_init(&keep);
    for (size_t k = 0; k < x->pending.n; k++) dc_strset_add(&keep, x->pending.v[k]);
    for (size_t k = 0; k < x->prev_pending.n; k++) dc_strset_add(&keep, x->prev_pending.v[k]);
    size_t j = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (dc_strset_has(&keep, x->scan_ids[i])) {
            x->scan_ids[j] = x->scan_ids[i];
            x->segs[j++] = x->segs[i];
        } else {
            free(x->scan_ids[i]);
            free(x->segs[i]);
        }
    }
    x->n = j;
    x->trimmed = 1;
    if (x->hcap) index_rehash(x, x->hcap);
    dc_strset_free(&keep);
    recount_mem(x);
}

/* ------------------------------------------------------------------ */
/* index file                                                           */

/* File access for an index: a metadata cache large enough for the link
 * B-tree nodes and heap blocks it goes through (the default 2 MB evicts and
 * reads them again every few links: a checkpoint's update at 300,000 links
 * spent half its time in pwrite/pread of evicted entries, and listing
 * 135,000 links took 16 s instead of 1 s).  cache: its initial size in
 * bytes (HDF5 allows at most 128 MiB). */
enum { CACHE_MIN = 2 << 20, CACHE_MAX = 128 << 20 }; /* HDF5's default; its limit */

static hid_t index_fapl(size_t cache)
{
    if (cache > CACHE_MAX) cache = CACHE_MAX;
    if (cache < CACHE_MIN) cache = CACHE_MIN;
    return h5out_fapl(cache, 0, CACHE_MAX);
}

/* an existing index opened with a cache of its size (flags: H5F_ACC_*) */
static hid_t open_index(const char *path, unsigned flags)
{
    struct stat st;
    hid_t fapl = index_fapl(stat(path, &st) == 0 ? (size_t)st.st_size : 0);
    hid_t fid = H5Fopen(path, flags, fapl);
    H5Pclose(fapl);
    return fid;
}

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
    h5out_quiet();
    /* a write killed between giving the live file its spare name and the
     * rename leaves <index>.spare.tmp: a second name of a file we keep */
    char *spare_tmp = dc_asprintf("%s.spare.tmp", index_path);
    unlink(spare_tmp);
    free(spare_tmp);
    if (access(index_path, F_OK) != 0) return 0;
    hid_t fid = open_index(index_path, H5F_ACC_RDONLY);
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
    recount_mem(x);
    x->synced = x->n > 0;
    x->spare_ok = 0; /* the spare's state is not known */
    return 0;
}

static int write_file_attrs(hid_t fid, const char *layout, const char *config_text)
{
    int rc = h5out_attr_str(NULL, fid, "dcmcrawl_version", DC_VERSION);
    rc |= h5out_attr_str(NULL, fid, "layout", layout);
    rc |= h5out_attr_str(NULL, fid, "config", config_text ? config_text : "");
    return rc;
}

/* one link of the map into an open index file (replacing a link of that name) */
static int put_link(hid_t fid, const dc_h5index *x, size_t i, hid_t *old, const char *index_path,
                    char *err, size_t errlen)
{
    const char *name = x->scan_ids[i];
    if (x->segs[i][0]) {
        char obj[1024];
        snprintf(obj, sizeof obj, "/%s", name);
        /* created at once in the common case (a new name: one B-tree
         * search, not two); a name already there is replaced */
        if (H5Lcreate_external(x->segs[i], obj, fid, name, H5P_DEFAULT, H5P_DEFAULT) >= 0) return 0;
        if (H5Ldelete(fid, name, H5P_DEFAULT) < 0 ||
            H5Lcreate_external(x->segs[i], obj, fid, name, H5P_DEFAULT, H5P_DEFAULT) < 0) {
            snprintf(err, errlen, "%s: cannot link %s", index_path, name);
            return -1;
        }
        return 0;
    }
    if (H5Lexists(fid, name, H5P_DEFAULT) > 0 && H5Ldelete(fid, name, H5P_DEFAULT) < 0) {
        snprintf(err, errlen, "%s: cannot replace link %s", index_path, name);
        return -1;
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
    hid_t fapl = index_fapl((size_t)64 << 20);
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

/* Bring the file attributes and the links named in ids to what the map
 * says (link to its segment, or no link), in an open index file. */
static int apply_changes(hid_t fid, const char *path, const dc_h5index *x, const dc_strvec *ids,
                         const char *index_path, hid_t *old, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t k = 0; k < ids->n && rc == 0; k++) {
        long i = dc_h5index_find(x, ids->v[k]);
        if (i >= 0) {
            rc = put_link(fid, x, (size_t)i, old, index_path, err, errlen);
        } else if (H5Lexists(fid, ids->v[k], H5P_DEFAULT) > 0 &&
                   H5Ldelete(fid, ids->v[k], H5P_DEFAULT) < 0) {
            snprintf(err, errlen, "%s: cannot remove link %s", path, ids->v[k]);
            rc = -1;
        }
    }
    return rc;
}

/* path (a copy of the live index, or the spare) opened for update, with the
 * file attributes and the links named in the id lists brought up to date */
static hid_t update_file(const char *path, const char *index_path, const dc_h5index *x,
                         const dc_strvec *ids1, const dc_strvec *ids2, const char *layout,
                         const char *config_text, char *err, size_t errlen)
{
    hid_t fid = open_index(path, H5F_ACC_RDWR);
    if (fid < 0) {
        snprintf(err, errlen, "%s: cannot open for update", path);
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
        if (h5out_attr_str_equals(fid, names[k], values[k])) continue;
        if (H5Aexists(fid, names[k]) > 0) H5Adelete(fid, names[k]);
        rc |= h5out_attr_str(NULL, fid, names[k], values[k]);
    }
    if (rc == 0) rc = apply_changes(fid, path, x, ids1, index_path, &old, err, errlen);
    if (rc == 0 && ids2) rc = apply_changes(fid, path, x, ids2, index_path, &old, err, errlen);
    if (old >= 0) H5Fclose(old);
    if (rc != 0) {
        H5Fclose(fid);
        return -1;
    }
    return fid;
}

/* copy of the live file with only the pending changes applied */
static hid_t write_incremental(const char *tmp, const char *index_path, const dc_h5index *x,
                               const char *layout, const char *config_text, char *err,
                               size_t errlen)
{
    if (h5out_copy_file(index_path, tmp) != 0) {
        snprintf(err, errlen, "%s: cannot copy to %s: %s", index_path, tmp, strerror(errno));
        return -1;
    }
    return update_file(tmp, index_path, x, &x->pending, NULL, layout, config_text, err, errlen);
}

/* 1 when updating the spare costs less than copying the live file: the
 * live file holds at least x->spare_bytes_per_link bytes per link the spare
 * lacks (both ways keep the spare in step) */
static int spare_pays(const char *index_path, const dc_h5index *x)
{
    struct stat st;
    size_t links = x->pending.n + x->prev_pending.n;
    if (stat(index_path, &st) != 0) return 0;
    return (uint64_t)st.st_size >= (uint64_t)links * x->spare_bytes_per_link;
}

/* The next live file, written and closed: the spare brought up to date when
 * it is in step, else a copy of the live file plus the pending links, else
 * every link.  *next: its path. */
static int write_next(const char *index_path, const char *tmp, const char *spare,
                      const dc_h5index *x, const char *layout, const char *config_text,
                      const char **next, char *err, size_t errlen)
{
    int live = access(index_path, F_OK) == 0;
    hid_t fid;
    *next = tmp;
    if (x->synced && live && x->spare_ok && access(spare, F_OK) == 0 && spare_pays(index_path, x)) {
        *next = spare;
        fid = update_file(spare, index_path, x, &x->prev_pending, &x->pending, layout, config_text,
                          err, errlen);
    } else if (x->synced && live) {
        fid = write_incremental(tmp, index_path, x, layout, config_text, err, errlen);
    } else if (x->trimmed) { /* the map no longer holds every link */
        snprintf(err, errlen, "%s: the index file is gone; run again to rebuild it", index_path);
        return -1;
    } else {
        fid = write_full(tmp, index_path, x, layout, config_text, err, errlen);
    }
    char note[80];
    if (fid < 0) { /* most often a full disk: say how much room is left */
        dc_free_space_note(*next, note, sizeof note);
        size_t used = strlen(err);
        if (used + 1 < errlen) snprintf(err + used, errlen - used, "%s", note);
        return -1;
    }
    if (H5Fclose(fid) < 0) {
        dc_free_space_note(*next, note, sizeof note);
        snprintf(err, errlen, "%s: cannot close%s", *next, note);
        h5out_after_failed_close();
        return -1;
    }
    if (dc_fsync_path(*next, 0) != 0) {
        snprintf(err, errlen, "%s: fsync failed: %s", *next, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(*next, &st) == 0) ((dc_h5index *)x)->live_bytes = (uint64_t)st.st_size;
    return 0;
}

/* next becomes the live index (rename); the file it replaces becomes the
 * spare (a second name given to it first).  Returns 0, or -1 when the
 * rename failed; *kept: the spare now holds the replaced file. */
static int replace_live(const char *index_path, const char *next, const char *spare,
                        int *kept, char *err, size_t errlen)
{
    char *spare_tmp = dc_asprintf("%s.tmp", spare);
    unlink(spare_tmp);
    *kept = access(index_path, F_OK) == 0 && link(index_path, spare_tmp) == 0;
    int rc = 0;
    if (rename(next, index_path) != 0) {
        snprintf(err, errlen, "%s: rename to %s failed: %s", next, index_path, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && *kept && rename(spare_tmp, spare) != 0) *kept = 0;
    if (rc != 0 || !*kept) unlink(spare_tmp);
    free(spare_tmp);
    return rc;
}

int dc_h5index_write(const char *index_path, const dc_h5index *x, const char *layout,
                     const char *config_text, char *err, size_t errlen)
{
    h5out_quiet();
    /* bookkeeping of which file holds what (const: the map is not changed) */
    dc_h5index *mx = (dc_h5index *)x;
    char *tmp = dc_asprintf("%s.tmp", index_path);
    char *spare = dc_asprintf("%s.spare", index_path);
    const char *next = tmp;
    int rc = write_next(index_path, tmp, spare, x, layout, config_text, &next, err, errlen);
    if (rc == 0) dc_hook("index");
    int kept = 0;
    if (rc == 0) rc = replace_live(index_path, next, spare, &kept, err, errlen);
    if (rc == 0) {
        char *d = dc_dir_of(index_path);
        dc_fsync_path(d, 1);
        free(d);
        /* live = the map; the spare = the map minus what this write applied */
        dc_strvec_free(&mx->prev_pending);
        mx->prev_pending = mx->pending;
        dc_strvec_init(&mx->pending);
        recount_mem(mx);
        mx->synced = 1;
        mx->spare_ok = kept;
    } else {
        /* the spare may be half updated: not used again until rewritten */
        mx->spare_ok = 0;
        unlink(next == spare ? spare : tmp);
    }
    free(spare);
    free(tmp);
    return rc;
}
