"""A synthetic corpus of N reports made by varying the real reports in raw/.

Each synthetic report takes one real report (round robin) and
- swaps its subject county for another county of the gazetteer (full and short names),
- perturbs its numbers by up to ±x % in their own format (decimals and thousands separators kept;
  years, dates, times and ordinals left alone, so time expressions still read the same),
- shuffles its body paragraphs (header and page furniture stay in place, headings stay with the
  paragraph they introduce),
- is saved as real input is: some as HTML pages with a site's furniture around the article, some in
  traditional characters, some in GB18030 or Big5; and some files are copies of an earlier report
  (the same bytes, or the same text in another encoding, script or page). See the *_SHARE constants.
Report i depends only on (seed, i), so the corpus of 100 is a prefix of the corpus of 10,000 and
the extra report of the incremental run is simply report N.
"""

from __future__ import annotations

import bisect
import hashlib
import html
import os
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import opencc

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
    title: str  # the headline the cleaner finds


@dataclass(frozen=True, slots=True)
class Replacement:
    """A county a synthetic report may be about: its full name and its short name."""

    code: str
    name: str
    short: str


@dataclass(frozen=True, slots=True)
class SyntheticReport:
    file_name: str
    data: bytes  # the file's bytes
    is_html: bool
    county_code: str
    encoding: str = "utf-8"
    traditional: bool = False
    copy_of: str | None = None  # the index (as in the file name) of the report this one repeats

    @property
    def size_bytes(self) -> int:
        return len(self.data)

    def decoded(self) -> tuple[str, bool]:
        """(text, is_html) as the pipeline reads the file: decoded by the library's own reader."""
        # a path where no sidecar (.meta.json) can be: the bytes are all the reader gets
        doc = documents.document_from_bytes(self.file_name, Path("/dev/null") / self.file_name, self.data)
        if not isinstance(doc, RawDocument):
            raise ValueError(f"{self.file_name}: synthetic report not readable: {doc.reason}")
        return doc.text, doc.is_html


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
        title = cleaned.title or ""
        templates.append(Template(doc.source_file, path.suffix, doc.text, doc.is_html, tuple(names), title))
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


# The mix of real input: pages saved from the web as HTML, files in GB18030 and (traditional
# script) Big5, traditional-character pages, and copies of a report saved twice, in another encoding,
# script or page (the pipeline reads every copy and extracts one).
HTML_SHARE = 0.30
TRADITIONAL_SHARE = 0.08  # of new reports; half of them in Big5, half in UTF-8
GB18030_SHARE = 0.15  # of new simplified-script reports
COPY_SHARE = 0.06  # of all files
COPY_KINDS = ("bytes", "encoding", "page", "script")


@dataclass(frozen=True, slots=True)
class _Draft:
    """What a report is made of before it is written: its text and how it is saved."""

    template: Template
    text: str  # simplified script, plain text
    title: str
    county: Replacement
    traditional: bool
    is_html: bool
    encoding: str
    site: int  # which page furniture (HTML_SITES) a page gets


class CorpusBuilder:
    """Makes synthetic report i from (seed, i); reports are unique by content, except the copies."""

    def __init__(
        self,
        templates: Sequence[Template],
        counties: Sequence[Replacement],
        *,
        seed: int = 7,
        perturbation: float = 0.10,
        mixed: bool = True,
    ) -> None:
        self.templates = list(templates)
        self.mixed = mixed  # False: plain UTF-8 text files, all distinct (the corpus before the mix)
        self.counties = list(counties)
        self.seed = seed
        self.perturbation = perturbation
        self._seen: set[str] = set()
        self._attempts: dict[int, int] = {}  # index -> the draw that made it unique (0 unless redrawn)
        self._originals: list[int] = []  # indices of the reports that are not copies, ascending
        self._reports: list[SyntheticReport] = []

    def reports(self, n: int) -> list[SyntheticReport]:
        """The first n synthetic reports (generated once, in order, then kept in memory)."""
        while len(self._reports) < n:
            self._reports.append(self._report(len(self._reports)))
        return self._reports[:n]

    def iter_reports(self, n: int) -> Iterator[SyntheticReport]:
        """The first n reports without keeping the ones beyond reports()'s (for the largest corpora)."""
        yield from self._reports[:n]
        for index in range(len(self._reports), n):
            yield self._report(index)

    def _report(self, index: int) -> SyntheticReport:
        rng = random.Random(f"{self.seed}:{index}:copy")
        if self.mixed and self._originals and self._originals[0] < index and rng.random() < COPY_SHARE:
            return self._copy(index, rng)
        return _render(self._draft(index), f"{index:06d}")

    def _draft(self, index: int) -> _Draft:
        # Identical texts would be recorded as duplicates and not extracted: redraw until new.
        if index in self._attempts:
            return self._make(index, self._attempts[index])
        attempt = 0
        while True:
            draft = self._make(index, attempt)
            digest = hashlib.sha256(draft.text.encode("utf-8")).hexdigest()
            if digest not in self._seen:
                self._seen.add(digest)
                self._attempts[index] = attempt
                self._originals.append(index)
                return draft
            attempt += 1

    def _make(self, index: int, attempt: int) -> _Draft:
        rng = random.Random(f"{self.seed}:{index}:{attempt}")
        template = self.templates[index % len(self.templates)]
        county = rng.choice(self.counties)
        text = vary_text(template, county, rng, self.perturbation)
        title = swap_county(template.title, template.county_names, county)
        traditional = rng.random() < TRADITIONAL_SHARE
        is_html = template.is_html or rng.random() < HTML_SHARE
        if traditional:
            encoding = "big5" if rng.random() < 0.5 else "utf-8"
        else:
            encoding = "gb18030" if rng.random() < GB18030_SHARE else "utf-8"
        site = rng.randrange(len(HTML_SITES))
        if not self.mixed:
            traditional, is_html, encoding = False, template.is_html, "utf-8"
        return _Draft(template, text, title, county, traditional, is_html, encoding, site)

    def _copy(self, index: int, rng: random.Random) -> SyntheticReport:
        """Report index repeats an earlier one: the same bytes, or the same text saved differently."""
        of = rng.choice(self._originals[: bisect.bisect_left(self._originals, index)])
        draft = self._draft(of)
        kind = rng.choice(COPY_KINDS)
        if kind == "encoding":
            other = {"utf-8": "big5" if draft.traditional else "gb18030"}.get(draft.encoding, "utf-8")
            draft = replace(draft, encoding=other)
        elif kind == "page" and not draft.template.is_html:
            draft = replace(draft, is_html=not draft.is_html, site=rng.randrange(len(HTML_SITES)))
        elif kind == "script":
            draft = replace(draft, traditional=not draft.traditional, encoding="utf-8")
        return _render(draft, f"{index:06d}", copy_of=f"{of:06d}")


# Page furniture around an article: what the HTML reader must strip (two kinds of site).
HTML_SITES = (
    (
        "{title}_{county}人民政府",
        '<div class="top"><a href="/">首页</a> | <a href="/zwgk">政务公开</a> | <a href="/bsfw">办事服务</a>'
        ' | <a href="/hdjl">互动交流</a> | <a href="/en">English</a> | <a href="/m">手机版</a></div>'
        '<div class="crumb">当前位置:<a href="/">首页</a> &gt; <a href="/xwzx">新闻中心</a>'
        " &gt; 部门动态</div>",
        '<div class="share">分享到: 微信 微博 QQ空间</div><div class="tools">【打印本页】 【关闭窗口】</div>'
        '<div class="footer"><p>版权所有:{county}人民政府 主办单位:{county}人民政府办公室</p>'
        "<p>网站标识码:1234560001 ICP备05000000号 联系电话:0563-1234567</p></div>",
    ),
    (
        "{title}-新闻频道-中国网",
        '<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/news">新闻</a></li>'
        '<li><a href="/gn">国内</a></li><li><a href="/sh">社会</a></li><li><a href="/tp">图片</a></li>'
        '<li><a href="/sp">视频</a></li></ul></div>',
        '<div class="related"><h3>相关新闻</h3><ul><li><a href="/a/1.html">乡村振兴开新局</a></li>'
        '<li><a href="/a/2.html">产业兴旺促增收</a></li><li><a href="/a/3.html">易地搬迁谱新篇</a></li>'
        '</ul></div><div class="comments">网友评论 0条评论 验证码 发表评论</div>'
        '<div class="footer">Copyright &copy; 2020 版权所有 京ICP证000000号 京公网安备11000002000001号</div>',
    ),
)
_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="{charset}"><title>{head_title}</title>'
    '<meta name="keywords" content="脱贫攻坚,精准扶贫"><script>var _hmt = _hmt || [];'
    "(function() {{ var hm = document.createElement('script'); hm.src = '/stat.js'; }})();</script>"
    "<style>body {{font-size: 14px}} .nav li {{float: left}}</style></head><body>{before}"
    '<div class="article"><h1>{title}</h1>{paragraphs}</div>{after}</body></html>'
)


def _render(draft: _Draft, stem: str, copy_of: str | None = None) -> SyntheticReport:
    text, is_html = draft.text, draft.is_html
    if is_html and not draft.template.is_html:
        text = _page(text, draft.title, draft)
    if draft.traditional:
        text = _traditional(text)
    encoding = draft.encoding
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:  # a character Big5 / GB18030 lacks (a rare county name): saved as UTF-8
        text = text.replace(f'charset="{encoding}"', 'charset="utf-8"', 1)
        encoding, data = "utf-8", text.encode("utf-8")
    suffix = ".html" if is_html else ".txt"
    template_stem = Path(draft.template.source_file).stem[:3]
    name = f"{stem}_{template_stem}{'_copy' if copy_of else ''}{suffix}"
    return SyntheticReport(name, data, is_html, draft.county.code, encoding, draft.traditional, copy_of)


def _page(text: str, title: str, draft: _Draft) -> str:
    head_title, before, after = HTML_SITES[draft.site]
    county = draft.county.name
    paragraphs = "".join(f"<p>{html.escape(line.strip())}</p>" for line in text.split("\n") if line.strip())
    charset = {"utf-8": "utf-8", "gb18030": "gb18030", "big5": "big5"}[draft.encoding]
    return _PAGE.format(
        charset=charset,
        head_title=html.escape(head_title.format(title=title, county=county)),
        before=before,
        title=html.escape(title),
        paragraphs=paragraphs,
        after=after.format(county=county),
    )


@cache
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2tw")  # Taiwan forms (為, 群): what Big5 can encode


def _traditional(text: str) -> str:
    return _s2t().convert(text.replace("\xa0", " "))


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


def write_reports(reports: Iterable[SyntheticReport], directory: Path) -> list[str]:
    """Write reports into directory (created), one at a time; returns their file names."""
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for report in reports:
        (directory / report.file_name).write_bytes(report.data)
        names.append(report.file_name)
    return names


def link_reports(source: Path, names: Iterable[str], directory: Path) -> None:
    """A raw dir holding some of the files of source: hard links (no copy), copies where not possible."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        target = directory / name
        try:
            os.link(source / name, target)
        except OSError:
            target.write_bytes((source / name).read_bytes())


def distinct_texts(reports: Iterable[SyntheticReport]) -> list[tuple[str, bool]]:
    """(text, is_html) of every file whose bytes are new, decoded by the library's reader: the
    pipeline cleans a document (identical bytes) once."""
    distinct = {r.data: r for r in reports}
    return [r.decoded() for r in distinct.values()]


def describe(reports: Sequence[SyntheticReport]) -> str:
    """What the corpus holds, in shares of its files."""
    n = len(reports) or 1

    def share(count: int) -> str:
        return f"{100 * count / n:.0f} %"

    pages = sum(r.is_html for r in reports)
    traditional = sum(r.traditional for r in reports)
    gb18030 = sum(r.encoding == "gb18030" for r in reports)
    big5 = sum(r.encoding == "big5" for r in reports)
    copies = sum(r.copy_of is not None for r in reports)
    return (
        f"files: {share(pages)} HTML pages, {share(traditional)} in traditional characters, "
        f"{share(gb18030)} GB18030, {share(big5)} Big5, {share(copies)} copies of an earlier report"
    )
