"""Before/after: the library of another commit against this worktree's, side by side in one run.

    python benchmarks/compare.py --base main [--this REV] [--reports 2000] [--runs 5] [--plain]

The base commit is exported (`git archive`) to a scratch dir. The corpus is built once (this
worktree's benchmarks/corpus.py), decoded, and handed to two long-lived worker processes, one per
side, each importing its own `pipelines`. They take turns, in alternating order, doing one pass of
clean → subject → extract over every text, so the load of a shared machine falls on both alike.
Printed: median CPU and wall seconds per side and stage, the speed-up, and whether the output is
identical: a hash of every report's cleaned text and metadata, subject county, facts and
unclassified mentions (the reports that differ are listed).

`--plain` uses the corpus of the benchmark before HTML pages, other encodings, traditional script
and copies were added (plain UTF-8 text files, all distinct).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import inspect
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("clean", "subject", "extract")


def _export(rev: str, into: Path) -> Path:
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", rev], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def _build_corpus(reports: int, seed: int, plain: bool, path: Path) -> int:
    sys.path.insert(0, str(REPO))
    from benchmarks import corpus
    from pipelines.core.gazetteer import load_gazetteer
    from pipelines.core.places import PlaceIndex

    gazetteer = load_gazetteer()
    places = PlaceIndex(gazetteer)
    templates = corpus.load_templates(REPO / "raw", places, gazetteer)
    builder = corpus.CorpusBuilder(
        templates, corpus.replacement_counties(gazetteer, places), seed=seed, mixed=not plain
    )
    texts = corpus.distinct_texts(builder.reports(reports))
    path.write_bytes(pickle.dumps(texts))
    print(corpus.describe(builder.reports(reports)), file=sys.stderr)
    return len(texts)


# ---------------------------------------------------------------------------------------------- worker


def _record(value: object) -> object:
    """A plain, comparable form of a dataclass (or anything else)."""
    if dataclasses.is_dataclass(value):
        return tuple((f.name, _record(getattr(value, f.name))) for f in dataclasses.fields(value))
    return value


def _worker(root: Path, corpus_path: Path) -> None:
    sys.path.insert(0, str(root))
    import pipelines
    from pipelines.core import cleaning, documents, extract
    from pipelines.core.catalog import load_catalog
    from pipelines.core.gazetteer import load_gazetteer
    from pipelines.core.places import PlaceIndex

    assert Path(pipelines.__file__).is_relative_to(root), (pipelines.__file__, root)
    texts = pickle.loads(corpus_path.read_bytes())
    places = PlaceIndex(load_gazetteer())
    catalog = load_catalog()
    # places found once per report, passed to subject_county and extract_facts (when they take them)
    finds_once = hasattr(places, "places_in")
    extract_takes_places = "found_places" in inspect.signature(extract.extract_facts).parameters

    def one(text: str, is_html: bool, seen: set[str], cpu: dict[str, float]) -> str:
        t0 = time.process_time()
        cleaned = cleaning.clean_document(text, is_html=is_html)
        fingerprint = documents.text_fingerprint(cleaned.text)
        t1 = time.process_time()
        county, found, extraction = None, None, None
        if cleaned.text.strip():
            if finds_once:
                found = places.places_in(cleaned.text)
                county = places.subject_county(
                    cleaned.title, cleaned.text, cleaned.outlet, cleaned.page_header, found_places=found
                )
            else:
                county = places.subject_county(
                    cleaned.title, cleaned.text, cleaned.outlet, cleaned.page_header
                )
        t2 = time.process_time()
        if county is not None and fingerprint not in seen:
            seen.add(fingerprint)
            kwargs = {"found_places": found} if extract_takes_places else {}
            extraction = extract.extract_facts(
                cleaned.text,
                subject=county,
                published=cleaned.published_date,
                catalog=catalog,
                places=places,
                work_report=cleaned.is_work_report,
                **kwargs,
            )
        t3 = time.process_time()
        for stage, seconds in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            cpu[stage] += seconds
        record = (_record(cleaned), _record(county), _record(extraction))
        return hashlib.sha256(repr(record).encode("utf-8")).hexdigest()[:16]

    one(*texts[0], set(), dict.fromkeys(STAGES, 0.0))  # warm-up: OpenCC, compiled patterns
    print("ready", flush=True)
    for command in sys.stdin:
        if command.strip() != "run":
            break
        cpu = dict.fromkeys(STAGES, 0.0)
        seen: set[str] = set()
        wall, started = time.perf_counter(), time.process_time()
        digests = [one(text, is_html, seen, cpu) for text, is_html in texts]
        result = {
            "cpu": time.process_time() - started,
            "wall": time.perf_counter() - wall,
            "stages": cpu,
            "digests": digests,
        }
        print(json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------- parent


def _start(root: Path, corpus_path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(root), str(corpus_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit(f"worker for {root} did not start")
    return proc


def _run(proc: subprocess.Popen[str]) -> dict:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("run\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", default="main", help="commit to compare against (default main)")
    p.add_argument("--this", help="commit to compare (default: this worktree as it is)")
    p.add_argument("--reports", type=int, default=2000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--plain", action="store_true", help="plain UTF-8 text files only, no copies")
    p.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        _worker(*args.worker)
        return 0
    with tempfile.TemporaryDirectory(prefix="fupin-compare-") as tmp:
        base_root = _export(args.base, Path(tmp) / "base")
        corpus_path = Path(tmp) / "corpus.pkl"
        documents = _build_corpus(args.reports, args.seed, args.plain, corpus_path)
        this_root = _export(args.this, Path(tmp) / "this") if args.this else REPO
        sides = {"base": _start(base_root, corpus_path), "this": _start(this_root, corpus_path)}
        runs: dict[str, list[dict]] = {name: [] for name in sides}
        try:
            for i in range(args.runs):
                order = list(sides) if i % 2 == 0 else list(reversed(sides))
                for name in order:
                    runs[name].append(_run(sides[name]))
                print(
                    f"run {i + 1}: " + ", ".join(f"{n} {runs[n][-1]['cpu']:.2f} s CPU" for n in sides),
                    file=sys.stderr,
                )
        finally:
            for proc in sides.values():
                proc.communicate("quit\n")

    def median(name: str, key: str, stage: str | None = None) -> float:
        return statistics.median(r["stages"][stage] if stage else r[key] for r in runs[name])

    print(
        f"{args.reports:,} reports ({documents:,} distinct files), {args.runs} runs; "
        f"base {args.base}, this {args.this or 'worktree'}"
    )
    print(f"{'':8}{'CPU s':>8}{'wall s':>8}{'rep/s':>8}" + "".join(f"{s:>9}" for s in STAGES))
    for name in sides:
        cpu = median(name, "cpu")
        stages = "".join(f"{median(name, 'stages', s):9.2f}" for s in STAGES)
        print(f"{name:8}{cpu:8.2f}{median(name, 'wall'):8.2f}{args.reports / cpu:8.0f}{stages}")
    speed = median("base", "cpu") / median("this", "cpu")
    by_stage = ", ".join(
        f"{s} {median('base', 'stages', s) / max(median('this', 'stages', s), 1e-9):.2f}x" for s in STAGES
    )
    print(f"speed-up (median CPU): {speed:.2f}x; {by_stage}")
    base_digests, this_digests = runs["base"][0]["digests"], runs["this"][0]["digests"]
    differ = [i for i, (a, b) in enumerate(zip(base_digests, this_digests, strict=True)) if a != b]
    unstable = any(r["digests"] != this_digests for r in runs["this"])
    total = hashlib.sha256("".join(this_digests).encode()).hexdigest()[:16]
    if differ:
        print(f"OUTPUT DIFFERS in {len(differ)} of {documents} files: {differ[:20]}")
    else:
        print(f"output identical ({documents} files, hash {total})" + (" BUT NOT STABLE" if unstable else ""))
    return 1 if differ or unstable else 0


if __name__ == "__main__":
    sys.exit(main())
