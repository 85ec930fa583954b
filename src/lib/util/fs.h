/* Directory helpers for the state directory: no shell, no `rm -rf`. */
#pragma once

#include <sys/types.h>

struct mv_error;

/* Create `path` and missing parents with `mode`; an existing directory is fine. */
int mkdir_p(const char *path, mode_t mode, struct mv_error **err);

/* A new empty directory PARENT/.#BASE.XXXXXX (recognisable debris if we crash). malloc'd. */
char *make_temp_dir(const char *parent, const char *base, struct mv_error **err);

/* fsync a directory, making renames and creations in it durable. */
int fsync_dir(const char *path, struct mv_error **err);

/* Remove a tree without following symlinks. Returns 0, or -errno of the first failure. */
int remove_tree(const char *path);
