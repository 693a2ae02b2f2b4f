"""End-to-end runs in subprocesses: `fupin run` and `dbt build`, with wall time and peak memory.

Peak memory is measured two ways:
- the whole process tree's proportional set size (PSS), sampled from /proc every 0.2 s: the memory
  the run really occupies, with pages shared by forked workers counted once;
- the largest resident set of any single process of the run, from `/usr/bin/time -v` (or, without
  it, from getrusage(RUSAGE_CHILDREN) in a small wrapper process).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core.warehouse import WarehousePaths

GNU_TIME = Path("/usr/bin/time")
_SAMPLE_SECONDS = 0.2
_MAXRSS = re.compile(r"Maximum resident set size \(kbytes\):\s*(\d+)")
# Progress lines of `fupin run`: "  ok  clean_documents   cleaned_documents 5, ... (0.5s)"
_STEP_LINE = re.compile(r"^\s*ok\s+(dbt parse|\S+)\s.*\((\d+(?:\.\d+)?)s\)\s*$")

# Wrapper used when GNU time is missing: runs the command, then reports its children's max RSS.
_RUSAGE_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(f'Maximum resident set size (kbytes): {kb}\\n')\n"
    "sys.exit(code)\n"
)


@dataclass(slots=True)
class RunResult:
    label: str
    reports: int
    returncode: int
    wall_seconds: float
    peak_pss_bytes: int | None  # whole process tree, None when /proc gives no PSS
    max_rss_bytes: int | None  # largest single process
    steps: dict[str, float] = field(default_factory=dict)  # fupin's own per-step seconds
    log: Path | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def peak_bytes(self) -> int | None:
        """The figure to hold against the memory target: tree PSS, else the largest process."""
        return self.peak_pss_bytes if self.peak_pss_bytes is not None else self.max_rss_bytes


class TreeMemorySampler(threading.Thread):
    """Polls the summed PSS of a process and all its descendants; keeps the peak."""

    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.peak_pss = 0
        self.supported = Path(f"/proc/{os.getpid()}/smaps_rollup").exists()
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            if self.supported:
                self.peak_pss = max(self.peak_pss, sum(_pss(pid) for pid in _tree(self.root_pid)))
            self._halt.wait(_SAMPLE_SECONDS)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _tree(root: int) -> list[int]:
    """root and every descendant alive now (from the parent pid in /proc/<pid>/stat)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # the process ended meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass  # gone, or not ours to read
    return 0


def run_measured(
    label: str,
    command: Sequence[str],
    *,
    reports: int,
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> RunResult:
    """Run command to completion, output to log; wall time, peak tree PSS and largest RSS."""
    rusage_file = log.with_suffix(".rusage")
    if GNU_TIME.exists():
        wrapped = [str(GNU_TIME), "-v", "-o", str(rusage_file), *command]
    else:
        wrapped = [sys.executable, "-c", _RUSAGE_WRAPPER, str(rusage_file), *command]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as out:
        started = time.perf_counter()
        process = subprocess.Popen(wrapped, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        sampler = TreeMemorySampler(process.pid)
        sampler.start()
        returncode = process.wait()
        wall = time.perf_counter() - started
        sampler.stop()
    max_rss = None
    if rusage_file.exists():
        m = _MAXRSS.search(rusage_file.read_text(errors="replace"))
        max_rss = int(m.group(1)) * 1024 if m else None
    return RunResult(
        label=label,
        reports=reports,
        returncode=returncode,
        wall_seconds=wall,
        peak_pss_bytes=sampler.peak_pss if sampler.supported else None,
        max_rss_bytes=max_rss,
        steps=_steps(log),
        log=log,
        note="" if returncode == 0 else f"exit {returncode}: {_last_line(log)}",
    )


def _steps(log: Path) -> dict[str, float]:
    steps: dict[str, float] = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _STEP_LINE.match(line)
        if m:
            steps[m.group(1)] = float(m.group(2))
    return steps


def _last_line(log: Path) -> str:
    lines = [x.strip() for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()]
    return lines[-1][:200] if lines else "no output"


def venv_tool(name: str) -> str | None:
    """The console script next to this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def fupin_available(fupin: str | None, cwd: Path) -> bool:
    """Whether `fupin run` exists yet (the CLI may not have landed)."""
    if fupin is None:
        return False
    try:
        done = subprocess.run(
            [fupin, "run", "--help"], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and "--raw-dir" in done.stdout


def clean_env() -> dict[str, str]:
    """This environment minus the fupin settings, so only the command-line paths count."""
    env = dict(os.environ)
    for name in ("FUPIN_RAW_DIR", "FUPIN_WAREHOUSE", "FUPIN_DBT_DATABASE"):
        env.pop(name, None)
    env.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    return env


def fupin_run(
    fupin: str, label: str, raw_dir: Path, warehouse: Path, *, reports: int, log: Path, repo: Path
) -> RunResult:
    command = [fupin, "run", "--raw-dir", str(raw_dir), "--warehouse", str(warehouse)]
    return run_measured(label, command, reports=reports, log=log, env=clean_env(), cwd=repo)


def dbt_build(
    dbt: str, paths: WarehousePaths, scratch: Path, *, reports: int, log: Path, repo: Path
) -> RunResult:
    """`dbt build` of the project over a warehouse's working database, target and logs in scratch.

    The target starts as a copy of the one `fupin run` keeps for that warehouse, so dbt reuses its
    parse as it does in a run (copied before the clock starts)."""
    database = paths.work
    if paths.dbt_target.is_dir():
        shutil.copytree(paths.dbt_target, scratch / "target", dirs_exist_ok=True)
    env = clean_env()
    env["FUPIN_DBT_DATABASE"] = str(database)
    command = [
        dbt,
        "build",
        "--project-dir",
        "dbt_project",
        "--profiles-dir",
        "dbt_project",
        "--target-path",
        str(scratch / "target"),
        "--log-path",
        str(scratch / "logs"),
    ]
    return run_measured("dbt build alone", command, reports=reports, log=log, env=env, cwd=repo)
