"""The extractor on sentences written for these tests, of the kinds real reports contain.

Each case is one short report text about a fictional-but-real county and the facts a careful
reader takes from it: (metric, value, year).
"""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.core.catalog import load_catalog
from pipelines.core.extract import extract_facts
from pipelines.core.gazetteer import load_gazetteer
from pipelines.core.places import PlaceIndex


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def places():
    return PlaceIndex(load_gazetteer())


def _county(places: PlaceIndex, name: str):
    gazetteer = places.gazetteer
    return next(c for c in gazetteer.counties if c.name == name)


def facts_of(text, catalog, places, county="石阡县", published=dt.date(2019, 12, 20), work_report=False):
    subject = _county(places, county)
    result = extract_facts(
        text, subject=subject, published=published, catalog=catalog, places=places, work_report=work_report
    )
    return {(f.metric_code, f.value, f.year) for f in result.facts}, result


CASES = [
    # enumerations: one phrase, several facts
    (
        "全县共有贫困村86个,建档立卡贫困户12346户43210人。",
        {
            ("poor_villages", 86, None),
            ("registered_poor_households", 12346, None),
            ("registered_poor_population", 43210, None),
        },
    ),
    (
        "截至2018年底,全县累计脱贫8215户31046人,贫困人口减少到721户2035人,贫困发生率降至0.68%。",
        {
            ("exited_poor_households", 8215, 2018),
            ("exited_poor_population", 31046, 2018),
            ("remaining_poor_households", 721, 2018),
            ("remaining_poor_population", 2035, 2018),
            ("poverty_incidence", 0.68, 2018),
        },
    ),
    # multipliers, approximations, Chinese numerals
    (
        "累计发放扶贫小额信贷3.25亿元,惠及贫困户8000余户。",
        {("microcredit_loans", 325_000_000, None)},
    ),
    (
        "全县完成农村危房改造1.6万余户,建成光伏扶贫电站总装机容量2.3万千瓦。",
        {("housing_renovated_households", 16000, None), ("pv_capacity", 23, None)},
    ),
    ("全县十二个贫困村全部出列。", {("exited_poor_villages", 12, None), ("poor_villages", 12, None)}),
    # from–to: two facts, two years
    (
        "农村常住居民人均可支配收入由2015年的6120元增加到2019年的10468元。",
        {("rural_income_per_capita", 6120, 2015), ("rural_income_per_capita", 10468, 2019)},
    ),
    (
        "贫困发生率由2014年底的21.3%下降到2019年底的0.52%。",
        {("poverty_incidence", 21.3, 2014), ("poverty_incidence", 0.52, 2019)},
    ),
    # the end year of a from–to comes from the context when the text does not repeat it
    (
        "截至2019年底,全县贫困村全部出列。贫困发生率由2014年的18.6%下降到0.9%。",
        {("poverty_incidence", 18.6, 2014), ("poverty_incidence", 0.9, 2019)},
    ),
    # a parallel from–to without its own start year shares the first one's
    (
        "贫困人口从2013年底的4.3万人减少到2019年底的0.23万人,贫困发生率从15.2%下降到0.8%。",
        {
            ("registered_poor_population", 43000, 2013),
            ("remaining_poor_population", 2300, 2019),
            ("poverty_incidence", 15.2, 2013),
            ("poverty_incidence", 0.8, 2019),
        },
    ),
    # respectively lists
    (
        "2016年至2018年,全县贫困人口人均纯收入分别达到5820元、7136元和8450元。",
        {
            ("poor_income_per_capita", 5820, 2016),
            ("poor_income_per_capita", 7136, 2017),
            ("poor_income_per_capita", 8450, 2018),
        },
    ),
    # 目前 / 今年 mean the publication year; X年以来 ends at it and keeps its start
    (
        "目前,全县还有未脱贫人口312户786人。",
        {("remaining_poor_households", 312, 2019), ("remaining_poor_population", 786, 2019)},
    ),
    (
        "2016年以来,全县累计整合涉农资金18.6亿元投入脱贫攻坚。",
        {("poverty_funds_invested", 1_860_000_000, 2019)},
    ),
    # no time in the text: no year
    # after 其中 a figure of another kind than the total is its own (the poor villages among all
    # villages); one of the same kind is a sub-group
    (
        "该县有行政村156个,其中贫困村47个。",
        {("administrative_villages", 156, None), ("poor_villages", 47, None)},
    ),
    (
        "全县辖12个乡镇、186个村,其中贫困村52个、贫困人口3.6万人。",
        {
            ("administrative_villages", 186, None),
            ("poor_villages", 52, None),
            ("registered_poor_population", 36000, None),
        },
    ),
    ("全县有贫困人口5.2万人,其中因病致贫1.1万人。", {("registered_poor_population", 52000, None)}),
    # households and people right after the poor villages they live in are the poor's
    (
        "全县共有48个贫困村10235户38620人。",
        {
            ("poor_villages", 48, None),
            ("registered_poor_households", 10235, None),
            ("registered_poor_population", 38620, None),
        },
    ),
    # negative cues: averages, plans, subsidies, sub-groups, changes
    ("全县村集体经济收入村均达到8.5万元。", set()),
    ("力争到2020年底贫困发生率降至2%以下。", set()),
    ("按每户5000元标准给予产业扶持。", set()),
    ("农村居民人均可支配收入达到9876元,同比增长9.2%。", {("rural_income_per_capita", 9876, None)}),
    ("带动贫困户2180户增收,户均增收1500元。", set()),
    # sector-specific investments are not general poverty funds
    ("投入资金3.2亿元用于农村道路建设。", set()),
    ("县财政投入专项扶贫资金1.05亿元。", {("poverty_funds_invested", 105_000_000, None)}),
    # a continuation clause takes its metric from the clause before
    ("2017年以来,共发放扶贫小额信贷1268户,金额5840万元。", {("microcredit_loans", 58_400_000, 2019)}),
    # a later clause about the same people; a later clause's year does not date an earlier number
    (
        "全县有贫困人口3.6万人,2019年减少到1200人。",
        {("registered_poor_population", 36000, None), ("remaining_poor_population", 1200, 2019)},
    ),
    # power in kW becomes megawatts
    ("建成村级光伏电站48座,总装机规模9600千瓦。", {("pv_capacity", 9.6, None)}),
    # full-width digits are read after cleaning; here the extractor sees half-width text
    ("全县贫困发生率下降到1.02%。", {("poverty_incidence", 1.02, None)}),
    # a verb before a list governs every member: 、 lists and verbless clauses after a comma
    (
        "截至2019年底,全县仍有贫困村23个、贫困户4120户、贫困人口9876人。",
        {
            ("poor_villages", 23, 2019),
            ("remaining_poor_households", 4120, 2019),
            ("remaining_poor_population", 9876, 2019),
        },
    ),
    (
        "2018年累计退出贫困村31个,贫困人口8120户26543人。",
        {
            ("exited_poor_villages", 31, 2018),
            ("exited_poor_households", 8120, 2018),
            ("exited_poor_population", 26543, 2018),
        },
    ),
    # ... and a verb after the list governs the members before it
    (
        "2018年,全县12个贫困村、5230户17345人实现脱贫退出。",
        {
            ("exited_poor_villages", 12, 2018),
            ("exited_poor_households", 5230, 2018),
            ("exited_poor_population", 17345, 2018),
        },
    ),
    # the words after an enumeration mark belong to the next member, not to the one before
    (
        "累计整合涉农资金12.5亿元、发放扶贫小额贷款3.2亿元。",
        {("poverty_funds_invested", 1_250_000_000, None), ("microcredit_loans", 320_000_000, None)},
    ),
    # a plan word governs the rest of its sentence
    ("今年将确保45个贫困村出列,9800人脱贫,剩余贫困人口1200人。", set()),
    ("今年计划脱贫3000人,截至目前已脱贫2100人。", {("exited_poor_population", 2100, 2019)}),
    # 脱贫退出 / 脱贫摘帽 said of people are figures; of the county, the campaign
    (
        "2019年全县1020户3460人脱贫退出,贫困县脱贫摘帽工作通过验收。",
        {("exited_poor_households", 1020, 2019), ("exited_poor_population", 3460, 2019)},
    ),
    # two subjects sharing one 分别 list pair in order: the second is the rural one
    ("城镇和农村居民人均可支配收入分别达到28460元、11230元。", {("rural_income_per_capita", 11230, None)}),
    ("城乡居民人均可支配收入分别为30125元和12876元。", {("rural_income_per_capita", 12876, None)}),
    # status words: 结存 is what is left, 销号 an exit, a fall of the registry people lifted out
    (
        "到2018年底,全县结存贫困人口1260户3390人。",
        {("remaining_poor_households", 1260, 2018), ("remaining_poor_population", 3390, 2018)},
    ),
    ("2017年共有1530户贫困户脱贫销号。", {("exited_poor_households", 1530, 2017)}),
    ("2014年至2016年,贫困人口累计减少21500人。", {("exited_poor_population", 21500, 2016)}),
    # the number before its noun is the registry only when nothing else happens to it
    ("全县4870户贫困户实现光伏收益全覆盖。", set()),
    ("全县辖16个乡镇、215个村。", {("administrative_villages", 215, None)}),
    ("8个整村推进贫困村全部脱贫出列。", {("exited_poor_villages", 8, None), ("poor_villages", 8, None)}),
    ("农牧民人均可支配收入达到10450元。", {("rural_income_per_capita", 10450, None)}),
    ("2018年全县贫困户收入达到6320元。", {("poor_income_per_capita", 6320, 2018)}),
    # general funds and loans, not a sector's, nor a fund that backs loans
    ("五年来统筹投入各项资金21.3亿元。", {("poverty_funds_invested", 2_130_000_000, 2019)}),
    ("累计投入资金2.1亿元,实施道路硬化项目36个。", set()),
    ("累计发放金融贷款8.6亿元,贷款风险补偿基金达到3000万元。", {("microcredit_loans", 860_000_000, None)}),
    ("到2019年底,全县贫困发生率下降为0。", {("poverty_incidence", 0, 2019)}),
    # a number with only 万 after a noun unit takes the noun's unit
    ("目前全县还有贫困人口1.2万。", {("remaining_poor_population", 12000, 2019)}),
    ("全县17个贫困村全部摘掉穷帽子。", {("exited_poor_villages", 17, None), ("poor_villages", 17, None)}),
    ("2018年完成脱贫任务3120人。", {("exited_poor_population", 3120, 2018)}),
    (
        "全县贫困人口从2014年的4.1万人下降到2018年的0.6万人,累计减少3.5万人。",
        {
            ("registered_poor_population", 41000, 2014),
            ("remaining_poor_population", 6000, 2018),
            ("exited_poor_population", 35000, 2018),
        },
    ),
    # several counties together, or a clause that only names the province, are no county's
    ("石阡、思南、印江三县累计脱贫4.2万人。", set()),
    ("在全省范围内,共有贫困人口86万人。", set()),
    # a wider area that opens a sentence as its subject is the place of the whole sentence ...
    ("截至2019年,这6个县累计退出贫困村312个,退出贫困人口21.3万人。", set()),
    ("全市累计脱贫3.2万人,贫困发生率降至0.5%。", set()),
    # ... but not when it is a yardstick
    ("全市率先实现脱贫摘帽,累计脱贫3.2万人。", {("exited_poor_population", 32000, None)}),
    # spaces inside the text are no word boundary
    (
        "据介绍 , 2013年底全县贫困村有85个 , 贫困人口为32650人。",
        {("poor_villages", 85, 2013), ("registered_poor_population", 32650, 2013)},
    ),
    # a short aside in parentheses stays inside its phrase
    ("全县辖18个乡镇296个村(社区)。", {("administrative_villages", 296, None)}),
    # a time that dates a number of its own does not date the clauses after it
    (
        "截至2019年底,全县贫困人口由2014年的3.6万人减少至1260人,贫困发生率由14.2%下降至0.42%。",
        {
            ("registered_poor_population", 36000, 2014),
            ("remaining_poor_population", 1260, 2019),
            ("poverty_incidence", 14.2, 2014),
            ("poverty_incidence", 0.42, 2019),
        },
    ),
    # the noun before a from–to gives both ends their measure word's meaning
    # (a time before 由 dates the end when the end has none: 2018年底…由65个减少到12个)
    ("2018年底贫困村由65个减少到12个。", {("poor_villages", 65, None), ("poor_villages", 12, 2018)}),
    # figures of several counties together are none of them
    ("截至2019年,这6个县累计退出贫困村312个。", set()),
    # villages that qualify another noun are not a count of villages
    ("全县已建成36个贫困村光伏电站。", set()),
    # 预计全年 in a work report estimates the year just ending: not a plan for what follows
    (
        "预计全年地区生产总值增长8%;农村常住居民人均可支配收入11850元。",
        {("rural_income_per_capita", 11850, None)},
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:18] for c in CASES])
def test_reads_facts_like_a_reader(text, expected, catalog, places):
    found, _ = facts_of(text, catalog, places)
    assert found == expected


def test_a_fact_about_a_paired_county_belongs_to_that_county(catalog, places):
    text = "石阡县对口帮扶的印江县,2018年贫困发生率降至3.1%。石阡县贫困发生率降至1.2%。"
    _, result = facts_of(text, catalog, places)
    owners = {(f.county_name, f.value) for f in result.facts}
    assert owners == {("印江土家族苗族自治县", 3.1), ("石阡县", 1.2)}


def test_a_province_wide_figure_is_not_a_county_fact(catalog, places):
    found, _ = facts_of("全省贫困发生率下降到1.5%,全县贫困发生率下降到0.8%。", catalog, places)
    assert found == {("poverty_incidence", 0.8, None)}


@pytest.mark.parametrize(
    "text",
    [
        "明月镇福利村共有贫困户56户132人,2019年全部脱贫。",
        "全村贫困发生率由2014年的32.5%降至0。",
        "该镇有贫困村8个,建档立卡贫困户1260户。",
    ],
)
def test_a_township_or_village_figure_is_not_a_county_fact(text, catalog, places):
    found, _ = facts_of(text, catalog, places)
    assert found == set()


def test_a_county_whose_name_starts_like_a_township_is_still_a_county(catalog, places):
    found, _ = facts_of("镇赉县贫困发生率降至0.06%。", catalog, places, county="镇赉县")
    assert found == {("poverty_incidence", 0.06, None)}


def test_a_repeated_fact_is_one_fact(catalog, places):
    text = "全县有贫困村86个。\n全县有贫困村86个。\n截至目前,86个贫困村已全部出列。"
    _, result = facts_of(text, catalog, places)
    assert [f.metric_code for f in result.facts].count("poor_villages") == 1


def test_qualifier_is_kept_apart_from_the_value(catalog, places):
    _, result = facts_of("累计改造危房1.2万余户。", catalog, places)
    (fact,) = result.facts
    assert (fact.value, fact.qualifier, fact.raw_phrase) == (12000, "余", "1.2万余户")


def test_offsets_point_at_the_phrase_in_the_text(catalog, places):
    text = "据统计,全县贫困发生率由12.5%下降到0.4%。"
    _, result = facts_of(text, catalog, places)
    for fact in result.facts:
        assert text[fact.start_offset : fact.end_offset] == fact.raw_phrase
        assert fact.sentence in text


def test_numbers_no_metric_claims_are_kept_as_unclassified(catalog, places):
    _, result = facts_of("全县种植中药材3.5万亩,培训农民1.2万人次。", catalog, places)
    assert not result.facts
    assert {(m.value, m.unit) for m in result.unclassified} == {(35000, "万亩"), (12000, "万人次")}


def test_without_a_publication_date_relative_times_give_no_year(catalog, places):
    found, _ = facts_of("目前,全县贫困发生率降至0.5%。", catalog, places, published=None)
    assert found == {("poverty_incidence", 0.5, None)}


def test_without_a_subject_county_no_fact_is_attributed(catalog, places):
    result = extract_facts(
        "贫困发生率降至0.5%。", subject=None, published=None, catalog=catalog, places=places
    )
    assert result.facts == []


def test_a_breakdown_by_county_in_parentheses_gives_each_county_its_figure(catalog, places):
    text = "全市有建档立卡贫困人口8650人(石阡5210人、思南3440人)和贫困村52个(石阡30个、思南22个)。"
    subject = _county(places, "石阡县")
    result = extract_facts(
        text, subject=subject, published=dt.date(2019, 12, 20), catalog=catalog, places=places
    )
    found = {(f.county_name, f.metric_code, f.value) for f in result.facts}
    assert found == {
        ("石阡县", "registered_poor_population", 5210),
        ("思南县", "registered_poor_population", 3440),
        ("石阡县", "poor_villages", 30),
        ("思南县", "poor_villages", 22),
    }  # the prefecture's totals belong to no county


def test_a_sub_group_in_parentheses_is_not_a_breakdown(catalog, places):
    found, _ = facts_of("全县改造农村危房9200户(其中建档立卡户改造4100户)。", catalog, places)
    assert found == {("housing_renovated_households", 9200, None)}


def test_a_heading_dates_its_section_and_a_plan_heading_makes_plans(catalog, places):
    text = (
        "2020年石阡县人民政府工作报告\n"
        "一、2019年工作回顾\n"
        "脱贫攻坚取得决定性胜利。全县12个贫困村出列,8450人脱贫。\n"
        "二、2020年工作安排\n"
        "全县剩余贫困人口1200人全部脱贫。\n"
    )
    found, _ = facts_of(text, catalog, places, published=dt.date(2020, 5, 20), work_report=True)
    assert found == {("exited_poor_villages", 12, 2019), ("exited_poor_population", 8450, 2019)}


def test_a_work_report_reviews_the_year_before(catalog, places):
    text = "一年来,全县实现脱贫3260人。目前全县贫困发生率降至0.8%。\n全县剩余贫困人口360人。"
    found, _ = facts_of(text, catalog, places, published=dt.date(2020, 1, 8), work_report=True)
    # 一年来, 目前 and a figure with no time of its own: the year reviewed
    assert found == {
        ("exited_poor_population", 3260, 2019),
        ("poverty_incidence", 0.8, 2019),
        ("remaining_poor_population", 360, 2019),
    }
    found, _ = facts_of(text, catalog, places, published=dt.date(2020, 1, 8))
    assert ("exited_poor_population", 3260, None) in found  # in a news story 一年来 is no year


@pytest.mark.parametrize(
    "text",
    [
        "全市累计脱贫8650人,其中石阡5210人、思南3440人。",
        "全市累计脱贫8650人:石阡5210人,思南3440人。",
    ],
)
def test_a_list_of_counties_after_a_total_breaks_it_down(text, catalog, places):
    subject = _county(places, "石阡县")
    result = extract_facts(
        text, subject=subject, published=dt.date(2019, 12, 20), catalog=catalog, places=places
    )
    found = {(f.county_name, f.metric_code, f.value) for f in result.facts}
    assert found == {("石阡县", "exited_poor_population", 5210), ("思南县", "exited_poor_population", 3440)}


def test_the_verb_of_a_list_governs_its_members_after_a_sub_group(catalog, places):
    text = "“十三五”期间,全县共搬迁2150户8120人,其中建档立卡贫困户1630户6210人,随迁户520户1910人。"
    found, result = facts_of(text, catalog, places, published=dt.date(2021, 3, 1))
    assert found == {
        ("relocated_households", 2150, 2020),
        ("relocated_population", 8120, 2020),
        ("relocated_households", 1630, 2020),
        ("relocated_population", 6210, 2020),
        ("relocated_households", 520, 2020),
        ("relocated_population", 1910, 2020),
    }
    assert not result.unclassified  # "十三五" names a plan, not five of something


def test_a_year_opening_a_paragraph_dates_it(catalog, places):
    text = "2018年,石阡县扎实推进脱贫攻坚。全县实现脱贫5230人。\n全县贫困发生率降至1.2%。"
    found, _ = facts_of(text, catalog, places)
    assert found == {("exited_poor_population", 5230, 2018), ("poverty_incidence", 1.2, None)}
    found, _ = facts_of("2017年石阡县全力攻坚。全县改造危房2130户。", catalog, places)
    assert found == {("housing_renovated_households", 2130, 2017)}
    found, _ = facts_of("2014年的3.2万贫困人口已大幅减少。全县改造危房2130户。", catalog, places)
    assert ("housing_renovated_households", 2130, None) in found


def test_a_table_of_contents_and_a_delivery_line_do_not_date_the_review(catalog, places):
    text = (
        "一、2019年工作回顾\n"
        "二、2020年主要任务\n"
        "三、加强政府自身建设\n"
        "——2020年1月6日在石阡县第十七届人民代表大会第四次会议上\n"
        "各位代表:\n"
        "全年投入扶贫资金8.2亿元,实现脱贫6320人。\n"
    )
    found, _ = facts_of(text, catalog, places, published=dt.date(2020, 1, 6), work_report=True)
    assert found == {("poverty_funds_invested", 820_000_000, 2019), ("exited_poor_population", 6320, 2019)}


def test_places_found_once_give_the_facts_found_anew(catalog, places):
    text = "石阡县贫困人口由2014年的3.6万人减少到1200人,印江县脱贫5000人,全市贫困发生率降至1.2%。"
    subject = _county(places, "石阡县")
    kwargs = dict(subject=subject, published=dt.date(2019, 12, 20), catalog=catalog, places=places)
    once = extract_facts(text, found_places=places.places_in(text), **kwargs)
    assert once == extract_facts(text, **kwargs)
    assert {f.county_name for f in once.facts} == {"石阡县", "印江土家族苗族自治县"}
    with pytest.raises(ValueError, match="another text"):
        extract_facts(text, found_places=places.places_in(text[:-1]), **kwargs)


def test_clauses_read_one_by_one_give_the_same_facts(tmp_path, catalog, places):
    """A report's area words (全省, 全县, 福利村 …) are found once for all its clauses only when no
    area word can cross a clause's edge; a catalog with one that may (here a word with a space
    in it, which no text below contains) is read clause by clause, with the same facts."""
    from pipelines.core import extract
    from pipelines.core.catalog import SCHEMAS_DIR

    for name in ("metrics.yaml", "units.yaml"):
        (tmp_path / name).write_text((SCHEMAS_DIR / name).read_text("utf-8"), encoding="utf-8")
    cues = (SCHEMAS_DIR / "cues.yaml").read_text("utf-8")
    assert "wider_area: ['全国'," in cues
    (tmp_path / "cues.yaml").write_text(
        cues.replace("wider_area: ['全国',", r"wider_area: ['全国\s全球', '全国',", 1), encoding="utf-8"
    )
    clause_by_clause = load_catalog(tmp_path)
    assert extract._area_words_once(catalog) and not extract._area_words_once(clause_by_clause)
    texts = [text for text, _ in CASES] + [
        "明月镇福利村共有贫困户56户132人,2019年全部脱贫;全县贫困发生率降至0.8%。",
        "在全省范围内,共有贫困人口86万人,全县贫困人口减少到1200人。",
        "全市贫困人口11662人(康平7418人、新民1854人),该镇有贫困村8个。",
    ]
    for text in texts:
        assert facts_of(text, clause_by_clause, places)[1] == facts_of(text, catalog, places)[1], text
