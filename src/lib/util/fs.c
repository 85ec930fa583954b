#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/xalloc.h"

int mkdir_p(const char *path, mode_t mode, struct mv_error **err)
{
        _cleanup_free_ char *copy = xstrdup(path);
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(copy, mode) < 0 && errno != EEXIST)
                        return mv_error_set(err, errno, "create directory %s", copy);
                *p = '/';
        }
        if (mkdir(copy, mode) < 0) {
                struct stat st;
                if (errno != EEXIST)
                        return mv_error_set(err, errno, "create directory %s", copy);
                if (stat(copy, &st) < 0 || !S_ISDIR(st.st_mode))
                        return mv_error_set(err, ENOTDIR, "create directory %s", copy);
        }
        return 0;
}

char *make_temp_dir(const char *parent, const char *base, struct mv_error **err)
{
        char *path = xasprintf("%s/.#%s.XXXXXX", parent, base);
        if (!mkdtemp(path)) {
                mv_error_set(err, errno, "create a temporary directory in %s", parent);
                free(path);
                return NULL;
        }
        return path;
}

int fsync_dir(const char *path, struct mv_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return mv_error_set(err, errno, "open directory %s", path);
        if (fsync(fd) < 0)
                return mv_error_set(err, errno, "fsync directory %s", path);
        return 0;
}

static int remove_at(int parent, const char *name)
{
        fault_point("state", "remove an entry of a tree");
        if (unlinkat(parent, name, 0) == 0)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return errno == ENOENT ? 0 : -errno;

        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = -errno;
                close(fd);
                return e;
        }
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                int q = remove_at(dirfd(d), de->d_name);
                if (q < 0 && r == 0)
                        r = q;
        }
        closedir(d);
        if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && r == 0 && errno != ENOENT)
                r = -errno;
        return r;
}

int remove_tree(const char *path)
{
        return remove_at(AT_FDCWD, path);
}
