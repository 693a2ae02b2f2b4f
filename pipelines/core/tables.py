"""The tables the Python stages load into the warehouse's `raw` schema: the dbt sources.

One definition per table, used to create it, to write it and (in tests) to check dbt's
source declarations against it.
"""

from __future__ import annotations

RAW_SCHEMA = "raw"

# Column name -> DuckDB type. Order is the table's column order.
RAW_TABLES: dict[str, dict[str, str]] = {
    # One row per readable file currently in the raw dir.
    "raw_documents": {
        "source_file": "VARCHAR",
        "document_id": "VARCHAR",
        "content_hash": "VARCHAR",
        "byte_size": "BIGINT",
        "encoding": "VARCHAR",
        "is_html": "BOOLEAN",
        "url": "VARCHAR",
        "fetched_at": "TIMESTAMP",
        "raw_text": "VARCHAR",
        "loaded_at": "TIMESTAMP",
    },
    # One row per file that could not become a document (unreadable, undecodable, no county).
    "rejected_documents": {
        "source_file": "VARCHAR",
        "content_hash": "VARCHAR",
        "stage": "VARCHAR",
        "reason": "VARCHAR",
        "rejected_at": "TIMESTAMP",
    },
    # One row per distinct document (document_id); files that repeat another document's bytes
    # or text are in duplicate_documents instead.
    "cleaned_documents": {
        "document_id": "VARCHAR",
        "source_file": "VARCHAR",
        "content_hash": "VARCHAR",
        "text_fingerprint": "VARCHAR",
        "title": "VARCHAR",
        "published_date": "DATE",
        "outlet": "VARCHAR",
        "author": "VARCHAR",
        "url": "VARCHAR",
        "is_work_report": "BOOLEAN",
        "county_code": "VARCHAR",
        "county_name": "VARCHAR",
        "clean_text": "VARCHAR",
        "char_count": "INTEGER",
        "cleaner_version": "VARCHAR",
    },
    # One row per file that is a copy of a document kept in cleaned_documents.
    "duplicate_documents": {
        "source_file": "VARCHAR",
        "document_id": "VARCHAR",
        "duplicate_of": "VARCHAR",
        "match_kind": "VARCHAR",  # identical_bytes | identical_text
    },
    # Output of the extractor, before validation.
    "extracted_facts": {
        "fact_id": "VARCHAR",
        "document_id": "VARCHAR",
        "source_file": "VARCHAR",
        "county_code": "VARCHAR",
        "county_name": "VARCHAR",
        "metric_code": "VARCHAR",
        "year": "INTEGER",
        "period_start_year": "INTEGER",
        "value": "DOUBLE",
        "unit": "VARCHAR",
        "qualifier": "VARCHAR",
        "sentence": "VARCHAR",
        "start_offset": "INTEGER",
        "end_offset": "INTEGER",
        "raw_phrase": "VARCHAR",
        "rule": "VARCHAR",
        "extractor_version": "VARCHAR",
    },
    "unclassified_mentions": {
        "mention_id": "VARCHAR",
        "document_id": "VARCHAR",
        "source_file": "VARCHAR",
        "sentence": "VARCHAR",
        "phrase": "VARCHAR",
        "value": "DOUBLE",
        "unit": "VARCHAR",
        "start_offset": "INTEGER",
        "end_offset": "INTEGER",
    },
}

# Facts that passed the pandera schema keep the extracted columns.
RAW_TABLES["validated_facts"] = dict(RAW_TABLES["extracted_facts"])
# Facts that failed it keep them too, plus the failing check.
RAW_TABLES["rejected_facts"] = {
    **RAW_TABLES["extracted_facts"],
    "failed_check": "VARCHAR",
    "failure_detail": "VARCHAR",
}
# Reference data loaded from files under schemas/.
RAW_TABLES["metric_catalog"] = {
    "metric_code": "VARCHAR",
    "name_zh": "VARCHAR",
    "name_en": "VARCHAR",
    "unit": "VARCHAR",
    "category": "VARCHAR",
    "description": "VARCHAR",
    "keywords": "VARCHAR",  # keywords joined by " | ", for reading in the docs and BI tools
}
RAW_TABLES["county_gazetteer"] = {
    "county_code": "VARCHAR",
    "county_name": "VARCHAR",
    "county_kind": "VARCHAR",  # 县 / 自治县 / 旗 / 县级市 / 市辖区 / 林区 / 特区 ...
    "prefecture_code": "VARCHAR",
    "prefecture_name": "VARCHAR",
    "province_code": "VARCHAR",
    "province_name": "VARCHAR",
}


def create_table_sql(table: str, *, schema: str = RAW_SCHEMA, columns: dict[str, str] | None = None) -> str:
    """CREATE TABLE IF NOT EXISTS for a raw table, or for another schema's table given its columns."""
    definition = ", ".join(f'"{name}" {kind}' for name, kind in (columns or RAW_TABLES[table]).items())
    return f"CREATE TABLE IF NOT EXISTS {schema}.{table} ({definition})"
