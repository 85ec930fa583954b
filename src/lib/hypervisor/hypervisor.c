#include "hypervisor/hypervisor.h"

#include <stdlib.h>
#include <string.h>

#include "config/value-get.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

extern const struct hypervisor_ops hypervisor_qemu, hypervisor_cloud_hypervisor,
        hypervisor_firecracker, hypervisor_crosvm, hypervisor_kvmtool, hypervisor_stratovirt,
        hypervisor_alioth;

const struct hypervisor_ops *const hypervisors[] = {
        &hypervisor_qemu,        &hypervisor_cloud_hypervisor,
        &hypervisor_firecracker, &hypervisor_crosvm,
        &hypervisor_kvmtool,     &hypervisor_stratovirt,
        &hypervisor_alioth,      NULL,
};

void hv_command_free(struct hv_command *c)
{
        strv_free(c->argv);
        strv_free(c->file_names);
        strv_free(c->file_contents);
        *c = (struct hv_command){ 0 };
}

char *hv_command_add_file(struct hv_command *c, const struct hv_vm *vm, const char *name,
                          char *content)
{
        strv_push(&c->file_names, name);
        strv_consume(&c->file_contents, content);
        return xasprintf("%s/%s", vm->runner_dir ? vm->runner_dir : ".", name);
}

bool hv_kvm_usable(const struct hv_vm *vm)
{
        return !vm->env.kvm_usable || vm->env.kvm_usable(vm);
}

int hv_ifindex(const struct hv_vm *vm, const char *name)
{
        if (vm->env.ifindex)
                return vm->env.ifindex(name, vm->env.ifindex_data);
        _cleanup_free_ char *path = xasprintf("/sys/class/net/%s/ifindex", name);
        _cleanup_free_ char *text = NULL;
        if (read_file_full(path, &text, NULL, NULL) < 0)
                return -1;
        return atoi(text);
}

const struct hypervisor_ops *hypervisor_find(const char *name)
{
        for (size_t i = 0; hypervisors[i]; i++)
                if (strcmp(hypervisors[i]->name, name) == 0)
                        return hypervisors[i];
        return NULL;
}

/* Whether an interface of `type` reaches the hypervisor as open descriptors, not by name. */
static bool passed_as_fds(const struct hv_vm *vm, const struct hypervisor_ops *ops,
                          const char *type)
{
        if (strcmp(type, "macvtap") == 0)
                return ops->macvtap_as_fds;
        return strcmp(type, "tap") == 0 && vm->env.taps_as_fds;
}

size_t passed_fds(const struct hv_vm *vm, const struct hypervisor_ops *ops, const char *id,
                  int **fds)
{
        const struct value *ifaces = vget_list(vm->guest, "microvm.interfaces");
        size_t queues = ops->tap_multi_queue && ops->tap_multi_queue(vm)
                                ? (size_t)vget_int(vm->guest, "microvm.vcpu", 1)
                                : 1;
        size_t index = 0;

        *fds = NULL;
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const struct value *it = ifaces->items[i];
                if (!passed_as_fds(vm, ops, vget_str(it, "type")))
                        continue;
                if (strcmp(vget_str(it, "id"), id) == 0) {
                        *fds = xcalloc(queues, sizeof(**fds));
                        for (size_t q = 0; q < queues; q++)
                                (*fds)[q] = (int)(3 + index * queues + q);
                        return queues;
                }
                index++;
        }
        return 0;
}

char *hv_fds_join(const int *fds, size_t n, const char *sep)
{
        struct strbuf b = { 0 };
        for (size_t i = 0; i < n; i++)
                strbuf_printf(&b, "%s%d", i ? sep : "", fds[i]);
        return strbuf_take(&b);
}

bool guest_has_device_on(const struct value *guest, const char *bus)
{
        const struct value *devices = vget_list(guest, "microvm.devices");
        for (size_t i = 0; devices && i < devices->n_items; i++)
                if (strcmp(vget_str(devices->items[i], "bus"), bus) == 0)
                        return true;
        return false;
}

bool guest_has_interface(const struct value *guest, const char *type)
{
        const struct value *ifaces = vget_list(guest, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++)
                if (strcmp(vget_str(ifaces->items[i], "type"), type) == 0)
                        return true;
        return false;
}

int hv_refuse_memory_and_credentials(const struct hv_vm *vm, const char *hv, bool has_balloon,
                                     struct mv_error **err)
{
        static const struct {
                const char *option, *what;
        } memory[] = {
                { "microvm.initialBalloonMem", "an initial balloon size" },
                { "microvm.hotplugMem", "memory hotplug" },
                { "microvm.hotpluggedMem", "memory hotplug" },
        };
        const struct value *g = vm->guest;

        if (!has_balloon && vget_bool(g, "microvm.balloon", false))
                return mv_error_config(err,
                                       "vm %s: microvm.balloon is not implemented for %s; set it "
                                       "to false, or use cloud-hypervisor",
                                       vm->name, hv);
        for (size_t i = 0; i < ELEMENTSOF(memory); i++)
                if (vget_int(g, memory[i].option, 0) != 0)
                        return mv_error_config(err,
                                               "vm %s: %s is not implemented for %s (%s); set it "
                                               "to 0, or use cloud-hypervisor",
                                               vm->name, memory[i].what, hv, memory[i].option);
        const struct value *creds = vget_attrs(g, "microvm.credentialFiles");
        if (creds && creds->n_attrs > 0)
                return mv_error_config(err,
                                       "vm %s: microvm.credentialFiles are not implemented for "
                                       "%s; remove them, or use qemu",
                                       vm->name, hv);
        return 0;
}

int hv_refuse_user(const struct hv_vm *vm, const char *hv, struct mv_error **err)
{
        if (!vget_str(vm->guest, "microvm.user"))
                return 0;
        return mv_error_config(err,
                               "vm %s: %s will not change user (microvm.user); unset it, or use "
                               "qemu",
                               vm->name, hv);
}

int hv_refuse_taps_as_fds(const struct hv_vm *vm, const char *hv, struct mv_error **err)
{
        const struct value *ifaces = vget_list(vm->guest, "microvm.interfaces");
        for (size_t i = 0; vm->env.taps_as_fds && ifaces && i < ifaces->n_items; i++) {
                if (strcmp(vget_str(ifaces->items[i], "type"), "tap") != 0)
                        continue;
                mv_error_fail(err,
                              "vm %s: tap interface %s: %s runs as the VM's user, which cannot "
                              "open /dev/net/tun, and it attaches to a tap only by its name",
                              vm->name, vget_str(ifaces->items[i], "id"), hv);
                return mv_error_hint(err, "let every user open /dev/net/tun, as udev does on a "
                                          "normal host (chmod 0666 /dev/net/tun), or use qemu, "
                                          "cloud-hypervisor, crosvm or stratovirt");
        }
        return 0;
}

int hv_boot_files(const struct hv_vm *vm, const char **kernel, const char **initrd,
                  struct mv_error **err)
{
        *kernel = vget_str(vm->guest, "microvm.kernel");
        *initrd = vget_str(vm->guest, "microvm.initrdPath");
        if (*kernel && *initrd)
                return 0;
        mv_error_config(err,
                        "vm %s: microvm.%s is not set; without a Nix build, give the path of "
                        "the guest's %s",
                        vm->name, *kernel ? "initrdPath" : "kernel",
                        *kernel ? "initrd" : "kernel image");
        /* A config is read as data, never built as a NixOS system (docs/nix.md). */
        return mv_error_hint(err,
                             "set microvm.vms.%s.config.microvm.%s, or build the VM with Nix "
                             "from a flake: microvm.vms.%s.flake",
                             vm->name, *kernel ? "initrdPath" : "kernel", vm->name);
}

char *hv_kernel_cmdline(const struct value *guest, const char *prefix)
{
        const struct value *params = vget_list(guest, "microvm.kernelParams");
        struct strbuf b = { 0 };

        strbuf_puts(&b, prefix);
        for (size_t i = 0; params && i < params->n_items; i++)
                strbuf_printf(&b, "%s%s", i ? " " : "", params->items[i]->str);
        return strbuf_take(&b);
}

bool has_store_disk(const struct value *guest)
{
        return vget_bool(guest, "microvm.storeOnDisk", false) &&
               vget_str(guest, "microvm.storeDisk") != NULL;
}

char volume_letter(const struct value *guest, size_t index)
{
        return (char)('a' + index + (has_store_disk(guest) ? 1 : 0));
}

bool hv_version_at_least(const struct hv_vm *vm, const char *min)
{
        const char *v = vm->env.version;
        if (!v)
                return true;
        /* Compare number by number, as Nix's compareVersions does for plain versions. */
        while (*v || *min) {
                char *ve, *me;
                long a = strtol(v, &ve, 10), b = strtol(min, &me, 10);
                if (a != b)
                        return a > b;
                v = *ve == '.' ? ve + 1 : ve;
                min = *me == '.' ? me + 1 : me;
                if (ve == v && me == min)
                        break;
        }
        return true;
}
