"""Profile the hot paths with pyinstrument, on the benchmark's synthetic corpus.

    python benchmarks/profile.py library [--reports 500]     # clean + extract, in process
    python benchmarks/profile.py fupin-run [--reports 1000]  # `fupin run` in process, stages serial
    python benchmarks/profile.py stages [--reports 1000]     # seconds per Python stage, no Dagster/dbt

fupin-run forces the stages to run serially (pool.PARALLEL_THRESHOLD raised) so the clean and
extract work shows up in this process's profile instead of in pool workers; dbt runs as its own
process and appears as time spent waiting for it. Output: text to stdout, HTML with --html FILE.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make the `benchmarks` package importable
    sys.path.insert(0, str(REPO))

from pyinstrument import Profiler  # noqa: E402

from benchmarks import corpus, throughput  # noqa: E402
from pipelines.core.catalog import load_catalog  # noqa: E402
from pipelines.core.gazetteer import load_gazetteer  # noqa: E402
from pipelines.core.places import PlaceIndex  # noqa: E402


def _builder(seed: int) -> tuple[corpus.CorpusBuilder, throughput.Workload]:
    gazetteer = load_gazetteer()
    places = PlaceIndex(gazetteer)
    templates = corpus.load_templates(REPO / "raw", places, gazetteer)
    builder = corpus.CorpusBuilder(templates, corpus.replacement_counties(gazetteer, places), seed=seed)
    return builder, throughput.Workload(load_catalog(), places)


def profile_library(reports: int, seed: int) -> Profiler:
    builder, work = _builder(seed)
    texts = corpus.distinct_texts(builder.reports(reports))
    throughput.warm_up(texts, work)
    profiler = Profiler(interval=0.0005)
    seen: set[str] = set()
    with profiler:
        for text, is_html in texts:
            throughput.process_one(text, is_html, work, seen=seen)
    return profiler


def profile_fupin_run(reports: int, seed: int) -> Profiler:
    from pipelines import cli
    from pipelines.core import pool

    builder, _ = _builder(seed)
    pool.PARALLEL_THRESHOLD = 10**9  # serial, so the stage work is in this profile
    with tempfile.TemporaryDirectory(prefix="fupin-profile-") as tmp:
        raw_dir = Path(tmp) / "raw"
        corpus.write_reports(builder.reports(reports), raw_dir)
        profiler = Profiler(interval=0.001)
        with profiler:
            code = cli.main(["run", "--raw-dir", str(raw_dir), "--warehouse", str(Path(tmp) / "w.duckdb")])
        if code != 0:
            print(f"fupin run exited with {code}", file=sys.stderr)
    return profiler


def time_stages(reports: int, seed: int) -> None:
    """Wall and main-process CPU seconds of each Python stage on a fresh DuckDB file (no Dagster,
    no dbt): shows which stage grows with the corpus, and what the database part costs."""
    import time

    from pipelines.core import stages, warehouse

    builder, work = _builder(seed)
    gazetteer = load_gazetteer()
    with tempfile.TemporaryDirectory(prefix="fupin-stages-") as tmp:
        raw_dir = Path(tmp) / "raw"
        corpus.write_reports(builder.reports(reports), raw_dir)
        con = warehouse.connect(Path(tmp) / "w.duckdb")
        warehouse.ensure_raw_schema(con)
        steps = [
            ("reference data", lambda: stages.load_reference_data(con, work.catalog, gazetteer)),
            ("raw documents", lambda: stages.sync_raw_documents(con, raw_dir)),
            ("clean", lambda: stages.clean_documents(con, work.places)),
            ("extract", lambda: stages.extract_document_facts(con, work.catalog, work.places, gazetteer)),
            ("validate", lambda: stages.validate_facts(con, work.catalog, gazetteer)),
        ]
        for name, step in steps:
            wall, cpu = time.perf_counter(), time.process_time()
            step()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"{name:15} {wall:8.2f} s wall {cpu:8.2f} s CPU (main process)", flush=True)
        con.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["library", "fupin-run", "stages"])
    p.add_argument("--reports", type=int, help="default 500 (library) or 1000 (fupin-run)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--html", type=Path, help="also write pyinstrument's HTML report here")
    args = p.parse_args(argv)
    if args.what == "stages":
        time_stages(args.reports or 1000, args.seed)
        return 0
    if args.what == "library":
        profiler = profile_library(args.reports or 500, args.seed)
    else:
        profiler = profile_fupin_run(args.reports or 1000, args.seed)
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        args.html.write_text(profiler.output_html(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
