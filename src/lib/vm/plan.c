#include "vm/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/devices.h"
#include "config/ifname.h"
#include "config/json-read.h"
#include "config/merge.h"
#include "config/value-get.h"
#include "host/kvm-probe.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/foreign.h"
#include "vm/ownership.h"
#include "vm/records.h"
#include "vm/runner.h"
#include "vm/settings.h"
#include "vm/store-path.h"

int vm_read_spec(const char *state_dir, const char *name, const char *runner, struct value **spec,
                 struct mv_error **err)
{
        _cleanup_free_ char *dir = runner_path(state_dir, runner);
        _cleanup_free_ char *path = xasprintf("%s/" RUNNER_SPEC, dir);
        struct source_set set = { 0 };
        struct source *src = NULL;
        int r = source_load(&set, path, 0, &src, err);
        if (r >= 0)
                r = json_parse(src, spec, err);
        if (r < 0) {
                source_set_free(&set);
                return mv_error_wrap(err, "vm %s: read %s", name, path);
        }
        value_forget_positions(*spec);
        source_set_free(&set);
        return 0;
}

/* mkfs.<fsType> with its label flag, as microvm.nix's volume creation runs it. */
static int volume_plan(const char *vm_dir, const struct value *v, struct plan_volume *p,
                       struct mv_error **err)
{
        const char *image = vget_str(v, "image"), *fs = vget_str(v, "fsType");
        const char *label = vget_str(v, "label");
        p->image = image[0] == '/' ? xstrdup(image) : xasprintf("%s/%s", vm_dir, image);
        /* Only whether something is there: what it is, the run finds out as the VM's user. */
        p->exists = faccessat(AT_FDCWD, p->image, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
        p->create = vget_bool(v, "autoCreate", true) && !p->exists;
        p->read_only = vget_bool(v, "readOnly", false);
        if (!p->create)
                return 0;
        p->size_mib = vget_int(v, "size", -1);
        if (p->size_mib <= 0)
                return mv_error_config(err,
                                       "volume %s: microvm.volumes.*.size is not set; it is "
                                       "needed to create the image",
                                       image);
        strv_pushf(&p->mkfs, "mkfs.%s", fs);
        if (label) {
                bool dash_n = strcmp(fs, "vfat") == 0;
                bool dash_l = strncmp(fs, "ext", 3) == 0 || strcmp(fs, "xfs") == 0 ||
                              strcmp(fs, "btrfs") == 0;
                if (dash_n || dash_l) {
                        strv_push(&p->mkfs, dash_n ? "-n" : "-L");
                        strv_push(&p->mkfs, label);
                }
        }
        vlist_push_strings(&p->mkfs, vget_list(v, "mkfsExtraArgs"));
        strv_push(&p->mkfs, p->image);
        return 0;
}

static void interfaces_plan(struct vm_plan *plan, const struct hv_vm *vm,
                            const struct host_settings *hs)
{
        const struct hypervisor_ops *ops = plan->hypervisor;
        const struct value *ifaces = vget_list(vm->guest, "microvm.interfaces");
        bool mq = ops->tap_multi_queue && ops->tap_multi_queue(vm);
        const char *owner = vget_str(vm->guest, "microvm.user");

        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const struct value *it = ifaces->items[i];
                const char *type = vget_str(it, "type");
                bool macvtap = strcmp(type, "macvtap") == 0;
                if (strcmp(type, "tap") != 0 && !macvtap)
                        continue;
                ifname_buf ifname;
                plan->interfaces = xreallocarray(plan->interfaces, plan->n_interfaces + 1,
                                                 sizeof(*plan->interfaces));
                struct plan_interface *p = &plan->interfaces[plan->n_interfaces++];
                *p = (struct plan_interface){
                        .id = xstrdup(vget_str(it, "id")),
                        .ifname = xstrdup(interface_kernel_name(vget_str(it, "id"), ifname)),
                        .macvtap = macvtap,
                        /* With its unit switched off an interface is someone else's to create. */
                        .create = plan_creates_interface(plan, macvtap),
                        .mac = xstrdup(vget_str(it, "mac")),
                        .owner = xstrdup(owner ? owner : RUN_AS_USER),
                };
                /* Macvtaps where the backend takes them so, taps with env.taps_as_fds. */
                p->n_fds = passed_fds(vm, ops, p->id, &p->fds);
                if (!macvtap) {
                        p->multi_queue = mq;
                        p->tap_script = hs->tap_script ? xstrdup(hs->tap_script) : NULL;
                        continue;
                }
                p->link = xstrdup(vget_str(it, "macvtap.link"));
                p->mode = xstrdup(vget_str(it, "macvtap.mode"));
        }
}

static int virtiofsd_plan(struct vm_plan *plan, const struct value *guest, struct mv_error **err)
{
        const struct value *shares = vget_list(guest, "microvm.shares");
        struct virtiofsd vfs = { 0 };
        struct virtiofsd_settings settings;
        int r = 0;

        virtiofsd_settings(value_lookup(plan->spec, "virtiofsd"), guest, &settings);
        for (size_t i = 0; r >= 0 && shares && i < shares->n_items; i++) {
                const struct value *s = shares->items[i];
                if (strcmp(vget_str(s, "proto"), "virtiofs") != 0)
                        continue;
                if (!vfs.path && (r = virtiofsd_find(vget_str(guest, "microvm.virtiofsd.package"),
                                                     &vfs, err)) < 0)
                        break;
                char **argv = NULL;
                r = virtiofsd_argv(&vfs, &settings, plan->vm, plan->hypervisor->virtiofs_tag, s,
                                   plan->working_directory, geteuid() == 0, &argv, err);
                if (r < 0)
                        break;
                plan->virtiofsd = xreallocarray(plan->virtiofsd, plan->n_virtiofsd + 1,
                                                sizeof(*plan->virtiofsd));
                plan->virtiofsd[plan->n_virtiofsd++] = (struct plan_virtiofsd){
                        .tag = xstrdup(vget_str(s, "tag")),
                        .socket = xstrdup(vget_str(s, "socket")),
                        .socket_group = settings.group ? xstrdup(settings.group) : NULL,
                        .flavour = vfs.flavour,
                        .argv = argv,
                };
        }
        virtiofsd_settings_done(&settings);
        virtiofsd_done(&vfs);
        return r;
}

/*
 * How the guest says it is ready, when the VM must (docs/running.md):
 * with microvm.host.useNotifySockets, and, as in microvm.nix, whenever
 * cloud-hypervisor has a vsock (it hands the guest the address itself).
 */
static int notify_plan(struct vm_plan *plan, const struct value *guest,
                       const struct host_settings *hs, struct mv_error **err)
{
        const struct hypervisor_ops *ops = plan->hypervisor;
        int64_t cid = vget_int(guest, "microvm.vsock.cid", -1);
        if (!hs->use_notify_sockets && !(ops->supports_notify_socket && cid >= 0))
                return 0;
        if (cid < 0) {
                mv_error_config(err,
                                "vm %s: microvm.host.useNotifySockets is on, and the guest's "
                                "readiness comes over vsock, but microvm.vsock.cid is not set",
                                plan->vm);
                return mv_error_hint(err,
                                     "set microvm.vms.%s.config.microvm.vsock.cid to a CID (3 or "
                                     "more) no other VM uses, or turn useNotifySockets off",
                                     plan->vm);
        }
        plan->readiness = READY_ON_NOTIFY;
        if (ops->hybrid_vsock) {
                plan->notify_socket = xasprintf("%s_%u", ops->hybrid_vsock, NOTIFY_PORT);
                return 0;
        }
        if (!ops->notify_over_vsock) {
                mv_error_config(err, "vm %s: %s cannot pass the guest's readiness over vsock",
                                plan->vm, ops->name);
                return mv_error_hint(err, "turn microvm.host.useNotifySockets off, or use qemu, "
                                          "cloud-hypervisor, firecracker or crosvm");
        }
        if ((uint64_t)cid > UINT32_MAX - NOTIFY_PORT)
                return mv_error_config(err,
                                       "vm %s: microvm.vsock.cid %lld is too large for a notify "
                                       "port",
                                       plan->vm, (long long)cid);
        plan->notify_cid = (uint32_t)cid;
        plan->notify_port = NOTIFY_PORT + (uint32_t)cid;
        return 0;
}

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
 * plan says so (a run builds the command again once the macvtap exists).
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

/* Asked by qemu when its accelerator depends on it; qemu falls back to TCG. */
static bool probe_kvm(const struct hv_vm *vm)
{
        const struct kvm_probe *p = kvm_probe();
        if (!p->usable)
                log_warning("vm %s: %s; qemu runs it with TCG instead (emulated, much slower)",
                            vm->name, p->reason);
        return p->usable;
}

/* The host programs a command line may name, looked up once per plan. */
struct host_programs {
        char *binary, *netcat, *helper, *unbuffer;
};

static void host_programs_done(struct host_programs *p)
{
        free(p->binary);
        free(p->netcat);
        free(p->helper);
        free(p->unbuffer);
}

static void find_optional(const char *name, char **out)
{
        if (find_program(name, out, NULL) < 0)
                *out = NULL;
}

/* The VM as the backends see it, with the host's programs. */
static void plan_hv_vm(const struct vm_plan *plan, const struct host_programs *progs,
                       const char *runner_dir, bool *pending, struct hv_vm *vm)
{
        *vm = (struct hv_vm){
                .name = plan->vm,
                .guest = value_lookup(plan->spec, "config"),
                .binary = progs->binary,
                .runner_dir = runner_dir,
                .env = { .arch = "x86_64",
                         .netcat = progs->netcat ? progs->netcat : "nc",
                         .bridge_helper = progs->helper ? progs->helper : "qemu-bridge-helper",
                         .seccomp = true,
                         .unbuffer = progs->unbuffer,
                         .kvm_usable = probe_kvm,
                         .ifindex = ifindex_or_pending,
                         .ifindex_data = pending,
                         .notify_vsock_port = plan->notify_port,
                         .taps_as_fds = plan->taps_as_fds },
        };
}

static void host_programs_find(struct host_programs *p)
{
        find_optional("nc", &p->netcat);
        find_optional("unbuffer", &p->unbuffer);
        p->helper = access("/usr/lib/qemu/qemu-bridge-helper", X_OK) == 0
                            ? xstrdup("/usr/lib/qemu/qemu-bridge-helper")
                            : NULL;
}

/* Build the hypervisor's argv and files into the plan. */
static int build_command(struct vm_plan *plan, const struct hv_vm *vm, const bool *pending,
                         struct mv_error **err)
{
        struct hv_command cmd = { 0 };
        int r = plan->hypervisor->build(vm, &cmd, err);
        if (r < 0)
                return r;
        strv_free(plan->argv);
        strv_free(plan->file_names);
        strv_free(plan->file_contents);
        plan->argv = TAKE_PTR(cmd.argv);
        plan->file_names = TAKE_PTR(cmd.file_names);
        plan->file_contents = TAKE_PTR(cmd.file_contents);
        plan->ifindex_pending = *pending;
        return 0;
}

const char *const plan_snippet_options[N_PLAN_SNIPPETS] = {
        [SNIPPET_PRE_START] = "microvm.preStart",
        [SNIPPET_EXTRA_ARGS] = "microvm.extraArgsScript",
        [SNIPPET_TAP_UP] = "microvm.binScripts.tap-up",
        [SNIPPET_TAP_DOWN] = "microvm.binScripts.tap-down",
        [SNIPPET_MACVTAP_UP] = "microvm.binScripts.macvtap-up",
        [SNIPPET_MACVTAP_DOWN] = "microvm.binScripts.macvtap-down",
        [SNIPPET_PCI_SETUP] = "microvm.binScripts.pci-setup",
};

/* An empty snippet is none: microvm.nix's default preStart is "". */
static void snippets_plan(struct vm_plan *plan, const struct value *guest)
{
        for (size_t i = 0; i < N_PLAN_SNIPPETS; i++) {
                const char *option = plan_snippet_options[i];
                const char *text = NULL;
                if (strncmp(option, "microvm.binScripts.", 19) == 0) {
                        const struct value *scripts = value_lookup(guest, "microvm.binScripts");
                        const struct attr *a = scripts && scripts->type == VALUE_ATTRS
                                                       ? value_attrs_get(scripts, option + 19)
                                                       : NULL;
                        text = a && a->value->type == VALUE_STRING ? a->value->str : NULL;
                } else {
                        text = vget_str(guest, option);
                }
                if (text && text[strspn(text, " \t\n")])
                        plan->snippets[i] = xstrdup(text);
        }
}

/* The guest's PCI devices for the host to bind (checked when the configuration was read). */
static int pci_plan(struct vm_plan *plan, const struct value *guest, struct mv_error **err)
{
        const struct value *devices = vget_list(guest, "microvm.devices");
        for (size_t i = 0; devices && i < devices->n_items; i++) {
                if (strcmp(vget_str(devices->items[i], "bus"), "pci") != 0)
                        continue;
                int r = vm_plan_add_pci_device(plan, vget_str(devices->items[i], "path"), err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int vm_plan_add_pci_device(struct vm_plan *plan, const char *addr, struct mv_error **err)
{
        if (!pci_address_valid(addr)) {
                mv_error_fail(err, "\"%s\" is not a full PCI address", addr);
                return mv_error_hint(err, "microvm.devices names PCI devices as 'lspci -D' "
                                          "lists them, e.g. \"0000:01:00.0\"");
        }
        char normal[PCI_ADDRESS_LEN + 1];
        pci_address_normalise(addr, normal);
        for (size_t i = 0; plan->pci_devices && plan->pci_devices[i]; i++)
                if (strcmp(plan->pci_devices[i], normal) == 0)
                        return mv_error_fail(err, "PCI device %s is listed twice", normal);
        strv_push(&plan->pci_devices, normal);
        return 0;
}

static int plan_build(const struct host_settings *hs, struct vm_plan *plan, struct mv_error **err)
{
        const struct value *guest = value_lookup(plan->spec, "config");
        const char *hv = vget_str(guest, "microvm.hypervisor");
        plan->hypervisor = hypervisor_find(hv);
        if (!plan->hypervisor || !plan->hypervisor->build)
                return mv_error_fail(err, "the %s backend is not available", hv);

        const struct value *shares = vget_list(guest, "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++)
                vm_plan_add_share(plan, vget_str(shares->items[i], "tag"),
                                  vget_str(shares->items[i], "source"));

        int r = pci_plan(plan, guest, err);
        if (r < 0)
                return r;

        const struct value *vols = vget_list(guest, "microvm.volumes");
        plan->n_volumes = vols ? vols->n_items : 0;
        plan->volumes = xcalloc(plan->n_volumes + 1, sizeof(*plan->volumes));
        for (size_t i = 0; i < plan->n_volumes; i++) {
                r = volume_plan(plan->working_directory, vols->items[i], &plan->volumes[i], err);
                if (r < 0)
                        return r;
        }

        static const char *const boot[] = { "microvm.kernel", "microvm.initrdPath",
                                            "microvm.storeDisk" };
        for (size_t i = 0; i < ELEMENTSOF(boot); i++) {
                const char *path = vget_str(guest, boot[i]);
                plan->boot_files[i] = path ? xstrdup(path) : NULL;
        }

        _cleanup_(host_programs_done) struct host_programs progs = { 0 };
        r = hypervisor_binary(plan->hypervisor, guest, &progs.binary, err);
        if (r < 0)
                return r;
        host_programs_find(&progs);
        if ((r = notify_plan(plan, guest, hs, err)) < 0 ||
            (r = virtiofsd_plan(plan, guest, err)) < 0)
                return r;
        if (plan->readiness != READY_ON_NOTIFY && plan->hypervisor->qmp_ready_probe &&
            vget_str(guest, "microvm.socket"))
                plan->readiness = READY_WHEN_QMP;

        /* Who the hypervisor runs as decides how it gets its taps. */
        run_as_resolve(vget_str(guest, "microvm.user"), &plan->run_as);
        r = ownership_taps_as_fds(&plan->run_as, guest_has_interface(guest, "tap"),
                                  &plan->taps_as_fds, err);
        if (r < 0)
                return r;

        _cleanup_free_ char *runner_dir = runner_path(plan->state_dir, plan->runner);
        bool pending = false;
        struct hv_vm vm;
        plan_hv_vm(plan, &progs, runner_dir, &pending, &vm);
        interfaces_plan(plan, &vm, hs);
        r = build_command(plan, &vm, &pending, err);
        if (r < 0)
                return r;
        plan->shutdown =
                plan->hypervisor->shutdown ? plan->hypervisor->shutdown(&vm) : HV_SHUTDOWN_NONE;
        /* microvm.nix's exec -a: ps shows which VM a hypervisor runs. */
        if (vget_bool(guest, "microvm.prettyProcnames", true)) {
                const char *host_name = vget_str(guest, "networking.hostName");
                plan->process_name = xasprintf("microvm@%s", host_name ? host_name : plan->vm);
        }
        snippets_plan(plan, guest);
        plan->register_with_machined = vget_bool(guest, "microvm.registerWithMachined", false);
        const char *host_name = vget_str(guest, "networking.hostName");
        const char *machine_id = vget_str(guest, "microvm.machineId");
        plan->machine_name = xstrdup(host_name ? host_name : plan->vm);
        plan->machine_id = machine_id ? xstrdup(machine_id) : NULL;
        const char *socket =
                plan->hypervisor->control_socket ? vget_str(guest, "microvm.socket") : NULL;
        plan->socket = socket ? xstrdup(socket) : NULL;
        return 0;
}

int vm_plan_record(const struct host_settings *hs, const char *name, const char *record,
                   struct vm_plan **out, struct mv_error **err)
{
        _cleanup_plan_ struct vm_plan *plan = xcalloc(1, sizeof(*plan));
        plan->vm = xstrdup(name);
        plan->helpers_off = host_helpers_disabled(hs, name);
        plan->state_dir = xstrdup(hs->state_dir);
        plan->working_directory = xasprintf("%s/%s", hs->state_dir, name);
        /* Resolved once: everything after reads this runner, whatever the record says later. */
        plan->runner = records_runner(hs->state_dir, name, record);
        if (!plan->runner && strcmp(record, "booted") == 0)
                return mv_error_fail(err, "vm %s is not running", name);
        if (!plan->runner) {
                mv_error_fail(err, "vm %s is not installed in %s", name, hs->state_dir);
                return mv_error_hint(err, "run 'microvm apply' to install the VMs of the "
                                          "configuration");
        }
        _cleanup_free_ char *dir = runner_path(hs->state_dir, plan->runner);
        int r = plan->runner[0] == '/' ? store_path_trusted(plan->runner, err) : 0;
        if (r >= 0 && access(dir, F_OK) < 0) {
                mv_error_set(err, errno, "its runner %s", dir);
                r = mv_error_hint(err, "install it again: 'microvm apply', or 'microvm install'");
        }
        if (r >= 0 && runner_is_foreign(dir))
                r = foreign_plan(plan, hs, dir, err);
        else if (r >= 0 &&
                 (r = vm_read_spec(hs->state_dir, name, plan->runner, &plan->spec, err)) >= 0)
                r = plan_build(hs, plan, err);
        if (r < 0)
                return mv_error_wrap(err, "vm %s", name);
        *out = TAKE_PTR(plan);
        return 0;
}

int vm_plan(const struct host_settings *hs, const char *name, struct vm_plan **out,
            struct mv_error **err)
{
        return vm_plan_record(hs, name, "current", out, err);
}

int vm_plan_booted(const struct host_settings *hs, const char *name, struct vm_plan **out,
                   struct mv_error **err)
{
        return vm_plan_record(hs, name, "booted", out, err);
}

int vm_plan_resolve_ifindex(const struct host_settings *hs, struct vm_plan *plan,
                            struct mv_error **err)
{
        (void)hs;
        if (!plan->ifindex_pending)
                return 0;
        _cleanup_(host_programs_done) struct host_programs progs = { 0 };
        const struct value *guest = value_lookup(plan->spec, "config");
        int r = hypervisor_binary(plan->hypervisor, guest, &progs.binary, err);
        if (r < 0)
                return r;
        host_programs_find(&progs);
        _cleanup_free_ char *runner_dir = runner_path(plan->state_dir, plan->runner);
        bool pending = false;
        struct hv_vm vm;
        plan_hv_vm(plan, &progs, runner_dir, &pending, &vm);
        r = build_command(plan, &vm, &pending, err);
        if (r >= 0 && plan->ifindex_pending)
                r = mv_error_fail(err,
                                  "vm %s: a macvtap's ifindex is still unknown after creating "
                                  "the interfaces",
                                  plan->vm);
        return r;
}

void vm_plan_add_share(struct vm_plan *plan, const char *tag, const char *source)
{
        /* microvm.nix creates every share source but the store itself. */
        if (strcmp(source, "/nix/store") == 0)
                return;
        plan->shares = xreallocarray(plan->shares, plan->n_shares + 1, sizeof(*plan->shares));
        plan->shares[plan->n_shares++] =
                (struct plan_share){ .tag = xstrdup(tag), .source = xstrdup(source) };
}

void vm_plan_free(struct vm_plan *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_shares; i++) {
                free(p->shares[i].tag);
                free(p->shares[i].source);
        }
        free(p->shares);
        strv_free(p->pci_devices);
        for (size_t i = 0; i < p->n_volumes; i++) {
                free(p->volumes[i].image);
                strv_free(p->volumes[i].mkfs);
        }
        free(p->volumes);
        for (size_t i = 0; i < p->n_interfaces; i++) {
                struct plan_interface *it = &p->interfaces[i];
                free(it->id);
                free(it->ifname);
                free(it->mac);
                free(it->owner);
                free(it->tap_script);
                free(it->link);
                free(it->mode);
                free(it->fds);
        }
        free(p->interfaces);
        for (size_t i = 0; i < p->n_virtiofsd; i++) {
                free(p->virtiofsd[i].tag);
                free(p->virtiofsd[i].socket);
                free(p->virtiofsd[i].socket_group);
                strv_free(p->virtiofsd[i].argv);
        }
        free(p->virtiofsd);
        strv_free(p->argv);
        strv_free(p->file_names);
        strv_free(p->file_contents);
        for (size_t i = 0; i < ELEMENTSOF(p->boot_files); i++)
                free(p->boot_files[i]);
        run_as_done(&p->run_as);
        value_free(p->spec);
        free(p->vm);
        free(p->runner);
        free(p->state_dir);
        free(p->working_directory);
        free(p->notify_socket);
        free(p->socket);
        free(p->shutdown_command);
        free(p->process_name);
        free(p->machine_name);
        free(p->machine_id);
        free(p->register_program);
        for (size_t i = 0; i < N_PLAN_SNIPPETS; i++) {
                free(p->snippets[i]);
                free(p->snippet_programs[i]);
        }
        free(p);
}

void vm_plan_freep(struct vm_plan **p)
{
        vm_plan_free(*p);
        *p = NULL;
}
