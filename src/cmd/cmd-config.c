/* check and eval: read the host configuration and report on it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "config/host-config.h"
#include "config/json-write.h"
#include "config/nix-write.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strbuf.h"

struct output_flags {
        bool json;
        const char *option;
};

static int parse_output_flags(const char *cmd, int argc, char **argv, struct output_flags *f,
                              struct mv_error **err)
{
        int first = cli_parse_json_flag(cmd, argc, argv, &f->json, err);
        if (first < 0)
                return first;
        if (argc - first > 1)
                return mv_error_usage(err, "%s takes at most one option name", cmd);
        f->option = first < argc ? argv[first] : NULL;
        return 0;
}

int cmd_check(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        (void)argv;
        if (argc > 1)
                return mv_error_usage(err, "check takes no arguments");

        struct host_config cfg;
        const char *path = host_config_path(ctx->config_path);
        int r = host_config_load(path, &cfg, err);
        if (r < 0)
                return r;

        const struct value *vms = value_lookup(cfg.root, "microvm.vms");
        const struct value *autostart = value_lookup(cfg.root, "microvm.autostart");
        printf("%s: OK (%zu VMs, %zu to autostart)\n", cfg.path, vms->n_attrs, autostart->n_items);
        host_config_free(&cfg);
        return 0;
}

int cmd_eval(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        struct output_flags f = { 0 };
        int r = parse_output_flags("eval", argc, argv, &f, err);
        if (r < 0)
                return r;

        struct host_config cfg;
        r = host_config_load(host_config_path(ctx->config_path), &cfg, err);
        if (r < 0)
                return r;

        const struct value *v = f.option ? value_lookup(cfg.root, f.option) : cfg.root;
        if (!v) {
                r = mv_error_usage(err,
                                   "eval: %s is not an option or a value in the "
                                   "evaluated configuration",
                                   f.option);
                mv_error_hint(err, "run 'microvm options' for the option names; values inside "
                                   "lists are not addressable");
                host_config_free(&cfg);
                return r;
        }

        if (f.json) {
                r = json_write_value_to(stdout, v, true);
        } else {
                struct strbuf out = { 0 };
                nix_write_value(&out, v, 0);
                strbuf_putc(&out, '\n');
                fwrite(out.data, 1, out.len, stdout);
                strbuf_free(&out);
        }
        host_config_free(&cfg);
        return r < 0 ? mv_error_set(err, errno, "eval: writing the result") : 0;
}
