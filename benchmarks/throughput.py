"""In-process throughput of clean + extract, next to one bare regular expression over the same text.

What is timed is exactly the library path of the pipeline's clean and extract stages:
cleaning.clean_document → places.subject_county → extract.extract_facts. Reading files, building
the corpus, the catalog and the place index, and starting the process pool happen before the clock
starts; every timed section only runs library code over texts already in memory.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipelines.core import cleaning, extract
from pipelines.core.catalog import Catalog
from pipelines.core.places import PlaceIndex

# The speed-of-light reference: one precompiled regex for a number with a unit, nothing else.
BARE_NUMBER_WITH_UNIT = re.compile(r"\d+(?:\.\d+)?(?:万|亿)?(?:元|户|人|名|个|%|兆瓦|千瓦|亩|公里)")
_BARE_MIN_SECONDS = 0.5  # the bare scan of a small corpus is repeated until this long, best pass kept
STAGES = ("clean", "subject", "extract")
Texts = Sequence[tuple[str, bool]]  # (text, is_html) per report


@dataclass(slots=True)
class Throughput:
    reports: int
    megabytes: float  # UTF-8 bytes of the input texts / 1e6
    bare_seconds: float  # best full pass of the bare regex over all texts
    bare_matches: int
    single_seconds: float  # clean + extract of all texts in this process
    stage_seconds: dict[str, float] = field(default_factory=dict)
    facts: int = 0
    unclassified: int = 0
    workers: int = 1
    pool_seconds: float | None = None  # the same work over a process pool, None when not measured

    @property
    def bare_mb_s(self) -> float:
        return self.megabytes / self.bare_seconds

    @property
    def single_mb_s(self) -> float:
        return self.megabytes / self.single_seconds

    @property
    def pool_mb_s(self) -> float | None:
        return self.megabytes / self.pool_seconds if self.pool_seconds else None

    @property
    def ratio(self) -> float:
        """Single-process clean + extract speed as a share of the bare scan's."""
        return self.bare_seconds / self.single_seconds

    @property
    def ms_per_report(self) -> float:
        return 1000 * self.single_seconds / self.reports


@dataclass(frozen=True, slots=True)
class Workload:
    catalog: Catalog
    places: PlaceIndex


# Set before the pool forks, so workers inherit the texts, catalog and place index instead of
# receiving them pickled: only (start, stop) index pairs and two counts cross the process boundary.
_SHARED: dict[str, object] = {}


def process_one(
    text: str, is_html: bool, work: Workload, stage_seconds: dict[str, float] | None = None
) -> tuple[int, int]:
    """Clean one report, find its county, extract its facts: (facts, unclassified mentions).

    With `stage_seconds`, each stage's time is added to it (keys: STAGES)."""
    clock = time.perf_counter
    t0 = clock()
    cleaned = cleaning.clean_document(text, is_html=is_html)
    t1 = clock()
    county = work.places.subject_county(cleaned.title, cleaned.text)
    t2 = clock()
    result = extract.extract_facts(
        cleaned.text,
        subject=county,
        published=cleaned.published_date,
        catalog=work.catalog,
        places=work.places,
    )
    if stage_seconds is not None:
        for stage, seconds in zip(STAGES, (t1 - t0, t2 - t1, clock() - t2), strict=True):
            stage_seconds[stage] += seconds
    return len(result.facts), len(result.unclassified)


def _timed_single(texts: Texts, work: Workload) -> tuple[float, dict[str, float], int, int]:
    """Total seconds, seconds per stage, facts, unclassified mentions; one pass in this process."""
    stages = dict.fromkeys(STAGES, 0.0)
    facts = unclassified = 0
    started = time.perf_counter()
    for text, is_html in texts:
        f, u = process_one(text, is_html, work, stages)
        facts += f
        unclassified += u
    return time.perf_counter() - started, stages, facts, unclassified


def bare_scan(texts: Texts) -> tuple[float, int]:
    """(best seconds for one pass, matches) of the bare regex over every text."""
    finditer = BARE_NUMBER_WITH_UNIT.finditer
    best, matches, spent = float("inf"), 0, 0.0
    while spent < _BARE_MIN_SECONDS:
        started = time.perf_counter()
        matches = 0
        for text, _ in texts:
            for _m in finditer(text):
                matches += 1
        elapsed = time.perf_counter() - started
        best, spent = min(best, elapsed), spent + elapsed
    return best, matches


def _run_span(span: tuple[int, int]) -> tuple[int, int]:
    texts: Texts = _SHARED["texts"]  # type: ignore[assignment]
    work: Workload = _SHARED["work"]  # type: ignore[assignment]
    facts = unclassified = 0
    for text, is_html in texts[span[0] : span[1]]:
        f, u = process_one(text, is_html, work)
        facts += f
        unclassified += u
    return facts, unclassified


def _noop(_: int) -> int:
    return os.getpid()


def _timed_pool(texts: Texts, work: Workload, workers: int) -> float:
    """Seconds for the pool to clean + extract every text, chunked, ~8 chunks per worker."""
    _SHARED.update(texts=texts, work=work)
    try:
        chunk = max(1, -(-len(texts) // (workers * 8)))
        spans = [(i, min(i + chunk, len(texts))) for i in range(0, len(texts), chunk)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pool.map(_noop, range(workers * 4))  # all workers up before the clock starts
            started = time.perf_counter()
            pool.map(_run_span, spans, chunksize=1)
            return time.perf_counter() - started
    finally:
        _SHARED.clear()


def warm_up(texts: Texts, work: Workload) -> None:
    """Load what the first call would (OpenCC dictionaries, the compiled mention finder)."""
    for text, is_html in texts[:3]:
        process_one(text, is_html, work)


def measure(texts: Texts, work: Workload, workers: int) -> Throughput:
    megabytes = sum(len(t.encode("utf-8")) for t, _ in texts) / 1e6
    bare_seconds, bare_matches = bare_scan(texts)
    seconds, stages, facts, unclassified = _timed_single(texts, work)
    result = Throughput(
        reports=len(texts),
        megabytes=megabytes,
        bare_seconds=bare_seconds,
        bare_matches=bare_matches,
        single_seconds=seconds,
        stage_seconds=stages,
        facts=facts,
        unclassified=unclassified,
        workers=workers,
    )
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        result.pool_seconds = _timed_pool(texts, work, workers)
    return result


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
