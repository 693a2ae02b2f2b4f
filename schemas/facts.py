"""The pandera schema of the extracted facts table (raw.extracted_facts).

`FactSchema` holds the checks that need nothing but the facts themselves. The checks that depend on
reference data (the metric catalog, the county gazetteer) are added at validation time by
`FactSchema.with_reference`, so the schema always judges against the catalog of the current run.
Every check has a stable name: it is what lands in rejected_facts.failed_check.
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
PERCENT_UNIT = "percent"


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

    @pa.check("value", name="value_non_negative", description="value is a finite number >= 0")
    def _value_non_negative(cls, value: Series[float]) -> Series[bool]:
        return value.notna() & (value >= 0) & (value != float("inf"))

    @pa.check("county_code", name="county_code_format", description="6-digit administrative code")
    def _county_code_format(cls, code: Series[str]) -> Series[bool]:
        return code.str.fullmatch(r"\d{6}").fillna(False).astype(bool)

    @pa.check("sentence", name="sentence_not_empty", description="the source sentence is kept")
    def _sentence_not_empty(cls, sentence: Series[str]) -> Series[bool]:
        return sentence.str.strip().str.len().fillna(0) > 0

    @pa.dataframe_check(name="percent_within_0_100", description="percent values lie in 0-100")
    def _percent_range(cls, df: pd.DataFrame) -> Series[bool]:
        is_percent = df["unit"] == PERCENT_UNIT
        return ~is_percent | df["value"].between(0, 100)

    @pa.dataframe_check(name="offsets_ordered", description="0 <= start_offset < end_offset")
    def _offsets_ordered(cls, df: pd.DataFrame) -> Series[bool]:
        ok = (df["start_offset"] >= 0) & (df["start_offset"] < df["end_offset"])
        return ok.fillna(False).astype(bool)

    @classmethod
    def with_reference(
        cls, metric_units: Mapping[str, str], county_codes: Iterable[str]
    ) -> pa.DataFrameSchema:
        """The schema plus the checks against this run's catalog and gazetteer.

        metric_units: metric code -> the metric's canonical unit; county_codes: known codes.
        """
        schema = copy.deepcopy(cls.to_schema())
        units = dict(metric_units)
        codes = frozenset(county_codes)

        def metric_known(df: pd.DataFrame) -> pd.Series:
            return df["metric_code"].isin(units.keys())

        def unit_matches(df: pd.DataFrame) -> pd.Series:
            expected = df["metric_code"].map(units)
            # Unknown metrics are reported by metric_in_catalog alone, not twice.
            return expected.isna() | (df["unit"] == expected)

        def county_known(df: pd.DataFrame) -> pd.Series:
            return df["county_code"].isin(codes)

        reference_checks: list[Any] = [
            pa.Check(metric_known, name="metric_in_catalog", description="metric_code is in the catalog"),
            pa.Check(unit_matches, name="unit_matches_metric", description="unit is the metric's unit"),
            pa.Check(county_known, name="county_code_known", description="county_code is in the gazetteer"),
        ]
        schema.checks = [*schema.checks, *reference_checks]
        return schema
