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

from pipelines.assets._common import markdown_table, warehouse_step
from pipelines.core import scrape
from pipelines.resources import FupinSettings

SOURCES_FILE = scrape.SOURCES_FILE
MAX_RETRIES = 2


class ScrapeConfig(Config):
    refetch: bool = False  # fetch again pages already saved
    timeout_seconds: float = 20.0  # per socket read
    deadline_seconds: float = scrape.DEFAULT_DEADLINE  # per page, whatever the server does
    per_host_delay_seconds: float = 1.0


@asset(
    group_name="ingestion",
    kinds={"python"},
    description=(
        "Report pages listed in <raw dir>/sources.yaml, fetched politely (timeouts, retries with backoff, "
        "an overall deadline per page, a delay per host, a size cap, http/https only) and saved under "
        "<raw dir>/scraped/ with their URL and fetch time. Pages already saved are skipped unless refetch "
        "is set. Bad entries of sources.yaml are logged here and recorded in rejected_documents by "
        "ingestion; they never stop the run."
    ),
    # The step as a whole is retried when the network is down; bad entries and bad URLs are reported,
    # never retried, and the last attempt succeeds anyway so the local files are still processed.
    retry_policy=RetryPolicy(max_retries=MAX_RETRIES, delay=30, backoff=Backoff.EXPONENTIAL),
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
    sources, problems = scrape.read_sources(sources_file)
    for problem in problems:  # configuration: retrying would not help
        context.log.warning(f"skipping a source: {problem}")
    with warehouse_step(context, settings):
        results = scrape.fetch_sources(
            sources,
            raw_dir,
            refetch=config.refetch,
            timeout=config.timeout_seconds,
            deadline=config.deadline_seconds,
            per_host_delay=config.per_host_delay_seconds,
        )
    by_status = {
        status: [r for r in results if r.status == status] for status in ("saved", "skipped", "failed")
    }
    for failed in by_status["failed"]:
        context.log.warning(f"could not fetch {failed.url}: {failed.reason}")
    network_down = bool(results) and all(r.status == "failed" and r.retryable for r in results)
    if network_down and context.retry_number < MAX_RETRIES:
        raise Failure(f"every one of the {len(results)} sources failed; first: {results[0].reason}")
    return MaterializeResult(
        metadata={
            "sources_file": str(sources_file),
            "saved": len(by_status["saved"]),
            "skipped": len(by_status["skipped"]),
            "failed": len(by_status["failed"]),
            "bad_entries": len(problems),
            "problems": MetadataValue.md(markdown_table(["problem"], [(p,) for p in problems])),
            "failures": MetadataValue.md(
                markdown_table(["url", "reason"], [(r.url, r.reason) for r in by_status["failed"]])
            ),
        }
    )
