#include "host/balloon.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/http-unix.h"
#include "host/qmp.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define REQUEST_TIMEOUT_MS 5000
#define MIB                (1024 * 1024)

int crosvm_parse_balloon_actual(const char *output, int64_t *actual)
{
        json_t *msg = json_loads(output, 0, NULL);
        json_t *value = json_object_get(json_object_get(msg, "BalloonStats"), "balloon_actual");
        int r = json_is_integer(value) && json_integer_value(value) >= 0 ? 0 : -EBADMSG;
        if (r == 0)
                *actual = json_integer_value(value);
        json_decref(msg);
        return r;
}

/* ch-remote resize --balloon SIZE"M": the balloon's size, in bytes. */
static int ch_resize(const struct balloon_request *q, struct mv_error **err)
{
        _cleanup_free_ char *body =
                xasprintf("{\"desired_balloon\":%llu}", (unsigned long long)q->size_mib * MIB);
        int status = 0;
        _cleanup_free_ char *response = NULL;
        int r = http_unix_request(q->socket, "PUT", "/api/v1/vm.resize", body, REQUEST_TIMEOUT_MS,
                                  &status, &response, err);
        if (r < 0)
                return r;
        if (status < 200 || status > 299)
                return mv_error_fail(err, "PUT /api/v1/vm.resize on %s answered %d: %s", q->socket,
                                     status, response);
        return 0;
}

static int run_checked(char **argv, char **output, struct mv_error **err)
{
        int status = 0;
        int r = spawn_collect_timeout(argv, REQUEST_TIMEOUT_MS, &status, output, err);
        if (r >= 0 && status != 0)
                r = mv_error_fail(err, "%s %s exited with status %d%s%s", argv[0], argv[1], status,
                                  output && *output ? ": " : "", output && *output ? *output : "");
        return r;
}

/* crosvm balloon BYTES SOCKET, then balloon_stats for what the guest gave up. */
static int crosvm_balloon(const struct balloon_request *q, int64_t *actual, struct mv_error **err)
{
        _cleanup_free_ char *bytes = xasprintf("%llu", (unsigned long long)q->size_mib * MIB);
        char *set[] = { (char *)q->hypervisor, (char *)"balloon", bytes, (char *)q->socket, NULL };
        _cleanup_free_ char *ignored = NULL;
        int r = run_checked(set, &ignored, err);
        if (r < 0)
                return r;
        char *stats[] = { (char *)q->hypervisor, (char *)"balloon_stats", (char *)q->socket, NULL };
        _cleanup_free_ char *out = NULL;
        r = run_checked(stats, &out, err);
        if (r >= 0 && crosvm_parse_balloon_actual(out, actual) < 0)
                r = mv_error_fail(err, "crosvm balloon_stats answered without balloon_actual: %s",
                                  out);
        return r;
}

/* HOME=$PWD lkvm balloon -i SIZE -n NAME: lkvm finds the VM's socket under $HOME. */
static int lkvm_balloon(const struct balloon_request *q, struct mv_error **err)
{
        _cleanup_free_ char *mib = xasprintf("%llu", (unsigned long long)q->size_mib);
        char *argv[] = { (char *)q->hypervisor, (char *)"balloon",    (char *)"-i", mib,
                         (char *)"-n",          (char *)q->host_name, NULL };
        _cleanup_strv_free_ char **env = NULL;
        for (char **e = environ; *e; e++)
                if (strncmp(*e, "HOME=", 5) != 0)
                        strv_push(&env, *e);
        strv_pushf(&env, "HOME=%s", q->home);
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.envp = env;
        o.stdin_fd = SPAWN_FD_NULL;
        int status = 0;
        int r = spawn_run(&o, NULL, REQUEST_TIMEOUT_MS, &status, NULL, err);
        if (r >= 0 && status != 0)
                r = mv_error_fail(err, "%s balloon exited with status %d", argv[0], status);
        return r;
}

int balloon_request(const struct balloon_request *q, char **report, struct mv_error **err)
{
        *report = NULL;
        int64_t actual = 0;
        int r;
        switch (q->method) {
        case HV_BALLOON_QMP:
                r = qmp_balloon(q->socket, (int64_t)q->size_mib * MIB, &actual, REQUEST_TIMEOUT_MS,
                                err);
                break;
        case HV_BALLOON_CROSVM_CMD:
                r = crosvm_balloon(q, &actual, err);
                break;
        case HV_BALLOON_CH_API:
                return ch_resize(q, err);
        case HV_BALLOON_LKVM_CMD:
                return lkvm_balloon(q, err);
        case HV_BALLOON_NONE:
        default:
                return mv_error_fail(err, "the hypervisor has no balloon control");
        }
        if (r >= 0)
                *report = xasprintf("%lld", (long long)(actual / MIB));
        return r;
}
