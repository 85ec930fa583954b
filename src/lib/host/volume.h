/* Volume images: created sparse and formatted, as microvm.nix's runner does before a start. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct mv_error;
struct spawn_credentials;
struct child_waiter;

/*
 * Create `name` in directory `dirfd` (a new file: never an existing one,
 * never through a symlink) as a sparse file of `size_mib` MiB, marked
 * no-copy-on-write where the filesystem knows it, give it to uid:gid
 * ((uid_t)-1: keep), then run `mkfs` (an argv whose last word names the
 * image, `shown`) as `creds` (NULL: the caller), waited for through `w`
 * (NULL: blocking): as the VM's user, mkfs can write nothing that user
 * could not, whatever the image's path has become by then. On any failure
 * the image is removed again.
 */
int volume_create(int dirfd, const char *name, const char *shown, int64_t size_mib,
                  char *const *mkfs, uid_t uid, gid_t gid, const struct spawn_credentials *creds,
                  struct child_waiter *w, struct mv_error **err);
