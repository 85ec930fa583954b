/* firecracker beyond the golden cases: without a store disk, versions, refusals. */
#include "backend-helpers.h"

static const struct hv_env x86 = { .arch = "x86_64" };

static void no_store_disk_without_nix(void **state)
{
        (void)state;
        struct built b;
        assert_int_equal(build_backend("firecracker", "", x86, &b), 0);
        assert_non_null(b.cmd.file_names);
        assert_string_equal(b.cmd.file_names[0], "firecracker-t.json");
        assert_null(strstr(b.cmd.file_contents[0], "\"drive_id\":\"store\""));
        assert_non_null(strstr(b.cmd.file_contents[0], "\"drives\":[]"));
        assert_string_equal(b.cmd.argv[2], "/r/firecracker-t.json");
        assert_true(strv_contains(b.cmd.argv, "--enable-pci")); /* version unknown: current */
        built_free(&b);
}

static void older_firecracker_has_no_pci_flag(void **state)
{
        (void)state;
        struct built b;
        struct hv_env env = { .arch = "x86_64", .version = "1.12.1" };
        assert_int_equal(build_backend("firecracker", "", env, &b), 0);
        assert_false(strv_contains(b.cmd.argv, "--enable-pci"));
        built_free(&b);
}

static void refusals_are_configuration_errors(void **state)
{
        (void)state;
        const char *cases[][2] = {
                { "balloon = true;", "microvm.balloon" },
                { "socket = null;", "microvm.socket" },
                { "interfaces = [ { type = \"user\"; id = \"u\"; mac = \"02:00:00:00:00:01\"; } ];",
                  "tap" },
                { "shares = [ { tag = \"s\"; source = \"/s\"; mountPoint = \"/m\"; } ];",
                  "shares" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct built b;
                assert_true(build_backend("firecracker", cases[i][0], x86, &b) < 0);
                if (!strstr(b.err->msg, cases[i][1]))
                        fail_msg("%s: %s", cases[i][0], b.err->msg);
                assert_int_equal(mv_error_exit_status(b.err), 2);
                assert_null(b.cmd.argv);
                built_free(&b);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(no_store_disk_without_nix),
                cmocka_unit_test(older_firecracker_has_no_pci_flag),
                cmocka_unit_test(refusals_are_configuration_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
