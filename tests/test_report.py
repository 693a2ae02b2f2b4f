"""The static HTML report, built from a real warehouse (raw tables + a real `dbt build`).

The sample warehouse has two counties in two provinces, a conflicting county-year, a figure with
no year, and sentences and titles with characters HTML must escape (< & ").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from pipelines.core.report import (
    ReportData,
    build_report,
    format_value,
    nice_ticks,
    render_html,
)
from pipelines.core.warehouse import WarehouseError
from tests.test_dbt_project import _create_raw, _dbt_build, _fact, _insert

ANTU, DUAN = "222426", "451228"
D1, D2, D3 = "a1a1a1a1a1a1a1a1", "b2b2b2b2b2b2b2b2", "c3c3c3c3c3c3c3c3"

S_2018_OLD = "截至2018年底,全县有建档立卡贫困人口1.2万人。"
S_2018_NEW = "2018年全县建档立卡贫困人口12500人,较上年减少<一半>。"
S_2019 = "2019年底贫困人口降至3000人,“两不愁三保障”&饮水安全全面实现。"
S_UNDATED = '农民人均纯收入达8000余元<script>alert("x")</script>。'
S_DUAN = '2019年农村居民人均可支配收入9800元,"产业&就业"双增收。'


def _populate(con: duckdb.DuckDBPyConnection) -> None:
    _insert(con, "county_gazetteer", [
        {"county_code": DUAN, "county_name": "都安瑶族自治县", "county_kind": "自治县",
         "prefecture_code": "451200", "prefecture_name": "河池市", "province_code": "450000",
         "province_name": "广西壮族自治区"},
        {"county_code": ANTU, "county_name": "安图县", "county_kind": "县", "prefecture_code": "222400",
         "prefecture_name": "延边朝鲜族自治州", "province_code": "220000", "province_name": "吉林省"},
    ])  # fmt: skip
    _insert(con, "metric_catalog", [
        {"metric_code": "registered_poor_population", "name_zh": "建档立卡贫困人口",
         "name_en": "Registered poor population", "unit": "person",
         "category": "poverty_population_and_villages", "description": "People registered as poor.",
         "keywords": "建档立卡贫困人口"},
        {"metric_code": "rural_income_per_capita", "name_zh": "农村居民人均可支配收入",
         "name_en": "Rural disposable income per capita", "unit": "yuan", "category": "income",
         "description": "Disposable income per rural resident.", "keywords": "农民人均纯收入"},
    ])  # fmt: skip
    documents = [
        (D1, "000_antu_2019.txt", (ANTU, "安图县"), "安图县2018年<脱贫>总结 & 展望", dt.date(2019, 3, 1)),
        (D2, "001_antu_2020.html", (ANTU, "安图县"), "安图之变", dt.date(2020, 10, 15)),
        (D3, "002_duan.txt", (DUAN, "都安瑶族自治县"), "都安县农民增收见闻", dt.date(2020, 1, 5)),
    ]
    _insert(con, "raw_documents", [
        {"source_file": f, "document_id": d, "content_hash": d * 4, "byte_size": 1024, "encoding": "utf-8",
         "is_html": f.endswith(".html"), "raw_text": t, "loaded_at": dt.datetime(2025, 1, 1)}
        for d, f, _c, t, _p in documents
    ])  # fmt: skip
    _insert(con, "cleaned_documents", [
        {"document_id": d, "source_file": f, "content_hash": d * 4, "text_fingerprint": d[::-1],
         "title": t, "published_date": p, "county_code": c[0], "county_name": c[1], "clean_text": t,
         "char_count": 1000, "cleaner_version": "test-1"}
        for d, f, c, t, p in documents
    ])  # fmt: skip
    antu, duan = (ANTU, "安图县"), (DUAN, "都安瑶族自治县")
    pop, income = "registered_poor_population", "rural_income_per_capita"
    facts = [
        # 2018: the later report says 12500, the earlier 12000: a conflict, 12500 chosen.
        _fact("f1", D1, "000_antu_2019.txt", antu, pop, 2018, 12000.0, "person", S_2018_OLD, 10),
        _fact("f2", D2, "001_antu_2020.html", antu, pop, 2018, 12500.0, "person", S_2018_NEW, 20),
        _fact("f3", D2, "001_antu_2020.html", antu, pop, 2019, 3000.0, "person", S_2019, 90),
        # No year: listed under the chart, not plotted.
        _fact("f4", D2, "001_antu_2020.html", antu, income, None, 8000.0, "yuan", S_UNDATED, 200,
              qualifier="余"),
        _fact("f5", D3, "002_duan.txt", duan, income, 2019, 9800.0, "yuan", S_DUAN, 30),
    ]  # fmt: skip
    _insert(con, "extracted_facts", facts)
    _insert(con, "validated_facts", facts)


def build_sample_warehouse(work: Path) -> Path:
    """A warehouse file built like a real run: raw tables, then `dbt build` (~10 s)."""
    database = work / "fupin.duckdb"
    con = _create_raw(database)
    try:
        _populate(con)
    finally:
        con.close()
    _dbt_build(database, work)
    return database


class _Tags(HTMLParser):
    """Counts the start tags of a page, to check structure rather than substrings."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def _section(page: str, county_code: str) -> str:
    start = page.index(f'<section class="county" id="county-{county_code}">')
    return page[start : page.index("</section>", start)]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------ fixtures


_SAMPLE: dict[str, Path] = {}


def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample warehouse, built once per session: test_docs_browser.py uses it too, and a
    dbt build takes 15-35 s. Its dbt target dir (with partial_parse.msgpack) is beside it."""
    if "path" not in _SAMPLE:
        _SAMPLE["path"] = build_sample_warehouse(tmp_path_factory.mktemp("sample_warehouse"))
    return _SAMPLE["path"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse(tmp_path_factory)


@pytest.fixture(scope="module")
def report(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, object]:
    output = tmp_path_factory.mktemp("report") / "out" / "report.html"
    summary = build_report(warehouse, output, generated_at=dt.datetime(2025, 6, 1, 8, 30, tzinfo=dt.UTC))
    return output.read_text(encoding="utf-8"), summary


# ------------------------------------------------------------------------------------ report


@pytest.mark.e2e
def test_summary_counts(report: tuple[str, object], warehouse: Path) -> None:
    _, summary = report
    assert (summary.counties, summary.observations, summary.undated_observations) == (2, 5, 1)
    assert (summary.conflicts, summary.documents, summary.county_year_values) == (1, 3, 3)
    assert summary.bytes_written == summary.output.stat().st_size


@pytest.mark.e2e
def test_page_is_self_contained_utf8_with_a_header(report: tuple[str, object], warehouse: Path) -> None:
    page, _ = report
    assert page.startswith("<!DOCTYPE html>")
    tags = _tags(page)
    assert ("meta", {"charset": "utf-8"}) in tags
    # Nothing to fetch: no external scripts, styles, images or fonts.
    assert [t for t, a in tags if t == "script"] == ["script"]
    fetching = {"script", "img", "link", "iframe", "object", "embed"}
    assert not [a for t, a in tags if t in fetching and ("src" in a or "href" in a)]
    assert "http://" not in page and "https://" not in page
    assert "2025-06-01T08:30:00+00:00" in page
    assert str(warehouse) in page
    assert "2 counties · 3 documents · 5 figures (1 without a year)" in page


@pytest.mark.e2e
def test_counties_in_official_order_with_picker_and_contents(report: tuple[str, object]) -> None:
    page, _ = report
    # 吉林 (220000) before 广西 (450000), although 都安 was loaded first.
    assert page.index('id="county-222426"') < page.index('id="county-451228"')
    options = [a["value"] for t, a in _tags(page) if t == "option" and a.get("value")]
    assert options == ["county-222426", "county-451228"]
    assert '<a href="#county-222426">安图县</a> <small>延边朝鲜族自治州</small>' in page
    assert "<h2>都安瑶族自治县 <small>广西壮族自治区 · 河池市 · 451228</small></h2>" in page


@pytest.mark.e2e
def test_chart_points_carry_value_year_and_escaped_sentence(report: tuple[str, object]) -> None:
    page, _ = report
    antu = _section(page, ANTU)
    points = [a for t, a in _tags(antu) if t == "circle"]
    assert len(points) == 3  # 2018 twice (the conflict), 2019 once; the undated figure is not plotted
    assert sum("chosen" in (a["class"] or "") for a in points) == 2
    # Tooltip text of the corrected 2018 figure: metric, year, value with unit, sentence and file.
    assert (
        "<title>建档立卡贫困人口 · 2018\n12,500 人  ✓ chosen value\n"
        "“2018年全县建档立卡贫困人口12500人,较上年减少&lt;一半&gt;。” — 001_antu_2020.html</title>"
    ) in antu
    assert "“截至2018年底,全县有建档立卡贫困人口1.2万人。” — 000_antu_2019.txt" in antu
    assert "“两不愁三保障”&amp;饮水安全" in antu
    assert "<polyline" in antu  # chosen values 2018 → 2019
    duan = _section(page, DUAN)
    assert "&quot;产业&amp;就业&quot;双增收" in duan


@pytest.mark.e2e
def test_a_countys_charts_are_grouped_under_their_pillar(report: tuple[str, object]) -> None:
    page, _ = report
    antu = _section(page, ANTU)
    pillars = ("Poor population and villages", "Income")
    headings = [antu.index(f'<h3 class="category">{h}</h3>') for h in pillars]
    figures = [antu.index(f"<b>{name}</b>") for name in ("建档立卡贫困人口", "农村居民人均可支配收入")]
    assert headings[0] < figures[0] < headings[1] < figures[1]
    assert '<h3 class="category">Income</h3>' in _section(page, DUAN)


@pytest.mark.e2e
def test_undated_figure_is_listed_under_its_chart_escaped(report: tuple[str, object]) -> None:
    page, _ = report
    antu = _section(page, ANTU)
    income = antu[antu.index("<b>农村居民人均可支配收入</b>") :]
    assert '<p class="none">No figure with a year.</p>' in income
    assert "<h4>Without a year</h4>" in income
    assert (
        "<li><b>8,000 元 (余)</b> “农民人均纯收入达8000余元&lt;script&gt;alert(&quot;x&quot;)"
        '&lt;/script&gt;。” <span class="src">001_antu_2020.html</span></li>'
    ) in income
    assert "<script>alert" not in page


@pytest.mark.e2e
def test_conflict_table_rows(report: tuple[str, object]) -> None:
    page, _ = report
    table = page[page.index('<section id="conflicts">') :]
    table = table[: table.index("</section>")]
    rows = [a["id"] for t, a in _tags(table) if t == "tr" and a.get("id")]
    assert rows == ["conflict-222426-registered_poor_population-2018"]
    row = table[table.index("<tr id=") :]
    cells = [
        '<td><a href="#county-222426">安图县</a></td>',
        "<td>建档立卡贫困人口</td><td>2018</td>",
        '<td class="num">12,000 · 12,500 人</td>',  # the values
        '<td class="num">2</td>',  # sources
        '<td class="num">12,500 人</td>',  # chosen
        "较上年减少&lt;一半&gt;。”",
        "全县有建档立卡贫困人口1.2万人。”",
    ]
    for cell in cells:
        assert cell in row, cell
    # The county's chart links to the row.
    assert 'href="#conflict-222426-registered_poor_population-2018">conflict 2018</a>' in page


# ------------------------------------------------------------------------------------ read-only


@pytest.mark.e2e
def test_warehouse_is_opened_read_only_and_left_unchanged(warehouse: Path, tmp_path: Path) -> None:
    before = (_sha256(warehouse), warehouse.stat().st_mtime_ns)
    # A BI tool holds the file open read-only in another process. DuckDB then refuses any
    # read-write open (checked first, so the test would catch one), but allows read-only ones.
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); print('ready', flush=True); "
         "sys.stdin.read()", str(warehouse)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(warehouse)).close()
        build_report(warehouse, tmp_path / "report.html")
    finally:
        holder.communicate("", timeout=30)
    assert (_sha256(warehouse), warehouse.stat().st_mtime_ns) == before
    # The report closed its connection: a writer can open the file again.
    duckdb.connect(str(warehouse)).close()


def test_missing_warehouse_or_marts_is_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="does not exist"):
        build_report(tmp_path / "nope.duckdb", tmp_path / "report.html")
    raw_only = tmp_path / "raw_only.duckdb"
    _create_raw(raw_only).close()
    with pytest.raises(WarehouseError, match=r"no dim_county.*run `fupin run`"):
        build_report(raw_only, tmp_path / "report.html")
    assert not (tmp_path / "report.html").exists()


# ------------------------------------------------------------------------------------ pieces


def test_empty_warehouse_renders_a_page() -> None:
    page = render_html(ReportData([], [], [], 0, 0), Path("/w/fupin.duckdb"), dt.datetime(2025, 1, 1))
    assert "The warehouse has no figures yet." in page
    assert "None: the reports agree." in page


@pytest.mark.parametrize(
    ("value", "text"),
    [(12500.0, "12,500"), (0.852, "0.852"), (0.0, "0"), (1234.5, "1,234.5"), (1e-7, "0")],
)
def test_format_value(value: float, text: str) -> None:
    assert format_value(value) == text


def test_nice_ticks_cover_the_range_with_round_steps() -> None:
    assert nice_ticks(0, 12500) == [0, 5000, 10000, 15000]
    assert nice_ticks(0, 0.852) == [0, 0.5, 1.0]
    assert nice_ticks(0, 0) == [0, 0.5, 1.0]
