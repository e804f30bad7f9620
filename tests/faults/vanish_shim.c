/*
 * vanish_shim.c - an LD_PRELOAD shim for tests/integration/test_faults.py:
 * files change between the walk and the reads, at a chosen open(), with no
 * timing involved.  For a path whose file name starts with
 *
 *   vanish1_   the file is deleted just before the 1st open() (the header
 *              pass: it vanished between the walk and the read);
 *   vanish2_   deleted just before the 2nd open() (it vanished between the
 *              header pass and decoding);
 *   tofifo_    replaced by a FIFO just before the 1st open() (an open() that
 *              blocked would hang the crawl).
 *
 * Opens are counted per path in this process (one rank: run the crawl as a
 * singleton or with -np 1).  open, open64, openat and openat64 are wrapped.
 *
 *   cc -shared -fPIC -O2 -o vanish_shim.so vanish_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PATHS 64

static struct {
    char path[512];
    int opens;
} seen[MAX_PATHS];

/* how many times path was opened before (this one included) */
static int count_open(const char *path)
{
    for (int i = 0; i < MAX_PATHS; i++) {
        if (!seen[i].path[0]) {
            strncpy(seen[i].path, path, sizeof seen[i].path - 1);
            return seen[i].opens = 1;
        }
        if (!strcmp(seen[i].path, path)) return ++seen[i].opens;
    }
    return 0;
}

static void before_open(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int v1 = !strncmp(base, "vanish1_", 8), v2 = !strncmp(base, "vanish2_", 8);
    int ff = !strncmp(base, "tofifo_", 7);
    if (!v1 && !v2 && !ff) return;
    int n = count_open(path);
    if ((v1 && n == 1) || (v2 && n == 2)) unlink(path);
    if (ff && n == 1) {
        unlink(path);
        mkfifo(path, 0644);
    }
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

#define WRAP_OPEN(name)                                                        \
    int name(const char *path, int flags, ...)                                 \
    {                                                                          \
        static int (*real)(const char *, int, ...);                            \
        if (!real) real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, #name); \
        va_list ap;                                                            \
        va_start(ap, flags);                                                   \
        mode_t m = mode_arg(flags, ap);                                        \
        va_end(ap);                                                            \
        before_open(path);                                                     \
        return real(path, flags, m);                                           \
    }

#define WRAP_OPENAT(name)                                                      \
    int name(int dfd, const char *path, int flags, ...)                        \
    {                                                                          \
        static int (*real)(int, const char *, int, ...);                       \
        if (!real) real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, #name); \
        va_list ap;                                                            \
        va_start(ap, flags);                                                   \
        mode_t m = mode_arg(flags, ap);                                        \
        va_end(ap);                                                            \
        before_open(path);                                                     \
        return real(dfd, path, flags, m);                                      \
    }

WRAP_OPEN(open)
WRAP_OPEN(open64)
WRAP_OPENAT(openat)
WRAP_OPENAT(openat64)
