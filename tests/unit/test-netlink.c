/* Acknowledgements as the kernel sends them, and real requests in a namespace of the test's own. */
#include "test-helpers.h"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "host/netlink.h"
#include "netns-helpers.h"

/* An NLMSG_ERROR for a request of `req_len` bytes; the caller adds what follows. */
static struct nlmsghdr *ack_header(char *buf, int error, uint16_t flags, uint32_t req_len)
{
        memset(buf, 0, 1024);
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = NLMSG_ERROR;
        nlh->nlmsg_flags = flags;
        struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
        e->error = error;
        e->msg.nlmsg_len = req_len;
        e->msg.nlmsg_type = RTM_NEWLINK;
        return nlh;
}

static void plain_ack(void **state)
{
        (void)state;
        char buf[1024];
        struct netlink_ack ack;
        netlink_parse_ack(ack_header(buf, 0, 0, 16), &ack);
        assert_int_equal(ack.error, 0);
        assert_string_equal(ack.msg, "");
        netlink_parse_ack(ack_header(buf, -ENODEV, 0, 16), &ack);
        assert_int_equal(ack.error, ENODEV);
        assert_string_equal(ack.msg, "");
}

static void capped_ack_with_message(void **state)
{
        (void)state;
        char buf[1024];
        struct netlink_ack ack;
        struct nlmsghdr *nlh = ack_header(buf, -EOPNOTSUPP, NLM_F_CAPPED | NLM_F_ACK_TLVS, 16 + 40);
        mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, 20);
        mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "Unknown device type");
        netlink_parse_ack(nlh, &ack);
        assert_int_equal(ack.error, EOPNOTSUPP);
        assert_string_equal(ack.msg, "Unknown device type");
}

/* Without NETLINK_CAP_ACK the request comes back whole, and the text follows it. */
static void uncapped_ack_skips_the_request(void **state)
{
        (void)state;
        char buf[1024];
        struct netlink_ack ack;
        struct nlmsghdr *nlh = ack_header(buf, -EINVAL, NLM_F_ACK_TLVS, 16 + 22);
        char *echo = mnl_nlmsg_put_extra_header(nlh, MNL_ALIGN(22));
        /* The echoed request looks like an attribute: it must not be read as one. */
        struct nlattr *fake = (struct nlattr *)echo;
        fake->nla_len = 12;
        fake->nla_type = NLMSGERR_ATTR_MSG;
        memcpy(echo + 4, "wrong!!", 8);
        mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "right");
        netlink_parse_ack(nlh, &ack);
        assert_int_equal(ack.error, EINVAL);
        assert_string_equal(ack.msg, "right");
}

static void truncated_ack_is_bad(void **state)
{
        (void)state;
        char buf[1024];
        struct netlink_ack ack;
        struct nlmsghdr *nlh = ack_header(buf, -EINVAL, 0, 16);
        nlh->nlmsg_len = sizeof(*nlh) + 2;
        netlink_parse_ack(nlh, &ack);
        assert_int_equal(ack.error, EBADMSG);
}

static int count_links(const struct nlmsghdr *nlh, void *data)
{
        if (nlh->nlmsg_type == RTM_NEWLINK)
                ++*(int *)data;
        return MNL_CB_OK;
}

static struct nlmsghdr *link_request(char *buf, uint16_t type, const char *name)
{
        memset(buf, 0, 1024);
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        return nlh;
}

static void kernel_replies_and_refusals(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        char buf[1024];
        struct netlink_ack ack;
        int links = 0;
        assert_int_equal(
                netlink_request(link_request(buf, RTM_GETLINK, "lo"), count_links, &links, &ack),
                0);
        assert_int_equal(links, 1);
        assert_int_equal(
                netlink_request(link_request(buf, RTM_GETLINK, "absent0"), NULL, NULL, &ack),
                -ENODEV);

        /* A kind the kernel does not know: refused with the kernel's own words. */
        struct nlmsghdr *nlh = link_request(buf, RTM_NEWLINK, "weird0");
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "no-such-kind");
        mnl_attr_nest_end(nlh, info);
        assert_int_equal(netlink_request(nlh, NULL, NULL, &ack), -EOPNOTSUPP);
        assert_int_equal(ack.error, EOPNOTSUPP);
        assert_string_equal(ack.msg, "Unknown device type");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(plain_ack),
                cmocka_unit_test(capped_ack_with_message),
                cmocka_unit_test(uncapped_ack_skips_the_request),
                cmocka_unit_test(truncated_ack_is_bad),
                cmocka_unit_test(kernel_replies_and_refusals),
        };
        return cmocka_run_group_tests(tests, enter_netns, NULL);
}
