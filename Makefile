# ds01 — top-level entry points. The build itself is CMake (CMakePresets.json).
#   make            build (dev preset)
#   make run        install packages, build, show the demo configuration's limits
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

.PHONY: all build run check install fuzz format clean deps release bench

all: build

deps:
	@scripts/install-deps

build:
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

# Without an NVIDIA driver, `make run` shows the fake GPU topology the tests use.
FAKE_NVML := DS01_NVML_LIBRARY=$(CURDIR)/build/dev/tests/fakenvml/libfakenvml.so \
	DS01_FAKENVML_TOPOLOGY=$(CURDIR)/tests/fixtures/topology/a100x4-mixed.yaml

run: deps build
	@echo "=== ds01 gpu list"
	@if ldconfig -p 2>/dev/null | grep -q 'libnvidia-ml\.so\.1'; then \
		build/dev/src/cli/ds01 gpu list; \
	else \
		echo "(no NVIDIA driver here: the fake topology tests/fixtures/topology/a100x4-mixed.yaml)"; \
		$(FAKE_NVML) build/dev/src/cli/ds01 gpu list; \
	fi
	@echo
	@build/dev/src/cli/ds01 config check $(DEMO_CONFIG)
	@for u in $(DEMO_USERS); do \
		echo; echo "=== ds01 limits $$u"; \
		build/dev/src/cli/ds01 --config $(DEMO_CONFIG) limits "$$u" || exit 1; \
		echo "--- docker args:"; \
		build/dev/src/cli/ds01 --config $(DEMO_CONFIG) limits "$$u" --docker-args || exit 1; \
	done

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
