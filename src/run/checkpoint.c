/*
 * checkpoint.c - running a batch and committing checkpoints (see
 * dc_checkpoint.h for the protocol, docs/DESIGN.md for why segments and an
 * index).
 *
 * Per batch: open_segment (each rank creates its scans' datasets in its
 * part file of the checkpoint's segment, which the checkpoint's first batch
 * creates), each rank processes its scans (process.c), the ranks exchange
 * what became of every scan (non-blocking allreduce, polling for stops),
 * datasets of scans not stored are unlinked; rank 0 notes the stored
 * scans' links, every rank formats and holds its rows (hold_rows).
 * Per checkpoint (dc_ckpt_commit): segment closed (fsync'ed by every rank),
 * index replaced, then CSV rows appended and synced, then the done-set.  One
 * segment per checkpoint, not per batch: a crawl of small images runs ~10
 * batches a second.  Metadata-only runs append each window's rows when the
 * window ends (dc_ckpt_write_rows): the sync at the checkpoint then waits
 * for the last window's rows only (a warm 20,000-file window's 28 MB cost
 * an 18 ms sync), and rows held never outgrow a window.
 */
#include "dc_checkpoint.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc_hook.h"
#include "dc_mpi.h"
#include "dc_privacy.h"
#include "dc_stop.h"

size_t dc_ckpt_meta_commit_every(const dc_config *cfg, int nranks)
{
    if (cfg->commit_given & 1) return (size_t)cfg->commit_every;
    long window = dc_config_window_files(cfg, nranks);
    return (size_t)(window > DC_META_COMMIT_EVERY_MIN ? window : DC_META_COMMIT_EVERY_MIN);
}

void dc_ckpt_init(dc_ckpt *c, MPI_Comm comm, const dc_config *cfg, dc_outputs *out,
                  dc_progress *progress, dc_worker *worker)
{
    memset(c, 0, sizeof *c);
    c->comm = comm;
    MPI_Comm_rank(comm, &c->rank);
    MPI_Comm_size(comm, &c->nranks);
    c->cfg = cfg;
    c->out = out;
    c->progress = progress;
    c->worker = worker;
    c->last_commit = dc_now();
    dc_held_init(&c->meta);
    dc_held_init(&c->unread);
    dc_ckpt_policy *p = &c->policy;
    p->commit_seconds = (double)cfg->commit_seconds;
    p->commit_every = (size_t)cfg->commit_every;
    p->max_held_bytes = DC_HELD_BYTES_MAX;
    /* test hook (dc_hook.h): a small bound makes small crawls cut checkpoints by memory */
    const char *e = getenv("DCMCRAWL_HELD_BYTES");
    if (e && *e) p->max_held_bytes = (size_t)strtoull(e, NULL, 10);
    if (cfg->write_pixeldata && !(cfg->commit_given & 2)) {
        long s = (long)c->nranks * DC_PIXEL_COMMIT_SECONDS_PER_RANK;
        p->commit_seconds = (double)(s < DC_PIXEL_COMMIT_SECONDS_MAX ? s : DC_PIXEL_COMMIT_SECONDS_MAX);
    }
    if (cfg->write_pixeldata && !(cfg->commit_given & 1))
        p->commit_every = (size_t)c->nranks * DC_PIXEL_COMMIT_EVERY_PER_RANK;
    if (!cfg->write_pixeldata) p->commit_every = dc_ckpt_meta_commit_every(cfg, c->nranks);
}

void dc_ckpt_free(dc_ckpt *c)
{
    free(c->seg_rel); /* a segment still open here belongs to a failed run */
    c->seg_rel = NULL;
    dc_held_free(&c->meta);
    dc_held_free(&c->unread);
}

/* ---- one batch ---- */

/* what became of a scan of the batch (summed over ranks: only the owner adds) */
enum { SCAN_ABANDONED = 0, SCAN_STORED = 1, SCAN_UNREADABLE = 2 };

typedef struct {
    dc_scan_result *res; /* per scan of the batch (filled for my scans) */
    int32_t *status;     /* per scan: SCAN_* (all ranks after the exchange) */
    int *handle;         /* dataset handle per scan, -1 none */
} batch_state;

/* this checkpoint's segment: created by its first batch with pixels to
 * write, one part file per rank (each rank creating its own scans'
 * datasets with serial HDF5), kept open until the checkpoint */
static int ensure_segment(dc_ckpt *c)
{
    if (c->seg) return 0;
    if (c->rank == 0 && mkdir(c->out->seg_dir, 0755) == 0) dc_fsync_path(c->cfg->out_folder, 1);
    MPI_Barrier(c->comm);
    char *name = dc_outputs_seg_name(c->out->next_seg++);
    char *path = dc_asprintf("%s/%s", c->out->seg_dir, name);
    c->seg_rel = dc_asprintf("%s/%s", c->out->seg_dir_name, name);
    free(name);
    c->seg = dc_h5seg_create_parts(c->comm, path);
    free(path);
    c->seg_stored = 0;
    return 0;
}

/* the batch's datasets, in the checkpoint's segment */
static int open_segment(dc_ckpt *c, const dc_batch *b, batch_state *bs)
{
    int need = 0;
    for (size_t i = 0; i < b->n_scans; i++) need |= !b->scans[i].unreadable;
    if (!c->cfg->write_pixeldata || !need) return 0;
    char err[DC_ERRLEN] = "";
    ensure_segment(c);
    dc_h5ds_opts o = {NULL, c->cfg->gzip_level, c->cfg->layout};
    const char **folders = dc_malloc(sizeof(char *) * (b->n_scans ? b->n_scans : 1));
    for (size_t i = 0; i < b->n_scans; i++) folders[i] = dc_privacy_folder_view(b->source_folder[i]);
    int rc = dc_h5seg_add_datasets(c->seg, b->scans, b->n_scans, b->owner, (char *const *)folders, &o,
                                   bs->handle, err, sizeof err);
    free(folders);
    if (rc != 0) {
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

/* texts formatted for the old header (old_header), held rows and the
 * batch's texts[0..nt), remapped to the header's new columns */
static int remap_texts(dc_ckpt *c, const dc_strvec *old_header, dc_buf **texts, size_t nt)
{
    size_t nh = c->meta.n;
    dc_buf *held = nh ? dc_held_unpack(&c->meta) : NULL;
    dc_buf **all = dc_malloc(sizeof(dc_buf *) * (nh + nt + 1));
    for (size_t i = 0; i < nh; i++) all[i] = &held[i];
    for (size_t i = 0; i < nt; i++) all[nh + i] = texts[i];
    int rc = dc_csvout_remap_rows(&c->out->meta, old_header, all, nh + nt);
    if (held) dc_held_repack(&c->meta, held);
    free(all);
    dc_debug("%zu rows formatted before %zu new columns remapped", nh + nt,
             c->out->meta.cols.n + DC_META_FIXED_COLS - old_header->n);
    return rc;
}

/* Compact rows (columns not known yet) join the header (collective); when
 * that adds columns, every text formatted for the old header (the held
 * rows and the batch's texts[0..nt)) is remapped, as the file's own
 * rewrite does.  Agreed by every rank. */
static int widen_rows(dc_ckpt *c, const dc_row **rows, size_t nr, dc_buf **texts, size_t nt,
                      char *err, size_t errlen)
{
    dc_strvec old_header;
    dc_strvec_init(&old_header);
    int formatted = nt || c->meta.n;
    if (formatted) dc_csvout_header_fields(&c->out->meta, &old_header);
    int rc = dc_csvout_widen(c->comm, &c->out->meta, rows, nr, err, errlen);
    if (rc == 0 && formatted && c->out->meta.cols.n + DC_META_FIXED_COLS != old_header.n &&
        remap_texts(c, &old_header, texts, nt) != 0) {
        snprintf(err, errlen, "%s: internal error remapping rows to new columns", c->out->meta.path);
        rc = -1;
    }
    dc_strvec_free(&old_header);
    return dc_agree_all(c->comm, rc);
}

/* a row whose text ends in the worker's kept text as one text */
static void join_tail(dc_scan_result *res)
{
    if (!res->tail) return;
    dc_buf_append(&res->text, res->tail, res->tail_len);
    res->tail = NULL;
    res->tail_len = 0;
}

/* The columns of this batch's rows that are not formatted yet join the
 * header, with the texts held from earlier batches or formatted by the
 * worker in this one (widen_rows). */
static int widen_columns(dc_ckpt *c, const dc_batch *b, batch_state *bs, char *err, size_t errlen)
{
    size_t n = b->n_scans;
    const dc_row **rows = dc_malloc(sizeof(dc_row *) * (n ? n : 1));
    dc_buf **texts = dc_malloc(sizeof(dc_buf *) * (n ? n : 1));
    size_t nr = 0, nt = 0;
    for (size_t i = 0; i < n; i++)
        if (b->owner[i] == c->rank && bs->status[i] == SCAN_STORED) {
            if (bs->res[i].text.len)
                texts[nt++] = &bs->res[i].text;
            else
                rows[nr++] = &bs->res[i].row;
        }
    /* when some rank has compact rows, columns may come and the texts be
     * remapped: each whole first (collective, as widen_rows is) */
    if (dc_agree_any(c->comm, nr > 0))
        for (size_t i = 0; i < n; i++) join_tail(&bs->res[i]);
    int rc = widen_rows(c, rows, nr, texts, nt, err, errlen);
    free(rows);
    free(texts);
    return rc;
}

/* this rank's rows of the batch, formatted and held until the checkpoint */
static int hold_rows(dc_ckpt *c, const dc_batch *b, batch_state *bs)
{
    char err[DC_ERRLEN] = "";
    int rc = widen_columns(c, b, bs, err, sizeof err);
    size_t n = b->n_scans, n_unread = 0;
    for (size_t i = 0; i < n; i++) n_unread += bs->status[i] == SCAN_UNREADABLE;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint32_t pos = (uint32_t)(c->n_held + i);
        if (b->owner[i] != c->rank) continue;
        dc_buf t;
        dc_buf_init(&t);
        if (bs->status[i] == SCAN_STORED) {
            const dc_buf *text = &bs->res[i].text;
            if (!text->len) {
                dc_csv_format_row(&c->out->meta.cols, b->scans[i].scan_id, b->scans[i].n_files,
                                  &bs->res[i].row, &t);
                text = &t;
            }
            dc_held_add2(&c->meta, pos, text->data, text->len, bs->res[i].tail, bs->res[i].tail_len);
        } else if (bs->status[i] == SCAN_UNREADABLE) {
            unreadable_row(&b->scans[i], &bs->res[i], &t);
            dc_held_add(&c->unread, pos, t.data, t.len);
        }
        dc_buf_free(&t);
    }
    if (rc != 0 && c->rank == 0) dc_error("%s", err[0] ? err : "widening the CSV header failed on another rank");
    c->n_since += n;
    c->n_held += n;
    c->n_held_unread += n_unread;
    return rc;
}

/* rank 0: the stored datasets' links, written at the checkpoint */
static void note_links(dc_ckpt *c, const dc_batch *b, const batch_state *bs)
{
    const char *seg_rel = c->seg_rel;
    if (c->rank != 0 || !seg_rel) return;
    for (size_t i = 0; i < b->n_scans; i++)
        if (bs->status[i] == SCAN_STORED) {
            char *part = dc_h5seg_part_path(seg_rel, b->owner[i]); /* its owner's file */
            dc_h5index_put(&c->out->index, b->scans[i].scan_id, part);
            free(part);
            c->index_dirty = 1;
        }
}

/* rank 0: the scans of the batch with a row are done (dc_resume.h) */
static void note_done(dc_ckpt *c, const dc_batch *b, const batch_state *bs)
{
    if (c->rank != 0) return;
    for (size_t i = 0; i < b->n_scans; i++)
        if (bs->status[i] != SCAN_ABANDONED)
            dc_outputs_note_done(c->out,
                                    c->scan_fp ? c->scan_fp[c->batch_first + i] : dc_idfp_of(b->scans[i].scan_id),
                                    bs->status[i] == SCAN_UNREADABLE);
}

static void report_batch(dc_ckpt *c, const dc_batch *b, const batch_state *bs)
{
    uint64_t mine[2] = {0, 0};
    uint64_t files = 0, stored = 0, unread = 0;
    for (size_t i = 0; i < b->n_scans; i++) {
        if (b->owner[i] == c->rank) {
            mine[0] += bs->res[i].bytes_in;
            mine[1] += bs->res[i].bytes_out;
        }
        if (bs->status[i] == SCAN_ABANDONED) continue;
        files += b->scans[i].n_files;
        stored += bs->status[i] == SCAN_STORED;
        unread += bs->status[i] == SCAN_UNREADABLE;
    }
    MPI_Reduce(c->rank == 0 ? MPI_IN_PLACE : mine, mine, 2, MPI_UINT64_T, MPI_SUM, 0, c->comm);
    if (c->rank == 0)
        dc_progress_add(c->progress, stored + unread, files, stored, unread, mine[0], mine[1]);
}

/* compressed datasets of stored scans: every rank writes every dataset
 * together, the owner with the frames it decoded, the others with nothing.
 * Before each dataset the ranks agree whether a stop came: then the scans
 * not written yet are abandoned (the same ones on every rank). */
static int write_collective(dc_ckpt *c, const dc_batch *b, batch_state *bs, dc_h5seg *seg)
{
    char err[DC_ERRLEN] = "";
    int stop = 0;
    for (size_t i = 0; i < b->n_scans; i++) {
        if (bs->handle[i] < 0 || !dc_h5seg_is_collective(seg, bs->handle[i])) continue;
        if (bs->status[i] != SCAN_STORED) continue;
        if (!stop) stop = dc_stop_agree(c->comm, 0);
        if (stop) {
            bs->status[i] = SCAN_ABANDONED;
            continue;
        }
        const void *frames = b->owner[i] == c->rank ? bs->res[i].frames : NULL;
        if (dc_h5seg_write_all(seg, bs->handle[i], &b->scans[i], frames, err, sizeof err) != 0) {
            if (c->rank == 0) dc_error("%s", err);
            return -1;
        }
        free(bs->res[i].frames);
        bs->res[i].frames = NULL;
    }
    return 0;
}

/* datasets of scans that are not stored (unreadable, abandoned) are
 * unlinked from the segment: it then holds only complete datasets */
static int drop_incomplete(dc_ckpt *c, const dc_batch *b, batch_state *bs, dc_h5seg *seg)
{
    char err[DC_ERRLEN] = "";
    for (size_t i = 0; i < b->n_scans; i++) {
        if (bs->handle[i] < 0 || bs->status[i] == SCAN_STORED) continue;
        if (dc_h5seg_drop_dataset(seg, bs->handle[i], &b->scans[i], err, sizeof err) != 0) {
            if (c->rank == 0) dc_error("%s", err);
            return -1;
        }
    }
    return 0;
}

/* rank 0: a segment none of whose scans was stored is not linked: delete it */
static void drop_unused_segment(dc_ckpt *c)
{
    if (c->rank != 0 || c->seg_stored) return;
    const char *name = strrchr(c->seg_rel, '/');
    char *path = dc_asprintf("%s/%s", c->out->seg_dir, name ? name + 1 : c->seg_rel);
    if (unlink(path) != 0 && errno != ENOENT) dc_debug("%s: cannot remove: %s", path, strerror(errno));
    free(path);
}

/* each rank processes the scans it owns */
static void process_mine(dc_ckpt *c, const dc_batch *b, batch_state *bs, dc_h5seg *seg)
{
    for (size_t i = 0; i < b->n_scans; i++) {
        if (b->owner[i] != c->rank) continue;
        if (dc_stop_poll()) { /* stop requested: the scans not begun are left too */
            bs->res[i].abandoned = 1;
            continue;
        }
        c->worker->cols = &c->out->meta.cols; /* rows with known columns are formatted at once */
        dc_process_scan(c->worker, c->cfg, b, i, seg, bs->handle[i], &bs->res[i]);
        bs->status[i] = bs->res[i].abandoned ? SCAN_ABANDONED
                        : bs->res[i].stored  ? SCAN_STORED
                                             : SCAN_UNREADABLE;
        if (bs->status[i] == SCAN_UNREADABLE)
            dc_debug("%s: unreadable: %s (%s)", b->scans[i].scan_id, bs->res[i].reason,
                     bs->res[i].example);
    }
}

/* Collective: the checkpoint's segment closed and durable (or removed when
 * it stores nothing); before the index names it */
static int close_segment(dc_ckpt *c)
{
    if (!c->seg) return 0;
    char err[DC_ERRLEN] = "";
    int rc = dc_h5seg_close(c->seg, err, sizeof err);
    c->seg = NULL;
    if (rc != 0 && c->rank == 0) dc_error("%s", err);
    if (rc == 0) drop_unused_segment(c);
    free(c->seg_rel);
    c->seg_rel = NULL;
    return rc;
}

static size_t count_stored(const dc_batch *b, const batch_state *bs)
{
    size_t k = 0;
    for (size_t i = 0; i < b->n_scans; i++) k += bs->status[i] == SCAN_STORED;
    return k;
}

int dc_ckpt_run_batch(dc_ckpt *c, dc_batch *b)
{
    size_t n = b->n_scans;
    batch_state bs;
    bs.res = dc_calloc(n ? n : 1, sizeof *bs.res);
    bs.status = dc_calloc(n ? n : 1, sizeof *bs.status);
    bs.handle = dc_malloc(sizeof(int) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) bs.handle[i] = -1;

    dc_hook("batch");
    int rc = open_segment(c, b, &bs);
    dc_h5seg *seg = c->seg;
    if (rc == 0) process_mine(c, b, &bs, seg);
    /* every rank learns what became of every scan; a rank that is done waits
     * here, still listening for stop requests (dc_stop.h).  n is at most
     * run.commit_every (an int count). */
    MPI_Request req;
    MPI_Iallreduce(MPI_IN_PLACE, bs.status, (int)n, MPI_INT32_T, MPI_SUM, c->comm, &req);
    dc_stop_wait(&req);
    if (rc == 0 && seg) rc = write_collective(c, b, &bs, seg);
    if (rc == 0 && seg) rc = drop_incomplete(c, b, &bs, seg);
    if (seg) dc_h5seg_end_batch(seg);
    rc = dc_agree_all(c->comm, rc);
    if (rc == 0 && seg) c->seg_stored += count_stored(b, &bs);
    if (rc == 0) note_links(c, b, &bs);
    if (rc == 0) note_done(c, b, &bs);
    if (rc == 0) rc = hold_rows(c, b, &bs);
    if (rc == 0) report_batch(c, b, &bs);
    for (size_t i = 0; i < n; i++) dc_scan_result_free(&bs.res[i]);
    free(bs.res);
    free(bs.status);
    free(bs.handle);
    return rc;
}

/* ---- a metadata-only window's rows ---- */

/* rows that show a window's columns: files of one archive mostly share them */
#define SETTLE_SAMPLE_ROWS 64

/* Collective: the first `limit` of this rank's compact rows among the
 * window files[0..nf) join the header (widen_rows, with the held texts) */
static int exchange_columns(dc_ckpt *c, const uint64_t *files, size_t nf, size_t limit, char *err,
                            size_t errlen)
{
    const dc_row **rows = dc_malloc(sizeof(dc_row *) * (nf + 1));
    dc_row prov; /* the columns rows were formatted for before there was a header */
    size_t np = dc_worker_provisional_row(c->worker, &prov);
    rows[0] = &prov;
    size_t nr = dc_worker_compact_rows(c->worker, files, nf, rows + np);
    int rc = widen_rows(c, rows, np + (nr < limit ? nr : limit), NULL, 0, err, errlen);
    free(rows);
    return rc;
}

int dc_ckpt_settle_rows(dc_ckpt *c, const dc_scan *scans, size_t n, const dc_record *recs,
                        const dc_filelist *fl)
{
    uint64_t *files = NULL;
    size_t nf = 0;
    int rc = dc_agree_all(c->comm, dc_row_files_scatter(c->comm, scans, n, recs, fl, &files, &nf));
    char err[DC_ERRLEN] = "";
    /* the columns of a sample of rows, then every row formatted for them on
     * all ranks at once; the rows with other columns join the header in a
     * second exchange and are formatted by their batches, as before */
    if (rc == 0) rc = exchange_columns(c, files, nf, SETTLE_SAMPLE_ROWS, err, sizeof err);
    if (rc == 0) dc_worker_format_kept(c->worker, &c->out->meta.cols, files, nf);
    if (rc == 0) rc = exchange_columns(c, files, nf, SIZE_MAX, err, sizeof err);
    if (rc != 0 && c->rank == 0) dc_error("%s", err[0] ? err : "exchanging the window's columns failed");
    free(files);
    return rc;
}

/* ---- checkpoints ---- */

/* bytes this rank holds for the checkpoint in progress: its rows, and on
 * rank 0 the links of the index map (this checkpoint's and the last one's) */
static size_t held_bytes(const dc_ckpt *c)
{
    size_t b = dc_held_bytes(&c->meta) + dc_held_bytes(&c->unread);
    return c->rank == 0 ? b + dc_h5index_mem(&c->out->index) : b;
}

int dc_ckpt_due(dc_ckpt *c)
{
    /* the clock is rank 0's; the memory bound every rank's */
    double since = c->rank == 0 ? dc_now() - c->last_commit : 0;
    return dc_agree_any(c->comm, dc_ckpt_policy_due(&c->policy, c->n_since, since, held_bytes(c)));
}

/* rank 0: replace the index file when links were added */
static int commit_index(dc_ckpt *c)
{
    int rc = 0;
    if (c->rank == 0 && c->index_dirty) {
        char err[DC_ERRLEN] = "";
        rc = dc_h5index_write(c->out->index_path, &c->out->index,
                              c->cfg->layout == DC_LAYOUT_SEED ? "seed" : "zyx",
                              c->cfg->config_text, err, sizeof err);
        if (rc != 0)
            dc_error("%s", err);
        else
            dc_h5index_trim(&c->out->index); /* memory: this checkpoint's links, not the archive's */
        c->index_dirty = 0;
    }
    return dc_agree_rank0(c->comm, rc);
}

/* Collective: the held rows of one CSV appended, a chunk of positions
 * at a time (the append copies a chunk's rows, not the checkpoint's).  A
 * kill between chunks leaves a prefix of the rows, as a kill during one
 * append does (repaired at start).  Returns 0 or -1 (same on all ranks). */
static int append_held(dc_ckpt *c, dc_csvout *csv, const dc_held_rows *h, char *err,
                       size_t errlen)
{
    int rc = 0;
    dc_buf *views = dc_malloc(sizeof(dc_buf) * (h->n ? h->n : 1));
    uint32_t *pos = dc_malloc(sizeof(uint32_t) * (h->n ? h->n : 1));
    for (size_t lo = 0; lo < c->n_held && rc == 0; lo += DC_APPEND_CHUNK_ROWS) {
        size_t hi = c->n_held - lo < DC_APPEND_CHUNK_ROWS ? c->n_held : lo + DC_APPEND_CHUNK_ROWS;
        size_t first, last;
        dc_held_range(h, (uint32_t)lo, (uint32_t)hi, &first, &last);
        dc_held_views(h, first, last, views);
        for (size_t i = first; i < last; i++) pos[i - first] = (uint32_t)(h->pos[i] - lo);
        rc = dc_csvout_append(c->comm, csv, hi - lo, pos, views, last - first, err, errlen);
    }
    free(views);
    free(pos);
    return rc;
}

static void drop_held(dc_ckpt *c)
{
    dc_held_clear(&c->meta);
    dc_held_clear(&c->unread);
    c->n_held = c->n_held_unread = 0;
}

/* the held rows appended to the CSVs (not synced), and forgotten */
static int append_rows(dc_ckpt *c, char *err, size_t errlen)
{
    int rc = 0;
    if (c->n_held) rc = append_held(c, &c->out->meta, &c->meta, err, errlen);
    if (rc == 0 && c->n_held_unread) rc = append_held(c, &c->out->unread, &c->unread, err, errlen);
    drop_held(c);
    return rc;
}

static int report_rows(const dc_ckpt *c, int rc, const char *err)
{
    if (rc != 0 && c->rank == 0) dc_error("%s", err[0] ? err : "writing rows failed on another rank");
    return rc;
}

int dc_ckpt_write_rows(dc_ckpt *c)
{
    char err[DC_ERRLEN] = "";
    return report_rows(c, append_rows(c, err, sizeof err), err);
}

int dc_ckpt_commit(dc_ckpt *c)
{
    if (c->n_since == 0) return 0;
    int rc = close_segment(c); /* agreed by every rank */
    if (rc == 0) rc = commit_index(c);
    char err[DC_ERRLEN] = "";
    if (rc == 0) rc = append_rows(c, err, sizeof err);
    if (rc == 0) rc = dc_csvout_sync(c->comm, &c->out->meta, err, sizeof err);
    if (rc == 0) rc = dc_csvout_sync(c->comm, &c->out->unread, err, sizeof err);
    report_rows(c, rc, err);
    if (rc == 0 && c->rank == 0) dc_outputs_commit_done(c->out);
    drop_held(c); /* a failed segment or index: the rows are not appended */
    c->n_since = 0;
    c->last_commit = dc_now();
    c->n_commits++;
    return rc;
}
