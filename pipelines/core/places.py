"""Finding provinces, prefectures and counties in report text, and the county a report is about.

How a name in the text becomes a place:
1. Surface forms. Every place is known by its official name (tier 0), by the analyst-curated
   aliases of schemas/place_aliases.csv (tier 1), and by forms derived from its name (tier 2):
   the short name (安图, 延边, 甘肃), 自治县/自治州/自治旗 short forms (都安县, 延边州), and the
   historical names of divisions that were renamed from 县 to 市/区 or from 市 to 区 (平泉县 → 平泉市),
   since the reports are from 2013–2021. A surface keeps only the candidates of its best tier, so
   朝阳县 (an official name) never means 朝阳区.
2. Stop entries (kind=stop in place_aliases.csv) are common words that look like places (和平,
   城关, 东方) or longer words that contain a place name (大兴安岭南麓, 振兴): they take part in
   matching, so they block the place reading, but produce no mention.
3. Matching is leftmost-longest and non-overlapping, by walking a character trie of all surfaces.
4. A surface with several candidates (东乡, 城关区, 朝阳区) is resolved by the other places of the
   same text: a place containing the other candidates wins (吉林 → 吉林省); then the candidate
   whose prefecture is named; then the one of highest level (西安 → 西安市, not 辽源's 西安区);
   then the one whose province is named; otherwise the mention is left out, never guessed.
5. A short name listed (、) with names that are not places (福安、福康、福祥: housing estates) is one
   of those names, not the place.
"""

from __future__ import annotations

import bisect
import csv
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import schemas

from .gazetteer import Gazetteer, Place
from .models import County, PlaceMention

TIER_OFFICIAL, TIER_ALIAS, TIER_DERIVED = 0, 1, 2

PROVINCE_SHORT = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}

# The 55 minority nationalities, as they appear inside autonomous-area names (with or without 族:
# 博尔塔拉蒙古自治州, 察布查尔锡伯自治县); 各族 as in 龙胜各族自治县.
# fmt: off
_ETHNIC = (
    "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
    "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜",
    "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒",
    "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲",
    "门巴", "珞巴", "基诺", "高山",
)
# fmt: on
_ETHNIC_TAIL = re.compile(
    "(?:各族|"
    + "|".join(sorted((e + "族" for e in _ETHNIC), key=len, reverse=True))
    + "|"
    + "|".join(sorted((e for e in _ETHNIC if len(e) >= 2), key=len, reverse=True))
    + ")$"
)


_BACK_REFERENCE = re.compile("(?:该|全|我|本)县")


def _back_references(text: str, start: int) -> list[int]:
    return [m.start() for m in _BACK_REFERENCE.finditer(text, start)]


_LEVEL_RANK = {"province": 0, "prefecture": 1, "county": 2}

# A name ending in 市 right before 场, or in 区 right before 域, is part of 市场 / 区域.
_SPLIT_AFTER = {"市": "场", "区": "域"}

_COUNTY_SUFFIX = {
    "县": "县",
    "旗": "旗",
    "县级市": "市",
    "市辖区": "区",
    "林区": "林区",
    "特区": "特区",
    "行政区": "行政区",
}


def default_aliases_path() -> Path:
    return Path(schemas.__file__).parent / "place_aliases.csv"


def strip_ethnic(root: str) -> str:
    """延边朝鲜族 → 延边, 积石山保安族东乡族撒拉族 → 积石山.

    An all-ethnic root is kept without 族 (鄂温克族 → 鄂温克)."""
    while True:
        shorter = _ETHNIC_TAIL.sub("", root)
        if shorter == root or not shorter:
            break
        root = shorter
    if _ETHNIC_TAIL.fullmatch(root) and root.endswith("族"):
        root = root[:-1]
    return root


def derived_forms(place: Place) -> list[str]:
    """Names a place goes by besides its official one (short names, old 县/市 names)."""
    name = place.name
    if place.level == "province":
        short = PROVINCE_SHORT.get(name) or re.sub("(?:省|市)$", "", name)
        return [short]
    if place.level == "prefecture":
        for suffix in ("自治州", "地区", "盟", "市"):
            if name.endswith(suffix):
                root = name[: -len(suffix)]
                break
        else:
            return []
        if suffix == "自治州":
            root = strip_ethnic(root)
            return [root, root + "州"]
        return [root]
    # county level
    kind = place.county_kind
    forms: list[str] = []
    if kind in ("自治县", "自治旗"):
        root = strip_ethnic(name[:-3])
        forms.append(root + name[-1])  # 都安县, 鄂温克旗
        if not (kind == "自治旗" and root in _ETHNIC):  # 鄂温克 alone is the people, not the banner
            forms.append(root)
        return forms
    if name.endswith("新区"):  # 浦东新区, 滨海新区
        return [name[:-2]]
    # by kind, not by name: 万柏林区 is a 市辖区 named 万柏林, not a 林区 named 万柏
    suffix = _COUNTY_SUFFIX.get(kind, "")
    if not suffix or not name.endswith(suffix):
        return []
    root = name[: -len(suffix)]
    forms.append(root)
    if root.endswith("县"):  # 沙县区, 赣县区: the root is the old county name itself
        return forms
    if kind == "县级市":
        forms.append(root + "县")  # 平泉县 → 平泉市
    elif kind == "市辖区":
        forms += [root + "县", root + "市"]  # 湟中县 → 湟中区, 临安市 → 临安区
    return forms


@dataclass(frozen=True, slots=True)
class AliasEntry:
    alias: str
    kind: str  # "alias" | "stop"
    code: str
    note: str


def read_aliases(path: Path) -> list[AliasEntry]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = [
            AliasEntry(
                alias=(r.get("alias") or "").strip(),
                kind=(r.get("kind") or "").strip(),
                code=(r.get("code") or "").strip(),
                note=(r.get("note") or "").strip(),
            )
            for r in csv.DictReader(f)
        ]
    for r in rows:
        if not r.alias or r.kind not in ("alias", "stop") or (r.kind == "alias") != bool(r.code):
            raise ValueError(f"{path}: bad alias row {r} (alias needs a code, stop must not have one)")
    return rows


_END = ""  # trie key marking the end of a word (no name is empty)


def _build_trie(words: Iterable[str]) -> dict:
    """A character trie of `words`; scanning it beats one big regex alternation (which `re` tries
    branch by branch at every position) by ~4x on report text."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[_END] = w
    return trie


def _scan(text: str, trie: dict) -> Iterator[tuple[int, int]]:
    """(start, end) of leftmost-longest, non-overlapping occurrences of the trie's words."""
    i, n = 0, len(text)
    root = trie.get
    while i < n:
        node = root(text[i])
        if node is None:
            i += 1
            continue
        j, best = i + 1, -1
        while node is not None:
            if _END in node:
                best = j
            if j >= n:
                break
            node = node.get(text[j])
            j += 1
        if best < 0:
            i += 1
        else:
            yield i, best
            i = best


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    end: int
    surface: str
    candidates: tuple[str, ...]  # codes; empty for a stop entry


class PlaceIndex:
    """Place-name matcher over a gazetteer; build once, reuse for every report."""

    def __init__(self, gazetteer: Gazetteer, aliases_path: Path | None = None) -> None:
        self.gazetteer = gazetteer
        entries = read_aliases(aliases_path or default_aliases_path())
        # the peoples themselves (东乡族, 鄂温克族) are never places
        stops: set[str] = {e + "族" for e in _ETHNIC} | {e.alias for e in entries if e.kind == "stop"}
        by_tier: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
        for p in gazetteer.places:
            by_tier[p.name][TIER_OFFICIAL].add(p.code)
            for form in derived_forms(p):
                if len(form) < 2:  # one-character roots (忠县 → 忠) are not names on their own
                    continue
                # old names built on a common word are mostly that word: 新城区 → 新城市 ("new city"),
                # 振兴区 → 振兴县 (乡村振兴县域)
                historical = p.county_kind in ("市辖区", "县级市") and form[-1] in "县市"
                if historical and form[:-1] in stops:
                    continue
                by_tier[form][TIER_DERIVED].add(p.code)
        for e in entries:
            if e.kind != "alias":
                continue
            if e.code not in gazetteer:
                raise ValueError(f"place alias {e.alias!r} points to unknown code {e.code}")
            by_tier[e.alias][TIER_ALIAS].add(e.code)
        self._candidates: dict[str, tuple[str, ...]] = {}
        for surface, tiers in by_tier.items():
            if surface not in stops:
                self._candidates[surface] = tuple(sorted(tiers[min(tiers)]))
        self.stop_words = frozenset(stops)
        self._trie = _build_trie([*self._candidates, *stops])

    # -- matching ---------------------------------------------------------------------------------

    def _raw_matches(self, text: str) -> list[_Match]:
        out = []
        for start, end in _scan(text, self._trie):
            surface = text[start:end]
            # 江南市场, 城关区域: the suffix belongs to the next word; fall back to the shorter name
            if text[end : end + 1] == _SPLIT_AFTER.get(surface[-1]):
                surface, end = surface[:-1], end - 1
                if surface not in self._candidates:
                    continue
            out.append(_Match(start, end, surface, self._candidates.get(surface, ())))
        return out

    def _context(self, matches: list[_Match]) -> Counter[str]:
        """How often each place is named unambiguously, counting a county's prefecture and province."""
        ctx: Counter[str] = Counter()
        for m in matches:
            if len(m.candidates) == 1:
                p = self.gazetteer.place(m.candidates[0])
                ctx[p.code] += 1
                ctx.update(p.ancestors())
        return ctx

    def _resolve(self, candidates: tuple[str, ...], ctx: Counter[str]) -> str | None:
        if len(candidates) == 1:
            return candidates[0]
        places = [self.gazetteer.place(c) for c in candidates]
        # 1. a place that contains all the others is what the bare name means (吉林 → 吉林省, 临夏 → 临夏州)
        for p in places:
            if all(p.code in q.ancestors() for q in places if q is not p):
                return p.code
        scored = sorted(((self._support(p, ctx), p.code) for p in places), reverse=True)
        (best, best_code), (runner_up, _) = scored[0], scored[1]
        # 2. the text names the candidate's prefecture (东乡 in a text about 临夏州)
        if best[0] >= 2 and best > runner_up:
            return best_code
        # 3. a bigger place beats smaller ones elsewhere: 西安 is 西安市 unless 辽源 is named,
        #    河南 the province unless 黄南 is named
        top = min(_LEVEL_RANK[p.level] for p in places)
        highest = [p for p in places if _LEVEL_RANK[p.level] == top]
        if len(highest) == 1:
            return highest[0].code
        # 4. the text names only the candidate's province (东乡 + 甘肃)
        if best[0] >= 1 and best > runner_up:
            return best_code
        return None

    def _support(self, p: Place, ctx: Counter[str]) -> tuple[int, int]:
        """How much the text backs candidate p: (2 per named prefecture + 1 per named province, count)."""
        named = [a for a in p.ancestors() if ctx[a]]
        weight = sum(2 if self.gazetteer.place(a).level == "prefecture" else 1 for a in named)
        return weight, sum(ctx[a] for a in named)

    def find_places(self, text: str) -> list[PlaceMention]:
        """Places named in `text`, sorted by start, non-overlapping (leftmost-longest).

        Ambiguous names the rest of the text cannot settle are left out rather than guessed."""
        matches = self._raw_matches(text)
        ctx = self._context(matches)
        out = []
        for m in matches:
            if not m.candidates:
                continue
            code = self._resolve(m.candidates, ctx)
            if code is None:
                continue
            p = self.gazetteer.place(code)
            out.append(PlaceMention(m.start, m.end, m.surface, p.level, p.code, p.name))
        return _without_names_listed_with_non_places(text, out)

    # -- the subject of a report ------------------------------------------------------------------

    def subject_county(self, title: str | None, text: str) -> County | None:
        """The county a report is about, or None when it names no county.

        A county named in the title wins (the one the body names most if the title names
        several); otherwise the county the body names most (该县/全县 after a county count half a
        mention for it), ties broken by whether its prefecture or province is also named, then by
        which comes first."""
        head = (title or "").strip()
        joined = f"{head}\n{text}" if head else text
        mentions = self.find_places(joined)
        title_end = len(head) if head else 0
        counties = [m for m in mentions if m.level == "county"]
        if not counties:
            return None
        in_body: Counter[str] = Counter()
        for m in counties:
            if m.start > title_end:
                in_body[m.code] += 1
        # 该县/全县/我县 refer back to the county named last: half a mention each, enough to break ties
        starts = [m.start for m in counties]
        for pos in _back_references(joined, title_end):
            i = bisect.bisect_left(starts, pos) - 1
            if i >= 0:
                in_body[counties[i].code] += 0.5
        first_seen: dict[str, int] = {}
        for m in counties:
            first_seen.setdefault(m.code, m.start)
        named = Counter(m.code for m in mentions)

        def consistency(code: str) -> int:
            return sum(named[a] for a in self.gazetteer.place(code).ancestors())

        in_title = [m.code for m in counties if m.end <= title_end]
        pool = list(dict.fromkeys(in_title)) or list(in_body)
        if not pool:
            return None
        best = max(pool, key=lambda c: (in_body[c], consistency(c), -first_seen[c]))
        return self.gazetteer.county(best)


# A member of a list of names: a few Chinese characters between enumeration marks (福康 in
# 福安、福康、福祥), not a phrase with a figure (新民1854人 in 康平7418人、新民1854人).
_NEXT_NAME = re.compile(r"、([\u4e00-\u9fff]{1,4})(?![\u4e00-\u9fff\d])")
_PREVIOUS_NAME = re.compile(r"(?<![\u4e00-\u9fff\d.%％])([\u4e00-\u9fff]{1,4})、$")


def _without_names_listed_with_non_places(text: str, mentions: list[PlaceMention]) -> list[PlaceMention]:
    """Drop a short name listed with names that are not places: in 建起了福安、福康、福祥三个小区 the
    estates are named 福安 (like 福安市) and 福康; in 岳西、潜山、太湖等县 every member is a place."""
    starts = {m.start for m in mentions}
    ends = {m.end for m in mentions}
    kept = []
    for m in mentions:
        siblings = []  # for the list members right after and before this one: is it a place?
        if m.surface != m.name:  # an official name is that place wherever it stands
            if after := _NEXT_NAME.match(text, m.end):
                siblings.append(after.start(1) in starts)
            if before := _PREVIOUS_NAME.search(text, max(0, m.start - 6), m.start):
                siblings.append(before.end(1) in ends)
        if not siblings or any(siblings):
            kept.append(m)
    return kept
