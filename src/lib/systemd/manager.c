#include "systemd/manager.h"

#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "systemd/units.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/helper-units.h"

#define SYSTEMCTL_TIMEOUT_MS (10 * 60 * 1000) /* a start or stop has its unit's own timeouts */

/* Where systemd finds microvm@.service, or NULL. */
static const char *template_dir(void)
{
        static const char *const dirs[] = { "/etc/systemd/system", MICROVM_UNIT_DIR,
                                            "/usr/local/lib/systemd/system",
                                            "/usr/lib/systemd/system", "/lib/systemd/system" };
        struct stat st;
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                _cleanup_free_ char *path = xasprintf("%s/microvm@.service", dirs[i]);
                if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                        return dirs[i];
        }
        return NULL;
}

bool systemd_units_available(void)
{
        struct stat st;
        if (stat("/run/systemd/system", &st) < 0 || !S_ISDIR(st.st_mode))
                return false;
        return template_dir() != NULL;
}

char *systemd_missing_helper_template(void)
{
        const char *dir = template_dir();
        for (int h = 0; dir && h < N_HELPERS; h++) {
                _cleanup_free_ char *path = xasprintf("%s/%s@.service", dir, helper_unit_prefix[h]);
                struct stat st;
                if (stat(path, &st) < 0)
                        return xasprintf("%s@.service", helper_unit_prefix[h]);
        }
        return NULL;
}

char *systemd_vm_unit(const char *name)
{
        _cleanup_free_ char *escaped = unit_name_escape(name);
        return xasprintf("microvm@%s.service", escaped);
}

int systemd_ctl(const char *const *args, const char *unit, struct mv_error **err)
{
        _cleanup_free_ char *systemctl = NULL;
        int r = find_program("systemctl", &systemctl, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **argv = NULL;
        strv_push(&argv, systemctl);
        for (size_t i = 0; args[i]; i++)
                strv_push(&argv, args[i]);
        int status;
        _cleanup_free_ char *out = NULL;
        r = spawn_collect_timeout(argv, SYSTEMCTL_TIMEOUT_MS, &status, &out, err);
        if (r < 0)
                return r;
        if (status == 0)
                return 0;
        _cleanup_free_ char *shown = strv_join(argv + 1, " ");
        out[strcspn(out, "\n")] = '\0';
        int e = mv_error_fail(err, "systemctl %s failed (status %d)%s%s", shown, status,
                              *out ? ": " : "", out);
        return unit ? mv_error_hint(err, "see 'journalctl -u %s' and 'systemctl status %s'", unit,
                                    unit)
                    : e;
}
