import datetime as dt
import json
import os
from pathlib import Path

import pytest

from pipelines.core.cleaning import clean_document
from pipelines.core.documents import (
    SUPPORTED_SUFFIXES,
    content_hash,
    document_id,
    iter_raw_files,
    read_raw_file,
    text_fingerprint,
)
from pipelines.core.models import RawDocument, RejectedDocument

REPORT = (
    "东坪县光伏扶贫纪实\n\n"
    "全县建档立卡贫困户人均纯收入达到9860元，贫困发生率由2015年底的12.3%下降到0.5%。\n\n"
    "该县整合涉农资金3.2亿元，新建扶贫车间46个，带动贫困群众就业1580人。\n"
)
REPORT_TRADITIONAL = (
    "東坪縣光伏扶貧紀實\n\n"
    "全縣建檔立卡貧困戶人均純收入達到9860元，貧困發生率由2015年底的12.3%下降到0.5%。\n\n"
    "該縣整合涉農資金3.2億元，新建扶貧車間46個，帶動貧困群眾就業1580人。\n"
)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_supported_suffixes():
    assert {".txt", ".html", ".htm"} == set(SUPPORTED_SUFFIXES)


def test_iter_raw_files_is_recursive_sorted_and_skips_only_hidden_and_our_sidecars(tmp_path):
    for name in [
        "b.txt",
        "a.html",
        "sub/c.htm",
        "sub/deeper/d.txt",
        "report.pdf",
        "scraped/h/x.html",
        "scraped/h/x.html.meta.json",
        "sources.yaml",
        "sources.csv",
        ".hidden.txt",
        ".git/config",
        "sub/.part.html",
    ]:
        _write(tmp_path / name, b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_raw_files(tmp_path)]
    assert found == ["a.html", "b.txt", "report.pdf", "scraped/h/x.html", "sub/c.htm", "sub/deeper/d.txt"]


def test_read_utf8_file_with_spaces_and_chinese_in_its_name(tmp_path):
    data = REPORT.encode("utf-8")
    path = _write(tmp_path / "2020 报告" / "东坪 县 脱贫.txt", data)
    doc = read_raw_file(tmp_path, path)
    assert isinstance(doc, RawDocument)
    assert doc.source_file == "2020 报告/东坪 县 脱贫.txt"
    assert doc.content_hash == content_hash(data)
    assert doc.document_id == document_id(doc.content_hash) == doc.content_hash[:16]
    assert doc.byte_size == len(data)
    assert (doc.encoding, doc.text, doc.is_html) == ("utf-8", REPORT, False)
    assert doc.url is None and doc.fetched_at is None
    # A relative path works the same.
    assert read_raw_file(tmp_path, Path("2020 报告/东坪 县 脱贫.txt")) == doc


def test_read_gb18030_and_big5_files(tmp_path):
    gb = read_raw_file(tmp_path, _write(tmp_path / "gb.txt", REPORT.encode("gb18030")))
    big5 = read_raw_file(tmp_path, _write(tmp_path / "big5.txt", REPORT_TRADITIONAL.encode("big5")))
    assert (gb.encoding, gb.text) == ("gb18030", REPORT)
    assert (big5.encoding, big5.text) == ("big5", REPORT_TRADITIONAL)


def test_html_meta_charset_is_used(tmp_path):
    html = (
        '<html><head><meta charset="gbk"><title>东坪县光伏扶贫纪实</title></head>'
        f"<body><p>{REPORT}</p></body></html>"
    )
    doc = read_raw_file(tmp_path, _write(tmp_path / "page.htm", html.encode("gb18030")))
    assert (doc.encoding, doc.is_html) == ("gb18030", True)
    assert doc.text == html


def test_txt_file_holding_html_is_html(tmp_path):
    doc = read_raw_file(
        tmp_path, _write(tmp_path / "saved.txt", b"\xef\xbb\xbf<!DOCTYPE html><html><p>x</p></html>")
    )
    assert doc.is_html


def test_sidecar_gives_url_and_fetch_time(tmp_path):
    path = _write(tmp_path / "scraped" / "example.org" / "abc.html", b"<html><p>ok</p></html>")
    meta = {
        "url": "http://example.org/a",
        "final_url": "https://example.org/a",
        "fetched_at": "2024-05-01T08:30:00+00:00",
        "status": 200,
        "content_type": "text/html",
        "declared_charset": None,
    }
    _write(path.with_name("abc.html.meta.json"), json.dumps(meta).encode())
    doc = read_raw_file(tmp_path, path)
    assert doc.url == "https://example.org/a"
    assert doc.fetched_at == dt.datetime(2024, 5, 1, 8, 30)


@pytest.mark.parametrize(
    ("name", "data", "stage", "reason"),
    [
        ("empty.txt", b"", "read", "file is empty"),
        ("binary.txt", b"\x00\x01\x02\x03" * 100, "decode", "bytes are not text (binary data"),
        ("cut.txt", REPORT.rstrip("\n").encode("utf-8")[:-1], "decode", "cannot decode: truncated UTF-8"),
        ("report.pdf", b"%PDF-1.4", "read", "unsupported file type .pdf"),
        ("README", b"hello", "read", "unsupported file type (no extension)"),
        ("blank.txt", b" \n\n\t ", "decode", "file has no text"),
    ],
)
def test_rejections_name_the_problem(tmp_path, name, data, stage, reason):
    result = read_raw_file(tmp_path, _write(tmp_path / name, data))
    assert isinstance(result, RejectedDocument)
    assert result.source_file == name
    assert result.stage == stage
    assert result.reason.startswith(reason), result.reason


def test_oversized_file_is_rejected_without_reading_it(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:  # sparse: instant, no 50 MB written
        fh.truncate(50_000_000)
    result = read_raw_file(tmp_path, path)
    assert isinstance(result, RejectedDocument)
    assert result.reason == "file is 50.0 MB, over the 20 MB limit for one report"
    small = _write(tmp_path / "small.txt", b"x" * 1500)
    assert (
        read_raw_file(tmp_path, small, max_bytes=1000).reason
        == "file is 1.5 KB, over the 1 KB limit for one report"
    )


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_permission_denied(tmp_path):
    path = _write(tmp_path / "locked.txt", REPORT.encode())
    path.chmod(0)
    try:
        result = read_raw_file(tmp_path, path)
    finally:
        path.chmod(0o644)
    assert result.reason == "permission denied"


def test_decode_rejection_carries_the_content_hash(tmp_path):
    data = b"\x00" * 64
    result = read_raw_file(tmp_path, _write(tmp_path / "zeros.txt", data))
    assert result.content_hash == content_hash(data)


def test_fingerprint_is_the_same_across_encoding_script_and_template(tmp_path):
    plain = read_raw_file(tmp_path, _write(tmp_path / "a.txt", REPORT.encode("utf-8")))
    html = (
        '<html><head><meta charset="big5"><title>東坪縣光伏扶貧紀實_東坪縣人民政府</title></head><body>'
        '<div class="nav">首頁 | 新聞</div><div class="content">'
        + "".join(f"<p>{line}</p>" for line in REPORT_TRADITIONAL.split("\n") if line)
        + '</div><div class="footer">版權所有 東坪縣人民政府</div></body></html>'
    )
    page = read_raw_file(tmp_path, _write(tmp_path / "b.html", html.encode("big5")))
    assert page.encoding == "big5"
    a = clean_document(plain.text, is_html=plain.is_html)
    b = clean_document(page.text, is_html=page.is_html)
    assert text_fingerprint(a.text) == text_fingerprint(b.text)
    # Whitespace, line breaks and punctuation width do not matter; the words do.
    assert text_fingerprint("贫困户 1580 人。\n脱贫") == text_fingerprint("贫困户1580人,脱贫")
    assert text_fingerprint("贫困户1580人") != text_fingerprint("贫困户1581人")


def test_files_listed_under_a_relative_raw_dir_can_be_read(tmp_path, monkeypatch):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.txt").write_text("石阡县贫困发生率降至1.2%。", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    (path,) = list(iter_raw_files("raw"))
    doc = read_raw_file("raw", path)
    assert (type(doc).__name__, doc.source_file) == ("RawDocument", "a.txt")
