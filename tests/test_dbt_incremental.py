"""dbt builds only what changed (pipelines/core/dbt_inputs.py), with real Dagster runs and real dbt.

One module-scoped fixture: a first run; one report added (a partial build); the same raw dir built
fresh in a second warehouse (the full build to compare with); a dbt test made to fail; the failure
mended. The marts of the partial build must equal the full build's, row for row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.core.dbt_inputs import CODE_INPUT, UNCHANGED_METADATA, recorded_inputs
from pipelines.core.warehouse import WarehousePaths, connect
from tests.conftest import REPO_RAW

pytestmark = pytest.mark.e2e


def _added_report() -> bytes:
    """A report that is not in raw/: the first report with a paragraph of its own added."""
    text = sorted(REPO_RAW.glob("*.txt"))[0].read_text(encoding="utf-8")
    extra = "\n\n2019年，全县新建扶贫车间12个，吸纳贫困劳动力就业860人，人均月增收1500元。\n\n"
    return (text + extra).encode("utf-8")


def _materialize(raw_dir: Path, warehouse: Path) -> Any:
    from dagster import materialize

    from pipelines.checks import ALL_CHECKS
    from pipelines.definitions import ALL_ASSETS, resources
    from pipelines.resources import FupinSettings

    settings = FupinSettings(raw_dir=str(raw_dir), warehouse=str(warehouse))
    return materialize([*ALL_ASSETS, *ALL_CHECKS], resources=resources(settings), raise_on_error=False)


def _models(result: Any) -> dict[str, dict[str, Any]]:
    """Each dbt model the run reported -> its materialisation metadata."""
    from pipelines.assets.dbt import dbt_models

    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key in dbt_models.keys:
            metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
            found[materialization.asset_key.to_user_string()] = metadata
    return found


def _rebuilt(result: Any) -> set[str]:
    return {name for name, metadata in _models(result).items() if not metadata.get(UNCHANGED_METADATA)}


def _dbt_checks(result: Any) -> set[str]:
    from pipelines.assets.dbt import dbt_models

    return {
        e.asset_check_key.name
        for e in result.get_asset_check_evaluations()
        if e.asset_check_key.asset_key in dbt_models.keys
    }


def _record(warehouse: Path) -> dict[str, str]:
    con = connect(WarehousePaths.from_published(warehouse).work)
    try:
        return recorded_inputs(con)
    finally:
        con.close()


def _marts(warehouse: Path) -> dict[str, list[str]]:
    """Every mart's rows, sorted; timestamps left out (two warehouses load their rows at other times)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        columns: dict[str, list[str]] = {}
        for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main' "
            "AND data_type NOT LIKE 'TIMESTAMP%' ORDER BY table_name, ordinal_position"
        ).fetchall():
            columns.setdefault(table, []).append(f'"{column}"')
        return {
            table: sorted(map(repr, con.execute(f'SELECT {", ".join(names)} FROM main."{table}"').fetchall()))
            for table, names in columns.items()
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("dbt_incremental")
    raw_dir = root / "raw"
    raw_dir.mkdir()
    for report in sorted(REPO_RAW.glob("*.txt")):
        (raw_dir / report.name).write_bytes(report.read_bytes())
    warehouse = root / "wh" / "fupin.duckdb"
    runs: dict[str, Any] = {"warehouse": warehouse}
    runs["first"] = _materialize(raw_dir, warehouse)
    runs["first_record"] = _record(warehouse)
    (raw_dir / "zz_added_report.txt").write_bytes(_added_report())
    runs["added"] = _materialize(raw_dir, warehouse)
    runs["added_marts"] = _marts(warehouse)
    runs["fresh"] = _materialize(raw_dir, root / "fresh" / "fupin.duckdb")
    runs["fresh_marts"] = _marts(root / "fresh" / "fupin.duckdb")

    # A raw row a dbt test rejects (a document twice), put straight into the working file.
    work = WarehousePaths.from_published(warehouse).work
    con = connect(work)
    con.execute("INSERT INTO raw.cleaned_documents SELECT * FROM raw.cleaned_documents LIMIT 1")
    con.close()
    runs["failing"] = _materialize(raw_dir, warehouse)
    runs["failing_record"] = _record(warehouse)
    con = connect(work)
    con.execute(
        "DELETE FROM raw.cleaned_documents WHERE rowid = (SELECT max(rowid) FROM raw.cleaned_documents)"
    )
    con.close()
    runs["mended"] = _materialize(raw_dir, warehouse)
    return runs


def test_every_run_but_the_failing_one_succeeds(runs: dict[str, Any]) -> None:
    for name in ("first", "added", "fresh", "mended"):
        assert runs[name].success, name
    assert not runs["failing"].success


def test_a_successful_build_records_its_inputs(runs: dict[str, Any]) -> None:
    record = runs["first_record"]
    assert CODE_INPUT in record
    assert {"source.fupin.raw.cleaned_documents", "source.fupin.raw.metric_catalog"} <= set(record)


def test_an_added_report_rebuilds_only_the_models_it_reaches(runs: dict[str, Any]) -> None:
    first, added = runs["first"], runs["added"]
    every_model = set(_models(first))
    assert _rebuilt(first) == every_model  # nothing was recorded before the first build
    assert set(_models(added)) == every_model  # every model is reported, rebuilt or not
    rebuilt = _rebuilt(added)
    assert {"dim_document", "fct_metric_observation", "fct_county_year_metric"} <= rebuilt
    # The catalog and the years did not change; views read the new rows by themselves.
    assert rebuilt.isdisjoint(
        {"dim_metric", "dim_year", "stg_raw__cleaned_documents", "int_facts_deduplicated"}
    )
    assert _models(added)["dim_metric"]["dagster/row_count"] == 29


def test_the_tests_over_changed_rows_run_and_the_others_do_not(runs: dict[str, Any]) -> None:
    checks = _dbt_checks(runs["added"])
    assert "unique_stg_raw__cleaned_documents_document_id" in checks  # a view's test, its rows changed
    assert "unique_fct_metric_observation_observation_id" in checks
    assert "unique_dim_metric_metric_code" not in checks
    assert len(checks) < len(_dbt_checks(runs["first"]))


def test_the_partial_build_equals_a_full_build(runs: dict[str, Any]) -> None:
    assert runs["added_marts"] == runs["fresh_marts"]
    assert len(runs["added_marts"]["dim_document"]) == len(list(REPO_RAW.glob("*.txt"))) + 1


def test_a_failed_build_leaves_no_record_and_the_next_build_is_full(runs: dict[str, Any]) -> None:
    assert runs["failing_record"] == {}
    mended = runs["mended"]
    assert _rebuilt(mended) == set(_models(mended))
