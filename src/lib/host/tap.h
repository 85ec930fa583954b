/*
 * Tap interfaces: created persistent with TUNSETIFF (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR, IFF_MULTI_QUEUE when the hypervisor opens one queue per
 * vCPU), owned by the user the hypervisor runs as, so that it can attach
 * to them by name. Like microvm.nix's `ip tuntap add ... vnet_hdr`. Where
 * that user cannot open /dev/net/tun, root opens the queues for it.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct mv_error;

struct tap_options {
        bool multi_queue;
        uid_t owner; /* (uid_t)-1: leave unowned */
        gid_t group; /* (gid_t)-1: none */
};

/*
 * Create persistent tap `name`. An existing tap of that name that no
 * process holds, with the owner this one gets, is left by a crash and
 * replaced (as microvm.nix deletes it first); any other interface of that
 * name is an error saying whose it is.
 */
int tap_create(const char *name, const struct tap_options *opts, struct mv_error **err);

/* The process holding tap `name` open (its tun descriptor's fdinfo names it), or 0. */
pid_t tap_holder(const char *name);

/*
 * Open one queue of persistent tap `name` for a hypervisor that cannot
 * open /dev/net/tun itself: a new /dev/net/tun descriptor attached to it
 * with the flags it was created with. Returns the descriptor (O_CLOEXEC);
 * a tap that does not exist is an error.
 */
int tap_open_queue(const char *name, bool multi_queue, struct mv_error **err);

/* Remove persistent tap `name`; an absent one is not an error. */
int tap_delete(const char *name, bool multi_queue, struct mv_error **err);

/* Set an interface up (SIOCSIFFLAGS), what the default tapScript does. */
int link_set_up(const char *name, struct mv_error **err);

/* Whether an interface of this name exists. */
bool link_exists(const char *name);
