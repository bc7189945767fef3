#!/usr/bin/env bash
# test-control.sh - the control API end to end: a private ds01d on the fake
# NVML library (a100x4-mixed: 13 slots), driven by the ds01 commands as root
# (an admin) and as two real unprivileged users created for the test:
#  - gpu status / allocate / release / user-status, text and --json;
#  - refusals with their codes: FULL_GPU_NOT_ALLOWED, EXCEEDS_CONTAINER_LIMIT,
#    USER_AT_LIMIT, NO_CAPACITY; an idempotent re-allocation;
#  - what non-admins may not do (403 -> exit 1 with a clear message), and a
#    socket they cannot reach;
#  - the queue: a waiting allocate granted by a release, a cancelled one;
#  - reservations: add, list, remove;
#  - events: filters, --summary, --follow, --json lines byte for byte as in
#    events.jsonl, import of old and new records in batches;
#  - usage errors (exit 2) and help;
#  - SIGTERM: the daemon exits 0.
# Needs root (it creates users) and jq; exits 77 (skipped) without them.
#
# Usage: test-control.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

ds01=$1
ds01d=$2
fake=$3
src=$4
# Users of this run only (a name per process, so that two runs never share or
# delete each other's users).
alice=ds01t-alice-$$
bob=ds01t-bob-$$
users=("$alice" "$bob")

if [ "$(id -u)" -ne 0 ] || ! command -v jq >/dev/null || ! command -v useradd >/dev/null ||
        ! command -v setpriv >/dev/null; then
        echo "test-control: skipped (needs root, jq, useradd and setpriv)"
        exit 77
fi

tmp=$(mktemp -d /tmp/ds01-test-control-XXXXXX)
daemon=
bg_pids=()
created=()
cleanup() {
        for p in "${bg_pids[@]}"; do
                kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
        done
        if [ -n "$daemon" ]; then
                kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        fi
        for u in "${created[@]}"; do
                userdel "$u" >/dev/null 2>&1
        done
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
        fail=$((fail + 1))
        echo "FAIL: $*" >&2
}
expect_eq() { if [ "$2" == "$3" ]; then ok; else bad "$1: expected [$2], got [$3]"; fi; }
expect_match() { if [[ $3 =~ $2 ]]; then ok; else bad "$1: [$3] does not match [$2]"; fi; }
expect_no_match() { if [[ $3 =~ $2 ]]; then bad "$1: [$3] matches [$2]"; else ok; fi; }
# run CMD...: sets out, err, rc
run() {
        out=$("$@" 2>"$tmp/err")
        rc=$?
        err=$(cat "$tmp/err")
}
# as USER CMD...: run CMD as USER (real and effective ids, its groups)
as() {
        local u=$1
        shift
        run setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"
}
# until_true SECONDS CMD...: polls CMD every 0.05 s; 0 once it succeeds
until_true() {
        local n=$(($1 * 20))
        shift
        for _ in $(seq 1 "$n"); do
                "$@" && return 0
                sleep 0.05
        done
        return 1
}
# wait_exit PID SECONDS: waits for a background job; sets wrc (124 if it hung)
wait_exit() {
        if until_true "$2" eval "! kill -0 $1 2>/dev/null"; then
                wait "$1"
                wrc=$?
        else
                kill "$1" 2>/dev/null
                wait "$1" 2>/dev/null
                wrc=124
        fi
}
queue_len() { "$ds01" queue --json | jq '.queue | length'; }
queue_is() { [ "$(queue_len)" = "$1" ]; }

# ---- the configuration and the users ----------------------------------------
chmod 0755 "$tmp"
mkdir -p "$tmp/config/groups" "$tmp/state" "$tmp/run" "$tmp/log"
chmod 0755 "$tmp/run"
cat >"$tmp/config/resource-limits.yaml" <<'YAML'
defaults:
  max_gpu_equivalents: 1
  max_gpu_slots_per_container: 1
  allow_full_gpu: false
  max_containers_per_user: 3
default_group: student
groups:
  student:
    max_gpu_equivalents: 0.3        # two 1g slices (0.143 each), not three
    allow_full_gpu: false
  filler:
    max_gpu_equivalents: null       # takes whatever is free
    max_gpu_slots_per_container: null
    allow_full_gpu: true
    max_containers_per_user: 10
gpu_allocation:
  allow_multi_mig: true             # so that the filler's --count all takes every slice
access_control:
  admin_users: []
  admin_group: ds01t-no-such-group
YAML
printf '%s\n' "$alice" "$bob" >"$tmp/config/groups/student.members"
printf '%s\n' ds01t-filler >"$tmp/config/groups/filler.members"
run "$ds01" config check "$tmp/config/resource-limits.yaml"
expect_eq "test config is valid" 0 "$rc"

created=()
for u in "${users[@]}"; do
        if ! useradd --no-create-home --user-group --shell /usr/sbin/nologin "$u"; then
                echo "test-control: cannot create user $u" >&2
                exit 1
        fi
        created+=("$u")
done

# ---- start a private daemon ---------------------------------------------------
sock=$tmp/run/ds01.sock
DS01_NVML_LIBRARY=$fake DS01_FAKENVML_TOPOLOGY=$src/tests/fixtures/topology/a100x4-mixed.yaml \
        "$ds01d" --config "$tmp/config/resource-limits.yaml" --state-dir "$tmp/state" \
        --run-dir "$tmp/run" --log-dir "$tmp/log" --listen 127.0.0.1:0 --foreground \
        >"$tmp/ds01d.log" 2>&1 &
daemon=$!
if ! until_true 10 test -S "$sock" -a -s "$tmp/run/ds01d.port"; then
        echo "test-control: ds01d did not start; its log:" >&2
        cat "$tmp/ds01d.log" >&2
        exit 1
fi
ok
export DS01_SOCKET=$sock

# ---- no daemon there -------------------------------------------------------------
run "$ds01" --socket "$tmp/nowhere.sock" gpu status
expect_eq "missing socket exit" 1 "$rc"
expect_eq "missing socket message" "ds01: cannot reach ds01d at $tmp/nowhere.sock: No such file or directory (is the daemon running? systemctl status ds01d)" "$err"
run env -u DS01_SOCKET "$ds01" --socket "$tmp/config/resource-limits.yaml" queue
expect_eq "not a socket exit" 1 "$rc"
expect_match "not a socket message" "it is not a socket" "$err"

# ---- gpu status on an idle server ---------------------------------------------
run "$ds01" gpu status
expect_eq "status exit" 0 "$rc"
expect_eq "status first line" "GPU Status: 0/13 slots allocated (0%)" "$(head -n 1 <<<"$out")"
expect_match "status header" $'\nSLOT +STATE +USER +CONTAINER +SINCE +GPU-EQ\n' "$out"
expect_match "status free row" $'\n1\\.4 +free +- +- +- +0\\.143\n' "$out"
expect_match "status free line" $'\nFree: 13 slots \\(3\\.714 GPU-equivalents\\)\n' "$out"
expect_match "status queue line" $'\nQueue: 0 waiting$' "$out"
run env -u DS01_SOCKET "$ds01" --socket "$sock" gpu status --json
expect_eq "status --json (--socket)" "13 13 0" "$(jq -r '"\(.slots_total) \(.slots | length) \(.slots_allocated)"' <<<"$out")"
as $bob "$ds01" gpu status
expect_eq "status as a user" "GPU Status: 0/13 slots allocated (0%)" "$(head -n 1 <<<"$out")"

# ---- allocate, refusals, idempotence --------------------------------------------
run "$ds01" gpu allocate $alice a-1
expect_eq "allocate exit" 0 "$rc"
expect_match "allocate line" "^allocated 1\.[0-6] \(MIG-[0-9a-f-]{36}\) to a-1 for $alice: 0\.143 GPU-equivalents$" "$out"
slot_a1=$(sed -E 's/^allocated ([0-9.]+) .*/\1/' <<<"$out")
run "$ds01" gpu allocate $alice a-1 --json
expect_eq "re-allocate exit" 0 "$rc"
expect_eq "re-allocate same slot, existing" "$slot_a1 true" "$(jq -r '"\(.slots[0].slot) \(.existing)"' <<<"$out")"
run "$ds01" gpu allocate $alice a-1
expect_match "re-allocate text" "^allocated $slot_a1 .*"$'\n'"a-1 already held this slot; nothing changed$" "$out"

run "$ds01" gpu allocate $alice a-2 --full --json
expect_eq "full GPU refused exit" 1 "$rc"
expect_eq "full GPU refused code" "FULL_GPU_NOT_ALLOWED" "$(jq -r .error <<<"$out")"
expect_match "full GPU refused message" "^ds01: [a-z].*full GPU" "$err"
run "$ds01" gpu allocate $alice a-2 --count 2 --json
expect_eq "two slots refused exit" 1 "$rc"
expect_eq "two slots refused code" "EXCEEDS_CONTAINER_LIMIT" "$(jq -r .error <<<"$out")"
run "$ds01" gpu allocate $alice a-2 --interface orchestration
expect_eq "second slice exit" 0 "$rc"
run "$ds01" gpu allocate $alice a-3
expect_eq "over quota exit" 1 "$rc"
expect_eq "over quota prints nothing on stdout" "" "$out"
expect_match "over quota message" "^ds01: .*GPU-equivalents" "$err"
run "$ds01" gpu allocate $alice a-3 --json
expect_eq "over quota code" "USER_AT_LIMIT" "$(jq -r .error <<<"$out")"

run "$ds01" gpu status
expect_eq "status after allocations" "GPU Status: 2/13 slots allocated (15%)" "$(head -n 1 <<<"$out")"
expect_match "status active row" $'\n'"${slot_a1//./\\.} +active +$alice +a-1 +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} +0\\.143"$'\n' "$out"
expect_match "status free after" $'\nFree: 11 slots \\(3\\.429 GPU-equivalents\\)\n' "$out"

# ---- user-status -----------------------------------------------------------------
as $alice "$ds01" gpu user-status
expect_eq "user-status (me) exit" 0 "$rc"
expect_match "user-status header" "^$alice: group student" "$out"
expect_match "user-status quota" "GPU-equivalents +0\.286 of 0\.300 GPU-equivalents" "$out"
expect_match "user-status containers" "containers +2 of 3" "$out"
expect_match "user-status slot row" "${slot_a1//./\\.} +a-1 +active" "$out"
as $alice "$ds01" gpu user-status --json
expect_eq "user-status --json" "$alice 286 2 2" \
        "$(jq -r '"\(.user) \(.gpu_equivalents_used * 1000 | round) \(.containers) \(.allocations | length)"' <<<"$out")"
as $alice "$ds01" gpu user-status $bob
expect_eq "another user's status exit" 1 "$rc"
expect_match "another user's status message" "^ds01: you may only see your own status" "$err"
run "$ds01" gpu user-status $bob
expect_eq "admin sees bob's status" 0 "$rc"
expect_match "bob has nothing" "GPU-equivalents +0\.000 of 0\.300" "$out"
run "$ds01" gpu user-status ds01t-filler
expect_match "unlimited quota" "GPU-equivalents +0\.000 GPU-equivalents \(unlimited\)" "$out"

# ---- what users may not do -------------------------------------------------------
as $alice "$ds01" gpu allocate $alice x-1
expect_eq "user allocate exit" 1 "$rc"
expect_match "user allocate message" "^ds01: only admins and ds01.s own tools may allocate GPUs directly; ask an admin$" "$err"
as $alice "$ds01" events --user $bob
expect_eq "other user's events exit" 1 "$rc"
expect_match "other user's events message" "^ds01: you may only see your own events" "$err"
as $bob "$ds01" gpu release a-1
expect_eq "release someone else's exit" 1 "$rc"
expect_match "release someone else's message" "^ds01: container 'a-1' is not yours" "$err"
as $alice "$ds01" reserve add --user $alice --count 1 --from now --to "@$(($(date +%s) + 60))"
expect_eq "user reserve add exit" 1 "$rc"
chmod 0700 "$tmp/run"
as $alice "$ds01" gpu status
expect_eq "unreachable socket exit" 1 "$rc"
expect_match "unreachable socket message" "^ds01: cannot reach ds01d at .*: Permission denied" "$err"
chmod 0755 "$tmp/run"

# ---- release -------------------------------------------------------------------
as $alice "$ds01" gpu release a-2
expect_eq "owner release exit" 0 "$rc"
expect_match "owner release line" "^released 1\.[0-6] from a-2$" "$out"
run "$ds01" gpu release a-2
expect_eq "release again exit" 1 "$rc"
expect_match "release again message" "^ds01: container 'a-2' holds no GPU" "$err"
run "$ds01" gpu release a-1 --json
expect_eq "admin release --json" "a-1 $slot_a1" "$(jq -r '"\(.container) \(.released | join(","))"' <<<"$out")"

# ---- the queue: a waiting allocate, granted by a release -----------------------
run "$ds01" gpu allocate ds01t-filler fill-1 --count all --json
expect_eq "filler takes what is free" 0 "$rc"
run "$ds01" gpu allocate $bob b-1 --json
expect_eq "nothing free exit" 1 "$rc"
expect_eq "nothing free code" "NO_CAPACITY" "$(jq -r .error <<<"$out")"
"$ds01" gpu allocate $bob b-1 --wait=60 --json >"$tmp/wait1.out" 2>"$tmp/wait1.err" &
waiter=$!
bg_pids+=("$waiter")
if until_true 10 queue_is 1; then ok; else bad "the waiter did not join the queue"; fi
run "$ds01" queue
expect_match "queue list row" $'\n1 +[0-9]+ +'"$bob"' +b-1 +1 +no ' "$out"
run "$ds01" queue list --json
expect_eq "queue --json" "$bob b-1 1 waiting" "$(jq -r '.queue[0] | "\(.user) \(.container) \(.position) \(.state)"' <<<"$out")"
as $bob "$ds01" queue
expect_match "bob sees his entry" "$bob +b-1" "$out"
as $alice "$ds01" queue
expect_eq "alice sees none" "the queue is empty" "$out"
run "$ds01" gpu status
expect_match "status queue length" $'\nQueue: 1 waiting$' "$out"
run "$ds01" gpu release fill-1
expect_eq "release grants the waiter" 0 "$rc"
wait_exit "$waiter" 15
expect_eq "waiter exit" 0 "$wrc"
expect_eq "waiter got one slot" "b-1 1" "$(jq -r '"\(.container) \(.slots | length)"' "$tmp/wait1.out" 2>/dev/null)"
expect_eq "queue empty again" 0 "$(queue_len)"

# ---- queue cancel --------------------------------------------------------------
"$ds01" gpu allocate ds01t-filler fill-2 --count all >/dev/null
"$ds01" gpu allocate $bob b-2 --wait >"$tmp/wait2.out" 2>"$tmp/wait2.err" &
waiter=$!
bg_pids+=("$waiter")
if until_true 10 queue_is 1; then ok; else bad "the second waiter did not join the queue"; fi
qid=$("$ds01" queue --json | jq '.queue[0].id')
as $alice "$ds01" queue cancel "$qid"
expect_eq "cancel someone else's entry exit" 1 "$rc"
as $bob "$ds01" queue cancel "$qid"
expect_eq "cancel own entry exit" 0 "$rc"
expect_eq "cancel own entry line" "removed queue entry $qid" "$out"
wait_exit "$waiter" 15
expect_eq "cancelled waiter exit" 1 "$wrc"
expect_match "cancelled waiter message" "^ds01: .*removed from the queue" "$(cat "$tmp/wait2.err")"
run "$ds01" queue cancel 9999
expect_eq "cancel unknown entry exit" 1 "$rc"
"$ds01" gpu release fill-2 >/dev/null
"$ds01" gpu release b-1 >/dev/null

# ---- reservations -----------------------------------------------------------------
now=$(date +%s)
run "$ds01" reserve add --user $alice --count 1 --from "1 hour ago" --to "@$((now + 3600))" --reason "thesis deadline"
expect_eq "reserve add exit" 0 "$rc"
expect_match "reserve add line" "^reservation [0-9]+: slot 0 for user $alice from [0-9-]+ [0-9:]+ to [0-9-]+ [0-9:]+ UTC \(thesis deadline\)$" "$out"
rid1=$(sed -E 's/^reservation ([0-9]+):.*/\1/' <<<"$out")
run "$ds01" reserve add --group student --slots 3.0,2.1 --from today --to 2099-01-01 --json
expect_eq "reserve add --json exit" 0 "$rc"
expect_eq "reserve add --json" "student 3.0,2.1 true admin" "$(jq -r '"\(.group) \(.slots | join(",")) \(.active) \(.source)"' <<<"$out")"
rid2=$(jq .id <<<"$out")
as $bob "$ds01" reserve list
expect_eq "reserve list as a user exit" 0 "$rc"
expect_match "reserve list user row" "$rid1 +user:$alice +0 +.*yes +admin +thesis deadline" "$out"
expect_match "reserve list group row" "$rid2 +group:student +3\.0,2\.1 " "$out"
run "$ds01" reserve list --json
expect_eq "reserve list --json" 2 "$(jq '.reservations | length' <<<"$out")"
run "$ds01" gpu status
expect_match "status shows the reservation" $'\n0 +free .* reserved for user:'"$alice"$'\n' "$out"
as $alice "$ds01" reserve remove "$rid1"
expect_eq "user reserve remove exit" 1 "$rc"
expect_match "user reserve remove message" "^ds01: only admins" "$err"
run "$ds01" reserve remove "$rid1"
expect_eq "reserve remove exit" 0 "$rc"
expect_eq "reserve remove line" "removed reservation $rid1" "$out"
run "$ds01" reserve remove "$rid1"
expect_eq "reserve remove again exit" 1 "$rc"
run "$ds01" reserve remove "$rid2"
expect_eq "reserve list empty" "no reservations" "$("$ds01" reserve list)"

# ---- events -----------------------------------------------------------------------
# The record format of events.jsonl, exactly: key order, compact, no empty keys.
record_re='^\{"timestamp":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z","event_type":"[a-z0-9_]+(\.[a-z0-9_]+)+","schema_version":"1"(,"user":"[^"]+")?(,"source":"[^"]+")?(,"details":\{.+\})?\}$'
run "$ds01" events --since "1 hour ago" --type gpu. --json
expect_eq "events gpu. --json exit" 0 "$rc"
n=0
while IFS= read -r line; do
        n=$((n + 1))
        expect_match "events --json line $n" "$record_re" "$line"
        expect_match "events --json line $n type" '"event_type":"gpu\.' "$line"
        if grep -qxF -- "$line" "$tmp/log/events.jsonl"; then ok; else bad "line $n is not in events.jsonl: $line"; fi
done <<<"$out"
[ "$n" -ge 5 ] && ok || bad "events gpu. --json: expected at least 5 lines, got $n"
for t in gpu.allocated gpu.rejected gpu.released; do
        expect_match "events has $t" "\"event_type\":\"$t\"" "$out"
done
expect_no_match "events gpu. has no queue events" '"event_type":"queue\.' "$out"
run "$ds01" events --all --json
expect_eq "events --all --json = events.jsonl" "$(cat "$tmp/log/events.jsonl")" "$out"
run "$ds01" events --type queue. --json
for t in queue.joined queue.granted queue.left; do
        expect_match "events has $t" "\"event_type\":\"$t\"" "$out"
done
run "$ds01" events --type reservation. --all
expect_eq "reservation events" 4 "$(wc -l <<<"$out")"
run "$ds01" events --user $alice --json --all
expect_eq "events --user" "$alice" "$(jq -r .user <<<"$out" | sort -u)"
run "$ds01" events --container a-1 --all
expect_match "events --container text" "^[0-9T:.-]+Z  gpu\.[a-z]+ +$alice +container=a-1 " "$out"
expect_eq "events --container only a-1" "" "$(grep -v 'container=a-1' <<<"$out")"
run "$ds01" events --limit 3
expect_eq "events --limit 3" 3 "$(wc -l <<<"$out")"
expect_eq "events oldest first" "$(sort <<<"$out")" "$out"
run "$ds01" events --since yesterday --until "2 hours ago"
expect_eq "events in an empty window exit" 0 "$rc"
expect_eq "events in an empty window" "" "$out"
as $alice "$ds01" events --json --all
expect_eq "a user sees only their events" "$alice" "$(jq -r .user <<<"$out" | sort -u)"
run "$ds01" events --summary --type gpu.
expect_match "summary header" "^[0-9]+ events from " "$out"
expect_match "summary by type" $'\nBy type:\n  gpu\\.' "$out"
expect_match "summary by user" $'\nBy user:\n' "$out"
run "$ds01" events --summary --json
expect_eq "summary --json" "true" "$(jq --arg bob "$bob" '.by_type["gpu.allocated"] >= 3 and .by_user[$bob] >= 1' <<<"$out")"

# --follow: prints what comes, Ctrl-C ends it with exit 0
"$ds01" events --follow --type gpu.allocated --limit 1 >"$tmp/follow.out" 2>"$tmp/follow.err" &
follower=$!
bg_pids+=("$follower")
sleep 0.3
"$ds01" gpu allocate $bob follow-1 >/dev/null
if until_true 10 grep -q "container=follow-1" "$tmp/follow.out"; then ok; else bad "--follow did not print the new event"; fi
kill -INT "$follower"
wait_exit "$follower" 5
expect_eq "--follow exit after SIGINT" 0 "$wrc"
expect_eq "--follow lines" 2 "$(wc -l <"$tmp/follow.out")"
"$ds01" gpu release follow-1 >/dev/null

# ---- events import ----------------------------------------------------------------
sed "s/@ALICE@/$alice/g; s/@BOB@/$bob/g" >"$tmp/import.jsonl" <<'JSONL'
{"timestamp":"2025-03-01T09:00:00.250000Z","event_type":"gpu.allocated","schema_version":"1","user":"@ALICE@","source":"ds01-old","details":{"container":"old-2","gpu":"1.2"}}
{"ts":"2024-06-01T10:00:00Z","event":"gpu_allocated","user":"@ALICE@","container":"old-1","gpu":"0"}
this is not JSON

{"ts":"2024-06-01T12:00:00Z","event":"gpu_released","user":"@BOB@","container":"old-3"}
JSONL
run "$ds01" events import "$tmp/import.jsonl"
expect_eq "import exit" 0 "$rc"
expect_eq "import line" "imported 3 events, skipped 1 (first error: line 3: not an event record (JSON with timestamp and event_type, or ts and event))" "$out"
run "$ds01" events --container old-1 --json
expect_eq "old record imported" '{"timestamp":"2024-06-01T10:00:00.000000Z","event_type":"gpu_allocated","schema_version":"1","user":"'"$alice"'","details":{"container":"old-1","gpu":"0"}}' "$out"
run "$ds01" events --container old-2 --json
expect_eq "current record imported" "$(head -n 1 "$tmp/import.jsonl")" "$out"
run "$ds01" events --since 2024-01-01 --until 2025-12-31 --all
expect_eq "imported window" 3 "$(wc -l <<<"$out")"
as $alice "$ds01" events import "$tmp/import.jsonl"
expect_eq "user import exit" 1 "$rc"
expect_match "user import message" "^ds01: only admins may import" "$err"
# 2500 lines: three batches; the line number of an error is the file's.
for i in $(seq 1 2500); do
        if [ "$i" -eq 1500 ]; then
                echo '{"ts":"2023-01-01T00:00:00Z"}'
        else
                printf '{"ts":"2023-01-01T00:%02d:%02dZ","event":"bulk.test","user":"bulk","n":%d}\n' \
                        $((i / 60 % 60)) $((i % 60)) "$i"
        fi
done >"$tmp/bulk.jsonl"
run "$ds01" events import "$tmp/bulk.jsonl" --json
expect_eq "bulk import" "2499 1" "$(jq -r '"\(.imported) \(.skipped)"' <<<"$out")"
expect_match "bulk import first error" "^line 1500: " "$(jq -r .first_error <<<"$out")"
run "$ds01" events --type bulk. --all --json
expect_eq "bulk events readable" 2499 "$(wc -l <<<"$out")"

# ---- usage errors and help ----------------------------------------------------------
for args in "gpu allocate $alice" "gpu allocate u c --count 0" "gpu allocate u c --wait=soon" \
        "gpu allocate u c --bogus" "gpu release" "gpu user-status a b" "gpu frobnicate" \
        "queue cancel" "queue cancel x" "queue frobnicate" "reserve" \
        "reserve add --user u --group g --count 1 --from today --to 2099-01-01" \
        "reserve add --user u --slots 1,x --from today --to 2099-01-01" \
        "reserve add --user u --count 1 --from today" "reserve remove" \
        "reserve add --user u --count 1 --from 2099-01-01 --to today" \
        "events --since 'next tuesday'" "events --limit 5 --all" "events --follow --summary" \
        "events --limit -1" "events extra" "events import"; do
        eval "run \"\$ds01\" $args"
        expect_eq "usage error: ds01 $args" 2 "$rc"
        expect_match "usage error message: ds01 $args" "^ds01: [a-z'-].*\(see 'ds01 [a-z]+ --help'\)$" "$err"
done
run "$ds01" events --since "next tuesday"
expect_match "bad TIME names the forms" "is not a time; give an ISO 8601 time .*'today', 'yesterday', 'N minutes\|hours\|days ago'" "$err"
for args in "gpu --help" "gpu status --help" "gpu allocate --help" "gpu release --help" \
        "gpu user-status --help" "queue --help" "reserve --help" "events --help" \
        "help events" "help queue" "help reserve"; do
        # shellcheck disable=SC2086
        run "$ds01" $args
        expect_eq "ds01 $args exit" 0 "$rc"
        expect_match "ds01 $args usage" "usage: ds01 " "$out"
done
run "$ds01" --help
expect_match "global help lists --socket" "--socket PATH" "$out"
for c in queue reserve events; do
        expect_match "global help lists $c" $'\n  '"$c " "$out"
done

# ---- SIGTERM ------------------------------------------------------------------------
kill -TERM "$daemon"
wait_exit "$daemon" 15
daemon=
expect_eq "ds01d exit after SIGTERM" 0 "$wrc"
expect_match "daemon.stopped logged" '"event_type":"daemon\.stopped"' "$(tail -n 1 "$tmp/log/events.jsonl")"
run "$ds01" gpu status
expect_eq "after stop: unreachable" 1 "$rc"

if [ "$fail" -ne 0 ]; then
        echo "--- ds01d log" >&2
        tail -n 40 "$tmp/ds01d.log" >&2
fi
echo "test-control: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
