/*
 * firecracker: the command line of microvm.nix's firecracker runner
 * (lib/runners/firecracker.nix), built as an argv vector. Firecracker takes
 * its machine as a JSON file, written next to the runner.
 */
#include <string.h>

#include "config/ifname.h"
#include "config/json-write.h"
#include "config/value-get.h"
#include "hypervisor/hypervisor.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const struct srcpos nowhere = { 0 };

static bool fc_tap_multi_queue(const struct hv_vm *vm)
{
        (void)vm;
        return false;
}

static enum hv_shutdown fc_shutdown(const struct hv_vm *vm)
{
        return vget_str(vm->guest, "microvm.socket") ? HV_SHUTDOWN_FC_API : HV_SHUTDOWN_NONE;
}

static void put(struct value *attrs, const char *key, struct value *v)
{
        value_attrs_append(attrs, key, nowhere, v);
}

static struct value *str(const char *s)
{
        return value_new_string(VALUE_STRING, s, strlen(s), nowhere);
}

static struct value *drive(const char *id, const char *path, bool read_only, const char *engine)
{
        struct value *d = value_new(VALUE_ATTRS, nowhere);
        put(d, "drive_id", str(id));
        put(d, "path_on_host", str(path));
        put(d, "is_root_device", value_new_bool(false, nowhere));
        put(d, "is_read_only", value_new_bool(read_only, nowhere));
        put(d, "io_engine", str(engine));
        return d;
}

/* The value as compact JSON with sorted keys, as Nix's builtins.toJSON writes it. */
static char *to_json(struct value *v)
{
        struct strbuf b = { 0 };
        value_sort_attrs(v);
        json_write_value(&b, v, false);
        return strbuf_take(&b);
}

/* Attribute sets in `update` merge into `base` key by key; anything else replaces. */
static void recursive_update(struct value *base, const struct value *update)
{
        for (size_t i = 0; i < update->n_attrs; i++) {
                const struct attr *u = &update->attrs[i];
                struct attr *a = value_attrs_get(base, u->key);
                if (!a) {
                        put(base, u->key, value_copy(u->value));
                } else if (a->value->type == VALUE_ATTRS && u->value->type == VALUE_ATTRS) {
                        recursive_update(a->value, u->value);
                } else {
                        value_free(a->value);
                        a->value = value_copy(u->value);
                }
        }
}

static char *boot_args(const struct value *g)
{
        return hv_kernel_cmdline(g, "console=ttyS0,115200 reboot=k panic=1 i8042.noaux "
                                    "i8042.nomux i8042.nopnp i8042.dumbkbd ");
}

/* The configuration file's contents; `cpu_config` is the CPU template's path, or NULL. */
static char *config_json(const struct hv_vm *vm, const char *kernel, const char *initrd,
                         const char *cpu_config)
{
        const struct value *g = vm->guest;
        const char *engine = vget_str(g, "microvm.firecracker.driveIoEngine");
        _cleanup_value_ struct value *c = value_new(VALUE_ATTRS, nowhere);

        struct value *boot = value_new(VALUE_ATTRS, nowhere);
        put(boot, "kernel_image_path", str(kernel));
        put(boot, "initrd_path", str(initrd));
        _cleanup_free_ char *args = boot_args(g);
        put(boot, "boot_args", str(args));
        put(c, "boot-source", boot);

        struct value *machine = value_new(VALUE_ATTRS, nowhere);
        put(machine, "vcpu_count", value_new_int(vget_int(g, "microvm.vcpu", 1), nowhere));
        put(machine, "mem_size_mib", value_new_int(vget_int(g, "microvm.mem", 512), nowhere));
        /* Firecracker refuses simultaneous multithreading on aarch64. */
        put(machine, "smt", value_new_bool(strcmp(vm->env.arch, "aarch64") != 0, nowhere));
        put(c, "machine-config", machine);

        /*
         * The store disk first, then the volumes. microvm.nix always has one; a VM
         * built without Nix boots its initrd and has none.
         */
        struct value *drives = value_new(VALUE_LIST, nowhere);
        if (has_store_disk(g))
                value_list_append(drives,
                                  drive("store", vget_str(g, "microvm.storeDisk"), true, engine));
        const struct value *volumes = vget_list(g, "microvm.volumes");
        for (size_t i = 0; volumes && i < volumes->n_items; i++) {
                const char *image = vget_str(volumes->items[i], "image");
                bool ro = vget_bool(volumes->items[i], "readOnly", false);
                value_list_append(drives, drive(image, image, ro, engine));
        }
        put(c, "drives", drives);

        struct value *nets = value_new(VALUE_LIST, nowhere);
        const struct value *ifaces = vget_list(g, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const char *id = vget_str(ifaces->items[i], "id");
                ifname_buf buf;
                struct value *n = value_new(VALUE_ATTRS, nowhere);
                put(n, "iface_id", str(id));
                put(n, "host_dev_name", str(interface_kernel_name(id, buf)));
                put(n, "guest_mac", str(vget_str(ifaces->items[i], "mac")));
                value_list_append(nets, n);
        }
        put(c, "network-interfaces", nets);

        /* Without a CID the key stays, as null. */
        int64_t cid = vget_int(g, "microvm.vsock.cid", -1);
        struct value *vsock = value_new(cid >= 0 ? VALUE_ATTRS : VALUE_NULL, nowhere);
        if (cid >= 0) {
                put(vsock, "guest_cid", value_new_int(cid, nowhere));
                put(vsock, "uds_path", str("notify.vsock"));
        }
        put(c, "vsock", vsock);
        if (cpu_config)
                put(c, "cpu-config", str(cpu_config));

        const struct value *extra = vget_attrs(g, "microvm.firecracker.extraConfig");
        if (extra)
                recursive_update(c, extra);
        return to_json(c);
}

/* microvm.nix refuses these at evaluation time; here they are configuration errors. */
static int check_supported(const struct hv_vm *vm, struct mv_error **err)
{
        const struct value *g = vm->guest;

        int r = hv_refuse_user(vm, "firecracker", err);
        if (r < 0)
                return r;
        if (vget_count(g, "microvm.shares") > 0)
                return mv_error_config(err,
                                       "vm %s: firecracker cannot share host directories "
                                       "(microvm.shares); remove them, use microvm.volumes, or "
                                       "use another hypervisor such as cloud-hypervisor",
                                       vm->name);
        if (vget_count(g, "microvm.devices") > 0)
                return mv_error_config(err,
                                       "vm %s: firecracker cannot pass devices through "
                                       "(microvm.devices); remove them, or use qemu or "
                                       "cloud-hypervisor",
                                       vm->name);
        r = hv_refuse_memory_and_credentials(vm, "firecracker", false, err);
        if (r < 0)
                return r;
        if (!vget_str(g, "microvm.socket"))
                return mv_error_config(err,
                                       "vm %s: firecracker must be configured with an API "
                                       "socket; set microvm.socket, e.g. to \"%s.sock\"",
                                       vm->name, vm->name);
        const struct value *ifaces = vget_list(g, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const char *type = vget_str(ifaces->items[i], "type");
                if (strcmp(type, "tap") != 0)
                        return mv_error_config(err,
                                               "vm %s: interface %s (microvm.interfaces) has "
                                               "type \"%s\", which firecracker cannot do; use "
                                               "type \"tap\"",
                                               vm->name, vget_str(ifaces->items[i], "id"), type);
        }
        if (strcmp(vm->env.arch, "x86_64") != 0 && strcmp(vm->env.arch, "aarch64") != 0)
                return mv_error_fail(err, "vm %s: firecracker runner has no settings for %s hosts",
                                     vm->name, vm->env.arch);
        /* Its config names host_dev_name, which it opens on /dev/net/tun itself. */
        return hv_refuse_taps_as_fds(vm, "firecracker", err);
}

static int fc_build(const struct hv_vm *vm, struct hv_command *out, struct mv_error **err)
{
        const struct value *g = vm->guest;
        _cleanup_strv_free_ char **argv = NULL;

        int r = check_supported(vm, err);
        if (r < 0)
                return r;
        const char *kernel, *initrd;
        r = hv_boot_files(vm, &kernel, &initrd, err);
        if (r < 0)
                return r;

        /* microvm.nix accepts these and only warns that firecracker ignores them. */
        const struct value *volumes = vget_list(g, "microvm.volumes");
        for (size_t i = 0; volumes && i < volumes->n_items; i++) {
                const struct value *v = volumes->items[i];
                if (vget_str(v, "serial"))
                        log_warning("vm %s: volume %s: firecracker does not support a serial",
                                    vm->name, vget_str(v, "image"));
                if (vget_bool(v, "direct", false))
                        log_warning("vm %s: volume %s: firecracker does not support direct IO",
                                    vm->name, vget_str(v, "image"));
        }

        /* Nothing reaches `out` before here: a refused VM leaves it empty. */
        const struct value *cpu = vget_attrs(g, "microvm.firecracker.cpu");
        _cleanup_free_ char *cpu_path = NULL;
        if (cpu) {
                _cleanup_value_ struct value *template = value_copy(cpu);
                cpu_path = hv_command_add_file(out, vm, "cpu-config.json", to_json(template));
        }
        const char *host_name = vget_str(g, "networking.hostName");
        _cleanup_free_ char *name =
                xasprintf("firecracker-%s.json", host_name ? host_name : vm->name);
        _cleanup_free_ char *config =
                hv_command_add_file(out, vm, name, config_json(vm, kernel, initrd, cpu_path));

        strv_push(&argv, vm->binary);
        strv_push(&argv, "--config-file");
        strv_push(&argv, config);
        strv_push(&argv, "--api-sock");
        strv_push(&argv, vget_str(g, "microvm.socket"));
        /* Firecracker has a PCI bus since 1.13, which microvm.nix turns on. */
        if (hv_version_at_least(vm, "1.13.0"))
                strv_push(&argv, "--enable-pci");
        vlist_push_strings(&argv, vget_list(g, "microvm.firecracker.extraArgs"));

        out->argv = TAKE_PTR(argv);
        return 0;
}

const struct hypervisor_ops hypervisor_firecracker = {
        .name = "firecracker",
        .binary_name = "firecracker",
        .build = fc_build,
        .shutdown = fc_shutdown,
        .supports_notify_socket = false,
        .hybrid_vsock = "notify.vsock",
        .tap_multi_queue = fc_tap_multi_queue,
        .macvtap_as_fds = false,
        .control_socket = true,
};
