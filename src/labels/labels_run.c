/*
 * labels_run.c - labels and references in the crawl (dc_labels_run.h): the
 * ledger noted while planning windows, and the label phase at the end of a
 * run (references_<id>.csv, label datasets, their unreadable rows).
 *
 * With privacy.profile (README "Privacy"): every UID the ledger, the
 * references CSV and the label attributes hold is the profile's pseudonym of
 * it (dc_privacy_uid, the same the metadata rows and Scan IDs get), free
 * text of the label objects is a descriptor (dc_privacy_descriptor), messages
 * name no input path or original UID (scrub_message), and the input path the
 * phase re-reads is sealed in the ledger (dc_privacy_seal: AES-256-GCM
 * under a key derived from the privacy key).  Sealing, not a side file:
 * the ledger must survive between runs of an output folder (appends,
 * restarts) like the outputs themselves, and the key file is already what
 * every such run needs; without the key the ledger shows no path.
 */
#include "dc_labels_run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc_csv.h"
#include "dc_csvout.h"
#include "dc_grid.h"
#include "dc_h5labels.h"
#include "dc_hook.h"
#include "dc_labels.h"
#include "dc_mpi.h"
#include "dc_privacy.h"
#include "dc_references.h"
#include "dc_util.h"
#include "dc_wire.h"


/* ---- paths ---- */

static char *labels_dir(const dc_config *cfg)
{
    char *idx = dc_config_out_path(cfg, "labels", "h5");
    size_t n = strlen(idx);
    idx[n - 3] = '\0'; /* "labels_<id>.h5" -> "labels_<id>" */
    char *d = dc_asprintf("%s.d", idx);
    free(idx);
    return d;
}

static char *ledger_path(const dc_config *cfg)
{
    char *d = labels_dir(cfg);
    char *p = dc_asprintf("%s/ledger.tsv", d);
    free(d);
    return p;
}

/* ---- ledger lines: tab-separated fields, \t \n \\ escaped ---- */

static void put_field(dc_buf *b, const char *s)
{
    dc_buf_putc(b, '\t');
    for (; *s; s++) {
        if (*s == '\t')
            dc_buf_puts(b, "\\t");
        else if (*s == '\n')
            dc_buf_puts(b, "\\n");
        else if (*s == '\\')
            dc_buf_puts(b, "\\\\");
        else
            dc_buf_putc(b, *s);
    }
}

/* split line (no newline) into at most max fields, unescaped in place */
static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    char *w = line;
    f[n++] = w;
    for (char *p = line; *p; p++) {
        if (*p == '\t') {
            *w++ = '\0';
            if (n == max) return n;
            f[n++] = w;
        } else if (*p == '\\' && p[1]) {
            p++;
            *w++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return n;
}

/* the grid of an image scan in either layout (seed: (1, rows, cols, slices)) */
static int scan_grid(const dc_config *cfg, const dc_scan *s, dc_grid *g)
{
    char why[256];
    dc_scan t = *s;
    if (cfg->layout == DC_LAYOUT_SEED && s->ndim == 4 && s->dims[0] == 1) {
        t.ndim = 3;
        t.dims[0] = s->dims[3], t.dims[1] = s->dims[1], t.dims[2] = s->dims[2];
    }
    return dc_grid_from_scan(&t, g, why, sizeof why);
}

/* slice positions worth keeping: some slice is off the affine's prediction
 * (gaps, uneven spacing); else the affine says it all and the line stays short */
static int positions_needed(const dc_grid *g)
{
    if (!g->pos) return 0;
    for (uint32_t k = 0; k < g->nz; k++)
        for (int r = 0; r < 3; r++) {
            double pred = g->affine[r * 4 + 3] + g->affine[r * 4] * k;
            if (fabs(g->pos[3 * k + r] - pred) > 1e-4) return 1;
        }
    return 0;
}

static void series_line(const dc_config *cfg, const dc_scan *s, dc_buf *b)
{
    dc_grid g;
    dc_grid_init(&g);
    dc_buf_putc(b, 'S');
    put_field(b, s->series_uid);
    put_field(b, s->scan_id);
    if (scan_grid(cfg, s, &g) != 0) g.nz = g.ny = g.nx = 0;
    dc_buf_printf(b, "\t%u\t%u\t%u\t", g.nz, g.ny, g.nx);
    for (int i = 0; i < 16; i++) dc_buf_printf(b, "%s%.17g", i ? " " : "", g.affine[i]);
    dc_buf_putc(b, '\t');
    if (g.nz && positions_needed(&g))
        for (uint32_t i = 0; i < 3 * g.nz; i++) dc_buf_printf(b, "%s%.17g", i ? " " : "", g.pos[i]);
    else
        dc_buf_putc(b, '-');
    dc_buf_putc(b, '\n');
    dc_grid_free(&g);
}

/* a references summary (dc_references_summary: target line, then rows
 * "kind TAB study TAB series TAB sop TAB for TAB count") with every UID
 * replaced by its pseudonym */
static void pseudonymise_summary(const dc_privacy *pv, const char *summary, dc_buf *out)
{
    char uid[DC_PRIVACY_UID_LEN];
    int line = 0, field = 0;
    for (const char *c = summary;;) {
        size_t n = strcspn(c, "\t\n");
        int is_uid = line == 0 ? field == 0 : field >= 1 && field <= 4;
        if (is_uid && n) {
            dc_privacy_uid(pv, c, n, uid);
            dc_buf_puts(out, uid);
        } else {
            dc_buf_append(out, c, n);
        }
        c += n;
        if (!*c) break;
        if (*c == '\n')
            line++, field = 0;
        else
            field++;
        dc_buf_putc(out, *c++);
    }
}

static void label_line(const dc_scan *s, const dc_record *r, const char *path, dc_buf *b)
{
    const dc_privacy *pv = dc_privacy_active();
    char m[17], *abs = realpath(path, NULL);
    snprintf(m, sizeof m, "%.16s", r->modality);
    dc_buf_putc(b, 'L');
    put_field(b, s->scan_id);
    put_field(b, m);
    dc_buf_printf(b, "\t%u", s->n_files);
    dc_buf t;
    dc_buf_init(&t);
    if (pv) dc_privacy_seal(pv, abs ? abs : path, &t);
    put_field(b, pv ? dc_buf_cstr(&t) : abs ? abs : path);
    dc_buf_reset(&t);
    if (pv && r->refs) pseudonymise_summary(pv, r->refs, &t);
    put_field(b, pv ? dc_buf_cstr(&t) : r->refs ? r->refs : "");
    dc_buf_putc(b, '\n');
    dc_buf_free(&t);
    free(abs);
}

/* open the ledger for appending, cutting a torn last line */
static int ledger_open(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) return -1;
    off_t end = lseek(fd, 0, SEEK_END), cut = end;
    char c;
    while (cut > 0 && pread(fd, &c, 1, cut - 1) == 1 && c != '\n') cut--;
    if (cut != end && ftruncate(fd, cut) != 0) {
        close(fd);
        return -1;
    }
    lseek(fd, cut, SEEK_SET);
    return fd;
}

int dc_labels_note(const dc_config *cfg, const dc_record *recs, const dc_filelist *files,
                   const dc_scan *scans, size_t n)
{
    if (cfg->dry_run) return 0;
    dc_buf b;
    dc_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        const dc_scan *s = &scans[i];
        uint32_t ri = s->first_rec != DC_NO_REC ? s->first_rec : s->example_rec;
        if (ri == DC_NO_REC) continue;
        const dc_record *r = &recs[ri];
        if (cfg->volumes && !s->unreadable && s->series_uid[0]) series_line(cfg, s, &b);
        uint32_t ei = s->example_rec != DC_NO_REC ? s->example_rec : ri;
        char m[17];
        dc_copy_str(m, sizeof m, r->modality, 16); /* = snprintf "%.16s" */
        if (dc_references_is_referencing(m, r->sop_class))
            label_line(s, r, files->files[recs[ei].file_idx].path, &b);
    }
    int rc = 0;
    if (b.len) {
        char *dir = labels_dir(cfg), *path = ledger_path(cfg);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) rc = -1;
        int fd = rc == 0 ? ledger_open(path) : -1;
        if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len || fsync(fd) != 0) rc = -1;
        if (fd >= 0) close(fd);
        if (rc != 0) dc_error("%s: cannot append: %s", path, strerror(errno));
        free(dir);
        free(path);
    }
    dc_buf_free(&b);
    return rc;
}

/* ---- the label phase ---- */

typedef struct {
    char *scan_id, *modality, *path;
    uint32_t n_files;
    size_t line;             /* line in the ledger: the last entry of a Scan ID wins */
    char *summary;           /* the record's dc_references_summary */
    dc_reference_list refs;  /* series-level rows of the summary */
    uint32_t *counts;        /* their instance counts */
    char *target;            /* series a SEG/RTSTRUCT was drawn on, NULL when none */
} lab_scan;

typedef struct {
    char *uid, *scan_id;
    dc_grid grid;
} lab_target;

typedef struct {
    const dc_config *cfg;
    lab_scan *scans;
    size_t n_scans, cap;
    lab_target *targets; /* sorted by uid */
    size_t n_targets;
    dc_strvec unread_rows; /* unreadable rows of this phase (CSV text) */
    dc_strvec unread_keys; /* "<Scan ID>\n<reason>" of those rows */
} lab_phase;

static int is_label(const lab_scan *s)
{
    return strcmp(s->modality, "SEG") == 0 || strcmp(s->modality, "RTSTRUCT") == 0;
}

static int cmp_scan(const void *a, const void *b)
{
    const lab_scan *x = a, *y = b;
    int c = strcmp(x->scan_id, y->scan_id);
    return c ? c : (x->line < y->line) - (x->line > y->line); /* last line first */
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_target(const void *a, const void *b)
{
    return strcmp(((const lab_target *)a)->uid, ((const lab_target *)b)->uid);
}

/* a ledger's input path; with a profile sealed (NULL: not under this key) */
static char *read_path(const char *field)
{
    const dc_privacy *pv = dc_privacy_active();
    return pv ? dc_privacy_unseal(pv, field) : dc_strdup(field);
}

static void read_label_lines(lab_phase *p, FILE *f)
{
    char *line = NULL, *fl[7];
    size_t cap = 0, no = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        no++;
        if (line[len - 1] != '\n' || line[0] != 'L') continue; /* a torn tail, or an S line */
        line[len - 1] = '\0';
        if (split_fields(line, fl, 7) != 6) continue;
        if (p->n_scans == p->cap) {
            p->cap = p->cap ? 2 * p->cap : 16;
            p->scans = dc_realloc(p->scans, p->cap * sizeof *p->scans);
        }
        lab_scan *s = &p->scans[p->n_scans++];
        memset(s, 0, sizeof *s);
        s->scan_id = dc_strdup(fl[1]);
        s->modality = dc_strdup(fl[2]);
        s->n_files = (uint32_t)strtoul(fl[3], NULL, 10);
        s->path = read_path(fl[4]);
        s->summary = dc_strdup(fl[5]);
        s->line = no;
    }
    free(line);
    if (p->n_scans) qsort(p->scans, p->n_scans, sizeof *p->scans, cmp_scan);
    size_t k = 0;
    for (size_t i = 0; i < p->n_scans; i++) {
        if (k && strcmp(p->scans[k - 1].scan_id, p->scans[i].scan_id) == 0) {
            free(p->scans[i].scan_id), free(p->scans[i].modality), free(p->scans[i].path);
            free(p->scans[i].summary);
            continue;
        }
        p->scans[k++] = p->scans[i];
    }
    p->n_scans = k;
}

/* each referencing scan's references (from the header pass, in the
 * ledger: no file is read again), and the set of series they name */
static void read_references(lab_phase *p)
{
    dc_strvec uids;
    dc_strvec_init(&uids);
    for (size_t i = 0; i < p->n_scans; i++) {
        lab_scan *s = &p->scans[i];
        char target[DC_REF_UID_LEN] = "";
        if (dc_references_parse_summary(s->summary, &s->refs, &s->counts, target, sizeof target) != 0) {
            dc_reference_list_free(&s->refs);
            free(s->counts);
            s->counts = NULL;
            dc_warn("%s: references of %s unreadable in the ledger", p->cfg->out_folder, s->scan_id);
        }
        if (target[0]) s->target = dc_strdup(target);
        for (size_t j = 0; j < s->refs.n; j++)
            if (s->refs.v[j].series_uid[0]) dc_strvec_push(&uids, s->refs.v[j].series_uid);
    }
    p->targets = dc_calloc(uids.n + 1, sizeof *p->targets);
    for (size_t i = 0; i < uids.n; i++) p->targets[i].uid = uids.v[i], uids.v[i] = NULL;
    qsort(p->targets, uids.n, sizeof *p->targets, cmp_target);
    size_t k = 0;
    for (size_t i = 0; i < uids.n; i++) {
        if (k && strcmp(p->targets[k - 1].uid, p->targets[i].uid) == 0) {
            free(p->targets[i].uid);
            continue;
        }
        p->targets[k++] = p->targets[i];
    }
    p->n_targets = k;
    dc_strvec_free(&uids);
}

static lab_target *find_target(const lab_phase *p, const char *uid)
{
    lab_target key = {(char *)uid, NULL, {0}};
    return p->n_targets ? bsearch(&key, p->targets, p->n_targets, sizeof key, cmp_target) : NULL;
}

static void parse_doubles(const char *s, double *v, size_t n)
{
    char *e;
    for (size_t i = 0; i < n; i++, s = e) v[i] = strtod(s, &e);
}

/* an S line for a target: the scan with a 3D grid, then the least Scan ID, wins */
static void take_series_line(lab_phase *p, char **fl)
{
    lab_target *t = find_target(p, fl[1]);
    if (!t) return;
    uint32_t nz = (uint32_t)strtoul(fl[3], NULL, 10);
    if (t->scan_id && ((t->grid.nz > 0) > (nz > 0) ||
                       ((t->grid.nz > 0) == (nz > 0) && strcmp(t->scan_id, fl[2]) <= 0)))
        return;
    free(t->scan_id);
    dc_grid_free(&t->grid);
    t->scan_id = dc_strdup(fl[2]);
    t->grid.nz = nz;
    t->grid.ny = (uint32_t)strtoul(fl[4], NULL, 10);
    t->grid.nx = (uint32_t)strtoul(fl[5], NULL, 10);
    parse_doubles(fl[6], t->grid.affine, 16);
    if (nz && strcmp(fl[7], "-") != 0) {
        t->grid.pos = dc_malloc((size_t)nz * 3 * sizeof(double));
        parse_doubles(fl[7], t->grid.pos, (size_t)nz * 3);
    }
}

static void read_series_lines(lab_phase *p, FILE *f)
{
    char *line = NULL, *fl[9];
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n' || line[0] != 'S') continue;
        line[len - 1] = '\0';
        if (split_fields(line, fl, 9) == 8) take_series_line(p, fl);
    }
    free(line);
}

static const char *scan_of_series(void *ctx, const char *uid)
{
    const lab_target *t = find_target(ctx, uid);
    return t ? t->scan_id : NULL;
}

/* text to path, replaced atomically (dc_replace_file) */
static int replace_file(const char *path, const dc_buf *text)
{
    int rc = dc_replace_file(path, text->data, text->len);
    if (rc != 0) dc_error("%s: cannot write: %s", path, strerror(errno));
    return rc;
}

static const char *no_scan(void *ctx, const char *uid)
{
    (void)ctx, (void)uid;
    return NULL; /* per-file mode: a series is many scans */
}

static int write_references(lab_phase *p)
{
    char *path = dc_config_out_path(p->cfg, "references", "csv");
    dc_buf b;
    dc_buf_init(&b);
    dc_buf_puts(&b, DC_REFERENCES_CSV_HEADER);
    for (size_t i = 0; i < p->n_scans; i++)
        dc_references_csv_rows(p->scans[i].scan_id, &p->scans[i].refs, p->scans[i].counts,
                               p->cfg->volumes ? scan_of_series : no_scan, p, &b);
    int rc = replace_file(path, &b);
    if (rc == 0) dc_info("output: %s (references of %zu scans)", path, p->n_scans);
    dc_buf_free(&b);
    free(path);
    return rc;
}

/* ---- label datasets ---- */

static void add_unreadable(lab_phase *p, const lab_scan *s, const char *reason)
{
    char *id = dc_asprintf("%s_labels", s->scan_id);
    dc_buf row;
    dc_buf_init(&row);
    dc_csv_field(&row, reason);
    dc_buf_putc(&row, ',');
    dc_csv_field(&row, id);
    dc_buf_printf(&row, ",%u,", s->n_files);
    dc_csv_field(&row, s->path ? dc_privacy_path_view(s->path) : "");
    dc_buf_putc(&row, '\n');
    dc_strvec_push(&p->unread_rows, row.data);
    dc_buf_free(&row);
    dc_strvec_push_own(&p->unread_keys, dc_asprintf("%s\n%s", id, reason));
    free(id);
}

/* the file of a label scan's dataset: labels_<id>.d/<hash of its Scan ID>.h5 */
static char *label_file_name(const char *scan_id)
{
    size_t n = strlen(scan_id);
    return dc_asprintf("%016llx%016llx.h5", (unsigned long long)dc_hash64(scan_id, n, 0x5eed),
                       (unsigned long long)dc_hash64(scan_id, n, 0x1abe1));
}

/* dotted digits with two dots at least: a UID (not a number or a version) */
static size_t uid_at(const char *c)
{
    size_t n = 0, dots = 0;
    while ((c[n] >= '0' && c[n] <= '9') || (c[n] == '.' && n && c[n - 1] != '.')) dots += c[n++] == '.';
    if (n && c[n - 1] == '.') n--, dots--;
    return dots >= 2 && n >= 5 ? n : 0;
}

/* With a profile: msg with the input path shown as in unreadable rows
 * (dc_privacy_path_view) and every UID as its pseudonym.  The label core's
 * messages name the file it read and UIDs of the original object. */
static void scrub_message(const char *path, char *msg, size_t cap)
{
    const dc_privacy *pv = dc_privacy_active();
    if (!pv || !msg[0]) return;
    size_t pl = path ? strlen(path) : 0;
    char uid[DC_PRIVACY_UID_LEN];
    dc_buf b;
    dc_buf_init(&b);
    for (const char *c = msg; *c;) {
        size_t n = 0;
        int after_digit = c > msg && ((c[-1] >= '0' && c[-1] <= '9') || c[-1] == '.');
        if (pl && strncmp(c, path, pl) == 0) {
            dc_buf_puts(&b, dc_privacy_path_view(path));
            c += pl;
        } else if (!after_digit && (n = uid_at(c)) != 0) {
            dc_privacy_uid(pv, c, n, uid);
            dc_buf_puts(&b, uid);
            c += n;
        } else {
            dc_buf_putc(&b, *c++);
        }
    }
    snprintf(msg, cap, "%s", dc_buf_cstr(&b));
    dc_buf_free(&b);
}

/* With a profile: the label object's free text as descriptors
 * (dc_privacy_descriptor) and the warnings scrubbed */
static void deidentify_volume(const dc_privacy *pv, const dc_dataset *ds, dc_label_volume *v,
                              const char *path, dc_buf *warnings)
{
    dc_buf t;
    dc_buf_init(&t);
#define DESCRIPTOR(field)                                        \
    do {                                                         \
        dc_buf_reset(&t);                                        \
        dc_privacy_descriptor(pv, ds, (field), &t);              \
        snprintf((field), sizeof(field), "%s", dc_buf_cstr(&t)); \
    } while (0)
    for (uint32_t i = 0; v->kind == DC_LABEL_SEG && i < v->seg.n_segments; i++) {
        DESCRIPTOR(v->seg.segments[i].label);
        DESCRIPTOR(v->seg.segments[i].description);
        DESCRIPTOR(v->seg.segments[i].algorithm_name);
    }
    for (uint32_t i = 0; v->kind == DC_LABEL_RTSTRUCT && i < v->rtss.n_rois; i++)
        DESCRIPTOR(v->rtss.rois[i].name);
#undef DESCRIPTOR
    dc_buf_free(&t);
    if (!warnings->len) return;
    char *msg = dc_strdup(dc_buf_cstr(warnings));
    size_t cap = strlen(msg) * 10 + 256; /* a 5-char UID grows to <= 47 chars */
    msg = dc_realloc(msg, cap);
    scrub_message(path, msg, cap);
    dc_buf_reset(warnings);
    dc_buf_puts(warnings, msg);
    free(msg);
}

/* make and write one label dataset; returns 0, or -1 with err */
static int make_label(const lab_phase *p, const lab_scan *s, const lab_target *t, const char *file,
                      char *err, size_t errlen)
{
    dc_parse_opts po;
    dc_parse_opts_default(&po);
    po.keep_open = 1;
    po.walk_fragments = 1;
    dc_dataset ds;
    dc_dataset_init(&ds);
    dc_label_volume v;
    memset(&v, 0, sizeof v);
    int rc = dc_parse_file(s->path, &po, &ds, err, errlen) == DC_PARSE_OK ? 0 : -1;
    if (rc != 0 && !err[0]) snprintf(err, errlen, "cannot read %s", s->path);
    const dc_grid *g = t ? &t->grid : NULL;
    if (rc == 0)
        rc = strcmp(s->modality, "SEG") == 0
                 ? dc_label_seg(&ds, g, p->cfg->max_image_bytes, &v, err, errlen)
                 : dc_label_rtss(&ds, g, p->cfg->max_image_bytes, &v, err, errlen);
    if (rc == 0) {
        dc_buf w;
        dc_buf_init(&w);
        if (v.warning[0]) dc_buf_puts(&w, v.warning);
        if (v.kind == DC_LABEL_RTSTRUCT) dc_label_rtss_warnings(&v, &w);
        if (!t) dc_buf_puts(&w, "no referenced series: own grid");
        if (t && !t->grid.nz) dc_buf_puts(&w, "referenced scan is no 3D volume: own grid");
        if (dc_privacy_active()) deidentify_volume(dc_privacy_active(), &ds, &v, s->path, &w);
        dc_label_attrs a = {s->scan_id, t ? t->scan_id : "", s->target ? s->target : "",
                            w.len ? w.data : ""};
        dc_hook("labels");
        rc = dc_h5labels_write(file, &v, &a, err, errlen);
        dc_buf_free(&w);
    }
    dc_label_volume_free(&v);
    dc_dataset_free(&ds);
    return rc;
}

/* this rank's share of the SEG/RTSTRUCT scans (every nranks-th, in Scan ID
 * order): its dataset unless its file exists, or a row in unreadable_files */
static int make_my_labels(lab_phase *p, int rank, int nranks)
{
    char *dir = labels_dir(p->cfg);
    size_t k = 0;
    for (size_t i = 0; i < p->n_scans; i++) {
        const lab_scan *s = &p->scans[i];
        if (!is_label(s) || (int)(k++ % (size_t)nranks) != rank) continue;
        const lab_target *t = s->target ? find_target(p, s->target) : NULL;
        if (s->target && (!t || !t->scan_id)) {
            char *why = dc_asprintf("referenced series %s not crawled", s->target);
            add_unreadable(p, s, why);
            free(why);
            continue;
        }
        char *name = label_file_name(s->scan_id), *file = dc_asprintf("%s/%s", dir, name);
        char err[DC_ERRLEN] = "";
        if (!s->path) snprintf(err, sizeof err, "input path sealed under another privacy key");
        if (access(file, F_OK) != 0 && (!s->path || make_label(p, s, t, file, err, sizeof err) != 0)) {
            scrub_message(s->path, err, sizeof err);
            char *why = dc_asprintf("labels: %s", err);
            add_unreadable(p, s, why);
            free(why);
        }
        free(name);
        free(file);
    }
    free(dir);
    return 0;
}

/* rank 0, after every rank made its share: the index links every label file */
static int write_label_index(const lab_phase *p)
{
    char *dir = labels_dir(p->cfg), *idx = dc_config_out_path(p->cfg, "labels", "h5");
    const char *dir_name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    dc_strvec ids, files;
    dc_strvec_init(&ids);
    dc_strvec_init(&files);
    for (size_t i = 0; i < p->n_scans; i++) {
        if (!is_label(&p->scans[i])) continue;
        char *name = label_file_name(p->scans[i].scan_id), *file = dc_asprintf("%s/%s", dir, name);
        if (access(file, F_OK) == 0) {
            dc_strvec_push(&ids, p->scans[i].scan_id);
            dc_strvec_push_own(&files, dc_asprintf("%s/%s", dir_name, name));
        }
        free(name);
        free(file);
    }
    int rc = 0;
    char err[DC_ERRLEN] = "";
    if (ids.n && dc_h5labels_index(idx, ids.v, files.v, ids.n, err, sizeof err) != 0) {
        dc_error("%s", err);
        rc = -1;
    }
    if (rc == 0 && ids.n) dc_info("output: %s (%zu label datasets)", idx, ids.n);
    dc_strvec_free(&ids);
    dc_strvec_free(&files);
    free(dir);
    free(idx);
    return rc;
}

/* collective: every rank's label rows to rank 0, sorted by key there (the
 * order does not depend on the rank count) */
static void gather_rows(MPI_Comm comm, int rank, lab_phase *p)
{
    dc_buf b;
    dc_buf_init(&b);
    for (size_t i = 0; i < p->unread_rows.n; i++) {
        dc_buf_append(&b, p->unread_keys.v[i], strlen(p->unread_keys.v[i]) + 1);
        dc_buf_append(&b, p->unread_rows.v[i], strlen(p->unread_rows.v[i]) + 1);
    }
    char *all = NULL;
    uint64_t len = 0;
    dc_gather_bytes(comm, b.data, b.len, &all, &len);
    dc_buf_free(&b);
    dc_strvec_free(&p->unread_rows);
    dc_strvec_free(&p->unread_keys);
    dc_strvec_init(&p->unread_rows);
    dc_strvec_init(&p->unread_keys);
    if (rank != 0) return;
    dc_strvec pairs; /* "key\001text" sorted by key */
    dc_strvec_init(&pairs);
    for (uint64_t o = 0; o < len;) {
        const char *key = all + o, *text = key + strlen(key) + 1;
        o = (uint64_t)(text + strlen(text) + 1 - all);
        dc_strvec_push_own(&pairs, dc_asprintf("%s\001%s", key, text));
    }
    if (pairs.n) qsort(pairs.v, pairs.n, sizeof *pairs.v, cmp_str); /* v is NULL when empty */
    for (size_t i = 0; i < pairs.n; i++) {
        char *sep = strchr(pairs.v[i], '\001');
        *sep = '\0';
        dc_strvec_push(&p->unread_keys, pairs.v[i]);
        dc_strvec_push(&p->unread_rows, sep + 1);
    }
    dc_strvec_free(&pairs);
    free(all);
}

/* ---- unreadable rows of the label phase: added once, dropped when resolved ---- */

static int is_label_row(const dc_strvec *f)
{
    if (f->n < 2) return 0;
    size_t n = strlen(f->v[1]);
    return n > 7 && strcmp(f->v[1] + n - 7, "_labels") == 0 &&
           (strncmp(f->v[0], "referenced series ", 18) == 0 || strncmp(f->v[0], "labels: ", 8) == 0);
}

/* keys "<Scan ID>\n<reason>" of the label rows in the unreadable CSV at path */
static void read_label_rows(const char *path, dc_strset *present)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    dc_buf b;
    dc_buf_init(&b);
    char chunk[1 << 16];
    size_t got, off = 0;
    dc_strvec fields;
    dc_strvec_init(&fields);
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        dc_buf_append(&b, chunk, got);
        long used;
        while ((used = dc_csv_parse_record(b.data + off, b.len - off, &fields)) > 0) {
            off += (size_t)used;
            if (is_label_row(&fields)) {
                char *k = dc_asprintf("%s\n%s", fields.v[1], fields.v[0]);
                dc_strset_add(present, k);
                free(k);
            }
            for (size_t i = 0; i < fields.n; i++) free(fields.v[i]);
            fields.n = 0;
        }
        if (used < 0) break;
        memmove(b.data, b.data + off, b.len - off);
        b.len -= off;
        off = 0;
    }
    for (size_t i = 0; i < fields.n; i++) free(fields.v[i]);
    fields.n = 0;
    dc_strvec_free(&fields);
    dc_buf_free(&b);
    fclose(f);
}

typedef struct {
    const dc_strset *current;
} keep_ctx;

/* keep every row except label rows that no longer hold */
static int keep_current(const dc_strvec *fields, void *ctx)
{
    if (!is_label_row(fields)) return 1;
    char *k = dc_asprintf("%s\n%s", fields->v[1], fields->v[0]);
    int keep = dc_strset_has(((keep_ctx *)ctx)->current, k);
    free(k);
    return keep;
}

/* ---- the phase ---- */

static void phase_free(lab_phase *p)
{
    for (size_t i = 0; i < p->n_scans; i++) {
        lab_scan *s = &p->scans[i];
        free(s->scan_id), free(s->modality), free(s->path), free(s->target);
        free(s->summary), free(s->counts);
        dc_reference_list_free(&s->refs);
    }
    free(p->scans);
    for (size_t i = 0; i < p->n_targets; i++) {
        free(p->targets[i].uid), free(p->targets[i].scan_id);
        dc_grid_free(&p->targets[i].grid);
    }
    free(p->targets);
    dc_strvec_free(&p->unread_rows);
    dc_strvec_free(&p->unread_keys);
}

/* leftovers of a kill during an earlier label phase */
static void remove_temporaries(const dc_config *cfg)
{
    char *refs = dc_config_out_path(cfg, "references", "csv"), *idx = dc_config_out_path(cfg, "labels", "h5");
    char *t1 = dc_asprintf("%s.tmp", refs), *t2 = dc_asprintf("%s.tmp", idx), *dir = labels_dir(cfg);
    unlink(t1), unlink(t2);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0) {
            char *p = dc_asprintf("%s/%s", dir, e->d_name);
            unlink(p);
            free(p);
        }
    }
    if (d) closedir(d);
    free(refs), free(idx), free(t1), free(t2), free(dir);
}

/* current = keys of this phase's label rows; *stale: the file holds label rows
 * no longer true; p keeps only the rows the file does not hold yet */
static void pending_rows(lab_phase *p, const dc_outputs *out, dc_strset *current, int *stale)
{
    dc_strset present;
    dc_strset_init(&present);
    read_label_rows(out->unread.path, &present);
    for (size_t i = 0; i < p->unread_keys.n; i++) dc_strset_add(current, p->unread_keys.v[i]);
    *stale = 0;
    for (size_t i = 0; i < present.cap; i++)
        if (present.slot[i] && !dc_strset_has(current, present.slot[i])) *stale = 1;
    size_t k = 0; /* keep the rows not in the file yet */
    for (size_t i = 0; i < p->unread_rows.n; i++) {
        if (dc_strset_has(&present, p->unread_keys.v[i])) {
            free(p->unread_rows.v[i]);
            continue;
        }
        p->unread_rows.v[k++] = p->unread_rows.v[i];
    }
    p->unread_rows.n = k;
    dc_strset_free(&present);
}

/* rank 0: the ledger's referencing scans and their targets' grids (two
 * streaming passes: L lines, then the S lines of those targets).
 * Returns 1 when there are referencing scans, 0 when none. */
static int load_phase(lab_phase *p)
{
    char *path = ledger_path(p->cfg);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f) return 0; /* nothing noted: no referencing scan in any run */
    read_label_lines(p, f);
    if (p->n_scans) {
        read_references(p);
        rewind(f);
        read_series_lines(p, f);
    }
    fclose(f);
    return p->n_scans > 0;
}

/* ---- the other ranks' part of the ledger (dc_wire) ----
 * Only rank 0 reads the ledger (a line per image scan: O(archive) bytes);
 * the others get what make_my_labels needs: the SEG/RTSTRUCT scans in
 * Scan ID order (the round-robin is over these alone) and the grids of
 * the series they were drawn on, in uid order (find_target's bsearch).
 *   u32 n; n x (cstr scan_id, cstr modality, lstr path, u32 n_files, lstr target)
 *   u32 m; m x (cstr uid, lstr scan_id, u32 nz ny nx, f64 affine[16],
 *               u8 has_pos, f64 pos[nz*3] when has_pos) */

static void pack_phase(const lab_phase *p, dc_buf *b)
{
    size_t n = 0;
    unsigned char *needed = dc_calloc(p->n_targets + 1, 1);
    for (size_t i = 0; i < p->n_scans; i++) {
        const lab_scan *s = &p->scans[i];
        if (!is_label(s)) continue;
        n++;
        const lab_target *t = s->target ? find_target(p, s->target) : NULL;
        if (t) needed[t - p->targets] = 1;
    }
    dc_wire_put_u(b, n, 4);
    for (size_t i = 0; i < p->n_scans; i++) {
        const lab_scan *s = &p->scans[i];
        if (!is_label(s)) continue;
        dc_wire_put_cstr(b, s->scan_id);
        dc_wire_put_cstr(b, s->modality);
        dc_wire_put_lstr(b, s->path);
        dc_wire_put_u(b, s->n_files, 4);
        dc_wire_put_lstr(b, s->target);
    }
    size_t m = 0;
    for (size_t i = 0; i < p->n_targets; i++) m += needed[i];
    dc_wire_put_u(b, m, 4);
    for (size_t i = 0; i < p->n_targets; i++) {
        const lab_target *t = &p->targets[i];
        if (!needed[i]) continue;
        dc_wire_put_cstr(b, t->uid);
        dc_wire_put_lstr(b, t->scan_id);
        const uint32_t dims[3] = {t->grid.nz, t->grid.ny, t->grid.nx};
        dc_wire_put_u32s(b, dims, 3);
        dc_wire_put_f64s(b, t->grid.affine, 16);
        dc_wire_put_u(b, t->grid.pos != NULL, 1);
        if (t->grid.pos) dc_wire_put_f64s(b, t->grid.pos, (size_t)t->grid.nz * 3);
    }
    free(needed);
}

/* p (empty) from pack_phase's bytes; 0, or -1 when they are malformed */
static int unpack_phase(lab_phase *p, const char *data, size_t len)
{
    dc_wire_rd r = dc_wire_reader(data, data + len);
    size_t n = dc_wire_get_u(&r, 4);
    if (n > len) return -1; /* each scan takes bytes: a bad count, not an allocation */
    p->scans = dc_calloc(n + 1, sizeof *p->scans);
    for (size_t i = 0; i < n && !r.bad; i++, p->n_scans++) {
        lab_scan *s = &p->scans[i];
        s->scan_id = dc_wire_get_cstr(&r);
        s->modality = dc_wire_get_cstr(&r);
        s->path = dc_wire_get_lstr(&r);
        s->n_files = (uint32_t)dc_wire_get_u(&r, 4);
        s->target = dc_wire_get_lstr(&r);
        dc_reference_list_init(&s->refs);
    }
    size_t m = r.bad ? 0 : dc_wire_get_u(&r, 4);
    if (m > len) return -1;
    p->targets = dc_calloc(m + 1, sizeof *p->targets);
    for (size_t i = 0; i < m && !r.bad; i++, p->n_targets++) {
        lab_target *t = &p->targets[i];
        t->uid = dc_wire_get_cstr(&r);
        t->scan_id = dc_wire_get_lstr(&r);
        uint32_t dims[3];
        dc_wire_get_u32s(&r, dims, 3);
        t->grid.nz = dims[0], t->grid.ny = dims[1], t->grid.nx = dims[2];
        dc_wire_get_f64s(&r, t->grid.affine, 16);
        if (dc_wire_get_u(&r, 1) && !r.bad) {
            if ((uint64_t)t->grid.nz * 3 * sizeof(double) > len) return -1;
            t->grid.pos = dc_malloc((size_t)t->grid.nz * 3 * sizeof(double));
            dc_wire_get_f64s(&r, t->grid.pos, (size_t)t->grid.nz * 3);
        }
    }
    return r.bad || r.p != r.end ? -1 : 0;
}

/* collective: rank 0 loaded p from the ledger; the others get their part.
 * Returns 0, or -1 (same on all ranks). */
static int share_phase(MPI_Comm comm, int rank, lab_phase *p)
{
    dc_buf b;
    dc_buf_init(&b);
    if (rank == 0) pack_phase(p, &b);
    dc_bcast_buf(comm, &b);
    int rc = 0;
    if (rank != 0 && unpack_phase(p, b.data, b.len) != 0) {
        dc_error("%s: the label phase's ledger part arrived malformed", p->cfg->out_folder);
        rc = -1;
    }
    dc_buf_free(&b);
    return dc_agree_all(comm, rc);
}

static void phase_init(lab_phase *p, const dc_config *cfg)
{
    memset(p, 0, sizeof *p);
    p->cfg = cfg;
    dc_strvec_init(&p->unread_rows);
    dc_strvec_init(&p->unread_keys);
}

int dc_labels_ledger_part(const dc_config *cfg, dc_buf *out)
{
    lab_phase p;
    phase_init(&p, cfg);
    int work = load_phase(&p);
    if (work) pack_phase(&p, out);
    size_t n = p.n_scans;
    phase_free(&p);
    return (int)n;
}

int dc_labels_ledger_repack(const dc_config *cfg, const char *data, size_t len, dc_buf *out)
{
    lab_phase p;
    phase_init(&p, cfg);
    int rc = unpack_phase(&p, data, len);
    if (rc == 0) pack_phase(&p, out);
    phase_free(&p);
    return rc;
}

/* collective: drop stale label rows (rank 0 rewrites), append the new ones */
static int update_unreadable(MPI_Comm comm, int rank, dc_outputs *out, lab_phase *p,
                             const dc_strset *current, int stale)
{
    char err[DC_ERRLEN] = "";
    int flags[2] = {stale, (int)p->unread_rows.n};
    MPI_Bcast(flags, 2, MPI_INT, 0, comm);
    if (flags[0]) {
        /* the rewrite reads the rows appended so far: every one of them there */
        if (dc_csvout_sync(comm, &out->unread, err, sizeof err) != 0) {
            if (rank == 0) dc_error("%s", err);
            return -1;
        }
        dc_csvout_close(comm, &out->unread);
        int rc = 0;
        if (rank == 0) {
            keep_ctx k = {current};
            rc = dc_csvout_rewrite(&out->unread, keep_current, &k, err, sizeof err);
            if (rc != 0) dc_error("%s", err);
        }
        if (dc_agree_rank0(comm, rc) != 0) return -1;
        dc_csvout_bcast(comm, &out->unread);
    }
    if (!flags[1]) return 0;
    size_t n = rank == 0 ? p->unread_rows.n : 0;
    uint32_t *pos = dc_malloc((n + 1) * sizeof *pos);
    dc_buf *texts = dc_calloc(n + 1, sizeof *texts);
    for (size_t i = 0; i < n; i++) {
        pos[i] = (uint32_t)i;
        dc_buf_puts(&texts[i], p->unread_rows.v[i]);
    }
    int rc = dc_csvout_append(comm, &out->unread, (size_t)flags[1], pos, texts, n, err, sizeof err);
    if (rc == 0) rc = dc_csvout_sync(comm, &out->unread, err, sizeof err);
    if (rc != 0 && rank == 0) dc_error("%s", err);
    for (size_t i = 0; i < n; i++) dc_buf_free(&texts[i]);
    free(texts);
    free(pos);
    return rc;
}

/* collective: label datasets shared out over the ranks, the index and the
 * unreadable rows on rank 0 */
static int label_datasets(MPI_Comm comm, int rank, lab_phase *p, dc_outputs *out)
{
    int nranks;
    MPI_Comm_size(comm, &nranks);
    int rc = make_my_labels(p, rank, nranks);
    gather_rows(comm, rank, p); /* also: every rank's files are written */
    rc = dc_agree_all(comm, rc);
    dc_strset current;
    dc_strset_init(&current);
    int stale = 0;
    if (rc == 0 && rank == 0) {
        rc = write_label_index(p);
        pending_rows(p, out, &current, &stale);
    }
    rc = dc_agree_rank0(comm, rc);
    if (rc == 0) rc = update_unreadable(comm, rank, out, p, &current, stale);
    dc_strset_free(&current);
    return rc;
}

int dc_labels_finish(MPI_Comm comm, const dc_config *cfg, dc_outputs *out)
{
    if (cfg->dry_run) return 0;
    int rank;
    MPI_Comm_rank(comm, &rank);
    lab_phase p;
    phase_init(&p, cfg);
    dc_hook("labelphase");
    if (rank == 0) remove_temporaries(cfg);
    dc_agree_rank0(comm, 0); /* no rank writes a temporary file before they are gone */
    int work = rank == 0 ? load_phase(&p) : 0;
    MPI_Bcast(&work, 1, MPI_INT, 0, comm);
    int rc = 0;
    if (work) {
        if (rank == 0) rc = write_references(&p);
        rc = dc_agree_rank0(comm, rc);
        /* label rows are reconciled only by runs that make labels (a
         * metadata-only append leaves them as they are) */
        if (rc == 0 && cfg->write_pixeldata && cfg->volumes) rc = share_phase(comm, rank, &p);
        if (rc == 0 && cfg->write_pixeldata && cfg->volumes) rc = label_datasets(comm, rank, &p, out);
    }
    phase_free(&p);
    return rc;
}
