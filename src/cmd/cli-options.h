/* Option parsing that several commands share. */
#pragma once

#include <stdbool.h>

struct mv_error;

/*
 * The options of a command whose only option is --json (-j): sets `*json`
 * and returns the index of the first operand in `argv`, or a usage error
 * naming `cmd`.
 */
int cli_parse_json_flag(const char *cmd, int argc, char **argv, bool *json, struct mv_error **err);

/* --jobs N: a number of parallel starts (1 to 4096) into `*jobs`, or a usage error. */
int cli_parse_jobs(const char *cmd, const char *arg, int *jobs, struct mv_error **err);

struct value;

/* microvm.host.enable; when false, says that there is nothing to do. */
bool host_module_enabled(const struct value *host);
