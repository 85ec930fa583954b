/*
 * firecracker: the command line of microvm.nix's firecracker runner
 * (lib/runners/firecracker.nix), built as an argv vector. Firecracker takes
 * its machine as a JSON file; it is written into the runner directory, the
 * same bytes microvm.nix's runner carries.
 */
#include <string.h>

#include "config/json-write.h"
#include "config/merge.h"
#include "config/value-get.h"
#include "hypervisor/hypervisor.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const struct srcpos nowhere = { 0 };

static struct value *str(const char *s)
{
        return value_new_string(VALUE_STRING, s, strlen(s), nowhere);
}

static struct value *integer(int64_t i)
{
        return value_new_int(i, nowhere);
}

static struct value *boolean(bool b)
{
        return value_new_bool(b, nowhere);
}

static void put(struct value *attrs, const char *key, struct value *v)
{
        value_attrs_append(attrs, key, nowhere, v);
}

static struct value *drive(const char *id, const char *path, bool read_only, const char *engine)
{
        struct value *d = value_new(VALUE_ATTRS, nowhere);
        put(d, "drive_id", str(id));
        put(d, "path_on_host", str(path));
        put(d, "is_root_device", boolean(false));
        put(d, "is_read_only", boolean(read_only));
        put(d, "io_engine", str(engine));
        return d;
}

/* extraConfig merges into the generated configuration: sets recursively, anything else replaces. */
static void recursive_update(struct value *base, const struct value *extra)
{
        for (size_t i = 0; i < extra->n_attrs; i++) {
                const struct attr *e = &extra->attrs[i];
                struct attr *b = value_attrs_get(base, e->key);
                if (b && b->value->type == VALUE_ATTRS && e->value->type == VALUE_ATTRS) {
                        recursive_update(b->value, e->value);
                } else if (b) {
                        value_free(b->value);
                        b->value = value_copy(e->value);
                } else {
                        put(base, e->key, value_copy(e->value));
                }
        }
}

static char *boot_args(const struct value *g)
{
        const struct value *params = vget_list(g, "microvm.kernelParams");
        struct strbuf b = { 0 };
        strbuf_puts(&b, "console=ttyS0,115200 reboot=k panic=1 i8042.noaux i8042.nomux "
                        "i8042.nopnp i8042.dumbkbd ");
        for (size_t i = 0; params && i < params->n_items; i++)
                strbuf_printf(&b, "%s%s", i ? " " : "", params->items[i]->str);
        return strbuf_take(&b);
}

static struct value *machine_json(const struct hv_vm *vm)
{
        const struct value *g = vm->guest;
        const char *engine = vget_str(g, "microvm.firecracker.driveIoEngine");
        struct value *c = value_new(VALUE_ATTRS, nowhere);

        struct value *boot = value_new(VALUE_ATTRS, nowhere);
        put(boot, "kernel_image_path", str(vget_str(g, "microvm.kernel")));
        put(boot, "initrd_path", str(vget_str(g, "microvm.initrdPath")));
        _cleanup_free_ char *args = boot_args(g);
        put(boot, "boot_args", str(args));
        put(c, "boot-source", boot);

        struct value *machine = value_new(VALUE_ATTRS, nowhere);
        put(machine, "vcpu_count", integer(vget_int(g, "microvm.vcpu", 1)));
        put(machine, "mem_size_mib", integer(vget_int(g, "microvm.mem", 512)));
        /* Firecracker refuses simultaneous multithreading on aarch64. */
        put(machine, "smt", boolean(strcmp(vm->env.arch, "aarch64") != 0));
        put(c, "machine-config", machine);

        struct value *drives = value_new(VALUE_LIST, nowhere);
        if (has_store_disk(g))
                value_list_append(drives,
                                  drive("store", vget_str(g, "microvm.storeDisk"), true, engine));
        const struct value *vols = vget_list(g, "microvm.volumes");
        for (size_t i = 0; vols && i < vols->n_items; i++) {
                const char *image = vget_str(vols->items[i], "image");
                value_list_append(
                        drives,
                        drive(image, image, vget_bool(vols->items[i], "readOnly", false), engine));
        }
        put(c, "drives", drives);

        struct value *nets = value_new(VALUE_LIST, nowhere);
        const struct value *ifaces = vget_list(g, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                struct value *n = value_new(VALUE_ATTRS, nowhere);
                const char *id = vget_str(ifaces->items[i], "id");
                put(n, "iface_id", str(id));
                put(n, "host_dev_name", str(id));
                put(n, "guest_mac", str(vget_str(ifaces->items[i], "mac")));
                value_list_append(nets, n);
        }
        put(c, "network-interfaces", nets);

        int64_t cid = vget_int(g, "microvm.vsock.cid", -1);
        if (cid >= 0) {
                struct value *vsock = value_new(VALUE_ATTRS, nowhere);
                put(vsock, "guest_cid", integer(cid));
                put(vsock, "uds_path", str("notify.vsock"));
                put(c, "vsock", vsock);
        } else {
                put(c, "vsock", value_new(VALUE_NULL, nowhere));
        }
        const struct value *cpu = vget_attrs(g, "microvm.firecracker.cpu");
        if (cpu)
                put(c, "cpu-config", value_copy(cpu));

        const struct value *extra = vget_attrs(g, "microvm.firecracker.extraConfig");
        if (extra)
                recursive_update(c, extra);
        /* As Nix's builtins.toJSON writes it: keys sorted, no spaces. */
        value_sort_attrs(c);
        return c;
}

/* What microvm.nix's firecracker runner refuses, as configuration errors. */
static int check_supported(const struct hv_vm *vm, struct mv_error **err)
{
        const struct value *g = vm->guest;
        const char *what = vget_str(g, "microvm.user")       ? "microvm.user (firecracker will not "
                                                               "change user)"
                           : vget_count(g, "microvm.shares") ? "microvm.shares (no 9p or "
                                                               "virtiofs)"
                           : vget_count(g, "microvm.devices") ? "microvm.devices (no passthrough)"
                           : vget_bool(g, "microvm.balloon", false) ? "microvm.balloon"
                           : vget_int(g, "microvm.initialBalloonMem", 0)
                                   ? "microvm.initialBalloonMem"
                           : vget_int(g, "microvm.hotplugMem", 0)    ? "microvm.hotplugMem"
                           : vget_int(g, "microvm.hotpluggedMem", 0) ? "microvm.hotpluggedMem"
                           : vget_attrs(g, "microvm.credentialFiles") &&
                                           vget_attrs(g, "microvm.credentialFiles")->n_attrs
                                   ? "microvm.credentialFiles"
                                   : NULL;
        if (what)
                return mv_error_config(err, "vm %s: %s is not supported with firecracker", vm->name,
                                       what);
        const struct value *ifaces = vget_list(g, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++)
                if (strcmp(vget_str(ifaces->items[i], "type"), "tap") != 0)
                        return mv_error_config(err,
                                               "vm %s: interface %s: firecracker supports tap "
                                               "interfaces only, not %s",
                                               vm->name, vget_str(ifaces->items[i], "id"),
                                               vget_str(ifaces->items[i], "type"));
        if (!vget_str(g, "microvm.socket"))
                return mv_error_config(err,
                                       "vm %s: firecracker needs an API socket: set "
                                       "microvm.socket",
                                       vm->name);
        if (!vget_str(g, "microvm.kernel") || !vget_str(g, "microvm.initrdPath"))
                return mv_error_config(err,
                                       "vm %s: microvm.kernel and microvm.initrdPath must be set "
                                       "without a Nix build",
                                       vm->name);
        return 0;
}

static int firecracker_build(const struct hv_vm *vm, struct hv_command *out, struct mv_error **err)
{
        const struct value *g = vm->guest;
        int r = check_supported(vm, err);
        if (r < 0)
                return r;

        _cleanup_value_ struct value *config = machine_json(vm);
        struct strbuf json = { 0 };
        json_write_value(&json, config, false);
        _cleanup_free_ char *name =
                xasprintf("firecracker-%s.json", vget_str(g, "networking.hostName"));
        _cleanup_free_ char *path = hv_command_add_file(out, vm, name, strbuf_take(&json));

        _cleanup_strv_free_ char **argv = NULL;
        strv_push(&argv, vm->binary);
        strv_push(&argv, "--config-file");
        strv_push(&argv, path);
        strv_push(&argv, "--api-sock");
        strv_push(&argv, vget_str(g, "microvm.socket"));
        /* Firecracker 1.13 put PCI behind a flag; microvm.nix turns it on. */
        if (hv_version_at_least(vm, "1.13.0"))
                strv_push(&argv, "--enable-pci");
        const struct value *extra = vget_list(g, "microvm.firecracker.extraArgs");
        for (size_t i = 0; extra && i < extra->n_items; i++)
                strv_push(&argv, extra->items[i]->str);
        out->argv = TAKE_PTR(argv);
        return 0;
}

static enum hv_shutdown firecracker_shutdown(const struct hv_vm *vm)
{
        return vget_str(vm->guest, "microvm.socket") ? HV_SHUTDOWN_FC_API : HV_SHUTDOWN_NONE;
}

const struct hypervisor_ops hypervisor_firecracker = {
        .name = "firecracker",
        .binary_name = "firecracker",
        .build = firecracker_build,
        .shutdown = firecracker_shutdown,
        .supports_notify_socket = false,
        .tap_multi_queue = NULL,
        .macvtap_as_fds = false,
};
