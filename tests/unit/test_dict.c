/*
 * test_dict.c - the compiled-in data dictionary (dict.c + dc_dict_table.c):
 * exact public tags, repeating groups, element ranges, pseudo-VR mapping,
 * private tags by creator, unknown tags, and table ordering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dc_dict.h"

static void expect_entry(uint32_t tag, const char *kw, uint16_t vr)
{
    const dc_dict_entry *e = dc_dict_find(tag);
    assert_non_null(e);
    assert_string_equal(e->keyword, kw);
    assert_int_equal(e->vr, vr);
}

static void test_public_exact(void **state)
{
    (void)state;
    expect_entry(DC_TAG(0x0010, 0x0020), "PatientID", DC_VR('L', 'O'));
    expect_entry(DC_TAG(0x0008, 0x1155), "ReferencedSOPInstanceUID", DC_VR('U', 'I'));
    expect_entry(DC_TAG(0x0002, 0x0010), "TransferSyntaxUID", DC_VR('U', 'I'));
    expect_entry(DC_TAG(0x0020, 0x0032), "ImagePositionPatient", DC_VR('D', 'S'));
    expect_entry(DC_TAG(0x5200, 0x9230), "PerFrameFunctionalGroupsSequence", DC_VR('S', 'Q'));
    expect_entry(DC_TAG(0x0000, 0x0000), "CommandGroupLength", DC_VR('U', 'L'));
    expect_entry(DC_TAG(0x0008, 0x0005), "SpecificCharacterSet", DC_VR('C', 'S'));
    expect_entry(DC_TAG(0x0028, 0x0010), "Rows", DC_VR('U', 'S'));
    expect_entry(DC_TAG(0x0018, 0x9810), "ZeroVelocityPixelValue", DC_VR('U', 'S'));
}

static void test_pseudo_vrs_and_retired(void **state)
{
    (void)state;
    const dc_dict_entry *e = dc_dict_find(DC_TAG(0x0028, 0x0106)); /* xs */
    assert_non_null(e);
    assert_int_equal(e->vr, DC_VR('U', 'S'));
    assert_int_equal(e->flags, DC_DICT_XS);
    e = dc_dict_find(DC_TAG(0x7FE0, 0x0010)); /* px */
    assert_string_equal(e->keyword, "PixelData");
    assert_int_equal(e->vr, DC_VR('O', 'W'));
    assert_int_equal(e->flags, DC_DICT_OBOW);
    e = dc_dict_find(DC_TAG(0x0028, 0x3006)); /* lt */
    assert_int_equal(e->vr, DC_VR('O', 'W'));
    e = dc_dict_find(DC_TAG(0x0004, 0x1400)); /* up */
    assert_string_equal(e->keyword, "OffsetOfTheNextDirectoryRecord");
    assert_int_equal(e->vr, DC_VR('U', 'L'));
    e = dc_dict_find(DC_TAG(0xFFFE, 0xE000)); /* na */
    assert_string_equal(e->keyword, "Item");
    assert_int_equal(e->vr, DC_VR('?', '?'));
    /* retired: dcmtk's RETIRED_ prefix dropped, as pydicom names it */
    e = dc_dict_find(DC_TAG(0x0028, 0x0104));
    assert_string_equal(e->keyword, "SmallestValidPixelValue");
    assert_int_equal(e->flags, DC_DICT_XS | DC_DICT_RETIRED);
}

static void test_repeating_groups(void **state)
{
    (void)state;
    expect_entry(DC_TAG(0x6002, 0x3000), "OverlayData", DC_VR('O', 'W'));
    expect_entry(DC_TAG(0x6000, 0x0010), "OverlayRows", DC_VR('U', 'S'));
    expect_entry(DC_TAG(0x60FE, 0x0050), "OverlayOrigin", DC_VR('S', 'S'));
    expect_entry(DC_TAG(0x501E, 0x3000), "CurveData", DC_VR('O', 'W'));
    expect_entry(DC_TAG(0x7F02, 0x0010), "VariablePixelData", DC_VR('O', 'W'));
    /* element range (0020,3100-31FF) */
    expect_entry(DC_TAG(0x0020, 0x3101), "SourceImageIDs", DC_VR('C', 'S'));
    expect_entry(DC_TAG(0x0020, 0x31FF), "SourceImageIDs", DC_VR('C', 'S'));
    /* group lengths and private creators are catch-alls */
    expect_entry(DC_TAG(0x0018, 0x0000), "GenericGroupLength", DC_VR('U', 'L'));
    expect_entry(DC_TAG(0x0029, 0x0010), "PrivateCreator", DC_VR('L', 'O'));
    expect_entry(DC_TAG(0x0029, 0x00FF), "PrivateCreator", DC_VR('L', 'O'));
    /* odd group in an even-only range is not OverlayData */
    assert_null(dc_dict_find(DC_TAG(0x6001, 0x3000)));
    assert_null(dc_dict_find(DC_TAG(0x6100, 0x3000)));
}

static void test_private(void **state)
{
    (void)state;
    const dc_dict_entry *e = dc_dict_find_private(DC_TAG(0x0029, 0x1010), "SIEMENS CSA HEADER");
    assert_non_null(e);
    assert_string_equal(e->keyword, "CSAImageHeaderInfo");
    assert_int_equal(e->vr, DC_VR('O', 'B'));
    /* element low byte only: block 0x11 is the same element */
    e = dc_dict_find_private(DC_TAG(0x0029, 0x1110), "SIEMENS CSA HEADER");
    assert_non_null(e);
    assert_string_equal(e->keyword, "CSAImageHeaderInfo");
    e = dc_dict_find_private(DC_TAG(0x0019, 0x1011), "GEMS_ACQU_01");
    assert_non_null(e);
    assert_string_equal(e->keyword, "SeriesContrast");
    assert_int_equal(e->vr, DC_VR('S', 'S'));
    /* 4-digit element in private.dic: (0019,"PHILIPS MR/PART",1005) */
    e = dc_dict_find_private(DC_TAG(0x0019, 0x1005), "PHILIPS MR/PART");
    assert_non_null(e);
    assert_string_equal(e->keyword, "CCAngulation");
    assert_int_equal(e->vr, DC_VR('D', 'S'));
    /* repeating private group (6001-o-60ff,"PAPYRUS 3.0",10) */
    e = dc_dict_find_private(DC_TAG(0x6003, 0x1010), "PAPYRUS 3.0");
    assert_non_null(e);
    assert_string_equal(e->keyword, "OverlayRows");
    assert_null(dc_dict_find_private(DC_TAG(0x6004, 0x1010), "PAPYRUS 3.0"));
    /* wrong creator, wrong group, NULL creator */
    assert_null(dc_dict_find_private(DC_TAG(0x0029, 0x1010), "SIEMENS CSA HEADE"));
    assert_null(dc_dict_find_private(DC_TAG(0x0031, 0x1010), "SIEMENS CSA HEADER"));
    assert_null(dc_dict_find_private(DC_TAG(0x0029, 0x1010), NULL));
}

static void test_unknown(void **state)
{
    (void)state;
    assert_null(dc_dict_find(DC_TAG(0x0010, 0x0003)));
    assert_null(dc_dict_find(DC_TAG(0x0008, 0xFFFF)));
    assert_null(dc_dict_find(DC_TAG(0x0010, 0x1001 + 0x0F00)));
    assert_null(dc_dict_keyword(DC_TAG(0x4000, 0x0011)));
    assert_string_equal(dc_dict_keyword(DC_TAG(0x0008, 0x0018)), "SOPInstanceUID");
}

static void test_tables_sorted(void **state)
{
    (void)state;
    assert_true(dc_dict_public_n > 4500);
    for (size_t i = 1; i < dc_dict_public_n; i++) assert_true(dc_dict_public[i - 1].tag < dc_dict_public[i].tag);
    assert_true(dc_dict_private_n > 2500);
    for (size_t i = 1; i < dc_dict_private_n; i++) {
        const dc_dict_private_row *a = &dc_dict_private[i - 1], *b = &dc_dict_private[i];
        int c = strcmp(a->creator, b->creator);
        assert_true(c < 0 || (c == 0 && (a->group < b->group || (a->group == b->group && a->elem < b->elem))));
    }
    /* every exact entry is found by its own tag */
    for (size_t i = 0; i < dc_dict_public_n; i++)
        assert_ptr_equal(dc_dict_find(dc_dict_public[i].tag), &dc_dict_public[i].e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_exact), cmocka_unit_test(test_pseudo_vrs_and_retired),
        cmocka_unit_test(test_repeating_groups), cmocka_unit_test(test_private),
        cmocka_unit_test(test_unknown), cmocka_unit_test(test_tables_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
