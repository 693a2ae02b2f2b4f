import datetime as dt
from pathlib import Path

from pipelines.core.html_text import clean_title, html_to_article

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def _gov_page() -> str:
    return (FIXTURES / "gov_page.html").read_text(encoding="utf-8")


def test_government_page_article_and_metadata():
    art = html_to_article(_gov_page())
    assert art.title == "清河县扎实推进产业扶贫 群众增收底气足"
    assert art.published_date == dt.date(2020, 6, 18)
    assert art.outlet == "清河融媒"
    assert "累计投入财政专项扶贫资金1.26亿元" in art.text  # normalised to half-width
    assert "贫困发生率由2014年的11.8%降至0.36%" in art.text
    # Paragraphs are lines.
    assert any(line.startswith("初夏时节") for line in art.text.splitlines())
    for junk in (
        "脚本里",
        "font-size",
        "分享到",
        "打印本页",
        "暂无网友评论",
        "验证码",
        "ICP备",
        "公网安备",
        "政务服务",
    ):
        assert junk not in art.text, junk


def test_table_layout_page_uses_fallback_rules_and_keeps_br_lines():
    html = (FIXTURES / "table_page.html").read_bytes().decode("gb18030")
    art = html_to_article(html)
    assert art.title == "东坪县光伏扶贫电站全部并网发电"
    assert art.published_date == dt.date(2019, 12, 5)
    assert art.outlet == "东坪日报"
    lines = art.text.splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("据介绍,全县共建成村级光伏电站62个")
    assert "|" not in art.text and "Copyright" not in art.text and "本地新闻" not in art.text


def test_title_from_og_title_and_h1_when_no_cms_tags():
    html = """<html><head><title>脱贫户的新日子 - 北方日报</title>
    <meta property="og:title" content="脱贫户的新日子">
    <meta property="article:published_time" content="2018-09-03T08:00:00+08:00"></head>
    <body><h1>北方日报</h1><div><p>今年，全村人均收入突破一万元，贫困户全部搬进了新房，村里还建起了合作社和卫生室。</p></div></body></html>"""
    art = html_to_article(html)
    assert art.title == "脱贫户的新日子"
    assert art.published_date == dt.date(2018, 9, 3)
    assert "全村人均收入突破一万元" in art.text


def test_h1_that_matches_the_title_tag_wins_over_a_logo_h1():
    html = """<html><head><title>西岭村的致富路_西岭县人民政府</title></head>
    <body><h1>西岭县人民政府</h1><h1>西岭村的致富路</h1>
    <div><p>西岭村依托高山茶叶，带动全村128户贫困户户均增收4300元，村集体收入达到26万元。</p></div></body></html>"""
    assert html_to_article(html).title == "西岭村的致富路"


def test_loose_div_text_with_br_is_not_lost():
    body = "<br>".join(
        [
            "　　全乡共有贫困户860户2410人，2017年以来通过产业带动实现脱贫812户2296人。",
            "　　乡里新建扶贫车间3个，吸纳贫困劳动力就业145人，人均月工资2100元。",
        ]
    )
    html = f"<html><head><title>某乡脱贫工作</title></head><body><div id='main'>{body}</div></body></html>"
    art = html_to_article(html)
    assert "全乡共有贫困户860户2410人" in art.text
    assert "吸纳贫困劳动力就业145人" in art.text


def test_empty_or_broken_html():
    assert html_to_article("").text == ""
    assert html_to_article("   ").title is None


def test_clean_title_drops_site_suffixes_but_not_inner_dashes():
    assert clean_title("与贫困决战 向小康进发——郎溪县脱贫攻坚扫描_郎溪县人民政府") == (
        "与贫困决战 向小康进发——郎溪县脱贫攻坚扫描"
    )
    assert clean_title("安图之变 - 延边日报") == "安图之变"
    assert clean_title("依安脱贫纪实|人民网") == "依安脱贫纪实"
    assert clean_title("鎮賚縣脫貧紀實-吉林日報") == "镇赉县脱贫纪实"
    assert clean_title("  ") is None


def test_the_densest_block_holds_no_more_chinese_than_the_visible_page():
    # html_to_article skips building the fallback block when trafilatura's text has half the
    # Chinese characters of the page's visible lines: sound only while this holds.
    from pipelines.core.html_text import _fallback_lines, _han_count, _lines, _parse, _strip

    pages = [
        _gov_page(),
        (FIXTURES / "table_page.html").read_bytes().decode("gb18030"),
        "<html><body><div class='nav'>首页 新闻 政务公开 办事服务</div><div><p>全县贫困人口由2014年的"
        "3.6万人减少到1200人。</p></div><div class='footer'>主办:某县人民政府办公室</div></body></html>",
    ]
    for html in pages:
        page, stripped = _parse(html), _parse(html)
        _strip(page, by_class=False)
        _strip(stripped, by_class=True)
        block = _han_count("\n".join(_fallback_lines(stripped)))
        assert 0 < block <= sum(map(_han_count, _lines(page)))
