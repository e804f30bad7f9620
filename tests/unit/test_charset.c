/*
 * test_charset.c - Specific Character Set decoding (charset.c) against the
 * strings pydicom 2.3.1 decodes: the PS3.5 Annex H (Japanese), I (Korean)
 * and J (Chinese) examples as stored in pydicom's charset test files, every
 * single-byte set, ISO 2022 escapes and delimiters, multi-byte sets, PN
 * components, value splitting/trimming per VR, replacement characters,
 * misspelled and unknown terms.  Expected strings were produced by pydicom's
 * convert_PN / convert_text / convert_single_string (tests/integration/
 * test_rows_vs_pydicom.py checks whole files the same way).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dc_charset.h"
#include "dc_dicom.h"

typedef struct {
    const char *spec, *vr, *in, *want;
} vcase;

/* in: raw value bytes (C string: no NUL inside except where written); want: UTF-8 */
static const vcase CASES[] = {
    /* chrArab.dcm */ {"ISO_IR 127", "PN", "\xe2\xc8\xc7\xe6\xea^\xe4\xe6\xd2\xc7\xd1 ",
                       "قباني^لنزار"},
    /* chrFren.dcm */ {"ISO_IR 100", "PN", "Buc^J\xe9r\xf4me", "Buc^Jérôme"},
    /* chrFrenMulti.dcm */ {"ISO_IR 100", "PN", "Buc^J\xe9r\xf4me", "Buc^Jérôme"},
    /* chrGerm.dcm */
    {"ISO_IR 100", "PN",
     "\xc4neas^R\xfc"
     "diger ",
     "Äneas^Rüdiger"},
    /* chrGreek.dcm */ {"ISO_IR 126", "PN", "\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2 ", "Διονυσιος"},
    /* chrH31.dcm */
    {"\\ISO 2022 IR 87", "PN",
     "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$\x3f$m$&\x1b(B",
     "Yamada^Tarou=山田^太郎=やまだ^たろう"},
    /* chrH32.dcm */
    {"ISO 2022 IR 13\\ISO 2022 IR 87", "PN",
     "\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J=\x1b$B$d$^$@\x1b(J^\x1b$B$"
     "\x3f$m$&\x1b(J",
     "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"},
    /* chrHbrw.dcm */ {"ISO_IR 138", "PN", "\xf9\xf8\xe5\xef^\xe3\xe1\xe5\xf8\xe4", "שרון^דבורה"},
    /* chrI2.dcm */
    {"\\ISO 2022 IR 149", "PN",
     "Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf",
     "Hong^Gildong=洪^吉洞=홍^길동"},
    /* chrJapMulti.dcm */
    {"\\ISO 2022 IR 87", "PN", "\x1b$B$d$^$@\x1b(B^\x1b$B$\x3f$m$&\x1b(B ", "やまだ^たろう"},
    /* chrJapMultiExplicitIR6.dcm */
    {"ISO 2022 IR 6\\ISO 2022 IR 87", "PN", "\x1b$B$d$^$@\x1b(B^\x1b$B$\x3f$m$&\x1b(B ",
     "やまだ^たろう"},
    /* chrKoreanMulti.dcm */
    {"\\ISO 2022 IR 149", "PN", "\x1b$)C\xb1\xe8\xc8\xf1\xc1\xdf\x1b(B ", "김희중"},
    /* chrRuss.dcm */
    {"ISO_IR 144", "PN",
     "\xbb\xee\xda"
     "ce\xdc\xd1yp\xd3",
     "Люкceмбypг"},
    /* chrX1.dcm */
    {"ISO_IR 192", "PN",
     "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1= ", "Wang^XiaoDong=王^小東"},
    /* chrX2.dcm */
    {"GB18030", "PN", "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", "Wang^XiaoDong=王^小东"},
    {"ISO_IR 101", "LO", "\xa3\xb1\xe8", "Łąč"},
    {"ISO_IR 109", "LO", "\xa1\xbb\xf8", "Ħğĝ"},
    {"ISO_IR 110", "LO", "\xa1\xb3\xbd", "ĄŗŊ"},
    {"ISO_IR 148", "LO", "\xd0\xdd\xfe", "Ğİş"},
    {"ISO_IR 166", "LO", "\xa1\xc1\xd2\x85", "กมา\xc2\x85"},
    {"ISO_IR 13", "LO", "\xd4\xcf\xc0\xde~", "ﾔﾏﾀﾞ~"},
    {"ISO_IR 109", "LO",
     "ab\xa5"
     "c",
     "ab�c"},
    {"ISO_IR 192", "LO", "ok\xc3(\xe2\x82", "ok�(�"},
    {"GBK", "LO",
     "\xcd\xf5\x80"
     "A",
     "王�A"},
    {"GB18030", "LO",
     "\x81"
     "0\x81"
     "0\xa6\xd9\x95"
     "2\x82"
     "6",
     "\xc2\x80\xee\x9e\x8d\xf0\xa0\x80\x80"},
    {"\\ISO 2022 IR 87", "LT", "\x1b$B;3ED\x1b(B\x0d\x0aline2", "山田\x0d\x0aline2"},
    {"ISO 2022 IR 6\\ISO 2022 IR 144", "LT", "\x1b-L\xbb\xee\x0d\x0a\xbb", "Лю\x0d\x0a»"},
    {"ISO 2022 IR 6\\ISO 2022 IR 100\\ISO 2022 IR 126", "PN", "\x1b-A\xc4^\x1b-F\xc4", "Ä^Δ"},
    {"\\ISO 2022 IR 159", "PN",
     "\x1b$(D+!\x22"
     "7\x1b(B",
     "á~"},
    {"ISO_IR 100", "PN", "Buc^J\xe9r\xf4me\x5cOther^Name= ", "Buc^Jérôme\\Other^Name"},
    {"ISO IR 100", "LO", "\xe9", "é"},
    {"bogus", "LO", "\xe9", "é"},
    {"ISO_IR 100", "LO", "\x1b$Bxx", "\x1b$Bxx"},
    {"\\ISO 2022 IR 149", "LO", "\x1b$)C\xc8\xab\x1b$)C\xa4\xd4\xa4\xa1\xa4\xbf\xa4\xd4", "홍가"},
    {"ISO_IR 192\\GB18030", "LO", "\xe7\x8e\x8b", "王"},
    {"", "PN", "A^B==", "A^B"},
    {"ISO 2022 IR 13", "SH", "\x1b)I\xb1\x1b(J\x5c", "ｱ\\"},
    {"ISO 2022 IR 13\\ISO 2022 IR 87", "SH", "\x1b)I\xb1\x1b(Jx", "ｱx"},
    {"ISO_IR 13", "SH", "\x1b)I\xb1", "ｱ"},
    {"latin1", "LO", "\xe9", "é"},
    {"\\ISO 2022 IR 87", "PN", "\x1b$B;3", "山"},
    {"\\ISO 2022 IR 87", "PN", "\x1b$B;", "\x1b$B;"},
    {"ISO_IR 192", "PN", "\xe7\x8e\x8b\x5c\x5cx", "王\\\\x"},
    /* ISO 2022 IR 58 (PS3.5 Annex K): deliberate difference, see dc_charset.h */
    {"\\ISO 2022 IR 58", "PN",
     "Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab=", "Zhang^XiaoDong=张^小东"},
};

static size_t raw_len(const vcase *c)
{
    /* cases with NULs inside: the literal's length is known via sizeof in the
     * table; here NUL only appears in the trailing padding cases below */
    return strlen(c->in);
}

static void check(const char *spec, const char *vr, const char *in, size_t n, const char *want)
{
    dc_buf out;
    dc_buf_init(&out);
    dc_charset_to_utf8(spec, DC_VR(vr[0], vr[1]), (const uint8_t *)in, n, &out);
    if (strcmp(dc_buf_cstr(&out), want) != 0)
        fail_msg("spec '%s' vr %s: got '%s' want '%s'", spec, vr, dc_buf_cstr(&out), want);
    dc_buf_free(&out);
}

static void test_pydicom_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        check(CASES[i].spec, CASES[i].vr, CASES[i].in, raw_len(&CASES[i]), CASES[i].want);
}

/* values with NUL bytes: padding and separators (pydicom trims NUL and space) */
static void test_nul_padding(void **state)
{
    (void)state;
    static const char lo[] = "one \\two\0\\ three ";
    check("ISO_IR 100", "LO", lo, sizeof lo - 1, "one\\two\\ three");
    static const char lt[] = " text with \\ backslash \0";
    check("ISO_IR 100", "LT", lt, sizeof lt - 1, " text with \\ backslash");
    static const char ut[] = "\xe9\0\0  ";
    check("ISO_IR 100", "UT", ut, sizeof ut - 1, "é");
    static const char pn[] = "Doe^John\0";
    check("", "PN", pn, sizeof pn - 1, "Doe^John");
    check("", "LO", "", 0, "");
    check("", "PN", "", 0, "");
}

static void test_return_flags(void **state)
{
    (void)state;
    dc_buf out;
    dc_buf_init(&out);
    assert_int_equal(
        dc_charset_to_utf8("ISO_IR 100", DC_VR('L', 'O'), (const uint8_t *)"\xe9", 1, &out), 0);
    assert_int_equal(
        dc_charset_to_utf8("ISO IR 100", DC_VR('L', 'O'), (const uint8_t *)"\xe9", 1, &out), 1);
    assert_int_equal(dc_charset_to_utf8("bogus", DC_VR('L', 'O'), (const uint8_t *)"x", 1, &out),
                     1);
    assert_int_equal(
        dc_charset_to_utf8("ISO_IR 192", DC_VR('L', 'O'), (const uint8_t *)"\xff", 1, &out), 1);
    assert_int_equal(
        dc_charset_to_utf8("ISO_IR 192", DC_VR('L', 'O'), (const uint8_t *)"\xc3\xa9", 2, &out), 0);
    assert_int_equal(dc_charset_to_utf8(NULL, DC_VR('P', 'N'), (const uint8_t *)"\xe9", 1, &out),
                     0);
    assert_string_equal(dc_buf_cstr(&out), "ééx\xef\xbf\xbdéé");
    dc_buf_free(&out);
}

static void test_parse_terms(void **state)
{
    (void)state;
    dc_charset cs;
    assert_int_equal(dc_charset_parse(NULL, 0, &cs), 0);
    assert_int_equal(cs.n, 1);
    assert_int_equal(dc_charset_parse("ISO 2022 IR 13\\ISO 2022 IR 87 ", 30, &cs), 0);
    assert_int_equal(cs.n, 2);
    assert_int_equal(dc_charset_parse("\\ISO 2022 IR 149", 16, &cs), 0);
    assert_int_equal(cs.n, 2);
    /* stand-alone sets: code extensions after them ignored, or they are ignored */
    assert_int_equal(dc_charset_parse("ISO_IR 192\\ISO 2022 IR 87", 25, &cs), 0);
    assert_int_equal(cs.n, 1);
    assert_int_equal(dc_charset_parse("ISO 2022 IR 100\\GB18030\\ISO 2022 IR 126", 39, &cs), 0);
    assert_int_equal(cs.n, 2);
    /* misspellings patched as pydicom does, unknown terms fall back */
    assert_int_equal(dc_charset_parse("ISO-IR 144", 10, &cs), 1);
    assert_int_equal(cs.fallback, 1);
    assert_int_equal(dc_charset_parse("ISO_2022-IR 100", 15, &cs), 1);
    assert_int_equal(dc_charset_parse("nonsense", 8, &cs), 1);
    assert_int_equal(cs.n, 1);
}

/* the same decoded text with a misspelled term and with the right one */
static void test_patched_terms_decode(void **state)
{
    (void)state;
    check("ISO-IR 144", "LO", "\xbb\xee", 2, "Лю");
    check("ISO_2022-IR 144", "LO", "\xbb\xee", 2, "Лю");
    check("ISO IR 126", "LO", "\xc4", 1, "Δ");
    check("ISO_IR_144", "LO", "\xbb", 1, "Л"); /* a Python codec alias */
    check("UTF-8", "LO", "\xe7\x8e\x8b", 3, "王");
    check("cp1252", "LO", "\x80", 1, "€");
    check("ISO IR 999", "LO", "\xbb", 1, "»"); /* patched, still unknown: default */
}

/* escape sequences of sets not in (0008,0005): decoded with the first set,
 * escape bytes included (pydicom warns "unknown escape sequence") */
static void test_unlisted_escape(void **state)
{
    (void)state;
    check("ISO 2022 IR 6\\ISO 2022 IR 100", "LO", "\x1b-L\xbb", 4, "\x1b-L»");
    check("", "LO", "a\x1b(Bb", 5, "ab"); /* ESC ( B is always allowed */
}

/* delimiters: PN resets at '^' (and components at '='), text at CR LF TAB FF */
static void test_delimiters(void **state)
{
    (void)state;
    const char *spec = "ISO 2022 IR 6\\ISO 2022 IR 144";
    check(spec, "PN", "\x1b-L\xbb^\xbb", 6, "Л^»");
    check(spec, "PN", "\x1b-L\xbb=\xbb", 6, "Л=»");
    check(spec, "LO", "\x1b-L\xbb^\xbb", 6, "Л^Л");
    check(spec, "LT", "\x1b-L\xbb\t\xbb", 6, "Л\t»");
    check(spec, "LT", "\x1b-L\xbb\x0c\xbb", 6, "Л\x0c»");
    check(spec, "ST", "\x1b-L\xbb\\\xbb", 6, "Л\\Л"); /* no value split for ST */
    check(spec, "SH", "\x1b-L\xbb\\\xbb", 6, "Л\\»"); /* SH values decoded apart */
}

static void test_latin1(void **state)
{
    (void)state;
    dc_buf out;
    dc_buf_init(&out);
    dc_latin1_to_utf8((const uint8_t *)"A\xe9\xff\x80", 4, &out);
    assert_string_equal(dc_buf_cstr(&out), "Aéÿ\xc2\x80");
    dc_buf_free(&out);
    dc_charset_release();
    check("ISO_IR 101", "LO", "\xa3", 1, "Ł"); /* converters reopen after release */
    dc_charset_release();
}

/* well-formed UTF-8 sequences (CSV escaping, Scan ID bytes): RFC 3629 */
static void test_utf8_seq_len(void **state)
{
    (void)state;
    struct {
        const char *s;
        size_t n, want;
    } c[] = {
        {"a", 1, 1},           {"\xc3\xa9", 2, 2},         {"\xe2\x82\xac", 3, 3},
        {"\xf0\x9f\x98\x80", 4, 4}, {"\xc3", 1, 0},            {"\xe2\x82", 2, 0},
        {"\x80", 1, 0},        {"\xc0\xaf", 2, 0},         {"\xe0\x80\xaf", 3, 0},
        {"\xed\xa0\x80", 3, 0},  {"\xf4\x90\x80\x80", 4, 0}, {"\xf5\x80\x80\x80", 4, 0},
        {"\xe9t\xe9", 3, 0},    {"\xc3\xa9x", 3, 2},        {"", 0, 0},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        assert_int_equal(dc_utf8_seq_len((const unsigned char *)c[i].s, c[i].n), c[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pydicom_cases),        cmocka_unit_test(test_nul_padding),
        cmocka_unit_test(test_return_flags),         cmocka_unit_test(test_parse_terms),
        cmocka_unit_test(test_patched_terms_decode), cmocka_unit_test(test_unlisted_escape),
        cmocka_unit_test(test_delimiters),           cmocka_unit_test(test_latin1), cmocka_unit_test(test_utf8_seq_len),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dc_charset_release();
    return rc;
}
