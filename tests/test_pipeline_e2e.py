"""The real Dagster definitions materialised end to end on a copy of raw/ plus bad files.

One module-scoped fixture runs the pipeline three times (first run, unchanged re-run, one report
added) so the whole module costs three runs. Asserts pipeline behaviour, not extracted values.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.core.warehouse import WarehousePaths, describe_warehouse
from tests.conftest import REPO_RAW, make_raw_dir

pytestmark = pytest.mark.e2e

MARTS = {
    "dim_county",
    "dim_year",
    "dim_metric",
    "dim_document",
    "fct_metric_observation",
    "fct_county_year_metric",
    "rpt_metric_observations",
    "rpt_unclassified_mentions",
    "rpt_rejections",
}
NEW_REPORT = "zzz_new_report.txt"


@dataclass
class Run:
    result: Any
    tables: list[tuple[str, str, int]]

    def metadata(self, asset: str) -> dict[str, Any]:
        for event in self.result.get_asset_materialization_events():
            mat = event.event_specific_data.materialization
            if mat.asset_key.to_user_string() == asset:
                return {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
        raise KeyError(asset)


def _new_report() -> bytes:
    """A report that is not in raw/: the first report with a paragraph of its own added."""
    text = sorted(REPO_RAW.glob("*.txt"))[0].read_text(encoding="utf-8")
    head, sep, tail = text.partition("\n\n")
    extra = "\n\n据统计，2019年全县新建蔬菜大棚120栋，带动脱贫户356户增收，户均增收2800元。\n\n"
    return (head + extra + tail).encode("utf-8") if sep else (text + extra).encode("utf-8")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> dict[str, Any]:
    from dagster import materialize

    from pipelines.checks import ALL_CHECKS
    from pipelines.definitions import ALL_ASSETS, resources
    from pipelines.resources import FupinSettings

    root = tmp_path_factory.mktemp("e2e")
    raw_dir = make_raw_dir(root / "raw")
    warehouse = root / "warehouse" / "fupin.duckdb"
    settings = FupinSettings(raw_dir=str(raw_dir), warehouse=str(warehouse))

    def run() -> Run:
        result = materialize([*ALL_ASSETS, *ALL_CHECKS], resources=resources(settings), raise_on_error=False)
        return Run(result, describe_warehouse(warehouse) if warehouse.exists() else [])

    first = run()
    second = run()
    (raw_dir / NEW_REPORT).write_bytes(_new_report())
    third = run()
    paths = WarehousePaths.from_published(warehouse)
    return {"first": first, "second": second, "third": third, "paths": paths, "raw_dir": raw_dir}


def test_runs_succeed(runs: dict[str, Any]) -> None:
    for name in ("first", "second", "third"):
        assert runs[name].result.success, name


def test_dbt_tests_ran_as_passing_asset_checks(runs: dict[str, Any]) -> None:
    from pipelines.assets.dbt import dbt_models

    evaluations = runs["first"].result.get_asset_check_evaluations()
    dbt_checks = [e for e in evaluations if e.asset_check_key.asset_key in dbt_models.keys]
    assert len(dbt_checks) > 50
    failed = [e.asset_check_key.to_user_string() for e in dbt_checks if not e.passed]
    assert failed == []
    ours = {e.asset_check_key.name: e for e in evaluations if e not in dbt_checks}
    assert ours["validated_facts_match_schema"].passed


def test_published_warehouse_has_the_marts(runs: dict[str, Any]) -> None:
    paths = runs["paths"]
    assert paths.published.exists() and paths.work.exists()
    main_tables = {t for s, t, _ in runs["first"].tables if s == "main"}
    assert main_tables >= MARTS
    counts = {t: n for s, t, n in runs["first"].tables}
    assert counts["dim_county"] > 2000
    assert counts["dim_document"] == len(list(REPO_RAW.glob("*.txt")))


def test_bad_files_are_rejected_with_reasons(runs: dict[str, Any]) -> None:
    con = duckdb.connect(str(runs["paths"].published), read_only=True)
    try:
        rejected = dict(
            con.execute("SELECT source_file, stage || ': ' || reason FROM raw.rejected_documents").fetchall()
        )
        report = con.execute("SELECT count(*) FROM main.rpt_rejections").fetchone()[0]
    finally:
        con.close()
    assert rejected["bad_binary.txt"].startswith("decode: ")
    assert rejected["empty.txt"].startswith("read: ") and "empty" in rejected["empty.txt"]
    assert report >= 2


def test_byte_identical_copy_is_recorded_as_duplicate(runs: dict[str, Any]) -> None:
    con = duckdb.connect(str(runs["paths"].published), read_only=True)
    try:
        duplicates = con.execute(
            "SELECT d.source_file, d.match_kind, c.source_file FROM raw.duplicate_documents AS d "
            "JOIN raw.cleaned_documents AS c ON c.document_id = d.duplicate_of"
        ).fetchall()
    finally:
        con.close()
    first = sorted(REPO_RAW.glob("*.txt"))[0].name
    assert ("zz_copy_of_first.txt", "identical_bytes", first) in duplicates


def test_second_run_is_idempotent(runs: dict[str, Any]) -> None:
    first, second = runs["first"], runs["second"]
    # pipeline_state is the runs' own bookkeeping (e.g. what the last run validated), not data.
    data = [t for t in first.tables if t[0] != "pipeline_state"]
    assert [t for t in second.tables if t[0] != "pipeline_state"] == data
    assert second.metadata("raw_documents")["run_processed"] == 0
    assert second.metadata("cleaned_documents")["run_written"] == 0
    assert second.metadata("extracted_facts")["run_processed"] == 0
    assert second.metadata("validated_facts")["run_processed"] == 0


def test_new_report_is_the_only_one_processed(runs: dict[str, Any]) -> None:
    third = runs["third"]
    assert third.metadata("raw_documents")["run_processed"] == 1
    assert third.metadata("cleaned_documents")["run_written"] == 1
    assert third.metadata("extracted_facts")["run_processed"] == 1
    # Only the new report's facts are validated; the others keep their verdict.
    new_facts = third.metadata("extracted_facts")["run_written"]
    assert 0 < third.metadata("validated_facts")["run_processed"] == new_facts
    before = {t: n for s, t, n in runs["second"].tables}
    after = {t: n for s, t, n in third.tables}
    assert after["raw_documents"] == before["raw_documents"] + 1
    assert after["dim_document"] == before["dim_document"] + 1


def test_dbt_reuses_its_parse_between_runs(runs: dict[str, Any]) -> None:
    """Each warehouse keeps its own dbt target dir, so later builds skip dbt's full re-parse."""
    log = (runs["paths"].dbt_target / "dbt.log").read_text(encoding="utf-8")
    assert log.count("Partial parsing enabled, no changes found") >= 2  # the second and third runs


# --- what the published file holds, for BI tools and auditors -------------------------------------


def _published(runs: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(runs["paths"].published), read_only=True)


def test_published_file_holds_the_marts_and_the_raw_evidence_only(runs: dict[str, Any]) -> None:
    from pipelines.core.tables import RAW_TABLES

    con = _published(runs)
    try:
        rows = con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
            "AND schema_name NOT IN ('information_schema', 'pg_catalog')"
        ).fetchall()
        relations = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() UNION ALL "
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
        (mentions,) = con.execute("SELECT count(*) FROM main.rpt_unclassified_mentions").fetchone()
    finally:
        con.close()
    assert {s for (s,) in rows} == {"main", "raw"}  # no staging, intermediate or pipeline_state
    assert {t for s, t in relations if s == "main"} == MARTS
    assert {t for s, t in relations if s == "raw"} == set(RAW_TABLES)
    assert mentions > 0  # the one mart view resolves without the staging views


def test_descriptions_are_comments_in_the_published_file(runs: dict[str, Any]) -> None:
    con = _published(runs)
    try:
        tables = con.execute(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() UNION ALL "
            "SELECT schema_name, view_name, comment FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
        columns = con.execute(
            "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
            "WHERE database_name = current_database() AND NOT internal"
        ).fetchall()
    finally:
        con.close()
    assert [(s, t) for s, t, comment in tables if not comment] == []
    assert [(s, t, c) for s, t, c, comment in columns if not comment] == []
    comments = {(s, t, c): comment for s, t, c, comment in columns}
    assert comments["main", "dim_county", "county_code"].startswith("6-digit administrative code")
    assert comments["raw", "raw_documents", "content_hash"] == "sha256 of the file's bytes."


def test_the_storage_format_is_pinned(runs: dict[str, Any]) -> None:
    """DuckDB 0.10 to 1.1 write storage version 64, and every later DuckDB reads it."""
    header = runs["paths"].published.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    assert int.from_bytes(header[12:20], "little") == 64


OLD_CLIENT = "duckdb>=1.1,<1.2"
OLD_CLIENT_READS = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(json.dumps({
    "version": duckdb.__version__,
    "observations": con.execute("SELECT count(*) FROM rpt_metric_observations").fetchone()[0],
    "mentions": con.execute("SELECT count(*) FROM rpt_unclassified_mentions").fetchone()[0],
    "comment": con.execute(
        "SELECT comment FROM duckdb_columns() WHERE table_name = 'dim_county' AND column_name = 'county_code'"
    ).fetchone()[0],
}))
"""


def test_an_older_duckdb_client_reads_the_published_file(runs: dict[str, Any], tmp_path: Path) -> None:
    venv = tmp_path / "old-duckdb"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", OLD_CLIENT],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if install.returncode != 0:
        last = (install.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"cannot install {OLD_CLIENT} from the package index here: {last}")
    done = subprocess.run(
        [str(python), "-c", OLD_CLIENT_READS, str(runs["paths"].published)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout)
    assert read["version"].startswith("1.1.")
    counts = {t: n for s, t, n in runs["third"].tables if s == "main"}
    assert read["observations"] == counts["rpt_metric_observations"]
    assert read["mentions"] == counts["rpt_unclassified_mentions"]
    assert read["comment"].startswith("6-digit administrative code")


def test_every_dbt_model_materialisation_has_its_row_count(runs: dict[str, Any]) -> None:
    from pipelines.assets.dbt import dbt_models

    third = runs["third"]
    counts = {t: n for s, t, n in third.tables if s == "main"}
    for key in dbt_models.keys:
        metadata = third.metadata(key.to_user_string())
        assert isinstance(metadata.get("dagster/row_count"), int), key
    for mart in MARTS:
        assert third.metadata(mart)["dagster/row_count"] == counts[mart]


def test_the_multi_model_singular_test_is_a_check_of_its_model(runs: dict[str, Any]) -> None:
    evaluations = runs["first"].result.get_asset_check_evaluations()
    found = {e.asset_check_key.name: e for e in evaluations}["assert_observation_unit_is_metric_unit"]
    assert found.asset_check_key.asset_key.to_user_string() == "fct_metric_observation"
    assert found.passed


# --- the sensor's first tick compares the raw dir with the warehouse --------------------------------


def _tick(raw_dir: Path, warehouse: Path, cursor: str | None = None) -> Any:
    from dagster import build_sensor_context

    from pipelines.resources import FupinSettings
    from pipelines.sensors import raw_dir_sensor

    settings = FupinSettings(raw_dir=str(raw_dir), warehouse=str(warehouse))
    context = build_sensor_context(cursor=cursor, resources={"settings": settings})
    return raw_dir_sensor(context), context.cursor


def test_sensor_first_tick_runs_only_when_the_raw_dir_differs(runs: dict[str, Any], tmp_path: Path) -> None:
    from dagster import RunRequest, SkipReason

    raw_dir = runs["raw_dir"]
    published = runs["paths"].published
    result, cursor = _tick(raw_dir, published)
    assert isinstance(result, SkipReason) and "already holds" in result.skip_message
    assert cursor is not None  # watching from here on
    result, _ = _tick(raw_dir, tmp_path / "never_built.duckdb")
    assert isinstance(result, RunRequest)

    changed = make_raw_dir(tmp_path / "raw")  # the warehouse holds NEW_REPORT, this copy does not
    result, _ = _tick(changed, published)
    assert isinstance(result, RunRequest)


def test_sensor_ticks_after_a_touch_start_no_run_when_the_bytes_are_the_same(runs: dict[str, Any]) -> None:
    import os

    from dagster import SkipReason

    raw_dir = runs["raw_dir"]
    published = runs["paths"].published
    _, cursor = _tick(raw_dir, published)
    os.utime(raw_dir / NEW_REPORT, ns=(0, 0))  # its snapshot changes, its bytes do not
    result, after = _tick(raw_dir, published, cursor)
    assert isinstance(result, SkipReason) and "already holds" in result.skip_message
    assert after != cursor  # the new snapshot is remembered
    result, _ = _tick(raw_dir, published, after)
    assert isinstance(result, SkipReason) and "no change" in result.skip_message
