#include "util/unix-socket.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"

/* __SO_ACCEPTCON in /proc/net/unix's Flags column: the socket listens. */
#define SO_ACCEPTCON_FLAG 0x10000UL

bool unix_socket_listening(const char *path)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/net/unix", "re");
        char line[4096];
        if (!f)
                return false;
        if (!fgets(line, sizeof(line), f)) /* header */
                return false;
        while (fgets(line, sizeof(line), f)) {
                /* Num RefCount Protocol Flags Type St Inode Path */
                char *fields[8] = { 0 };
                char *save = NULL, *p = line;
                size_t n = 0;
                line[strcspn(line, "\n")] = '\0';
                for (char *t = strtok_r(p, " ", &save); t && n < 8; t = strtok_r(NULL, " ", &save))
                        fields[n++] = t;
                if (n < 8)
                        continue;
                unsigned long flags = strtoul(fields[3], NULL, 16);
                if ((flags & SO_ACCEPTCON_FLAG) && strcmp(fields[7], path) == 0)
                        return true;
        }
        return false;
}

int unix_socket_connect(const char *path, struct mv_error **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return mv_error_fail(err, "socket path too long (at most %zu bytes): %s",
                                     sizeof(sa.sun_path) - 1, path);
        strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return mv_error_set(err, errno, "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return mv_error_set(err, e, "connect to %s", path);
        }
        return fd;
}
