"""The raw dir in partitions, one per source, each with stage output of its own.

A *source* is a top-level subdirectory of the raw dir (a site, a county, a delivery); the files
directly in the raw dir are the source ".". A partition's ingest, cleaning and extraction write a
DuckDB file of its own (``<warehouse dir>/partitions/<source>.work.duckdb``, the same raw tables as
the working file, holding only that source's files), so partitions never wait for each other and a
run launcher may spread them over processes or machines.

The whole-corpus stages stay the ones that decide: what is a copy of what (across sources), which
file is kept, what is rejected. A partition's output is what they *adopt* instead of computing: a
document cleaned by a partition with the current cleaner, or extracted with the current extractor
from the same text, is taken from it as it is (stages.clean_documents / extract_document_facts,
`adopt=`). So the marts are the same whether every partition ran first, some did, or none.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

import duckdb

from pipelines.core.uptodate import present_files
from pipelines.core.warehouse import WarehousePaths, open_work, work_lock

log = logging.getLogger(__name__)

TOP_LEVEL = "."  # the source of the files directly in the raw dir (no directory is called ".")
PARTITIONS_DIR = "partitions"


def source_of(source_file: str) -> str:
    """A file's source: the first directory of its path relative to the raw dir, else TOP_LEVEL."""
    head, sep, _ = source_file.partition("/")
    return head if sep else TOP_LEVEL


def sources(raw_dir: str | os.PathLike[str]) -> list[str]:
    """The sources of a raw dir's files, sorted."""
    return sorted({source_of(name) for name in present_files(Path(raw_dir).absolute())})


def _file_stem(source: str) -> str:
    # Any directory name becomes one safe file name; "top" cannot clash with "dir-..." names.
    return "top" if source == TOP_LEVEL else "dir-" + quote(source, safe="")


def partition_paths(paths: WarehousePaths, source: str) -> WarehousePaths:
    """The files of one source's partition, beside the warehouse (its output is their .work file)."""
    return WarehousePaths.from_published(paths.directory / PARTITIONS_DIR / f"{_file_stem(source)}.duckdb")


def partition_outputs(paths: WarehousePaths) -> list[Path]:
    """The partition output files that exist beside a warehouse."""
    directory = paths.directory / PARTITIONS_DIR
    return sorted(directory.glob("*.work.duckdb")) if directory.is_dir() else []


@contextlib.contextmanager
def open_partition(paths: WarehousePaths, source: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A locked read-write connection to one source's partition output."""
    with open_work(partition_paths(paths, source)) as con:
        yield con


def gather(
    con: duckdb.DuckDBPyConnection,
    outputs: Sequence[Path],
    into: str,
    select: str,
    params: Sequence[object] = (),
) -> int:
    """Rows of every partition output into the temp table `into`; how many.

    `select` reads one output, named {p} in it (e.g. "SELECT * FROM {p}.raw.cleaned_documents WHERE
    ..."). Each output is attached read-only while its partition's lock is held, so a partition
    being built is waited for, never read half-written. Outside any transaction (DuckDB attaches
    there only).
    """
    con.execute(f"DROP TABLE IF EXISTS {into}")
    created = False
    for output in outputs:
        with work_lock(_paths_of_output(output)):
            try:
                con.execute(f"ATTACH '{_sql_string(output)}' AS fupin_partition (READ_ONLY)")
            except duckdb.Error as exc:  # derived state: a damaged output costs only the work it saved
                log.warning(
                    f"partition output {output} cannot be read ({exc}); its documents are worked on here"
                )
                continue
            try:
                query = select.format(p="fupin_partition")
                verb = f"INSERT INTO {into} " if created else f"CREATE OR REPLACE TEMP TABLE {into} AS "
                con.execute(verb + query, list(params))
                created = True
            except duckdb.Error as exc:  # e.g. written by an older fupin, without a column read here
                log.warning(
                    f"partition output {output} cannot be adopted ({exc}); its documents are worked on here"
                )
            finally:
                con.execute("DETACH fupin_partition")
    if not created:
        return 0
    (count,) = con.execute(f"SELECT count(*) FROM {into}").fetchone()
    return int(count)


def _paths_of_output(output: Path) -> WarehousePaths:
    return WarehousePaths.from_published(
        output.with_name(output.name.removesuffix(".work.duckdb") + ".duckdb")
    )


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")
