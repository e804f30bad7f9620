/*
 * test_hostile.c - hostile input (issue 6), every bug found by fuzzing or by
 * the fault tests, each with the test that failed before its fix:
 *   - every file in tests/fuzz/regressions/ runs through the fuzz target's
 *     whole per-file path (tests/fuzz/fuzz_one.c: parse, record, CSV row,
 *     decode, with its invariants) and gives the outcome listed in
 *     tests/fuzz/regressions/EXPECT (a file without a line there fails);
 *   - a UID with '/' or bytes that are not UTF-8 gives a record UID fit for a
 *     Scan ID and an HDF5 dataset name ('/' made the dataset impossible to
 *     create and stopped the whole crawl);
 *   - a path that is a FIFO is refused at once by the parser and by the
 *     decoder's reopen, never blocks in open();
 *   - the spreadsheet formula guard and the \xNN escaping of non-UTF-8
 *     bytes in CSV fields (csv.c), exact bytes.
 * Run from the repository root (run_unit.sh does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fuzz/fuzz_one.c"

#define REG_DIR "tests/fuzz/regressions"

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    dc_buf b;
    dc_buf_init(&b);
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) dc_buf_append(&b, chunk, k);
    fclose(f);
    *n = b.len;
    return (uint8_t *)dc_buf_steal(&b);
}

/* the outcome of one regression input, as EXPECT words it */
static void check_expectation(const char *name, const uint8_t *data, size_t n, const char *stage,
                              const char *want)
{
    char err[DC_ERRLEN] = "", why[DC_ERRLEN] = "";
    dc_parse_opts po;
    dc_parse_opts_default(&po);
    po.walk_fragments = 1;
    dc_dataset ds;
    dc_dataset_init(&ds);
    int rc = dc_parse_memory(data, n, &po, &ds, err, sizeof err);
    if (!strcmp(stage, "parse")) {
        if (rc != DC_PARSE_ERROR || !strstr(err, want))
            fail_msg("%s: parse gave %d \"%s\", want an error with \"%s\"", name, rc, err, want);
        dc_dataset_free(&ds);
        return;
    }
    if (rc != DC_PARSE_OK) fail_msg("%s: parse failed: %s", name, err);
    dc_record rec;
    dc_record_init(&rec);
    dc_record_from_dataset(&ds, &rec);
    dc_pixel_desc pd;
    dc_pixel_desc_from_record(&rec, &pd);
    int size_rc = dc_pixel_check_size(&pd, n, FUZZ_MAX_IMAGE, why, sizeof why);
    if (!strcmp(stage, "size")) {
        if (size_rc == 0 || !strstr(why, want))
            fail_msg("%s: size check gave \"%s\", want \"%s\"", name, why, want);
    } else {
        if (size_rc != 0) fail_msg("%s: size check refused: %s", name, why);
        int dt = dc_output_dtype(&pd, 0);
        /* values the decoder must refuse before writing get a small buffer */
        int refused = dc_pixel_value_size(&pd) == 0 || dc_pixel_frame_values(&pd) == 0;
        void *out = calloc(refused ? 16 : dc_pixel_frame_values(&pd) + 1, (size_t)dc_dtype_size(dt));
        rc = dc_decode_frames(&ds, &pd, 0, 1, dt, 1.0, 0.0, out, err, sizeof err);
        if (!strcmp(stage, "decode") && (rc == 0 || !strstr(err, want)))
            fail_msg("%s: decode gave %d \"%s\", want a failure with \"%s\"", name, rc, err, want);
        if (!strcmp(stage, "ok") && rc != 0) fail_msg("%s: decode failed: %s", name, err);
        free(out);
    }
    dc_record_free(&rec);
    dc_dataset_free(&ds);
}

static void test_regressions(void **state)
{
    (void)state;
    size_t n_expect;
    char *expect = (char *)slurp(REG_DIR "/EXPECT", &n_expect);
    assert_non_null(expect);
    DIR *d = opendir(REG_DIR);
    assert_non_null(d);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "EXPECT")) continue;
        char *path = dc_asprintf("%s/%s", REG_DIR, de->d_name);
        size_t n;
        uint8_t *data = slurp(path, &n);
        assert_non_null(data);
        dc_fuzz_one(data, n); /* the fuzz target's invariants abort on a violation */
        char *key = dc_asprintf("\n%s\t", de->d_name), *line = strstr(expect, key);
        if (!line) fail_msg("%s has no line in %s/EXPECT", de->d_name, REG_DIR);
        char stage[16] = "", want[256] = "";
        if (sscanf(line + strlen(key), "%15[^\t]\t%255[^\n]", stage, want) != 2)
            fail_msg("EXPECT line of %s is not: name TAB stage TAB reason", de->d_name);
        check_expectation(de->d_name, data, n, stage, want);
        printf("  %s: %s \"%s\"\n", de->d_name, stage, want);
        free(key);
        free(data);
        free(path);
        files++;
    }
    closedir(d);
    free(expect);
    assert_true(files >= 1);
}

/* ---- UIDs that would break Scan IDs and HDF5 names ---- */

/* a minimal explicit VR little endian file with one SOPInstanceUID value */
static size_t tiny_file(uint8_t *buf, const char *uid, size_t uid_len)
{
    size_t k = 0;
    memset(buf, 0, 128);
    k = 128;
    memcpy(buf + k, "DICM", 4);
    k += 4;
    static const uint8_t ts_el[] = {0x02, 0x00, 0x10, 0x00, 'U', 'I', 20, 0};
    memcpy(buf + k, ts_el, sizeof ts_el);
    k += sizeof ts_el;
    memcpy(buf + k, "1.2.840.10008.1.2.1\0", 20);
    k += 20;
    size_t n = uid_len + (uid_len & 1);
    const uint8_t sop_el[] = {0x08, 0x00, 0x18, 0x00, 'U', 'I', (uint8_t)n, 0};
    memcpy(buf + k, sop_el, sizeof sop_el);
    k += sizeof sop_el;
    memcpy(buf + k, uid, uid_len);
    if (uid_len & 1) buf[k + uid_len] = 0;
    return k + n;
}

static void test_uids_fit_scan_ids(void **state)
{
    (void)state;
    const struct {
        const char *uid;
        const char *want;
    } cases[] = {{"1.2.3.4", "1.2.3.4"},
                 {"1.2/3.4", "1.2_3.4"},
                 {"../../x", ".._.._x"},
                 {"1.2\xff\xfe.3", "1.2__.3"},
                 {"1.\xc3\xa9.2", "1.\xc3\xa9.2"}, /* valid UTF-8 stays */
                 {"1.\xc3", "1._"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[512];
        size_t n = tiny_file(buf, cases[i].uid, strlen(cases[i].uid));
        dc_dataset ds;
        dc_dataset_init(&ds);
        char err[DC_ERRLEN];
        assert_int_equal(dc_parse_memory(buf, n, NULL, &ds, err, sizeof err), DC_PARSE_OK);
        dc_record r;
        dc_record_init(&r);
        dc_record_from_dataset(&ds, &r);
        assert_string_equal(r.sop_uid, cases[i].want);
        dc_record_free(&r);
        dc_dataset_free(&ds);
    }
}

/* ---- FIFOs ---- */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_hostile: open() of a FIFO blocked\n";
    if (write(2, msg, sizeof msg - 1) < 0) _exit(3);
    _exit(2);
}

static void test_fifo_never_blocks(void **state)
{
    (void)state;
    char dir[] = "/tmp/dc_test_hostile_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *fifo = dc_asprintf("%s/f.dcm", dir);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    signal(SIGALRM, on_alarm);
    alarm(10);
    dc_dataset ds;
    dc_dataset_init(&ds);
    char err[DC_ERRLEN] = "";
    assert_int_equal(dc_parse_file(fifo, NULL, &ds, err, sizeof err), DC_PARSE_ERROR);
    assert_string_equal(err, "not a regular file");
    /* a file parsed, then replaced by a FIFO before its pixels are read */
    uint8_t buf[512];
    size_t n = tiny_file(buf, "1.2.3", 5);
    static const uint8_t px[] = {0x28, 0x00, 0x10, 0x00, 'U', 'S', 2, 0, 2, 0,
                                 0x28, 0x00, 0x11, 0x00, 'U', 'S', 2, 0, 2, 0,
                                 0xe0, 0x7f, 0x10, 0x00, 'O', 'B', 0, 0, 4, 0, 0, 0, 1, 2, 3, 4};
    memcpy(buf + n, px, sizeof px);
    n += sizeof px;
    char *file = dc_asprintf("%s/g.dcm", dir);
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
    assert_int_equal(dc_parse_file(file, NULL, &ds, err, sizeof err), DC_PARSE_OK);
    assert_int_equal(unlink(file), 0);
    assert_int_equal(mkfifo(file, 0644), 0);
    dc_pixel_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.rows = pd.cols = 2;
    pd.samples = pd.frames = 1;
    pd.bits_alloc = pd.bits_stored = 8;
    pd.pixel_kind = DC_PIX_INT;
    snprintf(pd.photometric, sizeof pd.photometric, "MONOCHROME2");
    uint8_t out[4];
    assert_int_equal(dc_decode_frames(&ds, &pd, 0, 1, DC_DT_U8, 1, 0, out, err, sizeof err), -1);
    assert_string_equal(err, "not a regular file");
    alarm(0);
    dc_dataset_free(&ds);
    unlink(file);
    unlink(fifo);
    rmdir(dir);
    free(file);
    free(fifo);
}

/* ---- CSV: formula guard, non-UTF-8 bytes ---- */

static void test_formula_guard(void **state)
{
    (void)state;
    const char *formula[] = {"=1+1", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)",
                             "\tx", "\r=1", "-", "+", "=", "-1\\x", "-1e", "--1", "-1.2.3", "-inf2"};
    const char *plain[] = {"",     "1",      "-1",       "+1.5",      "-1.5e-3",     "-0.0",
                           "-inf", "nan",    "-12\\4\\-5", "-1\\+2.5e3", "a=b",         "'=1",
                           " =1",  "x-1",    "-.5",      "+5.",       "DUPLICATE TAGS IN DICOM:=1/2"};
    for (size_t i = 0; i < sizeof formula / sizeof formula[0]; i++)
        if (!dc_csv_is_formula(formula[i])) fail_msg("\"%s\" not seen as a formula", formula[i]);
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (dc_csv_is_formula(plain[i])) fail_msg("\"%s\" seen as a formula", plain[i]);

    /* rows: only values change, Scan IDs never */
    dc_row row;
    dc_row_init(&row);
    uint8_t buf[512];
    size_t n = tiny_file(buf, "1.2.3", 5);
    static const uint8_t pn[] = {0x10, 0x00, 0x10, 0x00, 'P', 'N', 8, 0, '=', '1', '+', '1', ',', 'x', ' ', ' ',
                                 0x20, 0x00, 0x32, 0x00, 'D', 'S', 6, 0, '-', '1', '\\', '-', '2', ' '};
    memcpy(buf + n, pn, sizeof pn);
    n += sizeof pn;
    dc_dataset ds;
    dc_dataset_init(&ds);
    char err[DC_ERRLEN];
    assert_int_equal(dc_parse_memory(buf, n, NULL, &ds, err, sizeof err), DC_PARSE_OK);
    /* csv_style seed: the DS list is "[-1, -2]", never taken for a formula */
    dc_flatten(&ds, &row);
    dc_colset cs;
    dc_colset_init(&cs);
    for (size_t i = 0; i < row.n; i++) dc_colset_add(&cs, &row.cols[i]);
    dc_colset_sort(&cs);
    dc_buf b;
    dc_buf_init(&b);
    dc_csv_set_formula_guard(1);
    dc_csv_format_row(&cs, "=scan", 1, &row, &b);
    dc_csv_set_formula_guard(0);
    assert_string_equal(dc_buf_cstr(&b), "=scan,1,1.2.3,\"'=1+1,x\",\"[-1, -2]\"\n");
    dc_buf_reset(&b);
    dc_colset_free(&cs);
    dc_row_free(&row);
    dc_row_init(&row);
    dc_colset_init(&cs);
    dc_flatten_set_style(DC_CSV_STYLE_DICOM);
    dc_flatten(&ds, &row);
    dc_flatten_set_style(DC_CSV_STYLE_SEED);
    for (size_t i = 0; i < row.n; i++) dc_colset_add(&cs, &row.cols[i]);
    dc_colset_sort(&cs);
    dc_csv_format_row(&cs, "=scan", 1, &row, &b);
    assert_string_equal(dc_buf_cstr(&b), "=scan,1,1.2.3,\"=1+1,x\",-1\\-2\n");
    dc_buf_reset(&b);
    assert_int_equal(dc_csv_formula_guard(), 0);
    dc_csv_set_formula_guard(1);
    dc_csv_format_row(&cs, "=scan", 1, &row, &b);
    dc_csv_set_formula_guard(0);
    assert_string_equal(dc_buf_cstr(&b), "=scan,1,1.2.3,\"'=1+1,x\",-1\\-2\n");
    dc_buf_free(&b);
    dc_colset_free(&cs);
    dc_row_free(&row);
    dc_dataset_free(&ds);
}

static void test_csv_utf8(void **state)
{
    (void)state;
    const char *in[][2] = {
        {"plain", "plain"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},               /* valid: kept */
        {"caf\xe9", "caf\\xe9"},                      /* Latin-1 byte */
        {"a\xff\xfe,b", "\"a\\xff\\xfe,b\""},         /* escaped, then quoted */
        {"\xc3", "\\xc3"},                            /* cut sequence */
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},          /* surrogate */
        {"\xc0\xaf", "\\xc0\\xaf"},                   /* overlong '/' */
        {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, /* beyond U+10FFFF */
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},     /* 4-byte, valid */
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        dc_buf b;
        dc_buf_init(&b);
        dc_csv_field(&b, in[i][0]);
        assert_string_equal(dc_buf_cstr(&b), in[i][1]);
        dc_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regressions),
        cmocka_unit_test(test_uids_fit_scan_ids),
        cmocka_unit_test(test_fifo_never_blocks),
        cmocka_unit_test(test_formula_guard),
        cmocka_unit_test(test_csv_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
