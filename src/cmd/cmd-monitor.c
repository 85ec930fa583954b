/* monitor: the process `start` execs for each VM (hidden: not a command for people). */
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "monitor/monitor.h"
#include "util/error.h"

/* "--NAME=N" as a descriptor number, or -1. */
static int fd_option(const char *arg, const char *name)
{
        size_t n = strlen(name);
        if (strncmp(arg, name, n) != 0 || arg[n] != '=')
                return -1;
        char *end;
        long v = strtol(arg + n + 1, &end, 10);
        return *end || v < 3 || v > 1024 ? -1 : (int)v;
}

int cmd_monitor(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        (void)ctx;
        int lock = -1, sync = -1, settings = -1;
        for (int i = 2; i < argc; i++) {
                int a = fd_option(argv[i], "--lock-fd"), b = fd_option(argv[i], "--sync-fd"),
                    c = fd_option(argv[i], "--settings-fd");
                if (a >= 0)
                        lock = a;
                else if (b >= 0)
                        sync = b;
                else if (c >= 0)
                        settings = c;
                else
                        return mv_error_usage(err, "monitor: unknown argument '%s'", argv[i]);
        }
        if (argc < 2 || lock < 0 || sync < 0 || settings < 0)
                return mv_error_usage(err, "monitor is started by 'microvm start', not by hand");
        exit(monitor_main(argv[1], lock, sync, settings));
}
