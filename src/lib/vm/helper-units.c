#include "vm/helper-units.h"

#include <string.h>

#include "config/host-config.h"
#include "config/source.h"
#include "config/value-get.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

const char *const helper_unit_prefix[N_HELPERS] = {
        [HELPER_TAPS] = "microvm-tap-interfaces",
        [HELPER_MACVTAPS] = "microvm-macvtap-interfaces",
        [HELPER_PCI] = "microvm-pci-devices",
        [HELPER_VIRTIOFSD] = "microvm-virtiofsd",
};

const char *const helper_word[N_HELPERS] = {
        [HELPER_TAPS] = "taps",
        [HELPER_MACVTAPS] = "macvtaps",
        [HELPER_PCI] = "pci",
        [HELPER_VIRTIOFSD] = "virtiofsd",
};

/* "microvm-virtiofsd@web.service" or without ".service": the part, and where its instance starts. */
static int parse_unit(const char *key, const char **instance, size_t *instance_len)
{
        for (int h = 0; h < N_HELPERS; h++) {
                size_t n = strlen(helper_unit_prefix[h]);
                if (strncmp(key, helper_unit_prefix[h], n) != 0 || key[n] != '@')
                        continue;
                *instance = key + n + 1;
                size_t len = strlen(*instance);
                if (len > 8 && strcmp(*instance + len - 8, ".service") == 0)
                        len -= 8;
                *instance_len = len;
                return h;
        }
        return -1;
}

static bool instance_is(const char *instance, size_t len, const char *s)
{
        return strlen(s) == len && strncmp(instance, s, len) == 0;
}

char **helpers_switched_off(const struct value *host)
{
        const struct value *units = value_lookup(host, "systemd.services");
        char **keys = NULL;
        for (size_t i = 0; units && units->type == VALUE_ATTRS && i < units->n_attrs; i++)
                if (!vget_bool(units->attrs[i].value, "enable", true))
                        strv_push(&keys, units->attrs[i].key);
        return keys;
}

unsigned helpers_disabled(char *const *switched_off, const char *name)
{
        unsigned off = 0;
        for (size_t i = 0; switched_off && switched_off[i]; i++) {
                const char *instance;
                size_t len;
                int h = parse_unit(switched_off[i], &instance, &len);
                if (h >= 0 && (instance_is(instance, len, "%i") ||
                               (name && instance_is(instance, len, name))))
                        off |= HELPER_BIT(h);
        }
        return off;
}

int helpers_check_switches(const struct value *host, struct mv_error **err)
{
        const struct value *units = value_lookup(host, "systemd.services");
        for (size_t i = 0; units && units->type == VALUE_ATTRS && i < units->n_attrs; i++) {
                const char *key = units->attrs[i].key;
                const char *instance;
                size_t len;
                int h = parse_unit(key, &instance, &len);
                if (h >= 0) {
                        _cleanup_free_ char *vm = xstrndup(instance, len);
                        if (strcmp(vm, "%i") == 0 || vm_name_valid(vm))
                                continue;
                        int r = srcpos_error(
                                err, units->attrs[i].key_pos,
                                "systemd.services.\"%s\": \"%s\" is neither %%i (every "
                                "VM) nor a VM name (" VM_NAME_RULE ")",
                                key, vm);
                        mv_error_hint(err, "write \"%s@%%i.service\" or \"%s@NAME.service\"",
                                      helper_unit_prefix[h], helper_unit_prefix[h]);
                        return r;
                }
                srcpos_error(err, units->attrs[i].key_pos,
                             "systemd.services.\"%s\": microvm reads only the switches "
                             "of the units microvm.nix's host module makes for a VM's "
                             "helpers",
                             key);
                return mv_error_hint(err,
                                     "use microvm-tap-interfaces@, microvm-macvtap-interfaces@, "
                                     "microvm-pci-devices@ or microvm-virtiofsd@ with %%i or a "
                                     "VM name; to keep a VM from starting at boot set "
                                     "microvm.vms.NAME.autostart = false");
        }
        return 0;
}

unsigned helpers_from_words(const char *words)
{
        unsigned mask = 0;
        const char *p = words;
        while (p && *p) {
                size_t n = strcspn(p, " ,");
                for (int h = 0; h < N_HELPERS; h++)
                        if (strlen(helper_word[h]) == n && strncmp(p, helper_word[h], n) == 0)
                                mask |= HELPER_BIT(h);
                p += n;
                p += strspn(p, " ,");
        }
        return mask;
}
