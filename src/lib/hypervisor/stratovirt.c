/*
 * stratovirt: the command line of microvm.nix's stratovirt runner
 * (lib/runners/stratovirt.nix), built as an argv vector.
 */
#include "hypervisor/hypervisor.h"

const struct hypervisor_ops hypervisor_stratovirt = {
        .name = "stratovirt",
        .binary_name = "stratovirt",
};
