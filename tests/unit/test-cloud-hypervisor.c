/* cloud-hypervisor beyond the golden cases: refusals and the shutdown method. */
#include "backend-helpers.h"

static const struct hv_env x86 = { .arch = "x86_64" };

static void builds_and_shuts_down_over_the_api(void **state)
{
        (void)state;
        struct built b;
        assert_int_equal(build_backend("cloud-hypervisor", "vcpu = 2;", x86, &b), 0);
        assert_string_equal(b.cmd.argv[0], "/bin/hv");
        assert_true(strv_contains(b.cmd.argv, "--api-socket"));
        struct hv_vm vm = { .guest = value_lookup(b.cfg.root, "microvm.vms.t.config") };
        const struct hypervisor_ops *ops = hypervisor_find("cloud-hypervisor");
        assert_int_equal(ops->shutdown(&vm), HV_SHUTDOWN_CH_API);
        assert_true(ops->tap_multi_queue(&vm));
        built_free(&b);
}

/* A tap passed as descriptors takes fd=[...] as a macvtap does, numbered with it. */
static void taps_as_descriptors(void **state)
{
        (void)state;
        static const char guest[] =
                "vcpu = 2; interfaces = [ { type = \"tap\"; id = \"tp0\"; mac = "
                "\"02:00:00:00:00:01\"; } { type = \"macvtap\"; id = \"mv0\"; mac = "
                "\"02:00:00:00:00:02\"; macvtap = { link = \"eth0\"; mode = \"bridge\"; }; } ];";
        struct built b;
        assert_int_equal(build_backend("cloud-hypervisor", guest, x86, &b), 0);
        assert_true(strv_contains(b.cmd.argv, "mac=02:00:00:00:00:01,num_queues=4,tap=tp0"));
        assert_true(strv_contains(b.cmd.argv, "fd=[3,4],mac=02:00:00:00:00:02,num_queues=4"));
        built_free(&b);

        struct hv_env env = x86;
        env.taps_as_fds = true;
        assert_int_equal(build_backend("cloud-hypervisor", guest, env, &b), 0);
        assert_true(strv_contains(b.cmd.argv, "fd=[3,4],mac=02:00:00:00:00:01,num_queues=4"));
        assert_true(strv_contains(b.cmd.argv, "fd=[5,6],mac=02:00:00:00:00:02,num_queues=4"));
        built_free(&b);
}

static void refusals_are_configuration_errors(void **state)
{
        (void)state;
        const char *cases[][2] = {
                { "user = \"microvm\";", "microvm.user" },
                { "shares = [ { tag = \"s\"; source = \"/s\"; mountPoint = \"/m\"; proto = "
                  "\"9p\"; } ];",
                  "9p" },
                { "interfaces = [ { type = \"user\"; id = \"u\"; mac = \"02:00:00:00:00:01\"; } ];",
                  "user" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct built b;
                assert_true(build_backend("cloud-hypervisor", cases[i][0], x86, &b) < 0);
                if (!strstr(b.err->msg, cases[i][1]))
                        fail_msg("%s: %s", cases[i][0], b.err->msg);
                assert_int_equal(mv_error_exit_status(b.err), 2);
                built_free(&b);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(builds_and_shuts_down_over_the_api),
                cmocka_unit_test(taps_as_descriptors),
                cmocka_unit_test(refusals_are_configuration_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
