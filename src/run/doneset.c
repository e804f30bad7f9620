/*
 * doneset.c - Scan ID fingerprints in memory (dc_idset) and on disk (the
 * durable done-set: sorted runs + manifest, see dc_doneset.h).
 *
 * Run file (native byte order, checked by a marker; a run from another
 * byte order is unreadable and the set is rebuilt from the CSV):
 *   header  "DCDONE01", marker 0x0102030405060708, n, n_fence (u64 each)
 *   n fingerprints (16 bytes each, sorted, no repeats)
 *   n_fence = ceil(n / 256) fences: fingerprint 0, 256, 512, ...
 * Manifest (text, replaced by rename after the runs are fsync'ed):
 *   dcmcrawl done-set 1
 *   next <number of the next run file>
 *   kind <k> <covered> <header length> <header hash> <tail hash> <runs>
 *   run <file name>            (that many lines, oldest first)
 */
#include "dc_doneset.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc_util.h"

#define RUN_MAGIC "DCDONE01"
#define RUN_MARKER 0x0102030405060708ULL
#define RUN_HEADER 32
#define FENCE_EVERY 256               /* fingerprints per block: 4 KiB */
#define SPILL_AT ((size_t)1 << 20)    /* durable fingerprints buffered before a run is written */
#define COVER_HASH_BYTES 4096
#define MERGE_CHUNK 4096              /* fingerprints per read while merging */

/* ------------------------------------------------------------------ */
/* fingerprints in memory                                               */

void dc_idset_init(dc_idset *s)
{
    memset(s, 0, sizeof *s);
}

void dc_idset_free(dc_idset *s)
{
    free(s->v);
    dc_idset_init(s);
}

/* dc_hash64 of the ID with two seeds, in one pass */
dc_idfp dc_idfp_of(const char *id)
{
    uint64_t h[2] = {DC_HASH_SEED, 0x9e3779b97f4a7c15ULL};
    dc_hash64_pair_str(id, h);
    dc_idfp f = {h[0], h[1]};
    return f;
}

static void idset_push(dc_idset *s, dc_idfp f)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = dc_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = f;
}

void dc_idset_add(dc_idset *s, const char *id)
{
    idset_push(s, dc_idfp_of(id));
}

static int fp_cmp(dc_idfp a, dc_idfp b)
{
    if (a.a != b.a) return a.a < b.a ? -1 : 1;
    if (a.b != b.b) return a.b < b.b ? -1 : 1;
    return 0;
}

static int cmp_fp(const void *pa, const void *pb)
{
    return fp_cmp(*(const dc_idfp *)pa, *(const dc_idfp *)pb);
}

/* the fingerprint an element of dc_idfp_sort starts with */
static dc_idfp fp_at(const char *p)
{
    dc_idfp f;
    memcpy(&f, p, sizeof f);
    return f;
}

/* one pass of the merge sort: runs of w elements of src merged pairwise
 * into dst (the left one first on ties: stable).  Inlined with the
 * element size a constant (one element's copy is then a few moves) */
static inline __attribute__((always_inline)) void merge_fp_runs(const char *src, char *dst,
                                                                size_t n, size_t size, size_t w)
{
    for (size_t lo = 0; lo < n; lo += 2 * w) {
        size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
        size_t i = lo, j = mid, k = lo;
        while (i < mid && j < hi) {
            int left = fp_cmp(fp_at(src + i * size), fp_at(src + j * size)) <= 0;
            memcpy(dst + k++ * size, src + (left ? i++ : j++) * size, size);
        }
        memcpy(dst + k * size, src + i * size, (mid - i) * size);
        k += mid - i;
        memcpy(dst + k * size, src + j * size, (hi - j) * size);
    }
}

void dc_idfp_sort(void *base, size_t n, size_t size)
{
    if (n < 2) return;
    char *a = base, *b = dc_malloc(n * size), *from = a, *to = b;
    for (size_t w = 1; w < n; w *= 2) {
        if (size == 16) /* a dc_idset's fingerprints */
            merge_fp_runs(from, to, n, 16, w);
        else if (size == 24) /* the folder ledger's references */
            merge_fp_runs(from, to, n, 24, w);
        else
            merge_fp_runs(from, to, n, size, w);
        char *t = from;
        from = to;
        to = t;
    }
    if (from != a) memcpy(a, from, n * size);
    free(b);
}

void dc_idset_seal(dc_idset *s)
{
    dc_idfp_sort(s->v, s->n, sizeof *s->v);
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (k == 0 || fp_cmp(s->v[k - 1], s->v[i]) != 0) s->v[k++] = s->v[i];
    s->n = k;
}

int dc_idset_has_fp(const dc_idset *s, dc_idfp f)
{
    return s->n && bsearch(&f, s->v, s->n, sizeof *s->v, cmp_fp) != NULL;
}

int dc_idset_has(const dc_idset *s, const char *id)
{
    return dc_idset_has_fp(s, dc_idfp_of(id));
}

/* ------------------------------------------------------------------ */
/* run files                                                            */

static void run_close(dc_fprun *r)
{
    if (r->fd >= 0) close(r->fd);
    free(r->name);
    free(r->fence);
    free(r->buf);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

static char *run_path(const dc_doneset *d, const char *name)
{
    return dc_asprintf("%s/%s", d->dir, name);
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

/* open a run file and read its fences; -1 when it is not a whole run */
static int run_open(const dc_doneset *d, const char *name, dc_fprun *r)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    char *p = run_path(d, name);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    free(p);
    if (fd < 0) return -1;
    char magic[8];
    uint64_t h[3];
    struct stat st;
    if (read_at(fd, magic, 8, 0) != 0 || read_at(fd, h, sizeof h, 8) != 0 ||
        memcmp(magic, RUN_MAGIC, 8) != 0 || h[0] != RUN_MARKER || fstat(fd, &st) != 0 ||
        h[2] != (h[1] + FENCE_EVERY - 1) / FENCE_EVERY ||
        (uint64_t)st.st_size != RUN_HEADER + 16 * (h[1] + h[2])) {
        close(fd);
        return -1;
    }
    r->fd = fd;
    r->name = dc_strdup(name);
    r->n = h[1];
    r->n_fence = (size_t)h[2];
    r->fence = dc_malloc(16 * (r->n_fence ? r->n_fence : 1));
    r->buf = dc_malloc(16 * FENCE_EVERY);
    r->block = UINT64_MAX;
    if (r->n_fence && read_at(fd, r->fence, 16 * r->n_fence, RUN_HEADER + 16 * r->n) != 0) {
        run_close(r);
        return -1;
    }
    return 0;
}

/* the block of entries where f would be (the last fence <= f, else the
 * first) into r->buf; *len its entries.  0, or -1 read failure */
static int run_block(dc_fprun *r, dc_idfp f, size_t *blk, size_t *len)
{
    size_t lo = 0, hi = r->n_fence;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (fp_cmp(r->fence[mid], f) <= 0) lo = mid;
        else
            hi = mid;
    }
    uint64_t first = (uint64_t)lo * FENCE_EVERY;
    *blk = lo;
    *len = (size_t)(r->n - first < FENCE_EVERY ? r->n - first : FENCE_EVERY);
    if (r->block != lo) {
        if (read_at(r->fd, r->buf, 16 * *len, RUN_HEADER + 16 * first) != 0) return -1;
        r->block = lo;
    }
    return 0;
}

/* is f in the run?  0 no, 1 yes, -1 read failure */
static int run_has(dc_fprun *r, dc_idfp f)
{
    if (!r->n_fence || fp_cmp(f, r->fence[0]) < 0) return 0;
    size_t blk, len;
    if (run_block(r, f, &blk, &len) != 0) return -1;
    return bsearch(&f, r->buf, len, sizeof *r->buf, cmp_fp) != NULL;
}

/* the first entry of the run in [lo, hi] into *out: 0 none, 1 found, -1 read failure */
static int run_find(dc_fprun *r, dc_idfp lo, dc_idfp hi, dc_idfp *out)
{
    if (!r->n_fence || fp_cmp(hi, r->fence[0]) < 0) return 0;
    size_t b, len;
    if (run_block(r, lo, &b, &len) != 0) return -1;
    for (size_t i = 0; i < len; i++) /* one block: 256 entries at most */
        if (fp_cmp(r->buf[i], lo) >= 0) {
            if (fp_cmp(r->buf[i], hi) > 0) return 0;
            *out = r->buf[i];
            return 1;
        }
    /* past this block: the next block begins with the next fence */
    if (b + 1 < r->n_fence && fp_cmp(r->fence[b + 1], hi) <= 0) {
        *out = r->fence[b + 1];
        return 1;
    }
    return 0;
}

/* writing a run: entries streamed in, fences collected */
typedef struct {
    int fd;
    char *name, *path;
    uint64_t n;
    dc_idset fences;
    dc_idfp last;
    dc_idfp out[MERGE_CHUNK];
    size_t n_out;
    int failed;
} run_writer;

static void writer_flush(run_writer *w)
{
    if (w->n_out && !w->failed &&
        dc_pwrite_all(w->fd, w->out, 16 * w->n_out, RUN_HEADER + 16 * (w->n - w->n_out)) != 0)
        w->failed = 1;
    w->n_out = 0;
}

static int writer_start(dc_doneset *d, run_writer *w)
{
    memset(w, 0, sizeof *w);
    mkdir(d->dir, 0755);
    w->name = dc_asprintf("run_%08llu.fp", (unsigned long long)d->next_run++);
    w->path = run_path(d, w->name);
    w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    dc_idset_init(&w->fences);
    return w->fd < 0 ? -1 : 0;
}

/* sorted input; repeats dropped */
static void writer_put(run_writer *w, dc_idfp f)
{
    if (w->n && fp_cmp(w->last, f) == 0) return;
    if (w->n % FENCE_EVERY == 0) idset_push(&w->fences, f);
    w->last = f;
    w->out[w->n_out++] = f;
    w->n++;
    if (w->n_out == MERGE_CHUNK) writer_flush(w);
}

/* header and fences; on success the run is opened into r, not fsync'ed
 * yet (sync_named_runs, before a manifest names it) */
static int writer_finish(dc_doneset *d, run_writer *w, dc_fprun *r, char *err, size_t errlen)
{
    writer_flush(w);
    uint64_t h[3] = {RUN_MARKER, w->n, w->fences.n};
    int rc = w->failed || dc_pwrite_all(w->fd, RUN_MAGIC, 8, 0) != 0 ||
                     dc_pwrite_all(w->fd, h, sizeof h, 8) != 0 ||
                     (w->fences.n &&
                      dc_pwrite_all(w->fd, w->fences.v, 16 * w->fences.n, RUN_HEADER + 16 * w->n) != 0)
                 ? -1
                 : 0;
    if (rc != 0) snprintf(err, errlen, "%s: cannot write: %s", w->path, strerror(errno));
    close(w->fd);
    if (rc == 0 && run_open(d, w->name, r) != 0) {
        snprintf(err, errlen, "%s: written but unreadable", w->path);
        rc = -1;
    }
    if (rc == 0) r->unsynced = 1;
    if (rc != 0) unlink(w->path);
    free(w->name);
    free(w->path);
    dc_idset_free(&w->fences);
    return rc;
}

static void kind_push_run(dc_doneset_kind *k, const dc_fprun *r)
{
    k->runs = dc_realloc(k->runs, (k->n_runs + 1) * sizeof *k->runs);
    k->runs[k->n_runs++] = *r;
}

/* a sealed in-memory set as a new run of kind k */
static int write_sealed(dc_doneset *d, int k, const dc_idset *s, char *err, size_t errlen)
{
    if (!s->n) return 0;
    run_writer w;
    if (writer_start(d, &w) != 0) {
        snprintf(err, errlen, "%s: cannot create: %s", w.path, strerror(errno));
        free(w.name);
        free(w.path);
        return -1;
    }
    for (size_t i = 0; i < s->n; i++) writer_put(&w, s->v[i]);
    dc_fprun r;
    if (writer_finish(d, &w, &r, err, errlen) != 0) return -1;
    kind_push_run(&d->k[k], &r);
    return 0;
}

/* sequential reader over a run (merges, dc_doneset_each) */
typedef struct {
    dc_fprun *r;
    uint64_t next;  /* index of buf[0] + pos */
    dc_idfp buf[MERGE_CHUNK];
    size_t len, pos;
} run_reader;

/* 1 with *f, 0 at the end, -1 read failure */
static int reader_next(run_reader *x, dc_idfp *f)
{
    if (x->pos == x->len) {
        if (x->next >= x->r->n) return 0;
        uint64_t left = x->r->n - x->next;
        x->len = (size_t)(left < MERGE_CHUNK ? left : MERGE_CHUNK);
        if (read_at(x->r->fd, x->buf, 16 * x->len, RUN_HEADER + 16 * x->next) != 0) return -1;
        x->next += x->len;
        x->pos = 0;
    }
    *f = x->buf[x->pos++];
    return 1;
}

/* the two newest runs of kind k merged into one */
static int merge_last_two(dc_doneset *d, int k, char *err, size_t errlen)
{
    dc_doneset_kind *kd = &d->k[k];
    run_reader *a = dc_calloc(1, sizeof *a), *b = dc_calloc(1, sizeof *b);
    a->r = &kd->runs[kd->n_runs - 2];
    b->r = &kd->runs[kd->n_runs - 1];
    run_writer *w = dc_malloc(sizeof *w);
    int rc = writer_start(d, w);
    if (rc != 0) snprintf(err, errlen, "%s: cannot create: %s", w->path, strerror(errno));
    dc_idfp fa, fb;
    int ha = rc == 0 ? reader_next(a, &fa) : 0, hb = rc == 0 ? reader_next(b, &fb) : 0;
    while (ha > 0 || hb > 0) {
        if (hb <= 0 || (ha > 0 && fp_cmp(fa, fb) <= 0)) {
            writer_put(w, fa);
            ha = reader_next(a, &fa);
        } else {
            writer_put(w, fb);
            hb = reader_next(b, &fb);
        }
    }
    if (rc == 0 && (ha < 0 || hb < 0)) {
        snprintf(err, errlen, "%s: read failed while merging", d->dir);
        w->failed = 1;
    }
    dc_fprun merged;
    if (rc == 0) rc = writer_finish(d, w, &merged, err, errlen);
    else {
        free(w->name);
        free(w->path);
    }
    if (rc == 0) {
        for (size_t i = kd->n_runs - 2; i < kd->n_runs; i++) {
            dc_strvec_push(&d->doomed, kd->runs[i].name);
            run_close(&kd->runs[i]);
        }
        kd->n_runs -= 2;
        kind_push_run(kd, &merged);
    }
    free(a);
    free(b);
    free(w);
    return rc;
}

/* O(log N) runs: the newest is merged while it is at least half the one
 * before; the runs lookups see (n_lookup) stay as they are */
static int merge_runs(dc_doneset *d, int k, char *err, size_t errlen)
{
    dc_doneset_kind *kd = &d->k[k];
    while (kd->n_runs >= kd->n_lookup + 2 &&
           kd->runs[kd->n_runs - 2].n <= 2 * kd->runs[kd->n_runs - 1].n)
        if (merge_last_two(d, k, err, errlen) != 0) return -1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* the set                                                              */

void dc_doneset_init(dc_doneset *d, const char *dir)
{
    memset(d, 0, sizeof *d);
    d->dir = dc_strdup(dir);
    d->next_run = 1;
    dc_strvec_init(&d->doomed);
    for (int k = 0; k < DC_DONE_KINDS; k++) dc_idset_init(&d->k[k].pending);
}

static void kind_clear_runs(dc_doneset *d, int k, int doom)
{
    dc_doneset_kind *kd = &d->k[k];
    for (size_t i = 0; i < kd->n_runs; i++) {
        if (doom) dc_strvec_push(&d->doomed, kd->runs[i].name);
        run_close(&kd->runs[i]);
    }
    free(kd->runs);
    kd->runs = NULL;
    kd->n_runs = kd->n_lookup = 0;
    memset(&kd->cover, 0, sizeof kd->cover);
}

void dc_doneset_free(dc_doneset *d)
{
    if (!d->dir) return;
    for (int k = 0; k < DC_DONE_KINDS; k++) {
        kind_clear_runs(d, k, 0);
        dc_idset_free(&d->k[k].pending);
    }
    dc_strvec_free(&d->doomed);
    free(d->dir);
    memset(d, 0, sizeof *d);
}

void dc_doneset_reset(dc_doneset *d, int k)
{
    kind_clear_runs(d, k, 1);
}

static char *manifest_path(const dc_doneset *d, const char *suffix)
{
    return dc_asprintf("%s/manifest%s", d->dir, suffix);
}

/* the manifest into d; -1 when it is missing or not one we wrote (kinds stay empty) */
static int read_manifest(dc_doneset *d, dc_strset *named)
{
    char *p = manifest_path(d, "");
    FILE *f = fopen(p, "r");
    free(p);
    if (!f) return -1;
    char line[512];
    int rc = fgets(line, sizeof line, f) && strcmp(line, "dcmcrawl done-set 1\n") == 0 ? 0 : -1;
    unsigned long long next = 0;
    if (rc == 0 && (!fgets(line, sizeof line, f) || sscanf(line, "next %llu", &next) != 1)) rc = -1;
    d->next_run = next > d->next_run ? next : d->next_run;
    for (int k = 0; rc == 0 && k < DC_DONE_KINDS; k++) {
        int kk;
        unsigned long long cov, hlen, head, tail, n;
        if (!fgets(line, sizeof line, f) ||
            sscanf(line, "kind %d %llu %llu %llu %llu %llu", &kk, &cov, &hlen, &head, &tail, &n) != 6 ||
            kk != k) {
            rc = -1;
            break;
        }
        dc_donecover c = {cov, hlen, head, tail};
        d->k[k].cover = c;
        for (unsigned long long i = 0; i < n && rc == 0; i++) {
            char name[256];
            dc_fprun r;
            if (!fgets(line, sizeof line, f) || sscanf(line, "run %255s", name) != 1 ||
                run_open(d, name, &r) != 0) {
                dc_warn("%s: done-set run %s missing or damaged; the set is rebuilt from the CSV",
                        d->dir, name);
                rc = -1;
                break;
            }
            dc_strset_add(named, name);
            kind_push_run(&d->k[k], &r);
        }
    }
    fclose(f);
    if (rc != 0)
        for (int k = 0; k < DC_DONE_KINDS; k++) kind_clear_runs(d, k, 0);
    return rc;
}

/* run files the manifest does not name: a write or merge a kill interrupted */
static void remove_unnamed(dc_doneset *d, const dc_strset *named)
{
    DIR *dir = opendir(d->dir);
    if (!dir) return;
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(dir)) != NULL) {
        unsigned long long num;
        int is_run = sscanf(e->d_name, "run_%llu.fp", &num) == 1;
        if (is_run && num + 1 > d->next_run) d->next_run = num + 1;
        if ((is_run && !dc_strset_has(named, e->d_name)) || strcmp(e->d_name, "manifest.tmp") == 0) {
            char *p = run_path(d, e->d_name);
            if (unlink(p) == 0) n++;
            free(p);
        }
    }
    closedir(dir);
    if (n) dc_debug("%s: removed %zu done-set files of an interrupted write", d->dir, n);
}

int dc_doneset_open(dc_doneset *d, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    dc_strset named;
    dc_strset_init(&named);
    if (read_manifest(d, &named) != 0) {
        dc_strset_free(&named);
        dc_strset_init(&named);
    }
    remove_unnamed(d, &named);
    dc_strset_free(&named);
    return 0;
}

/* hash of bytes [off, off + len) of fd; 0 when they cannot be read */
static uint64_t hash_range(int fd, uint64_t off, size_t len)
{
    char buf[COVER_HASH_BYTES];
    if (len > sizeof buf || read_at(fd, buf, len, off) != 0) return 0;
    return dc_hash64(buf, len, DC_HASH_SEED);
}

/* the header line (through its newline, within the first limit bytes):
 * its length in *len and its hash (a wider header after a rewrite differs) */
static uint64_t hash_header(int fd, uint64_t limit, uint64_t *len)
{
    char buf[COVER_HASH_BYTES];
    uint64_t h = DC_HASH_SEED, off = 0;
    *len = 0;
    while (off < limit) {
        size_t want = (size_t)(limit - off < sizeof buf ? limit - off : sizeof buf);
        ssize_t r = pread(fd, buf, want, (off_t)off);
        if (r <= 0) return 0;
        char *nl = memchr(buf, '\n', (size_t)r);
        size_t use = nl ? (size_t)(nl - buf) + 1 : (size_t)r;
        h = dc_hash64(buf, use, h);
        off += use;
        if (nl) break;
    }
    *len = off;
    return h;
}

/* the cover of the first size bytes of path as it is now */
static int cover_of(const char *path, uint64_t size, dc_donecover *c)
{
    memset(c, 0, sizeof *c);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT && size == 0 ? 0 : -1;
    struct stat st;
    int rc = fstat(fd, &st) == 0 && (uint64_t)st.st_size >= size ? 0 : -1;
    if (rc == 0) {
        size_t t = (size_t)(size < COVER_HASH_BYTES ? size : COVER_HASH_BYTES);
        c->covered = size;
        c->head = hash_header(fd, size, &c->head_len);
        c->tail = hash_range(fd, size - t, t);
    }
    close(fd);
    return rc;
}

int dc_doneset_matches(const dc_doneset *d, int k, const char *csv_path)
{
    const dc_donecover *want = &d->k[k].cover;
    dc_donecover now;
    if (cover_of(csv_path, want->covered, &now) != 0) return 0;
    if (want->covered == 0) return d->k[k].n_runs == 0;
    return now.head_len == want->head_len && now.head == want->head && now.tail == want->tail;
}

void dc_doneset_add_durable(dc_doneset *d, int k, dc_idset *buf, const char *id)
{
    dc_idset_add(buf, id);
    if (buf->n >= SPILL_AT) {
        char err[DC_ERRLEN] = "";
        if (dc_doneset_flush(d, k, buf, err, sizeof err) != 0) dc_warn("%s", err);
    }
}

int dc_doneset_flush(dc_doneset *d, int k, dc_idset *buf, char *err, size_t errlen)
{
    dc_idset_seal(buf);
    int rc = write_sealed(d, k, buf, err, errlen);
    if (rc == 0) rc = merge_runs(d, k, err, errlen);
    buf->n = 0;
    return rc;
}

void dc_doneset_note(dc_doneset *d, int k, const char *id)
{
    dc_doneset_note_fp(d, k, dc_idfp_of(id));
}

void dc_doneset_note_fp(dc_doneset *d, int k, dc_idfp f)
{
    idset_push(&d->k[k].pending, f);
}

void dc_doneset_mark_start(dc_doneset *d, int k)
{
    d->k[k].n_lookup = d->k[k].n_runs;
}

int dc_doneset_has(dc_doneset *d, int k, const char *id)
{
    if (d->k[k].n_lookup == 0) return 0; /* a fresh run: no fingerprint to compute */
    return dc_doneset_has_fp(d, k, dc_idfp_of(id));
}

int dc_doneset_has_fp(dc_doneset *d, int k, dc_idfp f)
{
    dc_doneset_kind *kd = &d->k[k];
    for (size_t i = kd->n_lookup; i-- > 0;) {
        int h = run_has(&kd->runs[i], f);
        if (h < 0) dc_warn("%s/%s: read failed", d->dir, kd->runs[i].name);
        if (h > 0) return 1;
    }
    return 0;
}

int dc_doneset_find_fp(dc_doneset *d, int k, dc_idfp lo, dc_idfp hi, dc_idfp *found)
{
    dc_doneset_kind *kd = &d->k[k];
    for (size_t i = kd->n_lookup; i-- > 0;) {
        int h = run_find(&kd->runs[i], lo, hi, found);
        if (h < 0) dc_warn("%s/%s: read failed", d->dir, kd->runs[i].name);
        if (h > 0) return 1;
    }
    return 0;
}

static int write_manifest_file(dc_doneset *d, char *err, size_t errlen)
{
    mkdir(d->dir, 0755);
    dc_buf b;
    dc_buf_init(&b);
    dc_buf_printf(&b, "dcmcrawl done-set 1\nnext %llu\n", (unsigned long long)d->next_run);
    for (int k = 0; k < DC_DONE_KINDS; k++) {
        const dc_doneset_kind *kd = &d->k[k];
        dc_buf_printf(&b, "kind %d %llu %llu %llu %llu %zu\n", k,
                      (unsigned long long)kd->cover.covered, (unsigned long long)kd->cover.head_len,
                      (unsigned long long)kd->cover.head, (unsigned long long)kd->cover.tail,
                      kd->n_runs);
        for (size_t i = 0; i < kd->n_runs; i++) dc_buf_printf(&b, "run %s\n", kd->runs[i].name);
    }
    char *fin = manifest_path(d, ""); /* <dir>/manifest, via <dir>/manifest.tmp */
    int rc = dc_replace_file(fin, b.data, b.len);
    if (rc != 0) snprintf(err, errlen, "%s: cannot write: %s", fin, strerror(errno));
    free(fin);
    dc_buf_free(&b);
    return rc;
}

/* the runs the manifest will name, durable first (a run written and merged
 * away within one commit is never fsync'ed: one fsync less per merge) */
static int sync_named_runs(dc_doneset *d, char *err, size_t errlen)
{
    for (int k = 0; k < DC_DONE_KINDS; k++)
        for (size_t i = 0; i < d->k[k].n_runs; i++) {
            dc_fprun *r = &d->k[k].runs[i];
            if (!r->unsynced) continue;
            if (fsync(r->fd) != 0) {
                snprintf(err, errlen, "%s/%s: cannot write: %s", d->dir, r->name, strerror(errno));
                return -1;
            }
            r->unsynced = 0;
        }
    return 0;
}

int dc_doneset_write_manifest(dc_doneset *d, const char *const csv_path[DC_DONE_KINDS],
                              const uint64_t csv_size[DC_DONE_KINDS], char *err, size_t errlen)
{
    for (int k = 0; k < DC_DONE_KINDS; k++) {
        if (merge_runs(d, k, err, errlen) != 0) return -1;
        if (csv_size[k] != UINT64_MAX && cover_of(csv_path[k], csv_size[k], &d->k[k].cover) != 0) {
            snprintf(err, errlen, "%s: cannot read its first %llu bytes", csv_path[k],
                     (unsigned long long)csv_size[k]);
            return -1;
        }
    }
    if (sync_named_runs(d, err, errlen) != 0 || write_manifest_file(d, err, errlen) != 0) return -1;
    for (size_t i = 0; i < d->doomed.n; i++) {
        char *p = run_path(d, d->doomed.v[i]);
        unlink(p);
        free(p);
    }
    dc_strvec_free(&d->doomed);
    dc_strvec_init(&d->doomed);
    return 0;
}

int dc_doneset_commit(dc_doneset *d, const char *const csv_path[DC_DONE_KINDS],
                      const uint64_t csv_size[DC_DONE_KINDS], char *err, size_t errlen)
{
    for (int k = 0; k < DC_DONE_KINDS; k++) {
        dc_doneset_kind *kd = &d->k[k];
        dc_idset_seal(&kd->pending);
        if (write_sealed(d, k, &kd->pending, err, errlen) != 0) return -1;
        kd->pending.n = 0;
    }
    return dc_doneset_write_manifest(d, csv_path, csv_size, err, errlen);
}

int dc_doneset_each(dc_doneset *d, int k, void (*fn)(dc_idfp f, void *ctx), void *ctx, char *err,
                    size_t errlen)
{
    run_reader *x = dc_malloc(sizeof *x);
    int rc = 0;
    for (size_t i = 0; i < d->k[k].n_runs && rc == 0; i++) {
        memset(x, 0, sizeof *x);
        x->r = &d->k[k].runs[i];
        dc_idfp f;
        int h;
        while ((h = reader_next(x, &f)) > 0) fn(f, ctx);
        if (h < 0) {
            snprintf(err, errlen, "%s/%s: read failed", d->dir, x->r->name);
            rc = -1;
        }
    }
    free(x);
    return rc;
}

uint64_t dc_doneset_count(const dc_doneset *d, int k)
{
    uint64_t n = 0;
    for (size_t i = 0; i < d->k[k].n_runs; i++) n += d->k[k].runs[i].n;
    return n;
}
