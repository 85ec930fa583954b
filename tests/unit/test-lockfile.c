/* Locks that die with their holder, asked about without being taken. */
#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>

#include "util/cleanup.h"
#include "util/lockfile.h"

/* A child that takes the lock, says so, and waits to be killed. */
static pid_t holder(int dir)
{
        int ready[2];
        assert_int_equal(pipe(ready), 0);
        pid_t pid = fork();
        if (pid == 0) {
                if (lockfile_take(dir, "lock", false, NULL) < 0)
                        _exit(1);
                (void)!write(ready[1], "x", 1);
                pause();
                _exit(0);
        }
        close(ready[1]);
        char c;
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        return pid;
}

static void held_until_the_holder_dies(void **state)
{
        (void)state;
        char *path = scratch_dir_new();
        _cleanup_close_ int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(lockfile_held(dir, "lock"), 0); /* no file yet */
        pid_t pid = holder(dir);
        assert_int_equal(lockfile_held(dir, "lock"), 1);
        /* Asking does not take it, so the holder's own check never fails because of it. */
        assert_int_equal(lockfile_held(dir, "lock"), 1);
        assert_int_equal(lockfile_take(dir, "lock", false, NULL), -EWOULDBLOCK);
        /* A zombie holds no lock: released at exit, not at reaping. */
        kill(pid, SIGKILL);
        siginfo_t info;
        assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
        assert_int_equal(lockfile_held(dir, "lock"), 0);
        int fd = lockfile_take(dir, "lock", false, NULL);
        assert_true(fd >= 0);
        close(fd);
        waitpid(pid, NULL, 0);
        scratch_dir_remove(path);
}

/* A lock handed to a child (the monitor) stays held after the parent lets go. */
static void handed_over(void **state)
{
        (void)state;
        char *path = scratch_dir_new();
        _cleanup_close_ int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int fd = lockfile_take(dir, "lock", false, NULL);
        assert_true(fd >= 0);
        int keep[2];
        assert_int_equal(pipe(keep), 0);
        pid_t pid = fork();
        if (pid == 0) {
                char c;
                close(keep[1]);
                (void)!read(keep[0], &c, 1);
                _exit(0);
        }
        close(keep[0]);
        close(fd);
        assert_int_equal(lockfile_held(dir, "lock"), 1);
        close(keep[1]);
        waitpid(pid, NULL, 0);
        assert_int_equal(lockfile_held(dir, "lock"), 0);
        scratch_dir_remove(path);
}

/* Never through a symlink: the lock file is the directory's own. */
static void no_symlink(void **state)
{
        (void)state;
        char *path = scratch_dir_new();
        _cleanup_close_ int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(symlinkat("/etc/passwd", dir, "lock"), 0);
        assert_true(lockfile_take(dir, "lock", false, NULL) < 0);
        assert_int_equal(lockfile_held(dir, "lock"), 0);
        scratch_dir_remove(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(held_until_the_holder_dies),
                cmocka_unit_test(handed_over),
                cmocka_unit_test(no_symlink),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
