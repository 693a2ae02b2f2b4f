"""The pandera schema of the extracted facts table (raw.extracted_facts).

`FactSchema` holds the checks that need nothing but the facts themselves. The checks that depend on
reference data (the metric catalog with its plausible range per unit, the county gazetteer) are
added at validation time by `FactSchema.with_reference`, so the schema always judges against the
catalog of the current run. Every check has a stable name: it is what lands in
rejected_facts.failed_check.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

YEAR_MIN = 1949
YEAR_MAX = 2030


class FactSchema(pa.DataFrameModel):
    fact_id: Series[str] = pa.Field(unique=True)
    document_id: Series[str]
    source_file: Series[str]
    county_code: Series[str]
    county_name: Series[str]
    metric_code: Series[str]
    year: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    period_start_year: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    value: Series[float]
    unit: Series[str]
    qualifier: Series[str] = pa.Field(nullable=True)
    sentence: Series[str]
    start_offset: Series[pd.Int64Dtype]
    end_offset: Series[pd.Int64Dtype]
    raw_phrase: Series[str] = pa.Field(nullable=True)
    rule: Series[str] = pa.Field(nullable=True)
    extractor_version: Series[str] = pa.Field(nullable=True)

    class Config:
        coerce = True
        strict = False  # extra columns are tolerated; the table definition governs them

    @pa.check("year", name="year_in_range", description=f"year within {YEAR_MIN}-{YEAR_MAX} or null")
    def _year_in_range(cls, year: Series[pd.Int64Dtype]) -> Series[bool]:
        return year.isna() | year.between(YEAR_MIN, YEAR_MAX)

    @pa.check("value", name="value_is_finite", description="value is a finite number")
    def _value_is_finite(cls, value: Series[float]) -> Series[bool]:
        return value.notna() & value.abs().lt(float("inf"))

    @pa.check("county_code", name="county_code_format", description="6-digit administrative code")
    def _county_code_format(cls, code: Series[str]) -> Series[bool]:
        return code.str.fullmatch(r"\d{6}").fillna(False).astype(bool)

    @pa.check("sentence", name="sentence_not_empty", description="the source sentence is kept")
    def _sentence_not_empty(cls, sentence: Series[str]) -> Series[bool]:
        return sentence.str.strip().str.len().fillna(0) > 0

    @pa.dataframe_check(name="offsets_ordered", description="0 <= start_offset < end_offset")
    def _offsets_ordered(cls, df: pd.DataFrame) -> Series[bool]:
        ok = (df["start_offset"] >= 0) & (df["start_offset"] < df["end_offset"])
        return ok.fillna(False).astype(bool)

    @classmethod
    def with_reference(
        cls,
        metric_units: Mapping[str, str],
        county_codes: Iterable[str],
        plausible: Mapping[str, Any] | None = None,
    ) -> pa.DataFrameSchema:
        """The schema plus the checks against this run's catalog and gazetteer.

        metric_units: metric code -> the metric's canonical unit; county_codes: known codes;
        plausible: canonical unit -> its range (catalog PlausibleRange: minimum, maximum, below).
        """
        schema = copy.deepcopy(cls.to_schema())
        units = dict(metric_units)
        codes = frozenset(county_codes)
        ranges = dict(plausible or {})

        def metric_known(df: pd.DataFrame) -> pd.Series:
            return df["metric_code"].isin(units.keys())

        def unit_matches(df: pd.DataFrame) -> pd.Series:
            expected = df["metric_code"].map(units)
            # Unknown metrics are reported by metric_in_catalog alone, not twice.
            return expected.isna() | (df["unit"] == expected)

        def county_known(df: pd.DataFrame) -> pd.Series:
            return df["county_code"].isin(codes)

        def bound(df: pd.DataFrame, attribute: str, default: float) -> pd.Series:
            values = {
                u: getattr(r, attribute) for u, r in ranges.items() if getattr(r, attribute) is not None
            }
            return df["unit"].map(values).astype("float64").fillna(default)

        def sign_allowed(df: pd.DataFrame) -> pd.Series:
            # Units without a range cannot be negative either (a count, an amount, a share).
            return (df["value"] >= 0) | (bound(df, "minimum", 0.0) < 0) | df["value"].isna()

        def within_range(df: pd.DataFrame) -> pd.Series:
            value, inf = df["value"], float("inf")
            ok = (value >= bound(df, "minimum", -inf)) & (value <= bound(df, "maximum", inf))
            ok &= value < bound(df, "below", inf)
            # A negative where none is allowed is value_non_negative's to report, not twice.
            return ok | ~sign_allowed(df) | value.isna()

        reference_checks: list[Any] = [
            pa.Check(metric_known, name="metric_in_catalog", description="metric_code is in the catalog"),
            pa.Check(unit_matches, name="unit_matches_metric", description="unit is the metric's unit"),
            pa.Check(county_known, name="county_code_known", description="county_code is in the gazetteer"),
            pa.Check(
                sign_allowed,
                name="value_non_negative",
                description="value >= 0 unless the unit's plausible range (units.yaml) goes below 0",
            ),
            pa.Check(
                within_range,
                name="value_within_plausible_range",
                description="value within its unit's plausible range for one county (units.yaml plausible)",
            ),
        ]
        schema.checks = [*schema.checks, *reference_checks]
        return schema
