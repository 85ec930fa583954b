#include "test-helpers.h"

#include <errno.h>
#include <linux/kvm.h>

#include "host/kvm-probe.h"

static void explain(const struct kvm_probe_report *r, struct kvm_probe *p)
{
        kvm_probe_explain(r, p);
        assert_non_null(p->reason);
        /* A verdict of unusable always says what to do; a usable one has nothing to fix. */
        assert_true(p->usable ? p->hint == NULL : p->hint != NULL);
}

static void missing_device(void **state)
{
        (void)state;
        struct kvm_probe p;
        struct kvm_probe_report r = { .stage = KVM_STAGE_OPEN, .error = ENOENT, .device = "/d" };
        explain(&r, &p);
        assert_false(p.usable);
        assert_string_equal(p.reason, "/d does not exist");
        assert_non_null(strstr(p.hint, "no vmx or svm"));
        kvm_probe_done(&p);
        r.cpu_virt = "svm";
        explain(&r, &p);
        assert_string_equal(p.hint, "load KVM: modprobe kvm_amd");
        kvm_probe_done(&p);
}

static void no_permission(void **state)
{
        (void)state;
        struct kvm_probe p;
        struct kvm_probe_report r = { .stage = KVM_STAGE_OPEN, .error = EACCES, .device = "/d" };
        explain(&r, &p);
        assert_false(p.usable);
        assert_string_equal(p.reason, "cannot open /d: Permission denied");
        assert_non_null(strstr(p.hint, "usermod -aG kvm"));
        kvm_probe_done(&p);
}

static void api_mismatch_and_no_vm(void **state)
{
        (void)state;
        struct kvm_probe p;
        struct kvm_probe_report r = { .stage = KVM_STAGE_API, .api_version = 11 };
        explain(&r, &p);
        assert_false(p.usable);
        assert_non_null(strstr(p.reason, "KVM API version 11, where hypervisors speak version 12"));
        kvm_probe_done(&p);
        r = (struct kvm_probe_report){ .stage = KVM_STAGE_CREATE_VM, .error = EBUSY };
        explain(&r, &p);
        assert_string_equal(p.reason,
                            "KVM cannot run guests: KVM_CREATE_VM failed: Device or resource busy");
        assert_non_null(strstr(p.hint, "dmesg"));
        kvm_probe_done(&p);
}

static void vcpu_that_never_exits(void **state)
{
        (void)state;
        struct kvm_probe p;
        struct kvm_probe_report r = { .stage = KVM_STAGE_START,
                                      .timed_out = true,
                                      .timeout_ms = 2000,
                                      .cpu_virt = "vmx",
                                      .kvm_module = "kvm_intel" };
        explain(&r, &p);
        assert_false(p.usable);
        assert_non_null(strstr(p.reason, "the vCPU did not exit within 2 s"));
        assert_non_null(strstr(p.hint, "nested=1"));
        kvm_probe_done(&p);
}

static void vcpu_far_too_slow(void **state)
{
        (void)state;
        struct kvm_probe p;
        struct kvm_probe_report r = { .stage = KVM_STAGE_LOOP,
                                      .timed_out = true,
                                      .timeout_ms = 2000,
                                      .loop_total = 20000000,
                                      .loop_done = 2000000,
                                      .loop_ns = 2000000000,
                                      .host_ns = 0.5,
                                      .kvm_module = "kvm_pvm" };
        explain(&r, &p);
        assert_false(p.usable);
        assert_string_equal(p.reason,
                            "KVM cannot run guests at a usable speed: a test vCPU ran 2000000 of "
                            "20000000 loop iterations in 2.0 s, 1000 ns each, about 2000 times "
                            "slower than the host CPU runs it");
        assert_non_null(strstr(p.hint, "kvm_pvm"));
        kvm_probe_done(&p);
}

static void wrong_exits(void **state)
{
        (void)state;
        struct kvm_probe p;
        struct kvm_probe_report r = { .stage = KVM_STAGE_START,
                                      .exit_reason = KVM_EXIT_FAIL_ENTRY,
                                      .exit_detail = 0x80000021 };
        explain(&r, &p);
        assert_false(p.usable);
        assert_string_equal(p.reason, "KVM cannot run guests: the vCPU stopped with exit "
                                      "FAIL_ENTRY (9, code 0x80000021) where an I/O write of 42 "
                                      "to port 0x10 was expected");
        kvm_probe_done(&p);
        r = (struct kvm_probe_report){
                .stage = KVM_STAGE_LOOP, .exit_reason = KVM_EXIT_IO, .io_port = 0x10, .io_value = 7
        };
        explain(&r, &p);
        assert_non_null(strstr(p.reason, "wrote 7 to I/O port 0x10 where an I/O write of 43"));
        kvm_probe_done(&p);
        r = (struct kvm_probe_report){ .stage = KVM_STAGE_HALT, .error = EFAULT };
        explain(&r, &p);
        assert_string_equal(p.reason, "KVM cannot run guests: KVM_RUN failed: Bad address");
        kvm_probe_done(&p);
}

static void guest_that_ran(void **state)
{
        (void)state;
        struct kvm_probe p;
        struct kvm_probe_report r = { .stage = KVM_STAGE_DONE,
                                      .loop_total = 20000000,
                                      .loop_done = 20000000,
                                      .loop_ns = 9500000 };
        explain(&r, &p);
        assert_true(p.usable);
        assert_string_equal(p.reason,
                            "KVM runs guests: a test vCPU ran 20000000 loop iterations in 9.5 ms");
        kvm_probe_done(&p);
}

/* The real probe, on devices that cannot be KVM; then on this host's /dev/kvm. */
static void real_probe(void **state)
{
        (void)state;
        struct kvm_probe p;
        kvm_probe_run("/nonexistent/kvm", 2000, &p);
        assert_false(p.usable);
        assert_string_equal(p.reason, "/nonexistent/kvm does not exist");
        kvm_probe_done(&p);
        kvm_probe_run("/dev/null", 2000, &p);
        assert_false(p.usable);
        assert_non_null(strstr(p.reason, "KVM_GET_API_VERSION failed"));
        kvm_probe_done(&p);

        /* Whatever this host's KVM can do, the answer is explained and probed once. */
        const struct kvm_probe *k = kvm_probe();
        assert_non_null(k->reason);
        assert_true(k->usable ? k->hint == NULL : k->hint != NULL);
        assert_ptr_equal(kvm_probe(), k);
        print_message("this host: %s\n", k->reason);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(missing_device),         cmocka_unit_test(no_permission),
                cmocka_unit_test(api_mismatch_and_no_vm), cmocka_unit_test(vcpu_that_never_exits),
                cmocka_unit_test(vcpu_far_too_slow),      cmocka_unit_test(wrong_exits),
                cmocka_unit_test(guest_that_ran),         cmocka_unit_test(real_probe),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
