import codecs
import random

import pytest

from pipelines.core.decoding import DecodeError, decode_bytes
from pipelines.core.normalize import normalize_text

SIMPLIFIED = (
    "全县建档立卡贫困户人均纯收入达到9860元，贫困发生率由2015年底的12.3%下降到0.5%。\n"
    "该县整合涉农资金3.2亿元，新建扶贫车间46个，带动贫困群众就业1580人。\n"
)
TRADITIONAL = (
    "全縣建檔立卡貧困戶人均純收入達到9860元，貧困發生率由2015年底的12.3%下降到0.5%。\n"
    "該縣整合涉農資金3.2億元，新建扶貧車間46個，帶動貧困群眾就業1580人。\n"
)


def test_utf8_without_bom():
    assert decode_bytes(SIMPLIFIED.encode("utf-8")) == (SIMPLIFIED, "utf-8")


def test_utf8_with_bom_strips_the_bom():
    assert decode_bytes(codecs.BOM_UTF8 + SIMPLIFIED.encode("utf-8")) == (SIMPLIFIED, "utf-8")


def test_plain_ascii_is_utf8():
    assert decode_bytes(b"Poverty rate 0.5% in 2019\n") == ("Poverty rate 0.5% in 2019\n", "utf-8")


@pytest.mark.parametrize("declared", [None, "gbk", "GB2312", "gb18030", "x-gbk"])
def test_gb18030_declared_or_not(declared):
    assert decode_bytes(SIMPLIFIED.encode("gb18030"), declared) == (SIMPLIFIED, "gb18030")


def test_gb18030_only_characters():
    text = "𠀀这份报告里有扩展区汉字，贫困户脱贫。" * 3  # 4-byte GB18030 sequences
    assert decode_bytes(text.encode("gb18030"), "gbk") == (text, "gb18030")


def test_big5_is_recognised_and_normalises_to_the_simplified_twin():
    text, codec = decode_bytes(TRADITIONAL.encode("big5"))
    assert codec == "big5"
    assert text == TRADITIONAL
    assert normalize_text(text) == normalize_text(SIMPLIFIED)


def test_big5_wins_over_a_wrong_gb2312_declaration():
    # Big5 bytes decode *strictly* as GB18030 — into nonsense; the declaration must not win.
    big5 = TRADITIONAL.encode("big5")
    big5.decode("gb18030")  # proves the trap is real
    assert decode_bytes(big5, "gb2312") == (TRADITIONAL, "big5")


def test_declared_big5_is_used():
    assert decode_bytes(TRADITIONAL.encode("big5"), "big5") == (TRADITIONAL, "big5")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom(encoding):
    data = SIMPLIFIED.encode(encoding)
    if encoding != "utf-16":
        data = (codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE) + data
    assert decode_bytes(data) == (SIMPLIFIED, "utf-16")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_detected(encoding):
    assert decode_bytes(SIMPLIFIED.encode(encoding)) == (SIMPLIFIED, "utf-16")


def test_empty():
    with pytest.raises(DecodeError, match="file is empty"):
        decode_bytes(b"")


def test_binary_with_nul_bytes():
    data = bytes(random.Random(1).randrange(256) for _ in range(4000)) + b"\x00\x00\x00"
    with pytest.raises(DecodeError, match=r"bytes are not text \(binary data"):
        decode_bytes(data)


def test_binary_by_magic_number():
    with pytest.raises(DecodeError, match="PDF"):
        decode_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj")


def test_truncated_utf8():
    data = SIMPLIFIED.rstrip("\n").encode("utf-8")[:-1]
    with pytest.raises(DecodeError, match=r"truncated UTF-8 sequence at byte \d+"):
        decode_bytes(data)


def test_truncated_gb18030():
    data = SIMPLIFIED.rstrip("\n").encode("gb18030")[:-1]
    with pytest.raises(DecodeError, match=r"truncated GB18030 sequence at byte"):
        decode_bytes(data)


def test_invalid_gb18030_in_the_middle_names_the_byte():
    text = SIMPLIFIED * 3
    cut = len(text[:60].encode("gb18030"))  # a character boundary
    good = text.encode("gb18030")
    data = good[:cut] + b"\xff\xff" + good[cut:]
    with pytest.raises(DecodeError) as err:
        decode_bytes(data)
    assert err.value.reason == f"cannot decode: invalid GB18030 sequence at byte {cut}"


def test_strict_decode_into_nonsense_is_rejected_as_mojibake():
    # Random pairs from the GB2312 hanzi rows decode strictly as GB18030 (and mostly as Big5),
    # but read as no language at all.
    rng = random.Random(7)
    data = b"".join(bytes([rng.randrange(0xB0, 0xD8), rng.randrange(0xA1, 0xFF)]) for _ in range(400))
    with pytest.raises(DecodeError, match=r"cannot decode: .*mojibake"):
        decode_bytes(data)


def test_utf8_text_with_replacement_characters_is_rejected():
    with pytest.raises(DecodeError, match="replacement characters"):
        decode_bytes(("贫困户" + "\ufffd\ufffd" + "脱贫").encode("utf-8"))


def test_decode_error_has_reason_attribute():
    try:
        decode_bytes(b"")
    except DecodeError as exc:
        assert exc.reason == str(exc) == "file is empty"
