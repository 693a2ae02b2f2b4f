"""The `fupin` command as a user runs it: a subprocess, its exit status and its output."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.core.warehouse import probe_write
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


# --- the CLI at its edges: one line on stderr, exit status 2, nothing started or written ------------


def _refused(done: subprocess.CompletedProcess[bytes], *fragments: str) -> str:
    """The command failed as a user error: status 2, one line naming the problem, no traceback."""
    message = done.stderr.decode().strip()
    assert done.returncode == 2, (done.returncode, message)
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def _unwritable_dir() -> Path:
    """A directory nobody can create files in, root included (os.access tells root yes)."""
    candidate = Path("/sys")
    try:
        probe_write(candidate)
    except OSError:
        return candidate
    pytest.skip(f"{candidate} is writable on this machine; no directory root cannot write to test with")


def test_run_refuses_a_warehouse_that_is_a_directory(tmp_path: Path) -> None:
    raw_dir = make_raw_dir(tmp_path / "raw")
    done = fupin("run", "--raw-dir", str(raw_dir), "--warehouse", str(tmp_path))
    _refused(done, f"warehouse {tmp_path} is a directory")
    assert b"fupin run:" not in done.stdout  # refused before the run started


def test_run_refuses_to_replace_a_file_that_is_not_duckdb(tmp_path: Path) -> None:
    raw_dir = make_raw_dir(tmp_path / "raw")
    not_duckdb = tmp_path / "fupin.duckdb"
    not_duckdb.write_text("county,value\n都安瑶族自治县,1\n", encoding="utf-8")
    done = fupin("run", "--raw-dir", str(raw_dir), "--warehouse", str(not_duckdb))
    _refused(done, f"{not_duckdb} is not a DuckDB file")
    assert not_duckdb.read_text(encoding="utf-8").startswith("county,value")
    assert not (tmp_path / "fupin.work.duckdb").exists()


def test_run_refuses_a_warehouse_directory_root_cannot_write(tmp_path: Path) -> None:
    directory = _unwritable_dir()
    raw_dir = make_raw_dir(tmp_path / "raw")
    done = fupin("run", "--raw-dir", str(raw_dir), "--warehouse", str(directory / "fupin.duckdb"))
    _refused(done, f"warehouse directory {directory} is not writable")


def test_reading_commands_refuse_a_warehouse_that_is_not_duckdb(tmp_path: Path) -> None:
    not_duckdb = tmp_path / "notes.duckdb"
    not_duckdb.write_text("not a database", encoding="utf-8")
    _refused(fupin("export", "--warehouse", str(not_duckdb)), "is not a DuckDB file")
    _refused(fupin("report", "--warehouse", str(not_duckdb)), "is not a DuckDB file")
    _refused(fupin("export", "--warehouse", str(tmp_path)), "is a directory")


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["export", "report"])
def test_output_that_cannot_be_written_is_refused(
    command: str, warehouse: tuple[Path, str], tmp_path: Path
) -> None:
    target = ["--warehouse", str(warehouse[0])]
    fmt = ["--format", "csv"] if command == "export" else []
    _refused(fupin(command, *target, "--output", str(tmp_path)), f"output {tmp_path} is a directory")
    read_only = Path("/proc/version")  # a file no one may write, root included
    _refused(fupin(command, *target, *fmt, "--output", str(read_only)), f"output {read_only} is not writable")
    directory = _unwritable_dir()
    _refused(fupin(command, *target, *fmt, "--output", str(directory / "out.csv")), "is not writable")


@pytest.mark.e2e
@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json"])
def test_export_json_lines_by_suffix(suffix: str, warehouse: tuple[Path, str], tmp_path: Path) -> None:
    output = tmp_path / f"observations{suffix}"
    done = fupin("export", "--warehouse", str(warehouse[0]), "--output", str(output))
    assert done.returncode == 0, done.stderr.decode()
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert records and set(records[0]) >= OBSERVATION_COLUMNS


@pytest.mark.e2e
def test_export_refuses_an_unknown_suffix_without_format(warehouse: tuple[Path, str], tmp_path: Path) -> None:
    output = tmp_path / "observations.xlsx"
    _refused(fupin("export", "--warehouse", str(warehouse[0]), "--output", str(output)), "--format")
    assert not output.exists()
    done = fupin("export", "--warehouse", str(warehouse[0]), "--output", str(output), "--format", "csv")
    assert done.returncode == 0 and output.read_text(encoding="utf-8").startswith("source_file,")


def test_export_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """`fupin export | head -1`: the reader goes away long before the end."""
    big = tmp_path / "big.duckdb"
    con = duckdb.connect(str(big))
    con.execute(
        "CREATE TABLE main.rpt_metric_observations AS "
        "SELECT range AS n, repeat('贫困发生率下降', 20) AS sentence FROM range(200000)"
    )
    con.close()
    script = Path(sys.executable).parent / "fupin"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pipelines.cli"]
    export = subprocess.Popen(
        [*command, "export", "--warehouse", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert export.stdout.readline().startswith(b"n,sentence")
    export.stdout.close()
    stderr = export.stderr.read()
    assert export.wait(timeout=120) == 128 + signal.SIGPIPE
    assert stderr == b""


def test_evaluate_names_a_report_missing_from_the_raw_dir(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    fact = {"file": "no_such_report.txt", "county": "都安瑶族自治县", "metric": "poverty_incidence"}
    fact |= {"year": 2019, "value": 1.0, "evidence": "贫困发生率降至0.5%"}
    gold.write_text(json.dumps(fact, ensure_ascii=False) + "\n", encoding="utf-8")
    raw_dir = make_raw_dir(tmp_path / "raw")
    done = fupin("evaluate", str(gold), "--raw-dir", str(raw_dir))
    _refused(done, "no_such_report.txt", f"does not exist in raw dir {raw_dir}")


@pytest.mark.e2e
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_run_says_where_it_stopped(sent: signal.Signals, tmp_path: Path) -> None:
    raw_dir = make_raw_dir(tmp_path / "raw")
    target = tmp_path / "out" / "fupin.duckdb"
    script = Path(sys.executable).parent / "fupin"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pipelines.cli"]
    run = subprocess.Popen(
        [*command, "run", "--raw-dir", str(raw_dir), "--warehouse", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in run.stdout:  # interrupt once extraction is done: validation and dbt are still to come
        if "ok  extract_facts" in line:
            run.send_signal(sent)
            break
    run.stdout.read()
    stderr = run.stderr.read().strip()
    assert run.wait(timeout=300) == 128 + sent
    assert len(stderr.splitlines()) == 1, stderr
    assert f"run interrupted by {sent.name} during " in stderr
    assert "steps finished: dbt parse, reference_data" in stderr and "extract_facts" in stderr
    assert "the published warehouse was left as it was" in stderr
    log = (target.parent / "fupin.run.log").read_text(encoding="utf-8")
    assert f"run interrupted by {sent.name} during " in log
    assert not target.exists()


@pytest.mark.e2e
def test_docs_name_relations_as_the_warehouse_does(warehouse: tuple[Path, str]) -> None:
    """The docs are generated from a copy of the warehouse, named like it: fupin.main.dim_county."""
    done = fupin("docs", "--no-serve", "--warehouse", str(warehouse[0]))
    assert done.returncode == 0, done.stderr.decode()
    catalog_file = REPO / "dbt_project" / "target" / "docs" / "catalog.json"
    catalog = json.loads(catalog_file.read_text(encoding="utf-8"))
    table = catalog["nodes"]["model.fupin.dim_county"]["metadata"]
    assert (table["database"], table["schema"], table["name"]) == ("fupin", "main", "dim_county")
    assert table["comment"].startswith("One row per county-level division")
