# The two commands that do everything on a fresh machine: `make run` (the demo) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian packages the tests use: the real ALSA library and tools, libopus, the Opus checker.
DEB_PACKAGES := alsa-utils libasound2 libopus0 opus-tools

.PHONY: setup test lint format bench run clean

setup: $(STAMP)

$(STAMP): pyproject.toml tools/ensure-debs.sh
	bash tools/ensure-debs.sh $(DEB_PACKAGES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

lint: setup
	$(VENV)/bin/ruff check hal device tools tests

format: setup
	$(VENV)/bin/ruff format hal device tools tests

test: setup lint
	$(PY) -m pytest -q

bench: setup
	$(PY) -m tools.bench $(BENCH)

run: setup
	$(PY) -m tools.demo

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
