#include "vm/plan.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/json-read.h"
#include "config/merge.h"
#include "config/value-get.h"
#include "host/kvm-probe.h"
#include "host/privileges.h"
#include "host/virtiofsd.h"
#include "hypervisor/hypervisor.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/runner.h"
#include "vm/statedir.h"

static const struct srcpos nowhere = { 0 };

static struct value *str(const char *s)
{
        return value_new_string(VALUE_STRING, s, strlen(s), nowhere);
}

static void put(struct value *attrs, const char *key, struct value *v)
{
        value_attrs_append(attrs, key, nowhere, v);
}

static struct value *argv_value(char *const *argv)
{
        struct value *l = value_new(VALUE_LIST, nowhere);
        for (size_t i = 0; argv && argv[i]; i++)
                value_list_append(l, str(argv[i]));
        return l;
}

int vm_read_spec(const char *state_dir, const char *name, const char *link, struct value **spec,
                 struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s/%s/" RUNNER_SPEC, state_dir, name, link);
        struct source_set set = { 0 };
        struct source *src = NULL;
        int r = source_load(&set, path, 0, &src, err);
        if (r == -ENOENT) {
                mv_error_fail(err, "vm %s is not installed in %s (no %s runner)", name, state_dir,
                              link);
                return mv_error_hint(err, "run 'microvm apply' to install the VMs of the "
                                          "configuration");
        }
        if (r >= 0)
                r = json_parse(src, spec, err);
        if (r < 0) {
                source_set_free(&set);
                return mv_error_wrap(err, "read %s", path);
        }
        value_forget_positions(*spec);
        source_set_free(&set);
        return 0;
}

/* mkfs.<fsType> with its label flag, as microvm.nix's volume creation runs it. */
static struct value *volume_plan(const char *vm_dir, const struct value *v, struct mv_error **err)
{
        const char *image = vget_str(v, "image"), *fs = vget_str(v, "fsType");
        const char *label = vget_str(v, "label");
        _cleanup_free_ char *path =
                image[0] == '/' ? xstrdup(image) : xasprintf("%s/%s", vm_dir, image);
        bool exists = access(path, F_OK) == 0;
        bool create = vget_bool(v, "autoCreate", true) && !exists;
        struct value *p = value_new(VALUE_ATTRS, nowhere);

        put(p, "image", str(path));
        put(p, "exists", value_new_bool(exists, nowhere));
        put(p, "create", value_new_bool(create, nowhere));
        put(p, "readOnly", value_new_bool(vget_bool(v, "readOnly", false), nowhere));
        if (!create)
                return p;
        int64_t size = vget_int(v, "size", -1);
        if (size <= 0) {
                value_free(p);
                mv_error_config(err,
                                "volume %s: microvm.volumes.*.size is not set; it is needed "
                                "to create the image",
                                image);
                return NULL;
        }
        put(p, "sizeMiB", value_new_int(size, nowhere));
        _cleanup_strv_free_ char **mkfs = NULL;
        strv_pushf(&mkfs, "mkfs.%s", fs);
        if (label) {
                bool dash_n = strcmp(fs, "vfat") == 0;
                bool dash_l = strncmp(fs, "ext", 3) == 0 || strcmp(fs, "xfs") == 0 ||
                              strcmp(fs, "btrfs") == 0;
                if (dash_n || dash_l) {
                        strv_push(&mkfs, dash_n ? "-n" : "-L");
                        strv_push(&mkfs, label);
                }
        }
        vlist_push_strings(&mkfs, vget_list(v, "mkfsExtraArgs"));
        strv_push(&mkfs, path);
        put(p, "mkfs", argv_value(mkfs));
        return p;
}

/* The descriptors the hypervisor gets the macvtap's /dev/tapN on, one per queue. */
static struct value *macvtap_fds_value(const struct hypervisor_ops *ops, const struct hv_vm *vm,
                                       const char *id)
{
        int fds[64]; /* as many as the backends put on their command lines */
        size_t n = macvtap_fds(vm, ops, id, fds, ELEMENTSOF(fds));
        struct value *l = value_new(VALUE_LIST, nowhere);
        for (size_t i = 0; i < n; i++)
                value_list_append(l, value_new_int(fds[i], nowhere));
        return l;
}

static struct value *interfaces_plan(const struct hypervisor_ops *ops, const struct hv_vm *vm,
                                     const struct value *host)
{
        const struct value *ifaces = vget_list(vm->guest, "microvm.interfaces");
        bool managed = vget_bool(host, INTERFACES_UNIT_ENABLE, true);
        bool mq = ops->tap_multi_queue && ops->tap_multi_queue(vm);
        const char *owner = vget_str(vm->guest, "microvm.user");
        struct value *list = value_new(VALUE_LIST, nowhere);

        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const struct value *it = ifaces->items[i];
                const char *type = vget_str(it, "type");
                if (strcmp(type, "tap") != 0 && strcmp(type, "macvtap") != 0)
                        continue;
                struct value *p = value_new(VALUE_ATTRS, nowhere);
                put(p, "id", str(vget_str(it, "id")));
                put(p, "type", str(type));
                /* With the tap unit disabled the interfaces are someone else's to create. */
                put(p, "create", value_new_bool(managed, nowhere));
                put(p, "mac", str(vget_str(it, "mac")));
                put(p, "owner", str(owner ? owner : "microvm"));
                if (strcmp(type, "tap") == 0) {
                        struct value *flags = value_new(VALUE_LIST, nowhere);
                        value_list_append(flags, str("vnet_hdr"));
                        if (mq)
                                value_list_append(flags, str("multi_queue"));
                        put(p, "flags", flags);
                        put(p, "tapScript", str(vget_str(host, "microvm.host.tapScript")));
                } else {
                        put(p, "link", str(vget_str(it, "macvtap.link")));
                        put(p, "mode", str(vget_str(it, "macvtap.mode")));
                        if (ops->macvtap_as_fds)
                                put(p, "fds", macvtap_fds_value(ops, vm, vget_str(it, "id")));
                }
                value_list_append(list, p);
        }
        return list;
}

static struct value *virtiofsd_plan(const struct value *spec, const struct value *guest,
                                    const char *name, const char *hv, const char *vm_dir,
                                    struct mv_error **err)
{
        const struct value *shares = vget_list(guest, "microvm.shares");
        struct value *list = value_new(VALUE_LIST, nowhere);
        struct virtiofsd vfs = { 0 };
        struct virtiofsd_settings settings;
        bool found = false;
        int r = 0;

        virtiofsd_settings(value_lookup(spec, "virtiofsd"), guest, &settings);
        for (size_t i = 0; r >= 0 && shares && i < shares->n_items; i++) {
                const struct value *s = shares->items[i];
                if (strcmp(vget_str(s, "proto"), "virtiofs") != 0)
                        continue;
                if (!found) {
                        r = virtiofsd_find(vget_str(guest, "microvm.virtiofsd.package"), &vfs, err);
                        if (r < 0)
                                break;
                        found = true;
                }
                char **argv = NULL;
                r = virtiofsd_argv(&vfs, &settings, name, hv, s, vm_dir, geteuid() == 0, &argv,
                                   err);
                if (r < 0)
                        break;
                struct value *p = value_new(VALUE_ATTRS, nowhere);
                put(p, "tag", str(vget_str(s, "tag")));
                _cleanup_free_ char *socket =
                        virtiofsd_socket_path(&vfs, vget_str(s, "socket"), vm_dir);
                put(p, "socket", str(socket));
                put(p, "flavour", str(vfs.flavour == VIRTIOFSD_RUST ? "rust" : "c"));
                put(p, "socketGroup",
                    settings.group ? str(settings.group) : value_new(VALUE_NULL, nowhere));
                put(p, "argv", argv_value(argv));
                strv_free(argv);
                value_list_append(list, p);
        }
        virtiofsd_settings_done(&settings);
        virtiofsd_done(&vfs);
        if (r < 0) {
                value_free(list);
                return NULL;
        }
        return list;
}

/*
 * The guest's systemd notifies vsock port 8888 of the host. Over AF_VSOCK
 * the host's ports are one space for all VMs: each VM gets 8888 + its CID,
 * which is unique, and the guest is told so.
 */
#define NOTIFY_PORT 8888u

/*
 * How the guest says it is ready, when the VM must (docs/running.md):
 * with microvm.host.useNotifySockets, and, as in microvm.nix, whenever
 * cloud-hypervisor has a vsock (it hands the guest the address itself).
 * NULL: ready once the hypervisor is up.
 */
static struct value *notify_plan(const struct hypervisor_ops *ops, const struct value *guest,
                                 const struct value *host, const char *name, unsigned *vsock_port,
                                 struct mv_error **err)
{
        bool wanted = vget_bool(host, "microvm.host.useNotifySockets", false);
        int64_t cid = vget_int(guest, "microvm.vsock.cid", -1);
        *vsock_port = 0;
        if (!wanted && !(ops->supports_notify_socket && cid >= 0))
                return value_new(VALUE_NULL, nowhere);
        if (cid < 0) {
                mv_error_config(err,
                                "vm %s: microvm.host.useNotifySockets is on, and the guest's "
                                "readiness comes over vsock, but microvm.vsock.cid is not set",
                                name);
                mv_error_hint(err,
                              "set microvm.vms.%s.config.microvm.vsock.cid to a CID (3 or "
                              "more) no other VM uses, or turn useNotifySockets off",
                              name);
                return NULL;
        }
        struct value *n = value_new(VALUE_ATTRS, nowhere);
        if (ops->hybrid_vsock) {
                _cleanup_free_ char *sock = xasprintf("%s_%u", ops->hybrid_vsock, NOTIFY_PORT);
                put(n, "socket", str(sock));
                return n;
        }
        if (strcmp(ops->name, "qemu") != 0 && strcmp(ops->name, "crosvm") != 0) {
                value_free(n);
                mv_error_config(err, "vm %s: %s cannot pass the guest's readiness over vsock", name,
                                ops->name);
                mv_error_hint(err, "turn microvm.host.useNotifySockets off, or use qemu, "
                                   "cloud-hypervisor, firecracker or crosvm");
                return NULL;
        }
        if ((uint64_t)cid > UINT32_MAX - NOTIFY_PORT) {
                value_free(n);
                mv_error_config(err, "vm %s: microvm.vsock.cid %lld is too large for a notify port",
                                name, (long long)cid);
                return NULL;
        }
        *vsock_port = NOTIFY_PORT + (unsigned)cid;
        put(n, "vsockCid", value_new_int(cid, nowhere));
        put(n, "vsockPort", value_new_int(*vsock_port, nowhere));
        return n;
}

static struct value *str_or_null(const char *s)
{
        return s ? str(s) : value_new(VALUE_NULL, nowhere);
}

/* Who the hypervisor runs as, and its locked-memory limit: see host/privileges.h. */
static struct value *run_as_plan(const struct value *guest)
{
        struct run_as id;
        run_as_resolve(vget_str(guest, "microvm.user"), &id);
        struct value *p = value_new(VALUE_ATTRS, nowhere);
        put(p, "switch", value_new_bool(id.switch_ids, nowhere));
        put(p, "user", str(id.user));
        put(p, "uid", value_new_int(id.uid, nowhere));
        put(p, "group", str(id.group));
        put(p, "gid", value_new_int(id.gid, nowhere));
        put(p, "reason", str_or_null(id.reason));
        struct value *memlock;
        if (!id.set_memlock)
                memlock = value_new(VALUE_NULL, nowhere);
        else if (id.memlock.rlim_max == RLIM_INFINITY)
                memlock = str("infinity");
        else
                memlock = value_new_int((int64_t)id.memlock.rlim_max, nowhere);
        put(p, "memlock", memlock);
        put(p, "memlockNote", str_or_null(id.memlock_note));
        run_as_done(&id);
        return p;
}

static const char *const shutdown_names[] = {
        [HV_SHUTDOWN_NONE] = "signal",
        [HV_SHUTDOWN_QMP] = "qmp",
        [HV_SHUTDOWN_CH_API] = "cloud-hypervisor-api",
        [HV_SHUTDOWN_FC_API] = "firecracker-api",
        [HV_SHUTDOWN_CROSVM_CMD] = "crosvm-powerbtn",
};

/* The hypervisor executable: the configured package, else the backend's name in PATH. */
static int hypervisor_binary(const struct hypervisor_ops *ops, const struct value *guest,
                             char **path, struct mv_error **err)
{
        _cleanup_free_ char *opt = xasprintf("microvm.\"%s\".package", ops->name);
        const char *configured = vget_str(guest, opt);
        int r = find_program(configured ? configured : ops->binary_name, path, err);
        if (r < 0)
                mv_error_hint(err,
                              configured ? "fix microvm.%s.package"
                                         : "install %s, or set microvm.%s.package to its path",
                              configured ? ops->name : ops->binary_name, ops->name);
        return r;
}

/*
 * A macvtap that does not exist yet has no ifindex: 0 stands in, and the
 * plan says so (run plans the command again once the macvtap exists).
 */
static int ifindex_or_pending(const char *iface, void *data)
{
        struct hv_vm lookup = { 0 };
        int index = hv_ifindex(&lookup, iface);
        if (index >= 0)
                return index;
        *(bool *)data = true;
        return 0;
}

static void find_optional(const char *name, char **out)
{
        if (find_program(name, out, NULL) < 0)
                *out = NULL;
}

/* Asked by qemu when its accelerator depends on it; qemu falls back to TCG. */
static bool probe_kvm(const struct hv_vm *vm)
{
        const struct kvm_probe *p = kvm_probe();
        if (!p->usable)
                log_warning("vm %s: %s; qemu runs it with TCG instead (emulated, much slower)",
                            vm->name, p->reason);
        return p->usable;
}

int vm_plan(const struct value *host, const char *name, struct value **out, struct mv_error **err)
{
        const char *state = vget_str(host, "microvm.stateDir");
        _cleanup_value_ struct value *spec = NULL;
        _cleanup_free_ char *runner = statedir_link_runner(state, name, "current");
        _cleanup_free_ char *vm_dir = xasprintf("%s/%s", state, name);
        _cleanup_free_ char *runner_dir = NULL;
        int r = vm_read_spec(state, name, "current", &spec, err);
        if (r < 0)
                return r;
        runner_dir = xasprintf("%s/" RUNNERS_DIR "/%s", state, runner);

        const struct value *guest = value_lookup(spec, "config");
        const char *hv = vget_str(guest, "microvm.hypervisor");
        const struct hypervisor_ops *ops = hypervisor_find(hv);
        if (!ops || !ops->build)
                return mv_error_fail(err, "vm %s: the %s backend is not available", name, hv);

        _cleanup_value_ struct value *plan = value_new(VALUE_ATTRS, nowhere);
        put(plan, "vm", str(name));
        put(plan, "runner", str(runner));
        put(plan, "hypervisor", str(hv));
        put(plan, "workingDirectory", str(vm_dir));

        struct value *volumes = value_new(VALUE_LIST, nowhere);
        put(plan, "volumes", volumes);
        const struct value *vols = vget_list(guest, "microvm.volumes");
        for (size_t i = 0; vols && i < vols->n_items; i++) {
                struct value *v = volume_plan(vm_dir, vols->items[i], err);
                if (!v)
                        return mv_error_wrap(err, "vm %s", name);
                value_list_append(volumes, v);
        }

        _cleanup_free_ char *binary = NULL, *netcat = NULL, *helper = NULL, *unbuffer = NULL;
        r = hypervisor_binary(ops, guest, &binary, err);
        if (r < 0)
                return mv_error_wrap(err, "vm %s", name);
        find_optional("nc", &netcat);
        find_optional("unbuffer", &unbuffer);
        bool ifindex_pending = false;
        helper = access("/usr/lib/qemu/qemu-bridge-helper", X_OK) == 0
                         ? xstrdup("/usr/lib/qemu/qemu-bridge-helper")
                         : NULL;
        struct hv_vm vm = {
                .name = name,
                .guest = guest,
                .binary = binary,
                .runner_dir = runner_dir,
                .env = { .arch = "x86_64",
                         .netcat = netcat ? netcat : "nc",
                         .bridge_helper = helper ? helper : "qemu-bridge-helper",
                         .seccomp = true,
                         .unbuffer = unbuffer,
                         .kvm_usable = probe_kvm,
                         .ifindex = ifindex_or_pending,
                         .ifindex_data = &ifindex_pending },
        };
        put(plan, "interfaces", interfaces_plan(ops, &vm, host));
        struct value *notify = notify_plan(ops, guest, host, name, &vm.env.notify_vsock_port, err);
        if (!notify)
                return mv_error_return(*err);
        put(plan, "notify", notify);

        struct value *vfs = virtiofsd_plan(spec, guest, name, hv, vm_dir, err);
        if (!vfs)
                return r < 0 ? r : mv_error_return(*err);
        put(plan, "virtiofsd", vfs);

        struct hv_command cmd = { 0 };
        r = ops->build(&vm, &cmd, err);
        if (r < 0)
                return r;
        struct value *command = value_new(VALUE_ATTRS, nowhere);
        put(command, "argv", argv_value(cmd.argv));
        struct value *files = value_new(VALUE_ATTRS, nowhere);
        for (size_t i = 0; cmd.file_names && cmd.file_names[i]; i++)
                put(files, cmd.file_names[i], str(cmd.file_contents[i]));
        put(command, "files", files);
        put(command, "ifindexPending", value_new_bool(ifindex_pending, nowhere));
        put(plan, "command", command);
        hv_command_free(&cmd);

        put(plan, "shutdown",
            str(shutdown_names[ops->shutdown ? ops->shutdown(&vm) : HV_SHUTDOWN_NONE]));
        const char *socket = ops->control_socket ? vget_str(guest, "microvm.socket") : NULL;
        put(plan, "socket", str_or_null(socket));
        put(plan, "runAs", run_as_plan(guest));
        value_sort_attrs(plan);
        *out = TAKE_PTR(plan);
        return 0;
}
