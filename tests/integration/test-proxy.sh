#!/usr/bin/env bash
# test-proxy.sh - the Docker API proxy of ds01d (<run-dir>/docker.sock) with
# the real docker CLI (Debian's /usr/bin/docker 20.10), docker-compose 1.29
# and real unprivileged users the test creates, against the real engine
# (docker-harness.sh) and the busybox test image:
#  - a user runs, lists (only their own), exec -it on a pty, exec -i with
#    stdin piped and half-closed, run -it, start -a, attach, logs -f, cp both
#    ways (5 MB), build (legacy builder, 100 MB context: ds01d's memory stays
#    within 20 MB; BuildKit with its /session upgrade), compose up/ps/down
#    (its network too), stop and rm their own containers;
#  - another user can do nothing to them (inspect, exec, logs, stop, rm,
#    rename, commit, cp both ways, update, attach, kill, pause, top, export,
#    wait, ...; and with curl the requests the CLI never sends: exec create,
#    attach, logs, and start/inspect/resize of the owner's exec id): each
#    refused with a "ds01:" reason, the container unchanged;
#  - a ds01.protected=true container and one with no owner are refused to
#    their would-be owner; an admin (access_control.admin_group) passes
#    through and sees everything;
#  - events.jsonl holds one auth.denied record per refused request, none for
#    the users' own work, none in the database;
#  - docker events streams each user their own containers' events only;
#  - ds01d exits 0 on SIGTERM with event streams open.
# Needs root (it creates users; exits 77 otherwise). Installs docker-compose
# when it is missing. Everything it creates (users, groups, homes,
# containers, networks, volumes, images) is removed on exit, and what a killed
# earlier run left behind is removed at the start.
#
# Usage: test-proxy.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail
shopt -s lastpipe # `producer | dk ...` sets out/err/rc in this shell

if [ "$(id -u)" -ne 0 ]; then
        echo "test-proxy: skipped (needs root: it creates users)"
        exit 77
fi

# One run at a time (the user names are fixed): the run holds a lock, which
# flock -o keeps out of the processes it starts (ds01d, dockerd, ...).
lock=/run/lock/ds01-test-proxy.lock
[ -w /run/lock ] || lock=/tmp/ds01-test-proxy.lock
if [ "${DS01_TEST_PROXY_LOCK:-}" != "$lock" ]; then
        DS01_TEST_PROXY_LOCK=$lock flock -o -w 300 -E 75 "$lock" bash "$0" "$@"
        rc=$?
        [ $rc -ne 75 ] || echo "test-proxy: another run held $lock for 300 s" >&2
        exit $rc
fi

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4
# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
export DS01_TEST_DOCKER_SOCKET=/var/run/docker.sock

docker_cli=/usr/bin/docker # Debian's docker.io, as in CI (not a newer one on PATH)
python=/usr/bin/python3
[ -x $python ] || python=python3
image=ds01-test-busybox:latest
prefix=ds01test-$$
alice=ds01p-alice
bob=ds01p-bob
carol=ds01p-carol
admin=ds01p-admin
admins=ds01p-admins
users=("$alice" "$bob" "$carol" "$admin")
psock=$tmp/run/docker.sock
events=$tmp/log/events.jsonl
bg_pids=()

# Root, straight to the engine.
D() { "$docker_cli" -H "unix://$DS01_TEST_DOCKER_SOCKET" "$@"; }

rm_containers() {
        local id
        while read -r id; do
                [ -n "$id" ] && D rm -f -v "$id" >/dev/null 2>&1
        done
}

# Containers, networks, volumes and images of the test users and of this
# test's prefix (and images of earlier runs whose process is gone).
purge_docker() {
        local u id name pid
        for u in "${users[@]}"; do
                D ps -aq --no-trunc --filter "label=ds01.user=$u" 2>/dev/null | rm_containers
        done
        D ps -a --no-trunc --format '{{.ID}} {{.Names}}' 2>/dev/null | while read -r id name; do
                [[ $name == "$prefix"-* ]] && echo "$id"
        done | rm_containers
        D network ls --no-trunc --format '{{.ID}} {{.Name}} {{.Labels}}' 2>/dev/null | while read -r id name rest; do
                if [[ $name == "$prefix"-* || $rest =~ ds01\.user=ds01p- ]]; then
                        D network rm "$id" >/dev/null 2>&1
                fi
        done
        for u in "${users[@]}"; do
                D volume ls -q --filter "label=ds01.user=$u" 2>/dev/null | while read -r id; do
                        D volume rm -f "$id" >/dev/null 2>&1
                done
        done
        D images --no-trunc --format '{{.ID}} {{.Repository}}' 2>/dev/null | while read -r id name; do
                if [[ $name == "$prefix"-* ]]; then
                        D rmi -f "$id" >/dev/null 2>&1
                elif [[ $name =~ ^ds01test-([0-9]+)- ]]; then
                        pid=${BASH_REMATCH[1]}
                        kill -0 "$pid" 2>/dev/null || D rmi -f "$id" >/dev/null 2>&1
                fi
        done
}

purge_users() {
        local u
        for u in "${users[@]}"; do
                if id "$u" >/dev/null 2>&1; then
                        userdel -f -r "$u" >/dev/null 2>&1 || echo "test-proxy: could not remove user $u" >&2
                fi
                getent group "$u" >/dev/null && groupdel "$u" >/dev/null 2>&1
        done
        getent group "$admins" >/dev/null && groupdel "$admins" >/dev/null 2>&1
        for u in "${users[@]}"; do
                rm -rf "/home/${u:?}"
        done
}

cleanup() {
        local p
        for p in "${bg_pids[@]}"; do
                kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
        done
        purge_docker
        purge_users
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "$SRC/tests/integration/docker-harness.sh" ensure >"$tmp/harness.log" 2>&1; then
        cat "$tmp/harness.log" >&2
        echo "test-proxy: no Docker engine" >&2
        exit 1
fi
[ -x "$docker_cli" ] || {
        echo "test-proxy: $docker_cli (Debian's docker.io) missing" >&2
        exit 1
}
install_compose() { # Debian's docker-compose 1.29, with fresh package lists if need be
        local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -qq)
        "${apt[@]}" install --no-install-recommends docker-compose && return
        "${apt[@]}" update && "${apt[@]}" install --no-install-recommends docker-compose
}
if ! command -v docker-compose >/dev/null; then
        echo "test-proxy: installing docker-compose"
        install_compose >"$tmp/apt.log" 2>&1 || {
                cat "$tmp/apt.log" >&2
                echo "test-proxy: could not install docker-compose" >&2
                exit 1
        }
fi
compose=$(command -v docker-compose)

# ---- helpers ---------------------------------------------------------------

# as_user USER: ucmd = the command prefix that runs a program as USER, with
# the environment of a login and nothing of ours
as_user() { ucmd=(runuser -u "$1" -- env -i PATH=/usr/bin:/bin HOME="/home/$1" USER="$1" LANG=C.UTF-8); }
# as USER CMD...: CMD as USER, stdin from $IN (a file; "-" for ours; default
# /dev/null), at most $T seconds (default 60). Sets out, err, rc.
as() {
        local u=$1 in=${IN:-/dev/null}
        shift
        [ "$in" = - ] && in=/dev/stdin
        as_user "$u"
        out=$(timeout -k 5 "${T:-60}" "${ucmd[@]}" "$@" <"$in" 2>"$tmp/err")
        rc=$?
        err=$(<"$tmp/err")
        if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
                bad "hung (killed after ${T:-60} s): $u: $*"
        fi
}
# dk USER ARGS...: the docker CLI as USER through the proxy
dk() {
        local u=$1
        shift
        as "$u" "$docker_cli" -H "unix://$psock" "$@"
}
# bg_dk USER OUTFILE ARGS...: dk in the background, output to OUTFILE; sets bg
bg_dk() {
        local u=$1 f=$2
        shift 2
        as_user "$u"
        timeout -k 5 60 "${ucmd[@]}" "$docker_cli" -H "unix://$psock" "$@" </dev/null >"$f" 2>&1 &
        bg=$!
        bg_pids+=("$bg")
}
# api USER METHOD PATH [JSON]: one request with curl as USER through the
# proxy; sets out (the body) and code (the HTTP status, 000 when none)
api() {
        local u=$1 method=$2 path=$3 body=${4:-}
        local a=(curl -sS --max-time 15 --unix-socket "$psock" -X "$method" -w '\n%{http_code}')
        [ -z "$body" ] || a+=(-H 'Content-Type: application/json' -d "$body")
        as "$u" "${a[@]}" "http://docker/v1.41$path"
        code=${out##*$'\n'}
        out=${out%$'\n'*}
}
gone() { ! kill -0 "$1" 2>/dev/null; }
absent() { ! D inspect "$1" >/dev/null 2>&1; }
# pty USER [--expect RE --send TEXT]... -- ARGS...: the docker CLI as USER on
# a new terminal. Sets out, rc.
pty() {
        local u=$1
        shift
        local steps=()
        while [ "$1" != -- ]; do
                steps+=("$1")
                shift
        done
        shift
        as_user "$u"
        out=$("$python" "$SRC/tests/integration/pty-run.py" --timeout 30 "${steps[@]}" -- \
                "${ucmd[@]}" TERM=xterm "$docker_cli" -H "unix://$psock" "$@" 2>&1)
        rc=$?
        [ $rc -ne 124 ] || bad "hung on a terminal (30 s): $u: docker $*"
}
# expect_denied WHAT: the last dk was refused by ds01 (not by Docker)
expect_denied() {
        if [ "$rc" -ne 0 ] && [[ "$out$err" =~ ds01: ]]; then
                ok
        else
                bad "$1: expected a refusal with 'ds01:', got exit $rc: $(head -c 300 <<<"$out$err")"
        fi
}
expect_rc0() {
        if [ "$rc" -eq 0 ]; then ok; else bad "$1: exit $rc: $(head -c 400 <<<"$err$out")"; fi
}
denials() { # USER: auth.denied records of USER in events.jsonl
        grep -F '"event_type":"auth.denied"' "$events" 2>/dev/null | grep -F "\"user\":\"$1\""
}
has_denials() { [ "$(denials "$1" | wc -l)" -gt "$2" ]; } # USER N: more than N
kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$daemon_pid/status"; }
# the state of a container that nobody but its owner may change
snapshot() {
        D inspect --format '{{.Name}} {{.State.Status}} {{.State.Pid}} {{.State.StartedAt}} {{.State.Paused}} {{.RestartCount}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}} {{json .ExecIDs}} {{json .Config.Labels}}' "$1" 2>&1
}

# ---- users, configuration, ds01d --------------------------------------------

purge_docker
purge_users
groupadd "$admins" || exit 1
for u in "$alice" "$bob" "$carol"; do
        useradd --create-home --home-dir "/home/$u" --user-group --shell /bin/sh "$u" || exit 1
done
useradd --create-home --home-dir "/home/$admin" --user-group --groups "$admins" --shell /bin/sh \
        "$admin" || exit 1
if [ "$(id -g $alice)" != "$(id -g $bob)" ]; then ok; else bad "alice and bob share a primary group"; fi

chmod 0755 "$tmp"
mkdir -p "$tmp/etc" "$tmp/run" "$tmp/log"
chmod 0755 "$tmp/run"
cat >"$tmp/etc/resource-limits.yaml" <<'EOF'
defaults:
  max_gpu_equivalents: 1
  allow_full_gpu: true
  max_cpus: 1
  memory: 2g
  shm_size: 64m
  pids_limit: 1024
  max_containers_per_user: 50
enforcement:
  cgroup_driver: cgroupfs
gpu_allocation:
  attach: nvidia_runtime
  wait_s: 5
access_control:
  admin_group: ds01p-admins
  allowed_bind_paths: ["~"]
EOF
if ! "$DS01" config check "$tmp/etc/resource-limits.yaml" >"$tmp/check.out" 2>&1; then
        bad "the test config is not valid: $(cat "$tmp/check.out")"
fi

# The 100 MB build below checks that ds01d streams a build context instead of
# holding it; under ASan every freed relay buffer would sit in the allocator's
# quarantine (256 MB by default) and count as growth, so this daemon gets a
# small one (no effect on other builds).
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16 start_daemon a100x4 || exit 1
chmod 0755 "$tmp/run"
if ! wait_for "ds01d to listen on $psock" 10 test -S "$psock"; then
        echo "test-proxy: ds01d does not listen on $psock" >&2
        echo "test-proxy: $pass passed, $fail failed"
        exit 1
fi
expect_eq "proxy socket mode" 666 "$(stat -c %a "$psock")"
# The real socket is not theirs: otherwise nothing below would mean anything.
as $alice "$docker_cli" -H "unix://$DS01_TEST_DOCKER_SOCKET" ps
if [ "$rc" -ne 0 ] && [[ $err =~ [Pp]ermission\ denied ]]; then ok; else
        bad "a test user reaches the real Docker socket (exit $rc): $err"
fi

# ---- a user's own containers ---------------------------------------------------

dk $alice version --format '{{.Server.APIVersion}}'
expect_rc0 "alice: docker version"
dk $alice run -d --name "$prefix-a1" "$image" sleep 600
expect_rc0 "alice: run -d"
dk $alice run -d --name "$prefix-a2" "$image" sleep 600
expect_rc0 "alice: run -d (a second)"
a2=$out
dk $bob run -d --name "$prefix-b1" "$image" sleep 600
expect_rc0 "bob: run -d"
expect_eq "alice's container is labelled hers" "$alice true" \
        "$(D inspect --format '{{index .Config.Labels "ds01.user"}} {{index .Config.Labels "ds01.managed"}}' "$prefix-a1")"
expect_eq "bob's container is labelled his" "$bob" \
        "$(D inspect --format '{{index .Config.Labels "ds01.user"}}' "$prefix-b1")"

# ps: one's own only
dk $alice ps -a --format '{{.Names}}'
expect_rc0 "alice: ps -a"
expect_eq "alice's ps -a lists exactly her containers" \
        "$(D ps -a --filter "label=ds01.user=$alice" --format '{{.Names}}' | sort)" "$(sort <<<"$out")"
expect_match "alice's ps -a has hers" "$prefix-a1" "$out"
if [[ $out == *"$prefix-b1"* ]]; then bad "bob's container in alice's ps -a: $out"; else ok; fi
dk $alice ps -a -q --filter "label=ds01.user=$bob"
expect_eq "alice asking for bob's label gets nothing" "0 " "$rc $out"
dk $alice ps -a -q --filter "name=$prefix-b1"
expect_eq "alice asking for bob's name gets nothing" "0 " "$rc $out"
dk $bob ps -a --format '{{.Names}}'
expect_eq "bob's ps -a" "$prefix-b1" "$out"
dk $carol ps -a -q
expect_eq "carol's ps -a is empty" "0 " "$rc $out"
dk $carol run --rm "$image" echo carol-ok
expect_eq "carol: run --rm" "0 carol-ok" "$rc $out"

# exec -it, interactive, on a terminal
# shellcheck disable=SC2016 # $((...)) is for the shell in the container
pty $alice --expect '# ' --send 'busybox tty; echo hi-$((6*7))\n' --expect 'hi-42' --send 'exit 3\n' \
        -- exec -it "$prefix-a1" sh
expect_eq "exec -it: the shell's exit code" 3 "$rc"
expect_match "exec -it: a terminal in the container" $'/dev/pts/[0-9]+\r?\nhi-42' "$out"
pty $alice -- exec -it "$prefix-a1" sh -c 'busybox tty; echo hi'
expect_eq "exec -it sh -c exit" 0 "$rc"
expect_match "exec -it sh -c output" $'/dev/pts/[0-9]+\r?\nhi' "$out"
# exec without a terminal: stdin piped, then half-closed
printf 'data\n' | IN=- T=20 dk $alice exec -i "$prefix-a1" cat
expect_eq "echo data | exec -i cat" "0 data" "$rc $out"
head -c 1048576 /dev/urandom | IN=- T=20 dk $alice exec -i "$prefix-a1" wc -c
expect_eq "1 MiB through exec -i stdin" "0 1048576" "$rc $(tr -d ' ' <<<"$out")"
T=30 dk $alice exec "$prefix-a1" sh -c 'yes 0123456789abcdef | head -n 200000; echo to-stderr >&2'
expect_eq "exec: 3.4 MB of stdout, demultiplexed" "0 200000 0123456789abcdef to-stderr" \
        "$rc $(wc -l <<<"$out") $(sort -u <<<"$out") $err"
dk $alice exec "$prefix-a1" sh -c 'exit 7'
expect_eq "exec: the exit code" 7 "$rc"

# run -it on a terminal; run -i with stdin piped
# shellcheck disable=SC2016
pty $alice --expect '# ' --send 'echo run-$((2*3)); exit 0\n' -- run -it --rm --name "$prefix-it" "$image" sh
expect_eq "run -it --rm: exit" 0 "$rc"
expect_match "run -it --rm: output" 'run-6' "$out"
wait_for "run --rm to remove its container" 10 absent "$prefix-it"
printf 'piped-in\n' | IN=- T=20 dk $alice run -i --rm --name "$prefix-ri" "$image" cat
expect_eq "echo | run -i --rm cat" "0 piped-in" "$rc $out"

# start -a: attached before the start; stdout and stderr apart; the exit code
dk $alice create --name "$prefix-sa" "$image" sh -c 'echo to-stdout; echo to-stderr >&2; exit 5'
expect_rc0 "alice: create"
T=20 dk $alice start -a "$prefix-sa"
expect_eq "start -a" "5 to-stdout to-stderr" "$rc $out $err"
# attach to a running container, which ends while attached
dk $alice run -d --name "$prefix-at" "$image" \
        sh -c 'while [ ! -e /tmp/go ]; do echo tick; sleep 0.1; done; echo after-go; exit 4'
expect_rc0 "alice: run -d (to attach to)"
bg_dk $alice "$tmp/attach.out" attach --no-stdin "$prefix-at"
attach_pid=$bg
wait_for "docker attach to stream the output" 20 grep -q tick "$tmp/attach.out"
D exec "$prefix-at" touch /tmp/go # (root, straight to Docker: only attach is tested here)
if wait_for "docker attach to end with the container" 20 gone "$attach_pid"; then
        wait "$attach_pid"
        expect_eq "attach: the container's exit code" 4 "$?"
else
        kill "$attach_pid" 2>/dev/null
        wait "$attach_pid" 2>/dev/null
fi
expect_eq "attach: the last line" after-go "$(tail -n 1 "$tmp/attach.out")"
# wait: blocks until the container ends, prints its exit code
dk $alice run -d --name "$prefix-wt" "$image" sh -c 'sleep 0.5; exit 6'
expect_rc0 "alice: run -d (to wait for)"
T=20 dk $alice wait "$prefix-wt"
expect_eq "wait" "0 6" "$rc $out"

# logs -f: follows a container that prints over time, until it ends
# shellcheck disable=SC2016
dk $alice run -d --name "$prefix-lg" "$image" sh -c 'for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.2; done'
expect_rc0 "alice: run -d (logs)"
T=30 dk $alice logs -f "$prefix-lg"
expect_eq "logs -f" "0 $(printf 'line-%s\n' 1 2 3 4 5 6)" "$rc $out"

# cp both ways, 5 MB
ahome=/home/$alice
head -c 5242880 /dev/urandom >"$ahome/f5"
chown $alice: "$ahome/f5"
T=30 dk $alice cp "$ahome/f5" "$prefix-a1:/tmp/f5"
expect_rc0 "cp into the container"
expect_eq "the copy in the container" "5242880 /tmp/f5" \
        "$(D exec "$prefix-a1" wc -c /tmp/f5 | tr -s ' ' | sed 's/^ //')"
T=30 dk $alice cp "$prefix-a1:/tmp/f5" "$ahome/f5.back"
expect_rc0 "cp out of the container"
if cmp -s "$ahome/f5" "$ahome/f5.back"; then ok; else bad "cp: the file came back different"; fi

# build, legacy builder: a 100 MB context streamed through ds01d
mkdir -p "$ahome/ctx"
head -c 104857600 /dev/urandom >"$ahome/ctx/big.bin"
echo built-through-ds01 >"$ahome/ctx/small.txt"
printf 'FROM %s\nCOPY small.txt /small.txt\n' "$image" >"$ahome/ctx/Dockerfile"
chown -R $alice: "$ahome/ctx"
rss0=$(kb VmRSS)
hwm0=$(kb VmHWM)
(while kb VmRSS; do sleep 0.02; done) >"$tmp/rss.samples" 2>/dev/null &
sampler=$!
bg_pids+=("$sampler")
T=120 as $alice env DOCKER_BUILDKIT=0 "$docker_cli" -H "unix://$psock" build -t "$prefix-img:latest" "$ahome/ctx"
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
rss1=$(kb VmRSS)
hwm1=$(kb VmHWM)
peak=$(sort -n "$tmp/rss.samples" | tail -n 1)
expect_rc0 "build (100 MB context)"
expect_match "build: the context went up whole" 'Sending build context to Docker daemon +10[45]\.[0-9]MB' "$out"
dk $alice run --rm "$prefix-img:latest" cat /small.txt
expect_eq "the built image" "0 built-through-ds01" "$rc $out"
echo "  ds01d VmRSS: ${rss0} kB before the build, ${peak:-?} kB at most during it, ${rss1} kB after (VmHWM ${hwm0} -> ${hwm1} kB)"
if [ $((rss1 - rss0)) -le 20480 ]; then ok; else
        bad "ds01d grew by $((rss1 - rss0)) kB over a 100 MB build (limit 20480)"
fi
if [ $((${peak:-0} - rss0)) -le 20480 ]; then ok; else
        bad "ds01d peaked $((${peak:-0} - rss0)) kB over its size during a 100 MB build (limit 20480)"
fi
if [ "$hwm1" -gt "$hwm0" ] && [ $((hwm1 - rss0)) -gt 20480 ]; then
        bad "ds01d's VmHWM rose to $((hwm1 - rss0)) kB over its size during a 100 MB build (limit 20480)"
else
        ok
fi
rm -rf "$ahome/ctx"

# build, BuildKit: the context over the hijacked /session connection
mkdir -p "$ahome/bkctx"
echo built-with-buildkit >"$ahome/bkctx/small.txt"
printf 'FROM %s\nCOPY small.txt /small.txt\n' "$image" >"$ahome/bkctx/Dockerfile"
chown -R $alice: "$ahome/bkctx"
T=120 as $alice env DOCKER_BUILDKIT=1 "$docker_cli" -H "unix://$psock" build --progress plain \
        -t "$prefix-bk:latest" "$ahome/bkctx"
expect_rc0 "BuildKit build"
dk $alice run --rm "$prefix-bk:latest" cat /small.txt
expect_eq "the image BuildKit built" "0 built-with-buildkit" "$rc $out"

# docker-compose 1.29: two services, their network
mkdir -p "$ahome/comp"
cat >"$ahome/comp/docker-compose.yml" <<EOF
version: "3"
services:
  web:
    image: $image
    command: sleep 600
  worker:
    image: $image
    command: sh -c "echo worker-up; sleep 600"
EOF
chown -R $alice: "$ahome/comp"
proj=$prefix-comp
compose() {
        T=90 as $alice env DOCKER_HOST="unix://$psock" "$compose" -f "$ahome/comp/docker-compose.yml" \
                -p "$proj" "$@"
}
compose up -d
expect_rc0 "compose up -d"
expect_eq "compose: two containers, both alice's, type compose" \
        "$alice compose running"$'\n'"$alice compose running" \
        "$(D ps -a -q --filter "label=com.docker.compose.project=$proj" | while read -r id; do
                D inspect --format '{{index .Config.Labels "ds01.user"}} {{index .Config.Labels "ds01.container_type"}} {{.State.Status}}' "$id"
        done)"
expect_eq "compose: its network is alice's" "$alice" \
        "$(D network inspect --format '{{index .Labels "ds01.user"}}' "${proj}_default" 2>&1)"
compose ps
expect_rc0 "compose ps"
expect_match "compose ps: web" "${proj}_web_1 .* Up" "$out"
expect_match "compose ps: worker" "${proj}_worker_1 .* Up" "$out"
compose logs worker
expect_match "compose logs" 'worker-up' "$out"
compose down -t 1
expect_rc0 "compose down"
expect_eq "compose down: no containers left" "" \
        "$(D ps -a -q --filter "label=com.docker.compose.project=$proj")"
if D network inspect "${proj}_default" >/dev/null 2>&1; then
        bad "compose down left its network ${proj}_default"
else
        ok
fi

# Nothing alice did so far was refused.
expect_eq "no auth.denied for alice's own work" "" "$(denials $alice)"

# ---- another user's container ------------------------------------------------------

# an exec of alice's, created and not started: its id names her container
api $alice POST "/containers/$prefix-a2/exec" '{"Cmd":["touch","/tmp/bob-was-here"],"AttachStdout":true}'
eid=$(jq -r .Id <<<"$out" 2>/dev/null)
expect_eq "alice: an exec created through the API" "201 64" "$code ${#eid}"
before=$(snapshot "$a2")
bhome=/home/$bob
echo bob >"$bhome/bob.txt"
chown $bob: "$bhome/bob.txt"
# one refusal, one auth.denied record
T=15 dk $bob inspect "$prefix-a2"
expect_denied "bob: docker inspect $prefix-a2"
wait_for "the auth.denied record of bob's inspect" 10 has_denials $bob 0
expect_eq "one auth.denied record for one refused request" 1 "$(denials $bob | wc -l)"
bob_tries=(
        "inspect $prefix-a2"
        "inspect ${a2:0:12}"
        "exec $prefix-a2 true"
        "exec -u 0 $a2 touch /tmp/bob-was-here"
        "logs $prefix-a2"
        "stop -t 1 $prefix-a2"
        "stop -t 1 $a2"
        "rm -f $prefix-a2"
        "rename $prefix-a2 $prefix-bobs"
        "commit $prefix-a2 $prefix-stolen:latest"
        "cp $prefix-a2:/etc/passwd $bhome/passwd"
        "cp $bhome/bob.txt $prefix-a2:/tmp/bob-was-here"
        "update --memory 64m $prefix-a2"
        "update --restart always $prefix-a2"
        "attach --no-stdin $prefix-a2"
        "kill $prefix-a2"
        "pause $prefix-a2"
        "top $prefix-a2"
        "export -o $bhome/a2.tar $prefix-a2"
        "wait $prefix-a2"
        "restart -t 1 $prefix-a2"
        "port $prefix-a2"
        "diff $prefix-a2"
        "start $prefix-a2"
)
for args in "${bob_tries[@]}"; do
        # shellcheck disable=SC2086
        T=15 dk $bob $args
        expect_denied "bob: docker $args"
done
# what the CLI never sends (it inspects first), straight to the API
for req in "POST /containers/$a2/exec {\"Cmd\":[\"touch\",\"/tmp/bob-was-here\"]}" \
        "POST /containers/$prefix-a2/attach?stream=1&stdout=1" "GET /containers/$prefix-a2/logs?stdout=1" \
        "POST /exec/$eid/start {\"Detach\":true}" "GET /exec/$eid/json" "POST /exec/$eid/resize?h=24&w=80" \
        "POST /containers/$prefix-a2/start" "GET /containers/$prefix-a2/stats?stream=0"; do
        read -r method path body <<<"$req"
        api $bob "$method" "$path" "$body"
        if [ "$code" = 403 ] && [[ $out =~ ds01: ]]; then ok; else
                bad "bob: $method $path: expected 403 with 'ds01:', got $code: $(head -c 300 <<<"$out")"
        fi
done
expect_eq "alice's container after bob's attempts" "$before" "$(snapshot "$a2")"
grep -q bob-was-here <<<"$(D diff "$a2")" && bad "bob wrote into alice's container"
D image inspect "$prefix-stolen:latest" >/dev/null 2>&1 && bad "bob committed alice's container"
[ -e "$bhome/passwd" ] && bad "bob copied a file out of alice's container"
[ -s "$bhome/a2.tar" ] && bad "bob exported alice's container"
dk $carol stop -t 1 "$prefix-b1"
expect_denied "carol: stop bob's container"
expect_eq "bob's container still runs" running "$(D inspect --format '{{.State.Status}}' "$prefix-b1")"

# ---- protected and unowned containers -------------------------------------------

D run -d --name "$prefix-prot" --label ds01.protected=true --label "ds01.user=$alice" "$image" sleep 600 \
        >/dev/null || bad "root: run the protected container"
D run -d --name "$prefix-unowned" "$image" sleep 600 >/dev/null || bad "root: run the unowned container"
prot_before=$(snapshot "$prefix-prot")
unowned_before=$(snapshot "$prefix-unowned")
for c in "$prefix-prot" "$prefix-unowned"; do
        for args in "stop -t 1 $c" "exec $c true" "rm -f $c"; do
                # shellcheck disable=SC2086
                T=15 dk $alice $args
                expect_denied "alice: docker $args"
        done
done
expect_eq "the protected container after alice's attempts" "$prot_before" "$(snapshot "$prefix-prot")"
expect_eq "the unowned container after alice's attempts" "$unowned_before" "$(snapshot "$prefix-unowned")"

# ---- an admin passes through ------------------------------------------------------

dk $admin inspect --format '{{.Id}}' "$prefix-a2"
expect_eq "admin: inspect alice's container" "0 $a2" "$rc $out"
dk $admin exec "$prefix-a2" echo admin-ok
expect_eq "admin: exec in alice's container" "0 admin-ok" "$rc $out"
dk $admin ps -a --format '{{.Names}}'
expect_rc0 "admin: ps -a"
for c in "$prefix-a2" "$prefix-b1" "$prefix-prot" "$prefix-unowned"; do
        if grep -qxF "$c" <<<"$out"; then ok; else bad "admin's ps -a lacks $c"; fi
done

# ---- events -----------------------------------------------------------------------

wait_for "auth.denied records of bob's attempts" 10 has_denials $bob 1
# (grep -q on a here-string: with pipefail, grep quitting early would fail
# the pipeline with SIGPIPE on the writer)
if grep -qE "$prefix-a2|${a2:0:12}" <<<"$(denials $bob)"; then ok; else
        bad "no auth.denied record of bob's names alice's container: $(denials $bob | head -n 3)"
fi
wait_for "auth.denied records of alice's attempts" 10 has_denials $alice 0
if grep -qF "$prefix-prot" <<<"$(denials $alice)"; then ok; else
        bad "no auth.denied record of alice's names the protected container: $(denials $alice | head -n 3)"
fi
expect_eq "auth.denied stays out of the database" "" "$(ds01 events --type auth. --all --json 2>&1)"
echo "  auth.denied records: bob $(denials $bob | wc -l) (of $((${#bob_tries[@]} + 1)) refused commands), alice $(denials $alice | wc -l) (of 6 refused commands)"

# ---- stop and rm one's own -----------------------------------------------------------

dk $alice stop -t 1 "$prefix-a1"
expect_eq "alice: stop" "0 $prefix-a1" "$rc $out"
expect_eq "stopped" exited "$(D inspect --format '{{.State.Status}}' "$prefix-a1")"
dk $alice rm "$prefix-a1"
expect_eq "alice: rm" "0 $prefix-a1" "$rc $out"
if D inspect "$prefix-a1" >/dev/null 2>&1; then bad "alice's rm left the container"; else ok; fi
dk $alice rm -f "$prefix-a2" "$prefix-sa" "$prefix-at" "$prefix-wt" "$prefix-lg"
expect_rc0 "alice: rm -f of the rest"
dk $alice rmi "$prefix-img:latest" "$prefix-bk:latest"
expect_rc0 "alice: rmi of her images"

# ---- docker events: one's own only, streamed -------------------------------------------

fmt='{{.Actor.Attributes.name}} {{.Action}}'
t0=$(date +%s) # --since: no event is missed while the streams open
bg_dk $alice "$tmp/events-alice.out" events --since "$t0" --format "$fmt"
bg_dk $bob "$tmp/events-bob.out" events --since "$t0" --format "$fmt"
dk $alice run --rm --name "$prefix-ev-a" "$image" true
expect_rc0 "alice: run --rm (events)"
dk $bob run --rm --name "$prefix-ev-b" "$image" true
expect_rc0 "bob: run --rm (events)"
dk $bob rm -f "$prefix-b1"
expect_rc0 "bob: rm -f his container"
wait_for "alice's events stream" 20 grep -q "^$prefix-ev-a destroy" "$tmp/events-alice.out"
wait_for "bob's events stream" 20 grep -q "^$prefix-b1 destroy" "$tmp/events-bob.out"
expect_match "bob's events: his run --rm" "$prefix-ev-b start" "$(cat "$tmp/events-bob.out")"
if grep -q "^$prefix-b1 \|^$prefix-ev-b " "$tmp/events-alice.out"; then
        bad "bob's containers in alice's events: $(grep "^$prefix-b1 \|^$prefix-ev-b " "$tmp/events-alice.out" | head -n 3)"
else
        ok
fi
if grep -q "^$prefix-ev-a " "$tmp/events-bob.out"; then bad "alice's container in bob's events"; else ok; fi

# ---- SIGTERM with the proxy's connections open ---------------------------------------

kill -TERM "$daemon_pid"
if wait_for "ds01d to exit after SIGTERM" 15 gone "$daemon_pid"; then
        wait "$daemon_pid"
        expect_eq "ds01d exit after SIGTERM" 0 "$?"
        daemon_pid=
fi

echo "test-proxy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
