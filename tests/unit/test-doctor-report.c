#include "test-helpers.h"

#include "host/doctor.h"
#include "util/xalloc.h"

static void sample(struct doctor_report *r)
{
        doctor_add(r, "tun", DOCTOR_OK, xstrdup("/dev/net/tun opens"), NULL);
        doctor_add(r, "vhost-vsock", DOCTOR_WARNING, xstrdup("missing \"here\"\n"),
                   xstrdup("modprobe vhost_vsock"));
        doctor_add(r, "alioth", DOCTOR_INFO, xstrdup("not found"), NULL);
}

static void text_lines_and_summary(void **state)
{
        (void)state;
        struct doctor_report r = { 0 };
        sample(&r);
        struct strbuf b = { 0 };
        doctor_write_text(&b, &r, false);
        assert_string_equal(b.data, "ok       tun: /dev/net/tun opens\n"
                                    "warning  vhost-vsock: missing \"here\"\n\n"
                                    "         hint: modprobe vhost_vsock\n"
                                    "info     alioth: not found\n"
                                    "3 checks: 1 ok, 1 info, 1 warning, 0 errors\n");
        strbuf_free(&b);
        doctor_write_text(&b, &r, true);
        assert_non_null(strstr(b.data, "\033[0;32mok\033[0m       tun"));
        strbuf_free(&b);
        doctor_report_free(&r);
}

static void json_array_of_findings(void **state)
{
        (void)state;
        struct doctor_report r = { 0 };
        struct strbuf b = { 0 };
        doctor_write_json(&b, &r);
        assert_string_equal(b.data, "[]\n");
        strbuf_free(&b);
        sample(&r);
        doctor_write_json(&b, &r);
        assert_string_equal(
                b.data,
                "[\n"
                "  {\"check\": \"tun\", \"status\": \"ok\", \"detail\": \"/dev/net/tun opens\", "
                "\"hint\": null},\n"
                "  {\"check\": \"vhost-vsock\", \"status\": \"warning\", \"detail\": \"missing "
                "\\\"here\\\"\\n\", \"hint\": \"modprobe vhost_vsock\"},\n"
                "  {\"check\": \"alioth\", \"status\": \"info\", \"detail\": \"not found\", "
                "\"hint\": null}\n"
                "]\n");
        strbuf_free(&b);
        doctor_report_free(&r);
}

static void counts_and_names(void **state)
{
        (void)state;
        struct doctor_report r = { 0 };
        sample(&r);
        doctor_add(&r, "kvm", DOCTOR_ERROR, xstrdup("x"), NULL);
        assert_int_equal(doctor_count(&r, DOCTOR_OK), 1);
        assert_int_equal(doctor_count(&r, DOCTOR_ERROR), 1);
        assert_string_equal(doctor_status_to_string(DOCTOR_ERROR), "error");
        assert_string_equal(doctor_status_to_string(DOCTOR_INFO), "info");
        doctor_report_free(&r);
        assert_int_equal(r.n, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(text_lines_and_summary),
                cmocka_unit_test(json_array_of_findings),
                cmocka_unit_test(counts_and_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
