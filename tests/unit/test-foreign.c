#include "test-helpers.h"

#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "vm/foreign.h"
#include "vm/plan.h"
#include "vm/settings.h"

static int setup(void **state)
{
        *state = scratch_dir_new();
        return 0;
}

static int teardown(void **state)
{
        scratch_dir_remove(*state);
        return 0;
}

static void put(const char *dir, const char *rel, const char *text, mode_t mode)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, rel);
        mkdir(dir, 0755);
        for (char *p = strchr(path + strlen(dir) + 1, '/'); p; p = strchr(p + 1, '/')) {
                *p = '\0';
                mkdir(path, 0755);
                *p = '/';
        }
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        chmod(path, mode);
}

/* A runner directory named as microvm.nix names them, with a microvm-run. */
static char *runner(const char *scratch, const char *name)
{
        char *dir = xasprintf("%s/%s", scratch, name);
        put(dir, "bin/microvm-run", "#!/bin/sh\nexec sleep 1\n", 0755);
        return dir;
}

static struct host_settings settings(const char *scratch)
{
        return (struct host_settings){
                .state_dir = (char *)scratch,
        };
}

static int plan_of(const char *scratch, const char *dir, struct vm_plan **plan,
                   struct mv_error **err)
{
        struct host_settings hs = settings(scratch);
        *plan = xcalloc(1, sizeof(**plan));
        (*plan)->vm = xstrdup("web");
        (*plan)->working_directory = xasprintf("%s/web", scratch);
        return foreign_plan(*plan, &hs, dir, err);
}

static void the_hypervisor_comes_from_the_file_or_the_name(void **state)
{
        _cleanup_free_ char *seed = runner(*state, "abc-microvm-cloud-hypervisor-web-1");
        _cleanup_free_ char *hv = runner_hypervisor(seed);
        assert_string_equal(hv, "cloud-hypervisor");
        _cleanup_free_ char *today = runner(*state, "anything");
        put(today, "share/microvm/hypervisor", "firecracker\n", 0644);
        _cleanup_free_ char *hv2 = runner_hypervisor(today);
        assert_string_equal(hv2, "firecracker");
        _cleanup_free_ char *nameless = runner(*state, "result");
        assert_null(runner_hypervisor(nameless));
        assert_true(runner_is_foreign(today));
        put(today, "share/microvm/spec.json", "{}", 0644);
        assert_false(runner_is_foreign(today));
}

static void taps_macvtaps_and_shutdown_come_from_the_metadata(void **state)
{
        _cleanup_free_ char *dir = runner(*state, "x-microvm-qemu-web");
        put(dir, "bin/microvm-shutdown", "#!/bin/sh\n", 0755);
        put(dir, "share/microvm/tap-interfaces", "vm-a\nvm-b\n", 0644);
        put(dir, "share/microvm/tap-flags", "vnet_hdr\nmulti_queue\n", 0644);
        put(dir, "share/microvm/macvtap-interfaces", "mv-a 02:00:00:00:00:01 eth0 bridge\n", 0644);
        _cleanup_plan_ struct vm_plan *plan = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(plan_of(*state, dir, &plan, &err), 0);
        assert_true(plan->foreign);
        assert_string_equal(plan->hypervisor->name, "qemu");
        assert_int_equal(plan->n_interfaces, 3);
        assert_string_equal(plan->interfaces[1].id, "vm-b");
        assert_true(plan->interfaces[1].multi_queue);
        assert_true(plan->interfaces[2].macvtap);
        assert_string_equal(plan->interfaces[2].link, "eth0");
        assert_string_equal(plan->interfaces[2].mode, "bridge");
        assert_int_equal(plan->shutdown, HV_SHUTDOWN_RUNNER_SCRIPT);
        assert_non_null(strstr(plan->argv[0], "/bin/microvm-run"));
        assert_null(plan->argv[1]);
}

static void pci_devices_come_from_the_metadata(void **state)
{
        _cleanup_free_ char *dir = runner(*state, "x-microvm-qemu-web");
        put(dir, "share/microvm/pci-devices", "0000:01:00.0\n0000:0A:1F.7\n", 0644);
        _cleanup_plan_ struct vm_plan *plan = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(plan_of(*state, dir, &plan, &err), 0);
        assert_string_equal(plan->pci_devices[0], "0000:01:00.0");
        assert_string_equal(plan->pci_devices[1], "0000:0a:1f.7");
        assert_null(plan->pci_devices[2]);
}

static void expect_refusal(const char *scratch, const char *dir, const char *message)
{
        _cleanup_plan_ struct vm_plan *plan = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(plan_of(scratch, dir, &plan, &err) < 0);
        if (!strstr(err->msg, message))
                fail_msg("expected \"%s\" in \"%s\"", message, err->msg);
}

static void what_cannot_be_honoured_is_refused(void **state)
{
        _cleanup_free_ char *unknown = runner(*state, "u");
        put(unknown, "share/microvm/hypervisor", "vmware\n", 0644);
        expect_refusal(*state, unknown, "is for hypervisor 'vmware', which microvm does not know");

        _cleanup_free_ char *norun = xasprintf("%s/norun-microvm-qemu-web", (char *)*state);
        put(norun, "share/microvm/tap-flags", "vnet_hdr\n", 0644);
        expect_refusal(*state, norun, "has no bin/microvm-run");

        _cleanup_free_ char *badtap = runner(*state, "t-microvm-qemu-web");
        put(badtap, "share/microvm/tap-interfaces", "../../etc\n", 0644);
        expect_refusal(*state, badtap, "not an interface name");

        _cleanup_free_ char *badmv = runner(*state, "m-microvm-qemu-web");
        put(badmv, "share/microvm/macvtap-interfaces", "mv-a 02:00:00:00:00:01\n", 0644);
        expect_refusal(*state, badmv, "not \"ID MAC LINK MODE\"");

        _cleanup_free_ char *pci = runner(*state, "p-microvm-qemu-web");
        put(pci, "share/microvm/pci-devices", "0000:01:00.*\n", 0644);
        expect_refusal(*state, pci, "'0000:01:00.*': not a full PCI address DDDD:BB:DD.F");

        _cleanup_free_ char *fifo = runner(*state, "f-microvm-qemu-web");
        _cleanup_free_ char *fifo_path = xasprintf("%s/share/microvm/tap-interfaces", fifo);
        put(fifo, "share/microvm/tap-flags", "vnet_hdr\n", 0644);
        assert_int_equal(mkfifo(fifo_path, 0644), 0);
        expect_refusal(*state, fifo, "is not a regular file");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(the_hypervisor_comes_from_the_file_or_the_name,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(taps_macvtaps_and_shutdown_come_from_the_metadata,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(pci_devices_come_from_the_metadata, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(what_cannot_be_honoured_is_refused, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
