/*
 * host/pci-passthrough.c against a stand-in sysfs in a scratch directory:
 * regular files where the kernel has attributes, so nothing rebinds by
 * itself. Writes are appended (as pci-passthrough.c opens them), so each
 * file shows every write made to it, in order; the probe callback does
 * what the kernel would on drivers_probe and checks what came before it.
 */
#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "host/pci-passthrough.h"
#include "util/atomic-file.h"
#include "util/error.h"
#include "util/xalloc.h"

#define ADDR "0000:01:00.0"

struct stand_in {
        char *root, *sysfs, *dev, *record;
        struct pci_host host;
        int probes;
        bool bind_on_probe; /* false: the driver lets go and nothing takes the device */
};

static char *at(const struct stand_in *s, const char *rel)
{
        return xasprintf("%s/%s", s->root, rel);
}

static void mkfile(const struct stand_in *s, const char *rel)
{
        char *p = at(s, rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
        free(p);
}

static void mkdirs(const struct stand_in *s, const char *rel)
{
        char *p = at(s, rel);
        for (char *c = p + strlen(s->root) + 1; *c; c++)
                if (*c == '/') {
                        *c = '\0';
                        (void)mkdir(p, 0755);
                        *c = '/';
                }
        assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
        free(p);
}

static void relink(const struct stand_in *s, const char *rel, const char *target)
{
        char *p = at(s, rel);
        (void)unlink(p);
        if (target)
                assert_int_equal(symlink(target, p), 0);
        free(p);
}

static char *contents(const struct stand_in *s, const char *rel)
{
        char *p = at(s, rel), *text = NULL;
        assert_int_equal(read_file_full(p, &text, NULL, NULL), 0);
        free(p);
        return text;
}

static void assert_contents(const struct stand_in *s, const char *rel, const char *want)
{
        char *text = contents(s, rel);
        assert_string_equal(text, want);
        free(text);
}

#define DEVICE "sys/devices/pci0000:00/" ADDR

/* What the kernel does on a write to drivers_probe. */
static void stand_in_probe(const char *addr, void *data)
{
        struct stand_in *s = data;
        assert_string_equal(addr, ADDR);
        assert_contents(s, "sys/bus/pci/drivers_probe",
                        s->probes ? ADDR "\n" ADDR "\n" : ADDR "\n");
        if (s->probes++ == 0) {
                /* Setup: unbound from e1000e, then vfio-pci asked for. */
                assert_contents(s, "sys/bus/pci/drivers/e1000e/unbind", ADDR "\n");
                assert_contents(s, DEVICE "/driver_override", "vfio-pci\n");
                relink(s, DEVICE "/driver",
                       s->bind_on_probe ? "../../../bus/pci/drivers/vfio-pci" : NULL);
                return;
        }
        /* Undo: the override cleared before the device is probed for its own driver. */
        assert_contents(s, DEVICE "/driver_override", "vfio-pci\n\n");
        relink(s, DEVICE "/driver", "../../../bus/pci/drivers/e1000e");
}

static int setup(void **state)
{
        struct stand_in *s = xcalloc(1, sizeof(*s));
        s->root = scratch_dir_new();
        s->sysfs = at(s, "sys");
        s->dev = at(s, "dev");
        s->record = at(s, "record");
        s->bind_on_probe = true;
        mkdirs(s, "sys/bus/pci/drivers/e1000e");
        mkdirs(s, "sys/bus/pci/drivers/vfio-pci");
        mkdirs(s, "sys/bus/pci/devices");
        mkdirs(s, "sys/kernel/iommu_groups/7");
        mkdirs(s, DEVICE);
        mkdirs(s, "dev/vfio");
        mkfile(s, "sys/bus/pci/drivers/e1000e/unbind");
        mkfile(s, "sys/bus/pci/drivers/vfio-pci/unbind");
        mkfile(s, "sys/bus/pci/drivers_probe");
        mkfile(s, DEVICE "/driver_override");
        relink(s, DEVICE "/driver", "../../../bus/pci/drivers/e1000e");
        relink(s, DEVICE "/iommu_group", "../../../kernel/iommu_groups/7");
        relink(s, "sys/bus/pci/devices/" ADDR, "../../../devices/pci0000:00/" ADDR);
        char *group = at(s, "dev/vfio/7");
        /* Root can make the group's character device; otherwise a file stands in for it. */
        if (mknod(group, S_IFCHR | 0600, makedev(1, 3)) < 0) {
                int fd = open(group, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                close(fd);
        }
        free(group);
        s->host = (struct pci_host){
                .sysfs = s->sysfs, .dev = s->dev, .on_probe = stand_in_probe, .probe_data = s
        };
        *state = s;
        return 0;
}

static int teardown(void **state)
{
        struct stand_in *s = *state;
        scratch_dir_remove(s->root);
        free(s->sysfs);
        free(s->dev);
        free(s->record);
        free(s);
        return 0;
}

static bool group_is_chardev(const struct stand_in *s)
{
        char *p = at(s, "dev/vfio/7");
        struct stat st;
        bool chr = lstat(p, &st) == 0 && S_ISCHR(st.st_mode);
        free(p);
        return chr;
}

static void group_owner(const struct stand_in *s, uid_t *uid, gid_t *gid)
{
        char *p = at(s, "dev/vfio/7");
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        *uid = st.st_uid;
        *gid = st.st_gid;
        free(p);
}

static void binds_to_vfio_and_gives_it_back_stand_in_sysfs(void **state)
{
        struct stand_in *s = *state;
        if (!group_is_chardev(s))
                skip(); /* mknod needs root */
        char *addrs[] = { "0000:01:00.0", NULL };
        struct mv_error *err = NULL;
        assert_int_equal(pci_passthrough_setup(&s->host, addrs, 1234, 5678, s->record, NULL, &err),
                         0);
        assert_int_equal(s->probes, 1);
        char *record = contents(s, "record");
        assert_string_equal(record, ADDR " e1000e 7 vm\n");
        free(record);
        uid_t uid;
        gid_t gid;
        group_owner(s, &uid, &gid);
        assert_int_equal(uid, 1234);
        assert_int_equal(gid, 5678);

        pci_passthrough_undo(&s->host, s->record);
        assert_int_equal(s->probes, 2);
        assert_contents(s, "sys/bus/pci/drivers/vfio-pci/unbind", ADDR "\n");
        group_owner(s, &uid, &gid);
        assert_int_equal(uid, 0);
        assert_int_equal(gid, 0);
        assert_int_equal(access(s->record, F_OK), -1);
        /* A second undo (a stop after the teardown) has nothing to do. */
        pci_passthrough_undo(&s->host, s->record);
        assert_int_equal(s->probes, 2);
}

static void as_root_the_group_stays_roots_stand_in_sysfs(void **state)
{
        struct stand_in *s = *state;
        char *addrs[] = { "0000:01:00.0", NULL };
        struct mv_error *err = NULL;
        /* Run as root: the group stays root's. */
        assert_int_equal(
                pci_passthrough_setup(&s->host, addrs, (uid_t)-1, (gid_t)-1, s->record, NULL, &err),
                0);
        assert_contents(s, "record", ADDR " e1000e 7 root\n");
        pci_passthrough_undo(&s->host, s->record);
        assert_int_equal(s->probes, 2);
}

static void no_iommu_group_changes_nothing_stand_in_sysfs(void **state)
{
        struct stand_in *s = *state;
        relink(s, DEVICE "/iommu_group", NULL);
        char *addrs[] = { "0000:01:00.0", NULL };
        struct mv_error *err = NULL;
        assert_true(pci_passthrough_setup(&s->host, addrs, 1234, 5678, s->record, NULL, &err) < 0);
        assert_non_null(strstr(err->msg, "has no IOMMU group"));
        assert_non_null(strstr(err->msg, "the IOMMU is off"));
        assert_non_null(strstr(err->hint, "intel_iommu=on"));
        mv_error_free(&err);
        assert_contents(s, "sys/bus/pci/drivers/e1000e/unbind", "");
        assert_contents(s, DEVICE "/driver_override", "");
        assert_int_equal(access(s->record, F_OK), -1);
        assert_int_equal(s->probes, 0);
}

static void missing_device_says_where_to_look_stand_in_sysfs(void **state)
{
        struct stand_in *s = *state;
        char *addrs[] = { "0000:02:00.0", NULL };
        struct mv_error *err = NULL;
        assert_true(pci_passthrough_setup(&s->host, addrs, 1234, 5678, s->record, NULL, &err) < 0);
        assert_non_null(strstr(err->msg, "PCI device 0000:02:00.0"));
        assert_non_null(strstr(err->hint, "lspci -D"));
        mv_error_free(&err);
        assert_int_equal(access(s->record, F_OK), -1);
}

static void a_device_vfio_did_not_take_is_reprobed_on_undo_stand_in_sysfs(void **state)
{
        struct stand_in *s = *state;
        s->bind_on_probe = false;
        char *addrs[] = { "0000:01:00.0", NULL };
        struct mv_error *err = NULL;
        assert_true(pci_passthrough_setup(&s->host, addrs, 1234, 5678, s->record, NULL, &err) < 0);
        assert_non_null(strstr(err->msg, "did not bind to vfio-pci (its driver: none)"));
        mv_error_free(&err);
        /* The record stays for the undo, which gives the device back to its driver. */
        assert_int_equal(access(s->record, F_OK), 0);
        pci_passthrough_undo(&s->host, s->record);
        assert_int_equal(s->probes, 2);
        assert_contents(s, "sys/bus/pci/drivers/vfio-pci/unbind", "");
        char *driver = at(s, DEVICE "/driver");
        char target[256] = { 0 };
        assert_true(readlink(driver, target, sizeof(target) - 1) > 0);
        assert_string_equal(target, "../../../bus/pci/drivers/e1000e");
        free(driver);
}

static void a_record_line_that_is_not_a_device_is_skipped_stand_in_sysfs(void **state)
{
        struct stand_in *s = *state;
        static const char bad[] = "../../x e1000e 7 vm\n" ADDR " e1000e 7/../8 vm\n";
        assert_int_equal(write_file_atomic(s->record, bad, strlen(bad), 0644, NULL), 0);
        pci_passthrough_undo(&s->host, s->record);
        assert_contents(s, DEVICE "/driver_override", "");
        assert_int_equal(access(s->record, F_OK), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(binds_to_vfio_and_gives_it_back_stand_in_sysfs,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(as_root_the_group_stays_roots_stand_in_sysfs, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(no_iommu_group_changes_nothing_stand_in_sysfs,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(missing_device_says_where_to_look_stand_in_sysfs,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(
                        a_device_vfio_did_not_take_is_reprobed_on_undo_stand_in_sysfs, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(
                        a_record_line_that_is_not_a_device_is_skipped_stand_in_sysfs, setup,
                        teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
