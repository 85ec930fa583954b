#include "systemd/units.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/merge.h"
#include "config/value-get.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/io.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

char *unit_name_escape(const char *s)
{
        struct strbuf b = { 0 };
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char)*p;
                bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == ':' || c == '_' ||
                            (c == '.' && p != s) || c == '-';
                if (keep)
                        strbuf_putc(&b, (char)c);
                else
                        strbuf_printf(&b, "\\x%02x", c);
        }
        return strbuf_take(&b);
}

/* A value for Environment="...": quoted, with systemd's escapes; NULL if it cannot be. */
static char *environment_value(const char *name, const char *value)
{
        struct strbuf b = { 0 };
        strbuf_printf(&b, "\"%s=", name);
        for (const char *p = value; *p; p++) {
                if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                        strbuf_free(&b);
                        return NULL;
                }
                if (*p == '"' || *p == '\\')
                        strbuf_putc(&b, '\\');
                if (*p == '%')
                        strbuf_putc(&b, '%'); /* a specifier otherwise */
                strbuf_putc(&b, *p);
        }
        strbuf_putc(&b, '"');
        return strbuf_take(&b);
}

/*
 * Generators write into a tmpfs that systemd empties before each run:
 * nothing to sync, nothing to keep atomic (a thousand VMs' worth of fsync
 * made a daemon-reload take seconds).
 */
static int make_parent(const char *path, struct mv_error **err)
{
        _cleanup_free_ char *parent = xstrdup(path);
        *strrchr(parent, '/') = '\0';
        return mkdir_p(parent, 0755, err);
}

static int put(const char *dir, const char *rel, const char *text, struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, rel);
        int r = make_parent(path, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd =
                open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return mv_error_set(err, errno, "create %s", path);
        r = write_all(fd, text, strlen(text));
        return r < 0 ? mv_error_set(err, -r, "write %s", path) : 0;
}

static int link_in(const char *dir, const char *rel, const char *target, struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, rel);
        int r = make_parent(path, err);
        if (r < 0)
                return r;
        if (unlink(path) < 0 && errno != ENOENT)
                return mv_error_set(err, errno, "replace %s", path);
        return symlink(target, path) < 0 ? mv_error_set(err, errno, "create %s", path) : 0;
}

static int vm_dropin(const struct value *root, const char *name, const struct value *vm,
                     const char *out, struct mv_error **err)
{
        _cleanup_free_ char *unit = unit_name_escape(name);
        long long timeout = (long long)vget_int(root, "microvm.host.startupTimeout", 150);
        bool restart = vget_bool(vm, "restartIfChanged", false);
        _cleanup_free_ char *text = xasprintf("# microvm.vms.%s of the host configuration\n"
                                              "[Service]\n"
                                              "TimeoutStartSec=%lld\n"
                                              "X-RestartIfChanged=%s\n",
                                              name, timeout, restart ? "yes" : "no");
        _cleanup_free_ char *rel = xasprintf("microvm@%s.service.d/50-microvm.conf", unit);
        return put(out, rel, text, err);
}

int units_generate(const struct value *root, const struct unit_paths *p, const char *out,
                   struct mv_error **err)
{
        _cleanup_free_ char *env = environment_value("MICROVM_CONFIG", p->config);
        if (!env)
                return mv_error_fail(err, "the configuration path %s cannot be given to units",
                                     p->config);
        _cleanup_free_ char *config = xasprintf("# The host configuration the VMs' units read\n"
                                                "[Service]\n"
                                                "Environment=%s\n",
                                                env);
        int r = put(out, "microvm@.service.d/50-config.conf", config, err);
        if (r >= 0)
                r = put(out, "microvms.target",
                        "# The autostart VMs of the host configuration (microvm.autostart)\n"
                        "[Unit]\n"
                        "Description=MicroVMs\n"
                        "Documentation=man:microvm-generator(8)\n",
                        err);
        if (r >= 0)
                r = link_in(out, "multi-user.target.wants/microvms.target", "../microvms.target",
                            err);
        const struct value *vms = vget_attrs(root, "microvm.vms");
        for (size_t i = 0; r >= 0 && vms && i < vms->n_attrs; i++)
                r = vm_dropin(root, vms->attrs[i].key, vms->attrs[i].value, out, err);
        _cleanup_free_ char *tmpl = xasprintf("%s/microvm@.service", p->unit_dir);
        const struct value *list = vget_list(root, "microvm.autostart");
        for (size_t i = 0; r >= 0 && list && i < list->n_items; i++) {
                _cleanup_free_ char *unit = unit_name_escape(list->items[i]->str);
                _cleanup_free_ char *rel =
                        xasprintf("microvms.target.wants/microvm@%s.service", unit);
                r = link_in(out, rel, tmpl, err);
        }
        return r;
}
