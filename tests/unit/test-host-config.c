#include "config-helpers.h"

#include "config/host-config.h"
#include "config/value-get.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/helper-units.h"

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

static char *write_config(const char *dir, const char *name, const char *text)
{
        char *path = xasprintf("%s/%s", dir, name);
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644, NULL), 0);
        return path;
}

static void load_ok(const char *dir, const char *text, struct host_config *cfg)
{
        _cleanup_free_ char *path = write_config(dir, "host.nix", text);
        struct mv_error *err = NULL;
        if (host_config_load(path, cfg, &err) < 0)
                fail_msg("load failed: %s", err->msg);
}

static void load_fails(const char *dir, const char *text, const char *needle)
{
        _cleanup_free_ char *path = write_config(dir, "host.nix", text);
        struct host_config cfg;
        struct mv_error *err = NULL;
        if (host_config_load(path, &cfg, &err) >= 0)
                fail_msg("<%s> loaded; expected '%s'", text, needle);
        if (!strstr(err->msg, needle))
                fail_msg("error '%s' lacks '%s'", err->msg, needle);
        assert_int_equal(mv_error_exit_status(err), 2);
        mv_error_free(&err);
}

static const char *str_at(const struct host_config *cfg, const char *path)
{
        const struct value *v = value_lookup(cfg->root, path);
        if (!v || v->type != VALUE_STRING) {
                fail_msg("%s is not a string", path);
                abort();
        }
        return v->str;
}

static void empty_config_has_seed_defaults(void **state)
{
        struct host_config cfg;
        load_ok(*state, "{ }", &cfg);
        assert_string_equal(str_at(&cfg, "microvm.stateDir"), "/var/lib/microvms");
        assert_string_equal(str_at(&cfg, "microvm.host.tapScript"), "ip link set \"$id\" up\n");
        assert_string_equal(str_at(&cfg, "microvm.virtiofsd.threadPoolSize"), "`nproc`");
        assert_true(value_lookup(cfg.root, "microvm.host.enable")->boolean);
        assert_false(value_lookup(cfg.root, "microvm.host.useNotifySockets")->boolean);
        assert_int_equal(value_lookup(cfg.root, "microvm.virtiofsd.inodeFileHandles")->type,
                         VALUE_NULL);
        assert_int_equal(value_lookup(cfg.root, "microvm.autostart")->n_items, 0);
        assert_int_equal(value_lookup(cfg.root, "systemd.services")->n_attrs, 0);
        host_config_free(&cfg);
}

/* The helper units' switches: for every VM (%i) or one, with or without ".service". */
static void helper_unit_switches(void **state)
{
        struct host_config cfg;
        load_ok(*state,
                "{ systemd.services.\"microvm-tap-interfaces@%i.service\".enable = false;\n"
                "  systemd.services.\"microvm-virtiofsd@web\".enable = false;\n"
                "  systemd.services.\"microvm-pci-devices@db.service\".enable = true; }",
                &cfg);
        _cleanup_strv_free_ char **off = helpers_switched_off(cfg.root);
        assert_int_equal(helpers_disabled(off, "web"),
                         HELPER_BIT(HELPER_TAPS) | HELPER_BIT(HELPER_VIRTIOFSD));
        assert_int_equal(helpers_disabled(off, "db"), HELPER_BIT(HELPER_TAPS));
        /* A name that only starts like one is another VM. */
        assert_int_equal(helpers_disabled(off, "we"), HELPER_BIT(HELPER_TAPS));
        host_config_free(&cfg);
        load_fails(*state, "{ systemd.services.\"sshd.service\".enable = false; }",
                   "host.nix:1:20: systemd.services.\"sshd.service\": microvm reads only");
        load_fails(*state, "{ systemd.services.\"microvm@web.service\".enable = false; }",
                   "microvm reads only the switches");
        load_fails(*state, "{ systemd.services.\"microvm-virtiofsd@../x\".enable = false; }",
                   "\"../x\" is neither %i (every VM) nor a VM name");
        load_fails(*state, "{ systemd.services.\"microvm-virtiofsd@%i\".enabled = false; }",
                   "enabled");
}

/* With no file at all, the same defaults as an empty one. */
static void defaults_without_a_file(void **state)
{
        (void)state;
        struct host_config cfg;
        assert_int_equal(host_config_defaults(&cfg, NULL), 0);
        assert_string_equal(str_at(&cfg, "microvm.stateDir"), "/var/lib/microvms");
        assert_true(value_lookup(cfg.root, "microvm.host.enable")->boolean);
        const struct value *vms = vget_attrs(cfg.root, "microvm.vms");
        assert_true(vms && vms->n_attrs == 0);
        host_config_free(&cfg);
}

static void autostart_collects_vms(void **state)
{
        struct host_config cfg;
        load_ok(*state,
                "{ microvm.autostart = [ \"legacy\" \"web\" \"legacy\" ];\n"
                "  microvm.vms.web = { };\n"
                "  microvm.vms.db.autostart = false;\n"
                "  microvm.vms.app = { }; }",
                &cfg);
        const struct value *a = value_lookup(cfg.root, "microvm.autostart");
        assert_int_equal(a->n_items, 3);
        assert_string_equal(a->items[0]->str, "legacy");
        assert_string_equal(a->items[1]->str, "web");
        assert_string_equal(a->items[2]->str, "app");
        host_config_free(&cfg);
}

static void restart_if_changed_follows_config(void **state)
{
        struct host_config cfg;
        load_ok(*state,
                "{ microvm.vms.decl.config = { };\n"
                "  microvm.vms.imp.updateFlake = \"git+file:///x\";\n"
                "  microvm.vms.forced = { config = { }; restartIfChanged = false; }; }",
                &cfg);
        assert_true(value_lookup(cfg.root, "microvm.vms.decl.restartIfChanged")->boolean);
        assert_false(value_lookup(cfg.root, "microvm.vms.imp.restartIfChanged")->boolean);
        assert_false(value_lookup(cfg.root, "microvm.vms.forced.restartIfChanged")->boolean);
        host_config_free(&cfg);
}

static void guest_computed_defaults(void **state)
{
        struct host_config cfg;
        load_ok(*state,
                "{ microvm.vms.web.config.microvm.shares = [\n"
                "    { tag = \"data\"; source = \"/srv\"; mountPoint = \"/data\"; proto = "
                "\"virtiofs\"; }\n"
                "    { tag = \"nine\"; source = \"/srv\"; mountPoint = \"/nine\"; }\n"
                "  ];\n"
                "  microvm.vms.db.config = { networking.hostName = \"database\"; }; }",
                &cfg);
        assert_string_equal(str_at(&cfg, "microvm.vms.web.config.networking.hostName"), "web");
        assert_string_equal(str_at(&cfg, "microvm.vms.web.config.microvm.socket"), "web.sock");
        const struct value *shares =
                value_lookup(cfg.root, "microvm.vms.web.config.microvm.shares");
        assert_string_equal(value_lookup(shares->items[0], "socket")->str,
                            "web-virtiofs-data.sock");
        assert_int_equal(value_lookup(shares->items[1], "socket")->type, VALUE_NULL);
        assert_string_equal(str_at(&cfg, "microvm.vms.db.config.microvm.socket"), "database.sock");
        /* sha256("microvm.nix:web"), as microvm.nix computes it */
        assert_string_equal(str_at(&cfg, "microvm.vms.web.config.microvm.machineId"),
                            "dc449f31-234a-af5f-a0e8-2c21ab644d76");
        assert_false(
                value_lookup(cfg.root, "microvm.vms.web.config.microvm.vsock.ssh.enable")->boolean);
        /* Options only a Nix build can fill are absent unless set. */
        assert_null(value_lookup(cfg.root, "microvm.vms.web.config.microvm.kernel"));
        host_config_free(&cfg);
}

static void json_configuration(void **state)
{
        _cleanup_free_ char *path = write_config(
                *state, "host.json",
                "{\"microvm\": {\"stateDir\": \"/srv/vms\", \"vms\": {\"a\": {\"config\": "
                "{\"microvm\": {\"vcpu\": 2}}}}}}");
        struct host_config cfg;
        assert_int_equal(host_config_load(path, &cfg, NULL), 0);
        assert_string_equal(str_at(&cfg, "microvm.stateDir"), "/srv/vms");
        assert_int_equal(value_lookup(cfg.root, "microvm.vms.a.config.microvm.vcpu")->integer, 2);
        host_config_free(&cfg);
}

static void assertions_and_checks(void **state)
{
        const char *dir = *state;
        load_fails(dir, "{ microvm.vms.x = { config = { }; flake = /tmp; }; }",
                   "vm x: Fully-declarative VMs cannot also set a flake!");
        load_fails(dir, "{ microvm.vms.x = { config = { }; updateFlake = \"a\"; }; }",
                   "cannot set an updateFlake");
        load_fails(dir, "{ microvm.vms.\"$(reboot)\" = { }; }",
                   "vm name \"$(reboot)\" is not allowed");
        load_fails(dir, "{ microvm.vms.\"-x\" = { }; }", "is not allowed");
        /* Autostart names become state directory paths too. */
        load_fails(dir, "{ microvm.autostart = [ \"a\" \"../other-state/vm\" ]; }",
                   "host.nix:1:29: microvm.autostart: \"../other-state/vm\" is not a VM name");
        load_fails(dir, "{ microvm.autostart = [ \"\" ]; }", "\"\" is not a VM name");
        load_fails(dir, "{ microvm.autostart = [ \"a/b\" ]; }", "\"a/b\" is not a VM name");
#define iface                                                                                      \
        "{ microvm.vms.%s.config.microvm.interfaces = [ { type = \"%s\"; id = \"%s\"; mac = "      \
        "\"%s\"; } ]; %s }"
        char buf[1024];
        snprintf(buf, sizeof(buf), iface, "a", "tap", "a;b", "02:00:00:00:00:01", "");
        load_fails(dir, buf, "interface id \"a;b\" is not a valid interface name");
        snprintf(buf, sizeof(buf), iface, "a", "tap",
                 "an-id-of-128-bytes-"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                 "02:00:00:00:00:01", "");
        load_fails(dir, buf, "not a valid interface name: use 1 to 127");
        /* Two long ids whose kernel names are the same (found by trying). */
        snprintf(buf, sizeof(buf), iface, "a", "tap", "vm-web-frontend-1834", "02:00:00:00:00:01",
                 "microvm.vms.b.config.microvm.interfaces = [ { type = \"tap\"; id = "
                 "\"vm-web-frontend-4546\"; mac = \"02:00:00:00:00:02\"; } ];");
        load_fails(dir, buf,
                   "interface id \"vm-web-frontend-4546\" of vm b (kernel name "
                   "\"vm-web-f-70b58e\"): kernel name \"vm-web-f-70b58e\" is already that of "
                   "interface id \"vm-web-frontend-1834\" of vm a");
        snprintf(buf, sizeof(buf), iface, "a", "tap", "vm-a", "02:00:00:00:01", "");
        load_fails(dir, buf, "is not a MAC address");
        snprintf(buf, sizeof(buf), iface, "a", "macvtap", "vm-a", "02:00:00:00:00:01", "");
        load_fails(dir, buf, "macvtap interface vm-a needs macvtap.link");
        snprintf(buf, sizeof(buf), iface, "a", "tap", "vm-a", "02:00:00:00:00:01",
                 "microvm.vms.b.config.microvm.interfaces = [ { type = \"tap\"; id = \"vm-a\"; "
                 "mac = \"02:00:00:00:00:02\"; } ];");
        load_fails(dir, buf, "interface id \"vm-a\" of vm b is already used by vm a");
        load_fails(dir, "{ microvm.vms.a.config.microvm.vsock.cid = 2; }",
                   "vsock CID 2 is reserved");
        load_fails(dir,
                   "{ microvm.vms.a.config.microvm.vsock.cid = 5;"
                   "  microvm.vms.b.config.microvm.vsock.cid = 5; }",
                   "vsock CID 5 is already used by vm a");
        load_fails(dir,
                   "{ microvm.vms.a.config.microvm.shares = [\n"
                   "  { tag = \"t\"; source = \"/a\"; mountPoint = \"/a\"; }\n"
                   "  { tag = \"t\"; source = \"/b\"; mountPoint = \"/b\"; } ]; }",
                   "share tag \"t\" is used twice");
        load_fails(
                dir, "{ microvm.vms.a.config.microvm.shares = [ { tag = \"t\"; } ]; }",
                "microvm.vms.a.config.microvm.shares[0].mountPoint is not set; it has no default");
        /* User networking has no host interface: the same id in two VMs is fine. */
        struct host_config cfg;
        snprintf(buf, sizeof(buf), iface, "a", "user", "qemu", "02:00:00:00:00:01",
                 "microvm.vms.b.config.microvm.interfaces = [ { type = \"user\"; id = \"qemu\"; "
                 "mac = \"02:00:00:00:00:02\"; } ];");
        load_ok(dir, buf, &cfg);
        host_config_free(&cfg);
}

/* Forward addresses end up in qemu's rules and, from the guest, in a shell command. */
static void forward_addresses(void **state)
{
        const char *dir = *state;
#define fwd(from, haddr, gaddr)                                                                    \
        "{ microvm.vms.web.config.microvm.forwardPorts = [ { from = \"" from "\"; host.address "   \
        "= \"" haddr "\"; host.port = 80; guest.address = \"" gaddr "\"; guest.port = 80; } "      \
        "]; }"
        static const char *const bad[] = { "1.2.3.4; touch /tmp/x",
                                           "$(id)",
                                           "127.0.0.1 80",
                                           "-e/bin/sh",
                                           "a..b",
                                           "`id`",
                                           "host,name",
                                           "a\\nb" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = xasprintf(fwd("guest", "%s", "10.0.2.10"), bad[i]);
                load_fails(dir, text,
                           "microvm.vms.web.config.microvm.forwardPorts[0].host.address");
                load_fails(dir, text, "is not an IP address or a host name");
        }
        load_fails(dir, fwd("host", "", "10.0.2.15 x"),
                   "microvm.vms.web.config.microvm.forwardPorts[0].guest.address = \"10.0.2.15 "
                   "x\" is not an IP address or a host name");
        /* From the guest, the host address is what netcat connects to: it must be there. */
        load_fails(dir, fwd("guest", "", "10.0.2.10"), "forwardPorts[0].host.address is not set");
        load_fails(dir,
                   "{ microvm.vms.web.config.microvm.forwardPorts = [ { host.port = 70000; "
                   "guest.port = 22; } ]; }",
                   "forwardPorts");

        static const char *const good[][2] = {
                { "guest", "127.0.0.1" }, { "guest", "::1" },          { "guest", "fd00::2" },
                { "guest", "gateway" },   { "guest", "db-1.example" }, { "host", "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                struct host_config cfg;
                _cleanup_free_ char *text = xasprintf(
                        "{ microvm.vms.web.config.microvm.forwardPorts = [ { from = \"%s\"; "
                        "host.address = \"%s\"; host.port = 80; guest.port = 80; } ]; }",
                        good[i][0], good[i][1]);
                load_ok(dir, text, &cfg);
                host_config_free(&cfg);
        }
#undef fwd
}

static void mac_addresses(void **state)
{
        const char *dir = *state;
        char buf[1024];
        snprintf(buf, sizeof(buf), iface, "a", "tap", "vm-a", "03:00:00:00:00:01", "");
        load_fails(dir, buf,
                   "microvm.vms.a.config.microvm.interfaces[0].mac: \"03:00:00:00:00:01\" is a "
                   "multicast address");
        snprintf(buf, sizeof(buf), iface, "a", "user", "u", "ff:ff:ff:ff:ff:ff", "");
        load_fails(dir, buf, "is a multicast address");
        snprintf(buf, sizeof(buf), iface, "a", "tap", "vm-a", "00:00:00:00:00:00", "");
        load_fails(dir, buf, "\"00:00:00:00:00:00\" is the all-zero address");
        /* Across VMs, whatever the case of the hex digits. */
        snprintf(buf, sizeof(buf), iface, "a", "tap", "vm-a", "02:00:00:00:00:ab",
                 "microvm.vms.b.config.microvm.interfaces = [ { type = \"macvtap\"; id = "
                 "\"vm-b\"; mac = \"02:00:00:00:00:AB\"; macvtap = { link = \"eth0\"; mode = "
                 "\"bridge\"; }; } ];");
        load_fails(dir, buf,
                   "microvm.vms.b.config.microvm.interfaces[0].mac: \"02:00:00:00:00:AB\" is "
                   "already the address of microvm.vms.a.config.microvm.interfaces[0].mac");
        /* Within one VM, user networking included. */
        load_fails(dir,
                   "{ microvm.vms.a.config.microvm.interfaces = [\n"
                   "  { type = \"user\"; id = \"u\"; mac = \"02:00:00:00:00:01\"; }\n"
                   "  { type = \"tap\"; id = \"vm-a\"; mac = \"02:00:00:00:00:01\"; } ]; }",
                   "interfaces[1].mac: \"02:00:00:00:00:01\" is already the address of "
                   "microvm.vms.a.config.microvm.interfaces[0].mac (");
        /* User networking of two VMs: two separate networks, the same address is fine. */
        struct host_config cfg;
        snprintf(buf, sizeof(buf), iface, "a", "user", "qemu", "02:00:00:00:00:01",
                 "microvm.vms.b.config.microvm.interfaces = [ { type = \"user\"; id = \"qemu\"; "
                 "mac = \"02:00:00:00:00:01\"; } ];");
        load_ok(dir, buf, &cfg);
        host_config_free(&cfg);
}

static void guest_sizes(void **state)
{
        const char *dir = *state;
        struct host_config cfg;
        load_ok(dir,
                "{ microvm.vms.a.config.microvm = { mem = 16777216; hotplugMem = 16777216; "
                "vcpu = 4096; }; }",
                &cfg);
        host_config_free(&cfg);
        load_fails(dir, "{ microvm.vms.a.config.microvm.mem = 16777217; }",
                   "microvm.vms.a.config.microvm.mem: 16777217 MiB is more memory than a host "
                   "could give a VM; the most is 16777216 MiB (16 TiB)");
        load_fails(dir, "{ microvm.vms.a.config.microvm.mem = 9223372036854775807; }",
                   "microvm.mem: 9223372036854775807 MiB is more memory");
        load_fails(dir, "{ microvm.vms.a.config.microvm.hotplugMem = 17179869184; }",
                   "microvm.vms.a.config.microvm.hotplugMem: 17179869184 MiB is more memory");
        load_fails(dir, "{ microvm.vms.\"a.b\".config.microvm.vcpu = 4097; }",
                   "microvm.vms.\"a.b\".config.microvm.vcpu: 4097 virtual CPUs are more than a "
                   "VM can have; the most is 4096");
        /* The lower bounds are the options' types (positive integers). */
        load_fails(dir, "{ microvm.vms.a.config.microvm.mem = 0; }", "expected positive integer");
        load_fails(dir, "{ microvm.vms.a.config.microvm.mem = -512; }",
                   "expected positive integer");
        load_fails(dir, "{ microvm.vms.a.config.microvm.vcpu = 0; }", "expected positive integer");
}

static void missing_file_is_a_configuration_error(void **state)
{
        _cleanup_free_ char *path = xasprintf("%s/absent.nix", (char *)*state);
        struct host_config cfg;
        struct mv_error *err = NULL;
        assert_true(host_config_load(path, &cfg, &err) < 0);
        assert_int_equal(mv_error_exit_status(err), 2);
        assert_non_null(err->hint);
        mv_error_free(&err);
}

static void config_path_precedence(void **state)
{
        (void)state;
        unsetenv("MICROVM_CONFIG");
        assert_string_equal(host_config_path(NULL), "/etc/microvm/host.nix");
        setenv("MICROVM_CONFIG", "/env.nix", 1);
        assert_string_equal(host_config_path(NULL), "/env.nix");
        assert_string_equal(host_config_path("/flag.nix"), "/flag.nix");
        unsetenv("MICROVM_CONFIG");
}

static void name_rules(void **state)
{
        (void)state;
        assert_true(vm_name_valid("web"));
        assert_true(vm_name_valid("web-1.example_x"));
        assert_false(vm_name_valid(""));
        assert_false(vm_name_valid(".."));
        assert_false(vm_name_valid("a/b"));
        assert_false(vm_name_valid("a b"));
        assert_false(vm_name_valid("_x"));
        assert_true(host_address_valid("10.0.2.2"));
        assert_true(host_address_valid("::1"));
        assert_true(host_address_valid("2001:db8::8a2e:370:7334"));
        assert_true(host_address_valid("example.org"));
        assert_true(host_address_valid("a-b.c1"));
        assert_false(host_address_valid(""));
        assert_false(host_address_valid("-a"));
        assert_false(host_address_valid("a-"));
        assert_false(host_address_valid("a..b"));
        assert_false(host_address_valid(".a"));
        assert_false(host_address_valid("a_b"));
        assert_false(host_address_valid("[::1]"));
        assert_false(host_address_valid("fe80::1%eth0"));
        assert_false(host_address_valid("1.2.3.4;id"));
        assert_false(host_address_valid("a b"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(empty_config_has_seed_defaults, setup, teardown),
                cmocka_unit_test(defaults_without_a_file),
                cmocka_unit_test_setup_teardown(helper_unit_switches, setup, teardown),
                cmocka_unit_test_setup_teardown(autostart_collects_vms, setup, teardown),
                cmocka_unit_test_setup_teardown(restart_if_changed_follows_config, setup, teardown),
                cmocka_unit_test_setup_teardown(guest_computed_defaults, setup, teardown),
                cmocka_unit_test_setup_teardown(json_configuration, setup, teardown),
                cmocka_unit_test_setup_teardown(assertions_and_checks, setup, teardown),
                cmocka_unit_test_setup_teardown(mac_addresses, setup, teardown),
                cmocka_unit_test_setup_teardown(guest_sizes, setup, teardown),
                cmocka_unit_test_setup_teardown(missing_file_is_a_configuration_error, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(forward_addresses, setup, teardown),
                cmocka_unit_test(config_path_precedence),
                cmocka_unit_test(name_rules),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
