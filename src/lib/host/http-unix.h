/*
 * HTTP/1.1 over a unix socket: what cloud-hypervisor's and firecracker's
 * APIs speak on their control sockets. One request per connection.
 */
#pragma once

struct mv_error;

/*
 * Send METHOD PATH with `body` (NULL: none, JSON otherwise) and read the
 * answer. `*status` gets the HTTP status, `*response` (optional) the body.
 */
int http_unix_request(const char *socket_path, const char *method, const char *path,
                      const char *body, int timeout_ms, int *status, char **response,
                      struct mv_error **err);
