#include "vm/vmdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/privileges.h"
#include "util/accounts.h"
#include "util/atomic-file.h"
#include "util/beneath.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/io.h"
#include "util/log.h"
#include "util/xalloc.h"

bool vm_owner_ids(uid_t *uid, gid_t *gid)
{
        /* Looked up once: apply asks for every VM. */
        static int known = -1;
        static uid_t u;
        static gid_t g;
        if (known < 0) {
                struct account user, group;
                known = geteuid() == 0 && account_user_by_name(RUN_AS_USER, &user) &&
                        account_group_by_name(RUN_AS_GROUP, &group);
                if (known) {
                        u = user.id;
                        g = group.id;
                }
        }
        if (known) {
                *uid = u;
                *gid = g;
        }
        return known;
}

int vmdir_open(const char *state_dir, const char *name, bool create, struct mv_error **err)
{
        _cleanup_close_ int state = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (state < 0)
                return mv_error_set(err, errno, "open %s", state_dir);
        if (create && mkdirat(state, name, 0755) < 0 && errno != EEXIST)
                return mv_error_set(err, errno, "create %s/%s", state_dir, name);
        struct stat st;
        int fd = openat(state, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
                bool link =
                        fstatat(state, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
                mv_error_fail(err, "%s/%s is %s", state_dir, name,
                              link ? "a symlink" : "not a directory");
                return mv_error_hint(err, "a VM's directory must be a real directory: microvm "
                                          "does not follow a symlink there; remove it");
        }
        if (fd < 0)
                return mv_error_set(err, errno, "open %s/%s", state_dir, name);
        uid_t uid;
        gid_t gid;
        if (vm_owner_ids(&uid, &gid) && fstat(fd, &st) == 0 &&
            (st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0) {
                int e = errno;
                close(fd);
                return mv_error_set(err, e, "give %s/%s to %s:%s", state_dir, name, RUN_AS_USER,
                                    RUN_AS_GROUP);
        }
        return fd;
}

int vmdir_publish(int dirfd, const char *link, const char *target)
{
        if (!target) {
                fault_point("state", "unpublish link");
                return unlinkat(dirfd, link, 0) < 0 && errno != ENOENT ? -errno : 0;
        }
        /* Already so: an unchanged configuration writes nothing. */
        char old[512];
        ssize_t n = readlinkat(dirfd, link, old, sizeof(old) - 1);
        if (n >= 0 && (size_t)n == strlen(target) && memcmp(old, target, (size_t)n) == 0)
                return 0;
        char tmp[64];
        for (int attempt = 0;; attempt++) {
                /* Random: the VM's user could have planted any name it can guess. */
                uint64_t r = 0;
                (void)!getrandom(&r, sizeof(r), 0);
                snprintf(tmp, sizeof(tmp), ".#%s.%016llx", link, (unsigned long long)r);
                if (symlinkat(target, dirfd, tmp) == 0)
                        break;
                if (errno != EEXIST || attempt >= 16)
                        return -errno;
        }
        fault_point("state", "publish link");
        if (renameat(dirfd, tmp, dirfd, link) < 0) {
                int e = -errno;
                unlinkat(dirfd, tmp, 0);
                return e;
        }
        return 0;
}

int vmdir_publish_file(int dirfd, const char *name, const char *text)
{
        char tmp[64];
        int fd = -1;
        for (int attempt = 0; fd < 0; attempt++) {
                uint64_t r = 0;
                (void)!getrandom(&r, sizeof(r), 0);
                snprintf(tmp, sizeof(tmp), ".#%s.%016llx", name, (unsigned long long)r);
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0 && (errno != EEXIST || attempt >= 16))
                        return -errno;
        }
        int r = fchmod(fd, 0644) < 0 || write_all(fd, text, strlen(text)) < 0 ? -errno : 0;
        close(fd);
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0)
                unlinkat(dirfd, tmp, 0);
        return r;
}

/* `path` as a path beneath `vm_dir`, or NULL when it lies elsewhere. */
static const char *inside(const char *vm_dir, const char *path)
{
        if (path[0] != '/')
                return path;
        size_t n = strlen(vm_dir);
        if (strncmp(path, vm_dir, n) == 0 && path[n] == '/')
                return path + n + 1;
        return NULL;
}

int vm_place_open(int vmdir_fd, const char *vm_dir, const char *path, struct vm_place *p,
                  struct mv_error **err)
{
        *p = (struct vm_place){ .dirfd = -1, .path = path };
        const char *rel = inside(vm_dir, path);
        if (rel) {
                p->dirfd = open_parent_beneath(vmdir_fd, rel, &p->base);
                if (p->dirfd < 0)
                        return mv_error_set(err, -p->dirfd,
                                            "%s: cannot open its directory beneath %s without "
                                            "following a symlink",
                                            path, vm_dir);
                return 0;
        }
        /* The administrator's own path: its directories are taken as configured. */
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *dir = slash == path ? xstrdup("/") : xstrndup(path, slash - path);
        p->base = slash + 1;
        p->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (p->dirfd < 0)
                return mv_error_set(err, errno, "open %s", dir);
        return 0;
}

void vm_place_close(struct vm_place *p)
{
        closep(&p->dirfd);
        p->dirfd = -1;
}

void vm_place_remove_socket(const struct vm_place *p)
{
        struct stat st;
        if (fstatat(p->dirfd, p->base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
                (void)unlinkat(p->dirfd, p->base, 0);
}

int vm_place_share_socket(const struct vm_place *p, uid_t uid, gid_t gid, mode_t mode,
                          struct mv_error **err)
{
        _cleanup_close_ int fd = openat(p->dirfd, p->base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return mv_error_set(err, errno, "open socket %s", p->path);
        /* Someone else's file in its place: not ours to change. */
        if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1)
                return mv_error_fail(err, "%s is not the socket it should be: left alone", p->path);
        if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
                return mv_error_set(err, errno, "chown %s", p->path);
        /* chmod of an O_PATH fd goes through its /proc link, which names exactly this inode. */
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (chmod(proc, mode) < 0)
                return mv_error_set(err, errno, "chmod %s", p->path);
        return 0;
}

int vm_place_listen(const struct vm_place *p, uid_t uid, gid_t gid, mode_t mode,
                    struct mv_error **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", p->dirfd,
                         p->base);
        if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
                return mv_error_fail(err, "socket name %s is too long", p->base);
        vm_place_remove_socket(p);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return mv_error_set(err, errno, "socket");
        mode_t old = umask(0777 & ~mode);
        int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0 || listen(fd, 16) < 0)
                return mv_error_set(err, errno, "listen on %s", p->path);
        r = vm_place_share_socket(p, uid, gid, mode, err);
        return r < 0 ? r : TAKE_FD(fd);
}

int vm_place_create(const struct vm_place *p, mode_t mode, uid_t uid, gid_t gid,
                    struct mv_error **err)
{
        _cleanup_close_ int fd =
                openat(p->dirfd, p->base, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return mv_error_set(err, errno, "create %s", p->path);
        if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0) {
                int e = errno;
                (void)unlinkat(p->dirfd, p->base, 0);
                return mv_error_set(err, e, "give %s to %u:%u", p->path, (unsigned)uid,
                                    (unsigned)gid);
        }
        return TAKE_FD(fd);
}

bool vm_place_exists(const struct vm_place *p)
{
        struct stat st;
        return fstatat(p->dirfd, p->base, &st, AT_SYMLINK_NOFOLLOW) == 0;
}
