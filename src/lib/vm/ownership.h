/*
 * What a hypervisor that runs as microvm:kvm must reach (see
 * host/privileges.h), checked as that user before anything is set up, so
 * a missing permission is said plainly instead of by the hypervisor once
 * everything is in place.
 */
#pragma once

#include <stdbool.h>

struct mv_error;
struct vm_plan;
struct run_as;

/* Say once per process, at info level, why the hypervisor keeps the caller's identity. */
void ownership_log(const struct run_as *id);

/*
 * Check, as the plan's identity, what the hypervisor will open: the kernel,
 * initrd and store disk, the existing volumes, /dev/net/tun for taps it
 * opens by name (not for those passed as descriptors).
 * /dev/kvm only warns: qemu's default accel=kvm:tcg falls back to TCG, and
 * where KVM is required the hypervisor says so itself. An error names what
 * it cannot open and how to fix it. Nothing when it does not switch.
 */
int ownership_check(const struct vm_plan *plan, struct mv_error **err);

/*
 * Whether taps must reach the hypervisor as open descriptors: it switches
 * to `id`, and `id` cannot open /dev/net/tun for reading and writing (0600
 * where no udev rule opened it up). Asked as `id`, in a child, and only
 * when `has_taps`.
 */
int ownership_taps_as_fds(const struct run_as *id, bool has_taps, bool *out, struct mv_error **err);
