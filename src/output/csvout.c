/*
 * csvout.c - the metadata and unreadable CSVs, written by all ranks with
 * collective MPI-IO at computed offsets (see dc_csvout.h).
 *
 * Pieces: header column union across ranks (pack/allgather/unpack), atomic
 * rewrite of a CSV with a wider header or without some rows (rank 0,
 * streaming), and the collective append.
 */
#include "dc_csvout.h"
#include "dc_hints.h"
#include "dc_hook.h"
#include "dc_mpi.h"
#include "dc_wire.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void dc_csvout_init(dc_csvout *c, const char *path, int is_meta)
{
    memset(c, 0, sizeof *c);
    c->path = dc_strdup(path);
    c->is_meta = is_meta;
    c->writeback_fd = -1;
    dc_colset_init(&c->cols);
}

void dc_csvout_free(dc_csvout *c)
{
    free(c->path);
    dc_colset_free(&c->cols);
    memset(c, 0, sizeof *c);
}

void dc_csvout_header(const dc_csvout *c, dc_buf *out)
{
    if (c->is_meta)
        dc_csv_format_header(&c->cols, out);
    else
        dc_buf_puts(out, DC_UNREADABLE_HEADER);
}

/* ---- column packing (dc_wire.h): name NUL, depth, path[depth] ---- */

static void pack_column(dc_buf *b, const dc_column *col)
{
    dc_wire_put_cstr(b, col->name);
    dc_wire_put_u(b, col->depth, 1);
    dc_wire_put_u32s(b, col->path, col->depth);
}

/* col->name points into the packed bytes (valid while they are) */
static int unpack_column(const char **p, const char *end, dc_column *col)
{
    const char *nul = memchr(*p, '\0', (size_t)(end - *p));
    if (!nul) return -1;
    col->name = (char *)*p;
    dc_wire_rd r = dc_wire_reader(nul + 1, end);
    col->depth = (uint8_t)dc_wire_get_u(&r, 1);
    if (r.bad || col->depth > DC_MAX_PATH_DEPTH) return -1;
    dc_wire_get_u32s(&r, col->path, col->depth);
    if (r.bad) return -1;
    *p = (const char *)r.p;
    return 0;
}

/* Add a column met in this run, keyed by its name (colkey.c) like the
 * columns of a header read back from a file, so that the order depends on
 * the names alone, not on which file or run met a column first. */
static int colset_merge(dc_colset *cs, const dc_column *col)
{
    if (dc_colset_find(cs, col->name) >= 0) return 0;
    dc_column keyed;
    dc_column_key_from_name(col->name, &keyed);
    keyed.name = col->name;
    return dc_colset_add(cs, &keyed);
}

/* New header = existing columns in their order, with the fresh columns
 * (sorted) inserted before the first existing column that sorts after them.
 * Existing columns are never reordered: a file written earlier (by us or by
 * the old crawler, whose column keys may be only approximately known from
 * their names) keeps its order. */
static void merge_into(dc_colset *cols, dc_colset *fresh)
{
    dc_colset_sort(fresh);
    dc_colset out;
    dc_colset_init(&out);
    size_t j = 0;
    for (size_t i = 0; i < cols->n; i++) {
        while (j < fresh->n && dc_column_cmp(&fresh->cols[j], &cols->cols[i]) < 0)
            dc_colset_add(&out, &fresh->cols[j++]);
        dc_colset_add(&out, &cols->cols[i]);
    }
    while (j < fresh->n) dc_colset_add(&out, &fresh->cols[j++]);
    dc_colset_free(cols);
    *cols = out;
}

static void allgather_bytes(MPI_Comm comm, const dc_buf *mine, char **all, size_t *all_len)
{
    uint64_t total = 0;
    dc_gather_bytes(comm, mine->data ? mine->data : "", mine->len, all, &total);
    MPI_Bcast(&total, 1, MPI_UINT64_T, 0, comm);
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rank != 0) *all = dc_malloc((size_t)total + 1);
    dc_bcast_bytes(comm, *all, total);
    *all_len = (size_t)total;
}

static int keep_all(const dc_strvec *fields, void *ctx)
{
    (void)fields;
    (void)ctx;
    return 1;
}

int dc_csvout_widen(MPI_Comm comm, dc_csvout *c, const dc_row *const *rows, size_t n_rows,
                    char *err, size_t errlen)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    dc_colset fresh;
    dc_colset_init(&fresh);
    for (size_t r = 0; r < n_rows; r++)
        for (size_t i = 0; i < rows[r]->n; i++)
            if (dc_colset_find(&c->cols, rows[r]->cols[i].name) < 0)
                colset_merge(&fresh, &rows[r]->cols[i]);
    dc_buf mine;
    dc_buf_init(&mine);
    for (size_t i = 0; i < fresh.n; i++) pack_column(&mine, &fresh.cols[i]);
    dc_colset_free(&fresh);

    char *all;
    size_t all_len;
    allgather_bytes(comm, &mine, &all, &all_len);
    dc_buf_free(&mine);
    int bad = 0;
    dc_colset_init(&fresh);
    for (const char *p = all, *end = all + all_len; p < end;) {
        dc_column col;
        if (unpack_column(&p, end, &col) != 0) {
            bad = 1;
            break;
        }
        colset_merge(&fresh, &col);
    }
    free(all);
    if (bad) {
        dc_colset_free(&fresh);
        snprintf(err, errlen, "%s: internal error exchanging columns", c->path);
        return -1;
    }
    if (!fresh.n) {
        dc_colset_free(&fresh);
        return 0;
    }
    merge_into(&c->cols, &fresh);
    dc_colset_free(&fresh);
    /* the rewrite reads the rows appended so far: every one of them there */
    int rc = dc_csvout_sync(comm, c, err, errlen);
    if (rc != 0) return -1;
    dc_csvout_close(comm, c); /* the rewrite replaces the file */
    if (rank == 0 && c->size > 0) rc = dc_csvout_rewrite(c, keep_all, NULL, err, errlen);
    rc = dc_agree_rank0(comm, rc);
    uint64_t size = c->size;
    MPI_Bcast(&size, 1, MPI_UINT64_T, 0, comm);
    c->size = size;
    if (rc != 0 && rank != 0) snprintf(err, errlen, "%s: rewrite with new columns failed", c->path);
    return rc;
}

/* ---- rewrite (rank 0) ---- */

/* Write all of buf to fd */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Map the fields of one old record (old header names -> new positions) */
static void remap_record(const dc_csvout *c, const long *map, size_t n_old, const dc_strvec *f,
                         dc_buf *out)
{
    size_t n_new = c->is_meta ? DC_META_FIXED_COLS + c->cols.n : 4;
    const char **vals = dc_calloc(n_new, sizeof(char *));
    for (size_t i = 0; i < f->n && i < n_old; i++)
        if (map[i] >= 0) vals[map[i]] = f->v[i];
    for (size_t i = 0; i < n_new; i++) {
        if (i) dc_buf_putc(out, ',');
        if (vals[i]) dc_csv_field(out, vals[i]);
    }
    dc_buf_putc(out, '\n');
    free(vals);
}

static long *header_map(const dc_csvout *c, const dc_strvec *old)
{
    long *map = dc_malloc(sizeof(long) * (old->n ? old->n : 1));
    for (size_t i = 0; i < old->n; i++) {
        if (!c->is_meta) {
            map[i] = i < 4 ? (long)i : -1;
        } else if (i < DC_META_FIXED_COLS) {
            map[i] = (long)i;
        } else {
            long j = dc_colset_find(&c->cols, old->v[i]);
            map[i] = j < 0 ? -1 : j + DC_META_FIXED_COLS;
        }
    }
    return map;
}

void dc_csvout_header_fields(const dc_csvout *c, dc_strvec *out)
{
    dc_strvec_push(out, "Scan ID");
    dc_strvec_push(out, "No. DICOMs in scan");
    for (size_t i = 0; i < c->cols.n; i++) dc_strvec_push(out, c->cols.cols[i].name);
}

int dc_csvout_remap_rows(const dc_csvout *c, const dc_strvec *old_header, dc_buf *const *texts,
                         size_t n)
{
    long *map = header_map(c, old_header);
    dc_strvec f;
    dc_strvec_init(&f);
    int rc = 0;
    for (size_t r = 0; r < n; r++) {
        for (size_t i = 0; i < f.n; i++) free(f.v[i]);
        f.n = 0;
        if (!texts[r]->len) continue;
        long used = dc_csv_parse_record(texts[r]->data, texts[r]->len, &f);
        if (used <= 0 || (size_t)used != texts[r]->len) {
            rc = -1;
            continue;
        }
        dc_buf out;
        dc_buf_init(&out);
        remap_record(c, map, old_header->n, &f, &out);
        dc_buf_free(texts[r]);
        *texts[r] = out;
    }
    dc_strvec_free(&f);
    free(map);
    return rc;
}

void dc_csvout_close(MPI_Comm comm, dc_csvout *c)
{
    if (!c->open) return;
    if (c->unsynced) { /* MPI_File_close need not fsync */
        char err[DC_ERRLEN];
        dc_csvout_sync(comm, c, err, sizeof err);
    }
    MPI_File_close(&c->fh);
    c->open = 0;
    if (c->writeback_fd >= 0) close(c->writeback_fd);
    c->writeback_fd = -1;
}

/* err: the rows did not all reach the file (a full disk says how full) */
static void rows_failed(const dc_csvout *c, char *err, size_t errlen)
{
    char note[80];
    dc_free_space_note(c->path, note, sizeof note);
    snprintf(err, errlen, "%s: writing rows failed%s", c->path, note);
}

/* Start writing bytes [from, to) of the open file back to disk, without
 * waiting: by the checkpoint's sync most of them are there.  Best effort
 * (a file system without sync_file_range loses only the head start). */
static void start_writeback(dc_csvout *c, uint64_t from, uint64_t to)
{
    if (c->writeback_fd < 0 || to <= from) return;
    (void)sync_file_range(c->writeback_fd, (off64_t)from, (off64_t)(to - from), SYNC_FILE_RANGE_WRITE);
}

int dc_csvout_sync(MPI_Comm comm, dc_csvout *c, char *err, size_t errlen)
{
    if (!c->unsynced) return 0;
    int rc = c->open ? MPI_File_sync(c->fh) : MPI_SUCCESS;
    /* Open MPI 4.1 does not report a short write (full disk) from a
     * collective write: the file must have reached the end of the rows */
    MPI_Offset size = 0;
    if (rc == MPI_SUCCESS && c->open &&
        (MPI_File_get_size(c->fh, &size) != MPI_SUCCESS || (uint64_t)size < c->size))
        rc = MPI_ERR_IO;
    int all = dc_agree_all(comm, rc == MPI_SUCCESS ? 0 : -1);
    c->unsynced = 0;
    if (all != 0) rows_failed(c, err, errlen);
    return all;
}

int dc_csvout_rewrite(dc_csvout *c, dc_csv_keep_fn keep, void *ctx, char *err, size_t errlen)
{
    assert(!c->open);
    int in = open(c->path, O_RDONLY);
    if (in < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", c->path, strerror(errno));
        return -1;
    }
    char *tmp = dc_asprintf("%s.tmp", c->path);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        close(in);
        free(tmp);
        return -1;
    }
    dc_buf inbuf, outbuf;
    dc_buf_init(&inbuf);
    dc_buf_init(&outbuf);
    dc_csvout_header(c, &outbuf);
    uint64_t written = 0;
    dc_strvec f, oldhdr;
    dc_strvec_init(&f);
    dc_strvec_init(&oldhdr);
    long *map = NULL;
    size_t pos = 0;
    int rc = 0, eof = 0;
    while (rc == 0) {
        if (pos > 0 && pos * 2 > inbuf.len) { /* compact */
            memmove(inbuf.data, inbuf.data + pos, inbuf.len - pos);
            inbuf.len -= pos;
            pos = 0;
        }
        long used = 0;
        if (inbuf.len > pos) {
            for (size_t i = 0; i < f.n; i++) free(f.v[i]);
            f.n = 0;
            used = dc_csv_parse_record(inbuf.data + pos, inbuf.len - pos, &f);
        }
        if (used < 0) break; /* invalid bytes: the rest is a torn tail, drop it */
        if (used == 0) {
            if (eof) break; /* incomplete last record: drop it */
            dc_buf_reserve(&inbuf, 1 << 20);
            ssize_t r = read(in, inbuf.data + inbuf.len, inbuf.cap - inbuf.len - 1);
            if (r < 0) {
                snprintf(err, errlen, "%s: read failed: %s", c->path, strerror(errno));
                rc = -1;
            } else if (r == 0) {
                eof = 1;
            } else {
                inbuf.len += (size_t)r;
            }
            continue;
        }
        pos += (size_t)used;
        if (!map) {
            for (size_t i = 0; i < f.n; i++) dc_strvec_push(&oldhdr, f.v[i]);
            map = header_map(c, &oldhdr);
            continue;
        }
        if (keep(&f, ctx)) remap_record(c, map, oldhdr.n, &f, &outbuf);
        if (outbuf.len > (1 << 20)) {
            if (write_all(out, outbuf.data, outbuf.len) != 0) rc = -1;
            written += outbuf.len;
            dc_buf_reset(&outbuf);
        }
    }
    if (rc == 0 && write_all(out, outbuf.data, outbuf.len) != 0) rc = -1;
    written += outbuf.len;
    if (rc == 0 && fsync(out) != 0) rc = -1;
    if (close(out) != 0) rc = -1;
    close(in);
    if (rc == 0) dc_hook("rewrite");
    if (rc == 0 && rename(tmp, c->path) != 0) rc = -1;
    if (rc == 0) {
        dc_fsync_dir_of(c->path);
        c->size = written;
    } else {
        if (!err[0]) snprintf(err, errlen, "%s: rewrite failed: %s", c->path, strerror(errno));
        unlink(tmp);
    }
    free(map);
    dc_strvec_free(&f);
    dc_strvec_free(&oldhdr);
    dc_buf_free(&inbuf);
    dc_buf_free(&outbuf);
    free(tmp);
    return rc;
}

/* ---- share state ---- */

void dc_csvout_bcast(MPI_Comm comm, dc_csvout *c)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    dc_buf b;
    dc_buf_init(&b);
    if (rank == 0)
        for (size_t i = 0; i < c->cols.n; i++) pack_column(&b, &c->cols.cols[i]);
    uint64_t hdr[2] = {c->size, b.len};
    MPI_Bcast(hdr, 2, MPI_UINT64_T, 0, comm);
    c->size = hdr[0];
    if (rank != 0) {
        dc_buf_reserve(&b, hdr[1]);
        b.len = hdr[1];
    }
    dc_bcast_bytes(comm, b.data, hdr[1]);
    if (rank != 0) {
        dc_colset_free(&c->cols);
        dc_colset_init(&c->cols);
        for (const char *p = b.data, *end = b.data + b.len; p && p < end;) {
            dc_column col;
            if (unpack_column(&p, end, &col) != 0) break;
            dc_colset_add(&c->cols, &col); /* keeps rank 0's (the file's) order */
        }
    }
    dc_buf_free(&b);
}

/* ---- collective append ---- */

/* MPI_File_write_all of head_len bytes at head, then len bytes at buf, in
 * pieces below INT_MAX: every rank calls it as often as the rank with the
 * most pieces (the others with nothing); each call continues where the
 * previous left in the rank's view */
static int write_all_pieces(MPI_Comm comm, MPI_File fh, const char *head, uint64_t head_len,
                            const char *buf, uint64_t len)
{
    uint64_t nh = dc_mpi_pieces(head_len, DC_MPI_PIECE), n = nh + dc_mpi_pieces(len, DC_MPI_PIECE);
    MPI_Allreduce(MPI_IN_PLACE, &n, 1, MPI_UINT64_T, MPI_MAX, comm);
    int rc = MPI_SUCCESS;
    for (uint64_t i = 0; i < n; i++) {
        MPI_Status st;
        const char *from = i < nh ? head : buf;
        uint64_t k = i < nh ? i : i - nh;
        int piece = dc_mpi_piece_len(i < nh ? head_len : len, DC_MPI_PIECE, k);
        int r = MPI_File_write_all(fh, piece ? from + k * DC_MPI_PIECE : "", piece, MPI_BYTE, &st);
        if (r != MPI_SUCCESS) rc = r;
    }
    return rc;
}

/* The start of this rank's rows when they already lie in memory as the file
 * wants them: positions ascending, each text right after the previous one
 * (a checkpoint's held rows: one buffer, dc_heldrows.h); NULL otherwise.
 * Then the append writes them from there (after the header, on rank 0 of
 * a new file) instead of copying them (a window's ~14 MB per rank) into a
 * buffer of its own. */
static const char *rows_in_place(const dc_buf *texts, const uint32_t *pos, size_t n)
{
    if (n == 0 || !texts[0].data) return NULL;
    for (size_t i = 1; i < n; i++)
        if (pos[i] <= pos[i - 1] || texts[i].data != texts[i - 1].data + texts[i - 1].len)
            return NULL;
    return texts[0].data;
}

int dc_csvout_append(MPI_Comm comm, dc_csvout *c, size_t n_total, const uint32_t *pos,
                     const dc_buf *texts, size_t n_mine, char *err, size_t errlen)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    /* every rank learns every row's length */
    uint64_t *len = dc_calloc(n_total + 1, sizeof(uint64_t));
    for (size_t i = 0; i < n_mine; i++) len[pos[i]] = texts[i].len;
    /* n_total: scans of one checkpoint, below commit_every (run.commit_every or, in
     * metadata-only runs, run.window_files: <= 1e9, config.c) plus one batch (<= 65,536) */
    MPI_Allreduce(MPI_IN_PLACE, len, (int)n_total, MPI_UINT64_T, MPI_SUM, comm);
    uint64_t total = 0;
    for (size_t i = 0; i < n_total; i++) total += len[i];

    dc_buf header;
    dc_buf_init(&header);
    if (c->size == 0) dc_csvout_header(c, &header);
    if (total == 0 && header.len == 0) {
        free(len);
        return 0;
    }
    uint64_t base = c->size + header.len;
    uint64_t *off = dc_malloc(sizeof(uint64_t) * (n_total + 1));
    uint64_t o = base;
    for (size_t i = 0; i < n_total; i++) {
        off[i] = o;
        o += len[i];
    }

    /* this rank's blocks: its rows (and the header on rank 0) */
    size_t nb = n_mine + (rank == 0 && header.len ? 1 : 0);
    int *bl = dc_malloc(sizeof(int) * (nb ? nb : 1));
    MPI_Aint *disp = dc_malloc(sizeof(MPI_Aint) * (nb ? nb : 1));
    dc_buf data;
    dc_buf_init(&data);
    const char *src = rows_in_place(texts, pos, n_mine);
    size_t head_len = rank == 0 ? header.len : 0, rows_bytes = 0;
    for (size_t i = 0; i < n_mine; i++) rows_bytes += texts[i].len;
    if (!src) dc_buf_reserve(&data, head_len + rows_bytes); /* one allocation, no regrowth copies */
    size_t k = 0;
    if (head_len) {
        bl[k] = (int)header.len;
        disp[k++] = (MPI_Aint)c->size;
        if (!src) dc_buf_append(&data, header.data, header.len);
    }
    /* blocks must be in increasing offset order: sort my rows by position */
    uint32_t *order = dc_malloc(sizeof(uint32_t) * (n_mine ? n_mine : 1));
    for (size_t i = 0; i < n_mine; i++) order[i] = (uint32_t)i;
    for (size_t i = 1; i < n_mine && !src; i++) /* insertion sort: batches are small */
        for (size_t j = i; j > 0 && pos[order[j - 1]] > pos[order[j]]; j--) {
            uint32_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (size_t i = 0; i < n_mine; i++) {
        const dc_buf *t = &texts[order[i]];
        if (!t->len) continue;
        MPI_Aint at = (MPI_Aint)off[pos[order[i]]];
        if (!src) dc_buf_append(&data, t->data, t->len);
        if (k && disp[k - 1] + bl[k - 1] == at && (uint64_t)bl[k - 1] + t->len <= INT_MAX) {
            bl[k - 1] += (int)t->len; /* rows next to each other: one block */
            continue;
        }
        bl[k] = (int)t->len;
        disp[k++] = at;
    }
    free(order);

    dc_hook("rows");
    int rc = MPI_SUCCESS;
    if (!c->open) {
        rc = MPI_File_open(comm, c->path, MPI_MODE_WRONLY | MPI_MODE_CREATE, dc_hints(), &c->fh);
        c->open = rc == MPI_SUCCESS;
        if (c->open) dc_hints_log(c->fh, c->path);
        if (c->open) c->writeback_fd = open(c->path, O_RDONLY | O_CLOEXEC);
    }
    MPI_File fh = c->fh;
    if (rc == MPI_SUCCESS) {
        MPI_Datatype ft;
        MPI_Type_create_hindexed((int)k, bl, disp, MPI_BYTE, &ft);
        MPI_Type_commit(&ft);
        MPI_File_set_view(fh, 0, MPI_BYTE, k ? ft : MPI_BYTE, "native", MPI_INFO_NULL);
        if (src) /* the header (rank 0 of a new file), then the rows where they lie */
            rc = write_all_pieces(comm, fh, header.data, head_len, src, rows_bytes);
        else
            rc = write_all_pieces(comm, fh, NULL, 0, data.data ? data.data : "", data.len);
        MPI_Type_free(&ft);
    }
    int all = dc_agree_all(comm, rc == MPI_SUCCESS ? 0 : -1);
    if (all != 0) { /* reopened by the next append, if any */
        c->unsynced = 0; /* nothing to make durable: the run fails */
        dc_csvout_close(comm, c);
    }
    if (all == 0) {
        start_writeback(c, c->size, o);
        c->size = o;
        c->unsynced = 1;
        if (rank == 0 && header.len) dc_fsync_dir_of(c->path);
    } else {
        rows_failed(c, err, errlen);
    }
    dc_buf_free(&header);
    dc_buf_free(&data);
    free(bl);
    free(disp);
    free(off);
    free(len);
    return all;
}

/* ---- csv_style of an existing file (rank 0, before anything is written) ---- */

/* The header record of the CSV at path into fields; 1 when read, 0 when
 * there is no file or no complete header, -1 on a read error (err). */
static int read_header(const char *path, dc_strvec *fields, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    dc_buf in;
    dc_buf_init(&in);
    long used = 0;
    for (;;) {
        dc_buf_reserve(&in, 1 << 16);
        ssize_t r = read(fd, in.data + in.len, in.cap - in.len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: read failed: %s", path, strerror(errno));
            used = -2;
            break;
        }
        in.len += (size_t)r;
        used = dc_csv_parse_record(in.data, in.len, fields);
        if (used != 0 || r == 0 || in.len > (256u << 20)) break;
        for (size_t i = 0; i < fields->n; i++) free(fields->v[i]);
        fields->n = 0;
    }
    close(fd);
    dc_buf_free(&in);
    return used == -2 ? -1 : used > 0;
}

static const char *const STYLE_NAMES[] = {"seed", "dicom"};

/* rank 0: the style to use, or -1 with err */
static int choose_style(const char *path, int style, int given, char *err, size_t errlen)
{
    dc_strvec f;
    dc_strvec_init(&f);
    int rc = read_header(path, &f, err, errlen);
    int on_disk = rc == 1 ? dc_header_style((const char *const *)f.v, f.n) : -1;
    dc_strvec_free(&f);
    if (rc < 0) return -1;
    if (on_disk < 0 || on_disk == style) return style;
    if (given) {
        snprintf(err, errlen,
                 "%s: its columns are named in csv_style %s, but output.csv_style: %s is asked; "
                 "appending would name tags twice: leave output.csv_style out (the file's style "
                 "%s is used), or choose another output.id or output.folder",
                 path, STYLE_NAMES[on_disk], STYLE_NAMES[style], STYLE_NAMES[on_disk]);
        return -1;
    }
    dc_warn("%s: appending with its own column names (output.csv_style %s, not the default %s)",
            path, STYLE_NAMES[on_disk], STYLE_NAMES[style]);
    return on_disk;
}

int dc_csvout_settle_style(MPI_Comm comm, const char *path, int style, int given, char *err,
                           size_t errlen)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    int chosen = rank == 0 ? choose_style(path, style, given, err, errlen) : 0;
    MPI_Bcast(&chosen, 1, MPI_INT, 0, comm);
    if (chosen < 0) return -1;
    dc_flatten_set_style(chosen);
    return 0;
}
