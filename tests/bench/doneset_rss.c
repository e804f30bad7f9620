/*
 * doneset_rss.c - what "which scans are done" costs rank 0, by the number
 * of done scans N (issue 11): the durable done-set (dc_doneset.h, opened
 * from disk) against the in-memory fingerprint set a resume held before
 * (dc_idset: every done Scan ID's 16 bytes).
 *
 *   doneset_rss build DIR N    write a done-set of N Scan IDs into DIR
 *                              (the rebuild path: runs of 2^20, merged)
 *   doneset_rss disk DIR N     open it, look up 20,000 IDs (half done)
 *   doneset_rss memory DIR N   the old way: N IDs into a dc_idset, sealed,
 *                              the same lookups
 * Prints peak RSS (VmHWM) of this process and microseconds per lookup.
 * Built by tests/bench/run_bench.sh; run each measurement in a new process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dc_doneset.h"

static void id_of(char *out, size_t cap, long i)
{
    snprintf(out, cap, "archive_d%05ld_1.2.826.0.1.3680043.10.543.%ld", i / 500, i);
}

static long vm_hwm_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kib = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kib;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* 20,000 lookups, every other one of a done ID: returns how many were found */
static long lookups(long n, int (*has)(void *, const char *), void *ctx, double *us)
{
    char id[128];
    long found = 0;
    double t0 = now();
    for (long q = 0; q < 20000; q++) {
        long i = (q * 7919L) % n;
        id_of(id, sizeof id, q % 2 ? i : n + i);
        found += has(ctx, id);
    }
    *us = (now() - t0) * 1e6 / 20000;
    return found;
}

static int has_disk(void *ctx, const char *id)
{
    return dc_doneset_has(ctx, DC_DONE_META, id);
}

static int has_memory(void *ctx, const char *id)
{
    return dc_idset_has(ctx, id);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: doneset_rss build|disk|memory DIR N\n");
        return 2;
    }
    long n = atol(argv[3]);
    char err[DC_ERRLEN] = "", id[128];
    dc_doneset d;
    dc_doneset_init(&d, argv[2]);
    if (dc_doneset_open(&d, err, sizeof err) != 0) return fprintf(stderr, "%s\n", err), 1;
    double us = 0;
    long found = 0;
    if (strcmp(argv[1], "build") == 0) {
        dc_doneset_reset(&d, DC_DONE_META);
        dc_idset buf;
        dc_idset_init(&buf);
        for (long i = 0; i < n; i++) {
            id_of(id, sizeof id, i);
            dc_doneset_add_durable(&d, DC_DONE_META, &buf, id);
        }
        const char *paths[DC_DONE_KINDS] = {"/nonexistent", "/nonexistent"};
        uint64_t sizes[DC_DONE_KINDS] = {0, 0};
        if (dc_doneset_flush(&d, DC_DONE_META, &buf, err, sizeof err) != 0 ||
            dc_doneset_write_manifest(&d, paths, sizes, err, sizeof err) != 0)
            return fprintf(stderr, "%s\n", err), 1;
        dc_idset_free(&buf);
        printf("built %llu fingerprints in %zu runs\n",
               (unsigned long long)dc_doneset_count(&d, DC_DONE_META), d.k[DC_DONE_META].n_runs);
    } else if (strcmp(argv[1], "disk") == 0) {
        dc_doneset_mark_start(&d, DC_DONE_META);
        found = lookups(n, has_disk, &d, &us);
        printf("disk   N=%ld: %zu runs, peak RSS %ld KiB, %.1f us per lookup, %ld of 20000 found\n",
               n, d.k[DC_DONE_META].n_runs, vm_hwm_kib(), us, found);
    } else {
        dc_idset s;
        dc_idset_init(&s);
        for (long i = 0; i < n; i++) {
            id_of(id, sizeof id, i);
            dc_idset_add(&s, id);
        }
        dc_idset_seal(&s);
        found = lookups(n, has_memory, &s, &us);
        printf("memory N=%ld: peak RSS %ld KiB, %.1f us per lookup, %ld of 20000 found\n", n,
               vm_hwm_kib(), us, found);
        dc_idset_free(&s);
    }
    dc_doneset_free(&d);
    return 0;
}
