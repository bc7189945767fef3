/* fuzz-proxy-body.c - libFuzzer target for the request bodies the proxy reads
 * and changes for non-admins (src/proxy/rewrite.c): container create (inspect,
 * then rewrite, under three GPU decisions), exec create, container update,
 * volume create and network create, and the bind-path check of every host
 * path a create names. The input is one body, parsed as proxy.c parses
 * bodies (json_loadb, flags 0), and given to every entry point.
 *
 * Besides "no crash, no leak", it checks what the policy promises with code of
 * its own, so that a bypass is a finding and not only a crash:
 *   - every refusal is -EPERM or -EINVAL with one line starting "ds01: ";
 *   - after create_rewrite Docker would read the caps and nothing else: no key
 *     Go's encoding/json would take for a checked field unless spelled exactly
 *     like it (case folding, U+212A, U+017F: an independent copy of the rule),
 *     not privileged, no added capability, device or host namespace, Runtime
 *     runc/nvidia/"", CgroupParent ds01's, NanoCpus, Memory, MemorySwap,
 *     ShmSize and PidsLimit within the caps, the owner label ds01's, the GPUs
 *     exactly those allocated (none: no DeviceRequests and
 *     NVIDIA_VISIBLE_DEVICES=void the only such entry);
 *   - an update that passes stays within the caps;
 *   - a volume or network that passes carries ds01.user of the caller.
 * The corpus in tests/fuzz/corpus/proxy-body (bodies the docker CLI 20.10 and
 * compose send) also runs under plain gcc through replay.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proxy/rewrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define USER     "alice"
#define CGROUP   "ds01-student-alice.slice"
#define UUIDS    "GPU-11111111-2222-3333-4444-555555555555,MIG-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define MEM_CAP  (8LL << 30)
#define SWAP_CAP (12LL << 30)
#define SHM_CAP  (1LL << 30)
#define PIDS_CAP 4096LL
#define NANO_CAP 2500000000LL /* 2.5 CPUs */
#define TMP_OPTS "rw,nosuid,nodev,size=10737418240"

static const struct create_limits capped = {
    .max_cpus = 2.5,
    .memory = MEM_CAP,
    .memory_swap = SWAP_CAP,
    .shm_size = SHM_CAP,
    .pids_limit = PIDS_CAP,
    .storage_tmp = 10ULL << 30,
};
static const struct create_limits uncapped = {0};

static void fail(const char *what, const char *detail)
{
        fprintf(stderr, "fuzz-proxy-body: %s: %s\n", what, detail);
        abort();
}

static void check_reason(const char *what, int r, const char *reason)
{
        if (r == 0)
                return;
        if (r != -EPERM && r != -EINVAL)
                fail(what, "refused with an error other than -EPERM/-EINVAL");
        if (strncmp(reason, "ds01: ", 6) != 0)
                fail(what, "a refusal without a 'ds01: ' reason");
        for (const char *p = reason; *p; p++)
                if ((unsigned char)*p < 0x20)
                        fail(what, "a reason of more than one line");
}

/* ---- Go's encoding/json field matching, written again ---- */

static char lower(char c)
{
        return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static bool go_folds_to(const char *key, const char *field)
{
        const unsigned char *k = (const unsigned char *)key;

        for (; *field; field++) {
                char f = lower(*field);
                if (k[0] == 0xe2 && k[1] == 0x84 && k[2] == 0xaa && f == 'k')
                        k += 3; /* KELVIN SIGN */
                else if (k[0] == 0xc5 && k[1] == 0xbf && f == 's')
                        k += 2; /* LATIN SMALL LETTER LONG S */
                else if (*k && *k < 0x80 && lower((char)*k) == f)
                        k++;
                else
                        return false;
        }
        return *k == 0;
}

/* The value Docker would read for field: the exact key (the only spelling
 * allowed through), or abort when another spelling is there. */
static json_t *go_get(json_t *obj, const char *field, const char *where)
{
        const char *key;
        json_t *v;

        json_object_foreach(obj, key, v)
        {
                if (strcmp(key, field) != 0 && go_folds_to(key, field)) {
                        char d[160];
                        snprintf(d, sizeof(d), "'%.40s' in %s reaches Docker as %s", key, where,
                                 field);
                        fail("create passed a case variant", d);
                }
        }
        return json_object_get(obj, field);
}

static long long int_or(json_t *v, long long dflt)
{
        return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

static bool empty(json_t *v)
{
        return !v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
               (json_is_object(v) && json_object_size(v) == 0);
}

static void check_not_host(json_t *hc, const char *field)
{
        const char *s = json_string_value(go_get(hc, field, "HostConfig"));

        if (s && strcmp(s, "host") == 0)
                fail("create passed a host namespace", field);
}

/* ---- create ---- */

enum gpu_case { NO_GPU, GPU_REQUESTS, GPU_RUNTIME };

static void check_rewritten(json_t *body, const struct create_request *req, enum gpu_case g)
{
        static const char *const hc_fields[] = {
            "Privileged",   "CapAdd",       "Devices",      "DeviceRequests", "DeviceCgroupRules",
            "NetworkMode",  "PidMode",      "IpcMode",      "UTSMode",        "UsernsMode",
            "CgroupnsMode", "CgroupParent", "Runtime",      "SecurityOpt",    "Binds",
            "Mounts",       "Memory",       "MemorySwap",   "NanoCpus",       "CpuQuota",
            "CpuPeriod",    "PidsLimit",    "ShmSize",      "Sysctls",        "GroupAdd",
            "VolumesFrom",  "Tmpfs",        "KernelMemory", "OomScoreAdj",    "Capabilities",
        };
        static const char *const top_fields[] = {"HostConfig", "Labels", "Env", "User", "Image"};
        json_t *hc, *labels, *env, *v;
        const char *s, *key;
        long long mem, swap;
        size_t i, visible = 0;

        for (i = 0; i < sizeof(top_fields) / sizeof(top_fields[0]); i++)
                (void)go_get(body, top_fields[i], "the body");
        hc = json_object_get(body, "HostConfig");
        if (!json_is_object(hc))
                fail("create_rewrite", "no HostConfig object");
        for (i = 0; i < sizeof(hc_fields) / sizeof(hc_fields[0]); i++)
                (void)go_get(hc, hc_fields[i], "HostConfig");
        /* top-level HostConfig fields (the pre-1.19 form) are gone */
        for (i = 0; i < sizeof(hc_fields) / sizeof(hc_fields[0]); i++)
                if (json_object_get(body, hc_fields[i]) && strcmp(hc_fields[i], "Capabilities"))
                        fail("create_rewrite left a top-level HostConfig field", hc_fields[i]);

        if (json_is_true(json_object_get(hc, "Privileged")))
                fail("create passed", "Privileged");
        if (!empty(json_object_get(hc, "CapAdd")) || !empty(json_object_get(hc, "Devices")) ||
            !empty(json_object_get(hc, "DeviceCgroupRules")) ||
            !empty(json_object_get(hc, "Sysctls")) || !empty(json_object_get(hc, "GroupAdd")))
                fail("create passed", "capabilities, devices, sysctls or groups");
        check_not_host(hc, "NetworkMode");
        check_not_host(hc, "PidMode");
        check_not_host(hc, "IpcMode");
        check_not_host(hc, "UTSMode");
        check_not_host(hc, "UsernsMode");
        check_not_host(hc, "CgroupnsMode");
        s = json_string_value(json_object_get(hc, "Runtime"));
        if (json_object_get(hc, "Runtime") &&
            !(s && (!*s || !strcmp(s, "runc") || !strcmp(s, "nvidia"))))
                fail("create passed", "a runtime other than runc or nvidia");
        if (int_or(json_object_get(hc, "OomScoreAdj"), 0) < 0)
                fail("create passed", "a negative OomScoreAdj");
        s = json_string_value(json_object_get(hc, "CgroupParent"));
        if (!s || strcmp(s, CGROUP) != 0)
                fail("create_rewrite", "CgroupParent is not ds01's");

        /* the caps */
        v = json_object_get(hc, "NanoCpus");
        if (int_or(v, 0) < 1 || int_or(v, 0) > NANO_CAP ||
            int_or(json_object_get(hc, "CpuQuota"), 0) != 0 ||
            int_or(json_object_get(hc, "CpuPeriod"), 0) != 0)
                fail("create_rewrite", "CPUs not capped");
        mem = int_or(json_object_get(hc, "Memory"), 0);
        swap = int_or(json_object_get(hc, "MemorySwap"), 0);
        if (mem < 1 || mem > MEM_CAP || swap < mem || swap > (SWAP_CAP > mem ? SWAP_CAP : mem))
                fail("create_rewrite", "memory or swap not capped");
        if (int_or(json_object_get(hc, "MemoryReservation"), 0) > mem)
                fail("create_rewrite", "a memory reservation above the limit");
        v = json_object_get(hc, "ShmSize");
        if (int_or(v, 0) < 1 || int_or(v, 0) > SHM_CAP)
                fail("create_rewrite", "ShmSize not capped");
        v = json_object_get(hc, "PidsLimit");
        if (int_or(v, 0) < 1 || int_or(v, 0) > PIDS_CAP)
                fail("create_rewrite", "PidsLimit not capped");
        v = json_object_get(json_object_get(hc, "Tmpfs"), "/tmp");
        if (!json_is_string(v) || strcmp(json_string_value(v), TMP_OPTS) != 0)
                fail("create_rewrite", "no /tmp tmpfs of the configured size");

        /* the owner */
        labels = json_object_get(body, "Labels");
        s = json_string_value(json_object_get(labels, "ds01.user"));
        if (!s || strcmp(s, USER) != 0)
                fail("create_rewrite", "ds01.user is not the caller");
        if (g == NO_GPU && json_object_get(labels, "ds01.gpu.uuids"))
                fail("create_rewrite", "GPU labels without a GPU");

        /* the GPUs Docker will give */
        env = json_object_get(body, "Env");
        json_array_foreach(env, i, v)
        {
                s = json_string_value(v);
                if (s && (strncmp(s, "NVIDIA_VISIBLE_DEVICES=", 23) == 0 ||
                          strcmp(s, "NVIDIA_VISIBLE_DEVICES") == 0)) {
                        visible++;
                        if (g == NO_GPU && strcmp(s, "NVIDIA_VISIBLE_DEVICES=void") != 0)
                                fail("create_rewrite", "NVIDIA_VISIBLE_DEVICES without a GPU");
                        if (g == GPU_RUNTIME && strcmp(s + 23, UUIDS) != 0)
                                fail("create_rewrite", "NVIDIA_VISIBLE_DEVICES is not the GPUs");
                }
        }
        if (visible != (g == GPU_REQUESTS ? 0u : 1u))
                fail("create_rewrite", "not exactly one NVIDIA_VISIBLE_DEVICES entry");
        v = json_object_get(hc, "DeviceRequests");
        if (g != GPU_REQUESTS) {
                if (!empty(v))
                        fail("create_rewrite", "DeviceRequests left in place");
        } else {
                json_t *ids = json_object_get(json_array_get(v, 0), "DeviceIDs");
                if (json_array_size(v) != 1 || json_array_size(ids) != 2)
                        fail("create_rewrite", "DeviceRequests is not the allocated GPUs");
                s = json_string_value(json_object_get(hc, "Runtime"));
                if (s && strcmp(s, "nvidia") == 0)
                        fail("create_rewrite", "the nvidia runtime next to DeviceRequests");
        }
        if (g == GPU_RUNTIME &&
            strcmp(json_string_value(json_object_get(hc, "Runtime")) ?: "", "nvidia") != 0)
                fail("create_rewrite", "GPUs by runtime without the nvidia runtime");

        /* host folders are reached as the caller, without new privileges */
        if (req->n_binds > 0) {
                json_t *opts = json_object_get(hc, "SecurityOpt");
                size_t n = json_array_size(opts);
                s = json_string_value(json_object_get(body, "User"));
                if (!s || strcmp(s, "1000:1000") != 0)
                        fail("create_rewrite", "binds without User uid:gid");
                if (n == 0 || strcmp(json_string_value(json_array_get(opts, n - 1)) ?: "",
                                     "no-new-privileges") != 0)
                        fail("create_rewrite", "binds without no-new-privileges last");
        }
        json_object_foreach(json_object_get(hc, "Tmpfs"), key,
                            v) if (strcmp(key, "/tmp") != 0 && strncmp(key, "/tmp", 4) == 0 &&
                                   strspn(key + 4, "/") == strlen(key + 4))
            fail("create_rewrite", "a second /tmp tmpfs");
}

static void create(const json_t *body)
{
        static const char *const roots[] = {"/home/alice", "/srv/data/alice"};
        struct create_request req;
        char reason[POLICY_REASON_MAX];
        int r;

        reason[0] = '\0';
        r = create_inspect(body, "alice-test", &req, reason, sizeof(reason));
        check_reason("create_inspect", r, reason);
        if (r < 0)
                return;
        if (req.n_binds > REWRITE_MAX_REFS || req.n_volumes > REWRITE_MAX_REFS ||
            req.n_containers > REWRITE_MAX_REFS || req.n_networks > REWRITE_MAX_REFS ||
            req.n_gpu_devices > REWRITE_MAX_REFS)
                fail("create_inspect", "more references than REWRITE_MAX_REFS");
        if ((req.gpu == CREATE_GPU_COUNT && req.gpu_count < 1) ||
            (req.gpu == CREATE_GPU_DEVICES &&
             (req.n_gpu_devices == 0 || (size_t)req.gpu_count != req.n_gpu_devices)))
                fail("create_inspect", "an inconsistent GPU request");
        for (size_t i = 0; i < req.n_binds; i++) {
                /* the engine resolves the path first; a clean absolute path
                 * stands for its resolution here */
                if (req.binds[i][0] == '/')
                        (void)bind_path_allowed(req.binds[i], (char *const *)roots, 2);
        }
        for (int g = NO_GPU; g <= GPU_RUNTIME; g++) {
                struct create_context ctx = {
                    .user = USER,
                    .uid = 1000,
                    .gid = 1000,
                    .cgroup_parent = CGROUP,
                    .force_user = true,
                    .created_at = "2026-06-30T21:59:59Z",
                    .gpu_slots = g ? "0,1.2" : NULL,
                    .gpu_uuids = g ? UUIDS : NULL,
                    .n_uuids = g ? 2 : 0,
                    .gpu_allocated_at = g ? "2026-06-30T21:59:59Z" : NULL,
                    .attach_nvidia_runtime = g == GPU_RUNTIME,
                };
                json_t *copy = json_deep_copy(body);
                char *text;

                if (!copy)
                        break;
                if (create_rewrite(copy, &req, &capped, &ctx) < 0)
                        fail("create_rewrite", "failed on an accepted body");
                check_rewritten(copy, &req, (enum gpu_case)g);
                /* what is sent is JSON that reads back the same */
                text = json_dumps(copy, JSON_COMPACT);
                if (text) {
                        json_t *back = json_loads(text, 0, NULL);
                        if (!back || !json_equal(back, copy))
                                fail("create_rewrite", "the body does not read back");
                        json_decref(back);
                        free(text);
                }
                json_decref(copy);
        }
        {
                struct create_context ctx = {.user = USER, .uid = 1000, .gid = 1000};
                json_t *copy = json_deep_copy(body);
                if (copy && create_rewrite(copy, &req, &uncapped, &ctx) < 0)
                        fail("create_rewrite", "failed without caps");
                json_decref(copy);
        }
        create_request_release(&req);
}

/* ---- the other bodies ---- */

static void update(const json_t *body)
{
        char reason[POLICY_REASON_MAX] = "";
        int r = update_inspect(body, &capped, reason, sizeof(reason));
        json_t *v;

        check_reason("update_inspect", r, reason);
        if (r == 0) {
                v = json_object_get(body, "NanoCpus");
                if (int_or(v, 0) > NANO_CAP || int_or(v, 0) < 0)
                        fail("update passed", "NanoCpus above the cap");
                v = json_object_get(body, "Memory");
                if (int_or(v, 0) > MEM_CAP || int_or(v, 0) < 0)
                        fail("update passed", "Memory above the cap");
                v = json_object_get(body, "MemorySwap");
                if (int_or(v, 0) > SWAP_CAP || int_or(v, 0) < 0)
                        fail("update passed", "MemorySwap above the cap");
                v = json_object_get(body, "PidsLimit");
                if (v && !json_is_null(v) && (int_or(v, 0) > PIDS_CAP || int_or(v, 0) <= 0))
                        fail("update passed", "PidsLimit above the cap or removed");
                if (!empty(json_object_get(body, "Devices")) ||
                    !empty(json_object_get(body, "DeviceRequests")))
                        fail("update passed", "devices");
        }
        reason[0] = '\0';
        r = update_inspect(body, &uncapped, reason, sizeof(reason));
        check_reason("update_inspect (no caps)", r, reason);
}

static void exec_create(const json_t *body)
{
        char reason[POLICY_REASON_MAX] = "";
        int r = exec_inspect(body, "1000:1000", true, reason, sizeof(reason));

        check_reason("exec_inspect", r, reason);
        if (r == 0) {
                const char *u = json_string_value(json_object_get(body, "User"));
                if (json_is_true(json_object_get(body, "Privileged")))
                        fail("exec passed", "Privileged");
                if (u && *u && strcmp(u, "1000:1000") != 0)
                        fail("exec passed", "another user in a container with binds");
        }
        reason[0] = '\0';
        r = exec_inspect(body, NULL, false, reason, sizeof(reason));
        check_reason("exec_inspect (no binds)", r, reason);
}

static void owned(const json_t *body, bool volume)
{
        char reason[POLICY_REASON_MAX] = "";
        json_t *copy = json_deep_copy(body);
        const char *what = volume ? "volume_create_rewrite" : "network_create_rewrite";
        int r;

        if (!copy)
                return;
        r = volume ? volume_create_rewrite(copy, USER, reason, sizeof(reason))
                   : network_create_rewrite(copy, USER, reason, sizeof(reason));
        check_reason(what, r, reason);
        if (r == 0) {
                const char *s = json_string_value(
                    json_object_get(json_object_get(copy, "Labels"), "ds01.user"));
                const char *d = json_string_value(json_object_get(copy, "Driver"));
                if (!s || strcmp(s, USER) != 0)
                        fail(what, "passed without the caller's ds01.user label");
                if (volume && d && *d && strcmp(d, "local") != 0)
                        fail(what, "passed with another driver");
                if (!volume && d && *d && strcmp(d, "bridge") != 0)
                        fail(what, "passed with another driver");
        }
        json_decref(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *body;

        if (size > CREATE_BODY_MAX)
                return 0;
        body = json_loadb((const char *)data, size, 0, NULL);
        if (!body)
                return 0;
        create(body);
        update(body);
        exec_create(body);
        owned(body, true);
        owned(body, false);
        json_decref(body);
        return 0;
}
