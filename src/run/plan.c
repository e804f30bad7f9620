/*
 * plan.c - the MPI shape of a run: header pass, gathering records on rank 0,
 * batches of scans with owners, broadcasting batches.  See dc_plan.h.
 */
#include "dc_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_dicom.h"
#include "dc_mpi.h"
#include "dc_prefetch.h"
#include "dc_wire.h"
#include "dc_process.h"
#include "dc_stop.h"

/* ------------------------------------------------------------------ */
/* header pass                                                          */

/* rank 0: the block of files for each rank, packed */
static void pack_blocks(const dc_filelist *fl, int nranks, dc_buf *out, uint64_t *offs,
                        uint64_t *lens)
{
    size_t n = fl->n;
    for (int r = 0; r < nranks; r++) {
        size_t lo = n * (size_t)r / (size_t)nranks, hi = n * (size_t)(r + 1) / (size_t)nranks;
        offs[r] = out->len;
        for (size_t i = lo; i < hi; i++) {
            dc_wire_put_u(out, (uint32_t)i, 4);
            dc_wire_put_u(out, fl->files[i].scope, 4);
            dc_wire_put_cstr(out, fl->files[i].path);
        }
        lens[r] = out->len - offs[r];
    }
}

/* a rank's block of the header pass: window file numbers, scopes, paths */
typedef struct {
    uint32_t *idx, *scope;
    char **paths;
    size_t n;
} my_block;

static void unpack_block(const char *p, uint64_t len, my_block *b)
{
    size_t cap = 0;
    memset(b, 0, sizeof *b);
    for (dc_wire_rd rd = dc_wire_reader(p, p + len); rd.p < rd.end;) {
        uint32_t idx = (uint32_t)dc_wire_get_u(&rd, 4), scope = (uint32_t)dc_wire_get_u(&rd, 4);
        char *path = dc_wire_get_cstr(&rd);
        if (rd.bad) {
            free(path);
            break;
        }
        if (b->n == cap) {
            cap = cap ? cap * 2 : 256;
            b->idx = dc_realloc(b->idx, cap * sizeof *b->idx);
            b->scope = dc_realloc(b->scope, cap * sizeof *b->scope);
            b->paths = dc_realloc(b->paths, cap * sizeof *b->paths);
        }
        b->idx[b->n] = idx;
        b->scope[b->n] = scope;
        b->paths[b->n++] = path;
    }
}

static void free_block(my_block *b)
{
    for (size_t i = 0; i < b->n; i++) free(b->paths[i]);
    free(b->idx);
    free(b->scope);
    free(b->paths);
}

/* Parse one file into a record (in: the file opened ahead, or fd -1). */
static void read_one(const dc_input *in, const char *path, uint32_t idx, uint32_t scope, dc_dataset *ds,
                     const dc_parse_opts *po, dc_record *rec, dc_header_stats *st, dc_worker *keep)
{
    char err[DC_ERRLEN] = "";
    dc_record_init(rec);
    rec->file_idx = idx;
    rec->scope = scope;
    dc_dataset_clear(ds);
    int rc = dc_parse_input(in, path, po, ds, err, sizeof err); /* fd -1: opens path */
    /* the folder ledger signs the folder with this fstat, taken before the
     * first byte was read (a later change makes the next resume read it) */
    dc_file_stat first_stat = ds->stat;
    st->header_bytes += ds->bytes_read;
    int row_ok = keep != NULL;
    if (rc == DC_PARSE_ERROR && po->walk_fragments) {
        /* the fragments (walked for the row, as the owner's parse would)
         * are broken: parse as the header pass always does; the owner
         * reads the file again and reports what is wrong */
        dc_parse_opts plain = *po;
        plain.walk_fragments = 0;
        row_ok = 0;
        err[0] = '\0';
        dc_dataset_clear(ds);
        rc = dc_parse_file(path, &plain, ds, err, sizeof err);
        st->header_bytes += ds->bytes_read;
    }
    if (rc == DC_PARSE_NOT_DICOM) {
        rec->kind = DC_FILE_NOT_DICOM;
        st->not_dicom++;
    } else if (rc != DC_PARSE_OK && !strcmp(ds->media_sop_class, DC_MEDIA_DIRECTORY_CLASS)) {
        /* the file meta parsed and says Media Storage Directory: a DICOMDIR whose
         * records are corrupt (e.g. an item longer than the file) is skipped like any
         * other DICOMDIR, not reported unreadable */
        rec->kind = DC_FILE_DICOMDIR;
        st->dicomdir++;
        dc_debug("%s: DICOMDIR skipped (%s)", path, err[0] ? err : "unreadable records");
    } else if (rc != DC_PARSE_OK) {
        rec->kind = DC_FILE_BAD;
        /* the reason is cut to its field on purpose */
        snprintf(rec->reason, sizeof rec->reason, "%.*s", (int)sizeof rec->reason - 1,
                 err[0] ? err : "unreadable header");
        st->bad++;
        dc_debug("%s: %s", path, rec->reason);
    } else {
        dc_record_from_dataset(ds, rec);
        rec->file_idx = idx;
        rec->scope = scope;
        if (rec->kind == DC_FILE_DICOMDIR) st->dicomdir++;
        if (row_ok && rec->kind == DC_FILE_DICOM) dc_worker_keep_row(keep, idx, ds);
    }
    rec->stat = first_stat;
}

/* a record whose every field is plain data: its pack/unpack round trip is a
 * copy (the pointer fields would be bounded or normalised on the way) */
static int record_is_plain(const dc_record *r)
{
    const dc_vendor_vals *v = &r->vendor;
    return !r->frame_geom && !r->n_frame_geom && !r->palette && !r->refs && !v->tiling && !v->note &&
           !v->frames && !v->n_frames;
}

/* Rank 0's own record of the window, straight into the window's array
 * (its block is the window's first files, so it needs no gathering and no
 * unpacking while the other ranks wait); the same record as the others'
 * after their round trip through the wire: other records go through it
 * here too (scratch: a reused buffer). */
static void keep_own_record(dc_record *rec, dc_record *dst, dc_buf *scratch)
{
    if (record_is_plain(rec)) {
        *dst = *rec;
        return;
    }
    scratch->len = 0;
    dc_record_pack(rec, scratch);
    dc_record_free(rec);
    const char *p = scratch->data;
    if (dc_record_unpack(&p, scratch->data + scratch->len, dst) != 0) dc_record_init(dst); /* cannot happen */
}

int dc_header_pass(MPI_Comm comm, const dc_config *cfg, const dc_filelist *fl,
                   dc_record **recs, size_t *n, dc_header_stats *stats, dc_worker *keep)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    double t0 = dc_now();
    (void)cfg;

    /* scatter the file list in contiguous blocks */
    dc_buf all;
    dc_buf_init(&all);
    uint64_t *offs = dc_calloc((size_t)nranks, sizeof(uint64_t));
    uint64_t *lens = dc_calloc((size_t)nranks, sizeof(uint64_t));
    if (rank == 0) pack_blocks(fl, nranks, &all, offs, lens);
    char *mine = NULL;
    uint64_t mine_len = 0;
    dc_scatter_bytes(comm, all.data, offs, lens, &mine, &mine_len);
    dc_buf_free(&all);
    free(offs);
    free(lens);

    /* parse my block */
    dc_header_stats st;
    memset(&st, 0, sizeof st);
    dc_parse_opts po;
    dc_parse_opts_default(&po);
    po.walk_fragments = keep != NULL; /* the row's parse: elements after encapsulated pixels */
    dc_dataset ds;
    dc_dataset_init(&ds);
    dc_buf out;
    dc_buf_init(&out);
    my_block blk;
    unpack_block(mine, mine_len, &blk);
    dc_prefetch *pf = dc_prefetch_start(blk.paths, blk.n, dc_prefetch_depth());
    /* rank 0: the window's records, its own block first (keep_own_record) */
    size_t cap = fl->n ? fl->n : 1, n_own = 0;
    dc_record *r = rank == 0 ? dc_calloc(cap, sizeof *r) : NULL;
    dc_buf scratch;
    dc_buf_init(&scratch);
    int stopped = 0;
    for (size_t i = 0; i < blk.n; i++) {
        if (((i + 1) & 63) == 0 && dc_stop_poll()) {
            stopped = 1;
            break;
        }
        dc_record rec;
        dc_input in;
        dc_prefetch_take(pf, i, &in);
        read_one(&in, blk.paths[i], blk.idx[i], blk.scope[i], &ds, &po, &rec,
                 &st, keep);
        st.files_seen++;
        if (r && n_own < cap) {
            keep_own_record(&rec, &r[n_own++], &scratch);
            continue;
        }
        dc_record_pack(&rec, &out);
        dc_record_free(&rec);
    }
    dc_buf_free(&scratch);
    dc_prefetch_stop(pf);
    free_block(&blk);
    dc_dataset_free(&ds);
    free(mine);

    int any_stop = dc_stop_agree(comm, stopped); /* polls while waiting for the others */
    if (any_stop) {
        dc_buf_free(&out);
        for (size_t k = 0; k < n_own; k++) dc_record_free(&r[k]);
        free(r);
        return 1;
    }

    /* gather the other ranks' packed records on rank 0 (blocks arrive in
     * file order, after rank 0's own) */
    char *gathered = NULL;
    uint64_t total = 0;
    dc_gather_bytes(comm, out.data, out.len, &gathered, &total);
    dc_buf_free(&out);

    uint64_t sums[5] = {st.files_seen, st.not_dicom, st.dicomdir, st.bad, st.header_bytes};
    MPI_Reduce(rank == 0 ? MPI_IN_PLACE : sums, sums, 5, MPI_UINT64_T, MPI_SUM, 0, comm);
    int rc = 0;
    if (rank == 0) {
        size_t k = n_own;
        for (const char *p = gathered, *end = gathered + total; p < end && k < cap; k++)
            if (dc_record_unpack(&p, end, &r[k]) != 0) {
                rc = -1;
                break;
            }
        *recs = r;
        *n = k;
        stats->files_seen = sums[0];
        stats->not_dicom = sums[1];
        stats->dicomdir = sums[2];
        stats->bad = sums[3];
        stats->header_bytes = sums[4];
        stats->seconds = dc_now() - t0;
        if (rc != 0) dc_error("internal error: garbled header records");
    }
    free(gathered);
    return dc_agree_rank0(comm, rc);
}

/* ------------------------------------------------------------------ */
/* batches                                                              */

size_t dc_batch_cut(const dc_scan *scans, size_t n, size_t max_scans, uint64_t max_cost)
{
    size_t k = 0;
    uint64_t cost = 0;
    while (k < n && k < max_scans && cost < max_cost) cost += scans[k++].cost;
    return k;
}

void dc_batch_free(dc_batch *b)
{
    for (size_t i = 0; i < b->n_scans; i++) {
        dc_scan_free(&b->scans[i]);
        free(b->source_folder[i]);
    }
    for (size_t i = 0; i < b->n_recs; i++) {
        if (i < b->n_full) dc_record_free(&b->recs[i]);
        free(b->paths[i]);
    }
    free(b->scans);
    free(b->owner);
    free(b->source_folder);
    free(b->recs);
    free(b->paths);
    free(b->rec_file);
    dc_buf_free(&b->wire);
    memset(b, 0, sizeof *b);
}

/* The batch travels as one buffer (the wire form): index, the metadata-only
 * mark, scans (each: owner, file count, unreadable flag, Scan ID, then a
 * section with the packed scan and its source folder), then the records
 * they refer to (each a section: packed record and path).  In a
 * metadata-only batch a readable scan's section is its row form instead:
 * the window file whose kept row is the scan's row (u64) and its path, all
 * its owner reads (process.c's metadata path); no record goes with it.  Rank 0 packs it
 * once from the run's scans and records (no intermediate copies),
 * broadcasts it, and every rank, rank 0 too, unpacks the same bytes into
 * its dc_batch (rank 0 after the broadcast, at the same time as the
 * others).  In a metadata-only batch a rank skips the sections of the
 * scans it does not own and of the records only those use. */

/* global record index -> batch-local index, in order of first use */
typedef struct {
    uint32_t *map;   /* per global record, UINT32_MAX = not yet used */
    uint32_t *order; /* local -> global */
    size_t n, cap;
} rec_map;

static uint32_t local_rec(rec_map *m, uint32_t g)
{
    if (m->map[g] != UINT32_MAX) return m->map[g];
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->order = dc_realloc(m->order, m->cap * sizeof *m->order);
    }
    m->order[m->n] = g;
    m->map[g] = (uint32_t)m->n;
    return (uint32_t)m->n++;
}

/* by cost descending, then position (deterministic); largest first to the
 * least loaded rank, ties to the lowest rank */
static void assign_owners(const dc_scan *scans, size_t n, int nranks, int32_t *owner)
{
    uint32_t *ord = dc_malloc(sizeof(uint32_t) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) ord[i] = (uint32_t)i;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            const dc_scan *a = &scans[ord[j - 1]], *c = &scans[ord[j]];
            if (a->cost > c->cost || (a->cost == c->cost && ord[j - 1] < ord[j])) break;
            uint32_t t = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = t;
        }
    uint64_t *load = dc_calloc((size_t)nranks, sizeof(uint64_t));
    for (size_t i = 0; i < n; i++) {
        int best = 0;
        for (int r = 1; r < nranks; r++)
            if (load[r] < load[best]) best = r;
        owner[ord[i]] = best;
        load[best] += scans[ord[i]].cost + 4096; /* every scan costs something */
    }
    free(load);
    free(ord);
}

/* A foreign scan of a metadata-only batch: what the batch's run reads of
 * a scan another rank owns (its ID for the done-set, its file count for the
 * progress, whether it is unreadable); nothing else is unpacked. */
static void light_scan(dc_scan *s, char *scan_id, uint32_t n_files, uint32_t unreadable)
{
    s->scan_id = scan_id;
    s->n_files = n_files;
    s->unreadable = (int)unreadable;
    s->first_rec = s->example_rec = UINT32_MAX;
}

/* the row files of a metadata-only batch's own readable scans, waiting for
 * their records (appended after the batch's records) */
typedef struct {
    size_t *scan;
    uint32_t *file;
    char **path;
    size_t n;
} row_files;

/* an own readable scan of a metadata-only batch: its section in row form */
static void unpack_row_form(dc_wire_rd *sec, dc_batch *b, size_t i, row_files *rf)
{
    uint64_t file = dc_wire_get_u(sec, 8);
    char *path = dc_wire_get_cstr(sec);
    b->scans[i].first_rec = b->scans[i].example_rec = UINT32_MAX; /* set once its record exists */
    if (sec->bad || sec->p != sec->end || file > UINT32_MAX) {
        sec->bad = 1;
        free(path);
        return;
    }
    rf->scan[rf->n] = i;
    rf->file[rf->n] = (uint32_t)file;
    rf->path[rf->n++] = path;
}

/* the rest of a scan entry of the wire form (after its owner) into
 * b->scans[i]: in full unless `light` (then its section is skipped); rf
 * (metadata-only batches): a readable scan's section is in row form */
static void unpack_scan(dc_wire_rd *rd, dc_batch *b, size_t i, int light, row_files *rf)
{
    uint32_t n_files = (uint32_t)dc_wire_get_u(rd, 4);
    uint32_t unreadable = (uint32_t)dc_wire_get_u(rd, 4);
    char *scan_id = dc_wire_get_lstr(rd);
    dc_wire_rd sec = dc_wire_get_section(rd);
    if (rd->bad || !scan_id) {
        rd->bad = 1;
        free(scan_id);
        return;
    }
    if (light) {
        light_scan(&b->scans[i], scan_id, n_files, unreadable);
        return;
    }
    if (rf && !unreadable) {
        light_scan(&b->scans[i], scan_id, n_files, unreadable);
        unpack_row_form(&sec, b, i, rf);
        if (sec.bad) rd->bad = 1;
        return;
    }
    free(scan_id);
    const char *q = (const char *)sec.p;
    if (dc_scan_unpack(&q, (const char *)sec.end, &b->scans[i]) != 0) rd->bad = 1;
    sec.p = (const uint8_t *)q;
    b->source_folder[i] = dc_wire_get_cstr(&sec);
    if (sec.bad || sec.p != sec.end) rd->bad = 1;
}

/* metadata-only batches: the records this rank's scans refer to (the
 * others' are skipped); 0 or -1 on an index beyond the batch's records */
static int mark_my_records(const dc_batch *b, int rank, uint64_t nr, uint8_t *need)
{
    for (size_t i = 0; i < b->n_scans; i++) {
        const dc_scan *s = &b->scans[i];
        if (b->owner[i] != rank) continue;
        for (uint32_t k = 0; k < s->n_slices; k++) {
            if (s->slice_rec[k] >= nr) return -1;
            need[s->slice_rec[k]] = 1;
        }
        if (s->first_rec != UINT32_MAX && s->first_rec >= nr) return -1;
        if (s->example_rec != UINT32_MAX && s->example_rec >= nr) return -1;
        if (s->first_rec != UINT32_MAX) need[s->first_rec] = 1;
        if (s->example_rec != UINT32_MAX) need[s->example_rec] = 1;
    }
    return 0;
}

/* the wire form -> b (b zeroed first) as rank `rank` needs it: a batch
 * packed for a metadata-only run (`mine_only`) gives foreign scans only
 * their light fields and skips the records no scan of this rank uses
 * (dc_batch in dc_plan.h); 0 or -1 on garbage */
static int unpack_batch(const char *p, const char *end, int rank, dc_batch *b)
{
    memset(b, 0, sizeof *b);
    dc_wire_rd rd = dc_wire_reader(p, end);
    b->index = dc_wire_get_u(&rd, 8);
    int mine_only = (int)dc_wire_get_u(&rd, 4);
    uint64_t ns = dc_wire_get_u(&rd, 8);
    if (!rd.bad && ns > (uint64_t)(rd.end - rd.p)) rd.bad = 1; /* a scan takes more than a byte */
    b->scans = dc_calloc(!rd.bad && ns ? ns : 1, sizeof *b->scans);
    b->owner = dc_calloc(!rd.bad && ns ? ns : 1, sizeof *b->owner);
    b->source_folder = dc_calloc(!rd.bad && ns ? ns : 1, sizeof(char *));
    row_files rf = {NULL, NULL, NULL, 0};
    if (mine_only && !rd.bad) {
        rf.scan = dc_malloc(sizeof(size_t) * (ns ? ns : 1));
        rf.file = dc_malloc(sizeof(uint32_t) * (ns ? ns : 1));
        rf.path = dc_malloc(sizeof(char *) * (ns ? ns : 1));
    }
    for (uint64_t i = 0; i < ns && !rd.bad; i++) {
        b->owner[i] = (int32_t)dc_wire_get_u(&rd, 4);
        unpack_scan(&rd, b, i, mine_only && b->owner[i] != rank, mine_only ? &rf : NULL);
        b->n_scans = i + 1;
    }
    uint64_t nr = dc_wire_get_u(&rd, 8);
    if (!rd.bad && nr > (uint64_t)(rd.end - rd.p)) rd.bad = 1;
    if (!rd.bad && nr > UINT32_MAX - rf.n) rd.bad = 1; /* record indices are u32 */
    /* not zeroed: each record up to n_full is dc_record_init'ed below (1 KB each) */
    size_t cap = !rd.bad ? (size_t)nr + rf.n : 0;
    b->recs = dc_malloc((!rd.bad && nr ? (size_t)nr : 1) * sizeof *b->recs);
    b->paths = dc_calloc(cap ? cap : 1, sizeof(char *));
    b->rec_file = dc_calloc(cap ? cap : 1, sizeof *b->rec_file);
    uint8_t *need = NULL;
    if (!rd.bad && mine_only) {
        need = dc_calloc(nr ? nr : 1, 1);
        if (mark_my_records(b, rank, nr, need) != 0) rd.bad = 1;
    }
    for (uint64_t i = 0; i < nr && !rd.bad; i++) {
        dc_record_init(&b->recs[i]);
        b->n_recs = b->n_full = i + 1;
        dc_wire_rd sec = dc_wire_get_section(&rd);
        if (rd.bad || (need && !need[i])) continue;
        const char *q = (const char *)sec.p;
        if (dc_record_unpack(&q, (const char *)sec.end, &b->recs[i]) != 0) rd.bad = 1;
        b->rec_file[i] = b->recs[i].file_idx;
        sec.p = (const uint8_t *)q;
        b->paths[i] = dc_wire_get_cstr(&sec);
        if (sec.bad || sec.p != sec.end) rd.bad = 1;
    }
    for (size_t k = 0; k < rf.n; k++) { /* the row files' records, after the batch's */
        if (rd.bad) {
            free(rf.path[k]);
            continue;
        }
        size_t at = b->n_recs++;
        b->rec_file[at] = rf.file[k];
        b->paths[at] = rf.path[k];
        b->scans[rf.scan[k]].first_rec = b->scans[rf.scan[k]].example_rec = (uint32_t)at;
    }
    free(rf.scan);
    free(rf.file);
    free(rf.path);
    free(need);
    return rd.bad ? -1 : 0;
}

/* the rank whose header-pass block holds window file f of n (plan.c's
 * pack_blocks: rank r parses files n*r/nranks .. n*(r+1)/nranks) */
int dc_header_rank(uint64_t f, uint64_t n, int nranks)
{
    if (n == 0) return 0;
    uint64_t r = f * (uint64_t)nranks / n;
    while (r + 1 < (uint64_t)nranks && n * (r + 1) / (uint64_t)nranks <= f) r++;
    while (r > 0 && n * r / (uint64_t)nranks > f) r--;
    return (int)r;
}

/* each scan to the rank that read its row's file in the header pass */
static void header_owners(const dc_scan *scans, size_t n, const dc_record *recs,
                          const dc_filelist *fl, int nranks, int32_t *owner)
{
    for (size_t i = 0; i < n; i++)
        owner[i] = scans[i].first_rec == DC_NO_REC
                       ? 0
                       : dc_header_rank(recs[scans[i].first_rec].file_idx, fl->n, nranks);
}

/* t = *s (shallow) with batch-local record indices (local: room for them) */
static void batch_local_scan(const dc_scan *s, rec_map *m, uint32_t **local, size_t *local_cap,
                             dc_scan *t)
{
    *t = *s;
    if (s->n_slices > *local_cap) {
        *local_cap = s->n_slices;
        *local = dc_realloc(*local, *local_cap * sizeof **local);
    }
    for (uint32_t k = 0; k < s->n_slices; k++) (*local)[k] = local_rec(m, s->slice_rec[k]);
    t->slice_rec = s->n_slices ? *local : NULL;
    if (s->n_files > 0 || s->n_slices > 0) {
        t->first_rec = local_rec(m, s->first_rec);
        t->example_rec = local_rec(m, s->example_rec);
    } else {
        t->first_rec = t->example_rec = UINT32_MAX; /* e.g. "no DICOM files in folder" */
    }
}

/* a readable scan of a metadata-only batch: the window file of its row and
 * its path (an index past any file when it has none: read as garbage) */
static void put_row_form(const dc_scan *s, const dc_record *recs, const dc_filelist *fl, dc_buf *w)
{
    if (s->first_rec == DC_NO_REC) {
        dc_wire_put_u(w, UINT64_MAX, 8);
        dc_wire_put_cstr(w, "");
        return;
    }
    uint32_t f = recs[s->first_rec].file_idx;
    dc_wire_put_u(w, f, 8);
    dc_wire_put_cstr(w, fl->files[f].path);
}

void dc_batch_build(const dc_scan *scans, size_t first, size_t count, const dc_record *recs,
                    const dc_filelist *fl, int nranks, int metadata_only, uint64_t index,
                    dc_batch *b)
{
    const dc_scan *src = scans + first;
    size_t n_all = 0;
    for (size_t i = 0; i < count; i++) {
        const dc_scan *s = &src[i];
        if (metadata_only && !s->unreadable) continue; /* row form: no records */
        for (uint32_t k = 0; k < s->n_slices; k++)
            if (s->slice_rec[k] + 1 > n_all) n_all = s->slice_rec[k] + 1;
        if (s->first_rec + 1 > n_all) n_all = s->first_rec + 1;
        if (s->example_rec + 1 > n_all) n_all = s->example_rec + 1;
    }
    rec_map m = {dc_malloc(sizeof(uint32_t) * (n_all ? n_all : 1)), NULL, 0, 0};
    memset(m.map, 0xff, sizeof(uint32_t) * (n_all ? n_all : 1));
    int32_t *owner = dc_calloc(count ? count : 1, sizeof *owner);
    if (metadata_only)
        header_owners(src, count, recs, fl, nranks, owner);
    else
        assign_owners(src, count, nranks, owner);

    dc_buf w;
    dc_buf_init(&w);
    dc_wire_put_u(&w, index, 8);
    dc_wire_put_u(&w, (uint32_t)metadata_only, 4); /* each rank unpacks only its own scans */
    dc_wire_put_u(&w, count, 8);
    uint32_t *local = NULL;
    size_t local_cap = 0;
    for (size_t i = 0; i < count; i++) {
        const dc_scan *s = &src[i];
        dc_scan t;
        dc_wire_put_u(&w, (uint32_t)owner[i], 4);
        dc_wire_put_u(&w, s->n_files, 4);
        dc_wire_put_u(&w, (uint32_t)s->unreadable, 4);
        dc_wire_put_lstr(&w, s->scan_id);
        size_t sec = dc_wire_begin_section(&w);
        if (metadata_only && !s->unreadable) {
            put_row_form(s, recs, fl, &w);
        } else {
            batch_local_scan(s, &m, &local, &local_cap, &t);
            dc_scan_pack(&t, &w);
            dc_wire_put_cstr(&w, fl->scopes.v[s->scope]);
        }
        dc_wire_end_section(&w, sec);
    }
    dc_wire_put_u(&w, m.n, 8);
    for (size_t i = 0; i < m.n; i++) {
        const dc_record *r = &recs[m.order[i]];
        size_t sec = dc_wire_begin_section(&w);
        dc_record_pack(r, &w);
        dc_wire_put_cstr(&w, fl->files[r->file_idx].path);
        dc_wire_end_section(&w, sec);
    }
    free(local);
    free(owner);
    free(m.map);
    free(m.order);
    memset(b, 0, sizeof *b);
    b->index = index;
    b->wire = w; /* unpacked by dc_batch_bcast, after the broadcast */
}

int dc_batch_bcast(MPI_Comm comm, dc_batch *b)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    dc_buf buf;
    dc_buf_init(&buf);
    dc_buf *wire = rank == 0 ? &b->wire : &buf; /* rank 0: packed by dc_batch_build */
    dc_bcast_buf(comm, wire);
    uint64_t len = wire->len;
    /* every rank, rank 0 too, unpacks the same bytes, rank 0 while the
     * others do (not before the broadcast: that kept them waiting) */
    dc_buf sent = rank == 0 ? b->wire : buf;
    if (rank == 0) dc_buf_init(&b->wire);
    int rc = len == 0 ? -1 /* never built */ : unpack_batch(sent.data, sent.data + len, rank, b);
    dc_buf_free(&sent); /* delivered; unpack_batch zeroed b->wire */
    return dc_agree_all(comm, rc);
}

/* ------------------------------------------------------------------ */
/* metadata-only windows: which kept rows each rank writes              */

uint64_t dc_row_files_by_owner(const dc_scan *scans, size_t n, const dc_record *recs,
                               uint64_t n_files, int nranks, uint64_t *out, uint64_t *per_rank)
{
    uint64_t *at = dc_calloc((size_t)nranks + 1, sizeof *at);
    for (int r = 0; r < nranks; r++) per_rank[r] = 0;
    for (size_t i = 0; i < n; i++)
        if (!scans[i].unreadable && scans[i].first_rec != DC_NO_REC)
            per_rank[dc_header_rank(recs[scans[i].first_rec].file_idx, n_files, nranks)]++;
    for (int r = 0; r < nranks; r++) at[r + 1] = at[r] + per_rank[r];
    uint64_t total = at[nranks];
    for (size_t i = 0; i < n; i++)
        if (!scans[i].unreadable && scans[i].first_rec != DC_NO_REC) {
            uint64_t f = recs[scans[i].first_rec].file_idx;
            out[at[dc_header_rank(f, n_files, nranks)]++] = f;
        }
    free(at);
    return total;
}

int dc_row_files_scatter(MPI_Comm comm, const dc_scan *scans, size_t n, const dc_record *recs,
                         const dc_filelist *fl, uint64_t **files, size_t *n_mine)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    dc_buf w;
    dc_buf_init(&w);
    uint64_t *off = NULL, *len = NULL;
    if (rank == 0) {
        uint64_t *all = dc_malloc(sizeof(uint64_t) * (n ? n : 1));
        len = dc_malloc(sizeof(uint64_t) * (size_t)nranks);
        off = dc_malloc(sizeof(uint64_t) * (size_t)nranks);
        uint64_t total = dc_row_files_by_owner(scans, n, recs, fl->n, nranks, all, len);
        dc_wire_put_u64s(&w, all, (size_t)total);
        for (int r = 0; r < nranks; r++) {
            len[r] *= sizeof(uint64_t); /* in bytes, in rank order */
            off[r] = r ? off[r - 1] + len[r - 1] : 0;
        }
        free(all);
    }
    char *mine = NULL;
    uint64_t mine_len = 0;
    dc_scatter_bytes(comm, w.data ? w.data : "", off, len, &mine, &mine_len);
    dc_buf_free(&w);
    free(off);
    free(len);
    *n_mine = (size_t)(mine_len / 8);
    *files = dc_malloc(sizeof(uint64_t) * (*n_mine ? *n_mine : 1));
    dc_wire_rd rd = dc_wire_reader(mine, mine + mine_len);
    dc_wire_get_u64s(&rd, *files, *n_mine);
    free(mine);
    return rd.bad || mine_len % 8 ? -1 : 0;
}
