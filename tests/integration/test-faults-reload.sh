#!/usr/bin/env bash
# test-faults-reload.sh - SIGHUP with a broken configuration while a user's
# traffic flows (issue 9, "faults survived"). A real unprivileged user runs,
# in the background and without pause, control API calls (`ds01 gpu status`)
# and Docker API calls through the proxy (list, create and remove a
# container); meanwhile resource-limits.yaml is rewritten broken - a YAML
# syntax error, then a schema error (an unknown key) - and ds01d gets SIGHUP
# three times for each. Then:
#  - not one request failed (every answer counted), ds01d still runs;
#  - the old limits stay in force: the user's quota (1 GPU) refuses a second
#    GPU container with the same message as before;
#  - each refusal is logged and recorded (config.rejected) with
#    file:line:column, the same line `ds01 config check` prints;
#  - once the file is fixed (quota 2), one more SIGHUP applies it: the second
#    GPU container is created.
#
# Needs root (it creates a user), jq, curl, setpriv and the test Docker engine
# (tests/integration/docker-harness.sh); exits 77 when not root.
#
# Usage: test-faults-reload.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4

if [ "$(id -u)" -ne 0 ] || ! command -v jq >/dev/null || ! command -v useradd >/dev/null ||
        ! command -v setpriv >/dev/null || ! command -v curl >/dev/null; then
        echo "test-faults-reload: skipped (needs root, jq, curl, useradd and setpriv)"
        exit 77
fi

# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
chmod 0755 "$tmp"
export DS01_TEST_DOCKER_SOCKET=/var/run/docker.sock
prefix=ds01test-$$-crashhup
psock=$tmp/run/docker.sock
conf=$tmp/etc/resource-limits.yaml
user=ds01cr-$$
created_user=
loops=()

cleanup() {
        local p
        touch "$tmp/stop" 2>/dev/null
        for p in "${loops[@]}"; do
                kill "$p" 2>/dev/null
                wait "$p" 2>/dev/null
        done
        docker ps -aq --filter "name=^$prefix-" | xargs -r docker rm -f -v >/dev/null 2>&1
        [ -n "$created_user" ] && userdel -r "$created_user" >/dev/null 2>&1
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$SRC/tests/integration/docker-harness.sh" ensure >"$tmp/harness.log" 2>&1 || {
        cat "$tmp/harness.log" >&2
        echo "test-faults-reload: no Docker engine" >&2
        exit 1
}
image=${DS01_TEST_DOCKER_IMAGE:-ds01-test-busybox:latest}
useradd --create-home --user-group --shell /usr/sbin/nologin "$user" || exit 1
created_user=$user

as() {
        setpriv --reuid="$user" --regid="$user" --init-groups -- env HOME="/home/$user" "$@"
}
# ucurl METHOD PATH [BODY]: the Docker API as the user; prints "CODE BODY"
ucurl() {
        local args=(-sS --max-time 60 --unix-socket "$psock" -X "$1" -w '\n%{http_code}')
        [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
        local o
        o=$(as curl "${args[@]}" "http://docker/v1.41$2" 2>&1)
        echo "${o##*$'\n'} ${o%$'\n'*}"
}
gpu_body=$(jq -cn --arg img "$image" '{Image: $img, Cmd: ["sleep", "600"],
        HostConfig: {DeviceRequests: [{Count: 1, Capabilities: [["gpu"]]}]}}')
plain_body=$(jq -cn --arg img "$image" '{Image: $img, Cmd: ["true"]}')

# a100x4 with UUIDs of this run (other tests' containers pin the fixture's)
topo=$tmp/a100x4.yaml
sed -e '/^ *processes:$/d' -e '/^ *- {pid:/d' "$SRC/tests/fixtures/topology/a100x4.yaml" |
        awk -v p=$$ '/uuid: "(GPU|MIG)-/ { n++; sub(/-[0-9a-f]+"$/, sprintf("-%06x%06x\"", p % 16777216, n)) } { print }' \
                >"$topo"
mkdir -p "$tmp/etc" "$tmp/run" "$tmp/loops"
chmod 0755 "$tmp/run"
# write_config QUOTA
write_config() {
        cat >"$conf" <<EOF
defaults:
  max_gpu_equivalents: $1
  max_gpu_slots_per_container: 1
  allow_full_gpu: true
  max_containers_per_user: 20
  max_cpus: 1
gpu_allocation:
  attach: nvidia_runtime
  wait_s: 0
access_control:
  admin_users: []
  admin_group: ds01cr-no-such-group
enforcement:
  cgroup_driver: cgroupfs
EOF
}
write_config 1
start_daemon "$topo" || exit 1

# ---- the limits in force: one GPU ------------------------------------------------
r=$(ucurl POST "/containers/create?name=$prefix-gpu1" "$gpu_body")
expect_eq "the first GPU container (${r#* })" 201 "${r%% *}"
r=$(ucurl POST "/containers/create?name=$prefix-gpu2" "$gpu_body")
expect_eq "a second GPU container is past the quota" 403 "${r%% *}"
refusal=$(jq -r .message <<<"${r#* }")
expect_match "the quota refusal" 'GPU quota reached: you hold 1\.0 of 1\.0 GPU-equivalents' "$refusal"

# ---- traffic in the background, counted ---------------------------------------------
# control API: ds01 gpu status as the user
control_loop() {
        local n=0 bad=0
        while [ ! -e "$tmp/stop" ]; do
                if as "$DS01" --socket "$tmp/run/ds01.sock" gpu status --json >"$tmp/loops/c.out" 2>&1 &&
                        jq -e '.slots | length == 4' "$tmp/loops/c.out" >/dev/null; then
                        n=$((n + 1))
                else
                        bad=$((bad + 1))
                        echo "control: $(head -c 300 "$tmp/loops/c.out")" >>"$tmp/loops/failures"
                fi
                echo "$n $bad" >"$tmp/loops/control.tmp"
                mv "$tmp/loops/control.tmp" "$tmp/loops/control"
        done
}
# proxy: list, create, remove a container without GPUs
proxy_loop() {
        local n=0 bad=0 i=0 r id
        while [ ! -e "$tmp/stop" ]; do
                i=$((i + 1))
                r=$(ucurl GET "/containers/json?all=1")
                [ "${r%% *}" = 200 ] && n=$((n + 1)) || {
                        bad=$((bad + 1))
                        echo "proxy list: ${r:0:300}" >>"$tmp/loops/failures"
                }
                r=$(ucurl POST "/containers/create?name=$prefix-loop-$i" "$plain_body")
                if [ "${r%% *}" = 201 ]; then
                        n=$((n + 1))
                        id=$(jq -r .Id <<<"${r#* }")
                        r=$(ucurl DELETE "/containers/$id?force=1")
                        [ "${r%% *}" = 204 ] && n=$((n + 1)) || {
                                bad=$((bad + 1))
                                echo "proxy remove: ${r:0:300}" >>"$tmp/loops/failures"
                        }
                else
                        bad=$((bad + 1))
                        echo "proxy create: ${r:0:300}" >>"$tmp/loops/failures"
                fi
                echo "$n $bad" >"$tmp/loops/proxy.tmp"
                mv "$tmp/loops/proxy.tmp" "$tmp/loops/proxy"
        done
}
control_loop &
loops+=($!)
proxy_loop &
loops+=($!)
served() { [ "$(cut -d' ' -f1 "$tmp/loops/$1" 2>/dev/null || echo 0)" -ge "$2" ]; }
wait_for "traffic through the control API" 20 served control 3
wait_for "traffic through the proxy" 20 served proxy 3

# ---- broken configurations, SIGHUP three times each ------------------------------------
count() { ds01 events --type "$1" --json --all | grep -c "\"event_type\":\"$1\""; }
more_than() { [ "$(count "$1")" -gt "$2" ]; }
# hup_refused KIND: SIGHUP three times; each is refused with the line config
# check prints; the quota still refuses the same way; traffic goes on
hup_refused() {
        local kind=$1 want got n k
        "$DS01" config check "$conf" >"$tmp/check.out" 2>&1
        expect_eq "$kind: ds01 config check fails" 1 $?
        want=$(grep -m1 ': error: ' "$tmp/check.out")
        expect_match "$kind: config check: file:line:column" "^${conf//./\\.}:[0-9]+:[0-9]+: error: " "$want"
        for k in 1 2 3; do
                n=$(count config.rejected)
                kill -HUP "$daemon_pid"
                wait_for "$kind: reload $k refused" 10 more_than config.rejected "$n"
                got=$(ds01 events --type config.rejected --json --all | tail -n 1 | jq -r '.details.errors[0]')
                expect_eq "$kind: reload $k: config.rejected names file:line:column" "$want" "$got"
                kill -0 "$daemon_pid" 2>/dev/null && ok || bad "$kind: ds01d died on reload $k"
        done
        r=$(ucurl POST "/containers/create?name=$prefix-gpu2" "$gpu_body")
        expect_eq "$kind: the old quota still refuses (${r:0:200})" "403 $refusal" \
                "${r%% *} $(jq -r .message <<<"${r#* }" 2>/dev/null)"
        grep -qF -- "error: $want" "$tmp/ds01d.log" && ok || bad "$kind: the ds01d log lacks [$want]"
        echo "  $kind: $want"
}
reloaded=$(count config.reloaded)
# a YAML syntax error, as an editor leaves a file it is saving
write_config 2
sed -i 's/^  allow_full_gpu: true$/  allow_full_gpu: [true/' "$conf"
hup_refused "YAML syntax error"
# a schema error: a misspelt key
write_config 2
sed -i 's/^  max_gpu_equivalents: 2$/  max_gpu_equivalnts: 2/' "$conf"
hup_refused "schema error"
expect_eq "no reload applied meanwhile" "$reloaded" "$(count config.reloaded)"
expect_match "the schema error says what to do" "did you mean 'max_gpu_equivalents'" \
        "$(ds01 events --type config.rejected --json --all | tail -n 1)"

# ---- fixed: the new quota applies -------------------------------------------------------
write_config 2
"$DS01" config check "$conf" >"$tmp/check.out" 2>&1
expect_eq "the fixed file passes config check" 0 $?
kill -HUP "$daemon_pid"
wait_for "the fixed configuration reloaded" 10 more_than config.reloaded "$reloaded"
r=$(ucurl POST "/containers/create?name=$prefix-gpu2" "$gpu_body")
expect_eq "the new quota: a second GPU container (${r:0:200})" 201 "${r%% *}"

# ---- the traffic: nothing failed ---------------------------------------------------------
served_more() { served control $(($1 + 5)) && served proxy $(($2 + 5)); }
wait_for "more traffic after the reloads" 30 served_more "$(cut -d' ' -f1 "$tmp/loops/control")" \
        "$(cut -d' ' -f1 "$tmp/loops/proxy")"
touch "$tmp/stop"
for p in "${loops[@]}"; do
        wait "$p"
done
loops=()
read -r cn cbad <"$tmp/loops/control"
read -r pn pbad <"$tmp/loops/proxy"
echo "  served during the reloads: $cn control API calls, $pn proxy requests; failed: $cbad, $pbad"
expect_eq "failed control API calls ($(head -n 3 "$tmp/loops/failures" 2>/dev/null))" 0 "$cbad"
expect_eq "failed proxy requests ($(head -n 3 "$tmp/loops/failures" 2>/dev/null))" 0 "$pbad"
kill -0 "$daemon_pid" 2>/dev/null && ok || bad "ds01d is not running"

stop_daemon
expect_eq "ds01d exit" 0 $?

# ---- starting on a broken configuration: refused, not retried by systemd ------------------
# exit status 78, which ds01d.service's RestartPreventExitStatus= names
write_config 2
sed -i 's/^  allow_full_gpu: true$/  allow_full_gpu: [true/' "$conf"
DS01_NVML_LIBRARY=$FAKENVML DS01_FAKENVML_TOPOLOGY=$topo timeout 30 \
        "$DS01D" --config "$conf" --state-dir "$tmp/state" --run-dir "$tmp/run" \
        --log-dir "$tmp/log" --listen 127.0.0.1:0 --foreground \
        --docker-socket "$DS01_TEST_DOCKER_SOCKET" >"$tmp/refused.out" 2>&1
expect_eq "ds01d's exit status on a broken configuration at start" 78 $?
expect_match "it says what to do" "has errors .*ds01 config check" "$(cat "$tmp/refused.out")"
expect_eq "the unit does not restart it for that" "RestartPreventExitStatus=78" \
        "$(grep -x 'RestartPreventExitStatus=78' "$SRC/deploy/systemd/ds01d.service")"

echo "test-faults-reload: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
