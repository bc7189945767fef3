# ds01 — top-level entry points. The build itself is CMake (CMakePresets.json).
#   make            build (dev preset)
#   make run        install packages, build, start ds01d on the demo config (fake GPUs
#                   without a driver) and show the status; make stop ends it
#   make check      every test: dev build, asan build, fuzz corpora, clang-format
#   make install    PREFIX=/usr/local DESTDIR= (config goes to /etc/ds01 only if absent)
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS (default 60)
#   make format     clang-format -i on src/ and tests/
#   make bench      build and run the benchmarks in bench/ (figures, never fails)

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_CONFIG := deploy/config/resource-limits.yaml
DEMO_USERS := alice h.baker@hertie-school.lan bob carol dave erin newcomer

.PHONY: all build run stop check install fuzz format clean deps release bench

all: build

deps:
	@scripts/install-deps

build:
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

# `make run`: ds01d on the demo configuration, with its state under build/demo/
# (SQLite, sockets, events.jsonl); the fake GPU topology the tests use when
# there is no NVIDIA driver. It keeps running; `make stop` ends it.
DEMO := $(CURDIR)/build/demo
DEMO_SOCKET := $(DEMO)/run/ds01.sock
FAKE_NVML := DS01_NVML_LIBRARY=$(CURDIR)/build/dev/tests/fakenvml/libfakenvml.so \
	DS01_FAKENVML_TOPOLOGY=$(CURDIR)/tests/fixtures/topology/a100x4-mixed.yaml

run: deps build stop
	@mkdir -p $(DEMO)
	@build/dev/src/cli/ds01 config check $(DEMO_CONFIG)
	@if ldconfig -p 2>/dev/null | grep -q 'libnvidia-ml\.so\.1'; then nvml=; \
	else echo "(no NVIDIA driver here: the fake topology tests/fixtures/topology/a100x4-mixed.yaml)"; \
		nvml='$(FAKE_NVML)'; fi; \
	env $$nvml build/dev/src/daemon/ds01d --config $(DEMO_CONFIG) --state-dir $(DEMO)/state \
		--run-dir $(DEMO)/run --log-dir $(DEMO)/log --listen 127.0.0.1:0 \
		|| { echo "ds01d did not start; see the lines above"; exit 1; }; \
	echo; echo "=== ds01 gpu list"; env $$nvml build/dev/src/cli/ds01 gpu list
	@echo; echo "=== ds01 gpu status"
	@build/dev/src/cli/ds01 --socket $(DEMO_SOCKET) gpu status
	@echo; echo "=== ds01 gpu allocate alice demo-notebook (as an admin tool would)"
	@build/dev/src/cli/ds01 --socket $(DEMO_SOCKET) gpu allocate alice demo-notebook || true
	@build/dev/src/cli/ds01 --socket $(DEMO_SOCKET) gpu user-status alice || true
	@echo; echo "=== ds01 events --limit 5"
	@build/dev/src/cli/ds01 --socket $(DEMO_SOCKET) events --limit 5 || true
	@echo; echo "=== ds01 limits (demo users)"
	@for u in $(DEMO_USERS); do \
		echo; echo "--- ds01 limits $$u"; \
		build/dev/src/cli/ds01 --config $(DEMO_CONFIG) limits "$$u" || exit 1; \
	done
	@echo
	@echo "ds01d is running (pid $$(cat $(DEMO)/run/ds01d.pid), web/health on 127.0.0.1:$$(cat $(DEMO)/run/ds01d.port))."
	@echo "Try: build/dev/src/cli/ds01 --socket $(DEMO_SOCKET) gpu status     Stop it: make stop"
	@echo "Docker through ds01's proxy: docker -H unix://$(DEMO)/run/docker.sock ps   (docs/USER-GUIDE.md)"

stop:
	@if [ -f $(DEMO)/run/ds01d.pid ]; then \
		pid=$$(cat $(DEMO)/run/ds01d.pid); kill $$pid 2>/dev/null; \
		while kill -0 $$pid 2>/dev/null; do sleep 0.1; done; echo "ds01d (pid $$pid) stopped"; \
	fi

check:
	@scripts/check

bench: build
	@DS01_NVML_LIBRARY=$(CURDIR)/build/dev/tests/fakenvml/libfakenvml.so \
	 DS01_FAKENVML_TOPOLOGY=$(CURDIR)/tests/fixtures/topology/h100x8-mig.yaml \
	 build/dev/bench/bench-gpu-sample

release:
	@cmake --preset release -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DDS01_SYSCONFDIR=$(SYSCONFDIR) >/dev/null
	@cmake --build --preset release -j $(JOBS)

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

fuzz:
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@for f in build/fuzz/tests/fuzz-*; do \
		name=$$(basename $$f); corpus=tests/fuzz/corpus/$${name#fuzz-}; \
		mkdir -p build/fuzz/corpus-$$name; \
		echo "=== $$name for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			build/fuzz/corpus-$$name $$corpus || exit 1; \
	done

format:
	@clang-format -i $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]')

clean:
	@rm -rf build
