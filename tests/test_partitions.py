"""Source partitions: each source of the raw dir built into its own file, adopted by the whole-corpus
stages, gives the same warehouse as one run over everything.

The raw dir has three sources ('a', 'b' and '.' for the top-level files), a copy of a report in
another source (the same bytes) and the same text in another encoding in a third, so what is a copy
of what is decided across partitions; and a file that cannot be read.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.core import partitions, stages
from pipelines.core.warehouse import WarehousePaths
from tests.conftest import REPO_RAW
from tests.test_stage_batches import run_stages, snapshot, work_connection

REPORTS = sorted(REPO_RAW.glob("*.txt"))
BIG = {"documents": 10_000, "facts": 1_000_000}


def make_sourced_raw_dir(root: Path) -> Path:
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    shutil.copy2(REPORTS[0], root / "a" / REPORTS[0].name)
    shutil.copy2(REPORTS[1], root / "a" / REPORTS[1].name)
    shutil.copy2(REPORTS[2], root / "b" / REPORTS[2].name)
    shutil.copy2(REPORTS[3], root / "b" / REPORTS[3].name)
    shutil.copy2(REPORTS[0], root / "b" / "copy_of_a_report.txt")  # the same bytes, another source
    (root / "b" / "empty.txt").write_bytes(b"")
    shutil.copy2(REPORTS[4], root / REPORTS[4].name)
    text = REPORTS[2].read_text(encoding="utf-8")  # the same text as b's report, in GB18030
    (root / "gb18030_copy.txt").write_bytes(text.encode("gb18030"))
    return root


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sourced_raw_dir(tmp_path_factory.mktemp("sourced") / "raw")


@pytest.fixture(scope="module")
def unpartitioned(tmp_path_factory: pytest.TempPathFactory, raw_dir: Path, reference: dict) -> dict:
    with work_connection(tmp_path_factory.mktemp("unpartitioned")) as con:
        run_stages(con, raw_dir, reference, **BIG)
        return snapshot(con)


def build(paths: WarehousePaths, raw_dir: Path, reference: dict, source: str) -> dict:
    return stages.build_partition(
        paths, raw_dir, source, reference["catalog"], reference["places"], reference["gazetteer"]
    )


def adopting_run(directory: Path, raw_dir: Path, reference: dict) -> tuple[dict, dict]:
    """The whole-corpus stages, adopting every partition output beside the warehouse."""
    paths = WarehousePaths.from_published(directory / "fupin.duckdb")
    outputs = partitions.partition_outputs(paths)
    catalog, gazetteer, places = reference["catalog"], reference["gazetteer"], reference["places"]
    with work_connection(directory) as con:
        stages.load_reference_data(con, catalog, gazetteer)
        stats = {
            "raw": stages.sync_raw_documents(con, raw_dir),
            "clean": stages.clean_documents(con, places, adopt=outputs),
            "extract": stages.extract_document_facts(con, catalog, places, gazetteer, adopt=outputs),
            "validate": stages.validate_facts(con, catalog, gazetteer),
        }
        return stats, snapshot(con)


def test_sources_are_the_top_level_directories(raw_dir: Path) -> None:
    assert partitions.sources(raw_dir) == [".", "a", "b"]
    assert partitions.source_of("a/x/y.txt") == "a" and partitions.source_of("y.txt") == "."
    paths = WarehousePaths.from_published(raw_dir.parent / "wh" / "fupin.duckdb")
    names = {partitions.partition_paths(paths, s).work.name for s in (".", "a", "top", "x y/z", "é")}
    assert len(names) == 5  # one file per source, whatever its name
    assert all("/" not in name for name in names)


def test_partitions_hold_only_their_source(tmp_path: Path, raw_dir: Path, reference: dict) -> None:
    paths = WarehousePaths.from_published(tmp_path / "fupin.duckdb")
    stats = build(paths, raw_dir, reference, "b")
    assert stats["raw_documents"].written == 3 and stats["raw_documents"].rejected == 1  # empty.txt
    with partitions.open_partition(paths, "b") as con:
        files = [f for (f,) in con.execute("SELECT source_file FROM raw.raw_documents ORDER BY 1").fetchall()]
    assert files == ["b/" + REPORTS[2].name, "b/" + REPORTS[3].name, "b/copy_of_a_report.txt"]
    assert partitions.partition_outputs(paths) == [partitions.partition_paths(paths, "b").work]


def test_every_partition_built_first_gives_the_same_warehouse(
    tmp_path: Path, raw_dir: Path, reference: dict, unpartitioned: dict
) -> None:
    paths = WarehousePaths.from_published(tmp_path / "fupin.duckdb")
    for source in partitions.sources(raw_dir):
        build(paths, raw_dir, reference, source)
    stats, tables = adopting_run(tmp_path, raw_dir, reference)
    assert tables == unpartitioned
    # nothing was cleaned or extracted twice: every pending document came from a partition
    assert stats["clean"].adopted == stats["clean"].processed == 6  # 5 reports + the GB18030 copy
    assert stats["extract"].adopted == stats["extract"].processed == 5
    assert len(tables["duplicate_documents"]) == 2  # the copies across sources were still found


def test_some_partitions_built_gives_the_same_warehouse(
    tmp_path: Path, raw_dir: Path, reference: dict, unpartitioned: dict
) -> None:
    paths = WarehousePaths.from_published(tmp_path / "fupin.duckdb")
    build(paths, raw_dir, reference, "a")
    stats, tables = adopting_run(tmp_path, raw_dir, reference)
    assert tables == unpartitioned
    assert (stats["clean"].adopted, stats["extract"].adopted) == (2, 2)


def test_output_of_another_cleaner_or_text_is_not_adopted(
    tmp_path: Path, raw_dir: Path, reference: dict, unpartitioned: dict
) -> None:
    paths = WarehousePaths.from_published(tmp_path / "fupin.duckdb")
    build(paths, raw_dir, reference, "a")
    build(paths, raw_dir, reference, "b")
    with partitions.open_partition(paths, "a") as con:  # as if an older cleaner had built it
        con.execute("UPDATE raw.cleaned_documents SET cleaner_version = 'an older cleaner'")
    with partitions.open_partition(paths, "b") as con:  # as if extracted from another text
        con.execute("UPDATE pipeline_state.extracted_documents SET text_fingerprint = 'another text'")
    stats, tables = adopting_run(tmp_path, raw_dir, reference)
    assert tables == unpartitioned
    # b's two reports and its copy of a's first one (the same bytes, the same document); a's second
    # report was cleaned again
    assert stats["clean"].adopted == 3
    assert stats["extract"].adopted == 2  # a's two reports; b's were extracted again


def test_dagster_partitions_materialised_separately_give_the_marts_of_one_run(
    tmp_path: Path, raw_dir: Path, dbt_manifest: Path
) -> None:
    from dagster import DagsterInstance, materialize

    from pipelines.assets.partitions import RAW_SOURCES, source_partition
    from pipelines.checks import ALL_CHECKS
    from pipelines.core.warehouse import describe_warehouse
    from pipelines.definitions import ALL_ASSETS, resources
    from pipelines.resources import FupinSettings

    def marts(warehouse: Path) -> dict[str, list[tuple]]:
        """Every table and view of the published file's main schema, without the build times."""
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            tables = {}
            for table in [t for s, t, _ in describe_warehouse(warehouse) if s == "main"]:
                columns = [
                    f'"{name}"'
                    for name, kind, *_ in con.execute(f"DESCRIBE main.{table}").fetchall()
                    if not kind.startswith("TIMESTAMP")
                ]
                tables[table] = con.execute(
                    f"SELECT {', '.join(columns)} FROM main.{table} ORDER BY ALL"
                ).fetchall()
            return tables
        finally:
            con.close()

    whole = FupinSettings(raw_dir=str(raw_dir), warehouse=str(tmp_path / "whole" / "fupin.duckdb"))
    assert materialize([*ALL_ASSETS, *ALL_CHECKS], resources=resources(whole)).success

    split = FupinSettings(raw_dir=str(raw_dir), warehouse=str(tmp_path / "split" / "fupin.duckdb"))
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(RAW_SOURCES.name, ["a", "b"])
    for source in ("a", "b"):  # two runs, as two machines would do them
        result = materialize(
            [source_partition], partition_key=source, instance=instance, resources=resources(split)
        )
        assert result.success
    result = materialize([*ALL_ASSETS, *ALL_CHECKS], instance=instance, resources=resources(split))
    assert result.success
    cleaned = result.asset_materializations_for_node("clean_documents")
    adopted = {m.asset_key.to_user_string(): m.metadata.get("run_adopted") for m in cleaned}
    assert adopted["cleaned_documents"].value == 4  # a's and b's reports; the top-level files cleaned here

    assert marts(Path(split.warehouse)) == marts(Path(whole.warehouse))


def test_sources_sensor_keeps_a_partition_per_source_and_requests_changed_ones(tmp_path: Path) -> None:
    from dagster import (
        AddDynamicPartitionsRequest,
        DagsterInstance,
        SensorResult,
        SkipReason,
        build_sensor_context,
    )

    from pipelines.resources import FupinSettings
    from pipelines.sensors import raw_sources_sensor

    raw_dir = make_sourced_raw_dir(tmp_path / "raw")
    settings = FupinSettings(raw_dir=str(raw_dir), warehouse=str(tmp_path / "wh" / "fupin.duckdb"))
    instance = DagsterInstance.ephemeral()

    def tick(cursor: str | None):
        context = build_sensor_context(cursor=cursor, instance=instance, resources={"settings": settings})
        result = raw_sources_sensor(context)
        if isinstance(result, SensorResult):  # what the daemon does with the requests
            for request in result.dynamic_partitions_requests:
                if isinstance(request, AddDynamicPartitionsRequest):
                    instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
                else:
                    for key in request.partition_keys:
                        instance.delete_dynamic_partition(request.partitions_def_name, key)
        return result, context.cursor

    first, cursor = tick(None)
    assert sorted(r.partition_key for r in first.run_requests) == [".", "a", "b"]
    assert instance.get_dynamic_partitions("raw_sources") == [".", "a", "b"]

    unchanged, cursor = tick(cursor)
    assert isinstance(unchanged, SkipReason)

    (raw_dir / "a" / "new_report.txt").write_bytes(REPORTS[4].read_bytes())
    shutil.rmtree(raw_dir / "b")
    (raw_dir / "c").mkdir()
    shutil.copy2(REPORTS[3], raw_dir / "c" / REPORTS[3].name)
    changed, cursor = tick(cursor)
    assert sorted(r.partition_key for r in changed.run_requests) == ["a", "c"]
    assert sorted(instance.get_dynamic_partitions("raw_sources")) == [".", "a", "c"]


def test_a_damaged_partition_output_is_skipped_and_its_documents_worked_on(
    tmp_path: Path, raw_dir: Path, reference: dict, unpartitioned: dict, caplog: pytest.LogCaptureFixture
) -> None:
    paths = WarehousePaths.from_published(tmp_path / "fupin.duckdb")
    build(paths, raw_dir, reference, "a")
    build(paths, raw_dir, reference, "b")
    partitions.partition_paths(paths, "b").work.write_bytes(b"not a database at all" * 100)
    stats, tables = adopting_run(tmp_path, raw_dir, reference)
    assert tables == unpartitioned
    assert (stats["clean"].adopted, stats["extract"].adopted) == (2, 2)  # a's; b's cleaned here
    assert "dir-b.work.duckdb cannot be read" in caplog.text
