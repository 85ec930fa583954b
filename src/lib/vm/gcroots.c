#include "vm/gcroots.h"

#include <errno.h>
#include <sys/stat.h>

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
