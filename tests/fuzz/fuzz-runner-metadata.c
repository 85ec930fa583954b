/*
 * libFuzzer harness for the interface lists of a runner built by
 * microvm.nix (share/microvm/tap-flags, tap-interfaces,
 * macvtap-interfaces): the input is the three texts separated by NUL
 * bytes. Any bytes must parse or be refused without a crash or leak, and
 * every interface taken must have a valid name (a macvtap also a valid
 * link), never a line that is not one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/host-config.h"
#include "util/error.h"
#include "vm/foreign.h"
#include "vm/plan.h"
#include "vm/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next NUL-separated part of the input, malloc'd; NULL when the input has ended. */
static char *part(const uint8_t **p, const uint8_t *end)
{
        if (*p > end)
                return NULL;
        const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
        size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
        char *s = malloc(n + 1);
        if (!s)
                abort();
        memcpy(s, *p, n);
        s[n] = '\0';
        *p += n + 1;
        return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *p = data, *end = data + size;
        char *flags = part(&p, end), *taps = part(&p, end), *macvtaps = part(&p, end);
        struct host_settings hs = { .state_dir = (char *)"/state" };
        struct vm_plan *plan = calloc(1, sizeof(*plan));
        struct mv_error *err = NULL;
        if (!plan)
                abort();
        int r = foreign_parse_interfaces(plan, &hs, "/runner", flags, taps, macvtaps, &err);
        if (r < 0 && !err)
                abort();
        for (size_t i = 0; i < plan->n_interfaces; i++) {
                const struct plan_interface *it = &plan->interfaces[i];
                if (!interface_name_valid(it->id))
                        abort();
                if (it->macvtap && (!interface_name_valid(it->link) || !it->mac || !it->mode))
                        abort();
        }
        mv_error_free(&err);
        vm_plan_free(plan);
        free(flags);
        free(taps);
        free(macvtaps);
        return 0;
}
