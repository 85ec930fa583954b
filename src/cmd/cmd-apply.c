/*
 * apply: install every declarative VM of the configuration into the state
 * directory (what microvm.nix's install-microvm-NAME units do), then
 * remove runners nothing uses. gc: only the latter.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "config/host-config.h"
#include "config/value-get.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "vm/runner.h"
#include "vm/statedir.h"

static int install_vm(const char *state, const struct value *root, const char *name,
                      struct mv_error **err)
{
        _cleanup_free_ char *runner = NULL;
        bool created, moved;
        int r = runner_install(state, root, name, &runner, &created, err);
        if (r < 0)
                return r;
        r = statedir_link_vm(state, name, runner, true, &moved, err);
        if (r < 0)
                return mv_error_wrap(err, "vm %s", name);
        if (moved)
                printf("%s: installed %s\n", name, runner);
        else
                printf("%s: unchanged\n", name);
        return 0;
}

static int collect_garbage(const char *state, struct mv_error **err)
{
        size_t removed;
        int r = statedir_gc(state, &removed, err);
        if (r >= 0 && removed)
                printf("removed %zu unused runner%s\n", removed, removed == 1 ? "" : "s");
        return r;
}

int cmd_apply(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        (void)argv;
        if (argc > 1)
                return mv_error_usage(err, "apply takes no arguments");

        struct host_config cfg;
        int r = host_config_load(host_config_path(ctx->config_path), &cfg, err);
        if (r < 0)
                return r;
        if (!vget_bool(cfg.root, "microvm.host.enable", true)) {
                printf("the host module is disabled (microvm.host.enable = false): nothing to "
                       "do\n");
                host_config_free(&cfg);
                return 0;
        }

        const char *state = vget_str(cfg.root, "microvm.stateDir");
        _cleanup_close_ int lock = -1;
        r = statedir_prepare(state, err);
        if (r >= 0)
                r = lock = statedir_lock(state, err);

        const struct value *vms = vget_attrs(cfg.root, "microvm.vms");
        size_t failed = 0;
        for (size_t i = 0; r >= 0 && vms && i < vms->n_attrs; i++) {
                const char *name = vms->attrs[i].key;
                const struct value *vm = vms->attrs[i].value;
                if (!vget_attrs(vm, "config")) {
                        /* A flake VM needs Nix to build its runner. */
                        printf("%s: built from a flake: skipped (needs Nix)\n", name);
                        continue;
                }
                struct mv_error *e = NULL;
                if (install_vm(state, cfg.root, name, &e) < 0) {
                        log_error("%s", e->msg);
                        mv_error_free(&e);
                        failed++;
                }
        }
        if (r >= 0)
                r = collect_garbage(state, err);
        host_config_free(&cfg);
        if (r >= 0 && failed)
                r = mv_error_fail(err, "%zu VM%s could not be installed; the others were", failed,
                                  failed == 1 ? "" : "s");
        return r;
}

int cmd_gc(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        (void)argv;
        if (argc > 1)
                return mv_error_usage(err, "gc takes no arguments");

        struct host_config cfg;
        int r = host_config_load(host_config_path(ctx->config_path), &cfg, err);
        if (r < 0)
                return r;
        const char *state = vget_str(cfg.root, "microvm.stateDir");
        _cleanup_close_ int lock = statedir_lock(state, err);
        r = lock < 0 ? lock : collect_garbage(state, err);
        host_config_free(&cfg);
        return r;
}
