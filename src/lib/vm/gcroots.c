#include "vm/gcroots.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "vm/records.h"

int gcroots_add(const char *state_dir, const char *name, struct mv_error **err)
{
        struct stat st;
        if (stat(NIX_GCROOTS_DIR, &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        const char *dir = NIX_GCROOTS_DIR "/microvm";
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return mv_error_set(err, errno, "create %s", dir);
        static const char *const links[][2] = { { "current", "" }, { "booted", "booted-" } };
        for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
                _cleanup_free_ char *target = records_path(state_dir, name, links[i][0]);
                _cleanup_free_ char *root = xasprintf("%s/%s%s", dir, links[i][1], name);
                int r = symlink_atomic(target, root, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int gcroots_remove(const char *state_dir, const char *name, struct mv_error **err)
{
        static const char *const links[][2] = { { "current", "" }, { "booted", "booted-" } };
        for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
                _cleanup_free_ char *target = records_path(state_dir, name, links[i][0]);
                _cleanup_free_ char *root =
                        xasprintf(NIX_GCROOTS_DIR "/microvm/%s%s", links[i][1], name);
                char old[PATH_MAX];
                ssize_t n = readlink(root, old, sizeof(old) - 1);
                /* Another state directory's VM of the same name keeps its roots. */
                if (n < 0 || (size_t)n != strlen(target) || memcmp(old, target, (size_t)n) != 0)
                        continue;
                if (unlink(root) < 0 && errno != ENOENT)
                        return mv_error_set(err, errno, "remove %s", root);
        }
        return 0;
}
