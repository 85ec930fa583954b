#include "config-helpers.h"

static void equality_ignores_positions_and_order(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *a = parse_ok(&set, "{ x = 1; y = [ \"a\" ]; }");
        struct value *b = parse_ok(&set, "{\n y = [ \"a\" ];\n x = 1; }");
        struct value *c = parse_ok(&set, "{ x = 1; y = [ \"b\" ]; }");
        assert_true(value_equal(a, b));
        assert_false(value_equal(a, c));
        struct value *copy = value_copy(a);
        assert_true(value_equal(a, copy));
        value_free(a);
        value_free(b);
        value_free(c);
        value_free(copy);
        source_set_free(&set);
}

static void sorting_is_recursive(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, "{ b = { z = 1; a = 2; }; a = [ { d = 1; c = 2; } ]; }");
        value_sort_attrs(v);
        assert_string_equal(v->attrs[0].key, "a");
        assert_string_equal(v->attrs[1].value->attrs[0].key, "a");
        assert_string_equal(v->attrs[0].value->items[0]->attrs[0].key, "c");
        value_free(v);
        source_set_free(&set);
}

static void type_names(void **state)
{
        (void)state;
        assert_string_equal(value_type_to_string(VALUE_ATTRS), "attribute set");
        assert_string_equal(value_type_to_string(VALUE_BOOL), "boolean");
        assert_string_equal(value_type_to_string((enum value_type)99), "?");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(equality_ignores_positions_and_order),
                cmocka_unit_test(sorting_is_recursive),
                cmocka_unit_test(type_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
