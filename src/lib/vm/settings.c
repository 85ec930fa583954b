#include "vm/settings.h"

#include <string.h>

#include "config/json-read.h"
#include "config/json-write.h"
#include "config/merge.h"
#include "config/value-get.h"
#include "systemd/manager.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/helper-units.h"

static int clamp_int(int64_t v, int lo, int hi)
{
        return v < lo ? lo : v > hi ? hi : (int)v;
}

void host_settings_from_config(const struct value *host, struct host_settings *s)
{
        const char *script = vget_str(host, "microvm.host.tapScript");
        *s = (struct host_settings){
                .state_dir = xstrdup(vget_str(host, "microvm.stateDir")),
                .tap_script = script ? xstrdup(script) : NULL,
                .helpers_off = helpers_switched_off(host),
                .use_notify_sockets = vget_bool(host, "microvm.host.useNotifySockets", false),
                .startup_timeout_s =
                        clamp_int(vget_int(host, "microvm.host.startupTimeout", 150), 1, 86400),
                .restart_delay_s = clamp_int(vget_int(host, "microvm.host.restartDelay", 5), 0,
                                             MAX_RESTART_DELAY_S),
                .stop_timeout_s = DEFAULT_STOP_TIMEOUT,
                .systemd_units = vget_bool(host, "microvm.host.systemdUnits", true) &&
                                 systemd_units_available(),
        };
        struct strbuf b = { 0 };
        json_write_value(&b, value_lookup(host, "microvm.virtiofsd"), false);
        s->virtiofsd_json = strbuf_take(&b);
}

char *host_settings_to_json(const struct host_settings *s)
{
        struct strbuf b = { 0 };
        strbuf_puts(&b, "{\"stateDir\":");
        json_write_string(&b, s->state_dir, strlen(s->state_dir));
        strbuf_puts(&b, ",\"tapScript\":");
        if (s->tap_script)
                json_write_string(&b, s->tap_script, strlen(s->tap_script));
        else
                strbuf_puts(&b, "null");
        strbuf_puts(&b, ",\"helpersOff\":[");
        for (size_t i = 0; s->helpers_off && s->helpers_off[i]; i++) {
                if (i)
                        strbuf_putc(&b, ',');
                json_write_string(&b, s->helpers_off[i], strlen(s->helpers_off[i]));
        }
        strbuf_printf(&b,
                      "],\"useNotifySockets\":%s,\"startupTimeout\":%d,"
                      "\"restartDelay\":%d,\"stopTimeout\":%d",
                      s->use_notify_sockets ? "true" : "false", s->startup_timeout_s,
                      s->restart_delay_s, s->stop_timeout_s);
        strbuf_puts(&b, ",\"virtiofsd\":");
        strbuf_puts(&b, s->virtiofsd_json ? s->virtiofsd_json : "null");
        strbuf_putc(&b, '}');
        return strbuf_take(&b);
}

int host_settings_from_json(const char *json, struct host_settings *s, struct mv_error **err)
{
        struct source_set set = { 0 };
        _cleanup_value_ struct value *v = NULL;
        struct source *src = source_add_text(&set, "(host settings)", json);
        int r = json_parse(src, &v, err);
        if (r >= 0 && (v->type != VALUE_ATTRS || !vget_str(v, "stateDir")))
                r = mv_error_fail(err, "host settings without a state directory");
        if (r >= 0) {
                const char *script = vget_str(v, "tapScript");
                *s = (struct host_settings){
                        .state_dir = xstrdup(vget_str(v, "stateDir")),
                        .tap_script = script ? xstrdup(script) : NULL,
                        .use_notify_sockets = vget_bool(v, "useNotifySockets", false),
                        .startup_timeout_s =
                                clamp_int(vget_int(v, "startupTimeout", 150), 1, 86400),
                        .restart_delay_s =
                                clamp_int(vget_int(v, "restartDelay", 5), 0, MAX_RESTART_DELAY_S),
                        .stop_timeout_s = clamp_int(vget_int(v, "stopTimeout", 150), 0, 86400),
                };
                const struct value *off = vget_list(v, "helpersOff");
                for (size_t i = 0; off && i < off->n_items; i++)
                        if (off->items[i]->type == VALUE_STRING)
                                strv_push(&s->helpers_off, off->items[i]->str);
                const struct value *vfs = value_lookup(v, "virtiofsd");
                if (vfs && vfs->type == VALUE_ATTRS) {
                        struct strbuf b = { 0 };
                        json_write_value(&b, vfs, false);
                        s->virtiofsd_json = strbuf_take(&b);
                }
        }
        source_set_free(&set);
        return r;
}

unsigned host_helpers_disabled(const struct host_settings *s, const char *name)
{
        return helpers_disabled(s->helpers_off, name);
}

void host_settings_done(struct host_settings *s)
{
        strv_free(s->helpers_off);
        free(s->state_dir);
        free(s->tap_script);
        free(s->virtiofsd_json);
        memset(s, 0, sizeof(*s));
}
