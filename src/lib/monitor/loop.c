#include "monitor/loop.h"

#include <errno.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

int loop_init(struct loop *l, struct mv_error **err)
{
        memset(l, 0, sizeof(*l));
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, &l->old_mask);
        l->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (l->sfd < 0) {
                int e = errno;
                sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
                return mv_error_set(err, e, "signalfd");
        }
        return 0;
}

void loop_done(struct loop *l)
{
        if (l->sfd < 0)
                return;
        close(l->sfd);
        l->sfd = -1;
        sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
}

void loop_add_source(struct loop *l, const struct loop_source *s)
{
        if (l->n_sources < LOOP_MAX_SOURCES)
                l->sources[l->n_sources++] = *s;
}

void loop_remove_source(struct loop *l, void *data)
{
        for (size_t i = 0; i < l->n_sources; i++)
                if (l->sources[i].data == data) {
                        memmove(&l->sources[i], &l->sources[i + 1],
                                (l->n_sources - i - 1) * sizeof(l->sources[0]));
                        l->n_sources--;
                        return;
                }
}

void loop_track(struct loop *l, struct loop_child *c)
{
        c->exited = false;
        c->pid = c->ref.pid;
        if (l->n_children < LOOP_MAX_CHILDREN)
                l->children[l->n_children++] = c;
}

void loop_untrack(struct loop *l, struct loop_child *c)
{
        for (size_t i = 0; i < l->n_children; i++)
                if (l->children[i] == c) {
                        l->children[i] = l->children[--l->n_children];
                        return;
                }
}

void loop_request_stop(struct loop *l)
{
        l->stop_requests++;
}

bool loop_stopping(const struct loop *l)
{
        return l->stop_requests > 0;
}

/* Every child that has ended: tracked ones get their status, orphans are only reaped. */
static void reap(struct loop *l)
{
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                size_t i = 0;
                while (i < l->n_children && l->children[i]->pid != pid)
                        i++;
                if (i == l->n_children) {
                        l->orphans_reaped++;
                        log_debug("reaped process %d (status %d)", (int)pid, status);
                        continue;
                }
                struct loop_child *c = l->children[i];
                c->exited = true;
                c->status = status;
                /* The pid is free now: nothing may signal it again. */
                pidref_done(&c->ref);
        }
}

static void read_signals(struct loop *l)
{
        struct signalfd_siginfo si;
        while (read(l->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGCHLD)
                        continue; /* reaped below, whatever the count */
                if (si.ssi_signo == SIGHUP && !l->hup_stops) {
                        log_info("SIGHUP ignored: there is nothing to reload");
                        continue;
                }
                log_info("%s: %s", strsignal((int)si.ssi_signo),
                         l->stop_requests ? "stopping now" : "stopping");
                l->stop_requests++;
        }
        reap(l);
}

void loop_iterate(struct loop *l, int timeout_ms)
{
        struct pollfd fds[LOOP_MAX_FDS];
        size_t first[LOOP_MAX_SOURCES], count[LOOP_MAX_SOURCES];
        size_t n = 0;
        fds[n++] = (struct pollfd){ .fd = l->sfd, .events = POLLIN };
        for (size_t i = 0; i < l->n_sources; i++) {
                const struct loop_source *s = &l->sources[i];
                first[i] = n;
                count[i] = s->pollfds(s->data, fds + n, LOOP_MAX_FDS - n);
                n += count[i];
                int t = s->timeout_ms ? s->timeout_ms(s->data) : -1;
                if (t >= 0 && (timeout_ms < 0 || t < timeout_ms))
                        timeout_ms = t;
        }
        int ready = poll(fds, n, timeout_ms);
        if (ready < 0 && errno != EINTR)
                log_warning("poll: %m");
        /* Sources with timeouts run also when nothing happened. */
        size_t n_sources = l->n_sources;
        for (size_t i = 0; i < n_sources && i < l->n_sources; i++)
                l->sources[i].process(l->sources[i].data, fds + first[i], count[i]);
        if (ready > 0 && fds[0].revents)
                read_signals(l);
}

int64_t loop_deadline_in(int64_t ms)
{
        return monotonic_ms() + ms;
}

int loop_wait(struct loop *l, bool (*done)(void *data), void *data, int64_t deadline,
              bool cancellable, int tick_ms)
{
        for (;;) {
                if (done(data))
                        return 0;
                if (cancellable && l->stop_requests)
                        return -ECANCELED;
                int64_t now = monotonic_ms();
                if (deadline >= 0 && now >= deadline)
                        return -ETIMEDOUT;
                int64_t t = deadline >= 0 ? deadline - now : -1;
                if (tick_ms >= 0 && (t < 0 || tick_ms < t))
                        t = tick_ms;
                loop_iterate(l, t < 0 ? -1 : t > INT32_MAX ? INT32_MAX : (int)t);
        }
}

static bool child_exited(void *data)
{
        return ((struct loop_child *)data)->exited;
}

int loop_wait_child(struct loop *l, struct loop_child *c, int64_t deadline, bool cancellable)
{
        return loop_wait(l, child_exited, c, deadline, cancellable, -1);
}

void loop_stop_child(struct loop *l, struct loop_child *c, int grace_ms, const char *what)
{
        if (c->exited || !pidref_is_set(&c->ref))
                return;
        (void)pidref_kill(&c->ref, SIGTERM, NULL);
        if (loop_wait_child(l, c, loop_deadline_in(grace_ms), false) == 0)
                return;
        log_warning("%s did not stop within %d s: killing it", what, grace_ms / 1000);
        (void)pidref_kill(&c->ref, SIGKILL, NULL);
        (void)loop_wait_child(l, c, -1, false);
}
