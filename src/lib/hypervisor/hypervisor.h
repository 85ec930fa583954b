/*
 * Hypervisor backends: one per hypervisor microvm.nix supports, each
 * building the same command line as microvm.nix's runner for the same
 * guest options, as an argv vector.
 */
#pragma once

#include <stdbool.h>

#include "config/value.h"

struct mv_error;

/* Facts about the host that a command line depends on. */
struct hv_env {
        const char *arch;          /* "x86_64" or "aarch64" */
        const char *netcat;        /* nc, for qemu's guestfwd */
        const char *bridge_helper; /* qemu-bridge-helper, for bridge interfaces */
        bool seccomp;              /* the hypervisor can sandbox itself (qemu -sandbox) */
};

/* One VM, as a backend sees it. */
struct hv_vm {
        const char *name;          /* the VM's name in microvm.vms */
        const struct value *guest; /* its evaluated `config` */
        const char *binary;        /* the hypervisor executable */
        struct hv_env env;
};

enum hv_shutdown {
        HV_SHUTDOWN_NONE,       /* no graceful way: SIGTERM */
        HV_SHUTDOWN_QMP,        /* qemu: Ctrl-Alt-Del over the QMP socket */
        HV_SHUTDOWN_CH_API,     /* cloud-hypervisor: PUT /api/v1/vm.power-button */
        HV_SHUTDOWN_FC_API,     /* firecracker: PUT /actions SendCtrlAltDel */
        HV_SHUTDOWN_CROSVM_CMD, /* crosvm: `crosvm powerbtn` on the control socket */
};

struct hypervisor_ops {
        const char *name;
        const char *binary_name; /* what to look for in PATH when no package is given */
        int (*build_argv)(const struct hv_vm *vm, char ***argv, struct mv_error **err);
        enum hv_shutdown (*shutdown)(const struct hv_vm *vm);
        bool supports_notify_socket;
        bool (*tap_multi_queue)(const struct hv_vm *vm);
        bool macvtap_as_fds; /* macvtap interfaces are passed as open /dev/tapN fds */
};

/* Every backend, in microvm.nix's order; NULL-terminated. */
extern const struct hypervisor_ops *const hypervisors[];

const struct hypervisor_ops *hypervisor_find(const char *name);

/*
 * The descriptors a macvtap interface is passed as: 3 upwards, one per
 * queue (vcpu queues with multi-queue taps), in interface order. Fills
 * `fds` (up to `max`) and returns how many.
 */
size_t macvtap_fds(const struct hv_vm *vm, const struct hypervisor_ops *ops, const char *id,
                   int *fds, size_t max);

/* Volumes are vda, vdb, ...; vda is the store disk when the VM has one. */
char volume_letter(const struct value *guest, size_t index);

/* Whether the VM boots a store disk image (storeOnDisk with storeDisk set). */
bool has_store_disk(const struct value *guest);

/* Append the words of `s` split at spaces (microvm.nix leaves some arguments unquoted). */
void strv_push_words(char ***argv, const char *s);
