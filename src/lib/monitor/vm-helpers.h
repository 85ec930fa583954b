/*
 * What systemd's helper units of a VM run (systemd/microvm-*@.service):
 * one part of its start each, set up before the VM's own unit starts and
 * undone after it stops, as microvm.nix's units of the same names do. The
 * VM's `run --under-systemd` then only checks that the parts are there.
 */
#pragma once

#include "vm/helper-units.h"
#include "vm/settings.h"

struct mv_error;

/*
 * Set up part `h` (taps, macvtaps or PCI devices) of VM `name`, which must
 * not be running, and leave it set up; undo what a killed earlier attempt
 * left first. Nothing when host.nix switches the part off.
 */
int vm_helper_up(const struct host_settings *hs, const char *name, enum vm_helper h,
                 struct mv_error **err);

/* Undo part `h` from its record alone: the interfaces it made, the devices it bound. */
int vm_helper_down(const struct host_settings *hs, const char *name, enum vm_helper h,
                   struct mv_error **err);

/*
 * Run one virtiofsd per share of VM `name` until stopped (SIGTERM), telling
 * the service manager READY=1 once each listens. Ends with an error when a
 * virtiofsd does (its unit restarts it).
 */
int vm_helper_virtiofsd(const struct host_settings *hs, const char *name, struct mv_error **err);
