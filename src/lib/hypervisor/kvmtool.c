/*
 * kvmtool: the command line of microvm.nix's kvmtool runner
 * (lib/runners/kvmtool.nix), built as an argv vector.
 */
#include "hypervisor/hypervisor.h"

const struct hypervisor_ops hypervisor_kvmtool = {
        .name = "kvmtool",
        .binary_name = "lkvm",
};
