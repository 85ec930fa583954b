/*
 * alioth: the command line of microvm.nix's alioth runner
 * (lib/runners/alioth.nix), built as an argv vector.
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

static bool alioth_tap_multi_queue(const struct hv_vm *vm)
{
        /* microvm.nix makes alioth's taps single-queue, though --net asks for a pair per vcpu. */
        (void)vm;
        return false;
}

static enum hv_shutdown alioth_shutdown(const struct hv_vm *vm)
{
        /* microvm.nix has no graceful shutdown for alioth yet. */
        (void)vm;
        return HV_SHUTDOWN_NONE;
}

/* The kernel command line: console, reboot and panic settings, then kernelParams. */
static char *kernel_cmdline(const struct value *g)
{
        return hv_kernel_cmdline(g, "console=ttyS0 reboot=k panic=1 ");
}

/* The values that go into alioth's option strings, which it splits at ',' with no escape. */
static const struct optval_check alioth_values[] = {
        { "microvm.storeDisk", OPTVAL_PLAIN, "microvm.storeOnDisk" },
        { "microvm.volumes.*.image", OPTVAL_PLAIN, NULL },
        /* The tag first: the default socket path is made from it. */
        { "microvm.shares.*.tag", OPTVAL_PLAIN, NULL },
        { "microvm.shares.*.socket", OPTVAL_PLAIN, NULL },
};

/* microvm.nix refuses these at evaluation time; here they are configuration errors. */
static int check_supported(const struct hv_vm *vm, struct mv_error **err)
{
        const struct value *g = vm->guest;

        int r = hv_refuse_user(vm, "alioth", err);
        if (r >= 0)
                r = hv_refuse_memory_and_credentials(vm, "alioth", false, err);
        if (r < 0)
                return r;
        const struct value *shares = vget_list(g, "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++) {
                const char *proto = vget_str(shares->items[i], "proto");
                if (strcmp(proto, "virtiofs") != 0)
                        return mv_error_config(err,
                                               "vm %s: share %s (microvm.shares) has proto "
                                               "\"%s\", which alioth cannot do; use proto = "
                                               "\"virtiofs\"",
                                               vm->name, vget_str(shares->items[i], "tag"), proto);
        }
        const struct value *ifaces = vget_list(g, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const char *type = vget_str(ifaces->items[i], "type");
                if (strcmp(type, "tap") != 0)
                        return mv_error_config(err,
                                               "vm %s: interface %s (microvm.interfaces) has "
                                               "type \"%s\", which alioth cannot do; use type "
                                               "\"tap\"",
                                               vm->name, vget_str(ifaces->items[i], "id"), type);
        }
        if (vget_count(g, "microvm.devices") > 0)
                return mv_error_config(err,
                                       "vm %s: alioth cannot pass PCI or USB devices through "
                                       "(microvm.devices); remove them, or use qemu or "
                                       "cloud-hypervisor",
                                       vm->name);
        /* --net takes if_name= and opens /dev/net/tun itself, again for each further queue pair. */
        r = hv_refuse_taps_as_fds(vm, "alioth", err);
        return r < 0 ? r
                     : optval_check(vm, "alioth", alioth_values, ELEMENTSOF(alioth_values), err);
}

static int alioth_build(const struct hv_vm *vm, struct hv_command *out, struct mv_error **err)
{
        const struct value *g = vm->guest;
        long long vcpu = (long long)vget_int(g, "microvm.vcpu", 1);
        _cleanup_strv_free_ char **argv = NULL;

        int r = check_supported(vm, err);
        if (r < 0)
                return r;
        const char *kernel, *initrd;
        r = hv_boot_files(vm, &kernel, &initrd, err);
        if (r < 0)
                return r;

        strv_push(&argv, vm->binary);
        strv_push(&argv, "run");
        strv_push(&argv, "--memory");
        strv_pushf(&argv, "size=%lldM,backend=memfd", (long long)vget_int(g, "microvm.mem", 512));
        strv_push(&argv, "--num-cpu");
        strv_pushf(&argv, "%lld", vcpu);
        strv_push(&argv, "-k");
        strv_push(&argv, kernel);
        /*
         * microvm.nix leaves the initrd path unquoted, which only matters for a
         * path with blanks (never a store path): it stays one word here.
         */
        strv_push(&argv, "-i");
        strv_push(&argv, initrd);
        strv_push(&argv, "-c");
        strv_consume(&argv, kernel_cmdline(g));
        strv_push(&argv, "--entropy");

        /* readonly= for the store disk but readOnly= for volumes: microvm.nix's spellings. */
        if (has_store_disk(g)) {
                strv_push(&argv, "--blk");
                strv_pushf(&argv, "path=%s,readonly=true", vget_str(g, "microvm.storeDisk"));
        }
        const struct value *volumes = vget_list(g, "microvm.volumes");
        for (size_t i = 0; volumes && i < volumes->n_items; i++) {
                const struct value *v = volumes->items[i];
                const char *image = vget_str(v, "image");
                /* microvm.nix accepts these and only warns that alioth ignores them. */
                if (vget_str(v, "serial"))
                        log_warning("vm %s: volume %s: alioth does not support a serial", vm->name,
                                    image);
                if (vget_bool(v, "direct", false))
                        log_warning("vm %s: volume %s: alioth does not support direct IO", vm->name,
                                    image);
                strv_push(&argv, "--blk");
                strv_pushf(&argv, "path=%s,readOnly=%s", image,
                           vget_bool(v, "readOnly", false) ? "true" : "false");
        }
        const struct value *shares = vget_list(g, "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++) {
                strv_push(&argv, "--fs");
                strv_pushf(&argv, "vu,socket=%s,tag=%s", vget_str(shares->items[i], "socket"),
                           vget_str(shares->items[i], "tag"));
        }
        const struct value *ifaces = vget_list(g, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const struct value *it = ifaces->items[i];
                ifname_buf buf;
                strv_push(&argv, "--net");
                strv_pushf(&argv, "if_name=%s,mac=%s,queue_pairs=%lld,mtu=1500",
                           interface_kernel_name(vget_str(it, "id"), buf), vget_str(it, "mac"),
                           vcpu);
        }
        int64_t cid = vget_int(g, "microvm.vsock.cid", -1);
        if (cid >= 0) {
                strv_push(&argv, "--vsock");
                strv_pushf(&argv, "vhost,cid=%lld", (long long)cid);
        }

        out->argv = TAKE_PTR(argv);
        return 0;
}

const struct hypervisor_ops hypervisor_alioth = {
        .name = "alioth",
        .binary_name = "alioth",
        .build = alioth_build,
        .shutdown = alioth_shutdown,
        .supports_notify_socket = false,
        .tap_multi_queue = alioth_tap_multi_queue,
        .macvtap_as_fds = false,
        .control_socket = false,
        .vsock_is_vhost = true,
};
