/*
 * Work that could block, done in a child of the monitor with a deadline:
 * a QMP probe, a shutdown request over a control socket. The child drops
 * to the hypervisor's user before touching its sockets, so a socket the
 * VM's user replaced with a symlink leads nowhere that user could not go
 * anyway, and whatever the hypervisor answers is parsed outside root.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "monitor/loop.h"
#include "util/spawn.h"

struct mv_error;

struct task_options {
        int cwd_fd;                            /* >= 0: fchdir() there first */
        const struct spawn_credentials *creds; /* NULL: stay as the monitor */
        int64_t deadline;                      /* monotonic ms; the child is killed then */
        bool cancellable;                      /* a stop request kills it too */
        int report_fd; /* > 2: stays open in the child as descriptor 3 (close-on-exec); 0: none */
};

/*
 * Run fn(data) in a child; its return value (0-255) is the exit status
 * `*status` gets. -ETIMEDOUT or -ECANCELED (child killed) with `err` set.
 */
int task_run(struct loop *l, int (*fn)(void *data), void *data, const struct task_options *o,
             int *status, struct mv_error **err);

/* A child_waiter that waits in the loop, cancelled by a stop request when `cancellable`. */
struct loop_waiter {
        struct child_waiter base;
        struct loop *loop;
        bool cancellable;
        int64_t deadline; /* -1: only the caller's timeout */
};

void loop_waiter_init(struct loop_waiter *w, struct loop *l, bool cancellable, int64_t deadline);
