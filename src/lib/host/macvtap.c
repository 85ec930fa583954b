#include "host/macvtap.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "host/netlink.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static const struct {
        const char *name;
        uint32_t mode;
} modes[] = {
        { "private", MACVLAN_MODE_PRIVATE }, { "vepa", MACVLAN_MODE_VEPA },
        { "bridge", MACVLAN_MODE_BRIDGE },   { "passthru", MACVLAN_MODE_PASSTHRU },
        { "source", MACVLAN_MODE_SOURCE },
};

int macvtap_mode_from_string(const char *mode)
{
        for (size_t i = 0; i < ELEMENTSOF(modes); i++)
                if (strcmp(modes[i].name, mode) == 0)
                        return (int)modes[i].mode;
        return -1;
}

static int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char)tolower((unsigned char)c);
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int mac_address_parse(const char *text, uint8_t mac[6])
{
        if (strlen(text) != 17)
                return -EINVAL;
        for (int i = 0; i < 6; i++) {
                const char *p = text + 3 * i;
                int hi = hex_digit(p[0]), lo = hex_digit(p[1]);
                if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':'))
                        return -EINVAL;
                mac[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}

char *macvtap_device_path(int ifindex)
{
        return xasprintf("/dev/tap%d", ifindex);
}

struct nlmsghdr *macvtap_newlink_request(char *buf, const char *name, uint32_t link_index,
                                         const uint8_t mac[6], uint32_t mode)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_NEWLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_u32(nlh, IFLA_LINK, link_index);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
        struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "macvtap");
        struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, mode);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, info);
        return nlh;
}

/* An RTM_*LINK request for one interface, by index or (index 0) by name. */
static struct nlmsghdr *link_request(char *buf, uint16_t type, int index, const char *name)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = index;
        if (!index)
                mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        return nlh;
}

struct link_info {
        int index;
        char kind[32]; /* IFLA_INFO_KIND, "" for a link without one (a plain device) */
};

static int linkinfo_attr(const struct nlattr *attr, void *data)
{
        struct link_info *li = data;
        if (mnl_attr_get_type(attr) == IFLA_INFO_KIND &&
            mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
                snprintf(li->kind, sizeof(li->kind), "%s", mnl_attr_get_str(attr));
        return MNL_CB_OK;
}

static int link_attr(const struct nlattr *attr, void *data)
{
        if (mnl_attr_get_type(attr) == IFLA_LINKINFO &&
            mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0)
                (void)mnl_attr_parse_nested(attr, linkinfo_attr, data);
        return MNL_CB_OK;
}

static int on_link(const struct nlmsghdr *nlh, void *data)
{
        struct link_info *li = data;
        if (nlh->nlmsg_type != RTM_NEWLINK ||
            mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
                return MNL_CB_OK;
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        li->index = ifi->ifi_index;
        return mnl_attr_parse(nlh, sizeof(*ifi), link_attr, li) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

/* The index and kind of interface `name`; -ENODEV when there is none. */
static int link_query(const char *name, struct link_info *li, struct netlink_ack *ack)
{
        char buf[1024] = { 0 };
        *li = (struct link_info){ 0 };
        return netlink_request(link_request(buf, RTM_GETLINK, 0, name), on_link, li, ack);
}

/* Append ": TEXT" of the kernel's extended ack, if it said anything. */
static const char *ack_sep(const struct netlink_ack *ack)
{
        return ack->msg[0] ? ": " : "";
}

/* IPv6 off before the link is up: no link-local address, no router solicitations. */
static int disable_ipv6(const char *name, struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return 0; /* a kernel without IPv6 */
        if (fd < 0 || write(fd, "1\n", 2) != 2)
                return mv_error_set(err, errno, "disable IPv6 on %s (%s)", name, path);
        return 0;
}

static int set_up_allmulti(const char *name, int index, struct mv_error **err)
{
        char buf[1024] = { 0 };
        struct netlink_ack ack;
        struct nlmsghdr *nlh = link_request(buf, RTM_NEWLINK, index, NULL);
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        ifi->ifi_flags = ifi->ifi_change = IFF_UP | IFF_ALLMULTI;
        int r = netlink_request(nlh, NULL, NULL, &ack);
        if (r < 0)
                return mv_error_set(err, -r, "set macvtap %s up with allmulticast%s%s", name,
                                    ack_sep(&ack), ack.msg);
        return 0;
}

/* The device number of the macvtap's character device, from sysfs. */
static int tap_devt(const char *name, int index, dev_t *devt, struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("/sys/class/net/%s/macvtap/tap%d/dev", name, index);
        _cleanup_free_ char *text = NULL;
        unsigned maj, min;
        int r = read_file_full(path, &text, NULL, err);
        if (r < 0)
                return r;
        if (sscanf(text, "%u:%u", &maj, &min) != 2)
                return mv_error_fail(err, "%s: not a device number: %s", path, text);
        *devt = makedev(maj, min);
        return 0;
}

/*
 * devtmpfs makes /dev/tapN; with a static /dev it is made here. /dev is
 * shared by all network namespaces, ifindexes are not: a node of the same
 * name may belong to another namespace's macvtap, which the VM must not get.
 */
static int tap_node(const struct macvtap_options *o, int index, struct mv_error **err)
{
        _cleanup_free_ char *path = macvtap_device_path(index);
        struct stat st;
        dev_t devt;
        int r = tap_devt(o->name, index, &devt, err);
        if (r < 0)
                return r;
        if (stat(path, &st) < 0) {
                if (errno != ENOENT)
                        return mv_error_set(err, errno, "stat %s", path);
                if (mknod(path, S_IFCHR | 0600, devt) < 0)
                        return mv_error_set(err, errno, "create %s for macvtap %s", path, o->name);
        } else if (!S_ISCHR(st.st_mode) || st.st_rdev != devt) {
                mv_error_fail(err, "%s is not the device of macvtap %s (%u:%u, not %u:%u)", path,
                              o->name, major(st.st_rdev), minor(st.st_rdev), major(devt),
                              minor(devt));
                return mv_error_hint(err, "a macvtap with the same ifindex in another network "
                                          "namespace holds it; remove that one or start this VM in "
                                          "another namespace");
        }
        /* chown's -1 leaves that id as it is. */
        if ((o->owner != (uid_t)-1 || o->group != (gid_t)-1) && chown(path, o->owner, o->group) < 0)
                return mv_error_set(err, errno, "chown %s", path);
        return 0;
}

static int create_hint(int error, const struct macvtap_options *o, struct mv_error **err)
{
        switch (error) {
        case EEXIST:
                return mv_error_hint(err,
                                     "another VM or program uses it; remove it (ip link delete "
                                     "%s) or pick another interface id",
                                     o->name);
        case ENODEV:
                return mv_error_hint(err,
                                     "create %s or fix `link` (microvm.interfaces.*.macvtap.link)",
                                     o->link);
        case EOPNOTSUPP:
                return mv_error_hint(err, "the kernel has no macvtap: load the module (modprobe "
                                          "macvtap) or build it in (CONFIG_MACVTAP)");
        case EPERM:
                return mv_error_hint(err, "creating interfaces needs root (CAP_NET_ADMIN)");
        case EINVAL:
                return mv_error_hint(err,
                                     "%s must be an Ethernet link; a macvtap in passthru mode "
                                     "needs it to itself, and none can join one that has a "
                                     "passthru macvtap (see ip -d link show)",
                                     o->link);
        case EADDRNOTAVAIL:
                return mv_error_hint(err, "use a unicast MAC address: the first byte even, like "
                                          "02:00:00:00:00:01");
        default:
                return -error;
        }
}

int macvtap_create(const struct macvtap_options *o, int *ifindex, struct mv_error **err)
{
        uint8_t mac[6];
        int mode = macvtap_mode_from_string(o->mode);
        if (mode < 0)
                return mv_error_config(err, "macvtap %s: unknown mode \"%s\"", o->name, o->mode);
        if (mac_address_parse(o->mac, mac) < 0)
                return mv_error_config(err, "macvtap %s: \"%s\" is not a MAC address", o->name,
                                       o->mac);
        if (strlen(o->name) >= IFNAMSIZ)
                return mv_error_config(err, "interface name %s is longer than %d bytes", o->name,
                                       IFNAMSIZ - 1);
        unsigned link = if_nametoindex(o->link);
        if (!link) {
                mv_error_fail(err, "macvtap %s: its lower link %s does not exist", o->name,
                              o->link);
                return create_hint(ENODEV, o, err);
        }

        char buf[1024] = { 0 };
        struct netlink_ack ack;
        int r = netlink_request(macvtap_newlink_request(buf, o->name, link, mac, (uint32_t)mode),
                                NULL, NULL, &ack);
        if (r == -EEXIST) {
                mv_error_fail(err, "interface %s already exists", o->name);
                return create_hint(EEXIST, o, err);
        }
        if (r < 0) {
                mv_error_set(err, -r, "create macvtap %s on %s%s%s", o->name, o->link,
                             ack_sep(&ack), ack.msg);
                return create_hint(-r, o, err);
        }

        /* Made: from here a failure removes it again. */
        int index = (int)if_nametoindex(o->name);
        if (!index)
                r = mv_error_set(err, errno, "macvtap %s vanished after its creation", o->name);
        if (r >= 0)
                r = disable_ipv6(o->name, err);
        if (r >= 0)
                r = set_up_allmulti(o->name, index, err);
        if (r >= 0)
                r = tap_node(o, index, err);
        if (r < 0) {
                (void)macvtap_delete(o->name, NULL);
                return r;
        }
        if (ifindex)
                *ifindex = index;
        return 0;
}

/* A /dev/tapN that outlived its macvtap was made by tap_node(), not devtmpfs. */
static void remove_stale_node(int index, dev_t devt)
{
        _cleanup_free_ char *path = macvtap_device_path(index);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == devt)
                (void)unlink(path);
}

int macvtap_delete(const char *name, struct mv_error **err)
{
        struct link_info li;
        struct netlink_ack ack;
        int r = link_query(name, &li, &ack);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return mv_error_set(err, -r, "remove macvtap %s: look it up%s%s", name,
                                    ack_sep(&ack), ack.msg);
        if (strcmp(li.kind, "macvtap") != 0) {
                mv_error_fail(err, "interface %s is not a macvtap (%s): left alone", name,
                              li.kind[0] ? li.kind : "a device without a kind");
                return mv_error_hint(err,
                                     "it is someone else's; remove it yourself if it is "
                                     "stale (ip link delete %s)",
                                     name);
        }
        dev_t devt;
        bool have_devt = tap_devt(name, li.index, &devt, NULL) >= 0;

        char buf[1024] = { 0 };
        r = netlink_request(link_request(buf, RTM_DELLINK, li.index, NULL), NULL, NULL, &ack);
        if (r < 0 && r != -ENODEV)
                return mv_error_set(err, -r, "remove macvtap %s%s%s", name, ack_sep(&ack), ack.msg);
        if (have_devt)
                remove_stale_node(li.index, devt);
        return 0;
}
