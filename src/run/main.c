/*
 * main.c - a dcmcrawl run, phase by phase (docs/DESIGN.md):
 *
 *   config -> existing outputs (repair) -> window by window (SPEC 10):
 *   [walk on -> header pass -> grouping -> batches (checkpoint.c)] -> summary
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

#include "dc_checkpoint.h"
#include "dc_labels_run.h"
#include "dc_claim.h"
#include "dc_config.h"
#include "dc_csvout.h"
#include "dc_h5out.h"
#include "dc_hints.h"
#include "dc_hook.h"
#include "dc_mpi.h"
#include "dc_plan.h"
#include "dc_privacy.h"
#include "dc_process.h"
#include "dc_progress.h"
#include "dc_resume.h"
#include "dc_scan.h"
#include "dc_select.h"
#include "dc_stop.h"
#include "dc_version.h"
#include "dc_walk.h"
#include "dc_window.h"

enum { EXIT_DONE = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_STOPPED = 3 };

typedef struct {
    MPI_Comm comm;
    int rank, nranks;
    const dc_config *cfg;
    dc_outputs out;
    dc_walk_cursor *walk;   /* rank 0 */
    dc_filelist files;      /* rank 0: the window's folders and files */
    dc_record *recs;        /* rank 0: the window's records */
    size_t n_recs;
    dc_scan *scans;         /* rank 0: the window's scans to do, in row order */
    dc_idfp *scan_fp;       /* rank 0: their Scan IDs' fingerprints (dc_idfp_of, once each) */
    size_t n_scans;
    dc_window_trees trees;  /* rank 0: the input folder whose tree goes on in the next window */
    uint64_t n_windows, n_batches, n_files;
    dc_header_stats hstats; /* summed over windows */
    dc_progress progress;
    dc_worker worker;
    dc_ckpt ckpt;
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
    return dc_agree_rank0(r->comm, rc);
}

/* ---- phase: existing outputs ---- */

/* csv_style: an existing metadata CSV's own (issue 17; csvout.c) */
static int settle_csv_style(dc_run *r)
{
    char err[DC_ERRLEN] = "";
    char *path = dc_config_out_path(r->cfg, "metadata", "csv");
    int rc = dc_csvout_settle_style(r->comm, path, r->cfg->csv_style, r->cfg->csv_style_given, err,
                                    sizeof err);
    if (rc != 0 && r->rank == 0) dc_error("%s", err);
    free(path);
    return rc;
}

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
    rc = dc_agree_rank0(r->comm, rc);
    if (rc == 0) {
        dc_csvout_bcast(r->comm, &r->out.meta);
        dc_csvout_bcast(r->comm, &r->out.unread);
        uint64_t next = r->out.next_seg;
        MPI_Bcast(&next, 1, MPI_UINT64_T, 0, r->comm);
        r->out.next_seg = next;
    }
    return rc;
}

/* ---- phase: walk the next window (rank 0) ---- */

/* polled by the walk once per directory */
static int walk_poll(void)
{
    dc_hook("walkdir");
    return dc_stop_poll();
}

enum { WINDOW_MORE = 0, WINDOW_LAST = 1, WINDOW_STOPPED = 2, WINDOW_FAILED = -1 };

/* Rank 0 walks on until the window is full; the others wait polling for
 * stop requests, so a signal to any rank ends a long walk within a poll
 * interval.  Returns WINDOW_*, the same on every rank. */
static int walk_window(dc_run *r)
{
    int rc = WINDOW_MORE;
    dc_filelist_free(&r->files);
    dc_hook("walk");
    if (r->rank == 0) {
        char err[DC_ERRLEN] = "";
        rc = dc_walk_next(r->walk, &r->files, (size_t)dc_config_window_files(r->cfg, r->nranks), err,
                          sizeof err);
        if (rc < 0)
            dc_error("%s", err);
        else if (r->files.stopped)
            rc = WINDOW_STOPPED;
        else
            dc_debug("window %llu: %zu files in %zu folders", (unsigned long long)r->n_windows,
                     r->files.n, r->files.scopes.n);
    }
    MPI_Request req;
    MPI_Ibcast(&rc, 1, MPI_INT, 0, r->comm, &req);
    dc_stop_wait(&req);
    return rc;
}

/* ---- phase: grouping (rank 0) ---- */

/* input.select: scans left out are counted by reason, never silently lost */
static void select_scans(dc_run *r, dc_scan *all, size_t *n_all)
{
    dc_select_counts sc;
    dc_select_scans(r->cfg, r->recs, all, n_all, &sc);
    if (dc_select_active(r->cfg)) { /* in the log now and in the end-of-run summary */
        dc_select_summary(&sc, r->progress.left_out, sizeof r->progress.left_out);
        dc_info("%s", r->progress.left_out);
    }
    if (r->cfg->privacy_profile) dc_select_flag_burned_in(r->recs, all, *n_all);
}

static int group_window(dc_run *r, int last, dc_scan **all, size_t *n_all)
{
    dc_group_opts go = {r->cfg->volumes,   r->cfg->split_inconsistent, r->cfg->slice_order,
                        r->cfg->layout,    r->cfg->rescale,            r->cfg->write_pixeldata,
                        r->cfg->max_image_bytes, r->cfg->philips_scaling};
    dc_privacy_records(r->recs, r->n_recs); /* profile: pseudonymous UIDs in Scan IDs */
    return dc_window_group(&r->trees, &r->files, r->recs, r->n_recs, last, &go, all, n_all);
}

static int plan_scans(dc_run *r, int last, dc_strset *retry)
{
    dc_hook("group");
    if (r->rank != 0) return 0;
    dc_scan *all = NULL;
    size_t n_all = 0;
    if (group_window(r, last, &all, &n_all) != 0) {
        dc_error("grouping files into scans failed");
        return -1;
    }
    select_scans(r, all, &n_all);
    /* keep the scans not done yet; the folder ledger learns which folders they complete */
    size_t k = 0;
    uint64_t skipped = 0, bytes = 0;
    dc_fledger_window(&r->out.folders, &r->files, r->recs, r->n_recs);
    r->scan_fp = dc_malloc(sizeof *r->scan_fp * (n_all ? n_all : 1));
    for (size_t i = 0; i < n_all; i++) {
        int done = dc_outputs_done_kind(&r->out, all[i].scan_id, r->cfg->retry_unreadable);
        dc_idfp fp = done ? (dc_idfp){0, 0} : dc_idfp_of(all[i].scan_id);
        dc_fledger_scan(&r->out.folders, all[i].scope, fp, done);
        if (done) {
            skipped++;
            dc_scan_free(&all[i]);
            continue;
        }
        if (dc_outputs_listed_unreadable(&r->out, all[i].scan_id)) dc_strset_add(retry, all[i].scan_id);
        bytes += all[i].cost;
        r->scan_fp[k] = fp;
        all[k++] = all[i];
    }
    dc_fledger_planned(&r->out.folders);
    r->scans = all;
    r->n_scans = k;
    r->ckpt.scan_fp = r->scan_fp; /* the batches note them done (dc_outputs_note_done_fp) */
    if (dc_labels_note(r->cfg, r->recs, &r->files, all, k) != 0) return -1; /* issue 14 */
    skipped += dc_fledger_take_skipped(&r->out.folders); /* in folders the walk skipped */
    dc_progress_plan(&r->progress, k, bytes, skipped);
    dc_debug("window %llu: %zu scans to do, %llu already done", (unsigned long long)r->n_windows,
             k, (unsigned long long)skipped);
    return 0;
}

static void print_plan(dc_run *r)
{
    if (r->rank != 0) return;
    if (r->n_windows == 0) printf("scan_id\tfiles\tstatus\tshape\tdtype\n");
    for (size_t i = 0; i < r->n_scans; i++) {
        const dc_scan *s = &r->scans[i];
        printf("%s\t%u\t%s\t(", s->scan_id, s->n_files, s->unreadable ? s->reason : "ok");
        for (int d = 0; d < s->ndim; d++) printf("%s%llu", d ? ", " : "", (unsigned long long)s->dims[d]);
        printf(")\t%s\n", s->unreadable ? "-" : dc_dtype_name(s->dtype));
    }
}

/* ---- phase: the batches of a window ---- */

/* scans per batch: commit_every, at most this many */
#define BATCH_MAX_SCANS 1024
/* metadata-only runs: a scan is a row already formatted (dc_ckpt_settle_rows),
 * nothing is read: a window of the default size is one batch */
#define BATCH_MAX_ROWS 65536
/* bytes to read per batch: a batch ends with the scan that reaches this */
#define BATCH_MAX_COST ((uint64_t)1 << 30)

/* after each batch: stop (commit, exit 3), or a checkpoint when due */
static int after_batch(dc_run *r)
{
    int stop = dc_stop_agree(r->comm, 0);
    if (stop || dc_ckpt_due(&r->ckpt)) {
        if (dc_ckpt_commit(&r->ckpt) != 0) return EXIT_FAIL;
    }
    if (stop) {
        dc_hook("stop");
        return EXIT_STOPPED;
    }
    return EXIT_DONE;
}

static int run_batches(dc_run *r)
{
    uint64_t n = r->n_scans;
    size_t cap = r->cfg->write_pixeldata ? BATCH_MAX_SCANS : BATCH_MAX_ROWS;
    size_t max_scans = r->ckpt.policy.commit_every < cap ? r->ckpt.policy.commit_every : cap;
    uint64_t max_cost = r->cfg->write_pixeldata ? BATCH_MAX_COST : UINT64_MAX;
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, r->comm);
    if (n && dc_stop_agree(r->comm, 0)) {
        dc_hook("stop");
        return dc_ckpt_commit(&r->ckpt) == 0 ? EXIT_STOPPED : EXIT_FAIL;
    }
    for (uint64_t first = 0; first < n; r->n_batches++) {
        dc_batch b;
        memset(&b, 0, sizeof b);
        uint64_t count = 0;
        if (r->rank == 0) {
            count = dc_batch_cut(r->scans + first, (size_t)(n - first), max_scans, max_cost);
            dc_batch_build(r->scans, first, count, r->recs, &r->files, r->nranks,
                           !r->cfg->write_pixeldata, r->n_batches, &b);
        }
        MPI_Bcast(&count, 1, MPI_UINT64_T, 0, r->comm);
        r->ckpt.batch_first = first;
        first += count;
        if (dc_batch_bcast(r->comm, &b) != 0) {
            if (r->rank == 0) dc_error("internal error: batch broadcast failed");
            dc_batch_free(&b);
            return EXIT_FAIL;
        }
        int rc = dc_ckpt_run_batch(&r->ckpt, &b);
        dc_batch_free(&b);
        if (rc != 0) return EXIT_FAIL;
        rc = after_batch(r);
        if (rc != EXIT_DONE) return rc;
    }
    return EXIT_DONE;
}

static int retry_forget(dc_run *r, dc_strset *retry)
{
    if (!dc_agree_rank0(r->comm, r->rank == 0 && retry->n > 0)) return 0; /* nothing to retry */
    /* rank 0 replaces the file with what it reads of it: every row appended
     * so far there, and nobody keeping the old file open */
    char err[DC_ERRLEN] = "";
    int rc = dc_csvout_sync(r->comm, &r->out.unread, err, sizeof err);
    if (rc != 0) {
        if (r->rank == 0) dc_error("%s", err);
        return rc;
    }
    dc_csvout_close(r->comm, &r->out.unread);
    if (r->rank == 0) {
        dc_info("retrying %zu scans listed in %s", retry->n, r->out.unread.path);
        rc = dc_outputs_forget_unreadable(&r->out, retry, err, sizeof err);
        if (rc != 0) dc_error("%s", err);
    }
    rc = dc_agree_rank0(r->comm, rc);
    if (rc == 0) dc_csvout_bcast(r->comm, &r->out.unread);
    return rc;
}

static void free_window(dc_run *r)
{
    for (size_t i = 0; i < r->n_scans; i++) dc_scan_free(&r->scans[i]);
    free(r->scans);
    r->scans = NULL;
    free(r->scan_fp);
    r->scan_fp = NULL;
    r->ckpt.scan_fp = NULL;
    r->n_scans = 0;
    for (size_t i = 0; i < r->n_recs; i++) dc_record_free(&r->recs[i]);
    free(r->recs);
    r->recs = NULL;
    r->n_recs = 0;
}

static void add_header_stats(dc_header_stats *sum, const dc_header_stats *w)
{
    sum->files_seen += w->files_seen;
    sum->not_dicom += w->not_dicom;
    sum->dicomdir += w->dicomdir;
    sum->bad += w->bad;
    sum->header_bytes += w->header_bytes;
    sum->seconds += w->seconds;
}

/* One window: header pass, grouping, its batches.  Returns EXIT_DONE to go
 * on, or the run's exit status. */
static int run_window(dc_run *r, int last)
{
    dc_strset retry;
    dc_strset_init(&retry);
    dc_header_stats hs;
    memset(&hs, 0, sizeof hs);
    dc_hook("header");
    int rc = EXIT_FAIL;
    /* metadata only: rows come from the header pass (each file read once) */
    dc_worker *keep = r->cfg->write_pixeldata || r->cfg->dry_run ? NULL : &r->worker;
    if (keep) keep->cols = &r->out.meta.cols; /* an existing header's: rows kept as text */
    int hp = dc_header_pass(r->comm, r->cfg, &r->files, &r->recs, &r->n_recs, &hs, keep);
    add_header_stats(&r->hstats, &hs);
    if (hp == 1) {
        dc_hook("stop");
        rc = dc_ckpt_commit(&r->ckpt) == 0 ? EXIT_STOPPED : EXIT_FAIL;
    } else if (hp == 0 && dc_agree_rank0(r->comm, plan_scans(r, last, &retry)) == 0) {
        if (r->cfg->dry_run) {
            print_plan(r);
            rc = EXIT_DONE;
        } else if (retry_forget(r, &retry) == 0 &&
                   (!keep || dc_ckpt_settle_rows(&r->ckpt, r->scans, r->n_scans, r->recs, &r->files) == 0)) {
            rc = run_batches(r);
            /* metadata only: the window's rows to the CSVs now, durable at the checkpoint */
            if (rc == EXIT_DONE && keep && dc_ckpt_write_rows(&r->ckpt) != 0) rc = EXIT_FAIL;
        }
    }
    dc_strset_free(&retry);
    dc_worker_drop_rows(&r->worker);
    free_window(r);
    return rc;
}

/* ---- the run ---- */

/* the windows one after the other (SPEC 10), then the last checkpoint */
static int run_windows(dc_run *r)
{
    if (r->rank == 0) r->walk = dc_walk_open(r->cfg, walk_poll);
    if (r->rank == 0 && r->out.folders.active) /* resume: done folders are not read */
        dc_walk_set_ledger(r->walk, dc_fledger_known, dc_fledger_has, &r->out.folders);
    for (;; r->n_windows++) {
        int wk = walk_window(r);
        if (wk == WINDOW_FAILED) return EXIT_FAIL;
        if (wk == WINDOW_STOPPED) {
            dc_hook("stop");
            return dc_ckpt_commit(&r->ckpt) == 0 ? EXIT_STOPPED : EXIT_FAIL;
        }
        r->n_files += r->files.n;
        int rc = run_window(r, wk == WINDOW_LAST);
        if (rc != EXIT_DONE) return rc;
        if (wk == WINDOW_LAST) break;
    }
    if (r->cfg->dry_run) {
        if (r->rank == 0)
            printf("# dry run: %llu files, %llu scans to do, %llu already done; nothing written\n",
                   (unsigned long long)r->n_files, (unsigned long long)r->progress.total_scans,
                   (unsigned long long)r->progress.skipped_done);
        return EXIT_DONE;
    }
    if (dc_ckpt_commit(&r->ckpt) != 0) return EXIT_FAIL;
    if (r->rank == 0) dc_outputs_commit_folders(&r->out); /* every row is durable now */
    /* the metadata CSV always exists, even when every scan was unreadable */
    char err[DC_ERRLEN] = "";
    if (dc_csvout_append(r->comm, &r->out.meta, 0, NULL, NULL, 0, err, sizeof err) != 0 ||
        dc_csvout_sync(r->comm, &r->out.meta, err, sizeof err) != 0) {
        if (r->rank == 0) dc_error("%s", err);
        return EXIT_FAIL;
    }
    return dc_labels_finish(r->comm, r->cfg, &r->out) == 0 ? EXIT_DONE : EXIT_FAIL;
}

static void summary(dc_run *r, int outcome)
{
    if (r->rank != 0) return;
    const char *outs[4] = {NULL, NULL, NULL, NULL};
    int k = 0;
    if (r->out.meta.size) outs[k++] = r->out.meta.path;
    if (r->cfg->write_pixeldata && access(r->out.index_path, F_OK) == 0) outs[k++] = r->out.index_path;
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
    dc_filelist_init(&r.files);
    dc_ckpt_init(&r.ckpt, comm, cfg, &r.out, &r.progress, &r.worker);

    int rc = EXIT_FAIL;
    if (settle_csv_style(&r) != 0) {
        rc = EXIT_USAGE;
        goto out;
    }
    if (make_output_folder(&r) != 0) goto out;
    /* an exclusive claim on the outputs before anything is repaired (dc_claim.h) */
    int claimed = dc_agree_rank0(comm, r.rank == 0 ? dc_claim_take(cfg) : EXIT_DONE);
    if (claimed != EXIT_DONE) {
        rc = claimed;
        goto out;
    }
    if (open_outputs(&r) == 0) {
        rc = run_windows(&r);
        if (!cfg->dry_run) summary(&r, rc);
        if (rc == EXIT_DONE) dc_hook("done");
    }
out:
    dc_csvout_close(comm, &r.out.meta); /* collective: appends leave the CSVs open */
    dc_csvout_close(comm, &r.out.unread);
    dc_ckpt_free(&r.ckpt);
    dc_worker_free(&r.worker);
    free_window(&r);
    dc_walk_close(r.walk);
    dc_window_trees_free(&r.trees);
    dc_filelist_free(&r.files);
    dc_outputs_free(&r.out);
    dc_claim_release(); /* rank 0, done, failed or stopped */
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
        char *claim = dc_claim_path_of_index(argv[2]);
        dc_claim_note(claim, "pack reads them without claiming them (as of their last checkpoint)");
        free(claim);
        rc = dc_h5_pack(argv[2], argv[3], err, sizeof err);
        if (rc != 0) dc_error("%s", err);
        else
            fprintf(stderr, "dcmcrawl: packed %s into %s\n", argv[2], argv[3]);
    }
    return dc_agree_rank0(MPI_COMM_WORLD, rc) == 0 ? EXIT_DONE : EXIT_FAIL;
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
                dc_version_print(stdout);
        }
        rc = EXIT_DONE;
    } else if (act == DC_CLI_ERROR) {
        if (rank == 0) fprintf(stderr, "dcmcrawl: error: %s\n", err);
        rc = EXIT_USAGE;
    } else if (dc_privacy_start(&cfg, err, sizeof err) != 0) {
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
    dc_privacy_stop();
    dc_config_free(&cfg);
    MPI_Finalize();
    return rc;
}
