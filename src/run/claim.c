/*
 * claim.c - an exclusive claim on one output for the whole run (dc_claim.h).
 *
 * How the pieces fit:
 *   pure:    format / parse the claim file, read field 22 of /proc/<pid>/stat,
 *            judge a claim live or stale from plain facts (unit tested);
 *   facts:   this host, its boot id, the holder's pid as seen in /proc;
 *   take:    write our claim to a private temp file, link(2) it to the claim
 *            name (atomic and exclusive on local disks, NFS, Lustre, GPFS);
 *            if the name exists, judge the claim there: live -> refuse
 *            (exit 2), stale -> take it over (below), then link again;
 *            another host's claim within its lease is watched until it is
 *            renewed (live) or its lease runs out (stale);
 *   renew:   a thread touches the file (mtime = now) every lease/3 seconds
 *            and checks the name still points at our file;
 *   release: stop and join the thread, remove the file if it is still ours.
 *
 * Takeover between two runs that both judged the same claim stale: each
 * renames the claim name to a name of its own, then checks that what it
 * moved is the very file it judged (same device and inode).  Only one rename
 * can move that file; the other run moves nothing (ENOENT) or the winner's
 * fresh claim, which it puts back at once with link(2) (which never replaces
 * an existing name), and then finds the winner's claim live.
 */
#include "dc_claim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dc_stop.h"

enum { MAX_ATTEMPTS = 8, MAX_CLAIM_BYTES = 8192 };

/* ------------------------------------------------------------------ pure */

void dc_claim_format(const dc_claim_rec *r, dc_buf *out)
{
    dc_buf_puts(out, "dcmcrawl claim\n");
    dc_buf_printf(out, "output=%s\n", r->output);
    dc_buf_printf(out, "host=%s\n", r->host);
    dc_buf_printf(out, "boot_id=%s\n", r->boot_id);
    dc_buf_printf(out, "pid=%ld\n", r->pid);
    dc_buf_printf(out, "pid_start=%llu\n", r->pid_start);
    dc_buf_printf(out, "started=%lld\n", r->started);
    dc_buf_printf(out, "job=%s\n", r->job);
    dc_buf_printf(out, "lease_seconds=%ld\n", r->lease);
}

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int parse_long_long(const char *v, size_t n, long long *out)
{
    char tmp[32];
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    char *end = NULL;
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (errno || *end) return -1;
    *out = x;
    return 0;
}

/* one "key=value" line into r; unknown keys are ignored (newer writers) */
static void parse_line(const char *line, size_t n, dc_claim_rec *r, int *have_pid)
{
    const char *eq = memchr(line, '=', n);
    if (!eq) return;
    size_t klen = (size_t)(eq - line), vlen = n - klen - 1;
    const char *v = eq + 1;
    long long x;
#define KEY(k) (klen == sizeof k - 1 && memcmp(line, k, klen) == 0)
    if (KEY("host"))
        copy_value(r->host, sizeof r->host, v, vlen);
    else if (KEY("boot_id"))
        copy_value(r->boot_id, sizeof r->boot_id, v, vlen);
    else if (KEY("output"))
        copy_value(r->output, sizeof r->output, v, vlen);
    else if (KEY("job"))
        copy_value(r->job, sizeof r->job, v, vlen);
    else if (KEY("pid") && parse_long_long(v, vlen, &x) == 0 && x > 0) {
        r->pid = (long)x;
        *have_pid = 1;
    } else if (KEY("pid_start") && parse_long_long(v, vlen, &x) == 0 && x >= 0)
        r->pid_start = (unsigned long long)x;
    else if (KEY("started") && parse_long_long(v, vlen, &x) == 0)
        r->started = x;
    else if (KEY("lease_seconds") && parse_long_long(v, vlen, &x) == 0 && x > 0)
        r->lease = (long)x;
#undef KEY
}

int dc_claim_parse(const char *text, size_t len, dc_claim_rec *r)
{
    static const char magic[] = "dcmcrawl claim\n";
    memset(r, 0, sizeof *r);
    if (len < sizeof magic - 1 || memcmp(text, magic, sizeof magic - 1) != 0) return -1;
    int have_pid = 0;
    size_t pos = sizeof magic - 1;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        parse_line(text + pos, n, r, &have_pid);
        pos += n + 1;
    }
    return r->host[0] && have_pid ? 0 : -1;
}

int dc_claim_proc_start(const char *stat_text, unsigned long long *start)
{
    /* "pid (comm) state f4 f5 ...": comm may hold spaces and ')', so fields
     * are counted from the last ')'; the state is field 3 */
    const char *p = strrchr(stat_text, ')');
    if (!p) return -1;
    p++;
    for (int field = 3; field <= 22; field++) {
        while (*p == ' ') p++;
        if (!*p || *p == '\n') return -1;
        if (field == 22) {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(p, &end, 10);
            if (errno || end == p) return -1;
            *start = v;
            return 0;
        }
        while (*p && *p != ' ' && *p != '\n') p++;
    }
    return -1;
}

int dc_claim_judge(const dc_claim_rec *r, const dc_claim_facts *f)
{
    int same_host = r && strcmp(r->host, f->host) == 0;
    int same_boot = r && r->boot_id[0] && f->boot_id[0] && strcmp(r->boot_id, f->boot_id) == 0;
    if (same_host && same_boot) {
        if (!f->pid_alive) return DC_CLAIM_STALE_PID_GONE;
        if (r->pid_start && f->pid_start && r->pid_start != f->pid_start)
            return DC_CLAIM_STALE_PID_REUSED;
        return DC_CLAIM_LIVE;
    }
    /* another host, another boot of this one (a host name two machines
     * share must not make us judge a pid we cannot see), or unreadable */
    long lease = r && r->lease > 0 ? r->lease : f->default_lease;
    return f->now - f->mtime > lease ? DC_CLAIM_STALE_LEASE : DC_CLAIM_LEASED;
}

const char *dc_claim_verdict_text(int verdict)
{
    switch (verdict) {
    case DC_CLAIM_STALE_PID_GONE:
        return "its process is gone";
    case DC_CLAIM_STALE_PID_REUSED:
        return "its process id now belongs to another process";
    case DC_CLAIM_STALE_LEASE:
        return "its lease expired (not renewed)";
    case DC_CLAIM_LEASED:
        return "its lease has not expired";
    default:
        return "it is held";
    }
}

void dc_claim_describe(const dc_claim_rec *r, dc_buf *out)
{
    char when[32] = "unknown";
    time_t t = (time_t)r->started;
    struct tm tm;
    if (r->started > 0 && gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    dc_buf_printf(out, "host %s, pid %ld, started %s", r->host, r->pid, when);
    if (r->job[0]) dc_buf_printf(out, ", %s", r->job);
}

/* ------------------------------------------------------------------ facts */

/* this host's name, or DCMCRAWL_CLAIM_HOST (test hook: "another host") */
static void host_name(char *out, size_t cap)
{
    const char *fake = getenv("DCMCRAWL_CLAIM_HOST");
    if (fake && *fake) {
        snprintf(out, cap, "%s", fake);
        return;
    }
    if (gethostname(out, cap) != 0) snprintf(out, cap, "unknown");
    out[cap - 1] = '\0';
}

/* a small file's text into buf (NUL-terminated); bytes read or -1 */
static ssize_t read_small(const char *path, char *buf, size_t cap, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    if (st && fstat(fd, st) != 0) {
        close(fd);
        return -1;
    }
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t k = read(fd, buf + n, cap - 1 - n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

/* stat through open + fstat: on NFS an open revalidates the attributes with
 * the server (close-to-open consistency), a plain stat may answer from the
 * client's attribute cache (up to a minute old) and hide a renewal */
static int stat_fresh(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    int rc = fstat(fd, st);
    close(fd);
    return rc;
}

static void boot_id(char *out, size_t cap)
{
    out[0] = '\0';
    if (read_small("/proc/sys/kernel/random/boot_id", out, cap, NULL) < 0) out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
}

/* is pid a live process here (not a zombie), and its start time (0 unknown) */
static int pid_facts(long pid, unsigned long long *start)
{
    char path[64], text[1024];
    *start = 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if (read_small(path, text, sizeof text, NULL) <= 0) {
        if (access("/proc/self/stat", R_OK) == 0) return 0; /* /proc works: the pid is gone */
        return kill((pid_t)pid, 0) == 0 || errno == EPERM;  /* no /proc: ask the kernel */
    }
    const char *p = strrchr(text, ')');
    if (p && (p[1] == ' ') && (p[2] == 'Z' || p[2] == 'X')) return 0; /* killed, not reaped */
    if (dc_claim_proc_start(text, start) != 0) *start = 0;
    return 1;
}

static void slurm_job(char *out, size_t cap)
{
    const char *job = getenv("SLURM_JOB_ID");
    const char *ajob = getenv("SLURM_ARRAY_JOB_ID");
    const char *task = getenv("SLURM_ARRAY_TASK_ID");
    out[0] = '\0';
    if (job && *job && ajob && *ajob && task && *task)
        snprintf(out, cap, "SLURM job %s (array %s_%s)", job, ajob, task);
    else if (job && *job)
        snprintf(out, cap, "SLURM job %s", job);
}

static void my_record(const dc_config *cfg, const char *output, dc_claim_rec *r)
{
    memset(r, 0, sizeof *r);
    host_name(r->host, sizeof r->host);
    boot_id(r->boot_id, sizeof r->boot_id);
    r->pid = (long)getpid();
    pid_facts(r->pid, &r->pid_start);
    r->started = (long long)time(NULL);
    slurm_job(r->job, sizeof r->job);
    snprintf(r->output, sizeof r->output, "%s", output);
    r->lease = cfg->claim_lease_seconds > 0 ? cfg->claim_lease_seconds : DC_CLAIM_DEFAULT_LEASE;
}

/* ------------------------------------------------------------------ paths */

char *dc_claim_path(const dc_config *cfg)
{
    return dc_config_out_path(cfg, "dcmcrawl_claim", ".txt");
}

char *dc_claim_path_of_index(const char *index_path)
{
    char *dir = dc_dir_of(index_path);
    const char *base = strrchr(index_path, '/');
    base = base ? base + 1 : index_path;
    const char *prefix = "pixel_data_";
    char *path;
    size_t plen = strlen(prefix), blen = strlen(base);
    if (blen > plen + 3 && strncmp(base, prefix, plen) == 0 && dc_endswith(base, ".h5"))
        path = dc_asprintf("%s/dcmcrawl_claim_%.*s.txt", dir, (int)(blen - plen - 3), base + plen);
    else
        path = dc_asprintf("%s/dcmcrawl_claim.txt", dir);
    free(dir);
    return path;
}

/* "output id '<id>' in <folder>", for messages and the claim file */
static char *output_name(const dc_config *cfg)
{
    const char *folder = cfg->out_folder && *cfg->out_folder ? cfg->out_folder : ".";
    if (cfg->out_id && *cfg->out_id)
        return dc_asprintf("output id '%s' in %s", cfg->out_id, folder);
    return dc_asprintf("output (no id) in %s", folder);
}

/* ------------------------------------------------------------------ judging a claim file */

typedef struct {
    int exists;
    int parsed;
    dc_claim_rec rec;
    struct stat st;
    int verdict;
    int interrupted; /* a stop signal came while watching it */
} seen_claim;

static void look_at(const char *path, long default_lease, seen_claim *s)
{
    char text[MAX_CLAIM_BYTES];
    memset(s, 0, sizeof *s);
    ssize_t n = read_small(path, text, sizeof text, &s->st);
    if (n < 0) return; /* gone (released meanwhile) or unreadable: try again */
    s->exists = 1;
    s->parsed = dc_claim_parse(text, (size_t)n, &s->rec) == 0;
    char host[256], boot[64];
    host_name(host, sizeof host);
    boot_id(boot, sizeof boot);
    dc_claim_facts f = {.host = host,
                        .boot_id = boot,
                        .now = (long long)time(NULL),
                        .mtime = (long long)s->st.st_mtime,
                        .default_lease = default_lease};
    if (s->parsed) f.pid_alive = pid_facts(s->rec.pid, &f.pid_start);
    s->verdict = dc_claim_judge(s->parsed ? &s->rec : NULL, &f);
}

static void describe_seen(const seen_claim *s, dc_buf *out)
{
    if (s->parsed)
        dc_claim_describe(&s->rec, out);
    else
        dc_buf_puts(out, "holder unknown (the claim file is not a dcmcrawl claim)");
}

static int same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mtime == b->st_mtime &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_size == b->st_size;
}

/* s is another host's claim within its lease: watch the file until it is
 * renewed or replaced (s judged again; a renewed claim is LIVE) or its lease
 * runs out by our clock (STALE_LEASE).  A live holder renews every lease/3 s,
 * so a live claim is recognised within about that; a dead one is taken over
 * when its lease ends, as it would be by a run started then. */
static void watch_lease(const char *path, long default_lease, seen_claim *s)
{
    long lease = s->parsed && s->rec.lease > 0 ? s->rec.lease : default_lease;
    long long left = (long long)s->st.st_mtime + lease - (long long)time(NULL);
    dc_buf who;
    dc_buf_init(&who);
    describe_seen(s, &who);
    dc_info("%s: held by a run on another host or from before a reboot (%s); watching up to "
            "%lld s for it to renew the claim (it does every %ld s while it runs)",
            path, dc_buf_cstr(&who), left + 1, lease / 3 > 0 ? lease / 3 : 1);
    dc_buf_free(&who);
    for (;;) {
        struct timespec pause = {0, 250000000L};
        nanosleep(&pause, NULL);
        if (dc_stop_signal()) { /* SIGTERM/SIGINT while watching: stop, nothing written */
            s->interrupted = 1;
            return;
        }
        struct stat now;
        if (stat_fresh(path, &now) != 0 || !same_file_state(&now, &s->st)) {
            look_at(path, default_lease, s); /* renewed, replaced or removed: judge again */
            if (s->verdict == DC_CLAIM_LEASED) s->verdict = DC_CLAIM_LIVE; /* it renews */
            return;
        }
        if ((long long)time(NULL) - (long long)s->st.st_mtime > lease) {
            s->verdict = DC_CLAIM_STALE_LEASE;
            return;
        }
    }
}

/* ------------------------------------------------------------------ holding */

static struct {
    int held;
    int fd; /* our claim file, open for renewal and identity */
    char *path;
    long lease;
    pthread_t renewer;
    int renewing;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int quit;
} g = {0, -1, NULL, 0, 0, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

/* does the claim name still point at our file? */
static int still_ours(void)
{
    struct stat a, b;
    return fstat(g.fd, &a) == 0 && stat_fresh(g.path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* The renewal thread.  It only touches the claim file: no MPI, no HDF5,
 * nothing shared with the run but stderr (dc_log, one fprintf per line).
 * main() initialises MPI with MPI_Init (MPI_THREAD_SINGLE); a thread that
 * never calls MPI is within that contract in practice: Open MPI does not
 * tell SINGLE from FUNNELED (both take no locks, and it runs threads of its
 * own beside the application), and FUNNELED allows exactly this.  All
 * signals are blocked in it, so SIGTERM/SIGINT still reach the main thread
 * (stop.c) and interrupt its sleeps as before. */
static void *renew_loop(void *arg)
{
    (void)arg;
    double period = g.lease / 3.0 < 0.2 ? 0.2 : g.lease / 3.0;
    int lost = 0;
    pthread_mutex_lock(&g.mu);
    while (!g.quit) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        double wait = lost ? 1.0 : period;
        until.tv_sec += (time_t)wait;
        until.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!g.quit && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&g.cv, &g.mu, &until);
        if (g.quit) break;
        if (futimens(g.fd, NULL) != 0)
            dc_warn("%s: cannot renew the claim: %s", g.path, strerror(errno));
        if (still_ours()) {
            lost = 0;
            continue;
        }
        if (++lost < 2) continue; /* a loser of a takeover puts it back within microseconds */
        dc_error("%s: this run's claim was taken over or removed (another run may now use the "
                 "same output): stopping at the next checkpoint",
                 g.path);
        kill(getpid(), SIGTERM); /* stop.c's handler: the run stops cleanly */
        break;
    }
    pthread_mutex_unlock(&g.mu);
    return NULL;
}

static void start_renewal(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g.cv, &ca);
    pthread_condattr_destroy(&ca);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* the thread inherits the mask */
    g.quit = 0;
    g.renewing = pthread_create(&g.renewer, NULL, renew_loop, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!g.renewing) dc_warn("%s: cannot start the claim renewal: the lease may expire", g.path);
}

void dc_claim_release(void)
{
    if (!g.held) return;
    if (g.renewing) {
        pthread_mutex_lock(&g.mu);
        g.quit = 1;
        pthread_cond_signal(&g.cv);
        pthread_mutex_unlock(&g.mu);
        pthread_join(g.renewer, NULL);
        pthread_cond_destroy(&g.cv); /* start_renewal initialises it again */
        g.renewing = 0;
    }
    if (still_ours() && unlink(g.path) != 0)
        dc_warn("%s: cannot remove the claim: %s (remove it by hand)", g.path, strerror(errno));
    close(g.fd);
    g.fd = -1;
    free(g.path);
    g.path = NULL;
    g.held = 0;
}

/* ------------------------------------------------------------------ taking */

/* our claim in a temp file of our own; fd stays open (it becomes the claim).
 * Returns fd or -1 with errno set. */
static int write_temp(const char *tmp, const dc_claim_rec *me)
{
    dc_buf text;
    dc_buf_init(&text);
    dc_claim_format(me, &text);
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -1 : dc_pwrite_all(fd, text.data, text.len, 0);
    if (rc == 0) rc = fsync(fd);
    int saved = errno;
    dc_buf_free(&text);
    if (fd >= 0 && rc != 0) {
        close(fd);
        unlink(tmp);
        fd = -1;
    }
    errno = saved;
    return fd;
}

/* link tmp to path: 1 linked, 0 path exists, -1 error (errno).  A link
 * whose reply was lost (NFS retransmission) shows as two links to tmp. */
static int link_exclusive(const char *tmp, const char *path)
{
    if (link(tmp, path) == 0) return 1;
    int saved = errno;
    struct stat st;
    if (stat(tmp, &st) == 0 && st.st_nlink == 2) return 1;
    errno = saved;
    return saved == EEXIST ? 0 : -1;
}

/* Takes over the stale claim s at path: moves it to a name of our own and
 * checks that it is the file we judged; anything else moved is put back.
 * 0 (taken over, or nothing to take: try again) or -1 error. */
static int take_over(const char *path, const char *moved, const seen_claim *s)
{
    if (rename(path, moved) != 0) return errno == ENOENT ? 0 : -1;
    struct stat st;
    if (stat_fresh(moved, &st) == 0 && st.st_dev == s->st.st_dev && st.st_ino == s->st.st_ino) {
        dc_buf who;
        dc_buf_init(&who);
        describe_seen(s, &who);
        dc_warn("%s: took over a stale claim (%s; %s)", path, dc_buf_cstr(&who),
                dc_claim_verdict_text(s->verdict));
        dc_buf_free(&who);
        unlink(moved);
        return 0;
    }
    /* a fresh claim of the run that took it over first: put it back */
    if (link(moved, path) != 0 && errno != EEXIST) return -1;
    unlink(moved);
    return 0;
}

static void refuse(const dc_config *cfg, const char *path, const seen_claim *s)
{
    char *out = output_name(cfg);
    dc_buf who;
    dc_buf_init(&who);
    describe_seen(s, &who);
    dc_error("%s is in use by another dcmcrawl run (%s): not starting. Claim file: %s. Run "
             "again when that run has ended; a claim whose run is gone is taken over "
             "automatically.",
             out, dc_buf_cstr(&who), path);
    dc_buf_free(&who);
    free(out);
}

static int claim_loop(const dc_config *cfg, const char *path, const char *tmp, const char *moved,
                      long lease)
{
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        int l = link_exclusive(tmp, path);
        if (l == 1) return 0;
        if (l < 0) {
            dc_error("%s: cannot create the claim: %s", path, strerror(errno));
            return 1;
        }
        seen_claim s;
        look_at(path, lease, &s);
        if (s.exists && s.verdict == DC_CLAIM_LEASED) watch_lease(path, lease, &s);
        if (s.interrupted) {
            dc_warn("%s: stopped by a signal while waiting for the claim: nothing written", path);
            return 3;
        }
        if (!s.exists) continue; /* released meanwhile */
        if (s.verdict == DC_CLAIM_LIVE || s.verdict == DC_CLAIM_LEASED) {
            refuse(cfg, path, &s);
            return 2;
        }
        if (take_over(path, moved, &s) != 0) {
            dc_error("%s: cannot take over the stale claim: %s", path, strerror(errno));
            return 1;
        }
    }
    dc_error("%s: the claim changed hands %d times while this run tried to take it: not starting",
             path, MAX_ATTEMPTS);
    return 2;
}

/* A full disk: go on unclaimed unless a live run holds the claim. */
static int take_on_full_disk(const dc_config *cfg, const char *path, long lease, int err)
{
    seen_claim s;
    look_at(path, lease, &s);
    if (s.exists && (s.verdict == DC_CLAIM_LIVE || s.verdict == DC_CLAIM_LEASED)) {
        refuse(cfg, path, &s);
        return 2;
    }
    dc_warn("%s: cannot write the claim (%s): running without one; another run on the same "
            "output would not be noticed",
            path, strerror(err));
    return 0;
}

int dc_claim_take(const dc_config *cfg)
{
    char *path = dc_claim_path(cfg);
    if (cfg->dry_run) {
        dc_claim_note(path, "this dry run does not claim them and writes nothing");
        free(path);
        return 0;
    }
    char *output = output_name(cfg);
    dc_claim_rec me;
    my_record(cfg, output, &me);
    free(output);
    char *tmp = dc_asprintf("%s.new.%s.%ld", path, me.host, me.pid);
    char *moved = dc_asprintf("%s.stale.%s.%ld", path, me.host, me.pid);
    int rc;
    int fd = write_temp(tmp, &me);
    if (fd < 0 && (errno == ENOSPC || errno == EDQUOT)) {
        rc = take_on_full_disk(cfg, path, me.lease, errno);
    } else if (fd < 0) {
        dc_error("%s: cannot create the claim: %s", tmp, strerror(errno));
        rc = 1;
    } else {
        rc = claim_loop(cfg, path, tmp, moved, me.lease);
        unlink(tmp);
        if (rc == 0) {
            g.held = 1;
            g.fd = fd;
            g.path = dc_strdup(path);
            g.lease = me.lease;
            dc_fsync_dir_of(path);
            dc_debug("%s: claimed (lease %ld s)", path, me.lease);
            start_renewal();
        } else {
            close(fd);
        }
    }
    free(tmp);
    free(moved);
    free(path);
    return rc;
}

void dc_claim_note(const char *claim_path, const char *what)
{
    seen_claim s;
    look_at(claim_path, DC_CLAIM_DEFAULT_LEASE, &s);
    if (!s.exists || (s.verdict != DC_CLAIM_LIVE && s.verdict != DC_CLAIM_LEASED)) return;
    dc_buf who;
    dc_buf_init(&who);
    describe_seen(&s, &who);
    fprintf(stderr,
            "dcmcrawl: note: a run holds the claim on these outputs (%s; claim file %s): %s\n",
            dc_buf_cstr(&who), claim_path, what);
    dc_buf_free(&who);
}
