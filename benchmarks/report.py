"""The machine description, plain-text aligned tables and the target verdicts of the benchmark."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.endtoend import RunResult
from benchmarks.throughput import STAGES, Throughput

GIB = 1024**3


def machine() -> dict[str, str]:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) * 1024 / GIB:.1f} GiB"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} ({usable} usable)",
        "ram": ram,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
    }


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """Columns aligned; the first `left` columns left-aligned, the rest right-aligned (numbers)."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i < left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _n(x: int) -> str:
    return f"{x:,}"


def fmt_mem(b: int | None) -> str:
    return "?" if b is None else f"{b / GIB:.2f} GiB" if b >= GIB else f"{b / 1024**2:.0f} MiB"


def throughput_table(results: Sequence[Throughput]) -> str:
    base = results[0].ms_per_report
    headers = [
        "reports", "MB", "bare MB/s", "mention re MB/s", "1 proc MB/s", "rep/s", "pool MB/s", "rep/s",
        "speed-up", "1 proc/bare", "1 proc/mention re", "ms/report", "linearity",
    ]  # fmt: skip
    rows = []
    for r in results:
        pool = r.pool_mb_s
        rows.append(
            [
                _n(r.reports),
                f"{r.megabytes:.1f}",
                f"{r.bare_mb_s:.1f}",
                f"{r.mention_regex_mb_s:.1f}",
                f"{r.single_mb_s:.2f}",
                f"{r.reports / r.single_seconds:.0f}",
                f"{pool:.2f}" if pool else "-",
                f"{r.reports / r.pool_seconds:.0f}" if r.pool_seconds else "-",
                f"{r.single_seconds / r.pool_seconds:.2f}x" if r.pool_seconds else "-",
                f"{100 * r.ratio:.1f} %",
                f"{100 * r.mention_ratio:.1f} %",
                f"{r.ms_per_report:.2f}",
                f"{r.ms_per_report / base:.2f}",
            ]
        )
    return table(headers, rows, left=0)


def stage_line(r: Throughput) -> str:
    total = sum(r.stage_seconds.values()) or 1.0
    shares = ", ".join(
        f"{s} {1000 * r.stage_seconds[s] / r.reports:.2f} ms ({100 * r.stage_seconds[s] / total:.0f} %)"
        for s in STAGES
    )
    spread = ", ".join(f"{what} {min(v):.2f}-{max(v):.2f} s" for what, v in r.all_runs.items() if len(v) > 1)
    return (
        f"per report at {_n(r.reports)}: {shares}; {r.facts / r.reports:.1f} facts and "
        f"{r.unclassified / r.reports:.1f} unclassified mentions per report; {_n(r.not_extracted)} files "
        f"cleaned but not extracted (copies of a text, no county); bare regex "
        f"{r.bare_matches / r.reports:.1f} matches per report"
        + (f"\nruns ranged: {spread}" if spread else "")
    )


def peak_memory_line(fresh: Sequence[RunResult]) -> str:
    return "peak memory of `fupin run` (process tree PSS): " + ", ".join(
        f"{_n(r.reports)} reports {fmt_mem(r.peak_bytes)}" for r in fresh if r.ok
    )


@dataclass(frozen=True, slots=True)
class LinearFit:
    fixed_seconds: float  # a in T = a + b·N
    per_report_seconds: float  # b
    max_deviation: float  # largest |T - fit| / T over the sizes


def linear_fit(runs: Sequence[RunResult]) -> LinearFit | None:
    """Least-squares T = a + b·N over fresh runs of different sizes (needs two sizes or more)."""
    points = [(r.reports, r.wall_seconds) for r in runs]
    if len({n for n, _ in points}) < 2:
        return None
    mean_n = sum(n for n, _ in points) / len(points)
    mean_t = sum(t for _, t in points) / len(points)
    b = sum((n - mean_n) * (t - mean_t) for n, t in points) / sum((n - mean_n) ** 2 for n, _ in points)
    a = mean_t - b * mean_n
    deviation = max(abs(t - (a + b * n)) / t for n, t in points)
    return LinearFit(a, b, deviation)


def endtoend_table(fresh: Sequence[RunResult], extra: Sequence[RunResult]) -> str:
    ok = [r for r in fresh if r.ok]
    base = ok[0].wall_seconds / ok[0].reports if ok else None
    headers = [
        "run", "reports", "wall s", "s/report", "linearity", "marginal ms/rep", "peak mem (tree PSS)",
        "max RSS 1 proc",
    ]  # fmt: skip
    rows = []
    previous: RunResult | None = None
    for r in [*fresh, *extra]:
        per = r.wall_seconds / r.reports if r.reports else 0.0
        is_fresh = r in fresh
        marginal = "-"
        if is_fresh and r.ok and previous is not None and r.reports > previous.reports:
            extra_seconds = r.wall_seconds - previous.wall_seconds
            marginal = f"{1000 * extra_seconds / (r.reports - previous.reports):.1f}"
        rows.append(
            [
                r.label + ("" if r.ok else f"  FAILED ({r.note})"),
                _n(r.reports),
                f"{r.wall_seconds:.1f}",
                f"{per:.4f}" if is_fresh else "-",
                f"{per / base:.3f}" if is_fresh and base and r.ok else "-",
                marginal,
                fmt_mem(r.peak_pss_bytes),
                fmt_mem(r.max_rss_bytes),
            ]
        )
        if is_fresh and r.ok:
            previous = r
    return table(headers, rows)


_MAIN_STEPS = (
    "dbt parse",
    "scraped_pages",
    "ingest_raw_documents",
    "reference_data",
    "clean_documents",
    "extract_facts",
    "validate_facts",
    "dbt_models",
    "published_warehouse",
)


def steps_table(runs: Sequence[RunResult]) -> str:
    """Seconds per step as `fupin run` reports them (dbt parse: seconds since start)."""
    runs = [r for r in runs if r.steps]
    if not runs:
        return "(no step timings in the fupin output)"
    headers = ["step", *[f"{r.label} ({_n(r.reports)})" for r in runs]]
    names = [s for s in _MAIN_STEPS if any(s in r.steps for r in runs)]
    rows = [[name, *[f"{r.steps[name]:.1f}" if name in r.steps else "-" for r in runs]] for name in names]
    checks = [sum(v for k, v in r.steps.items() if k not in _MAIN_STEPS) for r in runs]
    rows.append(["asset checks, other steps", *[f"{c:.1f}" for c in checks]])
    rest = [r.wall_seconds - sum(r.steps.values()) for r in runs]
    rows.append(["rest (imports, Dagster, summary)", *[f"{x:.1f}" for x in rest]])
    return table(headers, rows)


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    measured: str
    met: bool | None  # None: not measured

    def row(self) -> list[str]:
        status = "not measured" if self.met is None else "MET" if self.met else "MISSED"
        return [self.target, self.measured, status]


def verdict_table(verdicts: Sequence[Verdict]) -> str:
    return table(["target", "measured", "status"], [v.row() for v in verdicts], left=2)
