#include "util/lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"

static struct flock whole_file(short type)
{
        return (struct flock){ .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
}

int lockfile_take(int dirfd, const char *name, bool wait, struct mv_error **err)
{
        _cleanup_close_ int fd =
                openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return mv_error_set(err, errno, "open lock %s", name);
        struct flock fl = whole_file(F_WRLCK);
        while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN || errno == EACCES)
                        return -EWOULDBLOCK;
                return mv_error_set(err, errno, "lock %s", name);
        }
        return TAKE_FD(fd);
}

int lockfile_held(int dirfd, const char *name)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return 0;
        /* Asking about a write lock reports any lock another description holds. */
        struct flock fl = whole_file(F_WRLCK);
        if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
                return 0;
        return fl.l_type != F_UNLCK;
}
