#include "vm/removal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/merge.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/gcroots.h"
#include "vm/records.h"
#include "vm/vmdir.h"

#define DECLARED "declared"

int removal_mark_declared(const char *state_dir, const char *name, struct mv_error **err)
{
        _cleanup_close_ int dir = records_open(state_dir, name, true, err);
        if (dir < 0)
                return dir;
        struct stat st;
        if (fstatat(dir, DECLARED, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
                return 0;
        _cleanup_free_ char *path = records_path(state_dir, name, DECLARED);
        return write_file_atomic(path, "", 0, 0644, err);
}

/* Marked, or installed by an apply from before the mark: only those had a toplevel. */
static bool declared(const char *state_dir, const char *name)
{
        _cleanup_close_ int dir = records_open(state_dir, name, false, NULL);
        struct stat st;
        if (dir >= 0 && fstatat(dir, DECLARED, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode))
                return true;
        _cleanup_free_ char *toplevel =
                dir < 0 ? NULL : records_runner(state_dir, name, "toplevel");
        return toplevel != NULL;
}

char **removal_candidates(const char *state_dir, const struct value *vms)
{
        _cleanup_strv_free_ char **names = records_vm_names(state_dir);
        char **out = NULL;
        for (size_t i = 0; names && names[i]; i++) {
                bool configured = false;
                for (size_t k = 0; vms && k < vms->n_attrs && !configured; k++)
                        configured = strcmp(vms->attrs[k].key, names[i]) == 0;
                if (!configured && declared(state_dir, names[i]))
                        strv_push(&out, names[i]);
        }
        return out;
}

/* Rename `name` in directory `dirfd` to removal debris, then delete it. */
static int remove_aside(int dirfd, const char *shown_dir, const char *name, struct mv_error **err)
{
        char aside[256];
        for (int attempt = 0;; attempt++) {
                uint64_t r = 0;
                (void)!getrandom(&r, sizeof(r), 0);
                snprintf(aside, sizeof(aside), REMOVED_PREFIX "%s.%016llx", name,
                         (unsigned long long)r);
                if (renameat2(dirfd, name, dirfd, aside, RENAME_NOREPLACE) == 0)
                        break;
                if (errno == ENOENT)
                        return 0;
                if (errno != EEXIST || attempt >= 16)
                        return mv_error_set(err, errno, "move %s/%s out of the way", shown_dir,
                                            name);
        }
        fault_point("state", "removal: moved aside");
        _cleanup_free_ char *path = xasprintf("%s/%s", shown_dir, aside);
        int r = remove_tree(path);
        if (r < 0)
                return mv_error_set(err, -r, "remove %s", path);
        return 0;
}

static int open_dir(const char *path, struct mv_error **err)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? mv_error_set(err, errno, "open %s", path) : fd;
}

int removal_forget(const char *state_dir, const char *name, bool prune, struct mv_error **err)
{
        /* A device still bound for it would be lost track of with its record. */
        _cleanup_free_ char *pci = records_path(state_dir, name, "pci-devices");
        if (access(pci, F_OK) == 0) {
                mv_error_fail(err, "vm %s still holds PCI devices (%s)", name, pci);
                return mv_error_hint(err,
                                     "run 'microvm stop %s' to give them back, then apply "
                                     "again",
                                     name);
        }
        _cleanup_close_ int state = open_dir(state_dir, err);
        if (state < 0)
                return state;
        int r = 0;
        if (prune) {
                r = remove_aside(state, state_dir, name, err);
        } else {
                /* Only the links published for people; STATE/NAME is the VM's user's. */
                static const char *const published[] = { "current", "booted", "toplevel", "flake" };
                _cleanup_close_ int vmdir = vmdir_open(state_dir, name, false, NULL);
                for (size_t i = 0; vmdir >= 0 && i < ELEMENTSOF(published); i++)
                        (void)vmdir_publish(vmdir, published[i], NULL);
        }
        if (r >= 0)
                r = gcroots_remove(state_dir, name, err);
        _cleanup_free_ char *records = xasprintf("%s/" RECORDS_DIR, state_dir);
        _cleanup_close_ int host = r < 0 ? -1 : open_dir(records, err);
        if (r >= 0)
                r = host < 0 ? host : remove_aside(host, records, name, err);
        if (r < 0)
                return mv_error_wrap(err, "remove vm %s", name);
        return 0;
}

static int clean_in(const char *dir, size_t *removed, struct mv_error **err)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : mv_error_set(err, errno, "open %s", dir);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, REMOVED_PREFIX, strlen(REMOVED_PREFIX)) != 0)
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
                int r = remove_tree(path);
                if (r < 0)
                        return mv_error_set(err, -r, "remove %s", path);
                (*removed)++;
        }
        return 0;
}

int removal_clean_debris(const char *state_dir, size_t *removed, struct mv_error **err)
{
        *removed = 0;
        _cleanup_free_ char *records = xasprintf("%s/" RECORDS_DIR, state_dir);
        int r = clean_in(state_dir, removed, err);
        return r < 0 ? r : clean_in(records, removed, err);
}
