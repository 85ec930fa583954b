#include "host/kvm-probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"
#include "util/pidref.h"
#include "util/xalloc.h"

#define KVM_PROBE_TIMEOUT_MS 2000
/* About 10 ms with hardware virtualisation; long enough that emulation shows. */
#define LOOP_ITERATIONS 20000000u
#define HOST_ITERATIONS 2000000u

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The word `flag` in the flags line of /proc/cpuinfo. */
static bool cpu_has_flag(const char *flag)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
        char line[8192];
        size_t n = strlen(flag);
        while (f && fgets(line, sizeof(line), f)) {
                if (strncmp(line, "flags", 5) != 0)
                        continue;
                for (char *p = strstr(line, flag); p; p = strstr(p + 1, flag))
                        if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n'))
                                return true;
                return false;
        }
        return false;
}

static const char *loaded_kvm_module(void)
{
        static const char *const modules[] = { "kvm_intel", "kvm_amd", "kvm_pvm" };
        for (size_t i = 0; i < ELEMENTSOF(modules); i++) {
                _cleanup_free_ char *path = xasprintf("/sys/module/%s", modules[i]);
                if (access(path, F_OK) == 0)
                        return modules[i];
        }
        return NULL;
}

#if defined(__x86_64__)

#define PROBE_PORT   0x10
#define COUNTER_ADDR 0x0000 /* the loop stores its counter here, for the parent to read */
#define PML4_ADDR    0x1000
#define PDPT_ADDR    0x2000
#define PD_ADDR      0x3000
#define CODE_ADDR    0x4000
#define GUEST_SIZE   0x5000

#define CODE_COUNT_AT 5 /* where the loop count goes into the code */

/* The guest, in 64-bit mode, identity-mapped by one 2 MiB page. */
static const uint8_t guest_code[] = {
        0xb0, 42,   0xe6, PROBE_PORT,    /* mov $42, %al; out %al, $0x10: the vCPU runs at all */
        0xb9, 0,    0,    0,          0, /* mov $N, %ecx */
        0x89, 0x0f,                      /* 1: mov %ecx, (%rdi), rdi = COUNTER_ADDR */
        0xff, 0xc9,                      /* dec %ecx */
        0x75, 0xfa,                      /* jnz 1b */
        0xb0, 43,   0xe6, PROBE_PORT,    /* mov $43, %al; out %al, $0x10: the loop finished */
        0xf4,                            /* hlt */
};

static void guest_setup(uint8_t *mem, uint32_t iterations)
{
        const uint64_t present_writable = 3, huge = 0x80;
        uint64_t entries[][2] = { { PML4_ADDR, PDPT_ADDR | present_writable },
                                  { PDPT_ADDR, PD_ADDR | present_writable },
                                  { PD_ADDR, 0 | huge | present_writable } };
        for (size_t i = 0; i < ELEMENTSOF(entries); i++)
                memcpy(mem + entries[i][0], &entries[i][1], sizeof(entries[i][1]));
        memcpy(mem + CODE_ADDR, guest_code, sizeof(guest_code));
        memcpy(mem + CODE_ADDR + CODE_COUNT_AT, &iterations, sizeof(iterations));
        memcpy(mem + COUNTER_ADDR, &iterations, sizeof(iterations));
}

/* The same loop on the host, for the comparison in the verdict. */
static double host_ns_per_iteration(void)
{
        uint32_t slot, n = HOST_ITERATIONS;
        uint64_t start = now_ns();
        __asm__ volatile("1: movl %%ecx, (%1)\n\tdecl %%ecx\n\tjnz 1b"
                         : "+c"(n)
                         : "r"(&slot)
                         : "memory", "cc");
        return (double)(now_ns() - start) / HOST_ITERATIONS;
}

/* The CPUID the host's KVM offers, as every VMM gives its vCPUs. NULL when unknown. */
static struct kvm_cpuid2 *supported_cpuid(int kvm)
{
        for (uint32_t n = 64; n <= 4096; n *= 2) {
                struct kvm_cpuid2 *c = xcalloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
                c->nent = n;
                if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) == 0)
                        return c;
                free(c);
                if (errno != E2BIG)
                        break;
        }
        return NULL;
}

static bool failed(struct kvm_probe_report *rep)
{
        rep->error = errno;
        return false;
}

/* KVM_RUN once; true when it exits as expected (an I/O write of `value`, or `reason`). */
static bool run_until(int vcpu, struct kvm_run *run, struct kvm_probe_report *rep, uint32_t reason,
                      uint8_t value)
{
        int r;
        do
                r = ioctl(vcpu, KVM_RUN, 0);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return failed(rep);
        rep->exit_reason = run->exit_reason;
        if (run->exit_reason == KVM_EXIT_IO) {
                rep->io_port = run->io.port;
                rep->io_value = *((uint8_t *)run + run->io.data_offset);
                return reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
                       run->io.port == PROBE_PORT && run->io.size == 1 && rep->io_value == value;
        }
        if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
                rep->exit_detail = run->fail_entry.hardware_entry_failure_reason;
        else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
                rep->exit_detail = run->internal.suberror;
        else if (run->exit_reason == KVM_EXIT_UNKNOWN)
                rep->exit_detail = run->hw.hardware_exit_reason;
        return run->exit_reason == reason;
}

static bool set_registers(int vcpu, const struct kvm_cpuid2 *cpuid, struct kvm_probe_report *rep)
{
        struct kvm_sregs s;
        if ((cpuid && ioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0) || ioctl(vcpu, KVM_GET_SREGS, &s) < 0)
                return failed(rep);
        struct kvm_segment code = {
                .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1, .s = 1, .l = 1, .g = 1
        };
        struct kvm_segment data = code;
        data.selector = 16;
        data.type = 3;
        data.l = 0;
        data.db = 1;
        s.cs = code;
        s.ds = s.es = s.fs = s.gs = s.ss = data;
        s.cr3 = PML4_ADDR;
        s.cr4 = 1u << 5;                     /* PAE */
        s.cr0 = (1u << 31) | (1u << 4) | 1u; /* PG, ET, PE */
        s.efer = (1u << 10) | (1u << 8);     /* LMA, LME */
        struct kvm_regs regs = { .rip = CODE_ADDR, .rflags = 2, .rdi = COUNTER_ADDR };
        if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
                return failed(rep);
        return true;
}

/* In the child: KVM ties a VM to the process that created it. */
static void child_probe(int kvm, uint8_t *mem, const struct kvm_cpuid2 *cpuid,
                        struct kvm_probe_report *rep)
{
        rep->stage = KVM_STAGE_CREATE_VM;
        int vm = ioctl(kvm, KVM_CREATE_VM, 0);
        if (vm < 0)
                return (void)failed(rep);
        rep->stage = KVM_STAGE_MEMORY;
        struct kvm_userspace_memory_region region = { .memory_size = GUEST_SIZE,
                                                      .userspace_addr = (uintptr_t)mem };
        if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
                return (void)failed(rep);
        rep->stage = KVM_STAGE_CREATE_VCPU;
        int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
        if (vcpu < 0)
                return (void)failed(rep);
        rep->stage = KVM_STAGE_RUN_AREA;
        int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
        if (size < 0)
                return (void)failed(rep);
        struct kvm_run *run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
        if (run == MAP_FAILED)
                return (void)failed(rep);
        rep->stage = KVM_STAGE_REGISTERS;
        if (!set_registers(vcpu, cpuid, rep))
                return;
        rep->stage = KVM_STAGE_START;
        if (!run_until(vcpu, run, rep, KVM_EXIT_IO, 42))
                return;
        uint64_t start = now_ns();
        rep->stage = KVM_STAGE_LOOP;
        if (!run_until(vcpu, run, rep, KVM_EXIT_IO, 43))
                return;
        rep->loop_ns = now_ns() - start;
        rep->stage = KVM_STAGE_HALT;
        if (!run_until(vcpu, run, rep, KVM_EXIT_HLT, 0))
                return;
        rep->stage = KVM_STAGE_DONE;
}

/* Whether the child finished (its end of the pipe closed) before the deadline. */
static bool wait_for_child(int pipe_rd, int timeout_ms)
{
        struct pollfd p = { .fd = pipe_rd, .events = POLLIN };
        uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
        for (;;) {
                uint64_t now = now_ns();
                int left = now >= deadline ? 0 : (int)((deadline - now + 999999u) / 1000000u);
                int r = poll(&p, 1, left);
                if (r > 0)
                        return true;
                if (r == 0 || errno != EINTR)
                        return false;
        }
}

/* Fork, run the guest in the child, wait for it until the deadline and kill it then. */
static void fork_and_wait(int kvm, const struct kvm_cpuid2 *cpuid, struct kvm_probe_report *rep,
                          uint8_t *mem, int fds[2], struct kvm_probe_report *out)
{
        *rep = *out;
        guest_setup(mem, LOOP_ITERATIONS);
        pid_t pid = fork();
        if (pid < 0) {
                out->error = errno;
                return;
        }
        if (pid == 0) {
                (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                child_probe(kvm, mem, cpuid, rep);
                _exit(0);
        }
        close(TAKE_FD(fds[1]));
        uint64_t started = now_ns();
        struct pidref child = PIDREF_NULL;
        if (pidref_set_pid(&child, pid, NULL) < 0) {
                out->error = errno;
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return;
        }
        bool finished = wait_for_child(fds[0], out->timeout_ms);
        uint64_t waited = now_ns() - started;
        if (!finished)
                (void)pidref_kill(&child, SIGKILL, NULL);
        int status = 0;
        (void)pidref_wait(&child, &status, NULL);

        *out = *rep;
        out->timed_out = !finished;
        if (finished && WIFSIGNALED(status))
                out->signal = WTERMSIG(status);
        out->loop_total = LOOP_ITERATIONS;
        uint32_t counter;
        memcpy(&counter, mem + COUNTER_ADDR, sizeof(counter));
        out->loop_done = out->stage > KVM_STAGE_LOOP ? LOOP_ITERATIONS : LOOP_ITERATIONS - counter;
        if (out->timed_out && out->stage == KVM_STAGE_LOOP) {
                out->loop_ns = waited; /* an upper bound: the setup before the loop is quick */
                out->host_ns = host_ns_per_iteration();
        }
}

/*
 * The report and the guest's memory are shared mappings, so the parent
 * reads how far the child got, even from a child it had to kill.
 */
static void probe_guest(int kvm, struct kvm_probe_report *out)
{
        _cleanup_free_ struct kvm_cpuid2 *cpuid = supported_cpuid(kvm);
        int flags = MAP_SHARED | MAP_ANONYMOUS;
        struct kvm_probe_report *rep =
                mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE, flags, -1, 0);
        uint8_t *mem = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, flags, -1, 0);
        int fds[2] = { -1, -1 };
        out->stage = KVM_STAGE_CREATE_VM;
        if (rep == MAP_FAILED || mem == MAP_FAILED || pipe2(fds, O_CLOEXEC) < 0)
                out->error = errno;
        else
                fork_and_wait(kvm, cpuid, rep, mem, fds, out);
        for (size_t i = 0; i < 2; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        if (rep != MAP_FAILED)
                munmap(rep, sizeof(*rep));
        if (mem != MAP_FAILED)
                munmap(mem, GUEST_SIZE);
}

void kvm_probe_run(const char *device, int timeout_ms, struct kvm_probe *out)
{
        struct kvm_probe_report rep = {
                .device = device,
                .timeout_ms = timeout_ms,
                .cpu_virt = cpu_has_flag("vmx")   ? "vmx"
                            : cpu_has_flag("svm") ? "svm"
                                                  : NULL,
                .kvm_module = loaded_kvm_module(),
        };
        _cleanup_close_ int kvm = open(device, O_RDWR | O_CLOEXEC);
        if (kvm < 0) {
                rep.stage = KVM_STAGE_OPEN;
                rep.error = errno;
        } else if ((rep.api_version = ioctl(kvm, KVM_GET_API_VERSION, 0)) != KVM_API_VERSION) {
                rep.stage = KVM_STAGE_API;
                rep.error = rep.api_version < 0 ? errno : 0;
        } else {
                probe_guest(kvm, &rep);
        }
        kvm_probe_explain(&rep, out);
}

#else

void kvm_probe_run(const char *device, int timeout_ms, struct kvm_probe *out)
{
        (void)timeout_ms;
        struct stat st;
        struct kvm_probe_report rep = { .stage = KVM_STAGE_OPEN,
                                        .error = stat(device, &st) < 0 ? errno : 0,
                                        .device = device,
                                        .kvm_module = loaded_kvm_module() };
        if (!rep.error) {
                /* The guest is x86 code: elsewhere /dev/kvm is taken at its word. */
                *out = (struct kvm_probe){ .usable = true,
                                           .reason = xasprintf("%s exists (not probed on this "
                                                               "architecture)",
                                                               device) };
                return;
        }
        kvm_probe_explain(&rep, out);
}

#endif

static const char *exit_name(uint32_t reason)
{
        static const char *const names[] = {
                [KVM_EXIT_UNKNOWN] = "UNKNOWN",
                [KVM_EXIT_EXCEPTION] = "EXCEPTION",
                [KVM_EXIT_IO] = "IO",
                [KVM_EXIT_HYPERCALL] = "HYPERCALL",
                [KVM_EXIT_DEBUG] = "DEBUG",
                [KVM_EXIT_HLT] = "HLT",
                [KVM_EXIT_MMIO] = "MMIO",
                [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
                [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
                [KVM_EXIT_INTR] = "INTR",
                [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
        };
        return reason < ELEMENTSOF(names) && names[reason] ? names[reason] : "?";
}

static const char *const stage_calls[] = {
        [KVM_STAGE_CREATE_VM] = "KVM_CREATE_VM",
        [KVM_STAGE_MEMORY] = "KVM_SET_USER_MEMORY_REGION",
        [KVM_STAGE_CREATE_VCPU] = "KVM_CREATE_VCPU",
        [KVM_STAGE_RUN_AREA] = "mapping the vCPU's kvm_run area",
        [KVM_STAGE_REGISTERS] = "setting the vCPU's registers",
        [KVM_STAGE_START] = "KVM_RUN",
        [KVM_STAGE_LOOP] = "KVM_RUN",
        [KVM_STAGE_HALT] = "KVM_RUN",
};

/* Why a KVM that opens fine cannot run a guest, and what to do. */
static char *run_hint(const struct kvm_probe_report *r)
{
        if (r->kvm_module && strcmp(r->kvm_module, "kvm_pvm") == 0 && !r->cpu_virt)
                return xstrdup("KVM here is kvm_pvm, a paravirtualised KVM on a CPU without "
                               "vmx/svm: give this machine hardware virtualisation (nested "
                               "vmx/svm on its host) to run VMs with KVM");
        if (!r->cpu_virt)
                return xstrdup("the CPU shows no vmx/svm flag: enable nested virtualisation on "
                               "the host of this machine (kvm_intel nested=1 or kvm_amd "
                               "nested=1 there)");
        return xstrdup("see dmesg for what KVM reported; with nested virtualisation, check that "
                       "the outer host enables it (kvm_intel nested=1 or kvm_amd nested=1)");
}

static char *open_hint(const struct kvm_probe_report *r)
{
        if (r->error == EACCES || r->error == EPERM)
                return xasprintf("add the user to the group of %s (usermod -aG kvm USER, then "
                                 "log in again), or run as root",
                                 r->device);
        if (r->error != ENOENT)
                return xstrdup("see dmesg for what KVM reported");
        if (!r->cpu_virt)
                return xstrdup("the CPU offers no hardware virtualisation (no vmx or svm flag): "
                               "enable VT-x/AMD-V in the firmware, or nested virtualisation for "
                               "this machine on its host");
        return xasprintf("load KVM: modprobe %s",
                         strcmp(r->cpu_virt, "vmx") == 0 ? "kvm_intel" : "kvm_amd");
}

static char *run_reason(const struct kvm_probe_report *r)
{
        double secs = r->timeout_ms / 1000.0;
        if (r->timed_out && r->stage == KVM_STAGE_LOOP) {
                double ns = r->loop_done ? (double)r->loop_ns / (double)r->loop_done : 0;
                char *host = r->host_ns > 0 ? xasprintf(", about %.0f times slower than the host "
                                                        "CPU runs it",
                                                        ns / r->host_ns)
                                            : xstrdup("");
                char *s = xasprintf("KVM cannot run guests at a usable speed: a test vCPU ran "
                                    "%llu of %llu loop iterations in %.1f s, %.0f ns each%s",
                                    (unsigned long long)r->loop_done,
                                    (unsigned long long)r->loop_total, (double)r->loop_ns / 1e9, ns,
                                    host);
                free(host);
                return s;
        }
        if (r->timed_out)
                return xasprintf("KVM cannot run guests: the vCPU did not exit within %.0f s%s",
                                 secs,
                                 r->stage == KVM_STAGE_START
                                         ? " (its first two instructions write to an I/O port)"
                                         : "");
        if (r->signal)
                return xasprintf("KVM cannot run guests: the probe process died of signal %d in "
                                 "%s",
                                 r->signal, stage_calls[r->stage]);
        if (r->error)
                return xasprintf("KVM cannot run guests: %s failed: %s", stage_calls[r->stage],
                                 strerror(r->error));
        const char *expected = r->stage == KVM_STAGE_START  ? "an I/O write of 42 to port 0x10"
                               : r->stage == KVM_STAGE_LOOP ? "an I/O write of 43 to port 0x10"
                                                            : "HLT";
        if (r->exit_reason == KVM_EXIT_IO)
                return xasprintf("KVM cannot run guests: the vCPU wrote %u to I/O port 0x%x where "
                                 "%s was expected",
                                 r->io_value, r->io_port, expected);
        return xasprintf("KVM cannot run guests: the vCPU stopped with exit %s (%u, code 0x%llx) "
                         "where %s was expected",
                         exit_name(r->exit_reason), r->exit_reason,
                         (unsigned long long)r->exit_detail, expected);
}

void kvm_probe_explain(const struct kvm_probe_report *r, struct kvm_probe *out)
{
        *out = (struct kvm_probe){ 0 };
        switch (r->stage) {
        case KVM_STAGE_OPEN:
                out->reason = r->error == ENOENT ? xasprintf("%s does not exist", r->device)
                                                 : xasprintf("cannot open %s: %s", r->device,
                                                             strerror(r->error));
                out->hint = open_hint(r);
                return;
        case KVM_STAGE_API:
                out->reason =
                        r->error ? xasprintf("KVM_GET_API_VERSION failed: %s", strerror(r->error))
                                 : xasprintf("KVM API version %d, where hypervisors "
                                             "speak version %d",
                                             r->api_version, KVM_API_VERSION);
                out->hint = xstrdup("this kernel's KVM is not the standard one");
                return;
        case KVM_STAGE_CREATE_VM:
                out->reason = xasprintf("KVM cannot run guests: KVM_CREATE_VM failed: %s",
                                        strerror(r->error));
                out->hint = xstrdup("KVM could not set up hardware virtualisation (turned off "
                                    "in the firmware, or held by another hypervisor): see dmesg");
                return;
        case KVM_STAGE_DONE:
                out->usable = true;
                out->reason =
                        xasprintf("KVM runs guests: a test vCPU ran %llu loop iterations in "
                                  "%.1f ms",
                                  (unsigned long long)r->loop_total, (double)r->loop_ns / 1e6);
                return;
        default:
                out->reason = run_reason(r);
                out->hint = run_hint(r);
                return;
        }
}

const struct kvm_probe *kvm_probe(void)
{
        static struct kvm_probe cached;
        static bool probed;
        if (!probed) {
                uint64_t start = now_ns();
                kvm_probe_run("/dev/kvm", KVM_PROBE_TIMEOUT_MS, &cached);
                probed = true;
                log_debug("KVM probe (%.2f s): %s", (double)(now_ns() - start) / 1e9,
                          cached.reason);
        }
        return &cached;
}

void kvm_probe_done(struct kvm_probe *p)
{
        free(p->reason);
        free(p->hint);
        *p = (struct kvm_probe){ 0 };
}
