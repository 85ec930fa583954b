/*
 * ssh: a shell in a VM over vsock, as microvm.nix's `microvm -s NAME`.
 * ssh reaches the guest through `microvm vsock-proxy`, a constant
 * ProxyCommand that ssh fills in with the VM's name and port itself:
 * no command line is built from data.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "config/host-config.h"
#include "config/value-get.h"
#include "host/privileges.h"
#include "host/vsock-connect.h"
#include "hypervisor/hypervisor.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/foreign.h"
#include "vm/records.h"
#include "vm/status.h"
#include "vm/vmdir.h"

#define SSH_PORT "22"
/* ssh runs it with exec itself. */
#define PROXY_COMMAND "ProxyCommand=microvm vsock-proxy %n %p"

struct vsock_target {
        uint32_t cid;
        const char *hybrid; /* the hypervisor's hybrid vsock socket in STATE/NAME, or NULL */
};

/* The running VM's vsock, from the runner it booted. */
static int vm_vsock(const char *state, const char *name, struct vsock_target *t,
                    struct mv_error **err)
{
        struct vm_status st;
        vm_status_read(state, name, &st);
        bool running = st.state == VM_RUNNING;
        _cleanup_free_ char *booted = st.booted ? xstrdup(st.booted) : NULL;
        vm_status_done(&st);
        if (!running || !booted)
                return mv_error_fail(err, "vm %s is not running", name);
        _cleanup_free_ char *dir = runner_path(state, booted);
        _cleanup_free_ char *cid_path = xasprintf("%s/share/microvm/vsock-cid", dir);
        _cleanup_free_ char *text = NULL;
        char *end = NULL;
        unsigned long cid = 0;
        if (read_file_full(cid_path, &text, NULL, NULL) >= 0)
                cid = strtoul(text, &end, 10);
        if (!text || end == text || cid < 3 || cid >= UINT32_MAX) {
                mv_error_fail(err, "vm %s does not have vsock enabled", name);
                return mv_error_hint(err, "set microvm.vsock.cid in the VM's configuration");
        }
        _cleanup_free_ char *hv = runner_hypervisor(dir);
        const struct hypervisor_ops *ops = hv ? hypervisor_find(hv) : NULL;
        if (!ops)
                return mv_error_fail(err, "vm %s: its runner does not say its hypervisor", name);
        *t = (struct vsock_target){ .cid = (uint32_t)cid, .hybrid = ops->hybrid_vsock };
        return 0;
}

/* The running VM named by `name_arg` of command `cmd`, and the state directory it is in. */
static int resolve(const struct cli_context *ctx, const char *cmd, char **name_arg, char **state,
                   struct vsock_target *t, struct mv_error **err)
{
        int r = cli_check_vm_names(cmd, name_arg, 1, err);
        if (r >= 0)
                r = cli_state_dir(ctx, state, err);
        return r < 0 ? r : vm_vsock(*state, *name_arg, t, err);
}

int cmd_ssh(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        if (argc < 2)
                return mv_error_usage(err, "ssh takes a VM name: ssh NAME [-- SSH_OPTIONS... | "
                                           "COMMAND...]");
        const char *name = argv[1];
        _cleanup_free_ char *state = NULL;
        struct vsock_target t;
        int r = resolve(ctx, "ssh", argv + 1, &state, &t, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *ssh = NULL;
        if (find_program("ssh", &ssh, NULL) < 0) {
                mv_error_fail(err, "ssh is not installed");
                return mv_error_hint(err, "apt-get install openssh-client");
        }
        /* The proxy is this microvm, with this configuration: found through the environment. */
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0)
                return mv_error_set(err, errno, "readlink /proc/self/exe");
        self[n] = '\0';
        *strrchr(self, '/') = '\0';
        const char *path = getenv("PATH");
        _cleanup_free_ char *new_path = xasprintf("%s:%s", self, path ? path : "/usr/bin:/bin");
        char config[PATH_MAX];
        if (!realpath(host_config_path(ctx->config_path), config))
                return mv_error_set(err, errno, "%s", host_config_path(ctx->config_path));
        if (setenv("PATH", new_path, 1) < 0 || setenv("MICROVM_CONFIG", config, 1) < 0)
                return mv_error_set(err, errno, "setenv");

        bool options = argc > 2 && strcmp(argv[2], "--") == 0;
        bool login = false;
        for (int i = 2; !options && i < argc; i++)
                login = login || strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "--login") == 0;
        _cleanup_strv_free_ char **a = NULL;
        strv_push(&a, ssh);
        strv_push(&a, "-o");
        strv_push(&a, "StrictHostKeyChecking=no");
        strv_push(&a, "-o");
        strv_push(&a, "UserKnownHostsFile=/dev/null");
        strv_push(&a, "-o");
        strv_push(&a, PROXY_COMMAND);
        for (int i = 3; options && i < argc; i++)
                strv_push(&a, argv[i]);
        if (!login && !options) {
                strv_push(&a, "-l");
                strv_push(&a, "root");
        }
        strv_push(&a, "--");
        strv_push(&a, name);
        for (int i = 2; !options && i < argc; i++)
                strv_push(&a, argv[i]);
        fprintf(stderr, "Connecting to %s via VSOCK...\n", name);
        fflush(NULL);
        execv(a[0], a);
        return mv_error_set(err, errno, "run %s", a[0]);
}

/* Become the VM's user: whatever the hybrid socket leads to, that user could reach too. */
static int become_vm_user(struct mv_error **err)
{
        struct run_as id;
        run_as_resolve(NULL, &id);
        int r = 0;
        if (id.switch_ids && (setgroups(1, &id.gid) < 0 || setresgid(id.gid, id.gid, id.gid) < 0 ||
                              setresuid(id.uid, id.uid, id.uid) < 0))
                r = mv_error_set(err, errno, "become %s:%s", id.user, id.group);
        run_as_done(&id);
        return r;
}

int cmd_vsock_proxy(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        if (argc != 3)
                return mv_error_usage(err, "vsock-proxy is ssh's ProxyCommand for 'microvm ssh'");
        const char *name = argv[1];
        char *end;
        unsigned long port = strtoul(argv[2], &end, 10);
        if (*end || end == argv[2] || port == 0 || port >= UINT32_MAX)
                return mv_error_usage(err, "vsock-proxy: '%s' is not a port", argv[2]);
        _cleanup_free_ char *state = NULL;
        struct vsock_target t;
        int r = resolve(ctx, "vsock-proxy", argv + 1, &state, &t, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = -1;
        if (t.hybrid) {
                _cleanup_close_ int vmdir = vmdir_open(state, name, false, err);
                if (vmdir < 0)
                        return vmdir;
                if ((r = become_vm_user(err)) < 0)
                        return r;
                if (fchdir(vmdir) < 0)
                        return mv_error_set(err, errno, "enter %s/%s", state, name);
                fd = hybrid_vsock_connect(t.hybrid, (uint32_t)port, err);
        } else {
                fd = vsock_connect(t.cid, (uint32_t)port, err);
        }
        if (fd < 0)
                return mv_error_wrap(err, "vm %s", name);
        return vsock_relay(fd, err);
}
