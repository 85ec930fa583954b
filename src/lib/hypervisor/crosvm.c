/*
 * crosvm: the command line of microvm.nix's crosvm runner
 * (lib/runners/crosvm.nix), built as an argv vector.
 */
#include "hypervisor/hypervisor.h"

const struct hypervisor_ops hypervisor_crosvm = {
        .name = "crosvm",
        .binary_name = "crosvm",
};
