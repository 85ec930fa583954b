/* list: every VM of the state directory, its state, and whether it runs what is installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "cmd/parallel.h"
#include "config/host-config.h"
#include "config/json-write.h"
#include "config/value-get.h"
#include "nix/nix.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/records.h"
#include "vm/status.h"

/* The hash part of a runner name is long; people need the first characters. */
static void short_runner(char *out, size_t size, const char *runner)
{
        const char *base = runner && runner[0] == '/' ? strrchr(runner, '/') + 1 : runner;
        snprintf(out, size, "%.8s", base ? base : "-");
}

static void print_text(const struct vm_status *s, bool color)
{
        const char *name_color = s->state == VM_RUNNING  ? ANSI_BOLD_GREEN
                                 : s->state == VM_BOOTED ? ANSI_BOLD_YELLOW
                                                         : ANSI_BOLD_RED;
        char cur[16], boot[16];
        short_runner(cur, sizeof(cur), s->current);
        short_runner(boot, sizeof(boot), s->booted);
        printf("%s%s%s: ", ansi_color(color, name_color), s->name, ansi_color(color, ANSI_RESET));
        if (!s->booted)
                printf("%scurrent%s(%s), not booted: microvm run %s", ansi_color(color, ANSI_GREEN),
                       ansi_color(color, ANSI_RESET), cur, s->name);
        else if (strcmp(s->booted, s->current) == 0)
                printf("%scurrent%s(%s)%s", ansi_color(color, ANSI_GREEN),
                       ansi_color(color, ANSI_RESET), boot,
                       s->state == VM_BOOTED ? ", booted but not running" : "");
        else
                printf("%sstale%s(%s), reboot for the installed %s", ansi_color(color, ANSI_RED),
                       ansi_color(color, ANSI_RESET), boot, cur);
        /* A unit's run is named: systemctl and journalctl know the VM by it. */
        _cleanup_free_ char *owner = s->owner == VM_OWNER_UNIT ? vm_owner_describe(s) : NULL;
        printf(" [%s%s%s%s]\n", s->hypervisor ? s->hypervisor : "?",
               s->state == VM_RUNNING ? ", running" : "", owner ? " as " : "", owner ? owner : "");
}

static void print_json_entry(struct strbuf *b, const struct vm_status *s, bool first)
{
        strbuf_puts(b, first ? "\n  {" : ",\n  {");
        strbuf_puts(b, "\"name\": ");
        json_write_string(b, s->name, strlen(s->name));
        strbuf_printf(b, ", \"state\": \"%s\", \"hypervisor\": ", vm_state_to_string(s->state));
        if (s->hypervisor)
                json_write_string(b, s->hypervisor, strlen(s->hypervisor));
        else
                strbuf_puts(b, "null");
        const char *keys[] = { "current", "booted" };
        const char *vals[] = { s->current, s->booted };
        for (size_t i = 0; i < 2; i++) {
                strbuf_printf(b, ", \"%s\": ", keys[i]);
                if (vals[i])
                        json_write_string(b, vals[i], strlen(vals[i]));
                else
                        strbuf_puts(b, "null");
        }
        strbuf_printf(b, ", \"upToDate\": %s",
                      s->booted && s->current && strcmp(s->booted, s->current) == 0 ? "true"
                                                                                    : "false");
        if (s->pid)
                strbuf_printf(b, ", \"pid\": %d, ", (int)s->pid);
        else
                strbuf_puts(b, ", \"pid\": null, ");
        vm_owner_json(b, s);
        strbuf_putc(b, '}');
}

/*
 * --outdated, for one VM (in a child of run_parallel): a flake VM is
 * evaluated, and says whether a rebuild would change its runner.
 */
static int list_outdated_one(const struct value *host, const char *name, struct mv_error **err)
{
        const char *state = vget_str(host, "microvm.stateDir");
        struct vm_status s;
        vm_status_read(state, name, &s);
        _cleanup_free_ char *flake = records_flake(state, name);
        _cleanup_free_ char *toplevel = records_runner(state, name, "toplevel");
        _cleanup_free_ char *next = NULL;
        int r = 0;
        bool color = log_use_color(stdout);
        if (flake && !toplevel && s.current &&
            (r = nix_eval_runner_path(flake, name, &next, err)) >= 0 &&
            strcmp(next, s.current) != 0) {
                char cur[16], nxt[16];
                short_runner(cur, sizeof(cur), s.current);
                short_runner(nxt, sizeof(nxt), next);
                printf("%s: %soutdated%s(%s), rebuild(%s) and reboot: microvm -Ru %s\n", name,
                       ansi_color(color, ANSI_RED), ansi_color(color, ANSI_RESET), cur, nxt, name);
        } else if (r >= 0 && s.current) {
                print_text(&s, color);
        }
        vm_status_done(&s);
        return r;
}

static int list_outdated(const struct cli_context *ctx, struct mv_error **err)
{
        struct host_config cfg;
        int r = host_config_load(host_config_path(ctx->config_path), &cfg, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = records_vm_names(vget_str(cfg.root, "microvm.stateDir"));
        size_t failed =
                run_parallel(cfg.root, names, start_parallel_default_jobs(), list_outdated_one);
        host_config_free(&cfg);
        if (failed)
                return mv_error_fail(err, "%zu VM%s could not be evaluated", failed,
                                     failed == 1 ? "" : "s");
        return 0;
}

int cmd_list(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        if (argc == 2 && strcmp(argv[1], "--outdated") == 0)
                return list_outdated(ctx, err);
        bool json = false;
        int first = cli_parse_json_flag("list", argc, argv, &json, err);
        if (first < 0)
                return first;
        if (first != argc)
                return mv_error_usage(err, "list takes no arguments");

        _cleanup_free_ char *state = NULL;
        int r = cli_state_dir(ctx, &state, err);
        if (r < 0)
                return r;

        /* The VMs are those microvm has records of, imperative ones included. */
        _cleanup_strv_free_ char **names = records_vm_names(state);
        size_t n = strv_length(names);

        bool color = log_use_color(stdout);
        struct strbuf b = { 0 };
        size_t shown = 0;
        if (json)
                strbuf_putc(&b, '[');
        for (size_t i = 0; i < n; i++) {
                struct vm_status s;
                vm_status_read(state, names[i], &s);
                if (s.current) {
                        if (json)
                                print_json_entry(&b, &s, shown == 0);
                        else
                                print_text(&s, color);
                        shown++;
                }
                vm_status_done(&s);
        }
        if (json) {
                strbuf_puts(&b, shown ? "\n]\n" : "]\n");
                fputs(b.data, stdout);
        }
        strbuf_free(&b);
        return 0;
}
