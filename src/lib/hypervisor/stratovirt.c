/*
 * stratovirt: the command line of microvm.nix's stratovirt runner
 * (lib/runners/stratovirt.nix), built as an argv vector. Its console needs
 * a terminal, so the command starts with expect's unbuffer.
 */
#include <string.h>

#include "config/host-config.h"
#include "config/ifname.h"
#include "config/value-get.h"
#include "hypervisor/hypervisor.h"
#include "hypervisor/optval.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

extern const struct hypervisor_ops hypervisor_stratovirt;

/* PCI slots of the devices, as microvm.nix numbers them; a bus has 32. */
#define SLOT_RNG     1
#define SLOT_STORE   2
#define SLOT_VOLUMES 4
#define SLOT_NET     30
#define PCI_SLOTS    32

static bool sv_tap_multi_queue(const struct hv_vm *vm)
{
        return vget_int(vm->guest, "microvm.vcpu", 1) > 1;
}

static enum hv_shutdown sv_shutdown(const struct hv_vm *vm)
{
        /* The microvm machine type has no graceful shutdown, so microvm.nix offers none. */
        (void)vm;
        return HV_SHUTDOWN_NONE;
}

/* The suffix of a virtio device's name: an MMIO device, or one at a fixed PCI slot. */
static char *dev_type(bool pci, unsigned slot)
{
        return pci ? xasprintf("pci,bus=pcie.0,addr=0x%X", slot) : xstrdup("device");
}

/* The kernel command line: console, EDD, reboot and panic settings, then kernelParams. */
static char *kernel_cmdline(const struct hv_vm *vm)
{
        const char *console = strcmp(vm->env.arch, "x86_64") == 0 ? "ttyS0" : "ttyAMA0";
        _cleanup_free_ char *prefix = xasprintf("console=%s edd=off reboot=t panic=-1 ", console);
        return hv_kernel_cmdline(vm->guest, prefix);
}

/*
 * user networking's port forwards, each ending in ','. microvm.nix adds this
 * to a user netdev even when empty, which leaves an empty field (",,").
 */
static char *forward_ports(const struct hv_vm *vm)
{
        const struct value *fwd = vget_list(vm->guest, "microvm.forwardPorts");
        struct strbuf b = { 0 };
        for (size_t i = 0; fwd && i < fwd->n_items; i++) {
                const struct value *f = fwd->items[i];
                const char *proto = vget_str(f, "proto");
                const char *haddr = vget_str(f, "host.address");
                const char *gaddr = vget_str(f, "guest.address");
                long long hport = (long long)vget_int(f, "host.port", 0);
                long long gport = (long long)vget_int(f, "guest.port", 0);
                if (strcmp(vget_str(f, "from"), "host") == 0)
                        strbuf_printf(&b, "hostfwd=%s:%s:%lld-%s:%lld,", proto, haddr, hport, gaddr,
                                      gport);
                else
                        strbuf_printf(&b, "guestfwd=%s:%s:%lld-cmd:%s %s %lld,", proto, gaddr,
                                      gport, vm->env.netcat, haddr, hport);
        }
        return strbuf_take(&b);
}

/* The values that go into stratovirt's option strings, which it splits at ',' with no escape. */
static const struct optval_check sv_values[] = {
        { "microvm.storeDisk", OPTVAL_PLAIN, "microvm.storeOnDisk" },
        /* -qmp unix:PATH,server,nowait: PATH is the first value, without its key. */
        { "microvm.socket", OPTVAL_PLAIN_IMPLIED, NULL },
        { "microvm.volumes.*.image", OPTVAL_PLAIN, NULL },
        { "microvm.volumes.*.serial", OPTVAL_PLAIN, NULL },
        /* The tag first: the default socket path is made from it. */
        { "microvm.shares.*.tag", OPTVAL_PLAIN, NULL },
        { "microvm.shares.*.socket", OPTVAL_PLAIN, NULL },
        { "microvm.interfaces.*.bridge", OPTVAL_PLAIN, "type=bridge" },
        /* A USB device's path is stratovirt's options on purpose. */
        { "microvm.devices.*.path", OPTVAL_PLAIN, "bus=pci" },
};

/* microvm.nix refuses these at evaluation time; here they are configuration errors. */
static int check_supported(const struct hv_vm *vm, struct mv_error **err)
{
        const struct value *g = vm->guest;
        bool x86 = strcmp(vm->env.arch, "x86_64") == 0;

        if (!x86 && strcmp(vm->env.arch, "aarch64") != 0)
                return mv_error_fail(err, "vm %s: stratovirt runner has no settings for %s hosts",
                                     vm->name, vm->env.arch);
        int r = hv_refuse_memory_and_credentials(vm, "stratovirt", false, err);
        if (r < 0)
                return r;
        /* microvm.nix calls stratovirt's PCI machine (q35) on x86_64 non-functional. */
        if (x86 && guest_has_device_on(g, "pci"))
                return mv_error_config(err,
                                       "vm %s: stratovirt cannot pass PCI devices through on "
                                       "x86_64 (microvm.devices); remove them, or use qemu or "
                                       "cloud-hypervisor",
                                       vm->name);
        const struct value *shares = vget_list(g, "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++) {
                const char *proto = vget_str(shares->items[i], "proto");
                if (strcmp(proto, "virtiofs") != 0)
                        return mv_error_config(err,
                                               "vm %s: share %s (microvm.shares) has proto "
                                               "\"%s\", which stratovirt cannot do; use proto = "
                                               "\"virtiofs\"",
                                               vm->name, vget_str(shares->items[i], "tag"), proto);
        }
        /* With a PCI bus each volume and share takes the next slot, and there are 32. */
        size_t used = vget_count(g, "microvm.volumes") + vget_count(g, "microvm.shares");
        if (guest_has_device_on(g, "pci") && used > 0 && SLOT_VOLUMES + used - 1 >= PCI_SLOTS)
                return mv_error_config(err,
                                       "vm %s: %zu volumes and shares (microvm.volumes, "
                                       "microvm.shares) do not fit stratovirt's PCI bus, which "
                                       "has room for %d; use fewer",
                                       vm->name, used, PCI_SLOTS - SLOT_VOLUMES);
        r = optval_check(vm, "stratovirt", sv_values, ELEMENTSOF(sv_values), err);
        if (r < 0)
                return r;
        /* Again here: a runner installed by an older version is built from its spec. */
        return check_forward_ports(vm->name, g, err);
}

static void push_volumes(char ***argv, const struct value *g, bool pci)
{
        const struct value *volumes = vget_list(g, "microvm.volumes");
        for (size_t i = 0; volumes && i < volumes->n_items; i++) {
                const struct value *v = volumes->items[i];
                char letter = volume_letter(g, i);
                const char *serial = vget_str(v, "serial");
                _cleanup_free_ char *type = dev_type(pci, SLOT_VOLUMES + (unsigned)i);
                strv_push(argv, "-drive");
                strv_pushf(argv,
                           "id=vd%c,format=raw,if=none,aio=io_uring,file=%s,direct=%s,readonly=%s",
                           letter, vget_str(v, "image"),
                           vget_bool(v, "direct", false) ? "on" : "off",
                           vget_bool(v, "readOnly", false) ? "on" : "off");
                strv_push(argv, "-device");
                strv_pushf(argv, "virtio-blk-%s,drive=vd%c,id=blk_vd%c%s%s", type, letter, letter,
                           serial ? ",serial=" : "", serial ? serial : "");
        }
}

static void push_shares(char ***argv, const struct value *g, bool pci)
{
        const struct value *shares = vget_list(g, "microvm.shares");
        unsigned first = SLOT_VOLUMES + (unsigned)vget_count(g, "microvm.volumes");
        for (size_t i = 0; shares && i < shares->n_items; i++) {
                const struct value *s = shares->items[i];
                _cleanup_free_ char *type = dev_type(pci, first + (unsigned)i);
                strv_push(argv, "-chardev");
                strv_pushf(argv, "socket,id=fs%zu,path=%s", i, vget_str(s, "socket"));
                strv_push(argv, "-device");
                strv_pushf(argv, "vhost-user-fs-%s,chardev=fs%zu,tag=%s,id=fs%zu", type, i,
                           vget_str(s, "tag"), i);
        }
}

/* Several queues' descriptors go into one word, blank-separated. */
static void put_fds(struct strbuf *b, const struct hv_vm *vm, const char *id)
{
        _cleanup_free_ int *fds = NULL;
        size_t n = passed_fds(vm, &hypervisor_stratovirt, id, &fds);
        _cleanup_free_ char *list = hv_fds_join(fds, n, " ");
        strbuf_printf(b, ",fd=%s", list);
}

static void push_interfaces(char ***argv, const struct hv_vm *vm, bool pci)
{
        const struct value *g = vm->guest;
        const struct value *ifaces = vget_list(g, "microvm.interfaces");
        long long vcpu = (long long)vget_int(g, "microvm.vcpu", 1);
        bool multi_queue = sv_tap_multi_queue(vm);
        _cleanup_free_ char *fwd = forward_ports(vm);
        /* All interfaces share one slot: microvm.nix does not number them yet. */
        _cleanup_free_ char *type_suffix = dev_type(pci, SLOT_NET);

        if (vget_count(g, "microvm.forwardPorts") > 0 && !guest_has_interface(g, "user"))
                log_warning("vm %s: microvm.forwardPorts only work with a user network interface",
                            vm->name);

        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const struct value *it = ifaces->items[i];
                const char *type = vget_str(it, "type"), *id = vget_str(it, "id");
                bool macvtap = strcmp(type, "macvtap") == 0, tap = strcmp(type, "tap") == 0;
                struct strbuf b = { 0 };
                ifname_buf buf;
                const char *ifname = interface_kernel_name(id, buf); /* what TUNSETIFF takes */

                strbuf_printf(&b, "%s,id=%s,queues=%lld", macvtap ? "tap" : type, id,
                              vcpu < 16 ? vcpu : 16);
                if (strcmp(type, "user") == 0)
                        strbuf_printf(&b, ",%s", fwd);
                if (strcmp(type, "bridge") == 0)
                        strbuf_printf(&b, ",br=%s,helper=%s", vget_str(it, "bridge"),
                                      vm->env.bridge_helper);
                if (tap && !vm->env.taps_as_fds)
                        strbuf_printf(&b, ",ifname=%s", ifname);
                if (macvtap || (tap && vm->env.taps_as_fds))
                        put_fds(&b, vm, id);
                /* microvm.nix gives queues= a second time, this once uncapped. */
                if (multi_queue)
                        strbuf_printf(&b, ",queues=%lld", vcpu);
                strv_push(argv, "-netdev");
                strv_consume(argv, strbuf_take(&b));
                strv_push(argv, "-device");
                strv_pushf(argv, "virtio-net-%s,id=net_%s,netdev=%s,mac=%s,mq=%s", type_suffix, id,
                           id, vget_str(it, "mac"), multi_queue ? "on" : "off");
        }
}

static void push_devices(char ***argv, const struct value *g)
{
        const struct value *devices = vget_list(g, "microvm.devices");
        for (size_t i = 0; devices && i < devices->n_items; i++) {
                const struct value *d = devices->items[i];
                bool pci = strcmp(vget_str(d, "bus"), "pci") == 0;
                strv_push(argv, "-device");
                strv_pushf(argv, pci ? "vfio-pci,host=%s" : "usb-host,%s", vget_str(d, "path"));
        }
}

static int sv_build(const struct hv_vm *vm, struct hv_command *out, struct mv_error **err)
{
        const struct value *g = vm->guest;
        bool x86 = strcmp(vm->env.arch, "x86_64") == 0;
        /* Only PCI passthrough needs a PCI bus; on x86_64 it is refused above. */
        bool pci = guest_has_device_on(g, "pci");
        _cleanup_strv_free_ char **argv = NULL;

        int r = check_supported(vm, err);
        if (r < 0)
                return r;
        const char *kernel, *initrd;
        r = hv_boot_files(vm, &kernel, &initrd, err);
        if (r < 0)
                return r;
        if (!vm->env.unbuffer) {
                mv_error_fail(err,
                              "vm %s: stratovirt needs unbuffer, from expect, to give its serial "
                              "console a terminal, and it is not in PATH",
                              vm->name);
                return mv_error_hint(err, "apt-get install expect");
        }
        const char *host_name = vget_str(g, "networking.hostName");

        /* stratovirt's serial console wants a terminal: unbuffer gives it one. */
        strv_push(&argv, vm->env.unbuffer);
        strv_push(&argv, vm->binary);
        strv_push(&argv, "-name");
        strv_push(&argv, host_name ? host_name : vm->name);
        strv_push(&argv, "-machine");
        strv_push(&argv, x86 ? "microvm" : "virt");
        strv_push(&argv, "-m");
        strv_pushf(&argv, "%lld", (long long)vget_int(g, "microvm.mem", 512));
        strv_push(&argv, "-smp");
        strv_pushf(&argv, "%lld", (long long)vget_int(g, "microvm.vcpu", 1));
        strv_push(&argv, "-kernel");
        strv_push(&argv, kernel);
        strv_push(&argv, "-initrd");
        strv_push(&argv, initrd);
        strv_push(&argv, "-append");
        strv_consume(&argv, kernel_cmdline(vm));
        strv_push(&argv, "-serial");
        strv_push(&argv, "stdio");
        strv_push(&argv, "-object");
        strv_push(&argv, "rng-random,id=rng,filename=/dev/random");
        _cleanup_free_ char *rng_type = dev_type(pci, SLOT_RNG);
        strv_push(&argv, "-device");
        strv_pushf(&argv, "virtio-rng-%s,rng=rng,id=rng_dev", rng_type);
        if (has_store_disk(g)) {
                _cleanup_free_ char *store_type = dev_type(pci, SLOT_STORE);
                strv_push(&argv, "-drive");
                strv_pushf(&argv,
                           "id=store,format=raw,readonly=on,file=%s,if=none,aio=io_uring,"
                           "direct=false",
                           vget_str(g, "microvm.storeDisk"));
                strv_push(&argv, "-device");
                strv_pushf(&argv, "virtio-blk-%s,drive=store,id=blk_store", store_type);
        }
        const char *socket = vget_str(g, "microvm.socket");
        if (socket) {
                strv_push(&argv, "-qmp");
                strv_pushf(&argv, "unix:%s,server,nowait", socket);
        }
        push_volumes(&argv, g, pci);
        push_shares(&argv, g, pci);
        push_interfaces(&argv, vm, pci);
        push_devices(&argv, g);

        out->argv = TAKE_PTR(argv);
        return 0;
}

const struct hypervisor_ops hypervisor_stratovirt = {
        .name = "stratovirt",
        .binary_name = "stratovirt",
        .build = sv_build,
        .shutdown = sv_shutdown,
        .supports_notify_socket = false,
        .tap_multi_queue = sv_tap_multi_queue,
        .macvtap_as_fds = true,
        .control_socket = true,
        .version_arg = "-V",
};
