"""Score the extractor against hand-annotated gold facts: the analyst's tool after a catalog edit.

A gold file is JSON Lines, one fact a line: {"file", "county", "metric" ("a|b" when either is
right), "year" (a number, null, or a list of acceptable ones), "value", "evidence"}. A predicted
fact matches a gold fact of the same file, county and metric whose value agrees within 0.01 %;
each prediction matches at most one gold fact, preferring one whose year is right. Precision and
recall count matches; year accuracy is counted over the matched pairs. Only files named in the
gold file are extracted and scored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core import cleaning, documents
from pipelines.core.catalog import Catalog
from pipelines.core.extract import extract_facts
from pipelines.core.models import RejectedDocument


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


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-9)


def score(gold: list[GoldFact], predictions: Iterable[Prediction]) -> Score:
    files = {g.file for g in gold}
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


def predict_file(raw_dir: Path, source_file: str, catalog: Catalog, places) -> list[Prediction]:
    """Run read → clean → subject → extract on one file, as the pipeline does."""
    doc = documents.read_raw_file(raw_dir, source_file)
    if isinstance(doc, RejectedDocument):
        raise GoldFileError(f"{source_file}: cannot be read: {doc.reason}")
    cleaned = cleaning.clean_document(doc.text, is_html=doc.is_html)
    subject = places.subject_county(cleaned.title, cleaned.text)
    extraction = extract_facts(
        cleaned.text, subject=subject, published=cleaned.published_date, catalog=catalog, places=places
    )
    return [
        Prediction(source_file, f.county_name, f.metric_code, f.year, f.value, f.sentence)
        for f in extraction.facts
    ]


def format_report(result: Score) -> str:
    lines = []
    for g in result.misses:
        years = sorted(g.years, key=lambda y: (y is None, y))
        lines.append(
            f"MISS  {g.file} {g.county} {'|'.join(sorted(g.metrics))} {years} {g.value:g}  «{g.evidence}»"
        )
    for p in result.extras:
        lines.append(f"EXTRA {p.file} {p.county} {p.metric} {p.year} {p.value:g}  «{p.sentence[:60]}»")
    for g, p in result.matches:
        if p.year not in g.years:
            lines.append(
                f"YEAR  {g.file} {p.metric} {g.value:g}: predicted {p.year}, gold {sorted(g.years, key=str)}"
            )
    lines.append(result.summary())
    return "\n".join(lines)
