#!/usr/bin/env bash
# test-gpu.sh - `ds01 gpu list` and a polling process against the fake NVML
# library, the way an admin sees them:
#  - a100x4-mixed: 13 slots with their weights and MIG profiles (--json, text);
#  - no NVML library: the reason, "0 GPUs", exit 0;
#  - broken: the lost GPU reported, the others listed;
#  - a process that polls samples sees a fixture change in the first round
#    that starts after the change (within one polling interval).
#
# Usage: test-gpu.sh DS01 GPU_POLL FAKENVML_LIB SOURCE_DIR
set -uo pipefail

ds01=$1
poll=$2
fake=$3
src=$4
topo=$src/tests/fixtures/topology
tmp=$(mktemp -d /tmp/ds01-test-gpu-XXXXXX)
poller=
cleanup() {
        [ -n "$poller" ] && kill "$poller" 2>/dev/null && wait "$poller" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
        fail=$((fail + 1))
        echo "FAIL: $*" >&2
}
expect_eq() { if [ "$2" == "$3" ]; then ok; else bad "$1: expected [$2], got [$3]"; fi; }
expect_match() { if [[ $3 =~ $2 ]]; then ok; else bad "$1: [$3] does not match [$2]"; fi; }
run() {
        out=$("$@" 2>"$tmp/err")
        rc=$?
        err=$(cat "$tmp/err")
}

export DS01_NVML_LIBRARY=$fake

# ---- acceptance 2: the mixed topology ------------------------------------
export DS01_FAKENVML_TOPOLOGY=$topo/a100x4-mixed.yaml
run "$ds01" gpu list --json
expect_eq "mixed json exit" 0 "$rc"
expect_eq "mixed slot count" 13 "$(jq '[.gpus[].slots[]] | length' <<<"$out")"
expect_eq "mixed totals.slots" 13 "$(jq '.totals.slots' <<<"$out")"
expect_eq "mixed slot names" "0 1.0 1.1 1.2 1.3 1.4 1.5 1.6 2.0 2.1 2.2 3.0 3.1" \
        "$(jq -r '[.gpus[].slots[].slot] | join(" ")' <<<"$out")"
expect_eq "mixed profiles" "null 1g.5gb 1g.5gb 1g.5gb 1g.5gb 1g.5gb 1g.5gb 1g.5gb 2g.10gb 2g.10gb 2g.10gb 3g.20gb 3g.20gb" \
        "$(jq -r '[.gpus[].slots[] | .profile // "null"] | join(" ")' <<<"$out")"
expect_eq "mixed weights (x7)" "7 1 1 1 1 1 1 1 2 2 2 3 3" \
        "$(jq -r '[.gpus[].slots[].gpu_equivalents * 7 | . * 1e9 | round / 1e9] | map(tostring) | join(" ")' <<<"$out")"
expect_eq "mixed kinds" "full mig" "$(jq -r '[.gpus[].slots[].kind] | unique | join(" ")' <<<"$out")"
expect_eq "mixed total weight" "3.714" "$(jq -r '.totals.gpu_equivalents * 1000 | round / 1000' <<<"$out")"
expect_eq "mixed uuids" 13 "$(jq '[.gpus[].slots[].uuid | select(test("^(GPU|MIG)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"))] | length' <<<"$out")"
expect_eq "mixed MIG util n/a" "not_measurable" \
        "$(jq -r '[.gpus[1].slots[].utilization_source] | unique | join(" ")' <<<"$out")"
expect_eq "mixed nvml available" "true" "$(jq '.nvml.available' <<<"$out")"

run "$ds01" gpu list
expect_eq "mixed text exit" 0 "$rc"
expect_match "mixed text footer" "13 slots, 3\.714 GPU-equivalents on 4 GPUs" "$out"
expect_match "mixed text 1g row" "1\.6 +mig +1g\.5gb +0\.143" "$out"
expect_match "mixed text 3g row" "3\.1 +mig +3g\.20gb +0\.429" "$out"
expect_match "mixed text full row" $'\n  0 +full +- +1\.000' "$out"

# ---- acceptance 3: no NVML at all ----------------------------------------
run env -u DS01_NVML_LIBRARY "$ds01" gpu list
expect_eq "no nvml exit" 0 "$rc"
expect_match "no nvml reason" "^NVML not available: libnvidia-ml\.so\.1 not found \(no NVIDIA driver\?\)" "$out"
expect_match "no nvml 0 GPUs" $'\n0 GPUs$' "$out"
run env -u DS01_NVML_LIBRARY "$ds01" gpu list --json
expect_eq "no nvml json exit" 0 "$rc"
expect_eq "no nvml json" "false 0 0" "$(jq -r '"\(.nvml.available) \(.totals.gpus) \(.totals.slots)"' <<<"$out")"
DS01_FAKENVML_TOPOLOGY=$topo/init-fails.yaml run "$ds01" gpu list
expect_eq "init fails exit" 0 "$rc"
expect_match "init fails reason" "nvmlInit failed: Driver Not Loaded" "$out"

# ---- a lost GPU -----------------------------------------------------------
DS01_FAKENVML_TOPOLOGY=$topo/broken.yaml run "$ds01" gpu list
expect_eq "broken exit" 0 "$rc"
expect_match "broken reason" "GPU 2 .*"$'\n'"  unhealthy: .*GPU is lost" "$out"
expect_match "broken footer" "3 slots, 3\.000 GPU-equivalents on 4 GPUs \(1 unhealthy\)" "$out"

# ---- usage ----------------------------------------------------------------
run "$ds01" gpu list --bogus
expect_eq "bad option exit" 2 "$rc"
run "$ds01" gpu
expect_eq "no action exit" 2 "$rc"
run "$ds01" gpu --help
expect_eq "help exit" 0 "$rc"
expect_match "help text" "usage: ds01 gpu list" "$out"

# ---- acceptance 4: a fixture change seen by a polling process --------------
interval=100
cat >"$tmp/poll.yaml" <<'YAML'
gpus:
  - name: NVIDIA A100-SXM4-40GB
    memory_total_mib: 40960
    utilization: {gpu: 11, memory: 1}
YAML
export DS01_FAKENVML_TOPOLOGY=$tmp/poll.yaml
mkfifo "$tmp/stdin"
"$poll" "$interval" 0 <"$tmp/stdin" >"$tmp/poll.out" 2>"$tmp/poll.err" &
poller=$!
exec 3>"$tmp/stdin" # keeps the poller's stdin open; closing it stops the poller

# wait (bounded) for two rounds before the change
for _ in $(seq 1 300); do
        [ "$(grep -c '^round=' "$tmp/poll.out")" -ge 2 ] && break
        sleep 0.01
done
expect_match "poller started" "gpu0_util=11" "$(cat "$tmp/poll.out")"
cat >"$tmp/poll.yaml.new" <<'YAML'
gpus:
  - name: NVIDIA A100-SXM4-40GB
    memory_total_mib: 40960
    utilization: {gpu: 93, memory: 1}
    processes: [{pid: 4711, used_mib: 64}]
YAML
mv "$tmp/poll.yaml.new" "$tmp/poll.yaml"
changed_ns=$(date +%s%N)
# wait (bounded) for a round that started at least one interval after the change
for _ in $(seq 1 500); do
        last=$(tail -n 1 "$tmp/poll.out")
        start=${last#*start_ns=}
        start=${start%% *}
        [ "$start" -gt $((changed_ns + interval * 1000000)) ] 2>/dev/null && break
        sleep 0.01
done
exec 3>&-
wait "$poller"
poller=
# The first round that started after the change (2 ms later, the fake's
# re-check period) must already see it, and so must every later round.
first_after=$(awk -v t=$((changed_ns + 2000000)) '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        if (f["start_ns"] + 0 >= t) { print f["round"], f["gpu0_util"], f["procs"]; exit }
}' "$tmp/poll.out")
expect_match "first round after the change sees it" "^[0-9]+ 93 1$" "$first_after"
expect_eq "no later round misses it" "" \
        "$(awk -v t=$((changed_ns + 2000000)) '{
                for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
                if (f["start_ns"] + 0 >= t && f["gpu0_util"] != 93) print
        }' "$tmp/poll.out")"
before=$(awk -v t="$changed_ns" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        if (f["start_ns"] + 0 < t) n++
} END { print n + 0 }' "$tmp/poll.out")
[ "$before" -ge 2 ] && ok || bad "poller: expected ≥ 2 rounds before the change, got $before"
if [ $fail -ne 0 ]; then
        echo "--- poller output" >&2
        cat "$tmp/poll.out" "$tmp/poll.err" >&2
fi

echo "test-gpu: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
