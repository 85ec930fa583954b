/* Asking a guest to shut down, the way each hypervisor allows (microvm.nix's microvm-shutdown). */
#pragma once

#include "hypervisor/hypervisor.h"

struct mv_error;

/*
 * `method` is the plan's shutdown method; `socket` the control socket, as
 * the hypervisor names it (relative to the working directory, where the
 * caller runs); `hypervisor` the hypervisor's executable (crosvm runs
 * itself to press the power button). Returns once the request is made.
 */
int vm_request_shutdown(enum hv_shutdown method, const char *socket, const char *hypervisor,
                        struct mv_error **err);
