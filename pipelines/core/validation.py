"""Split extracted facts into the valid ones and the rejected ones, with the check each row failed.

pandera validates lazily, so one pass reports every failing check; each failure case that names a
row sends that row to the rejected side. Failures that name no row (a missing column, a column of
the wrong type) reject every row. Nothing is dropped: len(valid) + len(rejected) == len(facts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pandera.errors as pa_errors

from pipelines.core.tables import RAW_TABLES
from schemas.facts import FactSchema

FACT_COLUMNS = list(RAW_TABLES["extracted_facts"])
REJECTED_COLUMNS = list(RAW_TABLES["rejected_facts"])


def metric_units(catalog: Any) -> dict[str, str]:
    """metric code -> canonical unit, from a catalog (anything with .metrics of objects with .unit)."""
    return {code: metric.unit for code, metric in catalog.metrics.items()}


# Dataframe-wide checks report every column of a failing row; these are the ones worth showing.
_DATAFRAME_CHECK_COLUMNS: dict[str, tuple[str, ...]] = {
    "metric_in_catalog": ("metric_code",),
    "unit_matches_metric": ("metric_code", "unit"),
    "county_code_known": ("county_code",),
    "value_non_negative": ("unit", "value"),
    "value_within_plausible_range": ("unit", "value"),
    "offsets_ordered": ("start_offset", "end_offset"),
}


def _plain(value: Any) -> Any:
    """numpy scalars print as np.float64(1.0); people want 1.0."""
    return value.item() if hasattr(value, "item") else value


# Checks whose reason also says what the unit allows.
_RANGE_CHECKS = frozenset({"value_non_negative", "value_within_plausible_range"})


def _describe(case: Mapping[str, Any], facts: pd.DataFrame, ranges: Mapping[str, Any]) -> str:
    check = str(case.get("check"))
    label = case.get("index")
    shown = _DATAFRAME_CHECK_COLUMNS.get(check)
    if shown and label in facts.index:
        values = ", ".join(f"{c}={_plain(facts.at[label, c])!r}" for c in shown if c in facts.columns)
        unit_range = ranges.get(facts.at[label, "unit"]) if check in _RANGE_CHECKS else None
        if unit_range is not None:
            values += f"; plausible for one county: {unit_range.describe()}"
        elif check == "value_non_negative":
            values += "; the unit has no negative values"
        return f"{check} failed ({values})"
    column = case.get("column")
    where = f"{column}: " if isinstance(column, str) and column else ""
    return f"{where}{check} failed (got {_plain(case.get('failure_case'))!r})"


def _failures_by_row(
    failure_cases: pd.DataFrame, facts: pd.DataFrame, ranges: Mapping[str, Any]
) -> dict[Any, list[tuple[str, str]]]:
    """Row label -> [(check name, detail)], in the order pandera reported them."""
    index = facts.index
    by_row: dict[Any, list[tuple[str, str]]] = {}
    for case in failure_cases.to_dict("records"):
        check = str(case.get("check"))
        detail = _describe(case, facts, ranges)
        label = case.get("index")
        rows = list(index) if label is None or (isinstance(label, float) and pd.isna(label)) else [label]
        for row in rows:
            if row in index:
                entries = by_row.setdefault(row, [])
                if (check, detail) not in entries:
                    entries.append((check, detail))
    return by_row


def split_valid_facts(
    df: pd.DataFrame, catalog: Any, county_codes: Iterable[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(valid facts, rejected facts with failed_check and failure_detail) for an extracted-facts frame."""
    facts = df.reset_index(drop=True)
    ranges = getattr(catalog, "plausible", None) or {}
    schema = FactSchema.with_reference(metric_units(catalog), county_codes, ranges)
    try:
        schema.validate(facts, lazy=True)
    except pa_errors.SchemaErrors as err:
        failures = _failures_by_row(err.failure_cases, facts, ranges)
    else:
        failures = {}

    rejected_mask = facts.index.isin(list(failures))
    valid = facts.loc[~rejected_mask, [c for c in FACT_COLUMNS if c in facts.columns]].reset_index(drop=True)
    rejected = facts.loc[rejected_mask, [c for c in FACT_COLUMNS if c in facts.columns]].copy()
    rejected["failed_check"] = [
        "; ".join(dict.fromkeys(check for check, _ in failures[i])) for i in rejected.index
    ]
    rejected["failure_detail"] = ["; ".join(detail for _, detail in failures[i]) for i in rejected.index]
    return valid, rejected.reset_index(drop=True)
