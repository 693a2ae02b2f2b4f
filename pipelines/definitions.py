"""The fupin Dagster code location: assets, checks, resources, jobs, schedule and sensors."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, ExecutorDefinition, define_asset_job, in_process_executor

from pipelines.assets.dbt import dbt_models
from pipelines.assets.documents import clean_documents, ingest_raw_documents
from pipelines.assets.facts import extract_facts, validate_facts
from pipelines.assets.partitions import source_partition
from pipelines.assets.publishing import published_warehouse
from pipelines.assets.reference import reference_data
from pipelines.assets.scraping import scraped_pages
from pipelines.checks import ALL_CHECKS
from pipelines.resources import FupinSettings, dbt_resource
from pipelines.schedules import FULL_PIPELINE_JOB, SOURCE_PARTITIONS_JOB, daily_pipeline_schedule
from pipelines.sensors import raw_dir_sensor, raw_sources_sensor

ALL_ASSETS = [
    reference_data,
    scraped_pages,
    ingest_raw_documents,
    clean_documents,
    extract_facts,
    validate_facts,
    dbt_models,
    published_warehouse,
]

# Partitioned by source, so in a job of its own (a job's assets share one partitioning).
PARTITIONED_ASSETS = [source_partition]

full_pipeline_job = define_asset_job(
    name=FULL_PIPELINE_JOB,
    selection=AssetSelection.all() - AssetSelection.assets(*PARTITIONED_ASSETS),
    description="Every asset: raw files to the published warehouse (incremental).",
)

source_partitions_job = define_asset_job(
    name=SOURCE_PARTITIONS_JOB,
    selection=AssetSelection.assets(*PARTITIONED_ASSETS),
    description=(
        "One source of the raw dir into its own partition output (spreadable over machines); the "
        "full pipeline then adopts it instead of cleaning and extracting those documents again."
    ),
)


def resources(settings: FupinSettings | None = None) -> dict[str, object]:
    return {"settings": settings or FupinSettings(), "dbt": dbt_resource()}


def build_definitions(executor: ExecutorDefinition = in_process_executor) -> Definitions:
    """The code location. Every step runs in the run's own process by default: the stages take turns
    on one DuckDB file anyway, and a process per step paid Dagster's and the stages' imports again
    for each of the ~11 steps (a run launched from the UI or the sensor took 40-60 s, 2-3 min on a
    busy machine, for what `fupin run` does in ~15 s). Extraction still uses every core through its
    own process pool. benchmarks/ui_run.py passes the multiprocess executor to compare."""
    return Definitions(
        executor=executor,
        assets=[*ALL_ASSETS, *PARTITIONED_ASSETS],
        asset_checks=ALL_CHECKS,
        resources=resources(),
        jobs=[full_pipeline_job, source_partitions_job],
        schedules=[daily_pipeline_schedule],
        sensors=[raw_dir_sensor, raw_sources_sensor],
    )


defs = build_definitions()
