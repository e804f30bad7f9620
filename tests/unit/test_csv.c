/*
 * test_csv.c - RFC 4180 text (csv.c): field quoting, record parsing
 * (complete, incomplete, invalid records), the column set (hash index,
 * sorting by tag path, order-independence), header and row formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <limits.h>

#include "dc_charset.h"
#include "dc_colkey.h"
#include "dc_csv.h"
#include "dc_names.h"

static void expect_field(const char *in, const char *want)
{
    dc_buf b;
    dc_buf_init(&b);
    dc_csv_field(&b, in);
    assert_string_equal(dc_buf_cstr(&b), want);
    dc_buf_free(&b);
}

static void test_field_quoting(void **state)
{
    (void)state;
    expect_field("plain", "plain");
    expect_field("", "");
    expect_field(NULL, "");
    expect_field("with space", "with space");
    expect_field("a,b", "\"a,b\"");
    expect_field("say \"hi\"", "\"say \"\"hi\"\"\"");
    expect_field("\"", "\"\"\"\"");
    expect_field("line\nbreak", "\"line\nbreak\"");
    expect_field("cr\rhere", "\"cr\rhere\"");
    expect_field("back\\slash", "back\\slash");
    expect_field("DUPLICATE TAGS IN DICOM:a/b", "DUPLICATE TAGS IN DICOM:a/b");
    expect_field("Müller^Jörg", "Müller^Jörg");
    expect_field("'single'", "'single'");
    expect_field(",", "\",\"");
}

static void test_fieldn_embedded(void **state)
{
    (void)state;
    dc_buf b;
    dc_buf_init(&b);
    dc_csv_fieldn(&b, "ab,cd", 2); /* only "ab" */
    assert_string_equal(dc_buf_cstr(&b), "ab");
    dc_buf_reset(&b);
    dc_csv_fieldn(&b, "x\"y,zzz", 4);
    assert_string_equal(dc_buf_cstr(&b), "\"x\"\"y,\"");
    dc_buf_free(&b);
}

/* parse p (whole string), expecting rc and the fields joined by '|' */
static void expect_parse(const char *p, long rc, const char *joined)
{
    dc_strvec f;
    dc_strvec_init(&f);
    long r = dc_csv_parse_record(p, strlen(p), &f);
    assert_int_equal(r, rc);
    if (rc > 0) {
        dc_buf j;
        dc_buf_init(&j);
        for (size_t i = 0; i < f.n; i++) {
            if (i) dc_buf_putc(&j, '|');
            dc_buf_puts(&j, f.v[i]);
        }
        assert_string_equal(dc_buf_cstr(&j), joined);
        dc_buf_free(&j);
    } else {
        assert_int_equal(f.n, 0); /* nothing left behind */
    }
    dc_strvec_free(&f);
}

static void test_parse_records(void **state)
{
    (void)state;
    expect_parse("a,b,c\n", 6, "a|b|c");
    expect_parse("a,b,c\nnext,row\n", 6, "a|b|c");
    expect_parse("\n", 1, "");
    expect_parse(",\n", 2, "|");
    expect_parse("a,,c\n", 5, "a||c");
    expect_parse("\"a,b\",c\n", 8, "a,b|c");
    expect_parse("\"say \"\"hi\"\"\",x\n", 15, "say \"hi\"|x");
    expect_parse("\"multi\nline\",x\n", 15, "multi\nline|x");
    expect_parse("\"\"\n", 3, "");
    expect_parse("a,b\r\n", 5, "a|b");
    expect_parse("\"q\"\r\n", 5, "q");
    expect_parse("Müller,1\n", 10, "Müller|1");
}

static void test_parse_incomplete(void **state)
{
    (void)state;
    expect_parse("", 0, NULL);
    expect_parse("a,b", 0, NULL);      /* no newline yet */
    expect_parse("a,\"b\nc", 0, NULL); /* open quote */
    expect_parse("\"abc\"", 0, NULL);  /* closing quote at the end: "" or end? */
    expect_parse("\"ab\"\"", 0, NULL);
    expect_parse("a,b\r", 0, NULL);
}

static void test_parse_invalid(void **state)
{
    (void)state;
    const char nul[] = {'a', ',', 'b', '\0', 'c', '\n'};
    dc_strvec f;
    dc_strvec_init(&f);
    assert_int_equal(dc_csv_parse_record(nul, sizeof nul, &f), -1);
    const char nulq[] = {'"', 'a', '\0', '"', '\n'};
    assert_int_equal(dc_csv_parse_record(nulq, sizeof nulq, &f), -1);
    assert_int_equal(f.n, 0);
    dc_strvec_free(&f);
    expect_parse("ab\"c\n", -1, NULL);     /* quote inside an unquoted field */
    expect_parse("\"ab\"c,d\n", -1, NULL); /* text after a closing quote */
    expect_parse("a,b\rc\n", -1, NULL);    /* bare CR */
}

static void test_parse_appends(void **state)
{
    (void)state;
    dc_strvec f;
    dc_strvec_init(&f);
    dc_strvec_push(&f, "keep");
    assert_int_equal(dc_csv_parse_record("x,y\n", 4, &f), 4);
    assert_int_equal(f.n, 3);
    assert_string_equal(f.v[0], "keep");
    assert_string_equal(f.v[2], "y");
    assert_int_equal(dc_csv_parse_record("x,\"y", 4, &f), 0);
    assert_int_equal(f.n, 3);
    dc_strvec_free(&f);
}

/* every quoting case survives format -> parse */
static void test_roundtrip(void **state)
{
    (void)state;
    const char *vals[] = {"",       "a",      "a,b",    "\"", "x\"\"y",
                          "l1\nl2", "c\r\nd", "tail\"", "\\", " lead"};
    size_t n = sizeof vals / sizeof vals[0];
    dc_buf b;
    dc_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        if (i) dc_buf_putc(&b, ',');
        dc_csv_field(&b, vals[i]);
    }
    dc_buf_putc(&b, '\n');
    dc_strvec f;
    dc_strvec_init(&f);
    assert_int_equal(dc_csv_parse_record(b.data, b.len, &f), (long)b.len);
    assert_int_equal(f.n, n);
    for (size_t i = 0; i < n; i++) assert_string_equal(f.v[i], vals[i]);
    dc_strvec_free(&f);
    dc_buf_free(&b);
}

static dc_column col(const char *name, int depth, uint32_t t0, uint32_t t1)
{
    dc_column c;
    memset(&c, 0, sizeof c);
    c.name = (char *)name;
    c.depth = (uint8_t)depth;
    c.path[0] = t0;
    c.path[1] = t1;
    return c;
}

static void test_column_cmp(void **state)
{
    (void)state;
    dc_column a = col("PatientID (0010, 0020)", 1, DC_TAG(0x0010, 0x0020), 0);
    dc_column b = col("PatientName (0010, 0010)", 1, DC_TAG(0x0010, 0x0010), 0);
    dc_column s = col("ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)", 2,
                      DC_TAG(0x0008, 0x1140), DC_TAG(0x0008, 0x1155));
    dc_column p = col("ReferencedSOPInstanceUID (0008, 1155)", 1, DC_TAG(0x0008, 0x1155), 0);
    dc_column g = col("Private (0009, 1001)", 1, DC_TAG(0x0009, 0x1001), 0);
    assert_true(dc_column_cmp(&b, &a) < 0); /* element order */
    assert_true(dc_column_cmp(&s, &p) < 0); /* (0008,1140)/.. before (0008,1155) */
    assert_true(dc_column_cmp(&g, &b) < 0); /* numeric group order: 0009 < 0010 */
    assert_true(dc_column_cmp(&a, &a) == 0);
    dc_column top = col("X (0008, 1140)", 1, DC_TAG(0x0008, 0x1140), 0);
    assert_true(dc_column_cmp(&top, &s) < 0); /* a prefix sorts first */
    dc_column n1 = col("A (0009, 1001)", 1, DC_TAG(0x0009, 0x1001), 0);
    assert_true(dc_column_cmp(&n1, &g) < 0); /* same path: by name */
    dc_column hi = col("Unknown (ffff, 0001)", 1, 0xFFFF0001u, 0);
    assert_true(dc_column_cmp(&a, &hi) < 0); /* unsigned compare */
}

static void test_colset(void **state)
{
    (void)state;
    dc_colset cs;
    dc_colset_init(&cs);
    assert_int_equal(dc_colset_find(&cs, "nothing"), -1);
    char name[64];
    for (int i = 999; i >= 0; i--) { /* enough to rehash several times */
        snprintf(name, sizeof name, "Tag%d (%04x, %04x)", i, 0x0010, i);
        dc_column c = col(name, 1, DC_TAG(0x0010, i), 0);
        assert_int_equal(dc_colset_add(&cs, &c), 1);
    }
    dc_column again = col("Tag5 (0010, 0005)", 1, DC_TAG(0x0010, 5), 0);
    assert_int_equal(dc_colset_add(&cs, &again), 0);
    assert_int_equal(cs.n, 1000);
    assert_int_equal(dc_colset_find(&cs, "Tag999 (0010, 03e7)"), 0); /* order added */
    assert_int_equal(dc_colset_find(&cs, "Tag0 (0010, 0000)"), 999);
    dc_colset_sort(&cs);
    assert_string_equal(cs.cols[0].name, "Tag0 (0010, 0000)");
    assert_string_equal(cs.cols[999].name, "Tag999 (0010, 03e7)");
    assert_int_equal(dc_colset_find(&cs, "Tag999 (0010, 03e7)"), 999);
    assert_int_equal(dc_colset_find(&cs, "Tag500 (0010, 01f4)"), 500);
    assert_int_equal(dc_colset_find(&cs, "Tag500"), -1);
    dc_colset_free(&cs);
}

static void test_colset_copies_names(void **state)
{
    (void)state;
    dc_colset cs;
    dc_colset_init(&cs);
    char name[32] = "PatientID (0010, 0020)";
    dc_column c = col(name, 1, DC_TAG(0x0010, 0x0020), 0);
    dc_colset_add(&cs, &c);
    memset(name, 'x', sizeof name - 1);
    assert_int_equal(dc_colset_find(&cs, "PatientID (0010, 0020)"), 0);
    assert_string_equal(cs.cols[0].name, "PatientID (0010, 0020)");
    dc_colset_free(&cs);
}

/* the sorted header does not depend on the order columns were added */
static void test_colset_order_independent(void **state)
{
    (void)state;
    dc_column cols[] = {
        col("PatientName (0010, 0010)", 1, DC_TAG(0x0010, 0x0010), 0),
        col("ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)", 2,
            DC_TAG(0x0008, 0x1140), DC_TAG(0x0008, 0x1155)),
        col("Modality (0008, 0060)", 1, DC_TAG(0x0008, 0x0060), 0),
        col("Private (0009, 1001)", 1, DC_TAG(0x0009, 0x1001), 0),
        col("ReferencedImageSequence_ReferencedSOPClassUID (0008, 1150)", 2, DC_TAG(0x0008, 0x1140),
            DC_TAG(0x0008, 0x1150)),
    };
    /* names hold ", " so every one is quoted */
    const char *want = "Scan ID,No. DICOMs in scan,\"Modality (0008, 0060)\","
                       "\"ReferencedImageSequence_ReferencedSOPClassUID (0008, 1150)\","
                       "\"ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)\","
                       "\"Private (0009, 1001)\",\"PatientName (0010, 0010)\"\n";
    for (int rot = 0; rot < 5; rot++) {
        dc_colset cs;
        dc_colset_init(&cs);
        for (int i = 0; i < 5; i++) dc_colset_add(&cs, &cols[(i + rot) % 5]);
        dc_colset_sort(&cs);
        dc_buf b;
        dc_buf_init(&b);
        dc_csv_format_header(&cs, &b);
        assert_string_equal(dc_buf_cstr(&b), want);
        dc_buf_free(&b);
        dc_colset_free(&cs);
    }
}

static void test_header_and_row(void **state)
{
    (void)state;
    dc_colset cs;
    dc_colset_init(&cs);
    dc_column c1 = col("Modality (0008, 0060)", 1, DC_TAG(0x0008, 0x0060), 0);
    dc_column c2 = col("Odd, \"name\" (0009, 1001)", 1, DC_TAG(0x0009, 0x1001), 0);
    dc_column c3 = col("PatientName (0010, 0010)", 1, DC_TAG(0x0010, 0x0010), 0);
    dc_colset_add(&cs, &c3);
    dc_colset_add(&cs, &c1);
    dc_colset_add(&cs, &c2);
    dc_colset_sort(&cs);
    dc_buf b;
    dc_buf_init(&b);
    dc_csv_format_header(&cs, &b);
    assert_string_equal(dc_buf_cstr(&b),
                        "Scan ID,No. DICOMs in scan,\"Modality (0008, 0060)\","
                        "\"Odd, \"\"name\"\" (0009, 1001)\",\"PatientName (0010, 0010)\"\n");

    /* a row with the columns in another order, one missing, one unknown */
    dc_column rc[3] = {c3, c1, col("Extra (0011, 0010)", 1, DC_TAG(0x0011, 0x0010), 0)};
    char *rv[3] = {"Doe^John", "CT", "x"};
    dc_row row;
    dc_row_init(&row);
    row.cols = rc;
    row.vals = rv;
    row.n = 3;
    dc_buf_reset(&b);
    size_t missing = dc_csv_format_row(&cs, "folder_1.2.3", 42, &row, &b);
    assert_int_equal(missing, 1);
    assert_string_equal(dc_buf_cstr(&b), "folder_1.2.3,42,CT,,Doe^John\n");

    /* values that need quoting, names-only rows (vals NULL) */
    rv[0] = "Doe, \"Jr\"";
    rv[1] = "line\nbreak";
    dc_buf_reset(&b);
    dc_csv_format_row(&cs, "a,b", 1, &row, &b);
    assert_string_equal(dc_buf_cstr(&b), "\"a,b\",1,\"line\nbreak\",,\"Doe, \"\"Jr\"\"\"\n");
    row.vals = NULL;
    dc_buf_reset(&b);
    dc_csv_format_row(&cs, "s", 0, &row, &b);
    assert_string_equal(dc_buf_cstr(&b), "s,0,,,\n");

    /* a formatted row parses back to the same fields */
    row.vals = rv;
    dc_buf_reset(&b);
    dc_csv_format_row(&cs, "id", 7, &row, &b);
    dc_strvec f;
    dc_strvec_init(&f);
    assert_int_equal(dc_csv_parse_record(b.data, b.len, &f), (long)b.len);
    assert_int_equal(f.n, 5);
    assert_string_equal(f.v[2], "line\nbreak");
    assert_string_equal(f.v[4], "Doe, \"Jr\"");
    dc_strvec_free(&f);
    dc_buf_free(&b);
    dc_colset_free(&cs);
}

static void test_empty_colset(void **state)
{
    (void)state;
    dc_colset cs;
    dc_colset_init(&cs);
    dc_colset_sort(&cs);
    dc_buf b;
    dc_buf_init(&b);
    dc_csv_format_header(&cs, &b);
    assert_string_equal(dc_buf_cstr(&b), "Scan ID,No. DICOMs in scan\n");
    dc_row row;
    dc_row_init(&row);
    dc_buf_reset(&b);
    dc_csv_format_row(&cs, "x", 3, &row, &b);
    assert_string_equal(dc_buf_cstr(&b), "x,3\n");
    dc_buf_free(&b);
    dc_colset_free(&cs);
}

/* values formatted before the Scan ID is known, then remapped after the
 * header gained columns: the same text as a row formatted afterwards */
static void test_values_then_remap(void **state)
{
    (void)state;
    dc_colset cs;
    dc_colset_init(&cs);
    dc_column c1 = col("Modality (0008, 0060)", 1, DC_TAG(0x0008, 0x0060), 0);
    dc_column c3 = col("PatientName (0010, 0010)", 1, DC_TAG(0x0010, 0x0010), 0);
    dc_column c2 = col("Odd, \"name\" (0009, 1001)", 1, DC_TAG(0x0009, 0x1001), 0);
    dc_column c4 = col("Zeta (0020, 0010)", 1, DC_TAG(0x0020, 0x0010), 0);
    dc_colset_add(&cs, &c3);
    dc_colset_add(&cs, &c1);
    dc_colset_sort(&cs);
    dc_column rc[2] = {c3, c1};
    char *rv[2] = {"Doe, \"Jr\"", "C\xc3\xa9T"};
    dc_row row;
    dc_row_init(&row);
    row.cols = rc;
    row.vals = rv;
    row.n = 2;
    dc_buf whole, parts;
    dc_buf_init(&whole);
    dc_buf_init(&parts);
    dc_csv_format_row(&cs, "id,1", 9, &row, &whole);
    dc_buf values;
    dc_buf_init(&values);
    assert_int_equal(dc_csv_format_values(&cs, &row, &values), 0);
    dc_csv_format_fixed("id,1", 9, &parts);
    dc_buf_append(&parts, values.data, values.len);
    assert_string_equal(dc_buf_cstr(&parts), dc_buf_cstr(&whole));

    dc_strvec old;
    dc_strvec_init(&old);
    for (size_t i = 0; i < cs.n; i++) dc_strvec_push(&old, cs.cols[i].name);
    dc_colset_add(&cs, &c4); /* a batch widened the header: one before, one after */
    dc_colset_add(&cs, &c2);
    dc_colset_sort(&cs);
    assert_int_equal(dc_csv_remap_row(&cs, &old, &parts), 0);
    dc_buf_reset(&whole);
    dc_csv_format_row(&cs, "id,1", 9, &row, &whole);
    assert_string_equal(dc_buf_cstr(&parts), dc_buf_cstr(&whole));
    assert_string_equal(dc_buf_cstr(&whole), "\"id,1\",9,C\xc3\xa9T,,\"Doe, \"\"Jr\"\"\",\n");
    dc_buf_reset(&parts);
    dc_buf_puts(&parts, "torn \"record");
    assert_int_equal(dc_csv_remap_row(&cs, &old, &parts), -1);
    dc_strvec_free(&old);
    dc_buf_free(&values);
    dc_buf_free(&whole);
    dc_buf_free(&parts);
    dc_colset_free(&cs);
}

/* the 8-bytes-at-a-time check finds a special byte at every offset */
static void test_quoting_every_offset(void **state)
{
    (void)state;
    const char specials[] = {',', '"', '\n', '\r'};
    dc_buf b;
    dc_buf_init(&b);
    for (size_t len = 1; len < 40; len++)
        for (size_t at = 0; at < len; at++)
            for (size_t k = 0; k < sizeof specials; k++) {
                char s[48];
                memset(s, 'a', len);
                s[at] = specials[k];
                dc_buf_reset(&b);
                dc_csv_fieldn(&b, s, len);
                size_t want = len + 2 + (specials[k] == '"');
                if (b.len != want || b.data[0] != '"')
                    fail_msg("len %zu byte %zu (0x%02x): not quoted", len, at, specials[k]);
            }
    char bad[20];
    memset(bad, 'a', sizeof bad);
    bad[13] = (char)0xff; /* not UTF-8: escaped */
    dc_buf_reset(&b);
    dc_csv_fieldn(&b, bad, sizeof bad);
    assert_string_equal(dc_buf_cstr(&b), "aaaaaaaaaaaaa\\xffaaaaaa");
    dc_buf_free(&b);
}

/* dc_csv_fieldn against a byte-at-a-time oracle on random strings of 0-40
 * bytes over specials, the bytes around them ('-' ',' '.'), NUL, valid and
 * stray UTF-8 bytes: csv.c checks 8 bytes at a time, with overlapping last
 * words and a packed word for values under 8 bytes. */
static void oracle_field(dc_buf *out, const char *s, size_t n)
{
    dc_buf t;
    dc_buf_init(&t);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = u[i] < 0x80 ? 1 : dc_utf8_seq_len(u + i, n - i);
        if (k) {
            dc_buf_append(&t, s + i, k);
            i += k;
        } else {
            dc_buf_printf(&t, "\\x%02x", u[i++]);
        }
    }
    int quote = 0;
    for (size_t i = 0; i < t.len; i++)
        if (t.data[i] == ',' || t.data[i] == '"' || t.data[i] == '\n' || t.data[i] == '\r') quote = 1;
    if (quote) dc_buf_putc(out, '"');
    for (size_t i = 0; i < t.len; i++) {
        dc_buf_putc(out, t.data[i]);
        if (quote && t.data[i] == '"') dc_buf_putc(out, '"');
    }
    if (quote) dc_buf_putc(out, '"');
    dc_buf_free(&t);
}

static void test_fieldn_matches_oracle(void **state)
{
    (void)state;
    static const char alphabet[] = {'a', '1', ' ', '-', ',', '+', '.', '"', '\n', '\r', '\0', '\\',
                                    '\xc3', '\xa9', '\xff', '\x80', '\xe2', '\x82', '\xac'};
    uint64_t x = 88172645463325252ULL;
    dc_buf got, want;
    dc_buf_init(&got);
    dc_buf_init(&want);
    for (int round = 0; round < 200000; round++) {
        char s[40];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = (size_t)(x % 41);
        int sparse = (int)(x >> 8) % 3; /* 0: any byte; else mostly 'a' */
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t k = (size_t)(x >> 20) % (sparse ? 40 : sizeof alphabet);
            s[i] = k < sizeof alphabet ? alphabet[k] : 'a';
        }
        dc_buf_reset(&got);
        dc_buf_reset(&want);
        dc_csv_fieldn(&got, s, n);
        oracle_field(&want, s, n);
        if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0)
            fail_msg("round %d, %zu bytes: got %.*s want %.*s", round, n, (int)got.len, got.data,
                     (int)want.len, want.data);
    }
    dc_buf_free(&got);
    dc_buf_free(&want);
}

/* ---- column names back to keys and styles (colkey.c, names.c) ---- */

static void key_is(const char *name, int depth, uint32_t a, uint32_t b, uint32_t c)
{
    dc_column col;
    dc_column_key_from_name(name, &col);
    const uint32_t want[3] = {a, b, c};
    if (col.depth != depth) fail_msg("%s: depth %d, want %d", name, col.depth, depth);
    for (int i = 0; i < depth; i++)
        if (col.path[i] != want[i])
            fail_msg("%s: path[%d] %08x, want %08x", name, i, (unsigned)col.path[i], (unsigned)want[i]);
}

static void test_colkey_both_styles(void **state)
{
    (void)state;
    const uint32_t NONE = 0xFFFFFFFFu;
    key_is("ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)", 2, 0x00081140,
           0x00081155, 0);
    key_is("Referenced Image Sequence_Referenced SOP Instance UID (0008, 1155)", 2, 0x00081140,
           0x00081155, 0);
    key_is("Request Attributes Sequence_Scheduled Protocol Code Sequence_Code Value (0008, 0100)",
           3, 0x00400275, 0x00400008, 0x00080100);
    key_is("Image Position (Patient) (0020, 0032)", 1, 0x00200032, 0, 0);
    key_is("Patient's Name (0010, 0010)", 1, 0x00100010, 0, 0);
    key_is(" (0008, 9999)", 1, 0x00089999, 0, 0);
    /* private sequences: no tag in the name, after every public sibling */
    key_is("Private tag data_Private Creator (0049, 0010)", 2, NONE, 0x00490010, 0);
    key_is("[Volumes_info]_Patient's Name (0010, 0010)", 2, NONE, 0x00100010, 0);
    key_is("[Volumes_info]_[Image_UIDs]_Rows (0028, 0010)", 3, NONE, NONE, 0x00280010);
    key_is("[Scale_Slope] (2005, 100e)", 1, 0x2005100e, 0, 0);
    key_is("Private (0029, 1010)", 1, 0x00291010, 0, 0);
    /* a repeating-group sequence: its mask with x = 0 */
    key_is("Curve Referenced Overlay Sequence_Rows (0028, 0010)", 2, 0x50002600, 0x00280010, 0);
    key_is("Scan ID", 1, 0xFFFFFFFF, 0, 0);
    /* the reverse lookup gives the lowest tag of a name */
    assert_int_equal(dc_names_tag_of("Patient's Name", 14), 0x00100010);
    assert_int_equal(dc_names_tag_of("No Such Name", 12), 0xFFFFFFFF);
    assert_string_equal(dc_names_public(0x00100010), "Patient's Name");
    assert_string_equal(dc_names_public(0x60020010), "Overlay Rows");
    assert_null(dc_names_public(0x00089999));
    assert_string_equal(dc_names_private(0x00091001, "GEMS_IDEN_01"), "Full fidelity");
    assert_string_equal(dc_names_private(0x20051100, "Philips MR Imaging DD 001"), "Unknown");
    assert_null(dc_names_private(0x00091001, "GEMS_IDEN_01 ")); /* exact creator only */
    assert_true(dc_names_printable('a') && dc_names_printable(0xE9) && dc_names_printable(0x4E2D));
    assert_false(dc_names_printable(0xA0) || dc_names_printable(0x2028) || dc_names_printable(0x7F));
}

static void test_header_style(void **state)
{
    (void)state;
    const char *seed[] = {"Scan ID", "No. DICOMs in scan", "Specific Character Set (0008, 0005)",
                          "Image Type (0008, 0008)", "Modality (0008, 0060)"};
    const char *dicom[] = {"Scan ID", "No. DICOMs in scan", "SpecificCharacterSet (0008, 0005)",
                           "ImageType (0008, 0008)", "Modality (0008, 0060)"};
    const char *neither[] = {"Scan ID", "No. DICOMs in scan", "Modality (0008, 0060)",
                             "Rows (0028, 0010)"};
    const char *priv[] = {"Private Creator (0009, 0010)", "[Full fidelity] (0009, 1001)"};
    assert_int_equal(dc_header_style(seed, 5), DC_CSV_STYLE_SEED);
    assert_int_equal(dc_header_style(dicom, 5), DC_CSV_STYLE_DICOM);
    assert_int_equal(dc_header_style(neither, 4), -1);
    assert_int_equal(dc_header_style(priv, 2), DC_CSV_STYLE_SEED);
    assert_int_equal(dc_header_style(NULL, 0), -1);
}

/* the fixed fields: the Scan ID as a field, then ",%ld" of the file count */
static void test_format_fixed_numbers(void **state)
{
    (void)state;
    const long ns[] = {0, 1, 9, 10, 99, 100, 500, 123456789, -1, -10, 2147483648L, LONG_MAX, LONG_MIN};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
        dc_buf b;
        dc_buf_init(&b);
        dc_csv_format_fixed("a\"b", ns[i], &b);
        char want[64];
        snprintf(want, sizeof want, "\"a\"\"b\",%ld", ns[i]);
        assert_string_equal(dc_buf_cstr(&b), want);
        dc_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_quoting),
        cmocka_unit_test(test_fieldn_embedded),
        cmocka_unit_test(test_parse_records),
        cmocka_unit_test(test_parse_incomplete),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_appends),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_column_cmp),
        cmocka_unit_test(test_colset),
        cmocka_unit_test(test_colset_copies_names),
        cmocka_unit_test(test_colset_order_independent),
        cmocka_unit_test(test_header_and_row),
        cmocka_unit_test(test_empty_colset),
        cmocka_unit_test(test_values_then_remap),
        cmocka_unit_test(test_quoting_every_offset),
        cmocka_unit_test(test_fieldn_matches_oracle),
        cmocka_unit_test(test_colkey_both_styles),
        cmocka_unit_test(test_header_style),
        cmocka_unit_test(test_format_fixed_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
