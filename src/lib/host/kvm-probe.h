/*
 * Whether KVM can run guests here. /dev/kvm existing is not enough: a
 * nested or paravirtualised KVM may accept every ioctl and still never
 * return from KVM_RUN, or run guest code a thousand times slower than the
 * CPU. So the probe runs a little 64-bit guest (an I/O exit, a counting
 * loop, another I/O exit, hlt) in a child process, and kills the child
 * when it has not finished within a deadline.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct kvm_probe {
        bool usable;
        char *reason; /* what works, or what failed */
        char *hint;   /* what to do about it; NULL when usable */
};

/* How far a probe got. */
enum kvm_probe_stage {
        KVM_STAGE_OPEN,        /* open /dev/kvm */
        KVM_STAGE_API,         /* KVM_GET_API_VERSION */
        KVM_STAGE_CREATE_VM,   /* KVM_CREATE_VM */
        KVM_STAGE_MEMORY,      /* KVM_SET_USER_MEMORY_REGION */
        KVM_STAGE_CREATE_VCPU, /* KVM_CREATE_VCPU */
        KVM_STAGE_RUN_AREA,    /* mmap of the vCPU's kvm_run */
        KVM_STAGE_REGISTERS,   /* KVM_SET_CPUID2, KVM_SET_SREGS, KVM_SET_REGS */
        KVM_STAGE_START,       /* KVM_RUN up to the first I/O exit */
        KVM_STAGE_LOOP,        /* KVM_RUN through the loop to the second I/O exit */
        KVM_STAGE_HALT,        /* KVM_RUN up to hlt */
        KVM_STAGE_DONE,
};

/* What a probe observed: filled by the child, completed by the parent. */
struct kvm_probe_report {
        int stage;            /* enum kvm_probe_stage: the step that failed, or DONE */
        int error;            /* errno of the failed call, or 0 */
        uint32_t exit_reason; /* KVM_EXIT_* of an unexpected exit */
        uint64_t exit_detail; /* its hardware or internal error code */
        uint16_t io_port;     /* an I/O exit's port and first byte */
        uint8_t io_value;
        int api_version;     /* at KVM_STAGE_API */
        bool timed_out;      /* killed at the deadline, still in `stage` */
        uint64_t loop_total; /* iterations the loop runs */
        uint64_t loop_done;  /* iterations it ran */
        uint64_t loop_ns;    /* how long they took */
        double host_ns;      /* one iteration on the host CPU, for comparison; 0: unknown */
        int timeout_ms;
        int signal; /* the child died of this signal (not the deadline's) */
        const char *device;
        /* The host: "vmx", "svm" or NULL; the KVM module ("kvm_intel", "kvm_pvm", ...) or NULL. */
        const char *cpu_virt;
        const char *kvm_module;
};

/* The answer for this host, probed on first use and kept for the process. */
const struct kvm_probe *kvm_probe(void);

/* Probe `device` now, giving the guest `timeout_ms` to finish. */
void kvm_probe_run(const char *device, int timeout_ms, struct kvm_probe *out);

/* Turn a report into a verdict, a reason and a hint. */
void kvm_probe_explain(const struct kvm_probe_report *rep, struct kvm_probe *out);

void kvm_probe_done(struct kvm_probe *p);
