/*
 * kvmtool: the command line of microvm.nix's kvmtool runner
 * (lib/runners/kvmtool.nix), built as an argv vector.
 */
#include <string.h>

#include "config/ifname.h"
#include "config/value-get.h"
#include "hypervisor/hypervisor.h"
#include "hypervisor/optval.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* The values in kvmtool's -d PATH,ro and --9p SOURCE,TAG, which it splits at ','. */
static const struct optval_check kvmtool_values[] = {
        { "microvm.storeDisk", OPTVAL_PLAIN, "microvm.storeOnDisk" },
        { "microvm.volumes.*.image", OPTVAL_PLAIN, NULL },
        { "microvm.shares.*.source", OPTVAL_PLAIN, NULL },
        { "microvm.shares.*.tag", OPTVAL_PLAIN, NULL },
};

/* What microvm.nix's kvmtool runner refuses, as configuration errors. */
static int check_supported(const struct hv_vm *vm, struct mv_error **err)
{
        const struct value *g = vm->guest;
        /* kvmtool has a balloon; only its initial size and memory hotplug are missing. */
        int r = hv_refuse_user(vm, "kvmtool", err);
        if (r >= 0)
                r = hv_refuse_memory_and_credentials(vm, "kvmtool", true, err);
        if (r < 0)
                return r;
        const struct value *shares = vget_list(g, "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++) {
                const struct value *s = shares->items[i];
                if (strcmp(vget_str(s, "proto"), "9p") != 0)
                        return mv_error_config(err,
                                               "vm %s: share %s: kvmtool has no virtiofs; use "
                                               "proto = \"9p\", or another hypervisor",
                                               vm->name, vget_str(s, "tag"));
                if (vget_bool(s, "readOnly", false))
                        return mv_error_config(err,
                                               "vm %s: share %s: kvmtool cannot share 9p "
                                               "read-only; set readOnly = false",
                                               vm->name, vget_str(s, "tag"));
        }
        const struct value *ifaces = vget_list(g, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++)
                if (strcmp(vget_str(ifaces->items[i], "type"), "bridge") == 0)
                        return mv_error_config(err,
                                               "vm %s: interface %s: kvmtool supports user, tap "
                                               "and macvtap interfaces, not bridge",
                                               vm->name, vget_str(ifaces->items[i], "id"));
        /*
         * microvm.nix's runner fails on any device (a pattern without `...`); its
         * intent is clear for PCI, which is done here. USB kvmtool cannot do.
         */
        if (guest_has_device_on(g, "usb"))
                return mv_error_config(err,
                                       "vm %s: kvmtool cannot pass USB devices through "
                                       "(microvm.devices); remove them, or use qemu",
                                       vm->name);
        /* tapif= is a tap's name, or a macvtap's /dev/tapN: no descriptor. */
        r = hv_refuse_taps_as_fds(vm, "kvmtool", err);
        if (r >= 0)
                r = optval_check(vm, "kvmtool", kvmtool_values, ELEMENTSOF(kvmtool_values), err);
        if (r < 0)
                return r;
        const char *kernel, *initrd;
        return hv_boot_files(vm, &kernel, &initrd, err);
}

static int push_interfaces(char ***argv, const struct hv_vm *vm, struct mv_error **err)
{
        const struct value *ifaces = vget_list(vm->guest, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const struct value *it = ifaces->items[i];
                const char *type = vget_str(it, "type"), *id = vget_str(it, "id");
                const char *mac = vget_str(it, "mac");
                ifname_buf buf;
                const char *ifname = interface_kernel_name(id, buf); /* what TUNSETIFF takes */
                strv_push(argv, "-n");
                if (strcmp(type, "macvtap") != 0) {
                        strv_pushf(argv, "mode=%s,tapif=%s,guest_mac=%s", type, ifname, mac);
                        continue;
                }
                /* A macvtap is opened as /dev/tapN, N its ifindex, known once it exists. */
                int index = hv_ifindex(vm, ifname);
                if (index < 0)
                        return mv_error_fail(err,
                                             "vm %s: macvtap interface %s does not exist (its "
                                             "/dev/tapN is needed)",
                                             vm->name, ifname);
                /* Unquoted in microvm.nix: the shell splits it at spaces. */
                _cleanup_free_ char *arg =
                        xasprintf("mode=tap,tapif=/dev/tap%d,guest_mac=%s", index, mac);
                strv_push_words(argv, arg);
        }
        return 0;
}

static int kvmtool_build(const struct hv_vm *vm, struct hv_command *out, struct mv_error **err)
{
        const struct value *g = vm->guest;
        int r = check_supported(vm, err);
        if (r < 0)
                return r;

        _cleanup_strv_free_ char **argv = NULL;
        strv_push(&argv, vm->binary);
        strv_push(&argv, "run");
        strv_push(&argv, "--name");
        strv_push(&argv, vget_str(g, "networking.hostName"));
        strv_push(&argv, "-m");
        strv_pushf(&argv, "%lld", (long long)vget_int(g, "microvm.mem", 512));
        strv_push(&argv, "-c");
        strv_pushf(&argv, "%lld", (long long)vget_int(g, "microvm.vcpu", 1));
        strv_push(&argv, "--console");
        strv_push(&argv, "serial");
        strv_push(&argv, "--rng");
        strv_push(&argv, "-k");
        strv_push(&argv, vget_str(g, "microvm.kernel"));
        /* The only path microvm.nix leaves unquoted, so split as the shell would. */
        strv_push(&argv, "-i");
        strv_push_words(&argv, vget_str(g, "microvm.initrdPath"));

        strv_push(&argv, "-p");
        strv_consume(&argv, hv_kernel_cmdline(g, "console=ttyS0 reboot=k panic=1 "));

        if (has_store_disk(g)) {
                strv_push(&argv, "-d");
                strv_pushf(&argv, "%s,ro", vget_str(g, "microvm.storeDisk"));
        }
        if (vget_bool(g, "microvm.balloon", false))
                strv_push(&argv, "--balloon");
        const struct value *vols = vget_list(g, "microvm.volumes");
        for (size_t i = 0; vols && i < vols->n_items; i++) {
                const struct value *v = vols->items[i];
                if (vget_str(v, "serial"))
                        log_warning("vm %s: volume %s: kvmtool does not support a serial", vm->name,
                                    vget_str(v, "image"));
                strv_push(&argv, "-d");
                strv_pushf(&argv, "%s%s%s", vget_str(v, "image"),
                           vget_bool(v, "direct", false) ? ",direct" : "",
                           vget_bool(v, "readOnly", false) ? ",ro" : "");
        }
        const struct value *shares = vget_list(g, "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++) {
                strv_push(&argv, "--9p");
                strv_pushf(&argv, "%s,%s", vget_str(shares->items[i], "source"),
                           vget_str(shares->items[i], "tag"));
        }
        r = push_interfaces(&argv, vm, err);
        if (r < 0)
                return r;
        const struct value *devices = vget_list(g, "microvm.devices");
        for (size_t i = 0; devices && i < devices->n_items; i++)
                strv_pushf(&argv, "--vfio-pci=%s", vget_str(devices->items[i], "path"));
        int64_t cid = vget_int(g, "microvm.vsock.cid", -1);
        if (cid >= 0) {
                strv_push(&argv, "--vsock");
                strv_pushf(&argv, "%lld", (long long)cid);
        }
        out->argv = TAKE_PTR(argv);
        return 0;
}

/* microvm.nix: `lkvm stop` works but is not graceful, so there is no shutdown command. */
static enum hv_shutdown kvmtool_shutdown(const struct hv_vm *vm)
{
        (void)vm;
        return HV_SHUTDOWN_NONE;
}

const struct hypervisor_ops hypervisor_kvmtool = {
        .name = "kvmtool",
        .binary_name = "lkvm",
        .build = kvmtool_build,
        .shutdown = kvmtool_shutdown,
        .balloon = HV_BALLOON_LKVM_CMD,
        .supports_notify_socket = false,
        .tap_multi_queue = NULL,
        .macvtap_as_fds = false,
        .control_socket = false,
        .home_is_workdir = true,
        .vsock_is_vhost = true,
        .version_arg = "version",
};
