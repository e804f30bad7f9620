/*
 * test_select.c - input.select (dc_select.h): the reason a scan is left
 * out, in the documented order, and the summary text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dc_select.h"

static void test_reasons(void **state)
{
    (void)state;
    dc_config cfg;
    dc_config_init(&cfg);
    dc_record r;
    dc_record_init(&r);
    dc_scan s;
    memset(&s, 0, sizeof s);
    s.n_slices = 3;
    snprintf(r.modality, sizeof r.modality, "CT");
    snprintf(r.sop_class, sizeof r.sop_class, "1.2.840.10008.5.1.4.1.1.2");
    snprintf(r.image_type, sizeof r.image_type, "ORIGINAL\\PRIMARY\\LOCALIZER ");
    assert_false(dc_select_active(&cfg));
    assert_int_equal(dc_select_reason(&cfg, &r, &s), -1);
    dc_strvec_push(&cfg.select_modality, "MR");
    assert_int_equal(dc_select_reason(&cfg, &r, &s), DC_SEL_MODALITY);
    dc_strvec_push(&cfg.select_modality, "CT");
    assert_int_equal(dc_select_reason(&cfg, &r, &s), -1);
    dc_strvec_push(&cfg.select_sop_class, "1.2.840.10008.5.1.4.1.1.4");
    assert_int_equal(dc_select_reason(&cfg, &r, &s), DC_SEL_SOP_CLASS);
    dc_strvec_free(&cfg.select_sop_class);
    dc_strvec_push(&cfg.select_exclude_image_type, "DERIVED");
    assert_int_equal(dc_select_reason(&cfg, &r, &s), -1);
    dc_strvec_push(&cfg.select_exclude_image_type, "LOCALIZER"); /* padded last value */
    assert_int_equal(dc_select_reason(&cfg, &r, &s), DC_SEL_IMAGE_TYPE);
    dc_strvec_free(&cfg.select_exclude_image_type);
    dc_strvec_push(&cfg.select_exclude_image_type, "LOCAL"); /* words, not prefixes */
    assert_int_equal(dc_select_reason(&cfg, &r, &s), -1);
    cfg.select_exclude_burned_in = 1;
    assert_int_equal(dc_select_reason(&cfg, &r, &s), -1);
    r.burned_in = 1;
    assert_int_equal(dc_select_reason(&cfg, &r, &s), DC_SEL_BURNED_IN);
    r.burned_in = 0;
    snprintf(r.sop_class, sizeof r.sop_class, "1.2.840.10008.5.1.4.1.1.7.2"); /* SC family */
    assert_int_equal(dc_select_reason(&cfg, &r, &s), DC_SEL_BURNED_IN);
    cfg.select_exclude_burned_in = 0;
    cfg.select_min_slices = 4;
    assert_int_equal(dc_select_reason(&cfg, &r, &s), DC_SEL_SLICES);
    s.unreadable = 1; /* a result, never left out */
    assert_int_equal(dc_select_reason(&cfg, &r, &s), -1);
    dc_config_free(&cfg);
}

static void test_summary(void **state)
{
    (void)state;
    dc_select_counts c;
    memset(&c, 0, sizeof c);
    char t[256];
    dc_select_summary(&c, t, sizeof t);
    assert_string_equal(t, "0 scans left out by input.select");
    c.left_out[DC_SEL_MODALITY] = 2;
    c.left_out[DC_SEL_SLICES] = 1;
    dc_select_summary(&c, t, sizeof t);
    assert_string_equal(t, "3 scans left out by input.select (2 modality, 1 min_slices)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_reasons),
                                       cmocka_unit_test(test_summary)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
