/*
 * plan.c - the MPI shape of a run: header pass, gathering records on rank 0,
 * batches of scans with owners, broadcasting batches.  See dc_plan.h.
 */
#include "dc_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_dicom.h"
#include "dc_stop.h"

/* ------------------------------------------------------------------ */
/* header pass                                                          */

static void put_u32(dc_buf *b, uint32_t v)
{
    dc_buf_append(b, &v, sizeof v);
}

static void put_u64(dc_buf *b, uint64_t v)
{
    dc_buf_append(b, &v, sizeof v);
}

static void put_str(dc_buf *b, const char *s)
{
    dc_buf_append(b, s, strlen(s) + 1);
}

static int get_u32(const char **p, const char *end, uint32_t *v)
{
    if ((size_t)(end - *p) < sizeof *v) return -1;
    memcpy(v, *p, sizeof *v);
    *p += sizeof *v;
    return 0;
}

static int get_u64(const char **p, const char *end, uint64_t *v)
{
    if ((size_t)(end - *p) < sizeof *v) return -1;
    memcpy(v, *p, sizeof *v);
    *p += sizeof *v;
    return 0;
}

static int get_str(const char **p, const char *end, char **s)
{
    const char *nul = memchr(*p, '\0', (size_t)(end - *p));
    if (!nul) return -1;
    *s = dc_strndup(*p, (size_t)(nul - *p));
    *p = nul + 1;
    return 0;
}

/* rank 0: the block of files for each rank, packed */
static void pack_blocks(const dc_filelist *fl, int nranks, dc_buf *out, int *counts, int *displs)
{
    size_t n = fl->n;
    for (int r = 0; r < nranks; r++) {
        size_t lo = n * (size_t)r / (size_t)nranks, hi = n * (size_t)(r + 1) / (size_t)nranks;
        displs[r] = (int)out->len;
        for (size_t i = lo; i < hi; i++) {
            put_u32(out, (uint32_t)i);
            put_u32(out, fl->files[i].scope);
            put_u64(out, fl->files[i].size);
            put_str(out, fl->files[i].path);
        }
        counts[r] = (int)(out->len - (size_t)displs[r]);
    }
}

/* Parse one file into a record. */
static void read_one(const char *path, uint32_t idx, uint32_t scope, dc_dataset *ds,
                     const dc_parse_opts *po, dc_record *rec, dc_header_stats *st)
{
    char err[DC_ERRLEN] = "";
    dc_record_init(rec);
    rec->file_idx = idx;
    rec->scope = scope;
    dc_dataset_clear(ds);
    int rc = dc_parse_file(path, po, ds, err, sizeof err);
    st->header_bytes += ds->bytes_read;
    if (rc == DC_PARSE_NOT_DICOM) {
        rec->kind = DC_FILE_NOT_DICOM;
        st->not_dicom++;
    } else if (rc != DC_PARSE_OK) {
        rec->kind = DC_FILE_BAD;
        snprintf(rec->reason, sizeof rec->reason, "%s", err[0] ? err : "unreadable header");
        st->bad++;
        dc_debug("%s: %s", path, rec->reason);
    } else {
        dc_record_from_dataset(ds, rec);
        rec->file_idx = idx;
        rec->scope = scope;
        if (rec->kind == DC_FILE_DICOMDIR) st->dicomdir++;
    }
}

int dc_header_pass(MPI_Comm comm, const dc_config *cfg, const dc_filelist *fl,
                   volatile int *stop, dc_record **recs, size_t *n, dc_header_stats *stats)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    double t0 = dc_now();
    (void)cfg;

    /* scatter the file list in contiguous blocks */
    dc_buf all;
    dc_buf_init(&all);
    int *counts = dc_calloc((size_t)nranks, sizeof(int));
    int *displs = dc_calloc((size_t)nranks, sizeof(int));
    if (rank == 0) pack_blocks(fl, nranks, &all, counts, displs);
    int mine_len = 0;
    MPI_Scatter(counts, 1, MPI_INT, &mine_len, 1, MPI_INT, 0, comm);
    char *mine = dc_malloc((size_t)mine_len + 1);
    MPI_Scatterv(all.data, counts, displs, MPI_BYTE, mine, mine_len, MPI_BYTE, 0, comm);
    dc_buf_free(&all);

    /* parse my block */
    dc_header_stats st;
    memset(&st, 0, sizeof st);
    dc_parse_opts po;
    dc_parse_opts_default(&po);
    dc_dataset ds;
    dc_dataset_init(&ds);
    dc_buf out;
    dc_buf_init(&out);
    int stopped = 0;
    uint64_t done = 0;
    for (const char *p = mine, *end = mine + mine_len; p < end;) {
        uint32_t idx, scope;
        uint64_t size;
        char *path;
        if (get_u32(&p, end, &idx) || get_u32(&p, end, &scope) || get_u64(&p, end, &size) ||
            get_str(&p, end, &path))
            break;
        if ((++done & 63) == 0 && ((stop && *stop) || dc_stop_poll())) {
            free(path);
            stopped = 1;
            break;
        }
        dc_record rec;
        read_one(path, idx, scope, &ds, &po, &rec, &st);
        st.files_seen++;
        dc_record_pack(&rec, &out);
        dc_record_free(&rec);
        free(path);
    }
    dc_dataset_free(&ds);
    free(mine);

    int any_stop = dc_stop_agree(comm, stopped); /* polls while waiting for the others */
    if (any_stop) {
        dc_buf_free(&out);
        free(counts);
        free(displs);
        return 1;
    }

    /* gather the packed records on rank 0 (blocks arrive in file order) */
    int out_len = (int)out.len;
    MPI_Gather(&out_len, 1, MPI_INT, counts, 1, MPI_INT, 0, comm);
    size_t total = 0;
    if (rank == 0)
        for (int r = 0; r < nranks; r++) {
            displs[r] = (int)total;
            total += (size_t)counts[r];
        }
    char *gathered = rank == 0 ? dc_malloc(total + 1) : NULL;
    MPI_Gatherv(out.data ? out.data : "", out_len, MPI_BYTE, gathered, counts, displs, MPI_BYTE, 0,
                comm);
    dc_buf_free(&out);

    uint64_t sums[5] = {st.files_seen, st.not_dicom, st.dicomdir, st.bad, st.header_bytes};
    MPI_Reduce(rank == 0 ? MPI_IN_PLACE : sums, sums, 5, MPI_UINT64_T, MPI_SUM, 0, comm);
    int rc = 0;
    if (rank == 0) {
        size_t cap = fl->n ? fl->n : 1, k = 0;
        dc_record *r = dc_calloc(cap, sizeof *r);
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
    free(counts);
    free(displs);
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    return rc;
}

/* ------------------------------------------------------------------ */
/* batches                                                              */

void dc_batch_free(dc_batch *b)
{
    for (size_t i = 0; i < b->n_scans; i++) {
        dc_scan_free(&b->scans[i]);
        free(b->source_folder[i]);
    }
    for (size_t i = 0; i < b->n_recs; i++) {
        dc_record_free(&b->recs[i]);
        free(b->paths[i]);
    }
    free(b->scans);
    free(b->owner);
    free(b->source_folder);
    free(b->recs);
    free(b->paths);
    memset(b, 0, sizeof *b);
}

static void copy_scan(const dc_scan *src, dc_scan *dst)
{
    dc_buf tmp;
    dc_buf_init(&tmp);
    dc_scan_pack(src, &tmp);
    const char *p = tmp.data;
    memset(dst, 0, sizeof *dst);
    dc_scan_unpack(&p, tmp.data + tmp.len, dst);
    dc_buf_free(&tmp);
}

static void copy_record(const dc_record *src, dc_record *dst)
{
    dc_buf tmp;
    dc_buf_init(&tmp);
    dc_record_pack(src, &tmp);
    const char *p = tmp.data;
    dc_record_init(dst);
    dc_record_unpack(&p, tmp.data + tmp.len, dst);
    dc_buf_free(&tmp);
}

/* map a global record index to its batch-local index, adding it if new */
static uint32_t local_rec(uint32_t g, uint32_t *map, const dc_record *recs,
                          const dc_filelist *fl, dc_batch *b, size_t *cap)
{
    if (map[g] != UINT32_MAX) return map[g];
    if (b->n_recs == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        b->recs = dc_realloc(b->recs, *cap * sizeof *b->recs);
        b->paths = dc_realloc(b->paths, *cap * sizeof *b->paths);
    }
    copy_record(&recs[g], &b->recs[b->n_recs]);
    b->paths[b->n_recs] = dc_strdup(fl->files[recs[g].file_idx].path);
    map[g] = (uint32_t)b->n_recs;
    return (uint32_t)b->n_recs++;
}

static void assign_owners(dc_batch *b, int nranks)
{
    size_t n = b->n_scans;
    uint32_t *ord = dc_malloc(sizeof(uint32_t) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) ord[i] = (uint32_t)i;
    /* by cost descending, then position: deterministic */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            const dc_scan *a = &b->scans[ord[j - 1]], *c = &b->scans[ord[j]];
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
        b->owner[ord[i]] = best;
        load[best] += b->scans[ord[i]].cost + 4096; /* every scan costs something */
    }
    free(load);
    free(ord);
}

void dc_batch_build(const dc_scan *scans, size_t first, size_t count, const dc_record *recs,
                    const dc_filelist *fl, int nranks, uint64_t index, dc_batch *b)
{
    memset(b, 0, sizeof *b);
    b->index = index;
    b->n_scans = count;
    b->scans = dc_calloc(count ? count : 1, sizeof *b->scans);
    b->owner = dc_calloc(count ? count : 1, sizeof *b->owner);
    b->source_folder = dc_calloc(count ? count : 1, sizeof(char *));
    size_t n_all = 0;
    for (size_t i = 0; i < count; i++) {
        const dc_scan *s = &scans[first + i];
        for (uint32_t k = 0; k < s->n_slices; k++)
            if (s->slice_rec[k] + 1 > n_all) n_all = s->slice_rec[k] + 1;
        if (s->first_rec + 1 > n_all) n_all = s->first_rec + 1;
        if (s->example_rec + 1 > n_all) n_all = s->example_rec + 1;
    }
    uint32_t *map = dc_malloc(sizeof(uint32_t) * (n_all ? n_all : 1));
    memset(map, 0xff, sizeof(uint32_t) * (n_all ? n_all : 1));
    size_t cap = 0;
    for (size_t i = 0; i < count; i++) {
        const dc_scan *s = &scans[first + i];
        dc_scan *d = &b->scans[i];
        copy_scan(s, d);
        for (uint32_t k = 0; k < d->n_slices; k++)
            d->slice_rec[k] = local_rec(s->slice_rec[k], map, recs, fl, b, &cap);
        int has_files = s->n_files > 0 || s->n_slices > 0;
        if (has_files) {
            d->first_rec = local_rec(s->first_rec, map, recs, fl, b, &cap);
            d->example_rec = local_rec(s->example_rec, map, recs, fl, b, &cap);
        } else {
            d->first_rec = d->example_rec = UINT32_MAX; /* e.g. "no DICOM files in folder" */
        }
        b->source_folder[i] = dc_strdup(fl->scopes.v[s->scope]);
    }
    free(map);
    assign_owners(b, nranks);
}

int dc_batch_bcast(MPI_Comm comm, dc_batch *b)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    dc_buf buf;
    dc_buf_init(&buf);
    if (rank == 0) {
        put_u64(&buf, b->index);
        put_u64(&buf, b->n_scans);
        for (size_t i = 0; i < b->n_scans; i++) {
            dc_scan_pack(&b->scans[i], &buf);
            put_u32(&buf, (uint32_t)b->owner[i]);
            put_str(&buf, b->source_folder[i]);
        }
        put_u64(&buf, b->n_recs);
        for (size_t i = 0; i < b->n_recs; i++) {
            dc_record_pack(&b->recs[i], &buf);
            put_str(&buf, b->paths[i]);
        }
    }
    uint64_t len = buf.len;
    MPI_Bcast(&len, 1, MPI_UINT64_T, 0, comm);
    if (rank != 0) dc_buf_reserve(&buf, len);
    /* broadcast in pieces below INT_MAX */
    for (uint64_t off = 0; off < len;) {
        int piece = (int)((len - off) > (1u << 30) ? (1u << 30) : (len - off));
        MPI_Bcast(buf.data + off, piece, MPI_BYTE, 0, comm);
        off += (uint64_t)piece;
    }
    int rc = 0;
    if (rank != 0) {
        buf.len = len;
        memset(b, 0, sizeof *b);
        const char *p = buf.data, *end = buf.data + len;
        uint64_t ns = 0, nr = 0;
        rc |= get_u64(&p, end, &b->index);
        rc |= get_u64(&p, end, &ns);
        b->scans = dc_calloc(ns ? ns : 1, sizeof *b->scans);
        b->owner = dc_calloc(ns ? ns : 1, sizeof *b->owner);
        b->source_folder = dc_calloc(ns ? ns : 1, sizeof(char *));
        for (uint64_t i = 0; i < ns && rc == 0; i++) {
            uint32_t o = 0;
            rc |= dc_scan_unpack(&p, end, &b->scans[i]);
            rc |= get_u32(&p, end, &o);
            b->owner[i] = (int32_t)o;
            rc |= get_str(&p, end, &b->source_folder[i]);
            b->n_scans = i + 1;
        }
        rc |= get_u64(&p, end, &nr);
        b->recs = dc_calloc(nr ? nr : 1, sizeof *b->recs);
        b->paths = dc_calloc(nr ? nr : 1, sizeof(char *));
        for (uint64_t i = 0; i < nr && rc == 0; i++) {
            dc_record_init(&b->recs[i]);
            rc |= dc_record_unpack(&p, end, &b->recs[i]);
            rc |= get_str(&p, end, &b->paths[i]);
            b->n_recs = i + 1;
        }
    }
    dc_buf_free(&buf);
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MIN, comm);
    return rc;
}
