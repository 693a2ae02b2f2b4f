"""A raw dir holding everything the real web serves, run with `fupin run` while a BI reader watches.

One run over: reports in UTF-8, UTF-8 with BOM, GBK, UTF-16 and Big5 (traditional script), an HTML
page with navigation and comments under a file name with spaces and Chinese characters, copies of a
report in other encodings and scripts, and bad files (empty, binary, truncated, 50 MB, no county,
unsupported type). Then a second run, with a reader holding the published warehouse open.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import opencc
import pytest

from tests.test_cli import fupin

REPO = Path(__file__).resolve().parents[1]
REPORTS = sorted((REPO / "raw").glob("*.txt"))

HTML_PAGE = """<!DOCTYPE html><html><head><meta charset="gb18030"><title>{title}_某某县人民政府</title>
<script>var analytics = 1;</script><style>.nav {{color: red}}</style></head><body>
<div class="nav"><a href="/">首页</a> &gt; <a href="/news">新闻中心</a></div>
<div class="share">分享到: 微信 微博</div>
<div class="article"><h1>{title}</h1><p>发布时间:2021-03-02 07:56 来源:郎溪发布</p>{paragraphs}</div>
<div class="comments">网友评论 0条评论 验证码</div>
<div class="footer">版权所有 某某县人民政府 皖ICP备05000000号 联系电话:0563-1234567</div>
</body></html>"""


def _text(report: Path) -> str:
    return report.read_text(encoding="utf-8")


def _html_page(report: Path) -> str:
    lines = [line.strip() for line in _text(report).splitlines() if line.strip()]
    title, body = lines[0], lines[1:]
    return HTML_PAGE.format(title=title, paragraphs="".join(f"<p>{line}</p>" for line in body))


def _messy_raw_dir(raw: Path) -> None:
    raw.mkdir(parents=True)
    anting, shandan, yian, langxi, zhenlai = REPORTS
    shutil.copy2(anting, raw / "anting.txt")
    (raw / "anting_gbk_copy.txt").write_bytes(_text(anting).encode("gb18030"))  # same text, other encoding
    (raw / "shandan_bom.txt").write_bytes(b"\xef\xbb\xbf" + _text(shandan).encode("utf-8"))
    (raw / "yian_utf16.txt").write_bytes(_text(yian).encode("utf-16"))
    (raw / "郎溪 县 报道.html").write_bytes(_html_page(langxi).encode("gb18030"))
    traditional = opencc.OpenCC("s2t").convert(_text(zhenlai))
    (raw / "zhenlai_big5.txt").write_bytes(traditional.encode("big5", errors="ignore"))
    (raw / "empty.txt").write_bytes(b"")
    (raw / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50)
    (raw / "truncated.txt").write_bytes("全县贫困发生率降至0.5%。".encode()[:-1])  # cut inside 。
    with open(raw / "huge.txt", "wb") as f:  # sparse: 50 MB on paper, no time to write
        f.truncate(50_000_000)
    (raw / "no_county.txt").write_text(
        "今天天气很好,大家一起去公园散步。贫困发生率降至1%。", encoding="utf-8"
    )
    (raw / "scan.pdf").write_bytes(b"%PDF-1.4 not a report")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> dict:
    root = tmp_path_factory.mktemp("messy")
    raw = root / "raw"
    _messy_raw_dir(raw)
    warehouse = root / "wh" / "fupin.duckdb"
    first = fupin("run", "--raw-dir", str(raw), "--warehouse", str(warehouse), cwd=root)
    assert first.returncode == 0, first.stdout.decode() + first.stderr.decode()

    # A BI tool holds the published file open, read-only, while the next run adds a report.
    reader = duckdb.connect(str(warehouse), read_only=True)
    before = reader.execute("select count(*) from fct_metric_observation").fetchone()[0]
    shutil.copy2(REPORTS[2], raw / "yian_again_as_utf8.txt")  # same text as the UTF-16 file
    (raw / "extra.txt").write_text(
        "石阡县脱贫攻坚纪实\n截至2019年底,石阡县贫困发生率降至1.2%。\n", encoding="utf-8"
    )
    second = fupin("run", "--raw-dir", str(raw), "--warehouse", str(warehouse), cwd=root)
    during = reader.execute("select count(*) from fct_metric_observation").fetchone()[0]
    reader.close()

    published_hash = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    failed = fupin("run", "--raw-dir", str(root / "no_such_dir"), "--warehouse", str(warehouse), cwd=root)
    return {
        "warehouse": warehouse,
        "first": first,
        "second": second,
        "before": before,
        "during": during,
        "failed": failed,
        "hash_before_failure": published_hash,
    }


def _query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.e2e
def test_every_bad_file_is_rejected_with_its_reason(runs: dict) -> None:
    reasons = dict(_query(runs["warehouse"], "select source_file, reason from raw.rejected_documents"))
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"] or "not text" in reasons["binary.txt"]
    assert "truncated" in reasons["truncated.txt"] or "decode" in reasons["truncated.txt"]
    assert "50.0 MB" in reasons["huge.txt"] and "limit" in reasons["huge.txt"]
    assert "county" in reasons["no_county.txt"]
    assert "unsupported file type .pdf" in reasons["scan.pdf"]
    out = runs["first"].stdout.decode()
    assert "documents rejected" in out


@pytest.mark.e2e
def test_every_encoding_and_the_html_page_are_read(runs: dict) -> None:
    counties = dict(_query(runs["warehouse"], "select source_file, county_name from raw.cleaned_documents"))
    assert counties["anting.txt"] == "安图县"
    assert counties["shandan_bom.txt"] == "山丹县"
    assert counties["yian_utf16.txt"] == "依安县"
    assert counties["郎溪 县 报道.html"] == "郎溪县"
    assert counties["zhenlai_big5.txt"] == "镇赉县"
    text = _query(
        runs["warehouse"], "select clean_text from raw.cleaned_documents where source_file like '郎溪%'"
    )
    assert "ICP" not in text[0][0] and "分享到" not in text[0][0] and "analytics" not in text[0][0]
    assert "\ufffd" not in "".join(
        t for (t,) in _query(runs["warehouse"], "select clean_text from raw.cleaned_documents")
    )


@pytest.mark.e2e
def test_copies_in_other_encodings_are_one_document(runs: dict) -> None:
    duplicates = dict(
        _query(runs["warehouse"], "select source_file, match_kind from raw.duplicate_documents")
    )
    assert duplicates["anting_gbk_copy.txt"] == "identical_text"
    assert duplicates["yian_again_as_utf8.txt"] == "identical_text"
    facts_from_copies = _query(
        runs["warehouse"],
        "select count(*) from fct_metric_observation"
        " where source_file in ('anting_gbk_copy.txt', 'yian_again_as_utf8.txt')",
    )
    assert facts_from_copies == [(0,)]


@pytest.mark.e2e
def test_traditional_script_gives_the_facts_of_its_simplified_twin(runs: dict) -> None:
    facts = _query(
        runs["warehouse"],
        "select metric_code, value from fct_metric_observation"
        " where source_file = 'zhenlai_big5.txt' order by 1, 2",
    )
    assert ("poverty_incidence", 20.9) in facts
    assert ("exited_poor_population", 35972.0) in facts


@pytest.mark.e2e
def test_a_reader_holding_the_warehouse_never_fails_a_run_nor_sees_half_of_one(runs: dict) -> None:
    assert runs["second"].returncode == 0, runs["second"].stderr.decode()
    assert runs["during"] == runs["before"]  # the reader kept its snapshot
    after = _query(runs["warehouse"], "select count(*) from fct_metric_observation")[0][0]
    assert after == runs["before"] + 1  # the new report's one fact; the UTF-8 copy added none


@pytest.mark.e2e
def test_a_failed_run_keeps_the_last_good_warehouse(runs: dict) -> None:
    assert runs["failed"].returncode != 0
    assert "no_such_dir" in runs["failed"].stderr.decode()
    assert hashlib.sha256(runs["warehouse"].read_bytes()).hexdigest() == runs["hash_before_failure"]
