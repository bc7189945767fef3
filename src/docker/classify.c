/* classify.c - reads a container's `docker inspect` JSON into a struct
 * container_class: owner, type, state, times, ds01 labels and the GPUs it asked
 * for. The rules and their order are in classify.h.
 *
 * Everything here is pure: the JSON may have any shape (it is fuzzed), so every
 * field is looked up by type and treated as absent when it is not what Docker
 * writes; every string copied has a ceiling, and text that does not fit or
 * holds control characters is refused rather than truncated. System lookups
 * (users, path owners) go through the caller's callbacks. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker/classify.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* Longest host path looked at (PATH_MAX). */
#define CLASSIFY_PATH_MAX 4096
/* Bind mounts under /home checked with path_owner(), at most. */
#define CLASSIFY_MAX_BIND_CHECKS 64
/* Longest time string parsed. */
#define CLASSIFY_TIME_MAX 64

static const char *const container_types[] = {
    "orchestration", "atomic", "api", "devcontainer", "compose", "docker",
};

static const char *const docker_states[] = {
    "created", "running", "paused", "restarting", "removing", "exited", "dead",
};

/* ---- JSON access: the value when it has the expected type, else NULL ---- */

static const json_t *obj_get(const json_t *o, const char *key)
{
        return json_is_object(o) ? json_object_get(o, key) : NULL;
}

static const json_t *obj_get_object(const json_t *o, const char *key)
{
        const json_t *v = obj_get(o, key);

        return json_is_object(v) ? v : NULL;
}

static const json_t *obj_get_array(const json_t *o, const char *key)
{
        const json_t *v = obj_get(o, key);

        return json_is_array(v) ? v : NULL;
}

/* A JSON string as a C string, or NULL when v is not a string or holds a NUL. */
static const char *json_cstr(const json_t *v)
{
        const char *s;

        if (!json_is_string(v))
                return NULL;
        s = json_string_value(v);
        if (!s || strlen(s) != json_string_length(v))
                return NULL;
        return s;
}

static const char *obj_get_str(const json_t *o, const char *key)
{
        return json_cstr(obj_get(o, key));
}

/* ---- text checks ---- */

/* Non-empty, shorter than max bytes, valid UTF-8, no C0/C1 control character
 * and no DEL. */
static bool text_ok(const char *s, size_t max)
{
        size_t n;

        if (isempty(s))
                return false;
        n = strnlen(s, max);
        if (n >= max)
                return false;
        if (!utf8_valid(s, n, NULL))
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c < 0x20 || c == 0x7f)
                        return false;
                /* U+0080..U+009F are C2 80..C2 9F in UTF-8. */
                if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] <= 0x9f)
                        return false;
        }
        return true;
}

/* Copies s into dst when text_ok(s, size); else dst = "" and false. */
static bool copy_text(char *dst, size_t size, const char *s)
{
        if (!text_ok(s, size)) {
                dst[0] = '\0';
                return false;
        }
        return strscpy(dst, size, s) == 0;
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t';
}

/* ---- labels ---- */

/* A label's value when it is a usable string (text_ok under max), else NULL. */
static const char *label_text(const json_t *labels, const char *key, size_t max)
{
        const char *s = obj_get_str(labels, key);

        return text_ok(s, max) ? s : NULL;
}

static bool label_is_true(const json_t *labels, const char *key)
{
        const char *s = obj_get_str(labels, key);

        return s && streq(s, "true");
}

static bool has_label_prefix(const json_t *labels, const char *prefix)
{
        const char *key;
        json_t *v;

        if (!json_is_object(labels))
                return false;
        /* json_object_foreach takes a non-const object; it does not modify it. */
        json_object_foreach((json_t *)labels, key, v)
        {
                if (startswith(key, prefix))
                        return true;
        }
        return false;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (streq(s, list[i]))
                        return true;
        return false;
}

/* ---- owner ---- */

struct owner_result {
        char name[CLASSIFY_OWNER_MAX];
        int64_t uid;
};

/* The uid in a name "<anything>._.<uid>" (the last "._."), all digits, below
 * (uid_t)-1. */
static bool name_uid(const char *name, unsigned *ret_uid)
{
        const char *p, *last = NULL;
        uint64_t v = 0;
        size_t n = 0;

        for (p = name; (p = strstr(p, "._.")); p++)
                last = p;
        if (!last)
                return false;
        for (p = last + 3; *p; p++, n++) {
                if (!is_digit(*p) || n >= 10)
                        return false;
                v = v * 10 + (uint64_t)(*p - '0');
        }
        if (n == 0 || v >= UINT32_MAX)
                return false;
        *ret_uid = (unsigned)v;
        return true;
}

/* True when some '/'-separated component of path is "..". */
static bool path_has_dotdot(const char *path)
{
        for (const char *p = path; *p;) {
                const char *e = strchrnul(p, '/');

                if (e - p == 2 && p[0] == '.' && p[1] == '.')
                        return true;
                p = *e ? e + 1 : e;
        }
        return false;
}

/* The user <u> of a path "/home/<u>" or "/home/<u>/…" into ret (size
 * CLASSIFY_OWNER_MAX). */
static bool home_user(const char *path, char *ret)
{
        const char *rest = startswith(path, "/home/");
        const char *end;
        size_t len;

        if (!rest || path_has_dotdot(path))
                return false;
        end = strchrnul(rest, '/');
        len = (size_t)(end - rest);
        if (len == 0 || len >= CLASSIFY_OWNER_MAX || (len == 1 && rest[0] == '.'))
                return false;
        memcpy(ret, rest, len);
        ret[len] = '\0';
        return text_ok(ret, CLASSIFY_OWNER_MAX);
}

static bool lookup_name_to_uid(const struct classify_lookup *lk, const char *name, unsigned *ret)
{
        unsigned uid;

        if (!lk || !lk->name_to_uid)
                return false;
        if (lk->name_to_uid(lk->ud, name, &uid) < 0)
                return false;
        *ret = uid;
        return true;
}

/* A label path /home/<u>/… whose <u> is a known user. */
static bool owner_from_home_label(const json_t *labels, const char *key,
                                  const struct classify_lookup *lk, struct owner_result *ret)
{
        const char *path = label_text(labels, key, CLASSIFY_PATH_MAX);
        char user[CLASSIFY_OWNER_MAX];
        unsigned uid;

        if (!path || !home_user(path, user) || !lookup_name_to_uid(lk, user, &uid))
                return false;
        memcpy(ret->name, user, sizeof(user));
        ret->uid = uid;
        return true;
}

static bool owner_from_name(const char *name, const struct classify_lookup *lk,
                            struct owner_result *ret)
{
        char buf[CLASSIFY_OWNER_MAX];
        unsigned uid;

        if (!name_uid(name, &uid) || !lk || !lk->uid_to_name)
                return false;
        memset(buf, 0, sizeof(buf));
        if (lk->uid_to_name(lk->ud, uid, buf, sizeof(buf)) < 0)
                return false;
        buf[sizeof(buf) - 1] = '\0';
        if (!text_ok(buf, sizeof(buf)))
                return false;
        memcpy(ret->name, buf, sizeof(buf));
        ret->uid = uid;
        return true;
}

/* One bind source: /home/<u>/… owned by <u>'s uid. *checks counts path_owner()
 * calls. */
static bool owner_from_bind_source(const char *source, const struct classify_lookup *lk,
                                   unsigned *checks, struct owner_result *ret)
{
        char user[CLASSIFY_OWNER_MAX];
        unsigned uid, path_uid;

        if (!text_ok(source, CLASSIFY_PATH_MAX) || !home_user(source, user))
                return false;
        if (*checks >= CLASSIFY_MAX_BIND_CHECKS)
                return false;
        if (!lookup_name_to_uid(lk, user, &uid) || !lk->path_owner)
                return false;
        (*checks)++;
        if (lk->path_owner(lk->ud, source, &path_uid) < 0 || path_uid != uid)
                return false;
        memcpy(ret->name, user, sizeof(user));
        ret->uid = uid;
        return true;
}

/* .Mounts (Type "bind", Source), or HostConfig.Binds ("src:dst[:opts]") when
 * .Mounts is missing. */
static bool owner_from_binds(const json_t *inspect, const json_t *host_config,
                             const struct classify_lookup *lk, struct owner_result *ret)
{
        const json_t *mounts = obj_get(inspect, "Mounts"), *binds, *m;
        unsigned checks = 0;
        size_t i;

        if (!lk || !lk->name_to_uid || !lk->path_owner)
                return false;

        if (json_is_array(mounts)) {
                json_array_foreach(mounts, i, m)
                {
                        const char *type = obj_get_str(m, "Type");
                        const char *source = obj_get_str(m, "Source");

                        if (!type || !streq(type, "bind") || !source)
                                continue;
                        if (owner_from_bind_source(source, lk, &checks, ret))
                                return true;
                }
                return false;
        }

        binds = obj_get_array(host_config, "Binds");
        json_array_foreach(binds, i, m)
        {
                const char *spec = json_cstr(m);
                char source[CLASSIFY_PATH_MAX];
                size_t len;

                if (!spec || spec[0] != '/')
                        continue;
                len = strcspn(spec, ":");
                if (len >= sizeof(source))
                        continue;
                memcpy(source, spec, len);
                source[len] = '\0';
                if (owner_from_bind_source(source, lk, &checks, ret))
                        return true;
        }
        return false;
}

static enum container_owner_source find_owner(const json_t *inspect, const json_t *labels,
                                              const json_t *host_config, const char *name,
                                              const struct classify_lookup *lk,
                                              struct owner_result *ret)
{
        const char *s;

        ret->name[0] = '\0';
        ret->uid = -1;

        s = label_text(labels, "ds01.user", CLASSIFY_OWNER_MAX);
        if (s) {
                strscpy(ret->name, sizeof(ret->name), s);
                return OWNER_LABEL;
        }
        s = label_text(labels, "aime.mlc.USER", CLASSIFY_OWNER_MAX);
        if (s) {
                strscpy(ret->name, sizeof(ret->name), s);
                return OWNER_AIME;
        }
        if (owner_from_home_label(labels, "devcontainer.local_folder", lk, ret))
                return OWNER_DEVCONTAINER;
        if (owner_from_name(name, lk, ret))
                return OWNER_NAME_UID;
        if (owner_from_binds(inspect, host_config, lk, ret))
                return OWNER_BIND_MOUNT;
        if (owner_from_home_label(labels, "com.docker.compose.project.working_dir", lk, ret))
                return OWNER_COMPOSE;

        ret->name[0] = '\0';
        ret->uid = -1;
        return OWNER_UNKNOWN;
}

/* ---- type ---- */

static const char *find_type(const json_t *labels, const char *name)
{
        const char *s;
        unsigned uid;

        s = obj_get_str(labels, "ds01.container_type");
        if (s && in_list(s, container_types, ELEMENTSOF(container_types)))
                return s;

        s = obj_get_str(labels, "ds01.interface");
        if (s && (streq(s, "orchestration") || streq(s, "atomic") || streq(s, "api")))
                return s;

        if (label_is_true(labels, "ds01.managed") ||
            label_is_true(labels, "aime.mlc.DS01_MANAGED") || name_uid(name, &uid))
                return "atomic";

        if (has_label_prefix(labels, "devcontainer.") || startswith(name, "vsc-"))
                return "devcontainer";

        if (has_label_prefix(labels, "com.docker.compose."))
                return "compose";

        return "docker";
}

/* ---- state and times ---- */

static void find_state(const json_t *state, char ret[static CLASSIFY_STATE_MAX])
{
        const char *s = obj_get_str(state, "Status");

        if (s && in_list(s, docker_states, ELEMENTSOF(docker_states))) {
                strscpy(ret, CLASSIFY_STATE_MAX, s);
                return;
        }

        /* An older or odd reply: what the flags say. */
        if (json_is_true(obj_get(state, "Dead")))
                s = "dead";
        else if (json_is_true(obj_get(state, "Restarting")))
                s = "restarting";
        else if (json_is_true(obj_get(state, "Paused")))
                s = "paused";
        else if (json_is_true(obj_get(state, "Running")))
                s = "running";
        else
                s = "";
        strscpy(ret, CLASSIFY_STATE_MAX, s);
}

/* True when the ISO 8601 string s carries a zone after its date part. */
static bool has_zone(const char *s)
{
        size_t n = strlen(s);

        for (size_t i = 10; i < n; i++)
                if (s[i] == 'Z' || s[i] == 'z' || s[i] == '+' || s[i] == '-')
                        return true;
        return false;
}

/* Epoch seconds from an RFC 3339 / ISO 8601 time (UTC when it has no zone) or
 * from a decimal number of seconds. Docker's zero time and anything before 1970
 * are 0. 0 on success, -EINVAL. */
static int parse_utc(const char *s, int64_t *ret)
{
        char buf[CLASSIFY_TIME_MAX + 16];
        long long v;
        int64_t t;
        size_t n;
        int r;

        if (!s)
                return -EINVAL;
        while (is_space(*s))
                s++;
        n = strnlen(s, CLASSIFY_TIME_MAX);
        if (n == 0 || n >= CLASSIFY_TIME_MAX)
                return -EINVAL;

        if (is_digit(s[0]) && strspn(s, "0123456789") == n) {
                r = safe_atoi64(s, &v);
                if (r < 0)
                        return r;
                *ret = v;
                return 0;
        }

        memcpy(buf, s, n + 1);
        while (n > 0 && is_space(buf[n - 1]))
                buf[--n] = '\0';
        /* Without a zone, UTC: ds01 and the old tools write UTC, and local
         * time would need the zone database (not pure). */
        if (n == 10)
                memcpy(buf + n, "T00:00:00Z", 11);
        else if (n > 10 && !has_zone(buf))
                memcpy(buf + n, "Z", 2);

        r = parse_timestamp(buf, &t);
        if (r < 0)
                return r;
        *ret = t < 0 ? 0 : t;
        return 0;
}

static int64_t time_field(const json_t *o, const char *key)
{
        int64_t t = 0;

        if (parse_utc(obj_get_str(o, key), &t) < 0)
                return 0;
        return t;
}

/* ---- GPUs ---- */

struct gpu_result {
        enum gpu_request_kind kind;
        enum gpu_request_source source;
        int count;
        char **devices;
        size_t n_devices;
};

static void gpu_result_release(struct gpu_result *g)
{
        for (size_t i = 0; i < g->n_devices; i++)
                free(g->devices[i]);
        g->devices = mfree(g->devices);
        g->n_devices = 0;
}

static bool device_ok(const char *s, size_t n)
{
        if (n == 0 || n >= CLASSIFY_DEVICE_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= 0x20 || s[i] >= 0x7f)
                        return false;
        return true;
}

/* Appends the entries of a comma list (spaces around entries trimmed; empty
 * or unprintable entries skipped; past CLASSIFY_MAX_GPU_DEVICES dropped).
 * 0 or -ENOMEM. */
static int add_devices(struct gpu_result *g, const char *list)
{
        const char *p = list;

        while (*p) {
                const char *e = strchrnul(p, ',');
                const char *a = p, *b = e;

                while (a < b && is_space(*a))
                        a++;
                while (b > a && is_space(b[-1]))
                        b--;
                if (device_ok(a, (size_t)(b - a)) && g->n_devices < CLASSIFY_MAX_GPU_DEVICES) {
                        char *d;

                        if (!g->devices) {
                                g->devices = calloc(CLASSIFY_MAX_GPU_DEVICES, sizeof(char *));
                                if (!g->devices)
                                        return -ENOMEM;
                        }
                        d = strndup(a, (size_t)(b - a));
                        if (!d)
                                return -ENOMEM;
                        g->devices[g->n_devices++] = d;
                }
                p = *e ? e + 1 : e;
        }
        return 0;
}

static bool caps_name_nvidia(const json_t *caps)
{
        const json_t *set, *c;
        size_t i, j;

        json_array_foreach(caps, i, set)
        {
                /* [["gpu"]] as Docker writes it; a flat ["gpu"] is accepted too. */
                const char *s = json_cstr(set);

                if (s && (streq(s, "gpu") || streq(s, "nvidia")))
                        return true;
                json_array_foreach(set, j, c)
                {
                        s = json_cstr(c);
                        if (s && (streq(s, "gpu") || streq(s, "nvidia")))
                                return true;
                }
        }
        return false;
}

/* 1 when a request said something, 0 when none did, -ENOMEM. */
static int gpus_from_device_requests(const json_t *host_config, struct gpu_result *g)
{
        const json_t *reqs = obj_get_array(host_config, "DeviceRequests"), *req, *ids, *id;
        size_t i, j;
        int r;

        json_array_foreach(reqs, i, req)
        {
                const char *driver = obj_get_str(req, "Driver");
                const json_t *count;
                json_int_t n = 0;

                if (!json_is_object(req))
                        continue;
                if (!(driver && streq(driver, "nvidia")) &&
                    !caps_name_nvidia(obj_get_array(req, "Capabilities")))
                        continue;

                ids = obj_get_array(req, "DeviceIDs");
                json_array_foreach(ids, j, id)
                {
                        const char *s = json_cstr(id);

                        if (!s)
                                continue;
                        r = add_devices(g, s);
                        if (r < 0)
                                return r;
                }
                if (g->n_devices > 0) {
                        g->kind = GPU_REQ_DEVICES;
                        g->source = GPU_SRC_DEVICE_REQUESTS;
                        g->count = (int)g->n_devices;
                        return 1;
                }

                count = obj_get(req, "Count");
                if (json_is_integer(count))
                        n = json_integer_value(count);
                if (n > 0) {
                        g->kind = GPU_REQ_COUNT;
                        g->source = GPU_SRC_DEVICE_REQUESTS;
                        g->count = n > INT32_MAX ? INT32_MAX : (int)n;
                        return 1;
                }
                if (n < 0) {
                        g->kind = GPU_REQ_ALL;
                        g->source = GPU_SRC_DEVICE_REQUESTS;
                        g->count = -1;
                        return 1;
                }
        }
        return 0;
}

/* 1 when the env decided (GPUs or explicitly none), 0 when it says nothing,
 * -ENOMEM. */
static int gpus_from_env(const json_t *config, const json_t *host_config, struct gpu_result *g)
{
        const char *runtime = obj_get_str(host_config, "Runtime");
        const json_t *env, *e;
        const char *value = NULL;
        char buf[CLASSIFY_DEVICE_MAX * CLASSIFY_MAX_GPU_DEVICES];
        size_t i, n;
        int r;

        if (!runtime || !streq(runtime, "nvidia"))
                return 0;
        env = obj_get_array(config, "Env");
        json_array_foreach(env, i, e)
        {
                const char *s = json_cstr(e), *v;

                if (s && (v = startswith(s, "NVIDIA_VISIBLE_DEVICES=")))
                        value = v;
        }
        if (!value)
                return 0;

        n = strnlen(value, sizeof(buf));
        if (n >= sizeof(buf))
                return 0;
        memcpy(buf, value, n + 1);
        strstrip(buf);

        if (streq(buf, "all")) {
                g->kind = GPU_REQ_ALL;
                g->source = GPU_SRC_ENV;
                g->count = -1;
                return 1;
        }
        if (streq(buf, "none") || streq(buf, "void") || streq(buf, ""))
                return 1;

        r = add_devices(g, buf);
        if (r < 0)
                return r;
        if (g->n_devices > 0) {
                g->kind = GPU_REQ_DEVICES;
                g->source = GPU_SRC_ENV;
                g->count = (int)g->n_devices;
        }
        return 1;
}

static int gpus_from_labels(const json_t *labels, struct gpu_result *g)
{
        static const char *const keys[] = {"ds01.gpu.uuids", "ds01.gpu.uuid"};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *s = label_text(labels, keys[i],
                                           (size_t)CLASSIFY_DEVICE_MAX * CLASSIFY_MAX_GPU_DEVICES);

                if (!s)
                        continue;
                r = add_devices(g, s);
                if (r < 0)
                        return r;
                if (g->n_devices > 0) {
                        g->kind = GPU_REQ_DEVICES;
                        g->source = GPU_SRC_LABEL;
                        g->count = (int)g->n_devices;
                        return 1;
                }
        }
        return 0;
}

static int find_gpus(const json_t *config, const json_t *host_config, const json_t *labels,
                     struct gpu_result *g)
{
        int r;

        r = gpus_from_device_requests(host_config, g);
        if (r != 0)
                return r < 0 ? r : 0;
        r = gpus_from_env(config, host_config, g);
        if (r != 0)
                return r < 0 ? r : 0;
        r = gpus_from_labels(labels, g);
        return r < 0 ? r : 0;
}

/* ---- the whole container ---- */

int container_classify(const json_t *inspect, const struct classify_lookup *lk,
                       struct container_class *ret)
{
        struct container_class c = {};
        struct gpu_result g = {};
        struct owner_result owner;
        const json_t *config, *labels, *host_config, *state;
        const char *s;
        int64_t t;
        int r;

        if (!ret)
                return -EINVAL;
        if (json_is_array(inspect)) {
                if (json_array_size(inspect) != 1)
                        return -EINVAL;
                inspect = json_array_get(inspect, 0);
        }
        if (!json_is_object(inspect))
                return -EINVAL;
        if (!copy_text(c.id, sizeof(c.id), obj_get_str(inspect, "Id")))
                return -EINVAL;

        config = obj_get_object(inspect, "Config");
        labels = obj_get_object(config, "Labels");
        host_config = obj_get_object(inspect, "HostConfig");
        state = obj_get_object(inspect, "State");

        s = obj_get_str(inspect, "Name");
        if (s && s[0] == '/')
                s++;
        copy_text(c.name, sizeof(c.name), s);

        c.owner_source = find_owner(inspect, labels, host_config, c.name, lk, &owner);
        memcpy(c.owner, owner.name, sizeof(c.owner));
        c.owner_uid = owner.uid;

        strscpy(c.type, sizeof(c.type), find_type(labels, c.name));
        copy_text(c.interface, sizeof(c.interface), obj_get_str(labels, "ds01.interface"));

        find_state(state, c.state);
        c.running = json_is_true(obj_get(state, "Running"));

        c.ds01_managed = label_text(labels, "ds01.user", CLASSIFY_OWNER_MAX) != NULL;
        c.is_protected = label_is_true(labels, "ds01.protected");
        c.is_monitoring = label_is_true(labels, "ds01.monitoring");

        r = find_gpus(config, host_config, labels, &g);
        if (r < 0) {
                gpu_result_release(&g);
                return r;
        }
        c.gpu_kind = g.kind;
        c.gpu_source = g.source;
        c.gpu_count = g.count;
        c.gpu_devices = TAKE_PTR(g.devices);
        c.n_gpu_devices = g.n_devices;

        copy_text(c.ds01_slots, sizeof(c.ds01_slots), obj_get_str(labels, "ds01.gpu.slots"));
        if (parse_utc(obj_get_str(labels, "ds01.gpu.allocated_at"), &t) == 0)
                c.ds01_allocated_at = t;

        copy_text(c.runtime, sizeof(c.runtime), obj_get_str(host_config, "Runtime"));
        copy_text(c.cgroup_parent, sizeof(c.cgroup_parent),
                  obj_get_str(host_config, "CgroupParent"));
        c.created_s = time_field(inspect, "Created");
        c.started_s = time_field(state, "StartedAt");
        c.finished_s = time_field(state, "FinishedAt");

        *ret = c;
        return 0;
}

void container_class_release(struct container_class *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n_gpu_devices; i++)
                free(c->gpu_devices[i]);
        free(c->gpu_devices);
        memset(c, 0, sizeof(*c));
}

const char *owner_source_name(enum container_owner_source s)
{
        static const char *const names[] = {
            [OWNER_UNKNOWN] = "unknown",   [OWNER_LABEL] = "label",
            [OWNER_AIME] = "aime",         [OWNER_DEVCONTAINER] = "devcontainer",
            [OWNER_NAME_UID] = "name_uid", [OWNER_BIND_MOUNT] = "bind_mount",
            [OWNER_COMPOSE] = "compose",
        };

        if ((unsigned)s >= ELEMENTSOF(names))
                return NULL;
        return names[s];
}

const char *gpu_request_kind_name(enum gpu_request_kind k)
{
        static const char *const names[] = {
            [GPU_REQ_NONE] = "none",
            [GPU_REQ_ALL] = "all",
            [GPU_REQ_COUNT] = "count",
            [GPU_REQ_DEVICES] = "devices",
        };

        if ((unsigned)k >= ELEMENTSOF(names))
                return NULL;
        return names[k];
}

const char *gpu_request_source_name(enum gpu_request_source s)
{
        static const char *const names[] = {
            [GPU_SRC_NONE] = "none",
            [GPU_SRC_DEVICE_REQUESTS] = "device_requests",
            [GPU_SRC_ENV] = "env",
            [GPU_SRC_LABEL] = "label",
        };

        if ((unsigned)s >= ELEMENTSOF(names))
                return NULL;
        return names[s];
}
