#include "host/http-unix.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
        strbuf_putn(userdata, data, size * n);
        return size * n;
}

static void curl_cleanup(CURL **c)
{
        if (*c)
                curl_easy_cleanup(*c);
}

static void headers_cleanup(struct curl_slist **h)
{
        curl_slist_free_all(*h);
}

static int request_failed(CURLcode code, const char *socket_path, int timeout_ms,
                          const char *detail, struct mv_error **err)
{
        switch (code) {
        case CURLE_COULDNT_CONNECT:
                mv_error_fail(err, "API socket: connect to %s failed", socket_path);
                return mv_error_hint(err, "is the VM running?");
        case CURLE_OPERATION_TIMEDOUT:
                return mv_error_fail(err, "no answer from %s within %d ms", socket_path,
                                     timeout_ms);
        default:
                return mv_error_fail(err, "request to %s failed: %s", socket_path,
                                     *detail ? detail : curl_easy_strerror(code));
        }
}

int http_unix_request(const char *socket_path, const char *method, const char *path,
                      const char *body, int timeout_ms, int *status, char **response,
                      struct mv_error **err)
{
        __attribute__((cleanup(curl_cleanup))) CURL *c = curl_easy_init();
        if (!c)
                return mv_error_fail(err, "cannot set up an HTTP request (libcurl)");
        __attribute__((cleanup(headers_cleanup))) struct curl_slist *headers = NULL;
        /* A body always, so that even an empty PUT carries Content-Length: 0. */
        headers = curl_slist_append(headers,
                                    body ? "Content-Type: application/json" : "Content-Type:");
        headers = curl_slist_append(headers, "Expect:");
        if (!headers)
                return mv_error_set(err, ENOMEM, "HTTP headers");
        _cleanup_free_ char *url = xasprintf("http://localhost%s", path);
        char detail[CURL_ERROR_SIZE] = "";
        struct strbuf in = { 0 };

        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, body ? (long)strlen(body) : 0L);
        if (strcmp(method, "GET") == 0)
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &in);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);

        CURLcode code = curl_easy_perform(c);
        if (code != CURLE_OK) {
                strbuf_free(&in);
                return request_failed(code, socket_path, timeout_ms, detail, err);
        }
        long http_status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http_status);
        *status = (int)http_status;
        if (response)
                *response = in.data ? strbuf_take(&in) : xstrdup("");
        strbuf_free(&in);
        return 0;
}
