import datetime as dt

import pytest

from pipelines.core.cleaning import CLEANER_VERSION, clean_document, read_metadata_line

ARTICLE = """首页 > 新闻 > 本地 > 柳河县脱贫攻坚纪实

手机版百姓热线

柳河之变——柳河县脱贫攻坚纪实

2020年11月3日 10:15   来源: 通化日报

初冬时节，走进柳河县的村屯，水泥路通到家门口，新建的砖瓦房整齐排列。

下好产业扶贫“先手棋”

全县整合资金2.8亿元，建设光伏电站36座，其中村集体收入74.05

万元，带动贫困户2130户增收。县里制定了《柳河县关于打赢脱贫攻坚战的实施意见》，针

对住房和饮水等短板，设立8个攻坚专班，累计召开推进会议96次，逐项抓好落实。

打好防贫“主动仗”

蓝莓基地带动农户增收。

截至2019年底，全县贫困发生率降至0.05%。

[ 本作品中使用的图片等内容，如涉及版权，请致电。联系电话：0435—1234567。]

责任编辑：李明
标签： 脱贫  柳河县  攻坚
评论一下
评论 0人参与，0条评论
还没有评论，快来抢沙发吧！
最热评论
信息广场
"""


def test_full_article_cleaning():
    c = clean_document(ARTICLE, is_html=False)
    assert c.title == "柳河之变——柳河县脱贫攻坚纪实"
    assert c.published_date == dt.date(2020, 11, 3)
    assert c.outlet == "通化日报"
    lines = c.text.split("\n")
    assert lines[0] == "柳河之变——柳河县脱贫攻坚纪实"
    assert "下好产业扶贫“先手棋”" in lines  # heading kept on its own line
    assert "打好防贫“主动仗”" in lines
    assert "其中村集体收入74.05万元,带动贫困户2130户增收。" in c.text
    assert "实施意见》,针对住房和饮水等短板" in c.text
    assert "截至2019年底,全县贫困发生率降至0.05%。" in lines
    for junk in (
        "首页",
        "手机版",
        "来源",
        "版权",
        "联系电话",
        "责任编辑",
        "标签",
        "评论",
        "信息广场",
        "蓝莓基地带动农户增收",
    ):
        assert junk not in c.text, junk
    assert "\n\n" not in c.text


def test_heading_is_not_joined_to_the_next_paragraph():
    text = "精准施策打赢脱贫攻坚战\n\n脱贫攻坚是一项系统工程，该县坚持把脱贫攻坚作为首要任务。"
    assert clean_document(text, is_html=False).text.split("\n") == [
        "精准施策打赢脱贫攻坚战",
        "脱贫攻坚是一项系统工程,该县坚持把脱贫攻坚作为首要任务。",
    ]


def test_number_split_across_lines_always_joins():
    text = "全县贫困人口\n10249\n名。"  # short lines, but a number and its unit belong together
    assert "10249名" in clean_document(text, is_html=False).text
    text = "该县下辖7镇2乡180个行政村，幅员面积7444平方公里，县域狭长，全县共有建档立卡贫困人口102\n\n49名。"
    assert "贫困人口10249名。" in clean_document(text, is_html=False).text


def test_a_figure_cut_from_its_noun_mid_sentence_joins_it_but_a_year_starts_its_own_line():
    text = "全县共有建档立卡贫困户12306户,贫困人口\n43150人。"
    assert "贫困人口43150人。" in clean_document(text, is_html=False).text
    text = "全县共有建档立卡贫困户12306户,贫困人口\n2019年全县实现脱贫。"
    assert "2019年全县实现脱贫。" in clean_document(text, is_html=False).text.split("\n")


def test_line_starting_with_punctuation_continues_the_previous_one():
    text = "全县累计发放扶贫小额信贷6674笔\n，金额1.2亿元。"
    assert clean_document(text, is_html=False).text == "全县累计发放扶贫小额信贷6674笔,金额1.2亿元。"


def test_repeated_paragraphs_are_dropped_keeping_the_first():
    para1 = "县委统领，“战区”管理，建最强指挥部。全县分设28个专项小组，20名县级领导分别担任组长。"
    para2 = "聚焦短板，精准发力。对于82个贫困村，每个村建设1个500千瓦的光伏扶贫电站。"
    text = "\n".join(
        [
            "论文部分内容阅读",
            para1,
            para2,
            "（作者：中共某县县委书记）",
            para1,
            "  " + para2,
            "（作者：中共某县县委书记）",
        ]
    )
    c = clean_document(text, is_html=False)
    assert c.text.split("\n") == [para1.replace("，", ","), para2.replace("，", ",")]
    assert c.author == "中共某县县委书记"
    assert c.title is None  # the first line is a paragraph, not a headline


def test_traditional_and_full_width_are_normalised():
    c = clean_document("全縣貧困發生率由２０１５年底的２０．９％下降到０．０６％。", is_html=False)
    assert c.text == "全县贫困发生率由2015年底的20.9%下降到0.06%。"


@pytest.mark.parametrize(
    ("line", "date", "outlet", "author"),
    [
        ("2020年10月15日 15:32   来源: 延边日报", dt.date(2020, 10, 15), "延边日报", None),
        ("日期:2017-10-23  来源:", dt.date(2017, 10, 23), None, None),
        ("发布时间:2021-03-02 07:56 来源:郎溪发布 浏览:", dt.date(2021, 3, 2), "郎溪发布", None),
        ("发布时间：2021-03-02　来源：郎溪发布　浏览次数：35", dt.date(2021, 3, 2), "郎溪发布", None),
        ("(作者:中共镇赉县委书记)", None, None, "中共镇赉县委书记"),
        ("(记者 吕少锋 张小军)", None, None, "吕少锋 张小军"),
        ("□文/摄 陈丹华 田畅 本报记者 姚建平", None, None, "陈丹华 田畅 姚建平"),
        ("本报记者 王立新 通讯员 赵一鸣", None, None, "王立新 赵一鸣"),
        ("2019-12-05", dt.date(2019, 12, 5), None, None),
        # a date with a time among the site's words, anywhere on a short line
        ("新华网 2020-11-18 21:32", dt.date(2020, 11, 18), None, None),
        ("文库 2021-07-27 17:52:33 工作报告", dt.date(2021, 7, 27), None, None),
        ("来源:湘江日报 作者:李文 编辑:王芳 2020-06-05 08:43:26", dt.date(2020, 6, 5), "湘江日报", "李文"),
        ("07.03.2018  09:40", dt.date(2018, 3, 7), None, None),  # day first
        ("2018-03-07陈立新", dt.date(2018, 3, 7), None, "陈立新"),  # the date and the author
        ("录入时间:2018-03-07", dt.date(2018, 3, 7), None, None),
        ("(来源:石阡县人民政府网)", None, "石阡县人民政府网", None),
    ],
)
def test_metadata_line_forms(line, date, outlet, author):
    found = read_metadata_line(line)
    assert found is not None
    assert (found.published_date, found.outlet, found.author) == (date, outlet, author)


@pytest.mark.parametrize(
    "line",
    [
        "2019年4月28日,经省政府批准,镇赉县正式脱贫退出贫困县序列。",
        "来源:国家统计局数据显示,全县农村居民人均可支配收入增长8.2%。",
        "时间紧、任务重,全县干部放弃休息日下村入户。",
        "文化扶贫激发内生动力",
        "2020年2月29日正式退出贫困县序列",
        "截至2019-12-31 24:00,全县贫困人口清零。",
    ],
)
def test_content_is_never_metadata(line):
    assert read_metadata_line(line) is None
    assert line.rstrip("。") in clean_document(line, is_html=False).text


def test_metadata_lines_are_removed_from_the_body_but_content_sentences_stay():
    text = (
        "山丹县推进精准扶贫工作纪实\n日期:2017-10-23  来源:\n\n"
        "  金秋十月，山丹县精准扶贫工作传来喜讯，全县脱贫3148户10284人。（记者 吕少锋 张小军）\n"
    )
    c = clean_document(text, is_html=False)
    assert c.title == "山丹县推进精准扶贫工作纪实"
    assert c.published_date == dt.date(2017, 10, 23)
    assert c.author == "吕少锋 张小军"
    assert c.text == "山丹县推进精准扶贫工作纪实\n金秋十月,山丹县精准扶贫工作传来喜讯,全县脱贫3148户10284人。"


def test_byline_under_headline():
    text = (
        "依安 上下同心凝聚合力\n\n□文/摄 陈丹华 田畅 本报记者 姚建平\n\n"
        "依安，享有中国白鹅之乡等美誉，近年来全县上下聚焦脱贫目标。"
    )
    c = clean_document(text, is_html=False)
    assert c.title == "依安 上下同心凝聚合力"
    assert c.author == "陈丹华 田畅 姚建平"
    assert "姚建平" not in c.text


@pytest.mark.parametrize(
    "line",
    [
        "您现在位置: 网站首页 > 资讯中心 > 部门动态",
        "• 繁體版",
        "无障碍",
        "长辈版",
        "【字体大小:",
        "打印本页 关闭窗口",
        "扫一扫在手机打开当前页",
        "分享到:微信 微博",
        "版权所有:某县人民政府办公室 Copyright 2020",
        "冀ICP备12345678号 冀公网安备13053402000123号",
        "联系电话:0433-8157607",
        "责任编辑:张三",
        "编辑:李四",
        "网友评论列表",
        "验证码: captcha",
        "标签: 脱贫 攻坚",
        "浏览:1024",
    ],
)
def test_boilerplate_lines_are_dropped(line):
    text = (
        f"全县贫困发生率降至0.05%，贫困人口全部脱贫，群众满意度位列全省第一。\n\n{line}\n\n"
        "第二段落的内容也要保留下来，包括这句话。"
    )
    c = clean_document(text, is_html=False)
    assert c.text.split("\n") == [
        "全县贫困发生率降至0.05%,贫困人口全部脱贫,群众满意度位列全省第一。",
        "第二段落的内容也要保留下来,包括这句话。",
    ]


def test_photo_caption_between_blank_lines_is_dropped_but_short_sentences_with_commas_stay():
    text = (
        "全村种植万寿菊1200亩，亩均收入2000元。\n\n万寿菊助力农民致富。\n\n"
        "秀美郎川，分明升腾着新活力、新希望。\n\n发展特色蔬菜种植。"
    )
    lines = clean_document(text, is_html=False).text.split("\n")
    assert "万寿菊助力农民致富。" not in lines
    assert "发展特色蔬菜种植。" not in lines
    assert "秀美郎川,分明升腾着新活力、新希望。" in lines


def test_html_input_goes_through_article_extraction():
    html = """<html><head><title>西岭村的致富路_西岭县人民政府</title></head><body>
    <div class="nav">首页 | 新闻</div>
    <div class="content"><p>西岭村依托高山茶叶，带动全村128户贫困户户均增收4300元。</p>
    <p>村集体收入由2016年的3.5万元增长到2020年的26万元。</p></div>
    <div class="footer">版权所有 西岭县人民政府 ICP备000号</div></body></html>"""
    c = clean_document(html, is_html=True)
    assert c.title == "西岭村的致富路"
    assert c.text.split("\n") == [
        "西岭村依托高山茶叶,带动全村128户贫困户户均增收4300元。",
        "村集体收入由2016年的3.5万元增长到2020年的26万元。",
    ]


def test_cleaner_version_and_empty_input():
    assert isinstance(CLEANER_VERSION, str) and CLEANER_VERSION
    assert clean_document("", is_html=False).text == ""
    assert clean_document("", is_html=True).text == ""


def test_inline_pinyin_left_by_converters_is_removed():
    text = "全縣貧困發(fā)生率降至0.8%,人均增收1.5萬(wàn)元,建档【dàng】立卡户全部脱贫。"
    assert (
        clean_document(text, is_html=False).text
        == "全县贫困发生率降至0.8%,人均增收1.5万元,建档立卡户全部脱贫。"
    )
    # brackets of letters without tone marks are content
    kept = "地区生产总值(GDP)增长6%,亩产800斤(jin)以上。"
    assert clean_document(kept, is_html=False).text == kept


def test_a_number_and_its_unit_are_joined_across_spaces_and_lines():
    text = "該縣轄12 個鄉鎮,216 個行政村,面積1380 平方公里。截至2018 年底,全县贫困村23\n个。"
    assert clean_document(text, is_html=False).text == (
        "该县辖12个乡镇,216个行政村,面积1380平方公里。截至2018年底,全县贫困村23个。"
    )
    # a space between two numbers or before a word stays
    assert clean_document("2019 2020 年度", is_html=False).text == "2019 2020年度"


def test_a_count_broken_across_lines_is_rejoined_but_separate_lines_stay_apart():
    text = "截至去年底,剩余贫困人口1206户3\n851人,贫困发生率0.9%。"
    assert clean_document(text, is_html=False).text == "截至去年底,剩余贫困人口1206户3851人,贫困发生率0.9%。"
    rows = "贫困户5\n2019年脱贫情况"  # a heading ending in a digit, then a heading with a year
    assert clean_document(rows, is_html=False).text == rows
    table = "2019\n2020"
    assert clean_document(table, is_html=False).text == table


def test_a_mirror_site_paragraph_marker_is_dropped():
    text = "各位代表:js8\n一、2019年工作回顾js8\n2019年,全县脱贫1200人。js8"
    assert (
        clean_document(text, is_html=False).text == "各位代表:\n一、2019年工作回顾\n2019年,全县脱贫1200人。"
    )


def test_a_site_menu_is_dropped_but_kept_as_the_page_header():
    text = (
        "新闻 | 政务 | 平江发布 | 视频 | 专题\n"
        "精准扶贫见成效\n"
        "全县贫困发生率降至0.5%,脱贫攻坚取得决定性胜利,群众满意度明显提高。\n"
    )
    c = clean_document(text, is_html=False)
    assert "平江发布" not in c.text
    assert c.page_header == "新闻 | 政务 | 平江发布 | 视频 | 专题"
    # a headline with one bar is not a menu
    assert clean_document("平江|贫困大县摘帽记", is_html=False).text == "平江|贫困大县摘帽记"
