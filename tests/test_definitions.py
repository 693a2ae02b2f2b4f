"""The Definitions as the UI shows them: groups per layer, keys, check descriptions, the executor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def asset_graph(dbt_manifest: Path) -> Any:
    from pipelines.definitions import defs

    return defs.resolve_asset_graph()


def test_each_dbt_layer_is_a_group_and_every_key_is_a_table_name(asset_graph: Any) -> None:
    keys = asset_graph.get_all_asset_keys()
    groups = {key.to_user_string(): asset_graph.get(key).group_name for key in keys}
    assert all("/" not in key for key in groups)  # raw tables, staging, intermediate and marts alike
    assert {g for k, g in groups.items() if k.startswith("stg_")} == {"staging"}
    assert {g for k, g in groups.items() if k.startswith("int_")} == {"intermediate"}
    assert {groups[k] for k in ("dim_county", "fct_metric_observation", "rpt_rejections")} == {"marts"}
    assert groups["raw_documents"] == "ingestion"


def test_every_check_has_a_description(asset_graph: Any) -> None:
    specs = {key: asset_graph.get_check_spec(key) for key in asset_graph.asset_check_keys}
    assert len(specs) > 50
    assert [key.to_user_string() for key, spec in specs.items() if not spec.description] == []
    described = {key.name: spec.description for key, spec in specs.items()}
    unique = "No two rows of dim_county have the same county_code."
    assert described["unique_dim_county_county_code"] == unique
    relationship = "Every fct_metric_observation.county_code is a dim_county.county_code."
    name = "relationships_fct_metric_observation_county_code__county_code__ref_dim_county_"
    assert described[name] == relationship
    kinds = described["dim_county_county_kind_is_a_known_kind"]
    assert kinds.startswith("dim_county.county_kind is one of: 县, 自治县")
    assert "among rows where" in described["accepted_range_fct_metric_observation_value__100"]
    singular = described["assert_chosen_value_within_range"]  # its own description, from the YAML
    assert singular.startswith("The value fct_county_year_metric chooses")


def test_runs_execute_in_one_process() -> None:
    from dagster import in_process_executor

    from pipelines.definitions import FULL_PIPELINE_JOB, defs

    assert defs.resolve_job_def(FULL_PIPELINE_JOB).executor_def is in_process_executor
