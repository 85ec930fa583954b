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
