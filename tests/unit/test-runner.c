#include "vm-helpers.h"

#include <dirent.h>
#include <errno.h>

#include "util/cleanup.h"
#include "vm/runner.h"

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

static char *read_in(const char *dir, const char *runner, const char *rel)
{
        _cleanup_free_ char *path = xasprintf("%s/state/.runners/%s/%s", dir, runner, rel);
        char *text = NULL;
        if (read_file_full(path, &text, NULL, NULL) < 0)
                return NULL;
        return text;
}

static void spec_is_canonical_and_named_by_hash(void **state)
{
        struct host_config a, b;
        load_host(*state, VM("web", "vcpu = 2;"), &a);
        load_host(*state,
                  "microvm.vms.web.config.microvm = { vcpu = 2; initrdPath = \"/i\"; "
                  "kernel = \"/k\"; };",
                  &b);
        _cleanup_free_ char *sa = runner_spec_json(a.root, "web");
        _cleanup_free_ char *sb = runner_spec_json(b.root, "web");
        assert_string_equal(sa, sb); /* the order definitions were written in does not matter */
        _cleanup_free_ char *name = runner_dir_name(sa, "web");
        assert_int_equal(strlen(name), 32 + 4);
        assert_string_equal(name + 32, "-web");
        host_config_free(&a);
        host_config_free(&b);
}

static void install_writes_metadata_once(void **state)
{
        const char *dir = *state;
        struct host_config cfg;
        load_host(dir,
                  VM("web", "interfaces = [ { type = \"macvtap\"; id = \"vm-mv\"; mac = "
                            "\"02:00:00:00:00:09\"; macvtap = { link = \"eth0\"; mode = "
                            "\"bridge\"; }; } { type = \"tap\"; id = \"vm-web-frontend-eth0\"; "
                            "mac = \"02:00:00:00:00:0a\"; } ]; devices = [ { bus = \"pci\"; path = "
                            "\"0000:01:00.0\"; } { bus = \"usb\"; path = \"vendorid=0x1\"; } ];"),
                  &cfg);
        _cleanup_free_ char *state_dir = xasprintf("%s/state", dir);
        _cleanup_free_ char *runner = NULL, *again = NULL;
        bool created;
        assert_int_equal(runner_install(state_dir, cfg.root, "web", &runner, &created, NULL), 0);
        assert_true(created);
        assert_int_equal(runner_install(state_dir, cfg.root, "web", &again, &created, NULL), 0);
        assert_false(created);
        assert_string_equal(runner, again);

        _cleanup_free_ char *mv = read_in(dir, runner, "share/microvm/macvtap-interfaces");
        assert_string_equal(mv, "vm-mv 02:00:00:00:00:09 eth0 bridge\n");
        _cleanup_free_ char *pci = read_in(dir, runner, "share/microvm/pci-devices");
        assert_string_equal(pci, "0000:01:00.0\n");
        _cleanup_free_ char *usb = read_in(dir, runner, "share/microvm/usb-devices");
        assert_string_equal(usb, "vendorid=0x1\n");
        /* Kernel names: a long id's is derived from it (config/ifname.h). */
        _cleanup_free_ char *taps = read_in(dir, runner, "share/microvm/tap-interfaces");
        assert_string_equal(taps, "vm-web-f-b696e6\n");
        host_config_free(&cfg);
}

static void failed_install_leaves_nothing(void **state)
{
        const char *dir = *state;
        struct host_config cfg;
        load_host(dir, "microvm.vms.bad.config = { };", &cfg); /* no kernel */
        _cleanup_free_ char *state_dir = xasprintf("%s/state", dir);
        _cleanup_free_ char *runners = xasprintf("%s/state/.runners", dir);
        char *runner = NULL;
        bool created;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(runner_install(state_dir, cfg.root, "bad", &runner, &created, &err) < 0);
        assert_non_null(strstr(err->msg, "install runner of vm bad"));
        _cleanup_closedir_ DIR *d = opendir(runners);
        struct dirent *de;
        int entries = 0;
        while ((de = readdir(d)))
                entries += de->d_name[0] != '.' || strncmp(de->d_name, ".#", 2) == 0;
        assert_int_equal(entries, 0);
        host_config_free(&cfg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(spec_is_canonical_and_named_by_hash, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(install_writes_metadata_once, setup, teardown),
                cmocka_unit_test_setup_teardown(failed_install_leaves_nothing, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
