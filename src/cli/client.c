/* client.c - HTTP/1.1 requests to ds01d over its unix socket, with libcurl.
 *
 * One curl easy handle per client, reset before each request, so that
 * `ds01 events --follow` keeps one connection open between polls. The answer is
 * collected into a strbuf with a hard ceiling (16 MiB): a larger answer aborts
 * the transfer rather than eating the memory of a login node. Transport
 * problems are turned into one "ds01: ..." line that names the socket and what
 * to check next; everything the daemon answers as a JSON object is handed back
 * with its HTTP status. */
#include <errno.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "util/strbuf.h"
#include "util/strutil.h"
#include "util/timeutil.h"

struct cli_client {
        char *socket_path;
        CURL *curl;
        bool global_init; /* curl_global_init() succeeded: undo it in _free */
};

/* What the write callback fills. */
struct response {
        struct strbuf body;
        bool too_large;
        bool no_memory;
};

int cli_client_open(const char *socket_path, struct cli_client **ret)
{
        struct cli_client *c;
        const char *path = socket_path;

        if (isempty(path))
                path = getenv("DS01_SOCKET");
        if (isempty(path))
                path = CLI_CLIENT_DEFAULT_SOCKET;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->socket_path = strdup(path);
        if (!c->socket_path)
                goto fail;
        /* No TLS and no name lookups here: CURL_GLOBAL_NOTHING keeps the
         * start-up of a short CLI call cheap. */
        if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK)
                goto fail;
        c->global_init = true;
        c->curl = curl_easy_init();
        if (!c->curl)
                goto fail;
        *ret = c;
        return 0;
fail:
        cli_client_free(c);
        return -ENOMEM;
}

struct cli_client *cli_client_free(struct cli_client *c)
{
        if (!c)
                return NULL;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        if (c->global_init)
                curl_global_cleanup();
        free(c->socket_path);
        free(c);
        return NULL;
}

const char *cli_client_socket(const struct cli_client *c)
{
        return c->socket_path;
}

static size_t on_data(char *data, size_t size, size_t n, void *userdata)
{
        struct response *resp = userdata;
        size_t len = size * n;
        int r;

        r = strbuf_append(&resp->body, data, len);
        if (r == -E2BIG) {
                resp->too_large = true;
                return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
        }
        if (r < 0) {
                resp->no_memory = true;
                return 0;
        }
        return len;
}

/* errno of a failed connect: what curl saw, else what the socket file says. */
static int connect_errno(struct cli_client *c)
{
        struct stat st;
        long os_errno = 0;

        if (stat(c->socket_path, &st) == 0 && !S_ISSOCK(st.st_mode))
                return ENOTSOCK;
        if (curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno > 0)
                return (int)os_errno;
        if (stat(c->socket_path, &st) < 0)
                return errno;
        return ECONNREFUSED;
}

static int report_connect_error(struct cli_client *c)
{
        int e = connect_errno(c);

        switch (e) {
        case EACCES:
        case EPERM:
                cli_error("cannot reach ds01d at %s: %s (the socket should be mode 0666; ask an "
                          "admin to check it: systemctl status ds01d)",
                          c->socket_path, strerror(e));
                break;
        case ENOTSOCK:
                cli_error("cannot reach ds01d at %s: it is not a socket (give the daemon's socket "
                          "with --socket PATH or $DS01_SOCKET)",
                          c->socket_path);
                break;
        default:
                cli_error("cannot reach ds01d at %s: %s (is the daemon running? systemctl status "
                          "ds01d)",
                          c->socket_path, strerror(e));
                break;
        }
        return -e;
}

static int report_curl_error(struct cli_client *c, CURLcode cc, const struct response *resp,
                             long timeout_s, const char *errbuf)
{
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
                return report_connect_error(c);
        case CURLE_OPERATION_TIMEDOUT:
                cli_error("ds01d at %s did not answer within %ld s; check the daemon: systemctl "
                          "status ds01d",
                          c->socket_path, timeout_s > 0 ? timeout_s : CLI_CLIENT_CONNECT_TIMEOUT);
                return -ETIMEDOUT;
        case CURLE_WRITE_ERROR:
                if (resp->too_large) {
                        cli_error("ds01d's answer is larger than %zu MiB; ask for less (for "
                                  "example a smaller --limit or a narrower --since)",
                                  CLI_CLIENT_MAX_RESPONSE / ((size_t)1024 * 1024));
                        return -EFBIG;
                }
                if (resp->no_memory) {
                        cli_error("out of memory");
                        return -ENOMEM;
                }
                break;
        case CURLE_OUT_OF_MEMORY:
                cli_error("out of memory");
                return -ENOMEM;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
                cli_error("ds01d at %s closed the connection without a whole answer (it may be "
                          "restarting; try again, or check: systemctl status ds01d)",
                          c->socket_path);
                return -EIO;
        default:
                break;
        }
        cli_error("cannot talk to ds01d at %s: %s", c->socket_path,
                  errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return -EIO;
}

static int header_add(struct curl_slist **list, const char *header)
{
        struct curl_slist *l = curl_slist_append(*list, header);

        if (!l)
                return -ENOMEM;
        *list = l;
        return 0;
}

int cli_client_request_raw(struct cli_client *c, const char *method, const char *path_and_query,
                           const char *body, size_t n, long timeout_s, long *ret_status,
                           json_t **ret_json)
{
        char errbuf[CURL_ERROR_SIZE] = "";
        struct response resp = {0};
        struct curl_slist *headers = NULL;
        _cleanup_free_ char *url = NULL;
        json_error_t jerr;
        json_t *j;
        long status = 0;
        CURLcode cc;
        int r;

        if (asprintf(&url, "http://ds01d%s", path_and_query) < 0) {
                url = NULL;
                cli_error("out of memory");
                return -ENOMEM;
        }
        strbuf_init(&resp.body, CLI_CLIENT_MAX_RESPONSE);

        if (header_add(&headers, "Accept: application/json") < 0 ||
            /* No "Expect: 100-continue" round trip before large import bodies. */
            header_add(&headers, "Expect:") < 0 ||
            (body && header_add(&headers, "Content-Type: application/json") < 0)) {
                curl_slist_free_all(headers);
                cli_error("out of memory");
                return -ENOMEM;
        }

        curl_easy_reset(c->curl);
        curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
        curl_easy_setopt(c->curl, CURLOPT_URL, url);
        curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, CLI_CLIENT_CONNECT_TIMEOUT);
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 0L);
        curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "ds01/" DS01_VERSION);
        curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &resp);
        if (body || streq(method, "POST")) {
                curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
                curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? n : 0));
        } else {
                curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
        }
        if (!streq(method, "GET") && !streq(method, "POST"))
                curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);

        cc = curl_easy_perform(c->curl);
        curl_slist_free_all(headers);
        if (cc != CURLE_OK) {
                r = report_curl_error(c, cc, &resp, timeout_s, errbuf);
                strbuf_release(&resp.body);
                return r;
        }
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);

        j = json_loadb(strbuf_str(&resp.body), resp.body.len, 0, &jerr);
        strbuf_release(&resp.body);
        if (!j || !json_is_object(j)) {
                json_decref(j);
                cli_error("ds01d answered something that is not JSON (HTTP %ld)", status);
                return -EBADMSG;
        }
        *ret_status = status;
        *ret_json = j;
        return 0;
}

int cli_client_request(struct cli_client *c, const char *method, const char *path_and_query,
                       json_t *body, long timeout_s, long *ret_status, json_t **ret_json)
{
        _cleanup_free_ char *text = NULL;

        if (body) {
                text = json_dumps(body, JSON_COMPACT);
                if (!text) {
                        cli_error("out of memory");
                        return -ENOMEM;
                }
        }
        return cli_client_request_raw(c, method, path_and_query, text, text ? strlen(text) : 0,
                                      timeout_s, ret_status, ret_json);
}

int cli_client_call(struct cli_client *c, const char *method, const char *path_and_query,
                    json_t *body, long timeout_s, bool json_errors, long *ret_status,
                    json_t **ret_json)
{
        const char *message, *code;
        json_t *j = NULL;
        long status = 0;
        int r;

        r = cli_client_request(c, method, path_and_query, body, timeout_s, &status, &j);
        if (r < 0)
                return EXIT_FAIL;
        if (ret_status)
                *ret_status = status;
        if (status >= 200 && status < 300) {
                *ret_json = j;
                return EXIT_OK;
        }

        message = json_string_value(json_object_get(j, "message"));
        code = json_string_value(json_object_get(j, "error"));
        if (json_errors)
                (void)cli_print_json(j);
        if (!isempty(message))
                cli_error("%s", message);
        else if (!isempty(code))
                cli_error("ds01d refused the request: %s (HTTP %ld)", code, status);
        else
                cli_error("ds01d refused the request (HTTP %ld); the daemon's log may say why: "
                          "journalctl -u ds01d",
                          status);
        json_decref(j);
        return EXIT_FAIL;
}

int cli_client_query_add(struct cli_client *c, struct strbuf *sb, const char *key,
                         const char *value)
{
        char *v;
        int r;

        v = curl_easy_escape(c->curl, value, 0);
        if (!v)
                return -ENOMEM;
        r = strbuf_printf(sb, "%c%s=%s", strchr(strbuf_str(sb), '?') ? '&' : '?', key, v);
        curl_free(v);
        return r;
}

/* RFC 3986 pchar, less '+' and '&' (some decoders treat them specially). */
static bool is_path_char(unsigned char ch)
{
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
                return true;
        return ch && strchr("-._~!$'()*,;=:@", ch);
}

int cli_client_path_add(struct strbuf *sb, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        struct strbuf tmp;
        int r = 0;

        /* Built aside so that a failure leaves sb as it was. */
        strbuf_init(&tmp, sb->max);
        for (const unsigned char *p = (const unsigned char *)s; *p && r >= 0; p++) {
                if (is_path_char(*p)) {
                        r = strbuf_putc(&tmp, (char)*p);
                } else {
                        char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
                        r = strbuf_append(&tmp, esc, sizeof(esc));
                }
        }
        if (r >= 0)
                r = strbuf_append(sb, strbuf_str(&tmp), tmp.len);
        strbuf_release(&tmp);
        return r;
}

int cli_print_json(const json_t *j)
{
        char *s;

        s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!s)
                return cli_error("out of memory");
        puts(s);
        free(s);
        return EXIT_OK;
}

char *cli_time_short(char *buf, size_t n, const char *iso)
{
        int64_t t;
        time_t tt;
        struct tm tm;

        if (!iso || parse_timestamp(iso, &t) < 0)
                goto none;
        tt = (time_t)t;
        if (!gmtime_r(&tt, &tm) || strftime(buf, n, "%Y-%m-%d %H:%M", &tm) == 0)
                goto none;
        return buf;
none:
        snprintf(buf, n, "-");
        return buf;
}

const char *cli_json_str(const json_t *o, const char *key, const char *fallback)
{
        const char *s = json_string_value(json_object_get(o, key));

        return s ? s : fallback;
}

double cli_json_num(const json_t *o, const char *key, double fallback)
{
        const json_t *v = json_object_get(o, key);

        return json_is_number(v) ? json_number_value(v) : fallback;
}

int cli_parse_time_arg(const char *command, const char *option, const char *s, int64_t *ret_epoch_s)
{
        int64_t t;

        if (parse_time_expr(s, now_epoch(), &t) < 0)
                return cli_usage_error(command,
                                       "%s '%s' is not a time; give an ISO 8601 time "
                                       "(2026-01-30, 2026-01-30T14:30, 2026-01-30T14:30:00Z), "
                                       "'today', 'yesterday', 'N minutes|hours|days ago' or "
                                       "'@EPOCH_SECONDS'",
                                       option, s);
        *ret_epoch_s = t;
        return 0;
}

int cli_parse_count(const char *command, const char *what, const char *s, long long min,
                    long long *ret)
{
        long long v;

        if (safe_atoi64(s, &v) < 0 || v < min)
                return cli_usage_error(command, "%s '%s' is not a whole number of at least %lld",
                                       what, s, min);
        *ret = v;
        return 0;
}
