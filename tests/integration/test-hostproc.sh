#!/usr/bin/env bash
# test-hostproc.sh - GPU processes outside containers and bare-metal grants,
# end to end: a private ds01d on the fake NVML library (two A100s, MIG off)
# whose fixture the test rewrites to put real processes (`sleep`, started as
# unprivileged users created for the test) on the GPUs; scans every second.
#  - a host process seen in two scans is listed (GET /v1/hostprocs) with its
#    user and slot, reported once (detection.host_gpu_process_discovered),
#    counted in /metrics, and its slot is not allocated while another is free;
#  - a process listed for only one scan is never reported; a process named
#    like a system one (nvidia-smi) is never listed; a process that leaves
#    the process list is reported gone (detection.host_gpu_process_exited);
#  - grants: grant / list / status / revoke, their JSON, 403 for users who
#    may not grant, members of bare_metal_access.admin_group may, 400 for an
#    unknown user or a bad duration, exempt users, expiry (access.revoke
#    with reason expired);
#  - policy stop (SIGHUP reload): warning, then SIGTERM (the process ends,
#    detection.host_gpu_process_stopped); a user with a grant, and one whose
#    grant arrives during the countdown, are left alone; a process in a
#    container that does not hold its GPU (an escape: a cgroup named like a
#    Docker container) is reported and never signalled;
#  - SIGTERM: ds01d exits 0, and with a sanitizer build its log has no report.
# Needs root (it creates users, a group and a cgroup), jq and curl; exits 77
# (skipped) without them.
#
# Usage: test-hostproc.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4

if [ "$(id -u)" -ne 0 ] || ! command -v jq >/dev/null || ! command -v curl >/dev/null ||
        ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
        echo "test-hostproc: skipped (needs root, jq, curl, useradd and setpriv)"
        exit 77
fi

# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"

# Users and a group of this run only (names carry the pid).
alice=ds01t-hpa-$$
bob=ds01t-hpb-$$
carol=ds01t-hpc-$$
admins=ds01t-hpadm-$$
nobody_user=ds01t-hpnone-$$
created=()
created_group=
bg_pids=()
cgdir=
cleanup() {
        for p in "${bg_pids[@]}"; do
                kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
        done
        [ -n "$cgdir" ] && find "$cgdir" -depth -type d -exec rmdir {} + 2>/dev/null
        cleanup_daemon
        for u in "${created[@]}"; do
                userdel "$u" >/dev/null 2>&1
                getent group "$u" >/dev/null && groupdel "$u" >/dev/null 2>&1
        done
        [ -n "$created_group" ] && groupdel "$created_group" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers ----------------------------------------------------------------------
sock=$tmp/run/ds01.sock
topo=$tmp/topology.yaml

# call [--as USER] METHOD PATH [BODY]: the control API; sets code and body
call() {
        local pre=() out
        if [ "$1" == --as ]; then
                pre=(setpriv --reuid="$2" --regid="$2" --init-groups --)
                shift 2
        fi
        local args=(-s -w '\n%{http_code}' -X "$1" --unix-socket "$sock")
        [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data "$3")
        out=$("${pre[@]}" curl "${args[@]}" "http://ds01d$2")
        code=${out##*$'\n'}
        body=${out%$'\n'*}
}
hostprocs() { curl -s --unix-socket "$sock" http://ds01d/v1/hostprocs; }
# proc PID: the process' entry in GET /v1/hostprocs ("" when not listed)
proc() { hostprocs | jq -c --argjson p "$1" '.processes[] | select(.pid == $p)'; }
is_confirmed() { [ "$(proc "$1" | jq -r .confirmed)" == true ]; }
is_listed() { [ -n "$(proc "$1")" ]; }
is_pending() { [ "$(proc "$1" | jq -r .confirmed)" == false ]; }
last_scan() { hostprocs | jq -r .last_scan; }
# events TYPE PID: how many events of TYPE name pid PID
events() {
        curl -s --unix-socket "$sock" "http://ds01d/v1/events?type=$1&limit=1000" |
                jq --argjson p "$2" '[.events[] | select(.event_type == "'"$1"'" and .details.pid == $p)] | length'
}
has_event() { [ "$(events "$1" "$2")" -ge 1 ]; }
event_details() {
        curl -s --unix-socket "$sock" "http://ds01d/v1/events?type=$1&limit=1000" |
                jq -c --argjson p "$2" '[.events[] | select(.event_type == "'"$1"'" and .details.pid == $p)] | last | .details'
}
# alive PID: the process exists and is not a zombie
alive() { [ -e "/proc/$1" ] && ! grep -qE '^[0-9]+ \(.*\) Z ' "/proc/$1/stat" 2>/dev/null; }
dead() { ! alive "$1"; }
changed_from() { local s; s=$(last_scan) && [ "$s" != null ] && [ "$s" != "$1" ]; }
# scans N: wait until N more scans have run
scans() {
        local i prev
        for ((i = 0; i < $1; i++)); do
                prev=$(last_scan)
                wait_for "scan $((i + 1)) of $1" 10 changed_from "$prev" || return 1
        done
}
metrics() { curl -s "http://127.0.0.1:$(cat "$tmp/run/ds01d.port")/metrics"; }
metric_is() { [ "$(metrics | grep -E "^$1 " | awk '{print $2}')" == "$2" ]; }
# start_as USER CMD...: a background process as USER; its pid in last_pid
start_as() {
        local u=$1
        shift
        setpriv --reuid="$u" --regid="$u" --init-groups -- "$@" >/dev/null 2>&1 &
        last_pid=$!
        bg_pids+=("$last_pid")
}
stop_proc() { kill -KILL "$1" 2>/dev/null && wait "$1" 2>/dev/null; }
# set_procs GPU0 GPU1: the processes on the two GPUs, as YAML flow items
# ("{pid: 123, used_mib: 1536}, ..."); the file is replaced atomically, and
# the fake NVML reads it again at its next call.
set_procs() {
        cat >"$topo.tmp" <<EOF
# test-hostproc: two A100-SXM4-40GB, MIG off; processes written by the test
driver_version: "550.54.15"
gpus:
  - name: "NVIDIA A100-SXM4-40GB"
    uuid: "GPU-a84bba07-931d-b925-306a-0799dc6ebd71"
    memory_total_mib: 40960
    utilization: {gpu: 10, memory: 5}
    processes: [$1]
  - name: "NVIDIA A100-SXM4-40GB"
    uuid: "GPU-8b8c764d-1c0a-cb3d-ea13-519a60a077bb"
    memory_total_mib: 40960
    utilization: {gpu: 0, memory: 0}
    processes: [$2]
EOF
        mv -f "$topo.tmp" "$topo"
}
# the login user ds01d should report for pid: the name of its loginuid when
# set and not its owner, else null
expected_login_user() {
        local l u
        l=$(cat "/proc/$1/loginuid")
        u=$(awk '/^Uid:/ {print $2}' "/proc/$1/status")
        if [ "$l" == 4294967295 ] || [ "$l" == "$u" ]; then
                echo null
        else
                getent passwd "$l" | cut -d: -f1
        fi
}
write_config() { # write_config POLICY
        cat >"$tmp/etc/resource-limits.yaml" <<EOF
defaults:
  max_gpu_equivalents: 2
  allow_full_gpu: true
policies:
  check_interval_s: 1
hostproc:
  scan_interval_s: 1
bare_metal_access:
  policy: $1
  stop_grace_s: 2
  sigterm_grace_s: 2
  exempt_users: [$carol]
  admin_group: $admins
  default_grant_duration_h: 2
access_control:
  admin_users: []
  admin_group: ds01t-no-such-group
EOF
}

# ---- users, configuration, daemon ---------------------------------------------------
chmod 0755 "$tmp"
mkdir -p "$tmp/etc" "$tmp/run" "$tmp/bin"
chmod 0755 "$tmp/run" "$tmp/bin"
for u in "$alice" "$bob" "$carol"; do
        if ! useradd --no-create-home --user-group --shell /usr/sbin/nologin "$u"; then
                echo "test-hostproc: cannot create user $u" >&2
                exit 1
        fi
        created+=("$u")
done
groupadd "$admins" && created_group=$admins
usermod -a -G "$admins" "$bob"
write_config report
"$DS01" config check "$tmp/etc/resource-limits.yaml" >"$tmp/check.out" 2>&1
expect_eq "test config is valid" 0 "$?"
set_procs "" ""
start_daemon "$topo" || exit 1
wait_for "the first scan" 10 changed_from null

call GET /v1/hostprocs
expect_eq "hostprocs answer" "200 1 0" "$code $(jq -r '"\(.scan_interval_s) \(.processes | length)"' <<<"$body")"

# ---- a host process ----------------------------------------------------------------------
start_as "$alice" sleep 1000
p1=$last_pid
set_procs "{pid: $p1, used_mib: 1536}" ""
wait_for "pid $p1 to be listed" 10 is_listed "$p1"
wait_for "pid $p1 to be confirmed" 10 is_confirmed "$p1"
expect_eq "host process entry" \
        "$alice $(expected_login_user "$p1") sleep 1000 0 1610612736 null null true report null" \
        "$(proc "$p1" | jq -r '"\(.user) \(.login_user) \(.command) \(.slot) \(.memory_bytes) \(.container) \(.container_name) \(.confirmed) \(.action) \(.stop_at)"')"
expect_match "first_seen" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}Z$' "$(proc "$p1" | jq -r .first_seen)"
wait_for "the discovered event" 10 has_event detection.host_gpu_process_discovered "$p1"
scans 2
expect_eq "discovered exactly once" 1 "$(events detection.host_gpu_process_discovered "$p1")"
expect_eq "discovered details" \
        "{\"pid\":$p1,\"user\":\"$alice\",\"login_user\":$(jq -n --arg l "$(expected_login_user "$p1")" 'if $l == "null" then null else $l end'),\"command\":\"sleep 1000\",\"slot\":\"0\",\"memory_bytes\":1610612736,\"container\":null,\"container_name\":null}" \
        "$(event_details detection.host_gpu_process_discovered "$p1")"
call GET "/v1/events?type=detection.host_gpu_process_discovered"
expect_eq "the event's user" "$alice" "$(jq -r --argjson p "$p1" '.events[] | select(.details.pid == $p) | .user' <<<"$body")"
m=$(metrics)
expect_match "untracked metric" $'\nds01_untracked_gpu_processes 1\n' "$m"
expect_match "host memory metric" $'\nds01_host_gpu_memory_bytes\\{user="'"$alice"$'",gpu_slot="0"\\} 1610612736\n' "$m"
expect_match "untracked metric type" $'\n# TYPE ds01_untracked_gpu_processes gauge\n' "$m"
expect_match "host memory metric type" $'\n# TYPE ds01_host_gpu_memory_bytes gauge\n' "$m"
if command -v promtool >/dev/null; then
        expect_eq "promtool check metrics" "" "$(metrics | promtool check metrics 2>&1)"
fi

# a non-admin sees only their own processes
call --as "$carol" GET /v1/hostprocs
expect_eq "carol sees none" "200 0" "$code $(jq '.processes | length' <<<"$body")"
call --as "$bob" GET /v1/hostprocs
expect_eq "a member of the bare-metal admin group sees all" "200 1" "$code $(jq '.processes | length' <<<"$body")"
call --as "$alice" GET /v1/hostprocs
expect_eq "alice sees hers" "200 $p1" "$code $(jq -c '[.processes[].pid] | join(",")' -r <<<"$body")"

# the allocator leaves slot 0 alone while slot 1 is free
call POST /v1/allocations "{\"user\": \"$bob\", \"container\": \"hp-c1\"}"
expect_eq "allocation avoids the host process' slot" "200 1" "$code $(jq -r '.slots[0].slot' <<<"$body")"
call DELETE /v1/allocations/hp-c1
expect_eq "release" 200 "$code"

# ---- a process seen in one scan only ----------------------------------------------------
start_as "$alice" sleep 1001
p2=$last_pid
set_procs "{pid: $p1, used_mib: 1536}" "{pid: $p2, used_mib: 100}"
# taken out of the list as soon as it shows as pending, well before the next
# scan (a second later) could confirm it
wait_for "pid $p2 to be listed as pending" 10 is_pending "$p2"
set_procs "{pid: $p1, used_mib: 1536}" ""
scans 3
expect_eq "one-scan process no longer listed" "" "$(proc "$p2")"
expect_eq "one-scan process never reported" 0 "$(events detection.host_gpu_process_discovered "$p2")"
expect_eq "one-scan process never reported gone" 0 "$(events detection.host_gpu_process_exited "$p2")"
stop_proc "$p2"

# ---- a system process --------------------------------------------------------------------
cp /bin/sleep "$tmp/bin/nvidia-smi"
chmod 0755 "$tmp/bin/nvidia-smi"
start_as "$alice" "$tmp/bin/nvidia-smi" 1002
p3=$last_pid
set_procs "{pid: $p1, used_mib: 1536}" "{pid: $p3, used_mib: 200}"
scans 3
expect_eq "nvidia-smi never listed" "" "$(proc "$p3")"
expect_eq "nvidia-smi never reported" 0 "$(events detection.host_gpu_process_discovered "$p3")"
expect_eq "still one untracked process" yes "$(metric_is ds01_untracked_gpu_processes 1 && echo yes)"

# ---- gone from the process list ----------------------------------------------------------
set_procs "" ""
wait_for "the exited event" 10 has_event detection.host_gpu_process_exited "$p1"
expect_eq "exited details" "$p1 $alice 0 sleep 1000 yes" \
        "$(event_details detection.host_gpu_process_exited "$p1" | jq -r '"\(.pid) \(.user) \(.slot) \(.command) \(if .duration_s >= 1 then "yes" else .duration_s end)"')"
expect_eq "no longer listed" "" "$(proc "$p1")"
wait_for "untracked 0" 5 metric_is ds01_untracked_gpu_processes 0
expect_eq "no host memory samples" "" "$(metrics | grep '^ds01_host_gpu_memory_bytes{')"
stop_proc "$p1"
stop_proc "$p3"

# ---- grants: the API -----------------------------------------------------------------------
call POST /v1/access/grants "{\"user\": \"$bob\", \"duration_s\": 3600, \"reason\": \"benchmark\"}"
expect_eq "grant status" 201 "$code"
expect_eq "grant JSON" "$bob root benchmark false true true" \
        "$(jq -r '.grant | "\(.user) \(.granted_by) \(.reason) \(.permanent) \(.expires_at | test("Z$")) \(.granted_at | test("Z$"))"' <<<"$body")"
expires=$(jq -r .grant.expires_at <<<"$body")
call GET /v1/access/grants
expect_eq "grants list (admin)" "200 $bob" "$code $(jq -r '[.grants[].user] | join(",")' <<<"$body")"
call --as "$alice" GET /v1/access/grants
expect_eq "grants list (someone else)" "200 0" "$code $(jq '.grants | length' <<<"$body")"
call --as "$bob" GET /v1/access/grants
expect_eq "grants list (member of the bare-metal admin group)" "200 1" "$code $(jq '.grants | length' <<<"$body")"
call GET "/v1/access/status?user=$bob"
expect_eq "status with a grant" "200 $bob true grant until ${expires%.*}Z report $bob []" \
        "$code $(jq -r '"\(.user) \(.allowed) \(.reason) \(.policy) \(.grant.user) \(.processes)"' <<<"$body")"
call --as "$alice" GET /v1/access/status
expect_eq "own status without a grant" "200 $alice false no grant null" \
        "$code $(jq -r '"\(.user) \(.allowed) \(.reason) \(.grant)"' <<<"$body")"
call --as "$alice" GET "/v1/access/status?user=$bob"
expect_eq "another user's status" 403 "$code"
call GET "/v1/access/status?user=$carol"
expect_eq "exempt user" "true exempt (bare_metal_access.exempt_users)" \
        "$(jq -r '"\(.allowed) \(.reason)"' <<<"$body")"
call --as "$alice" POST /v1/access/grants "{\"user\": \"$alice\"}"
expect_eq "non-admin grant" "403 FORBIDDEN" "$code $(jq -r .error <<<"$body")"
expect_eq "non-admin grant message" "only ds01 admins or members of $admins may grant bare-metal access" \
        "$(jq -r .message <<<"$body")"
call POST /v1/access/grants "{\"user\": \"$nobody_user\"}"
expect_eq "unknown user" "400 no such user '$nobody_user'" "$code $(jq -r .message <<<"$body")"
call POST /v1/access/grants "{\"user\": \"$alice\", \"duration_s\": 0}"
expect_eq "zero duration" "400 duration_s must be > 0" "$code $(jq -r .message <<<"$body")"
call POST /v1/access/grants "{\"user\": \"$alice\", \"bogus\": 1}"
expect_eq "unknown field" 400 "$code"
# a member of bare_metal_access.admin_group may grant; without a duration the
# default (2 h) applies
call --as "$bob" POST /v1/access/grants "{\"user\": \"$alice\"}"
expect_eq "group member grants" "201 $bob null" "$code $(jq -r '"\(.grant.granted_by) \(.grant.reason)"' <<<"$body")"
exp=$(jq -r .grant.expires_at <<<"$body")
left=$(($(date -u -d "$exp" +%s) - $(date +%s)))
expect_eq "default duration (2 h)" yes "$([ "$left" -ge 7190 ] && [ "$left" -le 7200 ] && echo yes)"
call --as "$bob" DELETE "/v1/access/grants/$alice"
expect_eq "group member revokes" "200 $alice" "$code $(jq -r .revoked.user <<<"$body")"
# permanent, replacing the first grant
call POST /v1/access/grants "{\"user\": \"$bob\", \"permanent\": true}"
expect_eq "permanent grant" "201 true null" "$code $(jq -r '"\(.grant.permanent) \(.grant.expires_at)"' <<<"$body")"
call POST /v1/access/grants "{\"user\": \"$bob\", \"duration_s\": null}"
expect_eq "duration_s null is permanent" "201 true" "$code $(jq -r .grant.permanent <<<"$body")"
call GET "/v1/access/status?user=$bob"
expect_eq "status with a permanent grant" "true permanent grant" "$(jq -r '"\(.allowed) \(.reason)"' <<<"$body")"
call --as "$alice" DELETE "/v1/access/grants/$bob"
expect_eq "non-admin revoke" 403 "$code"
call DELETE "/v1/access/grants/$bob"
expect_eq "revoke" "200 $bob true" "$code $(jq -r '"\(.revoked.user) \(.revoked.permanent)"' <<<"$body")"
call DELETE "/v1/access/grants/$bob"
expect_eq "revoke again" "404 $bob has no bare-metal grant" "$code $(jq -r .message <<<"$body")"
call PUT /v1/access/grants
expect_eq "wrong method" 405 "$code"
call GET "/v1/events?type=access.&limit=1000"
expect_eq "grant events" "$bob root benchmark" \
        "$(jq -r '[.events[] | select(.event_type == "access.grant")] | first | .details | "\(.user) \(.granted_by) \(.reason)"' <<<"$body")"
expect_eq "revoke event" "$bob root" \
        "$(jq -r '[.events[] | select(.event_type == "access.revoke")] | last | .details | "\(.user) \(.revoked_by)"' <<<"$body")"

# ---- grant expiry ---------------------------------------------------------------------------
expired() {
        curl -s --unix-socket "$sock" "http://ds01d/v1/events?type=access.revoke&limit=1000" |
                jq -e --arg u "$carol" '[.events[] | select(.details.user == $u and .details.reason == "expired")] | length == 1' >/dev/null
}
call POST /v1/access/grants "{\"user\": \"$carol\", \"duration_s\": 2}"
expect_eq "short grant" 201 "$code"
wait_for "the grant to expire" 10 expired
call GET /v1/access/grants
expect_eq "expired grant gone" "" "$(jq -r --arg u "$carol" '.grants[] | select(.user == $u) | .user' <<<"$body")"
call GET "/v1/events?type=access.revoke&limit=1000"
expect_eq "expiry event" "root" \
        "$(jq -r --arg u "$carol" '.events[] | select(.details.user == $u) | .details.granted_by' <<<"$body")"

# ---- policy stop ------------------------------------------------------------------------------
policy_is() { [ "$(curl -s --unix-socket "$sock" http://ds01d/v1/access/status | jq -r .policy)" == "$1" ]; }
write_config stop
kill -HUP "$daemon_pid"
wait_for "the reload" 10 policy_is stop

# bob has a grant: left alone; alice's grant comes during the countdown
call POST /v1/access/grants "{\"user\": \"$bob\", \"permanent\": true}"
expect_eq "bob's grant" 201 "$code"
start_as "$bob" sleep 1003
p5=$last_pid
start_as "$alice" sleep 1004
p4=$last_pid
# an escape: a process in a cgroup named like a Docker container no ds01
# allocation holds
escape=
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
        cgroot=/sys/fs/cgroup
else
        cgroot=/sys/fs/cgroup/pids
fi
cid=$(printf '%064x' $$)
start_as "$alice" sleep 1005
p6=$last_pid
if mkdir -p "$cgroot/ds01t-hp-$$/$cid" 2>/dev/null; then
        cgdir=$cgroot/ds01t-hp-$$
        echo "$p6" >"$cgdir/$cid/cgroup.procs" 2>/dev/null && grep -q "$cid" "/proc/$p6/cgroup" && escape=yes
fi
gpu0="{pid: $p4, used_mib: 1000}, {pid: $p5, used_mib: 2000}"
gpu1=
if [ -n "$escape" ]; then
        gpu1="{pid: $p6, used_mib: 300}"
else
        echo "test-hostproc: no writable cgroup; the container escape is not checked" >&2
fi
set_procs "$gpu0" "$gpu1"
wait_for "the warning to alice" 10 has_event bare_metal.warning "$p4"
call POST /v1/access/grants "{\"user\": \"$alice\", \"duration_s\": 3600}"
expect_eq "alice's grant during the countdown" 201 "$code"
expect_eq "warning details" "$p4 $alice 0 sleep 1004 stop" \
        "$(event_details bare_metal.warning "$p4" | jq -r '"\(.pid) \(.user) \(.slot) \(.command) \(.policy)"')"
wait_for "bob's process confirmed" 10 is_confirmed "$p5"
expect_eq "bob's action" "none (grant) null" "$(proc "$p5" | jq -r '"\(.action) \(.stop_at)"')"
if [ -n "$escape" ]; then
        wait_for "the escape confirmed" 10 is_confirmed "$p6"
        expect_eq "escape entry" " $cid null report null" \
                "$(proc "$p6" | jq -r '"\(.user) \(.container) \(.container_name) \(.action) \(.stop_at)"')"
        expect_eq "escape counted" yes "$(metric_is ds01_untracked_gpu_processes 3 && echo yes)"
        expect_match "escape memory metric" $'\nds01_host_gpu_memory_bytes\\{user="unknown",gpu_slot="1"\\} 314572800\n' "$(metrics)"
        expect_eq "escape discovered event" "$cid true null" \
                "$(event_details detection.host_gpu_process_discovered "$p6" | jq -r '"\(.container) \(.user == "") \(.container_name)"')"
fi
# well past stop_grace + sigterm_grace (4 s)
scans 6
expect_eq "granted user's process alive" yes "$(alive "$p5" && echo yes)"
expect_eq "process whose user got a grant in the countdown alive" yes "$(alive "$p4" && echo yes)"
expect_eq "no stop for bob" 0 "$(events detection.host_gpu_process_stopped "$p5")"
expect_eq "no warning for bob" 0 "$(events bare_metal.warning "$p5")"
expect_eq "no stop for alice after her grant" 0 "$(events detection.host_gpu_process_stopped "$p4")"
expect_eq "alice's action" "none (grant) null" "$(proc "$p4" | jq -r '"\(.action) \(.stop_at)"')"
if [ -n "$escape" ]; then
        expect_eq "escape not signalled" yes "$(alive "$p6" && echo yes)"
        expect_eq "no warning for the escape" 0 "$(events bare_metal.warning "$p6")"
fi

# without a grant: warned, then SIGTERM
call DELETE "/v1/access/grants/$alice"
expect_eq "alice's grant revoked" 200 "$code"
start_as "$alice" sleep 1006
p7=$last_pid
set_procs "$gpu0" "{pid: $p7, used_mib: 500}${gpu1:+, $gpu1}"
wait_for "a new warning" 10 has_event bare_metal.warning "$p7"
stop_at=$(proc "$p7" | jq -r .stop_at)
expect_match "stop_at" '^[0-9-]{10}T[0-9:]{8}\.000000Z$' "$stop_at"
expect_eq "action stop" stop "$(proc "$p7" | jq -r .action)"
wait_for "pid $p7 to end" 15 dead "$p7"
wait_for "the stopped event" 5 has_event detection.host_gpu_process_stopped "$p7"
expect_eq "stopped details" "$p7 $alice 1 SIGTERM" \
        "$(event_details detection.host_gpu_process_stopped "$p7" | jq -r '"\(.pid) \(.user) \(.slot) \(.signal)"')"
# it ended at or after the announced time (second resolution)
expect_eq "not before stop_at" yes "$([ "$(date +%s)" -ge "$(date -u -d "$stop_at" +%s)" ] && echo yes)"
wait_for "pid $p7 exited event" 10 has_event detection.host_gpu_process_exited "$p7"
# p4 (warned earlier, then granted, now revoked) gets a fresh countdown
wait_for "pid $p4 to end after its new countdown" 15 dead "$p4"
expect_eq "p4 warned twice" 2 "$(events bare_metal.warning "$p4")"
expect_eq "bob's process still alive" yes "$(alive "$p5" && echo yes)"
[ -n "$escape" ] && expect_eq "escape still alive" yes "$(alive "$p6" && echo yes)"

set_procs "" ""
for p in "$p4" "$p5" "$p6" "$p7"; do stop_proc "$p"; done
[ -n "$cgdir" ] && rmdir "$cgdir/$cid" "$cgdir" 2>/dev/null && cgdir=

# ---- stop ---------------------------------------------------------------------------------------
stop_daemon TERM
expect_eq "ds01d exits 0 on SIGTERM" 0 "$?"
expect_eq "no sanitizer report" "" "$(grep -E 'Sanitizer|runtime error' "$tmp/ds01d.log")"

echo "test-hostproc: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
