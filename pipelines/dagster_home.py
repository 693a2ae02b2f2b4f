"""The Dagster instance directory (DAGSTER_HOME) that `fupin run`, `make dev` and the dagster CLI share.

`fupin run` records its runs there, so the UI's asset catalog, checks and run history show what the
warehouse holds however it was built. Created on first use with a dagster.yaml; an existing
dagster.yaml is never overwritten. `python -m pipelines.dagster_home DIR` creates it (the Makefile does).

Kept free of Dagster imports: the Makefile runs it before `dagster dev` starts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DAGSTER_HOME_ENV = "DAGSTER_HOME"
DEFAULT_DAGSTER_HOME = ".dagster_home"  # relative to the project root, like `make dev`'s

DAGSTER_YAML = """\
# The fupin Dagster instance, written by pipelines/dagster_home.py when this directory was created.
# Runs, event logs, schedules and sensor cursors live in this directory (SQLite), whoever starts the
# run: `fupin run`, the UI, the schedule or the sensor.
telemetry:
  enabled: false
storage:
  sqlite:
    base_dir:
      env: DAGSTER_HOME
local_artifact_storage:
  module: dagster.core.storage.root
  class: LocalArtifactStorage
  config:
    base_dir:
      env: DAGSTER_HOME
# Runs share one DuckDB working file and would only wait for each other's lock: queue them instead.
concurrency:
  runs:
    max_concurrent_runs: 1
"""


def default_dagster_home() -> Path:
    """$DAGSTER_HOME when set, else .dagster_home in the project root (where `make dev` looks)."""
    configured = os.environ.get(DAGSTER_HOME_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    return Path(__file__).resolve().parents[1] / DEFAULT_DAGSTER_HOME


def ensure_dagster_home(home: str | os.PathLike[str] | None = None) -> Path:
    """Create the instance directory and its dagster.yaml when missing; returns its absolute path."""
    path = Path(home).expanduser().absolute() if home else default_dagster_home()
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    return path


if __name__ == "__main__":
    print(ensure_dagster_home(sys.argv[1] if len(sys.argv) > 1 else None))
