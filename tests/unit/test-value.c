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

static struct value *int_value(int64_t i)
{
        return value_new_int(i, (struct srcpos){ 0 });
}

/* Every key of a set is found, whichever way lookups go (linear, hash index, bisecting). */
static void assert_all_found(const struct value *set, int n)
{
        for (int i = 0; i < n; i++) {
                char key[16];
                snprintf(key, sizeof(key), "k%03d", i);
                struct attr *a = value_attrs_get(set, key);
                assert_non_null(a);
                assert_int_equal(a->value->integer, i);
        }
        assert_null(value_attrs_get(set, "k"));
        assert_null(value_attrs_get(set, "zzz"));
        assert_null(value_attrs_get(set, "k0005"));
}

static void lookups_in_sorted_and_unsorted_sets(void **state)
{
        (void)state;
        for (int n = 1; n <= 40; n += 13) {
                struct value *up = value_new(VALUE_ATTRS, (struct srcpos){ 0 });
                struct value *down = value_new(VALUE_ATTRS, (struct srcpos){ 0 });
                for (int i = 0; i < n; i++) {
                        char key[16];
                        snprintf(key, sizeof(key), "k%03d", i);
                        value_attrs_append(up, key, (struct srcpos){ 0 }, int_value(i));
                        snprintf(key, sizeof(key), "k%03d", n - 1 - i);
                        value_attrs_append(down, key, (struct srcpos){ 0 }, int_value(n - 1 - i));
                }
                assert_true(up->sorted);
                assert_true(down->sorted == (n == 1));
                assert_all_found(up, n);
                assert_all_found(down, n); /* over 16 keys: through the hash index */
                value_sort_attrs(down);
                assert_true(down->sorted);
                assert_true(value_equal(up, down));
                assert_all_found(down, n);
                /* Appending out of order after sorting: still found. */
                value_attrs_append(down, "a", (struct srcpos){ 0 }, int_value(-1));
                assert_false(down->sorted);
                assert_all_found(down, n);
                assert_non_null(value_attrs_get(down, "a"));
                value_free(up);
                value_free(down);
        }
}

static void insert_keeps_a_sorted_set_sorted(void **state)
{
        (void)state;
        struct value *set = value_new(VALUE_ATTRS, (struct srcpos){ 0 });
        value_attrs_reserve(set, 3);
        const char *keys[] = { "b", "d", "f", "h", "j", "l", "n", "p", "r", "t" };
        for (size_t i = 0; i < 10; i++)
                value_attrs_append_static(set, keys[i], (struct srcpos){ 0 }, int_value(1));
        value_attrs_insert_static(set, "a", (struct srcpos){ 0 }, int_value(2));
        value_attrs_insert_static(set, "k", (struct srcpos){ 0 }, int_value(3));
        value_attrs_insert_static(set, "z", (struct srcpos){ 0 }, int_value(4));
        assert_true(set->sorted);
        assert_int_equal(set->n_attrs, 13);
        assert_string_equal(set->attrs[0].key, "a");
        assert_string_equal(set->attrs[6].key, "k");
        assert_string_equal(set->attrs[12].key, "z");
        assert_int_equal(value_attrs_get(set, "k")->value->integer, 3);
        /* A key already there: kept, and the set is no longer strictly sorted. */
        value_attrs_insert_static(set, "d", (struct srcpos){ 0 }, int_value(5));
        assert_false(set->sorted);
        assert_int_equal(set->n_attrs, 14);
        value_free(set);
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
                cmocka_unit_test(lookups_in_sorted_and_unsorted_sets),
                cmocka_unit_test(insert_keeps_a_sorted_set_sorted),
                cmocka_unit_test(type_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
