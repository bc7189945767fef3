/* fuzz-http-head.c - libFuzzer target for the proxy's request-head parser and
 * the routing and query rewriting that follow it (src/proxy/http-head.c,
 * policy.c). Checks the invariants the proxy relies on: an accepted head lies
 * inside the input, ends in CRLFCRLF, has no byte the checks refuse, and never
 * carries both kinds of body framing; a chunked body after the head goes
 * through the strict chunk decoder. The corpus in
 * tests/fuzz/corpus/http-head also runs under plain gcc through replay.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http-head.h"
#include "proxy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct http_request_head *h = malloc(sizeof(*h));
        const char *buf = (const char *)data;
        char err[128];
        int r;

        if (!h)
                return 0;
        r = http_request_head_parse(buf, size, h, err, sizeof(err));
        if (r == 0) {
                char path[HTTP_HEAD_MAX + 1], *nq = NULL;
                const char *qm;
                size_t plen;
                struct route rt;

                if (h->head_len > size || h->head_len < 4 ||
                    memcmp(buf + h->head_len - 4, "\r\n\r\n", 4) != 0)
                        abort();
                if (h->chunked && h->content_length >= 0)
                        abort();
                if (h->upgrade && h->chunked)
                        abort();
                if (h->target < buf || h->target + h->target_len > buf + h->head_len)
                        abort();
                for (size_t i = 0; i < h->head_len; i++)
                        if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
                                abort();
                for (size_t i = 0; i < h->n_headers; i++)
                        if (h->headers[i].line_off + h->headers[i].line_len > h->head_len)
                                abort();
                qm = memchr(h->target, '?', h->target_len);
                plen = qm ? (size_t)(qm - h->target) : h->target_len;
                memcpy(path, h->target, plen);
                path[plen] = 0;
                (void)policy_route(h->method, path, &rt);
                if (rt.ref_off + rt.ref_len > plen)
                        abort();
                if (h->chunked) {
                        /* the body after the head, through the strict decoder */
                        struct chunked_decoder d = {0};
                        bool done = false;
                        ssize_t used =
                            chunked_feed(&d, buf + h->head_len, size - h->head_len, &done, NULL);
                        if (used > (ssize_t)(size - h->head_len) || (used < 0 && used != -EINVAL))
                                abort();
                }
                if (qm) {
                        char query[HTTP_HEAD_MAX + 1];
                        size_t ql = h->target_len - plen - 1;
                        memcpy(query, qm + 1, ql);
                        query[ql] = 0;
                        if (policy_filter_query(query, "alice", &nq) == 0 &&
                            !strstr(nq, "ds01.user%3Dalice"))
                                abort();
                        free(nq);
                }
        } else if (r != -EAGAIN && r != -E2BIG && r != -EINVAL) {
                abort();
        }
        free(h);
        return 0;
}
