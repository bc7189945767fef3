/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * probe.h - what the lifecycle loop measures of a running container, read
 * from the kernel (never `docker stats`), and the files it reads and writes
 * inside a container. The I/O edge of src/lifecycle; the decisions are in
 * lifecycle.h.
 *
 * Paths are built from `proc_root` (normally "/proc") and `cgroup_root`
 * (normally "/sys/fs/cgroup") so tests can point them at a fake tree.
 * All functions return 0 or -errno and never follow a path a container
 * controls out of that container.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LC_CGROUP_PATH_MAX 512

/* Where a container's counters live, found once from its init pid. */
struct lc_cgroup {
        bool v2;                         /* unified hierarchy */
        char cpu[LC_CGROUP_PATH_MAX];    /* v1: <root>/cpuacct<path> (cpuacct.usage);
                                          * v2: <root><path> (cpu.stat usage_usec) */
        char memory[LC_CGROUP_PATH_MAX]; /* v1: <root>/memory<path> (memory.usage_in_bytes);
                                          * v2: <root><path> (memory.current) */
};

/* Read /proc/<pid>/cgroup and fill *ret. v1: the lines whose controller list
 * holds "cpuacct" and "memory" (mounted as <root>/cpu,cpuacct or
 * <root>/cpuacct; the directory that exists is used); v2: the "0::" line.
 * -ENOENT when the process is gone, -ENODATA when no usable line. */
int lc_cgroup_find(const char *proc_root, const char *cgroup_root, pid_t pid,
                   struct lc_cgroup *ret);

/* Cumulative CPU time of the cgroup in ns (v1 cpuacct.usage; v2 cpu.stat
 * usage_usec * 1000). */
int lc_cgroup_cpu_ns(const struct lc_cgroup *cg, uint64_t *ret_ns);

/* Current memory use of the cgroup in bytes (v1 memory.usage_in_bytes; v2
 * memory.current). */
int lc_cgroup_memory(const struct lc_cgroup *cg, uint64_t *ret_bytes);

/* Received + sent bytes of every interface but "lo" in the network
 * namespace of pid: /proc/<pid>/net/dev. */
int lc_net_bytes(const char *proc_root, pid_t pid, uint64_t *ret_bytes);

/* The mtime (epoch s) of `path` (absolute, as seen inside the container)
 * through /proc/<pid>/root, resolved with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV is NOT set: bind mounts are the
 * point), so symlinks and ".." cannot leave the container's root. Only a
 * regular file counts: -ENOENT when absent, -EINVAL when not regular. */
int lc_container_file_mtime(const char *proc_root, pid_t pid, const char *path, int64_t *ret_mtime);

/* Append text to `path` inside the container (through /proc/<pid>/root as
 * above), creating it mode 0644 when absent, with the file system identity
 * of uid:gid (setfsuid/setfsgid on the calling thread, restored before
 * returning), so it is written exactly as that user could. Refused: the
 * final component a symlink (O_NOFOLLOW), a non-regular file, a parent that
 * does not exist (-ENOENT: no /workspace, nothing is created). */
int lc_container_file_append(const char *proc_root, pid_t pid, const char *path, uid_t uid,
                             gid_t gid, const char *text);
