/*
 * One run of a VM, for a monitor or for `microvm run`: create missing
 * volumes, the taps (then tapScript) and macvtaps, bind the PCI devices to
 * vfio-pci, one virtiofsd per share on a socket microvm listens on, record
 * `booted`, start the hypervisor, wait until it is ready, supervise it,
 * shut it down when asked, and tear everything down again in order
 * (hypervisor, virtiofsd, PCI devices, interfaces, then `booted`). Every
 * wait happens in the event loop.
 */
#pragma once

#include <stdbool.h>

#include "monitor/loop.h"
#include "vm/settings.h"

struct mv_error;
struct console;
struct control;

struct vm_runtime {
        struct loop *loop;
        const struct host_settings *hs;
        const char *name;
        const char *records; /* STATE/.host/NAME */
        int records_fd;
        struct console *console; /* the hypervisor's stdio is its pty; NULL: ours */
        struct control *control; /* told the phase and readiness; may be NULL */
        /* Called once per run when the VM is ready. */
        void (*on_ready)(struct vm_runtime *rt);
        void *data;
        bool machined_told; /* registerWithMachined's notice was given: once per monitor */
        bool unit;          /* run by a systemd unit (run --under-systemd) */
        unsigned delegated; /* parts its helper units do (HELPER_BIT()s, vm/helper-units.h) */
};

/*
 * Run the VM once. 0 when the hypervisor ran and ended (`*exit_status`
 * is its status), also when a stop asked for it; < 0 when the start failed
 * before the VM was ready, or its readiness did not come in time.
 */
int vm_run_once(struct vm_runtime *rt, int *exit_status, struct mv_error **err);

/*
 * After a process that ran the VM was killed: undo what it left, from the
 * runner root's `booted` record names (its interfaces, its sockets), and
 * drop the record; the PCI devices from their own record
 * (host/pci-passthrough.h), which outlives a missing `booted`. The caller
 * holds the VM's lock. Nothing else when there is no `booted` record.
 * Parts switched off in host.nix or `delegated` to helper units are
 * someone else's, and left alone.
 */
void vm_clean_up_after_crash(const struct host_settings *hs, const char *name, unsigned delegated);
