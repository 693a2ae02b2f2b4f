"""Publishing is atomic: readers keep their snapshot, a failed run keeps the last good warehouse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.core.stages import insert_rows
from pipelines.core.tables import RAW_TABLES
from pipelines.core.warehouse import (
    WarehouseError,
    WarehousePaths,
    connect,
    describe_warehouse,
    open_work,
    publish,
)


def _write(paths: WarehousePaths, rows: int) -> None:
    with open_work(paths) as con:
        con.execute("CREATE OR REPLACE TABLE main.numbers AS SELECT range AS n FROM range(?)", [rows])


def _count_in_new_process(path: Path) -> int:
    """A fresh process: DuckDB caches open databases per process, so a new reader must be elsewhere."""
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.execute('SELECT count(*) FROM main.numbers').fetchone()[0])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def test_paths_sit_beside_the_published_file(tmp_path: Path) -> None:
    paths = WarehousePaths.from_published(tmp_path / "wh" / "fupin.duckdb")
    assert paths.work == tmp_path / "wh" / "fupin.work.duckdb"
    assert paths.work.parent == paths.published.parent == paths.lock.parent == paths.dbt_target.parent


def test_work_file_gets_every_raw_table(tmp_path: Path) -> None:
    paths = WarehousePaths.from_published(tmp_path / "fupin.duckdb")
    with open_work(paths) as con:
        found = con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()
    tables = {name for (name,) in found}
    assert tables == set(RAW_TABLES)
    assert not paths.published.exists()  # working never touches the published file


def test_a_work_file_from_an_older_version_gains_the_new_columns(tmp_path: Path) -> None:
    paths = WarehousePaths.from_published(tmp_path / "fupin.duckdb")
    old = {name: kind for name, kind in RAW_TABLES["cleaned_documents"].items() if name != "is_work_report"}
    with connect(paths.work) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute(f"CREATE TABLE raw.cleaned_documents ({', '.join(f'{n} {k}' for n, k in old.items())})")
    with open_work(paths) as con:
        insert_rows(
            con, "cleaned_documents", [{"document_id": "d1", "source_file": "a.txt", "is_work_report": True}]
        )
        row = con.execute(
            "SELECT document_id, source_file, is_work_report FROM raw.cleaned_documents"
        ).fetchone()
    assert row == ("d1", "a.txt", True)


def test_reader_keeps_its_snapshot_during_publish(tmp_path: Path) -> None:
    paths = WarehousePaths.from_published(tmp_path / "fupin.duckdb")
    _write(paths, 10)
    publish(paths)

    reader = duckdb.connect(str(paths.published), read_only=True)
    try:
        assert reader.execute("SELECT count(*) FROM numbers").fetchone()[0] == 10
        _write(paths, 1000)
        publish(paths)
        # The open reader still works and still sees the old data, also reading whole columns.
        assert reader.execute("SELECT count(*), sum(n) FROM numbers").fetchone() == (10, 45)
        # A new reader sees the new warehouse.
        assert _count_in_new_process(paths.published) == 1000
    finally:
        reader.close()
    described = describe_warehouse(paths.published)
    assert ("main", "numbers", 1000) in described
    assert {t for s, t, _ in described if s == "raw"} == set(RAW_TABLES)


def test_failed_run_keeps_the_last_good_warehouse(tmp_path: Path) -> None:
    paths = WarehousePaths.from_published(tmp_path / "fupin.duckdb")
    _write(paths, 10)
    publish(paths)
    before = paths.published.read_bytes()

    with pytest.raises(RuntimeError), open_work(paths) as con:  # a run that dies half-way
        con.execute("CREATE OR REPLACE TABLE main.numbers AS SELECT range AS n FROM range(5)")
        raise RuntimeError("stage failed")

    assert paths.published.read_bytes() == before
    assert _count_in_new_process(paths.published) == 10
    assert not list(tmp_path.glob("*.tmp"))


def test_publish_without_work_file_fails_clearly(tmp_path: Path) -> None:
    paths = WarehousePaths.from_published(tmp_path / "fupin.duckdb")
    with pytest.raises(WarehouseError, match="nothing to publish"):
        publish(paths)
    assert not paths.published.exists()


def test_read_only_connect_to_missing_warehouse_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="run `fupin run` first"):
        connect(tmp_path / "missing.duckdb", read_only=True)


def test_connections_work_within_the_configured_memory_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.core.warehouse import MEMORY_LIMIT_ENV, WarehouseError, connect

    def limit() -> str:
        con = connect(tmp_path / f"limit-{len(list(tmp_path.iterdir()))}.duckdb")
        try:
            return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        finally:
            con.close()

    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    assert limit() == "244.1 MiB"  # 256MB, shown by DuckDB in binary units
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1GB")
    assert limit() == "953.6 MiB"  # 1GB
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(WarehouseError, match=f"{MEMORY_LIMIT_ENV}='lots' is not a size"):
        connect(tmp_path / "refused.duckdb")
