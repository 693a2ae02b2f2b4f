"""Runs that race or die: one run per warehouse for the whole run; a killed run leaves no process behind.

Real `fupin run` subprocesses, killed by pid; a Dagster materialisation against a warehouse a
`fupin run` holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_RAW
from tests.runs import alive, descendants, fact_values, query, run, start, warehouse_held

pytestmark = pytest.mark.e2e


def _raw(target: Path, reports: list[Path]) -> Path:
    target.mkdir(parents=True)
    for report in reports:
        shutil.copy2(report, target / report.name)
    return target


def _wait_for(condition, timeout: float, what: str, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def _lock_holder(warehouse: Path) -> dict | None:
    lock = warehouse.with_name("fupin.run.lock")
    try:
        record = json.loads(lock.read_text("utf-8") or "{}")
    except (OSError, ValueError):
        return None
    return record if record.get("run_id") and not record.get("finished") else None


def _kill_and_wait_for_its_processes(victim: subprocess.Popen, left: dict[int, str], timeout: float) -> None:
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    _wait_for(lambda: not any(alive(pid) for pid in left), timeout, "the killed run's processes to end")


def _reap(victim: subprocess.Popen, left: dict[int, str]) -> None:
    """However the test ended: no process of the run is left (they would hold its output pipes open)."""
    if victim.poll() is None:
        victim.kill()
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    victim.communicate()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_second_run_on_the_same_warehouse_fails_naming_the_holder(
    tmp_path: Path, dbt_manifest: Path
) -> None:
    reports = sorted(REPO_RAW.glob("*.txt"))
    first_raw = _raw(tmp_path / "raw_first", reports[:3])
    other_raw = _raw(tmp_path / "raw_other", reports[3:])
    warehouse = tmp_path / "wh" / "fupin.duckdb"

    first = start(first_raw, warehouse)
    try:
        holder = _wait_for(lambda: _lock_holder(warehouse), 60, "the first run to hold the warehouse")
        assert holder["pid"] == first.pid
        second = run(other_raw, warehouse, timeout=60)
        assert second.returncode == 2
        message = second.stderr.strip()
        assert len(message.splitlines()) == 1
        assert f"is in use by fupin run {holder['run_id']}" in message
        assert f"pid {first.pid}" in message and str(first_raw) in message
        out, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, out + err
    kept = {name for (name,) in query(warehouse, "SELECT source_file FROM main.dim_document")}
    assert kept == {r.name for r in reports[:3]}  # only the first run's data, under its name


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_a_run_during_dbt_leaves_no_process_and_the_next_run_recovers(
    tmp_path: Path, dbt_manifest: Path
) -> None:
    raw = _raw(tmp_path / "raw", sorted(REPO_RAW.glob("*.txt")))
    warehouse = tmp_path / "wh" / "fupin.duckdb"
    victim = start(raw, warehouse)
    left: dict[int, str] = {}
    try:
        for line in victim.stdout:  # dbt builds right after the facts are validated and checked
            if "validated_facts_match_schema" in line:
                break
        time.sleep(1.5)  # inside dbt build (it takes seconds)
        left = descendants(victim.pid)
        assert not [c for c in left.values() if "dbt" in c and " build" in c]  # dbt runs in the run's process
        _kill_and_wait_for_its_processes(victim, left, 3)
    finally:
        _reap(victim, left)

    done = run(raw, warehouse)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(fact_values(warehouse)) > 0


def _many_reports(target: Path, copies: int) -> Path:
    """copies of each repo report, each made a document of its own by a line of its own."""
    target.mkdir(parents=True)
    for report in sorted(REPO_RAW.glob("*.txt")):
        text = report.read_text("utf-8")
        for number in range(copies):
            (target / f"{report.stem}-{number:03d}.txt").write_text(f"{text}\n第{number}期\n", "utf-8")
    return target


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_a_run_while_its_workers_clean_leaves_no_process(tmp_path: Path, dbt_manifest: Path) -> None:
    from pipelines.core.pool import PARALLEL_THRESHOLD

    raw = _many_reports(tmp_path / "raw", copies=PARALLEL_THRESHOLD // 4)  # enough for the pool
    assert len(list(raw.iterdir())) >= PARALLEL_THRESHOLD
    victim = start(raw, tmp_path / "wh" / "fupin.duckdb")
    left: dict[int, str] = {}
    try:

        def workers_started() -> dict[int, str]:
            found = descendants(victim.pid)
            # workers forked from the run carry its command line; the fork server's, its own
            pool = [
                command for command in found.values() if "fupin run" in command or "forkserver" in command
            ]
            return found if len(pool) >= 2 else {}

        left = _wait_for(workers_started, 120, "the run's workers")
        _kill_and_wait_for_its_processes(victim, left, 10)
    finally:
        _reap(victim, left)


def test_a_dagster_run_stops_while_a_fupin_run_holds_the_warehouse(
    tmp_path: Path, dbt_manifest: Path
) -> None:
    from dagster import materialize

    from pipelines.assets.reference import reference_data
    from pipelines.resources import FupinSettings

    warehouse = tmp_path / "wh" / "fupin.duckdb"
    with warehouse_held(warehouse, "cli-run-1"):
        settings = FupinSettings(raw_dir=str(tmp_path), warehouse=str(warehouse))
        result = materialize([reference_data], resources={"settings": settings}, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = str(failure.event_specific_data.error)
    assert "is in use by fupin run cli-run-1" in message and "/data/raw" in message
