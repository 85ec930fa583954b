/*
 * create and update: imperative flake VMs, as microvm.nix's `microvm -c
 * NAME [-f FLAKE]` and `microvm -u NAMES [-R]` manage them.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "config/host-config.h"
#include "config/value-get.h"
#include "monitor/monitor.h"
#include "nix/nix.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "vm/flake-vm.h"
#include "vm/records.h"
#include "vm/settings.h"
#include "vm/statedir.h"
#include "vm/status.h"

/* microvm.nix's default for -f. */
#define DEFAULT_FLAKE "git+file:///etc/nixos"
/* microvm.nix's TimeoutStopSec=150, and time for the monitor's own teardown. */
#define STOP_TIMEOUT_S 160

int cmd_create(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        static const struct option options[] = { { "flake", required_argument, NULL, 'f' }, {} };
        const char *flake = DEFAULT_FLAKE;
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "f:", options, NULL)) != -1) {
                if (c != 'f')
                        return mv_error_usage(err, "create: unknown option '%s'", argv[optind - 1]);
                flake = optarg;
        }
        if (argc - optind != 1)
                return mv_error_usage(err, "create takes one VM name: create NAME [--flake FLAKE]");
        const char *name = argv[optind];
        int r = cli_check_vm_names("create", argv + optind, 1, err);
        if (r >= 0)
                r = flake_ref_check(flake, true, err);
        if (r < 0)
                return r;
        struct host_settings hs;
        if ((r = cli_host_settings(ctx, &hs, err)) < 0)
                return r;
        _cleanup_close_ int lock = -1;
        r = statedir_prepare(hs.state_dir, err);
        if (r >= 0)
                r = lock = statedir_lock(hs.state_dir, err);
        _cleanup_free_ char *installed =
                r >= 0 ? records_runner(hs.state_dir, name, "current") : NULL;
        if (installed) {
                mv_error_fail(err, "vm %s already exists in %s", name, hs.state_dir);
                r = mv_error_hint(err, "'microvm -u %s' updates it from its flake", name);
        }
        _cleanup_free_ char *runner = NULL;
        if (r >= 0)
                r = flake_vm_install(hs.state_dir, name, flake, flake, &runner, NULL, err);
        if (r >= 0)
                printf("Created MicroVM %s (%s). Start with: microvm start %s\n", name, runner,
                       name);
        host_settings_done(&hs);
        return r;
}

/* One VM of update: rebuilt from its recorded flake; restarted with -R when its runner moved. */
static int update_one(const struct host_settings *hs, const char *name, bool restart,
                      struct mv_error **err)
{
        _cleanup_free_ char *toplevel = records_runner(hs->state_dir, name, "toplevel");
        if (toplevel) {
                mv_error_fail(err,
                              "vm %s: This MicroVM is managed fully declaratively and cannot "
                              "be updated manually!",
                              name);
                return mv_error_hint(err, "change it in the host configuration and run 'microvm "
                                          "apply'");
        }
        _cleanup_free_ char *flake = records_flake(hs->state_dir, name);
        if (!flake) {
                mv_error_fail(err, "vm %s has no flake recorded in %s", name, hs->state_dir);
                return mv_error_hint(err,
                                     "create it with 'microvm -c %s -f FLAKE', or declare it "
                                     "with microvm.vms.%s.flake",
                                     name, name);
        }
        /* The lock while the records change; a restart needs none. */
        _cleanup_close_ int lock = statedir_lock(hs->state_dir, err);
        if (lock < 0)
                return lock;
        _cleanup_free_ char *old = records_runner(hs->state_dir, name, "current");
        _cleanup_free_ char *built = NULL;
        bool moved = false;
        int r = flake_vm_install(hs->state_dir, name, flake, flake, &built, &moved, err);
        closep(&lock);
        lock = -1;
        if (r < 0)
                return r;
        printf("%s: %s %s\n", name, moved ? "installed" : "unchanged,", built);
        if (old && old[0] == '/' && strcmp(old, built) != 0)
                nix_diff_closures(old, built);
        _cleanup_free_ char *booted = records_runner(hs->state_dir, name, "booted");
        bool was = false, already = false;
        if (booted && strcmp(booted, built) == 0) {
                printf("No reboot of MicroVM %s required.\n", name);
                return 0;
        }
        if (!restart) {
                if (booted)
                        printf("Reboot MicroVM %s for the new profile: microvm restart %s\n", name,
                               name);
                return 0;
        }
        printf("%s MicroVM %s\n", booted ? "Rebooting" : "Booting", name);
        fflush(stdout);
        r = vm_stop(hs, name, STOP_TIMEOUT_S, &was, err);
        if (r >= 0)
                r = vm_start(hs, name, &already, err);
        return r;
}

int cmd_update(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        static const struct option options[] = { { "restart", no_argument, NULL, 'R' }, {} };
        bool restart = false;
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "R", options, NULL)) != -1) {
                if (c != 'R')
                        return mv_error_usage(err, "update: unknown option '%s'", argv[optind - 1]);
                restart = true;
        }
        if (argc - optind < 1)
                return mv_error_usage(err, "update takes one or more VM names");
        int r = cli_check_vm_names("update", argv + optind, argc - optind, err);
        struct host_settings hs;
        if (r < 0 || (r = cli_host_settings(ctx, &hs, err)) < 0)
                return r;
        size_t failed = 0;
        for (int i = optind; i < argc; i++) {
                struct mv_error *e = NULL;
                if (update_one(&hs, argv[i], restart, &e) < 0) {
                        log_error("%s", e->msg);
                        if (e->hint)
                                fprintf(stderr, "  hint: %s\n", e->hint);
                        mv_error_free(&e);
                        failed++;
                }
        }
        host_settings_done(&hs);
        if (failed)
                return mv_error_fail(err, "%zu of %d VMs could not be updated", failed,
                                     argc - optind);
        return 0;
}
