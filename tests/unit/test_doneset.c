/*
 * test_doneset.c - the durable done-set (dc_doneset.h): Scan IDs committed
 * over many checkpoints are all found after a reopen from disk, IDs never
 * added are not; the runs stay O(log N) (merged); lookups see only what
 * was there at the start mark (never this run's own scans); pending IDs
 * are lost by a "kill" before their commit; a rebuild from many
 * durable IDs spills runs; the manifest's cover matches its CSV until the
 * CSV's header or covered bytes change (an append keeps it); a damaged run
 * file leaves the set empty (the caller rebuilds); fingerprints sort like
 * the run files, stably.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dc_doneset.h"

static char g_dir[256];

static void id_of(char *out, size_t cap, int i)
{
    snprintf(out, cap, "archive_p%d_1.2.826.0.1.3680043.10.%d", i % 31, i);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void setup_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/dc_test_doneset_%d", (int)getpid());
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

static void test_commit_reopen(void **state)
{
    (void)state;
    setup_dir();
    char csv[300], udir[300], err[512] = "", id[128];
    snprintf(csv, sizeof csv, "%s/metadata.csv", g_dir);
    snprintf(udir, sizeof udir, "%s/done.d", g_dir);
    const char *paths[DC_DONE_KINDS] = {csv, "/nonexistent/unreadable.csv"};
    write_file(csv, "Scan ID,No. DICOMs in scan,\"Image Type (0008, 0008)\"\n");
    dc_doneset d;
    dc_doneset_init(&d, udir);
    assert_int_equal(dc_doneset_open(&d, err, sizeof err), 0);
    const int per_commit = 997, commits = 120;
    size_t max_runs = 0;
    for (int c = 0; c < commits; c++) {
        for (int i = c * per_commit; i < (c + 1) * per_commit; i++) {
            id_of(id, sizeof id, i);
            dc_doneset_note(&d, DC_DONE_META, id);
        }
        id_of(id, sizeof id, c * per_commit);
        assert_false(dc_doneset_has(&d, DC_DONE_META, id)); /* this run's own: not looked up */
        FILE *f = fopen(csv, "a");
        fprintf(f, "row%d,1,x\n", c);
        fclose(f);
        uint64_t sizes[DC_DONE_KINDS] = {(uint64_t)file_size(csv), 0};
        if (dc_doneset_commit(&d, paths, sizes, err, sizeof err) != 0) fail_msg("%s", err);
        if (d.k[DC_DONE_META].n_runs > max_runs) max_runs = d.k[DC_DONE_META].n_runs;
    }
    /* pending after the last commit: lost by a "kill" */
    dc_doneset_note(&d, DC_DONE_META, "never committed");
    dc_doneset_free(&d);
    assert_true(max_runs <= 8); /* log2(120) + 1 */

    dc_doneset_init(&d, udir);
    assert_int_equal(dc_doneset_open(&d, err, sizeof err), 0);
    dc_doneset_mark_start(&d, DC_DONE_META);
    assert_true(dc_doneset_matches(&d, DC_DONE_META, csv));
    assert_true(dc_doneset_matches(&d, DC_DONE_UNREAD, paths[1]));
    assert_int_equal(dc_doneset_count(&d, DC_DONE_META), (uint64_t)per_commit * commits);
    for (int i = 0; i < per_commit * commits; i += 3) {
        id_of(id, sizeof id, i);
        if (!dc_doneset_has(&d, DC_DONE_META, id)) fail_msg("%s committed but not found", id);
        if (dc_doneset_has(&d, DC_DONE_UNREAD, id)) fail_msg("%s found in the wrong kind", id);
        id_of(id, sizeof id, i + per_commit * commits);
        if (dc_doneset_has(&d, DC_DONE_META, id)) fail_msg("%s found, never added", id);
    }
    assert_false(dc_doneset_has(&d, DC_DONE_META, "never committed"));

    /* an append keeps the cover; a wider header or a cut does not */
    FILE *f = fopen(csv, "a");
    fputs("later,1,y\n", f);
    fclose(f);
    assert_true(dc_doneset_matches(&d, DC_DONE_META, csv));
    char *text = NULL;
    size_t len = 0;
    f = fopen(csv, "r");
    assert_true(getdelim(&text, &len, '\0', f) > 0);
    fclose(f);
    char *nl = strchr(text, '\n');
    char wider[8192];
    snprintf(wider, sizeof wider, "%.*s,New (0009, 0010)%s", (int)(nl - text), text, nl);
    write_file(csv, wider);
    assert_false(dc_doneset_matches(&d, DC_DONE_META, csv));
    write_file(csv, text);
    assert_true(dc_doneset_matches(&d, DC_DONE_META, csv));
    assert_int_equal(truncate(csv, (off_t)d.k[DC_DONE_META].cover.covered - 3), 0);
    assert_false(dc_doneset_matches(&d, DC_DONE_META, csv));
    free(text);
    dc_doneset_free(&d);
    teardown_dir();
}

static void test_rebuild_spills(void **state)
{
    (void)state;
    setup_dir();
    char udir[300], err[512] = "", id[128];
    snprintf(udir, sizeof udir, "%s/done.d", g_dir);
    dc_doneset d;
    dc_doneset_init(&d, udir);
    assert_int_equal(dc_doneset_open(&d, err, sizeof err), 0);
    dc_idset buf;
    dc_idset_init(&buf);
    const int n = (1 << 20) * 2 + 12345; /* two spills and a rest */
    for (int i = 0; i < n; i++) {
        id_of(id, sizeof id, i);
        dc_doneset_add_durable(&d, DC_DONE_UNREAD, &buf, id);
        assert_true(buf.n < (1u << 20));
    }
    assert_int_equal(dc_doneset_flush(&d, DC_DONE_UNREAD, &buf, err, sizeof err), 0);
    dc_idset_free(&buf);
    assert_int_equal(dc_doneset_count(&d, DC_DONE_UNREAD), (uint64_t)n);
    assert_true(d.k[DC_DONE_UNREAD].n_runs <= 2);
    id_of(id, sizeof id, 0);
    assert_false(dc_doneset_has(&d, DC_DONE_UNREAD, id)); /* not marked yet */
    dc_doneset_mark_start(&d, DC_DONE_UNREAD);
    for (int i = 0; i < n; i += 101) {
        id_of(id, sizeof id, i);
        assert_true(dc_doneset_has(&d, DC_DONE_UNREAD, id));
    }
    assert_false(dc_doneset_has(&d, DC_DONE_UNREAD, "x"));
    const char *paths[DC_DONE_KINDS] = {"/nonexistent/a", "/nonexistent/b"};
    uint64_t sizes[DC_DONE_KINDS] = {0, 0};
    assert_int_equal(dc_doneset_write_manifest(&d, paths, sizes, err, sizeof err), 0);
    char run[400];
    snprintf(run, sizeof run, "%s/%s", udir, d.k[DC_DONE_UNREAD].runs[0].name);
    dc_doneset_free(&d);

    /* a damaged run: nothing is trusted */
    assert_int_equal(truncate(run, 100), 0);
    dc_doneset_init(&d, udir);
    assert_int_equal(dc_doneset_open(&d, err, sizeof err), 0);
    assert_int_equal(d.k[DC_DONE_UNREAD].n_runs, 0);
    id_of(id, sizeof id, 0);
    assert_false(dc_doneset_has(&d, DC_DONE_UNREAD, id));
    assert_int_equal(access(run, F_OK), -1); /* not named by a manifest: removed */
    dc_doneset_free(&d);
    teardown_dir();
}

/* the on-disk fingerprint: FNV-1a (dc_hash64) of the Scan ID with two
 * seeds, whatever the bytes (run files written by earlier versions) */
static void test_fingerprint_is_two_hashes(void **state)
{
    (void)state;
    const char *ids[] = {"", "a", "archive_p3_1.2.826.0.1.3680043.10.77", "\xff_\x01_ü_é_2",
                         "d00012_1.3.6.1.4.1.9590.100.1.2.3456789012345678901234567890_3"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        size_t n = strlen(ids[i]);
        dc_idfp f = dc_idfp_of(ids[i]);
        assert_true(f.a == dc_hash64(ids[i], n, DC_HASH_SEED));
        assert_true(f.b == dc_hash64(ids[i], n, 0x9e3779b97f4a7c15ULL));
    }
    char high[64];
    for (int i = 0; i < 63; i++) high[i] = (char)(0x80 + i); /* bytes >= 0x80 */
    high[63] = '\0';
    dc_idfp f = dc_idfp_of(high);
    assert_true(f.a == dc_hash64(high, 63, DC_HASH_SEED) && f.b == dc_hash64(high, 63, 0x9e3779b97f4a7c15ULL));
}

/* dc_idfp_sort orders elements that start with a fingerprint like the run
 * files (a, then b, unsigned), keeps elements with equal fingerprints in
 * their order (stable), loses none: sizes 0..1000, elements of 16 and 24
 * bytes, many ties, keys differing only in b or in the top bit */
typedef struct {
    dc_idfp fp;
    uint32_t seq;
} keyed;

static int fp_le(dc_idfp x, dc_idfp y)
{
    return x.a < y.a || (x.a == y.a && x.b <= y.b);
}

static void test_fingerprint_sort(void **state)
{
    (void)state;
    uint64_t r = 88172645463325252ULL;
    for (size_t n = 0; n <= 1000; n = n < 20 ? n + 1 : n * 3 / 2) {
        keyed *v = malloc((n ? n : 1) * sizeof *v);
        dc_idfp *w = malloc((n ? n : 1) * sizeof *w);
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            v[i].fp.a = (r % 5) << 63 | (r >> 20) % 7; /* few distinct a: ties on a */
            v[i].fp.b = r % 3 ? r >> 40 : 0;
            v[i].seq = (uint32_t)i;
            w[i] = v[i].fp;
            sum += v[i].fp.a ^ v[i].fp.b;
        }
        dc_idfp_sort(v, n, sizeof *v);
        dc_idfp_sort(w, n, sizeof *w);
        uint64_t after = 0;
        for (size_t i = 0; i < n; i++) {
            after += v[i].fp.a ^ v[i].fp.b;
            assert_true(v[i].fp.a == w[i].a && v[i].fp.b == w[i].b); /* both sizes agree */
            if (i == 0) continue;
            assert_true(fp_le(v[i - 1].fp, v[i].fp));
            if (v[i - 1].fp.a == v[i].fp.a && v[i - 1].fp.b == v[i].fp.b)
                assert_true(v[i - 1].seq < v[i].seq); /* stable */
        }
        assert_true(after == sum);
        free(v);
        free(w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_sort),
        cmocka_unit_test(test_fingerprint_is_two_hashes),
        cmocka_unit_test(test_commit_reopen),
        cmocka_unit_test(test_rebuild_spills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
