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

/* firecracker opens a tap by name: where the VM's user cannot open /dev/net/tun, it cannot start. */
static void taps_as_descriptors_are_refused(void **state)
{
        (void)state;
        static const char guest[] =
                "interfaces = [ { type = \"tap\"; id = \"tp0\"; mac = \"02:00:00:00:00:01\"; } ];";
        struct built b;
        assert_int_equal(build_backend("firecracker", guest, x86, &b), 0);
        built_free(&b);

        struct hv_env env = x86;
        env.taps_as_fds = true;
        assert_true(build_backend("firecracker", guest, env, &b) < 0);
        assert_string_equal(b.err->msg,
                            "vm t: tap interface tp0: firecracker runs as the VM's user, which "
                            "cannot open /dev/net/tun, and it attaches to a tap only by its name");
        assert_non_null(strstr(b.err->hint, "chmod 0666 /dev/net/tun"));
        assert_non_null(strstr(b.err->hint, "or use qemu"));
        assert_int_equal(mv_error_exit_status(b.err), 1);
        built_free(&b);

        /* Without a tap there is nothing to refuse. */
        assert_int_equal(build_backend("firecracker", "", env, &b), 0);
        built_free(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(no_store_disk_without_nix),
                cmocka_unit_test(older_firecracker_has_no_pci_flag),
                cmocka_unit_test(refusals_are_configuration_errors),
                cmocka_unit_test(taps_as_descriptors_are_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
