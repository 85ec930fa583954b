/*
 * PCI passthrough on the host, natively as microvm.nix's bin/pci-setup
 * does it: for each device, vfio-pci loaded, the device unbound from its
 * driver, driver_override set to vfio-pci and the device probed again, so
 * vfio-pci takes it; then its IOMMU group's /dev/vfio/GROUP handed to the
 * hypervisor's user. Undone on stop: the override cleared, the device
 * unbound from vfio-pci and probed, so its own driver takes it back, and
 * /dev/vfio/GROUP given back to root.
 *
 * What a setup changes is recorded first, in root's records
 * (STATE/.host/NAME/pci-devices, "ADDRESS DRIVER GROUP OWNER" per line),
 * so that the undo works from the record alone: after a normal stop, and
 * after a monitor that was killed, at the next start or stop.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct mv_error;
struct child_waiter;

#define PCI_RECORD "pci-devices"

struct pci_host {
        const char *sysfs; /* "/sys" */
        const char *dev;   /* "/dev" */
        /*
         * Tests on a stand-in sysfs, where nothing rebinds by itself: what
         * the kernel does when `addr` is written to drivers_probe. NULL on
         * the real sysfs.
         */
        void (*on_probe)(const char *addr, void *data);
        void *probe_data;
};

/*
 * The host's sysfs and /dev; MICROVM_TEST_SYSFS and MICROVM_TEST_DEV (for
 * tests only, docs/HACKING.md) put them elsewhere.
 */
void pci_host_default(struct pci_host *h);

/*
 * Bind each device of `addrs` (full addresses, checked again here) to
 * vfio-pci and give its /dev/vfio/GROUP to `uid`:`gid` (left alone when
 * uid is -1: the hypervisor runs as root). `record` is the path of the
 * record, written before anything changes; what is done before a failure
 * stays recorded for pci_passthrough_undo(). modprobe runs through `w`.
 */
int pci_passthrough_setup(const struct pci_host *h, char *const *addrs, uid_t uid, gid_t gid,
                          const char *record, struct child_waiter *w, struct mv_error **err);

/*
 * Undo what the record at `record` says a setup did, then remove it;
 * nothing when there is none. Failures are logged: the rest is undone all
 * the same.
 */
void pci_passthrough_undo(const struct pci_host *h, const char *record);
