"""Character-level normalisation of report text: one width table, one OpenCC pass."""

from __future__ import annotations

import functools
import re

__all__ = ["normalize_text", "without_whitespace"]


def _width_table() -> dict[int, int | str]:
    # Full-width ASCII block U+FF01..U+FF5E maps 1:1 onto U+0021..U+007E (digits, letters,
    # ％，：；（）！？ ...). Chinese-only marks (。、“”《》—…) are outside the block, so they stay.
    table: dict[int, int | str] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
    table.update(
        {
            0x3000: " ",  # ideographic space
            0x00A0: " ",  # no-break space, common in scraped pages
            0x2002: " ",
            0x2003: " ",
            0x2009: " ",
            0x200B: "",  # zero-width space / joiners / BOM: invisible, break matching
            0x200C: "",
            0x200D: "",
            0x2060: "",
            0xFEFF: "",
            0xFFE5: "¥",  # full-width yen/yuan sign
            0xFFE0: "¢",
            0xFFE1: "£",
        }
    )
    return table


_WIDTH = _width_table()
_WIDTH_CHARS = {chr(code): to if isinstance(to, str) else chr(to) for code, to in _WIDTH.items()}
_WIDE = re.compile("[" + "".join(re.escape(ch) for ch in sorted(_WIDTH_CHARS)) + "]")


def _to_half_width(text: str) -> str:
    """text.translate(_WIDTH), faster: translate looks every character up in the table in Python
    objects (4x the time OpenCC takes for the whole conversion), while a report holds only a few
    distinct characters to change, each replaced everywhere at once in C. The same result, as no
    character is replaced by one that is replaced itself."""
    for ch in set(_WIDE.findall(text)):
        text = text.replace(ch, _WIDTH_CHARS[ch])
    return text


@functools.cache
def _t2s():  # type: ignore[no-untyped-def]
    # Built once per process: loading the dictionaries is the slow part, converting is fast C++.
    import opencc

    return opencc.OpenCC("t2s")


# Simplified place names OpenCC t2s would break (it reads 乾 as the traditional form of 干, so
# 乾县 / 乾安县 became 干县 / 干安县): found by converting every name of the gazetteer. Their 乾 is
# swapped for a private-use character during the conversion.
_KEEP_QIAN = re.compile("乾(?=[县縣安])")
_PLACEHOLDER = "\ue000"


# Pinyin a converter left after a character: 發(fā)生率, 萬(wàn)元, 建档【dàng】立卡. Only syllables with
# a tone mark, right after a Chinese character, so (GDP), (kg) and English words stay.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_SYLLABLE = f"[a-zü]*[{_TONED}][a-zü]*"
_INLINE_PINYIN = re.compile(
    rf"[(\[【](?<=[\u4e00-\u9fff][(\[【])\s*{_SYLLABLE}(?:\s+{_SYLLABLE})*\s*[)\]】]", re.IGNORECASE
)


def normalize_text(text: str) -> str:
    """Full-width → half-width, odd spaces → space, traditional → simplified (OpenCC t2s), inline
    pinyin dropped."""
    if not text:
        return text
    text = _to_half_width(text)
    if text.isascii():
        return text
    text = _INLINE_PINYIN.sub("", text)
    kept = "乾" in text
    if kept:
        text = _KEEP_QIAN.sub(_PLACEHOLDER, text)
    text = _t2s().convert(text)
    return text.replace(_PLACEHOLDER, "乾") if kept else text


def without_whitespace(text: str) -> str:
    """text with every whitespace character removed: re.sub(r"\\s+", "", text), in C without a
    pattern's per-character matching (str.split's whitespace is exactly `re`'s \\s)."""
    return "".join(text.split())
