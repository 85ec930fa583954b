#include "config/devices.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/merge.h"
#include "config/source.h"
#include "config/types.h"
#include "config/value.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define PCI_HINT                                                                                   \
        "give the device's full address DOMAIN:BUS:DEVICE.FUNCTION, e.g. \"0000:01:00.0\", as "    \
        "'lspci -D' lists it; every device is passed through on its own"

static bool hex_digits(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!isxdigit((unsigned char)s[i]))
                        return false;
        return true;
}

bool pci_address_valid(const char *addr)
{
        if (strlen(addr) != PCI_ADDRESS_LEN || addr[4] != ':' || addr[7] != ':' || addr[10] != '.')
                return false;
        if (!hex_digits(addr, 4) || !hex_digits(addr + 5, 2) || !hex_digits(addr + 8, 2))
                return false;
        /* Five bits of device, three of function. */
        unsigned device = (unsigned)strtoul((char[]){ addr[8], addr[9], 0 }, NULL, 16);
        return device <= 0x1f && addr[11] >= '0' && addr[11] <= '7';
}

void pci_address_normalise(const char *addr, char out[PCI_ADDRESS_LEN + 1])
{
        for (size_t i = 0; i < PCI_ADDRESS_LEN; i++)
                out[i] = (char)tolower((unsigned char)addr[i]);
        out[PCI_ADDRESS_LEN] = '\0';
}

void pci_claims_free(struct pci_claims *c)
{
        strmap_free(&c->map);
        strv_free(c->keys);
        free(c->paths);
        free(c->owners);
        free(c->indices);
}

/* "microvm.vms.VM.config.microvm.devices[I].path", the option a message is about. */
static char *device_option(const char *vm, size_t i)
{
        _cleanup_free_ char *name = option_segment_display(vm);
        return xasprintf("microvm.vms.%s.config.microvm.devices[%zu].path", name, i);
}

static int bad_address(const char *vm, size_t i, const struct value *path, struct mv_error **err)
{
        _cleanup_free_ char *opt = device_option(vm, i);
        const char *why = strchr(path->str, '*') || strchr(path->str, '?')
                                  ? "has a wildcard; passthrough binds single devices"
                                  : "is not a full PCI address like \"0000:01:00.0\"";
        int r = srcpos_error(err, path->pos, "%s: \"%s\" %s", opt, path->str, why);
        mv_error_hint(err, PCI_HINT);
        return r;
}

static int twice(const char *vm, size_t i, const struct value *path, const char *other_vm, size_t j,
                 const struct value *other, struct mv_error **err)
{
        _cleanup_free_ char *opt = device_option(vm, i);
        _cleanup_free_ char *first = device_option(other_vm, j);
        _cleanup_free_ char *where = srcpos_format(other->pos);
        int r;
        if (strcmp(vm, other_vm) == 0) {
                r = srcpos_error(err, path->pos,
                                 "%s: PCI device \"%s\" is listed twice (also %s at %s)", opt,
                                 path->str, first, where);
                mv_error_hint(err, "list each device once");
                return r;
        }
        r = srcpos_error(err, path->pos,
                         "%s: PCI device \"%s\" is also given to vm %s, which starts with the "
                         "host too (%s at %s)",
                         opt, path->str, other_vm, first, where);
        mv_error_hint(err, "a device is bound to one VM at a time: keep it in one VM that "
                           "autostarts, set autostart = false on the others");
        return r;
}

int check_devices(const char *vm, const struct value *guest, struct pci_claims *claims,
                  struct mv_error **err)
{
        const struct value *devices = value_lookup(guest, "microvm.devices");
        for (size_t i = 0; devices && i < devices->n_items; i++) {
                const struct value *it = devices->items[i];
                const struct value *bus = value_lookup(it, "bus");
                const struct value *path = value_lookup(it, "path");
                if (!bus || !path || strcmp(bus->str, "pci") != 0)
                        continue;
                if (!pci_address_valid(path->str))
                        return bad_address(vm, i, path, err);
                for (size_t j = 0; j < i; j++) {
                        const struct value *o = devices->items[j];
                        const struct value *ob = value_lookup(o, "bus");
                        const struct value *op = value_lookup(o, "path");
                        if (ob && op && strcmp(ob->str, "pci") == 0 &&
                            strcasecmp(op->str, path->str) == 0)
                                return twice(vm, i, path, vm, j, op, err);
                }
                if (!claims)
                        continue;
                char key[PCI_ADDRESS_LEN + 1];
                pci_address_normalise(path->str, key);
                strv_push(&claims->keys, key);
                size_t first;
                if (!strmap_put(&claims->map, claims->keys[strv_length(claims->keys) - 1],
                                claims->n, &first)) {
                        return twice(vm, i, path, claims->owners[first], claims->indices[first],
                                     claims->paths[first], err);
                }
                claims->paths = xreallocarray(claims->paths, claims->n + 1, sizeof(*claims->paths));
                claims->owners =
                        xreallocarray(claims->owners, claims->n + 1, sizeof(*claims->owners));
                claims->indices =
                        xreallocarray(claims->indices, claims->n + 1, sizeof(*claims->indices));
                claims->paths[claims->n] = path;
                claims->indices[claims->n] = i;
                claims->owners[claims->n++] = vm;
        }
        return 0;
}
