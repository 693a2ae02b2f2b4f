"""What a dbt build skips: the plan from a manifest and two records, and the sources' fingerprints
in a real DuckDB file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.core.dbt_inputs import (
    CODE_INPUT,
    NOT_FINGERPRINTED,
    fingerprint_sources,
    forget_inputs,
    plan_build,
    record_inputs,
    recorded_inputs,
    source_relations,
)
from pipelines.core.warehouse import connect, ensure_raw_schema


def _node(kind: str, name: str, deps: list[str], materialized: str = "table") -> dict[str, Any]:
    return {
        "resource_type": kind,
        "name": name,
        "schema": "main",
        "depends_on": {"nodes": deps},
        "config": {"materialized": materialized},
    }


def _manifest() -> dict[str, Any]:
    """Two sources; a view over each; a table over both views, one over one view, one over a table."""
    nodes = {
        "model.p.v_a": _node("model", "v_a", ["source.p.raw.a"], "view"),
        "model.p.v_b": _node("model", "v_b", ["source.p.raw.b"], "view"),
        "model.p.t_ab": _node("model", "t_ab", ["model.p.v_a", "model.p.v_b"]),
        "model.p.t_b": _node("model", "t_b", ["model.p.v_b"]),
        "model.p.t_top": _node("model", "t_top", ["model.p.t_ab"]),
        "test.p.unique_v_a": _node("test", "unique_v_a", ["model.p.v_a"]),
        "test.p.not_null_t_b": _node("test", "not_null_t_b", ["model.p.t_b"]),
        "test.p.rel_t_top_t_b": _node("test", "rel_t_top_t_b", ["model.p.t_top", "model.p.t_b"]),
    }
    sources = {
        "source.p.raw.a": {"name": "a", "schema": "raw", "identifier": "a"},
        "source.p.raw.b": {"name": "b", "schema": "raw", "identifier": "b"},
    }
    return {"nodes": nodes, "sources": sources}


EVERY_RELATION = {f'"main"."{name}"' for name in ("v_a", "v_b", "t_ab", "t_b", "t_top")}
RECORD = {"source.p.raw.a": "3:111", "source.p.raw.b": "5:222", CODE_INPUT: "c1"}


def test_a_changed_source_rebuilds_the_tables_downstream_and_keeps_every_test_over_them() -> None:
    plan = plan_build(_manifest(), {**RECORD, "source.p.raw.a": "4:999"}, RECORD, EVERY_RELATION)
    assert plan.full_build_reason is None
    assert plan.changed_sources == ("a",)
    # t_ab and t_top read a (t_top through t_ab) and are rebuilt; the views are never rebuilt for
    # new rows; t_b reads only b.
    assert plan.skipped_models == ("t_b", "v_a", "v_b")
    # The test of the view over a still runs (its rows changed); so does the one that reads t_top
    # and the unchanged t_b together; the one that reads t_b alone does not.
    assert plan.skipped_tests == ("not_null_t_b",)


def test_nothing_changed_skips_every_model_and_test() -> None:
    plan = plan_build(_manifest(), dict(RECORD), RECORD, EVERY_RELATION)
    assert plan.full_build_reason is None
    assert set(plan.skipped_models) == {"v_a", "v_b", "t_ab", "t_b", "t_top"}
    assert len(plan.skipped_tests) == 3


@pytest.mark.parametrize(
    ("recorded", "relations", "reason"),
    [
        ({}, EVERY_RELATION, "no successful build"),
        ({**RECORD, CODE_INPUT: "c0"}, EVERY_RELATION, "the code changed"),
        ({CODE_INPUT: "c1", "source.p.raw.a": "3:111"}, EVERY_RELATION, "other sources"),
        (RECORD, EVERY_RELATION - {'"main"."t_top"'}, "t_top missing"),
    ],
)
def test_anything_unknown_builds_everything(
    recorded: dict[str, str], relations: set[str], reason: str
) -> None:
    plan = plan_build(_manifest(), dict(RECORD), recorded, relations)
    assert reason in (plan.full_build_reason or "")
    assert plan.excluded == ()


def test_a_source_read_only_by_a_test_is_fingerprinted_and_its_test_runs_when_it_changes() -> None:
    manifest = _manifest()
    manifest["sources"]["source.p.raw.c"] = {"name": "c", "schema": "raw", "identifier": "c"}
    manifest["nodes"]["test.p.not_null_c"] = _node("test", "not_null_c", ["source.p.raw.c"])
    assert source_relations(manifest)["source.p.raw.c"] == '"raw"."c"'
    recorded = {**RECORD, "source.p.raw.c": "1:1"}
    plan = plan_build(manifest, {**recorded, "source.p.raw.c": "2:2"}, recorded, EVERY_RELATION)
    assert "not_null_c" not in plan.skipped_tests and plan.changed_sources == ("c",)


def test_a_skipped_node_named_like_a_node_that_runs_builds_everything() -> None:
    # dbt excludes by name: excluding the test would take the table of the same name with it.
    manifest = _manifest()
    manifest["nodes"]["test.p.t_top"] = _node("test", "t_top", ["model.p.t_b"])
    plan = plan_build(manifest, {**RECORD, "source.p.raw.a": "4:999"}, RECORD, EVERY_RELATION)
    assert plan.full_build_reason is not None and plan.excluded == ()


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "work.duckdb")
    ensure_raw_schema(con)
    con.execute("CREATE TABLE raw.t (id INTEGER, word VARCHAR)")
    return con


def _fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    return fingerprint_sources(con, {"s": '"raw"."t"'})["s"]


def test_the_fingerprint_is_the_rows_whatever_their_order(con: duckdb.DuckDBPyConnection) -> None:
    assert _fingerprint(con) == "0:0"
    con.execute("INSERT INTO raw.t VALUES (1, '县'), (2, '乡')")
    first = _fingerprint(con)
    con.execute("DELETE FROM raw.t")
    con.execute("INSERT INTO raw.t VALUES (2, '乡'), (1, '县')")
    assert _fingerprint(con) == first


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE raw.t SET word = '镇' WHERE id = 2",  # one value
        "UPDATE raw.t SET word = NULL WHERE id = 2",  # a value gone
        "INSERT INTO raw.t VALUES (2, '乡')",  # a row twice
        "DELETE FROM raw.t WHERE id = 1",
    ],
)
def test_any_change_of_the_rows_changes_the_fingerprint(con: duckdb.DuckDBPyConnection, change: str) -> None:
    con.execute("INSERT INTO raw.t VALUES (1, '县'), (2, '乡')")
    before = _fingerprint(con)
    con.execute(change)
    assert _fingerprint(con) != before


def test_a_missing_table_is_absent(con: duckdb.DuckDBPyConnection) -> None:
    found = fingerprint_sources(con, {"s": '"raw"."t"', "gone": '"raw"."never_made"'})
    assert found["gone"] == "absent" and found["s"] == "0:0"


def test_the_record_is_written_whole_and_forgotten_whole(con: duckdb.DuckDBPyConnection) -> None:
    assert recorded_inputs(con) == {}
    record_inputs(con, RECORD)
    assert recorded_inputs(con) == RECORD
    record_inputs(con, {CODE_INPUT: "c2"})
    assert recorded_inputs(con) == {CODE_INPUT: "c2"}
    forget_inputs(con)
    assert recorded_inputs(con) == {}


def test_a_table_too_large_to_scan_is_not_fingerprinted(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("INSERT INTO raw.t VALUES (1, '县'), (2, '乡')")
    assert fingerprint_sources(con, {"s": '"raw"."t"'}, max_rows=1)["s"] == NOT_FINGERPRINTED
    assert fingerprint_sources(con, {"s": '"raw"."t"'}, max_rows=2)["s"].startswith("2:")


def test_a_source_not_fingerprinted_counts_as_changed_at_every_build() -> None:
    recorded = {**RECORD, "source.p.raw.a": NOT_FINGERPRINTED}
    plan = plan_build(_manifest(), dict(recorded), recorded, EVERY_RELATION)
    assert plan.changed_sources == ("a",)
    assert "t_ab" not in plan.skipped_models and "unique_v_a" not in plan.skipped_tests
