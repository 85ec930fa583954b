/* Unix sockets of helper processes. */
#pragma once

#include <stdbool.h>

/*
 * Whether some process listens on a unix socket bound to `path` (as given
 * to bind(), so a relative name matches one bound relative too). Read from
 * /proc/net/unix rather than by connecting: Debian's virtiofsd serves
 * exactly one connection, and a probe would use it up.
 */
bool unix_socket_listening(const char *path);

struct mv_error;

/* A connected stream socket to `path`; -errno with `err` set on failure. */
int unix_socket_connect(const char *path, struct mv_error **err);
