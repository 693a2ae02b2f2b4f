"""Shared fixtures: the dbt manifest, and raw dirs with good and bad files."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REPO_RAW = REPO / "raw"

BINARY_BYTES = b"\x00\x01\x02\x03\xff\xfe\x00\x00binary\x00" * 8


@pytest.fixture(scope="session", autouse=True)
def dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A DAGSTER_HOME of the session's own: `fupin run` records its runs there, never in the repo's."""
    home = tmp_path_factory.mktemp("dagster_home")
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = previous


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """Parse the dbt project once per session, before any test loads the Dagster definitions."""
    from pipelines.resources import prepare_dbt_manifest

    return prepare_dbt_manifest()


def wait_until_not_racy(*paths: Path) -> None:
    """Sleep until every file's mtime and ctime lie outside the racy window (no clock is set back)."""
    from pipelines.core.filestats import RACY_MARGIN_NS

    newest = max(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in paths)
    wait = (newest + RACY_MARGIN_NS - time.time_ns()) / 1e9 + 0.1
    if wait > 0:
        time.sleep(wait)


def make_raw_dir(target: Path) -> Path:
    """The repo's reports plus a binary file, an empty file and a byte-identical copy."""
    target.mkdir(parents=True, exist_ok=True)
    reports = sorted(REPO_RAW.glob("*.txt"))
    for report in reports:
        shutil.copy2(report, target / report.name)
    (target / "bad_binary.txt").write_bytes(BINARY_BYTES)
    (target / "empty.txt").write_bytes(b"")
    shutil.copy2(reports[0], target / "zz_copy_of_first.txt")
    return target


@pytest.fixture(scope="module")
def reference() -> dict:
    """The catalog, gazetteer and place index the stages take, loaded once per test module."""
    from pipelines.core.catalog import load_catalog
    from pipelines.core.gazetteer import load_gazetteer
    from pipelines.core.places import PlaceIndex

    gazetteer = load_gazetteer()
    return {"catalog": load_catalog(), "gazetteer": gazetteer, "places": PlaceIndex(gazetteer)}
