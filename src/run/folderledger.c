/*
 * folderledger.c - the folder ledger (dc_folderledger.h): folders whose
 * scans are all committed, so a resume skips them unread.
 *
 * Three parts: the fingerprints (pure: settings digest, folder key), the
 * window's bookkeeping on rank 0 (which folders still have scans without
 * a held row; a folder's fingerprint is noted when its last one gets a
 * row), and the store (a dc_doneset of its own, kind 0, written after each
 * checkpoint's CSV rows and done-set).
 */
#include "dc_folderledger.h"

#include "dc_privacy.h" /* dc_privacy_folder_view: no plain path under a profile */

#include <stdlib.h>
#include <string.h>

/* kind 0: folder fingerprints (path, signature, settings); kind 1: a key of
 * the path and settings only, "recorded at some time", so that a resume
 * stats only the folders that can be in kind 0 */
enum { LEDGER_KIND = 0, FOLDER_KIND = 1 };
#define COUNT_MASK ((uint64_t)UINT32_MAX) /* low bits of a fingerprint: the folder's scans */

/* ------------------------------------------------------------------ fingerprints */

static void mix(dc_buf *b, const void *p, size_t n)
{
    dc_buf_append(b, p, n);
}

static void mix_int(dc_buf *b, long long v)
{
    mix(b, &v, sizeof v);
}

static void mix_str(dc_buf *b, const char *s)
{
    mix(b, s ? s : "", strlen(s ? s : "") + 1);
}

static void mix_strvec(dc_buf *b, const dc_strvec *v)
{
    mix_int(b, (long long)v->n);
    for (size_t i = 0; i < v->n; i++) mix_str(b, v->v[i]);
}

static void digest2(const dc_buf *b, uint64_t out[2])
{
    out[0] = dc_hash64(b->data, b->len, DC_HASH_SEED);
    out[1] = dc_hash64(b->data, b->len, 0x9e3779b97f4a7c15ULL);
}

void dc_fledger_config(const dc_config *cfg, uint64_t out[2])
{
    dc_buf b;
    dc_buf_init(&b);
    mix_str(&b, "dcmcrawl folder ledger 1");
    mix_int(&b, cfg->volumes);
    mix_int(&b, cfg->split_inconsistent);
    mix_int(&b, cfg->recursive);
    mix_int(&b, cfg->follow_symlinks);
    mix_int(&b, cfg->write_pixeldata);
    mix_int(&b, (long long)cfg->max_image_bytes);
    mix_strvec(&b, &cfg->select_modality);
    mix_strvec(&b, &cfg->select_sop_class);
    mix_strvec(&b, &cfg->select_exclude_image_type);
    mix_int(&b, cfg->select_exclude_burned_in);
    mix_int(&b, cfg->select_min_slices);
    mix_int(&b, cfg->privacy_profile); /* the key is in every folder's view */
    digest2(&b, out);
    dc_buf_free(&b);
}

dc_idfp dc_fledger_key(const uint64_t cfg[2], const char *folder_view, const dc_folder_sig *sig,
                       int has_unreadable)
{
    dc_buf b;
    dc_buf_init(&b);
    mix(&b, cfg, 2 * sizeof *cfg);
    mix_str(&b, folder_view);
    uint64_t v[3] = {sig->a, sig->b, sig->n_files};
    mix(&b, v, sizeof v);
    mix_int(&b, has_unreadable ? 1 : 0);
    uint64_t d[2];
    digest2(&b, d);
    dc_buf_free(&b);
    dc_idfp f = {d[0], d[1] & ~COUNT_MASK}; /* the low bits: its scans (dc_fledger_has) */
    return f;
}

/* the path key (kind 1): the folder and the settings, no signature */
static dc_idfp folder_key(const uint64_t cfg[2], const char *folder_view)
{
    dc_buf b;
    dc_buf_init(&b);
    mix(&b, cfg, 2 * sizeof *cfg);
    mix_str(&b, folder_view);
    mix_int(&b, 2); /* never equal to a kind 0 key's input */
    uint64_t d[2];
    digest2(&b, d);
    dc_buf_free(&b);
    return (dc_idfp){d[0], d[1]};
}

/* the fingerprint recorded: the key with the folder's number of scans */
static dc_idfp with_count(dc_idfp key, uint32_t n_scans)
{
    key.b |= n_scans;
    return key;
}

/* is key (any count) in the ledger?  Adds its scans to *n_scans. */
static int ledger_has(dc_fledger *l, dc_idfp key, uint64_t *n_scans)
{
    dc_idfp hi = with_count(key, UINT32_MAX), found;
    if (!dc_doneset_find_fp(&l->set, LEDGER_KIND, key, hi, &found)) return 0;
    *n_scans += found.b & COUNT_MASK;
    return 1;
}

/* ------------------------------------------------------------------ the store */

void dc_fledger_init(dc_fledger *l, const char *dir, const dc_config *cfg)
{
    memset(l, 0, sizeof *l);
    dc_doneset_init(&l->set, dir);
    l->retry_unreadable = cfg->retry_unreadable;
    dc_fledger_config(cfg, l->cfg);
}

void dc_fledger_free(dc_fledger *l)
{
    dc_doneset_free(&l->set);
    free(l->f);
    free(l->refs);
    memset(l, 0, sizeof *l);
}

int dc_fledger_open(dc_fledger *l, int trusted, char *err, size_t errlen)
{
    if (dc_doneset_open(&l->set, err, errlen) != 0) return -1;
    if (!trusted && dc_doneset_count(&l->set, LEDGER_KIND)) {
        dc_warn("%s: dropped: the done-set was rebuilt from the CSVs, so the folders it lists "
                "are read again",
                l->set.dir);
        dc_doneset_reset(&l->set, LEDGER_KIND);
        dc_doneset_reset(&l->set, FOLDER_KIND);
        if (dc_doneset_write_manifest(&l->set, (const char *const[]){NULL, NULL},
                                      (const uint64_t[]){UINT64_MAX, UINT64_MAX}, err,
                                      errlen) != 0)
            return -1;
    }
    dc_doneset_mark_start(&l->set, LEDGER_KIND);
    dc_doneset_mark_start(&l->set, FOLDER_KIND);
    l->active = 1;
    dc_debug("%s: %llu folders done before (retry_unreadable %d)", l->set.dir,
             (unsigned long long)dc_doneset_count(&l->set, LEDGER_KIND), l->retry_unreadable);
    return 0;
}

int dc_fledger_empty(const dc_fledger *l)
{
    return !l->active || l->set.k[LEDGER_KIND].n_lookup == 0;
}

int dc_fledger_known(void *ledger, const char *dir)
{
    dc_fledger *l = ledger;
    if (dc_fledger_empty(l)) return 0;
    if (l->set.k[FOLDER_KIND].n_lookup == 0) return 1; /* written before path keys: ask all */
    return dc_doneset_has_fp(&l->set, FOLDER_KIND, folder_key(l->cfg, dc_privacy_folder_view(dir)));
}

int dc_fledger_has(void *ledger, const char *dir, const dc_folder_sig *sig)
{
    dc_fledger *l = ledger;
    if (dc_fledger_empty(l)) return 0;
    const char *view = dc_privacy_folder_view(dir);
    int done = ledger_has(l, dc_fledger_key(l->cfg, view, sig, 0), &l->skipped_scans) ||
               (!l->retry_unreadable &&
                ledger_has(l, dc_fledger_key(l->cfg, view, sig, 1), &l->skipped_scans));
    if (done) {
        l->skipped_folders++;
        l->skipped_files += sig->n_files;
    }
    return done;
}

void dc_fledger_commit(dc_fledger *l)
{
    if (!l->active || l->set.k[LEDGER_KIND].pending.n == 0) return;
    char err[DC_ERRLEN] = "";
    uint64_t n = l->set.k[LEDGER_KIND].pending.n;
    if (dc_doneset_commit(&l->set, (const char *const[]){NULL, NULL},
                          (const uint64_t[]){UINT64_MAX, UINT64_MAX}, err, sizeof err) != 0) {
        dc_warn("%s (those folders are read again by the next resume)", err);
        return;
    }
    l->ledgered += n;
}

/* ------------------------------------------------------------------ the window */

static int cmp_ref(const void *pa, const void *pb)
{
    const dc_idfp *a = &((const dc_fledger_scanref *)pa)->scan;
    const dc_idfp *b = &((const dc_fledger_scanref *)pb)->scan;
    if (a->a != b->a) return a->a < b->a ? -1 : 1;
    if (a->b != b->b) return a->b < b->b ? -1 : 1;
    return 0;
}

void dc_fledger_sign_records(const dc_filelist *fl, const dc_record *recs, size_t n_recs,
                             dc_folder_sig *sigs)
{
    size_t ns = fl->scope_sig ? fl->n_sig : 0;
    for (size_t s = 0; s < ns; s++) sigs[s] = fl->scope_sig[s];
    /* by file, not by record order: whatever order the ranks' records came in */
    const dc_record **by_file = dc_calloc(fl->n ? fl->n : 1, sizeof *by_file);
    for (size_t i = 0; i < n_recs; i++)
        if (recs[i].file_idx < fl->n) by_file[recs[i].file_idx] = &recs[i];
    for (size_t i = 0; i < fl->n; i++) { /* walk order, as sign_folder (walk.c) */
        uint32_t s = fl->files[i].scope;
        if (s >= ns || !sigs[s].from_records || !sigs[s].ok) continue;
        const dc_record *r = by_file[i];
        if (!r || !r->stat.ok) { /* not opened or not a regular file: unsignable */
            sigs[s].ok = 0;
            continue;
        }
        const char *slash = strrchr(fl->files[i].path, '/');
        dc_folder_sig_add(&sigs[s], slash ? slash + 1 : fl->files[i].path, r->stat.size,
                          r->stat.mtime_ns, r->stat.ctime_ns, r->stat.ino);
    }
    free(by_file);
}

void dc_fledger_window(dc_fledger *l, const dc_filelist *fl, const dc_record *recs, size_t n_recs)
{
    if (!l->active) return;
    size_t n = fl->scope_sig ? fl->n_sig : 0;
    l->f = dc_realloc(l->f, (n ? n : 1) * sizeof *l->f);
    memset(l->f, 0, (n ? n : 1) * sizeof *l->f);
    l->n_f = n;
    l->n_refs = 0;
    for (size_t i = 0; i < n_recs; i++) {
        uint32_t s = recs[i].scope;
        if (s < n && (recs[i].kind == DC_FILE_DICOM || recs[i].kind == DC_FILE_BAD))
            l->f[s].tracked = 1;
    }
    dc_folder_sig *sigs = dc_malloc((n ? n : 1) * sizeof *sigs);
    dc_fledger_sign_records(fl, recs, n_recs, sigs);
    for (size_t s = 0; s < n; s++) {
        dc_fledger_folder *f = &l->f[s];
        f->tracked = f->tracked && !fl->scope_done[s] && sigs[s].ok;
        if (!f->tracked) continue;
        const char *view = dc_privacy_folder_view(fl->scopes.v[s]);
        f->key = dc_fledger_key(l->cfg, view, &sigs[s], 0);
        f->key_unread = dc_fledger_key(l->cfg, view, &sigs[s], 1);
        f->path_key = folder_key(l->cfg, view);
    }
    free(sigs);
}

void dc_fledger_scan(dc_fledger *l, uint32_t scope, dc_idfp scan, int done)
{
    if (!l->active || scope >= l->n_f || !l->f[scope].tracked) return;
    dc_fledger_folder *f = &l->f[scope];
    if (f->n_scans < UINT32_MAX) f->n_scans++;
    if (done == 2) f->unread = 1;
    if (done) return;
    f->todo++;
    if (l->n_refs == l->cap_refs) {
        l->cap_refs = l->cap_refs ? 2 * l->cap_refs : 1024;
        l->refs = dc_realloc(l->refs, l->cap_refs * sizeof *l->refs);
    }
    l->refs[l->n_refs].scan = scan;
    l->refs[l->n_refs].scope = scope;
    l->n_refs++;
}

/* every scan of folder s has a row (durable, or held for the next checkpoint) */
static void note_folder(dc_fledger *l, dc_fledger_folder *f)
{
    if (f->noted) return;
    f->noted = 1;
    dc_doneset_note_fp(&l->set, LEDGER_KIND,
                       with_count(f->unread ? f->key_unread : f->key, f->n_scans));
    dc_doneset_note_fp(&l->set, FOLDER_KIND, f->path_key);
}

void dc_fledger_planned(dc_fledger *l)
{
    if (!l->active) return;
    dc_idfp_sort(l->refs, l->n_refs, sizeof *l->refs); /* (stable, as qsort's merge sort was) */
    for (size_t s = 0; s < l->n_f; s++)
        if (l->f[s].tracked && l->f[s].todo == 0) note_folder(l, &l->f[s]);
}

void dc_fledger_scan_noted(dc_fledger *l, dc_idfp scan, int unreadable)
{
    if (!l->active || l->n_refs == 0) return;
    dc_fledger_scanref key = {scan, 0};
    dc_fledger_scanref *r = bsearch(&key, l->refs, l->n_refs, sizeof *l->refs, cmp_ref);
    if (!r || r->scope >= l->n_f) return;
    dc_fledger_folder *f = &l->f[r->scope];
    r->scope = UINT32_MAX; /* counted once */
    if (unreadable) f->unread = 1;
    if (f->todo && --f->todo == 0) note_folder(l, f);
}

void dc_fledger_report(const dc_fledger *l)
{
    if (l->skipped_folders || l->ledgered)
        dc_info("folder ledger: %llu folders (%llu files) done in an earlier run skipped unread; "
                "%llu folders recorded as done",
                (unsigned long long)l->skipped_folders, (unsigned long long)l->skipped_files,
                (unsigned long long)l->ledgered);
}

uint64_t dc_fledger_take_skipped(dc_fledger *l)
{
    uint64_t n = l->skipped_scans;
    l->skipped_scans = 0;
    return n;
}
