#include "vm/statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/records.h"
#include "vm/runner.h"
#include "vm/vmdir.h"

/* Why others could change directory `path` (with its stat), or NULL. */
static char *unsafe_dir(const char *path, const struct stat *st, bool is_state)
{
        uid_t me = geteuid();
        bool sticky = st->st_mode & S_ISVTX;
        if (st->st_uid != 0 && st->st_uid != me)
                return xasprintf("%s belongs to uid %u", path, (unsigned)st->st_uid);
        /* In a sticky directory (/tmp) others cannot rename or remove what is not theirs. */
        if (sticky && !is_state)
                return NULL;
        if (st->st_mode & S_IWOTH)
                return xasprintf("%s is writable by every user (mode %04o)", path,
                                 (unsigned)(st->st_mode & 07777));
        if ((st->st_mode & S_IWGRP) && st->st_gid != 0)
                return xasprintf("%s is writable by group %u (mode %04o)", path,
                                 (unsigned)st->st_gid, (unsigned)(st->st_mode & 07777));
        return NULL;
}

/* microvm.nix's layout (and an older microvm's): the state directory given to microvm:kvm. */
static bool given_to_vm_user(const struct stat *st)
{
        uid_t uid;
        gid_t gid;
        if (!vm_owner_ids(&uid, &gid) || (st->st_mode & S_IWOTH))
                return false;
        return st->st_uid == uid || ((st->st_uid == 0 || st->st_uid == geteuid()) &&
                                     st->st_gid == gid && (st->st_mode & S_IWGRP));
}

/* `state_dir`, or the nearest directory above it that exists, resolved. malloc'd. */
static char *nearest_existing(const char *state_dir)
{
        _cleanup_free_ char *probe = xstrdup(state_dir);
        for (;;) {
                char *resolved = realpath(probe, NULL);
                if (resolved)
                        return resolved;
                char *slash = strrchr(probe, '/');
                if (!slash || slash == probe)
                        return xstrdup("/");
                *slash = '\0';
        }
}

/* Record why `dir` is unsafe, if it is; true then. */
static bool found_unsafe(struct statedir_facts *f, const char *dir, bool is_state)
{
        struct stat st;
        if (lstat(dir, &st) < 0 || !(f->unsafe = unsafe_dir(dir, &st, is_state)))
                return false;
        f->vm_owned = is_state && given_to_vm_user(&st);
        return true;
}

void statedir_inspect(const char *state_dir, struct statedir_facts *f)
{
        memset(f, 0, sizeof(*f));
        struct stat st;
        f->exists = stat(state_dir, &st) == 0 && S_ISDIR(st.st_mode);
        if (f->exists) {
                f->uid = st.st_uid;
                f->gid = st.st_gid;
                f->mode = st.st_mode & 07777;
        }
        /* Every directory from / down: any of them could let another user rename the rest. */
        _cleanup_free_ char *resolved = nearest_existing(state_dir);
        size_t len = strlen(resolved);
        if (found_unsafe(f, "/", f->exists && len == 1))
                return;
        for (size_t end = 2; end <= len; end++) {
                if (end < len && resolved[end] != '/')
                        continue;
                _cleanup_free_ char *dir = xstrndup(resolved, end);
                if (found_unsafe(f, dir, f->exists && end == len))
                        return;
        }
}

void statedir_facts_done(struct statedir_facts *f)
{
        free(f->unsafe);
        f->unsafe = NULL;
}

int statedir_check(const char *state_dir, struct mv_error **err)
{
        struct statedir_facts f;
        statedir_inspect(state_dir, &f);
        if (!f.unsafe)
                return 0;
        mv_error_fail(err, "the state directory %s is not safe to run VMs from: %s", state_dir,
                      f.unsafe);
        statedir_facts_done(&f);
        return mv_error_hint(err, f.vm_owned ? "'microvm apply' takes it back from microvm:kvm"
                                             : "make it and every directory above it writable "
                                               "by root alone (docs/security.md)");
}

/* Take back a state directory that microvm.nix's layout gave to microvm:kvm. */
static int take_back(const char *state_dir, const struct statedir_facts *f, struct mv_error **err)
{
        _cleanup_close_ int fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return mv_error_set(err, errno, "open %s", state_dir);
        log_notice("taking %s back from %s:%s (mode %04o): the VM's user must not be able to "
                   "rename what root reads (docs/security.md)",
                   state_dir, "microvm", "kvm", (unsigned)f->mode);
        if (fchown(fd, geteuid(), getegid()) < 0 || fchmod(fd, f->mode & ~(mode_t)022) < 0)
                return mv_error_set(err, errno, "take back %s", state_dir);
        return 0;
}

int statedir_prepare(const char *state_dir, struct mv_error **err)
{
        struct statedir_facts f;
        statedir_inspect(state_dir, &f);
        int r = 0;
        if (!f.exists && !f.unsafe) {
                r = mkdir_p(state_dir, 0755, err);
                if (r < 0)
                        r = mv_error_wrap(err, "state directory");
        } else if (f.vm_owned) {
                r = take_back(state_dir, &f, err);
        }
        statedir_facts_done(&f);
        return r < 0 ? r : statedir_check(state_dir, err);
}

int statedir_lock(const char *state_dir, struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/.lock", state_dir);
        int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return mv_error_set(err, errno, "open %s", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK) {
                        int e = errno;
                        close(fd);
                        return mv_error_set(err, e, "lock %s", path);
                }
                log_notice("waiting for another apply or gc to finish (%s)", path);
                while (flock(fd, LOCK_EX) < 0) {
                        if (errno != EINTR) {
                                int e = errno;
                                close(fd);
                                return mv_error_set(err, e, "lock %s", path);
                        }
                }
        }
        return fd;
}

/* Runner names the records point at. */
static void collect_references(const char *state_dir, struct strmap *refs, char ***owned)
{
        static const char *const links[] = { "current", "booted", "toplevel" };
        _cleanup_strv_free_ char **names = records_vm_names(state_dir);
        for (size_t i = 0; names && names[i]; i++)
                for (size_t k = 0; k < ELEMENTSOF(links); k++) {
                        char *runner = records_runner(state_dir, names[i], links[k]);
                        if (!runner)
                                continue;
                        strv_consume(owned, runner);
                        strmap_put(refs, runner, 0, NULL);
                }
}

int statedir_gc(const char *state_dir, size_t *removed, struct mv_error **err)
{
        _cleanup_free_ char *runners = xasprintf("%s/" RUNNERS_DIR, state_dir);
        _cleanup_(strmap_free) struct strmap refs = { 0 };
        _cleanup_strv_free_ char **owned = NULL;

        *removed = 0;
        _cleanup_closedir_ DIR *d = opendir(runners);
        if (!d)
                return errno == ENOENT ? 0 : mv_error_set(err, errno, "open %s", runners);
        collect_references(state_dir, &refs, &owned);

        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                /* Debris of an interrupted install or gc, and runners nothing points at. */
                bool debris = is_atomic_temp_name(de->d_name);
                if (!debris && strmap_get(&refs, de->d_name, NULL))
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/%s", runners, de->d_name);
                _cleanup_free_ char *aside = NULL;
                /* Out of the way first: a half-removed runner must never keep its name. */
                if (!debris) {
                        aside = runner_move_aside(runners, de->d_name, err);
                        if (!aside)
                                return mv_error_return(*err);
                }
                fault_point("state", "gc: remove a runner");
                int r = remove_tree(aside ? aside : path);
                if (r < 0)
                        return mv_error_set(err, -r, "remove %s", aside ? aside : path);
                (*removed)++;
        }
        return *removed ? fsync_dir(runners, err) : 0;
}
