#include <stdio.h>

#include "cmd/commands.h"
#include "config.h"
#include "util/error.h"

int cmd_version(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        (void)ctx;
        (void)argv;
        if (argc > 1)
                return mv_error_usage(err, "version takes no arguments");
        printf("microvm %s\n", MICROVM_VERSION);
        return 0;
}
