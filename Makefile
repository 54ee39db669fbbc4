# Fresh machine: `make demo` (build, render a synthetic match, analyse it, print the summary) and
# `make test` (the whole suite). Both install what they need: Debian's ffmpeg, the ONNX Runtime library
# from the PyPI wheel, and the Python tools the tests use.

SHELL := /bin/bash
CARGO ?= cargo
ORT_VERSION := 1.31.1
ORT_DIR := .cache/onnxruntime
ORT_LIB := $(ORT_DIR)/libonnxruntime.so.$(ORT_VERSION)
VENV := .venv
TARGET := $(or $(CARGO_TARGET_DIR),target)
BIN := $(TARGET)/release/tacticeye
DEMO := .cache/demo

export ORT_DYLIB_PATH := $(abspath $(ORT_LIB))
export TACTICEYE_PYTHON := $(abspath $(VENV))/bin/python
# The CDF validator pins a jsonschema that moto's server cannot share: a venv of its own (with pandas and DuckDB).
CDF_VENV := .cache/cdf-venv
export TACTICEYE_CDF_PYTHON := $(abspath $(CDF_VENV))/bin/python

SHARED := ../shared
CLIP := $(SHARED)/data/clips/dfl-bundesliga-08fd33_4-848x478.mp4
MODEL_VENV := .cache/model-venv

.PHONY: demo test lint build deps ffmpeg chromium ort pytools bench bench-long bench-export lambda model ball-model pitch-model model-venv clean

demo: deps build
	mkdir -p $(DEMO)
	$(BIN) synth $(DEMO)/match.mp4 --seconds 30 --seed 7
	$(BIN) --data-dir $(DEMO)/data analyze $(DEMO)/match.mp4 --match-id demo --detector truth --calibration auto --restart
	$(BIN) --data-dir $(DEMO)/data evaluate demo --truth $(DEMO)/match.truth.json
	@if [ -f $(CLIP) ]; then \
		echo "--- a real broadcast clip with the shipped detector ($(CLIP))"; \
		$(BIN) --data-dir $(DEMO)/data analyze $(CLIP) --match-id dfl --calibration auto --restart; \
	else echo "(no real clip: $(CLIP) is absent)"; fi

test: deps chromium build lint
	$(CARGO) test --release --workspace

# Formatting and lints are mechanical: rustfmt.toml's style, and clippy with every warning an error.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

build:
	$(CARGO) build --release --workspace --bins

deps: ffmpeg ort pytools

ffmpeg:
	@command -v ffmpeg >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; }

# The dashboard's browser test drives Debian's headless Chromium.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

ort: $(ORT_LIB)

# ONNX Runtime as shipped inside the PyPI wheel; `ort` loads it at run time (ORT_DYLIB_PATH).
$(ORT_LIB):
	rm -rf $(ORT_DIR) && mkdir -p $(ORT_DIR)/wheel
	python3 -m pip download -q --no-deps --only-binary=:all: --dest $(ORT_DIR)/wheel onnxruntime==$(ORT_VERSION)
	python3 -m zipfile -e $(ORT_DIR)/wheel/onnxruntime-$(ORT_VERSION)-*.whl $(ORT_DIR)/wheel/x
	cp $(ORT_DIR)/wheel/x/onnxruntime/capi/libonnxruntime.so.$(ORT_VERSION) $(ORT_LIB)
	rm -rf $(ORT_DIR)/wheel

pytools: $(VENV)/.installed $(CDF_VENV)/.installed

$(CDF_VENV)/.installed: tests/requirements-cdf.txt
	python3 -m venv $(CDF_VENV)
	$(CDF_VENV)/bin/pip install -q -r tests/requirements-cdf.txt
	touch $@

$(VENV)/.installed: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r tests/requirements.txt
	touch $@

bench: deps build
	$(TARGET)/release/pipeline-bench --model models/tacticeye-detector.onnx --ball-model models/tacticeye-ball.onnx \
		--real-clip $(SHARED)/data/clips/university-fixed-camera-left-3072x1728.mp4 \
		--pitch-model models/tacticeye-pitch.onnx
	BIN=$(BIN) benchmarks/live_lag.sh
	ulimit -n 4096 && $(TARGET)/release/live-push-bench --bin $(BIN) --clients 0,1,200

# A 30-minute synthetic match read while it is analysed (MINUTES=N for another length): about 15 minutes.
bench-long: deps build
	BIN=$(BIN) benchmarks/long_match.sh

# Export sizes, times and peak memory for a 10-minute synthetic match and the same tiled to 90 minutes
# (the clip renders in about 8 minutes the first time with one ray a pixel, so about 1.7 times that with the
# four rays drawn now, then is kept in .cache/bench).
bench-export: deps build pytools
	BIN=$(BIN) benchmarks/export.sh

# The Lambda functions as `sam build` packages them (cargo-lambda and zig from PyPI).
lambda: pytools
	$(VENV)/bin/pip install -q cargo-lambda==1.9.2 ziglang==0.17.1
	PATH=$(abspath $(VENV))/bin:$$PATH $(CARGO) lambda build --release -p tacticeye-segmenter -p tacticeye-api -p tacticeye-live

# Rebuild the shipped models from ../shared on the CPU (logs and checkpoints in .cache/model/ and
# .cache/pitch/). PyTorch from PyPI into its own venv: a tool, not the runtime.
FOOTANDBALL := $(SHARED)/models/footandball/model_20201019_1416_final.pth

model-venv:
	test -d $(SHARED)/data || { echo "$(SHARED)/data is needed to train"; exit 1; }
	test -x $(MODEL_VENV)/bin/python || python3 -m venv $(MODEL_VENV)
	$(MODEL_VENV)/bin/pip install -q -r models/requirements.txt

# The detector, then its ball check (trained on the detector's own candidates): about 58 minutes on 2 cores.
model: model-venv
	$(MODEL_VENV)/bin/python models/train_detector.py --data $(SHARED)/data --init $(FOOTANDBALL) \
		--out models/tacticeye-detector.onnx
	$(MAKE) ball-model

# Seeds 7, 8 and 9 of the same recipe hit 25, 29 and 21 of the 35 valid balls; 8 ships (MODEL_CARD.md).
BALL_SEED := 8

# The ball check alone, for the shipped detector: about 6 minutes.
ball-model: model-venv
	$(MODEL_VENV)/bin/python models/train_ball.py --data $(SHARED)/data --detector models/tacticeye-detector.onnx \
		--out models/tacticeye-ball.onnx --seed $(BALL_SEED)

# The pitch keypoint model.
pitch-model: model-venv
	$(MODEL_VENV)/bin/python models/train_pitch.py --data $(SHARED)/data --init $(FOOTANDBALL) \
		--out models/tacticeye-pitch.onnx

clean:
	rm -rf .cache $(VENV)
