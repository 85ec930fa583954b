/*
 * alioth: the command line of microvm.nix's alioth runner
 * (lib/runners/alioth.nix), built as an argv vector.
 */
#include "hypervisor/hypervisor.h"

const struct hypervisor_ops hypervisor_alioth = {
        .name = "alioth",
        .binary_name = "alioth",
};
