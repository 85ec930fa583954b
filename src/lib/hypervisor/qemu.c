/*
 * qemu: the command line of microvm.nix's qemu runner
 * (lib/runners/qemu.nix), built as an argv vector.
 */
#include <stdlib.h>
#include <string.h>

#include "config/host-config.h"
#include "config/ifname.h"
#include "config/merge.h"
#include "config/value-get.h"
#include "hypervisor/hypervisor.h"
#include "hypervisor/optval.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

extern const struct hypervisor_ops hypervisor_qemu;

static enum value_type value_lookup_type(const struct value *v, const char *path)
{
        const struct value *x = value_lookup(v, path);
        return x ? x->type : VALUE_NULL;
}

/* The microvm machine type has no PCI bus unless asked for one. */
static bool require_pci(const struct value *guest)
{
        const char *machine = vget_str(guest, "microvm.qemu.machine");
        return vget_bool(guest, "microvm.graphics.enable", false) ||
               strncmp(machine, "microvm", 7) != 0 || vget_count(guest, "microvm.shares") > 0 ||
               guest_has_device_on(guest, "pci");
}

static bool qemu_tap_multi_queue(const struct hv_vm *vm)
{
        return vget_int(vm->guest, "microvm.vcpu", 1) > 1;
}

static enum hv_shutdown qemu_shutdown(const struct hv_vm *vm)
{
        return vget_str(vm->guest, "microvm.socket") ? HV_SHUTDOWN_QMP : HV_SHUTDOWN_NONE;
}

struct kv {
        const char *key;
        const char *value;
};

static int kv_cmp(const void *a, const void *b)
{
        return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

/*
 * "machine,k=v,..." with the keys sorted, as Nix's attrNames sorts them.
 * `tcg`: KVM cannot run guests here, so the default accelerator is TCG alone.
 */
static char *machine_config(const struct hv_vm *vm, bool pci, bool tcg)
{
        const char *accel = tcg ? "tcg" : "kvm:tcg";
        const struct value *g = vm->guest;
        const struct value *opts = vget_attrs(g, "microvm.qemu.machineOpts");
        struct kv kvs[16];
        size_t n = 0;

        if (opts) {
                for (size_t i = 0; i < opts->n_attrs && n < ELEMENTSOF(kvs); i++)
                        kvs[n++] = (struct kv){ opts->attrs[i].key, opts->attrs[i].value->str };
        } else if (strcmp(vm->env.arch, "x86_64") == 0) {
                kvs[n++] = (struct kv){ "accel", accel };
                kvs[n++] = (struct kv){ "mem-merge", "on" };
                kvs[n++] = (struct kv){ "acpi", "on" };
                if (strcmp(vget_str(g, "microvm.qemu.machine"), "microvm") == 0) {
                        kvs[n++] = (struct kv){ "pit", "off" };
                        kvs[n++] = (struct kv){ "pic", "off" };
                        kvs[n++] = (struct kv){ "pcie", pci ? "on" : "off" };
                        kvs[n++] = (struct kv){ "rtc", "on" };
                        kvs[n++] =
                                (struct kv){ "usb", guest_has_device_on(g, "usb") ? "on" : "off" };
                }
        } else {
                kvs[n++] = (struct kv){ "accel", accel };
                kvs[n++] = (struct kv){ "gic-version", "max" };
        }
        qsort(kvs, n, sizeof(*kvs), kv_cmp);

        struct strbuf b = { 0 };
        optval_put_qemu(&b, vget_str(g, "microvm.qemu.machine"));
        for (size_t i = 0; i < n; i++) {
                strbuf_printf(&b, ",%s=", kvs[i].key);
                optval_put_qemu(&b, kvs[i].value);
        }
        return strbuf_take(&b);
}

/* The kernel command line: the console, reboot and panic settings, then kernelParams. */
static char *kernel_cmdline(const struct hv_vm *vm)
{
        const struct value *g = vm->guest;
        bool x86 = strcmp(vm->env.arch, "x86_64") == 0;
        const char *console = !vget_bool(g, "microvm.qemu.serialConsole", true) ? ""
                              : x86 ? "earlyprintk=ttyS0 console=ttyS0"
                                    : "console=ttyAMA0";
        _cleanup_free_ char *prefix = xasprintf("%s reboot=t panic=-1 ", console);
        return hv_kernel_cmdline(g, prefix);
}

static void push_devices(char ***argv, const struct value *g)
{
        const struct value *devices = vget_list(g, "microvm.devices");
        for (size_t i = 0; devices && i < devices->n_items; i++) {
                const struct value *d = devices->items[i];
                const char *path = vget_str(d, "path");
                _cleanup_free_ char *arg = NULL;
                if (strcmp(vget_str(d, "bus"), "pci") == 0) {
                        const char *id = vget_str(d, "qemu.id");
                        _cleanup_free_ char *host = optval_qemu(path);
                        _cleanup_free_ char *bus = optval_qemu(vget_str(d, "qemu.bus"));
                        /* deviceExtraArgs is qemu option syntax on purpose: passed as written. */
                        const char *extra = vget_str(d, "qemu.deviceExtraArgs");
                        arg = xasprintf("vfio-pci,host=%s,multifunction=on%s%s%s%s%s%s", host,
                                        id ? ",id=" : "", id ? id : "", bus ? ",bus=" : "",
                                        bus ? bus : "", extra ? "," : "", extra ? extra : "");
                } else {
                        /* A USB device's path is qemu options (vendorid=...,productid=...). */
                        arg = xasprintf("usb-host,%s", path);
                }
                /* microvm.nix splices these unquoted: the shell splits them at spaces. */
                strv_push(argv, "-device");
                strv_push_words(argv, arg);
        }
}

static void push_volumes(char ***argv, const struct value *g, const char *dev_type)
{
        const struct value *volumes = vget_list(g, "microvm.volumes");
        for (size_t i = 0; volumes && i < volumes->n_items; i++) {
                const struct value *v = volumes->items[i];
                char letter = volume_letter(g, i);
                _cleanup_free_ char *serial = optval_qemu(vget_str(v, "serial"));
                _cleanup_free_ char *image = optval_qemu(vget_str(v, "image"));
                strv_push(argv, "-drive");
                strv_pushf(argv,
                           "id=vd%c,format=raw,file=%s,if=none,aio=io_uring,discard=unmap%s,"
                           "read-only=%s",
                           letter, image, vget_bool(v, "direct", false) ? ",cache=none" : "",
                           vget_bool(v, "readOnly", false) ? "on" : "off");
                strv_push(argv, "-device");
                strv_pushf(argv, "virtio-blk-%s,drive=vd%c%s%s", dev_type, letter,
                           serial ? ",serial=" : "", serial ? serial : "");
        }
}

static void push_shares(char ***argv, const struct value *g, const char *dev_type)
{
        const struct value *shares = vget_list(g, "microvm.shares");
        if (!shares || shares->n_items == 0)
                return;
        /* vhost-user needs guest memory the virtiofsd process can map. */
        strv_push(argv, "-numa");
        strv_push(argv, "node,memdev=mem");
        strv_push(argv, "-object");
        strv_pushf(argv, "memory-backend-memfd,id=mem,size=%lldM,share=on",
                   (long long)vget_int(g, "microvm.mem", 512));
        for (size_t i = 0; i < shares->n_items; i++) {
                const struct value *s = shares->items[i];
                _cleanup_free_ char *tag = optval_qemu(vget_str(s, "tag"));
                if (strcmp(vget_str(s, "proto"), "virtiofs") == 0) {
                        _cleanup_free_ char *socket = optval_qemu(vget_str(s, "socket"));
                        strv_push(argv, "-chardev");
                        strv_pushf(argv, "socket,id=fs%zu,path=%s", i, socket);
                        strv_push(argv, "-device");
                        strv_pushf(argv, "vhost-user-fs-%s,chardev=fs%zu,tag=%s", dev_type, i, tag);
                } else {
                        _cleanup_free_ char *source = optval_qemu(vget_str(s, "source"));
                        _cleanup_free_ char *model = optval_qemu(vget_str(s, "securityModel"));
                        strv_push(argv, "-fsdev");
                        strv_pushf(argv, "local,id=fs%zu,path=%s,security_model=%s,readonly=%s", i,
                                   source, model,
                                   vget_bool(s, "readOnly", false) ? "true" : "false");
                        strv_push(argv, "-device");
                        strv_pushf(argv, "virtio-9p-%s,fsdev=fs%zu,mount_tag=%s", dev_type, i, tag);
                }
        }
}

/* user networking's port forwards, each ending in ',' as microvm.nix writes them. */
static void push_forwards(struct strbuf *b, const struct hv_vm *vm)
{
        const struct value *fwd = vget_list(vm->guest, "microvm.forwardPorts");
        strbuf_putc(b, ',');
        for (size_t i = 0; fwd && i < fwd->n_items; i++) {
                const struct value *f = fwd->items[i];
                const char *proto = vget_str(f, "proto");
                const char *haddr = vget_str(f, "host.address");
                const char *gaddr = vget_str(f, "guest.address");
                long long hport = (long long)vget_int(f, "host.port", 0);
                long long gport = (long long)vget_int(f, "guest.port", 0);
                /* The addresses are checked (check_forward_ports): no ',' and nothing for a shell. */
                if (strcmp(vget_str(f, "from"), "host") == 0) {
                        strbuf_printf(b, "hostfwd=%s:%s:%lld-%s:%lld,", proto, haddr, hport, gaddr,
                                      gport);
                } else {
                        strbuf_printf(b, "guestfwd=%s:%s:%lld-cmd:", proto, gaddr, gport);
                        optval_put_qemu(b, vm->env.netcat);
                        strbuf_printf(b, " %s %lld,", haddr, hport);
                }
        }
}

/* ",fd=N" for one queue, ",fds=N:M:..." for several: qemu derives queues= from them. */
static void put_fds(struct strbuf *b, const struct hv_vm *vm, const char *id)
{
        _cleanup_free_ int *fds = NULL;
        size_t n = passed_fds(vm, &hypervisor_qemu, id, &fds);
        _cleanup_free_ char *list = hv_fds_join(fds, n, ":");
        strbuf_printf(b, n == 1 ? ",fd=%s" : ",fds=%s", list);
}

static void push_interfaces(char ***argv, const struct hv_vm *vm, const char *dev_type, bool pci,
                            const char *cpu)
{
        const struct value *g = vm->guest;
        const struct value *ifaces = vget_list(g, "microvm.interfaces");
        long long vcpu = (long long)vget_int(g, "microvm.vcpu", 1);
        bool multi_queue = vcpu > 1;
        bool x86 = strcmp(vm->env.arch, "x86_64") == 0;
        /* romfile= does not work with -M microvm on x86_64, nor with an emulated CPU. */
        bool no_romfile = pci || (!cpu && !x86);

        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const struct value *it = ifaces->items[i];
                const char *type = vget_str(it, "type"), *id = vget_str(it, "id");
                bool tap = strcmp(type, "tap") == 0, macvtap = strcmp(type, "macvtap") == 0;
                struct strbuf b = { 0 };
                ifname_buf buf;
                const char *ifname = interface_kernel_name(id, buf); /* what TUNSETIFF takes */

                strbuf_printf(&b, "%s,id=%s", macvtap ? "tap" : type, id);
                if (strcmp(type, "user") == 0 && vget_count(g, "microvm.forwardPorts") > 0)
                        push_forwards(&b, vm);
                if (strcmp(type, "bridge") == 0) {
                        strbuf_puts(&b, ",br=");
                        optval_put_qemu(&b, vget_str(it, "bridge"));
                        strbuf_puts(&b, ",helper=");
                        optval_put_qemu(&b, vm->env.bridge_helper);
                }
                if (tap) {
                        if (vm->env.taps_as_fds)
                                put_fds(&b, vm, id);
                        else
                                strbuf_printf(&b, ",ifname=%s,script=no,downscript=no", ifname);
                        if (vget_bool(it, "tap.vhost", false))
                                strbuf_puts(&b, ",vhost=on");
                }
                if (macvtap)
                        put_fds(&b, vm, id);
                if (tap && multi_queue && !vm->env.taps_as_fds)
                        strbuf_printf(&b, ",queues=%lld", vcpu);
                strv_push(argv, "-netdev");
                strv_consume(argv, strbuf_take(&b));

                struct strbuf d = { 0 };
                strbuf_printf(&d, "virtio-net-%s,netdev=%s,mac=%s", dev_type, id,
                              vget_str(it, "mac"));
                if (no_romfile)
                        strbuf_puts(&d, ",romfile=");
                /* Multi-queue needs a backend with as many queues: taps and macvtaps have them. */
                if ((tap || macvtap) && multi_queue && pci)
                        strbuf_printf(&d, ",mq=on,vectors=%lld", 2 * vcpu + 2);
                strv_push(argv, "-device");
                strv_consume(argv, strbuf_take(&d));
        }
}

static void push_graphics(char ***argv, const struct value *g)
{
        if (!vget_bool(g, "microvm.graphics.enable", false)) {
                strv_push(argv, "-nographic");
                return;
        }
        const char *backend = vget_str(g, "microvm.graphics.backend");
        const char *vulkan = vget_str(g, "microvm.graphics.vulkan");
        _cleanup_free_ char *hostmem = optval_qemu(vget_str(g, "microvm.graphics.hostmem"));
        _cleanup_free_ char *vk =
                vulkan ? xasprintf(",blob=true,hostmem=%s,%s=on", hostmem, vulkan) : xstrdup("");
        if (strcmp(backend, "cocoa") == 0) {
                strv_push(argv, "-display");
                strv_push(argv, "cocoa");
                strv_push(argv, "-device");
                strv_push(argv, "virtio-gpu");
        } else if (strcmp(backend, "gtk") == 0) {
                strv_push(argv, "-display");
                strv_push(argv, "gtk,gl=on");
                strv_push(argv, "-device");
                strv_pushf(argv, "virtio-vga-gl%s", vk);
        } else {
                strv_push(argv, "-display");
                strv_push(argv, "egl-headless");
                strv_push(argv, "-device");
                strv_pushf(argv, "virtio-gpu-gl%s", vk);
        }
        const char *usb[] = { "qemu-xhci", "usb-tablet", "usb-kbd" };
        for (size_t i = 0; i < ELEMENTSOF(usb); i++) {
                strv_push(argv, "-device");
                strv_push(argv, usb[i]);
        }
}

/*
 * The values that go into qemu's option strings. ',' is escaped on the
 * way out; what qemu cannot take at all is refused here. Values that are
 * qemu option syntax on purpose (extraArgs, a USB device's path,
 * deviceExtraArgs, microvm.cpu) are passed as written.
 */
static const struct optval_check qemu_values[] = {
        { "networking.hostName", OPTVAL_QEMU_IMPLIED, NULL },
        { "microvm.qemu.machine", OPTVAL_QEMU_IMPLIED, NULL },
        { "microvm.qemu.machineOpts.<name>", OPTVAL_QEMU_KEY, NULL },
        { "microvm.qemu.machineOpts.*", OPTVAL_QEMU, NULL },
        { "microvm.machineId", OPTVAL_QEMU, NULL },
        { "microvm.qemu.pcieRootPorts.*.id", OPTVAL_QEMU_ID, NULL },
        { "microvm.qemu.pcieRootPorts.*.bus", OPTVAL_QEMU, NULL },
        { "microvm.qemu.pcieRootPorts.*.slot", OPTVAL_QEMU, NULL },
        { "microvm.qemu.pcieRootPorts.*.addr", OPTVAL_QEMU, NULL },
        { "microvm.devices.*.path", OPTVAL_QEMU, "bus=pci" },
        { "microvm.devices.*.qemu.id", OPTVAL_QEMU_ID, "bus=pci" },
        { "microvm.devices.*.qemu.bus", OPTVAL_QEMU, "bus=pci" },
        { "microvm.credentialFiles.<name>", OPTVAL_QEMU, NULL },
        { "microvm.credentialFiles.*", OPTVAL_QEMU, NULL },
        { "microvm.storeDisk", OPTVAL_QEMU, "microvm.storeOnDisk" },
        { "microvm.user", OPTVAL_QEMU, NULL },
        /* -qmp unix:PATH,server,nowait: PATH is the first value, without its key. */
        { "microvm.socket", OPTVAL_QEMU_IMPLIED, NULL },
        { "microvm.graphics.hostmem", OPTVAL_QEMU, "microvm.graphics.enable" },
        { "microvm.volumes.*.image", OPTVAL_QEMU, NULL },
        { "microvm.volumes.*.serial", OPTVAL_QEMU, NULL },
        { "microvm.shares.*.tag", OPTVAL_QEMU, NULL },
        { "microvm.shares.*.socket", OPTVAL_QEMU, "proto=virtiofs" },
        { "microvm.shares.*.source", OPTVAL_QEMU, "proto=9p" },
        { "microvm.interfaces.*.id", OPTVAL_QEMU_ID, NULL },
        { "microvm.interfaces.*.bridge", OPTVAL_QEMU, "type=bridge" },
};

/* microvm.nix refuses these at evaluation time; here they are configuration errors. */
static int check_supported(const struct hv_vm *vm, struct mv_error **err)
{
        const struct value *g = vm->guest;
        if (vget_int(g, "microvm.initialBalloonMem", 0) != 0)
                return mv_error_config(err,
                                       "vm %s: microvm.initialBalloonMem is not supported by "
                                       "qemu; set it to 0 or use cloud-hypervisor",
                                       vm->name);
        if (vget_int(g, "microvm.hotplugMem", 0) > 0 &&
            strcmp(vget_str(g, "microvm.qemu.machine"), "microvm") == 0)
                return mv_error_config(err,
                                       "vm %s: memory hotplug (microvm.hotplugMem) needs a qemu "
                                       "machine other than microvm, e.g. microvm.qemu.machine = "
                                       "\"q35\"",
                                       vm->name);
        if (strcmp(vm->env.arch, "x86_64") != 0 && strcmp(vm->env.arch, "aarch64") != 0)
                return mv_error_fail(err, "vm %s: qemu runner has no settings for %s hosts",
                                     vm->name, vm->env.arch);
        int r = optval_check(vm, "qemu", qemu_values, ELEMENTSOF(qemu_values), err);
        if (r < 0)
                return r;
        /* Again here: a runner installed by an older version is built from its spec. */
        return check_forward_ports(vm->name, g, err);
}

static int qemu_build(const struct hv_vm *vm, struct hv_command *out, struct mv_error **err)
{
        const struct value *g = vm->guest;
        bool x86 = strcmp(vm->env.arch, "x86_64") == 0;
        bool pci = require_pci(g);
        const char *dev_type = pci ? "pci" : "device";
        long long mem = (long long)vget_int(g, "microvm.mem", 512);
        long long hotplug = (long long)vget_int(g, "microvm.hotplugMem", 0);
        const char *cpu = vget_str(g, "microvm.cpu");
        /*
         * Where KVM cannot run guests, qemu runs as microvm.nix runs it with
         * microvm.cpu set, with the CPU TCG emulates best; a `-cpu host`
         * would need KVM.
         */
        bool tcg = !cpu && !hv_kvm_usable(vm);
        if (tcg)
                cpu = "max";
        _cleanup_strv_free_ char **argv = NULL;

        int r = check_supported(vm, err);
        if (r < 0)
                return r;
        const char *kernel, *initrd;
        r = hv_boot_files(vm, &kernel, &initrd, err);
        if (r < 0)
                return r;

        strv_push(&argv, vm->binary);
        /* -name NAME is an option string too, NAME its first value. */
        strv_push(&argv, "-name");
        strv_consume(&argv, optval_qemu(vget_str(g, "networking.hostName")));
        strv_push(&argv, "-M");
        strv_consume(&argv, machine_config(vm, pci, tcg));
        strv_push(&argv, "-m");
        if (hotplug > 0)
                strv_pushf(&argv, "%lldM,maxmem=%lldM", mem, mem + hotplug);
        else
                strv_pushf(&argv, "%lldM", mem);
        strv_push(&argv, "-smp");
        strv_pushf(&argv, "%lld", (long long)vget_int(g, "microvm.vcpu", 1));
        strv_push(&argv, "-nodefaults");
        strv_push(&argv, "-no-user-config");
        strv_push(&argv, "-no-reboot");
        strv_push(&argv, "-kernel");
        strv_push(&argv, kernel);
        strv_push(&argv, "-initrd");
        strv_push(&argv, initrd);
        strv_push(&argv, "-chardev");
        strv_push(&argv, "stdio,id=stdio,signal=off");
        strv_push(&argv, "-device");
        strv_pushf(&argv, "virtio-rng-%s", dev_type);
        const char *machine_id = vget_str(g, "microvm.machineId");
        if (machine_id) {
                _cleanup_free_ char *uuid = optval_qemu(machine_id);
                strv_push(&argv, "-smbios");
                strv_pushf(&argv, "type=1,uuid=%s", uuid);
        }

        const struct value *ports = vget_list(g, "microvm.qemu.pcieRootPorts");
        for (size_t i = 0; ports && i < ports->n_items; i++) {
                const struct value *p = ports->items[i];
                struct strbuf b = { 0 };
                strbuf_printf(&b, "pcie-root-port,id=%s", vget_str(p, "id"));
                if (vget_str(p, "bus")) {
                        strbuf_puts(&b, ",bus=");
                        optval_put_qemu(&b, vget_str(p, "bus"));
                }
                if (value_lookup_type(p, "chassis") == VALUE_INT)
                        strbuf_printf(&b, ",chassis=%lld", (long long)vget_int(p, "chassis", 0));
                if (vget_str(p, "slot")) {
                        strbuf_puts(&b, ",slot=");
                        optval_put_qemu(&b, vget_str(p, "slot"));
                }
                if (vget_str(p, "addr")) {
                        strbuf_puts(&b, ",addr=");
                        optval_put_qemu(&b, vget_str(p, "addr"));
                }
                strv_push(&argv, "-device");
                strv_consume(&argv, strbuf_take(&b));
        }
        push_devices(&argv, g);

        const struct value *creds = vget_attrs(g, "microvm.credentialFiles");
        for (size_t i = 0; creds && i < creds->n_attrs; i++) {
                _cleanup_free_ char *name = optval_qemu(creds->attrs[i].key);
                _cleanup_free_ char *file = optval_qemu(creds->attrs[i].value->str);
                strv_push(&argv, "-fw_cfg");
                strv_pushf(&argv, "name=opt/io.systemd.credentials/%s,file=%s", name, file);
        }
        if (vget_bool(g, "microvm.qemu.serialConsole", true)) {
                strv_push(&argv, "-serial");
                strv_push(&argv, "chardev:stdio");
        }
        if (!cpu)
                strv_push(&argv, "-enable-kvm");
        strv_push(&argv, "-cpu");
        /* qemu crashes with SGX on microvm machines, so host CPUs go without it. */
        strv_push(&argv, cpu ? cpu : x86 ? "host,+x2apic,-sgx" : "host");
        if (x86) {
                strv_push(&argv, "-device");
                strv_push(&argv, "i8042");
        }
        strv_push(&argv, "-append");
        strv_consume(&argv, kernel_cmdline(vm));

        if (has_store_disk(g)) {
                _cleanup_free_ char *store = optval_qemu(vget_str(g, "microvm.storeDisk"));
                strv_push(&argv, "-drive");
                strv_pushf(&argv, "id=store,format=raw,read-only=on,file=%s,if=none,aio=io_uring",
                           store);
                strv_push(&argv, "-device");
                strv_pushf(&argv, "virtio-blk-%s,drive=store%s", dev_type,
                           pci ? ",disable-legacy=on" : "");
        }
        push_graphics(&argv, g);
        /* qemu-bridge-helper is another process: a sandboxed qemu cannot start it. */
        if (vm->env.seccomp && !guest_has_interface(g, "bridge")) {
                strv_push(&argv, "-sandbox");
                strv_push(&argv, "on");
        }
        _cleanup_free_ char *user = optval_qemu(vget_str(g, "microvm.user"));
        if (user) {
                strv_push(&argv, "-run-with");
                strv_pushf(&argv, "user=%s", user);
        }
        _cleanup_free_ char *socket = optval_qemu(vget_str(g, "microvm.socket"));
        if (socket) {
                strv_push(&argv, "-qmp");
                strv_pushf(&argv, "unix:%s,server,nowait", socket);
        }
        if (vget_bool(g, "microvm.balloon", false)) {
                strv_push(&argv, "-device");
                strv_pushf(&argv, "virtio-balloon-%s,free-page-reporting=on,id=balloon0%s",
                           dev_type,
                           vget_bool(g, "microvm.deflateOnOOM", true) ? ",deflate-on-oom=on" : "");
        }
        if (hotplug > 0) {
                strv_push(&argv, "-object");
                strv_pushf(&argv, "memory-backend-ram,id=vmem0,size=%lldM", hotplug);
                strv_push(&argv, "-device");
                strv_pushf(&argv, "virtio-mem-pci,id=vm0,memdev=vmem0,requested-size=%lldM",
                           (long long)vget_int(g, "microvm.hotpluggedMem", 0));
        }
        push_volumes(&argv, g, dev_type);
        push_shares(&argv, g, dev_type);
        push_interfaces(&argv, vm, dev_type, pci, cpu);
        if (guest_has_device_on(g, "usb")) {
                strv_push(&argv, "-device");
                strv_push(&argv, "qemu-xhci");
        }
        int64_t cid = vget_int(g, "microvm.vsock.cid", -1);
        if (cid >= 0) {
                strv_push(&argv, "-device");
                strv_pushf(&argv, "vhost-vsock-%s,guest-cid=%lld", dev_type, (long long)cid);
        }
        /* Where systemd in the guest sends READY=1: the host (CID 2), this VM's own port. */
        if (vm->env.notify_vsock_port) {
                strv_push(&argv, "-smbios");
                strv_pushf(
                        &argv,
                        "type=11,value=io.systemd.credential:vmm.notify_socket=vsock-stream:2:%u",
                        vm->env.notify_vsock_port);
        }
        vlist_push_strings(&argv, vget_list(g, "microvm.qemu.extraArgs"));

        out->argv = TAKE_PTR(argv);
        return 0;
}

/* qemu opens /dev/kvm only when told to; under TCG it does not. */
static bool qemu_uses_kvm(char *const *argv)
{
        for (size_t i = 0; argv && argv[i]; i++)
                if (strcmp(argv[i], "-enable-kvm") == 0 || strstr(argv[i], "accel=kvm"))
                        return true;
        return false;
}

const struct hypervisor_ops hypervisor_qemu = {
        .name = "qemu",
        .binary_name = "qemu-system-x86_64",
        .build = qemu_build,
        .shutdown = qemu_shutdown,
        .balloon = HV_BALLOON_QMP,
        .supports_notify_socket = false,
        .tap_multi_queue = qemu_tap_multi_queue,
        .macvtap_as_fds = true,
        .control_socket = true,
        .qmp_ready_probe = true,
        .notify_over_vsock = true,
        .uses_kvm = qemu_uses_kvm,
        .vsock_is_vhost = true,
        .debian_package = "qemu-system-x86",
};
