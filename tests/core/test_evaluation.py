"""The evaluation tool scores like the benchmark's scorer: per file, county, metric and value."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from pipelines.core.catalog import load_catalog
from pipelines.core.evaluation import (
    GoldFileError,
    Prediction,
    format_report,
    load_gold,
    load_sources,
    predict_file,
    score,
    score_documents,
)
from pipelines.core.gazetteer import load_gazetteer
from pipelines.core.places import PlaceIndex


def _gold(tmp_path, facts):
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(json.dumps(f, ensure_ascii=False) for f in facts), encoding="utf-8")
    return load_gold(path)


def test_matching_precision_recall_and_year_accuracy(tmp_path):
    gold = _gold(
        tmp_path,
        [
            {
                "file": "a.txt",
                "county": "甲县",
                "metric": "poor_villages",
                "year": None,
                "value": 80,
                "evidence": "",
            },
            {
                "file": "a.txt",
                "county": "甲县",
                "metric": "poverty_incidence|x",
                "year": [2019, None],
                "value": 1.2,
                "evidence": "",
            },
            {
                "file": "a.txt",
                "county": "甲县",
                "metric": "pv_capacity",
                "year": 2018,
                "value": 16,
                "evidence": "",
            },
        ],
    )
    preds = [
        Prediction("a.txt", "甲县", "poor_villages", 2020, 80.0),  # right fact, wrong year
        Prediction("a.txt", "甲县", "poverty_incidence", None, 1.20001),  # within tolerance
        Prediction("a.txt", "甲县", "poverty_incidence", None, 1.20001),  # a repeat counts once
        Prediction("a.txt", "乙县", "pv_capacity", 2018, 16.0),  # wrong county
        Prediction("b.txt", "甲县", "pv_capacity", 2018, 16.0),  # file not in gold: not scored
    ]
    result = score(gold, preds)
    assert (result.gold, result.predicted, len(result.matches)) == (3, 3, 2)
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(2 / 3)
    assert result.year_accuracy == pytest.approx(0.5)
    report = format_report(result)
    assert "MISS  a.txt 甲县 pv_capacity" in report and "EXTRA a.txt 乙县 pv_capacity" in report
    assert report.splitlines()[-1].startswith("gold=3 predicted=3 matched=2")


def test_a_malformed_gold_line_is_named(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"file": "a.txt"}\n', encoding="utf-8")
    with pytest.raises(GoldFileError, match=r"gold\.jsonl:1"):
        load_gold(path)


def test_predict_file_runs_the_whole_library_on_a_raw_file(tmp_path):
    (tmp_path / "r.txt").write_text(
        "石阡县脱贫攻坚纪实\n日期:2019-12-20 来源:石阡县融媒体中心\n截至目前,石阡县贫困发生率降至1.2%。\n",
        encoding="utf-8",
    )
    result = predict_file(tmp_path, "r.txt", load_catalog(), PlaceIndex(load_gazetteer()))
    assert [(p.county, p.metric, p.value, p.year) for p in result.predictions] == [
        ("石阡县", "poverty_incidence", 1.2, 2019)
    ]
    assert result.subject.name == "石阡县"
    assert result.published == dt.date(2019, 12, 20)


def _fact(metric, value, county="甲县", file="a.txt", year=None):
    return {"file": file, "county": county, "metric": metric, "year": year, "value": value, "evidence": ""}


def test_metrics_narrow_the_scoring_and_each_metric_has_its_precision_and_recall(tmp_path):
    gold = _gold(
        tmp_path,
        [
            _fact("poor_villages", 80),
            _fact("poor_villages", 12),
            _fact("poverty_incidence|exited_poor_villages", 3),
            _fact("relocated_population", 500),
        ],
    )
    preds = [
        Prediction("a.txt", "甲县", "poor_villages", None, 80.0),
        Prediction("a.txt", "甲县", "poor_villages", None, 99.0),  # an extra
        Prediction("a.txt", "甲县", "exited_poor_villages", None, 3.0),
        Prediction("a.txt", "甲县", "relocated_population", None, 500.0),
    ]
    every = score(gold, preds)
    assert (every.gold, every.predicted, len(every.matches)) == (4, 4, 3)

    chosen = score(gold, preds, metrics={"poor_villages", "exited_poor_villages"})
    assert (chosen.gold, chosen.predicted, len(chosen.matches)) == (3, 3, 2)
    # the "a|b" fact counts for the metric it matched; relocated_population is out of scope
    assert chosen.per_metric() == {"exited_poor_villages": (1, 1, 1), "poor_villages": (2, 2, 1)}
    table = format_report(chosen, verbose=False).splitlines()
    assert table[0].split() == ["metric", "gold", "pred", "match", "precision", "recall"]
    assert table[2].split() == ["poor_villages", "2", "2", "1", "0.500", "0.500"]
    assert not any(line.startswith(("MISS", "EXTRA")) for line in table)

    # a gold fact none of whose alternatives is chosen drops out; one that is keeps only those
    narrowed = score(gold, [], metrics={"poverty_incidence"})
    assert narrowed.gold == 1 and narrowed.misses[0].metrics == {"poverty_incidence"}


def _sources(tmp_path, text):
    path = tmp_path / "sources.csv"
    path.write_text(text, encoding="utf-8")
    return load_sources(path)


def test_subject_county_and_publication_date_are_scored_against_a_sources_file(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text(
        "石阡县脱贫攻坚纪实\n日期:2019-12-20 来源:石阡县融媒体中心\n石阡县贫困发生率降至1.2%。\n",
        encoding="utf-8",
    )
    (raw / "b.txt").write_text("万山区:易地扶贫搬迁纪实\n万山区搬迁群众3000人。\n", encoding="utf-8")
    (raw / "c.txt").write_text("思南县:产业扶贫见闻\n思南县新建茶园2万亩。\n", encoding="utf-8")
    sources = _sources(
        tmp_path,
        "file,url,county,province,publication_date,title\n"
        "a.txt,,石阡县,贵州省,2019-12-20,\n"
        "b.txt,,碧江区;万山区,贵州省,2020-05-01,\n"  # a page about two counties: either is right
        "c.txt,,印江土家族苗族自治县,贵州省,,\n"  # wrong county; shows no date, so not counted
        "d.txt,,德江县,贵州省,2020-01-01,\n",  # not extracted: not counted
    )
    catalog, places = load_catalog(), PlaceIndex(load_gazetteer())
    results = [predict_file(raw, name, catalog, places) for name in ("a.txt", "b.txt", "c.txt")]
    docs = score_documents(results, sources)
    assert (docs.documents, docs.subject_right, docs.dated, docs.date_right) == (3, 2, 2, 1)
    assert docs.summary() == "subject county right 2/3, publication date right 1/2"
    assert docs.wrong == [
        "DATE  b.txt: found None, sources say 2020-05-01",
        "COUNTY c.txt: found 思南县, sources say 印江土家族苗族自治县",
    ]
    report = format_report(score([], []), docs).splitlines()
    assert "COUNTY c.txt: found 思南县, sources say 印江土家族苗族自治县" in report
    assert report[-2] == docs.summary()


def test_a_malformed_sources_row_is_named(tmp_path):
    with pytest.raises(GoldFileError, match=r"sources\.csv:3"):
        _sources(tmp_path, "file,county,publication_date\na.txt,甲县,2020-01-01\nb.txt,乙县,2020年1月\n")
    with pytest.raises(GoldFileError, match="no county column"):
        _sources(tmp_path, "file,place\na.txt,甲县\n")
