"""When a report was published, from what its page shows besides the metadata lines.

cleaning reads the metadata lines (发布时间:2021-03-02, a date with a time on a line of its own);
this module adds the other places a page shows its date, in this order:

1. the page's URL, when a scraped page was saved with one: /2019/0527/, /2018/05/13/, t20190823_1,
   /20200110/;
2. the day a 政府工作报告 was delivered: ——2019年1月8日在…县第…届人民代表大会第…次会议上, or the
   date after that line. A copy reposted in a later year than the report was given is dated by
   the delivery, not by the repost;
3. a dateline at the start of the article (本报讯 5月29日, 新华社北京5月29日电), in the latest year
   the page mentions outside plans (到2025年 is not a year past);
4. a journal issue (2019年第8期).

A date known only to the month or year is stored as the first day of that month or year (the
extractor only uses its year; ordering reports by date then puts it before the dated reports of
the same period).
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from pipelines.core.normalize import without_whitespace

__all__ = ["DATE", "choose_publication_date", "date_from_url", "is_work_report", "work_report_delivery"]

# A full date as pages write it: 2021-06-30, 2021/6/30, 2021.06.30, 2021年6月30日 (spaces allowed).
DATE = r"(?P<y>(?:19|20)\d{2})\s*(?:年|[-/.])\s*(?P<m>[01]?\d)\s*(?:月|[-/.])\s*(?P<d>[0-3]?\d)\s*日?"
_DATE_RE = re.compile(DATE)
_MIN_YEAR, _MAX_YEAR = 2000, 2035


def _date(y: str | int, m: str | int = 1, d: str | int = 1) -> dt.date | None:
    try:
        date = dt.date(int(y), int(m), int(d))
    except ValueError:
        return None
    return date if _MIN_YEAR <= date.year <= _MAX_YEAR else None


# --- 1. the URL -------------------------------------------------------------------------------------

_URL_FULL = (
    re.compile(r"/(?P<y>20\d{2})/(?P<m>[01]?\d)/(?P<d>[0-3]?\d)(?:/|$)"),  # /2018/05/13/, /art/2021/8/16/
    re.compile(r"/(?P<y>20\d{2})[-_/]?(?P<m>[01]\d)[-_/]?(?P<d>[0-3]\d)(?:/|$)"),  # /2019/0527/, /20200110/
    re.compile(
        r"(?<![\d.])(?P<y>20\d{2})-?(?P<m>[01]\d)-?(?P<d>[0-3]\d)(?![\d.])"
    ),  # t20190823_1, 2019-08-23
)
_URL_MONTH = re.compile(r"/(?P<y>20\d{2})[-_/]?(?P<m>[01]\d)(?:/|$)")  # /201908/
_URL_YEAR = re.compile(r"/(?P<y>20\d{2})/")


def date_from_url(url: str | None) -> dt.date | None:
    """The date in a page's URL path; the first of the month or year when the path has only those."""
    if not url:
        return None
    path = re.sub(r"^[a-z]+://[^/]*", "", url.strip(), flags=re.IGNORECASE).split("?", 1)[0]
    for pattern in _URL_FULL:
        for m in pattern.finditer(path):
            date = _date(m["y"], m["m"], m["d"])
            if date:
                return date
    for pattern, parts in ((_URL_MONTH, ("y", "m")), (_URL_YEAR, ("y",))):
        m = pattern.search(path)
        if m:
            date = _date(*(m[p] for p in parts))
            if date:
                return date
    return None


# --- 2. a government work report ----------------------------------------------------------------------

_CONGRESS_END = "会议上"
_CONGRESS = r"在[^。]{0,60}?(?:人民代表大会|人大|人代会)[^。]{0,30}?" + _CONGRESS_END
_DELIVERED_BEFORE = re.compile(DATE + r"\s*" + _CONGRESS)
_DELIVERED_AFTER = re.compile(_CONGRESS + r"[^。]{0,40}?" + DATE)
_HEAD_CHARS = 1500  # the report's heading lines are at its start


@functools.lru_cache(maxsize=2)  # asked twice per report (delivery date, is it a work report)
def _head(text: str) -> str:
    # the heading of a report is often cut into several lines (2019年\n12月\n30日在…)
    return without_whitespace(text[: _HEAD_CHARS * 2])[:_HEAD_CHARS]


def _delivery_line(head: str) -> tuple[re.Match[str] | None, re.Match[str] | None]:
    """The matches of _DELIVERED_BEFORE and _DELIVERED_AFTER in a report's head. Both need the
    words that end _CONGRESS: a head without them (most reports) is spared the two searches,
    which try a lazy 60-character window at every 在."""
    if _CONGRESS_END not in head:
        return None, None
    return _DELIVERED_BEFORE.search(head), _DELIVERED_AFTER.search(head)


def work_report_delivery(text: str) -> dt.date | None:
    """The day a 政府工作报告 was delivered, from its heading (——2019年1月8日在…会议上)."""
    for m in _delivery_line(_head(text)):
        if m:
            date = _date(m["y"], m["m"], m["d"])
            if date:
                return date
    return None


def is_work_report(title: str | None, text: str) -> bool:
    """A government work report: its heading says where it was delivered, or it is titled 政府工作报告
    and addresses the deputies (各位代表). Its 过去一年 / 去年 is the year before it was given."""
    head = _head(text)
    if any(_delivery_line(head)):
        return True
    titled = "政府工作报告" in (title or "") or "政府工作报告" in head[:300]
    return titled and "各位代表" in head


# --- 3. a dateline, 4. a journal issue ---------------------------------------------------------------

_DATELINE = re.compile(
    r"(?:讯|电)\s*(?:[(（][^()（）]{0,40}[)）])?\s*(?P<m>1[0-2]|0?[1-9])月(?P<d>[0-3]?\d)日"
    r"|(?P<m2>1[0-2]|0?[1-9])月(?P<d2>[0-3]?\d)日\s*(?:讯|电)"
)
_DATELINE_CHARS = 80
_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d{2})\s*年")
# A year after these is a plan or deadline, not a year the page looks back on.
_PLAN_BEFORE = re.compile(r"(?:到|至|力争|计划|预计|争取|确保|目标|远景|展望)\s*$")
_JOURNAL_ISSUE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年\s*第\s*\d{1,2}\s*期")
_JOURNAL_CHARS = 300


def latest_year_mentioned(text: str) -> int | None:
    years = [
        int(m[1])
        for m in _YEAR.finditer(text)
        if not _PLAN_BEFORE.search(text[max(0, m.start() - 4) : m.start()])
    ]
    years = [y for y in years if _MIN_YEAR <= y <= _MAX_YEAR]
    return max(years) if years else None


def dateline_date(text: str, year: int | None) -> dt.date | None:
    """本报讯 5月29日 / 新华社北京5月29日电 at the start of the article, in `year`."""
    m = _DATELINE.search(text[:_DATELINE_CHARS])
    if not m or year is None:
        return None
    return _date(year, m["m"] or m["m2"], m["d"] or m["d2"])


def journal_issue_date(text: str) -> dt.date | None:
    """2019年第8期 at the start or end of a journal page: the year's first day."""
    for part in (text[:_JOURNAL_CHARS], text[-_JOURNAL_CHARS:]):
        m = _JOURNAL_ISSUE.search(part)
        if m:
            return _date(m[1])
    return None


def choose_publication_date(
    page_date: dt.date | None, text: str, *, url: str | None = None
) -> dt.date | None:
    """The publication date from the page's own metadata (`page_date`), else the URL, corrected for a
    reposted work report, else a dateline, else a journal issue."""
    url_date = date_from_url(url)
    date = page_date or url_date
    delivered = work_report_delivery(text)
    if delivered and (date is None or date.year > delivered.year):
        return delivered
    return date or _dateline_in_latest_year(text) or journal_issue_date(text)


def _dateline_in_latest_year(text: str) -> dt.date | None:
    """dateline_date(text, latest_year_mentioned(text)), reading the whole text for its years
    only when the article opens with a dateline (most do not)."""
    if not _DATELINE.search(text[:_DATELINE_CHARS]):
        return None
    return dateline_date(text, latest_year_mentioned(text))
