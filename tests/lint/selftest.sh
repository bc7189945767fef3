#!/usr/bin/env bash
# selftest.sh SRC BUILD - `make lint` catches what it exists to catch: planted
# defects, outside the tree, run through the project's own settings.
#   memcheck    a leaking and an uninitialised-reading unit test in a small
#               CMake project with this build's valgrind options and
#               tests/valgrind.supp: scripts/lint memcheck fails and names it;
#               a clean one passes
#   clang-tidy  .clang-tidy finds a use after free and a sizeof(pointer)
#               allocation; a clean file gives nothing
#   cppcheck    scripts/lint's options find a leak and an out-of-bounds write
# Ends with "lint-selftest: N passed, N failed".
set -uo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
tmp=$(mktemp -d /tmp/ds01-lint-selftest-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
        fail=$((fail + 1))
        echo "FAIL: $*" >&2
}
expect_match() { if [[ $3 =~ $2 ]]; then ok; else bad "$1: [$3] does not match [$2]"; fi; }

for t in valgrind clang-tidy cppcheck jq; do
        command -v "$t" >/dev/null || bad "$t is not installed (scripts/install-deps)"
done
[ "$fail" -eq 0 ] || {
        echo "lint-selftest: $pass passed, $fail failed"
        exit 1
}

# ---- memcheck: the build's own valgrind settings, through scripts/lint ----
dart=$build/DartConfiguration.tcl
opts=$(sed -n 's/^MemoryCheckCommandOptions: //p' "$dart")
supp=$(sed -n 's/^MemoryCheckSuppressionFile: //p' "$dart")
expect_match "valgrind options in $dart" 'errors-for-leak-kinds=definite,indirect' "$opts"
expect_match "suppressions in $dart" 'tests/valgrind.supp$' "$supp"

mkdir -p "$tmp/mc"
cat >"$tmp/mc/leak.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
int main(void)
{
        char *p = malloc(100);
        if (!p)
                return 0;
        memset(p, 'x', 100);
        p = NULL; /* 100 bytes definitely lost */
        return p != NULL;
}
EOF
cat >"$tmp/mc/uninit.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
        int *v = malloc(4 * sizeof(*v));
        int r = 0;
        if (!v)
                return 0;
        if (v[2] > 0) /* read before any write */
                r = puts("positive") < 0;
        free(v);
        return r;
}
EOF
cat >"$tmp/mc/tidy.c" <<'EOF'
#include <stdlib.h>
int main(void)
{
        free(malloc(100));
        return 0;
}
EOF
cat >"$tmp/mc/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(lintselftest C)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
find_program(MEMORYCHECK_COMMAND valgrind)
set(MEMORYCHECK_COMMAND_OPTIONS "$opts")
set(MEMORYCHECK_SUPPRESSIONS_FILE "$supp")
set_property(GLOBAL PROPERTY CTEST_TARGETS_ADDED 1)
include(CTest)
foreach(t \${TESTS})
  add_executable(\${t} \${t}.c)
  target_compile_options(\${t} PRIVATE -O0 -g)
  add_test(NAME \${t} COMMAND \${t})
  set_tests_properties(\${t} PROPERTIES LABELS unit)
endforeach()
EOF
# memcheck_of TESTS: scripts/lint memcheck's output on a build of those tests.
memcheck_of() {
        rm -rf "$tmp/mc/b"
        cmake -S "$tmp/mc" -B "$tmp/mc/b" -DTESTS="$1" >/dev/null || return
        DS01_LINT_BUILD=$tmp/mc/b "$src/scripts/lint" memcheck 2>&1
        echo "exit=$?"
}
out=$(memcheck_of "tidy")
expect_match "memcheck, a clean test" 'lint: memcheck: ok, 1 unit tests under valgrind, 0 defects.*exit=0' "$out"
out=$(memcheck_of "tidy;leak;uninit")
expect_match "memcheck, leak and uninit" 'lint: memcheck: 2 tests with defects, 2 of 3 failed.*exit=1' "$out"
expect_match "memcheck names the leak" '100 bytes in 1 blocks are definitely lost' "$out"
expect_match "memcheck names the read" 'Conditional jump or move depends on uninitialised value' "$out"

# ---- clang-tidy with the project's .clang-tidy ----
cat >"$tmp/bad-tidy.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
struct pair { int a, b; };
int bad(void);
int bad(void)
{
        struct pair *p = malloc(sizeof(p)); /* the pointer's size */
        int r;
        if (!p)
                return -1;
        p->a = 1;
        free(p);
        r = p->a; /* use after free */
        return r;
}
EOF
cat >"$tmp/good-tidy.c" <<'EOF'
#include <stdlib.h>
int good(void);
int good(void)
{
        int *p = malloc(sizeof(*p));
        int r;
        if (!p)
                return -1;
        *p = 1;
        r = *p;
        free(p);
        return r;
}
EOF
out=$(clang-tidy --quiet --config-file="$src/.clang-tidy" "$tmp/bad-tidy.c" -- -std=gnu17 2>&1)
expect_match "clang-tidy fails on planted bugs" 'error' "$out"
expect_match "clang-tidy: use after free" 'Use of memory after it is freed \[clang-analyzer-unix.Malloc' "$out"
expect_match "clang-tidy: sizeof(pointer)" '\[bugprone-sizeof-expression' "$out"
if clang-tidy --quiet --config-file="$src/.clang-tidy" "$tmp/good-tidy.c" -- -std=gnu17 >/dev/null 2>&1; then
        ok
else
        bad "clang-tidy fails on a clean file"
fi

# ---- cppcheck with scripts/lint's options ----
cat >"$tmp/bad-cpp.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
int bad(int x);
int bad(int x)
{
        char buf[8];
        char *p = malloc(16);
        if (!p)
                return -1;
        if (x)
                return 1; /* p leaks */
        buf[8] = 0;       /* one past the end */
        free(p);
        return buf[0];
}
EOF
out=$(cd "$src" && cppcheck --quiet --inline-suppr --enable=warning,performance,portability \
        --library=posix --library=tests/cppcheck.cfg --suppressions-list=tests/cppcheck.supp \
        --template='{file}:{line}: {severity}: {message} [{id}]' --error-exitcode=1 \
        "$tmp/bad-cpp.c" 2>&1; echo "exit=$?")
expect_match "cppcheck: leak" 'Memory leak: p \[memleak\]' "$out"
expect_match "cppcheck: out of bounds" '\[arrayIndexOutOfBounds\]' "$out"
expect_match "cppcheck exit status" 'exit=1' "$out"

echo "lint-selftest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
