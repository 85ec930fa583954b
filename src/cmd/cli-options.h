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
