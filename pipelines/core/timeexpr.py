"""Time expressions in report text and the year each one points at.

2014年底 → 2014; 截至2018年底 → 2018 (an as-of anchor); 2016年以来 → the report's year, period
starting 2016; 2017~2019年 → 2019, period starting 2017 (or one year per item with 分别);
目前 / 今年 / 截至目前 / 过去五年 → the publication year; 去年 / 过去一年 → the year before;
"十三五"期间 → 2020, period starting 2016. Without a publication
date, expressions relative to it give no year: the year is never invented.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

MIN_YEAR, MAX_YEAR = 1949, 2035
_Y = r"((?:19|20)\d{2})"

_NOW_WORDS = "截至目前|截止目前|截至当前|到目前为止|至今|目前|当前|如今|现在|今年"
# (?:近|这|过去)?[两三四五六七八九十]年(来)?, spelled out so that every alternative starts with a literal
_YEARS_SINCE = "|".join(
    [f"{pre}{n}年来" for pre in ("近", "这", "") for n in "两三四五六七八九十"]
    + [f"过去{n}年" for n in "两三四五六七八九十"]
    + [r"过去\d{1,2}年", r"近\d{1,2}年来?"]
)
# The five-year plans: "十三五"期间 is 2016–2020, its figures dated at the period's end
_FIVE_YEAR_PLANS = {"十一五": 2006, "十二五": 2011, "十三五": 2016, "十四五": 2021}
# Speed: each pattern starts with a literal or a choice of literals (never an optional group or a
# lookbehind), so `re` skips in C to the next place it can match instead of trying the pattern at
# every character. Hence the year's "no digit before" test sits after it, as a five-wide
# lookbehind, and an optional character in front (自/从 of "since", the opening quote of a plan)
# is taken from the text in find_time_expressions (_OPTIONAL_BEFORE).
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("range", re.compile(rf"{_Y}\s*年?\s*[-~～—–至到]\s*{_Y}\s*年(?:度|间|期间)?")),
    ("since", re.compile(rf"{_Y}\s*年(?:底|末|初)?\s*(?:以来|来|至今)")),
    (
        "as_of",
        re.compile(
            rf"(?:截至|截止到|截止|截至到|到|至)\s*{_Y}\s*(?:年(?:底|末|年底|末)?|-\d{{1,2}}(?:-\d{{1,2}})?)"
        ),
    ),
    (
        "point",
        re.compile(rf"{_Y}(?<!\d{{5}})\s*(?:年(?:底|末|度|初|前|上半年|下半年)?|-\d{{1,2}}-\d{{1,2}})"),
    ),
    ("plan_period", re.compile(r"(十一五|十二五|十三五|十四五)[”\"]?(?:期间|时期|以来)?")),
    ("now", re.compile(f"{_NOW_WORDS}|{_YEARS_SINCE}")),
    ("last_year", re.compile(r"去年|上一年|过去一年|过去的一年")),
]
# A government work report is delivered early in the year and reviews the one before: its 一年来
# is the year before, too.
_WORK_REPORT_LAST_YEAR = re.compile(r"一年来")
# A character that may stand right before an expression and then belongs to it: 自 / 从 before a
# "since" year, an opening quote before a plan ("十三五"期间).
_OPTIONAL_BEFORE = {"since": "自从", "plan_period": '“"'}


@dataclass(slots=True)  # not frozen, as models.PlaceMention: made per expression, never changed
class TimeExpr:
    start: int
    end: int
    kind: str  # range | since | as_of | point | now | last_year
    year: int | None  # the year a value stated with this expression refers to
    period_start: int | None
    years: tuple[int, ...] = ()  # every year of a range, for 分别 lists

    @property
    def is_anchor(self) -> bool:
        """Whether later sentences of the paragraph may take their year from this expression."""
        return self.kind in ("as_of", "now", "since", "last_year")


def _valid(year: int | None) -> int | None:
    return year if year is not None and MIN_YEAR <= year <= MAX_YEAR else None


def _expr(kind: str, m: re.Match[str], start: int, pub_year: int | None) -> TimeExpr | None:
    if kind == "range":
        first, last = int(m.group(1)), int(m.group(2))
        if not (_valid(first) and _valid(last)) or last < first or last - first > 30:
            return None
        return TimeExpr(start, m.end(), kind, last, first, tuple(range(first, last + 1)))
    if kind == "since":
        first = _valid(int(m.group(1)))
        return TimeExpr(start, m.end(), kind, pub_year, first) if first else None
    if kind in ("as_of", "point"):
        year = _valid(int(m.group(1)))
        return TimeExpr(start, m.end(), kind, year, None) if year else None
    if kind == "plan_period":
        first = _FIVE_YEAR_PLANS[m.group(1)]
        return TimeExpr(start, m.end(), "range", first + 4, first, tuple(range(first, first + 5)))
    if kind == "now":
        return TimeExpr(start, m.end(), kind, pub_year, None)
    return TimeExpr(start, m.end(), kind, pub_year - 1 if pub_year else None, None)


class _Spans:
    """Non-overlapping [start, end) spans, sorted, with an overlap test by bisection (a scan of all
    spans taken so far per match made long documents quadratic)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_right(self.starts, start)
        return (i > 0 and self.ends[i - 1] > start) or (i < len(self.starts) and self.starts[i] < end)

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


def find_time_expressions(text: str, pub_year: int | None, *, work_report: bool = False) -> list[TimeExpr]:
    """All time expressions in `text`, non-overlapping, earlier patterns winning ties.

    A government work report (`work_report`) is delivered after the year it reviews: its 一年来,
    目前, 以来 and 过去五年 end the year before publication (its 今年 is still the year of delivery)."""
    taken = _Spans()
    found: list[TimeExpr] = []
    patterns = _PATTERNS + ([("last_year", _WORK_REPORT_LAST_YEAR)] if work_report else [])
    reviewed_year = pub_year - 1 if work_report and pub_year is not None else pub_year
    for kind, pattern in patterns:
        previous_end = 0
        optional_before = _OPTIONAL_BEFORE.get(kind)
        for m in pattern.finditer(text):
            start = m.start()
            if optional_before and start - 1 >= previous_end and text[start - 1] in optional_before:
                start -= 1  # what an optional [自从]? in front of the pattern would have taken
            previous_end = m.end()
            if taken.overlaps(start, m.end()):
                continue
            now_year = pub_year if m.group(0) == "今年" else reviewed_year
            expr = _expr(kind, m, start, now_year if kind in ("now", "since") else pub_year)
            if expr is not None:
                taken.add(start, m.end())
                found.append(expr)
    found.sort(key=lambda e: e.start)
    return found
