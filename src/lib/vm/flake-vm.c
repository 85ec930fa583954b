#include "vm/flake-vm.h"

#include "nix/nix.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "vm/foreign.h"
#include "vm/gcroots.h"
#include "vm/records.h"
#include "vm/store-path.h"

int flake_vm_install(const char *state_dir, const char *name, const char *build_ref,
                     const char *record_ref, char **runner, bool *changed, struct mv_error **err)
{
        _cleanup_free_ char *built = NULL;
        bool moved = false;
        int r = flake_ref_check(build_ref, false, err);
        if (r >= 0)
                r = nix_build_runner(build_ref, name, &built, err);
        if (r >= 0)
                r = store_path_trusted(built, err);
        if (r >= 0)
                r = runner_check_usable(built, err);
        /* The current record moves last: any failure before leaves the VM as it was. */
        if (r >= 0)
                r = gcroots_add(state_dir, name, err);
        if (r >= 0)
                r = records_set_flake(state_dir, name, record_ref, err);
        if (r >= 0)
                r = records_set_runner(state_dir, name, "current", built, &moved, err);
        if (r < 0)
                return mv_error_wrap(err, "vm %s", name);
        if (changed)
                *changed = moved;
        if (runner)
                *runner = TAKE_PTR(built);
        return 0;
}
