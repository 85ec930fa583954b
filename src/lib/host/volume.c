#include "host/volume.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/spawn.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

static int run_mkfs(char *const *mkfs, const struct spawn_credentials *creds,
                    struct child_waiter *w, struct mv_error **err)
{
        _cleanup_free_ char *tool = NULL;
        int r = find_program(mkfs[0], &tool, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **argv = strv_copy(mkfs);
        free(argv[0]);
        argv[0] = xstrdup(tool);
        _cleanup_free_ char *output = NULL;
        int status;
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.stdin_fd = SPAWN_FD_NULL;
        o.credentials = creds;
        r = spawn_run(&o, w, -1, &status, &output, err);
        if (r >= 0 && status != 0) {
                _cleanup_free_ char *cmd = strv_join(mkfs, " ");
                r = mv_error_fail(err, "%s exited with status %d:\n%s", cmd, status, output);
        }
        return r;
}

int volume_create(int dirfd, const char *name, const char *shown, int64_t size_mib,
                  char *const *mkfs, uid_t uid, gid_t gid, const struct spawn_credentials *creds,
                  struct child_waiter *w, struct mv_error **err)
{
        _cleanup_close_ int fd =
                openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660);
        if (fd < 0)
                return mv_error_set(err, errno, "create volume %s", shown);

        /* No copy-on-write for VM images (btrfs); other filesystems say no, which is fine. */
        int flags = 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
                flags |= FS_NOCOW_FL;
                (void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
        }
        int r = 0;
        if (ftruncate(fd, (off_t)size_mib * 1024 * 1024) < 0)
                r = mv_error_set(err, errno, "size volume %s to %lld MiB", shown,
                                 (long long)size_mib);
        /* On the descriptor: the name may have been swapped since. */
        if (r >= 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)
                r = mv_error_set(err, errno, "give volume %s to %u:%u", shown, (unsigned)uid,
                                 (unsigned)gid);
        close(TAKE_FD(fd));
        if (r >= 0)
                r = run_mkfs(mkfs, creds, w, err);
        if (r < 0) {
                (void)unlinkat(dirfd, name, 0);
                return mv_error_wrap(err, "volume %s", shown);
        }
        return 0;
}
