"""The DuckDB warehouse: a private working file for runs, and atomic publishing of it.

BI tools open the *published* file (default ``warehouse/fupin.duckdb``) read-only; runs never write
it. Every stage and dbt work in the *working* file beside it (``fupin.work.duckdb``), which keeps its
state between runs so runs are incremental. Publishing checkpoints the working file, copies it to a
temporary file in the published file's directory and ``os.replace``-s it over the published path:
readers holding the old file keep their snapshot (the old inode stays alive until they close it),
new readers see the new file, and a run that fails before publishing leaves the last good warehouse.

Runs in several processes (Dagster's multiprocess executor) take turns on the working file through
an advisory file lock, because DuckDB allows a single writing process per file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.core.tables import RAW_SCHEMA, RAW_TABLES, create_table_sql

DEFAULT_WAREHOUSE = Path("warehouse") / "fupin.duckdb"

# The storage format of every file fupin creates, pinned so a DuckDB upgrade cannot silently lock
# out older readers (a file keeps the version it was created with). v0.10.2 is DuckDB 1.5's own
# default: DuckDB 0.10 and later read the published file; 0.9 does not.
STORAGE_COMPATIBILITY_VERSION = "v0.10.2"

# What a published file holds: the marts (main) and the raw tables they come from, the evidence an
# auditor traces a figure to. dbt's staging and intermediate views and the runs' bookkeeping
# (pipeline_state) stay in the working file.
PUBLISHED_SCHEMAS = ("main", RAW_SCHEMA)

# Bookkeeping that is not a dbt source: which documents were extracted with which versions.
STATE_SCHEMA = "pipeline_state"
STATE_TABLES: dict[str, dict[str, str]] = {
    "extracted_documents": {
        "document_id": "VARCHAR",
        "extraction_version": "VARCHAR",
        "text_fingerprint": "VARCHAR",
        "fact_count": "INTEGER",
        "mention_count": "INTEGER",
        "extracted_at": "TIMESTAMP",
    },
    # The version each whole-table stage last ran with; a different version re-judges every row.
    "stage_versions": {
        "stage": "VARCHAR",
        "version": "VARCHAR",
        "ran_at": "TIMESTAMP",
    },
    # The facts the last validation judged (new or changed since the run before), for its check.
    "last_validated_facts": {
        "fact_id": "VARCHAR",
    },
}


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or published; the message says what to do."""


@dataclass(frozen=True, slots=True)
class WarehousePaths:
    published: Path  # what readers open; replaced atomically, never written in place
    work: Path  # where runs build; persistent between runs
    lock: Path  # advisory lock serialising writers of the working file
    dbt_target: Path  # dbt's target dir for this warehouse: its partial-parse state matches the profile

    @classmethod
    def from_published(cls, path: str | os.PathLike[str]) -> WarehousePaths:
        published = Path(path).expanduser().absolute()
        suffix = published.suffix or ".duckdb"
        work = published.with_name(f"{published.stem}.work{suffix}")
        lock = published.with_name(f"{published.stem}.work.lock")
        dbt_target = published.with_name(f"{published.stem}.dbt-target")
        return cls(published=published, work=work, lock=lock, dbt_target=dbt_target)

    @property
    def directory(self) -> Path:
        return self.published.parent


def connect(path: str | os.PathLike[str], read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file; read-only opens fail clearly when the file does not exist."""
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist; run `fupin run` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        config = {"storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION}
        return duckdb.connect(str(path), read_only=read_only, config=config)
    return duckdb.connect(str(path), read_only=read_only)


def _add_missing_columns(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: dict[str, str]
) -> None:
    """A working file made by an older fupin gains the columns added since (NULL until re-cleaned)."""
    have = {
        name
        for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    }
    for name, kind in columns.items():
        if name not in have:
            con.execute(f'ALTER TABLE {schema}.{table} ADD COLUMN "{name}" {kind}')


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema, every raw table and the pipeline bookkeeping tables if missing."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for table, columns in RAW_TABLES.items():
        con.execute(create_table_sql(table))
        _add_missing_columns(con, RAW_SCHEMA, table, columns)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}")
    for table, columns in STATE_TABLES.items():
        con.execute(create_table_sql(table, schema=STATE_SCHEMA, columns=columns))


@contextlib.contextmanager
def work_lock(paths: WarehousePaths) -> Iterator[None]:
    """Hold the working file's writer lock (blocks while another process holds it)."""
    paths.directory.mkdir(parents=True, exist_ok=True)
    with open(paths.lock, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def open_work(paths: WarehousePaths) -> Iterator[duckdb.DuckDBPyConnection]:
    """A locked read-write connection to the working file, with the raw schema in place."""
    with work_lock(paths):
        con = connect(paths.work)
        try:
            ensure_raw_schema(con)
            yield con
            con.execute("CHECKPOINT")
        finally:
            con.close()


def probe_write(directory: Path) -> None:
    """Create and remove a file in `directory`; raises OSError when that fails. A real write, because
    os.access answers yes to root even where nobody can write (read-only mounts, /sys, ...)."""
    fd, name = tempfile.mkstemp(prefix=".fupin-write-test-", dir=directory)
    os.close(fd)
    os.unlink(name)


def check_writable(paths: WarehousePaths) -> None:
    """Fail early, with a readable message, when the warehouse directory cannot be written."""
    directory = paths.directory
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(f"cannot create warehouse directory {directory}: {exc.strerror}") from exc
    try:
        probe_write(directory)
    except OSError as exc:
        raise WarehouseError(f"warehouse directory {directory} is not writable: {exc.strerror}") from exc


DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def check_warehouse_files(files: list[Path]) -> None:
    """Refuse paths that exist but are not DuckDB files (a directory, a CSV ...), before a run starts:
    publishing would replace them."""
    for path in files:
        if path.is_dir():
            example = path / "fupin.duckdb"
            raise WarehouseError(f"warehouse {path} is a directory; give a file path such as {example}")
        if not path.exists():
            continue
        try:
            with open(path, "rb") as handle:
                header = handle.read(12)
        except OSError as exc:
            raise WarehouseError(f"cannot read warehouse {path}: {exc.strerror}") from exc
        if header[8:12] != DUCKDB_MAGIC:
            raise WarehouseError(f"{path} is not a DuckDB file; move it away or choose another --warehouse")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(paths: WarehousePaths) -> Path:
    """Atomically replace the published file with a checkpointed copy of the working file."""
    if not paths.work.exists():
        raise WarehouseError(f"nothing to publish: working file {paths.work} does not exist")
    tmp = paths.published.with_name(f".{paths.published.name}.{os.getpid()}.tmp")
    with work_lock(paths):
        # Fold the write-ahead log into the file so the copy is complete on its own.
        con = connect(paths.work)
        try:
            con.execute("CHECKPOINT")
        finally:
            con.close()
        try:
            shutil.copyfile(paths.work, tmp)
            keep_only_published_schemas(tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, paths.published)
            _fsync_dir(paths.directory)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return paths.published


def keep_only_published_schemas(path: Path) -> None:
    """Drop every schema but PUBLISHED_SCHEMAS from a copy of the working file, before it is published."""
    con = duckdb.connect(str(path))
    try:
        schemas = con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
            "AND NOT internal"
        ).fetchall()
        for (schema,) in schemas:
            if schema not in PUBLISHED_SCHEMAS:
                con.execute(f'DROP SCHEMA "{schema}" CASCADE')
        con.execute("CHECKPOINT")
    finally:
        con.close()


def describe_warehouse(path: str | os.PathLike[str]) -> list[tuple[str, str, int]]:
    """(schema, table, row count) of every table and view in a warehouse file, read-only."""
    con = connect(path, read_only=True)
    try:
        return describe_connection(con)
    finally:
        con.close()


def describe_connection(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    tables = con.execute(
        """
        SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_catalog = current_database() AND table_schema NOT IN ('information_schema', 'pg_catalog')
        ORDER BY table_schema, table_name
        """
    ).fetchall()
    out: list[tuple[str, str, int]] = []
    for schema, table in tables:
        (rows,) = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
        out.append((schema, table, int(rows)))
    return out


def rejected_documents_by_stage(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rejected files per stage that refused them (read, decode, clean, place, extract), by stage."""
    rows = con.execute(
        f"SELECT stage, count(*) FROM {RAW_SCHEMA}.rejected_documents GROUP BY stage ORDER BY stage"
    ).fetchall()
    return {stage: int(n) for stage, n in rows}


def table_counts(
    con: duckdb.DuckDBPyConnection, tables: list[str], schema: str = RAW_SCHEMA
) -> dict[str, int]:
    """Row counts of some tables of one schema."""
    return {t: int(con.execute(f"SELECT count(*) FROM {schema}.{t}").fetchone()[0]) for t in tables}
