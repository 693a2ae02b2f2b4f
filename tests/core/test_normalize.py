import re

from pipelines.core.normalize import normalize_text, without_whitespace


def test_full_width_ascii_becomes_half_width():
    assert (
        normalize_text("２０１９年ＧＤＰ增长７．３％，（全县）：达到！？；")
        == "2019年GDP增长7.3%,(全县):达到!?;"
    )


def test_ideographic_and_no_break_spaces_become_spaces():
    assert normalize_text("依安\u3000上下同心\u00a0凝聚合力") == "依安 上下同心 凝聚合力"


def test_chinese_only_punctuation_is_kept():
    text = "“两不愁三保障”、《实施意见》——全面小康……。"
    assert normalize_text(text) == text


def test_traditional_becomes_simplified():
    assert normalize_text("舉全縣之力，貧困戶脫貧") == "举全县之力,贫困户脱贫"


def test_simplified_text_is_unchanged():
    text = "镇赉县正式脱贫退出贫困县序列。著名的干部驻村工作法。"
    assert normalize_text(text) == text


def test_idempotent_and_empty():
    once = normalize_text("貧困發生率０．０６％")
    assert normalize_text(once) == once == "贫困发生率0.06%"
    assert normalize_text("") == ""


def test_a_long_report_is_converted_whole():
    # speed is measured by benchmarks/run.py, not asserted here
    text = "全縣建檔立卡貧困戶４２１５戶，人均純收入９６８０元。\n" * 20000  # ~0.5 M chars
    out = normalize_text(text)
    assert out.startswith("全县建档立卡贫困户4215户")
    assert out.count("全县建档立卡贫困户4215户,人均纯收入9680元。") == 20000


def test_no_place_name_of_the_gazetteer_is_changed_by_the_conversion():
    from pipelines.core.gazetteer import load_gazetteer
    from pipelines.core.places import derived_forms

    for place in load_gazetteer().places:
        for name in (place.name, *derived_forms(place)):
            if len(name) >= 2:  # one-character roots are never looked up
                assert normalize_text(name) == name, name
    assert (
        normalize_text("陕西乾县和吉林乾安县的干部说乾隆年间天气乾旱")
        == "陕西乾县和吉林乾安县的干部说乾隆年间天气干旱"
    )
    assert normalize_text("乾縣和乾安縣") == "乾县和乾安县"


def test_without_whitespace_removes_what_the_whitespace_pattern_removes_for_every_character() -> None:
    # cleaning and the extractor's scopes rely on it being exactly re's \s
    every = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)
    assert without_whitespace(every) == re.sub(r"\s+", "", every)
    assert without_whitespace(" 全县\u3000贫困人口\t3.6万人\n") == "全县贫困人口3.6万人"
