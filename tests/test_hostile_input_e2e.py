"""Hostile input in the raw dir: every bad file is one rejection with its reason, the run goes on.

One real `fupin run` over the reports in raw/ plus: a FIFO named like a report (reading it would
block forever), a symlink to /dev/zero (would fill memory), a file name that is not UTF-8, a report
with a stray NUL byte, a page nested 100,000 <div>s deep, and a sources.yaml with entries that
cannot be fetched (a file:// URL, a missing url). The run must end quickly, with exit status 0.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_RAW
from tests.runs import query, run

pytestmark = pytest.mark.e2e

REPORTS = sorted(REPO_RAW.glob("*.txt"))
BAD_NAME = os.fsdecode(b"report_\xff\xfe.txt")  # latin-1 bytes, not UTF-8: a surrogate-escaped str


def _deep_page(report: Path, depth: int = 100_000) -> str:
    lines = [line.strip() for line in report.read_text("utf-8").splitlines() if line.strip()]
    article = "".join(f"<p>{line}</p>" for line in lines[1:])
    return (
        f"<html><head><title>{lines[0]}</title></head><body>"
        + "<div>" * depth
        + article
        + "</div>" * depth
        + "</body></html>"
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> dict:
    root = tmp_path_factory.mktemp("hostile")
    raw = root / "raw"
    raw.mkdir()
    for report in REPORTS[:3]:
        shutil.copy2(report, raw / report.name)
    os.mkfifo(raw / "stuck.txt")
    os.symlink("/dev/zero", raw / "zeros.txt")
    shutil.copy2(REPORTS[0], os.path.join(os.fsencode(raw), os.fsencode(BAD_NAME)))
    text = REPORTS[3].read_bytes()
    cut = text.index("。".encode()) + 3  # after the first sentence
    (raw / "stray_nul.txt").write_bytes(text[:cut] + b"\x00" + text[cut:])
    (raw / "deep.html").write_text(_deep_page(REPORTS[4]), encoding="utf-8")
    (raw / "sources.yaml").write_text(
        "# pages to fetch\n- url: file:///etc/passwd\n- county: 郎溪县\n", encoding="utf-8"
    )
    warehouse = root / "wh" / "fupin.duckdb"
    started = time.monotonic()
    done = run(raw, warehouse, timeout=240)
    return {"done": done, "seconds": time.monotonic() - started, "warehouse": warehouse}


def _rejections(warehouse: Path) -> dict[str, tuple[str, str]]:
    rows = query(
        warehouse,
        "SELECT source_file, stage, reason FROM main.rpt_rejections WHERE kind = 'document' ORDER BY ALL",
    )
    return {source_file: (stage, reason) for source_file, stage, reason in rows}


def test_the_run_ends_and_succeeds(hostile: dict) -> None:
    done = hostile["done"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert hostile["seconds"] < 120  # no retries of bad configuration, no hang on the FIFO


def test_a_fifo_and_a_device_are_rejected_without_being_read(hostile: dict) -> None:
    rejected = _rejections(hostile["warehouse"])
    assert rejected["stuck.txt"] == ("read", "not a regular file (a named pipe (FIFO))")
    assert rejected["zeros.txt"] == ("read", "not a regular file (a character device)")


def test_a_name_that_is_not_utf8_is_one_rejection_shown_escaped(hostile: dict) -> None:
    rejected = _rejections(hostile["warehouse"])
    assert rejected["report_\\xff\\xfe.txt"][0] == "read"
    assert "not valid UTF-8" in rejected["report_\\xff\\xfe.txt"][1]
    kept = {name for (name,) in query(hostile["warehouse"], "SELECT source_file FROM main.dim_document")}
    assert {r.name for r in REPORTS[:3]} <= kept


def test_a_stray_nul_byte_is_dropped_and_the_report_kept(hostile: dict) -> None:
    rows = query(
        hostile["warehouse"], "SELECT fact_count FROM main.dim_document WHERE source_file = 'stray_nul.txt'"
    )
    assert len(rows) == 1 and rows[0][0] > 0


def test_a_deeply_nested_page_keeps_its_article(hostile: dict) -> None:
    rows = query(
        hostile["warehouse"],
        "SELECT county_name, char_count, fact_count FROM main.dim_document WHERE source_file = 'deep.html'",
    )
    ((county, chars, facts),) = rows
    assert county and chars > 500 and facts > 0


def test_bad_source_entries_are_rejected_with_their_line(hostile: dict) -> None:
    rows = query(
        hostile["warehouse"],
        "SELECT reason FROM main.rpt_rejections WHERE source_file = 'sources.yaml' AND stage = 'source' "
        "ORDER BY reason",
    )
    reasons = [reason for (reason,) in rows]
    assert len(reasons) == 2
    assert "line 2, entry 1: url 'file:///etc/passwd' has scheme 'file'" in reasons[0]
    assert "line 3, entry 2: 'url' is missing" in reasons[1]
