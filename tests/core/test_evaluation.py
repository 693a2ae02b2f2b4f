"""The evaluation tool scores like the benchmark's scorer: per file, county, metric and value."""

from __future__ import annotations

import json

import pytest

from pipelines.core.catalog import load_catalog
from pipelines.core.evaluation import GoldFileError, Prediction, format_report, load_gold, predict_file, score
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
    preds = predict_file(tmp_path, "r.txt", load_catalog(), PlaceIndex(load_gazetteer()))
    assert [(p.county, p.metric, p.value, p.year) for p in preds] == [
        ("石阡县", "poverty_incidence", 1.2, 2019)
    ]
