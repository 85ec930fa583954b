/*
 * Guest options: the microvm.* options of a MicroVM's NixOS module, with
 * the names, types, defaults and descriptions of microvm.nix
 * (nixos-modules/microvm/options.nix at 71beea0076cd).
 * Where microvm.nix takes a package, a path to the file or executable is
 * taken here. Options whose default only a Nix build can produce are left
 * out of the evaluation unless set (OPTION_OMIT_DEFAULT).
 */
#include "config/schema-guest-defaults.h"
#include "config/schema.h"

static const char *const type_enum_devices_bus_values[] = { "pci", "usb", NULL };
static const struct type type_enum_devices_bus = { .kind = TYPE_ENUM,
                                                   .values = type_enum_devices_bus_values };
static const char *const type_enum_firecracker_driveioengine_values[] = { "Async", "Sync", NULL };
static const struct type type_enum_firecracker_driveioengine = {
        .kind = TYPE_ENUM, .values = type_enum_firecracker_driveioengine_values
};
static const char *const type_enum_forwardports_from_values[] = { "host", "guest", NULL };
static const struct type type_enum_forwardports_from = {
        .kind = TYPE_ENUM, .values = type_enum_forwardports_from_values
};
static const char *const type_enum_forwardports_proto_values[] = { "tcp", "udp", NULL };
static const struct type type_enum_forwardports_proto = {
        .kind = TYPE_ENUM, .values = type_enum_forwardports_proto_values
};
static const char *const type_enum_graphics_backend_values[] = { "gtk", "cocoa", "headless", NULL };
static const struct type type_enum_graphics_backend = { .kind = TYPE_ENUM,
                                                        .values =
                                                                type_enum_graphics_backend_values };
static const char *const type_enum_graphics_vulkan_values[] = { "venus", "drm_native_context",
                                                                NULL };
static const struct type type_enum_graphics_vulkan = { .kind = TYPE_ENUM,
                                                       .values = type_enum_graphics_vulkan_values };
static const char *const type_enum_hypervisor_values[] = {
        "qemu",       "cloud-hypervisor", "firecracker", "crosvm", "kvmtool",
        "stratovirt", "alioth",           "vfkit",       NULL
};
static const struct type type_enum_hypervisor = { .kind = TYPE_ENUM,
                                                  .values = type_enum_hypervisor_values };
static const char *const type_enum_interfaces_macvtap_mode_values[] = { "private", "vepa",
                                                                        "bridge",  "passthru",
                                                                        "source",  NULL };
static const struct type type_enum_interfaces_macvtap_mode = {
        .kind = TYPE_ENUM, .values = type_enum_interfaces_macvtap_mode_values
};
static const char *const type_enum_interfaces_type_values[] = { "user", "tap", "macvtap", "bridge",
                                                                NULL };
static const struct type type_enum_interfaces_type = { .kind = TYPE_ENUM,
                                                       .values = type_enum_interfaces_type_values };
static const char *const type_enum_shares_cache_values[] = { "auto", "always", "metadata", "never",
                                                             NULL };
static const struct type type_enum_shares_cache = { .kind = TYPE_ENUM,
                                                    .values = type_enum_shares_cache_values };
static const char *const type_enum_shares_proto_values[] = { "9p", "virtiofs", NULL };
static const struct type type_enum_shares_proto = { .kind = TYPE_ENUM,
                                                    .values = type_enum_shares_proto_values };
static const char *const type_enum_shares_securitymodel_values[] = { "passthrough", "none",
                                                                     "mapped", "mapped-file",
                                                                     NULL };
static const struct type type_enum_shares_securitymodel = {
        .kind = TYPE_ENUM, .values = type_enum_shares_securitymodel_values
};
static const char *const type_enum_storedisktype_values[] = { "squashfs", "erofs", NULL };
static const struct type type_enum_storedisktype = { .kind = TYPE_ENUM,
                                                     .values = type_enum_storedisktype_values };
static const char *const type_enum_virtiofsd_inodefilehandles_values[] = { "never", "prefer",
                                                                           "mandatory", NULL };
static const struct type type_enum_virtiofsd_inodefilehandles = {
        .kind = TYPE_ENUM, .values = type_enum_virtiofsd_inodefilehandles_values
};
static const char *const type_enum_volumes_imagetype_values[] = { "raw", "qcow2", "vhd", "vhdx",
                                                                  NULL };
static const struct type type_enum_volumes_imagetype = {
        .kind = TYPE_ENUM, .values = type_enum_volumes_imagetype_values
};

static const char *const type_enum_vfkit_loglevel_values[] = { "debug", "info", "error", NULL };
static const struct type type_enum_vfkit_loglevel = { .kind = TYPE_ENUM,
                                                      .values = type_enum_vfkit_loglevel_values };
static const struct type type_null_or_vfkit_loglevel = { .kind = TYPE_NULL_OR,
                                                         .inner = &type_enum_vfkit_loglevel };
static const struct type type_attrs = { .kind = TYPE_ATTRS_OF,
                                        .inner = &type_any,
                                        .name = "attribute set" };
static const struct type type_null_or_attrs_set = { .kind = TYPE_NULL_OR, .inner = &type_attrs };
static const struct type type_package_set = { .kind = TYPE_ANY, .name = "Nixpkgs package set" };

static const struct type type_null_or_graphics_vulkan = { .kind = TYPE_NULL_OR,
                                                          .inner = &type_enum_graphics_vulkan };
static const struct type type_null_or_virtiofsd_inodefilehandles = {
        .kind = TYPE_NULL_OR, .inner = &type_enum_virtiofsd_inodefilehandles
};

static const struct mv_option type_sub_qemu_pcierootports_options[] = {
        {
                .name = "addr",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description = "PCIe address on the parent bus.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "bus",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description = "The PCIe bus on which the root port will be created.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "chassis",
                .type = &type_null_or_int,
                .default_nix = "null",
                .description = "The chassis number associated with this PCIe root port.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "id",
                .type = &type_str,
                .description = "A unique identifier for this PCIe root port.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "slot",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description = "PCIe slot number.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        { 0 },
};

static const struct type type_sub_qemu_pcierootports = {
        .kind = TYPE_SUBMODULE, .options = type_sub_qemu_pcierootports_options
};

static const struct mv_option type_sub_devices_options[] = {
        {
                .name = "bus",
                .type = &type_enum_devices_bus,
                .description = "Device is either on the `pci` or the `usb` bus",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "path",
                .type = &type_str,
                .description = "Identification of the device on its bus",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "qemu.bus",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description = "QEMU bus to which this device is attached (optional)",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "qemu.deviceExtraArgs",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description = "Device additional arguments (optional)",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "qemu.id",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description = "QEMU device identifier (optional)",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        { 0 },
};

static const struct type type_sub_devices = { .kind = TYPE_SUBMODULE,
                                              .options = type_sub_devices_options };

static const struct mv_option type_sub_forwardports_options[] = {
        {
                .name = "from",
                .type = &type_enum_forwardports_from,
                .default_nix = "\"host\"",
                .description =
                        "Controls the direction in which the ports are mapped:\n\n- "
                        "<literal>\"host\"</literal> means traffic from the host ports\nis "
                        "forwarded to the given guest port.\n\n- <literal>\"guest\"</literal> "
                        "means traffic from the guest ports\nis forwarded to the given host port.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "guest.address",
                .type = &type_str,
                .default_nix = "\"\"",
                .description = "The IPv4 address on the guest VLAN.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "guest.port",
                .type = &type_port,
                .description = "The guest port to be mapped.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "host.address",
                .type = &type_str,
                .default_nix = "\"\"",
                .description = "The IPv4 address of the host.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "host.port",
                .type = &type_port,
                .description = "The host port to be mapped.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "proto",
                .type = &type_enum_forwardports_proto,
                .default_nix = "\"tcp\"",
                .description = "The protocol to forward.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        { 0 },
};

static const struct type type_sub_forwardports = { .kind = TYPE_SUBMODULE,
                                                   .options = type_sub_forwardports_options };

static const struct mv_option type_sub_interfaces_options[] = {
        {
                .name = "bridge",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description =
                        "Attach network interface to host bridge interface for type = \"bridge\"",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "id",
                .type = &type_str,
                .description = "Interface name on the host\n\n"
                               "Up to 127 bytes. An id longer than 15 bytes (the kernel's limit "
                               "for interface names) becomes the interface's alternative name "
                               "(Linux 5.5+), and the interface gets a kernel name derived from "
                               "it: its first 8 bytes, '-' and the first 6 hex digits of its "
                               "SHA-256.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "mac",
                .type = &type_str,
                .description = "MAC address of the guest's network interface",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "macvtap.link",
                .type = &type_str,
                .description = "Attach network interface to host interface for type = \"macvlan\"",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "macvtap.mode",
                .type = &type_enum_interfaces_macvtap_mode,
                .description = "The MACVLAN mode to use",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "tap.vhost",
                .type = &type_bool,
                .default_nix = "false",
                .description =
                        "Enable vhost-net for TAP interfaces.\n\nWhen enabled, packet processing "
                        "is offloaded to the kernel's\nvhost-net module instead of QEMU userspace, "
                        "significantly\nimproving network throughput (~10 Gbps vs ~1.5 "
                        "Gbps).\n\nRequires the vhost_net kernel module on the host.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "type",
                .type = &type_enum_interfaces_type,
                .description = "Interface type",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        { 0 },
};

static const struct type type_sub_interfaces = { .kind = TYPE_SUBMODULE,
                                                 .options = type_sub_interfaces_options };

static const struct mv_option type_sub_shares_options[] = {
        {
                .name = "cache",
                .type = &type_enum_shares_cache,
                .default_nix = "\"auto\"",
                .description =
                        "Virtiofs caching policy for the file system, ignored when 9p is used",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "extraArgs",
                .type = &type_list_of_str,
                .default_nix = "[ ]",
                .description = "Extra arguments passed to virtiofsd for this share.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "mountPoint",
                .type = &type_abs_path,
                .description = "Where to mount the share inside the container",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "posixAcl",
                .type = &type_bool,
                .default_nix = "true",
                .description = "Pass `--posix-acl --xattr` to virtiofsd. Disable when "
                               "using\n`--translate-uid`/`--translate-gid` (asserted to be "
                               "mutually exclusive\nwith `--posix-acl`, see asserts.nix).",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "proto",
                .type = &type_enum_shares_proto,
                .default_nix = "\"9p\"",
                .description = "Protocol for this share",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "readOnly",
                .type = &type_bool,
                .default_nix = "false",
                .description = "Turn off write access",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "securityModel",
                .type = &type_enum_shares_securitymodel,
                .default_nix = "\"none\"",
                .description = "What security model to use for the shared directory",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "socket",
                .type = &type_null_or_str,
                .default_fn = default_share_socket,
                .default_text = "For proto = \"virtiofs\": "
                                "\"<networking.hostName>-virtiofs-<tag>.sock\"; for 9p: null",
                .description = "Socket for communication with virtiofs daemon",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "source",
                .type = &type_nonempty_str,
                .description = "Path to shared directory tree",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "tag",
                .type = &type_str,
                .description = "Unique virtiofs daemon tag",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        { 0 },
};

static const struct type type_sub_shares = { .kind = TYPE_SUBMODULE,
                                             .options = type_sub_shares_options };

static const struct mv_option type_sub_volumes_options[] = {
        {
                .name = "autoCreate",
                .type = &type_bool,
                .default_nix = "true",
                .description = "Created image on host automatically before start?",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "direct",
                .type = &type_bool,
                .default_nix = "false",
                .description = "Whether to set O_DIRECT on the disk.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "fsType",
                .type = &type_str,
                .default_nix = "\"ext4\"",
                .description = "Filesystem for automatic creation and mounting",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "image",
                .type = &type_str,
                .description = "Path to disk image on the host",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "imageType",
                .type = &type_enum_volumes_imagetype,
                .default_nix = "\"raw\"",
                .description = "Format of the image (only passed to the hypervisor, does not "
                               "change format of the image created if `autoCreate` is "
                               "true).\n\n::: {.note}\nOnly supported with cloud-hypervisor.\n:::",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "label",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description = "Label of the volume, if any. Only applicable if `autoCreate` is "
                               "true; otherwise labeling of the volume must be done manually",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "mkfsExtraArgs",
                .type = &type_list_of_str,
                .default_nix = "[ ]",
                .description = "Set extra Filesystem creation parameters",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "mountPoint",
                .type = &type_null_or_abs_path,
                .default_nix = "null",
                .description = "If and where to mount the volume inside the container",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "readOnly",
                .type = &type_bool,
                .default_nix = "false",
                .description = "Turn off write access",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "serial",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description = "User-configured serial number for the disk",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "size",
                .type = &type_int,
                .description = "Volume size (in MiB) if created automatically",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        { 0 },
};

static const struct type type_sub_volumes = { .kind = TYPE_SUBMODULE,
                                              .options = type_sub_volumes_options };

static const struct type type_list_of_devices = { .kind = TYPE_LIST_OF,
                                                  .inner = &type_sub_devices };
static const struct type type_list_of_forwardports = { .kind = TYPE_LIST_OF,
                                                       .inner = &type_sub_forwardports };
static const struct type type_list_of_interfaces = { .kind = TYPE_LIST_OF,
                                                     .inner = &type_sub_interfaces };
static const struct type type_list_of_qemu_pcierootports = { .kind = TYPE_LIST_OF,
                                                             .inner =
                                                                     &type_sub_qemu_pcierootports };
static const struct type type_list_of_shares = { .kind = TYPE_LIST_OF, .inner = &type_sub_shares };
static const struct type type_list_of_volumes = { .kind = TYPE_LIST_OF,
                                                  .inner = &type_sub_volumes };

static const struct mv_option guest_options[] = {
        /* First: defaults below read it, and options merge in table order. */
        {
                .name = "networking.hostName",
                .type = &type_str,
                .default_fn = default_host_name,
                .default_text = "the VM's name",
                .description = "The name of the machine. Its default is the name of the VM in "
                               "microvm.vms; it names the control socket and virtiofs sockets.",
                .declared_by = "<nixpkgs/nixos/modules/tasks/network-interfaces.nix>",
        },
        {
                .name = "microvm.alioth.package",
                .type = &type_package,
                .default_text = "config.microvm.vmHostPackages.alioth",
                .description = "The alioth package to use.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.balloon",
                .type = &type_bool,
                .default_nix = "false",
                .description = "Whether to enable ballooning.\n\nBy \"inflating\" or increasing "
                               "the balloon the host can reduce the VMs\nmemory amount and reclaim "
                               "it for itself.\nWhen \"deflating\" or decreasing the balloon the "
                               "host can give the memory\nback to the VM.\n\nvirtio-mem is "
                               "recommended over ballooning if supported by the hypervisor.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.binScripts",
                .type = &type_attrs_of_lines,
                .default_text = "{ }",
                .description = "Script snippets that end up in the runner package's bin/ directory",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.bootDisk",
                .type = &type_abs_path,
                .description = "Generated.\n\nRequired for Hypervisors that do not support "
                               "direct\nkernel+initrd loading.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/boot-disk.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.cloud-hypervisor.extraArgs",
                .type = &type_list_of_str,
                .default_nix = "[ ]",
                .description = "Extra arguments to pass to cloud-hypervisor.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.cloud-hypervisor.package",
                .type = &type_package,
                .default_text = "if config.microvm.graphics.enable then\n  "
                                "config.microvm.vmHostPackages.cloud-hypervisor-graphics\nelse\n  "
                                "config.microvm.vmHostPackages.cloud-hypervisor\n",
                .description = "The cloud-hypervisor package to use.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.cloud-hypervisor.platformOEMStrings",
                .type = &type_list_of_str,
                .default_nix = "[ ]",
                .example = "[ \"io.systemd.credential:APIKEY=supersecret\" ]",
                .description =
                        "Extra arguments to pass to cloud-hypervisor's --platform oem_strings=[] "
                        "argument.\n\nAll the oem strings will be concatenated with a comma (,) "
                        "and wrapped in oem_string=[].\n\nDo not include oem_string= or the [] "
                        "brackets in the value.\n\nThe resulting string will be combined with any "
                        "--platform options in\n`config.microvm.cloud-hypervisor.extraArgs` and "
                        "passed as a single\n--platform option to cloud-hypervisor",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.cpu",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description = "What CPU to emulate, if any. If different from the "
                               "host\narchitecture, it will have a serious performance hit.\n\n::: "
                               "{.note}\nOnly supported with qemu.\n:::",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.credentialFiles",
                .type = &type_attrs_of_abs_path,
                .default_nix = "{ }",
                .example = "{\n  SOPS_AGE_KEY = \"/run/secrets/guest_microvm_age_key\";\n}\n",
                .description = "Key-value pairs of credential files that will be loaded into the "
                               "vm using systemd's io.systemd.credential feature.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.crosvm.extraArgs",
                .type = &type_list_of_str,
                .default_nix = "[ ]",
                .description = "Extra arguments to pass to crosvm.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.crosvm.package",
                .type = &type_package,
                .default_text = "config.microvm.vmHostPackages.crosvm",
                .description = "The crosvm package to use.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.crosvm.pivotRoot",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description = "A Hypervisor's sandbox directory",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.declaredRunner",
                .type = &type_package,
                .default_text = "\"config.microvm.runner.${config.microvm.hypervisor}\"",
                .description = "Generated Hypervisor declared by `config.microvm.hypervisor`",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.deflateOnOOM",
                .type = &type_bool,
                .default_nix = "true",
                .description = "Whether to enable automatic balloon deflation on out-of-memory.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.deploy.installOnHost",
                .type = &type_package,
                .description =
                        "Use this script to deploy the working state of your local\nFlake on a "
                        "target host that imports\n`microvm.nixosModules.host`:\n\n```\nnix run "
                        ".#nixosConfigurations.$HOSTNAME.config.microvm.deploy.installOnHost "
                        "root@example.com\nssh root@example.com systemctl restart "
                        "microvm@$HOSTNAME\n```\n\n- Evaluate this MicroVM to a derivation\n- Copy "
                        "the derivation to the target host\n- Build the MicroVM runner on the "
                        "target host\n- Install/update the MicroVM on the target host\n\nCan be "
                        "followed by either:\n- `systemctl restart microvm@$HOSTNAME.service` on "
                        "the\n  target host, or\n- `config.microvm.deploy.sshSwitch`",
                .declared_by = "<microvm.nix/nixos-modules/microvm/ssh-deploy.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.deploy.rebuild",
                .type = &type_null_or_package,
                .default_text = "null",
                .description =
                        "`config.microvm.deploy.installOnHost` and `.sshSwitch` in one\nscript. "
                        "Akin to what nixos-rebuild does but for a remote\nMicroVM.\n\n```\nnix "
                        "run .#nixosConfigurations.$HOSTNAME.config.microvm.deploy.rebuild "
                        "root@example.com root@my-microvm.example.com switch\n```",
                .declared_by = "<microvm.nix/nixos-modules/microvm/ssh-deploy.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.deploy.sshSwitch",
                .type = &type_null_or_package,
                .default_text = "null",
                .description = "Instead of restarting a MicroVM for an update, perform it "
                               "via\nSSH.\n\nThe host's /nix/store must be mounted, and the "
                               "built\n`config.microvm.declaredRunner` must exist in it. "
                               "Use\n`microvm.deploy.installOnHost` like this:\n\n```\nnix run "
                               ".#nixosConfigurations.$HOSTNAME.config.microvm.deploy."
                               "installOnHost root@example.com\nnix run "
                               ".#nixosConfigurations.$HOSTNAME.config.microvm.deploy.sshSwitch "
                               "root@my-microvm.example.com switch\n```",
                .declared_by = "<microvm.nix/nixos-modules/microvm/ssh-deploy.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.devices",
                .type = &type_list_of_devices,
                .default_nix = "[ ]",
                .example = "[ {\n  bus = \"pci\";\n  path = \"0000:01:00.0\";\n} {\n  bus = "
                           "\"pci\";\n  path = \"0000:01:01.0\";\n  deviceExtraArgs = "
                           "\"id=hostId,x-igd-opregion=on\";\n} {\n  # QEMU only\n  bus = "
                           "\"usb\";\n  path = \"vendorid=0xabcd,productid=0x0123\";\n} ]\n",
                .description = "PCI/USB devices that are passed from the host to the MicroVM",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.extraArgsScript",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description = "A script to provide additional arguments for the hypervisor at "
                               "runtime.\n\nThe script must output a single line with arguments "
                               "for the hypervisor.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.firecracker.cpu",
                .type = &type_null_or_attrs_set,
                .default_nix = "null",
                .description = "Custom CPU template passed to firecracker.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.firecracker.driveIoEngine",
                .type = &type_enum_firecracker_driveioengine,
                .default_nix = "\"Async\"",
                .description = "Type of IO engine to use for Firecracker drives (disks).",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.firecracker.extraArgs",
                .type = &type_list_of_str,
                .default_nix = "[ ]",
                .description = "Extra arguments to pass to firecracker.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.firecracker.extraConfig",
                .type = &type_json_attrs,
                .default_nix = "{ }",
                .description = "Extra config to merge into Firecracker JSON configuration",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.firecracker.package",
                .type = &type_package,
                .default_text = "config.microvm.vmHostPackages.firecracker",
                .description = "The firecracker package to use.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.forwardPorts",
                .type = &type_list_of_forwardports,
                .default_nix = "[ ]",
                .example = "[ # forward local port 2222 -> 22, to ssh into the VM\n  { from = "
                           "\"host\"; host.port = 2222; guest.port = 22; }\n\n  # forward local "
                           "port 80 -> 10.0.2.10:80 in the VLAN\n  { from = \"guest\";\n    "
                           "guest.address = \"10.0.2.10\"; guest.port = 80;\n    host.address = "
                           "\"127.0.0.1\"; host.port = 80;\n  }\n]\n",
                .description =
                        "When using the SLiRP user networking (default), this option allows "
                        "to\nforward ports to/from the host/guest.\n\n::: {.warning}\nIf the NixOS "
                        "firewall on the virtual machine is enabled, you\nalso have to open the "
                        "guest ports to enable the traffic\nbetween host and guest.\n:::\n\n::: "
                        "{.note}\nCurrently QEMU supports only IPv4 forwarding.\n:::",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.graphics.backend",
                .type = &type_enum_graphics_backend,
                .default_nix = "\"gtk\"",
                .default_text = "if pkgs.stdenv.hostPlatform.isDarwin then \"cocoa\" else \"gtk\"",
                .description = "QEMU display backend to use when `graphics.enable` is "
                               "true.\n\nDefaults to `cocoa` on Darwin hosts and `gtk` otherwise.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.graphics.crosvmPackage",
                .type = &type_package,
                .default_text = "\"${pkgs.crosvm}\"",
                .description = "crosvm package to use when running graphics (for cloud-hypervisor "
                               "and crosvm)",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.graphics.enable",
                .type = &type_bool,
                .default_nix = "false",
                .description = "Enable GUI support.\n\nThe graphics backend is chosen by "
                               "`microvm.graphics.backend`.\nThe `gtk` and `cocoa` backends are "
                               "intended for the interactive\nuse-case and cannot be started "
                               "through systemd jobs.\nThe `headless` backend can be started "
                               "through a systemd job\nas it does not open a host window.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.graphics.hostmem",
                .type = &type_str,
                .default_nix = "\"256M\"",
                .description = "Size of the QEMU virtio-gpu host memory window, typically between "
                               "256M and 8G.\nThe value must include a unit suffix (M or G).",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.graphics.socket",
                .type = &type_str,
                .default_fn = default_graphics_socket,
                .default_text = "\"<networking.hostName>-gpu.sock\" (no defaultText, so the doc "
                                "renders \"$HOSTNAME-gpu.sock\")",
                .description = "Path of vhost-user socket",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.graphics.vulkan",
                .type = &type_null_or_graphics_vulkan,
                .default_nix = "null",
                .description = "QEMU Vulkan translation protocol to use for enabling virtio-gpu "
                               "Vulkan support.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.guest.enable",
                .type = &type_bool,
                .default_nix = "true",
                .description = "Whether to enable the microvm.nix guest module at all.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.hotplugMem",
                .type = &type_uint,
                .default_nix = "0",
                .description =
                        "Amount of hotplug memory in megabytes.\n\nThis describes the maximum "
                        "amount of memory that can be dynamically added to the VM with virtio-mem.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.hotpluggedMem",
                .type = &type_uint,
                .default_fn = default_hotplugged_mem,
                .default_text = "Same as microvm.hotplugMem (default 0)",
                .description = "Amount of hotplugged memory in megabytes.\n\nThis basically "
                               "describes the amount of hotplug memory the VM starts with.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.hugepageMem",
                .type = &type_bool,
                .default_nix = "false",
                .description = "Whether to use hugepages as memory backend.\n(Currently only "
                               "respected if using cloud-hypervisor)",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.hypervisor",
                .type = &type_enum_hypervisor,
                .default_nix = "\"qemu\"",
                .description =
                        "Which hypervisor to use for this MicroVM\n\nChoose one of: qemu, "
                        "cloud-hypervisor, firecracker, crosvm, kvmtool, stratovirt, alioth, vfkit",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.initialBalloonMem",
                .type = &type_uint,
                .default_nix = "0",
                .description = "Amount of initial balloon memory in megabytes.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.initrdPath",
                .type = &type_abs_path,
                .default_text = "\"${config.system.build.initialRamdisk}/"
                                "${config.system.boot.loader.initrdFile}\"",
                .description = "Path to the initrd file in the initrd package",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.interfaces",
                .type = &type_list_of_interfaces,
                .default_nix = "[ ]",
                .description = "Network interfaces",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.kernel",
                .type = &type_package,
                .default_text = "\"${config.boot.kernelPackages.kernel}\"",
                .description = "Kernel package to use for MicroVM runners. Better set "
                               "`boot.kernelPackages` instead.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.kernelParams",
                .type = &type_list_of_str,
                .default_nix = "[ ]",
                .description = "Includes boot.kernelParams but doesn't end up in toplevel, thereby "
                               "allowing references to toplevel",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.kvmtool.package",
                .type = &type_package,
                .default_text = "config.microvm.vmHostPackages.kvmtool",
                .description = "The kvmtool package to use.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.machineId",
                .type = &type_null_or_str,
                .default_fn = default_machine_id,
                .default_text =
                        "First 32 hex digits of sha256(\"microvm.nix:<networking.hostName>\") "
                        "formatted 8-4-4-4-12 (no UUID version/variant bits are set)",
                .example = "\"a67472e5-570e-5c8a-b18c-ae3c77701050\"",
                .description =
                        "UUID for this MicroVM, used for:\n- Registration with systemd-machined\n- "
                        "SMBIOS system UUID (QEMU only)\n- Guest /etc/machine-id initialization "
                        "when explicitly set\n\nIf null, a deterministic UUIDv5 is generated at "
                        "runtime from the hostname\nfor machined registration and SMBIOS "
                        "UUID.\n\nFormat: 8-4-4-4-12 hex digits (standard UUID format).",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.mem",
                .type = &type_positive,
                .default_nix = "512",
                .description = "Amount of RAM in megabytes",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.optimize.enable",
                .type = &type_bool,
                .default_nix = "true",
                .description = "Enables some optimizations by default to closure size and startup "
                               "time:\n  - defaults documentation to off\n  - defaults to using "
                               "systemd in initrd\n  - use systemd-networkd\n  - disables "
                               "systemd-network-wait-online\n  - disables NixOS system switching "
                               "if the host store is not mounted\n\nThis takes a few hundred MB "
                               "off the closure size, including qemu,\nallowing for putting "
                               "MicroVMs inside Docker containers.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.preStart",
                .type = &type_lines,
                .default_nix = "\"\"",
                .description = "Commands to run before starting the hypervisor",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.prettyProcnames",
                .type = &type_bool,
                .default_nix = "true",
                .description =
                        "Set a recognizable process name right before executing the Hyperisor.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.qemu.extraArgs",
                .type = &type_list_of_str,
                .default_nix = "[ ]",
                .description = "Extra arguments to pass to qemu.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.qemu.machine",
                .type = &type_str,
                .default_fn = default_qemu_machine,
                .default_text = "No declared default",
                .description = "QEMU machine model, eg. `microvm`, or `q35`\n\nGet a full list "
                               "with `qemu-system-x86_64 -M help`\n\nThis has a default declared "
                               "with `lib.mkDefault` because it\ndepends on ${pkgs.system}.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.qemu.machineOpts",
                .type = &type_null_or_attrs_of_str,
                .default_nix = "null",
                .description = "Overwrite the default machine model options.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.qemu.package",
                .type = &type_package,
                .default_text =
                        "if config.microvm.cpu == null && "
                        "config.microvm.vmHostPackages.stdenv.hostPlatform.isLinux then\n  # If no "
                        "CPU is requested and the host is Linux, use qemu with KVM support "
                        "(hardware-accelerated)\n  config.microvm.vmHostPackages.qemu_kvm\nelse\n  "
                        "# Different CPU architectures like darwin or Non-Linux use the generic "
                        "qemu package\n  config.microvm.vmHostPackages.qemu\n",
                .description = "The QEMU package to use.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.qemu.pcieRootPorts",
                .type = &type_list_of_qemu_pcierootports,
                .default_nix = "[ ]",
                .example =
                        "[ {\n  bus = \"pcie.0\";\n  id = \"pci_port_0\";\n  chassis = 0;\n} ]\n",
                .description = "A list of PCIe root ports that can be used for hot-plugging PCIe "
                               "devices.\nThis is particularly useful on the Q35 machine type, "
                               "which does not support\nhot-plugging on the base PCIe root bus "
                               "(pcie.0). Creating root ports allows\nattaching and detaching PCIe "
                               "devices at runtime and can also be useful for\ndevices that "
                               "require their own dedicated PCIe slot with a fixed address, "
                               "etc.\nFor additional details see the QEMU PCI Express "
                               "Guidelines:\n<https://gitlab.com/qemu-project/qemu/-/blob/master/"
                               "docs/pcie.txt>",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.qemu.serialConsole",
                .type = &type_bool,
                .default_nix = "true",
                .description = "Whether to enable the virtual serial console on qemu.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.registerClosure",
                .type = &type_bool,
                .default_fn = default_register_closure,
                .default_text = "Same as microvm.guest.enable (default true)",
                .example = "true",
                .description = "Whether to enable Register system closure's store paths in Nix "
                               "db.\n\nWhile enabled by default, this option may be incompatible "
                               "with a persistent writable store overlay.\n.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.registerWithMachined",
                .type = &type_bool,
                .default_nix = "false",
                .description =
                        "Register this MicroVM with systemd-machined on the host, enabling "
                        "management via machinectl.\n\nWhen enabled, a registration script is "
                        "generated in the runner package. The host module will call this\nscript "
                        "after the hypervisor starts. The VM is registered with class \"vm\" using "
                        "the UUID from `machineId`\n(or a deterministic UUID derived from "
                        "hostname).\n\nSupported machinectl commands:\n- `list`, `status`, `show` "
                        "- VM visibility\n- `terminate`, `kill` - stop VM (will auto-restart if "
                        "Restart=always)\n\nNote: `machinectl reboot` stops the VM but won't "
                        "auto-restart it because systemd treats it as an\nintentional stop. Use "
                        "`systemctl restart microvm@<name>` for restarts.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.runner",
                .type = &type_attrs_of_package,
                .default_text = "{ }",
                .description = "Generated Hypervisor runner for this NixOS",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.shares",
                .type = &type_list_of_shares,
                .default_nix = "[ ]",
                .description = "Shared directory trees",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.socket",
                .type = &type_null_or_str,
                .default_fn = default_socket,
                .default_text = "\"<networking.hostName>.sock\" (relative path, i.e",
                .description = "Hypervisor control socket path",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.storeDisk",
                .type = &type_abs_path,
                .description = "Generated",
                .declared_by = "<microvm.nix/nixos-modules/microvm/store-disk.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.storeDiskErofsFlags",
                .type = &type_list_of_str,
                .default_text = "[ \"-zlz4hc\" ]\n  ++ lib.optional (kernelAtLeast \"5.16\") "
                                "\"-Eztailpacking\"\n  ++ lib.optional (kernelAtLeast \"6.1\") "
                                "\"-Efragments\"\n",
                .description =
                        "Flags to pass to mkfs.erofs\n\n`\"-Ededupe\"` is omitted by default "
                        "because it forces single-threaded, slower builds.\nAdd it back if you "
                        "prefer smaller images over fast, multi-threaded builds.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.storeDiskSquashfsFlags",
                .type = &type_list_of_str,
                .default_text = "[\n  \"-c\"\n  \"zstd\"\n  \"-j\"\n  \"$NIX_BUILD_CORES\"\n]",
                .description = "Flags to pass to gensquashfs",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.storeDiskType",
                .type = &type_enum_storedisktype,
                .description = "Boot disk file system type: squashfs is smaller, erofs is supposed "
                               "to be faster.\n\nDefaults to erofs, unless the NixOS hardened "
                               "profile is detected.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.storeOnDisk",
                .type = &type_bool,
                .default_fn = default_store_on_disk,
                .default_text =
                        "true unless some microvm.shares entry has source == \"/nix/store\"",
                .description = "Whether to boot with the storeDisk, that is, unless the host's "
                               "/nix/store is a microvm.share.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.stratovirt.package",
                .type = &type_package,
                .default_text = "config.microvm.vmHostPackages.stratovirt",
                .description = "The stratovirt package to use.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.systemSymlink",
                .type = &type_bool,
                .default_fn = default_system_symlink,
                .default_text =
                        "true iff the host /nix/store is shared into the VM (storeOnDisk = false)",
                .description = "Whether to inclcude a symlink of `config.system.build.toplevel` to "
                               "`share/microvm/system`.\nThis is required for commands like "
                               "`microvm -l` to function but removes reference to the uncompressed "
                               "store content when using a disk image for the nix store.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.user",
                .type = &type_null_or_str,
                .default_nix = "null",
                .description = "User to switch to when started as root",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.vcpu",
                .type = &type_positive,
                .default_nix = "1",
                .description = "Number of virtual CPU cores",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.vfkit.extraArgs",
                .type = &type_list_of_str,
                .default_nix = "[ ]",
                .description = "Extra arguments to pass to vfkit.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.vfkit.logLevel",
                .type = &type_null_or_vfkit_loglevel,
                .default_nix = "\"info\"",
                .description = "vfkit log level.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.vfkit.package",
                .type = &type_package,
                .default_text = "config.microvm.vmHostPackages.vfkit",
                .description = "The vfkit package to use.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.vfkit.rosetta.enable",
                .type = &type_bool,
                .default_nix = "false",
                .description = "Enable Rosetta support for running x86_64 binaries in ARM64 Linux "
                               "VMs.\nOnly works on Apple Silicon (ARM) Macs.\n\nWhen enabled, "
                               "the Rosetta virtiofs share will be automatically mounted\nand "
                               "binfmt will be configured to use Rosetta for x86_64 binaries.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.vfkit.rosetta.ignoreIfMissing",
                .type = &type_bool,
                .default_nix = "false",
                .description = "Continue execution even if Rosetta installation fails or is "
                               "unavailable.\nUseful for configurations that should work on "
                               "both ARM and Intel Macs.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.vfkit.rosetta.install",
                .type = &type_bool,
                .default_nix = "false",
                .description = "Automatically install Rosetta if missing.\nIf false and Rosetta "
                               "is not installed, vfkit will fail to start.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.virtiofsd.extraArgs",
                .type = &type_list_of_str,
                .default_nix = "[ ]",
                .description = "Extra command-line switch to pass to virtiofsd.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.virtiofsd.group",
                .type = &type_null_or_str,
                .default_nix = "\"kvm\"",
                .description =
                        "The name of the group that will own the Unix domain socket file that "
                        "virtiofsd creates for communication with the hypervisor.\nIf null, the "
                        "socket will have group ownership of the user running the hypervisor.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.virtiofsd.inodeFileHandles",
                .type = &type_null_or_virtiofsd_inodefilehandles,
                .default_fn = default_virtiofsd_inode_file_handles,
                .default_text = "\"prefer\"",
                .description =
                        "When to use file handles to reference inodes instead of O_PATH file "
                        "descriptors\n(never, prefer, mandatory)\n\nAllows you to overwrite "
                        "default behavior in case you hit \"too\nmany open files\" on eg. "
                        "ZFS.\n<https://gitlab.com/virtio-fs/virtiofsd/-/issues/121>\n\n"
                        "When the host configuration sets the seed's host-wide "
                        "microvm.virtiofsd.inodeFileHandles, that is the default instead.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.virtiofsd.package",
                .type = &type_package,
                .default_text = "config.microvm.vmHostPackages.virtiofsd",
                .description = "The virtiofsd package to use.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.virtiofsd.threadPoolSize",
                .type = &type_thread_pool,
                .default_fn = default_virtiofsd_thread_pool_size,
                .default_text = "\"`nproc`\"",
                .description = "The amounts of threads virtiofsd should spawn. This option also "
                               "takes the special\nstring `\\`nproc\\`` which spawns as many "
                               "threads as the host has cores.\n\nWhen the host configuration "
                               "sets the seed's host-wide microvm.virtiofsd.threadPoolSize, that "
                               "is the default instead.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.vmHostPackages",
                .type = &type_package_set,
                .default_text = "if config.microvm.cpu == null then pkgs else pkgs.buildPackages",
                .example = "\"nixpkgs.legacyPackages.aarch64-darwin.pkgs\"",
                .description = "If set, overrides the default host package.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
                .flags = OPTION_OMIT_DEFAULT,
        },
        {
                .name = "microvm.volumes",
                .type = &type_list_of_volumes,
                .default_nix = "[ ]",
                .description = "Disk images",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.vsock.cid",
                .type = &type_null_or_int,
                .default_nix = "null",
                .description = "Virtual Machine address;\nsetting it enables AF_VSOCK\n\nThe "
                               "following are reserved:\n- 0: Hypervisor\n- 1: Loopback\n- 2: Host",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        {
                .name = "microvm.vsock.ssh.enable",
                .type = &type_bool,
                .default_nix = "false",
                .example = "true",
                .description =
                        "Whether to enable SSH server listening on VSOCK for host-to-guest "
                        "connections.\n\nWhen enabled, the guest's SSH server will listen on the "
                        "VSOCK interface, allowing the host to connect without\nnetwork "
                        "configuration. Requires `microvm.vsock.cid` to be set.\n\nFrom the host, "
                        "connect using:\n- For qemu/crosvm/kvmtool: `ssh vsock/<CID>`\n- For "
                        "cloud-hypervisor: `ssh vsock-mux/<path-to-notify.vsock>`\n- Or use: "
                        "`microvm -s <vmname>`\n.",
                .declared_by = "<microvm.nix/nixos-modules/microvm/vsock-ssh.nix>",
        },
        {
                .name = "microvm.writableStoreOverlay",
                .type = &type_null_or_str,
                .default_nix = "null",
                .example = "\"/nix/.rw-store\"",
                .description =
                        "Path to the writable /nix/store overlay.\n\nIf set to a filesystem path, "
                        "the initrd will mount /nix/store\nas an overlay filesystem consisting of "
                        "the read-only part as a\nhost share or from the built storeDisk, and this "
                        "configuration\noption as the writable overlay part. This allows you to "
                        "build\nnix derivations *inside* the VM.\n\nMake sure that the path points "
                        "to a writable filesystem\n(tmpfs, volume, or share).",
                .declared_by = "<microvm.nix/nixos-modules/microvm/options.nix>",
        },
        { 0 },
};

const struct type schema_guest = {
        .kind = TYPE_SUBMODULE,
        .options = guest_options,
        .module = true,
        .freeform_others = true,
        .name = "Toplevel NixOS config",
};
