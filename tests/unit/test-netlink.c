/* Acknowledgements as the kernel sends them, and real requests in a namespace of the test's own. */
#include "test-helpers.h"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "host/netlink.h"
#include "netns-helpers.h"
#include "util/error.h"

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

/* The attributes of an RTM_NEWLINKPROP request, as the kernel reads them. */
struct altname_attrs {
        const char *ifname, *altname;
        int n_props;
};

static int on_prop(const struct nlattr *attr, void *data)
{
        struct altname_attrs *a = data;
        a->n_props++;
        if (mnl_attr_get_type(attr) == IFLA_ALT_IFNAME &&
            mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
                a->altname = mnl_attr_get_str(attr);
        return MNL_CB_OK;
}

static int on_link_attr(const struct nlattr *attr, void *data)
{
        struct altname_attrs *a = data;
        if (mnl_attr_get_type(attr) == IFLA_IFNAME)
                a->ifname = mnl_attr_get_str(attr);
        if (mnl_attr_get_type(attr) == IFLA_PROP_LIST)
                (void)mnl_attr_parse_nested(attr, on_prop, a);
        return MNL_CB_OK;
}

static void altname_request_names_the_link_and_its_new_name(void **state)
{
        (void)state;
        char buf[512] = { 0 };
        struct nlmsghdr *nlh =
                netlink_altname_request(buf, "vm-web-f-b696e6", "vm-web-frontend-eth0");
        assert_int_equal(nlh->nlmsg_type, RTM_NEWLINKPROP);
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        assert_int_equal(ifi->ifi_index, 0);
        struct altname_attrs a = { 0 };
        assert_int_equal(mnl_attr_parse(nlh, sizeof(*ifi), on_link_attr, &a), MNL_CB_OK);
        assert_string_equal(a.ifname, "vm-web-f-b696e6");
        assert_string_equal(a.altname, "vm-web-frontend-eth0");
        assert_int_equal(a.n_props, 1);
}

/* The kernel takes the alternative name, and finds the link by it. */
static void altname_added_and_found(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        const char *alt = "the-loopback-of-this-namespace";
        _cleanup_error_ struct mv_error *err = NULL;
        if (netlink_add_altname("lo", alt, &err) < 0)
                fail_msg("%s", err->msg);
        char buf[1024];
        struct nlmsghdr *nlh = link_request(buf, RTM_GETLINK, "");
        nlh->nlmsg_len = mnl_nlmsg_size(sizeof(struct ifinfomsg));
        mnl_attr_put_strz(nlh, IFLA_ALT_IFNAME, alt);
        struct netlink_ack ack;
        int links = 0;
        assert_int_equal(netlink_request(nlh, count_links, &links, &ack), 0);
        assert_int_equal(links, 1);

        /* Names are unique: a second time is the kernel's refusal, not the "no altnames" one. */
        assert_true(netlink_add_altname("lo", alt, &err) < 0);
        assert_null(strstr(err->msg, "lacks"));
        assert_non_null(strstr(err->msg, "add alternative name"));
        assert_string_equal(err->hint,
                            "`ip link show the-loopback-of-this-namespace` shows the interface "
                            "that has it");
}

/* This kernel has alternative names: one without them is played by MICROVM_TEST_NO_ALTNAMES. */
static void stand_in_kernel_without_altnames(void **state)
{
        (void)state;
        _cleanup_error_ struct mv_error *err = NULL;
        setenv("MICROVM_TEST_NO_ALTNAMES", "1", 1);
        int r = netlink_add_altname("lo", "the-loopback-of-this-namespace", &err);
        unsetenv("MICROVM_TEST_NO_ALTNAMES");
        assert_int_equal(r, -EOPNOTSUPP);
        assert_non_null(strstr(err->msg, "the kernel lacks alternative interface names (Linux "
                                         "5.5+)"));
        assert_string_equal(err->hint, "use an id of at most 15 bytes");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(plain_ack),
                cmocka_unit_test(capped_ack_with_message),
                cmocka_unit_test(uncapped_ack_skips_the_request),
                cmocka_unit_test(truncated_ack_is_bad),
                cmocka_unit_test(kernel_replies_and_refusals),
                cmocka_unit_test(altname_request_names_the_link_and_its_new_name),
                cmocka_unit_test(altname_added_and_found),
                cmocka_unit_test(stand_in_kernel_without_altnames),
        };
        return cmocka_run_group_tests(tests, enter_netns, NULL);
}
