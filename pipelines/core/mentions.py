"""Find every number-with-unit in a text: 6.74亿元, 1.2万余户, 十二个贫困村, 45.54兆瓦, 20.9%.

One regular expression, built once from units.yaml and cues.yaml, finds the candidates; each
match becomes a `NumberMention` with its value already in the canonical unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from pipelines.core.catalog import Catalog, UnitDef
from pipelines.core.numbers import (
    ARABIC_NUMBER,
    ARABIC_NUMBER_TAIL,
    CHINESE_NUMBER,
    CHINESE_NUMBER_FIRST_CHARS,
    CHINESE_NUMBER_TAIL,
    MINUS_SIGNS,
    negative_sign_before,
    parse_number,
)


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, and a
# report has a mention every few dozen characters. Nothing changes one after it is made.
@dataclass(slots=True)
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
_CHINESE_FIRST = CHINESE_NUMBER_FIRST_CHARS  # a Chinese numeral starts with one of these
_NUMERAL_CHAR = re.compile(rf"[\d{_CHINESE_DIGIT_CHARS}]")


@cache
def _noun_before(nouns: tuple[str, ...]) -> re.Pattern[str]:
    """贫困村28个, 行政村共有180个, 合作社发展到560家: a measure word's noun may also stand before
    the number."""
    alternation = "|".join(re.escape(n) for n in sorted(nouns, key=len, reverse=True))
    # 贫困村由65个减少到12个: the noun also governs both ends of a from–to
    return re.compile(
        rf"(?:{alternation})(?:数量|总数)?(?:(?:有|共有|共|为|达|达到|由|从|发展到|发展至|增加到|增至)?"
        rf"|(?:由|从)[^,，。;；]{{0,12}}?(?:到|至|为))$"
    )


@cache
def _noun_after_modifier(nouns: tuple[str, ...]) -> re.Pattern[str]:
    alternation = "|".join(re.escape(n) for n in sorted(nouns, key=len, reverse=True) if len(n) > 1)
    # not the head of a compound (村民, 村级, 村委)
    return re.compile(rf"[\u4e00-\u9fff]{{1,4}}?(?:{alternation})(?![民级委务干集组庄])")


@dataclass(frozen=True)
class MentionFinder:
    pattern: re.Pattern[str]
    units: dict[str, tuple[UnitDef, ...]]  # surface -> definitions (个 has several)
    multipliers: dict[str, float]
    # The words of qualifier_before by length, longest first, when the pattern leaves them out
    # (see _build_finder); None when the pattern matches them itself as group "qb".
    qualifiers_before: tuple[tuple[int, frozenset[str]], ...] | None = None
    # a noun unit, then a number with a multiplier and no unit (贫困人口3.6万); see units.yaml in_scope
    bare_multiplier: re.Pattern[str] | None = None
    # surface -> (definition, _noun_after_modifier, _noun_before) of its definitions with nouns
    noun_readers: dict[str, tuple[tuple[UnitDef, re.Pattern[str], re.Pattern[str]], ...]] = field(
        default_factory=dict
    )
    # the last characters of qualifiers_before's words: a number after any other has none
    qualifier_ends: frozenset[str] = frozenset()
    # surface -> its one definition, for the surfaces with one definition and no nouns (元, 户, %)
    plain_units: dict[str, UnitDef] = field(default_factory=dict)

    def find(self, text: str) -> list[NumberMention]:
        found = self._find_with_units(text)
        bare = self._bare_multiplier_mentions(text, found)
        return sorted([*found, *bare], key=lambda m: m.start) if bare else found

    def _bare_multiplier_mentions(self, text: str, found: list[NumberMention]) -> list[NumberMention]:
        """还有贫困人口3.6万: a number with only 万 / 亿 after a noun unit takes the noun's unit."""
        if self.bare_multiplier is None:
            return []
        taken = {m.number_start for m in found}
        extra = []
        for m in self.bare_multiplier.finditer(text):
            if m.start("num") in taken:
                continue
            unit_def = self.units[m.group("noun")][0]
            try:
                value = parse_number(m.group("num")) * self.multipliers[m.group("mult")] * unit_def.factor
            except ValueError:
                continue
            extra.append(
                NumberMention(
                    start=m.start("num"),
                    end=m.end(),
                    number_start=m.start("num"),
                    scope_end=m.end(),
                    value=_round(value),
                    unit=unit_def.unit,
                    surface_unit=m.group("mult"),
                    qualifier=m.group("qa"),
                    phrase=text[m.start("num") : m.end()],
                )
            )
        return extra

    def _find_with_units(self, text: str) -> list[NumberMention]:
        found = []
        previous_end = 0
        qualifiers, qualifier_ends = self.qualifiers_before, self.qualifier_ends
        for match in self.pattern.finditer(text):
            start, qualifier = match.start(), None
            if qualifiers is None:
                qualifier = match.group("qb")
            elif start and text[start - 1] in qualifier_ends:
                qualifier = _qualifier_before(text, start, previous_end, qualifiers)
                start -= len(qualifier or "")
            previous_end = match.end()
            mention = self._mention(text, match, start, qualifier)
            if mention is not None:
                found.append(mention)
        return found

    def _mention(self, text: str, m: re.Match[str], start: int, qb: str | None) -> NumberMention | None:
        digits, surface, mult, qa1, qa2, qa3 = m.group("num", "unit", "mult", "qa1", "qa2", "qa3")
        number_start, end = m.start("num"), m.end()
        is_chinese = not digits[0].isascii()
        if is_chinese and not _plausible_chinese_count(text, m, start):
            return None
        if digits[0].isdigit() and not is_chinese:
            # the pattern matched an Arabic number (ARABIC_NUMBER): what parse_arabic would return
            base = float(digits.replace(",", ""))
        else:
            try:
                base = parse_number(digits)
            except ValueError:
                return None
        unit_def = self.plain_units.get(surface) or self._unit_for(surface, text, m.end("unit"), number_start)
        multiplier = self.multipliers.get(mult or "", 1.0)
        qualifier = qb or qa1 or qa2 or qa3
        sign = 1.0
        if (
            not is_chinese
            and start == number_start
            and text[start - 1 : start] in MINUS_SIGNS  # (its test in C first)
            and negative_sign_before(text, start)
        ):
            sign, start = -1.0, start - 1  # -5%: the minus is part of the phrase
        return NumberMention(
            start,
            end,
            number_start,
            m.start("unit") if unit_def.in_scope else end,  # scope_end
            _round(sign * base * multiplier * unit_def.factor),
            unit_def.unit,
            (mult or "") + surface,
            qualifier,
            text[start:end],
        )

    def _unit_for(self, surface: str, text: str, unit_end: int, number_start: int) -> UnitDef:
        candidates = self.units[surface]
        if len(candidates) == 1 and not candidates[0].nouns:
            return candidates[0]  # what the loops below come to (see plain_units)
        readers = self.noun_readers[surface]
        following = text[unit_end : unit_end + 8]
        for unit_def, _, _ in readers:
            if following.startswith(unit_def.nouns):
                return unit_def
        for unit_def, noun_after_modifier, _ in readers:
            # 8个整村推进贫困村: a few words may qualify the noun between the measure word and it
            if noun_after_modifier.match(text, unit_end):
                return unit_def
        preceding = text[max(0, number_start - 12) : number_start]
        for unit_def, _, noun_before in readers:
            if noun_before.search(preceding):
                return unit_def
        return next(u for u in candidates if not u.nouns)


def _round(value: float) -> float:
    # 1.2 * 10000 is 11999.999999999998 in floating point; reports never carry 9 significant decimals
    if value.is_integer() and -1e9 < value < 1e9:
        return value  # what the round trip below gives back for a whole number of up to 9 digits
    return float(f"{value:.9g}")


_FIVE_YEAR_PLAN = re.compile(r"十[一二三四]五")


def _plausible_chinese_count(text: str, m: re.Match[str], start: int) -> bool:
    digits = m.group("num")
    if digits == "一" and not m.group("mult"):
        return False  # 一村一品, 一户一策, 一个劳动力: slogans and phrases, never a reported figure
    before = text[max(0, start - 1) : start]
    if before == "第":
        return False
    # "十三五"期间: the name of a five-year plan, not five of something
    return not _FIVE_YEAR_PLAN.match(text, max(0, m.start("num") - 2))


def _qualifier_before(
    text: str, number_start: int, previous_end: int, qualifiers: tuple[tuple[int, frozenset[str]], ...]
) -> str | None:
    """The longest qualifier word ending right at the number and starting after the previous match:
    exactly what the leftmost match of `(?P<qb>将近|…|近)?<number>` would have taken."""
    for length, words in qualifiers:
        begin = number_start - length
        if begin >= previous_end and text[begin:number_start] in words:
            return text[begin:number_start]
    return None


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
    qa_alt = "|".join(re.escape(q) for q in catalog.cues.qualifier_after)
    rest = (
        rf"[ \t]*(?P<qa1>余|多)?(?P<mult>{mult_alt})?(?P<qa2>余|多)?[ \t]*"
        rf"(?P<unit>{unit_alt})(?P<qa3>{qa_alt})?"
    )
    qualifiers = catalog.cues.qualifier_before
    finder_units = {k: tuple(v) for k, v in units.items()}
    noun_readers = {
        surface: tuple((u, _noun_after_modifier(u.nouns), _noun_before(u.nouns)) for u in defs if u.nouns)
        for surface, defs in finder_units.items()
    }
    bare_multiplier = _bare_multiplier_pattern(catalog, unit_alt, mult_alt)
    plain_units = {s: defs[0] for s, defs in finder_units.items() if len(defs) == 1 and not defs[0].nouns}
    if any(_NUMERAL_CHAR.search(q) for q in qualifiers):
        # A qualifier that could also be part of a number: let the regex sort it out (slower).
        qb_alt = "|".join(re.escape(q) for q in qualifiers)
        number = rf"(?<![\d.A-Za-z])(?:{ARABIC_NUMBER})|(?<![{_CHINESE_DIGIT_CHARS}第])(?:{CHINESE_NUMBER})"
        pattern = re.compile(rf"(?P<qb>{qb_alt})?(?P<num>{number}){rest}")
        return MentionFinder(
            pattern=pattern,
            units=finder_units,
            multipliers=catalog.multipliers,
            bare_multiplier=bare_multiplier,
            noun_readers=noun_readers,
            plain_units=plain_units,
        )
    # Speed: a pattern that starts with a character class lets `re` skip to the next digit in C;
    # an optional qualifier (or a lookbehind) in front makes it try the whole pattern at every
    # character (~5x slower on report text). So the number opens the pattern, its first character
    # checked against the character before it by a two-wide lookbehind (same test as the
    # lookbehinds of ARABIC/CHINESE in front), and the qualifier is read off the text afterwards.
    pattern = re.compile(
        rf"(?P<num>[\d{_CHINESE_FIRST}]"
        rf"(?:(?<=\d)(?<![\d.A-Za-z].)(?:{ARABIC_NUMBER_TAIL})"
        rf"|(?<=[{_CHINESE_FIRST}])(?<![{_CHINESE_DIGIT_CHARS}第].)(?:{CHINESE_NUMBER_TAIL})))" + rest
    )
    by_length: dict[int, set[str]] = {}
    for q in qualifiers:
        by_length.setdefault(len(q), set()).add(q)
    return MentionFinder(
        pattern=pattern,
        units=finder_units,
        multipliers=catalog.multipliers,
        qualifiers_before=tuple((n, frozenset(by_length[n])) for n in sorted(by_length, reverse=True)),
        bare_multiplier=bare_multiplier,
        noun_readers=noun_readers,
        qualifier_ends=frozenset(q[-1] for q in qualifiers if q),
        plain_units=plain_units,
    )


def _bare_multiplier_pattern(catalog: Catalog, unit_alt: str, mult_alt: str) -> re.Pattern[str] | None:
    nouns = [u.surface for u in catalog.units if u.in_scope]
    if not nouns:
        return None
    noun_alt = "|".join(re.escape(n) for n in sorted(nouns, key=len, reverse=True))
    return re.compile(
        rf"(?P<noun>{noun_alt})(?:有|为|达|达到|共|约|近)?\s*(?P<num>{ARABIC_NUMBER})(?P<mult>万|亿)"
        rf"(?P<qa>余|多)?(?![\d.]|{unit_alt}|{mult_alt})"
    )
