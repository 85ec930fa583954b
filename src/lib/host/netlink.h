/*
 * rtnetlink requests over libmnl: one socket per request, and the kernel's
 * acknowledgement read back with its extended ack text (NETLINK_EXT_ACK),
 * so that a refusal says what the kernel objected to, not only an errno.
 */
#pragma once

#include <libmnl/libmnl.h>

/* The kernel's answer to a request. */
struct netlink_ack {
        int error;     /* a positive errno, 0 on success */
        char msg[256]; /* the extended ack message, "" when there is none */
};

/*
 * Read an NLMSG_ERROR message (the acknowledgement) into `ack`. A message
 * too short to hold one is EBADMSG.
 */
void netlink_parse_ack(const struct nlmsghdr *nlh, struct netlink_ack *ack);

/*
 * Send `req` on a new NETLINK_ROUTE socket with NLM_F_ACK added, hand each
 * reply that is not the acknowledgement to `cb` (may be NULL), and wait for
 * the acknowledgement. Returns 0, or a negative errno: the kernel's (its
 * text in `ack->msg`), or a local one (socket, send, receive).
 */
int netlink_request(struct nlmsghdr *req, mnl_cb_t cb, void *data, struct netlink_ack *ack);

struct mv_error;

/*
 * The RTM_NEWLINKPROP request that gives interface `ifname` the
 * alternative name `altname`, as `ip link property add dev IFNAME altname
 * ALTNAME` does, built in `buf` (at least 512 bytes).
 */
struct nlmsghdr *netlink_altname_request(char *buf, const char *ifname, const char *altname);

/*
 * Give interface `ifname` the alternative name `altname` (Linux 5.5+).
 * A kernel without alternative names is an error that says so, with the
 * hint to use an id of at most 15 bytes. MICROVM_TEST_NO_ALTNAMES=1 makes
 * it answer as such a kernel does, for tests: this one has them.
 */
int netlink_add_altname(const char *ifname, const char *altname, struct mv_error **err);
