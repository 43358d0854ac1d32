# sparq: the README's two commands (`make demo`, `make test`) and a few helpers. The build is
# CMake; this file only installs what is missing (Debian, as root), configures and calls it.

SHELL := /bin/bash
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
SHARED ?= ../shared
JOBS ?= $(shell nproc)
CTEST_JOBS ?= $(JOBS)

# What building and testing need; benchmarks against peers have their own set-up (bench/README.md).
DEB_PACKAGES := cmake make g++ nlohmann-json3-dev libcli11-dev libfmt-dev libgtest-dev libgmock-dev \
                binutils

CMAKE_ARGS := -DSPARQ_SHARED_DIR=$(abspath $(SHARED))

.PHONY: all deps build test test-release test-asan demo bench format format-check clean

all: build

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "sparq: missing Debian packages:$$missing; run 'make' as root or install them" >&2; exit 1; \
	  fi; \
	  echo "sparq: installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

test-release: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(CTEST_JOBS)

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer, in its own build tree.
test-asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPARQ_SANITIZE=ON -DSPARQ_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(ASAN_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure -j $(CTEST_JOBS) -LE no-sanitizer

test: test-release test-asan

demo: build
	@echo "== sparq inspect =="
	./$(BUILD_DIR)/sparq inspect --model $(SHARED)/models/synthetic/tiny
	@echo
	@echo "== sparq run raw (the golden inputs of the same model) =="
	./$(BUILD_DIR)/sparq run raw --model $(SHARED)/models/synthetic/tiny --input $(SHARED)/models/synthetic/tiny/golden.json

# sparq against ONNX Runtime on a BERT-base-shaped model (needs the peers: bench/README.md).
bench: build
	bench/compare.py

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
