/* Real taps, in a network namespace of the test's own so the host is untouched. */
#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "host/tap.h"
#include "util/cleanup.h"
#include "util/error.h"

static int enter_netns(void **state)
{
        (void)state;
        if (unshare(CLONE_NEWNET) < 0)
                return errno == EPERM ? 0 : -1; /* tests skip below without root */
        return 0;
}

static bool can_create_taps(void)
{
        return geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0;
}

static bool link_is_up(const char *name)
{
        struct ifreq ifr = { 0 };
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
        bool up = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
        close(s);
        return up;
}

static void create_up_delete(void **state)
{
        (void)state;
        if (!can_create_taps())
                skip();
        struct tap_options o = { .owner = 65534, .group = (gid_t)-1 };
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(tap_create("mvtest0", &o, &err), 0);
        assert_true(link_exists("mvtest0"));
        assert_false(link_is_up("mvtest0"));
        assert_int_equal(link_set_up("mvtest0", &err), 0);
        assert_true(link_is_up("mvtest0"));
        assert_int_equal(tap_delete("mvtest0", false, &err), 0);
        assert_false(link_exists("mvtest0"));
        assert_int_equal(tap_delete("mvtest0", false, &err), 0); /* absent is fine */
}

static void multi_queue_and_mismatched_delete(void **state)
{
        (void)state;
        if (!can_create_taps())
                skip();
        struct tap_options o = { .multi_queue = true, .owner = (uid_t)-1, .group = (gid_t)-1 };
        assert_int_equal(tap_create("mvtest1", &o, NULL), 0);
        /* The flags remembered wrongly: delete still finds its way. */
        assert_int_equal(tap_delete("mvtest1", false, NULL), 0);
        assert_false(link_exists("mvtest1"));
}

static void existing_interface_is_refused(void **state)
{
        (void)state;
        if (!can_create_taps())
                skip();
        struct tap_options o = { .owner = (uid_t)-1, .group = (gid_t)-1 };
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(tap_create("lo", &o, &err) < 0);
        assert_non_null(strstr(err->msg, "interface lo already exists"));
        assert_non_null(err->hint);
        mv_error_free(&err);
        assert_true(tap_create("much-too-long-name0", &o, &err) < 0);
        assert_int_equal(link_set_up("no-such-if0", NULL) < 0, 1);
}

/* A descriptor attached to tap `name`, as TUNGETIFF reports it. */
static void assert_attached(int fd, const char *name, bool multi_queue)
{
        struct ifreq ifr = { 0 };
        assert_int_equal(ioctl(fd, TUNGETIFF, &ifr), 0);
        assert_string_equal(ifr.ifr_name, name);
        assert_true((ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_PERSIST)) ==
                    (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_PERSIST));
        assert_int_equal(!!(ifr.ifr_flags & IFF_MULTI_QUEUE), multi_queue);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

/* The queue a hypervisor gets instead of opening /dev/net/tun: attached to that very tap. */
static void a_queue_is_attached_to_the_tap(void **state)
{
        (void)state;
        if (!can_create_taps())
                skip();
        struct tap_options o = { .owner = 65534, .group = (gid_t)-1 };
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(tap_create("mvtest2", &o, NULL), 0);
        int fd = tap_open_queue("mvtest2", false, &err);
        if (fd < 0)
                fail_msg("%s", err->msg);
        assert_attached(fd, "mvtest2", false);
        /* A single-queue tap has one queue: a second is refused, naming the tap. */
        assert_true(tap_open_queue("mvtest2", false, &err) < 0);
        assert_non_null(strstr(err->msg, "tap mvtest2"));
        mv_error_free(&err);
        close(fd);
        assert_int_equal(tap_delete("mvtest2", false, NULL), 0);
}

static void multi_queue_taps_take_a_queue_each(void **state)
{
        (void)state;
        if (!can_create_taps())
                skip();
        struct tap_options o = { .multi_queue = true, .owner = (uid_t)-1, .group = (gid_t)-1 };
        assert_int_equal(tap_create("mvtest3", &o, NULL), 0);
        int fds[2];
        for (size_t q = 0; q < 2; q++) {
                fds[q] = tap_open_queue("mvtest3", true, NULL);
                assert_true(fds[q] >= 0);
                assert_attached(fds[q], "mvtest3", true);
        }
        assert_true(fds[0] != fds[1]);
        close(fds[0]);
        close(fds[1]);
        assert_int_equal(tap_delete("mvtest3", true, NULL), 0);
}

/* TUNSETIFF would make a tap of a free name: that is refused, and nothing stays behind. */
static void a_queue_of_a_missing_tap_is_refused(void **state)
{
        (void)state;
        if (!can_create_taps())
                skip();
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(tap_open_queue("mvtest4", false, &err) < 0);
        assert_string_equal(err->msg, "tap mvtest4 does not exist");
        assert_false(link_exists("mvtest4"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(create_up_delete),
                cmocka_unit_test(multi_queue_and_mismatched_delete),
                cmocka_unit_test(existing_interface_is_refused),
                cmocka_unit_test(a_queue_is_attached_to_the_tap),
                cmocka_unit_test(multi_queue_taps_take_a_queue_each),
                cmocka_unit_test(a_queue_of_a_missing_tap_is_refused),
        };
        return cmocka_run_group_tests(tests, enter_netns, NULL);
}
