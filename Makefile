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

# The main job: a BERT-base-shaped model pruned to 90% in 4-channel blocks, quantized to INT8 with
# calibration, then dense fp32, dense INT8 and sparse INT8 measured in alternating turns.
DEMO_DIR ?= $(BUILD_DIR)/demo
DEMO_TIME ?= 10
demo: build
	@echo "== sparq synth: BERT-base shape, random weights, 90% of every encoder weight zero in 4-channel blocks =="
	./$(BUILD_DIR)/sparq synth --arch bert-base --sparsity 0.9 --pattern block4 --out $(DEMO_DIR)/bert-base-s90-block4
	@echo
	@echo "== sparq quantize: INT8 (attention's products too) with static activations calibrated on 100 sentences =="
	./$(BUILD_DIR)/sparq quantize --model $(DEMO_DIR)/bert-base-s90-block4 --out $(DEMO_DIR)/bert-base-s90-block4-int8 \
	  --calib $(DEMO_DIR)/bert-base-s90-block4/calibration.txt --samples 100 --int8-attention > $(DEMO_DIR)/quantize-report.txt
	@head -n 2 $(DEMO_DIR)/quantize-report.txt; echo "(per-layer errors: $(DEMO_DIR)/quantize-report.txt)"
	@echo
	@echo "== sparq bench: seq 128, batch 1, $(DEMO_TIME) s per variant in 10 alternating turns =="
	./$(BUILD_DIR)/sparq bench --model $(DEMO_DIR)/bert-base-s90-block4 --int8-model $(DEMO_DIR)/bert-base-s90-block4-int8 \
	  --compare fp32-dense,int8-dense,int8-sparse --shape "input_ids[1,128]" --time $(DEMO_TIME)

# sparq against ONNX Runtime on a BERT-base-shaped model (needs the peers: bench/README.md).
bench: build
	bench/compare.py

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
