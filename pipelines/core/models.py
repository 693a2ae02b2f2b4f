"""The records that flow between the stages of the fupin library.

Each stage is a plain function from one of these records to the next, so the stages can be
tested, reused and run in any orchestrator; the Dagster assets only move them in and out of
the warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RawDocument:
    """A file from the raw dir whose bytes could be decoded to text."""

    source_file: str  # path relative to the raw dir, POSIX separators, as found on disk
    document_id: str  # first 16 hex digits of content_hash: identical bytes, identical id
    content_hash: str  # sha256 of the file's bytes
    byte_size: int
    encoding: str  # the codec the bytes were decoded with, e.g. "utf-8", "gb18030"
    text: str  # decoded text, untouched otherwise (HTML stays HTML)
    is_html: bool
    url: str | None = None  # where the page was fetched from, when the scraper saved it
    fetched_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class RejectedDocument:
    """A file that could not become a document, and why. Nothing is dropped silently."""

    source_file: str
    stage: str  # "read" | "decode" | "clean" | "place"
    reason: str  # one sentence a person can act on, naming the problem
    content_hash: str | None = None


@dataclass(frozen=True, slots=True)
class CleanedText:
    """The article text and the metadata read off a page or report."""

    text: str  # normalised: half-width, simplified, boilerplate dropped, lines rejoined
    title: str | None = None
    published_date: dt.date | None = None
    outlet: str | None = None  # 来源
    author: str | None = None  # 作者 / 记者
    # A 政府工作报告: its 过去一年 / 去年 is the year before it was delivered (published_date).
    is_work_report: bool = False
    # The site's lines above the article (menus, breadcrumbs, site name), dropped from text: they
    # may name the county when the article itself only says 全县.
    page_header: str | None = None


@dataclass(frozen=True, slots=True)
class County:
    code: str  # 6-digit administrative code
    name: str  # full official simplified name, e.g. 都安瑶族自治县
    prefecture: str | None
    province: str


# The records made per name and per number (PlaceMention, Fact, Mention) are not frozen: a frozen
# dataclass's __init__ sets each field through object.__setattr__ (4x the making of a plain one),
# and a report has dozens of each. Nothing changes one after it is made.
@dataclass(slots=True)
class PlaceMention:
    """A place named in a text, resolved to the gazetteer."""

    start: int
    end: int
    surface: str  # the text as written (安图, 都安县, 延边州)
    level: str  # "province" | "prefecture" | "county"
    code: str  # 6-digit code of the place
    name: str  # full official name


@dataclass(slots=True)
class Fact:
    """One number about one county, with the sentence it was read from."""

    county_code: str
    county_name: str
    metric_code: str
    value: float  # in the metric's canonical unit
    unit: str  # the metric's canonical unit code (yuan, person, percent ...)
    year: int | None  # the year the value refers to; None where the text gives no time
    period_start_year: int | None  # 2016年以来 → 2016; None when the text gives no start
    qualifier: str | None  # 余 / 多 / 近 / 约 / 超过 ... kept apart from the stated value
    sentence: str
    start_offset: int  # character offsets of raw_phrase in the cleaned text
    end_offset: int
    raw_phrase: str  # the number and unit as written (1.2万余户)
    rule: str  # name of the extraction rule that produced the fact


@dataclass(slots=True)
class Mention:
    """A number with a unit that no metric claimed: what the catalog does not yet cover."""

    sentence: str
    phrase: str
    value: float
    unit: str  # the unit as written (万元, 亩, 人次 ...)
    start_offset: int
    end_offset: int


@dataclass(slots=True)
class Extraction:
    facts: list[Fact] = field(default_factory=list)
    unclassified: list[Mention] = field(default_factory=list)
