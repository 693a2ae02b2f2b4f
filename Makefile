# fupin — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint docs report benchmark dev clean setup chromium

setup: $(STAMP)

# Reinstall when the dependency list changes; otherwise setup is a no-op.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; fupin needs Python 3.11 (set PYTHON=/path/to/python3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/fupin run

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

dev: $(STAMP)
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev -w workspace.yaml

docs: $(STAMP)
	$(BIN)/fupin docs

report: $(STAMP)
	$(BIN)/fupin report

benchmark: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf warehouse dbt_project/target dbt_project/logs .dagster_home
