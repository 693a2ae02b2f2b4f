"""Scraping: fetch the report pages listed in the raw dir's sources.yaml into the raw dir."""

from dagster import (
    AssetExecutionContext,
    Backoff,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)

from pipelines.assets._common import markdown_table
from pipelines.core import scrape
from pipelines.resources import FupinSettings

SOURCES_FILE = "sources.yaml"


class ScrapeConfig(Config):
    refetch: bool = False  # fetch again pages already saved
    timeout_seconds: float = 20.0
    per_host_delay_seconds: float = 1.0


@asset(
    group_name="ingestion",
    kinds={"python"},
    description=(
        "Report pages listed in <raw dir>/sources.yaml, fetched politely (timeouts, retries with backoff, "
        "a delay per host, a size cap, http/https only) and saved under <raw dir>/scraped/ with their URL "
        "and fetch time. Pages already saved are skipped unless refetch is set."
    ),
    # The step as a whole is retried when the network is down; single bad URLs are reported, not retried.
    retry_policy=RetryPolicy(max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL),
)
def scraped_pages(
    context: AssetExecutionContext, config: ScrapeConfig, settings: FupinSettings
) -> MaterializeResult:
    raw_dir = settings.raw_path()
    sources_file = raw_dir / SOURCES_FILE
    if not sources_file.is_file():
        return MaterializeResult(
            metadata={"sources_file": str(sources_file), "note": "no sources file: nothing to fetch"}
        )
    try:
        sources = scrape.load_sources(sources_file)
    except scrape.SourcesError as exc:
        raise Failure(str(exc)) from exc
    results = scrape.fetch_sources(
        sources,
        raw_dir,
        refetch=config.refetch,
        timeout=config.timeout_seconds,
        per_host_delay=config.per_host_delay_seconds,
    )
    by_status = {
        status: [r for r in results if r.status == status] for status in ("saved", "skipped", "failed")
    }
    for failed in by_status["failed"]:
        context.log.warning(f"could not fetch {failed.url}: {failed.reason}")
    if results and len(by_status["failed"]) == len(results):
        raise Failure(f"every one of the {len(results)} sources failed; first: {results[0].reason}")
    return MaterializeResult(
        metadata={
            "sources_file": str(sources_file),
            "saved": len(by_status["saved"]),
            "skipped": len(by_status["skipped"]),
            "failed": len(by_status["failed"]),
            "failures": MetadataValue.md(
                markdown_table(["url", "reason"], [(r.url, r.reason) for r in by_status["failed"]])
            ),
        }
    )
