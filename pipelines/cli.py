"""The `fupin` command: run the pipeline, export the warehouse, build and serve the dbt docs.

    fupin run    [--raw-dir DIR] [--warehouse FILE] [--allow-shrink] [--max-shrink SHARE] [--force]
    fupin export [--warehouse FILE] [--format csv|parquet|json] [--output PATH] [--table ...]
    fupin docs   [--warehouse FILE] [--port 8080] [--no-serve]
    fupin report [--warehouse FILE] [--output FILE.html]
    fupin evaluate GOLD.jsonl [--raw-dir DIR] [--metrics a,b] [--sources CSV] [--verbose]

Paths given on the command line are relative to the current directory; the defaults (raw/,
warehouse/fupin.duckdb, or FUPIN_RAW_DIR / FUPIN_WAREHOUSE) are relative to the project root.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from pipelines.core.dbt_inputs import UNCHANGED_METADATA
from pipelines.core.filestats import REREAD_ENV
from pipelines.core.runlock import hold_run
from pipelines.core.uptodate import INPUTS_VERSION_ENV, RunNeed, inputs_version, run_need
from pipelines.core.warehouse import (
    DEFAULT_WAREHOUSE,
    WarehouseError,
    WarehousePaths,
    check_warehouse_files,
    check_writable,
    connect,
    probe_write,
    recover_work_file,
    wal_path,
)
from pipelines.settings import (
    ALLOW_SHRINK_ENV,
    DBT_DATABASE_ENV,
    DBT_PROJECT_DIR,
    DEFAULT_RAW_DIR,
    MAX_SHRINK_ENV,
    RAW_DIR_ENV,
    WAREHOUSE_ENV,
    dbt_executable,
    parse_share,
    resolve_path,
)


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


EXPORT_TABLES = {
    "observations": "rpt_metric_observations",
    "unclassified": "rpt_unclassified_mentions",
    "rejections": "rpt_rejections",
}
EXPORT_FORMATS = {
    "csv": "FORMAT csv, HEADER true",
    "parquet": "FORMAT parquet",
    "json": "FORMAT json",  # one JSON object per line
}
# The format an --output name implies when --format is not given.
EXPORT_SUFFIXES = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}


# --- paths ------------------------------------------------------------------------------------------


def _cli_path(value: str | None, env: str, default: str | os.PathLike[str]) -> Path:
    """A path typed by the user is relative to the CWD; the env var and default to the project."""
    if value:
        return Path(value).expanduser().absolute()
    return resolve_path(os.environ.get(env) or default)


def _warehouse(args: argparse.Namespace) -> Path:
    return _cli_path(args.warehouse, WAREHOUSE_ENV, DEFAULT_WAREHOUSE)


def _published_warehouse(args: argparse.Namespace) -> Path:
    """The published file a reading command opens: it must exist and be a DuckDB file."""
    warehouse = _warehouse(args)
    if not warehouse.exists():
        raise CliError(f"warehouse {warehouse} does not exist; run `fupin run` first")
    check_warehouse_files([warehouse])
    return warehouse


def _output_file(value: str) -> Path:
    """An --output path that can be written, checked before any work (a real write, not os.access,
    which root always passes)."""
    output = Path(value).expanduser().absolute()
    if output.is_dir():
        raise CliError(f"output {output} is a directory; give a file name inside it")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create directory {output.parent} for {output}: {exc.strerror}") from exc
    try:
        if output.exists():
            with open(output, "r+b"):
                pass
        probe_write(output.parent)
    except OSError as exc:
        raise CliError(f"output {output} is not writable: {exc.strerror}") from exc
    return output


# --- fupin run --------------------------------------------------------------------------------------


class _Progress:
    """Listens to the run's events: prints each finished step, keeps what the summary needs."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.materialized: dict[str, dict[str, Any]] = {}
        self.checks: Counter[str] = Counter()
        self.failed_checks: list[str] = []
        self.failures: list[tuple[str, str]] = []
        self.running: list[str] = []  # steps started and not finished, in start order
        self.finished: list[str] = []  # steps that succeeded
        self.failed: list[str] = []
        self._step_assets: Counter[str] = Counter()
        self._step_unchanged: Counter[str] = Counter()  # models reported current without a rebuild
        self._check_steps: dict[str, str] = {}  # step of a Python asset check -> its outcome

    def __call__(self, entry: Any) -> None:
        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type_value
        step = event.step_key or ""
        if kind == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            key = materialization.asset_key.to_user_string()
            self.materialized[key] = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
            unchanged = self.materialized[key].get(UNCHANGED_METADATA, False)
            (self._step_unchanged if unchanged else self._step_assets)[step] += 1
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            severity = evaluation.severity.value.lower()
            outcome = "passed" if evaluation.passed else f"failed ({severity})"
            self.checks[outcome] += 1
            self._check_steps[step] = outcome
            if not evaluation.passed:
                self.failed_checks.append(f"{evaluation.asset_check_key.to_user_string()}: {severity}")
        elif kind == "STEP_START":
            self.running.append(step)
        elif kind == "STEP_SUCCESS":
            self.finish(step)
            seconds = event.event_specific_data.duration_ms / 1000
            self._print(f"  ok  {step:<28} {self._describe_step(step)} ({seconds:.1f}s)")
        elif kind == "STEP_FAILURE":
            self.finish(step, failed=True)
            message = _error_line(event.event_specific_data.error)
            self.failures.append((step, message))
            self._print(f"  FAILED {step}: {message}")
        elif kind == "STEP_SKIPPED":
            self._print(f"  --  {step:<28} skipped (an upstream step failed)")

    def finish(self, step: str, *, failed: bool = False) -> None:
        if step in self.running:
            self.running.remove(step)
        (self.failed if failed else self.finished).append(step)

    def _describe_step(self, step: str) -> str:
        if step == "dbt_models":
            unchanged = self._step_unchanged[step]
            kept = f" ({unchanged} unchanged since the last build, not rebuilt)" if unchanged else ""
            passed = self.checks["passed"]
            return f"{self._step_assets[step]} dbt models built{kept}, {passed} checks passed so far"
        if step in self._check_steps:
            return f"check {self._check_steps[step]}"
        if step == "scraped_pages":
            meta = self.materialized.get("scraped_pages", {})
            if "note" in meta:
                return str(meta["note"])
            return ", ".join(f"{k} {meta.get(k, 0)}" for k in ("saved", "skipped", "failed")) + " pages"
        parts = []
        for key, meta in self.materialized.items():
            if key in _STEP_ASSETS.get(step, ()):
                rows = meta.get("dagster/row_count")
                parts.append(f"{key} {rows}" if rows is not None else key)
        return ", ".join(parts) or "done"

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


PUBLISH_STEP = "published_warehouse"  # a run that did not finish this step published nothing

# Which assets each step materialises, for the progress lines.
_STEP_ASSETS = {
    "reference_data": ("metric_catalog", "county_gazetteer"),
    "ingest_raw_documents": ("raw_documents", "rejected_documents"),
    "clean_documents": ("cleaned_documents", "duplicate_documents"),
    "extract_facts": ("extracted_facts", "unclassified_mentions"),
    "validate_facts": ("validated_facts", "rejected_facts"),
    "published_warehouse": ("published_warehouse",),
}


def _error_line(error: Any) -> str:
    """The most specific message of a (possibly wrapped) Dagster error, on one line."""
    if getattr(error, "cls_name", None) == "DagsterExecutionInterruptedError":
        return "interrupted"
    while getattr(error, "cause", None) is not None:
        error = error.cause
    message = (getattr(error, "message", None) or str(error)).strip()
    first = message.splitlines()[0] if message else "unknown error"
    return first.removeprefix("dagster._core.errors.").strip()


def _quiet_dagster() -> None:
    warnings.simplefilter("ignore")  # Dagster's beta/preview warnings mean nothing to a CLI user
    logging.getLogger("dagster").setLevel(logging.ERROR)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def cmd_run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    raw_dir = _cli_path(args.raw_dir, RAW_DIR_ENV, DEFAULT_RAW_DIR)
    if not raw_dir.is_dir():
        raise CliError(f"raw dir {raw_dir} does not exist or is not a directory (use --raw-dir)")
    paths = WarehousePaths.from_published(_warehouse(args))
    # The working file is fupin's own, derived state: an unreadable one is moved aside and rebuilt.
    check_warehouse_files([paths.published])
    check_writable(paths)
    _set_shrink_limit(args)
    dagster_home = _dagster_home()
    # The assets read their settings from the environment, also in executor subprocesses.
    os.environ[RAW_DIR_ENV] = os.fspath(raw_dir)
    os.environ[WAREHOUSE_ENV] = os.fspath(paths.published)
    run_id = str(uuid.uuid4())  # what Dagster's make_new_run_id makes, without importing Dagster
    with hold_run(paths, run_id, raw_dir=os.fspath(raw_dir)):  # one run per warehouse, start to end
        # What publishing records: the inputs as this run found them, before any step read them.
        os.environ[INPUTS_VERSION_ENV] = inputs_version(raw_dir)
        try:
            need = run_need(raw_dir, paths, os.environ[INPUTS_VERSION_ENV])
            if need.up_to_date and not args.force:
                print(
                    f"fupin run: nothing to do: {paths.published} already holds the {need.files} files of "
                    f"{raw_dir}, built by this code and catalog ({time.monotonic() - started:.1f}s; "
                    "--force runs every step anyway)",
                    flush=True,
                )
                return 0
            if args.force:  # whoever suspects the file-stat cache gets every raw file read again
                os.environ[REREAD_ENV] = "1"
            _quiet_dagster()
            return _run_holding_the_warehouse(paths, raw_dir, run_id, dagster_home, need)
        finally:
            os.environ.pop(INPUTS_VERSION_ENV, None)
            os.environ.pop(REREAD_ENV, None)


def _set_shrink_limit(args: argparse.Namespace) -> None:
    if args.allow_shrink:
        os.environ[ALLOW_SHRINK_ENV] = "1"
    if args.max_shrink is not None:
        try:
            parse_share(args.max_shrink, "--max-shrink")
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        os.environ[MAX_SHRINK_ENV] = args.max_shrink


def _warn_about_leftovers(paths: WarehousePaths) -> None:
    """Say what a crash or a misbehaving reader left, and what this run does about it."""
    recovered = recover_work_file(paths)
    if recovered:
        print(f"fupin: warning: {recovered}", file=sys.stderr, flush=True)
    if wal_path(paths.published).exists():
        print(
            f"fupin: warning: {wal_path(paths.published)} is a write-ahead log a program left after opening "
            "the published warehouse read-write (not supported: open it read-only); publishing removes it",
            file=sys.stderr,
            flush=True,
        )


def _run_holding_the_warehouse(
    paths: WarehousePaths, raw_dir: Path, run_id: str, dagster_home: Path, need: RunNeed
) -> int:
    out = sys.stdout
    started = time.monotonic()
    print(f"fupin run: {raw_dir} -> {paths.published}", file=out, flush=True)
    why = "; ".join(need.reasons) or "--force"
    print(f"  to do: {why}", file=out, flush=True)
    _warn_about_leftovers(paths)

    log_path = paths.directory / f"{paths.published.stem}.run.log"
    progress = _Progress(out)
    result, interrupted = None, None
    with (
        _SignalRecorder() as signals,
        open(log_path, "w", encoding="utf-8") as log,
        contextlib.redirect_stdout(log),
    ):
        # dbt's own output goes to the log file; progress lines go to the terminal.
        try:
            from pipelines.resources import prepare_dbt_manifest

            progress.running.append("dbt parse")
            prepare_dbt_manifest()
            progress.finish("dbt parse")
            print(
                f"  ok  {'dbt parse':<28} manifest ready ({time.monotonic() - started:.1f}s)",
                file=out,
                flush=True,
            )
            result = _execute_pipeline(progress, run_id)
        except KeyboardInterrupt:
            signals.note(signal.SIGINT)
        interrupted = signals.first()
        if result is not None and result.success:
            interrupted = None  # the signal came too late to stop anything: the run published
        if interrupted is not None:
            stopped = _interruption_line(interrupted, progress, time.monotonic() - started)
            print(stopped, file=log, flush=True)

    if interrupted is not None:
        print(f"fupin: {stopped} (log: {log_path})", file=sys.stderr)
        return 128 + interrupted
    if result.success and PUBLISH_STEP not in progress.finished:
        # Dagster skips a step whose inputs were not produced and still calls the run a success.
        progress.failures.append((PUBLISH_STEP, "the step did not run, so nothing was published"))
    if not result.success or PUBLISH_STEP not in progress.finished:
        step, message = progress.failures[0] if progress.failures else ("run", "the run did not succeed")
        print(
            f"fupin: run failed at {step}: {message} (details: {log_path}); "
            f"the published warehouse was left as it was",
            file=sys.stderr,
        )
        return 1
    _print_summary(out, paths, progress, time.monotonic() - started)
    print(f"  dagster run: {run_id} (recorded in {dagster_home}; `make dev` shows it)", file=out, flush=True)
    return 0


def _dagster_home() -> Path:
    """The instance `fupin run` records its runs in, created when missing (see pipelines/dagster_home.py)."""
    from pipelines.dagster_home import DAGSTER_HOME_ENV, default_dagster_home, ensure_dagster_home

    home = default_dagster_home()
    try:
        ensure_dagster_home(home)
        probe_write(home)
    except OSError as exc:
        raise CliError(f"cannot use {home} as DAGSTER_HOME: {exc.strerror} (set DAGSTER_HOME)") from exc
    os.environ[DAGSTER_HOME_ENV] = os.fspath(home)
    return home


def _execute_pipeline(progress: _Progress, run_id: str) -> Any:
    from dagster import DagsterInstance

    from pipelines.definitions import FULL_PIPELINE_JOB, defs

    job = defs.resolve_job_def(FULL_PIPELINE_JOB)
    with DagsterInstance.get() as instance:
        instance.add_event_listener(run_id, progress)
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            tags={"fupin/launched_by": "fupin run"},
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )
    return result


class _SignalRecorder:
    """Which signal (Ctrl-C's SIGINT, SIGTERM) interrupted a run.

    SIGTERM is turned into KeyboardInterrupt like Ctrl-C, so an interrupted run unwinds (Dagster
    marks the step and run failed, dagster-dbt stops dbt) instead of dying on the spot. Dagster swaps
    the handlers while steps run, so the signal's name comes from a wakeup fd, which records every
    signal whichever Python handler is installed.
    """

    def __enter__(self) -> _SignalRecorder:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        self._previous_term = signal.signal(signal.SIGTERM, signal.default_int_handler)
        self._seen: list[int] = []
        return self

    def note(self, signum: int) -> None:
        self._drain()
        if not self._seen:
            self._seen.append(signum)

    def first(self) -> int | None:
        self._drain()
        return self._seen[0] if self._seen else None

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while data := self._reader.recv(64):
                self._seen.extend(b for b in data if b in (signal.SIGINT, signal.SIGTERM))

    def __exit__(self, *exc: object) -> None:
        self._drain()
        signal.set_wakeup_fd(self._previous_fd)
        signal.signal(signal.SIGTERM, self._previous_term)
        self._reader.close()
        self._writer.close()


def _interruption_line(signum: int, progress: _Progress, seconds: float) -> str:
    """Where an interrupted run stopped, for the terminal and the run log."""
    name = signal.Signals(signum).name
    if progress.running or progress.failed:
        where = "during " + ", ".join(progress.running + progress.failed)
    elif progress.finished:
        where = f"after {progress.finished[-1]}"
    else:
        where = "before the first step"
    done = ", ".join(progress.finished) or "none"
    return (
        f"run interrupted by {name} {where} ({seconds:.1f}s in; steps finished: {done}); "
        f"the published warehouse was left as it was"
    )


def _count(con: Any, sql: str) -> int:
    return int(con.execute(sql).fetchone()[0])


def _print_summary(out: TextIO, paths: WarehousePaths, progress: _Progress, seconds: float) -> None:
    from pipelines.core.warehouse import describe_connection, rejected_documents_by_stage

    con = connect(paths.published, read_only=True)
    try:
        files = _count(con, "SELECT count(*) FROM raw.raw_documents")
        rejected = rejected_documents_by_stage(con)
        kept = _count(con, "SELECT count(*) FROM raw.cleaned_documents")
        duplicates = _count(con, "SELECT count(*) FROM raw.duplicate_documents")
        facts = _count(con, "SELECT count(*) FROM raw.extracted_facts")
        valid = _count(con, "SELECT count(*) FROM raw.validated_facts")
        bad_facts = _count(con, "SELECT count(*) FROM raw.rejected_facts")
        mentions = _count(con, "SELECT count(*) FROM raw.unclassified_mentions")
        tables = [(s, t, n) for s, t, n in describe_connection(con) if s == "main"]
    finally:
        con.close()
    new_files = progress.materialized.get("raw_documents", {}).get("run_processed", 0)
    new_docs = progress.materialized.get("extracted_facts", {}).get("run_processed", 0)
    unreadable = rejected.get("read", 0) + rejected.get("decode", 0)
    by_stage = ", ".join(f"{stage} {n}" for stage, n in rejected.items())
    lines = [
        "",
        f"Summary ({seconds:.1f}s)",
        f"  files read              {files + unreadable:>7}  ({new_files} new or changed this run)",
        f"  documents kept          {kept:>7}  ({new_docs} extracted this run)",
        f"  duplicates              {duplicates:>7}",
        f"  documents rejected      {sum(rejected.values()):>7}" + (f"  ({by_stage})" if by_stage else ""),
        f"  facts extracted         {facts:>7}  ({valid} valid)",
        f"  facts rejected          {bad_facts:>7}",
        f"  unclassified mentions   {mentions:>7}",
        "  checks                  " + ", ".join(f"{n} {k}" for k, n in sorted(progress.checks.items())),
    ]
    lines += [f"    warning: {c}" for c in progress.failed_checks]
    lines.append("  tables and views built (schema main, rows)")
    lines += [f"    {table:<30} {rows:>9}" for _, table, rows in tables]
    lines.append(f"  warehouse: {paths.published}")
    print("\n".join(lines), file=out, flush=True)


# --- fupin export -----------------------------------------------------------------------------------


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _export_format(args: argparse.Namespace) -> str:
    """--format, else the one the --output suffix names (.csv, .parquet, .json/.jsonl/.ndjson)."""
    if args.format:
        return args.format
    if not args.output:
        return "csv"
    suffix = Path(args.output).suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        known = ", ".join(EXPORT_SUFFIXES)
        raise CliError(
            f"cannot tell the format of {args.output} from its suffix {suffix or '(none)'}: "
            f"name the file {known} or give --format {'|'.join(sorted(EXPORT_FORMATS))}"
        )
    return EXPORT_SUFFIXES[suffix]


def cmd_export(args: argparse.Namespace) -> int:
    warehouse = _published_warehouse(args)
    table = EXPORT_TABLES[args.table]
    output = _output_file(args.output) if args.output else None
    fmt = _export_format(args)
    con = connect(warehouse, read_only=True)
    try:
        found = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?",
            [table],
        ).fetchone()[0]
        if not found:
            raise CliError(f"warehouse {warehouse} has no table {table}; run `fupin run` again")
        query = f"SELECT * FROM main.{table}"
        if output is not None:
            con.execute(f"COPY ({query}) TO {_sql_string(os.fspath(output))} ({EXPORT_FORMATS[fmt]})")
            rows = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0]
            print(f"wrote {rows} rows of {table} to {output} ({fmt})", file=sys.stderr)
        else:
            # Through a temporary file: DuckDB writes files, and this works for binary parquet too.
            with tempfile.TemporaryDirectory(prefix="fupin-export-") as tmp:
                staged = Path(tmp) / f"{table}.{fmt}"
                con.execute(f"COPY ({query}) TO {_sql_string(os.fspath(staged))} ({EXPORT_FORMATS[fmt]})")
                sys.stdout.flush()
                with open(staged, "rb") as handle:
                    shutil.copyfileobj(handle, sys.stdout.buffer)
                sys.stdout.buffer.flush()
    finally:
        con.close()
    return 0


# --- fupin docs -------------------------------------------------------------------------------------


def cmd_docs(args: argparse.Namespace) -> int:
    paths = WarehousePaths.from_published(_warehouse(args))
    source = next((p for p in (paths.published, paths.work) if p.exists()), None)
    if source is None:
        raise CliError(f"warehouse {paths.published} does not exist; run `fupin run` first")
    target = DBT_PROJECT_DIR / "target" / "docs"
    with tempfile.TemporaryDirectory(prefix="fupin-docs-") as tmp:
        # dbt opens its database read-write: give it a copy, never the file BI tools read.
        # Named like the warehouse: the docs name relations after the file (fupin.main.dim_county).
        database = Path(tmp) / paths.published.name
        shutil.copyfile(source, database)
        env = {**os.environ, DBT_DATABASE_ENV: os.fspath(database)}
        command = [
            dbt_executable(),
            "docs",
            "generate",
            "--project-dir",
            os.fspath(DBT_PROJECT_DIR),
            "--profiles-dir",
            os.fspath(DBT_PROJECT_DIR),
            "--target-path",
            os.fspath(target),
            "--quiet",
        ]
        done = subprocess.run(command, env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stdout + done.stderr).strip().splitlines()
        raise CliError(f"dbt docs generate failed: {detail[-1] if detail else done.returncode}")
    print(f"dbt docs generated in {target} (from {source})")
    if args.no_serve:
        return 0
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=os.fspath(target))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    except OSError as exc:
        raise CliError(f"cannot serve on port {args.port}: {exc.strerror}") from exc
    print(f"serving the docs at http://127.0.0.1:{args.port}/ (Ctrl-C to stop)", flush=True)
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pipelines.core.report import build_report

    warehouse = _published_warehouse(args)
    output = _output_file(args.output) if args.output else warehouse.with_name("fupin-report.html")
    summary = build_report(warehouse, output)
    print(
        f"wrote {summary.output}: {summary.counties} counties, {summary.observations} figures "
        f"({summary.undated_observations} without a year), {summary.conflicts} conflicting county-years"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pipelines.core.catalog import load_catalog
    from pipelines.core.evaluation import (
        GoldFileError,
        format_report,
        load_gold,
        load_sources,
        predict_file,
        score,
        score_documents,
    )
    from pipelines.core.gazetteer import load_gazetteer
    from pipelines.core.places import PlaceIndex

    gold_path = Path(args.gold)
    if not gold_path.is_file():
        raise CliError(f"gold file {gold_path} does not exist")
    raw_dir = _cli_path(args.raw_dir, RAW_DIR_ENV, DEFAULT_RAW_DIR)
    sources_path = Path(args.sources) if args.sources else gold_path.with_name("sources.csv")
    if args.sources and not sources_path.is_file():
        raise CliError(f"sources file {sources_path} does not exist")
    try:
        gold = load_gold(gold_path)
        _check_gold_reports_exist(gold_path, {g.file for g in gold}, raw_dir)
        sources = load_sources(sources_path) if sources_path.is_file() else None
        catalog, places = load_catalog(), PlaceIndex(load_gazetteer())
        metrics = _metric_codes(args.metrics, known={*catalog.metrics, *(m for g in gold for m in g.metrics)})
        urls = {name: source.url for name, source in (sources or {}).items()}
        results = [
            predict_file(raw_dir, name, catalog, places, url=urls.get(name))
            for name in sorted({g.file for g in gold})
        ]
    except GoldFileError as exc:
        raise CliError(str(exc)) from exc
    result = score(gold, [p for r in results for p in r.predictions], metrics)
    documents = score_documents(results, sources) if sources is not None else None
    print(format_report(result, documents, verbose=args.verbose))
    return 0


def _metric_codes(text: str | None, known: set[str]) -> set[str] | None:
    """The codes of --metrics a,b,c (None: every metric); unknown codes are an error."""
    if text is None:
        return None
    codes = {c.strip() for c in text.split(",") if c.strip()}
    if not codes:
        raise CliError("--metrics needs at least one metric code")
    unknown = sorted(codes - known)
    if unknown:
        raise CliError(f"unknown metric code(s) {', '.join(unknown)}: not in the catalog nor the gold file")
    return codes


def _check_gold_reports_exist(gold_path: Path, files: set[str], raw_dir: Path) -> None:
    missing = sorted(name for name in files if not (raw_dir / name).is_file())
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise CliError(
            f"{gold_path} names {missing[0]}{more}, which does not exist in raw dir {raw_dir} (use --raw-dir)"
        )


# --- parser -----------------------------------------------------------------------------------------


def _add_warehouse_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--warehouse", help="published DuckDB file (default: warehouse/fupin.duckdb)")


def _add_run(sub: Any) -> None:
    p = sub.add_parser("run", help="run the whole pipeline and publish the warehouse")
    p.add_argument("--raw-dir", help="directory of raw report files (default: raw/ or $FUPIN_RAW_DIR)")
    _add_warehouse_argument(p)
    p.add_argument(
        "--allow-shrink",
        action="store_true",
        help="publish even when the run removes more than --max-shrink of the published documents",
    )
    p.add_argument(
        "--max-shrink",
        metavar="SHARE",
        help="share of the published documents a run may remove without --allow-shrink "
        "(default 0.5, or $FUPIN_MAX_SHRINK)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="run every step even when the warehouse is up to date, reading every raw file again",
    )
    p.set_defaults(handler=cmd_run)


def _add_export(sub: Any) -> None:
    p = sub.add_parser("export", help="write a report table of the published warehouse")
    _add_warehouse_argument(p)
    p.add_argument("--format", choices=sorted(EXPORT_FORMATS), help="csv (default), parquet or json lines")
    p.add_argument("--output", help="file to write (default: standard output)")
    p.add_argument(
        "--table", choices=list(EXPORT_TABLES), default="observations", help="default: observations"
    )
    p.set_defaults(handler=cmd_export)


def _add_docs(sub: Any) -> None:
    p = sub.add_parser("docs", help="generate the dbt docs of the warehouse and serve them locally")
    _add_warehouse_argument(p)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--no-serve", action="store_true", help="only generate the docs")
    p.set_defaults(handler=cmd_docs)


def _add_report(sub: Any) -> None:
    p = sub.add_parser("report", help="write a one-file HTML report: each county's metrics over the years")
    _add_warehouse_argument(p)
    p.add_argument("--output", help="HTML file to write (default: fupin-report.html beside the warehouse)")
    p.set_defaults(handler=cmd_report)


def _add_evaluate(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="score the extractor against a gold file of hand-annotated facts")
    p.add_argument("gold", help="gold facts, JSON Lines (file, county, metric, year, value, evidence)")
    p.add_argument("--raw-dir", help="where the gold file's reports are (default: raw/ or $FUPIN_RAW_DIR)")
    p.add_argument("--metrics", help="comma-separated metric codes to score (default: every metric)")
    p.add_argument(
        "--sources",
        help="CSV of each file's county and publication_date, to score subjects and dates "
        "(default: sources.csv beside the gold file, when there is one)",
    )
    p.add_argument(
        "--verbose", "-v", action="store_true", help="list misses, extras, wrong years, subjects and dates"
    )
    p.set_defaults(handler=cmd_evaluate)


COMMANDS: list[Callable[[Any], None]] = [_add_run, _add_export, _add_docs, _add_report, _add_evaluate]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fupin", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (CliError, WarehouseError) as exc:
        print(f"fupin: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _reader_went_away()


def _reader_went_away() -> int:
    """The reader of standard output closed it (`fupin export | head`): stop quietly, exit status 141
    like a command killed by SIGPIPE. Standard output is pointed at /dev/null so that Python's final
    flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
