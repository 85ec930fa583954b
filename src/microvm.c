/*
 * microvm: entry point. Parses the global options, dispatches to a
 * command from the table in cmd/commands.c, and is the one place that
 * prints an error and turns it into an exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/runner-entry.h"
#include "host/privileges.h"
#include "util/accounts.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strv.h"

static void print_error(const struct mv_error *e)
{
        log_error("%s", e->msg);
        if (e->hint)
                fprintf(stderr, "  hint: %s\n", e->hint);
        if (e->kind == MV_ERROR_USAGE)
                fputs("Run 'microvm --help' for usage.\n", stderr);
}

/* Output that never arrived (a full disk, a closed pipe) is a failure, not exit status 0. */
static int stdout_flushed(struct mv_error **err)
{
        if (fflush(stdout) != 0 || ferror(stdout))
                return mv_error_set(err, errno ? errno : EIO, "writing to standard output");
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, 'V' },
                { "verbose", no_argument, NULL, 'v' },      { "quiet", no_argument, NULL, 'q' },
                { "config", required_argument, NULL, 'C' }, {},
        };
        struct cli_context ctx = { .program = argv[0] };
        _cleanup_error_ struct mv_error *err = NULL;
        int level = LOG_LEVEL_NOTICE, c;

        const char *env_level = getenv("MICROVM_LOG_LEVEL");
        if (env_level && log_level_from_string(env_level) >= 0)
                level = log_level_from_string(env_level);

        /* Called as a runner's bin/microvm-run or bin/microvm-shutdown. */
        if (argc > 0 && runner_entry_called(argv[0])) {
                log_set_level((enum log_level)level);
                accounts_expect(RUN_AS_USER, RUN_AS_GROUP);
                return runner_entry_main(&ctx, argc, argv);
        }

        /* Called by systemd as microvm-generator. */
        if (argc > 0 && generator_called(argv[0])) {
                log_set_level((enum log_level)level);
                return generator_main(&ctx, argc, argv);
        }

        /* microvm.nix's command: -r NAME runs, -l lists, -c/-u/-f/-R for flake VMs. */
        const char *run_name = NULL, *create_name = NULL, *flake = NULL, *ssh_name = NULL;
        bool list = false, update = false, restart = false;

        /* "+": stop at the first non-option, which is the command. */
        while ((c = getopt_long(argc, argv, "+hVvqC:r:lc:us:f:R", options, NULL)) != -1) {
                switch (c) {
                case 'h':
                        print_usage(stdout);
                        return 0;
                case 'V':
                        return cmd_version(&ctx, 1, argv, &err);
                case 'v':
                        if (level < LOG_LEVEL_DEBUG)
                                level++;
                        break;
                case 'q':
                        level = LOG_LEVEL_ERROR;
                        break;
                case 'C':
                        ctx.config_path = optarg;
                        break;
                case 'r':
                        run_name = optarg;
                        break;
                case 'l':
                        list = true;
                        break;
                case 'c':
                        create_name = optarg;
                        break;
                case 'u':
                        update = true;
                        break;
                case 's':
                        ssh_name = optarg;
                        break;
                case 'f':
                        flake = optarg;
                        break;
                case 'R':
                        restart = true;
                        break;
                default:
                        fputs("Run 'microvm --help' for usage.\n", stderr);
                        return 2;
                }
        }
        log_set_level((enum log_level)level);
        /* Whoever looks up an account first asks for these too, in the same child. */
        accounts_expect(RUN_AS_USER, RUN_AS_GROUP);

        /* microvm.nix's flags stand for a command line of ours: rewritten, then run as any. */
        _cleanup_strv_free_ char **sub = NULL;
        if (ssh_name) {
                strv_push(&sub, "ssh");
                strv_push(&sub, ssh_name);
                for (int i = optind; i < argc; i++)
                        strv_push(&sub, argv[i]);
        } else if (create_name && !update && !restart) {
                strv_push(&sub, "create");
                strv_push(&sub, create_name);
                if (flake) {
                        strv_push(&sub, "--flake");
                        strv_push(&sub, flake);
                }
        } else if (update && !create_name && !flake) {
                strv_push(&sub, "update");
                if (restart)
                        strv_push(&sub, "--restart");
                for (int i = optind; i < argc; i++)
                        strv_push(&sub, argv[i]);
        } else if (create_name || update || flake || restart) {
                mv_error_usage(&err, "-f goes with -c NAME, -R with -u NAME...");
                print_error(err);
                return 2;
        } else if (run_name || list) {
                strv_push(&sub, list ? "list" : "run");
                if (run_name)
                        strv_push(&sub, run_name);
        }
        if (sub) {
                argv = sub;
                argc = (int)strv_length(sub);
                optind = 0;
        }

        if (optind >= argc) {
                print_usage(stderr);
                return 2;
        }

        const struct command *cmd = command_find(argv[optind]);
        if (!cmd) {
                mv_error_usage(&err, "unknown command '%s'", argv[optind]);
                print_error(err);
                return 2;
        }

        if (cmd->run(&ctx, argc - optind, argv + optind, &err) < 0) {
                if (!err)
                        mv_error_fail(&err, "%s failed", cmd->name);
                print_error(err);
                return mv_error_exit_status(err);
        }
        if (stdout_flushed(&err) < 0) {
                print_error(err);
                return 1;
        }
        return 0;
}
