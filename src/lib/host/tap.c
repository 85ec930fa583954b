#include "host/tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

static int tun_attach(const char *name, bool multi_queue, int *fd_out, struct mv_error **err)
{
        struct ifreq ifr = { 0 };
        if (strlen(name) >= IFNAMSIZ)
                return mv_error_config(err, "interface name %s is longer than %d bytes", name,
                                       IFNAMSIZ - 1);
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                mv_error_set(err, errno, "open /dev/net/tun for tap %s", name);
                return mv_error_hint(err, "load the tun module (modprobe tun) and run as root");
        }
        strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi_queue ? IFF_MULTI_QUEUE : 0);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                int e = errno;
                close(fd);
                return mv_error_set(err, e, "attach tap %s", name);
        }
        *fd_out = fd;
        return 0;
}

bool link_exists(const char *name)
{
        return if_nametoindex(name) != 0;
}

/* A small file of /sys/class/net/NAME, its first line; NULL when it cannot be read. */
static char *sysfs_net(const char *name, const char *file)
{
        _cleanup_free_ char *path = xasprintf("/sys/class/net/%s/%s", name, file);
        char *text = NULL;
        if (read_file_full(path, &text, NULL, NULL) < 0)
                return NULL;
        text[strcspn(text, "\n")] = '\0';
        return text;
}

pid_t tap_holder(const char *name)
{
        _cleanup_free_ char *want = xasprintf("iff:\t%s\n", name);
        _cleanup_closedir_ DIR *proc = opendir("/proc");
        struct dirent *p;
        while (proc && (p = readdir(proc))) {
                pid_t pid = (pid_t)strtol(p->d_name, NULL, 10);
                if (pid <= 0)
                        continue;
                _cleanup_free_ char *dir = xasprintf("/proc/%d/fdinfo", (int)pid);
                _cleanup_closedir_ DIR *fds = opendir(dir);
                struct dirent *f;
                while (fds && (f = readdir(fds))) {
                        if (f->d_name[0] == '.')
                                continue;
                        /* A tun descriptor says which interface it is attached to. */
                        _cleanup_free_ char *info = xasprintf("%s/%s", dir, f->d_name);
                        _cleanup_fclose_ FILE *in = fopen(info, "re");
                        char line[128];
                        while (in && fgets(line, sizeof(line), in))
                                if (strcmp(line, want) == 0)
                                        return pid;
                }
        }
        return 0;
}

/*
 * An interface of the tap's name exists. A tap of ours that no process
 * holds was left by a crash: microvm.nix deletes it first, and so do we.
 * Anything else belongs to someone: refused, saying whose.
 */
static int replace_leftover(const char *name, const struct tap_options *opts, struct mv_error **err)
{
        _cleanup_free_ char *flags = sysfs_net(name, "tun_flags");
        _cleanup_free_ char *owner = flags ? sysfs_net(name, "owner") : NULL;
        pid_t holder = flags ? tap_holder(name) : 0;
        long want = opts->owner == (uid_t)-1 ? -1 : (long)opts->owner;
        if (!flags)
                mv_error_fail(err, "interface %s already exists and is not a tap", name);
        else if (holder)
                mv_error_fail(err, "tap %s already exists, and process %d holds it", name,
                              (int)holder);
        else if (!owner || strtol(owner, NULL, 10) != want)
                mv_error_fail(err, "tap %s already exists and belongs to another user (%s)", name,
                              owner ? owner : "?");
        else {
                log_notice("removing tap %s, left by an earlier run: no process holds it", name);
                return tap_delete(name, opts->multi_queue, err);
        }
        return mv_error_hint(err,
                             "another VM or program uses it; stop that, remove it (ip link "
                             "delete %s) or pick another interface id",
                             name);
}

int tap_create(const char *name, const struct tap_options *opts, struct mv_error **err)
{
        /* TUNSETIFF attaches to an existing tap of that name: never to someone else's. */
        if (link_exists(name)) {
                int r = replace_leftover(name, opts, err);
                if (r < 0)
                        return r;
        }
        _cleanup_close_ int fd = -1;
        int r = tun_attach(name, opts->multi_queue, &fd, err);
        if (r < 0)
                return r;
        if (opts->owner != (uid_t)-1 && ioctl(fd, TUNSETOWNER, (unsigned long)opts->owner) < 0)
                r = mv_error_set(err, errno, "set the owner of tap %s", name);
        if (r >= 0 && opts->group != (gid_t)-1 &&
            ioctl(fd, TUNSETGROUP, (unsigned long)opts->group) < 0)
                r = mv_error_set(err, errno, "set the group of tap %s", name);
        /* Persistent: it outlives this descriptor, for the hypervisor to open by name. */
        if (r >= 0 && ioctl(fd, TUNSETPERSIST, 1) < 0)
                r = mv_error_set(err, errno, "make tap %s persistent", name);
        return r;
}

int tap_open_queue(const char *name, bool multi_queue, struct mv_error **err)
{
        _cleanup_close_ int fd = -1;
        int r = tun_attach(name, multi_queue, &fd, err);
        if (r < 0)
                return r;
        /* TUNSETIFF makes a tap when there is none: a fresh one, not persistent, is not ours. */
        struct ifreq ifr = { 0 };
        if (ioctl(fd, TUNGETIFF, &ifr) < 0)
                return mv_error_set(err, errno, "read the flags of tap %s", name);
        if (!(ifr.ifr_flags & IFF_PERSIST))
                return mv_error_fail(err, "tap %s does not exist", name);
        return TAKE_FD(fd);
}

int tap_delete(const char *name, bool multi_queue, struct mv_error **err)
{
        if (!link_exists(name))
                return 0;
        _cleanup_close_ int fd = -1;
        int r = tun_attach(name, multi_queue, &fd, err);
        if (r == -EINVAL) {
                /* Created with the other queue mode; attach the way it was made. */
                mv_error_free(err);
                r = tun_attach(name, !multi_queue, &fd, err);
        }
        if (r < 0)
                return mv_error_wrap(err, "remove tap %s", name);
        if (ioctl(fd, TUNSETPERSIST, 0) < 0)
                return mv_error_set(err, errno, "remove tap %s", name);
        return 0;
}

int link_set_up(const char *name, struct mv_error **err)
{
        struct ifreq ifr = { 0 };
        _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return mv_error_set(err, errno, "socket");
        strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
        /* Read the flags first (SIOCGIFFLAGS), then set them with IFF_UP added. */
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                return mv_error_set(err, errno, "read the flags of %s", name);
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
                return mv_error_set(err, errno, "set %s up", name);
        return 0;
}
