"""Article text and metadata from a Chinese government or newspaper page.

trafilatura does the main extraction (offline, favouring recall, paragraphs as lines). Our own
lxml rules take over when it finds nothing or much less Chinese text than the page's densest
block: strip non-content elements, then keep the block with the most Chinese characters.
Title, date and outlet come from the page's meta tags (government CMS tags such as ArticleTitle,
PubDate, ContentSource first), then from "发布时间:... 来源:..." lines in the page.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections import defaultdict
from configparser import ConfigParser

import lxml.etree
import lxml.html

from pipelines.core.models import CleanedText
from pipelines.core.normalize import normalize_text

__all__ = ["clean_title", "html_to_article"]

log = logging.getLogger(__name__)

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_WS = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")

# Elements that never hold article text.
_DROP_TAGS = (
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe",
    "select", "button", "input", "textarea", "svg", "object", "embed", "link", "meta", "head",
)  # fmt: skip
# class/id words of page furniture: matched anywhere for the distinctive ones...
_JUNK_ANYWHERE = re.compile(
    r"comment|pinglun|share|fenxiang|bdshare|jiathis|copyright|banquan|breadcrumb|crumb|qrcode|erweima"
    r"|sidebar|footer|navbar|login|weizhi|position|location|related|xiangguan|recommend|tuijian|advert",
    re.IGNORECASE,
)
# ...and as a whole token for the short ones, which hide inside other words (e.g. "download").
_JUNK_TOKENS = frozenset(
    {"nav", "menu", "foot", "header", "head", "top", "side", "ad", "ads", "tags", "tag", "print", "banner",
     "links", "link", "dh", "daohang", "search", "toolbar", "tools", "bottom"}
)  # fmt: skip
_TOKEN_SPLIT = re.compile(r"[\s_\-]+")
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section",
     "article", "blockquote", "pre", "dd", "dt", "dl", "center", "main", "figure", "figcaption", "hr"}
)  # fmt: skip
_CANDIDATE_TAGS = ("div", "td", "article", "section", "main", "body")

# Site-name suffixes of <title>: "标题_郎溪县人民政府", "标题 - 新华网", "标题|人民网".
_TITLE_SPLIT = re.compile(r"\s*[_|｜]\s*|\s+[-–—]{1,2}\s+|(?<=[\u4e00-\u9fff])-(?=[\u4e00-\u9fff])")


@functools.cache
def _trafilatura_config() -> ConfigParser:
    from trafilatura.settings import use_config

    config = use_config()
    # Timeouts use SIGALRM, which only works on the main thread; orchestrators run us in workers.
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    return config


def _han_count(text: str | None) -> int:
    # counted by runs: findall of single characters made one string object per character (3.5x slower)
    return sum(map(len, _HAN_RUN.findall(text))) if text else 0


# libxml2 drops everything nested deeper than 256 elements (and our walks recurse per level): tags
# nested deeper than this are taken out before parsing. Real pages stay far below it.
MAX_NESTING = 128
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)\b[^>]*?(/?)>")
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
     "track", "wbr", "keygen"}
)  # fmt: skip


def _nesting_depth(html: str) -> int:
    depth = deepest = 0
    for m in _TAG.finditer(html):
        closing, name, self_closing = m.group(1), m.group(2).lower(), m.group(3)
        if name in _VOID_TAGS or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def flatten_deep_nesting(html: str, max_depth: int = MAX_NESTING) -> str:
    """The page with every tag nested deeper than max_depth removed (its text kept, block tags
    becoming line breaks), so a parser with a depth limit keeps the whole article."""
    if html.count("<") <= max_depth or _nesting_depth(html) <= max_depth:
        return html
    stack: list[tuple[str, bool]] = []  # (tag name, kept)
    open_count: dict[str, int] = defaultdict(int)  # so a stray closing tag costs no stack scan
    out: list[str] = []
    last = 0
    for m in _TAG.finditer(html):
        closing, name, self_closing = m.group(1), m.group(2).lower(), m.group(3)
        out.append(html[last : m.start()])
        last = m.end()
        tag = m.group(0)
        if name in _VOID_TAGS or self_closing:
            out.append(tag)
            continue
        if not closing:
            kept = len(stack) < max_depth
            stack.append((name, kept))
            open_count[name] += 1
            out.append(tag if kept else ("\n" if name in _BLOCK_TAGS else ""))
            continue
        if not open_count[name]:
            out.append(tag)  # stray: the parser deals with it as it would have
            continue
        # A closing tag closes the innermost open element of its name (and any left open inside it).
        while True:
            open_name, kept = stack.pop()
            open_count[open_name] -= 1
            if open_name == name:
                break
        out.append(tag if kept else ("\n" if name in _BLOCK_TAGS else ""))
    out.append(html[last:])
    return "".join(out)


def _parse(html: str) -> lxml.html.HtmlElement | None:
    if not html or not html.strip():
        return None
    try:
        # An XML declaration with an encoding makes lxml refuse a str; the text is decoded already.
        html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html, count=1)
        return lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return None


def _trafilatura_text(html: str) -> str:
    import trafilatura

    try:
        text = trafilatura.extract(
            html,
            output_format="txt",
            favor_recall=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            with_metadata=False,
            deduplicate=False,
            config=_trafilatura_config(),
        )
    except Exception as exc:  # a library failure on one odd page must not lose the page
        log.warning("trafilatura failed, using fallback rules: %s", exc)
        return ""
    return text or ""


def _is_junk(el: lxml.html.HtmlElement) -> bool:
    marks = " ".join(filter(None, (el.get("class"), el.get("id")))).strip()
    if not marks:
        return False
    if _JUNK_ANYWHERE.search(marks):
        return True
    return any(token.lower() in _JUNK_TOKENS for token in _TOKEN_SPLIT.split(marks))


def _strip(root: lxml.html.HtmlElement, *, by_class: bool) -> None:
    for el in [*root.iter(*_DROP_TAGS), *root.iter(lxml.etree.Comment)]:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, which belongs to the parent
    if by_class:
        for el in list(root.iter()):
            if el.tag in ("html", "body") or not isinstance(el.tag, str):
                continue
            if el.getparent() is not None and _is_junk(el):
                el.drop_tree()


def _lines(el: lxml.html.HtmlElement) -> list[str]:
    """The element's text with one line per block element (paragraph, div, br, list item...)."""
    parts: list[str] = []

    def walk(node: lxml.html.HtmlElement) -> None:
        if not isinstance(node.tag, str):
            if node.tail:
                parts.append(node.tail)
            return
        block = node.tag in _BLOCK_TAGS
        if block:
            parts.append("\n")
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
        if block:
            parts.append("\n")
        elif node.tag == "td":
            parts.append(" ")
        if node.tail:
            parts.append(node.tail)

    walk(el)
    out = []
    for line in "".join(parts).split("\n"):
        line = _WS.sub(" ", line).strip()
        if line:
            out.append(line)
    return out


def _own_han(el: lxml.html.HtmlElement) -> int:
    """Chinese characters directly in el: its text, inline children, and tails of its children."""
    n = _han_count(el.text)
    for child in el:
        if isinstance(child.tag, str) and child.tag not in _BLOCK_TAGS:
            n += _han_count(child.text_content())
        n += _han_count(child.tail)
    return n


def _fallback_lines(root: lxml.html.HtmlElement) -> list[str]:
    """Densest block: credit each <p>'s Chinese characters to its parent (and half to the
    grandparent), plus each container's own loose text; the best-scoring container wins."""
    scores: dict[lxml.html.HtmlElement, float] = defaultdict(float)
    for p in root.iter("p"):
        n = _han_count(p.text_content())
        if n < 4:
            continue
        parent = p.getparent()
        if parent is not None:
            scores[parent] += n
            grand = parent.getparent()
            if grand is not None:
                scores[grand] += n / 2
    for el in root.iter(*_CANDIDATE_TAGS):
        own = _own_han(el)
        if own:
            scores[el] += own
    if not scores:
        return []
    best = max(scores, key=lambda el: scores[el])
    return _lines(best)


def _meta_tags(root: lxml.html.HtmlElement) -> dict[str, str]:
    tags: dict[str, str] = {}
    for el in root.iter("meta"):
        key = (el.get("name") or el.get("property") or el.get("itemprop") or "").strip().lower()
        content = (el.get("content") or "").strip()
        if key and content and key not in tags:
            tags[key] = content
    return tags


def clean_title(title: str | None) -> str | None:
    """Drop site-name suffixes ("_郎溪县人民政府", " - 新华网") and normalise; None if nothing left."""
    if not title:
        return None
    title = _WS.sub(" ", normalize_text(title)).strip()
    parts = [p.strip() for p in _TITLE_SPLIT.split(title) if p and p.strip()]
    if not parts:
        return None
    # The headline comes first in Chinese site titles ("标题_栏目_网站").
    head = parts[0]
    if _han_count(head) < 2 and len(parts) > 1:
        head = max(parts, key=_han_count)
    return head or None


def _title(root: lxml.html.HtmlElement, meta: dict[str, str]) -> str | None:
    for key in ("articletitle", "og:title", "twitter:title", "title"):
        if meta.get(key):
            cleaned = clean_title(meta[key])
            if cleaned and _han_count(cleaned) >= 2:
                return cleaned
    title_el = root.find(".//title")
    page_title = clean_title(title_el.text_content()) if title_el is not None else None
    h1s = [clean_title(h.text_content()) for h in root.iter("h1")]
    h1s = [h for h in h1s if h and _han_count(h) >= 4]
    # An <h1> that is also in <title> is the headline; other <h1>s are often the site logo.
    for h1 in h1s:
        if page_title and (h1 in page_title or page_title in h1):
            return h1
    return page_title or (h1s[0] if h1s else None)


_DATE_META_KEYS = (
    "pubdate", "publishdate", "article:published_time", "og:release_date", "publish_time", "publishtime",
    "dc.date", "dc.date.issued", "date", "firstpublishedtime", "releasedate", "og:published_time",
)  # fmt: skip
_META_DATE = re.compile(
    r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})|((?:19|20)\d{2})(\d{2})(\d{2})"
)


def _date_from_meta(meta: dict[str, str]) -> dt.date | None:
    for key in _DATE_META_KEYS:
        value = meta.get(key)
        if not value:
            continue
        m = _META_DATE.search(value)
        if not m:
            continue
        y, mo, d = (
            (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(4), m.group(5), m.group(6))
        )
        try:
            return dt.date(int(y), int(mo), int(d))
        except ValueError:
            continue
    return None


_SITE_WORDS = re.compile(r"政府|网站|门户|网$|日报|晚报|发布|电视台|客户端")


def _outlet_from_meta(meta: dict[str, str]) -> str | None:
    for key in ("contentsource", "source", "article:source", "og:site_name", "sitename", "application-name"):
        if meta.get(key):
            return normalize_text(meta[key]).strip() or None
    return None


def _author_from_meta(meta: dict[str, str]) -> str | None:
    for key in ("author", "article:author", "dc.creator"):
        value = normalize_text(meta.get(key, "")).strip()
        # Government CMSs put the site's name here; that is the outlet, not an author.
        if value and len(value) <= 30 and not _SITE_WORDS.search(value):
            return value
    return None


def html_to_article(html: str) -> CleanedText:
    """Article text (paragraphs as lines, normalised) and title/date/outlet/author of a page."""
    from pipelines.core.cleaning import read_metadata_line  # cleaning imports us; avoid the cycle

    html = flatten_deep_nesting(html)
    root = _parse(html)
    if root is None:
        return CleanedText(text="")
    meta = _meta_tags(root)
    title = _title(root, meta)

    # The whole page's visible lines: where "发布时间:... 来源:..." lines live (often outside the
    # article container), and the fallback when the page has no better block.
    page = _parse(html)
    assert page is not None
    _strip(page, by_class=False)
    visible = _lines(page)
    page_lines = [normalize_text(line) for line in visible]

    extracted = _trafilatura_text(html)
    # Trafilatura can lose most of a page laid out in tables or loose <div> text, and renders
    # layout tables as "| cell |" rows with the <br> breaks lost; our rules do better there.
    extracted_han = _han_count(extracted)
    in_tables = sum(_han_count(line) for line in extracted.splitlines() if line.lstrip().startswith("|"))
    use_fallback = False
    fallback_text = ""
    # The fallback block is part of the visible page (stripped further), so it holds no more
    # Chinese characters than the page's lines: when trafilatura's text has half of those and is
    # not mostly table rows, the block cannot win, and is not built (a parse and two walks).
    if in_tables > 0.5 * extracted_han or extracted_han < 0.5 * sum(map(_han_count, visible)):
        stripped = _parse(html)
        assert stripped is not None
        _strip(stripped, by_class=True)
        fallback = _fallback_lines(stripped)
        fallback_text = "\n".join(fallback)
        use_fallback = extracted_han < 0.5 * _han_count(fallback_text) or bool(
            fallback and in_tables > 0.5 * extracted_han
        )
    text = fallback_text if use_fallback else extracted
    text = normalize_text(text)

    published = _date_from_meta(meta)
    outlet = normalize_text(meta["contentsource"]).strip() if meta.get("contentsource") else None
    author = None
    for line in page_lines:
        found = read_metadata_line(line)
        if found is None:
            continue
        published = published or found.published_date
        outlet = outlet or found.outlet
        author = author or found.author
        if published and outlet and author:
            break
    outlet = outlet or _outlet_from_meta(meta)
    author = author or _author_from_meta(meta)
    return CleanedText(text=text, title=title, published_date=published, outlet=outlet, author=author)
