# ds01 — top-level entry points. The build itself is CMake (CMakePresets.json).
#   make            build (dev preset)
#   make run        install packages, build, run the demo in the foreground: ds01d on the
#                   demo config (fake GPUs without a driver), two users' containers through
#                   the proxy, the dashboard URL and ds01 status; Ctrl-C ends it all
#   make check      every test: dev build, lint, asan build, fuzz corpora, clang-format
#   make lint       clang-tidy, cppcheck and the unit tests under valgrind on the dev
#                   build (scripts/lint; also part of make check)
#   make install    PREFIX=/usr/local DESTDIR= (config goes to /etc/ds01 only if absent)
#   make deb        build/ds01_<version>_<arch>.deb (scripts/mkdeb; docs/ADMIN-GUIDE.md)
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS (default 60)
#   make fuzz-merge add what `make fuzz` found to tests/fuzz/corpus/ (kept small)
#   make format     clang-format -i on src/ and tests/
#   make bench      build and run every benchmark in bench/ and the 30-min soak
#                   (SOAK_MINUTES=0 skips it); regenerates docs/PERFORMANCE.md

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build run stop check lint install deb fuzz fuzz-merge fuzz-build format clean deps release bench soak

all: build

deps:
	@scripts/install-deps

build:
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

# `make run`: scripts/demo after the packages and the build: ds01d on the demo
# configuration (deploy/config/) with its state under build/demo/, the fake
# a100x4-mixed topology when there is no NVIDIA driver, dockerd started when
# none runs, two demo users' containers made through ds01's proxy, the
# dashboard URL and `ds01 status`. It stays in the foreground; Ctrl-C stops
# and removes everything it started. `make stop` ends a ds01d left over from
# an older `make run` that went to the background.
DEMO := $(CURDIR)/build/demo

run: deps build stop
	@scripts/demo

stop:
	@for f in $(DEMO)/run/ds01d.pid /run/ds01-demo/ds01d.pid; do \
		[ -f $$f ] || continue; pid=$$(cat $$f); kill $$pid 2>/dev/null || continue; \
		while kill -0 $$pid 2>/dev/null; do sleep 0.1; done; echo "ds01d (pid $$pid) stopped"; \
	done

check:
	@scripts/check

lint:
	@scripts/lint

# `make bench`: bench/run-all builds what the benchmarks need and runs them all
# on this machine (as root: they start ds01d, containers and users): GPU
# reading, allocation, metrics, proxy, lifecycle (~10 min on 2 CPUs), then the
# soak for SOAK_MINUTES (0 skips it and keeps the last result); it rewrites the
# measured parts of docs/PERFORMANCE.md. Figures only: it never fails.
# `make soak` runs the soak alone (its figures: build/bench/soak.json).
SOAK_MINUTES ?= 30

bench: build
	@SOAK_MINUTES=$(SOAK_MINUTES) bench/run-all build/dev || true

soak: build
	@mkdir -p build/bench; SOAK_MINUTES=$(SOAK_MINUTES) bench/soak build/dev | tee build/bench/soak.txt || true

release:
	@cmake --preset release -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DDS01_SYSCONFDIR=$(SYSCONFDIR) >/dev/null
	@cmake --build --preset release -j $(JOBS)

# `make install`: ds01, ds01d, the preload library, man pages, bash completion,
# the systemd unit (${PREFIX}/lib/systemd/system, ExecStart naming this
# PREFIX), tmpfiles.d, and under SYSCONFDIR logrotate.d and profile.d; then the
# example configuration in SYSCONFDIR/ds01 unless one is there. Nothing is
# started: `systemctl daemon-reload && systemctl enable --now ds01d`.
install: release
	@DESTDIR=$(DESTDIR) cmake --install build/release
	@if [ -e "$(DESTDIR)$(SYSCONFDIR)/ds01/resource-limits.yaml" ]; then \
		echo "install: $(DESTDIR)$(SYSCONFDIR)/ds01/resource-limits.yaml exists; left as it is"; \
	else \
		install -d -m 0755 "$(DESTDIR)$(SYSCONFDIR)/ds01/groups"; \
		install -m 0644 deploy/config/*.yaml "$(DESTDIR)$(SYSCONFDIR)/ds01/"; \
		install -m 0644 deploy/config/groups/*.members "$(DESTDIR)$(SYSCONFDIR)/ds01/groups/"; \
		echo "install: example configuration put in $(DESTDIR)$(SYSCONFDIR)/ds01/"; \
	fi

# `make deb`: the release build for /usr, packaged by scripts/mkdeb as
# build/ds01_<version>_<arch>.deb (installs nothing on this machine).
deb:
	@cmake --preset release -DCMAKE_INSTALL_PREFIX=/usr -DDS01_SYSCONFDIR=/etc >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@scripts/mkdeb build/release build

# `make fuzz`: every libFuzzer target (tests/fuzz, clang) for FUZZ_SECONDS each,
# one after the other (FUZZ_TARGETS="units config" for some only). Working
# corpora in build/fuzz/corpus-<target>, logs in build/fuzz/<target>.log,
# crash inputs in build/fuzz/crashes-<target>/; one summary line per target;
# fails when a crash was found. `make fuzz-merge` then adds what the runs found
# to tests/fuzz/corpus/ (kept small for the replay in make check).
FUZZ_TARGETS ?=
fuzz: fuzz-build
	@tests/fuzz/run-fuzz.sh run build/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-merge: fuzz-build
	@tests/fuzz/run-fuzz.sh merge build/fuzz $(FUZZ_TARGETS)

fuzz-build:
	@cmake --preset fuzz >/dev/null
	@echo "fuzz: building the libFuzzer targets (build/fuzz, log build/fuzz/build.log)"
	@cmake --build --preset fuzz -j $(JOBS) --target ds01-fuzzers >build/fuzz/build.log 2>&1 || \
		{ tail -n 40 build/fuzz/build.log; exit 1; }

format:
	@clang-format -i $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]')

clean:
	@rm -rf build
