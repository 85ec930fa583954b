/*
 * console: attach the terminal to a background VM's serial console
 * (STATE/.host/NAME/console.sock, served by its monitor); Ctrl-] detaches.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "config/host-config.h"
#include "config/value-get.h"
#include "host/console.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/unix-socket.h"
#include "util/xalloc.h"
#include "vm/records.h"
#include "vm/status.h"

/* The records of an installed VM (STATE/.host/NAME), or an error saying it is not. */
static int vm_dir_of(const struct cli_context *ctx, const char *name, char **dir, bool *running,
                     struct mv_error **err)
{
        struct host_config cfg;
        int r = host_config_load(host_config_path(ctx->config_path), &cfg, err);
        if (r < 0)
                return r;
        const char *state = vget_str(cfg.root, "microvm.stateDir");
        struct vm_status st;
        vm_status_read(state, name, &st);
        bool installed = st.current != NULL;
        *running = st.state == VM_RUNNING;
        vm_status_done(&st);
        *dir = records_path(state, name, NULL);
        if (!installed) {
                mv_error_fail(err, "vm %s is not installed in %s", name, state);
                mv_error_hint(err, "run 'microvm apply' first");
                r = -1;
        }
        host_config_free(&cfg);
        return r;
}

/* Relay between the terminal and the socket until detach, EOF on either side, or an error. */
static void relay(int sock, bool tty)
{
        bool stdin_open = true;
        for (;;) {
                struct pollfd fds[2] = { { .fd = sock, .events = POLLIN },
                                         { .fd = stdin_open ? STDIN_FILENO : -1,
                                           .events = POLLIN } };
                if (poll(fds, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                char buf[4096];
                if (fds[0].revents) {
                        ssize_t n = read(sock, buf, sizeof(buf));
                        if (n <= 0 || write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
                                return; /* the monitor is gone: the VM stopped */
                }
                if (fds[1].revents) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n <= 0) {
                                /* Input ended (a pipe): keep showing output until detached. */
                                stdin_open = false;
                                if (tty)
                                        return;
                                continue;
                        }
                        char *detach = memchr(buf, CONSOLE_DETACH_KEY, (size_t)n);
                        size_t len = detach ? (size_t)(detach - buf) : (size_t)n;
                        if (len && write_all(sock, buf, len) < 0)
                                return;
                        if (detach)
                                return;
                }
        }
}

/* The monitor's first line: attached, or refused because enough consoles are. */
static int console_handshake(int sock, const char *name, struct mv_error **err)
{
        char line[64];
        size_t n = 0;
        while (n < sizeof(line) - 1) {
                struct pollfd p = { .fd = sock, .events = POLLIN };
                if (poll(&p, 1, 10000) <= 0 || read(sock, line + n, 1) != 1)
                        break;
                if (line[n++] == '\n')
                        break;
        }
        line[n] = '\0';
        if (strcmp(line, CONSOLE_HELLO) == 0)
                return 0;
        if (strcmp(line, CONSOLE_FULL) == 0) {
                mv_error_fail(err, "vm %s: %d consoles are attached already", name,
                              CONSOLE_MAX_CLIENTS);
                return mv_error_hint(err, "detach one of them (Ctrl-]) and attach again");
        }
        return mv_error_fail(err, "vm %s: its monitor did not answer on the console socket", name);
}

int cmd_console(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        if (argc != 2 || argv[1][0] == '-')
                return mv_error_usage(err, "console takes one VM name");
        int r = cli_check_vm_names("console", argv + 1, 1, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = NULL;
        bool running;
        r = vm_dir_of(ctx, argv[1], &dir, &running, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *sock_path = xasprintf("%s/console.sock", dir);
        if (!running) {
                mv_error_fail(err, "vm %s is not running", argv[1]);
                return mv_error_hint(err,
                                     "start it with 'microvm start %s'; a VM run with "
                                     "'microvm run' has its console on that terminal",
                                     argv[1]);
        }
        _cleanup_close_ int sock = unix_socket_connect(sock_path, err);
        if (sock < 0) {
                mv_error_wrap(err, "attach to the console of vm %s", argv[1]);
                return mv_error_hint(err, "a VM run in the foreground ('microvm run') has its "
                                          "console on that terminal");
        }
        r = console_handshake(sock, argv[1], err);
        if (r < 0)
                return r;
        bool tty = isatty(STDIN_FILENO);
        struct termios saved, raw;
        if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
                raw = saved;
                cfmakeraw(&raw);
                tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        } else {
                tty = false;
        }
        if (isatty(STDERR_FILENO))
                fprintf(stderr, "attached to the console of %s; Ctrl-] detaches\r\n", argv[1]);
        signal(SIGPIPE, SIG_IGN);
        relay(sock, tty);
        if (tty)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (isatty(STDERR_FILENO))
                fprintf(stderr, "\r\ndetached from %s\n", argv[1]);
        return 0;
}
