#!/usr/bin/env bash
# scrape.sh - benchmark: GET /metrics of a private ds01d on the h100x8-mig fake
# topology (56 slots) with 500 containers known to the state, 40 allocations
# and 200,000 events in the last 24 h. Prints the first scrape (it counts the
# 24 h window from the database; later scrapes only add what entered and take
# off what left), the median and p99 of SCRAPES scrapes after it (spaced like
# a fast Prometheus, back to back), ds01d's resident memory before and after,
# and the ratio against the targets of issue 5 (p99 < 10 ms, RSS < 20 MiB)
# and the old Python exporter (~1 s per scrape). Figures only; never fails.
#
# Usage: bench/scrape.sh [SCRAPES]   (after `make build`; run as root)
#        DS01_BENCH_BUILD=DIR takes the binaries from another build folder than
#        build/dev. The last line, "scrape-summary: {JSON}", is for bench/run-all.
set -uo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=${DS01_BENCH_BUILD:-$SRC/build/dev}
DS01=$BUILD/src/cli/ds01
DS01D=$BUILD/src/daemon/ds01d
FAKENVML=$BUILD/tests/fakenvml/libfakenvml.so
scrapes=${1:-200}
# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
trap cleanup_daemon EXIT
mkdir -p "$tmp/etc"
cat >"$tmp/etc/resource-limits.yaml" <<'EOF'
defaults:
  max_gpu_equivalents: 100
  max_containers_per_user: 100
EOF

# create the schema, then fill it while the daemon is stopped
start_daemon h100x8-mig || exit 0
stop_daemon
now_us=$(($(date +%s) * 1000000))
sqlite3 "$tmp/state/state.db" <<EOF
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO containers (id, name, user, type, state, first_seen, last_seen)
SELECT printf('%064x', i), 'bench-' || i, 'user' || (i % 50), 
       CASE i % 4 WHEN 0 THEN 'orchestration' WHEN 1 THEN 'devcontainer' WHEN 2 THEN 'compose' ELSE 'docker' END,
       CASE i % 3 WHEN 0 THEN 'running' WHEN 1 THEN 'exited' ELSE 'created' END, $now_us, $now_us FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO events (time, type, user, source, container, details)
SELECT $now_us - (i * 400000), 
       CASE i % 5 WHEN 0 THEN 'gpu.allocated' WHEN 1 THEN 'gpu.released' WHEN 2 THEN 'container.started'
                  WHEN 3 THEN 'auth.denied' ELSE 'lifecycle.idle_kill' END,
       'user' || (i % 50), 'ds01d', 'bench-' || (i % 500), '{"n":' || i || '}' FROM n;
EOF
start_daemon h100x8-mig || exit 0
port=$(cat "$tmp/run/ds01d.port")
for i in $(seq 1 40); do ds01 gpu allocate "user$((i % 20))" "bench-$i" >/dev/null 2>&1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$daemon_pid/status"; }
rss0=$(rss)
first=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/metrics")
: >"$tmp/times"
for i in $(seq 1 "$scrapes"); do
        curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/metrics" >>"$tmp/times"
done
size=$(curl -s "http://127.0.0.1:$port/metrics" | wc -c)
inside=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^ds01_scrape_duration_seconds / {print $2 * 1000}')
rss1=$(rss)
stop_daemon
read -r med p99 < <(sort -g "$tmp/times" | awk '{v[NR] = $1 * 1000} END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        print m, v[int(NR * 0.99 + 0.999999)] }')
echo "scrape: h100x8-mig (56 slots), 500 containers, 40 allocations, 200000 events in 24 h; $scrapes scrapes"
printf '  first scrape (counts the 24 h window): %.2f ms\n' "$(awk -v x="$first" 'BEGIN{print x*1000}')"
printf '  GET /metrics: median %.2f ms  p99 %.2f ms  (%.2fx the 10 ms p99 target; the old exporter ~1 s is %.0fx slower)\n' \
        "$med" "$p99" "$(awk -v x="$p99" 'BEGIN{print x/10}')" "$(awk -v x="$med" 'BEGIN{print 1000/x}')"
printf '  inside ds01d (ds01_scrape_duration_seconds): %.2f ms; page %d bytes\n' "$inside" "$size"
printf '  ds01d RSS: %d KiB before, %d KiB after  (%.2fx the 20 MiB target)\n' "$rss0" "$rss1" \
        "$(awk -v x="$rss1" 'BEGIN{print x/20480}')"
num() { [[ $1 =~ ^[0-9.]+$ ]] && echo "$1" || echo null; }
echo "scrape-summary: {\"scrapes\": $scrapes, \"first_ms\": $(num "$(awk -v x="$first" 'BEGIN{printf "%.2f", x*1000}')")," \
        "\"median_ms\": $(num "$med"), \"p99_ms\": $(num "$p99"), \"inside_ms\": $(num "$inside")," \
        "\"rss_before_kib\": $(num "$rss0"), \"rss_after_kib\": $(num "$rss1"), \"page_bytes\": $(num "$size")}"
