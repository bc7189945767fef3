#!/usr/bin/env bash
# test-cli.sh - the ds01 binary, driven the way an admin or a script uses it:
# `ds01 limits` on the example configuration of deploy/config/ (one user of
# each group, an override, an LDAP-style name, an unknown user), the exact
# --docker-args format, `ds01 config check` on broken files, usage errors, help.
#
# Usage: test-cli.sh PATH_TO_DS01 SOURCE_DIR
set -uo pipefail

ds01=$1
src=$2
cfg=$src/deploy/config/resource-limits.yaml
tmp=$(mktemp -d /tmp/ds01-test-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

ok() {
        pass=$((pass + 1))
}
bad() {
        fail=$((fail + 1))
        echo "FAIL: $*" >&2
}
# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
        if [ "$2" == "$3" ]; then ok; else bad "$1: expected [$2], got [$3]"; fi
}
# expect_match WHAT REGEX ACTUAL
expect_match() {
        if [[ $3 =~ $2 ]]; then ok; else bad "$1: [$3] does not match [$2]"; fi
}
# run CMD...: sets out, err, rc
run() {
        out=$("$@" 2>"$tmp/err")
        rc=$?
        err=$(cat "$tmp/err")
}

limits() {
        run "$ds01" --config "$cfg" limits "$@"
}

# jq is not a dependency: read JSON fields with the binary's own stable key
# order and a little sed (values are flat strings, numbers, null or booleans).
field() {
        sed -E "s/.*\"$1\": (\"[^\"]*\"|[^,}]*).*/\1/" <<<"$2"
}

# --- the example configuration is valid -----------------------------------
run "$ds01" config check "$cfg"
expect_eq "config check deploy/config exit" 0 "$rc"
expect_match "config check summary" "ok \(4 groups" "$out"
if grep -qE ': (error|warning):' <<<"$out"; then bad "deploy/config has errors or warnings: $out"; else ok; fi

# --- one user of each group, an override, an unknown user ------------------
# user group max_gpus per_container containers cpus memory idle runtime priority full
while read -r user group gpus per ctrs cpus mem idle runtime prio full; do
        limits "$user" --json
        expect_eq "$user --json exit" 0 "$rc"
        expect_eq "$user group" "\"$group\"" "$(field group "$out")"
        expect_eq "$user max_gpus" "$gpus" "$(field max_gpus "$out")"
        expect_eq "$user max_gpus_per_container" "$per" "$(field max_gpus_per_container "$out")"
        expect_eq "$user max_containers" "$ctrs" "$(field max_containers "$out")"
        expect_eq "$user cpu_cores" "$cpus" "$(field cpu_cores "$out")"
        expect_eq "$user memory" "\"$mem\"" "$(field memory "$out")"
        expect_eq "$user idle_timeout" "$idle" "$(field idle_timeout "$out")"
        expect_eq "$user max_runtime" "$runtime" "$(field max_runtime "$out")"
        expect_eq "$user priority" "$prio" "$(field priority "$out")"
        expect_eq "$user allow_full_gpu" "$full" "$(field allow_full_gpu "$out")"
        limits "$user" --group
        expect_eq "$user --group" "$group" "$out"
done <<'TABLE'
alice                     student    1    1    3  32 32g  "30m" "1d"  10  false
h.baker@hertie-school.lan student    1    1    3  32 32g  "30m" "1d"  10  false
newcomer                  student    1    1    3  32 32g  "30m" "1d"  10  false
bob                       student    2    1    3  32 32g  "30m" "3d"  100 false
carol                     researcher 2    2    5  48 64g  "1h"  "2d"  50  true
dave                      faculty    4    4    5  64 128g "2h"  "3d"  70  true
erin                      admin      null null 10 64 128g "1h"  null  90  true
TABLE

# --- the exact --docker-args format ----------------------------------------
limits alice --docker-args
expect_eq "alice --docker-args" "--cpus=32 --memory=32g --memory-swap=32g --shm-size=16g --pids-limit=4096 --cgroup-parent=ds01-student-alice.slice" "$out"
limits h.baker@hertie-school.lan --docker-args
expect_match "LDAP name slice" "--cgroup-parent=ds01-student-h_baker\.slice$" "$out"
limits erin --docker-args
expect_match "admin docker args" "^--cpus=64 --memory=128g --memory-swap=128g --shm-size=64g --pids-limit=-1 --cgroup-parent=ds01-admin-erin\.slice$" "$out"
# Every user's args follow the documented shape.
for u in alice bob carol dave erin newcomer; do
        limits "$u" --docker-args
        expect_match "$u docker args shape" '^--cpus=[0-9.]+ --memory=[0-9.]+[kmgt]? --memory-swap=(-1|[0-9.]+[kmgt]?) --shm-size=[0-9.]+[kmgt]? --pids-limit=-?[0-9]+( --tmpfs=/tmp:size=[^ ]+)? --cgroup-parent=ds01-[A-Za-z0-9_]+-[A-Za-z0-9_:]+\.slice$' "$out"
done

# --- the other views ---------------------------------------------------------
limits alice --aggregate
expect_match "student aggregate" '^\{"cpu_quota": "9600%", "memory_max": "96G", "memory_high": "86G", "tasks_max": 12288, "gpu_limit": 1\}$' "$out"
limits erin --aggregate
expect_eq "admin has no aggregate" "null" "$out"
limits carol --lifecycle-policies
expect_match "researcher policies" '"idle_detection_window": 4' "$out"
limits alice --check-exemption idle_timeout
expect_eq "alice not exempt" "not_exempt" "$out"
limits alice
expect_match "readable block" "Limits of alice, group student" "$out"
expect_match "readable block slice" "ds01-student-alice\.slice" "$out"

# --- exemptions, with the clock pinned -----------------------------------
mkdir -p "$tmp/ex"
cat >"$tmp/ex/resource-limits.yaml" <<'YAML'
groups:
  student: {}
YAML
cat >"$tmp/ex/lifecycle-exemptions.yaml" <<'YAML'
exemptions:
  - username: "204214@hertie-school.lan"
    exempt_from: [idle_timeout, max_runtime]
    reason: "continuous model training"
    expires_on: null
  - username: alice
    exempt_from: [max_runtime]
    reason: "thesis"
    expires_on: "2030-06-30T23:59:59Z"
YAML
run "$ds01" -c "$tmp/ex/resource-limits.yaml" limits 204214@hertie-school.lan --check-exemption idle_timeout_h
expect_eq "permanent exemption" "exempt: Permanent exemption: continuous model training" "$out"
DS01_NOW=1900000000 run "$ds01" -c "$tmp/ex/resource-limits.yaml" limits alice --check-exemption max_runtime
expect_eq "dated exemption in force" "exempt: Temporary exemption until 2030-06-30T23:59:59Z: thesis" "$out"
DS01_NOW=1950000000 run "$ds01" -c "$tmp/ex/resource-limits.yaml" limits alice --check-exemption max_runtime
expect_eq "expired exemption" "not_exempt" "$out"
run "$ds01" -c "$tmp/ex/resource-limits.yaml" limits alice --check-exemption naps
expect_eq "unknown exemption type exit" 2 "$rc"

# --- config check: a typo, a wrong type and broken indentation ------------
mkdir -p "$tmp/broken"
cat >"$tmp/broken/resource-limits.yaml" <<'YAML'
defaults:
  max_gpu_equivalnts: 2
  max_cpus: lots
groups:
  student:
    allow_full_gpu: true
   memory: 32g
YAML
run "$ds01" config check "$tmp/broken/resource-limits.yaml"
expect_eq "broken config exit" 1 "$rc"
expect_match "typo reported" "resource-limits.yaml:2:3: error: unknown key 'max_gpu_equivalnts' in defaults; did you mean 'max_gpu_equivalents'\?" "$out"
expect_match "wrong type reported" "resource-limits.yaml:3:13: error: 'max_cpus' must be a number, got 'lots'" "$out"
expect_match "indentation reported" "resource-limits.yaml:7:4: error: YAML syntax error" "$out"
expect_match "summary" "3 errors, 0 warnings" "$out"
run "$ds01" config check --json "$tmp/broken/resource-limits.yaml"
expect_eq "config check --json exit" 1 "$rc"
expect_match "config check --json" '"errors": 3' "$out"
# limits refuses to answer from a broken configuration, and says what to run.
run "$ds01" -c "$tmp/broken/resource-limits.yaml" limits alice
expect_eq "limits on broken config exit" 1 "$rc"
expect_match "limits on broken config says why" "run 'ds01 config check" "$err"
# Warnings alone do not fail.
mkdir -p "$tmp/warn"
printf 'groups:\n  student: {}\nwizard:\n  x: 1\n' >"$tmp/warn/resource-limits.yaml"
run "$ds01" config check "$tmp/warn/resource-limits.yaml"
expect_eq "warnings exit 0" 0 "$rc"
expect_match "warning printed" "warning: 'wizard' has no effect" "$out"
# A tab, and a file that is not there.
printf 'defaults:\n\tmax_cpus: 8\n' >"$tmp/warn/tab.yaml"
run "$ds01" config check "$tmp/warn/tab.yaml"
expect_eq "tab exit" 1 "$rc"
expect_match "tab reported" "tab.yaml:2:1: error: a tab character" "$out"
run "$ds01" config check "$tmp/nonexistent.yaml"
expect_eq "missing file exit" 1 "$rc"
expect_match "missing file said" "No such file or directory" "$out"
# $DS01_CONFIG is used when no path is given.
DS01_CONFIG=$cfg run "$ds01" limits carol --group
expect_eq "DS01_CONFIG" "researcher" "$out"

# --- help, version, usage errors ------------------------------------------
for args in "--help" "help" "help limits" "help config" "limits --help" "config --help" "config check --help"; do
        # shellcheck disable=SC2086
        run "$ds01" $args
        expect_eq "ds01 $args exit" 0 "$rc"
        expect_match "ds01 $args prints usage" "usage: ds01" "$out"
done
run "$ds01" --version
expect_match "version" "^ds01 [0-9]+\.[0-9]+\.[0-9]+$" "$out"
run "$ds01" frobnicate
expect_eq "unknown command exit" 2 "$rc"
expect_eq "unknown command one line" "ds01: unknown command 'frobnicate' (see 'ds01 help')" "$err"
run "$ds01" limits alice --frobnicate
expect_eq "unknown option exit" 2 "$rc"
expect_eq "unknown option one line" 1 "$(wc -l <<<"$err")"
run "$ds01" limits
expect_eq "missing user exit" 2 "$rc"
run "$ds01" limits alice --json --group
expect_eq "two modes exit" 2 "$rc"
run "$ds01" config frobnicate
expect_eq "unknown config action exit" 2 "$rc"
run "$ds01"
expect_eq "no command exit" 2 "$rc"

echo "test-cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
