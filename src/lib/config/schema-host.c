/*
 * Host options: names, types, defaults and descriptions as microvm.nix's
 * host module declares them (nixos-modules/host/options.nix), so that
 * lines copied from its documentation mean the same thing here.
 */
#include <stdlib.h>

#include "config/merge.h"
#include "config/schema.h"

#define HOST_MODULE "<microvm.nix/nixos-modules/host/options.nix>"
/* The seed's host module: options microvm.nix has since moved or removed. */
#define SEED_HOST_MODULE "<microvm.nix " SCHEMA_SEED_COMMIT "/nixos-modules/host/options.nix>"
/* The note on a seed host option that microvm.nix moved into the guest options. */
#define MOVED_TO_GUEST(option)                                                                     \
        "From microvm.nix " SCHEMA_SEED_COMMIT "'s host module; at " SCHEMA_UPSTREAM_COMMIT        \
        " it is a guest option, microvm.vms.<name>.config.microvm.virtiofsd." option               \
        ", which microvm also reads"
#define SEED_HOST_UNITS "<microvm.nix " SCHEMA_SEED_COMMIT "/nixos-modules/host/default.nix>"

static const char *const inode_file_handles_values[] = { "never", "prefer", "mandatory", NULL };
static const struct type type_inode_file_handles = { .kind = TYPE_ENUM,
                                                     .values = inode_file_handles_values };
static const struct type type_null_or_inode_file_handles = { .kind = TYPE_NULL_OR,
                                                             .inner = &type_inode_file_handles };

static const struct type type_null_or_guest = { .kind = TYPE_NULL_OR, .inner = &schema_guest };
static const struct type type_null_or_any = { .kind = TYPE_NULL_OR, .inner = &type_any };
static const struct type type_module = { .kind = TYPE_ANY, .name = "module" };
static const struct type type_list_of_module = { .kind = TYPE_LIST_OF, .inner = &type_module };

/* Fully declarative VMs (with `config`) restart on change by default; others do not. */
static int default_restart_if_changed(const struct merge_ctx *ctx, struct value **out)
{
        const struct value *config = value_lookup(merge_ctx_root(ctx, 0), "config");
        *out = value_new_bool(config && config->type != VALUE_NULL, (struct srcpos){ 0 });
        return 0;
}

static const struct mv_option vm_options[] = {
        {
                .name = "autostart",
                .type = &type_bool,
                .default_nix = "true",
                .description = "Add this MicroVM to config.microvm.autostart?",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "config",
                .type = &type_null_or_guest,
                .default_nix = "null",
                .description = "A specification of the desired configuration of this MicroVM, as "
                               "a NixOS module, for building without a flake.",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "evaluatedConfig",
                .type = &type_null_or_any,
                .default_nix = "null",
                .description = "An already evaluated configuration of this MicroVM.\nAllows "
                               "supplying an already evaluated configuration or an alternative "
                               "configuration evaluation function instead of NixOS's default "
                               "eval-config.\n\nmicrovm reads config as data and evaluates no "
                               "Nix: only null is accepted here.",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "extraModules",
                .type = &type_list_of_module,
                .default_nix = "[ ]",
                .example = "[\n  flakeInputs.some-project.nixosModules.example\n"
                           "  flakeInputs.another-project.nixosModules.default\n]",
                .description = "This option is only respected when config is specified.\n\n"
                               "A list of additional NixOS modules to be merged into the "
                               "MicroVM's system configuration.\n\nmicrovm reads config as "
                               "data and evaluates no NixOS modules: only [ ] is accepted here.",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "flake",
                .type = &type_null_or_abs_path,
                .default_nix = "null",
                .example = "flakeInputs.my-infra",
                .description = "Source flake for declarative build",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "nixpkgs",
                .type = &type_abs_path,
                .default_text = "pkgs.path",
                .description = "This option is only respected when config is specified.\n\n"
                               "The nixpkgs path to use for the MicroVM. Defaults to the host's "
                               "nixpkgs.",
                .declared_by = HOST_MODULE,
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "pkgs",
                .type = &type_null_or_any,
                .default_text = "pkgs",
                .description =
                        "This option is only respected when config is specified.\n\n"
                        "The package set to use for the MicroVM. Must be a nixpkgs package set "
                        "with the microvm overlay. Determines the system of the MicroVM.\n\n"
                        "If set to null, a new package set will be instantiated.",
                .declared_by = HOST_MODULE,
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "restartIfChanged",
                .type = &type_bool,
                .default_fn = default_restart_if_changed,
                .default_text = "true when config is set, false otherwise",
                .description = "Restart this MicroVM's services if the systemd units are changed, "
                               "i.e. if it has been updated by rebuilding the host.\n\n"
                               "Defaults to true for fully-declarative MicroVMs.",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "specialArgs",
                .type = &type_attrs_of_any,
                .default_nix = "{ }",
                .description = "This option is only respected when config is specified.\n\n"
                               "A set of special arguments to be passed to NixOS modules. This "
                               "will be merged into the specialArgs used to evaluate the NixOS "
                               "configurations.",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "updateFlake",
                .type = &type_null_or_str,
                .default_nix = "null",
                .example = "\"git+file:///home/user/my-infra\"",
                .description = "Source flakeref to store for later imperative update",
                .declared_by = HOST_MODULE,
        },
        { 0 },
};

const struct type schema_vm = { .kind = TYPE_SUBMODULE, .options = vm_options };

static const struct type type_vms = { .kind = TYPE_ATTRS_OF, .inner = &schema_vm };

static const struct mv_option unit_switch_options[] = {
        {
                .name = "enable",
                .type = &type_bool,
                .default_nix = "true",
                .description = "Whether the unit, and the part of the VM's start it does, is "
                               "there (see systemd.services).",
                .declared_by = SEED_HOST_UNITS,
        },
        { 0 },
};

static const struct type type_unit_switch = { .kind = TYPE_SUBMODULE,
                                              .options = unit_switch_options };
static const struct type type_unit_switches = { .kind = TYPE_ATTRS_OF, .inner = &type_unit_switch };

static const struct mv_option host_options[] = {
        {
                .name = "microvm.autostart",
                .type = &type_list_of_str,
                .default_nix = "[ ]",
                .description = "MicroVMs to start by default.\n\n"
                               "This includes declarative config.microvm.vms as well as MicroVMs "
                               "that are managed through the microvm command.",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "microvm.host.enable",
                .type = &type_bool,
                .default_nix = "true",
                .description = "Whether to enable the microvm.nix host module.",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "microvm.host.restartDelay",
                .type = &type_uint,
                .default_nix = "5",
                .description = "microvm's own, not in microvm.nix.\n\n"
                               "Seconds a VM's monitor waits before it restarts a VM that ended "
                               "(microvm.nix's units: RestartSec=5s). Each run shorter than 30 s "
                               "in a row doubles the delay, up to 300 s. 0 restarts at once.",
                .declared_by = "<microvm>",
        },
        {
                .name = "microvm.host.startupTimeout",
                .type = &type_positive,
                .default_nix = "150",
                .description = "Start up timeout for the VMs in seconds\n\n"
                               "microvm.nix sets it as the TimeoutSec of its microvm@ units. "
                               "Here it is the time a VM has to become ready when it is "
                               "started: with microvm.host.useNotifySockets, until the guest "
                               "sends READY=1; otherwise until the hypervisor is up (qemu: "
                               "answers on its QMP socket). A VM that is not ready by then is "
                               "stopped and its start reported as failed.",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "microvm.host.systemdUnits",
                .type = &type_bool,
                .default_nix = "true",
                .description = "microvm's own, not in microvm.nix.\n\n"
                               "Whether VMs run as systemd units where systemd is PID 1 and "
                               "microvm@.service is installed (make install): "
                               "microvm-generator then writes the units of this configuration, "
                               "and start, stop, restart, autostart and apply go through "
                               "systemctl. false keeps microvm's own monitors on such a host, "
                               "and the generator writes nothing. Elsewhere it has no effect.",
                .declared_by = "<microvm>",
        },
        {
                .name = "microvm.host.tapScript",
                .type = &type_lines,
                .default_nix = "''\n  ip link set \"$id\" up\n''",
                .example = "''\n  # Attach tap interface to bridge br0, and bring it up\n"
                           "  ip link set \"$id\" master br0 up\n''",
                .description =
                        "From microvm.nix " SCHEMA_SEED_COMMIT
                        "'s host module; at " SCHEMA_UPSTREAM_COMMIT
                        " the host module no longer has it: a VM's tap "
                        "interfaces are set up by its own microvm.binScripts.tap-up.\n\n"
                        "Commands to run after creating a tap interface\n\n"
                        "Defaults to bring the interface up.\n\n"
                        "If you do not want the interface to be automatically created at all, "
                        "just set systemd.services.\"microvm-tap-interfaces@%i.service\".enable "
                        "= false\n\n"
                        "The script runs with /bin/sh; the interface name is in the environment "
                        "variable id: the kernel's name, which for an id longer than 15 bytes is "
                        "derived from it (ip also takes the id itself, the interface's "
                        "alternative name). The default is carried out without a shell.",
                .declared_by = SEED_HOST_MODULE,
        },
        {
                .name = "microvm.host.useNotifySockets",
                .type = &type_bool,
                .default_nix = "false",
                .description =
                        "Enable if all your MicroVMs run with a Hypervisor that sends readiness "
                        "notification over a VSOCK.\n\n"
                        "Danger! If one of your MicroVMs doesn't do this, its systemd service "
                        "will not start up successfully!",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "microvm.stateDir",
                .type = &type_abs_path,
                .default_nix = "\"/var/lib/microvms\"",
                .description = "Directory that contains the MicroVMs",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "microvm.virtiofsd.extraArgs",
                .type = &type_list_of_str,
                .default_nix = "[ ]",
                .description = MOVED_TO_GUEST(
                        "extraArgs") "; this host-wide list comes before a VM's own.\n\n"
                                     "Extra command-line switch to pass to virtiofsd.",
                .declared_by = SEED_HOST_MODULE,
        },
        {
                .name = "microvm.virtiofsd.inodeFileHandles",
                .type = &type_null_or_inode_file_handles,
                .default_nix = "null",
                .description = MOVED_TO_GUEST(
                        "inodeFileHandles") "; this host-wide setting is the default of a VM that "
                                            "does not set it.\n\n"
                                            "When to use file handles to reference inodes instead "
                                            "of O_PATH file "
                                            "descriptors (never, prefer, mandatory)\n\n"
                                            "Allows you to overwrite default behavior in case you "
                                            "hit \"too many "
                                            "open files\" on eg. ZFS. "
                                            "https://gitlab.com/virtio-fs/virtiofsd/-/issues/121",
                .declared_by = SEED_HOST_MODULE,
        },
        {
                .name = "microvm.virtiofsd.threadPoolSize",
                .type = &type_thread_pool,
                .default_nix = "\"`nproc`\"",
                .description =
                        MOVED_TO_GUEST("threadPoolSize") "; this host-wide setting is the default "
                                                         "of a VM that does not set it.\n\n"
                                                         "The amounts of threads virtiofsd should "
                                                         "spawn. This option also "
                                                         "takes the special string `nproc` which "
                                                         "spawns as many threads as "
                                                         "the host has cores.",
                .declared_by = SEED_HOST_MODULE,
        },
        {
                .name = "microvm.vms",
                .type = &type_vms,
                .default_nix = "{ }",
                .description = "The MicroVMs that shall be built declaratively with the host "
                               "NixOS.",
                .declared_by = HOST_MODULE,
        },
        {
                .name = "systemd.services",
                .type = &type_unit_switches,
                .default_nix = "{ }",
                .example = "{ \"microvm-tap-interfaces@%i.service\".enable = false; }",
                .description =
                        "The switches of the units microvm.nix's host module makes for each "
                        "VM's helpers, as NixOS writes them: "
                        "`systemd.services.\"UNIT@INSTANCE.service\".enable = false`, UNIT one "
                        "of microvm-tap-interfaces, microvm-macvtap-interfaces, "
                        "microvm-pci-devices and microvm-virtiofsd, INSTANCE `%i` for every VM "
                        "or a VM's name (\".service\" may be left out). Other units are "
                        "refused.\n\n"
                        "A part switched off is nobody's to do, with or without systemd: "
                        "microvm does not create the VM's taps (and does not run "
                        "microvm.host.tapScript or binScripts.tap-up), or its macvtaps, does "
                        "not bind its PCI devices to vfio-pci, or does not start its "
                        "virtiofsd, and the generator leaves that unit out of the VM's "
                        "dependencies. What the part makes must then exist when the VM "
                        "starts: the interfaces, the devices bound, a virtiofsd listening on "
                        "each share's socket.",
                .declared_by = SEED_HOST_UNITS,
        },
        { 0 },
};

const struct type schema_host = { .kind = TYPE_SUBMODULE, .options = host_options, .module = true };
