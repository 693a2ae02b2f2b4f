"""Read county facts out of cleaned report text the way a Chinese reader does.

The text is cut into paragraphs, sentences and clauses. Every number with a unit is a candidate;
numbers joined only by 、/和 (全县脱贫3148户10284人, 5731户、10249名建档立卡贫困人口) or by a
from–to connective (由2014年底的3675.95元增加到2020年的12346.67元) form a *run* and share the
words around it. A number's *scope* is its clause with the number written ◆ and the other members
of its run ◇, plus the verb that governs it when its own words are only a noun (尚有贫困村57个、
贫困户11539户; 累计退出贫困村27个,贫困人口6411户23507人; 6个贫困村、9478户实现脱贫退出); the metric
catalog's frames, cues and exclusions are matched against that scope, so all knowledge of the
language lives in schemas/*.yaml. A plan word governs the rest of its sentence; a list of counties
after a total breaks the total down. Then each fact gets its place (the report's county unless the
clause names another one, or a wider area) and its year (from–to and 分别 lists first, then the
nearest time expression in the clause, the sentence, the paragraph, the section's heading; a work
report reviews the year before it was delivered).
"""

from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from typing import Any

from pipelines.core.catalog import Catalog, Metric
from pipelines.core.mentions import NumberMention, mention_finder
from pipelines.core.models import County, Extraction, Fact, Mention, PlaceMention
from pipelines.core.normalize import without_whitespace
from pipelines.core.patterns import any_of, never_matches
from pipelines.core.places import PlaceIndex, PlacesInText
from pipelines.core.timeexpr import TimeExpr, find_time_expressions
from pipelines.core.versioning import source_version

# Changes with the code that decides which facts a text yields; the pipeline combines it with
# Catalog.version (edits to schemas/) and with the text, and re-extracts when any of them change.
EXTRACTOR_VERSION = source_version(
    "extract",
    "mentions",
    "numbers",
    "timeexpr",
    "catalog",
    "patterns",
    "places",
    "gazetteer",
    "normalize",
    data_files=("gazetteer.csv", "place_aliases.csv"),
)

_PARAGRAPH = re.compile(r"[^\n]+")
_SENTENCE_ENDS = "。！？!?"
_SENTENCE = re.compile(f"[^{_SENTENCE_ENDS}]+[{_SENTENCE_ENDS}]*")
# Clause breaks: commas, semicolons, colons and parentheses, but not a thousands separator (12,346).
# Speed: the pattern opens with the class of break characters, so `re` skips to the next one in C;
# the thousands separator is then ruled out behind it (a lookbehind in front, or a choice of
# alternatives, made it try the whole pattern at every character: ~4x slower).
_BREAKS = ",，;；:：()（）"
_CLAUSE_BREAK = re.compile(rf"[{_BREAKS}](?<!\d,(?=\d{{3}}(?!\d)))")
# What stands at either edge of a clause (or a clause's last character: a sentence's end)
_CLAUSE_EDGES = _BREAKS + _SENTENCE_ENDS + "\n"
# What may stand between two numbers of one run: nothing or an enumeration mark (two runs joined by
# a from–to verb merge: catalog.cues.from_to_gap).
# The words that join the members of a list: 3148户、10284人 / 贫困村和贫困户
_CONJUNCTIONS = ("以及", "和", "及", "与", "或")
_ENUMERATION_MARK = "、"
_JOINED = re.compile(r"\s*(?:" + "|".join(_CONJUNCTIONS) + ")")
_RUN_GAP = re.compile(r"^\s*(?:" + "|".join((_ENUMERATION_MARK, *_CONJUNCTIONS)) + r")?\s*$")
# 由2014年底的 / 从建档立卡时的 / 由: the start of a from–to, right before its first number
_FROM_BEFORE = re.compile(r"(?:由|从)[^,;:()、由从到至]{0,10}$")
_RESPECTIVELY = "分别"
NUMBER, RUN_MEMBER = "◆", "◇"


# The reader's own records are plain (not frozen) dataclasses: a frozen one's __init__ sets every
# field through object.__setattr__, and these are made per clause and per number.
@dataclass(slots=True)
class _Span:
    start: int
    end: int


@dataclass(slots=True)
class _Item:
    mention: NumberMention
    run: int = 0  # index of the run the number belongs to within its clause
    from_to: str | None = None  # "from" | "to" for the two ends of a from–to construction


@dataclass(slots=True)
class _Claim:
    metric: Metric
    rule: str


@dataclass(frozen=True, slots=True)
class _Document:
    """The per-document context shared by every number: text, subject, publication year, places."""

    text: str
    subject: County | None
    pub_year: int | None
    places: list[PlaceMention]  # sorted by start
    gazetteer: Any  # resolves another county named in the text to its full record
    catalog: Catalog
    area_words: _AreaWords | None  # the whole text's, when its clauses may share them (_area_words_once)
    place_starts: list[int] = field(init=False)
    # scopes read in this report, as the cues see them (_prepare); within one report the same words
    # are read again for each number of a clause, and a lone number's scope is its clause's
    prepared: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "place_starts", [p.start for p in self.places])

    # the same words read for a verb again (a list's head, once per member): _is_verbless's answers
    verbless: dict[str, bool] = field(init=False, default_factory=dict)

    def prepare(self, words: str) -> str:
        """_prepare(words), once per distinct words in the report."""
        done = self.prepared.get(words)
        if done is None:
            done = self.prepared[words] = _prepare(words, self.catalog)
        return done

    def is_verbless(self, words: str) -> bool:
        """_is_verbless(words), once per distinct words in the report."""
        known = self.verbless.get(words)
        if known is None:
            known = self.verbless[words] = _is_verbless(words, self.catalog)
        return known

    def places_between(self, start: int, end: int) -> list[PlaceMention]:
        """The places starting in [start, end), by bisection: a scan per clause grew with the
        square of the report's length."""
        return self.places[bisect_left(self.place_starts, start) : bisect_left(self.place_starts, end)]


def extract_facts(
    text: str,
    *,
    subject: County | None,
    published: dt.date | None,
    catalog: Catalog,
    places: PlaceIndex | None = None,
    work_report: bool = False,
    found_places: PlacesInText | None = None,
) -> Extraction:
    """Facts (and unclassified numbers) of one cleaned report.

    `subject` is the report's county; `places` a PlaceIndex used to attribute a fact to another
    county the clause names. Without a subject no fact can be attributed, and only unclassified
    mentions are returned. A government work report (`work_report`, see pubdate.is_work_report)
    reviews the year before it was delivered. `found_places` are places.places_in(text), when the
    caller found them already (for subject_county); otherwise `places` finds them here.
    """
    pub_year = published.year if published else None
    finder = mention_finder(catalog)
    mentions = _with_bare_zero_ends(text, finder.find(text), catalog)
    result = Extraction()
    if not mentions:
        return result
    times = find_time_expressions(text, pub_year, work_report=work_report)  # sorted by start
    time_starts = [t.start for t in times]
    if found_places is not None:
        if found_places.text != text:
            raise ValueError("found_places are the places of another text")
        place_mentions = found_places.mentions
    else:
        place_mentions = places.find_places(text) if places is not None else []
    area_words = _area_words(catalog, text, 0, len(text)) if _area_words_once(catalog) else None
    doc = _Document(
        text,
        subject,
        pub_year,
        place_mentions,
        places.gazetteer if places is not None else None,
        catalog,
        area_words,
    )
    seen: set[tuple[str, str, float]] = set()
    mention_iter = iter(mentions)
    pending = next(mention_iter, None)
    # the year of the section's heading; a work report's default is the year it reviews
    default_anchor = _reviewed_year(pub_year) if work_report else None
    section_anchor = default_anchor
    in_plan_section = False
    for para in _PARAGRAPH.finditer(text):
        para_times = times[bisect_left(time_starts, para.start()) : bisect_left(time_starts, para.end())]
        line = para.group(0)
        if _is_heading(line) and not _FULL_DATE.search(line):  # a dateline is no section
            years = [t for t in para_times if t.year is not None]
            if _is_top_heading(line):
                # 一、… opens a part of the report: its year, or the report's default
                in_plan_section = bool(catalog.cues.plan_heading.search(line))
                section_anchor = years[0] if years else default_anchor
            elif years:
                section_anchor = years[0]
        anchor: TimeExpr | None = section_anchor
        opening = _opening_time(text, para, para_times)
        if opening is not None:
            anchor = opening  # 2018年,全县… dates its paragraph
        for sent in _SENTENCE.finditer(text, para.start(), para.end()):
            s_start, s_end = sent.start(), sent.end()
            sentence_times = times[bisect_left(time_starts, s_start) : bisect_left(time_starts, s_end)]
            sentence_mentions = []
            while pending is not None and pending.start < s_end:
                if pending.start >= s_start:
                    sentence_mentions.append(pending)
                pending = next(mention_iter, None)
            if sentence_mentions and in_plan_section:
                for mention in sentence_mentions:
                    _add_unclassified(result, mention, text[s_start:s_end].strip())
            elif sentence_mentions:
                _extract_sentence(
                    doc,
                    catalog,
                    _Span(s_start, s_end),
                    sentence_mentions,
                    sentence_times,
                    anchor,
                    result,
                    seen,
                )
            anchors = [t for t in sentence_times if t.is_anchor]
            if anchors:
                anchor = anchors[-1]
    return result


_HEADING_MAX = 30
# 一、 二、 … or 第一部分: a heading of the report's first level, which opens a part (review, plans)
_TOP_HEADING = re.compile(r"\s*(?:[一二三四五六七八九十]{1,3}[、.．]|第[一二三四五六七八九十]{1,3}部分)")
_OPENING_TIME_WITHIN = 3  # characters from a paragraph's start
_FULL_DATE = re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")


def _is_top_heading(line: str) -> bool:
    return _TOP_HEADING.match(line) is not None


def _reviewed_year(pub_year: int | None) -> TimeExpr | None:
    return TimeExpr(0, 0, "last_year", pub_year - 1, None) if pub_year is not None else None


def _opening_time(text: str, para: re.Match[str], para_times: list[TimeExpr]) -> TimeExpr | None:
    """A year that opens a paragraph (2018年,全县… / 2018年是…之年 / 截至2019年底,…) dates the whole
    paragraph, unless it only dates the number after it (2014年的3.6万人…)."""
    if not para_times or para_times[0].year is None:
        return None
    first = para_times[0]
    leading = text[para.start() : first.start]
    if len(leading.strip()) > _OPENING_TIME_WITHIN or first.kind not in ("point", "as_of", "range", "since"):
        return None
    return None if _DATES_ITS_NUMBER.match(text, first.end) else first


def _is_heading(line: str) -> bool:
    """A short line of its own without a sentence's punctuation: 一、2019年工作回顾, 二、主要做法."""
    stripped = line.strip()
    return 0 < len(stripped) <= _HEADING_MAX and not any(ch in stripped for ch in "。,，;；！？!?")


def _with_bare_zero_ends(text: str, mentions: list[NumberMention], catalog: Catalog) -> list[NumberMention]:
    """Add the unitless zero that ends a lowering from–to (贫困发生率由16.2%降至0) or a rate's fall
    (贫困发生率下降为0) as a mention."""
    extra = []
    for mention in mentions:
        if mention.unit != "percent":
            continue
        m = catalog.cues.bare_zero_end.match(text, mention.end)
        if m:
            start, end = m.span(1)
            extra.append(
                replace(
                    mention,
                    start=start,
                    end=end,
                    number_start=start,
                    scope_end=end,
                    value=0.0,
                    qualifier=None,
                    phrase=m.group(1),
                )
            )
    taken = {m.start for m in [*mentions, *extra]}
    for m in catalog.cues.bare_zero_rate.finditer(text):
        start, end = m.span(1)
        if start not in taken:
            extra.append(NumberMention(start, end, start, end, 0.0, "percent", "%", None, m.group(1)))
    return sorted([*mentions, *extra], key=lambda m: m.start) if extra else mentions


# A short aside in parentheses inside a noun phrase (就业扶贫基地(车间)132个, 543个村(居)) is part of
# its clause: a few characters, no number, no punctuation.
_ASIDE = re.compile(r"[(（][\u4e00-\u9fff]{1,6}[)）]")


def _clauses(text: str, span: _Span) -> list[_Span]:
    clauses, start = [], span.start
    asides = [(m.start(), m.end()) for m in _ASIDE.finditer(text, span.start, span.end)]
    for m in _CLAUSE_BREAK.finditer(text, span.start, span.end):
        at = m.start()
        if asides and any(a_start <= at < a_end for a_start, a_end in asides):
            continue
        if at > start:
            clauses.append(_Span(start, at))
        start = at + 1  # a break is one character
    if start < span.end:
        clauses.append(_Span(start, span.end))
    return clauses


def _runs(text: str, items: list[_Item], catalog: Catalog) -> None:
    """Group a clause's numbers into runs that share their surrounding words.

    Numbers joined by nothing or an enumeration mark form a run; two runs joined by a from–to
    connective (由12856户43210人减少到126户312人) merge into one, their members marked from / to.
    """
    run = 0
    run_starts = [0]
    for index in range(1, len(items)):
        prev, cur = items[index - 1], items[index]
        gap = text[prev.mention.scope_end : cur.mention.start]
        if _RUN_GAP.match(gap):
            cur.run = run
            continue
        first = items[run_starts[-1]]
        before = text[max(0, first.mention.start - 16) : first.mention.start]
        if first.from_to is None and catalog.cues.from_to_gap.match(gap) and _FROM_BEFORE.search(before):
            for member in items[run_starts[-1] : index]:
                member.from_to = "from"
            cur.from_to = "to"
            cur.run = run
            continue
        run += 1
        run_starts.append(index)
        cur.run = run
    for index, item in enumerate(items[1:], start=1):
        # the members after the first "to" of a merged run are "to" values too
        if item.from_to is None and items[index - 1].from_to == "to" and item.run == items[index - 1].run:
            item.from_to = "to"


def _scope(
    doc: _Document,
    clause: _Span,
    items: list[_Item],
    item: _Item,
    prefix: str = "",
    governing: str = "",
) -> str:
    """The clause as a metric cue sees it: this number ◆, its run members ◇, others left out.

    A run's words are those between it and its neighbours; in a list (尚有贫困村57个、贫困户11539户)
    the words after an enumeration mark belong to the next member. A member with only a noun of its
    own takes the verb that governs the list: the words before the first noun of the clause
    (`governing`, or the clause's own head) and the words after the last number (…实现脱贫退出).
    """
    text, catalog = doc.text, doc.catalog
    members = [i for i in items if i.run == item.run]
    first, last = members[0].mention, members[-1].mention
    before_run = [i for i in items if i.run < item.run]
    after_run = [i for i in items if i.run > item.run]
    left_bound = before_run[-1].mention.end if before_run else clause.start
    right_bound = after_run[0].mention.start if after_run else clause.end
    left = text[left_bound : first.start]
    right = text[last.scope_end : right_bound]
    if after_run:
        right = right.split(_ENUMERATION_MARK, 1)[0]
    head = governing
    if before_run and not head:
        head = _governing_prefix(text[clause.start : items[0].mention.start], catalog)
    if head and (before_run or governing) and doc.is_verbless(left):
        left = head + left
    if after_run and doc.is_verbless(right):
        right += text[items[-1].mention.scope_end : clause.end]
    parts = [prefix, left]
    for i, member in enumerate(members):
        if i:
            parts.append(text[members[i - 1].mention.end : member.mention.start])
        parts.append(NUMBER if member is item else RUN_MEMBER)
    parts.append(right)
    return "".join(parts)


_SUB_GROUP = "其中"


def _governing_prefix(head: str, catalog: Catalog) -> str:
    """The words before the first counted noun of a clause (贫困村, 贫困户 …): the verb that governs
    a list."""
    m = catalog.cues.counted_noun.search(head)
    return head[: m.start()] if m else head


def _is_verbless(words: str, catalog: Catalog) -> bool:
    """Only nouns (with a short modifier: 同迁户), filler words and dates: a list member that takes
    its verb from the list's head. A status word of any metric is a verb of its own."""
    if not words:
        return True  # (what the tests below come to: a clause that opens with its number)
    rest = catalog.cues.counted_noun.sub("＃", _without_dates(words))
    if catalog.status_word.search(rest):
        return False
    rest = catalog.cues.governing_filler.sub("", rest)
    if "＃" in rest:  # (the text is normalised: ＃ is only ever the mark put here)
        rest = _NOUN_MODIFIER.sub("", rest)
    return not rest.strip("、和及与 ")


# up to three characters right before a counted noun qualify it (同迁户, 易地搬迁户): still a noun
_NOUN_MODIFIER = re.compile(r"[\u4e00-\u9fff]{0,3}＃")


def _clause_scope(text: str, clause: _Span, items: list[_Item], item: _Item) -> str:
    """The whole clause with this number ◆ and every other number ◇: what shared exclusions see."""
    parts, cursor = [], clause.start
    for other in items:
        parts.append(text[cursor : other.mention.start])
        parts.append(NUMBER if other is item else RUN_MEMBER)
        cursor = other.mention.scope_end
    parts.append(text[cursor : clause.end])
    return "".join(parts)


# Dates say when, not what: they are cut out of a scope so cues can see past them
# (集体经济总收入由2014年底的◇增长到2020年的◆ reads as 集体经济总收入由◇增长到◆).
_DATE_IN_SCOPE = re.compile(r"(?:19|20)\d{2}\s*年(?:底|末|初|度)?(?:\d{1,2}月(?:\d{1,2}日)?)?的?")


def _without_dates(words: str) -> str:
    return _DATE_IN_SCOPE.sub("", words) if "年" in words else words  # (a test in C spares the scan)


def _prepare(scope: str, catalog: Catalog) -> str:
    scope = catalog.cues.noise.sub(_blanked, scope)
    # spaces inside Chinese text are a page's or a converter's, never a word boundary cues rely on
    return _without_dates(without_whitespace(scope))


def _blanked(noise: re.Match[str]) -> str:
    return "＿" * len(noise.group(0))


@dataclass(frozen=True, slots=True)
class _MetricReader:
    """How one metric reads a number in one unit, gathered once per catalog version: its frames
    and cues in order, each as (rule name, what reads it: Frame.matches or the cue's search), and
    its exclusions: its own, read in the number's scope, and those of the shared groups that apply
    to the unit, read in the whole clause (each one search)."""

    metric: Metric
    rules: tuple[tuple[str, Any], ...]
    excluded_in_scope: Any  # a search, or None
    excluded_in_clause: Any

    def rule_for(self, scope: str) -> str | None:
        """The name of the first frame or cue that reads the scope."""
        for rule, reads in self.rules:
            if reads(scope):
                return rule
        return None

    def excludes(self, scope: str, clause_scope: str) -> bool:
        return bool(
            (self.excluded_in_scope is not None and self.excluded_in_scope(scope))
            or (self.excluded_in_clause is not None and self.excluded_in_clause(clause_scope))
        )


_READERS: dict[tuple[str, str, frozenset[str]], tuple[_MetricReader, ...]] = {}


def _readers(catalog: Catalog, unit: str, lifted: frozenset[str]) -> tuple[_MetricReader, ...]:
    """The readers of the metrics that count `unit`, highest priority first; `lifted` names the
    shared exclusion groups that do not apply."""
    key = (catalog.version, unit, lifted)
    readers = _READERS.get(key)
    if readers is None:
        readers = _READERS[key] = tuple(
            _metric_reader(catalog, metric, unit, lifted) for metric in catalog.metrics_by_unit.get(unit, ())
        )
    return readers


def _metric_reader(catalog: Catalog, metric: Metric, unit: str, lifted: frozenset[str]) -> _MetricReader:
    frames = tuple(
        (f"{metric.code}#frame{index}", frame.matches) for index, frame in enumerate(metric.frames)
    )
    cues = tuple((f"{metric.code}#cue{index}", cue.search) for index, cue in enumerate(metric.cues))
    shared = tuple(
        p
        for name, group in catalog.cues.exclude.items()
        if name not in metric.ignore and name not in lifted and (group.units is None or unit in group.units)
        for p in group.patterns
    )
    return _MetricReader(metric, frames + cues, _searches(metric.exclude), _searches(shared))


def _searches(patterns: tuple[re.Pattern[str], ...]) -> Any:
    """A search that finds whether any of `patterns` matches (None without patterns): of their
    alternation when they can be joined (patterns.any_of), otherwise of each in turn."""
    if not patterns:
        return None
    joined = any_of(patterns)
    if joined is not None:
        return joined.search
    return lambda words: any(p.search(words) for p in patterns)


def _classify(
    scope: str, clause_scope: str, unit: str, catalog: Catalog, lifted: frozenset[str] = frozenset()
) -> _Claim | None:
    """The highest-priority metric whose frames or cues read the scope, unless it is excluded there;
    `lifted` names shared exclusion groups that do not apply here."""
    for reader in _readers(catalog, unit, lifted):
        rule = reader.rule_for(scope)
        if rule is not None and not reader.excludes(scope, clause_scope):
            return _Claim(reader.metric, rule)
    return None


_SUB_GROUP_EXCLUSION = frozenset({"subgroup"})


def _own_figure_after_total(
    scope: str, clause_scope: str, unit: str, catalog: Catalog, total: tuple[NumberMention, _Claim] | None
) -> _Claim | None:
    """辖524个村,其中贫困村157个、贫困人口11万余人: after 其中, a figure of another kind than the total
    before it (another unit, or a metric the total's `contains`) is a figure of its own."""
    if total is None or _SUB_GROUP not in clause_scope:
        return None
    claim = _classify(scope, clause_scope, unit, catalog, lifted=_SUB_GROUP_EXCLUSION)
    total_mention, total_claim = total
    if claim is None or not (total_mention.unit != unit or claim.metric.code in total_claim.metric.contains):
        return None
    return _Claim(claim.metric, claim.rule + "+own_part")


@dataclass(slots=True)
class _SentenceReading:
    """What a reader carries from clause to clause of one sentence."""

    previous_scope: str = ""  # the previous clause's text, for a clause that leans on it
    carried_place: tuple[str, County | None] | None = None  # the place that owns the rest of the sentence
    list_place: tuple[str, County | None] | None = None  # the place of the last clause that named one
    governing: str = ""  # the verb of the last clause that had one: verbless clauses after it take it
    in_plan: bool = False  # a plan word earlier in the sentence (今年将确保…,5852人脱贫)
    last_claim: tuple[NumberMention, _Claim] | None = None  # the previous clause's last claimed number
    breakdown_of: tuple[NumberMention, _Claim] | None = None  # the total a list of counties breaks down
    last_end_year: dict[str, tuple[int | None, int | None]] = field(
        default_factory=lambda: {"from": (None, None), "to": (None, None)}
    )


@dataclass(slots=True)
class _ClauseContext:
    """How one clause is read: whose its figures are, what governs them, what they break down."""

    place: tuple[str, County | None] | None
    plan: bool  # the clause is governed by a plan word earlier in the sentence
    parent: tuple[NumberMention, _Claim] | None  # the total the clause breaks down by county
    total: tuple[NumberMention, _Claim] | None  # the last figure claimed before the clause
    governing: str  # the verb the clause's verbless members take


def _extract_sentence(
    doc: _Document,
    catalog: Catalog,
    sentence: _Span,
    mentions: list[NumberMention],
    times: list[TimeExpr],
    anchor: TimeExpr | None,
    result: Extraction,
    seen: set[tuple[str, str, float]],
) -> None:
    text = doc.text
    sentence_text = text[sentence.start : sentence.end].strip()
    if not any(catalog.metrics_by_unit.get(m.unit) for m in mentions):
        # No metric counts in any of the sentence's units (次, 个 of a count, 亩): no number of it
        # can be claimed, nor be a total that a later one breaks down (see _claim), so what the
        # clause-by-clause reading below comes to is every number unclassified, in order (every
        # number stands in a clause: none starts with a break character). A third of the
        # sentences with numbers are spared the reading.
        for mention in mentions:
            _add_unclassified(result, mention, sentence_text)
        return
    clauses = _clauses(text, sentence)
    # the mentions of each clause, as a slice of `mentions` (sorted by start): (first, stop)
    starts = [m.start for m in mentions]
    in_clauses = [(bisect_left(starts, c.start), bisect_left(starts, c.end)) for c in clauses]
    counting = [c for c, (first, stop) in zip(clauses, in_clauses, strict=True) if stop > first]
    quiet_times = [t for t in times if not any(c.start <= t.start < c.end for c in counting)]
    state = _SentenceReading()
    opening = _first_clause_with_words(text, clauses, catalog)
    # the clauses after the last one with numbers yield nothing: what they hand on has no taker
    last_read = max(i for i, (first, stop) in enumerate(in_clauses) if stop > first)
    for index, (clause, (first, stop)) in enumerate(zip(clauses[: last_read + 1], in_clauses, strict=False)):
        items = [_Item(m) for m in mentions[first:stop]]
        context = _read_clause(doc, catalog, clause, items, state, opening)
        if context is None:
            state.previous_scope = text[clause.start : clause.end]
            continue
        following = clauses[index + 1] if index + 1 < len(clauses) else None
        for item in items:
            # a plan's figures are no facts, whatever metric would claim them
            claimed = (
                None if context.plan else _claim(doc, catalog, clause, items, item, context, state, following)
            )
            if claimed is None:
                _add_unclassified(result, item.mention, sentence_text)
                continue
            claim, scope = claimed
            if context.parent is None:
                state.last_claim = (item.mention, claim)
            owner = _owner(doc, catalog, clause, item, context.place)
            if owner is None:
                continue
            year, period_start = _year_for(doc, item, items, clause, sentence, times, anchor, quiet_times)
            if item.from_to is not None:
                # 从2013年底的4.3万人减少到2019年底的…,贫困发生率从15.2%下降到0.8%: a parallel from–to
                # shares its start and its end
                if year is None:
                    year, period_start = state.last_end_year[item.from_to]
                state.last_end_year[item.from_to] = (year, period_start)
            if year is not None and doc.pub_year is not None and year > doc.pub_year:
                continue  # a target for a later year, not an achievement
            _add_facts(result, seen, catalog, claim, scope, item, owner, (year, period_start), sentence_text)
        state.previous_scope = text[clause.start : clause.end]


def _read_clause(
    doc: _Document,
    catalog: Catalog,
    clause: _Span,
    items: list[_Item],
    state: _SentenceReading,
    subject_clause_start: int,
) -> _ClauseContext | None:
    """The clause's context (None without numbers), and what it hands on to the clauses after it
    (updates `state`)."""
    text = doc.text
    clause_text = text[clause.start : clause.end]
    total = state.last_claim or state.breakdown_of
    parent = None
    if _opens_breakdown(text, clause, state.last_claim) or (
        total is not None and items and _is_place_list(doc, clause, [i.mention for i in items])
    ):
        parent = total  # 全市贫困人口11662人(康平7418人、新民1854人) / …,其中康平7418人,新民1854人
    place_here = _place_in(doc, catalog, clause.start, clause.end, doc.area_words)
    if (
        parent is None
        and place_here is not None
        and (
            place_here[0] != "wider"
            or _wider_area_owns_sentence(clause, clause_text, items, subject_clause_start, catalog)
        )
    ):
        # a county or village named in a clause owns the rest of its sentence; a wider area, its
        # clause, or the sentence when the clause only names it (在全省,…); the counties of a
        # breakdown, only their own figures
        state.carried_place = place_here
    place = state.carried_place
    if items and state.list_place is not None and _JOINED.match(clause_text):
        place = state.list_place  # 全市贫困人口…(…)和贫困村60个: the list goes on in the same place
    if parent is None and place_here is not None:
        state.list_place = place_here
    plan = items and state.in_plan and not catalog.cues.done_word.search(clause_text)
    state.in_plan = state.in_plan or bool(catalog.cues.plan_word.search(clause_text))
    state.breakdown_of = total
    state.last_claim = None
    if not items:
        return None  # a clause without numbers only hands on its place, plan and total
    governing = ""
    _runs(text, items, catalog)
    head = text[clause.start : items[0].mention.start]
    if state.governing and doc.is_verbless(_without_places(doc, clause.start, head)):
        governing = state.governing
    else:
        prefix = _governing_prefix(head, catalog)
        if not doc.is_verbless(prefix.replace(_SUB_GROUP, "")):
            state.governing = prefix  # 其中… is not a verb: the list's verb still governs after it
    return _ClauseContext(place, bool(plan), parent, total, governing)


def _claim(
    doc: _Document,
    catalog: Catalog,
    clause: _Span,
    items: list[_Item],
    item: _Item,
    context: _ClauseContext,
    state: _SentenceReading,
    following: _Span | None,
) -> tuple[_Claim, str] | None:
    """The metric that claims a number, with the scope it was read in; None if no metric does."""
    text, unit = doc.text, item.mention.unit
    parent = context.parent
    if not catalog.metrics_by_unit.get(unit) and (
        parent is None or not _is_place_part(doc, clause, item, parent[0])
    ):
        return None  # no metric counts in its unit (次, 个 of a count) and it breaks down no total
    scope = doc.prepare(_scope(doc, clause, items, item, governing=context.governing))
    scope = _respective_reading(scope, items, item, catalog)
    if item.run == items[-1].run and following is not None:
        scope += _purpose(doc, following, catalog)
    clause_scope = doc.prepare(_clause_scope(text, clause, items, item))
    claim = _classify(scope, clause_scope, unit, catalog)
    previous = state.previous_scope
    if claim is None and previous and _leans_on_previous(text, clause, items, item, catalog):
        # the clauses are read as one, so cues may span them (贫困人口3.6万人,…减少到1200人)
        carried = doc.prepare(_scope(doc, clause, items, item, prefix=previous))
        claim = _classify(carried, doc.prepare(previous) + clause_scope, unit, catalog)
        if claim is not None:
            return _Claim(claim.metric, claim.rule + "+carry_over"), carried
    if claim is None:
        claim = _own_figure_after_total(scope, clause_scope, unit, catalog, context.total)
    if claim is None and parent is not None and _is_place_part(doc, clause, item, parent[0]):
        # 全市贫困人口11662人(康平7418人、新民1854人): a breakdown by county of the number before it
        return _Claim(parent[1].metric, parent[1].rule + "+breakdown"), scope
    return (claim, scope) if claim is not None else None


def _add_facts(
    result: Extraction,
    seen: set[tuple[str, str, float]],
    catalog: Catalog,
    claim: _Claim,
    scope: str,
    item: _Item,
    owner: County,
    years: tuple[int | None, int | None],
    sentence_text: str,
) -> None:
    """The claimed metric's fact, and those of the metrics the same number states at once (`also`)."""
    metrics = [(claim.metric, claim.rule)]
    metrics += [
        (catalog.metrics[rule.metric], f"{claim.rule}+also:{rule.metric}")
        for rule in claim.metric.also
        if rule.when.search(scope)
    ]
    mention = item.mention
    for metric, rule in metrics:
        key = (owner.code, metric.code, mention.value)
        if key in seen:
            continue  # the same fact stated again: a summary line, a repeated paragraph
        seen.add(key)
        result.facts.append(
            Fact(  # (positional: a dataclass's keywords cost as much as the rest of its making)
                owner.code,  # county_code
                owner.name,  # county_name
                metric.code,  # metric_code
                mention.value,  # value
                metric.unit,  # unit
                years[0],  # year
                years[1],  # period_start_year
                mention.qualifier,  # qualifier
                sentence_text,  # sentence
                mention.start,  # start_offset
                mention.end,  # end_offset
                mention.phrase,  # raw_phrase
                rule + (f"+{item.from_to}" if item.from_to else ""),  # rule
            )
        )


def _purpose(doc: _Document, following: _Span, catalog: Catalog) -> str:
    """The next clause when it says what this clause's figure was for (…,实施产业扶贫项目216个)."""
    words = doc.text[following.start : following.end]
    return doc.prepare(words) if catalog.cues.purpose_opening.match(words) else ""


def _wider_area_owns_sentence(
    clause: _Span, clause_text: str, items: list[_Item], subject_clause_start: int, catalog: Catalog
) -> bool:
    """The wider area a clause names is the place of its sentence: the clause only names it, or it
    opens the sentence as its subject. (Asked only of a clause whose last place is a wider area.)"""
    return (not items and _only_names_wider_area(clause_text, catalog)) or (
        clause.start == subject_clause_start and _opens_with_wider_area(clause_text, catalog)
    )


def _only_names_wider_area(clause_text: str, catalog: Catalog) -> bool:
    """在全省 / 全市范围内: a clause that only names a wider area sets the place of its sentence."""
    m = catalog.cues.area_alone.match(clause_text)
    return m is not None and catalog.cues.wider_area.fullmatch(m.group("area")) is not None


def _first_clause_with_words(text: str, clauses: list[_Span], catalog: Catalog) -> int:
    """Where the sentence's subject may stand: its first clause that is more than a time (截至2019年,)."""
    for clause in clauses:
        words = _without_dates(text[clause.start : clause.end])
        if words[catalog.cues.sentence_opening.match(words).end() :].strip():
            return clause.start
    return clauses[0].start if clauses else 0


def _opens_with_wider_area(clause_text: str, catalog: Catalog) -> bool:
    """这9个县累计退出…, 全市11662名贫困人口…: a wider area that opens a sentence as its subject is
    the place of the whole sentence."""
    words = _without_dates(clause_text)
    words = words[catalog.cues.sentence_opening.match(words).end() :]
    m = catalog.cues.wider_area.match(words)
    return m is not None and not catalog.cues.area_yardstick.match(words, m.end())


def _opens_breakdown(text: str, clause: _Span, last: tuple[NumberMention, _Claim] | None) -> bool:
    """The clause opens a parenthesis right after the previous clause's last (claimed) number."""
    if last is None or clause.start == 0 or text[clause.start - 1] not in "(（":
        return False
    return not any(ch.isdigit() for ch in text[last[0].end : clause.start - 1])


_PLACE_LIST_FILLER = re.compile(
    "|".join((_SUB_GROUP, "分别为", "分别是", _RESPECTIVELY, _ENUMERATION_MARK, *_CONJUNCTIONS))
    + r"|[:：。！？!?\s]"
)


def _is_place_list(doc: _Document, clause: _Span, numbers: list[NumberMention]) -> bool:
    """A clause (with these numbers) of county names and numbers only (其中康平7418人、新民1854人)."""
    places = [p for p in doc.places_between(clause.start, clause.end) if p.level == "county"]
    if not places or not numbers:
        return False
    spans = sorted([(p.start, p.end) for p in places] + [(m.start, m.end) for m in numbers])
    rest, cursor = [], clause.start
    for start, end in spans:
        rest.append(doc.text[cursor:start])
        cursor = max(cursor, end)
    rest.append(doc.text[cursor : clause.end])
    return not _PLACE_LIST_FILLER.sub("", "".join(rest)).strip()


def _is_place_part(doc: _Document, clause: _Span, item: _Item, parent: NumberMention) -> bool:
    """A county named right before the number, counted with the whole's measure word
    (60个重点贫困村(康平43个、新民7个)); not a sub-group (其中建档立卡户6842户)."""
    mention = item.mention
    if not (mention.unit == parent.unit or mention.surface_unit[-1:] == parent.surface_unit[-1:]):
        return False
    places = doc.places_between(clause.start, mention.start)
    return (
        bool(places) and places[-1].level == "county" and not doc.text[places[-1].end : mention.start].strip()
    )


def _without_places(doc: _Document, offset: int, words: str) -> str:
    """`words` (starting at `offset` in the text) with the place names in it removed."""
    places = doc.places_between(offset, offset + len(words))
    for place in reversed(places):
        start, end = place.start - offset, min(place.end - offset, len(words))
        words = words[:start] + words[end:]
    return words


def _respective_reading(scope: str, items: list[_Item], item: _Item, catalog: Catalog) -> str:
    """城乡居民人均可支配收入分别达到◇、◆: the n-th member of a 分别 list reads a joint subject
    (城乡) as its n-th part (农村)."""
    before = scope.split(_RESPECTIVELY, 1)
    if len(before) < 2:
        return scope
    members = [i for i in items if i.run == item.run]
    index = members.index(item)
    for joint_words, parts in catalog.cues.respectively_pairs:
        for joint in joint_words:
            if joint in before[0] and index < len(parts):
                return before[0].replace(joint, parts[index], 1) + _RESPECTIVELY + before[1]
    return scope


def _leans_on_previous(text: str, clause: _Span, items: list[_Item], item: _Item, catalog: Catalog) -> bool:
    first_of_run = next(i for i in items if i.run == item.run)
    before = _without_dates(text[clause.start : first_of_run.mention.start]).strip()
    return bool(catalog.cues.carry_over.match(before))


def _add_unclassified(result: Extraction, mention: NumberMention, sentence: str) -> None:
    # Mention(sentence, phrase, value, unit, start_offset, end_offset): positional, see _add_facts
    result.unclassified.append(
        Mention(
            sentence,
            mention.phrase,
            mention.value,
            mention.surface_unit or mention.unit,
            mention.start,
            mention.end,
        )
    )


# ---------------------------------------------------------------- places


@dataclass(slots=True)
class _AreaWords:
    """Where the words that name an area stand in a stretch of text (cues.yaml wider_area,
    own_area, sub_county_area): start offsets in the report's text, ascending."""

    wider: list[int]
    wider_words: list[str]
    own: list[int]
    sub: list[int]  # sub_county_area.words: 全村, 该镇 …
    suffix: list[int]  # a suffix (村, 镇 …), before the common-noun and county-name tests


def _area_words(catalog: Catalog, text: str, start: int, end: int) -> _AreaWords:
    """The area words of text[start:end], read as a string of its own (a lookaround stops at its
    edges)."""
    cues = catalog.cues
    segment = text[start:end]
    wider = list(cues.wider_area.finditer(segment))
    return _AreaWords(
        wider=[start + m.start() for m in wider],
        wider_words=[m.group(0) for m in wider],
        own=[start + m.start() for m in cues.own_area.finditer(segment)],
        sub=[start + m.start() for m in cues.sub_county_words.finditer(segment)],
        suffix=[start + m.start() for m in cues.sub_county_suffix.finditer(segment)],
    )


_COMMON_BEFORE_WITHIN = 4  # characters before a suffix read for a common noun's first part
_COMMON_NOUN_ENDS: dict[str, re.Pattern[str]] = {}


def _common_noun_before(catalog: Catalog, text: str, start: int, position: int) -> bool:
    """贫困村, 乡镇, 驻村: the words ending right before the suffix at `position` (not before
    `start`, nor more than _COMMON_BEFORE_WITHIN characters before it) make it a common noun
    (cues.yaml sub_county_area.common_before)."""
    ends = _COMMON_NOUN_ENDS.get(catalog.version)
    if ends is None:  # one of the words, ending where the search ends
        words = sorted(catalog.cues.sub_county_common_before, key=len, reverse=True)
        ends = _COMMON_NOUN_ENDS[catalog.version] = re.compile(
            "(?:" + "|".join(map(re.escape, words)) + r")\Z"
        )
    return ends.search(text, max(start, position - _COMMON_BEFORE_WITHIN), position) is not None


_AREA_WORD_CUES = ("wider_area", "own_area", "sub_county_words", "sub_county_suffix")
_AREA_WORDS_ONCE: dict[str, bool] = {}


def _area_words_once(catalog: Catalog) -> bool:
    """Whether a report's area words may be found once for all its clauses: no area word (nor
    its lookarounds) can match a character that ends a clause, so none crosses a clause's edge
    and each clause has the matches it has read alone (decided once per catalog version)."""
    known = _AREA_WORDS_ONCE.get(catalog.version)
    if known is None:
        known = _AREA_WORDS_ONCE[catalog.version] = all(
            never_matches(getattr(catalog.cues, name), _CLAUSE_EDGES) for name in _AREA_WORD_CUES
        )
    return known


def _place_in(
    doc: _Document, catalog: Catalog, start: int, end: int, words: _AreaWords | None = None
) -> tuple[str, County | None] | None:
    """The last place a clause names: ("county", County), ("wider", None) for a prefecture,
    province or the country, ("sub", None) for a township or village, ("own", subject).

    `words`: the report's area words, when they were found once for all its clauses (see
    _area_words_once); otherwise the stretch is searched here."""
    places_here = doc.places_between(start, end)
    if words is None:
        words = _area_words(catalog, doc.text, start, end)
    # the candidate standing last; at one position the first kind in this order wins
    best: tuple[int, str, County | None] | None = None
    if places_here:
        place = places_here[-1]
        best = (
            (place.start, "county", _county_of(doc, place))
            if place.level == "county"
            else (place.start, "wider", None)
        )
    # each kind's offsets in [start, end), walked from the last (bisect_left(…, end) - 1) down
    wider = words.wider
    i = bisect_left(wider, end) - 1
    while i >= 0 and wider[i] >= start:
        if not _is_own_wider_word(doc.subject, words.wider_words[i]):
            if best is None or wider[i] > best[0]:
                best = (wider[i], "wider", None)
            break
        i -= 1
    own = words.own
    i = bisect_left(own, end) - 1
    if i >= 0 and own[i] >= start and (best is None or own[i] > best[0]):
        best = (own[i], "own", doc.subject)
    sub = _last_sub_county_place(catalog, doc.text, words, start, end, places_here)
    if sub is not None and (best is None or sub > best[0]):
        best = (sub, "sub", None)
    return (best[1], best[2]) if best is not None else None


def _last_sub_county_place(
    catalog: Catalog, text: str, words: _AreaWords, start: int, end: int, places: list[PlaceMention]
) -> int | None:
    """Where the last township or village named in text[start:end] stands (明月镇, 福利村, 全村)."""
    stop = bisect_left(words.sub, end)
    last = words.sub[stop - 1] if stop and words.sub[stop - 1] >= start else None
    suffix = words.suffix
    i = bisect_left(suffix, end) - 1
    while i >= 0 and suffix[i] >= start:
        position = suffix[i]
        i -= 1
        if last is not None and position < last:
            break
        if places and any(p.start <= position < p.end for p in places):
            continue  # 镇 of 镇赉县, 乡 of 乡宁县: part of a county's name
        if _common_noun_before(catalog, text, start, position):  # read within the clause
            continue
        return position
    return last


def _is_own_wider_word(subject: County | None, word: str) -> bool:
    # In a report on a county-level city 全市 is the subject itself; in a district's, 全区.
    if subject is None:
        return False
    return (word == "全市" and subject.name.endswith("市")) or (
        word.startswith("全区") and subject.name.endswith("区")
    )


def _county_of(doc: _Document, place: PlaceMention) -> County | None:
    if doc.subject is not None and place.code == doc.subject.code:
        return doc.subject
    return doc.gazetteer.county(place.code)


def _owner(
    doc: _Document, catalog: Catalog, clause: _Span, item: _Item, carried: tuple[str, County | None] | None
) -> County | None:
    """Whose fact a number is: the nearest place named before it in its clause, else the sentence's."""
    decision = _place_in(doc, catalog, clause.start, item.mention.start) or carried
    if decision is None:
        return doc.subject
    kind, county = decision
    if kind in ("wider", "sub"):
        return None
    return county if county is not None else doc.subject


# ---------------------------------------------------------------- time


def _year_for(
    doc: _Document,
    item: _Item,
    items: list[_Item],
    clause: _Span,
    sentence: _Span,
    times: list[TimeExpr],
    anchor: TimeExpr | None,
    quiet_times: list[TimeExpr],
) -> tuple[int | None, int | None]:
    start = item.mention.start
    if item.from_to is not None:
        run = [i for i in items if i.run == item.run]
        first_from = run[0].mention
        last_from = [i for i in run if i.from_to == "from"][-1].mention
        first_to = next(i for i in run if i.from_to == "to").mention
        window = max(clause.start, first_from.start - 16)
        marker = max(
            doc.text.rfind("由", window, first_from.start), doc.text.rfind("从", window, first_from.start)
        )
        marker = marker if marker >= 0 else first_from.start
        inner = _last_before(times, marker, first_from.start)  # 由2014年底的3.6万人
        outer = _last_before(times, window, marker)  # 2018年底贫困村由65个…
        own_end = _last_before(times, last_from.end, first_to.start)  # …减少到2019年的1200人
        if item.from_to == "from":
            # a time before 由 dates the start only when the end has a time of its own
            expr = inner or (outer if own_end else None)
            return (expr.year, expr.period_start) if expr else (None, None)
        expr = own_end or (outer if inner is None else None)
        if expr:
            return expr.year, expr.period_start
        # the end of 由2015年底的20.9%下降到0.06% takes its time from the context, not the start
        times = [t for t in times if not (window <= t.start < first_from.start)]
    respective = _respective_year(doc, item, items, clause, sentence, times)
    if respective is not None:
        return respective, None
    in_clause = _last_before(times, clause.start, start) or _first_after(times, start, clause.end)
    if in_clause:
        return in_clause.year, in_clause.period_start
    # a later clause's time counts only when that clause states no number of its own
    # (…建成光伏电站45个,2018年10月27日实现全部并网发电), not in 有贫困人口3.6万人,2019年减少到1200人
    # and a time that dates a number of its own (由2014年的3.6万人) does not date the clauses after it
    own_times = [t for t in times if t.start >= clause.start or not _dates_its_number(doc.text, t)]
    in_sentence = _last_before(own_times, sentence.start, start) or _first_after(
        quiet_times, start, sentence.end
    )
    if in_sentence:
        return in_sentence.year, in_sentence.period_start
    if anchor is not None:
        return anchor.year, anchor.period_start
    return None, None


_DATES_ITS_NUMBER = re.compile(
    r"的?\s*(?![\d零一二两三四五六七八九十]{1,2}\s*[月日])[\d零一二两三四五六七八九十]"
)


def _dates_its_number(text: str, expr: TimeExpr) -> bool:
    """由2014年的3.6万人: the time is an attribute of the from–to start right after it."""
    return text[max(0, expr.start - 2) : expr.start].endswith(("由", "从")) and (
        _DATES_ITS_NUMBER.match(text, expr.end) is not None
    )


# A time that gives no year (目前 in a report whose date is unknown) does not hide one that does.
def _last_before(times: list[TimeExpr], start: int, end: int) -> TimeExpr | None:
    found = [t for t in times if start <= t.start and t.end <= end and t.year is not None]
    return found[-1] if found else None


def _first_after(times: list[TimeExpr], start: int, end: int) -> TimeExpr | None:
    return next((t for t in times if start <= t.start < end and t.year is not None), None)


def _respective_year(
    doc: _Document, item: _Item, items: list[_Item], clause: _Span, sentence: _Span, times: list[TimeExpr]
) -> int | None:
    """2017~2019年…分别实现828元、895元和1177元: the n-th number takes the n-th year."""
    respectively = doc.text.rfind(_RESPECTIVELY, sentence.start, item.mention.start)
    if respectively < 0:
        return None
    members = [i for i in items if i.run == item.run and i.mention.start > respectively]
    years: tuple[int, ...] = ()
    ranges = [t for t in times if t.kind == "range" and sentence.start <= t.start < respectively]
    if ranges:
        years = ranges[-1].years
    else:
        points = [
            t.year for t in times if t.kind in ("point", "as_of") and sentence.start <= t.start < respectively
        ]
        years = tuple(y for y in points if y is not None)
    if len(members) < 2 or len(members) != len(years) or item not in members:
        return None
    return years[members.index(item)]
