#include "cmd/apply-preview.h"

#include <stdio.h>
#include <string.h>

#include "config/merge.h"
#include "config/value-get.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/records.h"
#include "vm/removal.h"
#include "vm/runner.h"
#include "vm/status.h"

static bool in_autostart(const struct value *root, const char *name)
{
        const struct value *list = vget_list(root, "microvm.autostart");
        for (size_t i = 0; list && i < list->n_items; i++)
                if (strcmp(list->items[i]->str, name) == 0)
                        return true;
        return false;
}

/* The install step; `*next` gets the runner it would leave current, when that is known. */
static void preview_install(const struct value *root, const char *name, const struct value *vm,
                            const char *current, char **next)
{
        if (vget_attrs(vm, "config")) {
                _cleanup_free_ char *spec = runner_spec_json(root, name);
                *next = runner_dir_name(spec, name);
                if (current && strcmp(current, *next) == 0)
                        printf("%s: unchanged\n", name);
                else
                        printf("%s: install %s%s\n", name, *next, current ? " (changed)" : "");
                return;
        }
        const char *flake = vget_str(vm, "flake"), *update = vget_str(vm, "updateFlake");
        if (update && current) {
                printf("%s: built from a flake with updateFlake: left as installed\n", name);
                *next = xstrdup(current);
        } else {
                printf("%s: build %s#nixosConfigurations.\"%s\" with Nix and install the result\n",
                       name, flake, name);
        }
}

static void preview_vm(const struct value *root, const char *name, const struct value *vm,
                       bool start)
{
        const char *state = vget_str(root, "microvm.stateDir");
        struct vm_status st;
        vm_status_read(state, name, &st);
        _cleanup_free_ char *next = NULL;
        preview_install(root, name, vm, st.current, &next);
        bool running = st.state == VM_RUNNING;
        if (running && st.booted && next && strcmp(st.booted, next) != 0) {
                if (st.foreground)
                        printf("%s: runs in the foreground: left running the old runner\n", name);
                else if (vget_bool(vm, "restartIfChanged", false))
                        printf("%s: restart (restartIfChanged)\n", name);
                else
                        printf("%s: left running the old runner (restartIfChanged = false)\n",
                               name);
        } else if (running && st.booted && !next) {
                if (vget_bool(vm, "restartIfChanged", false))
                        printf("%s: restart if the build changes it (restartIfChanged)\n", name);
                else
                        printf("%s: left running even if the build changes it "
                               "(restartIfChanged = false)\n",
                               name);
        } else if (!running && start && in_autostart(root, name)) {
                printf("%s: start (autostart)\n", name);
        }
        vm_status_done(&st);
}

void apply_preview(const struct value *root, bool start, bool prune)
{
        const char *state = vget_str(root, "microvm.stateDir");
        const struct value *vms = vget_attrs(root, "microvm.vms");
        for (size_t i = 0; vms && i < vms->n_attrs; i++)
                preview_vm(root, vms->attrs[i].key, vms->attrs[i].value, start);

        _cleanup_strv_free_ char **removed = removal_candidates(state, vms);
        for (size_t i = 0; removed && removed[i]; i++) {
                struct vm_status st;
                vm_status_read(state, removed[i], &st);
                printf("%s: no longer in the configuration: %sforget its runners%s\n", removed[i],
                       st.state == VM_RUNNING ? "stop, " : "",
                       prune ? ", delete its directory with its volumes"
                             : "; its directory and volumes stay");
                vm_status_done(&st);
        }
        /* Imperative VMs are the administrator's: said, so that no one wonders. */
        const struct value *list = vget_list(root, "microvm.autostart");
        for (size_t i = 0; start && list && i < list->n_items; i++) {
                const char *name = list->items[i]->str;
                _cleanup_free_ char *path = xasprintf("microvm.vms.\"%s\"", name);
                if (value_lookup(root, path))
                        continue;
                struct vm_status st;
                vm_status_read(state, name, &st);
                if (st.state != VM_RUNNING && st.current)
                        printf("%s: start (autostart)\n", name);
                vm_status_done(&st);
        }
}
