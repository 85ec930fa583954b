/*
 * For tests that make real interfaces: a network namespace of the test's
 * own, and a private mount namespace with that network namespace's sysfs,
 * so /sys/class/net shows its interfaces and the host is left untouched.
 */
#pragma once

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/mount.h>
#include <unistd.h>

static bool netns_entered;

/* Group setup: without root the tests that need it skip (netns_entered stays false). */
static inline int enter_netns(void **state)
{
        (void)state;
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
                return errno == EPERM ? 0 : -1;
        /* Private first: nothing mounted below may reach the host's mount table. */
        if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("sysfs", "/sys", "sysfs", 0, NULL) < 0)
                return -1;
        netns_entered = true;
        return 0;
}
