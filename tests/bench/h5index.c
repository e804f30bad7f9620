/*
 * h5index.c - what a checkpoint's index update costs as the archive grows
 * (issue 11; run by hand, numbers in README "Performance").
 *
 *   h5index DIR N STEP K spare|copy
 *
 * Writes DIR/idx.h5 with N external links (Scan IDs shaped like per-file
 * ones) through dc_h5index_write, then K checkpoints that each add STEP
 * links.  spare: as a crawl does (the spare file brought up to date); copy:
 * the spare forgotten before each checkpoint, so the live file is copied and
 * extended (what every checkpoint cost before the spare).  The links point
 * to DIR/idx.h5.d/seg_000001.h5, which holds real 8x8 datasets for every
 * 10,000th scan (names idx_<i>, i = 0, 10000, ...), so that a reader can
 * open the index and read one (tests/bench/h5index_read.py).
 * Prints: links=N full_s=.. checkpoint_ms_median=.. min=.. max=.. (wall)
 * cpu_ms_median=.. min=.. max=.. (this process's CPU) bytes=..
 * Build: as h5create in tests/bench/run_bench.sh (links build/libdcmcrawl.a).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dc_h5out.h"
#include "dc_scan.h"

static double clock_s(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* this process's CPU seconds (the machine may be shared: wall time is then
 * mostly waiting for a core) */
static double cpu_now(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void scan_name(char *out, size_t len, size_t i)
{
    snprintf(out, len, "idx_%zu_1.2.826.0.1.3680043.10.1436.77.5.%zu", i, 100000000 + i);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* the segment with one real dataset per 10,000 scans */
static int write_segment(const char *dir, size_t total)
{
    char err[DC_ERRLEN] = "";
    char *segdir = dc_asprintf("%s/idx.h5.d", dir), *path = dc_asprintf("%s/seg_000001.h5", segdir);
    mkdir(segdir, 0755);
    dc_h5seg *seg = dc_h5seg_create_parts(MPI_COMM_SELF, path);
    size_t n = (total + 9999) / 10000;
    dc_scan *scans = calloc(n, sizeof *scans);
    int32_t *owner = calloc(n, sizeof *owner), inst = 1;
    char **folder = calloc(n, sizeof *folder);
    int *h = calloc(n, sizeof *h);
    double pos[3] = {0, 0, 0}, one = 1, zero = 0;
    for (size_t k = 0; k < n; k++) {
        char name[128];
        scan_name(name, sizeof name, k * 10000);
        dc_scan *s = &scans[k];
        s->scan_id = dc_strdup(name);
        s->n_slices = s->n_files = 1;
        s->ndim = 2;
        s->dims[0] = s->dims[1] = s->rows = s->cols = 8;
        s->samples = 1;
        s->dtype = DC_DT_U16;
        s->n_positions = 1;
        s->slice_positions = pos;
        s->instance_numbers = &inst;
        s->n_rescale = 1;
        s->rescale_slope = &one;
        s->rescale_intercept = &zero;
        s->warnings = "";
        folder[k] = "bench";
    }
    dc_h5ds_opts o = {NULL, 0, 0};
    int rc = dc_h5seg_add_datasets(seg, scans, n, owner, folder, &o, h, err, sizeof err);
    uint16_t px[64];
    for (int i = 0; i < 64; i++) px[i] = (uint16_t)i;
    for (size_t k = 0; k < n && rc == 0; k++) rc = dc_h5seg_write_slice(seg, h[k], &scans[k], 0, px, err, sizeof err);
    if (dc_h5seg_close(seg, err, sizeof err) != 0) rc = -1;
    if (rc != 0) fprintf(stderr, "h5index: %s\n", err);
    for (size_t k = 0; k < n; k++) free(scans[k].scan_id);
    free(scans);
    free(owner);
    free(folder);
    free(h);
    free(path);
    free(segdir);
    return rc;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    if (argc != 6) {
        fprintf(stderr, "usage: h5index DIR N STEP K spare|copy\n");
        MPI_Finalize();
        return 2;
    }
    size_t n = (size_t)atol(argv[2]), step = (size_t)atol(argv[3]), k = (size_t)atol(argv[4]);
    int copy = strcmp(argv[5], "copy") == 0;
    char err[DC_ERRLEN] = "";
    char *idx = dc_asprintf("%s/idx.h5", argv[1]);
    if (write_segment(argv[1], n + step * k) != 0) MPI_Abort(MPI_COMM_WORLD, 1);
    dc_h5index x;
    dc_h5index_init(&x);
    char name[128];
    for (size_t i = 0; i < n; i++) {
        scan_name(name, sizeof name, i);
        dc_h5index_put(&x, name, "idx.h5.d/seg_000001.h5");
    }
    double t0 = now();
    if (dc_h5index_write(idx, &x, "zyx", "bench: {}\n", err, sizeof err) != 0) {
        fprintf(stderr, "h5index: %s\n", err);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double full = now() - t0;
    double *ms = calloc(k ? k : 1, sizeof *ms), *cms = calloc(k ? k : 1, sizeof *cms);
    for (size_t c = 0; c < k; c++) {
        for (size_t i = 0; i < step; i++) {
            scan_name(name, sizeof name, n + c * step + i);
            dc_h5index_put(&x, name, "idx.h5.d/seg_000001.h5");
        }
        if (copy) x.spare_ok = 0;
        t0 = now();
        double c0 = cpu_now();
        if (dc_h5index_write(idx, &x, "zyx", "bench: {}\n", err, sizeof err) != 0) {
            fprintf(stderr, "h5index: %s\n", err);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        ms[c] = (now() - t0) * 1e3;
        cms[c] = (cpu_now() - c0) * 1e3;
    }
    qsort(ms, k, sizeof *ms, cmp_double);
    qsort(cms, k, sizeof *cms, cmp_double);
    struct stat st;
    stat(idx, &st);
    printf("mode=%s links=%zu full_s=%.2f checkpoints=%zu step=%zu checkpoint_ms_median=%.1f min=%.1f "
           "max=%.1f cpu_ms_median=%.1f min=%.1f max=%.1f bytes=%lld bytes_per_link=%.0f\n",
           argv[5], x.n, full, k, step, k ? ms[k / 2] : 0, k ? ms[0] : 0, k ? ms[k - 1] : 0,
           k ? cms[k / 2] : 0, k ? cms[0] : 0, k ? cms[k - 1] : 0, (long long)st.st_size,
           (double)st.st_size / (double)x.n);
    free(ms);
    free(cms);
    dc_h5index_free(&x);
    free(idx);
    MPI_Finalize();
    return 0;
}
