/*
 * process.c - one scan on its owner rank: decode slice by slice into the
 * dataset, flatten the first slice's header into the metadata row.
 * See dc_process.h.
 */
#include "dc_process.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dc_colkey.h"
#include "dc_decode.h"
#include "dc_hook.h"
#include "dc_privacy.h"
#include "dc_rawcopy.h"
#include "dc_stop.h"
#include "dc_tiles.h"

void dc_worker_init(dc_worker *w)
{
    memset(w, 0, sizeof *w);
    dc_dataset_init(&w->ds);
    dc_row_init(&w->scratch);
    dc_colset_init(&w->prov);
    w->raw_fd = -1;
}

/* the segment file's raw fd is the segment's (dc_h5seg_raw_fd, open for
 * the whole checkpoint): a scan only forgets it */
static void close_raw(dc_worker *w)
{
    w->raw_fd = -1;
}

void dc_worker_drop_rows(dc_worker *w)
{
    for (size_t i = 0; i < w->n_kept; i++) dc_row_free(&w->kept[i]);
    w->n_kept = 0;
    w->kept_text.len = 0; /* the memory is reused by the next window */
    dc_strvec_free(&w->kept_names);
    w->names_of = NULL;
    dc_colset_free(&w->prov);
    dc_colset_init(&w->prov);
}

/* the window's texts are formatted for the columns kept_names: are they
 * c's, in c's order?  (kept_names are set once per window; c's stamp
 * changes with its columns) */
static int names_match(dc_worker *w, const dc_colset *c)
{
    if (w->names_of == c && w->names_stamp == c->stamp) return w->names_match;
    int same = w->kept_names.n == c->n;
    for (size_t i = 0; same && i < c->n; i++) same = strcmp(w->kept_names.v[i], c->cols[i].name) == 0;
    w->names_of = c;
    w->names_stamp = c->stamp;
    w->names_match = same;
    return same;
}

static void set_kept_names(dc_worker *w, const dc_colset *c)
{
    for (size_t i = 0; i < c->n; i++) dc_strvec_push(&w->kept_names, c->cols[i].name);
    w->names_of = NULL;
}

/* the columns kept rows are formatted for: the CSV's, or before there is a
 * header the provisional ones (made from the scratch row when first asked) */
static const dc_colset *text_columns(dc_worker *w)
{
    if (w->cols && w->cols->n) return w->cols;
    if (!w->prov.n) {
        for (size_t i = 0; i < w->scratch.n; i++) {
            dc_column keyed; /* keyed by name, as the column exchange keys them */
            dc_column_key_from_name(w->scratch.cols[i].name, &keyed);
            keyed.name = w->scratch.cols[i].name;
            dc_colset_add(&w->prov, &keyed);
        }
        dc_colset_sort(&w->prov);
    }
    return w->prov.n ? &w->prov : NULL;
}

int dc_worker_provisional_row(const dc_worker *w, dc_row *view)
{
    dc_row_init(view);
    if (!w->prov.n) return 0;
    view->cols = w->prov.cols;
    view->n = w->prov.n;
    return 1;
}

/* The scratch row as CSV values for the known columns (text_columns),
 * appended to the window's kept_text (no copy of the row, ~6x less
 * memory); 0 when some column is new (then the row itself is kept for the
 * column exchange). */
static int keep_as_text(dc_worker *w, size_t at)
{
    const dc_colset *cols = text_columns(w);
    if (!cols) return 0;
    if (!w->kept_names.n) set_kept_names(w, cols); /* the columns the window's texts are for */
    if (!names_match(w, cols)) return 0;
    size_t mark = w->kept_text.len;
    if (dc_csv_format_values(cols, &w->scratch, &w->kept_text) != 0 ||
        w->kept_text.len - mark > UINT32_MAX) {
        w->kept_text.len = mark;
        return 0;
    }
    w->kept_off[at] = mark;
    w->kept_len[at] = (uint32_t)(w->kept_text.len - mark);
    return 1;
}

void dc_worker_keep_row(dc_worker *w, uint32_t idx, const dc_dataset *ds)
{
    if (w->n_kept == 0) w->kept_first = idx;
    if (idx < w->kept_first) return; /* not contiguous: read again later */
    size_t at = idx - w->kept_first;
    while (w->n_kept <= at) {
        if (w->n_kept == w->kept_cap) {
            w->kept_cap = w->kept_cap ? w->kept_cap * 2 : 256;
            w->kept = dc_realloc(w->kept, w->kept_cap * sizeof *w->kept);
            w->kept_off = dc_realloc(w->kept_off, w->kept_cap * sizeof *w->kept_off);
            w->kept_len = dc_realloc(w->kept_len, w->kept_cap * sizeof *w->kept_len);
        }
        w->kept_len[w->n_kept] = 0;
        dc_row_init(&w->kept[w->n_kept++]);
    }
    dc_row_clear(&w->scratch);
    dc_flatten(dc_privacy_view(ds), &w->scratch); /* privacy.profile, output.columns */
    dc_row_free(&w->kept[at]);
    w->kept_len[at] = 0;
    if (!keep_as_text(w, at)) dc_row_compact_copy(&w->scratch, &w->kept[at]);
}

/* the kept text of window file idx as the scan's CSV row (-1: none) */
static int take_kept_text(dc_worker *w, uint32_t idx, const dc_scan *s, dc_scan_result *res)
{
    if (idx < w->kept_first || idx - w->kept_first >= w->n_kept) return -1;
    size_t at = idx - w->kept_first;
    if (!w->kept_len[at]) return -1;
    dc_buf_free(&res->text);
    dc_csv_format_fixed(s->scan_id, s->n_files, &res->text);
    const char *kept = w->kept_text.data + w->kept_off[at];
    size_t len = w->kept_len[at];
    w->kept_len[at] = 0;
    if (names_match(w, w->cols)) { /* formatted for these columns: the checkpoint's
                                            held rows copy it from there (dc_scan_result.tail) */
        res->tail = kept;
        res->tail_len = len;
        return 0;
    }
    dc_buf_append(&res->text, kept, len);
    if (dc_csv_remap_row(w->cols, &w->kept_names, &res->text) != 0) {
        dc_buf_free(&res->text); /* cannot happen: read the file again */
        return -1;
    }
    return 0;
}

/* the kept row of window file idx, taken (NULL when none) */
static int take_kept_row(dc_worker *w, uint32_t idx, dc_row *out)
{
    if (idx < w->kept_first || idx - w->kept_first >= w->n_kept) return -1;
    dc_row *k = &w->kept[idx - w->kept_first];
    if (!k->cols) return -1;
    *out = *k;
    dc_row_init(k);
    return 0;
}

void dc_worker_free(dc_worker *w)
{
    dc_worker_drop_rows(w);
    free(w->kept);
    free(w->kept_off);
    free(w->kept_len);
    dc_buf_free(&w->kept_text);
    dc_colset_free(&w->prov);
    close_raw(w);
    dc_dataset_free(&w->ds);
    dc_row_free(&w->scratch);
    free(w->slice);
    memset(w, 0, sizeof *w);
    w->raw_fd = -1;
}

void dc_scan_result_free(dc_scan_result *r)
{
    free(r->reason);
    free(r->example);
    free(r->frames);
    dc_row_free(&r->row);
    dc_buf_free(&r->text);
    memset(r, 0, sizeof *r);
}

static void fail(dc_scan_result *res, const char *reason, const char *example)
{
    res->stored = 0;
    free(res->reason);
    free(res->example);
    res->reason = dc_strdup(reason);
    res->example = dc_strdup(example ? dc_privacy_path_view(example) : "");
}

/* the file still says what the header pass saw (it may have been replaced);
 * only the image fields are read again (the whole record was ~10% of a small
 * image's decoding CPU) */
static int same_image(const dc_dataset *ds, const dc_record *rec)
{
    dc_record now;
    dc_record_init(&now);
    dc_record_image_fields(ds, &now);
    int same = now.rows == rec->rows && now.cols == rec->cols && now.samples == rec->samples &&
               now.bits_alloc == rec->bits_alloc && now.frames == rec->frames &&
               strcmp(now.ts_uid, rec->ts_uid) == 0;
    dc_record_free(&now);
    return same;
}

/* Parse a file for decoding/flattening; returns 0 or -1 with the reason in err */
static int open_file(dc_worker *w, const char *path, int keep_open, char *err, size_t errlen)
{
    dc_parse_opts po;
    dc_parse_opts_default(&po);
    po.walk_fragments = 1;
    po.keep_open = keep_open;
    dc_dataset_clear(&w->ds);
    int rc = dc_parse_file(path, &po, &w->ds, err, errlen);
    if (rc == DC_PARSE_NOT_DICOM) snprintf(err, errlen, "no longer a DICOM file");
    return rc == DC_PARSE_OK ? 0 : -1;
}

/* Flattened into the worker's reused row, then either formatted at once as
 * the CSV row (every column already in the CSV: the common case after the
 * first checkpoint) or kept as a compact copy for the checkpoint's column
 * exchange (rows live until the batch's CSV append: commit_every of them).
 * Formatting here saves the copy, its page faults and a second lookup of
 * every column name; the text is the one write_rows would format, and is
 * remapped there if another rank brings new columns in the same batch. */
static void flatten_row(dc_worker *w, const dc_scan *s, dc_scan_result *res)
{
    dc_row_clear(&w->scratch);
    dc_flatten(dc_privacy_view(&w->ds), &w->scratch);
    dc_row_free(&res->row);
    dc_buf_free(&res->text);
    if (w->cols && w->cols->n) {
        if (dc_csv_format_row(w->cols, s->scan_id, s->n_files, &w->scratch, &res->text) == 0) return;
        dc_buf_free(&res->text);
    }
    dc_row_compact_copy(&w->scratch, &res->row);
}

/* the row the header pass kept, formatted at once like flatten_row's */
static int kept_row(dc_worker *w, const dc_batch *b, const dc_scan *s, dc_scan_result *res)
{
    dc_row_free(&res->row);
    if (take_kept_text(w, b->rec_file[s->first_rec], s, res) == 0) return 0;
    if (take_kept_row(w, b->rec_file[s->first_rec], &res->row) != 0) return -1;
    dc_buf_free(&res->text);
    if (w->cols && w->cols->n) {
        if (dc_csv_format_row(w->cols, s->scan_id, s->n_files, &res->row, &res->text) == 0) {
            dc_row_free(&res->row);
            dc_row_init(&res->row);
            return 0;
        }
        dc_buf_free(&res->text);
    }
    return 0;
}

static void metadata_only(dc_worker *w, const dc_batch *b, const dc_scan *s, dc_scan_result *res)
{
    char err[DC_ERRLEN];
    if (kept_row(w, b, s, res) == 0) { /* read once, in the header pass */
        res->stored = 1;
        return;
    }
    const char *path = b->paths[s->first_rec];
    if (open_file(w, path, 0, err, sizeof err) != 0) {
        fail(res, err, path);
        return;
    }
    res->bytes_in += w->ds.bytes_read;
    flatten_row(w, s, res);
    res->stored = 1;
}

/* slope/intercept for slice k; identity unless rescale is on */
static int slice_rescale(const dc_config *cfg, const dc_scan *s, uint32_t k, double *slope,
                         double *icpt)
{
    *slope = 1.0;
    *icpt = 0.0;
    if (!cfg->rescale && cfg->philips_scaling != DC_PHILIPS_FLOATING) return 0;
    uint32_t j = s->n_rescale > 1 ? k : 0;
    *slope = (s->rescale_slope && s->n_rescale) ? s->rescale_slope[j] : 1.0;
    *icpt = (s->rescale_intercept && s->n_rescale) ? s->rescale_intercept[j] : 0.0;
    return 0;
}

/* Where frame k goes when the segment file can be written directly: 0 and
 * its file offset (the file opened once per segment), -1 otherwise. */
static int raw_target(dc_worker *w, dc_h5seg *seg, int h, uint32_t k, uint64_t len, uint64_t *dst)
{
    uint64_t dst_len;
    if (w->raw_fd == -2 || dc_h5seg_frame_extent(seg, h, k, dst, &dst_len) != 0 || dst_len != len)
        return -1;
    if (w->raw_fd < 0 && (w->raw_fd = dc_h5seg_raw_fd(seg)) < 0) {
        w->raw_fd = -2; /* not for this scan */
        return -1;
    }
    return 0;
}

/* The fast path (dc_rawcopy.h): frame k copied from the open file straight
 * into its place in the segment file when its bytes need no decoding.
 * Returns 0 when done, -1 when the frame takes the decoding path. */
static int copy_raw(dc_worker *w, dc_h5seg *seg, int h, const dc_scan *s, const dc_pixel_desc *pd,
                    uint32_t k, size_t slice_bytes)
{
    uint64_t src, len, dst;
    if (dc_raw_frame_extent(&w->ds, pd, s->slice_frame[k], s->dtype, &src, &len) != 0 ||
        len != slice_bytes || raw_target(w, seg, h, k, len, &dst) != 0)
        return -1;
    if (dc_raw_copy(w->ds.fd, src, w->raw_fd, dst, len) != 0) return -1;
    dc_raw_writeback(w->raw_fd, dst, len);
    dc_hook("pixels"); /* one slice written, as dc_h5seg_write_slice says */
    return 0;
}

/* A decoded frame: written at its place with pwrite and its writeback
 * started (the fsync at the checkpoint then finds little left), else
 * through HDF5. */
static int write_slice(dc_worker *w, dc_h5seg *seg, int h, const dc_scan *s, uint32_t k,
                       const void *buf, size_t slice_bytes, char *err, size_t errlen)
{
    uint64_t dst;
    if (raw_target(w, seg, h, k, slice_bytes, &dst) == 0 &&
        dc_pwrite_all(w->raw_fd, buf, slice_bytes, dst) == 0) {
        dc_raw_writeback(w->raw_fd, dst, slice_bytes);
        dc_hook("pixels");
        return 0;
    }
    return dc_h5seg_write_slice(seg, h, s, k, buf, err, errlen);
}

static void with_pixels(dc_worker *w, const dc_config *cfg, const dc_batch *b, const dc_scan *s,
                        dc_h5seg *seg, int h, dc_scan_result *res)
{
    char err[DC_ERRLEN];
    size_t slice_bytes = (size_t)s->rows * s->cols * (s->samples ? s->samples : 1) *
                         (size_t)dc_dtype_size(s->dtype);
    /* compressed datasets are written collectively later: keep every frame */
    int keep = dc_h5seg_is_collective(seg, h);
    if (keep) res->frames = dc_malloc(slice_bytes * (s->n_slices ? s->n_slices : 1));
    if (slice_bytes > w->slice_cap) {
        free(w->slice);
        w->slice = dc_malloc(slice_bytes);
        w->slice_cap = slice_bytes;
    }
    uint32_t open_rec = UINT32_MAX;
    int have_row = 0;
    for (uint32_t k = 0; k < s->n_slices; k++) {
        if (dc_stop_poll()) { /* stop requested: leave the scan to the next run */
            res->abandoned = 1;
            return;
        }
        uint32_t ri = s->slice_rec[k];
        const dc_record *rec = &b->recs[ri];
        const char *path = b->paths[ri];
        if (ri != open_rec) {
            if (open_file(w, path, 1, err, sizeof err) != 0) {
                fail(res, err, path);
                return;
            }
            if (!same_image(&w->ds, rec)) {
                fail(res, "file changed during the crawl", path);
                return;
            }
            open_rec = ri;
            dc_tiles_invalidate(); /* a mosaic's decoded frame is kept while its file is open */
            res->bytes_in += rec->file_size;
            if (ri == s->first_rec) {
                flatten_row(w, s, res);
                have_row = 1;
            }
        }
        dc_pixel_desc pd;
        dc_pixel_desc_from_record(rec, &pd);
        double slope, icpt;
        slice_rescale(cfg, s, k, &slope, &icpt);
        uint32_t grid = rec->vendor.tiling ? rec->vendor.tiling->grid : 0; /* a mosaic: slice = tile */
        if (!keep && !grid && copy_raw(w, seg, h, s, &pd, k, slice_bytes) == 0) {
            res->bytes_out += slice_bytes;
            continue;
        }
        void *dst = keep ? (char *)res->frames + (size_t)k * slice_bytes : w->slice;
        if ((grid ? dc_decode_tile(&w->ds, &pd, grid, 0, s->slice_frame[k], s->dtype, slope, icpt, dst,
                                   err, sizeof err)
                  : dc_decode_frames(&w->ds, &pd, s->slice_frame[k], 1, s->dtype, slope, icpt, dst,
                                     err, sizeof err)) != 0) {
            fail(res, err, path);
            return;
        }
        if (!keep && write_slice(w, seg, h, s, k, dst, slice_bytes, err, sizeof err) != 0) {
            fail(res, err, path);
            return;
        }
        res->bytes_out += slice_bytes;
    }
    dc_dataset_close_file(&w->ds);
    if (!have_row) {
        if (open_file(w, b->paths[s->first_rec], 0, err, sizeof err) != 0) {
            fail(res, err, b->paths[s->first_rec]);
            return;
        }
        flatten_row(w, s, res);
    }
    res->stored = 1;
}

void dc_process_scan(dc_worker *w, const dc_config *cfg, const dc_batch *b, size_t i, dc_h5seg *seg,
                     int h, dc_scan_result *res)
{
    const dc_scan *s = &b->scans[i];
    memset(res, 0, sizeof *res);
    dc_row_init(&res->row);
    if (s->unreadable) {
        const char *ex = s->example_rec != UINT32_MAX ? b->paths[s->example_rec] : b->source_folder[i];
        fail(res, s->reason ? s->reason : "unreadable", ex);
        return;
    }
    if (!cfg->write_pixeldata || !seg)
        metadata_only(w, b, s, res);
    else
        with_pixels(w, cfg, b, s, seg, h, res);
    close_raw(w);
    dc_dataset_close_file(&w->ds);
}

/* ---- a metadata-only window's rows, formatted before its batches ---- */

size_t dc_worker_compact_rows(const dc_worker *w, const uint64_t *idx, size_t n, const dc_row **out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (idx[i] < w->kept_first || idx[i] - w->kept_first >= w->n_kept) continue;
        size_t at = (size_t)(idx[i] - w->kept_first);
        if (w->kept[at].cols && !w->kept_len[at]) out[k++] = &w->kept[at];
    }
    return k;
}

size_t dc_worker_format_kept(dc_worker *w, const dc_colset *cols, const uint64_t *idx, size_t n)
{
    w->cols = cols;
    if (!cols->n) return 0;
    if (!w->kept_names.n) set_kept_names(w, cols);
    if (!names_match(w, cols)) return 0; /* texts for an older header: the batches format */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (idx[i] < w->kept_first || idx[i] - w->kept_first >= w->n_kept) continue;
        size_t at = (size_t)(idx[i] - w->kept_first);
        if (!w->kept[at].cols || w->kept_len[at]) continue;
        size_t mark = w->kept_text.len;
        if (dc_csv_format_values(cols, &w->kept[at], &w->kept_text) != 0 ||
            w->kept_text.len - mark > UINT32_MAX) {
            w->kept_text.len = mark; /* stays a row */
            continue;
        }
        w->kept_off[at] = mark;
        w->kept_len[at] = (uint32_t)(w->kept_text.len - mark);
        dc_row_free(&w->kept[at]);
        dc_row_init(&w->kept[at]);
        k++;
    }
    return k;
}
