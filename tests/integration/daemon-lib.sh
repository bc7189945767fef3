# daemon-lib.sh - shared by the shell tests and benchmarks that run a private
# ds01d: start it on temp dirs with the fake NVML library, wait for it, stop it,
# and count checks. Source it after setting: DS01, DS01D, FAKENVML, SRC.
# shellcheck shell=bash

tmp=$(mktemp -d /tmp/ds01-daemon-test-XXXXXX)
daemon_pid=
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() {
        fail=$((fail + 1))
        echo "FAIL: $*" >&2
}
expect_eq() { if [ "$2" == "$3" ]; then ok; else bad "$1: expected [$2], got [$3]"; fi; }
expect_match() { if [[ $3 =~ $2 ]]; then ok; else bad "$1: [$3] does not match [$2]"; fi; }

# wait_for DESCRIPTION SECONDS COMMAND...: poll COMMAND every 20 ms until it
# succeeds; fails the test (and returns 1) when SECONDS pass.
wait_for() {
        local what=$1 secs=$2
        shift 2
        local deadline=$((SECONDS + secs))
        while ! "$@" 2>/dev/null; do
                if [ $SECONDS -ge $deadline ]; then
                        bad "timed out after ${secs}s waiting for $what"
                        return 1
                fi
                sleep 0.02
        done
        return 0
}

# start_daemon TOPOLOGY [EXTRA ARGS...]: ds01d on $tmp/{state,run,log} with
# the config in $tmp/etc. TOPOLOGY: a fixture name, or a path to one. Docker:
# $DS01_TEST_DOCKER_SOCKET, else a socket nobody answers (tests that do not
# need Docker stay apart from the machine's containers).
start_daemon() {
        local topo=$1
        shift
        [[ $topo == */* ]] || topo=$SRC/tests/fixtures/topology/$topo.yaml
        rm -f "$tmp/run/ds01d.port" # a killed daemon leaves its own behind
        DS01_NVML_LIBRARY=$FAKENVML DS01_FAKENVML_TOPOLOGY=$topo \
                "$DS01D" --config "$tmp/etc/resource-limits.yaml" --state-dir "$tmp/state" \
                --run-dir "$tmp/run" --log-dir "$tmp/log" --listen 127.0.0.1:0 --foreground \
                --docker-socket "${DS01_TEST_DOCKER_SOCKET:-$tmp/no-docker.sock}" \
                "$@" >>"$tmp/ds01d.log" 2>&1 &
        daemon_pid=$!
        wait_for "ds01d to be ready" 20 test -s "$tmp/run/ds01d.port"
}

# stop_daemon [SIGNAL]: SIGTERM by default; returns the daemon's exit status.
stop_daemon() {
        local sig=${1:-TERM} rc=0
        [ -n "$daemon_pid" ] || return 0
        kill -"$sig" "$daemon_pid" 2>/dev/null
        wait "$daemon_pid" 2>/dev/null || rc=$?
        daemon_pid=
        return $rc
}

ds01() { "$DS01" --socket "$tmp/run/ds01.sock" "$@"; }

cleanup_daemon() {
        [ -n "$daemon_pid" ] && kill -KILL "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
        if [ "$fail" -ne 0 ] && [ -f "$tmp/ds01d.log" ]; then
                echo "--- ds01d log (last 40 lines)" >&2
                tail -n 40 "$tmp/ds01d.log" >&2
        fi
        rm -rf "$tmp"
}
