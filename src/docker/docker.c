/* docker.c - the Docker Engine API client: one curl easy handle per client,
 * reset before each request (the connection to the socket stays open), the
 * API version negotiated from GET /version on the first versioned call, and
 * the container calls on top of one request primitive (docker_perform) that
 * enforces the timeout and the answer's ceiling and turns every failure into
 * -errno plus a message (docker_errmsg). Exec lives in docker-exec.c, the
 * events thread in docker-events.c. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "docker/docker-internal.h"
#include "docker/docker.h"
#include "util/strbuf.h"
#include "util/strutil.h"

struct docker_client {
        char *socket_path;
        CURL *curl;
        long timeout_ms;
        size_t max_response;
        int api_major, api_minor; /* 0.0 until negotiated */
        char api_version[16];     /* "1.41"; "" until negotiated */
        char errmsg[DOCKER_ERRMSG_MAX];
};

/* ---- process-wide curl set-up ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
        /* No TLS and no name resolution here: plain HTTP on a unix socket.
         * Never undone: the handles of clients and watchers may live until
         * the process ends. */
        curl_init_result = curl_global_init(CURL_GLOBAL_NOTHING);
}

int docker_curl_global_init(void)
{
        if (pthread_once(&curl_once, curl_init_once) != 0)
                return -ENOMEM;
        return curl_init_result == CURLE_OK ? 0 : -ENOMEM;
}

void docker_curl_setup(CURL *curl, const char *socket_path, const char *url, long timeout_ms,
                       char *errbuf)
{
        long connect_ms = DOCKER_CONNECT_TIMEOUT_MS;

        if (timeout_ms > 0 && timeout_ms < connect_ms)
                connect_ms = timeout_ms;
        errbuf[0] = '\0';
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 0L);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "ds01/" DS01_VERSION);
        /* Only http: on the socket, and no redirects to follow elsewhere. */
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
}

/* errno of a failed connect: what the socket file says, else what curl saw. */
static int connect_errno(CURL *curl, const char *socket_path)
{
        struct stat st;
        long os_errno = 0;

        if (stat(socket_path, &st) < 0)
                return errno;
        if (!S_ISSOCK(st.st_mode))
                return ENOTSOCK;
        if (curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno > 0)
                return (int)os_errno;
        return ECONNREFUSED;
}

int docker_curl_errno(CURL *curl, CURLcode cc, const char *socket_path, const char *errbuf,
                      int sink_error, char *errmsg, size_t n)
{
        const char *detail = !isempty(errbuf) ? errbuf : curl_easy_strerror(cc);
        int e;

        switch (cc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
                e = connect_errno(curl, socket_path);
                snprintf(errmsg, n, "cannot connect to Docker at %s: %s", socket_path, strerror(e));
                /* A missing socket is "Docker is down", not "no such thing". */
                return e == EACCES || e == EPERM ? -EACCES : -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                snprintf(errmsg, n, "Docker at %s did not answer in time: %s", socket_path, detail);
                return -ETIMEDOUT;
        case CURLE_WRITE_ERROR:
                if (sink_error < 0) {
                        if (sink_error == -E2BIG)
                                snprintf(errmsg, n, "Docker's answer is larger than allowed");
                        else if (isempty(errmsg))
                                snprintf(errmsg, n, "reading Docker's answer: %s",
                                         strerror(-sink_error));
                        return sink_error;
                }
                break;
        case CURLE_ABORTED_BY_CALLBACK:
                snprintf(errmsg, n, "transfer cancelled");
                return sink_error < 0 ? sink_error : -ECANCELED;
        case CURLE_OUT_OF_MEMORY:
                snprintf(errmsg, n, "out of memory");
                return -ENOMEM;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
                snprintf(errmsg, n, "Docker at %s closed the connection: %s", socket_path, detail);
                return -ECONNRESET;
        case CURLE_WEIRD_SERVER_REPLY:
                snprintf(errmsg, n, "Docker at %s answered something that is not HTTP: %s",
                         socket_path, detail);
                return -EBADMSG;
        default:
                break;
        }
        snprintf(errmsg, n, "talking to Docker at %s: %s", socket_path, detail);
        return -EIO;
}

int docker_status_errno(long status, const char *message)
{
        switch (status) {
        case 400:
                return -EINVAL;
        case 401:
        case 403:
                return -EACCES;
        case 404:
                return -ENOENT;
        case 409:
                /* "Conflict. The container name "/x" is already in use by ..." */
                if (message && strstr(message, "already in use"))
                        return -EEXIST;
                return -EBUSY;
        default:
                break;
        }
        if (status >= 500 && status < 600)
                return -EIO;
        return -EPROTO;
}

int docker_api_version_parse(const char *s, int *ret_major, int *ret_minor)
{
        long long major, minor;
        const char *dot;
        char buf[16];

        /* safe_atoi64 allows spaces and signs around the number; a version
         * has none. */
        if (isempty(s) || strlen(s) >= sizeof(buf) || strpbrk(s, " \t\n+-"))
                return -EINVAL;
        dot = strchr(s, '.');
        if (!dot || dot == s || !dot[1])
                return -EINVAL;
        memcpy(buf, s, (size_t)(dot - s));
        buf[dot - s] = '\0';
        if (safe_atoi64(buf, &major) < 0 || safe_atoi64(dot + 1, &minor) < 0)
                return -EINVAL;
        if (major < 1 || major > 99 || minor < 0 || minor > 999)
                return -EINVAL;
        *ret_major = (int)major;
        *ret_minor = (int)minor;
        return 0;
}

int docker_api_version_pick(const char *server_version, int *ret_major, int *ret_minor)
{
        int smaj, smin, mmaj, mmin;

        if (docker_api_version_parse(server_version, &smaj, &smin) < 0)
                return -EINVAL;
        if (docker_api_version_parse(DOCKER_API_VERSION_MAX, &mmaj, &mmin) < 0)
                return -EINVAL;
        if (smaj > mmaj || (smaj == mmaj && smin > mmin)) {
                smaj = mmaj;
                smin = mmin;
        }
        *ret_major = smaj;
        *ret_minor = smin;
        return 0;
}

void docker_errmsg_from_body(long status, const char *body, size_t len, char *errmsg, size_t n)
{
        json_t *j;
        const char *m;

        j = len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
        m = json_string_value(json_object_get(j, "message"));
        if (!isempty(m)) {
                snprintf(errmsg, n, "%s", m);
        } else if (!j && len > 0 && len < 512 && utf8_valid(body, len, NULL) &&
                   !memchr(body, '\0', len)) {
                /* Plain text (a proxy in between, an old engine). */
                snprintf(errmsg, n, "%.*s", (int)len, body);
                (void)strstrip(errmsg);
        } else {
                snprintf(errmsg, n, "Docker answered HTTP %ld", status);
        }
        json_decref(j);
}

int docker_append_escaped(struct strbuf *sb, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        struct strbuf tmp;
        int r = 0;

        /* Built aside so that a failure leaves sb as it was. */
        strbuf_init(&tmp, sb->max);
        for (const unsigned char *p = (const unsigned char *)s; *p && r >= 0; p++) {
                unsigned char ch = *p;

                if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
                        r = strbuf_putc(&tmp, (char)ch);
                } else {
                        char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
                        r = strbuf_append(&tmp, esc, sizeof(esc));
                }
        }
        if (r >= 0)
                r = strbuf_append(sb, strbuf_str(&tmp), tmp.len);
        strbuf_release(&tmp);
        return r;
}

/* ---- the client ---- */

int docker_client_new(const char *socket_path, struct docker_client **ret)
{
        struct docker_client *c;

        if (docker_curl_global_init() < 0)
                return -ENOMEM;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->socket_path = strdup(isempty(socket_path) ? DOCKER_DEFAULT_SOCKET : socket_path);
        c->curl = curl_easy_init();
        if (!c->socket_path || !c->curl) {
                docker_client_free(c);
                return -ENOMEM;
        }
        c->timeout_ms = DOCKER_TIMEOUT_MS;
        c->max_response = DOCKER_MAX_RESPONSE;
        *ret = c;
        return 0;
}

struct docker_client *docker_client_free(struct docker_client *c)
{
        if (!c)
                return NULL;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        free(c->socket_path);
        free(c);
        return NULL;
}

void docker_client_set_timeout(struct docker_client *c, long timeout_ms)
{
        c->timeout_ms = timeout_ms > 0 ? timeout_ms : DOCKER_TIMEOUT_MS;
}

void docker_client_set_max_response(struct docker_client *c, size_t max_bytes)
{
        c->max_response = max_bytes > 0 ? max_bytes : DOCKER_MAX_RESPONSE;
}

long docker_client_timeout(const struct docker_client *c)
{
        return c->timeout_ms;
}

const char *docker_client_socket(const struct docker_client *c)
{
        return c->socket_path;
}

const char *docker_errmsg(const struct docker_client *c)
{
        return c->errmsg;
}

const char *docker_api_version(const struct docker_client *c)
{
        return c->api_version[0] ? c->api_version : NULL;
}

bool docker_api_at_least(const struct docker_client *c, int major, int minor)
{
        if (c->api_major == 0)
                return false;
        return c->api_major > major || (c->api_major == major && c->api_minor >= minor);
}

int docker_set_error(struct docker_client *c, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
        va_end(ap);
        return r;
}

static void forget_version(struct docker_client *c)
{
        c->api_major = c->api_minor = 0;
        c->api_version[0] = '\0';
}

/* Takes the version to speak from a /version object. */
static int settle_version(struct docker_client *c, const json_t *version)
{
        const char *v = json_string_value(json_object_get(version, "ApiVersion"));
        int major, minor;

        if (docker_api_version_pick(v, &major, &minor) < 0)
                return docker_set_error(c, -EBADMSG, "Docker's /version has no usable ApiVersion");
        c->api_major = major;
        c->api_minor = minor;
        snprintf(c->api_version, sizeof(c->api_version), "%d.%d", major, minor);
        return 0;
}

struct perform_ctx {
        CURL *curl;
        const struct docker_call *call;
        struct strbuf *body;
        int error; /* -errno that made us abort the transfer */
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct perform_ctx *ctx = userdata;
        size_t n = size * nmemb;
        long status = 0;
        int r;

        (void)curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &status);
        if (ctx->call->on_data && status >= 200 && status < 300)
                r = ctx->call->on_data(ctx->call->userdata, data, n);
        else
                r = strbuf_append(ctx->body, data, n);
        if (r < 0) {
                ctx->error = r;
                return 0; /* aborts: CURLE_WRITE_ERROR */
        }
        return n;
}

static int header_add(struct curl_slist **list, const char *header)
{
        struct curl_slist *l = curl_slist_append(*list, header);

        if (!l)
                return -ENOMEM;
        *list = l;
        return 0;
}

static int negotiate(struct docker_client *c)
{
        struct docker_call call = {.method = "GET", .path = "/version", .unversioned = true};
        json_t *v = NULL;
        int r;

        r = docker_call_json(c, &call, &v);
        if (r < 0)
                return r;
        r = settle_version(c, v);
        json_decref(v);
        return r;
}

int docker_perform(struct docker_client *c, const struct docker_call *call, struct strbuf *body)
{
        char errbuf[CURL_ERROR_SIZE];
        struct perform_ctx ctx = {.curl = c->curl, .call = call, .body = body};
        struct curl_slist *headers = NULL;
        struct strbuf url;
        _cleanup_free_ char *text = NULL;
        long status = 0;
        CURLcode cc;
        int r;

        c->errmsg[0] = '\0';
        if (!call->unversioned && c->api_major == 0) {
                r = negotiate(c);
                if (r < 0)
                        return r;
                c->errmsg[0] = '\0';
        }

        strbuf_init(&url, DOCKER_PATH_MAX);
        r = strbuf_puts(&url, "http://docker");
        if (r >= 0 && !call->unversioned)
                r = strbuf_printf(&url, "/v%d.%d", c->api_major, c->api_minor);
        if (r >= 0)
                r = strbuf_puts(&url, call->path);
        if (r < 0) {
                strbuf_release(&url);
                return docker_set_error(c, r, "request path too long");
        }

        if (call->body) {
                text = json_dumps(call->body, JSON_COMPACT);
                if (!text) {
                        strbuf_release(&url);
                        return docker_set_error(c, -EINVAL, "request body cannot be serialized");
                }
        }
        if (header_add(&headers, "Accept: application/json") < 0 ||
            header_add(&headers, "Expect:") < 0 ||
            (text && header_add(&headers, "Content-Type: application/json") < 0)) {
                curl_slist_free_all(headers);
                strbuf_release(&url);
                return docker_set_error(c, -ENOMEM, "out of memory");
        }

        body->max = call->max_response > 0 ? call->max_response : c->max_response;
        strbuf_reset(body);

        curl_easy_reset(c->curl);
        docker_curl_setup(c->curl, c->socket_path, strbuf_str(&url),
                          call->timeout_ms > 0 ? call->timeout_ms : c->timeout_ms, errbuf);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &ctx);
        if (streq(call->method, "GET")) {
                curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
        } else if (streq(call->method, "POST")) {
                curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text ? text : "");
                curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t)(text ? strlen(text) : 0));
        } else {
                curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
                curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, call->method);
        }

        cc = curl_easy_perform(c->curl);
        curl_slist_free_all(headers);
        strbuf_release(&url);
        if (cc != CURLE_OK) {
                r = docker_curl_errno(c->curl, cc, c->socket_path, errbuf, ctx.error, c->errmsg,
                                      sizeof(c->errmsg));
                if (r == -ECONNREFUSED || r == -EACCES || r == -ECONNRESET)
                        forget_version(c); /* the engine may come back as another one */
                return r;
        }
        (void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status < 100 || status > 599)
                return docker_set_error(c, -EBADMSG, "Docker answered HTTP status %ld", status);
        return (int)status;
}

int docker_status_fail(struct docker_client *c, int status, const struct strbuf *body)
{
        docker_errmsg_from_body(status, strbuf_str(body), body->len, c->errmsg, sizeof(c->errmsg));
        return docker_status_errno(status, c->errmsg);
}

int docker_call_json(struct docker_client *c, const struct docker_call *call, json_t **ret)
{
        struct strbuf body;
        json_error_t jerr;
        json_t *j;
        int status;

        strbuf_init(&body, 0);
        status = docker_perform(c, call, &body);
        if (status < 0) {
                strbuf_release(&body);
                return status;
        }
        if (status == 304) {
                strbuf_release(&body);
                return 0;
        }
        if (status < 200 || status >= 300) {
                status = docker_status_fail(c, status, &body);
                strbuf_release(&body);
                return status;
        }
        if (!ret) {
                strbuf_release(&body);
                return 0;
        }
        j = json_loadb(strbuf_str(&body), body.len, 0, &jerr);
        strbuf_release(&body);
        if (!j)
                return docker_set_error(c, -EBADMSG, "Docker's answer to %s %s is not JSON: %s",
                                        call->method, call->path, jerr.text);
        *ret = j;
        return 0;
}

/* Builds "/containers/<escaped id><suffix>" into path. */
static int container_path(struct docker_client *c, struct strbuf *path, const char *id,
                          const char *suffix)
{
        int r;

        if (isempty(id))
                return docker_set_error(c, -EINVAL, "no container id or name given");
        strbuf_init(path, DOCKER_PATH_MAX);
        r = strbuf_puts(path, "/containers/");
        if (r >= 0)
                r = docker_append_escaped(path, id);
        if (r >= 0 && suffix)
                r = strbuf_puts(path, suffix);
        if (r < 0) {
                strbuf_release(path);
                return docker_set_error(c, r, "container id or name too long");
        }
        return 0;
}

/* Appends "?key=value" or "&key=value", value escaped. */
static int query_add(struct strbuf *path, const char *key, const char *value)
{
        int r;

        r = strbuf_printf(path, "%c%s=", strchr(strbuf_str(path), '?') ? '&' : '?', key);
        if (r < 0)
                return r;
        return docker_append_escaped(path, value);
}

/* One call on /containers/<id><suffix>; ret may be NULL. */
static int container_call(struct docker_client *c, const char *method, const char *id,
                          const char *suffix, const json_t *body, long timeout_ms, json_t **ret)
{
        struct strbuf path;
        struct docker_call call = {.method = method, .body = body, .timeout_ms = timeout_ms};
        int r;

        r = container_path(c, &path, id, suffix);
        if (r < 0)
                return r;
        call.path = strbuf_str(&path);
        r = docker_call_json(c, &call, ret);
        strbuf_release(&path);
        return r;
}

/* Checks the JSON type of an answer; consumes j on failure. */
static int expect_type(struct docker_client *c, json_t *j, json_type type, const char *what,
                       json_t **ret)
{
        /* NULL: a 304 where none belongs. */
        if (!j || json_typeof(j) != type) {
                json_decref(j);
                return docker_set_error(c, -EBADMSG, "Docker's %s answer has the wrong JSON type",
                                        what);
        }
        *ret = j;
        return 0;
}

int docker_ping(struct docker_client *c)
{
        struct docker_call call = {
            .method = "GET", .path = "/_ping", .unversioned = true, .max_response = 4096};

        return docker_call_json(c, &call, NULL);
}

int docker_version(struct docker_client *c, json_t **ret)
{
        struct docker_call call = {.method = "GET", .path = "/version", .unversioned = true};
        json_t *j = NULL;
        int r;

        r = docker_call_json(c, &call, &j);
        if (r < 0)
                return r;
        if (!json_is_object(j)) {
                json_decref(j);
                return docker_set_error(c, -EBADMSG, "Docker's /version is not an object");
        }
        if (c->api_major == 0 && settle_version(c, j) < 0) {
                json_decref(j);
                return -EBADMSG;
        }
        *ret = j;
        return 0;
}

int docker_info(struct docker_client *c, json_t **ret)
{
        struct docker_call call = {.method = "GET", .path = "/info"};
        json_t *j = NULL;
        int r;

        r = docker_call_json(c, &call, &j);
        if (r < 0)
                return r;
        return expect_type(c, j, JSON_OBJECT, "/info", ret);
}

int docker_container_list(struct docker_client *c, bool all, const json_t *filters, json_t **ret)
{
        struct docker_call call = {.method = "GET"};
        struct strbuf path;
        _cleanup_free_ char *f = NULL;
        json_t *j = NULL;
        int r;

        if (filters && !json_is_object(filters))
                return docker_set_error(c, -EINVAL, "container filters must be a JSON object");
        strbuf_init(&path, DOCKER_PATH_MAX);
        r = strbuf_puts(&path, "/containers/json");
        if (r >= 0 && all)
                r = query_add(&path, "all", "1");
        if (r >= 0 && filters && json_object_size(filters) > 0) {
                f = json_dumps(filters, JSON_COMPACT);
                r = f ? query_add(&path, "filters", f) : -ENOMEM;
        }
        if (r < 0) {
                strbuf_release(&path);
                return docker_set_error(c, r, "container filters too large");
        }
        call.path = strbuf_str(&path);
        r = docker_call_json(c, &call, &j);
        strbuf_release(&path);
        if (r < 0)
                return r;
        return expect_type(c, j, JSON_ARRAY, "container list", ret);
}

int docker_container_inspect(struct docker_client *c, const char *id_or_name, json_t **ret)
{
        json_t *j = NULL;
        int r;

        r = container_call(c, "GET", id_or_name, "/json", NULL, 0, &j);
        if (r < 0)
                return r;
        return expect_type(c, j, JSON_OBJECT, "container inspect", ret);
}

int docker_container_create(struct docker_client *c, const char *name, const json_t *config,
                            char **ret_id)
{
        struct docker_call call = {.method = "POST", .body = config};
        struct strbuf path;
        json_t *j = NULL;
        const char *id;
        char *dup;
        int r;

        if (!json_is_object(config))
                return docker_set_error(c, -EINVAL, "container config must be a JSON object");
        strbuf_init(&path, DOCKER_PATH_MAX);
        r = strbuf_puts(&path, "/containers/create");
        if (r >= 0 && !isempty(name))
                r = query_add(&path, "name", name);
        if (r < 0) {
                strbuf_release(&path);
                return docker_set_error(c, r, "container name too long");
        }
        call.path = strbuf_str(&path);
        r = docker_call_json(c, &call, &j);
        strbuf_release(&path);
        if (r < 0)
                return r;
        id = json_string_value(json_object_get(j, "Id"));
        if (isempty(id)) {
                json_decref(j);
                return docker_set_error(c, -EBADMSG, "Docker's create answer has no Id");
        }
        dup = strdup(id);
        json_decref(j);
        if (!dup)
                return docker_set_error(c, -ENOMEM, "out of memory");
        *ret_id = dup;
        return 0;
}

int docker_container_start(struct docker_client *c, const char *id_or_name)
{
        return container_call(c, "POST", id_or_name, "/start", NULL, 0, NULL);
}

int docker_container_stop(struct docker_client *c, const char *id_or_name, int grace_s)
{
        char suffix[32];
        long timeout_ms;

        if (grace_s > INT_MAX / 2000)
                return docker_set_error(c, -EINVAL, "stop grace of %d s is too long", grace_s);
        if (grace_s >= 0) {
                snprintf(suffix, sizeof(suffix), "/stop?t=%d", grace_s);
                timeout_ms = c->timeout_ms + (long)grace_s * 1000;
        } else {
                snprintf(suffix, sizeof(suffix), "/stop");
                timeout_ms = c->timeout_ms + 60000;
        }
        return container_call(c, "POST", id_or_name, suffix, NULL, timeout_ms, NULL);
}

int docker_container_kill(struct docker_client *c, const char *id_or_name, const char *signal)
{
        struct strbuf suffix;
        int r;

        strbuf_init(&suffix, 256);
        r = strbuf_puts(&suffix, "/kill");
        if (r >= 0 && !isempty(signal))
                r = query_add(&suffix, "signal", signal);
        if (r < 0) {
                strbuf_release(&suffix);
                return docker_set_error(c, -EINVAL, "signal name too long");
        }
        r = container_call(c, "POST", id_or_name, strbuf_str(&suffix), NULL, 0, NULL);
        strbuf_release(&suffix);
        return r;
}

int docker_container_remove(struct docker_client *c, const char *id_or_name, bool force,
                            bool volumes)
{
        char suffix[32];

        snprintf(suffix, sizeof(suffix), "%s%s%s", force || volumes ? "?" : "",
                 force ? "force=1" : "", volumes ? (force ? "&v=1" : "v=1") : "");
        return container_call(c, "DELETE", id_or_name, suffix, NULL, 0, NULL);
}

int docker_container_update(struct docker_client *c, const char *id_or_name, const json_t *body)
{
        if (!json_is_object(body))
                return docker_set_error(c, -EINVAL, "container update must be a JSON object");
        return container_call(c, "POST", id_or_name, "/update", body, 0, NULL);
}

int docker_container_rename(struct docker_client *c, const char *id_or_name, const char *new_name)
{
        struct strbuf suffix;
        int r;

        if (isempty(new_name))
                return docker_set_error(c, -EINVAL, "no new container name given");
        strbuf_init(&suffix, DOCKER_PATH_MAX);
        r = strbuf_puts(&suffix, "/rename");
        if (r >= 0)
                r = query_add(&suffix, "name", new_name);
        if (r < 0) {
                strbuf_release(&suffix);
                return docker_set_error(c, r, "container name too long");
        }
        r = container_call(c, "POST", id_or_name, strbuf_str(&suffix), NULL, 0, NULL);
        strbuf_release(&suffix);
        return r;
}

int docker_container_stats_once(struct docker_client *c, const char *id_or_name, json_t **ret)
{
        json_t *j = NULL;
        int r;

        /* one-shot needs 1.41; the suffix depends on the negotiated version,
         * so settle it first. */
        if (c->api_major == 0) {
                r = negotiate(c);
                if (r < 0)
                        return r;
        }
        r = container_call(c, "GET", id_or_name,
                           docker_api_at_least(c, 1, 41) ? "/stats?stream=false&one-shot=true"
                                                         : "/stats?stream=false",
                           NULL, 0, &j);
        if (r < 0)
                return r;
        return expect_type(c, j, JSON_OBJECT, "container stats", ret);
}
