# make demo / make test work on a fresh clone: they create .venv and install everything they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(firstword $(wildcard /root/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12 2>/dev/null) python3)
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed

.PHONY: help venv demo demo-extract test check lint typecheck import-layers pytest infra-check workflow-check clean lock

help:
	@echo "make demo   - create .venv, install, load the sample in data/ into demo/ (its own lake and warehouse) and write demo/dashboard.html"
	@echo "make demo-extract - try etl extract: a throwaway PostgreSQL seeded as a lender's database, extracted and loaded on two days (demo/extract/)"
	@echo "make test   - create .venv, install, run ruff, mypy and the whole test suite (what CI runs)"

# Bytecode is compiled at install (site-packages and the editable etl/): with PYTHONDONTWRITEBYTECODE set,
# as on these machines, every process would otherwise compile what it imports again (etl --help took 1.4 s
# instead of 0.4 s, an empty `etl run` 3.6 s instead of 1.6 s).
$(STAMP): pyproject.toml requirements/dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || { \
	  echo "Python 3.12+ is needed ($(PYTHON) is $$($(PYTHON) -V 2>&1)); run: make PYTHON=/path/to/python3.12 ..." >&2; exit 2; }
	@if test -x $(BIN)/python && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	  echo "removing $(VENV): it was made with an older Python"; rm -rf $(VENV); fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements/dev.lock
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q etl
	touch $(STAMP)

venv: $(STAMP)

# The sample has a lake and a warehouse of its own (demo/): a user's first `etl run` never mixes with it.
demo: $(STAMP)
	$(BIN)/etl run data/loan_applications data/bank_statements data/repayments --lake demo/lake --warehouse duckdb:///demo/warehouse.duckdb
	$(BIN)/etl dashboard --lake demo/lake --warehouse duckdb:///demo/warehouse.duckdb --out demo/dashboard.html

# `etl extract` in one command: a throwaway PostgreSQL seeded as a lender's database, two days of extracts.
demo-extract: $(STAMP)
	bash scripts/demo_extract.sh

lint: $(STAMP)
	$(BIN)/ruff check etl tests
	$(BIN)/ruff format --check etl tests

typecheck: $(STAMP)
	$(BIN)/mypy

# The layers contract in pyproject.toml: imports only run downward (import-linter).
import-layers: $(STAMP)
	$(BIN)/lint-imports --no-cache

pytest: $(STAMP)
	bash scripts/ensure_system_packages.sh
	$(BIN)/pytest -n 2 --dist loadfile

infra-check: $(STAMP)
	bash scripts/check_infra.sh

workflow-check: $(STAMP)
	bash scripts/check_workflows.sh

check: lint typecheck import-layers infra-check workflow-check pytest

test: check

# Regenerate the locked dependency files after editing pyproject.toml.
lock: $(STAMP)
	$(UV) pip compile --quiet --python-version 3.12 --extra dev pyproject.toml -o requirements/dev.lock
	$(UV) pip compile --quiet --python-version 3.12 --python-platform x86_64-manylinux_2_28 --generate-hashes requirements/lambda.in -o requirements/lambda.txt

clean:
	rm -rf $(VENV) demo lake warehouse.duckdb warehouse.duckdb.wal dashboard.html .pytest_cache .mypy_cache .ruff_cache
