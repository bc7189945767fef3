#!/usr/bin/env bash
# test-proxy-gpu.sh - GPUs through the Docker API proxy of ds01d, with the fake
# NVML library, the test Docker engine and its runc-backed "nvidia" runtime,
# Debian's docker CLI (/usr/bin/docker) run as real users:
#
# Part A (a100x4 with no processes: 4 full GPUs; quota 2.0 GPU-equivalents, 2 slots a container)
#  - gpu_allocation.attach: nvidia_runtime: `--gpus all` gets exactly the quota
#    (2 UUIDs); `--gpus 1` gets one pinned UUID: Runtime nvidia,
#    NVIDIA_VISIBLE_DEVICES=<uuid>, labels ds01.user, ds01.gpu.uuids,
#    ds01.gpu.slots, ds01.gpu.allocated_at, and it starts under the nvidia
#    runtime; one more past the quota is refused (403) with the numbers
#    ("you hold 2.0 of 2.0 GPU-equivalents (containers: ...)"); a container
#    without GPUs gets NVIDIA_VISIBLE_DEVICES=void even when it asked for all;
#    the nvidia runtime with no capacity waits wait_s, then 503 with the queue
#    position;
#  - attach: device_requests (after a restart): DeviceRequests with the
#    allocated DeviceIDs, no nvidia runtime, no NVIDIA_VISIBLE_DEVICES;
#    `--gpus device=<the one free GPU>` is honoured (create only: the engine
#    has no nvidia device driver to start it with).
# Part B (a100x8 with no processes: 8 full GPUs; quota 3.0 each; five users with distinct
# priorities, so that the queue order is fixed: priority, then arrival)
#  - 50 parallel `docker create --gpus 1` (10 per user; each user's last one
#    with curl, for the HTTP status): 8 granted at once, the rest refused at
#    once (quota) or queued; at no time a slot in two live containers or a
#    user past the quota (a sampler watches the labels throughout); the
#    allocations match the labels;
#  - four times a granted container (of the lowest-priority user holding
#    one) is removed: the freed slot goes to the first entry of the queue (as
#    `ds01 queue --json` showed it just before) whose user is under quota; the
#    other entries of a user who thereby reaches the quota leave with the
#    quota refusal (403); nobody else is served;
#  - the requests still waiting at the end get 503 with their queue position.
#
# Needs root (it creates users), jq, curl, setpriv and the test Docker engine
# (tests/integration/docker-harness.sh); exits 77 when not root.
#
# Usage: test-proxy-gpu.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4

if [ "$(id -u)" -ne 0 ] || ! command -v jq >/dev/null || ! command -v useradd >/dev/null ||
        ! command -v setpriv >/dev/null || ! command -v curl >/dev/null; then
        echo "test-proxy-gpu: skipped (needs root, jq, curl, useradd and setpriv)"
        exit 77
fi

# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
chmod 0755 "$tmp"
export DS01_TEST_DOCKER_SOCKET=/var/run/docker.sock
UDOCKER=/usr/bin/docker # Debian's docker CLI
prefix=ds01test-$$
psock=$tmp/run/docker.sock
names=(ann ben cat dan eve)
users=()
for n in "${names[@]}"; do
        users+=("ds01g-$n-$$")
done
ann=${users[0]}
ben=${users[1]}
cat=${users[2]}
created_users=()
bg_pids=()

cleanup() {
        local p
        for p in "${bg_pids[@]}"; do
                kill "$p" 2>/dev/null
        done
        for p in "${bg_pids[@]}"; do
                wait "$p" 2>/dev/null
        done
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
        echo "test-proxy-gpu: no Docker engine" >&2
        exit 1
}
image=${DS01_TEST_DOCKER_IMAGE:-ds01-test-busybox:latest}
[ -x "$UDOCKER" ] || {
        echo "test-proxy-gpu: $UDOCKER (Debian's docker.io CLI) missing" >&2
        exit 1
}

for u in "${users[@]}"; do
        useradd --create-home --user-group --shell /usr/sbin/nologin "$u" || {
                echo "test-proxy-gpu: cannot create user $u" >&2
                exit 1
        }
        created_users+=("$u")
        install -d -o "$u" -g "$u" "/home/$u/.docker"
done

# as USER CMD...: CMD with USER's ids and groups
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
# ucurl USER METHOD PATH [BODY]: the API as USER; sets code and body
ucurl() {
        local u=$1 method=$2 path=$3 data=${4-} o
        local args=(-sS --max-time 120 --unix-socket "$psock" -X "$method" -w '\n%{http_code}')
        [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
        o=$(as "$u" curl "${args[@]}" "http://docker$path" 2>&1)
        code=${o##*$'\n'}
        body=${o%$'\n'*}
}
gpu1_body() {
        jq -cn --arg img "$image" '{Image: $img, Cmd: ["sleep", "600"],
                HostConfig: {DeviceRequests: [{Driver: "", Count: 1, DeviceIDs: null,
                Capabilities: [["gpu"]], Options: {}}]}}'
}

# write_config ATTACH WAIT_S QUOTA SLOTS_PER_CONTAINER [EXTRA_YAML]
write_config() {
        mkdir -p "$tmp/etc"
        {
                cat <<EOF
defaults:
  max_gpu_equivalents: $3
  max_gpu_slots_per_container: $4
  allow_full_gpu: true
  max_containers_per_user: 20
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
  attach: $1
  wait_s: $2
access_control:
  admin_users: []
  admin_group: ds01g-no-such-group
enforcement:
  cgroup_driver: cgroupfs
EOF
                printf '%s' "${5-}"
        } >"$tmp/etc/resource-limits.yaml"
        if ! "$DS01" config check "$tmp/etc/resource-limits.yaml" >"$tmp/check.out" 2>&1; then
                bad "the test configuration is refused: $(cat "$tmp/check.out")"
        fi
}

proxy_up() {
        if ! wait_for "the proxy socket $psock" 10 test -S "$psock"; then
                echo "test-proxy-gpu: ds01d does not listen on $psock; nothing to test" >&2
                exit 1
        fi
}

inspect() { docker inspect "$1" 2>/dev/null | jq '.[0]'; }
# nvd JSON: the NVIDIA_VISIBLE_DEVICES values of a container, one a line
nvd() { jq -r '.Config.Env // [] | .[] | select(startswith("NVIDIA_VISIBLE_DEVICES=")) | sub("^NVIDIA_VISIBLE_DEVICES="; "")' <<<"$1"; }
label() { jq -r --arg k "$2" '.Config.Labels[$k] // ""' <<<"$1"; }
sorted_csv() { tr ',' '\n' <<<"$1" | sed '/^$/d' | sort | paste -sd, -; }
status_json() { ds01 gpu status --json; }
quota_re() { printf 'ds01: GPU quota reached: you hold %s of %s GPU-equivalents' "${1//./\\.}" "${1//./\\.}"; }
# a quota refusal with the numbers, as the proxy words it at once or as the
# allocator words it for a request that waited: "you hold 3.0 of 3.0 ..." or
# "you hold 3.000 of your 3.000 ..."
held_re() { printf 'ds01: .*you hold %s(\\.0+)? of (your )?%s(\\.0+)? GPU-equivalents' "$1" "$1"; }
# a 503 after waiting names the place in the queue
pos_re='ds01: .*([Pp]osition|number)[: #]*[0-9]+.*queue'

mkdir -p "$tmp/run"
chmod 0755 "$tmp/run"
# Topologies with every GPU idle (the allocator never gives out a GPU that runs
# a process it did not start): a100x8 without its processes, and its first
# four; with UUIDs of this run, so that containers of other tests on the same
# engine labelled with the fixture's UUIDs do not look like holders of ours.
sed -e '/^    processes:$/d' -e '/^      - {pid:/d' "$SRC/tests/fixtures/topology/a100x8.yaml" |
        awk -v p=$$ '/uuid: "GPU-/ { n++; sub(/-[0-9a-f]+"$/, sprintf("-%06x%06x\"", p % 16777216, n)) } { print }' \
                >"$tmp/idle8.yaml"
awk '/^  - name:/ {n++} n <= 4' "$tmp/idle8.yaml" >"$tmp/idle4.yaml"

# =============================== Part A ===============================================
echo "part A: attach nvidia_runtime, 4 idle GPUs"
write_config nvidia_runtime 5 2 2
start_daemon "$tmp/idle4.yaml" || exit 1
proxy_up
all_uuids=$(status_json | jq -r '.slots[].uuid' | sort | paste -sd, -)
expect_eq "four GPUs" 4 "$(tr ',' '\n' <<<"$all_uuids" | wc -l)"
in_topology() {
        local u
        for u in $(tr ',' ' ' <<<"$1"); do
                [[ ,$all_uuids, == *",$u,"* ]] || return 1
        done
        return 0
}

# check_gpu NAME USER COUNT: the container as attach nvidia_runtime leaves it
check_gpu() {
        local name=$1 user=$2 count=$3 j v uu slots
        j=$(inspect "$name")
        if [ -z "$j" ] || [ "$j" = null ]; then
                bad "$name was not created"
                return 1
        fi
        expect_eq "$name: runtime" nvidia "$(jq -r .HostConfig.Runtime <<<"$j")"
        v=$(nvd "$j")
        expect_eq "$name: one NVIDIA_VISIBLE_DEVICES" 1 "$(grep -c . <<<"$v")"
        v=$(head -n 1 <<<"$v")
        expect_eq "$name: NVIDIA_VISIBLE_DEVICES holds $count UUIDs" "$count" \
                "$(tr ',' '\n' <<<"$v" | grep -c '^GPU-')"
        if in_topology "$v"; then ok; else bad "$name: [$v] are not all GPUs of the topology"; fi
        uu=$(label "$j" ds01.gpu.uuids)
        expect_eq "$name: ds01.gpu.uuids = NVIDIA_VISIBLE_DEVICES" "$(sorted_csv "$v")" "$(sorted_csv "$uu")"
        slots=$(label "$j" ds01.gpu.slots)
        expect_eq "$name: ds01.gpu.slots has $count slots" "$count" "$(tr ',' '\n' <<<"$slots" | grep -c .)"
        expect_eq "$name: ds01.user" "$user" "$(label "$j" ds01.user)"
        expect_eq "$name: ds01.managed" true "$(label "$j" ds01.managed)"
        expect_match "$name: ds01.gpu.allocated_at" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$(label "$j" ds01.gpu.allocated_at)"
        expect_eq "$name: no DeviceRequests left" 0 "$(jq '.HostConfig.DeviceRequests // [] | length' <<<"$j")"
        # the daemon's allocations agree with the labels
        expect_eq "$name: allocations" "$(sorted_csv "$slots") $user" \
                "$(status_json | jq -r --arg c "$name" '[.slots[] | select(.container == $c)] |
                        "\([.[].slot] | sort | join(",")) \(.[0].user // "")"')"
        return 0
}

udocker "$ben" create --name "$prefix-ben-all" --gpus all "$image" sleep 600
expect_eq "ben: --gpus all: exit ($out)" 0 "$rc"
check_gpu "$prefix-ben-all" "$ben" 2
ben_uuids=$(label "$(inspect "$prefix-ben-all")" ds01.gpu.uuids)

udocker "$ann" create --name "$prefix-ann-1" --gpus 1 "$image" sleep 600
expect_eq "ann: --gpus 1: exit ($out)" 0 "$rc"
check_gpu "$prefix-ann-1" "$ann" 1
a1=$(label "$(inspect "$prefix-ann-1")" ds01.gpu.uuids)
if [ -n "$a1" ] && [[ ,$ben_uuids, != *",$a1,"* ]]; then ok; else bad "ann's GPU [$a1] is one of ben's [$ben_uuids]"; fi
udocker "$ann" start "$prefix-ann-1"
expect_eq "ann: start under the nvidia runtime: exit ($out)" 0 "$rc"
expect_eq "ann-1 runs" "true nvidia" "$(docker inspect -f '{{.State.Running}} {{.HostConfig.Runtime}}' "$prefix-ann-1" 2>&1)"
expect_eq "ann-1 sees its GPU" "NVIDIA_VISIBLE_DEVICES=$a1" \
        "$(docker exec "$prefix-ann-1" env 2>&1 | grep '^NVIDIA_VISIBLE_DEVICES=')"

udocker "$ann" create --name "$prefix-ann-2" --gpus 1 "$image" sleep 600
expect_eq "ann: second --gpus 1: exit ($out)" 0 "$rc"
check_gpu "$prefix-ann-2" "$ann" 1
a2=$(label "$(inspect "$prefix-ann-2")" ds01.gpu.uuids)
expect_eq "four different GPUs" 4 "$(tr ',' '\n' <<<"$ben_uuids,$a1,$a2" | sort -u | grep -c .)"

# past the quota: refused at once, with the numbers and the containers
udocker "$ann" create --name "$prefix-ann-3" --gpus 1 "$image" sleep 600
expect_eq "ann: third --gpus 1 refused" 1 "$((rc != 0))"
expect_match "ann: the refusal" "$(quota_re 2.0) \\(containers: $prefix-ann-[12], $prefix-ann-[12]\\)" "$out"
expect_eq "ann-3 does not exist" "" "$(docker ps -aq --filter "name=^$prefix-ann-3\$")"
ucurl "$ann" POST "/v1.41/containers/create?name=$prefix-ann-3c" "$(gpu1_body)"
expect_eq "ann: past quota: HTTP status" 403 "$code"
expect_match "ann: past quota: message" "$(quota_re 2.0)" "$body"
udocker "$ben" create --name "$prefix-ben-2" --gpus 1 "$image" sleep 600
expect_match "ben: past quota" "$(quota_re 2.0) \\(containers: $prefix-ben-all\\)" "$out"

# no GPU: NVIDIA_VISIBLE_DEVICES=void, whatever the request said
udocker "$cat" create --name "$prefix-cat-nogpu" -e NVIDIA_VISIBLE_DEVICES=all "$image" sleep 600
expect_eq "cat: no GPU: exit ($out)" 0 "$rc"
j=$(inspect "$prefix-cat-nogpu")
expect_eq "cat: NVIDIA_VISIBLE_DEVICES" void "$(nvd "$j" | paste -sd' ' -)"
expect_eq "cat: no GPU labels" "" "$(jq -r '.Config.Labels // {} | keys[] | select(startswith("ds01.gpu."))' <<<"$j")"
expect_eq "cat: no nvidia runtime" "" "$(jq -r '.HostConfig.Runtime | select(. == "nvidia")' <<<"$j")"
expect_eq "cat: owner" "$cat" "$(label "$j" ds01.user)"

# the nvidia runtime alone asks for all GPUs (cat's quota): none free, so it
# waits wait_s (5 s) and gets 503 with its queue position
t0=$SECONDS
ucurl "$cat" POST "/v1.41/containers/create?name=$prefix-cat-rt" \
        "$(jq -cn --arg img "$image" '{Image: $img, Cmd: ["true"], HostConfig: {Runtime: "nvidia"}}')"
expect_eq "cat: nvidia runtime, no capacity: HTTP status" 503 "$code"
expect_match "cat: the answer names the queue position" "$pos_re" "$body"
if [ $((SECONDS - t0)) -ge 4 ]; then ok; else bad "cat's request did not wait wait_s ($((SECONDS - t0)) s)"; fi
expect_eq "cat-rt does not exist" "" "$(docker ps -aq --filter "name=^$prefix-cat-rt\$")"
expect_eq "four slots allocated" 4 "$(status_json | jq '[.slots[] | select(.container != null)] | length')"
expect_eq "the queue is empty again" 0 "$(ds01 queue --json | jq '.queue | length')"

# ---- attach: device_requests ------------------------------------------------------------
echo "part A: attach device_requests"
stop_daemon
write_config device_requests 5 2 2
start_daemon "$tmp/idle4.yaml" || exit 1
proxy_up
docker rm -f "$prefix-ben-all" >/dev/null 2>&1
free_slots() { status_json | jq '[.slots[] | select(.container == null)] | length'; }
two_free() { [ "$(free_slots)" = 2 ]; }
wait_for "ben's two GPUs to be released" 20 two_free

udocker "$cat" create --name "$prefix-cat-dr" --gpus 1 "$image" sleep 600
expect_eq "cat: --gpus 1 with device_requests: exit ($out)" 0 "$rc"
j=$(inspect "$prefix-cat-dr")
dr=$(jq -c '.HostConfig.DeviceRequests // []' <<<"$j")
expect_eq "cat-dr: one device request" 1 "$(jq length <<<"$dr")"
d1=$(jq -r '.[0].DeviceIDs // [] | join(",")' <<<"$dr")
expect_eq "cat-dr: DeviceIDs = ds01.gpu.uuids" "$(label "$j" ds01.gpu.uuids)" "$d1"
if [ -n "$d1" ] && [[ ,$ben_uuids, == *",$d1,"* ]]; then ok; else bad "cat-dr: [$d1] is not one of the free GPUs [$ben_uuids]"; fi
expect_eq "cat-dr: gpu capability" true "$(jq '[.[0].Capabilities // [] | .[][]] | index("gpu") != null' <<<"$dr")"
expect_eq "cat-dr: no count left" 0 "$(jq '.[0].Count // 0' <<<"$dr")"
expect_eq "cat-dr: no nvidia runtime" "" "$(jq -r '.HostConfig.Runtime | select(. == "nvidia")' <<<"$j")"
expect_eq "cat-dr: no NVIDIA_VISIBLE_DEVICES" "" "$(nvd "$j")"
expect_eq "cat-dr: allocation" "$(label "$j" ds01.gpu.slots) $cat" \
        "$(status_json | jq -r --arg c "$prefix-cat-dr" '[.slots[] | select(.container == $c)] |
                "\([.[].slot] | join(",")) \(.[0].user // "")"')"
# a named device is honoured when the allocator grants exactly it: the one left
other=$(tr ',' '\n' <<<"$ben_uuids" | grep -vxF "$d1")
udocker "$cat" create --name "$prefix-cat-dev" --gpus "device=$other" "$image" sleep 600
expect_eq "cat: --gpus device=<the free GPU>: exit ($out)" 0 "$rc"
j=$(inspect "$prefix-cat-dev")
expect_eq "cat-dev: DeviceIDs" "$other" "$(jq -r '.HostConfig.DeviceRequests // [] | .[0].DeviceIDs // [] | join(",")' <<<"$j")"
expect_eq "cat-dev: ds01.gpu.uuids" "$other" "$(label "$j" ds01.gpu.uuids)"
stop_daemon

# =============================== Part B ===============================================
echo "part B: 50 parallel creates, 8 idle GPUs"
docker ps -aq --filter "name=^$prefix-" | xargs -r docker rm -f >/dev/null 2>&1
rm -rf "$tmp/state"
quota=3
prio=""
for i in "${!users[@]}"; do
        prio+="  ${users[$i]}:"$'\n'"    priority: $((50 - 10 * i))"$'\n'
done
write_config nvidia_runtime 40 $quota 1 "user_overrides:"$'\n'"$prio"
start_daemon "$tmp/idle8.yaml" || exit 1
proxy_up
expect_eq "eight slots free" 8 "$(free_slots)"
declare -A owner_of

qd=$tmp/q
mkdir -p "$qd"
chmod 0777 "$qd"
all_names=()
# the sampler: live containers' slots and owners, every 0.2 s
: >"$tmp/sampler.bad"
(
        while [ ! -e "$tmp/sampler.stop" ]; do
                docker ps -a --filter "name=^$prefix-q-" --format '{{.Label "ds01.gpu.slots"}} {{.Label "ds01.user"}}' \
                        >"$tmp/sampler.now" 2>/dev/null
                d=$(awk '{print $1}' "$tmp/sampler.now" | tr ',' '\n' | sed '/^$/d' | sort | uniq -d | paste -sd, -)
                [ -z "$d" ] || echo "slot(s) $d in two live containers" >>"$tmp/sampler.bad"
                o=$(awk -v q=$quota '{n[$2]++} END {for (u in n) if (n[u] > q) print u}' "$tmp/sampler.now")
                [ -z "$o" ] || echo "past quota: $o" >>"$tmp/sampler.bad"
                sleep 0.2
        done
) &
sampler=$!
bg_pids+=("$sampler")

t_burst=$SECONDS
for r in $(seq 1 10); do
        for i in "${!users[@]}"; do
                u=${users[$i]}
                name=$prefix-q-$i-$(printf %02d "$r")
                all_names+=("$name")
                owner_of[$name]=$u
                if [ "$r" -eq 10 ]; then
                        (
                                o=$(as "$u" curl -sS --max-time 120 --unix-socket "$psock" -X POST \
                                        -H 'Content-Type: application/json' --data-binary "$(gpu1_body)" \
                                        -w '\n%{http_code}' "http://docker/v1.41/containers/create?name=$name" 2>&1)
                                printf '%s\n' "${o%$'\n'*}" >"$qd/$name.out"
                                code=${o##*$'\n'}
                                echo "$code" >"$qd/$name.code"
                                [ "$code" = 201 ]
                                echo $? >"$qd/$name.rc"
                        ) &
                else
                        (
                                as "$u" "$UDOCKER" -H "unix://$psock" create --name "$name" --gpus 1 \
                                        "$image" sleep 600 >"$qd/$name.out" 2>&1
                                echo $? >"$qd/$name.rc"
                        ) &
                fi
                bg_pids+=($!)
        done
done

finished() { find "$qd" -name '*.rc' | wc -l; }
qjson() { ds01 queue --json; }
settled() {
        local f q a
        f=$(finished)
        q=$(qjson | jq '.queue | length')
        a=$(status_json | jq '[.slots[] | select(.container != null)] | length')
        [ $((f + q)) -eq 50 ] && [ "$a" -eq 8 ]
}
rounds=4
wait_for "the 50 requests to be granted, refused or queued" 60 settled || rounds=0
echo "  settled after $((SECONDS - t_burst)) s: $(finished) answered, $(qjson | jq '.queue | length') waiting"

live() { docker ps -a --filter "name=^$prefix-q-" --format '{{.Names}}' | sort; }
# check_live WHEN: 8 live containers, distinct slots, nobody past the quota, and
# the daemon's allocations are the labels
check_live() {
        local when=$1 n slots s
        n=$(live | wc -l)
        expect_eq "$when: live containers" 8 "$n"
        slots=$(docker ps -a --filter "name=^$prefix-q-" \
                --format '{{.Names}} {{.Label "ds01.gpu.slots"}} {{.Label "ds01.user"}}' | sort)
        expect_eq "$when: every live container holds one slot" 0 \
                "$(awk '$2 == "" || $2 ~ /,/' <<<"$slots" | wc -l)"
        expect_eq "$when: no slot twice" "" "$(awk '{print $2}' <<<"$slots" | sort | uniq -d | paste -sd, -)"
        expect_eq "$when: nobody past the quota" "" \
                "$(awk -v q=$quota '{n[$3]++} END {for (u in n) if (n[u] > q) print u}' <<<"$slots")"
        s=$(status_json | jq -r '.slots[] | select(.container != null) | "\(.container) \(.slot) \(.user)"' | sort)
        expect_eq "$when: allocations = labels" "$slots" "$s"
        # the owner of each container is the user who asked
        while read -r c _ u; do
                [ -n "$c" ] || continue
                [ "${owner_of[$c]:-}" = "$u" ] || bad "$when: $c is labelled for $u, asked by ${owner_of[$c]:-?}"
        done <<<"$slots"
}
check_live "after the burst"

# every answered request: created (rc 0, exists) or refused for the quota
answered_ok=0
answered_quota=0
for name in "${all_names[@]}"; do
        [ -e "$qd/$name.rc" ] || continue
        if [ "$(cat "$qd/$name.rc")" = 0 ]; then
                answered_ok=$((answered_ok + 1))
                [ -n "$(docker ps -aq --filter "name=^$name\$")" ] || bad "$name: created, but absent"
        else
                answered_quota=$((answered_quota + 1))
                if grep -qE "$(held_re $quota)" "$qd/$name.out"; then ok; else
                        bad "$name: refused, not for the quota: $(head -c 300 "$qd/$name.out")"
                fi
                [ ! -e "$qd/$name.code" ] || expect_eq "$name: HTTP status" 403 "$(cat "$qd/$name.code")"
        fi
done
expect_eq "created at once" 8 "$answered_ok"
echo "  $answered_ok created, $answered_quota refused for the quota"
# the queue holds only waiting requests of this test, of users under quota
q=$(qjson)
while read -r c u; do
        [ -n "$c" ] || continue
        [ "${owner_of[$c]:-}" = "$u" ] || bad "queue entry $c of $u: not a request of this test"
        [ ! -e "$qd/$c.rc" ] || bad "queue entry $c: its request was already answered"
done < <(jq -r '.queue[] | "\(.container) \(.user)"' <<<"$q")
# queue order: by priority, then arrival
expect_eq "queue in priority order" "$(jq -c '[.queue[].priority]' <<<"$q")" \
        "$(jq -c '[.queue[].priority] | sort | reverse' <<<"$q")"

# ---- four slots freed, one at a time ---------------------------------------------------
declare -A held
for ((round = 1; round <= rounds; round++)); do
        q=$(qjson)
        st=$(status_json)
        [ "$(jq '.queue | length' <<<"$q")" -gt 0 ] || {
                bad "round $round: the queue is empty"
                break
        }
        for u in "${users[@]}"; do
                held[$u]=$(jq --arg u "$u" '[.slots[] | select(.user == $u)] | length' <<<"$st")
        done
        # the victim: a container of the lowest-priority user holding one, so
        # that the grants push the higher-priority users to their quota
        victim=$(live | sort -t- -k4,4nr -k5,5n | head -n 1)
        vslot=$(docker inspect -f '{{index .Config.Labels "ds01.gpu.slots"}}' "$victim")
        vuser=${owner_of[$victim]}
        held[$vuser]=$((held[$vuser] - 1))
        expected=
        gone=()
        while read -r c u; do
                if [ -z "$expected" ] && [ "${held[$u]}" -lt $quota ]; then
                        expected=$c
                        held[$u]=$((held[$u] + 1))
                fi
        done < <(jq -r '.queue | sort_by(.position) | .[] | "\(.container) \(.user)"' <<<"$q")
        # what stays: entries of users still under quota
        rest=()
        while read -r c u; do
                [ "$c" = "$expected" ] && continue
                if [ "${held[$u]}" -lt $quota ]; then rest+=("$c"); else gone+=("$c"); fi
        done < <(jq -r '.queue | sort_by(.position) | .[] | "\(.container) \(.user)"' <<<"$q")
        echo "  round $round: removing $victim (slot $vslot, ${vuser}); expecting $expected, ${#gone[@]} to leave"
        if [ -z "$expected" ]; then
                bad "round $round: nobody in the queue is under quota"
                break
        fi
        docker rm -f "$victim" >/dev/null
        wait_for "round $round: $expected to be answered" 20 test -s "$qd/$expected.rc" || break
        expect_eq "round $round: $expected granted" 0 "$(cat "$qd/$expected.rc" 2>/dev/null)"
        expect_eq "round $round: $expected got the freed slot" "$vslot" \
                "$(docker inspect -f '{{index .Config.Labels "ds01.gpu.slots"}}' "$expected" 2>&1)"
        for c in "${gone[@]}"; do
                wait_for "round $round: $c to be answered" 10 test -s "$qd/$c.rc"
                expect_eq "round $round: $c refused" 1 "$(cat "$qd/$c.rc" 2>/dev/null)"
                grep -qE "$(held_re $quota)" "$qd/$c.out" || bad "round $round: $c: $(head -c 300 "$qd/$c.out")"
                [ ! -e "$qd/$c.code" ] || expect_eq "round $round: $c: HTTP status" 403 "$(cat "$qd/$c.code")"
        done
        rest_now() { [ "$(qjson | jq -r '.queue | sort_by(.position) | .[].container' | paste -sd' ' -)" = "${rest[*]}" ]; }
        wait_for "round $round: the queue to be the rest" 10 rest_now
        check_live "round $round"
done

# ---- the rest waits wait_s, then 503 with the queue position ---------------------------
mapfile -t last < <(qjson | jq -r '.queue | sort_by(.position) | .[].container')
echo "  ${#last[@]} requests left waiting; their wait_s (40 s) runs out"
all_answered() { [ "$(finished)" -eq 50 ]; }
wait_for "every request to be answered" 70 all_answered
n503=0
for c in "${last[@]}"; do
        expect_eq "$c: timed out" 1 "$(cat "$qd/$c.rc" 2>/dev/null)"
        if grep -qE "$pos_re" "$qd/$c.out"; then ok; else
                bad "$c: no queue position in: $(head -c 300 "$qd/$c.out")"
        fi
        if [ -e "$qd/$c.code" ]; then
                expect_eq "$c: HTTP status" 503 "$(cat "$qd/$c.code")"
                n503=$((n503 + 1))
        fi
done
if [ "${#last[@]}" -gt 0 ] && [ "$n503" -eq 0 ]; then
        echo "  (no curl request was among those left waiting; their status was not seen)"
fi
expect_eq "the queue is empty at the end" 0 "$(qjson | jq '.queue | length')"
check_live "at the end"
touch "$tmp/sampler.stop"
wait "$sampler" 2>/dev/null
expect_eq "the sampler saw no slot twice and nobody past the quota" "" "$(sort -u "$tmp/sampler.bad")"
expect_eq "every request ended: created, refused or timed out" 50 "$(finished)"

stop_daemon
expect_eq "ds01d exit" 0 $?
echo "test-proxy-gpu: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
