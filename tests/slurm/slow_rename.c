/*
 * slow_rename.c - an LD_PRELOAD shim for tests/slurm/test_slurm.sh: every
 * rename() sleeps SLOW_RENAME_MS milliseconds first. dcmcrawl renames its
 * index file once per checkpoint, so with commit_every 1 a crawl of N scans
 * lasts at least N * SLOW_RENAME_MS: long enough for Slurm's time-limit
 * signal (checked only every 30 s) to arrive in the middle of it. Only the
 * first attempt of a job is slowed (SLURM_RESTART_COUNT unset or 0), so the
 * requeued attempt finishes quickly.
 *
 *   cc -shared -fPIC -O2 -o slow_rename.so slow_rename.c -ldl
 *   mpirun -x LD_PRELOAD=$PWD/slow_rename.so -x SLOW_RENAME_MS=300 ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

int rename(const char *from, const char *to)
{
    static int (*real_rename)(const char *, const char *);
    if (!real_rename) real_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    const char *ms = getenv("SLOW_RENAME_MS");
    const char *restarts = getenv("SLURM_RESTART_COUNT");
    if (ms && (!restarts || atoi(restarts) == 0)) {
        long n = atol(ms);
        struct timespec t = {n / 1000, (n % 1000) * 1000000L};
        nanosleep(&t, NULL);
    }
    return real_rename(from, to);
}
