#include "host/share-source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Whether directory `fd` can be changed by nobody but root (a sticky one only by its owners). */
static bool roots_alone(int fd, struct stat *st)
{
        if (fstat(fd, st) < 0 || !S_ISDIR(st->st_mode) || st->st_uid != 0)
                return false;
        return !(st->st_mode & 022) || (st->st_mode & S_ISVTX);
}

/* Open or create component `name` of `dirfd`, never through a symlink. */
static int step(int dirfd, const char *name, bool last, uid_t uid, gid_t gid, bool *made)
{
        *made = false;
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT)
                return fd >= 0 ? fd : -errno;
        if (mkdirat(dirfd, name, last ? 0775 : 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *made = true;
        /* On the descriptor: the name may have been swapped since mkdirat. */
        if (last && (fchmod(fd, 0775) < 0 || (uid != (uid_t)-1 && fchown(fd, uid, gid) < 0))) {
                int e = -errno;
                close(fd);
                return e;
        }
        return fd;
}

int share_source_ensure(const char *tag, const char *source, int vmdir_fd, const char *vm_dir,
                        uid_t uid, gid_t gid, struct mv_error **err)
{
        bool absolute = source[0] == '/';
        _cleanup_free_ char *shown =
                absolute ? xstrdup(source) : xasprintf("%s/%s", vm_dir, source);
        struct stat st;
        if (stat(shown, &st) == 0)
                return 0; /* there: left as it is, whatever it is */
        if (strstr(source, "/../") || strncmp(source, "../", 3) == 0 ||
            (strlen(source) >= 3 && strcmp(source + strlen(source) - 3, "/..") == 0))
                return mv_error_config(err, "share %s: source %s climbs with '..'", tag, source);
        _cleanup_close_ int fd = absolute ? open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                          : fcntl(vmdir_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return mv_error_set(err, errno, "share %s: open %s", tag, absolute ? "/" : vm_dir);
        _cleanup_free_ char *path = xstrdup(source);
        char *save = NULL, *comp = strtok_r(path, "/", &save);
        size_t done = absolute ? 1 : 0; /* how much of `source` is walked, for messages */
        bool created = false;
        while (comp) {
                char *next = strtok_r(NULL, "/", &save);
                /* Below the VM's directory, its descriptor vouches; elsewhere root must own it. */
                if (absolute && !roots_alone(fd, &st)) {
                        _cleanup_free_ char *dir =
                                done > 1 ? xstrndup(source, done - 1) : xstrdup("/");
                        mv_error_config(err,
                                        "share %s: source %s does not exist, and %s above it "
                                        "belongs to uid %u with mode %04o: microvm creates "
                                        "share sources only below directories root alone "
                                        "can change",
                                        tag, source, dir, (unsigned)st.st_uid,
                                        (unsigned)(st.st_mode & 07777));
                        return mv_error_hint(err,
                                             "create %s yourself, or choose a source "
                                             "below a directory of root's",
                                             source);
                }
                if (strcmp(comp, ".") == 0) {
                        comp = next;
                        continue;
                }
                bool made;
                int sub = step(fd, comp, next == NULL, uid, gid, &made);
                if (sub < 0)
                        return mv_error_set(err, -sub, "share %s: create source %s", tag, shown);
                created = created || made;
                close(fd);
                fd = sub;
                done = (size_t)(comp - path) + strlen(comp) + 1;
                comp = next;
        }
        if (created)
                log_info("share %s: created its source %s", tag, shown);
        return 0;
}
