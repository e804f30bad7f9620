/*
 * privacy_run.c - the run's confidentiality profile (SPEC 12): start-up
 * checks of the privacy.* keys and the key file, the active instance, and
 * the hooks other modules call where identifying text is formed:
 *
 *   process.c   dc_flatten(dc_privacy_view(ds))   the CSV row (and output.columns)
 *               dc_privacy_path_view(example)      unreadable "Example file"
 *   main.c      dc_privacy_start/stop              start-up (exit 2), end
 *               dc_privacy_scope_id                folder part of Scan IDs
 *               dc_privacy_records                 UIDs of Scan IDs and HDF5
 *                                                  series/study attributes
 *               dc_privacy_folder_view             source_folder attribute
 *   group.c     dc_privacy_file_stem, dc_privacy_base_name
 *                                                  file names in Scan IDs, warnings
 *   util.c      log filter                         input paths in log lines
 *
 * Every hook is the identity (or the usual function) with profile none.
 * The key stays in this process's memory; nothing here writes it anywhere.
 * The map file (pseudonym -> original, only when privacy.map_file is set)
 * is told of every pseudonym the core makes, on every rank (see below).
 */
#include "dc_privacy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc_walk.h"

static dc_privacy *g_priv;
static dc_strvec g_inputs; /* input folders as given: the prefixes the log filter looks for */
static char *g_map_path;
static dc_strset g_mapped;

const dc_privacy *dc_privacy_active(void)
{
    return g_priv;
}

/* ---- the map file ----
 * Every rank appends the pseudonyms it makes (each once per process) with
 * one write() per line to the same file opened O_APPEND, so lines of
 * different ranks never mix; a pseudonym met on several ranks is listed by
 * each.  The order of the lines is not fixed. */

static pthread_mutex_t g_map_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_map_fd = -1;

static const char *map_kind(char kind)
{
    switch (kind) {
    case 'U':
        return "uid";
    case 'F':
        return "folder";
    case 'N':
        return "file";
    case 'P':
        return "patient";
    default:
        return "other";
    }
}

/* open on first use; NULL path afterwards when that fails.  Called locked. */
static int map_fd(char **failed)
{
    if (g_map_fd < 0 && g_map_path) {
        g_map_fd = open(g_map_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (g_map_fd < 0) {
            *failed = g_map_path; /* logged once the lock is released: the log filter makes
                                     pseudonyms too */
            g_map_path = NULL;
        }
    }
    return g_map_fd;
}

static void map_note(const char *pseudonym, char kind, const char *original, size_t n)
{
    char *failed = NULL;
    pthread_mutex_lock(&g_map_lock);
    if (g_map_path && dc_strset_add(&g_mapped, pseudonym)) {
        int fd = map_fd(&failed);
        dc_buf line;
        dc_buf_init(&line);
        dc_buf_printf(&line, "%s\t%s\t", pseudonym, map_kind(kind));
        dc_buf_append(&line, original, n);
        dc_buf_putc(&line, '\n');
        if (fd >= 0 && write(fd, line.data, line.len) != (ssize_t)line.len && !failed)
            failed = dc_strdup(g_map_path);
        dc_buf_free(&line);
    }
    pthread_mutex_unlock(&g_map_lock);
    if (failed) {
        dc_error("privacy.map_file: %s: %s", failed, strerror(errno));
        free(failed);
    }
}

/* ---- start-up ---- */

static int fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    snprintf(err, errlen, fmt, a, b);
    return -1;
}

/* the key file's bytes (a trailing newline is not key material) */
static int read_key(const char *path, uint8_t *key, size_t *n, int *shared, char *err,
                    size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(err, errlen, "privacy.key_file: %s: %s", path, strerror(errno));
    ssize_t got = read(fd, key, DC_PRIVACY_MAX_KEY + 1);
    int e = errno;
    struct stat st;
    *shared = fstat(fd, &st) == 0 && (st.st_mode & 077) != 0;
    close(fd);
    if (got < 0) return fail(err, errlen, "privacy.key_file: %s: %s", path, strerror(e));
    if (got > DC_PRIVACY_MAX_KEY)
        return fail(err, errlen, "privacy.key_file: %s: longer than 4096 bytes%s", path, "");
    while (got > 0 && (key[got - 1] == '\n' || key[got - 1] == '\r')) got--;
    if (got < DC_PRIVACY_MIN_KEY)
        return fail(err, errlen,
                    "privacy.key_file: %s: too short (%s; at least 32 bytes, e.g. "
                    "`openssl rand -hex 32 > key`)",
                    path, got == 0 ? "empty" : "fewer than 32 bytes");
    *n = (size_t)got;
    return 0;
}

/* absolute, lexically normalised path (the folder may not exist yet) */
static char *absolute(const char *path)
{
    char cwd[PATH_MAX];
    char *joined = path[0] == '/' || !getcwd(cwd, sizeof cwd) ? dc_strdup(path)
                                                              : dc_asprintf("%s/%s", cwd, path);
    char *out = dc_malloc(strlen(joined) + 2);
    size_t n = 0;
    for (char *seg = strtok(joined, "/"); seg; seg = strtok(NULL, "/")) {
        if (!strcmp(seg, ".")) continue;
        if (!strcmp(seg, "..")) {
            while (n > 0 && out[n - 1] != '/') n--;
            if (n > 0) n--;
            continue;
        }
        out[n++] = '/';
        size_t l = strlen(seg);
        memcpy(out + n, seg, l);
        n += l;
    }
    if (n == 0) out[n++] = '/';
    out[n] = '\0';
    free(joined);
    return out;
}

/* the map file must not land among the outputs handed to others */
static int check_map_file(const dc_config *cfg, char *err, size_t errlen)
{
    if (!cfg->privacy_map_file) return 0;
    char *out = absolute(cfg->out_folder && *cfg->out_folder ? cfg->out_folder : ".");
    char *map = absolute(cfg->privacy_map_file);
    size_t l = strlen(out);
    int inside = strncmp(map, out, l) == 0 && (map[l] == '/' || map[l] == '\0' || l == 1);
    free(out);
    free(map);
    if (inside)
        return fail(err, errlen,
                    "privacy.map_file: %s is inside output.folder %s; the map undoes the "
                    "pseudonyms, keep it elsewhere",
                    cfg->privacy_map_file, cfg->out_folder);
    return 0;
}

static int check_keys(const dc_config *cfg, char *err, size_t errlen)
{
    if (!cfg->privacy_key_file)
        return fail(err, errlen,
                    "privacy.key_file: required with privacy.profile basic (a secret of at least "
                    "32 bytes, e.g. `openssl rand -hex 32 > key`)%s%s",
                    "", "");
    if (cfg->privacy_retain_safe_private)
        return fail(err, errlen,
                    "privacy.retain_safe_private: true is not supported yet (no machine-readable "
                    "copy of the Annex's safe private attributes is shipped); every private tag "
                    "is removed%s%s",
                    "", "");
    return check_map_file(cfg, err, errlen);
}

/* input.folders notes name folders that were dropped: pseudonymise the quoted part */
static void rewrite_notes(dc_config *cfg)
{
    for (size_t i = 0; i < cfg->notes.n; i++) {
        char *s = cfg->notes.v[i];
        char *q1 = strncmp(s, "input.folders: \"", 16) == 0 ? s + 15 : NULL;
        char *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
        if (!q2) continue;
        char *path = dc_strndup(q1 + 1, (size_t)(q2 - q1 - 1));
        char *t = dc_asprintf("input.folders: \"%s\"%s", dc_privacy_folder_view(path), q2 + 1);
        free(path);
        free(s);
        cfg->notes.v[i] = t;
    }
}

/* the HDF5 `config` attribute: the same text with pseudonymous folders */
static void rewrite_config_text(dc_config *cfg)
{
    dc_strvec shown;
    dc_strvec_init(&shown);
    for (size_t i = 0; i < cfg->folders.n; i++)
        dc_strvec_push(&shown, dc_privacy_folder_view(cfg->folders.v[i]));
    dc_strvec real = cfg->folders;
    cfg->folders = shown;
    free(cfg->config_text);
    cfg->config_text = dc_config_to_yaml(cfg);
    cfg->folders = real;
    dc_strvec_free(&shown);
}

static void log_filter(char *msg, size_t cap)
{
    if (g_priv)
        dc_privacy_scrub_paths(g_priv, (const char *const *)g_inputs.v, g_inputs.n, msg, cap);
}

static dc_columns g_cols;
static int g_cols_on;

int dc_privacy_start(dc_config *cfg, char *err, size_t errlen)
{
    dc_columns_init(&g_cols, &cfg->columns_include, &cfg->columns_exclude);
    g_cols_on = dc_columns_active(&g_cols);
    if (cfg->privacy_profile == DC_PRIVACY_NONE) return 0;
    if (check_keys(cfg, err, errlen) != 0) return -1;
    uint8_t key[DC_PRIVACY_MAX_KEY + 1];
    size_t n = 0;
    int shared = 0;
    if (read_key(cfg->privacy_key_file, key, &n, &shared, err, errlen) != 0) return -1;
    if (shared)
        dc_strvec_push_own(&cfg->notes, dc_asprintf("privacy.key_file: %s can be read by other "
                                                    "users; keep it private (chmod 600)",
                                                    cfg->privacy_key_file));
    dc_privacy_opts o = {cfg->privacy_retain_dates == 1, cfg->privacy_clean_descriptors, NULL};
    /* --dry-run writes nothing, the map included */
    g_map_path = cfg->privacy_map_file && !cfg->dry_run ? dc_strdup(cfg->privacy_map_file) : NULL;
    if (g_map_path) o.note = map_note;
    g_priv = dc_privacy_new(key, n, &o);
    memset(key, 0, sizeof key);
    dc_strvec_init(&g_inputs);
    for (size_t i = 0; i < cfg->folders.n; i++) dc_strvec_push(&g_inputs, cfg->folders.v[i]);
    dc_strset_init(&g_mapped);
    rewrite_notes(cfg);
    rewrite_config_text(cfg);
    dc_log_set_filter(log_filter);
    return 0;
}

void dc_privacy_stop(void)
{
    dc_columns_free(&g_cols);
    g_cols_on = 0;
    if (!g_priv) return;
    dc_log_set_filter(NULL);
    if (g_map_fd >= 0) close(g_map_fd);
    g_map_fd = -1;
    free(g_map_path);
    g_map_path = NULL;
    dc_strset_free(&g_mapped);
    dc_strvec_free(&g_inputs);
    dc_privacy_free(g_priv);
    g_priv = NULL;
}

/* ---- hooks ---- */

#define RING 4
static _Thread_local dc_buf g_ring[RING];
static _Thread_local unsigned g_ring_next;

static dc_buf *ring_buf(void)
{
    dc_buf *b = &g_ring[g_ring_next++ % RING];
    dc_buf_reset(b);
    return b;
}

static _Thread_local dc_dataset g_view;
static _Thread_local int g_view_init;

const dc_dataset *dc_privacy_view(const dc_dataset *ds)
{
    if (!g_priv && !g_cols_on) return ds;
    if (!g_view_init) {
        dc_dataset_init(&g_view);
        g_view_init = 1;
    }
    return dc_privacy_filter(g_priv, g_cols_on ? &g_cols : NULL, ds, &g_view);
}

static const char *base_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* kind + 16 hex of text in a ring buffer */
static const char *name_view(char kind, const char *text)
{
    char nm[DC_PRIVACY_NAME_LEN];
    dc_privacy_name(g_priv, kind, text, strlen(text), nm);
    dc_buf *b = ring_buf();
    dc_buf_puts(b, nm);
    return dc_buf_cstr(b);
}

char *dc_privacy_scope_id(const char *scope_path)
{
    return g_priv ? dc_strdup(name_view('F', scope_path)) : dc_scope_id(scope_path);
}

const char *dc_privacy_folder_view(const char *scope_path)
{
    return g_priv ? name_view('F', scope_path) : scope_path;
}

const char *dc_privacy_base_name(const char *base)
{
    return g_priv ? name_view('N', base) : base;
}

char *dc_privacy_file_stem(const char *path)
{
    if (!g_priv) return dc_file_stem(path);
    return dc_strdup(dc_privacy_base_name(base_of(path)));
}

const char *dc_privacy_path_view(const char *path)
{
    if (!g_priv || !path) return path;
    const char *base = base_of(path);
    char f[DC_PRIVACY_NAME_LEN], nm[DC_PRIVACY_NAME_LEN];
    dc_privacy_name(g_priv, 'F', path, base > path ? (size_t)(base - path - 1) : 0, f);
    dc_privacy_name(g_priv, 'N', base, strlen(base), nm);
    dc_buf *b = ring_buf();
    dc_buf_printf(b, "%s/%s", f, nm);
    return dc_buf_cstr(b);
}

static void record_uid(char *uid)
{
    if (!uid[0]) return;
    char u[DC_PRIVACY_UID_LEN];
    dc_privacy_uid(g_priv, uid, strlen(uid), u);
    snprintf(uid, DC_UID_LEN, "%s", u);
}

void dc_privacy_records(dc_record *recs, size_t n)
{
    if (!g_priv) return;
    for (size_t i = 0; i < n; i++) {
        record_uid(recs[i].sop_uid);
        record_uid(recs[i].series_uid);
        record_uid(recs[i].study_uid);
    }
}

/* ---- the log filter ---- */

static int token_start(const char *msg, const char *at)
{
    return at == msg || at[-1] == ' ' || at[-1] == '"' || at[-1] == '\'' || at[-1] == '(';
}

void dc_privacy_scrub_paths(const dc_privacy *p, const char *const *prefix, size_t n_prefix,
                            char *msg, size_t cap)
{
    dc_buf out;
    dc_buf_init(&out);
    const char *s = msg;
    while (*s) {
        size_t hit = 0;
        for (size_t k = 0; k < n_prefix && !hit; k++) {
            size_t l = strlen(prefix[k]);
            if (l && strncmp(s, prefix[k], l) == 0 && token_start(msg, s)) hit = l;
        }
        if (!hit) {
            dc_buf_putc(&out, *s++);
            continue;
        }
        const char *end = strstr(s, ": ");
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len && s[len - 1] == '"') len--;
        char *path = dc_strndup(s, len);
        const char *base = base_of(path);
        char f[DC_PRIVACY_NAME_LEN], nm[DC_PRIVACY_NAME_LEN];
        dc_privacy_name(p, 'F', path, base > path ? (size_t)(base - path - 1) : 0, f);
        dc_privacy_name(p, 'N', base, strlen(base), nm);
        dc_buf_printf(&out, "%s/%s", f, nm);
        free(path);
        s += len;
    }
    snprintf(msg, cap, "%s", dc_buf_cstr(&out));
    dc_buf_free(&out);
}
