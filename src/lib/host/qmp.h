/* qemu's QMP on its control socket: the graceful shutdown microvm.nix uses. */
#pragma once

struct mv_error;

/*
 * Connect to the QMP socket at `path`, negotiate capabilities, and press
 * Ctrl-Alt-Del (the guest shuts down; qemu, started with -no-reboot,
 * exits). `timeout_ms` bounds each step.
 */
int qmp_send_ctrl_alt_del(const char *path, int timeout_ms, struct mv_error **err);

/* Connect and run `command` (a JSON object); `*reply` gets the "return" line. */
int qmp_execute(const char *path, const char *command, char **reply, int timeout_ms,
                struct mv_error **err);
