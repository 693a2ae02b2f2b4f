"""Signed numbers (-5%, -300万人) keep their sign; units.yaml says what a county's figure can be."""

from __future__ import annotations

import pytest

from pipelines.core.catalog import SCHEMAS_DIR, CatalogError, load_catalog
from pipelines.core.mentions import mention_finder
from pipelines.core.numbers import negative_sign_before


@pytest.fixture(scope="module")
def finder():
    return mention_finder(load_catalog())


@pytest.mark.parametrize(
    ("text", "phrase", "value", "unit"),
    [
        ("上半年全县农业产值同比增长-5%。", "-5%", -5.0, "percent"),
        ("常住人口较上年变动-300万人", "-300万人", -3_000_000.0, "person"),
        ("出口额为−1.5亿元", "−1.5亿元", -150_000_000.0, "yuan"),  # U+2212 MINUS SIGN
        ("-12户退出后重新识别", "-12户", -12.0, "household"),
    ],
)
def test_a_minus_before_a_number_is_its_sign(finder, text, phrase, value, unit):
    (mention,) = finder.find(text)
    assert (mention.phrase, mention.value, mention.unit) == (phrase, value, unit)
    assert text[mention.start : mention.end] == phrase


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("预计增长3-5%", 5.0),  # a range
        ("补助标准为每户3万-5万元", 50_000.0),
        ("人均收入3000元-5000元", 5000.0),
        ("2016-2020年累计投入800万元", 8_000_000.0),  # years
        ("咨询电话0563-2345户", 2345.0),  # a telephone number, whatever follows
        ("编号B-17户", 17.0),
        ("- 300万人参加了培训", 3_000_000.0),  # a list bullet, not a sign
    ],
)
def test_a_minus_between_quantities_is_not_a_sign(finder, text, value):
    values = [m.value for m in finder.find(text)]
    assert values[-1] == value


def test_negative_sign_before_reads_only_the_characters_before_the_number():
    assert negative_sign_before("增长-5%", 3)
    assert not negative_sign_before("增长5%", 2)
    assert not negative_sign_before("-", 0)
    assert not negative_sign_before("3-5%", 2)


def test_every_unit_has_a_plausible_range():
    catalog = load_catalog()
    units = {u.unit for u in catalog.units}
    assert units <= set(catalog.plausible), f"no plausible range for {sorted(units - set(catalog.plausible))}"
    assert set(catalog.plausible) <= units, f"ranges of no unit: {sorted(set(catalog.plausible) - units)}"
    for unit in ("kilometre", "workshop", "cooperative"):
        assert catalog.plausible[unit].below == 100_000


def test_plausible_ranges_read_as_a_person_would_write_them():
    ranges = load_catalog().plausible
    assert ranges["person"].describe() == "0 to below 10,000,000"
    assert ranges["household"].below == 5_000_000 and ranges["village"].below == 5_000
    assert (ranges["percent"].minimum, ranges["percent"].maximum) == (0, 100)
    assert not ranges["percent"].negatives_allowed and ranges["percentage_point"].negatives_allowed


def test_a_malformed_range_names_the_file_and_unit(tmp_path):
    for name in ("metrics.yaml", "cues.yaml"):
        (tmp_path / name).write_text((SCHEMAS_DIR / name).read_text("utf-8"), encoding="utf-8")
    units = (SCHEMAS_DIR / "units.yaml").read_text("utf-8")
    (tmp_path / "units.yaml").write_text(
        units.replace("village: {below: 5000}", "village: {below: lots}"), encoding="utf-8"
    )
    with pytest.raises(CatalogError, match=r"units.yaml: plausible.village: bounds must be numbers"):
        load_catalog(tmp_path)
