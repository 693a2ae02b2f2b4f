"""What a dbt build has to redo: only the models and tests whose inputs changed since the last build.

A run that adds one report rewrites a few raw tables (cleaned documents, facts, mentions); the
metric catalog and the gazetteer are as they were, so dim_metric, dim_year and their tests would
only compute what the warehouse already holds. dbt's own `state:modified` selection compares code,
not data. This compares both, from the working file itself:

- a fingerprint of each raw table a model or test reads (row count and the sum of every row's hash:
  the same rows in any order give the same sum, any changed value changes it; a table of more than
  FINGERPRINT_MAX_ROWS rows is not scanned and counts as changed), and
- the code version (the inputs version of `pipelines/core/uptodate.py`: pipelines/, schemas/,
  dbt_project/, the packages and sources.yaml).

Both are recorded in the working file when a build succeeds and forgotten when one starts, so a
failed or killed build is followed by a full one. With a record that matches the code and names
every source, a build skips:

- tables none of whose upstream sources changed (they hold what a rebuild would write);
- views, whichever source changed (a view is a stored query: it reads the new rows by itself);
- tests none of whose upstream sources changed; every test over a changed source still runs.

Anything else (no record, other code, a model's relation missing) builds everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from pipelines.core.warehouse import STATE_SCHEMA

BUILD_INPUTS_TABLE = f"{STATE_SCHEMA}.dbt_build_inputs"
CODE_INPUT = "code"  # the row of the record that holds the code version; the others are sources
UNCHANGED_METADATA = "fupin/unchanged"  # Dagster metadata of a model reported current, not rebuilt
# Fingerprinting scans a table: one of more rows than this is not scanned but taken as changed. The
# large tables (documents' texts, facts, mentions) change with every report anyway; the small ones
# (catalog, gazetteer, rejections, copies) are where a build finds something to skip. At 100,000
# reports, scanning the large ones took ~4 s, as long as what skipping saves.
FINGERPRINT_MAX_ROWS = 5_000
NOT_FINGERPRINTED = "too large to fingerprint"


@dataclass(frozen=True, slots=True)
class BuildPlan:
    """The models and tests a build skips (dbt names, for --exclude), the sources that changed, and
    why the build skips nothing, when it does not."""

    skipped_models: tuple[str, ...] = ()
    skipped_tests: tuple[str, ...] = ()
    changed_sources: tuple[str, ...] = ()
    full_build_reason: str | None = None

    @property
    def excluded(self) -> tuple[str, ...]:
        return self.skipped_models + self.skipped_tests


def relation_of(node: Mapping[str, Any]) -> str:
    """The "schema"."name" of a model or source of the manifest."""
    return f'"{node["schema"]}"."{node.get("identifier") or node.get("alias") or node["name"]}"'


def source_relations(manifest: Mapping[str, Any]) -> dict[str, str]:
    """unique_id -> "schema"."table" of every source some model or test reads."""
    read = {dep for node in manifest["nodes"].values() for dep in node.get("depends_on", {}).get("nodes", [])}
    return {uid: relation_of(source) for uid, source in manifest["sources"].items() if uid in read}


def _models(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}


def existing_relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The "schema"."name" of every table and view of the file."""
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal"
    ).fetchall()
    return {f'"{schema}"."{name}"' for schema, name in rows}


def _estimated_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = con.execute(
        "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
        "WHERE database_name = current_database()"
    ).fetchall()
    return {f'"{schema}"."{name}"': size for schema, name, size in rows}


def fingerprint_sources(
    con: duckdb.DuckDBPyConnection, relations: Mapping[str, str], max_rows: int = FINGERPRINT_MAX_ROWS
) -> dict[str, str]:
    """unique_id -> "<rows>:<sum of the rows' hashes>" of each source; "absent" when it does not
    exist, NOT_FINGERPRINTED when it has more than max_rows rows (taken as changed by every build)."""
    existing = existing_relations(con)
    sizes = _estimated_rows(con)
    fingerprints = {uid: "absent" for uid, relation in relations.items() if relation not in existing}
    fingerprints |= {
        uid: NOT_FINGERPRINTED for uid, relation in relations.items() if sizes.get(relation, 0) > max_rows
    }
    present = [(uid, relation) for uid, relation in relations.items() if uid not in fingerprints]
    if present:
        # One statement, so DuckDB scans the tables on all its threads at once.
        query = " UNION ALL ".join(
            f"SELECT ? AS source, count(*) AS n, coalesce(sum(hash(t)), 0) AS h FROM {relation} AS t"
            for _, relation in present
        )
        for uid, rows, total in con.execute(query, [uid for uid, _ in present]).fetchall():
            fingerprints[uid] = f"{rows}:{total}"
    return fingerprints


def recorded_inputs(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The inputs of the last build that succeeded in this file ({} when there is none)."""
    return dict(con.execute(f"SELECT input, fingerprint FROM {BUILD_INPUTS_TABLE}").fetchall())


def forget_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Before a build: until it succeeds, what the file holds is not known to match any inputs."""
    con.execute(f"DELETE FROM {BUILD_INPUTS_TABLE}")


def record_inputs(con: duckdb.DuckDBPyConnection, inputs: Mapping[str, str]) -> None:
    """After a build succeeded: the inputs it was built from."""
    con.execute("BEGIN")
    con.execute(f"DELETE FROM {BUILD_INPUTS_TABLE}")
    con.executemany(f"INSERT INTO {BUILD_INPUTS_TABLE} VALUES (?, ?)", list(inputs.items()))
    con.execute("COMMIT")


def plan_build(
    manifest: Mapping[str, Any],
    current: Mapping[str, str],
    recorded: Mapping[str, str],
    existing_relations: set[str],
) -> BuildPlan:
    """What a build with inputs `current` skips, given the inputs the file was last built from.

    `current` and `recorded` map each source's unique_id to its fingerprint and CODE_INPUT to the
    code version; `existing_relations` are the "schema"."name" relations the working file holds.
    """
    models = _models(manifest)
    if not recorded:
        return BuildPlan(full_build_reason="no successful build recorded in this file")
    if recorded.get(CODE_INPUT) != current.get(CODE_INPUT):
        return BuildPlan(full_build_reason="the code changed since the last build")
    if set(recorded) != set(current):
        return BuildPlan(full_build_reason="the models read other sources than at the last build")
    missing = sorted(node["name"] for node in models.values() if relation_of(node) not in existing_relations)
    if missing:
        return BuildPlan(full_build_reason=f"{', '.join(missing)} missing from the working file")
    changed = {
        uid
        for uid in current
        if uid != CODE_INPUT and (current[uid] != recorded[uid] or current[uid] == NOT_FINGERPRINTED)
    }
    affected = _downstream(models, changed)
    skipped = {
        uid
        for uid, node in manifest["nodes"].items()
        if (
            node["resource_type"] == "model"
            and (uid not in affected or node["config"].get("materialized") == "view")
        )
        or (node["resource_type"] == "test" and not set(node["depends_on"]["nodes"]) & (affected | changed))
    }
    kept_names = {node["name"] for uid, node in manifest["nodes"].items() if uid not in skipped}
    if any(manifest["nodes"][uid]["name"] in kept_names for uid in skipped):
        # dbt excludes by name: a skipped node named like a kept one would take the kept one along.
        return BuildPlan(full_build_reason="a skipped node has the name of a node that must run")

    def names(kind: str) -> tuple[str, ...]:
        return tuple(sorted(manifest["nodes"][uid]["name"] for uid in skipped if uid.startswith(f"{kind}.")))

    return BuildPlan(
        skipped_models=names("model"),
        skipped_tests=names("test"),
        changed_sources=tuple(sorted(manifest["sources"][uid]["name"] for uid in changed)),
    )


def _downstream(models: Mapping[str, Mapping[str, Any]], changed: set[str]) -> set[str]:
    """The models that read a changed source, directly or through other models."""
    affected: set[str] = set()
    grew = True
    while grew:
        grew = False
        for uid, node in models.items():
            if uid not in affected and set(node["depends_on"]["nodes"]) & (affected | changed):
                affected.add(uid)
                grew = True
    return affected
