/*
 * util.c - growable buffers, string vectors, checked allocation, logging,
 * natural-order comparison, hashing, small file helpers.  See dc_util.h.
 */
#include "dc_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* ---- allocation ---- */

static void oom(size_t n)
{
    fprintf(stderr, "dcmcrawl: out of memory allocating %zu bytes\n", n);
    abort();
}

void *dc_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *dc_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *dc_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *dc_strdup(const char *s)
{
    return dc_strndup(s, strlen(s));
}

void dc_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    const char *p = base;
    size_t i = 1;
    while (i < n && cmp(p + (i - 1) * size, p + i * size) <= 0) i++;
    if (i < n) qsort(base, n, size, cmp);
}

void dc_copy_str(char *dst, size_t cap, const char *src, size_t max)
{
    size_t n = strnlen(src, max < cap - 1 ? max : cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

char *dc_strndup(const char *s, size_t n)
{
    char *p = dc_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *dc_asprintf(const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof small) return dc_strndup(small, (size_t)n);
    char *p = dc_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* ---- dc_buf ---- */

void dc_buf_init(dc_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void dc_buf_free(dc_buf *b)
{
    free(b->data);
    dc_buf_init(b);
}

void dc_buf_reset(dc_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void dc_buf_reserve(dc_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    b->data = dc_realloc(b->data, cap);
    b->cap = cap;
}

void dc_buf_append(dc_buf *b, const void *p, size_t n)
{
    dc_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void dc_buf_puts(dc_buf *b, const char *s)
{
    dc_buf_append(b, s, strlen(s));
}

void dc_buf_putc(dc_buf *b, char c)
{
    dc_buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void dc_buf_printf(dc_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    if ((size_t)n < sizeof small) {
        dc_buf_append(b, small, (size_t)n);
        return;
    }
    dc_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *dc_buf_cstr(dc_buf *b)
{
    if (!b->data) return "";
    return b->data;
}

char *dc_buf_steal(dc_buf *b)
{
    char *p = b->data ? b->data : dc_strdup("");
    dc_buf_init(b);
    return p;
}

/* ---- dc_strvec ---- */

void dc_strvec_init(dc_strvec *s)
{
    s->v = NULL;
    s->n = s->cap = 0;
}

void dc_strvec_free(dc_strvec *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    dc_strvec_init(s);
}

void dc_strvec_push_own(dc_strvec *s, char *str)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = dc_realloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = str;
}

void dc_strvec_push(dc_strvec *s, const char *str)
{
    dc_strvec_push_own(s, dc_strdup(str));
}

/* ---- dc_strset ---- */

void dc_strset_init(dc_strset *s)
{
    s->slot = NULL;
    s->n = s->cap = 0;
}

void dc_strset_free(dc_strset *s)
{
    for (size_t i = 0; i < s->cap; i++) free(s->slot[i]);
    free(s->slot);
    dc_strset_init(s);
}

static size_t strset_pos(char *const *slot, size_t cap, const char *str)
{
    size_t h = (size_t)dc_hash64(str, strlen(str), DC_HASH_SEED) & (cap - 1);
    while (slot[h] && strcmp(slot[h], str) != 0) h = (h + 1) & (cap - 1);
    return h;
}

int dc_strset_has(const dc_strset *s, const char *str)
{
    return s->cap && s->slot[strset_pos(s->slot, s->cap, str)] != NULL;
}

int dc_strset_add(dc_strset *s, const char *str)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **slot = dc_calloc(cap, sizeof(char *));
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i]) slot[strset_pos(slot, cap, s->slot[i])] = s->slot[i];
        free(s->slot);
        s->slot = slot;
        s->cap = cap;
    }
    size_t h = strset_pos(s->slot, s->cap, str);
    if (s->slot[h]) return 0;
    s->slot[h] = dc_strdup(str);
    s->n++;
    return 1;
}

/* ---- strings ---- */

int dc_natcmp(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p && *q) {
        if (isdigit(*p) && isdigit(*q)) {
            /* skip leading zeros, then compare by length, then digit by digit */
            const unsigned char *ps = p, *qs = q;
            while (*ps == '0') ps++;
            while (*qs == '0') qs++;
            const unsigned char *pe = ps, *qe = qs;
            while (isdigit(*pe)) pe++;
            while (isdigit(*qe)) qe++;
            size_t lp = (size_t)(pe - ps), lq = (size_t)(qe - qs);
            if (lp != lq) return lp < lq ? -1 : 1;
            int c = memcmp(ps, qs, lp);
            if (c) return c < 0 ? -1 : 1;
            p = pe;
            q = qe;
            continue;
        }
        if (*p != *q) return *p < *q ? -1 : 1;
        p++;
        q++;
    }
    if (*p || *q) return *p ? 1 : -1;
    int c = strcmp(a, b); /* equal numerically ("01" vs "1"): total order */
    return c < 0 ? -1 : (c > 0);
}

void dc_trim(const char **p, size_t *n, int lead)
{
    const char *s = *p;
    size_t len = *n;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\0')) len--;
    if (lead)
        while (len > 0 && *s == ' ') {
            s++;
            len--;
        }
    *p = s;
    *n = len;
}

int dc_endswith(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* ---- logging ---- */

static int g_level = DC_LOG_INFO;
static int g_rank = 0;
static int g_nranks = 1;

void dc_log_set_level(int level)
{
    g_level = level;
}

int dc_log_get_level(void)
{
    return g_level;
}

void dc_log_set_rank(int rank, int nranks)
{
    g_rank = rank;
    g_nranks = nranks;
}

static dc_log_filter_fn g_filter;

void dc_log_set_filter(dc_log_filter_fn f)
{
    g_filter = f;
}

void dc_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    if (level > g_level) return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g_filter) g_filter(msg, sizeof msg);
    if (g_nranks > 1)
        fprintf(stderr, "dcmcrawl[%d]: %s: %s\n", g_rank, names[level], msg);
    else
        fprintf(stderr, "dcmcrawl: %s: %s\n", names[level], msg);
}

/* ---- time, hash ---- */

double dc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* FNV-1a's step */
#define FNV_PRIME 1099511628211ULL

uint64_t dc_hash64(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = seed;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * FNV_PRIME;
    return h;
}

void dc_hash64_pair(const void *p, size_t n, uint64_t h[2])
{
    const unsigned char *s = p;
    uint64_t a = h[0], b = h[1];
    for (size_t i = 0; i < n; i++) {
        a = (a ^ s[i]) * FNV_PRIME;
        b = (b ^ s[i]) * FNV_PRIME;
    }
    h[0] = a;
    h[1] = b;
}

void dc_hash64_pair_str(const char *s, uint64_t h[2])
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t a = h[0], b = h[1];
    for (; *p; p++) {
        a = (a ^ *p) * FNV_PRIME;
        b = (b ^ *p) * FNV_PRIME;
    }
    h[0] = a;
    h[1] = b;
}

/* ---- files ---- */

char *dc_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return dc_strdup(".");
    if (slash == path) return dc_strdup("/");
    return dc_strndup(path, (size_t)(slash - path));
}

int dc_fsync_path(const char *path, int is_dir)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (is_dir ? O_DIRECTORY : 0));
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int dc_fsync_dir_of(const char *path)
{
    char *d = dc_dir_of(path);
    int rc = dc_fsync_path(d, 1);
    free(d);
    return rc;
}

int dc_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int dc_replace_file(const char *path, const void *data, size_t len)
{
    char *tmp = dc_asprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd >= 0 && dc_pwrite_all(fd, data, len, 0) == 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0 && close(fd) != 0) rc = -1;
    if (rc == 0) rc = rename(tmp, path);
    if (rc == 0) {
        dc_fsync_dir_of(path);
    } else {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    }
    free(tmp);
    return rc;
}

void dc_free_space_note(const char *path, char *out, size_t outlen)
{
    struct statvfs fs;
    char *d = dc_dir_of(path);
    if (statvfs(d, &fs) == 0)
        snprintf(out, outlen, " (%llu KiB free on its file system)",
                 (unsigned long long)fs.f_bavail * fs.f_frsize / 1024);
    else if (outlen)
        out[0] = '\0';
    free(d);
}
