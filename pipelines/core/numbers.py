"""Numbers as Chinese reports write them: 19528.1, 1,234, 一千二百, 两, 十二.

Multipliers that follow a number (万, 亿) are the unit's business (see mentions.py); this module
turns the digits themselves into a float.
"""

from __future__ import annotations

import re

# Arabic: 12,346.67 (thousands groups of exactly three) or 3675.95 or .5
ARABIC_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?"
# ARABIC_NUMBER after its first digit (mentions.py consumes that digit on its own); keep in step.
ARABIC_NUMBER_TAIL = r"\d{0,2}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d*(?:\.\d+)?"
CHINESE_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CHINESE_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
CHINESE_LARGE_UNITS = {"万": 10_000, "亿": 100_000_000}
# A Chinese numeral: digits and 十/百/千 (万/亿 inside a numeral, as in 一万二千, also count).
CHINESE_NUMBER_FIRST_CHARS = "零〇一二两三四五六七八九十百千"
CHINESE_NUMBER_TAIL = r"[零〇一二两三四五六七八九十百千万亿]*"  # CHINESE_NUMBER after its first character
CHINESE_NUMBER = rf"[{CHINESE_NUMBER_FIRST_CHARS}]{CHINESE_NUMBER_TAIL}"

_ARABIC_RE = re.compile(rf"^(?:{ARABIC_NUMBER})$")

# A minus sign written right before a number makes it negative (-5%, −300万人), unless the minus joins
# two quantities: a range or a date (3-5%, 3万-5万元, 2016-2020年, 0563-1234567). Before such a minus
# stands a digit, a letter, a numeral or a unit just after a digit, which is what this looks for in
# the few characters before it. When in doubt it is a range: a lost sign was the old behaviour, a
# wrong one would reject a good figure.
MINUS_SIGNS = "-−"
_JOINS_QUANTITIES = re.compile(r"(?:[0-9A-Za-z.%‰零〇一二两三四五六七八九十百千万亿]|\d\D{1,2})$")


def negative_sign_before(text: str, number_start: int) -> bool:
    """Whether the number starting at number_start is written with a minus sign of its own."""
    if number_start == 0 or text[number_start - 1] not in MINUS_SIGNS:
        return False
    minus = number_start - 1
    return not _JOINS_QUANTITIES.search(text[max(0, minus - 3) : minus])


def parse_arabic(text: str) -> float:
    """'12,346.67' -> 12346.67. Raises ValueError on anything else."""
    if not _ARABIC_RE.match(text):
        raise ValueError(f"not an Arabic number: {text!r}")
    return float(text.replace(",", ""))


def _parse_below_10000(text: str) -> int:
    total, digit = 0, None
    for ch in text:
        if ch in CHINESE_DIGITS:
            digit = CHINESE_DIGITS[ch]
        elif ch in CHINESE_SMALL_UNITS:
            # 十二 means 12: a unit with no digit before it counts one of it
            total += (1 if digit is None else digit) * CHINESE_SMALL_UNITS[ch]
            digit = None
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    if digit is not None:
        total += digit
    return total


def parse_chinese(text: str) -> float:
    """'一千二百' -> 1200, '十二' -> 12, '两' -> 2, '三万五千' -> 35000. Raises ValueError."""
    if not text:
        raise ValueError("empty numeral")
    # Positional digit strings such as 二〇二〇 are read digit by digit.
    if len(text) > 1 and all(ch in CHINESE_DIGITS for ch in text):
        return float("".join(str(CHINESE_DIGITS[ch]) for ch in text))
    total = 0
    rest = text
    for unit_char, unit_value in sorted(CHINESE_LARGE_UNITS.items(), key=lambda kv: -kv[1]):
        if unit_char in rest:
            head, rest = rest.split(unit_char, 1)
            total += (_parse_below_10000(head) if head else 1) * unit_value
    return float(total + (_parse_below_10000(rest) if rest else 0))


def parse_number(text: str) -> float:
    """Arabic or Chinese numeral to float."""
    if text and (text[0].isdigit() and text[0].isascii()):
        return parse_arabic(text)
    return parse_chinese(text)
