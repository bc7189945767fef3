#!/usr/bin/env bash
# test-health.sh - `ds01 health` against a private ds01d and the real Docker
# engine: passes on the test setup (exit 0, "Summary: N passed, 0 failed",
# a health.check event); when Docker cannot be reached (ds01d pointed at a
# socket nobody answers) the docker check fails and the exit status is 2; when
# the state database is damaged on disk the database check fails, exit 1;
# --quiet prints nothing; --json carries every check.
#
# Usage: test-health.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4
# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
export DS01_TEST_DOCKER_SOCKET=/var/run/docker.sock
trap cleanup_daemon EXIT

"$SRC/tests/integration/docker-harness.sh" ensure >/dev/null 2>&1 || {
        echo "test-health: no Docker engine (tests/integration/docker-harness.sh ensure)" >&2
        exit 1
}
driver=$(docker info --format '{{.CgroupDriver}}')
mkdir -p "$tmp/etc"
printf 'enforcement:\n  cgroup_driver: %s\n' "$driver" >"$tmp/etc/resource-limits.yaml"

# 1. all pass
start_daemon a100x4 || exit 1
out=$(ds01 health)
expect_eq "health exit on the test setup" 0 $?
expect_match "summary" 'Summary: [0-9]+ passed, 0 failed$' "$out"
for check in docker "cgroup driver" gpus "state database" "state agrees with Docker" \
        "event log" "disk space" exporter "user slices"; do
        expect_match "check $check passes" "PASS  $check " "$out"
done
expect_eq "--quiet prints nothing" "" "$(ds01 health --quiet)"
expect_eq "--json checks" 0 "$(ds01 health --json | jq '[.checks[] | select(.status == "FAIL")] | length')"
expect_match "health.check event" '"event_type":"health.check"' "$(ds01 events --type health. --json --all | tail -n 1)"

# 2. the database damaged on disk: page 2 onwards of the file and the WAL's
# frames overwritten with garbage (what a failing disk or a stray dd does)
size=$(stat -c %s "$tmp/state/state.db")
dd if=/dev/urandom of="$tmp/state/state.db" bs=4096 seek=1 count=$((size / 4096 + 1)) \
        conv=notrunc status=none
if [ -s "$tmp/state/state.db-wal" ]; then
        wsize=$(stat -c %s "$tmp/state/state.db-wal")
        dd if=/dev/urandom of="$tmp/state/state.db-wal" bs=1 seek=32 count=$((wsize - 32)) \
                conv=notrunc status=none
fi
out=$(ds01 health)
expect_eq "health exit with a damaged database" 1 $?
expect_match "database check fails" 'FAIL  state database +.*state\.db is damaged' "$out"
expect_match "docker still passes" 'PASS  docker ' "$out"
stop_daemon

# 3. Docker unreachable: exit 2, the docker check names the socket
rm -rf "$tmp/state"
start_daemon a100x4 --docker-socket "$tmp/no-docker.sock" || exit 1
out=$(ds01 health)
expect_eq "health exit without Docker" 2 $?
expect_match "docker check fails" "FAIL  docker +cannot reach Docker at $tmp/no-docker.sock" "$out"
expect_match "metrics say docker down" 'ds01_docker_up 0' \
        "$(curl -s "http://127.0.0.1:$(cat "$tmp/run/ds01d.port")/metrics")"
stop_daemon

# 4. ds01d itself down: exit 1 (Docker answers), one clear line
out=$(ds01 health 2>/dev/null)
expect_eq "health exit without ds01d" 1 $?
expect_match "ds01d check fails" 'FAIL  ds01d ' "$out"

# 5. a running container whose cgroup parent is gone fails the slices check
start_daemon a100x4 || exit 1
name=ds01test-$$-slice
if [ -d /sys/fs/cgroup/memory ]; then
        parent=ds01test-$$-parent
        docker run -d --name "$name" --cgroup-parent "/$parent" ds01-test-busybox:latest sleep 300 >/dev/null
        expect_match "slice present" 'PASS  user slices ' "$(ds01 health)"
        docker rm -f "$name" >/dev/null
        for dir in /sys/fs/cgroup/*/"$parent"; do rmdir "$dir" 2>/dev/null; done
fi
stop_daemon

echo "test-health: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
