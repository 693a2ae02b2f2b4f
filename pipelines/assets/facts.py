"""Extraction: facts and unclassified numeric mentions from the cleaned documents, then validation."""

from collections.abc import Iterator

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, multi_asset

from pipelines.assets._common import raw_table_spec, table_metadata, warehouse_step
from pipelines.core import stages
from pipelines.core.catalog import load_catalog
from pipelines.core.gazetteer import load_gazetteer
from pipelines.core.partitions import partition_outputs
from pipelines.core.places import PlaceIndex
from pipelines.core.warehouse import open_work
from pipelines.resources import FupinSettings

GROUP = "extraction"


@multi_asset(
    name="extract_facts",
    specs=[
        raw_table_spec(
            "extracted_facts",
            group=GROUP,
            deps=["cleaned_documents", "metric_catalog", "county_gazetteer", "source_partition"],
            description="Every fact the extractor read off the cleaned documents, before validation.",
        ),
        raw_table_spec(
            "unclassified_mentions",
            group=GROUP,
            deps=["cleaned_documents"],
            description="Numbers with a unit that no metric claimed: what the catalog does not yet cover.",
        ),
    ],
)
def extract_facts(context: AssetExecutionContext, settings: FupinSettings) -> Iterator[MaterializeResult]:
    catalog = load_catalog()
    gazetteer = load_gazetteer()
    places = PlaceIndex(gazetteer)
    with warehouse_step(context, settings) as paths, open_work(paths) as con:
        stats = stages.extract_document_facts(con, catalog, places, gazetteer, adopt=partition_outputs(paths))
        version = {"extraction_version": stages.extraction_version(catalog)}
        facts_meta = table_metadata(
            con, "extracted_facts", paths, stats=stats, order_by="source_file, start_offset", extra=version
        )
        mentions_meta = table_metadata(
            con, "unclassified_mentions", paths, order_by="source_file, start_offset"
        )
    context.log.info(
        f"extracted {stats.processed} documents ({stats.adopted} adopted from source partitions, "
        f"{stats.skipped} up to date): {stats.written} facts, "
        f"{stats.rejected} documents failed"
    )
    yield MaterializeResult(asset_key="extracted_facts", metadata=facts_meta)
    yield MaterializeResult(asset_key="unclassified_mentions", metadata=mentions_meta)


@multi_asset(
    name="validate_facts",
    specs=[
        raw_table_spec(
            "validated_facts",
            group=GROUP,
            deps=["extracted_facts", "metric_catalog", "county_gazetteer"],
            description="Extracted facts that pass the pandera FactSchema (schemas/facts.py).",
        ),
        raw_table_spec(
            "rejected_facts",
            group=GROUP,
            deps=["extracted_facts", "metric_catalog", "county_gazetteer"],
            description="Extracted facts that fail it, with the failing check and the details.",
        ),
    ],
)
def validate_facts(context: AssetExecutionContext, settings: FupinSettings) -> Iterator[MaterializeResult]:
    with warehouse_step(context, settings) as paths, open_work(paths) as con:
        stats = stages.validate_facts(con, load_catalog(), load_gazetteer())
        valid_meta = table_metadata(
            con, "validated_facts", paths, stats=stats, order_by="source_file, start_offset"
        )
        by_check = con.execute(
            "SELECT failed_check, count(*) FROM raw.rejected_facts GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        rejected_meta = table_metadata(
            con,
            "rejected_facts",
            paths,
            order_by="source_file, start_offset",
            extra={"by_check": MetadataValue.json({check: int(n) for check, n in by_check})},
        )
    context.log.info(f"validated {stats.processed} facts: {stats.rejected} rejected")
    yield MaterializeResult(asset_key="validated_facts", metadata=valid_meta)
    yield MaterializeResult(asset_key="rejected_facts", metadata=rejected_meta)
