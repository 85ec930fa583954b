/*
 * microvm.devices checked when the configuration is read: a PCI device is
 * named by its full address, which the host binds to vfio-pci before the
 * VM starts (host/pci-passthrough.h). A wildcard or a short address would
 * name no device, or the wrong one (microvm.nix issues 57 and 350).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/strmap.h"

struct mv_error;
struct value;

/* Length of "DDDD:BB:DD.F". */
#define PCI_ADDRESS_LEN 12

/*
 * Whether `addr` is a full PCI address as sysfs names devices: hex domain
 * (4 digits), bus (2), device (2, 00 to 1f), function (0 to 7); either case.
 */
bool pci_address_valid(const char *addr);

/* `addr` (valid) in sysfs's spelling, lower case, into `out`. */
void pci_address_normalise(const char *addr, char out[PCI_ADDRESS_LEN + 1]);

/* The PCI devices claimed by VMs that start with the host, across VMs. */
struct pci_claims {
        struct strmap map;
        char **keys; /* normalised addresses the map borrows */
        const struct value **paths;
        const char **owners;
        size_t *indices; /* in the owner's microvm.devices */
        size_t n;
};

void pci_claims_free(struct pci_claims *c);

/*
 * The PCI devices of VM `vm`: full addresses, none twice. With `claims`
 * (a VM that autostarts), none another autostarting VM has claimed: two
 * VMs cannot both have the device.
 */
int check_devices(const char *vm, const struct value *guest, struct pci_claims *claims,
                  struct mv_error **err);
