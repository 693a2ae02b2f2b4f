"""Asset checks on the Python-built tables (dbt's tests become checks on the dbt models by themselves)."""

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from pipelines.assets._common import markdown_table, warehouse_step
from pipelines.core.catalog import load_catalog
from pipelines.core.gazetteer import load_gazetteer
from pipelines.core.stages import facts_in_slices
from pipelines.core.validation import FACT_COLUMNS, split_valid_facts
from pipelines.core.warehouse import STATE_SCHEMA, open_work
from pipelines.resources import FupinSettings

SAMPLE_ROWS = 10
# Above this share of numbers-with-units left unclassified, the catalog is missing something big.
UNCLASSIFIED_WARN_SHARE = 0.95


@asset_check(
    asset="validated_facts",
    blocking=True,  # a failure keeps the marts (and the published warehouse) from being rebuilt
    description=(
        "Every fact the last validation accepted passes the pandera FactSchema with this run's catalog "
        "and gazetteer. Facts kept from earlier runs were judged under the same validation version "
        "(a new catalog, gazetteer or schema re-judges them all)."
    ),
)
def validated_facts_match_schema(
    context: AssetCheckExecutionContext, settings: FupinSettings
) -> AssetCheckResult:
    codes = {row["county_code"] for row in load_gazetteer().county_rows()}
    catalog = load_catalog()
    checked, failing = 0, []
    judged = f"SELECT fact_id FROM {STATE_SCHEMA}.last_validated_facts"
    with warehouse_step(context, settings) as paths, open_work(paths) as con:
        (table_rows,) = con.execute("SELECT count(*) FROM raw.validated_facts").fetchone()
        (to_check,) = con.execute(f"SELECT count(DISTINCT fact_id) FROM ({judged})").fetchone()
        accepted = f"SELECT {', '.join(FACT_COLUMNS)} FROM raw.validated_facts"
        for facts in facts_in_slices(con, accepted, judged, int(to_check)):  # memory flat in the corpus
            _, failed = split_valid_facts(facts, catalog, codes)
            checked += len(facts)
            failing.append(failed)
    failed = pd.concat(failing, ignore_index=True)
    sample = failed.head(SAMPLE_ROWS)[["fact_id", "metric_code", "value", "unit", "failed_check"]]
    return AssetCheckResult(
        passed=failed.empty,
        metadata={
            "checked_rows": checked,
            "table_rows": int(table_rows),
            "failing_rows": len(failed),
            "sample": MetadataValue.md(markdown_table(list(sample.columns), sample.values.tolist())),
        },
    )


@asset_check(
    asset="extracted_facts",
    description="Warns about kept documents from which the extractor read no fact at all.",
)
def documents_with_facts(context: AssetCheckExecutionContext, settings: FupinSettings) -> AssetCheckResult:
    with warehouse_step(context, settings) as paths, open_work(paths) as con:
        rows = con.execute(
            f"""
            SELECT c.source_file, c.county_name, c.char_count
            FROM raw.cleaned_documents AS c
            WHERE c.document_id NOT IN (SELECT document_id FROM raw.extracted_facts)
              AND c.document_id IN (SELECT document_id FROM {STATE_SCHEMA}.extracted_documents)
            ORDER BY c.source_file
            """
        ).fetchall()
        (documents,) = con.execute("SELECT count(*) FROM raw.cleaned_documents").fetchone()
    return AssetCheckResult(
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "documents": int(documents),
            "documents_without_facts": len(rows),
            "sample": MetadataValue.md(
                markdown_table(["source_file", "county_name", "char_count"], rows[:SAMPLE_ROWS])
            ),
        },
    )


@asset_check(
    asset="unclassified_mentions",
    additional_deps=["extracted_facts"],
    description=(
        f"Warns when more than {UNCLASSIFIED_WARN_SHARE:.0%} of the numbers with a unit found in the "
        "documents were claimed by no metric."
    ),
)
def unclassified_share(context: AssetCheckExecutionContext, settings: FupinSettings) -> AssetCheckResult:
    with warehouse_step(context, settings) as paths, open_work(paths) as con:
        (mentions,) = con.execute("SELECT count(*) FROM raw.unclassified_mentions").fetchone()
        (facts,) = con.execute("SELECT count(*) FROM raw.extracted_facts").fetchone()
        top_units = con.execute(
            "SELECT unit, count(*) AS n FROM raw.unclassified_mentions GROUP BY unit ORDER BY n DESC LIMIT 10"
        ).fetchall()
    total = mentions + facts
    share = mentions / total if total else 0.0
    return AssetCheckResult(
        passed=share <= UNCLASSIFIED_WARN_SHARE,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "unclassified_mentions": int(mentions),
            "extracted_facts": int(facts),
            "unclassified_share": MetadataValue.float(round(share, 4)),
            "top_units": MetadataValue.md(markdown_table(["unit", "mentions"], top_units)),
        },
    )


ALL_CHECKS = [validated_facts_match_schema, documents_with_facts, unclassified_share]
