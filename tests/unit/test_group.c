/*
 * test_group.c - dc_group_records (SPEC 3): Scan IDs in both modes, several
 * series per folder, nouid, duplicate SOPInstanceUIDs in both modes, BAD and
 * skipped files, input folders without DICOM files (recursive trees), the
 * tri-planar localizer split into three with the suffix order, the other
 * split reasons with split_inconsistent false, multi-frame files inside a
 * series, files without pixel data, and identical output whatever the input
 * order.  Records are filled by hand; expected values are exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_config.h"
#include "dc_scan.h"

#define NR 64
static dc_record R[NR];
static const char *P[NR];
static size_t NREC;

static const char *const SCOPES[5] = {"storage_f1", "storage_f2", "storage_f3", "storage_f3_sub",
                                      "storage_f4"};
static const uint8_t IS_INPUT[5] = {1, 1, 1, 0, 1};
#define NSCOPES 5
/* scope_is_input passed by group(): NULL (no empty-folder scans) unless a
 * test is about those */
static const uint8_t *INPUT;

static const double AXIAL[6] = {1, 0, 0, 0, 1, 0};
static const double CORONAL[6] = {1, 0, 0, 0, 0, -1};
static const double SAGITTAL[6] = {0, 1, 0, 0, 0, -1};

static dc_record *add_kind(uint32_t scope, const char *path, int kind)
{
    assert_true(NREC < NR);
    dc_record *r = &R[NREC];
    dc_record_init(r);
    r->file_idx = (uint32_t)NREC;
    r->scope = scope;
    r->kind = (uint8_t)kind;
    P[NREC++] = path;
    return r;
}

/* a 4 x 4 uint16 axial image */
static dc_record *add(uint32_t scope, const char *path, const char *series, const char *sop)
{
    dc_record *r = add_kind(scope, path, DC_FILE_DICOM);
    snprintf(r->series_uid, sizeof r->series_uid, "%s", series);
    snprintf(r->sop_uid, sizeof r->sop_uid, "%s", sop);
    snprintf(r->study_uid, sizeof r->study_uid, "1.2");
    snprintf(r->modality, sizeof r->modality, "MR");
    snprintf(r->photometric, sizeof r->photometric, "MONOCHROME2");
    r->rows = r->cols = 4;
    r->samples = 1;
    r->bits_alloc = r->bits_stored = 16;
    r->high_bit = 15;
    r->pixel_kind = DC_PIX_INT;
    r->has_iop = 1;
    memcpy(r->iop, AXIAL, sizeof AXIAL);
    r->has_spacing = 1;
    r->spacing[0] = r->spacing[1] = 1;
    r->file_size = 100;
    return r;
}

static dc_record *at(dc_record *r, double z, int32_t instance)
{
    r->has_ipp = 1;
    r->ipp[0] = r->ipp[1] = 0;
    r->ipp[2] = z;
    if (instance >= 0) {
        r->has_instance = 1;
        r->instance = instance;
    }
    return r;
}

static void orient(dc_record *r, const double *iop, double p0, double p1, double p2)
{
    memcpy(r->iop, iop, 6 * sizeof *iop);
    r->has_ipp = 1;
    r->ipp[0] = p0;
    r->ipp[1] = p1;
    r->ipp[2] = p2;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < NREC; i++) dc_record_free(&R[i]);
    NREC = 0;
    INPUT = NULL;
    return 0;
}

static dc_group_opts opts(int volumes)
{
    dc_group_opts o = {volumes, 1, DC_ORDER_POSITION, DC_LAYOUT_ZYX, 0, 1, 0, DC_PHILIPS_DISPLAY};
    return o;
}

static size_t group_recs(const dc_record *recs, const dc_group_opts *o, dc_scan **s)
{
    size_t n = 0;
    assert_int_equal(dc_group_records(recs, NREC, P, SCOPES, INPUT, NSCOPES, o, s, &n), 0);
    return n;
}

static size_t group(const dc_group_opts *o, dc_scan **s)
{
    return group_recs(R, o, s);
}

static void free_scans(dc_scan *s, size_t n)
{
    for (size_t i = 0; i < n; i++) dc_scan_free(&s[i]);
    free(s);
}

static const char *path_at(const dc_record *recs, uint32_t rec)
{
    return rec == DC_NO_REC ? "-" : P[recs[rec].file_idx];
}

/* scan k stacks exactly these files (paths), in this order */
static void expect_files(const dc_scan *s, const char *const *paths, uint32_t n)
{
    assert_int_equal(s->n_slices, n);
    for (uint32_t k = 0; k < n; k++) assert_string_equal(P[R[s->slice_rec[k]].file_idx], paths[k]);
}

static void expect_ids(const dc_scan *s, size_t n, const char *const *ids, size_t n_ids)
{
    assert_int_equal(n, n_ids);
    for (size_t i = 0; i < n; i++) assert_string_equal(s[i].scan_id, ids[i]);
}

/* ---- a folder with a bit of everything ---- */

static void build_mixed(void)
{
    at(add(0, "storage/f1/a3.dcm", "1.2.840.1", "1.2.840.1.3"), 10, 3);
    at(add(0, "storage/f1/a1.dcm", "1.2.840.1", "1.2.840.1.1"), 0, 1);
    at(add(0, "storage/f1/a2.dcm", "1.2.840.1", "1.2.840.1.2"), 5, 2);
    at(add(0, "storage/f1/a2_copy.dcm", "1.2.840.1", "1.2.840.1.2"), 5, 2);
    at(add(0, "storage/f1/b2.dcm", "1.2.840.2", "1.2.840.2.2"), 3, 2);
    at(add(0, "storage/f1/b1.dcm", "1.2.840.2", "1.2.840.2.1"), 6, 1);
    at(add(0, "storage/f1/n1.dcm", "", "1.2.840.9.1"), 1, -1);
    at(add(0, "storage/f1/n2.dcm", "", "1.2.840.9.2"), 2, -1);
    snprintf(add_kind(0, "storage/f1/broken.dcm", DC_FILE_BAD)->reason, DC_REASON_LEN,
             "truncated header");
    add_kind(0, "storage/f1/notes.txt", DC_FILE_NOT_DICOM);
    add_kind(0, "storage/f1/DICOMDIR", DC_FILE_DICOMDIR);
    add_kind(1, "storage/f2/readme.txt", DC_FILE_NOT_DICOM);
    at(add(3, "storage/f3/sub/c1.dcm", "1.2.840.3", "1.2.840.3.1"), 0, 1);
    add_kind(4, "storage/f4/DICOMDIR", DC_FILE_DICOMDIR);
}

static void test_volume_mixed(void **state)
{
    (void)state;
    build_mixed();
    INPUT = IS_INPUT;
    dc_group_opts o = opts(1);
    dc_scan *s;
    size_t n = group(&o, &s);
    static const char *ids[] = {
        "storage_f1_1.2.840.1", "storage_f1_1.2.840.2",     "storage_f1_broken", "storage_f1_nouid",
        "storage_f2",           "storage_f3_sub_1.2.840.3", "storage_f4"};
    expect_ids(s, n, ids, 7);

    static const char *a[] = {"storage/f1/a1.dcm", "storage/f1/a2.dcm", "storage/f1/a3.dcm"};
    expect_files(&s[0], a, 3);
    assert_int_equal(s[0].n_files, 3);
    assert_int_equal(s[0].n_duplicates, 1);
    assert_string_equal(s[0].warnings, "duplicate SOPInstanceUID, not stacked: a2_copy.dcm");
    assert_string_equal(path_at(R, s[0].first_rec), "storage/f1/a1.dcm");
    assert_string_equal(s[0].series_uid, "1.2.840.1");
    assert_string_equal(s[0].modality, "MR");
    assert_int_equal(s[0].cost, 300);
    assert_int_equal(s[0].scope, 0);

    static const char *b[] = {"storage/f1/b2.dcm", "storage/f1/b1.dcm"}; /* by position */
    expect_files(&s[1], b, 2);
    assert_string_equal(s[1].warnings, "");

    assert_int_equal(s[2].unreadable, 1);
    assert_string_equal(s[2].reason, "truncated header");
    assert_int_equal(s[2].n_files, 1);
    assert_string_equal(path_at(R, s[2].example_rec), "storage/f1/broken.dcm");

    static const char *nu[] = {"storage/f1/n1.dcm", "storage/f1/n2.dcm"};
    expect_files(&s[3], nu, 2);
    assert_int_equal(s[3].unreadable, 0);
    assert_string_equal(s[3].series_uid, "");

    for (int i = 4; i < 7; i += 2) {
        assert_int_equal(s[i].unreadable, 1);
        assert_string_equal(s[i].reason, "no DICOM files in folder");
        assert_int_equal(s[i].n_files, 0);
        assert_int_equal(s[i].example_rec, DC_NO_REC);
        assert_int_equal(s[i].first_rec, DC_NO_REC);
        assert_string_equal(s[i].warnings, "");
    }
    assert_int_equal(s[4].scope, 1);
    assert_int_equal(s[6].scope, 4);
    assert_int_equal(s[5].scope, 3);
    free_scans(s, n);
}

static void test_per_file_mixed(void **state)
{
    (void)state;
    build_mixed();
    INPUT = IS_INPUT;
    dc_group_opts o = opts(0);
    dc_scan *s;
    size_t n = group(&o, &s);
    /* a2 and its copy: the first by file name keeps the plain Scan ID */
    static const char *ids[] = {"storage_f1_1.2.840.1.1",     "storage_f1_1.2.840.1.2",
                                "storage_f1_1.2.840.1.2_2",   "storage_f1_1.2.840.1.3",
                                "storage_f1_1.2.840.2.1",     "storage_f1_1.2.840.2.2",
                                "storage_f1_1.2.840.9.1",     "storage_f1_1.2.840.9.2",
                                "storage_f1_broken",          "storage_f2",
                                "storage_f3_sub_1.2.840.3.1", "storage_f4"};
    expect_ids(s, n, ids, 12);
    assert_string_equal(path_at(R, s[1].first_rec), "storage/f1/a2.dcm");
    assert_string_equal(path_at(R, s[2].first_rec), "storage/f1/a2_copy.dcm");
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(s[i].n_files, 1);
        assert_int_equal(s[i].n_slices, 1);
        assert_string_equal(s[i].slice_order, "single");
        assert_int_equal(s[i].ndim, 2);
        assert_int_equal(s[i].n_duplicates, 0);
        assert_int_equal(s[i].cost, 100);
    }
    free_scans(s, n);
}

/* ---- the same output whatever the input order ---- */

static void put_doubles(dc_buf *b, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) dc_buf_printf(b, "%.17g,", v[i]);
}

/* everything of a scan, with records named by path (indices differ) */
static void describe(dc_buf *b, const dc_record *recs, const dc_scan *s)
{
    dc_buf_printf(b, "%s|%u|%d|%s|%u|%u|%s|%s|", s->scan_id, s->scope, s->unreadable,
                  s->reason ? s->reason : "-", s->n_files, s->n_duplicates,
                  path_at(recs, s->first_rec), path_at(recs, s->example_rec));
    for (uint32_t k = 0; k < s->n_slices; k++)
        dc_buf_printf(b, "%s:%u:%d,", path_at(recs, s->slice_rec[k]), s->slice_frame[k],
                      s->instance_numbers[k]);
    dc_buf_printf(b, "|%d|", s->ndim);
    for (int i = 0; i < s->ndim; i++) dc_buf_printf(b, "%llu,", (unsigned long long)s->dims[i]);
    dc_buf_printf(b, "|%d|%u|%s|%s|%s|%s|%s|%d|", s->dtype, s->n_repeats, s->series_uid,
                  s->study_uid, s->modality, s->photometric, s->slice_order, s->bits_stored);
    put_doubles(b, s->spacing, 3);
    put_doubles(b, s->affine, 16);
    if (s->slice_positions) put_doubles(b, s->slice_positions, 3 * (size_t)s->n_positions);
    put_doubles(b, s->rescale_slope, s->n_rescale);
    put_doubles(b, s->rescale_intercept, s->n_rescale);
    dc_buf_printf(b, "|%d|%s|%llu\n", s->uniform_spacing, s->warnings, (unsigned long long)s->cost);
}

static char *describe_all(const dc_record *recs, const dc_group_opts *o)
{
    dc_scan *s;
    size_t n = group_recs(recs, o, &s);
    dc_buf b;
    dc_buf_init(&b);
    for (size_t i = 0; i < n; i++) describe(&b, recs, &s[i]);
    free_scans(s, n);
    return dc_buf_steal(&b);
}

static void build_hard(void)
{
    build_mixed();
    /* a 4D series, an inconsistent one, a multi-frame file, no-UID copies */
    static char paths[6][32];
    for (int i = 0; i < 6; i++) {
        char sop[32];
        snprintf(paths[i], sizeof paths[i], "storage/f1/dyn%d.dcm", i);
        snprintf(sop, sizeof sop, "1.2.840.4.%d", i);
        dc_record *r = at(add(0, paths[i], "1.2.840.4", sop), i % 3, i + 1);
        r->has_temporal = 1;
        r->temporal = i / 3;
    }
    at(add(0, "storage/f1/m1.dcm", "1.2.840.5", "1.2.840.5.1"), 0, 1);
    at(add(0, "storage/f1/m2.dcm", "1.2.840.5", "1.2.840.5.2"), 1, 2)->rows = 8;
    dc_record *mf = add(0, "storage/f1/mf.dcm", "1.2.840.5", "1.2.840.5.3");
    mf->frames = 2;
    add(0, "storage/f1/copy1.dcm", "", "");
    add(0, "storage/f1/copy1.bak", "", "");
}

static void test_shuffled_inputs(void **state)
{
    (void)state;
    build_hard();
    INPUT = IS_INPUT;
    dc_record Q[NR];
    for (int mode = 0; mode < 4; mode++) {
        dc_group_opts o = opts(mode & 1);
        o.split_inconsistent = !(mode & 2);
        char *want = describe_all(R, &o);
        uint32_t seed = 12345;
        for (int t = 0; t < 20; t++) {
            uint32_t perm[NR];
            for (uint32_t i = 0; i < NREC; i++) perm[i] = i;
            for (uint32_t i = (uint32_t)NREC - 1; i > 0; i--) {
                seed = seed * 1103515245u + 12345u;
                uint32_t j = (seed >> 8) % (i + 1), x = perm[i];
                perm[i] = perm[j];
                perm[j] = x;
            }
            for (uint32_t i = 0; i < NREC; i++) Q[i] = R[perm[i]];
            char *got = describe_all(Q, &o);
            assert_string_equal(got, want);
            free(got);
        }
        free(want);
    }
}

static void test_shuffled_content(void **state)
{
    (void)state;
    build_hard();
    INPUT = IS_INPUT;
    dc_group_opts o = opts(1);
    dc_scan *s;
    size_t n = group(&o, &s);
    static const char *ids[] = {"storage_f1_1.2.840.1",
                                "storage_f1_1.2.840.2",
                                "storage_f1_1.2.840.4",
                                "storage_f1_1.2.840.5_1",
                                "storage_f1_1.2.840.5_2",
                                "storage_f1_1.2.840.5_3",
                                "storage_f1_broken",
                                "storage_f1_nouid",
                                "storage_f2",
                                "storage_f3_sub_1.2.840.3",
                                "storage_f4"};
    expect_ids(s, n, ids, 11);
    assert_int_equal(s[2].n_repeats, 2);
    assert_int_equal(s[2].ndim, 4);
    static const char *dyn[] = {"storage/f1/dyn0.dcm", "storage/f1/dyn1.dcm",
                                "storage/f1/dyn2.dcm", "storage/f1/dyn3.dcm",
                                "storage/f1/dyn4.dcm", "storage/f1/dyn5.dcm"};
    expect_files(&s[2], dyn, 6);
    /* parts by lowest InstanceNumber: m1 (1), m2 (2), mf (none) */
    assert_string_equal(path_at(R, s[3].first_rec), "storage/f1/m1.dcm");
    assert_string_equal(path_at(R, s[4].first_rec), "storage/f1/m2.dcm");
    assert_string_equal(path_at(R, s[5].first_rec), "storage/f1/mf.dcm");
    assert_int_equal(s[5].n_slices, 2);
    /* nouid: n1, n2 and the two no-UID files (no SOP: never duplicates) */
    assert_int_equal(s[7].n_files, 4);
    free_scans(s, n);

    o = opts(0); /* per-file: two stems "copy1" */
    n = group(&o, &s);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s[i].scan_id, "storage_f1_copy1") == 0) {
            assert_string_equal(path_at(R, s[i].first_rec), "storage/f1/copy1.bak");
            seen |= 1;
        }
        if (strcmp(s[i].scan_id, "storage_f1_copy1_2") == 0) {
            assert_string_equal(path_at(R, s[i].first_rec), "storage/f1/copy1.dcm");
            seen |= 2;
        }
        if (strcmp(s[i].scan_id, "storage_f1_1.2.840.5.3") == 0) {
            static const uint64_t d[3] = {2, 4, 4};
            assert_int_equal(s[i].ndim, 3);
            assert_memory_equal(s[i].dims, d, sizeof d);
            seen |= 4;
        }
    }
    assert_int_equal(seen, 7);
    free_scans(s, n);
}

/* ---- duplicates ---- */

static void test_duplicates_volume(void **state)
{
    (void)state;
    /* the copy sorts first by name: it is the one stacked */
    at(add(0, "storage/f1/s2.dcm", "1.2.7", "1.2.7.2"), 2, 2);
    at(add(0, "storage/f1/s1.dcm", "1.2.7", "1.2.7.1"), 1, 1);
    at(add(0, "storage/f1/a_copy_of_s2.dcm", "1.2.7", "1.2.7.2"), 2, 2);
    at(add(0, "storage/f1/z_copy_of_s2.dcm", "1.2.7", "1.2.7.2"), 2, 2);
    at(add(0, "storage/f1/b_copy_of_s1.dcm", "1.2.7", "1.2.7.1"), 1, 1);
    dc_group_opts o = opts(1);
    dc_scan *s;
    size_t n = group(&o, &s);
    static const char *ids[] = {"storage_f1_1.2.7"};
    expect_ids(s, n, ids, 1);
    static const char *f[] = {"storage/f1/b_copy_of_s1.dcm", "storage/f1/a_copy_of_s2.dcm"};
    expect_files(&s[0], f, 2);
    assert_int_equal(s[0].n_files, 2);
    assert_int_equal(s[0].n_duplicates, 3);
    assert_string_equal(s[0].warnings, "duplicate SOPInstanceUID, not stacked: s1.dcm, s2.dcm, "
                                       "z_copy_of_s2.dcm");
    free_scans(s, n);
}

static void test_duplicates_per_file(void **state)
{
    (void)state;
    add(0, "storage/f1/x3.dcm", "1.2.8", "1.2.9");
    add(0, "storage/f1/x1.dcm", "1.2.8", "1.2.9");
    add(0, "storage/f1/x2.dcm", "1.2.8", "1.2.9");
    add(0, "storage/f1/plain.dcm", "1.2.8", "");
    add(1, "storage/f2/x0.dcm", "1.2.8", "1.2.9"); /* other folder: its own ID */
    dc_group_opts o = opts(0);
    dc_scan *s;
    size_t n = group(&o, &s);
    static const char *ids[] = {"storage_f1_1.2.9", "storage_f1_1.2.9_2", "storage_f1_1.2.9_3",
                                "storage_f1_plain", "storage_f2_1.2.9"};
    expect_ids(s, n, ids, 5);
    static const char *first[] = {"storage/f1/x1.dcm", "storage/f1/x2.dcm", "storage/f1/x3.dcm",
                                  "storage/f1/plain.dcm", "storage/f2/x0.dcm"};
    for (int i = 0; i < 5; i++) assert_string_equal(path_at(R, s[i].first_rec), first[i]);
    free_scans(s, n);

    /* "_2" already taken by a file named that way: the next free number */
    add(0, "storage/f1/1.2.9_2.dcm", "1.2.8", "");
    n = group(&o, &s);
    static const char *ids2[] = {"storage_f1_1.2.9",   "storage_f1_1.2.9_2", "storage_f1_1.2.9_3",
                                 "storage_f1_1.2.9_4", "storage_f1_plain",   "storage_f2_1.2.9"};
    expect_ids(s, n, ids2, 6);
    static const char *first2[] = {"storage/f1/x1.dcm", "storage/f1/1.2.9_2.dcm",
                                   "storage/f1/x2.dcm", "storage/f1/x3.dcm"};
    for (int i = 0; i < 4; i++) assert_string_equal(path_at(R, s[i].first_rec), first2[i]);
    free_scans(s, n);
}

/* ---- splitting ---- */

static void build_localizer(void)
{
    static const char *ax[] = {"storage/f1/ax1.dcm", "storage/f1/ax2.dcm", "storage/f1/ax3.dcm"};
    static const char *co[] = {"storage/f1/cor1.dcm", "storage/f1/cor2.dcm", "storage/f1/cor3.dcm"};
    static const char *sa[] = {"storage/f1/sag1.dcm", "storage/f1/sag2.dcm", "storage/f1/sag3.dcm"};
    char sop[64];
    for (int i = 0; i < 3; i++) {
        snprintf(sop, sizeof sop, "1.2.5.%d", 10 + i);
        orient(at(add(0, ax[i], "1.2.5", sop), 0, 4 + i), AXIAL, 0, 0, 10.0 * i);
        snprintf(sop, sizeof sop, "1.2.5.%d", 20 + i);
        orient(at(add(0, co[i], "1.2.5", sop), 0, 7 + i), CORONAL, 0, 10.0 * i, 0);
        snprintf(sop, sizeof sop, "1.2.5.%d", 30 + i);
        orient(at(add(0, sa[i], "1.2.5", sop), 0, 1 + i), SAGITTAL, 10.0 * i, 0, 0);
    }
}

static void test_trilocalizer(void **state)
{
    (void)state;
    build_localizer();
    dc_group_opts o = opts(1);
    dc_scan *s;
    size_t n = group(&o, &s);
    static const char *ids[] = {"storage_f1_1.2.5_1", "storage_f1_1.2.5_2", "storage_f1_1.2.5_3"};
    expect_ids(s, n, ids, 3);
    /* sagittal normal (0,1,0) x (0,0,-1) = (-1, 0, 0): x descending */
    static const char *sa[] = {"storage/f1/sag3.dcm", "storage/f1/sag2.dcm", "storage/f1/sag1.dcm"};
    static const char *ax[] = {"storage/f1/ax1.dcm", "storage/f1/ax2.dcm", "storage/f1/ax3.dcm"};
    /* coronal normal (1,0,0) x (0,0,-1) = (0, 1, 0): y ascending */
    static const char *co[] = {"storage/f1/cor1.dcm", "storage/f1/cor2.dcm", "storage/f1/cor3.dcm"};
    expect_files(&s[0], sa, 3);
    expect_files(&s[1], ax, 3);
    expect_files(&s[2], co, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s[i].n_files, 3);
        assert_string_equal(s[i].slice_order, "position");
        assert_string_equal(s[i].warnings, "");
        assert_float_equal(s[i].spacing[0], 10, 1e-12);
    }
    free_scans(s, n);

    o.split_inconsistent = 0;
    n = group(&o, &s);
    static const char *ids2[] = {"storage_f1_1.2.5"};
    expect_ids(s, n, ids2, 1);
    assert_int_equal(s[0].unreadable, 1);
    assert_string_equal(s[0].reason, "inconsistent orientation");
    assert_int_equal(s[0].n_files, 9);
    assert_int_equal(s[0].n_slices, 0);
    assert_string_equal(path_at(R, s[0].example_rec), "storage/f1/ax1.dcm");
    assert_int_equal(s[0].cost, 0);
    free_scans(s, n);
}

static void test_split_reasons(void **state)
{
    (void)state;
    dc_group_opts o = opts(1);
    o.split_inconsistent = 0;
    dc_scan *s;
    size_t n;
    /* rows and bits differ: Rows/Columns is named first */
    at(add(0, "storage/f1/i1.dcm", "1.2.6", "1.2.6.1"), 0, 1);
    at(add(0, "storage/f1/i2.dcm", "1.2.6", "1.2.6.2"), 1, 2)->cols = 8;
    at(add(0, "storage/f1/i3.dcm", "1.2.6", "1.2.6.3"), 2, 3)->bits_alloc = 8;
    n = group(&o, &s);
    assert_string_equal(s[0].scan_id, "storage_f1_1.2.6");
    assert_string_equal(s[0].reason, "inconsistent Rows/Columns");
    assert_int_equal(s[0].n_files, 3);
    free_scans(s, n);
    R[1].cols = 4;
    n = group(&o, &s);
    assert_string_equal(s[0].reason, "inconsistent BitsAllocated");
    free_scans(s, n);
    R[2].bits_alloc = 16;
    R[2].samples = 3;
    n = group(&o, &s);
    assert_string_equal(s[0].reason, "inconsistent SamplesPerPixel");
    free_scans(s, n);
    R[2].samples = 1;
    R[2].iop[0] = 1 - 5e-5; /* within 1e-4: one stack */
    n = group(&o, &s);
    assert_int_equal(s[0].unreadable, 0);
    assert_int_equal(s[0].n_files, 3);
    free_scans(s, n);
    R[2].iop[0] = 1 - 2e-4;
    n = group(&o, &s);
    assert_string_equal(s[0].reason, "inconsistent orientation");
    free_scans(s, n);
    R[2].has_iop = 0; /* without orientation only matches files without */
    n = group(&o, &s);
    assert_string_equal(s[0].reason, "inconsistent orientation");
    free_scans(s, n);
}

static void test_split_order(void **state)
{
    (void)state;
    /* part of 8x8 images has the lowest InstanceNumber; one part has none */
    at(add(0, "storage/f1/a1.dcm", "1.2.6", "1.2.6.1"), 0, 5);
    at(add(0, "storage/f1/a2.dcm", "1.2.6", "1.2.6.2"), 1, 6);
    dc_record *r = at(add(0, "storage/f1/b1.dcm", "1.2.6", "1.2.6.3"), 0, 2);
    r->rows = r->cols = 8;
    r->file_size = 1000; /* the 8x8x2 bytes must fit in the file (stack.c's size check) */
    r = at(add(0, "storage/f1/c1.dcm", "1.2.6", "1.2.6.4"), 0, -1);
    r->rows = 16;
    r->file_size = 1000;
    r = at(add(0, "storage/f1/d1.dcm", "1.2.6", "1.2.6.5"), 0, -1);
    r->rows = 12;
    dc_group_opts o = opts(1);
    dc_scan *s;
    size_t n = group(&o, &s);
    static const char *ids[] = {"storage_f1_1.2.6_1", "storage_f1_1.2.6_2", "storage_f1_1.2.6_3",
                                "storage_f1_1.2.6_4"};
    expect_ids(s, n, ids, 4);
    static const char *first[] = {"storage/f1/b1.dcm", "storage/f1/a1.dcm", "storage/f1/c1.dcm",
                                  "storage/f1/d1.dcm"};
    for (int i = 0; i < 4; i++) assert_string_equal(path_at(R, s[i].first_rec), first[i]);
    assert_int_equal(s[1].n_files, 2);
    assert_int_equal(s[0].rows, 8);
    free_scans(s, n);
}

static void test_multiframe_in_series(void **state)
{
    (void)state;
    dc_record *r = add(0, "storage/f1/mf_a.dcm", "1.2.11", "1.2.11.1");
    r->frames = 3;
    r->has_instance = 1;
    r->instance = 5;
    r = add(0, "storage/f1/mf_b.dcm", "1.2.11", "1.2.11.2");
    r->frames = 2;
    r->has_instance = 1;
    r->instance = 2;
    at(add(0, "storage/f1/s1.dcm", "1.2.11", "1.2.11.3"), 0, 4);
    at(add(0, "storage/f1/s2.dcm", "1.2.11", "1.2.11.4"), 1, 3);
    dc_group_opts o = opts(1);
    o.split_inconsistent = 0; /* multi-frame files are stacks of their own anyway */
    dc_scan *s;
    size_t n = group(&o, &s);
    static const char *ids[] = {"storage_f1_1.2.11_1", "storage_f1_1.2.11_2",
                                "storage_f1_1.2.11_3"};
    expect_ids(s, n, ids, 3);
    assert_string_equal(path_at(R, s[0].first_rec), "storage/f1/mf_b.dcm");
    assert_int_equal(s[0].n_slices, 2);
    assert_string_equal(s[0].slice_order, "frame");
    static const char *st[] = {"storage/f1/s1.dcm", "storage/f1/s2.dcm"};
    expect_files(&s[1], st, 2);
    assert_string_equal(path_at(R, s[2].first_rec), "storage/f1/mf_a.dcm");
    assert_int_equal(s[2].n_slices, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(s[i].unreadable, 0);
    free_scans(s, n);
}

/* ---- pixel data ---- */

static void test_no_pixel_data(void **state)
{
    (void)state;
    at(add(0, "storage/f1/i1.dcm", "1.2.12", "1.2.12.1"), 0, 1);
    at(add(0, "storage/f1/i2.dcm", "1.2.12", "1.2.12.2"), 1, 2);
    dc_record *sr = add(0, "storage/f1/sr.dcm", "1.2.12", "1.2.12.3");
    sr->pixel_kind = DC_PIX_NONE;
    sr->rows = sr->cols = 0;
    dc_record *pr = add(0, "storage/f1/pr.dcm", "1.2.13", "1.2.13.1");
    pr->pixel_kind = DC_PIX_NONE;
    dc_group_opts o = opts(1);
    dc_scan *s;
    size_t n = group(&o, &s);
    /* the report beside the images is its own scan, never dropped */
    static const char *ids[] = {"storage_f1_1.2.12", "storage_f1_1.2.12_nopixel",
                                "storage_f1_1.2.13"};
    expect_ids(s, n, ids, 3);
    assert_int_equal(s[0].n_files, 2);
    assert_int_equal(s[0].unreadable, 0);
    assert_string_equal(s[0].warnings, "no pixel data, in scan *_nopixel: sr.dcm");
    assert_int_equal(s[1].unreadable, 1);
    assert_string_equal(s[1].reason, "no pixel data");
    assert_int_equal(s[1].n_files, 1);
    assert_string_equal(path_at(R, s[1].example_rec), "storage/f1/sr.dcm");
    assert_int_equal(s[2].unreadable, 1);
    assert_string_equal(s[2].reason, "no pixel data");
    assert_int_equal(s[2].n_files, 1);
    free_scans(s, n);

    o.write_pixeldata = 0; /* metadata only: both get a row */
    n = group(&o, &s);
    expect_ids(s, n, ids, 3);
    assert_int_equal(s[1].unreadable, 0);
    assert_int_equal(s[2].unreadable, 0);
    free_scans(s, n);

    o = opts(0);
    n = group(&o, &s);
    static const char *ids2[] = {"storage_f1_1.2.12.1", "storage_f1_1.2.12.2",
                                 "storage_f1_1.2.12.3", "storage_f1_1.2.13.1"};
    expect_ids(s, n, ids2, 4);
    assert_int_equal(s[2].unreadable, 1);
    assert_string_equal(s[2].reason, "no pixel data");
    assert_int_equal(s[3].unreadable, 1);
    free_scans(s, n);
}

/* ---- folders without DICOM files ---- */

static void test_empty_folders(void **state)
{
    (void)state;
    /* f1: only a BAD file (a DICOM file, if broken); f2: only DICOMDIR; f3: a
     * subfolder with DICOM; f4: nothing at all */
    add_kind(0, "storage/f1/bad.dcm", DC_FILE_BAD);
    add_kind(1, "storage/f2/DICOMDIR", DC_FILE_DICOMDIR);
    add(3, "storage/f3/sub/x.dcm", "1.2.14", "1.2.14.1");
    INPUT = IS_INPUT;
    dc_group_opts o = opts(1);
    dc_scan *s;
    size_t n = group(&o, &s);
    static const char *ids[] = {"storage_f1_bad", "storage_f2", "storage_f3_sub_1.2.14",
                                "storage_f4"};
    expect_ids(s, n, ids, 4);
    assert_string_equal(s[0].reason, "unreadable DICOM header"); /* BAD without reason */
    assert_string_equal(s[1].reason, "no DICOM files in folder");
    assert_string_equal(s[3].reason, "no DICOM files in folder");
    free_scans(s, n);

    /* without scope_is_input nothing is reported */
    n = 0;
    assert_int_equal(dc_group_records(R, NREC, P, SCOPES, NULL, NSCOPES, &o, &s, &n), 0);
    assert_int_equal(n, 2);
    free_scans(s, n);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    add(7, "elsewhere/x.dcm", "1", "1"); /* scope out of range */
    dc_group_opts o = opts(1);
    dc_scan *s = NULL;
    size_t n = 0;
    assert_int_equal(dc_group_records(R, NREC, P, SCOPES, IS_INPUT, NSCOPES, &o, &s, &n), -1);
    assert_int_equal(dc_group_records(R, NREC, P, SCOPES, IS_INPUT, NSCOPES, NULL, &s, &n), -1);
    /* nothing at all: only the empty input folders */
    assert_int_equal(dc_group_records(NULL, 0, NULL, SCOPES, IS_INPUT, NSCOPES, &o, &s, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(s[0].scan_id, "storage_f1");
    free_scans(s, n);
}

/* ---- random archives: invariants ---- */

static uint32_t rnd(uint32_t *seed, uint32_t n)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 8) % n;
}

/* random files over 3 folders and a few series: duplicates, missing tags,
 * several sizes and orientations, 4D repeats, BAD files, multi-frame files */
static void build_random(uint32_t *seed)
{
    static char paths[NR][40], sops[NR][16], series[NR][16];
    static const char *exts[3] = {".dcm", "", ".IMA"};
    for (size_t i = 0; i < NR; i++) {
        uint32_t scope = rnd(seed, 3);
        snprintf(paths[i], sizeof paths[i], "storage/f%u/im%u%s", scope + 1, rnd(seed, 40),
                 exts[rnd(seed, 3)]);
        int dup = 0;
        for (size_t j = 0; j < i; j++) dup |= strcmp(paths[j], paths[i]) == 0;
        if (dup) continue;
        if (rnd(seed, 12) == 0) {
            add_kind(scope, paths[i], DC_FILE_BAD);
            continue;
        }
        snprintf(series[i], sizeof series[i], "%s", rnd(seed, 6) ? "" : "1.9");
        if (!series[i][0]) snprintf(series[i], sizeof series[i], "1.%u", rnd(seed, 3));
        if (rnd(seed, 8) == 0) series[i][0] = '\0';
        snprintf(sops[i], sizeof sops[i], "2.%u", rnd(seed, 30));
        if (rnd(seed, 10) == 0) sops[i][0] = '\0';
        dc_record *r = add(scope, paths[i], series[i], sops[i]);
        if (rnd(seed, 5)) at(r, rnd(seed, 6), rnd(seed, 4) ? (int32_t)rnd(seed, 20) : -1);
        if (rnd(seed, 7) == 0) r->rows = 8;
        if (rnd(seed, 9) == 0) memcpy(r->iop, CORONAL, sizeof CORONAL);
        if (rnd(seed, 11) == 0) r->frames = 1 + rnd(seed, 3);
        if (rnd(seed, 4) == 0) {
            r->has_temporal = 1;
            r->temporal = (int32_t)rnd(seed, 3);
        }
    }
}

static void check_invariants(const dc_scan *s, size_t n)
{
    uint32_t in_files = 0, counted = 0;
    for (size_t i = 0; i < NREC; i++)
        in_files += R[i].kind == DC_FILE_DICOM || R[i].kind == DC_FILE_BAD;
    uint8_t used[NR] = {0};
    for (size_t i = 0; i < n; i++) {
        if (i) assert_true(strcmp(s[i - 1].scan_id, s[i].scan_id) < 0); /* sorted, unique */
        counted += s[i].n_files + s[i].n_duplicates;
        assert_int_equal(s[i].unreadable, s[i].reason != NULL);
        assert_non_null(s[i].warnings);
        if (s[i].unreadable) {
            assert_int_equal(s[i].n_slices, 0);
            continue;
        }
        uint8_t here[NR] = {0};
        uint32_t distinct = 0;
        for (uint32_t k = 0; k < s[i].n_slices; k++) {
            uint32_t ri = s[i].slice_rec[k];
            assert_true(ri < NREC);
            assert_true(!used[ri] || here[ri]); /* a file is in one scan only */
            distinct += !here[ri];
            used[ri] = here[ri] = 1;
            assert_true(s[i].slice_frame[k] < R[ri].frames);
        }
        assert_int_equal(distinct, s[i].n_files);
        assert_int_equal(s[i].slice_rec[0], s[i].first_rec);
        uint64_t prod = 1;
        for (int d = 0; d < s[i].ndim; d++) prod *= s[i].dims[d];
        assert_int_equal(prod, (uint64_t)s[i].n_slices * s[i].rows * s[i].cols * s[i].samples);
    }
    assert_int_equal(counted, in_files);
}

static void test_random_archives(void **state)
{
    (void)state;
    uint32_t seed = 777;
    dc_record Q[NR];
    for (int round = 0; round < 40; round++) {
        teardown(NULL);
        build_random(&seed);
        for (int mode = 0; mode < 8; mode++) {
            dc_group_opts o = opts(mode & 1);
            o.split_inconsistent = !(mode & 2);
            o.layout = (mode & 4) ? DC_LAYOUT_SEED : DC_LAYOUT_ZYX;
            o.slice_order = round % 3;
            dc_scan *s;
            size_t n = group(&o, &s);
            check_invariants(s, n);
            free_scans(s, n);
            char *want = describe_all(R, &o);
            for (uint32_t i = 0; i < NREC; i++) Q[i] = R[NREC - 1 - i];
            char *got = describe_all(Q, &o);
            assert_string_equal(got, want);
            free(got);
            free(want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_volume_mixed, teardown),
        cmocka_unit_test_teardown(test_per_file_mixed, teardown),
        cmocka_unit_test_teardown(test_shuffled_inputs, teardown),
        cmocka_unit_test_teardown(test_shuffled_content, teardown),
        cmocka_unit_test_teardown(test_duplicates_volume, teardown),
        cmocka_unit_test_teardown(test_duplicates_per_file, teardown),
        cmocka_unit_test_teardown(test_trilocalizer, teardown),
        cmocka_unit_test_teardown(test_split_reasons, teardown),
        cmocka_unit_test_teardown(test_split_order, teardown),
        cmocka_unit_test_teardown(test_multiframe_in_series, teardown),
        cmocka_unit_test_teardown(test_no_pixel_data, teardown),
        cmocka_unit_test_teardown(test_empty_folders, teardown),
        cmocka_unit_test_teardown(test_bad_arguments, teardown),
        cmocka_unit_test_teardown(test_random_archives, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
