#!/usr/bin/env bash
# run-fuzz.sh - runs the libFuzzer targets of a fuzz build (`make fuzz`).
#
#   run-fuzz.sh run BUILD_DIR SECONDS [TARGET...]
#       each target (all fuzz-* of BUILD_DIR/tests by default) for SECONDS,
#       one after the other, starting from tests/fuzz/corpus/<target> and
#       the working corpus BUILD_DIR/corpus-<target> (kept between runs: new
#       inputs go there). libFuzzer's output goes to BUILD_DIR/<target>.log;
#       crash, leak, timeout, out-of-memory and slow (over 10 s) inputs to
#       BUILD_DIR/crashes-<target>/. Prints one line per target (executions,
#       executions per second, coverage: libFuzzer's cov and ft, corpus size,
#       inputs this run put in crashes-<target>/), then a total. Exit status
#       1 when any target found one.
#   run-fuzz.sh merge BUILD_DIR [TARGET...]
#       the inputs of BUILD_DIR/corpus-<target> that reach code the stored
#       corpus does not, added to tests/fuzz/corpus/<target> (libFuzzer's
#       -merge=1). Named inputs (seeds, crash-* regressions) are kept as they
#       are; the rest is minimized anew, without inputs over 8 KiB, so that
#       the corpus stays small enough for the replay in `make check`. Says
#       how many files each corpus holds afterwards.
set -uo pipefail
cd "$(dirname "$0")/../.."

MAX_FILE=8192

usage() {
        sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
}

targets_of() {
        local build=$1
        shift
        if [ $# -gt 0 ]; then
                printf '%s\n' "$@"
                return
        fi
        for f in "$build"/tests/fuzz-*; do
                [ -x "$f" ] && [ -f "$f" ] && basename "$f" | sed 's/^fuzz-//'
        done
}

# stat NAME LOG: the value of libFuzzer's final "stat::NAME:" line.
stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }
# field NAME LOG: NAME's value ("cov", "ft", "corp") on the last status line.
field_of() { grep -E '^#[0-9]+' "$2" | tail -n 1 | sed -n "s/.* $1: \([0-9/]*b\{0,1\}\).*/\1/p"; }

run() {
        local build=$1 secs=$2
        shift 2
        local failed=0 total_execs=0 t
        [ -d "$build/tests" ] || {
                echo "run-fuzz: no fuzz build in $build (cmake --preset fuzz)" >&2
                exit 2
        }
        mapfile -t list < <(targets_of "$build" "$@")
        [ ${#list[@]} -gt 0 ] || {
                echo "run-fuzz: no fuzz-* targets in $build/tests" >&2
                exit 2
        }
        printf '%-20s %12s %9s %6s %7s %7s %8s\n' target execs exec/s cov ft corpus crashes
        for t in "${list[@]}"; do
                local bin="$build/tests/fuzz-$t" seeds="tests/fuzz/corpus/$t"
                local work="$build/corpus-$t" crashes="$build/crashes-$t" log="$build/$t.log"
                local rc execs eps cov ft corp n_crash
                [ -x "$bin" ] || {
                        echo "run-fuzz: $bin is missing" >&2
                        failed=1
                        continue
                }
                mkdir -p "$work" "$crashes"
                # what this run finds: inputs of earlier runs left in $crashes
                # are not counted again
                touch "$crashes/.run-start"
                [ -d "$seeds" ] || seeds=
                # -timeout: an input taking minutes is a hang (the harnesses
                # themselves wait up to 100 s for a starved thread);
                # -rss_limit_mb: the control target holds a whole ds01d
                "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=150 \
                        -rss_limit_mb=4096 -artifact_prefix="$crashes/" \
                        "$work" ${seeds:+"$seeds"} >"$log" 2>&1
                rc=$?
                execs=$(stat_of number_of_executed_units "$log")
                eps=$(stat_of average_exec_per_sec "$log")
                cov=$(field_of cov "$log")
                ft=$(field_of ft "$log")
                corp=$(field_of corp "$log")
                n_crash=$(find "$crashes" -type f ! -name .run-start -newer "$crashes/.run-start" | wc -l)
                if [ "$rc" -ne 0 ] && [ "$n_crash" -eq 0 ]; then
                        n_crash="? (exit $rc)"
                fi
                printf '%-20s %12s %9s %6s %7s %7s %8s\n' "fuzz-$t" "${execs:-?}" "${eps:-?}" \
                        "${cov:-?}" "${ft:-?}" "${corp%%/*}" "$n_crash"
                total_execs=$((total_execs + ${execs:-0}))
                if [ "$rc" -ne 0 ] || [ "$n_crash" != 0 ]; then
                        failed=1
                        echo "  fuzz-$t: see $log; inputs in $crashes/ (rerun one: $bin FILE)"
                fi
        done
        echo "fuzz: ${#list[@]} targets, $secs s each, $total_execs executions, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs"
        if [ "$failed" -ne 0 ]; then
                echo "fuzz: CRASHES FOUND (above); add each input to tests/fuzz/corpus/<target>/crash-<what> once fixed"
                return 1
        fi
        return 0
}

merge() {
        local build=$1 t
        shift
        mapfile -t list < <(targets_of "$build" "$@")
        for t in "${list[@]}"; do
                local bin="$build/tests/fuzz-$t" dest="tests/fuzz/corpus/$t" tmp
                [ -x "$bin" ] || continue
                tmp=$(mktemp -d /tmp/ds01-fuzz-merge-XXXXXX)
                mkdir -p "$tmp/keep" "$tmp/in"
                # named inputs stay; hash-named ones are minimized again with
                # the working corpus
                for f in "$dest"/* "$build/corpus-$t"/*; do
                        [ -f "$f" ] || continue
                        [ "$(stat -c %s "$f")" -le "$MAX_FILE" ] || continue
                        if [[ $(basename "$f") =~ ^[0-9a-f]{40}$ ]]; then
                                cp "$f" "$tmp/in/"
                        else
                                cp "$f" "$tmp/keep/"
                        fi
                done
                if "$bin" -merge=1 -use_counters=0 -max_len="$MAX_FILE" -timeout=150 -rss_limit_mb=4096 \
                        "$tmp/keep" "$tmp/in" >"$build/$t.merge.log" 2>&1; then
                        rm -rf "$dest"
                        mkdir -p "$dest"
                        cp "$tmp/keep"/* "$dest/"
                        echo "fuzz-$t: $(find "$dest" -type f | wc -l) files," \
                                "$(du -sk "$dest" | cut -f1) KiB in $dest"
                else
                        echo "fuzz-$t: merge failed (see $build/$t.merge.log); $dest unchanged"
                fi
                rm -rf "$tmp"
        done
}

case "${1:-}" in
run)
        [ $# -ge 3 ] || usage
        shift
        run "$@"
        ;;
merge)
        [ $# -ge 2 ] || usage
        shift
        merge "$@"
        ;;
*) usage ;;
esac
