"""The pipeline's stages: each reads and writes the warehouse's raw tables through one connection.

Every stage is incremental and idempotent: it works only on what changed since the last run (new or
changed files, documents not yet cleaned or extracted with the current code and catalog versions),
removes what no longer has a source, and running it twice leaves the same rows. A document that
makes the code raise becomes a rejected_documents row naming the error; the stage goes on.

No Dagster here: the assets in pipelines/assets/ call these functions.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines.core import (
    cleaning,
    documents,
    extract,
    filestats,
    partitions,
    pool,
    scrape,
    versioning,
    workers,
)
from pipelines.core.documents import FileRead
from pipelines.core.filestats import FileStats
from pipelines.core.models import County, RawDocument, RejectedDocument
from pipelines.core.tables import RAW_SCHEMA, RAW_TABLES
from pipelines.core.uptodate import RecordedFiles, present_files, read_unless_recorded
from pipelines.core.validation import FACT_COLUMNS, REJECTED_COLUMNS, split_valid_facts
from pipelines.core.warehouse import STATE_SCHEMA, STATE_TABLES

# Documents (and their results) a stage holds in memory at once; each batch is written and committed
# before the next but one is read, so memory stays flat in the corpus size and a killed run resumes.
# Two batches of extraction results are in the run's process at once: ~60 MB at 500 documents.
BATCH_DOCUMENTS = 250
# Facts validated at once (pandera works on a DataFrame in memory).
BATCH_FACTS = 20_000

RAW = RAW_SCHEMA


@dataclass(slots=True)
class StageStats:
    """What one stage did in one run."""

    stage: str
    processed: int = 0  # items worked on this run (new or changed)
    written: int = 0  # rows written
    rejected: int = 0  # items rejected this run
    skipped: int = 0  # items already up to date
    removed: int = 0  # rows deleted because their source is gone or stale
    duplicates: int = 0  # documents recognised as copies of another
    adopted: int = 0  # items taken from a partition's output instead of being worked on again

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k != "stage"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: Sequence[dict[str, Any]] | pd.DataFrame,
    *,
    schema: str = RAW,
    columns: dict[str, str] | None = None,
) -> int:
    """Append rows (dicts or a DataFrame) to a table, casting each column to the table's type."""
    columns = columns or RAW_TABLES[table]
    frame = (
        rows
        if isinstance(rows, pd.DataFrame)
        else pd.DataFrame.from_records(list(rows), columns=list(columns))
    )
    if frame.empty:
        return 0
    frame = frame.reindex(columns=list(columns))
    select = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind in columns.items())
    view = f"_fupin_insert_{table}"
    con.register(view, frame)
    try:
        # by name: a column added to an existing file by ensure_raw_schema sits at the end
        con.execute(f"INSERT INTO {schema}.{table} BY NAME SELECT {select} FROM {view}")
    finally:
        con.unregister(view)
    return len(frame)


def _replace_table(
    con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[dict[str, Any]] | pd.DataFrame
) -> int:
    con.execute(f"DELETE FROM {RAW}.{table}")
    return insert_rows(con, table, rows)


def _delete_in(
    con: duckdb.DuckDBPyConnection, table: str, column: str, values: Iterable[str], schema: str = RAW
) -> int:
    values = list(dict.fromkeys(values))
    if not values:
        return 0
    sql = f"DELETE FROM {schema}.{table} WHERE {column} IN (SELECT unnest(?::VARCHAR[]))"
    (deleted,) = con.execute(sql, [values]).fetchone()  # DuckDB answers a DELETE with its row count
    return int(deleted)


class _Transaction:
    """BEGIN/COMMIT around a step of a stage, so a crash mid-step leaves the state before it.

    Stages that work through documents in batches commit after each batch (`commit_and_continue`):
    what a batch wrote is complete and consistent on its own, DuckDB can write it out and forget it
    (memory stays flat), and a run killed midway resumes from the last batch instead of the start.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def __enter__(self) -> _Transaction:
        self.con.execute("BEGIN TRANSACTION")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.con.execute("ROLLBACK" if exc_type else "COMMIT")

    def commit_and_continue(self) -> None:
        self.con.execute("COMMIT")
        self.con.execute("BEGIN TRANSACTION")


class _Pending:
    """The rows a stage is to work on, in a temporary table of the connection, read back a batch at a
    time in the given order: a Python list of them, and a dict of it by id, held ~45 MB through a
    stage at 100,000 documents (memory that grew with the corpus)."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, name: str, query: str, params: list[Any], order_by: str
    ) -> None:
        self.con, self.name = con, name
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS "
            f"SELECT row_number() OVER (ORDER BY {order_by}) AS pending_row, * FROM ({query})",
            params,
        )
        (self.count,) = con.execute(f"SELECT count(*) FROM {name}").fetchone()

    def batches(self, size: int) -> Iterator[list[tuple[Any, ...]]]:
        for start in range(0, self.count, size):
            yield self.con.execute(
                f"SELECT * EXCLUDE (pending_row) FROM {self.name} "
                "WHERE pending_row > ? AND pending_row <= ? ORDER BY pending_row",
                [start, start + size],
            ).fetchall()

    def mapped(
        self,
        size: int,
        prepare: Callable[[list[tuple[Any, ...]]], list[Any]],
        fn: Callable[[Any], Any],
        context: dict[str, Any],
    ) -> Iterator[tuple[list[tuple[Any, ...]], list[Any]]]:
        """(pending rows, fn's results over prepare(rows)) a batch at a time, through the pool. The
        pool takes a batch ahead, so the rows of the batches taken wait here until their results."""
        taken: deque[list[tuple[Any, ...]]] = deque()

        def inputs() -> Iterator[list[Any]]:
            for batch in self.batches(size):
                taken.append(batch)
                yield prepare(batch)

        for results in pool.map_in_batches(fn, inputs(), self.count, context):
            yield taken.popleft(), results

    def drop(self) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {self.name}")


# --- reference data -------------------------------------------------------------------------------


def load_reference_data(
    con: duckdb.DuckDBPyConnection, catalog: Any, gazetteer: Any
) -> dict[str, StageStats]:
    """Replace raw.metric_catalog and raw.county_gazetteer with the current reference files."""
    metrics = catalog.table_rows()
    counties = list(gazetteer.county_rows())
    with _Transaction(con):
        written_metrics = _replace_table(con, "metric_catalog", metrics)
        written_counties = _replace_table(con, "county_gazetteer", counties)
    return {
        "metric_catalog": StageStats("metric_catalog", processed=len(metrics), written=written_metrics),
        "county_gazetteer": StageStats("county_gazetteer", processed=len(counties), written=written_counties),
    }


# --- raw documents ---------------------------------------------------------------------------------


def _document_row(doc: RawDocument, source_file: str, loaded_at: dt.datetime) -> dict[str, Any]:
    return {
        "source_file": source_file,
        "document_id": doc.document_id,
        "content_hash": doc.content_hash,
        "byte_size": doc.byte_size,
        "encoding": doc.encoding,
        "is_html": doc.is_html,
        "url": doc.url,
        "fetched_at": doc.fetched_at,
        "raw_text": doc.text,
        "loaded_at": loaded_at,
    }


def _rejection_row(
    source_file: str, stage: str, reason: str, content_hash: str | None, at: dt.datetime
) -> dict[str, Any]:
    return {
        "source_file": source_file,
        "content_hash": content_hash,
        "stage": stage,
        "reason": reason,
        "rejected_at": at,
    }


def _judge(read: FileRead) -> RawDocument | RejectedDocument:
    try:
        return documents.document_from_read(read)
    except Exception as exc:  # one bad file must not stop the run
        return RejectedDocument(
            read.source_file, "decode", workers.error_reason("decoding the file", exc), read.content_hash
        )


def _sources_rejections(raw_dir: Path, now: dt.datetime) -> list[dict[str, Any]]:
    """Entries of raw_dir/sources.yaml that cannot be fetched, as rejected_documents rows."""
    path = raw_dir / scrape.SOURCES_FILE
    if not path.is_file():
        return []
    _, problems = scrape.read_sources(path)
    data = documents.read_file_bytes(path)
    digest = None if isinstance(data, str) else documents.content_hash(data)
    return [_rejection_row(scrape.SOURCES_FILE, "source", problem, digest, now) for problem in problems]


def sync_raw_documents(
    con: duckdb.DuckDBPyConnection,
    raw_dir: str | os.PathLike[str],
    *,
    source: str | None = None,
    file_stats: Path | None = None,
) -> StageStats:
    """Mirror the raw dir into raw.raw_documents / raw.rejected_documents, decoding only new bytes.

    Each file is read once: the bytes hashed are the bytes decoded, so a rejection is recorded under
    the hash of what was judged and a file rewritten meanwhile is read again next run. A file whose
    stat identity is the one the cache at `file_stats` remembers with the hash recorded here is not
    read at all (pipelines/core/filestats.py; None: every file is read). A raw dir that cannot be
    listed, or holds no readable file, raises RawDirError and changes nothing.
    """
    raw_dir = Path(raw_dir).absolute()
    stats = StageStats("raw_documents")
    now = _now()
    present = present_files(raw_dir)
    if source is not None:  # one partition's files (pipelines/core/partitions.py)
        present = {name: path for name, path in present.items() if partitions.source_of(name) == source}
    known = FileStats.load(file_stats, raw_dir)

    with _Transaction(con) as transaction:
        recorded = RecordedFiles.read(con)
        con.execute(f"DELETE FROM {RAW}.rejected_documents WHERE stage = 'source'")
        vanished = recorded.files - set(present)
        stats.removed += _delete_in(con, "raw_documents", "source_file", vanished)
        stats.removed += _delete_in(con, "rejected_documents", "source_file", vanished)

        readable = 0
        first_problem: FileRead | None = None
        doc_rows: list[dict[str, Any]] = []
        rejections = _sources_rejections(raw_dir, now) if source in (None, partitions.TOP_LEVEL) else []

        def flush() -> None:
            # Whatever was recorded before for changed files is stale: one set-based delete per batch
            # (a delete per file grows with the table and made large runs superlinear), and none for
            # files never recorded (a fresh run's deletes scanned the growing table every batch).
            files = [
                row["source_file"] for row in (*doc_rows, *rejections) if row["source_file"] in recorded.files
            ]
            _delete_in(con, "raw_documents", "source_file", files)
            _delete_in(con, "rejected_documents", "source_file", files)
            stats.written += insert_rows(con, "raw_documents", doc_rows)
            insert_rows(con, "rejected_documents", rejections)
            doc_rows.clear()
            rejections.clear()
            if readable:  # a raw dir without one readable file must change nothing
                transaction.commit_and_continue()

        for source_file in sorted(present):
            read = read_unless_recorded(source_file, present[source_file], recorded, known)
            readable += read.readable
            first_problem = first_problem or (read if read.problem else None)
            if recorded.holds(read):
                stats.skipped += 1
                continue
            stats.processed += 1
            result = _judge(read)
            if isinstance(result, RawDocument):
                doc_rows.append(_document_row(result, source_file, now))
            else:
                stats.rejected += 1
                rejections.append(
                    _rejection_row(source_file, result.stage, result.reason, result.content_hash, now)
                )
            if len(doc_rows) + len(rejections) >= BATCH_DOCUMENTS:
                flush()
        if not readable:
            raise documents.RawDirError(_no_readable_file(raw_dir, len(present), first_problem))
        flush()
    known.save()
    return stats


def _no_readable_file(raw_dir: Path, files: int, example: FileRead | None) -> str:
    if not files:
        return (
            f"raw dir {raw_dir} has no files; is it the right directory, and is it mounted? "
            "(nothing was removed from the warehouse)"
        )
    shown = f" (e.g. {example.source_file}: {example.problem})" if example else ""
    return (
        f"raw dir {raw_dir} has no readable file: none of its {files} files could be read{shown}; "
        "nothing was removed from the warehouse"
    )


# --- cleaning ---------------------------------------------------------------------------------------


def clean_documents(
    con: duckdb.DuckDBPyConnection,
    places: Any,
    *,
    batch_size: int = BATCH_DOCUMENTS,
    adopt: Sequence[Path] = (),
) -> StageStats:
    """Clean new documents into raw.cleaned_documents; record copies in raw.duplicate_documents.

    Works through the pending documents in batches of batch_size, committing each: memory
    stays flat in the corpus size, and a run killed midway keeps the batches it finished. A document
    that a partition output in `adopt` cleaned with this cleaner is taken from it, not cleaned again.
    """
    version = str(cleaning.CLEANER_VERSION)
    stats = StageStats("cleaned_documents")
    now = _now()
    adoptable = partitions.gather(
        con,
        adopt,
        "_adoptable_cleaned",
        f"SELECT document_id, text_fingerprint, {', '.join(workers.CLEANED_FIELDS)} "
        "FROM {p}.raw.cleaned_documents WHERE cleaner_version = ?",
        [version],
    )
    with _Transaction(con) as transaction:
        stats.removed += _remove_stale_cleaning(con, version)
        canonical = """
            SELECT document_id, min(source_file) AS source_file FROM raw.raw_documents GROUP BY document_id
        """
        # A newly added copy may sort before the file the document was first read from.
        con.execute(
            f"UPDATE {RAW}.cleaned_documents AS c SET source_file = k.source_file FROM ({canonical}) AS k "
            "WHERE c.document_id = k.document_id AND c.source_file <> k.source_file"
        )
        pending = _Pending(
            con,
            "_pending_cleaning",
            f"""
            SELECT r.source_file, r.document_id, r.content_hash
            FROM {RAW}.raw_documents AS r JOIN ({canonical}) AS k USING (document_id, source_file)
            WHERE r.document_id NOT IN (SELECT document_id FROM {RAW}.cleaned_documents)
              AND r.document_id NOT IN (
                  SELECT document_id FROM {RAW}.duplicate_documents WHERE match_kind = 'identical_text')
            """,
            [],
            order_by="source_file",
        )
        (already,) = con.execute(f"SELECT count(*) FROM {RAW}.cleaned_documents").fetchone()
        stats.skipped = int(already)
        con.execute(
            f"DELETE FROM {RAW}.rejected_documents WHERE stage IN ('clean', 'place', 'extract') "
            f"AND content_hash NOT IN (SELECT content_hash FROM {RAW}.raw_documents)"
        )
        transaction.commit_and_continue()

        cleaned = pending.mapped(
            batch_size,
            lambda batch: _raw_texts(con, batch, adoptable > 0),
            workers.clean_one,
            {"places": places},
        )
        for batch, results in cleaned:
            by_id = {
                document_id: (source_file, content_hash) for source_file, document_id, content_hash in batch
            }
            stats.adopted += sum(1 for result in results if result.get("adopted"))
            rows = _cleaning_rows(results, by_id, _kept_by_fingerprint(con, results), version, now)
            # Documents rejected by an earlier run are tried again (the place index may have improved).
            _delete_in(
                con, "rejected_documents", "content_hash", [by_id[r["document_id"]][1] for r in results]
            )
            stats.processed += len(results)
            stats.written += insert_rows(con, "cleaned_documents", rows.cleaned)
            insert_rows(con, "duplicate_documents", rows.duplicates)
            stats.rejected += insert_rows(con, "rejected_documents", rows.rejections)
            transaction.commit_and_continue()
        pending.drop()
        _record_copies(con, now)
        (stats.duplicates,) = con.execute(f"SELECT count(*) FROM {RAW}.duplicate_documents").fetchone()
    return stats


def _kept_by_fingerprint(con: duckdb.DuckDBPyConnection, results: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The cleaned documents (by text fingerprint) that a batch of results may be copies of."""
    fingerprints = [result["fingerprint"] for result in results if "fingerprint" in result]
    return dict(
        con.execute(
            f"SELECT text_fingerprint, document_id FROM {RAW}.cleaned_documents "
            "WHERE text_fingerprint IN (SELECT unnest(?::VARCHAR[]))",
            [fingerprints],
        ).fetchall()
    )


def _raw_texts(
    con: duckdb.DuckDBPyConnection, batch: Sequence[tuple[str, str, str]], adopting: bool
) -> list[tuple | dict[str, Any]]:
    """The cleaning inputs of a batch of pending (source_file, document_id, content_hash) rows: the
    raw text, or the finished result of a document adopted from a partition output."""
    ids = [document_id for _, document_id, _ in batch]
    adopted = _adopted_cleaning(con, ids) if adopting else {}
    rows = con.execute(
        f"SELECT source_file, document_id, raw_text, is_html, url FROM {RAW}.raw_documents "
        "WHERE source_file IN (SELECT unnest(?::VARCHAR[]))",
        [[source_file for source_file, document_id, _ in batch if document_id not in adopted]],
    ).fetchall()
    by_file = {source_file: (text, bool(is_html), url) for source_file, _, text, is_html, url in rows}
    return [
        adopted[document_id] if document_id in adopted else (document_id, *by_file[source_file])
        for source_file, document_id, _ in batch
    ]


def _adopted_cleaning(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Cleaning results, as workers.clean_one gives them, of the given documents in _adoptable_cleaned."""
    cursor = con.execute(
        "SELECT * FROM _adoptable_cleaned WHERE document_id IN (SELECT unnest(?::VARCHAR[])) "
        "QUALIFY row_number() OVER (PARTITION BY document_id ORDER BY text_fingerprint) = 1",
        [ids],
    )
    names = [column[0] for column in cursor.description]
    adopted = {}
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        fields = {name: row[name] for name in workers.CLEANED_FIELDS}
        adopted[row["document_id"]] = {
            "document_id": row["document_id"],
            "fingerprint": row["text_fingerprint"],
            "fields": fields,
            "adopted": True,
        }
    return adopted


@dataclass(slots=True)
class _CleaningRows:
    cleaned: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]
    rejections: list[dict[str, Any]]


def _cleaning_rows(
    results: Sequence[dict[str, Any]],
    by_id: dict[str, tuple[str, str]],
    kept_by_fingerprint: dict[str, str],
    version: str,
    now: dt.datetime,
) -> _CleaningRows:
    """Rows for a batch of workers.clean_one results; a text seen before (kept_by_fingerprint, updated)
    becomes a duplicate of the document kept for it."""
    rows = _CleaningRows([], [], [])
    for result in results:
        document_id = result["document_id"]
        source_file, content_hash = by_id[document_id]
        if "error" in result:
            stage, reason = result["error"]
            rows.rejections.append(_rejection_row(source_file, stage, reason, content_hash, now))
            continue
        fingerprint = result["fingerprint"]
        if fingerprint in kept_by_fingerprint:
            rows.duplicates.append(
                {
                    "source_file": source_file,
                    "document_id": document_id,
                    "duplicate_of": kept_by_fingerprint[fingerprint],
                    "match_kind": "identical_text",
                }
            )
            continue
        if result["fields"] is None:
            rows.rejections.append(
                _rejection_row(source_file, "place", "no county named in the text", content_hash, now)
            )
            continue
        kept_by_fingerprint[fingerprint] = document_id
        rows.cleaned.append(
            {
                "document_id": document_id,
                "source_file": source_file,
                "content_hash": content_hash,
                "text_fingerprint": fingerprint,
                **result["fields"],
                "cleaner_version": version,
            }
        )
    return rows


def _remove_stale_cleaning(con: duckdb.DuckDBPyConnection, version: str) -> int:
    """Drop cleaning results whose source vanished or changed, or that an older cleaner made."""
    removed = 0
    for sql in (
        f"DELETE FROM {RAW}.cleaned_documents "
        f"WHERE document_id NOT IN (SELECT document_id FROM {RAW}.raw_documents)",
        f"DELETE FROM {RAW}.cleaned_documents WHERE cleaner_version IS DISTINCT FROM ?",
    ):
        params = [version] if "?" in sql else []
        (before,) = con.execute(f"SELECT count(*) FROM {RAW}.cleaned_documents").fetchone()
        con.execute(sql, params)
        (after,) = con.execute(f"SELECT count(*) FROM {RAW}.cleaned_documents").fetchone()
        removed += int(before - after)
        if "cleaner_version" in sql and before != after:
            # Text duplicates were judged on the old cleaner's output: judge them again.
            con.execute(f"DELETE FROM {RAW}.duplicate_documents WHERE match_kind = 'identical_text'")
    # A duplicate whose file vanished or changed, or whose kept document went, is stale.
    con.execute(
        f"""
        DELETE FROM {RAW}.duplicate_documents AS d
        WHERE NOT EXISTS (SELECT 1 FROM {RAW}.raw_documents AS r
                          WHERE r.source_file = d.source_file AND r.document_id = d.document_id)
           OR d.duplicate_of NOT IN (SELECT document_id FROM {RAW}.cleaned_documents)
        """
    )
    return removed


def _record_copies(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> None:
    """Give every file that repeats another file's bytes the same fate as the file kept for them.

    Kept document -> identical_bytes duplicate; text duplicate -> identical_text duplicate of the
    same document; rejected while cleaning -> the same rejection. (A document that failed
    extraction is still kept, so its copies are identical_bytes duplicates.)
    Recomputed from scratch each run (cheap, in SQL).
    """
    copies = f"""
        SELECT r.source_file, r.document_id, r.content_hash, k.source_file AS kept_file
        FROM {RAW}.raw_documents AS r
        JOIN (SELECT document_id, min(source_file) AS source_file
              FROM {RAW}.raw_documents GROUP BY document_id) AS k
          ON r.document_id = k.document_id AND r.source_file <> k.source_file
    """
    con.execute(
        f"DELETE FROM {RAW}.duplicate_documents WHERE match_kind = 'identical_bytes' "
        f"OR source_file IN (SELECT source_file FROM ({copies}))"
    )
    con.execute(
        f"DELETE FROM {RAW}.rejected_documents WHERE stage IN ('clean', 'place', 'extract') "
        f"AND source_file IN (SELECT source_file FROM ({copies}))"
    )
    con.execute(
        f"""
        INSERT INTO {RAW}.duplicate_documents
        SELECT c.source_file, c.document_id, c.document_id, 'identical_bytes'
        FROM ({copies}) AS c WHERE c.document_id IN (SELECT document_id FROM {RAW}.cleaned_documents)
        UNION ALL
        SELECT c.source_file, c.document_id, d.duplicate_of, 'identical_text'
        FROM ({copies}) AS c JOIN {RAW}.duplicate_documents AS d
          ON d.source_file = c.kept_file AND d.match_kind = 'identical_text'
        """
    )
    con.execute(
        f"""
        INSERT INTO {RAW}.rejected_documents
        SELECT c.source_file, c.content_hash, j.stage, j.reason, ?
        FROM ({copies}) AS c JOIN {RAW}.rejected_documents AS j
          ON j.source_file = c.kept_file AND j.stage IN ('clean', 'place')
        """,
        [now],
    )


# --- extraction -------------------------------------------------------------------------------------


def extraction_version(catalog: Any) -> str:
    """Facts depend on the extractor's code and on the catalog it matches against."""
    return f"{extract.EXTRACTOR_VERSION}+{catalog.version}"


def _subject(gazetteer: Any, code: str, name: str) -> County:
    try:
        county = gazetteer.county(code)
    except Exception:  # gazetteer changed since cleaning; the fact checks will flag the code
        county = None
    return county or County(code=code, name=name, prefecture=None, province="")


def extract_document_facts(
    con: duckdb.DuckDBPyConnection,
    catalog: Any,
    places: Any,
    gazetteer: Any,
    *,
    batch_size: int = BATCH_DOCUMENTS,
    adopt: Sequence[Path] = (),
) -> StageStats:
    """Extract facts and unclassified mentions from cleaned documents not yet extracted.

    In batches of batch_size documents, each committed with its documents' state, as clean_documents.
    A document that a partition output in `adopt` extracted from the same text with this extractor
    and catalog gets that output's facts and mentions instead of being read again.
    """
    version = extraction_version(catalog)
    stats = StageStats("extracted_facts")
    now = _now()
    state = f"{STATE_SCHEMA}.extracted_documents"
    adopting = _gather_extractions(con, adopt, version)
    with _Transaction(con) as transaction:
        # Orphans: documents no longer cleaned (file gone, changed, now a duplicate or rejected).
        for table in ("extracted_facts", "unclassified_mentions"):
            con.execute(
                f"DELETE FROM {RAW}.{table} "
                f"WHERE document_id NOT IN (SELECT document_id FROM {RAW}.cleaned_documents)"
            )
        con.execute(
            f"DELETE FROM {state} WHERE document_id NOT IN (SELECT document_id FROM {RAW}.cleaned_documents)"
        )
        for table in ("extracted_facts", "unclassified_mentions"):
            con.execute(
                f"UPDATE {RAW}.{table} AS t SET source_file = c.source_file "
                f"FROM {RAW}.cleaned_documents AS c "
                "WHERE t.document_id = c.document_id AND t.source_file <> c.source_file"
            )
        pending = _Pending(
            con,
            "_pending_extraction",
            f"""
            SELECT c.document_id, c.source_file, c.content_hash, c.text_fingerprint,
                   s.document_id IS NOT NULL AS extracted_before
            FROM {RAW}.cleaned_documents AS c LEFT JOIN {state} AS s USING (document_id)
            WHERE s.document_id IS NULL OR s.extraction_version <> ?
               OR s.text_fingerprint <> c.text_fingerprint
            """,
            [version],
            order_by="source_file",
        )
        (total,) = con.execute(f"SELECT count(*) FROM {RAW}.cleaned_documents").fetchone()
        stats.skipped = int(total) - pending.count
        transaction.commit_and_continue()

        extracted = pending.mapped(
            batch_size,
            lambda batch: _cleaned_texts(con, batch, gazetteer, adopting, version),
            workers.extract_one,
            {"catalog": catalog, "places": places, "version": version},
        )
        for batch, results in extracted:
            by_id = {row[0]: row for row in batch}
            stats.adopted += sum(1 for result in results if result.get("adopted"))
            ids = [result["document_id"] for result in results]
            # Facts are written with their document's state row: only a document extracted before has any.
            again = [i for i in ids if by_id[i][4]]
            for table in ("extracted_facts", "unclassified_mentions"):
                stats.removed += _delete_in(con, table, "document_id", again)
            _delete_in(con, "extracted_documents", "document_id", again, schema=STATE_SCHEMA)
            con.execute(
                f"DELETE FROM {RAW}.rejected_documents WHERE stage = 'extract' AND content_hash IN "
                "(SELECT unnest(?::VARCHAR[]))",
                [[by_id[i][2] for i in ids]],
            )
            rows = _extraction_rows(results, by_id, version, now)
            stats.processed += len(results)
            stats.written += insert_rows(con, "extracted_facts", rows.facts)
            insert_rows(con, "unclassified_mentions", rows.mentions)
            insert_rows(
                con, "extracted_documents", rows.done, schema=STATE_SCHEMA,
                columns=STATE_TABLES["extracted_documents"],
            )  # fmt: skip
            stats.rejected += insert_rows(con, "rejected_documents", rows.rejections)
            transaction.commit_and_continue()
        pending.drop()
    return stats


def _cleaned_texts(
    con: duckdb.DuckDBPyConnection,
    batch: Sequence[tuple[str, ...]],
    gazetteer: Any,
    adopting: bool,
    version: str,
) -> list[tuple[str, str, str, bool, dt.date | None, County] | dict[str, Any]]:
    """The extraction inputs of a batch of pending (document_id, ...) rows, or the finished result
    of a document adopted from a partition output."""
    adopted = _adopted_extractions(con, batch, version) if adopting else {}
    rows = con.execute(
        f"SELECT document_id, clean_text, is_work_report, published_date, county_code, county_name "
        f"FROM {RAW}.cleaned_documents WHERE document_id IN (SELECT unnest(?::VARCHAR[]))",
        [[document_id for document_id, *_ in batch if document_id not in adopted]],
    ).fetchall()
    by_id = {document_id: rest for document_id, *rest in rows}
    items: list[tuple[str, str, str, bool, dt.date | None, County] | dict[str, Any]] = []
    for document_id, source_file, *_ in batch:
        if document_id in adopted:
            items.append(adopted[document_id])
            continue
        text, is_work_report, published, code, name = by_id[document_id]
        subject = _subject(gazetteer, code, name)
        items.append((document_id, source_file, text, is_work_report, published, subject))
    return items


def _gather_extractions(con: duckdb.DuckDBPyConnection, outputs: Sequence[Path], version: str) -> bool:
    """Copy what partition outputs extracted with this version into temp tables; whether any."""
    state = "{p}.pipeline_state.extracted_documents WHERE extraction_version = ?"
    documents_done = partitions.gather(
        con,
        outputs,
        "_adoptable_extracted",
        f"SELECT document_id, text_fingerprint, fact_count, mention_count FROM {state}",
        [version],
    )
    if not documents_done:
        return False
    for table in ("extracted_facts", "unclassified_mentions"):
        partitions.gather(
            con,
            outputs,
            f"_adoptable_{table}",
            f"SELECT * FROM {{p}}.raw.{table} WHERE document_id IN (SELECT document_id FROM {state})",
            [version],
        )
    return True


def _adopted_extractions(
    con: duckdb.DuckDBPyConnection, batch: Sequence[tuple[str, ...]], version: str
) -> dict[str, dict[str, Any]]:
    """Results, as workers.extract_one gives them, of the pending documents a partition extracted from the
    same text (same fingerprint)."""
    source_files = {document_id: source_file for document_id, source_file, *_ in batch}
    wanted = [f"{document_id}:{fingerprint}" for document_id, _, _, fingerprint, *_ in batch]
    found = con.execute(
        "SELECT document_id, any_value(fact_count), any_value(mention_count) FROM _adoptable_extracted "
        "WHERE document_id || ':' || text_fingerprint IN (SELECT unnest(?::VARCHAR[])) GROUP BY document_id",
        [wanted],
    ).fetchall()
    ids = [document_id for document_id, _, _ in found]
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {i: {"facts": [], "mentions": []} for i in ids}
    for table, key in (("extracted_facts", "facts"), ("unclassified_mentions", "mentions")):
        cursor = con.execute(
            f"SELECT * FROM _adoptable_{table} WHERE document_id IN (SELECT unnest(?::VARCHAR[])) "
            "ORDER BY document_id, start_offset, end_offset",
            [ids],
        )
        names = [column[0] for column in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            rows[row["document_id"]][key].append(row)
    adopted = {}
    for document_id, fact_count, mention_count in found:
        found_rows = rows[document_id]
        result = workers.extraction_result(
            document_id,
            source_files[document_id],
            version,
            found_rows["facts"],
            found_rows["mentions"],
            counts=(fact_count, mention_count),  # as extracted, before a fact read twice was merged
        )
        adopted[document_id] = {**result, "adopted": True}
    return adopted


@dataclass(slots=True)
class _ExtractionRows:
    facts: list[dict[str, Any]]
    mentions: list[dict[str, Any]]
    done: list[dict[str, Any]]  # state: which documents were extracted, with which version
    rejections: list[dict[str, Any]]


def _extraction_rows(
    results: Sequence[dict[str, Any]], by_id: dict[str, tuple[str, ...]], version: str, now: dt.datetime
) -> _ExtractionRows:
    rows = _ExtractionRows([], [], [], [])
    for result in results:
        document_id = result["document_id"]
        _, source_file, content_hash, fingerprint, _ = by_id[document_id]
        if "error" in result:
            rows.rejections.append(_rejection_row(source_file, "extract", result["error"], content_hash, now))
            continue
        rows.facts += result["facts"]
        rows.mentions += result["mentions"]
        fact_count, mention_count = result["counts"]
        rows.done.append(
            {
                "document_id": document_id,
                "extraction_version": version,
                "text_fingerprint": fingerprint,
                "fact_count": fact_count,
                "mention_count": mention_count,
                "extracted_at": now,
            }
        )
    return rows


# --- validation -------------------------------------------------------------------------------------


def validation_version(catalog: Any, county_codes: Iterable[str]) -> str:
    """A verdict depends on the validation code, the pandera schema, the catalog and the gazetteer."""
    code = versioning.source_version("validation", data_files=("facts.py",))
    return workers.short_hash(code, catalog.version, *sorted(county_codes))


def _stage_version(con: duckdb.DuckDBPyConnection, stage: str) -> str | None:
    sql = f"SELECT version FROM {STATE_SCHEMA}.stage_versions WHERE stage = ?"
    row = con.execute(sql, [stage]).fetchone()
    return row[0] if row else None


def _record_stage_version(con: duckdb.DuckDBPyConnection, stage: str, version: str) -> None:
    con.execute(f"DELETE FROM {STATE_SCHEMA}.stage_versions WHERE stage = ?", [stage])
    con.execute(f"INSERT INTO {STATE_SCHEMA}.stage_versions VALUES (?, ?, ?)", [stage, version, _now()])


_FACTS = ", ".join(FACT_COLUMNS)
_EXTRACTED = f"SELECT {_FACTS} FROM {RAW}.extracted_facts"
_JUDGED = (  # a subquery, so EXCEPT applies to both tables, not only the first
    f"SELECT * FROM (SELECT {_FACTS} FROM {RAW}.validated_facts "
    f"UNION ALL SELECT {_FACTS} FROM {RAW}.rejected_facts)"
)


def _mark_facts_to_judge(con: duckdb.DuckDBPyConnection, everything: bool) -> int:
    """Fill the temp table _facts_to_judge with the fact_ids whose verdicts are redone; how many.

    Every extracted fact, or: those not judged yet as they are now (every row under their id is
    judged again with them, so uniqueness is still checked), and judged ones no longer extracted
    as they were judged (their verdicts go; their ids may have no extracted row left).
    """
    extracted = f"SELECT DISTINCT fact_id FROM {RAW}.extracted_facts"
    unjudged = f"SELECT fact_id FROM ({_EXTRACTED} EXCEPT {_JUDGED})"
    stale = f"SELECT fact_id FROM ({_JUDGED} EXCEPT {_EXTRACTED})"
    chosen = extracted if everything else f"{unjudged} UNION {stale}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _facts_to_judge AS {chosen}")
    (count,) = con.execute("SELECT count(*) FROM _facts_to_judge").fetchone()
    return int(count)


def facts_in_slices(
    con: duckdb.DuckDBPyConnection, facts: str, ids: str, total: int, batch_size: int = BATCH_FACTS
) -> Iterator[pd.DataFrame]:
    """The rows of the query `facts` whose fact_id is among the query `ids` (`total` of them), about
    batch_size at a time: slices by a hash of fact_id, so rows sharing an id share a slice.

    The rows are copied once into a temp table sorted by slice, so reading a slice reads only its
    own blocks (filtering the facts table by a hash read the whole table for every slice).
    """
    slices = max(1, -(-total // batch_size))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _fact_slices AS SELECT hash(f.fact_id) % {slices} AS _slice, f.* "
        f"FROM ({facts}) AS f WHERE f.fact_id IN ({ids}) ORDER BY _slice"
    )
    try:
        for number in range(slices):
            yield con.execute(
                "SELECT * EXCLUDE (_slice) FROM _fact_slices WHERE _slice = ? ORDER BY fact_id", [number]
            ).df()
            # Validating a slice leaves its frames in reference cycles, which a full collection in
            # a process with Dagster's heap reaches rarely: uncollected, they grew memory ~5 MB a
            # slice (+320 MiB at 100,000 reports). The young generations hold them: 3 ms to collect.
            gc.collect(1)
    finally:
        con.execute("DROP TABLE IF EXISTS _fact_slices")


def validate_facts(
    con: duckdb.DuckDBPyConnection, catalog: Any, gazetteer: Any, *, batch_size: int = BATCH_FACTS
) -> StageStats:
    """Bring raw.validated_facts / raw.rejected_facts up to date with raw.extracted_facts.

    Facts judged with the current validation version keep their verdict: only extracted rows not
    judged yet (new, or changed under an old fact_id) are validated, together with every row sharing
    their fact_id so uniqueness is still checked, and judged rows no longer extracted are removed.
    A new version (code, schema, catalog or gazetteer changed) re-judges every fact. Facts are
    validated batch_size or so at a time, so memory does not grow with the corpus.
    """
    stats = StageStats("validated_facts")
    county_codes = {row["county_code"] for row in gazetteer.county_rows()}
    version = validation_version(catalog, county_codes)
    everything = _stage_version(con, "validate") != version
    with _Transaction(con) as transaction:
        to_judge = _mark_facts_to_judge(con, everything)
        for table in ("validated_facts", "rejected_facts"):
            judged = "" if everything else " WHERE fact_id IN (SELECT fact_id FROM _facts_to_judge)"
            (removed,) = con.execute(f"DELETE FROM {RAW}.{table}{judged}").fetchone()
            stats.removed += 0 if everything else int(removed)
        for facts in facts_in_slices(
            con, _EXTRACTED, "SELECT fact_id FROM _facts_to_judge", to_judge, batch_size
        ):
            valid, rejected = split_valid_facts(facts, catalog, county_codes)
            stats.processed += len(facts)
            stats.written += insert_rows(con, "validated_facts", valid[FACT_COLUMNS])
            stats.rejected += insert_rows(con, "rejected_facts", rejected.reindex(columns=REJECTED_COLUMNS))
            # Uncommitted rows stay in memory: commit each slice. A run stopped midway has recorded
            # no version yet (or left those facts unjudged), so the next run judges them again.
            transaction.commit_and_continue()
        _record_stage_version(con, "validate", version)
        con.execute(f"DELETE FROM {STATE_SCHEMA}.last_validated_facts")
        con.execute(
            f"INSERT INTO {STATE_SCHEMA}.last_validated_facts SELECT fact_id FROM {RAW}.extracted_facts "
            "WHERE fact_id IN (SELECT fact_id FROM _facts_to_judge)"
        )
        con.execute("DROP TABLE _facts_to_judge")
    (total,) = con.execute(f"SELECT count(*) FROM {RAW}.extracted_facts").fetchone()
    stats.skipped = int(total) - stats.processed
    return stats


# --- partitions -------------------------------------------------------------------------------------


def build_partition(
    paths: Any, raw_dir: str | os.PathLike[str], source: str, catalog: Any, places: Any, gazetteer: Any
) -> dict[str, StageStats]:
    """Ingest, clean and extract one source's files into its partition output (partitions.py).

    Independent of every other partition and of the working file: the whole-corpus stages adopt
    what it wrote (clean_documents / extract_document_facts with adopt=partition_outputs(paths)).
    """
    own = partitions.partition_paths(paths, source)
    with partitions.open_partition(paths, source) as con:
        return {
            "raw_documents": sync_raw_documents(
                con, raw_dir, source=source, file_stats=filestats.cache_path(own.published)
            ),
            "cleaned_documents": clean_documents(con, places),
            "extracted_facts": extract_document_facts(con, catalog, places, gazetteer),
        }
