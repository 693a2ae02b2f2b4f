"""The real Dagster definitions materialised end to end on a copy of raw/ plus bad files.

One module-scoped fixture runs the pipeline three times (first run, unchanged re-run, one report
added) so the whole module costs three runs. Asserts pipeline behaviour, not extracted values.
"""

from __future__ import annotations

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
    return {"first": first, "second": second, "third": third, "paths": paths}


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
