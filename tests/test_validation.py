"""split_valid_facts routes each failing row to rejected_facts with the check it failed."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from pipelines.core.catalog import load_catalog
from pipelines.core.validation import FACT_COLUMNS, REJECTED_COLUMNS, split_valid_facts

CATALOG = SimpleNamespace(
    metrics={
        "poor_households": SimpleNamespace(unit="household"),
        "poverty_rate": SimpleNamespace(unit="percent"),
        "population": SimpleNamespace(unit="person"),
        "investment": SimpleNamespace(unit="yuan"),
        "rate_change": SimpleNamespace(unit="percentage_point"),
    },
    plausible=load_catalog().plausible,  # the ranges of schemas/units.yaml
)
COUNTIES = {"222426", "620725"}


def fact(i: int, **changes) -> dict:
    row = {
        "fact_id": f"f{i:04d}",
        "document_id": "d1",
        "source_file": "a.txt",
        "county_code": "222426",
        "county_name": "安图县",
        "metric_code": "poor_households",
        "year": 2019,
        "period_start_year": None,
        "value": 1200.0,
        "unit": "household",
        "qualifier": None,
        "sentence": "全县贫困户1200户。",
        "start_offset": 4,
        "end_offset": 9,
        "raw_phrase": "1200户",
        "rule": "test",
        "extractor_version": "0",
    }
    row.update(changes)
    return row


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=FACT_COLUMNS)


BAD_ROWS = {
    "metric_in_catalog": {"metric_code": "no_such_metric"},
    "unit_matches_metric": {"unit": "person"},
    "value_within_plausible_range": {"metric_code": "poverty_rate", "unit": "percent", "value": 120.0},
    "year_in_range": {"year": 1800},
    "value_non_negative": {"value": -3.0},
    "county_code_known": {"county_code": "999999"},
    "county_code_format": {"county_code": "22242"},
    "sentence_not_empty": {"sentence": "   "},
    "offsets_ordered": {"start_offset": 9, "end_offset": 9},
}


@pytest.mark.parametrize("check", sorted(BAD_ROWS))
def test_each_check_routes_only_its_row(check: str) -> None:
    rows = [fact(1), fact(2, **BAD_ROWS[check]), fact(3)]
    valid, rejected = split_valid_facts(frame(rows), CATALOG, COUNTIES)
    assert list(valid["fact_id"]) == ["f0001", "f0003"]
    assert list(rejected["fact_id"]) == ["f0002"]
    assert check in rejected.loc[0, "failed_check"].split("; ")
    assert rejected.loc[0, "failure_detail"]
    assert list(rejected.columns) == REJECTED_COLUMNS


def test_percent_at_the_bounds_and_null_year_are_valid() -> None:
    rows = [
        fact(1, metric_code="poverty_rate", unit="percent", value=0.0),
        fact(2, metric_code="poverty_rate", unit="percent", value=100.0),
        fact(3, year=None),
        fact(4, year=1949),
        fact(5, year=2030),
    ]
    valid, rejected = split_valid_facts(frame(rows), CATALOG, COUNTIES)
    assert len(valid) == 5 and rejected.empty


def test_plausible_ranges_per_unit_come_from_units_yaml() -> None:
    rows = [
        fact(1, metric_code="investment", unit="yuan", value=9.9999999999999999e30),  # 99999…亿元
        fact(2, metric_code="population", unit="person", value=10_000_000.0),  # not below 10 million
        fact(3, metric_code="population", unit="person", value=-3_000_000.0),  # -300万人
        fact(4, metric_code="poverty_rate", unit="percent", value=-5.0),
        fact(5, metric_code="population", unit="person", value=9_999_999.0),
        fact(6, metric_code="rate_change", unit="percentage_point", value=-5.0),  # may fall
        fact(7, metric_code="investment", unit="yuan", value=1.2e8),
    ]
    valid, rejected = split_valid_facts(frame(rows), CATALOG, COUNTIES)
    assert list(valid["fact_id"]) == ["f0005", "f0006", "f0007"]
    reasons = dict(zip(rejected["fact_id"], rejected["failed_check"], strict=True))
    assert reasons == {
        "f0001": "value_within_plausible_range",
        "f0002": "value_within_plausible_range",
        "f0003": "value_non_negative",  # reported once, not also as out of range
        "f0004": "value_non_negative",
    }
    details = dict(zip(rejected["fact_id"], rejected["failure_detail"], strict=True))
    assert details["f0002"] == (
        "value_within_plausible_range failed (unit='person', value=10000000.0; "
        "plausible for one county: 0 to below 10,000,000)"
    )
    assert "plausible for one county: 0 to 100" in details["f0004"]


def test_a_row_failing_several_checks_lists_them_all() -> None:
    rows = [fact(1, value=-1.0, year=1800, county_code="999999")]
    _, rejected = split_valid_facts(frame(rows), CATALOG, COUNTIES)
    assert set(rejected.loc[0, "failed_check"].split("; ")) == {
        "value_non_negative",
        "year_in_range",
        "county_code_known",
    }


def test_duplicate_fact_ids_are_rejected() -> None:
    valid, rejected = split_valid_facts(frame([fact(1), fact(1)]), CATALOG, COUNTIES)
    assert valid.empty and len(rejected) == 2
    assert set(rejected["failed_check"]) == {"field_uniqueness"}


def test_nothing_is_dropped_on_a_mixed_frame() -> None:
    rows = []
    for i in range(60):
        name = sorted(BAD_ROWS)[i % len(BAD_ROWS)] if i % 3 == 0 else None
        rows.append(fact(i, **(BAD_ROWS[name] if name else {})))
    rows.append(fact(999, value=None))  # a null value: not_nullable
    df = frame(rows)
    valid, rejected = split_valid_facts(df, CATALOG, COUNTIES)
    assert len(valid) + len(rejected) == len(df)
    assert set(valid["fact_id"]).isdisjoint(rejected["fact_id"])
    assert set(valid["fact_id"]) | set(rejected["fact_id"]) == set(df["fact_id"])
    assert len(rejected) == 21


def test_empty_frame() -> None:
    valid, rejected = split_valid_facts(frame([]), CATALOG, COUNTIES)
    assert valid.empty and rejected.empty


def test_a_missing_column_rejects_every_row() -> None:
    df = frame([fact(1), fact(2)]).drop(columns=["sentence"])
    valid, rejected = split_valid_facts(df, CATALOG, COUNTIES)
    assert valid.empty and len(rejected) == 2
    assert all(rejected["failed_check"].str.len() > 0)
