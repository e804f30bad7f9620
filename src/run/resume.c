/*
 * resume.c - existing outputs of the same id: what is done, and start-up
 * repair so the three outputs agree (see dc_resume.h).
 *
 * Order of repairs (rank 0, before any work):
 *   0. temp files of an interrupted rewrite (CSV with a wider header, index
 *      replacement) are deleted: the file they were to replace is intact.
 *   1. CSVs: read the header, then the records the done-set does not
 *      cover yet (dc_doneset.h: the last checkpoint's, when a kill came
 *      before its done-set write; every record when the set is missing or
 *      no longer matches the file); cut a torn tail (incomplete record, NUL
 *      bytes, wrong field count) left by a kill; their Scan IDs join the
 *      done-set.
 *   2. index: load it, or rebuild it from the segment files when it is
 *      missing or unreadable; move datasets stored inside an old single-file
 *      pixel_data into the segment folder; drop links to segment files that
 *      are gone.
 *   3. reconcile (only when writing pixel data): links without a metadata
 *      row are dropped; rows without a link are removed from the CSV (and
 *      the done-set rebuilt from the rows kept).
 *   4. write the index if it changed, then delete unreferenced segments.
 * Every repair is reported (warning) with what was done; a kill during the
 * repair itself is repaired by the next start the same way.
 */
#include "dc_resume.h"

#include "dc_hook.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *dc_outputs_seg_name(uint64_t n)
{
    return dc_asprintf("seg_%06llu.h5", (unsigned long long)n);
}

void dc_outputs_paths(const dc_config *cfg, dc_outputs *o)
{
    memset(o, 0, sizeof *o);
    char *m = dc_config_out_path(cfg, "metadata", ".csv");
    char *u = dc_config_out_path(cfg, "unreadable_files", ".csv");
    dc_csvout_init(&o->meta, m, 1);
    dc_csvout_init(&o->unread, u, 0);
    free(m);
    free(u);
    o->index_path = dc_config_out_path(cfg, "pixel_data", ".h5");
    o->seg_dir = dc_asprintf("%s.d", o->index_path);
    const char *slash = strrchr(o->seg_dir, '/');
    o->seg_dir_name = dc_strdup(slash ? slash + 1 : o->seg_dir);
    dc_h5index_init(&o->index);
    char *done_dir = dc_config_out_path(cfg, "done", ".d");
    dc_doneset_init(&o->done, done_dir);
    char *ledger_dir = dc_asprintf("%s/folders", done_dir);
    dc_fledger_init(&o->folders, ledger_dir, cfg);
    free(ledger_dir);
    free(done_dir);
    o->next_seg = 1;
}

void dc_outputs_free(dc_outputs *o)
{
    dc_csvout_free(&o->meta);
    dc_csvout_free(&o->unread);
    free(o->index_path);
    free(o->seg_dir);
    free(o->seg_dir_name);
    dc_h5index_free(&o->index);
    dc_doneset_free(&o->done);
    dc_fledger_free(&o->folders);
}

/* ------------------------------------------------------------------ */
/* CSVs                                                                 */

typedef struct {
    dc_csvout *c;
    dc_doneset *done;
    int kind;            /* DC_DONE_*: the set its Scan IDs go to */
    dc_idset buf;        /* fingerprints not written as a run yet */
    int id_field;
    size_t n_fields;
    int header_done;
    uint64_t rows;       /* rows read after the header */
} load_ctx;

static int check_header(load_ctx *x, const dc_strvec *f, char *err, size_t errlen)
{
    const char *want = x->c->is_meta ? "Scan ID" : "Reason for failure";
    if (f->n < (x->c->is_meta ? 2u : 4u) || strcmp(f->v[0], want) != 0) {
        snprintf(err, errlen,
                 "%s: not a metadata/unreadable CSV (first column is \"%s\", expected \"%s\"); "
                 "move it away or choose another output.id",
                 x->c->path, f->n ? f->v[0] : "", want);
        return -1;
    }
    x->n_fields = f->n;
    if (x->c->is_meta && x->c->cols.n == 0)
        for (size_t i = DC_META_FIXED_COLS; i < f->n; i++) {
            dc_column col;
            col.name = f->v[i];
            dc_column_key_from_name(f->v[i], &col);
            dc_colset_add(&x->c->cols, &col); /* keeps the file's order */
        }
    x->header_done = 1;
    return 0;
}

/* Read records from byte start on (the header first when it is not read
 * yet: then only the header when header_only); the Scan IDs of rows go to
 * the done-set.  Returns the end of the valid records (absolute offset), or
 * -1. */
static long long scan_csv(int fd, load_ctx *x, uint64_t start, int header_only, char *err,
                          size_t errlen)
{
    dc_buf in;
    dc_buf_init(&in);
    dc_strvec f;
    dc_strvec_init(&f);
    size_t pos = 0;
    long long valid = (long long)start, consumed = (long long)start;
    int eof = 0, rc = 0;
    if (lseek(fd, (off_t)start, SEEK_SET) < 0) eof = 1;
    for (;;) {
        long used = 0;
        if (in.len > pos) {
            for (size_t i = 0; i < f.n; i++) free(f.v[i]);
            f.n = 0;
            used = dc_csv_parse_record(in.data + pos, in.len - pos, &f);
        }
        if (used < 0) break;
        if (used == 0) {
            if (eof) break;
            if (pos > (1 << 20)) {
                memmove(in.data, in.data + pos, in.len - pos);
                in.len -= pos;
                pos = 0;
            }
            dc_buf_reserve(&in, 1 << 20);
            ssize_t r = read(fd, in.data + in.len, in.cap - in.len - 1);
            if (r < 0) {
                snprintf(err, errlen, "%s: read failed: %s", x->c->path, strerror(errno));
                rc = -1;
                break;
            }
            if (r == 0) eof = 1;
            in.len += (size_t)r;
            continue;
        }
        if (!x->header_done) {
            if (check_header(x, &f, err, errlen) != 0) {
                rc = -1;
                break;
            }
        } else {
            if (f.n != x->n_fields) break; /* damaged row: cut here */
            dc_doneset_add_durable(x->done, x->kind, &x->buf, f.v[x->id_field]);
            x->rows++;
        }
        pos += (size_t)used;
        consumed += used;
        valid = consumed;
        if (header_only) break;
    }
    dc_strvec_free(&f);
    dc_buf_free(&in);
    return rc ? -1 : valid;
}

/* forget kind k of the done-set; the folder ledger is not trusted when it
 * held anything (dc_folderledger.h: it claims only folders the set covers) */
static void reset_kind(dc_outputs *o, int k)
{
    if (o->done.k[k].n_runs || o->done.k[k].cover.covered) o->done_rebuilt = 1;
    dc_doneset_reset(&o->done, k);
}

/* where the rows not in the done-set begin: after the bytes it covers when
 * it still describes this CSV, else after the header (the set is rebuilt) */
static uint64_t first_row_not_done(dc_outputs *o, load_ctx *x, uint64_t header_end, int rebuild)
{
    const dc_donecover *cov = &o->done.k[x->kind].cover;
    if (!rebuild && dc_doneset_matches(&o->done, x->kind, x->c->path))
        return cov->covered > header_end ? cov->covered : header_end;
    if (!rebuild && (cov->covered || o->done.k[x->kind].n_runs))
        dc_warn("%s: repaired: the done-set in %s no longer matches this file (rewritten, "
                "edited, or a run was interrupted); rebuilt from its rows",
                x->c->path, o->done.dir);
    o->done_rebuilt = 1; /* the folder ledger is not trusted (dc_folderledger.h) */
    reset_kind(o, x->kind);
    return header_end;
}

/* Open one CSV: its header, then its rows after what the done-set covers
 * (all rows when rebuild or the set does not match), a torn tail cut. */
static int load_csv(dc_outputs *o, dc_csvout *c, int kind, int rebuild, char *err, size_t errlen)
{
    int fd = open(c->path, O_RDWR);
    if (fd < 0) {
        if (errno != ENOENT) {
            snprintf(err, errlen, "%s: cannot open: %s", c->path, strerror(errno));
            return -1;
        }
        if (!dc_doneset_matches(&o->done, kind, c->path)) reset_kind(o, kind);
        dc_doneset_mark_start(&o->done, kind);
        return 0;
    }
    struct stat st;
    fstat(fd, &st);
    load_ctx x = {c, &o->done, kind, {NULL, 0, 0}, kind == DC_DONE_META ? 0 : 1, 0, 0, 0};
    long long header_end = scan_csv(fd, &x, 0, 1, err, errlen), valid = header_end;
    if (header_end >= 0 && !x.header_done) reset_kind(o, kind); /* no rows */
    if (header_end >= 0 && x.header_done) {
        uint64_t start = first_row_not_done(o, &x, (uint64_t)header_end, rebuild);
        valid = scan_csv(fd, &x, start, 0, err, errlen);
        dc_debug("%s: %llu rows read from byte %llu on (the rest is in the done-set)", c->path,
                 (unsigned long long)x.rows, (unsigned long long)start);
    }
    if (valid >= 0 && dc_doneset_flush(&o->done, kind, &x.buf, err, errlen) != 0) valid = -1;
    dc_idset_free(&x.buf);
    dc_doneset_mark_start(&o->done, kind); /* what this run skips */
    if (valid < 0) {
        close(fd);
        return -1;
    }
    if (valid < (long long)st.st_size) {
        dc_warn("%s: repaired: cut %lld bytes of an incomplete row at the end (left by an "
                "interrupted run); its scans will be redone",
                c->path, (long long)st.st_size - valid);
        if (ftruncate(fd, (off_t)valid) != 0 || fsync(fd) != 0) {
            snprintf(err, errlen, "%s: cannot cut the incomplete tail: %s", c->path,
                     strerror(errno));
            close(fd);
            return -1;
        }
    }
    close(fd);
    c->size = (uint64_t)valid;
    return 0;
}

/* the done-set's manifest for the CSVs as they are now (kinds meta and/or
 * unread); a failure (a full disk) is a warning: the CSVs are the truth,
 * the next start rebuilds the set from them */
static void record_done(dc_outputs *o, int meta, int unread)
{
    char err[DC_ERRLEN] = "";
    const char *paths[DC_DONE_KINDS] = {o->meta.path, o->unread.path};
    uint64_t sizes[DC_DONE_KINDS] = {meta ? o->meta.size : UINT64_MAX,
                                     unread ? o->unread.size : UINT64_MAX};
    if (dc_doneset_write_manifest(&o->done, paths, sizes, err, sizeof err) != 0)
        dc_warn("%s (the next start rebuilds the done-set from the CSVs)", err);
}

/* ------------------------------------------------------------------ */
/* index and segments                                                   */

static int is_seg_name(const char *n)
{
    return (strncmp(n, "seg_", 4) == 0 || strncmp(n, "legacy_", 7) == 0) && dc_endswith(n, ".h5");
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sorted names of the segment files; also removes leftover temp files */
static void list_segments(dc_outputs *o, dc_strvec *names)
{
    DIR *d = opendir(o->seg_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (is_seg_name(e->d_name)) dc_strvec_push(names, e->d_name);
        unsigned long long n;
        if (sscanf(e->d_name, "seg_%llu.h5", &n) == 1 && n + 1 > o->next_seg) o->next_seg = n + 1;
    }
    closedir(d);
    if (names->n > 1) qsort(names->v, names->n, sizeof(char *), name_cmp);
}

static herr_t add_dataset_link(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    void **ctx = op;
    dc_h5index *x = ctx[0];
    const char *seg = ctx[1];
    (void)g;
    if (info->type == H5L_TYPE_HARD) dc_h5index_put(x, name, seg);
    return 0;
}

/* index missing: link every dataset of every segment, newest segment wins */
static void rebuild_index(dc_outputs *o, const dc_strvec *segs)
{
    for (size_t i = 0; i < segs->n; i++) {
        char *p = dc_asprintf("%s/%s", o->seg_dir, segs->v[i]);
        hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0) {
            char *rel = dc_asprintf("%s/%s", o->seg_dir_name, segs->v[i]);
            void *ctx[2] = {&o->index, rel};
            H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, NULL, add_dataset_link, ctx);
            H5Fclose(f);
            free(rel);
        } else {
            dc_warn("%s: unreadable segment file (an interrupted checkpoint); ignored", p);
        }
        free(p);
    }
    o->index_dirty = 1;
    if (o->index.n)
        dc_warn("%s: repaired: rebuilt from %zu segment files in %s", o->index_path, segs->n,
                o->seg_dir);
}

/* links whose segment file is gone (moved or deleted by hand): drop them, so
 * their rows are dropped too and the scans redone */
static void drop_missing_segments(dc_outputs *o)
{
    char *dir = dc_strdup(o->index_path);
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = '\0';
    else
        dir[0] = '\0';
    dc_strset gone, ok;
    dc_strset_init(&gone);
    dc_strset_init(&ok);
    size_t dropped = 0;
    for (size_t i = 0; i < o->index.n;) {
        const char *seg = o->index.segs[i];
        if (!seg[0] || dc_strset_has(&ok, seg)) {
            i++;
            continue;
        }
        if (!dc_strset_has(&gone, seg)) {
            char *p = dc_asprintf("%s%s", dir, seg);
            if (access(p, R_OK) == 0) {
                dc_strset_add(&ok, seg);
                free(p);
                i++;
                continue;
            }
            dc_strset_add(&gone, seg);
            free(p);
        }
        dc_h5index_remove(&o->index, o->index.scan_ids[i]);
        dropped++;
    }
    if (dropped) {
        dc_warn("%s: repaired: %zu datasets link to %zu segment files that are missing; their "
                "scans will be redone",
                o->index_path, dropped, gone.n);
        o->index_dirty = 1;
    }
    dc_strset_free(&gone);
    dc_strset_free(&ok);
    free(dir);
}

/* Open MPI's MPI_File_open (OMPIO, sharedfp/lockedfile) creates
 * "<file>.locktest.<rank>" beside the file and deletes it at once: a kill in
 * between leaves it.  Remove those of our files (prefix), or all in the
 * segment folder (prefix NULL). */
static size_t remove_locktests(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir[0] ? dir : ".");
    if (!d) return 0;
    size_t n = 0, plen = prefix ? strlen(prefix) : 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *lt = strstr(e->d_name, ".locktest.");
        if (!lt || (prefix && ((size_t)(lt - e->d_name) != plen || strncmp(e->d_name, prefix, plen))))
            continue;
        char *p = dc_asprintf("%s%s%s", dir, dir[0] ? "/" : "", e->d_name);
        if (unlink(p) == 0) n++;
        free(p);
    }
    closedir(d);
    return n;
}

static void remove_all_locktests(dc_outputs *o)
{
    char *dir = dc_strdup(o->meta.path);
    char *slash = strrchr(dir, '/');
    const char *mb = strrchr(o->meta.path, '/'), *ub = strrchr(o->unread.path, '/');
    mb = mb ? mb + 1 : o->meta.path;
    ub = ub ? ub + 1 : o->unread.path;
    if (slash) *slash = '\0';
    else
        dir[0] = '\0';
    size_t n = remove_locktests(dir, mb) + remove_locktests(dir, ub) +
               remove_locktests(o->seg_dir, NULL);
    if (n)
        dc_warn("%s: repaired: removed %zu lock-test files Open MPI leaves when a file open is "
                "interrupted",
                dir[0] ? dir : ".", n);
    free(dir);
}

/* leftovers of a rewrite that a kill interrupted before its rename */
static void remove_temp(const char *path)
{
    char *tmp = dc_asprintf("%s.tmp", path);
    if (unlink(tmp) == 0)
        dc_warn("%s: repaired: removed the temp file of an interrupted rewrite (%s is intact)",
                tmp, path);
    free(tmp);
}

/* datasets stored in the index file itself (an old single-file output or a
 * packed file): move the file into the segment folder and link to it */
static int adopt_legacy(dc_outputs *o, char *err, size_t errlen)
{
    int has_local = 0;
    for (size_t i = 0; i < o->index.n; i++)
        if (!o->index.segs[i][0]) has_local = 1;
    if (!has_local) return 0;
    mkdir(o->seg_dir, 0755);
    char *name = NULL, *dest = NULL;
    for (int k = 0;; k++) {
        free(name);
        free(dest);
        name = dc_asprintf("legacy_%03d.h5", k);
        dest = dc_asprintf("%s/%s", o->seg_dir, name);
        if (access(dest, F_OK) != 0) break;
    }
    int rc = 0;
    if (rename(o->index_path, dest) != 0) {
        snprintf(err, errlen, "%s: cannot move into %s: %s", o->index_path, dest, strerror(errno));
        rc = -1;
    } else {
        char *rel = dc_asprintf("%s/%s", o->seg_dir_name, name);
        for (size_t i = 0; i < o->index.n; i++)
            if (!o->index.segs[i][0]) {
                free(o->index.segs[i]);
                o->index.segs[i] = dc_strdup(rel);
            }
        free(rel);
        o->index_dirty = 1;
        dc_info("%s: datasets kept in place, now linked from %s", o->index_path, dest);
    }
    free(name);
    free(dest);
    return rc;
}

typedef struct {
    const dc_strset *drop; /* by Scan ID (retry_unreadable) */
    const dc_idset *keep;  /* by fingerprint (reconcile) */
} drop_ctx;

static int keep_linked(const dc_strvec *f, void *ctx)
{
    const drop_ctx *d = ctx;
    return dc_idset_has(d->keep, f->v[0]);
}

static void index_fingerprints(const dc_outputs *o, dc_idset *out)
{
    for (size_t i = 0; i < o->index.n; i++) dc_idset_add(out, o->index.scan_ids[i]);
    dc_idset_seal(out);
}

typedef struct {
    const dc_idset *linked;
    uint64_t unlinked;
} unlinked_ctx;

static void count_unlinked(dc_idfp f, void *ctx)
{
    unlinked_ctx *u = ctx;
    u->unlinked += !dc_idset_has_fp(u->linked, f);
}

static int reconcile(dc_outputs *o, char *err, size_t errlen)
{
    /* links without a row: drop them (the scan is redone) */
    size_t dropped_links = 0;
    for (size_t i = 0; i < o->index.n;) {
        if (!dc_doneset_has(&o->done, DC_DONE_META, o->index.scan_ids[i])) {
            dc_h5index_remove(&o->index, o->index.scan_ids[i]);
            dropped_links++;
            o->index_dirty = 1;
        } else {
            i++;
        }
    }
    if (dropped_links)
        dc_warn("%s: repaired: %zu datasets had no metadata row (interrupted checkpoint); "
                "their scans will be redone", o->index_path, dropped_links);
    /* rows without a link: remove the rows, rebuild the done-set from the rest */
    dc_idset linked;
    dc_idset_init(&linked);
    index_fingerprints(o, &linked);
    unlinked_ctx u = {&linked, 0};
    int rc = dc_doneset_each(&o->done, DC_DONE_META, count_unlinked, &u, err, errlen);
    if (rc == 0 && u.unlinked) {
        dc_warn("%s: repaired: %llu rows had no pixel data in %s; their scans will be redone",
                o->meta.path, (unsigned long long)u.unlinked, o->index_path);
        drop_ctx d = {NULL, &linked};
        rc = dc_csvout_rewrite(&o->meta, keep_linked, &d, err, errlen);
        if (rc == 0) rc = load_csv(o, &o->meta, DC_DONE_META, 1, err, errlen);
        if (rc == 0) record_done(o, 1, 0);
    }
    dc_idset_free(&linked);
    return rc;
}

/* delete segment files no link refers to (after the index is durable) */
static void delete_garbage(dc_outputs *o, const dc_strvec *segs)
{
    dc_strset used;
    dc_strset_init(&used);
    for (size_t i = 0; i < o->index.n; i++) dc_strset_add(&used, o->index.segs[i]);
    size_t removed = 0;
    for (size_t i = 0; i < segs->n; i++) {
        char *rel = dc_asprintf("%s/%s", o->seg_dir_name, segs->v[i]);
        if (!dc_strset_has(&used, rel)) {
            char *p = dc_asprintf("%s/%s", o->seg_dir, segs->v[i]);
            if (unlink(p) == 0) {
                dc_debug("%s: removed (no scan refers to it)", p);
                removed++;
            }
            free(p);
        }
        free(rel);
    }
    if (removed)
        dc_warn("%s: repaired: removed %zu segment files no scan refers to (an interrupted "
                "checkpoint or scans redone)",
                o->seg_dir, removed);
    dc_strset_free(&used);
}

int dc_outputs_open(const dc_config *cfg, dc_outputs *o, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    remove_temp(o->meta.path);
    remove_temp(o->unread.path);
    remove_all_locktests(o);
    if (dc_doneset_open(&o->done, err, errlen) != 0) return -1;
    if (load_csv(o, &o->meta, DC_DONE_META, 0, err, errlen) != 0) return -1;
    if (load_csv(o, &o->unread, DC_DONE_UNREAD, 0, err, errlen) != 0) return -1;
    record_done(o, 1, 1);
    if (!cfg->write_pixeldata) return dc_fledger_open(&o->folders, !o->done_rebuilt, err, errlen);

    dc_strvec segs;
    dc_strvec_init(&segs);
    list_segments(o, &segs);
    remove_temp(o->index_path);
    int rc = 0;
    if (access(o->index_path, F_OK) == 0) {
        rc = dc_h5index_load(o->index_path, &o->index, err, errlen);
        if (rc != 0 && segs.n) {
            /* an index we wrote is replaced atomically, so this is damage
             * from elsewhere; every committed dataset is in a segment */
            char *aside = dc_asprintf("%s.damaged", o->index_path);
            if (rename(o->index_path, aside) == 0) {
                dc_warn("%s: repaired: unreadable (%s); moved to %s and rebuilt from the "
                        "segment files",
                        o->index_path, err, aside);
                dc_h5index_free(&o->index);
                dc_h5index_init(&o->index);
                err[0] = '\0';
                rc = 0;
                rebuild_index(o, &segs);
            }
            free(aside);
        } else if (rc == 0) {
            rc = adopt_legacy(o, err, errlen);
        }
    } else if (segs.n) {
        rebuild_index(o, &segs);
    }
    if (rc == 0) drop_missing_segments(o);
    if (rc == 0) rc = reconcile(o, err, errlen);
    if (rc == 0 && o->index_dirty) {
        rc = dc_h5index_write(o->index_path, &o->index, cfg->layout == 1 ? "seed" : "zyx",
                              cfg->config_text, err, errlen);
        o->index_dirty = 0;
    }
    if (rc == 0) {
        dc_strvec_free(&segs);
        dc_strvec_init(&segs);
        list_segments(o, &segs);
        delete_garbage(o, &segs);
    }
    dc_strvec_free(&segs);
    if (rc == 0) rc = dc_fledger_open(&o->folders, !o->done_rebuilt, err, errlen);
    return rc;
}

int dc_outputs_done_kind(dc_outputs *o, const char *scan_id, int retry_unreadable)
{
    if (dc_doneset_has(&o->done, DC_DONE_META, scan_id)) return 1;
    return !retry_unreadable && dc_doneset_has(&o->done, DC_DONE_UNREAD, scan_id) ? 2 : 0;
}

int dc_outputs_done(dc_outputs *o, const char *scan_id, int retry_unreadable)
{
    return dc_outputs_done_kind(o, scan_id, retry_unreadable) != 0;
}

int dc_outputs_listed_unreadable(dc_outputs *o, const char *scan_id)
{
    return dc_doneset_has(&o->done, DC_DONE_UNREAD, scan_id);
}

void dc_outputs_note_done(dc_outputs *o, dc_idfp fp, int unreadable)
{
    dc_doneset_note_fp(&o->done, unreadable ? DC_DONE_UNREAD : DC_DONE_META, fp);
    dc_fledger_scan_noted(&o->folders, fp, unreadable);
}

void dc_outputs_commit_done(dc_outputs *o)
{
    char err[DC_ERRLEN] = "";
    dc_hook("doneset");
    const char *paths[DC_DONE_KINDS] = {o->meta.path, o->unread.path};
    uint64_t sizes[DC_DONE_KINDS] = {o->meta.size, o->unread.size};
    if (dc_doneset_commit(&o->done, paths, sizes, err, sizeof err) != 0) {
        dc_warn("%s (the next start rebuilds the done-set from the CSVs)", err);
        return; /* the ledger waits: it follows the done-set */
    }
    dc_hook("ledger");
    dc_fledger_commit(&o->folders);
}

void dc_outputs_commit_folders(dc_outputs *o)
{
    dc_fledger_commit(&o->folders);
    dc_fledger_report(&o->folders);
}

static int keep_not_retried(const dc_strvec *f, void *ctx)
{
    const drop_ctx *d = ctx;
    return f->n < 2 || !dc_strset_has(d->drop, f->v[1]);
}

int dc_outputs_forget_unreadable(dc_outputs *o, const dc_strset *ids, char *err, size_t errlen)
{
    if (!ids->n || o->unread.size == 0) return 0;
    drop_ctx d = {ids, NULL};
    /* the done-set lists them too: rebuilt from what the file keeps */
    int rc = dc_csvout_rewrite(&o->unread, keep_not_retried, &d, err, errlen);
    if (rc == 0) rc = load_csv(o, &o->unread, DC_DONE_UNREAD, 1, err, errlen);
    if (rc == 0) record_done(o, 0, 1);
    return rc;
}
