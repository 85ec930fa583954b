#include "systemd/machined.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define BUSCTL_TIMEOUT_MS 10000

bool machined_available(void)
{
        struct stat st;
        _cleanup_free_ char *busctl = NULL;
        return stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode) &&
               stat("/run/dbus/system_bus_socket", &st) == 0 && S_ISSOCK(st.st_mode) &&
               find_program("busctl", &busctl, NULL) >= 0;
}

/* The 16 bytes of an 8-4-4-4-12 UUID, as busctl's "ay" arguments; false if it is none. */
static bool uuid_bytes(const char *uuid, char ***argv)
{
        char hex[33];
        size_t n = 0;
        for (const char *p = uuid; *p; p++) {
                if (*p == '-')
                        continue;
                if (!isxdigit((unsigned char)*p) || n == 32)
                        return false;
                hex[n++] = *p;
        }
        if (n != 32)
                return false;
        strv_push(argv, "16");
        for (size_t i = 0; i < 32; i += 2) {
                char byte[3] = { hex[i], hex[i + 1], 0 };
                strv_pushf(argv, "%lu", strtoul(byte, NULL, 16));
        }
        return true;
}

int machined_register(const char *name, const char *uuid, pid_t leader, struct mv_error **err)
{
        _cleanup_free_ char *busctl = NULL;
        int r = find_program("busctl", &busctl, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **argv = NULL;
        strv_push(&argv, busctl);
        static const char *const head[] = { "call",
                                            "org.freedesktop.machine1",
                                            "/org/freedesktop/machine1",
                                            "org.freedesktop.machine1.Manager",
                                            "RegisterMachine",
                                            "sayssus" };
        for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
                strv_push(&argv, head[i]);
        strv_push(&argv, name);
        if (!uuid_bytes(uuid, &argv))
                return mv_error_fail(err, "machineId \"%s\" is not a UUID", uuid);
        strv_push(&argv, "microvm");
        strv_push(&argv, "vm");
        strv_pushf(&argv, "%ld", (long)leader);
        strv_push(&argv, "/");
        int status;
        _cleanup_free_ char *out = NULL;
        r = spawn_collect_timeout(argv, BUSCTL_TIMEOUT_MS, &status, &out, err);
        if (r < 0)
                return mv_error_wrap(err, "register %s with systemd-machined", name);
        if (status != 0) {
                out[strcspn(out, "\n")] = '\0';
                return mv_error_fail(err, "register %s with systemd-machined: busctl: %s", name,
                                     out);
        }
        return 0;
}
