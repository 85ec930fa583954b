/*
 * VMs built from a flake, as microvm.nix's install-microvm-NAME unit and
 * its `microvm -c/-u` do it: `nix build` of the flake's
 * nixosConfigurations.NAME.config.microvm.declaredRunner, the store path
 * recorded as the VM's current runner with garbage-collector roots, and
 * the flake recorded for later updates.
 */
#pragma once

#include <stdbool.h>

struct mv_error;

/*
 * Build VM `name` from flake `build_ref` and install the runner as its
 * current; record `record_ref` as its flake (microvm.nix records
 * updateFlake there when set). On any error the runner installed before
 * stays. `*runner` (optional) gets the store path, `*changed` (optional)
 * whether current moved. The caller holds the state directory's lock.
 */
int flake_vm_install(const char *state_dir, const char *name, const char *build_ref,
                     const char *record_ref, char **runner, bool *changed, struct mv_error **err);
