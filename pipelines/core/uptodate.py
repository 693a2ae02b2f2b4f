"""Is there anything for a run to do? Decided in a fraction of a second, before Dagster and dbt load.

A run would change nothing when the published warehouse was built from the raw dir as it is now
(the same files with the same bytes, compared with the hashes its raw tables recorded) by the code
as it is now (every file of pipelines/, schemas/ and the dbt project, the versions of the packages
that shape the output, and the raw dir's sources.yaml: the *inputs version*), every page
sources.yaml lists is fetched, and nothing a crash or a reader left needs tidying (a write-ahead log
or temporary copies beside the published file, a missing or unreadable working file). `fupin run`
then stops with one line, and the raw-dir sensor starts no run.

Publishing records the inputs version beside the published file (``<stem>.published.json``,
pipelines/core/warehouse.py) with that file's identity: a published file the record does not
describe (replaced by hand, or published by a run killed before it wrote the record) is never taken
as up to date.

The raw files are compared by hash, but an unchanged file is not read: its hash is remembered with
its stat identity, as git's index does (pipelines/core/filestats.py), so a no-op check costs a
listing and a stat per file.

No Dagster, dbt or pandas here: this module is what a no-op run imports.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib.metadata
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.core import documents, filestats
from pipelines.core.documents import FileRead, read_present_file
from pipelines.core.filestats import FileStats
from pipelines.core.tables import RAW_SCHEMA
from pipelines.core.warehouse import (
    WarehousePaths,
    connect,
    has_duckdb_magic,
    recorded_inputs_version,
    wal_path,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# What decides a run's output besides the raw files: the code, the data files, the dbt project.
CODE_DIRS = ("pipelines", "schemas", "dbt_project")
_SKIPPED_DIRS = frozenset({"target", "logs", "dbt_packages", "__pycache__"})
# Installed packages whose upgrade can change what a run writes.
OUTPUT_PACKAGES = (
    "dagster",
    "dagster-dbt",
    "dbt-core",
    "dbt-duckdb",
    "duckdb",
    "pandas",
    "pandera",
    "opencc",
    "charset-normalizer",
    "trafilatura",
    "lxml",
)
INPUTS_VERSION_ENV = "FUPIN_INPUTS_VERSION"  # set by `fupin run`: the version it saw when it started
EXAMPLES = 3  # file names a reason shows


# --- the raw files against the raw tables ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedFiles:
    """What the raw tables hold about the raw dir's files: the bytes' hash of each file read, what was
    recorded of each file refused before it became a document, and every file they name."""

    hashes: dict[str, str]
    refused_early: dict[str, tuple[str | None, str]]  # source_file -> (hash of the bytes judged, reason)
    files: set[str]

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection) -> RecordedFiles:
        raw = RAW_SCHEMA
        hashes = dict(con.execute(f"SELECT source_file, content_hash FROM {raw}.raw_documents").fetchall())
        refused_early = {
            source_file: (content_hash, reason)
            for source_file, content_hash, reason in con.execute(
                "SELECT source_file, any_value(content_hash), any_value(reason) "
                f"FROM {raw}.rejected_documents WHERE stage IN ('read', 'decode') GROUP BY source_file"
            ).fetchall()
        }
        # sources.yaml's entries are not files of the raw dir: they are judged again every run.
        rejected = {
            r[0]
            for r in con.execute(
                f"SELECT source_file FROM {raw}.rejected_documents WHERE stage <> 'source'"
            ).fetchall()
        }
        return cls(hashes, refused_early, set(hashes) | rejected)

    def holds(self, read: FileRead) -> bool:
        """The file is as recorded: the same bytes, or refused unread for the same reason."""
        before_hash, before_reason = self.refused_early.get(read.source_file, (None, None))
        if read.content_hash is None:
            return read.problem == before_reason
        return read.content_hash in (self.hashes.get(read.source_file), before_hash)


def present_files(raw_dir: Path) -> dict[str, Path]:
    """source_file -> path of every file of the raw dir, named as the raw tables name them."""
    return dict(documents.raw_files(raw_dir))


def read_unless_recorded(source_file: str, path: Path, recorded: RecordedFiles, stats: FileStats) -> FileRead:
    """A file as it is now, read only when it must be: when its stat identity is the one remembered
    and the hash remembered is what the raw tables recorded, that hash (no bytes); else the file
    read, and remembered. The one place both the no-op check and ingestion decide to read a file."""
    known = stats.known_hash(source_file, path)
    if known is not None:
        cached = FileRead(source_file, path, content_hash=known)
        if recorded.holds(cached):
            return cached
    read = read_present_file(source_file, path)
    stats.remember(source_file, read.identity, read.read_began_ns, read.content_hash)
    return read


def raw_files_out_of_sync(
    con: duckdb.DuckDBPyConnection,
    raw_dir: str | os.PathLike[str],
    present: dict[str, Path] | None = None,
    stats: FileStats | None = None,
) -> list[str]:
    """Files of the raw dir that are new or changed since the raw tables were loaded, and files the
    tables name that are gone: what the next run's ingestion would touch. Reads only the raw tables;
    reads a raw file only when `stats` (default: none, read every file) does not know its bytes."""
    raw_dir = Path(raw_dir).absolute()
    present = present_files(raw_dir) if present is None else present
    stats = FileStats(None, os.fspath(raw_dir)) if stats is None else stats
    recorded = RecordedFiles.read(con)
    changed = [
        name
        for name, path in present.items()
        if not recorded.holds(read_unless_recorded(name, path, recorded, stats))
    ]
    return sorted(changed + list(recorded.files - set(present)))


# --- the inputs version ------------------------------------------------------------------------------


def _code_files(root: Path) -> list[Path]:
    files = []
    for top in CODE_DIRS:
        for directory, dirs, names in os.walk(root / top):
            dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
            files += [
                Path(directory, n) for n in sorted(names) if not n.startswith(".") and not n.endswith(".pyc")
            ]
    return files


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def inputs_version(raw_dir: str | os.PathLike[str], root: Path = PROJECT_ROOT) -> str:
    """A hash of everything but the raw files that decides what a run writes (see the module doc)."""
    from pipelines.core.scrape import SOURCES_FILE

    digest = hashlib.sha256()
    for path in _code_files(root):
        digest.update(os.fsencode(path.relative_to(root)) + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for name in OUTPUT_PACKAGES:
        digest.update(f"{name}=={_package_version(name)}\0".encode())
    sources = Path(raw_dir) / SOURCES_FILE
    with contextlib.suppress(OSError):
        digest.update(b"sources\0" + sources.read_bytes())
    return digest.hexdigest()[:16]


def run_inputs_version(raw_dir: str | os.PathLike[str]) -> str:
    """The inputs version `fupin run` saw when it started (its steps share it), else computed now
    (a run Dagster launched)."""
    return os.environ.get(INPUTS_VERSION_ENV) or inputs_version(raw_dir)


# --- the decision ------------------------------------------------------------------------------------


@dataclass(slots=True)
class RunNeed:
    """Why a run has work to do (reasons), or that it has none (no reasons)."""

    reasons: list[str] = field(default_factory=list)
    files: int = 0  # files of the raw dir, when they were compared

    @property
    def up_to_date(self) -> bool:
        return not self.reasons


def _is_duckdb_file(path: Path) -> bool:
    try:
        return has_duckdb_magic(path)
    except OSError:
        return False


def _unfetched_sources(raw_dir: Path) -> int:
    from pipelines.core import scrape

    path = raw_dir / scrape.SOURCES_FILE
    if not path.is_file():
        return 0
    sources, _ = scrape.read_sources(path)
    return sum(not scrape.already_fetched(raw_dir, s.url) for s in sources)


def _examples(names: list[str]) -> str:
    shown = ", ".join(names[:EXAMPLES])
    return shown + (f" and {len(names) - EXAMPLES} more" if len(names) > EXAMPLES else "")


def run_need(raw_dir: str | os.PathLike[str], paths: WarehousePaths, version: str | None = None) -> RunNeed:
    """What a run on raw_dir and this warehouse would have to do; takes no lock, writes nothing but
    the file-stat cache (pipelines/core/filestats.py, replaced atomically).

    The cheap questions come first; the raw files are compared only when all else matches, and a
    file is read and hashed only when its stat identity is not the one remembered with its hash.
    """
    raw_dir = Path(raw_dir).absolute()
    need = RunNeed()
    if not paths.published.exists():
        need.reasons.append(f"no warehouse is published at {paths.published} yet")
        return need
    if not _is_duckdb_file(paths.work):
        need.reasons.append(f"the working file {paths.work} is missing or unreadable")
    if wal_path(paths.published).exists():
        need.reasons.append(f"a write-ahead log lies beside {paths.published}")
    if paths.temp_copies():
        need.reasons.append("a crashed publish left temporary copies")
    recorded = recorded_inputs_version(paths)
    if recorded is None:
        need.reasons.append("no record says what built the published file")
    elif recorded != (version or inputs_version(raw_dir)):
        need.reasons.append("the code, catalog, dbt project, packages or sources.yaml changed")
    if need.reasons:
        return need
    try:
        unfetched = _unfetched_sources(raw_dir)
    except Exception as exc:  # sources.yaml is judged by the run, which reports it properly
        unfetched = 0
        need.reasons.append(f"sources.yaml could not be read ({type(exc).__name__})")
    if unfetched:
        need.reasons.append(f"{unfetched} pages listed in sources.yaml are not fetched yet")
    try:
        with _cyclic_gc_paused():
            need.files, changed = _compare_raw_files(raw_dir, paths)
    except documents.RawDirError as exc:  # the run fails on it with its own message
        need.reasons.append(str(exc))
        return need
    except duckdb.Error as exc:
        need.reasons.append(f"the published file cannot be compared ({str(exc).splitlines()[0]})")
        return need
    if changed:
        need.reasons.append(f"{len(changed)} files new, changed or removed ({_examples(changed)})")
    return need


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """The comparison makes a few objects per raw file and no reference cycles; the cyclic collector
    would walk them all again and again (a fifth of a no-op check at 100,000 files)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compare_raw_files(raw_dir: Path, paths: WarehousePaths) -> tuple[int, list[str]]:
    """How many files the raw dir holds, and which differ from the published raw tables."""
    present = present_files(raw_dir)
    stats = FileStats.load(filestats.cache_path(paths.published), raw_dir)
    con = connect(paths.published, read_only=True)
    try:
        changed = raw_files_out_of_sync(con, raw_dir, present, stats)
    finally:
        con.close()
    stats.save()  # after a copy or a touch of the raw dir, only this check sees the new identities
    return len(present), changed
