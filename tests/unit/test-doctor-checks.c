#include "vm-helpers.h"

#include <sys/stat.h>

#include "host/doctor.h"
#include "host/kvm-probe.h"
#include "util/cleanup.h"
#include "util/strv.h"

static const struct doctor_finding *only(const struct doctor_report *r)
{
        assert_int_equal(r->n, 1);
        return &r->items[0];
}

static void needs_follow_the_vms(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        struct host_config cfg;
        load_host(dir,
                  VM("a", "hypervisor = \"crosvm\"; vsock.cid = 3; mem = 2048; "
                          "devices = [ { bus = \"pci\"; path = \"0000:01:00.0\"; } ];")
                          VM("b", "vsock.cid = 4; interfaces = [ { type = \"tap\"; id = "
                                  "\"vm-b\"; mac = \"02:00:00:00:00:01\"; tap.vhost = true; } "
                                  "{ type = \"macvtap\"; id = \"vm-b-on-the-lan-0\"; mac = "
                                  "\"02:00:00:00:00:02\"; macvtap = { link = \"eth0\"; mode = "
                                  "\"bridge\"; }; } ];")
                                  VM("c", "hypervisor = \"firecracker\"; vsock.cid = 5; "
                                          "firecracker.package = \"/opt/fc\"; shares = [ { tag = "
                                          "\"s\"; source = \"/srv\"; mountPoint = \"/m\"; proto = "
                                          "\"virtiofs\"; } ];"),
                  &cfg);
        struct doctor_needs n;
        doctor_needs_from_config(cfg.root, &n);
        _cleanup_free_ char *kvm = strv_join(n.kvm, ","), *vsock = strv_join(n.vhost_vsock, ",");
        assert_string_equal(kvm, "a,c");
        /* firecracker's vsock is a unix socket on the host: no vhost. */
        assert_string_equal(vsock, "a,b");
        assert_string_equal(n.tap[0], "b");
        assert_string_equal(n.vhost_net[0], "b");
        assert_null(n.tap[1]);
        assert_string_equal(n.virtiofs[0], "c");
        assert_string_equal(n.vfio[0], "a");
        assert_string_equal(n.altname[0], "b");
        assert_null(n.altname[1]);
        assert_int_equal(n.vfio_mem_mib, 2048);
        assert_string_equal(n.by_hypervisor[0][0], "b"); /* qemu, first in the table */
        assert_string_equal(n.package[2], "/opt/fc");    /* firecracker */
        doctor_needs_free(&n);
        host_config_free(&cfg);
        scratch_dir_remove(dir);
}

static void kvm_verdicts(void **state)
{
        (void)state;
        struct doctor_report r = { 0 };
        struct doctor_needs n = { 0 };
        struct kvm_probe good = { .usable = true, .reason = "KVM runs guests" };
        struct kvm_probe bad = { .reason = "KVM cannot run guests", .hint = "enable nesting" };
        doctor_check_kvm(&r, &n, &good);
        assert_int_equal(only(&r)->status, DOCTOR_OK);
        doctor_report_free(&r);
        doctor_check_kvm(&r, &n, &bad);
        assert_int_equal(only(&r)->status, DOCTOR_WARNING);
        assert_non_null(strstr(r.items[0].detail, "qemu falls back to TCG"));
        assert_string_equal(r.items[0].hint, "enable nesting");
        doctor_report_free(&r);
        strv_push(&n.kvm, "web");
        doctor_check_kvm(&r, &n, &bad);
        assert_int_equal(only(&r)->status, DOCTOR_ERROR);
        assert_non_null(strstr(r.items[0].detail, "vm web needs KVM"));
        doctor_report_free(&r);
        doctor_needs_free(&n);
}

static void supervisor_in_force(void **state)
{
        (void)state;
        static const struct {
                bool pid1, template, wanted;
                const char *missing;
                enum doctor_status status;
                const char *says;
        } cases[] = {
                { true, true, true, NULL, DOCTOR_OK, "systemd units" },
                { true, true, true, "microvm-virtiofsd@.service", DOCTOR_ERROR,
                  "microvm-virtiofsd@.service is not installed beside microvm@.service" },
                { true, true, false, "microvm-virtiofsd@.service", DOCTOR_OK,
                  "systemdUnits = false" },
                { true, false, true, NULL, DOCTOR_WARNING, "not installed" },
                { false, false, true, NULL, DOCTOR_OK, "systemd is not PID 1" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct doctor_report r = { 0 };
                doctor_check_supervisor(&r, cases[i].pid1, cases[i].template, cases[i].wanted,
                                        cases[i].missing);
                assert_int_equal(only(&r)->status, cases[i].status);
                assert_non_null(strstr(r.items[0].detail, cases[i].says));
                doctor_report_free(&r);
        }
}

static void devices(void **state)
{
        (void)state;
        struct doctor_report r = { 0 };
        doctor_check_device(&r, "null", "/dev/null", NULL, "nothing", "null");
        assert_int_equal(only(&r)->status, DOCTOR_OK);
        doctor_report_free(&r);
        doctor_check_device(&r, "x", "/nonexistent/dev", NULL, "things", "xmod");
        assert_int_equal(only(&r)->status, DOCTOR_WARNING);
        assert_string_equal(r.items[0].detail,
                            "/nonexistent/dev: No such file or directory; needed for things");
        assert_string_equal(r.items[0].hint, "load it: modprobe xmod");
        doctor_report_free(&r);
        char *vms[] = { "a", "b", NULL };
        doctor_check_device(&r, "x", "/nonexistent/dev", vms, "things", "xmod");
        assert_int_equal(only(&r)->status, DOCTOR_ERROR);
        assert_non_null(strstr(r.items[0].detail, "needed for things (vm a, b)"));
        doctor_report_free(&r);
}

static void accounts(void **state)
{
        (void)state;
        struct doctor_report r = { 0 };
        doctor_check_accounts(&r, "root", "root");
        assert_int_equal(r.n, 2);
        assert_int_equal(doctor_count(&r, DOCTOR_OK), 2);
        doctor_report_free(&r);
        doctor_check_accounts(&r, "no-such-user-mv", "no-such-group-mv");
        assert_int_equal(doctor_count(&r, DOCTOR_WARNING), 2);
        assert_string_equal(r.items[0].hint, "groupadd --system no-such-group-mv");
        assert_non_null(strstr(r.items[1].hint, "useradd --system --gid no-such-group-mv"));
        doctor_report_free(&r);
}

static void state_directory(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        chmod(dir, 0755);
        _cleanup_free_ char *sd = xasprintf("%s/state", dir);
        struct doctor_report r = { 0 };
        doctor_check_state_dir(&r, sd);
        assert_int_equal(only(&r)->status, DOCTOR_INFO);
        doctor_report_free(&r);

        assert_int_equal(mkdir(sd, 0755), 0);
        assert_int_equal(chmod(sd, 0777), 0);
        doctor_check_state_dir(&r, sd);
        assert_int_equal(only(&r)->status, DOCTOR_ERROR);
        assert_non_null(strstr(r.items[0].detail, "writable by every user (mode 0777)"));
        assert_non_null(strstr(r.items[0].detail, "VMs do not start from it"));
        doctor_report_free(&r);

        assert_int_equal(chmod(sd, 0755), 0);
        if (geteuid() == 0 && chown(sd, 0, 0) == 0) {
                doctor_check_state_dir(&r, sd);
                assert_int_equal(only(&r)->status, DOCTOR_OK);
                assert_non_null(strstr(r.items[0].detail, "belongs to root:root, mode 0755"));
                doctor_report_free(&r);
                /* Another user's directory above it could have it renamed away. */
                assert_int_equal(chown(dir, 4242, 0), 0);
                doctor_check_state_dir(&r, sd);
                assert_int_equal(only(&r)->status, DOCTOR_ERROR);
                assert_non_null(strstr(r.items[0].detail, "belongs to uid 4242"));
                doctor_report_free(&r);
                assert_int_equal(chown(dir, 0, 0), 0);
        }
        scratch_dir_remove(dir);
}

static void memlock(void **state)
{
        (void)state;
        struct doctor_report r = { 0 };
        struct doctor_needs n = { 0 };
        struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
        struct rlimit low = { 8 << 20, 8 << 20 };
        doctor_check_memlock(&r, &n, &unlimited);
        assert_int_equal(only(&r)->status, DOCTOR_OK);
        doctor_report_free(&r);
        doctor_check_memlock(&r, &n, &low);
        assert_int_equal(only(&r)->status, DOCTOR_WARNING);
        assert_non_null(strstr(r.items[0].detail, "soft limit 8 MiB, hard 8 MiB"));
        doctor_report_free(&r);
        strv_push(&n.vfio, "gpu");
        n.vfio_mem_mib = 4096;
        doctor_check_memlock(&r, &n, &low);
        assert_int_equal(only(&r)->status, DOCTOR_ERROR);
        assert_non_null(strstr(r.items[0].detail, "4096 MiB for vm gpu"));
        doctor_report_free(&r);
        doctor_needs_free(&n);
}

static void iommu_stand_in_sysfs(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        struct doctor_report r = { 0 };
        struct doctor_needs n = { 0 };
        doctor_check_iommu(&r, &n, dir);
        assert_int_equal(r.n, 0); /* nothing passed through: not asked */
        strv_push(&n.vfio, "gpu");
        doctor_check_iommu(&r, &n, dir);
        assert_int_equal(only(&r)->status, DOCTOR_ERROR);
        assert_non_null(strstr(r.items[0].detail, "the IOMMU is off"));
        assert_non_null(strstr(r.items[0].hint, "intel_iommu=on"));
        doctor_report_free(&r);
        _cleanup_free_ char *kernel = xasprintf("%s/kernel", dir);
        _cleanup_free_ char *groups = xasprintf("%s/iommu_groups", kernel);
        _cleanup_free_ char *seven = xasprintf("%s/7", groups);
        assert_int_equal(mkdir(kernel, 0755), 0);
        assert_int_equal(mkdir(groups, 0755), 0);
        assert_int_equal(mkdir(seven, 0755), 0);
        doctor_check_iommu(&r, &n, dir);
        assert_int_equal(only(&r)->status, DOCTOR_OK);
        assert_non_null(strstr(r.items[0].detail, "1 IOMMU group, for PCI passthrough (vm gpu)"));
        doctor_report_free(&r);
        doctor_needs_free(&n);
        scratch_dir_remove(dir);
}

static void altnames_by_kernel_release(void **state)
{
        (void)state;
        struct doctor_report r = { 0 };
        struct doctor_needs n = { 0 };
        doctor_check_altnames(&r, &n, "4.19.0");
        assert_int_equal(r.n, 0); /* no long id: not asked */
        strv_push(&n.altname, "web");
        doctor_check_altnames(&r, &n, "5.4.0-150-generic");
        assert_int_equal(only(&r)->status, DOCTOR_ERROR);
        assert_string_equal(r.items[0].detail,
                            "Linux 5.4 lacks alternative interface names (Linux 5.5+), which the "
                            "interface ids longer than 15 bytes of vm web need");
        assert_non_null(strstr(r.items[0].hint, "at most 15 bytes"));
        doctor_report_free(&r);
        doctor_check_altnames(&r, &n, "5.5.0");
        assert_int_equal(only(&r)->status, DOCTOR_OK);
        doctor_report_free(&r);
        doctor_check_altnames(&r, &n, "6.1.0-13-amd64");
        assert_int_equal(only(&r)->status, DOCTOR_OK);
        doctor_report_free(&r);
        doctor_check_altnames(&r, &n, "weird");
        assert_int_equal(only(&r)->status, DOCTOR_WARNING);
        doctor_report_free(&r);
        doctor_needs_free(&n);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(needs_follow_the_vms),
                cmocka_unit_test(altnames_by_kernel_release),
                cmocka_unit_test(kvm_verdicts),
                cmocka_unit_test(devices),
                cmocka_unit_test(supervisor_in_force),
                cmocka_unit_test(accounts),
                cmocka_unit_test(state_directory),
                cmocka_unit_test(memlock),
                cmocka_unit_test(iommu_stand_in_sysfs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
