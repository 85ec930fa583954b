/*
 * apply: install every declarative VM of the configuration into the state
 * directory (what microvm.nix's install-microvm-NAME units do), remove
 * runners nothing uses, restart running VMs whose definition changed
 * (restartIfChanged), then start the autostart VMs that are not running,
 * as a NixOS switch does. gc: only the removal.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/apply-preview.h"
#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "cmd/parallel.h"
#include "config/host-config.h"
#include "config/value-get.h"
#include "monitor/monitor.h"
#include "nix/nix.h"
#include "systemd/manager.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/flake-vm.h"
#include "vm/records.h"
#include "vm/removal.h"
#include "vm/runner.h"
#include "vm/statedir.h"
#include "vm/status.h"

/* microvm.nix's TimeoutStopSec=150, and time for the monitor's own teardown. */
#define STOP_TIMEOUT_S 160

static int install_vm(const char *state, const struct value *root, const char *name,
                      struct mv_error **err)
{
        _cleanup_free_ char *runner = NULL;
        bool created, moved;
        int r = runner_install(state, root, name, &runner, &created, err);
        if (r < 0)
                return r;
        r = records_set_runner(state, name, "current", runner, &moved, err);
        /* toplevel marks a declarative VM, which imperative updates must leave alone. */
        if (r >= 0)
                r = records_set_runner(state, name, "toplevel", runner, NULL, err);
        if (r >= 0)
                r = removal_mark_declared(state, name, err);
        if (r < 0)
                return mv_error_wrap(err, "vm %s", name);
        if (moved)
                printf("%s: installed %s\n", name, runner);
        else
                printf("%s: unchanged\n", name);
        return 0;
}

/*
 * A flake VM, as install-microvm-NAME does it: built and installed on
 * every apply, or, with updateFlake, only the first time (later updates
 * are `microvm -u NAME`'s). Runs in a child of run_parallel.
 */
static int install_flake_vm(const struct value *root, const char *name, struct mv_error **err)
{
        const char *state = vget_str(root, "microvm.stateDir");
        _cleanup_free_ char *vm_path = xasprintf("microvm.vms.\"%s\"", name);
        const struct value *vm = value_lookup(root, vm_path);
        const char *flake = vget_str(vm, "flake"), *update = vget_str(vm, "updateFlake");
        _cleanup_free_ char *installed = records_runner(state, name, "current");
        /* Declared before it is built: a VM that fails to build is still host.nix's. */
        int r = removal_mark_declared(state, name, err);
        if (r < 0)
                return r;
        if (update && installed) {
                printf("%s: built from a flake with updateFlake: left as installed; 'microvm -u "
                       "%s' updates it\n",
                       name, name);
                return 0;
        }
        _cleanup_free_ char *runner = NULL;
        bool moved;
        r = flake_vm_install(state, name, flake, update ? update : flake, &runner, &moved, err);
        /* Built from a flake, it is not fully declarative: -u may update it. */
        if (r >= 0)
                r = records_set_runner(state, name, "toplevel", NULL, NULL, err);
        if (r < 0)
                return r;
        printf("%s: %s %s\n", name, moved ? "installed" : "unchanged,", runner);
        return 0;
}

/* Flake VMs build in parallel, each result printed whole; Nix missing fails each of them. */
static size_t install_flake_vms(const struct value *root, char *const *names, int jobs)
{
        if (!names)
                return 0;
        struct mv_error *e = NULL;
        _cleanup_free_ char *nix = NULL;
        if (nix_find(&nix, &e) < 0) {
                for (size_t i = 0; names[i]; i++)
                        log_error("vm %s is built from a flake: %s", names[i], e->msg);
                fprintf(stderr, "  hint: %s\n", e->hint);
                mv_error_free(&e);
                return strv_length(names);
        }
        if (isatty(STDERR_FILENO))
                fprintf(stderr, "building %zu flake VM%s with Nix ...\n", strv_length(names),
                        strv_length(names) == 1 ? "" : "s");
        return run_parallel(root, names, jobs, install_flake_vm);
}

static int collect_garbage(const char *state, struct mv_error **err)
{
        size_t removed, debris = 0;
        int r = statedir_gc(state, &removed, err);
        if (r >= 0 && removed)
                printf("removed %zu unused runner%s\n", removed, removed == 1 ? "" : "s");
        if (r >= 0)
                r = removal_clean_debris(state, &debris, err);
        if (r >= 0 && debris)
                printf("removed what %zu interrupted removal%s left\n", debris,
                       debris == 1 ? "" : "s");
        return r;
}

/*
 * VMs that left host.nix: stopped gracefully first (without the state
 * directory's lock: a stop may take minutes). `*stopped` gets those that
 * no longer run. Returns how many could not be stopped.
 */
static size_t stop_removed(const struct value *root, char *const *removed, char ***stopped)
{
        const char *state = vget_str(root, "microvm.stateDir");
        size_t failed = 0;
        for (size_t i = 0; removed && removed[i]; i++) {
                struct vm_status st;
                vm_status_read(state, removed[i], &st);
                bool running = st.state == VM_RUNNING;
                vm_status_done(&st);
                if (running) {
                        printf("%s: no longer in the configuration, stopping\n", removed[i]);
                        fflush(stdout);
                        struct host_settings hs;
                        host_settings_from_config(root, &hs);
                        struct mv_error *e = NULL;
                        bool was;
                        int r = vm_stop(&hs, removed[i], STOP_TIMEOUT_S, &was, &e);
                        host_settings_done(&hs);
                        if (r < 0) {
                                log_error("%s", e->msg);
                                mv_error_free(&e);
                                failed++;
                                continue;
                        }
                }
                strv_push(stopped, removed[i]);
        }
        return failed;
}

/* Under the state directory's lock: forget the stopped ones (a start since then keeps one). */
static size_t forget_removed(const char *state, char *const *stopped, bool prune)
{
        size_t failed = 0;
        for (size_t i = 0; stopped && stopped[i]; i++) {
                const char *name = stopped[i];
                struct vm_status st;
                vm_status_read(state, name, &st);
                bool running = st.state == VM_RUNNING;
                vm_status_done(&st);
                struct mv_error *e = NULL;
                if (running) {
                        log_error("vm %s was started again while apply removed it: left as it is",
                                  name);
                        failed++;
                } else if (removal_forget(state, name, prune, &e) < 0) {
                        log_error("%s", e->msg);
                        if (e->hint)
                                fprintf(stderr, "  hint: %s\n", e->hint);
                        mv_error_free(&e);
                        failed++;
                } else if (prune) {
                        printf("%s: removed, with its directory %s/%s\n", name, state, name);
                } else {
                        printf("%s: removed; its directory %s/%s stays with its volumes "
                               "('apply --prune-volumes' deletes it)\n",
                               name, state, name);
                }
        }
        return failed;
}

/*
 * Running VMs whose booted runner is no longer the installed one: those
 * with restartIfChanged are stopped and added to `*restart`, the others
 * are left running and said to be stale.
 */
static size_t stop_changed(const struct value *root, char ***restart)
{
        const char *state = vget_str(root, "microvm.stateDir");
        const struct value *vms = vget_attrs(root, "microvm.vms");
        size_t failed = 0;
        for (size_t i = 0; vms && i < vms->n_attrs; i++) {
                const char *name = vms->attrs[i].key;
                struct vm_status st;
                vm_status_read(state, name, &st);
                bool changed = st.state == VM_RUNNING && st.booted && st.current &&
                               strcmp(st.booted, st.current) != 0;
                bool foreground = st.foreground;
                vm_status_done(&st);
                if (!changed)
                        continue;
                if (foreground) {
                        printf("%s: changed, left running the old runner: it runs in the "
                               "foreground (microvm run), not under a monitor\n",
                               name);
                        continue;
                }
                if (!vget_bool(vms->attrs[i].value, "restartIfChanged", false)) {
                        printf("%s: changed, left running the old runner (restartIfChanged = "
                               "false); 'microvm restart %s' switches it\n",
                               name, name);
                        continue;
                }
                printf("%s: changed, restarting\n", name);
                fflush(stdout);
                struct mv_error *e = NULL;
                bool was;
                struct host_settings hs;
                host_settings_from_config(root, &hs);
                int r = vm_stop(&hs, name, STOP_TIMEOUT_S, &was, &e);
                host_settings_done(&hs);
                if (r < 0) {
                        log_error("%s", e->msg);
                        mv_error_free(&e);
                        failed++;
                        continue;
                }
                strv_push(restart, name);
        }
        return failed;
}

/* The autostart VMs that are not running, after those in `*names` already. */
static void add_autostart(const struct value *root, char ***names)
{
        const char *state = vget_str(root, "microvm.stateDir");
        const struct value *list = vget_list(root, "microvm.autostart");
        for (size_t i = 0; list && i < list->n_items; i++) {
                const char *name = list->items[i]->str;
                struct vm_status st;
                vm_status_read(state, name, &st);
                bool running = st.state == VM_RUNNING;
                vm_status_done(&st);
                if (!running && !strv_contains(*names, name))
                        strv_push(names, name);
        }
}

int cmd_apply(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        static const struct option options[] = {
                { "no-start", no_argument, NULL, 'n' },
                { "jobs", required_argument, NULL, 'j' },
                { "dry-run", no_argument, NULL, 'd' },
                { "prune-volumes", no_argument, NULL, 'p' },
                {},
        };
        bool start = true, dry_run = false, prune = false;
        int jobs = start_parallel_default_jobs();
        /* Nix builds in parallel itself; a few evaluations at once are what pays. */
        int build_jobs = jobs < 4 ? jobs : 4;
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "nj:", options, NULL)) != -1) {
                if (c == 'n')
                        start = false;
                else if (c == 'd')
                        dry_run = true;
                else if (c == 'p')
                        prune = true;
                else if (c != 'j')
                        return mv_error_usage(err, "apply: unknown option '%s'", argv[optind - 1]);
                else if (cli_parse_jobs("apply", optarg, &jobs, err) < 0)
                        return -1;
        }
        if (optind != argc)
                return mv_error_usage(err, "apply takes no VM names");

        struct host_config cfg;
        int r = host_config_load_enabled(ctx, &cfg, err);
        if (r <= 0)
                return r;

        const char *state = vget_str(cfg.root, "microvm.stateDir");
        const struct value *vms = vget_attrs(cfg.root, "microvm.vms");
        if (dry_run) {
                apply_preview(cfg.root, start, prune);
                host_config_free(&cfg);
                return 0;
        }
        int lock = -1;
        r = statedir_prepare(state, err);
        _cleanup_strv_free_ char **removed = NULL, **stopped = NULL;
        if (r >= 0)
                removed = removal_candidates(state, vms);
        size_t failed = 0, removal_failed = 0;
        if (r >= 0)
                removal_failed = stop_removed(cfg.root, removed, &stopped);
        if (r >= 0)
                r = lock = statedir_lock(state, err);

        _cleanup_strv_free_ char **flake_vms = NULL;
        for (size_t i = 0; r >= 0 && vms && i < vms->n_attrs; i++) {
                const char *name = vms->attrs[i].key;
                const struct value *vm = vms->attrs[i].value;
                if (!vget_attrs(vm, "config")) {
                        strv_push(&flake_vms, name);
                        continue;
                }
                struct mv_error *e = NULL;
                if (install_vm(state, cfg.root, name, &e) < 0) {
                        log_error("%s", e->msg);
                        if (e->hint)
                                fprintf(stderr, "  hint: %s\n", e->hint);
                        mv_error_free(&e);
                        failed++;
                }
        }
        if (r >= 0)
                failed += install_flake_vms(cfg.root, flake_vms, build_jobs);
        if (r >= 0)
                removal_failed += forget_removed(state, stopped, prune);
        if (r >= 0)
                r = collect_garbage(state, err);
        /* The state directory is consistent again: starting VMs needs no lock of it. */
        if (lock >= 0)
                close(lock);

        /* A systemd host's units follow the configuration before any is started or stopped. */
        struct host_settings hs;
        host_settings_from_config(cfg.root, &hs);
        if (r >= 0 && hs.systemd_units) {
                const char *args[] = { "daemon-reload", NULL };
                r = systemd_ctl(args, NULL, err);
        }
        host_settings_done(&hs);
        size_t start_failed = 0;
        if (r >= 0) {
                _cleanup_strv_free_ char **names = NULL;
                start_failed = stop_changed(cfg.root, &names);
                if (start)
                        add_autostart(cfg.root, &names);
                start_failed += run_parallel(cfg.root, names, jobs, start_vm_action);
        }
        host_config_free(&cfg);
        if (r >= 0 && failed)
                r = mv_error_fail(err, "%zu VM%s could not be installed; the others were", failed,
                                  failed == 1 ? "" : "s");
        else if (r >= 0 && removal_failed)
                r = mv_error_fail(err,
                                  "%zu VM%s no longer in the configuration could not be "
                                  "removed",
                                  removal_failed, removal_failed == 1 ? "" : "s");
        else if (r >= 0 && start_failed)
                r = mv_error_fail(err, "%zu VM%s did not start or restart", start_failed,
                                  start_failed == 1 ? "" : "s");
        return r;
}

/*
 * install-microvm-NAME's work (man microvm-units): VM `name` installed as
 * host.nix declares it, as apply would, and nothing else: no VM is
 * started, stopped or removed.
 */
int cmd_install_declared(const struct cli_context *ctx, int argc, char **argv,
                         struct mv_error **err)
{
        if (argc != 2)
                return mv_error_usage(err, "install-declared takes one VM name");
        int r = cli_check_vm_names("install-declared", argv + 1, 1, err);
        if (r < 0)
                return r;
        struct host_config cfg;
        r = host_config_load_enabled(ctx, &cfg, err);
        if (r <= 0)
                return r;
        const char *name = argv[1];
        const char *state = vget_str(cfg.root, "microvm.stateDir");
        _cleanup_free_ char *path = xasprintf("microvm.vms.\"%s\"", name);
        const struct value *vm = value_lookup(cfg.root, path);
        if (!vm) {
                r = mv_error_fail(err, "vm %s is not declared in %s", name, cfg.path);
                mv_error_hint(err, "its unit is left from an earlier configuration: "
                                   "'systemctl daemon-reload' drops it");
        }
        int lock = -1;
        if (r >= 0)
                r = statedir_prepare(state, err);
        if (r >= 0)
                r = lock = statedir_lock(state, err);
        if (r >= 0 && vget_attrs(vm, "config"))
                r = install_vm(state, cfg.root, name, err);
        else if (r >= 0)
                r = install_flake_vm(cfg.root, name, err);
        if (lock >= 0)
                close(lock);
        host_config_free(&cfg);
        return r < 0 ? r : 0;
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
