/*
 * The parts of a VM's start, shared by a whole run (vm-run.c) and by the
 * commands that systemd's helper units run for one part each
 * (vm-helpers.c): share sources, the interfaces' scripts, virtiofsd and
 * the PCI devices. Internal to the monitor library.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/notify.h"
#include "monitor/loop.h"
#include "monitor/vm-run.h"
#include "util/spawn.h"
#include "vm/interfaces.h"
#include "vm/plan.h"

#define DOWN_SCRIPT_DEADLINE_MS 30000 /* binScripts.tap-down at a stop */
#define KILL_GRACE_MS           5000

/* What one run has set up, for teardown in reverse order. */
struct running {
        struct vm_runtime *rt;
        struct vm_plan *plan;
        unsigned ours; /* the parts (HELPER_BIT()s) this process does: not off, not a unit's */
        int vmdir;
        struct vm_interfaces interfaces;
        struct loop_child *virtiofsd;
        int *virtiofsd_listen; /* ours too: the hypervisor's connection waits in the backlog */
        size_t n_virtiofsd;
        struct loop_child hypervisor;
        bool hypervisor_started;
        bool booted;
        struct notify_listener notify;
        bool ready;
        int64_t start_deadline;
        struct spawn_credentials creds; /* the hypervisor's */
        unsigned
                links_up; /* whose up scripts ran (HELPER_TAPS, _MACVTAPS): the down ones are due */
};

/* A step done: logged, and a point where tests can kill the process (util/fault.h). */
void run_step(const char *what);

/* The VM's identity for helpers that act as its user: NULL when it does not switch. */
const struct spawn_credentials *run_vm_creds(const struct running *run);

/* Missing share sources, created as microvm.nix's tmpfiles rule does. */
int run_ensure_share_sources(struct running *run, struct mv_error **err);

/* Configured snippet `which`, if any: as root, or as the hypervisor's user in its directory. */
int run_snippet(struct running *run, enum plan_snippet which, bool as_vm, struct child_waiter *w,
                char **output, struct mv_error **err);

/* binScripts.tap-up and macvtap-up for the `parts` given, as microvm.nix's interface units end. */
int run_links_up(struct running *run, unsigned parts, struct child_waiter *w,
                 struct mv_error **err);

/* The down scripts of the parts whose up scripts ran; a failure is only logged. */
void run_links_down(struct running *run);

/* One virtiofsd per share on a socket microvm listens on, tracked in the loop. */
int run_start_virtiofsd(struct running *run, struct mv_error **err);

/* A new virtiofsd `i`, on the socket the one that ended listened on. */
int run_respawn_virtiofsd(struct running *run, size_t i, struct mv_error **err);

/* Which virtiofsd ended, or -1. */
ssize_t run_virtiofsd_lost(const struct running *run);

/* Stop the virtiofsds started, and remove every share's socket. */
void run_stop_virtiofsd(struct running *run);

/* Each share's socket is there: someone else's virtiofsd serves it. */
int run_check_virtiofsd_sockets(struct running *run, const char *whose, struct mv_error **err);

/* The plan's PCI devices to vfio-pci, their groups to the hypervisor's user (pci-passthrough.h). */
int run_bind_pci_devices(struct running *run, struct child_waiter *w, struct mv_error **err);

/* What run_bind_pci_devices() did, from its record: also what a failed one did. */
void run_release_pci_devices(const struct host_settings *hs, const char *name);

/* Remove a socket microvm bound in the VM's directory (or the administrator's path). */
void run_remove_socket(int vmdir, const char *vm_dir, const char *path);
