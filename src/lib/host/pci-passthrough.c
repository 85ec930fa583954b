#include "host/pci-passthrough.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/devices.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define VFIO_PCI  "vfio-pci"
#define NO_DRIVER "-"
#define NAME_MAX_ 64

/* One device as the record has it. */
struct pci_device {
        char addr[PCI_ADDRESS_LEN + 1];
        char driver[NAME_MAX_]; /* before the setup; NO_DRIVER for none */
        char group[NAME_MAX_];  /* its IOMMU group's number */
        bool owned;             /* /dev/vfio/GROUP was given to the VM's user */
};

void pci_host_default(struct pci_host *h)
{
        const char *sysfs = getenv("MICROVM_TEST_SYSFS"), *dev = getenv("MICROVM_TEST_DEV");
        *h = (struct pci_host){ .sysfs = sysfs && *sysfs ? sysfs : "/sys",
                                .dev = dev && *dev ? dev : "/dev" };
}

static char *device_path(const struct pci_host *h, const char *addr, const char *leaf)
{
        return xasprintf("%s/bus/pci/devices/%s/%s", h->sysfs, addr, leaf);
}

/* A name sysfs gives (a driver, an IOMMU group): what the record can hold. */
static bool name_ok(const char *s, bool digits_only)
{
        size_t n = strlen(s);
        if (n == 0 || n >= NAME_MAX_)
                return false;
        for (size_t i = 0; i < n; i++)
                if (digits_only ? !isdigit((unsigned char)s[i])
                                : !isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
                        return false;
        return true;
}

/* The last component of what symlink `path` points at, into `out`: 0, or -errno. */
static int link_name(const char *path, char out[NAME_MAX_])
{
        char target[4096];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        const char *slash = strrchr(target, '/');
        const char *base = slash ? slash + 1 : target;
        if (strlen(base) >= NAME_MAX_)
                return -ENAMETOOLONG;
        memcpy(out, base, strlen(base) + 1);
        return 0;
}

/* The device's driver now, NO_DRIVER for none. */
static int current_driver(const struct pci_host *h, const char *addr, char out[NAME_MAX_],
                          struct mv_error **err)
{
        _cleanup_free_ char *path = device_path(h, addr, "driver");
        int r = link_name(path, out);
        if (r == -ENOENT) {
                memcpy(out, NO_DRIVER, sizeof(NO_DRIVER));
                return 0;
        }
        if (r >= 0 && !name_ok(out, false))
                r = -EINVAL;
        return r < 0 ? mv_error_set(err, -r, "read %s", path) : 0;
}

/*
 * `text` into the sysfs attribute at `path`, as `echo text > path` does.
 * O_APPEND changes nothing for an attribute, which ignores the offset; a
 * stand-in file in a test keeps every write.
 */
static int sysfs_write(const char *path, const char *text, struct mv_error **err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return mv_error_set(err, errno, "open %s", path);
        _cleanup_free_ char *line = xasprintf("%s\n", text);
        int r = write_all(fd, line, strlen(line));
        if (r < 0)
                return mv_error_set(err, -r, "write \"%s\" to %s", text, path);
        return 0;
}

/* vfio-pci, loaded as microvm.nix's pci-setup loads it when the kernel does not have it yet. */
static int load_vfio_pci(const struct pci_host *h, struct child_waiter *w, struct mv_error **err)
{
        _cleanup_free_ char *driver = xasprintf("%s/bus/pci/drivers/" VFIO_PCI, h->sysfs);
        if (access(driver, F_OK) == 0)
                return 0;
        _cleanup_free_ char *modprobe = NULL;
        int r = find_program("modprobe", &modprobe, err);
        if (r < 0)
                return mv_error_hint(err, "install kmod, or load vfio-pci at boot");
        char *argv[] = { modprobe, (char *)VFIO_PCI, NULL };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.stdin_fd = SPAWN_FD_NULL;
        int status = 0;
        r = spawn_run(&o, w, -1, &status, NULL, err);
        if (r >= 0 && status != 0)
                r = mv_error_fail(err, "modprobe " VFIO_PCI " exited with status %d", status);
        if (r >= 0 && access(driver, F_OK) < 0)
                r = mv_error_set(err, errno, "modprobe " VFIO_PCI " ran, but %s", driver);
        if (r < 0) {
                mv_error_wrap(err, "load the " VFIO_PCI " driver for PCI passthrough");
                return mv_error_hint(err, "the host kernel needs the vfio-pci module "
                                          "(CONFIG_VFIO_PCI); see 'modprobe vfio-pci' and dmesg");
        }
        return 0;
}

/* The device exists, has an IOMMU group, and what drives it now. */
static int inspect(const struct pci_host *h, const char *addr, struct pci_device *d,
                   struct mv_error **err)
{
        *d = (struct pci_device){ 0 };
        if (!pci_address_valid(addr))
                return mv_error_fail(err, "\"%s\" is not a full PCI address", addr);
        pci_address_normalise(addr, d->addr);
        _cleanup_free_ char *dir = xasprintf("%s/bus/pci/devices/%s", h->sysfs, d->addr);
        if (access(dir, F_OK) < 0) {
                mv_error_set(err, errno, "PCI device %s: %s", d->addr, dir);
                return mv_error_hint(err, "'lspci -D' lists the host's devices with their "
                                          "addresses; fix microvm.devices");
        }
        _cleanup_free_ char *group = device_path(h, d->addr, "iommu_group");
        int r = link_name(group, d->group);
        if (r == -ENOENT) {
                mv_error_fail(err, "PCI device %s has no IOMMU group (no %s): the IOMMU is off",
                              d->addr, group);
                return mv_error_hint(err, "turn the IOMMU on: intel_iommu=on or amd_iommu=on on "
                                          "the kernel command line (and VT-d or AMD-Vi in the "
                                          "firmware), then reboot");
        }
        if (r >= 0 && !name_ok(d->group, true))
                r = -EINVAL;
        if (r < 0)
                return mv_error_set(err, -r, "read %s", group);
        return current_driver(h, d->addr, d->driver, err);
}

static int record_write(const char *record, const struct pci_device *d, size_t n,
                        struct mv_error **err)
{
        struct strbuf b = { 0 };
        for (size_t i = 0; i < n; i++)
                strbuf_printf(&b, "%s %s %s %s\n", d[i].addr, d[i].driver, d[i].group,
                              d[i].owned ? "vm" : "root");
        _cleanup_free_ char *text = strbuf_take(&b);
        return write_live_record(record, text ? text : "", text ? strlen(text) : 0, 0644, err);
}

/* Unbind from its driver, override, probe: vfio-pci takes the device. */
static int bind_vfio(const struct pci_host *h, const struct pci_device *d, struct mv_error **err)
{
        if (strcmp(d->driver, VFIO_PCI) == 0)
                return 0; /* bound already (vfio-pci.ids=, or by hand): leave it so */
        int r = 0;
        if (strcmp(d->driver, NO_DRIVER) != 0) {
                _cleanup_free_ char *unbind = device_path(h, d->addr, "driver/unbind");
                r = sysfs_write(unbind, d->addr, err);
        }
        _cleanup_free_ char *override = device_path(h, d->addr, "driver_override");
        if (r >= 0)
                r = sysfs_write(override, VFIO_PCI, err);
        _cleanup_free_ char *probe = xasprintf("%s/bus/pci/drivers_probe", h->sysfs);
        if (r >= 0)
                r = sysfs_write(probe, d->addr, err);
        if (r >= 0 && h->on_probe)
                h->on_probe(d->addr, h->probe_data);
        char now[NAME_MAX_];
        if (r >= 0)
                r = current_driver(h, d->addr, now, err);
        if (r >= 0 && strcmp(now, VFIO_PCI) != 0) {
                mv_error_fail(err, "PCI device %s did not bind to " VFIO_PCI " (its driver: %s)",
                              d->addr, strcmp(now, NO_DRIVER) == 0 ? "none" : now);
                r = mv_error_hint(err, "the kernel log says why (dmesg)");
        }
        return r < 0 ? mv_error_wrap(err, "PCI device %s", d->addr) : 0;
}

/* /dev/vfio/GROUP, the character device of the group, to uid:gid; by descriptor. */
static int give_group(const struct pci_host *h, const char *group, uid_t uid, gid_t gid,
                      struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/vfio/%s", h->dev, group);
        _cleanup_close_ int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return mv_error_set(err, errno, "open %s", path);
        if (!S_ISCHR(st.st_mode))
                return mv_error_fail(err, "%s is not a character device", path);
        if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
                return mv_error_set(err, errno, "chown %s", path);
        return 0;
}

int pci_passthrough_setup(const struct pci_host *h, char *const *addrs, uid_t uid, gid_t gid,
                          const char *record, struct child_waiter *w, struct mv_error **err)
{
        size_t n = 0;
        while (addrs && addrs[n])
                n++;
        if (!n)
                return 0;
        _cleanup_free_ struct pci_device *d = xcalloc(n, sizeof(*d));
        int r = load_vfio_pci(h, w, err);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = inspect(h, addrs[i], &d[i], err);
                d[i].owned = uid != (uid_t)-1;
        }
        /* Recorded before the first change: a crash from here on is undone from it. */
        if (r >= 0)
                r = record_write(record, d, n, err);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = bind_vfio(h, &d[i], err);
                if (r >= 0 && d[i].owned)
                        r = give_group(h, d[i].group, uid, gid, err);
                if (r >= 0)
                        log_info("PCI device %s bound to " VFIO_PCI " (IOMMU group %s)", d[i].addr,
                                 d[i].group);
        }
        return r;
}

/* A line of the record, checked: root wrote it, but a sysfs path is built from it. */
static bool record_parse(char *line, struct pci_device *d)
{
        char *save = NULL, *w[4];
        for (size_t i = 0; i < 4; i++)
                if (!(w[i] = strtok_r(i ? NULL : line, " ", &save)))
                        return false;
        if (strtok_r(NULL, " ", &save) || !pci_address_valid(w[0]) || !name_ok(w[1], false) ||
            !name_ok(w[2], true))
                return false;
        *d = (struct pci_device){ .owned = strcmp(w[3], "vm") == 0 };
        pci_address_normalise(w[0], d->addr);
        memcpy(d->driver, w[1], strlen(w[1]) + 1);
        memcpy(d->group, w[2], strlen(w[2]) + 1);
        return true;
}

/* Group back to root, override cleared, unbound from vfio-pci, probed for its own driver. */
static void undo_one(const struct pci_host *h, const struct pci_device *d)
{
        struct mv_error *e = NULL;
        /* First: /dev/vfio/GROUP goes away when the group's last device leaves vfio-pci. */
        if (d->owned && give_group(h, d->group, 0, 0, &e) < 0) {
                if (e->code == ENOENT) /* never bound, or gone with it */
                        mv_error_free(&e);
                else
                        log_warning_error(&e);
        }
        if (strcmp(d->driver, VFIO_PCI) == 0)
                return;
        _cleanup_free_ char *override = device_path(h, d->addr, "driver_override");
        if (sysfs_write(override, "", &e) < 0)
                log_warning_error(&e);
        char now[NAME_MAX_];
        if (current_driver(h, d->addr, now, &e) < 0) {
                log_warning_error(&e);
                return;
        }
        if (strcmp(now, VFIO_PCI) == 0) {
                _cleanup_free_ char *unbind = device_path(h, d->addr, "driver/unbind");
                if (sysfs_write(unbind, d->addr, &e) < 0)
                        log_warning_error(&e);
        } else if (strcmp(now, NO_DRIVER) != 0) {
                return; /* another driver has it: nothing of ours to undo */
        }
        /* A device that had no driver stays without one. */
        if (strcmp(d->driver, NO_DRIVER) == 0)
                return;
        _cleanup_free_ char *probe = xasprintf("%s/bus/pci/drivers_probe", h->sysfs);
        if (sysfs_write(probe, d->addr, &e) < 0)
                log_warning_error(&e);
        else if (h->on_probe)
                h->on_probe(d->addr, h->probe_data);
        if (current_driver(h, d->addr, now, &e) < 0)
                log_warning_error(&e);
        else if (strcmp(now, d->driver) == 0)
                log_info("PCI device %s is back with driver %s", d->addr, d->driver);
        else
                log_warning("PCI device %s was driven by %s before the VM; now: %s", d->addr,
                            d->driver, strcmp(now, NO_DRIVER) == 0 ? "no driver" : now);
}

void pci_passthrough_undo(const struct pci_host *h, const char *record)
{
        _cleanup_free_ char *text = NULL;
        struct mv_error *e = NULL;
        if (read_file_full(record, &text, NULL, &e) < 0) {
                if (e && e->code != ENOENT)
                        log_warning_error(&e);
                mv_error_free(&e);
                return;
        }
        char *save = NULL;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                struct pci_device d;
                _cleanup_free_ char *shown = xstrdup(l);
                if (!record_parse(l, &d)) {
                        log_warning("%s: a line that is not a PCI device's: '%s'", record, shown);
                        continue;
                }
                undo_one(h, &d);
        }
        if (unlink(record) < 0 && errno != ENOENT)
                log_warning("remove %s: %s", record, strerror(errno));
}
