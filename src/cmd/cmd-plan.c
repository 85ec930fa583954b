/* plan: what starting a VM would do, step by step, without doing it. */
#include <stdio.h>
#include <string.h>

#include "cmd/apply-preview.h"
#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "config/host-config.h"
#include "config/json-write.h"
#include "config/merge.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "vm/plan.h"
#include "vm/settings.h"

/* An argv for people to read: words with blanks or quotes are quoted. */
static void print_argv(char *const *argv)
{
        for (size_t i = 0; argv && argv[i]; i++) {
                const char *w = argv[i];
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

static void print_run_as(const struct vm_plan *p)
{
        const struct run_as *a = &p->run_as;
        printf("  %s runs as %s:%s", p->hypervisor->name, a->user, a->group);
        if (a->switch_ids)
                printf(" (uid %u, gid %u, no other groups)", (unsigned)a->uid, (unsigned)a->gid);
        else
                printf(" (%s)", a->reason);
        if (a->set_memlock && a->memlock.rlim_max == RLIM_INFINITY)
                printf(", locked memory infinity");
        else if (a->set_memlock)
                printf(", locked memory %llu bytes", (unsigned long long)a->memlock.rlim_max);
        printf("\n");
}

/* The descriptors root opens for the hypervisor: /dev/tapN, or /dev/net/tun attached to a tap. */
static void print_fds(const struct vm_plan *p, const struct plan_interface *it)
{
        const char *s = it->n_fds > 1 ? "s" : "";
        if (it->macvtap)
                printf("    open its /dev/tapN as the hypervisor's descriptor%s", s);
        else
                printf("    attach /dev/net/tun to it as the hypervisor's descriptor%s", s);
        for (size_t f = 0; f < it->n_fds; f++)
                printf("%s%d", f ? ", " : " ", it->fds[f]);
        if (!it->macvtap)
                printf(" (%s:%s cannot open /dev/net/tun)", p->run_as.user, p->run_as.group);
        putchar('\n');
}

static void print_interface(const struct vm_plan *p, const struct plan_interface *it)
{
        const char *type = it->macvtap ? "macvtap" : "tap";
        /* A long id is the interface's alternative name; the kernel name is derived from it. */
        bool alt = strcmp(it->id, it->ifname) != 0;
        printf("  %s %s", type, it->ifname);
        /* Made elsewhere, it is looked up by its kernel name and given no other. */
        if (alt)
                printf(it->create ? " (alternative name %s)" : " (kernel name of id %s)", it->id);
        bool by_runner = p->snippet_programs[it->macvtap ? SNIPPET_MACVTAP_UP : SNIPPET_TAP_UP];
        if (!it->create)
                printf(": expected to exist (%s)\n",
                       by_runner ? "the runner's up script makes it" : "the tap unit is disabled");
        else if (!it->macvtap)
                printf(": create (vnet_hdr%s), owner %s%s, then tapScript with id=%s\n",
                       it->multi_queue ? " multi_queue" : "", it->owner,
                       alt ? ", add the alternative name" : "", it->ifname);
        else
                printf(": create on %s, mode %s, mac %s, /dev/tapN owner %s%s\n", it->link,
                       it->mode, it->mac, it->owner, alt ? ", add the alternative name" : "");
        if (it->n_fds)
                print_fds(p, it);
}

/* A configured snippet or a runner's script, when the plan has one. */
static void print_script(const struct vm_plan *p, enum plan_snippet which, const char *when)
{
        if (p->snippet_programs[which])
                printf("  %s: run %s\n", when, p->snippet_programs[which]);
        else if (p->snippets[which])
                printf("  %s: run %s\n", when, plan_snippet_options[which]);
}

/* Whether host.nix switches part `h` off: the start then does not do it. */
static bool off(const struct vm_plan *p, enum vm_helper h)
{
        return p->helpers_off & HELPER_BIT(h);
}

static void print_plan(const struct vm_plan *p)
{
        printf("vm %s: %s, runner %s\n", p->vm, p->hypervisor->name, p->runner);
        printf("  working directory %s\n", p->working_directory);
        if (p->foreign && !off(p, HELPER_TAPS))
                print_script(p, SNIPPET_TAP_UP, "taps");
        if (p->foreign && !off(p, HELPER_MACVTAPS))
                print_script(p, SNIPPET_MACVTAP_UP, "macvtaps");
        for (size_t i = 0; i < p->n_interfaces; i++)
                print_interface(p, &p->interfaces[i]);
        if (!p->foreign && !off(p, HELPER_TAPS))
                print_script(p, SNIPPET_TAP_UP, "taps up");
        if (!p->foreign && !off(p, HELPER_MACVTAPS))
                print_script(p, SNIPPET_MACVTAP_UP, "macvtaps up");
        for (size_t i = 0; p->pci_devices && p->pci_devices[i]; i++)
                if (off(p, HELPER_PCI))
                        printf("  PCI device %s: expected bound to vfio-pci "
                               "(microvm-pci-devices@ is switched off)\n",
                               p->pci_devices[i]);
                else
                        printf("  PCI device %s: bind to vfio-pci, /dev/vfio/GROUP owner %s\n",
                               p->pci_devices[i], p->run_as.switch_ids ? p->run_as.user : "root");
        if (!off(p, HELPER_PCI))
                print_script(p, SNIPPET_PCI_SETUP, "PCI devices bound");
        for (size_t i = 0; i < p->n_virtiofsd; i++) {
                const struct plan_virtiofsd *v = &p->virtiofsd[i];
                if (off(p, HELPER_VIRTIOFSD)) {
                        printf("  virtiofsd for share %s: expected listening on %s "
                               "(microvm-virtiofsd@ is switched off)\n",
                               v->tag, v->socket);
                        continue;
                }
                printf("  virtiofsd for share %s (%s virtiofsd), listening on %s:\n", v->tag,
                       v->flavour == VIRTIOFSD_RUST ? "rust" : "c", v->socket);
                print_argv(v->argv);
        }
        print_script(p, SNIPPET_PRE_START, "before the volumes");
        for (size_t i = 0; i < p->n_volumes; i++) {
                const struct plan_volume *v = &p->volumes[i];
                if (!v->create) {
                        printf("  volume %s: %s\n", v->image,
                               v->exists ? "exists" : "absent, not created");
                        continue;
                }
                printf("  volume %s: create, %lld MiB, then\n", v->image, (long long)v->size_mib);
                print_argv(v->mkfs);
        }
        print_script(p, SNIPPET_EXTRA_ARGS, "its output ends the argv");
        for (size_t i = 0; p->file_names && p->file_names[i]; i++)
                printf("  write %s\n", p->file_names[i]);
        print_run_as(p);
        printf("  %s:\n", p->hypervisor->name);
        print_argv(p->argv);
        if (p->ifindex_pending)
                printf("  (/dev/tap0 stands for the /dev/tapN of a macvtap that does not exist "
                       "yet: the command is built again once it does)\n");
        printf("  shutdown: %s\n", hv_shutdown_to_string(p->shutdown));
        print_script(p, SNIPPET_TAP_DOWN, "taps removed");
        print_script(p, SNIPPET_MACVTAP_DOWN, "macvtaps removed");
}

int cmd_plan(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        bool json = false;
        int first = cli_parse_json_flag("plan", argc, argv, &json, err);
        if (first < 0)
                return first;
        if (argc - first == 0 && !json) {
                struct host_config all;
                int q = host_config_load_enabled(ctx, &all, err);
                if (q > 0)
                        apply_preview(all.root, true, false);
                if (q > 0)
                        host_config_free(&all);
                return q < 0 ? q : 0;
        }
        if (argc - first != 1)
                return mv_error_usage(err, "plan takes one VM name (or none: what apply would "
                                           "do, without --json)");
        const char *name = argv[first];
        struct host_settings hs;
        int r = cli_vm_host_settings(ctx, "plan", argv + first, &hs, err);
        if (r < 0)
                return r;
        _cleanup_plan_ struct vm_plan *plan = NULL;
        r = vm_plan(&hs, name, &plan, err);
        if (r >= 0 && json) {
                _cleanup_value_ struct value *v = vm_plan_to_value(plan);
                struct strbuf b = { 0 };
                json_write_value(&b, v, true);
                puts(b.data);
                strbuf_free(&b);
        } else if (r >= 0) {
                print_plan(plan);
        }
        host_settings_done(&hs);
        return r;
}
