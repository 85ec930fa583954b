#include "monitor/vm-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/notify.h"
#include "host/pci-passthrough.h"
#include "monitor/task.h"
#include "monitor/vm-parts.h"
#include "systemd/manager.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/lockfile.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "vm/records.h"
#include "vm/vmdir.h"

/* A virtiofsd that ran shorter than this before a clean exit failed. */
#define RESPAWN_MIN_MS 1000

/* Where part `h`'s record is, in STATE/.host/NAME. */
static const char *const record_name[N_HELPERS] = {
        [HELPER_TAPS] = "taps",
        [HELPER_MACVTAPS] = "macvtaps",
        [HELPER_PCI] = PCI_RECORD,
        [HELPER_VIRTIOFSD] = NULL,
};

/* What a helper holds while it works: the VM's records and a lock. */
struct helper {
        struct loop loop;
        struct vm_runtime rt;
        int records_fd;
        int lock_fd;
        struct vm_plan *plan;
        struct running run;
};

static void helper_done(struct helper *x)
{
        if (x->run.vmdir >= 0)
                close(x->run.vmdir);
        vm_plan_free(x->plan);
        closep(&x->lock_fd);
        closep(&x->records_fd);
        loop_done(&x->loop);
        free((char *)x->rt.records);
}

/*
 * The VM's records, the part's lock `lock` taken (waited for: two helpers
 * of a part take turns; helpers of different parts run side by side), and,
 * with `plan`, its plan and directory. `vm_stopped`: a part is not changed
 * under the VM while it runs.
 */
static int helper_begin(struct helper *x, const struct host_settings *hs, const char *name,
                        const char *lock, bool vm_stopped, bool plan, struct mv_error **err)
{
        *x = (struct helper){ .loop = { .sfd = -1 },
                              .records_fd = -1,
                              .lock_fd = -1,
                              .run = { .vmdir = -1, .notify = { .fd = -1 } } };
        x->rt = (struct vm_runtime){ .loop = &x->loop, .hs = hs, .name = name, .records_fd = -1 };
        x->run.rt = &x->rt;
        int r = loop_init(&x->loop, err);
        if (r >= 0)
                x->records_fd = r = records_open(hs->state_dir, name, false, err);
        if (r == -ENOENT) {
                mv_error_free(err);
                mv_error_fail(err, "vm %s is not installed in %s", name, hs->state_dir);
                return mv_error_hint(err, "run 'microvm apply' to install the VMs of the "
                                          "configuration");
        }
        if (r < 0)
                return r;
        x->rt.records = records_path(hs->state_dir, name, NULL);
        x->rt.records_fd = x->records_fd;
        if (vm_stopped && lockfile_held(x->records_fd, "lock") == 1) {
                mv_error_fail(err, "vm %s is running", name);
                return mv_error_hint(err,
                                     "its parts are set up before it starts and undone "
                                     "after it stops: 'microvm stop %s' first",
                                     name);
        }
        x->lock_fd = r = lockfile_take(x->records_fd, lock, vm_stopped, err);
        if (r == -EWOULDBLOCK) {
                mv_error_fail(err, "vm %s: its %s already runs", name, lock);
                return mv_error_hint(err,
                                     "one runs per VM: see 'systemctl status "
                                     "microvm-virtiofsd@%s'",
                                     name);
        }
        if (r < 0 || !plan)
                return r;
        r = vm_plan(hs, name, &x->plan, err);
        if (r < 0)
                return r;
        x->run.plan = x->plan;
        x->run.creds = (struct spawn_credentials){ .uid = x->plan->run_as.uid,
                                                   .gid = x->plan->run_as.gid,
                                                   .drop_groups = true };
        x->run.vmdir = r = vmdir_open(hs->state_dir, name, true, err);
        return r < 0 ? mv_error_wrap(err, "vm %s", name) : 0;
}

/* Remove the interfaces a record of `h` lists, and the record. */
static void interfaces_down(struct helper *x, enum vm_helper h)
{
        _cleanup_free_ char *path = records_path(x->rt.hs->state_dir, x->rt.name, record_name[h]);
        _cleanup_free_ char *text = NULL;
        if (read_file_full(path, &text, NULL, NULL) < 0)
                return;
        vm_interfaces_remove_recorded(text);
        (void)unlink(path);
}

static int interfaces_up(struct helper *x, enum vm_helper h, struct mv_error **err)
{
        struct vm_plan *plan = x->plan;
        struct running *run = &x->run;
        _cleanup_free_ char *path = records_path(x->rt.hs->state_dir, x->rt.name, record_name[h]);
        _cleanup_free_ char *text = vm_interfaces_record(plan, HELPER_BIT(h));
        /* Listed before the first is made: a kill from here on is undone from the record. */
        int r = write_file_atomic(path, text, strlen(text), 0644, err);
        struct loop_waiter w;
        loop_waiter_init(&w, &x->loop, true,
                         loop_deadline_in((int64_t)x->rt.hs->startup_timeout_s * 1000));
        /* A microvm.nix runner's own tap-up makes its interfaces; ours come before our scripts. */
        if (r >= 0 && plan->foreign)
                r = run_links_up(run, HELPER_BIT(h), &w.base, err);
        if (r >= 0)
                r = vm_interfaces_create(plan, HELPER_BIT(h), &run->interfaces, &w.base, err);
        if (r >= 0 && !plan->foreign)
                r = run_links_up(run, HELPER_BIT(h), &w.base, err);
        if (r >= 0) {
                vm_interfaces_forget(&run->interfaces);
                return 0;
        }
        vm_interfaces_remove(&run->interfaces);
        run_links_down(run);
        interfaces_down(x, h);
        return r;
}

static int pci_up(struct helper *x, struct mv_error **err)
{
        struct loop_waiter w;
        loop_waiter_init(&w, &x->loop, true,
                         loop_deadline_in((int64_t)x->rt.hs->startup_timeout_s * 1000));
        int r = run_bind_pci_devices(&x->run, &w.base, err);
        if (r >= 0)
                r = run_snippet(&x->run, SNIPPET_PCI_SETUP, false, &w.base, NULL, err);
        if (r < 0)
                run_release_pci_devices(x->rt.hs, x->rt.name);
        return r;
}

int vm_helper_up(const struct host_settings *hs, const char *name, enum vm_helper h,
                 struct mv_error **err)
{
        struct helper x;
        _cleanup_free_ char *lock = xasprintf("%s.lock", helper_word[h]);
        int r = helper_begin(&x, hs, name, lock, true, true, err);
        if (r >= 0 && (x.plan->helpers_off & HELPER_BIT(h))) {
                log_notice("%s@%s is switched off in host.nix: nothing to do",
                           helper_unit_prefix[h], name);
        } else if (r >= 0 && h == HELPER_PCI) {
                run_release_pci_devices(hs, name);
                r = pci_up(&x, err);
        } else if (r >= 0) {
                interfaces_down(&x, h);
                r = interfaces_up(&x, h, err);
        }
        helper_done(&x);
        return r < 0 ? mv_error_wrap(err, "vm %s: %s", name, helper_word[h]) : 0;
}

int vm_helper_down(const struct host_settings *hs, const char *name, enum vm_helper h,
                   struct mv_error **err)
{
        struct helper x;
        _cleanup_free_ char *lock = xasprintf("%s.lock", helper_word[h]);
        int r = helper_begin(&x, hs, name, lock, true, false, err);
        if (r >= 0 && h == HELPER_PCI) {
                run_release_pci_devices(hs, name);
        } else if (r >= 0) {
                interfaces_down(&x, h);
                /* binScripts.tap-down of what is installed now: the runner that ran may be gone. */
                struct mv_error *e = NULL;
                if (vm_plan(hs, name, &x.plan, &e) < 0) {
                        log_warning_error(&e);
                } else {
                        x.run.plan = x.plan;
                        x.run.links_up = HELPER_BIT(h);
                        run_links_down(&x.run);
                }
        }
        helper_done(&x);
        return r < 0 ? mv_error_wrap(err, "vm %s: %s", name, helper_word[h]) : 0;
}

static bool stop_or_lost(void *data)
{
        const struct running *run = data;
        return loop_stopping(run->rt->loop) || run_virtiofsd_lost(run) >= 0;
}

/*
 * virtiofsd ends when the VM lets go of it (a stop, a restart of the VM's
 * unit): a new one takes over the socket, which stays listening, for the
 * VM's next start. One that fails ends the unit's run.
 */
static int serve(struct helper *x, struct mv_error **err)
{
        _cleanup_free_ int64_t *started = xcalloc(x->plan->n_virtiofsd, sizeof(*started));
        for (size_t i = 0; i < x->plan->n_virtiofsd; i++)
                started[i] = monotonic_ms();
        for (;;) {
                (void)loop_wait(&x->loop, stop_or_lost, &x->run, -1, false, -1);
                if (loop_stopping(&x->loop))
                        return 0;
                ssize_t lost = run_virtiofsd_lost(&x->run);
                const char *tag = x->plan->virtiofsd[lost].tag;
                int status = wait_status_to_exit_code(x->run.virtiofsd[lost].status);
                /* One that ends at once would be started again and again. */
                if (status != 0 || monotonic_ms() - started[lost] < RESPAWN_MIN_MS)
                        return mv_error_fail(err, "virtiofsd for share %s exited (status %d)%s",
                                             tag, status, status ? "" : " right after it started");
                started[lost] = monotonic_ms();
                log_info("virtiofsd for share %s ended with its VM's connection: starting "
                         "another on the same socket",
                         tag);
                int r = run_respawn_virtiofsd(&x->run, (size_t)lost, err);
                if (r < 0)
                        return r;
        }
}

/*
 * A virtiofsd that failed took the share from the running guest, and qemu
 * does not reconnect: as a monitor does, the VM is started afresh, by its
 * unit (which restarts this one with it, PartOf=).
 */
static void restart_vm_unit(struct helper *x)
{
        if (!getenv("INVOCATION_ID") || lockfile_held(x->records_fd, "lock") != 1)
                return;
        _cleanup_free_ char *unit = systemd_vm_unit(x->rt.name);
        const char *args[] = { "--no-block", "restart", unit, NULL };
        struct mv_error *e = NULL;
        log_warning("the share of vm %s is gone with its virtiofsd: restarting %s", x->rt.name,
                    unit);
        if (systemd_ctl(args, unit, &e) < 0)
                log_warning_error(&e);
}

int vm_helper_virtiofsd(const struct host_settings *hs, const char *name, struct mv_error **err)
{
        struct helper x;
        /* Beside the VM's run, which connects to these. */
        int r = helper_begin(&x, hs, name, "virtiofsd.lock", false, true, err);
        if (r >= 0 && (x.plan->helpers_off & HELPER_BIT(HELPER_VIRTIOFSD))) {
                log_notice("microvm-virtiofsd@%s is switched off in host.nix: nothing to do", name);
                notify_service_manager("READY=1");
                helper_done(&x);
                return 0;
        }
        if (r >= 0)
                r = run_ensure_share_sources(&x.run, err);
        if (r >= 0)
                r = run_start_virtiofsd(&x.run, err);
        if (r >= 0 && x.run.n_virtiofsd == 0) {
                /* Nothing to serve: the unit stays active without a process (RemainAfterExit). */
                log_info("vm %s has no virtiofs shares", name);
                notify_service_manager("READY=1");
        } else if (r >= 0) {
                log_info("%zu virtiofsd listening for vm %s", x.run.n_virtiofsd, name);
                notify_service_manager("READY=1");
                r = serve(&x, err);
                if (r < 0)
                        restart_vm_unit(&x);
                notify_service_manager("STOPPING=1");
        }
        run_stop_virtiofsd(&x.run);
        helper_done(&x);
        return r < 0 ? mv_error_wrap(err, "vm %s: virtiofsd", name) : 0;
}
