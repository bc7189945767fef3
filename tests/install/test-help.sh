#!/usr/bin/env bash
# test-help.sh - `ds01 help`: the topic list after the main help, each topic's
# text (with the help of the command of the same name), every command's help
# through `ds01 help COMMAND`, --list, and the usage errors (an unknown word
# with and without a "did you mean", two words, an unknown option), each one
# line on stderr and exit 2. No daemon, no files.
#
# Usage: test-help.sh PATH_TO_DS01
set -uo pipefail

ds01=$1
tmp=$(mktemp -d /tmp/ds01-install-help-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

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

topics="config limits gpus containers lifecycle quota queue access status admin"

# --- ds01 help: the main help, then the topics -------------------------------
run "$ds01" help
expect_eq "help exit" 0 "$rc"
expect_match "help starts with the main usage" "^usage: ds01 " "$out"
expect_match "help lists the commands" $'\n''  container  ' "$out"
for t in $topics; do
        if grep -qE "^  $t +[^ ]" <<<"$out"; then ok; else bad "help does not list topic $t"; fi
done
expect_match "help names the man pages" "ds01\(1\), ds01d\(8\), ds01-config\(5\)" "$out"
expect_eq "help: nothing on stderr" "" "$err"
# the main help no longer lists 'help' twice
expect_eq "help listed once" 1 "$(grep -c '^  help ' <<<"$out")"

# --- each topic ---------------------------------------------------------------
for t in $topics; do
        run "$ds01" help "$t"
        expect_eq "help $t exit" 0 "$rc"
        expect_eq "help $t: nothing on stderr" "" "$err"
        lines=$(wc -l <<<"$out")
        if [ "$lines" -ge 5 ]; then ok; else bad "help $t: only $lines lines"; fi
        # short, and it points somewhere further
        if grep -qE 'docs/|man |ds01 [a-z]+ --help|ds01 help' <<<"$out"; then ok; else
                bad "help $t points nowhere: $out"
        fi
done
# a topic named like a command: the text, then that command's own help
run "$ds01" help config
expect_match "help config: topic text" "^The configuration is /etc/ds01/resource-limits.yaml" "$out"
expect_match "help config: then the command's help" $'\n'"----- ds01 config --help -----"$'\n'"usage: ds01 config check" "$out"
run "$ds01" help gpus
expect_match "help gpus: then ds01 gpu --help" "----- ds01 gpu --help -----" "$out"
run "$ds01" help quota
if grep -q -- "-----" <<<"$out"; then bad "help quota has no command but printed one"; else ok; fi

# --- every command of 'ds01 --help' through 'ds01 help COMMAND' -----------------
run "$ds01" --help
commands=$(awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }' <<<"$out")
n=$(wc -w <<<"$commands")
if [ "$n" -ge 15 ]; then ok; else bad "ds01 --help lists only $n commands"; fi
for c in $commands; do
        run "$ds01" help "$c"
        expect_eq "help $c exit" 0 "$rc"
        expect_match "help $c prints a usage" "usage: ds01 " "$out"
        # the same text as 'ds01 COMMAND --help' (after the topic, if any)
        own=$("$ds01" "$c" --help 2>/dev/null)
        if [[ $out == *"$own" ]]; then ok; else bad "help $c differs from '$c --help'"; fi
done

# --- --list: topics, then the commands that are not topics, one per line ------
run "$ds01" help --list
expect_eq "help --list exit" 0 "$rc"
for w in $topics $commands; do
        expect_eq "help --list has $w once" 1 "$(grep -cx "$w" <<<"$out")"
done

# --- usage errors: one line, exit 2 ----------------------------------------------
run "$ds01" help confg
expect_eq "typo exit" 2 "$rc"
expect_eq "typo: did you mean" "ds01: no help topic or command 'confg'; did you mean 'config'? (see 'ds01 help')" "$err"
expect_eq "typo: nothing on stdout" "" "$out"
run "$ds01" help lifecyle
expect_eq "typo 2" "ds01: no help topic or command 'lifecyle'; did you mean 'lifecycle'? (see 'ds01 help')" "$err"
run "$ds01" help contaner
expect_match "typo near a command and a topic" "did you mean 'container'\?" "$err"
run "$ds01" help frobnicate
expect_eq "unknown exit" 2 "$rc"
expect_eq "unknown: no suggestion" "ds01: no help topic or command 'frobnicate' (see 'ds01 help')" "$err"
run "$ds01" help gpus quota
expect_eq "two words exit" 2 "$rc"
expect_eq "two words: one line" 1 "$(wc -l <<<"$err")"
run "$ds01" help --frobnicate
expect_eq "unknown option exit" 2 "$rc"
expect_match "unknown option named" "unknown option '--frobnicate'" "$err"
run "$ds01" help --help
expect_eq "help --help exit" 0 "$rc"
expect_match "help --help usage" "^usage: ds01 help \[TOPIC \| COMMAND\]" "$out"

echo "test-help: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
