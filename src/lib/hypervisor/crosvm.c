/*
 * crosvm: the command line of microvm.nix's crosvm runner
 * (lib/runners/crosvm.nix), built as an argv vector.
 */
#include <string.h>

#include "config/ifname.h"
#include "config/value-get.h"
#include "hypervisor/hypervisor.h"
#include "hypervisor/optval.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

extern const struct hypervisor_ops hypervisor_crosvm;

/*
 * The values that go into crosvm's option strings, split at ',' (and
 * --shared-dir's at ':'); its quoting is not in every version, so what it
 * would split or quote is refused.
 */
static const struct optval_check crosvm_values[] = {
        /* -r PATH,... and --block PATH,...: the path comes first, without its key. */
        { "microvm.storeDisk", OPTVAL_PLAIN_IMPLIED, "microvm.storeOnDisk" },
        { "microvm.volumes.*.image", OPTVAL_PLAIN_IMPLIED, NULL },
        { "microvm.volumes.*.serial", OPTVAL_PLAIN, NULL },
        { "microvm.shares.*.socket", OPTVAL_PLAIN, "proto=virtiofs" },
        /* --shared-dir SOURCE:TAG:type=p9 */
        { "microvm.shares.*.source", OPTVAL_PLAIN_COLON, "proto=9p" },
        { "microvm.shares.*.tag", OPTVAL_PLAIN_COLON, "proto=9p" },
        { "microvm.devices.*.path", OPTVAL_PLAIN, NULL },
};

/* What microvm.nix's crosvm runner refuses, as configuration errors. */
static int check_supported(const struct hv_vm *vm, struct mv_error **err)
{
        const struct value *g = vm->guest;
        /* crosvm has a balloon; only its initial size and memory hotplug are missing. */
        int r = hv_refuse_user(vm, "crosvm", err);
        if (r >= 0)
                r = hv_refuse_memory_and_credentials(vm, "crosvm", true, err);
        if (r < 0)
                return r;
        /* microvm.nix starts crosvm's GPU device process first; that is not done here yet. */
        if (vget_bool(g, "microvm.graphics.enable", false))
                return mv_error_config(err,
                                       "vm %s: microvm.graphics with crosvm needs its GPU device "
                                       "process, which this version does not start",
                                       vm->name);
        const struct value *shares = vget_list(g, "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++) {
                const struct value *s = shares->items[i];
                if (strcmp(vget_str(s, "proto"), "9p") == 0 && vget_bool(s, "readOnly", false))
                        return mv_error_config(err,
                                               "vm %s: share %s: crosvm cannot share 9p "
                                               "read-only; set readOnly = false, or use virtiofs",
                                               vm->name, vget_str(s, "tag"));
        }
        const struct value *ifaces = vget_list(g, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const char *type = vget_str(ifaces->items[i], "type");
                if (strcmp(type, "tap") != 0 && strcmp(type, "macvtap") != 0)
                        return mv_error_config(err,
                                               "vm %s: interface %s: crosvm supports tap and "
                                               "macvtap interfaces, not %s",
                                               vm->name, vget_str(ifaces->items[i], "id"), type);
        }
        if (guest_has_device_on(g, "usb"))
                return mv_error_config(err,
                                       "vm %s: crosvm cannot pass USB devices through "
                                       "(microvm.devices); remove them, or use qemu",
                                       vm->name);
        /* microvm.nix knows where the kernel image is on these two only. */
        if (strcmp(vm->env.arch, "x86_64") != 0 && strcmp(vm->env.arch, "aarch64") != 0)
                return mv_error_fail(err, "vm %s: crosvm runner has no settings for %s hosts",
                                     vm->name, vm->env.arch);
        r = optval_check(vm, "crosvm", crosvm_values, ELEMENTSOF(crosvm_values), err);
        if (r < 0)
                return r;
        const char *kernel, *initrd;
        return hv_boot_files(vm, &kernel, &initrd, err);
}

static void push_interfaces(char ***argv, const struct hv_vm *vm)
{
        const struct value *ifaces = vget_list(vm->guest, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const struct value *it = ifaces->items[i];
                const char *id = vget_str(it, "id"), *mac = vget_str(it, "mac");
                ifname_buf buf;
                const char *ifname = interface_kernel_name(id, buf); /* what TUNSETIFF takes */
                strv_push(argv, "--net");
                if (strcmp(vget_str(it, "type"), "tap") == 0 && !vm->env.taps_as_fds) {
                        strv_pushf(argv, "tap-name=%s,mac=%s", ifname, mac);
                        continue;
                }
                /* One queue: a macvtap, or a tap, comes as one open descriptor. */
                _cleanup_free_ int *fds = NULL;
                size_t n = passed_fds(vm, &hypervisor_crosvm, id, &fds);
                _cleanup_free_ char *fd = hv_fds_join(fds, n, ",");
                strv_pushf(argv, "tap-fd=%s,mac=%s", fd, mac);
        }
}

static int crosvm_build(const struct hv_vm *vm, struct hv_command *out, struct mv_error **err)
{
        const struct value *g = vm->guest;
        int r = check_supported(vm, err);
        if (r < 0)
                return r;

        _cleanup_strv_free_ char **argv = NULL;
        strv_push(&argv, vm->binary);
        strv_push(&argv, "run");
        strv_push(&argv, "-m");
        strv_pushf(&argv, "%lld", (long long)vget_int(g, "microvm.mem", 512));
        strv_push(&argv, "-c");
        strv_pushf(&argv, "%lld", (long long)vget_int(g, "microvm.vcpu", 1));
        strv_push(&argv, "--serial");
        strv_push(&argv, "type=stdout,console=true,stdin=true");

        strv_push(&argv, "-p");
        strv_consume(&argv, hv_kernel_cmdline(g, "console=ttyS0 reboot=k panic=1 "));

        strv_push(&argv, vget_bool(g, "microvm.balloon", false) ? "--balloon-page-reporting"
                                                                : "--no-balloon");
        if (has_store_disk(g)) {
                strv_push(&argv, "-r");
                strv_push(&argv, vget_str(g, "microvm.storeDisk"));
        }
        const char *pivot = vget_str(g, "microvm.crosvm.pivotRoot");
        if (pivot) {
                strv_push(&argv, "--pivot-root");
                strv_push(&argv, pivot);
        }
        const char *socket = vget_str(g, "microvm.socket");
        if (socket) {
                strv_push(&argv, "-s");
                strv_push(&argv, socket);
        }
        const struct value *vols = vget_list(g, "microvm.volumes");
        for (size_t i = 0; vols && i < vols->n_items; i++) {
                const struct value *v = vols->items[i];
                const char *serial = vget_str(v, "serial");
                strv_push(&argv, "--block");
                strv_pushf(&argv, "%s,o_direct=%s,ro=%s%s%s", vget_str(v, "image"),
                           vget_bool(v, "direct", false) ? "true" : "false",
                           vget_bool(v, "readOnly", false) ? "true" : "false", serial ? ",id=" : "",
                           serial ? serial : "");
        }
        const struct value *shares = vget_list(g, "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++) {
                const struct value *s = shares->items[i];
                if (strcmp(vget_str(s, "proto"), "virtiofs") == 0) {
                        strv_push(&argv, "--vhost-user");
                        strv_pushf(&argv, "type=fs,socket=%s", vget_str(s, "socket"));
                } else {
                        strv_push(&argv, "--shared-dir");
                        strv_pushf(&argv, "%s:%s:type=p9", vget_str(s, "source"),
                                   vget_str(s, "tag"));
                }
        }
        push_interfaces(&argv, vm);
        int64_t cid = vget_int(g, "microvm.vsock.cid", -1);
        if (cid >= 0) {
                strv_push(&argv, "--vsock");
                strv_pushf(&argv, "%lld", (long long)cid);
        }
        strv_push(&argv, "--initrd");
        strv_push(&argv, vget_str(g, "microvm.initrdPath"));
        strv_push(&argv, vget_str(g, "microvm.kernel"));
        /* microvm.nix puts passthrough after the kernel, and extraArgs last. */
        const struct value *devices = vget_list(g, "microvm.devices");
        for (size_t i = 0; devices && i < devices->n_items; i++) {
                _cleanup_free_ char *arg = xasprintf("/sys/bus/pci/devices/%s,iommu=viommu",
                                                     vget_str(devices->items[i], "path"));
                /* microvm.nix splices these unquoted: the shell splits them at spaces. */
                strv_push(&argv, "--vfio");
                strv_push_words(&argv, arg);
        }
        vlist_push_strings(&argv, vget_list(g, "microvm.crosvm.extraArgs"));
        out->argv = TAKE_PTR(argv);
        return 0;
}

static enum hv_shutdown crosvm_shutdown(const struct hv_vm *vm)
{
        return vget_str(vm->guest, "microvm.socket") ? HV_SHUTDOWN_CROSVM_CMD : HV_SHUTDOWN_NONE;
}

const struct hypervisor_ops hypervisor_crosvm = {
        .name = "crosvm",
        .binary_name = "crosvm",
        .build = crosvm_build,
        .shutdown = crosvm_shutdown,
        .balloon = HV_BALLOON_CROSVM_CMD,
        .supports_notify_socket = false,
        .tap_multi_queue = NULL,
        .macvtap_as_fds = true,
        .control_socket = true,
        .notify_over_vsock = true,
        .virtiofs_tag = true,
        .vsock_is_vhost = true,
        .version_arg = "version",
};
