#!/usr/bin/env bash
# lifecycle.sh - benchmark: one full pass of ds01d's lifecycle loop
# (docs/LIFECYCLE.md) over N running containers, on the real engine
# (docker-harness.sh) with the busybox test image and a private ds01d
# (daemon-lib.sh, the a100x4 fake topology):
#
#   - the configuration is deploy/config/ with policies.check_interval_s 3600
#     (passes run only when asked), enforce_cpu_only true (every busybox
#     container is in scope and fully measured: cgroup CPU and memory, network
#     bytes, the decision), grace_period_m 0, the engine's cgroup driver, and
#     container_types.docker.idle_timeout_h 24 (so that no warning or stop
#     fires while the bench runs: every pass is the steady state, no actions);
#   - N busybox containers (`sleep 100000`, labels ds01.user=benchuser,
#     ds01.container_type=docker, named ds01bench-<pid>-<i>) are started on
#     the engine's socket as root, 8 at a time;
#   - passes (POST /v1/lifecycle/run {"dry_run":false}) until ds01d's view has
#     all N (their first look: counters only), one warm-up pass (every one of
#     them decided), then RUNS passes: the pass's own time inside ds01d
#     ("duration_s") and the client's wall time (curl), each, median, min,
#     max, per container, and the ratio to the 200 ms target;
#   - the old DS01's way: its cron scripts ran `docker inspect` per container,
#     once an hour; `docker inspect` of the N containers one by one (N process
#     spawns) is timed once here, with its ratio to ds01d's pass;
#     (and, for comparison, one `docker inspect` naming all N: the engine's
#     part of that);
#   - syscalls per container: strace -f -p <ds01d> (-f with -p attaches every
#     thread of the process; strace >= 4.x) over RUNS more passes; the
#     syscalls of the thread that received the POSTs (it runs the pass; the
#     HTTP request adds ~10 per pass) divided by RUNS x N, and the top ones.
#     Other threads (the 30 s reconcile, the GPU sampler) are counted apart.
#     Skipped when strace is missing (apt-get install strace).
#
# A client wall time far above the median is a pass that waited for ds01d's
# lock, most likely behind the full reconcile that inspects every container
# every 30 s; duration_s may include part of that wait.
#
# Everything it made (containers, ds01d, temp dirs) is removed at the end,
# also when interrupted. Figures only; never fails: what cannot be measured
# is said, and the exit status is 0.
#
# Usage: bench/lifecycle.sh [BUILD_DIR] [N] [RUNS]   (as root, after a build)
#        defaults: build/dev, $BENCH_LIFECYCLE_N or 500, 9. A Release build
#        (e.g. cmake -B /tmp/rel -DCMAKE_BUILD_TYPE=Release) gives the figure
#        that counts; build/dev is -O1. The last line, "lifecycle-summary:
#        {JSON}", is for bench/run-all.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 0
SRC=$PWD
build=${1:-build/dev}
[[ $build == /* ]] || build=$SRC/$build
n=${2:-${BENCH_LIFECYCLE_N:-500}}
runs=${3:-9}
DS01=$build/src/cli/ds01
DS01D=$build/src/daemon/ds01d
FAKENVML=$build/tests/fakenvml/libfakenvml.so
target_ms=200
par=8
prefix=ds01bench-$$-
user=benchuser

say() { echo "lifecycle: $*"; }
skip() {
        say "not measured: $*"
        exit 0
}

[[ $n =~ ^[1-9][0-9]*$ ]] || skip "N must be a positive number, not '$n'"
[[ $runs =~ ^[1-9][0-9]*$ ]] || skip "RUNS must be a positive number, not '$runs'"
[ "$(id -u)" -eq 0 ] || skip "run it as root (it starts containers and attaches strace)"
for f in "$DS01D" "$FAKENVML"; do
        [ -e "$f" ] || skip "$f is missing; build first (make build, or cmake --build BUILD_DIR)"
done
for c in curl jq xargs flock awk; do
        command -v "$c" >/dev/null || skip "'$c' is not installed"
done

export DS01_TEST_DOCKER_SOCKET=${DS01_TEST_DOCKER_SOCKET:-/var/run/docker.sock}
image=${DS01_TEST_DOCKER_IMAGE:-ds01-test-busybox:latest}
if ! "$SRC/tests/integration/docker-harness.sh" ensure >/tmp/ds01-bench-lifecycle-harness.log 2>&1; then
        tail -n 5 /tmp/ds01-bench-lifecycle-harness.log | sed 's/^/  /'
        skip "no Docker engine (tests/integration/docker-harness.sh ensure failed)"
fi
rm -f /tmp/ds01-bench-lifecycle-harness.log
docker_cli=/usr/bin/docker # Debian's docker.io, as the tests use
[ -x "$docker_cli" ] || docker_cli=$(command -v docker) || skip "no docker CLI"
D() { "$docker_cli" -H "unix://$DS01_TEST_DOCKER_SOCKET" "$@"; }

# One run at a time: N containers each are enough for one machine.
lock=/run/lock/ds01-bench-lifecycle.lock
[ -w /run/lock ] || lock=/tmp/ds01-bench-lifecycle.lock
exec 8>>"$lock"
flock -w 600 8 || skip "another bench/lifecycle.sh holds $lock"

# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"

strace_pid=
# remove_containers PREFIX: every container whose name starts with it, 8 at a time
remove_containers() {
        D ps -a --no-trunc --format '{{.ID}} {{.Names}}' 2>/dev/null |
                awk -v p="$1" 'index($2, p) == 1 { print $1 }' |
                xargs -r -P "$par" -n 16 "$docker_cli" -H "unix://$DS01_TEST_DOCKER_SOCKET" rm -f -v \
                        >/dev/null 2>&1
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
        if [ -n "$strace_pid" ]; then
                kill -INT "$strace_pid" 2>/dev/null
                wait "$strace_pid" 2>/dev/null
        fi
        remove_containers "$prefix"
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Containers of earlier runs that were killed before their cleanup ran.
D ps -a --format '{{.Names}}' 2>/dev/null | sed -n 's/^ds01bench-\([0-9]*\)-.*/\1/p' | sort -u |
        while read -r pid; do
                kill -0 "$pid" 2>/dev/null || remove_containers "ds01bench-$pid-"
        done

# ---- the configuration, ds01d ------------------------------------------------

cgroup_driver=$(D info --format '{{.CgroupDriver}}' 2>/dev/null)
[ "$cgroup_driver" = systemd ] || cgroup_driver=cgroupfs
mkdir -p "$tmp/etc"
cp -r "$SRC/deploy/config/." "$tmp/etc/"
cfg=$tmp/etc/resource-limits.yaml
sed -i -E \
        -e 's/^(  check_interval_s:) *[0-9]+/\1 3600/' \
        -e 's/^(  enforce_cpu_only:) *[a-z]+/\1 true/' \
        -e 's/^(  grace_period_m:) *[0-9]+/\1 0/' \
        -e "s/^(  cgroup_driver:) *[a-z]+/\\1 $cgroup_driver/" \
        -e '/^  docker:/,/^  [a-z]/ s/^(    idle_timeout_h:) *[0-9.a-z]+/\1 24/' \
        "$cfg"
for want in 'check_interval_s: 3600' 'enforce_cpu_only: true' 'grace_period_m: 0' \
        "cgroup_driver: $cgroup_driver" 'idle_timeout_h: 24'; do
        grep -q "^ *$want" "$cfg" || skip "could not set '$want' in the copy of resource-limits.yaml"
done
start_daemon a100x4 || skip "ds01d did not start (its log: $(tail -n 3 "$tmp/ds01d.log" | tr '\n' ' '))"
sock=$tmp/run/ds01.sock
wait_for "ds01d's socket $sock" 10 test -S "$sock" || skip "ds01d has no socket at $sock"

# pass: one real pass; prints "duration_s containers wall_s", fails on an error
pass() {
        local out
        out=$(curl -s --max-time 600 --unix-socket "$sock" -X POST -d '{"dry_run":false}' \
                -o "$tmp/pass.json" -w '%{http_code} %{time_total}' http://ds01d/v1/lifecycle/run) ||
                return 1
        [ "${out%% *}" = 200 ] || {
                say "POST /v1/lifecycle/run answered ${out%% *}: $(head -c 300 "$tmp/pass.json")" >&2
                return 1
        }
        jq -r --arg w "${out#* }" '"\(.duration_s) \(.containers) \($w)"' "$tmp/pass.json"
}
# view: the containers of ours in ds01d's last pass, as JSON lines
view() {
        curl -s --max-time 60 --unix-socket "$sock" http://ds01d/v1/lifecycle |
                jq -c --arg p "$prefix" '.containers[]? | select((.name // "" | ltrimstr("/")) | startswith($p))'
}

engine=$(D version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null)
others=$(D ps -q 2>/dev/null | wc -l)
say "Docker $engine, cgroup $(D info --format '{{.CgroupDriver}} v{{.CgroupVersion}}' 2>/dev/null), $image"
say "$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), ds01d of ${build#"$SRC"/}"

# ---- N containers --------------------------------------------------------------

say "starting $n containers ${prefix}1..$n ($par at a time; $others other running containers on the engine)"
t0=$(date +%s%N)
seq 1 "$n" | xargs -P "$par" -I{} "$docker_cli" -H "unix://$DS01_TEST_DOCKER_SOCKET" run -d \
        --name "${prefix}{}" --label "ds01.user=$user" --label ds01.container_type=docker \
        "$image" sleep 100000 >/dev/null 2>"$tmp/create.err"
t1=$(date +%s%N)
running=$(D ps --no-trunc --format '{{.Names}}' 2>/dev/null | grep -c "^$prefix")
say "$running of $n running after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s"
if [ "$running" -ne "$n" ]; then
        head -n 3 "$tmp/create.err" | sed 's/^/  /'
        skip "only $running of $n containers started"
fi

# Passes until ds01d's view has them all: each is a first look for the
# containers it sees the first time (counters only).
deadline=$((SECONDS + 300))
seen=0
while :; do
        pass >/dev/null || skip "the pass failed"
        seen=$(view | wc -l)
        [ "$seen" -ge "$n" ] && break
        [ $SECONDS -lt $deadline ] || skip "ds01d saw only $seen of $n containers after 300 s"
        sleep 1
done
pass >/dev/null || skip "the warm-up pass failed" # now every one of them is decided
sleep 8 # the engine settles after the starts
cpu_busy() { # percent of all CPUs busy over 2 s (/proc/stat)
        local a b
        a=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
        sleep 2
        b=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
        awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
                busy = y[1] - x[1]; all = busy + y[2] - x[2];
                printf "%.0f", (all > 0 ? 100 * busy / all : 0) }'
}
say "CPUs busy before the passes: $(cpu_busy) % (2 s, /proc/stat)"

# ---- RUNS passes ---------------------------------------------------------------

: >"$tmp/server_ms"
: >"$tmp/wall_ms"
for ((i = 1; i <= runs; i++)); do
        read -r dur cont wall < <(pass) || skip "pass $i failed"
        awk -v d="$dur" 'BEGIN { printf "%.3f\n", d * 1000 }' >>"$tmp/server_ms"
        awk -v w="$wall" 'BEGIN { printf "%.3f\n", w * 1000 }' >>"$tmp/wall_ms"
done
view >"$tmp/view"
in_scope=$(jq -s 'map(select(.in_scope)) | length' "$tmp/view")
measured=$(jq -s 'map(select(.signals.cpu_percent != null and .signals.net_bytes != null)) | length' "$tmp/view")
decided=$(jq -s 'map(select(.why | startswith("first look") | not)) | length' "$tmp/view")
actions=$(jq -s 'map(.actions | map(select(.in_s <= 0)) | length) | add // 0' "$tmp/view")

stats() { # FILE -> "median min max"
        sort -g "$1" | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print "n/a n/a n/a"; exit }
                m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                printf "%.1f %.1f %.1f\n", m, v[1], v[NR] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.3f", a / b }'; }
read -r sm smin smax < <(stats "$tmp/server_ms")
read -r wm wmin wmax < <(stats "$tmp/wall_ms")
rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$daemon_pid/status")

echo "  $runs passes over $cont containers ($n ours: $in_scope in scope, $measured with CPU and network" \
        "measured, $decided decided, $actions due actions)"
echo "    server (duration_s): $(tr '\n' ' ' <"$tmp/server_ms")ms"
echo "    client (curl wall):  $(tr '\n' ' ' <"$tmp/wall_ms")ms"
printf '    pass inside ds01d: median %s ms (min %s, max %s); %.3f ms per container; %sx the %d ms target\n' \
        "$sm" "$smin" "$smax" "$(awk -v m="$sm" -v c="$cont" 'BEGIN { print m / c }')" \
        "$(ratio "$sm" "$target_ms")" "$target_ms"
printf '    pass seen by the client: median %s ms (min %s, max %s)\n' "$wm" "$wmin" "$wmax"
if awk -v m="$wm" -v x="$wmax" 'BEGIN { exit !(x > m + 500) }'; then
        echo "    (the slowest waited for ds01d's lock, most likely held by the full reconcile" \
                "that inspects every container every 30 s)"
fi
echo "    ds01d resident memory with $cont containers: $((rss / 1024)) MiB"

# ---- the old way: docker inspect per container ----------------------------------

D ps -q --no-trunc --filter "name=$prefix" >"$tmp/ids"
t0=$(date +%s%N)
while read -r id; do
        "$docker_cli" -H "unix://$DS01_TEST_DOCKER_SOCKET" inspect "$id" >/dev/null 2>&1
done <"$tmp/ids"
t1=$(date +%s%N)
n_ids=$(wc -l <"$tmp/ids")
old_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
old_per=$(awk -v t="$old_ms" -v c="$n_ids" 'BEGIN { printf "%.1f", c ? t / c : 0 }')
echo "  old DS01 (cron, hourly): docker inspect of $n_ids containers one by one: $old_ms ms" \
        "($old_per ms each); ds01d's pass is $(ratio "$sm" "$old_ms")x of that" \
        "($(awk -v a="$old_ms" -v b="$sm" 'BEGIN { printf "%.0f", b ? a / b : 0 }')x faster)"
t0=$(date +%s%N)
xargs "$docker_cli" -H "unix://$DS01_TEST_DOCKER_SOCKET" inspect <"$tmp/ids" >/dev/null 2>&1
t1=$(date +%s%N)
echo "    for comparison, one docker inspect naming all $n_ids: $(awk -v a="$t0" -v b="$t1" \
        'BEGIN { printf "%.1f", (b - a) / 1e6 }') ms (the engine's part; the rest is $n_ids CLI starts)"
hour_new=$(awk -v m="$sm" 'BEGIN { printf "%.1f", m * 60 / 1000 }')
echo "    per hour: old 1 pass = $(awk -v t="$old_ms" 'BEGIN { printf "%.1f", t / 1000 }') s;" \
        "ds01d at the default check_interval_s 60 = 60 passes = $hour_new s"

# ---- syscalls per container --------------------------------------------------------

sys_line="not measured (strace is not installed; apt-get install strace)"
if command -v strace >/dev/null; then
        # The whole trace (not -c): the pass runs in the thread that received
        # the POST, so its syscalls can be told from the other threads' (the
        # 30 s reconcile, the GPU sampler), whatever falls in the same time.
        strace -f -q -o "$tmp/strace.txt" -p "$daemon_pid" 2>"$tmp/strace.err" &
        strace_pid=$!
        sleep 1 # attached to every thread
        : >"$tmp/strace_ms"
        for ((i = 1; i <= runs; i++)); do
                read -r dur _ _ < <(pass) || break
                awk -v d="$dur" 'BEGIN { printf "%.3f\n", d * 1000 }' >>"$tmp/strace_ms"
        done
        kill -INT "$strace_pid" 2>/dev/null
        wait "$strace_pid" 2>/dev/null
        strace_pid=
        done_runs=$(wc -l <"$tmp/strace_ms")
        # "TID name(args) = ret"; an interrupted call is a "name(... <unfinished ...>"
        # line and a "<... name resumed>" line: counted once.
        awk '/POST \/v1\/lifecycle\/run/ { print $1 }' "$tmp/strace.txt" | sort -u >"$tmp/pass_tids"
        awk 'FILENAME == ARGV[1] { t[$1] = 1; next }
             $2 ~ /^</ || $2 ~ /^(\+\+\+|---)/ { next }
             { name = $2; sub(/\(.*/, "", name); print (($1 in t) ? "pass" : "other"), name }' \
                "$tmp/pass_tids" "$tmp/strace.txt" >"$tmp/calls"
        in_pass=$(grep -c '^pass ' "$tmp/calls")
        others=$(grep -c '^other ' "$tmp/calls")
        if [ -s "$tmp/pass_tids" ] && [ "$in_pass" -gt 0 ] && [ "$done_runs" -gt 0 ]; then
                per=$(awk -v t="$in_pass" -v r="$done_runs" -v c="$cont" 'BEGIN { printf "%.1f", t / (r * c) }')
                sys_line="$per syscalls per container per pass"
                echo "  strace -f -p <ds01d> over $done_runs passes: the pass's thread made $in_pass syscalls:" \
                        "$per per container per pass (the HTTP request's own ~10 per pass included);" \
                        "ds01d's other threads $others meanwhile. Passes under strace: median" \
                        "$(stats "$tmp/strace_ms" | awk '{ print $1 }') ms"
                echo "    top syscalls of the pass, per container per pass:"
                awk '$1 == "pass" { print $2 }' "$tmp/calls" | sort | uniq -c | sort -rn | head -n 8 |
                        awk -v r="$done_runs" -v c="$cont" '{ printf "      %-16s %6.2f\n", $2, $1 / (r * c) }'
        else
                sys_line="not measured (no trace of the pass: $(head -c 200 "$tmp/strace.err"))"
                echo "  syscalls: $sys_line"
        fi
else
        echo "  syscalls: $sys_line"
fi

# ---- for docs/PERFORMANCE.md -------------------------------------------------------

echo
echo "lifecycle: figures ($(nproc) CPUs, ${build#"$SRC"/}, Docker $engine, $cont containers, $runs passes)"
echo "| | figure | target |"
echo "|---|---|---|"
echo "| one pass inside ds01d (duration_s), median | $sm ms (min $smin, max $smax) | < $target_ms ms ($(ratio "$sm" "$target_ms")x) |"
echo "| the same, seen by the client | $wm ms (min $wmin, max $wmax) | |"
echo "| per container | $(awk -v m="$sm" -v c="$cont" 'BEGIN { printf "%.3f", m / c }') ms | |"
echo "| syscalls per container per pass | $sys_line | |"
echo "| old DS01: docker inspect per container | $old_ms ms ($old_per ms each; $(awk -v a="$old_ms" -v b="$sm" 'BEGIN { printf "%.0f", b ? a / b : 0 }')x ds01d's pass) | |"
echo "| ds01d resident memory | $((rss / 1024)) MiB | |"
num() { [[ ${1:-} =~ ^[0-9.]+$ ]] && echo "$1" || echo null; }
sys_per=null
[[ $sys_line =~ ^([0-9.]+)\ syscalls ]] && sys_per=${BASH_REMATCH[1]}
echo "lifecycle-summary: {\"containers\": $(num "$cont"), \"runs\": $runs, \"pass_median_ms\": $(num "$sm")," \
        "\"pass_min_ms\": $(num "$smin"), \"pass_max_ms\": $(num "$smax"), \"client_median_ms\": $(num "$wm")," \
        "\"old_inspect_ms\": $(num "$old_ms"), \"old_inspect_each_ms\": $(num "$old_per")," \
        "\"syscalls_per_container\": $sys_per, \"rss_mib\": $((rss / 1024))}"
exit 0
