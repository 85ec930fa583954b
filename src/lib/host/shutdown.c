#include "host/shutdown.h"

#include <stdlib.h>
#include <string.h>

#include "host/http-unix.h"
#include "host/qmp.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/spawn.h"
#include "util/xalloc.h"

#define REQUEST_TIMEOUT_MS 5000

static int api_put(const char *sock, const char *path, const char *body, struct mv_error **err)
{
        int status = 0;
        _cleanup_free_ char *response = NULL;
        int r = http_unix_request(sock, "PUT", path, body, REQUEST_TIMEOUT_MS, &status, &response,
                                  err);
        if (r < 0)
                return r;
        if (status < 200 || status > 299)
                return mv_error_fail(err, "PUT %s on %s answered %d: %s", path, sock, status,
                                     response);
        return 0;
}

int vm_request_shutdown(const char *method, const char *vm_dir, const char *socket,
                        const char *hypervisor, struct mv_error **err)
{
        if (!socket)
                return mv_error_fail(err, "cannot shut down gracefully: the VM has no control "
                                          "socket (microvm.socket)");
        _cleanup_free_ char *sock =
                socket[0] == '/' ? xstrdup(socket) : xasprintf("%s/%s", vm_dir, socket);
        if (strcmp(method, "qmp") == 0)
                return qmp_send_ctrl_alt_del(sock, REQUEST_TIMEOUT_MS, err);
        if (strcmp(method, "cloud-hypervisor-api") == 0)
                return api_put(sock, "/api/v1/vm.power-button", NULL, err);
        if (strcmp(method, "firecracker-api") == 0)
                return api_put(sock, "/actions", "{ \"action_type\": \"SendCtrlAltDel\" }", err);
        if (strcmp(method, "crosvm-powerbtn") == 0) {
                char *argv[] = { (char *)hypervisor, (char *)"powerbtn", sock, NULL };
                struct spawn_options o = SPAWN_OPTIONS(argv);
                o.stdin_fd = SPAWN_FD_NULL;
                int status;
                int r = spawn_and_wait(&o, &status, err);
                if (r >= 0 && status != 0)
                        r = mv_error_fail(err, "%s powerbtn %s exited with status %d", hypervisor,
                                          sock, status);
                return r;
        }
        return mv_error_fail(err, "cannot shut down gracefully: %s has no way to ask the guest",
                             method);
}
