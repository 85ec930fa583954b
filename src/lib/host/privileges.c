#include "host/privileges.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/accounts.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static char *name_or_number(const char *name, unsigned id)
{
        return name ? xstrdup(name) : xasprintf("%u", id);
}

static void decide_memlock(const struct run_as_facts *f, struct run_as *out)
{
        /* Raising a limit above its hard limit needs CAP_SYS_RESOURCE; only root tries. */
        if (f->euid != 0)
                return;
        out->set_memlock = true;
        if (f->cap_sys_resource || f->memlock.rlim_max == RLIM_INFINITY) {
                out->memlock = (struct rlimit){ RLIM_INFINITY, RLIM_INFINITY };
                return;
        }
        out->memlock = (struct rlimit){ f->memlock.rlim_max, f->memlock.rlim_max };
        out->memlock_note = xasprintf("without CAP_SYS_RESOURCE the locked-memory limit stays "
                                      "at its hard limit of %llu bytes, not infinity",
                                      (unsigned long long)f->memlock.rlim_max);
}

struct rlimit service_nofile_decide(struct rlimit current, bool cap_sys_resource)
{
        struct rlimit want = current;
        if (cap_sys_resource && want.rlim_max != RLIM_INFINITY && want.rlim_max < SERVICE_NOFILE)
                want.rlim_max = SERVICE_NOFILE;
        if (want.rlim_cur == RLIM_INFINITY || want.rlim_cur >= SERVICE_NOFILE)
                return want;
        want.rlim_cur = want.rlim_max == RLIM_INFINITY || want.rlim_max >= SERVICE_NOFILE
                                ? SERVICE_NOFILE
                                : want.rlim_max;
        return want;
}

struct rlimit service_nofile_limit(void)
{
        struct rlimit current = { 0 };
        getrlimit(RLIMIT_NOFILE, &current);
        return service_nofile_decide(current, capability_effective(CAP_SYS_RESOURCE));
}

void run_as_decide(const struct run_as_facts *f, struct run_as *out)
{
        memset(out, 0, sizeof(*out));
        decide_memlock(f, out);
        if (f->euid == 0 && f->user && f->group && !f->guest_user) {
                out->switch_ids = true;
                out->uid = f->user->pw_uid;
                out->gid = f->group->gr_gid;
                out->user = xstrdup(f->user->pw_name);
                out->group = xstrdup(f->group->gr_name);
                return;
        }
        out->uid = f->euid;
        out->gid = f->egid;
        out->user = name_or_number(f->caller_user, f->euid);
        out->group = name_or_number(f->caller_group, f->egid);
        if (f->euid != 0)
                out->reason = xstrdup("not started as root");
        else if (f->guest_user)
                /* qemu's -run-with user= needs root to switch; only qemu accepts microvm.user. */
                out->reason = xasprintf("microvm.user is set: the hypervisor switches to %s "
                                        "itself",
                                        f->guest_user);
        else if (!f->user && !f->group)
                out->reason =
                        xstrdup("there is no user " RUN_AS_USER " and no group " RUN_AS_GROUP);
        else if (!f->user)
                out->reason = xstrdup("there is no user " RUN_AS_USER);
        else
                out->reason = xstrdup("there is no group " RUN_AS_GROUP);
}

bool capability_effective(int cap)
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { 0 };
        if (cap < 0 || cap >= 32 * _LINUX_CAPABILITY_U32S_3 || syscall(SYS_capget, &h, d) < 0)
                return false;
        return d[cap / 32].effective & (1U << (cap % 32));
}

void run_as_resolve(const char *guest_user, struct run_as *out)
{
        struct run_as_facts f = {
                .euid = geteuid(),
                .egid = getegid(),
                .guest_user = guest_user,
                .cap_sys_resource = capability_effective(CAP_SYS_RESOURCE),
        };
        struct account a;
        if (account_user_by_id(f.euid, &a))
                f.caller_user = a.name;
        if (account_group_by_id(f.egid, &a))
                f.caller_group = a.name;

        struct passwd user = { 0 };
        struct group group = { 0 };
        if (account_user_by_name(RUN_AS_USER, &a)) {
                user = (struct passwd){ .pw_name = (char *)a.name,
                                        .pw_uid = a.id,
                                        .pw_gid = a.gid };
                f.user = &user;
        }
        if (account_group_by_name(RUN_AS_GROUP, &a)) {
                group = (struct group){ .gr_name = (char *)a.name, .gr_gid = a.id };
                f.group = &group;
        }
        getrlimit(RLIMIT_MEMLOCK, &f.memlock);
        run_as_decide(&f, out);
}

void run_as_done(struct run_as *id)
{
        free(id->user);
        free(id->group);
        free(id->reason);
        free(id->memlock_note);
        memset(id, 0, sizeof(*id));
}

static _Noreturn void access_child(const struct run_as *id, const char *dir,
                                   const char *const *paths, const int *modes, size_t n, int fd)
{
        int e = 0;
        if (dir && chdir(dir) < 0)
                e = errno;
        if (!e && id->switch_ids &&
            (setgroups(1, &id->gid) < 0 || setresgid(id->gid, id->gid, id->gid) < 0 ||
             setresuid(id->uid, id->uid, id->uid) < 0))
                e = errno;
        for (size_t i = 0; i < n; i++) {
                int r = e ? e : access(paths[i], modes[i]) < 0 ? errno : 0;
                if (write(fd, &r, sizeof(r)) != sizeof(r))
                        _exit(1);
        }
        _exit(0);
}

int run_as_access(const struct run_as *id, const char *dir, const char *const *paths,
                  const int *modes, size_t n, int *results, struct mv_error **err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return mv_error_set(err, errno, "pipe");
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(p[0]);
                close(p[1]);
                return mv_error_set(err, e, "fork");
        }
        if (pid == 0) {
                close(p[0]);
                access_child(id, dir, paths, modes, n, p[1]);
        }
        close(p[1]);
        size_t got = 0;
        while (got < n * sizeof(int)) {
                ssize_t r = read(p[0], (char *)results + got, n * sizeof(int) - got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                got += (size_t)r;
        }
        close(p[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (got != n * sizeof(int))
                return mv_error_fail(err, "checking access as %s:%s failed", id->user, id->group);
        return 0;
}
