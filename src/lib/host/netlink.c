#include "host/netlink.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "util/cleanup.h"
#include "util/error.h"

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

struct nlmsghdr *netlink_altname_request(char *buf, const char *ifname, const char *altname)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_NEWLINKPROP;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
        struct nlattr *props = mnl_attr_nest_start(nlh, IFLA_PROP_LIST);
        mnl_attr_put_strz(nlh, IFLA_ALT_IFNAME, altname);
        mnl_attr_nest_end(nlh, props);
        return nlh;
}

int netlink_add_altname(const char *ifname, const char *altname, struct mv_error **err)
{
        char buf[512] = { 0 };
        struct netlink_ack ack = { 0 };
        const char *stand_in = getenv("MICROVM_TEST_NO_ALTNAMES");
        int r = stand_in && strcmp(stand_in, "1") == 0
                        ? -EOPNOTSUPP
                        : netlink_request(netlink_altname_request(buf, ifname, altname), NULL, NULL,
                                          &ack);
        /* Before 5.5 the kernel has no RTM_NEWLINKPROP (EOPNOTSUPP) or no IFLA_PROP_LIST (EINVAL). */
        if (r == -EOPNOTSUPP || r == -EINVAL) {
                mv_error_set(err, -r,
                             "interface %s: cannot add alternative name %s: the kernel lacks "
                             "alternative interface names (Linux 5.5+), which ids longer than 15 "
                             "bytes need%s%s",
                             ifname, altname, ack.msg[0] ? "; it said: " : "", ack.msg);
                return mv_error_hint(err, "use an id of at most 15 bytes");
        }
        if (r < 0)
                mv_error_set(err, -r, "interface %s: add alternative name %s%s%s", ifname, altname,
                             ack.msg[0] ? ": " : "", ack.msg);
        /* Names and alternative names are one namespace: another interface has it. */
        if (r == -EEXIST)
                return mv_error_hint(err, "`ip link show %s` shows the interface that has it",
                                     altname);
        return r < 0 ? r : 0;
}
