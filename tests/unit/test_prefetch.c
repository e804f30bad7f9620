/*
 * test_prefetch.c - the header pass's prefetcher (dc_prefetch.h): every
 * descriptor it hands over is open on the right file (read back through it)
 * with that file's fstat and first bytes (the files are in the page cache),
 * files it cannot open and files not regular come back as -1 (the parser
 * opens them itself), files taken before the thread reaches them are skipped
 * (-1 or a valid fd, never another file's), and stopping early closes the
 * descriptors not taken (the process's open descriptors return to where they
 * were).  A run of warm files puts the thread to sleep and every take still
 * hands over the right file and bytes; a file evicted from the page cache
 * wakes it (where the file system lets the test evict pages).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
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

/* every file back in the page cache (after a test evicted some) */
static void warm_all(void)
{
    char b[16];
    for (int i = 0; i < N_FILES; i++) {
        int fd = open(paths[i], O_RDONLY);
        if (fd < 0) continue;
        if (read(fd, b, sizeof b) < 0) b[0] = 0;
        close(fd);
    }
}

/* Takes every step-th file in order; slow_us > 0 pauses every 16 files so the
 * thread can run ahead. Returns how many fds the thread handed over. */
static int take_all_once(size_t depth, int step, useconds_t slow_us)
{
    warm_all();
    int before = count_fds();
    dc_prefetch *p = dc_prefetch_start_eager(paths, N_FILES, depth);
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

/* drop a file's pages from the page cache; 1 if they are gone (mincore:
 * a read would start the readahead that brings them back) */
static int evict(const char *path)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    unsigned char resident = 1;
    void *m = mmap(NULL, 16, PROT_READ, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED) {
        if (mincore(m, 16, &resident) != 0) resident = 1;
        munmap(m, 16);
    }
    close(fd);
    return !(resident & 1);
}

static char *ok[N_FILES];
static int ok_idx[N_FILES];

/* the openable files only (n), those from cold_from on evicted from the page
 * cache; 1 if they could be */
static int openable_files(int cold_from, int *n_out)
{
    int n = 0;
    for (int i = 0; i < N_FILES; i++)
        if (i % 50 != 7 && i % 50 != 9) {
            ok_idx[n] = i;
            ok[n++] = paths[i];
        }
    int evicted = 1;
    for (int k = cold_from; k < n; k++) evicted &= evict(ok[k]);
    *n_out = n;
    return evicted;
}

/* takes every file in order: each is the right file with its fstat, warm
 * ones with their bytes; returns 1 if the take of file cold_from left the
 * takes no longer opening the files themselves (the thread woke or started)
 * and the thread then handed over some of the cold files (the takes pause
 * every 8 files from there so that it can run ahead) */
static int take_openable(dc_prefetch *p, int n, int cold_from)
{
    int woke = 0, handed_cold = 0;
    for (int k = 0; k < n; k++) {
        if (k > cold_from && k % 8 == 0) usleep(10000);
        dc_input in;
        int fd = dc_prefetch_take(p, (size_t)k, &in);
        if (fd < 0 && k >= cold_from) { /* not reached by the thread yet: the parser opens it */
            fd = open(ok[k], O_RDONLY);
            assert_true(fd >= 0);
            check_fd(fd, ok_idx[k]);
            continue;
        }
        assert_true(fd >= 0);
        int had_head = check_input(&in, ok_idx[k]);
        if (k < cold_from) assert_true(had_head); /* warm: bytes handed over */
        check_fd(fd, ok_idx[k]);
        if (k == cold_from) woke = !dc_prefetch_dormant(p);
        if (k > cold_from) handed_cold++;
    }
    return woke && handed_cold > 0;
}

/* files from cold_from on evicted; eager: the thread started at once must go
 * dormant after a run of warm files, else no thread may run while the files
 * are warm; either way the first cold file must set it (back) to work */
static void check_wakes_on_cold(int eager, int cold_from, size_t depth, const char *name)
{
    int n;
    int evicted = openable_files(cold_from, &n);
    int before = count_fds();
    dc_prefetch *p = eager ? dc_prefetch_start_eager(ok, (size_t)n, depth) : dc_prefetch_start(ok, (size_t)n, depth);
    assert_non_null(p);
    for (int w = 0; w < 2000 && !dc_prefetch_dormant(p); w++) usleep(5000); /* 64 warm files */
    assert_true(dc_prefetch_dormant(p));
    int woke = take_openable(p, n, cold_from);
    dc_prefetch_stop(p);
    warm_all();
    assert_int_equal(count_fds(), before);
    if (evicted)
        assert_true(woke);
    else
        print_message("%s: pages could not be evicted here; the wake-up is not checked\n", name);
}

/* the thread started at once goes dormant, the first cold file wakes it */
static void test_dormant(void **state)
{
    (void)state;
    check_wakes_on_cold(1, 200, 128, "test_dormant");
}

/* the default start: no thread while the files are warm (the takes open
 * them), the first cold file starts it */
static void test_lazy_start(void **state)
{
    (void)state;
    check_wakes_on_cold(0, 150, 16, "test_lazy_start");
}

static void test_stop_early(void **state)
{
    (void)state;
    int before = count_fds();
    dc_prefetch *p = dc_prefetch_start_eager(paths, N_FILES, 64);
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
        cmocka_unit_test(test_dormant),
        cmocka_unit_test(test_lazy_start),
        cmocka_unit_test(test_heads_under_contention),
        cmocka_unit_test(test_stop_early),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
