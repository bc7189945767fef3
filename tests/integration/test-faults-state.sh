#!/usr/bin/env bash
# test-faults-state.sh - the state database lost or damaged while ds01d is
# stopped (issue 9, "faults survived"). Two real users hold GPUs through the
# proxy on a100x4-mixed (idle, UUIDs of this run): running containers on a
# MIG slot and on a full GPU, one created and not started, one stopped (its
# slot held after the stop). Then, with ds01d stopped each time:
#  a. state.db (with -wal, -shm) deleted: `ds01 state rebuild` restores every
#     allocation from the containers' labels; ds01d starts and shows the same
#     allocations (slot, user, container, state) as before; `ds01 state
#     check` agrees; health's database check passes;
#  b. the file truncated to half its size,
#  c. pages in its middle overwritten with garbage (dd conv=notrunc; the
#     allocations table's root page among them),
#  d. an empty file, e. a file that is not SQLite at all:
#     each time ds01d exits non-zero at once (under 10 s) with one line that
#     names the file and `ds01 state rebuild`, leaves the file as it was, and
#     `ds01 state check` refuses it the same way; then `ds01 state rebuild`
#     (which keeps the damaged file aside) brings the same allocations back;
#  f. a container removed while ds01d was down and never recorded in its
#     containers table: the first pass after the start releases its slot.
#
# Needs root (it creates users), jq, curl, setpriv, sqlite3 and the test
# Docker engine (tests/integration/docker-harness.sh); exits 77 when not root.
#
# Usage: test-faults-state.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4

if [ "$(id -u)" -ne 0 ] || ! command -v jq >/dev/null || ! command -v useradd >/dev/null ||
        ! command -v setpriv >/dev/null || ! command -v curl >/dev/null ||
        ! command -v sqlite3 >/dev/null; then
        echo "test-faults-state: skipped (needs root, jq, curl, sqlite3, useradd and setpriv)"
        exit 77
fi

# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
chmod 0755 "$tmp"
export DS01_TEST_DOCKER_SOCKET=/var/run/docker.sock
prefix=ds01test-$$-crashdb
psock=$tmp/run/docker.sock
dbfile=$tmp/state/state.db
db="file:$dbfile?mode=ro"
ua=ds01cs-a-$$
ub=ds01cs-b-$$
created_users=()

cleanup() {
        local u
        docker ps -aq --filter "name=^$prefix-" | xargs -r docker rm -f -v >/dev/null 2>&1
        for u in "${created_users[@]}"; do
                userdel -r "$u" >/dev/null 2>&1
        done
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$SRC/tests/integration/docker-harness.sh" ensure >"$tmp/harness.log" 2>&1 || {
        cat "$tmp/harness.log" >&2
        echo "test-faults-state: no Docker engine" >&2
        exit 1
}
image=${DS01_TEST_DOCKER_IMAGE:-ds01-test-busybox:latest}
for u in "$ua" "$ub"; do
        useradd --create-home --user-group --shell /usr/sbin/nologin "$u" || {
                echo "test-faults-state: cannot create user $u" >&2
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
# udocker USER ARGS...: the docker CLI as USER through the proxy
udocker() {
        local u=$1
        shift
        as "$u" docker -H "unix://$psock" "$@" >"$tmp/udocker.out" 2>&1 ||
                bad "as $u: docker $* failed: $(cat "$tmp/udocker.out")"
}

# a100x4-mixed with every GPU idle and UUIDs of this run (other tests'
# containers on the same engine pin the fixture's)
topo=$tmp/a100x4-idle.yaml
sed -e '/^ *processes:$/d' -e '/^ *- {pid:/d' "$SRC/tests/fixtures/topology/a100x4-mixed.yaml" |
        awk -v p=$$ '/uuid: "(GPU|MIG)-/ { n++; sub(/-[0-9a-f]+"$/, sprintf("-%06x%06x\"", p % 16777216, n)) } { print }' \
                >"$topo"
mkdir -p "$tmp/etc" "$tmp/run"
chmod 0755 "$tmp/run"
cat >"$tmp/etc/resource-limits.yaml" <<EOF
defaults:
  max_gpu_equivalents: 2
  max_gpu_slots_per_container: 1
  allow_full_gpu: true
  max_containers_per_user: 10
  max_cpus: 1
  gpu_hold_after_stop_h: 2
gpu_allocation:
  attach: nvidia_runtime
  wait_s: 0
access_control:
  admin_users: []
  admin_group: ds01cs-no-such-group
enforcement:
  cgroup_driver: cgroupfs
EOF

start_daemon "$topo" || exit 1

# ---- GPUs held by two users' containers, made through the proxy ---------------
udocker "$ua" run -d --name "$prefix-a-mig" --gpus 1 "$image" sleep 600
o=$(as "$ua" curl -sS --unix-socket "$psock" -X POST -H 'Content-Type: application/json' \
        -H 'X-Ds01-Full: 1' -w '\n%{http_code}' \
        --data-binary "$(jq -cn --arg img "$image" '{Image: $img, Cmd: ["sleep", "600"],
                HostConfig: {DeviceRequests: [{Count: 1, Capabilities: [["gpu"]]}]}}')" \
        "http://docker/v1.41/containers/create?name=$prefix-a-full" 2>&1)
expect_eq "a full GPU for $ua (${o%$'\n'*})" 201 "${o##*$'\n'}"
udocker "$ua" start "$prefix-a-full"
udocker "$ub" run -d --name "$prefix-b-run" --gpus 1 "$image" sleep 600
udocker "$ub" create --name "$prefix-b-created" --gpus 1 "$image" sleep 600
udocker "$ub" run -d --name "$prefix-b-stopped" --gpus 1 "$image" sleep 600
udocker "$ub" stop -t 0 "$prefix-b-stopped"

# the allocations as users see them: "slot user container state", sorted
allocs() {
        ds01 gpu status --json | jq -r '.slots[] | select(.user != null) |
                "\(.slot) \(.user) \(.container) \(.state)"' | sort
}
held_after_stop() { allocs | grep -q " $prefix-b-stopped held\$"; }
wait_for "the stopped container's slot held" 20 held_after_stop
before=$(allocs)
expect_eq "five allocations, two users" "5 2" \
        "$(grep -c . <<<"$before") $(awk '{ print $2 }' <<<"$before" | sort -u | grep -c .)"
expect_match "one of them a full GPU" "^0 $ua $prefix-a-full active" "$before"
echo "  before: $(paste -sd';' <<<"$before")"

# rebuild: `ds01 state rebuild` as an admin runs it, NVML the fixture's
rebuild() {
        DS01_NVML_LIBRARY=$FAKENVML DS01_FAKENVML_TOPOLOGY=$topo \
                "$DS01" state rebuild --state-dir "$tmp/state" >"$tmp/rebuild.out" 2>&1
}
# back CASE: rebuild, start ds01d, the same allocations as before
back() {
        local case=$1 out
        rebuild
        expect_eq "$case: ds01 state rebuild ($(paste -sd' ' "$tmp/rebuild.out"))" 0 $?
        expect_match "$case: rebuild summary" "rebuilt .*state\\.db: 13 slots, 5 allocations from [0-9]+ containers" \
                "$(cat "$tmp/rebuild.out")"
        start_daemon "$topo" || exit 1
        out=$(allocs)
        expect_eq "$case: the allocations after the rebuild" "$before" "$out"
        "$DS01" state check --state-dir "$tmp/state" >"$tmp/check.out" 2>&1
        expect_eq "$case: ds01 state check agrees ($(tail -n 2 "$tmp/check.out" | paste -sd' '))" 0 $?
        expect_eq "$case: health's state database check" PASS \
                "$(ds01 health --json | jq -r '.checks[] | select(.check == "state database") | .status')"
        # the stopped container's hold counts from when it stopped, as before
        expect_eq "$case: the hold of the stopped container has an end" 1 \
                "$(sqlite3 "$db" "SELECT count(*) FROM allocations WHERE state = 'held' AND expires > 0")"
        stop_daemon
        expect_eq "$case: ds01d stops cleanly" 0 $?
}
# refused CASE: ds01d will not start on the damaged file: at once, non-zero,
# one line naming the file and the way back; the file is left as found
refused() {
        local case=$1 sum rc t0 lines
        sum=$(sha256sum "$dbfile")
        t0=$SECONDS
        DS01_NVML_LIBRARY=$FAKENVML DS01_FAKENVML_TOPOLOGY=$topo timeout 30 \
                "$DS01D" --config "$tmp/etc/resource-limits.yaml" --state-dir "$tmp/state" \
                --run-dir "$tmp/run" --log-dir "$tmp/log" --listen 127.0.0.1:0 --foreground \
                --docker-socket "$DS01_TEST_DOCKER_SOCKET" >"$tmp/refused.out" 2>&1
        rc=$?
        expect_eq "$case: ds01d's exit status (78: an admin must act; the unit does not restart it)" 78 "$rc"
        if [ $((SECONDS - t0)) -lt 10 ]; then ok; else bad "$case: ds01d took $((SECONDS - t0)) s to give up"; fi
        lines=$(cat "$tmp/refused.out")
        expect_eq "$case: one line ($lines)" 1 "$(grep -c . <<<"$lines")"
        expect_match "$case: the line" "error: state database ${dbfile//./\\.} is damaged \\(.+\\); stop ds01d and run 'ds01 state rebuild --state-dir ${tmp//./\\.}/state', which keeps the file aside and restores the allocations from the containers' labels\$" "$lines"
        echo "  $case: $lines"
        expect_eq "$case: the file left as found" "$sum" "$(sha256sum "$dbfile")"
        expect_eq "$case: nothing listens" "" "$(cat "$tmp/run/ds01d.port" 2>/dev/null)"
        "$DS01" state check --state-dir "$tmp/state" >"$tmp/check.out" 2>&1
        expect_eq "$case: ds01 state check refuses it" 1 $?
        expect_match "$case: ds01 state check says so" "is damaged .*ds01 state rebuild" "$(cat "$tmp/check.out")"
}

stop_daemon
expect_eq "ds01d stops cleanly" 0 $?

# ---- a. deleted ---------------------------------------------------------------------
rm -f "$dbfile" "$dbfile-wal" "$dbfile-shm"
back "deleted"

# ---- b. truncated to half its size ---------------------------------------------------
size=$(stat -c %s "$dbfile")
truncate -s $((size / 2)) "$dbfile"
refused "truncated"
back "truncated"
expect_eq "truncated: the damaged file kept aside" 1 \
        "$(find "$tmp/state" -name 'state.db.before-rebuild-*' ! -name '*-wal' ! -name '*-shm' -size -$((size / 2 + 1))c | grep -c .)"

# ---- c. pages in the middle overwritten ------------------------------------------------
pages=$(($(stat -c %s "$dbfile") / 4096))
root=$(sqlite3 "$db" "SELECT rootpage FROM sqlite_schema WHERE name = 'allocations'")
dd if=/dev/urandom of="$dbfile" bs=4096 seek=$((root - 1)) count=1 conv=notrunc status=none
dd if=/dev/urandom of="$dbfile" bs=4096 seek=$((pages / 3)) count=$((pages / 3 + 1)) conv=notrunc status=none
echo "  garbage on page $root (allocations' root) and pages $((pages / 3 + 1))-$((2 * pages / 3 + 1)) of $pages"
refused "overwritten"
back "overwritten"

# ---- d. empty, e. not SQLite ---------------------------------------------------------
: >"$dbfile"
refused "empty"
back "empty"
printf 'allocations:\n  - slot: 0\n' >"$dbfile"
refused "not SQLite"
back "not SQLite"
expect_eq "every damaged file kept aside" 4 \
        "$(find "$tmp/state" -name 'state.db.before-rebuild-*' ! -name '*-wal' ! -name '*-shm' | grep -c .)"

# ---- f. a container removed before ds01d ever recorded it ------------------------------
# (the soak found it: created, bound and removed within a second under load,
# its events never applied). Its row is deleted and the container removed
# while ds01d is stopped; the first pass after the start must release its
# allocation, bound to an id that neither Docker nor the containers table has.
sqlite3 "$dbfile" "DELETE FROM containers WHERE name = '$prefix-a-mig'"
docker rm -f -v "$prefix-a-mig" >/dev/null
expect_eq "f: the allocation is still in force while ds01d is stopped" 1 \
        "$(sqlite3 "$db" "SELECT count(*) FROM allocations WHERE container = '$prefix-a-mig' AND state <> 'released'")"
start_daemon "$topo" || exit 1
mig_released() { ! allocs | grep -q " $prefix-a-mig "; }
wait_for "f: the removed container's slot released" 20 mig_released
expect_eq "f: the others kept" "$(grep -v " $prefix-a-mig " <<<"$before")" "$(allocs)"
stop_daemon
expect_eq "f: ds01d stops cleanly" 0 $?

echo "test-faults-state: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
