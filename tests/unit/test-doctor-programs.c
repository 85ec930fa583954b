#include "test-helpers.h"

#include "host/doctor.h"
#include "hypervisor/hypervisor.h"
#include "util/spawn.h"
#include "util/strv.h"

static const struct doctor_finding *find(const struct doctor_report *r, const char *check)
{
        for (size_t i = 0; i < r->n; i++)
                if (strcmp(r->items[i].check, check) == 0)
                        return &r->items[i];
        fail_msg("no finding for %s", check);
        return NULL;
}

/* Every hypervisor, virtiofsd and nix get a line; only what a VM uses can be an error. */
static void hypervisors_and_virtiofsd(void **state)
{
        (void)state;
        struct doctor_report r = { 0 };
        struct doctor_needs n = { 0 };
        strv_push(&n.by_hypervisor[1], "ch");
        n.package[1] = "/nonexistent/cloud-hypervisor";
        strv_push(&n.by_hypervisor[2], "fc");
        n.package[2] = "/bin/false"; /* runs, but tells no version */
        doctor_check_programs(&r, &n);
        size_t count = 0;
        while (hypervisors[count])
                count++;
        assert_int_equal(r.n, count + 2);

        const struct doctor_finding *ch = find(&r, "cloud-hypervisor");
        assert_int_equal(ch->status, DOCTOR_ERROR);
        assert_string_equal(ch->detail, "/nonexistent/cloud-hypervisor not found; vm ch uses it");
        assert_non_null(strstr(ch->hint, "microvm.cloud-hypervisor.package"));
        const struct doctor_finding *fc = find(&r, "firecracker");
        assert_int_equal(fc->status, DOCTOR_WARNING);
        assert_non_null(strstr(fc->detail, "/bin/false --version exited with status 1"));

        /* qemu is the hypervisor Debian packages: when it is there, its version is shown. */
        const struct doctor_finding *q = find(&r, "qemu");
        char *path = NULL;
        if (find_program("qemu-system-x86_64", &path, NULL) == 0) {
                assert_int_equal(q->status, DOCTOR_OK);
                assert_non_null(strstr(q->detail, "QEMU emulator version"));
                assert_non_null(strstr(q->detail, path));
        } else {
                assert_int_equal(q->status, DOCTOR_INFO);
        }
        free(path);
        const struct doctor_finding *v = find(&r, "virtiofsd");
        assert_true(v->status == DOCTOR_OK || v->status == DOCTOR_WARNING);
        /* No flake VM: Nix is only information, there or not. */
        const struct doctor_finding *nix = find(&r, "nix");
        assert_true(nix->status == DOCTOR_OK || nix->status == DOCTOR_INFO);
        doctor_needs_free(&n);
        doctor_report_free(&r);
}

/* A flake VM on a host without nix: an error naming the package. */
static void a_flake_vm_needs_nix(void **state)
{
        (void)state;
        struct doctor_report r = { 0 };
        struct doctor_needs n = { 0 };
        strv_push(&n.flake, "web");
        const char *path = getenv("PATH");
        char *saved = path ? strdup(path) : NULL;
        setenv("PATH", "/nonexistent", 1);
        doctor_check_programs(&r, &n);
        if (saved)
                setenv("PATH", saved, 1);
        free(saved);
        const struct doctor_finding *nix = find(&r, "nix");
        assert_int_equal(nix->status, DOCTOR_ERROR);
        assert_string_equal(nix->detail, "not found; vm web is built from a flake");
        assert_string_equal(nix->hint, "apt-get install nix-bin");
        doctor_needs_free(&n);
        doctor_report_free(&r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(hypervisors_and_virtiofsd),
                cmocka_unit_test(a_flake_vm_needs_nix),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
