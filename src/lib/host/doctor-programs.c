/* doctor's look for the programs VMs run: each hypervisor and virtiofsd, where and which version. */
#include <string.h>

#include "host/doctor.h"
#include "host/virtiofsd.h"
#include "hypervisor/hypervisor.h"
#include "nix/nix.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* A program that hangs on --version must not hang doctor. */
#define VERSION_TIMEOUT_MS 5000

/* The first line `path flag` prints, or NULL with *err set. */
static char *program_version(const char *path, const char *flag, struct mv_error **err)
{
        char *argv[] = { (char *)path, (char *)flag, NULL };
        _cleanup_free_ char *out = NULL;
        int status;
        if (spawn_collect_timeout(argv, VERSION_TIMEOUT_MS, &status, &out, err) < 0)
                return NULL;
        if (status != 0) {
                mv_error_fail(err, "%s %s exited with status %d", path, flag, status);
                return NULL;
        }
        size_t start = strspn(out, " \t\n");
        size_t len = strcspn(out + start, "\n");
        while (len && (out[start + len - 1] == ' ' || out[start + len - 1] == '\r'))
                len--;
        return len ? xstrndup(out + start, len) : xstrdup("(no version printed)");
}

static void check_hypervisor(struct doctor_report *r, const struct hypervisor_ops *ops,
                             char *const *users, const char *package)
{
        _cleanup_free_ char *vms = users ? strv_join(users, ", ") : NULL;
        _cleanup_free_ char *path = NULL;
        const char *name = package ? package : ops->binary_name;
        if (find_program(name, &path, NULL) < 0) {
                if (!vms) {
                        doctor_add(r, ops->name, DOCTOR_INFO,
                                   xasprintf("%s not found (no VM uses it)", name), NULL);
                        return;
                }
                doctor_add(r, ops->name, DOCTOR_ERROR,
                           xasprintf("%s not found; vm %s uses it", name, vms),
                           ops->debian_package
                                   ? xasprintf("apt-get install %s, or set microvm.%s.package",
                                               ops->debian_package, ops->name)
                                   : xasprintf("install %s, or set microvm.%s.package to it",
                                               ops->binary_name, ops->name));
                return;
        }
        _cleanup_error_ struct mv_error *err = NULL;
        _cleanup_free_ char *version =
                program_version(path, ops->version_arg ? ops->version_arg : "--version", &err);
        if (!version) {
                doctor_add(r, ops->name, DOCTOR_WARNING,
                           xasprintf("%s does not tell its version: %s", path, err->msg),
                           xasprintf("check that %s runs", path));
                return;
        }
        doctor_add(
                r, ops->name, DOCTOR_OK,
                xasprintf("%s, %s%s%s", version, path, vms ? ", used by vm " : "", vms ? vms : ""),
                NULL);
}

static void check_virtiofsd(struct doctor_report *r, char *const *users)
{
        _cleanup_free_ char *vms = users ? strv_join(users, ", ") : NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        struct virtiofsd v = { 0 };
        if (virtiofsd_find(NULL, &v, &err) < 0) {
                doctor_add(r, "virtiofsd", vms ? DOCTOR_ERROR : DOCTOR_WARNING,
                           xasprintf("%s; needed for virtiofs shares%s%s%s", err->msg,
                                     vms ? " (vm " : "", vms ? vms : "", vms ? ")" : ""),
                           err->hint ? xstrdup(err->hint) : NULL);
                return;
        }
        _cleanup_free_ char *version = program_version(v.path, "--version", &err);
        if (!version) {
                doctor_add(r, "virtiofsd", DOCTOR_WARNING,
                           xasprintf("%s does not tell its version: %s", v.path, err->msg),
                           xasprintf("check that %s runs", v.path));
        } else if (v.flavour == VIRTIOFSD_C) {
                /* microvm.nix's flags are translated for it; a few cannot be (see plan). */
                doctor_add(r, "virtiofsd", DOCTOR_OK,
                           xasprintf("%s, %s: the C virtiofsd of qemu, not the Rust one "
                                     "microvm.nix uses",
                                     version, v.path),
                           NULL);
        } else {
                doctor_add(r, "virtiofsd", DOCTOR_OK, xasprintf("%s, %s", version, v.path), NULL);
        }
        virtiofsd_done(&v);
}

/* Nix builds flake VMs (docs/nix.md); without flake VMs it is optional. */
static void check_nix(struct doctor_report *r, char *const *users)
{
        _cleanup_free_ char *vms = users ? strv_join(users, ", ") : NULL;
        _cleanup_free_ char *path = NULL;
        if (find_program("nix", &path, NULL) < 0) {
                doctor_add(r, "nix", vms ? DOCTOR_ERROR : DOCTOR_INFO,
                           vms ? xasprintf("not found; vm %s is built from a flake", vms)
                               : xstrdup("not found (only flake VMs need it)"),
                           vms ? xstrdup("apt-get install " NIX_PACKAGE) : NULL);
                return;
        }
        _cleanup_error_ struct mv_error *err = NULL;
        _cleanup_free_ char *version = program_version(path, "--version", &err);
        if (!version) {
                doctor_add(r, "nix", vms ? DOCTOR_ERROR : DOCTOR_WARNING,
                           xasprintf("%s does not tell its version: %s", path, err->msg),
                           xasprintf("check that %s runs", path));
                return;
        }
        doctor_add(
                r, "nix", DOCTOR_OK,
                xasprintf("%s, %s%s%s", version, path, vms ? ", builds vm " : "", vms ? vms : ""),
                NULL);
}

void doctor_check_programs(struct doctor_report *r, const struct doctor_needs *n)
{
        for (size_t h = 0; h < DOCTOR_HYPERVISORS && hypervisors[h]; h++)
                check_hypervisor(r, hypervisors[h], n->by_hypervisor[h], n->package[h]);
        check_virtiofsd(r, n->virtiofs);
        check_nix(r, n->flake);
}
