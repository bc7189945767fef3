#!/usr/bin/env bash
# test-install.sh - installing ds01 the two ways an admin does, for real:
#
#  1. a release build of its own (the release preset, prefix /usr, in a
#     temporary folder: the source tree's build/ is not touched), installed
#     with `cmake --install` into a DESTDIR staging tree: the file list, the
#     binaries run (--version), the man pages are valid roff (groff -ww) and
#     render (man -l), the bash completion loads and completes, the unit file
#     passes `systemd-analyze verify` and its offline security score stays
#     below 5, tmpfiles creates the directories with their modes, logrotate
#     accepts its file (rotating a real file when logrotate is installed);
#  2. scripts/mkdeb on that build: dpkg-deb --info/--contents, conffiles,
#     lintian without errors (warnings printed), then the package really
#     installed with dpkg -i, removed (dpkg -r: configuration kept) and
#     purged (dpkg --purge: nothing left), the machine as it was before.
#
# It never starts or stops a system ds01d (the package does not start one,
# and there is none). It refuses to run where ds01 is installed or any file
# of the package already exists: it would replace or purge them.
#
# Needs root (dpkg -i; exits 77 otherwise). CTest: RESOURCE_LOCK dpkg.
# Usage: test-install.sh SOURCE_DIR
set -uo pipefail

src=$(cd "$1" && pwd)
if [ "$(id -u)" != 0 ]; then
        echo "test-install: needs root (dpkg -i); skipped"
        exit 77
fi

tmp=$(mktemp -d /tmp/ds01-install-test-XXXXXX)
root=$tmp/root
pass=0
fail=0
installed=""

cleanup() {
        # the machine as it was: a package this test installed goes, purged
        if [ -n "$installed" ]; then
                if dpkg-query -W -f='${Status}' ds01 2>/dev/null | grep -q .; then
                        dpkg --purge ds01 >/dev/null 2>&1 </dev/null
                fi
                # none of these existed before (checked below)
                rm -rf /etc/ds01 /var/lib/ds01 /var/log/ds01 /run/ds01
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); }
bad() {
        fail=$((fail + 1))
        echo "FAIL: $*" >&2
}
expect_eq() { if [ "$2" == "$3" ]; then ok; else bad "$1: expected [$2], got [$3]"; fi; }
expect_match() { if [[ $3 =~ $2 ]]; then ok; else bad "$1: [$3] does not match [$2]"; fi; }
# run CMD...: sets out, err, rc
run() {
        out=$("$@" 2>"$tmp/err")
        rc=$?
        err=$(cat "$tmp/err")
}
step() { echo "test-install: $* ($SECONDS s)"; }

version=$(sed -n 's/^project(ds01 VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
[ -n "$version" ] || {
        echo "test-install: no version in $src/CMakeLists.txt" >&2
        exit 1
}

# --- 1. a release build of its own, installed into a staging tree -------------
step "release build in $tmp/build"
if ! (cd "$src" && cmake --preset release -B "$tmp/build" -DCMAKE_INSTALL_PREFIX=/usr \
        -DDS01_SYSCONFDIR=/etc >"$tmp/configure.log" 2>&1 &&
        cmake --build "$tmp/build" -j "$(nproc)" >"$tmp/build.log" 2>&1); then
        cat "$tmp/configure.log" "$tmp/build.log" >&2
        echo "test-install: the release build failed" >&2
        exit 1
fi
run env DESTDIR="$root" cmake --install "$tmp/build"
expect_eq "cmake --install exit" 0 "$rc"

libdir=usr/lib/$(gcc -print-multiarch 2>/dev/null || echo "$arch-linux-gnu")
for f in usr/bin/ds01 usr/sbin/ds01d "$libdir/ds01/libds01-gpu-notice.so" \
        usr/share/man/man1/ds01.1 usr/share/man/man8/ds01d.8 usr/share/man/man5/ds01-config.5 \
        usr/share/bash-completion/completions/ds01 usr/lib/systemd/system/ds01d.service \
        usr/lib/tmpfiles.d/ds01.conf etc/logrotate.d/ds01 etc/profile.d/ds01-docker-host.sh \
        etc/profile.d/ds01-gpu-awareness.sh usr/share/ds01/config/resource-limits.yaml \
        usr/share/ds01/config/groups/student.members usr/share/ds01/docker/daemon.json \
        usr/share/doc/ds01/ADMIN-GUIDE.md usr/share/doc/ds01/USER-GUIDE.md; do
        if [ -f "$root/$f" ] && [ -s "$root/$f" ]; then ok; else bad "not installed (or empty): /$f"; fi
done
# nothing outside /usr and the two /etc folders; no configuration in /etc/ds01
# (that is make install's or the package's business, not cmake --install's)
stray=$(cd "$root" && find . -type f | sed 's|^\./||' | grep -vE '^(usr/|etc/profile\.d/|etc/logrotate\.d/)')
expect_eq "files outside /usr, /etc/profile.d, /etc/logrotate.d" "" "$stray"
expect_eq "executables" "-rwxr-xr-x -rwxr-xr-x" \
        "$(stat -c %A "$root/usr/bin/ds01" "$root/usr/sbin/ds01d" | paste -sd' ')"

run "$root/usr/bin/ds01" --version
expect_eq "ds01 --version" "ds01 $version" "$out"
run "$root/usr/sbin/ds01d" --version
expect_eq "ds01d --version" "ds01d $version" "$out"
run "$root/usr/bin/ds01" help
expect_match "installed ds01 help lists topics" "Help topics" "$out"
syms=$(nm -D --defined-only "$root/$libdir/ds01/libds01-gpu-notice.so" | awk '{print $3}' | sort | paste -sd' ')
expect_eq "preload library exports" "cuInit cudaGetDeviceCount" "$syms"
# the awareness script names the library where this build installs it
expect_match "awareness script library path" "/$libdir/ds01/libds01-gpu-notice.so" \
        "$(cat "$root/etc/profile.d/ds01-gpu-awareness.sh")"
for f in "$root"/etc/profile.d/ds01-*.sh; do
        if sh -n "$f"; then ok; else bad "sh -n $f"; fi
done

# --- man pages: roff that groff reads without a warning, and man renders -------
for page in man1/ds01.1 man8/ds01d.8 man5/ds01-config.5; do
        f=$root/usr/share/man/$page
        name=$(basename "$page")
        name=${name%.*}
        expect_match "$page has .TH" "^\.TH \"?$name\"? \"?${page:3:1}" "$(grep -m1 '^\.TH' "$f")"
        run groff -man -Tutf8 -ww -z "$f"
        expect_eq "groff -ww $page: exit" 0 "$rc"
        expect_eq "groff -ww $page: warnings" "" "$err"
        run env MANWIDTH=80 man -l "$f"
        expect_eq "man -l $page: exit" 0 "$rc"
        expect_match "man -l $page: NAME section" $'NAME\n +'"$name - " "$out"
        if [ "$(wc -l <<<"$out")" -ge 40 ]; then ok; else bad "man -l $page: short ($out)"; fi
done

# --- bash completion: loads without the bash-completion package and completes --
cat >"$tmp/comp.sh" <<EOF
set -u
PATH=$root/usr/bin:\$PATH
source $root/usr/share/bash-completion/completions/ds01
complete -p ds01
t() {
        COMP_WORDS=("\$@"); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=()
        _ds01
        echo "\${COMPREPLY[*]}"
}
t ds01 con
t ds01 help gp
t ds01 gpu u
t ds01 container create --gp
EOF
run bash "$tmp/comp.sh"
expect_eq "completion: no errors" "" "$err"
expect_eq "completion" "complete -F _ds01 ds01
config container
gpus gpu
user-status
--gpus" "$out"

# --- the systemd unit ------------------------------------------------------------
unit=$root/usr/lib/systemd/system/ds01d.service
expect_eq "ExecStart" "ExecStart=/usr/sbin/ds01d --foreground" "$(grep '^ExecStart=' "$unit")"
for key in Type=notify WatchdogSec= Restart=on-failure 'ExecReload=/bin/kill -HUP $MAINPID' \
        NoNewPrivileges=yes ProtectSystem=strict ProtectHome=read-only PrivateTmp=yes \
        'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK' StateDirectory=ds01 \
        LogsDirectory=ds01 RuntimeDirectory=ds01; do
        if grep -qF -- "$key" "$unit"; then ok; else bad "unit lacks $key"; fi
done
# what would break ds01d (docs in the unit): none of these
for key in PrivateDevices=yes ProtectControlGroups=yes ProtectProc=invisible DevicePolicy= \
        PrivateUsers=yes ProtectClock=yes; do
        if grep -q "^$key" "$unit"; then bad "unit sets $key, which breaks ds01d"; else ok; fi
done
if command -v systemd-analyze >/dev/null; then
        # verify needs the binary at ExecStart and finds man pages through man(1)
        sed "s|^ExecStart=/usr/sbin/ds01d|ExecStart=$root/usr/sbin/ds01d|" "$unit" >"$tmp/ds01d.service"
        run env MANPATH="$root/usr/share/man" systemd-analyze verify "$tmp/ds01d.service"
        expect_eq "systemd-analyze verify: exit" 0 "$rc"
        expect_eq "systemd-analyze verify: output" "" "$out$err"
        run systemd-analyze security --offline=true "$unit"
        score=$(sed -n 's/.*Overall exposure level for ds01d.service: \([0-9.]*\).*/\1/p' <<<"$out")
        echo "test-install: systemd-analyze security --offline=true: exposure ${score:-?}"
        if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s < 5.0) }'; then ok; else
                bad "security exposure ${score:-unknown} (want < 5.0): $err"
        fi
        run systemd-tmpfiles --root="$tmp/tmpfiles" --create "$root/usr/lib/tmpfiles.d/ds01.conf"
        expect_eq "systemd-tmpfiles --create exit" 0 "$rc"
        expect_eq "tmpfiles: modes" "755 700 750" \
                "$(stat -c %a "$tmp/tmpfiles/run/ds01" "$tmp/tmpfiles/var/lib/ds01" \
                        "$tmp/tmpfiles/var/log/ds01" 2>&1 | paste -sd' ')"
else
        bad "systemd-analyze is not installed (apt-get install systemd)"
fi

# --- logrotate ------------------------------------------------------------------------
lr=$root/etc/logrotate.d/ds01
for key in daily 'rotate 30' compress delaycompress missingok notifempty; do
        if sed -n '/events.jsonl {/,/}/p' "$lr" | grep -qx $'\t'"$key"; then ok; else
                bad "logrotate: events.jsonl lacks '$key'"
        fi
done
if command -v logrotate >/dev/null; then
        mkdir -p "$tmp/log"
        sed -e "s|/var/log/ds01|$tmp/log|g" -e '/^\tcreate /d' "$lr" >"$tmp/logrotate.conf"
        echo '{"event":"test"}' >"$tmp/log/events.jsonl"
        run logrotate -f -s "$tmp/logrotate.state" "$tmp/logrotate.conf"
        expect_eq "logrotate -f exit" 0 "$rc"
        rotated=$(ls "$tmp/log" | grep -c '^events\.jsonl-[0-9]\{8\}$')
        expect_eq "logrotate rotated events.jsonl" 1 "$rotated"
fi

# --- 2. the Debian package ------------------------------------------------------
step "scripts/mkdeb"
run "$src/scripts/mkdeb" "$tmp/build" "$tmp/out"
expect_eq "mkdeb exit" 0 "$rc"
[ "$rc" = 0 ] || echo "$err" >&2
deb=$tmp/out/ds01_${version}_${arch}.deb
expect_eq "mkdeb prints the package" "$deb" "$(tail -n1 <<<"$out")"
if [ ! -f "$deb" ]; then
        echo "test-install: $pass passed, $((fail + 1)) failed (no package)"
        exit 1
fi
run dpkg-deb --info "$deb"
info=$out
expect_match "control: Package" $'\n'" Package: ds01"$'\n' "$info"
expect_match "control: Version" $'\n'" Version: $version"$'\n' "$info"
expect_match "control: Architecture" $'\n'" Architecture: $arch"$'\n' "$info"
expect_match "control: Depends from the libraries" $'\n'" Depends: .*libc6 \(>= [0-9.]+\).*libsqlite3-0.*libyaml-0-2" "$info"
for s in postinst prerm postrm conffiles md5sums; do
        expect_match "control archive has $s" " $s " "$info"
done
conffiles=$(dpkg-deb -I "$deb" conffiles)
expect_eq "conffiles" "/etc/ds01/groups/admin.members
/etc/ds01/groups/faculty.members
/etc/ds01/groups/researcher.members
/etc/ds01/groups/student.members
/etc/ds01/lifecycle-exemptions.yaml
/etc/ds01/resource-limits.yaml
/etc/ds01/user-overrides.yaml
/etc/logrotate.d/ds01
/etc/profile.d/ds01-docker-host.sh
/etc/profile.d/ds01-gpu-awareness.sh" "$conffiles"
contents=$(dpkg-deb --contents "$deb")
files=$(awk '$1 !~ /^d/ { print substr($6, 2) }' <<<"$contents" | sort)
for f in /usr/bin/ds01 /usr/sbin/ds01d /usr/share/man/man1/ds01.1.gz /usr/share/man/man8/ds01d.8.gz \
        /usr/share/man/man5/ds01-config.5.gz /usr/share/doc/ds01/copyright \
        /usr/share/doc/ds01/changelog.gz /usr/lib/systemd/system/ds01d.service; do
        if grep -qx -- "$f" <<<"$files"; then ok; else bad "package lacks $f"; fi
done
expect_eq "every entry root:root" "" "$(awk '$2 != "root/root"' <<<"$contents")"
if command -v lintian >/dev/null; then
        run lintian --info "$deb"
        tags=$(grep -E '^[EWIP]: ' <<<"$out" || true)
        echo "test-install: lintian says:"
        sed 's/^/    /' <<<"${tags:-(nothing)}"
        expect_eq "lintian errors" "" "$(grep '^E: ' <<<"$tags")"
else
        bad "lintian is not installed (apt-get install lintian)"
fi

# --- really install, remove and purge -------------------------------------------
step "dpkg -i"
if dpkg-query -W -f='${Status}' ds01 2>/dev/null | grep -q .; then
        echo "test-install: the package ds01 is known to dpkg on this machine; not touching it" >&2
        exit 1
fi
present=""
for f in $files /etc/ds01 /var/lib/ds01 /var/log/ds01 /run/ds01; do
        [ -e "$f" ] && present="$present $f"
done
if [ -n "$present" ]; then
        echo "test-install: these exist already, the package would replace or purge them:$present" >&2
        exit 1
fi

# dpkg's lock may be held by another test's apt-get for a while: wait for it
dpkg_do() {
        local deadline=$((SECONDS + 120))
        while :; do
                dpkg --force-confdef --force-confold "$@" </dev/null >"$tmp/dpkg.out" 2>&1 && return 0
                grep -q 'lock' "$tmp/dpkg.out" && [ $SECONDS -lt $deadline ] || {
                        cat "$tmp/dpkg.out" >&2
                        return 1
                }
                sleep 1
        done
}
installed=yes
if dpkg_do -i "$deb"; then ok; else bad "dpkg -i failed"; fi
expect_eq "dpkg status after -i" "install ok installed" "$(dpkg-query -W -f='${Status}' ds01 2>&1)"
expect_match "postinst says it did not start ds01d" "installed, not started" "$(cat "$tmp/dpkg.out")"
for f in $files; do
        [ -e "$f" ] || bad "installed package lacks $f"
done
ok
expect_eq "dpkg -L lists the files" "$files" "$(dpkg -L ds01 | while read -r p; do [ -d "$p" ] || echo "$p"; done | sort)"
run /usr/bin/ds01 --version
expect_eq "installed ds01 --version" "ds01 $version" "$out"
run /usr/sbin/ds01d --version
expect_eq "installed ds01d --version" "ds01d $version" "$out"
run man -w ds01d
expect_eq "man finds ds01d(8)" "/usr/share/man/man8/ds01d.8.gz" "$out"
run /usr/bin/ds01 config check /etc/ds01/resource-limits.yaml
expect_eq "the installed configuration is valid" 0 "$rc"
expect_eq "directories from tmpfiles" "755 700 750" \
        "$(stat -c %a /run/ds01 /var/lib/ds01 /var/log/ds01 2>&1 | paste -sd' ')"
if command -v systemd-analyze >/dev/null; then
        run systemd-analyze verify /usr/lib/systemd/system/ds01d.service
        expect_eq "systemd-analyze verify (installed)" "0:" "$rc:$out$err"
fi
expect_eq "ds01d not started by the package" "" "$(for p in $(pgrep -x ds01d); do
        [ "$(readlink "/proc/$p/exe")" = /usr/sbin/ds01d ] && echo "$p"; done)"

# what ds01d would have written, and a file of an old DS01 installation
touch /var/lib/ds01/state.db /var/lib/ds01/state.db-wal /var/lib/ds01/ds01d.lock \
        /var/log/ds01/events.jsonl /var/log/ds01/events.jsonl-20261101.gz /var/log/ds01/ds01d.log \
        /var/log/ds01/old-ds01.log

step "dpkg -r"
if dpkg_do -r ds01; then ok; else bad "dpkg -r failed"; fi
expect_eq "dpkg status after -r" "deinstall ok config-files" "$(dpkg-query -W -f='${Status}' ds01 2>&1)"
for f in /usr/bin/ds01 /usr/sbin/ds01d /usr/lib/systemd/system/ds01d.service; do
        if [ -e "$f" ]; then bad "$f is still there after dpkg -r"; else ok; fi
done
if [ -f /etc/ds01/resource-limits.yaml ]; then ok; else bad "dpkg -r removed the configuration"; fi
expect_eq "dpkg -r keeps the state" "state.db" "$(ls /var/lib/ds01 | grep -x state.db)"

step "dpkg --purge"
if dpkg_do --purge ds01; then ok; else bad "dpkg --purge failed"; fi
expect_eq "dpkg status after --purge" "" "$(dpkg-query -W -f='${Status}' ds01 2>/dev/null)"
run dpkg -L ds01
if [ "$rc" != 0 ]; then ok; else bad "dpkg -L ds01 still lists files"; fi
# purge removes what ds01 wrote, not the old installation's file
expect_eq "purge keeps foreign files in /var/log/ds01" "old-ds01.log" "$(ls -A /var/log/ds01 2>&1)"
rm -f /var/log/ds01/old-ds01.log
rmdir /var/log/ds01
left=""
for f in $files /etc/ds01 /var/lib/ds01 /var/log/ds01 /run/ds01 /usr/share/doc/ds01 /usr/share/ds01 \
        "/$libdir/ds01"; do
        [ -e "$f" ] && left="$left $f"
done
expect_eq "nothing left after purge" "" "$left"
installed=""

echo "test-install: $pass passed, $fail failed ($SECONDS s)"
[ "$fail" -eq 0 ]
