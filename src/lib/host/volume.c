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

/* Run argv with its output collected, for the error message if it fails. */
static int run_collect(char *const *argv, int *status, char **output, struct mv_error **err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return mv_error_set(err, errno, "pipe");
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.stdin_fd = SPAWN_FD_NULL;
        o.stdout_fd = p[1];
        o.stderr_fd = p[1];
        struct pidref child = PIDREF_NULL;
        int r = spawn_process(&o, &child, err);
        close(p[1]);
        if (r < 0) {
                close(p[0]);
                return r;
        }
        struct strbuf b = { 0 };
        char chunk[4096];
        ssize_t n;
        while ((n = read(p[0], chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
                if (n > 0)
                        strbuf_putn(&b, chunk, (size_t)n);
        close(p[0]);
        int st;
        r = pidref_wait(&child, &st, err);
        *output = strbuf_take(&b);
        *status = wait_status_to_exit_code(st);
        return r;
}

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
                r = run_collect(argv, &status, &output, err);
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
