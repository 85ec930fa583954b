#include "config-helpers.h"

#include "config/value-get.h"
#include "util/cleanup.h"
#include "util/strv.h"

static void typed_reads(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v =
                parse_ok(&set, "{ a.s = \"x\"; a.p = /p; a.i = 3; a.b = true; a.n = null; "
                               "a.l = [ 1 2 ]; a.set = { k = 1; }; }");
        assert_string_equal(vget_str(v, "a.s"), "x");
        assert_string_equal(vget_str(v, "a.p"), "/p");
        assert_null(vget_str(v, "a.n"));
        assert_null(vget_str(v, "a.i"));
        assert_null(vget_str(v, "a.missing"));
        assert_int_equal(vget_int(v, "a.i", -1), 3);
        assert_int_equal(vget_int(v, "a.n", -1), -1);
        assert_true(vget_bool(v, "a.b", false));
        assert_true(vget_bool(v, "a.missing", true));
        assert_int_equal(vget_count(v, "a.l"), 2);
        assert_int_equal(vget_count(v, "a.s"), 0);
        assert_non_null(vget_list(v, "a.l"));
        assert_non_null(vget_attrs(v, "a.set"));
        assert_null(vget_attrs(v, "a.n"));
        value_free(v);
        source_set_free(&set);
}

static void string_lists_onto_vectors(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, "{ l = [ \"-a\" \"b c\" ]; e = [ ]; }");
        _cleanup_strv_free_ char **argv = NULL;
        strv_push(&argv, "cmd");
        vlist_push_strings(&argv, vget_list(v, "l"));
        vlist_push_strings(&argv, vget_list(v, "e"));
        vlist_push_strings(&argv, vget_list(v, "missing"));
        assert_int_equal(strv_length(argv), 3);
        assert_string_equal(argv[2], "b c");
        value_free(v);
        source_set_free(&set);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(typed_reads),
                cmocka_unit_test(string_lists_onto_vectors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
