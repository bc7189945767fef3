#!/usr/bin/env bash
# test-dashboard.sh - the web dashboard end to end, in Debian's headless
# Chromium: a private ds01d on the fake NVML library (a100x4-mixed: 4 GPUs,
# 13 slots), usage samples seeded into its database before it starts, slots
# allocated to three users through the control socket, then the page loaded
# at desktop and at phone width (cdp.py, the DevTools protocol over a pipe):
#  - every slot of the topology is drawn, inside its GPU, with the holder that
#    GET /v1/status reports (and free ones as free); the comparison is shown
#    to catch a wrong holder;
#  - the users, containers and events sections have the expected rows (the
#    events capped at the newest 50);
#  - the 7- and 30-day GPU-hour charts have one bar per user with samples,
#    with the figures of GET /api/v1/usage and of the seeded samples;
#  - no horizontal overflow at 375 px; no script errors or CSP violations;
#  - the page follows a release within a refresh, and shows its error banner
#    when ds01d goes away;
#  - on the broken.yaml topology, the lost GPU is marked unhealthy in words;
#  - with curl: the security headers, 404 JSON under /api/, 405 on POST, 400
#    on bad usage arguments.
# Screenshots (desktop, phone, unhealthy GPU) are saved in ARTIFACT_DIR and their paths
# printed. Needs no Docker and no root (the caller is made an admin in the
# test's config); needs chromium, python3, jq, sqlite3 and curl.
#
# Usage: test-dashboard.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR ARTIFACT_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4
artifacts=$5
chromium=${DS01_CHROMIUM:-/usr/bin/chromium}
here=$SRC/tests/web

for tool in "$chromium" python3 jq sqlite3 curl; do
        if ! command -v "$tool" >/dev/null; then
                echo "test-dashboard: $tool is missing; install it (scripts/install-deps)" >&2
                exit 1
        fi
done

# shellcheck source-path=SCRIPTDIR source=../integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
trap cleanup_daemon EXIT
trap 'exit 130' INT TERM

alice=dash-alice
bob=dash-bob
carol=dash-carol
dave=dash-dave # only in the usage history

mkdir -p "$tmp/etc" "$tmp/run" "$artifacts"
cat >"$tmp/etc/resource-limits.yaml" <<EOF
defaults:
  max_gpu_equivalents: 2
  max_gpu_slots_per_container: 1
  allow_full_gpu: false
  max_containers_per_user: 3
access_control:
  admin_users: [$(id -un)]
  admin_group: ds01t-no-such-group
EOF

# cdp ARGS...: the driver, bounded (it also bounds itself).
cdp() { timeout -k 5 120 python3 "$here/cdp.py" --chromium "$chromium" --extract "$here/extract.js" "$@"; }
# http METHOD PATH: sets code, body, headers
http() {
        local out
        out=$(curl -s -X "$1" -D "$tmp/headers" -o "$tmp/body" -w '%{http_code}' --max-time 10 \
                "http://127.0.0.1:$port$2")
        code=$out
        body=$(cat "$tmp/body")
        headers=$(tr -d '\r' <"$tmp/headers")
}
header() { sed -n "s/^$1: //Ip" <<<"$headers" | head -n 1; }

# ---- the database: created by a first start, then usage samples seeded ---------
start_daemon a100x4-mixed || exit 1
stop_daemon TERM
expect_eq "first ds01d exit" 0 "$?"
now=$(date +%s)
db=$tmp/state/state.db
# GPU-equivalent seconds allocated and used. In the last 7 days: alice 2 h
# (1 h used), carol 3 h (0.15 h used); 20 days ago: alice 10 h (2.5 h used),
# bob 5 h (4 h used), dave 6 h (3 h used).
sqlite3 "$db" <<EOF
INSERT INTO usage (user, slot, time, gpu_seconds, used_seconds) VALUES
  ('$alice', '1.0', $((now - 2 * 86400)), 3600, 1800),
  ('$alice', '1.1', $((now - 2 * 86400 + 3600)), 3600, 1800),
  ('$carol', '3.0', $((now - 86400)), 10800, 540),
  ('$alice', '0', $((now - 20 * 86400)), 36000, 9000),
  ('$bob', '2.0', $((now - 20 * 86400)), 18000, 14400),
  ('$dave', '3.1', $((now - 20 * 86400)), 21600, 10800);
EOF
expect_eq "usage samples seeded" 6 "$(sqlite3 "$db" 'SELECT count(*) FROM usage')"
start_daemon a100x4-mixed || exit 1
port=$(cat "$tmp/run/ds01d.port")
url=http://127.0.0.1:$port/

# ---- allocations for three users, and more than 50 events -------------------------
# Refused requests (a full GPU is not allowed) are events too: 55 of them first,
# so that the newest 50 hold the allocations and some of these.
for i in $(seq 1 55); do
        ds01 gpu allocate "$dave" "dash-full-$i" --full >/dev/null 2>&1
done
for a in "$alice dash-a1" "$alice dash-a2" "$bob dash-b1" "$carol dash-c1"; do
        # shellcheck disable=SC2086
        ds01 gpu allocate $a >/dev/null
        expect_eq "allocate $a" 0 "$?"
done
# A reservation for dave of the last free slot.
status=$(ds01 gpu status --json)
reserved_slot=$(jq -r '[.slots[] | select(.user == null)][-1].slot' <<<"$status")
ds01 reserve add --user "$dave" --slots "$reserved_slot" --from now --to "@$((now + 2 * 86400))" \
        --reason "dash thesis deadline" >/dev/null
expect_eq "reserve $reserved_slot" 0 "$?"
status=$(ds01 gpu status --json)
expect_eq "four slots held" 4 "$(jq .slots_allocated <<<"$status")"
slot_of() { jq -r --arg c "$1" '.slots[] | select(.container == $c) | .slot' <<<"$status"; }
bob_slot=$(slot_of dash-b1)

# ---- HTTP: headers, errors ---------------------------------------------------------
http GET /
expect_eq "GET / status" 200 "$code"
expect_match "GET / is the page" '<title>ds01 dashboard</title>' "$body"
expect_match "GET / type" '^text/html' "$(header Content-Type)"
csp=$(header Content-Security-Policy)
expect_match "CSP default-src 'self'" "(^|; )default-src 'self'(;|$)" "$csp"
expect_match "CSP script-src 'self' only" "(^|; )script-src 'self'(;|$)" "$csp"
expect_match "CSP style-src 'self' only" "(^|; )style-src 'self'(;|$)" "$csp"
expect_match "CSP frame-ancestors" "frame-ancestors 'none'" "$csp"
if [[ $csp == *unsafe-inline* || $csp == *unsafe-eval* ]]; then bad "CSP allows unsafe-*: $csp"; else ok; fi
expect_eq "nosniff" nosniff "$(header X-Content-Type-Options)"
expect_eq "no referrer" no-referrer "$(header Referrer-Policy)"
if grep -qiE '<script>|<style|[[:space:]]style=|[[:space:]]on[a-z]+=' <<<"$body"; then
        bad "index.html has inline script or style"
else
        ok
fi
http GET /dashboard.js
expect_eq "GET /dashboard.js" "200 text/javascript" "$code $(header Content-Type | cut -d';' -f1)"
if grep -qE '\.(inner|outer)HTML|insertAdjacentHTML|document\.write|eval\(' <<<"$body"; then
        bad "dashboard.js writes markup from strings"
else
        ok
fi
http GET /dashboard.css
expect_eq "GET /dashboard.css" "200 text/css" "$code $(header Content-Type | cut -d';' -f1)"
http HEAD /
expect_eq "HEAD /" 200 "$code"
http GET /api/v1/overview
expect_eq "overview status" 200 "$code"
expect_eq "overview is JSON, not cached" "application/json no-store" \
        "$(header Content-Type) $(header Cache-Control)"
expect_match "overview CSP" "default-src 'self'" "$(header Content-Security-Policy)"
overview=$body
expect_eq "overview slots = status slots" "$(jq -c '[.slots[].slot]' <<<"$status")" \
        "$(jq -c '[.gpus[].slots[].slot]' <<<"$overview")"
http GET /api/v1/nope
expect_eq "unknown API path" "404 NOT_FOUND application/json" \
        "$code $(jq -r .error <<<"$body") $(header Content-Type)"
http GET /api/v2/overview
expect_eq "unknown API version" "404 NOT_FOUND" "$code $(jq -r .error <<<"$body")"
http POST /api/v1/overview
expect_eq "POST is refused" "405 METHOD_NOT_ALLOWED" "$code $(jq -r .error <<<"$body")"
http DELETE /
expect_eq "DELETE is refused" 405 "$code"
http GET '/api/v1/usage?days=0'
expect_eq "usage days=0" "400 BAD_REQUEST" "$code $(jq -r .error <<<"$body")"
http GET '/api/v1/usage?days=7&by=planet'
expect_eq "usage by=planet" "400 BAD_REQUEST" "$code $(jq -r .error <<<"$body")"
http GET '/api/v1/usage?since=yesterday&until=2001-01-01'
expect_eq "usage since after until" "400 BAD_REQUEST" "$code $(jq -r .error <<<"$body")"
http GET "/api/v1/usage?since=@$((now - 3 * 86400))&until=now&by=user"
expect_eq "usage since/until" 200 "$code"
expect_eq "usage since/until rows" "$alice $carol" \
        "$(jq -r '[.rows[] | select(.gpu_hours_allocated >= 0.05) | .key] | sort | join(" ")' <<<"$body")"
http GET '/api/v1/usage?days=7'
expect_eq "usage days=7" "200 no-store" "$code $(header Cache-Control)"
usage7=$body
http GET '/api/v1/usage?days=30'
usage30=$body

# ---- the page at desktop and phone width -------------------------------------------
shot_desktop=$artifacts/dashboard-desktop.png
shot_phone=$artifacts/dashboard-phone.png
rm -f "$shot_desktop" "$shot_phone"
ready='document.documentElement.dataset.rendered >= 1 && document.documentElement.dataset.usageRendered >= 1'
cdp "$url" --width 1280 --height 900 --ready "$ready" --facts "$tmp/desktop.json" \
        --screenshot "$shot_desktop" --log "$tmp/desktop.log"
rc=$?
expect_eq "desktop load" 0 "$rc"
if [ "$rc" -ne 0 ]; then
        echo "test-dashboard: the page did not load; its console: $(cat "$tmp/desktop.log" 2>/dev/null)" >&2
        exit 1
fi
cdp "$url" --width 375 --height 812 --ready "$ready" --facts "$tmp/phone.json" \
        --screenshot "$shot_phone" --log "$tmp/phone.log"
expect_eq "phone load" 0 "$?"
for f in "$tmp/desktop.json" "$tmp/phone.json"; do
        [ -s "$f" ] || echo '{}' >"$f"
done
desktop=$(cat "$tmp/desktop.json")
phone=$(cat "$tmp/phone.json")

# slot_lines: "SLOT HOLDER" per slot, sorted; HOLDER "free" for a free slot.
status_slots() { jq -r '.slots[] | "\(.slot) \(.user // "free")"' <<<"$status" | sort; }
# The page's: the holder's name shown in the slot must be its data-user, a
# free slot must say "free" and be drawn as free.
page_slots() {
        jq -r '.slots[]? | "\(.slot) \(
                if .free and (.held | not) and .holder == "free" and .user == "" then "free"
                elif .held and (.free | not) and .holder == .user and .user != "" then .holder
                else "MISMATCH(holder=\(.holder),user=\(.user),free=\(.free))" end)"' | sort
}
expected_slots=$(status_slots)
expect_eq "13 slots in the topology" 13 "$(wc -l <<<"$expected_slots")"
expect_eq "desktop: every slot with its holder" "$expected_slots" "$(page_slots <<<"$desktop")"
expect_eq "phone: every slot with its holder" "$expected_slots" "$(page_slots <<<"$phone")"
# The comparison catches a wrong holder, and a held slot drawn as free.
wrong=$(jq --arg b "$bob_slot" --arg u "$carol" \
        '(.slots[] | select(.slot == $b)) |= (.holder = $u | .user = $u)' <<<"$desktop")
if [ "$(page_slots <<<"$wrong")" == "$expected_slots" ]; then
        bad "the slot comparison does not notice a wrong holder"
else
        ok
fi
wrong=$(jq --arg b "$bob_slot" \
        '(.slots[] | select(.slot == $b)) |= (.holder = "free" | .user = "" | .free = true | .held = false)' \
        <<<"$desktop")
if [ "$(page_slots <<<"$wrong")" == "$expected_slots" ]; then
        bad "the slot comparison does not notice a held slot shown as free"
else
        ok
fi
expect_eq "slots visible" "13" "$(jq '[.slots[]? | select(.visible)] | length' <<<"$desktop")"
expect_eq "GPU blocks" "0 1 2 3" "$(jq -r '[.gpus[]?.gpu] | join(" ")' <<<"$desktop")"
expect_eq "slots inside their GPU" "true" \
        "$(jq '[.gpus[]? | .gpu as $g | .slots[] | (. == $g or startswith($g + "."))] | all' <<<"$desktop")"
expect_eq "GPUs healthy" "true true true true" "$(jq -r '[.gpus[]?.healthy] | join(" ")' <<<"$desktop")"
expect_eq "one colour per user" "true" \
        "$(jq '[.slots[]? | select(.held)] | group_by(.user) | map((map(.hue) | unique | length) == 1 and .[0].hue != null) | all' <<<"$desktop")"
expect_eq "holders' containers" "dash-a1 dash-a2 dash-b1 dash-c1" \
        "$(jq -r '[.slots[]? | select(.held) | .container] | sort | join(" ")' <<<"$desktop")"

expect_eq "reserved slot shown" "user:$dave" \
        "$(jq -r --arg s "$reserved_slot" '.slots[]? | select(.slot == $s) | .reserved | sub("^reserved: "; "")' <<<"$desktop")"
expect_eq "reservations rows" "1 user $dave (now) $reserved_slot dash thesis deadline" \
        "$(jq -r '"\(.reservations | length) \(.reservations[0].cells[0]) \(.reservations[0].cells[1]) \(.reservations[0].cells[4])"' <<<"$desktop")"

# users, containers, events
expect_eq "users rows" "$alice $bob $carol" "$(jq -r '[.users[]?.user] | sort | join(" ")' <<<"$desktop")"
expect_eq "users rows = the overview's" "$(jq -r '[.users[].user] | sort | join(" ")' <<<"$overview")" \
        "$(jq -r '[.users[]?.user] | sort | join(" ")' <<<"$desktop")"
expect_match "alice's GPU-equivalents against quota" '^0\.286 / 2\.000' \
        "$(jq -r --arg u "$alice" '.users[]? | select(.user == $u) | .cells[2]' <<<"$desktop")"
expect_match "alice's containers against limit" '^2 / 3' \
        "$(jq -r --arg u "$alice" '.users[]? | select(.user == $u) | .cells[3]' <<<"$desktop")"
expect_eq "containers rows" "dash-a1 $alice,dash-a2 $alice,dash-b1 $bob,dash-c1 $carol" \
        "$(jq -r '[.containers[]? | "\(.name) \(.user)"] | sort | join(",")' <<<"$desktop")"
last_id=$(ds01 events --json --limit 1 2>/dev/null | jq -rs '.[-1].id // empty')
[ -n "$last_id" ] || last_id=$(jq '.events[0].id' <<<"$overview")
expect_eq "50 events, newest first" "50 $last_id true" \
        "$(jq -r '"\(.events | length) \(.events[0].id) \([.events[].id] == ([.events[].id] | sort | reverse))"' <<<"$desktop")"
for u in "$alice" "$bob" "$carol"; do
        expect_eq "event gpu.allocated for $u" "true" \
                "$(jq --arg u "$u" '[.events[]? | select(.type == "gpu.allocated" and .user == $u)] | length > 0' <<<"$desktop")"
done
expect_eq "health checks listed" "true" "$(jq '.health_checks | length > 0' <<<"$desktop")"
expect_eq "no error banner" false "$(jq .banner_visible <<<"$desktop")"

# the charts: a bar per user with samples, the API's figures, the seeded ones
bars() { jq -r --arg d "$2" '[.charts[$d].bars[]? | select(.allocated >= 0.05) | .user] | sort | join(" ")' <<<"$1"; }
expect_eq "7-day chart users" "$alice $carol" "$(bars "$desktop" 7)"
expect_eq "30-day chart users" "$alice $bob $carol $dave" "$(bars "$desktop" 30)"
expect_eq "every bar has allocated and used" "true" \
        "$(jq '[.charts[].bars[]? | .rects == 3] | all' <<<"$desktop")"
# bar_is DAYS USER ALLOCATED USED: within 0.05 h (ds01d adds samples of its own
# for the slots held while the test runs).
bar_is() {
        local got
        got=$(jq -r --arg d "$1" --arg u "$2" --argjson a "$3" --argjson s "$4" \
                '[.charts[$d].bars[]? | select(.user == $u)
                  | (.allocated - $a | fabs) < 0.05 and (.used - $s | fabs) < 0.05] == [true]' <<<"$desktop")
        expect_eq "chart $1 days: $2 allocated $3 h, used $4 h" true "$got"
}
bar_is 7 "$alice" 2 1
bar_is 7 "$carol" 3 0.15
bar_is 30 "$alice" 12 3.5
bar_is 30 "$bob" 5 4
bar_is 30 "$dave" 6 3
bar_is 30 "$carol" 3 0.15
for d in 7 30; do
        [ "$d" = 7 ] && u=$usage7 || u=$usage30
        expect_eq "chart $d days = the API's rows" \
                "$(jq -c '[.rows[] | select(.gpu_hours_allocated >= 0.05) | {user: .key, a: (.gpu_hours_allocated * 100 | round)}] | sort_by(.user)' <<<"$u")" \
                "$(jq -c --arg d "$d" '[.charts[$d].bars[]? | select(.allocated >= 0.05) | {user, a: (.allocated * 100 | round)}] | sort_by(.user)' <<<"$desktop")"
done

# phone width: nothing sticks out
expect_eq "phone: no horizontal overflow" "375 375 false []" \
        "$(jq -c -r '"\(.scroll_width) \(.inner_width) \(.overflow_attr) \(.wide)"' <<<"$phone")"
expect_eq "desktop: no horizontal overflow" "false" "$(jq -r .overflow_attr <<<"$desktop")"
for f in desktop phone; do
        if [ -s "$tmp/$f.log" ]; then
                bad "$f: script errors or CSP violations: $(head -c 600 "$tmp/$f.log")"
        else
                ok
        fi
done
for f in "$shot_desktop" "$shot_phone"; do
        if [ "$(head -c 8 "$f" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
                ok
        else
                bad "no PNG screenshot at $f"
        fi
done

# ---- live: a release shows within a refresh; the banner when ds01d is gone ----------
free_js="document.querySelector('.slot[data-slot=\"$bob_slot\"]').dataset.user === '' && document.querySelector('.slot[data-slot=\"$bob_slot\"] .holder').textContent === 'free'"
banner_js="!document.getElementById('error-banner').hidden && /Cannot read ds01d/.test(document.getElementById('error-banner').textContent)"
cdp "$url" --width 1024 --height 768 --ready "$ready" --log "$tmp/live.log" --step-timeout 15 \
        --step "'$DS01' --socket '$tmp/run/ds01.sock' gpu release dash-b1 >/dev/null" "$free_js" \
        --step "kill -TERM $daemon_pid" "$banner_js"
expect_eq "release shown, then the error banner" 0 "$?"
stop_daemon TERM
expect_eq "ds01d exit" 0 "$?"

# ---- an unhealthy GPU is marked in words ----------------------------------------------
# broken.yaml: GPU 2 has fallen off the bus. A fresh state for the other GPUs.
rm -rf "$tmp/state"
start_daemon broken || exit 1
port=$(cat "$tmp/run/ds01d.port")
cdp "http://127.0.0.1:$port/" --width 1024 --height 768 --facts "$tmp/broken.json" \
        --screenshot "$artifacts/dashboard-unhealthy.png" --log "$tmp/broken.log"
expect_eq "broken: load" 0 "$?"
expect_eq "broken: GPU 2 unhealthy, the others not" "0 true,1 true,2 false,3 true" \
        "$(jq -r '[.gpus[]? | "\(.gpu) \(.healthy)"] | join(",")' "$tmp/broken.json" 2>/dev/null)"
expect_match "broken: GPU 2 says so" '^UNHEALTHY: .*lost' \
        "$(jq -r '.gpus[]? | select(.gpu == "2") | .note' "$tmp/broken.json" 2>/dev/null)"
stop_daemon TERM
expect_eq "broken: ds01d exit" 0 "$?"

echo "dashboard screenshots: $shot_desktop $shot_phone $artifacts/dashboard-unhealthy.png"
echo "test-dashboard: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
