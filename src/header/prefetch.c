/*
 * prefetch.c - a thread that opens the header pass's next files ahead of
 * the parser and asks the kernel to read their first bytes.  See
 * dc_prefetch.h.
 */
#include "dc_prefetch.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dc_dicom.h"
#include "dc_util.h"

/* what the parser reads first (dicom.c: the first 64 KiB) */
#define PREFETCH_BYTES 65536
/* files opened ahead: 128 measured best of 32/128 (cold 100k files, 2 ranks) */
#define PREFETCH_DEPTH 128
/* after this many files in a row whose first bytes the page cache held, the
 * thread goes dormant (see dc_prefetch.h) */
#define PREFETCH_WARM_RUN 64

struct dc_prefetch {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *const *paths;
    size_t n, depth;
    int *fds;     /* per file: an open descriptor not taken yet, else -1 */
    /* per file i, in slot i % depth: its fstat and first bytes (head_len 0:
     * not in the page cache when opened, or not read) */
    dc_file_stat *stat;
    uint8_t **head;
    size_t *head_len;
    uint8_t *given; /* the head handed over by the last take (swapped with its slot) */
    size_t next;  /* the thread's next file (all before it are done or skipped) */
    size_t taken; /* the parser has taken every file before this one */
    size_t released; /* takes finished (heads swapped out): slots of files
                      * before released + depth are the thread's */
    int opening;  /* the thread is opening file next */
    size_t warm_run; /* files in a row the thread found in the page cache */
    int dormant;  /* the files are warm: the parser opens them, the thread sleeps */
    int started;  /* the thread runs (from the first cold file on) */
    int failed;   /* the thread could not start */
    int thread_waits, parser_waits; /* who sleeps on cv (wake-ups only then) */
    int quit;
};

/* an open regular file with its fstat, and its first bytes when the page
 * cache holds them (read without waiting for the disk: RWF_NOWAIT), else
 * on their way into the page cache; or -1 (the parser opens it again and
 * says why) */
static int open_ahead(const char *path, dc_file_stat *fst, uint8_t *head, size_t *head_len)
{
    *head_len = 0;
    int fd = dc_open_input(path);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    *fst = dc_file_stat_of(&st);
    size_t want = st.st_size < DC_PARSE_FIRST_READ ? (size_t)st.st_size : DC_PARSE_FIRST_READ;
    struct iovec iov = {head, want};
    ssize_t got = want ? preadv2(fd, &iov, 1, 0, RWF_NOWAIT) : -1;
    if (got == (ssize_t)want)
        *head_len = want;
    else /* cold (EAGAIN), partly cached or not supported: the parser reads */
        (void)posix_fadvise(fd, 0, PREFETCH_BYTES, POSIX_FADV_WILLNEED);
    return fd;
}

static void *prefetch_loop(void *arg)
{
    dc_prefetch *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->next < p->taken) p->next = p->taken; /* the parser got there first */
        while (!p->quit && p->next < p->n && (p->dormant || p->next >= p->released + p->depth)) {
            p->thread_waits = 1;
            pthread_cond_wait(&p->cv, &p->mu);
            p->thread_waits = 0;
            if (p->next < p->taken) p->next = p->taken;
        }
        if (p->quit || p->next >= p->n) break;
        size_t i = p->next, slot = i % p->depth;
        p->opening = 1;
        /* the slot's buffer is stable: the take of file i - depth, its
         * last user, finished (its head swapped out) before the loop got
         * here, and only the take of file i swaps it again */
        uint8_t *head = p->head[slot];
        pthread_mutex_unlock(&p->mu);
        dc_file_stat fst = {0, 0, 0, 0, 0};
        size_t head_len;
        int fd = open_ahead(p->paths[i], &fst, head, &head_len);
        pthread_mutex_lock(&p->mu);
        p->fds[i] = fd;
        p->stat[slot] = fst;
        p->head_len[slot] = fd >= 0 ? head_len : 0;
        p->warm_run = p->head_len[slot] ? p->warm_run + 1 : 0;
        if (p->warm_run >= PREFETCH_WARM_RUN) p->dormant = 1;
        p->next = i + 1;
        p->opening = 0;
        if (p->parser_waits) pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void free_slots(dc_prefetch *p)
{
    for (size_t i = 0; p->head && i < p->depth; i++) free(p->head[i]);
    free(p->head);
    free(p->head_len);
    free(p->stat);
    free(p->given);
    free(p->fds);
    free(p);
}

/* the thread, from file `from` on (p->mu held); 0 if it could not start
 * (the parser then opens every file itself) */
static int start_thread(dc_prefetch *p, size_t from)
{
    /* the slots, only now (a warm window never needs them) */
    p->stat = dc_calloc(p->depth, sizeof *p->stat);
    p->head = dc_calloc(p->depth, sizeof *p->head);
    p->head_len = dc_calloc(p->depth, sizeof *p->head_len);
    for (size_t i = 0; i < p->depth; i++) p->head[i] = dc_malloc(DC_PARSE_FIRST_READ);
    p->next = from;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* signals stay with the main thread */
    int rc = pthread_create(&p->thread, NULL, prefetch_loop, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    p->started = rc == 0;
    return p->started;
}

dc_prefetch *dc_prefetch_start(char *const *paths, size_t n, size_t depth)
{
    if (depth == 0 || n < 2) return NULL;
    dc_prefetch *p = dc_calloc(1, sizeof *p);
    p->paths = paths;
    p->n = n;
    p->depth = depth;
    p->fds = dc_malloc(n * sizeof *p->fds);
    for (size_t i = 0; i < n; i++) p->fds[i] = -1;
    if (depth > n) p->depth = n;
    p->given = dc_malloc(DC_PARSE_FIRST_READ);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->dormant = 1; /* the first file not in the page cache starts the thread */
    return p;
}

int dc_prefetch_take(dc_prefetch *p, size_t i, dc_input *in)
{
    *in = (dc_input){-1, {0, 0, 0, 0, 0}, NULL, 0};
    if (!p || i >= p->n) return -1;
    pthread_mutex_lock(&p->mu);
    if (p->taken < i + 1) p->taken = i + 1; /* the thread skips it if not there yet */
    while (p->opening && p->next == i) { /* in flight */
        p->parser_waits = 1;
        pthread_cond_wait(&p->cv, &p->mu);
        p->parser_waits = 0;
    }
    if (i < p->next && p->fds[i] >= 0) {
        size_t slot = i % p->depth;
        in->fd = p->fds[i];
        p->fds[i] = -1;
        in->stat = p->stat[slot];
        if (p->head_len[slot]) { /* the slot gets the previous head's buffer */
            uint8_t *h = p->head[slot];
            p->head[slot] = p->given;
            p->given = h;
            in->head = h;
            in->head_len = p->head_len[slot];
        }
    }
    int open_here = in->fd < 0 && p->dormant && !p->failed;
    p->released = i + 1;
    /* wake a waiting thread once half its room is free: one wake-up per
     * depth/2 files, not one per file (a futex call each, measured warm) */
    if (p->thread_waits && !p->dormant && p->next + p->depth / 2 <= p->released + p->depth)
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (open_here) { /* dormant: the thread's work, here; a cold file wakes it */
        size_t head_len;
        in->fd = open_ahead(p->paths[i], &in->stat, p->given, &head_len);
        if (in->fd >= 0 && head_len) {
            in->head = p->given; /* the last take's head is no longer in use */
            in->head_len = head_len;
        } else if (in->fd >= 0) {
            pthread_mutex_lock(&p->mu);
            p->dormant = 0;
            p->warm_run = 0;
            if (!p->started)
                p->failed = !start_thread(p, i + 1);
            else if (p->thread_waits)
                pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return in->fd;
}

int dc_prefetch_dormant(dc_prefetch *p)
{
    if (!p) return 0;
    pthread_mutex_lock(&p->mu);
    int d = p->dormant;
    pthread_mutex_unlock(&p->mu);
    return d;
}

void dc_prefetch_stop(dc_prefetch *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    int started = p->started;
    pthread_mutex_unlock(&p->mu);
    if (started) pthread_join(p->thread, NULL);
    for (size_t i = 0; i < p->n; i++)
        if (p->fds[i] >= 0) close(p->fds[i]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free_slots(p);
}

size_t dc_prefetch_depth(void)
{
    size_t depth = PREFETCH_DEPTH;
    const char *e = getenv("DCMCRAWL_PREFETCH");
    if (e && *e) {
        char *end;
        unsigned long v = strtoul(e, &end, 10);
        if (!*end) depth = (size_t)v;
    }
    /* open files ahead must never starve the run's own opens */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && depth > rl.rlim_cur / 4)
        depth = (size_t)(rl.rlim_cur / 4);
    return depth;
}

dc_prefetch *dc_prefetch_start_eager(char *const *paths, size_t n, size_t depth)
{
    dc_prefetch *p = dc_prefetch_start(paths, n, depth);
    if (!p) return NULL;
    pthread_mutex_lock(&p->mu);
    p->dormant = 0;
    int ok = start_thread(p, 0);
    pthread_mutex_unlock(&p->mu);
    if (!ok) {
        dc_prefetch_stop(p);
        return NULL;
    }
    return p;
}
