/* run: a VM in the foreground, its console on the terminal (microvm.nix's `microvm -r`). */
#include <getopt.h>
#include <stdlib.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "config/host-config.h"
#include "monitor/monitor.h"
#include "util/error.h"

int cmd_run(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        static const struct option options[] = {
                { "stop-timeout", required_argument, NULL, 't' },
                { "under-systemd", no_argument, NULL, 's' },
                {},
        };
        int stop_timeout_s = -1;
        bool under_systemd = false;
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "t:", options, NULL)) != -1) {
                if (c == 's') {
                        under_systemd = true;
                        continue;
                }
                if (c != 't')
                        return mv_error_usage(err, "run: unknown option '%s'", argv[optind - 1]);
                char *end;
                long v = strtol(optarg, &end, 10);
                if (*end || v < 0 || v > 86400)
                        return mv_error_usage(err, "run: --stop-timeout takes seconds, got '%s'",
                                              optarg);
                stop_timeout_s = (int)v;
        }
        if (argc - optind != 1)
                return mv_error_usage(err, "run takes one VM name");
        struct host_settings hs;
        int r = cli_vm_host_settings(ctx, "run", argv + optind, &hs, err);
        if (r < 0)
                return r;
        if (stop_timeout_s >= 0)
                hs.stop_timeout_s = stop_timeout_s;
        int status = 0;
        r = vm_run_foreground(&hs, argv[optind], under_systemd, &status, err);
        host_settings_done(&hs);
        if (r < 0)
                return r;
        /* The hypervisor's exit status is ours. */
        exit(status);
}
