"""Reference data: the metric catalog and the county gazetteer, loaded from schemas/."""

from collections.abc import Iterator

from dagster import AssetExecutionContext, MaterializeResult, multi_asset

from pipelines.assets._common import raw_table_spec, table_metadata, warehouse_step
from pipelines.core import stages
from pipelines.core.catalog import load_catalog
from pipelines.core.gazetteer import load_gazetteer
from pipelines.core.warehouse import open_work
from pipelines.resources import FupinSettings

GROUP = "reference"


@multi_asset(
    name="reference_data",
    specs=[
        raw_table_spec(
            "metric_catalog",
            group=GROUP,
            description="The metrics the extractor recognises (schemas/metrics.yaml), one row per metric.",
        ),
        raw_table_spec(
            "county_gazetteer",
            group=GROUP,
            description="Every county-level division, with prefecture and province (schemas/gazetteer.csv).",
        ),
    ],
)
def reference_data(context: AssetExecutionContext, settings: FupinSettings) -> Iterator[MaterializeResult]:
    catalog = load_catalog()
    with warehouse_step(context, settings) as paths, open_work(paths) as con:
        stats = stages.load_reference_data(con, catalog, load_gazetteer())
        metric_meta = table_metadata(
            con,
            "metric_catalog",
            paths,
            stats=stats["metric_catalog"],
            order_by="metric_code",
            extra={"catalog_version": catalog.version},
        )
        county_meta = table_metadata(
            con, "county_gazetteer", paths, stats=stats["county_gazetteer"], order_by="county_code"
        )
    context.log.info(f"catalog {catalog.version}: {metric_meta['dagster/row_count']} metrics")
    yield MaterializeResult(asset_key="metric_catalog", metadata=metric_meta)
    yield MaterializeResult(asset_key="county_gazetteer", metadata=county_meta)
