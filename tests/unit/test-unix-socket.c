#include "test-helpers.h"

#include <sys/socket.h>
#include <sys/un.h>

#include "util/unix-socket.h"
#include "util/xalloc.h"

static void sees_listening_sockets_by_bound_name(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        char *path = xasprintf("%s/s.sock", dir);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_false(unix_socket_listening(path)); /* bound, not yet listening */
        assert_int_equal(listen(fd, 1), 0);
        assert_true(unix_socket_listening(path));
        assert_false(unix_socket_listening("s.sock")); /* bound by its full name */
        close(fd);
        assert_false(unix_socket_listening(path));
        free(path);
        scratch_dir_remove(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(sees_listening_sockets_by_bound_name),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
