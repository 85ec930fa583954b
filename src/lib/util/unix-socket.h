/* Unix sockets of helper processes. */
#pragma once

struct mv_error;

/* A connected stream socket to `path`; -errno with `err` set on failure. */
int unix_socket_connect(const char *path, struct mv_error **err);
