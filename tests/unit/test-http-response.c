#include "test-helpers.h"

#include "host/http-response.h"

static enum http_parse_result parse(const char *text, bool at_eof, struct http_response *out)
{
        return http_response_parse(text, strlen(text), at_eof, out);
}

static void body_by_content_length(void **state)
{
        (void)state;
        struct http_response r;
        const char *text = "HTTP/1.1 200 OK\r\nServer: Firecracker API\r\n"
                           "content-length:  9 \r\n\r\n{\"x\": 1}\nEXTRA";
        assert_int_equal(parse(text, false, &r), HTTP_COMPLETE);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_length, 9);
        assert_memory_equal(text + r.body_offset, "{\"x\": 1}\n", 9);
}

static void every_prefix_is_incomplete(void **state)
{
        (void)state;
        const char *text = "HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nwrong";
        struct http_response r;
        for (size_t n = 0; n < strlen(text); n++)
                assert_int_equal(http_response_parse(text, n, false, &r), HTTP_INCOMPLETE);
        assert_int_equal(parse(text, false, &r), HTTP_COMPLETE);
        assert_int_equal(r.status, 400);
}

static void no_content_and_bare_newlines(void **state)
{
        (void)state;
        struct http_response r;
        assert_int_equal(parse("HTTP/1.1 204 No Content\n\n", false, &r), HTTP_COMPLETE);
        assert_int_equal(r.status, 204);
        assert_int_equal(r.body_length, 0);
        assert_int_equal(parse("HTTP/1.0 204\r\n\r\n", false, &r), HTTP_COMPLETE);
}

static void body_until_close_without_length(void **state)
{
        (void)state;
        struct http_response r;
        const char *text = "HTTP/1.1 500 Internal Server Error\r\n\r\nboom";
        assert_int_equal(parse(text, false, &r), HTTP_INCOMPLETE);
        assert_int_equal(parse(text, true, &r), HTTP_COMPLETE);
        assert_int_equal(r.status, 500);
        assert_int_equal(r.body_length, 4);
}

static void interim_answers_are_skipped(void **state)
{
        (void)state;
        struct http_response r;
        const char *text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        assert_int_equal(parse(text, false, &r), HTTP_COMPLETE);
        assert_int_equal(r.status, 204);
        assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\n", false, &r), HTTP_INCOMPLETE);
}

static void closed_early_is_an_error(void **state)
{
        (void)state;
        struct http_response r;
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true, &r),
                         HTTP_MALFORMED);
        assert_non_null(strstr(r.error, "closed before"));
        assert_int_equal(parse("", true, &r), HTTP_MALFORMED);
}

static void refuses_what_it_cannot_read(void **state)
{
        (void)state;
        static const struct {
                const char *text, *why;
        } cases[] = {
                { "SSH-2.0-OpenSSH\r\n\r\n", "status line" },
                { "HTTP/2 200\r\n\r\n", "status line" },
                { "HTTP/1.1 20 OK\r\n\r\n", "status line" },
                { "HTTP/1.1 200OK\r\n\r\n", "status line" },
                { "HTTP/1.1 999 Odd\r\n\r\n", "status line" },
                { "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "without a name" },
                { "HTTP/1.1 200 OK\r\n: x\r\n\r\n", "without a name" },
                { "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "header name" },
                { "HTTP/1.1 200 OK\r\nA: b\r\n continued\r\n\r\n", "folded" },
                { "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "not a number" },
                { "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "empty" },
                { "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                  "too large" },
                { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                  "two different" },
                { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct http_response r;
                assert_int_equal(parse(cases[i].text, false, &r), HTTP_MALFORMED);
                if (!strstr(r.error, cases[i].why))
                        fail_msg("case %zu: %s", i, r.error);
        }
}

static void oversized_head_and_body_are_refused(void **state)
{
        (void)state;
        struct http_response r;
        size_t n = HTTP_MAX_HEAD + 100;
        char *text = malloc(n);
        memcpy(text, "HTTP/1.1 200 OK\r\nX: ", 20);
        memset(text + 20, 'a', n - 20);
        assert_int_equal(http_response_parse(text, n, false, &r), HTTP_MALFORMED);
        assert_non_null(strstr(r.error, "header section too large"));
        free(text);

        n = HTTP_MAX_BODY + 100;
        text = malloc(n);
        memcpy(text, "HTTP/1.1 200 OK\r\n\r\n", 19);
        memset(text + 19, 'b', n - 19);
        assert_int_equal(http_response_parse(text, n, false, &r), HTTP_MALFORMED);
        assert_non_null(strstr(r.error, "body too large"));
        free(text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(body_by_content_length),
                cmocka_unit_test(every_prefix_is_incomplete),
                cmocka_unit_test(no_content_and_bare_newlines),
                cmocka_unit_test(body_until_close_without_length),
                cmocka_unit_test(interim_answers_are_skipped),
                cmocka_unit_test(closed_early_is_an_error),
                cmocka_unit_test(refuses_what_it_cannot_read),
                cmocka_unit_test(oversized_head_and_body_are_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
