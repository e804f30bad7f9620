/*
 * openread.c - the metadata reference of make bench: the fastest a crawler
 * that looks at every file's header could go on one core.
 *
 *   openread DIR...
 *
 * Lists the regular files under each DIR (readdir, recursive), then opens
 * each file, reads its first 8 KiB and closes it.  Prints one line:
 *   files=N walk_s=W loop_s=L files_per_s=N/L
 * The walk is timed apart from the loop; make bench compares dcmcrawl's
 * whole run (walk included) with the loop alone, which is the stricter test.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char **paths;
static size_t n_paths, cap_paths;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void add(const char *p)
{
    if (n_paths == cap_paths) {
        cap_paths = cap_paths ? 2 * cap_paths : 4096;
        paths = realloc(paths, cap_paths * sizeof *paths);
        if (!paths) exit(1);
    }
    paths[n_paths++] = strdup(p);
}

static void walk(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR)
            walk(p);
        else if (e->d_type == DT_REG)
            add(p);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: openread DIR...\n");
        return 2;
    }
    double t0 = now();
    for (int i = 1; i < argc; i++) walk(argv[i]);
    double t1 = now();
    static char buf[8192];
    unsigned long long bytes = 0;
    for (size_t i = 0; i < n_paths; i++) {
        int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t k = read(fd, buf, sizeof buf);
        if (k > 0) bytes += (unsigned long long)k;
        close(fd);
    }
    double t2 = now();
    printf("files=%zu walk_s=%.6f loop_s=%.6f files_per_s=%.0f bytes=%llu\n", n_paths, t1 - t0,
           t2 - t1, (double)n_paths / (t2 - t1), bytes);
    return 0;
}
