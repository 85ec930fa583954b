#include "cmd/runner-entry.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "config/host-config.h"
#include "config/value-get.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "vm/foreign.h"
#include "vm/records.h"
#include "vm/runner.h"

static const char *base_of(const char *path)
{
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

bool runner_entry_called(const char *argv0)
{
        const char *base = base_of(argv0);
        return strcmp(base, "microvm-run") == 0 || strcmp(base, "microvm-shutdown") == 0;
}

/* STATE and NAME of the runner whose bin/ holds `argv0`: STATE/.runners/<hash>-NAME/bin/X. */
static int locate(const char *argv0, char **state, char **name, struct mv_error **err)
{
        if (!strchr(argv0, '/')) {
                mv_error_usage(err, "%s must be run by its path, inside a runner", argv0);
                return mv_error_hint(err, "run STATE/NAME/current/bin/%s, or 'microvm run NAME'",
                                     argv0);
        }
        _cleanup_free_ char *copy = xstrdup(argv0);
        char bin[PATH_MAX];
        if (!realpath(dirname(copy), bin))
                return mv_error_set(err, errno, "%s", argv0);
        _cleanup_free_ char *runner_dir = xstrdup(bin);
        *strrchr(runner_dir, '/') = '\0';
        const char *runner = base_of(runner_dir);
        _cleanup_free_ char *runners = xstrndup(runner_dir, (size_t)(runner - runner_dir - 1));
        const char *dash = strchr(runner, '-');
        if (strcmp(base_of(bin), "bin") != 0 || strcmp(base_of(runners), RUNNERS_DIR) != 0 ||
            !dash || !runner_name_valid(runner, dash + 1))
                return mv_error_usage(err, "%s is not in a runner that microvm installed", argv0);
        *name = xstrdup(dash + 1);
        *state = xstrndup(runners, strlen(runners) - strlen(RUNNERS_DIR) - 1);
        return 0;
}

int runner_entry_main(struct cli_context *ctx, int argc, char **argv)
{
        _cleanup_error_ struct mv_error *err = NULL;
        _cleanup_free_ char *state = NULL, *name = NULL;
        bool run = strcmp(base_of(argv[0]), "microvm-run") == 0;
        int r = argc > 1 ? mv_error_usage(&err, "%s takes no arguments", base_of(argv[0]))
                         : locate(argv[0], &state, &name, &err);
        struct host_config cfg;
        if (r >= 0 && (r = host_config_load(host_config_path(ctx->config_path), &cfg, &err)) >= 0) {
                const char *configured = vget_str(cfg.root, "microvm.stateDir");
                char real[PATH_MAX];
                if (!realpath(configured, real) || strcmp(real, state) != 0)
                        r = mv_error_fail(&err,
                                          "this runner is in %s, but the host configuration's "
                                          "microvm.stateDir is %s",
                                          state, configured);
                host_config_free(&cfg);
        }
        if (r >= 0) {
                char *sub[] = { (char *)(run ? "run" : "stop"), name, NULL };
                r = command_find(sub[0])->run(ctx, 2, sub, &err);
        }
        if (r < 0) {
                log_error("%s", err->msg);
                if (err->hint)
                        fprintf(stderr, "  hint: %s\n", err->hint);
                return mv_error_exit_status(err);
        }
        return 0;
}
