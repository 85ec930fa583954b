/*
 * Background VMs: `start` detaches a monitor process per VM that does what
 * `run` does, with the console in STATE/NAME/console.log; `stop` asks it to
 * shut the VM down and waits. One process per VM, no central daemon: one
 * VM's failure cannot take another down. The monitor is found through
 * STATE/NAME/pid (pid and start time).
 */
#pragma once

#include "config/value.h"
#include "vm/run.h"

struct mv_error;

/*
 * Start VM `name` under a detached monitor and return once it is ready
 * (STATE/NAME/ready: READY=1 from the guest with notify sockets, else the
 * hypervisor runs and, for qemu, answers on QMP), or has failed: the run
 * gives up at opts->startup_timeout_s. Already running is not an error:
 * `*already` says so.
 */
int vm_start(const struct value *host, const char *name, const struct run_options *opts,
             bool *already, struct mv_error **err);

/* Shut VM `name` down through its monitor and wait for the monitor to end. */
int vm_stop(const struct value *host, const char *name, int timeout_s, bool *was_running,
            struct mv_error **err);
