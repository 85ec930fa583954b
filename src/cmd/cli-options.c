#include "cmd/cli-options.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/commands.h"
#include "config/host-config.h"
#include "config/value-get.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "vm/settings.h"

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

int cli_check_vm_names(const char *cmd, char *const *names, int n, struct mv_error **err)
{
        for (int i = 0; i < n; i++) {
                if (vm_name_valid(names[i]))
                        continue;
                mv_error_usage(err, "%s: \"%s\" is not a VM name: a VM name is " VM_NAME_RULE, cmd,
                               names[i]);
                return mv_error_hint(err, "'microvm list' shows the VMs of the state directory");
        }
        return 0;
}

int cli_parse_jobs(const char *cmd, const char *arg, int *jobs, struct mv_error **err)
{
        char *end;
        long v = strtol(arg, &end, 10);
        if (*end || end == arg || v < 1 || v > 4096)
                return mv_error_usage(err, "%s: --jobs takes a number from 1 to 4096, got '%s'",
                                      cmd, arg);
        *jobs = (int)v;
        return 0;
}

int host_config_load_enabled(const struct cli_context *ctx, struct host_config *cfg,
                             struct mv_error **err)
{
        int r = host_config_load(host_config_path(ctx->config_path), cfg, err);
        if (r < 0)
                return r;
        if (vget_bool(cfg->root, "microvm.host.enable", true))
                return 1;
        printf("the host module is disabled (microvm.host.enable = false): nothing to do\n");
        host_config_free(cfg);
        return 0;
}

int cli_host_settings(const struct cli_context *ctx, struct host_settings *hs,
                      struct mv_error **err)
{
        struct host_config cfg;
        int r = host_config_load(host_config_path(ctx->config_path), &cfg, err);
        if (r < 0)
                return r;
        host_settings_from_config(cfg.root, hs);
        host_config_free(&cfg);
        return 0;
}

int cli_vm_host_settings(const struct cli_context *ctx, const char *cmd, char *const *name,
                         struct host_settings *hs, struct mv_error **err)
{
        int r = cli_check_vm_names(cmd, name, 1, err);
        return r < 0 ? r : cli_host_settings(ctx, hs, err);
}

int cli_state_dir(const struct cli_context *ctx, char **state, struct mv_error **err)
{
        struct host_config cfg;
        int r = host_config_load(host_config_path(ctx->config_path), &cfg, err);
        if (r < 0)
                return r;
        *state = xstrdup(vget_str(cfg.root, "microvm.stateDir"));
        host_config_free(&cfg);
        return 0;
}
