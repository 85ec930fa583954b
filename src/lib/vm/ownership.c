#include "vm/ownership.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/privileges.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "vm/plan.h"

void ownership_log(const struct run_as *id)
{
        /* A monitor runs the VM again and again: once is enough. */
        static bool told;
        if (told)
                return;
        told = true;
        if (!id->switch_ids)
                log_info("the hypervisor runs as %s:%s: %s", id->user, id->group, id->reason);
        if (id->memlock_note)
                log_info("%s", id->memlock_note);
}

/* A path under the VM's directory as the hypervisor names it: relative to its working directory. */
static const char *in_workdir(const char *dir, const char *path)
{
        size_t n = strlen(dir);
        return strncmp(path, dir, n) == 0 && path[n] == '/' ? path + n + 1 : path;
}

/* What the hypervisor opens, and what to tell the user when it cannot. */
enum need_kind {
        NEED_FILE,
        NEED_VOLUME,
        NEED_TUN,
        NEED_KVM
};

#define MAX_NEEDS 64 /* boot files, a volume per letter vda..vdz, tun, kvm */

struct needs {
        const char *paths[MAX_NEEDS]; /* as the hypervisor opens them, from its directory */
        const char *shown[MAX_NEEDS]; /* for messages */
        int modes[MAX_NEEDS];
        const char *what[MAX_NEEDS];
        enum need_kind kind[MAX_NEEDS];
        size_t n;
};

static void need(struct needs *n, enum need_kind kind, const char *path, const char *shown,
                 int mode, const char *what)
{
        if (path && n->n < MAX_NEEDS) {
                n->paths[n->n] = path;
                n->shown[n->n] = shown ? shown : path;
                n->modes[n->n] = mode;
                n->what[n->n] = what;
                n->kind[n->n++] = kind;
        }
}

static int cannot(const struct run_as *id, const struct needs *n, size_t i, int error,
                  struct mv_error **err)
{
        mv_error_set(err, error, "the hypervisor runs as %s:%s and cannot %s %s", id->user,
                     id->group, n->what[i], n->shown[i]);
        switch (n->kind[i]) {
        case NEED_TUN:
                return mv_error_hint(err, "udev normally makes /dev/net/tun mode 0666 "
                                          "(chmod 0666 /dev/net/tun)");
        case NEED_VOLUME:
                return mv_error_hint(err, "give it to the hypervisor (chown %s:%s %s)", id->user,
                                     id->group, n->shown[i]);
        default:
                return mv_error_hint(err,
                                     "make it readable by user %s or group %s, with every "
                                     "directory above it searchable",
                                     id->user, id->group);
        }
}

int ownership_check(const struct vm_plan *plan, struct mv_error **err)
{
        const struct run_as *id = &plan->run_as;
        if (!id->switch_ids)
                return 0;
        const char *dir = plan->working_directory;
        struct needs n = { 0 };
        static const char *const what[] = { "read microvm.kernel", "read microvm.initrdPath",
                                            "read microvm.storeDisk" };
        for (size_t i = 0; i < ELEMENTSOF(what); i++)
                need(&n, NEED_FILE, plan->boot_files[i], NULL, R_OK, what[i]);
        for (size_t i = 0; i < plan->n_volumes; i++) {
                const struct plan_volume *v = &plan->volumes[i];
                if (!v->exists)
                        continue; /* created by us, and given to it */
                need(&n, NEED_VOLUME, in_workdir(dir, v->image), v->image,
                     v->read_only ? R_OK : R_OK | W_OK,
                     v->read_only ? "read volume" : "read and write volume");
        }
        /* A tap passed as descriptors was opened by root: only one opened by name needs it. */
        bool tap = false;
        for (size_t i = 0; i < plan->n_interfaces; i++)
                tap = tap || (!plan->interfaces[i].macvtap && !plan->interfaces[i].n_fds);
        if (tap)
                need(&n, NEED_TUN, "/dev/net/tun", NULL, R_OK | W_OK, "open");
        const struct hypervisor_ops *ops = plan->hypervisor;
        bool kvm = !ops->uses_kvm || ops->uses_kvm(plan->argv);
        if (kvm && access("/dev/kvm", F_OK) == 0)
                need(&n, NEED_KVM, "/dev/kvm", NULL, R_OK | W_OK, "open");

        int results[MAX_NEEDS];
        int r = run_as_access(id, dir, n.paths, n.modes, n.n, results, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n.n; i++) {
                if (!results[i])
                        continue;
                if (n.kind[i] != NEED_KVM)
                        return cannot(id, &n, i, results[i], err);
                log_warning("the hypervisor runs as %s:%s and cannot open /dev/kvm (%s); udev "
                            "normally gives it to group kvm with mode 0660",
                            id->user, id->group, strerror(results[i]));
        }
        return 0;
}

int ownership_taps_as_fds(const struct run_as *id, bool has_taps, bool *out, struct mv_error **err)
{
        static const char *const tun[] = { "/dev/net/tun" };
        static const int mode[] = { R_OK | W_OK };
        int result = 0;
        *out = false;
        if (!id->switch_ids || !has_taps)
                return 0;
        int r = run_as_access(id, NULL, tun, mode, 1, &result, err);
        if (r < 0)
                return r;
        *out = result != 0;
        if (*out)
                log_debug("%s:%s cannot open /dev/net/tun (%s): taps are passed as descriptors",
                          id->user, id->group, strerror(result));
        return 0;
}
