/*
 * test_flatten.c - one dataset to one CSV row (flatten.c), on datasets built
 * by hand: column names (keywords, nested sequence prefixes, Unknown,
 * Private, PrivateCreator, private dictionary, group lengths), tag paths,
 * duplicates, pixel data exclusion, every value VR (text trimming per VR,
 * charset in force per element, numbers little and big endian, AT, binary),
 * the shortest float formats, row reuse and the columns-only mode, what is
 * remembered across files (values by charset, byte order, creator and style;
 * rows of files shaped like the last one, checked against walks; columns
 * shared by compact copies).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_colkey.h"
#include "dc_csv.h"
#include "dc_flatten.h"

/* ---- building datasets ---- */

static int add(dc_dataset *ds, uint32_t tag, const char *vr, int depth, int parent, int item,
               const void *val, uint32_t len)
{
    if (ds->n_el == ds->cap_el) {
        ds->cap_el = ds->cap_el ? ds->cap_el * 2 : 16;
        ds->el = realloc(ds->el, ds->cap_el * sizeof *ds->el);
    }
    uint16_t v = DC_VR(vr[0], vr[1]);
    dc_elem *e = &ds->el[ds->n_el];
    memset(e, 0, sizeof *e);
    e->tag = tag;
    e->vr = v;
    e->depth = (uint8_t)depth;
    e->parent = parent;
    e->item = item;
    e->creator = -1;
    e->charset = -1;
    e->len = len;
    if (v != DC_VR('S', 'Q')) {
        if (ds->buf_len + len + 1 > ds->buf_cap) {
            ds->buf_cap = (ds->buf_len + len + 1) * 2;
            ds->buf = realloc(ds->buf, ds->buf_cap);
        }
        e->val = (uint32_t)ds->buf_len;
        if (len) memcpy(ds->buf + ds->buf_len, val, len);
        ds->buf_len += len;
    }
    return (int)ds->n_el++;
}

static int add_str(dc_dataset *ds, uint32_t tag, const char *vr, int depth, int parent, int item,
                   const char *s)
{
    return add(ds, tag, vr, depth, parent, item, s, (uint32_t)strlen(s));
}

static int top(dc_dataset *ds, uint32_t tag, const char *vr, const char *s)
{
    return add_str(ds, tag, vr, 0, -1, -1, s);
}

static int sq(dc_dataset *ds, uint32_t tag, int depth, int parent, int item, uint32_t n_items)
{
    return add(ds, tag, "SQ", depth, parent, item, NULL, n_items);
}

/* value of the column named name, or NULL */
static const char *val(const dc_row *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->cols[i].name, name) == 0) return r->vals[i];
    return NULL;
}

static void expect(const dc_row *r, const char *name, const char *want)
{
    const char *v = val(r, name);
    if (!v) fail_msg("no column '%s'", name);
    if (strcmp(v, want) != 0) fail_msg("column '%s': got '%s' want '%s'", name, v, want);
}

static void flatten_new(const dc_dataset *ds, dc_row *r)
{
    dc_row_init(r);
    assert_int_equal(dc_flatten(ds, r), 0);
}

/* ---- names, paths, duplicates ---- */

/* (0008,1140) with two items, a nested sequence three deep, a top-level
 * tag repeated three times, pixel data at top level and in an icon */
static void build_nested(dc_dataset *ds)
{
    dc_dataset_init(ds);
    add(ds, DC_TAG(0x0008, 0x0000), "UL", 0, -1, -1, "\x10\x00\x00\x00", 4);
    top(ds, DC_TAG(0x0008, 0x0060), "CS", "CT");
    int ref = sq(ds, DC_TAG(0x0008, 0x1140), 0, -1, -1, 2);
    add_str(ds, DC_TAG(0x0008, 0x1150), "UI", 1, ref, 0, "1.2.840.10008.5.1.4.1.1.2");
    add_str(ds, DC_TAG(0x0008, 0x1155), "UI", 1, ref, 0, "1.2.3.4\0");
    add_str(ds, DC_TAG(0x0008, 0x1150), "UI", 1, ref, 1, "1.2.840.10008.5.1.4.1.1.2");
    add_str(ds, DC_TAG(0x0008, 0x1155), "UI", 1, ref, 1, "1.2.3.5\0");
    top(ds, DC_TAG(0x0008, 0x1155), "UI", "9.9");
    int req = sq(ds, DC_TAG(0x0040, 0x0275), 0, -1, -1, 1);
    int spc = sq(ds, DC_TAG(0x0040, 0x0008), 1, req, 0, 1);
    add_str(ds, DC_TAG(0x0008, 0x0100), "SH", 2, spc, 0, "CODE1 ");
    add_str(ds, DC_TAG(0x0040, 0x0009), "SH", 1, req, 0, "SPS1");
    top(ds, DC_TAG(0x0010, 0x0020), "LO", "ID1");
    top(ds, DC_TAG(0x0010, 0x0020), "LO", "ID2 ");
    top(ds, DC_TAG(0x0010, 0x0020), "LO", "");
    int icon = sq(ds, DC_TAG(0x0088, 0x0200), 0, -1, -1, 1);
    add(ds, DC_TAG(0x0028, 0x0010), "US", 1, icon, 0, "\x40\x00", 2);
    add(ds, DC_TAG(0x7FE0, 0x0010), "OW", 1, icon, 0, "\0\0\0\0", 4);
    add(ds, DC_TAG(0x7FE0, 0x0010), "OW", 0, -1, -1, "\0\0\0\0\0\0\0\0", 8);
    add(ds, DC_TAG(0x7FE0, 0x0008), "OF", 0, -1, -1, "\0\0\0\0", 4);
    add(ds, DC_TAG(0x7FE0, 0x0009), "OD", 0, -1, -1, "\0\0\0\0\0\0\0\0", 8);
    add(ds, DC_TAG(0xFFFC, 0xFFFC), "OB", 0, -1, -1, "\0\0", 2);
}

static void test_names_and_order(void **state)
{
    (void)state;
    dc_dataset ds;
    build_nested(&ds);
    dc_row r;
    flatten_new(&ds, &r);
    const char *names[] = {
        "GenericGroupLength (0008, 0000)",
        "Modality (0008, 0060)",
        "ReferencedImageSequence_ReferencedSOPClassUID (0008, 1150)",
        "ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)",
        "ReferencedSOPInstanceUID (0008, 1155)",
        "RequestAttributesSequence_ScheduledProtocolCodeSequence_CodeValue (0008, 0100)",
        "RequestAttributesSequence_ScheduledProcedureStepID (0040, 0009)",
        "PatientID (0010, 0020)",
        "IconImageSequence_Rows (0028, 0010)",
        "DataSetTrailingPadding (fffc, fffc)",
    };
    size_t n = sizeof names / sizeof names[0];
    assert_int_equal(r.n, n);
    for (size_t i = 0; i < n; i++) assert_string_equal(r.cols[i].name, names[i]);
    dc_row_free(&r);
    dc_dataset_free(&ds);
}

static void test_paths(void **state)
{
    (void)state;
    dc_dataset ds;
    build_nested(&ds);
    dc_row r;
    flatten_new(&ds, &r);
    assert_int_equal(r.cols[1].depth, 1);
    assert_int_equal(r.cols[1].path[0], DC_TAG(0x0008, 0x0060));
    assert_int_equal(r.cols[3].depth, 2);
    assert_int_equal(r.cols[3].path[0], DC_TAG(0x0008, 0x1140));
    assert_int_equal(r.cols[3].path[1], DC_TAG(0x0008, 0x1155));
    assert_int_equal(r.cols[5].depth, 3);
    assert_int_equal(r.cols[5].path[0], DC_TAG(0x0040, 0x0275));
    assert_int_equal(r.cols[5].path[1], DC_TAG(0x0040, 0x0008));
    assert_int_equal(r.cols[5].path[2], DC_TAG(0x0008, 0x0100));
    assert_int_equal(r.cols[5].path[3], 0);
    /* sorted: the nested (0008,1140)/... columns come before (0008,1155) */
    assert_true(dc_column_cmp(&r.cols[3], &r.cols[4]) < 0);
    dc_row_free(&r);
    dc_dataset_free(&ds);
}

static void test_duplicates(void **state)
{
    (void)state;
    dc_dataset ds;
    build_nested(&ds);
    dc_row r;
    flatten_new(&ds, &r);
    expect(&r, "ReferencedImageSequence_ReferencedSOPClassUID (0008, 1150)",
           "DUPLICATE TAGS IN DICOM:1.2.840.10008.5.1.4.1.1.2/1.2.840.10008.5.1.4.1.1.2");
    expect(&r, "ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)",
           "DUPLICATE TAGS IN DICOM:1.2.3.4/1.2.3.5");
    expect(&r, "ReferencedSOPInstanceUID (0008, 1155)", "9.9");
    expect(&r, "PatientID (0010, 0020)", "DUPLICATE TAGS IN DICOM:ID1/ID2/");
    expect(&r, "RequestAttributesSequence_ScheduledProtocolCodeSequence_CodeValue (0008, 0100)",
           "CODE1");
    expect(&r, "GenericGroupLength (0008, 0000)", "16");
    expect(&r, "IconImageSequence_Rows (0028, 0010)", "64");
    expect(&r, "DataSetTrailingPadding (fffc, fffc)", "<binary 2 bytes>");
    dc_row_free(&r);
    dc_dataset_free(&ds);
}

static void test_private_names(void **state)
{
    (void)state;
    dc_dataset ds;
    dc_dataset_init(&ds);
    int c1 = top(&ds, DC_TAG(0x0009, 0x0010), "LO", "GEMS_IDEN_01");
    int p1 = top(&ds, DC_TAG(0x0009, 0x1001), "LO", "GE_GENESIS_FF ");
    int c2 = top(&ds, DC_TAG(0x0011, 0x0010), "LO", " ACME 1.0 ");
    int p2 = top(&ds, DC_TAG(0x0011, 0x1001), "SH", "x");
    add(&ds, DC_TAG(0x0013, 0x1001), "UN", 0, -1, -1, "abc\0", 4);
    top(&ds, DC_TAG(0x0013, 0x0005), "UN", "ab");
    add(&ds, DC_TAG(0x0009, 0x0000), "UL", 0, -1, -1, "\x04\x00\x00\x00", 4);
    top(&ds, DC_TAG(0x0008, 0x9999), "UN", "zz");
    int c3 = top(&ds, DC_TAG(0x0043, 0x0010), "LO", "GEMS_PARM_01");
    int s = sq(&ds, DC_TAG(0x0043, 0x1029), 0, -1, -1, 1);
    add_str(&ds, DC_TAG(0x0010, 0x0010), "PN", 1, s, 0, "Doe^John");
    ds.el[p1].creator = c1;
    ds.el[p2].creator = c2;
    ds.el[s].creator = c3;
    dc_row r;
    flatten_new(&ds, &r);
    const char *names[] = {
        "PrivateCreator (0009, 0010)",
        "FullFidelity (0009, 1001)",
        "PrivateCreator (0011, 0010)",
        "Private (0011, 1001)",
        "Private (0013, 1001)",
        "Private (0013, 0005)",
        "GenericGroupLength (0009, 0000)",
        "Unknown (0008, 9999)",
        "PrivateCreator (0043, 0010)",
        "HistogramTables_PatientName (0010, 0010)",
    };
    assert_int_equal(r.n, sizeof names / sizeof names[0]);
    for (size_t i = 0; i < r.n; i++) assert_string_equal(r.cols[i].name, names[i]);
    expect(&r, "PrivateCreator (0011, 0010)", " ACME 1.0");
    expect(&r, "Private (0013, 1001)", "<binary 4 bytes>");
    dc_row_free(&r);
    dc_dataset_free(&ds);
}

/* ---- values ---- */

static void test_text_values(void **state)
{
    (void)state;
    dc_dataset ds;
    dc_dataset_init(&ds);
    top(&ds, DC_TAG(0x0008, 0x0008), "CS", "ORIGINAL\\PRIMARY \\AXIAL ");
    top(&ds, DC_TAG(0x0008, 0x0018), "UI", "1.2.3\0");
    top(&ds, DC_TAG(0x0008, 0x0054), "AE", " AE1 \\ AE2 ");
    top(&ds, DC_TAG(0x0002, 0x0016), "AE", "META");
    top(&ds, DC_TAG(0x0018, 0x0050), "DS", " 5.000000 ");
    top(&ds, DC_TAG(0x0020, 0x0032), "DS", "-125.0\\ -130.5 \\7E2 ");
    top(&ds, DC_TAG(0x0020, 0x0013), "IS", " 12 ");
    top(&ds, DC_TAG(0x0008, 0x0020), "DA", "20040119");
    top(&ds, DC_TAG(0x0008, 0x0030), "TM", "072730.123 ");
    top(&ds, DC_TAG(0x0010, 0x1010), "AS", "045Y");
    top(&ds, DC_TAG(0x0008, 0x0120), "UR", "http://x/y ");
    top(&ds, DC_TAG(0x0008, 0x0050), "SH", "");
    top(&ds, DC_TAG(0x0008, 0x1030), "LO", "a, \"quoted\" \\ second ");
    top(&ds, DC_TAG(0x0020, 0x4000), "LT", "line1\r\nline2  ");
    top(&ds, DC_TAG(0x0010, 0x0010), "PN", "Doe^John==\\Roe^Jane ");
    top(&ds, DC_TAG(0x0008, 0x0081), "ST", "Caf\xe9 \\ Bar");
    top(&ds, DC_TAG(0x0008, 0x0080), "LO", "Caf\xe9");
    add(&ds, DC_TAG(0x0018, 0x1030), "LO", 0, -1, -1, "in\0side", 7);
    dc_row r;
    flatten_new(&ds, &r);
    expect(&r, "ImageType (0008, 0008)", "ORIGINAL\\PRIMARY \\AXIAL");
    expect(&r, "SOPInstanceUID (0008, 0018)", "1.2.3");
    expect(&r, "RetrieveAETitle (0008, 0054)", "AE1\\AE2");
    assert_null(val(&r, "SourceApplicationEntityTitle (0002, 0016)")); /* file meta: no column */
    expect(&r, "SliceThickness (0018, 0050)", "5.000000");
    expect(&r, "ImagePositionPatient (0020, 0032)", "-125.0\\-130.5\\7E2");
    expect(&r, "InstanceNumber (0020, 0013)", "12");
    expect(&r, "StudyDate (0008, 0020)", "20040119");
    expect(&r, "StudyTime (0008, 0030)", "072730.123");
    expect(&r, "PatientAge (0010, 1010)", "045Y");
    expect(&r, "URNCodeValue (0008, 0120)", "http://x/y");
    expect(&r, "AccessionNumber (0008, 0050)", "");
    expect(&r, "StudyDescription (0008, 1030)", "a, \"quoted\"\\ second");
    expect(&r, "ImageComments (0020, 4000)", "line1\r\nline2");
    expect(&r, "PatientName (0010, 0010)", "Doe^John\\Roe^Jane");
    expect(&r, "InstitutionAddress (0008, 0081)", "Café \\ Bar"); /* default repertoire: Latin-1 */
    expect(&r, "InstitutionName (0008, 0080)", "Café");
    expect(&r, "ProtocolName (0018, 1030)", "inside"); /* NUL bytes never reach the CSV */
    dc_row_free(&r);
    dc_dataset_free(&ds);
}

/* the (0008,0005) in force: top level, an item's own, the default */
static void test_charset_per_element(void **state)
{
    (void)state;
    dc_dataset ds;
    dc_dataset_init(&ds);
    int cs_top = top(&ds, DC_TAG(0x0008, 0x0005), "CS", "ISO_IR 144");
    int pn = top(&ds, DC_TAG(0x0010, 0x0010), "PN", "\xbb\xee\xda");
    int s = sq(&ds, DC_TAG(0x0032, 0x1064), 0, -1, -1, 2);
    int cs_item =
        add_str(&ds, DC_TAG(0x0008, 0x0005), "CS", 1, s, 0, "ISO 2022 IR 13\\ISO 2022 IR 87 ");
    int jp = add_str(&ds, DC_TAG(0x0010, 0x0010), "PN", 1, s, 0,
                     "\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J");
    int ru = add_str(&ds, DC_TAG(0x0010, 0x0010), "PN", 1, s, 1, "\xbb");
    int cs_ok = top(&ds, DC_TAG(0x0008, 0x0100), "SH", "\xbb");
    int def = top(&ds, DC_TAG(0x0008, 0x0102), "SH", "\xbb");
    int un = top(&ds, DC_TAG(0x0008, 0x0104), "LO", "\xbb");
    ds.el[pn].charset = cs_top;
    ds.el[jp].charset = cs_item;
    ds.el[ru].charset = cs_top;
    ds.el[cs_ok].charset = cs_top;
    ds.el[def].charset = -1;
    ds.el[un].charset = 999; /* out of range: default repertoire */
    dc_row r;
    flatten_new(&ds, &r);
    expect(&r, "SpecificCharacterSet (0008, 0005)", "ISO_IR 144");
    expect(&r, "PatientName (0010, 0010)", "Люк");
    expect(&r, "RequestedProcedureCodeSequence_SpecificCharacterSet (0008, 0005)",
           "ISO 2022 IR 13\\ISO 2022 IR 87");
    expect(&r, "RequestedProcedureCodeSequence_PatientName (0010, 0010)",
           "DUPLICATE TAGS IN DICOM:ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎/Л");
    expect(&r, "CodeValue (0008, 0100)", "Л");
    expect(&r, "CodingSchemeDesignator (0008, 0102)", "»");
    expect(&r, "CodeMeaning (0008, 0104)", "»");
    dc_row_free(&r);
    dc_dataset_free(&ds);
}

static void test_binary_numbers(void **state)
{
    (void)state;
    dc_dataset ds;
    dc_dataset_init(&ds);
    add(&ds, DC_TAG(0x0028, 0x0010), "US", 0, -1, -1, "\x00\x02\xff\xff", 4);
    add(&ds, DC_TAG(0x0028, 0x0106), "SS", 0, -1, -1, "\x00\x80\xff\xff\x01\x00", 6);
    add(&ds, DC_TAG(0x0018, 0x1310), "US", 0, -1, -1, "\x01\x00\x02", 3); /* odd: one value */
    add(&ds, DC_TAG(0x0008, 0x0000), "UL", 0, -1, -1, "\xff\xff\xff\xff", 4);
    add(&ds, DC_TAG(0x0018, 0x6020), "SL", 0, -1, -1, "\x00\x00\x00\x80", 4);
    add(&ds, DC_TAG(0x0018, 0x9087), "FD", 0, -1, -1, "\x00\x00\x00\x00\x00\x00\xe0\x3f", 8);
    add(&ds, DC_TAG(0x0018, 0x9089), "FD", 0, -1, -1,
        "\x9a\x99\x99\x99\x99\x99\xb9\x3f"
        "\x00\x00\x00\x00\x00\x00\xf0\xbf"
        "\x00\x00\x00\x00\x00\x00\x00\x80",
        24);
    add(&ds, DC_TAG(0x0070, 0x0022), "FL", 0, -1, -1, "\xcd\xcc\xcc\x3d\x00\x00\x80\x7f", 8);
    add(&ds, DC_TAG(0x0072, 0x007c), "SL", 0, -1, -1, "\xff\xff\xff\xff", 4);
    add(&ds, DC_TAG(0x0072, 0x0083), "UV", 0, -1, -1, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    add(&ds, DC_TAG(0x0072, 0x0082), "SV", 0, -1, -1, "\x00\x00\x00\x00\x00\x00\x00\x80", 8);
    add(&ds, DC_TAG(0x0028, 0x0009), "AT", 0, -1, -1, "\x54\x00\x10\x00\x08\x00\x18\x00", 8);
    add(&ds, DC_TAG(0x0002, 0x0001), "OB", 0, -1, -1, "\x00\x01", 2);
    int enc = sq(&ds, DC_TAG(0x0400, 0x0500), 0, -1, -1, 1);
    add(&ds, DC_TAG(0x0002, 0x0001), "OB", 1, enc, 0, "\x00\x01", 2);
    add(&ds, DC_TAG(0x0028, 0x1201), "OW", 0, -1, -1, "", 0);
    add(&ds, DC_TAG(0x0018, 0x1320), "FL", 0, -1, -1, "", 0);
    add(&ds, DC_TAG(0x0009, 0x1099), "UN", 0, -1, -1, "\x01\x02\x03", 3);
    dc_row r;
    flatten_new(&ds, &r);
    expect(&r, "Rows (0028, 0010)", "512\\65535");
    expect(&r, "SmallestImagePixelValue (0028, 0106)", "-32768\\-1\\1");
    expect(&r, "AcquisitionMatrix (0018, 1310)", "1");
    expect(&r, "GenericGroupLength (0008, 0000)", "4294967295");
    expect(&r, "ReferencePixelX0 (0018, 6020)", "-2147483648");
    expect(&r, "DiffusionBValue (0018, 9087)", "0.5");
    expect(&r, "DiffusionGradientOrientation (0018, 9089)", "0.1\\-1.0\\-0.0");
    expect(&r, "GraphicData (0070, 0022)", "0.1\\inf");
    expect(&r, "SelectorSLValue (0072, 007c)", "-1");
    expect(&r, "SelectorUVValue (0072, 0083)", "18446744073709551615");
    expect(&r, "SelectorSVValue (0072, 0082)", "-9223372036854775808");
    expect(&r, "FrameIncrementPointer (0028, 0009)", "(0054, 0010)\\(0008, 0018)");
    assert_null(val(&r, "FileMetaInformationVersion (0002, 0001)"));
    expect(&r, "EncryptedAttributesSequence_FileMetaInformationVersion (0002, 0001)",
           "<binary 2 bytes>");
    expect(&r, "RedPaletteColorLookupTableData (0028, 1201)", "");
    expect(&r, "B1rms (0018, 1320)", "");
    expect(&r, "Private (0009, 1099)", "<binary 3 bytes>");
    dc_row_free(&r);
    dc_dataset_free(&ds);
}

static void test_big_endian(void **state)
{
    (void)state;
    dc_dataset ds;
    dc_dataset_init(&ds);
    add(&ds, DC_TAG(0x0028, 0x0010), "US", 0, -1, -1, "\x02\x00\x00\x01", 4);
    add(&ds, DC_TAG(0x0028, 0x0106), "SS", 0, -1, -1, "\xff\xfe", 2);
    add(&ds, DC_TAG(0x0008, 0x0000), "UL", 0, -1, -1, "\x00\x00\x01\x02", 4);
    add(&ds, DC_TAG(0x0018, 0x6020), "SL", 0, -1, -1, "\xff\xff\xff\xfe", 4);
    add(&ds, DC_TAG(0x0018, 0x9087), "FD", 0, -1, -1, "\x40\x09\x21\xfb\x54\x44\x2d\x18", 8);
    add(&ds, DC_TAG(0x0070, 0x0022), "FL", 0, -1, -1, "\x3f\xc0\x00\x00\x3d\xcc\xcc\xcd", 8);
    add(&ds, DC_TAG(0x0028, 0x0009), "AT", 0, -1, -1, "\x00\x54\x00\x10", 4);
    add(&ds, DC_TAG(0x0028, 0x0030), "DS", 0, -1, -1, "0.5\\0.5 ", 8);
    for (size_t i = 0; i < ds.n_el; i++) ds.el[i].flags |= DC_EL_BIGENDIAN;
    dc_row r;
    flatten_new(&ds, &r);
    expect(&r, "Rows (0028, 0010)", "512\\1");
    expect(&r, "SmallestImagePixelValue (0028, 0106)", "-2");
    expect(&r, "GenericGroupLength (0008, 0000)", "258");
    expect(&r, "ReferencePixelX0 (0018, 6020)", "-2");
    expect(&r, "DiffusionBValue (0018, 9087)", "3.141592653589793");
    expect(&r, "GraphicData (0070, 0022)", "1.5\\0.1");
    expect(&r, "FrameIncrementPointer (0028, 0009)", "(0054, 0010)");
    expect(&r, "PixelSpacing (0028, 0030)", "0.5\\0.5"); /* text is not swapped */
    dc_row_free(&r);
    dc_dataset_free(&ds);
}

static void expect_double(double v, const char *want)
{
    char s[64];
    dc_format_double(v, s, sizeof s);
    if (strcmp(s, want) != 0) fail_msg("double %.17g: got '%s' want '%s'", v, s, want);
}

static void expect_float(float v, const char *want)
{
    char s[64];
    dc_format_float(v, s, sizeof s);
    if (strcmp(s, want) != 0) fail_msg("float %.9g: got '%s' want '%s'", (double)v, s, want);
}

/* Python repr() for doubles, numpy str() for float32 */
static void test_float_format(void **state)
{
    (void)state;
    expect_double(0.0, "0.0");
    expect_double(-0.0, "-0.0");
    expect_double(1.0, "1.0");
    expect_double(0.1, "0.1");
    expect_double(0.3, "0.3");
    expect_double(2.0 / 3.0, "0.6666666666666666");
    expect_double(1e-5, "1e-05");
    expect_double(0.0001, "0.0001");
    expect_double(1.5e-7, "1.5e-07");
    expect_double(123456.789, "123456.789");
    expect_double(1e15, "1000000000000000.0");
    expect_double(1e16, "1e+16");
    expect_double(1.2345678901234568e17, "1.2345678901234568e+17");
    expect_double(9007199254740993.0, "9007199254740992.0");
    expect_double(-2.5, "-2.5");
    expect_double(5e-324, "5e-324");
    expect_double(1.7976931348623157e308, "1.7976931348623157e+308");
    expect_double(1e100, "1e+100");
    expect_double(NAN, "nan");
    expect_double(INFINITY, "inf");
    expect_double(-INFINITY, "-inf");
    expect_float(0.1f, "0.1");
    expect_float(1.0f, "1.0");
    expect_float(-0.0f, "-0.0");
    expect_float(1.0f / 3.0f, "0.33333334");
    expect_float(16777216.0f, "16777216.0");
    expect_float(1e-5f, "1e-05");
    expect_float(3.4028235e38f, "3.4028235e+38");
    expect_float(1.4e-45f, "1e-45");
    expect_float(123456.79f, "123456.79");
    expect_float(0.6509434f, "0.6509434");
    expect_float(1e16f, "1e+16");
    expect_float(NAN, "nan");
    char small[4];
    dc_format_double(123456.789, small, sizeof small);
    assert_string_equal(small, "123");
}

/* Reference: bisect the digit count with printf("%.*e") and strtod/strtof
 * (the obvious, slow way), laid out like Python's repr. */
static void reference(double v, int f32, char *out, size_t outlen)
{
    char buf[64];
    if (f32) v = (float)v;
    if (isnan(v) || isinf(v)) {
        snprintf(out, outlen, "%s", isnan(v) ? "nan" : (v < 0 ? "-inf" : "inf"));
        return;
    }
    int p = 1;
    for (; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, v);
        if (f32 ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v) break;
    }
    snprintf(buf, sizeof buf, "%.*e", p - 1, fabs(v));
    char digits[32];
    int nd = 0;
    const char *q = buf;
    for (; *q != 'e'; q++)
        if (*q != '.') digits[nd++] = *q;
    int exp = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = '\0';
    const char *sign = signbit(v) ? "-" : "";
    if (exp >= 16 || exp < -4) {
        snprintf(out, outlen, "%s%c%s%se%c%02d", sign, digits[0], nd > 1 ? "." : "", digits + 1,
                 exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp >= 0) {
        char whole[32];
        for (int i = 0; i <= exp; i++) whole[i] = i < nd ? digits[i] : '0';
        whole[exp + 1] = '\0';
        snprintf(out, outlen, "%s%s.%s", sign, whole, nd > exp + 1 ? digits + exp + 1 : "0");
    } else {
        snprintf(out, outlen, "%s0.%.*s%s", sign, -exp - 1, "00000", digits);
    }
}

static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void check_real(double v, int f32)
{
    char got[64], want[64];
    if (f32)
        dc_format_float((float)v, got, sizeof got);
    else
        dc_format_double(v, got, sizeof got);
    reference(v, f32, want, sizeof want);
    if (strcmp(got, want) != 0)
        fail_msg("%s %.17g: got '%s' want '%s'", f32 ? "float" : "double", v, got, want);
}

/* the fast exact path agrees with the printf reference on random bit
 * patterns, decimal-looking values and the edges of its range */
static void test_float_format_random(void **state)
{
    (void)state;
    for (int i = 0; i < 100000; i++) {
        uint32_t u = (uint32_t)rnd();
        float f;
        memcpy(&f, &u, 4);
        if (!isnan(f)) check_real(f, 1);
        uint64_t w = rnd();
        double d;
        memcpy(&d, &w, 8);
        if (!isnan(d)) check_real(d, 0);
        /* values people type: k / 10^n, and their float32 versions */
        double dec = (double)(int64_t)(rnd() % 2000001 - 1000000) / pow(10, (double)(rnd() % 12));
        check_real(dec, 0);
        check_real((float)dec, 1);
        /* float32 results of arithmetic, as devices store them */
        check_real((float)(dec / 3.0), 1);
        check_real(dec / 7.0, 0);
    }
    double edges[] = {5e-324,
                      2.2250738585072014e-308,
                      2.2250738585072009e-308,
                      1e-300,
                      1e-20,
                      1e-16,
                      9.999999999999999e-5,
                      1e-4,
                      0.5,
                      1.0,
                      2.0,
                      9.5,
                      9.999999999999998,
                      1e15,
                      1e16,
                      9007199254740992.0,
                      1.7976931348623157e308,
                      1e22,
                      1e23,
                      123456789012345678.0};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        check_real(edges[i], 0);
        check_real(-edges[i], 0);
        check_real(edges[i], 1);
    }
    for (uint32_t u = 0; u < 2000; u++) { /* subnormal and smallest normal float32 */
        float f;
        uint32_t b = u < 1000 ? u : 0x00800000u + (u - 1000);
        memcpy(&f, &b, 4);
        check_real(f, 1);
    }
    for (int e = -45; e <= 38; e++) { /* powers of ten and their neighbours */
        float f = (float)pow(10, e);
        check_real(f, 1);
        check_real(nextafterf(f, INFINITY), 1);
        check_real(nextafterf(f, 0), 1);
    }
    for (int e = -323; e <= 308; e++) {
        double d = pow(10, e);
        check_real(d, 0);
        check_real(nextafter(d, INFINITY), 0);
        check_real(nextafter(d, 0), 0);
    }
}

/* ---- rows ---- */

static void test_row_reuse_and_columns_only(void **state)
{
    (void)state;
    dc_dataset a, b;
    build_nested(&a);
    dc_dataset_init(&b);
    top(&b, DC_TAG(0x0010, 0x0020), "LO", "OTHER");
    top(&b, DC_TAG(0x0008, 0x0060), "CS", "MR");
    dc_row r;
    dc_row_init(&r);
    for (int round = 0; round < 3; round++) {
        dc_row_clear(&r);
        dc_flatten(&a, &r);
        assert_int_equal(r.n, 10);
        expect(&r, "PatientID (0010, 0020)", "DUPLICATE TAGS IN DICOM:ID1/ID2/");
        dc_row_clear(&r);
        dc_flatten(&b, &r);
        assert_int_equal(r.n, 2);
        assert_string_equal(r.cols[0].name, "PatientID (0010, 0020)");
        expect(&r, "PatientID (0010, 0020)", "OTHER");
        expect(&r, "Modality (0008, 0060)", "MR");
        dc_row_clear(&r);
        dc_flatten_columns(&a, &r);
        assert_int_equal(r.n, 10);
        assert_string_equal(r.cols[9].name, "DataSetTrailingPadding (fffc, fffc)");
        for (size_t i = 0; i < r.n; i++) assert_null(r.vals[i]);
    }
    dc_row_free(&r);
    dc_dataset_free(&a);
    dc_dataset_free(&b);
}

/* many columns and long values: index growth, arena blocks larger than one */
static void test_many_columns(void **state)
{
    (void)state;
    dc_dataset ds;
    dc_dataset_init(&ds);
    for (int i = 0; i < 3000; i++) {
        uint8_t v[2] = {(uint8_t)(i & 0xFF), (uint8_t)(i >> 8)};
        add(&ds, DC_TAG(0x0031, 0x1000 + i), "US", 0, -1, -1, v, 2);
    }
    char *big = malloc(100000);
    memset(big, 'x', 99999);
    big[99999] = '\0';
    top(&ds, DC_TAG(0x0020, 0x4000), "LT", big);
    top(&ds, DC_TAG(0x0020, 0x4000), "LT", "y");
    dc_row r;
    dc_row_init(&r);
    for (int round = 0; round < 2; round++) {
        dc_row_clear(&r);
        dc_flatten(&ds, &r);
        assert_int_equal(r.n, 3001);
        assert_string_equal(r.cols[2999].name, "Private (0031, 1bb7)");
        assert_string_equal(r.vals[2999], "2999");
        const char *lt = val(&r, "ImageComments (0020, 4000)");
        assert_int_equal(strlen(lt), strlen("DUPLICATE TAGS IN DICOM:") + 99999 + 2);
        assert_int_equal(lt[strlen(lt) - 1], 'y');
        /* the first column's value survived all the arena growth */
        assert_string_equal(r.vals[0], "0");
    }
    free(big);
    dc_row_free(&r);
    dc_dataset_free(&ds);
}

/* a column repeated many times (per-frame functional groups) stays linear,
 * and flattening a second dataset into the same row keeps counting */
static void test_many_duplicates(void **state)
{
    (void)state;
    dc_dataset ds;
    dc_dataset_init(&ds);
    int n = 20000;
    int s = sq(&ds, DC_TAG(0x5200, 0x9230), 0, -1, -1, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i % 10);
        add_str(&ds, DC_TAG(0x0020, 0x9057), "UL", 1, s, i, "");
        add_str(&ds, DC_TAG(0x0020, 0x0013), "IS", 1, s, i, v);
    }
    dc_row r;
    flatten_new(&ds, &r);
    const char *v = val(&r, "PerFrameFunctionalGroupsSequence_InstanceNumber (0020, 0013)");
    assert_int_equal(strlen(v), strlen("DUPLICATE TAGS IN DICOM:") + 2 * (size_t)n - 1);
    assert_memory_equal(v, "DUPLICATE TAGS IN DICOM:0/1/2/3/4/5/6/7/8/9/0/1", 47);
    assert_string_equal(v + strlen(v) - 3, "8/9");
    const char *e = val(&r, "PerFrameFunctionalGroupsSequence_InStackPositionNumber (0020, 9057)");
    assert_int_equal(strlen(e), strlen("DUPLICATE TAGS IN DICOM:") + (size_t)n - 1);
    dc_row_free(&r);

    dc_dataset one;
    dc_dataset_init(&one);
    top(&one, DC_TAG(0x0010, 0x0020), "LO", "A");
    dc_row_init(&r);
    dc_flatten(&one, &r);
    dc_flatten(&one, &r); /* appended: now met twice */
    expect(&r, "PatientID (0010, 0020)", "DUPLICATE TAGS IN DICOM:A/A");
    dc_flatten(&one, &r);
    expect(&r, "PatientID (0010, 0020)", "DUPLICATE TAGS IN DICOM:A/A/A");
    dc_row_clear(&r);
    dc_flatten(&one, &r);
    expect(&r, "PatientID (0010, 0020)", "A");
    dc_row_free(&r);
    dc_dataset_free(&one);
    dc_dataset_free(&ds);
}

/* more distinct names than the name cache holds, twice, and after a release */
static void test_name_cache_eviction(void **state)
{
    (void)state;
    dc_dataset ds;
    dc_dataset_init(&ds);
    int n = 30000;
    for (int i = 0; i < n; i++)
        add(&ds, DC_TAG(0x0031 + 2 * (i / 20000), 0x1000 + i % 20000), "UN", 0, -1, -1, "", 0);
    dc_row r;
    dc_row_init(&r);
    for (int round = 0; round < 3; round++) {
        if (round == 2) dc_flatten_release();
        dc_row_clear(&r);
        dc_flatten_columns(&ds, &r);
        assert_int_equal(r.n, (size_t)n);
        for (int i = 0; i < n; i++) {
            char want[64];
            snprintf(want, sizeof want, "Private (%04x, %04x)", 0x0031 + 2 * (i / 20000),
                     0x1000 + i % 20000);
            if (strcmp(r.cols[i].name, want) != 0)
                fail_msg("column %d: %s, want %s", i, r.cols[i].name, want);
        }
    }
    dc_row_free(&r);
    dc_dataset_free(&ds);
}

static void test_empty_dataset(void **state)
{
    (void)state;
    dc_dataset ds;
    dc_dataset_init(&ds);
    dc_row r;
    flatten_new(&ds, &r);
    assert_int_equal(r.n, 0);
    dc_row_clear(&r);
    dc_row_free(&r);
    dc_row_free(&r); /* idempotent */
}

/* ---- output.csv_style: seed (pydicom's names and str(value)) ---- */

static void test_seed_names(void **state)
{
    (void)state;
    dc_flatten_set_style(DC_CSV_STYLE_SEED);
    dc_dataset ds;
    build_nested(&ds);
    dc_row r;
    flatten_new(&ds, &r);
    const char *names[] = {
        "Group Length (0008, 0000)", /* not in pydicom's dictionary: element 0000 */
        "Modality (0008, 0060)",
        "Referenced Image Sequence_Referenced SOP Class UID (0008, 1150)",
        "Referenced Image Sequence_Referenced SOP Instance UID (0008, 1155)",
        "Referenced SOP Instance UID (0008, 1155)",
        "Request Attributes Sequence_Scheduled Protocol Code Sequence_Code Value (0008, 0100)",
        "Request Attributes Sequence_Scheduled Procedure Step ID (0040, 0009)",
        "Patient ID (0010, 0020)",
        "Icon Image Sequence_Rows (0028, 0010)",
        "Data Set Trailing Padding (fffc, fffc)",
    };
    size_t n = sizeof names / sizeof names[0];
    assert_int_equal(r.n, n);
    for (size_t i = 0; i < n; i++) assert_string_equal(r.cols[i].name, names[i]);
    expect(&r, "Patient ID (0010, 0020)", "DUPLICATE TAGS IN DICOM:ID1/ID2/");
    /* public sequences: the key read back from a name is the true tag path */
    for (size_t i = 0; i < n; i++) {
        dc_column k;
        dc_column_key_from_name(r.cols[i].name, &k);
        assert_int_equal(k.depth, r.cols[i].depth);
        assert_memory_equal(k.path, r.cols[i].path, k.depth * sizeof k.path[0]);
    }
    dc_row_free(&r);
    dc_dataset_free(&ds);

    dc_dataset_init(&ds);
    int c1 = top(&ds, DC_TAG(0x0009, 0x0010), "LO", "GEMS_IDEN_01 ");
    int p1 = top(&ds, DC_TAG(0x0009, 0x1001), "LO", "GE_GENESIS_FF ");
    int c2 = top(&ds, DC_TAG(0x0011, 0x0010), "LO", "ACME 1.0 ");
    int p2 = top(&ds, DC_TAG(0x0011, 0x1001), "SH", "x");
    top(&ds, DC_TAG(0x0013, 0x1001), "UN", "ab");
    top(&ds, DC_TAG(0x0008, 0x9999), "UN", "zz");
    top(&ds, DC_TAG(0x6002, 0x0010), "US", "\x02\x00");
    int c3 = top(&ds, DC_TAG(0x0043, 0x0010), "LO", "GEMS_PARM_01");
    int s = sq(&ds, DC_TAG(0x0043, 0x10a0), 0, -1, -1, 1);
    add_str(&ds, DC_TAG(0x0010, 0x0010), "PN", 1, s, 0, "Doe^John");
    int s2 = sq(&ds, DC_TAG(0x0043, 0x10a1), 0, -1, -1, 1);
    add_str(&ds, DC_TAG(0x0010, 0x0020), "LO", 1, s2, 0, "ID");
    ds.el[p1].creator = c1;
    ds.el[p2].creator = c2;
    ds.el[s].creator = c3;
    ds.el[s2].creator = c3;
    ds.el[s2].flags |= DC_EL_UNDEF_LEN;
    flatten_new(&ds, &r);
    const char *pnames[] = {
        "Private Creator (0009, 0010)",
        "[Full fidelity] (0009, 1001)", /* pydicom's private dictionary, in brackets */
        "Private Creator (0011, 0010)",
        "Private tag data (0011, 1001)", /* creator unknown to pydicom */
        "Private tag data (0013, 1001)", /* no creator */
        " (0008, 9999)",                 /* unknown public tag: pydicom's name is "" */
        "Overlay Rows (6002, 0010)",     /* repeating group 60xx */
        "Private Creator (0043, 0010)",
        /* a private sequence of defined length is named by its creator ... */
        "[Spectroscopy Pixel Sequence]_Patient's Name (0010, 0010)",
        /* ... one of undefined length never gets its creator in pydicom */
        "Private tag data_Patient ID (0010, 0020)",
    };
    assert_int_equal(r.n, sizeof pnames / sizeof pnames[0]);
    for (size_t i = 0; i < r.n; i++) assert_string_equal(r.cols[i].name, pnames[i]);
    dc_row_free(&r);
    dc_dataset_free(&ds);
    dc_flatten_set_style(DC_CSV_STYLE_DICOM);
}

static void test_seed_values(void **state)
{
    (void)state;
    dc_flatten_set_style(DC_CSV_STYLE_SEED);
    dc_dataset ds;
    dc_dataset_init(&ds);
    top(&ds, DC_TAG(0x0008, 0x0008), "CS", "ORIGINAL\\PRIMARY\\AXIAL ");
    top(&ds, DC_TAG(0x0008, 0x0060), "CS", "CT");
    top(&ds, DC_TAG(0x0008, 0x1030), "LO", "it's\\a \"q\"\\tab\there");
    top(&ds, DC_TAG(0x0010, 0x0010), "PN", "Doe^John\\O'Neil^X ");
    top(&ds, DC_TAG(0x0018, 0x0050), "DS", "");
    top(&ds, DC_TAG(0x0020, 0x0013), "IS", "007\\08");
    top(&ds, DC_TAG(0x0020, 0x0032), "DS", "-1.5e-05\\2 \\3.0");
    top(&ds, DC_TAG(0x0028, 0x0030), "DS", "1.0\\abc");
    top(&ds, DC_TAG(0x0028, 0x0034), "IS", "\\2");
    top(&ds, DC_TAG(0x0020, 0x4000), "LT", "a\\b");
    add(&ds, DC_TAG(0x0028, 0x0010), "US", 0, -1, -1, "\x00\x02", 2);
    add(&ds, DC_TAG(0x0028, 0x0011), "US", 0, -1, -1, "", 0);
    add(&ds, DC_TAG(0x0028, 0x1101), "US", 0, -1, -1, "\x01\x00\x02\x00\x03\x00", 6);
    add(&ds, DC_TAG(0x0028, 0x0106), "SS", 0, -1, -1, "\xfb\xff\x03\x00", 4);
    add(&ds, DC_TAG(0x0018, 0x9219), "FL", 0, -1, -1, "\xcd\xcc\xcc\x3d", 4);
    add(&ds, DC_TAG(0x0018, 0x9082), "FD", 0, -1, -1,
        "\x9a\x99\x99\x99\x99\x99\xb9\x3f\x40\x8c\xb5\x78\x1d\xaf\x15\x44", 16);
    add(&ds, DC_TAG(0x0020, 0x9165), "AT", 0, -1, -1, "\x28\x00\x10\x00\x20\x00\x13\x00", 8);
    add(&ds, DC_TAG(0x0020, 0x9167), "AT", 0, -1, -1, "\x28\x00\x10\x00", 4);
    dc_row r;
    flatten_new(&ds, &r);
    /* each expected text is what pydicom 2.3.1 prints, str(elem.value) */
    expect(&r, "Image Type (0008, 0008)", "['ORIGINAL', 'PRIMARY', 'AXIAL']");
    expect(&r, "Modality (0008, 0060)", "CT");
    expect(&r, "Study Description (0008, 1030)", "[\"it's\", 'a \"q\"', 'tab\\there']");
    expect(&r, "Patient's Name (0010, 0010)", "[Doe^John, O'Neil^X]");
    expect(&r, "Slice Thickness (0018, 0050)", "None");
    expect(&r, "Instance Number (0020, 0013)", "[007, 08]");
    expect(&r, "Image Position (Patient) (0020, 0032)", "[-1.5e-05, 2, 3.0]");
    expect(&r, "Pixel Spacing (0028, 0030)", "['1.0', 'abc']");
    expect(&r, "Pixel Aspect Ratio (0028, 0034)", "['', 2]");
    expect(&r, "Image Comments (0020, 4000)", "a\\b");
    expect(&r, "Rows (0028, 0010)", "512");
    expect(&r, "Columns (0028, 0011)", "None");
    expect(&r, "Red Palette Color Lookup Table Descriptor (0028, 1101)", "[1, 2, 3]");
    expect(&r, "Smallest Image Pixel Value (0028, 0106)", "[-5, 3]");
    expect(&r, "Tag Angle Second Axis (0018, 9219)", "0.10000000149011612");
    expect(&r, "Effective Echo Time (0018, 9082)", "[0.1, 1e+20]");
    expect(&r, "Dimension Index Pointer (0020, 9165)", "[(0028, 0010), (0020, 0013)]");
    expect(&r, "Functional Group Pointer (0020, 9167)", "(0028, 0010)");
    dc_row_free(&r);
    dc_dataset_free(&ds);
    dc_flatten_set_style(DC_CSV_STYLE_DICOM);
}


/* ---- what is remembered across files (one reused row, as the header pass
 * flattens) must never give a file another file's text ---- */

/* one file: (0008,0005) charset (none when NULL), PatientName pn_bytes,
 * Rows as 2 bytes (big endian when big), private creator + (0009,1001) */
static void build_context(dc_dataset *ds, const char *charset, const char *pn, int big,
                          const char *creator)
{
    dc_dataset_init(ds);
    int cs = charset ? top(ds, DC_TAG(0x0008, 0x0005), "CS", charset) : -1;
    int c = top(ds, DC_TAG(0x0009, 0x0010), "LO", creator);
    int p = top(ds, DC_TAG(0x0009, 0x1001), "LO", "GE_GENESIS_FF");
    int name = top(ds, DC_TAG(0x0010, 0x0010), "PN", pn);
    int rows = add(ds, DC_TAG(0x0028, 0x0010), "US", 0, -1, -1, "\x01\x02", 2);
    ds->el[p].creator = c;
    ds->el[name].charset = cs;
    if (big) ds->el[rows].flags |= DC_EL_BIGENDIAN;
}

static void flatten_again(const dc_dataset *ds, dc_row *r)
{
    dc_row_clear(r);
    assert_int_equal(dc_flatten(ds, r), 0);
}

static void test_value_cache_context(void **state)
{
    (void)state;
    dc_row r;
    dc_row_init(&r);
    for (int round = 0; round < 2; round++) { /* the second round: all remembered */
        dc_dataset ds;
        build_context(&ds, "ISO_IR 144", "\xbb\xee\xda", 0, "GEMS_IDEN_01");
        flatten_again(&ds, &r);
        expect(&r, "PatientName (0010, 0010)", "Люк");
        expect(&r, "Rows (0028, 0010)", "513");
        expect(&r, "FullFidelity (0009, 1001)", "GE_GENESIS_FF");
        dc_dataset_free(&ds);
        /* the same bytes under another charset, big endian, another creator */
        build_context(&ds, "ISO_IR 100", "\xbb\xee\xda", 1, "ACME 1.0");
        flatten_again(&ds, &r);
        expect(&r, "PatientName (0010, 0010)", "»îÚ");
        expect(&r, "Rows (0028, 0010)", "258");
        expect(&r, "Private (0009, 1001)", "GE_GENESIS_FF");
        assert_null(val(&r, "FullFidelity (0009, 1001)"));
        dc_dataset_free(&ds);
        /* no charset element: the default repertoire */
        build_context(&ds, NULL, "\xbb\xee\xda", 0, "GEMS_IDEN_01");
        flatten_again(&ds, &r);
        expect(&r, "PatientName (0010, 0010)", "»îÚ");
        dc_dataset_free(&ds);
        /* a charset of the same length as the first: the bytes decide */
        build_context(&ds, "ISO_IR 148", "\xdd", 0, "GEMS_IDEN_01");
        flatten_again(&ds, &r);
        expect(&r, "PatientName (0010, 0010)", "İ");
        dc_dataset_free(&ds);
        build_context(&ds, "ISO_IR 100", "\xdd", 0, "GEMS_IDEN_01");
        flatten_again(&ds, &r);
        expect(&r, "PatientName (0010, 0010)", "Ý");
        dc_dataset_free(&ds);
    }
    /* the style in force: the same element in both styles, one after the other */
    dc_dataset ds;
    dc_dataset_init(&ds);
    top(&ds, DC_TAG(0x0008, 0x0008), "CS", "ORIGINAL\\PRIMARY");
    flatten_again(&ds, &r);
    expect(&r, "ImageType (0008, 0008)", "ORIGINAL\\PRIMARY");
    dc_flatten_set_style(DC_CSV_STYLE_SEED);
    flatten_again(&ds, &r);
    expect(&r, "Image Type (0008, 0008)", "['ORIGINAL', 'PRIMARY']");
    dc_flatten_set_style(DC_CSV_STYLE_DICOM);
    flatten_again(&ds, &r);
    expect(&r, "ImageType (0008, 0008)", "ORIGINAL\\PRIMARY");
    dc_row_free(&r);
    dc_dataset_free(&ds);
}

/* values that differ only in their last byte, short and longer than what is
 * remembered, and more distinct values than there are places to remember */
static void test_value_cache_many(void **state)
{
    (void)state;
    char long_a[301], long_b[301], want[310];
    memset(long_a, 'x', 300);
    long_a[300] = '\0';
    memcpy(long_b, long_a, sizeof long_a);
    long_b[299] = 'y';
    dc_row r;
    dc_row_init(&r);
    for (int i = 0; i < 20000; i++) {
        char id[32];
        snprintf(id, sizeof id, "ID%d", i % 9001);
        dc_dataset ds;
        dc_dataset_init(&ds);
        top(&ds, DC_TAG(0x0010, 0x0020), "LO", id);
        top(&ds, DC_TAG(0x0010, 0x4000), "LT", i & 1 ? long_b : long_a);
        uint16_t n = (uint16_t)(i % 7001);
        add(&ds, DC_TAG(0x0020, 0x0013), "IS", 0, -1, -1, id + 2, (uint32_t)strlen(id + 2));
        add(&ds, DC_TAG(0x0028, 0x0011), "US", 0, -1, -1, &n, 2);
        flatten_again(&ds, &r);
        expect(&r, "PatientID (0010, 0020)", id);
        expect(&r, "PatientComments (0010, 4000)", i & 1 ? long_b : long_a);
        expect(&r, "InstanceNumber (0020, 0013)", id + 2);
        snprintf(want, sizeof want, "%u", n);
        expect(&r, "Columns (0028, 0011)", want);
        dc_dataset_free(&ds);
    }
    dc_row_free(&r);
}

/* two files of other columns: a (PatientID A1, Modality CT) and b
 * (PatientID b_pid, Manufacturer ACME) */
static void two_kinds(dc_dataset *a, dc_dataset *b, const char *b_pid)
{
    dc_dataset_init(a);
    top(a, DC_TAG(0x0010, 0x0020), "LO", "A1");
    top(a, DC_TAG(0x0008, 0x0060), "CS", "CT");
    dc_dataset_init(b);
    top(b, DC_TAG(0x0010, 0x0020), "LO", b_pid);
    top(b, DC_TAG(0x0008, 0x0070), "LO", "ACME");
}

/* compact copies of rows with the same columns share them; each keeps its
 * own values, and outlives the others and the row it was copied from */
static void test_compact_copy_shares_columns(void **state)
{
    (void)state;
    dc_dataset a, b;
    two_kinds(&a, &b, "B1");
    dc_row r, c1, c2, c3, c4, c5;
    dc_row_init(&r);
    flatten_again(&a, &r);
    dc_row_compact_copy(&r, &c1);
    memcpy(a.buf + a.el[0].val, "A2", 2); /* same columns, another value */
    flatten_again(&a, &r);
    dc_row_compact_copy(&r, &c2);
    flatten_again(&b, &r); /* other columns */
    dc_row_compact_copy(&r, &c3);
    flatten_again(&a, &r);
    dc_row_compact_copy(&r, &c4);
    assert_ptr_equal(c1.cols, c2.cols);
    assert_ptr_not_equal(c1.cols, c3.cols);
    assert_ptr_not_equal(c1.cols, c4.cols);
    expect(&c1, "PatientID (0010, 0020)", "A1");
    expect(&c2, "PatientID (0010, 0020)", "A2");
    expect(&c3, "PatientID (0010, 0020)", "B1");
    expect(&c3, "Manufacturer (0008, 0070)", "ACME");
    assert_null(val(&c3, "Modality (0008, 0060)"));
    dc_row_free(&c1);
    dc_row_free(&r); /* the source goes first */
    expect(&c2, "PatientID (0010, 0020)", "A2");
    expect(&c2, "Modality (0008, 0060)", "CT");
    assert_int_equal(c2.cols[1].depth, 1);
    assert_int_equal(c2.cols[1].path[0], DC_TAG(0x0008, 0x0060));
    expect(&c4, "Modality (0008, 0060)", "CT");
    dc_row_compact_copy(&c4, &c5); /* a copy of a copy */
    dc_row_free(&c4);
    expect(&c5, "PatientID (0010, 0020)", "A2");
    expect(&c5, "Modality (0008, 0060)", "CT");
    dc_row_free(&c2);
    dc_row_free(&c3);
    dc_row_free(&c5);
    dc_dataset_free(&a);
    dc_dataset_free(&b);
}


/* CSV values of rows whose columns are shared lists (csv.c keeps the
 * name -> column map of the last list): a colset that changes (add, sort)
 * between rows of the same list, rows of another list and lists made after
 * others were freed (possibly at the same address) give the right values. */
static void expect_values(const dc_colset *c, const dc_row *r, const char *want, size_t missing)
{
    dc_buf b;
    dc_buf_init(&b);
    assert_int_equal(dc_csv_format_values(c, r, &b), missing);
    assert_string_equal(dc_buf_cstr(&b), want);
    dc_buf_free(&b);
}

static void add_col(dc_colset *c, const char *name)
{
    dc_column col;
    dc_column_key_from_name(name, &col);
    col.name = (char *)name;
    dc_colset_add(c, &col);
}

static void test_format_values_shared_columns(void **state)
{
    (void)state;
    const char *pid = "PatientID (0010, 0020)", *mod = "Modality (0008, 0060)",
               *man = "Manufacturer (0008, 0070)";
    dc_dataset a, b;
    two_kinds(&a, &b, "B,1");
    dc_row r, c1, c2, c3;
    dc_row_init(&r);
    flatten_again(&a, &r);
    dc_row_compact_copy(&r, &c1);
    memcpy(a.buf + a.el[0].val, "A2", 2);
    flatten_again(&a, &r);
    dc_row_compact_copy(&r, &c2);
    flatten_again(&b, &r);
    dc_row_compact_copy(&r, &c3);
    assert_ptr_equal(c1.cols, c2.cols); /* one list: the map is reused */
    dc_colset c;
    dc_colset_init(&c);
    add_col(&c, pid);
    add_col(&c, mod);
    expect_values(&c, &c1, ",A1,CT\n", 0);
    expect_values(&c, &c2, ",A2,CT\n", 0);
    expect_values(&c, &c3, ",\"B,1\",\n", 1); /* Manufacturer not in c */
    expect_values(&c, &c1, ",A1,CT\n", 0);
    add_col(&c, man); /* the set changes between rows of one list */
    expect_values(&c, &c2, ",A2,CT,\n", 0);
    expect_values(&c, &c3, ",\"B,1\",,ACME\n", 0);
    dc_colset_sort(&c); /* tag order: Modality, Manufacturer, PatientID */
    expect_values(&c, &c3, ",,ACME,\"B,1\"\n", 0);
    expect_values(&c, &c1, ",CT,,A1\n", 0);
    expect_values(&c, &c2, ",CT,,A2\n", 0);
    dc_row_free(&c1);
    dc_row_free(&c2);
    for (int k = 0; k < 4; k++) { /* new lists after the old ones are gone */
        const dc_dataset *ds = k % 2 ? &b : &a;
        flatten_again(ds, &r);
        dc_row_compact_copy(&r, &c1);
        expect_values(&c, &c1, k % 2 ? ",,ACME,\"B,1\"\n" : ",CT,,A2\n", 0);
        dc_row_free(&c1);
    }
    expect_values(&c, &r, ",,ACME,\"B,1\"\n", 0); /* the scratch row (no list) */
    dc_colset_free(&c);
    dc_row_free(&c3);
    dc_row_free(&r);
    dc_dataset_free(&a);
    dc_dataset_free(&b);
}


/* The row of the last file is reused for files of the same shape: every
 * file of a sequence, flattened into one reused row, must give what a walk
 * into a new row gives (names, paths, values). */
static void expect_same_rows(const dc_row *got, const dc_row *want)
{
    assert_int_equal(got->n, want->n);
    for (size_t i = 0; i < want->n; i++) {
        assert_string_equal(got->cols[i].name, want->cols[i].name);
        assert_int_equal(got->cols[i].depth, want->cols[i].depth);
        assert_memory_equal(got->cols[i].path, want->cols[i].path, sizeof want->cols[i].path);
        assert_string_equal(got->vals[i], want->vals[i]);
    }
}

/* the compact copy of got (lengths taken from the memo when known) holds
 * want's values */
static void expect_same_copy(const dc_row *got, const dc_row *want)
{
    dc_row kept;
    dc_row_compact_copy(got, &kept);
    expect_same_rows(&kept, want);
    dc_row_free(&kept);
}

/* one file of a series: variant v changes one thing at a time */
static void build_series_file(dc_dataset *ds, int v)
{
    char id[32], big[1500];
    snprintf(id, sizeof id, "ID%d", v % 3);
    memset(big, 'a' + v % 5, sizeof big - 1);
    big[sizeof big - 1] = '\0';
    dc_dataset_init(ds);
    int cs = top(ds, DC_TAG(0x0008, 0x0005), "CS", v % 7 == 3 ? "ISO_IR 148" : "ISO_IR 144");
    top(ds, DC_TAG(0x0008, 0x0008), "CS", v % 2 ? "ORIGINAL\\PRIMARY" : "DERIVED\\PRIMARY");
    int c = top(ds, DC_TAG(0x0009, 0x0010), "LO", v % 11 == 5 ? "ACME 1.0" : "GEMS_IDEN_01");
    int p = top(ds, DC_TAG(0x0009, 0x1001), "LO", "GE_GENESIS_FF");
    add(ds, DC_TAG(0x0011, 0x0000), "UL", 0, -1, -1, v % 13 == 7 ? "\x01\0\0\0" : "\0\0\0\0", 4);
    top(ds, DC_TAG(0x0011, 0x0010), "LO", "X");
    int name = top(ds, DC_TAG(0x0010, 0x0010), "PN", "\xbb\xee\xda");
    top(ds, DC_TAG(0x0010, 0x0020), "LO", id);
    top(ds, DC_TAG(0x0010, 0x4000), "LT", big);
    int ref = sq(ds, DC_TAG(0x0008, 0x1140), 0, -1, -1, 2);
    add_str(ds, DC_TAG(0x0008, 0x1155), "UI", 1, ref, 0, id);
    add_str(ds, DC_TAG(0x0008, 0x1155), "UI", 1, ref, 1, v % 4 ? "1.2.3" : "1.2.4");
    uint16_t n = (uint16_t)v;
    add(ds, DC_TAG(0x0020, 0x0013), "US", 0, -1, -1, &n, 2);
    ds->el[p].creator = c;
    ds->el[name].charset = cs;
    if (v % 17 == 9) top(ds, DC_TAG(0x0020, 0x4000), "LT", "one more"); /* another shape */
}

static void test_memo_rows_match_walks(void **state)
{
    (void)state;
    for (int style = 0; style < 2; style++) {
        dc_flatten_set_style(style ? DC_CSV_STYLE_SEED : DC_CSV_STYLE_DICOM);
        dc_row reused;
        dc_row_init(&reused);
        for (int v = 0; v < 300; v++) {
            dc_dataset ds;
            build_series_file(&ds, v);
            dc_row fresh;
            flatten_new(&ds, &fresh);
            flatten_again(&ds, &reused);
            expect_same_rows(&reused, &fresh);
            expect_same_copy(&reused, &fresh); /* memo rows: value lengths known */
            if (v % 50 == 49) { /* a row filled from the memo, flattened into again */
                dc_dataset more;
                dc_dataset_init(&more);
                top(&more, DC_TAG(0x0010, 0x0020), "LO", "MORE");
                top(&more, DC_TAG(0x0028, 0x0010), "US", "\x02");
                dc_flatten(&more, &reused);
                dc_flatten(&more, &fresh);
                expect_same_rows(&reused, &fresh);
                expect_same_copy(&reused, &fresh); /* lengths forgotten by the append */
                dc_dataset_free(&more);
            }
            dc_row_free(&fresh);
            dc_dataset_free(&ds);
        }
        dc_row_free(&reused);
    }
    dc_flatten_set_style(DC_CSV_STYLE_DICOM);
}

/* CSV values of rows from the memo (dc_row_val_tokens: fields whose value
 * kept its token are taken from the last row formatted) are those of the
 * same rows formatted value by value (a compact copy has no tokens): over
 * a series whose values, shapes, charset and creators change, with a big
 * changing value that makes the memo compact its store, a second memo's
 * rows in between, a growing column set and the formula guard switched. */
static void expect_same_text(const dc_colset *c, const dc_row *tokens, const dc_row *plain)
{
    dc_buf a, b;
    dc_buf_init(&a);
    dc_buf_init(&b);
    dc_row kept;
    dc_row_compact_copy(plain, &kept);
    assert_null(dc_row_val_tokens(&kept));
    assert_int_equal(dc_csv_format_values(c, tokens, &a), dc_csv_format_values(c, &kept, &b));
    assert_string_equal(dc_buf_cstr(&a), dc_buf_cstr(&b));
    dc_row_free(&kept);
    dc_buf_free(&a);
    dc_buf_free(&b);
}

/* a file of a long series of one shape: a formula-like and a quoted value
 * that never change, a UID and a number that always do, and a value too long
 * to be compared (its text is made anew for every file: the memo's store
 * grows and is compacted every few dozen files) */
static void build_streak_file(dc_dataset *ds, int v)
{
    char uid[32], num[16], big[2001];
    snprintf(uid, sizeof uid, "1.2.3.%d", v);
    snprintf(num, sizeof num, "%d", v);
    memset(big, 'a' + v / 3 % 26, sizeof big - 1);
    big[sizeof big - 1] = '\0';
    dc_dataset_init(ds);
    top(ds, DC_TAG(0x0008, 0x0018), "UI", uid);
    top(ds, DC_TAG(0x0010, 0x0010), "PN", "=HYPERLINK(1)");
    top(ds, DC_TAG(0x0010, 0x0020), "LO", "A,1");
    top(ds, DC_TAG(0x0010, 0x4000), "LT", big);
    top(ds, DC_TAG(0x0020, 0x0013), "IS", num);
}

static void test_memo_tokens_format_like_values(void **state)
{
    (void)state;
    dc_row reused, other;
    dc_row_init(&reused);
    dc_row_init(&other);
    dc_colset c;
    dc_colset_init(&c);
    dc_dataset a, b;
    two_kinds(&a, &b, "B,=1");
    size_t with_tokens = 0;
    for (int v = 0; v < 400; v++) {
        dc_csv_set_formula_guard(v % 90 >= 80);
        dc_dataset ds;
        build_series_file(&ds, v);
        flatten_again(&ds, &reused);
        if (v % 60 == 0) /* the column set grows (some rows lack columns meanwhile) */
            for (size_t i = 0; i < reused.n; i++) add_col(&c, reused.cols[i].name);
        if (v % 120 == 0) dc_colset_sort(&c);
        with_tokens += dc_row_val_tokens(&reused) != NULL;
        expect_same_text(&c, &reused, &reused);
        if (v % 7 == 0) { /* another memo's row in between */
            flatten_again(v % 2 ? &a : &b, &other);
            flatten_again(v % 2 ? &a : &b, &other);
            expect_same_text(&c, &other, &other);
        }
        dc_dataset_free(&ds);
    }
    assert_true(with_tokens > 120); /* from the memo (169: the others change shape, charset, creator) */
    dc_colset_free(&c);
    dc_colset_init(&c);
    for (int v = 0; v < 200; v++) { /* one shape: every row after the first from the memo */
        dc_csv_set_formula_guard(v / 50 % 2);
        dc_dataset ds;
        build_streak_file(&ds, v);
        flatten_again(&ds, &reused);
        if (v == 0)
            for (size_t i = 0; i < reused.n; i++) add_col(&c, reused.cols[i].name);
        assert_true(v == 0 || dc_row_val_tokens(&reused) != NULL);
        expect_same_text(&c, &reused, &reused);
        dc_dataset_free(&ds);
    }
    dc_csv_set_formula_guard(0);
    dc_colset_free(&c);
    dc_row_free(&reused);
    dc_row_free(&other);
    dc_dataset_free(&a);
    dc_dataset_free(&b);
}

/* the texts that change are the ones whose bytes changed; names follow the
 * creator's bytes even when nothing else changes */
static void test_memo_follows_changes(void **state)
{
    (void)state;
    dc_row r;
    dc_row_init(&r);
    dc_dataset ds;
    build_series_file(&ds, 1);
    flatten_again(&ds, &r);
    flatten_again(&ds, &r); /* from the memo */
    expect(&r, "PatientName (0010, 0010)", "Люк");
    expect(&r, "FullFidelity (0009, 1001)", "GE_GENESIS_FF");
    expect(&r, "ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)",
           "DUPLICATE TAGS IN DICOM:ID1/1.2.3");
    memcpy(ds.buf + ds.el[2].val, "GEMS_IDEN_02", 12); /* the creator */
    flatten_again(&ds, &r);
    expect(&r, "Private (0009, 1001)", "GE_GENESIS_FF");
    memcpy(ds.buf + ds.el[0].val, "ISO_IR 148", 10); /* the charset, same length */
    flatten_again(&ds, &r);
    expect(&r, "PatientName (0010, 0010)", "»îÚ"); /* Latin-5 */
    memcpy(ds.buf + ds.el[10].val, "ID7", 3); /* one part of a repeated column */
    flatten_again(&ds, &r);
    expect(&r, "ReferencedImageSequence_ReferencedSOPInstanceUID (0008, 1155)",
           "DUPLICATE TAGS IN DICOM:ID7/1.2.3");
    expect(&r, "PatientID (0010, 0020)", "ID1");
    dc_row_free(&r);
    dc_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_order),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_private_names),
        cmocka_unit_test(test_text_values),
        cmocka_unit_test(test_charset_per_element),
        cmocka_unit_test(test_binary_numbers),
        cmocka_unit_test(test_big_endian),
        cmocka_unit_test(test_float_format),
        cmocka_unit_test(test_float_format_random),
        cmocka_unit_test(test_row_reuse_and_columns_only),
        cmocka_unit_test(test_many_columns),
        cmocka_unit_test(test_many_duplicates),
        cmocka_unit_test(test_name_cache_eviction),
        cmocka_unit_test(test_empty_dataset),
        cmocka_unit_test(test_seed_names),
        cmocka_unit_test(test_seed_values),
        cmocka_unit_test(test_value_cache_context),
        cmocka_unit_test(test_value_cache_many),
        cmocka_unit_test(test_compact_copy_shares_columns),
        cmocka_unit_test(test_memo_tokens_format_like_values),
        cmocka_unit_test(test_format_values_shared_columns),
        cmocka_unit_test(test_memo_rows_match_walks),
        cmocka_unit_test(test_memo_follows_changes),
    };
    dc_flatten_set_style(DC_CSV_STYLE_DICOM); /* the tests above: csv_style dicom */
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dc_flatten_release();
    return rc;
}
