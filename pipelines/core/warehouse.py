"""The DuckDB warehouse: a private working file for runs, and atomic publishing of it.

BI tools open the *published* file (default ``warehouse/fupin.duckdb``) read-only; runs never write
it. Every stage and dbt work in the *working* file beside it (``fupin.work.duckdb``), which keeps its
state between runs so runs are incremental. Publishing checkpoints the working file, copies it to a
temporary file in the published file's directory and ``os.replace``-s it over the published path:
readers holding the old file keep their snapshot (the old inode stays alive until they close it),
new readers see the new file, and a run that fails before publishing leaves the last good warehouse.

Runs in several processes (Dagster's multiprocess executor) take turns on the working file through
an advisory file lock, because DuckDB allows a single writing process per file; one run at a time
holds the warehouse as a whole (pipelines/core/runlock.py).

What sits beside the published file never changes what readers see: a stale write-ahead log (left by
a program that opened the warehouse read-write) is removed before the new file goes in, or DuckDB
would replay it onto the new copy; the published file is read-only on disk; temporary copies left
by a crash are removed by the next publish. The working file is derived state: when it cannot be
opened (truncated, garbage) it is moved aside and rebuilt from the raw dir.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.core.tables import RAW_SCHEMA, RAW_TABLES, create_table_sql

log = logging.getLogger(__name__)

DEFAULT_WAREHOUSE = Path("warehouse") / "fupin.duckdb"
# A run may remove at most this share of the published documents unless it is allowed to shrink.
DEFAULT_MAX_SHRINK_SHARE = 0.5
READ_ONLY_MODE = 0o444

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
    # What the last dbt build that succeeded was built from: each source's fingerprint and the code
    # version (pipelines/core/dbt_inputs.py), so the next build redoes only what changed.
    "dbt_build_inputs": {
        "input": "VARCHAR",
        "fingerprint": "VARCHAR",
    },
}


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or published; the message says what to do."""


class ShrinkRefused(WarehouseError):
    """Publishing would remove more of the published documents than allowed."""


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

    @property
    def run_lock(self) -> Path:
        """Held by the one run that owns this warehouse (pipelines/core/runlock.py)."""
        return self.published.with_name(f"{self.published.stem}.run.lock")

    @property
    def corrupt_work(self) -> Path:
        """Where an unreadable working file is moved before it is rebuilt (kept for inspection)."""
        return self.work.with_name(self.work.name + ".corrupt")

    @property
    def build_record(self) -> Path:
        """Which inputs version built the published file, and that file's identity (publish writes it)."""
        return self.published.with_name(f"{self.published.stem}.published.json")

    def temp_copy(self, pid: int) -> Path:
        return self.published.with_name(f".{self.published.name}.{pid}.tmp")

    def temp_copies(self) -> list[Path]:
        """Every temporary copy beside the published file (a crashed publish leaves them)."""
        return list(self.directory.glob(f".{self.published.name}.*.tmp"))


def wal_path(database: Path) -> Path:
    """DuckDB's write-ahead log of a database file: replayed onto whatever file has that name."""
    return database.with_name(database.name + ".wal")


# DuckDB keeps up to 80 % of RAM for its buffers by default, so a run's memory grew with the
# corpus; within this limit it writes out and evicts blocks (and spills joins and sorts to disk).
# dbt's connection gets the same limit (dbt_project/profiles.yml reads the same variable).
CHECKPOINT_THRESHOLD = "1GB"
MEMORY_LIMIT_ENV = "FUPIN_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "256MB"


def memory_limit() -> str:
    """DuckDB's memory limit for fupin's connections: $FUPIN_DUCKDB_MEMORY_LIMIT, else 256MB."""
    value = os.environ.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", value, flags=re.IGNORECASE):
        raise WarehouseError(f"${MEMORY_LIMIT_ENV}={value!r} is not a size such as 256MB or 2GB")
    return value


def connect(path: str | os.PathLike[str], read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file; read-only opens fail clearly when the file does not exist."""
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist; run `fupin run` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        config = {"storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION}
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    else:
        con = duckdb.connect(str(path), read_only=read_only)
    con.execute(f"SET memory_limit = '{memory_limit()}'")
    if not read_only:
        # Stages commit every batch; at DuckDB's default (16 MB of log) nearly every commit of a large
        # run rewrote blocks in a checkpoint. The log is folded in when the connection closes.
        con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
    return con


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


# DuckDB's messages for a file that is not (or no longer) a whole database. Anything else (a lock
# held by another process, a full disk) is not corruption: the file is left alone.
_CORRUPTION = re.compile(
    r"not a valid DuckDB database|Could not read enough bytes|Corrupt database|checksum|"
    r"database file is truncated|Failed to read database header|INTERNAL Error|Serialization Error",
    re.IGNORECASE,
)


def is_corruption(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and bool(_CORRUPTION.search(str(exc)))


def move_corrupt_work_file(paths: WarehousePaths, exc: BaseException) -> str:
    """Move an unreadable working file (and its log) aside; returns the warning to show."""
    os.replace(paths.work, paths.corrupt_work)
    wal_path(paths.work).unlink(missing_ok=True)
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"working file {paths.work} was unreadable ({first_line}); moved it to {paths.corrupt_work} "
        "and rebuilding it from the raw dir (the published warehouse is untouched)"
    )


def _connect_work(paths: WarehousePaths) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the working file with the raw schema; an unreadable file is rebuilt."""
    try:
        con = connect(paths.work)
        try:
            ensure_raw_schema(con)
            for table in RAW_TABLES:  # reads every table's metadata: truncation shows here
                con.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.{table}").fetchone()
        except BaseException:
            con.close()
            raise
    except duckdb.Error as exc:
        if not is_corruption(exc) or not paths.work.exists():
            raise
        log.warning(move_corrupt_work_file(paths, exc))
        con = connect(paths.work)
        ensure_raw_schema(con)
    return con


def recover_work_file(paths: WarehousePaths) -> str | None:
    """Check the working file can be opened before a run; the warning when it had to be moved aside."""
    if not paths.work.exists():
        return None
    with work_lock(paths):
        try:
            con = connect(paths.work)
            try:
                for table in RAW_TABLES:
                    con.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.{table}").fetchone()
            except duckdb.CatalogException:
                pass  # an older or empty working file: the stages create what is missing
            finally:
                con.close()
        except duckdb.Error as exc:
            if not is_corruption(exc):
                raise
            return move_corrupt_work_file(paths, exc)
    return None


@contextlib.contextmanager
def open_work(paths: WarehousePaths) -> Iterator[duckdb.DuckDBPyConnection]:
    """A locked read-write connection to the working file, with the raw schema in place.

    A working file found corrupt while a stage reads it is moved aside, so the next run rebuilds it
    instead of failing the same way forever.
    """
    with work_lock(paths):
        con = _connect_work(paths)
        corrupt: BaseException | None = None
        try:
            yield con
            con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            if is_corruption(exc):
                corrupt = exc
            raise
        finally:
            con.close()
            if corrupt is not None and paths.work.exists():
                log.warning(move_corrupt_work_file(paths, corrupt))


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


def has_duckdb_magic(path: Path) -> bool:
    """Whether a file's header is a DuckDB database's; OSError when it cannot be read."""
    with open(path, "rb") as handle:
        return handle.read(12)[8:12] == DUCKDB_MAGIC


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
            is_duckdb = has_duckdb_magic(path)
        except OSError as exc:
            raise WarehouseError(f"cannot read warehouse {path}: {exc.strerror}") from exc
        if not is_duckdb:
            raise WarehouseError(f"{path} is not a DuckDB file; move it away or choose another --warehouse")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temp_copies(paths: WarehousePaths) -> list[Path]:
    """Delete temporary copies a crashed publish left beside the published file (run-lock holders only)."""
    removed = []
    for tmp in paths.temp_copies():
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _checkpoint_work(paths: WarehousePaths) -> None:
    """Fold the working file's write-ahead log into it, so a copy of the file alone is complete."""
    con = connect(paths.work)
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()
    if wal_path(paths.work).exists():
        raise WarehouseError(
            f"{wal_path(paths.work)} is still there after a checkpoint: another process is writing the "
            "working file; stop it and run again"
        )


def _copy_to_temp(paths: WarehousePaths) -> Path:
    """A durable, read-only copy of the working file in the published file's directory."""
    tmp = paths.temp_copy(os.getpid())
    shutil.copyfile(paths.work, tmp)
    keep_only_published_schemas(tmp)
    # Read-only on disk: a BI tool that opens it read-write fails at once instead of leaving a log
    # that DuckDB would replay onto the next published copy.
    os.chmod(tmp, READ_ONLY_MODE)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    return tmp


def _remove_stale_wal(published: Path) -> bool:
    """A write-ahead log beside the published file belongs to no file a run made: remove it."""
    wal = wal_path(published)
    if not wal.exists():
        return False
    log.warning(
        "removed %s: a program opened the published warehouse read-write (not supported; open it "
        "read-only); its changes are not part of any run",
        wal,
    )
    wal.unlink(missing_ok=True)
    return True


def _swap_in(tmp: Path, paths: WarehousePaths) -> None:
    """Replace the published file by the copy in one rename, with no log beside it to replay."""
    _remove_stale_wal(paths.published)
    os.replace(tmp, paths.published)
    _fsync_dir(paths.directory)


@dataclass(frozen=True, slots=True)
class ShrinkLimit:
    """How much of the published warehouse one run may take away."""

    max_share: float = DEFAULT_MAX_SHRINK_SHARE  # of the published documents
    allowed: bool = False  # --allow-shrink: publish whatever the share


def _published_documents(path: Path) -> set[str] | None:
    """The documents readers see now (source files of dim_document); None when there is no such file."""
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        log.warning(
            "cannot read %s to compare documents (%s); publishing without the shrink check", path, exc
        )
        return None
    try:
        rows = con.execute("SELECT source_file FROM main.dim_document").fetchall()
    except duckdb.Error:
        return None  # a warehouse from before dim_document: nothing to compare with
    finally:
        con.close()
    return {source_file for (source_file,) in rows}


def refuse_mass_deletion(paths: WarehousePaths, limit: ShrinkLimit) -> None:
    """Fail when publishing would remove more than limit.max_share of the published documents.

    An unmounted share, a typo in --raw-dir or a bad code change must not wipe the warehouse.
    """
    if limit.allowed:
        return
    before = _published_documents(paths.published)
    if not before:
        return
    con = connect(paths.work)  # read-write: this process may still cache it so (one config per file)
    try:
        rows = con.execute("SELECT source_file FROM main.dim_document").fetchall()
    finally:
        con.close()
    after = {source_file for (source_file,) in rows}
    removed = len(before - after)
    share = removed / len(before)
    if share > limit.max_share:
        raise ShrinkRefused(
            f"refusing to publish: this run would remove {removed} of the {len(before)} published documents "
            f"({share:.0%}, more than the {limit.max_share:.0%} allowed); check the raw dir, or run again "
            "with --allow-shrink if the removal is intended (the published warehouse was left as it was)"
        )


# --- the record of what built the published file (read by pipelines/core/uptodate.py) -------------


def _identity(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns]


def _record_published(paths: WarehousePaths, inputs_version: str) -> None:
    record = {"inputs_version": inputs_version, "published_file": _identity(paths.published)}
    tmp = paths.build_record.with_name(f".{paths.build_record.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, paths.build_record)


def recorded_inputs_version(paths: WarehousePaths) -> str | None:
    """The inputs version recorded for the published file, if the record describes that very file."""
    try:
        record = json.loads(paths.build_record.read_text(encoding="utf-8"))
        if record["published_file"] != _identity(paths.published):
            return None
        return str(record["inputs_version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def publish(
    paths: WarehousePaths, limit: ShrinkLimit | None = None, inputs_version: str | None = None
) -> Path:
    """Atomically replace the published file with a checkpointed, read-only copy of the working file,
    and record which inputs version built it (None: record nothing, so no run takes it as up to date)."""
    if not paths.work.exists():
        raise WarehouseError(f"nothing to publish: working file {paths.work} does not exist")
    with work_lock(paths):
        _checkpoint_work(paths)
        _remove_stale_wal(paths.published)  # before reading it: the log would show what no run made
        refuse_mass_deletion(paths, limit or ShrinkLimit())
        remove_stale_temp_copies(paths)
        tmp = _copy_to_temp(paths)
        paths.build_record.unlink(missing_ok=True)  # until the new file is recorded, nothing is up to date
        try:
            _swap_in(tmp, paths)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if inputs_version is not None:
            _record_published(paths, inputs_version)
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
