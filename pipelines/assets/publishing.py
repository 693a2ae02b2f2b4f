"""Publishing: the working file becomes the warehouse BI tools read, atomically."""

import json

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from dagster_dbt import get_asset_key_for_model

from pipelines.assets._common import markdown_table, warehouse_step
from pipelines.assets.dbt import dbt_models
from pipelines.core.runlock import finish_run
from pipelines.core.uptodate import run_inputs_version
from pipelines.core.warehouse import describe_warehouse, publish
from pipelines.resources import FupinSettings, dbt_project

GROUP = "publishing"


def mart_keys() -> list[AssetKey]:
    """The dbt models under models/marts: what the warehouse is published for."""
    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    names = sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "marts" in node["fqn"]
    )
    return [get_asset_key_for_model([dbt_models], name) for name in names]


@asset(
    key="published_warehouse",
    group_name=GROUP,
    deps=mart_keys(),
    kinds={"duckdb"},
    description=(
        "The DuckDB file BI tools open read-only (it is read-only on disk). Replaced atomically by a "
        "checkpointed copy of the working file once every model is built and tested; readers keep their "
        "snapshot. Refuses to publish a run that would remove more than max_shrink of the published "
        "documents unless allow_shrink is set."
    ),
)
def published_warehouse(context: AssetExecutionContext, settings: FupinSettings) -> MaterializeResult:
    with warehouse_step(context, settings) as paths:
        version = run_inputs_version(settings.raw_path())
        published = publish(paths, settings.shrink_limit(), inputs_version=version)
        finish_run(paths, context.run.run_id)
    tables = describe_warehouse(published)
    context.log.info(f"published {published} ({len(tables)} tables and views)")
    metadata = {
        "path": MetadataValue.path(str(published)),
        "size_bytes": published.stat().st_size,
        "table_count": len(tables),
        "tables": MetadataValue.md(markdown_table(["schema", "table", "rows"], tables)),
    }
    metadata.update({f"rows/{schema}.{table}": rows for schema, table, rows in tables if schema == "main"})
    return MaterializeResult(metadata=metadata)
