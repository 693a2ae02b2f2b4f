"""One run at a time per warehouse, for the whole run (pipelines/core/runlock.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.core.runlock import RunLockHeld, claim_run_step, finish_run, hold_run
from pipelines.core.warehouse import WarehousePaths


@pytest.fixture()
def paths(tmp_path: Path) -> WarehousePaths:
    return WarehousePaths.from_published(tmp_path / "wh" / "fupin.duckdb")


def _never_heard_of(_run_id: str) -> None:
    return None


def test_steps_of_the_run_holding_the_warehouse_go_ahead(paths: WarehousePaths) -> None:
    with (
        hold_run(paths, "run-a", raw_dir="/data/a"),
        claim_run_step(paths, "run-a", raw_dir="/data/a", run_finished=_never_heard_of),
    ):
        pass


def test_another_process_cannot_hold_it_meanwhile(paths: WarehousePaths) -> None:
    code = (
        "import sys; from pipelines.core.runlock import hold_run; "
        "from pipelines.core.warehouse import WarehousePaths; "
        "cm = hold_run(WarehousePaths.from_published(sys.argv[1]), 'run-b')\n"
        "try:\n    cm.__enter__()\nexcept Exception as exc:\n    print(exc)"
    )
    with hold_run(paths, "run-a", raw_dir="/data/a"):
        out = subprocess.run(
            [sys.executable, "-c", code, str(paths.published)], capture_output=True, text=True
        )
    assert "is in use by fupin run run-a" in out.stdout and "raw dir /data/a" in out.stdout


def test_a_step_of_another_dagster_run_stops_while_the_first_is_running(paths: WarehousePaths) -> None:
    with claim_run_step(paths, "dagster-1", raw_dir="/a", run_finished=_never_heard_of):
        pass
    with (
        pytest.raises(RunLockHeld, match="in use by dagster run dagster-1"),
        claim_run_step(paths, "dagster-2", raw_dir="/b", run_finished=lambda run_id: False),
    ):
        pass
    # Once the first run is over (failed or finished), the next may take the warehouse.
    with claim_run_step(paths, "dagster-2", raw_dir="/b", run_finished=lambda run_id: True):
        pass


def test_a_run_whose_warehouse_was_taken_between_its_steps_stops(paths: WarehousePaths) -> None:
    with claim_run_step(paths, "dagster-1", raw_dir="/a", run_finished=_never_heard_of):
        pass  # its first step
    with hold_run(paths, "cli-run", raw_dir="/b"):
        pass  # a whole `fupin run` on another raw dir, while dagster-1 waited between steps
    with (
        pytest.raises(RunLockHeld, match="between two steps of this run"),
        claim_run_step(paths, "dagster-1", raw_dir="/a", run_finished=_never_heard_of),
    ):
        pass


def test_a_finished_run_leaves_the_warehouse_free(paths: WarehousePaths) -> None:
    with claim_run_step(paths, "dagster-1", raw_dir="/a", run_finished=_never_heard_of):
        finish_run(paths, "dagster-1")
    with claim_run_step(paths, "dagster-2", raw_dir="/b", run_finished=lambda run_id: False):
        pass
