"""Find every number-with-unit in a text: 6.74亿元, 1.2万余户, 十二个贫困村, 45.54兆瓦, 20.9%.

One regular expression, built once from units.yaml and cues.yaml, finds the candidates; each
match becomes a `NumberMention` with its value already in the canonical unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelines.core.catalog import Catalog, UnitDef
from pipelines.core.numbers import ARABIC_NUMBER, CHINESE_NUMBER, parse_number


@dataclass(frozen=True, slots=True)
class NumberMention:
    start: int  # offsets of the whole phrase (qualifiers, number, multiplier, unit)
    end: int
    number_start: int  # offsets of the digits alone
    scope_end: int  # where the text metric cues may read starts again (before a noun unit)
    value: float  # in the canonical unit
    unit: str  # canonical unit code
    surface_unit: str  # the unit as written, with its multiplier (万元, 万户)
    qualifier: str | None
    phrase: str


_CHINESE_DIGIT_CHARS = "零〇一二两三四五六七八九十百千万亿"
_VILLAGE_NOUN_BEFORE = re.compile(r"(贫困村|行政村|建制村|重点村|村)(数量|总数)?(有|共有|共|为|达|达到)?$")


@dataclass(frozen=True)
class MentionFinder:
    pattern: re.Pattern[str]
    units: dict[str, tuple[UnitDef, ...]]  # surface -> definitions (个 has several)
    multipliers: dict[str, float]

    def find(self, text: str) -> list[NumberMention]:
        found = []
        for match in self.pattern.finditer(text):
            mention = self._mention(text, match)
            if mention is not None:
                found.append(mention)
        return found

    def _mention(self, text: str, m: re.Match[str]) -> NumberMention | None:
        digits = m.group("num")
        is_chinese = not digits[0].isascii()
        if is_chinese and not _plausible_chinese_count(text, m):
            return None
        try:
            base = parse_number(digits)
        except ValueError:
            return None
        surface = m.group("unit")
        unit_def = self._unit_for(surface, text, m.end("unit"), m.start("num"))
        multiplier = self.multipliers.get(m.group("mult") or "", 1.0)
        qualifier = m.group("qb") or m.group("qa1") or m.group("qa2") or m.group("qa3")
        return NumberMention(
            start=m.start(),
            end=m.end(),
            number_start=m.start("num"),
            scope_end=m.start("unit") if unit_def.in_scope else m.end(),
            value=_round(base * multiplier * unit_def.factor),
            unit=unit_def.unit,
            surface_unit=(m.group("mult") or "") + surface,
            qualifier=qualifier,
            phrase=m.group(0),
        )

    def _unit_for(self, surface: str, text: str, unit_end: int, number_start: int) -> UnitDef:
        candidates = self.units[surface]
        following = text[unit_end : unit_end + 8]
        for unit_def in candidates:
            if unit_def.nouns and any(following.startswith(n) for n in unit_def.nouns):
                return unit_def
        plain = next(u for u in candidates if not u.nouns)
        # 贫困村28个: the noun comes before the number
        if surface == "个" and _VILLAGE_NOUN_BEFORE.search(text[max(0, number_start - 12) : number_start]):
            village = next((u for u in candidates if u.unit == "village"), None)
            if village is not None:
                return village
        return plain


def _round(value: float) -> float:
    # 1.2 * 10000 is 11999.999999999998 in floating point; reports never carry 9 significant decimals
    return float(f"{value:.9g}")


def _plausible_chinese_count(text: str, m: re.Match[str]) -> bool:
    digits = m.group("num")
    if digits == "一" and not m.group("mult"):
        return False  # 一村一品, 一户一策, 一个劳动力: slogans and phrases, never a reported figure
    before = text[max(0, m.start() - 1) : m.start()]
    return before != "第"


_FINDERS: dict[str, MentionFinder] = {}


def mention_finder(catalog: Catalog) -> MentionFinder:
    """The finder for a catalog, compiled once per catalog version."""
    finder = _FINDERS.get(catalog.version)
    if finder is None:
        finder = _FINDERS[catalog.version] = _build_finder(catalog)
    return finder


def _build_finder(catalog: Catalog) -> MentionFinder:
    units: dict[str, list[UnitDef]] = {}
    for unit_def in catalog.units:
        units.setdefault(unit_def.surface, []).append(unit_def)
    # Longest surfaces first so 平方公里 wins over 公里 and 个百分点 over 个.
    unit_alt = "|".join(re.escape(s) for s in sorted(units, key=len, reverse=True))
    mult_alt = "|".join(re.escape(s) for s in sorted(catalog.multipliers, key=len, reverse=True))
    qb_alt = "|".join(re.escape(q) for q in catalog.cues.qualifier_before)
    qa_alt = "|".join(re.escape(q) for q in catalog.cues.qualifier_after)
    pattern = re.compile(
        rf"(?P<qb>{qb_alt})?"
        rf"(?P<num>(?<![\d.A-Za-z])(?:{ARABIC_NUMBER})|(?<![{_CHINESE_DIGIT_CHARS}第])(?:{CHINESE_NUMBER}))"
        rf"[ \t]*(?P<qa1>余|多)?(?P<mult>{mult_alt})?(?P<qa2>余|多)?[ \t]*"
        rf"(?P<unit>{unit_alt})(?P<qa3>{qa_alt})?"
    )
    return MentionFinder(
        pattern=pattern, units={k: tuple(v) for k, v in units.items()}, multipliers=catalog.multipliers
    )
