"""Wall time of a run launched the way the UI, the schedule and the sensor launch it (a run of
`full_pipeline_job` in a Dagster instance, here through `dagster job execute`), with the in-process
executor fupin ships and with the multiprocess executor (one process per step) it replaced.

    .venv/bin/python benchmarks/ui_run.py [--repeat 2] [--raw-dir raw]

For each executor: a fresh warehouse (first run), then the same raw dir again (unchanged run, the
usual daily run). Each run gets its own DAGSTER_HOME and warehouse in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.dagster_home import ensure_dagster_home

REPO = Path(__file__).resolve().parents[1]
DAGSTER = Path(sys.executable).with_name("dagster")
CODE_LOCATIONS = {
    "in-process (shipped)": ["-m", "pipelines.definitions"],
    "multiprocess (before)": ["-f", str(REPO / "benchmarks" / "multiprocess_definitions.py")],
}


def timed_run(location: list[str], env: dict[str, str], log: Path) -> float:
    started = time.monotonic()
    with open(log, "w") as out:
        done = subprocess.run(
            [str(DAGSTER), "job", "execute", *location, "-j", "full_pipeline_job"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"run failed ({done.returncode}); see {log}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="fresh + unchanged pairs per executor")
    parser.add_argument("--raw-dir", default=str(REPO / "raw"))
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="fupin-ui-run-") as tmp:
        for attempt in range(args.repeat):
            for name, location in CODE_LOCATIONS.items():
                root = Path(tmp) / f"{attempt}-{name.split()[0]}"
                env = {
                    **os.environ,
                    "DAGSTER_HOME": str(ensure_dagster_home(root / "dagster_home")),
                    "FUPIN_RAW_DIR": str(Path(args.raw_dir).absolute()),
                    "FUPIN_WAREHOUSE": str(root / "warehouse" / "fupin.duckdb"),
                }
                times = results.setdefault(name, {"fresh": [], "unchanged": []})
                times["fresh"].append(timed_run(location, env, root / "fresh.log"))
                times["unchanged"].append(timed_run(location, env, root / "unchanged.log"))
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n{'executor':<24} {'fresh s (median)':>17} {'unchanged s (median)':>21}  all runs")
    for name, times in results.items():
        pairs = zip(times["fresh"], times["unchanged"], strict=True)
        every = " / ".join(f"{fresh:.1f}+{unchanged:.1f}" for fresh, unchanged in pairs)
        fresh, unchanged = statistics.median(times["fresh"]), statistics.median(times["unchanged"])
        print(f"{name:<24} {fresh:>17.1f} {unchanged:>21.1f}  {every}")


if __name__ == "__main__":
    main()
