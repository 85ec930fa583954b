/*
 * Root's records of each VM, in STATE/.host/NAME: what microvm itself
 * trusts. The hypervisor's working directory STATE/NAME belongs to
 * microvm:kvm (as in microvm.nix), so anything in it may have been
 * replaced by the VM's user; root reads nothing there. The records hold:
 *
 *   current, booted, toplevel   links to ../../.runners/<runner>, or to
 *                               a Nix store path: the installed runner,
 *                               the running one, and the mark of a
 *                               declarative VM
 *   lock                        held by the process that runs the VM
 *   pid                         "PID START_TIME KIND", advisory (status)
 *   control.sock                the monitor's control socket
 *   console.sock, console.log   the serial console and its log
 *   ready, restarts             readiness and the monitor's restart record
 *   pci-devices                 PCI devices bound to vfio-pci, until given
 *                               back (host/pci-passthrough.h)
 *
 * The links are also published in STATE/NAME for people and microvm.nix's
 * tools (docs/security.md), never read back from there.
 */
#pragma once

#include <stdbool.h>

struct mv_error;

#define RECORDS_DIR ".host"

/* STATE/.host/NAME, or a file in it when `file` is not NULL. malloc'd. */
char *records_path(const char *state_dir, const char *name, const char *file);

/* Create STATE/.host/NAME (root's, 0755) if needed and open it; returns the fd. */
int records_open(const char *state_dir, const char *name, bool create, struct mv_error **err);

/*
 * Whether `runner` is a runner this VM can have: one of ours under
 * .runners (32 hex digits, '-', the VM's name), or a Nix store path that
 * root recorded (microvm.nix's runners; vm/store-path.h).
 */
bool runner_name_valid(const char *runner, const char *name);

/* Where runner `runner` is: STATE/.runners/RUNNER, or the store path itself. malloc'd. */
char *runner_path(const char *state_dir, const char *runner);

/*
 * The runner the record `link` (current, booted or toplevel) names, or
 * NULL when there is none or it is not a runner of this VM. malloc'd.
 */
char *records_runner(const char *state_dir, const char *name, const char *link);

/*
 * Point record `link` at runner `runner` (NULL: remove it), then publish
 * the same in STATE/NAME. Only the record is crash-safe and checked; a
 * publication that fails is a warning. `*changed` (optional) says whether
 * the record moved.
 */
int records_set_runner(const char *state_dir, const char *name, const char *link,
                       const char *runner, bool *changed, struct mv_error **err);

/*
 * The flake a VM is built from (microvm.nix's STATE/NAME/flake): root's
 * record in .host/NAME/flake, published as STATE/NAME/flake. `-u` reads
 * the record, never the published copy the VM's user could rewrite.
 */
int records_set_flake(const char *state_dir, const char *name, const char *ref,
                      struct mv_error **err);

/* The recorded flake of VM `name`, or NULL when it has none. malloc'd. */
char *records_flake(const char *state_dir, const char *name);

/* The names of the VMs with records, sorted. */
char **records_vm_names(const char *state_dir);
