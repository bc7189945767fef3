#!/usr/bin/env bash
# test-status.sh - `ds01 status` and GET /v1/overview against a private ds01d
# on the fake NVML library (a100x4-mixed: 4 GPUs, 13 slots), with
# allocations made by root (an admin) through `ds01 gpu allocate`:
#  - ds01d not running: one clear line with the next step, exit 1;
#  - the text: every slot's holder and container as GET /v1/status says, the
#    GPUs, the user near quota, the alert, the queue (a waiting request), the
#    summary; --json: the overview's shape (every key, types, order of users
#    and events) and its figures against /v1/status;
#  - a real unprivileged user reads all of it; POST is 405;
#  - colour: on a terminal (a pty), and not with NO_COLOR, --no-color or a pipe;
#    the words are the same with and without it;
#  - usage errors exit 2, --help exits 0.
# Needs root (it creates a user; exits 77, skipped, otherwise), jq, curl,
# python3 and setpriv.
#
# Usage: test-status.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4

if [ "$(id -u)" -ne 0 ]; then
        echo "test-status: skipped (needs root: it creates a user)"
        exit 77
fi
for tool in jq curl python3 useradd setpriv; do
        if ! command -v $tool >/dev/null; then
                echo "test-status: $tool is missing (scripts/install-deps installs it)" >&2
                exit 1
        fi
done

# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
user=ds01st-$$
created=
bg=
cleanup() {
        [ -n "$bg" ] && kill "$bg" 2>/dev/null && wait "$bg" 2>/dev/null
        [ -n "$created" ] && userdel "$created" >/dev/null 2>&1
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sock=$tmp/run/ds01.sock
# as USER CMD...: sets out, err, rc
as() {
        local u=$1
        shift
        out=$(setpriv --reuid="$u" --regid="$u" --init-groups -- "$@" 2>"$tmp/err")
        rc=$?
        err=$(cat "$tmp/err")
}
run() {
        out=$("$@" 2>"$tmp/err")
        rc=$?
        err=$(cat "$tmp/err")
}
# the slot rows of the text: "SLOT USER CONTAINER", in slot order
text_holders() { awk '/^GPU +SLOT /{t=1; next} t && NF==0 {exit} t {print $2, $5, $6}' <<<"$1"; }
# the same from GET /v1/status
status_holders() {
        ds01 gpu status --json | jq -r '.slots[] | "\(.slot) \(.user // "-") \(.container // "-")"'
}
queue_is() { [ "$(ds01 queue --json | jq '.queue | length')" = "$1" ]; }
alert_for() { ds01 alerts --json | jq -e --arg u "$1" '.alerts | any(.user == $u)' >/dev/null; }

# ---- configuration, user -----------------------------------------------------------------
chmod 0755 "$tmp"
mkdir -p "$tmp/etc" "$tmp/run"
chmod 0755 "$tmp/run"
cat >"$tmp/etc/resource-limits.yaml" <<'YAML'
defaults:
  max_gpu_equivalents: 1
  max_gpu_slots_per_container: 1
  max_containers_per_user: 3
default_group: student
groups:
  student:
    max_gpu_equivalents: 0.3        # two 1g slices (0.143 each): 95 % of the quota
  filler:
    max_gpu_equivalents: null
    max_gpu_slots_per_container: null
    allow_full_gpu: true
    max_containers_per_user: 10
gpu_allocation:
  allow_multi_mig: true
policies:
  check_interval_s: 1               # quota alerts come from the lifecycle pass
access_control:
  admin_users: []
  admin_group: ds01st-no-such-group
YAML
mkdir -p "$tmp/etc/groups"
printf '%s\n' ds01st-filler >"$tmp/etc/groups/filler.members"
run "$DS01" config check "$tmp/etc/resource-limits.yaml"
expect_eq "test config is valid" 0 "$rc"
if ! useradd --no-create-home --user-group --shell /usr/sbin/nologin "$user"; then
        echo "test-status: cannot create user $user" >&2
        exit 1
fi
created=$user

# ---- ds01d not running ----------------------------------------------------------------------
run ds01 status
expect_eq "no daemon: exit" 1 "$rc"
expect_eq "no daemon: one line" 1 "$(wc -l <<<"$err")"
expect_match "no daemon: what and what next" \
        "^ds01: cannot reach ds01d at $sock: .*\(is the daemon running\? systemctl status ds01d\)$" "$err"
expect_eq "no daemon: nothing on stdout" "" "$out"

# ---- allocations ------------------------------------------------------------------------------
start_daemon a100x4-mixed || exit 1
for a in "st-zed z-1" "st-amy a-1" "st-amy a-2" "$user u-1"; do
        read -r u c <<<"$a"
        run ds01 gpu allocate "$u" "$c"
        expect_eq "allocate $a" 0 "$rc"
done
wait_for "the quota alert of st-amy" 20 alert_for st-amy
run ds01 reserve add --user st-res --slots 3.1 --from "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" \
        --to "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)" --reason test-status
expect_eq "reserve 3.1" 0 "$rc"

# ---- the text against /v1/status ----------------------------------------------------------
run ds01 status
expect_eq "status exit" 0 "$rc"
expect_eq "status: nothing on stderr" "" "$err"
expect_eq "holders as /v1/status says" "$(status_holders)" "$(text_holders "$out")"
expect_eq "13 slot rows" 13 "$(text_holders "$out" | wc -l)"
expect_match "header" "^ds01 status: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC, $(hostname), health (OK|WARN|FAIL), NVML available"$'\n' "$out"
expect_match "docker check named (no Docker here)" $'\n  fail docker: ds01d cannot reach Docker' "$out"
expect_match "GPU 0 line" $'\n0 +full +1 +76% 30\\.0/40\\.0 GiB +58C +288W  healthy\n' "$out"
expect_match "GPU 1 line" $'\n1 +MIG +7 +- ' "$out"
expect_match "busy free slot has a note" $'\n1 +1\\.0 +1g\\.5gb +free +- +- +- 3\\.0/4\\.8 GiB +1 process\n' "$out"
expect_match "near quota: st-amy" $'\nUsers near quota \\(>= 80%\\):\nUSER +GROUP .*\nst-amy +student +0\\.29/0\\.3 +2/3 +- +95%\n' "$out"
expect_eq "only st-amy near quota" "st-amy" \
        "$(awk '/^Users near quota/{t=1; getline; next} t && NF==0 {exit} t {print $1}' <<<"$out")"
expect_match "reserved slot has a note" $'\n3 +3\\.1 +3g\\.20gb +free +- +- +- 0\\.0/19\\.5 GiB +reserved user:st-res\n' "$out"
expect_match "alert line" $'\nAlerts: 1\nUSER .*\nst-amy +gpu +high +95% you hold' "$out"
expect_match "queue empty" $'\nQueue: empty\n' "$out"
expect_match "summary" $'\nSummary: 4/13 slots allocated \\(0\\.57 of 3\\.71 GPU-equivalents\\), 0 containers running, 3 users active, 0 queued, 1 alert$' "$out"

# ---- --json: the shape ----------------------------------------------------------------------
run ds01 status --json
expect_eq "json exit" 0 "$rc"
json=$out
expect_eq "top-level keys" \
        "time version hostname health nvml summary gpus users containers queue reservations alerts events" \
        "$(jq -r 'keys_unsorted | join(" ")' <<<"$json")"
expect_match "time is ISO 8601 UTC" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\.[0-9]+)?Z$' "$(jq -r .time <<<"$json")"
expect_eq "hostname, version" "$(hostname) $("$DS01" --version | awk '{print $2}')" \
        "$(jq -r '"\(.hostname) \(.version)"' <<<"$json")"
expect_eq "health shape" "true" "$(jq '(.health.status | IN("ok","warn","fail")) and (.health.checks | length > 0) and (.health.checks | all((keys_unsorted == ["name","status","message"]) and (.status | IN("pass","warn","fail"))))' <<<"$json")"
expect_eq "health fails without Docker" "fail fail" \
        "$(jq -r '"\(.health.status) \(.health.checks[] | select(.name == "docker") | .status)"' <<<"$json")"
expect_eq "nvml" '{"available":true,"reason":null}' "$(jq -c .nvml <<<"$json")"
expect_eq "summary keys" \
        "slots_total slots_allocated slots_free gpu_equivalents_total gpu_equivalents_allocated containers_running queue_length users_active host_gpu_processes alerts" \
        "$(jq -r '.summary | keys_unsorted | join(" ")' <<<"$json")"
expect_eq "summary figures as /v1/status" \
        "$(ds01 gpu status --json | jq -c '[.slots_total, .slots_allocated, .slots_free, .gpu_equivalents_total, .gpu_equivalents_allocated, .queue_length]')" \
        "$(jq -c '.summary | [.slots_total, .slots_allocated, .slots_free, .gpu_equivalents_total, .gpu_equivalents_allocated, .queue_length]' <<<"$json")"
expect_eq "summary others" "0 3 0 1" \
        "$(jq -r '.summary | "\(.containers_running) \(.users_active) \(.host_gpu_processes) \(.alerts)"' <<<"$json")"
expect_eq "gpu keys" \
        "index uuid mig_enabled healthy reason utilization_percent memory_used_bytes memory_total_bytes temperature_c power_w slots" \
        "$(jq -r '.gpus[0] | keys_unsorted | join(" ")' <<<"$json")"
expect_eq "gpus" '[[0,false,76,58,1],[1,true,null,44,7],[2,true,null,51,3],[3,true,null,35,2]]' \
        "$(jq -c '[.gpus[] | [.index, .mig_enabled, .utilization_percent, .temperature_c, (.slots | length)]]' <<<"$json")"
expect_eq "slot keys" \
        "slot kind profile gpu_equivalents healthy state user container since reserved_for utilization_percent memory_used_bytes memory_total_bytes processes host_processes unmanaged" \
        "$(jq -r '.gpus[1].slots[0] | keys_unsorted | join(" ")' <<<"$json")"
expect_eq "slots as /v1/status (less uuid)" \
        "$(ds01 gpu status --json | jq -c '[.slots[] | del(.uuid)]')" \
        "$(jq -c '[.gpus[].slots[] | {slot, kind, profile, gpu_equivalents, healthy, state, user, container, since, reserved_for}]' <<<"$json")"
expect_eq "slot readings" '[76,30724,1,0,false] [null,3075,1,0,false] [null,0,0,0,false]' \
        "$(jq -c '.gpus[0].slots[0], .gpus[1].slots[0], .gpus[3].slots[0] | [.utilization_percent, (.memory_used_bytes / 1048576 | floor), .processes, .host_processes, .unmanaged]' <<<"$json" | paste -sd' ')"
expect_eq "user keys" \
        "user group gpu_equivalents gpu_limit containers container_limit memory_bytes memory_limit_bytes percent_of_quota queued" \
        "$(jq -r '.users[0] | keys_unsorted | join(" ")' <<<"$json")"
expect_eq "users, by name" "$user st-amy st-zed" "$(jq -r '[.users[].user] | join(" ")' <<<"$json")"
expect_eq "st-amy" '["student",0.286,0.3,2,3,95.2,0]' \
        "$(jq -c '.users[] | select(.user == "st-amy") | [.group, (.gpu_equivalents * 1000 | round / 1000), .gpu_limit, .containers, .container_limit, .percent_of_quota, .queued]' <<<"$json")"
expect_eq "container keys" \
        "id name user type state slots gpu_equivalents idle_s idle_left_s runtime_s runtime_left_s started" \
        "$(jq -r '.containers[0] | keys_unsorted | join(" ")' <<<"$json")"
expect_eq "containers: allocations Docker has not shown, one each" "4 null unknown" \
        "$(jq -r '"\(.containers | length) \([.containers[].id] | unique | .[0]) \([.containers[].state] | unique | join(","))"' <<<"$json")"
expect_eq "containers name the slots /v1/status gives them" \
        "$(ds01 gpu status --json | jq -c '[.slots[] | select(.container) | [.container, .user, .slot]] | sort')" \
        "$(jq -c '[.containers[] | .name as $n | .user as $u | .slots[] | [$n, $u, .]] | sort' <<<"$json")"
expect_eq "alerts as GET /v1/alerts" "$(ds01 alerts --json | jq -c .alerts)" "$(jq -c .alerts <<<"$json")"
expect_eq "reservations as GET /v1/reservations" "$(ds01 reserve list --json | jq -c .reservations)" \
        "$(jq -c .reservations <<<"$json")"
expect_eq "the reservation" "st-res 3.1 true" \
        "$(jq -r '.reservations[0] | "\(.user) \(.slots | join(",")) \(.active)"' <<<"$json")"
expect_eq "events: newest first, at most 50" "true" \
        "$(jq '(.events | length) > 0 and (.events | length) <= 50 and ([.events[].id] == ([.events[].id] | sort | reverse))' <<<"$json")"
expect_eq "the newest event is the reservation; the allocations are there" "reservation.created 4" \
        "$(jq -r '"\(.events[0].event_type) \([.events[] | select(.event_type == "gpu.allocated")] | length)"' <<<"$json")"

# ---- a real user reads it all; only GET -------------------------------------------------------
as "$user" "$DS01" --socket "$sock" status
expect_eq "user: exit" 0 "$rc"
expect_eq "user: every holder" "$(status_holders)" "$(text_holders "$out")"
as "$user" "$DS01" --socket "$sock" status --json
expect_eq "user: every user and alert" "3 1" "$(jq -r '"\(.users | length) \(.alerts | length)"' <<<"$out")"
code=$(curl -s -o "$tmp/post.out" -w '%{http_code}' --unix-socket "$sock" -X POST http://ds01d/v1/overview)
expect_eq "POST: 405" "405 METHOD_NOT_ALLOWED" "$code $(jq -r .error "$tmp/post.out")"

# ---- colour ---------------------------------------------------------------------------------------
pty() { python3 "$SRC/tests/integration/pty-run.py" --timeout 20 -- "$@" | tr -d '\r'; }
esc=$'\033['
tty_out=$(pty env -u NO_COLOR "$DS01" --socket "$sock" status)
has() { if [[ $3 == *"$2"* ]]; then ok; else bad "$1: [$2] not in [$3]"; fi; }
has "terminal: colour" "$esc" "$tty_out"
has "terminal: the state coloured" "${esc}32mfree${esc}0m " "$tty_out"
has "terminal: the holder in bold" "${esc}1mst-amy${esc}0m " "$tty_out"
has "terminal: the quota percent coloured" "${esc}33m95%${esc}0m" "$tty_out"
plain=$(pty env NO_COLOR=1 "$DS01" --socket "$sock" status)
expect_no_esc() { if [[ $2 == *"$esc"* ]]; then bad "$1: has colour"; else ok; fi; }
expect_no_esc "NO_COLOR on a terminal" "$plain"
expect_no_esc "--no-color on a terminal" "$(pty env -u NO_COLOR "$DS01" --socket "$sock" status --no-color)"
expect_no_esc "a pipe" "$(env -u NO_COLOR "$DS01" --socket "$sock" status | cat)"
expect_eq "the same words without colour" "$(tail -n +2 <<<"$plain")" \
        "$(sed -E 's/\x1b\[[0-9;]*m//g' <<<"$tty_out" | tail -n +2)"
expect_eq "NO_COLOR empty counts as unset" "yes" \
        "$(pty env NO_COLOR= "$DS01" --socket "$sock" status | grep -qF "$esc" && echo yes)"

# ---- the queue ----------------------------------------------------------------------------------
run ds01 gpu allocate ds01st-filler fill-1 --count all
expect_eq "filler takes the rest" 0 "$rc"
ds01 gpu allocate st-zed z-2 --wait=60 >"$tmp/wait.out" 2>&1 &
bg=$!
wait_for "a waiting request" 10 queue_is 1
run ds01 status
expect_match "queue line" $'\nQueue: 1 waiting\nPOS +USER +CONTAINER +COUNT +SINCE \\(UTC\\)\n1 +st-zed +z-2 +1 +[0-9]{4}-' "$out"
expect_match "summary: queued" ', 1 queued, ' "$out"
expect_eq "json: queued per user" 1 \
        "$(ds01 status --json | jq '.users[] | select(.user == "st-zed") | .queued')"
expect_eq "json: queue as GET /v1/queue (less the usage that decays meanwhile)" \
        "$(ds01 queue --json | jq -c '.queue | map(del(.decayed_gpu_hours))')" \
        "$(ds01 status --json | jq -c '.queue | map(del(.decayed_gpu_hours))')"
kill "$bg" 2>/dev/null
wait "$bg" 2>/dev/null
bg=

# ---- usage -------------------------------------------------------------------------------------------
run ds01 status --colour-me
expect_eq "unknown option: exit 2" 2 "$rc"
expect_match "unknown option: message" "^ds01: .*'--colour-me'" "$err"
run ds01 status extra
expect_eq "extra argument: exit 2" 2 "$rc"
run ds01 status --help
expect_eq "--help: exit 0" 0 "$rc"
expect_match "--help: usage" '^usage: ds01 status \[--json\] \[--no-color\]' "$out"

stop_daemon
expect_eq "ds01d exits 0 (and clean under ASan)" 0 "$?"
echo "test-status: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
