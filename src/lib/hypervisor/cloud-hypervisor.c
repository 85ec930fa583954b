/*
 * cloud-hypervisor: the command line of microvm.nix's cloud-hypervisor runner
 * (lib/runners/cloud-hypervisor.nix), built as an argv vector.
 */
#include "hypervisor/hypervisor.h"

const struct hypervisor_ops hypervisor_cloud_hypervisor = {
        .name = "cloud-hypervisor",
        .binary_name = "cloud-hypervisor",
};
