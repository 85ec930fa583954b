#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "config.h"
#include "util/error.h"

void print_usage(FILE *f)
{
        fputs("Usage: microvm [OPTIONS] COMMAND [ARGS...]\n"
              "\n"
              "Declarative MicroVM hosting: runs the VMs of /etc/microvm/host.nix.\n"
              "\n"
              "Commands:\n",
              f);
        for (const struct command *c = commands; c->name; c++) {
                char head[64];
                snprintf(head, sizeof(head), "%s %s", c->name, c->args);
                fprintf(f, "  %-24s %s\n", head, c->summary);
        }
        fputs("\n"
              "Options:\n"
              "  -h, --help               Show this help\n"
              "  -V, --version            Print the version\n"
              "  -v, --verbose            More messages (repeat for debug output)\n"
              "  -q, --quiet              Only errors\n"
              "  -r NAME                  Same as 'run NAME' (microvm.nix's flag)\n"
              "  -l                       Same as 'list' (microvm.nix's flag)\n"
              "  -c NAME [-f FLAKE]       Same as 'create NAME [--flake FLAKE]'\n"
              "  -u NAME... [-R]          Same as 'update [--restart] NAME...'\n"
              "  -s NAME [...]            Same as 'ssh NAME [...]'\n"
              "      --config FILE        Host configuration, '-' for standard input\n"
              "                           (default: $MICROVM_CONFIG, else " MICROVM_DEFAULT_CONFIG
              ")\n"
              "\n"
              "Exit status: 0 success, 1 failure, 2 usage or configuration error.\n",
              f);
}

int cmd_help(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        (void)ctx;
        if (argc > 2)
                return mv_error_usage(err, "help takes at most one command name");
        if (argc == 2) {
                const struct command *c = command_find(argv[1]);
                if (!c)
                        return mv_error_usage(err, "unknown command '%s'", argv[1]);
                printf("Usage: microvm %s %s\n\n%s\n", c->name, c->args, c->summary);
                const char *details = command_details(c->name);
                if (details)
                        printf("\n%s\n", details);
                return 0;
        }
        print_usage(stdout);
        return 0;
}
