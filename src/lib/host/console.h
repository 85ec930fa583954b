/*
 * A background VM's serial console: the hypervisor's stdio is the slave
 * side of a pty whose master the monitor keeps. What the guest prints is
 * appended to STATE/NAME/console.log (rotated to console.log.1 past a
 * size cap) and copied to every client attached on STATE/NAME/console.sock
 * (`microvm console`); what a client types goes to the guest.
 */
#pragma once

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

struct mv_error;

#define CONSOLE_MAX_CLIENTS 4
/* Each of console.log and console.log.1 stays about this size at most. */
#define CONSOLE_LOG_CAP (4 * 1024 * 1024)

struct console {
        int master, slave; /* the pty */
        int listen_fd;     /* console.sock */
        int log_fd;        /* console.log, append */
        int clients[CONSOLE_MAX_CLIENTS];
        char *log_path, *sock_path;
        off_t log_size, cap;
        int stderr_follows_log; /* dup the log onto stderr when it rotates */
        int copy_fd; /* >= 0: the guest's output also goes here (the journal, under systemd) */
};

/*
 * Open the pty, listen on `sock_path`, append to `log_path` (keeping it
 * under `cap` bytes by rotation). When `stderr_follows_log`, stdout and
 * stderr are pointed at the log, now and after each rotation, so messages
 * of the process land beside the console output.
 */
int console_open(struct console *c, const char *log_path, const char *sock_path, off_t cap,
                 int stderr_follows_log, struct mv_error **err);

/* Fill `fds` (at least 2 + CONSOLE_MAX_CLIENTS) with what to poll; returns the count. */
size_t console_pollfds(const struct console *c, struct pollfd *fds);

/* Move what poll() reported: guest output to the log and the clients, input to the guest. */
void console_process(struct console *c, const struct pollfd *fds, size_t n);

/*
 * Show `text` (lines ending in \n) to the attached clients only, with
 * \r\n line ends as a terminal in raw mode needs: the monitor's own
 * messages, which its stderr already puts in the log.
 */
void console_tell_clients(struct console *c, const char *text, size_t len);

/* console_tell_clients() in the shape log_set_tee() takes; `ctx` is the console. */
void console_log_tee(void *ctx, const char *line, size_t len);

void console_close(struct console *c);

/* Where the last `lines` lines of log text `log` (`len` bytes) begin; an unended last line counts. */
size_t console_log_tail(const char *log, size_t len, size_t lines);

/*
 * The first line a client reads: whether it is attached, before any of
 * the guest's bytes (which could say anything).
 */
#define CONSOLE_HELLO "microvm-console attached\n"
#define CONSOLE_FULL  "microvm-console full\n"

/* The key that detaches `microvm console`: Ctrl-], as telnet and virsh use. */
#define CONSOLE_DETACH_KEY 0x1d
