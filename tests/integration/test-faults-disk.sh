#!/usr/bin/env bash
# test-faults-disk.sh - the event log's disk fills up (issue 9): a private
# ds01d on h100x8-mig whose log folder is a 1 MiB tmpfs the test mounts, the
# real engine and a real unprivileged user:
#  - with the tmpfs full, GPU allocations and releases (`ds01 gpu
#    allocate/release`, and the user's `docker create --gpus 1` and `docker
#    rm` through the proxy) all succeed, promptly;
#  - ds01_event_log_errors_total rises on /metrics, `ds01 health` fails its
#    event-log check, and the state database still records every event;
#  - once space returns, new events appear in events.jsonl by themselves;
#  - every line of events.jsonl is a whole JSON object (short writes on the
#    full disk were cut off again).
# Needs root (it mounts a tmpfs and creates a user; exits 77 otherwise).
#
# Usage: test-faults-disk.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

if [ "$(id -u)" -ne 0 ]; then
        echo "test-faults-disk: skipped (needs root: it mounts a tmpfs and creates a user)"
        exit 77
fi

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4
# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
export DS01_TEST_DOCKER_SOCKET=/var/run/docker.sock

docker_cli=/usr/bin/docker
image=ds01-test-busybox:latest
prefix=ds01test-$$
u=ds01disk-u$$
psock=$tmp/run/docker.sock
logdir=$tmp/log
events=$logdir/events.jsonl
db="file:$tmp/state/state.db?mode=ro"

D() { "$docker_cli" -H "unix://$DS01_TEST_DOCKER_SOCKET" "$@"; }

cleanup() {
        D ps -aq --filter "name=^$prefix-" | xargs -r "$docker_cli" rm -f >/dev/null 2>&1
        D ps -aq --filter "label=ds01.user=$u" | xargs -r "$docker_cli" rm -f >/dev/null 2>&1
        stop_daemon KILL
        mountpoint -q "$logdir" && { umount "$logdir" || umount -l "$logdir"; }
        id "$u" >/dev/null 2>&1 && userdel -f -r "$u" >/dev/null 2>&1
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$SRC/tests/integration/docker-harness.sh" ensure >"$tmp/harness.log" 2>&1 || {
        cat "$tmp/harness.log" >&2
        echo "test-faults-disk: no Docker engine" >&2
        exit 1
}

# dk ARGS...: the docker CLI as the user through the proxy; sets out, rc, ms
dk() {
        local t0
        t0=$(date +%s%N)
        out=$(timeout -k 5 60 runuser -u "$u" -- env -i PATH=/usr/bin:/bin HOME="/home/$u" \
                "$docker_cli" -H "unix://$psock" "$@" 2>&1 </dev/null)
        rc=$?
        ms=$((($(date +%s%N) - t0) / 1000000))
}
# root's ds01 CLI; sets out, rc, ms
run() {
        local t0
        t0=$(date +%s%N)
        out=$(ds01 "$@" 2>&1)
        rc=$?
        ms=$((($(date +%s%N) - t0) / 1000000))
}
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
db_count() { sqlite3 "$db" "SELECT count(*) FROM events WHERE $1"; }
# whole: every line of events.jsonl is a JSON object and the file ends in a newline
whole() {
        [ ! -s "$events" ] && return 0
        [ -z "$(tail -c 1 "$events")" ] || return 1
        # (jq 1.6 skips a line that fromjson cannot parse without failing: count them)
        [ "$(jq -R -n '[inputs | (try fromjson catch null) | select(type != "object")] | length' \
                "$events" 2>/dev/null)" = 0 ]
}
# cycle N: one GPU allocation and release by root's CLI, one by the proxy
cycle() {
        local n=$1
        run gpu allocate "$u" "$prefix-ctl$n"
        [ "$rc" -eq 0 ] || bad "ds01 gpu allocate ($n): exit $rc: $out"
        [ "$ms" -lt 5000 ] || bad "ds01 gpu allocate ($n) took $ms ms"
        run gpu release "$prefix-ctl$n"
        [ "$rc" -eq 0 ] || bad "ds01 gpu release ($n): exit $rc: $out"
        dk create --name "$prefix-px$n" --gpus 1 "$image" true
        [ "$rc" -eq 0 ] || bad "docker create --gpus 1 ($n): exit $rc: $out"
        [ "$ms" -lt 8000 ] || bad "docker create --gpus 1 ($n) took $ms ms"
        dk rm "$prefix-px$n"
        [ "$rc" -eq 0 ] || bad "docker rm ($n): exit $rc: $out"
        [ "$ms" -lt 8000 ] || bad "docker rm ($n) took $ms ms"
}

useradd --create-home --home-dir "/home/$u" --user-group --shell /bin/sh "$u" || exit 1
chmod 0755 "$tmp"
mkdir -p "$tmp/etc" "$tmp/run" "$logdir"
mount -t tmpfs -o size=1m,mode=0750 "ds01-faults-disk-$$" "$logdir" || {
        bad "cannot mount a tmpfs on $logdir"
        exit 1
}
cat >"$tmp/etc/resource-limits.yaml" <<EOF
defaults:
  max_gpu_equivalents: 2
  max_containers_per_user: 50
enforcement:
  cgroup_driver: cgroupfs
gpu_allocation:
  attach: nvidia_runtime
  wait_s: 5
EOF
start_daemon h100x8-mig || exit 1
chmod 0755 "$tmp/run"
wait_for "ds01d to listen on $psock" 10 test -S "$psock" || exit 1
port=$(cat "$tmp/run/ds01d.port")

# ---- room: events are written -----------------------------------------------------

cycle 0
wait_for "the first events in events.jsonl" 10 grep -qF "$prefix-px0" "$events"
expect_eq "event log errors with room" 0 "$(metric ds01_event_log_errors_total)"

# ---- full --------------------------------------------------------------------------

dd if=/dev/zero of="$logdir/filler" bs=4k status=none 2>/dev/null
expect_eq "the log folder is full" 0 "$(df --output=avail -B1 "$logdir" | tail -n 1 | tr -d ' ')"
size_full=$(stat -c %s "$events")
# The file's last page may still take a few lines: cycle until writes fail
# (each cycle writes at least four events), 40 cycles at most.
n=1
while [ "$(metric ds01_event_log_errors_total)" = 0 ] && [ $n -le 40 ]; do
        cycle $n
        n=$((n + 1))
done
cycle $n # and one more, with the disk surely full
last_full=$n
errors=$(metric ds01_event_log_errors_total)
if [ "${errors:-0}" -gt 0 ]; then ok; else bad "ds01_event_log_errors_total did not rise: [$errors]"; fi
echo "disk full after $last_full cycles: $errors events not written so far"
in_db=$(db_count "type LIKE 'gpu.%' AND container LIKE '$prefix-%'")
in_file=$(grep -F "$prefix-" "$events" | grep -cF '"event_type":"gpu.')
echo "gpu events: $in_db in the database, $in_file in events.jsonl"
if [ "$in_file" -lt "$in_db" ]; then ok; else bad "no event was lost on the full disk ($in_file of $in_db)"; fi
if whole; then ok; else bad "events.jsonl has a broken line while the disk is full: $(tail -c 300 "$events")"; fi
expect_eq "events.jsonl did not grow past the full disk's pages" yes \
        "$([ "$(stat -c %s "$events")" -le $(((size_full / 4096 + 1) * 4096)) ] && echo yes)"
# health says so
run health
if [ "$rc" -ne 0 ] && [[ $out =~ FAIL\ +event\ log\ +.*could\ not\ be\ written ]]; then ok; else
        bad "ds01 health with the log disk full: exit $rc: $(grep -i 'event log' <<<"$out")"
fi
expect_eq "the overview's event log check with the disk full" fail \
        "$(curl -s "http://127.0.0.1:$port/api/v1/overview" | jq -r '.health.checks[] | select(.name == "event log") | .status')"
# the database has every event of the full-disk cycles
expect_eq "gpu.allocated events in the database (proxy)" $((last_full + 1)) \
        "$(db_count "type = 'gpu.allocated' AND container LIKE '$prefix-px%'")"
expect_eq "gpu.allocated events in the database (ds01 gpu allocate)" $((last_full + 1)) \
        "$(db_count "type = 'gpu.allocated' AND container LIKE '$prefix-ctl%'")"
wait_for "the release of the last proxy container in the database" 10 bash -c \
        "[ \"\$(sqlite3 '$db' \"SELECT count(*) FROM events WHERE type = 'gpu.released' AND container = '$prefix-px$last_full'\")\" = 1 ]"
# (a removal Docker's event stream missed is found by the next full pass, 30 s)
wait_for "every allocation released" 40 bash -c \
        "[ -z \"\$(sqlite3 '$db' \"SELECT container FROM allocations WHERE state != 'released'\")\" ]" ||
        echo "left: $(sqlite3 "$db" "SELECT container, state FROM allocations WHERE state != 'released'")" >&2

# ---- room again: logging resumes by itself -----------------------------------------

rm -f "$logdir/filler"
n=$((last_full + 1))
cycle $n
wait_for "new events in events.jsonl after space returned" 10 grep -qF "$prefix-px$n" "$events"
expect_eq "the resumed cycle's gpu.allocated lines" 2 \
        "$(grep -F '"event_type":"gpu.allocated"' "$events" | grep -cE "$prefix-(px|ctl)$n\"")"
if whole; then ok; else bad "events.jsonl has a broken line: $(grep -vn '^{.*}$' "$events" | head -n 3)"; fi
# (an event of the full-disk cycles can still fail just before the filler
# goes, so the count is taken once writing works again)
errors=$(metric ds01_event_log_errors_total)
n=$((n + 1))
cycle $n
wait_for "the next cycle's events in events.jsonl" 10 grep -qF "$prefix-px$n" "$events"
expect_eq "errors stop rising once space is back" "$errors" \
        "$(metric ds01_event_log_errors_total)"
# health passes again: the failure is over (the count stays, in the message)
run health
if [[ $out =~ PASS\ +event\ log\ +writing\ again\;\ [0-9]+\ events\ could\ not\ be\ written\ earlier ]]; then ok; else
        bad "ds01 health once space is back: exit $rc: $(grep -i 'event log' <<<"$out")"
fi
expect_eq "the overview's event log check once space is back" pass \
        "$(curl -s "http://127.0.0.1:$port/api/v1/overview" | jq -r '.health.checks[] | select(.name == "event log") | .status')"
if grep -q "cannot write to .*events.jsonl (disk full?)" "$tmp/ds01d.log"; then ok; else
        bad "ds01d did not log the failing event log"
fi
if grep -q "events are written to .* again" "$tmp/ds01d.log"; then ok; else
        bad "ds01d did not log the recovery"
fi
if kill -0 "$daemon_pid" 2>/dev/null; then ok; else bad "ds01d died"; fi
stop_daemon TERM
expect_eq "ds01d exits 0 on SIGTERM after the full disk" 0 $?

echo "test-faults-disk: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
