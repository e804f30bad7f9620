/*
 * cfrcopy NPROC OUT FILE... - reference of `make bench` (tests/bench/bench.py):
 * the fastest durable way this machine has to put the bytes of FILE... into
 * one output file, as dcmcrawl's uncompressed fast path does: NPROC forked
 * processes each take every NPROC-th file, copy_file_range it into its own
 * region of OUT (regions laid out in argument order), start its writeback
 * (sync_file_range), and fsync OUT at the end.  Prints "loop_s=SECONDS"
 * (from the first copy to the last fsync, file layout excluded).
 *
 * Shows what the file system allows: on ext4 every buffered write to one
 * inode takes its i_rwsem, so two processes writing one file serialise
 * (perf: rwsem_spin_on_owner under ext4_buffered_write_iter).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int copy_one(const char *path, int out, off_t at, off_t len)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) return -1;
    loff_t a = 0, b = at;
    off_t left = len;
    while (left > 0) {
        ssize_t k = copy_file_range(in, &a, out, &b, (size_t)left, 0);
        if (k <= 0) {
            close(in);
            return -1;
        }
        left -= k;
    }
    close(in);
    (void)sync_file_range(out, at, len, SYNC_FILE_RANGE_WRITE);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: cfrcopy NPROC OUT FILE...\n");
        return 2;
    }
    int np = atoi(argv[1]), n = argc - 3;
    const char *outp = argv[2];
    char **files = argv + 3;
    off_t *off = malloc(sizeof(off_t) * (size_t)n), *len = malloc(sizeof(off_t) * (size_t)n), pos = 0;
    if (np < 1 || !off || !len) return 2;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(files[i], &st) != 0) {
            perror(files[i]);
            return 1;
        }
        off[i] = pos;
        len[i] = st.st_size;
        pos += st.st_size;
    }
    int fd = open(outp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, pos) != 0) {
        perror(outp);
        return 1;
    }
    close(fd);
    double t0 = now();
    for (int r = 0; r < np; r++) {
        pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) {
            int out = open(outp, O_WRONLY | O_CLOEXEC);
            if (out < 0) _exit(1);
            for (int i = r; i < n; i += np)
                if (copy_one(files[i], out, off[i], len[i]) != 0) {
                    perror(files[i]);
                    _exit(1);
                }
            _exit(fsync(out) == 0 ? 0 : 1);
        }
    }
    int bad = 0;
    for (int r = 0; r < np; r++) {
        int st;
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) bad = 1;
    }
    printf("loop_s=%.6f\n", now() - t0);
    free(off);
    free(len);
    return bad;
}
