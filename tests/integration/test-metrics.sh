#!/usr/bin/env bash
# test-metrics.sh - GET /metrics and /health of a private ds01d with GPUs
# (fake NVML, a100x4-mixed), allocations and events:
#  - `promtool check metrics` on a live scrape reports nothing;
#  - the families existing DS01 dashboards use are there, with their labels;
#  - a real Prometheus server scraping the daemon shows ds01_gpu_allocated for
#    an allocated container through its query API.
#
# Usage: test-metrics.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4
# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
prom_pid=
stop_prometheus() {
        [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
        prom_pid=
}
trap 'stop_prometheus; cleanup_daemon' EXIT

for tool in promtool prometheus curl jq; do
        command -v "$tool" >/dev/null || {
                echo "test-metrics: $tool is missing (scripts/install-deps installs it)" >&2
                exit 1
        }
done

mkdir -p "$tmp/etc"
cat >"$tmp/etc/resource-limits.yaml" <<'EOF'
defaults:
  max_gpu_equivalents: 2
  allow_full_gpu: true
groups:
  student:
    members: [alice, bob]
  researcher:
    members: [carol]
EOF
# one full GPU and one GPU with 7 MIG slices, nothing running on them
cat >"$tmp/etc/topology.yaml" <<'EOF'
gpus:
  - name: NVIDIA A100-SXM4-40GB
    memory_total_mib: 40960
    temperature_c: 40
    utilization: {gpu: 3, memory: 1}
  - name: NVIDIA A100-SXM4-40GB
    memory_total_mib: 40960
    temperature_c: 41
    mig: {current: true}
    mig_devices:
      - {profile: 1g.5gb, gpu_instance_id: 7, slices: 1, memory_mib: 4864}
      - {profile: 1g.5gb, gpu_instance_id: 8, slices: 1, memory_mib: 4864}
      - {profile: 1g.5gb, gpu_instance_id: 9, slices: 1, memory_mib: 4864}
      - {profile: 1g.5gb, gpu_instance_id: 11, slices: 1, memory_mib: 4864}
EOF
start_daemon "$tmp/etc/topology.yaml" || exit 1
port=$(cat "$tmp/run/ds01d.port")
ds01 gpu allocate alice nb-alice >/dev/null
ds01 gpu allocate bob nb-bob --count 1 >/dev/null
ds01 gpu allocate carol train --full >/dev/null
ds01 gpu allocate alice nb-alice-2 >/dev/null
printf '%s\n' '{"ts": "2020-01-01T00:00:00Z", "event": "container.created", "user": "alice"}' \
        "{\"timestamp\":\"$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)\",\"event_type\":\"lifecycle.idle_kill\",\"schema_version\":\"1\",\"user\":\"bob\"}" \
        >"$tmp/import.jsonl"
ds01 events import "$tmp/import.jsonl" >/dev/null

# /health
expect_eq "health" OK "$(curl -s "http://127.0.0.1:$port/health")"

# a live scrape: content type, promtool silent
headers=$(curl -s -D - -o "$tmp/metrics.txt" "http://127.0.0.1:$port/metrics")
expect_match "content type" 'Content-Type: text/plain; version=0\.0\.4; charset=utf-8' "$headers"
lint=$(promtool check metrics <"$tmp/metrics.txt" 2>&1)
expect_eq "promtool check metrics exit" 0 $?
expect_eq "promtool check metrics output" "" "$lint"
m=$(cat "$tmp/metrics.txt")

# every family the issue names is present with HELP and TYPE
for f in ds01_exporter_info ds01_gpu_allocated ds01_gpu_equivalents ds01_containers_total \
        ds01_user_gpus_allocated ds01_user_gpu_equivalents ds01_user_containers_count \
        ds01_user_mig_allocated ds01_events_24h_total ds01_lifecycle_events_total \
        ds01_state_disk_bytes ds01_gpu_slot_info ds01_mig_slot_info ds01_unmanaged_gpu_count \
        ds01_unmanaged_gpu_container ds01_user_cpu_usage_seconds_total ds01_user_memory_current_bytes \
        ds01_unmanaged_gpu_running ds01_unmanaged_gpu_all_access ds01_ssh_sessions_active \
        ds01_ssh_sessions_total ds01_user_group_info ds01_group_members_total \
        ds01_gpu_utilization_percent ds01_gpu_memory_used_bytes ds01_gpu_memory_total_bytes \
        ds01_gpu_temperature_celsius ds01_gpu_power_watts ds01_gpu_energy_joules_total \
        ds01_gpu_ecc_errors_total ds01_gpu_xid_errors_total ds01_gpu_healthy \
        ds01_mig_utilization_percent ds01_mig_memory_used_bytes ds01_queue_length \
        ds01_queue_wait_seconds ds01_reservations_active ds01_scrape_duration_seconds \
        ds01_docker_up ds01_nvml_up ds01_collector_errors_total; do
        if grep -q "^# TYPE $f " <<<"$m" && grep -q "^# HELP $f " <<<"$m"; then ok; else bad "family $f missing"; fi
done

# values
expect_match "allocated, alice" 'ds01_gpu_allocated\{gpu_slot="1\.[0-6]",container="nb-alice",user="alice",interface="",profile="1g\.5gb"\} 1' "$m"
expect_match "allocated, carol full" 'ds01_gpu_allocated\{gpu_slot="0",container="train",user="carol",interface="",profile="full"\} 1' "$m"
expect_match "user equivalents" 'ds01_user_gpu_equivalents\{user="alice"\} 0\.2857142857142857' "$m"
expect_match "user containers" 'ds01_user_containers_count\{user="alice"\} 2' "$m"
expect_match "user mig" 'ds01_user_mig_allocated\{user="alice"\} 2' "$m"
expect_match "events 24h" 'ds01_events_24h_total\{event_type="gpu\.allocated"\} 4' "$m"
expect_match "lifecycle from the import" 'ds01_lifecycle_events_total\{action="idle_kill"\} 1' "$m"
expect_eq "old imported event not in 24h" "" "$(grep 'event_type="container.created"' <<<"$m")"
expect_eq "lifecycle actions always present" 7 "$(grep -c '^ds01_lifecycle_events_total{' <<<"$m")"
expect_eq "containers_total combinations" 42 "$(grep -c '^ds01_containers_total{' <<<"$m")"
expect_match "slot info" 'ds01_gpu_slot_info\{gpu="1",slot="1",gpu_uuid="GPU-[0-9a-f-]+",mig_enabled="true"\} 1' "$m"
expect_match "mig slot info" 'ds01_mig_slot_info\{gpu="1",gpu_i_id="11",slot="1\.3",mig_uuid="MIG-[0-9a-f-]+"\} 1' "$m"
expect_eq "gpus healthy" 2 "$(grep -c '^ds01_gpu_healthy{gpu="[0-1]"} 1' <<<"$m")"
expect_match "temperature" 'ds01_gpu_temperature_celsius\{gpu="0"\} [0-9]+' "$m"
expect_match "group info" 'ds01_user_group_info\{user="carol",group="researcher"\} 1' "$m"
expect_match "nvml up" 'ds01_nvml_up 1' "$m"
expect_match "disk" 'ds01_state_disk_bytes\{type="free"\} [0-9]' "$m"
expect_eq "collector errors" "0 0 0 0 0 0" \
        "$(grep '^ds01_collector_errors_total{' <<<"$m" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')"

# the 24 h counts follow new events between scrapes
ds01 gpu release nb-bob >/dev/null
m2=$(curl -s "http://127.0.0.1:$port/metrics")
expect_match "events 24h after a release" 'ds01_events_24h_total\{event_type="gpu\.released"\} 1' "$m2"
expect_match "events 24h allocated unchanged" 'ds01_events_24h_total\{event_type="gpu\.allocated"\} 4' "$m2"

# a real Prometheus scraping the daemon
prom_port=$((20000 + $$ % 20000))
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: ds01
    static_configs:
      - targets: ["127.0.0.1:$port"]
EOF
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom" \
        --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
has_series() {
        curl -s "http://127.0.0.1:$prom_port/api/v1/query" \
                --data-urlencode 'query=ds01_gpu_allocated{container="train"}' |
                jq -e '.data.result | length == 1' >/dev/null
}
if wait_for "Prometheus to scrape ds01_gpu_allocated" 60 has_series; then
        series=$(curl -s "http://127.0.0.1:$prom_port/api/v1/query" \
                --data-urlencode 'query=ds01_gpu_allocated{container="train"}')
        expect_eq "prometheus: user label" carol "$(jq -r '.data.result[0].metric.user' <<<"$series")"
        expect_eq "prometheus: slot label" 0 "$(jq -r '.data.result[0].metric.gpu_slot' <<<"$series")"
        expect_eq "prometheus: target up" 1 "$(curl -s "http://127.0.0.1:$prom_port/api/v1/query" \
                --data-urlencode 'query=up{job="ds01"}' | jq -r '.data.result[0].value[1]')"
else
        tail -n 20 "$tmp/prometheus.log" >&2
fi
stop_prometheus
stop_daemon
expect_eq "ds01d exit" 0 $?

echo "test-metrics: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
