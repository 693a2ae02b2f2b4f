"""Source partitions: one source of the raw dir (a top-level subdirectory) ingested, cleaned and
extracted into a DuckDB file of its own, so a run launcher can spread sources over processes or
machines. The whole-corpus cleaning and extraction adopt what the partitions wrote
(pipelines/core/partitions.py): the marts are the same whether partitions ran first or not.
"""

from dagster import (
    AssetExecutionContext,
    DynamicPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from pipelines.core import partitions, stages
from pipelines.core.catalog import load_catalog
from pipelines.core.gazetteer import load_gazetteer
from pipelines.core.places import PlaceIndex
from pipelines.resources import FupinSettings

GROUP = "partitions"
RAW_SOURCES = DynamicPartitionsDefinition(name="raw_sources")


@asset(
    key="source_partition",
    partitions_def=RAW_SOURCES,
    group_name=GROUP,
    kinds={"duckdb"},
    description=(
        "One source of the raw dir (a top-level subdirectory; '.' = the files directly in it) "
        "ingested, cleaned and extracted into partitions/<source>.work.duckdb beside the warehouse. "
        "Independent of the warehouse run and of other partitions; cleaned_documents and "
        "extracted_facts adopt its documents instead of working on them again."
    ),
)
def source_partition(context: AssetExecutionContext, settings: FupinSettings) -> MaterializeResult:
    source = context.partition_key
    paths = settings.warehouse_paths()
    gazetteer = load_gazetteer()
    stats = stages.build_partition(
        paths, settings.raw_path(), source, load_catalog(), PlaceIndex(gazetteer), gazetteer
    )
    output = partitions.partition_paths(paths, source).work
    context.log.info(
        f"source {source!r}: {stats['raw_documents'].processed} new or changed files, "
        f"{stats['cleaned_documents'].written} documents cleaned, {stats['extracted_facts'].written} facts"
    )
    return MaterializeResult(
        metadata={
            "source": source,
            "output": MetadataValue.path(str(output)),
            **{f"{stage}/{name}": n for stage, s in stats.items() for name, n in s.as_dict().items()},
        }
    )
