"""A `fupin run` with nothing to do says so and stops before Dagster and dbt; anything else runs.

Real `fupin run` subprocesses on one warehouse built from a copy of raw/, and the real check
(pipelines/core/uptodate.py) on that warehouse's files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from pipelines.core.filestats import cache_path
from pipelines.core.uptodate import inputs_version, run_need
from pipelines.core.warehouse import WarehousePaths
from tests.conftest import REPO_RAW, wait_until_not_racy
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
    """New bytes behind the old size and mtime (os.utime put it back) are still a change: the file-stat
    cache remembers the report, but its ctime moved."""
    raw, warehouse = built
    paths = WarehousePaths.from_published(warehouse)
    report = sorted(raw.glob("*.txt"))[0]
    wait_until_not_racy(report)
    assert run_need(raw, paths).up_to_date  # reads the report once more, and remembers it
    info = report.stat()
    remembered = json.loads(cache_path(warehouse).read_text())["files"][report.name]
    assert remembered[:5] == [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]

    original = report.read_bytes()
    digit = re.search(rb"[0-9]", original).start()  # one figure of the report, one digit up
    changed = original[:digit] + str((original[digit] - 48 + 1) % 10).encode() + original[digit + 1 :]
    assert changed != original and len(changed) == len(original)
    report.write_bytes(changed)
    os.utime(report, ns=(info.st_atime_ns, info.st_mtime_ns))
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
    paths = WarehousePaths.from_published(warehouse)
    wait_until_not_racy(*raw.iterdir())
    run_need(raw, paths)  # the file-stat cache now knows every file as it is
    cache = cache_path(warehouse)
    remembered = cache.stat().st_ino

    assert run(raw, warehouse).returncode == 0  # nothing to do, nothing read: the cache stays as it was
    assert cache.stat().st_ino == remembered

    done = run(raw, warehouse, "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "to do: --force" in done.stdout and "dagster run:" in done.stdout
    # Nor did dbt trust the record of its last build: every model was rebuilt though nothing changed.
    assert "unchanged since the last build" not in done.stdout and "19 dbt models built" in done.stdout
    # Its ingestion trusted no cache: every file was read, and the cache written again from them.
    assert cache.stat().st_ino != remembered
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
