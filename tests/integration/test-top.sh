#!/usr/bin/env bash
# test-top.sh - `ds01 top` in a real terminal: tmux (a private server, -L)
# runs it in a 120x40 pane against a private ds01d on the fake NVML library
# (a100x4-mixed) with allocations made through `ds01 gpu allocate`:
#  - the slots appear with their holders, in GPU order;
#  - u, t and s (send-keys) change the sort; the rows come in the order
#    computed from GET /v1/overview (user; utilization then memory; GPU);
#  - a new allocation appears on a following refresh, by itself;
#  - ds01d stopped: an error line, the last rows kept; started again: it
#    recovers by itself;
#  - ? shows the keys; a resize redraws within the new size;
#  - q quits: exit 0, the terminal back as it was (no alternate screen, the
#    shell at its prompt); SIGTERM and Ctrl-C do the same;
#  - not on a terminal: refuses and points to `ds01 status`; usage errors.
# Every wait polls capture-pane with a deadline. Needs root (like the other
# daemon tests); exits 77 (skipped) otherwise.
#
# Usage: test-top.sh DS01 DS01D FAKENVML_LIB SOURCE_DIR
set -uo pipefail

DS01=$1
DS01D=$2
FAKENVML=$3
SRC=$4

if [ "$(id -u)" -ne 0 ]; then
        echo "test-top: skipped (needs root)"
        exit 77
fi
for tool in tmux jq; do
        if ! command -v $tool >/dev/null; then
                echo "test-top: $tool is missing (scripts/install-deps installs it)" >&2
                exit 1
        fi
done

# shellcheck source=tests/integration/daemon-lib.sh
. "$SRC/tests/integration/daemon-lib.sh"
tsock=ds01-top-$$
tm() { tmux -L "$tsock" "$@"; }
cleanup() {
        tm kill-server 2>/dev/null
        cleanup_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sock=$tmp/run/ds01.sock
mkdir -p "$tmp/etc"
cat >"$tmp/etc/resource-limits.yaml" <<'YAML'
defaults:
  max_gpu_equivalents: 1
  max_containers_per_user: 3
YAML

pane() { tm capture-pane -p -t top; }
# check DESCRIPTION CMD...: CMD must succeed
check() {
        local what=$1
        shift
        if "$@"; then ok; else bad "$what"; fi
}
# the slots column of the rows on screen, one line
rows() { pane | awk '/^[0-9]+ +[0-9]+(\.[0-9]+)? +/ {print $2}' | paste -sd' '; }
# the "SLOT USER CONTAINER" of the rows on screen
holders() { pane | awk '/^[0-9]+ +[0-9]+(\.[0-9]+)? +/ {print $2, $5, $6}'; }
pane_has() { pane | grep -qF -- "$1"; }
pane_lacks() { ! pane | grep -qF -- "$1"; }
rows_are() { [ "$(rows)" = "$1" ]; }
overview() { curl -s --unix-socket "$sock" http://ds01d/v1/overview; }
# the expected order of the rows, from the overview
order_gpu() { overview | jq -r '[.gpus[].slots[].slot] | join(" ")'; }
order_user() {
        overview | jq -r '[.gpus[].slots[]] | to_entries
                | sort_by([(if .value.user then 0 else 1 end), (.value.user // ""), (.value.container // ""), .key])
                | map(.value.slot) | join(" ")'
}
order_util() {
        overview | jq -r '[.gpus[].slots[]] | to_entries
                | sort_by([-(.value.utilization_percent // -1), -(.value.memory_used_bytes // -1), .key])
                | map(.value.slot) | join(" ")'
}
alt_screen() { tm display-message -p -t top '#{alternate_on}'; }
exited_with() { pane_has "top-exit=$1"; }

# ---- a daemon with holders, top in tmux -------------------------------------------------
start_daemon a100x4-mixed || exit 1
for a in "st-zed z-1" "st-amy a-1" "st-amy a-2" "st-bob b-1"; do
        read -r u c <<<"$a"
        out=$(ds01 gpu allocate "$u" "$c" 2>&1)
        expect_eq "allocate $a" 0 "$?"
done
expect_eq "the four holders differ in order by user and by GPU" "yes" \
        "$([ "$(order_user)" != "$(order_gpu)" ] && [ "$(order_util)" != "$(order_gpu)" ] && echo yes)"

tm -f /dev/null new-session -d -s top -x 120 -y 40 \
        "env -i PATH=$PATH TERM=screen-256color HOME=$tmp PS1='top-test> ' bash --norc --noprofile"
wait_for "the shell prompt" 10 pane_has 'top-test>'
tm send-keys -t top "$DS01 --socket $sock top --interval 1; echo top-exit=\$?" Enter
wait_for "the slots with their holders" 10 pane_has "st-amy"
wait_for "all 13 rows" 10 eval '[ "$(rows | wc -w)" = 13 ]'
expect_eq "holders on screen as /v1/status says" \
        "$(ds01 gpu status --json | jq -r '.slots[] | "\(.slot) \(.user // "-") \(.container // "-")"' | sort)" \
        "$(holders | sort)"
expect_eq "alternate screen while it runs" 1 "$(alt_screen)"
expect_eq "sorted by GPU first" "$(order_gpu)" "$(rows)"
check "the sort line says gpu" pane_has "Sorted by gpu"
check "the summary line" pane_has "Summary: 4/13 slots allocated"

# ---- sorting ---------------------------------------------------------------------------------------
tm send-keys -t top u
wait_for "sorted by user" 5 pane_has "Sorted by user"
expect_eq "rows by user" "$(order_user)" "$(rows)"
expect_eq "st-amy first" "st-amy st-amy st-bob st-zed" \
        "$(holders | head -n 4 | awk '{print $2}' | paste -sd' ')"
tm send-keys -t top t
wait_for "sorted by util" 5 pane_has "Sorted by util"
expect_eq "rows by utilization, then memory" "$(order_util)" "$(rows)"
expect_eq "the busy full GPU first" "0" "$(rows | awk '{print $1}')"
tm send-keys -t top s
wait_for "s: back to gpu" 5 pane_has "Sorted by gpu"
expect_eq "rows by GPU again" "$(order_gpu)" "$(rows)"
tm send-keys -t top s
wait_for "s: user" 5 pane_has "Sorted by user"
tm send-keys -t top g
wait_for "g: gpu" 5 pane_has "Sorted by gpu"

# ---- a new allocation shows up by itself ------------------------------------------------------------
out=$(ds01 gpu allocate st-new n-1 2>&1)
expect_eq "allocate st-new n-1" 0 "$?"
wait_for "the new holder on a following refresh" 10 pane_has "st-new"
slot=$(ds01 gpu status --json | jq -r '.slots[] | select(.container == "n-1") | .slot')
expect_eq "its row" "$slot st-new n-1" "$(holders | grep ' n-1$')"
wait_for "the summary follows" 5 pane_has "Summary: 5/13 slots allocated"
out=$(ds01 gpu release n-1 2>&1)
expect_eq "release n-1" 0 "$?"
wait_for "the release shows" 10 pane_lacks "st-new"

# ---- ds01d goes away and comes back -----------------------------------------------------------------
stop_daemon
expect_eq "ds01d stopped with 0" 0 "$?"
wait_for "the error line" 10 pane_has "ds01d NOT ANSWERING"
expect_match "it says what and retries" "NOT ANSWERING, retrying every 1s \(rows from [0-9:]{8}\): cannot reach ds01d at $tmp/run" "$(pane)"
expect_eq "the last rows stay" 13 "$(rows | wc -w)"
start_daemon a100x4-mixed || exit 1
wait_for "it recovers" 10 pane_lacks "NOT ANSWERING"
expect_eq "rows again" 13 "$(rows | wc -w)"
check "holders again after the restart" pane_has "st-amy"

# ---- help, refresh, resize ---------------------------------------------------------------------------
tm send-keys -t top '?'
wait_for "the keys" 5 pane_has "Keys: q quit | u sort by user"
tm send-keys -t top '?'
wait_for "the keys hidden" 5 pane_lacks "Keys: q quit |"
tm send-keys -t top r
tm resize-window -t top -x 70 -y 14
wait_for "a redraw for 70x14" 5 eval '[ "$(pane | wc -l)" = 14 ] && pane_has "ds01 top:"'
expect_match "long lines cut, not wrapped" "^Summary: " "$(pane | sed -n 2p)"
expect_eq "rows to the bottom" 14 "$(pane | awk '/^[0-9]+ +[0-9]+(\.[0-9]+)? +/ {n = NR} END {print n}')"
tm resize-window -t top -x 120 -y 40
wait_for "a redraw for 120x40" 5 eval '[ "$(rows | wc -w)" = 13 ]'

# ---- q: back to the shell ----------------------------------------------------------------------------
tm send-keys -t top q
wait_for "top to exit" 10 exited_with 0
expect_eq "no alternate screen after q" 0 "$(alt_screen)"
expect_eq "the shell runs the pane" bash "$(tm display-message -p -t top '#{pane_current_command}')"
expect_eq "the prompt last" 'top-test>' "$(pane | grep -v '^$' | tail -n 1 | sed 's/ *$//')"
tm send-keys -t top "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo -e -icanon -e -echo" Enter
wait_for "the terminal modes listed" 5 eval 'pane | grep -qx -e icanon -e -icanon'
expect_eq "the terminal back in cooked mode, echoing" "icanon echo" \
        "$(pane | grep -x -e icanon -e echo -e -icanon -e -echo | paste -sd' ')"

# ---- SIGTERM: the same -------------------------------------------------------------------------------
tm send-keys -t top "clear; $DS01 --socket $sock top; echo top-exit=\$?" Enter
wait_for "top again" 10 pane_has "st-amy"
shell=$(tm display-message -p -t top '#{pane_pid}')
top_pid=$(pgrep -P "$shell" -x ds01)
expect_match "its pid" '^[0-9]+$' "$top_pid"
kill -TERM "$top_pid"
wait_for "top to exit on SIGTERM" 10 exited_with 0
expect_eq "no alternate screen after SIGTERM" 0 "$(alt_screen)"
tm send-keys -t top "clear; $DS01 --socket $sock top; echo top-exit=\$?" Enter
wait_for "top once more" 10 pane_has "st-amy"
tm send-keys -t top C-c
wait_for "top to exit on Ctrl-C" 10 exited_with 0
expect_eq "no alternate screen after Ctrl-C" 0 "$(alt_screen)"

# ---- not a terminal; usage ---------------------------------------------------------------------------
out=$(ds01 top </dev/null 2>&1 | cat)
expect_match "not a terminal: refused, ds01 status named" "^ds01: top needs a terminal; .*'ds01 status'" "$out"
ds01 top </dev/null >/dev/null 2>&1
expect_eq "not a terminal: exit 1" 1 "$?"
ds01 top --sort memory >/dev/null 2>"$tmp/err"
expect_eq "bad --sort: exit 2" 2 "$?"
expect_match "bad --sort: message" "user, gpu or util" "$(cat "$tmp/err")"
ds01 top --interval 0 >/dev/null 2>&1
expect_eq "bad --interval: exit 2" 2 "$?"
expect_match "--help" '^usage: ds01 top \[--interval S\] \[--sort user\|gpu\|util\]' "$(ds01 top --help)"

stop_daemon
expect_eq "ds01d exits 0 (and clean under ASan)" 0 "$?"
echo "test-top: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
