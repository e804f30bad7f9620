/*
 * test_output.c - the output layer under an MPI singleton: the in-memory
 * index, index files written and read back (external links) and updated
 * through their spare, segment files (shared and per-rank parts) with
 * datasets, attributes and slices, CSV appends, widening, rewrites and
 * start-up repair of torn tails.
 */
#include <hdf5.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dc_csvout.h"
#include "dc_h5out.h"
#include "dc_resume.h"

static char g_dir[256];

static char *path_in(const char *name)
{
    return dc_asprintf("%s/%s", g_dir, name);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    dc_buf b;
    dc_buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) dc_buf_append(&b, tmp, n);
    fclose(f);
    return dc_buf_steal(&b);
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

/* the string attribute name of loc is want */
static void assert_str_attr(hid_t loc, const char *name, const char *want)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Aget_type(a);
    char *v = NULL;
    assert_true(H5Aread(a, t, &v) >= 0);
    assert_string_equal(v, want);
    H5free_memory(v);
    H5Tclose(t);
    H5Aclose(a);
}

/* the same for a file attribute */
static void assert_file_attr(const char *path, const char *name, const char *want)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_str_attr(f, name, want);
    H5Fclose(f);
}

/* ---- index map ---- */

static void test_index_map(void **state)
{
    (void)state;
    dc_h5index x;
    dc_h5index_init(&x);
    char id[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "scan_%d", i);
        dc_h5index_put(&x, id, i % 2 ? "a.h5" : "b.h5");
    }
    assert_int_equal(x.n, 1000);
    dc_h5index_put(&x, "scan_7", "c.h5"); /* replace */
    assert_int_equal(x.n, 1000);
    assert_string_equal(x.segs[dc_h5index_find(&x, "scan_7")], "c.h5");
    for (int i = 0; i < 1000; i += 2) {
        snprintf(id, sizeof id, "scan_%d", i);
        dc_h5index_remove(&x, id);
    }
    assert_int_equal(x.n, 500);
    assert_true(dc_h5index_find(&x, "scan_0") < 0);
    assert_true(dc_h5index_find(&x, "scan_999") >= 0);
    assert_string_equal(x.segs[dc_h5index_find(&x, "scan_999")], "a.h5");
    dc_h5index_free(&x);
}

/* ---- segment + index round trip ---- */

static void fill_scan(dc_scan *s, const char *id, uint32_t n, uint32_t rows, uint32_t cols)
{
    memset(s, 0, sizeof *s);
    s->scan_id = dc_strdup(id);
    s->n_slices = n;
    s->n_files = n;
    s->ndim = 3;
    s->dims[0] = n;
    s->dims[1] = rows;
    s->dims[2] = cols;
    s->rows = rows;
    s->cols = cols;
    s->samples = 1;
    s->dtype = DC_DT_I16;
    snprintf(s->series_uid, sizeof s->series_uid, "1.2.3");
    snprintf(s->modality, sizeof s->modality, "CT");
    snprintf(s->photometric, sizeof s->photometric, "MONOCHROME2");
    snprintf(s->slice_order, sizeof s->slice_order, "position");
    s->bits_stored = 12;
    s->spacing[0] = 2.5;
    s->spacing[1] = s->spacing[2] = 0.5;
    for (int i = 0; i < 4; i++) s->affine[i * 4 + i] = 1;
    s->n_positions = n;
    s->slice_positions = dc_calloc(n * 3, sizeof(double));
    s->instance_numbers = dc_calloc(n, sizeof(int32_t));
    for (uint32_t k = 0; k < n; k++) {
        s->slice_positions[k * 3 + 2] = 2.5 * k;
        s->instance_numbers[k] = (int32_t)(n - k);
    }
    s->n_rescale = 1;
    s->rescale_slope = dc_malloc(sizeof(double));
    s->rescale_intercept = dc_malloc(sizeof(double));
    s->rescale_slope[0] = 1;
    s->rescale_intercept[0] = -1024;
    s->uniform_spacing = 1;
    s->warnings = dc_strdup("");
}

static void test_segment_and_index(void **state)
{
    (void)state;
    char err[DC_ERRLEN] = "";
    char *segdir = path_in("px.h5.d");
    mkdir(segdir, 0755);
    char *segpath = path_in("px.h5.d/seg_000001.h5");
    dc_h5seg *seg = dc_h5seg_create(MPI_COMM_WORLD, segpath, err, sizeof err);
    assert_non_null(seg);
    dc_scan s;
    fill_scan(&s, "folder_1.2.3", 4, 3, 5);
    dc_h5ds_opts o = {"storage/folder", 0, 0};
    int h = dc_h5seg_add_dataset(seg, &s, &o, err, sizeof err);
    assert_true(h >= 0);
    int16_t slice[15];
    for (uint32_t k = 0; k < 4; k++) {
        for (int i = 0; i < 15; i++) slice[i] = (int16_t)(k * 100 + i - 7);
        assert_int_equal(dc_h5seg_write_slice(seg, h, &s, k, slice, err, sizeof err), 0);
    }
    assert_int_equal(dc_h5seg_close(seg, err, sizeof err), 0);

    dc_h5index x;
    dc_h5index_init(&x);
    dc_h5index_put(&x, "folder_1.2.3", "px.h5.d/seg_000001.h5");
    char *idx = path_in("px.h5");
    assert_int_equal(dc_h5index_write(idx, &x, "zyx", "input: {}\n", err, sizeof err), 0);
    dc_h5index_free(&x);

    /* read back through the external link, from another working directory */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir("/"), 0);
    hid_t f = H5Fopen(idx, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "folder_1.2.3", H5P_DEFAULT);
    assert_true(d >= 0);
    int16_t all[60];
    assert_true(H5Dread(d, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, all) >= 0);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 15; i++) assert_int_equal(all[k * 15 + i], k * 100 + i - 7);
    double sp[3];
    hid_t a = H5Aopen(d, "spacing", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_DOUBLE, sp);
    H5Aclose(a);
    assert_true(sp[0] == 2.5 && sp[1] == 0.5);
    int32_t inst[4];
    a = H5Aopen(d, "instance_numbers", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_INT32, inst);
    H5Aclose(a);
    assert_int_equal(inst[0], 4);
    assert_int_equal(inst[3], 1);
    H5Dclose(d);
    H5Fclose(f);
    assert_int_equal(chdir(cwd), 0);

    /* load the index again */
    dc_h5index y;
    dc_h5index_init(&y);
    assert_int_equal(dc_h5index_load(idx, &y, err, sizeof err), 0);
    assert_int_equal(y.n, 1);
    assert_string_equal(y.segs[0], "px.h5.d/seg_000001.h5");
    dc_h5index_free(&y);

    /* pack into one self-contained file and read it without the segments */
    char *packed = path_in("packed.h5");
    assert_int_equal(dc_h5_pack(idx, packed, err, sizeof err), 0);
    f = H5Fopen(packed, H5F_ACC_RDONLY, H5P_DEFAULT);
    d = H5Dopen2(f, "folder_1.2.3", H5P_DEFAULT);
    H5O_info_t oi;
    H5Oget_info_by_name2(f, "folder_1.2.3", &oi, H5O_INFO_BASIC, H5P_DEFAULT);
    assert_int_equal(oi.type, H5O_TYPE_DATASET);
    memset(all, 0, sizeof all);
    H5Dread(d, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, all);
    assert_int_equal(all[59], 300 + 14 - 7);
    H5Dclose(d);
    H5Fclose(f);
    dc_scan_free(&s);
    free(packed);
    free(idx);
    free(segpath);
    free(segdir);
}

/* ---- CSV ---- */

/* hand-built rows own their strings (the arena is flatten.c's business) */
static void row_drop(dc_row *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->cols[i].name);
        free(r->vals[i]);
    }
    r->n = 0;
    dc_row_free(r);
}

static void row_add(dc_row *r, const char *name, const char *val)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->cols = dc_realloc(r->cols, r->cap * sizeof *r->cols);
        r->vals = dc_realloc(r->vals, r->cap * sizeof *r->vals);
    }
    memset(&r->cols[r->n], 0, sizeof r->cols[r->n]);
    r->cols[r->n].name = dc_strdup(name);
    dc_column_key_from_name(name, &r->cols[r->n]);
    r->vals[r->n] = dc_strdup(val);
    r->n++;
}

static void format_and_append(dc_csvout *c, const dc_row *rows, const char **ids, size_t n)
{
    char err[DC_ERRLEN] = "";
    const dc_row **rp = dc_malloc(n * sizeof *rp);
    for (size_t i = 0; i < n; i++) rp[i] = &rows[i];
    assert_int_equal(dc_csvout_widen(MPI_COMM_WORLD, c, rp, n, err, sizeof err), 0);
    free(rp);
    dc_buf *t = dc_calloc(n, sizeof(dc_buf));
    uint32_t *pos = dc_malloc(n * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        pos[i] = (uint32_t)i;
        dc_csv_format_row(&c->cols, ids[i], 1, &rows[i], &t[i]);
    }
    assert_int_equal(dc_csvout_append(MPI_COMM_WORLD, c, n, pos, t, n, err, sizeof err), 0);
    for (size_t i = 0; i < n; i++) dc_buf_free(&t[i]);
    free(t);
    free(pos);
}

static void test_csv_append_widen(void **state)
{
    (void)state;
    char *p = path_in("metadata_t.csv");
    unlink(p);
    dc_csvout c;
    dc_csvout_init(&c, p, 1);
    dc_row r[2];
    dc_row_init(&r[0]);
    dc_row_init(&r[1]);
    row_add(&r[0], "PatientID (0010, 0020)", "P1");
    row_add(&r[0], "Modality (0008, 0060)", "CT");
    row_add(&r[1], "PatientID (0010, 0020)", "a,\"b\"");
    const char *ids[2] = {"f_1", "f_2"};
    format_and_append(&c, r, ids, 2);
    char *got = slurp(p);
    assert_string_equal(got, "Scan ID,No. DICOMs in scan,\"Modality (0008, 0060)\",\"PatientID (0010, 0020)\"\n"
                             "f_1,1,CT,P1\n"
                             "f_2,1,,\"a,\"\"b\"\"\"\n");
    free(got);
    /* a batch with a new column in the middle rewrites the file */
    dc_row r3;
    dc_row_init(&r3);
    row_add(&r3, "StudyDate (0008, 0020)", "20200101");
    row_add(&r3, "ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)", "1.2");
    const char *id3[1] = {"f_3"};
    format_and_append(&c, &r3, id3, 1);
    got = slurp(p);
    assert_string_equal(got,
                        "Scan ID,No. DICOMs in scan,\"StudyDate (0008, 0020)\",\"Modality (0008, 0060)\","
                        "\"ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)\","
                        "\"PatientID (0010, 0020)\"\n"
                        "f_1,1,,CT,,P1\n"
                        "f_2,1,,,,\"a,\"\"b\"\"\"\n"
                        "f_3,1,20200101,,1.2,\n");
    struct stat st;
    stat(p, &st);
    assert_int_equal((uint64_t)st.st_size, c.size);
    free(got);
    row_drop(&r[0]);
    row_drop(&r[1]);
    row_drop(&r3);
    dc_csvout_free(&c);
    free(p);
}

static void test_resume_cuts_torn_tail(void **state)
{
    (void)state;
    char *meta = path_in("metadata_r.csv");
    char *unread = path_in("unreadable_files_r.csv");
    /* a kill left half a row, then NUL bytes from an unwritten range */
    FILE *f = fopen(meta, "wb");
    fputs("Scan ID,No. DICOMs in scan,\"PatientID (0010, 0020)\"\na_1,1,P1\na_2,1,\"P\n2\"\na_3,1,P", f);
    fputc(0, f);
    fputs("3\n", f);
    fclose(f);
    spit(unread, "Reason for failure,Scan ID,No. DICOMs in scan,Example file\nno pixel data,a_9,1,x.dcm\n");
    dc_config cfg;
    dc_config_init(&cfg);
    free(cfg.out_folder);
    cfg.out_folder = dc_strdup(g_dir);
    cfg.out_id = dc_strdup("r");
    dc_outputs o;
    dc_outputs_paths(&cfg, &o);
    char err[DC_ERRLEN] = "";
    assert_int_equal(dc_outputs_open(&cfg, &o, err, sizeof err), 0);
    char *got = slurp(meta);
    assert_string_equal(got, "Scan ID,No. DICOMs in scan,\"PatientID (0010, 0020)\"\na_1,1,P1\na_2,1,\"P\n2\"\n");
    free(got);
    assert_true(dc_outputs_done(&o, "a_1", 0));
    assert_true(dc_outputs_done(&o, "a_2", 0));
    assert_false(dc_outputs_done(&o, "a_3", 0));
    assert_true(dc_outputs_done(&o, "a_9", 0));
    assert_false(dc_outputs_done(&o, "a_9", 1)); /* retry_unreadable */
    assert_int_equal(o.meta.cols.n, 1);
    /* forgetting a retried unreadable scan removes its row */
    dc_strset ids;
    dc_strset_init(&ids);
    dc_strset_add(&ids, "a_9");
    assert_int_equal(dc_outputs_forget_unreadable(&o, &ids, err, sizeof err), 0);
    got = slurp(unread);
    assert_string_equal(got, "Reason for failure,Scan ID,No. DICOMs in scan,Example file\n");
    free(got);
    dc_strset_free(&ids);
    dc_outputs_free(&o);
    dc_config_free(&cfg);
    free(meta);
    free(unread);
}

static void test_resume_reconciles_index(void **state)
{
    (void)state;
    /* an index link without a row is dropped; a row without a link is removed */
    char err[DC_ERRLEN] = "";
    char *segdir = path_in("pixel_data_q.h5.d");
    mkdir(segdir, 0755);
    char *segpath = path_in("pixel_data_q.h5.d/seg_000001.h5");
    dc_h5seg *seg = dc_h5seg_create(MPI_COMM_WORLD, segpath, err, sizeof err);
    dc_scan s1, s2;
    fill_scan(&s1, "q_1", 2, 2, 2);
    fill_scan(&s2, "q_2", 2, 2, 2);
    dc_h5ds_opts o = {"q", 0, 0};
    dc_h5seg_add_dataset(seg, &s1, &o, err, sizeof err);
    dc_h5seg_add_dataset(seg, &s2, &o, err, sizeof err);
    dc_h5seg_close(seg, err, sizeof err);
    /* a garbage segment from an interrupted checkpoint */
    char *junk = path_in("pixel_data_q.h5.d/seg_000002.h5");
    spit(junk, "not hdf5");
    dc_h5index x;
    dc_h5index_init(&x);
    dc_h5index_put(&x, "q_1", "pixel_data_q.h5.d/seg_000001.h5");
    dc_h5index_put(&x, "q_2", "pixel_data_q.h5.d/seg_000001.h5");
    char *idx = path_in("pixel_data_q.h5");
    assert_int_equal(dc_h5index_write(idx, &x, "zyx", "", err, sizeof err), 0);
    dc_h5index_free(&x);
    char *meta = path_in("metadata_q.csv");
    spit(meta, "Scan ID,No. DICOMs in scan\nq_1,2\nq_3,1\n");

    dc_config cfg;
    dc_config_init(&cfg);
    free(cfg.out_folder);
    cfg.out_folder = dc_strdup(g_dir);
    cfg.out_id = dc_strdup("q");
    cfg.write_pixeldata = 1;
    dc_outputs out;
    dc_outputs_paths(&cfg, &out);
    assert_int_equal(dc_outputs_open(&cfg, &out, err, sizeof err), 0);
    char *got = slurp(meta);
    assert_string_equal(got, "Scan ID,No. DICOMs in scan\nq_1,2\n");
    free(got);
    assert_int_equal(out.index.n, 1);
    assert_true(dc_h5index_find(&out.index, "q_1") >= 0);
    assert_int_equal(out.next_seg, 3);
    assert_int_equal(access(junk, F_OK), -1); /* unreferenced: deleted */
    assert_int_equal(access(segpath, F_OK), 0);
    dc_h5index reread;
    dc_h5index_init(&reread);
    dc_h5index_load(idx, &reread, err, sizeof err);
    assert_int_equal(reread.n, 1);
    dc_h5index_free(&reread);
    dc_outputs_free(&out);
    dc_config_free(&cfg);
    dc_scan_free(&s1);
    dc_scan_free(&s2);
    free(segdir);
    free(segpath);
    free(junk);
    free(idx);
    free(meta);
}

/* checkpoints after the first apply only their own links to a copy */
static void test_index_incremental(void **state)
{
    (void)state;
    char err[DC_ERRLEN] = "";
    char *idx = path_in("inc.h5");
    dc_h5index x;
    dc_h5index_init(&x);
    dc_h5index_put(&x, "a", "inc.h5.d/seg_000001.h5");
    dc_h5index_put(&x, "b", "inc.h5.d/seg_000001.h5");
    assert_false(x.synced);
    assert_int_equal(dc_h5index_write(idx, &x, "zyx", "one", err, sizeof err), 0);
    assert_true(x.synced);
    assert_int_equal(x.pending.n, 0);
    struct stat st1;
    stat(idx, &st1);
    dc_h5index_put(&x, "c", "inc.h5.d/seg_000002.h5");
    dc_h5index_put(&x, "a", "inc.h5.d/seg_000002.h5"); /* redone: link replaced */
    dc_h5index_remove(&x, "b");
    assert_int_equal(x.pending.n, 3);
    assert_int_equal(dc_h5index_write(idx, &x, "zyx", "two", err, sizeof err), 0);
    struct stat st2;
    stat(idx, &st2);
    assert_true(st1.st_ino != st2.st_ino); /* a new file, renamed over the old one */
    dc_h5index y;
    dc_h5index_init(&y);
    assert_int_equal(dc_h5index_load(idx, &y, err, sizeof err), 0);
    assert_int_equal(y.n, 2);
    assert_true(dc_h5index_find(&y, "b") < 0);
    assert_string_equal(y.segs[dc_h5index_find(&y, "a")], "inc.h5.d/seg_000002.h5");
    assert_string_equal(y.segs[dc_h5index_find(&y, "c")], "inc.h5.d/seg_000002.h5");
    assert_file_attr(idx, "config", "two");
    dc_h5index_free(&x);
    dc_h5index_free(&y);
    free(idx);
}

/* part files: names, datasets created by their owner, drop, gzip written slice by slice */
static void test_segment_parts(void **state)
{
    (void)state;
    char *a = dc_h5seg_part_path("d/seg_000007.h5", 0), *b = dc_h5seg_part_path("d/seg_000007.h5", 12);
    assert_string_equal(a, "d/seg_000007.h5");
    assert_string_equal(b, "d/seg_000007.r12.h5");
    free(a);
    free(b);

    char err[DC_ERRLEN] = "";
    char *segdir = path_in("pp.h5.d");
    mkdir(segdir, 0755);
    for (int gz = 0; gz < 2; gz++) {
        char *segpath = dc_asprintf("%s/seg_00000%d.h5", segdir, gz + 1);
        dc_h5seg *seg = dc_h5seg_create_parts(MPI_COMM_WORLD, segpath);
        assert_string_equal(dc_h5seg_path(seg), segpath); /* rank 0's part */
        dc_scan s[3];
        fill_scan(&s[0], "p_a", 3, 2, 4);
        fill_scan(&s[1], "p_b", 2, 2, 4);
        fill_scan(&s[2], "p_c", 1, 2, 4);
        s[2].unreadable = 1;
        int32_t owners[3] = {0, 0, 0};
        char *folders[3] = {"fa", "fb", "fc"};
        int h[3];
        dc_h5ds_opts o = {NULL, gz ? 1 : 0, 0};
        assert_int_equal(dc_h5seg_add_datasets(seg, s, 3, owners, folders, &o, h, err, sizeof err), 0);
        assert_true(h[0] >= 0 && h[1] >= 0);
        assert_int_equal(h[2], -1);
        assert_int_equal(dc_h5seg_is_collective(seg, h[0]), 0); /* even compressed */
        uint64_t off, len;
        assert_int_equal(dc_h5seg_frame_extent(seg, h[0], 1, &off, &len), gz ? -1 : 0);
        int16_t slice[8];
        for (uint32_t k = 0; k < 3; k++) {
            for (int i = 0; i < 8; i++) slice[i] = (int16_t)(k * 10 + i);
            assert_int_equal(dc_h5seg_write_slice(seg, h[0], &s[0], k, slice, err, sizeof err), 0);
        }
        assert_int_equal(dc_h5seg_drop_dataset(seg, h[1], &s[1], err, sizeof err), 0);
        assert_int_equal(dc_h5seg_close(seg, err, sizeof err), 0);
        hid_t f = H5Fopen(segpath, H5F_ACC_RDONLY, H5P_DEFAULT);
        assert_true(f >= 0);
        assert_true(H5Lexists(f, "p_b", H5P_DEFAULT) == 0);
        hid_t d = H5Dopen2(f, "p_a", H5P_DEFAULT);
        int16_t all[24];
        assert_true(H5Dread(d, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, all) >= 0);
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 8; i++) assert_int_equal(all[k * 8 + i], k * 10 + i);
        assert_str_attr(d, "source_folder", "fa");
        hid_t dcpl = H5Dget_create_plist(d);
        assert_int_equal(H5Pget_layout(dcpl) == H5D_CHUNKED, gz);
        H5Pclose(dcpl);
        H5Dclose(d);
        H5Fclose(f);
        for (int i = 0; i < 3; i++) dc_scan_free(&s[i]);
        free(segpath);
    }
    /* a part whose datasets were all dropped is deleted */
    char *segpath = dc_asprintf("%s/seg_000003.h5", segdir);
    dc_h5seg *seg = dc_h5seg_create_parts(MPI_COMM_WORLD, segpath);
    dc_scan s;
    fill_scan(&s, "p_d", 1, 2, 4);
    int32_t owner = 0;
    char *folder = "fd";
    int h;
    dc_h5ds_opts o = {NULL, 0, 0};
    assert_int_equal(dc_h5seg_add_datasets(seg, &s, 1, &owner, &folder, &o, &h, err, sizeof err), 0);
    assert_int_equal(dc_h5seg_drop_dataset(seg, h, &s, err, sizeof err), 0);
    assert_int_equal(dc_h5seg_close(seg, err, sizeof err), 0);
    assert_int_equal(access(segpath, F_OK), -1);
    dc_scan_free(&s);
    free(segpath);
    free(segdir);
}

/* a checkpoint's segment spans its batches: datasets of a second batch go
 * into the same part file, a dataset closed by dc_h5seg_end_batch is
 * opened again for a later write (gzip), raw frames go through the
 * segment's one raw fd */
static void test_segment_batches(void **state)
{
    (void)state;
    char err[DC_ERRLEN] = "";
    char *segdir = path_in("pb.h5.d");
    mkdir(segdir, 0755);
    for (int gz = 0; gz < 2; gz++) {
        char *segpath = dc_asprintf("%s/seg_00000%d.h5", segdir, gz + 1);
        dc_h5seg *seg = dc_h5seg_create_parts(MPI_COMM_WORLD, segpath);
        dc_scan s[2];
        fill_scan(&s[0], "b_1", 2, 2, 4);
        fill_scan(&s[1], "b_2", 2, 2, 4);
        int32_t owner = 0;
        char *folder = "fb";
        dc_h5ds_opts o = {NULL, gz ? 1 : 0, 0};
        int h[2];
        int16_t slice[8];
        int fd = -1;
        for (int b = 0; b < 2; b++) { /* one scan per batch */
            assert_int_equal(dc_h5seg_add_datasets(seg, &s[b], 1, &owner, &folder, &o, &h[b], err, sizeof err), 0);
            for (uint32_t k = 0; k < 2; k++) {
                for (int i = 0; i < 8; i++) slice[i] = (int16_t)(b * 100 + k * 10 + i);
                uint64_t off, len;
                if (!gz) { /* raw: at the frame's offset through the segment's fd */
                    assert_int_equal(dc_h5seg_frame_extent(seg, h[b], k, &off, &len), 0);
                    assert_int_equal(len, sizeof slice);
                    int f = dc_h5seg_raw_fd(seg);
                    assert_true(f >= 0);
                    assert_true(fd < 0 || f == fd); /* opened once per segment */
                    fd = f;
                    assert_int_equal(dc_pwrite_all(f, slice, sizeof slice, off), 0);
                } else {
                    assert_int_equal(dc_h5seg_write_slice(seg, h[b], &s[b], k, slice, err, sizeof err), 0);
                }
            }
            if (gz && b == 0) { /* written after its batch ended: opened again */
                dc_h5seg_end_batch(seg);
                for (int i = 0; i < 8; i++) slice[i] = (int16_t)(50 + i);
                assert_int_equal(dc_h5seg_write_slice(seg, h[0], &s[0], 1, slice, err, sizeof err), 0);
            }
            dc_h5seg_end_batch(seg);
        }
        assert_int_equal(dc_h5seg_close(seg, err, sizeof err), 0);
        hid_t f = H5Fopen(segpath, H5F_ACC_RDONLY, H5P_DEFAULT);
        assert_true(f >= 0);
        for (int b = 0; b < 2; b++) {
            hid_t d = H5Dopen2(f, s[b].scan_id, H5P_DEFAULT);
            int16_t all[16];
            assert_true(H5Dread(d, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, all) >= 0);
            for (int k = 0; k < 2; k++)
                for (int i = 0; i < 8; i++)
                    assert_int_equal(all[k * 8 + i], gz && b == 0 && k == 1 ? 50 + i : b * 100 + k * 10 + i);
            assert_str_attr(d, "scan_id", s[b].scan_id);
            H5Dclose(d);
        }
        H5Fclose(f);
        for (int i = 0; i < 2; i++) dc_scan_free(&s[i]);
        free(segpath);
    }
    free(segdir);
}

static int same_links(const char *path, const dc_h5index *want)
{
    dc_h5index y;
    dc_h5index_init(&y);
    char err[DC_ERRLEN] = "";
    int same = dc_h5index_load(path, &y, err, sizeof err) == 0 && y.n == want->n;
    for (size_t i = 0; same && i < want->n; i++) {
        long j = dc_h5index_find(&y, want->scan_ids[i]);
        same = j >= 0 && strcmp(y.segs[j], want->segs[i]) == 0;
    }
    dc_h5index_free(&y);
    return same;
}

/* write w's n links ("<id>_<w>_<i>" -> "<seg>.h5.d/seg_<w>.h5") into the
 * run's map x and the oracle all */
static void put_links(dc_h5index *x, dc_h5index *all, const char *id, const char *seg, int w,
                      int n)
{
    char name[64], file[64];
    snprintf(file, sizeof file, "%s.h5.d/seg_%06d.h5", seg, w);
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s_%d_%d", id, w, i);
        dc_h5index_put(x, name, file);
        dc_h5index_put(all, name, file);
    }
}

/* from the second write on, the spare (one write behind) is brought up to
 * date and renamed over the live file, which becomes the spare */
static void test_index_spare(void **state)
{
    (void)state;
    char err[DC_ERRLEN] = "";
    char *idx = path_in("sp.h5"), *spare = path_in("sp.h5.spare");
    dc_h5index x, all, before; /* x: what a run holds; all: every link (the oracle) */
    dc_h5index_init(&x);
    x.spare_bytes_per_link = 0; /* the spare always, however small the index */
    dc_h5index_init(&all);
    dc_h5index_init(&before);
    struct stat st_live, st_spare;
    ino_t spare_ino = 0;
    for (int w = 0; w < 6; w++) {
        put_links(&x, &all, "s", "sp", w, 3);
        if (w == 2) {
            dc_h5index_remove(&x, "s_0_1");
            dc_h5index_remove(&all, "s_0_1");
        }
        if (w == 4) { /* redone after the map forgot it: the link is replaced */
            dc_h5index_put(&x, "s_1_0", "sp.h5.d/seg_000004.h5");
            dc_h5index_put(&all, "s_1_0", "sp.h5.d/seg_000004.h5");
        }
        assert_int_equal(dc_h5index_write(idx, &x, "zyx", w < 3 ? "c1" : "c2", err, sizeof err), 0);
        assert_true(same_links(idx, &all));
        assert_int_equal(stat(idx, &st_live), 0);
        if (w >= 1) {
            /* the spare holds what the live file held before this write */
            assert_int_equal(stat(spare, &st_spare), 0);
            assert_true(same_links(spare, &before));
            assert_true(x.spare_ok);
        }
        if (w >= 2) assert_true(st_live.st_ino == spare_ino); /* the old spare, updated */
        if (w >= 1) spare_ino = st_spare.st_ino;
        dc_h5index_free(&before);
        dc_h5index_init(&before);
        for (size_t i = 0; i < all.n; i++) dc_h5index_put(&before, all.scan_ids[i], all.segs[i]);
        if (w >= 2) { /* from here the run forgets what the files hold */
            dc_h5index_trim(&x);
            assert_int_equal(x.n, w == 4 ? 4 : 3); /* this write's links only */
        }
    }
    /* the config attribute follows the last write */
    assert_file_attr(idx, "config", "c2");
    /* a loaded index does not trust the spare: the next write copies */
    dc_h5index y;
    dc_h5index_init(&y);
    assert_int_equal(dc_h5index_load(idx, &y, err, sizeof err), 0);
    assert_true(same_links(idx, &y) && y.n == all.n);
    assert_false(y.spare_ok);
    dc_h5index_put(&y, "s_9_0", "sp.h5.d/seg_000009.h5");
    assert_int_equal(dc_h5index_write(idx, &y, "zyx", "c2", err, sizeof err), 0);
    assert_true(same_links(idx, &y));
    assert_true(same_links(spare, &all));
    /* a trimmed map cannot rebuild a lost index: an error, not a partial file */
    unlink(idx);
    dc_h5index_put(&x, "s_8_0", "sp.h5.d/seg_000008.h5");
    assert_int_equal(dc_h5index_write(idx, &x, "zyx", "c2", err, sizeof err), -1);
    assert_int_equal(access(idx, F_OK), -1);
    dc_h5index_free(&x);
    dc_h5index_free(&y);
    dc_h5index_free(&all);
    dc_h5index_free(&before);
    free(idx);
    free(spare);
}

/* a map trimmed when the spare will not pay (a small index, the default
 * bytes per link) keeps no link of the last write, nor its names: the next
 * write copies the live file and adds the new links, every link stays; the
 * memory count follows (dc_h5index_mem) */
static void test_index_trim_copy(void **state)
{
    (void)state;
    char err[DC_ERRLEN] = "";
    char *idx = path_in("tc.h5");
    dc_h5index x, all;
    dc_h5index_init(&x);
    dc_h5index_init(&all);
    size_t mem0 = dc_h5index_mem(&x);
    for (int w = 0; w < 4; w++) {
        put_links(&x, &all, "t", "tc", w, 50);
        assert_true(dc_h5index_mem(&x) >= mem0 + 50 * (strlen("t_0_00") + strlen("tc.h5.d/seg_000000.h5")));
        assert_int_equal(dc_h5index_write(idx, &x, "zyx", "c", err, sizeof err), 0);
        assert_true(same_links(idx, &all));
        assert_true(x.live_bytes > 0);
        dc_h5index_trim(&x);
        assert_int_equal(x.n, 0); /* neither this write's links nor older ones */
        assert_int_equal(x.prev_pending.n, 0);
        assert_false(x.spare_ok);
        assert_int_equal(x.mem, 0); /* only the hash table's slots are left */
    }
    dc_h5index_free(&x);
    dc_h5index_free(&all);
    free(idx);
}

static void test_colkey(void **state)
{
    (void)state;
    dc_column c;
    dc_column_key_from_name("ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)", &c);
    assert_int_equal(c.depth, 2);
    assert_int_equal(c.path[0], 0x00081140);
    assert_int_equal(c.path[1], 0x00081155);
    dc_column_key_from_name("Private (0029, 1010)", &c);
    assert_int_equal(c.depth, 1);
    assert_int_equal(c.path[0], 0x00291010);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    snprintf(g_dir, sizeof g_dir, "/tmp/dc_test_output_%d", (int)getpid());
    mkdir(g_dir, 0755);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_map),
        cmocka_unit_test(test_segment_and_index),
        cmocka_unit_test(test_csv_append_widen),
        cmocka_unit_test(test_resume_cuts_torn_tail),
        cmocka_unit_test(test_resume_reconciles_index),
        cmocka_unit_test(test_index_incremental),
        cmocka_unit_test(test_segment_parts),
        cmocka_unit_test(test_segment_batches),
        cmocka_unit_test(test_index_spare),
        cmocka_unit_test(test_index_trim_copy),
        cmocka_unit_test(test_colkey),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char *cmd = dc_asprintf("rm -rf %s", g_dir);
    if (system(cmd) != 0) rc = rc ? rc : 1;
    free(cmd);
    MPI_Finalize();
    return rc;
}
