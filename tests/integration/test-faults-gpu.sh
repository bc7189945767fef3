#!/usr/bin/env bash
# test-faults-gpu.sh - a GPU lost mid-run, under the fake NVML library: a
# private ds01d on a copy of the a100x4 fixture (4 full GPUs, their processes
# taken out, UUIDs of this run), the test Docker engine, two real users
# holding GPU containers on different GPUs through the proxy. Then the fixture
# is rewritten with `fault: lost` on the first user's GPU (the fake library
# answers GPU_IS_LOST for it from then on, as a GPU that fell off the bus
# does), and within a deadline:
#  - ds01_gpu_healthy{gpu=N} is 0, the other three 1; `ds01 gpu status` shows
#    the slot unhealthy (still held by its container), `ds01 status` and
#    `ds01 health` say one GPU does not answer (health exits 1);
#  - events gpu.unhealthy (slots, holders) and gpu.unhealthy_warning (for the
#    holder) in the database and in events.jsonl;
#  - the holder is told: the message in /workspace/.ds01-alerts of the
#    container (written as the user) and on their terminal (a fake login);
#  - the other user's allocation, container and .ds01-alerts are untouched;
#  - new allocations land on the healthy GPUs only; with only the lost GPU
#    free (its holder removed the container) `ds01 gpu allocate` is refused
#    and a create through the proxy waits, then gets 503;
# then the fixture is restored: ds01_gpu_healthy back to 1, event
# gpu.recovered, and the GPU is allocated again.
#
# Needs root (it creates users and a fake login in /run/utmp), jq, curl,
# setpriv and the test Docker engine (tests/integration/docker-harness.sh);
# exits 77 when not root.
#
# Usage: test-faults-gpu.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR UTMP_LOGIN
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4
UTMP_LOGIN=$5

if [ "$(id -u)" -ne 0 ] || ! command -v jq >/dev/null || ! command -v useradd >/dev/null ||
        ! command -v setpriv >/dev/null || ! command -v curl >/dev/null; then
        echo "test-faults-gpu: skipped (needs root, jq, curl, useradd and setpriv)"
        exit 77
fi

# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
chmod 0755 "$tmp"
export DS01_TEST_DOCKER_SOCKET=/var/run/docker.sock
UDOCKER=/usr/bin/docker # Debian's docker CLI
prefix=ds01test-$$-env
psock=$tmp/run/docker.sock
ua=ds01env-a$$
ub=ds01env-b$$
uc=ds01env-c$$ # allocations made by an admin; no login needed
topo=$tmp/topology.yaml
created_users=()
utmp_pid=
utmp_created=false

cleanup() {
        if [ -n "$utmp_pid" ]; then
                kill -TERM "$utmp_pid" 2>/dev/null # marks its utmp record dead
                wait "$utmp_pid" 2>/dev/null
        fi
        $utmp_created && rm -f /run/utmp
        docker ps -aq --filter "name=^$prefix-" | xargs -r docker rm -f -v >/dev/null 2>&1
        for u in "${created_users[@]}"; do
                userdel -f -r "$u" >/dev/null 2>&1
        done
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$SRC/tests/integration/docker-harness.sh" ensure >"$tmp/harness.log" 2>&1 || {
        cat "$tmp/harness.log" >&2
        echo "test-faults-gpu: no Docker engine" >&2
        exit 1
}
image=${DS01_TEST_DOCKER_IMAGE:-ds01-test-busybox:latest}
[ -x "$UDOCKER" ] || {
        echo "test-faults-gpu: $UDOCKER (Debian's docker.io CLI) missing" >&2
        exit 1
}

for u in "$ua" "$ub"; do
        useradd --create-home --user-group --shell /usr/sbin/nologin "$u" || {
                echo "test-faults-gpu: cannot create user $u" >&2
                exit 1
        }
        created_users+=("$u")
        install -d -o "$u" -g "$u" "/home/$u/.docker" "/home/$u/ws"
done

# ---- helpers ----------------------------------------------------------------------------
as() {
        local u=$1
        shift
        setpriv --reuid="$u" --regid="$u" --init-groups -- env HOME="/home/$u" \
                DOCKER_CONFIG="/home/$u/.docker" "$@"
}
# udocker USER ARGS...: Debian's docker CLI as USER through the proxy; sets out, rc
udocker() {
        local u=$1
        shift
        out=$(as "$u" "$UDOCKER" -H "unix://$psock" "$@" 2>&1)
        rc=$?
}
metrics() { curl -s --max-time 10 "http://127.0.0.1:$(cat "$tmp/run/ds01d.port")/metrics"; }
# healthy_is GPU VALUE: ds01_gpu_healthy{gpu="GPU"} is VALUE on /metrics
healthy_is() {
        local m
        m=$(metrics) && grep -qx "ds01_gpu_healthy{gpu=\"$1\"} $2" <<<"$m"
}
status_json() { ds01 gpu status --json; }
# slot_of CONTAINER: the slot ds01d allocated to it
slot_of() { status_json | jq -r --arg c "$1" '[.slots[] | select(.container == $c) | .slot] | join(",")'; }
slot_field() { status_json | jq -r --arg s "$1" --arg f "$2" '.slots[] | select(.slot == $s) | .[$f]'; }
events_of() { ds01 events --type "$1" --json --all; }
# set_fixture FILE: the fake library's fixture replaced atomically (a rename)
set_fixture() {
        cp "$1" "$topo.new" && mv -f "$topo.new" "$topo"
}
running() { [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" == true ]; }

# ---- the topology and the configuration -------------------------------------------------
# a100x4 without its processes (the allocator never gives out a GPU that runs
# a process it did not start), with UUIDs of this run (containers of other
# tests on the same engine cannot look like holders of ours)
sed -e '/^    processes:$/d' -e '/^      - {pid:/d' "$SRC/tests/fixtures/topology/a100x4.yaml" |
        awk -v p=$$ '/uuid: "GPU-/ { n++; sub(/-[0-9a-f]+"$/, sprintf("-%06x%06x\"", p % 16777216, n)) } { print }' \
                >"$tmp/good.yaml"
[ "$(grep -c '^  - name:' "$tmp/good.yaml")" -eq 4 ] || {
        echo "test-faults-gpu: the a100x4 fixture no longer has 4 GPUs" >&2
        exit 1
}
# lost_fixture N: the good one with `fault: lost` on GPU N (0-based)
lost_fixture() {
        awk -v n="$1" '/^  - name:/ { g++ } { print } /^  - name:/ && g == n + 1 { print "    fault: lost" }' \
                "$tmp/good.yaml"
}
cp "$tmp/good.yaml" "$topo"

mkdir -p "$tmp/etc" "$tmp/run"
chmod 0755 "$tmp/run"
cat >"$tmp/etc/resource-limits.yaml" <<EOF
defaults:
  max_gpu_equivalents: 4
  max_gpu_slots_per_container: 1
  allow_full_gpu: true
  max_containers_per_user: 10
  max_cpus: 1
  gpu_hold_after_stop_h: 1
default_group: students
groups:
  students:
    members: [$ua, $ub, $uc]
gpu_allocation:
  attach: nvidia_runtime
  wait_s: 3
hostproc:
  scan_interval_s: 1
access_control:
  admin_users: []
  admin_group: ds01env-no-such-group
enforcement:
  cgroup_driver: cgroupfs
EOF
"$DS01" config check "$tmp/etc/resource-limits.yaml" >"$tmp/check.out" 2>&1 ||
        bad "the test configuration is refused: $(cat "$tmp/check.out")"

# a fake login of the first user: what reaches the terminal goes to $tmp/tty.out
if [ ! -e /run/utmp ]; then
        install -m 0664 -o root -g "$(getent group utmp >/dev/null && echo utmp || echo root)" \
                /dev/null /run/utmp && utmp_created=true
fi
"$UTMP_LOGIN" /run/utmp "$ua" "$tmp/tty.out" >"$tmp/utmp.ready" 2>&1 &
utmp_pid=$!
wait_for "the fake login of $ua" 10 grep -q '^ready ' "$tmp/utmp.ready" || cat "$tmp/utmp.ready" >&2

start_daemon "$topo" || exit 1
wait_for "the proxy socket $psock" 10 test -S "$psock" || exit 1

# ---- two holders on two GPUs ------------------------------------------------------------
for u in "$ua" "$ub"; do
        udocker "$u" run -d --name "$prefix-$u" --gpus 1 -v "/home/$u/ws:/workspace" "$image" sleep 600
        expect_eq "$u: docker run --gpus 1 through the proxy ($out)" 0 "$rc"
done
sa=$(slot_of "$prefix-$ua")
sb=$(slot_of "$prefix-$ub")
expect_match "$ua holds one full GPU" '^[0-3]$' "$sa"
expect_match "$ub holds one full GPU" '^[0-3]$' "$sb"
if [ "$sa" == "$sb" ] || [ -z "$sa" ] || [ -z "$sb" ]; then
        echo "test-faults-gpu: the two containers do not hold two GPUs ($sa, $sb); nothing to test" >&2
        exit 1
fi
wait_for "$ua's container running" 10 running "$prefix-$ua"
wait_for "$ub's container running" 10 running "$prefix-$ub"
# the containers' main processes are known to ds01d (reconcile), so that it can
# write into them
cpid() { sqlite3 "file:$tmp/state/state.db?mode=ro" "SELECT pid FROM containers WHERE name = '$1'" 2>/dev/null; }
has_pid() { [ "$(cpid "$1")" -gt 0 ] 2>/dev/null; }
wait_for "ds01d to know $ua's container's pid" 10 has_pid "$prefix-$ua"
for g in 0 1 2 3; do
        wait_for "GPU $g healthy before the fault" 10 healthy_is "$g" 1
done
bcid=$(docker inspect -f '{{.Id}}' "$prefix-$ub")
bstart=$(docker inspect -f '{{.State.StartedAt}}' "$prefix-$ub")

# ---- GPU $sa lost -----------------------------------------------------------------------
echo "losing GPU $sa (held by $ua; $ub holds GPU $sb)"
lost_fixture "$sa" >"$tmp/lost.yaml"
t0=$(date +%s%3N)
set_fixture "$tmp/lost.yaml"
if wait_for "ds01_gpu_healthy{gpu=\"$sa\"} 0" 15 healthy_is "$sa" 0; then
        echo "GPU $sa seen lost on /metrics after $(($(date +%s%3N) - t0)) ms"
fi
for g in 0 1 2 3; do
        [ "$g" == "$sa" ] && continue
        if healthy_is "$g" 1; then ok; else bad "GPU $g should stay healthy: $(metrics | grep ds01_gpu_healthy)"; fi
done
expect_eq "gpu status: slot $sa unhealthy" false "$(slot_field "$sa" healthy)"
expect_eq "gpu status: slot $sa still held by $ua's container" "$prefix-$ua" "$(slot_field "$sa" container)"
expect_eq "gpu status: slot $sb healthy" true "$(slot_field "$sb" healthy)"
ov=$(ds01 status --json)
expect_eq "status: GPU $sa unhealthy" false "$(jq -r --argjson g "$sa" '.gpus[] | select(.index == $g) | .healthy' <<<"$ov")"
expect_match "status: the gpus check names it" '1 of 4 GPUs' \
        "$(jq -r '.health.checks[] | select(.name == "gpus") | .message' <<<"$ov")"
out=$(ds01 health 2>&1)
expect_eq "ds01 health exits 1 with a lost GPU" 1 $?
expect_match "ds01 health: the gpus check fails" 'FAIL  gpus +1 of 4 GPUs do not answer NVML' "$out"

# events: in the database and in events.jsonl
ev_has_lost() { [[ $(events_of gpu.unhealthy) == *'"event_type":"gpu.unhealthy"'* ]]; }
wait_for "event gpu.unhealthy" 10 ev_has_lost
ev=$(events_of gpu.unhealthy | grep '"event_type":"gpu.unhealthy"' | tail -n 1)
expect_eq "gpu.unhealthy: the GPU" "$sa" "$(jq -r '.details.gpu' <<<"$ev")"
expect_eq "gpu.unhealthy: its slots" "[\"$sa\"]" "$(jq -c '.details.slots' <<<"$ev")"
expect_match "gpu.unhealthy: NVML's reason" 'GPU is lost' "$(jq -r '.details.reason' <<<"$ev")"
expect_eq "gpu.unhealthy: the holder" "$ua $prefix-$ua" \
        "$(jq -r '.details.holders | map("\(.user) \(.container)") | join(";")' <<<"$ev")"
expect_eq "gpu.unhealthy: one event" 1 "$(events_of gpu.unhealthy | grep -c '"event_type":"gpu.unhealthy"')"
w=$(events_of gpu.unhealthy_warning)
expect_eq "gpu.unhealthy_warning for $ua only" "$ua $prefix-$ua" \
        "$(jq -rs 'map("\(.user) \(.details.container)") | join(";")' <<<"$w")"
expect_eq "gpu.unhealthy in events.jsonl" 1 \
        "$(grep -c "\"event_type\":\"gpu.unhealthy\".*\"gpu\":$sa" "$tmp/log/events.jsonl")"

# the holder is told: .ds01-alerts in the container, and the terminal
alerts=/home/$ua/ws/.ds01-alerts
alert_has() { grep -qF "GPU $sa stopped answering the NVIDIA driver" "$alerts" 2>/dev/null; }
if wait_for "the notice in $ua's /workspace/.ds01-alerts" 10 alert_has; then
        expect_eq ".ds01-alerts belongs to $ua" "$ua" "$(stat -c %U "$alerts")"
        if grep -qF "'$prefix-$ua'" "$alerts" && grep -qF "docker rm -f $prefix-$ua" "$alerts"; then ok; else
                bad ".ds01-alerts does not name the container: $(head -c 600 "$alerts")"
        fi
fi
tty_has() { [[ $(tr -d '\r' <"$tmp/tty.out") == *"GPU $sa stopped answering the NVIDIA driver"* ]]; }
wait_for "the notice on $ua's terminal" 10 tty_has || echo "terminal got: $(head -c 600 "$tmp/tty.out")" >&2

# the other user: untouched
expect_eq "$ub's allocation untouched" "$sb active $prefix-$ub" \
        "$(status_json | jq -r --arg s "$sb" '.slots[] | select(.slot == $s) | "\(.slot) \(.state) \(.container)"')"
expect_eq "$ub's container still running" true "$(docker inspect -f '{{.State.Running}}' "$prefix-$ub")"
expect_eq "$ub's container not restarted" "$bcid $bstart" \
        "$(docker inspect -f '{{.Id}} {{.State.StartedAt}}' "$prefix-$ub")"
expect_eq "$ub got no notice" no "$([ -e "/home/$ub/ws/.ds01-alerts" ] && echo yes || echo no)"

# ---- allocations go to healthy GPUs only ----------------------------------------------------
healthy_free=()
for g in 0 1 2 3; do
        [ "$g" == "$sa" ] || [ "$g" == "$sb" ] || healthy_free+=("$g")
done
for i in 1 2; do
        out=$(ds01 gpu allocate "$uc" "$prefix-c$i" 2>&1)
        expect_eq "allocate c$i: exit ($out)" 0 $?
        s=$(slot_of "$prefix-c$i")
        if [[ " ${healthy_free[*]} " == *" $s "* ]]; then ok; else
                bad "c$i got slot [$s]; the healthy free GPUs were ${healthy_free[*]}"
        fi
done
# the holder gives the lost GPU back: now it is the only slot not taken
udocker "$ua" rm -f "$prefix-$ua"
expect_eq "$ua: docker rm -f ($out)" 0 "$rc"
free_state() { [ "$(slot_field "$sa" state)" == unhealthy ]; }
wait_for "slot $sa released (state unhealthy, not free)" 10 free_state
out=$(ds01 gpu allocate "$uc" "$prefix-c3" 2>&1)
expect_eq "allocate with only the lost GPU free: refused" 1 $?
expect_match "allocate with only the lost GPU free: why" 'no GPU slot free' "$out"
expect_eq "gpu status: slots_free does not count the lost GPU" 0 "$(status_json | jq .slots_free)"
expect_eq "overview: slots_free does not count it either" 0 \
        "$(curl -s "http://127.0.0.1:$(cat "$tmp/run/ds01d.port")/api/v1/overview" | jq .summary.slots_free)"
t1=$SECONDS
udocker "$ua" create --name "$prefix-$ua-2" --gpus 1 "$image" sleep 600
expect_eq "a create through the proxy with only the lost GPU free: refused" 1 "$rc"
expect_match "... after waiting in the queue (503)" 'ds01: .*(queue|free)' "$out"
expect_eq "... and nothing was created" "" "$(docker ps -aq --filter "name=^$prefix-$ua-2\$")"
echo "the create waited $((SECONDS - t1)) s (wait_s 3)"

# ---- GPU $sa back ------------------------------------------------------------------------
t0=$(date +%s%3N)
set_fixture "$tmp/good.yaml"
if wait_for "ds01_gpu_healthy{gpu=\"$sa\"} 1" 15 healthy_is "$sa" 1; then
        echo "GPU $sa seen back on /metrics after $(($(date +%s%3N) - t0)) ms"
fi
ev_has_back() { [[ $(events_of gpu.recovered) == *'"event_type":"gpu.recovered"'* ]]; }
wait_for "event gpu.recovered" 10 ev_has_back
ev=$(events_of gpu.recovered | tail -n 1)
expect_eq "gpu.recovered: the GPU and no holder left" "$sa []" "$(jq -c '"\(.details.gpu) \(.details.holders)"' -r <<<"$ev")"
expect_match "gpu.recovered: how long it was gone" '^[0-9]+$' "$(jq -r '.details.unhealthy_for_s' <<<"$ev")"
expect_eq "gpu status: slot $sa healthy again" true "$(slot_field "$sa" healthy)"
out=$(ds01 gpu allocate "$uc" "$prefix-c3" 2>&1)
expect_eq "allocate after the recovery ($out)" 0 $?
expect_eq "... gets the GPU that came back" "$sa" "$(slot_of "$prefix-c3")"
expect_eq "$ub's allocation still untouched" "$sb active $prefix-$ub" \
        "$(status_json | jq -r --arg s "$sb" '.slots[] | select(.slot == $s) | "\(.slot) \(.state) \(.container)"')"
out=$(ds01 health 2>&1)
expect_match "ds01 health: the gpus check passes again" 'PASS  gpus ' "$out"

stop_daemon
expect_eq "ds01d exit" 0 $?
echo "test-faults-gpu: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
