/* Asking a guest to shut down, the way each hypervisor allows (microvm.nix's microvm-shutdown). */
#pragma once

struct mv_error;

/*
 * `method` is a plan's shutdown method (qmp, cloud-hypervisor-api,
 * firecracker-api, crosvm-powerbtn); `socket` the control socket, relative
 * to `vm_dir`; `hypervisor` the hypervisor's executable (crosvm runs
 * itself to press the power button). Returns once the request is made.
 */
int vm_request_shutdown(const char *method, const char *vm_dir, const char *socket,
                        const char *hypervisor, struct mv_error **err);
