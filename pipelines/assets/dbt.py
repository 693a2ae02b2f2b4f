"""The dbt project as Dagster assets: staging, intermediate and mart models; dbt tests as asset checks."""

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.core.warehouse import open_work, work_lock
from pipelines.resources import DBT_DATABASE_ENV, FupinSettings, dbt_project, prepare_dbt_manifest

GROUP = "marts"

# The manifest is a build artefact (dbt_project/target is not in git): make it when it is missing,
# and keep it fresh under `dagster dev`.
if not dbt_project.manifest_path.exists():
    prepare_dbt_manifest()
dbt_project.prepare_if_dev()


class FupinDbtTranslator(DagsterDbtTranslator):
    """Sources map to the raw-table assets through their meta.dagster.asset_key (the default
    translator honours it); every dbt model goes into the marts group under its bare name."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props.get("resource_type") == "source":
            return super().get_group_name(dbt_resource_props)
        return GROUP


translator = FupinDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    name="dbt_models",
)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, settings: FupinSettings) -> Iterator[Any]:
    paths = settings.warehouse_paths()
    with open_work(paths):
        pass  # the raw tables must exist even when only dbt runs on a new warehouse
    # dbt writes the working file from its own process; holding the lock keeps the Python stages
    # (possibly in other processes) out of it meanwhile. dbt copies the environment at invocation.
    # One target dir per warehouse, kept between runs: dbt's partial-parse state is only reused when
    # the profile (which names the database file) is unchanged, and a fresh dir per run would start
    # from the manifest `dbt parse` wrote for the default path, a full re-parse every build.
    with work_lock(paths), _env(DBT_DATABASE_ENV, os.fspath(paths.work)):
        yield from dbt.cli(["build"], context=context, target_path=paths.dbt_target).stream()
