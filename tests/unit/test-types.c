#include "test-helpers.h"

#include "config/schema.h"
#include "config/types.h"
#include "util/cleanup.h"
#include "util/strv.h"

static void descriptions_read_as_in_nixos(void **state)
{
        (void)state;
        const struct {
                const struct type *t;
                const char *want;
        } cases[] = {
                { &type_list_of_str, "list of string" },
                { &type_lines, "strings concatenated with \"\\n\"" },
                { &type_thread_pool, "string or (unsigned integer, meaning >=0)" },
                { &type_null_or_path, "null or path" },
                { &type_positive, "positive integer, meaning >0" },
                { &type_port, "16 bit unsigned integer; between 0 and 65535 (both inclusive)" },
                { &type_null_or_thread_pool,
                  "null or (string or (unsigned integer, meaning >=0))" },
                { &type_attrs_of_any, "attribute set of unspecified value" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *d = type_describe(cases[i].t);
                assert_string_equal(d, cases[i].want);
        }
}

static void name_splitting(void **state)
{
        (void)state;
        _cleanup_strv_free_ char **segs = NULL;
        size_t n = option_name_split(
                "systemd.services.\"microvm-tap-interfaces@%i.service\".enable", &segs);
        assert_int_equal(n, 4);
        assert_string_equal(segs[2], "microvm-tap-interfaces@%i.service");
        assert_string_equal(segs[3], "enable");
}

static void segment_display_quotes_when_needed(void **state)
{
        (void)state;
        const char *cases[][2] = {
                { "autostart", "autostart" },
                { "cloud-hypervisor", "cloud-hypervisor" },
                { "<name>", "<name>" },
                { "*", "*" },
                { "a.b", "\"a.b\"" },
                { "microvm-tap-interfaces@%i.service", "\"microvm-tap-interfaces@%i.service\"" },
                { "9p", "\"9p\"" },
                { "", "\"\"" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *s = option_segment_display(cases[i][0]);
                assert_string_equal(s, cases[i][1]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(descriptions_read_as_in_nixos),
                cmocka_unit_test(name_splitting),
                cmocka_unit_test(segment_display_quotes_when_needed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
