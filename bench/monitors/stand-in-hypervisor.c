/*
 * A stand-in hypervisor for bench/monitors: it boots nothing and sleeps
 * until a signal ends it, so that what the benchmark measures is the
 * supervisor (microvm's monitors, or supervisord), not a VM. Both
 * supervisors run this same binary, and its own memory is left out of
 * both sums.
 *
 * Its arguments are ignored but for one: given cloud-hypervisor's
 * `--api-socket PATH`, it creates that socket without listening on it,
 * as a hypervisor whose API refuses connections. A start as root, where
 * user microvm exists, waits for the control socket to appear before it
 * gives it to group kvm; a stop finds it refused and sends SIGTERM.
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        for (int i = 1; i + 1 < argc; i++) {
                if (strcmp(argv[i], "--api-socket") != 0)
                        continue;
                const char *path = argv[i + 1];
                if (strncmp(path, "path=", 5) == 0)
                        path += 5;
                struct sockaddr_un addr = { .sun_family = AF_UNIX };
                size_t len = strlen(path);
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd >= 0 && len < sizeof(addr.sun_path)) {
                        memcpy(addr.sun_path, path, len + 1);
                        (void)bind(fd, (struct sockaddr *)&addr, sizeof(addr));
                }
                if (fd >= 0)
                        close(fd);
        }
        for (;;)
                pause();
}
