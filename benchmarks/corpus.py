"""A synthetic corpus of N reports made by varying the real reports in raw/.

Each synthetic report takes one real report (round robin) and
- swaps its subject county for another county of the gazetteer (full and short names),
- perturbs its numbers by up to ±x % in their own format (decimals and thousands separators kept;
  years, dates, times and ordinals left alone, so time expressions still read the same),
- shuffles its body paragraphs (header and page furniture stay in place, headings stay with the
  paragraph they introduce).
Report i depends only on (seed, i), so the corpus of 100 is a prefix of the corpus of 10,000 and
the extra report of the incremental run is simply report N.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.core import cleaning, documents
from pipelines.core.gazetteer import Gazetteer
from pipelines.core.models import RawDocument
from pipelines.core.places import PlaceIndex, derived_forms

# Ends a sentence; a body paragraph ends with one of these.
_FINAL = "。!?！？”…"
_CONTENT_MIN = 40  # a line this long ending in _FINAL is article text, not page furniture
_NUMBER = re.compile(r"(?<![\d.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d,])")
# After a number: it is part of a date, a time or an ordinal, not a quantity.
_NOT_QUANTITY_AFTER = re.compile(r"\s*(?:年|月|日|时|号|:|-|/|届|期|次会议|\.\d)")
_NOT_QUANTITY_BEFORE = frozenset("第-:/")


@dataclass(frozen=True, slots=True)
class Template:
    """A real report and the names of its subject county, as they are written in it."""

    source_file: str
    suffix: str
    text: str
    is_html: bool
    county_names: tuple[str, ...]  # longest first: 安图县 before 安图


@dataclass(frozen=True, slots=True)
class Replacement:
    """A county a synthetic report may be about: its full name and its short name."""

    code: str
    name: str
    short: str


@dataclass(frozen=True, slots=True)
class SyntheticReport:
    file_name: str
    text: str
    is_html: bool
    county_code: str

    @property
    def size_bytes(self) -> int:
        return len(self.text.encode("utf-8"))


def load_templates(raw_dir: Path, places: PlaceIndex, gazetteer: Gazetteer) -> list[Template]:
    """Every readable raw report whose subject county can be found (the others cannot be varied)."""
    templates = []
    raw_dir = raw_dir.absolute()  # read_raw_file joins relative paths to raw_dir a second time
    for path in documents.iter_raw_files(raw_dir):
        doc = documents.read_raw_file(raw_dir, path)
        if not isinstance(doc, RawDocument):
            continue
        cleaned = cleaning.clean_document(doc.text, is_html=doc.is_html)
        county = places.subject_county(cleaned.title, cleaned.text)
        if county is None:
            continue
        forms = [f for f in derived_forms(gazetteer.place(county.code)) if len(f) >= 2]
        names = sorted({county.name, *forms}, key=len, reverse=True)
        templates.append(Template(doc.source_file, path.suffix, doc.text, doc.is_html, tuple(names)))
    if not templates:
        raise SystemExit(f"no usable report in {raw_dir}: need at least one with a findable county")
    return templates


def replacement_counties(gazetteer: Gazetteer, places: PlaceIndex) -> list[Replacement]:
    """Plain counties (县) whose full and short names each mean that county and nothing else.

    Checked with the place index itself, so the subject of a synthetic report is found as reliably
    as the subject of the real report it was made from."""
    surfaces: Counter[str] = Counter()
    for place in gazetteer.places:
        surfaces.update({place.name, *derived_forms(place)})
    pool = []
    for place in gazetteer.places:
        if place.county_kind != "县" or len(place.name) < 3:
            continue
        short = place.name[:-1]
        if surfaces[place.name] > 1 or surfaces[short] > 1 or short in places.stop_words:
            continue
        found = places.find_places(f"{place.name},{short}。")
        if [(m.code, m.surface) for m in found] == [(place.code, place.name), (place.code, short)]:
            pool.append(Replacement(place.code, place.name, short))
    return pool


class CorpusBuilder:
    """Makes synthetic report i from (seed, i); reports are unique by content."""

    def __init__(
        self,
        templates: Sequence[Template],
        counties: Sequence[Replacement],
        *,
        seed: int = 7,
        perturbation: float = 0.10,
    ) -> None:
        self.templates = list(templates)
        self.counties = list(counties)
        self.seed = seed
        self.perturbation = perturbation
        self._seen: set[str] = set()
        self._reports: list[SyntheticReport] = []

    def reports(self, n: int) -> list[SyntheticReport]:
        """The first n synthetic reports (generated once, in order, then reused)."""
        while len(self._reports) < n:
            self._reports.append(self._unique(len(self._reports)))
        return self._reports[:n]

    def _unique(self, index: int) -> SyntheticReport:
        # Identical texts would be recorded as duplicates and not extracted: redraw until new.
        attempt = 0
        while True:
            report = self._make(index, attempt)
            digest = hashlib.sha256(report.text.encode("utf-8")).hexdigest()
            if digest not in self._seen:
                self._seen.add(digest)
                return report
            attempt += 1

    def _make(self, index: int, attempt: int) -> SyntheticReport:
        rng = random.Random(f"{self.seed}:{index}:{attempt}")
        template = self.templates[index % len(self.templates)]
        county = rng.choice(self.counties)
        text = vary_text(template, county, rng, self.perturbation)
        stem = Path(template.source_file).stem[:3]
        return SyntheticReport(f"{index:06d}_{stem}{template.suffix}", text, template.is_html, county.code)


def vary_text(template: Template, county: Replacement, rng: random.Random, perturbation: float) -> str:
    lines = swap_county(template.text, template.county_names, county).split("\n")
    first, last = _body_bounds(lines)
    if first > last:  # no recognisable body: vary the numbers only
        return _perturb_numbers("\n".join(lines), rng, perturbation)
    groups = _paragraph_groups(lines[first : last + 1])
    rng.shuffle(groups)
    body = "\n".join(_perturb_numbers("\n".join(g), rng, perturbation) for g in groups)
    return "\n".join([*lines[:first], body, *lines[last + 1 :]])


def swap_county(text: str, names: Sequence[str], county: Replacement) -> str:
    """Replace the template county's full name by the new full name, its short names by the new
    short name, in one pass (so a new name is never replaced again)."""
    full = names[0]
    pattern = re.compile("|".join(re.escape(n) for n in names))
    return pattern.sub(lambda m: county.name if m.group(0) == full else county.short, text)


def _is_content(line: str) -> bool:
    s = line.strip()
    return len(s) >= _CONTENT_MIN and s[-1] in _FINAL


def _body_bounds(lines: list[str]) -> tuple[int, int]:
    """First and last line of the article body: from the first paragraph to the last sentence."""
    first = next((i for i, line in enumerate(lines) if _is_content(line)), len(lines))
    last = max(
        (i for i, line in enumerate(lines) if len(line.strip()) >= 15 and line.strip()[-1] in _FINAL),
        default=-1,
    )
    return first, last


def _paragraph_groups(lines: list[str]) -> list[list[str]]:
    """Lines grouped into paragraphs: a group ends after a line that ends a sentence (plus the blank
    lines after it), so headings and lines cut inside a sentence move with their paragraph."""
    groups: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if not line.strip() and current and current[-1].strip() and current[-1].strip()[-1] not in _FINAL:
            current.append(line)  # a blank inside a paragraph cut in two
            continue
        if line.strip() and current and _ends_paragraph(current):
            groups.append(current)
            current = []
        current.append(line)
    if current:
        groups.append(current)
    return groups


def _ends_paragraph(group: list[str]) -> bool:
    last = next((x.strip() for x in reversed(group) if x.strip()), "")
    return bool(last) and last[-1] in _FINAL


def _perturb_numbers(text: str, rng: random.Random, perturbation: float) -> str:
    def replace(m: re.Match[str]) -> str:
        written = m.group(0)
        if not _is_quantity(text, m):
            return written
        return _scaled(written, 1 + rng.uniform(-perturbation, perturbation), text[m.end() : m.end() + 1])

    return _NUMBER.sub(replace, text)


def _is_quantity(text: str, m: re.Match[str]) -> bool:
    written = m.group(0)
    if written.isdigit() and len(written) == 4 and 1900 <= int(written) <= 2099:
        return False  # a year, whatever follows it
    if m.start() > 0 and text[m.start() - 1] in _NOT_QUANTITY_BEFORE:
        return False
    return not _NOT_QUANTITY_AFTER.match(text, m.end())


def _scaled(written: str, factor: float, following: str) -> str:
    """written × factor in written's format: same decimals, thousands separators if it had them."""
    plain = written.replace(",", "")
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    value = float(plain)
    new = round(value * factor, decimals)
    if value >= 1 and new < 1:
        new = 1.0  # a count never drops to zero
    if following in "%％" and new > 100 >= value:
        new = value  # a share stays a share
    grouped = "," in written
    return f"{new:,.{decimals}f}" if grouped else f"{new:.{decimals}f}"


def write_reports(reports: Sequence[SyntheticReport], directory: Path) -> int:
    """Write reports into directory (created); returns the bytes written."""
    directory.mkdir(parents=True, exist_ok=True)
    total = 0
    for report in reports:
        data = report.text.encode("utf-8")
        (directory / report.file_name).write_bytes(data)
        total += len(data)
    return total


def link_reports(source: Path, reports: Sequence[SyntheticReport], directory: Path) -> None:
    """A raw dir holding some of the files of source: hard links (no copy), copies where not possible."""
    directory.mkdir(parents=True, exist_ok=True)
    for report in reports:
        target = directory / report.file_name
        try:
            os.link(source / report.file_name, target)
        except OSError:
            target.write_bytes((source / report.file_name).read_bytes())
