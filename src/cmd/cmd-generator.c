/*
 * microvm-generator: systemd calls it (the microvm binary under that name)
 * at boot and at each daemon-reload with its three output directories;
 * the units of the host configuration go into the first. `microvm
 * generate-units DIR` writes the same, for people and tests.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "config.h"
#include "config/host-config.h"
#include "config/value-get.h"
#include "systemd/units.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Where this binary is: units call it there, wherever the build's prefix put it. */
static char *own_bindir(void)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
                return xstrdup(MICROVM_BINDIR);
        self[n] = '\0';
        *strrchr(self, '/') = '\0';
        /* Written into ExecStart=: a path that would need quoting or has specifiers is not. */
        if (!self[0] || self[strspn(self, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789/._+-")])
                return xstrdup(MICROVM_BINDIR);
        return xstrdup(self);
}

static int generate(const struct cli_context *ctx, const char *out, struct mv_error **err)
{
        const char *path = host_config_path(ctx->config_path);
        char abs[PATH_MAX];
        if (!realpath(path, abs))
                return mv_error_set(err, errno, "%s", path);
        struct host_config cfg;
        int r = host_config_load(abs, &cfg, err);
        if (r < 0)
                return r;
        if (vget_bool(cfg.root, "microvm.host.enable", true) &&
            vget_bool(cfg.root, "microvm.host.systemdUnits", true)) {
                _cleanup_free_ char *bindir = own_bindir();
                struct unit_paths p = { .unit_dir = MICROVM_UNIT_DIR,
                                        .config = abs,
                                        .bindir = bindir };
                r = units_generate(cfg.root, &p, out, err);
        }
        host_config_free(&cfg);
        return r;
}

int cmd_generate_units(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        if (argc != 2)
                return mv_error_usage(err, "generate-units takes one output directory");
        return generate(ctx, argv[1], err);
}

bool generator_called(const char *argv0)
{
        const char *base = strrchr(argv0, '/');
        return strcmp(base ? base + 1 : argv0, "microvm-generator") == 0;
}

/*
 * A broken host configuration must not break the boot: the error goes to
 * the journal and no VM gets units, so none starts from a half-read file.
 */
int generator_main(struct cli_context *ctx, int argc, char **argv)
{
        if (argc != 2 && argc != 4) {
                fprintf(stderr, "usage: microvm-generator NORMAL_DIR [EARLY_DIR LATE_DIR]\n");
                return 2;
        }
        _cleanup_error_ struct mv_error *err = NULL;
        if (generate(ctx, argv[1], &err) < 0) {
                fprintf(stderr, "microvm-generator: %s\n", err->msg);
                if (err->hint)
                        fprintf(stderr, "microvm-generator: hint: %s\n", err->hint);
                fprintf(stderr, "microvm-generator: no MicroVM units generated\n");
        }
        return 0;
}
