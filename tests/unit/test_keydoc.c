/*
 * test_keydoc.c - the documented config keys (dc_config_key_doc, what --help,
 * the man page and README's table are made of) are the keys the parser takes,
 * and their documented defaults are the real defaults: setting every key to
 * its documented default with dc_config_set changes nothing in the effective
 * config (dc_config_to_yaml) of a fresh dc_config_init.  Enum keys document
 * exactly the names the parser accepts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_config.h"

/* the defaults that are placeholders, not values */
static int is_placeholder(const char *dflt)
{
    return dflt[0] == '(';
}

static void test_every_key_is_settable_and_default_is_true(void **state)
{
    (void)state;
    dc_config fresh, set;
    dc_config_init(&fresh);
    dc_config_init(&set);
    char err[DC_ERRLEN];
    dc_config_keydoc d;
    size_t n = 0;
    for (; dc_config_key_doc(n, &d) == 0; n++) {
        assert_non_null(d.help);
        assert_true(strlen(d.help) > 0);
        if (is_placeholder(d.dflt)) continue;
        char *assign = dc_asprintf("%s.%s=%s", d.section, d.name, d.dflt);
        if (dc_config_set(&set, assign, err, sizeof err) != 0)
            fail_msg("documented default rejected: %s: %s", assign, err);
        free(assign);
    }
    assert_true(n >= 19);
    /* output.id's placeholder "(none)" means no id: both unset */
    char *a = dc_config_to_yaml(&fresh), *b = dc_config_to_yaml(&set);
    assert_string_equal(a, b);
    free(a);
    free(b);
    dc_config_free(&fresh);
    dc_config_free(&set);
}

static void test_enum_choices_are_what_the_parser_takes(void **state)
{
    (void)state;
    char err[DC_ERRLEN];
    dc_config_keydoc d;
    int enums = 0;
    for (size_t i = 0; dc_config_key_doc(i, &d) == 0; i++) {
        if (!d.choices) continue;
        enums++;
        assert_string_equal(d.type, "one of");
        int default_listed = 0;
        for (size_t c = 0; d.choices[c]; c++) {
            dc_config cfg;
            dc_config_init(&cfg);
            char *assign = dc_asprintf("%s.%s=%s", d.section, d.name, d.choices[c]);
            if (dc_config_set(&cfg, assign, err, sizeof err) != 0)
                fail_msg("documented choice rejected: %s: %s", assign, err);
            free(assign);
            dc_config_free(&cfg);
            default_listed |= !strcmp(d.choices[c], d.dflt);
        }
        assert_true(default_listed);
        dc_config cfg;
        dc_config_init(&cfg);
        char *bad = dc_asprintf("%s.%s=not_a_choice", d.section, d.name);
        assert_int_not_equal(dc_config_set(&cfg, bad, err, sizeof err), 0);
        free(bad);
        dc_config_free(&cfg);
    }
    assert_true(enums >= 4);
}

static void test_past_the_end(void **state)
{
    (void)state;
    dc_config_keydoc d;
    size_t n = 0;
    while (dc_config_key_doc(n, &d) == 0) n++;
    assert_int_equal(dc_config_key_doc(n, &d), -1);
    assert_int_equal(dc_config_key_doc((size_t)-1, &d), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_is_settable_and_default_is_true),
        cmocka_unit_test(test_enum_choices_are_what_the_parser_takes),
        cmocka_unit_test(test_past_the_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
