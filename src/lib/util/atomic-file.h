/*
 * Crash-safe updates of the state directory: a reader sees either the old
 * or the new file or link, never a partial one. Temporary names start with
 * ".#" so a crash leaves only recognisable debris that gc may remove.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct mv_error;

/* Write `len` bytes to `path` via a temporary file: write, fsync, rename, fsync the directory. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                      struct mv_error **err);

/*
 * The same without the fsyncs, for records of a live process (pid, ready,
 * restarts): still never partial, but a reboot, which ends the process,
 * may also take the last update. A stop of 200 VMs at once no longer
 * queues 400 journal commits.
 */
int write_live_record(const char *path, const void *data, size_t len, mode_t mode,
                      struct mv_error **err);

/* Point `linkpath` at `target`, replacing any existing link in one rename(). */
int symlink_atomic(const char *target, const char *linkpath, struct mv_error **err);

/* Read a whole file into a NUL-terminated buffer; `len` (optional) gets its size. */
int read_file_full(const char *path, char **contents, size_t *len, struct mv_error **err);

/* True when `name` is one of the temporaries the functions above create. */
int is_atomic_temp_name(const char *name);
