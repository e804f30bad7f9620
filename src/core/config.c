/*
 * config.c - the run configuration: YAML file, command line, checks (SPEC 1, 2).
 *
 * How the pieces fit:
 *   KEYS[]            the schema: one row per `section.key` with its type,
 *                     field in dc_config, allowed values, default and help.
 *   apply_node()      sets one key from a libyaml node (file or --set value);
 *   apply_scalar()    does the per-type checking and conversion.
 *   dc_config_parse_yaml()  walks a loaded document section by section,
 *                     catching unknown and duplicate keys with their lines.
 *   parse_argv()      collects the command line without applying it;
 *   apply_ops()       applies --set and the old crawler's flags in order;
 *   dc_config_finish() drops non-directories, checks the output folder
 *                     (read-only checks) and renders config_text.
 * Every error is a message naming the file and line (or the flag) and the key,
 * returned to the caller; nothing here exits or writes files.
 */
#include "dc_config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "dc_columns.h"
#include "dc_decode.h"
#include "dc_select.h"

#define MAX_CONFIG_BYTES (1 << 20)
#define MIN_IMAGE_BYTES (1ull << 10)  /* run.max_image_bytes bounds */
#define MAX_IMAGE_BYTES (1ull << 50)

/* ------------------------------------------------------------------ schema */

enum ktype { K_BOOL, K_PATH, K_ID, K_ENUM, K_COUNT, K_FOLDERS, K_COMPRESSION, K_BYTES, K_HINTS,
             K_COLUMNS, K_SELECT };

typedef struct {
    const char *section;
    const char *name;
    enum ktype type;
    size_t off;                 /* offset of the field in dc_config */
    const char *const *choices; /* K_ENUM: names, index = value, NULL-terminated */
    const char *dflt;           /* default as shown in --help */
    const char *help;
} keydef;

static const char *const LAYOUTS[] = {"zyx", "seed", NULL};
static const char *const PHILIPS[] = {"display", "floating", NULL};
static const char *const CSV_STYLES[] = {"seed", "dicom", NULL}; /* enum dc_csv_style */
static const char *const ORDERS[] = {"position", "instance", "filename", NULL};
static const char *const LEVELS[] = {"error", "warn", "info", "debug", NULL};
static const char *const PROGRESS[] = {"auto", "always", "never", NULL};
static const char *const SECTIONS[] = {"input", "output", "volumes", "run", "privacy", NULL};
static const char *const PROFILES[] = {"none", "basic", NULL};
static const char *const DATES[] = {"remove", "shift", NULL};

#define F(field) offsetof(dc_config, field)
static const keydef KEYS[] = {
    {"input", "folders", K_FOLDERS, F(folders), NULL, "(required)",
     "folders to crawl: a list, or one path"},
    {"input", "recursive", K_BOOL, F(recursive), NULL, "false",
     "true: every subfolder too, each directory its own scope"},
    {"input", "follow_symlinks", K_BOOL, F(follow_symlinks), NULL, "false",
     "follow symbolic links to files and folders"},
    {"input", "select", K_SELECT, F(select_modality), NULL, "{}",
     "{modality: [..], sop_class: [..], exclude_image_type: [..], exclude_burned_in: bool, "
     "min_slices: N}"},
    {"output", "folder", K_PATH, F(out_folder), NULL, ".", "where outputs go (created if missing)"},
    {"output", "id", K_ID, F(out_id), NULL, "(none)",
     "metadata_<id>.csv, pixel_data_<id>.h5, unreadable_files_<id>.csv"},
    {"output", "write_pixeldata", K_BOOL, F(write_pixeldata), NULL, "false",
     "write pixel_data_<id>.h5"},
    {"output", "volumes", K_BOOL, F(volumes), NULL, "false",
     "group files by series and stack them into volumes"},
    {"output", "layout", K_ENUM, F(layout), LAYOUTS, "zyx",
     "zyx: (slices, rows, cols); seed: (1, rows, cols, slices)"},
    {"output", "compression", K_COMPRESSION, F(gzip_level), NULL, "none",
     "none | gzip:1..9 (with shuffle, one slice per chunk)"},
    {"output", "rescale", K_BOOL, F(rescale), NULL, "false",
     "store float32 = stored * RescaleSlope + RescaleIntercept"},
    {"output", "philips_scaling", K_ENUM, F(philips_scaling), PHILIPS, "display",
     "floating: Philips files as float32 (SV * RS + RI) / (RS * ScaleSlope)"},
    {"output", "mpi_io_hints", K_HINTS, F(mpi_io_hints), NULL, "{}",
     "MPI-IO hints for every output file, e.g. {striping_factor: 8, romio_cb_write: enable}"},
    {"output", "csv_style", K_ENUM, F(csv_style), CSV_STYLES, "seed",
     "seed: names and values as the old crawler wrote them (pydicom); dicom: keywords"},
    {"output", "csv_formula_guard", K_BOOL, F(csv_formula_guard), NULL, "false",
     "prefix ' to values starting with = + - @ TAB CR (not numbers)"},
    {"output", "columns", K_COLUMNS, F(columns_include), NULL, "{}",
     "{include: [...], exclude: [...]}: keywords, (gggg,eeee), patterns, private, sequences, binary"},
    {"volumes", "slice_order", K_ENUM, F(slice_order), ORDERS, "position",
     "position | instance | filename"},
    {"volumes", "split_inconsistent", K_BOOL, F(split_inconsistent), NULL, "true",
     "split series whose slices differ in size or orientation"},
    {"run", "commit_every", K_COUNT, F(commit_every), NULL, "10000",
     "at most this many scans per checkpoint (see commit_seconds); pixel runs: 200000 per rank; "
     "metadata-only runs: 100000, or the window when larger"},
    {"run", "commit_seconds", K_COUNT, F(commit_seconds), NULL, "5",
     "a checkpoint when this many seconds passed since the last one; pixel runs: 15 per rank, "
     "at most 60"},
    {"run", "window_files", K_COUNT, F(window_files), NULL, "(500 per rank)",
     "files planned at a time (whole folders; a larger folder is a window of its own)"},
    {"run", "retry_unreadable", K_BOOL, F(retry_unreadable), NULL, "false",
     "on append, try scans in unreadable_files again"},
    {"run", "log_level", K_ENUM, F(log_level), LEVELS, "info", "error | warn | info | debug"},
    {"run", "progress", K_ENUM, F(progress), PROGRESS, "auto",
     "auto (only on a terminal) | always | never"},
    {"run", "claim_lease_seconds", K_COUNT, F(claim_lease_seconds), NULL, "90",
     "seconds a run's claim on its outputs lasts unless renewed (every third of it)"},
    {"run", "max_image_bytes", K_BYTES, F(max_image_bytes), NULL, "4GiB",
     "larger images/stacks are unreadable (KiB MiB GiB TiB)"},
    {"privacy", "profile", K_ENUM, F(privacy_profile), PROFILES, "none",
     "none | basic (DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile)"},
    {"privacy", "key_file", K_PATH, F(privacy_key_file), NULL, "(none)",
     "secret key (>= 32 bytes) for pseudonyms; required with a profile"},
    {"privacy", "map_file", K_PATH, F(privacy_map_file), NULL, "(none)",
     "write pseudonym -> original here (outside output.folder)"},
    {"privacy", "retain_dates", K_ENUM, F(privacy_retain_dates), DATES, "remove",
     "remove | shift (dates moved by a per-patient offset from the key)"},
    {"privacy", "retain_safe_private", K_BOOL, F(privacy_retain_safe_private), NULL, "false",
     "keep private tags on the Annex's safe-private list (else every private tag goes)"},
    {"privacy", "clean_descriptors", K_BOOL, F(privacy_clean_descriptors), NULL, "false",
     "keep descriptions (series, study, protocol...) with identifiers scrubbed"},
};
#undef F
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

static const keydef *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(KEYS[i].section, section) && !strcmp(KEYS[i].name, name)) return &KEYS[i];
    return NULL;
}

static int find_section(const char *name)
{
    for (int i = 0; SECTIONS[i]; i++)
        if (!strcmp(SECTIONS[i], name)) return i;
    return -1;
}

/* ------------------------------------------------------------------ errors */

/* Where a value came from, for messages. */
typedef struct {
    const char *file; /* config file (or --set text source) name; NULL for flags */
    const char *flag; /* "--set", "--output_id", ...; NULL for the file */
    char *err;
    size_t errlen;
} ectx;

/* Writes "<file>:<line>: <key>: <msg>", "--set <key>: <msg>" or
 * "<flag> (<key>): <msg>" into c->err.  key may be NULL.  Returns -1. */
static int fail(const ectx *c, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(const ectx *c, int line, const char *key, const char *fmt, ...)
{
    char msg[DC_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->file && key)
        snprintf(c->err, c->errlen, "%s:%d: %s: %s", c->file, line, key, msg);
    else if (c->file)
        snprintf(c->err, c->errlen, "%s:%d: %s", c->file, line, msg);
    else if (c->flag && !strcmp(c->flag, "--set"))
        snprintf(c->err, c->errlen, "--set %s: %s", key ? key : "", msg);
    else if (c->flag && key)
        snprintf(c->err, c->errlen, "%s (%s): %s", c->flag, key, msg);
    else
        snprintf(c->err, c->errlen, "%s: %s", c->flag ? c->flag : (key ? key : "config"), msg);
    return -1;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ init/free */

void dc_config_init(dc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    dc_strvec_init(&cfg->folders);
    dc_strvec_init(&cfg->notes);
    dc_strvec_init(&cfg->mpi_io_hints);
    dc_strvec_init(&cfg->columns_include);
    dc_strvec_init(&cfg->select_modality);
    dc_strvec_init(&cfg->select_sop_class);
    dc_strvec_init(&cfg->select_exclude_image_type);
    dc_strvec_init(&cfg->columns_exclude);
    cfg->out_folder = dc_strdup(".");
    cfg->layout = DC_LAYOUT_ZYX;
    cfg->slice_order = DC_ORDER_POSITION;
    cfg->split_inconsistent = 1;
    cfg->commit_every = 10000;
    cfg->commit_seconds = 5;
    cfg->window_files = 0; /* not set: dc_config_window_files */
    cfg->claim_lease_seconds = DC_CLAIM_DEFAULT_LEASE;
    cfg->log_level = DC_LOG_INFO;
    cfg->progress = DC_PROGRESS_AUTO;
    cfg->max_image_bytes = DC_DEFAULT_MAX_IMAGE_BYTES;
}

long dc_config_window_files(const dc_config *cfg, int nranks)
{
    if (cfg->window_files > 0) return cfg->window_files;
    return DC_WINDOW_FILES_PER_RANK * (long)(nranks > 0 ? nranks : 1);
}

void dc_config_free(dc_config *cfg)
{
    dc_strvec_free(&cfg->folders);
    dc_strvec_free(&cfg->notes);
    dc_strvec_free(&cfg->mpi_io_hints);
    dc_strvec_free(&cfg->columns_include);
    dc_strvec_free(&cfg->columns_exclude);
    dc_strvec_free(&cfg->select_modality);
    dc_strvec_free(&cfg->select_sop_class);
    dc_strvec_free(&cfg->select_exclude_image_type);
    free(cfg->out_folder);
    free(cfg->out_id);
    free(cfg->config_path);
    free(cfg->config_text);
    free(cfg->privacy_key_file);
    free(cfg->privacy_map_file);
    memset(cfg, 0, sizeof *cfg);
}

/* ------------------------------------------------------------------ scalars */

/* 1 / 0 for the YAML 1.1 booleans, -1 otherwise. */
static int parse_bool(const char *v)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!strcmp(v, yes[i])) return 1;
        if (!strcmp(v, no[i])) return 0;
    }
    return -1;
}

/* "zyx or seed", "position, instance or filename" */
static void choices_text(const char *const *ch, char *out, size_t n)
{
    size_t k = 0;
    while (ch[k]) k++;
    out[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        const char *sep = i == 0 ? "" : (i + 1 == k ? " or " : ", ");
        size_t used = strlen(out);
        snprintf(out + used, n - used, "%s%s", sep, ch[i]);
    }
}

static int parse_enum(const char *const *ch, const char *v)
{
    for (int i = 0; ch[i]; i++)
        if (!strcasecmp(ch[i], v)) return i;
    return -1;
}

/* "32" -> 32; -1 unless a plain positive decimal <= 1e9 */
static long parse_count(const char *v)
{
    long n = 0;
    if (!*v) return -1;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        n = n * 10 + (*p - '0');
        if (n > 1000000000L) return -1;
    }
    return n >= 1 ? n : -1;
}

/* "4GiB", "512 MiB", "1073741824" -> bytes; 0 unless a whole number with an
 * optional binary unit (B, KiB, MiB, GiB, TiB; K/M/G/T and KB/MB/GB/TB are
 * read as the binary units too) within [MIN_IMAGE_BYTES, MAX_IMAGE_BYTES] */
static uint64_t parse_bytes(const char *v)
{
    static const char *const units[] = {"", "b", "k", "kb", "kib", "m", "mb", "mib",
                                        "g", "gb", "gib", "t", "tb", "tib", NULL};
    static const int shift[] = {0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40};
    uint64_t n = 0;
    const char *p = v;
    if (*p < '0' || *p > '9') return 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > MAX_IMAGE_BYTES) return 0;
    }
    while (*p == ' ') p++;
    for (int i = 0; units[i]; i++) {
        if (strcasecmp(p, units[i]) != 0) continue;
        if (n > MAX_IMAGE_BYTES >> shift[i]) return 0;
        n <<= shift[i];
        return n >= MIN_IMAGE_BYTES ? n : 0;
    }
    return 0;
}

/* bytes as the shortest exact "4GiB", "1536MiB", "1000" */
static void format_bytes(uint64_t n, char *out, size_t outlen)
{
    static const char *const units[] = {"TiB", "GiB", "MiB", "KiB"};
    for (int i = 0; i < 4; i++) {
        int sh = 40 - 10 * i;
        if (n && n % (1ull << sh) == 0) {
            snprintf(out, outlen, "%llu%s", (unsigned long long)(n >> sh), units[i]);
            return;
        }
    }
    snprintf(out, outlen, "%llu", (unsigned long long)n);
}

/* "none" -> 0, "gzip:N" -> N (1..9), else -1 */
static int parse_compression(const char *v)
{
    if (!strcasecmp(v, "none")) return 0;
    if (strncasecmp(v, "gzip:", 5) == 0 && v[5] >= '1' && v[5] <= '9' && v[6] == '\0')
        return v[5] - '0';
    return -1;
}

static char *field_str(dc_config *cfg, const keydef *d)
{
    return *(char **)((char *)cfg + d->off);
}

static void set_field_str(dc_config *cfg, const keydef *d, char *v)
{
    char **f = (char **)((char *)cfg + d->off);
    free(*f);
    *f = v;
}

static int *field_int(dc_config *cfg, const keydef *d)
{
    return (int *)((char *)cfg + d->off);
}

static void set_folders(dc_config *cfg, dc_strvec *v)
{
    dc_strvec_free(&cfg->folders);
    cfg->folders = *v;
    dc_strvec_init(v);
}

static void clear_select(dc_config *cfg)
{
    dc_strvec_free(&cfg->select_modality);
    dc_strvec_free(&cfg->select_sop_class);
    dc_strvec_free(&cfg->select_exclude_image_type);
    cfg->select_exclude_burned_in = 0;
    cfg->select_min_slices = 0;
}

static int apply_string(dc_config *cfg, const keydef *d, const char *v, int is_null, int line,
                        const ectx *c)
{
    char key[64];
    snprintf(key, sizeof key, "%s.%s", d->section, d->name);
    if (d->type == K_ID) {
        if (is_null || !*v) {
            set_field_str(cfg, d, NULL);
            return 0;
        }
        if (strchr(v, '/')) return fail(c, line, key, "must not contain '/', got \"%s\"", v);
        set_field_str(cfg, d, dc_strdup(v));
        return 0;
    }
    if (is_null || !*v) return fail(c, line, key, "expected a folder path, got nothing");
    set_field_str(cfg, d, dc_strdup(v));
    return 0;
}

/* One scalar value for key d.  is_null: a YAML null (empty, ~, null). */
static int apply_scalar(dc_config *cfg, const keydef *d, const char *v, int is_null, int line,
                        const ectx *c)
{
    char key[64], ch[128], got[DC_ERRLEN / 2];
    snprintf(key, sizeof key, "%s.%s", d->section, d->name);
    if (is_null)
        snprintf(got, sizeof got, "nothing");
    else
        snprintf(got, sizeof got, "\"%s\"", v);
    int i;
    long n;
    switch (d->type) {
    case K_BOOL:
        if ((i = is_null ? -1 : parse_bool(v)) < 0)
            return fail(c, line, key, "expected true or false, got %s", got);
        *field_int(cfg, d) = i;
        return 0;
    case K_ENUM:
        choices_text(d->choices, ch, sizeof ch);
        if ((i = is_null ? -1 : parse_enum(d->choices, v)) < 0)
            return fail(c, line, key, "expected %s, got %s", ch, got);
        *field_int(cfg, d) = i;
        if (d->off == offsetof(dc_config, csv_style)) cfg->csv_style_given = 1;
        return 0;
    case K_COUNT:
        if ((n = is_null ? -1 : parse_count(v)) < 0)
            return fail(c, line, key, "expected a whole number >= 1, got %s", got);
        *(long *)((char *)cfg + d->off) = n;
        if (d->off == offsetof(dc_config, commit_every)) cfg->commit_given |= 1;
        if (d->off == offsetof(dc_config, commit_seconds)) cfg->commit_given |= 2;
        return 0;
    case K_COMPRESSION:
        if ((i = is_null ? -1 : parse_compression(v)) < 0)
            return fail(c, line, key, "expected none or gzip:1..9, got %s", got);
        cfg->gzip_level = i;
        return 0;
    case K_BYTES: {
        uint64_t b = is_null ? 0 : parse_bytes(v);
        if (b == 0)
            return fail(c, line, key,
                        "expected a size from 1KiB to 1024TiB, e.g. 4GiB, 512MiB or a number of "
                        "bytes, got %s",
                        got);
        *(uint64_t *)((char *)cfg + d->off) = b;
        return 0;
    }
    case K_FOLDERS:
        if (is_null || !*v)
            return fail(c, line, key, "expected a folder or a list of folders, got nothing");
        dc_strvec one;
        dc_strvec_init(&one);
        dc_strvec_push(&one, v);
        set_folders(cfg, &one);
        return 0;
    case K_SELECT:
        if (is_null || !strcmp(v, "none") || !strcmp(v, "{}")) {
            clear_select(cfg);
            return 0;
        }
        return fail(c, line, key, "expected a mapping such as {modality: [CT]}, got %s", got);
    case K_COLUMNS:
        if (is_null || !strcmp(v, "none") || !strcmp(v, "{}")) {
            dc_strvec_free(&cfg->columns_include);
            dc_strvec_free(&cfg->columns_exclude);
            return 0;
        }
        return fail(c, line, key, "expected {include: [...], exclude: [...]}, got %s", got);
    case K_HINTS:
        if (is_null || !strcmp(v, "none") || !strcmp(v, "{}")) {
            dc_strvec_free(&cfg->mpi_io_hints);
            return 0;
        }
        return fail(c, line, key, "expected a mapping of hint: value, e.g. {striping_factor: 8}, "
                                  "got %s", got);
    case K_PATH:
    case K_ID:
        return apply_string(cfg, d, v, is_null, line, c);
    }
    return -1;
}

/* ------------------------------------------------------------------ YAML nodes */

static int node_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static const char *node_kind(const yaml_node_t *n)
{
    if (n->type == YAML_SEQUENCE_NODE) return "a list";
    if (n->type == YAML_MAPPING_NODE) return "a mapping";
    return "a single value";
}

static const char *scalar_text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int scalar_is_null(const yaml_node_t *n)
{
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *v = scalar_text(n);
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* output.mpi_io_hints given as a YAML mapping: hint names are MPI_Info keys
 * (letters, digits, '_'), values single scalars passed on as text */
static int apply_hints(dc_config *cfg, yaml_document_t *doc, yaml_node_t *n, const ectx *c)
{
    dc_strvec v;
    dc_strvec_init(&v);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *val = yaml_document_get_node(doc, p->value);
        const char *name = k->type == YAML_SCALAR_NODE ? scalar_text(k) : "";
        int ok = *name && strlen(name) < 256;
        for (const char *q = name; ok && *q; q++)
            ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                 *q == '_';
        if (!ok) {
            dc_strvec_free(&v);
            return fail(c, node_line(k), "output.mpi_io_hints",
                        "hint names are letters, digits and '_', got %s",
                        k->type == YAML_SCALAR_NODE ? name : node_kind(k));
        }
        if (val->type != YAML_SCALAR_NODE || scalar_is_null(val) || strlen(scalar_text(val)) > 255) {
            dc_strvec_free(&v);
            return fail(c, node_line(val), "output.mpi_io_hints",
                        "%s: expected a single value (up to 255 characters), got %s", name,
                        val->type == YAML_SCALAR_NODE ? "nothing" : node_kind(val));
        }
        dc_strvec_push(&v, name);
        dc_strvec_push(&v, scalar_text(val));
    }
    dc_strvec_free(&cfg->mpi_io_hints);
    cfg->mpi_io_hints = v;
    return 0;
}


/* the scalars of a list (or one scalar) given for <key>: <which> into out */
static int scalar_items(yaml_document_t *doc, yaml_node_t *val, const char *key, const char *which,
                        dc_strvec *out, const ectx *c)
{
    yaml_node_item_t one = 0, *start = &one, *top = &one + 1;
    if (val->type == YAML_SEQUENCE_NODE) {
        start = val->data.sequence.items.start;
        top = val->data.sequence.items.top;
    } else if (val->type != YAML_SCALAR_NODE) {
        return fail(c, node_line(val), key, "%s: expected a list, got %s", which, node_kind(val));
    }
    for (yaml_node_item_t *it = start; it < top; it++) {
        yaml_node_t *item = it == &one ? val : yaml_document_get_node(doc, *it);
        if (item->type != YAML_SCALAR_NODE || scalar_is_null(item) || strlen(scalar_text(item)) > 64)
            return fail(c, node_line(item), key, "%s: expected a value (up to 64 characters), got %s",
                        which, item->type == YAML_SCALAR_NODE ? "nothing or more" : node_kind(item));
        dc_strvec_push(out, scalar_text(item));
    }
    return 0;
}

/* one key of input.select */
static int select_key(dc_config *cfg, yaml_document_t *doc, const char *name, yaml_node_t *val,
                      const ectx *c)
{
    const char *key = "input.select";
    if (!strcmp(name, "modality")) return scalar_items(doc, val, key, name, &cfg->select_modality, c);
    if (!strcmp(name, "sop_class"))
        return scalar_items(doc, val, key, name, &cfg->select_sop_class, c);
    if (!strcmp(name, "exclude_image_type"))
        return scalar_items(doc, val, key, name, &cfg->select_exclude_image_type, c);
    const char *v = val->type == YAML_SCALAR_NODE ? scalar_text(val) : "";
    if (!strcmp(name, "exclude_burned_in")) {
        int b = val->type == YAML_SCALAR_NODE ? parse_bool(v) : -1;
        if (b < 0)
            return fail(c, node_line(val), "input.select", "exclude_burned_in: expected true or "
                        "false, got \"%s\"", v);
        cfg->select_exclude_burned_in = b;
        return 0;
    }
    if (!strcmp(name, "min_slices")) {
        long n = val->type == YAML_SCALAR_NODE ? parse_count(v) : -1;
        if (n < 1)
            return fail(c, node_line(val), "input.select", "min_slices: expected a whole number "
                        ">= 1, got \"%s\"", v);
        cfg->select_min_slices = n;
        return 0;
    }
    return fail(c, node_line(val), "input.select", "unknown key %s (modality, sop_class, "
                "exclude_image_type, exclude_burned_in, min_slices)", name);
}

static int apply_select(dc_config *cfg, yaml_document_t *doc, yaml_node_t *n, const ectx *c)
{
    clear_select(cfg);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        const char *name = k->type == YAML_SCALAR_NODE ? scalar_text(k) : "";
        if (select_key(cfg, doc, name, yaml_document_get_node(doc, p->value), c) != 0) return -1;
    }
    return 0;
}

/* one list of output.columns rules (a list, or one rule), each checked */
static int column_rules(yaml_document_t *doc, yaml_node_t *val, const char *which, dc_strvec *out,
                        const ectx *c)
{
    size_t first = out->n;
    if (scalar_items(doc, val, "output.columns", which, out, c) != 0) return -1;
    for (size_t i = first; i < out->n; i++) {
        dc_column_rule r;
        char why[DC_ERRLEN / 2];
        if (dc_column_rule_parse(out->v[i], &r, why, sizeof why) != 0)
            return fail(c, node_line(val), "output.columns", "%s: %s", which, why);
        free(r.glob);
    }
    return 0;
}

/* output.columns given as a mapping {include: [...], exclude: [...]} */
static int apply_columns(dc_config *cfg, yaml_document_t *doc, yaml_node_t *n, const ectx *c)
{
    dc_strvec inc, exc;
    dc_strvec_init(&inc);
    dc_strvec_init(&exc);
    int rc = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; rc == 0 && p < n->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        const char *name = k->type == YAML_SCALAR_NODE ? scalar_text(k) : "";
        if (strcmp(name, "include") && strcmp(name, "exclude"))
            rc = fail(c, node_line(k), "output.columns", "expected include or exclude, got %s",
                      *name ? name : node_kind(k));
        else
            rc = column_rules(doc, yaml_document_get_node(doc, p->value), name,
                              !strcmp(name, "include") ? &inc : &exc, c);
    }
    if (rc != 0) {
        dc_strvec_free(&inc);
        dc_strvec_free(&exc);
        return rc;
    }
    dc_strvec_free(&cfg->columns_include);
    dc_strvec_free(&cfg->columns_exclude);
    cfg->columns_include = inc;
    cfg->columns_exclude = exc;
    return 0;
}

/* input.folders given as a YAML list */
static int apply_folder_list(dc_config *cfg, yaml_document_t *doc, yaml_node_t *n, const ectx *c)
{
    dc_strvec v;
    dc_strvec_init(&v);
    int i = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, i++) {
        yaml_node_t *item = yaml_document_get_node(doc, *it);
        if (item->type != YAML_SCALAR_NODE || scalar_is_null(item) || !*scalar_text(item)) {
            dc_strvec_free(&v);
            return fail(c, node_line(item), "input.folders",
                        "item %d: expected a folder path, got %s", i + 1,
                        item->type == YAML_SCALAR_NODE ? "nothing" : node_kind(item));
        }
        dc_strvec_push(&v, scalar_text(item));
    }
    if (v.n == 0)
        return fail(c, node_line(n), "input.folders", "empty list; give at least one folder");
    set_folders(cfg, &v);
    return 0;
}

static int apply_node(dc_config *cfg, const keydef *d, yaml_document_t *doc, yaml_node_t *n,
                      const ectx *c)
{
    char key[64];
    snprintf(key, sizeof key, "%s.%s", d->section, d->name);
    if (n->type == YAML_SCALAR_NODE)
        return apply_scalar(cfg, d, scalar_text(n), scalar_is_null(n), node_line(n), c);
    if (d->type == K_FOLDERS && n->type == YAML_SEQUENCE_NODE)
        return apply_folder_list(cfg, doc, n, c);
    if (d->type == K_HINTS && n->type == YAML_MAPPING_NODE) return apply_hints(cfg, doc, n, c);
    if (d->type == K_COLUMNS && n->type == YAML_MAPPING_NODE) return apply_columns(cfg, doc, n, c);
    if (d->type == K_SELECT && n->type == YAML_MAPPING_NODE) return apply_select(cfg, doc, n, c);
    if (d->type == K_SELECT)
        return fail(c, node_line(n), key, "expected a mapping such as {modality: [CT]}, got %s",
                    node_kind(n));
    if (d->type == K_COLUMNS)
        return fail(c, node_line(n), key, "expected {include: [...], exclude: [...]}, got %s",
                    node_kind(n));
    if (d->type == K_HINTS)
        return fail(c, node_line(n), key, "expected a mapping of hint: value, got %s",
                    node_kind(n));
    if (d->type == K_FOLDERS)
        return fail(c, node_line(n), key, "expected a folder or a list of folders, got %s",
                    node_kind(n));
    return fail(c, node_line(n), key, "expected a single value, got %s", node_kind(n));
}

/* ------------------------------------------------------------------ YAML documents */

/* Line (1-based) of byte offset off in text. */
static int offset_line(const char *text, size_t len, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && i < len; i++)
        if (text[i] == '\n') line++;
    return line;
}

static int syntax_error(yaml_parser_t *p, const char *text, size_t len, const ectx *c,
                        const char *key)
{
    int line = p->error == YAML_READER_ERROR ? offset_line(text, len, p->problem_offset)
                                             : (int)p->problem_mark.line + 1;
    const char *prob = p->problem ? p->problem : "cannot parse";
    char ctx[160] = "";
    if (p->context && p->error != YAML_READER_ERROR)
        snprintf(ctx, sizeof ctx, " (%s at line %d)", p->context, (int)p->context_mark.line + 1);
    if (c->file) return fail(c, line, NULL, "YAML syntax error: %s%s", prob, ctx);
    return fail(c, 0, key, "YAML syntax error in the value: %s%s", prob, ctx);
}

/* Loads the first document of text into doc.  Returns 0, or -1 with the error
 * (syntax, or a second document) in c->err. */
static int load_document(const char *text, size_t len, yaml_document_t *doc, const ectx *c,
                         const char *key)
{
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = 0;
    if (!yaml_parser_load(&p, doc)) {
        rc = syntax_error(&p, text, len, c, key);
    } else {
        yaml_document_t second;
        if (!yaml_parser_load(&p, &second)) {
            rc = syntax_error(&p, text, len, c, key);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&second);
            if (r2) rc = fail(c, node_line(r2), key, "only one YAML document is allowed");
            yaml_document_delete(&second);
        }
        if (rc) yaml_document_delete(doc);
    }
    yaml_parser_delete(&p);
    return rc;
}

/* One section's mapping: every key known, none twice. */
static int parse_section(dc_config *cfg, yaml_document_t *doc, const char *sec, yaml_node_t *map,
                         int *key_line, const ectx *c)
{
    if (map->type == YAML_SCALAR_NODE && scalar_is_null(map)) return 0; /* "output:" alone */
    if (map->type != YAML_MAPPING_NODE)
        return fail(c, node_line(map), sec, "expected a mapping of keys, got %s", node_kind(map));
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(doc, pr->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail(c, node_line(k), sec, "expected a key name, got %s", node_kind(k));
        char key[128];
        snprintf(key, sizeof key, "%s.%s", sec, scalar_text(k));
        const keydef *d = find_key(sec, scalar_text(k));
        if (!d) return fail(c, node_line(k), key, "unknown key");
        size_t idx = (size_t)(d - KEYS);
        if (key_line[idx])
            return fail(c, node_line(k), key, "duplicate key (first at line %d)", key_line[idx]);
        key_line[idx] = node_line(k);
        if (apply_node(cfg, d, doc, v, c)) return -1;
    }
    return 0;
}

static int parse_root(dc_config *cfg, yaml_document_t *doc, const ectx *c)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || (root->type == YAML_SCALAR_NODE && scalar_is_null(root)))
        return fail(c, 1, NULL,
                    "the config is empty (expected sections input, output, volumes, run)");
    if (root->type != YAML_MAPPING_NODE)
        return fail(c, node_line(root), NULL,
                    "expected a mapping of sections (input, output, volumes, run), got %s",
                    node_kind(root));
    int key_line[NKEYS] = {0}, sec_line[sizeof SECTIONS / sizeof SECTIONS[0]] = {0};
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(doc, pr->key);
        if (k->type != YAML_SCALAR_NODE)
            return fail(c, node_line(k), NULL, "expected a section name, got %s", node_kind(k));
        int s = find_section(scalar_text(k));
        if (s < 0)
            return fail(c, node_line(k), scalar_text(k),
                        "unknown section (expected input, output, volumes or run)");
        if (sec_line[s])
            return fail(c, node_line(k), scalar_text(k), "duplicate section (first at line %d)",
                        sec_line[s]);
        sec_line[s] = node_line(k);
        if (s == 0) cfg->input_line = node_line(k);
        yaml_node_t *v = yaml_document_get_node(doc, pr->value);
        if (parse_section(cfg, doc, SECTIONS[s], v, key_line, c)) return -1;
    }
    return 0;
}

int dc_config_parse_yaml(dc_config *cfg, const char *text, size_t len, const char *source,
                         char *err, size_t errlen)
{
    ectx c = {source ? source : "config", NULL, err, errlen};
    yaml_document_t doc;
    if (load_document(text, len, &doc, &c, NULL)) return -1;
    int rc = parse_root(cfg, &doc, &c);
    yaml_document_delete(&doc);
    return rc;
}

/* ------------------------------------------------------------------ --set */

static int set_key_value(dc_config *cfg, const char *key, const char *value, char *err,
                         size_t errlen)
{
    ectx c = {NULL, "--set", err, errlen};
    const char *dot = strchr(key, '.');
    const keydef *d = NULL;
    if (dot) {
        char sec[32];
        size_t n = (size_t)(dot - key);
        if (n < sizeof sec) {
            memcpy(sec, key, n);
            sec[n] = '\0';
            d = find_key(sec, dot + 1);
        }
    }
    if (!d) return fail(&c, 0, key, "unknown key");
    yaml_document_t doc;
    if (load_document(value, strlen(value), &doc, &c, key)) return -1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc = root ? apply_node(cfg, d, &doc, root, &c) : apply_scalar(cfg, d, "", 1, 0, &c);
    yaml_document_delete(&doc);
    if (rc == 0 && d->type == K_FOLDERS) cfg->input_line = 0;
    return rc;
}

int dc_config_set(dc_config *cfg, const char *assignment, char *err, size_t errlen)
{
    const char *eq = strchr(assignment, '=');
    if (!eq) {
        set_err(err, errlen, "--set %s: expected KEY=VALUE (e.g. --set output.id=run2)",
                assignment);
        return -1;
    }
    char *key = dc_strndup(assignment, (size_t)(eq - assignment));
    int rc = set_key_value(cfg, key, eq + 1, err, errlen);
    free(key);
    return rc;
}

/* ------------------------------------------------------------------ old flags */

/* One item of a Python list literal starting at *s (quoted or bare). */
static int pylist_item(const char **s, char close, dc_buf *out)
{
    const char *p = *s;
    int raw = 0;
    if ((*p == 'r' || *p == 'R') && (p[1] == '\'' || p[1] == '"')) {
        raw = 1;
        p++;
    }
    if (*p == '\'' || *p == '"') {
        char q = *p++;
        while (*p && *p != q) {
            if (*p == '\\' && !raw && p[1]) p++;
            dc_buf_putc(out, *p++);
        }
        if (*p != q) return -1;
        *s = p + 1;
        return 0;
    }
    const char *start = p;
    while (*p && *p != ',' && *p != close) p++;
    const char *end = p;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
    dc_buf_append(out, start, (size_t)(end - start));
    *s = p;
    return 0;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    return p;
}

/* "['a','b']" / "('a',)" / "a" -> folders.  Returns 0 or -1 with msg. */
static int parse_pylist(const char *text, dc_strvec *out, char *msg, size_t msglen)
{
    const char *p = skip_ws(text);
    if (*p != '[' && *p != '(') {
        if (!*p)
            return snprintf(msg, msglen, "expected a folder or a list of folders, got nothing"), -1;
        dc_strvec_push(out, text);
        return 0;
    }
    char close = *p == '[' ? ']' : ')';
    p = skip_ws(p + 1);
    while (*p && *p != close) {
        dc_buf item;
        dc_buf_init(&item);
        if (pylist_item(&p, close, &item) || item.len == 0) {
            dc_buf_free(&item);
            return snprintf(msg, msglen, "cannot read the list \"%s\"", text), -1;
        }
        dc_strvec_push_own(out, dc_buf_steal(&item));
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p != close)
            return snprintf(msg, msglen, "cannot read the list \"%s\"", text), -1;
    }
    if (*p != close || *skip_ws(p + 1))
        return snprintf(msg, msglen, "cannot read the list \"%s\"", text), -1;
    if (out->n == 0) return snprintf(msg, msglen, "empty list; give at least one folder"), -1;
    return 0;
}

/* ------------------------------------------------------------------ command line */

enum optkind {
    O_CONFIG,
    O_HELP,
    O_VERSION,
    O_DRY,
    O_SET,
    O_LOGLEVEL,
    O_PROGRESS,
    O_NOPROGRESS,
    O_DICOM_FOLDERS,
    O_STORAGE,
    O_OUTPUT_ID,
    O_WRITE_PIX,
    O_EVAL3D,
    O_NPROCS,
    O_PAROVER
};

enum { V_NONE = 0, V_REQUIRED = 1, V_OPTIONAL_EQ = 2 };

typedef struct {
    const char *name;
    int value;
    enum optkind kind;
    const char *key; /* the config key it sets, if any */
} optdef;

static const optdef OPTS[] = {
    {"-c", V_REQUIRED, O_CONFIG, NULL},
    {"--config", V_REQUIRED, O_CONFIG, NULL},
    {"-h", V_NONE, O_HELP, NULL},
    {"--help", V_NONE, O_HELP, NULL},
    {"--version", V_NONE, O_VERSION, NULL},
    {"--dry-run", V_NONE, O_DRY, NULL},
    {"--set", V_REQUIRED, O_SET, NULL},
    {"--log-level", V_REQUIRED, O_LOGLEVEL, "run.log_level"},
    {"--progress", V_OPTIONAL_EQ, O_PROGRESS, "run.progress"},
    {"--no-progress", V_NONE, O_NOPROGRESS, "run.progress"},
    {"--dicom_folders", V_REQUIRED, O_DICOM_FOLDERS, "input.folders"},
    {"--storage_folder", V_REQUIRED, O_STORAGE, "output.folder"},
    {"--output_id", V_REQUIRED, O_OUTPUT_ID, "output.id"},
    {"--write_pixeldata", V_REQUIRED, O_WRITE_PIX, "output.write_pixeldata"},
    {"--eval_3d_scans", V_REQUIRED, O_EVAL3D, "output.volumes"},
    {"--n_procs", V_REQUIRED, O_NPROCS, NULL},
    {"--par_over_folder", V_REQUIRED, O_PAROVER, NULL},
};
#define NOPTS (sizeof OPTS / sizeof OPTS[0])

/* Option names compare with '-' and '_' alike (--dry_run, --output-id). */
static int optname_eq(const char *a, const char *b, size_t blen)
{
    size_t i = 0;
    for (; i < blen && a[i]; i++) {
        char x = a[i] == '_' ? '-' : a[i], y = b[i] == '_' ? '-' : b[i];
        if (x != y) return 0;
    }
    return i == blen && a[i] == '\0';
}

static const optdef *find_opt(const char *arg, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (optname_eq(OPTS[i].name, arg, len)) return &OPTS[i];
    return NULL;
}

typedef struct {
    const optdef *opt;
    const char *value;
} cli_op;

typedef struct {
    const char *config;
    cli_op *ops;
    size_t nops;
    const char **pos;
    size_t npos;
    int dry_run;
} cli_args;

static void cli_free(cli_args *a)
{
    free(a->ops);
    free(a->pos);
}

/* 1 for --help, 2 for --version anywhere before "--", else 0 */
static int wants_info(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return DC_CLI_HELP;
        if (!strcmp(argv[i], "--version")) return DC_CLI_VERSION;
    }
    return 0;
}

/* Splits one option argument; *i advances past a separate value. */
static int take_option(int argc, char **argv, int *i, cli_args *a, char *err, size_t errlen)
{
    const char *arg = argv[*i];
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
    const optdef *o = find_opt(arg, nlen);
    if (!o) {
        set_err(err, errlen, "unknown option \"%.*s\" (see dcmcrawl --help)", (int)nlen, arg);
        return -1;
    }
    const char *val = eq ? eq + 1 : NULL;
    if (o->value == V_NONE && val) {
        set_err(err, errlen, "%s: takes no value", o->name);
        return -1;
    }
    if (o->value == V_REQUIRED && !val) {
        if (*i + 1 >= argc) {
            set_err(err, errlen, "%s: missing value", o->name);
            return -1;
        }
        val = argv[++*i];
    }
    if (o->kind == O_CONFIG) {
        if (a->config) {
            set_err(err, errlen, "%s: the config file is given twice", o->name);
            return -1;
        }
        a->config = val;
    } else if (o->kind == O_DRY) {
        a->dry_run = 1;
    } else {
        a->ops[a->nops].opt = o;
        a->ops[a->nops++].value = val;
    }
    return 0;
}

static int parse_argv(int argc, char **argv, cli_args *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->ops = dc_calloc((size_t)argc + 1, sizeof *a->ops);
    a->pos = dc_calloc((size_t)argc + 1, sizeof *a->pos);
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!only_pos && !strcmp(arg, "--")) {
            only_pos = 1;
        } else if (!only_pos && arg[0] == '-' && arg[1] != '\0') {
            if (take_option(argc, argv, &i, a, err, errlen)) return -1;
        } else {
            a->pos[a->npos++] = arg;
        }
    }
    return 0;
}

static void add_note(dc_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_note(dc_config *cfg, const char *fmt, ...)
{
    char msg[DC_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dc_strvec_push(&cfg->notes, msg);
}

static int apply_dicom_folders(dc_config *cfg, const cli_op *op, char *err, size_t errlen)
{
    dc_strvec v;
    dc_strvec_init(&v);
    char msg[DC_ERRLEN];
    if (parse_pylist(op->value, &v, msg, sizeof msg)) {
        dc_strvec_free(&v);
        set_err(err, errlen, "%s (input.folders): %s", op->opt->name, msg);
        return -1;
    }
    set_folders(cfg, &v);
    cfg->input_line = 0;
    return 0;
}

/* A flag that sets one key from a plain string value. */
static int apply_flag_value(dc_config *cfg, const cli_op *op, const char *value, char *err,
                            size_t errlen)
{
    ectx c = {NULL, op->opt->name, err, errlen};
    const char *dot = strchr(op->opt->key, '.');
    char sec[16];
    snprintf(sec, sizeof sec, "%.*s", (int)(dot - op->opt->key), op->opt->key);
    const keydef *d = find_key(sec, dot + 1);
    return apply_scalar(cfg, d, value, 0, 0, &c);
}

static int apply_op(dc_config *cfg, const cli_op *op, char *err, size_t errlen)
{
    switch (op->opt->kind) {
    case O_SET:
        return dc_config_set(cfg, op->value, err, errlen);
    case O_DICOM_FOLDERS:
        return apply_dicom_folders(cfg, op, err, errlen);
    case O_PROGRESS:
        return apply_flag_value(cfg, op, op->value ? op->value : "always", err, errlen);
    case O_NOPROGRESS:
        return apply_flag_value(cfg, op, "never", err, errlen);
    case O_NPROCS:
        add_note(cfg,
                 "--n_procs %s ignored: the number of ranks comes from mpirun "
                 "(e.g. mpirun -np %s dcmcrawl ...)",
                 op->value, op->value);
        return 0;
    case O_PAROVER:
        add_note(cfg,
                 "--par_over_folder %s ignored: work is shared out by series over all "
                 "ranks, and the number of ranks comes from mpirun",
                 op->value);
        return 0;
    default:
        return apply_flag_value(cfg, op, op->value, err, errlen);
    }
}

/* ------------------------------------------------------------------ config file */

static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "%s: cannot read the config file: %s", path, strerror(errno));
        return -1;
    }
    dc_buf b;
    dc_buf_init(&b);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= MAX_CONFIG_BYTES)
        dc_buf_append(&b, chunk, n);
    int bad = ferror(f), e = errno;
    fclose(f);
    if (bad || b.len > MAX_CONFIG_BYTES) {
        set_err(err, errlen, "%s: cannot read the config file: %s", path,
                bad ? strerror(e) : "larger than 1 MiB");
        dc_buf_free(&b);
        return -1;
    }
    *len = b.len;
    *text = dc_buf_steal(&b);
    return 0;
}

static int load_config_file(dc_config *cfg, const char *path, char *err, size_t errlen)
{
    char *text;
    size_t len;
    if (read_file(path, &text, &len, err, errlen)) return -1;
    cfg->config_path = dc_strdup(path);
    int rc = dc_config_parse_yaml(cfg, text, len, path, err, errlen);
    free(text);
    return rc;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int looks_like_config(const char *path)
{
    struct stat st;
    return (dc_endswith(path, ".yaml") || dc_endswith(path, ".yml")) && stat(path, &st) == 0 &&
           S_ISREG(st.st_mode);
}

/* Without -c, the first positional is the config file, unless it is a folder.
 * With -c, a positional YAML file is a mistake, not a folder. */
static int pick_config(cli_args *a, char *err, size_t errlen)
{
    for (size_t i = 0; a->config && i < a->npos; i++)
        if (looks_like_config(a->pos[i])) {
            set_err(err, errlen, "%s: a second config file (%s is given with -c)", a->pos[i],
                    a->config);
            return -1;
        }
    if (a->config || a->npos == 0 || is_dir(a->pos[0])) return 0;
    a->config = a->pos[0];
    a->pos++;
    a->npos--;
    return 0;
}

/* The old crawler's own flags, without a config file: its users' h5py code
 * indexes (1, rows, cols, slices), so output.layout defaults to seed (a
 * --set given with them still wins: it is applied after this). */
static void old_crawler_defaults(dc_config *cfg, const cli_args *a)
{
    if (a->config) return;
    for (size_t i = 0; i < a->nops; i++) {
        enum optkind k = a->ops[i].opt->kind;
        if (k == O_DICOM_FOLDERS || k == O_STORAGE || k == O_OUTPUT_ID || k == O_WRITE_PIX ||
            k == O_EVAL3D || k == O_NPROCS || k == O_PAROVER) {
            cfg->layout = DC_LAYOUT_SEED;
            return;
        }
    }
}

static int apply_cli(dc_config *cfg, cli_args *a, char *err, size_t errlen)
{
    if (a->config && load_config_file(cfg, a->config, err, errlen)) return -1;
    old_crawler_defaults(cfg, a);
    for (size_t i = 0; i < a->nops; i++)
        if (apply_op(cfg, &a->ops[i], err, errlen)) return -1;
    if (a->npos > 0) {
        dc_strvec v;
        dc_strvec_init(&v);
        for (size_t i = 0; i < a->npos; i++) dc_strvec_push(&v, a->pos[i]);
        set_folders(cfg, &v);
        cfg->input_line = 0;
    }
    cfg->dry_run = a->dry_run;
    return 0;
}

int dc_config_from_args(int argc, char **argv, dc_config *cfg, char *err, size_t errlen)
{
    dc_config_init(cfg);
    int info = wants_info(argc, argv);
    if (info) return info;
    if (argc < 2) {
        set_err(err, errlen,
                "no config file given (usage: dcmcrawl CONFIG [FOLDER...]; "
                "see dcmcrawl --help)");
        return DC_CLI_ERROR;
    }
    cli_args a;
    int rc = parse_argv(argc, argv, &a, err, errlen);
    const char **pos0 = a.pos;
    if (rc == 0) rc = pick_config(&a, err, errlen);
    if (rc == 0) rc = apply_cli(cfg, &a, err, errlen);
    a.pos = pos0;
    cli_free(&a);
    if (rc == 0) rc = dc_config_finish(cfg, err, errlen);
    return rc ? DC_CLI_ERROR : DC_CLI_RUN;
}

/* ------------------------------------------------------------------ final checks */

static int missing_folders(const dc_config *cfg, char *err, size_t errlen)
{
    if (cfg->config_path)
        set_err(err, errlen,
                "%s:%d: input.folders: missing (required: list the folders to crawl "
                "in the config, or give them after the config file)",
                cfg->config_path, cfg->input_line ? cfg->input_line : 1);
    else
        set_err(err, errlen,
                "input.folders: missing (give a config file, folders, "
                "--dicom_folders or --set input.folders=[...])");
    return -1;
}

static int listed_before(const dc_strvec *v, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (!strcmp(v->v[j], v->v[i])) return 1;
    return 0;
}

/* Why folder f cannot be crawled ("No such file or directory", "not a
 * directory"), or NULL when it is a directory. */
static const char *not_a_dir(const char *f)
{
    struct stat st;
    if (stat(f, &st) != 0) return strerror(errno);
    return S_ISDIR(st.st_mode) ? NULL : "not a directory";
}

/* Drops duplicates and non-directories (with a note each); the error, when
 * none is left, repeats why each was dropped since notes are not shown then. */
static int keep_directories(dc_config *cfg, char *err, size_t errlen)
{
    dc_strvec kept;
    dc_strvec_init(&kept);
    dc_buf why;
    dc_buf_init(&why);
    for (size_t i = 0; i < cfg->folders.n; i++) {
        const char *f = cfg->folders.v[i], *reason = NULL;
        if (listed_before(&cfg->folders, i)) {
            add_note(cfg, "input.folders: \"%s\" is listed twice; crawled once", f);
        } else if ((reason = not_a_dir(f)) != NULL) {
            add_note(cfg, "input.folders: \"%s\" skipped: %s", f, reason);
            dc_buf_printf(&why, "%s\"%s\": %s", why.len ? "; " : "", f, reason);
        } else {
            dc_strvec_push(&kept, f);
        }
    }
    set_folders(cfg, &kept);
    if (cfg->folders.n == 0)
        set_err(err, errlen, "input.folders: none of the listed folders is a directory (%s)",
                dc_buf_cstr(&why));
    dc_buf_free(&why);
    return cfg->folders.n ? 0 : -1;
}

/* Nearest existing ancestor of path (path itself does not exist). Caller frees. */
static char *existing_parent(const char *path)
{
    char *p = dc_strdup(path);
    for (;;) {
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
        char *slash = strrchr(p, '/');
        if (!slash) {
            free(p);
            return dc_strdup(".");
        }
        if (slash == p)
            slash[1] = '\0';
        else
            *slash = '\0';
        struct stat st;
        if (stat(p, &st) == 0 || errno != ENOENT) return p;
    }
}

static int check_creatable(dc_config *cfg, char *err, size_t errlen)
{
    const char *f = cfg->out_folder;
    char *parent = existing_parent(f);
    struct stat st;
    int rc = 0;
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
        set_err(err, errlen, "output.folder: cannot create \"%s\": \"%s\" is not a directory", f,
                parent);
        rc = -1;
    } else if (access(parent, W_OK | X_OK) != 0) {
        set_err(err, errlen, "output.folder: cannot create \"%s\": \"%s\" is not writable (%s)", f,
                parent, strerror(errno));
        rc = -1;
    }
    free(parent);
    cfg->out_folder_create = rc == 0;
    return rc;
}

static int check_out_folder(dc_config *cfg, char *err, size_t errlen)
{
    const char *f = cfg->out_folder;
    struct stat st;
    cfg->out_folder_create = 0;
    if (stat(f, &st) != 0) {
        if (errno == ENOENT) return check_creatable(cfg, err, errlen);
        set_err(err, errlen, "output.folder: cannot use \"%s\": %s", f, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        set_err(err, errlen, "output.folder: \"%s\" exists and is not a directory", f);
        return -1;
    }
    if (access(f, W_OK | X_OK) != 0) {
        set_err(err, errlen, "output.folder: \"%s\" is not writable (%s)", f, strerror(errno));
        return -1;
    }
    return 0;
}

int dc_config_finish(dc_config *cfg, char *err, size_t errlen)
{
    if (cfg->folders.n == 0) return missing_folders(cfg, err, errlen);
    if (keep_directories(cfg, err, errlen)) return -1;
    if (check_out_folder(cfg, err, errlen)) return -1;
    free(cfg->config_text);
    cfg->config_text = dc_config_to_yaml(cfg);
    return 0;
}

/* ------------------------------------------------------------------ rendering */

/* A YAML double-quoted string: \ and " escaped, control bytes as \xNN. */
static void put_quoted(dc_buf *b, const char *s)
{
    dc_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            dc_buf_putc(b, '\\');
            dc_buf_putc(b, (char)*p);
        } else if (*p < 0x20 || *p == 0x7f) {
            dc_buf_printf(b, "\\x%02x", *p);
        } else {
            dc_buf_putc(b, (char)*p);
        }
    }
    dc_buf_putc(b, '"');
}

static void put_value(dc_buf *b, const dc_config *cfg, const keydef *d)
{
    dc_config *c = (dc_config *)cfg; /* field accessors only read here */
    switch (d->type) {
    case K_BOOL:
        dc_buf_puts(b, *field_int(c, d) ? "true" : "false");
        break;
    case K_ENUM:
        dc_buf_puts(b, d->choices[*field_int(c, d)]);
        break;
    case K_COUNT:
        dc_buf_printf(b, "%ld", *(const long *)((const char *)cfg + d->off));
        break;
    case K_COMPRESSION:
        if (cfg->gzip_level)
            dc_buf_printf(b, "gzip:%d", cfg->gzip_level);
        else
            dc_buf_puts(b, "none");
        break;
    case K_BYTES: {
        char t[32];
        format_bytes(*(const uint64_t *)((const char *)cfg + d->off), t, sizeof t);
        dc_buf_puts(b, t);
        break;
    }
    case K_PATH:
    case K_ID:
        if (field_str(c, d) && *field_str(c, d))
            put_quoted(b, field_str(c, d));
        else
            dc_buf_puts(b, "null");
        break;
    case K_HINTS:
        dc_buf_putc(b, '{');
        for (size_t i = 0; i + 1 < cfg->mpi_io_hints.n; i += 2) {
            dc_buf_printf(b, "%s%s: ", i ? ", " : "", cfg->mpi_io_hints.v[i]);
            put_quoted(b, cfg->mpi_io_hints.v[i + 1]);
        }
        dc_buf_putc(b, '}');
        break;
    case K_SELECT: {
        const dc_strvec *lists[] = {&cfg->select_modality, &cfg->select_sop_class,
                                    &cfg->select_exclude_image_type};
        const char *names[] = {"modality", "sop_class", "exclude_image_type"};
        dc_buf_putc(b, '{');
        for (int w = 0; w < 3; w++) {
            dc_buf_printf(b, "%s%s: [", w ? ", " : "", names[w]);
            for (size_t i = 0; i < lists[w]->n; i++) {
                if (i) dc_buf_puts(b, ", ");
                put_quoted(b, lists[w]->v[i]);
            }
            dc_buf_putc(b, ']');
        }
        dc_buf_printf(b, ", exclude_burned_in: %s, min_slices: %ld}",
                      cfg->select_exclude_burned_in ? "true" : "false", cfg->select_min_slices);
        break;
    }
    case K_COLUMNS:
        for (int w = 0; w < 2; w++) {
            const dc_strvec *v = w ? &cfg->columns_exclude : &cfg->columns_include;
            dc_buf_puts(b, w ? ", exclude: [" : "{include: [");
            for (size_t i = 0; i < v->n; i++) {
                if (i) dc_buf_puts(b, ", ");
                put_quoted(b, v->v[i]);
            }
            dc_buf_putc(b, ']');
        }
        dc_buf_putc(b, '}');
        break;
    case K_FOLDERS:
        if (cfg->folders.n == 0) dc_buf_puts(b, "[]");
        for (size_t i = 0; i < cfg->folders.n; i++) {
            dc_buf_puts(b, "\n    - ");
            put_quoted(b, cfg->folders.v[i]);
        }
        break;
    }
}

char *dc_config_to_yaml(const dc_config *cfg)
{
    dc_buf b;
    dc_buf_init(&b);
    const char *sec = "";
    for (size_t i = 0; i < NKEYS; i++) {
        /* without a profile the text stays what it was before privacy.* existed */
        if (!cfg->privacy_profile && !strcmp(KEYS[i].section, "privacy")) continue;
        if (KEYS[i].type == K_COLUMNS && !cfg->columns_include.n && !cfg->columns_exclude.n)
            continue;
        if (KEYS[i].type == K_SELECT && !dc_select_active(cfg)) continue;
        /* a count not set (run.window_files): its default depends on the rank count */
        if (KEYS[i].type == K_COUNT && *(const long *)((const char *)cfg + KEYS[i].off) == 0) continue;
        if (strcmp(sec, KEYS[i].section)) {
            sec = KEYS[i].section;
            dc_buf_printf(&b, "%s:\n", sec);
        }
        int block = KEYS[i].type == K_FOLDERS && cfg->folders.n > 0; /* no trailing blank */
        dc_buf_printf(&b, block ? "  %s:" : "  %s: ", KEYS[i].name);
        put_value(&b, cfg, &KEYS[i]);
        dc_buf_putc(&b, '\n');
    }
    return dc_buf_steal(&b);
}

char *dc_config_out_path(const dc_config *cfg, const char *stem, const char *ext)
{
    const char *folder = cfg->out_folder && *cfg->out_folder ? cfg->out_folder : ".";
    const char *sep = dc_endswith(folder, "/") ? "" : "/";
    const char *dot = ext[0] == '.' ? "" : ".";
    if (cfg->out_id && *cfg->out_id)
        return dc_asprintf("%s%s%s_%s%s%s", folder, sep, stem, cfg->out_id, dot, ext);
    return dc_asprintf("%s%s%s%s%s", folder, sep, stem, dot, ext);
}

/* ------------------------------------------------------------------ key docs */

static const char *type_text(enum ktype t)
{
    switch (t) {
    case K_BOOL: return "boolean";
    case K_PATH: return "path";
    case K_ID: return "name";
    case K_ENUM: return "one of";
    case K_COUNT: return "integer >= 1";
    case K_FOLDERS: return "list of folders";
    case K_COMPRESSION: return "none or gzip:1..9";
    case K_BYTES: return "size";
    case K_HINTS: return "mapping";
    default: break; /* a new type: add its name here (the docs say "value" meanwhile) */
    }
    return "value";
}

int dc_config_key_doc(size_t i, dc_config_keydoc *doc)
{
    if (i >= NKEYS) return -1;
    doc->section = KEYS[i].section;
    doc->name = KEYS[i].name;
    doc->type = type_text(KEYS[i].type);
    doc->choices = KEYS[i].type == K_ENUM ? KEYS[i].choices : NULL;
    doc->dflt = KEYS[i].dflt;
    doc->help = KEYS[i].help;
    return 0;
}

/* ------------------------------------------------------------------ --help */

static void usage_keys(dc_buf *b)
{
    const char *sec = "";
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(sec, KEYS[i].section)) {
            sec = KEYS[i].section;
            dc_buf_printf(b, "  %s:\n", sec);
        }
        char kd[64];
        snprintf(kd, sizeof kd, "%s: %s", KEYS[i].name, KEYS[i].dflt);
        dc_buf_printf(b, "    %-30s # %s\n", kd, KEYS[i].help);
    }
}

const char *dc_config_usage(void)
{
    static char *text;
    if (text) return text;
    dc_buf b;
    dc_buf_init(&b);
    dc_buf_puts(
        &b, "dcmcrawl " DC_VERSION " - crawl DICOM folders into a metadata CSV, an HDF5 file of\n"
            "pixel data and a CSV of unreadable files.\n"
            "\n"
            "Usage:\n"
            "  [mpirun -np N] dcmcrawl CONFIG.yaml [FOLDER...] [OPTIONS]\n"
            "  [mpirun -np N] dcmcrawl -c CONFIG.yaml [FOLDER...] [OPTIONS]\n"
            "  [mpirun -np N] dcmcrawl --dicom_folders \"['f1','f2']\" [OLD FLAGS]\n"
            "  dcmcrawl pack pixel_data_<id>.h5 OUT.h5   (one self-contained HDF5 file)\n"
            "\n"
            "Folders given after the config replace input.folders.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE       the YAML config file\n"
            "  --set KEY=VALUE         override a config key (repeatable); VALUE is YAML,\n"
            "                          e.g. --set output.id=run2 --set input.folders=[a,b]\n"
            "  --dry-run               walk and group, print the plan, write nothing\n"
            "  --log-level LEVEL       error | warn | info | debug (run.log_level)\n"
            "  --progress[=MODE]       auto | always | never (alone: always); --no-progress\n"
            "  -h, --help              this text\n"
            "  --version               print the version\n"
            "\n"
            "The old crawler's flags (same meaning as before):\n"
            "  --dicom_folders LIST    input.folders, a Python list \"['a','b']\" or one path\n"
            "  --storage_folder DIR    output.folder\n"
            "  --output_id ID          output.id (none: metadata.csv, pixel_data.h5, ...)\n"
            "  --write_pixeldata B     output.write_pixeldata (True/False)\n"
            "  --eval_3d_scans B       output.volumes (True/False)\n"
            "  --n_procs N             ignored: the number of ranks comes from mpirun -np N\n"
            "  --par_over_folder X     ignored: series are shared out over all ranks\n"
            "Flags also take --flag=value.  Without a config file these flags imply\n"
            "output.layout: seed, the old crawler's (1, rows, cols, slices) (--set wins).\n"
            "\n"
            "Config keys (YAML; key: default):\n");
    usage_keys(&b);
    dc_buf_puts(&b,
                "Booleans: true/false, yes/no, True/False.  Sizes: 4GiB, 512MiB, bytes.\n"
                "\n"
                "Hostile input: a file or stack whose pixels would decode to more than\n"
                "run.max_image_bytes, whose native frames do not fit in the file, whose header\n"
                "is nested deeper than 12 sequences or has more than 200000 elements, or whose\n"
                "deflated dataset inflates beyond run.max_image_bytes + 256 MiB is unreadable\n"
                "(reason in unreadable_files) and nothing is allocated for it.\n"
                "Metadata CSV names (output.csv_style): seed (default) writes the old crawler's\n"
                "column names and value text (pydicom: \"Patient's Name (0010, 0010)\",\n"
                "\"['ORIGINAL', 'PRIMARY']\"); dicom writes keywords and \\-joined values\n"
                "(\"PatientName (0010, 0010)\", \"ORIGINAL\\PRIMARY\").  Appending to an existing\n"
                "metadata CSV keeps the style of its header; asking for the other one is an error.\n"
                "With output.csv_formula_guard: true, metadata values that start with\n"
                "= + - @ TAB or CR and are not numbers get a leading ' so spreadsheets show\n"
                "them as text (OWASP CSV injection); Scan IDs are never changed.\n"
                "\n"
                "Exit status: 0 done; 1 runtime failure; 2 bad usage or config (nothing written);\n"
                "3 stopped by SIGTERM/SIGINT after a clean checkpoint (run again to continue).\n");
    text = dc_buf_steal(&b);
    return text;
}
