/*
 * Whatever runs a VM holds its lock (STATE/.host/NAME/lock) for as long as
 * it lives and answers on its control socket: a monitor (`microvm start`
 * execs a fresh `microvm monitor` per VM, detached, that restarts the VM
 * whenever it ends) or `microvm run` in the foreground. No central daemon:
 * one VM's failure, or its monitor's, cannot take another down.
 */
#pragma once

#include <stdbool.h>

#include "vm/settings.h"

struct mv_error;

/*
 * Start VM `name` under a detached monitor and return once it is ready,
 * or its start failed (the monitor says which over a pipe). A VM that runs
 * already is not an error: `*already` says so, once it is ready.
 */
int vm_start(const struct host_settings *hs, const char *name, bool *already,
             struct mv_error **err);

/*
 * Shut VM `name` down through its control socket and wait until whatever
 * ran it is gone. A VM whose monitor was killed is cleaned up instead.
 */
int vm_stop(const struct host_settings *hs, const char *name, int timeout_s, bool *was_running,
            struct mv_error **err);

/*
 * `microvm run`: the VM in the foreground, on the terminal; `*exit_status`
 * is the hypervisor's. `under_systemd` (a unit's ExecStart): the console on
 * a pty as under a monitor (console.log, `microvm console`) and copied to
 * stdout for the journal, READY=1 to the unit once the VM is ready.
 */
int vm_run_foreground(const struct host_settings *hs, const char *name, bool under_systemd,
                      int *exit_status, struct mv_error **err);

/*
 * The monitor process (`microvm monitor NAME --lock-fd N --sync-fd N
 * --settings-fd N`): returns its exit status.
 */
int monitor_main(const char *name, int lock_fd, int sync_fd, int settings_fd);
