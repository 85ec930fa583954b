/* start, stop, restart, status: VMs in the background, each under its own monitor. */
#include <stdio.h>
#include <string.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "cmd/parallel.h"
#include "config/host-config.h"
#include "config/json-write.h"
#include "config/value-get.h"
#include "host/notify.h"
#include "monitor/monitor.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/records.h"
#include "vm/status.h"

/* microvm.nix's TimeoutStopSec=150, and time for the monitor's own teardown. */
#define STOP_TIMEOUT_S 160

static int load(const struct cli_context *ctx, struct host_config *cfg, struct mv_error **err)
{
        return host_config_load(host_config_path(ctx->config_path), cfg, err);
}

static int for_each_vm(const struct cli_context *ctx, int argc, char **argv, const char *verb,
                       int (*fn)(const struct value *, const char *, struct mv_error **),
                       struct mv_error **err)
{
        if (argc < 2)
                return mv_error_usage(err, "%s takes one or more VM names", verb);
        int r = cli_check_vm_names(verb, argv + 1, argc - 1, err);
        if (r < 0)
                return r;
        struct host_config cfg;
        /* Only start stands still while the host module is disabled: stopping is always allowed. */
        r = fn == start_vm_action ? host_config_load_enabled(ctx, &cfg, err) : load(ctx, &cfg, err);
        if (r < 0 || (fn == start_vm_action && r == 0))
                return r;
        size_t failed = 0;
        for (int i = 1; i < argc; i++) {
                struct mv_error *e = NULL;
                if (fn(cfg.root, argv[i], &e) < 0) {
                        log_error("%s", e->msg);
                        if (e->hint)
                                fprintf(stderr, "  hint: %s\n", e->hint);
                        mv_error_free(&e);
                        failed++;
                }
        }
        host_config_free(&cfg);
        if (failed)
                return mv_error_fail(err, "%s failed for %zu of %d VMs", verb, failed, argc - 1);
        return 0;
}

static int stop_one(const struct value *host, const char *name, struct mv_error **err)
{
        bool was;
        struct host_settings hs;
        host_settings_from_config(host, &hs);
        int r = vm_stop(&hs, name, STOP_TIMEOUT_S, &was, err);
        host_settings_done(&hs);
        if (r >= 0)
                printf("%s: %s\n", name, was ? "stopped" : "not running");
        return r;
}

static int restart_vm_action(const struct value *host, const char *name, struct mv_error **err)
{
        int r = stop_one(host, name, err);
        return r < 0 ? r : start_vm_action(host, name, err);
}

int cmd_start(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        int r = for_each_vm(ctx, argc, argv, "start", start_vm_action, err);
        /* Under a service manager (Type=notify), every VM asked for is now ready. */
        if (r >= 0)
                notify_service_manager("READY=1");
        return r;
}

/* Every running VM of the state directory, all at once: for a shutdown script. */
static int stop_all(const struct cli_context *ctx, struct mv_error **err)
{
        struct host_config cfg;
        int r = load(ctx, &cfg, err);
        if (r < 0)
                return r;
        const char *state = vget_str(cfg.root, "microvm.stateDir");
        _cleanup_strv_free_ char **all = records_vm_names(state);
        _cleanup_strv_free_ char **running = NULL;
        for (size_t i = 0; all && all[i]; i++) {
                struct vm_status st;
                vm_status_read(state, all[i], &st);
                if (st.state == VM_RUNNING)
                        strv_push(&running, all[i]);
                vm_status_done(&st);
        }
        size_t n = strv_length(running);
        size_t failed = n ? run_parallel(cfg.root, running, (int)n, stop_one) : 0;
        host_config_free(&cfg);
        if (failed)
                return mv_error_fail(err, "%zu of %zu VMs did not stop", failed, n);
        return 0;
}

int cmd_stop(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        if (argc == 2 && strcmp(argv[1], "--all") == 0)
                return stop_all(ctx, err);
        return for_each_vm(ctx, argc, argv, "stop", stop_one, err);
}

int cmd_restart(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        return for_each_vm(ctx, argc, argv, "restart", restart_vm_action, err);
}

int cmd_status(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        bool json = false;
        int first = cli_parse_json_flag("status", argc, argv, &json, err);
        if (first < 0)
                return first;
        if (argc - first != 1)
                return mv_error_usage(err, "status takes one VM name");
        const char *name = argv[first];
        int r = cli_check_vm_names("status", argv + first, 1, err);
        if (r < 0)
                return r;

        _cleanup_free_ char *state = NULL;
        r = cli_state_dir(ctx, &state, err);
        if (r < 0)
                return r;

        struct vm_status st;
        vm_status_read(state, name, &st);
        if (!st.current) {
                vm_status_done(&st);
                mv_error_fail(err, "vm %s is not installed in %s", name, state);
                return mv_error_hint(err, "run 'microvm apply' to install it");
        }
        long long since = st.since;
        bool up_to_date = st.booted && strcmp(st.booted, st.current) == 0;
        _cleanup_free_ char *records = records_path(state, name, NULL);
        struct vm_restarts rs;
        bool have_restarts = st.state == VM_RUNNING && vm_restarts_read(records, &rs) == 0;
        /* Between runs the monitor lives but nothing is booted: it waits to restart. */
        bool waiting = st.state == VM_RUNNING && !st.booted;
        if (json) {
                struct strbuf b = { 0 };
                strbuf_puts(&b, "{\"name\": ");
                json_write_string(&b, name, strlen(name));
                strbuf_printf(&b, ", \"state\": \"%s\", \"pid\": ", vm_state_to_string(st.state));
                if (st.pid)
                        strbuf_printf(&b, "%d", (int)st.pid);
                else
                        strbuf_puts(&b, "null");
                strbuf_puts(&b, ", ");
                vm_owner_json(&b, &st);
                strbuf_puts(&b, ", \"since\": ");
                if (since)
                        strbuf_printf(&b, "%lld", since);
                else
                        strbuf_puts(&b, "null");
                strbuf_printf(&b, ", \"hypervisor\": \"%s\", \"current\": \"%s\", \"booted\": ",
                              st.hypervisor ? st.hypervisor : "", st.current);
                if (st.booted)
                        json_write_string(&b, st.booted, strlen(st.booted));
                else
                        strbuf_puts(&b, "null");
                strbuf_printf(&b, ", \"upToDate\": %s, \"ready\": %s",
                              up_to_date ? "true" : "false", st.ready ? "true" : "false");
                if (have_restarts && rs.runs_ended > 0)
                        strbuf_printf(&b,
                                      ", \"restarts\": %d, \"lastExit\": %d, \"restartDelay\": %d, "
                                      "\"backingOff\": %s, \"waitingToRestart\": %s}\n",
                                      rs.restarts, rs.last_exit, rs.delay_s,
                                      rs.fast_failures > 1 ? "true" : "false",
                                      waiting ? "true" : "false");
                else
                        strbuf_printf(&b, ", \"restarts\": 0, \"lastExit\": null, "
                                          "\"restartDelay\": null, \"backingOff\": false, "
                                          "\"waitingToRestart\": false}\n");
                fputs(b.data, stdout);
                strbuf_free(&b);
        } else {
                printf("%s: %s", name, vm_state_to_string(st.state));
                if (st.state == VM_RUNNING)
                        printf(st.ready ? ", ready" : ", starting");
                if (st.pid) {
                        _cleanup_free_ char *owner = vm_owner_describe(&st);
                        printf(", %s pid %d", owner, (int)st.pid);
                }
                printf("\n  hypervisor: %s\n  current:    %s\n  booted:     %s%s\n",
                       st.hypervisor ? st.hypervisor : "?", st.current, st.booted ? st.booted : "-",
                       st.booted && !up_to_date ? " (stale)" : "");
                if (have_restarts && rs.runs_ended > 0)
                        printf("  restarts:   %d (last exit status %d; %s %d s%s)\n", rs.restarts,
                               rs.last_exit, waiting ? "restarting in" : "restart delay",
                               rs.delay_s,
                               rs.fast_failures > 1 ? ", backing off after fast failures" : "");
        }
        vm_status_done(&st);
        return 0;
}
