"""The programme's metrics (五个一批, 两不愁三保障) on sentences written for these tests.

Each case is a short report text about 石阡县 and the facts a careful reader takes from it:
(metric, value, year). The traps are the ones reports set for a careless reader: plans,
averages, sub-groups, shares and growth rates, another place's figure, the wrong unit, teams
instead of cadres, people trained instead of people employed.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.core.catalog import CatalogError, load_catalog
from pipelines.core.extract import extract_facts
from pipelines.core.gazetteer import load_gazetteer
from pipelines.core.mentions import mention_finder
from pipelines.core.places import PlaceIndex
from tests.core.test_numbers_units_time import _catalog_with


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def places():
    return PlaceIndex(load_gazetteer())


def facts_of(text, catalog, places, published=dt.date(2019, 12, 20)):
    subject = next(c for c in places.gazetteer.counties if c.name == "石阡县")
    result = extract_facts(text, subject=subject, published=published, catalog=catalog, places=places)
    return {(f.metric_code, f.value, f.year) for f in result.facts}


RELOCATION = [
    (
        "2016年以来,全县完成易地扶贫搬迁2860户10120人。",
        {("relocated_households", 2860, 2019), ("relocated_population", 10120, 2019)},
    ),
    # the registered poor among those relocated are relocated too; a way of resettling them is a part
    (
        "全县累计搬迁安置4120户15360人,其中建档立卡贫困户3680户13900人,集中安置3200户。",
        {
            ("relocated_households", 4120, None),
            ("relocated_population", 15360, None),
            ("relocated_households", 3680, None),
            ("relocated_population", 13900, None),
        },
    ),
    (
        "全县建成易地扶贫搬迁集中安置点45个,安置贫困群众2.1万人。",
        {("relocated_population", 21000, None)},
    ),
    ("计划2020年前搬迁贫困群众1500户。", set()),
    # flats and sites built are not households moved
    ("建成易地扶贫搬迁安置房2400套、安置点18个。", set()),
    # the measures named as the way people left poverty: people lifted out, not people relocated
    ("通过易地扶贫搬迁、转移就业等措施,累计脱贫3.2万人。", {("exited_poor_population", 32000, None)}),
    # relocated people placed in work are employment
    ("搬迁群众实现就业860人。", {("labor_transfer_employment", 860, None)}),
    ("全省易地扶贫搬迁150万人。", set()),
]

EMPLOYMENT = [
    ("全县贫困劳动力转移就业1.26万人。", {("labor_transfer_employment", 12600, None)}),
    ("组织贫困劳动力外出务工8600人。", {("labor_transfer_employment", 8600, None)}),
    ("有组织输出贫困劳动力3000人。", {("labor_transfer_employment", 3000, None)}),
    ("扶贫车间吸纳贫困群众就业420人。", {("labor_transfer_employment", 420, None)}),
    # people trained are not people employed
    ("开展技能培训3200人次,培训贫困劳动力1800人。", set()),
    # the whole rural or urban labour force is not the poor, unless the poor among them are named
    ("城镇新增就业2100人。", set()),
    ("全县农村劳动力转移就业9.8万人,其中贫困劳动力2.1万人。", {("labor_transfer_employment", 21000, None)}),
    # jobs offered are posts, not people placed; a person-time is no person here
    ("提供就业岗位1500个,转移就业1.2万人次。", set()),
    ("每个扶贫车间带动就业20人以上。", set()),
    # a public-welfare post is one person, whether counted in posts or in people
    ("开发乡村公益性岗位2360个。", {("public_welfare_jobs", 2360, None)}),
    ("公益岗位安置贫困人口580人。", {("public_welfare_jobs", 580, None)}),
    ("新增保洁员、护路员等公益岗位420个。", {("public_welfare_jobs", 420, None)}),
    (
        "建成扶贫车间46个,新建扶贫工厂12家。",
        {("poverty_workshops", 46, None), ("poverty_workshops", 12, None)},
    ),
    (
        "建成8个就业扶贫车间,全县扶贫车间增加到120个。",
        {("poverty_workshops", 8, None), ("poverty_workshops", 120, None)},
    ),
    # a measure word counts the noun after it: projects, not workshops
    ("引进5个项目入驻车间。", set()),
]

ECOLOGY_AND_CADRES = [
    # rangers are not public-welfare posts, nor the registered poor they are chosen from
    ("选聘建档立卡贫困人口为生态护林员1250名。", {("ecological_rangers", 1250, None)}),
    ("续聘草管员300人,培训护林员600人。", {("ecological_rangers", 300, None)}),
    ("护林员年人均收入1万元。", set()),
    (
        "选派驻村第一书记186名、驻村工作队员560名。",
        {("resident_cadres", 186, None), ("resident_cadres", 560, None)},
    ),
    ("640名干部长期驻村。", {("resident_cadres", 640, None)}),
    # teams are not cadres
    ("全县共派驻驻村工作队128支。", set()),
    ("派出驻村工作队128个,驻村干部386人。", {("resident_cadres", 386, None)}),
    # cadres paired with households stay in their posts; training is not sending
    ("组织2300名干部结对帮扶贫困户。", set()),
    ("全县近万名包保干部下沉驻村。", set()),
    ("培训驻村干部420名。", set()),
]

EDUCATION_AND_SOCIAL_SECURITY = [
    # education aid counts persons or person-times, as the text states
    ("资助贫困家庭学生1.8万人次。", {("education_aid_students", 18000, None)}),
    ("落实雨露计划补助1260人。", {("education_aid_students", 1260, None)}),
    ("累计发放教育扶贫资金2.3亿元,惠及学生12万人次。", {("education_aid_students", 120000, None)}),
    ("发放助学金1250万元。", set()),
    ("劝返辍学学生36人。", set()),
    ("全县有义务教育阶段贫困学生1.2万名。", set()),
    ("计划资助学生500人。", set()),
    ("将3200名贫困人口纳入农村低保。", {("dibao_population", 3200, None)}),
    (
        "特困供养人员860人,低保兜底保障4100人。",
        {("dibao_population", 860, None), ("dibao_population", 4100, None)},
    ),
    ("1.2万名贫困人口实现政策兜底。", {("dibao_population", 12000, None)}),
    # a 其中 clause that names the programme is its figure, a part of another total
    (
        "全县建档立卡贫困人口3.2万人,其中低保兜底对象4500人。",
        {("registered_poor_population", 32000, None), ("dibao_population", 4500, None)},
    ),
    # person-times of payments are not persons covered; those just above the line are not covered
    ("发放低保金6.2万人次,医疗救助3600人次。", set()),
    ("低保边缘户人口1200人。", set()),
]

INFRASTRUCTURE_AND_COOPERATIVES = [
    ("新建改建农村公路420公里。", {("rural_roads_km", 420, None)}),
    # 米 is a thousandth of a kilometre; a width is no length of road
    ("硬化通村通组路1.5万米,路面宽4.5米。", {("rural_roads_km", 15, None)}),
    ("全县农村公路总里程达到0.32万公里。", {("rural_roads_km", 3200, None)}),
    ("村委会距县城35公里,新建10千伏线路120公里,建成高速公路58公里。", set()),
    ("计划新建通组路200公里。", set()),
    ("明月镇新修道路12公里。", set()),
    # 平方米 is an area, never a length
    ("新建道路及广场1.2万平方米。", set()),
    ("巩固提升2.3万人饮水安全。", {("drinking_water_population", 23000, None)}),
    ("解决1.6万贫困人口安全饮水问题。", {("drinking_water_population", 16000, None)}),
    # the beneficiaries of a programme named in the clause before are its figure
    ("实施农村饮水安全巩固提升工程46处,受益人口3.8万人。", {("drinking_water_population", 38000, None)}),
    ("建成集中供水工程46处,自来水普及率达到92%。", set()),
    (
        "全县发展农民专业合作社860家,组建12个扶贫合作社。",
        {("cooperatives", 860, None), ("cooperatives", 12, None)},
    ),
    ("全县农民专业合作社发展到560家。", {("cooperatives", 560, None)}),
    ("合作社带动贫困户2600户,合作社数量增长12%。", set()),
    ("每个贫困村至少有2个合作社。", set()),
]

CASES = [
    *RELOCATION,
    *EMPLOYMENT,
    *ECOLOGY_AND_CADRES,
    *EDUCATION_AND_SOCIAL_SECURITY,
    *INFRASTRUCTURE_AND_COOPERATIVES,
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:18] for c in CASES])
def test_reads_the_programme_like_a_reader(text, expected, catalog, places):
    assert facts_of(text, catalog, places) == expected


def test_one_figure_of_two_programmes_is_either_of_them(catalog, places):
    # 易地扶贫搬迁和农村危房改造15000户: the annotation accepts either metric, not both or neither
    (fact,) = facts_of("全县完成易地扶贫搬迁和农村危房改造15000户。", catalog, places)
    assert fact[0] in {"relocated_households", "housing_renovated_households"}
    assert fact[1:] == (15000, None)


def test_a_figure_of_a_programme_keeps_the_metrics_unit(catalog, places):
    subject = next(c for c in places.gazetteer.counties if c.name == "石阡县")
    text = "资助学生5104人次。建成扶贫车间12座。发展合作社30个。硬化道路800米。开发公益性岗位90个。"
    result = extract_facts(text, subject=subject, published=None, catalog=catalog, places=places)
    assert {(f.metric_code, f.value, f.unit) for f in result.facts} == {
        ("education_aid_students", 5104, "person"),
        ("poverty_workshops", 12, "workshop"),
        ("cooperatives", 30, "cooperative"),
        ("rural_roads_km", 0.8, "kilometre"),
        ("public_welfare_jobs", 90, "person"),
    }


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("1.5万米", (15, "kilometre")),
        ("3.2万公里", (32000, "kilometre")),
        ("12千米", (12, "kilometre")),
        ("4500平方米", (4500, "square_metre")),
        ("7444平方公里", (7444, "square_kilometre")),
        ("31个扶贫车间", (31, "workshop")),
        ("12家社区工厂", (12, "workshop")),
        ("就业扶贫车间4家", (4, "workshop")),
        ("6座扶贫车间", (6, "workshop")),
        ("129家农民专业合作社", (129, "cooperative")),
        ("专业合作社951家", (951, "cooperative")),
        ("公益性岗位1466个", (1466, "person")),
        ("17个项目", (17, "count")),
        ("5104人次", (5104, "person_time")),
    ],
)
def test_units_of_the_programme(phrase, expected, catalog):
    (mention,) = mention_finder(catalog).find(phrase)
    assert (mention.value, mention.unit) == expected


# the codes, units and pillars of the second edition of the benchmark's metrics.csv
PROGRAMME = {
    "relocated_households": ("household", "relocation"),
    "relocated_population": ("person", "relocation"),
    "labor_transfer_employment": ("person", "employment"),
    "public_welfare_jobs": ("person", "employment"),
    "ecological_rangers": ("person", "ecology"),
    "poverty_workshops": ("workshop", "employment"),
    "resident_cadres": ("person", "poverty_population_and_villages"),
    "education_aid_students": ("person", "education"),
    "dibao_population": ("person", "social_security"),
    "rural_roads_km": ("kilometre", "infrastructure_and_housing"),
    "drinking_water_population": ("person", "infrastructure_and_housing"),
    "cooperatives": ("cooperative", "income"),
}
PILLARS = {
    "poverty_population_and_villages",
    "income",
    "funds_and_credit",
    "employment",
    "relocation",
    "ecology",
    "education",
    "social_security",
    "infrastructure_and_housing",
}


def test_catalog_has_the_programme_with_its_units_and_pillars(catalog):
    codes = list(catalog.metrics)
    assert codes[-12:] == list(PROGRAMME)  # appended after the 17, in the benchmark's order
    assert {c: (catalog.metrics[c].unit, catalog.metrics[c].category) for c in PROGRAMME} == PROGRAMME
    assert {m.category for m in catalog.metrics.values()} <= PILLARS
    assert all(catalog.metrics[c].frames for c in PROGRAMME)


def test_person_times_count_only_for_a_metric_that_accepts_them(catalog):
    assert catalog.metrics["education_aid_students"].accepts == ("person_time",)
    takers = {m.code for m in catalog.metrics_by_unit["person_time"]}
    assert takers == {"education_aid_students"}


def test_an_accepted_unit_must_exist(tmp_path):
    expected = r"metric 'x': accepts units not defined in units.yaml: \['parsec'\]"
    with pytest.raises(CatalogError, match=expected):
        _catalog_with(
            tmp_path,
            "  - {code: x, name_zh: 甲, name_en: X, unit: person, accepts: [parsec], category: c,"
            " description: d, frames: [{subject: [学生]}]}\n",
        )
