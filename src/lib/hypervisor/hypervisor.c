#include "hypervisor/hypervisor.h"

#include <string.h>

#include "config/value-get.h"
#include "util/strv.h"
#include "util/xalloc.h"

extern const struct hypervisor_ops hypervisor_qemu;

const struct hypervisor_ops *const hypervisors[] = {
        &hypervisor_qemu,
        NULL,
};

const struct hypervisor_ops *hypervisor_find(const char *name)
{
        for (size_t i = 0; hypervisors[i]; i++)
                if (strcmp(hypervisors[i]->name, name) == 0)
                        return hypervisors[i];
        return NULL;
}

size_t macvtap_fds(const struct hv_vm *vm, const struct hypervisor_ops *ops, const char *id,
                   int *fds, size_t max)
{
        const struct value *ifaces = vget_list(vm->guest, "microvm.interfaces");
        size_t queues = ops->tap_multi_queue && ops->tap_multi_queue(vm)
                                ? (size_t)vget_int(vm->guest, "microvm.vcpu", 1)
                                : 1;
        size_t index = 0;

        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const struct value *it = ifaces->items[i];
                if (strcmp(vget_str(it, "type"), "macvtap") != 0)
                        continue;
                if (strcmp(vget_str(it, "id"), id) == 0) {
                        size_t n = 0;
                        for (size_t q = 0; q < queues && n < max; q++)
                                fds[n++] = (int)(3 + index * queues + q);
                        return n;
                }
                index++;
        }
        return 0;
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

void strv_push_words(char ***argv, const char *s)
{
        const char *p = s;
        while (*p) {
                p += strspn(p, " \t\n");
                size_t n = strcspn(p, " \t\n");
                if (n)
                        strv_consume(argv, xstrndup(p, n));
                p += n;
        }
}
