#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

#ifndef CLOSE_RANGE_UNSHARE
#include <linux/close_range.h>
#endif

extern char **environ;

/* What the child reports through the exec-failure pipe. */
struct child_failure {
        int stage;
        int error;
};

enum child_stage {
        STAGE_STDIO,
        STAGE_CWD,
        STAGE_SESSION,
        STAGE_PDEATHSIG,
        STAGE_PASS_FDS,
        STAGE_MEMLOCK,
        STAGE_NOFILE,
        STAGE_SETGROUPS,
        STAGE_SETGID,
        STAGE_SETUID,
        STAGE_EXEC,
};

static const char *const stage_names[] = {
        [STAGE_STDIO] = "set up standard input/output",
        [STAGE_CWD] = "change directory",
        [STAGE_SESSION] = "start a new session",
        [STAGE_PDEATHSIG] = "set the parent-death signal",
        [STAGE_PASS_FDS] = "pass descriptors to",
        [STAGE_MEMLOCK] = "set the locked-memory limit",
        [STAGE_NOFILE] = "set the open-file limit",
        [STAGE_SETGROUPS] = "drop the supplementary groups",
        [STAGE_SETGID] = "switch group",
        [STAGE_SETUID] = "switch user",
        [STAGE_EXEC] = "execute",
};

static _Noreturn void child_fail(int pipe_fd, int stage)
{
        struct child_failure f = { .stage = stage, .error = errno };
        (void)!write(pipe_fd, &f, sizeof(f));
        _exit(127);
}

/* Close every descriptor from `first` up, except `keep` (which is above `first`). */
static void close_fds_except(int first, int keep)
{
        /* close_range() exists since Linux 5.9; fall back to a loop on older kernels. */
        if (close_range((unsigned)first, (unsigned)keep - 1, 0) == 0 &&
            close_range((unsigned)keep + 1, ~0U, 0) == 0)
                return;
        long max = sysconf(_SC_OPEN_MAX);
        for (int fd = first; fd < (max > 0 ? max : 1024); fd++)
                if (fd != keep)
                        close(fd);
}

/*
 * Put pass_fds on 3, 4, ... Everything that must survive (the sources and
 * the exec-failure pipe) is first moved above that range, so that no dup2()
 * lands on a descriptor still needed. `moved` has room for n_pass_fds.
 */
static int child_pass_fds(const struct spawn_options *o, int *pipe_fd, int *moved)
{
        int above = 3 + (int)o->n_pass_fds;
        int p = fcntl(*pipe_fd, F_DUPFD_CLOEXEC, above);
        if (p < 0)
                return -1;
        *pipe_fd = p;
        for (size_t i = 0; i < o->n_pass_fds; i++) {
                moved[i] = fcntl(o->pass_fds[i], F_DUPFD_CLOEXEC, above);
                if (moved[i] < 0)
                        return -1;
        }
        /* dup2() clears close-on-exec on the copy, which is what is wanted. */
        for (size_t i = 0; i < o->n_pass_fds; i++)
                if (dup2(moved[i], 3 + (int)i) < 0)
                        return -1;
        return 0;
}

/*
 * Put `src` on `target` (0, 1 or 2). Sources are first moved above 2 so
 * that setting one target cannot clobber another's source.
 */
static int child_setup_stdio(const struct spawn_options *o, int devnull)
{
        int src[3] = { o->stdin_fd, o->stdout_fd, o->stderr_fd };
        int moved[3];

        for (int i = 0; i < 3; i++) {
                int fd = src[i] == SPAWN_FD_NULL ? devnull : src[i];
                moved[i] = fd == SPAWN_FD_INHERIT ? i : fcntl(fd, F_DUPFD, 3);
                if (moved[i] < 0)
                        return -1;
        }
        for (int i = 0; i < 3; i++)
                if (src[i] != SPAWN_FD_INHERIT && dup2(moved[i], i) < 0)
                        return -1;
        return 0;
}

/* The order matters: without root, setgroups() and setgid() would fail. */
static void child_drop_credentials(const struct spawn_credentials *c, int pipe_fd)
{
        if (c->drop_groups) {
                int r = c->gid == (gid_t)-1 ? setgroups(0, NULL) : setgroups(1, &c->gid);
                if (r < 0)
                        child_fail(pipe_fd, STAGE_SETGROUPS);
        }
        if (c->gid != (gid_t)-1 && setresgid(c->gid, c->gid, c->gid) < 0)
                child_fail(pipe_fd, STAGE_SETGID);
        if (c->uid != (uid_t)-1 && setresuid(c->uid, c->uid, c->uid) < 0)
                child_fail(pipe_fd, STAGE_SETUID);
}

static _Noreturn void child_main(const struct spawn_options *o, char *const *argv,
                                 char *const *envp, int pipe_fd, int devnull, pid_t parent,
                                 int *moved)
{
        sigset_t none;
        struct sigaction dfl = { .sa_handler = SIG_DFL };

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
                sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP fail harmlessly */

        if (o->new_session && setsid() < 0)
                child_fail(pipe_fd, STAGE_SESSION);

        if (child_setup_stdio(o, devnull) < 0)
                child_fail(pipe_fd, STAGE_STDIO);
        if (o->cwd_fd >= 0 ? fchdir(o->cwd_fd) < 0 : o->cwd && chdir(o->cwd) < 0)
                child_fail(pipe_fd, STAGE_CWD);
        if (o->umask >= 0)
                umask((mode_t)o->umask);
        /* Raising a hard limit needs root: before the credentials change. */
        if (o->memlock && setrlimit(RLIMIT_MEMLOCK, o->memlock) < 0)
                child_fail(pipe_fd, STAGE_MEMLOCK);
        if (o->nofile && setrlimit(RLIMIT_NOFILE, o->nofile) < 0)
                child_fail(pipe_fd, STAGE_NOFILE);
        if (o->credentials)
                child_drop_credentials(o->credentials, pipe_fd);

        /* After the credentials: the kernel clears the parent-death signal when they change. */
        if (o->pdeath_signal) {
                if (prctl(PR_SET_PDEATHSIG, o->pdeath_signal) < 0)
                        child_fail(pipe_fd, STAGE_PDEATHSIG);
                /* The parent may have died before prctl() took effect. */
                if (getppid() != parent) {
                        errno = ESRCH;
                        child_fail(pipe_fd, STAGE_PDEATHSIG);
                }
        }

        if (child_pass_fds(o, &pipe_fd, moved) < 0)
                child_fail(pipe_fd, STAGE_PASS_FDS);

        close_fds_except(3 + (int)o->n_pass_fds, pipe_fd);
        execve(o->argv[0], argv, envp);
        child_fail(pipe_fd, STAGE_EXEC);
}

int spawn_process(const struct spawn_options *o, struct pidref *child, struct mv_error **err)
{
        int pipefd[2];
        _cleanup_close_ int rd = -1, wr = -1, devnull = -1;

        if (!o->argv || !o->argv[0])
                return mv_error_set(err, EINVAL, "spawn: empty argv");

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return mv_error_set(err, errno, "pipe");
        rd = pipefd[0];
        /* Above 2, so the child's stdio setup cannot overwrite it. */
        wr = fcntl(pipefd[1], F_DUPFD_CLOEXEC, 3);
        close(pipefd[1]);
        if (wr < 0)
                return mv_error_set(err, errno, "dup");

        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0)
                return mv_error_set(err, errno, "open /dev/null");

        char *const *envp = o->envp ? o->envp : environ;
        /* What the program sees as its argv[0] (exec -a): the path stays argv[0] of o. */
        _cleanup_strv_free_ char **shown = NULL;
        if (o->argv0) {
                shown = strv_copy(o->argv);
                free(shown[0]);
                shown[0] = xstrdup(o->argv0);
        }
        /* Allocated before fork(): the child only uses it. */
        _cleanup_free_ int *moved = xcalloc(o->n_pass_fds + 1, sizeof(int));
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
                return mv_error_set(err, errno, "fork");
        if (pid == 0)
                child_main(o, shown ? shown : o->argv, envp, wr, devnull, parent, moved);

        close(TAKE_FD(wr));

        struct child_failure f;
        ssize_t n;
        do
                n = read(rd, &f, sizeof(f));
        while (n < 0 && errno == EINTR);

        if (n == 0) {
                /* EOF: the pipe closed on a successful execve(). */
                struct pidref p = PIDREF_NULL;
                int r = pidref_set_pid(&p, pid, err);
                if (r < 0) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        return r;
                }
                *child = p;
                return 0;
        }

        int saved = n < 0 ? errno : 0;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (n != (ssize_t)sizeof(f))
                return mv_error_set(err, saved ? saved : EIO, "start %s", o->argv[0]);
        const char *stage =
                (unsigned)f.stage < ELEMENTSOF(stage_names) ? stage_names[f.stage] : "start";
        if (f.stage == STAGE_SETGID)
                return mv_error_set(err, f.error, "%s to %u for %s", stage,
                                    (unsigned)o->credentials->gid, o->argv[0]);
        if (f.stage == STAGE_SETUID)
                return mv_error_set(err, f.error, "%s to %u for %s", stage,
                                    (unsigned)o->credentials->uid, o->argv[0]);
        if (f.stage >= STAGE_MEMLOCK && f.stage <= STAGE_SETGROUPS)
                return mv_error_set(err, f.error, "%s for %s", stage, o->argv[0]);
        return mv_error_set(err, f.error, "%s %s", stage, o->argv[0]);
}

int wait_status_to_exit_code(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}

int spawn_and_wait(const struct spawn_options *o, int *exit_status, struct mv_error **err)
{
        struct pidref child = PIDREF_NULL;
        int status, r;

        r = spawn_process(o, &child, err);
        if (r < 0)
                return r;
        r = pidref_wait(&child, &status, err);
        if (r < 0)
                return r;
        if (exit_status)
                *exit_status = wait_status_to_exit_code(status);
        return 0;
}

int spawn_collect_timeout(char *const *argv, int timeout_ms, int *exit_status, char **output,
                          struct mv_error **err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return mv_error_set(err, errno, "pipe");
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.stdin_fd = SPAWN_FD_NULL;
        o.stdout_fd = p[1];
        o.stderr_fd = p[1];
        _cleanup_pidref_kill_ struct pidref child = PIDREF_NULL;
        int r = spawn_process(&o, &child, err);
        close(p[1]);
        if (r < 0) {
                close(p[0]);
                return r;
        }
        long long deadline = monotonic_ms() + timeout_ms;
        struct strbuf b = { 0 };
        char chunk[4096];
        int failure = 0; /* ETIMEDOUT, or the errno of a failed poll or read */
        for (;;) {
                struct pollfd pfd = { .fd = p[0], .events = POLLIN };
                long long left = deadline - monotonic_ms();
                int ready = poll(&pfd, 1,
                                 timeout_ms < 0 ? -1
                                 : left < 0     ? 0
                                                : (int)(left < INT_MAX ? left : INT_MAX));
                ssize_t n = ready == 0 ? 0 : ready < 0 ? -1 : read(p[0], chunk, sizeof(chunk));
                if (ready == 0)
                        failure = ETIMEDOUT;
                else if (n > 0)
                        strbuf_putn(&b, chunk, (size_t)n);
                else if (n < 0 && errno != EINTR)
                        failure = errno;
                if (failure || n == 0)
                        break;
        }
        close(p[0]);
        if (failure) {
                /* The child is killed and reaped at scope end. */
                strbuf_free(&b);
                if (failure == ETIMEDOUT)
                        return mv_error_set(err, ETIMEDOUT, "%s did not finish within %d ms",
                                            argv[0], timeout_ms);
                return mv_error_set(err, failure, "read the output of %s", argv[0]);
        }
        int status;
        r = pidref_wait(&child, &status, err);
        *output = strbuf_take(&b);
        if (r >= 0 && exit_status)
                *exit_status = wait_status_to_exit_code(status);
        return r;
}

static int wait_blocking(struct child_waiter *w, struct pidref *child, int timeout_ms,
                         int *exit_status, struct mv_error **err)
{
        (void)w;
        const char *name = "the program";
        if (timeout_ms >= 0 && child->fd >= 0) {
                struct pollfd pfd = { .fd = child->fd, .events = POLLIN };
                int64_t end = monotonic_ms() + timeout_ms;
                int n;
                do {
                        int64_t left = end - monotonic_ms();
                        n = poll(&pfd, 1, left > 0 ? (int)(left < INT_MAX ? left : INT_MAX) : 0);
                } while (n < 0 && errno == EINTR);
                if (n == 0) {
                        pidref_kill_and_reap(child);
                        return mv_error_set(err, ETIMEDOUT, "%s did not finish within %d s", name,
                                            timeout_ms / 1000);
                }
        }
        int status;
        int r = pidref_wait(child, &status, err);
        if (r >= 0 && exit_status)
                *exit_status = wait_status_to_exit_code(status);
        return r;
}

struct child_waiter child_waiter_blocking = { .wait = wait_blocking };

#define RUN_OUTPUT_MAX (64 * 1024)

/* The last RUN_OUTPUT_MAX bytes of what the child wrote to the memory file. */
static char *read_output(int fd)
{
        struct stat st;
        off_t size = fstat(fd, &st) == 0 ? st.st_size : 0;
        off_t from = size > RUN_OUTPUT_MAX ? size - RUN_OUTPUT_MAX : 0;
        char *buf = xmalloc((size_t)(size - from) + 1);
        ssize_t n = pread(fd, buf, (size_t)(size - from), from);
        buf[n > 0 ? n : 0] = '\0';
        return buf;
}

int spawn_run(const struct spawn_options *o, struct child_waiter *w, int timeout_ms,
              int *exit_status, char **output, struct mv_error **err)
{
        struct spawn_options opts = *o;
        _cleanup_close_ int out = -1;
        if (output) {
                out = memfd_create("output", MFD_CLOEXEC);
                if (out < 0)
                        return mv_error_set(err, errno, "memfd_create");
                opts.stdout_fd = opts.stderr_fd = out;
        }
        struct pidref child = PIDREF_NULL;
        int r = spawn_process(&opts, &child, err);
        if (r < 0)
                return r;
        r = (w ? w : &child_waiter_blocking)->wait(w, &child, timeout_ms, exit_status, err);
        if (r < 0)
                return mv_error_wrap(err, "%s", o->argv[0]);
        if (output)
                *output = read_output(out);
        return 0;
}

int spawn_collect(char *const *argv, int *exit_status, char **output, struct mv_error **err)
{
        return spawn_collect_timeout(argv, -1, exit_status, output, err);
}

static bool is_executable_file(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int find_program(const char *name, char **path, struct mv_error **err)
{
        if (strchr(name, '/')) {
                struct stat st;
                if (stat(name, &st) < 0)
                        return mv_error_set(err, errno, "program %s", name);
                if (!S_ISREG(st.st_mode))
                        return mv_error_fail(err, "program %s is not a regular file", name);
                if (access(name, X_OK) < 0)
                        return mv_error_set(err, errno, "program %s", name);
                *path = xstrdup(name);
                return 0;
        }

        const char *search = getenv("PATH");
        if (!search || !*search)
                search = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

        _cleanup_free_ char *copy = xstrdup(search);
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *candidate = xasprintf("%s/%s", *dir ? dir : ".", name);
                if (is_executable_file(candidate)) {
                        *path = TAKE_PTR(candidate);
                        return 0;
                }
        }
        mv_error_set(err, ENOENT, "program %s not found in PATH (%s)", name, search);
        return mv_error_hint(err, "install %s, or add the directory that holds it to PATH", name);
}
