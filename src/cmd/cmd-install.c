/* install: a runner built elsewhere (CI, microvm.nix, a store path) becomes a VM's current. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "config/host-config.h"
#include "config/value-get.h"
#include "hypervisor/hypervisor.h"
#include "nix/nix.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "vm/foreign.h"
#include "vm/gcroots.h"
#include "vm/records.h"
#include "vm/runner-copy.h"
#include "vm/runner.h"
#include "vm/statedir.h"
#include "vm/status.h"
#include "vm/store-path.h"

/* The runner to record: a store path as it is, anything else copied under .runners. */
static int place_runner(const char *state, const char *name, const char *given, char **runner,
                        struct mv_error **err)
{
        char real[PATH_MAX];
        if (!realpath(given, real))
                return mv_error_set(err, errno, "runner %s", given);
        if (store_path_valid(real)) {
                int r = store_path_trusted(real, err);
                if (r < 0 || (r = runner_check_usable(real, err)) < 0)
                        return r;
                *runner = xstrdup(real);
                return 0;
        }
        if (strncmp(real, NIX_STORE_DIR "/", strlen(NIX_STORE_DIR) + 1) == 0) {
                mv_error_usage(err, "%s is inside a store path, not one", real);
                return mv_error_hint(err, "give the runner's store path itself "
                                          "(/nix/store/...-microvm-HYPERVISOR-NAME)");
        }
        int r = runner_check_usable(real, err);
        _cleanup_free_ char *hv = runner_is_foreign(real) ? runner_hypervisor(real) : NULL;
        bool created;
        if (r >= 0)
                r = runner_copy_in(state, name, real, hv, runner, &created, err);
        return r;
}

int cmd_install(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        static const struct option options[] = { { "flake", required_argument, NULL, 'f' }, {} };
        const char *flake = NULL;
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "f:", options, NULL)) != -1) {
                if (c != 'f')
                        return mv_error_usage(err, "install: unknown option '%s'",
                                              argv[optind - 1]);
                flake = optarg;
        }
        if (argc - optind != 2)
                return mv_error_usage(err, "install takes a VM name and a runner: install NAME "
                                           "RUNNER [--flake FLAKE]");
        const char *name = argv[optind], *given = argv[optind + 1];
        int r = cli_check_vm_names("install", argv + optind, 1, err);
        if (r >= 0 && flake)
                r = flake_ref_check(flake, true, err);
        if (r < 0)
                return r;
        struct host_config cfg;
        r = host_config_load(host_config_path(ctx->config_path), &cfg, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *state = xstrdup(vget_str(cfg.root, "microvm.stateDir"));
        _cleanup_free_ char *vm_path = xasprintf("microvm.vms.\"%s\"", name);
        bool declared = value_lookup(cfg.root, vm_path) != NULL;
        host_config_free(&cfg);

        _cleanup_close_ int lock = -1;
        r = statedir_prepare(state, err);
        if (r >= 0)
                r = lock = statedir_lock(state, err);
        _cleanup_free_ char *runner = NULL;
        if (r >= 0)
                r = place_runner(state, name, given, &runner, err);
        bool changed = false;
        /* The roots first: they lead through the record, which moves last. */
        if (r >= 0 && runner[0] == '/')
                r = gcroots_add(state, name, err);
        /* The flake -u rebuilds it from, as -c would have recorded it. */
        if (r >= 0 && flake)
                r = records_set_flake(state, name, flake, err);
        if (r >= 0)
                r = records_set_runner(state, name, "current", runner, &changed, err);
        if (r < 0)
                return mv_error_wrap(err,
                                     "install %s as vm %s; the runner installed before "
                                     "stays",
                                     given, name);
        printf("%s: %s %s\n", name, changed ? "installed" : "unchanged,", runner);
        if (declared)
                log_warning("vm %s is declared in the host configuration: the next 'microvm "
                            "apply' installs that again",
                            name);
        struct vm_status st;
        vm_status_read(state, name, &st);
        if (changed && st.state == VM_RUNNING)
                printf("%s: still runs the runner it started with; 'microvm restart %s' "
                       "switches it\n",
                       name, name);
        vm_status_done(&st);
        return 0;
}
