/*
 * balloon: set a running guest's memory balloon, as microvm.nix's
 * bin/microvm-balloon SIZE does. The hypervisor's control socket is in the
 * VM's directory, which its user can change: the request is made by a
 * child that became that user, under a deadline (a hung hypervisor cannot
 * hang the command), and what it found comes back over a pipe as text.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "config/host-config.h"
#include "config/value-get.h"
#include "host/balloon.h"
#include "monitor/loop.h"
#include "monitor/task.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/xalloc.h"
#include "vm/foreign.h"
#include "vm/plan.h"
#include "vm/records.h"
#include "vm/settings.h"
#include "vm/status.h"
#include "vm/vmdir.h"

/* crosvm asks twice, each within 5 s. */
#define BALLOON_DEADLINE_MS 12000
/* What the child reports is the hypervisor's text: a message, not a stream. */
#define REPORT_MAX 4096
#define REPORT_FD  3
/* task_run's child could not enter the directory or change its credentials. */
#define TASK_SETUP_FAILED 125

struct balloon_task {
        struct balloon_request q;
        char *script;         /* a runner built by microvm.nix: its bin/microvm-balloon */
        const char *size_arg; /* SIZE as given, for that script */
};

/* SIZE: a whole number of MiB, as microvm-balloon takes it. */
static int parse_size(const char *arg, uint64_t *mib, struct mv_error **err)
{
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(arg, &end, 10);
        if (arg[0] < '0' || arg[0] > '9' || *end || errno == ERANGE || v > BALLOON_MAX_MIB)
                return mv_error_usage(err,
                                      "balloon: SIZE must be a whole number of MiB from 0 to "
                                      "%lld, not '%s'",
                                      (long long)BALLOON_MAX_MIB, arg);
        *mib = v;
        return 0;
}

/* In the child: the VM's user, in its directory. Writes the report or the error to REPORT_FD. */
static int balloon_task(void *data)
{
        struct balloon_task *t = data;
        if (t->script) {
                char *argv[] = { t->script, (char *)t->size_arg, NULL };
                execv(argv[0], argv);
                _cleanup_free_ char *msg = xasprintf("run %s: %s", argv[0], strerror(errno));
                (void)write_all(REPORT_FD, msg, strlen(msg));
                return 1;
        }
        _cleanup_free_ char *report = NULL;
        _cleanup_error_ struct mv_error *e = NULL;
        int r = balloon_request(&t->q, &report, &e);
        const char *text = r < 0 ? e->msg : report;
        if (text)
                (void)write_all(REPORT_FD, text, strnlen(text, REPORT_MAX));
        return r < 0;
}

/* Text from the hypervisor, printable: no escape sequences reach the terminal. */
static void sanitize(char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        *s = ' ';
}

/* Run the task as the VM's user in its directory; `*report` gets what it wrote. */
static int run_task(const struct vm_plan *plan, struct balloon_task *t, char **report,
                    struct mv_error **err)
{
        _cleanup_close_ int dir = vmdir_open(plan->state_dir, plan->vm, false, err);
        if (dir < 0)
                return dir;
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return mv_error_set(err, errno, "pipe");
        _cleanup_close_ int rd = fds[0];
        _cleanup_close_ int wr = fds[1];
        struct loop l;
        int r = loop_init(&l, err);
        if (r < 0)
                return r;
        struct spawn_credentials creds = { .uid = plan->run_as.uid,
                                           .gid = plan->run_as.gid,
                                           .drop_groups = true };
        struct task_options o = { .cwd_fd = dir,
                                  .creds = plan->run_as.switch_ids ? &creds : NULL,
                                  .deadline = loop_deadline_in(BALLOON_DEADLINE_MS),
                                  .report_fd = wr };
        int status = 0;
        fflush(NULL);
        r = task_run(&l, balloon_task, t, &o, &status, err);
        loop_done(&l);
        close(TAKE_FD(wr));
        if (r < 0)
                return mv_error_wrap(err, "set the balloon of vm %s", plan->vm);
        _cleanup_free_ char *text = NULL;
        r = read_fd_full(rd, &text, REPORT_MAX, err);
        if (r < 0)
                return r;
        sanitize(text);
        if (status == 0) {
                *report = TAKE_PTR(text);
                return 0;
        }
        if (text[0])
                return mv_error_fail(err, "set the balloon of vm %s: %s", plan->vm, text);
        if (t->script)
                return mv_error_fail(err, "vm %s: %s exited with status %d", plan->vm, t->script,
                                     status);
        if (status == TASK_SETUP_FAILED)
                return mv_error_fail(err,
                                     "set the balloon of vm %s: could not become %s:%s in its "
                                     "directory",
                                     plan->vm, plan->run_as.user, plan->run_as.group);
        return mv_error_fail(err, "set the balloon of vm %s: the request ended with status %d",
                             plan->vm, status);
}

/*
 * Why runner `runner` of VM `name` cannot have its balloon set, as a
 * configuration error, from its metadata alone: a stopped VM is told too.
 * Sets `*script` to a foreign runner's bin/microvm-balloon.
 */
static int refusal(const char *state, const char *name, const char *runner, uint64_t mib,
                   char **script, struct mv_error **err)
{
        _cleanup_free_ char *dir = runner_path(state, runner);
        _cleanup_free_ char *hv = runner_hypervisor(dir);
        const struct hypervisor_ops *ops = hv ? hypervisor_find(hv) : NULL;
        if (!ops)
                return mv_error_fail(err, "vm %s: its runner %s does not say its hypervisor", name,
                                     dir);
        if (runner_is_foreign(dir)) {
                *script = xasprintf("%s/" RUNNER_BALLOON, dir);
                if (access(*script, X_OK) == 0)
                        return 0;
                mv_error_config(
                        err, "vm %s: its runner %s, built by microvm.nix, has no " RUNNER_BALLOON,
                        name, dir);
                return mv_error_hint(err, ops->balloon == HV_BALLOON_NONE
                                                  ? "microvm.nix has no balloon control for this "
                                                    "hypervisor"
                                                  : "microvm.nix writes it where the VM has "
                                                    "microvm.socket set");
        }
        if (ops->balloon == HV_BALLOON_NONE) {
                mv_error_config(err, "vm %s runs %s, which has no balloon control in microvm.nix",
                                name, ops->name);
                return mv_error_hint(err, "microvm.nix sets the balloon of qemu, "
                                          "cloud-hypervisor, crosvm and kvmtool VMs");
        }
        _cleanup_value_ struct value *spec = NULL;
        int r = vm_read_spec(state, name, runner, &spec, err);
        if (r < 0)
                return r;
        const struct value *guest = value_lookup(spec, "config");
        if (!vget_bool(guest, "microvm.balloon", false)) {
                mv_error_config(err, "vm %s has no balloon: microvm.balloon is false", name);
                return mv_error_hint(err, "set microvm.balloon = true in its config, then "
                                          "'microvm apply' and restart it");
        }
        if (ops->balloon != HV_BALLOON_LKVM_CMD && !vget_str(guest, "microvm.socket")) {
                mv_error_config(err, "vm %s has no control socket to set its balloon through",
                                name);
                return mv_error_hint(err, "set microvm.socket in its config");
        }
        if (ops->balloon == HV_BALLOON_QMP && mib == 0)
                return mv_error_usage(err, "balloon: qemu's SIZE is the memory the guest keeps, "
                                           "at least 1 MiB");
        return 0;
}

/* The request for the running VM's plan (the runner it booted). */
static void request_for(const struct vm_plan *plan, uint64_t mib, struct balloon_request *q)
{
        const char *host_name = vget_str(value_lookup(plan->spec, "config"), "networking.hostName");
        *q = (struct balloon_request){ .method = plan->hypervisor->balloon,
                                       .socket = plan->socket,
                                       .hypervisor = plan->argv[0],
                                       .host_name = host_name ? host_name : plan->vm,
                                       .home = plan->working_directory,
                                       .size_mib = mib };
}

int cmd_balloon(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        if (argc != 3)
                return mv_error_usage(err, "balloon takes a VM name and a size in MiB: "
                                           "balloon NAME SIZE");
        const char *name = argv[1];
        uint64_t mib = 0;
        int r = cli_check_vm_names("balloon", argv + 1, 1, err);
        if (r >= 0)
                r = parse_size(argv[2], &mib, err);
        if (r < 0)
                return r;

        struct host_settings hs;
        r = cli_host_settings(ctx, &hs, err);
        if (r < 0)
                return r;

        struct vm_status st;
        vm_status_read(hs.state_dir, name, &st);
        bool running = st.state == VM_RUNNING && st.booted;
        /* A running VM's balloon is the booted runner's; a stopped one's, what it would boot. */
        const char *record = running ? st.booted : st.current;
        _cleanup_free_ char *runner = record ? xstrdup(record) : NULL;
        vm_status_done(&st);
        _cleanup_plan_ struct vm_plan *plan = NULL;
        struct balloon_task t = { .size_arg = argv[2] };
        _cleanup_free_ char *report = NULL;
        if (!runner) {
                mv_error_fail(err, "vm %s is not installed in %s", name, hs.state_dir);
                r = mv_error_hint(err, "see 'microvm list'");
        } else {
                r = refusal(hs.state_dir, name, runner, mib, &t.script, err);
        }
        if (r >= 0 && !running) {
                mv_error_fail(err, "vm %s is not running", name);
                r = mv_error_hint(err, "start it: 'microvm start %s'", name);
        } else if (r >= 0 && (r = vm_plan_booted(&hs, name, &plan, err)) >= 0) {
                if (!plan->foreign)
                        request_for(plan, mib, &t.q);
                r = run_task(plan, &t, &report, err);
        }
        free(t.script);
        host_settings_done(&hs);
        if (r >= 0 && report && report[0])
                printf("%s\n", report);
        return r;
}
