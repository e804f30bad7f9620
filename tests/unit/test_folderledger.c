/*
 * test_folderledger.c - the folder ledger (dc_folderledger.h): the folder
 * signature and the fingerprints change with what they must (a file's name,
 * size, mtime, ctime, inode; the settings that decide the scans; the folder;
 * unreadable scans) and not with what they must not (run.* keys); a
 * folder is recorded only once every scan it had to do got its row and the
 * checkpoint committed it (a "kill" before loses it); folders without DICOM
 * files, skipped folders and folders with an unsigned file are never
 * recorded; with retry_unreadable a folder with unreadable scans is not
 * "done"; an untrusted ledger (done-set rebuilt) is dropped.  The walk's
 * signature (fstatat per file, a resume) equals the one computed from the
 * header pass's fstat in each record (a fresh run) for an unchanged
 * folder, and a file changed or removed in between tells them apart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dc_dicom.h"

#include "dc_folderledger.h"

static char g_dir[256];

static void setup_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/dc_test_fledger_%d", (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", g_dir, g_dir);
    assert_int_equal(system(cmd), 0);
}

static void teardown_dir(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    assert_int_equal(system(cmd), 0);
}

static dc_folder_sig sig_of(const char *const *names, size_t n, uint64_t size, int64_t mtime,
                            int64_t ctime, uint64_t ino)
{
    dc_folder_sig s;
    dc_folder_sig_init(&s);
    for (size_t i = 0; i < n; i++) dc_folder_sig_add(&s, names[i], size + i, mtime, ctime, ino + i);
    return s;
}

static int sig_eq(dc_folder_sig a, dc_folder_sig b)
{
    return a.a == b.a && a.b == b.b && a.n_files == b.n_files;
}

static void test_signature(void **state)
{
    (void)state;
    const char *n2[] = {"a.dcm", "b.dcm"}, *n2b[] = {"a.dcm", "c.dcm"}, *joined[] = {"ab", "c"},
               *split[] = {"a", "bc"};
    dc_folder_sig base = sig_of(n2, 2, 100, 5, 6, 7);
    assert_true(base.ok);
    assert_int_equal(base.n_files, 2);
    assert_true(sig_eq(base, sig_of(n2, 2, 100, 5, 6, 7)));   /* the same folder */
    assert_false(sig_eq(base, sig_of(n2b, 2, 100, 5, 6, 7))); /* a file renamed */
    assert_false(sig_eq(base, sig_of(n2, 1, 100, 5, 6, 7)));  /* a file removed */
    assert_false(sig_eq(base, sig_of(n2, 2, 101, 5, 6, 7)));  /* size */
    assert_false(sig_eq(base, sig_of(n2, 2, 100, 9, 6, 7)));  /* mtime */
    assert_false(sig_eq(base, sig_of(n2, 2, 100, 5, 9, 7)));  /* ctime (rewritten, mtime kept) */
    assert_false(sig_eq(base, sig_of(n2, 2, 100, 5, 6, 9)));  /* inode (replaced by a rename) */
    assert_false(sig_eq(sig_of(joined, 2, 1, 1, 1, 1), sig_of(split, 2, 1, 1, 1, 1)));

    /* the values ledgers on disk hold: per file, dc_hash64 (FNV-1a) of the name
     * with its NUL, then of (size, mtime, ctime, inode), chained from a and
     * from b ^ 0xa5.. */
    const char *names[] = {"", "a.dcm", "\xc3\xa9\xff-1.2.840.10008"};
    dc_folder_sig s;
    dc_folder_sig_init(&s);
    uint64_t a = s.a, b = s.b;
    for (int i = 0; i < 3; i++) {
        uint64_t v[4] = {(uint64_t)1000 * i + 7, (uint64_t)-5 * i, 1700000000123456789ULL, 12345u + i};
        dc_folder_sig_add(&s, names[i], v[0], (int64_t)v[1], (int64_t)v[2], v[3]);
        size_t n = strlen(names[i]) + 1;
        a = dc_hash64(v, sizeof v, dc_hash64(names[i], n, a));
        b = dc_hash64(v, sizeof v, dc_hash64(names[i], n, b ^ 0xa5a5a5a5a5a5a5a5ULL));
        assert_true(s.a == a && s.b == b);
    }
}

static void test_config_digest(void **state)
{
    (void)state;
    dc_config a, b;
    dc_config_init(&a);
    dc_config_init(&b);
    uint64_t da[2], db[2];
    dc_fledger_config(&a, da);
    /* run.* keys and output format keys do not change which scans a folder gives */
    b.window_files = 7;
    b.commit_every = 3;
    b.commit_seconds = 100;
    b.retry_unreadable = 1;
    b.log_level = 3;
    b.csv_style = 1;
    dc_fledger_config(&b, db);
    assert_memory_equal(da, db, sizeof da);
    /* each of these does */
    int *keys[] = {&b.volumes, &b.split_inconsistent, &b.recursive, &b.write_pixeldata,
                   &b.privacy_profile, &b.select_exclude_burned_in};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        *keys[i] = !*keys[i];
        dc_fledger_config(&b, db);
        assert_memory_not_equal(da, db, sizeof da);
        *keys[i] = !*keys[i];
    }
    dc_strvec_push(&b.select_modality, "CT");
    dc_fledger_config(&b, db);
    assert_memory_not_equal(da, db, sizeof da);
    dc_config_free(&a);
    dc_config_free(&b);
}

static int fp_eq(dc_idfp x, dc_idfp y)
{
    return x.a == y.a && x.b == y.b;
}

static void test_key(void **state)
{
    (void)state;
    const char *n1[] = {"x"};
    dc_folder_sig s = sig_of(n1, 1, 1, 2, 3, 4), t = sig_of(n1, 1, 1, 2, 3, 5);
    uint64_t c[2] = {1, 2}, c2[2] = {1, 3};
    dc_idfp k = dc_fledger_key(c, "a/b", &s, 0);
    assert_true(fp_eq(k, dc_fledger_key(c, "a/b", &s, 0)));
    assert_false(fp_eq(k, dc_fledger_key(c, "a_b", &s, 0))); /* Scan ID folder parts coincide */
    assert_false(fp_eq(k, dc_fledger_key(c, "a/b", &t, 0)));
    assert_false(fp_eq(k, dc_fledger_key(c, "a/b", &s, 1)));
    assert_false(fp_eq(k, dc_fledger_key(c2, "a/b", &s, 0)));
}

/* a window of 5 folders: 0, 1, 2 with DICOM files, 3 without, 4 skipped by the walk */
typedef struct {
    dc_filelist fl;
    dc_record recs[6];
} window;

static void make_window(window *w, int unsigned_folder1)
{
    dc_filelist_init(&w->fl);
    const char *dirs[] = {"in/f0", "in/f1", "in/f2", "in/f3", "in/f4"};
    size_t n = 5;
    w->fl.scope_is_input = calloc(n, 1);
    w->fl.scope_sig = calloc(n, sizeof *w->fl.scope_sig);
    w->fl.scope_done = calloc(n, 1);
    w->fl.n_sig = n;
    for (size_t s = 0; s < n; s++) {
        dc_strvec_push(&w->fl.scopes, dirs[s]);
        const char *names[] = {"1.dcm", "2.dcm"};
        w->fl.scope_sig[s] = sig_of(names, 2, 10 * s, 1, 2, 3);
        w->fl.scope_is_input[s] = DC_SCOPE_INPUT;
    }
    w->fl.scope_sig[1].ok = !unsigned_folder1;
    w->fl.scope_done[4] = 1;
    memset(w->recs, 0, sizeof w->recs);
    uint8_t kinds[] = {DC_FILE_DICOM, DC_FILE_DICOM, DC_FILE_DICOM, DC_FILE_BAD, DC_FILE_NOT_DICOM,
                       DC_FILE_NOT_DICOM};
    uint32_t scopes[] = {0, 0, 1, 2, 3, 3};
    for (size_t i = 0; i < 6; i++) {
        w->recs[i].kind = kinds[i];
        w->recs[i].scope = scopes[i];
    }
}

static int done_now(const char *dir, const dc_filelist *fl, size_t s, int retry)
{
    char ldir[400], err[512] = "";
    snprintf(ldir, sizeof ldir, "%s/folders", g_dir);
    dc_config cfg;
    dc_config_init(&cfg);
    cfg.retry_unreadable = retry;
    dc_fledger l;
    dc_fledger_init(&l, ldir, &cfg);
    assert_int_equal(dc_fledger_open(&l, 1, err, sizeof err), 0);
    int d = dc_fledger_has(&l, dir, &fl->scope_sig[s]);
    dc_fledger_free(&l);
    dc_config_free(&cfg);
    return d;
}

static void plan(dc_fledger *l, window *w)
{
    dc_fledger_window(l, &w->fl, w->recs, 6);
    dc_fledger_scan(l, 0, dc_idfp_of("in_f0_a"), 0);
    dc_fledger_scan(l, 0, dc_idfp_of("in_f0_b"), 0);
    dc_fledger_scan(l, 1, dc_idfp_of("in_f1_a"), 1);   /* done before: a metadata row */
    dc_fledger_scan(l, 2, dc_idfp_of("in_f2_bad"), 2); /* done before: in unreadable_files */
    dc_fledger_scan(l, 3, dc_idfp_of("in_f3"), 0);     /* "no DICOM files in folder" */
    dc_fledger_planned(l);
}

static void test_window_commit(void **state)
{
    (void)state;
    setup_dir();
    char ldir[400], err[512] = "";
    snprintf(ldir, sizeof ldir, "%s/folders", g_dir);
    window w;
    make_window(&w, 0);
    dc_config cfg;
    dc_config_init(&cfg);
    dc_fledger l;

    /* a run killed before its checkpoint: nothing recorded */
    dc_fledger_init(&l, ldir, &cfg);
    assert_int_equal(dc_fledger_open(&l, 1, err, sizeof err), 0);
    plan(&l, &w);
    dc_fledger_scan_noted(&l, dc_idfp_of("in_f0_a"), 0);
    dc_fledger_scan_noted(&l, dc_idfp_of("in_f0_b"), 0);
    dc_fledger_free(&l); /* the "kill" */
    for (size_t s = 0; s < 5; s++) assert_false(done_now(w.fl.scopes.v[s], &w.fl, s, 0));

    /* a checkpoint after one of folder 0's two scans: folders 1 and 2 (nothing to do) only */
    dc_fledger_init(&l, ldir, &cfg);
    assert_int_equal(dc_fledger_open(&l, 1, err, sizeof err), 0);
    plan(&l, &w);
    dc_fledger_scan_noted(&l, dc_idfp_of("in_f0_a"), 0);
    dc_fledger_scan_noted(&l, dc_idfp_of("in_f3"), 1);
    dc_fledger_scan_noted(&l, dc_idfp_of("not in this window"), 0);
    dc_fledger_commit(&l);
    assert_false(done_now("in/f0", &w.fl, 0, 0));
    assert_true(done_now("in/f1", &w.fl, 1, 0));
    assert_true(done_now("in/f2", &w.fl, 2, 0));
    assert_false(done_now("in/f2", &w.fl, 2, 1)); /* retry_unreadable: its scan is retried */
    assert_false(done_now("in/f3", &w.fl, 3, 0)); /* no DICOM file: always read */
    assert_false(done_now("in/f4", &w.fl, 4, 0)); /* skipped by the walk: not recorded again */
    assert_false(done_now("in/f1", &w.fl, 0, 0)); /* another signature */
    /* the other scan of folder 0 at the next checkpoint */
    dc_fledger_scan_noted(&l, dc_idfp_of("in_f0_a"), 0); /* counted once */
    assert_false(done_now("in/f0", &w.fl, 0, 0));
    dc_fledger_scan_noted(&l, dc_idfp_of("in_f0_b"), 0);
    assert_false(done_now("in/f0", &w.fl, 0, 0)); /* noted, not committed */
    dc_fledger_commit(&l);
    assert_true(done_now("in/f0", &w.fl, 0, 0));
    assert_true(done_now("in/f0", &w.fl, 0, 1));
    assert_int_equal(l.ledgered, 3);
    dc_fledger_free(&l);

    /* a resume that skips them counts their scans "already done" */
    dc_fledger_init(&l, ldir, &cfg);
    assert_int_equal(dc_fledger_open(&l, 1, err, sizeof err), 0);
    /* the walk stats only folders recorded before (path keys) */
    assert_true(dc_fledger_known(&l, "in/f0"));
    assert_true(dc_fledger_known(&l, "in/f2"));
    assert_false(dc_fledger_known(&l, "in/f3")); /* no DICOM: never recorded */
    assert_false(dc_fledger_known(&l, "in/new"));
    assert_true(dc_fledger_has(&l, "in/f0", &w.fl.scope_sig[0]));
    assert_true(dc_fledger_has(&l, "in/f2", &w.fl.scope_sig[2]));
    assert_int_equal(dc_fledger_take_skipped(&l), 3); /* 2 + 1 */
    assert_int_equal(dc_fledger_take_skipped(&l), 0);
    assert_int_equal(l.skipped_folders, 2);
    assert_int_equal(l.skipped_files, 4);
    dc_fledger_free(&l);

    /* untrusted (the done-set was rebuilt): dropped */
    dc_fledger_init(&l, ldir, &cfg);
    assert_int_equal(dc_fledger_open(&l, 0, err, sizeof err), 0);
    assert_false(dc_fledger_has(&l, "in/f0", &w.fl.scope_sig[0]));
    assert_false(dc_fledger_known(&l, "in/f0"));
    dc_fledger_free(&l);
    assert_false(done_now("in/f0", &w.fl, 0, 0));
    dc_filelist_free(&w.fl);

    /* a folder whose files could not all be stat'ed is never recorded */
    make_window(&w, 1);
    dc_fledger_init(&l, ldir, &cfg);
    assert_int_equal(dc_fledger_open(&l, 1, err, sizeof err), 0);
    plan(&l, &w);
    dc_fledger_commit(&l);
    dc_fledger_free(&l);
    w.fl.scope_sig[1].ok = 1;
    assert_false(done_now("in/f1", &w.fl, 1, 0));
    assert_true(done_now("in/f2", &w.fl, 2, 0));
    dc_filelist_free(&w.fl);
    dc_config_free(&cfg);
    teardown_dir();
}

/* ranges over run files: counts in the low bits found across 4 KiB blocks */
static void test_find_range(void **state)
{
    (void)state;
    setup_dir();
    char ldir[400], err[512] = "";
    snprintf(ldir, sizeof ldir, "%s/set", g_dir);
    dc_doneset d;
    dc_doneset_init(&d, ldir);
    assert_int_equal(dc_doneset_open(&d, err, sizeof err), 0);
    const uint64_t mask = UINT32_MAX;
    const int n = 3000;
    for (int i = 0; i < n; i++) { /* keys: a = i / 2 (pairs share a), count i */
        dc_idfp f = {(uint64_t)(i / 2) * 7919, ((uint64_t)(i % 2 + 1) << 40) | (uint64_t)i};
        dc_doneset_note_fp(&d, 0, f);
        if (i == n / 2) { /* two runs */
            const char *p[] = {NULL, NULL};
            const uint64_t sz[] = {UINT64_MAX, UINT64_MAX};
            assert_int_equal(dc_doneset_commit(&d, p, sz, err, sizeof err), 0);
        }
    }
    const char *p[] = {NULL, NULL};
    const uint64_t sz[] = {UINT64_MAX, UINT64_MAX};
    assert_int_equal(dc_doneset_commit(&d, p, sz, err, sizeof err), 0);
    dc_doneset_free(&d);
    dc_doneset_init(&d, ldir);
    assert_int_equal(dc_doneset_open(&d, err, sizeof err), 0);
    dc_doneset_mark_start(&d, 0);
    for (int i = 0; i < n; i++) {
        dc_idfp lo = {(uint64_t)(i / 2) * 7919, (uint64_t)(i % 2 + 1) << 40}, hi = lo, found;
        hi.b |= mask;
        assert_int_equal(dc_doneset_find_fp(&d, 0, lo, hi, &found), 1);
        assert_int_equal(found.b & mask, (uint64_t)i);
        lo.b = hi.b = (uint64_t)3 << 40; /* no such key */
        hi.b |= mask;
        assert_int_equal(dc_doneset_find_fp(&d, 0, lo, hi, &found), 0);
    }
    dc_doneset_free(&d);
    teardown_dir();
}

/* ------------------------------------------------------------------ walk vs records */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int never_done(void *ctx, const char *dir, const dc_folder_sig *sig)
{
    (void)ctx, (void)dir, (void)sig;
    return 0;
}

static int known_all(void *ctx, const char *dir)
{
    (void)ctx, (void)dir;
    return 1;
}

static int known_none(void *ctx, const char *dir)
{
    (void)ctx, (void)dir;
    return 0;
}

/* the whole tree in one window; known 0: the walk makes no stat */
static void walk_with_ledger(const dc_config *cfg, int (*known)(void *, const char *),
                             dc_filelist *fl)
{
    char err[DC_ERRLEN] = "";
    dc_filelist_init(fl);
    dc_walk_cursor *w = dc_walk_open(cfg, NULL);
    dc_walk_set_ledger(w, known, never_done, NULL);
    assert_int_equal(dc_walk_next(w, fl, SIZE_MAX, err, sizeof err), 1);
    dc_walk_close(w);
}

/* the records as the header pass makes them (each file parsed once, its
 * fstat kept), in reverse order: the signature must not depend on it */
static dc_record *records_of(const dc_filelist *fl)
{
    dc_record *r = calloc(fl->n ? fl->n : 1, sizeof *r);
    dc_dataset ds;
    dc_dataset_init(&ds);
    dc_parse_opts po;
    dc_parse_opts_default(&po);
    for (size_t i = 0; i < fl->n; i++) {
        char err[DC_ERRLEN] = "";
        dc_record *ri = &r[fl->n - 1 - i];
        dc_record_init(ri);
        ri->file_idx = (uint32_t)i;
        ri->scope = fl->files[i].scope;
        (void)dc_parse_file(fl->files[i].path, &po, &ds, err, sizeof err);
        ri->stat = ds.stat;
    }
    dc_dataset_free(&ds);
    return r;
}

static void test_walk_vs_records(void **state)
{
    (void)state;
    setup_dir();
    char in[400], sub[400], other[400];
    snprintf(in, sizeof in, "%s/in", g_dir);
    snprintf(sub, sizeof sub, "%s/in/sub", g_dir);
    snprintf(other, sizeof other, "%s/in/other", g_dir);
    assert_int_equal(mkdir(in, 0755), 0);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(mkdir(other, 0755), 0);
    write_file(in, "b.dcm", "not dicom");
    write_file(in, "a.dcm", "x");
    write_file(in, "c_long_name.txt", "some text");
    write_file(sub, "1", "12");
    write_file(sub, "2", "");
    write_file(other, "only", "o");
    dc_config cfg;
    dc_config_init(&cfg);
    cfg.recursive = 1;
    dc_strvec_push(&cfg.folders, in);

    dc_filelist by_walk, by_recs;
    walk_with_ledger(&cfg, known_all, &by_walk);  /* a resume: signed in the walk */
    walk_with_ledger(&cfg, known_none, &by_recs); /* a fresh run: signed from records */
    assert_int_equal(by_walk.n, 6);
    assert_int_equal(by_recs.n, 6);
    assert_int_equal(by_recs.n_sig, 3);
    assert_int_equal(by_walk.n_sig, 3);
    for (size_t s = 0; s < by_recs.n_sig; s++) {
        assert_true(by_recs.scope_sig[s].from_records);
        assert_int_equal(by_recs.scope_sig[s].n_files, 0); /* no stat in the walk */
        assert_false(by_walk.scope_sig[s].from_records);
    }
    dc_record *recs = records_of(&by_recs);
    dc_folder_sig sigs[3];
    dc_fledger_sign_records(&by_recs, recs, by_recs.n, sigs);
    uint32_t want_files[3] = {3, 1, 2}; /* in, in/other, in/sub */
    for (size_t s = 0; s < 3; s++) {
        assert_true(sigs[s].ok);
        assert_int_equal(sigs[s].n_files, want_files[s]);
        assert_true(sig_eq(sigs[s], by_walk.scope_sig[s]));
        if (s) assert_false(sig_eq(sigs[s], sigs[0]));
    }
    /* the key the fresh run records is the one the resume looks up */
    uint64_t c[2];
    dc_fledger_config(&cfg, c);
    dc_idfp k1 = dc_fledger_key(c, in, &sigs[0], 0),
            k2 = dc_fledger_key(c, in, &by_walk.scope_sig[0], 0);
    assert_true(k1.a == k2.a && k1.b == k2.b);

    /* a record without a stat (a file that vanished before the header pass
     * opened it, or is no longer regular) makes its folder unsignable only */
    recs[by_recs.n - 1].stat.ok = 0; /* file 0: in/a.dcm */
    dc_fledger_sign_records(&by_recs, recs, by_recs.n, sigs);
    assert_false(sigs[0].ok);
    assert_true(sigs[1].ok && sigs[2].ok);
    /* a file without any record: unsignable as well */
    dc_fledger_sign_records(&by_recs, recs, by_recs.n - 2, sigs);
    assert_false(sigs[0].ok);

    /* a file rewritten after the walk signed it: the records, taken later,
     * differ (the resume reads the folder again) */
    write_file(sub, "2", "now longer");
    for (size_t i = 0; i < by_recs.n; i++) dc_record_free(&recs[i]);
    free(recs);
    recs = records_of(&by_recs);
    dc_fledger_sign_records(&by_recs, recs, by_recs.n, sigs);
    assert_true(sig_eq(sigs[0], by_walk.scope_sig[0]));
    assert_false(sig_eq(sigs[2], by_walk.scope_sig[2]));

    for (size_t i = 0; i < by_recs.n; i++) dc_record_free(&recs[i]);
    free(recs);
    dc_filelist_free(&by_walk);
    dc_filelist_free(&by_recs);
    dc_config_free(&cfg);
    teardown_dir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_config_digest),
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_window_commit),
        cmocka_unit_test(test_find_range),
        cmocka_unit_test(test_walk_vs_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
