"""Report text → clean article text plus title, date, outlet and author.

Steps, each one pass over the lines: HTML → article (when is_html); character normalisation;
metadata and boilerplate lines out; photo captions out; lines broken inside a sentence or number
rejoined; repeated paragraphs dropped. Boilerplate rules only ever match short lines, so a content
sentence (long, ending in punctuation) is never removed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pipelines.core import pubdate
from pipelines.core.models import CleanedText
from pipelines.core.normalize import normalize_text, without_whitespace
from pipelines.core.patterns import with_start_filter
from pipelines.core.versioning import source_version

__all__ = ["CLEANER_VERSION", "LineMetadata", "clean_document", "read_metadata_line"]

# Changes with the code that decides the cleaned text, so documents are re-cleaned after any change.
CLEANER_VERSION = source_version("cleaning", "normalize", "html_text", "pubdate", "patterns")

_HAN = re.compile(r"[\u4e00-\u9fff]")
# The space characters a line is tidied of (a run of them becomes one space).
_SPACE_CHARS = " \t\f\v\u00a0\u3000"
_SPACES = re.compile(f"[{_SPACE_CHARS}]+")

# Ends a sentence (after normalisation !?:; are half-width). A closing quote usually ends a
# quoted sentence or a heading like 下好顶层设计“先手棋”.
_FINAL = frozenset("。!?…;:”’」』—")  # a trailing —— introduces a list, like a colon
# Cannot start a paragraph: the line continues the previous one.
_CONTINUATION_START = frozenset(",、。;:!?)]》”’%…·")
# After a number, these continue it (74.05 / 万元, 5731 / 户).
_UNIT_CHARS = "%‰万亿千百十元角户人名个次项亩公顷吨斤米里倍岁年月日天台套座家所间辆头只千瓦度条批期届余多平"
_UNIT_START = re.compile(f"[{_UNIT_CHARS}]")
# "107 个", "966 平方公里", "2017 年底": a space between a number and its unit is a converter's.
_SPACE_BEFORE_UNIT = with_start_filter(re.compile(f"(?<=\\d)[ \\t]+(?=[{_UNIT_CHARS}])"))
# "3018户5 / 703人": a count cut after the first digits of the number that follows another one.
_COUNT_THEN_DIGITS = re.compile(f"\\d[{_UNIT_CHARS}]\\d{{1,3}}$")
_DIGITS_THEN_UNIT = re.compile(f"^\\d+(?:\\.\\d+)?[{_UNIT_CHARS}]")
# "顺利实现脱贫摘帽。js8": a mirror site's paragraph marker glued to the end of a line.
_LINE_END_MARKER = with_start_filter(re.compile(r"(?<=[\u4e00-\u9fff。!?:;,”])[a-z]{2,4}\d{1,3}$"))
_HEADING_MARK = re.compile(
    r"^(?:[一二三四五六七八九十]+[、.]|[((][一二三四五六七八九十\d]+[))]|第[一二三四五六七八九十]+|——|【)"
)
_YEAR_START = re.compile(r"^(?:19|20)\d{2}\s*年")
_JOIN_MIN_LEN = 50  # a line this long without final punctuation is a paragraph cut mid-sentence

# ---------------------------------------------------------------------------------------------
# Metadata lines: "2020年10月15日 15:32 来源: 延边日报", "日期:2017-10-23 来源:",
# "发布时间:2021-03-02 07:56 来源:郎溪发布 浏览:", "(作者:中共镇赉县委书记)", "(记者 吕少锋 张小军)",
# "□文/摄 陈丹华 田畅 本报记者 姚建平".

_DATE = pubdate.DATE
_CLOCK = r"\s*T?\s*[0-2]?\d:[0-5]\d(?::[0-5]\d)?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
_TIME = f"(?:{_CLOCK})?"
_DATE_RE = re.compile(_DATE + _TIME)
_LEADING_DATE = re.compile(r"^[\[【(]?\s*" + _DATE + _TIME + r"\s*[\]】)]?")
# A date with a time of day is a page's timestamp wherever it stands on a short line of words
# ("央广网 2020-11-18 21:32", "公文搜 2021-07-27 17:52:33 政府报告"); so is 25.11.2016 11:05.
_DATE_WITH_CLOCK = re.compile(_DATE + _CLOCK)
_DAY_FIRST_DATE = re.compile(r"^(?P<d>[0-3]?\d)\.(?P<m>[01]?\d)\.(?P<y>(?:19|20)\d{2})" + _TIME + r"$")
_WORDS_ONLY = re.compile(r"^[\w\s|/·\-—_*\[\]【】()]*$")
_TIMESTAMP_LINE_LIMIT = 60
# "2017-09-12龚立堂": a date and the author's name.
_DATE_AND_NAMES = re.compile(r"^\s*(?P<who>[\u4e00-\u9fff·]{2,4}(?:\s+[\u4e00-\u9fff·]{2,4})*)\s*$")

_LABELS = {
    "date": "发布时间|发布日期|发表时间|发表日期|发稿时间|更新时间|内容时间|上传时间|录入时间|添加时间"
    "|创建时间"
    "|成文日期|发文日期|刊发时间|刊发日期|出版日期|见报日期|时间|日期|发布",
    "outlet": "信息来源|文章来源|本文来源|稿件来源|来源|稿源|出处",
    "author": "作者|撰稿|撰文|本报记者|记者|通讯员|文/图|文/摄|图/文|摄影",
    "ignore": "责任编辑|编辑|责编|审核|校对|编审|审校|监制|值班编辑|主编|初审|复审|终审|签发"
    "|浏览次数|浏览|阅读次数|阅读|点击数|点击|访问量|人气|字体大小|字体|字号|分享到|分享",
}
_LABEL_KIND = {label: kind for kind, labels in _LABELS.items() for label in labels.split("|")}
_LABEL_RE = re.compile(
    r"(?:^|(?<=[\s\[【(|/]))(?P<label>" + "|".join(sorted(_LABEL_KIND, key=len, reverse=True)) + r")\s*:\s*"
)
_SENTENCE_MARK = re.compile(r"[,。!?;]")
_LEFTOVER_OK = re.compile(r"^[\s\[\]【】()|/·\-—_*]*$")
_CREDIT_ROLES = r"本报记者|特约记者|见习记者|记者|通讯员|文/摄|文/图|图/文|摄影|撰文|撰稿|文|图|摄"
_NAME = r"[\u4e00-\u9fff·]{2,5}"
_BRACKET_CREDIT = re.compile(
    r"^[(\[【]\s*(?P<role>作者|" + _CREDIT_ROLES + r")\s*[:\s]\s*(?P<who>[^()\[\]【】]{1,40}?)\s*[)\]】]$"
)
_BYLINE = re.compile(
    r"^[□■◎●▲]?\s*(?:(?:" + _CREDIT_ROLES + r")\s*[:/]?\s*" + _NAME + r"(?:[\s、,]+" + _NAME + r")*\s*)+$"
)
_ROLE_WORDS = re.compile(r"本报记者|特约记者|见习记者|记者|通讯员|文/摄|文/图|图/文|摄影|撰文|撰稿|[□■◎●▲]")
_INLINE_REPORTER = re.compile(r"^.{0,12}?[(\[]\s*(?:本报)?记者\s*(?P<who>[\u4e00-\u9fff· 、]{2,30}?)\s*[)\]]")
# "...的目标。(记者 吕少锋 张小军)" closing a paragraph: a credit, not part of the sentence.
_CREDIT_CLOSERS = (")", "]")  # a trailing credit closes its line with one of these
_TRAILING_CREDIT = re.compile(
    r"(?<=[。!?”…])\s*[(\[]\s*(?:(?:本报|特约|见习)?记者|通讯员|作者|文/图|文/摄|摄影)\s*:?\s*"
    r"(?P<who>[\u4e00-\u9fff· 、]{2,40}?)\s*[" + re.escape("".join(_CREDIT_CLOSERS)) + "]$"
)


_METADATA_LINE_LIMIT = 120
# Lets read_metadata_line take lines that were not normalised (the forms only need these).
_META_WIDTH = {"：": ":", "（": "(", "）": ")", "［": "[", "］": "]", "　": " "}


@dataclass(frozen=True, slots=True)
class LineMetadata:
    """What a metadata line says. Fields it does not mention are None."""

    published_date: dt.date | None = None
    outlet: str | None = None
    author: str | None = None


def _to_date(m: re.Match[str]) -> dt.date | None:
    try:
        return dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
    except ValueError:
        return None


def _names(text: str) -> str | None:
    names = [n for n in re.split(r"[\s、,/]+", _ROLE_WORDS.sub(" ", text)) if n]
    return " ".join(names) or None


def _to_meta_width(line: str) -> str:
    """line.translate(_META_WIDTH), faster: translate looks every character up in Python objects,
    while str.replace scans in C, and the line rarely holds any of these. The same result, as no
    character is replaced by one that is replaced itself."""
    for wide, narrow in _META_WIDTH.items():
        if wide in line:
            line = line.replace(wide, narrow)
    return line


def read_metadata_line(line: str) -> LineMetadata | None:
    """LineMetadata when the whole (normalised) line is date/source/author/editor fields, else None.

    A line with anything else on it is content and is never treated as metadata.
    """
    if len(line) > _METADATA_LINE_LIMIT and len(without_whitespace(line)) > _METADATA_LINE_LIMIT:
        return None  # too long whatever its spaces: the content lines, spared the translation below
    s = _SPACES.sub(" ", _to_meta_width(line)).strip()
    if not s or len(s) > _METADATA_LINE_LIMIT:
        return None
    m = _BRACKET_CREDIT.match(s)
    if m:
        who = m.group("who").strip()
        return LineMetadata(author=who if m.group("role") == "作者" else _names(who))
    if _BYLINE.match(s) and "。" not in s:
        return LineMetadata(author=_names(s))

    m = _DAY_FIRST_DATE.match(s)
    if m:
        return LineMetadata(published_date=_to_date(m))
    date: dt.date | None = None
    rest = s
    m = _LEADING_DATE.match(s)
    if m:
        date = _to_date(m)
        rest = s[m.end() :]
    elif len(s) <= _TIMESTAMP_LINE_LIMIT and not _SENTENCE_MARK.search(s):
        stamp = _DATE_WITH_CLOCK.search(s)
        if stamp:
            date = _to_date(stamp)
            rest = (s[: stamp.start()] + " " + s[stamp.end() :]).strip()
    # every label ends in a colon: a line without one is spared the label scan, which `re` tries
    # at every character (the pattern opens with a choice of lookarounds)
    labels = list(_LABEL_RE.finditer(rest)) if ":" in rest else []
    if not labels:
        if date is None:
            return None
        if m and _LEFTOVER_OK.match(rest):
            return LineMetadata(published_date=date)
        names = _DATE_AND_NAMES.match(rest) if m else None
        if names:
            return LineMetadata(published_date=date, author=_names(names["who"]))
        if not m and _WORDS_ONLY.match(rest):  # a timestamp among the site's words
            return LineMetadata(published_date=date)
        return None
    if not _LEFTOVER_OK.match(rest[: labels[0].start()]) and not (
        date and _WORDS_ONLY.match(rest[: labels[0].start()])
    ):
        return None
    outlet = author = None
    for i, lab in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(rest)
        value = rest[lab.end() : end].strip(" |/【】[]()")
        kind = _LABEL_KIND[lab.group("label")]
        trailing = _DATE_WITH_CLOCK.search(value) if kind != "date" else None
        if trailing and _LEFTOVER_OK.match(value[trailing.end() :]):
            date = date or _to_date(trailing)  # "编辑:杨滋 2020-06-05 08:43:26"
            value = value[: trailing.start()].strip()
        if kind == "date":
            dm = _DATE_RE.match(value)
            if value and not dm:
                return None
            if dm:
                if not _LEFTOVER_OK.match(value[dm.end() :]):
                    return None
                date = date or _to_date(dm)
        elif kind in ("outlet", "author") and (len(value) > 30 or _SENTENCE_MARK.search(value)):
            return None  # "来源:国家统计局数据显示,..." is a sentence, not a source field
        elif kind == "outlet":
            outlet = outlet or (value or None)
        elif kind == "author":
            author = author or _names(value)
        elif kind == "ignore" and len(value) > 40:
            return None
    if date is None and outlet is None and author is None and not labels:
        return None
    return LineMetadata(published_date=date, outlet=outlet, author=author)


# ---------------------------------------------------------------------------------------------
# Boilerplate lines. Each pattern applies only to lines up to its length limit.
# Speed: the patterns that open with a lookbehind, an anchor or a case-insensitive choice are
# tried in full at every character; with_start_filter puts a test for the characters a match can
# start with in front (the same matches, 2-4x faster on report lines).

_SHORT_BOILERPLATE = with_start_filter(
    re.compile(
        r"打印本页|打印此页|关闭窗口|【打印】|【关闭】|返回顶部|回到顶部|扫一扫|分享到|分享至|一键分享|扫描二维码"
        r"|字体大小|字号\s*:|【字体|评论|验证码|抢沙发|captcha|跟帖|发表留言|^\*?正文\s*:?$|上一篇|下一篇"
        r"|^(?:登录|注册|请登录)|客户端$|^(?:相关阅读|相关新闻|相关链接|推荐阅读|延伸阅读|热点推荐|热门文章)",
        re.IGNORECASE,
    )
)
_SHORT_LIMIT = 40
_NAV_TOKENS = with_start_filter(
    re.compile(
        r"手机版|手机访问|繁体版|简体版|简体中文|繁体中文|无障碍(?:浏览|阅读)?|长辈版|关怀版|适老版|智能问答|OA办公"
        r"|English|网站首页|首页|网站地图|联系我们|关于我们|设为首页|加入收藏|收藏本站|百姓热线|空白|信息广场"
        r"|微信|微博|公众号|订阅|RSS|高级搜索|站内搜索|搜索|返回首页|返回|打印|关闭|收藏|默认|大|中|小"
        r"|[•·\-|/\\>»›\[\]【】\s]",
        re.IGNORECASE,
    )
)
_NAV_LIMIT = 40
_BREADCRUMB = with_start_filter(
    re.compile(
        r"^(?:您现在的?位置|当前位置|您的位置|所在位置|现在位置)\s*:?|(?:首页|主页|网站首页)\s*[>»›|/]|[>»›].*[>»›]"
    )
)
_LONG_BOILERPLATE = with_start_filter(
    re.compile(
        r"版权所有|copyright|©|ICP备|ICP证|公网安备|网站标识码|主办单位|承办单位|^主办\s*:|^承办\s*:|技术支持\s*:"
        r"|建议使用.{0,20}浏览器|^(?:标签|关键词|关键字|tags?)\s*:|^(?:浏览|阅读|点击|访问)(?:次数|量|数)?\s*:\s*\d*\s*次?$"
        r"|^[(\[【]?\s*(?:责任编辑|编辑|责编|审核|校对|编审|审校|监制|值班编辑|主编|初审|复审|终审|签发)\s*:"
        r"|^(?:论文部分内容阅读|文章部分内容阅读|本文为全文预览|全文阅读|下载全文|查看全文|在线阅读)$",
        re.IGNORECASE,
    )
)
_LONG_LIMIT = 150
_DISCLAIMER = re.compile(r"^[\[【].*(?:版权|转载|侵权|删除).*[\]】]$")
_CONTACT = re.compile(
    r"联系电话|联系方式|咨询电话|投诉电话|举报电话|电话\s*:|传真\s*:|邮箱\s*:|e-?mail", re.IGNORECASE
)
_PHONE_OR_MAIL = re.compile(r"\d{3,4}\s*[-—]?\s*\d{7,8}|1[3-9]\d{9}|[\w.]+@[\w.]+")
_CONTACT_LIMIT = 100
# Where the comment section / related links start; everything after it is page furniture,
# provided no paragraph of content follows.
_TAIL_START = re.compile(
    r"^(?:评论一下|发表评论|我要评论|网友评论(?:列表)?|最热评论|最新评论|评论\s*\d+人参与.*|\d+条评论|"
    r"扫一扫在手机打开当前页|相关阅读|相关新闻|相关链接|推荐阅读|延伸阅读|热点推荐|上一篇.*|下一篇.*)$"
)


def _is_content_like(line: str) -> bool:
    return len(line) >= 40 and line[-1] in _FINAL


def _is_tail_content(line: str) -> bool:
    # After a comment-section marker only a real sentence counts; related-news headlines and
    # "快来抢沙发吧!" do not end in 。.
    return len(line) >= 15 and line.endswith("。")


# A site's menu: "要闻 | 城市 | 老外在龙江 | 直观中国 | 原创", short items between bars.
_MENU_SEPARATOR = re.compile(r"\s*[|｜]\s*")
_MENU_MIN_ITEMS, _MENU_ITEM_LIMIT = 4, 8


def _is_menu(line: str) -> bool:
    if "|" not in line and "｜" not in line:
        return False  # one item (the test in C spares the split of every line)
    items = [item for item in _MENU_SEPARATOR.split(line) if item]
    return (
        len(items) >= _MENU_MIN_ITEMS
        and all(len(item) <= _MENU_ITEM_LIMIT for item in items)
        and not _SENTENCE_MARK.search(line)
    )


def _is_boilerplate(line: str) -> bool:
    n = len(line)
    if _is_menu(line):
        return True
    if n <= _SHORT_LIMIT and _SHORT_BOILERPLATE.search(line):
        return True
    if n <= _NAV_LIMIT and not _NAV_TOKENS.sub("", line):
        return True
    if n <= _LONG_LIMIT and (_BREADCRUMB.search(line) or _LONG_BOILERPLATE.search(line)):
        return True
    if n <= 200 and _DISCLAIMER.match(line):
        return True
    return n <= _CONTACT_LIMIT and bool(_CONTACT.search(line)) and bool(_PHONE_OR_MAIL.search(line))


def _is_caption(lines: list[str], i: int, above: str) -> bool:
    """A lone short line ending in 。 between blank lines, with no clause break: a photo caption.
    Not a line that continues a number or sentence cut above it ("102\n\n49名。")."""
    line = lines[i]
    if len(line) > 20 or not line.endswith("。") or re.search(r"[,;:。!?].", line):
        return False
    if line[0] in _CONTINUATION_START or line[0].isdigit():
        return False
    before = lines[i - 1] if i > 0 else ""
    after = lines[i + 1] if i + 1 < len(lines) else ""
    if before or after:
        return False
    return not (above and above[-1].isdigit() and _UNIT_START.match(line))


def _tail_start(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if line and _TAIL_START.match(line) and not any(_is_tail_content(x) for x in lines[i + 1 :]):
            return i
    return len(lines)


# ---------------------------------------------------------------------------------------------
# Rejoining lines broken inside a sentence or a number.


def _should_join(prev: str, nxt: str) -> bool:
    first, last = nxt[0], prev[-1]
    if first in _CONTINUATION_START:
        return True
    paragraph_like = len(prev) >= _JOIN_MIN_LEN or bool(re.search(r"[。!?;]", prev))
    if last.isdigit() or (last == "." and prev[-2:-1].isdigit()):
        if _UNIT_START.match(nxt) and not first.isdigit():
            return True  # 74.05 / 万元, 10249 / 名
        if first.isdigit() or first == ".":
            # Digits on both sides: one number cut in two, unless the lines are table rows.
            cut_count = bool(_COUNT_THEN_DIGITS.search(prev) and _DIGITS_THEN_UNIT.match(nxt))
            return paragraph_like or cut_count or bool(re.search(r"[,、]", prev))
    if last in _FINAL or _HEADING_MARK.match(nxt):
        return False
    if _DIGITS_THEN_UNIT.match(nxt) and not _YEAR_START.match(nxt) and re.search(r"[,、]", prev):
        return True  # 贫困户15832户,贫困人口 / 58210人: a figure cut from its noun mid-sentence
    if last in "“‘《([【":
        return True  # an opening bracket never ends a line of its own
    if not paragraph_like:
        return False  # a short line without final punctuation is a heading
    # A short unpunctuated next line is a heading after a paragraph that lost its final mark.
    return not (len(nxt) < 30 and not re.search(r"[,。!?;:、]", nxt))


def _separator(prev: str, nxt: str) -> str:
    return " " if prev[-1].isascii() and prev[-1].isalpha() and nxt[0].isascii() and nxt[0].isalpha() else ""


# ---------------------------------------------------------------------------------------------


def _pick_title(kept: list[tuple[str, bool]]) -> str | None:
    """The headline: in the header region (before the first paragraph), the line just above the
    first metadata line, else the first substantial line."""
    candidates: list[tuple[int, str]] = []
    for idx, (line, is_meta) in enumerate(kept):
        if is_meta:
            if candidates:
                return candidates[-1][1]
            continue
        if _is_content_like(line) or len(line) > 60 or line[-1] in "。!?;" or line.count(",") > 2:
            break
        if len(_HAN.findall(line)) >= 4:
            candidates.append((idx, line))
    return candidates[0][1] if candidates else None


def _has_spaces_to_tidy(line: str) -> bool:
    """Whether _SPACES.sub(" ", line) changes the line: two spaces in a row or another space
    character (a few tests in C, a third of the pattern's scan)."""
    return "  " in line or any(space in line for space in _SPACE_CHARS[1:])


def _tidy_line(line: str) -> str:
    line = (_SPACES.sub(" ", line) if _has_spaces_to_tidy(line) else line).strip()
    if line[-1:].isdigit():  # (what each pattern needs, tested in C first)
        line = _LINE_END_MARKER.sub("", line)
    return _SPACE_BEFORE_UNIT.sub("", line) if " " in line else line


def clean_document(text: str, *, is_html: bool, url: str | None = None) -> CleanedText:
    """Clean one report: article text (paragraphs separated by "\\n") and its metadata.

    `url` is where a scraped page came from: its path often holds the publication date."""
    html_meta = None
    if is_html:
        from pipelines.core.html_text import html_to_article  # html_text imports us back

        html_meta = html_to_article(text)
        text = html_meta.text
    text = normalize_text(text)

    lines = [_tidy_line(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = lines[: _tail_start(lines)]

    published: dt.date | None = None
    outlet: str | None = None
    author: str | None = None
    # (line or "" for a break, is_metadata) in order; metadata kept only to place the title.
    kept: list[tuple[str, bool]] = []
    header: list[str] = []
    above = ""  # the last non-blank line seen, to tell a caption from a cut-off number
    for i, line in enumerate(lines):
        if not line:
            kept.append(("", False))
            continue
        prev_line, above = above, line
        found = read_metadata_line(line)
        if found is not None:
            published = published or found.published_date
            outlet = outlet or found.outlet
            author = author or found.author
            kept.append(("", True))
            continue
        if _is_boilerplate(line) or _is_caption(lines, i, prev_line):
            if not any(k for k, _ in kept):
                header.append(
                    line
                )  # site name, menu, breadcrumb: may name the county when the article does not
            kept.append(("", False))
            continue
        # a credit closes the line with a bracket (the test in C spares the scan of every line)
        m = _TRAILING_CREDIT.search(line) if line.endswith(_CREDIT_CLOSERS) else None
        if m:
            author = author or _names(m.group("who"))
            line = line[: m.start()].rstrip()
        elif author is None:
            m = _INLINE_REPORTER.match(line)
            if m:
                author = _names(m.group("who"))
        kept.append((line, False))

    # Join lines; a metadata line between two lines keeps them apart.
    joined: list[tuple[str, bool]] = []
    for line, is_meta in kept:
        if is_meta:
            joined.append(("", True))
        elif line:
            if joined and joined[-1][0] and _should_join(joined[-1][0], line):
                prev = joined[-1][0]
                joined[-1] = (prev + _separator(prev, line) + line, False)
            else:
                joined.append((line, False))
    title = _pick_title(joined)
    paragraphs = [line for line, _ in joined if line]

    seen: set[str] = set()
    unique: list[str] = []
    for para in paragraphs:
        key = without_whitespace(para)
        if len(key) >= 8:
            if key in seen:
                continue
            seen.add(key)
        unique.append(para)

    if html_meta is not None:
        title = html_meta.title or title
        published = html_meta.published_date or published
        outlet = html_meta.outlet or outlet
        author = html_meta.author or author
    if title:
        from pipelines.core.html_text import clean_title

        title = clean_title(title)
    article = "\n".join(unique)
    return CleanedText(
        text=article,
        title=title,
        published_date=pubdate.choose_publication_date(published, article, url=url),
        outlet=outlet,
        author=author,
        is_work_report=pubdate.is_work_report(title, article),
        page_header="\n".join(header) or None,
    )
