/*
 * microvm doctor: what this host offers against what VMs need, one
 * finding per check, each gap with what to do about it. A gap that a
 * configured VM runs into is an error; one that only some VMs would is a
 * warning.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "config/value.h"
#include "util/strbuf.h"

struct kvm_probe;

enum doctor_status {
        DOCTOR_OK,
        DOCTOR_INFO, /* nothing to fix: a fact worth knowing */
        DOCTOR_WARNING,
        DOCTOR_ERROR,
};

struct doctor_finding {
        char *check; /* "kvm", "tun", "qemu", "state-directory", ... */
        enum doctor_status status;
        char *detail; /* what was found */
        char *hint;   /* what to do about it, or NULL */
};

struct doctor_report {
        struct doctor_finding *items;
        size_t n;
};

/* "ok", "info", "warning", "error". */
const char *doctor_status_to_string(enum doctor_status s);

/* Add a finding; `detail` and `hint` (NULL: none) are taken over. */
void doctor_add(struct doctor_report *r, const char *check, enum doctor_status status, char *detail,
                char *hint);

size_t doctor_count(const struct doctor_report *r, enum doctor_status status);

/* One line per finding ("STATUS  CHECK: detail", then the hint), then a summary. */
void doctor_write_text(struct strbuf *out, const struct doctor_report *r, bool color);

/* A JSON array of {"check", "status", "detail", "hint"} objects. */
void doctor_write_json(struct strbuf *out, const struct doctor_report *r);

void doctor_report_free(struct doctor_report *r);

/* Room for every entry of hypervisors[]. */
#define DOCTOR_HYPERVISORS 16

/* What the configured VMs use: the names of the VMs that need each thing. */
struct doctor_needs {
        char **kvm;           /* hypervisors other than qemu, which cannot do without KVM */
        char **tap;           /* tap interfaces: /dev/net/tun */
        char **vhost_net;     /* tap.vhost */
        char **vhost_vsock;   /* vsock.cid on qemu, crosvm, kvmtool or alioth */
        char **virtiofs;      /* virtiofs shares */
        char **vfio;          /* PCI passthrough, which locks all guest memory */
        char **altname;       /* interface ids longer than 15 bytes: alternative names */
        char **flake;         /* built from a flake: the nix command */
        int64_t vfio_mem_mib; /* the most memory of those */
        char **by_hypervisor[DOCTOR_HYPERVISORS]; /* per entry of hypervisors[] */
        const char *package[DOCTOR_HYPERVISORS];  /* a configured microvm.<name>.package */
};

void doctor_needs_from_config(const struct value *host, struct doctor_needs *out);
void doctor_needs_free(struct doctor_needs *n);

/* The checks, each adding one finding or more. */
void doctor_check_kvm(struct doctor_report *r, const struct doctor_needs *n,
                      const struct kvm_probe *probe);
/* A device node that must exist and open read-write; `needers` decides how bad its absence is. */
void doctor_check_device(struct doctor_report *r, const char *check, const char *path,
                         char *const *needers, const char *needed_for, const char *module);
void doctor_check_accounts(struct doctor_report *r, const char *user, const char *group);
/*
 * The state directory's owner and mode, and whether another user could
 * write it or a directory above it: then no VM starts from it.
 */
void doctor_check_state_dir(struct doctor_report *r, const char *path);
void doctor_check_memlock(struct doctor_report *r, const struct doctor_needs *n,
                          const struct rlimit *limit);
/* The hypervisors and virtiofsd: found where, and their versions. */
/* IOMMU groups under `sysfs` ("/sys"), when a VM passes PCI devices through. */
void doctor_check_iommu(struct doctor_report *r, const struct doctor_needs *n, const char *sysfs);

void doctor_check_programs(struct doctor_report *r, const struct doctor_needs *n);

/* Alternative interface names (Linux 5.5+) by the kernel's `release` (uname -r), when an id needs them. */
void doctor_check_altnames(struct doctor_report *r, const struct doctor_needs *n,
                           const char *release);

/*
 * Which supervisor is in force: systemd is PID 1, microvm@.service installed, the option;
 * `missing`: a helper template not installed beside it (NULL: none).
 */
void doctor_check_supervisor(struct doctor_report *r, bool systemd_pid1, bool template, bool wanted,
                             const char *missing);

/* Every check against the evaluated host configuration `host`. */

void doctor_run(const struct value *host, struct doctor_report *r);
