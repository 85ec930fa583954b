#include "cmd/cli-options.h"

#include <getopt.h>
#include <stddef.h>

#include "util/error.h"

int cli_parse_json_flag(const char *cmd, int argc, char **argv, bool *json, struct mv_error **err)
{
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                {},
        };
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "j", options, NULL)) != -1) {
                if (c != 'j')
                        return mv_error_usage(err, "%s: unknown option '%s'", cmd,
                                              argv[optind - 1]);
                *json = true;
        }
        return optind;
}
