/*
 * Opening files in a directory someone else can write (the hypervisor's
 * working directory belongs to microvm:kvm): relative to a directory fd,
 * never through a symlink, never above the directory. openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel has it; elsewhere
 * a walk of one O_NOFOLLOW openat() per component. Whatever root then does
 * to the file (chown, chmod, write) it does to the fd it opened, never
 * again by path.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/*
 * openat(dirfd, path, flags, mode) confined to dirfd: `path` must be
 * relative, without "..", and no component (the last included) may be a
 * symlink. Returns the fd or -errno (ELOOP for a symlink, EXDEV or EINVAL
 * for a path that leaves the directory). With O_PATH a final symlink is
 * opened itself, as O_PATH | O_NOFOLLOW does: check the type with fstat().
 */
int open_beneath(int dirfd, const char *path, int flags, mode_t mode);

/*
 * The directory holding `path` opened beneath dirfd (O_PATH), and in
 * `*base` the last component (pointing into `path`). For unlinkat() and
 * the like, which act on a name in a directory.
 */
int open_parent_beneath(int dirfd, const char *path, const char **base);

/* Tests: take the component walk even where openat2() exists. */
void beneath_force_walk(bool on);
