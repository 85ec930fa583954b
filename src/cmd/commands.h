/* The command table: every verb `microvm` knows, and nothing else. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

struct mv_error;

/* What the global options decided, handed to every command. */
struct cli_context {
        const char *program;     /* argv[0] as invoked, for messages */
        const char *config_path; /* --config FILE, or NULL */
};

struct command {
        const char *name;
        const char *args;    /* argument synopsis for help, or "" */
        const char *summary; /* one line for `microvm --help` */
        int (*run)(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
};

/* The commands for people, as help lists them. */
extern const struct command commands[];

/* Internal entry points (the monitor that start execs): found, never listed. */
extern const struct command internal_commands[];

const struct command *command_find(const char *name);

/* More about a command for `microvm help COMMAND`, or NULL. */
const char *command_details(const char *name);

int cmd_help(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_apply(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_start(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_autostart(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_stop(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_restart(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_console(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_logs(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_status(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_list(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_run(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_plan(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_gc(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_create(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_update(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_balloon(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_ssh(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_vsock_proxy(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_install_declared(const struct cli_context *ctx, int argc, char **argv,
                         struct mv_error **err);
int cmd_tap_up(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_tap_down(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_macvtap_up(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_macvtap_down(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_pci_setup(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_pci_release(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_virtiofsd(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_generate_units(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);

/* Whether argv[0] is microvm-generator, as systemd calls generators. */
bool generator_called(const char *argv0);
/* The generator: the exit status (0 also when the configuration is broken). */
int generator_main(struct cli_context *ctx, int argc, char **argv);
int cmd_install(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_doctor(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_check(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_eval(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_options(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_monitor(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);
int cmd_version(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err);

/* Print the top-level usage, listing the commands of the table. */
void print_usage(FILE *f);
