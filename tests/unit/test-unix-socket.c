#include "test-helpers.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util/error.h"
#include "util/unix-socket.h"
#include "util/xalloc.h"

static void connects_or_says_why_not(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        char *path = xasprintf("%s/s.sock", dir);
        struct mv_error *err = NULL;
        assert_int_equal(unix_socket_connect(path, &err), -ENOENT);
        assert_non_null(strstr(err->msg, "connect to"));
        mv_error_free(&err);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(unix_socket_connect(path, NULL), -ECONNREFUSED); /* not listening */
        assert_int_equal(listen(fd, 1), 0);
        int c = unix_socket_connect(path, NULL);
        assert_true(c >= 0);
        close(c);
        close(fd);
        char long_path[200];
        memset(long_path, 'x', sizeof(long_path) - 1);
        long_path[sizeof(long_path) - 1] = '\0';
        assert_true(unix_socket_connect(long_path, NULL) < 0);
        free(path);
        scratch_dir_remove(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(connects_or_says_why_not),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
