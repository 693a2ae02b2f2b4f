"""The `fupin` command as a user runs it: a subprocess, its exit status and its output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import make_raw_dir

REPO = Path(__file__).resolve().parents[1]
OBSERVATION_COLUMNS = {
    "source_file",
    "county_name",
    "county_code",
    "prefecture",
    "province",
    "metric_code",
    "metric_name",
    "unit",
    "year",
    "value",
    "sentence",
}


def fupin(*args: str, cwd: Path = REPO, timeout: int = 600) -> subprocess.CompletedProcess[bytes]:
    script = Path(sys.executable).parent / "fupin"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pipelines.cli"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("cli")
    raw_dir = make_raw_dir(root / "raw")
    target = root / "out" / "fupin.duckdb"
    done = fupin("run", "--raw-dir", str(raw_dir), "--warehouse", str(target), cwd=root)
    assert done.returncode == 0, done.stderr.decode()
    return target, done.stdout.decode()


@pytest.mark.e2e
def test_run_prints_progress_and_summary(warehouse: tuple[Path, str]) -> None:
    target, out = warehouse
    assert target.exists()
    steps = ("ingest_raw_documents", "clean_documents", "extract_facts", "dbt_models", "published_warehouse")
    for step in steps:
        assert f"ok  {step}" in out
    for line in ("files read", "duplicates", "documents rejected", "facts extracted", "facts rejected"):
        assert line in out
    assert "unclassified mentions" in out and "rpt_metric_observations" in out
    assert f"warehouse: {target}" in out


@pytest.mark.e2e
def test_export_csv_to_stdout(warehouse: tuple[Path, str]) -> None:
    done = fupin("export", "--warehouse", str(warehouse[0]), "--format", "csv")
    assert done.returncode == 0, done.stderr.decode()
    header = done.stdout.decode("utf-8").splitlines()[0].split(",")
    assert set(header) >= OBSERVATION_COLUMNS


@pytest.mark.e2e
def test_export_parquet_file(warehouse: tuple[Path, str], tmp_path: Path) -> None:
    output = tmp_path / "obs.parquet"
    done = fupin("export", "--warehouse", str(warehouse[0]), "--format", "parquet", "--output", str(output))
    assert done.returncode == 0, done.stderr.decode()
    con = duckdb.connect()
    columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{output}')").fetchall()}
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{output}')").fetchone()[0]
    published = duckdb.connect(str(warehouse[0]), read_only=True)
    expected = published.execute("SELECT count(*) FROM rpt_metric_observations").fetchone()[0]
    published.close()
    assert columns >= OBSERVATION_COLUMNS
    assert rows == expected


@pytest.mark.e2e
def test_export_json_lines(warehouse: tuple[Path, str]) -> None:
    done = fupin("export", "--warehouse", str(warehouse[0]), "--format", "json", "--table", "rejections")
    assert done.returncode == 0, done.stderr.decode()
    records = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines() if line.strip()]
    assert records and {"source_file"} <= set(records[0])


def test_export_without_warehouse_says_run_first(tmp_path: Path) -> None:
    done = fupin("export", "--warehouse", str(tmp_path / "none.duckdb"))
    assert done.returncode != 0
    assert "run `fupin run` first" in done.stderr.decode()


def test_run_without_raw_dir_fails_clearly(tmp_path: Path) -> None:
    done = fupin("run", "--raw-dir", str(tmp_path / "missing"), "--warehouse", str(tmp_path / "w.duckdb"))
    assert done.returncode != 0
    message = done.stderr.decode().strip()
    assert "raw dir" in message and "does not exist" in message and len(message.splitlines()) == 1


def test_run_with_unwritable_warehouse_dir_fails_clearly(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    raw_dir = make_raw_dir(tmp_path / "raw")
    done = fupin("run", "--raw-dir", str(raw_dir), "--warehouse", str(blocker / "fupin.duckdb"))
    assert done.returncode != 0
    message = done.stderr.decode().strip()
    assert "warehouse directory" in message and len(message.splitlines()) == 1


def test_evaluate_scores_chosen_metrics_subjects_and_dates(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "r.txt").write_text(
        "石阡县脱贫攻坚纪实\n日期:2019-12-20 来源:石阡县融媒体中心\n"
        "截至目前,石阡县贫困发生率降至1.2%,共有贫困村80个。\n",
        encoding="utf-8",
    )
    facts = [
        {"file": "r.txt", "county": "石阡县", "metric": "poverty_incidence", "year": 2019, "value": 1.2},
        {"file": "r.txt", "county": "石阡县", "metric": "relocated_population", "year": None, "value": 9},
    ]
    gold = tmp_path / "gold" / "gold.jsonl"
    gold.parent.mkdir()
    gold.write_text("\n".join(json.dumps(f, ensure_ascii=False) for f in facts), encoding="utf-8")
    (gold.parent / "sources.csv").write_text(
        "file,url,county,province,publication_date,title\nr.txt,,石阡县,贵州省,2019-12-21,\n",
        encoding="utf-8",
    )

    done = fupin("evaluate", str(gold), "--raw-dir", str(raw), "--metrics", "poverty_incidence", "-v")
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert lines[-1].startswith("gold=1 predicted=1 matched=1 precision=1.000 recall=1.000")
    assert "poverty_incidence 1 1 1 1.000 1.000" in [" ".join(line.split()) for line in lines]
    assert lines[-2] == "subject county right 1/1, publication date right 0/1"
    assert "DATE  r.txt: found 2019-12-20, sources say 2019-12-21" in lines

    other = tmp_path / "other.csv"
    other.write_text("file,county,publication_date\nr.txt,思南县,2019-12-20\n", encoding="utf-8")
    done = fupin("evaluate", str(gold), "--raw-dir", str(raw), "--sources", str(other))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines()[-2] == "subject county right 0/1, publication date right 1/1"

    done = fupin(
        "evaluate", str(gold), "--raw-dir", str(raw), "--metrics", "poverty_incidence,no_such_metric"
    )
    assert done.returncode == 2
    assert "unknown metric code(s) no_such_metric:" in done.stderr.decode()
    done = fupin("evaluate", str(gold), "--raw-dir", str(raw), "--sources", str(tmp_path / "nope.csv"))
    assert done.returncode == 2 and "nope.csv does not exist" in done.stderr.decode()
