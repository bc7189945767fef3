/* test-classify.c - docker/classify.c over the `docker inspect` fixtures in
 * tests/fixtures/docker/ (one table row each: owner and how it was found, type,
 * state, flags, GPUs and how they were asked for, ds01 labels, times), with
 * fake user and path-owner lookups; then the single rules on small inline
 * containers (owner order, name._.uid forms, text refused, time forms, GPU
 * precedence and limits), and a robustness pass that replaces every value of
 * every fixture with values of other types and checks that classification
 * neither crashes nor writes its result on failure.
 *
 * Environment (set by CTest): DS01_TEST_FIXTURES; without it the fixtures are
 * found next to this source file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "docker/classify.h"
#include "util/macro.h"

#define GPU0  "GPU-5f8e4c1a-9b2d-4e7f-a1c3-8d6b2e4f0a17"
#define GPU1  "GPU-0d3b7a92-61c4-4f58-b2e9-3a7c5d1e8f46"
#define MIG_A "MIG-2c9f4a1e-7d3b-5e8a-9c6f-1b4d7e2a5c83"
#define MIG_B "MIG-8e1a6d3c-4b7f-5a29-8d1e-6c3f9a2b7e54"

/* ---- fake system ---- */

static const struct {
        const char *name;
        unsigned uid;
} users[] = {
    {"root", 0},     {"alice", 1001},        {"bob", 1002}, {"h.baker@hertie-school.lan", 1003},
    {"carol", 1004}, {"evil\x1b[31m", 1666}, /* a name NSS should never give; refused */
};

static const struct {
        const char *path;
        unsigned uid;
} path_owners[] = {
    {"/home/alice/workspace/thesis", 1001},
    {"/home/alice/projects/thesis", 1001},
    {"/home/alice/api", 1001},
    {"/home/bob/workspace", 1002},
    {"/home/bob/bench", 1002},
    {"/home/bob/shared", 1001}, /* in bob's home, but alice's */
    {"/home/carol/data", 1004},
    {"/home/h.baker@hertie-school.lan/proj", 1003},
    {"/srv/scratch", 0},
};

struct fake_counts {
        unsigned uid_to_name, name_to_uid, path_owner;
        bool dotdot_seen;
};

static int fake_uid_to_name(void *ud, unsigned uid, char *buf, size_t size)
{
        struct fake_counts *n = ud;

        n->uid_to_name++;
        for (size_t i = 0; i < ELEMENTSOF(users); i++)
                if (users[i].uid == uid) {
                        snprintf(buf, size, "%s", users[i].name);
                        return 0;
                }
        return -ENOENT;
}

static int fake_name_to_uid(void *ud, const char *name, unsigned *ret_uid)
{
        struct fake_counts *n = ud;

        n->name_to_uid++;
        for (size_t i = 0; i < ELEMENTSOF(users); i++)
                if (strcmp(users[i].name, name) == 0) {
                        *ret_uid = users[i].uid;
                        return 0;
                }
        return -ENOENT;
}

static int fake_path_owner(void *ud, const char *path, unsigned *ret_uid)
{
        struct fake_counts *n = ud;

        n->path_owner++;
        if (strstr(path, "/../"))
                n->dotdot_seen = true;
        for (size_t i = 0; i < ELEMENTSOF(path_owners); i++)
                if (strcmp(path_owners[i].path, path) == 0) {
                        *ret_uid = path_owners[i].uid;
                        return 0;
                }
        return -ENOENT;
}

static struct fake_counts counts;
static const struct classify_lookup fake_lookup = {
    .uid_to_name = fake_uid_to_name,
    .name_to_uid = fake_name_to_uid,
    .path_owner = fake_path_owner,
    .ud = &counts,
};

/* ---- fixtures ---- */

static const char *fixtures_dir(void)
{
        static char dir[4096];
        const char *env = getenv("DS01_TEST_FIXTURES");
        const char *slash;

        if (env) {
                snprintf(dir, sizeof(dir), "%s/docker", env);
                return dir;
        }
        slash = strrchr(__FILE__, '/');
        snprintf(dir, sizeof(dir), "%.*s/../fixtures/docker", (int)(slash ? slash - __FILE__ : 1),
                 slash ? __FILE__ : ".");
        return dir;
}

static json_t *load_fixture(const char *name)
{
        char path[8192];
        json_error_t err;
        json_t *j;

        snprintf(path, sizeof(path), "%s/%s", fixtures_dir(), name);
        j = json_load_file(path, JSON_DECODE_ANY, &err);
        if (!j)
                fail_msg("%s: %s at line %d", path, err.text, err.line);
        return j;
}

static json_t *parse(const char *text)
{
        json_error_t err;
        json_t *j = json_loads(text, JSON_ALLOW_NUL, &err);

        if (!j)
                fail_msg("inline JSON: %s at column %d", err.text, err.column);
        return j;
}

/* ---- the table ---- */

struct row {
        const char *fixture;
        const char *name;
        const char *owner;
        int64_t owner_uid;
        int r;
        enum container_owner_source owner_source;
        int gpu_count;
        enum gpu_request_kind gpu_kind;
        enum gpu_request_source gpu_source;
        bool running, managed, is_protected, is_monitoring;
        const char *type;
        const char *interface;
        const char *state;
        const char *devices[4]; /* NULL-terminated */
        const char *slots;
        int64_t allocated_at;
        const char *runtime;
        const char *cgroup_parent;
        int64_t created_s, started_s, finished_s;
};

static const struct row rows[] = {
    {
        .fixture = "ds01-orchestration.json",
        .name = "thesis-train._.1001",
        .owner = "alice",
        .owner_source = OWNER_LABEL,
        .owner_uid = -1,
        .type = "orchestration",
        .interface = "orchestration",
        .state = "running",
        .running = true,
        .managed = true,
        .gpu_kind = GPU_REQ_DEVICES,
        .gpu_source = GPU_SRC_DEVICE_REQUESTS,
        .gpu_count = 1,
        .devices = {MIG_A},
        .slots = "0.1",
        .allocated_at = 1772442846,
        .runtime = "runc",
        .cgroup_parent = "ds01-student-alice.slice",
        .created_s = 1772442847,
        .started_s = 1772442848,
    },
    {
        .fixture = "aime-legacy.json",
        .name = "pytorch-dev._.1002",
        .owner = "bob",
        .owner_source = OWNER_AIME,
        .owner_uid = -1,
        .type = "atomic",
        .interface = "",
        .state = "exited",
        .gpu_kind = GPU_REQ_DEVICES,
        .gpu_source = GPU_SRC_DEVICE_REQUESTS,
        .gpu_count = 1,
        .devices = {"1"},
        .runtime = "runc",
        .created_s = 1749650575,
        .started_s = 1772179272,
        .finished_s = 1772135042,
    },
    {
        .fixture = "devcontainer.json",
        .name = "vsc-thesis-3f2a9c41b7",
        .owner = "alice",
        .owner_source = OWNER_DEVCONTAINER,
        .owner_uid = 1001,
        .type = "devcontainer",
        .state = "running",
        .running = true,
        .runtime = "runc",
    },
    {
        .fixture = "compose.json",
        .name = "webapp-db-1",
        .owner = "bob",
        .owner_source = OWNER_COMPOSE,
        .owner_uid = 1002,
        .type = "compose",
        .state = "running",
        .running = true,
        .runtime = "runc",
    },
    {
        .fixture = "name-uid.json",
        .name = "notebook._.1001",
        .owner = "alice",
        .owner_source = OWNER_NAME_UID,
        .owner_uid = 1001,
        .type = "atomic",
        .state = "created",
        .runtime = "runc",
    },
    {
        .fixture = "bind-owned.json",
        .name = "carol-analysis",
        .owner = "carol",
        .owner_source = OWNER_BIND_MOUNT,
        .owner_uid = 1004,
        .type = "docker",
        .state = "running",
        .running = true,
        .runtime = "runc",
    },
    {
        .fixture = "bind-other.json",
        .name = "shared-reader",
        .owner = "",
        .owner_source = OWNER_UNKNOWN,
        .owner_uid = -1,
        .type = "docker",
        .state = "running",
        .running = true,
        .runtime = "runc",
    },
    {
        .fixture = "binds-only.json",
        .name = "binds-only",
        .owner = "carol",
        .owner_source = OWNER_BIND_MOUNT,
        .owner_uid = 1004,
        .type = "docker",
        .state = "exited",
        .runtime = "runc",
        .created_s = 1731924000,
        .started_s = 1731924001,
        .finished_s = 1731927601,
    },
    {
        .fixture = "gpus-all.json",
        .name = "bench-all",
        .owner = "bob",
        .owner_source = OWNER_BIND_MOUNT,
        .owner_uid = 1002,
        .type = "docker",
        .state = "running",
        .running = true,
        .gpu_kind = GPU_REQ_ALL,
        .gpu_source = GPU_SRC_DEVICE_REQUESTS,
        .gpu_count = -1,
        .runtime = "runc",
        .created_s = 1772827920,
    },
    {
        .fixture = "gpus-count.json",
        .name = "bench-two",
        .owner = "",
        .owner_source = OWNER_UNKNOWN,
        .owner_uid = -1,
        .type = "docker",
        .state = "paused",
        .running = true,
        .gpu_kind = GPU_REQ_COUNT,
        .gpu_source = GPU_SRC_DEVICE_REQUESTS,
        .gpu_count = 2,
        .runtime = "runc",
    },
    {
        .fixture = "gpus-devices.json",
        .name = "pinned",
        .owner = "",
        .owner_source = OWNER_UNKNOWN,
        .owner_uid = -1,
        .type = "docker",
        .state = "running",
        .running = true,
        .gpu_kind = GPU_REQ_DEVICES,
        .gpu_source = GPU_SRC_DEVICE_REQUESTS,
        .gpu_count = 2,
        .devices = {GPU1, MIG_B},
        .runtime = "runc",
    },
    {
        .fixture = "env-nvidia.json",
        .name = "multi-mig",
        .owner = "",
        .owner_source = OWNER_UNKNOWN,
        .owner_uid = -1,
        .type = "docker",
        .state = "running",
        .running = true,
        .gpu_kind = GPU_REQ_DEVICES,
        .gpu_source = GPU_SRC_ENV,
        .gpu_count = 2,
        .devices = {MIG_A, MIG_B},
        .runtime = "nvidia",
    },
    {
        .fixture = "env-runc.json",
        .name = "cuda-cpu-only",
        .owner = "",
        .owner_source = OWNER_UNKNOWN,
        .owner_uid = -1,
        .type = "docker",
        .state = "running",
        .running = true,
        .runtime = "runc",
    },
    {
        .fixture = "monitoring.json",
        .name = "ds01-dcgm-exporter",
        .owner = "",
        .owner_source = OWNER_UNKNOWN,
        .owner_uid = -1,
        .type = "compose",
        .state = "restarting",
        .running = true,
        .is_protected = true,
        .is_monitoring = true,
        .gpu_kind = GPU_REQ_ALL,
        .gpu_source = GPU_SRC_DEVICE_REQUESTS,
        .gpu_count = -1,
        .runtime = "runc",
    },
    {
        .fixture = "label-uuids.json",
        .name = "exp-7._.1004",
        .owner = "carol",
        .owner_source = OWNER_LABEL,
        .owner_uid = -1,
        .type = "atomic",
        .interface = "atomic",
        .state = "dead",
        .managed = true,
        .gpu_kind = GPU_REQ_DEVICES,
        .gpu_source = GPU_SRC_LABEL,
        .gpu_count = 2,
        .devices = {MIG_A, MIG_B},
        .slots = "0.1,0.2",
        .allocated_at = 1772975593,
        .runtime = "nvidia",
        .created_s = 1772975593,
        .started_s = 1772975594,
        .finished_s = 1772978400,
    },
    {
        .fixture = "devcontainer-compose.json",
        .name = "api-devcontainer-app-1",
        .owner = "bob",
        .owner_source = OWNER_COMPOSE,
        .owner_uid = 1002,
        .type = "devcontainer",
        .state = "running",
        .running = true,
        .runtime = "nvidia",
    },
    {
        .fixture = "odd-types.json",
        .name = "",
        .owner = "",
        .owner_source = OWNER_UNKNOWN,
        .owner_uid = -1,
        .type = "docker",
        .state = "",
        .runtime = "",
    },
    {
        .fixture = "odd-values.json",
        .name = "odd-values",
        .owner = "",
        .owner_source = OWNER_UNKNOWN,
        .owner_uid = -1,
        .type = "docker",
        .interface = "custom",
        .state = "running",
        .running = true,
        .gpu_kind = GPU_REQ_DEVICES,
        .gpu_source = GPU_SRC_DEVICE_REQUESTS,
        .gpu_count = 3,
        .devices = {"0", "1", "2"},
        .runtime = "runc",
        .created_s = 1773007200,
    },
    {.fixture = "broken-no-id.json", .r = -EINVAL},
    {.fixture = "broken-empty-array.json", .r = -EINVAL},
    {.fixture = "broken-two.json", .r = -EINVAL},
    {.fixture = "broken-scalar.json", .r = -EINVAL},
};

static const char *or_empty(const char *s)
{
        return s ? s : "";
}

static void check_row(const struct row *w)
{
        struct container_class c, untouched;
        json_t *j = load_fixture(w->fixture);
        size_t n_dev = 0;
        int r;

        print_message("%s\n", w->fixture);
        memset(&c, 0xa5, sizeof(c));
        untouched = c;
        counts = (struct fake_counts){};
        r = container_classify(j, &fake_lookup, &c);
        assert_int_equal(r, w->r);
        assert_false(counts.dotdot_seen);
        if (r < 0) {
                assert_memory_equal(&c, &untouched, sizeof(c));
                json_decref(j);
                return;
        }

        assert_int_equal(strlen(c.id), 64);
        assert_string_equal(c.name, w->name);
        assert_string_equal(c.owner, w->owner);
        assert_int_equal(c.owner_source, w->owner_source);
        assert_int_equal(c.owner_uid, w->owner_uid);
        assert_string_equal(c.type, w->type);
        assert_string_equal(c.interface, or_empty(w->interface));
        assert_string_equal(c.state, w->state);
        assert_int_equal(c.running, w->running);
        assert_int_equal(c.ds01_managed, w->managed);
        assert_int_equal(c.is_protected, w->is_protected);
        assert_int_equal(c.is_monitoring, w->is_monitoring);
        assert_int_equal(c.gpu_kind, w->gpu_kind);
        assert_int_equal(c.gpu_source, w->gpu_source);
        assert_int_equal(c.gpu_count, w->gpu_count);
        while (n_dev < ELEMENTSOF(w->devices) && w->devices[n_dev])
                n_dev++;
        assert_int_equal(c.n_gpu_devices, n_dev);
        for (size_t i = 0; i < n_dev; i++)
                assert_string_equal(c.gpu_devices[i], w->devices[i]);
        if (n_dev == 0)
                assert_null(c.gpu_devices);
        assert_string_equal(c.ds01_slots, or_empty(w->slots));
        assert_int_equal(c.ds01_allocated_at, w->allocated_at);
        assert_string_equal(c.runtime, w->runtime);
        assert_string_equal(c.cgroup_parent, or_empty(w->cgroup_parent));
        if (w->created_s)
                assert_int_equal(c.created_s, w->created_s);
        else
                assert_true(c.created_s >= 0);
        if (w->started_s)
                assert_int_equal(c.started_s, w->started_s);
        assert_int_equal(c.finished_s, w->finished_s);

        container_class_release(&c);
        assert_null(c.gpu_devices);
        assert_int_equal(c.n_gpu_devices, 0);
        json_decref(j);
}

static void test_fixtures(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                check_row(&rows[i]);
}

/* The rules that must not run: no path_owner for a ".." path (checked in every
 * row), no lookups at all for a label owner. */
static void test_lookup_calls(void **state)
{
        struct container_class c;
        json_t *j = load_fixture("ds01-orchestration.json");

        counts = (struct fake_counts){};
        assert_int_equal(container_classify(j, &fake_lookup, &c), 0);
        assert_int_equal(counts.uid_to_name + counts.name_to_uid + counts.path_owner, 0);
        container_class_release(&c);
        json_decref(j);

        /* bind-other: three /home binds of real or unreal users; the ".." one
         * and the /srv one never reach path_owner. */
        j = load_fixture("bind-other.json");
        counts = (struct fake_counts){};
        assert_int_equal(container_classify(j, &fake_lookup, &c), 0);
        assert_int_equal(counts.path_owner, 2);
        assert_false(counts.dotdot_seen);
        container_class_release(&c);
        json_decref(j);
}

/* Without lookups only the label rules can name an owner. */
static void test_no_lookup(void **state)
{
        static const char *const files[] = {"devcontainer.json", "compose.json", "name-uid.json",
                                            "bind-owned.json"};
        struct classify_lookup empty = {};
        struct container_class c;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                json_t *j = load_fixture(files[i]);

                assert_int_equal(container_classify(j, NULL, &c), 0);
                assert_int_equal(c.owner_source, OWNER_UNKNOWN);
                assert_string_equal(c.owner, "");
                container_class_release(&c);
                assert_int_equal(container_classify(j, &empty, &c), 0);
                assert_int_equal(c.owner_source, OWNER_UNKNOWN);
                container_class_release(&c);
                json_decref(j);
        }

        json_t *j = load_fixture("aime-legacy.json");
        assert_int_equal(container_classify(j, NULL, &c), 0);
        assert_string_equal(c.owner, "bob");
        assert_int_equal(c.owner_source, OWNER_AIME);
        container_class_release(&c);
        json_decref(j);
}

/* ---- inline containers ---- */

/* Classifies {"Id": ..., "Name": name, "Config": {"Labels": labels, "Env": env},
 * "HostConfig": host, "Mounts": mounts}; NULL parts are left out. */
static int classify_parts(const char *name, const char *labels, const char *env, const char *host,
                          const char *mounts, struct container_class *ret)
{
        char text[16384];
        json_t *j;
        int r;

        snprintf(text, sizeof(text),
                 "{\"Id\": \"0123456789ab\", \"Name\": %s, \"Config\": {\"Labels\": %s, "
                 "\"Env\": %s}, \"HostConfig\": %s, \"Mounts\": %s}",
                 name ? name : "null", labels ? labels : "null", env ? env : "null",
                 host ? host : "null", mounts ? mounts : "null");
        j = parse(text);
        counts = (struct fake_counts){};
        r = container_classify(j, &fake_lookup, ret);
        json_decref(j);
        return r;
}

static void expect_owner(const char *name, const char *labels, const char *mounts,
                         const char *owner, enum container_owner_source source)
{
        struct container_class c;

        assert_int_equal(classify_parts(name, labels, NULL, NULL, mounts, &c), 0);
        if (strcmp(c.owner, owner) != 0 || c.owner_source != source)
                fail_msg("name %s labels %s mounts %s: owner '%s' (%s), expected '%s' (%s)",
                         or_empty(name), or_empty(labels), or_empty(mounts), c.owner,
                         owner_source_name(c.owner_source), owner, owner_source_name(source));
        container_class_release(&c);
}

static void test_owner_order(void **state)
{
        const char *all = "{\"ds01.user\": \"alice\", \"aime.mlc.USER\": \"bob\", "
                          "\"devcontainer.local_folder\": \"/home/carol/p\", "
                          "\"com.docker.compose.project.working_dir\": \"/home/bob/c\"}";
        const char *mounts = "[{\"Type\": \"bind\", \"Source\": \"/home/carol/data\"}]";

        expect_owner("\"/x._.1002\"", all, mounts, "alice", OWNER_LABEL);
        expect_owner("\"/x._.1002\"",
                     "{\"ds01.user\": \"\", \"aime.mlc.USER\": \"bob\", "
                     "\"devcontainer.local_folder\": \"/home/carol/p\"}",
                     mounts, "bob", OWNER_AIME);
        expect_owner("\"/x._.1002\"", "{\"devcontainer.local_folder\": \"/home/carol/p\"}", mounts,
                     "carol", OWNER_DEVCONTAINER);
        /* devcontainer before name._.uid (the old tracker had it the other way) */
        expect_owner("\"/x._.1002\"", "{\"devcontainer.local_folder\": \"/home/alice\"}", NULL,
                     "alice", OWNER_DEVCONTAINER);
        expect_owner("\"/x._.1002\"", "{\"devcontainer.local_folder\": \"/home/nobody/p\"}", mounts,
                     "bob", OWNER_NAME_UID);
        expect_owner("\"/x\"", "{\"com.docker.compose.project.working_dir\": \"/home/bob/c\"}",
                     mounts, "carol", OWNER_BIND_MOUNT);
        expect_owner("\"/x\"", "{\"com.docker.compose.project.working_dir\": \"/home/bob/c\"}",
                     NULL, "bob", OWNER_COMPOSE);
        /* an AD name with '@' and '.' is a user like any other */
        expect_owner("\"/x\"",
                     "{\"devcontainer.local_folder\": \"/home/h.baker@hertie-school.lan/proj\"}",
                     NULL, "h.baker@hertie-school.lan", OWNER_DEVCONTAINER);
        /* label paths that name no user */
        expect_owner("\"/x\"", "{\"devcontainer.local_folder\": \"/home/\"}", NULL, "",
                     OWNER_UNKNOWN);
        expect_owner("\"/x\"", "{\"devcontainer.local_folder\": \"/home//alice\"}", NULL, "",
                     OWNER_UNKNOWN);
        expect_owner("\"/x\"", "{\"devcontainer.local_folder\": \"/home/bob/../alice\"}", NULL, "",
                     OWNER_UNKNOWN);
        expect_owner("\"/x\"", "{\"devcontainer.local_folder\": \"/homes/alice/p\"}", NULL, "",
                     OWNER_UNKNOWN);
        expect_owner("\"/x\"", "{\"devcontainer.local_folder\": \"home/alice/p\"}", NULL, "",
                     OWNER_UNKNOWN);
        expect_owner("\"/x\"", "{\"com.docker.compose.project.working_dir\": \"/home/alice \"}",
                     NULL, "", OWNER_UNKNOWN);
        /* bind mounts: only Type bind, only the user's own path */
        expect_owner("\"/x\"", NULL,
                     "[{\"Type\": \"volume\", \"Source\": \"/home/carol/data\"}, "
                     "{\"Type\": \"bind\", \"Source\": \"/home/bob/shared\"}, "
                     "{\"Type\": \"bind\", \"Source\": \"/home/alice/api\"}]",
                     "alice", OWNER_BIND_MOUNT);
        expect_owner("\"/x\"", NULL, "[{\"Type\": \"bind\", \"Source\": \"/home/alice/api/\"}]", "",
                     OWNER_UNKNOWN);
}

static void test_owner_text_refused(void **state)
{
        char labels[1024], longname[300];

        expect_owner("\"/x\"", "{\"ds01.user\": \"alice\\u0000root\"}", NULL, "", OWNER_UNKNOWN);
        expect_owner("\"/x\"", "{\"ds01.user\": \"ali\\u0085ce\", \"aime.mlc.USER\": \"bob\"}",
                     NULL, "bob", OWNER_AIME);
        expect_owner("\"/x\"", "{\"ds01.user\": \"al\\tice\"}", NULL, "", OWNER_UNKNOWN);
        expect_owner("\"/x\"", "{\"ds01.user\": \"al\\u007fice\"}", NULL, "", OWNER_UNKNOWN);
        expect_owner("\"/x\"", "{\"ds01.user\": 1001}", NULL, "", OWNER_UNKNOWN);
        expect_owner("\"/x\"", "{\"ds01.user\": [\"alice\"]}", NULL, "", OWNER_UNKNOWN);
        /* non-ASCII text is fine when it is text */
        expect_owner("\"/x\"", "{\"ds01.user\": \"j\\u00fcrgen\"}", NULL, "j\xc3\xbcrgen",
                     OWNER_LABEL);
        /* 255 bytes fit, 256 do not */
        memset(longname, 'u', sizeof(longname));
        snprintf(labels, sizeof(labels), "{\"ds01.user\": \"%.255s\"}", longname);
        {
                struct container_class c;

                assert_int_equal(classify_parts("\"/x\"", labels, NULL, NULL, NULL, &c), 0);
                assert_int_equal(strlen(c.owner), 255);
                assert_true(c.ds01_managed);
                container_class_release(&c);
        }
        snprintf(labels, sizeof(labels), "{\"ds01.user\": \"%.256s\"}", longname);
        expect_owner("\"/x\"", labels, NULL, "", OWNER_UNKNOWN);
        /* the uid's name from NSS is checked too */
        expect_owner("\"/x._.1666\"", NULL, NULL, "", OWNER_UNKNOWN);
}

static void test_name_uid_forms(void **state)
{
        static const struct {
                const char *name;
                const char *owner;
        } cases[] = {
            {"\"/proj._.1001\"", "alice"},
            {"\"proj._.1002\"", "bob"},        /* without the leading '/' */
            {"\"/a._.1001._.1004\"", "carol"}, /* the last "._." */
            {"\"/._.0\"", "root"},             /* empty base, uid 0 */
            {"\"/proj._.\"", ""},              /* no digits */
            {"\"/proj._.10x\"", ""},           /* not all digits */
            {"\"/proj._.-1\"", ""},            /* sign */
            {"\"/proj._. 1001\"", ""},         /* space */
            {"\"/proj._.4294967295\"", ""},    /* (uid_t)-1 */
            {"\"/proj._.99999999999\"", ""},   /* too long */
            {"\"/proj._.1999\"", ""},          /* not in the user database */
            {"\"/proj.-.1001\"", ""},          /* not the pattern */
            {"\"/proj._.1001/\"", ""},
        };
        struct container_class c;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(classify_parts(cases[i].name, NULL, NULL, NULL, NULL, &c), 0);
                if (strcmp(c.owner, cases[i].owner) != 0)
                        fail_msg("%s: '%s', expected '%s'", cases[i].name, c.owner, cases[i].owner);
                assert_int_equal(c.owner_source, *cases[i].owner ? OWNER_NAME_UID : OWNER_UNKNOWN);
                container_class_release(&c);
        }
}

static void test_binds_fallback(void **state)
{
        struct container_class c;
        const char *host = "{\"Binds\": [\"named:/v\", 7, \"/home/bob/shared:/s:ro\", "
                           "\"/home/carol/data:/d\"]}";

        /* .Mounts missing (null here): Binds are read */
        assert_int_equal(classify_parts("\"/x\"", NULL, NULL, host, NULL, &c), 0);
        assert_string_equal(c.owner, "carol");
        assert_int_equal(c.owner_source, OWNER_BIND_MOUNT);
        container_class_release(&c);

        /* .Mounts present, even empty: Binds are not read */
        assert_int_equal(classify_parts("\"/x\"", NULL, NULL, host, "[]", &c), 0);
        assert_int_equal(c.owner_source, OWNER_UNKNOWN);
        container_class_release(&c);
}

static void test_bind_check_limit(void **state)
{
        char mounts[16384];
        size_t n = 0;
        struct container_class c;

        n += (size_t)snprintf(mounts + n, sizeof(mounts) - n, "[");
        for (int i = 0; i < 100; i++)
                n += (size_t)snprintf(mounts + n, sizeof(mounts) - n,
                                      "{\"Type\": \"bind\", \"Source\": \"/home/bob/n%d\"},", i);
        snprintf(mounts + n, sizeof(mounts) - n,
                 "{\"Type\": \"bind\", \"Source\": \"/home/carol/data\"}]");
        assert_int_equal(classify_parts("\"/x\"", NULL, NULL, NULL, mounts, &c), 0);
        assert_int_equal(c.owner_source, OWNER_UNKNOWN);
        assert_int_equal(counts.path_owner, 64);
        container_class_release(&c);
}

static void expect_type(const char *name, const char *labels, const char *type)
{
        struct container_class c;

        assert_int_equal(classify_parts(name, labels, NULL, NULL, NULL, &c), 0);
        if (strcmp(c.type, type) != 0)
                fail_msg("name %s labels %s: type %s, expected %s", or_empty(name),
                         or_empty(labels), c.type, type);
        container_class_release(&c);
}

static void test_types(void **state)
{
        const char *every = "{\"ds01.container_type\": \"api\", \"ds01.interface\": \"atomic\", "
                            "\"ds01.managed\": \"true\", \"devcontainer.x\": \"1\", "
                            "\"com.docker.compose.project\": \"p\"}";

        expect_type("\"/vsc-x._.1001\"", every, "api");
        expect_type("\"/x\"", "{\"ds01.container_type\": \"devcontainer\"}", "devcontainer");
        expect_type("\"/x\"", "{\"ds01.container_type\": \"docker\", \"ds01.managed\": \"true\"}",
                    "docker");
        expect_type("\"/x\"", "{\"ds01.container_type\": \"custom\", \"ds01.interface\": \"api\"}",
                    "api");
        expect_type("\"/x\"", "{\"ds01.interface\": \"orchestration\"}", "orchestration");
        expect_type("\"/x\"", "{\"ds01.interface\": \"vscode\", \"devcontainer.y\": \"\"}",
                    "devcontainer");
        expect_type("\"/x\"", "{\"ds01.managed\": \"true\", \"com.docker.compose.service\": \"s\"}",
                    "atomic");
        expect_type("\"/x\"", "{\"aime.mlc.DS01_MANAGED\": \"true\"}", "atomic");
        expect_type("\"/x\"", "{\"ds01.managed\": \"false\"}", "docker");
        expect_type("\"/a._.77\"", NULL, "atomic");
        expect_type("\"/a._.x\"", NULL, "docker");
        expect_type("\"/vsc-proj-abc\"", NULL, "devcontainer");
        expect_type("\"/my-vsc-proj\"", NULL, "docker");
        expect_type("\"/x\"", "{\"devcontainer.metadata\": \"[]\", \"com.docker.compose.x\": \"\"}",
                    "devcontainer");
        expect_type("\"/x\"", "{\"com.docker.compose.project\": \"p\"}", "compose");
        expect_type("\"/x\"", "{\"com.docker.composer\": \"p\", \"devcontainer\": \"x\"}",
                    "docker");
        expect_type("\"/x\"", "{\"ds01.container_type\": 5, \"ds01.interface\": null}", "docker");
        expect_type(NULL, NULL, "docker");
}

struct gpu_case {
        const char *env, *host, *labels;
        enum gpu_request_kind kind;
        enum gpu_request_source source;
        int count;
        const char *devices[4];
};

static void test_gpu_cases(void **state)
{
        static const struct gpu_case cases[] = {
            /* DeviceRequests before env before labels */
            {"[\"NVIDIA_VISIBLE_DEVICES=all\"]",
             "{\"Runtime\": \"nvidia\", \"DeviceRequests\": [{\"Driver\": \"nvidia\", \"Count\": "
             "1}]}",
             "{\"ds01.gpu.uuids\": \"GPU-a\"}",
             GPU_REQ_COUNT,
             GPU_SRC_DEVICE_REQUESTS,
             1,
             {NULL}},
            {"[\"NVIDIA_VISIBLE_DEVICES=all\"]",
             "{\"Runtime\": \"nvidia\"}",
             "{\"ds01.gpu.uuids\": \"GPU-a\"}",
             GPU_REQ_ALL,
             GPU_SRC_ENV,
             -1,
             {NULL}},
            {NULL,
             "{\"Runtime\": \"nvidia\"}",
             "{\"ds01.gpu.uuids\": \"GPU-a\"}",
             GPU_REQ_DEVICES,
             GPU_SRC_LABEL,
             1,
             {"GPU-a"}},
            /* the label alone is enough (the third source) */
            {NULL,
             NULL,
             "{\"ds01.gpu.uuids\": \"GPU-a,MIG-b\"}",
             GPU_REQ_DEVICES,
             GPU_SRC_LABEL,
             2,
             {"GPU-a", "MIG-b"}},
            {NULL,
             NULL,
             "{\"ds01.gpu.uuid\": \"GPU-c\"}",
             GPU_REQ_DEVICES,
             GPU_SRC_LABEL,
             1,
             {"GPU-c"}},
            {NULL,
             NULL,
             "{\"ds01.gpu.uuids\": \" , \", \"ds01.gpu.uuid\": \"GPU-c\"}",
             GPU_REQ_DEVICES,
             GPU_SRC_LABEL,
             1,
             {"GPU-c"}},
            /* env: explicitly none decides (the label is not read) */
            {"[\"NVIDIA_VISIBLE_DEVICES=none\"]",
             "{\"Runtime\": \"nvidia\"}",
             "{\"ds01.gpu.uuids\": \"GPU-a\"}",
             GPU_REQ_NONE,
             GPU_SRC_NONE,
             0,
             {NULL}},
            {"[\"NVIDIA_VISIBLE_DEVICES=\"]",
             "{\"Runtime\": \"nvidia\"}",
             NULL,
             GPU_REQ_NONE,
             GPU_SRC_NONE,
             0,
             {NULL}},
            {"[\"NVIDIA_VISIBLE_DEVICES= void \"]",
             "{\"Runtime\": \"nvidia\"}",
             NULL,
             GPU_REQ_NONE,
             GPU_SRC_NONE,
             0,
             {NULL}},
            /* the last definition counts */
            {"[\"NVIDIA_VISIBLE_DEVICES=all\", \"NVIDIA_VISIBLE_DEVICES=0,1:2\"]",
             "{\"Runtime\": \"nvidia\"}",
             NULL,
             GPU_REQ_DEVICES,
             GPU_SRC_ENV,
             2,
             {"0", "1:2"}},
            /* a prefix is not the variable */
            {"[\"NVIDIA_VISIBLE_DEVICES_X=all\", \"XNVIDIA_VISIBLE_DEVICES=all\"]",
             "{\"Runtime\": \"nvidia\"}",
             NULL,
             GPU_REQ_NONE,
             GPU_SRC_NONE,
             0,
             {NULL}},
            /* without the nvidia runtime the env is nothing */
            {"[\"NVIDIA_VISIBLE_DEVICES=all\"]",
             "{\"Runtime\": \"runc\"}",
             NULL,
             GPU_REQ_NONE,
             GPU_SRC_NONE,
             0,
             {NULL}},
            {"[\"NVIDIA_VISIBLE_DEVICES=all\"]",
             "{\"Runtime\": \"Nvidia\"}",
             NULL,
             GPU_REQ_NONE,
             GPU_SRC_NONE,
             0,
             {NULL}},
            {"[\"NVIDIA_VISIBLE_DEVICES=all\"]", NULL, NULL, GPU_REQ_NONE, GPU_SRC_NONE, 0, {NULL}},
            /* DeviceRequests: the first request that asks for something */
            {NULL,
             "{\"DeviceRequests\": [{\"Driver\": \"\", \"Count\": 0, \"Capabilities\": "
             "[[\"gpu\"]]}, {\"Driver\": \"\", \"Count\": 3, \"Capabilities\": [[\"gpu\", "
             "\"utility\"]]}, {\"Driver\": \"nvidia\", \"Count\": -1}]}",
             NULL,
             GPU_REQ_COUNT,
             GPU_SRC_DEVICE_REQUESTS,
             3,
             {NULL}},
            /* capability sets: gpu or nvidia in any set; others are not GPUs */
            {NULL,
             "{\"DeviceRequests\": [{\"Count\": -1, \"Capabilities\": [[\"compute\"], "
             "[\"nvidia\"]]}]}",
             NULL,
             GPU_REQ_ALL,
             GPU_SRC_DEVICE_REQUESTS,
             -1,
             {NULL}},
            {NULL,
             "{\"DeviceRequests\": [{\"Driver\": \"amd\", \"Count\": -1, \"Capabilities\": "
             "[[\"rocm\"]]}]}",
             NULL,
             GPU_REQ_NONE,
             GPU_SRC_NONE,
             0,
             {NULL}},
            /* DeviceIDs win over Count (Docker's order) */
            {NULL,
             "{\"DeviceRequests\": [{\"Driver\": \"nvidia\", \"Count\": -1, \"DeviceIDs\": "
             "[\"3\"]}]}",
             NULL,
             GPU_REQ_DEVICES,
             GPU_SRC_DEVICE_REQUESTS,
             1,
             {"3"}},
            /* MIG UUIDs of old drivers */
            {NULL,
             "{\"DeviceRequests\": [{\"Driver\": \"nvidia\", \"DeviceIDs\": "
             "[\"MIG-GPU-5f8e4c1a-9b2d-4e7f-a1c3-8d6b2e4f0a17/1/0\"]}]}",
             NULL,
             GPU_REQ_DEVICES,
             GPU_SRC_DEVICE_REQUESTS,
             1,
             {"MIG-GPU-5f8e4c1a-9b2d-4e7f-a1c3-8d6b2e4f0a17/1/0"}},
            /* a huge count is capped, not wrapped */
            {NULL,
             "{\"DeviceRequests\": [{\"Driver\": \"nvidia\", \"Count\": 99999999999999}]}",
             NULL,
             GPU_REQ_COUNT,
             GPU_SRC_DEVICE_REQUESTS,
             INT32_MAX,
             {NULL}},
            {NULL,
             "{\"DeviceRequests\": [{\"Driver\": \"nvidia\", \"Count\": -1.0}]}",
             NULL,
             GPU_REQ_NONE,
             GPU_SRC_NONE,
             0,
             {NULL}},
        };
        struct container_class c;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct gpu_case *g = &cases[i];
                size_t n = 0;

                assert_int_equal(classify_parts("\"/x\"", g->labels, g->env, g->host, NULL, &c), 0);
                if (c.gpu_kind != g->kind || c.gpu_source != g->source || c.gpu_count != g->count)
                        fail_msg("case %zu: %s/%s/%d, expected %s/%s/%d", i,
                                 gpu_request_kind_name(c.gpu_kind),
                                 gpu_request_source_name(c.gpu_source), c.gpu_count,
                                 gpu_request_kind_name(g->kind), gpu_request_source_name(g->source),
                                 g->count);
                while (n < ELEMENTSOF(g->devices) && g->devices[n])
                        n++;
                assert_int_equal(c.n_gpu_devices, n);
                for (size_t k = 0; k < n; k++)
                        assert_string_equal(c.gpu_devices[k], g->devices[k]);
                container_class_release(&c);
        }
}

static void test_gpu_device_limit(void **state)
{
        char host[32768];
        size_t n = 0;
        struct container_class c;

        n += (size_t)snprintf(host + n, sizeof(host) - n,
                              "{\"DeviceRequests\": [{\"Driver\": \"nvidia\", \"DeviceIDs\": [");
        for (int i = 0; i < 100; i++)
                n +=
                    (size_t)snprintf(host + n, sizeof(host) - n, "%s\"MIG-%04d\"", i ? "," : "", i);
        snprintf(host + n, sizeof(host) - n, ", \"%0200d\"]}]}", 7);
        assert_int_equal(classify_parts("\"/x\"", NULL, NULL, host, NULL, &c), 0);
        assert_int_equal(c.gpu_kind, GPU_REQ_DEVICES);
        assert_int_equal(c.n_gpu_devices, CLASSIFY_MAX_GPU_DEVICES);
        assert_int_equal(c.gpu_count, CLASSIFY_MAX_GPU_DEVICES);
        assert_string_equal(c.gpu_devices[0], "MIG-0000");
        assert_string_equal(c.gpu_devices[63], "MIG-0063");
        container_class_release(&c);

        /* a device ID longer than CLASSIFY_DEVICE_MAX - 1 is skipped */
        snprintf(host, sizeof(host),
                 "{\"DeviceRequests\": [{\"Driver\": \"nvidia\", \"DeviceIDs\": [\"%0*d\", "
                 "\"%0*d\"]}]}",
                 CLASSIFY_DEVICE_MAX, 1, CLASSIFY_DEVICE_MAX - 1, 2);
        assert_int_equal(classify_parts("\"/x\"", NULL, NULL, host, NULL, &c), 0);
        assert_int_equal(c.n_gpu_devices, 1);
        assert_int_equal(strlen(c.gpu_devices[0]), CLASSIFY_DEVICE_MAX - 1);
        container_class_release(&c);
}

static void test_times_and_labels(void **state)
{
        static const struct {
                const char *value;
                int64_t epoch;
        } cases[] = {
            {"2026-03-02T09:14:06Z", 1772442846},
            {"2026-03-02T09:14:06.999999999Z", 1772442846},
            {"2026-03-02T10:14:06+01:00", 1772442846},
            {"2026-03-02T09:14:06", 1772442846}, /* no zone: UTC */
            {" 2026-03-02T09:14:06 ", 1772442846},
            {"2026-03-02", 1772409600},
            {"1772442846", 1772442846},
            {"0001-01-01T00:00:00Z", 0},
            {"1969-12-31T23:59:59Z", 0},
            {"0", 0},
            {"-5", 0},
            {"2026-02-30T00:00:00Z", 0},
            {"2026-03-02T09:14:06Zjunk", 0},
            {"99999999999999999999", 0},
            {"", 0},
        };
        struct container_class c;
        char labels[512], text[1024];
        json_t *j;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                snprintf(labels, sizeof(labels), "{\"ds01.gpu.allocated_at\": \"%s\"}",
                         cases[i].value);
                assert_int_equal(classify_parts("\"/x\"", labels, NULL, NULL, NULL, &c), 0);
                if (c.ds01_allocated_at != cases[i].epoch)
                        fail_msg("'%s': %lld, expected %lld", cases[i].value,
                                 (long long)c.ds01_allocated_at, (long long)cases[i].epoch);
                container_class_release(&c);

                snprintf(text, sizeof(text),
                         "{\"Id\": \"x\", \"Created\": \"%s\", \"State\": {\"StartedAt\": \"%s\", "
                         "\"FinishedAt\": \"%s\"}}",
                         cases[i].value, cases[i].value, cases[i].value);
                j = parse(text);
                assert_int_equal(container_classify(j, NULL, &c), 0);
                assert_int_equal(c.created_s, cases[i].epoch);
                assert_int_equal(c.started_s, cases[i].epoch);
                assert_int_equal(c.finished_s, cases[i].epoch);
                container_class_release(&c);
                json_decref(j);
        }

        /* flags are exactly "true"; slots and interface are copied when text */
        assert_int_equal(
            classify_parts("\"/x\"",
                           "{\"ds01.protected\": \"true\", \"ds01.monitoring\": "
                           "true, \"ds01.gpu.slots\": \"0:0,0:1\", "
                           "\"ds01.interface\": \"a-very-long-interface-name-over-31\"}",
                           NULL, NULL, NULL, &c),
            0);
        assert_true(c.is_protected);
        assert_false(c.is_monitoring);
        assert_string_equal(c.ds01_slots, "0:0,0:1");
        assert_string_equal(c.interface, "");
        container_class_release(&c);
}

static void test_state_flags(void **state)
{
        static const struct {
                const char *state;
                const char *status;
                bool running;
        } cases[] = {
            {"{\"Status\": \"removing\", \"Running\": false}", "removing", false},
            {"{\"Running\": true, \"Paused\": true}", "paused", true},
            {"{\"Running\": true, \"Restarting\": true}", "restarting", true},
            {"{\"Running\": false, \"Dead\": true}", "dead", false},
            {"{\"Running\": true}", "running", true},
            {"{\"Running\": \"true\"}", "", false},
            {"{\"Status\": \"RUNNING\"}", "", false},
            {"{}", "", false},
            {"[]", "", false},
        };
        struct container_class c;
        char text[512];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_t *j;

                snprintf(text, sizeof(text), "{\"Id\": \"x\", \"State\": %s}", cases[i].state);
                j = parse(text);
                assert_int_equal(container_classify(j, &fake_lookup, &c), 0);
                assert_string_equal(c.state, cases[i].status);
                assert_int_equal(c.running, cases[i].running);
                container_class_release(&c);
                json_decref(j);
        }
}

static void test_bad_input(void **state)
{
        static const char *const texts[] = {
            "null",
            "1",
            "\"x\"",
            "[]",
            "[1]",
            "[{\"Id\": \"a\"}, {\"Id\": \"b\"}]",
            "{}",
            "{\"Id\": null}",
            "{\"Id\": 12}",
            "{\"Id\": \"\"}",
            "{\"Id\": \"a\\u0000b\"}",
            "{\"Id\": \"a\\nb\"}",
        };
        struct container_class c, untouched;
        char id80[128];

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                json_error_t err;
                json_t *j = json_loads(texts[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

                assert_non_null(j);
                memset(&c, 0x5a, sizeof(c));
                untouched = c;
                assert_int_equal(container_classify(j, &fake_lookup, &c), -EINVAL);
                assert_memory_equal(&c, &untouched, sizeof(c));
                json_decref(j);
        }
        /* an Id of 80 bytes: one more than fits */
        snprintf(id80, sizeof(id80), "{\"Id\": \"%080d\"}", 0);
        {
                json_t *j = parse(id80);
                assert_int_equal(container_classify(j, &fake_lookup, &c), -EINVAL);
                json_decref(j);
                snprintf(id80, sizeof(id80), "{\"Id\": \"%079d\"}", 0);
                j = parse(id80);
                assert_int_equal(container_classify(j, &fake_lookup, &c), 0);
                assert_int_equal(strlen(c.id), 79);
                container_class_release(&c);
                json_decref(j);
        }
        assert_int_equal(container_classify(NULL, &fake_lookup, &c), -EINVAL);
        {
                json_t *j = parse("{\"Id\": \"a\"}");
                assert_int_equal(container_classify(j, &fake_lookup, NULL), -EINVAL);
                json_decref(j);
        }
        /* a one-element array, as `docker inspect` prints, is the container */
        {
                json_t *j = parse("[{\"Id\": \"abc\", \"Name\": \"/n\"}]");
                assert_int_equal(container_classify(j, &fake_lookup, &c), 0);
                assert_string_equal(c.id, "abc");
                assert_string_equal(c.name, "n");
                assert_string_equal(c.type, "docker");
                assert_int_equal(c.gpu_kind, GPU_REQ_NONE);
                container_class_release(&c);
                json_decref(j);
        }
        container_class_release(NULL);
}

static void test_names(void **state)
{
        assert_string_equal(owner_source_name(OWNER_UNKNOWN), "unknown");
        assert_string_equal(owner_source_name(OWNER_LABEL), "label");
        assert_string_equal(owner_source_name(OWNER_AIME), "aime");
        assert_string_equal(owner_source_name(OWNER_DEVCONTAINER), "devcontainer");
        assert_string_equal(owner_source_name(OWNER_NAME_UID), "name_uid");
        assert_string_equal(owner_source_name(OWNER_BIND_MOUNT), "bind_mount");
        assert_string_equal(owner_source_name(OWNER_COMPOSE), "compose");
        assert_null(owner_source_name((enum container_owner_source)7));
        assert_null(owner_source_name((enum container_owner_source) - 1));
        assert_string_equal(gpu_request_kind_name(GPU_REQ_NONE), "none");
        assert_string_equal(gpu_request_kind_name(GPU_REQ_ALL), "all");
        assert_string_equal(gpu_request_kind_name(GPU_REQ_COUNT), "count");
        assert_string_equal(gpu_request_kind_name(GPU_REQ_DEVICES), "devices");
        assert_null(gpu_request_kind_name((enum gpu_request_kind)4));
        assert_string_equal(gpu_request_source_name(GPU_SRC_NONE), "none");
        assert_string_equal(gpu_request_source_name(GPU_SRC_DEVICE_REQUESTS), "device_requests");
        assert_string_equal(gpu_request_source_name(GPU_SRC_ENV), "env");
        assert_string_equal(gpu_request_source_name(GPU_SRC_LABEL), "label");
        assert_null(gpu_request_source_name((enum gpu_request_source)4));
}

/* ---- robustness: every value of every fixture replaced by odd values ---- */

static json_t *odd_value(size_t k)
{
        switch (k) {
        case 0:
                return json_null();
        case 1:
                return json_integer(-1);
        case 2:
                return json_real(1e300);
        case 3:
                return json_string("");
        case 4:
                return json_string("/home/alice/x._.1001");
        case 5:
                return json_array();
        case 6:
                return json_object();
        case 7:
                return json_true();
        case 8:
                return json_pack("[[s], {s:s}]", "gpu", "Type", "bind");
        default:
                return NULL;
        }
}
#define N_ODD 9

static size_t classified;

static void classify_checked(const json_t *root)
{
        struct container_class c, untouched;
        int r;

        memset(&c, 0x3c, sizeof(c));
        untouched = c;
        r = container_classify(root, &fake_lookup, &c);
        classified++;
        if (r < 0) {
                assert_int_equal(r, -EINVAL);
                assert_memory_equal(&c, &untouched, sizeof(c));
                return;
        }
        assert_true(strlen(c.owner) < sizeof(c.owner));
        assert_non_null(owner_source_name(c.owner_source));
        assert_non_null(gpu_request_kind_name(c.gpu_kind));
        assert_true(c.n_gpu_devices <= CLASSIFY_MAX_GPU_DEVICES);
        for (size_t i = 0; i < c.n_gpu_devices; i++)
                assert_true(strlen(c.gpu_devices[i]) < CLASSIFY_DEVICE_MAX);
        container_class_release(&c);
}

/* Replaces each value under node (recursively) by each odd value in turn,
 * classifying root each time, and puts the original back. */
static void mutate_walk(json_t *root, json_t *node, unsigned depth)
{
        if (depth > 8)
                return;
        if (json_is_object(node)) {
                /* The keys first: re-adding a deleted key moves it to the end. */
                size_t n = json_object_size(node), i = 0;
                char **keys = calloc(n + 1, sizeof(char *));
                const char *key;
                json_t *v;

                assert_non_null(keys);
                json_object_foreach(node, key, v)
                {
                        keys[i] = strdup(key);
                        assert_non_null(keys[i]);
                        i++;
                }
                for (i = 0; i < n; i++) {
                        json_t *orig = json_incref(json_object_get(node, keys[i]));

                        for (size_t k = 0; k < N_ODD; k++) {
                                json_object_set_new(node, keys[i], odd_value(k));
                                classify_checked(root);
                        }
                        json_object_del(node, keys[i]);
                        classify_checked(root);
                        json_object_set(node, keys[i], orig);
                        mutate_walk(root, orig, depth + 1);
                        json_decref(orig);
                        free(keys[i]);
                }
                free(keys);
        } else if (json_is_array(node)) {
                for (size_t i = 0; i < json_array_size(node); i++) {
                        json_t *orig = json_incref(json_array_get(node, i));

                        for (size_t k = 0; k < N_ODD; k++) {
                                json_array_set_new(node, i, odd_value(k));
                                classify_checked(root);
                        }
                        json_array_set(node, i, orig);
                        mutate_walk(root, orig, depth + 1);
                        json_decref(orig);
                }
        }
}

static void test_robustness(void **state)
{
        classified = 0;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                json_t *j = load_fixture(rows[i].fixture);

                mutate_walk(j, j, 0);
                json_decref(j);
        }
        print_message("%zu mutated containers classified\n", classified);
        assert_true(classified > 10000);
}

int main(void)
{
        /* A zone far from UTC, so that a time read as local time would show. */
        setenv("TZ", "America/New_York", 1);
        tzset();

        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fixtures),
            cmocka_unit_test(test_lookup_calls),
            cmocka_unit_test(test_no_lookup),
            cmocka_unit_test(test_owner_order),
            cmocka_unit_test(test_owner_text_refused),
            cmocka_unit_test(test_name_uid_forms),
            cmocka_unit_test(test_binds_fallback),
            cmocka_unit_test(test_bind_check_limit),
            cmocka_unit_test(test_types),
            cmocka_unit_test(test_gpu_cases),
            cmocka_unit_test(test_gpu_device_limit),
            cmocka_unit_test(test_times_and_labels),
            cmocka_unit_test(test_state_flags),
            cmocka_unit_test(test_bad_input),
            cmocka_unit_test(test_names),
            cmocka_unit_test(test_robustness),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
