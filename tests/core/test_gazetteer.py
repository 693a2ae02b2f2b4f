"""The committed gazetteer (schemas/gazetteer.csv) and its loader."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

import schemas
from pipelines.core.gazetteer import Gazetteer, load_gazetteer
from pipelines.core.models import County
from pipelines.core.tables import RAW_TABLES

CSV_PATH = Path(schemas.__file__).parent / "gazetteer.csv"
COUNTY_KINDS = {"县", "自治县", "旗", "自治旗", "县级市", "市辖区", "林区", "特区", "行政区"}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with CSV_PATH.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


def test_csv_columns_and_codes(rows):
    assert list(rows[0]) == [
        "code",
        "name",
        "level",
        "county_kind",
        "prefecture_code",
        "prefecture_name",
        "province_code",
        "province_name",
    ]
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert codes == sorted(codes)  # deterministic output


def test_counts_are_plausible(rows):
    levels = Counter(r["level"] for r in rows)
    assert levels["province"] == 34
    assert levels["prefecture"] == 333
    assert 2800 <= levels["county"] <= 2900


def test_every_county_has_a_real_province_and_parent(rows):
    by_code = {r["code"]: r for r in rows}
    for r in rows:
        province = by_code[r["province_code"]]
        assert province["level"] == "province" and province["name"] == r["province_name"]
        if r["level"] == "county":
            assert r["county_kind"] in COUNTY_KINDS, r
            if r["prefecture_code"]:
                assert by_code[r["prefecture_code"]]["level"] == "prefecture"
                assert r["prefecture_code"][:2] == r["code"][:2]
            else:  # only municipalities and 省直辖 counties lack a prefecture
                assert (
                    r["province_code"] in {"110000", "120000", "310000", "500000"} or r["code"][2:4] == "90"
                )
        else:
            assert r["county_kind"] == ""


def test_no_placeholder_rows(rows):
    names = {r["name"] for r in rows}
    codes = {r["code"] for r in rows}
    assert not names & {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "海域", "苏鲁交界"}
    assert not codes & {"999900", "990000", "110100", "500200", "133100", "500157", "320576"}
    assert not any(n.endswith("直辖") for n in names)
    # Taiwan/HK/Macau: the province-level rows only
    assert not [c for c in codes if c[:2] in {"71", "81", "82"} and c[2:] != "0000"]


def test_county_lookup(gaz):
    assert gaz.county("222426") == County("222426", "安图县", "延边朝鲜族自治州", "吉林省")
    assert gaz.county("451228").name == "都安瑶族自治县"
    with pytest.raises(KeyError):
        gaz.county("620700")  # 张掖市 is a prefecture


def test_municipality_and_provincial_direct_counties_have_no_prefecture(gaz):
    assert gaz.county("500229") == County("500229", "城口县", None, "重庆市")
    assert gaz.county("110108") == County("110108", "海淀区", None, "北京市")
    assert gaz.county("429004") == County("429004", "仙桃市", None, "湖北省")
    assert gaz.county("419001").name == "济源市"
    assert gaz.county("659001").prefecture is None  # 石河子市, 自治区直辖


def test_county_kinds(gaz):
    assert gaz.place("429021").county_kind == "林区"  # 神农架林区
    assert gaz.place("520203").county_kind == "特区"  # 六枝特区
    assert gaz.place("140109").county_kind == "市辖区"  # 万柏林区 ends in 林区 but is a district
    assert gaz.place("451228").county_kind == "自治县"
    assert gaz.place("130881").county_kind == "县级市"


def test_county_rows_match_the_raw_table(gaz):
    rows = gaz.county_rows()
    assert len(rows) == len(gaz.counties)
    assert all(list(r) == list(RAW_TABLES["county_gazetteer"]) for r in rows)
    by_code = {r["county_code"]: r for r in rows}
    assert by_code["222426"]["prefecture_code"] == "222400"
    assert by_code["500229"]["prefecture_code"] is None


def test_places_cover_all_levels_and_loading_is_cached(gaz):
    assert {p.level for p in gaz.places} == {"province", "prefecture", "county"}
    assert load_gazetteer() is gaz
    assert load_gazetteer(CSV_PATH) is gaz
