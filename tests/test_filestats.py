"""The file-stat cache (pipelines/core/filestats.py): an unchanged raw file is not read again, and
nothing the cache holds can make the no-op check or ingestion take a changed file for unchanged.

Real files, real DuckDB, the real stages and check. Whether a file was read is told by the kernel:
/proc/self/io's rchar counts the bytes this process read through read(2)/pread(2), so each raw file
here is large (MBs) next to what DuckDB reads of its small file. The racy rule makes a file written
less than RACY_MARGIN_NS ago untrusted, so the raw dirs the tests start from are written once and
aged (one wait for the module).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from pipelines.core import filestats
from pipelines.core.documents import RawDirError, content_hash
from pipelines.core.filestats import FileStats, cache_path
from pipelines.core.stages import StageStats, sync_raw_documents
from pipelines.core.uptodate import raw_files_out_of_sync
from pipelines.core.warehouse import WarehousePaths, connect, open_work
from tests.conftest import wait_until_not_racy

T = TypeVar("T")
FILES = 4
REPORT_LINE = "截至2019年底,东坪县累计建成村级光伏电站38座,总装机容量12.6兆瓦,带动贫困户2150户稳定增收。\n"
DIRS = ("unchanged", "utime", "inode", "restored", "damaged", "agree", "force", "readable")


def report(number: int) -> bytes:
    """About 3 MB of report text: reading it shows in rchar well above DuckDB's own reads of its file
    (under 1 MB here, whatever the query)."""
    return (f"东坪县第{number}号报告\n" + REPORT_LINE * 24_000).encode("utf-8")


def rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def bytes_read(action: Callable[[], T]) -> tuple[T, int]:
    before = rchar()
    result = action()
    return result, rchar() - before


def raw_bytes(raw: Path) -> int:
    return sum(p.stat().st_size for p in raw.iterdir())


def smallest_file(raw: Path) -> int:
    return min(p.stat().st_size for p in raw.iterdir() if p.is_file())


@pytest.fixture(scope="module")
def aged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A raw dir of FILES large reports per test, written once and aged past the racy window."""
    root = tmp_path_factory.mktemp("aged")
    dirs = {}
    for name in DIRS:
        raw = root / name
        raw.mkdir()
        for i in range(FILES):
            (raw / f"report_{i}.txt").write_bytes(report(i))
        dirs[name] = raw
    wait_until_not_racy(*(p for raw in dirs.values() for p in raw.iterdir()))
    return dirs


def ingest(raw: Path, paths: WarehousePaths) -> StageStats:
    with open_work(paths) as con:
        return sync_raw_documents(con, raw, file_stats=cache_path(paths.published))


def check(raw: Path, paths: WarehousePaths) -> list[str]:
    """What the no-op check does with the raw tables (here the working file's) and the cache."""
    stats = FileStats.load(cache_path(paths.published), raw)
    con = connect(paths.work, read_only=True)
    try:
        changed = raw_files_out_of_sync(con, raw, None, stats)
    finally:
        con.close()
    stats.save()
    return changed


def warehouse(tmp_path: Path) -> WarehousePaths:
    return WarehousePaths.from_published(tmp_path / "wh" / "fupin.duckdb")


def test_unchanged_files_are_not_read_again(aged: dict[str, Path], tmp_path: Path) -> None:
    raw, paths = aged["unchanged"], warehouse(tmp_path)
    first, read = bytes_read(lambda: ingest(raw, paths))
    assert first.written == FILES and read >= raw_bytes(raw)  # every file read once

    again, read = bytes_read(lambda: ingest(raw, paths))
    assert (again.skipped, again.processed) == (FILES, 0)
    assert read < smallest_file(raw)  # less than one file: none was read

    changed, read = bytes_read(lambda: check(raw, paths))
    assert changed == [] and read < smallest_file(raw)

    # Without a cache the same check reads every file (what it did before the cache).
    con = connect(paths.work, read_only=True)
    try:
        changed, read = bytes_read(lambda: raw_files_out_of_sync(con, raw))
    finally:
        con.close()
    assert changed == [] and read >= raw_bytes(raw)


def test_new_bytes_behind_the_old_size_and_mtime_are_noticed(aged: dict[str, Path], tmp_path: Path) -> None:
    """os.utime puts the old mtime back, but no user can put ctime back."""
    raw, paths = aged["utime"], warehouse(tmp_path)
    ingest(raw, paths)
    target = raw / "report_1.txt"
    before = target.stat()
    new = report(1).replace("第1号".encode(), "第9号".encode())
    assert len(new) == before.st_size
    target.write_bytes(new)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )

    assert check(raw, paths) == ["report_1.txt"]
    stats = ingest(raw, paths)
    assert (stats.processed, stats.skipped) == (1, FILES - 1)
    with open_work(paths) as con:
        (loaded,) = con.execute(
            "SELECT content_hash FROM raw.raw_documents WHERE source_file = 'report_1.txt'"
        ).fetchone()
    assert loaded == content_hash(new)
    assert check(raw, paths) == []


def test_a_file_written_within_the_racy_window_is_read_again(tmp_path: Path) -> None:
    raw, paths = tmp_path / "raw", warehouse(tmp_path)
    raw.mkdir()
    fresh = raw / "fresh.txt"
    fresh.write_bytes(report(0))
    ingest(raw, paths)  # right after the write: the file may still change within its timestamp tick

    changed, read = bytes_read(lambda: check(raw, paths))
    assert changed == [] and read >= fresh.stat().st_size  # read again, not taken from the cache

    wait_until_not_racy(fresh)
    check(raw, paths)  # read once more, now remembered
    changed, read = bytes_read(lambda: check(raw, paths))
    assert changed == [] and read < fresh.stat().st_size


def test_an_entry_for_another_inode_is_not_used(aged: dict[str, Path], tmp_path: Path) -> None:
    """Everything of the entry matches but the inode (another file had that name): the file is read,
    and its new bytes are seen although the entry claims the old ones."""
    raw, paths = aged["inode"], warehouse(tmp_path)
    ingest(raw, paths)
    target = raw / "report_2.txt"
    new = report(2).replace("第2号".encode(), "第8号".encode())
    target.write_bytes(new)
    info = target.stat()
    cache = cache_path(paths.published)
    record = json.loads(cache.read_text())
    old_hash = record["files"]["report_2.txt"][5]
    assert old_hash == content_hash(report(2))
    record["files"]["report_2.txt"] = [
        info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino + 1, info.st_dev, old_hash,
    ]  # fmt: skip
    cache.write_text(json.dumps(record))

    assert check(raw, paths) == ["report_2.txt"]
    assert ingest(raw, paths).processed == 1


def test_a_raw_dir_restored_from_a_copy_is_read_once_then_remembered(
    aged: dict[str, Path], tmp_path: Path
) -> None:
    """The same path, the same names, sizes and mtimes (copied with them), but every inode new."""
    raw, paths = aged["restored"], warehouse(tmp_path)
    ingest(raw, paths)
    copy = tmp_path / "copy"
    shutil.copytree(raw, copy)  # copy2: mtimes kept
    raw.rename(tmp_path / "old")
    copy.rename(raw)
    wait_until_not_racy(*raw.iterdir())

    changed, read = bytes_read(lambda: check(raw, paths))
    assert changed == [] and read >= raw_bytes(raw)
    changed, read = bytes_read(lambda: check(raw, paths))
    assert changed == [] and read < smallest_file(raw)
    assert ingest(raw, paths).skipped == FILES


@pytest.mark.parametrize("damage", ["absent", "garbage", "truncated", "other raw dir", "wrong shapes"])
def test_a_damaged_or_absent_cache_costs_one_full_read_and_nothing_else(
    aged: dict[str, Path], tmp_path: Path, damage: str
) -> None:
    raw, paths = aged["damaged"], warehouse(tmp_path)
    ingest(raw, paths)
    cache = cache_path(paths.published)
    text = cache.read_text()
    record = json.loads(text)
    if damage == "absent":
        cache.unlink()
    elif damage == "garbage":
        cache.write_bytes(b"\x00\xff not json")
    elif damage == "truncated":
        cache.write_text(text[: len(text) // 2])
    elif damage == "other raw dir":
        cache.write_text(json.dumps(record | {"raw_dir": str(tmp_path)}))
    else:
        cache.write_text(json.dumps(record | {"files": {n: {"x": 1} for n in record["files"]}}))

    changed, read = bytes_read(lambda: check(raw, paths))
    assert changed == [] and read >= raw_bytes(raw)
    stats, read = bytes_read(lambda: ingest(raw, paths))  # the check wrote the cache again
    assert (stats.skipped, stats.processed, stats.removed) == (FILES, 0, 0)
    assert read < smallest_file(raw)


def test_the_check_and_ingestion_agree(aged: dict[str, Path], tmp_path: Path) -> None:
    raw, paths = aged["agree"], warehouse(tmp_path)
    ingest(raw, paths)
    os.utime(raw / "report_0.txt")  # touched: same bytes, new identity
    (raw / "report_1.txt").write_bytes(report(1) + "又一段。\n".encode())  # changed
    (raw / "report_3.txt").unlink()  # removed
    (raw / "report_4.txt").write_bytes(report(4))  # new

    changed = check(raw, paths)
    assert changed == ["report_1.txt", "report_3.txt", "report_4.txt"]
    stats = ingest(raw, paths)
    assert (stats.processed, stats.skipped, stats.written, stats.removed) == (2, 2, 2, 1)
    assert check(raw, paths) == []


def test_force_reads_every_file(
    aged: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fupin run --force` sets FUPIN_REREAD_RAW for its steps: no file is taken from the cache."""
    raw, paths = aged["force"], warehouse(tmp_path)
    ingest(raw, paths)
    monkeypatch.setenv(filestats.REREAD_ENV, "1")
    stats, read = bytes_read(lambda: ingest(raw, paths))
    assert stats.skipped == FILES and read >= raw_bytes(raw)
    monkeypatch.delenv(filestats.REREAD_ENV)
    stats, read = bytes_read(lambda: ingest(raw, paths))  # what the forced run read is remembered
    assert stats.skipped == FILES and read < smallest_file(raw)


def test_a_cached_file_counts_as_readable(aged: dict[str, Path], tmp_path: Path) -> None:
    """A raw dir with no readable file still stops ingestion; one whose files were read unchanged
    before does not, although nothing is read now."""
    raw, paths = aged["readable"], warehouse(tmp_path)
    ingest(raw, paths)
    os.mkfifo(raw / "pipe.txt")
    stats, read = bytes_read(lambda: ingest(raw, paths))
    assert (stats.skipped, stats.rejected) == (FILES, 1) and read < smallest_file(raw)

    only_fifo = tmp_path / "only_fifo"
    only_fifo.mkdir()
    os.mkfifo(only_fifo / "pipe.txt")
    with pytest.raises(RawDirError, match="no readable file"):
        ingest(only_fifo, warehouse(tmp_path / "other"))


def test_saving_removes_the_copies_killed_savers_left_and_only_theirs(tmp_path: Path) -> None:
    cache = tmp_path / "fupin.filestats.json"
    ended = subprocess.Popen(["true"])
    ended.wait()
    abandoned = tmp_path / f".{cache.name}.{ended.pid}.tmp"
    in_progress = tmp_path / f".{cache.name}.{os.getppid()}.tmp"  # a live process's save
    for leftover in (abandoned, in_progress):
        leftover.write_text('{"format": 1, "raw_d', encoding="utf-8")
    stats = FileStats(cache, os.fspath(tmp_path))
    stats.seen["a.txt"] = [1, 2, 3, 4, 5, "hash"]
    stats.save()
    assert not abandoned.exists()
    assert in_progress.exists()
    assert json.loads(cache.read_bytes())["files"] == {"a.txt": [1, 2, 3, 4, 5, "hash"]}
