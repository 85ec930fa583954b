/*
 * Macvtaps: the pure parts (modes, MAC addresses, the request), then real
 * ones on a tap in a network namespace of the test's own, checked with
 * `ip -d link show`, /proc and /dev.
 */
#include "test-helpers.h"

#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "host/macvtap.h"
#include "host/netlink.h"
#include "host/tap.h"
#include "netns-helpers.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/spawn.h"
#include "util/xalloc.h"

static void modes_map_to_the_kernel_values(void **state)
{
        (void)state;
        assert_int_equal(macvtap_mode_from_string("private"), MACVLAN_MODE_PRIVATE);
        assert_int_equal(macvtap_mode_from_string("vepa"), MACVLAN_MODE_VEPA);
        assert_int_equal(macvtap_mode_from_string("bridge"), MACVLAN_MODE_BRIDGE);
        assert_int_equal(macvtap_mode_from_string("passthru"), MACVLAN_MODE_PASSTHRU);
        assert_int_equal(macvtap_mode_from_string("source"), MACVLAN_MODE_SOURCE);
        assert_int_equal(macvtap_mode_from_string("Bridge"), -1);
        assert_int_equal(macvtap_mode_from_string(""), -1);
}

static void mac_addresses_are_parsed_strictly(void **state)
{
        (void)state;
        uint8_t mac[6];
        const uint8_t want[6] = { 0x02, 0x00, 0xab, 0xCD, 0x0f, 0xf0 };
        assert_int_equal(mac_address_parse("02:00:ab:CD:0f:f0", mac), 0);
        assert_memory_equal(mac, want, 6);
        static const char *const bad[] = {
                "02:00:00:00:00",    "02:00:00:00:00:01:", "02-00-00-00-00-01", "0g:00:00:00:00:01",
                "2:00:00:00:00:001", " 02:00:00:00:00:1",  "02:00:00:00:00:0x", "",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (mac_address_parse(bad[i], mac) != -EINVAL)
                        fail_msg("\"%s\" was accepted", bad[i]);
}

struct seen {
        uint32_t link, mode;
        const char *name, *kind;
        const uint8_t *address;
};

static int info_data_attr(const struct nlattr *a, void *data)
{
        if (mnl_attr_get_type(a) == IFLA_MACVLAN_MODE)
                ((struct seen *)data)->mode = mnl_attr_get_u32(a);
        return MNL_CB_OK;
}

static int info_attr(const struct nlattr *a, void *data)
{
        struct seen *s = data;
        if (mnl_attr_get_type(a) == IFLA_INFO_KIND)
                s->kind = mnl_attr_get_str(a);
        else if (mnl_attr_get_type(a) == IFLA_INFO_DATA)
                assert_true(mnl_attr_parse_nested(a, info_data_attr, s) >= 0);
        return MNL_CB_OK;
}

static int top_attr(const struct nlattr *a, void *data)
{
        struct seen *s = data;
        switch (mnl_attr_get_type(a)) {
        case IFLA_LINK:
                s->link = mnl_attr_get_u32(a);
                break;
        case IFLA_IFNAME:
                s->name = mnl_attr_get_str(a);
                break;
        case IFLA_ADDRESS:
                assert_int_equal(mnl_attr_get_payload_len(a), 6);
                s->address = mnl_attr_get_payload(a);
                break;
        case IFLA_LINKINFO:
                assert_true(mnl_attr_parse_nested(a, info_attr, s) >= 0);
                break;
        }
        return MNL_CB_OK;
}

static void the_request_says_what_ip_link_add_says(void **state)
{
        (void)state;
        char buf[1024] = { 0 };
        const uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 };
        struct nlmsghdr *nlh = macvtap_newlink_request(buf, "vm-mv", 7, mac, MACVLAN_MODE_VEPA);
        assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
        assert_int_equal(nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), NLM_F_CREATE | NLM_F_EXCL);
        struct seen s = { 0 };
        assert_true(mnl_attr_parse(nlh, sizeof(struct ifinfomsg), top_attr, &s) >= 0);
        assert_int_equal(s.link, 7);
        assert_string_equal(s.name, "vm-mv");
        assert_non_null(s.address);
        assert_memory_equal(s.address, mac, 6);
        assert_string_equal(s.kind, "macvtap");
        assert_int_equal(s.mode, MACVLAN_MODE_VEPA);
}

/* A lower link: a tap is an Ethernet device, as a macvtap needs. */
static void make_lower(const char *name)
{
        struct tap_options o = { .owner = (uid_t)-1, .group = (gid_t)-1 };
        if (!link_exists(name))
                assert_int_equal(tap_create(name, &o, NULL), 0);
}

static char *ip_details(const char *name)
{
        char *argv[] = { "/usr/sbin/ip", "-d", "link", "show", (char *)name, NULL };
        char *out = NULL;
        int status;
        assert_int_equal(spawn_collect(argv, &status, &out, NULL), 0);
        return out;
}

static char *read_text(const char *path)
{
        char *text = NULL;
        if (read_file_full(path, &text, NULL, NULL) < 0)
                fail_msg("read %s", path);
        return text;
}

static void created_as_microvm_nix_makes_it(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        make_lower("lower0");
        struct macvtap_options o = { .name = "mvt0",
                                     .link = "lower0",
                                     .mac = "02:00:00:00:00:2a",
                                     .mode = "bridge",
                                     .owner = 65534,
                                     .group = 65534 };
        int index = -1;
        _cleanup_error_ struct mv_error *err = NULL;
        if (macvtap_create(&o, &index, &err) < 0)
                fail_msg("%s", err->msg);
        assert_int_equal(index, (int)if_nametoindex("mvt0"));

        _cleanup_free_ char *ip = ip_details("mvt0");
        assert_non_null(strstr(ip, "mvt0@lower0"));
        assert_non_null(strstr(ip, "link/ether 02:00:00:00:00:2a"));
        assert_non_null(strstr(ip, "macvtap mode bridge"));
        assert_non_null(strstr(ip, "ALLMULTI"));
        assert_non_null(strstr(ip, ",UP"));
        _cleanup_free_ char *v6 = read_text("/proc/sys/net/ipv6/conf/mvt0/disable_ipv6");
        assert_string_equal(v6, "1\n");

        /* /dev/tapN is this macvtap's device, owned as asked. */
        _cleanup_free_ char *dev = macvtap_device_path(index);
        _cleanup_free_ char *sys = xasprintf("/sys/class/net/mvt0/macvtap/tap%d/dev", index);
        _cleanup_free_ char *numbers = read_text(sys);
        struct stat st;
        assert_int_equal(stat(dev, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
        _cleanup_free_ char *have = xasprintf("%u:%u\n", major(st.st_rdev), minor(st.st_rdev));
        assert_string_equal(have, numbers);
        assert_int_equal(st.st_uid, 65534);
        assert_int_equal(st.st_gid, 65534);

        /* Taken: refused, and the one there is left alone. */
        assert_true(macvtap_create(&o, NULL, &err) < 0);
        assert_string_equal(err->msg, "interface mvt0 already exists");
        assert_non_null(err->hint);
        assert_true(link_exists("mvt0"));

        assert_int_equal(macvtap_delete("mvt0", &err), 0);
        assert_false(link_exists("mvt0"));
        assert_int_equal(access(dev, F_OK), -1);
        assert_int_equal(macvtap_delete("mvt0", &err), 0); /* absent is fine */
}

static void a_missing_lower_link_is_named(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        struct macvtap_options o = { .name = "mvt1",
                                     .link = "nolink0",
                                     .mac = "02:00:00:00:00:2b",
                                     .mode = "vepa",
                                     .owner = (uid_t)-1,
                                     .group = (gid_t)-1 };
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(macvtap_create(&o, NULL, &err) < 0);
        assert_string_equal(err->msg, "macvtap mvt1: its lower link nolink0 does not exist");
        assert_non_null(strstr(err->hint, "fix `link`"));
        assert_false(link_exists("mvt1"));
}

static void the_kernel_refusal_is_explained(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        make_lower("lower0");
        /* A multicast address: the kernel refuses it, the hint says what to use. */
        struct macvtap_options o = { .name = "mvt2",
                                     .link = "lower0",
                                     .mac = "03:00:00:00:00:2c",
                                     .mode = "private",
                                     .owner = (uid_t)-1,
                                     .group = (gid_t)-1 };
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(macvtap_create(&o, NULL, &err), -EADDRNOTAVAIL);
        assert_non_null(strstr(err->msg, "create macvtap mvt2 on lower0"));
        assert_non_null(strstr(err->hint, "unicast"));
        assert_false(link_exists("mvt2"));
}

static void only_macvtaps_are_deleted(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        make_lower("lower0");
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(macvtap_delete("lower0", &err) < 0);
        assert_non_null(strstr(err->msg, "interface lower0 is not a macvtap (tun)"));
        assert_true(link_exists("lower0"));
}

/* A /dev that is not devtmpfs: a tmpfs over it, where no node appears by itself. */
static void mount_static_dev(void)
{
        assert_int_equal(mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755"), 0);
}

static void without_devtmpfs_the_node_is_made_and_removed(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        make_lower("lower0");
        mount_static_dev();
        struct macvtap_options o = { .name = "mvt3",
                                     .link = "lower0",
                                     .mac = "02:00:00:00:00:2d",
                                     .mode = "passthru",
                                     .owner = (uid_t)-1,
                                     .group = (gid_t)-1 };
        int index = -1;
        _cleanup_error_ struct mv_error *err = NULL;
        int r = macvtap_create(&o, &index, &err);
        _cleanup_free_ char *dev = macvtap_device_path(index);
        struct stat st;
        bool made = r == 0 && stat(dev, &st) == 0 && S_ISCHR(st.st_mode);
        if (r == 0)
                assert_int_equal(macvtap_delete("mvt3", NULL), 0);
        bool removed = access(dev, F_OK) < 0 && errno == ENOENT;
        assert_int_equal(umount("/dev"), 0);
        if (r < 0)
                fail_msg("%s", err->msg);
        assert_true(made);
        assert_true(removed);
}

/*
 * /dev is shared by every network namespace, ifindexes are not: a /dev/tapN
 * of another device must never be handed out as this macvtap's.
 */
static void someone_elses_node_is_refused(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        make_lower("lower0");
        mount_static_dev();
        for (int n = 1; n < 256; n++) {
                _cleanup_free_ char *p = macvtap_device_path(n);
                assert_int_equal(mknod(p, S_IFCHR | 0600, makedev(1, 3)), 0);
        }
        struct macvtap_options o = { .name = "mvt4",
                                     .link = "lower0",
                                     .mac = "02:00:00:00:00:2e",
                                     .mode = "bridge",
                                     .owner = (uid_t)-1,
                                     .group = (gid_t)-1 };
        _cleanup_error_ struct mv_error *err = NULL;
        int r = macvtap_create(&o, NULL, &err);
        bool left = link_exists("mvt4");
        assert_int_equal(umount("/dev"), 0);
        assert_true(r < 0);
        assert_non_null(strstr(err->msg, "is not the device of macvtap mvt4"));
        assert_non_null(err->hint);
        assert_false(left);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(modes_map_to_the_kernel_values),
                cmocka_unit_test(mac_addresses_are_parsed_strictly),
                cmocka_unit_test(the_request_says_what_ip_link_add_says),
                cmocka_unit_test(created_as_microvm_nix_makes_it),
                cmocka_unit_test(a_missing_lower_link_is_named),
                cmocka_unit_test(the_kernel_refusal_is_explained),
                cmocka_unit_test(only_macvtaps_are_deleted),
                cmocka_unit_test(without_devtmpfs_the_node_is_made_and_removed),
                cmocka_unit_test(someone_elses_node_is_refused),
        };
        return cmocka_run_group_tests(tests, enter_netns, NULL);
}
