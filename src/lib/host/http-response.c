#include "host/http-response.h"

#include <string.h>
#include <strings.h>

struct cursor {
        const char *buf;
        size_t len, pos;
};

/* The next line without its CRLF (a bare LF is taken too); false if none has ended yet. */
static bool next_line(struct cursor *c, const char **line, size_t *n)
{
        const char *nl = memchr(c->buf + c->pos, '\n', c->len - c->pos);
        if (!nl)
                return false;
        *line = c->buf + c->pos;
        *n = (size_t)(nl - *line);
        if (*n > 0 && (*line)[*n - 1] == '\r')
                (*n)--;
        c->pos = (size_t)(nl - c->buf) + 1;
        return true;
}

static bool is_digit(char ch)
{
        return ch >= '0' && ch <= '9';
}

/* "HTTP/1.x NNN[ reason]" */
static bool parse_status_line(const char *line, size_t n, int *status)
{
        if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || !is_digit(line[7]) || line[8] != ' ')
                return false;
        if (!is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]))
                return false;
        if (n > 12 && line[12] != ' ')
                return false;
        *status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        return *status >= 100 && *status <= 599;
}

/* RFC 9110's token characters: what a header name may consist of. */
static bool is_token_char(char ch)
{
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) ||
               (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool name_is(const char *name, size_t n, const char *want)
{
        return n == strlen(want) && strncasecmp(name, want, n) == 0;
}

struct head {
        int status;
        bool has_length;
        size_t length;
};

/* One "Name: value" line into `h`; NULL, or why it is refused. */
static const char *parse_header(const char *line, size_t n, struct head *h)
{
        const char *colon = memchr(line, ':', n);
        if (n > 0 && (line[0] == ' ' || line[0] == '\t'))
                return "folded header line";
        if (!colon || colon == line)
                return "header line without a name";
        size_t name_len = (size_t)(colon - line);
        for (size_t i = 0; i < name_len; i++)
                if (!is_token_char(line[i]))
                        return "invalid character in a header name";
        const char *v = colon + 1, *end = line + n;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        if (name_is(line, name_len, "Transfer-Encoding"))
                return "Transfer-Encoding is not supported (the hypervisor APIs send "
                       "Content-Length)";
        if (!name_is(line, name_len, "Content-Length"))
                return NULL;
        if (v == end)
                return "empty Content-Length";
        size_t length = 0;
        for (const char *p = v; p < end; p++) {
                if (!is_digit(*p))
                        return "Content-Length is not a number";
                if (length > HTTP_MAX_BODY)
                        return "body too large";
                length = length * 10 + (size_t)(*p - '0');
        }
        if (length > HTTP_MAX_BODY)
                return "body too large";
        if (h->has_length && h->length != length)
                return "two different Content-Length headers";
        h->has_length = true;
        h->length = length;
        return NULL;
}

static enum http_parse_result malformed(struct http_response *out, const char *why)
{
        out->error = why;
        return HTTP_MALFORMED;
}

/* The status line and headers from c->pos on; HTTP_COMPLETE leaves c->pos at the body. */
static enum http_parse_result parse_head(struct cursor *c, struct head *h,
                                         struct http_response *out)
{
        size_t start = c->pos;
        const char *line;
        size_t n;
        *h = (struct head){ 0 };
        for (bool first = true;; first = false) {
                if (!next_line(c, &line, &n))
                        return c->len - start > HTTP_MAX_HEAD
                                       ? malformed(out, "header section too large")
                                       : HTTP_INCOMPLETE;
                if (c->pos - start > HTTP_MAX_HEAD)
                        return malformed(out, "header section too large");
                if (first) {
                        if (!parse_status_line(line, n, &h->status))
                                return malformed(out, "not an HTTP/1.x status line");
                        continue;
                }
                if (n == 0)
                        return HTTP_COMPLETE;
                const char *why = parse_header(line, n, h);
                if (why)
                        return malformed(out, why);
        }
}

static enum http_parse_result parse(const char *buf, size_t len, bool at_eof,
                                    struct http_response *out)
{
        struct cursor c = { buf, len, 0 };
        struct head h;
        for (;;) {
                enum http_parse_result r = parse_head(&c, &h, out);
                if (r != HTTP_COMPLETE)
                        return r;
                if (h.status >= 200)
                        break;
                /* An interim answer (100 Continue and the like) has no body: the real one follows. */
        }
        out->status = h.status;
        out->body_offset = c.pos;
        size_t rest = len - c.pos;
        if (h.status == 204 || h.status == 304) {
                out->body_length = 0;
                return HTTP_COMPLETE;
        }
        if (h.has_length) {
                if (rest < h.length)
                        return HTTP_INCOMPLETE;
                out->body_length = h.length;
                return HTTP_COMPLETE;
        }
        if (rest > HTTP_MAX_BODY)
                return malformed(out, "body too large");
        if (!at_eof)
                return HTTP_INCOMPLETE;
        out->body_length = rest;
        return HTTP_COMPLETE;
}

enum http_parse_result http_response_parse(const char *buf, size_t len, bool at_eof,
                                           struct http_response *out)
{
        *out = (struct http_response){ 0 };
        enum http_parse_result r = parse(buf, len, at_eof, out);
        if (r == HTTP_INCOMPLETE && at_eof)
                return malformed(out, "connection closed before the whole answer arrived");
        return r;
}
