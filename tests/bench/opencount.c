/*
 * opencount.c - an LD_PRELOAD library for make bench: counts the open/openat
 * calls of a process whose path contains OPENCOUNT_MATCH, and at exit
 * appends "<pid> <count>\n" to the file OPENCOUNT_OUT.  Used to measure
 * opens per input file of a crawl (SPEC 10: 1 in metadata-only runs).
 *
 *   cc -O2 -shared -fPIC -o opencount.so opencount.c -ldl
 *   OPENCOUNT_MATCH=/corpus/ OPENCOUNT_OUT=/tmp/opens LD_PRELOAD=./opencount.so prog
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long long count;
static const char *match;

static void note(const char *path)
{
    if (!match) match = getenv("OPENCOUNT_MATCH");
    if (match && path && strstr(path, match)) __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
}

#define FORWARD(name, ...)                                                   \
    static int (*real)(__VA_ARGS__);                                         \
    if (!real) real = (int (*)(__VA_ARGS__))dlsym(RTLD_NEXT, name)

/* the mode argument, present only with O_CREAT */
#define MODE_ARG(flags, last, mode)                                          \
    do {                                                                     \
        if ((flags) & O_CREAT) {                                             \
            va_list ap;                                                      \
            va_start(ap, last);                                              \
            mode = va_arg(ap, mode_t);                                       \
            va_end(ap);                                                      \
        }                                                                    \
    } while (0)

int open(const char *path, int flags, ...)
{
    FORWARD("open", const char *, int, ...);
    mode_t mode = 0;
    MODE_ARG(flags, flags, mode);
    note(path);
    return real(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    FORWARD("openat", int, const char *, int, ...);
    mode_t mode = 0;
    MODE_ARG(flags, flags, mode);
    note(path);
    return real(dirfd, path, flags, mode);
}

__attribute__((destructor)) static void report(void)
{
    const char *out = getenv("OPENCOUNT_OUT");
    if (!out || !count) return;
    FILE *f = fopen(out, "a");
    if (!f) return;
    fprintf(f, "%d %llu\n", (int)getpid(), count);
    fclose(f);
}
