"""The document stages work in committed batches: the batch size never changes what they write, and a
stage stopped midway keeps the batches it finished and resumes from there.

Real stages on real DuckDB files, on the repo's reports plus the junk of make_raw_dir. The stop is a
KeyboardInterrupt from inside the work of one document (what Ctrl-C does), which the stages do not
catch: it must roll back only the batch it interrupted.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import duckdb
import pytest

from pipelines.core import pool, stages
from pipelines.core.places import PlaceIndex
from pipelines.core.warehouse import WarehousePaths, open_work
from tests.conftest import make_raw_dir

# Columns that record when a row was written: the only ones two runs may differ in.
WRITE_TIMES = {"loaded_at", "rejected_at", "extracted_at"}
TABLES = (
    "raw_documents",
    "rejected_documents",
    "cleaned_documents",
    "duplicate_documents",
    "extracted_facts",
    "unclassified_mentions",
    "validated_facts",
    "rejected_facts",
)


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_raw_dir(tmp_path_factory.mktemp("raw"))


class StopAfter(PlaceIndex):
    """The real place index, until a given call of one of its methods: then a KeyboardInterrupt."""

    def __init__(self, gazetteer, method: str, calls: int) -> None:
        self.method, self.calls_left = method, calls  # before the index builds itself: it calls methods
        super().__init__(gazetteer)

    def __getattribute__(self, name: str):
        if name == object.__getattribute__(self, "method"):
            self.calls_left -= 1
            if self.calls_left < 0:
                raise KeyboardInterrupt
        return super().__getattribute__(name)


def run_stages(
    con: duckdb.DuckDBPyConnection, raw_dir: Path, reference: dict, *, documents: int, facts: int
) -> dict[str, stages.StageStats]:
    catalog, gazetteer, places = reference["catalog"], reference["gazetteer"], reference["places"]
    stages.load_reference_data(con, catalog, gazetteer)
    return {
        "raw": stages.sync_raw_documents(con, raw_dir),
        "clean": stages.clean_documents(con, places, batch_size=documents),
        "extract": stages.extract_document_facts(con, catalog, places, gazetteer, batch_size=documents),
        "validate": stages.validate_facts(con, catalog, gazetteer, batch_size=facts),
    }


def table_rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    columns = [
        name
        for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' "
            "AND table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        if name not in WRITE_TIMES
    ]
    listed = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"SELECT {listed} FROM raw.{table} ORDER BY ALL").fetchall()


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {table: table_rows(con, table) for table in TABLES}


def work_connection(directory: Path):
    return open_work(WarehousePaths.from_published(directory / "fupin.duckdb"))


@pytest.fixture(scope="module")
def one_batch(tmp_path_factory: pytest.TempPathFactory, raw_dir: Path, reference: dict) -> dict:
    """Every stage in one batch: the reference the other runs must equal."""
    with work_connection(tmp_path_factory.mktemp("one-batch")) as con:
        run_stages(con, raw_dir, reference, documents=10_000, facts=1_000_000)
        return snapshot(con)


def test_batch_size_does_not_change_what_the_stages_write(
    tmp_path: Path, raw_dir: Path, reference: dict, one_batch: dict
) -> None:
    with work_connection(tmp_path) as con:
        stats = run_stages(con, raw_dir, reference, documents=1, facts=7)
        assert snapshot(con) == one_batch
        # the pending rows wait in temporary tables (not Python lists), dropped with their stage
        assert con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall() == []
    assert stats["clean"].processed == 5 and stats["clean"].written == 5
    assert stats["extract"].processed == 5
    assert stats["validate"].processed == stats["validate"].written == len(one_batch["extracted_facts"])
    assert len(one_batch["extracted_facts"]) > 7  # validation really took several slices


def test_the_process_pool_writes_what_one_process_writes(
    tmp_path: Path, raw_dir: Path, reference: dict, one_batch: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool, "PARALLEL_THRESHOLD", 1)  # the few test documents go to the pool
    with work_connection(tmp_path) as con:
        run_stages(con, raw_dir, reference, documents=2, facts=1_000)
        assert snapshot(con) == one_batch


def test_a_slice_left_in_reference_cycles_is_freed_before_the_next_is_read() -> None:
    """pandera leaves each validated frame in reference cycles; in a run's large heap the collector
    reached them rarely and memory grew with every slice (~5 MB each)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE facts AS SELECT 'f' || i AS fact_id, i AS value FROM range(30) t(i)")
    frames: list[weakref.ref] = []
    was_enabled = gc.isenabled()
    gc.disable()  # only the collection the slicing itself asks for
    try:
        for frame in stages.facts_in_slices(con, "SELECT * FROM facts", "SELECT fact_id FROM facts", 30, 10):
            assert all(earlier() is None for earlier in frames)
            cycle = {"frame": frame}
            cycle["self"] = cycle
            frames.append(weakref.ref(frame))
            del frame, cycle
    finally:
        if was_enabled:
            gc.enable()
    assert len(frames) == 3


def test_cleaning_stopped_midway_keeps_its_finished_batches_and_resumes(
    tmp_path: Path, raw_dir: Path, reference: dict, one_batch: dict
) -> None:
    stopping = StopAfter(reference["gazetteer"], "subject_county", calls=3)
    with work_connection(tmp_path) as con:
        stages.load_reference_data(con, reference["catalog"], reference["gazetteer"])
        stages.sync_raw_documents(con, raw_dir)
        with pytest.raises(KeyboardInterrupt):
            stages.clean_documents(con, stopping, batch_size=2)
        # batch 1 (two documents) was committed; batch 2 stopped at its first document
        assert con.execute("SELECT count(*) FROM raw.cleaned_documents").fetchone() == (2,)

        resumed = stages.clean_documents(con, reference["places"], batch_size=2)
        assert (resumed.skipped, resumed.processed) == (2, 3)
        stats = run_stages(con, raw_dir, reference, documents=2, facts=1_000)
        assert stats["clean"].processed == 0
        assert snapshot(con) == one_batch


def test_extraction_stopped_midway_keeps_its_finished_batches_and_resumes(
    tmp_path: Path, raw_dir: Path, reference: dict, one_batch: dict
) -> None:
    catalog, gazetteer = reference["catalog"], reference["gazetteer"]
    stopping = StopAfter(gazetteer, "find_places", calls=4)
    with work_connection(tmp_path) as con:
        stages.load_reference_data(con, catalog, gazetteer)
        stages.sync_raw_documents(con, raw_dir)
        stages.clean_documents(con, reference["places"])
        with pytest.raises(KeyboardInterrupt):
            stages.extract_document_facts(con, catalog, stopping, gazetteer, batch_size=2)
        extracted = "SELECT count(DISTINCT document_id) FROM {}"
        assert con.execute(extracted.format("pipeline_state.extracted_documents")).fetchone() == (4,)
        assert con.execute(extracted.format("raw.extracted_facts")).fetchone() == (4,)

        resumed = stages.extract_document_facts(con, catalog, reference["places"], gazetteer, batch_size=2)
        assert (resumed.skipped, resumed.processed) == (4, 1)
        stages.validate_facts(con, catalog, gazetteer)
        assert snapshot(con) == one_batch


def test_schema_check_finds_a_bad_judged_fact(tmp_path: Path, raw_dir: Path, reference: dict) -> None:
    from dagster import AssetSelection, materialize

    from pipelines.checks import validated_facts_match_schema
    from pipelines.definitions import ALL_ASSETS, resources
    from pipelines.resources import FupinSettings

    with work_connection(tmp_path) as con:
        run_stages(con, raw_dir, reference, documents=500, facts=50_000)
        # a row the schema refuses, as if written by a broken validation (a county of no gazetteer)
        con.execute("INSERT INTO raw.validated_facts SELECT * REPLACE ('999999' AS county_code, 'bad' "
                    "AS fact_id) FROM raw.validated_facts LIMIT 1")  # fmt: skip
        con.execute("INSERT INTO pipeline_state.last_validated_facts VALUES ('bad')")
        (judged,) = con.execute("SELECT count(*) FROM pipeline_state.last_validated_facts").fetchone()
    settings = FupinSettings(raw_dir=str(raw_dir), warehouse=str(tmp_path / "fupin.duckdb"))
    result = materialize(
        [*ALL_ASSETS, validated_facts_match_schema],
        selection=AssetSelection.checks(validated_facts_match_schema),
        resources=resources(settings),
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["failing_rows"].value == 1
    assert evaluation.metadata["checked_rows"].value == judged
