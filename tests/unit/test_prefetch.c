/*
 * test_prefetch.c - the header pass's prefetcher (dc_prefetch.h): every
 * descriptor it hands over is open on the right file (read back through it)
 * with that file's fstat and first bytes (the files are in the page cache),
 * files it cannot open and files not regular come back as -1 (the parser
 * opens them itself), files taken before the thread reaches them are skipped
 * (-1 or a valid fd, never another file's), and stopping early closes the
 * descriptors not taken (the process's open descriptors return to where they
 * were).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dc_prefetch.h"

#define N_FILES 300

static char dir[64];
static char *paths[N_FILES];

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dc_prefetch_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    for (int i = 0; i < N_FILES; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/f%03d", dir, i);
        paths[i] = strdup(p);
        if (i % 50 == 7) continue; /* missing */
        if (i % 50 == 9) {         /* a folder: not a regular file */
            mkdir(p, 0700);
            continue;
        }
        FILE *f = fopen(p, "w");
        fprintf(f, "file %03d", i);
        fclose(f);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < N_FILES; i++) {
        if (i % 50 == 9)
            rmdir(paths[i]);
        else
            unlink(paths[i]);
        free(paths[i]);
    }
    rmdir(dir);
    return 0;
}

/* fd is open on file i (its text says so) */
static void check_fd(int fd, int i)
{
    char want[16], got[16] = "";
    snprintf(want, sizeof want, "file %03d", i);
    ssize_t r = pread(fd, got, sizeof got - 1, 0);
    assert_true(r == (ssize_t)strlen(want));
    got[r] = '\0';
    assert_string_equal(got, want);
    close(fd);
}

/* what came with file i's descriptor: its fstat and, when read ahead (the
 * files were just written: in the page cache), its bytes; returns 1 if the
 * head came */
static int check_input(const dc_input *in, int i)
{
    char want[24];
    snprintf(want, sizeof want, "file %03d", i);
    struct stat st;
    assert_int_equal(stat(paths[i], &st), 0);
    assert_true(in->stat.ok);
    assert_true(in->stat.size == (uint64_t)st.st_size && in->stat.ino == (uint64_t)st.st_ino);
    if (!in->head) return 0;
    assert_int_equal(in->head_len, strlen(want));
    assert_memory_equal(in->head, want, in->head_len);
    return 1;
}

/* Takes every step-th file in order; slow_us > 0 pauses every 16 files so the
 * thread can run ahead. Returns how many fds the thread handed over. */
static int take_all_once(size_t depth, int step, useconds_t slow_us)
{
    int before = count_fds();
    dc_prefetch *p = dc_prefetch_start(paths, N_FILES, depth);
    assert_non_null(p);
    int handed = 0, heads = 0;
    const uint8_t *last_head = NULL;
    char last_text[24] = "";
    for (int i = 0; i < N_FILES; i += step) {
        if (slow_us && i % 16 == 0) usleep(slow_us); /* let the thread run ahead */
        /* the previous head stays intact until this take (the thread
         * works on further files meanwhile) */
        if (last_head) assert_memory_equal(last_head, last_text, strlen(last_text));
        dc_input in;
        int fd = dc_prefetch_take(p, (size_t)i, &in);
        assert_int_equal(fd, in.fd);
        int openable = i % 50 != 7 && i % 50 != 9;
        if (!openable) assert_int_equal(fd, -1);
        last_head = NULL;
        if (fd >= 0) {
            heads += check_input(&in, i);
            if (in.head) {
                last_head = in.head;
                snprintf(last_text, sizeof last_text, "file %03d", i);
            }
            check_fd(fd, i);
            handed++;
        } else {
            assert_null(in.head);
        }
    }
    dc_prefetch_stop(p);
    assert_int_equal(heads, handed); /* every file is in the page cache */
    assert_int_equal(count_fds(), before);
    return handed;
}

/* slow: the thread must have worked ahead at least once; a loaded machine may
 * not schedule it within a short pause, so the pause grows (2 ms .. 1 s) */
static void take_all(size_t depth, int step, int slow)
{
    if (!slow) {
        take_all_once(depth, step, 0);
        return;
    }
    int handed = 0;
    for (useconds_t us = 2000; us <= 1000000 && handed == 0; us *= 5)
        handed = take_all_once(depth, step, us);
    assert_true(handed > 0); /* the thread did work ahead */
}

static void test_in_order(void **state)
{
    (void)state;
    take_all(128, 1, 1);
    take_all(1, 1, 1);
    take_all(32, 1, 0);
}

/* the parser on the thread's heels (shallow depths, no pauses): a slot is
 * never refilled before its file's take has swapped its head out (a head
 * of another file would fail check_input) */
static void test_heads_under_contention(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        take_all(1, 1, 0);
        take_all(2, 1, 0);
        take_all(3, 2, 0);
    }
}

static void test_skipping(void **state)
{
    (void)state;
    take_all(8, 3, 1); /* files never taken are closed by stop */
    take_all(8, 7, 0);
}

static void test_stop_early(void **state)
{
    (void)state;
    int before = count_fds();
    dc_prefetch *p = dc_prefetch_start(paths, N_FILES, 64);
    dc_input in;
    int fd = dc_prefetch_take(p, 0, &in);
    if (fd >= 0) check_fd(fd, 0);
    usleep(20000);
    dc_prefetch_stop(p);
    assert_int_equal(count_fds(), before);
    assert_null(dc_prefetch_start(paths, N_FILES, 0)); /* depth 0: off */
    assert_int_equal(dc_prefetch_take(NULL, 3, &in), -1);
    assert_int_equal(in.fd, -1);
    assert_null(in.head);
    dc_prefetch_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_skipping),
        cmocka_unit_test(test_heads_under_contention),
        cmocka_unit_test(test_stop_early),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
