/* plan: what starting a VM would do, step by step, without doing it. */
#include <stdio.h>
#include <string.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "config/host-config.h"
#include "config/json-write.h"
#include "config/merge.h"
#include "config/value-get.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "vm/plan.h"

/* An argv for people to read: words with blanks or quotes are quoted. */
static void print_argv(const struct value *argv)
{
        for (size_t i = 0; argv && i < argv->n_items; i++) {
                const char *w = argv->items[i]->str;
                bool quote = !*w || strpbrk(w, " \t\n'\"\\$`;&|<>()*?[]#~") != NULL;
                printf("%s", i ? " " : "    ");
                if (!quote) {
                        fputs(w, stdout);
                        continue;
                }
                putchar('\'');
                for (const char *p = w; *p; p++)
                        fputs(*p == '\'' ? "'\\''" : (char[]){ *p, 0 }, stdout);
                putchar('\'');
        }
        putchar('\n');
}

static void print_run_as(const struct value *p)
{
        const struct value *a = vget_attrs(p, "runAs");
        const struct value *memlock = value_lookup(a, "memlock");
        printf("  %s runs as %s:%s", vget_str(p, "hypervisor"), vget_str(a, "user"),
               vget_str(a, "group"));
        if (vget_bool(a, "switch", false))
                printf(" (uid %lld, gid %lld, no other groups)", (long long)vget_int(a, "uid", -1),
                       (long long)vget_int(a, "gid", -1));
        else
                printf(" (%s)", vget_str(a, "reason"));
        if (memlock && memlock->type == VALUE_STRING)
                printf(", locked memory %s", memlock->str);
        else if (memlock && memlock->type == VALUE_INT)
                printf(", locked memory %lld bytes", (long long)memlock->integer);
        printf("\n");
}

static void print_plan(const struct value *p)
{
        printf("vm %s: %s, runner %s\n", vget_str(p, "vm"), vget_str(p, "hypervisor"),
               vget_str(p, "runner"));
        printf("  working directory %s\n", vget_str(p, "workingDirectory"));

        const struct value *vols = vget_list(p, "volumes");
        for (size_t i = 0; vols && i < vols->n_items; i++) {
                const struct value *v = vols->items[i];
                if (!vget_bool(v, "create", false)) {
                        printf("  volume %s: %s\n", vget_str(v, "image"),
                               vget_bool(v, "exists", false) ? "exists" : "absent, not created");
                        continue;
                }
                printf("  volume %s: create, %lld MiB, then\n", vget_str(v, "image"),
                       (long long)vget_int(v, "sizeMiB", 0));
                print_argv(vget_list(v, "mkfs"));
        }
        const struct value *ifs = vget_list(p, "interfaces");
        for (size_t i = 0; ifs && i < ifs->n_items; i++) {
                const struct value *it = ifs->items[i];
                const char *type = vget_str(it, "type");
                if (!vget_bool(it, "create", true)) {
                        printf("  %s %s: expected to exist (the tap unit is disabled)\n", type,
                               vget_str(it, "id"));
                } else if (strcmp(type, "tap") == 0) {
                        const struct value *flags = vget_list(it, "flags");
                        printf("  tap %s: create (", vget_str(it, "id"));
                        for (size_t f = 0; flags && f < flags->n_items; f++)
                                printf("%s%s", f ? " " : "", flags->items[f]->str);
                        printf("), owner %s, then tapScript with id=%s\n", vget_str(it, "owner"),
                               vget_str(it, "id"));
                } else {
                        printf("  macvtap %s: create on %s, mode %s, mac %s, /dev/tapN owner %s\n",
                               vget_str(it, "id"), vget_str(it, "link"), vget_str(it, "mode"),
                               vget_str(it, "mac"), vget_str(it, "owner"));
                }
                const struct value *fds = vget_list(it, "fds");
                if (!fds || !fds->n_items)
                        continue;
                printf("    open its /dev/tapN as the hypervisor's descriptor%s",
                       fds->n_items > 1 ? "s" : "");
                for (size_t f = 0; f < fds->n_items; f++)
                        printf("%s%lld", f ? ", " : " ", (long long)fds->items[f]->integer);
                putchar('\n');
        }
        const struct value *vfs = vget_list(p, "virtiofsd");
        for (size_t i = 0; vfs && i < vfs->n_items; i++) {
                printf("  virtiofsd for share %s (%s virtiofsd), wait for %s:\n",
                       vget_str(vfs->items[i], "tag"), vget_str(vfs->items[i], "flavour"),
                       vget_str(vfs->items[i], "socket"));
                print_argv(vget_list(vfs->items[i], "argv"));
        }
        const struct value *files = vget_attrs(p, "command.files");
        for (size_t i = 0; files && i < files->n_attrs; i++)
                printf("  write %s\n", files->attrs[i].key);
        print_run_as(p);
        printf("  %s:\n", vget_str(p, "hypervisor"));
        print_argv(vget_list(p, "command.argv"));
        if (vget_bool(p, "command.ifindexPending", false))
                printf("  (/dev/tap0 stands for the /dev/tapN of a macvtap that does not exist "
                       "yet: the command is built again once it does)\n");
        printf("  shutdown: %s\n", vget_str(p, "shutdown"));
}

int cmd_plan(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        bool json = false;
        int first = cli_parse_json_flag("plan", argc, argv, &json, err);
        if (first < 0)
                return first;
        if (argc - first != 1)
                return mv_error_usage(err, "plan takes one VM name");
        const char *name = argv[first];
        int r = cli_check_vm_names("plan", argv + first, 1, err);
        if (r < 0)
                return r;

        struct host_config cfg;
        r = host_config_load(host_config_path(ctx->config_path), &cfg, err);
        if (r < 0)
                return r;
        _cleanup_value_ struct value *plan = NULL;
        r = vm_plan(cfg.root, name, &plan, err);
        if (r >= 0 && json) {
                struct strbuf b = { 0 };
                json_write_value(&b, plan, true);
                puts(b.data);
                strbuf_free(&b);
        } else if (r >= 0) {
                print_plan(plan);
        }
        host_config_free(&cfg);
        return r;
}
