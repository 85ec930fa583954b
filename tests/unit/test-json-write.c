#include "config-helpers.h"

#include "config/json-write.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

static void strings_are_escaped(void **state)
{
        (void)state;
        struct strbuf b = { 0 };
        json_write_string(&b, "a\"b\\c\nd\te\x01\x7f\xc3\xa9", 13);
        _cleanup_free_ char *s = strbuf_take(&b);
        assert_string_equal(s, "\"a\\\"b\\\\c\\nd\\te\\u0001\\u007f\xc3\xa9\"");
}

static void pretty_output(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, "{ b = [ 1 { } ]; a = ./x; c = [ ]; }");
        struct strbuf b = { 0 };
        json_write_value(&b, v, true);
        _cleanup_free_ char *s = strbuf_take(&b);
        assert_string_equal(s, "{\n  \"b\": [\n    1,\n    {}\n  ],\n  \"a\": \"/test/x\",\n"
                               "  \"c\": []\n}");
        value_free(v);
        source_set_free(&set);
}

static void functions_and_floats(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, "[ (x: 1) 0.25 ]");
        struct strbuf b = { 0 };
        json_write_value(&b, v, false);
        _cleanup_free_ char *s = strbuf_take(&b);
        assert_string_equal(s, "[null,0.25]");
        value_free(v);
        source_set_free(&set);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(strings_are_escaped),
                cmocka_unit_test(pretty_output),
                cmocka_unit_test(functions_and_floats),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
