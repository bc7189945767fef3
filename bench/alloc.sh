#!/usr/bin/env bash
# alloc.sh - benchmark: 200 concurrent `ds01 gpu allocate` calls from 20 users
# against a private ds01d on the h100x8-mig fake topology, ROUNDS times (a
# fresh state each round). Prints the median and p99 of
#   - one decision inside ds01d (reading state + the allocator: decision_us),
#   - one decision with its transaction (fsync included: total_us),
#   - one CLI call (spawn to exit of the ds01 process, measured by
#     bench-spawn-many without a shell in between),
# over all calls of all rounds, and the ratio against the targets of issue 4
# (decision < 1 ms, CLI call < 20 ms median). Figures only; never fails.
#
# Usage: bench/alloc.sh [ROUNDS]   (after `make build`; run as root)
#        DS01_BENCH_BUILD=DIR takes the binaries from another build folder than
#        build/dev. The last line, "alloc-summary: {JSON}", is for bench/run-all.
set -uo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=${DS01_BENCH_BUILD:-$SRC/build/dev}
DS01=$BUILD/src/cli/ds01
DS01D=$BUILD/src/daemon/ds01d
FAKENVML=$BUILD/tests/fakenvml/libfakenvml.so
rounds=${1:-3}
# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
trap cleanup_daemon EXIT
mkdir -p "$tmp/etc"
users=$(printf 'u%02d ' $(seq 1 20))
cat >"$tmp/etc/resource-limits.yaml" <<EOF
defaults:
  max_gpu_equivalents: 0.43
  max_containers_per_user: 10
groups:
  student:
    members: [$(echo $users | tr ' ' ',')]
EOF

: >"$tmp/cli_ms"
: >"$tmp/decision_us"
: >"$tmp/total_us"
for r in $(seq 1 "$rounds"); do
        rm -rf "$tmp/state" "$tmp/run" "$tmp/out"
        mkdir -p "$tmp/out"
        start_daemon h100x8-mig || exit 0
        for u in $users; do
                for c in $(seq 1 10); do
                        echo "$tmp/out/$u-$c.json $DS01 --socket $tmp/run/ds01.sock gpu allocate $u $u-c$c --json"
                done
        done | "$BUILD/bench/bench-spawn-many" >"$tmp/spawned"
        awk '{printf "%.3f\n", $3 / 1000}' "$tmp/spawned" >>"$tmp/cli_ms"
        jq -r '.decision_us // empty' "$tmp"/out/*.json >>"$tmp/decision_us"
        jq -r '.total_us // empty' "$tmp"/out/*.json >>"$tmp/total_us"
        stop_daemon
done

stats() { # FILE -> "median p99 n"
        sort -g "$1" | awk '{v[NR] = $1} END {
                if (NR == 0) { print "n/a n/a 0"; exit }
                m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                p = v[int(NR * 0.99 + 0.999999)]
                print m, p, NR }'
}
read -r dm dp dn < <(stats "$tmp/decision_us")
read -r tm tp tn < <(stats "$tmp/total_us")
read -r cm cp cn < <(stats "$tmp/cli_ms")
# the same call alone, one after another: what a script calling ds01 sees
rm -rf "$tmp/state" "$tmp/run"
start_daemon h100x8-mig || exit 0
for i in $(seq 1 40); do
        echo "/dev/null $DS01 --socket $tmp/run/ds01.sock gpu allocate seq$i s$i --json" |
                "$BUILD/bench/bench-spawn-many"
done | awk '{printf "%.3f\n", $3 / 1000}' >"$tmp/seq_ms"
stop_daemon
read -r sm sp sn < <(stats "$tmp/seq_ms")
echo "alloc: $rounds rounds x 200 concurrent ds01 gpu allocate calls, 20 users, h100x8-mig"
printf '  decision (state + allocator): median %6.0f us  p99 %6.0f us  (%.2fx the 1 ms target)  n=%s\n' \
        "$dm" "$dp" "$(awk -v x="$dm" "BEGIN{print x/1000}")" "$dn"
printf '  decision + transaction:       median %6.0f us  p99 %6.0f us  n=%s\n' "$tm" "$tp" "$tn"
printf '  CLI call (whole process):     median %6.1f ms  p99 %6.1f ms  (%.2fx the 20 ms target)  n=%s\n' \
        "$cm" "$cp" "$(awk -v x="$cm" "BEGIN{print x/20}")" "$cn"
printf '  CLI call, one at a time:      median %6.1f ms  p99 %6.1f ms  (%.2fx the 20 ms target)  n=%s\n' \
        "$sm" "$sp" "$(awk -v x="$sm" "BEGIN{print x/20}")" "$sn"
echo "  ($(nproc) CPUs: 200 processes starting at once queue for them; one ds01 start costs ~4 ms of CPU)"
num() { [[ $1 =~ ^[0-9.]+$ ]] && echo "$1" || echo null; }
echo "alloc-summary: {\"rounds\": $rounds, \"decision_median_us\": $(num "$dm"), \"decision_p99_us\": $(num "$dp")," \
        "\"transaction_median_us\": $(num "$tm"), \"transaction_p99_us\": $(num "$tp")," \
        "\"cli_concurrent_median_ms\": $(num "$cm"), \"cli_concurrent_p99_ms\": $(num "$cp")," \
        "\"cli_median_ms\": $(num "$sm"), \"cli_p99_ms\": $(num "$sp"), \"calls\": $(num "$cn")}"
