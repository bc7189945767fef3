/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * hostproc.h - GPU processes and where they run: NVML's process lists give
 * pids per slot; each pid's /proc/<pid>/cgroup says whether it runs in a
 * Docker container (which one) or on the host; host processes are
 * attributed to a user (owner uid, and loginuid when it differs). A process
 * counts after two consecutive scans (a short-lived probe like a
 * `python -c "import torch"` is not reported); it is "exited" when a scan
 * no longer shows it.
 *
 * Pure parts (no I/O): hp_cgroup_container_id, hp_is_system_process and the
 * tracker. I/O parts: hp_proc_read, hp_proc_signal (proc_root for tests).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HP_ID_MAX      65 /* 64 hex + NUL */
#define HP_COMM_MAX    16 /* /proc/<pid>/comm, TASK_COMM_LEN */
#define HP_CMDLINE_MAX 256
#define HP_SLOT_MAX    24
#define HP_USER_MAX    64

/* The Docker/containerd container a process runs in, from the text of
 * /proc/<pid>/cgroup (all lines; cgroup v1 and v2). The container id is the
 * LAST path component, in any line, that is exactly 64 lowercase hex digits,
 * either bare (cgroupfs driver: "/docker/<id>", or "<cgroup-parent>/<id>"
 * such as "/ds01/student/alice/<id>") or wrapped as "docker-<id>.scope"
 * (systemd driver), "cri-containerd-<id>.scope", "crio-<id>.scope" or
 * "libpod-<id>.scope". Writes the id to id_out and returns true; false for
 * a host process (e.g. "0::/user.slice/user-1000.slice/session-3.scope").
 * Lines that are malformed are skipped. */
bool hp_cgroup_container_id(const char *cgroup_text, char id_out[HP_ID_MAX]);

/* System GPU processes that are never reported: comm (or the basename of
 * the command's first word) nvidia-persistenced, nv-hostengine, dcgm*
 * (any name starting "dcgm"), Xorg, X, nvidia-smi. */
bool hp_is_system_process(const char *comm, const char *argv0);

struct hp_proc {
        pid_t pid;
        uint64_t start_time; /* /proc/<pid>/stat field 22 (clock ticks since boot) */
        uid_t uid;           /* real uid (Uid: line of /proc/<pid>/status) */
        int64_t loginuid;    /* /proc/<pid>/loginuid; -1 when unset (4294967295) */
        char comm[HP_COMM_MAX];
        char cmdline[HP_CMDLINE_MAX]; /* argv joined by spaces, control chars -> '?',
                                       * truncated with "..." ; "[comm]" when empty */
        char container_id[HP_ID_MAX]; /* "" on the host */
};

/* Read the facts above for pid. -ENOENT when it is gone (or exits while
 * being read: start_time is read first and again last, and must agree). */
int hp_proc_read(const char *proc_root, pid_t pid, struct hp_proc *ret);

/* Send sig to pid only if it is still the same process (start_time): via
 * pidfd_open + a re-read of /proc/<pid>/stat + pidfd_send_signal, so a
 * recycled pid is never hit. -ESRCH when gone or replaced. */
int hp_proc_signal(const char *proc_root, pid_t pid, uint64_t start_time, int sig);

/* ---- the tracker (pure) ---- */

/* One GPU process as one scan saw it, already read and attributed. */
struct hp_seen {
        pid_t pid;
        uint64_t start_time;
        char slot[HP_SLOT_MAX];       /* ds01 slot name: "2", "1.3" */
        uint64_t memory;              /* bytes, UINT64_MAX unknown */
        char user[HP_USER_MAX];       /* attributed user ("" unknown) */
        char login_user[HP_USER_MAX]; /* loginuid's user when it differs, else "" */
        char cmdline[HP_CMDLINE_MAX];
        char container_id[HP_ID_MAX]; /* "" host; else a container that does not
                                       * hold this slot (an escape) */
};

enum hp_entry_state {
        HP_PENDING,   /* seen in one scan */
        HP_CONFIRMED, /* seen in two scans in a row: reported */
};

struct hp_entry {
        struct hp_seen p;
        enum hp_entry_state state;
        int64_t first_seen, last_seen; /* epoch s */
        int64_t confirmed_at;          /* epoch s, 0 while pending */
        /* For the bare-metal policy (the caller's bookkeeping, kept here so
         * it lives and dies with the entry): */
        int64_t warned_at;  /* 0 = not yet */
        int64_t sigterm_at; /* 0 = not yet */
        int64_t sigkill_at; /* 0 = not yet */
};

struct hp_tracker {
        struct hp_entry *e;
        size_t n, cap;
};

/* What one update changed: indexes into tracker->e for discovered (became
 * confirmed this scan); copies for exited (confirmed entries that this scan
 * no longer shows; pending ones that vanish are dropped silently). */
struct hp_changes {
        size_t *discovered;
        size_t n_discovered;
        struct hp_entry *exited;
        size_t n_exited;
};

/* Apply one complete scan. Identity is (pid, start_time, slot): the same
 * pid on two slots is two entries. An entry's memory, user and cmdline are
 * refreshed from the newest scan. Returns 0 or -ENOMEM (tracker unchanged
 * on failure). Release *ch with hp_changes_release. */
int hp_tracker_update(struct hp_tracker *t, const struct hp_seen *seen, size_t n, int64_t now,
                      struct hp_changes *ch);
void hp_changes_release(struct hp_changes *ch);
void hp_tracker_release(struct hp_tracker *t);
