/* The plan as a value tree: the stable JSON of `microvm plan --json` (docs/plan.md). */
#include <string.h>

#include "config/merge.h"
#include "util/cleanup.h"
#include "vm/plan.h"

static const struct srcpos nowhere = { 0 };

static struct value *str(const char *s)
{
        return s ? value_new_string(VALUE_STRING, s, strlen(s), nowhere)
                 : value_new(VALUE_NULL, nowhere);
}

static struct value *boolean(bool b)
{
        return value_new_bool(b, nowhere);
}

static struct value *integer(int64_t i)
{
        return value_new_int(i, nowhere);
}

static void put(struct value *attrs, const char *key, struct value *v)
{
        value_attrs_append(attrs, key, nowhere, v);
}

static struct value *strings(char *const *v)
{
        struct value *l = value_new(VALUE_LIST, nowhere);
        for (size_t i = 0; v && v[i]; i++)
                value_list_append(l, str(v[i]));
        return l;
}

static struct value *attrs(void)
{
        return value_new(VALUE_ATTRS, nowhere);
}

static struct value *volume_value(const struct plan_volume *v)
{
        struct value *p = attrs();
        put(p, "image", str(v->image));
        put(p, "exists", boolean(v->exists));
        put(p, "create", boolean(v->create));
        put(p, "readOnly", boolean(v->read_only));
        if (v->create) {
                put(p, "sizeMiB", integer(v->size_mib));
                put(p, "mkfs", strings(v->mkfs));
        }
        return p;
}

static struct value *interface_value(const struct plan_interface *it)
{
        struct value *p = attrs();
        put(p, "id", str(it->id));
        put(p, "ifname", str(it->ifname));
        put(p, "type", str(it->macvtap ? "macvtap" : "tap"));
        put(p, "create", boolean(it->create));
        put(p, "mac", str(it->mac));
        put(p, "owner", str(it->owner));
        if (it->n_fds) {
                struct value *fds = value_new(VALUE_LIST, nowhere);
                for (size_t i = 0; i < it->n_fds; i++)
                        value_list_append(fds, integer(it->fds[i]));
                put(p, "fds", fds);
        }
        if (!it->macvtap) {
                char *flags[] = { (char *)"vnet_hdr",
                                  it->multi_queue ? (char *)"multi_queue" : NULL, NULL };
                put(p, "flags", strings(flags));
                put(p, "tapScript", str(it->tap_script));
                return p;
        }
        put(p, "link", str(it->link));
        put(p, "mode", str(it->mode));
        return p;
}

static struct value *virtiofsd_value(const struct plan_virtiofsd *v)
{
        struct value *p = attrs();
        put(p, "tag", str(v->tag));
        put(p, "socket", str(v->socket));
        put(p, "flavour", str(v->flavour == VIRTIOFSD_RUST ? "rust" : "c"));
        put(p, "socketGroup", str(v->socket_group));
        put(p, "argv", strings(v->argv));
        return p;
}

static struct value *notify_value(const struct vm_plan *plan)
{
        if (plan->readiness != READY_ON_NOTIFY)
                return value_new(VALUE_NULL, nowhere);
        struct value *n = attrs();
        if (plan->notify_socket) {
                put(n, "socket", str(plan->notify_socket));
        } else {
                put(n, "vsockCid", integer(plan->notify_cid));
                put(n, "vsockPort", integer(plan->notify_port));
        }
        return n;
}

static struct value *run_as_value(const struct run_as *id)
{
        struct value *p = attrs();
        put(p, "switch", boolean(id->switch_ids));
        put(p, "user", str(id->user));
        put(p, "uid", integer(id->uid));
        put(p, "group", str(id->group));
        put(p, "gid", integer(id->gid));
        put(p, "reason", str(id->reason));
        if (!id->set_memlock)
                put(p, "memlock", value_new(VALUE_NULL, nowhere));
        else if (id->memlock.rlim_max == RLIM_INFINITY)
                put(p, "memlock", str("infinity"));
        else
                put(p, "memlock", integer((int64_t)id->memlock.rlim_max));
        put(p, "memlockNote", str(id->memlock_note));
        return p;
}

static const char *const readiness_names[] = {
        [READY_WHEN_RUNNING] = "running",
        [READY_WHEN_QMP] = "qmp",
        [READY_ON_NOTIFY] = "notify",
};

struct value *vm_plan_to_value(const struct vm_plan *plan)
{
        struct value *p = attrs();
        put(p, "vm", str(plan->vm));
        put(p, "runner", str(plan->runner));
        put(p, "hypervisor", str(plan->hypervisor->name));
        put(p, "workingDirectory", str(plan->working_directory));
        struct value *list = value_new(VALUE_LIST, nowhere);
        for (size_t i = 0; i < plan->n_volumes; i++)
                value_list_append(list, volume_value(&plan->volumes[i]));
        put(p, "volumes", list);
        list = value_new(VALUE_LIST, nowhere);
        for (size_t i = 0; i < plan->n_interfaces; i++)
                value_list_append(list, interface_value(&plan->interfaces[i]));
        put(p, "interfaces", list);
        list = value_new(VALUE_LIST, nowhere);
        for (size_t i = 0; i < plan->n_virtiofsd; i++)
                value_list_append(list, virtiofsd_value(&plan->virtiofsd[i]));
        put(p, "virtiofsd", list);
        put(p, "pciDevices", strings(plan->pci_devices));
        list = value_new(VALUE_LIST, nowhere);
        for (int h = 0; h < N_HELPERS; h++)
                if (plan->helpers_off & HELPER_BIT(h))
                        value_list_append(list, str(helper_word[h]));
        put(p, "switchedOff", list);
        put(p, "notify", notify_value(plan));
        put(p, "readiness", str(readiness_names[plan->readiness]));

        struct value *command = attrs();
        put(command, "argv", strings(plan->argv));
        struct value *files = attrs();
        for (size_t i = 0; plan->file_names && plan->file_names[i]; i++)
                put(files, plan->file_names[i], str(plan->file_contents[i]));
        put(command, "files", files);
        put(command, "ifindexPending", boolean(plan->ifindex_pending));
        put(command, "processName", str(plan->process_name));
        put(p, "command", command);
        put(p, "shutdown", str(hv_shutdown_to_string(plan->shutdown)));
        put(p, "socket", str(plan->socket));
        put(p, "runAs", run_as_value(&plan->run_as));
        struct value *scripts = attrs();
        for (size_t i = 0; i < N_PLAN_SNIPPETS; i++)
                if (plan->snippet_programs[i])
                        put(scripts, plan_snippet_options[i], str(plan->snippet_programs[i]));
                else if (plan->snippets[i])
                        put(scripts, plan_snippet_options[i], str(plan->snippets[i]));
        put(p, "scripts", scripts);
        put(p, "registerWithMachined", boolean(plan->register_with_machined));
        value_sort_attrs(p);
        return p;
}

const char *hv_shutdown_to_string(enum hv_shutdown s)
{
        static const char *const names[] = {
                [HV_SHUTDOWN_NONE] = "signal",
                [HV_SHUTDOWN_QMP] = "qmp",
                [HV_SHUTDOWN_CH_API] = "cloud-hypervisor-api",
                [HV_SHUTDOWN_FC_API] = "firecracker-api",
                [HV_SHUTDOWN_CROSVM_CMD] = "crosvm-powerbtn",
                [HV_SHUTDOWN_RUNNER_SCRIPT] = "runner-script",
        };
        return (unsigned)s < ELEMENTSOF(names) ? names[s] : "signal";
}
