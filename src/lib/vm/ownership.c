#include "vm/ownership.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/merge.h"
#include "config/value-get.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

void ownership_from_plan(const struct value *plan, struct run_as *id)
{
        const struct value *p = vget_attrs(plan, "runAs");
        const char *reason = vget_str(p, "reason"), *note = vget_str(p, "memlockNote");
        const struct value *memlock = value_lookup(p, "memlock");

        memset(id, 0, sizeof(*id));
        id->switch_ids = vget_bool(p, "switch", false);
        id->uid = (uid_t)vget_int(p, "uid", -1);
        id->gid = (gid_t)vget_int(p, "gid", -1);
        id->user = xstrdup(vget_str(p, "user"));
        id->group = xstrdup(vget_str(p, "group"));
        id->reason = reason ? xstrdup(reason) : NULL;
        id->memlock_note = note ? xstrdup(note) : NULL;
        if (memlock && memlock->type == VALUE_STRING) {
                id->set_memlock = true;
                id->memlock = (struct rlimit){ RLIM_INFINITY, RLIM_INFINITY };
        } else if (memlock && memlock->type == VALUE_INT) {
                id->set_memlock = true;
                id->memlock = (struct rlimit){ (rlim_t)memlock->integer, (rlim_t)memlock->integer };
        }
}

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

int ownership_give(const struct run_as *id, const char *path, struct mv_error **err)
{
        if (!id->switch_ids)
                return 0;
        if (lchown(path, id->uid, id->gid) < 0)
                return mv_error_set(err, errno, "give %s to %s:%s", path, id->user, id->group);
        return 0;
}

/* Whether the hypervisor opens /dev/kvm: the others always, qemu unless it is told TCG alone. */
static bool uses_kvm(const struct value *plan)
{
        if (strcmp(vget_str(plan, "hypervisor"), "qemu") != 0)
                return true;
        const struct value *argv = vget_list(plan, "command.argv");
        for (size_t i = 0; argv && i < argv->n_items; i++)
                if (strcmp(argv->items[i]->str, "-enable-kvm") == 0 ||
                    strstr(argv->items[i]->str, "accel=kvm"))
                        return true;
        return false;
}

static bool has_tap(const struct value *plan)
{
        const struct value *ifs = vget_list(plan, "interfaces");
        for (size_t i = 0; ifs && i < ifs->n_items; i++)
                if (strcmp(vget_str(ifs->items[i], "type"), "tap") == 0)
                        return true;
        return false;
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

int ownership_check(const struct run_as *id, const struct value *plan, const struct value *guest,
                    struct mv_error **err)
{
        if (!id->switch_ids)
                return 0;
        const char *dir = vget_str(plan, "workingDirectory");
        struct needs n = { 0 };
        static const char *const files[][2] = { { "microvm.kernel", "read microvm.kernel" },
                                                { "microvm.initrdPath", "read microvm.initrdPath" },
                                                { "microvm.storeDisk", "read microvm.storeDisk" } };
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                need(&n, NEED_FILE, vget_str(guest, files[i][0]), NULL, R_OK, files[i][1]);
        const struct value *vols = vget_list(plan, "volumes");
        for (size_t i = 0; vols && i < vols->n_items; i++) {
                const struct value *v = vols->items[i];
                if (!vget_bool(v, "exists", false))
                        continue; /* created by us, and given to it */
                const char *image = vget_str(v, "image");
                bool ro = vget_bool(v, "readOnly", false);
                need(&n, NEED_VOLUME, in_workdir(dir, image), image, ro ? R_OK : R_OK | W_OK,
                     ro ? "read volume" : "read and write volume");
        }
        if (has_tap(plan))
                need(&n, NEED_TUN, "/dev/net/tun", NULL, R_OK | W_OK, "open");
        if (uses_kvm(plan) && access("/dev/kvm", F_OK) == 0)
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

int ownership_share_socket(const char *path, uid_t uid, gid_t gid, struct mv_error **err)
{
        if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) < 0)
                return mv_error_set(err, errno, "chown %s", path);
        if (chmod(path, 0660) < 0)
                return mv_error_set(err, errno, "chmod %s", path);
        return 0;
}

void ownership_secure_control_socket(const struct run_as *id, const char *path,
                                     struct pidref *hypervisor, int timeout_s)
{
        if (!id->switch_ids)
                return;
        int64_t end = monotonic_ms() + (int64_t)timeout_s * 1000;
        struct stat st;
        while (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
                /* An ended hypervisor is for the caller to notice, not for us to wait on. */
                struct pollfd p = { .fd = hypervisor->fd, .events = POLLIN };
                if (hypervisor->fd >= 0 && poll(&p, 1, 0) > 0)
                        return;
                if (monotonic_ms() > end) {
                        log_warning("control socket %s did not appear within %d s; its mode "
                                    "is left as it is",
                                    path, timeout_s);
                        return;
                }
                usleep(10 * 1000);
        }
        struct mv_error *e = NULL;
        if (ownership_share_socket(path, 0, id->gid, &e) < 0) {
                log_warning("%s", e->msg);
                mv_error_free(&e);
        }
}
