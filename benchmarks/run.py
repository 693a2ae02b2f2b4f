"""fupin performance benchmark: clean + extract throughput against a bare regex, and `fupin run`
end to end at several corpus sizes, on a synthetic corpus made from the real reports in raw/.

    python benchmarks/run.py [--sizes 100,1000,10000] [--quick] [--skip-e2e] [--keep DIR]

Progress goes to stderr; the results (machine, tables, target verdicts) to stdout, and as JSON to
benchmarks/out/results.json (or --json FILE).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make the `benchmarks` package importable
    sys.path.insert(0, str(REPO))

from benchmarks import corpus, endtoend, report, throughput  # noqa: E402
from benchmarks.endtoend import RunResult  # noqa: E402
from benchmarks.report import GIB, Verdict  # noqa: E402
from pipelines.core.catalog import load_catalog  # noqa: E402
from pipelines.core.gazetteer import load_gazetteer  # noqa: E402
from pipelines.core.places import PlaceIndex  # noqa: E402
from pipelines.core.warehouse import WarehousePaths  # noqa: E402

DEFAULT_SIZES = (100, 1000, 10000)
QUICK_SIZES = (50, 200)
TARGET_SIZE = 10000
TARGET_RATIO = 0.50
TARGET_E2E_SECONDS = 180.0
TARGET_PEAK_BYTES = 2 * GIB
TARGET_INCREMENTAL_SECONDS = 20.0
LINEAR_SLACK = 1.25  # per-report time may grow this much from the smallest to the largest size
LINEAR_FIT_DEVIATION = 0.10  # end to end: T = a + b·N must fit every size within this share


def _progress(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = ",".join(map(str, DEFAULT_SIZES))
    p.add_argument("--sizes", help=f"corpus sizes, comma-separated (default {default})")
    p.add_argument("--quick", action="store_true", help=f"small sizes ({','.join(map(str, QUICK_SIZES))})")
    p.add_argument("--skip-e2e", action="store_true", help="only the in-process throughput")
    p.add_argument("--raw-dir", type=Path, default=REPO / "raw", help="real reports to vary (default raw/)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--perturb", type=float, default=0.10, help="numbers vary by up to ± this share")
    p.add_argument("--workers", type=int, default=throughput.available_cores(), help="pool size")
    p.add_argument("--keep", type=Path, help="write corpora, warehouses and logs here and keep them")
    p.add_argument("--json", type=Path, default=REPO / "benchmarks" / "out" / "results.json")
    args = p.parse_args(argv)
    sizes = args.sizes or ",".join(map(str, QUICK_SIZES if args.quick else DEFAULT_SIZES))
    args.sizes = sorted({int(s.replace("_", "")) for s in sizes.split(",") if s.strip()})
    if not args.sizes or args.sizes[0] < 1:
        p.error("--sizes needs positive integers")
    return args


def _git_head() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "?"
    return done.stdout.strip() + (" (modified)" if dirty.stdout.strip() else "")


def _measure_throughput(
    builder: corpus.CorpusBuilder, sizes: list[int], work: throughput.Workload, workers: int
) -> list[throughput.Throughput]:
    results = []
    throughput.warm_up([(r.text, r.is_html) for r in builder.reports(3)], work)
    for n in sizes:
        texts = [(r.text, r.is_html) for r in builder.reports(n)]
        _progress(f"clean + extract, {n:,} reports: bare regex, 1 process, pool of {workers}")
        result = throughput.measure(texts, work, workers)
        results.append(result)
        pool = f", pool {result.pool_mb_s:.2f} MB/s" if result.pool_mb_s else ""
        _progress(
            f"  {result.single_mb_s:.2f} MB/s in 1 process{pool}, bare {result.bare_mb_s:.1f} MB/s "
            f"({100 * result.ratio:.1f} %)"
        )
    return results


def _run_end_to_end(
    builder: corpus.CorpusBuilder, sizes: list[int], scratch: Path
) -> tuple[list[RunResult], list[RunResult], str]:
    """Fresh `fupin run` per size, then +1 report and `dbt build` alone on the largest."""
    fupin = endtoend.venv_tool("fupin")
    if not endtoend.fupin_available(fupin, REPO):
        return [], [], "skipped: fupin run not available"
    assert fupin is not None
    largest = sizes[-1]
    reports = builder.reports(largest + 1)
    master = scratch / "corpus" / "all"
    _progress(f"writing {largest + 1:,} reports to {master}")
    corpus.write_reports(reports, master)
    # One small run first, not reported: one-off costs (a stale dbt manifest to re-parse, cold
    # file caches) would otherwise land on whichever size runs first.
    warm_dir = scratch / "corpus" / "warm-up"
    corpus.link_reports(master, reports[: min(5, largest)], warm_dir)
    _progress("fupin run warm-up on 5 reports (not reported)")
    warm = endtoend.fupin_run(
        fupin, "warm-up", warm_dir, scratch / "warehouse-warm-up" / "fupin.duckdb",
        reports=min(5, largest), log=scratch / "logs" / "warm-up.log", repo=REPO,
    )  # fmt: skip
    if not warm.ok:
        return [warm], [], f"fupin run failed on the warm-up: {warm.note}"
    fresh: list[RunResult] = []
    for n in sizes:
        raw_dir = scratch / "corpus" / f"raw-{n}"
        corpus.link_reports(master, reports[:n], raw_dir)
        warehouse = scratch / f"warehouse-{n}" / "fupin.duckdb"
        _progress(f"fupin run, {n:,} reports, fresh warehouse {warehouse.parent}")
        result = endtoend.fupin_run(
            fupin, "fresh", raw_dir, warehouse, reports=n, log=scratch / "logs" / f"fresh-{n}.log", repo=REPO
        )
        _progress(f"  {result.wall_seconds:.1f} s, peak {report.fmt_mem(result.peak_bytes)} {result.note}")
        fresh.append(result)
    extra: list[RunResult] = []
    last = fresh[-1]
    if last.ok:
        raw_dir = scratch / "corpus" / f"raw-{largest}"
        corpus.link_reports(master, reports[largest:], raw_dir)
        warehouse = scratch / f"warehouse-{largest}" / "fupin.duckdb"
        _progress(f"fupin run after adding 1 report to the {largest:,}")
        inc = endtoend.fupin_run(
            fupin, "+1 report", raw_dir, warehouse, reports=largest + 1,
            log=scratch / "logs" / f"incremental-{largest + 1}.log", repo=REPO,
        )  # fmt: skip
        _progress(f"  {inc.wall_seconds:.1f} s, peak {report.fmt_mem(inc.peak_bytes)} {inc.note}")
        extra.append(inc)
        _progress("fupin run again, nothing changed")
        noop = endtoend.fupin_run(
            fupin, "no-op rerun", raw_dir, warehouse, reports=largest + 1,
            log=scratch / "logs" / f"noop-{largest + 1}.log", repo=REPO,
        )  # fmt: skip
        _progress(f"  {noop.wall_seconds:.2f} s {noop.note}")
        extra.append(noop)
        dbt = endtoend.venv_tool("dbt")
        if dbt is not None:
            paths = WarehousePaths.from_published(warehouse)
            _progress(f"dbt build alone on {paths.work}")
            alone = endtoend.dbt_build(
                dbt, paths, scratch / "dbt", reports=largest + 1,
                log=scratch / "logs" / "dbt-build.log", repo=REPO,
            )  # fmt: skip
            _progress(f"  {alone.wall_seconds:.1f} s {alone.note}")
            extra.append(alone)
    return fresh, extra, ""


def _verdicts(
    tp: list[throughput.Throughput], fresh: list[RunResult], extra: list[RunResult], e2e_note: str
) -> list[Verdict]:
    out = []
    big = tp[-1]
    out.append(
        Verdict(
            f"clean + extract >= {TARGET_RATIO:.0%} of bare scan speed (1 process, {big.reports:,} reports)",
            f"{100 * big.ratio:.1f} % ({big.single_mb_s:.2f} vs {big.bare_mb_s:.1f} MB/s)",
            big.ratio >= TARGET_RATIO,
        )
    )
    at_target = next((r for r in fresh if r.reports == TARGET_SIZE), None)
    missing = e2e_note or (f"not run (largest: {fresh[-1].reports:,})" if fresh else "not run")
    if at_target is not None and at_target.ok:
        peak = at_target.peak_bytes
        out.append(
            Verdict(
                f"{TARGET_SIZE:,} reports end to end < {TARGET_E2E_SECONDS:.0f} s",
                f"{at_target.wall_seconds:.1f} s",
                at_target.wall_seconds < TARGET_E2E_SECONDS,
            )
        )
        out.append(
            Verdict(
                f"{TARGET_SIZE:,} reports peak memory < {TARGET_PEAK_BYTES / GIB:.0f} GiB",
                report.fmt_mem(peak),
                None if peak is None else peak < TARGET_PEAK_BYTES,
            )
        )
    else:
        out.append(Verdict(f"{TARGET_SIZE:,} reports end to end < {TARGET_E2E_SECONDS:.0f} s", missing, None))
        out.append(Verdict(f"{TARGET_SIZE:,} reports peak memory < 2 GiB", missing, None))
    inc = next((r for r in extra if r.label == "+1 report"), None)
    if inc is not None and inc.ok and inc.reports == TARGET_SIZE + 1:
        out.append(
            Verdict(
                f"+1 report on {TARGET_SIZE:,} < {TARGET_INCREMENTAL_SECONDS:.0f} s",
                f"{inc.wall_seconds:.1f} s",
                inc.wall_seconds < TARGET_INCREMENTAL_SECONDS,
            )
        )
    else:
        out.append(Verdict(f"+1 report on {TARGET_SIZE:,} < 20 s", missing, None))
    growth = big.ms_per_report / tp[0].ms_per_report
    out.append(
        Verdict(
            f"linear: clean + extract ms/report, largest vs smallest <= {LINEAR_SLACK}",
            f"{growth:.2f} ({tp[0].reports:,} -> {big.reports:,})",
            growth <= LINEAR_SLACK if len(tp) > 1 else None,
        )
    )
    fit = report.linear_fit([r for r in fresh if r.ok])
    out.append(
        Verdict(
            f"linear: end to end T = a + b*N fits every size within {LINEAR_FIT_DEVIATION:.0%}",
            (
                f"a = {fit.fixed_seconds:.1f} s fixed, b = {1000 * fit.per_report_seconds:.1f} ms/report, "
                f"worst {100 * fit.max_deviation:.1f} %"
            )
            if fit
            else missing or "needs two sizes",
            None if fit is None or len(fresh) < 3 else fit.max_deviation <= LINEAR_FIT_DEVIATION,
        )
    )
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    started = time.perf_counter()
    info = report.machine()
    load_before = report.load_average()
    scratch = args.keep.absolute() if args.keep else Path(tempfile.mkdtemp(prefix="fupin-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        _progress(f"loading catalog, gazetteer and templates from {args.raw_dir}")
        gazetteer = load_gazetteer()
        places = PlaceIndex(gazetteer)
        work = throughput.Workload(load_catalog(), places)
        templates = corpus.load_templates(args.raw_dir, places, gazetteer)
        counties = corpus.replacement_counties(gazetteer, places)
        builder = corpus.CorpusBuilder(templates, counties, seed=args.seed, perturbation=args.perturb)
        _progress(f"generating {args.sizes[-1] + 1:,} synthetic reports")
        builder.reports(args.sizes[-1] + 1)

        tp = _measure_throughput(builder, args.sizes, work, args.workers)
        if args.skip_e2e:
            fresh, extra, e2e_note = [], [], "skipped (--skip-e2e)"
        else:
            fresh, extra, e2e_note = _run_end_to_end(builder, args.sizes, scratch)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    mean_kb = sum(r.size_bytes for r in builder.reports(args.sizes[-1])) / args.sizes[-1] / 1000
    lines = [
        f"fupin benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}, commit {_git_head()}",
        f"machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, {info['python']}, {info['os']}",
        f"load average (1/5/15 min) before {load_before}, after {report.load_average()}",
        f"corpus: {args.sizes[-1]:,} synthetic reports from {len(templates)} real ones in "
        f"{args.raw_dir.name}/ "
        f"(county swapped among {len(counties):,}, numbers ±{args.perturb:.0%}, paragraphs shuffled; "
        f"seed {args.seed}), mean {mean_kb:.1f} KB/report",
        "",
        "Clean + extract throughput (in process: clean_document -> subject_county -> extract_facts;",
        "bare = one precompiled regex for numbers with units, finditer over the same texts; "
        f"pool = {args.workers} forked processes)",
        report.throughput_table(tp),
        report.stage_line(tp[-1]),
        "",
        "End to end (`fupin run` in a subprocess, fresh warehouse per size; linearity = s/report relative "
        "to the smallest; marginal = extra time per extra report since the previous size)",
    ]
    if fresh:
        lines += [report.endtoend_table(fresh, extra), "", "Seconds per step (from the fupin run output)"]
        lines.append(report.steps_table([*fresh, *(r for r in extra if r.steps)]))
    else:
        lines.append(e2e_note)
    lines += ["", "Targets", report.verdict_table(_verdicts(tp, fresh, extra, e2e_note))]
    lines.append(f"\nbenchmark took {time.perf_counter() - started:.0f} s")
    print("\n".join(lines))
    _write_json(args, info, tp, fresh, extra, e2e_note)
    return 0 if all(r.ok for r in [*fresh, *extra]) else 1


def _write_json(
    args: argparse.Namespace,
    info: dict[str, str],
    tp: list[throughput.Throughput],
    fresh: list[RunResult],
    extra: list[RunResult],
    e2e_note: str,
) -> None:
    def run_dict(r: RunResult) -> dict:
        return {**asdict(r), "log": str(r.log) if r.log else None}

    data = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "commit": _git_head(),
        "machine": info,
        "sizes": args.sizes,
        "throughput": [asdict(t) for t in tp],
        "end_to_end": [run_dict(r) for r in fresh],
        "extra_runs": [run_dict(r) for r in extra],
        "end_to_end_note": e2e_note,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
