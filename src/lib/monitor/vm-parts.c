#include "monitor/vm-parts.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/pci-passthrough.h"
#include "host/share-source.h"
#include "host/snippet.h"
#include "monitor/task.h"
#include "util/accounts.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/io.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/records.h"
#include "vm/vmdir.h"

void run_step(const char *what)
{
        log_debug("%s", what);
        fault_point("monitor", what);
}

const struct spawn_credentials *run_vm_creds(const struct running *run)
{
        return run->plan->run_as.switch_ids ? &run->creds : NULL;
}

int run_ensure_share_sources(struct running *run, struct mv_error **err)
{
        const struct vm_plan *plan = run->plan;
        const struct run_as *id = &plan->run_as;
        for (size_t i = 0; i < plan->n_shares; i++) {
                int r = share_source_ensure(plan->shares[i].tag, plan->shares[i].source, run->vmdir,
                                            plan->working_directory,
                                            id->switch_ids ? id->uid : (uid_t)-1,
                                            id->switch_ids ? id->gid : (gid_t)-1, err);
                if (r < 0)
                        return r;
        }
        run_step("share sources there");
        return 0;
}

int run_snippet(struct running *run, enum plan_snippet which, bool as_vm, struct child_waiter *w,
                char **output, struct mv_error **err)
{
        const char *program = run->plan->snippet_programs[which];
        if (program) {
                char *argv[] = { (char *)program, NULL };
                struct spawn_options o = SPAWN_OPTIONS(argv);
                o.stdin_fd = SPAWN_FD_NULL;
                int status;
                log_info("running %s", program);
                int r = spawn_run(&o, w, -1, &status, NULL, err);
                if (r >= 0 && status != 0)
                        r = mv_error_fail(err, "%s exited with status %d", program, status);
                return r;
        }
        const char *text = run->plan->snippets[which];
        if (!text)
                return 0;
        struct snippet s = {
                .option = plan_snippet_options[which],
                .text = text,
                .credentials = as_vm ? run_vm_creds(run) : NULL,
                .cwd_fd = as_vm ? run->vmdir : -1,
        };
        log_info("running %s", s.option);
        return snippet_run(&s, w, output, err);
}

int run_links_up(struct running *run, unsigned parts, struct child_waiter *w, struct mv_error **err)
{
        static const enum plan_snippet ups[N_HELPERS] = {
                [HELPER_TAPS] = SNIPPET_TAP_UP, [HELPER_MACVTAPS] = SNIPPET_MACVTAP_UP
        };
        int r = 0;
        for (int h = HELPER_TAPS; r >= 0 && h <= HELPER_MACVTAPS; h++) {
                if (!(parts & HELPER_BIT(h)))
                        continue;
                run->links_up |= HELPER_BIT(h);
                r = run_snippet(run, ups[h], false, w, NULL, err);
        }
        if (parts & (HELPER_BIT(HELPER_TAPS) | HELPER_BIT(HELPER_MACVTAPS)))
                run_step("interface scripts done");
        return r;
}

/* The group a share's socket gets: virtiofsd.group, else the hypervisor's. */
static gid_t socket_group(const struct plan_virtiofsd *v, const struct run_as *id)
{
        struct account g;
        if (v->socket_group && account_group_by_name(v->socket_group, &g))
                return g.id;
        return id->switch_ids ? id->gid : (gid_t)-1;
}

/* virtiofsd `i` on listening socket `fd`, tracked in the loop. */
static int spawn_virtiofsd(struct running *run, size_t i, int fd, struct mv_error **err)
{
        const struct plan_virtiofsd *v = &run->plan->virtiofsd[i];
        struct rlimit nofile = service_nofile_limit();
        struct spawn_options o = SPAWN_OPTIONS(v->argv);
        o.cwd_fd = run->vmdir;
        o.stdin_fd = SPAWN_FD_NULL;
        o.pdeath_signal = SIGTERM;
        o.nofile = &nofile;
        o.pass_fds = &fd;
        o.n_pass_fds = 1;
        run->virtiofsd[i] = (struct loop_child){ 0 };
        int r = spawn_process(&o, &run->virtiofsd[i].ref, err);
        if (r < 0)
                return mv_error_wrap(err, "virtiofsd for share %s", v->tag);
        loop_track(run->rt->loop, &run->virtiofsd[i]);
        return 0;
}

int run_start_virtiofsd(struct running *run, struct mv_error **err)
{
        const struct vm_plan *plan = run->plan;
        if (!plan->n_virtiofsd)
                return 0;
        run->virtiofsd = xcalloc(plan->n_virtiofsd, sizeof(*run->virtiofsd));
        run->virtiofsd_listen = xcalloc(plan->n_virtiofsd, sizeof(int));
        for (size_t i = 0; i < plan->n_virtiofsd; i++) {
                const struct plan_virtiofsd *v = &plan->virtiofsd[i];
                struct vm_place place;
                int r = vm_place_open(run->vmdir, plan->working_directory, v->socket, &place, err);
                if (r < 0)
                        return mv_error_wrap(err, "virtiofsd for share %s", v->tag);
                /* Listening before virtiofsd runs: the VM may connect as soon as it starts. */
                int fd = vm_place_listen(&place, (uid_t)-1, socket_group(v, &plan->run_as), 0660,
                                         err);
                vm_place_close(&place);
                if (fd < 0)
                        return mv_error_wrap(err, "virtiofsd for share %s", v->tag);
                r = spawn_virtiofsd(run, i, fd, err);
                if (r < 0) {
                        close(fd);
                        return r;
                }
                /*
                 * Kept open until teardown: a virtiofsd that dies before the
                 * hypervisor connects leaves it waiting, not refused, and the
                 * death itself is what the start reports.
                 */
                run->virtiofsd_listen[i] = fd;
                run->n_virtiofsd++;
                run_step("virtiofsd started");
        }
        return 0;
}

int run_respawn_virtiofsd(struct running *run, size_t i, struct mv_error **err)
{
        loop_untrack(run->rt->loop, &run->virtiofsd[i]);
        pidref_done(&run->virtiofsd[i].ref);
        return spawn_virtiofsd(run, i, run->virtiofsd_listen[i], err);
}

/* Whether another VM's record holds one of the plan's PCI devices: it has them until stopped. */
static int pci_devices_free(const struct vm_runtime *rt, char *const *devices,
                            struct mv_error **err)
{
        _cleanup_strv_free_ char **names = records_vm_names(rt->hs->state_dir);
        for (size_t i = 0; names && names[i]; i++) {
                if (strcmp(names[i], rt->name) == 0)
                        continue;
                _cleanup_free_ char *path = records_path(rt->hs->state_dir, names[i], PCI_RECORD);
                _cleanup_free_ char *text = NULL;
                if (read_file_full(path, &text, NULL, NULL) < 0)
                        continue;
                for (size_t j = 0; devices[j]; j++) {
                        const char *at = strstr(text, devices[j]);
                        if (!at || (at != text && at[-1] != '\n'))
                                continue;
                        mv_error_fail(err, "PCI device %s is bound for vm %s (%s)", devices[j],
                                      names[i], path);
                        return mv_error_hint(err,
                                             "a device is passed to one VM at a time: stop vm %s "
                                             "first ('microvm stop %s' also gives it back after "
                                             "a crash)",
                                             names[i], names[i]);
                }
        }
        return 0;
}

int run_bind_pci_devices(struct running *run, struct child_waiter *w, struct mv_error **err)
{
        const struct vm_plan *plan = run->plan;
        if (!plan->pci_devices)
                return 0;
        int r = pci_devices_free(run->rt, plan->pci_devices, err);
        if (r < 0)
                return r;
        struct pci_host host;
        pci_host_default(&host);
        const struct run_as *id = &plan->run_as;
        _cleanup_free_ char *record =
                records_path(run->rt->hs->state_dir, run->rt->name, PCI_RECORD);
        r = pci_passthrough_setup(&host, plan->pci_devices, id->switch_ids ? id->uid : (uid_t)-1,
                                  id->switch_ids ? id->gid : (gid_t)-1, record, w, err);
        run_step("pci devices bound");
        return r;
}

void run_release_pci_devices(const struct host_settings *hs, const char *name)
{
        struct pci_host host;
        pci_host_default(&host);
        _cleanup_free_ char *record = records_path(hs->state_dir, name, PCI_RECORD);
        pci_passthrough_undo(&host, record);
}

void run_remove_socket(int vmdir, const char *vm_dir, const char *path)
{
        struct vm_place place;
        if (vm_place_open(vmdir, vm_dir, path, &place, NULL) < 0)
                return;
        vm_place_remove_socket(&place);
        vm_place_close(&place);
}

/* Like microvm.nix's (no `set -e`). */
void run_links_down(struct running *run)
{
        static const enum plan_snippet downs[N_HELPERS] = {
                [HELPER_TAPS] = SNIPPET_TAP_DOWN, [HELPER_MACVTAPS] = SNIPPET_MACVTAP_DOWN
        };
        for (int h = HELPER_TAPS; h <= HELPER_MACVTAPS; h++) {
                if (!(run->links_up & HELPER_BIT(h)))
                        continue;
                struct loop_waiter w;
                loop_waiter_init(&w, run->rt->loop, false,
                                 loop_deadline_in(DOWN_SCRIPT_DEADLINE_MS));
                struct mv_error *e = NULL;
                if (run_snippet(run, downs[h], false, &w.base, NULL, &e) < 0) {
                        log_warning_error(&e);
                }
        }
        run->links_up = 0;
}

ssize_t run_virtiofsd_lost(const struct running *run)
{
        for (size_t i = 0; i < run->n_virtiofsd; i++)
                if (run->virtiofsd[i].exited)
                        return (ssize_t)i;
        return -1;
}

void run_stop_virtiofsd(struct running *run)
{
        struct loop *l = run->rt->loop;
        for (size_t i = run->n_virtiofsd; i-- > 0;) {
                loop_stop_child(l, &run->virtiofsd[i], KILL_GRACE_MS, "virtiofsd");
                loop_untrack(l, &run->virtiofsd[i]);
                pidref_done(&run->virtiofsd[i].ref);
                close(run->virtiofsd_listen[i]);
        }
        bool started = run->virtiofsd != NULL;
        for (size_t i = 0; started && i < run->plan->n_virtiofsd && run->vmdir >= 0; i++)
                run_remove_socket(run->vmdir, run->plan->working_directory,
                                  run->plan->virtiofsd[i].socket);
        free(run->virtiofsd);
        free(run->virtiofsd_listen);
        run->virtiofsd = NULL;
        run->virtiofsd_listen = NULL;
        run->n_virtiofsd = 0;
}

int run_check_virtiofsd_sockets(struct running *run, const char *whose, struct mv_error **err)
{
        const struct vm_plan *plan = run->plan;
        for (size_t i = 0; i < plan->n_virtiofsd; i++) {
                struct vm_place place;
                int r = vm_place_open(run->vmdir, plan->working_directory,
                                      plan->virtiofsd[i].socket, &place, err);
                if (r < 0)
                        return mv_error_wrap(err, "virtiofsd for share %s", plan->virtiofsd[i].tag);
                struct stat st;
                r = fstatat(place.dirfd, place.base, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
                vm_place_close(&place);
                if (r == 0 && S_ISSOCK(st.st_mode))
                        continue;
                mv_error_fail(err, "virtiofsd for share %s: %s %s", plan->virtiofsd[i].tag,
                              plan->virtiofsd[i].socket,
                              r == -ENOENT ? "does not exist"
                              : r < 0      ? strerror(-r)
                                           : "is not a socket");
                return mv_error_hint(err, "%s", whose);
        }
        return 0;
}
