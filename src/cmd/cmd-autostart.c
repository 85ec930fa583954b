/*
 * autostart: what microvm.nix's microvms.target does at boot: start every
 * VM in microvm.autostart (declarative VMs with autostart = true, and any
 * other name listed, such as imperatively created VMs) that is not running.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "cmd/parallel.h"
#include "config/host-config.h"
#include "config/value-get.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"

int cmd_autostart(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        static const struct option options[] = {
                { "jobs", required_argument, NULL, 'j' },
                {},
        };
        int jobs = start_parallel_default_jobs();
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "j:", options, NULL)) != -1) {
                if (c != 'j')
                        return mv_error_usage(err, "autostart: unknown option '%s'",
                                              argv[optind - 1]);
                if (cli_parse_jobs("autostart", optarg, &jobs, err) < 0)
                        return -1;
        }
        if (optind != argc)
                return mv_error_usage(err, "autostart takes no VM names: it starts those of "
                                           "microvm.autostart");

        struct host_config cfg;
        int r = host_config_load_enabled(ctx, &cfg, err);
        if (r <= 0)
                return r;
        _cleanup_strv_free_ char **names = NULL;
        vlist_push_strings(&names, vget_list(cfg.root, "microvm.autostart"));
        size_t n = strv_length(names);
        if (n == 0)
                printf("microvm.autostart is empty: nothing to start\n");
        size_t failed = run_parallel(cfg.root, names, jobs, start_vm_action);
        host_config_free(&cfg);
        if (failed)
                return mv_error_fail(err, "%zu of %zu VMs did not start", failed, n);
        return 0;
}
