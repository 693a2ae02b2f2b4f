"""The fupin definitions with Dagster's multiprocess executor (a process per step), as they were
before runs went in-process; only for benchmarks/ui_run.py to compare the two."""

from dagster import multiprocess_executor

from pipelines.definitions import build_definitions

defs = build_definitions(multiprocess_executor)
