#include "monitor/vm-run.h"
#include "monitor/vm-parts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/console.h"
#include "host/notify.h"
#include "host/qmp.h"
#include "host/shutdown.h"
#include "host/snippet.h"
#include "host/volume.h"
#include "monitor/control.h"
#include "monitor/task.h"
#include "systemd/machined.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/interfaces.h"
#include "vm/ownership.h"
#include "vm/plan.h"
#include "vm/records.h"
#include "vm/runner.h"
#include "vm/vmdir.h"

#define REQUEST_DEADLINE_MS 10000 /* a shutdown request, a QMP probe */
#define QMP_PROBE_EVERY_MS  100
/* A guest stuck on a share whose virtiofsd died gets this long to shut down. */
#define VIRTIOFSD_LOST_GRACE_S 30

/*
 * microvm.nix's host registers such a VM with systemd-machined once its
 * hypervisor runs (its unit's ExecStartPost). A systemd unit's run does
 * the same, with itself as the leader (the unit's main process); where
 * that cannot be, it is said once per monitor, not dropped.
 */
static void register_with_machined(struct vm_runtime *rt, const struct vm_plan *plan,
                                   struct child_waiter *w)
{
        if (!plan->register_with_machined)
                return;
        struct mv_error *e = NULL;
        int r = -1;
        if (rt->unit && machined_available() && plan->register_program) {
                char *argv[] = { plan->register_program, NULL, NULL };
                _cleanup_free_ char *pid = xasprintf("%ld", (long)getpid());
                argv[1] = pid;
                struct spawn_options o = SPAWN_OPTIONS(argv);
                o.stdin_fd = SPAWN_FD_NULL;
                int status;
                r = spawn_run(&o, w, -1, &status, NULL, &e);
                if (r >= 0 && status != 0)
                        r = mv_error_fail(&e, "%s exited with status %d", argv[0], status);
        } else if (rt->unit && machined_available() && plan->machine_id) {
                r = machined_register(plan->machine_name, plan->machine_id, getpid(), &e);
        } else {
                if (rt->machined_told)
                        return;
                rt->machined_told = true;
                if (access("/run/systemd/system", F_OK) < 0)
                        log_warning("microvm.registerWithMachined: this host does not run "
                                    "systemd, so there is no systemd-machined to register vm %s "
                                    "with",
                                    rt->name);
                else
                        log_warning("microvm.registerWithMachined: vm %s is not registered with "
                                    "systemd-machined: %s",
                                    rt->name,
                                    rt->unit ? "machined or busctl is not there"
                                             : "only VMs run as systemd units are "
                                               "(docs/systemd.md)");
                return;
        }
        if (r < 0) {
                log_warning_error(&e);
        } else {
                log_info("registered vm %s with systemd-machined as %s", rt->name,
                         plan->machine_name);
        }
}

/* extraArgsScript's words end the hypervisor's argv, as `exec … ${runtime_args:-}` does. */
static int extra_args(struct running *run, struct child_waiter *w, struct mv_error **err)
{
        _cleanup_free_ char *out = NULL;
        int r = run_snippet(run, SNIPPET_EXTRA_ARGS, true, w, &out, err);
        if (r < 0 || !out)
                return r;
        size_t before = strv_length(run->plan->argv);
        snippet_split_words(out, &run->plan->argv);
        log_info("%s added %zu arguments", plan_snippet_options[SNIPPET_EXTRA_ARGS],
                 strv_length(run->plan->argv) - before);
        return 0;
}

static int create_volumes(struct running *run, struct child_waiter *w, struct mv_error **err)
{
        const struct vm_plan *plan = run->plan;
        const struct run_as *id = &plan->run_as;
        for (size_t i = 0; i < plan->n_volumes; i++) {
                const struct plan_volume *v = &plan->volumes[i];
                if (!v->create)
                        continue;
                struct vm_place place;
                int r = vm_place_open(run->vmdir, plan->working_directory, v->image, &place, err);
                if (r < 0)
                        return r;
                log_info("creating volume %s", v->image);
                r = volume_create(place.dirfd, place.base, v->image, v->size_mib, v->mkfs,
                                  id->switch_ids ? id->uid : (uid_t)-1,
                                  id->switch_ids ? id->gid : (gid_t)-1, run_vm_creds(run), w, err);
                vm_place_close(&place);
                run_step("volume created");
                if (r < 0)
                        return r;
        }
        return 0;
}

static int mark_booted(struct running *run, struct mv_error **err)
{
        const struct vm_runtime *rt = run->rt;
        int r = records_set_runner(rt->hs->state_dir, rt->name, "booted", run->plan->runner, NULL,
                                   err);
        if (r >= 0)
                run->booted = true;
        run_step("booted recorded");
        return r;
}

static size_t notify_source_pollfds(void *data, struct pollfd *fds, size_t max)
{
        struct notify_listener *n = data;
        return n->fd >= 0 && max >= 1 + NOTIFY_MAX_CONNS ? notify_pollfds(n, fds) : 0;
}

static void notify_source_process(void *data, const struct pollfd *fds, size_t n)
{
        notify_process(data, fds, n);
}

static int notify_source_timeout(void *data)
{
        return notify_timeout_ms(data);
}

static void watch_notify(struct running *run)
{
        loop_add_source(run->rt->loop, &(struct loop_source){ .pollfds = notify_source_pollfds,
                                                              .process = notify_source_process,
                                                              .timeout_ms = notify_source_timeout,
                                                              .data = &run->notify });
}

static int readiness_prepare(struct running *run, struct mv_error **err)
{
        const struct vm_plan *plan = run->plan;
        run->notify = (struct notify_listener){ .fd = -1 };
        (void)unlinkat(run->rt->records_fd, "ready", 0);
        if (plan->readiness != READY_ON_NOTIFY)
                return 0;
        if (!plan->notify_socket) {
                int r = notify_listen_vsock(&run->notify, plan->notify_port, plan->notify_cid, err);
                if (r >= 0)
                        watch_notify(run);
                return r;
        }
        struct vm_place place;
        int r = vm_place_open(run->vmdir, plan->working_directory, plan->notify_socket, &place,
                              err);
        if (r < 0)
                return r;
        /* The hypervisor connects to it for the guest: its group, 0660. */
        const struct run_as *id = &plan->run_as;
        int fd =
                vm_place_listen(&place, (uid_t)-1, id->switch_ids ? id->gid : (gid_t)-1, 0660, err);
        vm_place_close(&place);
        if (fd < 0)
                return fd;
        notify_listen_fd(&run->notify, fd);
        watch_notify(run);
        return 0;
}

/* A stale control socket would be taken for the new one (firecracker even refuses to start). */
static void remove_stale(struct running *run, const char *path)
{
        struct vm_place place;
        if (vm_place_open(run->vmdir, run->plan->working_directory, path, &place, NULL) < 0)
                return;
        vm_place_remove_socket(&place);
        vm_place_close(&place);
}

static int start_hypervisor(struct running *run, struct mv_error **err)
{
        const struct vm_plan *plan = run->plan;
        const struct run_as *id = &plan->run_as;
        _cleanup_strv_free_ char **env = NULL;
        struct spawn_options o = SPAWN_OPTIONS(plan->argv);
        o.argv0 = plan->process_name;
        if (run->rt->console)
                o.stdin_fd = o.stdout_fd = o.stderr_fd = run->rt->console->slave;
        o.cwd_fd = run->vmdir;
        /* Its sockets are for its group (virtiofsd's and ours reach it the same way). */
        o.umask = 0117;
        o.pdeath_signal = SIGTERM;
        o.pass_fds = run->interfaces.fds;
        o.n_pass_fds = run->interfaces.n_fds;
        if (plan->hypervisor->home_is_workdir && !plan->foreign) {
                for (char **e = environ; *e; e++)
                        if (strncmp(*e, "HOME=", 5) != 0)
                                strv_push(&env, *e);
                strv_pushf(&env, "HOME=%s", plan->working_directory);
                o.envp = env;
        }
        if (id->switch_ids)
                o.credentials = &run->creds;
        if (id->set_memlock)
                o.memlock = &id->memlock;
        struct rlimit nofile = service_nofile_limit();
        o.nofile = &nofile;
        if (nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur < SERVICE_NOFILE)
                log_info("the open-file limit stays at its hard limit of %llu, not %d",
                         (unsigned long long)nofile.rlim_cur, SERVICE_NOFILE);
        ownership_log(id);
        if (plan->socket)
                remove_stale(run, plan->socket);
        log_info("starting %s as %s:%s", plan->argv[0], id->user, id->group);
        int r = spawn_process(&o, &run->hypervisor.ref, err);
        vm_interfaces_close_fds(&run->interfaces);
        if (r < 0)
                return mv_error_wrap(err, "start the hypervisor");
        loop_track(run->rt->loop, &run->hypervisor);
        run->hypervisor_started = true;
        run_step("hypervisor started");
        return 0;
}

/* In a task, in the VM's directory: `data` is the control socket's name there. */
static int qmp_probe(void *data)
{
        return qmp_execute(data, "{\"execute\":\"query-status\"}", NULL, 1000, NULL) < 0;
}

struct shutdown_request {
        const struct vm_plan *plan;
};

static int shutdown_task(void *data)
{
        const struct shutdown_request *q = data;
        struct mv_error *e = NULL;
        if (q->plan->shutdown == HV_SHUTDOWN_RUNNER_SCRIPT) {
                /* This child is the VM's user already, in its directory, under a deadline. */
                char *argv[] = { q->plan->shutdown_command, NULL };
                execv(argv[0], argv);
                log_warning("graceful shutdown failed: run %s: %s", argv[0], strerror(errno));
                return 1;
        }
        int r = vm_request_shutdown(q->plan->shutdown, q->plan->socket, q->plan->argv[0], &e);
        if (r < 0) {
                log_warning("graceful shutdown failed: %s", e->msg);
                mv_error_free(&e);
        }
        return r < 0;
}

/* Run `fn` as the hypervisor's user in the VM's directory, within `ms`. */
static int vm_task(struct running *run, int (*fn)(void *), void *data, int ms, bool cancellable,
                   int *status)
{
        struct task_options o = { .cwd_fd = run->vmdir,
                                  .creds = run_vm_creds(run),
                                  .deadline = loop_deadline_in(ms),
                                  .cancellable = cancellable };
        struct mv_error *e = NULL;
        int r = task_run(run->rt->loop, fn, data, &o, status, &e);
        if (r < 0) {
                log_debug("task: %s", e->msg);
                mv_error_free(&e);
        }
        return r;
}

/* What ends the waits of a running VM. */
static bool something_happened(void *data)
{
        const struct running *run = data;
        return run->hypervisor.exited || loop_stopping(run->rt->loop) ||
               run_virtiofsd_lost(run) >= 0 || (!run->ready && run->notify.ready);
}

static void mark_ready(struct running *run)
{
        run->ready = true;
        struct mv_error *e = NULL;
        _cleanup_free_ char *path = xasprintf("%s/ready", run->rt->records);
        if (write_live_record(path, "", 0, 0644, &e) < 0) {
                log_warning_error(&e);
        }
        run_step("ready");
        if (run->rt->control)
                control_ready(run->rt->control);
        if (run->rt->on_ready)
                run->rt->on_ready(run->rt);
}

/*
 * Until the VM is ready: QMP probes (as its user, in a child), READY=1 on
 * the notify listener, or at once. The startup timeout bounds the whole
 * start. Returns 0 when ready or when something else happened first.
 */
static int wait_ready(struct running *run, struct mv_error **err)
{
        struct loop *l = run->rt->loop;
        const struct vm_plan *plan = run->plan;
        while (!run->ready) {
                if (plan->readiness == READY_WHEN_RUNNING ||
                    (plan->readiness == READY_ON_NOTIFY && run->notify.ready)) {
                        mark_ready(run);
                        break;
                }
                ssize_t lost = run_virtiofsd_lost(run);
                if (lost >= 0)
                        return mv_error_fail(err,
                                             "virtiofsd for share %s exited (status %d) before "
                                             "the VM was ready",
                                             plan->virtiofsd[lost].tag,
                                             wait_status_to_exit_code(run->virtiofsd[lost].status));
                if (run->hypervisor.exited || loop_stopping(l))
                        return 0;
                if (monotonic_ms() >= run->start_deadline) {
                        bool notify = plan->readiness == READY_ON_NOTIFY;
                        mv_error_fail(err, "the VM was not ready within %d s (%s)",
                                      run->rt->hs->startup_timeout_s,
                                      notify ? "no READY=1 from the guest over vsock"
                                             : "the hypervisor did not answer");
                        return mv_error_hint(
                                err, notify ? "make the guest notify (systemd does), or turn "
                                              "microvm.host.useNotifySockets off; "
                                              "microvm.host.startupTimeout sets the time"
                                            : "see the console log; microvm.host.startupTimeout "
                                              "sets the time");
                }
                if (plan->readiness == READY_WHEN_QMP) {
                        int status = 1;
                        if (vm_task(run, qmp_probe, plan->socket, REQUEST_DEADLINE_MS, true,
                                    &status) == 0 &&
                            status == 0) {
                                mark_ready(run);
                                break;
                        }
                }
                int64_t next = plan->readiness == READY_WHEN_QMP
                                       ? loop_deadline_in(QMP_PROBE_EVERY_MS)
                                       : run->start_deadline;
                if (next > run->start_deadline)
                        next = run->start_deadline;
                (void)loop_wait(l, something_happened, run, next, true, -1);
        }
        return 0;
}

/*
 * Ask the guest to shut down, then wait up to `grace_s` for the hypervisor
 * to end; a second stop request or the deadline ends it by signal.
 * Returns the exit status to report.
 */
static int shut_down(struct running *run, int grace_s)
{
        struct loop *l = run->rt->loop;
        const struct vm_plan *plan = run->plan;
        if (run->rt->control)
                run->rt->control->phase = PHASE_STOPPING;
        /* Not ready any more before anything is stopped. */
        (void)unlinkat(run->rt->records_fd, "ready", 0);
        run_step("shutting down");
        /* Entered on a stop request, the next one is urgent; otherwise the second. */
        int urgent_at = l->stop_requests ? l->stop_requests + 1 : 2;
        if (plan->shutdown == HV_SHUTDOWN_NONE) {
                log_notice("no graceful shutdown for %s: stopping it with SIGTERM",
                           plan->hypervisor->name);
                loop_stop_child(l, &run->hypervisor, KILL_GRACE_MS, "the hypervisor");
                return 128 + SIGTERM;
        }
        log_notice("shutting the guest down (%s)", hv_shutdown_to_string(plan->shutdown));
        struct shutdown_request q = { .plan = plan };
        int status = 1;
        /* The request itself is quick; a hypervisor that does not take it is not waited on. */
        int deadline_ms = grace_s < 1                            ? 1000
                          : grace_s * 1000 < REQUEST_DEADLINE_MS ? grace_s * 1000
                                                                 : REQUEST_DEADLINE_MS;
        if (vm_task(run, shutdown_task, &q, deadline_ms, false, &status) < 0 || status != 0) {
                loop_stop_child(l, &run->hypervisor, KILL_GRACE_MS, "the hypervisor");
                return run->hypervisor.exited ? 128 + SIGTERM : 1;
        }
        int64_t deadline = loop_deadline_in((int64_t)grace_s * 1000);
        while (!run->hypervisor.exited) {
                if (l->stop_requests >= urgent_at) {
                        log_notice("second stop request: stopping the hypervisor now");
                        break;
                }
                if (monotonic_ms() >= deadline) {
                        log_warning("the guest did not shut down within %d s: stopping it",
                                    grace_s);
                        break;
                }
                loop_iterate(l, (int)(deadline - monotonic_ms()));
        }
        if (run->hypervisor.exited)
                return wait_status_to_exit_code(run->hypervisor.status);
        loop_stop_child(l, &run->hypervisor, KILL_GRACE_MS, "the hypervisor");
        return 128 + SIGTERM;
}

/*
 * The VM runs: until its hypervisor ends, a stop is asked for (graceful
 * shutdown), or a virtiofsd dies (the share cannot be handed to a new one
 * while the guest runs: the VM is shut down, to be started afresh).
 */
static int supervise(struct running *run, int *exit_status)
{
        struct loop *l = run->rt->loop;
        for (;;) {
                (void)loop_wait(l, something_happened, run, -1, true, -1);
                if (run->hypervisor.exited) {
                        *exit_status = wait_status_to_exit_code(run->hypervisor.status);
                        return 0;
                }
                if (loop_stopping(l)) {
                        *exit_status = shut_down(run, run->rt->hs->stop_timeout_s);
                        return 0;
                }
                ssize_t lost = run_virtiofsd_lost(run);
                if (lost < 0)
                        continue; /* readiness, handled by the caller */
                /* virtiofsd also ends when the hypervisor lets go of it, on its way out. */
                if (loop_wait_child(l, &run->hypervisor, loop_deadline_in(1000), false) == 0) {
                        *exit_status = wait_status_to_exit_code(run->hypervisor.status);
                        return 0;
                }
                log_warning("virtiofsd for share %s exited (status %d): a share cannot be "
                            "handed to a new virtiofsd while the guest runs, so the VM is "
                            "restarted",
                            run->plan->virtiofsd[lost].tag,
                            wait_status_to_exit_code(run->virtiofsd[lost].status));
                int grace = run->rt->hs->stop_timeout_s < VIRTIOFSD_LOST_GRACE_S
                                    ? run->rt->hs->stop_timeout_s
                                    : VIRTIOFSD_LOST_GRACE_S;
                *exit_status = shut_down(run, grace);
                return 0;
        }
}

static void teardown(struct running *run)
{
        struct loop *l = run->rt->loop;
        loop_remove_source(l, &run->notify);
        (void)unlinkat(run->rt->records_fd, "ready", 0);
        if (run->hypervisor_started) {
                loop_stop_child(l, &run->hypervisor, KILL_GRACE_MS, "the hypervisor");
                loop_untrack(l, &run->hypervisor);
                pidref_done(&run->hypervisor.ref);
        }
        run_step("teardown: hypervisor gone");
        if (run->ours & HELPER_BIT(HELPER_VIRTIOFSD))
                run_stop_virtiofsd(run);
        run_step("teardown: virtiofsd gone");
        if (run->ours & HELPER_BIT(HELPER_PCI)) {
                run_release_pci_devices(run->rt->hs, run->rt->name);
                if (run->plan->pci_devices)
                        run_step("teardown: pci devices released");
        }
        vm_interfaces_remove(&run->interfaces);
        run_links_down(run);
        run_step("teardown: interfaces gone");
        bool notify_socket = run->notify.fd >= 0 && !run->notify.vsock;
        notify_close(&run->notify);
        if (notify_socket)
                run_remove_socket(run->vmdir, run->plan->working_directory,
                                  run->plan->notify_socket);
        /* booted goes last: until then it says what is (or was) running. */
        if (run->booted) {
                struct mv_error *e = NULL;
                if (records_set_runner(run->rt->hs->state_dir, run->rt->name, "booted", NULL, NULL,
                                       &e) < 0) {
                        log_warning_error(&e);
                }
        }
        run_step("teardown: done");
        closep(&run->vmdir);
}

/* The part that makes an interface: taps' or macvtaps'. */
static unsigned interface_part(const struct plan_interface *it)
{
        return HELPER_BIT(it->macvtap ? HELPER_MACVTAPS : HELPER_TAPS);
}

/* Our virtiofsds, or the sockets of a unit's or the administrator's. */
static int virtiofsd_up(struct running *run, struct mv_error **err)
{
        if (run->ours & HELPER_BIT(HELPER_VIRTIOFSD))
                return run_start_virtiofsd(run, err);
        if (run->rt->delegated & HELPER_BIT(HELPER_VIRTIOFSD)) {
                _cleanup_free_ char *hint = xasprintf(
                        "microvm-virtiofsd@%s.service serves the shares: see 'systemctl status "
                        "microvm-virtiofsd@%s.service'",
                        run->rt->name, run->rt->name);
                return run_check_virtiofsd_sockets(run, hint, err);
        }
        return run_check_virtiofsd_sockets(run,
                                           "systemd.services.\"microvm-virtiofsd@...\".enable = "
                                           "false in host.nix: start a virtiofsd on each share's "
                                           "socket before the VM",
                                           err);
}

/* A missing kernel is better said now than by the hypervisor after everything is set up. */
static int check_boot_files(const struct vm_plan *plan, struct mv_error **err)
{
        static const char *const options[] = { "microvm.kernel", "microvm.initrdPath",
                                               "microvm.storeDisk" };
        for (size_t i = 0; i < ELEMENTSOF(options); i++) {
                const char *path = plan->boot_files[i];
                if (path && access(path, R_OK) < 0)
                        return mv_error_set(err, errno, "%s %s", options[i], path);
        }
        return 0;
}

int vm_run_once(struct vm_runtime *rt, int *exit_status, struct mv_error **err)
{
        _cleanup_plan_ struct vm_plan *plan = NULL;
        int r = vm_plan(rt->hs, rt->name, &plan, err);
        if (r < 0)
                return r;
        /* The VM's directory first: the checks below enter it, and it must be a real one. */
        _cleanup_close_ int vmdir = vmdir_open(rt->hs->state_dir, rt->name, true, err);
        r = vmdir;
        if (r >= 0)
                r = check_boot_files(plan, err);
        if (r >= 0)
                r = ownership_check(plan, err);
        if (r < 0)
                return mv_error_wrap(err, "vm %s", rt->name);
        struct running run = {
                .rt = rt,
                .plan = plan,
                .vmdir = -1,
                .notify = { .fd = -1 },
                .start_deadline = loop_deadline_in((int64_t)rt->hs->startup_timeout_s * 1000),
                .creds = { .uid = plan->run_as.uid, .gid = plan->run_as.gid, .drop_groups = true },
        };
        if (rt->control)
                rt->control->phase = PHASE_STARTING;
        struct loop_waiter w;
        loop_waiter_init(&w, rt->loop, true, run.start_deadline);
        /* What host.nix switches off, or a helper unit did, must be there: not made here. */
        run.ours = HELPERS_ALL & ~plan->helpers_off & ~rt->delegated;
        for (size_t i = 0; i < plan->n_interfaces; i++)
                if (!(run.ours & interface_part(&plan->interfaces[i])))
                        plan->interfaces[i].create = false;

        run.vmdir = TAKE_FD(vmdir);
        /* Nothing is set up yet: a share that cannot be had fails the start cleanly. */
        r = run_ensure_share_sources(&run, err);
        /* Then: a crash from here on is cleaned up from what this record names. */
        if (r >= 0)
                r = mark_booted(&run, err);
        /* In the order of microvm.nix's units: interfaces, devices, virtiofsd, then microvm-run. */
        /* A microvm.nix runner's tap-up makes its interfaces; ours come before our scripts. */
        if (r >= 0 && plan->foreign)
                r = run_links_up(&run, run.ours, &w.base, err);
        if (r >= 0)
                r = vm_interfaces_create(plan, INTERFACES_ALL, &run.interfaces, &w.base, err);
        if (r >= 0 && !plan->foreign)
                r = run_links_up(&run, run.ours, &w.base, err);
        if (r >= 0)
                r = vm_plan_resolve_ifindex(rt->hs, plan, err);
        if (r >= 0)
                r = vm_interfaces_open_fds(plan, &run.interfaces, err);
        if (r >= 0 && (run.ours & HELPER_BIT(HELPER_PCI)))
                r = run_bind_pci_devices(&run, &w.base, err);
        if (r >= 0 && (run.ours & HELPER_BIT(HELPER_PCI)))
                r = run_snippet(&run, SNIPPET_PCI_SETUP, false, &w.base, NULL, err);
        if (r >= 0)
                r = virtiofsd_up(&run, err);
        if (r >= 0)
                r = readiness_prepare(&run, err);
        if (r >= 0)
                r = run_snippet(&run, SNIPPET_PRE_START, true, &w.base, NULL, err);
        if (r >= 0)
                r = create_volumes(&run, &w.base, err);
        if (r >= 0)
                r = extra_args(&run, &w.base, err);
        if (r >= 0)
                r = start_hypervisor(&run, err);
        if (r >= 0)
                register_with_machined(rt, plan, &w.base);
        if (r >= 0)
                r = wait_ready(&run, err);
        if (r >= 0 && loop_stopping(rt->loop) && !run.ready)
                log_notice("stopped before the VM was ready");
        if (r >= 0)
                r = supervise(&run, exit_status);
        else if (run.hypervisor_started)
                *exit_status = 1;
        teardown(&run);
        if (r < 0)
                return mv_error_wrap(err, "vm %s", rt->name);
        return 0;
}

/* Each virtiofs socket the runner names, relative to the VM's directory. */
static void remove_runner_sockets(int vmdir, const char *vm_dir, const char *runner_dir)
{
        _cleanup_free_ char *vfs = xasprintf("%s/share/microvm/virtiofs", runner_dir);
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
                run_remove_socket(vmdir, vm_dir, sock);
        }
}

void vm_clean_up_after_crash(const struct host_settings *hs, const char *name, unsigned delegated)
{
        unsigned ours = HELPERS_ALL & ~host_helpers_disabled(hs, name) & ~delegated;
        /* Its own record: written before the first device changed, removed after the last. */
        if (ours & HELPER_BIT(HELPER_PCI))
                run_release_pci_devices(hs, name);
        _cleanup_free_ char *booted = records_runner(hs->state_dir, name, "booted");
        if (!booted)
                return;
        log_notice("cleaning up after an unclean stop of vm %s (runner %s)", name, booted);
        _cleanup_free_ char *runner_dir = runner_path(hs->state_dir, booted);
        vm_interfaces_remove_listed(runner_dir, ours);
        struct mv_error *e = NULL;
        _cleanup_close_ int vmdir = vmdir_open(hs->state_dir, name, false, &e);
        if (vmdir >= 0) {
                _cleanup_free_ char *vm_dir = xasprintf("%s/%s", hs->state_dir, name);
                if (ours & HELPER_BIT(HELPER_VIRTIOFSD))
                        remove_runner_sockets(vmdir, vm_dir, runner_dir);
                static const char *const stale[] = { "notify.vsock_8888" };
                for (size_t i = 0; i < ELEMENTSOF(stale); i++)
                        run_remove_socket(vmdir, vm_dir, stale[i]);
        }
        mv_error_free(&e);
        _cleanup_free_ char *records = records_path(hs->state_dir, name, "ready");
        (void)unlink(records);
        if (records_set_runner(hs->state_dir, name, "booted", NULL, NULL, &e) < 0) {
                log_warning_error(&e);
        }
}
