"""What the stages' pool workers run: one document's cleaning or extraction, as rows of its tables.

The pool's fork server preloads this module (pipelines.core.pool), so it imports only what the
work needs: no pandas, pandera or DuckDB, which the stages writing the rows use. A test holds it to
that. Run in this process too when there are few documents.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from pipelines.core import cleaning, documents, extract
from pipelines.core.models import County
from pipelines.core.pool import WORKER_CONTEXT
from pipelines.core.tables import RAW_TABLES


def short_hash(*parts: object) -> str:
    joined = "\x1f".join("" if p is None else repr(p) if isinstance(p, float) else str(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


def error_reason(action: str, exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (
        f"{action} failed with {type(exc).__name__}: {message}"
        if message
        else f"{action} failed with {type(exc).__name__}"
    )


# What cleaning gives a document, besides its ids and fingerprint (columns of raw.cleaned_documents).
CLEANED_FIELDS = (
    "title", "published_date", "outlet", "author", "url", "is_work_report",
    "county_code", "county_name", "clean_text", "char_count",
)  # fmt: skip


def clean_one(item: tuple[str, str, bool, str | None] | dict[str, Any]) -> dict[str, Any]:
    """Clean one document and find its county; runs in a worker process when there are many.

    The result's "fields" are CLEANED_FIELDS, or None when no county was found. A dict item is a
    result already (a document adopted from a partition's output) and is passed on as it is.
    """
    if isinstance(item, dict):
        return item
    document_id, text, is_html, url = item
    places = WORKER_CONTEXT["places"]
    try:
        cleaned = cleaning.clean_document(text, is_html=is_html, url=url)
    except Exception as exc:
        return {"document_id": document_id, "error": ("clean", error_reason("cleaning", exc))}
    if not cleaned.text.strip():
        return {"document_id": document_id, "error": ("clean", "no article text left after cleaning")}
    try:
        county = places.subject_county(cleaned.title, cleaned.text, cleaned.outlet, cleaned.page_header)
    except Exception as exc:
        return {"document_id": document_id, "error": ("place", error_reason("finding the county", exc))}
    fields = None
    if county is not None:
        fields = {
            "title": cleaned.title,
            "published_date": cleaned.published_date,
            "outlet": cleaned.outlet,
            "author": cleaned.author,
            "url": url,
            "is_work_report": cleaned.is_work_report,
            "county_code": county.code,
            "county_name": county.name,
            "clean_text": cleaned.text,
            "char_count": len(cleaned.text),
        }
    fingerprint = documents.text_fingerprint(cleaned.text)
    return {"document_id": document_id, "fingerprint": fingerprint, "fields": fields}


def fact_id(
    document_id: str, metric_code: str, county_code: str, year: int | None, value: float, start: int
) -> str:
    return short_hash(document_id, metric_code, county_code, year, float(value), start)


def extract_one(
    item: tuple[str, str, str, bool, dt.date | None, County] | dict[str, Any],
) -> dict[str, Any]:
    """Extract one document's facts and mentions as rows of their tables; runs in a worker process
    when there are many documents (the rows are built there, not in the process writing them).

    A dict item is a result already (adopted from a partition's output) and is passed on as it is.
    """
    if isinstance(item, dict):
        return item
    document_id, source_file, text, is_work_report, published, subject = item
    try:
        extraction = extract.extract_facts(
            text,
            subject=subject,
            published=published,
            catalog=WORKER_CONTEXT["catalog"],
            places=WORKER_CONTEXT["places"],
            work_report=bool(is_work_report),
        )
    except Exception as exc:
        return {"document_id": document_id, "error": error_reason("extracting facts", exc)}
    facts = [_flat_dict(fact) for fact in extraction.facts]
    mentions = [_flat_dict(mention) for mention in extraction.unclassified]
    return extraction_result(document_id, source_file, WORKER_CONTEXT["version"], facts, mentions)


def extraction_result(
    document_id: str,
    source_file: str,
    version: str,
    facts: Sequence[dict[str, Any]],
    mentions: Sequence[dict[str, Any]],
    counts: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """A document's fact and mention rows, each read twice kept once; counts = as extracted."""
    fact_rows: dict[str, dict[str, Any]] = {}
    for fact in facts:
        row = _fact_row(fact, document_id, source_file, version)
        fact_rows.setdefault(row["fact_id"], row)  # the same fact read twice is one fact
    mention_rows: dict[str, dict[str, Any]] = {}
    for mention in mentions:
        row = _mention_row(mention, document_id, source_file)
        mention_rows.setdefault(row["mention_id"], row)
    return {
        "document_id": document_id,
        "facts": list(fact_rows.values()),
        "mentions": list(mention_rows.values()),
        "counts": counts or (len(facts), len(mentions)),
    }


def _flat_dict(record: Any) -> dict[str, Any]:
    # asdict() deep-copies recursively; these records are flat, and this runs for every fact
    return {name: getattr(record, name) for name in record.__slots__}


def _fact_row(fact: dict[str, Any], document_id: str, source_file: str, version: str) -> dict[str, Any]:
    row = {k: fact.get(k) for k in RAW_TABLES["extracted_facts"] if k in fact}
    row.update(
        fact_id=fact_id(
            document_id,
            fact["metric_code"],
            fact["county_code"],
            fact["year"],
            fact["value"],
            fact["start_offset"],
        ),
        document_id=document_id,
        source_file=source_file,
        extractor_version=version,
    )
    return row


def _mention_row(mention: dict[str, Any], document_id: str, source_file: str) -> dict[str, Any]:
    return {
        "mention_id": short_hash(
            document_id, mention["start_offset"], mention["end_offset"], mention["phrase"]
        ),
        "document_id": document_id,
        "source_file": source_file,
        **{k: mention[k] for k in ("sentence", "phrase", "value", "unit", "start_offset", "end_offset")},
    }
