/*
 * firecracker: the command line of microvm.nix's firecracker runner
 * (lib/runners/firecracker.nix), built as an argv vector.
 */
#include "hypervisor/hypervisor.h"

const struct hypervisor_ops hypervisor_firecracker = {
        .name = "firecracker",
        .binary_name = "firecracker",
};
