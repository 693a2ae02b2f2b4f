"""Finding places in text and picking the county a report is about (sentences written for the tests)."""

from __future__ import annotations

import itertools
import pickle

import pytest

from pipelines.core.gazetteer import load_gazetteer
from pipelines.core.places import (
    PlaceIndex,
    default_aliases_path,
    derived_forms,
    read_aliases,
    strip_ethnic,
)


@pytest.fixture(scope="module")
def index() -> PlaceIndex:
    return PlaceIndex(load_gazetteer())


def found(index: PlaceIndex, text: str) -> list[tuple[str, str]]:
    return [(m.surface, m.code) for m in index.find_places(text)]


def test_full_names(index):
    text = "延边朝鲜族自治州安图县和广西壮族自治区都安瑶族自治县都在甘肃省考察。"
    assert found(index, text) == [
        ("延边朝鲜族自治州", "222400"),
        ("安图县", "222426"),
        ("广西壮族自治区", "450000"),
        ("都安瑶族自治县", "451228"),
        ("甘肃省", "620000"),
    ]
    levels = [m.level for m in index.find_places(text)]
    assert levels == ["prefecture", "county", "province", "county", "province"]


def test_short_names(index):
    text = "安图的木耳卖到了张掖，都安县的山羊进了延边州，延边的游客去了甘肃。"
    assert found(index, text) == [
        ("安图", "222426"),
        ("张掖", "620700"),
        ("都安县", "451228"),
        ("延边州", "222400"),
        ("延边", "222400"),
        ("甘肃", "620000"),
    ]
    names = [m.name for m in index.find_places("都安县")]
    assert names == ["都安瑶族自治县"]


def test_province_short_names(index):
    text = "广西、内蒙古、新疆、宁夏、西藏五个自治区"
    assert [code for _, code in found(index, text)] == ["450000", "150000", "650000", "640000", "540000"]


def test_common_words_are_not_places(index):
    text = (
        "坚持和平发展，城关镇新城社区的东方红超市打通了物流通道，"
        "平安建设和安全生产两手抓，市和县两级财政共同富裕，合作社带动富民增收。"
    )
    assert found(index, text) == []


def test_stop_list_does_not_block_full_names(index):
    assert found(index, "和平县、东方市和通道侗族自治县") == [
        ("和平县", "441624"),
        ("东方市", "469007"),
        ("通道侗族自治县", "431230"),
    ]
    assert found(index, "通道县、互助县") == [("通道县", "431230"), ("互助县", "630223")]


def test_one_character_county_names_need_a_real_boundary(index):
    assert found(index, "该县被评为电子商务进农村综合示范县，乡村振兴县域经济发展快。") == []
    assert found(index, "山西省吕梁市兴县") == [
        ("山西省", "140000"),
        ("吕梁市", "141100"),
        ("兴县", "141123"),
    ]


def test_poverty_regions_are_not_places(index):
    assert found(index, "地处大兴安岭南麓山区和武陵山区") == []


def test_a_short_name_listed_with_names_that_are_not_places_is_not_a_place(index):
    # housing estates named 安康, 富民 ... (安康市, 富民县): a list of names, not of places
    assert found(index, "在县城建起了安康、福泽、兴业三个安置小区") == []
    assert found(index, "设立惠农、长顺两个服务站") == []
    # a list of places, a breakdown with figures, and official names stay places
    assert [s for s, _ in found(index, "与岳西、潜山、太湖等县结对")] == ["岳西", "潜山", "太湖"]
    assert [s for s, _ in found(index, "(康平7418人、新民1854人)")] == ["康平", "新民"]
    assert [s for s, _ in found(index, "丰收、安康市")] == ["安康市"]


def test_market_and_area_suffixes(index):
    # 江南 is a stop word; 江南市 (a former name of 江南区) must not swallow 市场
    assert found(index, "江南市场") == []


def test_mentions_are_sorted_and_do_not_overlap(index):
    mentions = index.find_places("张掖山丹县和临夏州东乡县，依安县")
    starts = [m.start for m in mentions]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in itertools.pairwise(mentions))
    assert [m.surface for m in mentions] == ["张掖", "山丹县", "临夏州", "东乡县", "依安县"]


def test_ambiguous_short_name_resolved_by_context(index):
    gansu = "甘肃省临夏州的东乡发展洋芋产业。"
    jiangxi = "江西省抚州市的东乡发展蜜桔产业。"
    assert ("东乡", "622926") in found(index, gansu)
    assert ("东乡", "361003") in found(index, jiangxi)


def test_ambiguous_name_without_context_is_left_out(index):
    assert found(index, "东乡发展特色产业。") == []
    assert found(index, "朝阳区的帮扶队伍到了。") == []
    assert ("朝阳区", "110105") in found(index, "北京市朝阳区的帮扶队伍到了。")


def test_bigger_place_wins_bare_names(index):
    assert found(index, "吉林") == [("吉林", "220000")]  # province, not 吉林市
    assert found(index, "临夏") == [("临夏", "622900")]  # prefecture, not 临夏市/临夏县
    assert found(index, "西安") == [("西安", "610100")]  # 西安市, not 辽源's 西安区
    assert found(index, "河南") == [("河南", "410000")]  # province, not 河南蒙古族自治县


def test_renamed_counties(index):
    assert found(index, "平泉县") == [("平泉县", "130881")]
    assert found(index, "邵东县") == [("邵东县", "430582")]
    assert found(index, "长治县") == [("长治县", "140404")]  # now 上党区: an alias-file entry
    assert found(index, "青海省湟中县") == [("青海省", "630000"), ("湟中县", "630106")]  # derived
    assert found(index, "赣县") == [("赣县", "360704")]  # now 赣县区


def test_municipality_district_and_provincial_direct_county(index):
    assert found(index, "重庆市城口县") == [("重庆市", "500000"), ("城口县", "500229")]
    assert found(index, "湖北省仙桃市") == [("湖北省", "420000"), ("仙桃市", "429004")]
    assert found(index, "海南保亭县") == [("海南", "460000"), ("保亭县", "469029")]


def test_subject_from_title(index):
    title = "张掖山丹县推进精准扶贫工作纪实"
    body = "今年以来，山丹坚持产业带动，全县脱贫一千余户。张掖市领导多次调研。"
    assert index.subject_county(title, body).code == "620725"


def test_subject_from_short_name_title(index):
    title = "依安 上下同心 决战脱贫"
    body = "近年来，全县上下聚焦脱贫目标，该县贫困发生率降到1%以下。"
    county = index.subject_county(title, body)
    assert (county.code, county.name) == ("230223", "依安县")


def test_subject_from_body_frequency_with_paired_county(index):
    body = (
        "郎溪县扎实推进脱贫攻坚。郎溪县与岳西县结对，向岳西县捐赠资金，岳西县的干部来郎溪交流。"
        "郎溪县委县政府高度重视，宣城市也给予支持。郎溪县产业扶贫成效明显。"
    )
    assert index.subject_county(None, body).name == "郎溪县"
    # the title names both: the one the body is about wins
    assert index.subject_county("郎溪县对口帮扶岳西县纪实", body).name == "郎溪县"


def test_back_references_break_ties(index):
    body = "岳西县来了客人。郎溪县介绍经验，该县的茶叶产业带动增收，全县脱贫。"
    assert index.subject_county(None, body).name == "郎溪县"


def test_title_outranks_body_frequency(index):
    body = "镇赉县 镇赉县 镇赉县 安图县"
    assert index.subject_county("安图县脱贫综述", body).name == "安图县"


def test_no_county_gives_none(index):
    assert index.subject_county("甘肃省张掖市召开扶贫会议", "全省各地要抓好落实。") is None
    assert index.subject_county(None, "这里没有任何地名。") is None


def test_derived_forms():
    gaz = load_gazetteer()
    assert derived_forms(gaz.place("451228")) == ["都安县", "都安"]
    assert derived_forms(gaz.place("222400")) == ["延边", "延边州"]
    assert derived_forms(gaz.place("450000")) == ["广西"]
    assert derived_forms(gaz.place("130881")) == ["平泉", "平泉县"]
    assert derived_forms(gaz.place("140109"))[0] == "万柏林"
    assert strip_ethnic("积石山保安族东乡族撒拉族") == "积石山"
    assert strip_ethnic("克孜勒苏柯尔克孜") == "克孜勒苏"
    assert strip_ethnic("鄂温克族") == "鄂温克"


def test_alias_file_is_well_formed():
    entries = read_aliases(default_aliases_path())
    gaz = load_gazetteer()
    assert {e.kind for e in entries} == {"alias", "stop"}
    for e in entries:
        if e.kind == "alias":
            assert e.code in gaz, e
        else:
            assert e.code == "", e
    assert len({e.alias for e in entries}) == len(entries)


def test_inner_mongolia_banner_abbreviations(index):
    text = "乌兰察布市察右前旗、科左后旗和东乌旗的牧民,鄂前旗、乌后旗、准旗和达茂旗也来了。"
    assert [m.name for m in index.find_places(text) if m.level == "county"] == [
        "察哈尔右翼前旗",
        "科尔沁左翼后旗",
        "东乌珠穆沁旗",
        "鄂托克前旗",
        "乌拉特后旗",
        "准格尔旗",
        "达尔罕茂明安联合旗",
    ]
    gaz = load_gazetteer()
    assert "察右后旗" in derived_forms(gaz.place("150928"))
    assert "西乌旗" in derived_forms(gaz.place("152526"))


def test_everyday_words_that_straddle_a_county_name(index):
    text = (
        "易地扶贫搬迁安置点顺利通过验收,党和政府的关怀让人民和移民和睦相处。"
        "该县是全国模范县,代理县长和代县长都说这是千年古县,古县城里有200多万年前的化石。"
    )
    assert found(index, text) == []


def test_rivers_and_mountains_named_like_counties_are_not_counties(index):
    text = "金沙江畔、澜沧江边、长白山下、贺兰山麓,六盘山片区和大通河谷"
    assert [m for m in index.find_places(text) if m.level == "county"] == []
    # a short name before a place that starts with 山 is still a place; so is a county's 山区
    assert ("张掖", "620700") in found(index, "张掖山丹县")
    assert ("通江", "511921") in found(index, "四川通江山区的群众")


def test_a_number_unit_is_not_a_place(index):
    assert found(index, "投入资金3万全部到位,200多万年前的遗址") == []
    assert found(index, "江西万年县") == [("江西", "360000"), ("万年县", "361129")]


def test_full_name_in_the_first_lines_outweighs_scattered_short_names(index):
    body = (
        "近年来,内蒙古化德县把易地扶贫搬迁作为头号工程。\n"
        "安置小区建在城边,兴和、商都的干部前来学习,兴和的经验也被借鉴,商都同样如此。\n"
        "全县搬迁群众住进了新楼房。"
    )
    assert index.subject_county(None, body).name == "化德县"


def test_a_short_name_that_may_be_a_river_counts_less(index):
    # 沙河 is 沙河市's short name and a common river's; 宁乡 is named once, plainly
    body = "全县新建安置点3处。沙河两岸的贫困户搬进新居。宁乡的干部驻村帮扶。"
    assert index.subject_county(None, body).name == "宁乡市"


def test_the_outlet_names_the_county_when_the_article_only_says_the_county(index):
    body = "●全县有建档立卡贫困户2100户。\n●流沙河等3处安置点建成。\n●全县脱贫1900户。"
    assert index.subject_county(None, body, outlet="今日宁乡").name == "宁乡市"
    assert index.subject_county(None, body, outlet="新华网").name == "沙河市"  # only the river is left


def test_back_references_count_for_a_banner(index):
    body = "察右中旗地处阴山北麓。化德县来人考察。全旗贫困人口全部脱贫,全旗上下一心,全旗……"
    assert index.subject_county(None, body).name == "察哈尔右翼中旗"


def test_the_page_header_decides_only_when_the_article_names_no_county(index):
    body = "全县贫困发生率降至0.5%。全县脱贫攻坚取得决定性胜利。"
    assert index.subject_county(None, body, page_header="首页 > 平江新闻 > 正文").name == "平江县"
    body = "安图县贫困发生率降至0.5%。"
    assert index.subject_county(None, body, page_header="首页 > 平江新闻 > 正文").name == "安图县"


@pytest.mark.parametrize(
    "title",
    [
        "东乡县脱贫攻坚纪实",  # the title's name settles the text's ambiguous 东乡
        "临夏州东乡:山乡巨变",
        "决战决胜奔小康",  # a title without a place
        None,
    ],
)
def test_places_found_once_give_the_subject_found_anew(index, title):
    text = "东乡、积石山两地贫困人口大幅减少。\n全县脱贫3148户,甘肃省验收通过,城关镇新建安置点。"
    found_once = index.places_in(text)
    assert found_once.mentions == index.find_places(text)
    assert index.subject_county(title, text, found_places=found_once) == index.subject_county(title, text)


def test_places_of_another_text_are_refused(index):
    with pytest.raises(ValueError, match="another text"):
        index.subject_county("安图县", "安图县脱贫。", found_places=index.places_in("都安县脱贫。"))


def test_a_place_index_survives_pickling(index):
    # process pools that spawn instead of fork send it pickled; the compiled matcher is rebuilt
    text = "延边州安图县和长白山,张掖山丹县"
    assert pickle.loads(pickle.dumps(index)).find_places(text) == index.find_places(text)
