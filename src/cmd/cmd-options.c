/* options: the documentation of every option, from the schema. */
#include <getopt.h>
#include <stdio.h>

#include "cmd/commands.h"
#include "config/docs.h"
#include "util/error.h"
#include "util/strbuf.h"

int cmd_options(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "man", no_argument, NULL, 'm' },
                {},
        };
        enum docs_format format = DOCS_TEXT;
        int c;

        (void)ctx;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "j", options, NULL)) != -1) {
                if (c == 'j')
                        format = DOCS_JSON;
                else if (c == 'm')
                        format = DOCS_MAN;
                else
                        return mv_error_usage(err, "options: unknown option '%s'",
                                              argv[optind - 1]);
        }
        if (argc - optind > 1)
                return mv_error_usage(err, "options takes at most one option name");

        struct strbuf out = { 0 };
        int r = docs_render(&out, format, optind < argc ? argv[optind] : NULL, err);
        if (r >= 0)
                fwrite(out.data, 1, out.len, stdout);
        strbuf_free(&out);
        return r;
}
