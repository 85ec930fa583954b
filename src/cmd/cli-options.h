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

/*
 * The VM names a command was given (`n` of them), checked before any path
 * is built from one: a usage error naming the first bad one and the rule.
 */
int cli_check_vm_names(const char *cmd, char *const *names, int n, struct mv_error **err);

/* --jobs N: a number of parallel starts (1 to 4096) into `*jobs`, or a usage error. */
int cli_parse_jobs(const char *cmd, const char *arg, int *jobs, struct mv_error **err);

struct cli_context;
struct host_config;

/*
 * Load the host configuration for a command that acts on the host: 1 when
 * loaded, 0 when microvm.host.enable is false (said so; nothing is left
 * loaded), or a negative error.
 */
int host_config_load_enabled(const struct cli_context *ctx, struct host_config *cfg,
                             struct mv_error **err);

struct host_settings;

/* The host settings of the configuration the command reads (host_settings_done() them). */
int cli_host_settings(const struct cli_context *ctx, struct host_settings *hs,
                      struct mv_error **err);

/*
 * For a command on one VM: `name` checked as cli_check_vm_names() does,
 * then the host settings as cli_host_settings() reads them.
 */
int cli_vm_host_settings(const struct cli_context *ctx, const char *cmd, char *const *name,
                         struct host_settings *hs, struct mv_error **err);

/* microvm.stateDir of the host configuration the command reads; malloc'd into *state. */
int cli_state_dir(const struct cli_context *ctx, char **state, struct mv_error **err);
