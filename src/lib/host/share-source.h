/*
 * A share's source directory, created when it is missing, as microvm.nix's
 * host now does (systemd-tmpfiles `d`, `microvm:kvm` 0775, an existing
 * one left as it is). Root creates directories only where nobody else can
 * swap a path component underneath: below directories that are root's
 * and writable by nobody else, or beneath the VM's directory through its
 * descriptor, never through a symlink.
 */
#pragma once

#include <sys/types.h>

struct mv_error;

/*
 * Make sure directory `source` exists. A relative one is beneath
 * `vmdir_fd` (the VM's directory, shown as `vm_dir`); an absolute one
 * must lie below directories only root can write, or it is an error that
 * says which directory is not. New directories get `uid`:`gid` 0775 for the
 * last component (uid (uid_t)-1: left root's), root's 0755 above it.
 * `tag` is the share's, for messages.
 */
int share_source_ensure(const char *tag, const char *source, int vmdir_fd, const char *vm_dir,
                        uid_t uid, gid_t gid, struct mv_error **err);
