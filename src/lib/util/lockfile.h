/*
 * Whole-file locks that say whether a process is alive: an open file
 * description lock (F_OFD_SETLK) is released by the kernel the moment its
 * holder exits, zombie or not, and another process can ask whether it is
 * held (F_OFD_GETLK) without taking it, so asking never makes the holder's
 * own attempt fail. A pid file can name a recycled pid; a lock cannot.
 */
#pragma once

#include <stdbool.h>

struct mv_error;

/*
 * Open (creating it 0644, never through a symlink) `name` in directory
 * `dirfd` and take a write lock on it; `wait` blocks until it is free.
 * Returns the fd that holds the lock, -EWOULDBLOCK when it is held and
 * not waited for, or another -errno with `err` set.
 */
int lockfile_take(int dirfd, const char *name, bool wait, struct mv_error **err);

/* 1 when some process holds the lock on `name` in `dirfd`, 0 when none does (or no file). */
int lockfile_held(int dirfd, const char *name);
