#!/usr/bin/env bash
# proxy.sh - benchmark: ds01d's Docker API proxy (<run-dir>/docker.sock)
# against the real Docker socket, on the real engine (docker-harness.sh) with
# the busybox test image, on a private ds01d (daemon-lib.sh):
#
#   (a) `docker run --rm IMAGE true`, RUNS times each way, interleaved (the
#       order rotates every round): straight to the engine as root; through
#       the proxy as root (an admin: passed through unchanged); through the
#       proxy as ds01b-user, a non-root user the bench creates, whose requests
#       do the policy work (owner lookups, the create rewrite, the attach
#       upgrade). Median of each and its ratio to the direct run (target
#       <= 1.05).
#   (b) GET /v1.41/containers/json on CONNS keep-alive connections for SECONDS
#       (bench-proxy-load rate), ROUNDS rounds each way: requests/s (median of
#       the rounds), p50/p99 latency, and the ratio to direct (target >= 0.8).
#       The user's list is filtered to their own containers (none), so their
#       answers are shorter than root's; root through the proxy is the
#       like-for-like figure.
#   (c) ds01d's resident memory (VmRSS of /proc/<pid>/status), threads and
#       open files before, with IDLE connections to the proxy held open by
#       bench-proxy-load idle (each after one GET /_ping, as a client between
#       two requests), per connection, and after they closed.
#
# Every command runs under the same `timeout setpriv env -i` wrapper, so the
# three ways of (a) differ only in the socket and the user. The docker CLI is
# Debian's /usr/bin/docker when present (the one the tests use). ds01d gets
# the bench shell's open-files limit raised to min(hard, 8192), so that (c)
# measures memory rather than a descriptor limit; the limit is printed.
# Figures only; never fails: what cannot be measured is said, and the exit
# status is 0.
#
# Usage: bench/proxy.sh [RUNS] [SECONDS] [CONNS] [IDLE]   (after `make build`; as root)
#        defaults: 15 5 32 500; DS01_BENCH_BUILD=DIR takes the binaries from
#        another build folder than build/dev. The last line, "proxy-summary:
#        {JSON}", is for bench/run-all.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 0
SRC=$PWD
BUILD=${DS01_BENCH_BUILD:-$SRC/build/dev}
DS01=$BUILD/src/cli/ds01
DS01D=$BUILD/src/daemon/ds01d
FAKENVML=$BUILD/tests/fakenvml/libfakenvml.so
LOAD=$BUILD/bench/bench-proxy-load
SPAWN=$BUILD/bench/bench-spawn-many
runs=${1:-15}
secs=${2:-5}
conns=${3:-32}
idle=${4:-500}
rounds=3
limit=$((secs + 120)) # seconds any one measured command may take
api=v1.41
user=ds01b-user

say() { echo "proxy: $*"; }
skip() {
        say "not measured: $*"
        exit 0
}

[ "$(id -u)" -eq 0 ] || skip "run it as root (it creates the user $user)"
for f in "$DS01" "$DS01D" "$FAKENVML" "$LOAD" "$SPAWN"; do
        [ -e "$f" ] || skip "$f is missing; run 'make build' first"
done
for c in useradd userdel groupdel setpriv timeout env curl flock; do
        command -v "$c" >/dev/null || skip "'$c' is not installed"
done
TIMEOUT=$(command -v timeout)
SETPRIV=$(command -v setpriv)
ENV=$(command -v env)

export DS01_TEST_DOCKER_SOCKET=${DS01_TEST_DOCKER_SOCKET:-/var/run/docker.sock}
image=${DS01_TEST_DOCKER_IMAGE:-ds01-test-busybox:latest}
if ! "$SRC/tests/integration/docker-harness.sh" ensure >/tmp/ds01-bench-proxy-harness.log 2>&1; then
        tail -n 5 /tmp/ds01-bench-proxy-harness.log | sed 's/^/  /'
        skip "no Docker engine (tests/integration/docker-harness.sh ensure failed)"
fi
rm -f /tmp/ds01-bench-proxy-harness.log
docker_cli=/usr/bin/docker # Debian's docker.io, not a newer one earlier on PATH
[ -x "$docker_cli" ] || docker_cli=$(command -v docker) || skip "no docker CLI"

# One run at a time: the user name is fixed.
lock=/run/lock/ds01-bench-proxy.lock
[ -w /run/lock ] || lock=/tmp/ds01-bench-proxy.lock
exec 8>>"$lock"
flock -w 300 8 || skip "another bench/proxy.sh holds $lock"

# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"

D() { "$docker_cli" -H "unix://$DS01_TEST_DOCKER_SOCKET" "$@"; }
idle_pid=
made_user=0
remove_user_containers() {
        D ps -aq --no-trunc --filter "label=ds01.user=$user" 2>/dev/null | while read -r id; do
                [ -n "$id" ] && D rm -f -v "$id" >/dev/null 2>&1
        done
}
remove_user() {
        if id "$user" >/dev/null 2>&1; then
                userdel -f -r "$user" >/dev/null 2>&1 || say "could not remove the user $user"
        fi
        getent group "$user" >/dev/null && groupdel "$user" >/dev/null 2>&1
        rm -rf "/home/${user:?}"
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
        if [ -n "$idle_pid" ]; then
                kill "$idle_pid" 2>/dev/null
                wait "$idle_pid" 2>/dev/null
        fi
        remove_user_containers
        [ "$made_user" -eq 1 ] && remove_user
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the user, the configuration, ds01d --------------------------------------

remove_user_containers # left by a killed run
remove_user
useradd --create-home --home-dir "/home/$user" --user-group --shell /bin/sh "$user" >/dev/null ||
        skip "useradd $user failed"
made_user=1

cgroup_driver=$(D info --format '{{.CgroupDriver}}' 2>/dev/null)
[ "$cgroup_driver" = systemd ] || cgroup_driver=cgroupfs
chmod 0755 "$tmp"
mkdir -p "$tmp/etc" "$tmp/run" "$tmp/log"
chmod 0755 "$tmp/run"
cat >"$tmp/etc/resource-limits.yaml" <<EOF
defaults:
  max_gpu_equivalents: 1
  max_cpus: 2
  memory: 2g
  shm_size: 64m
  pids_limit: 1024
  max_containers_per_user: 1000
enforcement:
  cgroup_driver: $cgroup_driver
access_control:
  allowed_bind_paths: ["~"]
proxy:
  max_connections_per_user: 1000 # (c) opens 500 idle connections as one user
EOF
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 8192 ]; then hard=8192; fi
ulimit -Sn "$hard" 2>/dev/null
start_daemon a100x4 || skip "ds01d did not start (its log is above)"
chmod 0755 "$tmp/run"
psock=$tmp/run/docker.sock
wait_for "ds01d to listen on $psock" 10 test -S "$psock" || skip "ds01d has no proxy socket at $psock"

# as USER CMD...: CMD as USER (root or the bench user), with a clean
# environment, at most $limit s. Every measured command goes through this.
wrap_words() { # USER -> the wrapper's words, for bench-spawn-many lines too
        local u=$1 home=/root
        [ "$u" = root ] || home=/home/$u
        echo "$TIMEOUT -k 5 $limit $SETPRIV --reuid=$u --regid=$u --init-groups $ENV -i PATH=/usr/bin:/bin HOME=$home LANG=C.UTF-8"
}
as() {
        local u=$1
        shift
        # shellcheck disable=SC2046 # the wrapper's words are split on purpose
        $(wrap_words "$u") "$@"
}

[ "$(as root curl -s --max-time 5 --unix-socket "$psock" http://docker/_ping)" = OK ] ||
        skip "the proxy at $psock does not answer GET /_ping"
[ "$(as "$user" curl -s --max-time 5 --unix-socket "$psock" http://docker/_ping)" = OK ] ||
        skip "the proxy at $psock does not answer GET /_ping for $user"

engine=$(D version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null)
n_containers=$(D ps -aq 2>/dev/null | wc -l)
say "Docker $engine, $image, $(nproc) CPUs, ds01d of ${BUILD#"$SRC"/}, open-files limit $(awk '/^Max open files/ {print $4}' "/proc/$daemon_pid/limits")"

# ---- (a) docker run --rm IMAGE true -----------------------------------------

sock_of() { # WAY -> the socket
        if [ "$1" = direct ]; then echo "$DS01_TEST_DOCKER_SOCKET"; else echo "$psock"; fi
}
user_of() { if [ "$1" = user ]; then echo "$user"; else echo root; fi; }
# one_run WAY: one timed docker run; appends ms to $tmp/a-WAY or counts a failure
one_run() {
        local way=$1 out rc us
        out=$(echo "$tmp/a.out $(wrap_words "$(user_of "$way")") $docker_cli -H unix://$(sock_of "$way") run --rm $image true" |
                "$SPAWN")
        read -r _ rc us <<<"$out"
        if [ "${rc:-1}" -eq 0 ]; then
                awk -v u="$us" 'BEGIN { printf "%.3f\n", u / 1000 }' >>"$tmp/a-$way"
        else
                echo x >>"$tmp/a-fail-$way"
        fi
}
ways=(direct root)
if as "$user" "$docker_cli" -H "unix://$psock" run --rm "$image" true >"$tmp/user-run.out" 2>&1; then
        ways+=(user)
else
        say "docker run as $user through the proxy failed; measured as root only:"
        head -n 3 "$tmp/user-run.out" | sed 's/^/  /'
fi
nw=${#ways[@]}
for w in "${ways[@]}"; do # warm up: the image and the CLI in the page cache
        : >"$tmp/a-$w"
        one_run "$w"
        : >"$tmp/a-$w"
        rm -f "$tmp/a-fail-$w"
done
for ((i = 0; i < runs; i++)); do
        for ((k = 0; k < nw; k++)); do
                one_run "${ways[(i + k) % nw]}"
        done
done

median() { # FILE [PRINTF-FORMAT] -> the median of its numbers, or n/a
        sort -g "$1" | awk -v f="${2:-%.3f}" '{ v[NR] = $1 } END {
                if (NR == 0) { print "n/a"; exit }
                printf f "\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { # A B -> A/B with 3 decimals, or n/a
        awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a";
                else printf "%.3f", a / b }'
}
label_of() {
        case $1 in
        direct) echo "direct (root)" ;;
        root) echo "proxy, root (admin)" ;;
        user) echo "proxy, $user" ;;
        esac
}

echo "  docker run --rm $image true: $runs runs each way, interleaved"
a_direct=$(median "$tmp/a-direct")
for w in "${ways[@]}"; do
        m=$(median "$tmp/a-$w" %.1f)
        nf=0
        [ -f "$tmp/a-fail-$w" ] && nf=$(wc -l <"$tmp/a-fail-$w")
        if [ "$w" = direct ]; then
                printf '    %-24s median %8s ms' "$(label_of "$w")" "$m"
        else
                printf '    %-24s median %8s ms  (%sx direct; target <= 1.05)' "$(label_of "$w")" "$m" \
                        "$(ratio "$m" "$a_direct")"
        fi
        if [ "$nf" -eq 0 ]; then echo; else echo "  [$nf of $runs failed]"; fi
done

# ---- (b) GET /containers/json throughput --------------------------------------

# rate_run WAY: one round; appends "rps p50 p99 errors" to $tmp/b-WAY
rate_run() {
        local way=$1 line
        line=$(as "$(user_of "$way")" "$LOAD" rate "$(sock_of "$way")" "/$api/containers/json" \
                "$conns" "$secs" 2>"$tmp/b.err")
        if [[ $line =~ rps\ ([0-9.]+)\ p50_us\ ([0-9]+)\ p99_us\ ([0-9]+) ]]; then
                echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]} $(awk '{print $4}' <<<"$line")" \
                        >>"$tmp/b-$way"
        else
                echo "$(label_of "$way"): $(head -c 200 "$tmp/b.err")" >>"$tmp/b-fail"
        fi
}
for w in "${ways[@]}"; do : >"$tmp/b-$w"; done
for ((i = 0; i < rounds; i++)); do
        for ((k = 0; k < nw; k++)); do
                rate_run "${ways[(i + k) % nw]}"
        done
done
echo "  GET /$api/containers/json: $conns keep-alive connections, $secs s, median of $rounds rounds; the engine holds $n_containers containers"
b_direct=n/a
for w in "${ways[@]}"; do
        awk '{print $1}' "$tmp/b-$w" >"$tmp/b-$w.rps"
        awk '{print $2 / 1000}' "$tmp/b-$w" >"$tmp/b-$w.p50"
        awk '{print $3 / 1000}' "$tmp/b-$w" >"$tmp/b-$w.p99"
        errs=$(awk '{ s += $4 } END { print s + 0 }' "$tmp/b-$w")
        m=$(median "$tmp/b-$w.rps" %.0f)
        [ "$w" = direct ] && b_direct=$m
        printf '    %-24s %8s req/s  p50 %6s ms  p99 %6s ms' "$(label_of "$w")" "$m" \
                "$(median "$tmp/b-$w.p50" %.2f)" "$(median "$tmp/b-$w.p99" %.2f)"
        [ "$w" = direct ] || printf '  (%sx direct; target >= 0.8)' "$(ratio "$m" "$b_direct")"
        if [ "$errs" -eq 0 ]; then echo; else echo "  [$errs errors]"; fi
done
[ -f "$tmp/b-fail" ] && sed 's/^/    not measured: /' "$tmp/b-fail"

# ---- (c) memory per idle connection -----------------------------------------

status_of() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$daemon_pid/status"; }
n_fds() { find "/proc/$daemon_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
sleep 1 # the rate connections' threads are gone
rss0=$(status_of VmRSS)
thr0=$(status_of Threads)
fd0=$(n_fds)
# shellcheck disable=SC2046
$(wrap_words "$user") "$LOAD" idle "$psock" "$idle" ping >"$tmp/idle.out" 2>&1 &
idle_pid=$!
for ((i = 0; i < 600; i++)); do
        grep -q '^open ' "$tmp/idle.out" 2>/dev/null && break
        kill -0 "$idle_pid" 2>/dev/null || break
        sleep 0.1
done
opened=$(awk '/^open / { print $2 }' "$tmp/idle.out")
if [ -z "$opened" ]; then
        echo "  ds01d with $idle idle connections: not measured: $(head -c 200 "$tmp/idle.out")"
else
        sleep 1
        rss1=$(status_of VmRSS)
        thr1=$(status_of Threads)
        fd1=$(n_fds)
        kill "$idle_pid" 2>/dev/null
        wait "$idle_pid" 2>/dev/null
        idle_pid=
        sleep 1
        rss2=$(status_of VmRSS)
        thr2=$(status_of Threads)
        printf '  ds01d RSS: %s KiB; %s KiB with %s of %s idle connections (each after GET /_ping): %s KiB per connection\n' \
                "$rss0" "$rss1" "$opened" "$idle" \
                "$(awk -v a="$rss0" -v b="$rss1" -v n="$opened" 'BEGIN { printf "%.1f", n ? (b - a) / n : 0 }')"
        printf '    threads %s -> %s, open files %s -> %s; after they closed: %s KiB, %s threads\n' \
                "$thr0" "$thr1" "$fd0" "$fd1" "$rss2" "$thr2"
        grep -q 'first_error' "$tmp/idle.out" && sed 's/^/    /' "$tmp/idle.out" | head -n 1
fi
# one line for bench/run-all: the medians above as JSON
num() { [[ ${1:-} =~ ^[0-9.]+$ ]] && echo "$1" || echo null; }
way_json() { # WAY -> "run_ms": .., "rps": .., "p50_ms": .., "p99_ms": ..
        local w=$1
        if [ -f "$tmp/a-$w" ]; then
                echo "\"run_ms\": $(num "$(median "$tmp/a-$w" %.1f)"), \"rps\": $(num "$(median "$tmp/b-$w.rps" %.0f)"), \"p50_ms\": $(num "$(median "$tmp/b-$w.p50" %.2f)"), \"p99_ms\": $(num "$(median "$tmp/b-$w.p99" %.2f)")"
        else
                echo '"run_ms": null, "rps": null, "p50_ms": null, "p99_ms": null'
        fi
}
per_conn=null
[ -n "$opened" ] && per_conn=$(awk -v a="$rss0" -v b="$rss1" -v n="$opened" 'BEGIN { printf "%.1f", n ? (b - a) / n : 0 }')
echo "proxy-summary: {\"runs\": $runs, \"seconds\": $secs, \"conns\": $conns, \"rounds\": $rounds," \
        "\"direct\": {$(way_json direct)}, \"root\": {$(way_json root)}, \"user\": {$(way_json user)}," \
        "\"idle_conns\": $(num "${opened:-}"), \"rss_before_kib\": $(num "${rss0:-}"), \"rss_idle_kib\": $(num "${rss1:-}")," \
        "\"kib_per_idle_conn\": $per_conn}"
exit 0
