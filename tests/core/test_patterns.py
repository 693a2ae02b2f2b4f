"""What the extractor may assume about a pattern (patterns.py): proofs it cannot cross a clause's
edge, and a faster form of a pattern that finds the same matches."""

from __future__ import annotations

import random
import re

import pytest

from pipelines.core.patterns import any_of, never_matches, with_start_filter

EDGES = ",，;；:：()（）。！？!?\n"


@pytest.mark.parametrize(
    "pattern",
    [
        "全省|全市|全县",
        r"(这|各)?[0-9一二三]+个(贫困)?(县|区县)",
        r"(?<=[\u4e00-\u9fff])(?:村|镇)(?![村镇级])",
        r"[两三]县(?![城委])",
    ],
)
def test_words_and_classes_of_chinese_never_match_a_clause_edge(pattern: str) -> None:
    assert never_matches(re.compile(pattern), EDGES)


@pytest.mark.parametrize(
    "pattern",
    [
        r"全省.",  # any character
        r"全省\s*范围",  # \s matches a line break
        r"[^村]镇",  # a negated class
        r"全省(?!,)",  # a lookahead that looks at an edge
        r"^全省",  # an anchor: an edge and the start of a string differ
        r"(全)\1",  # a back reference
        "全省|，",
    ],
)
def test_anything_that_may_meet_an_edge_is_refused(pattern: str) -> None:
    assert not never_matches(re.compile(pattern), EDGES)


SLOW_TO_SCAN = [
    r"(这|各|等)?[0-9一二三]+个(贫困)?(县|县区)|[两三]县(?![城委])|全省",  # an optional group first
    r"(?<=营养改善)计划|脱贫(攻坚|目标)(?![◆◇])",  # a lookbehind first
    r"(?<=[\u4e00-\u9fff])(?:社区|村|镇)(?![村镇级])",
    r"\s*(?:减少|下降)到\d+",
]


@pytest.mark.parametrize("pattern", SLOW_TO_SCAN)
def test_the_start_filter_finds_the_same_matches(pattern: str) -> None:
    slow = re.compile(pattern)
    fast = with_start_filter(slow)
    assert fast.pattern != slow.pattern
    alphabet = [
        "全省",
        "这",
        "3",
        "12",
        "二",
        "个",
        "贫困",
        "县",
        "县区",
        "城",
        "营养改善",
        "计划",
        "脱贫",
        "攻坚",
        "◆",
        "福利",
        "村",
        "镇",
        "社区",
        "级",
        " ",
        "减少",
        "下降",
        "到",
        ",",
        "。",
    ]
    rnd = random.Random(7)
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))
        assert [m.span() for m in fast.finditer(text)] == [m.span() for m in slow.finditer(text)], text
        assert fast.sub("_", text) == slow.sub("_", text)


@pytest.mark.parametrize(
    "pattern",
    [
        "全省|全市|全县",  # `re` finds a literal prefix itself
        r"[村镇]",
        r"(?:减少|下降)?\s*",  # may match the empty string: starts anywhere
        r"(?P<area>.+?)范围",  # `.` may start a match
    ],
)
def test_a_pattern_that_is_fast_already_or_may_start_anywhere_is_kept(pattern: str) -> None:
    compiled = re.compile(pattern)
    assert with_start_filter(compiled) is compiled


def test_the_filtered_pattern_keeps_groups_and_flags() -> None:
    fast = with_start_filter(re.compile(r"(?P<n>这|各)?(?P<num>[0-9]+)个(?:县|区)", re.IGNORECASE))
    m = fast.search("全省这12个县")
    assert m is not None and m.group("n", "num") == ("这", "12") and m.span() == (2, 7)
    assert fast.flags & re.IGNORECASE


EXCLUSIONS = [
    r"(均|全部|各)(达到|为)?◆",
    r"◆(/户|/人|每户)",
    r"(?<=县)脱贫摘帽",
    r"(计划|力争|确保)[^◆]*◆",
    r"◆[^,]{0,12}将(全部|实现)",
    r"(残疾|学生)[^,]*◆|◆[^,]*(残疾|学生)",
    r"其中[^◆]*◆$",
]


def test_one_search_of_the_joined_patterns_finds_what_any_of_them_finds() -> None:
    patterns = [re.compile(p) for p in EXCLUSIONS]
    joined = any_of(patterns)
    assert joined is not None
    alphabet = [
        "均",
        "全部",
        "为",
        "◆",
        "◇",
        "/户",
        "县",
        "脱贫摘帽",
        "计划",
        "将",
        "实现",
        "学生",
        "其中",
        ",",
        "贫困户",
    ]
    rnd = random.Random(11)
    hits = 0
    for _ in range(5000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 10)))
        expected = any(p.search(text) for p in patterns)
        assert (joined.search(text) is not None) == expected, text
        hits += expected
    assert 500 < hits < 4500  # both answers were asked for


@pytest.mark.parametrize(
    "patterns",
    [
        [r"(全)\1", "全省"],  # a back reference: its group's number changes in the alternation
        [r"(?P<a>全)省", r"(?P<a>全)市"],  # one group name twice
        [r"(?i)quanxian", "全省"],  # a flag
        [],
    ],
)
def test_patterns_that_cannot_be_joined_as_they_are_are_not(patterns: list[str]) -> None:
    assert any_of([re.compile(p) for p in patterns]) is None
