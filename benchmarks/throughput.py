"""In-process throughput of clean + subject + extract, next to two reference scans of the same text.

What is timed is the library path of the pipeline's clean and extract stages, file by file:
cleaning.clean_document → places.subject_county → (a copy of a text already read stops here, as
the pipeline records it as a duplicate) → extract.extract_facts, with the report's places found
once (places.places_in) for both, as `fupin evaluate` does (the pipeline's two stages still look
for them once each: they run apart, with the database between them). The references are one bare
precompiled regex for numbers with units, and the project's own mention regex (the pattern of
mentions.mention_finder) alone, each `finditer` over the same decoded texts. Every measurement is
repeated (`runs`, interleaved so load on the shared machine hits all of them alike) and the
median is kept, for the references as for the library.

Decoding the files, building the corpus, the catalog and the place index, and starting the process
pool happen before the clock starts; every timed section only runs library code over texts already
in memory. A file whose bytes repeat another's is read once, as the pipeline cleans a document once.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipelines.core import cleaning, documents, extract
from pipelines.core.catalog import Catalog
from pipelines.core.mentions import mention_finder
from pipelines.core.places import PlaceIndex

# The speed-of-light reference: one precompiled regex for a number with a unit, nothing else.
BARE_NUMBER_WITH_UNIT = re.compile(r"\d+(?:\.\d+)?(?:万|亿)?(?:元|户|人|名|个|%|兆瓦|千瓦|亩|公里)")
_SCAN_MIN_SECONDS = 0.3  # a reference scan of a small corpus is repeated until this long (mean pass)
STAGES = ("clean", "subject", "extract")
RUNS = 3
Texts = Sequence[tuple[str, bool]]  # (decoded text, is_html) per distinct file


@dataclass(slots=True)
class Throughput:
    reports: int  # files in the corpus, copies included
    documents: int  # distinct files (bytes), what is cleaned
    megabytes: float  # UTF-8 bytes of the decoded texts of the distinct files / 1e6
    runs: int
    bare_seconds: float  # median pass of the bare regex over all texts
    mention_regex_seconds: float  # median pass of the project's mention regex
    bare_matches: int
    single_seconds: float  # median: clean + subject + extract of all texts in this process
    stage_seconds: dict[str, float] = field(default_factory=dict)  # medians per stage
    facts: int = 0
    unclassified: int = 0
    not_extracted: int = 0  # cleaned, then not extracted: a copy of an earlier text, or no county
    workers: int = 1
    pool_seconds: float | None = None  # median of the same work over a process pool; None: not run
    all_runs: dict[str, list[float]] = field(default_factory=dict)  # every run's seconds, by what

    @property
    def bare_mb_s(self) -> float:
        return self.megabytes / self.bare_seconds

    @property
    def mention_regex_mb_s(self) -> float:
        return self.megabytes / self.mention_regex_seconds

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
    def mention_ratio(self) -> float:
        """Single-process clean + extract speed as a share of the mention regex's alone."""
        return self.mention_regex_seconds / self.single_seconds

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
    text: str,
    is_html: bool,
    work: Workload,
    stage_seconds: dict[str, float] | None = None,
    seen: set[str] | None = None,
    *,
    copy: bool = False,
) -> tuple[int, int] | None:
    """Clean one file, find its county, extract its facts: (facts, unclassified mentions), or None
    when the pipeline would stop before extracting (a copy of an earlier text, no text, no county).

    `seen` holds the text fingerprints of the files before (updated), or `copy` says the text is
    a copy; with `stage_seconds`, each stage's time is added to it (keys: STAGES)."""
    clock = time.perf_counter
    t0 = clock()
    cleaned = cleaning.clean_document(text, is_html=is_html)
    fingerprint = documents.text_fingerprint(cleaned.text)
    t1 = clock()
    county = found = None
    if cleaned.text.strip():
        found = work.places.places_in(cleaned.text)  # once, for the subject and the extractor
        county = work.places.subject_county(
            cleaned.title, cleaned.text, cleaned.outlet, cleaned.page_header, found_places=found
        )
    t2 = clock()
    result = None
    copy = copy or (seen is not None and fingerprint in seen)
    if county is not None and not copy:
        if seen is not None:
            seen.add(fingerprint)
        result = extract.extract_facts(
            cleaned.text,
            subject=county,
            published=cleaned.published_date,
            catalog=work.catalog,
            places=work.places,
            work_report=cleaned.is_work_report,
            found_places=found,
        )
    if stage_seconds is not None:
        for stage, seconds in zip(STAGES, (t1 - t0, t2 - t1, clock() - t2), strict=True):
            stage_seconds[stage] += seconds
    return None if result is None else (len(result.facts), len(result.unclassified))


@dataclass(slots=True)
class _Pass:
    seconds: float
    stages: dict[str, float]
    facts: int
    unclassified: int
    skipped: list[bool]  # per text: not extracted (a copy of an earlier text, or no county)


def _timed_single(texts: Texts, work: Workload) -> _Pass:
    """One pass in this process, copies of an earlier text recognised as the pipeline does."""
    stages = dict.fromkeys(STAGES, 0.0)
    facts = unclassified = 0
    seen: set[str] = set()
    skipped = []
    started = time.perf_counter()
    for text, is_html in texts:
        counts = process_one(text, is_html, work, stages, seen)
        skipped.append(counts is None)
        if counts is not None:
            facts += counts[0]
            unclassified += counts[1]
    return _Pass(time.perf_counter() - started, stages, facts, unclassified, skipped)


def reference_scan(texts: Texts, pattern: re.Pattern[str]) -> tuple[float, int]:
    """(seconds for one pass, matches) of `pattern.finditer` over every text; a small corpus is
    scanned again until the time is measurable, and the mean pass kept."""
    finditer = pattern.finditer
    passes, matches, spent = 0, 0, 0.0
    while spent < _SCAN_MIN_SECONDS:
        started = time.perf_counter()
        matches = 0
        for text, _ in texts:
            for _m in finditer(text):
                matches += 1
        spent += time.perf_counter() - started
        passes += 1
    return spent / passes, matches


def _run_span(span: tuple[int, int]) -> tuple[int, int]:
    texts: Texts = _SHARED["texts"]  # type: ignore[assignment]
    work: Workload = _SHARED["work"]  # type: ignore[assignment]
    skipped: list[bool] = _SHARED["skipped"]  # type: ignore[assignment]
    facts = unclassified = 0
    for index in range(*span):
        text, is_html = texts[index]
        # the serial pass decided which texts are copies: a worker sees only its own span
        counts = process_one(text, is_html, work, copy=skipped[index])
        if counts is not None:
            facts += counts[0]
            unclassified += counts[1]
    return facts, unclassified


def _noop(_: int) -> int:
    return os.getpid()


def _timed_pool(texts: Texts, work: Workload, workers: int, skipped: list[bool]) -> float:
    """Seconds for the pool to clean + extract every text, chunked, ~8 chunks per worker."""
    _SHARED.update(texts=texts, work=work, skipped=skipped)
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


@dataclass(slots=True)
class LengthLinearity:
    """The extractor on one long text made of many reports, against the same reports one by one."""

    parts: int
    characters: int
    whole_seconds: float  # median
    parts_seconds: float  # median of the sum over the parts

    @property
    def ratio(self) -> float:
        return self.whole_seconds / self.parts_seconds


def length_linearity(texts: Texts, work: Workload, *, parts: int = 300, runs: int = RUNS) -> LengthLinearity:
    """extract_facts over `parts` cleaned reports joined into one text, and over each of them: the
    time per character must not grow with a report's length (a scan per clause or per number over
    the whole text would make the joined text much slower)."""
    cleaned = []
    for text, is_html in texts:
        doc = cleaning.clean_document(text, is_html=is_html)
        if doc.text.strip():
            cleaned.append(doc)
        if len(cleaned) == parts:
            break
    subject = None
    for doc in cleaned:
        subject = subject or work.places.subject_county(doc.title, doc.text, doc.outlet, doc.page_header)
    whole = "\n".join(doc.text for doc in cleaned)

    def extract_one(text: str) -> None:
        found = work.places.places_in(text)
        extract.extract_facts(
            text,
            subject=subject,
            published=None,
            catalog=work.catalog,
            places=work.places,
            found_places=found,
        )

    whole_runs, parts_runs = [], []
    for _ in range(runs):
        started = time.perf_counter()
        extract_one(whole)
        whole_runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        for doc in cleaned:
            extract_one(doc.text)
        parts_runs.append(time.perf_counter() - started)
    return LengthLinearity(
        len(cleaned), len(whole), statistics.median(whole_runs), statistics.median(parts_runs)
    )


def warm_up(texts: Texts, work: Workload) -> None:
    """Load what the first call would (OpenCC dictionaries, the compiled mention finder)."""
    for text, is_html in texts[:3]:
        process_one(text, is_html, work)


def measure(texts: Texts, work: Workload, workers: int, *, reports: int, runs: int = RUNS) -> Throughput:
    """Medians of `runs` interleaved runs of: bare regex, mention regex, 1 process, pool."""
    megabytes = sum(len(t.encode("utf-8")) for t, _ in texts) / 1e6
    mention_pattern = mention_finder(work.catalog).pattern
    pool_possible = workers > 1 and "fork" in multiprocessing.get_all_start_methods()
    seconds: dict[str, list[float]] = {"bare": [], "mention_regex": [], "single": [], "pool": []}
    stage_runs: dict[str, list[float]] = {s: [] for s in STAGES}
    bare_matches = 0
    last: _Pass | None = None
    for _ in range(runs):
        bare, bare_matches = reference_scan(texts, BARE_NUMBER_WITH_UNIT)
        seconds["bare"].append(bare)
        seconds["mention_regex"].append(reference_scan(texts, mention_pattern)[0])
        last = _timed_single(texts, work)
        seconds["single"].append(last.seconds)
        for stage in STAGES:
            stage_runs[stage].append(last.stages[stage])
        if pool_possible:
            seconds["pool"].append(_timed_pool(texts, work, workers, last.skipped))
    assert last is not None
    median = statistics.median
    return Throughput(
        reports=reports,
        documents=len(texts),
        megabytes=megabytes,
        runs=runs,
        bare_seconds=median(seconds["bare"]),
        mention_regex_seconds=median(seconds["mention_regex"]),
        bare_matches=bare_matches,
        single_seconds=median(seconds["single"]),
        stage_seconds={s: median(v) for s, v in stage_runs.items()},
        facts=last.facts,
        unclassified=last.unclassified,
        not_extracted=sum(last.skipped),
        workers=workers,
        pool_seconds=median(seconds["pool"]) if seconds["pool"] else None,
        all_runs={k: v for k, v in seconds.items() if v},
    )


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
