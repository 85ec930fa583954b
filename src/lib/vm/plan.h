/*
 * A VM's plan: everything a start would do, in order, without doing it:
 * volumes to create (with the mkfs argv), taps and macvtaps to create,
 * one virtiofsd argv per virtiofs share, the hypervisor argv and the files
 * it names, and how the VM is shut down. `microvm plan` prints it; `run`
 * carries it out.
 */
#pragma once

#include "config/value.h"

struct mv_error;

/* The host switch for creating a VM's interfaces: microvm.nix's tap unit. */
#define INTERFACES_UNIT_ENABLE "systemd.services.\"microvm-tap-interfaces@%i.service\".enable"

/*
 * Plan the start of installed VM `name`: its runner is read from
 * STATE/NAME/current (the runner contract), the host settings (tapScript,
 * virtiofsd) from `host`. The plan is a value tree, documented in
 * docs/plan.md; its JSON form is stable.
 */
int vm_plan(const struct value *host, const char *name, struct value **plan, struct mv_error **err);

/* The spec of the runner STATE/NAME/LINK points at (LINK: current or booted). */
int vm_read_spec(const char *state_dir, const char *name, const char *link, struct value **spec,
                 struct mv_error **err);
