"""The dbt project, built for real: a DuckDB file with the raw tables, `dbt build`, then the marts.

dbt takes ~10 s per build, so each warehouse (one populated, one empty) is built once per module.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.core.tables import RAW_SCHEMA, RAW_TABLES, create_table_sql

REPO = Path(__file__).resolve().parents[1]
PROJECT_DIR = REPO / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")
OK_STATUSES = {"success", "pass", "no-op"}  # the exposure is a no-op

RPT_COLUMNS = [
    "source_file", "county_name", "county_code", "prefecture", "province", "metric_code",
    "metric_name", "unit", "year", "value", "sentence",
    "qualifier", "period_start_year", "raw_phrase", "rule", "document_id", "title",
    "published_date", "outlet", "observation_id",
]  # fmt: skip

ANTU, DUAN, SHENNONGJIA, DONGCHENG = "222426", "451228", "429021", "110101"
D1, D2, D3, D4 = "a1a1a1a1a1a1a1a1", "b2b2b2b2b2b2b2b2", "c3c3c3c3c3c3c3c3", "d4d4d4d4d4d4d4d4"
D5 = "e5f6e5f6e5f6e5f6"


# ------------------------------------------------------------------------------------ helpers


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    columns = list(RAW_TABLES[table])
    unknown = {key for row in rows for key in row} - set(columns)
    assert not unknown, f"{table}: unknown columns {unknown}"
    placeholders = ", ".join("?" for _ in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    con.executemany(
        f"INSERT INTO {RAW_SCHEMA}.{table} ({quoted}) VALUES ({placeholders})",
        [[row.get(c) for c in columns] for row in rows],
    )


def _create_raw(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for table in RAW_TABLES:
        con.execute(create_table_sql(table))
    return con


def _fact(fact_id, document_id, source_file, county, metric, year, value, unit, sentence, start, **extra):
    county_code, county_name = county
    return {
        "fact_id": fact_id,
        "document_id": document_id,
        "source_file": source_file,
        "county_code": county_code,
        "county_name": county_name,
        "metric_code": metric,
        "year": year,
        "value": value,
        "unit": unit,
        "sentence": sentence,
        "start_offset": start,
        "end_offset": start + len(extra.get("raw_phrase", "x")),
        "rule": "metric_keyword_number",
        "extractor_version": "test-1",
        **extra,
    }


def _populate(con: duckdb.DuckDBPyConnection) -> None:
    _insert(con, "county_gazetteer", [
        {"county_code": ANTU, "county_name": "安图县", "county_kind": "县", "prefecture_code": "222400",
         "prefecture_name": "延边朝鲜族自治州", "province_code": "220000", "province_name": "吉林省"},
        {"county_code": DUAN, "county_name": "都安瑶族自治县", "county_kind": "自治县",
         "prefecture_code": "451200", "prefecture_name": "河池市", "province_code": "450000",
         "province_name": "广西壮族自治区"},
        {"county_code": SHENNONGJIA, "county_name": "神农架林区", "county_kind": "林区",
         "prefecture_code": None, "prefecture_name": None, "province_code": "420000",
         "province_name": "湖北省"},
        {"county_code": DONGCHENG, "county_name": "东城区", "county_kind": "市辖区",
         "prefecture_code": "", "prefecture_name": "", "province_code": "110000",
         "province_name": "北京市"},
    ])  # fmt: skip
    _insert(con, "metric_catalog", [
        {"metric_code": "registered_poor_population", "name_zh": "建档立卡贫困人口",
         "name_en": "Registered poor population", "unit": "person",
         "category": "poverty_population_and_villages",
         "description": "People registered as poor (建档立卡).", "keywords": "建档立卡贫困人口 | 贫困人口"},
        {"metric_code": "poverty_incidence", "name_zh": "贫困发生率", "name_en": "Poverty incidence",
         "unit": "percent", "category": "poverty_population_and_villages",
         "description": "Share of the rural population that is poor.", "keywords": "贫困发生率"},
        {"metric_code": "rural_income_per_capita", "name_zh": "农村居民人均可支配收入",
         "name_en": "Rural disposable income per capita", "unit": "yuan", "category": "income",
         "description": "Disposable income per rural resident.",
         "keywords": "农村居民人均可支配收入 | 农民人均纯收入"},
    ])  # fmt: skip

    documents = [
        # (document_id, file, county, title, published, outlet)
        (D1, "000_antu_2019.txt", (ANTU, "安图县"), "安图县2018年脱贫攻坚工作总结",
         dt.date(2019, 3, 1), None),
        (D2, "001_antu_2020.html", (ANTU, "安图县"), "安图之变——安图县脱贫攻坚工作综述",
         dt.date(2020, 10, 15), "延边日报"),
        (D3, "002_duan_a.txt", (DUAN, "都安瑶族自治县"), "都安县农民增收见闻", None, None),
        (D4, "003_duan_b.txt", (DUAN, "都安瑶族自治县"), "都安：产业扶贫促增收", None, "河池日报"),
        # Kept, but the extractor failed on it: no facts, and a rejected_documents row.
        (D5, "007_shennongjia.txt", (SHENNONGJIA, "神农架林区"), "神农架林区脱贫摘帽",
         dt.date(2018, 8, 9), None),
    ]  # fmt: skip
    _insert(con, "raw_documents", [
        {"source_file": f, "document_id": d, "content_hash": d * 4, "byte_size": 4096, "encoding": "utf-8",
         "is_html": f.endswith(".html"), "raw_text": t, "loaded_at": dt.datetime(2025, 1, 1)}
        for d, f, _c, t, _p, _o in documents
    ])  # fmt: skip
    _insert(con, "cleaned_documents", [
        {"document_id": d, "source_file": f, "content_hash": d * 4, "text_fingerprint": d[::-1],
         "title": t, "published_date": p, "outlet": o, "author": None, "url": None,
         "county_code": c[0], "county_name": c[1], "clean_text": t, "char_count": 2000,
         "cleaner_version": "test-1"}
        for d, f, c, t, p, o in documents
    ])  # fmt: skip
    # Two more files repeat D2; one file was unreadable.
    _insert(con, "duplicate_documents", [
        {"source_file": "005_antu_2020_copy.txt", "document_id": "e5e5e5e5e5e5e5e5", "duplicate_of": D2,
         "match_kind": "identical_text"},
        {"source_file": "004_antu_2020_mirror.html", "document_id": D2, "duplicate_of": D2,
         "match_kind": "identical_bytes"},
    ])  # fmt: skip
    _insert(con, "rejected_documents", [
        {"source_file": "006_garbled.txt", "content_hash": "f" * 64, "stage": "decode",
         "reason": "the bytes are neither UTF-8 nor GB18030", "rejected_at": dt.datetime(2025, 1, 1)},
        {"source_file": "007_shennongjia.txt", "content_hash": D5 * 4, "stage": "extract",
         "reason": "extraction failed with ValueError: bad number", "rejected_at": dt.datetime(2025, 1, 1)},
    ])  # fmt: skip

    antu, duan = (ANTU, "安图县"), (DUAN, "都安瑶族自治县")
    s1 = "截至2018年底,全县有建档立卡贫困人口1.2万人,贫困发生率0.85%。"
    s2 = "2018年全县建档立卡贫困人口12500人,贫困发生率降至0.852%。"
    facts = [
        # D1 states 12000 twice (summary and body): one observation, the first statement kept.
        _fact("f01", D1, "000_antu_2019.txt", antu, "registered_poor_population", 2018, 12000.0, "person",
              s1, 100, raw_phrase="1.2万人"),
        _fact("f02", D1, "000_antu_2019.txt", antu, "registered_poor_population", 2018, 12000.0, "person",
              "全县建档立卡贫困人口1.2万人。", 500, raw_phrase="1.2万人"),
        _fact("f03", D1, "000_antu_2019.txt", antu, "poverty_incidence", 2018, 0.85, "percent", s1, 120,
              raw_phrase="0.85%"),
        # D2, published later, corrects the 2018 count (a conflict) and restates the incidence
        # within 0.5 % (no conflict).
        _fact("f04", D2, "001_antu_2020.html", antu, "registered_poor_population", 2018, 12500.0, "person",
              s2, 40, raw_phrase="12500人"),
        _fact("f05", D2, "001_antu_2020.html", antu, "poverty_incidence", 2018, 0.852, "percent", s2, 60,
              raw_phrase="0.852%"),
        # A figure with no time given: an observation, but no county-year value.
        _fact("f06", D2, "001_antu_2020.html", antu, "rural_income_per_capita", None, 8000.0, "yuan",
              "农民人均纯收入达8000余元。", 300, raw_phrase="8000余元", qualifier="余"),
        # Two undated reports on 都安: 9800 is stated by both, 10200 by one; 9800 wins on support.
        _fact("f07", D3, "002_duan_a.txt", duan, "rural_income_per_capita", 2019, 9800.0, "yuan",
              "2019年农村居民人均可支配收入9800元。", 10, raw_phrase="9800元"),
        _fact("f08", D4, "003_duan_b.txt", duan, "rural_income_per_capita", 2019, 9800.0, "yuan",
              "2019年农村居民人均可支配收入9800元。", 15, raw_phrase="9800元"),
        _fact("f09", D4, "003_duan_b.txt", duan, "rural_income_per_capita", 2019, 10200.0, "yuan",
              "2019年易地搬迁户人均可支配收入达10200元。", 80, raw_phrase="10200元"),
    ]  # fmt: skip
    rejected = _fact("f10", D1, "000_antu_2019.txt", antu, "registered_poor_population", 1890, 300.0,
                     "person", "1890年前后有贫困人口300人。", 900, raw_phrase="300人")  # fmt: skip
    _insert(con, "extracted_facts", [*facts, rejected])
    _insert(con, "validated_facts", facts)
    _insert(con, "rejected_facts", [
        {**rejected, "failed_check": "year_in_range", "failure_detail": "year 1890 outside 1949-2030"}
    ])  # fmt: skip
    _insert(con, "unclassified_mentions", [
        {"mention_id": "m01", "document_id": D1, "source_file": "000_antu_2019.txt",
         "sentence": "全县种植中药材3000亩。", "phrase": "3000亩", "value": 3000.0, "unit": "亩",
         "start_offset": 700, "end_offset": 705},
    ])  # fmt: skip


def _dbt(database: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    """Run a real dbt command on a warehouse file."""
    env = {**os.environ, "FUPIN_DBT_DATABASE": str(database), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [
            str(DBT), *args,
            "--profiles-dir", "dbt_project", "--project-dir", "dbt_project",
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
        ],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _dbt_build(database: Path, work: Path) -> dict:
    """Run the real `dbt build` on a warehouse file; return run_results.json."""
    result = _dbt(database, work, "build")
    assert result.returncode == 0, f"dbt build failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    return json.loads((work / "target" / "run_results.json").read_text(encoding="utf-8"))


def _query(database: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("dbt_populated")
    database = work / "fupin.work.duckdb"
    con = _create_raw(database)
    try:
        _populate(con)
    finally:
        con.close()
    return database, _dbt_build(database, work)


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("dbt_empty")
    database = work / "fupin.work.duckdb"
    _create_raw(database).close()
    return database, _dbt_build(database, work)


# ------------------------------------------------------------------------------------ sources


def test_every_raw_table_is_a_source_with_its_dagster_asset_key() -> None:
    spec = yaml.safe_load((PROJECT_DIR / "models" / "staging" / "_sources.yml").read_text(encoding="utf-8"))
    (raw,) = [s for s in spec["sources"] if s["name"] == RAW_SCHEMA]
    assert raw.get("schema", raw["name"]) == RAW_SCHEMA
    tables = {t["name"]: t for t in raw["tables"]}
    assert set(tables) == set(RAW_TABLES)
    for name, table in tables.items():
        meta = table.get("config", {}).get("meta") or table.get("meta") or {}
        assert meta.get("dagster", {}).get("asset_key") == [name], name
        assert table.get("description"), name
        # Columns are described and match the contract, in order.
        assert [c["name"] for c in table["columns"]] == list(RAW_TABLES[name]), name
        assert all(c.get("description") for c in table["columns"]), name


# ------------------------------------------------------------------------------------ builds


@pytest.mark.e2e
def test_build_passes_on_empty_raw_tables(empty: tuple[Path, dict]) -> None:
    database, run_results = empty
    statuses = {r["status"] for r in run_results["results"]}
    assert statuses <= OK_STATUSES, statuses
    assert _query(database, "select count(*) from main.fct_county_year_metric") == [(0,)]
    assert _query(database, "select count(*) from main.dim_year") == [(2035 - 1949 + 1,)]


@pytest.mark.e2e
def test_build_passes_without_warnings_on_populated_warehouse(populated: tuple[Path, dict]) -> None:
    _, run_results = populated
    statuses = {r["unique_id"]: r["status"] for r in run_results["results"]}
    bad = {k: v for k, v in statuses.items() if v not in OK_STATUSES}
    assert not bad
    assert any(k.startswith("test.fupin.unique_combination_of_columns") for k in statuses)


@pytest.mark.e2e
def test_models_land_in_their_schemas(populated: tuple[Path, dict]) -> None:
    database, _ = populated
    rows = _query(
        database,
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_schema in ('main', 'staging', 'intermediate')",
    )
    by_name = {name: (schema, kind) for schema, name, kind in rows}
    assert by_name["fct_metric_observation"] == ("main", "BASE TABLE")
    assert by_name["rpt_metric_observations"] == ("main", "BASE TABLE")
    assert by_name["rpt_unclassified_mentions"] == ("main", "VIEW")
    assert by_name["stg_raw__validated_facts"] == ("staging", "VIEW")
    assert by_name["int_facts_deduplicated"] == ("intermediate", "VIEW")
    # Views name no catalog, so they still bind in the published copy of the file.
    sql = _query(database, "select sql from duckdb_views() where view_name = 'int_observations_ranked'")
    assert "fupin.work" not in sql[0][0]


@pytest.mark.e2e
def test_mart_contracts_fix_types_and_refuse_nulls(populated: tuple[Path, dict], tmp_path: Path) -> None:
    database, _ = populated
    types = dict(
        _query(
            database,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'main' and table_name = 'fct_county_year_metric'",
        )
    )
    assert (types["year"], types["value"], types["has_conflict"]) == ("INTEGER", "DOUBLE", "BOOLEAN")
    # A catalog row without a unit reaches dim_metric.unit, declared NOT NULL: building the model
    # alone (no tests run) fails on the constraint, naming the column.
    broken = tmp_path / "fupin.work.duckdb"
    con = _create_raw(broken)
    try:
        _insert(con, "metric_catalog", [{"metric_code": "m", "name_zh": "指标", "category": "income"}])
    finally:
        con.close()
    result = _dbt(broken, tmp_path, "run", "--select", "+dim_metric")
    assert result.returncode != 0
    assert "NOT NULL constraint failed: dim_metric__dbt_tmp.unit" in result.stdout


@pytest.mark.e2e
def test_county_year_value_follows_the_choice_rule(populated: tuple[Path, dict]) -> None:
    database, _ = populated
    rows = _query(
        database,
        """
        select county_code, year, metric_code, value, has_conflict, source_count, distinct_value_count,
               min_value, max_value, chosen_document_id, chosen_value_source_count, chosen_sentence
        from main.fct_county_year_metric order by all
        """,
    )
    got = {(r[0], r[1], r[2]): r[3:] for r in rows}
    assert set(got) == {
        (ANTU, 2018, "poverty_incidence"),
        (ANTU, 2018, "registered_poor_population"),
        (DUAN, 2019, "rural_income_per_capita"),
    }  # the undated income figure of 安图 has no county-year row

    # The later report (D2) corrects the earlier count: chosen, and the 4 % gap is a conflict.
    value, conflict, sources, distinct, low, high, doc, support, sentence = got[
        (ANTU, 2018, "registered_poor_population")
    ]
    assert (value, conflict, sources, distinct, low, high, doc) == (12500.0, True, 2, 2, 12000.0, 12500.0, D2)
    assert support == 1
    assert "12500" in sentence

    # 0.85 vs 0.852 differ by 0.23 %: not a conflict; the later report's figure is chosen.
    value, conflict, sources, distinct, *_ = got[(ANTU, 2018, "poverty_incidence")]
    assert (value, conflict, sources, distinct) == (0.852, False, 2, 2)

    # Both reports undated: the value two documents state beats the larger one only D4 states.
    value, conflict, sources, distinct, low, high, _, support, _ = got[
        (DUAN, 2019, "rural_income_per_capita")
    ]
    assert (value, conflict, sources, distinct, low, high) == (9800.0, True, 2, 2, 9800.0, 10200.0)
    assert support == 2


@pytest.mark.e2e
def test_observations_are_deduplicated_per_document(populated: tuple[Path, dict]) -> None:
    database, _ = populated
    assert _query(database, "select count(*) from main.fct_metric_observation") == [(8,)]
    row = _query(
        database,
        """
        select times_stated, start_offset, fact_id, raw_phrase from main.fct_metric_observation
        where document_id = ? and metric_code = 'registered_poor_population'
        """,
        [D1],
    )
    assert row == [(2, 100, "f01", "1.2万人")]
    # The undated figure is an observation with a null year and its qualifier kept apart.
    row = _query(
        database,
        """
        select year, value, qualifier from main.fct_metric_observation
        where metric_code = 'rural_income_per_capita' and county_code = ?
        """,
        [ANTU],
    )
    assert row == [(None, 8000.0, "余")]
    for table, grain in [
        ("fct_metric_observation", "document_id, county_code, metric_code, year, value"),
        ("fct_county_year_metric", "county_code, year, metric_code"),
        ("rpt_metric_observations", "document_id, county_code, metric_code, year, value"),
    ]:
        dupes = _query(database, f"select {grain} from main.{table} group by all having count(*) > 1")
        assert dupes == [], table
    ids = _query(
        database,
        "select count(distinct observation_id), min(length(observation_id)) from main.fct_metric_observation",
    )
    assert ids == [(8, 32)]


@pytest.mark.e2e
def test_rpt_metric_observations_columns_and_names(populated: tuple[Path, dict]) -> None:
    database, _ = populated
    columns = _query(
        database,
        "select column_name from information_schema.columns where table_schema = 'main' "
        "and table_name = 'rpt_metric_observations' order by ordinal_position",
    )
    assert [c for (c,) in columns] == RPT_COLUMNS
    row = _query(
        database,
        """
        select county_name, prefecture, province, metric_name, unit, title, outlet
        from main.rpt_metric_observations
        where document_id = ? and metric_code = 'registered_poor_population'
        """,
        [D2],
    )
    assert row == [("安图县", "延边朝鲜族自治州", "吉林省", "建档立卡贫困人口", "person",
                    "安图之变——安图县脱贫攻坚工作综述", "延边日报")]  # fmt: skip


@pytest.mark.e2e
def test_dimensions(populated: tuple[Path, dict]) -> None:
    database, _ = populated
    counties = _query(
        database,
        """
        select county_code, has_reports, report_count, prefecture_code
        from main.dim_county order by county_code
        """,
    )
    assert counties == [
        (DONGCHENG, False, 0, None),  # empty strings in the gazetteer become null
        (ANTU, True, 2, "222400"),
        (SHENNONGJIA, True, 1, None),
        (DUAN, True, 2, "451200"),
    ]
    docs = {
        r[0]: r[1:]
        for r in _query(
            database,
            "select document_id, fact_count, duplicate_file_count, duplicate_files, publication_year, "
            "rejected_fact_count, unclassified_mention_count from main.dim_document",
        )
    }
    assert len(docs) == 5
    assert docs[D5][0] == 0
    assert docs[D2][:3] == (3, 2, "004_antu_2020_mirror.html | 005_antu_2020_copy.txt")
    assert docs[D1] == (2, 0, None, 2019, 1, 1)
    assert docs[D3][3] is None  # unknown publication date
    assert _query(database, "select count(*) from main.dim_metric") == [(3,)]
    years = dict(_query(database, "select year, five_year_plan from main.dim_year"))
    assert (years[2015], years[2016], years[2021], years[2000]) == ("十二五", "十三五", "十四五", "九五")
    campaign = "select min(year), max(year) from main.dim_year where is_poverty_campaign_year"
    assert _query(database, campaign) == [(2013, 2021)]


@pytest.mark.e2e
def test_audit_tables(populated: tuple[Path, dict]) -> None:
    database, _ = populated
    rejections = _query(
        database,
        "select kind, source_file, document_id, stage, reason, detail from main.rpt_rejections order by all",
    )
    assert rejections == [
        ("document", "006_garbled.txt", None, "decode", "the bytes are neither UTF-8 nor GB18030", None),
        (
            "document",
            "007_shennongjia.txt",
            D5,
            "extract",
            "extraction failed with ValueError: bad number",
            None,
        ),
        ("fact", "000_antu_2019.txt", D1, "validate", "year_in_range", "year 1890 outside 1949-2030"),
    ]
    mentions = _query(
        database,
        "select document_id, source_file, phrase, value, unit, title from main.rpt_unclassified_mentions",
    )
    assert mentions == [(D1, "000_antu_2019.txt", "3000亩", 3000.0, "亩", "安图县2018年脱贫攻坚工作总结")]
