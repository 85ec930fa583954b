#include "test-helpers.h"

#include "config/suggest.h"

static void distances(void **state)
{
        (void)state;
        assert_int_equal(edit_distance("", ""), 0);
        assert_int_equal(edit_distance("abc", ""), 3);
        assert_int_equal(edit_distance("autostart", "autostart"), 0);
        assert_int_equal(edit_distance("autostrat", "autostart"), 1); /* transposition */
        assert_int_equal(edit_distance("kitten", "sitting"), 3);
}

static void suggestions(void **state)
{
        (void)state;
        const char *names[] = { "autostart", "config", "flake", "restartIfChanged" };
        assert_string_equal(suggest_closest("autostrat", names, 4), "autostart");
        assert_string_equal(suggest_closest("confg", names, 4), "config");
        assert_string_equal(suggest_closest("restartIfChange", names, 4), "restartIfChanged");
        assert_null(suggest_closest("memory", names, 4));
        assert_null(suggest_closest("x", names, 0));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(distances),
                cmocka_unit_test(suggestions),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
