"""A run's fixed cost: a no-op `fupin run` and a +1-report run, this worktree against a base commit.

    python benchmarks/fixed_cost.py --raw DIR --extra FILE [--base main] [--runs 5] [--in-place]
    python benchmarks/fixed_cost.py --raw DIR --compare-only --warehouse FILE

Each side (this worktree's code, and --base exported with `git archive`) gets a fresh warehouse
built from the same copy of --raw (scratch dirs under $TMPDIR, deleted afterwards unless --keep),
then: `fupin run` with nothing changed, --runs times (median and range); --runs rounds of one
report added (--extra, a UTF-8 text, with a line of its own each round) and `fupin run` on each
side; the no-op again. Wall seconds of the whole subprocess,
start-up included, as a user or a sensor pays them. --in-place uses --raw itself (read-only: only
the warehouse dir is written) and skips the +1 run.

In process, on one side's warehouse, it also times the part the file-stat cache changes: comparing
the raw dir with the published raw tables while reading every file (what the base does) and with
the cache (pipelines/core/filestats.py); --compare-only does only that, on an existing warehouse.
"""

from __future__ import annotations

import argparse
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
    """Wall seconds of one `fupin run`, and its first line (with the ingest step's own seconds)."""
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
    lines = done.stdout.splitlines()
    ingest = [line.strip() for line in lines if "ok  ingest_raw_documents" in line]
    return seconds, " | ".join(lines[:1] + ingest)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s  ({min(values):.2f}–{max(values):.2f}, {len(values)} runs)"


def _interleaved(sides: dict[str, dict], raw: Path, runs: int, row: str) -> None:
    """`fupin run` runs times per side, taking turns, so the shared machine's load falls on both alike."""
    for _ in range(runs):
        for side in sides.values():
            side.setdefault(row, []).append(_fupin(side["root"], raw, side["warehouse"], side["home"])[0])


def _once(sides: dict[str, dict], raw: Path, row: str) -> None:
    for label, side in sides.items():
        seconds, line = _fupin(side["root"], raw, side["warehouse"], side["home"])
        side[row] = [seconds]
        print(f"[{label}] {row}: {seconds:.2f} s: {line}", file=sys.stderr, flush=True)


def measure(
    roots: dict[str, Path], raw: Path, extra: Path | None, scratch: Path, runs: int
) -> dict[str, dict]:
    sides: dict[str, dict] = {}
    for label, root in roots.items():
        side = sides[label] = {"root": root, "warehouse": scratch / label / "fupin.duckdb"}
        side["home"] = side["warehouse"].parent / "dagster_home"
        side["home"].mkdir(parents=True, exist_ok=True)
        if not side["warehouse"].exists():  # a kept scratch dir (--scratch) reuses its warehouses
            print(f"[{label}] fresh run on {raw} ...", file=sys.stderr, flush=True)
            side["fresh"] = [_fupin(root, raw, side["warehouse"], side["home"])[0]]
    _once(sides, raw, "first no-op")  # reads what the cache does not know yet, and remembers it
    _interleaved(sides, raw, runs, "no-op")
    if extra is not None:
        added: list[Path] = []
        try:
            for round_ in range(runs):
                # A report of its own each round (--extra with a line added), so every run has one to do.
                report = raw / f"{extra.stem}.plus{round_}{extra.suffix}"
                report.write_bytes(extra.read_bytes() + f"\n\n（第{round_ + 1}次补充）\n".encode())
                added.append(report)
                _interleaved(sides, raw, 1, "+1 report")
            _interleaved(sides, raw, runs, "no-op after +1")
        finally:
            for report in added:
                report.unlink()
        _once(sides, raw, "added removed")  # back to the corpus a later --scratch run starts from
    return sides


def compare_in_process(raw: Path, warehouse: Path, runs: int) -> dict[str, list[float]]:
    """Seconds to compare the raw dir with the published raw tables, and to ingest it into a copy of
    the working file with nothing changed: every file read (what the base does), and cached."""
    from pipelines.core import filestats, stages, uptodate
    from pipelines.core.warehouse import WarehousePaths, connect

    paths = WarehousePaths.from_published(warehouse)
    cache = filestats.cache_path(paths.published)
    scratch = Path(tempfile.mkdtemp(prefix="wt17-ingest-", dir=warehouse.parent))
    work, scratch_cache = scratch / "copy.work.duckdb", scratch / "copy.filestats.json"
    shutil.copyfile(paths.work, work)
    shutil.copyfile(cache, scratch_cache)
    times: dict[str, list[float]] = {
        "list the raw dir": [],
        "compare, read every file": [],
        "compare, file-stat cache": [],
        "ingest, read every file": [],
        "ingest, file-stat cache": [],
    }
    try:
        for _ in range(runs):
            started = time.perf_counter()
            present = uptodate.present_files(raw.absolute())
            times["list the raw dir"].append(time.perf_counter() - started)
            for name, stats in (("read every file", None), ("file-stat cache", cache)):
                started = time.perf_counter()
                con = connect(paths.published, read_only=True)
                try:
                    known = filestats.FileStats.load(stats, raw.absolute()) if stats else None
                    changed = uptodate.raw_files_out_of_sync(con, raw, present, known)
                finally:
                    con.close()
                times[f"compare, {name}"].append(time.perf_counter() - started)
                assert not changed, changed[:3]
            for name, stats in (("read every file", None), ("file-stat cache", scratch_cache)):
                con = connect(work)
                try:
                    started = time.perf_counter()
                    result = stages.sync_raw_documents(con, raw, file_stats=stats)
                    times[f"ingest, {name}"].append(time.perf_counter() - started)
                finally:
                    con.close()
                assert result.processed == 0, result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
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
    p.add_argument("--scratch", type=Path, help="a kept scratch dir: reuse its raw copy and warehouses")
    args = p.parse_args(argv)
    if args.compare_only:
        times = compare_in_process(args.raw, args.warehouse, args.runs)
        for name, values in times.items():
            print(f"{name:<22} {_median(values)}")
        return 0

    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="wt17-fixedcost-"))
    try:
        raw = args.raw.absolute()
        if not args.in_place:
            raw = scratch / "raw"
            if not raw.exists():
                shutil.copytree(args.raw, raw)
        files = sum(1 for _ in raw.rglob("*") if _.is_file())
        roots = {"this": REPO}
        if args.base:
            base = scratch / "code-base"
            roots = {"base": base if base.exists() else _export(args.base, base), **roots}
        sides = measure(roots, raw, None if args.in_place else args.extra, scratch, args.runs)
        times = compare_in_process(raw, sides["this"]["warehouse"], args.runs)
        print(f"\n`fupin run` on {files} files ({raw}), wall seconds, median (range, runs)")
        print(
            f"{'':<16}"
            + "".join(f"{label + (f' ({args.base})' if label == 'base' else ''):<40}" for label in sides)
        )
        for row in ("fresh", "first no-op", "no-op", "+1 report", "no-op after +1", "added removed"):
            if any(row in side for side in sides.values()):
                cells = [_median(side[row]) if row in side else "-" for side in sides.values()]
                print(f"{row:<16}" + "".join(f"{c:<40}" for c in cells))
        print("\nin process, on this side's warehouse, nothing changed (seconds, median)")
        for name, values in times.items():
            print(f"  {name:<26} {_median(values)}")
    finally:
        if args.keep or args.scratch:
            print(f"kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
