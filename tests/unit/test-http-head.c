/* test-http-head.c - the proxy's request-head parser: what it accepts, what
 * it refuses (smuggling, folding, bare LF, oversized heads), and the framing
 * it reports. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/http-head.h"
#include "util/strbuf.h"

/* rows list only the fields that matter for them; the rest are zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

struct row {
        const char *in;
        int r;              /* expected return */
        const char *method; /* when r == 0 */
        const char *target;
        int64_t content_length;
        bool chunked, upgrade, closes, expect;
        const char *err; /* substring of the reason when r == -EINVAL */
};

static const struct row rows[] = {
    {"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n", 0, "GET", "/_ping", -1},
    {"HEAD /_ping HTTP/1.1\r\n\r\n", 0, "HEAD", "/_ping", -1},
    {"GET /info HTTP/1.0\r\n\r\n", 0, "GET", "/info", -1, false, false, true},
    {"GET /info HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, "GET", "/info", -1},
    {"GET /info HTTP/1.1\r\nConnection: close\r\n\r\n", 0, "GET", "/info", -1, false, false, true},
    {"POST /containers/create?name=a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 0, "POST",
     "/containers/create?name=a", 2},
    {"POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0, "POST", "/build", -1, true},
    {"POST /build HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n", 0, "POST", "/build", -1, true},
    {"POST /containers/a/attach HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", 0, "POST",
     "/containers/a/attach", -1, false, true},
    {"POST /exec/1/start HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: "
     "0\r\n\r\n",
     0, "POST", "/exec/1/start", 0, false, true},
    {"POST /x HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n", 0, "POST", "/x", 3,
     false, false, false, true},
    {"GET /a HTTP/1.1\r\nX-Empty:\r\n\r\n", 0, "GET", "/a", -1},
    /* incomplete */
    {"GET /info HTTP/1.1\r\nHost: d\r\n", -EAGAIN},
    {"GET /info HTTP/1.1\r\n\r", -EAGAIN},
    {"", -EAGAIN},
    /* smuggling and malformed */
    {"POST /a HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", -EINVAL,
     .err = "both"},
    {"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", -EINVAL,
     .err = "both"},
    {"POST /a HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", -EINVAL,
     .err = "two Content-Length"},
    {"POST /a HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n", -EINVAL,
     .err = "two Content-Length"},
    {"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
     -EINVAL, .err = "two Transfer"},
    {"POST /a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", -EINVAL,
     .err = "other than chunked"},
    {"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked \r\n\r\n", 0, "POST", "/a", -1, true},
    {"POST /a HTTP/1.1\r\nContent-Length: +5\r\n\r\n", -EINVAL, .err = "not a number"},
    {"POST /a HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", -EINVAL, .err = "not a number"},
    {"POST /a HTTP/1.1\r\nContent-Length: \r\n\r\n", -EINVAL, .err = "not a number"},
    {"GET /a HTTP/1.1\r\nX: a\r\n b\r\n\r\n", -EINVAL, .err = "folding"},
    {"GET /a HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", -EINVAL, .err = "folding"},
    {"GET /a HTTP/1.1\nHost: d\n\n", -EINVAL, .err = "bare LF"},
    {"GET /a HTTP/1.1\r\nHost: d\n\r\n", -EINVAL, .err = "bare LF"},
    {"GET /a HTTP/1.1\rHost: d\r\n\r\n", -EINVAL, .err = "CR"},
    {"GET /a HTTP/1.1\r\nHost : d\r\n\r\n", -EINVAL, .err = "header name"},
    {"GET /a HTTP/1.1\r\n: d\r\n\r\n", -EINVAL, .err = "without a name"},
    {"GET /a HTTP/1.1\r\nNoColon\r\n\r\n", -EINVAL, .err = "colon"},
    {"GET /a HTTP/1.1\r\nX: \x01\r\n\r\n", -EINVAL, .err = "control"},
    {"\r\nGET /a HTTP/1.1\r\n\r\n", -EINVAL, .err = "method"},
    {" GET /a HTTP/1.1\r\n\r\n", -EINVAL, .err = "method"},
    {"CONNECT d:80 HTTP/1.1\r\n\r\n", -EINVAL},
    {"GET http://d/a HTTP/1.1\r\n\r\n", -EINVAL, .err = "path"},
    {"GET * HTTP/1.1\r\n\r\n", -EINVAL},
    {"GET /a HTTP/2.0\r\n\r\n", -EINVAL},
    {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", -EINVAL},
    {"POST /exec/1/start HTTP/1.1\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Length: "
     "4\r\n\r\n",
     0, "POST", "/exec/1/start", 4, false, true},
    {"GET /a HTTP/1.1\r\nUpgrade: h2c\r\nConnection: upgrade\r\nTransfer-Encoding: chunked\r\n\r\n",
     -EINVAL, .err = "Upgrade"},
    {"GET /a HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", -EINVAL, .err = "Expect"},
    {"FOO /a HTTP/1.1\r\n\r\n", -EINVAL},
    {"GET  /a HTTP/1.1\r\n\r\n", -EINVAL},
};

static void test_rows(void **state)
{
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                const struct row *w = &rows[i];
                struct http_request_head *h = malloc(sizeof(*h));
                char err[128] = "";
                int r;

                assert_non_null(h);
                r = http_request_head_parse(w->in, strlen(w->in), h, err, sizeof(err));
                if (r != w->r)
                        fail_msg("row %zu: %s: got %d (%s), want %d", i, w->in, r, err, w->r);
                if (r == 0) {
                        assert_string_equal(h->method, w->method);
                        assert_int_equal(h->target_len, strlen(w->target));
                        assert_memory_equal(h->target, w->target, h->target_len);
                        assert_int_equal(h->content_length, w->content_length);
                        assert_int_equal(h->chunked, w->chunked);
                        assert_int_equal(h->upgrade, w->upgrade);
                        if (h->keep_alive != !w->closes)
                                fail_msg("row %zu: keep_alive %d", i, h->keep_alive);
                        assert_int_equal(h->expect_continue, w->expect);
                        assert_memory_equal(w->in + h->head_len - 4, "\r\n\r\n", 4);
                }
                if (r == -EINVAL && w->err && !strstr(err, w->err))
                        fail_msg("row %zu: reason '%s' lacks '%s'", i, err, w->err);
                free(h);
        }
}

static void test_sizes(void **state)
{
        struct http_request_head *h = malloc(sizeof(*h));
        char *big = malloc(HTTP_HEAD_MAX + 64), err[128];
        size_t n;

        assert_non_null(h);
        assert_non_null(big);
        /* just under the limit is fine */
        n = (size_t)snprintf(big, HTTP_HEAD_MAX + 64, "GET /a HTTP/1.1\r\nX: ");
        memset(big + n, 'a', HTTP_HEAD_MAX - n - 6);
        // NOLINTNEXTLINE(bugprone-not-null-terminated-result): parsed with its length
        memcpy(big + HTTP_HEAD_MAX - 6, "\r\n\r\n", 4);
        assert_int_equal(http_request_head_parse(big, HTTP_HEAD_MAX - 2, h, err, sizeof(err)), 0);
        /* past it, without an end: too big, not "more please" */
        memset(big + n, 'a', HTTP_HEAD_MAX + 10 - n);
        assert_int_equal(http_request_head_parse(big, HTTP_HEAD_MAX + 10, h, err, sizeof(err)),
                         -E2BIG);
        /* 128 headers fit, 129 do not */
        {
                char *m = malloc(8192);
                size_t o = (size_t)snprintf(m, 8192, "GET /a HTTP/1.1\r\n");
                for (int i = 0; i < HTTP_MAX_HEADERS; i++)
                        o += (size_t)snprintf(m + o, 8192 - o, "X%d: v\r\n", i);
                memcpy(m + o, "\r\n", 3);
                assert_int_equal(http_request_head_parse(m, o + 2, h, err, sizeof(err)), 0);
                assert_int_equal(h->n_headers, HTTP_MAX_HEADERS);
                o += (size_t)snprintf(m + o, 8192 - o, "Y: v\r\n\r\n");
                assert_int_equal(http_request_head_parse(m, o, h, err, sizeof(err)), -EINVAL);
                free(m);
        }
        free(big);
        free(h);
}

static void test_pipelined(void **state)
{
        const char *in = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        struct http_request_head h;
        char err[64];

        assert_int_equal(http_request_head_parse(in, strlen(in), &h, err, sizeof(err)), 0);
        assert_int_equal(h.head_len, 19);
        assert_int_equal(
            http_request_head_parse(in + h.head_len, strlen(in) - h.head_len, &h, err, sizeof(err)),
            0);
        assert_memory_equal(h.target, "/b", 2);
}

static void test_values(void **state)
{
        const char *in =
            "GET /a HTTP/1.1\r\nConnection:  keep-alive, Upgrade \r\nX-A:\t v \r\n\r\n";
        struct http_request_head h;
        size_t n = 0;
        const char *v;
        char err[64];

        assert_int_equal(http_request_head_parse(in, strlen(in), &h, err, sizeof(err)), 0);
        v = http_header_get(&h, "x-a", &n);
        assert_non_null(v);
        assert_int_equal(n, 1);
        assert_memory_equal(v, "v", 1);
        v = http_header_get(&h, "connection", &n);
        assert_true(http_value_has_token(v, n, "upgrade"));
        assert_true(http_value_has_token(v, n, "Keep-Alive"));
        assert_false(http_value_has_token(v, n, "close"));
        assert_null(http_header_get(&h, "missing", NULL));
        assert_false(h.upgrade); /* Connection: upgrade without an Upgrade header */
}

struct chunk_row {
        const char *in;
        ssize_t used; /* bytes consumed, or -EINVAL */
        bool done;
        const char *data; /* decoded */
};

static const struct chunk_row chunk_rows[] = {
    {"5\r\nhello\r\n0\r\n\r\n", 15, true, "hello"},
    {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET /next", 26, true, "hello world"},
    {"A\r\n0123456789\r\n0\r\n\r\n", 20, true, "0123456789"},
    {"a\r\n0123456789\r\n000\r\n\r\n", 22, true, "0123456789"},
    {"0\r\n\r\n", 5, true, ""},
    {"5\r\nhel", 6, false, "hel"},
    {"5;ext=1\r\nhello\r\n0\r\n\r\n", -EINVAL},
    {"5;\nhello\r\n0\r\n\r\n", -EINVAL},
    {"5\nhello\r\n0\r\n\r\n", -EINVAL},
    {"5\r\nhello\n0\r\n\r\n", -EINVAL},
    {"5\r\nhelloX\r\n0\r\n\r\n", -EINVAL},
    {"0\r\nTrailer: x\r\n\r\n", -EINVAL},
    {" 5\r\nhello\r\n0\r\n\r\n", -EINVAL},
    {"5 \r\nhello\r\n0\r\n\r\n", -EINVAL},
    {"\r\n", -EINVAL},
    {"-5\r\n", -EINVAL},
    {"0x5\r\n", -EINVAL},
    {"1000000000000000\r\n", -EINVAL},
    {"fffffffffffffff\r\n", 17, false, ""},
};

static void test_chunked(void **state)
{
        for (size_t i = 0; i < sizeof(chunk_rows) / sizeof(chunk_rows[0]); i++) {
                const struct chunk_row *w = &chunk_rows[i];
                struct chunked_decoder d = {0};
                struct strbuf out;
                bool done = false;
                ssize_t r;

                strbuf_init(&out, 1024);
                r = chunked_feed(&d, w->in, strlen(w->in), &done, &out);
                if (r != w->used)
                        fail_msg("chunk row %zu: used %zd, want %zd", i, r, w->used);
                if (r >= 0) {
                        assert_int_equal(done, w->done);
                        assert_string_equal(strbuf_str(&out), w->data);
                }
                strbuf_release(&out);

                /* byte by byte gives the same answer */
                if (w->used >= 0) {
                        struct chunked_decoder d2 = {0};
                        size_t total = 0;
                        strbuf_init(&out, 1024);
                        done = false;
                        for (size_t k = 0; k < strlen(w->in) && !done; k++) {
                                ssize_t u = chunked_feed(&d2, w->in + k, 1, &done, &out);
                                assert_true(u >= 0);
                                total += (size_t)u;
                        }
                        assert_int_equal(total, (size_t)w->used);
                        assert_string_equal(strbuf_str(&out), w->data);
                        strbuf_release(&out);
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rows),      cmocka_unit_test(test_sizes),
            cmocka_unit_test(test_pipelined), cmocka_unit_test(test_values),
            cmocka_unit_test(test_chunked),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
