/* A plan's interfaces made, handed out as descriptors and removed, in a namespace of the test's own. */
#include "test-helpers.h"

#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "config/ifname.h"
#include "host/macvtap.h"
#include "host/netlink.h"
#include "host/tap.h"
#include "netns-helpers.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "vm/interfaces.h"
#include "vm/plan.h"

static struct plan_interface tap(const char *id)
{
        return (struct plan_interface){ .id = (char *)id,
                                        .ifname = (char *)id,
                                        .create = true,
                                        .mac = "02:00:00:00:01:01",
                                        .owner = "nobody",
                                        .tap_script = "ip link set \"$id\" up\n" };
}

static struct plan_interface macvtap(const char *id, const char *link)
{
        return (struct plan_interface){ .id = (char *)id,
                                        .ifname = (char *)id,
                                        .macvtap = true,
                                        .create = true,
                                        .mac = "02:00:00:00:01:02",
                                        .owner = "nobody",
                                        .link = (char *)link,
                                        .mode = "bridge" };
}

static struct vm_plan plan_of(struct plan_interface *ifs, size_t n)
{
        return (struct vm_plan){ .interfaces = ifs, .n_interfaces = n };
}

static void make_lower(void)
{
        struct tap_options o = { .owner = (uid_t)-1, .group = (gid_t)-1 };
        if (!link_exists("lower0"))
                assert_int_equal(tap_create("lower0", &o, NULL), 0);
}

static void created_passed_and_removed(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        make_lower();
        int fds[] = { 3, 4 };
        struct plan_interface list[] = { tap("tp0"), macvtap("mv0", "lower0") };
        list[1].fds = fds;
        list[1].n_fds = 2;
        struct vm_plan plan = plan_of(list, 2);
        struct vm_interfaces ifs = { 0 };
        _cleanup_error_ struct mv_error *err = NULL;
        if (vm_interfaces_create(&plan, INTERFACES_ALL, &ifs, NULL, &err) < 0 ||
            vm_interfaces_open_fds(&plan, &ifs, &err) < 0)
                fail_msg("%s", err->msg);
        assert_true(link_exists("tp0") && link_exists("mv0"));

        /* Two queues of the macvtap, on what become descriptors 3 and 4. */
        assert_int_equal(ifs.n_fds, 2);
        _cleanup_free_ char *dev = macvtap_device_path((int)if_nametoindex("mv0"));
        struct stat want, got;
        assert_int_equal(stat(dev, &want), 0);
        for (size_t i = 0; i < 2; i++) {
                assert_int_equal(fstat(ifs.fds[i], &got), 0);
                assert_true(got.st_rdev == want.st_rdev);
        }

        vm_interfaces_remove(&ifs);
        assert_false(link_exists("tp0") || link_exists("mv0"));
        assert_int_equal(access(dev, F_OK), -1);
}

/* The name of the tap a /dev/net/tun descriptor is attached to, and whether it is multi-queue. */
static void assert_tap_queue(int fd, const char *name, bool multi_queue)
{
        struct ifreq ifr = { 0 };
        assert_int_equal(ioctl(fd, TUNGETIFF, &ifr), 0);
        assert_string_equal(ifr.ifr_name, name);
        assert_int_equal(!!(ifr.ifr_flags & IFF_MULTI_QUEUE), multi_queue);
}

/* Where the hypervisor cannot open /dev/net/tun, root opens the taps' queues too, in its numbering. */
static void taps_passed_as_descriptors(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        make_lower();
        int tap_fd[] = { 3 }, macvtap_fds[] = { 4, 5 }, mq_fds[] = { 6, 7 };
        struct plan_interface list[] = { tap("tp4"), macvtap("mv4", "lower0"), tap("tp5") };
        list[0].fds = tap_fd;
        list[0].n_fds = 1;
        list[1].fds = macvtap_fds;
        list[1].n_fds = 2;
        list[2].multi_queue = true;
        list[2].fds = mq_fds;
        list[2].n_fds = 2;
        struct vm_plan plan = plan_of(list, 3);
        struct vm_interfaces ifs = { 0 };
        _cleanup_error_ struct mv_error *err = NULL;
        if (vm_interfaces_create(&plan, INTERFACES_ALL, &ifs, NULL, &err) < 0 ||
            vm_interfaces_open_fds(&plan, &ifs, &err) < 0)
                fail_msg("%s", err->msg);

        assert_int_equal(ifs.n_fds, 5);
        assert_tap_queue(ifs.fds[0], "tp4", false);
        _cleanup_free_ char *dev = macvtap_device_path((int)if_nametoindex("mv4"));
        struct stat want, got;
        assert_int_equal(stat(dev, &want), 0);
        assert_int_equal(fstat(ifs.fds[1], &got), 0);
        assert_true(got.st_rdev == want.st_rdev);
        assert_tap_queue(ifs.fds[3], "tp5", true);
        assert_tap_queue(ifs.fds[4], "tp5", true);
        assert_true(ifs.fds[3] != ifs.fds[4]);

        /* The teardown closes the queues and removes every interface. */
        vm_interfaces_remove(&ifs);
        assert_false(link_exists("tp4") || link_exists("mv4") || link_exists("tp5"));
}

/* A tap that is not there has no queue to open: the error names it. */
static void a_tap_queue_needs_the_tap(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        int fds[] = { 3 };
        struct plan_interface list[] = { tap("tp6") };
        list[0].fds = fds;
        list[0].n_fds = 1;
        struct vm_plan plan = plan_of(list, 1);
        struct vm_interfaces ifs = { 0 };
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(vm_interfaces_open_fds(&plan, &ifs, &err) < 0);
        assert_string_equal(err->msg, "tap tp6 does not exist");
        vm_interfaces_remove(&ifs);
        assert_false(link_exists("tp6"));
}

/* What was made before a failure is still recorded, so the teardown removes it. */
static void a_failure_leaves_what_was_made_to_remove(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        struct plan_interface list[] = { tap("tp1"), macvtap("mv1", "nolink0") };
        struct vm_plan plan = plan_of(list, 2);
        struct vm_interfaces ifs = { 0 };
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(vm_interfaces_create(&plan, INTERFACES_ALL, &ifs, NULL, &err) < 0);
        assert_non_null(strstr(err->msg, "lower link nolink0 does not exist"));
        assert_int_equal(ifs.n_created, 1);
        assert_true(link_exists("tp1"));
        vm_interfaces_remove(&ifs);
        assert_false(link_exists("tp1") || link_exists("mv1"));
}

static void interfaces_made_elsewhere_must_exist(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        make_lower();
        struct plan_interface list[] = { macvtap("mv2", "lower0") };
        list[0].create = false;
        struct vm_plan plan = plan_of(list, 1);
        plan.helpers_off = HELPER_BIT(HELPER_MACVTAPS);
        struct vm_interfaces ifs = { 0 };
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(vm_interfaces_create(&plan, INTERFACES_ALL, &ifs, NULL, &err) < 0);
        assert_string_equal(err->msg, "interface mv2 does not exist, and microvm does not "
                                      "create it: microvm-macvtap-interfaces@ is switched off "
                                      "in host.nix");
        mv_error_free(&err);

        /* There: used, and left where it was at the end. */
        struct macvtap_options o = { .name = "mv2",
                                     .link = "lower0",
                                     .mac = "02:00:00:00:01:03",
                                     .mode = "vepa",
                                     .owner = (uid_t)-1,
                                     .group = (gid_t)-1 };
        assert_int_equal(macvtap_create(&o, NULL, NULL), 0);
        assert_int_equal(vm_interfaces_create(&plan, INTERFACES_ALL, &ifs, NULL, &err), 0);
        assert_int_equal(ifs.n_created, 0);
        vm_interfaces_remove(&ifs);
        assert_true(link_exists("mv2"));
        assert_int_equal(macvtap_delete("mv2", NULL), 0);
}

static void put(const char *dir, const char *name, const char *text)
{
        _cleanup_free_ char *share = xasprintf("%s/share/microvm", dir);
        _cleanup_free_ char *path = xasprintf("%s/%s", share, name);
        assert_int_equal(mkdir_p(share, 0755, NULL), 0);
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644, NULL), 0);
}

/* After a crash: the runner's lists say what to remove, in microvm.nix's line format. */
static void the_runners_lists_are_removed(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        make_lower();
        char *dir = scratch_dir_new();
        put(dir, "macvtap-interfaces", "mv3 02:00:00:00:01:04 lower0 bridge\nlower0 x y z\n");
        put(dir, "tap-interfaces", "tp3\n");
        put(dir, "tap-flags", "vnet_hdr\n");
        struct macvtap_options o = { .name = "mv3",
                                     .link = "lower0",
                                     .mac = "02:00:00:00:01:04",
                                     .mode = "bridge",
                                     .owner = (uid_t)-1,
                                     .group = (gid_t)-1 };
        struct tap_options t = { .owner = (uid_t)-1, .group = (gid_t)-1 };
        assert_int_equal(macvtap_create(&o, NULL, NULL), 0);
        assert_int_equal(tap_create("tp3", &t, NULL), 0);

        vm_interfaces_remove_listed(dir, INTERFACES_ALL);
        assert_false(link_exists("mv3") || link_exists("tp3"));
        assert_true(link_exists("lower0")); /* listed as a macvtap, but not one: left alone */
        scratch_dir_remove(dir);
}

static int on_link(const struct nlmsghdr *nlh, void *data)
{
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        if (nlh->nlmsg_type == RTM_NEWLINK)
                *(int *)data = ifi->ifi_index;
        return MNL_CB_OK;
}

/* The index of the link with alternative name `altname`, as the kernel looks it up; 0: none. */
static int altname_index(const char *altname)
{
        char buf[1024] = { 0 };
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETLINK;
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_ALT_IFNAME, altname);
        struct netlink_ack ack;
        int index = 0;
        return netlink_request(nlh, on_link, &index, &ack) < 0 ? 0 : index;
}

/* Long ids: made under their kernel names, which get the id as alternative name. */
static void long_ids_become_alternative_names(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        make_lower();
        const char *tap_id = "a-tap-with-an-id-of-30-bytes-x", *mv_id = "a-macvtap-with-a-long-id";
        ifname_buf tap_name, mv_name;
        struct plan_interface list[] = { tap(tap_id), macvtap(mv_id, "lower0") };
        list[0].ifname = (char *)interface_kernel_name(tap_id, tap_name);
        list[1].ifname = (char *)interface_kernel_name(mv_id, mv_name);
        struct vm_plan plan = plan_of(list, 2);
        struct vm_interfaces ifs = { 0 };
        _cleanup_error_ struct mv_error *err = NULL;
        if (vm_interfaces_create(&plan, INTERFACES_ALL, &ifs, NULL, &err) < 0)
                fail_msg("%s", err->msg);
        int tap_index = (int)if_nametoindex(tap_name), mv_index = (int)if_nametoindex(mv_name);
        assert_true(tap_index > 0 && mv_index > 0);
        assert_int_equal(altname_index(tap_id), tap_index);
        assert_int_equal(altname_index(mv_id), mv_index);

        vm_interfaces_remove(&ifs);
        assert_false(link_exists(tap_name) || link_exists(mv_name));
        assert_int_equal(altname_index(tap_id), 0);
        assert_int_equal(altname_index(mv_id), 0);
}

/*
 * A kernel without alternative names (played by MICROVM_TEST_NO_ALTNAMES:
 * this one has them): the start fails, and the tap it made is recorded
 * for the teardown, which removes it.
 */
static void stand_in_kernel_without_altnames_fails_the_start(void **state)
{
        (void)state;
        if (!netns_entered)
                skip();
        const char *id = "a-tap-with-an-id-of-30-bytes-y";
        ifname_buf name;
        struct plan_interface list[] = { tap(id) };
        list[0].ifname = (char *)interface_kernel_name(id, name);
        struct vm_plan plan = plan_of(list, 1);
        struct vm_interfaces ifs = { 0 };
        _cleanup_error_ struct mv_error *err = NULL;
        setenv("MICROVM_TEST_NO_ALTNAMES", "1", 1);
        int r = vm_interfaces_create(&plan, INTERFACES_ALL, &ifs, NULL, &err);
        unsetenv("MICROVM_TEST_NO_ALTNAMES");
        assert_true(r < 0);
        assert_non_null(strstr(err->msg, "lacks alternative interface names (Linux 5.5+)"));
        assert_int_equal(ifs.n_created, 1);
        assert_true(link_exists(name));
        vm_interfaces_remove(&ifs);
        assert_false(link_exists(name));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(created_passed_and_removed),
                cmocka_unit_test(taps_passed_as_descriptors),
                cmocka_unit_test(a_tap_queue_needs_the_tap),
                cmocka_unit_test(a_failure_leaves_what_was_made_to_remove),
                cmocka_unit_test(interfaces_made_elsewhere_must_exist),
                cmocka_unit_test(the_runners_lists_are_removed),
                cmocka_unit_test(long_ids_become_alternative_names),
                cmocka_unit_test(stand_in_kernel_without_altnames_fails_the_start),
        };
        return cmocka_run_group_tests(tests, enter_netns, NULL);
}
