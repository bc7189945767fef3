#!/usr/bin/env bash
# test-alloc-load.sh - ds01d under concurrent allocation, a kill -9 and a
# broken reload, through the real `ds01` CLI and the control socket:
#  1. 200 concurrent `ds01 gpu allocate` calls from 20 users on h100x8-mig
#     (56 slots of 1/7; each user may hold 3/7): exactly 56 granted, no slot
#     twice, nobody above quota, every refusal with a code;
#  2. the same with ds01d killed -9 in the middle: after a restart every
#     acknowledged allocation is there and none is duplicated;
#  3. the queue hands freed slots out by priority, then arrival;
#  4. SIGHUP with a broken config keeps the old one and records
#     config.rejected with file:line:column.
#
# Usage: test-alloc-load.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4
# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
trap cleanup_daemon EXIT

mkdir -p "$tmp/etc" "$tmp/out"
users=$(printf 'u%02d ' $(seq 1 20))
clients=()

# Conditions polled by wait_for (evaluated afresh on every try).
answers_at_least() { [ "$(compgen -G "$tmp/out/*.rc" | wc -l)" -ge "$1" ]; }
acked_at_least() { [ "$(grep -l '^0$' "$tmp"/out/*.rc 2>/dev/null | wc -l)" -ge "$1" ]; }
queue_length_is() { [ "$(ds01 queue list --json | jq '.queue | length')" -eq "$1" ]; }
has_event() { grep -q "\"event_type\":\"$1\"" <<<"$(ds01 events --type "$1" --json --all)"; }
wait_clients() {
        [ ${#clients[@]} -gt 0 ] && wait "${clients[@]}"
        clients=()
}

# write_config STUDENT_MAX_GPU_EQ STUDENT_FULL_GPU
write_config() {
        cat >"$tmp/etc/resource-limits.yaml" <<EOF
defaults:
  max_gpu_equivalents: $1
  max_gpu_slots_per_container: 1
  allow_full_gpu: $2
  max_containers_per_user: 10
default_group: student
groups:
  student:
    priority: 10
    members: [$(echo $users | tr ' ' ',')]
  staff:
    priority: 50
    allow_full_gpu: true
    members: [hi1, hi2]
EOF
}
write_config 0.43 false

# ---- 1. concurrency ---------------------------------------------------------
start_daemon h100x8-mig || exit 1
for u in $users; do
        for c in $(seq 1 10); do
                (ds01 gpu allocate "$u" "$u-c$c" --json >"$tmp/out/$u-c$c.json" 2>"$tmp/out/$u-c$c.err"
                 echo $? >"$tmp/out/$u-c$c.rc") &
                clients+=($!)
        done
done
wait_clients
wait_for "200 answers" 10 answers_at_least 200
# slots with a process on them (the fixture's) are not free: someone else's
free_slots=$(DS01_NVML_LIBRARY=$FAKENVML DS01_FAKENVML_TOPOLOGY=$SRC/tests/fixtures/topology/h100x8-mig.yaml \
        "$DS01" gpu list --json | jq '[.gpus[].slots[] | select(.processes | length == 0)] | length')
[ "$free_slots" -ge 40 ] && [ "$free_slots" -le 56 ] && ok || bad "free slots in the fixture: $free_slots"
granted=$(grep -l '^0$' "$tmp"/out/*.rc | wc -l)
expect_eq "granted allocations (every free slot)" "$free_slots" "$granted"
refused=$(grep -l '^1$' "$tmp"/out/*.rc | wc -l)
expect_eq "refused allocations" $((200 - free_slots)) "$refused"
# every refusal carries an allocator code
codes=$(for f in "$tmp"/out/*.rc; do
        [ "$(cat "$f")" = 1 ] && jq -r '.error // "NONE"' "${f%.rc}.json"
done | sort | uniq -c | awk '{print $2}' | tr '\n' ' ')
expect_match "refusal codes" '^(NO_CAPACITY |USER_AT_LIMIT )+$' "$codes"
# no slot twice among the acknowledged answers
dups=$(for f in "$tmp"/out/*.rc; do
        [ "$(cat "$f")" = 0 ] && jq -r '.slots[].slot' "${f%.rc}.json"
done | sort | uniq -d | wc -l)
expect_eq "slots granted twice" 0 "$dups"
# nobody above quota (3 slots of 1/7 = 0.4286 <= 0.43)
over=$(for f in "$tmp"/out/*.rc; do
        [ "$(cat "$f")" = 0 ] && jq -r '.user' "${f%.rc}.json"
done | sort | uniq -c | awk '$1 > 3' | wc -l)
expect_eq "users above quota" 0 "$over"
status=$(ds01 gpu status --json)
expect_eq "status: allocated" "$free_slots" "$(jq .slots_allocated <<<"$status")"
expect_eq "status: users' sums within quota" 0 \
        "$(jq '[.slots[] | select(.user) | {user, w: .gpu_equivalents}] | group_by(.user) |
                map(select((map(.w) | add) > 0.43 + 1e-9)) | length' <<<"$status")"
expect_eq "status: distinct containers" "$free_slots" \
        "$(jq '[.slots[] | select(.container) | .container] | unique | length' <<<"$status")"
# the database agrees: no slot with two allocations in force
expect_eq "database: double allocations" "" \
        "$(sqlite3 "file:$tmp/state/state.db?mode=ro" \
                "SELECT slot FROM allocations WHERE state <> 'released' GROUP BY slot HAVING count(*) > 1")"
# asking again is idempotent
again=$(ds01 gpu allocate u01 u01-c1 --json)
first=$(cat "$tmp/out/u01-c1.json")
if [ "$(cat "$tmp/out/u01-c1.rc")" = 0 ]; then
        expect_eq "idempotent slot" "$(jq -r '.slots[0].slot' <<<"$first")" "$(jq -r '.slots[0].slot' <<<"$again")"
        expect_eq "idempotent flag" true "$(jq -r .existing <<<"$again")"
else
        ok
        ok
fi
stop_daemon
expect_eq "SIGTERM exit status" 0 $?

# ---- 2. kill -9 in the middle -------------------------------------------------
rm -rf "$tmp/state" "$tmp/out" "$tmp/run"
mkdir -p "$tmp/out"
start_daemon h100x8-mig || exit 1
for u in $users; do
        for c in $(seq 1 10); do
                (ds01 gpu allocate "$u" "$u-k$c" --json >"$tmp/out/$u-k$c.json" 2>"$tmp/out/$u-k$c.err"
                 echo $? >"$tmp/out/$u-k$c.rc") &
                clients+=($!)
        done
done
# kill it once a good part has been answered
wait_for "20 grants before the kill" 60 acked_at_least 20
kill -KILL "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
daemon_pid=
wait_clients
acked=$(grep -l '^0$' "$tmp"/out/*.rc | wc -l)
[ "$acked" -ge 20 ] && ok || bad "expected >= 20 acknowledged before the kill, got $acked"
start_daemon h100x8-mig || exit 1
status=$(ds01 gpu status --json)
missing=0
for f in $(grep -l '^0$' "$tmp"/out/*.rc); do
        j=${f%.rc}.json
        c=$(jq -r .container "$j")
        s=$(jq -r '.slots[0].slot' "$j")
        holder=$(jq -r --arg s "$s" '.slots[] | select(.slot == $s) | .container' <<<"$status")
        [ "$holder" = "$c" ] || { missing=$((missing + 1)); echo "lost: $c on $s (now: $holder)" >&2; }
done
expect_eq "acknowledged allocations lost by kill -9" 0 "$missing"
expect_eq "database after kill: double allocations" "" \
        "$(sqlite3 "file:$tmp/state/state.db?mode=ro" \
                "SELECT slot FROM allocations WHERE state <> 'released' GROUP BY slot HAVING count(*) > 1")"
expect_eq "database after kill: containers on two slots" "" \
        "$(sqlite3 "file:$tmp/state/state.db?mode=ro" \
                "SELECT container FROM allocations WHERE state <> 'released' GROUP BY container HAVING count(*) > 1")"
expect_eq "database after kill: quick_check" ok \
        "$(sqlite3 "file:$tmp/state/state.db?mode=ro" "PRAGMA quick_check")"
stop_daemon

# ---- 3. queue order: priority, then arrival -----------------------------------
rm -rf "$tmp/state" "$tmp/out" "$tmp/run"
mkdir -p "$tmp/out"
write_config 1 true
# one idle GPU (the shipped fixtures have processes on some slots)
cat >"$tmp/etc/one-gpu.yaml" <<'EOF'
gpus:
  - name: NVIDIA H100 80GB HBM3
    architecture: hopper
    memory_total_mib: 81559
EOF
start_daemon "$tmp/etc/one-gpu.yaml" || exit 1
ds01 gpu allocate hi2 holder --full --json >/dev/null
expect_eq "holder has the only GPU" 1 "$(ds01 gpu status --json | jq .slots_allocated)"
queued=0
for who in u01 hi1 u02; do
        (ds01 gpu allocate "$who" "q-$who" --full --wait=60 --json >"$tmp/out/q-$who.json"
         echo $? >"$tmp/out/q-$who.rc") &
        clients+=($!)
        queued=$((queued + 1))
        wait_for "$who in the queue" 20 queue_length_is "$queued"
done
expect_eq "queue order (priority, then arrival)" "hi1 u01 u02" \
        "$(ds01 queue list --json | jq -r '[.queue[].user] | join(" ")')"
expect_eq "queue positions" "1 2 3" \
        "$(ds01 queue list --json | jq -r '[.queue[].position | tostring] | join(" ")')"
for pair in "holder hi1" "q-hi1 u01" "q-u01 u02"; do
        set -- $pair
        ds01 gpu release "$1" >/dev/null
        wait_for "$2 granted" 20 test -s "$tmp/out/q-$2.rc"
        expect_eq "$2 exit" 0 "$(cat "$tmp/out/q-$2.rc")"
        expect_eq "$2 slot" 0 "$(jq -r '.slots[0].slot' "$tmp/out/q-$2.json")"
done
wait_clients
expect_eq "queue.granted order" "hi1 u01 u02" \
        "$(ds01 events --type queue.granted --json --all | jq -r .user | tr '\n' ' ' | sed 's/ $//')"
expect_eq "queue empty" 0 "$(ds01 queue list --json | jq '.queue | length')"

# ---- 4. SIGHUP with a broken config -------------------------------------------
limit() { ds01 gpu user-status u01 --json | jq -r .gpu_equivalents_limit; }
expect_eq "student limit before" 1 "$(limit)"
printf 'defaults:\n  max_gpu_equivalents: [1\n' >"$tmp/etc/resource-limits.yaml"
kill -HUP "$daemon_pid"
wait_for "config.rejected" 20 has_event config.rejected
expect_match "config.rejected names the place" 'resource-limits\.yaml:[0-9]+:[0-9]+' \
        "$(ds01 events --type config.rejected --json --all | tail -n 1)"
expect_eq "old config in force after a broken reload" 1 "$(limit)"
expect_eq "daemon still serves" 1 "$(ds01 gpu status --json | jq .slots_total)"
write_config 0.5 true
kill -HUP "$daemon_pid"
wait_for "config.reloaded" 20 has_event config.reloaded
expect_eq "new config in force" 0.5 "$(limit)"
stop_daemon
expect_eq "exit status after reloads" 0 $?

# events.jsonl lines are in the record format, exactly
bad_lines=$(grep -cvE '^\{"timestamp":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z","event_type":"[a-z0-9_]+(\.[a-z0-9_]+)+","schema_version":"1"(,"user":"[^"]*")?(,"source":"[^"]*")?(,"details":\{.*\})?\}$' "$tmp/log/events.jsonl")
expect_eq "events.jsonl lines not in the record format" 0 "$bad_lines"

echo "test-alloc-load: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
