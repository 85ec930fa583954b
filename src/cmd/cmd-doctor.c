/* doctor: whether this host can run VMs, and what to do where it cannot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "config.h"
#include "config/host-config.h"
#include "host/doctor.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

/*
 * The configuration is one more finding: doctor is for hosts that are not
 * set up yet, so a missing or broken one is reported and the checks go on
 * with the defaults. Only a file named on purpose has to exist.
 */
static void load_config(const char *path, struct host_config *cfg, struct doctor_report *r)
{
        bool named = strcmp(path, MICROVM_DEFAULT_CONFIG) != 0;
        _cleanup_error_ struct mv_error *err = NULL;
        int ret = host_config_load(path, cfg, &err);
        if (ret >= 0) {
                doctor_add(r, "configuration", DOCTOR_OK, xasprintf("%s", path), NULL);
                return;
        }
        if (ret == -ENOENT && !named)
                doctor_add(r, "configuration", DOCTOR_INFO,
                           xasprintf("%s does not exist: checking against the defaults", path),
                           NULL);
        else
                doctor_add(r, "configuration", DOCTOR_ERROR, xstrdup(err->msg),
                           err->hint ? xstrdup(err->hint) : NULL);
        mv_error_free(&err);
        if (host_config_defaults(cfg, &err) < 0)
                abort(); /* the defaults are built in: they always evaluate */
}

int cmd_doctor(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        bool json = false;
        int first = cli_parse_json_flag("doctor", argc, argv, &json, err);
        if (first < 0)
                return first;
        if (first != argc)
                return mv_error_usage(err, "doctor takes no arguments");

        struct doctor_report report = { 0 };
        struct host_config cfg;
        load_config(host_config_path(ctx->config_path), &cfg, &report);
        doctor_run(cfg.root, &report);
        host_config_free(&cfg);

        struct strbuf b = { 0 };
        if (json)
                doctor_write_json(&b, &report);
        else
                doctor_write_text(&b, &report, log_use_color(stdout));
        fputs(b.data, stdout);
        fflush(stdout);
        strbuf_free(&b);
        size_t errors = doctor_count(&report, DOCTOR_ERROR);
        doctor_report_free(&report);
        if (errors)
                return mv_error_fail(err, "%zu check%s failed", errors, errors == 1 ? "" : "s");
        return 0;
}
