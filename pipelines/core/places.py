"""Finding provinces, prefectures and counties in report text, and the county a report is about.

How a name in the text becomes a place:
1. Surface forms. Every place is known by its official name (tier 0), by the analyst-curated
   aliases of schemas/place_aliases.csv (tier 1), and by forms derived from its name (tier 2):
   the short name (安图, 延边, 甘肃), 自治县/自治州/自治旗 short forms (都安县, 延边州), and the
   historical names of divisions that were renamed from 县 to 市/区 or from 市 to 区 (平泉县 → 平泉市),
   since the reports are from 2013–2021, and the customary abbreviations of Inner Mongolia's
   banners (察右后旗 for 察哈尔右翼后旗, 乌前旗, 东乌旗; one-character ones like 准旗 are listed in
   place_aliases.csv). A surface keeps only the candidates of its best tier, so 朝阳县 (an official
   name) never means 朝阳区.
2. Stop entries (kind=stop in place_aliases.csv) are common words that look like places (和平,
   城关, 东方) or longer words that contain a place name (大兴安岭南麓, 振兴): they take part in
   matching, so they block the place reading, but produce no mention.
3. Matching is leftmost-longest and non-overlapping, by an Aho–Corasick automaton of all surfaces.
   A short name right before 河/江/湖/溪/山/岭/峰 names a river or mountain (金沙江, 长白山, 贺兰山),
   and a name starting with 万/千/百/亿 right after a number is that number's unit (200多万年前):
   neither is a place.
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ahocorasick_rs

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


_BACK_REFERENCE = {suffix: re.compile(f"(?:该|全|我|本){suffix}") for suffix in "县旗"}


def _back_references(text: str, start: int, suffix: str) -> list[int]:
    """Where 该县/全县/我县/本县 (or the same with 旗) stand in text after `start`."""
    return [m.start() for m in _BACK_REFERENCE[suffix].finditer(text, start)]


_LEVEL_RANK = {"province": 0, "prefecture": 1, "county": 2}

# A name ending in 市 right before 场, or in 区 right before 域, is part of 市场 / 区域.
_SPLIT_AFTER = {"市": "场", "区": "域"}

# A short name before one of these names a river or mountain (金沙江, 长白山), except 山区
# (通江山区: the county's mountain area).
_LANDFORM = frozenset("河江湖溪山岭峰")
# A short name ending in one of these may be the river or mountain itself (沙河, 恒山, 五指山).
_LANDFORM_END = frozenset("河江湖溪山岭峰海")
_NUMBER_BEFORE = frozenset("0123456789.〇零一二两三四五六七八九十百千万多余几数")
_NUMBER_UNITS = frozenset("万千百亿")
# A county-level name written with its suffix; without one (安图, 察右后) it is a short name.
_PLACE_SUFFIXES = frozenset("县旗市区州盟")

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
    if kind == "旗":
        forms += banner_abbreviations(name[:-1])
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


_BANNER_WING = re.compile(r"(?P<root>.{2,}?)(?P<side>[左右])翼(?P<part>[前中后])")
_BANNER_PART = re.compile(r"(?P<root>.{2,}?)(?P<part>[前中后左右])")
_DIRECTIONS = "东西南北"


def banner_abbreviations(root: str) -> list[str]:
    """How Inner Mongolia writes its long banner names: the first character of the people or place
    name plus the wing and part (察哈尔右翼后 → 察右后旗, 乌拉特前 → 乌前旗), or an east/west
    prefix plus that character (东乌珠穆沁 → 东乌旗). One-character forms (准旗 for 准格尔旗) are
    ambiguous among banners and everyday words, so place_aliases.csv lists the customary ones."""
    m = _BANNER_WING.fullmatch(root)
    if m:
        return [m["root"][0] + m["side"] + m["part"] + "旗"]
    m = _BANNER_PART.fullmatch(root)
    if m:
        return [m["root"][0] + m["part"] + "旗"]
    if len(root) >= 4 and root[0] in _DIRECTIONS:
        return [root[:2] + "旗"]
    return []


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


def _name_matcher(words: Iterable[str]) -> ahocorasick_rs.AhoCorasick:
    """An Aho–Corasick automaton of `words` returning leftmost-longest, non-overlapping matches, in
    compiled code: ~6x faster on report text than the character trie walked in Python it replaced
    (which beat one big regex alternation by ~4x); pyahocorasick was 2x slower than that trie here."""
    return ahocorasick_rs.AhoCorasick(list(words), matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)


@dataclass(slots=True)  # not frozen, as models.PlaceMention: made per name, never changed
class _Match:
    start: int
    end: int
    surface: str
    candidates: tuple[str, ...]  # codes; empty for a stop entry

    def shifted(self, offset: int) -> _Match:
        return _Match(self.start + offset, self.end + offset, self.surface, self.candidates)


@dataclass(frozen=True, slots=True)
class PlacesInText:
    """The places named in one text, found once by PlaceIndex.places_in and handed to both
    PlaceIndex.subject_county and extract.extract_facts, which would otherwise each look again."""

    text: str
    matches: tuple[_Match, ...]  # every name (and stop entry) before resolution
    mentions: list[PlaceMention]  # resolved among the places of this text alone, as find_places


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
        short: set[str] = set()
        for surface, tiers in by_tier.items():
            if surface not in stops:
                self._candidates[surface] = tuple(sorted(tiers[min(tiers)]))
                if min(tiers) == TIER_DERIVED and surface[-1] not in _PLACE_SUFFIXES:
                    short.add(surface)
        self.short_names = frozenset(short)
        self.stop_words = frozenset(stops)
        self._words = (*self._candidates, *stops)
        self._word_lengths = sorted({len(w) for w in self._words})
        self._matcher = _name_matcher(self._words)

    def __getstate__(self) -> dict:
        # the compiled matcher cannot be pickled: rebuilt from the words (a few milliseconds)
        return {k: v for k, v in self.__dict__.items() if k != "_matcher"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._matcher = _name_matcher(self._words)

    # -- matching ---------------------------------------------------------------------------------

    def _starts_word(self, text: str, i: int) -> bool:
        """Whether a name (or stop entry) starts at text[i]."""
        words = self._candidates
        return any(text[i : i + n] in words or text[i : i + n] in self.stop_words for n in self._word_lengths)

    def _raw_matches(self, text: str) -> list[_Match]:
        out = []
        for _, start, end in self._matcher.find_matches_as_indexes(text):
            surface = text[start:end]
            # 江南市场, 城关区域: the suffix belongs to the next word; fall back to the shorter name
            if text[end : end + 1] == _SPLIT_AFTER.get(surface[-1]):
                surface, end = surface[:-1], end - 1
                if surface not in self._candidates:
                    continue
            if surface in self.short_names and self._names_landform(text, end):
                continue
            if surface[0] in _NUMBER_UNITS and text[start - 1 : start] in _NUMBER_BEFORE and start:
                continue
            out.append(_Match(start, end, surface, self._candidates.get(surface, ())))
        return out

    def _names_landform(self, text: str, end: int) -> bool:
        """Whether the name ending at `end` is part of a river's or mountain's (长白山), not a place
        followed by another (张掖山丹县)."""
        if text[end : end + 1] not in _LANDFORM or text[end : end + 2] == "山区":
            return False
        return not self._starts_word(text, end)

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
        return self._resolved(text, self._raw_matches(text))

    def places_in(self, text: str) -> PlacesInText:
        """The places of `text` (its find_places, and the names before resolution), to pass to
        subject_county and extract_facts so that each report is searched once."""
        matches = self._raw_matches(text)
        return PlacesInText(text, tuple(matches), self._resolved(text, matches))

    def _resolved(self, text: str, matches: Sequence[_Match]) -> list[PlaceMention]:
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

    def subject_county(
        self,
        title: str | None,
        text: str,
        outlet: str | None = None,
        page_header: str | None = None,
        *,
        found_places: PlacesInText | None = None,
    ) -> County | None:
        """The county a report is about, or None when it names no county.

        A county named in the title wins (the one the body scores highest if the title names
        several). Otherwise the county the body scores highest: a mention by the full name (安图县,
        察右后旗) counts 2, by a short name (安图) 1, by a short name that may be a river or mountain
        (沙河, 恒山) ½; 该县/全县/全旗 after a county ½ for it; the full name in the first lines of
        the body 3 more, and a county the outlet names (来源:今日宁乡) 4 more. Ties go to the county
        whose prefecture or province is also named, then to the one named first. When nothing
        scores a full mention, the page's header lines (menus, breadcrumbs: 首页 > 宁乡新闻) decide.

        `found_places`: the places_in(text) of the same text, when the caller has them already."""
        head = (title or "").strip()
        joined = f"{head}\n{text}" if head else text
        if found_places is None:
            mentions = self.find_places(joined)
        elif found_places.text != text:
            raise ValueError("found_places are the places of another text")
        elif head:
            # No name spans the line break, so the title's names and the text's are those of the
            # two searched apart; only resolution needs the whole (the title's names settle the text's).
            shift = len(head) + 1
            matches = [*self._raw_matches(head), *(m.shifted(shift) for m in found_places.matches)]
            mentions = self._resolved(joined, matches)
        else:
            mentions = found_places.mentions
        title_end = len(head) if head else 0
        body_start = title_end + 1 if head else 0
        counties = [m for m in mentions if m.level == "county"]
        outlet_counties = [m.code for m in self.find_places(outlet or "") if m.level == "county"]
        if not counties and not outlet_counties and not page_header:
            return None
        score: Counter[str] = Counter()
        lead_end = _lead_end(joined, body_start)
        led: set[str] = set()
        for m in counties:
            if m.start < body_start:
                continue
            score[m.code] += self._mention_weight(m)
            if m.start < lead_end and m.surface not in self.short_names and m.code not in led:
                led.add(m.code)
                score[m.code] += _LEAD_BONUS
        # 该县/全县/我县 refer back to the county named last, 全旗 to the banner: half a mention each
        for suffix in "县旗":
            referents = [
                m
                for m in counties
                if self._mention_weight(m) >= 1 and (m.name[-1] == "旗") == (suffix == "旗")
            ]
            if not referents:
                continue  # nothing to refer back to (全旗 in a county's report): spare the scan
            starts = [m.start for m in referents]
            for pos in _back_references(joined, body_start, suffix):
                i = bisect.bisect_left(starts, pos) - 1
                if i >= 0:
                    score[referents[i].code] += 0.5
        for code in dict.fromkeys(outlet_counties):
            score[code] += _OUTLET_BONUS
        first_seen: dict[str, int] = {}
        for m in counties:
            first_seen.setdefault(m.code, m.start)
        named = Counter(m.code for m in mentions)

        def consistency(code: str) -> int:
            return sum(named[a] for a in self.gazetteer.place(code).ancestors())

        in_title = [m.code for m in counties if m.end <= title_end and self._mention_weight(m) >= 1]
        pool = list(dict.fromkeys(in_title)) or list(score)
        if page_header and not in_title and max(score.values(), default=0) < 1:
            for m in self.find_places(page_header):
                if m.level == "county":
                    score[m.code] += self._mention_weight(m)
            pool = list(score)
        if not pool:
            return None
        best = max(pool, key=lambda c: (score[c], consistency(c), -first_seen.get(c, len(joined))))
        return self.gazetteer.county(best)

    def _mention_weight(self, m: PlaceMention) -> float:
        if m.surface not in self.short_names:
            return 2
        return 0.5 if m.surface[-1] in _LANDFORM_END else 1


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
        # an official name is that place wherever it stands; a list member has 、 beside it (its
        # test in C spares the patterns; 、$ also matches before a final line break)
        if m.surface != m.name:
            if text[m.end : m.end + 1] == "、" and (after := _NEXT_NAME.match(text, m.end)):
                siblings.append(after.start(1) in starts)
            if "、" in text[max(0, m.start - 2) : m.start] and (
                before := _PREVIOUS_NAME.search(text, max(0, m.start - 6), m.start)
            ):
                siblings.append(before.end(1) in ends)
        if not siblings or any(siblings):
            kept.append(m)
    return kept


_LEAD_BONUS = 3
_OUTLET_BONUS = 4
_LEAD_LINES, _LEAD_CHARS = 2, 150


def _lead_end(text: str, start: int) -> int:
    """Where the first lines of the body end: two lines, at most 150 characters."""
    end = start
    for _ in range(_LEAD_LINES):
        nxt = text.find("\n", end + 1)
        end = len(text) if nxt < 0 else nxt
    return min(end, start + _LEAD_CHARS)
