/*
 * A monitor's event loop: one poll() over a signalfd (SIGCHLD, SIGTERM,
 * SIGINT, SIGHUP) and the descriptors of the sources that registered
 * (the console, the notify listener, the control socket). Children are
 * reaped on SIGCHLD with waitpid(-1, WNOHANG) until none is left, since
 * signals coalesce: the ones a step waits for (tracked) get their status
 * recorded, orphans the monitor inherits as a subreaper are just reaped.
 *
 * A step that has to wait (for a child, a socket, readiness) runs the loop
 * until its condition holds, with a deadline: consoles, control requests
 * and signals are served meanwhile, and a stop request cancels the wait.
 * Sources never wait themselves.
 */
#pragma once

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/pidref.h"

struct mv_error;

struct loop_source {
        /* Fill at most `max` pollfds; returns how many. */
        size_t (*pollfds)(void *data, struct pollfd *fds, size_t max);
        /* Handle what poll() reported on them. */
        void (*process)(void *data, const struct pollfd *fds, size_t n);
        /* Milliseconds until it needs to run without an event, or -1 (optional). */
        int (*timeout_ms)(void *data);
        void *data;
};

/* A child a step waits for. */
struct loop_child {
        struct pidref ref; /* cleared once reaped: a reaped pid is never signalled */
        pid_t pid;         /* kept for messages */
        bool exited;
        int status; /* waitpid() status, once exited */
};

#define LOOP_MAX_SOURCES  8
#define LOOP_MAX_CHILDREN 64
#define LOOP_MAX_FDS      64

struct loop {
        int sfd;
        sigset_t old_mask;
        struct loop_source sources[LOOP_MAX_SOURCES];
        size_t n_sources;
        struct loop_child *children[LOOP_MAX_CHILDREN];
        size_t n_children;
        bool hup_stops;    /* SIGHUP asks for a stop (a terminal that went away) */
        int stop_requests; /* SIGTERM, SIGINT or a control request: the second is urgent */
        unsigned long orphans_reaped;
};

/* Block the signals (before any fork) and open the signalfd. */
int loop_init(struct loop *l, struct mv_error **err);
/* Close the signalfd and restore the signal mask. */
void loop_done(struct loop *l);

void loop_add_source(struct loop *l, const struct loop_source *s);
/* Remove the source whose data is `data`. */
void loop_remove_source(struct loop *l, void *data);

/* Track a child (already started) until it exits; untrack when done with it. */
void loop_track(struct loop *l, struct loop_child *c);
void loop_untrack(struct loop *l, struct loop_child *c);

/* A stop was asked for (a signal or the control socket). */
void loop_request_stop(struct loop *l);
bool loop_stopping(const struct loop *l);

/* One round: poll for at most `timeout_ms` (-1: until an event), then dispatch. */
void loop_iterate(struct loop *l, int timeout_ms);

/*
 * Run the loop until `done(data)` is true: 0. At `deadline` (monotonic ms,
 * -1: none) -ETIMEDOUT; when a stop is requested and `cancellable`,
 * -ECANCELED. `done` is checked after every event and at least every
 * `tick_ms` (-1: only after events).
 */
int loop_wait(struct loop *l, bool (*done)(void *data), void *data, int64_t deadline,
              bool cancellable, int tick_ms);

/* loop_wait() for a tracked child to exit. */
int loop_wait_child(struct loop *l, struct loop_child *c, int64_t deadline, bool cancellable);

/* Ask a tracked child to stop: SIGTERM, then SIGKILL after `grace_ms`; waits for it. */
void loop_stop_child(struct loop *l, struct loop_child *c, int grace_ms, const char *what);

/* A deadline `ms` from now. */
int64_t loop_deadline_in(int64_t ms);
