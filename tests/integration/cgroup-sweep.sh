#!/usr/bin/env bash
# cgroup-sweep.sh - CTest fixture cleanup after the integration tests (every
# test labelled integration requires the fixture "test-users"): removes the
# per-user cgroups ds01d made (cgroupfs driver, <root>/<controller>/ds01/
# <group>/<user>, and <root>/ds01/... on cgroup v2) for test users that no
# longer exist. The tests delete their users, but ds01d keeps a user's cgroup
# for the user's next container, and each run would leave a few hundred
# behind. Only names of the tests' users (ds01...) whose user is gone are
# touched, deepest first; a cgroup that still holds a process is a container
# a test left running: it is named and the sweep fails.
#
# Usage: cgroup-sweep.sh   (as root; DS01_CGROUP_ROOT overrides /sys/fs/cgroup)
set -u
root=${DS01_CGROUP_ROOT:-/sys/fs/cgroup}
if [ "$(id -u)" -ne 0 ] || [ ! -d "$root" ]; then
        echo "cgroup-sweep: nothing to do (not root, or no $root)"
        exit 0
fi
# the cgroup names of the users that exist (ds01d's sanitized names: . and - become _)
declare -A existing=()
while IFS=: read -r name _; do
        existing[${name//[.-]/_}]=1
done < <(getent passwd)

shopt -s nullglob
removed=0 busy=()
for d in "$root"/*/ds01/*/ds01* "$root"/ds01/*/ds01*; do
        [ -d "$d" ] || continue
        [ -n "${existing[${d##*/}]:-}" ] && continue
        find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
        if [ -d "$d" ]; then busy+=("$d"); else removed=$((removed + 1)); fi
done
echo "cgroup-sweep: removed $removed cgroups of deleted test users"
if [ ${#busy[@]} -gt 0 ]; then
        echo "cgroup-sweep: ${#busy[@]} still hold processes (a container a test left running?): ${busy[*]:0:5}" >&2
        exit 1
fi
exit 0
