/* docker-events.c - following Docker's /events stream on a thread of its own.
 *
 * The thread owns one curl easy handle driven through a multi handle, so that
 * it can wait in curl_multi_poll() on the transfer and on an eventfd at once:
 * docker_events_stop() writes the eventfd and the thread leaves within
 * milliseconds, whether it is streaming, connecting or sleeping between
 * attempts. Each session asks GET /version for the API version, then streams
 * GET /v1.NN/events?since=S&filters=F: newline-delimited JSON objects, which
 * may arrive split across writes (a line buffer with a ceiling joins them).
 *
 * Reconnecting: after a stream ends or a connection fails the thread tries
 * again after 100 ms, doubling up to BACKOFF_MAX_MS (1 s), so while Docker is
 * down it is asked once a second and its return is noticed within a second
 * of its socket answering (ds01d then runs a full reconcile pass: the
 * on_state callback). A stream that was established starts over at 100 ms.
 *
 * Replay: every reconnect asks again from the second of the newest event
 * delivered (since takes whole seconds), so the engine sends some events a
 * second time. Each delivered event is remembered by its timeNano and a hash
 * of Type, Action and Actor.ID in a ring of the last SEEN_MAX; an event that is
 * not newer than the newest delivered one and is in the ring is dropped. The
 * engine itself keeps only its last 256 events (20.10), so the ring is larger
 * than any replay can be. */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "docker/docker-internal.h"
#include "docker/docker.h"
#include "util/strbuf.h"
#include "util/strutil.h"

#define SEEN_MAX         512
#define BACKOFF_MIN_MS   100L
#define BACKOFF_MAX_MS   1000L
#define NSEC_PER_SEC     1000000000LL
#define POLL_INTERVAL_MS 1000

struct seen_event {
        int64_t time_nano;
        uint64_t hash;
};

struct docker_events {
        char *socket_path;
        char *filters; /* compact JSON, or NULL */
        int64_t since_s;
        void (*on_event)(json_t *ev, void *userdata);
        void (*on_state)(bool connected, void *userdata);
        void *userdata;

        pthread_t thread;
        int wake_fd; /* eventfd written by docker_events_stop() */
        atomic_bool stopping;

        /* Used by the thread only. */
        CURL *curl;
        CURLM *multi;
        char errbuf[CURL_ERROR_SIZE];
        int state;           /* -1 not known yet, 0 disconnected, 1 connected */
        long status;         /* of the current transfer, once its headers are in */
        struct strbuf line;  /* the event line being assembled */
        bool skipping;       /* dropping the rest of a line that was too long */
        struct strbuf small; /* /version, error bodies */
        int64_t origin_s;    /* since of the first established stream; 0 none */
        int64_t last_time_nano;
        struct seen_event seen[SEEN_MAX];
        size_t seen_next, seen_count;

        atomic_uint_fast64_t delivered, duplicates, dropped, connects;
};

static void set_state(struct docker_events *ev, bool connected)
{
        int s = connected ? 1 : 0;

        if (ev->state == s)
                return;
        ev->state = s;
        if (ev->on_state)
                ev->on_state(connected, ev->userdata);
}

static bool stopping(const struct docker_events *ev)
{
        return atomic_load(&ev->stopping);
}

/* ---- events and duplicates ---- */

static uint64_t fnv1a(uint64_t h, const char *s)
{
        for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
                h ^= *p;
                h *= 0x100000001b3ULL;
        }
        /* The terminating NUL too, so that ("ab","c") and ("a","bc") differ. */
        h *= 0x100000001b3ULL;
        return h;
}

static const char *str_or(const json_t *o, const char *key, const char *fallback_key)
{
        const char *s = json_string_value(json_object_get(o, key));

        if (!s && fallback_key)
                s = json_string_value(json_object_get(o, fallback_key));
        return s;
}

static uint64_t event_hash(const json_t *e)
{
        uint64_t h = 0xcbf29ce484222325ULL;

        h = fnv1a(h, str_or(e, "Type", NULL));
        h = fnv1a(h, str_or(e, "Action", "status"));
        h = fnv1a(h, str_or(json_object_get(e, "Actor"), "ID", NULL) ?: str_or(e, "id", NULL));
        return h;
}

static int64_t event_time_nano(const json_t *e)
{
        const json_t *tn = json_object_get(e, "timeNano");
        const json_t *t = json_object_get(e, "time");

        if (json_is_integer(tn))
                return (int64_t)json_integer_value(tn);
        if (json_is_integer(t) && json_integer_value(t) >= 0 &&
            json_integer_value(t) < INT64_MAX / NSEC_PER_SEC)
                return (int64_t)json_integer_value(t) * NSEC_PER_SEC;
        return 0;
}

static bool seen_has(const struct docker_events *ev, int64_t time_nano, uint64_t hash)
{
        for (size_t i = 0; i < ev->seen_count; i++)
                if (ev->seen[i].time_nano == time_nano && ev->seen[i].hash == hash)
                        return true;
        return false;
}

static void seen_add(struct docker_events *ev, int64_t time_nano, uint64_t hash)
{
        ev->seen[ev->seen_next] = (struct seen_event){time_nano, hash};
        ev->seen_next = (ev->seen_next + 1) % SEEN_MAX;
        if (ev->seen_count < SEEN_MAX)
                ev->seen_count++;
}

static void handle_line(struct docker_events *ev)
{
        json_t *e;
        int64_t tn;
        uint64_t h;

        if (strbuf_str(&ev->line)[strspn(strbuf_str(&ev->line), " \t\r")] == '\0')
                return; /* blank */
        e = json_loadb(strbuf_str(&ev->line), ev->line.len, 0, NULL);
        if (!json_is_object(e)) {
                json_decref(e);
                atomic_fetch_add(&ev->dropped, 1);
                return;
        }
        tn = event_time_nano(e);
        h = event_hash(e);
        if (tn <= ev->last_time_nano && seen_has(ev, tn, h)) {
                atomic_fetch_add(&ev->duplicates, 1);
                json_decref(e);
                return;
        }
        seen_add(ev, tn, h);
        if (tn > ev->last_time_nano)
                ev->last_time_nano = tn;
        ev->on_event(e, ev->userdata);
        atomic_fetch_add(&ev->delivered, 1);
        json_decref(e);
}

/* ---- curl callbacks ---- */

static size_t on_small(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct docker_events *ev = userdata;
        size_t n = size * nmemb;

        if (stopping(ev) || strbuf_append(&ev->small, data, n) < 0)
                return 0;
        return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct docker_events *ev = userdata;
        size_t n = size * nmemb;
        long status = 0;

        /* The blank line that ends the headers of an answer. */
        if (n > 2 || (n > 0 && data[0] != '\r' && data[0] != '\n'))
                return n;
        (void)curl_easy_getinfo(ev->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 100 && status < 200)
                return n; /* interim answer; the real one follows */
        ev->status = status;
        if (status == 200) {
                atomic_fetch_add(&ev->connects, 1);
                set_state(ev, true);
        }
        return n;
}

static size_t on_stream(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct docker_events *ev = userdata;
        size_t total = size * nmemb, n = total;

        if (stopping(ev))
                return 0;
        if (ev->status != 200) {
                /* An error body: keep what fits for nothing but completeness. */
                (void)strbuf_append(&ev->small, data, n);
                return total;
        }
        while (n > 0) {
                const char *nl = memchr(data, '\n', n);
                size_t k = nl ? (size_t)(nl - data) : n;

                if (!ev->skipping && strbuf_append(&ev->line, data, k) < 0) {
                        /* Longer than DOCKER_EVENT_MAX_LINE (or no memory). */
                        ev->skipping = true;
                        strbuf_release(&ev->line);
                        atomic_fetch_add(&ev->dropped, 1);
                }
                if (nl) {
                        if (!ev->skipping)
                                handle_line(ev);
                        ev->skipping = false;
                        strbuf_reset(&ev->line);
                        k++;
                }
                data += k;
                n -= k;
                if (stopping(ev))
                        return 0;
        }
        return total;
}

/* ---- transfers ---- */

/* Runs the handle's transfer to its end (*ret_cc its result) or until
 * docker_events_stop() (-ECANCELED). */
static int run_transfer(struct docker_events *ev, CURLcode *ret_cc)
{
        struct curl_waitfd wake = {.fd = ev->wake_fd, .events = CURL_WAIT_POLLIN};
        CURLcode cc = CURLE_OK;
        bool done = false;
        int r = 0;

        if (curl_multi_add_handle(ev->multi, ev->curl) != CURLM_OK)
                return -ENOMEM;
        while (!done) {
                int running = 0, queued = 0;
                CURLMsg *msg;

                if (stopping(ev)) {
                        r = -ECANCELED;
                        break;
                }
                if (curl_multi_perform(ev->multi, &running) != CURLM_OK) {
                        r = -EIO;
                        break;
                }
                while ((msg = curl_multi_info_read(ev->multi, &queued))) {
                        if (msg->msg == CURLMSG_DONE && msg->easy_handle == ev->curl) {
                                cc = msg->data.result;
                                done = true;
                        }
                }
                if (done || running == 0)
                        break;
                if (curl_multi_poll(ev->multi, &wake, 1, POLL_INTERVAL_MS, NULL) != CURLM_OK) {
                        r = -EIO;
                        break;
                }
        }
        (void)curl_multi_remove_handle(ev->multi, ev->curl);
        if (r == 0 && stopping(ev))
                r = -ECANCELED;
        if (r == 0)
                *ret_cc = cc;
        return r;
}

/* A new easy handle for each transfer, not curl_easy_reset(): libcurl 7.88
 * (Debian 12) reads freed memory when a reused handle gets an answer whose
 * first header line is a folded one (found by tests/fuzz/fuzz-docker-events). */
static int fresh_handle(struct docker_events *ev)
{
        curl_easy_cleanup(ev->curl);
        ev->curl = curl_easy_init();
        return ev->curl ? 0 : -ENOMEM;
}

static int negotiate(struct docker_events *ev, int *ret_major, int *ret_minor)
{
        json_t *v;
        CURLcode cc = CURLE_OK;
        long status = 0;
        int r;

        strbuf_reset(&ev->small);
        r = fresh_handle(ev);
        if (r < 0)
                return r;
        docker_curl_setup(ev->curl, ev->socket_path, "http://docker/version", DOCKER_TIMEOUT_MS,
                          ev->errbuf);
        curl_easy_setopt(ev->curl, CURLOPT_WRITEFUNCTION, on_small);
        curl_easy_setopt(ev->curl, CURLOPT_WRITEDATA, ev);
        r = run_transfer(ev, &cc);
        if (r < 0)
                return r;
        if (cc != CURLE_OK)
                return -EIO;
        (void)curl_easy_getinfo(ev->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200)
                return -EIO;
        v = json_loadb(strbuf_str(&ev->small), ev->small.len, 0, NULL);
        r = docker_api_version_pick(json_string_value(json_object_get(v, "ApiVersion")), ret_major,
                                    ret_minor);
        json_decref(v);
        return r < 0 ? -EBADMSG : 0;
}

static int64_t now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec;
}

/* One connection: negotiate, then stream until it ends. *ret_connected:
 * whether the stream was established. */
static int session(struct docker_events *ev, bool *ret_connected)
{
        struct strbuf url;
        CURLcode cc = CURLE_OK;
        int64_t since;
        int major, minor, r;

        *ret_connected = false;
        r = negotiate(ev, &major, &minor);
        if (r < 0)
                return r;

        if (ev->last_time_nano > 0)
                since = ev->last_time_nano / NSEC_PER_SEC;
        else if (ev->since_s > 0)
                since = ev->since_s;
        else if (ev->origin_s > 0)
                since = ev->origin_s;
        else
                since = now_s();

        strbuf_init(&url, DOCKER_PATH_MAX);
        r = strbuf_printf(&url, "http://docker/v%d.%d/events?since=%lld", major, minor,
                          (long long)since);
        if (r >= 0 && ev->filters) {
                r = strbuf_puts(&url, "&filters=");
                if (r >= 0)
                        r = docker_append_escaped(&url, ev->filters);
        }
        if (r < 0) {
                strbuf_release(&url);
                return r;
        }

        ev->status = 0;
        ev->skipping = false;
        strbuf_reset(&ev->line);
        strbuf_reset(&ev->small);
        r = fresh_handle(ev);
        if (r < 0) {
                strbuf_release(&url);
                return r;
        }
        /* No overall timeout: the stream is meant to last. */
        docker_curl_setup(ev->curl, ev->socket_path, strbuf_str(&url), 0, ev->errbuf);
        curl_easy_setopt(ev->curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(ev->curl, CURLOPT_HEADERDATA, ev);
        curl_easy_setopt(ev->curl, CURLOPT_WRITEFUNCTION, on_stream);
        curl_easy_setopt(ev->curl, CURLOPT_WRITEDATA, ev);
        r = run_transfer(ev, &cc);
        strbuf_release(&url);
        if (ev->status == 200) {
                *ret_connected = true;
                if (ev->origin_s == 0)
                        ev->origin_s = since;
        }
        if (r < 0)
                return r;
        return cc == CURLE_OK ? 0 : -EIO;
}

/* Sleeps ms unless docker_events_stop() comes first (then true). */
static bool wait_or_stop(struct docker_events *ev, long ms)
{
        struct pollfd p = {.fd = ev->wake_fd, .events = POLLIN};
        int r;

        if (stopping(ev))
                return true;
        r = poll(&p, 1, (int)ms);
        return stopping(ev) || r > 0;
}

static void *events_main(void *userdata)
{
        struct docker_events *ev = userdata;
        long backoff = 0;

        while (!stopping(ev)) {
                bool connected = false;
                int r;

                r = session(ev, &connected);
                if (r == -ECANCELED || stopping(ev))
                        break;
                set_state(ev, false);
                if (connected)
                        backoff = BACKOFF_MIN_MS;
                else
                        backoff = backoff == 0 ? BACKOFF_MIN_MS : MIN(backoff * 2, BACKOFF_MAX_MS);
                if (wait_or_stop(ev, backoff))
                        break;
        }
        return NULL;
}

/* ---- start and stop ---- */

static void events_free(struct docker_events *ev)
{
        if (!ev)
                return;
        if (ev->curl)
                curl_easy_cleanup(ev->curl);
        if (ev->multi)
                curl_multi_cleanup(ev->multi);
        if (ev->wake_fd >= 0)
                close(ev->wake_fd);
        strbuf_release(&ev->line);
        strbuf_release(&ev->small);
        free(ev->socket_path);
        free(ev->filters);
        free(ev);
}

int docker_events_start(const char *socket_path, int64_t since_s, const json_t *filters,
                        void (*on_event)(json_t *ev, void *userdata),
                        void (*on_state)(bool connected, void *userdata), void *userdata,
                        struct docker_events **ret)
{
        struct docker_events *ev;
        sigset_t all, saved;
        int r;

        if (!on_event || (filters && !json_is_object(filters)) || since_s < 0)
                return -EINVAL;
        if (docker_curl_global_init() < 0)
                return -ENOMEM;

        ev = calloc(1, sizeof(*ev));
        if (!ev)
                return -ENOMEM;
        ev->wake_fd = -1;
        ev->state = -1;
        ev->since_s = since_s;
        ev->on_event = on_event;
        ev->on_state = on_state;
        ev->userdata = userdata;
        atomic_init(&ev->stopping, false);
        atomic_init(&ev->delivered, 0);
        atomic_init(&ev->duplicates, 0);
        atomic_init(&ev->dropped, 0);
        atomic_init(&ev->connects, 0);
        strbuf_init(&ev->line, DOCKER_EVENT_MAX_LINE);
        strbuf_init(&ev->small, DOCKER_SMALL_RESPONSE);

        ev->socket_path = strdup(isempty(socket_path) ? DOCKER_DEFAULT_SOCKET : socket_path);
        if (filters && json_object_size(filters) > 0)
                ev->filters = json_dumps(filters, JSON_COMPACT);
        ev->curl = curl_easy_init();
        ev->multi = curl_multi_init();
        if (!ev->socket_path || (filters && json_object_size(filters) > 0 && !ev->filters) ||
            !ev->curl || !ev->multi) {
                events_free(ev);
                return -ENOMEM;
        }
        ev->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (ev->wake_fd < 0) {
                r = -errno;
                events_free(ev);
                return r;
        }

        /* The thread takes no signals: they belong to the caller's threads. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = pthread_create(&ev->thread, NULL, events_main, ev);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r != 0) {
                events_free(ev);
                return -r;
        }
        *ret = ev;
        return 0;
}

void docker_events_stop(struct docker_events *ev)
{
        uint64_t one = 1;
        ssize_t n;

        if (!ev)
                return;
        assert(!pthread_equal(pthread_self(), ev->thread));
        atomic_store(&ev->stopping, true);
        do
                n = write(ev->wake_fd, &one, sizeof(one));
        while (n < 0 && errno == EINTR);
        (void)pthread_join(ev->thread, NULL);
        events_free(ev);
}

void docker_events_get_counters(const struct docker_events *ev, struct docker_events_counters *ret)
{
        *ret = (struct docker_events_counters){
            .delivered = atomic_load(&ev->delivered),
            .duplicates = atomic_load(&ev->duplicates),
            .dropped = atomic_load(&ev->dropped),
            .connects = atomic_load(&ev->connects),
        };
}
