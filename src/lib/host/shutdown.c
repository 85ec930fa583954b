#include "host/shutdown.h"

#include <stdlib.h>

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

int vm_request_shutdown(enum hv_shutdown method, const char *socket, const char *hypervisor,
                        struct mv_error **err)
{
        if (!socket)
                return mv_error_fail(err, "cannot shut down gracefully: the VM has no control "
                                          "socket (microvm.socket)");
        switch (method) {
        case HV_SHUTDOWN_QMP:
                return qmp_send_ctrl_alt_del(socket, REQUEST_TIMEOUT_MS, err);
        case HV_SHUTDOWN_CH_API:
                return api_put(socket, "/api/v1/vm.power-button", NULL, err);
        case HV_SHUTDOWN_FC_API:
                return api_put(socket, "/actions", "{ \"action_type\": \"SendCtrlAltDel\" }", err);
        case HV_SHUTDOWN_CROSVM_CMD: {
                char *argv[] = { (char *)hypervisor, (char *)"powerbtn", (char *)socket, NULL };
                struct spawn_options o = SPAWN_OPTIONS(argv);
                o.stdin_fd = SPAWN_FD_NULL;
                int status;
                int r = spawn_run(&o, NULL, REQUEST_TIMEOUT_MS, &status, NULL, err);
                if (r >= 0 && status != 0)
                        r = mv_error_fail(err, "%s powerbtn %s exited with status %d", hypervisor,
                                          socket, status);
                return r;
        }
        case HV_SHUTDOWN_RUNNER_SCRIPT: /* the monitor runs the runner's script itself */
        case HV_SHUTDOWN_NONE:
                break;
        }
        return mv_error_fail(err, "cannot shut down gracefully: the hypervisor has no way to "
                                  "ask the guest");
}
