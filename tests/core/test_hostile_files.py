"""Files that fight back: rewritten while read, FIFOs, devices, growing files, NULs, deep HTML."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from pipelines.core.cleaning import clean_document
from pipelines.core.decoding import decode_bytes
from pipelines.core.documents import (
    RawDirError,
    content_hash,
    iter_raw_files,
    read_file_bytes,
    read_raw_file,
    relative_source_file,
)
from pipelines.core.filestats import cache_path
from pipelines.core.html_text import MAX_NESTING, flatten_deep_nesting, html_to_article
from pipelines.core.models import RawDocument, RejectedDocument
from pipelines.core.stages import sync_raw_documents
from pipelines.core.warehouse import WarehousePaths, open_work

REPORT = (
    "东坪县光伏扶贫纪实\n"
    "截至2019年底,东坪县累计建成村级光伏电站38座,总装机容量12.6兆瓦,带动贫困户2150户稳定增收。\n"
    "全县贫困发生率由2014年的18.2%下降到0.3%。\n"
)


@pytest.mark.parametrize("cached", [False, True], ids=["every file read", "file-stat cache"])
def test_a_file_rewritten_while_it_is_read_is_read_again_next_run(tmp_path: Path, cached: bool) -> None:
    """An editor or a sync tool saves a new version while a run reads it (the file is empty for a
    moment): whatever that run recorded, the next run, with the file whole, must load the new version.
    Before, the run hashed the whole new version but judged the empty file, and skipped it forever.
    With the file-stat cache too: what it remembers of a file read mid-write must not stand for it."""
    raw = tmp_path / "raw"
    raw.mkdir()
    report = raw / "report.txt"
    paths = WarehousePaths.from_published(tmp_path / "wh" / "fupin.duckdb")
    file_stats = cache_path(paths.published) if cached else None
    for version in range(60):
        content = (REPORT * 40 + f"第{version}版\n").encode("utf-8")
        stop = threading.Event()

        def save_again_and_again(content: bytes = content, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                with open(report, "w+b") as handle:  # truncates: empty until the write
                    time.sleep(0.0005)
                    handle.write(content)
                time.sleep(0.0005)

        writer = threading.Thread(target=save_again_and_again)
        writer.start()
        try:
            with open_work(paths) as con:
                sync_raw_documents(con, raw, file_stats=file_stats)
        finally:
            stop.set()
            writer.join()
        report.write_bytes(content)
        with open_work(paths) as con:
            sync_raw_documents(con, raw, file_stats=file_stats)
            loaded = con.execute("SELECT content_hash FROM raw.raw_documents").fetchall()
        assert loaded == [(content_hash(content),)], f"version {version} was never read again"


def test_a_rejection_is_recorded_under_the_hash_of_the_bytes_judged(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "empty.txt").write_bytes(b"")
    (raw / "good.txt").write_text(REPORT, encoding="utf-8")
    paths = WarehousePaths.from_published(tmp_path / "wh" / "fupin.duckdb")
    with open_work(paths) as con:
        sync_raw_documents(con, raw)
        rows = con.execute("SELECT content_hash, reason FROM raw.rejected_documents").fetchall()
    assert rows == [(content_hash(b""), "file is empty")]


def test_a_fifo_is_rejected_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    result = read_raw_file(tmp_path, tmp_path / "pipe.txt")
    assert isinstance(result, RejectedDocument)
    assert result.reason == "not a regular file (a named pipe (FIFO))"


def test_a_symlink_to_a_device_is_rejected_without_reading_it(tmp_path: Path) -> None:
    os.symlink("/dev/zero", tmp_path / "zeros.txt")
    result = read_raw_file(tmp_path, tmp_path / "zeros.txt")
    assert isinstance(result, RejectedDocument) and result.reason == "not a regular file (a character device)"


def test_a_symlink_to_a_report_is_read(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text(REPORT, encoding="utf-8")
    (tmp_path / "raw").mkdir()
    os.symlink(elsewhere, tmp_path / "raw" / "linked.txt")
    assert isinstance(read_raw_file(tmp_path / "raw", tmp_path / "raw" / "linked.txt"), RawDocument)


def test_reading_never_goes_past_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 5000)
    assert read_file_bytes(path, max_bytes=4999) == "file is 5.0 KB, over the 4.999 KB limit for one report"
    assert read_file_bytes(path, max_bytes=5000) == b"x" * 5000


def test_a_name_that_is_not_utf8_is_shown_escaped(tmp_path: Path) -> None:
    name = os.fsdecode(b"bad_\xe9.txt")
    (tmp_path / "ok.txt").write_text(REPORT, encoding="utf-8")
    with open(os.path.join(os.fsencode(tmp_path), b"bad_\xe9.txt"), "wb") as handle:
        handle.write(REPORT.encode())
    listed = [relative_source_file(tmp_path, p) for p in iter_raw_files(tmp_path)]
    assert listed == ["bad_\\xe9.txt", "ok.txt"]
    result = read_raw_file(tmp_path, tmp_path / name)
    assert isinstance(result, RejectedDocument)
    assert (result.source_file, result.stage) == ("bad_\\xe9.txt", "read")
    assert "not valid UTF-8" in result.reason


def test_a_raw_dir_that_cannot_be_listed_raises(tmp_path: Path) -> None:
    with pytest.raises(RawDirError, match="cannot list the raw dir"):
        list(iter_raw_files(tmp_path / "not_there"))


def test_a_raw_dir_without_a_readable_file_changes_nothing(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text(REPORT, encoding="utf-8")
    paths = WarehousePaths.from_published(tmp_path / "wh" / "fupin.duckdb")
    with open_work(paths) as con:
        sync_raw_documents(con, raw)
    (raw / "a.txt").unlink()
    os.mkfifo(raw / "a.txt")  # the only file left cannot be read
    with open_work(paths) as con:
        with pytest.raises(RawDirError, match="has no readable file"):
            sync_raw_documents(con, raw)
        assert con.execute("SELECT source_file FROM raw.raw_documents").fetchall() == [("a.txt",)]


def test_a_stray_nul_byte_is_dropped_from_valid_text() -> None:
    data = REPORT.encode("utf-8")
    text, codec = decode_bytes(data[:20] + b"\x00" + data[20:])
    assert (text, codec) == (REPORT, "utf-8")
    gbk = REPORT.encode("gb18030")
    assert decode_bytes(gbk[:30] + b"\x00" + gbk[30:])[0] == REPORT


def test_control_characters_are_stripped_from_valid_text() -> None:
    text, _ = decode_bytes(("东坪县\x08脱贫\x1b攻坚\n" + REPORT).encode("utf-8"))
    assert text.startswith("东坪县脱贫攻坚\n")


def test_many_nul_bytes_are_still_binary() -> None:
    with pytest.raises(ValueError, match="NUL bytes"):
        decode_bytes(REPORT.encode() + b"\x00\x00\x00\x00")


def _deep(article: str, depth: int) -> str:
    return "<html><body>" + "<div>" * depth + article + "</div>" * depth + "</body></html>"


ARTICLE = "".join(f"<p>{line}</p>" for line in REPORT.splitlines()[1:])


@pytest.mark.parametrize("depth", [300, 100_000])
def test_a_deeply_nested_page_keeps_its_article(depth: int) -> None:
    page = _deep(ARTICLE, depth)
    cleaned = clean_document(page, is_html=True)
    assert "总装机容量12.6兆瓦" in cleaned.text and "下降到0.3%" in cleaned.text


def test_flattening_keeps_shallow_pages_as_they_are_and_caps_deep_ones() -> None:
    shallow = _deep(ARTICLE, 20)
    assert flatten_deep_nesting(shallow) is shallow
    flat = flatten_deep_nesting(_deep(ARTICLE, 5000))
    assert flat.count("<div>") == MAX_NESTING - 2  # <html> and <body> hold two levels
    assert html_to_article(flat).text == html_to_article(shallow).text


def test_stray_closing_tags_cost_no_time() -> None:
    page = "<div>" * 50_000 + "</span>" * 50_000 + ARTICLE
    assert "0.3%" in flatten_deep_nesting(page)


def test_the_sensor_remembers_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    import json

    from pipelines.sensors import snapshot_raw_dir

    with open(os.path.join(os.fsencode(tmp_path), b"bad_\xe9.txt"), "wb") as handle:
        handle.write(REPORT.encode())
    snapshot = snapshot_raw_dir(tmp_path)
    assert list(snapshot) == ["bad_\\xe9.txt"]
    json.dumps(snapshot, ensure_ascii=False).encode("utf-8")  # the cursor: must be storable text
