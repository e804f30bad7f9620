/*
 * test_stack.c - dc_stack_scan (SPEC 5) and dc_scan_pack/unpack: slice order
 * by position against InstanceNumber, fallbacks to InstanceNumber and file
 * name (natural order), configured rules, 4D even and uneven, multi-frame
 * files, oblique orientation and gantry tilt (the affine maps indices to the
 * exact positions), gaps and non-uniform spacing, per-slice rescale, shapes
 * in both layouts, unreadable scans and an exact pack/unpack round trip.
 * Records are filled by hand; expected values are exact.
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

#define NR 16
static dc_record R[NR];
static const char *P[NR];

static const double AXIAL[6] = {1, 0, 0, 0, 1, 0};

/* a CT slice: 4 x 5, int16, axial, pixel spacing 0.5 (rows) x 0.7 (cols) */
static dc_record *rec(uint32_t i, const char *path)
{
    dc_record *r = &R[i];
    dc_record_free(r);
    dc_record_init(r);
    r->file_idx = i;
    r->kind = DC_FILE_DICOM;
    P[i] = path;
    snprintf(r->series_uid, sizeof r->series_uid, "1.2.3");
    snprintf(r->study_uid, sizeof r->study_uid, "1.2");
    snprintf(r->sop_uid, sizeof r->sop_uid, "1.2.3.%u", i);
    snprintf(r->modality, sizeof r->modality, "CT");
    snprintf(r->photometric, sizeof r->photometric, "MONOCHROME2");
    r->rows = 4;
    r->cols = 5;
    r->samples = 1;
    r->bits_alloc = 16;
    r->bits_stored = 12;
    r->high_bit = 11;
    r->pixel_rep = 1;
    r->pixel_kind = DC_PIX_INT;
    r->has_iop = 1;
    memcpy(r->iop, AXIAL, sizeof AXIAL);
    r->has_spacing = 1;
    r->spacing[0] = 0.5;
    r->spacing[1] = 0.7;
    r->file_size = 1000 + i;
    return r;
}

static void ipp(dc_record *r, double x, double y, double z)
{
    r->has_ipp = 1;
    r->ipp[0] = x;
    r->ipp[1] = y;
    r->ipp[2] = z;
}

static void inst(dc_record *r, int32_t n)
{
    r->has_instance = 1;
    r->instance = n;
}

static dc_group_opts vol_opts(void)
{
    dc_group_opts o = {1, 1, DC_ORDER_POSITION, DC_LAYOUT_ZYX, 0, 1, 0, DC_PHILIPS_DISPLAY};
    return o;
}

static void stack(dc_scan *s, const uint32_t *idx, uint32_t n, const dc_group_opts *o)
{
    memset(s, 0, sizeof *s);
    s->slice_rec = malloc(n * sizeof *idx);
    memcpy(s->slice_rec, idx, n * sizeof *idx);
    s->n_slices = n;
    assert_int_equal(dc_stack_scan(R, P, o, s), 0);
}

static void expect_recs(const dc_scan *s, const uint32_t *want, uint32_t n)
{
    assert_int_equal(s->n_slices, n);
    for (uint32_t k = 0; k < n; k++) assert_int_equal(s->slice_rec[k], want[k]);
}

static void expect_dims(const dc_scan *s, int ndim, const uint64_t *d)
{
    assert_int_equal(s->ndim, ndim);
    for (int i = 0; i < ndim; i++) assert_int_equal(s->dims[i], d[i]);
}

/* affine applied to index (z, y, x) */
static void apply(const dc_scan *s, double z, double y, double x, double out[3])
{
    for (int r = 0; r < 3; r++)
        out[r] = s->affine[r * 4] * z + s->affine[r * 4 + 1] * y + s->affine[r * 4 + 2] * x +
                 s->affine[r * 4 + 3];
}

static void expect_affine(const dc_scan *s, const double *want16)
{
    for (int i = 0; i < 16; i++) assert_float_equal(s->affine[i], want16[i], 1e-12);
}

/* ---- order ---- */

static void test_position_against_instance(void **state)
{
    (void)state;
    static const double z[5] = {4, 0, 8, 2, 6};
    for (uint32_t i = 0; i < 5; i++) {
        ipp(rec(i, "d/s.dcm"), -50, -60, z[i]);
        inst(&R[i], 10 - (int32_t)z[i] / 2);
    }
    P[0] = "d/s0.dcm", P[1] = "d/s1.dcm", P[2] = "d/s2.dcm", P[3] = "d/s3.dcm", P[4] = "d/s4.dcm";
    dc_group_opts o = vol_opts();
    uint32_t in1[5] = {0, 1, 2, 3, 4}, in2[5] = {4, 2, 0, 3, 1};
    const uint32_t *ins[2] = {in1, in2};
    for (int t = 0; t < 2; t++) {
        dc_scan s;
        stack(&s, ins[t], 5, &o);
        static const uint32_t want[5] = {1, 3, 0, 4, 2};
        expect_recs(&s, want, 5);
        for (uint32_t k = 0; k < 5; k++) assert_int_equal(s.slice_frame[k], 0);
        static const int32_t wi[5] = {10, 9, 8, 7, 6};
        for (uint32_t k = 0; k < 5; k++) assert_int_equal(s.instance_numbers[k], wi[k]);
        assert_string_equal(s.slice_order, "position");
        assert_string_equal(s.warnings, "");
        assert_int_equal(s.unreadable, 0);
        assert_int_equal(s.n_files, 5);
        assert_int_equal(s.first_rec, 1);
        assert_int_equal(s.example_rec, 1);
        assert_int_equal(s.n_repeats, 1);
        static const uint64_t d[3] = {5, 4, 5};
        expect_dims(&s, 3, d);
        assert_int_equal(s.dtype, DC_DT_I16);
        assert_int_equal(s.rows, 4);
        assert_int_equal(s.cols, 5);
        assert_int_equal(s.samples, 1);
        assert_float_equal(s.spacing[0], 2.0, 0);
        assert_float_equal(s.spacing[1], 0.5, 0);
        assert_float_equal(s.spacing[2], 0.7, 0);
        assert_int_equal(s.uniform_spacing, 1);
        static const double A[16] = {0, 0, 0.7, -50, 0, 0.5, 0, -60, 2, 0, 0, 0, 0, 0, 0, 1};
        expect_affine(&s, A);
        assert_int_equal(s.n_positions, 5);
        for (uint32_t k = 0; k < 5; k++) {
            assert_float_equal(s.slice_positions[3 * k], -50, 0);
            assert_float_equal(s.slice_positions[3 * k + 1], -60, 0);
            assert_float_equal(s.slice_positions[3 * k + 2], 2.0 * k, 0);
        }
        assert_int_equal(s.n_rescale, 1);
        assert_float_equal(s.rescale_slope[0], 1, 0);
        assert_float_equal(s.rescale_intercept[0], 0, 0);
        assert_string_equal(s.series_uid, "1.2.3");
        assert_string_equal(s.study_uid, "1.2");
        assert_string_equal(s.modality, "CT");
        assert_string_equal(s.photometric, "MONOCHROME2");
        assert_int_equal(s.bits_stored, 12);
        assert_int_equal(s.cost, 5010);
        dc_scan_free(&s);
    }
}

static void test_fallback_instance(void **state)
{
    (void)state;
    static const int32_t in[3] = {3, 1, 2};
    for (uint32_t i = 0; i < 3; i++) {
        inst(rec(i, "d/x.dcm"), in[i]);
        R[i].has_sbs = 1;
        R[i].sbs = 2.5;
        R[i].has_thickness = 1;
        R[i].thickness = 3;
    }
    dc_group_opts o = vol_opts();
    uint32_t idx[3] = {0, 1, 2};
    dc_scan s;
    stack(&s, idx, 3, &o);
    static const uint32_t want[3] = {1, 2, 0};
    expect_recs(&s, want, 3);
    assert_string_equal(s.slice_order, "instance");
    assert_string_equal(
        s.warnings,
        "ImagePositionPatient missing: ordered by InstanceNumber; affine assumes origin 0");
    assert_null(s.slice_positions);
    assert_int_equal(s.n_positions, 0);
    assert_float_equal(s.spacing[0], 2.5, 0);
    static const double A[16] = {0, 0, 0.7, 0, 0, 0.5, 0, 0, 2.5, 0, 0, 0, 0, 0, 0, 1};
    expect_affine(&s, A);
    dc_scan_free(&s);

    /* one slice without a position is enough to fall back */
    ipp(&R[0], 0, 0, 30);
    ipp(&R[1], 0, 0, 10);
    stack(&s, idx, 3, &o);
    expect_recs(&s, want, 3);
    assert_string_equal(s.warnings, "ImagePositionPatient missing: ordered by InstanceNumber");
    assert_float_equal(s.affine[11], 10, 0); /* origin: first stored slice's position */
    dc_scan_free(&s);

    /* no orientation */
    ipp(&R[2], 0, 0, 20);
    for (int i = 0; i < 3; i++) R[i].has_iop = 0;
    stack(&s, idx, 3, &o);
    expect_recs(&s, want, 3);
    assert_string_equal(s.warnings, "ImageOrientationPatient missing: ordered by InstanceNumber; "
                                    "affine assumes identity orientation");
    assert_float_equal(s.spacing[0], 10, 0); /* distances between positions */
    dc_scan_free(&s);
}

static void test_fallback_filename_natural(void **state)
{
    (void)state;
    rec(0, "d/img10.dcm");
    rec(1, "d/img2.dcm");
    rec(2, "d/img1.dcm");
    dc_group_opts o = vol_opts();
    uint32_t idx[3] = {0, 1, 2};
    dc_scan s;
    stack(&s, idx, 3, &o);
    static const uint32_t want[3] = {2, 1, 0};
    expect_recs(&s, want, 3);
    assert_string_equal(s.slice_order, "filename");
    assert_string_equal(s.warnings,
                        "ImagePositionPatient missing, InstanceNumber missing: ordered by "
                        "file name; affine assumes unit slice spacing, origin 0");
    assert_float_equal(s.spacing[0], 0, 0);
    for (int k = 0; k < 3; k++) assert_int_equal(s.instance_numbers[k], INT32_MIN);
    static const double A[16] = {0, 0, 0.7, 0, 0, 0.5, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1};
    expect_affine(&s, A);
    dc_scan_free(&s);
}

static void test_configured_rules(void **state)
{
    (void)state;
    /* positions ascending with the file names, instance numbers against them */
    static const char *names[4] = {"d/a1.dcm", "d/a10.dcm", "d/a2.dcm", "d/a3.dcm"};
    static const double z[4] = {0, 6, 2, 4};
    for (uint32_t i = 0; i < 4; i++) {
        ipp(rec(i, names[i]), 1, 2, z[i]);
        inst(&R[i], 100 - (int32_t)z[i]);
    }
    uint32_t idx[4] = {0, 1, 2, 3};
    dc_group_opts o = vol_opts();
    o.slice_order = DC_ORDER_INSTANCE;
    dc_scan s;
    stack(&s, idx, 4, &o);
    static const uint32_t by_inst[4] = {1, 3, 2, 0};
    expect_recs(&s, by_inst, 4);
    assert_string_equal(s.slice_order, "instance");
    assert_string_equal(s.warnings, "");
    assert_float_equal(s.spacing[0], 2, 0);
    double p[3];
    for (int k = 0; k < 4; k++) { /* descending z: the affine follows the stored order */
        apply(&s, k, 0, 0, p);
        assert_float_equal(p[2], 6 - 2.0 * k, 1e-12);
    }
    dc_scan_free(&s);

    o.slice_order = DC_ORDER_FILENAME;
    stack(&s, idx, 4, &o);
    static const uint32_t by_name[4] = {0, 2, 3, 1};
    expect_recs(&s, by_name, 4);
    assert_string_equal(s.slice_order, "filename");
    assert_string_equal(s.warnings, "");
    dc_scan_free(&s);

    /* instance rule without instance numbers falls back to file names */
    for (int i = 0; i < 4; i++) R[i].has_instance = 0;
    o.slice_order = DC_ORDER_INSTANCE;
    stack(&s, idx, 4, &o);
    expect_recs(&s, by_name, 4);
    assert_string_equal(s.slice_order, "filename");
    assert_string_equal(s.warnings, "InstanceNumber missing: ordered by file name");
    dc_scan_free(&s);
}

/* ---- 4D ---- */

static void test_4d_even(void **state)
{
    (void)state;
    static const double z[6] = {3, 0, 6, 0, 3, 6};
    static const int32_t t[6] = {2, 1, 1, 2, 1, 2};
    for (uint32_t i = 0; i < 6; i++) {
        ipp(rec(i, "d/f.dcm"), 0, 0, z[i]);
        R[i].has_temporal = 1;
        R[i].temporal = t[i];
        inst(&R[i], (int32_t)i + 1);
    }
    P[0] = "d/f0", P[1] = "d/f1", P[2] = "d/f2", P[3] = "d/f3", P[4] = "d/f4", P[5] = "d/f5";
    uint32_t idx[6] = {5, 4, 3, 2, 1, 0};
    dc_group_opts o = vol_opts();
    dc_scan s;
    stack(&s, idx, 6, &o);
    static const uint32_t want[6] = {1, 4, 2, 3, 0, 5};
    expect_recs(&s, want, 6);
    static const int32_t wi[6] = {2, 5, 3, 4, 1, 6};
    for (int k = 0; k < 6; k++) assert_int_equal(s.instance_numbers[k], wi[k]);
    assert_string_equal(s.slice_order, "position");
    assert_string_equal(s.warnings, "");
    assert_int_equal(s.n_repeats, 2);
    static const uint64_t d[4] = {2, 3, 4, 5};
    expect_dims(&s, 4, d);
    assert_int_equal(s.n_positions, 3);
    for (int k = 0; k < 3; k++) assert_float_equal(s.slice_positions[3 * k + 2], 3.0 * k, 0);
    assert_float_equal(s.spacing[0], 3, 0);
    assert_int_equal(s.n_files, 6);
    dc_scan_free(&s);

    /* AcquisitionNumber comes before the temporal position */
    for (int i = 0; i < 6; i++) {
        R[i].has_acq = 1;
        R[i].acq = 3 - t[i];
    }
    o.layout = DC_LAYOUT_SEED;
    stack(&s, idx, 6, &o);
    static const uint32_t want_acq[6] = {3, 0, 5, 1, 4, 2};
    expect_recs(&s, want_acq, 6);
    static const uint64_t ds[5] = {1, 4, 5, 2, 3};
    expect_dims(&s, 5, ds);
    dc_scan_free(&s);
}

static void test_4d_uneven(void **state)
{
    (void)state;
    static const double z[4] = {1, 0, 0, 2};
    static const int32_t in[4] = {2, 4, 1, 3};
    for (uint32_t i = 0; i < 4; i++) {
        ipp(rec(i, "d/u.dcm"), 0, 0, z[i]);
        inst(&R[i], in[i]);
    }
    uint32_t idx[4] = {0, 1, 2, 3};
    dc_group_opts o = vol_opts();
    dc_scan s;
    stack(&s, idx, 4, &o);
    static const uint32_t want[4] = {2, 0, 3, 1};
    expect_recs(&s, want, 4);
    assert_string_equal(s.slice_order, "instance");
    assert_int_equal(s.n_repeats, 1);
    assert_string_equal(s.warnings,
                        "uneven repeated positions (3 positions, 1 to 2 slices each): ordered by "
                        "InstanceNumber; non-uniform slice spacing: 1.000 to 2.000 mm (median "
                        "1.000); gap of 2.000 mm between slices 2 and 3 (median spacing 1.000); 1 "
                        "duplicate slice positions; slice positions not monotonic in stored order");
    assert_int_equal(s.uniform_spacing, 0);
    static const uint64_t d[3] = {4, 4, 5};
    expect_dims(&s, 3, d);
    assert_int_equal(s.n_positions, 4);
    dc_scan_free(&s);
}

/* ---- geometry ---- */

static void test_oblique(void **state)
{
    (void)state;
    static const double iop[6] = {0.8, 0.6, 0, 0, 0, -1}; /* normal (-0.6, 0.8, 0) */
    static const int k_of[4] = {2, 0, 3, 1};
    for (uint32_t i = 0; i < 4; i++) {
        rec(i, "d/o.dcm");
        memcpy(R[i].iop, iop, sizeof iop);
        int k = k_of[i];
        ipp(&R[i], 10 - 0.9 * k, 20 + 1.2 * k, 30);
    }
    uint32_t idx[4] = {0, 1, 2, 3};
    dc_group_opts o = vol_opts();
    dc_scan s;
    stack(&s, idx, 4, &o);
    static const uint32_t want[4] = {1, 3, 0, 2};
    expect_recs(&s, want, 4);
    assert_string_equal(s.warnings, "");
    assert_float_equal(s.spacing[0], 1.5, 1e-12);
    double p[3];
    for (int k = 0; k < 4; k++)
        for (int y = 0; y < 4; y += 3)
            for (int x = 0; x < 5; x += 4) {
                apply(&s, k, y, x, p);
                assert_float_equal(p[0], 10 - 0.9 * k + 0.7 * 0.8 * x, 1e-12);
                assert_float_equal(p[1], 20 + 1.2 * k + 0.7 * 0.6 * x, 1e-12);
                assert_float_equal(p[2], 30 - 0.5 * y, 1e-12);
            }
    dc_scan_free(&s);
}

static void test_gantry_tilt(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 5; i++)
        ipp(rec(i, "d/t.dcm"), -100, -100 + 0.5 * (4 - i), 10 + 2.0 * (4 - i));
    uint32_t idx[5] = {0, 1, 2, 3, 4};
    dc_group_opts o = vol_opts();
    dc_scan s;
    stack(&s, idx, 5, &o);
    static const uint32_t want[5] = {4, 3, 2, 1, 0};
    expect_recs(&s, want, 5);
    assert_string_equal(s.warnings, "gantry tilt 14.04 degrees");
    assert_int_equal(s.uniform_spacing, 1);
    assert_float_equal(s.spacing[0], 2, 0);
    static const double A[16] = {0, 0, 0.7, -100, 0.5, 0.5, 0, -100, 2, 0, 0, 10, 0, 0, 0, 1};
    expect_affine(&s, A);
    double p[3];
    for (int k = 0; k < 5; k++) {
        apply(&s, k, 0, 0, p);
        assert_float_equal(p[0], -100, 0);
        assert_float_equal(p[1], -100 + 0.5 * k, 0);
        assert_float_equal(p[2], 10 + 2.0 * k, 0);
    }
    dc_scan_free(&s);
}

static void stack_z(dc_scan *s, const double *z, uint32_t n)
{
    uint32_t idx[NR];
    for (uint32_t i = 0; i < n; i++) {
        ipp(rec(i, "d/g.dcm"), 0, 0, z[i]);
        idx[i] = i;
    }
    dc_group_opts o = vol_opts();
    stack(s, idx, n, &o);
}

static void test_gap_and_nonuniform(void **state)
{
    (void)state;
    dc_scan s;
    static const double gap[5] = {0, 1, 2, 5, 6};
    stack_z(&s, gap, 5);
    assert_string_equal(s.warnings,
                        "non-uniform slice spacing: 1.000 to 3.000 mm (median 1.000); "
                        "gap of 3.000 mm between slices 2 and 3 (median spacing 1.000)");
    assert_int_equal(s.uniform_spacing, 0);
    assert_float_equal(s.spacing[0], 1, 0);
    double p[3];
    apply(&s, 4, 0, 0, p); /* the affine spans first to last slice */
    assert_float_equal(p[2], 6, 1e-12);
    dc_scan_free(&s);

    static const double uneven[4] = {0, 1, 2.1, 3.1};
    stack_z(&s, uneven, 4);
    assert_string_equal(s.warnings, "non-uniform slice spacing: 1.000 to 1.100 mm (median 1.000)");
    assert_int_equal(s.uniform_spacing, 0);
    dc_scan_free(&s);

    static const double rounding[3] = {0, 1.005, 2}; /* within 0.01 mm */
    stack_z(&s, rounding, 3);
    assert_string_equal(s.warnings, "");
    assert_int_equal(s.uniform_spacing, 1);
    assert_float_equal(s.spacing[0], 1, 1e-12);
    dc_scan_free(&s);
}

static void test_rescale(void **state)
{
    (void)state;
    static const double slope[3] = {2, 1, 1}, icpt[3] = {-1000, -1024, -1024};
    for (uint32_t i = 0; i < 3; i++) {
        ipp(rec(i, "d/r.dcm"), 0, 0, 10 - (double)i);
        R[i].has_rescale = 1;
        R[i].slope = slope[i];
        R[i].intercept = icpt[i];
    }
    uint32_t idx[3] = {0, 1, 2};
    dc_group_opts o = vol_opts();
    o.rescale = 1;
    dc_scan s;
    stack(&s, idx, 3, &o);
    assert_int_equal(s.dtype, DC_DT_F32);
    assert_int_equal(s.n_rescale, 3);
    static const double ws[3] = {1, 1, 2}, wi[3] = {-1024, -1024, -1000};
    for (int k = 0; k < 3; k++) {
        assert_float_equal(s.rescale_slope[k], ws[k], 0);
        assert_float_equal(s.rescale_intercept[k], wi[k], 0);
    }
    dc_scan_free(&s);
    R[0].slope = 1;
    R[0].intercept = -1024;
    stack(&s, idx, 3, &o);
    assert_int_equal(s.n_rescale, 1);
    assert_float_equal(s.rescale_slope[0], 1, 0);
    assert_float_equal(s.rescale_intercept[0], -1024, 0);
    dc_scan_free(&s);
}

/* PixelRepresentation changing within a series: a type holding every value */
static void test_mixed_pixel_representation(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 3; i++) ipp(rec(i, "d/m.dcm"), 0, 0, (double)i);
    R[1].pixel_rep = 0; /* one unsigned 16-bit slice among signed ones */
    uint32_t idx[3] = {0, 1, 2};
    dc_group_opts o = vol_opts();
    dc_scan s;
    stack(&s, idx, 3, &o);
    assert_int_equal(s.dtype, DC_DT_I32);
    assert_non_null(strstr(s.warnings, "PixelRepresentation differs between slices: stored as int32"));
    dc_scan_free(&s);
    R[1].pixel_rep = 1; /* all signed: unchanged, no warning */
    stack(&s, idx, 3, &o);
    assert_int_equal(s.dtype, DC_DT_I16);
    assert_null(strstr(s.warnings, "PixelRepresentation"));
    dc_scan_free(&s);
    for (uint32_t i = 0; i < 3; i++) { /* 8-bit mix -> int16 */
        R[i].bits_alloc = R[i].bits_stored = 8;
        R[i].pixel_rep = i == 2;
    }
    stack(&s, idx, 3, &o);
    assert_int_equal(s.dtype, DC_DT_I16);
    dc_scan_free(&s);
    o.rescale = 1; /* rescale: float32 whatever the mix */
    stack(&s, idx, 3, &o);
    assert_int_equal(s.dtype, DC_DT_F32);
    dc_scan_free(&s);
}

/* ---- shapes ---- */

static void test_shapes(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 3; i++) ipp(rec(i, "d/v.dcm"), 0, 0, i);
    uint32_t idx[3] = {0, 1, 2};
    dc_group_opts o = vol_opts();
    o.layout = DC_LAYOUT_SEED;
    dc_scan s;
    stack(&s, idx, 3, &o);
    static const uint64_t seed3[4] = {1, 4, 5, 3};
    expect_dims(&s, 4, seed3);
    dc_scan_free(&s);

    for (uint32_t i = 0; i < 3; i++) {
        R[i].samples = 3;
        R[i].bits_alloc = 8;
        R[i].bits_stored = 8;
        R[i].pixel_rep = 0;
        snprintf(R[i].photometric, sizeof R[i].photometric, "YBR_FULL_422");
    }
    stack(&s, idx, 3, &o);
    static const uint64_t seedc[5] = {1, 4, 5, 3, 3};
    expect_dims(&s, 5, seedc);
    assert_int_equal(s.dtype, DC_DT_U8);
    assert_string_equal(s.photometric, "RGB");
    dc_scan_free(&s);
    o.layout = DC_LAYOUT_ZYX;
    stack(&s, idx, 3, &o);
    static const uint64_t zyxc[4] = {3, 4, 5, 3};
    expect_dims(&s, 4, zyxc);
    dc_scan_free(&s);

    /* per-file */
    o.volumes = 0;
    stack(&s, idx, 1, &o);
    static const uint64_t pf_c[3] = {4, 5, 3};
    expect_dims(&s, 3, pf_c);
    assert_string_equal(s.slice_order, "single");
    dc_scan_free(&s);
    rec(0, "d/one.dcm");
    R[0].has_thickness = 1;
    R[0].thickness = 1.25;
    stack(&s, idx, 1, &o);
    static const uint64_t pf[2] = {4, 5};
    expect_dims(&s, 2, pf);
    assert_float_equal(s.spacing[0], 1.25, 0);
    assert_string_equal(s.warnings, "");
    assert_int_equal(s.n_files, 1);
    dc_scan_free(&s);
    o.layout = DC_LAYOUT_SEED;
    stack(&s, idx, 1, &o);
    static const uint64_t pf_seed[3] = {1, 4, 5};
    expect_dims(&s, 3, pf_seed);
    dc_scan_free(&s);
    R[0].frames = 6;
    stack(&s, idx, 1, &o);
    static const uint64_t pfm_seed[4] = {1, 4, 5, 6};
    expect_dims(&s, 4, pfm_seed);
    assert_int_equal(s.n_slices, 6);
    for (uint32_t k = 0; k < 6; k++) assert_int_equal(s.slice_frame[k], k);
    dc_scan_free(&s);
    o.layout = DC_LAYOUT_ZYX;
    stack(&s, idx, 1, &o);
    static const uint64_t pfm[3] = {6, 4, 5};
    expect_dims(&s, 3, pfm);
    dc_scan_free(&s);
}

/* ---- multi-frame ---- */

static void frames(dc_record *r, uint32_t n, const double *z, const int32_t *temporal)
{
    r->frames = n;
    r->n_frame_geom = n;
    r->frame_geom = calloc(n, sizeof *r->frame_geom);
    for (uint32_t f = 0; f < n; f++) {
        dc_frame_geom *g = &r->frame_geom[f];
        g->has_ipp = 1;
        g->ipp[0] = -5;
        g->ipp[1] = -6;
        g->ipp[2] = z[f];
        g->temporal = temporal ? temporal[f] : -1;
        g->stack_pos = -1;
    }
}

static void test_multiframe(void **state)
{
    (void)state;
    static const double z[4] = {6, 0, 4, 2};
    frames(rec(0, "d/mf.dcm"), 4, z, NULL);
    R[0].frame_geom[3].has_rescale = 1; /* per-frame rescale */
    R[0].frame_geom[3].slope = 2;
    R[0].frame_geom[3].intercept = 1;
    uint32_t idx[1] = {0};
    dc_group_opts o = vol_opts();
    dc_scan s;
    stack(&s, idx, 1, &o);
    static const uint32_t wf[4] = {1, 3, 2, 0};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(s.slice_rec[k], 0);
        assert_int_equal(s.slice_frame[k], wf[k]);
    }
    assert_string_equal(s.slice_order, "position");
    assert_string_equal(s.warnings, "");
    assert_int_equal(s.n_files, 1);
    assert_int_equal(s.n_rescale, 4);
    assert_float_equal(s.rescale_slope[1], 2, 0);
    assert_float_equal(s.rescale_intercept[1], 1, 0);
    assert_float_equal(s.spacing[0], 2, 0);
    static const uint64_t d[3] = {4, 4, 5};
    expect_dims(&s, 3, d);
    dc_scan_free(&s);

    /* 4D by TemporalPositionIndex */
    static const double z4[4] = {0, 0, 5, 5};
    static const int32_t t4[4] = {2, 1, 1, 2};
    frames(rec(0, "d/mf.dcm"), 4, z4, t4);
    stack(&s, idx, 1, &o);
    static const uint32_t wf4[4] = {1, 2, 0, 3};
    for (int k = 0; k < 4; k++) assert_int_equal(s.slice_frame[k], wf4[k]);
    assert_int_equal(s.n_repeats, 2);
    static const uint64_t d4[4] = {2, 2, 4, 5};
    expect_dims(&s, 4, d4);
    dc_scan_free(&s);

    /* no per-frame positions: file order */
    rec(0, "d/mf.dcm");
    R[0].frames = 3;
    ipp(&R[0], 1, 2, 3); /* a file-level position says nothing about frames */
    stack(&s, idx, 1, &o);
    for (uint32_t k = 0; k < 3; k++) assert_int_equal(s.slice_frame[k], k);
    assert_string_equal(s.slice_order, "frame");
    assert_string_equal(s.warnings, "ImagePositionPatient missing: ordered by frame order; affine "
                                    "assumes unit slice spacing, origin 0");
    dc_scan_free(&s);
    o.slice_order = DC_ORDER_INSTANCE;
    stack(&s, idx, 1, &o);
    assert_string_equal(s.slice_order, "frame");
    dc_scan_free(&s);
}

/* ---- unreadable ---- */

static void test_no_pixel_data(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 2; i++) {
        ipp(rec(i, "d/n.dcm"), 0, 0, i);
        R[i].pixel_kind = DC_PIX_NONE;
    }
    P[0] = "d/n2.dcm";
    P[1] = "d/n1.dcm";
    uint32_t idx[2] = {0, 1};
    dc_group_opts o = vol_opts();
    dc_scan s;
    stack(&s, idx, 2, &o);
    assert_int_equal(s.unreadable, 1);
    assert_string_equal(s.reason, "no pixel data");
    assert_int_equal(s.n_files, 2);
    assert_int_equal(s.n_slices, 0);
    assert_null(s.slice_rec);
    assert_int_equal(s.example_rec, 1);
    assert_int_equal(s.cost, 0);
    assert_string_equal(s.modality, "CT");
    dc_scan_free(&s);
    o.write_pixeldata = 0; /* metadata only: still a scan */
    stack(&s, idx, 2, &o);
    assert_int_equal(s.unreadable, 0);
    assert_int_equal(s.n_slices, 2);
    assert_int_equal(s.cost, 1000); /* header of the first slice only */
    dc_scan_free(&s);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    dc_group_opts o = vol_opts();
    dc_scan s;
    memset(&s, 0, sizeof s);
    assert_int_equal(dc_stack_scan(R, P, &o, &s), -1);
    o.volumes = 0;
    uint32_t *two = malloc(2 * sizeof *two);
    two[0] = 0;
    two[1] = 1;
    s.slice_rec = two;
    s.n_slices = 2;
    assert_int_equal(dc_stack_scan(R, P, &o, &s), -1);
    free(two);
}

/* ---- pack / unpack ---- */

static void expect_same_scan(const dc_scan *a, const dc_scan *b)
{
    assert_string_equal(a->scan_id, b->scan_id);
    assert_int_equal(a->scope, b->scope);
    assert_int_equal(a->unreadable, b->unreadable);
    if (a->reason)
        assert_string_equal(a->reason, b->reason);
    else
        assert_null(b->reason);
    assert_int_equal(a->n_slices, b->n_slices);
    if (a->n_slices) {
        assert_memory_equal(a->slice_rec, b->slice_rec, a->n_slices * sizeof(uint32_t));
        assert_memory_equal(a->slice_frame, b->slice_frame, a->n_slices * sizeof(uint32_t));
        assert_memory_equal(a->instance_numbers, b->instance_numbers,
                            a->n_slices * sizeof(int32_t));
    }
    assert_int_equal(a->n_files, b->n_files);
    assert_int_equal(a->first_rec, b->first_rec);
    assert_int_equal(a->example_rec, b->example_rec);
    assert_int_equal(a->ndim, b->ndim);
    assert_memory_equal(a->dims, b->dims, sizeof a->dims);
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->rows, b->rows);
    assert_int_equal(a->cols, b->cols);
    assert_int_equal(a->samples, b->samples);
    assert_int_equal(a->n_repeats, b->n_repeats);
    assert_memory_equal(a->series_uid, b->series_uid, sizeof a->series_uid);
    assert_memory_equal(a->study_uid, b->study_uid, sizeof a->study_uid);
    assert_memory_equal(a->modality, b->modality, sizeof a->modality);
    assert_memory_equal(a->photometric, b->photometric, sizeof a->photometric);
    assert_int_equal(a->bits_stored, b->bits_stored);
    assert_memory_equal(a->slice_order, b->slice_order, sizeof a->slice_order);
    assert_memory_equal(a->spacing, b->spacing, sizeof a->spacing);
    assert_memory_equal(a->affine, b->affine, sizeof a->affine);
    assert_int_equal(a->n_positions, b->n_positions);
    if (a->slice_positions)
        assert_memory_equal(a->slice_positions, b->slice_positions,
                            a->n_positions * 3 * sizeof(double));
    else
        assert_null(b->slice_positions);
    assert_int_equal(a->n_rescale, b->n_rescale);
    if (a->n_rescale) {
        assert_memory_equal(a->rescale_slope, b->rescale_slope, a->n_rescale * sizeof(double));
        assert_memory_equal(a->rescale_intercept, b->rescale_intercept,
                            a->n_rescale * sizeof(double));
    }
    assert_int_equal(a->uniform_spacing, b->uniform_spacing);
    assert_string_equal(a->warnings, b->warnings);
    assert_int_equal(a->n_duplicates, b->n_duplicates);
    assert_int_equal(a->cost, b->cost);
}

static void test_pack_roundtrip(void **state)
{
    (void)state;
    static const double z[4] = {0.1, 0.1, 0.7, 0.7};
    static const double slope[4] = {1, 3, 1, 1.0 / 3};
    for (uint32_t i = 0; i < 4; i++) {
        ipp(rec(i, "d/p.dcm"), 1.0 / 3, 2.0 / 7, z[i]);
        inst(&R[i], (int32_t)i - 2);
        R[i].has_rescale = 1;
        R[i].slope = slope[i];
        R[i].intercept = -0.1 * i;
    }
    R[2].has_instance = 0;
    uint32_t idx[4] = {0, 1, 2, 3};
    dc_group_opts o = vol_opts();
    dc_scan a[2];
    stack(&a[0], idx, 4, &o);
    a[0].scan_id = strdup("storage_f1_1.2.3");
    a[0].n_duplicates = 7;
    assert_int_equal(a[0].n_repeats, 2);
    memset(&a[1], 0, sizeof a[1]);
    a[1].scan_id = strdup("storage_empty");
    a[1].unreadable = 1;
    a[1].reason = strdup("no DICOM files in folder");
    a[1].first_rec = a[1].example_rec = DC_NO_REC;
    a[1].warnings = strdup("");

    dc_buf b;
    dc_buf_init(&b);
    dc_scan_pack(&a[0], &b);
    size_t len0 = b.len;
    dc_scan_pack(&a[1], &b);
    const char *p = b.data, *end = b.data + b.len;
    for (int i = 0; i < 2; i++) {
        dc_scan u;
        assert_int_equal(dc_scan_unpack(&p, end, &u), 0);
        expect_same_scan(&a[i], &u);
        dc_scan_free(&u);
    }
    assert_ptr_equal(p, end);

    /* every truncation fails cleanly */
    for (size_t n = 0; n < len0; n++) {
        const char *q = b.data;
        dc_scan u;
        assert_int_equal(dc_scan_unpack(&q, b.data + n, &u), -1);
        assert_ptr_equal(q, b.data);
        assert_null(u.scan_id);
    }
    b.data[0] ^= 0x55; /* bad magic */
    const char *q = b.data;
    dc_scan u;
    assert_int_equal(dc_scan_unpack(&q, end, &u), -1);
    dc_buf_free(&b);
    dc_scan_free(&a[0]);
    dc_scan_free(&a[1]);
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NR; i++) dc_record_free(&R[i]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_position_against_instance, teardown),
        cmocka_unit_test_teardown(test_fallback_instance, teardown),
        cmocka_unit_test_teardown(test_fallback_filename_natural, teardown),
        cmocka_unit_test_teardown(test_configured_rules, teardown),
        cmocka_unit_test_teardown(test_4d_even, teardown),
        cmocka_unit_test_teardown(test_4d_uneven, teardown),
        cmocka_unit_test_teardown(test_oblique, teardown),
        cmocka_unit_test_teardown(test_gantry_tilt, teardown),
        cmocka_unit_test_teardown(test_gap_and_nonuniform, teardown),
        cmocka_unit_test_teardown(test_rescale, teardown),
        cmocka_unit_test_teardown(test_mixed_pixel_representation, teardown),
        cmocka_unit_test_teardown(test_shapes, teardown),
        cmocka_unit_test_teardown(test_multiframe, teardown),
        cmocka_unit_test_teardown(test_no_pixel_data, teardown),
        cmocka_unit_test_teardown(test_bad_arguments, teardown),
        cmocka_unit_test_teardown(test_pack_roundtrip, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
