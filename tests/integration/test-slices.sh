#!/usr/bin/env bash
# test-slices.sh - per-user aggregate limits on the cgroupfs driver, end to
# end: a private ds01d (fake NVML, `enforcement.cgroup_driver: cgroupfs`,
# a pass every second), the test Docker engine, Debian's docker CLI run as
# real unprivileged users through ds01d's Docker proxy.
#
#  - user A's group has `aggregate: {memory_max: 96M, memory_high: 90M,
#    cpu_quota: "200%", tasks_max: 100}` and a per-container memory limit of
#    90m (above half the aggregate: one container alone may hold 60 MiB);
#    user B's group has no aggregate.
#  - A's first container makes A's cgroup ds01/<group>/<sanitized A> on
#    demand, with the limit files holding the configured values (v1:
#    memory.limit_in_bytes, memory.soft_limit_in_bytes, cpu.cfs_period_us,
#    cpu.cfs_quota_us, pids.max; v2: memory.max, memory.high, cpu.max,
#    pids.max); the container's CgroupParent is that cgroup.
#  - container 1 holds ~60 MiB (a file in /dev/shm, charged to its memory
#    cgroup) and sleeps; container 2 then allocates ~60 MiB (dd's buffer):
#    together past 96 MiB, so container 2 is OOM-killed (exit 137, OOMKilled)
#    while container 1 keeps running; ds01d writes resource.oom_kill for A
#    (container = container 2's id, oom_count >= 1) and /metrics counts it.
#  - B's cgroup exists with no limits ("none" values).
#  - `ds01 slices apply --dry-run` (nothing to change for A, as ds01d wrote
#    it; --json names A capped, B not); `--root DIR --driver systemd` writes
#    the units and drop-ins checked word for word, a second run changes
#    nothing, `systemd-analyze verify --root` finds nothing to say about
#    them (skipped only when systemd-analyze is missing); not root and no
#    --root/--dry-run: refused.
# Cleans up its containers, users and the cgroup directories it made.
#
# Needs root, jq, curl, useradd, setpriv, Debian's docker CLI and the test
# Docker engine (tests/integration/docker-harness.sh); exits 77 without root.
#
# Usage: test-slices.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4
UDOCKER=/usr/bin/docker # Debian's docker CLI

if [ "$(id -u)" -ne 0 ] || ! command -v jq >/dev/null || ! command -v useradd >/dev/null ||
        ! command -v setpriv >/dev/null || ! command -v curl >/dev/null; then
        echo "test-slices: skipped (needs root, jq, curl, useradd and setpriv)"
        exit 77
fi

# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
chmod 0755 "$tmp"
export DS01_TEST_DOCKER_SOCKET=/var/run/docker.sock
prefix=ds01test-$$
psock=$tmp/run/docker.sock
ua=ds01slc-a.$$ # sanitized: ds01slc_a_<pid>
ub=ds01slc-b.$$
sa=ds01slc_a_$$
sb=ds01slc_b_$$
ga=slc_$$
gb=slcfree_$$
created_users=()
CG=/sys/fs/cgroup

cleanup() {
        local u d
        docker ps -aq --filter "name=^$prefix-" | xargs -r docker rm -f -v >/dev/null 2>&1
        for u in "${created_users[@]}"; do
                userdel -r "$u" >/dev/null 2>&1
        done
        stop_daemon KILL
        # the cgroups ds01d (and Docker) made for the test's groups
        for d in "$CG"/*/ds01/"$ga" "$CG"/*/ds01/"$gb" "$CG"/ds01/"$ga" "$CG"/ds01/"$gb"; do
                [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$SRC/tests/integration/docker-harness.sh" ensure >"$tmp/harness.log" 2>&1 || {
        cat "$tmp/harness.log" >&2
        echo "test-slices: no Docker engine" >&2
        exit 1
}
image=${DS01_TEST_DOCKER_IMAGE:-ds01-test-busybox:latest}
[ -x "$UDOCKER" ] || {
        echo "test-slices: $UDOCKER (Debian's docker.io CLI) missing" >&2
        exit 1
}

for u in "$ua" "$ub"; do
        useradd --create-home --user-group --shell /usr/sbin/nologin "$u" || {
                echo "test-slices: cannot create user $u" >&2
                exit 1
        }
        created_users+=("$u")
        install -d -o "$u" -g "$u" "/home/$u/.docker"
done

as() {
        local u=$1
        shift
        setpriv --reuid="$u" --regid="$u" --init-groups -- env HOME="/home/$u" \
                DOCKER_CONFIG="/home/$u/.docker" "$@"
}
# udocker USER ARGS...: the docker CLI as USER through the proxy; sets out, rc
udocker() {
        local u=$1
        shift
        out=$(as "$u" "$UDOCKER" -H "unix://$psock" "$@" 2>&1)
        rc=$?
}
state() { docker inspect -f "{{.State.$2}}" "$1" 2>/dev/null; }

mkdir -p "$tmp/etc" "$tmp/run"
chmod 0755 "$tmp/run"
cfg=$tmp/etc/resource-limits.yaml
cat >"$cfg" <<EOF
defaults:
  max_cpus: 1
  max_gpu_equivalents: 0
  max_containers_per_user: 10
default_group: $gb
groups:
  $ga:
    members: ["$ua"]
    memory: 90m
    aggregate:
      memory_max: 96M
      memory_high: 90M
      cpu_quota: "200%"
      tasks_max: 100
  $gb:
    members: ["$ub"]
access_control:
  admin_users: []
  admin_group: ds01slc-no-such-group
enforcement:
  cgroup_driver: cgroupfs
policies:
  check_interval_s: 1
EOF
"$DS01" config check "$cfg" >"$tmp/check.out" 2>&1 || {
        cat "$tmp/check.out" >&2
        echo "test-slices: the test configuration is refused" >&2
        exit 1
}

start_daemon a100x4 || exit 1
wait_for "the proxy socket $psock" 10 test -S "$psock" || exit 1

version=1
[ "$(stat -fc %T $CG)" = cgroup2fs ] && version=2
if [ $version = 1 ]; then
        mem=$CG/memory/ds01/$ga/$sa
        cpu=$CG/cpu/ds01/$ga/$sa
        pids=$CG/pids/ds01/$ga/$sa
else
        mem=$CG/ds01/$ga/$sa
        cpu=$mem
        pids=$mem
fi
knob() { tr -d '\n' <"$1" 2>/dev/null; }

# ---- container 1: on-demand cgroup with the limits, ~60 MiB held ----------------------
udocker "$ua" run -d --name "$prefix-c1" "$image" \
        sh -c 'head -c 60m /dev/zero >/dev/shm/hold && echo filled && exec sleep 600'
expect_eq "container 1 starts through the proxy" 0 "$rc"
[ "$rc" = 0 ] || echo "$out" >&2
c1_filled() { docker logs "$prefix-c1" 2>&1 | grep -q '^filled$'; }
wait_for "container 1 to hold 60 MiB" 30 c1_filled
expect_eq "container 1's cgroup parent is the user's cgroup" "/ds01/$ga/$sa" \
        "$(docker inspect -f '{{.HostConfig.CgroupParent}}' "$prefix-c1" 2>/dev/null)"
expect_eq "the user's cgroup exists" yes "$([ -d "$mem" ] && echo yes)"
if [ $version = 1 ]; then
        expect_eq "memory.limit_in_bytes" 100663296 "$(knob "$mem/memory.limit_in_bytes")"
        expect_eq "memory.soft_limit_in_bytes" 94371840 "$(knob "$mem/memory.soft_limit_in_bytes")"
        expect_eq "cpu.cfs_period_us" 100000 "$(knob "$cpu/cpu.cfs_period_us")"
        expect_eq "cpu.cfs_quota_us" 200000 "$(knob "$cpu/cpu.cfs_quota_us")"
        used=$(knob "$mem/memory.usage_in_bytes")
else
        expect_eq "memory.max" 100663296 "$(knob "$mem/memory.max")"
        expect_eq "memory.high" 94371840 "$(knob "$mem/memory.high")"
        expect_eq "cpu.max" "200000 100000" "$(knob "$cpu/cpu.max")"
        used=$(knob "$mem/memory.current")
fi
expect_eq "pids.max" 100 "$(knob "$pids/pids.max")"
if [ "${used:-0}" -ge $((60 * 1024 * 1024)) ]; then ok; else
        bad "the user's cgroup holds container 1's 60 MiB (usage ${used:-?})"
fi

# ---- container 2: 60 MiB more is past the user's 96 MiB: OOM-killed -------------------
udocker "$ua" run -d --name "$prefix-c2" "$image" dd if=/dev/zero of=/dev/null bs=60M count=1
expect_eq "container 2 starts through the proxy" 0 "$rc"
c2_id=$(docker inspect -f '{{.Id}}' "$prefix-c2" 2>/dev/null)
c2_exited() { [ "$(state "$prefix-c2" Status)" = exited ]; }
wait_for "container 2 to end" 60 c2_exited
expect_eq "container 2 was killed (exit code)" 137 "$(state "$prefix-c2" ExitCode)"
expect_eq "container 2 OOMKilled" true "$(state "$prefix-c2" OOMKilled)"
expect_eq "container 1 still runs" true "$(state "$prefix-c1" Running)"
expect_eq "container 1 still holds its memory" yes \
        "$(docker exec "$prefix-c1" sh -c '[ -s /dev/shm/hold ] && echo yes' 2>/dev/null)"

oom_events() { jq -c 'select(.event_type == "resource.oom_kill")' "$tmp/log/events.jsonl" 2>/dev/null; }
have_oom() { oom_events | grep -q .; }
wait_for "ds01d to write resource.oom_kill" 30 have_oom
ev=$(oom_events | head -n 1)
expect_eq "resource.oom_kill: user" "$ua" "$(jq -r .user <<<"$ev")"
expect_eq "resource.oom_kill: group" "$ga" "$(jq -r .details.group <<<"$ev")"
expect_eq "resource.oom_kill: container" "$c2_id" "$(jq -r .details.container <<<"$ev")"
expect_eq "resource.oom_kill: the container's name" "$prefix-c2" "$(jq -r .details.name <<<"$ev")"
if [ "$(jq -r '.details.oom_count' <<<"$ev")" -ge 1 ] 2>/dev/null; then ok; else
        bad "resource.oom_kill: oom_count >= 1 ($ev)"
fi
port=$(cat "$tmp/run/ds01d.port")
oom_metric() {
        curl -s "http://127.0.0.1:$port/metrics" |
                grep -Eq '^ds01_lifecycle_events_total\{action="oom_kill"\} [1-9]'
}
wait_for "ds01_lifecycle_events_total{action=\"oom_kill\"} >= 1" 20 oom_metric

# ---- user B: no aggregate, no limits ----------------------------------------------------
udocker "$ub" run -d --name "$prefix-b1" "$image" sleep 600
expect_eq "B's container starts" 0 "$rc"
if [ $version = 1 ]; then
        bl=$(knob "$CG/memory/ds01/$gb/$sb/memory.limit_in_bytes")
        if [ "${bl:-0}" -ge $((1 << 62)) ]; then ok; else
                bad "B's memory.limit_in_bytes is unlimited ($bl)"
        fi
        expect_eq "B's cpu.cfs_quota_us" -1 "$(knob "$CG/cpu/ds01/$gb/$sb/cpu.cfs_quota_us")"
        expect_eq "B's pids.max" max "$(knob "$CG/pids/ds01/$gb/$sb/pids.max")"
else
        expect_eq "B's memory.max" max "$(knob "$CG/ds01/$gb/$sb/memory.max")"
        expect_eq "B's pids.max" max "$(knob "$CG/ds01/$gb/$sb/pids.max")"
fi

# ---- ds01 slices apply ------------------------------------------------------------------
out=$("$DS01" slices apply --dry-run -c "$cfg" 2>&1)
expect_eq "slices apply --dry-run exits 0" 0 $?
expect_match "dry run: driver and version" "driver cgroupfs, cgroup v$version at $CG" "$out"
if grep -q "would .*ds01/$ga/$sa/" <<<"$out"; then
        bad "dry run: nothing to change for A (ds01d wrote it): $out"
else ok; fi
j=$("$DS01" slices apply --dry-run --json -c "$cfg" 2>&1)
expect_eq "--json: A capped" "true 100663296" \
        "$(jq -r --arg u "$ua" '.users[] | select(.user == $u) | "\(.capped) \(.limits.memory_max)"' <<<"$j")"
expect_eq "--json: B not capped" "false null" \
        "$(jq -r --arg u "$ub" '.users[] | select(.user == $u) | "\(.capped) \(.limits)"' <<<"$j")"
expect_eq "--json: A's files unchanged" "unchanged" \
        "$(jq -r --arg d "ds01/$ga/$sa/" '[.files[] | select(.path | contains($d)) | .change] | unique | join(",")' <<<"$j")"

sdroot=$tmp/sdroot
units=$sdroot/etc/systemd/system
out=$("$DS01" slices apply --root "$units" --driver systemd -c "$cfg" 2>&1)
expect_eq "slices apply --root --driver systemd exits 0" 0 $?
expect_match "--root: systemd is not told" "systemd was not told" "$out"
expect_eq "units written" "ds01-$ga-$sa.slice
ds01-$ga-$sa.slice.d/10-resource-limits.conf
ds01-$ga.slice
ds01-$gb-$sb.slice
ds01-$gb.slice
ds01.slice" "$(cd "$units" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)"
expect_eq "the drop-in" "# Generated by ds01 from the aggregate limits of $ua (group $ga).
# \`ds01 slices apply\` rewrites this file; edit resource-limits.yaml instead.
[Slice]
CPUQuota=200%
MemoryMax=96M
MemoryHigh=90M
TasksMax=100" "$(cat "$units/ds01-$ga-$sa.slice.d/10-resource-limits.conf")"
expect_eq "the user slice" "# Generated by ds01 (ds01 slices apply); changes are overwritten.
[Unit]
Description=DS01 ${ga^} - $ua ($sa)
Before=slices.target

[Slice]
CPUAccounting=true
MemoryAccounting=true
TasksAccounting=true
IOAccounting=true" "$(cat "$units/ds01-$ga-$sa.slice")"
out=$("$DS01" slices apply --root "$units" --driver systemd -c "$cfg" 2>&1)
expect_match "a second run changes nothing" "(^|[^0-9])0 files changed" "$out"
if command -v systemd-analyze >/dev/null; then
        # shellcheck disable=SC2046 # the unit names, one a word
        v=$(systemd-analyze verify --root="$sdroot" $(cd "$units" && ls -- *.slice) 2>&1)
        vrc=$?
        expect_eq "systemd-analyze verify exits 0" 0 "$vrc"
        expect_eq "systemd-analyze verify has nothing to say" "" "$v"
else
        echo "test-slices: systemd-analyze not installed; the units are not verified"
fi
out=$(as "$ua" "$DS01" slices apply -c "$cfg" 2>&1)
expect_eq "not root: refused" 1 $?
expect_match "not root: says why" "^ds01: slices apply changes .*; run it as root" "$out"

stop_daemon
expect_eq "ds01d exits 0" 0 $?
if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$tmp/ds01d.log"; then
        bad "ds01d's log has a sanitizer report"
else ok; fi

echo "test-slices: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
