/* SPDX-License-Identifier: MIT */
/*
 * rewrite.c - reading and changing the request bodies the proxy must look
 * into for non-admins: container create (inspect, then rewrite), exec create,
 * container update, volume create and network create; and the bind-path
 * helpers (resolve, allowed, root expansion).
 *
 * Everything here is pure except bind_path_resolve(), which asks the file
 * system: realpath and lstat. The bodies are jansson trees parsed by the engine.
 *
 * Docker decodes these bodies with Go's encoding/json, which matches object
 * keys to struct fields case-insensitively (bytes.EqualFold: ASCII case, and
 * U+212A KELVIN SIGN for 'k', U+017F LATIN SMALL LETTER LONG S for 's').
 * {"hostconfig":{"privileged":true}} is therefore a privileged container to
 * Docker. Every struct-shaped object read here goes through check_fields(),
 * which refuses a key that Go would take for a known field but that is not
 * spelled exactly like it; the exact spellings are then the only ones that
 * matter. Maps (Labels, Tmpfs, Sysctls, DriverOpts, ...) are case-sensitive in
 * Go and are read as they are.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "proxy/rewrite.h"
#include "util/macro.h"
#include "util/strutil.h"

#define DEFAULT_CPU_PERIOD 100000LL /* Docker's CFS period, microseconds */
#define NANO_PER_CPU       1000000000LL

/* ---- reasons ---- */

struct why {
        char *buf;
        size_t size;
};

/* Writes "ds01: <message>" to the caller's buffer (one line: control
 * characters from the request become '?') and returns r. */
_printf_(3, 4) static int deny(struct why *w, int r, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (!w || !w->buf || w->size == 0)
                return r;
        n = snprintf(w->buf, w->size, "ds01: ");
        if (n >= 0 && (size_t)n < w->size) {
                va_start(ap, fmt);
                (void)vsnprintf(w->buf + n, w->size - (size_t)n, fmt, ap);
                va_end(ap);
        }
        for (char *p = w->buf; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = '?';
        return r;
}

/* ---- JSON field access ---- */

static char ascii_lower(char c)
{
        return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Would Go's encoding/json decode key into the field named field? */
static bool go_key_matches(const char *key, const char *field)
{
        const unsigned char *k = (const unsigned char *)key;

        for (const char *f = field; *f; f++) {
                char want = ascii_lower(*f);

                if (*k == 0)
                        return false;
                if (*k < 0x80) {
                        if (ascii_lower((char)*k) != want)
                                return false;
                        k++;
                } else if (want == 'k' && k[0] == 0xe2 && k[1] == 0x84 && k[2] == 0xaa) {
                        k += 3;
                } else if (want == 's' && k[0] == 0xc5 && k[1] == 0xbf) {
                        k += 2;
                } else
                        return false;
        }
        return *k == 0;
}

/* Refuse keys Go would read as one of fields without being spelled like it. */
static int check_fields(struct why *w, const json_t *obj, const char *where,
                        const char *const *fields)
{
        const char *key;
        json_t *v;

        json_object_foreach((json_t *)obj, key, v)
        {
                for (const char *const *f = fields; *f; f++)
                        if (!streq(key, *f) && go_key_matches(key, *f))
                                return deny(w, -EINVAL,
                                            "malformed request: '%.64s' in %s must be written "
                                            "'%s'; fix the request",
                                            key, where, *f);
        }
        return 0;
}

enum kind {
        K_STRING,
        K_INT,
        K_BOOL,
        K_ARRAY,
        K_OBJECT,
};

static const char *const kind_names[] = {
    [K_STRING] = "a string", [K_INT] = "an integer",   [K_BOOL] = "true or false",
    [K_ARRAY] = "a list",    [K_OBJECT] = "an object",
};

/* A string without NUL bytes inside (jansson allows them, C strings do not). */
static bool is_clean_string(const json_t *v)
{
        return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

static bool kind_ok(const json_t *v, enum kind k)
{
        switch (k) {
        case K_STRING:
                return is_clean_string(v);
        case K_INT:
                return json_is_integer(v);
        case K_BOOL:
                return json_is_boolean(v);
        case K_ARRAY:
                return json_is_array(v);
        case K_OBJECT:
                return json_is_object(v);
        }
        return false;
}

/* obj[key] when it has kind k; *ret = NULL when absent or null (Docker reads
 * both as "not set"); -EINVAL with a reason for any other type. where: the
 * object's name for messages, "" for the top level. */
static int get(struct why *w, const json_t *obj, const char *where, const char *key, enum kind k,
               json_t **ret)
{
        json_t *v = json_object_get(obj, key);

        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!kind_ok(v, k))
                return deny(w, -EINVAL, "malformed request: %s%s%s must be %s; fix the request",
                            where, *where ? "." : "", key, kind_names[k]);
        *ret = v;
        return 0;
}

static int get_str(struct why *w, const json_t *obj, const char *where, const char *key,
                   const char **ret)
{
        json_t *v = NULL;
        int r = get(w, obj, where, key, K_STRING, &v);

        if (r < 0)
                return r;
        *ret = v ? json_string_value(v) : NULL;
        return 0;
}

static int get_bool(struct why *w, const json_t *obj, const char *where, const char *key, bool *ret)
{
        json_t *v;
        int r = get(w, obj, where, key, K_BOOL, &v);

        if (r < 0)
                return r;
        *ret = v && json_is_true(v);
        return 0;
}

/* *ret = 0 when absent or null. */
static int get_int(struct why *w, const json_t *obj, const char *where, const char *key,
                   long long *ret, bool *ret_set)
{
        json_t *v = NULL;
        int r = get(w, obj, where, key, K_INT, &v);

        if (r < 0)
                return r;
        *ret = v ? (long long)json_integer_value(v) : 0;
        if (ret_set)
                *ret_set = v != NULL;
        return 0;
}

/* Every element of an array (or every value of an object) a clean string. */
static int check_strings(struct why *w, const json_t *v, const char *where, const char *key)
{
        size_t i;
        const char *k;
        json_t *e;

        if (json_is_array(v)) {
                json_array_foreach(v, i, e) if (!is_clean_string(e)) return deny(
                    w, -EINVAL,
                    "malformed request: %s%s%s must hold strings only; "
                    "fix the request",
                    where, *where ? "." : "", key);
        } else if (json_is_object(v)) {
                json_object_foreach((json_t *)v, k, e) if (!is_clean_string(e)) return deny(
                    w, -EINVAL,
                    "malformed request: %s%s%s must map names to strings; "
                    "fix the request",
                    where, *where ? "." : "", key);
        }
        return 0;
}

static bool container_empty(const json_t *v)
{
        if (!v)
                return true;
        if (json_is_array(v))
                return json_array_size(v) == 0;
        if (json_is_object(v))
                return json_object_size(v) == 0;
        return false;
}

/* ---- the fields Docker reads, per struct (for check_fields) ---- */

/* container.Config, and the create body's own HostConfig, NetworkingConfig */
#define CONFIG_FIELDS                                                                              \
        "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",           \
            "ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck",          \
            "ArgsEscaped", "Image", "Volumes", "WorkingDir", "Entrypoint", "NetworkDisabled",      \
            "MacAddress", "OnBuild", "Labels", "StopSignal", "StopTimeout", "Shell"

static const char *const config_fields[] = {CONFIG_FIELDS, "HostConfig", "NetworkingConfig", NULL};

/* container.Resources, shared by HostConfig and UpdateConfig */
#define RESOURCES_FIELDS                                                                           \
        "CpuShares", "Memory", "NanoCpus", "CgroupParent", "BlkioWeight", "BlkioWeightDevice",     \
            "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps",                    \
            "BlkioDeviceWriteIOps", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod",                  \
            "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "Devices", "DeviceCgroupRules",      \
            "DeviceRequests", "KernelMemory", "KernelMemoryTCP", "MemoryReservation",              \
            "MemorySwap", "MemorySwappiness", "OomKillDisable", "PidsLimit", "Ulimits",            \
            "CpuCount", "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth"

static const char *const host_config_fields[] = {
    "Binds",           "ContainerIDFile", "LogConfig",    "NetworkMode",   "PortBindings",
    "RestartPolicy",   "AutoRemove",      "VolumeDriver", "VolumesFrom",   "ConsoleSize",
    "Annotations",     "CapAdd",          "CapDrop",      "CgroupnsMode",  "Dns",
    "DnsOptions",      "DnsSearch",       "ExtraHosts",   "GroupAdd",      "IpcMode",
    "Cgroup",          "Links",           "OomScoreAdj",  "PidMode",       "Privileged",
    "PublishAllPorts", "ReadonlyRootfs",  "SecurityOpt",  "StorageOpt",    "Tmpfs",
    "UTSMode",         "UsernsMode",      "ShmSize",      "Sysctls",       "Runtime",
    "Isolation",       "Mounts",          "MaskedPaths",  "ReadonlyPaths", "Init",
    "Capabilities",    RESOURCES_FIELDS,  NULL,
};

static const char *const update_fields[] = {RESOURCES_FIELDS, "RestartPolicy", NULL};

static const char *const networking_config_fields[] = {"EndpointsConfig", NULL};
static const char *const endpoint_fields[] = {
    "IPAMConfig",          "Links",       "Aliases",     "MacAddress",
    "DriverOpts",          "NetworkID",   "EndpointID",  "Gateway",
    "IPAddress",           "IPPrefixLen", "IPv6Gateway", "GlobalIPv6Address",
    "GlobalIPv6PrefixLen", "DNSNames",    "GwPriority",  NULL,
};
static const char *const mount_fields[] = {
    "Type",          "Source",       "Target",       "ReadOnly",       "Consistency", "BindOptions",
    "VolumeOptions", "ImageOptions", "TmpfsOptions", "ClusterOptions", NULL,
};
static const char *const volume_options_fields[] = {"NoCopy", "Labels", "Subpath", "DriverConfig",
                                                    NULL};
static const char *const driver_config_fields[] = {"Name", "Options", NULL};
static const char *const device_request_fields[] = {"Driver",       "Count",   "DeviceIDs",
                                                    "Capabilities", "Options", NULL};
static const char *const port_binding_fields[] = {"HostIp", "HostPort", NULL};
static const char *const ulimit_fields[] = {"Name", "Soft", "Hard", NULL};
static const char *const log_config_fields[] = {"Type", "Config", NULL};
static const char *const exec_fields[] = {
    "User",   "Privileged", "Tty", "ConsoleSize", "AttachStdin", "AttachStderr", "AttachStdout",
    "Detach", "DetachKeys", "Env", "WorkingDir",  "Cmd",         NULL,
};
static const char *const volume_create_fields[] = {
    "Name", "Driver", "DriverOpts", "Labels", "ClusterVolumeSpec", NULL};
static const char *const network_create_fields[] = {
    "Name",       "CheckDuplicate", "Driver",     "Scope",      "Internal",
    "Attachable", "Ingress",        "ConfigOnly", "ConfigFrom", "IPAM",
    "EnableIPv6", "EnableIPv4",     "Options",    "Labels",     NULL,
};
static const char *const ipam_fields[] = {"Driver", "Config", "Options", NULL};

/* ---- paths ---- */

/* Go's path.Clean for an absolute path: "//" and "." dropped, ".." applied
 * lexically ("/.." is "/"), no trailing '/'. out holds at least strlen(in)+1
 * bytes (the result is never longer, except "" which becomes "/"). */
static void path_clean(const char *in, char *out, size_t size)
{
        size_t len = 0;
        const char *p = in;

        assert(in[0] == '/' && size >= 2);
        out[0] = '/';
        len = 1;
        while (*p) {
                const char *s;
                size_t n;

                while (*p == '/')
                        p++;
                s = p;
                while (*p && *p != '/')
                        p++;
                n = (size_t)(p - s);
                if (n == 0 || (n == 1 && s[0] == '.'))
                        continue;
                if (n == 2 && s[0] == '.' && s[1] == '.') {
                        while (len > 1 && out[len - 1] != '/')
                                len--;
                        if (len > 1)
                                len--; /* the '/' before the dropped component */
                        continue;
                }
                if (len > 1)
                        out[len++] = '/';
                assert(len + n < size);
                memcpy(out + len, s, n);
                len += n;
        }
        out[len] = 0;
}

/* path (absolute) at or below dir (normal, no trailing '/'). */
static bool path_under(const char *path, const char *dir)
{
        size_t n = strlen(dir);

        return strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/');
}

/* Mount targets that hand out GPUs when the NVIDIA toolkit is configured with
 * accept-nvidia-visible-devices-as-volume-mounts. */
static bool target_selects_gpus(const char *target)
{
        char clean[REWRITE_PATH_MAX];

        if (target[0] != '/' || strlen(target) >= sizeof(clean))
                return false;
        path_clean(target, clean, sizeof(clean));
        return path_under(clean, "/var/run/nvidia-container-devices") ||
               path_under(clean, "/run/nvidia-container-devices");
}

static int check_target(struct why *w, const char *target)
{
        if (target && target_selects_gpus(target))
                return deny(w, -EPERM,
                            "mounting at %.128s is not allowed (it selects GPUs); use another "
                            "folder, and --gpus for GPUs",
                            target);
        return 0;
}

/* ---- collecting names ---- */

static int add_ref(struct why *w, char **list, size_t *n, const char *s, size_t max_len,
                   const char *what)
{
        char *copy;

        if (isempty(s))
                return deny(w, -EINVAL, "malformed request: an empty %s name; fix the request",
                            what);
        if (strlen(s) >= max_len)
                return deny(w, -EINVAL, "malformed request: %s name '%.64s...' is too long", what,
                            s);
        for (size_t i = 0; i < *n; i++)
                if (streq(list[i], s))
                        return 0;
        if (*n >= REWRITE_MAX_REFS)
                return deny(w, -EINVAL, "the request names more than %d %ss; use fewer",
                            REWRITE_MAX_REFS, what);
        copy = strdup(s);
        if (!copy)
                return deny(w, -ENOMEM, "out of memory; try again");
        list[(*n)++] = copy;
        return 0;
}

static int add_container(struct why *w, struct create_request *req, const char *s)
{
        return add_ref(w, req->containers, &req->n_containers, s, POLICY_REF_MAX, "container");
}

static int add_volume(struct why *w, struct create_request *req, const char *s)
{
        return add_ref(w, req->volumes, &req->n_volumes, s, POLICY_REF_MAX, "volume");
}

static int add_network(struct why *w, struct create_request *req, const char *s)
{
        return add_ref(w, req->networks, &req->n_networks, s, POLICY_REF_MAX, "network");
}

static int add_bind(struct why *w, struct create_request *req, const char *s)
{
        return add_ref(w, req->binds, &req->n_binds, s, REWRITE_PATH_MAX, "bind mount");
}

void create_request_release(struct create_request *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n_binds; i++)
                r->binds[i] = mfree(r->binds[i]);
        for (size_t i = 0; i < r->n_volumes; i++)
                r->volumes[i] = mfree(r->volumes[i]);
        for (size_t i = 0; i < r->n_containers; i++)
                r->containers[i] = mfree(r->containers[i]);
        for (size_t i = 0; i < r->n_networks; i++)
                r->networks[i] = mfree(r->networks[i]);
        for (size_t i = 0; i < r->n_volumes_from; i++)
                r->volumes_from[i] = mfree(r->volumes_from[i]);
        r->n_binds = r->n_volumes = r->n_containers = r->n_networks = r->n_volumes_from = 0;
}

/* ---- create: labels and type ---- */

static bool is_ds01_key(const char *key)
{
        return startswith_no_case(key, "ds01.") != NULL;
}

static int inspect_labels(struct why *w, const json_t *body, const char *name,
                          struct create_request *req)
{
        const char *iface = NULL, *key;
        bool devcontainer = false, compose = false;
        json_t *labels, *v;
        int r;

        r = get(w, body, "", "Labels", K_OBJECT, &labels);
        if (r < 0)
                return r;
        if (labels) {
                r = check_strings(w, labels, "", "Labels");
                if (r < 0)
                        return r;
                json_object_foreach(labels, key, v)
                {
                        const char *val = json_string_value(v);

                        if (streq(key, "ds01.interface")) {
                                if (!streq(val, "orchestration") && !streq(val, "atomic"))
                                        return deny(w, -EPERM,
                                                    "label ds01.interface=%.64s is set by ds01; "
                                                    "remove it",
                                                    val);
                                iface = val;
                        } else if (is_ds01_key(key))
                                return deny(w, -EPERM, "label %.64s is set by ds01; remove it",
                                            key);
                        if (startswith(key, "devcontainer."))
                                devcontainer = true;
                        if (startswith(key, "com.docker.compose."))
                                compose = true;
                }
        }
        if (name) {
                const char *n = name[0] == '/' ? name + 1 : name;

                if (startswith(n, "vsc-"))
                        devcontainer = true;
        }

        if (iface) {
                (void)strscpy(req->type, sizeof(req->type), iface);
                (void)strscpy(req->interface, sizeof(req->interface), iface);
        } else {
                (void)strscpy(req->type, sizeof(req->type),
                              devcontainer ? "devcontainer"
                              : compose    ? "compose"
                                           : "docker");
                (void)strscpy(req->interface, sizeof(req->interface), "docker");
        }
        return 0;
}

/* ---- create: host config ---- */

static int check_security_opt(struct why *w, const char *opt)
{
        const char *sep = strchr(opt, '=');
        char key[32];
        const char *val;
        size_t n;

        /* Docker: "key=value", the older "key:value", or a bare
         * "no-new-privileges". */
        if (!sep)
                sep = strchr(opt, ':');
        if (!sep) {
                if (strcasecmp(opt, "no-new-privileges") == 0)
                        return 0;
                return deny(w, -EPERM, "security option '%.64s' is not allowed; remove it", opt);
        }
        n = (size_t)(sep - opt);
        if (n >= sizeof(key))
                return deny(w, -EPERM, "security option '%.64s' is not allowed; remove it", opt);
        memcpy(key, opt, n);
        key[n] = 0;
        val = sep + 1;

        if (streq(key, "no-new-privileges"))
                return 0;
        /* SELinux: "disable" and "type:spc_t" (or any other type) leave the
         * container unconfined, "level:" picks MCS categories (another
         * container's, or a range over all of them), "user:"/"role:" widen
         * the types reachable; nobody needs them here: none is allowed */
        if (streq(key, "label")) {
                if (streq(val, "disable"))
                        return deny(w, -EPERM,
                                    "--security-opt label=disable is not allowed; remove it");
                return deny(w, -EPERM,
                            "--security-opt label=%.64s is not allowed; remove it (Docker sets "
                            "the SELinux label)",
                            val);
        }
        if (streq(key, "apparmor")) {
                if (streq(val, "docker-default"))
                        return 0;
                return deny(w, -EPERM,
                            "--security-opt apparmor=%.64s is not allowed; remove it (the "
                            "default profile applies)",
                            val);
        }
        if (streq(key, "seccomp")) {
                if (streq(val, "builtin"))
                        return 0;
                if (streq(val, "unconfined"))
                        return deny(w, -EPERM,
                                    "--security-opt seccomp=unconfined is not allowed; remove it");
                return deny(w, -EPERM,
                            "custom seccomp profiles are not allowed; remove --security-opt "
                            "seccomp=... (the default profile applies)");
        }
        if (streq(key, "systempaths"))
                return deny(w, -EPERM, "--security-opt systempaths=%.64s is not allowed; remove it",
                            val);
        return deny(w, -EPERM, "security option '%.64s' is not allowed; remove it", opt);
}

/* HostPort: "", "8080" or "8000-8100". *ret_low: the lowest port, 0 when
 * Docker picks. */
static int parse_host_port(const char *s, long *ret_low)
{
        long lo = 0, hi = 0;
        const char *p = s;

        if (!*s) {
                *ret_low = 0;
                return 0;
        }
        for (int part = 0; part < 2; part++) {
                long v = 0;
                const char *start = p;

                while (*p >= '0' && *p <= '9') {
                        v = v * 10 + (*p - '0');
                        if (v > 65535)
                                return -EINVAL;
                        p++;
                }
                if (p == start)
                        return -EINVAL;
                if (part == 0)
                        lo = hi = v;
                else
                        hi = v;
                if (*p == 0)
                        break;
                if (*p != '-' || part == 1)
                        return -EINVAL;
                p++;
        }
        if (hi < lo)
                return -EINVAL;
        *ret_low = lo;
        return 0;
}

static int inspect_port_bindings(struct why *w, const json_t *pb)
{
        const char *port;
        json_t *list;

        json_object_foreach((json_t *)pb, port, list)
        {
                size_t i;
                json_t *b;

                if (json_is_null(list))
                        continue;
                if (!json_is_array(list))
                        return deny(w, -EINVAL,
                                    "malformed request: HostConfig.PortBindings[%.32s] must be a "
                                    "list; fix the request",
                                    port);
                json_array_foreach(list, i, b)
                {
                        const char *hp;
                        long low;
                        int r;

                        if (json_is_null(b))
                                continue;
                        if (!json_is_object(b))
                                return deny(w, -EINVAL,
                                            "malformed request: a port binding must be an object; "
                                            "fix the request");
                        r = check_fields(w, b, "a port binding", port_binding_fields);
                        if (r < 0)
                                return r;
                        r = get_str(w, b, "PortBindings", "HostPort", &hp);
                        if (r < 0)
                                return r;
                        if (!hp)
                                continue;
                        if (parse_host_port(hp, &low) < 0)
                                return deny(w, -EINVAL,
                                            "malformed request: host port '%.32s' is not a port "
                                            "or range; fix the request",
                                            hp);
                        if (low > 0 && low < 1024)
                                return deny(w, -EPERM,
                                            "publishing host port %ld is not allowed (ports "
                                            "below 1024 are reserved); use a port of 1024 or more",
                                            low);
                }
        }
        return 0;
}

static int inspect_binds(struct why *w, const json_t *binds, struct create_request *req)
{
        size_t i;
        json_t *e;
        int r;

        r = check_strings(w, binds, "HostConfig", "Binds");
        if (r < 0)
                return r;
        json_array_foreach(binds, i, e)
        {
                const char *s = json_string_value(e);
                const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                char src[REWRITE_PATH_MAX], dst[REWRITE_PATH_MAX];
                size_t n;

                /* Docker: SplitN(spec, ":", 4) into 1 (a destination: an
                 * anonymous volume), 2 (src:dst) or 3 (src:dst:mode) parts. */
                if (s[0] == 0 || s[0] == ':' || (c2 && strchr(c2 + 1, ':')))
                        return deny(w, -EINVAL,
                                    "malformed bind '%.128s'; use source:target[:options]", s);
                if (!c1) {
                        r = check_target(w, s);
                        if (r < 0)
                                return r;
                        continue;
                }
                n = (size_t)(c1 - s);
                if (n >= sizeof(src))
                        return deny(w, -EINVAL, "bind source '%.64s...' is too long", s);
                memcpy(src, s, n);
                src[n] = 0;
                n = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
                if (n >= sizeof(dst))
                        return deny(w, -EINVAL, "bind target in '%.64s...' is too long", s);
                memcpy(dst, c1 + 1, n);
                dst[n] = 0;
                r = check_target(w, dst);
                if (r < 0)
                        return r;
                r = src[0] == '/' ? add_bind(w, req, src) : add_volume(w, req, src);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int inspect_volume_options(struct why *w, const json_t *vo)
{
        json_t *dc, *opts;
        const char *driver;
        int r;

        r = check_fields(w, vo, "a mount's VolumeOptions", volume_options_fields);
        if (r < 0)
                return r;
        r = get(w, vo, "VolumeOptions", "DriverConfig", K_OBJECT, &dc);
        if (r < 0 || !dc)
                return r;
        r = check_fields(w, dc, "a mount's DriverConfig", driver_config_fields);
        if (r < 0)
                return r;
        r = get_str(w, dc, "DriverConfig", "Name", &driver);
        if (r < 0)
                return r;
        if (driver && !streq(driver, "") && !streq(driver, "local"))
                return deny(w, -EPERM, "volume driver '%.64s' is not allowed; use the local driver",
                            driver);
        r = get(w, dc, "DriverConfig", "Options", K_OBJECT, &opts);
        if (r < 0 || !opts)
                return r;
        r = check_strings(w, opts, "DriverConfig", "Options");
        if (r < 0)
                return r;
        for (const char *const *o = (const char *const[]){"o", "device", "type", NULL}; *o; o++)
                if (json_object_get(opts, *o))
                        return deny(w, -EPERM,
                                    "volume driver option '%s' is not allowed; use a plain named "
                                    "volume",
                                    *o);
        return 0;
}

static int inspect_mounts(struct why *w, const json_t *mounts, struct create_request *req)
{
        size_t i;
        json_t *m;
        int r;

        json_array_foreach(mounts, i, m)
        {
                const char *type, *source, *target;
                json_t *vo;

                if (!json_is_object(m))
                        return deny(w, -EINVAL,
                                    "malformed request: HostConfig.Mounts must hold objects; fix "
                                    "the request");
                r = check_fields(w, m, "a mount", mount_fields);
                if (r < 0)
                        return r;
                r = get_str(w, m, "Mounts", "Type", &type);
                if (r < 0)
                        return r;
                r = get_str(w, m, "Mounts", "Source", &source);
                if (r < 0)
                        return r;
                r = get_str(w, m, "Mounts", "Target", &target);
                if (r < 0)
                        return r;
                r = get(w, m, "Mounts", "VolumeOptions", K_OBJECT, &vo);
                if (r < 0)
                        return r;
                if (isempty(type))
                        return deny(w, -EINVAL,
                                    "malformed request: a mount without a Type; fix the request");
                r = check_target(w, target);
                if (r < 0)
                        return r;
                if (streq(type, "bind")) {
                        if (isempty(source) || source[0] != '/')
                                return deny(w, -EINVAL,
                                            "bind mount source '%.128s' must be an absolute "
                                            "path; use a full path such as /home/...",
                                            source ? source : "");
                        r = add_bind(w, req, source);
                } else if (streq(type, "volume")) {
                        if (vo) {
                                r = inspect_volume_options(w, vo);
                                if (r < 0)
                                        return r;
                        }
                        r = isempty(source) ? 0 : add_volume(w, req, source);
                } else if (streq(type, "tmpfs")) {
                        r = 0;
                } else
                        return deny(w, -EPERM,
                                    "mount type '%.32s' is not allowed; use bind, volume or tmpfs",
                                    type);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "container:<ref>" modes. */
static int collect_container_mode(struct why *w, const char *mode, struct create_request *req)
{
        const char *ref = mode ? startswith(mode, "container:") : NULL;

        return ref ? add_container(w, req, ref) : 0;
}

static int inspect_network_mode(struct why *w, const char *mode, struct create_request *req)
{
        if (!mode || streq(mode, "") || streq(mode, "default") || streq(mode, "bridge") ||
            streq(mode, "none"))
                return 0;
        if (streq(mode, "host"))
                return deny(w, -EPERM,
                            "the 'host' network is not allowed; use the default bridge or your "
                            "own network");
        if (startswith(mode, "container:"))
                return collect_container_mode(w, mode, req);
        return add_network(w, req, mode);
}

static int inspect_ulimits(struct why *w, const json_t *ulimits)
{
        size_t i;
        json_t *u;
        int r;

        json_array_foreach(ulimits, i, u)
        {
                const char *name;
                long long soft, hard;

                if (!json_is_object(u))
                        return deny(w, -EINVAL,
                                    "malformed request: HostConfig.Ulimits must hold objects; fix "
                                    "the request");
                r = check_fields(w, u, "a ulimit", ulimit_fields);
                if (r < 0)
                        return r;
                r = get_str(w, u, "Ulimits", "Name", &name);
                if (r < 0)
                        return r;
                r = get_int(w, u, "Ulimits", "Soft", &soft, NULL);
                if (r < 0)
                        return r;
                r = get_int(w, u, "Ulimits", "Hard", &hard, NULL);
                if (r < 0)
                        return r;
                /* real-time scheduling escapes the CPU limit */
                if (name && streq(name, "rtprio") && (soft != 0 || hard != 0))
                        return deny(w, -EPERM, "--ulimit rtprio is not allowed; remove it");
        }
        return 0;
}

/* Log drivers run inside dockerd: some reach the network or the host's cloud
 * credentials (awslogs, gcplogs, gelf, fluentd, syslog, ...). Allowed: the
 * daemon's default (""), json-file, local, journald, none. Options
 * (LogConfig.Config) only the file drivers' size and rotation ones, plus
 * "mode" (Docker checks its value; max-buffer-size, which sizes a buffer in
 * dockerd, is not allowed); with the default driver too (Docker refuses
 * options a driver does not know), not with journald or none. */
static int inspect_log_config(struct why *w, const json_t *lc)
{
        static const char *const options[] = {"max-size", "max-file", "compress", "mode"};
        const char *type, *key;
        json_t *config, *e;
        int r;

        r = check_fields(w, lc, "HostConfig.LogConfig", log_config_fields);
        if (r < 0)
                return r;
        r = get_str(w, lc, "HostConfig.LogConfig", "Type", &type);
        if (r < 0)
                return r;
        if (type && !streq(type, "") && !streq(type, "json-file") && !streq(type, "local") &&
            !streq(type, "journald") && !streq(type, "none"))
                return deny(w, -EPERM,
                            "log driver '%.32s' is not allowed; leave out --log-driver (or use "
                            "json-file, local, journald or none)",
                            type);
        r = get(w, lc, "HostConfig.LogConfig", "Config", K_OBJECT, &config);
        if (r < 0 || container_empty(config))
                return r;
        r = check_strings(w, config, "HostConfig.LogConfig", "Config");
        if (r < 0)
                return r;
        if (type && (streq(type, "journald") || streq(type, "none")))
                return deny(w, -EPERM,
                            "log options are not allowed with the %s log driver; remove "
                            "--log-opt",
                            type);
        json_object_foreach((json_t *)config, key, e)
        {
                bool known = false;

                for (size_t i = 0; i < ELEMENTSOF(options); i++)
                        known = known || streq(key, options[i]);
                if (!known)
                        return deny(w, -EPERM,
                                    "log option '%.64s' is not allowed; use only max-size, "
                                    "max-file, compress and mode",
                                    key);
        }
        return 0;
}

static const struct {
        const char *field, *flag;
} namespace_modes[] = {
    {"PidMode", "--pid"},       {"IpcMode", "--ipc"},           {"UTSMode", "--uts"},
    {"UsernsMode", "--userns"}, {"CgroupnsMode", "--cgroupns"},
};

/* HostConfig fields refused whenever they are set (true, non-empty,
 * non-zero). */
static const struct {
        const char *field;
        enum kind kind;
        const char *reason;
} host_denials[] = {
    {"Privileged", K_BOOL, "--privileged is not allowed; ask an admin if your work needs it"},
    {"Capabilities", K_ARRAY, "HostConfig.Capabilities is not allowed; remove it"},
    {"Devices", K_ARRAY, "--device is not allowed; ask for GPUs with --gpus, or ask an admin"},
    {"DeviceCgroupRules", K_ARRAY, "--device-cgroup-rule is not allowed; remove it"},
    {"Sysctls", K_OBJECT,
     "--sysctl is not allowed; remove it, or ask an admin if your work needs it"},
    {"CgroupParent", K_STRING,
     "--cgroup-parent is not allowed; remove it (ds01 places your containers)"},
    {"Annotations", K_OBJECT, "container annotations are not allowed; remove them"},
    /* supplementary groups reach host files through the bind mounts (the
     * docker group's socket, a shared group's folders) */
    {"GroupAdd", K_ARRAY,
     "--group-add is not allowed; files in your mounted folders are reached with your own "
     "groups"},
    /* real-time scheduling escapes the CPU limit */
    {"CpuRealtimeRuntime", K_INT, "--cpu-rt-runtime is not allowed; remove it"},
    {"CpuRealtimePeriod", K_INT, "--cpu-rt-period is not allowed; remove it"},
};

/* Set: true, a non-empty string, list or object, a non-zero number. */
static bool is_set(const json_t *v)
{
        if (!v)
                return false;
        if (json_is_boolean(v))
                return json_is_true(v);
        if (json_is_string(v))
                return json_string_length(v) > 0;
        if (json_is_integer(v))
                return json_integer_value(v) != 0;
        return !container_empty(v);
}

static int inspect_host_config(struct why *w, const json_t *hc, struct create_request *req)
{
        static const char *const int_fields[] = {
            "Memory",       "MemorySwap", "NanoCpus",          "CpuQuota",
            "CpuPeriod",    "ShmSize",    "PidsLimit",         "MemoryReservation",
            "KernelMemory", "CpuShares",  "CpuRealtimePeriod", "CpuRealtimeRuntime",
        };
        static const char *const string_lists[] = {
            "CapAdd",      "CapDrop", "SecurityOpt", "DeviceCgroupRules",
            "VolumesFrom", "Links",   "GroupAdd"};
        const char *H = "HostConfig";
        json_t *v;
        const char *s;
        long long n;
        size_t i;
        json_t *e;
        int r;

        r = check_fields(w, hc, "HostConfig", host_config_fields);
        if (r < 0)
                return r;

        /* types first, so that later code reads only well-formed fields */
        for (i = 0; i < ELEMENTSOF(int_fields); i++) {
                r = get(w, hc, H, int_fields[i], K_INT, &v);
                if (r < 0)
                        return r;
        }
        for (i = 0; i < ELEMENTSOF(string_lists); i++) {
                r = get(w, hc, H, string_lists[i], K_ARRAY, &v);
                if (r < 0)
                        return r;
                if (v) {
                        r = check_strings(w, v, H, string_lists[i]);
                        if (r < 0)
                                return r;
                }
        }

        for (i = 0; i < ELEMENTSOF(host_denials); i++) {
                r = get(w, hc, H, host_denials[i].field, host_denials[i].kind, &v);
                if (r < 0)
                        return r;
                if (is_set(v))
                        return deny(w, -EPERM, "%s", host_denials[i].reason);
        }

        r = get(w, hc, H, "CapAdd", K_ARRAY, &v);
        if (r < 0)
                return r;
        if (is_set(v))
                return deny(w, -EPERM,
                            "--cap-add %.32s is not allowed; remove it, or ask an admin if your "
                            "work needs it",
                            json_string_value(json_array_get(v, 0)));

        for (i = 0; i < ELEMENTSOF(namespace_modes); i++) {
                r = get_str(w, hc, H, namespace_modes[i].field, &s);
                if (r < 0)
                        return r;
                if (s && streq(s, "host"))
                        return deny(w, -EPERM, "%s=host is not allowed; remove it",
                                    namespace_modes[i].flag);
        }

        r = get_str(w, hc, H, "NetworkMode", &s);
        if (r < 0)
                return r;
        r = inspect_network_mode(w, s, req);
        if (r < 0)
                return r;

        r = get(w, hc, H, "SecurityOpt", K_ARRAY, &v);
        if (r < 0)
                return r;
        json_array_foreach(v, i, e)
        {
                r = check_security_opt(w, json_string_value(e));
                if (r < 0)
                        return r;
        }

        for (const char *const *f = (const char *const[]){"MaskedPaths", "ReadonlyPaths", NULL}; *f;
             f++) {
                r = get(w, hc, H, *f, K_ARRAY, &v);
                if (r < 0)
                        return r;
                if (v)
                        return deny(w, -EPERM,
                                    "HostConfig.%s is not allowed (it changes what /proc and /sys "
                                    "hide); remove it and --security-opt systempaths=unconfined",
                                    *f);
        }

        r = get_str(w, hc, H, "Runtime", &s);
        if (r < 0)
                return r;
        if (s && !streq(s, "") && !streq(s, "runc") && !streq(s, "nvidia"))
                return deny(w, -EPERM,
                            "runtime '%.64s' is not allowed; use the default runtime (and --gpus "
                            "for GPUs)",
                            s);

        r = get_int(w, hc, H, "OomScoreAdj", &n, NULL);
        if (r < 0)
                return r;
        if (n < 0)
                return deny(w, -EPERM, "--oom-score-adj below 0 is not allowed; use 0 or more");

        r = get_str(w, hc, H, "VolumeDriver", &s);
        if (r < 0)
                return r;
        if (s && !streq(s, "") && !streq(s, "local"))
                return deny(w, -EPERM, "volume driver '%.64s' is not allowed; use the local driver",
                            s);

        r = get(w, hc, H, "PortBindings", K_OBJECT, &v);
        if (r < 0)
                return r;
        if (v) {
                r = inspect_port_bindings(w, v);
                if (r < 0)
                        return r;
        }

        r = get(w, hc, H, "LogConfig", K_OBJECT, &v);
        if (r < 0)
                return r;
        if (v) {
                r = inspect_log_config(w, v);
                if (r < 0)
                        return r;
        }

        r = get(w, hc, H, "Ulimits", K_ARRAY, &v);
        if (r < 0)
                return r;
        if (v) {
                r = inspect_ulimits(w, v);
                if (r < 0)
                        return r;
        }

        r = get(w, hc, H, "Tmpfs", K_OBJECT, &v);
        if (r < 0)
                return r;
        if (v) {
                const char *key;

                r = check_strings(w, v, H, "Tmpfs");
                if (r < 0)
                        return r;
                json_object_foreach(v, key, e)
                {
                        r = check_target(w, key);
                        if (r < 0)
                                return r;
                }
        }

        r = get(w, hc, H, "Binds", K_ARRAY, &v);
        if (r < 0)
                return r;
        if (v) {
                r = inspect_binds(w, v, req);
                if (r < 0)
                        return r;
        }

        r = get(w, hc, H, "Mounts", K_ARRAY, &v);
        if (r < 0)
                return r;
        if (v) {
                r = inspect_mounts(w, v, req);
                if (r < 0)
                        return r;
        }

        /* other containers named */
        r = get(w, hc, H, "VolumesFrom", K_ARRAY, &v);
        if (r < 0)
                return r;
        json_array_foreach(v, i, e)
        {
                /* "container[:ro|rw]" */
                const char *vf = json_string_value(e), *colon = strchr(vf, ':');
                char ref[POLICY_REF_MAX];
                size_t len = colon ? (size_t)(colon - vf) : strlen(vf);

                if (len >= sizeof(ref))
                        return deny(w, -EINVAL, "container name '%.64s...' is too long", vf);
                memcpy(ref, vf, len);
                ref[len] = 0;
                r = add_container(w, req, ref);
                if (r < 0)
                        return r;
                r = add_ref(w, req->volumes_from, &req->n_volumes_from, ref, POLICY_REF_MAX,
                            "container");
                if (r < 0)
                        return r;
        }
        r = get(w, hc, H, "Links", K_ARRAY, &v);
        if (r < 0)
                return r;
        json_array_foreach(v, i, e)
        {
                /* "name:alias" */
                const char *l = json_string_value(e), *colon = strchr(l, ':');
                char ref[POLICY_REF_MAX];
                size_t len = colon ? (size_t)(colon - l) : strlen(l);

                if (len >= sizeof(ref))
                        return deny(w, -EINVAL, "container name '%.64s...' is too long", l);
                memcpy(ref, l, len);
                ref[len] = 0;
                r = add_container(w, req, ref);
                if (r < 0)
                        return r;
        }
        for (const char *const *f = (const char *const[]){"PidMode", "IpcMode", "Cgroup", NULL}; *f;
             f++) {
                r = get_str(w, hc, H, *f, &s);
                if (r < 0)
                        return r;
                r = collect_container_mode(w, s, req);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int inspect_networking_config(struct why *w, const json_t *nc, struct create_request *req)
{
        const char *net;
        json_t *ec, *es;
        int r;

        r = check_fields(w, nc, "NetworkingConfig", networking_config_fields);
        if (r < 0)
                return r;
        r = get(w, nc, "NetworkingConfig", "EndpointsConfig", K_OBJECT, &ec);
        if (r < 0 || !ec)
                return r;
        json_object_foreach(ec, net, es)
        {
                json_t *links, *e;
                size_t i;

                r = inspect_network_mode(w, net, req);
                if (r < 0)
                        return r;
                if (json_is_null(es))
                        continue;
                if (!json_is_object(es))
                        return deny(w, -EINVAL,
                                    "malformed request: NetworkingConfig.EndpointsConfig[%.64s] "
                                    "must be an object; fix the request",
                                    net);
                r = check_fields(w, es, "an endpoint", endpoint_fields);
                if (r < 0)
                        return r;
                r = get(w, es, "EndpointsConfig", "Links", K_ARRAY, &links);
                if (r < 0)
                        return r;
                if (!links)
                        continue;
                r = check_strings(w, links, "EndpointsConfig", "Links");
                if (r < 0)
                        return r;
                json_array_foreach(links, i, e)
                {
                        const char *l = json_string_value(e), *colon = strchr(l, ':');
                        char ref[POLICY_REF_MAX];
                        size_t len = colon ? (size_t)(colon - l) : strlen(l);

                        if (len >= sizeof(ref))
                                return deny(w, -EINVAL, "container name '%.64s...' is too long", l);
                        memcpy(ref, l, len);
                        ref[len] = 0;
                        r = add_container(w, req, ref);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ---- create: GPUs ---- */

/* NVIDIA capabilities (the toolkit's, plus "gpu" and "nvidia" which select
 * the driver in Docker). */
static bool gpu_capability_allowed(const char *c)
{
        static const char *const allowed[] = {"gpu",      "nvidia",  "compute", "compat32",
                                              "graphics", "utility", "video",   "display"};

        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                if (streq(c, allowed[i]))
                        return true;
        return false;
}

/* What one GPU source (a device request, or NVIDIA_VISIBLE_DEVICES) asks for. */
struct gpu_ask {
        enum create_gpu_kind kind;
        int count;
        char devices[REWRITE_MAX_REFS][128];
        size_t n_devices;
};

static int gpu_add_device(struct why *w, struct gpu_ask *a, const char *s, size_t len)
{
        while (len > 0 && (*s == ' ' || *s == '\t'))
                s++, len--;
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                len--;
        if (len == 0)
                return 0;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return deny(w, -EINVAL,
                                    "malformed request: a GPU device name holds a control "
                                    "character; fix the request");
        if (len >= sizeof(a->devices[0]))
                return deny(w, -EINVAL,
                            "GPU device name '%.32s...' is too long; use its index "
                            "or UUID",
                            s);
        for (size_t i = 0; i < a->n_devices; i++)
                if (strlen(a->devices[i]) == len && memcmp(a->devices[i], s, len) == 0)
                        return 0;
        if (a->n_devices >= REWRITE_MAX_REFS)
                return deny(w, -EINVAL, "more than %d GPU devices asked for; ask for fewer",
                            REWRITE_MAX_REFS);
        memcpy(a->devices[a->n_devices], s, len);
        a->devices[a->n_devices][len] = 0;
        a->n_devices++;
        return 0;
}

/* A device list as NVIDIA_VISIBLE_DEVICES holds it: "all", "none", "void",
 * "" or comma-separated devices. Appends to a (kind DEVICES), or sets ALL /
 * NONE when the whole list is one of those words. */
static int gpu_parse_list(struct why *w, const char *list, struct gpu_ask *a)
{
        const char *p = list;
        size_t before = a->n_devices;
        int r;

        for (;;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);

                r = gpu_add_device(w, a, p, len);
                if (r < 0)
                        return r;
                if (!comma)
                        break;
                p = comma + 1;
        }
        for (size_t i = before; i < a->n_devices; i++) {
                const char *d = a->devices[i];

                if (!streq(d, "all") && !streq(d, "none") && !streq(d, "void"))
                        continue;
                if (before != 0 || a->n_devices != 1)
                        return deny(w, -EINVAL,
                                    "GPU devices '%.64s' mix '%s' with other devices; ask for "
                                    "either",
                                    list, d);
                a->kind = streq(d, "all") ? CREATE_GPU_ALL : CREATE_GPU_NONE;
                a->n_devices = 0;
                return 0;
        }
        a->kind = a->n_devices > 0 ? CREATE_GPU_DEVICES : CREATE_GPU_NONE;
        return 0;
}

/* One HostConfig.DeviceRequests entry. */
static int inspect_device_request(struct why *w, const json_t *dr, struct gpu_ask *ret)
{
        const char *driver;
        json_t *caps, *ids, *opts, *set, *c;
        long long count;
        bool any_cap = false;
        size_t i, j;
        int r;

        memset(ret, 0, sizeof(*ret));
        if (!json_is_object(dr))
                return deny(w, -EINVAL,
                            "malformed request: HostConfig.DeviceRequests must hold objects; fix "
                            "the request");
        r = check_fields(w, dr, "a device request", device_request_fields);
        if (r < 0)
                return r;
        r = get_str(w, dr, "DeviceRequests", "Driver", &driver);
        if (r < 0)
                return r;
        r = get_int(w, dr, "DeviceRequests", "Count", &count, NULL);
        if (r < 0)
                return r;
        r = get(w, dr, "DeviceRequests", "DeviceIDs", K_ARRAY, &ids);
        if (r < 0)
                return r;
        if (ids) {
                r = check_strings(w, ids, "DeviceRequests", "DeviceIDs");
                if (r < 0)
                        return r;
        }
        r = get(w, dr, "DeviceRequests", "Options", K_OBJECT, &opts);
        if (r < 0)
                return r;
        if (opts) {
                r = check_strings(w, opts, "DeviceRequests", "Options");
                if (r < 0)
                        return r;
        }
        r = get(w, dr, "DeviceRequests", "Capabilities", K_ARRAY, &caps);
        if (r < 0)
                return r;
        json_array_foreach(caps, i, set)
        {
                if (json_is_null(set))
                        continue;
                if (!json_is_array(set))
                        return deny(w, -EINVAL,
                                    "malformed request: DeviceRequests.Capabilities must be a "
                                    "list of lists of strings; fix the request");
                json_array_foreach(set, j, c)
                {
                        if (!is_clean_string(c))
                                return deny(w, -EINVAL,
                                            "malformed request: DeviceRequests.Capabilities must "
                                            "be a list of lists of strings; fix the request");
                        if (!gpu_capability_allowed(json_string_value(c)))
                                return deny(w, -EPERM,
                                            "device capability '%.32s' is not allowed; ask for "
                                            "GPUs with --gpus",
                                            json_string_value(c));
                        any_cap = true;
                }
        }

        /* Docker picks the driver by name, or with no name by the
         * capabilities: every one allowed above selects nvidia. */
        if (driver && !streq(driver, "") && !streq(driver, "nvidia"))
                return deny(w, -EPERM,
                            "device driver '%.32s' is not allowed; ask for GPUs with --gpus",
                            driver);
        if (isempty(driver) && !any_cap)
                return deny(w, -EPERM,
                            "a device request must ask for GPUs (driver nvidia or capability "
                            "gpu); use --gpus");

        if (count != 0 && !container_empty(ids))
                return deny(w, -EINVAL,
                            "a GPU request cannot give both a count and device IDs; use one "
                            "of them");
        if (!container_empty(ids)) {
                json_t *id;

                json_array_foreach(ids, i, id)
                {
                        r = gpu_parse_list(w, json_string_value(id), ret);
                        if (r < 0)
                                return r;
                        /* "all" etc. only alone: a later entry must not follow */
                        if (ret->kind != CREATE_GPU_DEVICES && json_array_size(ids) > 1)
                                return deny(w, -EINVAL,
                                            "GPU device IDs mix all/none with devices; ask for "
                                            "either");
                }
        } else if (count == -1) {
                ret->kind = CREATE_GPU_ALL;
        } else if (count > 0) {
                if (count > 1024)
                        return deny(w, -EINVAL,
                                    "a GPU count of %lld is not possible; ask for "
                                    "fewer",
                                    count);
                ret->kind = CREATE_GPU_COUNT;
                ret->count = (int)count;
        } else if (count < -1) {
                return deny(w, -EINVAL,
                            "malformed request: a GPU count of %lld; use -1 (all) or "
                            "a positive number",
                            count);
        } else
                ret->kind = CREATE_GPU_NONE;
        return 0;
}

/* Merge b into a: the same "all" twice, or device lists (joined); anything
 * else (two counts, a count and devices, ...) says no one thing. */
static int gpu_merge(struct why *w, struct gpu_ask *a, const struct gpu_ask *b)
{
        if (b->kind == CREATE_GPU_NONE)
                return 0;
        if (a->kind == CREATE_GPU_NONE) {
                *a = *b;
                return 0;
        }
        if (a->kind == CREATE_GPU_ALL && b->kind == CREATE_GPU_ALL)
                return 0;
        if (a->kind == CREATE_GPU_DEVICES && b->kind == CREATE_GPU_DEVICES) {
                for (size_t i = 0; i < b->n_devices; i++) {
                        int r = gpu_add_device(w, a, b->devices[i], strlen(b->devices[i]));

                        if (r < 0)
                                return r;
                }
                return 0;
        }
        return deny(w, -EINVAL,
                    "several GPU requests that do not add up to one; ask once, e.g. --gpus 2 or "
                    "--gpus '\"device=0,1\"'");
}

static int inspect_gpu(struct why *w, const json_t *body, const json_t *hc,
                       struct create_request *req)
{
        struct gpu_ask total = {.kind = CREATE_GPU_NONE};
        json_t *drs = NULL, *env, *e;
        const char *runtime = NULL;
        size_t i;
        int r;

        if (hc) {
                r = get(w, hc, "HostConfig", "DeviceRequests", K_ARRAY, &drs);
                if (r < 0)
                        return r;
                r = get_str(w, hc, "HostConfig", "Runtime", &runtime);
                if (r < 0)
                        return r;
        }
        req->nvidia_runtime = runtime && streq(runtime, "nvidia");

        json_array_foreach(drs, i, e)
        {
                struct gpu_ask one;

                r = inspect_device_request(w, e, &one);
                if (r < 0)
                        return r;
                r = gpu_merge(w, &total, &one);
                if (r < 0)
                        return r;
        }

        /* The nvidia runtime reads NVIDIA_VISIBLE_DEVICES (the last entry
         * wins; a bare name unsets it; unset means the image's value, all for
         * CUDA images). A device request asking for GPUs wins over it. */
        if (total.kind == CREATE_GPU_NONE && req->nvidia_runtime) {
                const char *val = NULL;

                r = get(w, body, "", "Env", K_ARRAY, &env);
                if (r < 0)
                        return r;
                json_array_foreach(env, i, e)
                {
                        const char *s = json_string_value(e), *rest;

                        if (streq(s, "NVIDIA_VISIBLE_DEVICES"))
                                val = NULL;
                        else if ((rest = startswith(s, "NVIDIA_VISIBLE_DEVICES=")))
                                val = rest;
                }
                if (!val)
                        total.kind = CREATE_GPU_ALL;
                else {
                        r = gpu_parse_list(w, val, &total);
                        if (r < 0)
                                return r;
                }
        }

        req->gpu = total.kind;
        req->gpu_count = 0;
        req->n_gpu_devices = 0;
        switch (total.kind) {
        case CREATE_GPU_NONE:
                break;
        case CREATE_GPU_ALL:
                req->gpu_count = -1;
                break;
        case CREATE_GPU_COUNT:
                req->gpu_count = total.count;
                break;
        case CREATE_GPU_DEVICES:
                memcpy(req->gpu_devices, total.devices, sizeof(total.devices));
                req->n_gpu_devices = total.n_devices;
                req->gpu_count = (int)total.n_devices;
                break;
        }
        return 0;
}

/* ---- create: step 1 ---- */

/* Docker up to 26 decodes the create body into a wrapper that embeds
 * container.HostConfig next to container.Config (runconfig
 * ContainerConfigWrapper, "deprecated, for the pre-1.19 API"): every
 * HostConfig field is read at the top level of the body too. With no
 * HostConfig in the body (absent or null) the top-level ones ARE the host
 * config (Privileged, Binds, CapAdd, ...); with one, Memory, MemorySwap,
 * CpuShares, CpusetCpus and VolumeDriver are copied from the top level where
 * HostConfig leaves them 0 or "", and so is the wrapper's own Cpuset (into
 * CpusetCpus). Keys match as Go matches them (case-insensitively).
 *
 * The rule: create_inspect refuses (-EINVAL: misplaced) such a field that is
 * set, so nothing a caller asks for there goes unchecked; unset values (null,
 * false, 0, "", [] or {}, and VolumeDriver "local") pass, as old clients send
 * them; create_rewrite then removes every such field whatever its value and
 * always leaves a HostConfig object, so Docker reads HostConfig's own fields
 * only (also for a body the engine forwards after a denial in monitoring
 * mode). Returns the field key stands for, or NULL. */
static const char *top_level_host_field(const char *key)
{
        for (const char *const *f = host_config_fields; *f; f++)
                if (go_key_matches(key, *f))
                        return *f;
        return go_key_matches(key, "Cpuset") ? "Cpuset" : NULL;
}

static int inspect_top_level_host_fields(struct why *w, const json_t *body)
{
        const char *key, *field;
        json_t *v;

        json_object_foreach((json_t *)body, key, v)
        {
                field = top_level_host_field(key);
                if (!field || json_is_null(v) || !is_set(v))
                        continue;
                if (streq(field, "VolumeDriver") && json_is_string(v) &&
                    streq(json_string_value(v), "local"))
                        continue;
                return deny(w, -EINVAL,
                            "malformed request: '%.64s' at the top level is a HostConfig field "
                            "(an old API form); move it into HostConfig",
                            key);
        }
        return 0;
}

static int inspect_config(struct why *w, const json_t *body)
{
        json_t *v;
        const char *key, *s;
        json_t *e;
        int r;

        r = get(w, body, "", "Env", K_ARRAY, &v);
        if (r < 0)
                return r;
        if (v) {
                r = check_strings(w, v, "", "Env");
                if (r < 0)
                        return r;
        }
        r = get_str(w, body, "", "User", &s);
        if (r < 0)
                return r;
        r = get_str(w, body, "", "Image", &s);
        if (r < 0)
                return r;
        r = get(w, body, "", "Volumes", K_OBJECT, &v);
        if (r < 0)
                return r;
        json_object_foreach(v, key, e)
        {
                r = check_target(w, key);
                if (r < 0)
                        return r;
        }
        return 0;
}

int create_inspect(const json_t *body, const char *name, struct create_request *ret, char *reason,
                   size_t reason_size)
{
        struct why w = {reason, reason_size};
        struct create_request req = {.gpu = CREATE_GPU_NONE};
        json_t *hc, *nc;
        int r;

        assert(ret);
        if (!json_is_object(body)) {
                r = deny(&w, -EINVAL, "malformed request: the body must be a JSON object");
                goto fail;
        }
        r = check_fields(&w, body, "the request", config_fields);
        if (r < 0)
                goto fail;
        r = inspect_top_level_host_fields(&w, body);
        if (r < 0)
                goto fail;
        r = inspect_config(&w, body);
        if (r < 0)
                goto fail;
        r = inspect_labels(&w, body, name, &req);
        if (r < 0)
                goto fail;
        r = get(&w, body, "", "HostConfig", K_OBJECT, &hc);
        if (r < 0)
                goto fail;
        if (hc) {
                r = inspect_host_config(&w, hc, &req);
                if (r < 0)
                        goto fail;
        }
        r = get(&w, body, "", "NetworkingConfig", K_OBJECT, &nc);
        if (r < 0)
                goto fail;
        if (nc) {
                r = inspect_networking_config(&w, nc, &req);
                if (r < 0)
                        goto fail;
        }
        r = inspect_gpu(&w, body, hc, &req);
        if (r < 0)
                goto fail;

        *ret = req;
        return 0;
fail:
        create_request_release(&req);
        return r;
}

/* ---- create: step 2 ---- */

/* obj[key] as an object, replacing whatever else is there. NULL: no memory. */
static json_t *ensure_object(json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);

        if (json_is_object(v))
                return v;
        v = json_object();
        if (!v || json_object_set_new(obj, key, v) < 0)
                return NULL;
        return v;
}

static int set_int(json_t *obj, const char *key, long long v)
{
        return json_object_set_new(obj, key, json_integer(v)) < 0 ? -ENOMEM : 0;
}

static int set_str(json_t *obj, const char *key, const char *v)
{
        return json_object_set_new(obj, key, json_string(v)) < 0 ? -ENOMEM : 0;
}

/* An integer field, 0 when absent, null or not an integer. */
static long long int_field(const json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);

        return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static long long clamp_u64(uint64_t v)
{
        return v > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)v;
}

/* asked when it is a limit (> 0) below cap, else cap. */
static long long cap_value(long long asked, long long cap)
{
        return asked > 0 && asked < cap ? asked : cap;
}

/* max_cpus in nano-CPUs, rounded down (a thousandth of a nano-CPU of slack
 * absorbs binary fractions: 0.29 CPUs is 290000000, not 289999999). */
static long long nano_cpus_cap(double max_cpus)
{
        double v = max_cpus * (double)NANO_PER_CPU + 1e-3; /* > 0: truncation rounds down */

        if (v >= 9.2e18)
                return LLONG_MAX;
        return v < 1 ? 1 : (long long)v;
}

static int rewrite_cpus(json_t *hc, const struct create_limits *l)
{
        long long cap, asked, quota, period;
        int r;

        if (!(l->max_cpus > 0))
                return 0;
        cap = nano_cpus_cap(l->max_cpus);
        asked = int_field(hc, "NanoCpus");
        quota = int_field(hc, "CpuQuota");
        period = int_field(hc, "CpuPeriod");
        if (quota > 0) {
                /* quota/period CPUs; Docker refuses NanoCpus together with
                 * either, so they become NanoCpus (the lower of both when the
                 * caller gave both) */
                __int128 q =
                    (__int128)quota * NANO_PER_CPU / (period > 0 ? period : DEFAULT_CPU_PERIOD);
                long long from_quota = q > LLONG_MAX ? LLONG_MAX : q < 1 ? 1 : (long long)q;

                asked = asked > 0 ? MIN(asked, from_quota) : from_quota;
        }
        r = set_int(hc, "NanoCpus", cap_value(asked, cap));
        if (r < 0)
                return r;
        r = set_int(hc, "CpuQuota", 0);
        if (r < 0)
                return r;
        return set_int(hc, "CpuPeriod", 0);
}

/* Memory and MemorySwap. Docker reads MemorySwap as memory + swap, requires
 * MemorySwap >= Memory when both are set, and -1 as unlimited swap. With a
 * memory cap:
 *   Memory     = the asked value when it is below the cap, else the cap;
 *   swap cap   = l->memory_swap, or l->memory when that is 0;
 *   MemorySwap = min(swap cap, asked MemorySwap > 0 ? asked : swap cap),
 *                raised to Memory when below it.
 * So an unset, 0 or -1 MemorySwap gets the whole swap cap (not Docker's own
 * default of twice Memory), a lower one is kept, a higher one capped, and
 * MemorySwap >= Memory always holds (swap cap below Memory in the
 * configuration means no swap). MemoryReservation above the final Memory is
 * lowered to it (Docker refuses a reservation above the limit). */
static int rewrite_memory(json_t *hc, const struct create_limits *l)
{
        long long mem_cap, swap_cap, mem, swap, asked_swap, reservation;
        int r;

        if (l->memory == 0)
                return 0;
        mem_cap = clamp_u64(l->memory);
        swap_cap = clamp_u64(l->memory_swap ? l->memory_swap : l->memory);
        mem = cap_value(int_field(hc, "Memory"), mem_cap);
        asked_swap = int_field(hc, "MemorySwap");
        swap = asked_swap > 0 ? MIN(asked_swap, swap_cap) : swap_cap;
        swap = MAX(swap, mem);
        r = set_int(hc, "Memory", mem);
        if (r < 0)
                return r;
        r = set_int(hc, "MemorySwap", swap);
        if (r < 0)
                return r;
        reservation = int_field(hc, "MemoryReservation");
        if (reservation > mem)
                return set_int(hc, "MemoryReservation", mem);
        return 0;
}

static int rewrite_tmpfs(json_t *hc, const struct create_limits *l)
{
        char opts[96], clean[REWRITE_PATH_MAX];
        const char *key;
        json_t *tmpfs, *v, *tmp;

        if (l->storage_tmp == 0)
                return 0;
        tmpfs = ensure_object(hc, "Tmpfs");
        if (!tmpfs)
                return -ENOMEM;
        /* "/tmp/", "//tmp" are the same mount point to Docker: one only */
        json_object_foreach_safe(tmpfs, tmp, key, v)
        {
                if (key[0] != '/' || strlen(key) >= sizeof(clean))
                        continue;
                path_clean(key, clean, sizeof(clean));
                if (streq(clean, "/tmp"))
                        json_object_del(tmpfs, key);
        }
        (void)snprintf(opts, sizeof(opts), "rw,nosuid,nodev,size=%" PRIu64, l->storage_tmp);
        return set_str(tmpfs, "/tmp", opts);
}

static int rewrite_labels(json_t *body, const struct create_request *req,
                          const struct create_context *ctx, bool gpu)
{
        json_t *labels, *v, *tmp;
        const char *key;
        int r;

        labels = ensure_object(body, "Labels");
        if (!labels)
                return -ENOMEM;
        json_object_foreach_safe(labels, tmp, key, v) if (is_ds01_key(key))
            json_object_del(labels, key);

        r = set_str(labels, "ds01.user", ctx->user ? ctx->user : "");
        if (r >= 0)
                r = set_str(labels, "ds01.managed", "true");
        if (r >= 0)
                r = set_str(labels, "ds01.container_type", req->type[0] ? req->type : "docker");
        if (r >= 0)
                r = set_str(labels, "ds01.interface",
                            req->interface[0] ? req->interface : "docker");
        if (r >= 0 && ctx->created_at)
                r = set_str(labels, "ds01.created_at", ctx->created_at);
        if (r >= 0 && gpu) {
                r = set_str(labels, "ds01.gpu.slots", ctx->gpu_slots ? ctx->gpu_slots : "");
                if (r >= 0)
                        r = set_str(labels, "ds01.gpu.uuids", ctx->gpu_uuids);
                if (r >= 0 && ctx->gpu_allocated_at)
                        r = set_str(labels, "ds01.gpu.allocated_at", ctx->gpu_allocated_at);
        }
        return r;
}

static bool is_visible_devices_entry(const json_t *e)
{
        const char *s = json_string_value(e);

        return s &&
               (streq(s, "NVIDIA_VISIBLE_DEVICES") || startswith(s, "NVIDIA_VISIBLE_DEVICES="));
}

/* Env without NVIDIA_VISIBLE_DEVICES, then add (when not NULL) "NVIDIA_VISIBLE_DEVICES=<add>". */
static int rewrite_env(json_t *body, const char *add)
{
        json_t *old = json_object_get(body, "Env"), *env, *e;
        size_t i;

        if (!add && !json_is_array(old))
                return 0;
        env = json_array();
        if (!env)
                return -ENOMEM;
        json_array_foreach(old, i, e)
        {
                if (!json_is_string(e) || is_visible_devices_entry(e))
                        continue;
                if (json_array_append(env, e) < 0)
                        goto oom;
        }
        if (add) {
                char *s = NULL;

                if (asprintf(&s, "NVIDIA_VISIBLE_DEVICES=%s", add) < 0)
                        goto oom;
                if (json_array_append_new(env, json_string(s)) < 0) {
                        free(s);
                        goto oom;
                }
                free(s);
        }
        return json_object_set_new(body, "Env", env) < 0 ? -ENOMEM : 0;
oom:
        json_decref(env);
        return -ENOMEM;
}

/* [{"Driver":"nvidia","Count":0,"DeviceIDs":[uuids],"Capabilities":[["gpu"]]}] */
static json_t *device_requests_for(const char *uuids)
{
        json_t *list = NULL, *dr = NULL, *ids = NULL;
        const char *p = uuids;

        ids = json_array();
        if (!ids)
                goto oom;
        while (*p) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);

                if (len > 0 && json_array_append_new(ids, json_stringn(p, len)) < 0)
                        goto oom;
                p += len;
                if (*p == ',')
                        p++;
        }
        dr = json_pack("{s:s, s:i, s:O, s:[[s]]}", "Driver", "nvidia", "Count", 0, "DeviceIDs", ids,
                       "Capabilities", "gpu");
        if (!dr)
                goto oom;
        list = json_array();
        if (!list || json_array_append_new(list, dr) < 0) {
                dr = NULL;
                goto oom;
        }
        json_decref(ids);
        return list;
oom:
        json_decref(ids);
        json_decref(dr);
        json_decref(list);
        return NULL;
}

static int rewrite_gpu(json_t *body, json_t *hc, const struct create_context *ctx, bool gpu)
{
        const char *runtime;
        json_t *drs;
        int r;

        if (!gpu) {
                (void)json_object_del(hc, "DeviceRequests");
                return rewrite_env(body, "void");
        }
        if (ctx->attach_nvidia_runtime) {
                (void)json_object_del(hc, "DeviceRequests");
                r = set_str(hc, "Runtime", "nvidia");
                if (r < 0)
                        return r;
                return rewrite_env(body, ctx->gpu_uuids);
        }
        drs = device_requests_for(ctx->gpu_uuids);
        if (!drs || json_object_set_new(hc, "DeviceRequests", drs) < 0)
                return -ENOMEM;
        runtime = json_string_value(json_object_get(hc, "Runtime"));
        if (runtime && streq(runtime, "nvidia")) {
                r = set_str(hc, "Runtime", "");
                if (r < 0)
                        return r;
        }
        return rewrite_env(body, NULL);
}

/* Is opt a no-new-privileges entry as Docker parses SecurityOpt (the bare
 * word, or the key before the first '=', else the first ':')? The bare word
 * in other cases too: Docker refuses it, the one ds01 adds replaces it. */
static bool is_no_new_privileges(const char *opt)
{
        const char *sep = strchr(opt, '=');

        if (!sep)
                sep = strchr(opt, ':');
        if (!sep)
                return strcasecmp(opt, "no-new-privileges") == 0;
        return (size_t)(sep - opt) == strlen("no-new-privileges") &&
               strncmp(opt, "no-new-privileges", (size_t)(sep - opt)) == 0;
}

/* HostConfig.SecurityOpt without any no-new-privileges entry (=false, :true,
 * ...), then "no-new-privileges" last: Docker takes the last one. */
static int rewrite_no_new_privileges(json_t *hc)
{
        json_t *old = json_object_get(hc, "SecurityOpt"), *opts, *e;
        size_t i;

        opts = json_array();
        if (!opts)
                return -ENOMEM;
        json_array_foreach(old, i, e)
        {
                if (!is_clean_string(e) || is_no_new_privileges(json_string_value(e)))
                        continue;
                if (json_array_append(opts, e) < 0)
                        goto oom;
        }
        if (json_array_append_new(opts, json_string("no-new-privileges")) < 0)
                goto oom;
        return json_object_set_new(hc, "SecurityOpt", opts) < 0 ? -ENOMEM : 0;
oom:
        json_decref(opts);
        return -ENOMEM;
}

int create_rewrite(json_t *body, const struct create_request *req, const struct create_limits *l,
                   const struct create_context *ctx)
{
        const char *key;
        json_t *hc, *v, *tmp;
        bool gpu;
        int r;

        assert(body && req && l && ctx);
        if (!json_is_object(body))
                return -EINVAL;
        gpu = ctx->n_uuids > 0 && !isempty(ctx->gpu_uuids);

        /* HostConfig fields at the top level: see top_level_host_field() */
        json_object_foreach_safe(body, tmp, key, v) if (top_level_host_field(key))
            json_object_del(body, key);
        hc = ensure_object(body, "HostConfig");
        if (!hc)
                return -ENOMEM;
        r = rewrite_labels(body, req, ctx, gpu);
        if (r < 0)
                return r;
        r = rewrite_cpus(hc, l);
        if (r < 0)
                return r;
        r = rewrite_memory(hc, l);
        if (r < 0)
                return r;
        if (l->shm_size > 0) {
                r = set_int(hc, "ShmSize",
                            cap_value(int_field(hc, "ShmSize"), clamp_u64(l->shm_size)));
                if (r < 0)
                        return r;
        }
        if (l->pids_limit > 0) {
                r = set_int(hc, "PidsLimit", cap_value(int_field(hc, "PidsLimit"), l->pids_limit));
                if (r < 0)
                        return r;
        }
        r = rewrite_tmpfs(hc, l);
        if (r < 0)
                return r;

        if (!isempty(ctx->cgroup_parent)) {
                r = set_str(hc, "CgroupParent", ctx->cgroup_parent);
                if (r < 0)
                        return r;
        } else
                (void)json_object_del(hc, "CgroupParent");

        r = rewrite_gpu(body, hc, ctx, gpu);
        if (r < 0)
                return r;

        /* host folders (own, or a VolumesFrom container's) are reached as
         * the caller; no-new-privileges keeps setuid binaries in the image
         * from getting back to root there */
        if ((req->n_binds > 0 || ctx->inherits_binds) && ctx->force_user) {
                char user[48];

                (void)snprintf(user, sizeof(user), "%u:%u", (unsigned)ctx->uid, (unsigned)ctx->gid);
                r = set_str(body, "User", user);
                if (r < 0)
                        return r;
                r = rewrite_no_new_privileges(hc);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- exec ---- */

int exec_inspect(const json_t *body, const char *container_user, bool has_binds, char *reason,
                 size_t reason_size)
{
        struct why w = {reason, reason_size};
        const char *user;
        json_t *v;
        bool privileged;
        int r;

        if (!json_is_object(body))
                return deny(&w, -EINVAL, "malformed request: the body must be a JSON object");
        r = check_fields(&w, body, "the exec request", exec_fields);
        if (r < 0)
                return r;
        r = get(&w, body, "", "Env", K_ARRAY, &v);
        if (r < 0)
                return r;
        if (v) {
                r = check_strings(&w, v, "", "Env");
                if (r < 0)
                        return r;
        }
        r = get_bool(&w, body, "", "Privileged", &privileged);
        if (r < 0)
                return r;
        r = get_str(&w, body, "", "User", &user);
        if (r < 0)
                return r;
        if (privileged)
                return deny(&w, -EPERM, "exec --privileged is not allowed; run it without");
        if (has_binds && !isempty(user) && !streq(user, container_user ? container_user : ""))
                return deny(&w, -EPERM,
                            "exec as user '%.64s' is not allowed in a container with host "
                            "folders mounted; leave out --user",
                            user);
        return 0;
}

/* ---- update ---- */

static void format_cpus(char *buf, size_t size, long long nano)
{
        size_t n;

        /* exact: "4", "2.5", "4.000000001" */
        (void)snprintf(buf, size, "%lld.%09lld", nano / NANO_PER_CPU, nano % NANO_PER_CPU);
        n = strlen(buf);
        while (n > 0 && buf[n - 1] == '0')
                buf[--n] = 0;
        if (n > 0 && buf[n - 1] == '.')
                buf[--n] = 0;
}

int update_inspect(const json_t *body, const struct create_limits *l, char *reason,
                   size_t reason_size)
{
        static const char *const int_fields[] = {
            "NanoCpus",   "CpuQuota",     "CpuPeriod",         "Memory",
            "MemorySwap", "KernelMemory", "MemoryReservation", "PidsLimit",
        };
        struct why w = {reason, reason_size};
        long long nano, quota, period, mem, swap, kmem, pids;
        bool pids_set;
        const char *s;
        json_t *v;
        int r;

        if (!json_is_object(body))
                return deny(&w, -EINVAL, "malformed request: the body must be a JSON object");
        r = check_fields(&w, body, "the update request", update_fields);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(int_fields); i++) {
                r = get(&w, body, "", int_fields[i], K_INT, &v);
                if (r < 0)
                        return r;
        }
        for (const char *const *f =
                 (const char *const[]){"DeviceRequests", "Devices", "DeviceCgroupRules", NULL};
             *f; f++) {
                r = get(&w, body, "", *f, K_ARRAY, &v);
                if (r < 0)
                        return r;
                if (v)
                        return deny(&w, -EPERM,
                                    "changing %s is not allowed; recreate the "
                                    "container instead",
                                    *f);
        }
        r = get_str(&w, body, "", "CgroupParent", &s);
        if (r < 0)
                return r;
        if (!isempty(s))
                return deny(&w, -EPERM, "changing the cgroup parent is not allowed; remove it");

        (void)get_int(&w, body, "", "NanoCpus", &nano, NULL);
        (void)get_int(&w, body, "", "CpuQuota", &quota, NULL);
        (void)get_int(&w, body, "", "CpuPeriod", &period, NULL);
        (void)get_int(&w, body, "", "Memory", &mem, NULL);
        (void)get_int(&w, body, "", "MemorySwap", &swap, NULL);
        (void)get_int(&w, body, "", "KernelMemory", &kmem, NULL);
        (void)get_int(&w, body, "", "PidsLimit", &pids, &pids_set);

        if (kmem != 0)
                return deny(&w, -EPERM,
                            "changing the kernel memory limit is not allowed; remove "
                            "it");

        if (l->max_cpus > 0) {
                long long cap = nano_cpus_cap(l->max_cpus);
                char cap_s[32], ask_s[32];

                format_cpus(cap_s, sizeof(cap_s), cap);
                if (nano < 0)
                        return deny(&w, -EPERM,
                                    "removing the CPU limit is not allowed; use "
                                    "--cpus up to %s",
                                    cap_s);
                if (nano > cap) {
                        format_cpus(ask_s, sizeof(ask_s), nano);
                        return deny(&w, -EPERM,
                                    "--cpus %s is above your limit of %s; use --cpus %s or less",
                                    ask_s, cap_s, cap_s);
                }
                if (quota < 0)
                        return deny(&w, -EPERM,
                                    "removing the CPU quota is not allowed; use "
                                    "--cpus up to %s",
                                    cap_s);
                if (quota > 0) {
                        __int128 q = (__int128)quota * NANO_PER_CPU /
                                     (period > 0 ? period : DEFAULT_CPU_PERIOD);

                        if (q > cap)
                                return deny(&w, -EPERM,
                                            "the CPU quota is above your limit of %s CPUs; use "
                                            "--cpus %s or less",
                                            cap_s, cap_s);
                } else if (period != 0)
                        return deny(&w, -EPERM,
                                    "changing --cpu-period alone is not allowed; use --cpus up "
                                    "to %s",
                                    cap_s);
        }

        if (l->memory > 0) {
                long long mem_cap = clamp_u64(l->memory);
                long long swap_cap = clamp_u64(l->memory_swap ? l->memory_swap : l->memory);

                if (mem < 0)
                        return deny(&w, -EPERM,
                                    "removing the memory limit is not allowed; use --memory up "
                                    "to %lld bytes",
                                    mem_cap);
                if (mem > mem_cap)
                        return deny(&w, -EPERM,
                                    "--memory %lld is above your limit of %lld bytes; use a lower "
                                    "value",
                                    mem, mem_cap);
                if (swap == -1)
                        return deny(&w, -EPERM,
                                    "unlimited swap (--memory-swap -1) is not allowed; use at "
                                    "most %lld bytes",
                                    swap_cap);
                if (swap < -1 || swap > swap_cap)
                        return deny(&w, -EPERM,
                                    "--memory-swap %lld is above your limit of %lld bytes; use a "
                                    "lower value",
                                    swap, swap_cap);
        }

        if (l->pids_limit > 0 && pids_set) {
                if (pids <= 0)
                        return deny(&w, -EPERM,
                                    "removing the process limit is not allowed; use "
                                    "--pids-limit up to %lld",
                                    l->pids_limit);
                if (pids > l->pids_limit)
                        return deny(&w, -EPERM,
                                    "--pids-limit %lld is above your limit of %lld; use a lower "
                                    "value",
                                    pids, l->pids_limit);
        }
        return 0;
}

/* ---- volumes and networks ---- */

/* Labels: strings, none of ds01's own; then ds01.user = user. */
static int owner_labels(struct why *w, const json_t *body)
{
        const char *key;
        json_t *labels, *v;
        int r;

        r = get(w, body, "", "Labels", K_OBJECT, &labels);
        if (r < 0)
                return r;
        if (labels) {
                r = check_strings(w, labels, "", "Labels");
                if (r < 0)
                        return r;
                json_object_foreach(labels, key, v) if (is_ds01_key(key)) return deny(
                    w, -EPERM, "label %.64s is set by ds01; remove it", key);
        }
        return 0;
}

static int set_owner_label(struct why *w, json_t *body, const char *user)
{
        json_t *labels = ensure_object(body, "Labels");

        if (!labels || set_str(labels, "ds01.user", user ? user : "") < 0)
                return deny(w, -ENOMEM, "out of memory; try again");
        return 0;
}

/* Does a mount option list ("rw,bind,uid=1") hold the option opt? */
static bool has_mount_option(const char *list, const char *opt)
{
        size_t n = strlen(opt);

        for (const char *p = list; p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);

                if (len == n && memcmp(p, opt, n) == 0)
                        return true;
                p = comma ? comma + 1 : NULL;
        }
        return false;
}

int volume_create_rewrite(json_t *body, const char *user, char *reason, size_t reason_size)
{
        struct why w = {reason, reason_size};
        const char *driver, *s;
        json_t *opts, *v;
        int r;

        if (!json_is_object(body))
                return deny(&w, -EINVAL, "malformed request: the body must be a JSON object");
        r = check_fields(&w, body, "the volume request", volume_create_fields);
        if (r < 0)
                return r;
        r = get_str(&w, body, "", "Name", &s);
        if (r < 0)
                return r;
        r = get_str(&w, body, "", "Driver", &driver);
        if (r < 0)
                return r;
        if (driver && !streq(driver, "") && !streq(driver, "local"))
                return deny(&w, -EPERM,
                            "volume driver '%.64s' is not allowed; use the local "
                            "driver",
                            driver);
        r = get(&w, body, "", "ClusterVolumeSpec", K_OBJECT, &v);
        if (r < 0)
                return r;
        if (v)
                return deny(&w, -EPERM, "cluster volumes are not allowed; create a local volume");
        r = get(&w, body, "", "DriverOpts", K_OBJECT, &opts);
        if (r < 0)
                return r;
        if (opts) {
                r = check_strings(&w, opts, "", "DriverOpts");
                if (r < 0)
                        return r;
                s = json_string_value(json_object_get(opts, "o"));
                if (s && (has_mount_option(s, "bind") || has_mount_option(s, "rbind")))
                        return deny(&w, -EPERM,
                                    "volumes with -o bind are not allowed; mount the folder "
                                    "with -v /path:/target instead");
                if (json_object_get(opts, "device"))
                        return deny(&w, -EPERM,
                                    "volumes with a device are not allowed; create a plain "
                                    "volume");
                s = json_string_value(json_object_get(opts, "type"));
                if (s && (streq(s, "none") || streq(s, "bind")))
                        return deny(&w, -EPERM,
                                    "volumes of type '%s' are not allowed; create a plain volume",
                                    s);
        }
        r = owner_labels(&w, body);
        if (r < 0)
                return r;
        return set_owner_label(&w, body, user);
}

int network_create_rewrite(json_t *body, const char *user, char *reason, size_t reason_size)
{
        struct why w = {reason, reason_size};
        const char *driver, *scope, *key, *s;
        json_t *opts, *ipam, *v;
        bool b;
        int r;

        if (!json_is_object(body))
                return deny(&w, -EINVAL, "malformed request: the body must be a JSON object");
        r = check_fields(&w, body, "the network request", network_create_fields);
        if (r < 0)
                return r;
        r = get_str(&w, body, "", "Name", &s);
        if (r < 0)
                return r;
        r = get_str(&w, body, "", "Driver", &driver);
        if (r < 0)
                return r;
        if (driver && !streq(driver, "") && !streq(driver, "bridge"))
                return deny(&w, -EPERM, "network driver '%.64s' is not allowed; use bridge",
                            driver);
        r = get_str(&w, body, "", "Scope", &scope);
        if (r < 0)
                return r;
        if (scope && !streq(scope, "") && !streq(scope, "local"))
                return deny(&w, -EPERM, "network scope '%.32s' is not allowed; use local", scope);
        r = get_bool(&w, body, "", "Ingress", &b);
        if (r < 0)
                return r;
        if (b)
                return deny(&w, -EPERM, "ingress networks are not allowed; remove --ingress");
        r = get_bool(&w, body, "", "ConfigOnly", &b);
        if (r < 0)
                return r;
        if (b)
                return deny(&w, -EPERM,
                            "config-only networks are not allowed; remove "
                            "--config-only");
        r = get(&w, body, "", "ConfigFrom", K_OBJECT, &v);
        if (r < 0)
                return r;
        if (v)
                return deny(&w, -EPERM, "--config-from is not allowed; remove it");
        r = get(&w, body, "", "IPAM", K_OBJECT, &ipam);
        if (r < 0)
                return r;
        if (ipam) {
                r = check_fields(&w, ipam, "IPAM", ipam_fields);
                if (r < 0)
                        return r;
                r = get_str(&w, ipam, "IPAM", "Driver", &s);
                if (r < 0)
                        return r;
                if (s && !streq(s, "") && !streq(s, "default"))
                        return deny(&w, -EPERM,
                                    "IPAM driver '%.64s' is not allowed; use the default", s);
        }
        r = get(&w, body, "", "Options", K_OBJECT, &opts);
        if (r < 0)
                return r;
        if (opts) {
                r = check_strings(&w, opts, "", "Options");
                if (r < 0)
                        return r;
                json_object_foreach(
                    opts, key,
                    v) if (startswith(key, "com.docker.network."
                                           "bridge.")) return deny(&w, -EPERM,
                                                                   "network option '%.64s' is not "
                                                                   "allowed (it changes "
                                                                   "the host); remove it",
                                                                   key);
        }
        r = owner_labels(&w, body);
        if (r < 0)
                return r;
        return set_owner_label(&w, body, user);
}

/* ---- bind paths ---- */

/* realpath(3) of the longest existing prefix of path (absolute), then the
 * rest appended as it is: "." and empty components dropped, ".." refused (it
 * would be applied to a folder that is not there yet). A rest that begins
 * with an existing entry realpath could not follow is a dangling symlink:
 * refused. */
static int resolve_existing_prefix(const char *path, char *out, size_t size)
{
        char prefix[REWRITE_PATH_MAX], result[REWRITE_PATH_MAX];
        _cleanup_free_ char *real = NULL;
        size_t len, rlen;
        const char *rest;

        len = strlen(path);
        assert(len < sizeof(prefix));
        memcpy(prefix, path, len + 1);
        for (;;) {
                char *slash;

                real = realpath(prefix, NULL);
                if (real)
                        break;
                if (errno == ELOOP)
                        return -ELOOP;
                if (errno == ENAMETOOLONG)
                        return -EINVAL;
                if (errno != ENOENT)
                        return -errno;
                /* drop the last component (and any '/' before it) */
                while (len > 1 && prefix[len - 1] == '/')
                        len--;
                slash = memrchr(prefix, '/', len);
                assert(slash); /* "/" itself always resolves */
                len = slash == prefix ? 1 : (size_t)(slash - prefix);
                prefix[len] = 0;
        }
        rest = path + len;

        rlen = strlen(real);
        if (rlen >= sizeof(result))
                return -EINVAL;
        memcpy(result, real, rlen + 1);
        for (bool first = true; *rest;) {
                const char *s;
                size_t n;

                while (*rest == '/')
                        rest++;
                s = rest;
                while (*rest && *rest != '/')
                        rest++;
                n = (size_t)(rest - s);
                if (n == 0 || (n == 1 && s[0] == '.'))
                        continue;
                if (n == 2 && s[0] == '.' && s[1] == '.')
                        return -EINVAL;
                if (rlen + 1 + n >= sizeof(result))
                        return -EINVAL;
                if (rlen > 1)
                        result[rlen++] = '/';
                memcpy(result + rlen, s, n);
                rlen += n;
                result[rlen] = 0;
                if (first) {
                        struct stat st;

                        if (lstat(result, &st) == 0)
                                return -ENOENT; /* there, yet not followed: dangling symlink */
                        first = false;
                }
        }
        if (rlen >= size)
                return -EINVAL;
        memcpy(out, result, rlen + 1);
        return 0;
}

/* Docker cleans a bind source lexically (Go's path.Clean) before it mounts
 * it, so ".." is applied before symlinks; the kernel applies it after. Both
 * readings are resolved and must agree: "/home/a/link/../x" with link -> /etc
 * is /etc/x to the kernel and /home/a/x to Docker, and is refused. */
int bind_path_resolve(const char *path, char *out, size_t size)
{
        char clean[REWRITE_PATH_MAX], as_kernel[REWRITE_PATH_MAX], as_docker[REWRITE_PATH_MAX];
        size_t len;
        int r;

        if (!path || path[0] != '/' || !out || size == 0)
                return -EINVAL;
        len = strnlen(path, REWRITE_PATH_MAX);
        if (len >= REWRITE_PATH_MAX)
                return -EINVAL;

        r = resolve_existing_prefix(path, as_kernel, sizeof(as_kernel));
        if (r < 0)
                return r;
        path_clean(path, clean, sizeof(clean));
        r = resolve_existing_prefix(clean, as_docker, sizeof(as_docker));
        if (r < 0)
                return r;
        if (!streq(as_kernel, as_docker))
                return -EINVAL;
        if (strlen(as_kernel) >= size)
                return -EINVAL;
        memcpy(out, as_kernel, strlen(as_kernel) + 1);
        return 0;
}

bool bind_path_allowed(const char *resolved, char *const *roots, size_t n_roots)
{
        static const char *const never[] = {"/proc", "/sys", "/dev", "/run", "/var/run"};
        char clean[REWRITE_PATH_MAX];
        size_t len;

        if (!resolved || resolved[0] != '/')
                return false;
        len = strnlen(resolved, REWRITE_PATH_MAX);
        if (len >= REWRITE_PATH_MAX)
                return false;
        /* only normal paths: nothing for a lexical prefix test to miss */
        path_clean(resolved, clean, sizeof(clean));
        if (!streq(clean, resolved))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(never); i++)
                if (path_under(resolved, never[i]))
                        return false;

        for (size_t i = 0; i < n_roots; i++) {
                char root[REWRITE_PATH_MAX];

                if (!roots || !roots[i] || roots[i][0] != '/' ||
                    strnlen(roots[i], REWRITE_PATH_MAX) >= REWRITE_PATH_MAX)
                        continue;
                path_clean(roots[i], root, sizeof(root));
                if (streq(root, "/"))
                        continue; /* "/" is refused as a root */
                if (path_under(resolved, root))
                        return true;
        }
        return false;
}

int bind_root_expand(const char *root, const char *user, const char *home, char *out, size_t size)
{
        char buf[REWRITE_PATH_MAX];
        size_t len = 0;
        const char *p;

        if (isempty(root))
                return -EINVAL;
        p = root;
        if (p[0] == '~') {
                size_t hl;

                if (p[1] != 0 && p[1] != '/')
                        return -EINVAL; /* "~other" is not supported */
                if (isempty(home) || home[0] != '/')
                        return -EINVAL;
                hl = strlen(home);
                while (hl > 1 && home[hl - 1] == '/')
                        hl--;
                if (hl >= sizeof(buf))
                        return -ENAMETOOLONG;
                memcpy(buf, home, hl);
                len = hl;
                p++;
        } else if (p[0] != '/')
                return -EINVAL;

        while (*p) {
                const char *add = p;
                size_t n = 1;

                if (startswith(p, "{user}")) {
                        if (isempty(user) || strchr(user, '/') || streq(user, ".") ||
                            streq(user, ".."))
                                return -EINVAL;
                        add = user;
                        n = strlen(user);
                        p += strlen("{user}");
                } else
                        p++;
                if (len + n >= sizeof(buf))
                        return -ENAMETOOLONG;
                memcpy(buf + len, add, n);
                len += n;
        }
        buf[len] = 0;
        if (len >= size)
                return -ENAMETOOLONG;
        memcpy(out, buf, len + 1);
        return 0;
}
