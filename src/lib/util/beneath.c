#include "util/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

static bool force_walk;

void beneath_force_walk(bool on)
{
        force_walk = on;
}

/* Relative, no "..", no empty path: checked before either way of opening. */
static bool path_confined(const char *path)
{
        if (!*path || path[0] == '/')
                return false;
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return false;
                p += n;
                p += strspn(p, "/");
        }
        return true;
}

static int open_walk(int dirfd, const char *path, int flags, mode_t mode)
{
        _cleanup_free_ char *copy = xstrdup(path);
        _cleanup_close_ int cur = -1;
        int at = dirfd;
        char *save = NULL;
        char *part = strtok_r(copy, "/", &save);
        while (part) {
                char *next = strtok_r(NULL, "/", &save);
                if (!next) {
                        int fd = openat(at, part, flags | O_NOFOLLOW | O_CLOEXEC, mode);
                        return fd < 0 ? -errno : fd;
                }
                int fd = openat(at, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return errno == ENOTDIR ? -ELOOP : -errno;
                closep(&cur);
                at = cur = fd;
                part = next;
        }
        return -EINVAL;
}

int open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
        if (!path_confined(path))
                return -EXDEV;
        if (!force_walk) {
                struct open_how how = {
                        .flags = (unsigned long long)(flags | O_NOFOLLOW | O_CLOEXEC),
                        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
                if (fd >= 0)
                        return fd;
                if (errno != ENOSYS)
                        return -errno;
        }
        return open_walk(dirfd, path, flags, mode);
}

int open_parent_beneath(int dirfd, const char *path, const char **base)
{
        if (!path_confined(path))
                return -EXDEV;
        const char *slash = strrchr(path, '/');
        *base = slash ? slash + 1 : path;
        if (!**base)
                return -EINVAL;
        if (!slash) {
                int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
                return fd < 0 ? -errno : fd;
        }
        _cleanup_free_ char *dir = xstrndup(path, (size_t)(slash - path));
        return open_beneath(dirfd, dir, O_PATH | O_DIRECTORY, 0);
}
