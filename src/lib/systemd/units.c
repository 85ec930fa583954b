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
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/helper-units.h"

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

/*
 * The VM's unit requires, and is ordered after, the helper units of the
 * parts host.nix leaves on, and is told which those are, so that its run
 * only checks their work; the parts switched off are nobody's.
 */
static void helper_relations(struct strbuf *unit, struct strbuf *words, const char *escaped,
                             unsigned off)
{
        for (int h = 0; h < N_HELPERS; h++) {
                if (off & HELPER_BIT(h))
                        continue;
                strbuf_printf(unit, "Requires=%s@%s.service\nAfter=%s@%s.service\n",
                              helper_unit_prefix[h], escaped, helper_unit_prefix[h], escaped);
                strbuf_printf(words, "%s%s", words->len ? " " : "", helper_word[h]);
        }
}

static int vm_dropin(const struct value *root, const char *name, const struct value *vm,
                     char *const *switched_off, const char *out, struct mv_error **err)
{
        _cleanup_free_ char *unit = unit_name_escape(name);
        long long timeout = (long long)vget_int(root, "microvm.host.startupTimeout", 150);
        bool restart = vget_bool(vm, "restartIfChanged", false);
        struct strbuf relations = { 0 }, words = { 0 };
        helper_relations(&relations, &words, unit, helpers_disabled(switched_off, name));
        strbuf_puts(&words, "");
        _cleanup_free_ char *text = xasprintf("# microvm.vms.%s of the host configuration\n"
                                              "[Unit]\n"
                                              "Wants=install-microvm-%s.service\n"
                                              "After=install-microvm-%s.service\n"
                                              "%s"
                                              "\n[Service]\n"
                                              "Environment=\"" HELPER_UNITS_ENV "=%s\"\n"
                                              "TimeoutStartSec=%lld\n"
                                              "X-RestartIfChanged=%s\n",
                                              name, unit, unit, relations.len ? relations.data : "",
                                              words.data, timeout, restart ? "yes" : "no");
        strbuf_free(&relations);
        strbuf_free(&words);
        _cleanup_free_ char *rel = xasprintf("microvm@%s.service.d/50-microvm.conf", unit);
        return put(out, rel, text, err);
}

/* install-microvm-NAME: the declared runner installed before the VM's units, as microvm.nix's. */
static int install_unit(const char *name, const struct unit_paths *p, const char *out,
                        struct mv_error **err)
{
        _cleanup_free_ char *unit = unit_name_escape(name);
        _cleanup_free_ char *env = environment_value("MICROVM_CONFIG", p->config);
        _cleanup_free_ char *text = xasprintf(
                "# Installs microvm.vms.%s of the host configuration\n"
                "[Unit]\n"
                "Description=Install MicroVM '%s'\n"
                "Documentation=man:microvm-units(7)\n"
                "Before=microvm@%s.service microvm-tap-interfaces@%s.service "
                "microvm-macvtap-interfaces@%s.service microvm-pci-devices@%s.service "
                "microvm-virtiofsd@%s.service\n"
                "PartOf=microvm@%s.service\n"
                "\n[Service]\n"
                "Type=oneshot\n"
                "Environment=%s\n"
                "ExecStart=%s/microvm install-declared %s\n"
                "SyslogIdentifier=install-microvm-%s\n",
                name, name, unit, unit, unit, unit, unit, unit, env, p->bindir, name, unit);
        _cleanup_free_ char *rel = xasprintf("install-microvm-%s.service", unit);
        int r = put(out, rel, text, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *want =
                xasprintf("microvms.target.wants/install-microvm-%s.service", unit);
        _cleanup_free_ char *target = xasprintf("../install-microvm-%s.service", unit);
        return link_in(out, want, target, err);
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
        _cleanup_strv_free_ char **off = helpers_switched_off(root);
        for (size_t i = 0; r >= 0 && vms && i < vms->n_attrs; i++) {
                r = vm_dropin(root, vms->attrs[i].key, vms->attrs[i].value, off, out, err);
                if (r >= 0)
                        r = install_unit(vms->attrs[i].key, p, out, err);
        }
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
