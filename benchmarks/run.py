"""fupin performance benchmark: clean + extract throughput against a bare regex, and `fupin run`
end to end at several corpus sizes, on a synthetic corpus made from the real reports in raw/.

    python benchmarks/run.py [--sizes 100,1000,10000] [--quick] [--with-100k] [--skip-e2e] [--keep DIR]

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
HUGE_SIZE = 100_000  # end to end only, with --with-100k: the throughput runs would take an hour
TARGET_SIZE = 10000
TARGET_RATIO = 0.50
TARGET_E2E_SECONDS = 180.0
TARGET_HUGE_SECONDS = 600.0  # issue 14: 100,000 reports in under 10 minutes
TARGET_PEAK_BYTES = 1 * GIB  # issue 14: memory flat in corpus size, under 1 GiB at 10,000 and 100,000
TARGET_INCREMENTAL_SECONDS = 5.0  # issue 14
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
    p.add_argument(
        "--with-100k",
        action="store_true",
        help=f"also `fupin run` {HUGE_SIZE:,} reports (end to end only; takes long, writes ~1.5 GB of files)",
    )
    p.add_argument("--runs", type=int, default=throughput.RUNS, help="runs per throughput figure (median)")
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
    if args.runs < 1:
        p.error("--runs needs a positive integer")
    args.e2e_sizes = sorted({*args.sizes, HUGE_SIZE}) if args.with_100k else args.sizes
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
    builder: corpus.CorpusBuilder, sizes: list[int], work: throughput.Workload, workers: int, runs: int
) -> list[throughput.Throughput]:
    results = []
    throughput.warm_up(corpus.distinct_texts(builder.reports(3)), work)
    for n in sizes:
        texts = corpus.distinct_texts(builder.reports(n))
        _progress(
            f"clean + extract, {n:,} reports: bare regex, mention regex, 1 process, pool of {workers}; "
            f"{runs} runs"
        )
        result = throughput.measure(texts, work, workers, reports=n, runs=runs)
        results.append(result)
        pool = f", pool {result.pool_mb_s:.2f} MB/s" if result.pool_mb_s else ""
        _progress(
            f"  {result.single_mb_s:.2f} MB/s in 1 process{pool}, bare {result.bare_mb_s:.1f} MB/s "
            f"({100 * result.ratio:.1f} %), mention regex {result.mention_regex_mb_s:.1f} MB/s "
            f"({100 * result.mention_ratio:.1f} %)"
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
    master = scratch / "corpus" / "all"
    _progress(f"writing {largest + 1:,} reports to {master}")
    names = corpus.write_reports(builder.iter_reports(largest + 1), master)
    # One small run first, not reported: one-off costs (a stale dbt manifest to re-parse, cold
    # file caches) would otherwise land on whichever size runs first.
    warm_dir = scratch / "corpus" / "warm-up"
    corpus.link_reports(master, names[: min(5, largest)], warm_dir)
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
        corpus.link_reports(master, names[:n], raw_dir)
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
        corpus.link_reports(master, names[largest:], raw_dir)
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
    tp: list[throughput.Throughput],
    length: throughput.LengthLinearity,
    fresh: list[RunResult],
    extra: list[RunResult],
    e2e_note: str,
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
    missing = e2e_note or (f"not run (largest: {fresh[-1].reports:,})" if fresh else "not run")
    for size, seconds in ((TARGET_SIZE, TARGET_E2E_SECONDS), (HUGE_SIZE, TARGET_HUGE_SECONDS)):
        run = next((r for r in fresh if r.reports == size and r.ok), None)
        if run is None and size == HUGE_SIZE:
            continue  # only with --with-100k
        out.append(
            Verdict(
                f"{size:,} reports end to end < {seconds:.0f} s",
                f"{run.wall_seconds:.1f} s" if run else missing,
                run.wall_seconds < seconds if run else None,
            )
        )
        peak = run.peak_bytes if run else None
        out.append(
            Verdict(
                f"{size:,} reports peak memory < {report.fmt_mem(TARGET_PEAK_BYTES)}",
                report.fmt_mem(peak) if run else missing,
                None if peak is None else peak < TARGET_PEAK_BYTES,
            )
        )
    inc = next((r for r in extra if r.label == "+1 report"), None)
    target = f"+1 report on {TARGET_SIZE:,} < {TARGET_INCREMENTAL_SECONDS:.0f} s"
    if inc is not None and inc.ok and inc.reports == TARGET_SIZE + 1:
        met = inc.wall_seconds < TARGET_INCREMENTAL_SECONDS
        out.append(Verdict(target, f"{inc.wall_seconds:.1f} s", met))
    else:
        out.append(Verdict(target, missing, None))
    growth = big.ms_per_report / tp[0].ms_per_report
    out.append(
        Verdict(
            f"linear: clean + extract ms/report, largest vs smallest <= {LINEAR_SLACK}",
            f"{growth:.2f} ({tp[0].reports:,} -> {big.reports:,})",
            growth <= LINEAR_SLACK if len(tp) > 1 else None,
        )
    )
    out.append(
        Verdict(
            f"linear in a report's length: {length.parts} reports as one text / one by one <= {LINEAR_SLACK}",
            f"{length.ratio:.2f} ({length.characters:,} characters)",
            length.ratio <= LINEAR_SLACK,
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

        tp = _measure_throughput(builder, args.sizes, work, args.workers, args.runs)
        _progress("extract over one long text made of many reports, and over its parts")
        length = throughput.length_linearity(corpus.distinct_texts(builder.reports(args.sizes[-1])), work)
        if args.skip_e2e:
            fresh, extra, e2e_note = [], [], "skipped (--skip-e2e)"
        else:
            fresh, extra, e2e_note = _run_end_to_end(builder, args.e2e_sizes, scratch)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    sample = builder.reports(args.sizes[-1])
    mean_kb = sum(r.size_bytes for r in sample) / len(sample) / 1000
    lines = [
        f"fupin benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}, commit {_git_head()}",
        f"machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, {info['python']}, {info['os']}",
        f"load average (1/5/15 min) before {load_before}, after {report.load_average()}",
        f"corpus: {args.sizes[-1]:,} synthetic reports from {len(templates)} real ones in "
        f"{args.raw_dir.name}/ "
        f"(county swapped among {len(counties):,}, numbers ±{args.perturb:.0%}, paragraphs shuffled; "
        f"seed {args.seed}), mean {mean_kb:.1f} KB/file as saved",
        corpus.describe(sample),
        "",
        "Clean + extract throughput (in process: clean_document -> subject_county -> extract_facts, a",
        "copy of an earlier text not extracted; bare = one precompiled regex for numbers with units,",
        "mention re = the project's own mention regex alone, each finditer over the same decoded texts;",
        f"pool = {args.workers} forked processes; every figure the median of {args.runs} interleaved runs)",
        report.throughput_table(tp),
        report.stage_line(tp[-1]),
        f"a report's length: {length.parts} reports joined into one text of {length.characters:,} "
        f"characters extract in {length.whole_seconds:.2f} s, one by one in {length.parts_seconds:.2f} s "
        f"(ratio {length.ratio:.2f})",
        "",
        "End to end (`fupin run` in a subprocess, fresh warehouse per size; linearity = s/report relative "
        "to the smallest; marginal = extra time per extra report since the previous size)",
    ]
    if fresh:
        lines += [report.endtoend_table(fresh, extra), report.peak_memory_line(fresh)]
        lines += ["", "Seconds per step (from the fupin run output)"]
        lines.append(report.steps_table([*fresh, *(r for r in extra if r.steps)]))
    else:
        lines.append(e2e_note)
    lines += ["", "Targets", report.verdict_table(_verdicts(tp, length, fresh, extra, e2e_note))]
    lines.append(f"\nbenchmark took {time.perf_counter() - started:.0f} s")
    print("\n".join(lines))
    _write_json(args, info, tp, length, fresh, extra, e2e_note)
    return 0 if all(r.ok for r in [*fresh, *extra]) else 1


def _write_json(
    args: argparse.Namespace,
    info: dict[str, str],
    tp: list[throughput.Throughput],
    length: throughput.LengthLinearity,
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
        "length_linearity": asdict(length),
        "end_to_end": [run_dict(r) for r in fresh],
        "extra_runs": [run_dict(r) for r in extra],
        "end_to_end_note": e2e_note,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
