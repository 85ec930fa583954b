#include "test-helpers.h"

#include <string.h>

#include "systemd/units.h"
#include "util/cleanup.h"

static void vm_names_are_unit_names_as_they_are(void **state)
{
        (void)state;
        static const char *const names[] = { "web", "db_1.internal", "a-b", "X9" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                _cleanup_free_ char *e = unit_name_escape(names[i]);
                assert_string_equal(e, names[i]);
        }
}

/* Anything else as systemd-escape has it: \xNN, a leading dot too. */
static void the_rest_is_escaped(void **state)
{
        (void)state;
        static const char *const cases[][2] = {
                { ".hidden", "\\x2ehidden" }, { "a b", "a\\x20b" },  { "a/b", "a\\x2fb" },
                { "\xc3\xa9", "\\xc3\\xa9" }, { "a\\b", "a\\x5cb" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *e = unit_name_escape(cases[i][0]);
                assert_string_equal(e, cases[i][1]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(vm_names_are_unit_names_as_they_are),
                cmocka_unit_test(the_rest_is_escaped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
