"""Dagster resources: where the raw files and the warehouse are, and the dbt CLI."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource, DbtProject
from pydantic import Field

from pipelines.core.warehouse import DEFAULT_WAREHOUSE, WarehousePaths

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

RAW_DIR_ENV = "FUPIN_RAW_DIR"
WAREHOUSE_ENV = "FUPIN_WAREHOUSE"
DBT_DATABASE_ENV = "FUPIN_DBT_DATABASE"
DEFAULT_RAW_DIR = "raw"  # relative to the project root


def resolve_path(value: str | os.PathLike[str]) -> Path:
    """Relative paths are relative to the project root, so runs do not depend on the CWD."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


class FupinSettings(ConfigurableResource):
    """Where the pipeline reads raw files from and where the warehouse lives.

    Unset fields fall back to the environment (FUPIN_RAW_DIR, FUPIN_WAREHOUSE) at run time, then
    to the defaults; relative paths are resolved against the project root.
    """

    raw_dir: str | None = Field(default=None, description="Directory of raw report files (default: raw).")
    warehouse: str | None = Field(
        default=None, description="Published DuckDB file (default: warehouse/fupin.duckdb)."
    )

    def raw_path(self) -> Path:
        return resolve_path(self.raw_dir or os.environ.get(RAW_DIR_ENV) or DEFAULT_RAW_DIR)

    def warehouse_paths(self) -> WarehousePaths:
        published = self.warehouse or os.environ.get(WAREHOUSE_ENV) or str(DEFAULT_WAREHOUSE)
        return WarehousePaths.from_published(resolve_path(published))


def _put_dbt_on_path() -> None:
    """dagster-dbt's own preparer (prepare_if_dev under `dagster dev`) runs plain `dbt`; when the venv
    is not activated that is only found if the venv's bin directory is on PATH."""
    bin_dir = os.fspath(Path(sys.executable).parent)
    if shutil.which("dbt") is None and (Path(bin_dir) / "dbt").exists():
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


_put_dbt_on_path()

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt next to this Python (the venv's), so runs work without an activated venv."""
    beside = Path(sys.executable).parent / "dbt"
    return os.fspath(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=dbt_project, profiles_dir=os.fspath(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
    )


def _manifest_is_current() -> bool:
    """The manifest is newer than every source file of the dbt project (and the reference data)."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return False
    skip = {"target", "logs", "dbt_packages"}
    sources = [
        p
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.is_file() and not skip.intersection(p.relative_to(DBT_PROJECT_DIR).parts)
    ]
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    return manifest.stat().st_mtime > newest


def prepare_dbt_manifest(force: bool = False) -> Path:
    """Run `dbt parse` so target/manifest.json matches the dbt project; returns its path.

    Skipped when the manifest is newer than every file of the dbt project (parsing takes ~15 s).
    """
    if not force and _manifest_is_current():
        return dbt_project.manifest_path
    dbt_resource().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    if not dbt_project.manifest_path.exists():
        raise RuntimeError(f"dbt parse did not write {dbt_project.manifest_path}")
    return dbt_project.manifest_path
