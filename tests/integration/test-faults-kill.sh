#!/usr/bin/env bash
# test-faults-kill.sh - ds01d killed -9 in the middle of 100 concurrent
# container creations through its Docker proxy, then started again on the
# same state dir (issue 9, "faults survived"):
#  - 5 real unprivileged users send 20 `POST /containers/create` each (one
#    MIG slot each, half of them named, half not) at once on h100x8-mig (56
#    slots of 1/7, no foreign processes, UUIDs of this run); the quota (1.5
#    GPU-equivalents: 10 slots) refuses 10 of each user's;
#  - ds01d gets SIGKILL as soon as 5 creates have been answered 201 (the
#    refusals come first and fast), with most of the 50 granted ones still
#    between the allocation, Docker and the bind;
#  - two more creates are held on their way to Docker by a forwarder between
#    ds01d and the engine (the windows a kill hits only by chance, made
#    certain): "drop" never reaches Docker (its allocation must be released
#    after the restart), "late" reaches Docker only after the restart has
#    released its allocation (its container must get its slot back from its
#    labels);
#  - after the restart (within a deadline, polled): every GPU container of
#    this run that Docker has is bound to allocations of its owner on exactly
#    the slots of its ds01.gpu.slots label (status and database agree); no
#    slot is held twice (database, labels); no allocation is left without a
#    container (those of creates that never reached Docker are released);
#    every create answered 201 has its container and allocation; nobody is
#    above quota; `ds01 state check` agrees; and the service is back: a
#    container removed through the proxy gives its slot back and a new create
#    gets one.
#
# Needs root (it creates users), jq, curl, setpriv, sqlite3 and the test
# Docker engine (tests/integration/docker-harness.sh); exits 77 when not root.
#
# Usage: test-faults-kill.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4

if [ "$(id -u)" -ne 0 ] || ! command -v jq >/dev/null || ! command -v useradd >/dev/null ||
        ! command -v setpriv >/dev/null || ! command -v curl >/dev/null ||
        ! command -v sqlite3 >/dev/null; then
        echo "test-faults-kill: skipped (needs root, jq, curl, sqlite3, useradd and setpriv)"
        exit 77
fi

# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
chmod 0755 "$tmp"
prefix=ds01test-$$-crash
run_label=ds01test.crash=$$ # on every container of this run (ds01.* is the proxy's)
psock=$tmp/run/docker.sock
db="file:$tmp/state/state.db?mode=ro"
users=()
for n in a b c d e; do
        users+=("ds01ck-$n-$$")
done
created_users=()
clients=()
tap_pid=

cleanup() {
        local p
        for p in "${clients[@]}" $tap_pid; do
                kill "$p" 2>/dev/null
        done
        docker ps -aq --filter "label=$run_label" | xargs -r docker rm -f -v >/dev/null 2>&1
        docker ps -aq --filter "name=^$prefix-" | xargs -r docker rm -f -v >/dev/null 2>&1
        for p in "${created_users[@]}"; do
                userdel -r "$p" >/dev/null 2>&1
        done
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$SRC/tests/integration/docker-harness.sh" ensure >"$tmp/harness.log" 2>&1 || {
        cat "$tmp/harness.log" >&2
        echo "test-faults-kill: no Docker engine" >&2
        exit 1
}
image=${DS01_TEST_DOCKER_IMAGE:-ds01-test-busybox:latest}

for u in "${users[@]}"; do
        useradd --create-home --user-group --shell /usr/sbin/nologin "$u" || {
                echo "test-faults-kill: cannot create user $u" >&2
                exit 1
        }
        created_users+=("$u")
done

# as USER CMD...: CMD with USER's ids and groups
as() {
        local u=$1
        shift
        setpriv --reuid="$u" --regid="$u" --init-groups -- env HOME="/home/$u" "$@"
}
# create USER N: POST /containers/create as USER (named when N is even);
# writes out/USER-N.code (HTTP status, 000: no answer) and .body
create() {
        local u=$1 i=$2 q="" o
        [ $((i % 2)) -eq 0 ] && q="?name=$prefix-$u-$i"
        o=$(as "$u" curl -sS --max-time 90 --unix-socket "$psock" -X POST \
                -H 'Content-Type: application/json' --data-binary "$body" \
                -w '\n%{http_code}' "http://docker/v1.41/containers/create$q" 2>&1)
        printf '%s\n' "${o%$'\n'*}" >"$tmp/out/$u-$i.body"
        echo "${o##*$'\n'}" >"$tmp/out/$u-$i.code.tmp"
        mv "$tmp/out/$u-$i.code.tmp" "$tmp/out/$u-$i.code"
}
body=$(jq -cn --arg img "$image" --arg run "${run_label#*=}" '{Image: $img,
        Cmd: ["sleep", "600"], Labels: {"ds01test.crash": $run},
        HostConfig: {DeviceRequests: [{Driver: "", Count: 1, Capabilities: [["gpu"]]}]}}')

# The forwarder ds01d reaches Docker through: bytes pass both ways, except a
# create whose name holds "-hold-drop-" (kept from Docker, dropped when its
# sender dies) or "-hold-late-" (sent to Docker on a connection of its own
# once its sender died and the file late-go exists). It writes held-MODE when
# it holds one and late-done (Docker's status line) after the late one.
cat >"$tmp/hold-tap.py" <<'EOF'
import os, socket, sys, threading, time
listen, upstream, d = sys.argv[1:4]

def mark(name, text=""):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)

def late(held):
    while not os.path.exists(os.path.join(d, "late-go")):
        time.sleep(0.02)
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    up.connect(upstream)
    up.sendall(held)
    up.settimeout(30)
    answer = b""
    while b"\r\n" not in answer:
        data = up.recv(65536)
        if not data:
            break
        answer += data
    up.close()
    mark("late-done", answer.split(b"\r\n")[0].decode(errors="replace"))

def forward(client, up):
    held, mode = None, None
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            if held is None:
                for m in ("drop", "late"):
                    k = data.find(b"-hold-%s-" % m.encode())
                    s = data.rfind(b"POST ", 0, k) if k >= 0 else -1
                    if s >= 0:
                        up.sendall(data[:s])
                        held, mode, data = data[s:], m, b""
                        mark("held-" + m)
                        break
                if held is None:
                    up.sendall(data)
                    continue
            held += data
    except OSError:
        pass
    if mode == "late":
        late(held)
    try:
        up.shutdown(socket.SHUT_WR)
    except OSError:
        pass

def back(up, client):
    try:
        while True:
            data = up.recv(65536)
            if not data:
                break
            client.sendall(data)
    except OSError:
        pass
    try:
        client.shutdown(socket.SHUT_WR)
    except OSError:
        pass

def serve(client):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(upstream)
    except OSError:
        client.close()
        return
    t = threading.Thread(target=back, args=(up, client), daemon=True)
    t.start()
    forward(client, up)
    t.join()
    client.close()
    up.close()

os.umask(0o077)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(listen)
srv.listen(512)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
mkdir -p "$tmp/tap"
python3 "$tmp/hold-tap.py" "$tmp/tap.sock" /var/run/docker.sock "$tmp/tap" 2>"$tmp/tap.log" &
tap_pid=$!
wait_for "the forwarder" 10 test -S "$tmp/tap.sock" || exit 1
export DS01_TEST_DOCKER_SOCKET=$tmp/tap.sock

# h100x8-mig with every instance idle (the allocator never gives out a slot
# running a process it did not start) and UUIDs of this run (containers of
# other tests on the same engine pin the fixture's)
sed -e '/^ *processes:$/d' -e '/^ *- {pid:/d' "$SRC/tests/fixtures/topology/h100x8-mig.yaml" |
        awk -v p=$$ '/uuid: "(GPU|MIG)-/ { n++; sub(/-[0-9a-f]+"$/, sprintf("-%06x%06x\"", p % 16777216, n)) } { print }' \
                >"$tmp/h100x8-idle.yaml"
mkdir -p "$tmp/etc" "$tmp/out" "$tmp/run"
chmod 0755 "$tmp/run"
cat >"$tmp/etc/resource-limits.yaml" <<EOF
defaults:
  max_gpu_equivalents: 1.5
  max_gpu_slots_per_container: 1
  allow_full_gpu: false
  max_containers_per_user: 40
  max_cpus: 1
  gpu_hold_after_stop_h: 1
default_group: students
groups:
  students:
    members: [$(
        IFS=,
        echo "${users[*]}"
)]
gpu_allocation:
  attach: nvidia_runtime
  wait_s: 0
access_control:
  admin_users: []
  admin_group: ds01ck-no-such-group
enforcement:
  cgroup_driver: cgroupfs
EOF
"$DS01" config check "$tmp/etc/resource-limits.yaml" >"$tmp/check.out" 2>&1 ||
        bad "the test configuration is refused: $(cat "$tmp/check.out")"

start_daemon "$tmp/h100x8-idle.yaml" || exit 1
wait_for "the proxy socket" 10 test -S "$psock" || exit 1
expect_eq "56 idle slots" 56 "$(ds01 gpu status --json | jq '[.slots[] | select(.state == "free")] | length')"

# ---- 100 creates, kill -9 in the middle ---------------------------------------
created_at_least() { [ "$(grep -lx 201 "$tmp"/out/*.code 2>/dev/null | wc -l)" -ge "$1" ]; }
# the two held creates first (user e), so that they surely have their slots
hu=${users[4]}
for m in drop late; do
        (o=$(as "$hu" curl -sS --max-time 90 --unix-socket "$psock" -X POST \
                -H 'Content-Type: application/json' --data-binary "$body" \
                -w '\n%{http_code}' "http://docker/v1.41/containers/create?name=$prefix-hold-$m-x" 2>&1)
        echo "${o##*$'\n'}" >"$tmp/tap/code-$m") &
        clients+=($!)
        wait_for "the $m create held on its way to Docker" 20 test -e "$tmp/tap/held-$m"
done
slot_of() { ds01 gpu status --json | jq -r --arg c "$1" '[.slots[] | select(.container == $c) | .slot] | join(",")'; }
drop_slot=$(slot_of "$prefix-hold-drop-x")
late_slot=$(slot_of "$prefix-hold-late-x")
if [ -n "$drop_slot" ] && [ -n "$late_slot" ]; then ok; else bad "the held creates hold no slot: [$drop_slot] [$late_slot]"; fi
t0=$(date +%s%N)
for i in $(seq 1 20); do
        for u in "${users[@]}"; do
                create "$u" "$i" &
                clients+=($!)
        done
done
wait_for "5 containers created before the kill" 120 created_at_least 5
kill -KILL "$daemon_pid"
answered_at_kill=$(compgen -G "$tmp/out/*.code" | wc -l)
wait "$daemon_pid" 2>/dev/null
daemon_pid=
wait "${clients[@]}"
clients=()
t1=$(date +%s%N)
n201=$(grep -lx 201 "$tmp"/out/*.code | wc -l)
n403=$(grep -lx 403 "$tmp"/out/*.code | wc -l)
n000=$(grep -lx 000 "$tmp"/out/*.code | wc -l)
echo "  100 creates in $(((t1 - t0) / 1000000)) ms: $answered_at_kill answered when ds01d was" \
        "killed; 201: $n201, 403: $n403, no answer: $n000"
expect_eq "every create ended (201, 403 or no answer)" 100 $((n201 + n403 + n000))
expect_eq "the held creates got no answer" "000 000" "$(cat "$tmp/tap/code-drop" "$tmp/tap/code-late" | paste -sd' ')"
if [ "$n000" -ge 1 ]; then ok; else bad "the kill came after every request was answered: nothing tested"; fi
if [ "$n201" -ge 1 ]; then ok; else bad "no create succeeded before the kill"; fi
before=$(docker ps -aq --filter "label=$run_label" | wc -l)
# what the killed ds01d left: allocations in force not bound to a container
unbound=$(sqlite3 "$db" "SELECT count(*) FROM allocations WHERE state <> 'released' AND container_id = ''")
echo "  left by the kill: $before containers, $unbound allocations not bound to one"

# ---- restart, then what must hold -------------------------------------------------
start_daemon "$tmp/h100x8-idle.yaml" || exit 1
wait_for "the proxy socket" 10 test -S "$psock" || exit 1
released_as() { ds01 events --type gpu.released --json --all | jq -r --arg c "$1" 'select(.details.container == $c) | .details.reason'; }
never_created() { [ -n "$(released_as "$1")" ]; }
# the create that never reached Docker: its slot goes back after the grace
wait_for "the slot of the dropped create released" 30 never_created "$prefix-hold-drop-x"
expect_eq "the dropped create's slot: why" "ds01d restarted before Docker created the container" \
        "$(released_as "$prefix-hold-drop-x")"
expect_eq "the dropped create's slot is free" free \
        "$(ds01 gpu status --json | jq -r --arg s "$drop_slot" '.slots[] | select(.slot == $s) | .state')"
# the late one's was released the same way; now Docker creates its container
wait_for "the late create's slot released" 10 never_created "$prefix-hold-late-x"
touch "$tmp/tap/late-go"
wait_for "Docker's answer to the late create" 30 test -s "$tmp/tap/late-done"
expect_match "Docker created the late container" ' 201 ' "$(cat "$tmp/tap/late-done")"
late_back() { [ "$(slot_of "$prefix-hold-late-x")" = "$late_slot" ]; }
wait_for "the late container holding its slot again, from its labels" 20 late_back
expect_eq "the late container's allocation: origin" labels \
        "$(sqlite3 "$db" "SELECT origin FROM allocations WHERE state <> 'released' AND container = '$prefix-hold-late-x'")"

# Docker's view: "id|name|user|slots" per container of this run (slots sorted)
docker_view() {
        docker ps -aq --no-trunc --filter "label=$run_label" | xargs -r docker inspect |
                jq -r '.[] | [.Id, (.Name | ltrimstr("/")), (.Config.Labels["ds01.user"] // "-"),
                        (.Config.Labels["ds01.gpu.slots"] // "-" | split(",") | sort | join(","))] |
                        join("|")' | sort
}
# the database's: "container_id|slot|user" per allocation in force
db_view() {
        sqlite3 "$db" "SELECT container_id || '|' || slot || '|' || user FROM allocations
                WHERE state <> 'released' ORDER BY container_id, slot"
}
# what users see (GET /v1/status): "container|slot|user" per slot held
status_view() {
        ds01 gpu status --json |
                jq -r '[.slots[] | select(.user != null)] | sort_by(.container, .slot) | .[] |
                        [.container, .slot, .user] | join("|")'
}
# check: sets lost (containers of this run not bound to exactly the slots of
# their labels, for their owner, in the database and in the status), orphans
# (allocations in force without a container) and lost_list; 0 when both are 0
check() {
        local r
        docker_view >"$tmp/dv"
        db_view >"$tmp/av"
        status_view >"$tmp/sv"
        dv=$(cat "$tmp/dv")
        av=$(cat "$tmp/av")
        r=$(awk -F'|' '
                FILENAME == ARGV[1] { dbs[$1] = dbs[$1] (dbs[$1] == "" ? "" : ",") $2
                                      dbu[$1] = dbu[$1] " " $3; dbn[$1]++; next }
                FILENAME == ARGV[2] { sts[$1] = sts[$1] (sts[$1] == "" ? "" : ",") $2
                                      stu[$1] = stu[$1] " " $3; next }
                $1 != "" {
                        have[$1] = 1
                        want = ""
                        n = split($4, a, ",")
                        for (i = 1; i <= n; i++) want = want " " $3
                        if ($3 == "-" || $4 == "-" || dbs[$1] != $4 || dbu[$1] != want ||
                            sts[$2] != $4 || stu[$2] != want) {
                                lost++
                                if (lost <= 3)
                                        list = list " " $2 ":[" $4 "/" $3 "] db[" dbs[$1] "] status[" sts[$2] "]"
                        }
                }
                END {
                        for (c in dbn) if (!(c in have)) orphans += dbn[c]
                        printf "%d %d%s\n", lost, orphans, list
                }' "$tmp/av" "$tmp/sv" "$tmp/dv")
        lost=${r%% *}
        r=${r#* }
        orphans=${r%% *}
        lost_list=${r#"$orphans"}
        [ "$lost" -eq 0 ] && [ "$orphans" -eq 0 ]
}
settled() { check; }
t2=$(date +%s%N)
wait_for "every container bound to its allocation, no allocation without one" 60 settled
t3=$(date +%s%N)
echo "  all bound, nothing orphaned: $(((t3 - t2) / 1000000)) ms after the late create"
check
expect_eq "containers Docker created without their allocation ($lost_list)" 0 "$lost"
expect_eq "allocations without a container" 0 "$orphans"
expect_eq "database: slots held twice" "" \
        "$(sqlite3 "$db" "SELECT slot FROM allocations WHERE state <> 'released' GROUP BY slot HAVING count(*) > 1")"
expect_eq "labels: slots in two containers" "" \
        "$(awk -F'|' '$4 != "-" { print $4 }' <<<"$dv" | tr ',' '\n' | sort | uniq -d)"
expect_eq "status: slots held = allocations in force" "$(grep -c . <<<"$av")" \
        "$(grep -c . "$tmp/sv")"
# every 201 has its container, and it is one of the bound ones above
missing=0
for f in $(grep -lx 201 "$tmp"/out/*.code); do
        id=$(jq -r '.Id // ""' "${f%.code}.body")
        grep -q "^$id|" <<<"$dv" || {
                missing=$((missing + 1))
                echo "answered 201 but missing: ${f##*/} [$id]" >&2
        }
done
expect_eq "creates answered 201 whose container is missing" 0 "$missing"
expect_eq "users above quota (10 slots of 1/7)" "" \
        "$(awk -F'|' '{ print $3 }' <<<"$av" | sort | uniq -c | awk '$1 > 10')"
adopted=$(sqlite3 "$db" "SELECT count(DISTINCT container) FROM allocations WHERE origin = 'labels'")
released=$(ds01 events --type gpu.released --json --all | grep -c 'ds01d restarted before Docker created')
echo "  after the restart: $(grep -c . <<<"$dv") containers (Docker had $before when ds01d" \
        "was killed), $(grep -c . <<<"$av") allocations, $adopted taken back from labels," \
        "$released released as never created"
"$DS01" state check --state-dir "$tmp/state" >"$tmp/state-check.out" 2>&1
expect_eq "ds01 state check agrees ($(tail -n 3 "$tmp/state-check.out" | paste -sd' '))" 0 $?

# ---- the service is back ------------------------------------------------------------
u=${users[0]}
victim=$(awk -F'|' -v u="$u" '$3 == u { print $2; exit }' <<<"$dv")
if [ -n "$victim" ]; then
        vslot=$(awk -F'|' -v n="$victim" '$2 == n { print $4 }' <<<"$dv")
        as "$u" docker -H "unix://$psock" rm -f "$victim" >/dev/null 2>&1 || bad "rm $victim through the proxy"
        slot_free() { [ "$(ds01 gpu status --json | jq -r --arg s "$vslot" '.slots[] | select(.slot == $s) | .state')" = free ]; }
        wait_for "the slot of the removed $victim to be free" 20 slot_free
fi
create "$u" 100
expect_eq "a new create after the restart ($(head -c 200 "$tmp/out/$u-100.body"))" 201 \
        "$(cat "$tmp/out/$u-100.code")"
wait_for "the new container bound to its allocation" 20 settled
expect_eq "after the new create: containers without their allocation ($lost_list)" 0 "$lost"

stop_daemon
expect_eq "ds01d exit" 0 $?
echo "test-faults-kill: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
