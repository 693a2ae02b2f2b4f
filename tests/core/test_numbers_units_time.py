"""Numbers, units and time expressions as reports write them."""

from __future__ import annotations

import pytest

from pipelines.core.catalog import SCHEMAS_DIR, CatalogError, load_catalog
from pipelines.core.mentions import mention_finder
from pipelines.core.numbers import parse_number
from pipelines.core.timeexpr import find_time_expressions


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3675.95", 3675.95),
        ("12,346.67", 12346.67),
        ("十二", 12),
        ("两", 2),
        ("一千二百", 1200),
        ("三万五千", 35000),
        ("一百零五", 105),
        ("二〇二〇", 2020),
        ("十", 10),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.fixture(scope="module")
def finder():
    return mention_finder(load_catalog())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6.74亿元", (674_000_000, "yuan", None)),
        ("19528.1万元", (195_281_000, "yuan", None)),
        ("1.2万余户", (12000, "household", "余")),
        ("2400余万元", (24_000_000, "yuan", "余")),
        ("近5000人", (5000, "person", "近")),
        ("500千瓦", (0.5, "megawatt", None)),
        ("2.3万千瓦", (23, "megawatt", None)),
        ("45.54MW", (45.54, "megawatt", None)),
        ("20.9%", (20.9, "percent", None)),
        ("十二个贫困村", (12, "village", None)),
        ("两名", (2, "person", None)),
        ("4436 户", (4436, "household", None)),
        ("7.8万贫困人口", (78000, "person", None)),
        ("下降3.2个百分点", (3.2, "percentage_point", None)),
        ("7444平方公里", (7444, "square_kilometre", None)),
    ],
)
def test_mentions_carry_value_unit_and_qualifier(finder, text, expected):
    (mention,) = finder.find(text)
    assert (mention.value, mention.unit, mention.qualifier) == expected


def test_years_dates_and_slogans_are_not_mentions(finder):
    assert finder.find("2019年4月28日,一村一品、一户一策,第三次,57岁") == []


def test_village_noun_before_the_number(finder):
    (mention,) = finder.find("全县有贫困村28个")
    assert (mention.value, mention.unit) == (28, "village")


@pytest.mark.parametrize(
    ("text", "pub_year", "expected"),
    [
        ("截至2018年底", 2020, [("as_of", 2018, None)]),
        ("2016年以来", 2021, [("since", 2021, 2016)]),
        ("2016年以来", None, [("since", None, 2016)]),
        ("2017~2019年", 2020, [("range", 2019, 2017)]),
        ("2016年至2018年", 2020, [("range", 2018, 2016)]),
        ("截至目前", 2017, [("now", 2017, None)]),
        ("今年", None, [("now", None, None)]),
        ("2014年底的", 2020, [("point", 2014, None)]),
        ("去年", 2020, [("last_year", 2019, None)]),
        ("五年来", 2021, [("now", 2021, None)]),
    ],
)
def test_time_expressions(text, pub_year, expected):
    found = find_time_expressions(text, pub_year)
    assert [(t.kind, t.year, t.period_start) for t in found] == expected


def test_time_expressions_of_a_long_text_are_those_of_its_parts():
    # Overlaps are settled per text, so repeating a paragraph repeats its expressions, shifted.
    part = "截至2018年底,2016年以来累计投入2016年至2018年专项资金,今年再投入,去年减贫2017~2019年。"
    one = [(t.start, t.end, t.kind, t.year) for t in find_time_expressions(part, 2020)]
    assert len(one) == 6
    many = [(t.start, t.end, t.kind, t.year) for t in find_time_expressions(part * 50, 2020)]
    shift = len(part)
    assert many == [(s + k * shift, e + k * shift, kind, y) for k in range(50) for s, e, kind, y in one]


def test_a_range_knows_each_of_its_years():
    (expr,) = find_time_expressions("2017~2019年", 2020)
    assert expr.years == (2017, 2018, 2019)


def test_catalog_reads_every_benchmark_metric_with_its_unit():
    catalog = load_catalog()
    units = {code: m.unit for code, m in catalog.metrics.items()}
    assert units["poverty_incidence"] == "percent"
    assert units["pv_capacity"] == "megawatt"
    assert units["microcredit_loans"] == "yuan"
    rows = catalog.table_rows()
    assert {r["metric_code"] for r in rows} == set(catalog.metrics)
    assert all(r["keywords"] for r in rows)


def test_a_broken_catalog_names_the_file_and_metric(tmp_path):
    for name in ("units.yaml", "cues.yaml"):
        (tmp_path / name).write_text((SCHEMAS_DIR / name).read_text("utf-8"), encoding="utf-8")
    (tmp_path / "metrics.yaml").write_text(
        "metrics:\n  - {code: x, name_zh: 甲, name_en: X, unit: parsec, category: c,"
        " description: d, cues: [a]}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match=r"metrics.yaml: metric 'x': unit 'parsec'"):
        load_catalog(tmp_path)


def _catalog_with(tmp_path, metric_yaml: str):
    for name in ("units.yaml", "cues.yaml"):
        (tmp_path / name).write_text((SCHEMAS_DIR / name).read_text("utf-8"), encoding="utf-8")
    (tmp_path / "metrics.yaml").write_text("metrics:\n" + metric_yaml, encoding="utf-8")
    return load_catalog(tmp_path)


def test_a_frame_needs_a_subject_word_and_a_status_word_in_any_order(tmp_path):
    catalog = _catalog_with(
        tmp_path,
        "  - {code: x, name_zh: 甲, name_en: X, unit: household, category: c, description: d,\n"
        "     frames: [{subject: [搬迁户, 易地搬迁], status: [入住, 安置]}]}\n",
    )
    (frame,) = catalog.metrics["x"].frames
    assert frame.matches("易地搬迁◆入住")
    assert frame.matches("安置易地搬迁◆")
    assert not frame.matches("易地搬迁◆")  # the status is missing
    assert not frame.matches("入住◆")  # the subject is missing


def test_a_frame_with_words_that_are_not_a_list_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match=r"metric 'x' frame 1 subject: expected a non-empty list"):
        _catalog_with(
            tmp_path,
            "  - {code: x, name_zh: 甲, name_en: X, unit: household, category: c, description: d,\n"
            "     frames: [{subject: 搬迁户}]}\n",
        )


def test_five_year_plans_and_past_years_name_their_end():
    (plan,) = find_time_expressions("“十三五”期间", 2021)
    assert (plan.year, plan.period_start) == (2020, 2016)
    (past,) = find_time_expressions("过去5年", 2020)
    assert past.year == 2020
    (last,) = find_time_expressions("过去一年", 2020)
    assert last.year == 2019


def test_a_work_reports_year_gone_by_is_the_year_before():
    assert find_time_expressions("一年来,全县", 2020) == []
    (expr,) = find_time_expressions("一年来,全县", 2020, work_report=True)
    assert expr.year == 2019
