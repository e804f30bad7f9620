/*
 * test_claim.c - claim.c: the claim file's text (format/parse round trip,
 * damaged files), field 22 of /proc/<pid>/stat (odd process names), the
 * stale decision for every combination of host, boot, pid and lease facts,
 * claim paths, and dc_claim_take/release on a temporary folder: a claim of a
 * dead pid and of an expired other host taken over, a live one (our parent
 * process, another host with a fresh mtime) refused with 2, the renewal
 * thread moving the mtime forward, the file gone after release.
 *
 * The integration side (two real runs, kills, 1 and 2 ranks) is
 * tests/integration/test_claim.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dc_claim.h"

/* ------------------------------------------------------------------ pure */

static dc_claim_rec sample_rec(void)
{
    dc_claim_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.host, sizeof r.host, "node-17.cluster");
    snprintf(r.boot_id, sizeof r.boot_id, "6021b4f0-ba28-493a-a045-4ae0e201cb64");
    r.pid = 424242;
    r.pid_start = 987654321ULL;
    r.started = 1000000000LL;
    snprintf(r.job, sizeof r.job, "SLURM job 4711 (array 4700_3)");
    snprintf(r.output, sizeof r.output, "output id 'x' in /scratch/out");
    r.lease = 75;
    return r;
}

static void test_round_trip(void **state)
{
    (void)state;
    dc_claim_rec a = sample_rec(), b;
    dc_buf t;
    dc_buf_init(&t);
    dc_claim_format(&a, &t);
    assert_int_equal(dc_claim_parse(t.data, t.len, &b), 0);
    assert_string_equal(b.host, a.host);
    assert_string_equal(b.boot_id, a.boot_id);
    assert_int_equal(b.pid, a.pid);
    assert_true(b.pid_start == a.pid_start);
    assert_true(b.started == a.started);
    assert_string_equal(b.job, a.job);
    assert_string_equal(b.output, a.output);
    assert_int_equal(b.lease, a.lease);
    /* no trailing newline, unknown keys and lines without '=' are ignored */
    const char *t2 = "dcmcrawl claim\nfuture_key=1\nnonsense\nhost=h\npid=12";
    assert_int_equal(dc_claim_parse(t2, strlen(t2), &b), 0);
    assert_string_equal(b.host, "h");
    assert_int_equal(b.pid, 12);
    assert_int_equal(b.lease, 0);
    assert_true(b.pid_start == 0);
    dc_buf_free(&t);
}

static void test_parse_damaged(void **state)
{
    (void)state;
    dc_claim_rec r;
    const char *bad[] = {
        "",                                  /* empty (a crash before the write) */
        "dcmcrawl clai",                     /* torn magic */
        "something else\nhost=h\npid=1\n",   /* not a claim */
        "dcmcrawl claim\nhost=h\n",          /* no pid */
        "dcmcrawl claim\npid=5\n",           /* no host */
        "dcmcrawl claim\nhost=h\npid=12x\n", /* pid not a number */
        "dcmcrawl claim\nhost=h\npid=-3\n",  /* pid not positive */
        "dcmcrawl claim\nhost=\npid=3\n",    /* empty host */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(dc_claim_parse(bad[i], strlen(bad[i]), &r), -1);
    /* an over-long host is cut to the field, not overflowing it */
    char longtext[1200];
    int n = snprintf(longtext, sizeof longtext, "dcmcrawl claim\npid=9\nhost=");
    memset(longtext + n, 'a', 1000);
    longtext[n + 1000] = '\0';
    assert_int_equal(dc_claim_parse(longtext, strlen(longtext), &r), 0);
    assert_int_equal(strlen(r.host), sizeof r.host - 1);
}

static void test_proc_start(void **state)
{
    (void)state;
    /* fields 3..52 hold 1000 + field number; the name has spaces and ')' */
    char text[1024];
    int n = snprintf(text, sizeof text, "77 (a) b (c)) S");
    for (int f = 4; f <= 52; f++) n += snprintf(text + n, sizeof text - (size_t)n, " %d", 1000 + f);
    snprintf(text + n, sizeof text - (size_t)n, "\n");
    unsigned long long start = 0;
    assert_int_equal(dc_claim_proc_start(text, &start), 0);
    assert_true(start == 1022);
    /* cut before field 22, or no ')' at all */
    assert_int_equal(dc_claim_proc_start("77 (x) S 1 2 3 4 5\n", &start), -1);
    assert_int_equal(dc_claim_proc_start("77 x S 1 2 3", &start), -1);
    /* this process: the value /proc gives, read independently with sscanf */
    FILE *fh = fopen("/proc/self/stat", "r");
    if (!fh) return;
    char buf[1024];
    size_t k = fread(buf, 1, sizeof buf - 1, fh);
    fclose(fh);
    buf[k] = '\0';
    unsigned long long want = 0;
    const char *p = strrchr(buf, ')');
    assert_non_null(p);
    assert_int_equal(sscanf(p + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                            "%*d %*d %*d %llu",
                            &want),
                     1);
    assert_int_equal(dc_claim_proc_start(buf, &start), 0);
    assert_true(start == want);
}

static dc_claim_facts facts_here(long long now, long long mtime, int alive, unsigned long long st)
{
    dc_claim_facts f = {
        "node-17.cluster", "6021b4f0-ba28-493a-a045-4ae0e201cb64", now, mtime, alive, st, 90};
    return f;
}

static void test_judge(void **state)
{
    (void)state;
    dc_claim_rec r = sample_rec(); /* lease 75 */
    long long now = 2000000000LL;
    dc_claim_facts f;
    /* same host, same boot: the pid decides, the mtime does not */
    f = facts_here(now, now - 100000, 1, r.pid_start);
    assert_int_equal(dc_claim_judge(&r, &f), DC_CLAIM_LIVE);
    f = facts_here(now, now, 0, 0);
    assert_int_equal(dc_claim_judge(&r, &f), DC_CLAIM_STALE_PID_GONE);
    f = facts_here(now, now, 1, r.pid_start + 5);
    assert_int_equal(dc_claim_judge(&r, &f), DC_CLAIM_STALE_PID_REUSED);
    f = facts_here(now, now, 1, 0); /* start time unknown: alive is enough */
    assert_int_equal(dc_claim_judge(&r, &f), DC_CLAIM_LIVE);
    dc_claim_rec r0 = r;
    r0.pid_start = 0; /* a claim that did not know its start time */
    f = facts_here(now, now, 1, 12345);
    assert_int_equal(dc_claim_judge(&r0, &f), DC_CLAIM_LIVE);

    /* another host: the lease decides, whatever a local pid of that number does */
    dc_claim_rec other = r;
    snprintf(other.host, sizeof other.host, "node-18.cluster");
    f = facts_here(now, now - 75, 0, 0);
    assert_int_equal(dc_claim_judge(&other, &f), DC_CLAIM_LEASED); /* exactly the lease: held */
    f = facts_here(now, now - 76, 1, r.pid_start);
    assert_int_equal(dc_claim_judge(&other, &f), DC_CLAIM_STALE_LEASE);
    f = facts_here(now, now + 30, 0, 0); /* holder's clock ahead of ours */
    assert_int_equal(dc_claim_judge(&other, &f), DC_CLAIM_LEASED);

    /* this host after a reboot (another boot id) or boot ids unknown: lease */
    dc_claim_rec boot = r;
    snprintf(boot.boot_id, sizeof boot.boot_id, "11111111-2222-3333-4444-555555555555");
    f = facts_here(now, now - 10, 0, 0);
    assert_int_equal(dc_claim_judge(&boot, &f), DC_CLAIM_LEASED);
    f = facts_here(now, now - 80, 0, 0);
    assert_int_equal(dc_claim_judge(&boot, &f), DC_CLAIM_STALE_LEASE);
    dc_claim_rec noboot = r;
    noboot.boot_id[0] = '\0';
    f = facts_here(now, now - 10, 0, 0);
    assert_int_equal(dc_claim_judge(&noboot, &f), DC_CLAIM_LEASED);

    /* an unreadable claim file, or one without a lease: the reader's lease (90) */
    f = facts_here(now, now - 90, 0, 0);
    assert_int_equal(dc_claim_judge(NULL, &f), DC_CLAIM_LEASED);
    f = facts_here(now, now - 91, 0, 0);
    assert_int_equal(dc_claim_judge(NULL, &f), DC_CLAIM_STALE_LEASE);
    other.lease = 0;
    f = facts_here(now, now - 80, 0, 0);
    assert_int_equal(dc_claim_judge(&other, &f), DC_CLAIM_LEASED);
}

static void test_describe_and_paths(void **state)
{
    (void)state;
    dc_claim_rec r = sample_rec();
    dc_buf b;
    dc_buf_init(&b);
    dc_claim_describe(&r, &b);
    assert_string_equal(dc_buf_cstr(&b), "host node-17.cluster, pid 424242, started "
                                         "2001-09-09T01:46:40Z, SLURM job 4711 (array 4700_3)");
    dc_buf_reset(&b);
    r.job[0] = '\0';
    r.started = 0;
    dc_claim_describe(&r, &b);
    assert_string_equal(dc_buf_cstr(&b), "host node-17.cluster, pid 424242, started unknown");
    dc_buf_free(&b);

    /* the path pack derives from an index is the path the run used */
    dc_config cfg;
    dc_config_init(&cfg);
    free(cfg.out_folder);
    cfg.out_folder = dc_strdup("/scratch/out");
    cfg.out_id = dc_strdup("run_7");
    char *a = dc_claim_path(&cfg);
    char *p = dc_claim_path_of_index("/scratch/out/pixel_data_run_7.h5");
    assert_string_equal(a, "/scratch/out/dcmcrawl_claim_run_7.txt");
    assert_string_equal(p, a);
    free(a);
    free(p);
    free(cfg.out_id);
    cfg.out_id = NULL;
    a = dc_claim_path(&cfg);
    p = dc_claim_path_of_index("/scratch/out/pixel_data.h5");
    assert_string_equal(a, "/scratch/out/dcmcrawl_claim.txt");
    assert_string_equal(p, a);
    free(a);
    free(p);
    p = dc_claim_path_of_index("pixel_data_x.h5");
    assert_string_equal(p, "./dcmcrawl_claim_x.txt");
    free(p);
    dc_config_free(&cfg);
}

/* ------------------------------------------------------------------ take / release */

static char dir[256];
static dc_config cfg;

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dc_claim_test_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    dc_config_init(&cfg);
    free(cfg.out_folder);
    cfg.out_folder = dc_strdup(dir);
    cfg.out_id = dc_strdup("t");
    cfg.claim_lease_seconds = 2;
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    char *path = dc_claim_path(&cfg);
    unlink(path);
    free(path);
    rmdir(dir);
    dc_config_free(&cfg);
    return 0;
}

/* a claim file as another run would leave it; mtime = now - age */
static void plant(const dc_claim_rec *r, long age)
{
    char *path = dc_claim_path(&cfg);
    dc_buf t;
    dc_buf_init(&t);
    dc_claim_format(r, &t);
    FILE *fh = fopen(path, "w");
    assert_non_null(fh);
    fwrite(t.data, 1, t.len, fh);
    fclose(fh);
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= age;
    ts[1] = ts[0];
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    dc_buf_free(&t);
    free(path);
}

/* the claim file's holder pid, 0 when there is none */
static long holder(void)
{
    char *path = dc_claim_path(&cfg);
    char text[8192];
    FILE *fh = fopen(path, "r");
    free(path);
    if (!fh) return 0;
    size_t n = fread(text, 1, sizeof text - 1, fh);
    fclose(fh);
    dc_claim_rec r;
    return dc_claim_parse(text, n, &r) == 0 ? r.pid : -1;
}

static dc_claim_rec this_host(long pid)
{
    dc_claim_rec r;
    memset(&r, 0, sizeof r);
    gethostname(r.host, sizeof r.host);
    FILE *fh = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (fh) {
        if (fgets(r.boot_id, sizeof r.boot_id, fh)) r.boot_id[strcspn(r.boot_id, "\n")] = '\0';
        fclose(fh);
    }
    r.pid = pid;
    r.lease = 2;
    r.started = (long long)time(NULL);
    return r;
}

static void test_take_release(void **state)
{
    (void)state;
    assert_int_equal(dc_claim_take(&cfg), 0);
    assert_int_equal(holder(), (long)getpid());
    /* the renewal thread moves the mtime forward (lease 2 s: every 0.67 s) */
    char *path = dc_claim_path(&cfg);
    struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    usleep(1200000);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_mtime > time(NULL) - 3);
    dc_claim_release();
    assert_int_equal(access(path, F_OK), -1);
    dc_claim_release(); /* a second release does nothing */
    /* nothing left beside it: no temp or moved files */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)\"", dir);
    assert_int_equal(system(cmd), 0);
    free(path);
}

static void test_dead_pid_taken_over(void **state)
{
    (void)state;
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0); /* gone and reaped */
    dc_claim_rec r = this_host(child);
    plant(&r, 0);
    assert_int_equal(dc_claim_take(&cfg), 0);
    assert_int_equal(holder(), (long)getpid());
    dc_claim_release();
    assert_int_equal(holder(), 0);
}

static void test_live_pid_refused(void **state)
{
    (void)state;
    /* our parent process, with its real start time: live whatever the mtime */
    dc_claim_rec r = this_host((long)getppid());
    char p[64], text[1024];
    snprintf(p, sizeof p, "/proc/%ld/stat", r.pid);
    FILE *fh = fopen(p, "r");
    assert_non_null(fh);
    size_t n = fread(text, 1, sizeof text - 1, fh);
    fclose(fh);
    text[n] = '\0';
    assert_int_equal(dc_claim_proc_start(text, &r.pid_start), 0);
    plant(&r, 1000);
    assert_int_equal(dc_claim_take(&cfg), 2);
    assert_int_equal(holder(), r.pid); /* untouched */
    /* the same pid with another start time is a reused pid: taken over */
    r.pid_start += 1;
    plant(&r, 0);
    assert_int_equal(dc_claim_take(&cfg), 0);
    assert_int_equal(holder(), (long)getpid());
    dc_claim_release();
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* a process on "another host" that renews its claim every 0.3 s */
static pid_t start_renewer(void)
{
    char *path = dc_claim_path(&cfg);
    pid_t child = fork();
    if (child == 0) {
        for (;;) {
            usleep(300000);
            utimensat(AT_FDCWD, path, NULL, 0);
        }
    }
    free(path);
    return child;
}

static void test_other_host_lease(void **state)
{
    (void)state;
    dc_claim_rec r = this_host((long)getpid() + 100000); /* no such pid here */
    snprintf(r.host, sizeof r.host, "some-other-node");
    r.lease = 30;
    /* renewed 5 s ago and renewed again while we watch: held */
    plant(&r, 5);
    pid_t renewer = start_renewer();
    double t0 = seconds();
    assert_int_equal(dc_claim_take(&cfg), 2);
    assert_true(seconds() - t0 < 5);
    assert_int_equal(holder(), r.pid);
    kill(renewer, SIGKILL);
    waitpid(renewer, NULL, 0);
    /* not renewed for longer than its lease: stale at once */
    plant(&r, 31);
    t0 = seconds();
    assert_int_equal(dc_claim_take(&cfg), 0);
    assert_true(seconds() - t0 < 1);
    assert_int_equal(holder(), (long)getpid());
    dc_claim_release();
    /* within its lease and not renewed (the node died): taken over when the
     * lease (2 s, renewed 0 s ago) runs out, not before */
    r.lease = 2;
    plant(&r, 0);
    t0 = seconds();
    assert_int_equal(dc_claim_take(&cfg), 0);
    assert_true(seconds() - t0 >= 1.0);
    assert_int_equal(holder(), (long)getpid());
    dc_claim_release();
    /* a file that is not a claim at all: judged by its age and our lease (2 s) */
    char *path = dc_claim_path(&cfg);
    FILE *fh = fopen(path, "w");
    fputs("garbage", fh);
    fclose(fh);
    renewer = start_renewer();
    assert_int_equal(dc_claim_take(&cfg), 2);
    kill(renewer, SIGKILL);
    waitpid(renewer, NULL, 0);
    struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    assert_int_equal(dc_claim_take(&cfg), 0);
    dc_claim_release();
    assert_int_equal(access(path, F_OK), -1);
    free(path);
}

static void test_dry_run_does_not_claim(void **state)
{
    (void)state;
    cfg.dry_run = 1;
    assert_int_equal(dc_claim_take(&cfg), 0);
    assert_int_equal(holder(), 0);
    cfg.dry_run = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),          cmocka_unit_test(test_parse_damaged),
        cmocka_unit_test(test_proc_start),          cmocka_unit_test(test_judge),
        cmocka_unit_test(test_describe_and_paths),  cmocka_unit_test(test_take_release),
        cmocka_unit_test(test_dead_pid_taken_over), cmocka_unit_test(test_live_pid_refused),
        cmocka_unit_test(test_other_host_lease),    cmocka_unit_test(test_dry_run_does_not_claim),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
