/* SPDX-License-Identifier: MIT */
/*
 * http-head.c - strict parsing of one HTTP/1.x request head (http-head.h).
 * The line structure is checked here byte by byte; libhttp-parser then parses
 * the same bytes for the method, version, Upgrade and keep-alive, so the two
 * must agree before a head is accepted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "proxy/http-head.h"
#include "util/macro.h"
#include "util/strbuf.h"

static bool is_tchar(unsigned char c)
{
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c && strchr("!#$%&'*+-.^_`|~", c);
}

static bool blank(char c)
{
        return c == ' ' || c == '\t';
}

static int fail(char *err, size_t n, const char *why)
{
        if (err && n)
                (void)snprintf(err, n, "%s", why);
        return -EINVAL;
}

/* Where does the head end? 0 with *ret_len, -EAGAIN, -E2BIG, -EINVAL. */
static int find_end(const char *buf, size_t len, size_t *ret_len, char *err, size_t n)
{
        size_t lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;

        if (len > 0 && !is_tchar((unsigned char)buf[0]))
                return fail(err, n, "the request does not start with a method");
        for (size_t i = 0; i < lim; i++) {
                unsigned char c = (unsigned char)buf[i];
                if (c == '\n') {
                        if (i == 0 || buf[i - 1] != '\r')
                                return fail(err, n, "a line ends in a bare LF");
                        if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
                                *ret_len = i + 1;
                                return 0;
                        }
                        continue;
                }
                if (c == '\r') {
                        if (i + 1 < len && buf[i + 1] != '\n')
                                return fail(err, n, "a CR not followed by LF");
                        continue;
                }
                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        return fail(err, n, "a control character in the head");
        }
        return len >= HTTP_HEAD_MAX ? -E2BIG : -EAGAIN;
}

struct pstate {
        bool headers_done;
        bool upgrade_seen;
        const char *url;
        size_t url_len;
};

static int on_url(http_parser *p, const char *at, size_t len)
{
        struct pstate *s = p->data;
        if (!s->url)
                s->url = at;
        s->url_len = (size_t)(at + len - s->url);
        return 0;
}

static int on_headers_complete(http_parser *p)
{
        struct pstate *s = p->data;
        s->headers_done = true;
        http_parser_pause(p, 1);
        return 0;
}

static bool digits(const char *s, size_t n, int64_t *ret)
{
        int64_t v = 0;
        if (n == 0 || n > 18)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return true;
}

static bool name_is(const struct http_header *hd, const char *name)
{
        return hd->name_len == strlen(name) && strncasecmp(hd->name, name, hd->name_len) == 0;
}

bool http_value_has_token(const char *value, size_t len, const char *token)
{
        size_t tl = strlen(token), i = 0;

        while (i < len) {
                size_t start, end;
                while (i < len && (blank(value[i]) || value[i] == ','))
                        i++;
                start = i;
                while (i < len && value[i] != ',')
                        i++;
                end = i;
                while (end > start && blank(value[end - 1]))
                        end--;
                if (end - start == tl && strncasecmp(value + start, token, tl) == 0)
                        return true;
        }
        return false;
}

const char *http_header_get(const struct http_request_head *h, const char *name, size_t *ret_len)
{
        for (size_t i = 0; i < h->n_headers; i++)
                if (name_is(&h->headers[i], name)) {
                        if (ret_len)
                                *ret_len = h->headers[i].value_len;
                        return h->headers[i].value;
                }
        return NULL;
}

/* Split the header lines of buf[0..head_len) (request line first). */
static int split_headers(const char *buf, size_t head_len, struct http_request_head *h, char *err,
                         size_t n)
{
        const char *eol = memchr(buf, '\n', head_len);
        size_t off;

        if (!eol)
                return fail(err, n, "no request line");
        h->request_line_len = (size_t)(eol - buf) + 1;
        off = h->request_line_len;
        while (off < head_len) {
                const char *line = buf + off;
                const char *end = memchr(line, '\n', head_len - off);
                size_t ll, i = 0, vs, ve;
                struct http_header *hd;

                if (!end)
                        return fail(err, n, "a header line without an end");
                ll = (size_t)(end - line) + 1; /* with CRLF */
                if (ll == 2)
                        break; /* the blank line */
                if (blank(line[0]))
                        return fail(err, n, "obsolete line folding");
                while (i < ll - 2 && line[i] != ':') {
                        if (!is_tchar((unsigned char)line[i]))
                                return fail(err, n, "a header name with a character HTTP forbids");
                        i++;
                }
                if (i == 0 || i >= ll - 2)
                        return fail(err, n, "a header line without a name or a colon");
                if (h->n_headers >= HTTP_MAX_HEADERS)
                        return fail(err, n, "too many headers");
                hd = &h->headers[h->n_headers++];
                hd->name = line;
                hd->name_len = i;
                vs = i + 1;
                ve = ll - 2;
                while (vs < ve && blank(line[vs]))
                        vs++;
                while (ve > vs && blank(line[ve - 1]))
                        ve--;
                hd->value = line + vs;
                hd->value_len = ve - vs;
                hd->line_off = off;
                hd->line_len = ll;
                off += ll;
        }
        return 0;
}

static int check_framing(struct http_request_head *h, char *err, size_t n)
{
        bool have_cl = false, have_te = false, have_upgrade = false, conn_upgrade = false;

        h->content_length = -1;
        for (size_t i = 0; i < h->n_headers; i++) {
                const struct http_header *hd = &h->headers[i];
                if (name_is(hd, "Content-Length")) {
                        if (have_cl)
                                return fail(err, n, "two Content-Length headers");
                        have_cl = true;
                        if (!digits(hd->value, hd->value_len, &h->content_length))
                                return fail(err, n, "a Content-Length that is not a number");
                } else if (name_is(hd, "Transfer-Encoding")) {
                        if (have_te)
                                return fail(err, n, "two Transfer-Encoding headers");
                        have_te = true;
                        if (hd->value_len != 7 || strncasecmp(hd->value, "chunked", 7) != 0)
                                return fail(err, n, "a Transfer-Encoding other than chunked");
                        h->chunked = true;
                } else if (name_is(hd, "Upgrade")) {
                        have_upgrade = true;
                } else if (name_is(hd, "Connection")) {
                        if (http_value_has_token(hd->value, hd->value_len, "upgrade"))
                                conn_upgrade = true;
                } else if (name_is(hd, "Expect")) {
                        if (hd->value_len == 12 && strncasecmp(hd->value, "100-continue", 12) == 0)
                                h->expect_continue = true;
                        else
                                return fail(err, n, "an Expect other than 100-continue");
                }
        }
        if (have_cl && have_te)
                return fail(err, n, "both Content-Length and Transfer-Encoding");
        h->upgrade = have_upgrade && conn_upgrade;
        /* Docker's exec start sends a JSON body with its Upgrade; it must have
         * a length (relay.c forwards exactly that many bytes) */
        if (have_upgrade && h->chunked)
                return fail(err, n, "an Upgrade request with a chunked body");
        return 0;
}

int http_request_head_parse(const char *buf, size_t len, struct http_request_head *h, char *err,
                            size_t err_size)
{
        static const http_parser_settings settings = {
            .on_url = on_url,
            .on_headers_complete = on_headers_complete,
        };
        struct pstate st = {0};
        http_parser p;
        size_t head_len = 0, done;
        int r;

        memset(h, 0, sizeof(*h));
        if (err && err_size)
                err[0] = 0;
        r = find_end(buf, len, &head_len, err, err_size);
        if (r < 0)
                return r;
        r = split_headers(buf, head_len, h, err, err_size);
        if (r < 0)
                return r;
        r = check_framing(h, err, err_size);
        if (r < 0)
                return r;

        http_parser_init(&p, HTTP_REQUEST);
        p.data = &st;
        done = http_parser_execute(&p, &settings, buf, head_len);
        if (!st.headers_done ||
            (HTTP_PARSER_ERRNO(&p) != HPE_OK && HTTP_PARSER_ERRNO(&p) != HPE_PAUSED))
                return fail(err, err_size, http_errno_description(HTTP_PARSER_ERRNO(&p)));
        (void)done; /* paused in on_headers_complete, at the blank line */
        if (p.method == HTTP_CONNECT)
                return fail(err, err_size, "CONNECT is not supported");
        if (p.http_major != 1 || p.http_minor > 1)
                return fail(err, err_size, "only HTTP/1.0 and HTTP/1.1 are supported");
        if (!st.url || st.url_len == 0 || st.url[0] != '/')
                return fail(err, err_size, "the request target must be a path");
        (void)snprintf(h->method, sizeof(h->method), "%s",
                       http_method_str((enum http_method)p.method));
        /* the request line exactly: METHOD SP target SP HTTP/1.x CRLF */
        {
                size_t ml = strlen(h->method);
                if (strncmp(buf, h->method, ml) != 0 || buf[ml] != ' ' || st.url != buf + ml + 1 ||
                    ml + 1 + st.url_len + 11 != h->request_line_len ||
                    memcmp(st.url + st.url_len, " HTTP/1.", 8) != 0)
                        return fail(err, err_size, "a malformed request line");
        }
        h->target = st.url;
        h->target_len = st.url_len;
        h->http_major = p.http_major;
        h->http_minor = p.http_minor;
        h->head_len = head_len;
        h->keep_alive = http_should_keep_alive(&p);
        return 0;
}

enum {
        CH_SIZE = 0, /* hex digits, then CR */
        CH_SIZE_LF,
        CH_DATA,
        CH_DATA_CR,
        CH_DATA_LF,
        CH_LAST_CR, /* after "0\r\n": the empty line */
        CH_LAST_LF,
        CH_DONE,
};

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

ssize_t chunked_feed(struct chunked_decoder *d, const char *buf, size_t len, bool *done,
                     struct strbuf *out)
{
        size_t i = 0;

        *done = d->state == CH_DONE;
        while (i < len && d->state != CH_DONE) {
                char c = buf[i];
                switch (d->state) {
                case CH_SIZE: {
                        int v = hexval(c);
                        if (v >= 0) {
                                if (++d->digits > 15)
                                        return -EINVAL;
                                d->left = d->left * 16 + (uint64_t)v;
                                i++;
                                break;
                        }
                        if (c != '\r' || d->digits == 0)
                                return -EINVAL;
                        d->state = CH_SIZE_LF;
                        i++;
                        break;
                }
                case CH_SIZE_LF:
                        if (c != '\n')
                                return -EINVAL;
                        i++;
                        d->state = d->left == 0 ? CH_LAST_CR : CH_DATA;
                        break;
                case CH_DATA: {
                        size_t n = (size_t)MIN((uint64_t)(len - i), d->left);
                        if (out && strbuf_append(out, buf + i, n) < 0)
                                return -E2BIG;
                        i += n;
                        d->left -= n;
                        if (d->left == 0)
                                d->state = CH_DATA_CR;
                        break;
                }
                case CH_DATA_CR:
                        if (c != '\r')
                                return -EINVAL;
                        i++;
                        d->state = CH_DATA_LF;
                        break;
                case CH_DATA_LF:
                        if (c != '\n')
                                return -EINVAL;
                        i++;
                        d->state = CH_SIZE;
                        d->digits = 0;
                        d->left = 0;
                        break;
                case CH_LAST_CR:
                        if (c != '\r')
                                return -EINVAL; /* a trailer */
                        i++;
                        d->state = CH_LAST_LF;
                        break;
                case CH_LAST_LF:
                        if (c != '\n')
                                return -EINVAL;
                        i++;
                        d->state = CH_DONE;
                        break;
                default:
                        return -EINVAL;
                }
        }
        *done = d->state == CH_DONE;
        return (ssize_t)i;
}
