/*
 * A shell snippet from the configuration (microvm.preStart, a
 * microvm.binScripts entry, microvm.extraArgsScript), run as microvm.nix's
 * generated scripts run it: bash with `set -euo pipefail`, the snippet as
 * one argument (`bash -c`), never pasted into a command line of ours.
 */
#pragma once

#include <sys/types.h>

#include "util/spawn.h"

struct mv_error;

struct snippet {
        const char *option; /* where it is configured, for messages: "microvm.preStart" */
        const char *text;
        const struct spawn_credentials *credentials; /* NULL: as the caller */
        int cwd_fd;                                  /* >= 0: runs there */
};

/*
 * Run `s` to completion through waiter `w` (NULL: blocking). Its stderr,
 * and its stdout unless `output` is given, go where the caller's go; with
 * `output`, stdout is collected (at most 64 KiB) into `*output`. A failure
 * or a non-zero exit is an error naming the option.
 */
int snippet_run(const struct snippet *s, struct child_waiter *w, char **output,
                struct mv_error **err);

/*
 * Split extraArgsScript's output into arguments as the shell splits an
 * unquoted expansion: on spaces, tabs and newlines, with no quoting.
 * Appended to `*argv`.
 */
void snippet_split_words(const char *output, char ***argv);
