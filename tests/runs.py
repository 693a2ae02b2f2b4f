"""Helpers for tests that run `fupin run` as a user would and then read the published warehouse."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
FUPIN = Path(sys.executable).parent / "fupin"
SETPRIV = shutil.which("setpriv")


def fupin_command(*args: str) -> list[str]:
    return [str(FUPIN), *args] if FUPIN.exists() else [sys.executable, "-m", "pipelines.cli", *args]


def without_root_powers(command: list[str]) -> list[str]:
    """Run command as root without the capabilities that ignore file permissions (root in CI/VMs),
    so a directory with mode 000 is unreadable to it as it is to everyone else."""
    if os.geteuid() != 0:
        return command
    if SETPRIV is None:
        raise RuntimeError("setpriv is needed to drop root's file-permission override")
    return [SETPRIV, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", *command]


def run(
    raw_dir: Path, warehouse: Path, *extra: str, timeout: float = 600, unprivileged: bool = False
) -> subprocess.CompletedProcess[str]:
    command = fupin_command("run", "--raw-dir", str(raw_dir), "--warehouse", str(warehouse), *extra)
    if unprivileged:
        command = without_root_powers(command)
    return subprocess.run(
        command, cwd=warehouse.parent.parent, capture_output=True, text=True, timeout=timeout
    )


def build_from(source_raw: Path, root: Path) -> tuple[Path, Path]:
    """A copy of `source_raw` under `root` and a warehouse built from it by `fupin run`."""
    raw = root / "raw"
    shutil.copytree(source_raw, raw)
    warehouse = root / "wh" / "fupin.duckdb"
    done = run(raw, warehouse)
    assert done.returncode == 0, done.stdout + done.stderr
    return raw, warehouse


def start(raw_dir: Path, warehouse: Path, *extra: str) -> subprocess.Popen[str]:
    command = fupin_command("run", "--raw-dir", str(raw_dir), "--warehouse", str(warehouse), *extra)
    return subprocess.Popen(
        command, cwd=warehouse.parent.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def query(warehouse: Path, sql: str) -> list[tuple]:
    """Rows of a query on the published file, in a process of its own (DuckDB caches open files per
    process, so a reader in this process could see an older copy)."""
    code = (
        "import duckdb, json, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(json.dumps(con.execute(sys.argv[2]).fetchall(), default=str))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(warehouse), sql], capture_output=True, text=True, check=True
    )
    import json

    return [tuple(row) for row in json.loads(done.stdout)]


def fact_values(warehouse: Path) -> list[tuple]:
    return query(
        warehouse,
        "SELECT source_file, metric_code, year, value FROM main.fct_metric_observation ORDER BY ALL",
    )


def copy_warehouse(source: Path, target: Path) -> Path:
    """A copy of a built warehouse dir (published file, working file, dbt target), to run on again."""
    shutil.copytree(source.parent, target.parent, symlinks=True)
    return target


def connect_in_process(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every live process below pid (from /proc, Linux)."""
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        commands[int(entry.name)] = cmdline
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = commands[child]
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@contextlib.contextmanager
def warehouse_held(warehouse: Path, run_id: str, raw_dir: str = "/data/raw") -> Iterator[None]:
    """Another process holds the warehouse as a `fupin run` would (pipelines/core/runlock.py)."""
    hold = (
        "import sys, time; from pipelines.core.runlock import hold_run; "
        "from pipelines.core.warehouse import WarehousePaths; "
        "cm = hold_run(WarehousePaths.from_published(sys.argv[1]), sys.argv[2], raw_dir=sys.argv[3]); "
        "cm.__enter__(); print('held', flush=True); time.sleep(60)"
    )
    command = [sys.executable, "-c", hold, str(warehouse), run_id, raw_dir]
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()
