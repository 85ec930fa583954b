/* Real taps, in a network namespace of the test's own so the host is untouched. */
#include "test-helpers.h"

#include <errno.h>
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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(create_up_delete),
                cmocka_unit_test(multi_queue_and_mismatched_delete),
                cmocka_unit_test(existing_interface_is_refused),
        };
        return cmocka_run_group_tests(tests, enter_netns, NULL);
}
