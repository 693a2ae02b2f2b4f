# fupin — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The Dagster instance `fupin run`, `make dev` and the dagster CLI share (runs, schedules, sensor cursors).
DAGSTER_HOME ?= $(CURDIR)/.dagster_home
DAGSTER_HOME_DIR := $(abspath $(DAGSTER_HOME))
DAGSTER_PORT ?= 3000

.PHONY: run test lint docs report benchmark dev dagster-home clean setup chromium

setup: $(STAMP)

# Reinstall when the dependency list changes; otherwise setup is a no-op.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || \
	  { echo "error: fupin needs Python 3.11; set PYTHON=/path/to/python3.11 (found: $(PYTHON))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) $(BIN)/fupin run

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Creates DAGSTER_HOME with its dagster.yaml when missing (never overwrites one).
dagster-home: $(STAMP)
	@$(BIN)/python -m pipelines.dagster_home "$(DAGSTER_HOME_DIR)" >/dev/null

dev: dagster-home
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DAGSTER_PORT)

docs: $(STAMP)
	$(BIN)/fupin docs

report: $(STAMP)
	$(BIN)/fupin report

benchmark: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Headless Chromium for tests/test_docs_browser.py, plus a CJK font so screenshots show Chinese.
# Best effort: without it the browser tests skip and say how to install it.
chromium:
	@command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; } \
	  || echo "note: could not install chromium; the browser tests will be skipped"

clean:
	rm -rf warehouse dbt_project/target dbt_project/logs .dagster_home
