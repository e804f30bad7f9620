/*
 * test_columns.c - output.columns rules (dc_columns.h): parsing each kind of
 * rule, matching elements, include/exclude precedence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_columns.h"
#include "dc_dicom.h"

static void test_parse(void **state)
{
    (void)state;
    dc_column_rule r;
    char err[256];
    assert_int_equal(dc_column_rule_parse("private", &r, err, sizeof err), 0);
    assert_int_equal(r.kind, DC_CR_PRIVATE);
    assert_int_equal(dc_column_rule_parse("sequences", &r, err, sizeof err), 0);
    assert_int_equal(r.kind, DC_CR_SEQUENCES);
    assert_int_equal(dc_column_rule_parse("binary", &r, err, sizeof err), 0);
    assert_int_equal(r.kind, DC_CR_BINARY);
    assert_int_equal(dc_column_rule_parse("PatientName", &r, err, sizeof err), 0);
    assert_int_equal(r.kind, DC_CR_TAG);
    assert_int_equal(r.tag, DC_TAG(0x0010, 0x0010));
    assert_int_equal(dc_column_rule_parse("( 0020 , 000D )", &r, err, sizeof err), 0);
    assert_int_equal(r.tag, DC_TAG(0x0020, 0x000D));
    assert_int_equal(dc_column_rule_parse("(0019, *)", &r, err, sizeof err), 0);
    assert_int_equal(r.kind, DC_CR_GLOB);
    assert_string_equal(r.glob, "(0019,*)");
    free(r.glob);
    assert_int_equal(dc_column_rule_parse("PatientNam", &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown keyword \"PatientNam\""));
    assert_int_equal(dc_column_rule_parse("two words", &r, err, sizeof err), -1);
}

static void test_match(void **state)
{
    (void)state;
    dc_strvec inc, exc;
    dc_strvec_init(&inc);
    dc_strvec_init(&exc);
    dc_strvec_push(&exc, "private");
    dc_strvec_push(&exc, "*Date");
    dc_strvec_push(&exc, "(0028,*)");
    dc_strvec_push(&exc, "binary");
    dc_columns c;
    dc_columns_init(&c, &inc, &exc);
    assert_true(dc_columns_active(&c));
    assert_true(dc_columns_excluded(&c, DC_TAG(0x0009, 0x1001), DC_VR('L', 'O')));
    assert_true(dc_columns_excluded(&c, DC_TAG(0x0008, 0x0020), DC_VR('D', 'A'))); /* StudyDate */
    assert_false(
        dc_columns_excluded(&c, DC_TAG(0x0008, 0x002A), DC_VR('D', 'T'))); /* ...DateTime */
    assert_true(dc_columns_excluded(&c, DC_TAG(0x0028, 0x0010), DC_VR('U', 'S')));
    assert_true(dc_columns_excluded(&c, DC_TAG(0x0018, 0x9999), DC_VR('O', 'B')));
    assert_false(dc_columns_excluded(&c, DC_TAG(0x0020, 0x0032), DC_VR('D', 'S')));
    assert_true(dc_columns_included(&c, DC_TAG(0x0020, 0x0032), DC_VR('D', 'S'))); /* no include */
    dc_columns_free(&c);
    dc_strvec_free(&exc);
    dc_strvec_init(&exc);
    dc_strvec_push(&inc, "Modality");
    dc_strvec_push(&inc, "sequences");
    dc_columns_init(&c, &inc, &exc);
    assert_true(dc_columns_included(&c, DC_TAG(0x0008, 0x0060), DC_VR('C', 'S')));
    assert_true(dc_columns_included(&c, DC_TAG(0x0008, 0x1140), DC_VR('S', 'Q')));
    assert_false(dc_columns_included(&c, DC_TAG(0x0010, 0x0010), DC_VR('P', 'N')));
    assert_false(dc_columns_excluded(&c, DC_TAG(0x0010, 0x0010), DC_VR('P', 'N')));
    dc_columns_free(&c);
    dc_strvec_free(&inc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse), cmocka_unit_test(test_match)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
