/* Plain descriptor I/O that the kernel may split: written whole, or an error. */
#pragma once

#include <stddef.h>

/* Write all `len` bytes, resuming after signals and short writes. 0, or -errno. */
int write_all(int fd, const void *data, size_t len);

/*
 * The same on a connected socket, without SIGPIPE: a peer that has gone
 * (qemu exiting during a shutdown request) is -EPIPE to handle, not a
 * signal that ends this process.
 */
int send_all(int fd, const void *data, size_t len);

struct mv_error;

/* Read `fd` to its end into a NUL-terminated buffer (malloc'd); more than `max` bytes is E2BIG. */
int read_fd_full(int fd, char **contents, size_t max, struct mv_error **err);
