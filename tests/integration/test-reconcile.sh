#!/usr/bin/env bash
# test-reconcile.sh - ds01d against the real Docker engine (docker.io, started
# by tests/integration/docker-harness.sh when none runs) and the busybox test
# image:
#  - containers created directly on Docker with each owner and type pattern
#    are classified correctly (owner: ds01.user, aime.mlc.USER,
#    devcontainer.local_folder, name._.uid, a bind mount the user owns, not
#    one someone else owns, compose working_dir; type: label, interface,
#    devcontainer, compose, docker);
#  - a container with --gpus device=<uuid> that ds01 did not allocate is
#    unmanaged: in the metrics (promtool stays silent) and one
#    detection.unmanaged_gpu_container event;
#  - removing a container releases its allocation within one event; stopping
#    one holds it.
#
# Usage: test-reconcile.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4
# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
export DS01_TEST_DOCKER_SOCKET=/var/run/docker.sock
prefix=ds01test-$$
user=ds01tr$$
cleanup() {
        docker ps -aq --filter "name=^$prefix-" | xargs -r docker rm -f >/dev/null 2>&1
        docker ps -aq --filter "name=^vsc-$prefix" | xargs -r docker rm -f >/dev/null 2>&1
        docker ps -aq --filter "name=._.$(id -u "$user" 2>/dev/null || echo none)\$" |
                xargs -r docker rm -f >/dev/null 2>&1
        id "$user" >/dev/null 2>&1 && userdel -r "$user" >/dev/null 2>&1
        cleanup_daemon
}
trap cleanup EXIT

"$SRC/tests/integration/docker-harness.sh" ensure >"$tmp.harness" 2>&1 || {
        cat "$tmp.harness" >&2
        echo "test-reconcile: no Docker engine" >&2
        exit 1
}
rm -f "$tmp.harness"
image=ds01-test-busybox:latest

# a real user with a home, a folder they own and one root owns
useradd --create-home --shell /usr/sbin/nologin "$user" || exit 1
uid=$(id -u "$user")
home=/home/$user
install -d -o "$user" "$home/data"
install -d -o root "$home/rootdir"

mkdir -p "$tmp/etc"
cat >"$tmp/etc/resource-limits.yaml" <<'EOF'
defaults:
  allow_full_gpu: true
  max_gpu_equivalents: 4
  gpu_hold_after_stop_h: 1
enforcement:
  cgroup_driver: cgroupfs
EOF
start_daemon a100x4 || exit 1
port=$(cat "$tmp/run/ds01d.port")
db="file:$tmp/state/state.db?mode=ro"

mk() { docker create --name "$@" "$image" sleep 300 >/dev/null || bad "docker create $1"; }
mk "$prefix-label" --label ds01.user=alice --label ds01.container_type=atomic
mk "$prefix-aime" --label aime.mlc.USER=bob
mk "vsc-$prefix-proj" --label "devcontainer.local_folder=$home/proj" \
        --label devcontainer.config_file=/x/.devcontainer.json
mk "work-$$._.$uid"
mk "$prefix-bind" -v "$home/data:/data"
mk "$prefix-rootbind" -v "$home/rootdir:/data"
mk "$prefix-compose" --label com.docker.compose.project=p \
        --label "com.docker.compose.project.working_dir=$home/cproj"
mk "$prefix-api" --label ds01.user=alice --label ds01.interface=api
mk "$prefix-plain"

row() { sqlite3 "$db" "SELECT user || '|' || type FROM containers WHERE name = '$1'"; }
known() { [ -n "$(row "$1")" ]; }
wait_for "the last container to be seen" 20 known "$prefix-plain"
expect_eq "owner by label, type by label" "alice|atomic" "$(row "$prefix-label")"
expect_eq "owner by aime.mlc.USER" "bob|docker" "$(row "$prefix-aime")"
expect_eq "devcontainer: owner by local_folder, type" "$user|devcontainer" "$(row "vsc-$prefix-proj")"
expect_eq "owner by name._.uid" "$user" "$(row "work-$$._.$uid" | cut -d'|' -f1)"
expect_eq "owner by a bind mount the user owns" "$user|docker" "$(row "$prefix-bind")"
expect_eq "a bind mount owned by root proves nothing" "|docker" "$(row "$prefix-rootbind")"
expect_eq "compose: owner by working_dir, type" "$user|compose" "$(row "$prefix-compose")"
expect_eq "type by ds01.interface" "alice|api" "$(row "$prefix-api")"
expect_eq "no owner, plain docker" "|docker" "$(row "$prefix-plain")"

# an unmanaged GPU container: --gpus device=<the UUID of GPU 1>
uuid=$(DS01_NVML_LIBRARY=$FAKENVML DS01_FAKENVML_TOPOLOGY=$SRC/tests/fixtures/topology/a100x4.yaml \
        "$DS01" gpu list --json | jq -r '.gpus[1].uuid')
docker create --name "$prefix-gpu" --label ds01.user=bob --gpus "device=$uuid" "$image" sleep 1 \
        >/dev/null || bad "docker create --gpus"
unmanaged() { grep -q "^ds01_unmanaged_gpu_container{container=\"$prefix-gpu\"" <<<"$(curl -s "http://127.0.0.1:$port/metrics")"; }
wait_for "the unmanaged container in the metrics" 20 unmanaged
m=$(curl -s "http://127.0.0.1:$port/metrics")
expect_match "unmanaged labels" "ds01_unmanaged_gpu_container\\{container=\"$prefix-gpu\",user=\"bob\",gpu_count=\"1\",access_type=\"specific\",running=\"false\"\\} 1" "$m"
expect_match "unmanaged count" 'ds01_unmanaged_gpu_count [1-9]' "$m"
lint=$(promtool check metrics <<<"$m" 2>&1)
expect_eq "promtool with unmanaged containers and events" "" "$lint"
ds01 events --type detection. --json --all >"$tmp/det.json"
expect_eq "one detection event" 1 "$(jq -r "select(.details.name == \"$prefix-gpu\") | .event_type" "$tmp/det.json" | wc -l)"
# a full pass (SIGHUP also reloads) does not announce it again
kill -HUP "$daemon_pid"
wait_for "reload" 10 sh -c "'$DS01' --socket '$tmp/run/ds01.sock' events --type config.reloaded --json --all | grep -q reloaded"
expect_eq "still one detection event" 1 \
        "$(ds01 events --type detection. --json --all | jq -r "select(.details.name == \"$prefix-gpu\") | .event_type" | wc -l)"

# allocations follow their containers: stop → held, start → active, rm → released
ds01 gpu allocate "$user" "$prefix-job" --full >/dev/null || bad "allocate"
docker run -d --name "$prefix-job" --label "ds01.user=$user" "$image" sleep 300 >/dev/null
state() { ds01 gpu status --json | jq -r --arg c "$prefix-job" '[.slots[] | select(.container == $c) | .state] | join(",")'; }
is_state() { [ "$(state)" = "$1" ]; }
expect_eq "running: active" active "$(state)"
docker stop -t 0 "$prefix-job" >/dev/null
wait_for "held after stop" 10 is_state held
docker start "$prefix-job" >/dev/null
wait_for "active after start" 10 is_state active
t0=$(date +%s%N)
docker rm -f "$prefix-job" >/dev/null
wait_for "released after rm" 10 is_state ""
t1=$(date +%s%N)
echo "  released $(( (t1 - t0) / 1000000 )) ms after docker rm returned"
expect_match "gpu.released with the reason" 'container removed' \
        "$(ds01 events --type gpu.released --json --all | tail -n 1)"
expect_match "gpu.held on stop" "$prefix-job" "$(ds01 events --type gpu.held --json --all | tail -n 1)"

# health passes on this setup
ds01 health --quiet
expect_eq "ds01 health exit" 0 $?

# ds01 state check: agrees now; a container labelled with a slot it holds no
# allocation for is a disagreement
"$DS01" state check --state-dir "$tmp/state" >"$tmp/check.out"
expect_eq "state check agrees" 0 $?
docker rm -f "$prefix-gpu" >/dev/null
uuid2=$(DS01_NVML_LIBRARY=$FAKENVML DS01_FAKENVML_TOPOLOGY=$SRC/tests/fixtures/topology/a100x4.yaml \
        "$DS01" gpu list --json | jq -r '.gpus[3].uuid')
docker run -d --name "$prefix-labelled" --label "ds01.user=$user" --label ds01.container_type=atomic \
        --label ds01.gpu.slots=3 --label "ds01.gpu.uuids=$uuid2" \
        --label ds01.gpu.allocated_at=2026-01-30T14:30:00Z "$image" sleep 300 >/dev/null
out=$("$DS01" state check --state-dir "$tmp/state")
expect_eq "state check disagrees" 1 $?
expect_match "the disagreement" "container '$prefix-labelled' \\(user $user\\) is labelled with slot 3 but holds no allocation" "$out"
"$DS01" state rebuild --state-dir "$tmp/state" >/dev/null 2>&1
expect_eq "rebuild refuses while ds01d runs" 1 $?

# the database lost while ds01d is stopped: rebuild restores it from labels
stop_daemon
rm -f "$tmp/state/state.db" "$tmp/state/state.db-wal" "$tmp/state/state.db-shm"
out=$(DS01_NVML_LIBRARY=$FAKENVML DS01_FAKENVML_TOPOLOGY=$SRC/tests/fixtures/topology/a100x4.yaml \
        "$DS01" state rebuild --state-dir "$tmp/state")
expect_eq "rebuild exit" 0 $?
expect_match "rebuild summary" 'rebuilt .*state\.db: 4 slots, 1 allocations' "$out"
expect_eq "rebuilt allocation" "3|$prefix-labelled|$user|active" \
        "$(sqlite3 "$db" "SELECT slot || '|' || container || '|' || user || '|' || state FROM allocations")"
start_daemon a100x4 || exit 1
expect_eq "status after rebuild" "$prefix-labelled" \
        "$(ds01 gpu status --json | jq -r '.slots[] | select(.slot == "3") | .container')"
"$DS01" state check --state-dir "$tmp/state" >/dev/null
expect_eq "state check agrees after rebuild" 0 $?

stop_daemon
expect_eq "ds01d exit" 0 $?
echo "test-reconcile: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
