/*
 * test_dicom.c - the DICOM parser (dicom.c) on byte-exact synthetic files
 * built here: explicit/implicit little endian, explicit big endian, deflated,
 * nested defined/undefined length sequences, private creators, UN handling,
 * character sets per item, native and encapsulated pixel data, skipped bulk
 * values, every limit and malformed input with its exact error text, and a
 * mutation self-check over pydicom's test files (byte flips and truncations;
 * DC_FUZZ_RUNS=n mutations per file, default 40) that checks the structural
 * invariants of every dataset that parses (and builds its dc_record, which
 * must survive a pack/unpack round trip).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "dc_dicom.h"
#include "dc_dict.h"
#include "dc_record.h"

/* ---- file builder ---- */

typedef struct {
    uint8_t *b;
    size_t n, cap;
    int big; /* dataset elements big endian */
} fb;

static void fb_init(fb *f)
{
    memset(f, 0, sizeof *f);
}

static void put(fb *f, const void *p, size_t n)
{
    if (f->n + n > f->cap) {
        f->cap = (f->n + n) * 2 + 1024;
        f->b = realloc(f->b, f->cap);
    }
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void put16(fb *f, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v & 0xFF), (uint8_t)(v >> 8)};
    if (f->big) {
        b[0] = (uint8_t)(v >> 8);
        b[1] = (uint8_t)(v & 0xFF);
    }
    put(f, b, 2);
}

static void put32(fb *f, uint32_t v)
{
    if (f->big) {
        put16(f, (uint16_t)(v >> 16));
        put16(f, (uint16_t)v);
    } else {
        put16(f, (uint16_t)v);
        put16(f, (uint16_t)(v >> 16));
    }
}

static int long_vr(const char *vr)
{
    static const char *l[] = {"OB", "OW", "OF", "OD", "OL", "OV", "SQ", "UT", "UN", "UC", "UR", "SV", "UV"};
    for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
        if (!strcmp(vr, l[i])) return 1;
    return 0;
}

/* explicit VR header */
static void hdr_ex(fb *f, uint16_t g, uint16_t e, const char *vr, uint32_t len)
{
    put16(f, g);
    put16(f, e);
    put(f, vr, 2);
    if (long_vr(vr)) {
        put16(f, 0);
        put32(f, len);
    } else {
        put16(f, (uint16_t)len);
    }
}

static void ex(fb *f, uint16_t g, uint16_t e, const char *vr, const void *val, uint32_t len)
{
    hdr_ex(f, g, e, vr, len);
    put(f, val, len);
}

static void exs(fb *f, uint16_t g, uint16_t e, const char *vr, const char *s)
{
    ex(f, g, e, vr, s, (uint32_t)strlen(s));
}

static void ex_us(fb *f, uint16_t g, uint16_t e, uint16_t v)
{
    hdr_ex(f, g, e, "US", 2);
    put16(f, v);
}

static void im(fb *f, uint16_t g, uint16_t e, const void *val, uint32_t len)
{
    put16(f, g);
    put16(f, e);
    put32(f, len);
    put(f, val, len);
}

static void ims(fb *f, uint16_t g, uint16_t e, const char *s)
{
    im(f, g, e, s, (uint32_t)strlen(s));
}

static void item(fb *f, uint32_t len)
{
    put16(f, 0xFFFE);
    put16(f, 0xE000);
    put32(f, len);
}

static void item_end(fb *f)
{
    put16(f, 0xFFFE);
    put16(f, 0xE00D);
    put32(f, 0);
}

static void seq_end(fb *f)
{
    put16(f, 0xFFFE);
    put16(f, 0xE0DD);
    put32(f, 0);
}

/* preamble, DICM and a file meta group with the transfer syntax uid (even length) */
static void meta(fb *f, const char *ts)
{
    uint8_t zero[128] = {0};
    put(f, zero, 128);
    put(f, "DICM", 4);
    int big = f->big;
    f->big = 0;
    size_t gl = f->n;
    ex(f, 0x0002, 0x0000, "UL", "\0\0\0\0", 4);
    size_t start = f->n;
    ex(f, 0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.2", 26); /* NUL padded */
    char uid[66] = {0};
    size_t tl = strlen(ts);
    memcpy(uid, ts, tl);
    if (tl % 2) tl++; /* padded with a NUL */
    ex(f, 0x0002, 0x0010, "UI", uid, (uint32_t)tl);
    uint32_t len = (uint32_t)(f->n - start);
    memcpy(f->b + gl + 8, &len, 4);
    f->big = big;
}

static dc_dataset DS;
static char ERR[DC_ERRLEN];

static int parse(const fb *f, const dc_parse_opts *o)
{
    return dc_parse_memory(f->b, f->n, o, &DS, ERR, sizeof ERR);
}

static int setup(void **state)
{
    (void)state;
    dc_dataset_init(&DS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dc_dataset_free(&DS);
    return 0;
}

static const dc_elem *el_of(uint32_t tag)
{
    int i = dc_find(&DS, tag);
    assert_true(i >= 0);
    return &DS.el[i];
}

static void assert_str(uint32_t tag, const char *want)
{
    char buf[256];
    assert_int_equal(dc_tag_str(&DS, tag, buf, sizeof buf), 0);
    assert_string_equal(buf, want);
}

/* ---- well-formed files ---- */

static void build_explicit(fb *f)
{
    fb_init(f);
    meta(f, "1.2.840.10008.1.2.1");
    exs(f, 0x0008, 0x0005, "CS", "ISO_IR 100");
    exs(f, 0x0008, 0x0060, "CS", "CT");
    exs(f, 0x0010, 0x0010, "PN", "Doe^John");
    exs(f, 0x0020, 0x0013, "IS", " 12 ");
    exs(f, 0x0020, 0x0032, "DS", "-1.5\\2\\3e1 ");
    ex_us(f, 0x0028, 0x0010, 512);
    exs(f, 0x0028, 0x0030, "DS", "0.5\\0.625");
    ex(f, 0x0028, 0x0009, "AT", "\x18\x00\x63\x10", 4); /* (0018,1063) */
    ex(f, 0x7FE0, 0x0010, "OW", "\1\2\3\4\5\6\7\x08", 8);
}

/* a top-level element by a plain scan (dc_find's reference) */
static int find_linear(const dc_dataset *ds, uint32_t tag)
{
    for (size_t i = 0; i < ds->n_el; i++)
        if (ds->el[i].depth == 0 && ds->el[i].tag == tag) return (int)i;
    return -1;
}

/* a text element of a test layout */
typedef struct {
    uint16_t g, e;
    const char *vr, *s;
} text_el;

static void build_layout(fb *f, const text_el *els, size_t n)
{
    fb_init(f);
    meta(f, "1.2.840.10008.1.2.1");
    for (size_t i = 0; i < n; i++) exs(f, els[i].g, els[i].e, els[i].vr, els[i].s);
}

/* dc_find remembers where each tag was (or would be) in the last dataset:
 * lookups alternating between two layouts (b has more elements before most
 * tags, a more after), of tags present in one, both or neither (before the
 * first element, between, after the last), are always those of a plain scan */
static void test_find_hints_two_layouts(void **state)
{
    (void)state;
    static const text_el la[] = {
        {0x0008, 0x0005, "CS", "ISO_IR 100"}, {0x0008, 0x0060, "CS", "CT"},
        {0x0010, 0x0010, "PN", "Doe^John"},   {0x0020, 0x0013, "IS", " 12 "},
        {0x0020, 0x0032, "DS", "-1.5\\2"},     {0x0028, 0x0030, "DS", "0.5\\0.625"},
        {0x7FE0, 0x0010, "OW", "\1\2\3\4"}};
    static const text_el lb[] = {
        {0x0008, 0x0008, "CS", "ORIGINAL"}, {0x0008, 0x0012, "DA", "20240101"},
        {0x0008, 0x0013, "TM", "101010"},   {0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2"},
        {0x0008, 0x0018, "UI", "1.2.3.4"},  {0x0008, 0x0020, "DA", "20240101"},
        {0x0008, 0x0060, "CS", "MR"},       {0x0018, 0x0050, "DS", "1.25"},
        {0x0020, 0x0013, "IS", "7 "},       {0x0028, 0x0030, "DS", "0.5\\0.625"}};
    fb a, b;
    build_layout(&a, la, sizeof la / sizeof la[0]);
    build_layout(&b, lb, sizeof lb / sizeof lb[0]);
    dc_dataset da, db;
    dc_dataset_init(&da);
    dc_dataset_init(&db);
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    assert_int_equal(dc_parse_memory(a.b, a.n, &o, &da, ERR, sizeof ERR), DC_PARSE_OK);
    assert_int_equal(dc_parse_memory(b.b, b.n, &o, &db, ERR, sizeof ERR), DC_PARSE_OK);
    const uint32_t tags[] = {DC_TAG(0x0002, 0x0001), DC_TAG(0x0008, 0x0005), DC_TAG(0x0008, 0x0016),
                             DC_TAG(0x0008, 0x0060), DC_TAG(0x0010, 0x0010), DC_TAG(0x0018, 0x0050),
                             DC_TAG(0x0020, 0x0013), DC_TAG(0x0020, 0x0032), DC_TAG(0x0008, 0x0018),
                             DC_TAG(0x0028, 0x0011), DC_TAG(0x0028, 0x0030), DC_TAG(0x7FE0, 0x0010),
                             DC_TAG(0xFFFE, 0x0001), DC_TAG(0x0008, 0x0006)};
    assert_true(da.top_sorted && db.top_sorted); /* dc_find's binary search and hints */
    size_t found = 0;
    for (int round = 0; round < 3; round++)
        for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++)
            for (int k = 0; k < 2; k++) {
                const dc_dataset *ds = (round + k) % 2 ? &db : &da;
                int want = find_linear(ds, tags[t]);
                assert_int_equal(dc_find(ds, tags[t]), want);
                found += want >= 0;
            }
    assert_true(found >= 3 * 10); /* most tags are present in one of the two */
    dc_dataset_free(&da);
    dc_dataset_free(&db);
    free(a.b);
    free(b.b);
}

/* dc_tag_doubles reads a text element's values in one pass: the same count
 * and values as dc_get_double_at for k = 0, 1, ... until one fails, also
 * when asked again (remembered by value bytes: two texts of one length
 * that differ in their last digit follow each other) */
static void test_tag_doubles_one_pass(void **state)
{
    (void)state;
    static const char *texts[] = {
        "-1.5\\2\\3e1 ", " 1 \\ 2 \\ 3 ", "1\\x\\3 ", "\\1", "1\\\\2 ", "1\\", "nan\\inf ",
        "1e999\\2 ", "0.1\\0.2\\0.3\\0.4\\0.5 ", "12345678901234567890123456789012345678901234567890"
        "1234567890123456789012345\\1 ", "+5\\-0\\.5\\5.", " ", "1.5\\2.5\\3.5 ", "1.5\\2.5\\3.6 ",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        fb f;
        fb_init(&f);
        meta(&f, "1.2.840.10008.1.2.1");
        exs(&f, 0x0020, 0x0032, "DS", texts[t]);
        dc_dataset_clear(&DS);
        assert_int_equal(parse(&f, NULL), DC_PARSE_OK);
        for (int n = 0; n <= 4; n++) {
            double want[4], got[4];
            int idx = dc_find(&DS, DC_TAG_IPP), k = 0;
            while (k < n && dc_get_double_at(&DS, idx, k, &want[k]) == 0) k++;
            for (int again = 0; again < 2; again++) { /* the second from the memo of the tag */
                int g = dc_tag_doubles(&DS, DC_TAG_IPP, got, n);
                if (g != k) fail_msg("'%s' n=%d: %d values, want %d", texts[t], n, g, k);
                assert_memory_equal(got, want, (size_t)k * sizeof *got);
            }
        }
        free(f.b);
    }
    for (int t = 0; t < 4; t++) { /* files alike but for one digit, asked for the same count */
        fb f;
        fb_init(&f);
        meta(&f, "1.2.840.10008.1.2.1");
        exs(&f, 0x0020, 0x0032, "DS", t % 2 ? "1.5\\2.5\\3.6 " : "1.5\\2.5\\3.5 ");
        dc_dataset_clear(&DS);
        assert_int_equal(parse(&f, NULL), DC_PARSE_OK);
        double got[3];
        assert_int_equal(dc_tag_doubles(&DS, DC_TAG_IPP, got, 3), 3);
        assert_true(got[2] == (t % 2 ? 3.6 : 3.5));
        free(f.b);
    }
}

static void test_explicit_le(void **state)
{
    (void)state;
    fb f;
    build_explicit(&f);
    assert_int_equal(parse(&f, NULL), DC_PARSE_OK);
    assert_int_equal(DS.has_preamble, 1);
    assert_string_equal(DS.ts_uid, "1.2.840.10008.1.2.1");
    assert_string_equal(DS.media_sop_class, "1.2.840.10008.5.1.4.1.1.2");
    assert_int_equal(DS.ts, DC_TS_EXPLICIT_LE);
    assert_int_equal(DS.n_el, 3 + 9); /* meta 3 + dataset 9 incl. pixel data */
    assert_int_equal(DS.el[0].tag, DC_TAG(0x0002, 0x0000));
    assert_str(DC_TAG_MODALITY, "CT");
    assert_str(DC_TAG(0x0010, 0x0010), "Doe^John");
    assert_str(DC_TAG_INSTANCE_NUMBER, "12");
    long l;
    assert_int_equal(dc_tag_long(&DS, DC_TAG_ROWS, &l), 0);
    assert_int_equal(l, 512);
    assert_int_equal(dc_tag_long(&DS, DC_TAG_INSTANCE_NUMBER, &l), 0);
    assert_int_equal(l, 12);
    double v[4];
    assert_int_equal(dc_tag_doubles(&DS, DC_TAG_IPP, v, 4), 3);
    assert_true(v[0] == -1.5 && v[1] == 2.0 && v[2] == 30.0);
    assert_int_equal(dc_tag_doubles(&DS, DC_TAG_PIXEL_SPACING, v, 4), 2);
    assert_true(v[0] == 0.5 && v[1] == 0.625);
    assert_int_equal(dc_get_long_at(&DS, dc_find(&DS, DC_TAG(0x0028, 0x0009)), 0, &l), 0);
    assert_int_equal(l, 0x00181063);
    char s[64];
    assert_int_equal(dc_tag_str(&DS, DC_TAG_ROWS, s, sizeof s), 0);
    assert_string_equal(s, "512");
    const dc_elem *e = el_of(DC_TAG(0x0010, 0x0010));
    assert_int_equal(e->vr, DC_VR('P', 'N'));
    assert_int_equal(e->depth, 0);
    assert_int_equal(e->parent, -1);
    assert_int_equal(e->charset, dc_find(&DS, DC_TAG_SPECIFIC_CHARSET));
    assert_int_equal(e->flags, 0);
    /* pixel data: located, not loaded */
    assert_int_equal(DS.pixel.present, 1);
    assert_int_equal(DS.pixel.tag, DC_TAG_PIXEL_DATA);
    assert_int_equal(DS.pixel.vr, DC_VR('O', 'W'));
    assert_int_equal(DS.pixel.encapsulated, 0);
    assert_int_equal(DS.pixel.off, f.n - 8);
    assert_int_equal(DS.pixel.len, 8);
    assert_int_equal(DS.pixel.truncated, 0);
    e = el_of(DC_TAG_PIXEL_DATA);
    assert_true(e->flags & DC_EL_SKIPPED);
    assert_null(dc_value(&DS, e));
    /* absent tags */
    assert_int_equal(dc_find(&DS, DC_TAG_SERIES_UID), -1);
    assert_int_equal(dc_tag_long(&DS, DC_TAG_COLUMNS, &l), -1);
    free(f.b);
}

static void test_implicit_le_dictionary_vrs(void **state)
{
    (void)state;
    fb f;
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2");
    ims(&f, 0x0010, 0x0010, "Doe^Jane");
    im(&f, 0x0028, 0x0002, "\1\0", 2);
    im(&f, 0x0028, 0x0103, "\1\0", 2);              /* PixelRepresentation 1 */
    im(&f, 0x0028, 0x0106, "\xFB\xFF", 2);          /* xs -> SS: -5 */
    ims(&f, 0x0029, 0x0010, "SIEMENS CSA HEADER");   /* private creator */
    ims(&f, 0x0029, 0x1010, "CSA1");                 /* -> OB from the private dictionary */
    ims(&f, 0x0029, 0x1108, "ABCD");                 /* block 0x11 has no creator -> UN */
    ims(&f, 0x0031, 0x0010, "NO SUCH CREATOR ");
    ims(&f, 0x0031, 0x1001, "WXYZ");                 /* unknown creator -> UN */
    ims(&f, 0x0011, 0x0003, "AB");                   /* unknown public tag -> UN */
    assert_int_equal(parse(&f, NULL), DC_PARSE_OK);
    assert_int_equal(DS.ts, DC_TS_IMPLICIT_LE);
    const dc_elem *e = el_of(DC_TAG(0x0010, 0x0010));
    assert_int_equal(e->vr, DC_VR('P', 'N'));
    assert_int_equal(e->flags, DC_EL_VR_FROM_DICT);
    e = el_of(DC_TAG(0x0028, 0x0106));
    assert_int_equal(e->vr, DC_VR('S', 'S'));
    assert_int_equal(e->flags, DC_EL_VR_FROM_DICT | DC_EL_VR_AMBIG);
    long l;
    assert_int_equal(dc_get_long_at(&DS, dc_find(&DS, DC_TAG(0x0028, 0x0106)), 0, &l), 0);
    assert_int_equal(l, -5);
    int cre = dc_find(&DS, DC_TAG(0x0029, 0x0010));
    assert_int_equal(DS.el[cre].vr, DC_VR('L', 'O'));
    e = el_of(DC_TAG(0x0029, 0x1010));
    assert_int_equal(e->vr, DC_VR('O', 'B'));
    assert_int_equal(e->creator, cre);
    e = el_of(DC_TAG(0x0029, 0x1108));
    assert_int_equal(e->vr, DC_VR('U', 'N'));
    assert_int_equal(e->creator, -1);
    e = el_of(DC_TAG(0x0031, 0x1001));
    assert_int_equal(e->vr, DC_VR('U', 'N'));
    assert_int_equal(e->creator, dc_find(&DS, DC_TAG(0x0031, 0x0010)));
    assert_int_equal(el_of(DC_TAG(0x0011, 0x0003))->vr, DC_VR('U', 'N'));
    free(f.b);
}

static void test_explicit_be(void **state)
{
    (void)state;
    fb f;
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2.2");
    f.big = 1;
    ex_us(&f, 0x0028, 0x0010, 0x0102);
    hdr_ex(&f, 0x0028, 0x0011, "US", 4);
    put16(&f, 3);
    put16(&f, 0x1234);
    hdr_ex(&f, 0x0018, 0x9087, "FD", 8);
    uint8_t d[8] = {0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18}; /* pi, big endian */
    put(&f, d, 8);
    hdr_ex(&f, 0x7FE0, 0x0010, "OW", 4);
    put(&f, "\0\1\0\2", 4);
    assert_int_equal(parse(&f, NULL), DC_PARSE_OK);
    assert_int_equal(DS.ts, DC_TS_EXPLICIT_BE);
    const dc_elem *e = el_of(DC_TAG_ROWS);
    assert_int_equal(e->flags, DC_EL_BIGENDIAN);
    assert_int_equal(el_of(DC_TAG(0x0002, 0x0010))->flags, 0); /* meta stays little endian */
    long l;
    assert_int_equal(dc_tag_long(&DS, DC_TAG_ROWS, &l), 0);
    assert_int_equal(l, 0x0102);
    assert_int_equal(dc_get_long_at(&DS, dc_find(&DS, DC_TAG_COLUMNS), 1, &l), 0);
    assert_int_equal(l, 0x1234);
    double v;
    assert_int_equal(dc_get_double_at(&DS, dc_find(&DS, DC_TAG(0x0018, 0x9087)), 0, &v), 0);
    assert_true(v == 3.141592653589793);
    assert_int_equal(DS.pixel.off, f.n - 4);
    assert_int_equal(DS.pixel.len, 4);
    free(f.b);
}

/* (0008,1140) SQ undefined: item undefined [(0008,1150),(0008,1155)], item
 * defined [(0008,0005) own charset, (0040,A730) SQ undefined: item [(0040,A040)]] */
static void build_nested(fb *f)
{
    fb_init(f);
    meta(f, "1.2.840.10008.1.2.1");
    exs(f, 0x0008, 0x0005, "CS", "ISO_IR 100");
    hdr_ex(f, 0x0008, 0x1140, "SQ", 0xFFFFFFFF);
    item(f, 0xFFFFFFFF);
    exs(f, 0x0008, 0x1150, "UI", "1.2.840.10008.5.1.4.1.1.2");
    exs(f, 0x0008, 0x1155, "UI", "1.2.3.4");
    item_end(f);
    fb inner;
    fb_init(&inner);
    exs(&inner, 0x0008, 0x0005, "CS", "ISO_IR 192");
    hdr_ex(&inner, 0x0040, 0xA730, "SQ", 0xFFFFFFFF);
    item(&inner, 12);
    exs(&inner, 0x0040, 0xA040, "CS", "TEXT");
    seq_end(&inner);
    item(f, (uint32_t)inner.n);
    put(f, inner.b, inner.n);
    seq_end(f);
    exs(f, 0x0010, 0x0010, "PN", "After^Seq");
    free(inner.b);
}

static void test_nested_sequences(void **state)
{
    (void)state;
    fb f;
    build_nested(&f);
    assert_int_equal(parse(&f, NULL), DC_PARSE_OK);
    int top_cs = dc_find(&DS, DC_TAG_SPECIFIC_CHARSET);
    int sq = dc_find(&DS, DC_TAG(0x0008, 0x1140));
    assert_true(sq > top_cs);
    const dc_elem *s = &DS.el[sq];
    assert_int_equal(s->vr, DC_VR('S', 'Q'));
    assert_int_equal(s->len, 2); /* items */
    assert_int_equal(s->flags, DC_EL_UNDEF_LEN);
    assert_int_equal(s->val, (uint32_t)sq + 6); /* subtree: 2 + 3 elements */
    int a = dc_find_in_item(&DS, sq, 0, DC_TAG(0x0008, 0x1155));
    assert_int_equal(a, sq + 2);
    assert_int_equal(DS.el[a].depth, 1);
    assert_int_equal(DS.el[a].parent, sq);
    assert_int_equal(DS.el[a].item, 0);
    assert_int_equal(DS.el[a].charset, top_cs);
    char buf[64];
    assert_int_equal(dc_get_str(&DS, a, buf, sizeof buf), 0);
    assert_string_equal(buf, "1.2.3.4");
    assert_int_equal(dc_find_in_item(&DS, sq, 1, DC_TAG(0x0008, 0x1155)), -1);
    int cs1 = dc_find_in_item(&DS, sq, 1, DC_TAG_SPECIFIC_CHARSET);
    assert_int_equal(cs1, sq + 3);
    int sq2 = dc_find_in_item(&DS, sq, 1, DC_TAG(0x0040, 0xA730));
    assert_int_equal(sq2, sq + 4);
    assert_int_equal(DS.el[sq2].len, 1);
    assert_int_equal(DS.el[sq2].charset, cs1); /* the item's own character set */
    int t = dc_find_in_item(&DS, sq2, 0, DC_TAG(0x0040, 0xA040));
    assert_int_equal(t, sq + 5);
    assert_int_equal(DS.el[t].depth, 2);
    assert_int_equal(DS.el[t].charset, cs1);
    assert_int_equal(DS.el[t].item, 0);
    /* a top-level lookup does not see nested elements */
    assert_int_equal(dc_find(&DS, DC_TAG(0x0040, 0xA040)), -1);
    int after = dc_find(&DS, DC_TAG(0x0010, 0x0010));
    assert_int_equal(after, sq + 6);
    assert_int_equal(DS.el[after].charset, top_cs); /* back to the top-level set */
    free(f.b);
}

static void test_un_handling(void **state)
{
    (void)state;
    fb f;
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2.1");
    exs(&f, 0x0010, 0x0010, "UN", "Doe^UN");  /* known public tag: PN */
    hdr_ex(&f, 0x0008, 0x1140, "UN", 0xFFFFFFFF); /* UN undefined: implicit VR sequence */
    item(&f, 0xFFFFFFFF);
    ims(&f, 0x0008, 0x1155, "1.2.3.4 ");
    item_end(&f);
    seq_end(&f);
    exs(&f, 0x0020, 0x0013, "IS", "7 ");
    assert_int_equal(parse(&f, NULL), DC_PARSE_OK);
    const dc_elem *e = el_of(DC_TAG(0x0010, 0x0010));
    assert_int_equal(e->vr, DC_VR('P', 'N'));
    assert_int_equal(e->flags, DC_EL_VR_FROM_DICT);
    int sq = dc_find(&DS, DC_TAG(0x0008, 0x1140));
    assert_int_equal(DS.el[sq].vr, DC_VR('S', 'Q'));
    assert_int_equal(DS.el[sq].len, 1);
    int u = dc_find_in_item(&DS, sq, 0, DC_TAG(0x0008, 0x1155));
    assert_true(u >= 0);
    assert_int_equal(DS.el[u].vr, DC_VR('U', 'I'));
    assert_int_equal(DS.el[u].flags, DC_EL_VR_FROM_DICT);
    assert_str(DC_TAG_INSTANCE_NUMBER, "7");
    free(f.b);
}

static void test_no_preamble_and_no_ts(void **state)
{
    (void)state;
    fb f;
    fb_init(&f);
    ims(&f, 0x0008, 0x0005, "ISO_IR 100");
    ims(&f, 0x0008, 0x0016, "1.2.840.10008.5.1.4.1.1.2 ");
    ims(&f, 0x0008, 0x0060, "MR");
    assert_int_equal(parse(&f, NULL), DC_PARSE_OK);
    assert_int_equal(DS.has_preamble, 0);
    assert_string_equal(DS.ts_uid, "");
    assert_int_equal(DS.ts, DC_TS_IMPLICIT_LE);
    assert_int_equal(DS.n_el, 3);
    assert_str(DC_TAG_MODALITY, "MR");
    free(f.b);
    fb_init(&f); /* explicit big endian without meta: detected by group >= 0x0400 */
    f.big = 1;
    exs(&f, 0x0008, 0x0005, "CS", "ISO_IR 100");
    exs(&f, 0x0008, 0x0060, "CS", "OT");
    ex_us(&f, 0x0028, 0x0010, 7);
    assert_int_equal(parse(&f, NULL), DC_PARSE_OK);
    assert_int_equal(DS.ts, DC_TS_EXPLICIT_BE);
    long l;
    assert_int_equal(dc_tag_long(&DS, DC_TAG_ROWS, &l), 0);
    assert_int_equal(l, 7);
    free(f.b);
}

static void test_dicomdir_media_class(void **state)
{
    (void)state;
    fb f;
    fb_init(&f);
    uint8_t zero[128] = {0};
    put(&f, zero, 128);
    put(&f, "DICM", 4);
    exs(&f, 0x0002, 0x0002, "UI", "1.2.840.10008.1.3.10");
    exs(&f, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1");
    exs(&f, 0x0004, 0x1130, "CS", "FILESET");
    assert_int_equal(parse(&f, NULL), DC_PARSE_OK);
    assert_string_equal(DS.media_sop_class, "1.2.840.10008.1.3.10");
    free(f.b);
}

static void build_encapsulated(fb *f)
{
    fb_init(f);
    meta(f, "1.2.840.10008.1.2.4.50");
    ex_us(f, 0x0028, 0x0010, 2);
    hdr_ex(f, 0x7FE0, 0x0010, "OB", 0xFFFFFFFF);
    item(f, 8);
    put32(f, 0);
    put32(f, 6);
    item(f, 6);
    put(f, "\xFF\xD8\xAA\xBB\xFF\xD9", 6);
    item(f, 4);
    put(f, "\xFF\xD8\xFF\xD9", 4);
    seq_end(f);
    exs(f, 0xFFFC, 0xFFFC, "OB", "PADD");
}

static void test_encapsulated_fragments(void **state)
{
    (void)state;
    fb f;
    build_encapsulated(&f);
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    /* without walking: parsing stops at the pixel data */
    assert_int_equal(parse(&f, &o), DC_PARSE_OK);
    assert_int_equal(DS.pixel.present, 1);
    assert_int_equal(DS.pixel.encapsulated, 1);
    assert_int_equal(DS.pixel.walked, 0);
    assert_int_equal(DS.pixel.vr, DC_VR('O', 'B'));
    uint64_t off = DS.pixel.off;
    assert_memory_equal(f.b + off, "\xFE\xFF\x00\xE0\x08\x00\x00\x00", 8);
    assert_int_equal(dc_find(&DS, DC_TAG(0xFFFC, 0xFFFC)), -1);
    /* walk later, from memory */
    assert_int_equal(dc_pixel_walk_fragments(&DS, ERR, sizeof ERR), DC_PARSE_OK);
    assert_int_equal(DS.pixel.n_bot, 2);
    assert_int_equal(DS.pixel.bot[1], 6);
    assert_int_equal(DS.pixel.n_frags, 2);
    assert_int_equal(DS.pixel.frags[0].off, off + 16 + 8);
    assert_int_equal(DS.pixel.frags[0].len, 6);
    assert_int_equal(DS.pixel.frags[1].off, off + 16 + 14 + 8);
    assert_int_equal(DS.pixel.frags[1].len, 4);
    assert_int_equal(DS.pixel.len, 10);
    /* walking during the parse continues with the elements after it */
    o.walk_fragments = 1;
    assert_int_equal(parse(&f, &o), DC_PARSE_OK);
    assert_int_equal(DS.pixel.walked, 1);
    assert_int_equal(DS.pixel.n_frags, 2);
    int pad = dc_find(&DS, DC_TAG(0xFFFC, 0xFFFC));
    assert_true(pad >= 0);
    assert_memory_equal(dc_value(&DS, &DS.el[pad]), "PADD", 4);
    free(f.b);
}

static void test_deflated(void **state)
{
    (void)state;
    fb body;
    fb_init(&body);
    exs(&body, 0x0008, 0x0060, "CS", "US");
    exs(&body, 0x0010, 0x0010, "PN", "Deflated^Test");
    ex_us(&body, 0x0028, 0x0010, 4);
    ex(&body, 0x7FE0, 0x0010, "OB", "pixels!!", 8);
    uint8_t z[512];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = body.b;
    zs.avail_in = (uInt)body.n;
    zs.next_out = z;
    zs.avail_out = sizeof z;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t zn = sizeof z - zs.avail_out;
    deflateEnd(&zs);
    fb f;
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2.1.99");
    size_t meta_end = f.n;
    put(&f, z, zn);
    assert_int_equal(parse(&f, NULL), DC_PARSE_OK);
    assert_int_equal(DS.ts, DC_TS_DEFLATED_LE);
    assert_str(DC_TAG(0x0010, 0x0010), "Deflated^Test");
    assert_int_equal(DS.pixel.in_buf, 1);
    assert_int_equal(DS.pixel.off, meta_end + body.n - 8);
    assert_memory_equal(DS.buf + DS.pixel.off, "pixels!!", 8);
    /* a corrupt stream is an error, not a crash */
    f.b[meta_end + 2] ^= 0xFF;
    f.b[meta_end + 3] ^= 0xFF;
    int rc = parse(&f, NULL);
    if (rc != DC_PARSE_OK) assert_int_equal(rc, DC_PARSE_ERROR);
    free(body.b);
    free(f.b);
}

/* ---- files on disk: reads beyond the first chunk, skips, reuse ---- */

static char *write_tmp(const fb *f)
{
    char *path = strdup("/tmp/dc_test_dicom_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, f->b, f->n), (ssize_t)f->n);
    close(fd);
    return path;
}

static void test_file_gaps_and_reuse(void **state)
{
    (void)state;
    fb f;
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2.1");
    exs(&f, 0x0008, 0x0060, "CT", "CT"); /* unknown VR "CT" keeps a 2-byte length */
    uint8_t *big = calloc(1, 300000);
    memcpy(big, "HEAD", 4);
    ex(&f, 0x0029, 0x1010, "OB", big, 300000); /* bulk value past the first read: skipped */
    exs(&f, 0x0029, 0x1020, "LO", "after bulk");
    hdr_ex(&f, 0x7FE0, 0x0010, "OW", 200000);
    size_t px_off = f.n;
    put(&f, big, 200000);
    exs(&f, 0xFFFC, 0xFFFC, "OB", "TAIL"); /* elements after native pixel data */
    free(big);
    char *path = write_tmp(&f);
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    o.keep_open = 1;
    assert_int_equal(dc_parse_file(path, &o, &DS, ERR, sizeof ERR), DC_PARSE_OK);
    assert_true(DS.fd >= 0);
    assert_string_equal(DS.path, path);
    assert_int_equal(DS.file_size, f.n);
    assert_true(DS.bytes_read < 100000); /* neither the bulk value nor the pixels were read */
    const dc_elem *e = el_of(DC_TAG(0x0029, 0x1010));
    assert_int_equal(e->len, 300000);
    assert_true(e->flags & DC_EL_SKIPPED);
    assert_null(dc_value(&DS, e));
    assert_str(DC_TAG(0x0029, 0x1020), "after bulk");
    assert_int_equal(DS.pixel.off, px_off);
    assert_int_equal(DS.pixel.len, 200000);
    e = el_of(DC_TAG(0xFFFC, 0xFFFC));
    assert_memory_equal(dc_value(&DS, e), "TAIL", 4);
    assert_int_equal(el_of(DC_TAG_MODALITY)->vr, DC_VR('C', 'T'));
    /* reuse for another file: content replaced, allocations kept */
    uint8_t *buf_before = DS.buf;
    fb g;
    build_nested(&g);
    char *path2 = write_tmp(&g);
    assert_int_equal(dc_parse_file(path2, NULL, &DS, ERR, sizeof ERR), DC_PARSE_OK);
    assert_int_equal(DS.fd, -1);
    assert_ptr_equal(DS.buf, buf_before);
    assert_int_equal(DS.pixel.present, 0);
    assert_str(DC_TAG(0x0010, 0x0010), "After^Seq");
    /* errors from the file system */
    assert_int_equal(dc_parse_file("/nonexistent/x.dcm", NULL, &DS, ERR, sizeof ERR), DC_PARSE_ERROR);
    assert_string_equal(ERR, "cannot open: No such file or directory");
    unlink(path);
    unlink(path2);
    free(path);
    free(path2);
    free(f.b);
    free(g.b);
}

/* dc_parse_input: a descriptor with its fstat and first bytes (what the
 * prefetch thread hands over) parses as the file itself; the head is used
 * only when it is exactly the first read (whole file, or 16 KiB) */
static int parse_with_head(const char *path, const uint8_t *head, size_t head_len)
{
    dc_input in = {dc_open_input(path), {0, 0, 0, 0, 0}, head, head_len};
    struct stat st;
    assert_int_equal(fstat(in.fd, &st), 0);
    in.stat = dc_file_stat_of(&st);
    return dc_parse_input(&in, path, NULL, &DS, ERR, sizeof ERR);
}

static void test_parse_input_head(void **state)
{
    (void)state;
    fb f;
    build_nested(&f);
    char *path = write_tmp(&f);
    /* the head is what the parse reads: a changed byte in it shows */
    uint8_t *head = malloc(f.n);
    memcpy(head, f.b, f.n);
    head[f.n - 1] = 'q'; /* "After^Seq" -> "After^Seq" with its last byte changed */
    assert_int_equal(parse_with_head(path, head, f.n), DC_PARSE_OK);
    assert_memory_equal(dc_value(&DS, el_of(DC_TAG(0x0010, 0x0010))), "After^Seq", 8);
    assert_int_equal(dc_value(&DS, el_of(DC_TAG(0x0010, 0x0010)))[8], 'q');
    assert_int_equal(DS.bytes_read, f.n);
    assert_true(DS.stat.ok && DS.stat.size == f.n);
    /* a head of another length is not the first read: the file is read */
    assert_int_equal(parse_with_head(path, head, f.n - 1), DC_PARSE_OK);
    assert_str(DC_TAG(0x0010, 0x0010), "After^Seq");
    assert_int_equal(DS.bytes_read, f.n);
    /* a file longer than the first read: a 16 KiB head, the rest read */
    fb g;
    fb_init(&g);
    meta(&g, "1.2.840.10008.1.2.1");
    uint8_t *big = calloc(1, 20000);
    ex(&g, 0x0029, 0x1010, "OB", big, 20000);
    exs(&g, 0x0029, 0x1020, "LO", "past the head");
    free(big);
    char *path2 = write_tmp(&g);
    assert_int_equal(parse_with_head(path2, g.b, DC_PARSE_FIRST_READ), DC_PARSE_OK);
    size_t n_el = DS.n_el;
    uint64_t bytes = DS.bytes_read;
    assert_str(DC_TAG(0x0029, 0x1020), "past the head");
    assert_int_equal(dc_parse_file(path2, NULL, &DS, ERR, sizeof ERR), DC_PARSE_OK);
    assert_int_equal(DS.n_el, n_el);
    assert_int_equal(DS.bytes_read, bytes);
    unlink(path);
    unlink(path2);
    free(path);
    free(path2);
    free(head);
    free(f.b);
    free(g.b);
}

/* dc_vr_has_long_length for every 16-bit value: exactly PS3.5's 4-byte
 * length VRs (the list as written in the standard, not the table) */
static void test_long_length_vrs(void **state)
{
    (void)state;
    static const char *LONG[] = {"OB", "OW", "OF", "OD", "OL", "OV", "SQ", "UT", "UN", "UC", "UR", "SV", "UV"};
    int n_long = 0;
    for (uint32_t v = 0; v <= 0xFFFF; v++) {
        int want = 0;
        for (size_t k = 0; k < sizeof LONG / sizeof *LONG; k++)
            if (v == DC_VR(LONG[k][0], LONG[k][1])) want = 1;
        assert_int_equal(dc_vr_has_long_length((uint16_t)v) != 0, want);
        n_long += want;
    }
    assert_int_equal(n_long, 13);
}

/* ---- malformed input: exact reasons ---- */

static void expect_error(const fb *f, const dc_parse_opts *o, const char *msg)
{
    assert_int_equal(parse(f, o), DC_PARSE_ERROR);
    assert_string_equal(ERR, msg);
}

static void test_truncated(void **state)
{
    (void)state;
    fb f;
    build_explicit(&f);
    size_t full = f.n;
    /* cut inside the header of (0010,0010): offset of that element + 4 */
    size_t off = 132 + 12 + 34 + 28 + 18 + 10; /* meta 12 + (8+26) + (8+20), then 2 elements */
    assert_memory_equal(f.b + off, "\x10\x00\x10\x00", 4);
    f.n = off + 4;
    expect_error(&f, NULL, "truncated header at offset 234");
    /* cut inside the value of (0010,0010) */
    f.n = off + 8 + 3;
    expect_error(&f, NULL, "element (0010,0010) length 8 exceeds file size");
    /* native pixel data cut short: parsed, flagged for the decoder */
    f.n = full - 3;
    assert_int_equal(parse(&f, NULL), DC_PARSE_OK);
    assert_int_equal(DS.pixel.truncated, 1);
    assert_int_equal(DS.pixel.len, 8);
    free(f.b);
}

static void test_bad_lengths(void **state)
{
    (void)state;
    fb f;
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2.1");
    hdr_ex(&f, 0x0010, 0x0010, "UN", 4294967290u);
    put(&f, "abcd", 4);
    expect_error(&f, NULL, "element (0010,0010) length 4294967290 exceeds file size");
    free(f.b);
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2.1");
    exs(&f, 0x0010, 0x0010, "PN", "Doe^John");
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    o.max_value_len = 7; /* the meta values are longer: use a dataset value */
    free(f.b);
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2");
    ims(&f, 0x0010, 0x0010, "Doe^John");
    o.max_value_len = 26;
    assert_int_equal(parse(&f, &o), DC_PARSE_OK);
    o.max_value_len = 7;
    expect_error(&f, &o, "element (0002,0002) length 26 exceeds limit");
    free(f.b);
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2.1");
    exs(&f, 0x0010, 0x0010, "PN", "Doe^John^Jacob^Jingleheimer^Schmidt");
    o.max_value_len = 30;
    expect_error(&f, &o, "element (0010,0010) length 35 exceeds limit");
    dc_parse_opts_default(&o);
    o.max_elements = 3;
    expect_error(&f, &o, "more than 3 elements");
    free(f.b);
    /* an item longer than its sequence */
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2.1");
    hdr_ex(&f, 0x0008, 0x1140, "SQ", 16);
    item(&f, 20);
    exs(&f, 0x0008, 0x1155, "UI", "1.2.3.4");
    exs(&f, 0x0010, 0x0010, "PN", "Doe^John");
    expect_error(&f, NULL, "item length 20 at offset 218 exceeds its sequence");
    free(f.b);
    /* something else where an item should be */
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2.1");
    hdr_ex(&f, 0x0008, 0x1140, "SQ", 0xFFFFFFFF);
    exs(&f, 0x0008, 0x0005, "CS", "ISO_IR 100");
    expect_error(&f, NULL, "expected item tag at offset 218, found (0008,0005)");
    free(f.b);
    /* deflated syntax with garbage */
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2.1.99");
    put(&f, "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 8);
    expect_error(&f, NULL, "deflated data is corrupt");
    free(f.b);
}

static void test_depth_limit(void **state)
{
    (void)state;
    fb f;
    fb_init(&f);
    meta(&f, "1.2.840.10008.1.2.1");
    for (int d = 0; d < 3; d++) {
        hdr_ex(&f, 0x0008, 0x1140, "SQ", 0xFFFFFFFF);
        item(&f, 0xFFFFFFFF);
    }
    exs(&f, 0x0008, 0x1155, "UI", "1.2");
    for (int d = 0; d < 3; d++) {
        item_end(&f);
        seq_end(&f);
    }
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    assert_int_equal(parse(&f, &o), DC_PARSE_OK);
    int last = (int)DS.n_el - 1;
    assert_int_equal(DS.el[last].depth, 3);
    o.max_depth = 2;
    expect_error(&f, &o, "sequence nesting deeper than 2");
    free(f.b);
}

static void test_not_dicom(void **state)
{
    (void)state;
    fb f;
    fb_init(&f);
    const char *txt = "This is a plain text file, not DICOM at all, long enough to look at.\n";
    for (int i = 0; i < 4; i++) put(&f, txt, strlen(txt));
    assert_int_equal(parse(&f, NULL), DC_PARSE_NOT_DICOM);
    f.n = 0;
    assert_int_equal(parse(&f, NULL), DC_PARSE_NOT_DICOM);
    /* group 0008 first but an absurd length: not plausible */
    free(f.b);
    fb_init(&f);
    put16(&f, 0x0008);
    put16(&f, 0x0005);
    put32(&f, 0x7FFFFFF0);
    put(&f, "ISO_IR 100xxxxxxxxxxxxx", 24);
    assert_int_equal(parse(&f, NULL), DC_PARSE_NOT_DICOM);
    free(f.b);
}

/* ---- mutation self-check over real files ---- */

static void check_invariants(const dc_dataset *ds)
{
    for (size_t i = 0; i < ds->n_el; i++) {
        const dc_elem *e = &ds->el[i];
        if (e->parent >= 0) {
            assert_true((size_t)e->parent < i);
            assert_int_equal(ds->el[e->parent].vr, DC_VR('S', 'Q'));
            assert_int_equal(e->depth, ds->el[e->parent].depth + 1);
            assert_true(e->item >= 0 && (uint32_t)e->item < ds->el[e->parent].len);
        } else {
            assert_int_equal(e->depth, 0);
        }
        if (e->vr == DC_VR('S', 'Q')) {
            assert_true(e->val > i && e->val <= ds->n_el);
        } else if (dc_value(ds, e)) {
            assert_true((uint64_t)e->val + e->len <= ds->buf_len);
        }
        if (e->creator >= 0) assert_true((size_t)e->creator < i);
        if (e->charset >= 0) assert_true((size_t)e->charset <= i);
    }
    if (ds->pixel.walked)
        for (size_t k = 0; k < ds->pixel.n_frags; k++)
            assert_true(ds->pixel.frags[k].off + ds->pixel.frags[k].len <= (ds->pixel.in_buf ? ds->buf_len : ds->mem_len));
}

static uint8_t *read_all(const char *path, size_t *n)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) return NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc(sz > 0 ? (size_t)sz : 1);
    *n = fread(b, 1, (size_t)(sz > 0 ? sz : 0), fp);
    fclose(fp);
    return b;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

static void mutate(uint8_t *b, size_t *n)
{
    int kind = (int)(rnd() % 4);
    if (kind == 0 && *n > 0) { /* truncate */
        *n = rnd() % *n;
        return;
    }
    int flips = 1 + (int)(rnd() % 8);
    for (int i = 0; i < flips && *n; i++) {
        size_t at = kind == 1 ? 128 + rnd() % 512 : rnd(); /* header region or anywhere */
        at %= *n;
        if (kind == 3)
            b[at] = (uint8_t)(rnd() % 3 == 0 ? 0xFF : rnd()); /* lengths to 0xFF.. */
        else
            b[at] ^= (uint8_t)(1u << (rnd() % 8));
    }
}

static void mutate_dir(const char *dir, int runs, size_t *files, size_t *total, size_t *ok)
{
    DIR *d = opendir(dir);
    if (!d) return;
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    o.walk_fragments = 1;
    struct dirent *de;
    while ((de = readdir(d))) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t n;
        uint8_t *orig = read_all(path, &n);
        if (!orig) continue;
        (*files)++;
        uint8_t *b = malloc(n ? n : 1);
        for (int r = 0; r < runs; r++) {
            memcpy(b, orig, n);
            size_t m = n;
            mutate(b, &m);
            uint8_t *exact = malloc(m ? m : 1); /* exact size so ASan sees any over-read */
            memcpy(exact, b, m);
            int rc = dc_parse_memory(exact, m, &o, &DS, ERR, sizeof ERR);
            (*total)++;
            if (rc == DC_PARSE_OK) {
                (*ok)++;
                check_invariants(&DS);
                char s[128];
                long l;
                double v;
                for (size_t i = 0; i < DS.n_el; i++) {
                    dc_get_str(&DS, (int)i, s, sizeof s);
                    dc_get_long_at(&DS, (int)i, 0, &l);
                    dc_get_double_at(&DS, (int)i, 1, &v);
                }
                /* the record and its round trip on whatever parsed */
                dc_record rec, back;
                dc_record_init(&rec);
                dc_record_init(&back);
                dc_record_from_dataset(&DS, &rec);
                assert_true(rec.n_frame_geom <= rec.frames);
                dc_buf pk;
                dc_buf_init(&pk);
                dc_record_pack(&rec, &pk);
                const char *q = pk.data;
                assert_int_equal(dc_record_unpack(&q, pk.data + pk.len, &back), 0);
                assert_int_equal(back.n_frame_geom, rec.n_frame_geom);
                dc_buf_free(&pk);
                dc_record_free(&rec);
                dc_record_free(&back);
            } else if (rc == DC_PARSE_ERROR) {
                assert_true(ERR[0] != '\0');
            } else {
                assert_int_equal(rc, DC_PARSE_NOT_DICOM);
            }
            free(exact);
        }
        free(b);
        free(orig);
    }
    closedir(d);
}

static void test_mutation_selfcheck(void **state)
{
    (void)state;
    int runs = getenv("DC_FUZZ_RUNS") ? atoi(getenv("DC_FUZZ_RUNS")) : 40;
    size_t files = 0, total = 0, ok = 0;
    mutate_dir("/usr/lib/python3/dist-packages/pydicom/data/test_files", runs, &files, &total, &ok);
    mutate_dir("/usr/lib/python3/dist-packages/pydicom/data/charset_files", runs, &files, &total, &ok);
    if (files == 0) skip();
    print_message("mutation self-check: %zu files, %zu runs, %zu parsed\n", files, total, ok);
    assert_true(total >= files * (size_t)runs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_explicit_le, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tag_doubles_one_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_implicit_le_dictionary_vrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_be, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_sequences, setup, teardown),
        cmocka_unit_test_setup_teardown(test_un_handling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_preamble_and_no_ts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dicomdir_media_class, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encapsulated_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deflated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_gaps_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_input_head, setup, teardown),
        cmocka_unit_test(test_long_length_vrs),
        cmocka_unit_test(test_find_hints_two_layouts),
        cmocka_unit_test_setup_teardown(test_not_dicom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutation_selfcheck, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
