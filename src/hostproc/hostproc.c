/* hostproc.c - the pure parts of hostproc that need no tracker state: the
 * container a process runs in, from the text of its /proc/<pid>/cgroup, and
 * the names of the system GPU processes (drivers, monitoring) that are never
 * reported.
 *
 * The cgroup text is read line by line without copying: every line is
 * "hierarchy-id:controllers:path"; a line that does not have that shape, or
 * whose path is not absolute, is skipped. Only the last component of each
 * path is looked at, since container runtimes put the container's own cgroup
 * last (a process in a nested cgroup of a container is not Docker's). */
#include <stdbool.h>
#include <string.h>

#include "hostproc/hostproc.h"
#include "util/macro.h"
#include "util/strutil.h"

#define HP_ID_LEN (HP_ID_MAX - 1)

/* The scope wrappers of the systemd cgroup driver, per runtime. */
static const char *const scope_prefixes[] = {
    "docker-",
    "cri-containerd-",
    "crio-",
    "libpod-",
};

static bool is_id(const char *s, size_t n)
{
        if (n != HP_ID_LEN)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* True when the n bytes at s start with prefix (which is NUL-terminated). */
static bool has_prefix(const char *s, size_t n, const char *prefix)
{
        size_t l = strlen(prefix);

        return n >= l && memcmp(s, prefix, l) == 0;
}

/* The id in one path component (not NUL-terminated, n bytes), or NULL. */
static const char *component_id(const char *c, size_t n)
{
        static const char suffix[] = ".scope";
        const size_t sl = sizeof(suffix) - 1;

        if (is_id(c, n))
                return c;
        if (n < sl || memcmp(c + n - sl, suffix, sl) != 0)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(scope_prefixes); i++) {
                size_t pl = strlen(scope_prefixes[i]);

                if (has_prefix(c, n, scope_prefixes[i]) && is_id(c + pl, n - pl - sl))
                        return c + pl;
        }
        return NULL;
}

/* The id in one line (n bytes, no newline), or NULL for a host line or a
 * malformed one. */
static const char *line_id(const char *line, size_t n)
{
        const char *c1, *c2, *path, *last;
        size_t plen;

        c1 = memchr(line, ':', n);
        if (!c1 || c1 == line)
                return NULL;
        c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line));
        if (!c2)
                return NULL;
        path = c2 + 1;
        plen = n - (size_t)(path - line);
        if (plen == 0 || path[0] != '/')
                return NULL;
        last = memrchr(path, '/', plen);
        last++;
        return component_id(last, plen - (size_t)(last - path));
}

bool hp_cgroup_container_id(const char *cgroup_text, char id_out[HP_ID_MAX])
{
        const char *p = cgroup_text;

        if (!p || !id_out)
                return false;
        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                const char *id = line_id(p, n);

                if (id) {
                        memcpy(id_out, id, HP_ID_LEN);
                        id_out[HP_ID_LEN] = '\0';
                        return true;
                }
                if (!nl)
                        break;
                p = nl + 1;
        }
        return false;
}

/* Names of processes that belong to the driver or the monitoring, never to
 * a user. comm is true for a name from /proc/<pid>/comm, which the kernel
 * cuts to TASK_COMM_LEN - 1 bytes ("nvidia-persiste"): a name that long
 * then matches a longer one by prefix. */
static bool is_system_name(const char *name, size_t n, bool comm)
{
        static const char *const names[] = {
            "nvidia-persistenced", "nv-hostengine", "Xorg", "X", "nvidia-smi",
        };

        if (n == 0)
                return false;
        if (has_prefix(name, n, "dcgm"))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                size_t l = strlen(names[i]);

                if (n == l && memcmp(name, names[i], l) == 0)
                        return true;
                if (comm && n == HP_COMM_MAX - 1 && l > n && memcmp(name, names[i], n) == 0)
                        return true;
        }
        return false;
}

bool hp_is_system_process(const char *comm, const char *argv0)
{
        if (comm && is_system_name(comm, strlen(comm), true))
                return true;
        if (!isempty(argv0)) {
                const char *end = strchr(argv0, ' ');
                size_t n = end ? (size_t)(end - argv0) : strlen(argv0);
                const char *base = memrchr(argv0, '/', n);

                base = base ? base + 1 : argv0;
                n -= (size_t)(base - argv0);
                return is_system_name(base, n, false);
        }
        return false;
}
