/* The helpers every backend shares. */
#include "backend-helpers.h"

#include "config/value-get.h"
#include "hypervisor/hypervisor.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"

static void backend_table(void **state)
{
        (void)state;
        const char *names[] = { "qemu",    "cloud-hypervisor", "firecracker", "crosvm",
                                "kvmtool", "stratovirt",       "alioth" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                const struct hypervisor_ops *ops = hypervisor_find(names[i]);
                assert_non_null(ops);
                assert_string_equal(ops->name, names[i]);
                assert_non_null(ops->binary_name);
                assert_ptr_equal(hypervisors[i], ops);
        }
        assert_null(hypervisors[ELEMENTSOF(names)]);
        assert_null(hypervisor_find("vfkit"));
}

/* The descriptors of `id`, joined by ',' ("" for none). */
static char *fds_of(const struct hv_vm *vm, const char *hv, const char *id)
{
        _cleanup_free_ int *fds = NULL;
        size_t n = passed_fds(vm, hypervisor_find(hv), id, &fds);
        assert_true((n == 0) == (fds == NULL));
        return hv_fds_join(fds, n, ",");
}

#define assert_fds(vm, hv, id, want)                                                               \
        do {                                                                                       \
                _cleanup_free_ char *got_ = fds_of(vm, hv, id);                                    \
                assert_string_equal(got_, want);                                                   \
        } while (0)

static void passed_fd_numbering(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        struct host_config cfg;
#define TAP(id, n) "{ type = \"tap\"; id = \"" id "\"; mac = \"02:00:00:00:00:0" n "\"; } "
#define MACVTAP(id, n)                                                                             \
        "{ type = \"macvtap\"; id = \"" id "\"; mac = \"02:00:00:00:00:0" n "\"; "                 \
        "macvtap = { link = \"eth0\"; mode = \"bridge\"; }; } "
        static const char body[] =
                VM("t", "vcpu = 3; interfaces = [ " TAP("tp", "1") MACVTAP("mv-a", "2")
                                TAP("tq", "3") MACVTAP("mv-b", "4") "];");
        load_host(dir, body, &cfg);
        struct hv_vm vm = { .name = "t", .guest = value_lookup(cfg.root, "microvm.vms.t.config") };

        /* Taps by name: only the macvtaps are numbered; qemu has 3 queues with 3 vCPUs. */
        assert_fds(&vm, "qemu", "mv-a", "3,4,5");
        assert_fds(&vm, "qemu", "mv-b", "6,7,8");
        assert_fds(&vm, "qemu", "tp", "");
        assert_fds(&vm, "qemu", "absent", "");
        /* kvmtool opens a macvtap's /dev/tapN itself. */
        assert_fds(&vm, "kvmtool", "mv-a", "");

        /* Taps as descriptors: numbered together with the macvtaps, in interface order. */
        vm.env.taps_as_fds = true;
        assert_fds(&vm, "qemu", "tp", "3,4,5");
        assert_fds(&vm, "qemu", "mv-a", "6,7,8");
        assert_fds(&vm, "qemu", "tq", "9,10,11");
        assert_fds(&vm, "qemu", "mv-b", "12,13,14");
        /* crosvm's taps have one queue. */
        assert_fds(&vm, "crosvm", "tp", "3");
        assert_fds(&vm, "crosvm", "mv-b", "6");

        assert_int_equal(volume_letter(vm.guest, 0), 'a'); /* no store disk without storeDisk */
        host_config_free(&cfg);
        scratch_dir_remove(dir);
}

static void words_and_files(void **state)
{
        (void)state;
        _cleanup_strv_free_ char **v = NULL;
        strv_push_words(&v, "  vfio-pci,host=1  id=x\tmore ");
        assert_int_equal(strv_length(v), 3);
        assert_string_equal(v[1], "id=x");
        struct hv_command c = { 0 };
        struct hv_vm vm = { .runner_dir = "/r" };
        _cleanup_free_ char *p = hv_command_add_file(&c, &vm, "fc.json", xstrdup("{}"));
        assert_string_equal(p, "/r/fc.json");
        assert_string_equal(c.file_contents[0], "{}");
        hv_command_free(&c);
}

static int fixed_ifindex(const char *name, void *data)
{
        (void)data;
        return strcmp(name, "vm-x") == 0 ? 12 : -1;
}

static void ifindex_lookup(void **state)
{
        (void)state;
        struct hv_vm vm = { .env = { .ifindex = fixed_ifindex } };
        assert_int_equal(hv_ifindex(&vm, "vm-x"), 12);
        assert_int_equal(hv_ifindex(&vm, "vm-y"), -1);
        struct hv_vm real = { 0 };
        assert_int_equal(hv_ifindex(&real, "lo"), 1);
        assert_int_equal(hv_ifindex(&real, "no-such-if0"), -1);
}

/* The refusals and the kernel command line the backends share, on one guest. */
static void shared_refusals_and_cmdline(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        struct host_config cfg;
        load_host(dir,
                  "  microvm.vms.t.config.microvm = { user = \"nobody\"; balloon = true; "
                  "kernelParams = [ \"quiet\" \"x=1\" ]; };\n",
                  &cfg);
        struct hv_vm vm = { .name = "t", .guest = value_lookup(cfg.root, "microvm.vms.t.config") };
        _cleanup_error_ struct mv_error *user = NULL, *balloon = NULL, *boot = NULL;

        assert_true(hv_refuse_user(&vm, "alioth", &user) < 0);
        assert_string_equal(
                user->msg,
                "vm t: alioth will not change user (microvm.user); unset it, or use qemu");
        assert_int_equal(mv_error_exit_status(user), 2);
        /* A balloon is refused only where the hypervisor has none. */
        assert_true(hv_refuse_memory_and_credentials(&vm, "alioth", false, &balloon) < 0);
        assert_non_null(strstr(balloon->msg, "microvm.balloon is not implemented for alioth"));
        assert_int_equal(hv_refuse_memory_and_credentials(&vm, "crosvm", true, NULL), 0);

        const char *kernel, *initrd;
        assert_true(hv_boot_files(&vm, &kernel, &initrd, &boot) < 0);
        assert_string_equal(boot->msg, "vm t: microvm.kernel is not set; without a Nix build, "
                                       "give the path of the guest's kernel image");

        _cleanup_free_ char *cmdline = hv_kernel_cmdline(vm.guest, "console=ttyS0 ");
        assert_string_equal(cmdline, "console=ttyS0 quiet x=1");
        host_config_free(&cfg);
        scratch_dir_remove(dir);
}

/*
 * Hypervisors other than qemu have no escape for ',' in their option
 * strings: a value with one is a configuration error, not a command line
 * with an extra option in it.
 */
static void option_values_without_an_escape(void **state)
{
        (void)state;
        static const struct hv_env env = { .arch = "x86_64", .unbuffer = "/bin/unbuffer" };
        static const char *const backends[] = { "cloud-hypervisor", "crosvm", "stratovirt",
                                                "kvmtool", "alioth" };
#define VOLUME(image) "volumes = [ { image = \"" image "\"; mountPoint = \"/m\"; size = 1; } ];"
        for (size_t i = 0; i < ELEMENTSOF(backends); i++) {
                struct built b;
                if (build_backend(backends[i], VOLUME("/v/a.img"), env, &b) < 0)
                        fail_msg("%s: %s", backends[i], b.err->msg);
                built_free(&b);
                assert_true(build_backend(backends[i], VOLUME("/v/a,readonly=off.img"), env, &b) <
                            0);
                if (!strstr(b.err->msg, "microvm.vms.t.config.microvm.volumes[0].image = "
                                        "\"/v/a,readonly=off.img\" contains ','"))
                        fail_msg("%s: %s", backends[i], b.err->msg);
                assert_non_null(strstr(b.err->msg, "host.nix:1:"));
                assert_non_null(strstr(b.err->hint, "without ','"));
                assert_int_equal(mv_error_exit_status(b.err), 2);
                built_free(&b);
        }
#undef VOLUME
        static const char *const cases[][3] = {
                { "cloud-hypervisor", "cloud-hypervisor.platformOEMStrings = [ \"a=b,c\" ];",
                  "platformOEMStrings[0] = \"a=b,c\" contains ','" },
                { "cloud-hypervisor", "socket = \"/run/fd=3\";",
                  "socket = \"/run/fd=3\" contains '='" },
                { "cloud-hypervisor",
                  "shares = [ { tag = \"t[1]\"; source = \"/s\"; mountPoint = \"/m\"; proto = "
                  "\"virtiofs\"; } ];",
                  "shares[0].tag = \"t[1]\" contains '['" },
                { "crosvm",
                  "shares = [ { tag = \"a:b\"; source = \"/s\"; mountPoint = \"/m\"; proto = "
                  "\"9p\"; } ];",
                  "shares[0].tag = \"a:b\" contains ':'" },
                { "crosvm",
                  "volumes = [ { image = \"/v/a\"; serial = \"s\\\"x\"; mountPoint = "
                  "\"/m\"; size = 1; } ];",
                  "volumes[0].serial = \"s\"x\" contains '\"'" },
                { "stratovirt", "socket = \"/run/a,b\";", "socket = \"/run/a,b\" contains ','" },
                { "crosvm", "storeOnDisk = true; storeDisk = \"/s,x\";",
                  "storeDisk = \"/s,x\" contains ','" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct built b;
                assert_true(build_backend(cases[i][0], cases[i][1], env, &b) < 0);
                if (!strstr(b.err->msg, cases[i][2]))
                        fail_msg("%s <%s>: %s", cases[i][0], cases[i][1], b.err->msg);
                built_free(&b);
        }
        /* A value that is not used is not checked: no store disk, no store disk path. */
        struct built b;
        assert_int_equal(
                build_backend("crosvm", "storeOnDisk = false; storeDisk = \"/s,x\";", env, &b), 0);
        built_free(&b);
}

#define TAP_AND_MACVTAP                                                                            \
        "interfaces = [ { type = \"tap\"; id = \"tp0\"; mac = \"02:00:00:00:00:01\"; } { type = "  \
        "\"macvtap\"; id = \"mv0\"; mac = \"02:00:00:00:00:02\"; macvtap = { link = \"eth0\"; "    \
        "mode = \"bridge\"; }; } ];"

/* crosvm and stratovirt take a tap as descriptors as they take a macvtap, numbered with it. */
static void taps_as_descriptors(void **state)
{
        (void)state;
        static const char *const cases[][4] = {
                { "crosvm", "", "tap-fd=3,mac=02:00:00:00:00:01",
                  "tap-fd=4,mac=02:00:00:00:00:02" },
                { "stratovirt", "vcpu = 2;", "tap,id=tp0,queues=2,fd=3 4,queues=2",
                  "tap,id=mv0,queues=2,fd=5 6,queues=2" },
        };
        struct hv_env env = { .arch = "x86_64", .unbuffer = "/bin/unbuffer", .taps_as_fds = true };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *guest = xasprintf("%s " TAP_AND_MACVTAP, cases[i][1]);
                struct built b;
                if (build_backend(cases[i][0], guest, env, &b) < 0)
                        fail_msg("%s: %s", cases[i][0], b.err->msg);
                for (size_t k = 2; k < 4; k++)
                        if (!strv_contains(b.cmd.argv, cases[i][k]))
                                fail_msg("%s: no %s", cases[i][0], cases[i][k]);
                built_free(&b);
        }
}

/* kvmtool and alioth open a tap by name: with taps as descriptors they refuse, naming it. */
static void taps_as_descriptors_are_refused(void **state)
{
        (void)state;
        static const char *const backends[] = { "kvmtool", "alioth" };
        static const char guest[] =
                "interfaces = [ { type = \"tap\"; id = \"tp0\"; mac = \"02:00:00:00:00:01\"; } ];";
        struct hv_env env = { .arch = "x86_64", .taps_as_fds = true };
        for (size_t i = 0; i < ELEMENTSOF(backends); i++) {
                struct built b;
                assert_true(build_backend(backends[i], guest, env, &b) < 0);
                _cleanup_free_ char *want = xasprintf(
                        "vm t: tap interface tp0: %s runs as the VM's user, which cannot open "
                        "/dev/net/tun, and it attaches to a tap only by its name",
                        backends[i]);
                assert_string_equal(b.err->msg, want);
                assert_non_null(strstr(b.err->hint, "chmod 0666 /dev/net/tun"));
                built_free(&b);
        }
        /* kvmtool's user networking has no tap: nothing to refuse. */
        struct built b;
        assert_int_equal(build_backend("kvmtool",
                                       "interfaces = [ { type = \"user\"; id = \"u\"; mac = "
                                       "\"02:00:00:00:00:01\"; } ];",
                                       env, &b),
                         0);
        built_free(&b);
}

/* microvm.nix's runners with a setBalloonScript, and how each sets the balloon. */
static void balloon_control_as_microvm_nix_has_it(void **state)
{
        (void)state;
        static const struct {
                const char *name;
                enum hv_balloon balloon;
        } expected[] = {
                { "qemu", HV_BALLOON_QMP },          { "cloud-hypervisor", HV_BALLOON_CH_API },
                { "crosvm", HV_BALLOON_CROSVM_CMD }, { "kvmtool", HV_BALLOON_LKVM_CMD },
                { "firecracker", HV_BALLOON_NONE },  { "stratovirt", HV_BALLOON_NONE },
                { "alioth", HV_BALLOON_NONE },
        };
        for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
                const struct hypervisor_ops *ops = hypervisor_find(expected[i].name);
                assert_non_null(ops);
                assert_int_equal(ops->balloon, expected[i].balloon);
        }
}

/* Whether any argument or file of the command contains `needle`. */
static bool command_mentions(const struct hv_command *c, const char *needle)
{
        for (size_t i = 0; c->argv && c->argv[i]; i++)
                if (strstr(c->argv[i], needle))
                        return true;
        for (size_t i = 0; c->file_contents && c->file_contents[i]; i++)
                if (strstr(c->file_contents[i], needle))
                        return true;
        return false;
}

/*
 * A long id is the tap's alternative name; hypervisors attach by TUNSETIFF,
 * which takes the kernel name (at most 15 bytes): every backend names that.
 */
static void long_ids_are_opened_by_their_kernel_names(void **state)
{
        (void)state;
        static const char *const cases[][2] = {
                { "qemu", "ifname=vm-web-f-b696e6," },
                { "cloud-hypervisor", "tap=vm-web-f-b696e6" },
                { "crosvm", "tap-name=vm-web-f-b696e6," },
                { "kvmtool", "tapif=vm-web-f-b696e6," },
                { "alioth", "if_name=vm-web-f-b696e6," },
                { "stratovirt", "ifname=vm-web-f-b696e6" },
                { "firecracker", "\"host_dev_name\":\"vm-web-f-b696e6\"" },
        };
        struct hv_env env = { .arch = "x86_64", .unbuffer = "/bin/unbuffer" };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct built b;
                if (build_backend(cases[i][0],
                                  "interfaces = [ { type = \"tap\"; id = "
                                  "\"vm-web-frontend-eth0\"; mac = \"02:00:00:00:00:01\"; } ];",
                                  env, &b) < 0)
                        fail_msg("%s: %s", cases[i][0], b.err->msg);
                if (!command_mentions(&b.cmd, cases[i][1]))
                        fail_msg("%s: no %s", cases[i][0], cases[i][1]);
                built_free(&b);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(backend_table),
                cmocka_unit_test(balloon_control_as_microvm_nix_has_it),
                cmocka_unit_test(passed_fd_numbering),
                cmocka_unit_test(words_and_files),
                cmocka_unit_test(ifindex_lookup),
                cmocka_unit_test(shared_refusals_and_cmdline),
                cmocka_unit_test(option_values_without_an_escape),
                cmocka_unit_test(taps_as_descriptors),
                cmocka_unit_test(taps_as_descriptors_are_refused),
                cmocka_unit_test(long_ids_are_opened_by_their_kernel_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
