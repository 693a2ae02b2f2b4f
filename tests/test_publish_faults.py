"""What sits beside the published warehouse, or is missing from the raw dir, never makes a wrong warehouse.

Real `fupin run` subprocesses on copies of one warehouse built once from the reports in raw/: a
write-ahead log a BI tool left, stale temporary copies, an empty or half-missing raw dir, an
unreadable subdirectory, a corrupt working file and a truncated dbt manifest.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.resources import dbt_project, manifest_loads
from tests.conftest import REPO_RAW
from tests.runs import SETPRIV, build_from, copy_warehouse, fact_values, query, run, without_root_powers

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> tuple[Path, Path]:
    """(raw dir of the five reports, a warehouse built from it) — copied by each test."""
    return build_from(REPO_RAW, tmp_path_factory.mktemp("built"))


@pytest.fixture()
def warehouse(built: tuple[Path, Path], tmp_path: Path) -> Path:
    return copy_warehouse(built[1], tmp_path / "wh" / "fupin.duckdb")


def _raw_copy(built: tuple[Path, Path], target: Path, keep: int | None = None) -> Path:
    shutil.copytree(built[0], target)
    if keep is not None:
        for report in sorted(target.glob("*.txt"))[keep:]:
            report.unlink()
    return target


def test_a_write_ahead_log_left_beside_the_published_file_never_reaches_a_new_copy(
    built: tuple[Path, Path], warehouse: Path, tmp_path: Path
) -> None:
    good = fact_values(warehouse)
    # A BI tool opens the published file read-write, changes every value and dies without a
    # checkpoint: its changes sit in fupin.duckdb.wal, which DuckDB replays onto any file of that name.
    tool = (
        "import duckdb, os, sys; con = duckdb.connect(sys.argv[1]); "
        "con.execute('UPDATE main.fct_metric_observation SET value = -1'); os._exit(0)"
    )
    os.chmod(warehouse, 0o644)  # as a warehouse published before it was made read-only
    subprocess.run([sys.executable, "-c", tool, str(warehouse)], check=True)
    wal = warehouse.with_name(warehouse.name + ".wal")
    assert wal.exists()
    stale_copy = warehouse.with_name(f".{warehouse.name}.4242.tmp")  # a publish killed mid-copy
    stale_copy.write_bytes(b"half a database")

    done = run(_raw_copy(built, tmp_path / "raw"), warehouse)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "write-ahead log" in done.stderr and "read-only" in done.stderr
    assert not wal.exists()
    assert fact_values(warehouse) == good  # exactly the run's content, no -1 anywhere
    assert not stale_copy.exists()
    assert stat.S_IMODE(warehouse.stat().st_mode) == 0o444  # read-only on disk


@pytest.mark.skipif(SETPRIV is None and os.geteuid() == 0, reason="needs setpriv to act as a non-root user")
def test_the_published_file_cannot_be_opened_read_write(warehouse: Path) -> None:
    code = "import duckdb, sys; duckdb.connect(sys.argv[1])"
    writer = subprocess.run(
        without_root_powers([sys.executable, "-c", code, str(warehouse)]), capture_output=True, text=True
    )
    assert writer.returncode != 0 and "Permission denied" in writer.stderr
    reader = duckdb.connect(str(warehouse), read_only=True)  # readers are unaffected
    assert reader.execute("SELECT count(*) FROM main.dim_document").fetchone()[0] == 5
    reader.close()


def test_an_empty_raw_dir_fails_and_keeps_the_warehouse(warehouse: Path, tmp_path: Path) -> None:
    before = warehouse.read_bytes()
    empty = tmp_path / "unmounted_share"
    empty.mkdir()
    done = run(empty, warehouse)
    assert done.returncode != 0
    assert "has no files" in done.stderr and "nothing was removed" in done.stderr
    assert warehouse.read_bytes() == before


def test_a_run_that_would_remove_most_documents_is_refused_unless_allowed(
    built: tuple[Path, Path], warehouse: Path, tmp_path: Path
) -> None:
    before = warehouse.read_bytes()
    one_left = _raw_copy(built, tmp_path / "raw", keep=1)

    refused = run(one_left, warehouse)
    assert refused.returncode != 0
    assert "refusing to publish" in refused.stderr and "4 of the 5 published documents" in refused.stderr
    assert "--allow-shrink" in refused.stderr
    assert warehouse.read_bytes() == before

    higher_limit = run(one_left, warehouse, "--max-shrink", "0.9")
    assert higher_limit.returncode == 0, higher_limit.stderr
    assert query(warehouse, "SELECT count(*) FROM main.dim_document") == [(1,)]


def test_allow_shrink_publishes_the_smaller_warehouse(
    built: tuple[Path, Path], warehouse: Path, tmp_path: Path
) -> None:
    done = run(_raw_copy(built, tmp_path / "raw", keep=2), warehouse, "--allow-shrink")
    assert done.returncode == 0, done.stderr
    assert query(warehouse, "SELECT count(*) FROM main.dim_document") == [(2,)]


@pytest.mark.skipif(SETPRIV is None and os.geteuid() == 0, reason="needs setpriv to act as a non-root user")
def test_an_unreadable_subdirectory_is_an_error_not_a_deletion(
    built: tuple[Path, Path], warehouse: Path, tmp_path: Path
) -> None:
    raw = _raw_copy(built, tmp_path / "raw")
    sub = raw / "2020"
    sub.mkdir()
    for report in sorted(raw.glob("*.txt"))[:3]:
        report.rename(sub / report.name)
    before = warehouse.read_bytes()
    sub.chmod(0)
    try:
        done = run(raw, warehouse, unprivileged=True)
    finally:
        sub.chmod(0o755)
    assert done.returncode != 0
    assert "cannot list directory 2020" in done.stderr and "Permission denied" in done.stderr
    assert warehouse.read_bytes() == before


def test_a_corrupt_working_file_is_rebuilt_and_a_truncated_manifest_reparsed(
    built: tuple[Path, Path], warehouse: Path, tmp_path: Path
) -> None:
    good = fact_values(warehouse)
    work = warehouse.with_name("fupin.work.duckdb")
    work.write_bytes(os.urandom(4096) + work.read_bytes()[4096 : len(work.read_bytes()) // 2])
    manifest = dbt_project.manifest_path
    manifest.write_bytes(manifest.read_bytes()[:1000])  # a run killed while dbt wrote it

    done = run(_raw_copy(built, tmp_path / "raw"), warehouse)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "working file" in done.stderr and "rebuilding it from the raw dir" in done.stderr
    assert work.with_name("fupin.work.duckdb.corrupt").exists()
    assert fact_values(warehouse) == good
    assert manifest_loads(manifest)
