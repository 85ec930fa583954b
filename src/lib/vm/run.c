#include "vm/run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/merge.h"
#include "config/value-get.h"
#include "host/console.h"
#include "host/notify.h"
#include "host/privileges.h"
#include "host/qmp.h"
#include "host/shutdown.h"
#include "host/volume.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/pidref.h"
#include "util/spawn.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/unix-socket.h"
#include "util/xalloc.h"
#include "vm/interfaces.h"
#include "vm/ownership.h"
#include "vm/plan.h"
#include "vm/runner.h"
#include "vm/status.h"

#define KILL_GRACE_S 5

/* What has been set up, for teardown in reverse order. */
struct running {
        const char *vm_dir;
        struct vm_interfaces interfaces;
        struct pidref *virtiofsd;
        size_t n_virtiofsd;
        char **sockets; /* removed once their virtiofsd is gone */
        struct pidref hypervisor;
        bool booted;
        bool keep_pidfile;
};

/* Wait up to `timeout_ms` for a child to exit; true if it did. */
static bool wait_exit(struct pidref *p, int timeout_ms, int *status)
{
        if (!pidref_is_set(p))
                return true;
        if (p->fd >= 0) {
                struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
                int64_t end = monotonic_ms() + timeout_ms;
                for (;;) {
                        int left = (int)(end - monotonic_ms());
                        int n = poll(&pfd, 1, left > 0 ? left : 0);
                        if (n > 0)
                                break;
                        if (n == 0)
                                return false;
                        if (errno != EINTR)
                                return false;
                }
        }
        return pidref_wait(p, status, NULL) >= 0;
}

/* SIGTERM, a grace period, then SIGKILL. */
static void stop_process(struct pidref *p, const char *what)
{
        if (!pidref_is_set(p))
                return;
        (void)pidref_kill(p, SIGTERM, NULL);
        if (!wait_exit(p, KILL_GRACE_S * 1000, NULL)) {
                log_warning("%s did not stop within %d s: killing it", what, KILL_GRACE_S);
                pidref_kill_and_reap(p);
        }
}

static void teardown(struct running *r)
{
        stop_process(&r->hypervisor, "the hypervisor");
        for (size_t i = r->n_virtiofsd; i-- > 0;)
                stop_process(&r->virtiofsd[i], "virtiofsd");
        for (size_t i = 0; r->sockets && r->sockets[i]; i++)
                unlink(r->sockets[i]);
        vm_interfaces_remove(&r->interfaces);
        if (!r->keep_pidfile)
                vm_pidfile_remove(r->vm_dir);
        /* booted goes last: until then it says what is (or was) running. */
        if (r->booted) {
                _cleanup_free_ char *booted = xasprintf("%s/booted", r->vm_dir);
                if (unlink(booted) < 0 && errno != ENOENT)
                        log_warning("remove %s: %m", booted);
        }
        strv_free(r->sockets);
        free(r->virtiofsd);
}

/* A path the plan gives relative to the VM's directory, as seen from anywhere. */
static char *in_vm_dir(const char *vm_dir, const char *path)
{
        return path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", vm_dir, path);
}

static int create_volumes(const struct value *plan, const struct run_as *id, struct mv_error **err)
{
        const struct value *vols = vget_list(plan, "volumes");
        for (size_t i = 0; vols && i < vols->n_items; i++) {
                const struct value *v = vols->items[i];
                if (!vget_bool(v, "create", false))
                        continue;
                _cleanup_strv_free_ char **mkfs = NULL;
                vlist_push_strings(&mkfs, vget_list(v, "mkfs"));
                log_info("creating volume %s", vget_str(v, "image"));
                int r = volume_create(vget_str(v, "image"), vget_int(v, "sizeMiB", 0), mkfs, err);
                if (r >= 0)
                        r = ownership_give(id, vget_str(v, "image"), err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * virtiofsd creates its socket 0770 root:GROUP with --socket-group (the C
 * one) or as its umask says: 0660, as the other sockets the hypervisor
 * shares. Without a group, microvm.nix's option says the socket belongs to
 * the hypervisor's group.
 */
static int share_virtiofsd_socket(const struct value *v, const char *path, const struct run_as *id,
                                  struct mv_error **err)
{
        if (vget_str(v, "socketGroup"))
                return ownership_share_socket(path, (uid_t)-1, (gid_t)-1, err);
        if (id->switch_ids)
                return ownership_share_socket(path, (uid_t)-1, id->gid, err);
        return 0;
}

static int start_virtiofsd(const struct value *plan, struct running *run, const struct run_as *id,
                           int timeout_s, struct mv_error **err)
{
        const struct value *list = vget_list(plan, "virtiofsd");
        size_t n = list ? list->n_items : 0;
        if (!n)
                return 0;
        run->virtiofsd = xcalloc(n, sizeof(*run->virtiofsd));
        struct rlimit nofile = service_nofile_limit();
        for (size_t i = 0; i < n; i++) {
                const struct value *v = list->items[i];
                _cleanup_strv_free_ char **argv = NULL;
                vlist_push_strings(&argv, vget_list(v, "argv"));
                /* A stale socket from a crash would stop virtiofsd from binding. */
                _cleanup_free_ char *sock = in_vm_dir(run->vm_dir, vget_str(v, "socket"));
                unlink(sock);
                strv_push(&run->sockets, sock);
                struct spawn_options o = SPAWN_OPTIONS(argv);
                o.cwd = run->vm_dir;
                o.stdin_fd = SPAWN_FD_NULL;
                o.pdeath_signal = SIGTERM;
                o.nofile = &nofile;
                int r = spawn_process(&o, &run->virtiofsd[i], err);
                if (r < 0)
                        return mv_error_wrap(err, "virtiofsd for share %s", vget_str(v, "tag"));
                run->n_virtiofsd++;
        }
        /* The VM starts only after every share's socket listens. */
        int64_t end = monotonic_ms() + (int64_t)timeout_s * 1000;
        for (size_t i = 0; i < n; i++) {
                const struct value *v = list->items[i];
                const char *socket = vget_str(v, "socket");
                while (!unix_socket_listening(socket)) {
                        int status;
                        struct pidref *p = &run->virtiofsd[i];
                        if (wait_exit(p, 0, &status))
                                return mv_error_fail(err,
                                                     "virtiofsd for share %s exited (status "
                                                     "%d) before its socket %s listened",
                                                     vget_str(v, "tag"),
                                                     wait_status_to_exit_code(status), socket);
                        if (monotonic_ms() > end)
                                return mv_error_fail(err,
                                                     "virtiofsd for share %s: socket %s "
                                                     "did not appear within %d s",
                                                     vget_str(v, "tag"), socket, timeout_s);
                        usleep(10 * 1000);
                }
                int r = share_virtiofsd_socket(v, run->sockets[i], id, err);
                if (r < 0)
                        return mv_error_wrap(err, "virtiofsd for share %s", vget_str(v, "tag"));
        }
        return 0;
}

static int mark_booted(const char *vm_dir, const char *runner, struct running *run,
                       struct mv_error **err)
{
        _cleanup_free_ char *link = xasprintf("%s/booted", vm_dir);
        _cleanup_free_ char *target = xasprintf("../" RUNNERS_DIR "/%s", runner);
        int r = symlink_atomic(target, link, err);
        if (r >= 0)
                run->booted = true;
        return r;
}

/* Ask the guest to shut down, the way its hypervisor allows; false if there is none. */
static bool graceful_shutdown(const struct value *plan, const char *vm_dir)
{
        const char *method = vget_str(plan, "shutdown");
        if (strcmp(method, "signal") == 0) {
                log_notice("no graceful shutdown for %s: stopping it with SIGTERM",
                           vget_str(plan, "hypervisor"));
                return false;
        }
        const struct value *argv = vget_list(plan, "command.argv");
        struct mv_error *e = NULL;
        log_notice("shutting the guest down (%s)", method);
        if (vm_request_shutdown(method, vm_dir, vget_str(plan, "socket"), argv->items[0]->str, &e) <
            0) {
                log_warning("graceful shutdown failed: %s", e->msg);
                mv_error_free(&e);
                return false;
        }
        return true;
}

/*
 * When the VM counts as started: the guest sent READY=1 (notify), or
 * the hypervisor runs and, for qemu, answers on QMP. STATE/NAME/ready
 * says so to start and status.
 */
struct readiness {
        bool use_notify;
        struct notify_listener notify;
        char *qmp_socket; /* without notify: probe it until it answers */
        char *ready_path;
        int64_t deadline;
        int timeout_s;
        bool ready;
};

static int readiness_prepare(const struct value *plan, const char *vm_dir,
                             const struct run_options *opts, struct readiness *rd,
                             struct mv_error **err)
{
        *rd = (struct readiness){ .notify = { .fd = -1 }, .timeout_s = opts->startup_timeout_s };
        rd->ready_path = xasprintf("%s/ready", vm_dir);
        (void)unlink(rd->ready_path);
        const struct value *n = value_lookup(plan, "notify");
        if (n && n->type == VALUE_ATTRS) {
                rd->use_notify = true;
                const char *sock = vget_str(n, "socket");
                if (sock) {
                        _cleanup_free_ char *path = xasprintf("%s/%s", vm_dir, sock);
                        return notify_listen_unix(&rd->notify, path, err);
                }
                return notify_listen_vsock(&rd->notify, (uint32_t)vget_int(n, "vsockPort", 0),
                                           (uint32_t)vget_int(n, "vsockCid", 0), err);
        }
        const char *socket = vget_str(plan, "socket");
        if (strcmp(vget_str(plan, "hypervisor"), "qemu") == 0 && socket)
                rd->qmp_socket = xasprintf("%s/%s", vm_dir, socket);
        return 0;
}

static void readiness_done(struct readiness *rd)
{
        (void)unlink(rd->ready_path);
        notify_close(&rd->notify);
        free(rd->qmp_socket);
        free(rd->ready_path);
}

/* Check again; true once ready. */
static bool readiness_check(struct readiness *rd)
{
        if (rd->ready)
                return true;
        if (rd->use_notify)
                rd->ready = rd->notify.ready;
        else if (rd->qmp_socket)
                rd->ready = qmp_execute(rd->qmp_socket, "{\"execute\":\"query-status\"}", NULL,
                                        1000, NULL) >= 0;
        else
                rd->ready = true;
        if (rd->ready) {
                struct mv_error *e = NULL;
                if (write_file_atomic(rd->ready_path, "", 0, 0644, &e) < 0) {
                        log_warning("%s", e->msg);
                        mv_error_free(&e);
                }
        }
        return rd->ready;
}

/* How long poll() may sleep, given the deadlines in play (-1: forever). */
static int poll_timeout(int64_t stop_deadline, const struct readiness *rd)
{
        int64_t now = monotonic_ms();
        int64_t t = stop_deadline >= 0 ? stop_deadline - now : -1;
        if (!rd->ready) {
                int64_t until = rd->deadline - now;
                if (!rd->use_notify && rd->qmp_socket && until > 100)
                        until = 100; /* probe QMP again */
                t = t < 0 || until < t ? until : t;
        }
        int idle = notify_timeout_ms(&rd->notify);
        if (idle >= 0 && (t < 0 || idle < t))
                t = idle;
        return t < 0 ? -1 : t > 0 ? (int)t : 0;
}

/*
 * A virtiofsd that dies takes its share from the guest: vhost-user-fs
 * cannot hand a running guest's FUSE session to a new virtiofsd, so the
 * VM is shut down, to be started afresh (the monitor restarts it with new
 * virtiofsd). A guest stuck on the lost share gets this long to stop.
 */
#define VIRTIOFSD_LOST_GRACE_S 30

/* Reap the virtiofsd that ended; the index of one, or -1. */
static ssize_t virtiofsd_ended(struct running *run, const struct pollfd *fds, int *status)
{
        ssize_t which = -1;
        for (size_t i = 0; i < run->n_virtiofsd; i++) {
                if (fds[i].fd < 0 || !fds[i].revents)
                        continue;
                (void)pidref_wait(&run->virtiofsd[i], status, NULL);
                which = (ssize_t)i;
        }
        return which;
}

/*
 * Not ready any more; ask the guest to shut down (by signal where there is
 * no graceful way). Returns when to stop the hypervisor if it is still up.
 */
static int64_t begin_shutdown(const struct value *plan, struct running *run,
                              const struct readiness *rd, int grace_s)
{
        (void)unlink(rd->ready_path);
        if (!graceful_shutdown(plan, run->vm_dir))
                (void)pidref_kill(&run->hypervisor, SIGTERM, NULL);
        return monotonic_ms() + (int64_t)grace_s * 1000;
}

/*
 * Wait for the hypervisor. The first SIGINT or SIGTERM asks the guest to
 * shut down; the stop timeout or a second signal ends it by signal. A VM
 * not ready within the startup timeout is stopped: a failed start.
 */
static int supervise(const struct value *plan, struct running *run, struct readiness *rd, int sfd,
                     struct console *console, int stop_timeout_s, int *exit_status,
                     bool *stop_requested, struct mv_error **err)
{
        int64_t deadline = -1;
        int grace_s = stop_timeout_s;
        rd->deadline = monotonic_ms() + (int64_t)rd->timeout_s * 1000;
        readiness_check(rd);
        size_t cap = 2 + 1 + NOTIFY_MAX_CONNS + 2 + CONSOLE_MAX_CLIENTS + run->n_virtiofsd;
        _cleanup_free_ struct pollfd *fds = xcalloc(cap, sizeof(*fds));
        for (;;) {
                fds[0] = (struct pollfd){ .fd = run->hypervisor.fd, .events = POLLIN };
                fds[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
                size_t n_notify = rd->notify.fd >= 0 ? notify_pollfds(&rd->notify, fds + 2) : 0;
                size_t n_console = console ? console_pollfds(console, fds + 2 + n_notify) : 0;
                struct pollfd *vfs = fds + 2 + n_notify + n_console;
                for (size_t i = 0; i < run->n_virtiofsd; i++)
                        vfs[i] = (struct pollfd){ .fd = run->virtiofsd[i].fd, .events = POLLIN };
                size_t nfds = 2 + n_notify + n_console + run->n_virtiofsd;
                if (deadline >= 0 && monotonic_ms() >= deadline) {
                        log_warning("the guest did not shut down within %d s: stopping it",
                                    grace_s);
                        stop_process(&run->hypervisor, "the hypervisor");
                        *exit_status = 128 + SIGTERM;
                        return 0;
                }
                if (deadline < 0 && !rd->ready && monotonic_ms() >= rd->deadline) {
                        stop_process(&run->hypervisor, "the hypervisor");
                        *exit_status = 1;
                        mv_error_fail(err, "the VM was not ready within %d s (%s)", rd->timeout_s,
                                      rd->use_notify ? "no READY=1 from the guest over vsock"
                                                     : "the hypervisor did not answer");
                        return mv_error_hint(
                                err, rd->use_notify ? "make the guest notify (systemd does), "
                                                      "or turn microvm.host.useNotifySockets "
                                                      "off; microvm.host.startupTimeout sets "
                                                      "the time"
                                                    : "see the console log; "
                                                      "microvm.host.startupTimeout sets the time");
                }
                int n = poll(fds, nfds, poll_timeout(deadline, rd));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n_notify)
                        notify_process(&rd->notify, fds + 2, n_notify);
                if (n_console)
                        console_process(console, fds + 2 + n_notify, n_console);
                if (fds[0].revents) {
                        int status;
                        if (pidref_wait(&run->hypervisor, &status, NULL) >= 0)
                                *exit_status = wait_status_to_exit_code(status);
                        return 0;
                }
                if (deadline < 0)
                        readiness_check(rd);
                int vstatus = 0;
                ssize_t lost = n > 0 ? virtiofsd_ended(run, vfs, &vstatus) : -1;
                /* virtiofsd also ends when the hypervisor lets go of it, on its way out. */
                if (lost >= 0 && deadline < 0 && wait_exit(&run->hypervisor, 1000, &vstatus)) {
                        *exit_status = wait_status_to_exit_code(vstatus);
                        return 0;
                }
                if (lost >= 0 && deadline < 0) {
                        log_warning("virtiofsd for %s exited (status %d): a share cannot be "
                                    "handed to a new virtiofsd while the guest runs, so the VM "
                                    "is restarted",
                                    run->sockets[lost], wait_status_to_exit_code(vstatus));
                        grace_s = stop_timeout_s < VIRTIOFSD_LOST_GRACE_S ? stop_timeout_s
                                                                          : VIRTIOFSD_LOST_GRACE_S;
                        deadline = begin_shutdown(plan, run, rd, grace_s);
                }
                if (fds[1].revents) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) != sizeof(si))
                                continue;
                        if (stop_requested)
                                *stop_requested = true;
                        if (deadline >= 0) {
                                log_notice("second signal: stopping the hypervisor now");
                                stop_process(&run->hypervisor, "the hypervisor");
                                *exit_status = 128 + (int)si.ssi_signo;
                                return 0;
                        }
                        grace_s = stop_timeout_s;
                        deadline = begin_shutdown(plan, run, rd, grace_s);
                }
        }
}

/*
 * A booted link with nobody holding the VM's lock: the last run was killed
 * before its teardown. Undo what it left, read from the runner it booted
 * (taps and macvtaps unless someone else manages them, virtiofs sockets),
 * as its teardown would have.
 */
static void clean_up_after_crash(const char *vm_dir, bool interfaces_ours)
{
        _cleanup_free_ char *booted = xasprintf("%s/booted", vm_dir);
        char target[4096];

        if (readlink(booted, target, sizeof(target)) < 0)
                return;
        log_notice("cleaning up after an unclean stop (%s)", booted);
        if (interfaces_ours)
                vm_interfaces_remove_listed(booted);
        _cleanup_free_ char *vfs = xasprintf("%s/share/microvm/virtiofs", booted);
        _cleanup_closedir_ DIR *d = opendir(vfs);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s/socket", vfs, de->d_name);
                _cleanup_free_ char *sock = NULL;
                if (read_file_full(p, &sock, NULL, NULL) < 0)
                        continue;
                sock[strcspn(sock, "\n")] = '\0';
                _cleanup_free_ char *path =
                        sock[0] == '/' ? xstrdup(sock) : xasprintf("%s/%s", vm_dir, sock);
                unlink(path);
        }
        static const char *const stale[] = { "ready", "notify.vsock", "notify.vsock_8888" };
        for (size_t i = 0; i < ELEMENTSOF(stale); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", vm_dir, stale[i]);
                (void)unlink(p);
        }
        vm_pidfile_remove(vm_dir);
        unlink(booted);
}

/*
 * kvmtool names a macvtap's /dev/tapN in its argv, and the ifindex exists
 * only once the macvtap does: the plan stood in 0 for it, so the command is
 * planned again now.
 */
static int resolve_ifindex(const struct value *host, const char *name, const struct value *plan,
                           char ***argv, struct mv_error **err)
{
        if (!vget_bool(plan, "command.ifindexPending", false))
                return 0;
        _cleanup_value_ struct value *again = NULL;
        int r = vm_plan(host, name, &again, err);
        if (r < 0)
                return r;
        if (vget_bool(again, "command.ifindexPending", false))
                return mv_error_fail(err,
                                     "vm %s: a macvtap's ifindex is still unknown after "
                                     "creating the interfaces",
                                     name);
        strv_free(*argv);
        *argv = NULL;
        vlist_push_strings(argv, vget_list(again, "command.argv"));
        return 0;
}

/*
 * A missing kernel, or one the hypervisor's user cannot read, is better
 * said now than by the hypervisor after everything is set up.
 */
static int check_files(const struct value *host, const char *name, const struct value *plan,
                       const struct run_as *id, struct mv_error **err)
{
        _cleanup_value_ struct value *spec = NULL;
        int r = vm_read_spec(vget_str(host, "microvm.stateDir"), name, "current", &spec, err);
        if (r < 0)
                return r;
        static const char *const files[] = { "microvm.kernel", "microvm.initrdPath",
                                             "microvm.storeDisk" };
        const struct value *guest = value_lookup(spec, "config");
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                const char *path = vget_str(guest, files[i]);
                if (path && access(path, R_OK) < 0)
                        return mv_error_set(err, errno, "vm %s: %s %s", name, files[i], path);
        }
        r = ownership_check(id, plan, guest, err);
        return r < 0 ? mv_error_wrap(err, "vm %s", name) : 0;
}

/* A stale socket would be taken for the new one (firecracker even refuses to start). */
static char *control_socket(const struct value *plan, const char *vm_dir)
{
        const char *socket = vget_str(plan, "socket");
        if (!socket)
                return NULL;
        char *path = in_vm_dir(vm_dir, socket);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
                unlink(path);
        return path;
}

static int start_hypervisor(const struct value *plan, char **argv, struct running *run,
                            const struct run_as *id, const struct run_options *opts,
                            struct mv_error **err)
{
        _cleanup_strv_free_ char **env = NULL;
        struct spawn_options o = SPAWN_OPTIONS(argv);
        if (opts->console)
                o.stdin_fd = o.stdout_fd = o.stderr_fd = opts->console->slave;
        o.cwd = run->vm_dir;
        o.pdeath_signal = SIGTERM;
        o.pass_fds = run->interfaces.fds;
        o.n_pass_fds = run->interfaces.n_fds;
        /* lkvm keeps its control socket under $HOME/.lkvm: in the VM's directory, as the runner does. */
        if (strcmp(vget_str(plan, "hypervisor"), "kvmtool") == 0) {
                for (char **e = environ; *e; e++)
                        if (strncmp(*e, "HOME=", 5) != 0)
                                strv_push(&env, *e);
                strv_pushf(&env, "HOME=%s", run->vm_dir);
                o.envp = env;
        }
        struct spawn_credentials creds = { .uid = id->uid, .gid = id->gid, .drop_groups = true };
        if (id->switch_ids)
                o.credentials = &creds;
        if (id->set_memlock)
                o.memlock = &id->memlock;
        struct rlimit nofile = service_nofile_limit();
        o.nofile = &nofile;
        if (nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur < SERVICE_NOFILE)
                log_info("the open-file limit stays at its hard limit of %llu, not %d",
                         (unsigned long long)nofile.rlim_cur, SERVICE_NOFILE);
        ownership_log(id);
        _cleanup_free_ char *socket = control_socket(plan, run->vm_dir);
        log_info("starting %s as %s:%s", argv[0], id->user, id->group);
        int r = spawn_process(&o, &run->hypervisor, err);
        vm_interfaces_close_fds(&run->interfaces);
        if (r < 0)
                return mv_error_wrap(err, "start the hypervisor");
        if (socket)
                ownership_secure_control_socket(id, socket, &run->hypervisor,
                                                opts->socket_timeout_s);
        return 0;
}

struct run_options run_options_for(const struct value *host)
{
        struct run_options o = RUN_OPTIONS_DEFAULT;
        o.startup_timeout_s = (int)vget_int(host, "microvm.host.startupTimeout", 150);
        int64_t delay = vget_int(host, "microvm.host.restartDelay", 5);
        o.restart_delay_s = delay < 300 ? (int)delay : 300;
        return o;
}

int vm_run(const struct value *host, const char *name, const struct run_options *opts,
           int *exit_status, struct mv_error **err)
{
        _cleanup_value_ struct value *plan = NULL;
        _cleanup_(run_as_done) struct run_as id = { 0 };
        int r = vm_plan(host, name, &plan, err);
        if (r < 0)
                return r;
        ownership_from_plan(plan, &id);
        r = check_files(host, name, plan, &id, err);
        if (r < 0)
                return r;

        const char *vm_dir = vget_str(plan, "workingDirectory");
        struct running run = { .vm_dir = vm_dir,
                               .hypervisor = PIDREF_NULL,
                               .keep_pidfile = opts->keep_pidfile };

        /* One process runs a VM at a time; the kernel drops the lock if it dies. */
        _cleanup_free_ char *lock_path = xasprintf("%s/lock", vm_dir);
        _cleanup_close_ int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0)
                return mv_error_set(err, errno, "open %s", lock_path);
        if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return mv_error_set(err, errno, "lock %s", lock_path);
                mv_error_fail(err, "vm %s is already running", name);
                return mv_error_hint(err, "stop it first (microvm stop %s)", name);
        }
        clean_up_after_crash(vm_dir, vget_bool(host, INTERFACES_UNIT_ENABLE, true));
        /* microvm.nix's owner for a VM's directory: where the hypervisor creates its sockets. */
        r = ownership_give(&id, vm_dir, err);
        if (r < 0)
                return r;
        /* Who runs the VM, for list, status and stop: this process. */
        r = vm_pidfile_write(vm_dir, getpid(), opts->keep_pidfile, err);
        if (r < 0)
                return r;

        _cleanup_strv_free_ char **argv = NULL;
        vlist_push_strings(&argv, vget_list(plan, "command.argv"));

        /* Signals wait in a signalfd from the start: the first one is never lost. */
        sigset_t mask, old;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, &old);
        _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sfd < 0)
                r = mv_error_set(err, errno, "signalfd");

        if (r >= 0)
                r = create_volumes(plan, &id, err);
        if (r >= 0)
                r = vm_interfaces_create(plan, &run.interfaces, err);
        if (r >= 0)
                r = resolve_ifindex(host, name, plan, &argv, err);
        if (r >= 0)
                r = vm_interfaces_open_fds(plan, &run.interfaces, err);
        if (r >= 0)
                r = start_virtiofsd(plan, &run, &id, opts->socket_timeout_s, err);
        if (r >= 0)
                r = mark_booted(vm_dir, vget_str(plan, "runner"), &run, err);
        struct readiness rd = { .notify = { .fd = -1 } };
        if (r >= 0)
                r = readiness_prepare(plan, vm_dir, opts, &rd, err);
        if (r >= 0)
                r = start_hypervisor(plan, argv, &run, &id, opts, err);
        if (r >= 0)
                r = supervise(plan, &run, &rd, sfd, opts->console, opts->stop_timeout_s,
                              exit_status, opts->stop_requested, err);

        /* Not ready any more before anything is stopped. */
        if (rd.ready_path)
                readiness_done(&rd);
        teardown(&run);
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return mv_error_wrap(err, "vm %s", name);
        return 0;
}
