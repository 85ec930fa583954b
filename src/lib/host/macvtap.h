/*
 * Macvtap interfaces over rtnetlink, as microvm.nix's
 * microvm-macvtap-interfaces@ unit makes them with `ip link`: on a lower
 * link, with the guest's MAC address and a macvlan mode, allmulticast on,
 * IPv6 off, up, and its character device /dev/tapN (N the ifindex) owned
 * by the user the hypervisor runs as.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct mv_error;
struct nlmsghdr;

struct macvtap_options {
        const char *name; /* the interface to create */
        const char *link; /* the lower link it sits on */
        const char *mac;  /* "02:00:00:00:00:01" */
        const char *mode; /* private, vepa, bridge, passthru or source */
        uid_t owner;      /* of /dev/tapN; (uid_t)-1: leave it */
        gid_t group;      /* (gid_t)-1: leave it */
};

/* MACVLAN_MODE_* for a mode's name, or -1. */
int macvtap_mode_from_string(const char *mode);

/* Six colon-separated pairs of hex digits, nothing else. 0, or -EINVAL. */
int mac_address_parse(const char *text, uint8_t mac[6]);

/*
 * The RTM_NEWLINK request that creates macvtap `name` on the link with
 * index `link_index`, built in `buf` (at least 1024 bytes).
 */
struct nlmsghdr *macvtap_newlink_request(char *buf, const char *name, uint32_t link_index,
                                         const uint8_t mac[6], uint32_t mode);

/*
 * Create the macvtap and set it up. An existing interface of that name is
 * an error. On failure nothing is left behind. `*ifindex` (may be NULL)
 * gets the new interface's index.
 */
int macvtap_create(const struct macvtap_options *o, int *ifindex, struct mv_error **err);

/*
 * Remove macvtap `name` and a /dev/tapN node that devtmpfs did not remove.
 * An absent interface is not an error; one that is not a macvtap is left
 * alone and is an error.
 */
int macvtap_delete(const char *name, struct mv_error **err);

/* "/dev/tapN", the macvtap's character device (malloc'd). */
char *macvtap_device_path(int ifindex);
