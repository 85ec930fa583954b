/* The qemu backend beyond the golden cases: other architectures, TCG, errors. */
#include "config-helpers.h"

#include "config/host-config.h"
#include "config/value-get.h"
#include "hypervisor/hypervisor.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

struct built {
        struct host_config cfg;
        struct hv_command cmd;
        char **argv;
        struct mv_error *err;
};

/* The host's KVM as the tests pretend it: NULL leaves the env's kvm_usable unset. */
static const bool *kvm_answer;
static int kvm_asked;
/* Whether the host passes taps as descriptors (hv_env.taps_as_fds). */
static bool taps_as_fds;

static bool kvm_stub(const struct hv_vm *vm)
{
        (void)vm;
        kvm_asked++;
        return *kvm_answer;
}

/* Evaluate `guest` (the body of microvm.vms.t.config) and build qemu's argv for `arch`. */
static int build(const char *guest, const char *arch, struct built *b)
{
        char *dir = scratch_dir_new();
        _cleanup_free_ char *path = xasprintf("%s/host.nix", dir);
        _cleanup_free_ char *text = xasprintf(
                "{ microvm.vms.t.config = { microvm.kernel = \"/k\"; microvm.initrdPath = "
                "\"/i\"; %s }; }",
                guest);
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644, NULL), 0);
        memset(b, 0, sizeof(*b));
        if (host_config_load(path, &b->cfg, &b->err) < 0)
                fail_msg("%s", b->err->msg);
        scratch_dir_remove(dir);
        struct hv_vm vm = {
                .name = "t",
                .guest = value_lookup(b->cfg.root, "microvm.vms.t.config"),
                .binary = "/usr/bin/qemu",
                .env = { .arch = arch,
                         .netcat = "/bin/nc",
                         .bridge_helper = "/h",
                         .kvm_usable = kvm_answer ? kvm_stub : NULL,
                         .taps_as_fds = taps_as_fds },
        };
        int r = hypervisor_find("qemu")->build(&vm, &b->cmd, &b->err);
        b->argv = b->cmd.argv;
        return r;
}

static void built_free(struct built *b)
{
        hv_command_free(&b->cmd);
        mv_error_free(&b->err);
        host_config_free(&b->cfg);
}

/* The argument following `flag`, or NULL. */
static const char *after(char **argv, const char *flag)
{
        for (size_t i = 0; argv[i]; i++)
                if (strcmp(argv[i], flag) == 0)
                        return argv[i + 1];
        return NULL;
}

static void tcg_with_an_emulated_cpu(void **state)
{
        (void)state;
        struct built b;
        assert_int_equal(build("microvm.cpu = \"max\"; microvm.qemu.machine = \"q35\"; "
                               "microvm.qemu.machineOpts = { accel = \"tcg\"; };",
                               "x86_64", &b),
                         0);
        assert_string_equal(after(b.argv, "-M"), "q35,accel=tcg");
        assert_string_equal(after(b.argv, "-cpu"), "max");
        assert_false(strv_contains(b.argv, "-enable-kvm"));
        /* q35 has PCI: devices are -pci and the net device gets romfile= */
        assert_string_equal(after(b.argv, "-device"), "virtio-rng-pci");
        built_free(&b);
}

/* Without a usable KVM the defaults turn to TCG; what the user set stays. */
static void tcg_when_kvm_cannot_run_guests(void **state)
{
        (void)state;
        static const bool no = false, yes = true;
        struct built b;
        kvm_answer = &no;
        kvm_asked = 0;
        assert_int_equal(build("microvm.interfaces = [ { type = \"user\"; id = \"u\"; "
                               "mac = \"02:00:00:00:00:01\"; } ];",
                               "aarch64", &b),
                         0);
        assert_int_equal(kvm_asked, 1);
        assert_string_equal(after(b.argv, "-M"), "microvm,accel=tcg,gic-version=max");
        assert_string_equal(after(b.argv, "-cpu"), "max");
        assert_false(strv_contains(b.argv, "-enable-kvm"));
        /* As with microvm.cpu set: an emulated CPU keeps the net device's ROM. */
        assert_non_null(strstr(after(b.argv, "-netdev"), "user,id=u"));
        assert_true(strv_contains(b.argv, "virtio-net-device,netdev=u,mac=02:00:00:00:00:01"));
        built_free(&b);

        assert_int_equal(build("microvm.qemu.machineOpts = { accel = \"kvm\"; };", "x86_64", &b),
                         0);
        assert_string_equal(after(b.argv, "-M"), "microvm,accel=kvm");
        assert_string_equal(after(b.argv, "-cpu"), "max");
        built_free(&b);

        /* A configured CPU decides alone: KVM is not even asked. */
        kvm_asked = 0;
        assert_int_equal(build("microvm.cpu = \"qemu64\";", "x86_64", &b), 0);
        assert_int_equal(kvm_asked, 0);
        assert_string_equal(after(b.argv, "-cpu"), "qemu64");
        assert_non_null(strstr(after(b.argv, "-M"), "accel=kvm:tcg"));
        built_free(&b);

        kvm_answer = &yes;
        assert_int_equal(build("", "x86_64", &b), 0);
        assert_string_equal(after(b.argv, "-cpu"), "host,+x2apic,-sgx");
        assert_true(strv_contains(b.argv, "-enable-kvm"));
        built_free(&b);
        kvm_answer = NULL;
}

/* The -netdev of interface `id`, or NULL. */
static const char *netdev(char **argv, const char *id)
{
        _cleanup_free_ char *prefix = xasprintf("tap,id=%s,", id);
        for (size_t i = 0; argv[i]; i++)
                if (strcmp(argv[i], "-netdev") == 0 && argv[i + 1] &&
                    strncmp(argv[i + 1], prefix, strlen(prefix)) == 0)
                        return argv[i + 1];
        return NULL;
}

#define TAP_AND_MACVTAP(vcpu)                                                                      \
        "microvm.vcpu = " vcpu "; microvm.interfaces = [ { type = \"tap\"; id = \"tp0\"; mac = "   \
        "\"02:00:00:00:00:01\"; tap.vhost = true; } { type = \"macvtap\"; id = \"mv0\"; mac = "    \
        "\"02:00:00:00:00:02\"; macvtap = { link = \"eth0\"; mode = \"bridge\"; }; } ];"

/* A tap passed as descriptors: fd= or fds=, numbered with the macvtap, vhost kept. */
static void taps_as_descriptors(void **state)
{
        (void)state;
        struct built b;
        assert_int_equal(build(TAP_AND_MACVTAP("1"), "x86_64", &b), 0);
        assert_string_equal(netdev(b.argv, "tp0"),
                            "tap,id=tp0,ifname=tp0,script=no,downscript=no,vhost=on");
        assert_string_equal(netdev(b.argv, "mv0"), "tap,id=mv0,fd=3");
        built_free(&b);

        taps_as_fds = true;
        assert_int_equal(build(TAP_AND_MACVTAP("1"), "x86_64", &b), 0);
        assert_string_equal(netdev(b.argv, "tp0"), "tap,id=tp0,fd=3,vhost=on");
        assert_string_equal(netdev(b.argv, "mv0"), "tap,id=mv0,fd=4");
        built_free(&b);

        /* One descriptor per queue; qemu counts the queues itself, so no queues=. */
        assert_int_equal(build(TAP_AND_MACVTAP("2"), "x86_64", &b), 0);
        assert_string_equal(netdev(b.argv, "tp0"), "tap,id=tp0,fds=3:4,vhost=on");
        assert_string_equal(netdev(b.argv, "mv0"), "tap,id=mv0,fds=5:6");
        built_free(&b);
        taps_as_fds = false;

        assert_int_equal(build(TAP_AND_MACVTAP("2"), "x86_64", &b), 0);
        assert_string_equal(netdev(b.argv, "tp0"),
                            "tap,id=tp0,ifname=tp0,script=no,downscript=no,vhost=on,queues=2");
        built_free(&b);
}

static void aarch64_and_no_serial_console(void **state)
{
        (void)state;
        struct built b;
        assert_int_equal(build("microvm.qemu.machine = \"virt\"; microvm.qemu.serialConsole = "
                               "false; microvm.kernelParams = [ \"quiet\" ];",
                               "aarch64", &b),
                         0);
        assert_string_equal(after(b.argv, "-M"), "virt,accel=kvm:tcg,gic-version=max");
        assert_string_equal(after(b.argv, "-cpu"), "host");
        assert_string_equal(after(b.argv, "-append"), " reboot=t panic=-1 quiet");
        assert_false(strv_contains(b.argv, "i8042"));
        assert_false(strv_contains(b.argv, "-serial"));
        built_free(&b);
}

static void unsupported_settings_are_config_errors(void **state)
{
        (void)state;
        struct built b;
        assert_true(build("microvm.initialBalloonMem = 64;", "x86_64", &b) < 0);
        assert_non_null(strstr(b.err->msg, "initialBalloonMem is not supported by qemu"));
        assert_int_equal(mv_error_exit_status(b.err), 2);
        built_free(&b);
        assert_true(build("microvm.hotplugMem = 512;", "x86_64", &b) < 0);
        assert_non_null(strstr(b.err->msg, "needs a qemu machine other than microvm"));
        built_free(&b);
        assert_int_equal(
                build("microvm.hotplugMem = 512; microvm.qemu.machine = \"q35\";", "x86_64", &b),
                0);
        assert_string_equal(after(b.argv, "-m"), "512M,maxmem=1024M");
        built_free(&b);
}

static void missing_kernel_is_reported(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        _cleanup_free_ char *path = xasprintf("%s/host.nix", dir);
        const char *text = "{ microvm.vms.t.config = { }; }";
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644, NULL), 0);
        struct host_config cfg;
        struct mv_error *err = NULL;
        assert_int_equal(host_config_load(path, &cfg, &err), 0);
        struct hv_vm vm = { .name = "t",
                            .guest = value_lookup(cfg.root, "microvm.vms.t.config"),
                            .binary = "/q",
                            .env = { .arch = "x86_64" } };
        struct hv_command cmd = { 0 };
        assert_true(hypervisor_find("qemu")->build(&vm, &cmd, &err) < 0);
        assert_non_null(strstr(err->msg, "vm t: microvm.kernel is not set"));
        mv_error_free(&err);
        host_config_free(&cfg);
        scratch_dir_remove(dir);
}

static void shutdown_needs_the_socket(void **state)
{
        (void)state;
        struct built b;
        assert_int_equal(build("", "x86_64", &b), 0);
        struct hv_vm vm = { .guest = value_lookup(b.cfg.root, "microvm.vms.t.config") };
        const struct hypervisor_ops *q = hypervisor_find("qemu");
        assert_int_equal(q->shutdown(&vm), HV_SHUTDOWN_QMP);
        assert_false(q->tap_multi_queue(&vm));
        assert_null(hypervisor_find("vfkit"));
        built_free(&b);
}

/* Every argument that follows `flag`, joined with '|', for one assertion. */
static char *all_after(char **argv, const char *flag)
{
        struct strbuf b = { 0 };
        for (size_t i = 0; argv[i] && argv[i + 1]; i++)
                if (strcmp(argv[i], flag) == 0)
                        strbuf_printf(&b, "%s%s", b.len ? "|" : "", argv[i + 1]);
        return strbuf_take(&b);
}

/* qemu reads ",," as a literal comma: a comma in a value must not start another option. */
static void commas_in_values_are_doubled(void **state)
{
        (void)state;
        struct built b;
        assert_int_equal(
                build("microvm.volumes = [ { image = \"/v/a,read-only=off.img\"; mountPoint = "
                      "\"/a\"; size = 1; serial = \"s,1\"; } ]; "
                      "microvm.shares = [ { tag = \"t,x\"; source = \"/s,rc\"; mountPoint = "
                      "\"/s\"; proto = \"9p\"; } { tag = \"v\"; source = \"/v\"; mountPoint "
                      "= \"/v\"; socket = \"/run/v,1.sock\"; proto = \"virtiofs\"; } ]; "
                      "microvm.socket = \"/run/q,1.sock\"; microvm.storeOnDisk = true; "
                      "microvm.storeDisk = \"/s,d.img\"; microvm.credentialFiles = { \"a,b\" = "
                      "\"/c,d\"; }; networking.hostName = \"h,1\"; "
                      "microvm.qemu.machineOpts = { accel = \"kvm,x=y\"; };",
                      "x86_64", &b),
                0);
        _cleanup_free_ char *drives = all_after(b.argv, "-drive");
        assert_string_equal(drives,
                            "id=store,format=raw,read-only=on,file=/s,,d.img,if=none,aio=io_uring|"
                            "id=vdb,format=raw,file=/v/a,,read-only=off.img,if=none,aio=io_uring,"
                            "discard=unmap,read-only=off");
        _cleanup_free_ char *devices = all_after(b.argv, "-device");
        assert_non_null(strstr(devices, "virtio-blk-pci,drive=vdb,serial=s,,1|"));
        assert_non_null(strstr(devices, "virtio-9p-pci,fsdev=fs0,mount_tag=t,,x|"));
        assert_string_equal(after(b.argv, "-fsdev"),
                            "local,id=fs0,path=/s,,rc,security_model=none,readonly=false");
        assert_string_equal(after(b.argv, "-chardev"), "stdio,id=stdio,signal=off");
        _cleanup_free_ char *chardevs = all_after(b.argv, "-chardev");
        assert_non_null(strstr(chardevs, "|socket,id=fs1,path=/run/v,,1.sock"));
        assert_string_equal(after(b.argv, "-qmp"), "unix:/run/q,,1.sock,server,nowait");
        assert_string_equal(after(b.argv, "-fw_cfg"),
                            "name=opt/io.systemd.credentials/a,,b,file=/c,,d");
        assert_string_equal(after(b.argv, "-name"), "h,,1");
        assert_string_equal(after(b.argv, "-M"), "microvm,accel=kvm,,x=y");
        built_free(&b);
}

/* What qemu cannot take at all is a configuration error naming the option. */
static void values_qemu_cannot_take_are_refused(void **state)
{
        (void)state;
        static const char *const cases[][2] = {
                { "microvm.volumes = [ { image = \"/v/a\\n.img\"; mountPoint = \"/a\"; size = "
                  "1; } ];",
                  "microvm.vms.t.config.microvm.volumes[0].image contains a control character "
                  "(byte 0x0a)" },
                { "microvm.socket = \"/run/a=b.sock\";",
                  "microvm.vms.t.config.microvm.socket = \"/run/a=b.sock\" contains '='" },
                { "networking.hostName = \"a=b\";",
                  "microvm.vms.t.config.networking.hostName = \"a=b\" contains '='" },
                { "microvm.qemu.machineOpts = { \"a,b\" = \"on\"; };",
                  "microvm.vms.t.config.microvm.qemu.machineOpts.\"a,b\" = \"a,b\" contains "
                  "','" },
                { "microvm.interfaces = [ { type = \"user\"; id = \"0net\"; mac = "
                  "\"02:00:00:00:00:01\"; } ];",
                  "microvm.vms.t.config.microvm.interfaces[0].id = \"0net\" is not an id that "
                  "qemu accepts" },
                { "microvm.qemu.pcieRootPorts = [ { id = \"a,b\"; } ];",
                  "microvm.vms.t.config.microvm.qemu.pcieRootPorts[0].id = \"a,b\" is not an "
                  "id" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct built b;
                assert_true(build(cases[i][0], "x86_64", &b) < 0);
                if (!strstr(b.err->msg, cases[i][1]))
                        fail_msg("case %zu: '%s' lacks '%s'", i, b.err->msg, cases[i][1]);
                assert_int_equal(mv_error_exit_status(b.err), 2);
                assert_non_null(strstr(b.err->msg, "host.nix:1:")); /* where it was written */
                assert_non_null(b.err->hint);
                built_free(&b);
        }
}

#define USER_NET                                                                                   \
        "microvm.interfaces = [ { type = \"user\"; id = \"u\"; mac = \"02:00:00:00:00:01\"; } ]; "
#define GUEST_FWD(host)                                                                            \
        USER_NET "microvm.forwardPorts = [ { from = \"guest\"; guest.address = \"10.0.2.10\"; "    \
                 "guest.port = 80; host.address = \"" host "\"; host.port = 8080; } ];"

/* A guestfwd's host address is what the shell that qemu starts hands to netcat. */
static void guestfwd_takes_addresses_and_host_names(void **state)
{
        (void)state;
        static const char *const ok[][2] = {
                { GUEST_FWD("127.0.0.1"), "127.0.0.1" },
                { GUEST_FWD("::1"), "::1" },
                { GUEST_FWD("db.example"), "db.example" },
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                struct built b;
                assert_int_equal(build(ok[i][0], "x86_64", &b), 0);
                _cleanup_free_ char *want = xasprintf(
                        "user,id=u,guestfwd=tcp:10.0.2.10:80-cmd:/bin/nc %s 8080,", ok[i][1]);
                assert_string_equal(after(b.argv, "-netdev"), want);
                built_free(&b);
        }
}

/*
 * A runner installed before addresses were checked is built from its spec,
 * which no configuration check sees: the backend refuses such a value too.
 */
static void guestfwd_refuses_a_command_from_a_spec(void **state)
{
        (void)state;
        static const char *const evil[] = { "1.2.3.4; touch /tmp/x", "$(id)", "a b" };
        struct built b;
        assert_int_equal(build(GUEST_FWD("127.0.0.1"), "x86_64", &b), 0);
        hv_command_free(&b.cmd);
        const struct value *g = value_lookup(b.cfg.root, "microvm.vms.t.config");
        const struct value *fwd = vget_list(g, "microvm.forwardPorts")->items[0];
        struct attr *addr = value_attrs_get(value_lookup(fwd, "host"), "address");
        struct value *orig = addr->value;
        for (size_t i = 0; i < ELEMENTSOF(evil); i++) {
                addr->value = value_new_string(VALUE_STRING, evil[i], strlen(evil[i]),
                                               (struct srcpos){ 0 });
                struct hv_vm vm = { .name = "t",
                                    .guest = g,
                                    .binary = "/q",
                                    .env = { .arch = "x86_64", .netcat = "/bin/nc" } };
                struct hv_command cmd = { 0 };
                assert_true(hypervisor_find("qemu")->build(&vm, &cmd, &b.err) < 0);
                assert_non_null(strstr(b.err->msg, "microvm.vms.t.config.microvm.forwardPorts[0]"
                                                   ".host.address"));
                assert_non_null(strstr(b.err->msg, "is not an IP address or a host name"));
                assert_int_equal(mv_error_exit_status(b.err), 2);
                assert_null(cmd.argv);
                mv_error_free(&b.err);
                value_free(addr->value);
        }
        addr->value = orig;
        built_free(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(tcg_with_an_emulated_cpu),
                cmocka_unit_test(tcg_when_kvm_cannot_run_guests),
                cmocka_unit_test(taps_as_descriptors),
                cmocka_unit_test(aarch64_and_no_serial_console),
                cmocka_unit_test(unsupported_settings_are_config_errors),
                cmocka_unit_test(missing_kernel_is_reported),
                cmocka_unit_test(shutdown_needs_the_socket),
                cmocka_unit_test(commas_in_values_are_doubled),
                cmocka_unit_test(values_qemu_cannot_take_are_refused),
                cmocka_unit_test(guestfwd_takes_addresses_and_host_names),
                cmocka_unit_test(guestfwd_refuses_a_command_from_a_spec),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
