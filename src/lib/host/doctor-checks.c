/* doctor's checks of the host itself: KVM, device nodes, accounts, the state directory, limits. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config/ifname.h"
#include "config/merge.h"
#include "config/value-get.h"
#include "host/doctor.h"
#include "host/kvm-probe.h"
#include "hypervisor/hypervisor.h"
#include "systemd/manager.h"
#include "util/accounts.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/statedir.h"

static bool has_share(const struct value *guest, const char *proto)
{
        const struct value *shares = vget_list(guest, "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++)
                if (strcmp(vget_str(shares->items[i], "proto"), proto) == 0)
                        return true;
        return false;
}

static bool has_vhost_tap(const struct value *guest)
{
        const struct value *ifaces = vget_list(guest, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++)
                if (strcmp(vget_str(ifaces->items[i], "type"), "tap") == 0 &&
                    vget_bool(ifaces->items[i], "tap.vhost", false))
                        return true;
        return false;
}

/* An interface with a host side whose id is too long for a kernel name. */
static bool has_long_interface_id(const struct value *guest)
{
        const struct value *ifaces = vget_list(guest, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++)
                if (strcmp(vget_str(ifaces->items[i], "type"), "user") != 0 &&
                    interface_id_is_altname(vget_str(ifaces->items[i], "id")))
                        return true;
        return false;
}

static void note_hypervisor(struct doctor_needs *out, const char *vm, const struct value *guest,
                            const char *hv)
{
        for (size_t h = 0; h < DOCTOR_HYPERVISORS && hypervisors[h]; h++) {
                if (strcmp(hypervisors[h]->name, hv) != 0)
                        continue;
                strv_push(&out->by_hypervisor[h], vm);
                _cleanup_free_ char *opt = xasprintf("microvm.\"%s\".package", hv);
                if (!out->package[h])
                        out->package[h] = vget_str(guest, opt);
        }
}

void doctor_needs_from_config(const struct value *host, struct doctor_needs *out)
{
        *out = (struct doctor_needs){ 0 };
        const struct value *vms = vget_attrs(host, "microvm.vms");
        for (size_t i = 0; vms && i < vms->n_attrs; i++) {
                const char *vm = vms->attrs[i].key;
                const struct value *g = value_lookup(vms->attrs[i].value, "config");
                if (!g || g->type == VALUE_NULL) {
                        /* A flake VM: its other needs are in the flake. */
                        strv_push(&out->flake, vm);
                        continue;
                }
                const char *hv = vget_str(g, "microvm.hypervisor");
                const struct hypervisor_ops *ops = hypervisor_find(hv ? hv : "qemu");
                if (!ops)
                        continue;
                note_hypervisor(out, vm, g, ops->name);
                /* Only a hypervisor that can do without KVM (qemu, with TCG) says when it uses it. */
                if (!ops->uses_kvm)
                        strv_push(&out->kvm, vm);
                if (guest_has_interface(g, "tap"))
                        strv_push(&out->tap, vm);
                if (has_vhost_tap(g))
                        strv_push(&out->vhost_net, vm);
                if (has_long_interface_id(g))
                        strv_push(&out->altname, vm);
                if (vget_int(g, "microvm.vsock.cid", -1) >= 0 && ops->vsock_is_vhost)
                        strv_push(&out->vhost_vsock, vm);
                if (has_share(g, "virtiofs"))
                        strv_push(&out->virtiofs, vm);
                if (guest_has_device_on(g, "pci")) {
                        strv_push(&out->vfio, vm);
                        int64_t mem = vget_int(g, "microvm.mem", 512);
                        if (mem > out->vfio_mem_mib)
                                out->vfio_mem_mib = mem;
                }
        }
}

void doctor_needs_free(struct doctor_needs *n)
{
        strv_free(n->kvm);
        strv_free(n->tap);
        strv_free(n->vhost_net);
        strv_free(n->vhost_vsock);
        strv_free(n->virtiofs);
        strv_free(n->vfio);
        strv_free(n->altname);
        strv_free(n->flake);
        for (size_t h = 0; h < DOCTOR_HYPERVISORS; h++)
                strv_free(n->by_hypervisor[h]);
        *n = (struct doctor_needs){ 0 };
}

void doctor_check_kvm(struct doctor_report *r, const struct doctor_needs *n,
                      const struct kvm_probe *probe)
{
        if (probe->usable) {
                doctor_add(r, "kvm", DOCTOR_OK, xstrdup(probe->reason), NULL);
                return;
        }
        char *hint = probe->hint ? xstrdup(probe->hint) : NULL;
        if (n->kvm) {
                _cleanup_free_ char *vms = strv_join(n->kvm, ", ");
                doctor_add(r, "kvm", DOCTOR_ERROR,
                           xasprintf("%s; qemu falls back to TCG, but the hypervisor of vm %s "
                                     "needs KVM",
                                     probe->reason, vms),
                           hint);
                return;
        }
        doctor_add(r, "kvm", DOCTOR_WARNING,
                   xasprintf("%s; qemu falls back to TCG (emulated, much slower), the other "
                             "hypervisors cannot run",
                             probe->reason),
                   hint);
}

void doctor_check_device(struct doctor_report *r, const char *check, const char *path,
                         char *const *needers, const char *needed_for, const char *module)
{
        int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
                close(fd);
                doctor_add(r, check, DOCTOR_OK, xasprintf("%s opens", path), NULL);
                return;
        }
        int e = errno;
        _cleanup_free_ char *vms = needers ? strv_join(needers, ", ") : NULL;
        char *detail = xasprintf("%s: %s; needed for %s%s%s%s", path, strerror(e), needed_for,
                                 vms ? " (vm " : "", vms ? vms : "", vms ? ")" : "");
        char *hint = e == ENOENT ? xasprintf("load it: modprobe %s", module)
                     : e == EACCES || e == EPERM
                             ? xasprintf("run as root, or give access to %s", path)
                             : NULL;
        doctor_add(r, check, vms ? DOCTOR_ERROR : DOCTOR_WARNING, detail, hint);
}

void doctor_check_accounts(struct doctor_report *r, const char *user, const char *group)
{
        struct account gr, pw;
        bool have_group = account_group_by_name(group, &gr);
        gid_t gid = have_group ? gr.id : (gid_t)-1;
        if (have_group)
                doctor_add(r, "group", DOCTOR_OK,
                           xasprintf("group %s exists (gid %u)", group, (unsigned)gid), NULL);
        else
                doctor_add(r, "group", DOCTOR_WARNING,
                           xasprintf("no group %s: microvm.nix runs the VMs with it and gives "
                                     "it the state directory",
                                     group),
                           xasprintf("groupadd --system %s", group));

        if (!account_user_by_name(user, &pw))
                doctor_add(r, "user", DOCTOR_WARNING,
                           xasprintf("no user %s: microvm.nix runs the VMs as %s; taps and the "
                                     "state directory are given to it once it exists",
                                     user, user),
                           xasprintf("useradd --system --gid %s --no-create-home --shell "
                                     "/usr/sbin/nologin %s",
                                     group, user));
        else if (have_group && pw.gid != gid)
                doctor_add(r, "user", DOCTOR_WARNING,
                           xasprintf("user %s exists (uid %u), but its group is not %s", user,
                                     pw.id, group),
                           xasprintf("usermod -g %s %s", group, user));
        else
                doctor_add(r, "user", DOCTOR_OK, xasprintf("user %s exists (uid %u)", user, pw.id),
                           NULL);
}

static char *user_name(uid_t uid)
{
        struct account a;
        return account_user_by_id(uid, &a) ? xstrdup(a.name) : xasprintf("%u", (unsigned)uid);
}

static char *group_name(gid_t gid)
{
        struct account a;
        return account_group_by_id(gid, &a) ? xstrdup(a.name) : xasprintf("%u", (unsigned)gid);
}

void doctor_check_state_dir(struct doctor_report *r, const char *path)
{
        const char *check = "state-directory";
        struct stat st;
        if (stat(path, &st) < 0 && errno != ENOENT) {
                doctor_add(r, check, DOCTOR_ERROR, xasprintf("%s: %s", path, strerror(errno)),
                           NULL);
                return;
        }
        if (errno != ENOENT && !S_ISDIR(st.st_mode)) {
                doctor_add(r, check, DOCTOR_ERROR, xasprintf("%s is not a directory", path),
                           xasprintf("move it away, or set microvm.stateDir to a directory"));
                return;
        }
        /* The rule every start applies: nobody but root may rename what root reads there. */
        struct statedir_facts f;
        statedir_inspect(path, &f);
        if (f.vm_owned) {
                doctor_add(r, check, DOCTOR_ERROR,
                           xasprintf("%s is given to the VMs' user (%s); VMs do not start from "
                                     "it",
                                     path, f.unsafe),
                           xasprintf("microvm apply takes it back (root:root, not group- or "
                                     "world-writable)"));
        } else if (f.unsafe) {
                doctor_add(r, check, DOCTOR_ERROR,
                           xasprintf("%s: %s; VMs do not start from it", path, f.unsafe),
                           xasprintf("make it and every directory above it writable by root "
                                     "alone (docs/security.md)"));
        } else if (!f.exists) {
                doctor_add(r, check, DOCTOR_INFO,
                           xasprintf("%s does not exist yet: microvm apply creates it, root's, "
                                     "0755",
                                     path),
                           NULL);
        } else {
                _cleanup_free_ char *owner = user_name(f.uid), *grp = group_name(f.gid);
                doctor_add(r, check, DOCTOR_OK,
                           xasprintf("%s belongs to %s:%s, mode %04o, and nobody else can "
                                     "write it or a directory above it",
                                     path, owner, grp, (unsigned)f.mode),
                           NULL);
        }
        statedir_facts_done(&f);
}

static char *limit_text(rlim_t v)
{
        if (v == RLIM_INFINITY)
                return xstrdup("unlimited");
        if (v % (1024 * 1024) == 0)
                return xasprintf("%llu MiB", (unsigned long long)(v / (1024 * 1024)));
        return xasprintf("%llu KiB", (unsigned long long)(v / 1024));
}

void doctor_check_memlock(struct doctor_report *r, const struct doctor_needs *n,
                          const struct rlimit *limit)
{
        _cleanup_free_ char *soft = limit_text(limit->rlim_cur),
                            *hard = limit_text(limit->rlim_max);
        const char *raise = "raise it where microvm starts (ulimit -l unlimited, or "
                            "LimitMEMLOCK=infinity in its unit, as microvm.nix's units have)";
        uint64_t need = (uint64_t)n->vfio_mem_mib * 1024 * 1024;
        if (n->vfio && limit->rlim_cur != RLIM_INFINITY && limit->rlim_cur < need) {
                _cleanup_free_ char *vms = strv_join(n->vfio, ", ");
                doctor_add(r, "memlock", DOCTOR_ERROR,
                           xasprintf("locked memory: soft limit %s, hard %s; PCI passthrough "
                                     "locks all guest memory, %lld MiB for vm %s",
                                     soft, hard, (long long)n->vfio_mem_mib, vms),
                           xstrdup(raise));
                return;
        }
        if (limit->rlim_max != RLIM_INFINITY) {
                doctor_add(r, "memlock", DOCTOR_WARNING,
                           xasprintf("locked memory: soft limit %s, hard %s; PCI passthrough "
                                     "(VFIO) locks all guest memory",
                                     soft, hard),
                           xstrdup(raise));
                return;
        }
        doctor_add(r, "memlock", DOCTOR_OK,
                   xasprintf("locked memory: soft limit %s, hard %s", soft, hard), NULL);
}

void doctor_check_iommu(struct doctor_report *r, const struct doctor_needs *n, const char *sysfs)
{
        if (!n->vfio)
                return; /* only passthrough needs it */
        _cleanup_free_ char *groups = xasprintf("%s/kernel/iommu_groups", sysfs);
        _cleanup_closedir_ DIR *d = opendir(groups);
        size_t count = 0;
        for (struct dirent *de; d && (de = readdir(d));)
                count += de->d_name[0] != '.';
        _cleanup_free_ char *vms = strv_join(n->vfio, ", ");
        if (count) {
                doctor_add(r, "iommu", DOCTOR_OK,
                           xasprintf("%zu IOMMU group%s, for PCI passthrough (vm %s)", count,
                                     count == 1 ? "" : "s", vms),
                           NULL);
                return;
        }
        doctor_add(r, "iommu", DOCTOR_ERROR,
                   xasprintf("no IOMMU groups in %s: the IOMMU is off, and the PCI devices of vm "
                             "%s cannot be passed through",
                             groups, vms),
                   xstrdup("turn it on: intel_iommu=on or amd_iommu=on on the kernel command "
                           "line (and VT-d or AMD-Vi in the firmware), then reboot"));
}

void doctor_check_altnames(struct doctor_report *r, const struct doctor_needs *n,
                           const char *release)
{
        if (!n->altname)
                return;
        unsigned major = 0, minor = 0;
        _cleanup_free_ char *vms = strv_join(n->altname, ", ");
        if (sscanf(release, "%u.%u", &major, &minor) != 2) {
                doctor_add(r, "altnames", DOCTOR_WARNING,
                           xasprintf("kernel release \"%s\" unknown: interface ids of vm %s "
                                     "need alternative interface names (Linux 5.5+)",
                                     release, vms),
                           NULL);
                return;
        }
        if (major > 5 || (major == 5 && minor >= 5)) {
                doctor_add(r, "altnames", DOCTOR_OK,
                           xasprintf("Linux %u.%u has alternative interface names, for the "
                                     "interface ids longer than 15 bytes of vm %s",
                                     major, minor, vms),
                           NULL);
                return;
        }
        doctor_add(r, "altnames", DOCTOR_ERROR,
                   xasprintf("Linux %u.%u lacks alternative interface names (Linux 5.5+), which "
                             "the interface ids longer than 15 bytes of vm %s need",
                             major, minor, vms),
                   xstrdup("use ids of at most 15 bytes, or a newer kernel"));
}

/* Who runs the VMs here: systemd's units or microvm's monitors (docs/systemd.md). */
void doctor_check_supervisor(struct doctor_report *r, bool systemd_pid1, bool template, bool wanted,
                             const char *missing)
{
        if (systemd_pid1 && template && wanted && missing)
                doctor_add(r, "supervisor", DOCTOR_ERROR,
                           xasprintf("VMs run as systemd units, but %s is not installed beside "
                                     "microvm@.service: the VMs' units require it",
                                     missing),
                           xstrdup("install microvm again (make install PREFIX=/usr), then "
                                   "systemctl daemon-reload"));
        else if (systemd_pid1 && template && wanted)
                doctor_add(r, "supervisor", DOCTOR_OK,
                           xstrdup("VMs run as systemd units (microvm@NAME.service)"), NULL);
        else if (systemd_pid1 && template)
                doctor_add(r, "supervisor", DOCTOR_OK,
                           xstrdup("VMs run under microvm's monitors: "
                                   "microvm.host.systemdUnits = false"),
                           NULL);
        else if (systemd_pid1)
                doctor_add(r, "supervisor", DOCTOR_WARNING,
                           xstrdup("systemd runs this host, but microvm@.service is not "
                                   "installed: VMs run under microvm's monitors"),
                           xstrdup("make install PREFIX=/usr, then systemctl daemon-reload"));
        else
                doctor_add(r, "supervisor", DOCTOR_OK,
                           xstrdup("VMs run under microvm's monitors (systemd is not PID 1)"),
                           NULL);
}

void doctor_run(const struct value *host, struct doctor_report *r)
{
        struct doctor_needs n;
        doctor_needs_from_config(host, &n);
        doctor_check_kvm(r, &n, kvm_probe());
        doctor_check_device(r, "tun", "/dev/net/tun", n.tap, "tap interfaces", "tun");
        doctor_check_device(r, "vhost-net", "/dev/vhost-net", n.vhost_net,
                            "virtio-net's vhost acceleration, tap.vhost = true", "vhost_net");
        doctor_check_device(r, "vhost-vsock", "/dev/vhost-vsock", n.vhost_vsock,
                            "microvm.vsock.cid with qemu, crosvm, kvmtool or alioth",
                            "vhost_vsock");
        doctor_check_programs(r, &n);
        struct stat booted;
        _cleanup_free_ char *missing = systemd_missing_helper_template();
        doctor_check_supervisor(
                r, stat("/run/systemd/system", &booted) == 0 && S_ISDIR(booted.st_mode),
                systemd_units_available(), vget_bool(host, "microvm.host.systemdUnits", true),
                missing);
        doctor_check_accounts(r, "microvm", "kvm");
        doctor_check_state_dir(r, vget_str(host, "microvm.stateDir"));
        struct rlimit limit;
        if (getrlimit(RLIMIT_MEMLOCK, &limit) == 0)
                doctor_check_memlock(r, &n, &limit);
        doctor_check_iommu(r, &n, "/sys");
        struct utsname uts;
        if (uname(&uts) == 0)
                doctor_check_altnames(r, &n, uts.release);
        doctor_needs_free(&n);
}
