"""Score the extractor against hand-annotated gold facts: the analyst's tool after a catalog edit.

A gold file is JSON Lines, one fact a line: {"file", "county", "metric" ("a|b" when either is
right), "year" (a number, null, or a list of acceptable ones), "value", "evidence"}. A predicted
fact matches a gold fact of the same file, county and metric whose value agrees within 0.01 %;
each prediction matches at most one gold fact, preferring one whose year is right. Precision and
recall count matches; year accuracy is counted over the matched pairs. Only files named in the
gold file are extracted and scored.

`metrics` narrows the scoring to some metric codes: a gold fact counts when one of its metrics is
among them, a prediction when its metric is. Per metric, a gold fact with alternatives ("a|b")
counts for the metric it was matched with, else for the first of them.

A sources file (CSV: file, url, county, province, publication_date, title) says what each page is
about: `county` the subject county (several, ';'-separated, for a report on a prefecture's
counties: any of them is right) and `publication_date` the date the page shows (empty when it
shows none). It scores the documents: the subject found against `county`, and the date found
against `publication_date` over the rows that have one. Its `url` is handed to the cleaner as the
URL a scraped page is saved with (the files of a benchmark are pages saved without their sidecar).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core import cleaning, documents
from pipelines.core.catalog import Catalog
from pipelines.core.extract import extract_facts
from pipelines.core.models import County, RejectedDocument


@dataclass(frozen=True, slots=True)
class GoldFact:
    file: str
    county: str
    metrics: frozenset[str]
    years: frozenset[int | None]
    value: float
    evidence: str


@dataclass(frozen=True, slots=True)
class Prediction:
    file: str
    county: str
    metric: str
    year: int | None
    value: float
    sentence: str = ""


@dataclass(slots=True)
class Score:
    gold: int
    predicted: int
    matches: list[tuple[GoldFact, Prediction]] = field(default_factory=list)
    misses: list[GoldFact] = field(default_factory=list)
    extras: list[Prediction] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return len(self.matches) / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return len(self.matches) / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def year_accuracy(self) -> float:
        if not self.matches:
            return 0.0
        return sum(p.year in g.years for g, p in self.matches) / len(self.matches)

    def per_metric(self) -> dict[str, tuple[int, int, int]]:
        """metric code -> (gold, predicted, matched)."""
        gold: Counter[str] = Counter()
        predicted: Counter[str] = Counter(p.metric for g, p in self.matches)
        predicted.update(p.metric for p in self.extras)
        matched: Counter[str] = Counter(p.metric for g, p in self.matches)
        gold.update(matched)
        gold.update(min(g.metrics) for g in self.misses)
        return {m: (gold[m], predicted[m], matched[m]) for m in sorted(gold | predicted)}

    def summary(self) -> str:
        return (
            f"gold={self.gold} predicted={self.predicted} matched={len(self.matches)} "
            f"precision={self.precision:.3f} recall={self.recall:.3f} f1={self.f1:.3f} "
            f"year_accuracy={self.year_accuracy:.3f}"
        )


class GoldFileError(ValueError):
    """The gold file is malformed; the message names the file and line."""


def load_gold(path: Path) -> list[GoldFact]:
    facts = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            years = entry["year"] if isinstance(entry["year"], list) else [entry["year"]]
            facts.append(
                GoldFact(
                    file=entry["file"],
                    county=entry["county"],
                    metrics=frozenset(entry["metric"].split("|")),
                    years=frozenset(years),
                    value=float(entry["value"]),
                    evidence=entry.get("evidence", ""),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldFileError(f"{path}:{number}: not a gold fact ({exc})") from exc
    return facts


@dataclass(frozen=True, slots=True)
class Source:
    """One row of a sources file: what the page is about and the date it shows."""

    file: str
    counties: frozenset[str]
    published: dt.date | None
    url: str | None = None


def load_sources(path: Path) -> dict[str, Source]:
    """file -> Source from a sources CSV; a malformed row raises GoldFileError naming the line."""
    sources: dict[str, Source] = {}
    with Path(path).open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"file", "county"} - set(reader.fieldnames or ())
        if missing:
            raise GoldFileError(f"{path}: no {', '.join(sorted(missing))} column")
        for row in reader:
            line = reader.line_num
            try:
                date_text = (row.get("publication_date") or "").strip()
                sources[row["file"].strip()] = Source(
                    file=row["file"].strip(),
                    counties=frozenset(c.strip() for c in (row["county"] or "").split(";") if c.strip()),
                    published=dt.date.fromisoformat(date_text) if date_text else None,
                    url=(row.get("url") or "").strip() or None,
                )
            except (ValueError, AttributeError) as exc:
                raise GoldFileError(f"{path}:{line}: not a sources row ({exc})") from exc
    return sources


def select_metrics(gold: list[GoldFact], metrics: Collection[str]) -> list[GoldFact]:
    """The gold facts about these metrics, each keeping only its alternatives among them."""
    wanted = frozenset(metrics)
    return [
        GoldFact(g.file, g.county, g.metrics & wanted, g.years, g.value, g.evidence)
        for g in gold
        if g.metrics & wanted
    ]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-9)


def score(
    gold: list[GoldFact], predictions: Iterable[Prediction], metrics: Collection[str] | None = None
) -> Score:
    """Match predictions to gold facts; with `metrics`, only facts about those metric codes count."""
    files = {g.file for g in gold}
    if metrics is not None:
        gold = select_metrics(gold, metrics)
        predictions = [p for p in predictions if p.metric in metrics]
    preds = _unique([p for p in predictions if p.file in files])
    result = Score(gold=len(gold), predicted=len(preds))
    used: set[int] = set()
    for g in gold:
        candidates = [
            i
            for i, p in enumerate(preds)
            if i not in used
            and p.file == g.file
            and p.county == g.county
            and p.metric in g.metrics
            and _close(p.value, g.value)
        ]
        if not candidates:
            result.misses.append(g)
            continue
        best = min(candidates, key=lambda i: preds[i].year not in g.years)
        used.add(best)
        result.matches.append((g, preds[best]))
    result.extras = [p for i, p in enumerate(preds) if i not in used]
    return result


def _unique(preds: list[Prediction]) -> list[Prediction]:
    # a fact stated twice in one file counts once
    seen, unique = set(), []
    for p in preds:
        key = (p.file, p.county, p.metric, round(p.value, 6), p.year)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


@dataclass(frozen=True, slots=True)
class FileResult:
    """What the library made of one file: its facts, subject county and publication date."""

    file: str
    predictions: list[Prediction]
    subject: County | None
    published: dt.date | None


def predict_file(
    raw_dir: Path, source_file: str, catalog: Catalog, places, *, url: str | None = None
) -> FileResult:
    """Run read → clean → subject → extract on one file, as the pipeline does.

    `url` stands for the URL a scraped page is saved with, when the file has none of its own."""
    doc = documents.read_raw_file(raw_dir, source_file)
    if isinstance(doc, RejectedDocument):
        raise GoldFileError(f"{source_file}: cannot be read: {doc.reason}")
    cleaned = cleaning.clean_document(doc.text, is_html=doc.is_html, url=doc.url or url)
    found = places.places_in(cleaned.text)  # searched once, for the subject and the extractor
    subject = places.subject_county(
        cleaned.title, cleaned.text, cleaned.outlet, cleaned.page_header, found_places=found
    )
    extraction = extract_facts(
        cleaned.text,
        subject=subject,
        published=cleaned.published_date,
        catalog=catalog,
        places=places,
        work_report=cleaned.is_work_report,
        found_places=found,
    )
    predictions = [
        Prediction(source_file, f.county_name, f.metric_code, f.year, f.value, f.sentence)
        for f in extraction.facts
    ]
    return FileResult(source_file, predictions, subject, cleaned.published_date)


@dataclass(slots=True)
class DocumentScore:
    """Subject county and publication date of each document against a sources file."""

    documents: int = 0
    subject_right: int = 0
    dated: int = 0  # documents whose sources row has a publication date
    date_right: int = 0
    wrong: list[str] = field(default_factory=list)  # one line per wrong subject or date

    def summary(self) -> str:
        return (
            f"subject county right {self.subject_right}/{self.documents}, "
            f"publication date right {self.date_right}/{self.dated}"
        )


def score_documents(results: Iterable[FileResult], sources: dict[str, Source]) -> DocumentScore:
    """Compare each file's subject and date with its sources row (files without a row are skipped)."""
    out = DocumentScore()
    for r in results:
        source = sources.get(r.file)
        if source is None:
            continue
        out.documents += 1
        subject = r.subject.name if r.subject else None
        if subject in source.counties:
            out.subject_right += 1
        else:
            out.wrong.append(
                f"COUNTY {r.file}: found {subject}, sources say {';'.join(sorted(source.counties))}"
            )
        if source.published is not None:
            out.dated += 1
            if r.published == source.published:
                out.date_right += 1
            else:
                out.wrong.append(f"DATE  {r.file}: found {r.published}, sources say {source.published}")
    return out


def format_metric_table(result: Score) -> str:
    """Precision and recall of each metric, one line each."""
    lines = [f"{'metric':<32} {'gold':>5} {'pred':>5} {'match':>5} {'precision':>9} {'recall':>6}"]
    for metric, (gold, predicted, matched) in result.per_metric().items():
        precision = f"{matched / predicted:.3f}" if predicted else "-"
        recall = f"{matched / gold:.3f}" if gold else "-"
        lines.append(f"{metric:<32} {gold:>5} {predicted:>5} {matched:>5} {precision:>9} {recall:>6}")
    return "\n".join(lines)


def format_report(result: Score, documents: DocumentScore | None = None, *, verbose: bool = True) -> str:
    """The per-metric table, the document scores and the summary line last; with `verbose`, first
    every miss, extra, wrong year and wrong subject or date."""
    lines = []
    if verbose:
        for g in result.misses:
            years = sorted(g.years, key=lambda y: (y is None, y))
            lines.append(
                f"MISS  {g.file} {g.county} {'|'.join(sorted(g.metrics))} {years} {g.value:g}  «{g.evidence}»"
            )
        for p in result.extras:
            lines.append(f"EXTRA {p.file} {p.county} {p.metric} {p.year} {p.value:g}  «{p.sentence[:60]}»")
        for g, p in result.matches:
            if p.year not in g.years:
                gold_years = sorted(g.years, key=str)
                lines.append(f"YEAR  {g.file} {p.metric} {g.value:g}: predicted {p.year}, gold {gold_years}")
        if documents is not None:
            lines.extend(documents.wrong)
    lines.append(format_metric_table(result))
    if documents is not None:
        lines.append(documents.summary())
    lines.append(result.summary())
    return "\n".join(lines)
