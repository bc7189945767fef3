#!/usr/bin/env bash
# test-lifecycle-cli.sh - `ds01 lifecycle`, `ds01 alerts` and `ds01 access`
# against a fake control API (python3, a private unix socket): --help of every
# command and action, usage errors (exit 2), the requests each command sends
# (method, path and query, JSON body), the tables and sentences it prints, --json
# passed through as the daemon sent it, the daemon's refusals ("ds01: <message>",
# exit 1), and `access status --quiet` for login scripts: exit 0 or 1, not a
# byte of output, also with no daemon at all or a daemon that does not answer.
#
# Usage: test-lifecycle-cli.sh PATH_TO_DS01 [SOURCE_DIR]
set -uo pipefail

ds01=$1
tmp=$(mktemp -d /tmp/ds01-test-lifecycle-XXXXXX)
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
# expect_line WHAT LINE OUTPUT: LINE is one whole line of OUTPUT
expect_line() {
        if grep -qxF -- "$2" <<<"$3"; then ok; else bad "$1: no line [$2] in [$3]"; fi
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

# No real socket may be reached by accident; times are computed from a fixed now
# (2026-11-22T14:05:30Z), the fake's answers are made for it.
export DS01_SOCKET=$tmp/none/ds01.sock
export DS01_NOW=1795356330
export HOME=$tmp/home
mkdir -p "$HOME"

# --- help: every command and action, exit 0, on stdout -------------------
while IFS='|' read -r args pattern; do
        # shellcheck disable=SC2086
        run "$ds01" $args
        expect_eq "'$args' exit" 0 "$rc"
        expect_eq "'$args' stderr" "" "$err"
        expect_match "'$args' text" "$pattern" "$out"
done <<'TABLE'
lifecycle --help|usage: ds01 lifecycle status \[CONTAINER\] \[--json\]
lifecycle -h|usage: ds01 lifecycle run --dry-run
lifecycle help|usage: ds01 lifecycle status
help lifecycle|usage: ds01 lifecycle run
lifecycle status --help|^usage: ds01 lifecycle status \[CONTAINER\] \[--json\]
lifecycle status -h|^usage: ds01 lifecycle status
lifecycle status train --help|^usage: ds01 lifecycle status
lifecycle help status|^usage: ds01 lifecycle status
lifecycle run --help|^usage: ds01 lifecycle run --dry-run \[--json\]
lifecycle run --dry-run --help|--dry-run +only say what a pass would do
lifecycle help run|^usage: ds01 lifecycle run
alerts --help|^usage: ds01 alerts \[--user USER \| --all\] \[--json\]
alerts -h|--user USER
alerts help|--all
help alerts|^usage: ds01 alerts
access --help|usage: ds01 access grant USER \[DURATION\|permanent\] \[--reason TEXT\] \[--json\]
access -h|usage: ds01 access revoke USER
access help|usage: ds01 access status \[USER\] \[--quiet \| --json\]
help access|usage: ds01 access list \[--json\]
access grant --help|^usage: ds01 access grant USER \[DURATION\|permanent\]
access grant alice 2d --help|--reason TEXT
access help grant|^usage: ds01 access grant
access revoke --help|^usage: ds01 access revoke USER
access help revoke|^usage: ds01 access revoke
access status --help|^usage: ds01 access status \[USER\]
access status -h|--quiet
access help status|Exit status: 0
access list --help|^usage: ds01 access list
access help list|^usage: ds01 access list
TABLE
run "$ds01" --help
for c in lifecycle alerts access; do
        expect_match "ds01 --help lists $c" "  $c " "$out"
done
expect_match "summary of lifecycle" "lifecycle +idle and runtime enforcement: status, dry run" "$out"
expect_match "summary of alerts" "alerts +your current quota alerts" "$out"
expect_match "summary of access" "access +bare-metal GPU access grants" "$out"

# --- usage errors: one line, exit 2, nothing on stdout, nothing sent ------
while IFS='|' read -r what args pattern; do
        # shellcheck disable=SC2086
        run "$ds01" $args
        expect_eq "usage: $what exit" 2 "$rc"
        expect_eq "usage: $what one line" 1 "$(lines "$err")"
        expect_match "usage: $what message" "^ds01: $pattern" "$err"
        expect_eq "usage: $what stdout" "" "$out"
done <<'TABLE'
lifecycle alone|lifecycle|which action\? \(status or run\) \(see 'ds01 lifecycle --help'\)
lifecycle bad action|lifecycle frob|unknown action 'frob'
lifecycle help bad|lifecycle help frob|unknown action 'frob'
lifecycle help extra|lifecycle help run x|unexpected argument 'x'
lifecycle option first|lifecycle --json status|unknown action '--json'
status extra|lifecycle status a b|unexpected argument 'b' \(see 'ds01 lifecycle status --help'\)
status bad option|lifecycle status --frob|unknown option '--frob' for 'lifecycle status' \(see 'ds01 lifecycle status --help'\)
status dry-run|lifecycle status --dry-run|unknown option '--dry-run'
status short option|lifecycle status -x|unknown option '-x'
run argument|lifecycle run --dry-run train|unexpected argument 'train' \(see 'ds01 lifecycle run --help'\)
run bad option|lifecycle run --force|unknown option '--force' for 'lifecycle run'
alerts argument|alerts bob|unexpected argument 'bob' \(see 'ds01 alerts --help'\)
alerts bad option|alerts --frob|unknown option '--frob'
alerts user and all|alerts --user bob --all|give --user USER or --all, not both
alerts user no value|alerts --user|option '--user' needs a value
access alone|access|which action\? \(grant, revoke, status or list\)
access bad action|access frob|unknown action 'frob'
access help bad|access help frob|unknown action 'frob'
grant no user|access grant|which user\? .*\(see 'ds01 access grant --help'\)
grant bad duration|access grant alice soon|'soon' is not a duration; give e.g. 90s, 30m, 24h, 2d, 1w, a number of hours, or 'permanent'
grant negative|access grant alice -5|unknown option '-5'
grant zero|access grant alice 0|a grant of '0' would end at once
grant zero minutes|access grant alice 0m|a grant of '0m' would end at once
grant never|access grant alice never|'never' is not a duration; for a grant without an end give 'permanent'
grant too long|access grant alice 10000w|'10000w' is longer than 100 years
grant extra|access grant alice 2d x|unexpected argument 'x'
grant reason no value|access grant alice --reason|option '--reason' needs a value
grant quiet|access grant alice --quiet|unknown option '--quiet' for 'access grant'
grant bad user|access grant a/b|'a/b' is not a user name
revoke no user|access revoke|which user\?
revoke extra|access revoke alice bob|unexpected argument 'bob' \(see 'ds01 access revoke --help'\)
revoke reason|access revoke alice --reason x|unknown option '--reason'
status extra|access status alice bob|unexpected argument 'bob'
status quiet json|access status --quiet --json|give --quiet or --json, not both
status bad option|access status --frob|unknown option '--frob' for 'access status'
list extra|access list alice|unexpected argument 'alice' \(see 'ds01 access list --help'\)
list quiet|access list -q|unknown option '-q'
TABLE

# --- no daemon: one line, exit 1; with --quiet not a byte, exit 1, at once --
for args in "lifecycle status" "lifecycle run --dry-run" "alerts" "access grant alice 2d" \
        "access revoke alice" "access status" "access list"; do
        # shellcheck disable=SC2086
        run "$ds01" $args
        expect_eq "no daemon: $args exit" 1 "$rc"
        expect_eq "no daemon: $args message" \
                "ds01: cannot reach ds01d at $tmp/none/ds01.sock: No such file or directory (is the daemon running? systemctl status ds01d)" \
                "$err"
done
start=$(date +%s%N)
run "$ds01" access status --quiet
end=$(date +%s%N)
expect_eq "no daemon: status --quiet exit" 1 "$rc"
expect_eq "no daemon: status --quiet stdout" "" "$out"
expect_eq "no daemon: status --quiet stderr" "" "$err"
if [ $(((end - start) / 1000000)) -lt 2000 ]; then ok; else bad "no daemon: status --quiet took $(((end - start) / 1000000)) ms"; fi
run "$ds01" --socket "$tmp/none/other.sock" access status -q alice
expect_eq "no daemon (--socket): status -q exit and output" "1||" "$rc|$out|$err"
touch "$tmp/plain"
run "$ds01" --socket "$tmp/plain" access status --quiet
expect_eq "not a socket: status --quiet exit and output" "1||" "$rc|$out|$err"

# --- against a fake control API ------------------------------------------
if ! command -v python3 >/dev/null; then
        echo "test-lifecycle-cli: python3 missing; the fake-daemon part is skipped" >&2
        echo "$pass passed, $fail failed"
        [ "$fail" -eq 0 ]
        exit
fi

cat >"$tmp/fake.py" <<'PY'
# A fake of ds01d's control API on a unix socket: canned answers per path, the
# caller (alice, or erin the admin) and a few switches read from STATE before
# each request; every request logged as one JSON line (method, path with its
# query as sent, Content-Type, body).
import json, os, socketserver, sys, threading, time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit, parse_qs, unquote

sock_path, log_path, state_path, fixtures_path = sys.argv[1:5]
lock = threading.Lock()

T = lambda hms, day="22": "2026-11-%sT%s.000000Z" % (day, hms)
TRAIN = {
    "id": "a" * 64, "name": "train", "user": "alice", "type": "atomic", "state": "running",
    "slots": ["1.2"], "in_scope": True, "exempt": None, "exempt_idle": False,
    "exempt_runtime": False, "started_at": T("13:05:30"), "finished_at": None,
    "signals": {"gpu_util": 2.0, "gpu_procs": False, "cpu_percent": 0.1, "net_bytes": 0},
    "idle": True, "in_grace": False,
    "why": "gpu 2% < 5%, cpu 0.1% <= 2%, network 0 B <= 1048576 B",
    "streak": 2, "window": 3, "idle_for_s": 240, "idle_timeout_s": 1800,
    "keepalive_until": None, "runtime_s": 3600, "max_runtime_s": 86400,
    "actions": [
        {"action": "warn_idle", "percent": 80, "at": T("14:06:10"), "in_s": 40},
        {"action": "warn_idle", "percent": 95, "at": T("14:33:30"), "in_s": 1680},
        {"action": "stop_idle", "percent": None, "at": T("14:36:30"), "in_s": 1860},
        {"action": "stop_runtime", "percent": None, "at": T("13:05:30", "23"), "in_s": 82800},
    ],
}
INFER = {
    "id": "b" * 64, "name": "infer", "user": "bob", "type": "service", "state": "running",
    "slots": ["0", "1.0"], "in_scope": True, "exempt": None, "exempt_idle": True,
    "exempt_runtime": False, "started_at": T("00:05:30"), "finished_at": None,
    "signals": {"gpu_util": 63.0, "gpu_procs": True, "cpu_percent": 45.5, "net_bytes": 3145728},
    "idle": False, "in_grace": False, "why": "gpu 63% >= 5%",
    "streak": 0, "window": 3, "idle_for_s": 0, "idle_timeout_s": None,
    "keepalive_until": T("15:00:00"), "runtime_s": 50400, "max_runtime_s": 54300,
    "actions": [{"action": "stop_runtime", "percent": None, "at": T("15:10:30"), "in_s": 3900},
                {"action": "remove_stopped", "percent": None, "at": T("14:05:00"), "in_s": -30}],
}
MONITOR = {
    "id": "c" * 64, "name": "", "user": "carol", "type": "monitoring", "state": "running",
    "slots": [], "in_scope": False, "exempt": "ds01.monitoring", "exempt_idle": False,
    "exempt_runtime": False, "started_at": None, "finished_at": None,
    "signals": {"gpu_util": None, "gpu_procs": False, "cpu_percent": None, "net_bytes": None},
    "idle": False, "in_grace": False, "why": "label ds01.monitoring",
    "streak": 0, "window": 3, "idle_for_s": 0, "idle_timeout_s": None,
    "keepalive_until": None, "runtime_s": None, "max_runtime_s": None, "actions": [],
}
LIFECYCLE = {
    "interval_s": 60, "last_pass": T("14:05:02"), "next_pass": T("14:06:02"),
    "high_demand": {"active": False, "share": 0.25, "threshold": 0.8, "factor": 0.5},
    "containers": [TRAIN, INFER, MONITOR],
}
RUN_ACTIONS = [
    {"id": "a" * 64, "name": "train", "user": "alice", "action": "stop_idle", "percent": None,
     "at": T("14:05:30"), "reason": "idle 31m (gpu 2% < 5%, cpu 0.1% <= 2%)"},
    {"id": "b" * 64, "name": "infer", "user": "bob", "action": "warn_runtime", "percent": 75,
     "at": T("14:05:30"), "reason": "running 18h of max 1d"},
    {"id": "d" * 64, "name": "", "user": "dave", "action": "remove_created", "percent": None,
     "at": T("14:05:30"), "reason": "created and never started for 1h"},
]
GIB = 1024 ** 3
ALERTS = [
    {"user": "alice", "resource": "gpu", "level": "reached", "used": 1.0, "limit": 1.0,
     "percent": 100.0, "since": T("13:00:00"), "event": "alert.gpu_limit_reached",
     "message": "you hold 1.0 of 1.0 GPU-equivalents"},
    {"user": "bob", "resource": "memory", "level": "high", "used": 13 * GIB, "limit": 16 * GIB,
     "percent": 81.25, "since": T("12:30:00"), "event": "alert.memory_high",
     "message": "you use 13 of 16 GiB of memory"},
    {"user": "bob", "resource": "containers", "level": "reached", "used": 3, "limit": 3,
     "percent": 100.0, "since": T("12:00:00", "21"), "event": "alert.containers_limit_reached",
     "message": "you run 3 of 3 containers"},
]
GRANT_ALICE = {"user": "alice", "granted_by": "erin", "reason": "benchmark",
               "granted_at": T("14:00:00"), "expires_at": T("14:00:00", "23"), "permanent": False}
GRANT_DAVE = {"user": "dave", "granted_by": "root", "reason": None,
              "granted_at": T("09:00:00", "01"), "expires_at": None, "permanent": True}
PROC = lambda pid, user, slot, mem, cmd, action, stop_at=None, cname=None: {
    "pid": pid, "user": user, "login_user": None, "command": cmd, "slot": slot,
    "memory_bytes": mem, "container": ("e" * 64 if cname else None), "container_name": cname,
    "first_seen": T("14:00:00"), "confirmed": True, "action": action, "stop_at": stop_at}
STATUS = {
    "alice": {"user": "alice", "allowed": True, "reason": "grant until 2026-11-23T14:00:00Z",
              "policy": "warn", "grant": GRANT_ALICE,
              "processes": [PROC(1234, "alice", "0", 1048576, "python bench.py", "none (grant)")]},
    "bob": {"user": "bob", "allowed": False, "reason": "no grant", "policy": "stop", "grant": None,
            "processes": [PROC(4242, "bob", "1.0", 8 * GIB, "python train.py --epochs 100",
                               "stop", T("14:07:30")),
                          PROC(4243, "bob", "2", None, "./a.out", "stop", T("14:05:00")),
                          PROC(4244, "bob", "3", 512, "sleep", "warn", None, "infer")]},
    "carol": {"user": "carol", "allowed": True,
              "reason": "exempt (bare_metal_access.exempt_users)", "policy": "report",
              "grant": None, "processes": []},
}
FIXTURES = {"lifecycle": LIFECYCLE, "alerts": {"alerts": ALERTS},
            "grants": {"grants": [GRANT_ALICE, GRANT_DAVE]}, "status": STATUS}
with open(fixtures_path, "w") as f:
    json.dump(FIXTURES, f)

def log(entry):
    with lock, open(log_path, "a") as f:
        f.write(json.dumps(entry) + "\n")

def state():
    try:
        with open(state_path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

class Control(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def address_string(self):
        return "unix"
    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def error(self, status, code, message):
        return self.reply(status, {"error": code, "message": message})
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = "not JSON: " + raw.decode(errors="replace")
        log({"method": self.command, "path": self.path,
             "ctype": self.headers.get("Content-Type"), "body": body})
        st = state()
        admin = st.get("admin", False)
        caller = "erin" if admin else "alice"
        empty = st.get("empty", False)
        u = urlsplit(self.path)
        path, q = u.path, {k: v[0] for k, v in parse_qs(u.query).items()}
        m = self.command

        if path == "/v1/lifecycle" and m == "GET":
            ans = json.loads(json.dumps(LIFECYCLE))
            if empty:
                ans["containers"] = []
            if st.get("high"):
                ans["high_demand"].update(active=True, share=0.85)
            if "container" in q:
                ans["containers"] = [c for c in ans["containers"]
                                     if q["container"] in (c["name"], c["id"])]
                if not ans["containers"]:
                    return self.error(404, "NOT_FOUND", "no container '%s' of yours is known "
                                      "to the lifecycle loop yet" % q["container"])
            return self.reply(200, ans)
        if path == "/v1/lifecycle/run" and m == "POST":
            if not isinstance(body, dict) or not isinstance(body.get("dry_run"), bool):
                return self.error(400, "BAD_REQUEST", "dry_run must be true or false")
            if not body["dry_run"] and not admin:
                return self.error(403, "FORBIDDEN",
                                  "only admins may run a lifecycle pass; try --dry-run")
            return self.reply(200, {"dry_run": body["dry_run"], "ran_at": T("14:05:30"),
                                    "actions": [] if empty else RUN_ACTIONS})
        if path == "/v1/alerts" and m == "GET":
            user = q.get("user")
            if user and not admin and user != caller:
                return self.error(403, "FORBIDDEN", "only admins may see other users' alerts")
            if not user and not admin:
                user = caller
            return self.reply(200, {"alerts": [] if empty else
                                    [a for a in ALERTS if not user or a["user"] == user]})
        if path == "/v1/access/grants" and m == "GET":
            return self.reply(200, {"grants": [] if empty else [GRANT_ALICE, GRANT_DAVE]})
        if path == "/v1/access/grants" and m == "POST":
            if not admin:
                return self.error(403, "FORBIDDEN", "only ds01 admins or members of ds01-admin "
                                  "may grant bare-metal access")
            if body.get("user") == "ghost":
                return self.error(400, "BAD_REQUEST", "no such user 'ghost'")
            permanent = bool(body.get("permanent"))
            secs = body.get("duration_s", 86400)
            g = {"user": body["user"], "granted_by": caller, "reason": body.get("reason"),
                 "granted_at": T("14:05:30"), "permanent": permanent,
                 "expires_at": None if permanent else
                 time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(1795356330 + secs))}
            return self.reply(201, {"grant": g})
        if path.startswith("/v1/access/grants/") and m == "DELETE":
            user = unquote(path[len("/v1/access/grants/"):])
            if not admin:
                return self.error(403, "FORBIDDEN", "only ds01 admins or members of ds01-admin "
                                  "may revoke bare-metal access")
            if user != "alice":
                return self.error(404, "NOT_FOUND", "%s has no bare-metal grant" % user)
            return self.reply(200, {"revoked": GRANT_ALICE})
        if path == "/v1/access/status" and m == "GET":
            if st.get("slow"):
                time.sleep(8)
            user = q.get("user", caller)
            if user != caller and not admin:
                return self.error(403, "FORBIDDEN", "only admins may ask about another user")
            if user not in STATUS:
                return self.error(400, "BAD_REQUEST", "no such user '%s'" % user)
            return self.reply(200, STATUS[user])
        return self.error(404, "NOT_FOUND", "no such path")
    do_GET = do_POST = do_DELETE = handle_any

class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

if os.path.exists(sock_path):
    os.unlink(sock_path)
server = Server(sock_path, Control)
threading.Thread(target=server.serve_forever, daemon=True).start()
open(log_path + ".ready", "w").close()
threading.Event().wait()
PY

mkdir -p "$tmp/run"
control=$tmp/run/ds01.sock
reqlog=$tmp/requests.jsonl
statefile=$tmp/state.json
fixtures=$tmp/fixtures.json
python3 "$tmp/fake.py" "$control" "$reqlog" "$statefile" "$fixtures" 2>"$tmp/fake.err" &
fake_pid=$!
for _ in $(seq 100); do [ -e "$reqlog.ready" ] && break; sleep 0.05; done
if [ ! -e "$reqlog.ready" ]; then
        bad "the fake control API did not start: $(cat "$tmp/fake.err")"
        echo "$pass passed, $fail failed"
        exit 1
fi
export DS01_SOCKET=$control

# state KEY=VALUE...: the fake's switches (admin, empty, high, slow), as JSON booleans
state() {
        local kv json="{" sep=""
        for kv in "$@"; do
                json+="$sep\"${kv%%=*}\": ${kv#*=}"
                sep=", "
        done
        printf '%s}\n' "$json" >"$statefile"
}
state admin=false
# last_request: the last request the fake saw, one JSON line
last_request() {
        tail -n 1 "$reqlog"
}
requests() {
        wc -l <"$reqlog"
}
# py EXPR: EXPR on the JSON in $j (as r) with python3
py() {
        python3 -c "import json,sys; r=json.loads(sys.argv[1]); print($1)" "$j"
}
# same_json WHAT KEY: stdout ($out) is the fixture KEY, exactly as JSON
same_json() {
        if python3 -c "import json,sys; f=json.load(open(sys.argv[1])); sys.exit(0 if json.loads(sys.argv[3]) == eval(sys.argv[2], {'f': f}) else 1)" \
                "$fixtures" "$2" "$out"; then ok; else bad "$1: --json output is not the daemon's answer: [$out]"; fi
}

# the usage errors above sent nothing
if [ ! -s "$reqlog" ]; then ok; else bad "requests before the fake's tests: $(cat "$reqlog")"; fi

# --- lifecycle status: the table ------------------------------------------
run "$ds01" lifecycle status
expect_eq "lifecycle status exit" 0 "$rc"
expect_eq "lifecycle status stderr" "" "$err"
j=$(last_request)
expect_eq "lifecycle status request" "GET /v1/lifecycle None" "$(py 'r["method"], r["path"], r["body"]' | tr -d "(),'")"
expect_line "lifecycle status first line" \
        "checked every 60s; last pass 14:05:02 UTC; high demand: no (25% of slots allocated, starts at 80%)" "$out"
expect_match "lifecycle status header" $'\n''CONTAINER +USER +TYPE +SLOTS +GPU +CPU +NET +IDLE +NEXT'$'\n' "$out"
expect_match "lifecycle status train" $'\n''train +alice +atomic +1\.2 +2% +0\.1% +0B +2/3 4m +warn_idle 80% in 40s'$'\n' "$out"
expect_match "lifecycle status infer" $'\n''infer +bob +service +0,1\.0 +63%\+p +46% +3MiB +0/3 +stop_runtime in 1h05m'$'\n' "$out"
expect_match "lifecycle status unnamed, out of scope" $'\n''cccccccccccc +carol +monitoring +- +- +- +- +- +not checked$' "$out"
# the columns line up: NEXT starts at the same place on every line
expect_eq "lifecycle status aligned" 1 "$(grep -E 'NEXT|warn_idle|stop_runtime|not checked' <<<"$out" | awk '{ print index($0, $NF == "NEXT" ? "NEXT" : ($0 ~ /not checked/ ? "not checked" : ($0 ~ /warn_idle/ ? "warn_idle" : "stop_runtime"))) }' | sort -u | wc -l)"
state high=true
run "$ds01" lifecycle status
expect_match "lifecycle status high demand" "high demand: yes \(85% of slots allocated, starts at 80%; idle timeouts x0\.5\)" "$out"
state empty=true
run "$ds01" lifecycle status
expect_eq "lifecycle status empty" $'checked every 60s; last pass 14:05:02 UTC; high demand: no (25% of slots allocated, starts at 80%)\nno containers' "$out"
state admin=false
run "$ds01" lifecycle status --json
expect_eq "lifecycle status --json exit" 0 "$rc"
same_json "lifecycle status --json" "f['lifecycle']"
expect_match "lifecycle status --json indented" $'^\\{\n  "interval_s": 60,' "$out"

# --- lifecycle status CONTAINER: the details ------------------------------
run "$ds01" lifecycle status train
expect_eq "status train exit" 0 "$rc"
j=$(last_request)
expect_eq "status train request" "GET /v1/lifecycle?container=train" "$(py 'r["method"] + " " + r["path"]')"
for l in "train (alice)" \
        "  id:             $(printf 'a%.0s' {1..64})" \
        "  type:           atomic" \
        "  state:          running" \
        "  GPU slots:      1.2" \
        "  checked:        yes" \
        "  exemptions:     none" \
        "  signals:        gpu 2% (no GPU processes), cpu 0.1%, network 0B" \
        "  idle:           yes: gpu 2% < 5%, cpu 0.1% <= 2%, network 0 B <= 1048576 B" \
        "  idle streak:    2 of 3 checks in a row" \
        "  idle for:       4m" \
        "  idle timeout:   30m" \
        "  keep-alive:     none" \
        "  runtime:        1h of at most 1d" \
        "  started:        2026-11-22 13:05:30 UTC" \
        "  upcoming:" \
        "    warn_idle 80% at 2026-11-22 14:06:10 UTC (in 40s)" \
        "    warn_idle 95% at 2026-11-22 14:33:30 UTC (in 28m)" \
        "    stop_idle at 2026-11-22 14:36:30 UTC (in 31m)" \
        "    stop_runtime at 2026-11-23 13:05:30 UTC (in 23h)"; do
        expect_line "status train: $l" "$l" "$out"
done
run "$ds01" lifecycle status infer
for l in "infer (bob)" \
        "  GPU slots:      0,1.0" \
        "  exemptions:     idle timeout (lifecycle-exemptions.yaml)" \
        "  signals:        gpu 63% (with GPU processes), cpu 46%, network 3MiB" \
        "  idle:           no: gpu 63% >= 5%" \
        "  idle for:       0s" \
        "  idle timeout:   never" \
        "  keep-alive:     until 2026-11-22 15:00:00 UTC (in 54m30s)" \
        "  runtime:        14h of at most 15h05m" \
        "    stop_runtime at 2026-11-22 15:10:30 UTC (in 1h05m)" \
        "    remove_stopped at 2026-11-22 14:05:00 UTC (overdue by 30s: at the next pass)"; do
        expect_line "status infer: $l" "$l" "$out"
done
run "$ds01" lifecycle status "$(printf 'c%.0s' {1..64})"
for l in "cccccccccccc (carol)" \
        "  checked:        no: label ds01.monitoring" \
        "  exemptions:     label ds01.monitoring (never checked)" \
        "  signals:        gpu - (no GPU processes), cpu -, network -" \
        "  runtime:        not running (no max runtime)" \
        "  started:        -" \
        "  upcoming:       nothing"; do
        expect_line "status carol: $l" "$l" "$out"
done
expect_no_match "status carol: no idle line" "idle streak" "$out"
run "$ds01" lifecycle status train --json
j=$out
expect_eq "status train --json" "['train']" "$(py '[c["name"] for c in r["containers"]]')"
run "$ds01" lifecycle status nosuch
expect_eq "status nosuch exit" 1 "$rc"
expect_eq "status nosuch message" "ds01: no container 'nosuch' of yours is known to the lifecycle loop yet" "$err"
expect_eq "status nosuch stdout" "" "$out"
run "$ds01" lifecycle status nosuch --json
expect_eq "status nosuch --json exit" 1 "$rc"
j=$out
expect_eq "status nosuch --json error object" "NOT_FOUND" "$(py 'r["error"]')"
# names are percent-encoded in the query
run "$ds01" lifecycle status 'a&b=c d'
j=$(last_request)
expect_eq "status query encoded" "/v1/lifecycle?container=a%26b%3Dc%20d" "$(py 'r["path"]')"

# --- lifecycle run --------------------------------------------------------
run "$ds01" lifecycle run --dry-run
expect_eq "dry run exit" 0 "$rc"
j=$(last_request)
expect_eq "dry run request" "POST /v1/lifecycle/run application/json {'dry_run': True}" "$(py 'r["method"] + " " + r["path"] + " " + r["ctype"] + " " + str(r["body"])')"
expect_eq "dry run output" "the next pass would:
  stop and remove 'train' (alice): idle 31m (gpu 2% < 5%, cpu 0.1% <= 2%)
  warn the owner of 'infer' (bob) (75% of its max runtime): running 18h of max 1d
  remove never-started container 'dddddddddddd' (dave): created and never started for 1h" "$out"
run "$ds01" lifecycle run --dry-run --json
expect_eq "dry run --json exit" 0 "$rc"
j=$out
expect_eq "dry run --json" "True 3" "$(py 'r["dry_run"], len(r["actions"])' | tr -d '(),')"
state empty=true
run "$ds01" lifecycle run --dry-run
expect_eq "dry run nothing" "0 the next pass would do nothing" "$rc $out"
state admin=false
run "$ds01" lifecycle run
expect_eq "run as a user exit" 1 "$rc"
expect_eq "run as a user message" "ds01: only admins may run a lifecycle pass; try --dry-run" "$err"
expect_eq "run as a user stdout" "" "$out"
j=$(last_request)
expect_eq "run request" "POST /v1/lifecycle/run {'dry_run': False}" "$(py 'r["method"] + " " + r["path"] + " " + str(r["body"])')"
run "$ds01" lifecycle run --json
expect_eq "run as a user --json exit" 1 "$rc"
j=$out
expect_eq "run as a user --json error" "FORBIDDEN" "$(py 'r["error"]')"
state admin=true
run "$ds01" lifecycle run
expect_eq "run as an admin exit" 0 "$rc"
expect_eq "run as an admin output" "ran a pass at 14:05:30 UTC; it:
  stopped and removed 'train' (alice): idle 31m (gpu 2% < 5%, cpu 0.1% <= 2%)
  warned the owner of 'infer' (bob) (75% of its max runtime): running 18h of max 1d
  removed never-started container 'dddddddddddd' (dave): created and never started for 1h" "$out"
state admin=true empty=true
run "$ds01" lifecycle run
expect_eq "run as an admin, nothing" "0 ran a pass at 14:05:30 UTC: nothing to do" "$rc $out"

# --- alerts ---------------------------------------------------------------
state admin=true
run "$ds01" alerts
expect_eq "alerts exit" 0 "$rc"
j=$(last_request)
expect_eq "alerts request" "GET /v1/alerts" "$(py 'r["method"] + " " + r["path"]')"
expect_match "alerts header" "^USER +RESOURCE +LEVEL +USED/LIMIT +PERCENT +SINCE \(UTC\) +MESSAGE"$'\n' "$out"
expect_match "alerts gpu" $'\n''alice +gpu +reached +1/1 +100% +2026-11-22 13:00 +you hold 1\.0 of 1\.0 GPU-equivalents'$'\n' "$out"
expect_match "alerts memory in GiB" $'\n''bob +memory +high +13/16 GiB +81% +2026-11-22 12:30 +you use 13 of 16 GiB of memory'$'\n' "$out"
expect_match "alerts containers" $'\n''bob +containers +reached +3/3 +100% +2026-11-21 12:00 +you run 3 of 3 containers$' "$out"
run "$ds01" alerts --all
j=$(last_request)
expect_eq "alerts --all request" "GET /v1/alerts" "$(py 'r["method"] + " " + r["path"]')"
run "$ds01" alerts --user bob
j=$(last_request)
expect_eq "alerts --user request" "/v1/alerts?user=bob" "$(py 'r["path"]')"
expect_eq "alerts --user bob: bob's only" 3 "$(lines "$out")"
run "$ds01" alerts --user='x y'
j=$(last_request)
expect_eq "alerts --user encoded" "/v1/alerts?user=x%20y" "$(py 'r["path"]')"
expect_eq "alerts none" "0 no alerts" "$rc $out"
run "$ds01" alerts --json
expect_eq "alerts --json exit" 0 "$rc"
same_json "alerts --json" "f['alerts']"
state admin=false
run "$ds01" alerts
expect_eq "alerts as alice" 2 "$(lines "$out")"
run "$ds01" alerts --user bob
expect_eq "alerts of another user exit" 1 "$rc"
expect_eq "alerts of another user message" "ds01: only admins may see other users' alerts" "$err"
state empty=true
run "$ds01" alerts
expect_eq "alerts empty" "0 no alerts" "$rc $out"

# --- access grant ---------------------------------------------------------
# args|expected body (Python literal)|expected sentence
state admin=true
while IFS='|' read -r args body sentence; do
        # shellcheck disable=SC2086
        run "$ds01" access grant $args
        expect_eq "grant $args exit" 0 "$rc"
        j=$(last_request)
        expect_eq "grant $args request" "POST /v1/access/grants" "$(py 'r["method"] + " " + r["path"]')"
        expect_eq "grant $args body" "True" "$(py "r['body'] == $body")"
        expect_eq "grant $args output" "$sentence" "$out"
done <<'TABLE'
alice 2d --reason x|{"user": "alice", "duration_s": 172800, "reason": "x"}|alice may use GPUs outside containers until 2026-11-24 14:05 UTC (reason: x)
alice 24h|{"user": "alice", "duration_s": 86400}|alice may use GPUs outside containers until 2026-11-23 14:05 UTC
alice 30m|{"user": "alice", "duration_s": 1800}|alice may use GPUs outside containers until 2026-11-22 14:35 UTC
alice 1w|{"user": "alice", "duration_s": 604800}|alice may use GPUs outside containers until 2026-11-29 14:05 UTC
alice 90s|{"user": "alice", "duration_s": 90}|alice may use GPUs outside containers until 2026-11-22 14:07 UTC
alice 36|{"user": "alice", "duration_s": 129600}|alice may use GPUs outside containers until 2026-11-24 02:05 UTC
alice 1.5|{"user": "alice", "duration_s": 5400}|alice may use GPUs outside containers until 2026-11-22 15:35 UTC
--reason=tests bob|{"user": "bob", "reason": "tests"}|bob may use GPUs outside containers until 2026-11-23 14:05 UTC (reason: tests)
dave permanent|{"user": "dave", "permanent": True, "duration_s": None}|dave may use GPUs outside containers permanently
dave PERMANENT --reason y|{"user": "dave", "permanent": True, "duration_s": None, "reason": "y"}|dave may use GPUs outside containers permanently (reason: y)
TABLE
run "$ds01" access grant alice "1d 12h" --reason "a long reason, with spaces"
j=$(last_request)
expect_eq "grant 1d 12h body" "129600|a long reason, with spaces" "$(py 'str(r["body"]["duration_s"]) + "|" + r["body"]["reason"]')"
run "$ds01" access grant alice 2d --json
expect_eq "grant --json exit" 0 "$rc"
j=$out
expect_eq "grant --json" "alice erin False" "$(py 'r["grant"]["user"], r["grant"]["granted_by"], r["grant"]["permanent"]' | tr -d "(),'")"
run "$ds01" access grant ghost 1d
expect_eq "grant unknown user" "1|ds01: no such user 'ghost'|" "$rc|$err|$out"
n=$(requests)
run "$ds01" access grant alice soon
expect_eq "a bad duration sends nothing" "$n" "$(requests)"
state admin=false
run "$ds01" access grant alice 2d
expect_eq "grant as a user exit" 1 "$rc"
expect_eq "grant as a user message" "ds01: only ds01 admins or members of ds01-admin may grant bare-metal access" "$err"
run "$ds01" access grant alice 2d --json
j=$out
expect_eq "grant as a user --json" "FORBIDDEN" "$(py 'r["error"]')"

# --- access revoke --------------------------------------------------------
state admin=true
run "$ds01" access revoke alice
expect_eq "revoke exit" 0 "$rc"
j=$(last_request)
expect_eq "revoke request" "DELETE /v1/access/grants/alice None" "$(py 'r["method"] + " " + r["path"] + " " + str(r["body"])')"
expect_eq "revoke output" "revoked alice's bare-metal GPU access (granted by erin on 2026-11-22 14:00 UTC)" "$out"
run "$ds01" access revoke 'bob@ex.org'
j=$(last_request)
expect_eq "revoke path keeps @" "/v1/access/grants/bob@ex.org" "$(py 'r["path"]')"
expect_eq "revoke without a grant" "1|ds01: bob@ex.org has no bare-metal grant" "$rc|$err"
run "$ds01" access revoke 'x?y'
j=$(last_request)
expect_eq "revoke path encoded" "/v1/access/grants/x%3Fy" "$(py 'r["path"]')"
run "$ds01" access revoke alice --json
j=$out
expect_eq "revoke --json" "alice" "$(py 'r["revoked"]["user"]')"
state admin=false
run "$ds01" access revoke alice
expect_eq "revoke as a user" "1|ds01: only ds01 admins or members of ds01-admin may revoke bare-metal access" "$rc|$err"

# --- access status --------------------------------------------------------
state admin=false
run "$ds01" access status
expect_eq "status exit (allowed)" 0 "$rc"
j=$(last_request)
expect_eq "status request" "GET /v1/access/status" "$(py 'r["method"] + " " + r["path"]')"
expect_line "status allowed" "alice may use GPUs outside containers (grant until 2026-11-23T14:00:00Z)" "$out"
expect_line "status grant" "grant:  by erin on 2026-11-22 14:00 UTC, until 2026-11-23 14:00 UTC (reason: benchmark)" "$out"
expect_line "status policy" "policy: warn (GPU processes outside containers without a grant are reported, and their users told)" "$out"
expect_line "status processes" "GPU processes outside containers:" "$out"
expect_match "status process header" $'\n''  PID +SLOT +MEMORY +COMMAND +ACTION'$'\n' "$out"
expect_match "status process" $'\n''  1234 +0 +1MiB +python bench\.py +none \(grant\)$' "$out"
run "$ds01" access status bob
expect_eq "status of another user as a user" "1|ds01: only admins may ask about another user|" "$rc|$err|$out"
state admin=true
run "$ds01" access status bob
expect_eq "status bob exit (not allowed)" 1 "$rc"
expect_eq "status bob stderr" "" "$err"
j=$(last_request)
expect_eq "status bob request" "/v1/access/status?user=bob" "$(py 'r["path"]')"
expect_line "status bob not allowed" "bob may not use GPUs outside containers (no grant)" "$out"
expect_line "status bob policy" "policy: stop (GPU processes outside containers without a grant are stopped after a warning: SIGTERM, then SIGKILL)" "$out"
expect_no_match "status bob: no grant line" "grant:" "$out"
expect_match "status bob stop in" $'\n''  4242 +1\.0 +8GiB +python train\.py --epochs 100 +stop in 2m'$'\n' "$out"
expect_match "status bob overdue" $'\n''  4243 +2 +- +\./a\.out +stop at the next scan'$'\n' "$out"
expect_match "status bob in a container" $'\n''  4244 +3 +512B +sleep +warn \(in container infer, not its slot\)$' "$out"
run "$ds01" access status carol
expect_eq "status carol exit" 0 "$rc"
expect_eq "status carol" "carol may use GPUs outside containers (exempt (bare_metal_access.exempt_users))
policy: report (GPU processes outside containers without a grant are reported to admins)
no GPU processes outside containers" "$out"
run "$ds01" access status bob --json
expect_eq "status bob --json exit (not allowed)" 1 "$rc"
same_json "status bob --json" "f['status']['bob']"
run "$ds01" access status carol --json
expect_eq "status carol --json exit" 0 "$rc"
same_json "status carol --json" "f['status']['carol']"
# --quiet: the exit status alone
while IFS='|' read -r admin args want; do
        state admin="$admin"
        # shellcheck disable=SC2086
        run "$ds01" access status $args
        expect_eq "status $args (admin $admin)" "$want||" "$rc|$out|$err"
done <<'TABLE'
false|--quiet|0
false|-q alice|0
false|bob --quiet|1
true|--quiet bob|1
true|-q carol|0
true|-q ghost|1
true|-q erin|1
TABLE
# a daemon that does not answer: give up after the quiet timeout (2 s), silently
state slow=true
start=$(date +%s%N)
run "$ds01" access status --quiet
end=$(date +%s%N)
expect_eq "status --quiet, slow daemon" "1||" "$rc|$out|$err"
ms=$(((end - start) / 1000000))
if [ "$ms" -ge 1500 ] && [ "$ms" -lt 5000 ]; then ok; else bad "status --quiet on a slow daemon took $ms ms (want about 2 s)"; fi
state admin=false

# --- access list ----------------------------------------------------------
run "$ds01" access list
expect_eq "list exit" 0 "$rc"
j=$(last_request)
expect_eq "list request" "GET /v1/access/grants None" "$(py 'r["method"] + " " + r["path"] + " " + str(r["body"])')"
expect_eq "list output" "USER  GRANTED_BY SINCE (UTC)      EXPIRES (UTC)    REASON
alice erin       2026-11-22 14:00 2026-11-23 14:00 benchmark
dave  root       2026-11-01 09:00 never            -" "$out"
run "$ds01" access list --json
expect_eq "list --json exit" 0 "$rc"
same_json "list --json" "f['grants']"
state empty=true
run "$ds01" access list
expect_eq "list empty" "0 no grants" "$rc $out"

# every request carried JSON only where there was a body
if python3 -c "
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if (r['body'] is None) != (r['ctype'] is None) or isinstance(r['body'], str):
        sys.exit(1)
" "$reqlog"; then ok; else bad "a request with a body but no Content-Type (or the reverse), or a body that is not JSON"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
