/* fuzz-docker-json.c - libFuzzer target for what ds01 decodes from Docker's
 * JSON answers (src/docker): the container classifier (classify.c) over
 * `GET /containers/{id}/json` objects, `docker inspect` arrays and
 * `GET /containers/json` list entries, with a fixed fake user database and
 * with this machine's own (host-lookup.c: NSS, lstat); the API version of a
 * `/version` answer (docker_api_version_pick) and the message of an error
 * body (docker_errmsg_from_body). The input is the answer's body as Docker
 * would send it; it is parsed as docker.c parses answers (json_loadb, flags
 * 0). Checks the promises of classify.h: every text field NUL-terminated,
 * inside its size and free of control characters; an owner exactly when a
 * rule found one; GPU kind, count and device list consistent; the type and
 * state from their fixed lists; the same answer twice. The corpus in
 * tests/fuzz/corpus/docker-json (real answers of Docker 20.10, see
 * docs/RELIABILITY.md) also runs under plain gcc through replay.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "docker/classify.h"
#include "docker/docker-internal.h"
#include "docker/host-lookup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A check failed: say which (the line in this file), then stop. */
static void broken(int line)
{
        fprintf(stderr, "fuzz-docker-json: the check at fuzz-docker-json.c:%d failed\n", line);
        abort();
}

static const struct {
        unsigned uid;
        const char *name;
} users[] = {{0, "root"}, {1000, "alice"}, {1001, "bob"}, {2000, "h.baker@example.org"}};

static int fake_uid_to_name(void *ud, unsigned uid, char *buf, size_t size)
{
        for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
                if (users[i].uid == uid)
                        return snprintf(buf, size, "%s", users[i].name) < (int)size ? 0 : -ENOBUFS;
        return -ENOENT;
}

static int fake_name_to_uid(void *ud, const char *name, unsigned *ret_uid)
{
        for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
                if (strcmp(users[i].name, name) == 0) {
                        *ret_uid = users[i].uid;
                        return 0;
                }
        return -ENOENT;
}

/* /home/<user>/... belongs to <user>; anything else to root. */
static int fake_path_owner(void *ud, const char *path, unsigned *ret_uid)
{
        if (strncmp(path, "/home/", 6) == 0)
                for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
                        size_t n = strlen(users[i].name);
                        if (strncmp(path + 6, users[i].name, n) == 0 &&
                            (path[6 + n] == '/' || path[6 + n] == '\0')) {
                                *ret_uid = users[i].uid;
                                return 0;
                        }
                }
        if (path[0] != '/')
                return -ENOENT;
        *ret_uid = 0;
        return 0;
}

static const struct classify_lookup fake_lookup = {
    .uid_to_name = fake_uid_to_name,
    .name_to_uid = fake_name_to_uid,
    .path_owner = fake_path_owner,
};

static void check_text(const char *what, const char *s, size_t size, bool may_be_control)
{
        size_t n = strnlen(s, size);

        if (n >= size) {
                fprintf(stderr, "fuzz-docker-json: %s is not NUL-terminated\n", what);
                broken(__LINE__);
        }
        for (size_t i = 0; i < n && !may_be_control; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
                        fprintf(stderr, "fuzz-docker-json: %s holds a control character\n", what);
                        broken(__LINE__);
                }
}

static bool in_list(const char *s, const char *const *list)
{
        for (; *list; list++)
                if (strcmp(s, *list) == 0)
                        return true;
        return false;
}

static void check_class(const struct container_class *c)
{
        static const char *const types[] = {"orchestration", "atomic", "api", "devcontainer",
                                            "compose",       "docker", NULL};
        static const char *const states[] = {
            "", "created", "running", "paused", "restarting", "removing", "exited", "dead", NULL};

        check_text("id", c->id, sizeof(c->id), false);
        check_text("name", c->name, sizeof(c->name), false);
        check_text("owner", c->owner, sizeof(c->owner), false);
        check_text("type", c->type, sizeof(c->type), false);
        check_text("interface", c->interface, sizeof(c->interface), false);
        check_text("state", c->state, sizeof(c->state), false);
        check_text("ds01_slots", c->ds01_slots, sizeof(c->ds01_slots), false);
        check_text("runtime", c->runtime, sizeof(c->runtime), false);
        check_text("cgroup_parent", c->cgroup_parent, sizeof(c->cgroup_parent), false);
        if (!c->id[0] || !in_list(c->type, types) || !in_list(c->state, states))
                broken(__LINE__);
        if ((c->owner_source == OWNER_UNKNOWN) != (c->owner[0] == '\0'))
                broken(__LINE__);
        if ((c->owner_source == OWNER_LABEL || c->owner_source == OWNER_AIME ||
             c->owner_source == OWNER_UNKNOWN) &&
            c->owner_uid != -1)
                broken(__LINE__);
        if (!owner_source_name(c->owner_source) || !gpu_request_kind_name(c->gpu_kind) ||
            !gpu_request_source_name(c->gpu_source))
                broken(__LINE__);
        if (c->gpu_kind != GPU_REQ_NONE && c->gpu_source == GPU_SRC_NONE)
                broken(__LINE__);
        switch (c->gpu_kind) {
        case GPU_REQ_NONE:
                if (c->gpu_count != 0 || c->n_gpu_devices != 0)
                        broken(__LINE__);
                break;
        case GPU_REQ_ALL:
                if (c->gpu_count != -1 || c->n_gpu_devices != 0)
                        broken(__LINE__);
                break;
        case GPU_REQ_COUNT:
                if (c->gpu_count <= 0 || c->n_gpu_devices != 0)
                        broken(__LINE__);
                break;
        case GPU_REQ_DEVICES:
                if (c->n_gpu_devices == 0 || c->n_gpu_devices > CLASSIFY_MAX_GPU_DEVICES ||
                    c->gpu_count != (int)c->n_gpu_devices)
                        broken(__LINE__);
                break;
        }
        for (size_t i = 0; i < c->n_gpu_devices; i++) {
                const char *dev = c->gpu_devices[i];
                size_t n = strlen(dev);
                if (n == 0 || n >= CLASSIFY_DEVICE_MAX)
                        broken(__LINE__);
                for (size_t k = 0; k < n; k++)
                        if (dev[k] <= 0x20 || dev[k] >= 0x7f || dev[k] == ',')
                                broken(__LINE__);
        }
}

static void same(const struct container_class *a, const struct container_class *b)
{
        if (strcmp(a->id, b->id) || strcmp(a->owner, b->owner) || strcmp(a->type, b->type) ||
            a->owner_source != b->owner_source || a->gpu_kind != b->gpu_kind ||
            a->gpu_count != b->gpu_count || a->n_gpu_devices != b->n_gpu_devices ||
            a->created_s != b->created_s || a->started_s != b->started_s ||
            a->ds01_allocated_at != b->ds01_allocated_at)
                broken(__LINE__);
        for (size_t i = 0; i < a->n_gpu_devices; i++)
                if (strcmp(a->gpu_devices[i], b->gpu_devices[i]))
                        broken(__LINE__);
}

static void classify(const json_t *j)
{
        struct container_class c, c2, h;
        int r;

        r = container_classify(j, &fake_lookup, &c);
        if (r < 0) {
                if (r != -EINVAL)
                        broken(__LINE__);
                if (container_classify(j, NULL, &c2) != r)
                        broken(__LINE__);
                return;
        }
        check_class(&c);
        if (container_classify(j, &fake_lookup, &c2) != 0)
                broken(__LINE__);
        same(&c, &c2);
        container_class_release(&c2);
        container_class_release(&c2); /* released twice: must be harmless */
        /* this machine's users and paths: only the checks that hold anywhere */
        if (container_classify(j, &classify_host_lookup, &h) != 0)
                broken(__LINE__);
        check_class(&h);
        container_class_release(&h);
        /* no lookups: only the label rules name an owner */
        if (container_classify(j, NULL, &c2) != 0)
                broken(__LINE__);
        check_class(&c2);
        if (c2.owner_source != OWNER_UNKNOWN && c2.owner_source != OWNER_LABEL &&
            c2.owner_source != OWNER_AIME)
                broken(__LINE__);
        container_class_release(&c2);
        container_class_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *j = json_loadb((const char *)data, size, 0, NULL);
        char msg[512], *s;
        int major, minor;

        /* the error message of a failed call, whatever the body */
        docker_errmsg_from_body(400, (const char *)data, size, msg, sizeof(msg));
        check_text("errmsg", msg, sizeof(msg), true);

        /* /version: the ApiVersion, else the whole body as the version */
        s = strndup((const char *)data, size);
        if (s) {
                const char *v = json_string_value(json_object_get(j, "ApiVersion"));
                if (docker_api_version_pick(v ? v : s, &major, &minor) == 0 &&
                    (major < 1 || minor < 0 || major > 99 || minor > 999))
                        broken(__LINE__);
                free(s);
        }

        if (json_is_array(j)) {
                size_t i;
                json_t *e;
                classify(j); /* `docker inspect` prints a one-element array */
                json_array_foreach(j, i, e) classify(e);
        } else if (j) {
                classify(j);
        }
        json_decref(j);
        return 0;
}
