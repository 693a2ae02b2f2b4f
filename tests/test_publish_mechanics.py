"""Publishing mechanics on real DuckDB files: what lies beside the files never changes what is published."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.core.warehouse import (
    ShrinkLimit,
    ShrinkRefused,
    WarehousePaths,
    open_work,
    publish,
    recover_work_file,
    wal_path,
)


def _build(paths: WarehousePaths, documents: list[str]) -> None:
    with open_work(paths) as con:
        con.execute("CREATE OR REPLACE TABLE main.dim_document (source_file VARCHAR)")
        for document in documents:
            con.execute("INSERT INTO main.dim_document VALUES (?)", [document])


def _documents(path: Path) -> list[str]:
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "rows = con.execute('SELECT source_file FROM main.dim_document ORDER BY 1').fetchall(); "
        "print(','.join(r[0] for r in rows))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True)
    return [d for d in out.stdout.strip().split(",") if d]


@pytest.fixture()
def paths(tmp_path: Path) -> WarehousePaths:
    return WarehousePaths.from_published(tmp_path / "wh" / "fupin.duckdb")


def test_a_stale_log_beside_the_published_file_is_removed_before_the_swap(paths: WarehousePaths) -> None:
    _build(paths, ["a.txt", "b.txt"])
    publish(paths)
    os.chmod(paths.published, 0o644)
    writer = (
        "import duckdb, os, sys; con = duckdb.connect(sys.argv[1]); "
        "con.execute(\"UPDATE main.dim_document SET source_file = 'x'\"); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", writer, str(paths.published)], check=True)
    assert wal_path(paths.published).exists()
    publish(paths)
    assert not wal_path(paths.published).exists()
    assert _documents(paths.published) == ["a.txt", "b.txt"]


def test_publish_refuses_to_remove_most_documents(paths: WarehousePaths) -> None:
    _build(paths, [f"{i}.txt" for i in range(10)])
    publish(paths)
    before = paths.published.read_bytes()
    _build(paths, ["0.txt", "1.txt", "2.txt", "3.txt"])  # 6 of 10 gone
    with pytest.raises(ShrinkRefused, match=r"remove 6 of the 10 published documents \(60%"):
        publish(paths)
    assert paths.published.read_bytes() == before
    publish(paths, ShrinkLimit(max_share=0.6))
    assert len(_documents(paths.published)) == 4
    _build(paths, [])
    publish(paths, ShrinkLimit(allowed=True))
    assert _documents(paths.published) == []


def test_publish_removes_temporary_copies_a_crash_left(paths: WarehousePaths) -> None:
    _build(paths, ["a.txt"])
    paths.directory.mkdir(parents=True, exist_ok=True)
    for pid in (123, 456):
        paths.temp_copy(pid).write_bytes(b"partial")
    publish(paths)
    assert not list(paths.directory.glob(".*.tmp"))


def test_a_truncated_working_file_is_moved_aside_and_rebuilt(paths: WarehousePaths) -> None:
    _build(paths, ["a.txt"])
    data = paths.work.read_bytes()
    paths.work.write_bytes(data[: len(data) // 3])
    message = recover_work_file(paths)
    assert message and "rebuilding it from the raw dir" in message
    assert paths.corrupt_work.exists() and not paths.work.exists()
    with open_work(paths) as con:  # a fresh, empty working file
        assert con.execute("SELECT count(*) FROM raw.raw_documents").fetchone() == (0,)


def test_a_working_file_found_corrupt_by_a_stage_is_moved_aside(paths: WarehousePaths) -> None:
    _build(paths, ["a.txt"])
    with pytest.raises(duckdb.Error), open_work(paths):
        raise duckdb.IOException(
            "Corrupt database file: computed checksum 1 does not match stored checksum 2"
        )
    assert paths.corrupt_work.exists() and not paths.work.exists()


def test_a_lock_held_by_another_program_is_not_mistaken_for_corruption(paths: WarehousePaths) -> None:
    _build(paths, ["a.txt"])
    code = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print(1, flush=True); time.sleep(30)"
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(paths.work)], stdout=subprocess.PIPE, text=True
    )
    try:
        holder.stdout.readline()
        with pytest.raises(duckdb.Error, match="lock"), open_work(paths):
            pass
    finally:
        holder.kill()
        holder.wait()
    assert paths.work.exists() and not paths.corrupt_work.exists()
