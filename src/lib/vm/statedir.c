#include "vm/statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/privileges.h"
#include "util/accounts.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/runner.h"

/* microvm.nix's owner for VM directories: the hypervisors run as microvm:kvm. */
static void own_by_microvm(const char *path)
{
        /* Looked up once: apply calls this for every new directory and link. */
        static int known = -1;
        static uid_t uid;
        static gid_t gid;
        if (known < 0) {
                struct account user, group;
                known = geteuid() == 0 && account_user_by_name(RUN_AS_USER, &user) &&
                        account_group_by_name(RUN_AS_GROUP, &group);
                if (known) {
                        uid = user.id;
                        gid = group.id;
                }
        }
        if (known && lchown(path, uid, gid) < 0)
                log_warning("cannot give %s to microvm:kvm: %m", path);
}

int statedir_prepare(const char *state_dir, struct mv_error **err)
{
        int r = mkdir_p(state_dir, 0775, err);
        if (r < 0)
                return mv_error_wrap(err, "state directory");
        own_by_microvm(state_dir);
        if (chmod(state_dir, 0775) < 0)
                return mv_error_set(err, errno, "chmod %s", state_dir);
        return 0;
}

int statedir_lock(const char *state_dir, struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/.lock", state_dir);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
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

char *statedir_link_runner(const char *state_dir, const char *name, const char *link)
{
        _cleanup_free_ char *path = xasprintf("%s/%s/%s", state_dir, name, link);
        char target[4096];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return NULL;
        target[n] = '\0';
        const char *base = strrchr(target, '/');
        return xstrdup(base ? base + 1 : target);
}

static int link_if_different(const char *link, const char *target, bool *changed,
                             struct mv_error **err)
{
        char old[4096];
        ssize_t n = readlink(link, old, sizeof(old) - 1);
        if (n >= 0) {
                old[n] = '\0';
                if (strcmp(old, target) == 0) {
                        *changed = false;
                        return 0;
                }
        }
        *changed = true;
        int r = symlink_atomic(target, link, err);
        if (r >= 0)
                own_by_microvm(link);
        return r;
}

int statedir_link_vm(const char *state_dir, const char *name, const char *runner, bool declarative,
                     bool *changed, struct mv_error **err)
{
        _cleanup_free_ char *dir = xasprintf("%s/%s", state_dir, name);
        _cleanup_free_ char *target = xasprintf("../" RUNNERS_DIR "/%s", runner);
        _cleanup_free_ char *current = xasprintf("%s/current", dir);
        _cleanup_free_ char *toplevel = xasprintf("%s/toplevel", dir);
        bool top_changed;
        int r;

        if (mkdir(dir, 0775) == 0)
                own_by_microvm(dir);
        else if (errno != EEXIST)
                return mv_error_set(err, errno, "create %s", dir);
        r = link_if_different(current, target, changed, err);
        /* toplevel marks a declarative VM, which imperative updates must leave alone. */
        if (r >= 0 && declarative)
                r = link_if_different(toplevel, target, &top_changed, err);
        return r;
}

/* Runner names every VM directory's links point at. */
static void collect_references(const char *state_dir, struct strmap *refs, char ***owned)
{
        _cleanup_closedir_ DIR *d = opendir(state_dir);
        struct dirent *de;
        static const char *const links[] = { "current", "booted", "toplevel" };

        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                        char *runner = statedir_link_runner(state_dir, de->d_name, links[i]);
                        if (!runner)
                                continue;
                        strv_consume(owned, runner);
                        strmap_put(refs, runner, 0, NULL);
                }
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
                /* Debris of an interrupted install, and runners nothing points at. */
                if (!is_atomic_temp_name(de->d_name) && strmap_get(&refs, de->d_name, NULL))
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/%s", runners, de->d_name);
                int r = remove_tree(path);
                if (r < 0)
                        return mv_error_set(err, -r, "remove %s", path);
                (*removed)++;
        }
        return *removed ? fsync_dir(runners, err) : 0;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

char **statedir_vm_names(const char *state_dir)
{
        char **names = NULL;
        _cleanup_closedir_ DIR *d = opendir(state_dir);
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.' && (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN))
                        strv_push(&names, de->d_name);
        size_t n = strv_length(names);
        if (n)
                qsort(names, n, sizeof(*names), name_cmp);
        return names;
}
