"""The dbt project as Dagster assets: staging, intermediate and mart models; dbt tests as asset checks."""

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    Output,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.assets._common import warehouse_step
from pipelines.core.warehouse import WarehousePaths, connect, open_work, work_lock
from pipelines.resources import (
    DBT_DATABASE_ENV,
    FupinSettings,
    dbt_project,
    manifest_loads,
    prepare_dbt_manifest,
)

LAYERS = ("staging", "intermediate", "marts")  # the folders under dbt_project/models, one group each

# The manifest is a build artefact (dbt_project/target is not in git): make it when it is missing
# or does not load, and keep it fresh under `dagster dev`.
if not manifest_loads():
    prepare_dbt_manifest(force=True)
dbt_project.prepare_if_dev()


class FupinDbtTranslator(DagsterDbtTranslator):
    """Every asset key is the bare table name, whichever layer it is in: the raw tables (dbt sources,
    mapped through their meta.dagster.asset_key to the Python assets) and every model alike. The
    layer is the group: each models/ folder (staging, intermediate, marts) is a group of its own.
    dbt tests become asset checks with a description of what they assert."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props.get("resource_type") == "model":
            return AssetKey(dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props.get("resource_type") == "source":
            return super().get_group_name(dbt_resource_props)
        return model_layer(dbt_resource_props)

    def get_asset_check_spec(
        self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return AssetCheckSpec(
            name=spec.name,
            asset=spec.asset_key,
            description=describe_dbt_test(manifest, manifest["nodes"][unique_id]),
            additional_deps=spec.additional_deps,
            blocking=spec.blocking,
            metadata=spec.metadata,
            automation_condition=spec.automation_condition,
        )


def model_layer(dbt_resource_props: Mapping[str, Any]) -> str | None:
    """The models/ folder a model is in (its fqn is [project, folder, ..., name])."""
    fqn = dbt_resource_props.get("fqn", [])
    return fqn[1] if len(fqn) > 2 and fqn[1] in LAYERS else None


def _node_name(manifest: Mapping[str, Any], unique_id: str | None) -> str:
    node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id) or {}
    return node.get("name", unique_id or "?")


def _ref_name(ref: str) -> str:
    """`ref('dim_county')` -> dim_county."""
    found = re.search(r"""ref\(\s*['"]([^'"]+)['"]""", ref or "")
    return found.group(1) if found else str(ref)


def describe_dbt_test(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> str:
    """What a dbt test asserts, in a sentence: its own description, else one made from its kind and
    arguments (dbt's generic tests carry none, and Dagster showed "No description provided")."""
    if test.get("description"):
        return test["description"].strip()
    metadata = test.get("test_metadata") or {}
    kwargs = metadata.get("kwargs", {})
    model = _node_name(manifest, test.get("attached_node"))
    column_name = test.get("column_name") or kwargs.get("column_name")
    column = f"{model}.{column_name}"
    kind = metadata.get("name")
    if kind == "unique":
        sentence = f"No two rows of {model} have the same {column_name}."
    elif kind == "not_null":
        sentence = f"{column} is never null."
    elif kind == "relationships":
        sentence = f"Every {column} is a {_ref_name(kwargs.get('to'))}.{kwargs.get('field')}."
    elif kind == "accepted_values":
        sentence = f"{column} is one of: {', '.join(map(str, kwargs.get('values', [])))}."
    elif kind == "accepted_range":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        bounds = [f">= {low}" if low is not None else "", f"<= {high}" if high is not None else ""]
        sentence = f"{column} is {' and '.join(b for b in bounds if b)} (nulls pass)."
    elif kind == "unique_combination_of_columns":
        columns = ", ".join(kwargs.get("combination_of_columns", []))
        sentence = f"No two rows of {model} share the same ({columns})."
    else:
        sentence = f"dbt test {test.get('name')}: fails on every row it selects."
    where = (test.get("config") or {}).get("where")
    return f"{sentence[:-1]}, among rows where {where}." if where else sentence


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
    with warehouse_step(context, settings) as paths:
        with open_work(paths):
            pass  # the raw tables must exist even when only dbt runs on a new warehouse
        # dbt writes the working file from its own process; holding the lock keeps the Python stages
        # (possibly in other processes) out of it meanwhile. dbt copies the environment at invocation.
        # One target dir per warehouse, kept between runs: dbt's partial-parse state is only reused
        # when the profile (which names the database file) is unchanged, and a fresh dir per run would
        # start from the manifest `dbt parse` wrote for the default path, a full re-parse every build.
        events: list[Any] = []
        with work_lock(paths), _env(DBT_DATABASE_ENV, os.fspath(paths.work)):
            invocation = dbt.cli(["build"], context=context, target_path=paths.dbt_target)
            try:
                events.extend(invocation.stream())
            except BaseException:
                yield from events  # the models built before a failure are still reported
                raise
            # Counted once dbt has exited: DuckDB lets no other process open the file while dbt writes it.
            counts = model_row_counts(paths, _model_relations(events, invocation.manifest))
    for event in events:
        unique_id = _model_unique_id(event)
        if unique_id in counts:
            event = event.with_metadata({**event.metadata, "dagster/row_count": counts[unique_id]})
        yield event


def _model_unique_id(event: Any) -> str | None:
    """The dbt unique_id of a model's materialisation event; None for checks and other events."""
    if isinstance(event, Output | AssetMaterialization) and "unique_id" in event.metadata:
        return event.metadata["unique_id"].value
    return None


def _model_relations(events: Iterable[Any], manifest: Mapping[str, Any]) -> dict[str, str]:
    """unique_id -> "schema"."table" of every model an event reports built (the manifest the build
    was started with, already loaded)."""
    nodes = manifest["nodes"]
    relations = {}
    for event in events:
        node = nodes.get(_model_unique_id(event) or "", {})
        if node.get("resource_type") == "model" and node["config"].get("materialized") != "ephemeral":
            relations[node["unique_id"]] = f'"{node["schema"]}"."{node.get("alias") or node["name"]}"'
    return relations


def model_row_counts(paths: WarehousePaths, relations: Mapping[str, str]) -> dict[str, int]:
    """Rows of each relation in the working file (views too: staging and intermediate views are plain
    projections and joins, counted in milliseconds)."""
    counts: dict[str, int] = {}
    if not relations or not paths.work.exists():
        return counts
    con = connect(paths.work, read_only=True)
    try:
        for unique_id, relation in relations.items():
            (counts[unique_id],) = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
    finally:
        con.close()
    return counts
