# The one command surface. `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install run demo test test-unit test-integration faults multihost screenshots lint format bench bench-api bench-api-profile clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml examples/strategy_package/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet -e examples/strategy_package  # the example strategy package
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with its dev tools

run: $(STAMP)  ## the main job: the service on embedded defaults, a demo on real bars, then serving until Ctrl-C
	$(BIN)/nautilus-bt demo --serve

demo: $(STAMP)  ## one-shot: start everything, run the demo backtest, print its results, stop
	$(BIN)/nautilus-bt demo

test: $(STAMP)  ## every test (unit and integration)
	$(BIN)/pytest -q

test-unit: $(STAMP)  ## pure engine tests, no services needed
	$(BIN)/pytest -q tests/unit

test-integration: $(STAMP)  ## tests against PostgreSQL, Redis and Celery workers
	$(BIN)/pytest -q tests/integration

faults: $(STAMP)  ## the fault suite: worker, beat, Redis, PostgreSQL and RabbitMQ crashes on private deployments, both brokers (minutes)
	NAUTILUS_FAULTS=1 $(BIN)/pytest -q tests/faults

multihost: $(STAMP)  ## a chord on two worker hosts (network namespaces), one cut off mid-chord (root, socat, RabbitMQ)
	$(BIN)/pytest -q -rs tests/integration/test_multihost.py

screenshots: $(STAMP)  ## refresh docs/img from the browser test (needs chromium)
	SCREENSHOTS=docs $(BIN)/pytest -q tests/integration/test_browser.py

lint: $(STAMP)  ## ruff lint and format check, the layer contracts (import-linter), types (mypy)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(STAMP)  ## apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)  ## engine sweep benchmarks (figures in docs/engine.md)
	$(BIN)/python bench/sweep.py

bench-api: $(STAMP)  ## service figures: submits/s, reads/s, end-to-end latency, a burst (its own Python load generator)
	$(BIN)/python bench/api_bench.py

bench-api-profile: $(STAMP)  ## where a submit's server CPU goes, sampled (py-spy), against the floor's
	$(BIN)/python bench/api_profile.py

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis var
