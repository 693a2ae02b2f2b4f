"""A `fupin run` with nothing to do says so and stops before Dagster and dbt; anything else runs.

Real `fupin run` subprocesses on one warehouse built from a copy of raw/, and the real check
(pipelines/core/uptodate.py) on that warehouse's files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipelines.core.uptodate import inputs_version, run_need
from pipelines.core.warehouse import WarehousePaths
from tests.conftest import REPO_RAW
from tests.runs import build_from, run, warehouse_held

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> tuple[Path, Path]:
    return build_from(REPO_RAW, tmp_path_factory.mktemp("noop"))


def _identity(path: Path) -> tuple[int, int, bytes]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, path.read_bytes()


def test_an_unchanged_run_says_there_is_nothing_to_do_and_leaves_the_warehouse(
    built: tuple[Path, Path],
) -> None:
    raw, warehouse = built
    before = _identity(warehouse)
    os.utime(sorted(raw.glob("*.txt"))[0])  # touched, same bytes: still nothing to do

    done = run(raw, warehouse)

    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = done.stdout.splitlines()
    assert line.startswith("fupin run: nothing to do:") and str(warehouse) in line and "5 files" in line
    assert _identity(warehouse) == before  # the very same published file, untouched
    assert "dagster run" not in done.stdout


def test_a_changed_report_is_run_and_published(built: tuple[Path, Path], tmp_path: Path) -> None:
    raw, warehouse = built
    report = sorted(raw.glob("*.txt"))[0]
    original = report.read_bytes()
    report.write_bytes(original + "\n\n2019年全县新建蔬菜大棚120栋。\n".encode())
    try:
        before = _identity(warehouse)
        done = run(raw, warehouse)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"to do: 1 files new, changed or removed ({report.name})" in done.stdout
        assert "Summary" in done.stdout and _identity(warehouse) != before
    finally:
        report.write_bytes(original)
    restored = run(raw, warehouse)  # back to the original bytes: a real run again, then up to date
    assert restored.returncode == 0 and "Summary" in restored.stdout, restored.stdout + restored.stderr
    assert run_need(raw, WarehousePaths.from_published(warehouse)).up_to_date


def test_force_runs_every_step(built: tuple[Path, Path]) -> None:
    raw, warehouse = built
    done = run(raw, warehouse, "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "to do: --force" in done.stdout and "dagster run:" in done.stdout
    assert run_need(raw, WarehousePaths.from_published(warehouse)).up_to_date  # recorded again


def test_a_run_holding_the_warehouse_still_refuses_a_second_one(built: tuple[Path, Path]) -> None:
    raw, warehouse = built
    with warehouse_held(warehouse, "cli-run-7"):
        done = run(raw, warehouse, timeout=60)
    assert done.returncode == 2 and "is in use by fupin run cli-run-7" in done.stderr


def test_what_makes_a_run_necessary(built: tuple[Path, Path], tmp_path: Path) -> None:
    raw, warehouse = built
    paths = WarehousePaths.from_published(warehouse)
    assert run_need(raw, paths).up_to_date

    other_code = run_need(raw, paths, version="0123456789abcdef")
    assert other_code.reasons == ["the code, catalog, dbt project, packages or sources.yaml changed"]

    sources = raw / "sources.yaml"  # a page to fetch: sources.yaml is part of the inputs version
    sources.write_text("- url: https://www.example.gov.cn/a.html\n", encoding="utf-8")
    try:
        assert inputs_version(raw) != inputs_version(tmp_path)
        assert not run_need(raw, paths).up_to_date
    finally:
        sources.unlink()

    report = sorted(raw.glob("*.txt"))[0]
    renamed = raw / "renamed.txt"
    report.rename(renamed)
    try:
        (reason,) = run_need(raw, paths).reasons
        assert reason == f"2 files new, changed or removed ({report.name}, renamed.txt)"
    finally:
        renamed.rename(report)

    # A published file the record does not describe (copied over, replaced by hand) is never trusted.
    copy = tmp_path / "wh" / "fupin.duckdb"
    shutil.copytree(warehouse.parent, copy.parent)
    assert (
        "no record says what built the published file"
        in run_need(raw, WarehousePaths.from_published(copy)).reasons
    )

    # Leftovers a crash or a reader left need a run to tidy them.
    wal = warehouse.with_name(warehouse.name + ".wal")
    wal.write_bytes(b"")
    try:
        assert any("write-ahead log" in r for r in run_need(raw, paths).reasons)
    finally:
        wal.unlink()
    work = paths.work.read_bytes()
    paths.work.write_bytes(b"garbage" * 100)
    try:
        assert any("working file" in r for r in run_need(raw, paths).reasons)
    finally:
        paths.work.write_bytes(work)
    assert run_need(raw, paths).up_to_date
