/*
 * A VM's plan: everything a start would do, in order, without doing it:
 * volumes to create (with the mkfs argv), taps and macvtaps to create,
 * one virtiofsd argv per virtiofs share, the hypervisor argv and the files
 * it names, how readiness is known and how the VM is shut down. `microvm
 * plan` prints it; a run carries it out. Built from the runner root's
 * record names (resolved once) and the host settings.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/value.h"
#include "host/privileges.h"
#include "host/virtiofsd.h"
#include "hypervisor/hypervisor.h"
#include "vm/helper-units.h"

struct mv_error;
struct host_settings;

struct plan_volume {
        char *image; /* absolute path */
        bool exists, create, read_only;
        int64_t size_mib; /* when created */
        char **mkfs;      /* when created: argv, the image last */
};

struct plan_interface {
        char *id;     /* as configured */
        char *ifname; /* the kernel's name: the id, or derived from a long one (config/ifname.h) */
        bool macvtap;
        bool create; /* false: the tap unit is off, it must exist */
        char *mac;
        char *owner;       /* of the tap, or of the macvtap's /dev/tapN */
        bool multi_queue;  /* taps */
        char *tap_script;  /* taps: run after creation, NULL for none */
        char *link, *mode; /* macvtaps */
        int *fds;          /* descriptors the hypervisor gets it on, one per queue */
        size_t n_fds;
};

struct plan_share {
        char *tag;
        char *source; /* as configured: absolute, or relative to the VM dir */
};

struct plan_virtiofsd {
        char *tag;
        char *socket;       /* where the listening socket is bound; relative to the VM dir */
        char *socket_group; /* group of the socket, or NULL: the hypervisor's */
        enum virtiofsd_flavour flavour;
        char **argv; /* gets the listening socket as descriptor 3 */
};

/*
 * The guest's systemd notifies vsock port 8888 of the host. Over AF_VSOCK
 * the host's ports are one space for all VMs: each VM gets 8888 + its CID,
 * which is unique, and the guest is told so.
 */
#define NOTIFY_PORT 8888u

/*
 * Shell snippets of the guest configuration, run at the points where
 * microvm.nix's generated scripts run them (host/snippet.h).
 */
enum plan_snippet {
        SNIPPET_PRE_START,    /* microvm.preStart: as the hypervisor's user, before the volumes */
        SNIPPET_EXTRA_ARGS,   /* microvm.extraArgsScript: likewise; its words end the argv */
        SNIPPET_TAP_UP,       /* microvm.binScripts.tap-up: as root, once the taps exist */
        SNIPPET_TAP_DOWN,     /* as root, once they are gone */
        SNIPPET_MACVTAP_UP,   /* likewise for macvtaps */
        SNIPPET_MACVTAP_DOWN, /* */
        SNIPPET_PCI_SETUP,    /* as root, before virtiofsd */
        N_PLAN_SNIPPETS,
};

/* Each snippet's option, as the configuration names it. */
extern const char *const plan_snippet_options[N_PLAN_SNIPPETS];

enum plan_readiness {
        READY_WHEN_RUNNING, /* the hypervisor runs */
        READY_WHEN_QMP,     /* qemu answers on its QMP socket */
        READY_ON_NOTIFY,    /* the guest sent READY=1 over vsock */
};

struct vm_plan {
        char *vm;
        char *runner;
        char *state_dir;
        char *working_directory; /* STATE/NAME */
        const struct hypervisor_ops *hypervisor;
        struct plan_volume *volumes;
        size_t n_volumes;
        struct plan_interface *interfaces;
        size_t n_interfaces;
        struct plan_virtiofsd *virtiofsd;
        size_t n_virtiofsd;
        struct plan_share *shares; /* sources a start creates when missing (not /nix/store) */
        size_t n_shares;
        char **pci_devices; /* full addresses, lower case: bound to vfio-pci before the start */
        enum plan_readiness readiness;
        char *notify_socket; /* READY_ON_NOTIFY, hybrid vsock: relative to the VM dir */
        uint32_t notify_cid, notify_port; /* READY_ON_NOTIFY over AF_VSOCK */
        char **argv;
        char *process_name; /* the hypervisor's argv[0], microvm@HOSTNAME (prettyProcnames), or NULL */
        char **file_names, **file_contents;
        bool ifindex_pending; /* argv names a macvtap's /dev/tapN that does not exist yet */
        enum hv_shutdown shutdown;
        char *socket; /* the control socket, relative to the VM dir, or NULL */
        struct run_as run_as;
        bool taps_as_fds;    /* run_as cannot open /dev/net/tun: root opens the taps' queues */
        char *boot_files[3]; /* kernel, initrd, store disk (NULL when absent) */
        struct value *spec;  /* the runner's spec, which the plan was built from; NULL if foreign */
        bool foreign;        /* built by microvm.nix: argv is its bin/microvm-run */
        char *shutdown_command; /* HV_SHUTDOWN_RUNNER_SCRIPT: the runner's bin/microvm-shutdown */
        /* Configured snippets (NULL: none), and a foreign runner's bin/tap-up, ... run instead. */
        char *snippets[N_PLAN_SNIPPETS];
        char *snippet_programs[N_PLAN_SNIPPETS];
        /* microvm.registerWithMachined (or a foreign runner's bin/microvm-register, then run). */
        bool register_with_machined;
        char *register_program;
        char *machine_name, *machine_id; /* networking.hostName (else the VM's), machineId */
        unsigned helpers_off; /* parts host.nix switches off: nobody's to do (vm/helper-units.h) */
};

/* Whether a start creates the VM's taps (macvtaps), or finds them made by someone else. */
static inline bool plan_creates_interface(const struct vm_plan *plan, bool macvtap)
{
        return !(plan->helpers_off & HELPER_BIT(macvtap ? HELPER_MACVTAPS : HELPER_TAPS));
}

/* Plan the start of VM `name` from its runner record `record` ("current", "booted", ...). */
int vm_plan_record(const struct host_settings *hs, const char *name, const char *record,
                   struct vm_plan **plan, struct mv_error **err);

/* Plan the start of installed VM `name`. */
int vm_plan(const struct host_settings *hs, const char *name, struct vm_plan **plan,
            struct mv_error **err);

/*
 * kvmtool names a macvtap's /dev/tapN in its argv, known only once the
 * macvtap exists: build the argv again. An error if it is still unknown.
 */
int vm_plan_resolve_ifindex(const struct host_settings *hs, struct vm_plan *plan,
                            struct mv_error **err);

/* Add share `tag` with `source` to the sources a start makes sure of. */
void vm_plan_add_share(struct vm_plan *plan, const char *tag, const char *source);

/* Add PCI device `addr` (a full address, else an error) to those the start binds. */
int vm_plan_add_pci_device(struct vm_plan *plan, const char *addr, struct mv_error **err);

/* The plan of the runner a running VM `name` booted (its booted record), as the start made it. */
int vm_plan_booted(const struct host_settings *hs, const char *name, struct vm_plan **plan,
                   struct mv_error **err);

void vm_plan_free(struct vm_plan *plan);
#define _cleanup_plan_ __attribute__((cleanup(vm_plan_freep)))
void vm_plan_freep(struct vm_plan **plan);

/* The plan as a value tree, the stable JSON of `microvm plan --json` (docs/plan.md). */
struct value *vm_plan_to_value(const struct vm_plan *plan);

const char *hv_shutdown_to_string(enum hv_shutdown s);

/* The spec of runner `runner` (STATE/.runners/RUNNER/share/microvm/spec.json). */
int vm_read_spec(const char *state_dir, const char *name, const char *runner, struct value **spec,
                 struct mv_error **err);
