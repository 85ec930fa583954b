/*
 * Running a VM in the foreground: what `microvm run` (microvm.nix's
 * `microvm -r`) does, and what a monitor will do for a service start.
 */
#pragma once

#include <stdbool.h>

#include "config/value.h"

struct mv_error;
struct console;

struct run_options {
        int stop_timeout_s;      /* graceful shutdown, then SIGTERM (microvm.nix: 150) */
        int socket_timeout_s;    /* for every virtiofsd socket to listen */
        int startup_timeout_s;   /* to become ready (microvm.host.startupTimeout) */
        int restart_delay_s;     /* monitor: first delay before a restart (microvm.nix: 5) */
        bool keep_pidfile;       /* a monitor owns STATE/NAME/pid across restarts */
        bool *stop_requested;    /* optional: set when a signal asked for the stop */
        struct console *console; /* monitor: the hypervisor's stdio is its pty; NULL: ours */
};

#define RUN_OPTIONS_DEFAULT                                                                        \
        ((struct run_options){ .stop_timeout_s = 150,                                              \
                               .socket_timeout_s = 10,                                             \
                               .startup_timeout_s = 150,                                           \
                               .restart_delay_s = 5 })

/* The defaults, with what the host configuration sets (microvm.host.startupTimeout). */
struct run_options run_options_for(const struct value *host);

/*
 * Start installed VM `name` and wait for it: create missing volumes, the
 * taps (then tapScript), one virtiofsd per virtiofs share (until each
 * socket listens), point `booted` at the runner, run the hypervisor with
 * the terminal as its console. SIGINT or SIGTERM shut the guest down
 * gracefully, then by signal after the stop timeout. Teardown: hypervisor,
 * virtiofsd, taps, then `booted`. `*exit_status` gets the hypervisor's.
 * Whatever fails midway, what was set up is torn down again.
 */
int vm_run(const struct value *host, const char *name, const struct run_options *opts,
           int *exit_status, struct mv_error **err);
