#include "cmd/parallel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* One VM's action in progress: a child process doing it, its output collected. */
struct job {
        const char *name;
        pid_t pid;
        int fd;
        struct strbuf out;
};

int start_parallel_default_jobs(void)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (int)n : 1;
}

int start_vm_action(const struct value *host, const char *name, struct mv_error **err)
{
        struct host_settings hs;
        host_settings_from_config(host, &hs);
        bool already;
        int r = vm_start(&hs, name, &already, err);
        host_settings_done(&hs);
        if (r >= 0)
                printf("%s: %s\n", name, already ? "already running" : "started");
        return r;
}

static _Noreturn void child_main(const struct value *host, const char *name, vm_action action)
{
        struct mv_error *err = NULL;
        if (action(host, name, &err) < 0) {
                log_error("%s", err->msg);
                if (err->hint)
                        fprintf(stderr, "  hint: %s\n", err->hint);
                fflush(NULL);
                _exit(1);
        }
        fflush(NULL);
        _exit(0);
}

static int spawn_job(const struct value *host, struct job *jobs, size_t n_jobs, struct job *j,
                     vm_action action)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(p[0]);
                close(p[1]);
                return -e;
        }
        if (pid == 0) {
                /* The monitor is forked from here and never execs: it must not hold other pipes. */
                for (size_t i = 0; i < n_jobs; i++)
                        if (jobs[i].pid > 0)
                                close(jobs[i].fd);
                close(p[0]);
                dup2(p[1], STDOUT_FILENO);
                dup2(p[1], STDERR_FILENO);
                close(p[1]);
                log_set_stream(stderr);
                child_main(host, j->name, action);
        }
        close(p[1]);
        j->pid = pid;
        j->fd = p[0];
        return 0;
}

/* Read what is there; on EOF reap the child and print its result. True if it ended. */
static bool drain_job(struct job *j, size_t *failed)
{
        char buf[4096];
        ssize_t n = read(j->fd, buf, sizeof(buf));
        if (n > 0) {
                strbuf_putn(&j->out, buf, (size_t)n);
                return false;
        }
        if (n < 0 && errno == EINTR)
                return false;
        close(j->fd);
        int status;
        while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
                ;
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok)
                (*failed)++;
        fputs(j->out.data ? j->out.data : "", ok ? stdout : stderr);
        fflush(ok ? stdout : stderr);
        strbuf_free(&j->out);
        j->pid = 0;
        return true;
}

size_t run_parallel(const struct value *host, char *const *names, int jobs, vm_action action)
{
        size_t n = 0;
        while (names && names[n])
                n++;
        if (jobs < 1)
                jobs = 1;
        struct job *all = xcalloc(n ? n : 1, sizeof(*all));
        struct pollfd *fds = xcalloc(n ? n : 1, sizeof(*fds));
        size_t next = 0, running = 0, failed = 0;
        while (next < n || running > 0) {
                while (next < n && running < (size_t)jobs) {
                        struct job *j = &all[next];
                        j->name = names[next];
                        int r = spawn_job(host, all, n, j, action);
                        /*
                         * Out of descriptors or processes (each job holds a pipe, and stop
                         * --all runs one per VM): the rest wait until a job ends.
                         */
                        if (running > 0 && (r == -EMFILE || r == -ENFILE || r == -EAGAIN))
                                break;
                        next++;
                        if (r < 0) {
                                log_error("%s: cannot fork: %s", j->name, strerror(-r));
                                failed++;
                                continue;
                        }
                        running++;
                }
                size_t k = 0;
                for (size_t i = 0; i < n; i++)
                        if (all[i].pid > 0)
                                fds[k++] = (struct pollfd){ .fd = all[i].fd, .events = POLLIN };
                if (k == 0)
                        continue;
                if (poll(fds, k, -1) < 0 && errno != EINTR)
                        break;
                for (size_t i = 0, f = 0; i < n && f < k; i++) {
                        if (all[i].pid <= 0 || all[i].fd != fds[f].fd)
                                continue;
                        if (fds[f++].revents && drain_job(&all[i], &failed))
                                running--;
                }
        }
        free(fds);
        free(all);
        return failed;
}
