/*
 * walk.c - enumerate the regular files in scope (SPEC 3), in a fixed order.
 *
 * visit_dir() handles one directory: it reads every entry into a per-directory
 * arena (read_entries; no stat when the file system gives d_type, one
 * fstatat per entry of unknown type or symlink followed), sorts the names with strcmp, appends
 * the regular files to the list under the directory's scope, and, in
 * recursive mode, descends into the subdirectories in sorted order.  The only
 * per-file allocation is the file's path string.
 *
 * Every directory is opened once: its (st_dev, st_ino), taken from the open
 * handle, goes into a small hash set, so a symlink loop or a folder listed
 * twice is walked once.  With follow_symlinks true, symlinks to files are
 * listed under the link's name, and symlinks to directories are queued and
 * walked after all real directories, so a directory reachable both ways gets
 * its real path as scope.  With follow_symlinks false, symlinks are never
 * followed (lstat semantics) and only counted.  FIFOs, devices and sockets are
 * counted and never opened.  Unreadable directories are logged and counted.
 */
#include "dc_walk.h"

#include "dc_csv.h" /* dc_utf8_escape */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ list */

void dc_filelist_init(dc_filelist *fl)
{
    memset(fl, 0, sizeof *fl);
    dc_strvec_init(&fl->scopes);
}

void dc_filelist_free(dc_filelist *fl)
{
    for (size_t i = 0; i < fl->n; i++) free(fl->files[i].path);
    free(fl->files);
    dc_strvec_free(&fl->scopes);
    free(fl->scope_is_input);
    free(fl->scope_sig);
    free(fl->scope_done);
    dc_filelist_init(fl);
}

static uint32_t add_scope(dc_filelist *fl, const char *path, int is_input)
{
    dc_strvec_push(&fl->scopes, path);
    fl->scope_is_input = dc_realloc(fl->scope_is_input, fl->scopes.cap);
    fl->scope_is_input[fl->scopes.n - 1] = (uint8_t)is_input;
    return (uint32_t)(fl->scopes.n - 1);
}

/* the folder ledger's view of a scope (only with a ledger, dc_walk_set_ledger) */
static void set_scope_sig(dc_filelist *fl, uint32_t scope, const dc_folder_sig *sig, int done)
{
    fl->scope_sig = dc_realloc(fl->scope_sig, fl->scopes.cap * sizeof *fl->scope_sig);
    fl->scope_done = dc_realloc(fl->scope_done, fl->scopes.cap);
    for (size_t i = fl->n_sig; i < scope; i++) { /* scopes added without one */
        memset(&fl->scope_sig[i], 0, sizeof *fl->scope_sig);
        fl->scope_done[i] = 0;
    }
    fl->scope_sig[scope] = *sig;
    fl->scope_done[scope] = (uint8_t)done;
    fl->n_sig = (size_t)scope + 1;
}

static void add_file(dc_filelist *fl, char *path, uint32_t scope)
{
    if (fl->n == fl->cap) {
        fl->cap = fl->cap ? fl->cap * 2 : 1024;
        fl->files = dc_realloc(fl->files, fl->cap * sizeof *fl->files);
    }
    fl->files[fl->n].path = path;
    fl->files[fl->n].scope = scope;
    fl->n++;
}

/* "a" + "b" -> "a/b"; "a/" + "b" -> "a/b" (like os.path.join) */
static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    int sep = a > 0 && dir[a - 1] != '/';
    char *p = dc_malloc(a + (size_t)sep + b + 1);
    memcpy(p, dir, a);
    if (sep) p[a] = '/';
    memcpy(p + a + (size_t)sep, name, b + 1);
    return p;
}

/* ------------------------------------------------------------------ visited set */

typedef struct {
    dev_t dev;
    ino_t ino;
    int used;
} dirkey;

typedef struct {
    dirkey *slot;
    size_t cap, n; /* cap a power of two */
} dirset;

static size_t dirset_hash(dev_t dev, ino_t ino, size_t cap)
{
    uint64_t k[2] = {(uint64_t)dev, (uint64_t)ino};
    return (size_t)dc_hash64(k, sizeof k, DC_HASH_SEED) & (cap - 1);
}

static void dirset_grow(dirset *s);

/* Adds (dev, ino); returns 1 if it was new, 0 if already there. */
static int dirset_add(dirset *s, dev_t dev, ino_t ino)
{
    if (2 * (s->n + 1) > s->cap) dirset_grow(s);
    size_t i = dirset_hash(dev, ino, s->cap);
    while (s->slot[i].used) {
        if (s->slot[i].dev == dev && s->slot[i].ino == ino) return 0;
        i = (i + 1) & (s->cap - 1);
    }
    s->slot[i].dev = dev;
    s->slot[i].ino = ino;
    s->slot[i].used = 1;
    s->n++;
    return 1;
}

static void dirset_grow(dirset *s)
{
    dirset bigger = {dc_calloc(s->cap ? s->cap * 2 : 64, sizeof(dirkey)), s->cap ? s->cap * 2 : 64,
                     0};
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i].used) dirset_add(&bigger, s->slot[i].dev, s->slot[i].ino);
    free(s->slot);
    *s = bigger;
}

/* ------------------------------------------------------------------ one directory */

enum { E_FILE, E_DIR, E_LINKDIR };

typedef struct {
    const char *name; /* into the level's arena, set once reading is done */
    size_t off;
    int kind;
} entry;

/* The entries of one directory: names packed in one arena. */
typedef struct {
    dc_buf names;
    entry *e;
    size_t n, cap;
} level;

/* a directory read, whose files and subdirectories are being walked */
typedef struct {
    char *dir;
    level lv;
    size_t next;     /* next entry to look at for subdirectories */
    int is_input;
    int files_added; /* its files are in a window */
    dc_folder_sig sig; /* with a ledger: its regular files' signature */
} frame;

/* the walk cursor (dc_walk_cursor): a depth-first walk as an explicit stack */
struct dc_walk_cursor {
    const dc_config *cfg;
    dc_filelist *fl;      /* the window being filled */
    int (*stop)(void);
    int stopped, finished;
    frame *stack;
    size_t depth, cap;
    size_t next_input;    /* next of cfg->folders to visit */
    size_t next_pending;  /* next of pending to visit */
    dirset seen;
    dc_strvec pending;    /* symlinked directories, walked after every real one */
    dc_strvec unreadable; /* directories that could not be opened ... */
    dc_buf unreadable_kind; /* ... and DC_SCOPE_DENIED or DC_SCOPE_FAILED for each */
    int stat_failed;      /* a stat other than ENOENT failed in the current directory */
    /* the folder ledger (dc_walk_set_ledger): ledger 0 without one */
    int ledger;
    int (*known)(void *ctx, const char *dir); /* 0: not signed here (from_records) */
    int (*done)(void *ctx, const char *dir, const dc_folder_sig *sig);
    void *done_ctx;
    size_t n_done;        /* done folders in the window being filled */
};
typedef struct dc_walk_cursor walker;

static void level_add(level *lv, const char *name, int kind)
{
    if (lv->n == lv->cap) {
        lv->cap = lv->cap ? lv->cap * 2 : 64;
        lv->e = dc_realloc(lv->e, lv->cap * sizeof *lv->e);
    }
    lv->e[lv->n].off = lv->names.len;
    lv->e[lv->n].kind = kind;
    lv->n++;
    dc_buf_append(&lv->names, name, strlen(name) + 1);
}

static void level_free(level *lv)
{
    dc_buf_free(&lv->names);
    free(lv->e);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* stat of one entry; 0, or -1 when it is to be skipped (logged/counted). */
static int stat_entry(walker *w, int dfd, const char *dir, const char *name, int follow,
                      struct stat *st)
{
    if (fstatat(dfd, name, st, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0) return 0;
    if (errno == ENOENT && follow) {
        dc_debug("%s/%s: dangling symlink, skipped", dir, name);
        w->fl->n_symlinks++;
    } else if (errno == ENOENT) {
        dc_debug("%s/%s: vanished while walking, skipped", dir, name);
    } else {
        dc_warn("%s/%s: cannot stat: %s", dir, name, strerror(errno));
        w->stat_failed = 1;
    }
    return -1;
}

/* Classifies an entry by its stat and adds files and directories to lv;
 * via_link: the stat followed a symlink. */
static void add_by_mode(walker *w, level *lv, const char *name, const struct stat *st, int via_link)
{
    if (S_ISREG(st->st_mode))
        level_add(lv, name, E_FILE);
    else if (S_ISDIR(st->st_mode))
        level_add(lv, name, via_link ? E_LINKDIR : E_DIR);
    else if (S_ISLNK(st->st_mode))
        w->fl->n_symlinks++;
    else
        w->fl->n_special++;
}

static void read_entry(walker *w, int dfd, const char *dir, const struct dirent *de, level *lv)
{
    const char *name = de->d_name;
    struct stat st;
    switch (de->d_type) {
    case DT_DIR:
        level_add(lv, name, E_DIR); /* (dev, ino) come from the opened handle */
        return;
    case DT_FIFO:
    case DT_CHR:
    case DT_BLK:
    case DT_SOCK:
        w->fl->n_special++;
        return;
    case DT_LNK:
        if (!w->cfg->follow_symlinks) {
            w->fl->n_symlinks++;
            return;
        }
        if (stat_entry(w, dfd, dir, name, 1, &st) == 0) add_by_mode(w, lv, name, &st, 1);
        return;
    case DT_REG:
        /* no stat: the header pass opens and fstats every file anyway (one
         * fstatat per file was ~5% of a metadata crawl, on rank 0 alone) */
        level_add(lv, name, E_FILE);
        return;
    default: { /* DT_UNKNOWN needs the type */
        if (stat_entry(w, dfd, dir, name, 0, &st) != 0) return;
        int link = S_ISLNK(st.st_mode) && w->cfg->follow_symlinks;
        if (link && stat_entry(w, dfd, dir, name, 1, &st) != 0) return;
        add_by_mode(w, lv, name, &st, link);
    }
    }
}

/* Reads all entries of d; returns 0 or -1 (readdir error, logged). */
static int read_entries(walker *w, DIR *d, const char *dir, level *lv)
{
    int dfd = dirfd(d);
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0'))) continue;
        read_entry(w, dfd, dir, de, lv);
        errno = 0;
    }
    if (errno) {
        dc_warn("%s: cannot read directory: %s", dir, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < lv->n; i++) lv->e[i].name = lv->names.data + lv->e[i].off;
    if (lv->n > 1) qsort(lv->e, lv->n, sizeof *lv->e, cmp_entry);
    return 0;
}

/* ------------------------------------------------------------------ folder signature */

void dc_folder_sig_init(dc_folder_sig *s)
{
    s->a = DC_HASH_SEED;
    s->b = 0x9e3779b97f4a7c15ULL;
    s->n_files = 0;
    s->ok = 1;
    s->from_records = 0;
}

void dc_folder_sig_add(dc_folder_sig *s, const char *name, uint64_t size, int64_t mtime_ns,
                       int64_t ctime_ns, uint64_t ino)
{
    uint64_t v[4] = {size, (uint64_t)mtime_ns, (uint64_t)ctime_ns, ino};
    /* a = dc_hash64(v, dc_hash64(name with its NUL, a)), b likewise from
     * b ^ 0xa5..., in one pass (the NUL keeps "ab"+"c" apart from "a"+"bc") */
    uint64_t h[2] = {s->a, s->b ^ 0xa5a5a5a5a5a5a5a5ULL};
    dc_hash64_pair_str(name, h);
    dc_hash64_pair("", 1, h);
    dc_hash64_pair(v, sizeof v, h);
    s->a = h[0];
    s->b = h[1];
    s->n_files++;
}

static int64_t ns_of(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + (int64_t)t.tv_nsec;
}

/* The signature of a directory's regular files (sorted lv, dfd open): one
 * fstatat each, taken before any of them is read, so a file changed after
 * this makes the next resume read the folder again (never the reverse). */
static void sign_folder(int dfd, const level *lv, dc_folder_sig *sig)
{
    dc_folder_sig_init(sig);
    for (size_t i = 0; i < lv->n && sig->ok; i++) {
        if (lv->e[i].kind != E_FILE) continue;
        struct stat st;
        if (fstatat(dfd, lv->e[i].name, &st, 0) != 0 || !S_ISREG(st.st_mode)) {
            sig->ok = 0; /* vanished or changed: not for the ledger */
            break;
        }
        dc_folder_sig_add(sig, lv->e[i].name, (uint64_t)st.st_size, ns_of(st.st_mtim),
                          ns_of(st.st_ctim), (uint64_t)st.st_ino);
    }
}

/* Opens dir unless it was walked already; NULL when skipped (logged). */
static DIR *open_once(walker *w, const char *dir)
{
    DIR *d = opendir(dir);
    struct stat st;
    if (!d) {
        int e = errno;
        dc_warn("%s: cannot read directory: %s", dir, strerror(e));
        w->fl->n_dir_errors++;
        if (e != ENOENT) { /* a folder that vanished is not a result */
            dc_strvec_push(&w->unreadable, dir);
            dc_buf_putc(&w->unreadable_kind, (char)(e == EACCES || e == EPERM ? DC_SCOPE_DENIED
                                                                              : DC_SCOPE_FAILED));
        }
        return NULL;
    }
    if (fstat(dirfd(d), &st) != 0) {
        dc_warn("%s: cannot stat directory: %s", dir, strerror(errno));
        w->fl->n_dir_errors++;
        closedir(d);
        return NULL;
    }
    if (!dirset_add(&w->seen, st.st_dev, st.st_ino)) {
        dc_info("%s: already walked by another path (symlink or folder listed twice), skipped",
                dir);
        closedir(d);
        return NULL;
    }
    return d;
}

static void add_files(walker *w, const char *dir, const level *lv, int is_input,
                      const dc_folder_sig *sig)
{
    size_t nfiles = 0;
    for (size_t i = 0; i < lv->n; i++) nfiles += lv->e[i].kind == E_FILE;
    if (nfiles == 0 && !is_input) return;
    uint32_t scope = add_scope(w->fl, dir, is_input);
    if (w->ledger) set_scope_sig(w->fl, scope, sig, 0);
    for (size_t i = 0; i < lv->n; i++)
        if (lv->e[i].kind == E_FILE)
            add_file(w->fl, join_path(dir, lv->e[i].name), scope);
}

static size_t count_files(const level *lv)
{
    size_t n = 0;
    for (size_t i = 0; i < lv->n; i++) n += lv->e[i].kind == E_FILE;
    return n;
}

/* With a ledger: a folder with files whose signature the ledger holds is
 * handed on as a scope without files, marked done (dc_folderledger.h). */
static int add_if_done(walker *w, const frame *f)
{
    if (!w->ledger || !f->sig.ok || f->sig.from_records || f->sig.n_files == 0) return 0;
    if (!w->done(w->done_ctx, f->dir, &f->sig)) return 0;
    uint32_t scope = add_scope(w->fl, f->dir, f->is_input);
    set_scope_sig(w->fl, scope, &f->sig, 1);
    w->n_done++;
    return 1;
}

static int stop_now(walker *w)
{
    if (!w->stopped && w->stop && w->stop()) w->stopped = 1;
    return w->stopped;
}

/* Reads one directory into a new frame on the stack (its files not yet
 * added: add_frame_files does that).  Nothing is pushed when it is skipped. */
static void visit_dir(walker *w, const char *dir, int is_input)
{
    DIR *d = open_once(w, dir);
    if (!d) return;
    level lv = {{NULL, 0, 0}, NULL, 0, 0};
    w->stat_failed = 0;
    int rc = read_entries(w, d, dir, &lv);
    dc_folder_sig sig;
    memset(&sig, 0, sizeof sig);
    /* known: the ledger may hold it (a folder without files is never done) */
    int sign_here = w->ledger && rc == 0 && count_files(&lv) > 0 && w->known(w->done_ctx, dir);
    if (sign_here && rc == 0 && !w->stat_failed) {
        sign_folder(dirfd(d), &lv, &sig);
    } else if (w->ledger && !sign_here) { /* signed from the header pass's records */
        dc_folder_sig_init(&sig);
        sig.ok = rc == 0 && !w->stat_failed;
        sig.from_records = 1;
    }
    closedir(d);
    w->fl->n_dirs++;
    if (rc != 0 || w->stat_failed) w->fl->n_dir_errors++;
    if (w->depth == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->stack = dc_realloc(w->stack, w->cap * sizeof *w->stack);
    }
    frame *f = &w->stack[w->depth++];
    f->dir = dc_strdup(dir);
    f->lv = lv;
    f->next = 0;
    f->is_input = is_input;
    f->files_added = 0;
    f->sig = sig;
}

static void pop_frame(walker *w)
{
    frame *f = &w->stack[--w->depth];
    free(f->dir);
    level_free(&f->lv);
}

/* The next directory to visit after the top frame's files are added:
 * its next subdirectory (symlinked ones are queued for later), else pop. */
static int step(walker *w)
{
    while (w->depth > 0) {
        frame *f = &w->stack[w->depth - 1];
        if (!f->files_added) return 1; /* files to add first */
        if (!w->cfg->recursive || f->next >= f->lv.n) {
            pop_frame(w);
            continue;
        }
        const entry *e = &f->lv.e[f->next++];
        if (e->kind == E_LINKDIR) dc_strvec_push_own(&w->pending, join_path(f->dir, e->name));
        if (e->kind != E_DIR) continue;
        char *sub = join_path(f->dir, e->name);
        visit_dir(w, sub, 0);
        free(sub);
    }
    /* stack empty: the next input folder, then the queued symlinked folders */
    if (w->next_input < w->cfg->folders.n) {
        visit_dir(w, w->cfg->folders.v[w->next_input++], 1);
        return 1;
    }
    if (w->next_pending < w->pending.n) {
        visit_dir(w, w->pending.v[w->next_pending++], 0);
        return 1;
    }
    return 0;
}

/* last, the folders that could not be read: scopes without files that
 * become rows of unreadable_files (after every real scope, so they never
 * split an input folder from its subfolders) */
static void add_unreadable_scopes(walker *w)
{
    for (size_t i = 0; i < w->unreadable.n; i++)
        add_scope(w->fl, w->unreadable.v[i], (uint8_t)w->unreadable_kind.data[i]);
}

dc_walk_cursor *dc_walk_open(const dc_config *cfg, int (*stop)(void))
{
    walker *w = dc_calloc(1, sizeof *w);
    w->cfg = cfg;
    w->stop = stop;
    dc_strvec_init(&w->pending);
    dc_strvec_init(&w->unreadable);
    dc_buf_init(&w->unreadable_kind);
    return w;
}

void dc_walk_close(dc_walk_cursor *w)
{
    if (!w) return;
    while (w->depth > 0) pop_frame(w);
    free(w->stack);
    dc_strvec_free(&w->pending);
    dc_strvec_free(&w->unreadable);
    dc_buf_free(&w->unreadable_kind);
    free(w->seen.slot);
    free(w);
}

int dc_walk_next(dc_walk_cursor *w, dc_filelist *fl, size_t max_files, char *err, size_t errlen)
{
    if (w->cfg->folders.n == 0) {
        snprintf(err, errlen, "input.folders: no folders to walk");
        return -1;
    }
    if (w->finished) return 1;
    w->fl = fl;
    w->n_done = 0;
    for (;;) {
        if (stop_now(w)) {
            fl->stopped = 1;
            return 0;
        }
        if (!step(w)) break;
        if (w->depth == 0) continue;
        frame *f = &w->stack[w->depth - 1];
        /* a done folder weighs one file: a window of them stays bounded */
        if (add_if_done(w, f)) {
            f->files_added = 1;
            if (fl->n + w->n_done >= max_files) break;
            continue;
        }
        /* whole folders: one that would overflow a started window starts the next */
        size_t weight = fl->n + w->n_done;
        if (weight > 0 && weight + count_files(&f->lv) > max_files) break;
        add_files(w, f->dir, &f->lv, f->is_input, &f->sig);
        f->files_added = 1;
        if (fl->n + w->n_done >= max_files) break;
        if (fl->n > UINT32_MAX - 1 || fl->scopes.n > UINT32_MAX - 1) {
            snprintf(err, errlen, "%zu files in one window: more than this version can index",
                     fl->n);
            return -1;
        }
    }
    if (w->depth == 0 && w->next_input >= w->cfg->folders.n && w->next_pending >= w->pending.n) {
        add_unreadable_scopes(w);
        w->finished = 1;
        return 1;
    }
    return 0;
}

void dc_walk_set_ledger(dc_walk_cursor *w, int (*known)(void *ctx, const char *dir),
                        int (*done)(void *ctx, const char *dir, const dc_folder_sig *sig),
                        void *ctx)
{
    w->ledger = 1;
    w->known = known;
    w->done = done;
    w->done_ctx = ctx;
}

int dc_walk(const dc_config *cfg, dc_filelist *fl, char *err, size_t errlen)
{
    dc_walk_cursor *w = dc_walk_open(cfg, fl->stop);
    int rc = dc_walk_next(w, fl, SIZE_MAX, err, errlen);
    if (rc == 0 && !fl->stopped) rc = 1; /* cannot happen: one window holds everything */
    dc_walk_close(w);
    if (rc < 0) return -1;
    if (fl->n > UINT32_MAX || fl->scopes.n > UINT32_MAX) {
        snprintf(err, errlen, "%zu files in scope: more than this version can index", fl->n);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ names */

/* s[0..n) with bytes that are not well-formed UTF-8 as \xNN (see dc_walk.h) */
static char *utf8_escaped(const char *s, size_t n)
{
    dc_buf b;
    dc_buf_init(&b);
    dc_utf8_escape(&b, s, n);
    return dc_buf_steal(&b);
}

char *dc_scope_id(const char *scope_path)
{
    char *s = dc_strdup(scope_path);
    for (char *p = s; *p; p++)
        if (*p == '/' || *p == '\\') *p = '_';
    char *id = utf8_escaped(s, strlen(s));
    free(s);
    return id;
}

char *dc_file_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    const char *p = base;
    while (p < dot && *p == '.') p++; /* leading dots are not an extension */
    if (!dot || p == dot) return utf8_escaped(base, strlen(base));
    return utf8_escaped(base, (size_t)(dot - base));
}
