"""The dbt CLI resource skips dagster-dbt's start-up work without changing what it reports."""

from __future__ import annotations

import re
import subprocess

from dagster_dbt import DbtCliResource

from pipelines.resources import FupinDbtCliResource, dbt_executable, dbt_resource


def test_the_overridden_members_still_exist_in_dagster_dbt() -> None:
    # If an upgrade renames them, the overrides would silently stop saving time: fail instead.
    assert "_cli_version" in vars(DbtCliResource)
    assert callable(vars(DbtCliResource)["_initialize_dbt_core_adapter"])
    # The in-process build reads these of dagster-dbt and dbt-duckdb (pipelines/resources.py).
    from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    assert {"process", "manifest", "target_path", "cli_version"} <= set(DbtCliInvocation.__annotations__)
    assert hasattr(DuckDBConnectionManager, "_ENV") and hasattr(DuckDBConnectionManager, "_LOCK")


def test_the_version_is_the_one_the_dbt_executable_reports() -> None:
    resource = dbt_resource()
    assert isinstance(resource, FupinDbtCliResource)
    output = subprocess.run(
        [dbt_executable(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    installed = re.search(r"installed:\s*(\d+\.\d+\.\d+)", output)
    assert installed, output
    assert str(resource._cli_version) == installed.group(1)


def test_no_in_process_adapter_is_built() -> None:
    assert dbt_resource()._initialize_dbt_core_adapter(["build"]) is None
