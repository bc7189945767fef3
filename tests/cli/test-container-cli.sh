#!/usr/bin/env bash
# test-container-cli.sh - `ds01 container` without a daemon: every action's
# --help, usage errors (exit 2), the one-line error when ds01d's Docker socket
# cannot be reached (exit 1), and, when python3 is there, the requests the
# command sends to a fake proxy and a fake control API on private unix
# sockets: the create body and its X-Ds01-Wait / X-Ds01-Full headers, the
# --json shapes, the proxy's refusals passed through, the queue line while a
# create waits (on a pseudo-terminal), retire's release, and the docker
# command that exec/logs/stats/deploy hand over to (a fake `docker` on PATH).
#
# Usage: test-container-cli.sh PATH_TO_DS01 [SOURCE_DIR]
set -uo pipefail

ds01=$1
tmp=$(mktemp -d /tmp/ds01-test-container-XXXXXX)
fake_pid=
cleanup() {
        if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; fi
        rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0

ok() {
        pass=$((pass + 1))
}
bad() {
        fail=$((fail + 1))
        echo "FAIL: $*" >&2
}
expect_eq() {
        if [ "$2" == "$3" ]; then ok; else bad "$1: expected [$2], got [$3]"; fi
}
expect_match() {
        if [[ $3 =~ $2 ]]; then ok; else bad "$1: [$3] does not match [$2]"; fi
}
expect_no_match() {
        if [[ $3 =~ $2 ]]; then bad "$1: [$3] matches [$2]"; else ok; fi
}
# run CMD...: sets out, err, rc
run() {
        out=$("$@" 2>"$tmp/err")
        rc=$?
        err=$(cat "$tmp/err")
}
lines() {
        if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi
}

# No real socket may be reached by accident.
export DS01_SOCKET=$tmp/none/ds01.sock
export DS01_DOCKER_SOCKET=$tmp/none/docker.sock
export HOME=$tmp/home
unset DS01_DEFAULT_IMAGE DOCKER_HOST
mkdir -p "$HOME"

# --- help ----------------------------------------------------------------
run "$ds01" container --help
expect_eq "container --help exit" 0 "$rc"
for a in create deploy list start stop restart remove retire exec logs stats; do
        expect_match "container --help names $a" "  $a " "$out"
done
run "$ds01" help container
expect_eq "help container exit" 0 "$rc"
run "$ds01" --help
expect_match "ds01 --help lists container" "container" "$out"
run "$ds01" container help create
expect_eq "container help create exit" 0 "$rc"
expect_match "container help create" "^usage: ds01 container create NAME" "$out"

# action: the options its --help must name
while read -r action opts; do
        run "$ds01" container "$action" --help
        expect_eq "$action --help exit" 0 "$rc"
        expect_match "$action --help usage" "^usage: ds01 container $action" "$out"
        expect_eq "$action --help stderr" "" "$err"
        for o in $opts --docker-socket --help; do
                expect_match "$action --help mentions $o" "$o" "$out"
        done
        run "$ds01" container "$action" -h
        expect_eq "$action -h exit" 0 "$rc"
done <<'TABLE'
create --image --gpus --full --workspace --wait --json
deploy --image --gpus --full --workspace --wait
list --all --json
start
stop
restart
remove --force
retire
exec
logs --follow --tail
stats --no-stream
TABLE

# --- usage errors: one line, exit 2 ------------------------------------------
while IFS='|' read -r what args pattern; do
        # shellcheck disable=SC2086
        run "$ds01" container $args
        expect_eq "usage: $what exit" 2 "$rc"
        expect_eq "usage: $what one line" 1 "$(lines "$err")"
        expect_match "usage: $what message" "$pattern" "$err"
        expect_eq "usage: $what stdout" "" "$out"
done <<'TABLE'
no action||^ds01 container: which action\?
unknown action|frobnicate|unknown action 'frobnicate'
create without name|create|which container\? .*see 'ds01 container create --help'
bad name|create -bad-|unknown option
bad name chars|create a/b|'a/b' is not a container name
bad name start|start _x|'_x' is not a container name
gpus zero|create x --gpus 0|--gpus '0' is not a number of GPUs
gpus word|create x --gpus many|--gpus 'many' is not a number
gpus missing value|create x --gpus|option '--gpus' needs a value
wait bad|create x --wait=soon|--wait='soon' is not a time to wait
wait too long|create x --wait=8d|--wait='8d'
json on start|start x --json|unknown option '--json' for 'start'
force on stop|stop x --force|unknown option '--force' for 'stop'
all on create|create x --all|unknown option '--all' for 'create'
extra argument|start a b|unexpected argument 'b'
list argument|list x|unexpected argument 'x'
tail bad|logs x --tail -3|--tail '-3' is not a number
tail word|logs x -n lots|--tail 'lots'
follow on create|create x -f|unknown option '-f' for 'create'
docker-socket empty|--docker-socket|option '--docker-socket' needs a value
option before action|--json list|unknown option '--json'
stats bad name|stats a/b|'a/b' is not a container name
TABLE

# --- an unreachable socket: one line, exit 1 --------------------------------
for action in "list" "start x" "stop x" "restart x" "remove x" "retire x" "exec x" "logs x" \
        "stats" "stats x" "deploy x" "create x"; do
        # shellcheck disable=SC2086
        run "$ds01" container $action
        expect_eq "unreachable $action exit" 1 "$rc"
        expect_eq "unreachable $action one line" 1 "$(lines "$err")"
        expect_eq "unreachable $action message" \
                "ds01 container: cannot reach ds01d's Docker socket at $tmp/none/docker.sock; is ds01d running? (systemctl status ds01d)" \
                "$err"
done
# the socket is found next to the control socket when nothing names it
run env -u DS01_DOCKER_SOCKET "$ds01" --socket "$tmp/other/ds01.sock" container list
expect_match "socket from --socket" "at $tmp/other/docker.sock;" "$err"
run env -u DS01_DOCKER_SOCKET DS01_SOCKET="$tmp/env/ds01.sock" "$ds01" container list
expect_match "socket from \$DS01_SOCKET" "at $tmp/env/docker.sock;" "$err"
run env -u DS01_DOCKER_SOCKET -u DS01_SOCKET "$ds01" container list
expect_match "default socket" "at /run/ds01/docker.sock;" "$err"
# --docker-socket before or after the action beats $DS01_DOCKER_SOCKET
run "$ds01" container --docker-socket "$tmp/a.sock" list
expect_match "--docker-socket before the action" "at $tmp/a.sock;" "$err"
run "$ds01" container --docker-socket="$tmp/b.sock" list
expect_match "--docker-socket= before the action" "at $tmp/b.sock;" "$err"
run "$ds01" container list --docker-socket "$tmp/c.sock"
expect_match "--docker-socket after the action" "at $tmp/c.sock;" "$err"
run "$ds01" container exec --docker-socket "$tmp/d.sock" x ls
expect_match "exec --docker-socket" "at $tmp/d.sock;" "$err"
# a file that is not a socket
touch "$tmp/plain"
run "$ds01" container list --docker-socket "$tmp/plain"
expect_eq "not a socket exit" 1 "$rc"
expect_match "not a socket" "it is not a socket; give the right one with --docker-socket" "$err"
# --json: the error object on stdout too
run "$ds01" container list --json
expect_eq "unreachable list --json exit" 1 "$rc"
expect_match "unreachable list --json" '"error": "UNREACHABLE"' "$out"
expect_match "unreachable list --json message" '"message": "cannot reach' "$out"
run "$ds01" container create x --json
expect_match "unreachable create --json" '"error": "UNREACHABLE"' "$out"
# nothing was created for a create that could not reach the socket
if [ -e "$HOME/workspace/x" ]; then bad "workspace created for a failed create"; else ok; fi

# --- against a fake proxy and a fake control API ----------------------------
if ! command -v python3 >/dev/null; then
        echo "test-container-cli: python3 missing; the fake-proxy part is skipped" >&2
        echo "$pass passed, $fail failed"
        [ "$fail" -eq 0 ]
        exit
fi

cat >"$tmp/fake.py" <<'PY'
# A fake of ds01d's Docker proxy and control API, each on a unix socket.
# Every request to the proxy is logged as one JSON line (method, path, the
# X-Ds01-* headers, body).
import json, os, re, socketserver, sys, threading, time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit, parse_qs, unquote

proxy_path, control_path, log_path = sys.argv[1:4]
lock = threading.Lock()
containers = {}       # name -> summary
queued = {"on": False}
images = {"ubuntu:22.04", "busybox:latest", "img:1"}

def norm(image):
    last = image.split("/")[-1]
    return image if ":" in last or "@" in image else image + ":latest"

def log(entry):
    with lock, open(log_path, "a") as f:
        f.write(json.dumps(entry) + "\n")

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def address_string(self):
        return "unix"
    def reply(self, status, obj=None, raw=None):
        data = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

class Proxy(Handler):
    def handle_any(self):
        u = urlsplit(self.path)
        path = re.sub(r"^/v[0-9.]+", "", u.path)
        q = parse_qs(u.query)
        raw = self.body()
        log({"method": self.command, "path": path, "query": q,
             "wait": self.headers.get("X-Ds01-Wait"), "full": self.headers.get("X-Ds01-Full"),
             "ctype": self.headers.get("Content-Type"),
             "body": json.loads(raw) if raw else None})
        if path in ("/version",):
            return self.reply(200, {"ApiVersion": "1.41", "Version": "20.10.24"})
        if path == "/_ping":
            return self.reply(200, raw=b"OK")
        if path == "/containers/create" and self.command == "POST":
            name = q.get("name", [""])[0]
            body = json.loads(raw)
            if name == "denied":
                return self.reply(403, {"message": "ds01: --privileged is not allowed; ask an admin"})
            if name == "busy":
                return self.reply(503, {"message": "ds01: no GPU is free now"})
            if name == "overquota":
                return self.reply(403, {"message": "ds01: you hold 1.000 of your 1.000 GPU-equivalents; release a GPU first"})
            if name in containers:
                return self.reply(409, {"message": 'Conflict. The container name "/%s" is already in use by container "abc".' % name})
            if norm(body["Image"]) not in images:
                return self.reply(404, {"message": "No such image: " + body["Image"]})
            if name == "queued":
                queued["on"] = True
                time.sleep(3.5)
                queued["on"] = False
            labels = dict(body.get("Labels") or {})
            labels["ds01.user"] = "tester"
            if body.get("HostConfig", {}).get("DeviceRequests"):
                labels["ds01.gpu.slots"] = "1.0"
            cid = ("%064x" % (abs(hash(name)) + len(containers)))[:64]
            containers[name] = {"Id": cid, "Names": ["/" + name], "Image": body["Image"],
                                "State": "created", "Status": "Created", "Created": 1769783400,
                                "Labels": labels}
            return self.reply(201, {"Id": cid, "Warnings": []})
        if path == "/images/create" and self.command == "POST":
            img = q["fromImage"][0] + ":" + q.get("tag", ["latest"])[0]
            if img.startswith("private/"):
                data = b'{"status":"Pulling"}\n{"errorDetail":{"message":"denied"},"error":"pull access denied"}\n'
            else:
                images.add(img)
                data = b'{"status":"Pulling from library"}\n{"status":"Downloaded newer image"}\n'
            return self.reply(200, raw=data)
        if path == "/containers/json":
            return self.reply(200, list(containers.values()))
        m = re.match(r"^/containers/([^/]+)(/[a-z]+)?$", path)
        if m:
            name, verb = unquote(m.group(1)), m.group(2) or ""
            c = containers.get(name) or next((c for c in containers.values() if c["Id"] == name), None)
            if c is None:
                return self.reply(404, {"message": "No such container: " + name})
            if verb == "/json":
                return self.reply(200, {"Id": c["Id"], "Name": c["Names"][0],
                                        "State": {"Status": c["State"], "Running": c["State"] == "running"},
                                        "Config": {"Labels": c["Labels"], "Image": c["Image"]}})
            if verb == "/start":
                if c["State"] == "running":
                    return self.reply(304)
                c["State"], c["Status"] = "running", "Up 1 second"
                return self.reply(204)
            if verb == "/stop":
                if c["State"] != "running":
                    return self.reply(304)
                c["State"], c["Status"] = "exited", "Exited (0) 1 second ago"
                return self.reply(204)
            if verb == "" and self.command == "DELETE":
                if c["State"] == "running" and q.get("force", ["0"])[0] != "1":
                    return self.reply(409, {"message": "You cannot remove a running container. Stop the container before attempting removal or force remove"})
                del containers[c["Names"][0][1:]]
                return self.reply(204)
        return self.reply(404, {"message": "page not found"})
    do_GET = do_POST = do_DELETE = handle_any

class Control(Handler):
    def handle_any(self):
        self.body()
        path = urlsplit(self.path).path
        if path == "/v1/whoami":
            return self.reply(200, {"user": "tester", "uid": 1000, "admin": False})
        if path == "/v1/queue":
            q = [{"id": 9, "position": 2, "user": "tester", "container": "queued", "count": 1}] if queued["on"] else []
            return self.reply(200, {"queue": q})
        if path == "/v1/status":
            return self.reply(200, {"queue_length": 5 if queued["on"] else 0})
        m = re.match(r"^/v1/allocations/(.+)$", path)
        if m and self.command == "DELETE":
            name = unquote(m.group(1))
            if name in ("gpubox", "gone"):
                return self.reply(200, {"container": name, "released": ["1.0"]})
            return self.reply(404, {"error": "NOT_FOUND", "message": "no allocation"})
        return self.reply(404, {"error": "NOT_FOUND", "message": "no such path"})
    do_GET = do_POST = do_DELETE = handle_any

class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

for p in (proxy_path, control_path):
    if os.path.exists(p):
        os.unlink(p)
servers = [Server(proxy_path, Proxy), Server(control_path, Control)]
for s in servers:
    threading.Thread(target=s.serve_forever, daemon=True).start()
open(log_path + ".ready", "w").close()
threading.Event().wait()
PY

mkdir -p "$tmp/run"
proxy=$tmp/run/docker.sock
control=$tmp/run/ds01.sock
reqlog=$tmp/requests.jsonl
python3 "$tmp/fake.py" "$proxy" "$control" "$reqlog" 2>"$tmp/fake.err" &
fake_pid=$!
for _ in $(seq 100); do [ -e "$reqlog.ready" ] && break; sleep 0.05; done
if [ ! -e "$reqlog.ready" ]; then
        bad "the fake proxy did not start: $(cat "$tmp/fake.err")"
        echo "$pass passed, $fail failed"
        exit 1
fi
# Found next to the control socket: no DS01_DOCKER_SOCKET from here on.
unset DS01_DOCKER_SOCKET
export DS01_SOCKET=$control

# last_create: the last create request the fake proxy saw (one JSON line)
last_create() {
        grep '"path": "/containers/create"' "$reqlog" | tail -n 1
}
# py EXPR: evaluates EXPR on the JSON line in $j (as r) with python3
py() {
        python3 -c "import json,sys; r=json.loads(sys.argv[1]); print($1)" "$j"
}

# a plain create: the body, the headers, the workspace
run "$ds01" container create plain
expect_eq "create plain exit" 0 "$rc"
expect_match "create plain says created" "^created plain: image ubuntu:22.04, no GPU, $HOME/workspace/plain at /workspace" "$out"
expect_match "create plain says started" "started plain; a shell in it: ds01 container exec plain" "$out"
if [ -d "$HOME/workspace/plain" ]; then ok; else bad "workspace ~/workspace/plain not created"; fi
j=$(last_create)
expect_eq "create X-Ds01-Wait without --wait" "0" "$(py 'r["wait"]')"
expect_eq "create Content-Type" "application/json" "$(py 'r["ctype"]')"
expect_eq "create no X-Ds01-Full" "None" "$(py 'r["full"]')"
expect_eq "create name" "['plain']" "$(py 'r["query"]["name"]')"
expect_eq "create Image" "ubuntu:22.04" "$(py 'r["body"]["Image"]')"
expect_eq "create Cmd" "['sh', '-c', \"trap 'exit 0' TERM; while :; do sleep 3600 & wait \$!; done\"]" "$(py 'r["body"]["Cmd"]')"
expect_eq "create Labels" "{'ds01.interface': 'orchestration'}" "$(py 'r["body"]["Labels"]')"
expect_eq "create Tty OpenStdin" "True True" "$(py 'r["body"]["Tty"], r["body"]["OpenStdin"]')"
expect_eq "create WorkingDir" "/workspace" "$(py 'r["body"]["WorkingDir"]')"
expect_eq "create Binds" "['$HOME/workspace/plain:/workspace']" "$(py 'r["body"]["HostConfig"]["Binds"]')"
expect_eq "create no DeviceRequests" "False" "$(py '"DeviceRequests" in r["body"]["HostConfig"]')"
if grep -qE '"path": "/containers/[0-9a-f]{64}/start"' "$reqlog"; then ok; else bad "create did not start plain"; fi

# GPUs, --full, --wait=SECONDS, --image, --workspace (relative, created)
run bash -c "cd '$tmp' && '$ds01' container create gpubox --gpus 2 --full --wait=30 --image busybox:latest --workspace ws/g"
expect_eq "create gpubox exit" 0 "$rc"
expect_match "create gpubox slots" "GPU slots 1.0" "$out"
j=$(last_create)
expect_eq "create --wait=30 header" "30" "$(py 'r["wait"]')"
expect_eq "create --full header" "1" "$(py 'r["full"]')"
expect_eq "create --gpus 2" "[{'Driver': 'nvidia', 'Count': 2, 'Capabilities': [['gpu']]}]" "$(py 'r["body"]["HostConfig"]["DeviceRequests"]')"
expect_eq "create --image" "busybox:latest" "$(py 'r["body"]["Image"]')"
expect_eq "create --workspace relative" "['$tmp/ws/g:/workspace']" "$(py 'r["body"]["HostConfig"]["Binds"]')"
# --gpus all, bare --wait (no header: ds01d's own wait), --wait=2m
run "$ds01" container create allgpus --gpus all --wait --json
expect_eq "create --gpus all exit" 0 "$rc"
j=$(last_create)
expect_eq "create --gpus all Count" "-1" "$(py 'r["body"]["HostConfig"]["DeviceRequests"][0]["Count"]')"
expect_eq "create bare --wait sends no header" "None" "$(py 'r["wait"]')"
j=$out
expect_eq "create --json keys" "['name', 'id', 'image', 'workspace', 'state', 'gpu_slots']" "$(py 'list(r)')"
expect_eq "create --json values" "allgpus running 1.0 ubuntu:22.04" "$(py '" ".join([r["name"], r["state"], ",".join(r["gpu_slots"]), r["image"]])')"
run "$ds01" container create fullonly --full --wait=2m
j=$(last_create)
expect_eq "--full implies one GPU" "1" "$(py 'r["body"]["HostConfig"]["DeviceRequests"][0]["Count"]')"
expect_eq "--wait=2m header" "120" "$(py 'r["wait"]')"
# $DS01_DEFAULT_IMAGE
run env DS01_DEFAULT_IMAGE=img:1 "$ds01" container create envimg
j=$(last_create)
expect_eq "DS01_DEFAULT_IMAGE" "img:1" "$(py 'r["body"]["Image"]')"

# a missing image is pulled (with a tag), then created
run "$ds01" container create pulled --image newimg
expect_eq "create pulls exit" 0 "$rc"
expect_match "create pulls says so" "pulling newimg" "$err"
j=$(grep '"path": "/images/create"' "$reqlog" | tail -n 1)
expect_eq "pull asks for latest" "newimg latest" "$(py 'r["query"]["fromImage"][0] + " " + r["query"]["tag"][0]')"
# the proxy refuses form-encoded bodies: a POST without a body has no Content-Type
expect_eq "pull has no Content-Type" "None" "$(py 'r["ctype"]')"
run "$ds01" container create nopull --image private/x:2
expect_eq "failed pull exit" 1 "$rc"
expect_eq "failed pull message" "ds01 container: cannot pull private/x:2: pull access denied; check the name, or log in to its registry (docker login)" "$(tail -n 1 <<<"$err")"

# refusals pass through as they are
run "$ds01" container create denied
expect_eq "403 exit" 1 "$rc"
expect_eq "403 as is" "ds01: --privileged is not allowed; ask an admin" "$err"
run "$ds01" container create overquota --gpus 1 --json
expect_eq "quota 403 exit" 1 "$rc"
expect_eq "quota 403 as is" "ds01: you hold 1.000 of your 1.000 GPU-equivalents; release a GPU first" "$err"
j=$out
expect_eq "quota 403 --json" "FORBIDDEN|you hold 1.000 of your 1.000 GPU-equivalents; release a GPU first" "$(py 'r["error"] + "|" + r["message"]')"
run "$ds01" container create busy --gpus 1
expect_eq "503 exit" 1 "$rc"
expect_eq "503 with the --wait hint" "ds01: no GPU is free now (to wait in the queue for one: --wait)" "$err"
run "$ds01" container create plain
expect_eq "409 exit" 1 "$rc"
expect_eq "409 message" "ds01 container: a container named plain exists already; start it with 'ds01 container start plain', or pick another name" "$err"

# waiting in the queue, on a terminal: the place in the queue on one line
cat >"$tmp/ptyrun.py" <<'PY'
import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=s)
os.close(s)
buf = b""
while True:
    try:
        d = os.read(m, 4096)
    except OSError:
        break
    if not d:
        break
    buf += d
sys.stdout.write(p.stdout.read().decode())
open(os.environ["PTY_ERR"], "wb").write(buf)
sys.exit(p.wait())
PY
PTY_ERR=$tmp/pty-err run python3 "$tmp/ptyrun.py" "$ds01" container create queued --gpus 1 --wait=60
expect_eq "queued create exit" 0 "$rc"
expect_match "queued line" "waiting for a GPU: position 2 of 5, 0:0[0-9] elapsed" "$(cat "$tmp/pty-err")"
expect_match "queued line rewritten" $'\r' "$(cat "$tmp/pty-err")"
expect_match "queued create result" "started queued" "$out"
# without a terminal: no line
run "$ds01" container create queued2 --gpus 1 --wait=60
expect_no_match "no queue line off a terminal" "waiting" "$err"

# list
run "$ds01" container list
expect_eq "list exit" 0 "$rc"
expect_match "list header" "^NAME +STATE +GPU SLOT +IMAGE +CREATED +RUNTIME LEFT +IDLE" "$out"
expect_match "list row" "gpubox +running +1.0 +busybox:latest +2026-01-30 14:30 +- +-" "$out"
expect_match "list plain row" "plain +running +- +ubuntu:22.04" "$out"
"$ds01" container stop plain >/dev/null
run "$ds01" container list
expect_no_match "list hides stopped" "plain " "$out"
expect_match "list says stopped hidden" "1 stopped container not shown \(ds01 container list --all\)" "$out"
run "$ds01" container list --all
expect_match "list --all shows stopped" "plain +exited" "$out"
run "$ds01" container list -a --json
expect_eq "list --json exit" 0 "$rc"
j=$out
expect_eq "list --json top" "['containers']" "$(py 'list(r)')"
expect_eq "list --json keys" "['name', 'id', 'state', 'status', 'image', 'created', 'gpu_slots', 'interface', 'runtime_left_seconds', 'idle_seconds']" "$(py 'list(r["containers"][0])')"
expect_eq "list --json gpubox" "['1.0'] 2026-01-30T14:30:00Z None None" "$(py 'next(" ".join(str(c[k]) for k in ("gpu_slots", "created", "runtime_left_seconds", "idle_seconds")) for c in r["containers"] if c["name"] == "gpubox")')"
run "$ds01" container list --json
j=$out
expect_eq "list --json without --all: running only" "False" "$(py 'any(c["state"] != "running" for c in r["containers"])')"

# start, stop, restart, remove, retire
run "$ds01" container start plain
expect_eq "start exit" 0 "$rc"
expect_eq "start says" "started plain" "$out"
run "$ds01" container restart plain
expect_eq "restart" "0 restarted plain" "$rc $out"
run "$ds01" container remove plain
expect_eq "remove running exit" 1 "$rc"
expect_eq "remove running message" "ds01 container: plain is running; stop it first (ds01 container stop plain), or remove it with --force" "$err"
run "$ds01" container remove -f plain
expect_eq "remove --force" "0 removed plain" "$rc $out"
for action in start stop restart remove logs exec; do
        run "$ds01" container "$action" nosuch
        expect_eq "$action missing exit" 1 "$rc"
        expect_eq "$action missing message" "ds01 container: no container nosuch; see 'ds01 container list'" "$err"
done
run "$ds01" container retire gpubox
expect_eq "retire exit" 0 "$rc"
expect_eq "retire output" $'stopped and removed gpubox\ngave back GPU slot 1.0 of gpubox' "$out"
run "$ds01" container retire gone
expect_eq "retire of a removed container still releases" "0 gave back GPU slot 1.0 of gone" "$rc $out"
run "$ds01" container retire nosuch
expect_eq "retire missing exit" 1 "$rc"
expect_eq "retire missing message" "ds01 container: no container nosuch; see 'ds01 container list'" "$err"

# the docker command: a fake one that prints its arguments
mkdir -p "$tmp/bin"
# shellcheck disable=SC2016 # the fake's own $@ and $a
printf '#!/bin/sh\nfor a in "$@"; do printf "[%%s]" "$a"; done; echo\n' >"$tmp/bin/docker"
chmod +x "$tmp/bin/docker"
run env PATH="$tmp/bin:$PATH" "$ds01" container exec queued
expect_eq "exec shell" "[-H][unix://$proxy][exec][-i][queued][sh][-c][command -v bash >/dev/null && exec bash || exec sh]" "$out"
run env PATH="$tmp/bin:$PATH" "$ds01" container exec queued ls -l --color
expect_eq "exec command" "[-H][unix://$proxy][exec][-i][queued][ls][-l][--color]" "$out"
run env PATH="$tmp/bin:$PATH" "$ds01" container exec queued -- echo hi
expect_eq "exec --" "[-H][unix://$proxy][exec][-i][queued][echo][hi]" "$out"
run env PATH="$tmp/bin:$PATH" "$ds01" container logs queued -f --tail 20
expect_eq "logs" "[-H][unix://$proxy][logs][--follow][--tail][20][queued]" "$out"
run env PATH="$tmp/bin:$PATH" "$ds01" container stats --no-stream queued
expect_eq "stats" "[-H][unix://$proxy][stats][--no-stream][queued]" "$out"
run env PATH="$tmp/bin:$PATH" "$ds01" container stats
expect_eq "stats all" "[-H][unix://$proxy][stats]" "$out"
run env PATH="$tmp/bin:$PATH" "$ds01" container deploy newbox --gpus 1
expect_eq "deploy new exit" 0 "$rc"
expect_match "deploy new says" "created and started newbox" "$err"
expect_eq "deploy new shell" "[-H][unix://$proxy][exec][-i][newbox][sh][-c][command -v bash >/dev/null && exec bash || exec sh]" "$out"
"$ds01" container stop newbox >/dev/null
run env PATH="$tmp/bin:$PATH" "$ds01" container deploy newbox --image other:1
expect_eq "deploy existing exit" 0 "$rc"
expect_match "deploy existing starts it" "started newbox" "$err"
expect_match "deploy existing ignores --image" "apply only to a new container" "$err"
"$ds01" container stop newbox >/dev/null
run env PATH="$tmp/bin:$PATH" "$ds01" container exec newbox
expect_eq "exec stopped exit" 1 "$rc"
expect_eq "exec stopped" "ds01 container: newbox is not running; start it: ds01 container start newbox" "$err"
run env PATH="$tmp/none" "$ds01" container exec queued
expect_eq "no docker command exit" 1 "$rc"
expect_eq "no docker command" "ds01 container: the docker command is not installed (not found in PATH); ask an admin to install the Docker CLI (Debian: docker.io or docker-ce-cli)" "$err"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
