/*
 * Hypervisor backends: one per hypervisor microvm.nix supports, each
 * building the same command line as microvm.nix's runner for the same
 * guest options, as an argv vector.
 */
#pragma once

#include <stdbool.h>

#include "config/value.h"
#include "util/strv.h"

struct mv_error;
struct hv_vm;

/* Facts about the host that a command line depends on. */
struct hv_env {
        const char *arch;          /* "x86_64" or "aarch64" */
        const char *netcat;        /* nc, for qemu's guestfwd */
        const char *bridge_helper; /* qemu-bridge-helper, for bridge interfaces */
        bool seccomp;              /* the hypervisor can sandbox itself (qemu -sandbox) */
        const char *unbuffer;      /* expect's unbuffer, which stratovirt's console needs */
        const char *version;       /* the hypervisor's version, or NULL: assume a current one */
        /* The ifindex of a host interface (macvtap's /dev/tapN), or -1; NULL: look it up. */
        int (*ifindex)(const char *name, void *data);
        void *ifindex_data;
        /* AF_VSOCK port the guest is told to send readiness to (an SMBIOS credential); 0: none. */
        unsigned notify_vsock_port;
        /*
         * Taps are passed as open /dev/net/tun descriptors, as macvtaps are:
         * the hypervisor's user cannot open /dev/net/tun itself. Backends
         * that can take a tap only by name refuse.
         */
        bool taps_as_fds;
        /*
         * Whether KVM can run guests, asked only where the command line
         * depends on it (qemu without microvm.cpu); NULL: it can.
         */
        bool (*kvm_usable)(const struct hv_vm *vm);
};

/* One VM, as a backend sees it. */
struct hv_vm {
        const char *name;          /* the VM's name in microvm.vms */
        const struct value *guest; /* its evaluated `config` */
        const char *binary;        /* the hypervisor executable */
        const char *runner_dir;    /* where files the command line names are written */
        struct hv_env env;
};

/* What a backend produces: the argv, and files in runner_dir it refers to. */
struct hv_command {
        char **argv;
        char **file_names;    /* relative to runner_dir */
        char **file_contents; /* in the order of file_names */
};

void hv_command_free(struct hv_command *c);

/* Add a file to the command; returns its full path (owned by the caller). */
char *hv_command_add_file(struct hv_command *c, const struct hv_vm *vm, const char *name,
                          char *content);

/* Whether the hypervisor's version is at least `min` (dotted numbers); true when unknown. */
bool hv_version_at_least(const struct hv_vm *vm, const char *min);

/* Whether KVM can run the VM's guest, through env.kvm_usable; true when unknown. */
bool hv_kvm_usable(const struct hv_vm *vm);

/* A host interface's ifindex, through env.ifindex or /sys/class/net. -1 when unknown. */
int hv_ifindex(const struct hv_vm *vm, const char *name);

enum hv_shutdown {
        HV_SHUTDOWN_NONE,          /* no graceful way: SIGTERM */
        HV_SHUTDOWN_QMP,           /* qemu: Ctrl-Alt-Del over the QMP socket */
        HV_SHUTDOWN_CH_API,        /* cloud-hypervisor: PUT /api/v1/vm.power-button */
        HV_SHUTDOWN_FC_API,        /* firecracker: PUT /actions SendCtrlAltDel */
        HV_SHUTDOWN_CROSVM_CMD,    /* crosvm: `crosvm powerbtn` on the control socket */
        HV_SHUTDOWN_RUNNER_SCRIPT, /* a runner built by microvm.nix: its bin/microvm-shutdown */
};

/* How a running guest's balloon is set: microvm.nix's microvm-balloon (setBalloonScript). */
enum hv_balloon {
        HV_BALLOON_NONE,       /* microvm.nix has no balloon control for it */
        HV_BALLOON_QMP,        /* qemu: QMP balloon, the guest's target memory */
        HV_BALLOON_CH_API,     /* cloud-hypervisor: PUT /api/v1/vm.resize desired_balloon */
        HV_BALLOON_CROSVM_CMD, /* crosvm: `crosvm balloon BYTES SOCKET` */
        HV_BALLOON_LKVM_CMD,   /* kvmtool: `lkvm balloon -i MIB -n NAME`, inflating by MIB */
};

struct hypervisor_ops {
        const char *name;
        const char *binary_name; /* what to look for in PATH when no package is given */
        /* NULL while a backend is not written yet. */
        int (*build)(const struct hv_vm *vm, struct hv_command *out, struct mv_error **err);
        enum hv_shutdown (*shutdown)(const struct hv_vm *vm);
        enum hv_balloon balloon;
        bool supports_notify_socket;
        /* Hybrid vsock: the unix socket the guest's vsock connections arrive beside, or NULL. */
        const char *hybrid_vsock;
        bool (*tap_multi_queue)(const struct hv_vm *vm);
        bool macvtap_as_fds;     /* macvtap interfaces are passed as open /dev/tapN fds */
        bool control_socket;     /* the command line makes it listen on microvm.socket */
        bool qmp_ready_probe;    /* up once its control socket answers QMP (qemu) */
        bool notify_over_vsock;  /* the guest's READY=1 can come over AF_VSOCK (qemu, crosvm) */
        bool home_is_workdir;    /* keeps its control socket under $HOME: HOME=STATE/NAME (lkvm) */
        bool virtiofs_tag;       /* virtiofsd must be told the share's tag (crosvm) */
        bool vsock_is_vhost;     /* its vsock needs /dev/vhost-vsock (the others proxy a socket) */
        const char *version_arg; /* how it tells its version; NULL: --version */
        const char *debian_package; /* what to apt-get install when it is missing, or NULL */
        /* Whether the command line makes it open /dev/kvm; NULL: it always does. */
        bool (*uses_kvm)(char *const *argv);
};

/* Every backend, in microvm.nix's order; NULL-terminated. */
extern const struct hypervisor_ops *const hypervisors[];

const struct hypervisor_ops *hypervisor_find(const char *name);

/*
 * The descriptors interface `id` is passed as: 3 upwards, one per queue
 * (vcpu queues with multi-queue taps), numbered over the interfaces passed
 * so in interface order: macvtaps where the backend takes them so, taps
 * with env.taps_as_fds. Sets *fds to a new array (NULL for none) and
 * returns its length, 0 for an interface passed by name.
 */
size_t passed_fds(const struct hv_vm *vm, const struct hypervisor_ops *ops, const char *id,
                  int **fds);

/* Descriptor numbers joined by `sep`, as a command line lists them ("3:4"). */
char *hv_fds_join(const int *fds, size_t n, const char *sep);

/* Whether a guest passes through a device on `bus` ("pci", "usb"). */
bool guest_has_device_on(const struct value *guest, const char *bus);

/* Whether a guest has an interface of `type` ("tap", "user", ...). */
bool guest_has_interface(const struct value *guest, const char *type);

/*
 * The features only qemu and cloud-hypervisor have (memory hotplug, an
 * initial balloon size, systemd credentials, and a balloon at all unless
 * `has_balloon`), refused for hypervisor `hv` as microvm.nix refuses them:
 * a configuration error naming the option and what to use.
 */
int hv_refuse_memory_and_credentials(const struct hv_vm *vm, const char *hv, bool has_balloon,
                                     struct mv_error **err);

/* microvm.user, which only qemu honours: a configuration error for hypervisor `hv`. */
int hv_refuse_user(const struct hv_vm *vm, const char *hv, struct mv_error **err);

/*
 * For hypervisor `hv`, which can attach to a tap only by its name: with
 * env.taps_as_fds the VM's user cannot open /dev/net/tun, so a tap
 * interface is an error naming it, with what to change on the host.
 */
int hv_refuse_taps_as_fds(const struct hv_vm *vm, const char *hv, struct mv_error **err);

/* The guest's kernel and initrd, which a configuration without Nix must name. */
int hv_boot_files(const struct hv_vm *vm, const char **kernel, const char **initrd,
                  struct mv_error **err);

/*
 * The kernel command line: `prefix` (the backend's console, reboot and panic
 * settings, with microvm.nix's trailing space) and the guest's kernelParams.
 */
char *hv_kernel_cmdline(const struct value *guest, const char *prefix);

/* Volumes are vda, vdb, ...; vda is the store disk when the VM has one. */
char volume_letter(const struct value *guest, size_t index);

/* Whether the VM boots a store disk image (storeOnDisk with storeDisk set). */
bool has_store_disk(const struct value *guest);
