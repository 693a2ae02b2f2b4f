"""stages.validate_facts on a real DuckDB file: only facts not judged yet are validated again."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from pipelines.core import stages
from pipelines.core.warehouse import STATE_SCHEMA, WarehousePaths, open_work
from tests.test_validation import fact

COUNTIES = [{"county_code": "222426"}, {"county_code": "620725"}]


def catalog(version: str = "v1", metrics: tuple[str, ...] = ("poor_households", "poverty_rate")):
    units = {"poor_households": "household", "poverty_rate": "percent"}
    return SimpleNamespace(version=version, metrics={m: SimpleNamespace(unit=units[m]) for m in metrics})


GAZETTEER = SimpleNamespace(county_rows=lambda: COUNTIES)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    with open_work(WarehousePaths.from_published(tmp_path / "fupin.duckdb")) as connection:
        yield connection


def extracted(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    con.execute("DELETE FROM raw.extracted_facts")
    stages.insert_rows(con, "extracted_facts", rows)


def ids(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema = STATE_SCHEMA if table == "last_validated_facts" else "raw"
    return [r[0] for r in con.execute(f"SELECT fact_id FROM {schema}.{table} ORDER BY fact_id").fetchall()]


def test_a_second_run_without_changes_judges_nothing(con) -> None:
    extracted(con, [fact(1), fact(2), fact(3, value=-1.0)])
    first = stages.validate_facts(con, catalog(), GAZETTEER)
    assert (first.processed, first.written, first.rejected) == (3, 2, 1)
    again = stages.validate_facts(con, catalog(), GAZETTEER)
    assert (again.processed, again.skipped, again.removed) == (0, 3, 0)
    assert ids(con, "validated_facts") == ["f0001", "f0002"]
    assert ids(con, "rejected_facts") == ["f0003"]
    assert ids(con, "last_validated_facts") == []


def test_only_new_changed_and_vanished_facts_are_touched(con) -> None:
    extracted(con, [fact(1), fact(2), fact(3)])
    stages.validate_facts(con, catalog(), GAZETTEER)
    # f0002 changes value under the same id (now invalid), f0003 is gone, f0004 is new.
    extracted(con, [fact(1), fact(2, value=-5.0), fact(4)])
    stats = stages.validate_facts(con, catalog(), GAZETTEER)
    assert stats.processed == 2 and stats.skipped == 1
    assert ids(con, "validated_facts") == ["f0001", "f0004"]
    assert ids(con, "rejected_facts") == ["f0002"]
    assert ids(con, "last_validated_facts") == ["f0002", "f0004"]
    (failed,) = con.execute("SELECT failed_check FROM raw.rejected_facts").fetchone()
    assert "value_non_negative" in failed


def test_a_new_fact_reusing_a_judged_id_is_checked_for_uniqueness_with_it(con) -> None:
    extracted(con, [fact(1)])
    stages.validate_facts(con, catalog(), GAZETTEER)
    extracted(con, [fact(1), fact(1, start_offset=20, end_offset=25)])
    stages.validate_facts(con, catalog(), GAZETTEER)
    assert ids(con, "validated_facts") == []
    assert ids(con, "rejected_facts") == ["f0001", "f0001"]


def test_a_new_catalog_version_re_judges_every_fact(con) -> None:
    extracted(con, [fact(1), fact(2, metric_code="poverty_rate", unit="percent", value=3.2)])
    stages.validate_facts(con, catalog(), GAZETTEER)
    narrower = catalog(version="v2", metrics=("poor_households",))
    stats = stages.validate_facts(con, narrower, GAZETTEER)
    assert stats.processed == 2
    assert ids(con, "validated_facts") == ["f0001"]
    assert ids(con, "rejected_facts") == ["f0002"]


def test_a_new_gazetteer_re_judges_every_fact(con) -> None:
    extracted(con, [fact(1), fact(2, county_code="620725")])
    stages.validate_facts(con, catalog(), GAZETTEER)
    smaller = SimpleNamespace(county_rows=lambda: COUNTIES[:1])
    stats = stages.validate_facts(con, catalog(), smaller)
    assert stats.processed == 2
    assert ids(con, "rejected_facts") == ["f0002"]
