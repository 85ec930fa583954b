/* qemu's QMP on its control socket: the graceful shutdown microvm.nix uses. */
#pragma once

#include <stdint.h>

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

/*
 * microvm.nix's microvm-balloon for qemu: set the guest's target memory to
 * `bytes` (QMP balloon), then read what the guest has now (query-balloon)
 * into `*actual` (bytes).
 */
int qmp_balloon(const char *path, int64_t bytes, int64_t *actual, int timeout_ms,
                struct mv_error **err);

/* The "actual" of a query-balloon answer line; -EBADMSG when it has none. */
int qmp_parse_balloon_actual(const char *line, int64_t *actual);
