#include "vm/records.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/host-config.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/runner.h"
#include "vm/store-path.h"
#include "vm/vmdir.h"

char *records_path(const char *state_dir, const char *name, const char *file)
{
        return file ? xasprintf("%s/" RECORDS_DIR "/%s/%s", state_dir, name, file)
                    : xasprintf("%s/" RECORDS_DIR "/%s", state_dir, name);
}

/* mkdirat + open without following: a directory of root's, or an error. */
static int open_own_dir(int at, const char *shown_parent, const char *name, bool create,
                        struct mv_error **err)
{
        if (create && mkdirat(at, name, 0755) < 0 && errno != EEXIST)
                return mv_error_set(err, errno, "create %s/%s", shown_parent, name);
        int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return mv_error_set(err, errno, "open %s/%s", shown_parent, name);
        struct stat st;
        if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
                close(fd);
                mv_error_fail(err, "%s/%s is not microvm's own directory (owner %u, mode %04o)",
                              shown_parent, name, (unsigned)st.st_uid,
                              (unsigned)(st.st_mode & 07777));
                return mv_error_hint(err, "it must belong to the user running microvm and "
                                          "be writable by nobody else");
        }
        return fd;
}

int records_open(const char *state_dir, const char *name, bool create, struct mv_error **err)
{
        if (!vm_name_valid(name))
                return mv_error_usage(err, "'%s' is not a valid VM name", name);
        _cleanup_close_ int state = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (state < 0)
                return mv_error_set(err, errno, "open %s", state_dir);
        _cleanup_close_ int top = open_own_dir(state, state_dir, RECORDS_DIR, create, err);
        if (top < 0)
                return top;
        _cleanup_free_ char *shown = xasprintf("%s/" RECORDS_DIR, state_dir);
        return open_own_dir(top, shown, name, create, err);
}

bool runner_name_valid(const char *runner, const char *name)
{
        if (runner[0] == '/')
                return store_path_valid(runner);
        size_t i = 0;
        for (; i < 32; i++)
                if (!runner[i] || !strchr("0123456789abcdef", runner[i]))
                        return false;
        return runner[32] == '-' && strcmp(runner + 33, name) == 0;
}

char *runner_path(const char *state_dir, const char *runner)
{
        return runner[0] == '/' ? xstrdup(runner)
                                : xasprintf("%s/" RUNNERS_DIR "/%s", state_dir, runner);
}

#define LINK_PREFIX "../../" RUNNERS_DIR "/"

char *records_runner(const char *state_dir, const char *name, const char *link)
{
        if (!vm_name_valid(name))
                return NULL;
        _cleanup_free_ char *path = records_path(state_dir, name, link);
        char target[512];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return NULL;
        target[n] = '\0';
        if (store_path_valid(target))
                return xstrdup(target);
        if (strncmp(target, LINK_PREFIX, strlen(LINK_PREFIX)) != 0)
                return NULL;
        const char *runner = target + strlen(LINK_PREFIX);
        return runner_name_valid(runner, name) ? xstrdup(runner) : NULL;
}

/* What a link to `runner` holds: a store path as it is, ours relative to `prefix`. */
static char *link_target(const char *prefix, const char *runner)
{
        return runner[0] == '/' ? xstrdup(runner) : xasprintf("%s%s", prefix, runner);
}

/* The same link in STATE/NAME, for people and microvm.nix's tools: never read back. */
static void publish(const char *state_dir, const char *name, const char *link, const char *runner)
{
        struct mv_error *e = NULL;
        _cleanup_close_ int vmdir = vmdir_open(state_dir, name, true, &e);
        _cleanup_free_ char *target = runner ? link_target("../" RUNNERS_DIR "/", runner) : NULL;
        int r = vmdir < 0 ? vmdir : vmdir_publish(vmdir, link, target);
        if (r < 0)
                log_warning("publish %s/%s/%s: %s", state_dir, name, link,
                            e ? e->msg : strerror(-r));
        mv_error_free(&e);
}

int records_set_runner(const char *state_dir, const char *name, const char *link,
                       const char *runner, bool *changed, struct mv_error **err)
{
        _cleanup_close_ int dir = records_open(state_dir, name, true, err);
        if (dir < 0)
                return dir;
        _cleanup_free_ char *old = records_runner(state_dir, name, link);
        bool same = runner ? old && strcmp(old, runner) == 0 : !old;
        if (changed)
                *changed = !same;
        _cleanup_free_ char *path = records_path(state_dir, name, link);
        int r = 0;
        if (same)
                ; /* still publish: STATE/NAME may have been removed or changed */
        else if (runner) {
                _cleanup_free_ char *target = link_target(LINK_PREFIX, runner);
                r = symlink_atomic(target, path, err);
        } else if (unlink(path) < 0 && errno != ENOENT) {
                r = mv_error_set(err, errno, "remove %s", path);
        }
        if (r >= 0)
                publish(state_dir, name, link, runner);
        return r;
}

int records_set_flake(const char *state_dir, const char *name, const char *ref,
                      struct mv_error **err)
{
        _cleanup_close_ int dir = records_open(state_dir, name, true, err);
        if (dir < 0)
                return dir;
        _cleanup_free_ char *path = records_path(state_dir, name, "flake");
        _cleanup_free_ char *text = xasprintf("%s\n", ref);
        int r = write_file_atomic(path, text, strlen(text), 0644, err);
        if (r < 0)
                return r;
        struct mv_error *e = NULL;
        _cleanup_close_ int vmdir = vmdir_open(state_dir, name, true, &e);
        int p = vmdir < 0 ? vmdir : vmdir_publish_file(vmdir, "flake", text);
        if (p < 0)
                log_warning("publish %s/%s/flake: %s", state_dir, name, e ? e->msg : strerror(-p));
        mv_error_free(&e);
        return 0;
}

char *records_flake(const char *state_dir, const char *name)
{
        if (!vm_name_valid(name))
                return NULL;
        _cleanup_close_ int dir = records_open(state_dir, name, false, NULL);
        _cleanup_close_ int fd =
                dir < 0 ? -1 : openat(dir, "flake", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        char *text = NULL;
        if (fd < 0 || read_fd_full(fd, &text, 8192, NULL) < 0)
                return NULL;
        text[strcspn(text, "\n")] = '\0';
        if (!text[0]) {
                free(text);
                return NULL;
        }
        return text;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

char **records_vm_names(const char *state_dir)
{
        _cleanup_free_ char *top = xasprintf("%s/" RECORDS_DIR, state_dir);
        _cleanup_closedir_ DIR *d = opendir(top);
        char **names = NULL;
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (vm_name_valid(de->d_name))
                        strv_push(&names, de->d_name);
        size_t n = strv_length(names);
        if (n)
                qsort(names, n, sizeof(*names), name_cmp);
        return names;
}
