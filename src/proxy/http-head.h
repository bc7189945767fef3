/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * http-head.h - one HTTP/1.x request head, checked strictly enough that the
 * proxy and Docker (Go's net/http) can never disagree about where a request
 * ends. Parsing is done by libhttp-parser; the checks around it refuse what
 * the two could read differently:
 *   - a head longer than HTTP_HEAD_MAX bytes (before its blank line),
 *   - a line ending in a bare LF, a NUL or other control byte in the head,
 *   - obsolete line folding (a header line starting with space or tab),
 *   - both Content-Length and Transfer-Encoding, two Content-Lengths, two
 *     Transfer-Encodings, a Transfer-Encoding other than exactly "chunked",
 *     a Content-Length that is not plain digits,
 *   - an Upgrade request with a body, CONNECT, HTTP/0.9 and HTTP/2 preface,
 *   - a header name outside RFC 9110's token characters, an empty name,
 *     whitespace before the colon, more than HTTP_MAX_HEADERS headers.
 * Pure: works on a buffer, no I/O.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct strbuf;

#define HTTP_HEAD_MAX    (16 * 1024)
#define HTTP_MAX_HEADERS 128

struct http_header {
        const char *name; /* into the parsed buffer, not NUL-terminated */
        size_t name_len;
        const char *value; /* leading and trailing blanks trimmed */
        size_t value_len;
        size_t line_off, line_len; /* the whole line in the buffer, CRLF included */
};

struct http_request_head {
        char method[16];
        const char *target; /* request target (path and query), in the buffer */
        size_t target_len;
        unsigned http_major, http_minor;
        struct http_header headers[HTTP_MAX_HEADERS];
        size_t n_headers;
        size_t request_line_len; /* CRLF included */
        size_t head_len;         /* the whole head, up to and including the blank line */
        int64_t content_length;  /* -1: no Content-Length header */
        bool chunked;            /* Transfer-Encoding: chunked */
        bool upgrade;            /* an Upgrade header (with Connection: upgrade) */
        bool keep_alive;         /* the connection may carry another request after this */
        bool expect_continue;    /* Expect: 100-continue */
};

/* Parse the head at the start of buf[0..len). Returns 0 when a complete,
 * acceptable head was found (h filled, pointers into buf), -EAGAIN when more
 * bytes are needed (and fewer than HTTP_HEAD_MAX were given), -E2BIG when the
 * head is longer than HTTP_HEAD_MAX, -EINVAL when it is malformed or
 * ambiguous (err: a short reason, e.g. "both Content-Length and
 * Transfer-Encoding"). */
int http_request_head_parse(const char *buf, size_t len, struct http_request_head *h, char *err,
                            size_t err_size);

/* The header's value (first match, case-insensitive name), or NULL; *ret_len
 * gets its length. */
const char *http_header_get(const struct http_request_head *h, const char *name, size_t *ret_len);

/* Does a comma-separated header value list hold token (case-insensitive)? */
bool http_value_has_token(const char *value, size_t len, const char *token);

/*
 * A chunked request body, read strictly: "<hex size>CRLF<data>CRLF" repeated,
 * then "0CRLF" and an empty line. Refused: chunk extensions (";..."),
 * trailers, a bare LF or CR anywhere in the framing, whitespace, sizes of
 * more than 15 hex digits. libhttp-parser is more lenient here (a bare LF in
 * an extension ends its line for Go but not for it), so request bodies are
 * framed by this decoder, never by the parser.
 */
struct chunked_decoder {
        int state;
        uint64_t left;   /* data bytes left in the current chunk */
        unsigned digits; /* hex digits of the size read so far */
};

/* Feed len bytes. Returns how many were consumed (all of them, or fewer when
 * the body ended inside buf: the rest belongs to the next request), with
 * *done set at the end of the body; data bytes are appended to out when not
 * NULL. -EINVAL on malformed framing, -E2BIG when out is full. */
ssize_t chunked_feed(struct chunked_decoder *d, const char *buf, size_t len, bool *done,
                     struct strbuf *out);
