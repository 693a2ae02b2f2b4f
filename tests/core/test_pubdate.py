"""Publication dates from the URL, a work report's heading, a dateline or a journal issue.

Pages of our own."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.core.cleaning import clean_document
from pipelines.core.pubdate import choose_publication_date, date_from_url, is_work_report


@pytest.mark.parametrize(
    ("url", "date"),
    [
        ("http://www.example.gov.cn/xwzx/2019/0527/12345.html", dt.date(2019, 5, 27)),
        ("https://news.example.com/system/2018/05/13/011948.shtml", dt.date(2018, 5, 13)),
        ("https://www.example.gov.cn/art/2021/3/2/art_123_456.html", dt.date(2021, 3, 2)),
        ("http://www.example.cn/zwgk/201908/t20190823_63096.shtml", dt.date(2019, 8, 23)),
        ("http://example.cn/n/20190125/a8f0c2.html", dt.date(2019, 1, 25)),
        ("http://example.cn/tp/202107/abc.html", dt.date(2021, 7, 1)),  # month only: its first day
        ("http://example.cn/html/2020/shehui_0305/9.html", dt.date(2020, 1, 1)),  # year only
        ("http://example.cn/a/1566809035.html", None),  # a timestamp, not a date
        ("http://example.cn/news-950443-1.html", None),
        (None, None),
    ],
)
def test_date_from_url(url, date):
    assert date_from_url(url) == date


WORK_REPORT = """政府工作报告
——2019年1月8日在平山县第十六届
人民代表大会第三次会议上
县长 李文军
各位代表:
现在,我代表县人民政府,向大会报告工作,请予审议。
一、2018年工作回顾
过去一年,全县减少贫困人口3200人。
"""


def test_a_work_report_is_dated_by_its_delivery_even_when_the_heading_is_cut():
    c = clean_document(WORK_REPORT, is_html=False)
    assert c.published_date == dt.date(2019, 1, 8)
    assert c.is_work_report


def test_the_delivery_date_after_the_congress_line_and_in_digits_cut_across_lines():
    after = (
        "2020年某县人民政府工作报告\n——在某县第十届人民代表大会第五次会议上\n"
        "县长 王明(2020年1月9日)\n各位代表:\n"
    )
    assert choose_publication_date(None, after) == dt.date(2020, 1, 9)
    cut = "2020\n年政府工作报告\n——\n2019\n年\n12\n月\n28\n日在县十六届人民代表大会第四次会议上\n各位代表:"
    assert choose_publication_date(None, cut) == dt.date(2019, 12, 28)


def test_a_work_report_reposted_in_a_later_year_keeps_its_delivery_date():
    text = "文库 2021-07-27 17:52:33 工作报告\n" + WORK_REPORT
    assert clean_document(text, is_html=False).published_date == dt.date(2019, 1, 8)
    # posted by the county itself weeks later: the page's own date
    text = "2019-01-30 10:00 来源:平山县人民政府\n" + WORK_REPORT
    assert clean_document(text, is_html=False).published_date == dt.date(2019, 1, 30)


def test_other_pages_are_not_work_reports():
    c = clean_document(
        "平山县召开扶贫工作会议\n县长在会上听取了政府工作报告起草情况的汇报,要求抓好落实。", is_html=False
    )
    assert not c.is_work_report
    assert is_work_report("2021年政府工作报告", "各位代表:现在我代表县人民政府作报告。")


def test_a_dateline_takes_the_latest_year_the_page_looks_back_on():
    text = (
        "本报讯(记者 刘洋)6月12日,记者从平山县扶贫办获悉,2019年全县脱贫1200人。\n"
        "2018年,全县脱贫900人。到2025年,力争全面实现乡村振兴。"
    )
    assert clean_document(text, is_html=False).published_date == dt.date(2019, 6, 12)
    assert choose_publication_date(None, "新华社石家庄3月5日电 2020年以来,平山县……") == dt.date(2020, 3, 5)
    assert choose_publication_date(None, "央视网消息 3月5日,平山县……") is None  # no year anywhere


def test_a_journal_issue_gives_its_year():
    assert choose_publication_date(None, "摘要\n平山县扶贫工作综述……\n《扶贫研究》2019年第8期") == dt.date(
        2019, 1, 1
    )


def test_the_url_comes_after_the_page_s_own_date_and_before_a_dateline():
    text = "本报讯 6月12日,平山县召开大会。2019年全县脱贫1200人。"
    assert choose_publication_date(None, text, url="http://x.cn/2018/0612/1.html") == dt.date(2018, 6, 12)
    page = dt.date(2018, 6, 13)
    assert choose_publication_date(page, text, url="http://x.cn/2018/0612/1.html") == page
    assert clean_document(text, is_html=False, url="http://x.cn/2018/0612/1.html").published_date == dt.date(
        2018, 6, 12
    )
