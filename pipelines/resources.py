"""Dagster resources: where the raw files and the warehouse are, and the dbt CLI."""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson
from dagster import ConfigurableResource
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject
from dagster_dbt.asset_utils import (
    extract_runtime_selection_from_args,
    get_updated_cli_invocation_params_for_context,
)
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from dagster_dbt.dbt_manifest import validate_manifest
from packaging import version
from pydantic import Field

from pipelines.core.warehouse import DEFAULT_MAX_SHRINK_SHARE, DEFAULT_WAREHOUSE, ShrinkLimit, WarehousePaths
from pipelines.dbt_child import PARENT_ENV as DBT_PARENT_ENV
from pipelines.settings import (  # noqa: F401  (re-exported: the Dagster side imports them from here)
    ALLOW_SHRINK_ENV,
    DBT_DATABASE_ENV,
    DBT_PROJECT_DIR,
    DEFAULT_RAW_DIR,
    MAX_SHRINK_ENV,
    PROJECT_ROOT,
    RAW_DIR_ENV,
    WAREHOUSE_ENV,
    dbt_executable,
    parse_share,
    resolve_path,
)


class FupinSettings(ConfigurableResource):
    """Where the pipeline reads raw files from and where the warehouse lives.

    Unset fields fall back to the environment (FUPIN_RAW_DIR, FUPIN_WAREHOUSE) at run time, then
    to the defaults; relative paths are resolved against the project root.
    """

    raw_dir: str | None = Field(default=None, description="Directory of raw report files (default: raw).")
    warehouse: str | None = Field(
        default=None, description="Published DuckDB file (default: warehouse/fupin.duckdb)."
    )

    allow_shrink: bool | None = Field(
        default=None,
        description="Publish even when the run removes more than max_shrink of the published documents.",
    )
    max_shrink: float | None = Field(
        default=None,
        description=(
            f"Share of the published documents a run may remove (default {DEFAULT_MAX_SHRINK_SHARE})."
        ),
    )

    def raw_path(self) -> Path:
        return resolve_path(self.raw_dir or os.environ.get(RAW_DIR_ENV) or DEFAULT_RAW_DIR)

    def warehouse_paths(self) -> WarehousePaths:
        published = self.warehouse or os.environ.get(WAREHOUSE_ENV) or str(DEFAULT_WAREHOUSE)
        return WarehousePaths.from_published(resolve_path(published))

    def shrink_limit(self) -> ShrinkLimit:
        allowed = self.allow_shrink
        if allowed is None:
            allowed = os.environ.get(ALLOW_SHRINK_ENV, "").strip().lower() in ("1", "true", "yes")
        share = self.max_shrink
        if share is None:
            share = parse_share(os.environ.get(MAX_SHRINK_ENV) or DEFAULT_MAX_SHRINK_SHARE, MAX_SHRINK_ENV)
        return ShrinkLimit(max_share=share, allowed=allowed)


def _put_dbt_on_path() -> None:
    """dagster-dbt's own preparer (prepare_if_dev under `dagster dev`) runs plain `dbt`; when the venv
    is not activated that is only found if the venv's bin directory is on PATH."""
    bin_dir = os.fspath(Path(sys.executable).parent)
    if shutil.which("dbt") is None and (Path(bin_dir) / "dbt").exists():
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


_put_dbt_on_path()

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_child_executable() -> str:
    """dbt started through `fupin-dbt` (pipelines/dbt_child.py), which dies with the process that
    started it: a run killed mid-build leaves no orphan dbt writing the working file."""
    wrapper = Path(sys.executable).parent / "fupin-dbt"
    return os.fspath(wrapper) if wrapper.exists() else dbt_executable()


class FupinDbtCliResource(DbtCliResource):
    """The dbt CLI without two start-up costs dagster-dbt pays on every invocation (~7 s a build here).

    - The dbt version comes from the installed dbt-core package, not from running `dbt --version`,
      which also asks PyPI for the newest release (2-3 s here, more where PyPI is slow to answer).
    - No in-process dbt adapter: dagster-dbt builds one (loading the profile, project and all macros)
      only to fetch row counts and column metadata, which these assets do not ask for.

    Both override private members of dagster-dbt 0.29; tests/test_dbt_resource.py fails when an
    upgrade renames them, so the speed-up cannot silently disappear.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None

    def cli(self, args: Sequence[str], **kwargs: Any) -> Any:  # type: ignore[override]
        if list(args[:1]) == ["build"]:
            return self._build_in_process(args, **kwargs)
        # fupin-dbt checks it was started by this process, which may die before dbt is running.
        os.environ[DBT_PARENT_ENV] = str(os.getpid())
        return super().cli(args, **kwargs)

    def _build_in_process(
        self,
        args: Sequence[str],
        *,
        raise_on_error: bool = True,
        manifest: Any = None,
        dagster_dbt_translator: DagsterDbtTranslator | None = None,
        context: Any = None,
        target_path: Path | None = None,
    ) -> DbtCliInvocation:
        """`dbt build` through dbt's own dbtRunner in this process, not a dbt process per run: the
        start-up (Python, dbt's imports, its adapter) is paid once per process instead of every run,
        and dbt cannot outlive the run. dagster-dbt turns its events into Dagster events as it does
        a subprocess's JSON log lines (the same dictionaries), so what the run reports is unchanged.
        """
        cleaned, selects, excludes = extract_runtime_selection_from_args(args)
        params = get_updated_cli_invocation_params_for_context(
            context=context,
            manifest=validate_manifest(manifest) if manifest else {},
            dagster_dbt_translator=dagster_dbt_translator or DagsterDbtTranslator(),
            runtime_selects=selects,
            runtime_excludes=excludes,
        )
        target = Path(target_path or self._get_unique_target_path(context=context))
        project_dir = Path(params.dbt_project.project_dir if params.dbt_project else self.project_dir)
        target = target if target.is_absolute() else project_dir / target
        full_args = [
            *self.global_config_flags,
            *cleaned,
            *params.selection_args,
            *(["--indirect-selection", params.indirect_selection] if params.indirect_selection else []),
            *(["--profiles-dir", self.profiles_dir] if self.profiles_dir else []),
            "--project-dir",
            os.fspath(project_dir),
            "--target-path",
            os.fspath(target),
            "--log-path",
            os.fspath(target),
            "--no-send-anonymous-usage-stats",
        ]
        process = InProcessDbt.run(full_args, project_dir)
        return DbtCliInvocation(
            process=process,  # type: ignore[arg-type]
            manifest=params.manifest,
            dagster_dbt_translator=params.dagster_dbt_translator,
            project_dir=project_dir,
            target_path=target,
            raise_on_error=raise_on_error,
            context=context,
            adapter=None,
            cli_version=self._cli_version,
            project=params.dbt_project,
        )


def _close_dbt_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in the process after a build (a class
    attribute of its connection manager): the file is then free for this process's read-only
    connections and for other processes, as it is when a dbt process exits."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
        if environment is not None:
            environment.close()


class InProcessDbt:
    """A finished in-process dbt invocation, shaped like the subprocess dagster-dbt reads: its
    stdout is dbt's events as JSON lines, its exit status dbt's success."""

    def __init__(self, args: list[str], lines: list[bytes], returncode: int) -> None:
        self.args = ["dbt", *args]
        self.stdout = io.BytesIO(b"\n".join(lines))
        self.returncode = returncode

    @classmethod
    def run(cls, args: list[str], project_dir: Path) -> InProcessDbt:
        from dbt.cli.main import dbtRunner
        from dbt_common.events.functions import msg_to_dict

        lines: list[bytes] = []
        runner = dbtRunner(callbacks=[lambda msg: lines.append(orjson.dumps(msg_to_dict(msg)))])
        with contextlib.chdir(project_dir):
            try:
                result = runner.invoke(args)
            finally:
                _close_dbt_duckdb()
        if isinstance(result.exception, KeyboardInterrupt):
            raise result.exception  # Ctrl-C or SIGTERM: the run stops, as it did with a dbt process
        if result.exception is not None and not lines:
            raise result.exception
        return cls(args, lines, 0 if result.success else 1)

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode

    def poll(self) -> int:
        return self.returncode

    def send_signal(self, signum: int) -> None:
        pass  # already finished


def dbt_resource() -> DbtCliResource:
    return FupinDbtCliResource(
        project_dir=dbt_project,
        profiles_dir=os.fspath(DBT_PROJECT_DIR),
        dbt_executable=dbt_child_executable(),
    )


def _dbt_source_files() -> Iterator[Path]:
    """Every file of the dbt project, without walking the build output (target/ grows with runs)."""
    skip = {"target", "logs", "dbt_packages"}
    for root, dirs, files in os.walk(DBT_PROJECT_DIR):
        if Path(root) == DBT_PROJECT_DIR:
            dirs[:] = [d for d in dirs if d not in skip]
        yield from (Path(root) / name for name in files)


def manifest_loads(path: Path | None = None) -> bool:
    """The manifest is a whole JSON document with nodes (a crash while dbt wrote it leaves half)."""
    path = path or dbt_project.manifest_path
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and isinstance(manifest.get("nodes"), dict)


def _manifest_is_current() -> bool:
    """The manifest loads and is newer than every source file of the dbt project."""
    manifest = dbt_project.manifest_path
    if not manifest.exists() or not manifest_loads(manifest):
        return False
    newest = max((p.stat().st_mtime for p in _dbt_source_files()), default=0.0)
    return manifest.stat().st_mtime > newest


def _remove_abandoned_parse_dirs(target: Path, older_than: float = 3600) -> None:
    """Parse dirs a killed `fupin run` left (a running parse's dir is young: left alone)."""
    for leftover in target.glob(".parse-*"):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime > older_than:
                shutil.rmtree(leftover, ignore_errors=True)


# What `dbt parse` leaves that later commands read; the manifest goes last, as the sign of a whole set.
_PARSE_ARTEFACTS = ("partial_parse.msgpack", "semantic_manifest.json", "perf_info.json", "manifest.json")


def prepare_dbt_manifest(force: bool = False) -> Path:
    """Run `dbt parse` so target/manifest.json matches the dbt project; returns its path.

    Skipped when the manifest loads and is newer than every file of the dbt project (parsing takes
    ~15 s). dbt parses into a directory of its own, whose files then replace the old ones by rename:
    a run killed meanwhile leaves the previous manifest, never half of one.
    """
    if not force and _manifest_is_current():
        return dbt_project.manifest_path
    target = dbt_project.manifest_path.parent
    target.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_parse_dirs(target)
    staging = Path(tempfile.mkdtemp(prefix=".parse-", dir=target))
    try:
        previous = target / "partial_parse.msgpack"
        if previous.exists() and manifest_loads():
            shutil.copy2(previous, staging / previous.name)  # keeps parsing partial, so fast
        dbt_resource().cli(["parse", "--quiet"], target_path=staging).wait()
        if not manifest_loads(staging / "manifest.json"):
            raise RuntimeError(f"dbt parse did not write a readable manifest in {staging}")
        for name in _PARSE_ARTEFACTS:
            if (staging / name).exists():
                os.replace(staging / name, target / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dbt_project.manifest_path
