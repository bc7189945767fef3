#!/usr/bin/env bash
# test-proxy-security.sh - the Docker API proxy of ds01d against a corpus of
# 97 escalation attempts, sent as real unprivileged users through
# <run-dir>/docker.sock (curl, raw sockets from python3, and Debian's docker
# CLI /usr/bin/docker):
#  - every attempt is refused: 403 (policy), 400/413/431 (malformed or
#    ambiguous framing, oversized head or body), or 404 where the target must
#    look absent; the answer carries a one-line "ds01: ..." reason naming what
#    was refused;
#  - every attempt writes one auth.denied line to events.jsonl (the attempts
#    are spread over three users, each well under the 60 lines a minute per
#    user that ds01d writes);
#  - none reaches Docker: ds01d talks to Docker through docker-tap.py, which
#    records every byte sent toward Docker; each attempt carries a unique
#    marker (header X-Ds01-Corpus, and in its body where it has one) that must
#    be absent from that record at the end;
#  - positive controls, so that the checks can fail: an allowed listing and an
#    allowed create by the same user, and an admin's request, whose markers
#    must be in the record (admins pass through unchanged).
# Users: ds01s-alice-PID and ds01s-carol-PID (group students), ds01s-bob-PID
# (researchers), ds01s-admin-PID (member of the Unix group ds01s-adm-PID, the
# admin group).
# Everything created is removed at exit.
#
# Needs root (it creates users), jq, curl, setpriv, python3 and the test
# Docker engine (tests/integration/docker-harness.sh); exits 77 when not root.
#
# Usage: test-proxy-security.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4

if [ "$(id -u)" -ne 0 ] || ! command -v jq >/dev/null || ! command -v useradd >/dev/null ||
        ! command -v setpriv >/dev/null || ! command -v curl >/dev/null ||
        ! command -v sqlite3 >/dev/null; then
        echo "test-proxy-security: skipped (needs root, jq, curl, sqlite3, useradd and setpriv)"
        exit 77
fi

# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
chmod 0755 "$tmp"
real_docker=/var/run/docker.sock
export DS01_TEST_DOCKER_SOCKET=$real_docker
PY=/usr/bin/python3 # not a shim in root's home: the users run it too
UDOCKER=/usr/bin/docker # Debian's docker CLI
prefix=ds01test-$$
alice=ds01s-alice-$$
bob=ds01s-bob-$$
carol=ds01s-carol-$$
admin=ds01s-admin-$$
admgroup=ds01s-adm-$$
psock=$tmp/run/docker.sock
tap_pid=
created_users=()
created_group=

cleanup() {
        [ -n "$tap_pid" ] && kill "$tap_pid" 2>/dev/null && wait "$tap_pid" 2>/dev/null
        docker ps -aq --filter "name=^$prefix-" | xargs -r docker rm -f -v >/dev/null 2>&1
        docker network ls -q --filter "name=^$prefix-" | xargs -r docker network rm >/dev/null 2>&1
        docker volume ls -q --filter "name=^$prefix-" | xargs -r docker volume rm -f >/dev/null 2>&1
        docker images -q --filter "reference=$prefix-*" | xargs -r docker rmi -f >/dev/null 2>&1
        for u in "${created_users[@]}"; do
                userdel -r "$u" >/dev/null 2>&1
        done
        [ -n "$created_group" ] && groupdel "$created_group" >/dev/null 2>&1
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$SRC/tests/integration/docker-harness.sh" ensure >"$tmp/harness.log" 2>&1 || {
        cat "$tmp/harness.log" >&2
        echo "test-proxy-security: no Docker engine" >&2
        exit 1
}
image=${DS01_TEST_DOCKER_IMAGE:-ds01-test-busybox:latest}
[ -x "$UDOCKER" ] || {
        echo "test-proxy-security: $UDOCKER (Debian's docker.io CLI) missing" >&2
        exit 1
}

# ---- users ----------------------------------------------------------------------
groupadd "$admgroup" || exit 1
created_group=$admgroup
for u in "$alice" "$bob" "$carol" "$admin"; do
        useradd --create-home --user-group --shell /usr/sbin/nologin "$u" || {
                echo "test-proxy-security: cannot create user $u" >&2
                exit 1
        }
        created_users+=("$u")
done
usermod -a -G "$admgroup" "$admin" || exit 1
ahome=/home/$alice
auid=$(id -u "$alice")
agid=$(id -g "$alice")
install -d -o "$alice" -g "$alice" "$ahome/work" "$ahome/.docker"
install -d -o "$bob" -g "$bob" "/home/$bob/.docker"
install -d -o "$carol" -g "$carol" "/home/$carol/.docker"
install -d -o "$admin" -g "$admin" "/home/$admin/.docker"
ln -s /etc "$ahome/etclink"
chown -h "$alice:$alice" "$ahome/etclink"

# as USER CMD...: CMD with USER's ids and groups (setpriv keeps the environment)
as() {
        local u=$1
        shift
        setpriv --reuid="$u" --regid="$u" --init-groups -- env HOME="/home/$u" \
                DOCKER_CONFIG="/home/$u/.docker" "$@"
}
# udocker USER ARGS...: the Debian docker CLI as USER through the proxy
udocker() {
        local u=$1
        shift
        as "$u" "$UDOCKER" -H "unix://$psock" "$@"
}

# ---- configuration, the tap, the daemon -------------------------------------------
mkdir -p "$tmp/etc" "$tmp/run" "$tmp/body"
chmod 0755 "$tmp/run" "$tmp/body"
cat >"$tmp/etc/resource-limits.yaml" <<EOF
defaults:
  max_gpu_equivalents: 1
  max_gpu_slots_per_container: 1
  allow_full_gpu: true
  max_containers_per_user: 20
  max_cpus: 2
  memory: 1g
  memory_swap: 1g
  pids_limit: 512
  gpu_hold_after_stop_h: 1
default_group: students
groups:
  students:
    members: [$alice, $carol]
  researchers:
    members: [$bob]
gpu_allocation:
  attach: nvidia_runtime
  wait_s: 3
access_control:
  admin_users: []
  admin_group: $admgroup
enforcement:
  cgroup_driver: cgroupfs
EOF
if ! "$DS01" config check "$tmp/etc/resource-limits.yaml" >"$tmp/check.out" 2>&1; then
        bad "the test configuration is refused: $(cat "$tmp/check.out")"
fi

taplog=$tmp/tap.log
: >"$taplog"
"$PY" "$SRC/tests/integration/docker-tap.py" "$tmp/tap.sock" "$real_docker" "$taplog" \
        2>>"$tmp/tap.err" &
tap_pid=$!
wait_for "the tap socket" 10 test -S "$tmp/tap.sock" || exit 1
expect_eq "the tap socket is root's alone" 600 "$(stat -c %a "$tmp/tap.sock")"

# a100x4 (GPUs 0 and 2 run processes, so 1 and 3 are the ones to give out)
# with UUIDs of this run: containers of other tests on the same engine that
# are labelled with the fixture's UUIDs must not look like holders of ours
awk -v p=$$ '/uuid: "GPU-/ { n++; sub(/-[0-9a-f]+"$/, sprintf("-%06x%06x\"", p % 16777216, n)) } { print }' \
        "$SRC/tests/fixtures/topology/a100x4.yaml" >"$tmp/a100x4.yaml"
DS01_TEST_DOCKER_SOCKET=$tmp/tap.sock start_daemon "$tmp/a100x4.yaml" || exit 1
if ! wait_for "the proxy socket $psock" 10 test -S "$psock"; then
        echo "test-proxy-security: ds01d does not listen on $psock; nothing to test" >&2
        exit 1
fi
expect_eq "proxy socket mode" 666 "$(stat -c %a "$psock")"
events=$tmp/log/events.jsonl

# ---- what the corpus refers to ------------------------------------------------------
# bob's running container, holding a GPU; an exec in it; his network and volume
bob_uuid=$(ds01 gpu allocate "$bob" "$prefix-bob" --json | jq -r '.slots[0].uuid')
[[ $bob_uuid == GPU-* ]] || bad "allocate a GPU for bob's container: [$bob_uuid]"
bobctr=$prefix-bob
docker run -d --name "$bobctr" --label "ds01.user=$bob" --label ds01.managed=true \
        "$image" sleep 600 >/dev/null || bad "bob's container"
bobid=$(docker inspect -f '{{.Id}}' "$bobctr")
bobexec=$(curl -s --unix-socket "$real_docker" -H 'Content-Type: application/json' \
        -d '{"Cmd":["true"]}' "http://docker/v1.41/containers/$bobctr/exec" | jq -r .Id)
[ ${#bobexec} -eq 64 ] || bad "an exec in bob's container: [$bobexec]"
bobnet=$prefix-bobnet
docker network create --label "ds01.user=$bob" "$bobnet" >/dev/null || bad "bob's network"
bobvol=$prefix-bobvol
docker volume create --label "ds01.user=$bob" "$bobvol" >/dev/null || bad "bob's volume"
# a protected container of alice's, and one nobody owns
docker create --name "$prefix-prot" --label "ds01.user=$alice" --label ds01.protected=true \
        "$image" sleep 600 >/dev/null || bad "the protected container"
docker create --name "$prefix-unowned" "$image" sleep 600 >/dev/null || bad "the unowned container"
# wait until ds01d has seen them (reconcile) so that ownership is known
seen() { [ "$(sqlite3 "file:$tmp/state/state.db?mode=ro" \
        "SELECT count(*) FROM containers WHERE name IN ('$bobctr','$prefix-prot','$prefix-unowned')")" = 3 ]; }
wait_for "ds01d to see the test containers" 20 seen

mark() { printf 'ds01corpus-%s-%s-z' "$$" "$1"; }

# ---- positive controls: allowed requests reach Docker with their marker ----------
ok_markers=()
m=$(mark ok-list)
ok_markers+=("$m")
out=$(as "$alice" curl -sS --max-time 30 --unix-socket "$psock" -H "X-Ds01-Corpus: $m" \
        -w '\n%{http_code}' "http://docker/v1.41/containers/json?all=1")
expect_eq "alice may list containers" 200 "${out##*$'\n'}"
expect_eq "alice's listing holds none of bob's" "" \
        "$(jq -r --arg b "$bobid" '.[] | select(.Id == $b) | .Id' <<<"${out%$'\n'*}" 2>/dev/null)"

# alice's own container, created through the proxy with a bind of her home
actr=$prefix-alice
m=$(mark ok-create)
ok_markers+=("$m")
jq -n --arg img "$image" --arg m "$m" --arg src "$ahome/work" \
        '{Image: $img, Cmd: ["sleep", "600"], Labels: {corpus: $m},
          HostConfig: {Binds: ["\($src):/work"]}}' >"$tmp/body/ok-create.json"
out=$(as "$alice" curl -sS --max-time 30 --unix-socket "$psock" -H "X-Ds01-Corpus: $m" \
        -H 'Content-Type: application/json' --data-binary "@$tmp/body/ok-create.json" \
        -w '\n%{http_code}' "http://docker/v1.41/containers/create?name=$actr")
expect_eq "alice may create her own container with a home bind" 201 "${out##*$'\n'}"
if docker inspect "$actr" >/dev/null 2>&1; then
        expect_eq "User forced with a home bind" "$auid:$agid" "$(docker inspect -f '{{.Config.User}}' "$actr")"
        expect_eq "owner label" "$alice" "$(docker inspect -f '{{index .Config.Labels "ds01.user"}}' "$actr")"
        expect_eq "memory capped" 1073741824 "$(docker inspect -f '{{.HostConfig.Memory}}' "$actr")"
        expect_match "no GPU: NVIDIA_VISIBLE_DEVICES=void" '(^| )NVIDIA_VISIBLE_DEVICES=void( |$)' \
                "$(docker inspect -f '{{join .Config.Env " "}}' "$actr")"
        out=$(as "$alice" curl -sS --max-time 30 --unix-socket "$psock" -X POST -w '%{http_code}' \
                "http://docker/v1.41/containers/$actr/start")
        expect_eq "alice may start her own container" 204 "$out"
else
        # so that the exec attempts below still test something
        echo "  (alice's container made directly on Docker: the proxy did not create it)"
        docker run -d --name "$actr" --label "ds01.user=$alice" -u "$auid:$agid" \
                -v "$ahome/work:/work" "$image" sleep 600 >/dev/null
fi
[ "$(docker inspect -f '{{.State.Running}}' "$actr" 2>/dev/null)" = true ] ||
        docker start "$actr" >/dev/null 2>&1

# an admin's request passes through unchanged
m=$(mark ok-admin)
ok_markers+=("$m")
out=$(as "$admin" curl -sS --max-time 30 --unix-socket "$psock" -H "X-Ds01-Corpus: $m" \
        -o /dev/null -w '%{http_code}' "http://docker/v1.41/containers/$bobctr/json")
expect_eq "an admin may inspect bob's container" 200 "$out"

# ---- the corpus ----------------------------------------------------------------------
# The attempts that need something of alice's are hers; the others are bob's
# and carol's, so that nobody comes near the rate limit of auth.denied lines
# (60 a minute per user).
n_corpus=0
corpus_markers=()
who=$alice
event_misses=0
# denied_count USER: auth.denied lines of USER in events.jsonl
denied_count() {
        jq -r 'select(.event_type == "auth.denied") | .user' "$events" 2>/dev/null | grep -cxF "$1"
}
declare -A denied_expected
denied_expected[$alice]=$(denied_count "$alice")
denied_expected[$bob]=$(denied_count "$bob")
denied_expected[$carol]=$(denied_count "$carol")
denied_reached() { [ "$(denied_count "$who")" -ge "${denied_expected[$who]}" ]; }

# record ID DESC WANT_STATUS_RE REASON_RE GOT_STATUS BODY: the checks of one attempt
record() {
        local id=$1 desc=$2 want=$3 re=$4 got=$5 body=$6 lc i
        n_corpus=$((n_corpus + 1))
        corpus_markers+=("$(mark "$id")")
        body=${body//$'\n'/ }
        lc=${body,,}
        printf '  %-4s %-5s %-60s %s %s\n' "$id" "${who%%-[0-9]*}" "$desc" "$got" "${body:0:200}"
        if [[ $got =~ ^($want)$ ]]; then ok; else bad "$id ($desc): status $got, expected $want: ${body:0:300}"; fi
        if [[ $body == *"ds01: "* ]]; then ok; else bad "$id ($desc): no 'ds01: ' reason in: ${body:0:300}"; fi
        if [[ $lc =~ $re ]]; then ok; else bad "$id ($desc): the reason does not match /$re/: ${body:0:300}"; fi
        # one auth.denied line for it (give up waiting long after three misses)
        denied_expected[$who]=$((denied_expected[$who] + 1))
        local secs=5
        [ $event_misses -ge 3 ] && secs=0
        for ((i = 0; i <= secs * 50; i++)); do
                denied_reached && break
                sleep 0.02
        done
        if denied_reached; then
                ok
        else
                event_misses=$((event_misses + 1))
                bad "$id ($desc): no auth.denied event (expected ${denied_expected[$who]} for $who, have $(denied_count "$who"))"
                denied_expected[$who]=$(denied_count "$who")
        fi
}

# subst FILE: fills in the placeholders of a body template
subst() {
        sed -e "s|@MARK@|$cur_mark|g" -e "s|@IMG@|$image|g" -e "s|@HOME@|$ahome|g" \
                -e "s|@BOB@|$bob|g" -e "s|@BOBCTR@|$bobctr|g" -e "s|@BOBVOL@|$bobvol|g" \
                -e "s|@BOBUUID@|$bob_uuid|g" -e "s|@PSOCK@|$psock|g" -e "s|@ACTR@|$actr|g" \
                -e "s|@PREFIX@|$prefix|g" "$1"
}

# api ID DESC WANT REASON METHOD PATH [BODY_JSON]: one request with curl as $who
api() {
        local id=$1 desc=$2 want=$3 re=$4 method=$5 path=$6 body=${7-} out
        local args=(-sS --path-as-is --max-time 30 --unix-socket "$psock" -X "$method"
                -H "X-Ds01-Corpus: $(mark "$id")" -H 'Expect:' -w '\n%{http_code}')
        cur_mark=$(mark "$id")
        path=${path//@BOBCTR@/$bobctr}
        path=${path//@ACTR@/$actr}
        path=${path//@MARK@/$cur_mark}
        path=${path//@PREFIX@/$prefix}
        if [ -n "$body" ]; then
                printf '%s' "$body" >"$tmp/body/$id.tpl"
                subst "$tmp/body/$id.tpl" >"$tmp/body/$id.json"
                args+=(-H 'Content-Type: application/json' --data-binary "@$tmp/body/$id.json")
        fi
        out=$(as "$who" curl "${args[@]}" "http://docker$path" 2>&1)
        record "$id" "$desc" "$want" "$re" "${out##*$'\n'}" "${out%$'\n'*}"
}

# create ID DESC WANT REASON HOSTCONFIG_JSON [LABELS_JSON]: POST /containers/create
create() {
        local labels=${6:-'{}'}
        api "$1" "$2" "$3" "$4" POST "/v1.41/containers/create?name=@PREFIX@-$1" \
                "$(jq -cn --argjson hc "$5" --argjson l "$labels" \
                        '{Image: "@IMG@", Cmd: ["sleep", "1"], Labels: ({corpus: "@MARK@"} + $l), HostConfig: $hc}')"
}

# raw ID DESC WANT REASON NRESP: the bytes in $tmp/body/ID.raw, sent as $who on
# one connection; the status of the last of NRESP answers counts
raw() {
        local id=$1 out last
        chmod 0644 "$tmp/body/$id.raw"
        out=$(as "$who" "$PY" "$tmp/raw.py" "$psock" "$tmp/body/$id.raw" "$5" 2>&1)
        last=${out##*$'\n'}
        record "$id" "$2" "$3" "$4" "${last%%$'\t'*}" "${last#*$'\t'}"
}

# cli ID DESC REASON ARGS...: Debian's docker CLI as $who; must fail with the reason
cli() {
        local id=$1 desc=$2 re=$3 out rc
        shift 3
        cur_mark=$(mark "$id")
        local a=() x
        for x in "$@"; do
                x=${x//@MARK@/$cur_mark}
                x=${x//@PREFIX@/$prefix}
                a+=("$x")
        done
        out=$(udocker "$who" "${a[@]}" 2>&1)
        rc=$?
        [ $rc -ne 0 ] || out="exit 0: $out"
        record "$id" "$desc" "cli" "$re" "cli" "$out"
}

cat >"$tmp/raw.py" <<'PY'
# raw.py SOCKET REQUEST_FILE NRESP: send the bytes, print "status<TAB>body" for
# each of up to NRESP answers ("000<TAB>..." when none came).
import socket, sys, threading
path, req, nresp = sys.argv[1], open(sys.argv[2], "rb").read(), int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(15)
s.connect(path)
def send():
    try:
        s.sendall(req)
    except OSError:
        pass
threading.Thread(target=send, daemon=True).start()
buf = b""
def fill():
    global buf
    try:
        d = s.recv(65536)
    except OSError:
        return False
    if not d:
        return False
    buf += d
    return True
got = 0
while got < nresp:
    while b"\r\n\r\n" not in buf and fill():
        pass
    if b"\r\n\r\n" not in buf:
        break
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    code = parts[1].decode("ascii", "replace") if len(parts) > 1 else "???"
    if code == "100":
        continue
    hdr = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        hdr[k.strip().lower()] = v.strip()
    if b"content-length" in hdr:
        n = int(hdr[b"content-length"])
        while len(buf) < n and fill():
            pass
        body, buf = buf[:n], buf[n:]
    elif hdr.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = b""
        while True:
            while b"\r\n" not in buf and fill():
                pass
            line, _, buf = buf.partition(b"\r\n")
            try:
                size = int(line.split(b";")[0], 16)
            except ValueError:
                break
            while len(buf) < size + 2 and fill():
                pass
            body += buf[:size]
            buf = buf[size + 2:]
            if size == 0:
                break
    else:
        while fill():
            pass
        body, buf = buf, b""
    got += 1
    text = body.decode("utf-8", "replace").replace("\n", " ").replace("\t", " ")
    print("%s\t%s" % (code, text), flush=True)
if got == 0:
    print("000\t(no answer; the connection %s)" % ("closed" if not buf else "stalled"))
PY
chmod 0644 "$tmp/raw.py"

# rawfile ID: writes stdin (with \n turned into CRLF unless the name says LF) to ID.raw
crlf() { sed 's/$/\r/'; }

bindre='bind|mount|path|allowed|home|outside'
quota1='quota.*you hold 1\.0 of 1\.0 gpu-equivalents'
ownre='not yours|owner|belong|no such|another user|other user|others'

echo "corpus (id, user, attempt, status, answer):"
who=$carol
# -- create: host access and privileges
create c01 "Privileged" 403 'privileged' '{"Privileged":true}'
create c02 "CapAdd SYS_ADMIN" 403 'cap' '{"CapAdd":["SYS_ADMIN"]}'
create c03 "Devices /dev/mem" 403 'device' \
        '{"Devices":[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/mem","CgroupPermissions":"rwm"}]}'
create c04 "DeviceCgroupRules" 403 'device|cgroup' '{"DeviceCgroupRules":["c *:* rwm"]}'
create c05 "PidMode host" 403 'pid' '{"PidMode":"host"}'
create c06 "IpcMode host" 403 'ipc' '{"IpcMode":"host"}'
create c07 "UTSMode host" 403 'uts' '{"UTSMode":"host"}'
create c08 "UsernsMode host" 403 'userns|user namespace' '{"UsernsMode":"host"}'
create c09 "NetworkMode host" 403 'network|host' '{"NetworkMode":"host"}'
create c10 "SecurityOpt seccomp=unconfined" 403 'seccomp|security' '{"SecurityOpt":["seccomp=unconfined"]}'
create c11 "SecurityOpt apparmor=unconfined" 403 'apparmor|security' '{"SecurityOpt":["apparmor=unconfined"]}'
create c12 "SecurityOpt systempaths=unconfined" 403 'systempaths|security' \
        '{"SecurityOpt":["systempaths=unconfined"]}'
create c13 "Sysctls" 403 'sysctl' '{"Sysctls":{"net.ipv4.ip_unprivileged_port_start":"0"}}'
create c14 "CgroupParent /" 403 'cgroup' '{"CgroupParent":"/"}'
create c15 "Runtime io.containerd.runc.v2" 403 'runtime' '{"Runtime":"io.containerd.runc.v2"}'
create c16 "CgroupnsMode host" 403 'cgroup' '{"CgroupnsMode":"host"}'
create c17 "OomScoreAdj -1000" 403 'oom' '{"OomScoreAdj":-1000}'
create c18 "MaskedPaths [] (unmasks /proc)" 403 'masked|path' '{"MaskedPaths":[]}'
create c19 "PortBindings host port 80" 403 'port' \
        '{"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"80"}]}}'
# -- create: bind mounts and volumes (alice's home)
who=$alice
create c20 "bind /etc" 403 "$bindre" '{"Binds":["/etc:/host-etc"]}'
create c21 "bind /" 403 "$bindre" '{"Binds":["/:/host"]}'
create c22 "bind a symlink in home pointing to /etc" 403 "$bindre" '{"Binds":["@HOME@/etclink:/x"]}'
create c23 "bind a missing path below that symlink" 403 "$bindre" \
        '{"Binds":["@HOME@/etclink/ds01-missing:/x"]}'
create c24 "bind ~/../../etc (traversal)" 403 "$bindre" '{"Binds":["@HOME@/../../etc:/x"]}'
create c25 "bind /proc" 403 "$bindre|proc" '{"Binds":["/proc:/hostproc"]}'
create c26 "bind /var/run/docker.sock" 403 "$bindre|docker" \
        '{"Binds":["/var/run/docker.sock:/var/run/docker.sock"]}'
create c27 "bind the proxy socket itself" 403 "$bindre" '{"Binds":["@PSOCK@:/var/run/docker.sock"]}'
create c28 "bind bob's home" 403 "$bindre" "{\"Binds\":[\"/home/$bob:/b\"]}"
create c29 "Mounts type bind /etc" 403 "$bindre" '{"Mounts":[{"Type":"bind","Source":"/etc","Target":"/x"}]}'
create c30 "Mounts volume with driver options o=bind device=/etc" 403 'volume|driver|bind|option' \
        '{"Mounts":[{"Type":"volume","Source":"@PREFIX@-inline","Target":"/x","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/etc"}}}}]}'
create c31 "bob's named volume" 403 "volume|$ownre" '{"Binds":["@BOBVOL@:/data"]}'
create c32 "VolumesFrom bob's container" 403 "$ownre" '{"VolumesFrom":["@BOBCTR@"]}'
create c33 "NetworkMode container:<bob's>" 403 "$ownre" '{"NetworkMode":"container:@BOBCTR@"}'
create c34 "PidMode container:<bob's>" 403 "$ownre" '{"PidMode":"container:@BOBCTR@"}'
# -- create: labels that are ds01's own
create c35 "label ds01.user=<bob>" 403 'ds01\.user|label' '{}' '{"ds01.user":"@BOB@"}'
create c36 "label ds01.protected=true" 403 'ds01\.protected|label' '{}' '{"ds01.protected":"true"}'
# -- create: GPUs (alice may hold 1.0; bob holds a GPU)
create c37 "--gpus device=<bob's GPU> (not the allocator's pick)" 403 'gpu|device|slot' \
        '{"DeviceRequests":[{"Driver":"","Count":0,"DeviceIDs":["@BOBUUID@"],"Capabilities":[["gpu"]]}]}'
# now alice holds her quota: 1.0 of 1.0 GPU-equivalents
ds01 gpu allocate "$alice" "$prefix-agpu" --json >/dev/null || bad "allocate alice's GPU"
docker run -d --name "$prefix-agpu" --label "ds01.user=$alice" "$image" sleep 600 >/dev/null ||
        bad "alice's GPU container"
create c38 "--gpus 1 past quota" 403 "$quota1" \
        '{"DeviceRequests":[{"Driver":"","Count":1,"Capabilities":[["gpu"]]}]}'
create c39 "--gpus all past quota" 403 "$quota1" \
        '{"DeviceRequests":[{"Driver":"","Count":-1,"Capabilities":[["gpu"]]}]}'
api c40 "runtime nvidia + NVIDIA_VISIBLE_DEVICES=all past quota" 403 "$quota1" POST \
        "/v1.41/containers/create?name=@PREFIX@-c40" \
        '{"Image":"@IMG@","Cmd":["true"],"Env":["NVIDIA_VISIBLE_DEVICES=all"],"Labels":{"corpus":"@MARK@"},"HostConfig":{"Runtime":"nvidia"}}'
# -- create: JSON that Docker (Go) reads differently from a naive check
who=$carol
api c41 "lowercase key hostconfig.Privileged (Go matches keys case-insensitively)" '400|403' \
        'privileged|hostconfig|key|json|field' POST "/v1.41/containers/create?name=@PREFIX@-c41" \
        '{"Image":"@IMG@","Labels":{"corpus":"@MARK@"},"hostconfig":{"Privileged":true}}'
api c42 "lowercase key HostConfig.privileged" '400|403' 'privileged|key|json|field' POST \
        "/v1.41/containers/create?name=@PREFIX@-c42" \
        '{"Image":"@IMG@","Labels":{"corpus":"@MARK@"},"HostConfig":{"privileged":true}}'
api c43 "key \\u017fysctls (Go folds long s to s: Sysctls)" '400|403' 'sysctl|key|json|field' POST \
        "/v1.41/containers/create?name=@PREFIX@-c43" \
        '{"Image":"@IMG@","Labels":{"corpus":"@MARK@"},"HostConfig":{"\u017fysctls":{"kernel.msgmax":"65536"}}}'
api c44 "duplicate key Privileged false, then true" '400|403' 'privileged|duplicate|json|key' POST \
        "/v1.41/containers/create?name=@PREFIX@-c44" \
        '{"Image":"@IMG@","Labels":{"corpus":"@MARK@"},"HostConfig":{"Privileged":false,"Privileged":true}}'
api c45 "Binds as a string, not an array" '400|403' 'binds|json|malformed|invalid|array' POST \
        "/v1.41/containers/create?name=@PREFIX@-c45" \
        '{"Image":"@IMG@","Labels":{"corpus":"@MARK@"},"HostConfig":{"Binds":"/etc:/x"}}'
api c46 "invalid JSON in a create body" 400 'json|malformed|invalid' POST \
        "/v1.41/containers/create?name=@PREFIX@-c46" \
        '{"Image":"@IMG@","Labels":{"corpus":"@MARK@"},"HostConfig":{"Privileged":true'
# -- exec, update
who=$alice
api c47 "exec Privileged in her own container" 403 'privileged' POST "/v1.41/containers/@ACTR@/exec" \
        '{"Privileged":true,"Cmd":["echo","@MARK@"]}'
api c48 "exec as root (User 0) in her container with a home bind" 403 'user|root' POST \
        "/v1.41/containers/@ACTR@/exec" '{"User":"0","Cmd":["echo","@MARK@"]}'
api c49 "start an exec created in bob's container" '403|404' "exec|$ownre" POST \
        "/v1.41/exec/$bobexec/start" '{"Detach":false,"Tty":false}'
api c50 "update Memory past the 1g limit" 403 'memory|limit' POST "/v1.41/containers/@ACTR@/update" \
        '{"Memory":8589934592,"MemorySwap":8589934592}'
api c51 "update PidsLimit -1 (removes the limit)" 403 'pids|limit' POST \
        "/v1.41/containers/@ACTR@/update" '{"PidsLimit":-1}'
# -- others' and protected containers
api c52 "commit bob's container" '403|404' "$ownre" POST "/v1.41/commit?container=@BOBCTR@&repo=@PREFIX@-stolen"
api c53 "export bob's container" '403|404' "$ownre" GET "/v1.41/containers/@BOBCTR@/export"
api c54 "archive (read a file) of bob's container" '403|404' "$ownre" GET \
        "/v1.41/containers/@BOBCTR@/archive?path=/etc/hostname"
api c55 "inspect bob's container by id prefix" '403|404' "$ownre" GET "/v1.41/containers/${bobid:0:12}/json"
api c56 "inspect bob's container, name percent-encoded" '403|404' "$ownre" GET \
        "/v1.41/containers/%$(printf '%02x' "'${bobctr:0:1}")${bobctr:1}/json"
api c57 "stop a protected container" 403 'protected|admin' POST "/v1.41/containers/$prefix-prot/stop"
api c58 "stop a container nobody owns" '403|404' 'owner|unowned|no known|not yours' POST \
        "/v1.41/containers/$prefix-unowned/stop"
# -- endpoints never for users (bob's turn). Should one leak, the filters keep
# it harmless: only objects older than 100 years and with the marker label are
# pruned; the swarm body does not decode; the plugin is pulled from nowhere.
who=$bob
pf() { jq -rn --arg m "$(mark "$1")" '{label: [$m], until: ["876000h"]} | tojson | @uri'; }
api c59 "POST /containers/prune" 403 'prune|admin' POST "/v1.41/containers/prune?filters=$(pf c59)"
api c60 "POST /images/prune" 403 'prune|admin' POST "/v1.41/images/prune?filters=$(pf c60)"
api c61 "POST /volumes/prune" 403 'prune|admin' POST \
        "/v1.41/volumes/prune?filters=$(jq -rn --arg m "$(mark c61)" '{label: [$m]} | tojson | @uri')"
api c62 "POST /networks/prune" 403 'prune|admin' POST "/v1.41/networks/prune?filters=$(pf c62)"
api c63 "POST /build/prune" 403 'prune|admin' POST \
        "/v1.41/build/prune?filters=$(jq -rn '{until: ["876000h"]} | tojson | @uri')"
api c64 "swarm init" 403 'swarm|admin' POST "/v1.41/swarm/init" '{"ListenAddr":0,"Spec":"@MARK@"}'
api c65 "plugin install" 403 'plugin|admin' POST "/v1.41/plugins/pull?remote=127.0.0.1:9/none:latest&name=@MARK@" '[]'
api c66 "secret create" 403 'secret|swarm|admin' POST "/v1.41/secrets/create" '{"Name":"@MARK@","Data":"eA=="}'
api c67 "config create" 403 'config|swarm|admin' POST "/v1.41/configs/create" '{"Name":"@MARK@","Data":"eA=="}'
api c68 "network create with driver macvlan" 403 'network|driver' POST "/v1.41/networks/create" \
        '{"Name":"@PREFIX@-mac","Driver":"macvlan","Options":{"parent":"eth0"},"Labels":{"corpus":"@MARK@"}}'
who=$alice
api c69 "connect her container to the host network" 403 'network|host' POST "/v1.41/networks/host/connect" \
        '{"Container":"@ACTR@"}'
api c70 "connect her container to bob's network" '403|404' "network|$ownre" POST \
        "/v1.41/networks/$bobnet/connect" '{"Container":"@ACTR@"}'
api c71 "volume create with driver opts o=bind device=/etc" 403 'volume|driver|bind|option' POST \
        "/v1.41/volumes/create" \
        '{"Name":"@PREFIX@-v71","Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/etc"},"Labels":{"corpus":"@MARK@"}}'
who=$bob
api c72 "build with networkmode=host" 403 'network|host|build' POST "/v1.41/build?networkmode=host&t=@PREFIX@-b72"
# -- unknown endpoints and path tricks
api c73 "unknown endpoint /v1.41/foo" '403|404' 'unknown|not known|endpoint|not allowed' GET "/v1.41/foo"
api c74 "path /containers/x%2F..%2Fy/json" '400|403|404' 'path|unknown|endpoint|not allowed' GET \
        "/v1.41/containers/x%2F..%2F@BOBCTR@/json"
api c75 "double slash //containers/json" '400|403|404' 'path|unknown|endpoint|not allowed' GET \
        "/v1.41//containers/json"
api c76 "version twice /v1.41/v1.41/containers/json" '400|403|404' 'path|unknown|endpoint|not allowed' GET \
        "/v1.41/v1.41/containers/json"
api c77 "dot-dot /v1.41/containers/../swarm/init" '400|403|404' 'path|unknown|endpoint|not allowed|swarm' \
        POST "/v1.41/containers/../swarm/init" '{}'
api c78 "NUL in a segment /containers/x%00y/json" '400|403|404' 'path|unknown|endpoint|not allowed' GET \
        "/v1.41/containers/$bobctr%00x/json"
# -- the Debian docker CLI
who=$alice
cli c79 "docker run --privileged" 'privileged' run --rm --name @PREFIX@-c79 --privileged \
        --label corpus=@MARK@ "$image" true
cli c80 "docker create -v /etc:/host-etc" "$bindre" create --name @PREFIX@-c80 --label corpus=@MARK@ \
        -v /etc:/host-etc "$image" true
cli c81 "docker create --gpus 1 past quota" "$quota1" create --name @PREFIX@-c81 --gpus 1 \
        --label corpus=@MARK@ "$image" true
cli c82 "docker exec --privileged in her own container" 'privileged' exec --privileged "$actr" echo @MARK@
cli c83 "docker exec -u 0 in her container with a home bind" 'user|root' exec -u 0 "$actr" echo @MARK@
cli c84 "docker volume create -o o=bind -o device=/etc" 'volume|driver|bind|option' volume create \
        --label corpus=@MARK@ -o type=none -o o=bind -o device=/etc "@PREFIX@-v84"
cli c85 "docker system prune" 'prune|admin' system prune -f --filter label=@MARK@ --filter until=876000h
cli c86 "docker commit of bob's container" "$ownre" commit -m @MARK@ "$bobctr" "@PREFIX@-stolen2"
# -- framing: ambiguous or malformed heads (raw bytes; bob's turn)
who=$bob
hdr="Host: docker"$'\n'"X-Ds01-Corpus: "
pbody='{"Image":"'$image'","HostConfig":{"Privileged":true}}'
# chead ID: the first lines of a create request's head, LF-ended (crlf turns
# them into CRLF); the name and the marker are ID's
chead() {
        printf 'POST /v1.41/containers/create?name=%s-%s HTTP/1.1\n%s%s\nContent-Type: application/json\n' \
                "$prefix" "$1" "$hdr" "$(mark "$1")"
}
{
        chead c87
        printf 'Content-Length: %d\nTransfer-Encoding: chunked\n\n' ${#pbody}
} | crlf >"$tmp/body/c87.raw"
printf '%x\r\n%s\r\n0\r\n\r\n' ${#pbody} "$pbody" >>"$tmp/body/c87.raw"
raw c87 "smuggling: Content-Length and Transfer-Encoding" 400 \
        'content-length|transfer-encoding|framing|malformed' 1
{
        chead c88
        printf 'Content-Length: %d\nContent-Length: 2\n\n' ${#pbody}
} | crlf >"$tmp/body/c88.raw"
printf '%s' "$pbody" >>"$tmp/body/c88.raw"
raw c88 "smuggling: two Content-Length headers" 400 'content-length|framing|malformed' 1
{
        chead c89
        printf 'X-Pad: a\n b\nContent-Length: %d\n\n' ${#pbody}
} | crlf >"$tmp/body/c89.raw"
printf '%s' "$pbody" >>"$tmp/body/c89.raw"
raw c89 "obsolete line folding" 400 'fold|malformed|header|invalid' 1
{
        chead c90
        printf 'Content-Length: %d\n\n%s' ${#pbody} "$pbody"
} >"$tmp/body/c90.raw"
raw c90 "bare LF line ends" 400 'lf|line|malformed|invalid' 1
{
        chead c91
        printf 'Transfer-Encoding: chunked, identity\n\n'
} | crlf >"$tmp/body/c91.raw"
printf '%x\r\n%s\r\n0\r\n\r\n' ${#pbody} "$pbody" >>"$tmp/body/c91.raw"
raw c91 "Transfer-Encoding other than chunked" 400 'transfer-encoding|framing|malformed' 1
{
        chead c92
        printf 'Content-Length : %d\n\n' ${#pbody}
} | crlf >"$tmp/body/c92.raw"
printf '%s' "$pbody" >>"$tmp/body/c92.raw"
raw c92 "whitespace before the colon (Content-Length :)" 400 'header|malformed|invalid' 1
{
        printf 'GET /v1.41/containers/json HTTP/1.1\n%s%s\n' "$hdr" "$(mark c93)"
        printf 'X-Pad: %s\n\n' "$(head -c 17000 /dev/zero | tr '\0' a)"
} | crlf >"$tmp/body/c93.raw"
raw c93 "request head over 16 KiB" '400|431' 'head|header|large|long|16' 1
{
        printf '{"Image":"%s","Env":["PAD=' "$image"
        head -c $((1024 * 1024)) /dev/zero | tr '\0' a
        printf '"],"Labels":{"corpus":"%s"}}' "$(mark c94)"
} >"$tmp/body/c94.json"
{
        chead c94
        printf 'Content-Length: %d\n\n' "$(stat -c %s "$tmp/body/c94.json")"
} | crlf >"$tmp/body/c94.raw"
cat "$tmp/body/c94.json" >>"$tmp/body/c94.raw"
raw c94 "create body over 1 MiB" '400|413' 'large|too big|size|limit|mib' 1
{
        printf 'GET /_ping HTTP/1.1\nHost: docker\n\n'
        chead c95
        printf 'Content-Length: %d\nConnection: close\n\n' ${#pbody}
} | crlf >"$tmp/body/c95.raw"
printf '%s' "$pbody" >>"$tmp/body/c95.raw"
raw c95 "pipelined after an allowed request on one connection" 403 'privileged' 2
who=$alice
{
        printf 'POST /v1.41/containers/%s/attach?stream=1&stdin=1 HTTP/1.1\n%s%s\n' "$actr" "$hdr" "$(mark c96)"
        printf 'Connection: Upgrade\nUpgrade: tcp\nTransfer-Encoding: chunked\n\n'
} | crlf >"$tmp/body/c96.raw"
printf '5\r\nhello\r\n0\r\n\r\n' >>"$tmp/body/c96.raw"
# (an Upgrade with a Content-Length body is what docker exec -it sends: allowed)
raw c96 "Upgrade request with a chunked body" 400 'upgrade|chunked|malformed' 1
{
        printf 'GET /v1.41/containers/json HTTP/1.1\n%s%s\n' "$hdr" "$(mark c97)"
        printf 'X-Nul: a\0b\n\n'
} | crlf >"$tmp/body/c97.raw"
raw c97 "NUL byte in a header" 400 'malformed|invalid|header|control' 1

echo "corpus: $n_corpus attempts"
[ "$n_corpus" -ge 45 ] || bad "the corpus has only $n_corpus attempts"

# ---- the record of what reached Docker -----------------------------------------------
# the last requests may still be on their way through the tap: the positive
# controls were sent first, so their presence shows the record is live
for m in "${ok_markers[@]}"; do
        if grep -qaF "$m" "$taplog"; then ok; else bad "positive control $m did not reach Docker (the tap check proves nothing)"; fi
done
reached=0
for m in "${corpus_markers[@]}"; do
        if grep -qaF "$m" "$taplog"; then
                bad "a refused request reached Docker: $m"
                grep -aF "$m" "$taplog" | head -n 3 | cut -c1-300 >&2
                reached=$((reached + 1))
        else
                ok
        fi
done
echo "  $reached of $n_corpus refused attempts reached Docker"
for u in "$alice" "$bob" "$carol"; do
        expect_eq "auth.denied lines for $u" "${denied_expected[$u]}" "$(denied_count "$u")"
done
# nothing of the corpus exists in Docker
leftover=$(docker ps -aq --filter "name=^$prefix-c[0-9]" | wc -l)
expect_eq "no corpus container exists" 0 "$leftover"
expect_eq "no corpus volume exists" "" "$(docker volume ls -q --filter "name=^$prefix-v")"
expect_eq "no stolen image" "" "$(docker images -q --filter "reference=$prefix-stolen*")"
# ds01d is still up and answers
ds01 gpu status >/dev/null
expect_eq "ds01d answers after the corpus" 0 $?

stop_daemon
expect_eq "ds01d exit" 0 $?
echo "test-proxy-security: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
