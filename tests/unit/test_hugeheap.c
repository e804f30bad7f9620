/*
 * test_hugeheap.c - dc_hugeheap.h: after dc_hugeheap_init the heap's free
 * room and every later growth (followed) are marked for huge pages
 * (/proc/self/smaps VmFlags "hg"), the memory keeps what is written to it,
 * and DCMCRAWL_HUGEHEAP=0 leaves the heap unmarked (in a child process: the
 * setting is read once per process).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dc_hugeheap.h"

/* bytes of [lo, hi) inside mappings whose VmFlags include "hg" */
static size_t marked_bytes(uintptr_t lo, uintptr_t hi)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512];
    uintptr_t a = 0, b = 0;
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long x, y;
        if (sscanf(line, "%lx-%lx ", &x, &y) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            a = x;
            b = y;
        } else if (!strncmp(line, "VmFlags:", 8) && strstr(line, " hg")) {
            uintptr_t s = a > lo ? a : lo, e = b < hi ? b : hi;
            if (s < e) n += e - s;
        }
    }
    fclose(f);
    return n;
}

static void test_growth_marked_and_intact(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* AddressSanitizer's allocator does not grow the brk heap */
#endif
    uintptr_t start = (uintptr_t)sbrk(0);
    dc_hugeheap_init();
    uintptr_t after_init = (uintptr_t)sbrk(0);
    assert_true(after_init > start);                               /* room was made */
    assert_true(marked_bytes(start, after_init) >= ((size_t)8 << 20)); /* and marked */
    /* 48 MiB in small blocks: the heap grows past the room; followed */
    enum { N = 48 * 1024 };
    unsigned char **blk = malloc(N * sizeof *blk);
    for (int i = 0; i < N; i++) {
        blk[i] = malloc(1000);
        memset(blk[i], i & 0xFF, 1000);
        dc_hugeheap_follow();
    }
    uintptr_t end = (uintptr_t)sbrk(0);
    assert_true(end > after_init);
    /* everything from the start is marked but the page the start shared */
    assert_true(marked_bytes(start, end) + 4096 >= end - start);
    for (int i = 0; i < N; i++) {
        assert_int_equal(blk[i][0], i & 0xFF);
        assert_int_equal(blk[i][999], i & 0xFF);
        free(blk[i]);
    }
    free(blk);
    dc_hugeheap_reserve(); /* after frees: nothing to do, no crash */
}

/* the child run of test_off_switch: DCMCRAWL_HUGEHEAP=0 set, a fresh process */
static int off_child(void)
{
    uintptr_t start = (uintptr_t)sbrk(0);
    dc_hugeheap_init();
    for (int i = 0; i < 40 * 1024; i++) {
        memset(malloc(1000), 1, 1000);
        dc_hugeheap_follow();
    }
    dc_hugeheap_reserve();
    return marked_bytes(start, (uintptr_t)sbrk(0)) == 0 ? 0 : 3;
}

static void test_off_switch(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* (as above; the child would fail to exec under LeakSanitizer's ptrace too) */
#endif
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("DCMCRAWL_HUGEHEAP", "0", 1);
        execl("/proc/self/exe", "test_hugeheap", "--off-child", (char *)NULL);
        _exit(2);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--off-child")) return off_child();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_switch),
        cmocka_unit_test(test_growth_marked_and_intact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
