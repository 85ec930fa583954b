#include "host/netlink.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "util/cleanup.h"

static int ext_ack_attr(const struct nlattr *attr, void *data)
{
        struct netlink_ack *ack = data;
        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
            mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
                snprintf(ack->msg, sizeof(ack->msg), "%s", mnl_attr_get_str(attr));
        return MNL_CB_OK;
}

void netlink_parse_ack(const struct nlmsghdr *nlh, struct netlink_ack *ack)
{
        *ack = (struct netlink_ack){ 0 };
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr))) {
                ack->error = EBADMSG;
                return;
        }
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        ack->error = e->error < 0 ? -e->error : e->error;
        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        /* The attributes follow the request, unless the kernel capped it to its header. */
        size_t offset = sizeof(*e);
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
                if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
                        return;
                offset += MNL_ALIGN(e->msg.nlmsg_len - sizeof(struct nlmsghdr));
        }
        if (offset >= mnl_nlmsg_get_payload_len(nlh))
                return;
        (void)mnl_attr_parse(nlh, (unsigned)offset, ext_ack_attr, ack);
}

/* The caller's callback and the acknowledgement, both reached through mnl_cb_run2's data. */
struct exchange {
        mnl_cb_t cb;
        void *data;
        struct netlink_ack *ack;
        bool acked;
};

static int on_reply(const struct nlmsghdr *nlh, void *data)
{
        struct exchange *x = data;
        return x->cb ? x->cb(nlh, x->data) : MNL_CB_OK;
}

static int on_ack(const struct nlmsghdr *nlh, void *data)
{
        struct exchange *x = data;
        netlink_parse_ack(nlh, x->ack);
        x->acked = true;
        return x->ack->error ? MNL_CB_ERROR : MNL_CB_STOP;
}

static void mnl_socket_closep(struct mnl_socket **nl)
{
        if (*nl)
                mnl_socket_close(*nl);
}

int netlink_request(struct nlmsghdr *req, mnl_cb_t cb, void *data, struct netlink_ack *ack)
{
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl =
                mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        struct exchange x = { .cb = cb, .data = data, .ack = ack };
        char buf[8192];
        int one = 1;

        *ack = (struct netlink_ack){ 0 };
        if (!nl)
                return -errno;
        /* Best effort: a kernel without them answers with the errno alone. */
        (void)mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;

        uint32_t portid = mnl_socket_get_portid(nl);
        req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        req->nlmsg_seq = (uint32_t)time(NULL);
        if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0)
                return -errno;

        mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = on_ack };
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
                if (n < 0)
                        return -errno;
                errno = 0;
                int r = mnl_cb_run2(buf, (size_t)n, req->nlmsg_seq, portid, on_reply, &x, ctl,
                                    NLMSG_MIN_TYPE);
                if (x.acked)
                        return -ack->error;
                if (r < 0)
                        return errno ? -errno : -EPROTO;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}
