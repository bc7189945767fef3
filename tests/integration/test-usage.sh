#!/usr/bin/env bash
# test-usage.sh - `ds01 usage` and `ds01 report monthly` against a real ds01d
# (fake NVML, a100x4-mixed; no Docker) whose state database is seeded with
# sqlite3: usage samples of three users over September and October 2026 (one
# stamped exactly on 1 October 00:00:00, which covers September's last
# seconds), allocations (containers with one and two slots, one that never
# got a container, one spanning the month boundary), events of every counted
# type (gpu.rejected with codes, maintenance.idle_kill / runtime_kill,
# container.remove, resource.oom_kill, detection.host_gpu_process_discovered)
# and auth.denied lines in events.jsonl and in a rotated, compressed copy.
# Checks, against figures computed here independently (python over the same
# rows):
#  - ds01 usage --by user|group|slot: the JSON, the table and the CSV;
#  - durations and dates (--since 31d with DS01_NOW, YYYY-MM-DD as UTC);
#  - ds01 report monthly --month 2026-10 --json: every figure, the previous
#    month, the trend; and that it equals ds01 usage over the same range on
#    every shared figure (issue 8, acceptance 4);
#  - the .md and .json files (the JSON file is the report; the Markdown holds
#    the figures), --output -, the default month, overwriting;
#  - the same as a real unprivileged user; usage errors (exit 2).
# Needs root (it creates users), jq, sqlite3, python3 and setpriv; exits 77
# (skipped) without them.
#
# Usage: test-usage.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

ds01=$1
ds01d=$2
fake=$3
src=$4
alice=ds01u-alice-$$
bob=ds01u-bob-$$
carol=ds01u-carol-$$
users=("$alice" "$bob" "$carol")

if [ "$(id -u)" -ne 0 ] || ! command -v jq >/dev/null || ! command -v sqlite3 >/dev/null ||
        ! command -v python3 >/dev/null || ! command -v useradd >/dev/null ||
        ! command -v setpriv >/dev/null; then
        echo "test-usage: skipped (needs root, jq, sqlite3, python3, useradd and setpriv)"
        exit 77
fi

tmp=$(mktemp -d /tmp/ds01-test-usage-XXXXXX)
daemon=
created=()
pass=0
fail=0
cleanup() {
        if [ -n "$daemon" ]; then
                kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        fi
        for u in "${created[@]}"; do
                userdel "$u" >/dev/null 2>&1
        done
        if [ "$fail" -ne 0 ] && [ -f "$tmp/ds01d.log" ]; then
                echo "--- ds01d log (last 30 lines)" >&2
                tail -n 30 "$tmp/ds01d.log" >&2
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
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
as() {
        local u=$1
        shift
        run setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"
}
until_true() {
        local n=$(($1 * 20))
        shift
        for _ in $(seq 1 "$n"); do
                "$@" && return 0
                sleep 0.05
        done
        return 1
}
start_daemon() {
        rm -f "$tmp/run/ds01d.port"
        DS01_NVML_LIBRARY=$fake DS01_FAKENVML_TOPOLOGY=$src/tests/fixtures/topology/a100x4-mixed.yaml \
                "$ds01d" --config "$tmp/config/resource-limits.yaml" --state-dir "$tmp/state" \
                --run-dir "$tmp/run" --log-dir "$tmp/log" --listen 127.0.0.1:0 --foreground \
                --docker-socket "$tmp/no-docker.sock" >>"$tmp/ds01d.log" 2>&1 &
        daemon=$!
        if ! until_true 20 test -S "$tmp/run/ds01.sock" -a -s "$tmp/run/ds01d.port"; then
                echo "test-usage: ds01d did not start; its log:" >&2
                cat "$tmp/ds01d.log" >&2
                exit 1
        fi
}
stop_daemon() {
        local r=0
        kill -TERM "$daemon" && wait "$daemon" || r=$?
        daemon=
        return $r
}
# jcmp NAME A B: two JSON values equal (numbers to 1e-6)
jcmp() {
        local why
        if why=$(python3 "$tmp/jcmp.py" "$2" "$3"); then ok; else bad "$1: $why"; fi
}

# ---- configuration, users -------------------------------------------------------
chmod 0755 "$tmp"
mkdir -p "$tmp/config/groups" "$tmp/state" "$tmp/run" "$tmp/log" "$tmp/out"
chmod 0755 "$tmp/run"
chmod 0777 "$tmp/out"
cat >"$tmp/config/resource-limits.yaml" <<'YAML'
defaults:
  max_gpu_equivalents: 1
default_group: students
groups:
  students:
    max_gpu_equivalents: 1
  staff:
    max_gpu_equivalents: 2
access_control:
  admin_users: []
  admin_group: ds01u-no-such-group
YAML
printf '%s\n' "$alice" "$bob" >"$tmp/config/groups/students.members"
printf '%s\n' "$carol" >"$tmp/config/groups/staff.members"
for u in "${users[@]}"; do
        if ! useradd --no-create-home --user-group --shell /usr/sbin/nologin "$u"; then
                echo "test-usage: cannot create user $u" >&2
                exit 1
        fi
        created+=("$u")
done

cat >"$tmp/jcmp.py" <<'PY'
import json, sys
def cmp(a, b, path="$"):
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        if a != b: return f"{path}: {a!r} != {b!r}"
        return None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if abs(a - b) > 1e-6: return f"{path}: {a!r} != {b!r}"
        return None
    if type(a) != type(b): return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        if set(a) != set(b): return f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            e = cmp(a[k], b[k], f"{path}.{k}")
            if e: return e
        return None
    if isinstance(a, list):
        if len(a) != len(b): return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            e = cmp(x, y, f"{path}[{i}]")
            if e: return e
        return None
    if a != b: return f"{path}: {a!r} != {b!r}"
    return None
e = cmp(json.loads(sys.argv[1]), json.loads(sys.argv[2]))
if e: print(e); sys.exit(1)
PY

# ---- the schema: ds01d makes it on an empty state dir ---------------------------
start_daemon
stop_daemon
expect_eq "first daemon stops cleanly" 0 "$?"
db=$tmp/state/state.db
sqlite3 "$db" "SELECT name || ' ' || weight FROM slots ORDER BY name" >"$tmp/slots.txt"
if [ "$(wc -l <"$tmp/slots.txt")" -ne 13 ]; then
        bad "the a100x4-mixed topology gives 13 slots, the database has $(wc -l <"$tmp/slots.txt")"
        exit 1
fi
ok

# ---- seed: rows and the figures they must give ------------------------------------
python3 - "$tmp" "$alice" "$bob" "$carol" <<'PY'
import calendar, gzip, json, random, sys, time
tmp, alice, bob, carol = sys.argv[1:5]
group = {alice: "students", bob: "students", carol: "staff"}
slots = dict((l.split()[0], float(l.split()[1])) for l in open(f"{tmp}/slots.txt"))
names = sorted(slots)
def ts(y, m, d=1, H=0, M=0, S=0): return calendar.timegm((y, m, d, H, M, S))
AUG, SEP, OCT, NOV = ts(2026, 8), ts(2026, 9), ts(2026, 10), ts(2026, 11)
rnd = random.Random(8)
samples, allocs, events, denied = [], [], [], []
# samples: (user, slot, t, gpu_s, used_s); t every ~hour with random gaps
def add_samples(user, slot, start, end, step, util):
    t = start
    while t <= end:
        w = slots[slot]
        g = round(w * step, 6)
        samples.append((user, slot, t, g, round(g * util * rnd.random(), 6)))
        t += step
add_samples(alice, names[0], SEP + 3600, SEP + 40 * 3600, 1800, 0.9)
add_samples(alice, names[1], OCT + 600, OCT + 90 * 3600, 3600, 0.5)
add_samples(bob, names[2], OCT - 20 * 3600, OCT, 3600, 0.3)   # the last one: 1 Oct 00:00:00
add_samples(bob, names[2], OCT + 5, OCT + 30 * 3600, 3600, 0.7)
add_samples(carol, names[12], SEP + 10 * 86400, SEP + 12 * 86400, 900, 1.0)
add_samples(carol, names[12], OCT + 20 * 86400, OCT + 25 * 86400, 900, 0.0)
samples.append((alice, names[0], SEP, 7.0, 7.0))               # August's last seconds
samples.append((carol, names[3], NOV, 9.0, 9.0))               # October's last seconds
samples.append((carol, names[3], NOV + 1, 11.0, 11.0))         # November
# allocations (released): user, slot, container_id, created, updated
allocs += [
    (alice, names[0], "c-a1", SEP + 3000, SEP + 41 * 3600),
    (alice, names[1], "c-a2", OCT + 100, OCT + 91 * 3600),
    (alice, names[4], "c-a2", OCT + 100, OCT + 91 * 3600),     # c-a2 held two slots
    (bob, names[2], "c-b1", OCT - 21 * 3600, OCT + 31 * 3600), # across the boundary
    (bob, names[5], "", OCT + 7200, OCT + 7201),               # never created
    (carol, names[12], "c-c1", SEP + 10 * 86400 - 60, SEP + 12 * 86400 + 60),
    (carol, names[12], "c-c2", OCT + 20 * 86400 - 60, OCT + 25 * 86400 + 60),
    (carol, names[3], "c-c3", NOV - 100, NOV + 100),
    (carol, names[6], "c-c4", NOV, NOV + 100),                 # November's
]
# events: type, user, time (s), details
def ev(t, user, when, det=None): events.append((t, user, when, det))
for code, who, when in [("USER_AT_LIMIT", alice, OCT + 50), ("NO_CAPACITY", bob, OCT + 9000),
                        ("NO_CAPACITY", bob, OCT + 9001), ("NO_CAPACITY", alice, OCT)]:           # exactly on the start: October
    ev("gpu.rejected", who, when, {"container": "x", "code": code, "reason": "r", "count": 1, "full": False})
ev("gpu.rejected", alice, NOV, {"code": "NO_CAPACITY"})          # November
ev("gpu.rejected", carol, SEP - 1, {"code": "USER_AT_LIMIT"})      # August: September has none
for t, n_oct, n_sep in [("maintenance.idle_kill", 3, 1), ("maintenance.runtime_kill", 1, 0),
                        ("container.remove", 2, 2), ("resource.oom_kill", 1, 0),
                        ("maintenance.idle_warning", 4, 1),
                        ("detection.host_gpu_process_discovered", 2, 5)]:
    for i in range(n_oct): ev(t, [alice, bob, carol][i % 3], OCT + 3600 * (i + 1), {"container": f"c{i}"})
    for i in range(n_sep): ev(t, carol, SEP + 3600 * (i + 1), {"container": f"s{i}"})
ev("gpu.allocated", alice, OCT + 100, {"container": "c-a2"})      # not counted anywhere
ev("queue.joined", bob, OCT + 100, None)
# auth.denied: events.jsonl (Oct 2, Oct 31 23:59:59.5), a rotated gz (Sep, Oct), and one in November
def line(t_us, user):
    sec, us = divmod(t_us, 1000000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + ".%06dZ" % us
    return json.dumps({"timestamp": stamp, "event_type": "auth.denied", "schema_version": "1",
                       "user": user, "source": "ds01d", "details": {"reason": "x"}}, separators=(",", ":")) + "\n"
with open(f"{tmp}/log/events.jsonl", "w") as f:
    f.write(line((OCT + 86400) * 1000000, bob))
    f.write(line(NOV * 1000000 - 500000, bob))
    f.write(line(NOV * 1000000, bob))
with gzip.open(f"{tmp}/log/events.jsonl.1.gz", "wt") as f:
    f.write(line((SEP + 5) * 1000000, alice))
    f.write(line((SEP + 6) * 1000000, alice))
    f.write(line((OCT + 7) * 1000000, alice))
denied = {"2026-10": 3, "2026-09": 2}

with open(f"{tmp}/seed.sql", "w") as f:
    f.write("BEGIN;\n")
    for u, s, t, g, used in samples:
        f.write(f"INSERT INTO usage (user, slot, time, gpu_seconds, used_seconds) VALUES ('{u}', '{s}', {t}, {g!r}, {used!r});\n")
    for u, s, cid, c, up in allocs:
        f.write(f"INSERT INTO allocations (slot, container, container_id, user, weight, state, created, updated, reason) "
                f"VALUES ('{s}', 'name-{cid or 'none'}', '{cid}', '{u}', {slots[s]!r}, 'released', {c * 1000000}, {up * 1000000}, 'test');\n")
    for t, u, when, det in events:
        d = "NULL" if det is None else "'" + json.dumps(det, separators=(",", ":")) + "'"
        f.write(f"INSERT INTO events (time, type, user, source, container, details) VALUES ({when * 1000000}, '{t}', '{u}', 'ds01d', '', {d});\n")
    f.write("COMMIT;\n")

def table(since, until, by):
    rows = {}
    def row(user, slot):
        k = {"user": user, "group": group[user], "slot": slot}[by]
        r = rows.setdefault(k, {"key": k, "alloc": 0.0, "used": 0.0, "containers": set(), "rejections": 0})
        if by == "user": r["group"] = group[user]
        return r
    tot = {"alloc": 0.0, "used": 0.0, "containers": set(), "rejections": 0}
    for u, s, t, g, used in samples:
        if since < t <= until:
            r = row(u, s); r["alloc"] += g; r["used"] += used; tot["alloc"] += g; tot["used"] += used
    for u, s, cid, c, up in allocs:
        if cid and c < until and up > since:
            row(u, s)["containers"].add(cid); tot["containers"].add(cid)
    for t, u, when, det in events:
        if t == "gpu.rejected" and since <= when < until:
            tot["rejections"] += 1
            if by != "slot": row(u, None)["rejections"] += 1
    def out(r, key=True):
        o = {}
        if key:
            o["key"] = r["key"]
            if by == "user": o["group"] = r["group"]
        o["gpu_hours_allocated"] = round(r["alloc"] / 3600, 6)
        o["gpu_hours_used"] = round(r["used"] / 3600, 6)
        o["efficiency"] = round(r["used"] / r["alloc"], 6) if r["alloc"] > 0 else None
        o["containers"] = len(r["containers"])
        o["rejections"] = r["rejections"]
        return o
    lst = sorted(rows.values(), key=lambda r: (-r["alloc"], r["key"]))
    iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))
    return {"since": iso(since), "until": iso(until), "by": by, "rows": [out(r) for r in lst],
            "totals": out(tot, False)}

exp = {}
for by in ("user", "group", "slot"):
    exp[f"oct-{by}"] = table(OCT, NOV, by)
exp["sep-user"] = table(SEP, OCT, "user")
def summary(month, since, until):
    t = table(since, until, "user")
    cnt = lambda typ: sum(1 for e in events if e[0] == typ and since <= e[2] < until)
    life = {k: cnt(k) for k in ["maintenance.idle_warning", "maintenance.idle_kill", "maintenance.runtime_warning",
                                "maintenance.runtime_kill", "container.remove", "resource.oom_kill"]}
    active = sum(1 for r in t["rows"] if r["gpu_hours_allocated"] > 0 or r["containers"] > 0)
    codes = {}
    for e in events:
        if e[0] == "gpu.rejected" and since <= e[2] < until:
            codes[e[3]["code"]] = codes.get(e[3]["code"], 0) + 1
    return {"summary": {"users_active": active, **{k: t["totals"][k] for k in
                        ["gpu_hours_allocated", "gpu_hours_used", "efficiency", "containers", "rejections"]},
                        "denials": denied[month],
                        "host_process_detections": cnt("detection.host_gpu_process_discovered"),
                        "lifecycle_actions": sum(life.values())},
            "top_users": t["rows"][:10], "lifecycle_actions": life, "rejections_by_code": codes}
exp["report-oct"] = summary("2026-10", OCT, NOV)
exp["report-sep"] = summary("2026-09", SEP, OCT)
json.dump(exp, open(f"{tmp}/expected.json", "w"), indent=1)
PY
if [ $? -ne 0 ]; then
        bad "cannot generate the seed"
        exit 1
fi
run sqlite3 "$db" ".read $tmp/seed.sql"
if [ "$rc $err" != "0 " ]; then
        bad "cannot insert the seed: $err"
        exit 1
fi
ok
expect_eq "boundary sample present" 1 "$(sqlite3 "$db" "SELECT count(*) FROM usage WHERE time = strftime('%s', '2026-10-01')")"

start_daemon
export DS01_SOCKET=$tmp/run/ds01.sock
ex() { jq -c "$1" "$tmp/expected.json"; }

# ---- ds01 usage: JSON against the independent figures -----------------------------
for by in user group slot; do
        run "$ds01" usage --since 2026-10-01 --until 2026-11-01 --by $by --json
        expect_eq "usage --by $by exit" 0 "$rc"
        jcmp "usage --by $by JSON" "$(ex ".\"oct-$by\"")" "$out"
done
oct_user=$("$ds01" usage --since 2026-10-01 --until 2026-11-01 --json)
expect_eq "three users in October" 3 "$(jq '.rows | length' <<<"$oct_user")"
expect_eq "rows sorted by allocated" "true" \
        "$(jq '[.rows[].gpu_hours_allocated] | . == (sort | reverse)' <<<"$oct_user")"
expect_eq "bob's group" "students" "$(jq -r --arg u "$bob" '.rows[] | select(.key == $u) | .group' <<<"$oct_user")"
# the boundary sample: bob's September row holds it
run "$ds01" usage --since 2026-09-01 --until 2026-10-01 --json
jcmp "usage September" "$(ex '."sep-user"')" "$out"
# the same range as ISO times, as a duration from a fixed now, as epochs
run "$ds01" usage --since 2026-10-01T00:00:00Z --until 2026-11-01T00:00:00Z --json
jcmp "usage ISO times" "$oct_user" "$out"
run env DS01_NOW="$(date -u -d 2026-11-01 +%s)" "$ds01" usage --since 31d --json
jcmp "usage --since 31d from 1 November" "$oct_user" "$out"
run env TZ=America/New_York "$ds01" usage --since 2026-10-01 --until 2026-11-01 --json
jcmp "dates are UTC days" "$oct_user" "$out"
run "$ds01" usage --since @"$(date -u -d 2026-10-01 +%s)" --until @"$(date -u -d 2026-11-01 +%s)" --json
jcmp "usage epochs" "$oct_user" "$out"

# ---- the table ---------------------------------------------------------------------
run "$ds01" usage --since 2026-10-01 --until 2026-11-01
expect_eq "table exit" 0 "$rc"
expect_eq "table title" "GPU-hours by user, 2026-10-01 00:00 to 2026-11-01 00:00 UTC" "$(head -n 1 <<<"$out")"
expect_match "table header" $'\nUSER +GROUP +GPU-H ALLOC +GPU-H USED +EFFICIENCY +CONTAINERS +REJECTIONS\n' "$out"
while IFS=$'\t' read -r key grp a u e c r; do
        expect_match "table row $key" $'\n'"$key +$grp +$a +$u +$e +$c +$r"$'(\n|$)' "$out"
done < <(jq -r '.["oct-user"].rows[] | [.key, .group, .gpu_hours_allocated, .gpu_hours_used,
        (.efficiency // "-"), .containers, .rejections] | @tsv' "$tmp/expected.json" |
        awk -F'\t' -v OFS='\t' '{ $3 = sprintf("%.2f", $3); $4 = sprintf("%.2f", $4);
                if ($5 != "-") $5 = sprintf("%.1f%%", $5 * 100); print }')
tot=$(jq -r '.["oct-user"].totals | "\(.gpu_hours_allocated) \(.gpu_hours_used) \(.efficiency) \(.containers) \(.rejections)"' "$tmp/expected.json" |
        awk '{ printf "TOTAL +%.2f +%.2f +%.1f%% +%d +%d", $1, $2, $3 * 100, $4, $5 }')
expect_match "table total" $'\n'"$tot\$" "$out"
run "$ds01" usage --since 2026-10-01 --until 2026-11-01 --by slot
expect_match "slot table header" $'\nSLOT +GPU-H ALLOC' "$out"
run "$ds01" usage --since 2030-01-01 --until 2030-02-01
expect_eq "empty range" $'GPU-hours by user, 2030-01-01 00:00 to 2030-02-01 00:00 UTC\nno GPU use in this range' "$out"

# ---- CSV ---------------------------------------------------------------------------
run "$ds01" usage --since 2026-10-01 --until 2026-11-01 --csv
expect_eq "csv exit" 0 "$rc"
expect_eq "csv header" $'user,group,gpu_hours_allocated,gpu_hours_used,efficiency,containers,rejections\r' "$(head -n 1 <<<"$out")"
csv_json=$(python3 -c '
import csv, io, json, sys
rows = list(csv.DictReader(io.StringIO(sys.stdin.read(), newline="")))
num = lambda s: None if s == "" else float(s)
print(json.dumps([{"key": r["user"], "group": r["group"], "gpu_hours_allocated": num(r["gpu_hours_allocated"]),
    "gpu_hours_used": num(r["gpu_hours_used"]), "efficiency": num(r["efficiency"]),
    "containers": int(r["containers"]), "rejections": int(r["rejections"])} for r in rows]))' <<<"$out")
jcmp "csv rows" "$(ex '."oct-user".rows')" "$csv_json"
run "$ds01" usage --since 2026-10-01 --until 2026-11-01 --csv --by group
expect_eq "csv by group header" $'group,gpu_hours_allocated,gpu_hours_used,efficiency,containers,rejections\r' "$(head -n 1 <<<"$out")"

# ---- the report: every figure, and agreement with ds01 usage ---------------------
run "$ds01" report monthly --month 2026-10 --json
expect_eq "report exit" 0 "$rc"
rep=$out
for k in summary top_users lifecycle_actions rejections_by_code; do
        jcmp "report October $k" "$(ex ".\"report-oct\".$k")" "$(jq -c ".$k" <<<"$rep")"
        jcmp "report September $k" "$(ex ".\"report-sep\".$k")" "$(jq -c ".previous.$k" <<<"$rep")"
done
expect_eq "report range" "2026-10 2026-10-01T00:00:00Z 2026-11-01T00:00:00Z 2026-09" \
        "$(jq -r '"\(.month) \(.since) \(.until) \(.previous.month)"' <<<"$rep")"
# acceptance 4: the report equals ds01 usage over the same month on every shared figure
for k in gpu_hours_allocated gpu_hours_used efficiency containers rejections; do
        expect_eq "report = usage: $k" "$(jq -c ".totals.$k" <<<"$oct_user")" "$(jq -c ".summary.$k" <<<"$rep")"
done
expect_eq "report = usage: top users" "$(jq -c '.rows[:10]' <<<"$oct_user")" "$(jq -c '.top_users' <<<"$rep")"
expect_eq "report = usage: users active" \
        "$(jq '[.rows[] | select(.gpu_hours_allocated > 0 or .containers > 0)] | length' <<<"$oct_user")" \
        "$(jq '.summary.users_active' <<<"$rep")"
sep_user=$("$ds01" usage --since 2026-09-01 --until 2026-10-01 --json)
expect_eq "previous month = usage over September" "$(jq -c '.totals | [.gpu_hours_allocated, .gpu_hours_used, .containers, .rejections]' <<<"$sep_user")" \
        "$(jq -c '.previous.summary | [.gpu_hours_allocated, .gpu_hours_used, .containers, .rejections]' <<<"$rep")"
# the trend: differences and percents from the two summaries
trend_ok=$(jq '[.trend | to_entries[] | .value as $t | ($t.current - $t.previous - $t.difference | fabs < 1e-6)
        and (if $t.previous == 0 then $t.percent == null else (($t.percent - 100 * $t.difference / $t.previous) | fabs) < 0.051 end)] | all' <<<"$rep")
expect_eq "trend arithmetic" true "$trend_ok"
expect_eq "trend users active" "3 3 0 0" \
        "$(jq -r '.trend.users_active | "\(.current) \(.previous) \(.difference) \(.percent)"' <<<"$rep")"
expect_eq "trend from zero (rejections)" "4 0 4 null" \
        "$(jq -r '.trend.rejections | "\(.current) \(.previous) \(.difference) \(.percent)"' <<<"$rep")"
expect_eq "trend denials" "3 2 1 50" \
        "$(jq -r '.trend.denials | "\(.current) \(.previous) \(.difference) \(.percent)"' <<<"$rep")"

# ---- report files ------------------------------------------------------------------
run "$ds01" report monthly --month 2026-10 --output "$tmp/out"
expect_eq "report files exit" 0 "$rc"
expect_eq "report paths" "$tmp/out/ds01-report-2026-10.md"$'\n'"$tmp/out/ds01-report-2026-10.json" "$out"
jcmp "JSON file = report" "$(jq -c 'del(.generated)' <<<"$rep")" "$(jq -c 'del(.generated)' "$tmp/out/ds01-report-2026-10.json")"
md=$(cat "$tmp/out/ds01-report-2026-10.md")
expect_eq "markdown title" "# DS01 GPU report: October 2026" "$(head -n 1 <<<"$md")"
s() { jq -r ".summary.$1" <<<"$rep"; }
p() { jq -r ".previous.summary.$1" <<<"$rep"; }
f2() { printf '%.2f' "$1"; }
expect_match "md users active" "\| Users active \| 3 \| 3 \| \+0 \(\+0\.0%\) \|" "$md"
expect_match "md GPU-hours allocated" "\| GPU-hours allocated \| $(f2 "$(s gpu_hours_allocated)") \| $(f2 "$(p gpu_hours_allocated)") \|" "$md"
expect_match "md GPU-hours used" "\| GPU-hours used \| $(f2 "$(s gpu_hours_used)") \| $(f2 "$(p gpu_hours_used)") \|" "$md"
expect_match "md efficiency" "\| Efficiency \(used / allocated\) \| $(printf '%.1f' "$(jq '.summary.efficiency * 100' <<<"$rep")")% \|" "$md"
expect_match "md containers" "\| Containers with GPUs \| $(s containers) \| $(p containers) \|" "$md"
expect_match "md rejections" "\| Rejected GPU requests \| 4 \| 0 \| \+4 \(new\) \|" "$md"
expect_match "md denials" "\| Denied Docker requests \| 3 \| 2 \| \+1 \(\+50\.0%\) \|" "$md"
expect_match "md detections" "\| GPU processes outside containers \| 2 \| 5 \| -3 \(-60\.0%\) \|" "$md"
expect_match "md idle kills" "\| maintenance\.idle_kill \| 3 \|" "$md"
expect_match "md removals" "\| container\.remove \| 2 \|" "$md"
expect_match "md oom" "\| resource\.oom_kill \| 1 \|" "$md"
expect_match "md rejection codes" "  - NO_CAPACITY: 3" "$md"
expect_match "md denials line" "\(auth\.denied\): 3"$'\n' "$md"
expect_match "md detections line" "discovered\): 2" "$md"
top1=$(jq -r '.top_users[0] | "\(.key) \\| \(.group) \\| \(.gpu_hours_allocated)"' <<<"$rep")
expect_match "md top user" "\| 1 \| ${top1% *} $(f2 "${top1##* }") \|" "$md"
for u in "${users[@]}"; do expect_match "md names $u" "\| $u \|" "$md"; done
# regenerated: replaced, not appended
echo stale >"$tmp/out/ds01-report-2026-10.md"
run "$ds01" report monthly --month 2026-10 --output "$tmp/out"
expect_eq "regenerated report replaces the file" "$(grep -v '^Period:' <<<"$md")" \
        "$(grep -v '^Period:' "$tmp/out/ds01-report-2026-10.md")"
expect_eq "no temporary files left" 2 "$(find "$tmp/out" -type f | wc -l)"
run "$ds01" report monthly --month 2026-10 --output -
expect_eq "--output - prints the markdown" "$(grep -v '^Period:' <<<"$md")" "$(grep -v '^Period:' <<<"$out")"
# the default month: the last full one
run env DS01_NOW="$(date -u -d 2026-11-15 +%s)" "$ds01" report monthly --json
expect_eq "default month" "2026-10" "$(jq -r .month <<<"$out")"
run env DS01_NOW="$(date -u -d 2027-01-10 +%s)" "$ds01" report monthly --json
expect_eq "default month across the year" "2026-12 2026-11" "$(jq -r '"\(.month) \(.previous.month)"' <<<"$out")"

# ---- as an unprivileged user ---------------------------------------------------------
as "$bob" "$ds01" usage --since 2026-10-01 --until 2026-11-01 --json
expect_eq "user: usage exit" 0 "$rc"
jcmp "user sees everyone's usage" "$oct_user" "$out"
as "$carol" "$ds01" report monthly --month 2026-10 --json
jcmp "user: report" "$(jq -c 'del(.generated)' <<<"$rep")" "$(jq -c 'del(.generated)' <<<"$out")"
as "$alice" "$ds01" report monthly --month 2026-10 --output "$tmp/out/alice"
expect_eq "user: unwritable directory exit" 1 "$rc"
expect_match "user: unwritable directory message" "^ds01: cannot write the report into '$tmp/out/alice'" "$err"
mkdir "$tmp/out/alice" && chown "$alice" "$tmp/out/alice"
as "$alice" "$ds01" report monthly --month 2026-10 --output "$tmp/out/alice"
expect_eq "user: report files" 0 "$rc"
expect_eq "user: files owned by the user" "$alice $alice" \
        "$(stat -c %U "$tmp/out/alice/ds01-report-2026-10.md" "$tmp/out/alice/ds01-report-2026-10.json" | xargs)"

# ---- errors ----------------------------------------------------------------------------
run "$ds01" usage --by team
expect_eq "bad --by" "2" "$rc"
expect_match "bad --by message" "^ds01: --by takes user, group or slot" "$err"
run "$ds01" usage --since yesterdayish
expect_eq "bad --since" 2 "$rc"
run "$ds01" usage --since 2026-11-01 --until 2026-10-01
expect_eq "reversed range" 2 "$rc"
run "$ds01" usage --csv --json
expect_eq "--csv and --json" 2 "$rc"
run "$ds01" report monthly --month 2026-13
expect_eq "bad month" 2 "$rc"
run "$ds01" report weekly
expect_eq "unknown report" 2 "$rc"
run "$ds01" report
expect_eq "no report named" 2 "$rc"
run "$ds01" usage --help
expect_match "usage help" "^usage: ds01 usage" "$out"
run "$ds01" report --help
expect_match "report help says files are replaced" "replaced" "$out"
# the API itself
run curl -s --unix-socket "$tmp/run/ds01.sock" "http://ds01d/v1/usage?by=nope"
expect_eq "API bad by" "BAD_REQUEST" "$(jq -r .error <<<"$out")"
run curl -s --unix-socket "$tmp/run/ds01.sock" "http://ds01d/v1/report?month=10-2026"
expect_eq "API bad month" "BAD_REQUEST" "$(jq -r .error <<<"$out")"
run curl -s --unix-socket "$tmp/run/ds01.sock" "http://ds01d/v1/usage?since=2026-10-01&until=2026-11-01"
jcmp "API with dates" "$oct_user" "$out"
run curl -s -X POST --unix-socket "$tmp/run/ds01.sock" "http://ds01d/v1/usage"
expect_eq "API POST" "METHOD_NOT_ALLOWED" "$(jq -r .error <<<"$out")"

stop_daemon
expect_eq "daemon exits 0" 0 "$?"
echo "test-usage: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
