#include "test-helpers.h"

#include "util/cleanup.h"
#include "util/strv.h"

static void push_and_length(void **state)
{
        (void)state;
        _cleanup_strv_free_ char **v = NULL;

        assert_int_equal(strv_length(v), 0);
        strv_push(&v, "qemu-system-x86_64");
        strv_pushf(&v, "-m %d", 512);
        strv_push(&v, "");
        assert_int_equal(strv_length(v), 3);
        assert_string_equal(v[0], "qemu-system-x86_64");
        assert_string_equal(v[1], "-m 512");
        assert_string_equal(v[2], "");
        assert_null(v[3]);
}

static void push_copies_its_argument(void **state)
{
        (void)state;
        _cleanup_strv_free_ char **v = NULL;
        char buf[] = "tap0";

        strv_push(&v, buf);
        buf[0] = 'X';
        assert_string_equal(v[0], "tap0");
}

static void extend_copy_contains(void **state)
{
        (void)state;
        _cleanup_strv_free_ char **a = NULL, **b = NULL, **c = NULL;

        strv_push(&a, "-a");
        strv_push(&b, "-b");
        strv_push(&b, "-c");
        strv_extend(&a, b);
        strv_extend(&a, NULL);
        assert_int_equal(strv_length(a), 3);
        assert_true(strv_contains(a, "-c"));
        assert_false(strv_contains(a, "-d"));
        assert_false(strv_contains(NULL, "-a"));

        c = strv_copy(a);
        assert_int_equal(strv_length(c), 3);
        assert_ptr_not_equal(c[0], a[0]);
        assert_string_equal(c[2], "-c");
}

static void copy_of_null_is_empty(void **state)
{
        (void)state;
        _cleanup_strv_free_ char **c = strv_copy(NULL);
        assert_non_null(c);
        assert_null(c[0]);
}

static void join_for_display(void **state)
{
        (void)state;
        _cleanup_strv_free_ char **v = NULL;
        _cleanup_free_ char *empty = strv_join(v, " ");
        assert_string_equal(empty, "");

        strv_push(&v, "a");
        strv_push(&v, "b c");
        strv_push(&v, "d");
        _cleanup_free_ char *s = strv_join(v, ", ");
        assert_string_equal(s, "a, b c, d");
}

static void consume_takes_ownership(void **state)
{
        (void)state;
        _cleanup_strv_free_ char **v = NULL;
        strv_consume(&v, strdup("owned"));
        assert_string_equal(v[0], "owned");
}

static void many_elements(void **state)
{
        (void)state;
        _cleanup_strv_free_ char **v = NULL;
        for (int i = 0; i < 10000; i++)
                strv_pushf(&v, "%d", i);
        assert_int_equal(strv_length(v), 10000);
        assert_string_equal(v[9999], "9999");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(push_and_length),      cmocka_unit_test(push_copies_its_argument),
                cmocka_unit_test(extend_copy_contains), cmocka_unit_test(copy_of_null_is_empty),
                cmocka_unit_test(join_for_display),     cmocka_unit_test(consume_takes_ownership),
                cmocka_unit_test(many_elements),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
