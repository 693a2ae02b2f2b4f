"""A run's fixed cost: a no-op `fupin run` and a +1-report run, this worktree against a base commit.

    python benchmarks/fixed_cost.py --raw DIR --extra FILE [--base main] [--runs 5] [--in-place]
    python benchmarks/fixed_cost.py --raw DIR --compare-only --warehouse FILE

Each side (this worktree's code, and --base exported with `git archive`) gets a fresh warehouse
built from the same copy of --raw (scratch dirs under $TMPDIR, deleted afterwards unless --keep),
then: `fupin run` with nothing changed, --runs times (median and range); --extra copied into the
raw dir and `fupin run` again (+1 report); the no-op again. Wall seconds of the whole subprocess,
start-up included, as a user or a sensor pays them. --in-place uses --raw itself (read-only: only
the warehouse dir is written) and skips the +1 run.

In process, on one side's warehouse, it also times the part the file-stat cache changes: comparing
the raw dir with the published raw tables while reading every file (what the base does) and with
the cache (pipelines/core/filestats.py); --compare-only does only that, on an existing warehouse.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.compare import _export  # noqa: E402
from benchmarks.endtoend import clean_env  # noqa: E402


def _fupin(root: Path, raw: Path, warehouse: Path, home: Path) -> tuple[float, str]:
    env = clean_env() | {"PYTHONPATH": str(root), "DAGSTER_HOME": str(home)}
    command = [sys.executable, "-c", "import sys; from pipelines.cli import main; sys.exit(main())"]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "run", "--raw-dir", str(raw), "--warehouse", str(warehouse)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"fupin run failed in {root}:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout.splitlines()[0] if done.stdout else ""


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s  ({min(values):.2f}–{max(values):.2f}, {len(values)} runs)"


def _side(label: str, root: Path, raw: Path, extra: Path | None, scratch: Path, runs: int) -> dict:
    warehouse = scratch / label / "fupin.duckdb"
    home = scratch / label / "dagster_home"
    warehouse.parent.mkdir(parents=True)
    home.mkdir()
    print(f"[{label}] fresh run on {raw} ...", file=sys.stderr, flush=True)
    fresh, _ = _fupin(root, raw, warehouse, home)
    first_noop, _ = _fupin(root, raw, warehouse, home)  # the first no-op refreshes the cache
    noop = [_fupin(root, raw, warehouse, home)[0] for _ in range(runs)]
    result = {"fresh": fresh, "first no-op": [first_noop], "no-op": noop, "warehouse": warehouse}
    if extra is not None:
        added = raw / extra.name
        shutil.copyfile(extra, added)
        try:
            plus_one, line = _fupin(root, raw, warehouse, home)
            after = [_fupin(root, raw, warehouse, home)[0] for _ in range(runs)]
        finally:
            added.unlink()
        result |= {"+1 report": [plus_one], "no-op after +1": after}
        _fupin(root, raw, warehouse, home)  # back to the corpus the other side sees
    for name, values in result.items():
        if isinstance(values, list):
            print(f"[{label}] {name}: {_median(values)}", file=sys.stderr, flush=True)
    return result


def compare_in_process(raw: Path, warehouse: Path, runs: int) -> dict[str, list[float]]:
    """Seconds to compare the raw dir with the published raw tables: every file read, and cached."""
    from pipelines.core import filestats, uptodate
    from pipelines.core.warehouse import WarehousePaths, connect

    published = WarehousePaths.from_published(warehouse).published
    cache = filestats.cache_path(published)
    times: dict[str, list[float]] = {"list the raw dir": [], "read every file": [], "file-stat cache": []}
    for _ in range(runs):
        started = time.perf_counter()
        present = uptodate.present_files(raw.absolute())
        times["list the raw dir"].append(time.perf_counter() - started)
        for name, stats in (
            ("read every file", None),
            ("file-stat cache", lambda: filestats.FileStats.load(cache, raw.absolute())),
        ):
            started = time.perf_counter()
            con = connect(published, read_only=True)
            try:
                changed = uptodate.raw_files_out_of_sync(con, raw, present, stats() if stats else None)
            finally:
                con.close()
            times[name].append(time.perf_counter() - started)
            assert not changed, changed[:3]
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--raw", type=Path, required=True, help="the corpus (copied unless --in-place)")
    p.add_argument("--extra", type=Path, help="the report added for the +1 run")
    p.add_argument("--base", default="main", help="the commit to compare with (default main); '' for none")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--in-place", action="store_true", help="use --raw itself, read-only; no +1 run")
    p.add_argument("--compare-only", action="store_true", help="only the in-process comparison")
    p.add_argument("--warehouse", type=Path, help="with --compare-only: an existing warehouse")
    p.add_argument("--keep", action="store_true", help="keep the scratch dir")
    args = p.parse_args(argv)
    if args.compare_only:
        times = compare_in_process(args.raw, args.warehouse, args.runs)
        for name, values in times.items():
            print(f"{name:<22} {_median(values)}")
        return 0

    scratch = Path(tempfile.mkdtemp(prefix="wt17-fixedcost-"))
    try:
        raw = args.raw.absolute()
        if not args.in_place:
            raw = scratch / "raw"
            shutil.copytree(args.raw, raw)
        files = sum(1 for _ in raw.rglob("*") if _.is_file())
        sides = {"this": REPO}
        if args.base:
            sides = {f"base {args.base}": _export(args.base, scratch / "code-base"), **sides}
        extra = None if args.in_place else args.extra
        results = {
            label: _side(label.split()[0], root, raw, extra, scratch, args.runs)
            for label, root in sides.items()
        }
        this = results["this"]
        times = compare_in_process(raw, this["warehouse"], args.runs)
        print(f"\n`fupin run` on {files} files ({raw}), wall seconds, median (range, runs)")
        rows = [k for k, v in this.items() if isinstance(v, list)]
        print(f"{'':<18}" + "".join(f"{label:<40}" for label in results))
        for row in ["fresh", *rows]:
            cells = []
            for result in results.values():
                value = result.get(row)
                cells.append(_median(value) if isinstance(value, list) else f"{value:6.1f} s")
            print(f"{row:<18}" + "".join(f"{c:<40}" for c in cells))
        print("\nin process, this side's published warehouse: comparing the raw dir with its raw tables")
        for name, values in times.items():
            print(f"  {name:<20} {_median(values)}")
    finally:
        if args.keep:
            print(f"kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
