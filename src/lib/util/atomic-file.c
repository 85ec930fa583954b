#include "util/atomic-file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/io.h"
#include "util/xalloc.h"

#define TEMP_PREFIX ".#"

static char *dir_of(const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        return xstrdup(dirname(copy));
}

static char *temp_name_for(const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        _cleanup_free_ char *dir = dir_of(path);
        uint64_t r;

        if (getrandom(&r, sizeof(r), 0) != sizeof(r))
                r = (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&r;
        return xasprintf("%s/" TEMP_PREFIX "%s.%016llx", dir, basename(copy),
                         (unsigned long long)r);
}

int is_atomic_temp_name(const char *name)
{
        return strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0;
}

/* The rename is durable only once the directory entry itself is on disk. */
static int fsync_parent(const char *path, struct mv_error **err)
{
        _cleanup_free_ char *dir = dir_of(path);
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return mv_error_set(err, errno, "open directory %s", dir);
        if (fsync(fd) < 0)
                return mv_error_set(err, errno, "fsync directory %s", dir);
        return 0;
}

static int write_replace(const char *path, const void *data, size_t len, mode_t mode, bool durable,
                         struct mv_error **err)
{
        _cleanup_free_ char *tmp = temp_name_for(path);
        _cleanup_close_ int fd =
                open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
        int r;

        if (fd < 0)
                return mv_error_set(err, errno, "create %s", tmp);

        /* open() applied the umask; the caller asked for exactly `mode`. */
        if (fchmod(fd, mode & 07777) < 0) {
                r = mv_error_set(err, errno, "chmod %s", tmp);
                goto fail;
        }
        r = write_all(fd, data, len);
        if (r < 0) {
                r = mv_error_set(err, -r, "write %s", tmp);
                goto fail;
        }
        if (durable && fsync(fd) < 0) {
                r = mv_error_set(err, errno, "fsync %s", tmp);
                goto fail;
        }
        fault_point("state", "file written, not yet renamed");
        if (rename(tmp, path) < 0) {
                r = mv_error_set(err, errno, "rename %s to %s", tmp, path);
                goto fail;
        }
        fault_point("state", "file renamed");
        return durable ? fsync_parent(path, err) : 0;

fail:
        unlink(tmp);
        return r;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                      struct mv_error **err)
{
        return write_replace(path, data, len, mode, true, err);
}

int write_live_record(const char *path, const void *data, size_t len, mode_t mode,
                      struct mv_error **err)
{
        return write_replace(path, data, len, mode, false, err);
}

int symlink_atomic(const char *target, const char *linkpath, struct mv_error **err)
{
        _cleanup_free_ char *tmp = NULL;

        for (int attempt = 0;; attempt++) {
                free(tmp);
                tmp = temp_name_for(linkpath);
                if (symlink(target, tmp) == 0)
                        break;
                if (errno != EEXIST || attempt >= 16)
                        return mv_error_set(err, errno, "create symlink %s", tmp);
        }
        fault_point("state", "link made, not yet renamed");
        if (rename(tmp, linkpath) < 0) {
                int r = mv_error_set(err, errno, "rename %s to %s", tmp, linkpath);
                unlink(tmp);
                return r;
        }
        return fsync_parent(linkpath, err);
}

int read_file_full(const char *path, char **contents, size_t *len, struct mv_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return mv_error_set(err, errno, "open %s", path);

        size_t cap = 4096, n = 0;
        _cleanup_free_ char *buf = xmalloc(cap);
        for (;;) {
                if (n + 1 >= cap) {
                        cap *= 2;
                        buf = xrealloc(buf, cap);
                }
                ssize_t got = read(fd, buf + n, cap - n - 1);
                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        return mv_error_set(err, errno, "read %s", path);
                }
                if (got == 0)
                        break;
                n += (size_t)got;
        }
        buf[n] = '\0';
        if (len)
                *len = n;
        *contents = TAKE_PTR(buf);
        return 0;
}
