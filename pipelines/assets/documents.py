"""Ingestion: raw files into raw_documents, then cleaned, deduplicated documents with their county."""

from collections.abc import Iterator

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, multi_asset

from pipelines.assets._common import raw_table_spec, row_count, table_metadata, warehouse_step
from pipelines.core import filestats, stages
from pipelines.core.documents import RawDirError
from pipelines.core.gazetteer import load_gazetteer
from pipelines.core.partitions import partition_outputs
from pipelines.core.places import PlaceIndex
from pipelines.core.warehouse import open_work, rejected_documents_by_stage
from pipelines.resources import FupinSettings

GROUP = "ingestion"


@multi_asset(
    name="ingest_raw_documents",
    specs=[
        raw_table_spec(
            "raw_documents",
            group=GROUP,
            description="One row per readable file of the raw dir, with its decoded text.",
            deps=["scraped_pages"],
        ),
        raw_table_spec(
            "rejected_documents",
            group=GROUP,
            description=(
                "Files that could not become a document and why (unreadable, undecodable, no county, "
                "extraction error). Written by ingestion; cleaning and extraction add their rejections."
            ),
        ),
    ],
)
def ingest_raw_documents(
    context: AssetExecutionContext, settings: FupinSettings
) -> Iterator[MaterializeResult]:
    raw_dir = settings.raw_path()
    if not raw_dir.is_dir():
        raise Failure(f"raw dir {raw_dir} does not exist or is not a directory")
    with warehouse_step(context, settings) as paths, open_work(paths) as con:
        try:
            stats = stages.sync_raw_documents(con, raw_dir, file_stats=filestats.cache_path(paths.published))
        except RawDirError as exc:  # unmounted, empty or unreadable: nothing is removed
            raise Failure(str(exc)) from exc
        docs_meta = table_metadata(
            con,
            "raw_documents",
            paths,
            stats=stats,
            order_by="source_file",
            extra={"raw_dir": MetadataValue.path(str(raw_dir))},
        )
        rejected_meta = table_metadata(
            con,
            "rejected_documents",
            paths,
            order_by="source_file",
            extra={
                "rejected_this_run": stats.rejected,
                "by_stage": MetadataValue.json(rejected_documents_by_stage(con)),
            },
        )
    context.log.info(
        f"raw dir {raw_dir}: {stats.processed} new or changed files, {stats.skipped} unchanged, "
        f"{stats.rejected} rejected, {stats.removed} rows removed"
    )
    yield MaterializeResult(asset_key="raw_documents", metadata=docs_meta)
    yield MaterializeResult(asset_key="rejected_documents", metadata=rejected_meta)


@multi_asset(
    name="clean_documents",
    specs=[
        raw_table_spec(
            "cleaned_documents",
            group=GROUP,
            deps=["raw_documents", "county_gazetteer", "source_partition"],
            description="One row per distinct document: cleaned text, metadata and subject county.",
        ),
        raw_table_spec(
            "duplicate_documents",
            group=GROUP,
            deps=["raw_documents"],
            description="Files that repeat a kept document, byte for byte or after cleaning.",
        ),
    ],
)
def clean_documents(context: AssetExecutionContext, settings: FupinSettings) -> Iterator[MaterializeResult]:
    places = PlaceIndex(load_gazetteer())
    with warehouse_step(context, settings) as paths, open_work(paths) as con:
        stats = stages.clean_documents(con, places, adopt=partition_outputs(paths))
        cleaned_meta = table_metadata(
            con,
            "cleaned_documents",
            paths,
            stats=stats,
            order_by="source_file",
        )
        duplicates_meta = table_metadata(
            con,
            "duplicate_documents",
            paths,
            order_by="source_file",
            extra={
                "identical_bytes": row_count(
                    con, "duplicate_documents", where="match_kind = 'identical_bytes'"
                ),
                "identical_text": row_count(
                    con, "duplicate_documents", where="match_kind = 'identical_text'"
                ),
            },
        )
    context.log.info(
        f"cleaned {stats.written} new documents ({stats.adopted} adopted from source partitions, "
        f"{stats.skipped} already clean), "
        f"{stats.rejected} rejected, {stats.duplicates} duplicate files"
    )
    yield MaterializeResult(asset_key="cleaned_documents", metadata=cleaned_meta)
    yield MaterializeResult(asset_key="duplicate_documents", metadata=duplicates_meta)
