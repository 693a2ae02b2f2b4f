"""The dbt project as Dagster assets: staging, intermediate and mart models; dbt tests as asset checks."""

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    MaterializeResult,
    Output,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.assets._common import warehouse_step
from pipelines.core import dbt_inputs, filestats
from pipelines.core.dbt_inputs import UNCHANGED_METADATA, BuildPlan
from pipelines.core.uptodate import run_inputs_version
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
            manifest = orjson.loads(dbt_project.manifest_path.read_bytes())
            plan, inputs = _plan_build(paths, manifest, settings.raw_path(), subset=context.is_subset)
            _log_plan(context, plan)
            invocation = dbt.cli(
                ["build", *_exclusion_args(plan)], context=context, target_path=paths.dbt_target
            )
            try:
                events.extend(invocation.stream())
            except BaseException:
                yield from events  # the models built before a failure are still reported
                raise
            # Written once dbt has exited: DuckDB lets no other process open the file while dbt writes it.
            if not context.is_subset:
                with contextlib.closing(connect(paths.work)) as con:
                    dbt_inputs.record_inputs(con, inputs)
            skipped = _skipped_models(manifest, plan)
            relations = {**_model_relations(events, invocation.manifest), **skipped}
            counts = model_row_counts(paths, relations)
    for index, event in enumerate(events):
        unique_id = _model_unique_id(event)
        if unique_id in counts:
            events[index] = event.with_metadata({**event.metadata, "dagster/row_count": counts[unique_id]})
    unchanged = [
        _unchanged_model(manifest["nodes"][unique_id], counts.get(unique_id)) for unique_id in skipped
    ]
    yield from _in_dependency_order([*unchanged, *events], manifest)


def _in_dependency_order(events: list[Any], manifest: Mapping[str, Any]) -> list[Any]:
    """Dagster takes a multi-asset's outputs only in dependency order: each model after the models it
    reads, and a check after the model it checks. dbt's events come in the order its threads finished
    (which respects dependencies), the skipped models' reports apart from them: sort both together.
    The sort is stable, so events of one model keep dbt's order."""
    rank = {
        translator.get_asset_key(node): position for position, node in enumerate(_models_in_order(manifest))
    }

    def key(event: Any) -> tuple[int, int]:
        if isinstance(event, AssetCheckResult):
            return rank.get(event.asset_key, -1), 1
        if isinstance(event, AssetCheckEvaluation):
            return rank.get(event.asset_check_key.asset_key, -1), 1
        if isinstance(event, Output):
            node = manifest["nodes"].get(_model_unique_id(event) or "")
            return (rank.get(translator.get_asset_key(node), -1) if node else -1), 0
        return rank.get(getattr(event, "asset_key", None), -1), 0

    return sorted(events, key=key)


def _models_in_order(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The models, each after every model it reads."""
    models = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    ordered: list[Mapping[str, Any]] = []
    placed: set[str] = set()
    while len(placed) < len(models):
        ready = [
            uid
            for uid, node in sorted(models.items())
            if uid not in placed
            and all(dep in placed or dep not in models for dep in node["depends_on"]["nodes"])
        ]
        if not ready:
            raise ValueError("the dbt models depend on each other in a cycle")
        ordered += [models[uid] for uid in ready]
        placed.update(ready)
    return ordered


def _plan_build(
    paths: WarehousePaths, manifest: Mapping[str, Any], raw_dir: Path, *, subset: bool
) -> tuple[BuildPlan, dict[str, str]]:
    """What this build skips, and the inputs it builds from (recorded when it succeeds). The record
    of the last build is forgotten first: a build that fails or is killed is followed by a full one."""
    with contextlib.closing(connect(paths.work)) as con:
        inputs = dbt_inputs.fingerprint_sources(con, dbt_inputs.source_relations(manifest))
        inputs[dbt_inputs.CODE_INPUT] = run_inputs_version(raw_dir)
        if subset:
            plan = BuildPlan(full_build_reason="a subset of the models was selected")
        elif filestats.reread_requested():
            plan = BuildPlan(full_build_reason="`fupin run --force` trusts no record")
        else:
            plan = dbt_inputs.plan_build(
                manifest, inputs, dbt_inputs.recorded_inputs(con), dbt_inputs.existing_relations(con)
            )
        dbt_inputs.forget_inputs(con)
    return plan, inputs


def _exclusion_args(plan: BuildPlan) -> list[str]:
    """dbt's --exclude of the skipped nodes; "empty" indirect selection keeps the tests of a skipped
    view (dbt would otherwise drop a test with its model)."""
    if not plan.excluded:
        return []
    return ["--exclude", " ".join(plan.excluded), "--indirect-selection", "empty"]


def _log_plan(context: AssetExecutionContext, plan: BuildPlan) -> None:
    if plan.full_build_reason:
        context.log.info(f"Building every dbt model: {plan.full_build_reason}.")
    else:
        changed = ", ".join(plan.changed_sources) or "none"
        context.log.info(
            f"Sources changed since the last build: {changed}. Skipping {len(plan.skipped_models)} models "
            f"and {len(plan.skipped_tests)} tests whose inputs did not change (views are never rebuilt for "
            "new rows)."
        )


def _skipped_models(manifest: Mapping[str, Any], plan: BuildPlan) -> dict[str, str]:
    """unique_id -> relation of each model the build skips."""
    skipped = set(plan.skipped_models)
    return {
        unique_id: dbt_inputs.relation_of(node)
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["name"] in skipped
    }


def _unchanged_model(node: Mapping[str, Any], row_count: int | None) -> MaterializeResult:
    """A model the build skipped, reported current: it holds what a rebuild would write (its sources
    are as they were at the last build), and the steps downstream (publishing) need every model
    reported. Its metadata says it was not rebuilt and why."""
    why = (
        "a view reads new rows by itself"
        if node["config"].get("materialized") == "view"
        else "no source upstream of it changed since the last build"
    )
    metadata: dict[str, Any] = {UNCHANGED_METADATA: True, "fupin/why_not_rebuilt": why}
    if row_count is not None:
        metadata["dagster/row_count"] = row_count
    return MaterializeResult(asset_key=translator.get_asset_key(node), metadata=metadata)


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
            relations[node["unique_id"]] = dbt_inputs.relation_of(node)
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
