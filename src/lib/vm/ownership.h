/*
 * What a hypervisor that runs as microvm:kvm needs around it (see
 * host/privileges.h): the VM's directory and the volumes microvm creates
 * given to that user, the files it must open checked before anything is
 * set up, and the sockets it shares with virtiofsd and the CLI made
 * 0660 with group kvm.
 */
#pragma once

#include "config/value.h"
#include "host/privileges.h"
#include "util/pidref.h"

struct mv_error;

/* The plan's `runAs`, as a struct run_as (free with run_as_done()). */
void ownership_from_plan(const struct value *plan, struct run_as *id);

/* Say once per process, at info level, why the hypervisor keeps the caller's identity. */
void ownership_log(const struct run_as *id);

/* Give `path` to the identity the hypervisor switches to; nothing when it does not switch. */
int ownership_give(const struct run_as *id, const char *path, struct mv_error **err);

/*
 * Check, as the identity, what the hypervisor will open: `guest`'s kernel,
 * initrd and store disk, the plan's existing volumes, /dev/net/tun for
 * taps. /dev/kvm only warns: qemu's default accel=kvm:tcg falls back to
 * TCG, and where KVM is required the hypervisor says so itself. An error
 * names what it cannot open and how to fix it. Nothing when it does not
 * switch.
 */
int ownership_check(const struct run_as *id, const struct value *plan, const struct value *guest,
                    struct mv_error **err);

/* chown `path` to uid:gid ((uid_t)-1 or (gid_t)-1: keep that one), mode 0660. */
int ownership_share_socket(const char *path, uid_t uid, gid_t gid, struct mv_error **err);

/*
 * Once the hypervisor's control socket `path` appears (within `timeout_s`,
 * and while `hypervisor` runs), make it 0660 root:GROUP: it was created by
 * the unprivileged hypervisor with its umask. Failures only warn: the VM
 * runs either way.
 */
void ownership_secure_control_socket(const struct run_as *id, const char *path,
                                     struct pidref *hypervisor, int timeout_s);
