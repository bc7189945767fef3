#!/usr/bin/env bash
# test-preload.sh - the login deterrent: libds01-gpu-notice.so under LD_PRELOAD
# with a fake CUDA library, and deploy/profile.d/ds01-gpu-awareness.sh in
# interactive shells with a fake `ds01` on PATH.
#  - CUDA hidden (CUDA_VISIBLE_DEVICES="") and failing: the notice exactly once
#    on stderr, results and errno unchanged; nothing when CUDA works, when the
#    variable is unset or names devices, or with DS01_GPU_NOTICE_QUIET=1;
#  - 0 devices counts as a failure; no CUDA library at all: "not initialized";
#  - a CUDA library dlopen'ed RTLD_LOCAL still answers through the wrapper;
#  - programs without CUDA run as before; only the two symbols are exported;
#  - the profile script: no grant -> CUDA_VISIBLE_DEVICES="" and the library
#    once in LD_PRELOAD; grant, no ds01, DS01_GPU_AWARENESS=off, root, or a
#    non-interactive shell -> nothing changed; in dash, bash and busybox sh,
#    as an unprivileged user (nobody when the test runs as root).
#
# Usage: test-preload.sh LIB CUDA_PROBE CUDA_PROBE_NOCUDA CUDA_PROBE_DLOPEN LIBCUDAUSER SOURCE_DIR
# shellcheck disable=SC2016 # single-quoted scripts expand in the shells they run in
set -uo pipefail

lib=$1
probe=$2
probe_nocuda=$3
probe_dlopen=$4
cudauser=$5
src=$6
script=$src/deploy/profile.d/ds01-gpu-awareness.sh
tmp=$(mktemp -d /tmp/ds01-test-preload-XXXXXX)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
        fail=$((fail + 1))
        echo "FAIL: $*" >&2
}
expect_eq() { if [ "$2" == "$3" ]; then ok; else bad "$1: expected [$2], got [$3]"; fi; }

notice='ds01: no GPU here: GPUs on this server are used through containers.
  Start one:   ds01 container deploy my-project --gpus 1
  Or ask an admin for bare-metal access (ds01 access status).'

# run [VAR=VALUE ...] -- CMD ...: CMD in a clean environment; sets out, err, rc.
run() {
        local -a vars=()
        while [ "$1" != -- ]; do
                vars+=("$1")
                shift
        done
        shift
        out=$(env -i PATH=/usr/bin:/bin "${vars[@]}" "$@" 2>"$tmp/err")
        rc=$?
        err=$(cat "$tmp/err")
}
notices() { grep -c '^ds01: no GPU here' <<<"$err"; }

fail100='cuInit=100 errno=1234
cuInit=100 errno=1234
cudaGetDeviceCount=100 count=0 errno=1234'
works='cuInit=0 errno=1234
cuInit=0 errno=1234
cudaGetDeviceCount=0 count=1 errno=1234'

# ---- the library: exports and dependencies --------------------------------
if command -v nm >/dev/null; then
        expect_eq "exported symbols" "cuInit cudaGetDeviceCount" \
                "$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TW]$/ { print $3 }' | sort | xargs)"
fi
if command -v readelf >/dev/null; then
        expect_eq "needed libraries" "libc.so.6" \
                "$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -v '^libdl\.' | xargs)"
fi

# ---- CUDA hidden and failing: the notice once, results unchanged -----------
run FAKECUDA_RESULT=100 CUDA_VISIBLE_DEVICES= -- "$probe"
expect_eq "baseline (no preload) results" "$fail100" "$out"
expect_eq "baseline (no preload) stderr" "" "$err"

run LD_PRELOAD="$lib" FAKECUDA_RESULT=100 CUDA_VISIBLE_DEVICES= -- "$probe"
expect_eq "hidden+failing exit" 0 "$rc"
expect_eq "hidden+failing results unchanged" "$fail100" "$out"
expect_eq "hidden+failing: the notice, once, nothing else" "$notice" "$err"

# ---- no notice when CUDA works, is not hidden, or is silenced --------------
run LD_PRELOAD="$lib" FAKECUDA_RESULT=0 FAKECUDA_COUNT=1 CUDA_VISIBLE_DEVICES= -- "$probe"
expect_eq "working results" "$works" "$out"
expect_eq "working: no notice" "" "$err"

run LD_PRELOAD="$lib" FAKECUDA_RESULT=100 -- "$probe"
expect_eq "CUDA_VISIBLE_DEVICES unset: results" "$fail100" "$out"
expect_eq "CUDA_VISIBLE_DEVICES unset: no notice" "" "$err"

run LD_PRELOAD="$lib" FAKECUDA_RESULT=100 CUDA_VISIBLE_DEVICES=0 -- "$probe"
expect_eq "CUDA_VISIBLE_DEVICES=0: no notice" "" "$err"

run LD_PRELOAD="$lib" FAKECUDA_RESULT=100 CUDA_VISIBLE_DEVICES= DS01_GPU_NOTICE_QUIET=1 -- "$probe"
expect_eq "quiet: results" "$fail100" "$out"
expect_eq "quiet: no notice" "" "$err"

run LD_PRELOAD="$lib" FAKECUDA_RESULT=2 DS01_GPU_NOTICE_FORCE=1 -- "$probe"
expect_eq "force: results" "cuInit=2 errno=1234
cuInit=2 errno=1234
cudaGetDeviceCount=2 count=0 errno=1234" "$out"
expect_eq "force: notice once" "$notice" "$err"

run LD_PRELOAD="$lib" FAKECUDA_RESULT=100 DS01_GPU_NOTICE_FORCE=1 DS01_GPU_NOTICE_QUIET=1 -- "$probe"
expect_eq "force+quiet: no notice" "" "$err"

# ---- 0 devices is a failure too -------------------------------------------
run LD_PRELOAD="$lib" FAKECUDA_RESULT=0 FAKECUDA_COUNT=0 CUDA_VISIBLE_DEVICES= -- "$probe"
expect_eq "count 0: results" "cuInit=0 errno=1234
cuInit=0 errno=1234
cudaGetDeviceCount=0 count=0 errno=1234" "$out"
expect_eq "count 0: notice once" "$notice" "$err"

# ---- errno: the real function's, never ours --------------------------------
run LD_PRELOAD="$lib" FAKECUDA_RESULT=100 FAKECUDA_ERRNO=7 CUDA_VISIBLE_DEVICES= -- "$probe"
expect_eq "errno set by CUDA passes through" "cuInit=100 errno=7
cuInit=100 errno=7
cudaGetDeviceCount=100 count=0 errno=7" "$out"
expect_eq "errno set by CUDA: notice once" 1 "$(notices)"
# stderr closed: the notice's write fails with EBADF, errno stays 1234
out=$(env -i PATH=/usr/bin:/bin LD_PRELOAD="$lib" FAKECUDA_RESULT=100 CUDA_VISIBLE_DEVICES= \
        "$probe" 2>&-)
expect_eq "stderr closed: results and errno unchanged" "$fail100" "$out"

# ---- no CUDA library at all: "not initialized", the notice once ------------
run CUDA_VISIBLE_DEVICES= -- "$probe_nocuda"
expect_eq "no CUDA: results" "cuInit=3 errno=1234
cuInit=3 errno=1234
cudaGetDeviceCount=3 count=0 errno=1234" "$out"
expect_eq "no CUDA: notice once" "$notice" "$err"
run LD_PRELOAD="$lib" CUDA_VISIBLE_DEVICES= -- "$probe_nocuda"
expect_eq "no CUDA, preloaded too: notice once" "$notice" "$err"
run -- "$probe_nocuda"
expect_eq "no CUDA, not hidden: no notice" "" "$err"

# ---- CUDA inside a library dlopen'ed RTLD_LOCAL -----------------------------
run LD_PRELOAD="$lib" FAKECUDA_RESULT=0 CUDA_VISIBLE_DEVICES=0 -- "$probe_dlopen" "$cudauser"
expect_eq "RTLD_LOCAL CUDA works through the wrapper" "$works" "$out"
expect_eq "RTLD_LOCAL CUDA works: no notice" "" "$err"
run LD_PRELOAD="$lib" FAKECUDA_RESULT=100 CUDA_VISIBLE_DEVICES= -- "$probe_dlopen" "$cudauser"
expect_eq "RTLD_LOCAL failing: results unchanged" "$fail100" "$out"
expect_eq "RTLD_LOCAL failing: notice once" "$notice" "$err"

# ---- programs without CUDA -------------------------------------------------
run LD_PRELOAD="$lib" CUDA_VISIBLE_DEVICES= -- /bin/true
expect_eq "/bin/true exit" 0 "$rc"
expect_eq "/bin/true stderr" "" "$err"
run LD_PRELOAD="$lib" CUDA_VISIBLE_DEVICES= -- /bin/sh -c 'echo hello; exit 3'
expect_eq "sh exit" 3 "$rc"
expect_eq "sh output" "hello" "$out"
expect_eq "sh stderr" "" "$err"

# ---- the profile.d script ---------------------------------------------------
if sh -n "$script"; then ok; else bad "sh -n $script"; fi
if command -v shellcheck >/dev/null; then
        if shellcheck -s sh "$script"; then ok; else bad "shellcheck -s sh $script"; fi
fi

# Interactive shells run as an unprivileged user, in a session of their own
# (no controlling terminal to take over), in a clean environment.
as_user=()
if [ "$(id -u)" = 0 ]; then
        if command -v setpriv >/dev/null; then
                as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
        else
                as_user=(runuser -u nobody --)
        fi
fi
detached=()
command -v setsid >/dev/null && detached=(setsid -w)

# The library as the user can read it (the build tree may be private).
ulib=$lib
if ! "${as_user[@]}" /bin/sh -c 'test -r "$1"' sh "$lib" 2>/dev/null; then
        mkdir -m 755 "$tmp/lib"
        cp "$lib" "$tmp/lib/libds01-gpu-notice.so"
        chmod 644 "$tmp/lib/libds01-gpu-notice.so"
        ulib=$tmp/lib/libds01-gpu-notice.so
fi
uscript=$tmp/ds01-gpu-awareness.sh
cp "$script" "$uscript"
chmod 644 "$uscript"

# PATH folders: the tools the script needs, and a fake ds01 per case.
mkbin() {
        mkdir -m 755 "$tmp/$1"
        ln -s "$(command -v id)" "$tmp/$1/id"
        if command -v timeout >/dev/null; then
                ln -s "$(command -v timeout)" "$tmp/$1/timeout"
        fi
}
fake_ds01() { # fake_ds01 DIR BODY
        printf '#!/bin/sh\n%s\n' "$2" >"$tmp/$1/ds01"
        chmod 755 "$tmp/$1/ds01"
}
mkbin none
mkbin nogrant
fake_ds01 nogrant 'exit 1'
mkbin grant
fake_ds01 grant '[ "$*" = "access status --quiet" ] && exit 0; exit 3'
mkbin slow
fake_ds01 slow "$(command -v sleep) 10; exit 0"
mkbin fakeroot
fake_ds01 fakeroot 'exit 1'
rm "$tmp/fakeroot/id"
printf '#!/bin/sh\necho 0\n' >"$tmp/fakeroot/id"
chmod 755 "$tmp/fakeroot/id"

report='echo "CVD=[${CUDA_VISIBLE_DEVICES-unset}] LDP=[${LD_PRELOAD-unset}] HELPERS=[${_ds01_gpu_rc-}${_ds01_gpu_lib-}]"'
# profile SHELL BIN [VAR=VALUE ...]: source the script (twice) in an interactive
# SHELL with PATH=$tmp/BIN; sets out to the report line (busybox sh -i prints
# a banner on stdout first).
profile() {
        local sh=$1 bin=$2
        shift 2
        # shellcheck disable=SC2086 # $sh is a command with its options
        out=$("${detached[@]}" "${as_user[@]}" env -i PATH="$tmp/$bin" HOME=/ DS01_GPU_NOTICE_LIB="$ulib" "$@" \
                $sh -i -c ". \"\$1\"; . \"\$1\"; $report" sh "$uscript" </dev/null 2>/dev/null |
                grep '^CVD=')
}

shells=("/bin/sh")
[ -x /bin/bash ] && shells+=("/bin/bash --norc --noprofile")
command -v busybox >/dev/null && shells+=("$(command -v busybox) sh")
for sh in "${shells[@]}"; do
        name=${sh%% *}
        [ "$name" = "$(command -v busybox)" ] && name=busybox
        profile "$sh" nogrant
        expect_eq "$name: no grant" "CVD=[] LDP=[$ulib] HELPERS=[]" "$out"
        profile "$sh" nogrant LD_PRELOAD=/opt/other.so CUDA_VISIBLE_DEVICES=0,1
        expect_eq "$name: no grant, LD_PRELOAD and CVD set" "CVD=[] LDP=[$ulib:/opt/other.so] HELPERS=[]" "$out"
        profile "$sh" nogrant LD_PRELOAD="/opt/a.so $ulib"
        expect_eq "$name: no grant, already preloaded" "CVD=[] LDP=[/opt/a.so $ulib] HELPERS=[]" "$out"
        profile "$sh" grant
        expect_eq "$name: grant" "CVD=[unset] LDP=[unset] HELPERS=[]" "$out"
        profile "$sh" grant LD_PRELOAD=/opt/other.so CUDA_VISIBLE_DEVICES=1
        expect_eq "$name: grant keeps the environment" "CVD=[1] LDP=[/opt/other.so] HELPERS=[]" "$out"
        profile "$sh" none
        expect_eq "$name: no ds01 command" "CVD=[unset] LDP=[unset] HELPERS=[]" "$out"
        profile "$sh" nogrant DS01_GPU_AWARENESS=off
        expect_eq "$name: DS01_GPU_AWARENESS=off" "CVD=[unset] LDP=[unset] HELPERS=[]" "$out"
        if [ "$name" != busybox ]; then # its id is a built-in applet, not the PATH one
                profile "$sh" fakeroot
                expect_eq "$name: uid 0 (fake id)" "CVD=[unset] LDP=[unset] HELPERS=[]" "$out"
        fi
        profile "$sh" nogrant DS01_GPU_NOTICE_LIB=/nonexistent/libds01-gpu-notice.so
        expect_eq "$name: no library file" "CVD=[] LDP=[unset] HELPERS=[]" "$out"
        profile "$sh" nogrant DS01_GPU_NOTICE_LIB=lib/libds01-gpu-notice.so
        expect_eq "$name: relative library path" "CVD=[] LDP=[unset] HELPERS=[]" "$out"
        # shellcheck disable=SC2086
        out=$("${detached[@]}" "${as_user[@]}" env -i PATH="$tmp/nogrant" HOME=/ DS01_GPU_NOTICE_LIB="$ulib" \
                $sh -c ". \"\$1\"; $report" sh "$uscript" </dev/null 2>/dev/null)
        expect_eq "$name: non-interactive" "CVD=[unset] LDP=[unset] HELPERS=[]" "$out"
done

if [ "$(id -u)" = 0 ]; then
        out=$("${detached[@]}" env -i PATH="$tmp/nogrant" HOME=/ DS01_GPU_NOTICE_LIB="$ulib" \
                /bin/sh -i -c ". \"\$1\"; $report" sh "$uscript" </dev/null 2>/dev/null)
        expect_eq "root" "CVD=[unset] LDP=[unset] HELPERS=[]" "$out"
fi

if [ -e "$tmp/slow/timeout" ]; then
        start=$SECONDS
        profile /bin/sh slow
        expect_eq "ds01 hangs: no grant after the timeout" "CVD=[] LDP=[$ulib] HELPERS=[]" "$out"
        if [ $((SECONDS - start)) -le 6 ]; then ok; else bad "ds01 hangs: took $((SECONDS - start)) s"; fi
fi

# End to end: a shell without a grant, a CUDA program started from it.
if "${as_user[@]}" /bin/sh -c 'test -x "$1" && test -r "$2"' sh "$probe" "$lib" 2>/dev/null; then
        ln -s "$probe" "$tmp/nogrant/cuda-probe"
        err=$("${detached[@]}" "${as_user[@]}" env -i PATH="$tmp/nogrant" HOME=/ DS01_GPU_NOTICE_LIB="$lib" \
                FAKECUDA_RESULT=100 /bin/sh -i -c '. "$1"; cuda-probe >/dev/null' sh "$uscript" \
                </dev/null 2>&1 | grep -v 'job control')
        expect_eq "end to end: notice once" "$notice" "$err"
fi

echo "preload: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
