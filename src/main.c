/*
 * main.c - a dcmcrawl run, phase by phase (docs/DESIGN.md):
 *
 *   config -> existing outputs (repair) -> walk -> header pass -> grouping
 *   -> batches: [segment + datasets, decode + write, index, CSV rows] -> summary
 *
 * Exit status (SPEC 1): 0 done, 1 runtime failure, 2 bad usage or config
 * (nothing written), 3 stopped by SIGTERM/SIGINT at a clean checkpoint.
 */
#include <errno.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc_config.h"
#include "dc_csvout.h"
#include "dc_h5out.h"
#include "dc_hints.h"
#include "dc_hook.h"
#include "dc_plan.h"
#include "dc_process.h"
#include "dc_progress.h"
#include "dc_resume.h"
#include "dc_scan.h"
#include "dc_stop.h"
#include "dc_walk.h"

enum { EXIT_DONE = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_STOPPED = 3 };

/* rank 0 decided rc; everyone returns it */
static int agree(MPI_Comm comm, int rc)
{
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    return rc;
}

typedef struct {
    MPI_Comm comm;
    int rank, nranks;
    const dc_config *cfg;
    dc_outputs out;
    dc_filelist files;      /* rank 0 */
    dc_record *recs;        /* rank 0 */
    size_t n_recs;
    dc_scan *scans;         /* rank 0: scans to do, in Scan ID order */
    size_t n_scans;
    dc_header_stats hstats;
    dc_progress progress;
    dc_worker worker;
} dc_run;

/* ---- phase: output folder ---- */

static int make_output_folder(dc_run *r)
{
    int rc = 0;
    if (r->rank == 0 && !r->cfg->dry_run && r->cfg->out_folder_create) {
        char *p = dc_strdup(r->cfg->out_folder);
        for (char *s = p + 1; *s; s++)
            if (*s == '/') {
                *s = '\0';
                mkdir(p, 0755);
                *s = '/';
            }
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            dc_error("output.folder %s: cannot create: %s", r->cfg->out_folder, strerror(errno));
            rc = -1;
        }
        free(p);
    }
    return agree(r->comm, rc);
}

/* ---- phase: existing outputs ---- */

static int open_outputs(dc_run *r)
{
    dc_outputs_paths(r->cfg, &r->out);
    dc_hook("repair");
    int rc = 0;
    if (r->rank == 0 && !r->cfg->dry_run) {
        char err[DC_ERRLEN] = "";
        rc = dc_outputs_open(r->cfg, &r->out, err, sizeof err);
        if (rc != 0) dc_error("%s", err);
    }
    rc = agree(r->comm, rc);
    if (rc == 0) {
        dc_csvout_bcast(r->comm, &r->out.meta);
        dc_csvout_bcast(r->comm, &r->out.unread);
        uint64_t next = r->out.next_seg;
        MPI_Bcast(&next, 1, MPI_UINT64_T, 0, r->comm);
        r->out.next_seg = next;
    }
    return rc;
}

/* ---- phase: walk (rank 0) ---- */

/* polled by the walk once per directory */
static int walk_poll(void)
{
    dc_hook("walkdir");
    return dc_stop_poll();
}

/* Rank 0 walks; the others wait polling for stop requests, so a signal to
 * any rank ends a long walk within a poll interval.  Returns 0, -1, or 1
 * when stopped. */
static int walk(dc_run *r)
{
    int rc = 0;
    dc_filelist_init(&r->files);
    r->files.stop = walk_poll;
    dc_hook("walk");
    if (r->rank == 0) {
        char err[DC_ERRLEN] = "";
        rc = dc_walk(r->cfg, &r->files, err, sizeof err);
        if (rc != 0)
            dc_error("%s", err);
        else if (r->files.stopped)
            rc = 1;
        else
            dc_info("%zu files in %zu folders", r->files.n, r->files.scopes.n);
    }
    MPI_Request req;
    MPI_Ibcast(&rc, 1, MPI_INT, 0, r->comm, &req);
    dc_stop_wait(&req);
    return rc;
}

/* ---- phase: grouping (rank 0) ---- */

static int plan_scans(dc_run *r, dc_strset *retry)
{
    dc_hook("group");
    if (r->rank != 0) return 0;
    const char **paths = dc_malloc(sizeof(char *) * (r->files.n ? r->files.n : 1));
    for (size_t i = 0; i < r->files.n; i++) paths[i] = r->files.files[i].path;
    char **ids = dc_malloc(sizeof(char *) * (r->files.scopes.n ? r->files.scopes.n : 1));
    for (size_t i = 0; i < r->files.scopes.n; i++) ids[i] = dc_scope_id(r->files.scopes.v[i]);
    dc_group_opts go = {r->cfg->volumes,   r->cfg->split_inconsistent, r->cfg->slice_order,
                        r->cfg->layout,    r->cfg->rescale,            r->cfg->write_pixeldata,
                        r->cfg->max_image_bytes};
    dc_scan *all = NULL;
    size_t n_all = 0;
    int rc = dc_group_records(r->recs, r->n_recs, paths, (const char *const *)ids,
                              r->files.scope_is_input, r->files.scopes.n, &go, &all, &n_all);
    for (size_t i = 0; i < r->files.scopes.n; i++) free(ids[i]);
    free(ids);
    free(paths);
    if (rc != 0) {
        dc_error("grouping files into scans failed");
        return -1;
    }
    /* keep the scans not done yet (all is sorted by Scan ID) */
    size_t k = 0;
    uint64_t skipped = 0, bytes = 0;
    for (size_t i = 0; i < n_all; i++) {
        if (dc_outputs_done(&r->out, all[i].scan_id, r->cfg->retry_unreadable)) {
            skipped++;
            dc_scan_free(&all[i]);
            continue;
        }
        if (dc_strset_has(&r->out.unread_ids, all[i].scan_id)) dc_strset_add(retry, all[i].scan_id);
        bytes += all[i].cost;
        all[k++] = all[i];
    }
    r->scans = all;
    r->n_scans = k;
    dc_progress_plan(&r->progress, k, bytes, skipped);
    dc_info("%zu scans to do, %llu already done", k, (unsigned long long)skipped);
    return 0;
}

static void print_plan(dc_run *r)
{
    if (r->rank != 0) return;
    printf("# dry run: %zu files, %zu scans to do, %llu already done; nothing written\n",
           r->files.n, r->n_scans, (unsigned long long)r->progress.skipped_done);
    printf("scan_id\tfiles\tstatus\tshape\tdtype\n");
    for (size_t i = 0; i < r->n_scans; i++) {
        const dc_scan *s = &r->scans[i];
        printf("%s\t%u\t%s\t(", s->scan_id, s->n_files, s->unreadable ? s->reason : "ok");
        for (int d = 0; d < s->ndim; d++) printf("%s%llu", d ? ", " : "", (unsigned long long)s->dims[d]);
        printf(")\t%s\n", s->unreadable ? "-" : dc_dtype_name(s->dtype));
    }
}

/* ---- phase: one batch ---- */

/* what became of a scan of the batch (summed over ranks: only the owner adds) */
enum { SCAN_ABANDONED = 0, SCAN_STORED = 1, SCAN_UNREADABLE = 2 };

typedef struct {
    dc_scan_result *res;  /* per scan of the batch (filled for my scans) */
    int32_t *status;      /* per scan: SCAN_* (all ranks after the exchange) */
    int *handle;          /* dataset handle per scan, -1 none */
} batch_state;

static int open_segment(dc_run *r, const dc_batch *b, dc_h5seg **seg, char **seg_rel,
                        batch_state *bs)
{
    *seg = NULL;
    *seg_rel = NULL;
    int need = 0;
    for (size_t i = 0; i < b->n_scans; i++) need |= !b->scans[i].unreadable;
    if (!r->cfg->write_pixeldata || !need) return 0;
    char err[DC_ERRLEN] = "";
    if (r->rank == 0 && mkdir(r->out.seg_dir, 0755) == 0) dc_fsync_path(r->cfg->out_folder, 1);
    MPI_Barrier(r->comm);
    char *name = dc_outputs_seg_name(r->out.next_seg++);
    char *path = dc_asprintf("%s/%s", r->out.seg_dir, name);
    *seg_rel = dc_asprintf("%s/%s", r->out.seg_dir_name, name);
    free(name);
    /* one part file per rank, each rank creating its own scans' datasets */
    *seg = dc_h5seg_create_parts(r->comm, path);
    free(path);
    dc_h5ds_opts o = {NULL, r->cfg->gzip_level, r->cfg->layout};
    if (dc_h5seg_add_datasets(*seg, b->scans, b->n_scans, b->owner, b->source_folder, &o, bs->handle,
                              err, sizeof err) != 0) {
        dc_error("%s", err);
        return -1;
    }
    return 0;
}

static void unreadable_row(const dc_scan *s, const dc_scan_result *res, dc_buf *out)
{
    dc_csv_field(out, res->reason ? res->reason : "unreadable");
    dc_buf_putc(out, ',');
    dc_csv_field(out, s->scan_id);
    dc_buf_printf(out, ",%u,", s->n_files);
    dc_csv_field(out, res->example ? res->example : "");
    dc_buf_putc(out, '\n');
}

/* CSV rows of the batch, each rank its own, written collectively */
static int write_rows(dc_run *r, const dc_batch *b, batch_state *bs)
{
    char err[DC_ERRLEN] = "";
    size_t n = b->n_scans, n_unread = 0;
    for (size_t i = 0; i < n; i++) n_unread += bs->status[i] == SCAN_UNREADABLE;
    /* rows already formatted by the worker (dc_worker.cols) bring no new
     * columns; only the others take part in the column exchange */
    const dc_row **rows = dc_malloc(sizeof(dc_row *) * (n ? n : 1));
    dc_buf **texts = dc_malloc(sizeof(dc_buf *) * (n ? n : 1));
    size_t nr = 0, nt = 0;
    for (size_t i = 0; i < n; i++)
        if (b->owner[i] == r->rank && bs->status[i] == SCAN_STORED) {
            if (bs->res[i].text.len)
                texts[nt++] = &bs->res[i].text;
            else
                rows[nr++] = &bs->res[i].row;
        }
    dc_strvec old_header;
    dc_strvec_init(&old_header);
    if (nt) dc_csvout_header_fields(&r->out.meta, &old_header);
    int rc = dc_csvout_widen(r->comm, &r->out.meta, rows, nr, err, sizeof err);
    free(rows);
    /* new columns from any rank: the texts formatted for the old header follow
     * (the same mapping as the rewrite of the rows already in the file) */
    if (rc == 0 && nt && r->out.meta.cols.n + DC_META_FIXED_COLS != old_header.n) {
        if (dc_csvout_remap_rows(&r->out.meta, &old_header, texts, nt) != 0) {
            snprintf(err, sizeof err, "%s: internal error remapping rows to new columns", r->out.meta.path);
            rc = -1;
        }
        dc_debug("%zu rows formatted before %zu new columns remapped", nt,
                 r->out.meta.cols.n + DC_META_FIXED_COLS - old_header.n);
    }
    dc_strvec_free(&old_header);
    free(texts);
    rc = agree(r->comm, rc);

    uint32_t *pos_m = dc_malloc(sizeof(uint32_t) * (n ? n : 1));
    uint32_t *pos_u = dc_malloc(sizeof(uint32_t) * (n ? n : 1));
    dc_buf *txt_m = dc_calloc(n ? n : 1, sizeof(dc_buf));
    dc_buf *txt_u = dc_calloc(n ? n : 1, sizeof(dc_buf));
    size_t nm = 0, nu = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (b->owner[i] != r->rank) continue;
        if (bs->status[i] == SCAN_STORED) {
            pos_m[nm] = (uint32_t)i;
            if (bs->res[i].text.len) {
                txt_m[nm++] = bs->res[i].text; /* moved */
                dc_buf_init(&bs->res[i].text);
            } else {
                dc_csv_format_row(&r->out.meta.cols, b->scans[i].scan_id, b->scans[i].n_files,
                                  &bs->res[i].row, &txt_m[nm++]);
            }
        } else if (bs->status[i] == SCAN_UNREADABLE) {
            pos_u[nu] = (uint32_t)i;
            unreadable_row(&b->scans[i], &bs->res[i], &txt_u[nu++]);
        }
    }
    if (rc == 0) rc = dc_csvout_append(r->comm, &r->out.meta, n, pos_m, txt_m, nm, err, sizeof err);
    if (rc == 0 && n_unread)
        rc = dc_csvout_append(r->comm, &r->out.unread, n, pos_u, txt_u, nu, err, sizeof err);
    if (rc != 0 && r->rank == 0) dc_error("%s", err[0] ? err : "writing rows failed on another rank");
    for (size_t i = 0; i < n; i++) {
        dc_buf_free(&txt_m[i]);
        dc_buf_free(&txt_u[i]);
    }
    free(txt_m);
    free(txt_u);
    free(pos_m);
    free(pos_u);
    return rc;
}

/* rank 0: link the stored datasets and replace the index file */
static int commit_index(dc_run *r, const dc_batch *b, const batch_state *bs, const char *seg_rel)
{
    int rc = 0, any = 0;
    for (size_t i = 0; i < b->n_scans; i++) any |= bs->status[i] == SCAN_STORED;
    if (r->rank == 0 && seg_rel && any) {
        for (size_t i = 0; i < b->n_scans; i++)
            if (bs->status[i] == SCAN_STORED) {
                char *part = dc_h5seg_part_path(seg_rel, b->owner[i]); /* its owner's file */
                dc_h5index_put(&r->out.index, b->scans[i].scan_id, part);
                free(part);
            }
        char err[DC_ERRLEN] = "";
        rc = dc_h5index_write(r->out.index_path, &r->out.index,
                              r->cfg->layout == DC_LAYOUT_SEED ? "seed" : "zyx",
                              r->cfg->config_text, err, sizeof err);
        if (rc != 0)
            dc_error("%s", err);
        else
            dc_h5index_trim(&r->out.index); /* memory: this checkpoint's links, not the archive's */
    }
    return agree(r->comm, rc);
}

static void report_batch(dc_run *r, const dc_batch *b, const batch_state *bs)
{
    uint64_t mine[2] = {0, 0};
    uint64_t files = 0, stored = 0, unread = 0;
    for (size_t i = 0; i < b->n_scans; i++) {
        if (b->owner[i] == r->rank) {
            mine[0] += bs->res[i].bytes_in;
            mine[1] += bs->res[i].bytes_out;
        }
        if (bs->status[i] == SCAN_ABANDONED) continue;
        files += b->scans[i].n_files;
        stored += bs->status[i] == SCAN_STORED;
        unread += bs->status[i] == SCAN_UNREADABLE;
    }
    MPI_Reduce(r->rank == 0 ? MPI_IN_PLACE : mine, mine, 2, MPI_UINT64_T, MPI_SUM, 0, r->comm);
    if (r->rank == 0)
        dc_progress_add(&r->progress, stored + unread, files, stored, unread, mine[0], mine[1]);
}

/* compressed datasets of stored scans: every rank writes every dataset
 * together, the owner with the frames it decoded, the others with nothing.
 * Before each dataset the ranks agree whether a stop came: then the scans
 * not written yet are abandoned (the same ones on every rank). */
static int write_collective(dc_run *r, const dc_batch *b, batch_state *bs, dc_h5seg *seg)
{
    char err[DC_ERRLEN] = "";
    int stop = 0;
    for (size_t i = 0; i < b->n_scans; i++) {
        if (bs->handle[i] < 0 || !dc_h5seg_is_collective(seg, bs->handle[i])) continue;
        if (bs->status[i] != SCAN_STORED) continue;
        if (!stop) stop = dc_stop_agree(r->comm, 0);
        if (stop) {
            bs->status[i] = SCAN_ABANDONED;
            continue;
        }
        const void *frames = b->owner[i] == r->rank ? bs->res[i].frames : NULL;
        if (dc_h5seg_write_all(seg, bs->handle[i], &b->scans[i], frames, err, sizeof err) != 0) {
            if (r->rank == 0) dc_error("%s", err);
            return -1;
        }
        free(bs->res[i].frames);
        bs->res[i].frames = NULL;
    }
    return 0;
}

/* datasets of scans that are not stored (unreadable, abandoned) are
 * unlinked from the segment: it then holds only complete datasets */
static int drop_incomplete(dc_run *r, const dc_batch *b, batch_state *bs, dc_h5seg *seg)
{
    char err[DC_ERRLEN] = "";
    for (size_t i = 0; i < b->n_scans; i++) {
        if (bs->handle[i] < 0 || bs->status[i] == SCAN_STORED) continue;
        if (dc_h5seg_drop_dataset(seg, bs->handle[i], &b->scans[i], err, sizeof err) != 0) {
            if (r->rank == 0) dc_error("%s", err);
            return -1;
        }
    }
    return 0;
}

/* rank 0: a segment none of whose scans was stored is not linked: delete it */
static void drop_unused_segment(dc_run *r, const dc_batch *b, const batch_state *bs,
                                const char *seg_rel)
{
    for (size_t i = 0; i < b->n_scans; i++)
        if (bs->status[i] == SCAN_STORED) return;
    const char *name = strrchr(seg_rel, '/');
    char *path = dc_asprintf("%s/%s", r->out.seg_dir, name ? name + 1 : seg_rel);
    if (unlink(path) != 0) dc_debug("%s: cannot remove: %s", path, strerror(errno));
    free(path);
}

static int run_batch(dc_run *r, dc_batch *b)
{
    size_t n = b->n_scans;
    batch_state bs;
    bs.res = dc_calloc(n ? n : 1, sizeof *bs.res);
    bs.status = dc_calloc(n ? n : 1, sizeof *bs.status);
    bs.handle = dc_malloc(sizeof(int) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) bs.handle[i] = -1;

    dc_h5seg *seg = NULL;
    char *seg_rel = NULL;
    dc_hook("batch");
    int rc = open_segment(r, b, &seg, &seg_rel, &bs);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (b->owner[i] != r->rank) continue;
        if (dc_stop_poll()) { /* stop requested: the scans not begun are left too */
            bs.res[i].abandoned = 1;
            continue;
        }
        r->worker.cols = &r->out.meta.cols; /* rows with known columns are formatted at once */
        dc_process_scan(&r->worker, r->cfg, b, i, seg, bs.handle[i], &bs.res[i]);
        bs.status[i] = bs.res[i].abandoned ? SCAN_ABANDONED
                       : bs.res[i].stored  ? SCAN_STORED
                                           : SCAN_UNREADABLE;
        if (bs.status[i] == SCAN_UNREADABLE)
            dc_debug("%s: unreadable: %s (%s)", b->scans[i].scan_id, bs.res[i].reason,
                     bs.res[i].example);
    }
    /* every rank learns what became of every scan; a rank that is done waits
     * here, still listening for stop requests (dc_stop.h) */
    MPI_Request req;
    MPI_Iallreduce(MPI_IN_PLACE, bs.status, (int)n, MPI_INT32_T, MPI_SUM, r->comm, &req);
    dc_stop_wait(&req);
    if (rc == 0 && seg) rc = write_collective(r, b, &bs, seg);
    if (rc == 0 && seg) rc = drop_incomplete(r, b, &bs, seg);
    if (seg) {
        char err[DC_ERRLEN] = "";
        if (dc_h5seg_close(seg, err, sizeof err) != 0) {
            if (r->rank == 0) dc_error("%s", err);
            rc = -1;
        }
    }
    if (rc == 0) rc = commit_index(r, b, &bs, seg_rel);
    if (rc == 0 && seg_rel && r->rank == 0) drop_unused_segment(r, b, &bs, seg_rel);
    if (rc == 0) rc = write_rows(r, b, &bs);
    if (rc == 0) report_batch(r, b, &bs);
    for (size_t i = 0; i < n; i++) dc_scan_result_free(&bs.res[i]);
    free(bs.res);
    free(bs.status);
    free(bs.handle);
    free(seg_rel);
    return rc;
}

/* ---- the run ---- */

static int run_batches(dc_run *r)
{
    uint64_t n = r->n_scans, step = (uint64_t)(r->cfg->commit_every > 0 ? r->cfg->commit_every : 32);
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, r->comm);
    uint64_t index = 0;
    if (n && dc_stop_agree(r->comm, 0)) return EXIT_STOPPED;
    for (uint64_t first = 0; first < n; first += step, index++) {
        dc_batch b;
        memset(&b, 0, sizeof b);
        uint64_t count = n - first < step ? n - first : step;
        if (r->rank == 0)
            dc_batch_build(r->scans, first, count, r->recs, &r->files, r->nranks, index, &b);
        if (dc_batch_bcast(r->comm, &b) != 0) {
            if (r->rank == 0) dc_error("internal error: batch broadcast failed");
            dc_batch_free(&b);
            return EXIT_FAIL;
        }
        int rc = run_batch(r, &b);
        dc_batch_free(&b);
        if (rc != 0) return EXIT_FAIL;
        /* every scan of the batch is committed (or left when a stop came) */
        if (dc_stop_agree(r->comm, 0)) {
            dc_hook("stop");
            return EXIT_STOPPED;
        }
    }
    /* the metadata CSV always exists, even when every scan was unreadable */
    char err[DC_ERRLEN] = "";
    if (dc_csvout_append(r->comm, &r->out.meta, 0, NULL, NULL, 0, err, sizeof err) != 0) {
        if (r->rank == 0) dc_error("%s", err);
        return EXIT_FAIL;
    }
    return EXIT_DONE;
}

static int retry_forget(dc_run *r, dc_strset *retry)
{
    int rc = 0;
    if (r->rank == 0 && retry->n) {
        char err[DC_ERRLEN] = "";
        dc_info("retrying %zu scans listed in %s", retry->n, r->out.unread.path);
        rc = dc_outputs_forget_unreadable(&r->out, retry, err, sizeof err);
        if (rc != 0) dc_error("%s", err);
    }
    rc = agree(r->comm, rc);
    if (rc == 0) dc_csvout_bcast(r->comm, &r->out.unread);
    return rc;
}

static void summary(dc_run *r, int outcome)
{
    if (r->rank != 0) return;
    const char *outs[4] = {NULL, NULL, NULL, NULL};
    int k = 0;
    if (r->out.meta.size) outs[k++] = r->out.meta.path;
    if (r->cfg->write_pixeldata && r->out.index.n) outs[k++] = r->out.index_path;
    if (r->out.unread.size) outs[k++] = r->out.unread.path;
    dc_progress_summary(&r->progress, &r->hstats, outs, outcome);
}

static int run(MPI_Comm comm, const dc_config *cfg)
{
    dc_run r;
    memset(&r, 0, sizeof r);
    r.comm = comm;
    r.cfg = cfg;
    MPI_Comm_rank(comm, &r.rank);
    MPI_Comm_size(comm, &r.nranks);
    dc_progress_start(&r.progress, cfg);
    dc_worker_init(&r.worker);
    dc_strset retry;
    dc_strset_init(&retry);

    int rc = EXIT_FAIL;
    if (make_output_folder(&r) != 0 || open_outputs(&r) != 0) goto out;
    int wk = walk(&r);
    if (wk == 1) {
        rc = EXIT_STOPPED;
        dc_hook("stop");
        summary(&r, EXIT_STOPPED);
        goto out;
    }
    if (wk != 0) goto out;
    dc_hook("header");
    int hp = dc_header_pass(comm, cfg, &r.files, &r.recs, &r.n_recs, &r.hstats);
    if (hp == 1) {
        rc = EXIT_STOPPED;
        dc_hook("stop");
        summary(&r, EXIT_STOPPED);
        goto out;
    }
    if (hp != 0 || agree(comm, plan_scans(&r, &retry)) != 0) goto out;
    if (cfg->dry_run) {
        print_plan(&r);
        rc = EXIT_DONE;
        goto out;
    }
    if (retry_forget(&r, &retry) != 0) goto out;
    rc = run_batches(&r);
    summary(&r, rc);
    if (rc == EXIT_DONE) dc_hook("done");
out:
    dc_csvout_close(comm, &r.out.meta); /* collective: appends leave the CSVs open */
    dc_csvout_close(comm, &r.out.unread);
    dc_strset_free(&retry);
    dc_worker_free(&r.worker);
    for (size_t i = 0; i < r.n_scans; i++) dc_scan_free(&r.scans[i]);
    free(r.scans);
    for (size_t i = 0; i < r.n_recs; i++) dc_record_free(&r.recs[i]);
    free(r.recs);
    dc_filelist_free(&r.files);
    dc_outputs_free(&r.out);
    return rc;
}

/* `dcmcrawl pack INDEX OUT`: one self-contained HDF5 file */
static int pack_command(int argc, char **argv, int rank)
{
    if (argc != 4) {
        if (rank == 0) fprintf(stderr, "usage: dcmcrawl pack pixel_data_<id>.h5 OUT.h5\n");
        return EXIT_USAGE;
    }
    int rc = 0;
    if (rank == 0) {
        char err[DC_ERRLEN] = "";
        rc = dc_h5_pack(argv[2], argv[3], err, sizeof err);
        if (rc != 0) dc_error("%s", err);
        else
            fprintf(stderr, "dcmcrawl: packed %s into %s\n", argv[2], argv[3]);
    }
    return agree(MPI_COMM_WORLD, rc) == 0 ? EXIT_DONE : EXIT_FAIL;
}

int main(int argc, char **argv)
{
    /* a TERM while MPI starts must not kill the rank: it is remembered and
     * honoured at the first poll (installed again after MPI_Init in case the
     * MPI library set handlers of its own) */
    dc_stop_install();
    MPI_Init(&argc, &argv);
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    dc_log_set_rank(rank, nranks);
    dc_hook_init(rank);
    int rc;
    if (argc > 1 && strcmp(argv[1], "pack") == 0) {
        rc = pack_command(argc, argv, rank);
        MPI_Finalize();
        return rc;
    }
    dc_config cfg;
    char err[DC_ERRLEN] = "";
    int act = dc_config_from_args(argc, argv, &cfg, err, sizeof err);
    if (act == DC_CLI_HELP || act == DC_CLI_VERSION) {
        if (rank == 0) {
            if (act == DC_CLI_HELP) fputs(dc_config_usage(), stdout);
            else
                printf("dcmcrawl %s\n", DC_VERSION);
        }
        rc = EXIT_DONE;
    } else if (act == DC_CLI_ERROR) {
        if (rank == 0) fprintf(stderr, "dcmcrawl: error: %s\n", err);
        rc = EXIT_USAGE;
    } else {
        dc_log_set_level(cfg.log_level);
        if (rank == 0)
            for (size_t i = 0; i < cfg.notes.n; i++) dc_warn("%s", cfg.notes.v[i]);
        dc_csv_set_formula_guard(cfg.csv_formula_guard);
        dc_parse_set_inflate_limit(cfg.max_image_bytes + (256u << 20)); /* deflated files */
        dc_hints_set(&cfg.mpi_io_hints);
        dc_stop_install();
        dc_stop_init(MPI_COMM_WORLD);
        dc_hook("start");
        rc = run(MPI_COMM_WORLD, &cfg);
        dc_stop_finalize();
        dc_hints_free();
    }
    dc_config_free(&cfg);
    MPI_Finalize();
    return rc;
}
