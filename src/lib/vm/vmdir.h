/*
 * STATE/NAME, the hypervisor's working directory: where microvm.nix's
 * runners keep the control socket, relative volume images and virtiofs
 * sockets. The hypervisor creates files there, so, as in microvm.nix, it
 * belongs to microvm:kvm (when root runs microvm and they exist). Root
 * therefore treats it as the VM user's ground: every file it touches there
 * is opened beneath a directory fd without following symlinks
 * (util/beneath.h), and owners and modes are set on what was opened.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct mv_error;

/* The owner of VM directories, taps and created volumes: microvm:kvm when root and they exist. */
bool vm_owner_ids(uid_t *uid, gid_t *gid);

/*
 * Open STATE/NAME (creating it when `create`), refusing a symlink or
 * anything but a directory, and give it to the VM owner. Returns the fd.
 */
int vmdir_open(const char *state_dir, const char *name, bool create, struct mv_error **err);

/* Publish link `link` -> `target` in the VM directory (NULL: remove it). -errno on failure. */
int vmdir_publish(int dirfd, const char *link, const char *target);

/*
 * A file the plan names, as root may touch it: the directory holding it and
 * its last component. A path inside the VM directory (relative, or absolute
 * under it) is resolved beneath the VM directory's fd; one elsewhere is the
 * administrator's path, whose parent is opened as given.
 */
/* Write file `name` in the VM's directory (replacing whatever is there) with `text`; -errno. */
int vmdir_publish_file(int dirfd, const char *name, const char *text);

struct vm_place {
        int dirfd;
        const char *base; /* into `path` */
        const char *path; /* as given, for messages */
};

int vm_place_open(int vmdir_fd, const char *vm_dir, const char *path, struct vm_place *p,
                  struct mv_error **err);
void vm_place_close(struct vm_place *p);

/* Remove a stale unix socket; anything else there is left alone. */
void vm_place_remove_socket(const struct vm_place *p);

/*
 * Set owner (-1: keep) and mode of the socket root's helper (virtiofsd, the
 * notify listener) bound there: only when it is a socket root owns.
 */
int vm_place_share_socket(const struct vm_place *p, uid_t uid, gid_t gid, mode_t mode,
                          struct mv_error **err);

/*
 * Bind and listen on a unix socket there for root's helpers (virtiofsd, the
 * notify listener), replacing a stale socket, through the directory's
 * descriptor so no symlink can redirect it; then give it uid:gid with
 * `mode`. Returns the listening fd.
 */
int vm_place_listen(const struct vm_place *p, uid_t uid, gid_t gid, mode_t mode,
                    struct mv_error **err);

/*
 * Create a new file (never an existing one, never through a symlink),
 * give it to uid:gid (-1: keep) and return its fd.
 */
int vm_place_create(const struct vm_place *p, mode_t mode, uid_t uid, gid_t gid,
                    struct mv_error **err);

/* Whether something exists there (not following a final symlink). */
bool vm_place_exists(const struct vm_place *p);
