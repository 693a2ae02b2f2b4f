"""Helpers shared by the asset modules: table specs, previews and run metadata."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import duckdb
from dagster import AssetSpec, MetadataValue, TableColumn, TableSchema

from pipelines.core.runlock import claim_run_step
from pipelines.core.stages import StageStats
from pipelines.core.tables import RAW_SCHEMA, RAW_TABLES
from pipelines.core.warehouse import WarehousePaths

if TYPE_CHECKING:
    from pipelines.resources import FupinSettings

PREVIEW_ROWS = 5
PREVIEW_CELL = 60  # characters; raw_text and clean_text would drown the preview


def raw_table_spec(
    table: str, *, group: str, description: str, deps: Sequence[str] = (), kinds: Sequence[str] = ("duckdb",)
) -> AssetSpec:
    """The spec of a raw-schema table asset: key = bare table name (as the dbt sources declare it)."""
    schema = TableSchema(columns=[TableColumn(name, kind) for name, kind in RAW_TABLES[table].items()])
    return AssetSpec(
        key=table,
        group_name=group,
        description=description,
        deps=list(deps),
        kinds=set(kinds),
        metadata={"dagster/column_schema": schema, "dagster/table_name": f"{RAW_SCHEMA}.{table}"},
    )


@contextlib.contextmanager
def warehouse_step(context: Any, settings: FupinSettings) -> Iterator[WarehousePaths]:
    """Run a step while its run holds the warehouse (pipelines/core/runlock.py); yields its paths."""
    paths = settings.warehouse_paths()

    def run_finished(run_id: str) -> bool | None:
        run = context.instance.get_run_by_id(run_id)
        return None if run is None else run.is_finished

    run_id = context.run.run_id  # asset and asset-check contexts both have .run
    with claim_run_step(paths, run_id, raw_dir=str(settings.raw_path()), run_finished=run_finished):
        yield paths


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= PREVIEW_CELL else text[: PREVIEW_CELL - 1] + "…"


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return "_(no rows)_"
    head = "| " + " | ".join(columns) + " |"
    rule = "| " + " | ".join("---" for _ in columns) + " |"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def preview(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    schema: str = RAW_SCHEMA,
    order_by: str | None = None,
    limit: int = PREVIEW_ROWS,
) -> MetadataValue:
    """The first rows of a table as a markdown metadata value."""
    order = f" ORDER BY {order_by}" if order_by else ""
    cursor = con.execute(f"SELECT * FROM {schema}.{table}{order} LIMIT {int(limit)}")
    columns = [d[0] for d in cursor.description]
    return MetadataValue.md(markdown_table(columns, cursor.fetchall()))


def row_count(
    con: duckdb.DuckDBPyConnection, table: str, *, schema: str = RAW_SCHEMA, where: str = ""
) -> int:
    clause = f" WHERE {where}" if where else ""
    return int(con.execute(f"SELECT count(*) FROM {schema}.{table}{clause}").fetchone()[0])


def table_metadata(
    con: duckdb.DuckDBPyConnection,
    table: str,
    paths: WarehousePaths,
    *,
    stats: StageStats | None = None,
    order_by: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Metadata every raw-table asset reports: row count, this run's stage counts, a preview, where."""
    metadata: dict[str, Any] = {
        "dagster/row_count": row_count(con, table),
        "preview": preview(con, table, order_by=order_by),
        "warehouse_path": MetadataValue.path(str(paths.work)),
        "published_path": MetadataValue.path(str(paths.published)),
    }
    if stats is not None:
        metadata.update({f"run_{key}": value for key, value in stats.as_dict().items()})
    metadata.update(extra or {})
    return metadata
