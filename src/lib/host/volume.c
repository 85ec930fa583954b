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

int volume_create(const char *path, int64_t size_mib, char *const *mkfs, struct mv_error **err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
        if (fd < 0)
                return mv_error_set(err, errno, "create volume %s", path);

        /* No copy-on-write for VM images (btrfs); other filesystems say no, which is fine. */
        int flags = 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
                flags |= FS_NOCOW_FL;
                (void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
        }
        int r = 0;
        if (ftruncate(fd, (off_t)size_mib * 1024 * 1024) < 0)
                r = mv_error_set(err, errno, "size volume %s to %lld MiB", path,
                                 (long long)size_mib);
        close(TAKE_FD(fd));

        _cleanup_free_ char *tool = NULL;
        if (r >= 0)
                r = find_program(mkfs[0], &tool, err);
        if (r >= 0) {
                _cleanup_strv_free_ char **argv = strv_copy(mkfs);
                free(argv[0]);
                argv[0] = xstrdup(tool);
                _cleanup_free_ char *output = NULL;
                int status;
                r = spawn_collect(argv, &status, &output, err);
                if (r >= 0 && status != 0) {
                        _cleanup_free_ char *cmd = strv_join(mkfs, " ");
                        r = mv_error_fail(err, "%s exited with status %d:\n%s", cmd, status,
                                          output);
                }
        }
        if (r < 0) {
                unlink(path);
                return mv_error_wrap(err, "volume %s", path);
        }
        return 0;
}
