/*
 * dc_util.h - small shared helpers: growable buffers, string vectors, checked
 * allocation, logging, natural-order comparison.
 *
 * Everything here is plain C with no MPI and no knowledge of DICOM, so every
 * other module (and the unit tests) can use it.  Logging knows the MPI rank
 * only through dc_log_set_rank(), which main() calls once.
 */
#ifndef DC_UTIL_H
#define DC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define DC_VERSION "0.1.0"

/* Error message buffers passed down the stack are this long. */
#define DC_ERRLEN 512

/* ---- allocation: abort with a message on out-of-memory (the only abort) ---- */
void *dc_malloc(size_t n);
void *dc_calloc(size_t n, size_t size);
void *dc_realloc(void *p, size_t n);
char *dc_strdup(const char *s);
char *dc_strndup(const char *s, size_t n);
/* snprintf(dst, cap, "%.*s", max, src) without the format parsing: at most
 * max bytes of src, truncated to cap - 1, always terminated (cap > 0) */
void dc_copy_str(char *dst, size_t cap, const char *src, size_t max);
/* qsort, skipped when base[0..n) is already in order (one pass of n - 1
 * comparisons): the result is the input, as a stable sort would give */
void dc_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
/* printf into a new heap string */
char *dc_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- growable byte buffer ---- */
typedef struct {
    char *data; /* always NUL-terminated when len > 0 or after dc_buf_cstr */
    size_t len;
    size_t cap;
} dc_buf;

void dc_buf_init(dc_buf *b);
void dc_buf_free(dc_buf *b);
void dc_buf_reset(dc_buf *b); /* len = 0, keeps memory */
void dc_buf_reserve(dc_buf *b, size_t extra);
void dc_buf_append(dc_buf *b, const void *p, size_t n);
void dc_buf_puts(dc_buf *b, const char *s);
void dc_buf_putc(dc_buf *b, char c);
void dc_buf_printf(dc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *dc_buf_cstr(dc_buf *b); /* NUL-terminates and returns data ("" if empty) */
/* take ownership of the data (NUL-terminated); the buffer is left empty */
char *dc_buf_steal(dc_buf *b);

/* ---- vector of owned strings ---- */
typedef struct {
    char **v;
    size_t n;
    size_t cap;
} dc_strvec;

void dc_strvec_init(dc_strvec *s);
void dc_strvec_free(dc_strvec *s);
void dc_strvec_push(dc_strvec *s, const char *str);     /* copies */
void dc_strvec_push_own(dc_strvec *s, char *str);        /* takes ownership */

/* ---- set of owned strings (open addressing) ---- */
typedef struct {
    char **slot; /* NULL = empty */
    size_t n, cap;
} dc_strset;

void dc_strset_init(dc_strset *s);
void dc_strset_free(dc_strset *s);
int dc_strset_add(dc_strset *s, const char *str); /* 1 if added, 0 if present */
int dc_strset_has(const dc_strset *s, const char *str);

/* ---- strings ---- */
/* Natural order: runs of digits compare by numeric value ("img2" < "img10").
 * Ties are broken by plain strcmp so the order is total. */
int dc_natcmp(const char *a, const char *b);
/* Trim trailing spaces/NULs (and leading spaces if lead != 0) in place over
 * [*p, *p + *n); adjusts pointer and length. */
void dc_trim(const char **p, size_t *n, int lead);
/* 1 if s ends with suffix */
int dc_endswith(const char *s, const char *suffix);

/* ---- logging ---- */
enum { DC_LOG_ERROR = 0, DC_LOG_WARN = 1, DC_LOG_INFO = 2, DC_LOG_DEBUG = 3 };
void dc_log_set_level(int level);
int dc_log_get_level(void);
void dc_log_set_rank(int rank, int nranks);
/* a filter every log message passes through before it is printed (the
 * privacy profile pseudonymises input paths); NULL: none */
typedef void (*dc_log_filter_fn)(char *msg, size_t cap);
void dc_log_set_filter(dc_log_filter_fn f);
/* Messages go to stderr prefixed with "dcmcrawl[rank]: level: ". */
void dc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define dc_error(...) dc_log(DC_LOG_ERROR, __VA_ARGS__)
#define dc_warn(...) dc_log(DC_LOG_WARN, __VA_ARGS__)
#define dc_info(...) dc_log(DC_LOG_INFO, __VA_ARGS__)
#define dc_debug(...) dc_log(DC_LOG_DEBUG, __VA_ARGS__)

/* ---- time ---- */
double dc_now(void); /* monotonic seconds */

/* ---- 64-bit FNV-1a hash, for signatures and hash tables ---- */
uint64_t dc_hash64(const void *p, size_t n, uint64_t seed);
/* dc_hash64 with two seeds in one pass: h[0] and h[1] go on over p[0..n)
 * (the two multiply chains side by side, what two calls would give) */
void dc_hash64_pair(const void *p, size_t n, uint64_t h[2]);
/* the same over the bytes of s before its NUL (no strlen first) */
void dc_hash64_pair_str(const char *s, uint64_t h[2]);
#define DC_HASH_SEED 1469598103934665603ULL

/* ---- files ---- */
/* the folder of path ("." when it has none); caller frees */
char *dc_dir_of(const char *path);
/* fsync a file or (is_dir) a folder by path; 0 or -1 */
int dc_fsync_path(const char *path, int is_dir);
/* fsync the folder holding path (makes a new or renamed entry durable) */
int dc_fsync_dir_of(const char *path);
/* pwrite all of buf at off (retrying short writes and EINTR); 0 or -1 */
int dc_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* replace path with len bytes atomically: write <path>.tmp, fsync, rename over path,
 * fsync its folder; 0, or -1 with errno set and the temp file removed */
int dc_replace_file(const char *path, const void *data, size_t len);
/* " (N KiB free on its file system)" for the file system holding path's
 * folder, or "" when that cannot be told: for write-failure messages */
void dc_free_space_note(const char *path, char *out, size_t outlen);

#endif
