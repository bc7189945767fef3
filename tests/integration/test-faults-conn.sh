#!/usr/bin/env bash
# test-faults-conn.sh - ds01d's Docker API proxy under misbehaving clients
# (issue 9), with a private ds01d on h100x8-mig, the real engine, real
# unprivileged users and the limits of the config's `proxy:` section set
# small (head 10 s, idle 3 s, body 4 s, 48 connections a user, 80 in all):
#  - user A opens 1000 connections and sends nothing: 48 are served (and get
#    408 at the head deadline), 952 get 429 with a "ds01:" reason at once;
#    A's own `docker ps` meanwhile is refused with that reason;
#  - meanwhile user C sends a head one byte a second (408 at 10 s), a
#    create announcing a 10 GB body (413 within 5 s, well under 64 MiB
#    accepted), a chunked create body without end (413, cut at the 1 MiB
#    ceiling), a create body that stalls (408 at 4 s) and a kept-alive
#    connection left idle (closed, silently, at 3 s);
#  - and user B's `docker ps`, `docker create` and `docker rm` through the
#    proxy succeed within a few seconds each, while A's 48 are still open;
#  - A and E together reach the 80-connection cap: E's surplus gets 503;
#  - afterwards ds01d's threads and descriptors return to their baseline,
#    the counters on /metrics say what happened, and B is served again.
# Needs root (it creates users; exits 77 otherwise).
#
# Usage: test-faults-conn.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

if [ "$(id -u)" -ne 0 ]; then
        echo "test-faults-conn: skipped (needs root: it creates users)"
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
python=/usr/bin/python3
[ -x $python ] || python=python3
flood_py=$SRC/tests/integration/conn-flood.py
image=ds01-test-busybox:latest
prefix=ds01test-$$
A=ds01conn-a$$
B=ds01conn-b$$
C=ds01conn-c$$
E=ds01conn-e$$
users=("$A" "$B" "$C" "$E")
psock=$tmp/run/docker.sock
HEAD_S=10 IDLE_S=3 BODY_S=4 PER_USER=48 TOTAL=80
bg_pids=()

D() { "$docker_cli" -H "unix://$DS01_TEST_DOCKER_SOCKET" "$@"; }

cleanup() {
        local p u
        for p in "${bg_pids[@]}"; do
                kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
        done
        D ps -aq --filter "name=^$prefix-" | xargs -r "$docker_cli" rm -f >/dev/null 2>&1
        for u in "${users[@]}"; do
                D ps -aq --filter "label=ds01.user=$u" | xargs -r "$docker_cli" rm -f >/dev/null 2>&1
                id "$u" >/dev/null 2>&1 && userdel -f -r "$u" >/dev/null 2>&1
        done
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$SRC/tests/integration/docker-harness.sh" ensure >"$tmp/harness.log" 2>&1 || {
        cat "$tmp/harness.log" >&2
        echo "test-faults-conn: no Docker engine" >&2
        exit 1
}

# as USER CMD...: CMD as USER with a login's environment and 4096
# descriptors; sets out, rc, secs (wall time)
as() {
        local u=$1 t0
        shift
        t0=$(date +%s.%N)
        out=$(timeout -k 5 60 runuser -u "$u" -- env -i PATH=/usr/bin:/bin HOME="/home/$u" \
                USER="$u" LANG=C.UTF-8 bash -c 'ulimit -n 4096 && exec "$@"' - "$@" 2>&1 </dev/null)
        rc=$?
        secs=$(printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)")
}
# bg_as USER OUTFILE CMD...: the same in the background; its pid joins bg_pids
bg_as() {
        local u=$1 f=$2
        shift 2
        timeout -k 5 120 runuser -u "$u" -- env -i PATH=/usr/bin:/bin HOME="/home/$u" \
                USER="$u" LANG=C.UTF-8 bash -c 'ulimit -n 4096 && exec "$@"' - "$@" \
                </dev/null >"$f" 2>"$f.err" &
        bg_pids+=($!)
}
dk() {
        local u=$1
        shift
        as "$u" "$docker_cli" -H "unix://$psock" "$@"
}
# jq_of FILE FILTER
jq_of() { jq -r "$2" "$1" 2>/dev/null; }
# within WHAT VALUE LO HI: LO <= VALUE <= HI (decimals)
within() {
        if [ -n "$2" ] && [ "$2" != null ] && [ "$(echo "$2 >= $3 && $2 <= $4" | bc)" = 1 ]; then
                ok
        else
                bad "$1: $2 is not within [$3, $4]"
        fi
}
threads() { awk '/^Threads:/ {print $2}' "/proc/$daemon_pid/status"; }
fds() { find "/proc/$daemon_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
near_baseline() { [ "$(threads)" -le $((base_threads + 2)) ] && [ "$(fds)" -le $((base_fds + 4)) ]; }
metric() { # NAME_WITH_LABELS: its value on /metrics
        curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'
}
wait_bg() { # waits for every background job, at most 150 s in all
        local p deadline=$((SECONDS + 150))
        for p in "${bg_pids[@]}"; do
                while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
                wait "$p" 2>/dev/null
        done
        bg_pids=()
}

for u in "${users[@]}"; do
        useradd --create-home --home-dir "/home/$u" --user-group --shell /bin/sh "$u" || exit 1
done
chmod 0755 "$tmp"
mkdir -p "$tmp/etc" "$tmp/run" "$tmp/log" "$tmp/flags"
chmod 0755 "$tmp/run"
chmod 0777 "$tmp/flags" # the clients say there when they are ready
cat >"$tmp/etc/resource-limits.yaml" <<EOF
defaults:
  max_gpu_equivalents: 1
  max_cpus: 1
  memory: 1g
  max_containers_per_user: 10
enforcement:
  cgroup_driver: cgroupfs
gpu_allocation:
  wait_s: 5
proxy:
  head_timeout_s: $HEAD_S
  idle_timeout_s: $IDLE_S
  body_timeout_s: $BODY_S
  max_connections_per_user: $PER_USER
  max_connections: $TOTAL
EOF
if ! "$DS01" config check "$tmp/etc/resource-limits.yaml" >"$tmp/check.out" 2>&1; then
        bad "the test config is not valid: $(cat "$tmp/check.out")"
fi
start_daemon h100x8-mig || exit 1
chmod 0755 "$tmp/run"
wait_for "ds01d to listen on $psock" 10 test -S "$psock" || exit 1
port=$(cat "$tmp/run/ds01d.port")

# the limit ds01d runs with: raised to the hard limit at start
expect_eq "ds01d's descriptor limit is its hard limit" \
        "$(awk '/^Max open files/ {print $5}' "/proc/$daemon_pid/limits")" \
        "$(awk '/^Max open files/ {print $4}' "/proc/$daemon_pid/limits")"

dk "$B" ps -a
expect_eq "B: docker ps before the flood" 0 "$rc"
wait_for "ds01d back to its connections before the flood" 10 bash -c \
        "[ \"\$(curl -s http://127.0.0.1:$port/metrics | awk '\$1 == \"ds01_proxy_connections\" {print \$2}')\" = 0 ]"
base_threads=$(threads)
base_fds=$(fds)
echo "baseline: $base_threads threads, $base_fds descriptors"

# ---- phase 1: A floods; C misbehaves; B works -----------------------------------

bg_as "$A" "$tmp/flood.json" "$python" "$flood_py" flood "$psock" 1000 --ready "$tmp/flags/ready" --hold 60
wait_for "A's 1000 connections" 30 test -s "$tmp/flags/ready"
t_ready=$SECONDS
bg_as "$C" "$tmp/slowhead.json" "$python" "$flood_py" slowhead "$psock"
bg_as "$C" "$tmp/bigbody.json" "$python" "$flood_py" bigbody "$psock" 10737418240
bg_as "$C" "$tmp/chunked.json" "$python" "$flood_py" bigbody "$psock" 10737418240 --chunked
bg_as "$C" "$tmp/slowbody.json" "$python" "$flood_py" slowbody "$psock" 1000 10
bg_as "$C" "$tmp/keepalive.json" "$python" "$flood_py" keepalive "$psock"

# A has 48 open: A's own docker CLI is told why
dk "$A" ps
if [ "$rc" -ne 0 ] && [[ $out == *"ds01: you have $PER_USER connections open"* ]]; then ok; else
        bad "A's docker ps over the cap: exit $rc: $(head -c 300 <<<"$out")"
fi
# B is served, quickly
dk "$B" ps -a
expect_eq "B: docker ps during the flood" 0 "$rc"
within "B: docker ps during the flood (s)" "$secs" 0 5
echo "B: docker ps in $secs s"
dk "$B" create --name "$prefix-b1" "$image" true
expect_eq "B: docker create during the flood" 0 "$rc"
within "B: docker create during the flood (s)" "$secs" 0 8
echo "B: docker create in $secs s"
dk "$B" rm "$prefix-b1"
expect_eq "B: docker rm during the flood" 0 "$rc"
within "B: docker rm during the flood (s)" "$secs" 0 8
echo "B: docker rm in $secs s"
# ... while A's connections were still held
if [ $((SECONDS - t_ready)) -lt $((HEAD_S - 1)) ] && [ "$(fds)" -ge $((base_fds + PER_USER)) ]; then
        ok
else
        bad "A's connections were gone before B was done ($((SECONDS - t_ready)) s, $(fds) descriptors)"
fi

wait_bg
f=$tmp/flood.json
echo "flood: $(cat "$f")"
expect_eq "A: connections opened" 1000 "$(jq_of "$f" .opened)"
expect_eq "A: connections served (then 408 at the head deadline)" $PER_USER "$(jq_of "$f" '.status["408"]')"
expect_eq "A: connections refused with 429" $((1000 - PER_USER)) "$(jq_of "$f" '.status["429"]')"
expect_eq "A: connections closed without an answer, or left open" "null null" \
        "$(jq_of "$f" '"\(.status.none) \(.status.open)"')"
expect_match "A: the 429's reason" "^ds01: you have $PER_USER connections open to the Docker proxy" \
        "$(jq_of "$f" '.message["429"]')"
expect_match "A: the 408's reason" "^ds01: the request head did not arrive within $HEAD_S s" \
        "$(jq_of "$f" '.message["408"]')"
within "A: 408 after (s, earliest)" "$(jq_of "$f" '.answered_after["408"][0]')" $((HEAD_S - 1)) $((HEAD_S + 4))
within "A: 408 after (s, latest)" "$(jq_of "$f" '.answered_after["408"][1]')" $((HEAD_S - 1)) $((HEAD_S + 4))
within "A: 429 after (s, latest)" "$(jq_of "$f" '.answered_after["429"][1]')" 0 5

f=$tmp/slowhead.json
echo "slow head: $(cat "$f")"
expect_eq "C: a head at one byte a second gets" 408 "$(jq_of "$f" .status)"
within "C: the slow head's 408 after (s)" "$(jq_of "$f" .elapsed)" $((HEAD_S - 1)) $((HEAD_S + 3))
expect_match "C: the slow head's reason" "^ds01: the request head did not arrive" "$(jq_of "$f" .message)"

f=$tmp/bigbody.json
echo "10 GB body: $(cat "$f")"
expect_eq "C: a 10 GB create body gets" 413 "$(jq_of "$f" .status)"
within "C: the 413 after (s)" "$(jq_of "$f" .elapsed)" 0 5
within "C: body bytes accepted before the 413" "$(jq_of "$f" .sent)" 0 $((64 << 20))
expect_match "C: the 413's reason" "^ds01: the request body is larger than 1024 KiB" "$(jq_of "$f" .message)"

f=$tmp/chunked.json
echo "chunked body: $(cat "$f")"
expect_eq "C: an endless chunked create body gets" 413 "$(jq_of "$f" .status)"
within "C: chunked bytes accepted before the 413" "$(jq_of "$f" .sent)" $((1 << 20)) $((64 << 20))

f=$tmp/slowbody.json
echo "stalled body: $(cat "$f")"
expect_eq "C: a stalled create body gets" 408 "$(jq_of "$f" .status)"
within "C: the stalled body's 408 after (s)" "$(jq_of "$f" .elapsed)" $((BODY_S - 1)) $((BODY_S + 3))
expect_match "C: the stalled body's reason" "^ds01: the request body did not arrive within $BODY_S s" \
        "$(jq_of "$f" .message)"

f=$tmp/keepalive.json
echo "kept alive: $(cat "$f")"
expect_eq "C: _ping on a kept-alive connection" 200 "$(jq_of "$f" .status)"
within "C: the idle connection closed after (s)" "$(jq_of "$f" .idle_closed_after)" $((IDLE_S - 1)) $((IDLE_S + 3))
expect_eq "C: the idle connection closed silently" "" "$(jq_of "$f" .after_answer)"

wait_for "ds01d's threads and descriptors back to the baseline after the flood" 30 near_baseline
echo "after the flood: $(threads) threads, $(fds) descriptors"

# ---- phase 2: A and E together reach the proxy's cap -----------------------------

rm -f "$tmp/flags/ready" "$tmp/flags/ready2"
bg_as "$A" "$tmp/flood-a.json" "$python" "$flood_py" flood "$psock" 60 --ready "$tmp/flags/ready" --hold 40
wait_for "A's 60 connections" 20 test -s "$tmp/flags/ready"
bg_as "$E" "$tmp/flood-e.json" "$python" "$flood_py" flood "$psock" 60 --ready "$tmp/flags/ready2" --hold 40
wait_bg
echo "A: $(cat "$tmp/flood-a.json")"
echo "E: $(cat "$tmp/flood-e.json")"
expect_eq "A: 48 served, 12 refused (429)" "$PER_USER $((60 - PER_USER))" \
        "$(jq_of "$tmp/flood-a.json" '"\(.status["408"]) \(.status["429"])"')"
expect_eq "E: the rest of 80 served, the others refused (503)" "$((TOTAL - PER_USER)) $((60 - TOTAL + PER_USER))" \
        "$(jq_of "$tmp/flood-e.json" '"\(.status["408"]) \(.status["503"])"')"
expect_match "E: the 503's reason" "^ds01: the Docker proxy is at its limit of open connections" \
        "$(jq_of "$tmp/flood-e.json" '.message["503"]')"

wait_for "ds01d's threads and descriptors back to the baseline" 30 near_baseline
echo "at the end: $(threads) threads, $(fds) descriptors (baseline $base_threads, $base_fds)"

# ---- phase 3: A floods the control API; B's ds01 commands work --------------------
# 64 connections per uid (control.c CONTROL_MAX_PER_USER), the rest answered
# 429 at once and closed within a second or two

csock=$tmp/run/ds01.sock
CONTROL_PER_USER=64
rm -f "$tmp/flags/ready"
bg_as "$A" "$tmp/flood-c.json" "$python" "$flood_py" flood "$csock" 300 --ready "$tmp/flags/ready" --hold 8
wait_for "A's 300 control API connections" 20 test -s "$tmp/flags/ready"
as "$A" "$DS01" --socket "$csock" gpu status
if [ "$rc" -ne 0 ] && [[ $out == *"you have $CONTROL_PER_USER connections open to ds01d"* ]]; then ok; else
        bad "A's ds01 gpu status over the cap: exit $rc: $(head -c 300 <<<"$out")"
fi
as "$B" "$DS01" --socket "$csock" gpu status --json
expect_eq "B: ds01 gpu status during A's control API flood" 0 "$rc"
within "B: ds01 gpu status during the flood (s)" "$secs" 0 5
echo "B: ds01 gpu status in $secs s during A's control API flood"
wait_bg
f=$tmp/flood-c.json
echo "control API flood: $(cat "$f")"
expect_eq "A: control API connections opened" 300 "$(jq_of "$f" .opened)"
expect_eq "A: control API connections kept (open at the end)" $CONTROL_PER_USER "$(jq_of "$f" '.status.open')"
expect_eq "A: control API connections refused with 429" $((300 - CONTROL_PER_USER)) "$(jq_of "$f" '.status["429"]')"
expect_match "A: the control API's 429 reason" "^ds01: you have $CONTROL_PER_USER connections open to ds01d" \
        "$(jq_of "$f" '.message["429"]')"
within "A: the control API's refused connections closed after (s, latest)" \
        "$(jq_of "$f" '.answered_after["429"][1]')" 0 4
within "refused at the control API's user cap (metric)" \
        "$(metric ds01_control_connections_refused_total)" $((300 - CONTROL_PER_USER)) 100000
# A's connections are gone: A is served again
a_served() { as "$A" "$DS01" --socket "$csock" gpu status --json && [ "$rc" -eq 0 ]; }
wait_for "A served by the control API again once its connections closed" 10 a_served
wait_for "ds01d's threads and descriptors back to the baseline after the control API flood" 30 near_baseline

# ---- what /metrics says, and ds01d still serves -----------------------------------

within "refused at the user cap (metric)" "$(metric 'ds01_proxy_connections_refused_total{limit="user"}')" \
        $((1000 - PER_USER + 60 - PER_USER)) 100000
within "refused at the total cap (metric)" "$(metric 'ds01_proxy_connections_refused_total{limit="total"}')" \
        $((60 - TOTAL + PER_USER)) 100000
within "head timeouts (metric)" "$(metric 'ds01_proxy_timeouts_total{phase="head"}')" \
        $((PER_USER + 1 + TOTAL)) 100000
within "body timeouts (metric)" "$(metric 'ds01_proxy_timeouts_total{phase="body"}')" 1 100000
within "idle closes (metric)" "$(metric 'ds01_proxy_timeouts_total{phase="idle"}')" 1 100000
expect_eq "open connections (metric)" 0 "$(metric ds01_proxy_connections)"
dk "$B" ps -a
expect_eq "B: docker ps at the end" 0 "$rc"
if kill -0 "$daemon_pid" 2>/dev/null; then ok; else bad "ds01d died"; fi
stop_daemon TERM
expect_eq "ds01d exits 0 on SIGTERM after the flood" 0 $?

echo "test-faults-conn: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
