/*
 * A VM's host interfaces for one run: the taps and macvtaps of its plan,
 * created before the hypervisor starts and removed after it ends (or,
 * after a crash, by the next start), and the descriptors a hypervisor is
 * given its macvtaps (and, where it cannot open /dev/net/tun, its taps) as.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "vm/helper-units.h"

struct mv_error;
struct vm_plan;
struct child_waiter;

struct vm_interface {
        char *ifname; /* the kernel's name, which removes it */
        bool macvtap;
        bool multi_queue; /* taps: how it was made, for its removal */
};

struct vm_interfaces {
        struct vm_interface *created; /* by this run, in order */
        size_t n_created;
        int *fds; /* fds[i] becomes the hypervisor's descriptor 3 + i */
        size_t n_fds;
};

/* Which interfaces a call handles: HELPER_BIT(HELPER_TAPS) and/or HELPER_BIT(HELPER_MACVTAPS). */
#define INTERFACES_ALL (HELPER_BIT(HELPER_TAPS) | HELPER_BIT(HELPER_MACVTAPS))

/*
 * Create the plan's interfaces of the `kinds` given, in order: taps with their tapScript
 * (waited for through `w`, which bounds and can cancel it), macvtaps set
 * up. Those marked not to be created must exist already. What was made is
 * recorded in `ifs` for vm_interfaces_remove(), also when a later one
 * fails.
 */
int vm_interfaces_create(const struct vm_plan *plan, unsigned kinds, struct vm_interfaces *ifs,
                         struct child_waiter *w, struct mv_error **err);

/*
 * Open one queue for each descriptor number the plan gives an interface,
 * so that the hypervisor inherits them as those numbers: a macvtap's
 * /dev/tapN, or /dev/net/tun attached to a tap (tap_open_queue()).
 */
int vm_interfaces_open_fds(const struct vm_plan *plan, struct vm_interfaces *ifs,
                           struct mv_error **err);

/* Close the descriptors: once the hypervisor has its copies, ours only keep queues alive. */
void vm_interfaces_close_fds(struct vm_interfaces *ifs);

/* Remove what vm_interfaces_create() made, last first; failures are logged. Frees `ifs`. */
void vm_interfaces_remove(struct vm_interfaces *ifs);

/*
 * After a run that ended without its teardown: remove the interfaces the
 * runner at `runner_dir` lists (share/microvm/tap-interfaces and
 * macvtap-interfaces), as that run's teardown would have.
 */
void vm_interfaces_remove_listed(const char *runner_dir, unsigned kinds);

/* Forget what vm_interfaces_create() made without removing it: a helper unit leaves it up. */
void vm_interfaces_forget(struct vm_interfaces *ifs);

/*
 * A record of the interfaces of `kinds` a start creates ("IFNAME" or
 * "IFNAME mq" per line, "macvtap IFNAME" for macvtaps), written before the
 * first is made, so that their removal needs nothing else. malloc'd.
 */
char *vm_interfaces_record(const struct vm_plan *plan, unsigned kinds);

/* Remove the interfaces a record lists; failures are logged. */
void vm_interfaces_remove_recorded(const char *record);
