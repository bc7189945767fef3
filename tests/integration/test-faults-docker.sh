#!/usr/bin/env bash
# test-faults-docker.sh - Docker restarted under a running ds01d. The shared
# engine is never touched: the test starts a private dockerd (its own socket,
# data-root, exec-root, pidfile, settings file and containerd namespace;
# --bridge=none --iptables=false --ip-masq=false, in a network namespace of
# its own so that it cannot delete the host's docker0; the runc-backed
# "nvidia" runtime; the test image imported from busybox-static) and a
# private ds01d pointed at it (fake NVML: a100x4 without its processes). A
# real unprivileged user makes the GPU containers through ds01's proxy.
#
# Round 1, Docker as Debian ships it (stopping it stops the containers): two
# with --rm (Docker removes them as it stops them), one plain (left exited:
# its GPU is held, gpu_hold_after_stop), one labelled
# ds01.interface=orchestration (left exited: released at once).
#  - dockerd is stopped (SIGTERM; its pid gone): within 10 s ds01_docker_up
#    is 0 on /metrics, `ds01 health` exits 2 with the docker line failing,
#    the control API still answers (`ds01 gpu status`, `ds01 status` with
#    the docker check failing, `ds01 events`), and the proxy answers 503
#    "Docker is not reachable" at once instead of hanging;
#  - dockerd is started again: ds01_docker_up is 1 within 5 s of the socket
#    answering /_ping (the delay is measured and printed), a new event stream
#    is counted, the removed containers' allocations are released
#    (gpu.released "container removed"), the exited plain one is held
#    (gpu.held), the orchestration one released, `ds01 health` no longer
#    exits 2 and finds the state agreeing with Docker, and a new create
#    through the proxy gets a GPU.
# Round 2, live-restore (containers outlive dockerd): an --rm container and a
# plain one that end when a file appears, and one that keeps running. dockerd
# is stopped (same checks), the file created, so two containers end while
# nobody can tell ds01d; dockerd is started again and removes the --rm one
# itself: its allocation is released, the other held, the third still runs
# (same process) with its allocation active.
#
# Needs root (dockerd, a user), jq, curl, setpriv, docker.io and busybox-static
# (installed when missing); exits 77 when not root.
#
# Usage: test-faults-docker.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4

if [ "$(id -u)" -ne 0 ] || ! command -v jq >/dev/null || ! command -v useradd >/dev/null ||
        ! command -v setpriv >/dev/null || ! command -v curl >/dev/null; then
        echo "test-faults-docker: skipped (needs root, jq, curl, useradd and setpriv)"
        exit 77
fi

# shellcheck source=tests/integration/docker-harness.sh
. "$SRC/tests/integration/docker-harness.sh"
# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
chmod 0755 "$tmp"
UDOCKER=/usr/bin/docker # Debian's docker CLI
droot=/tmp/ds01env-dockerd-$$
netns=ds01env-$$
dsock=$droot/docker.sock
export DS01_TEST_DOCKER_SOCKET=$dsock # for start_daemon and the harness functions
prefix=ds01test-$$-env
psock=$tmp/run/docker.sock
user=ds01env-d$$
dpid=
user_created=false

# the private engine, as root
pdocker() { docker -H "unix://$dsock" "$@"; }
ping_ok() { [ "$(curl -s --max-time 2 --unix-socket "$dsock" http://docker/_ping 2>/dev/null)" == OK ]; }

# launch_dockerd: the private dockerd in the background, in a network
# namespace of its own (no setsid: it belongs to this test and goes with it);
# start_dockerd: and wait for it. The namespace matters: a dockerd started
# with --bridge=none deletes the host's docker0 (libnetwork's
# removeDefaultBridgeInterface), which would cut the shared engine's bridge
# network; in its own namespace it finds none to delete.
launch_dockerd() {
        nsenter --net="/run/netns/$netns" dockerd --config-file "$droot/daemon.json" -H "unix://$dsock" \
                --data-root "$droot/data" --exec-root "$droot/exec" --pidfile "$droot/dockerd.pid" \
                --bridge=none --iptables=false --ip-masq=false \
                --containerd-namespace "ds01env-$$" --containerd-plugins-namespace "ds01env-$$-plugins" \
                </dev/null >>"$droot/dockerd.log" 2>&1 &
        dpid=$!
}
start_dockerd() {
        local i
        launch_dockerd
        for ((i = 0; i < 300; i++)); do
                ping_ok && return 0
                kill -0 "$dpid" 2>/dev/null || break
                sleep 0.2
        done
        echo "test-faults-docker: the private dockerd did not answer on $dsock; its log:" >&2
        tail -n 30 "$droot/dockerd.log" >&2
        return 1
}

# stop_dockerd: SIGTERM, then wait for its pid to go (SIGKILL after 60 s)
stop_dockerd() {
        local i
        [ -n "$dpid" ] || return 0
        kill -TERM "$dpid" 2>/dev/null
        for ((i = 0; i < 600; i++)); do
                kill -0 "$dpid" 2>/dev/null || break
                sleep 0.1
        done
        if kill -0 "$dpid" 2>/dev/null; then
                bad "dockerd $dpid did not stop within 60 s of SIGTERM"
                kill -KILL "$dpid" 2>/dev/null
        fi
        wait "$dpid" 2>/dev/null
        dpid=
}

cleanup() {
        local p m
        # with live-restore, containers outlive a stopped dockerd: start it to remove them
        if [ -z "$dpid" ] && [ -d "$droot/data" ]; then
                launch_dockerd
                for ((m = 0; m < 150; m++)); do
                        ping_ok && break
                        sleep 0.2
                done
        fi
        if [ -n "$dpid" ]; then
                pdocker ps -aq | xargs -r docker -H "unix://$dsock" rm -f -v >/dev/null 2>&1
                stop_dockerd
        fi
        # shims of our containerd namespace that outlived everything
        for m in /proc/[0-9]*/cmdline; do
                grep -qxzs -- "ds01env-$$" "$m" || continue # an argument exactly our namespace
                p=${m#/proc/}
                p=${p%/cmdline}
                [[ $(cat "/proc/$p/comm" 2>/dev/null) == containerd-shim* ]] && kill -KILL "$p" 2>/dev/null
        done
        # the containerd our dockerd started, if it outlived it
        p=$(cat "$droot/exec/containerd/containerd.pid" 2>/dev/null)
        if [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" == containerd ]; then
                kill -TERM "$p" 2>/dev/null
                for ((m = 0; m < 50; m++)); do
                        kill -0 "$p" 2>/dev/null || break
                        sleep 0.1
                done
        fi
        # whatever is still mounted under the private roots, deepest first
        while read -r m; do
                umount -l "$m" 2>/dev/null
        done < <(awk -v r="$droot/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r)
        rm -rf --one-file-system "$droot"
        ip netns del "$netns" 2>/dev/null
        $user_created && userdel -f -r "$user" >/dev/null 2>&1
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- packages, the private engine and its image -----------------------------------------
command -v dockerd >/dev/null 2>&1 || _h_apt_install docker.io || exit 1
command -v ip >/dev/null 2>&1 || _h_apt_install iproute2 || exit 1
[ -x "$UDOCKER" ] || {
        echo "test-faults-docker: $UDOCKER (Debian's docker.io CLI) missing" >&2
        exit 1
}
mkdir -p "$droot"
chmod 0711 "$droot"
ip netns add "$netns" || {
        echo "test-faults-docker: cannot create the network namespace $netns" >&2
        exit 1
}
# the host's docker0 (the shared engine's bridge), to check it is left alone
docker0_before=$(ip -br link show docker0 2>/dev/null | awk '{print $1}')
cat >"$droot/daemon.json" <<'EOF'
{
  "runtimes": { "nvidia": { "path": "runc" } },
  "exec-opts": ["native.cgroupdriver=cgroupfs"]
}
EOF
start_dockerd || exit 1
echo "private dockerd $dpid answers on $dsock: $(pdocker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
_h_build_image >"$tmp/image.log" 2>&1 || {
        cat "$tmp/image.log" >&2
        exit 1
}
image=$DS01_TEST_DOCKER_IMAGE
expect_eq "the host's docker0 is left alone" "$docker0_before" \
        "$(ip -br link show docker0 2>/dev/null | awk '{print $1}')"

useradd --create-home --user-group --shell /usr/sbin/nologin "$user" || exit 1
user_created=true
install -d -o "$user" -g "$user" "/home/$user/.docker"

as() {
        setpriv --reuid="$user" --regid="$user" --init-groups -- env HOME="/home/$user" \
                DOCKER_CONFIG="/home/$user/.docker" "$@"
}
# udocker ARGS...: Debian's docker CLI as the user through the proxy; sets out, rc
udocker() {
        out=$(as timeout 60 "$UDOCKER" -H "unix://$psock" "$@" 2>&1)
        rc=$?
}
metrics() { curl -s --max-time 5 "http://127.0.0.1:$(cat "$tmp/run/ds01d.port")/metrics"; }
metric_is() {
        local m
        m=$(metrics) && grep -qx "$1 $2" <<<"$m"
}
metric() { metrics | awk -v n="$1" '$1 == n { print $2 }'; }
status_json() { ds01 gpu status --json; }
slot_of() { status_json | jq -r --arg c "$1" '[.slots[] | select(.container == $c) | .slot] | join(",")'; }
state_of() { status_json | jq -r --arg c "$1" '[.slots[] | select(.container == $c) | .state] | join(",")'; }
# the last event of TYPE for CONTAINER (its name), as a JSON line
event_for() { ds01 events --type "$1" --json --all | jq -c --arg c "$2" 'select(.details.container == $c)' | tail -n 1; }

# ---- ds01d on the private engine --------------------------------------------------------
sed -e '/^    processes:$/d' -e '/^      - {pid:/d' "$SRC/tests/fixtures/topology/a100x4.yaml" \
        >"$tmp/idle4.yaml"
mkdir -p "$tmp/etc" "$tmp/run"
chmod 0755 "$tmp/run"
cat >"$tmp/etc/resource-limits.yaml" <<EOF
defaults:
  max_gpu_equivalents: 4
  max_gpu_slots_per_container: 1
  allow_full_gpu: true
  max_containers_per_user: 10
  max_cpus: 1
  gpu_hold_after_stop_h: 1
default_group: students
groups:
  students:
    members: [$user]
gpu_allocation:
  attach: nvidia_runtime
  wait_s: 0
access_control:
  admin_users: []
  admin_group: ds01env-no-such-group
enforcement:
  cgroup_driver: cgroupfs
EOF
"$DS01" config check "$tmp/etc/resource-limits.yaml" >"$tmp/check.out" 2>&1 ||
        bad "the test configuration is refused: $(cat "$tmp/check.out")"
start_daemon "$tmp/idle4.yaml" || exit 1
wait_for "the proxy socket $psock" 10 test -S "$psock" || exit 1
wait_for "ds01_docker_up 1 at the start" 10 metric_is ds01_docker_up 1

# down_checks: what must hold while Docker is down
down_checks() {
        local t0 ov
        t0=$(date +%s%3N)
        if wait_for "ds01_docker_up 0 after dockerd stopped" 10 metric_is ds01_docker_up 0; then
                echo "ds01_docker_up 0 after $(($(date +%s%3N) - t0)) ms"
        fi
        out=$(ds01 health 2>&1)
        expect_eq "ds01 health exits 2 while Docker is down" 2 $?
        expect_match "ds01 health: the docker line" "FAIL  docker +cannot reach Docker at $dsock" "$out"
        expect_match "ds01 health: the proxy line" \
                "FAIL  docker proxy +listens on .* but Docker behind it does not answer" "$out"
        expect_eq "ds01 gpu status answers" 4 "$(status_json | jq '.slots_total')"
        ov=$(ds01 status --json)
        expect_eq "ds01 status answers: docker check fails" fail \
                "$(jq -r '.health.checks[] | select(.name == "docker") | .status' <<<"$ov")"
        ds01 events --limit 1 >/dev/null 2>&1
        expect_eq "ds01 events answers" 0 $?
        t0=$(date +%s%3N)
        udocker ps
        expect_eq "docker ps through the proxy fails while Docker is down" 1 "$rc"
        expect_match "... with the reason" 'Docker is not reachable right now' "$out"
        echo "the proxy answered in $(($(date +%s%3N) - t0)) ms"
}

# restart_measured: start dockerd again; poll both when its socket first
# answers /_ping and when ds01d says Docker is up; the delay must be <= 5 s
restart_measured() {
        local t_answer='' t_up='' now deadline delay
        local streams_before
        streams_before=$(metric ds01_docker_event_streams_total)
        launch_dockerd
        deadline=$((SECONDS + 90))
        while [ $SECONDS -lt $deadline ]; do
                now=$(date +%s%3N)
                if metric_is ds01_docker_up 1; then
                        t_up=$now
                        [ -n "$t_answer" ] || t_answer=$now
                        break
                fi
                if [ -z "$t_answer" ] && ping_ok; then
                        t_answer=$(date +%s%3N)
                fi
                kill -0 "$dpid" 2>/dev/null || break
                sleep 0.05
        done
        if [ -z "$t_answer" ]; then
                bad "the private dockerd did not come back"
                tail -n 30 "$droot/dockerd.log" >&2
                exit 1
        elif [ -z "$t_up" ]; then
                bad "ds01_docker_up did not come back to 1 within 90 s"
                return
        fi
        delay=$((t_up - t_answer))
        echo "ds01d saw Docker back $delay ms after its socket answered"
        if [ "$delay" -le 5000 ]; then ok; else bad "ds01d took $delay ms (> 5 s) to see Docker back"; fi
        # the events stream is back too (a full pass may have seen Docker first)
        streams_grew() {
                local after
                after=$(metric ds01_docker_event_streams_total)
                [ -n "$after" ] && [ "$after" -gt "${streams_before:-0}" ]
        }
        wait_for "ds01_docker_event_streams_total to count the new stream" 5 streams_grew
}

up_checks() {
        out=$(ds01 health 2>&1)
        rc=$?
        if [ "$rc" -ne 2 ]; then ok; else bad "ds01 health still exits 2 after Docker came back: $out"; fi
        expect_match "ds01 health: docker passes again" "PASS  docker +Docker answers at $dsock" "$out"
        state_ok() { [[ $(ds01 health 2>&1) == *"PASS  state agrees with Docker"* ]]; }
        wait_for "ds01 health: state agrees with Docker" 10 state_ok
}

active() { [ "$(state_of "$prefix-$1")" == active ]; }
released() { [ -z "$(slot_of "$prefix-$1")" ]; }
held() { [ "$(state_of "$prefix-$1")" == held ]; }
dstate() { pdocker inspect -f '{{.State.Status}}' "$prefix-$1" 2>/dev/null; }
run_opts=(--gpus 1 --network none --stop-timeout 1)

# ==== round 1: Docker as Debian ships it: stopping it stops every container ==============
echo "round 1: dockerd stopped and started; its containers stop with it"
for c in rm1 rm2; do
        udocker run -d --rm --name "$prefix-$c" "${run_opts[@]}" "$image" sleep 600
        expect_eq "docker run --rm $c through the proxy ($out)" 0 "$rc"
done
udocker run -d --name "$prefix-keep" "${run_opts[@]}" "$image" sleep 600
expect_eq "docker run keep through the proxy ($out)" 0 "$rc"
udocker run -d --name "$prefix-orch" --label ds01.interface=orchestration "${run_opts[@]}" \
        "$image" sleep 600
expect_eq "docker run orch through the proxy ($out)" 0 "$rc"
for c in rm1 rm2 keep orch; do
        wait_for "$c's allocation active" 10 active "$c"
done
expect_eq "four GPUs held" 4 "$(status_json | jq '[.slots[] | select(.state == "active")] | length')"

echo "stopping the private dockerd $dpid"
stop_dockerd
down_checks
echo "starting the private dockerd again"
restart_measured

# reconciled: removed containers released, exited ones as the policy says
for c in rm1 rm2; do
        wait_for "$c's allocation released (Docker removed it)" 10 released "$c"
        expect_eq "$c: gone from Docker" "" "$(pdocker ps -aq --filter "name=^$prefix-$c\$")"
        expect_eq "$c: event gpu.released" "container removed" \
                "$(event_for gpu.released "$prefix-$c" | jq -r '.details.reason' 2>/dev/null)"
done
wait_for "keep's allocation held (exited, gpu_hold_after_stop)" 10 held keep
expect_eq "keep: exited in Docker" exited "$(dstate keep)"
expect_eq "keep: event gpu.held" "container stopped" \
        "$(event_for gpu.held "$prefix-keep" | jq -r '.details.reason' 2>/dev/null)"
wait_for "orch's allocation released (exited, interface orchestration)" 10 released orch
expect_match "orch: event gpu.released" 'released at once' \
        "$(event_for gpu.released "$prefix-orch" | jq -r '.details.reason' 2>/dev/null)"
up_checks
udocker run -d --name "$prefix-new" "${run_opts[@]}" "$image" sleep 600
expect_eq "a new create through the proxy after Docker's return ($out)" 0 "$rc"
expect_match "... gets a GPU" '^[0-3]$' "$(slot_of "$prefix-new")"
expect_eq "... and runs" running "$(dstate new)"
for c in keep orch new; do
        udocker rm -f "$prefix-$c"
        expect_eq "docker rm -f $c ($out)" 0 "$rc"
done
for c in keep orch new; do
        wait_for "$c's allocation released after docker rm" 10 released "$c"
done

# ==== round 2: live-restore: containers outlive dockerd, and some end meanwhile ===========
echo "round 2: live-restore; containers end and are removed while dockerd is down"
jq '. + {"live-restore": true}' "$droot/daemon.json" >"$droot/daemon.json.new" &&
        mv "$droot/daemon.json.new" "$droot/daemon.json"
kill -HUP "$dpid"
lr() { [ "$(pdocker info --format '{{.LiveRestoreEnabled}}' 2>/dev/null)" == true ]; }
wait_for "live-restore on after SIGHUP" 10 lr || exit 1
install -d -o "$user" -g "$user" "/home/$user/ws"
rm -f "/home/$user/ws/go"
wait_go=(sh -c 'while [ ! -e /workspace/go ]; do sleep 0.1; done')
udocker run -d --rm --name "$prefix-lrm" -v "/home/$user/ws:/workspace" "${run_opts[@]}" \
        "$image" "${wait_go[@]}"
expect_eq "docker run --rm lrm (ends when told) ($out)" 0 "$rc"
udocker run -d --name "$prefix-lex" -v "/home/$user/ws:/workspace" "${run_opts[@]}" \
        "$image" "${wait_go[@]}"
expect_eq "docker run lex (ends when told) ($out)" 0 "$rc"
udocker run -d --name "$prefix-live" "${run_opts[@]}" "$image" sleep 600
expect_eq "docker run live (outlives everything) ($out)" 0 "$rc"
for c in lrm lex live; do
        wait_for "$c's allocation active" 10 active "$c"
done
declare -A cpid
for c in lrm lex live; do
        cpid[$c]=$(pdocker inspect -f '{{.State.Pid}}' "$prefix-$c")
done
echo "stopping the private dockerd $dpid (live-restore: the containers go on)"
stop_dockerd
down_checks
for c in lrm lex live; do
        if kill -0 "${cpid[$c]}" 2>/dev/null; then ok; else bad "$c's process ${cpid[$c]} ended with dockerd"; fi
done
# two of them end while Docker is down: nobody can tell ds01d
touch "/home/$user/ws/go"
for c in lrm lex; do
        ended() { ! kill -0 "${cpid[$1]}" 2>/dev/null; }
        wait_for "$c's process to end while dockerd is down" 10 ended "$c"
done
expect_eq "ds01d still counts them: 3 active" 3 \
        "$(status_json | jq '[.slots[] | select(.state == "active")] | length')"
echo "starting the private dockerd again"
restart_measured
wait_for "lrm's allocation released (removed while Docker was down)" 10 released lrm
expect_eq "lrm: gone from Docker" "" "$(pdocker ps -aq --filter "name=^$prefix-lrm\$")"
expect_eq "lrm: event gpu.released" "container removed" \
        "$(event_for gpu.released "$prefix-lrm" | jq -r '.details.reason' 2>/dev/null)"
wait_for "lex's allocation held (ended while Docker was down)" 10 held lex
expect_eq "lex: exited in Docker" exited "$(dstate lex)"
expect_eq "live: still running" running "$(dstate live)"
expect_eq "live: the same process" "${cpid[live]}" "$(pdocker inspect -f '{{.State.Pid}}' "$prefix-live")"
expect_eq "live: allocation still active" active "$(state_of "$prefix-live")"
up_checks
udocker run -d --name "$prefix-new2" "${run_opts[@]}" "$image" sleep 600
expect_eq "a new create through the proxy after the second return ($out)" 0 "$rc"
expect_eq "... runs" running "$(dstate new2)"

pdocker ps -aq | xargs -r docker -H "unix://$dsock" rm -f -v >/dev/null 2>&1
stop_dockerd
expect_eq "the host's docker0 is still there after the restarts" "$docker0_before" \
        "$(ip -br link show docker0 2>/dev/null | awk '{print $1}')"
stop_daemon
expect_eq "ds01d exit" 0 $?
echo "test-faults-docker: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
