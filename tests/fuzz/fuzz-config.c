/*
 * libFuzzer harness for the configuration reader: bytes in, through the
 * Nix reader (or the JSON reader when built with -DFUZZ_JSON), then the
 * whole evaluation: merge against the host schema, defaults, checks, and
 * the JSON writer over the result (strings may hold any bytes).
 * Errors are expected; crashes, leaks and sanitizer reports are not.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/host-config.h"
#include "config/json-read.h"
#include "config/json-write.h"
#include "config/parser.h"
#include "util/error.h"
#include "util/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* Sources are text: a NUL ends it, as a file with one would be refused. */
        char *text = xstrndup((const char *)data, size);
        struct source_set set = { 0 };
        struct merge_ctx ctx = { .sources = &set, .no_imports = true };
        struct mv_error *err = NULL;
        struct value *module = NULL, *root = NULL;

#ifdef FUZZ_JSON
        struct source *src = source_add_text(&set, "/fuzz/host.json", text);
        int r = json_parse(src, &module, &err);
#else
        struct source *src = source_add_text(&set, "/fuzz/host.nix", text);
        int r = nix_parse(src, &module, &err);
#endif
        if (r >= 0 && host_config_eval(&ctx, module, &root, &err) >= 0 && !root)
                abort(); /* success must produce a value */
        if (r < 0 && !err)
                abort(); /* failure must say why */
        if (root) {
                struct strbuf json = { 0 };
                json_write_value(&json, root, false);
                strbuf_free(&json);
        }

        value_free(root);
        value_free(module);
        mv_error_free(&err);
        merge_ctx_free(&ctx);
        free(text);
        return 0;
}
