# credit-ledger: the front door. `make` (or `make help`) lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO ?= scenarios/examples/solo-creator.yaml

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets with what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# The distribution was called credit-ledger before (a name PyPI gives to another project).
	$(BIN)/python -m pip uninstall --quiet --yes credit-ledger 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,browser,notebook,cluster]'
	@touch $(STAMP)

.PHONY: install
install: $(STAMP) ## Create .venv from nothing and install the project with its dev, postgres, browser, notebook and cluster (Dask) dependencies

.PHONY: demo
demo: $(STAMP) ## Replay a bundled example scenario and print its summary
	$(BIN)/credit-ledger run $(DEMO)

.PHONY: test
test: $(STAMP) ## Run the whole test suite (installs PostgreSQL and Chromium if missing; its suites start their own server)
	@bash scripts/ensure-postgresql.sh
	@bash scripts/ensure-chromium.sh
	$(BIN)/python -m pytest -q -n auto --maxprocesses=4

.PHONY: test-long
test-long: $(STAMP) ## The long tests only (per-task replays of benchmark months; minutes)
	$(BIN)/python -m pytest -q -m long

.PHONY: pg-up
pg-up: ## Start a throwaway PostgreSQL on a free loopback port; tests use it while it runs
	$(PYTHON) scripts/pgcluster.py up

.PHONY: pg-down
pg-down: ## Stop the throwaway PostgreSQL and delete its folder
	$(PYTHON) scripts/pgcluster.py down

.PHONY: lint
lint: $(STAMP) ## ruff (lint and format check), without changing files
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

.PHONY: typecheck
typecheck: $(STAMP) ## mypy --strict over the packages, the tests, scripts and benchmarks
	$(BIN)/mypy

.PHONY: contracts
contracts: $(STAMP) ## import-linter: the layers stay apart
	$(BIN)/lint-imports

.PHONY: check
check: lint typecheck contracts test ## Everything CI cares about: ruff, mypy --strict, import-linter, tests

.PHONY: bench
bench: $(STAMP) ## Run the benchmarks and print their figures (docs/performance.md)
	$(BIN)/python -u benchmarks/replay_bench.py
	$(BIN)/python -u benchmarks/projection_bench.py
	$(BIN)/python -u benchmarks/projection_bench.py --scenario benchmarks/busy-year.yaml --per-task --days 30
	$(BIN)/python -u benchmarks/forecast_bench.py

.PHONY: bench-import
bench-import: $(STAMP) ## A year of Runway history: import, validate, run, reconcile
	$(BIN)/python -u benchmarks/import_bench.py

.PHONY: bench-store
bench-store: $(STAMP) ## Replay and projection of the busy year on SQLite and on PostgreSQL
	$(BIN)/python benchmarks/store_bench.py

.PHONY: fuzz
fuzz: $(STAMP) ## Long fuzz: 10,000 seeded hostile files through validate and run (docs/reliability.md)
	$(BIN)/python -m tests.fuzz.runner --cases 10000 --run-every 1

.PHONY: golden
golden: $(STAMP) ## Regenerate the golden files of the example scenarios
	$(BIN)/python -m ledger.tools.testing.golden scenarios/examples tests/golden

.PHONY: screenshots
screenshots: $(STAMP) ## Redraw the report and compare pictures in docs/ in headless Chromium (installs it if missing)
	@bash scripts/ensure-chromium.sh
	$(BIN)/python -m ledger.tools.report.screenshots docs

.PHONY: tables-doc
tables-doc: $(STAMP) ## Regenerate docs/tables.md (every DuckDB table's columns) from projections/schema.py
	$(BIN)/python -m projections.tabledocs > docs/tables.md

.PHONY: format
format: $(STAMP) ## Rewrite files with ruff's formatter and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: clean
clean: ## Remove the venv, caches and run folders
	rm -rf $(VENV) runs .mypy_cache .ruff_cache .pytest_cache .hypothesis
